#!/bin/sh
# tests/interop/qemu_egd.sh — QEMU's rng-egd against fount's EGD socket.
# The egd suite (tests/test_egd.c) runs it; mk/deps.sh runs `fetch`.
#
#   qemu_egd.sh connect SOCKET       exec QEMU (no guest) with a client chardev,
#                                    reconnect=1, on SOCKET; runs until killed
#   qemu_egd.sh missing SOCKET       QEMU without reconnect on a missing SOCKET:
#                                    exit 0 if QEMU refused to start, 1 if not
#   qemu_egd.sh guest SOCKET CACHE   boot Debian's kernel with a busybox initramfs
#                                    (made in CACHE) whose init loads the virtio
#                                    modules, reads 1000 bytes of /dev/hwrng and
#                                    prints "FOUNT-EGD-GUEST read=N"; exit 0 if
#                                    it read 1000
#   qemu_egd.sh fetch CACHE          only get the kernel and modules into CACHE
#
# Exit 77: cannot run here (no qemu-system-x86_64, no busybox, no kernel to be
# had), with the reason on stderr. The kernel: `apt-get download` of the
# image linux-image-amd64 depends on, unpacked with dpkg-deb (vmlinuz and
# the six virtio modules only; nothing installed, no postinst).
set -eu

QEMU=${QEMU:-qemu-system-x86_64}
BUSYBOX=${BUSYBOX:-/bin/busybox}
MODS="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio-rng"

skip() { echo "qemu_egd: cannot run: $*" >&2; exit 77; }
need_qemu() { command -v "$QEMU" >/dev/null 2>&1 || skip "$QEMU is not installed (apt-get install qemu-system-x86)"; }
# TCG: the same everywhere, and KVM inside a VM can be far slower (measured
# here: a nested KVM did not get past SeaBIOS in 90 s); QEMU_ACCEL=kvm to try
accel() { echo "${QEMU_ACCEL:-tcg}"; }

fetch() {
	mkdir -p "$1"
	cache=$(cd "$1" && pwd)
	[ -f "$cache/vmlinuz" ] && [ -f "$cache/virtio-rng.ko" ] && return 0
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[ -n "$pkg" ] || skip "apt knows no linux-image-amd64 (run apt-get update)"
	tmp=$(mktemp -d "$cache/fetch.XXXXXX")
	if ! (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1); then
		rm -rf "$tmp"
		skip "apt-get download $pkg failed (no network or mirror?)"
	fi
	(cd "$tmp" && dpkg-deb --fsys-tarfile ./*.deb | tar -x --wildcards './boot/vmlinuz-*' \
		'*/kernel/drivers/virtio/*' '*/kernel/drivers/char/hw_random/virtio-rng.ko*')
	for m in $MODS; do
		f=$(find "$tmp/lib" -name "$m.ko*" | head -n 1)
		[ -n "$f" ] || { rm -rf "$tmp"; skip "$pkg has no $m module"; }
		case $f in *.xz) xz -dc "$f" > "$cache/$m.ko" ;; *.zst) zstd -qdc "$f" > "$cache/$m.ko" ;; *) cp "$f" "$cache/$m.ko" ;; esac
	done
	cp "$tmp"/boot/vmlinuz-* "$cache/vmlinuz.new" && mv "$cache/vmlinuz.new" "$cache/vmlinuz"
	echo "$pkg" > "$cache/kernel-package"
	rm -rf "$tmp"
}

initrd() {
	cache=$(cd "$1" && pwd)
	[ -f "$cache/initrd.gz" ] && [ "$cache/initrd.gz" -nt "$0" ] && return 0
	[ -x "$BUSYBOX" ] && "$BUSYBOX" --list | grep -qx cpio || skip "no static busybox with cpio (apt-get install busybox-static)"
	root=$(mktemp -d "$cache/root.XXXXXX")
	mkdir -p "$root/bin" "$root/lib" "$root/proc" "$root/sys" "$root/dev"
	cp "$BUSYBOX" "$root/bin/busybox"
	for m in $MODS; do cp "$cache/$m.ko" "$root/lib/"; done
	cat > "$root/init" <<-EOF
	#!/bin/busybox sh
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	for m in $MODS; do insmod /lib/\$m.ko || echo "FOUNT-EGD-GUEST insmod \$m failed"; done
	i=0
	while [ ! -e /dev/hwrng ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i + 1)); done
	echo "FOUNT-EGD-GUEST rng=\$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
	n=\$(head -c 1000 /dev/hwrng | wc -c)
	echo "FOUNT-EGD-GUEST read=\$n"
	poweroff -f
	EOF
	chmod 755 "$root/init"
	(cd "$root" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1 > "$cache/initrd.gz.new")
	mv "$cache/initrd.gz.new" "$cache/initrd.gz"
	rm -rf "$root"
}

cmd=${1:-}
case $cmd in
connect)
	need_qemu
	exec "$QEMU" -machine q35,accel="$(accel)" -m 64 -nodefaults -display none -monitor none -serial none \
		-chardev socket,id=egd0,path="$2",reconnect=1 \
		-object rng-egd,id=rng0,chardev=egd0 -device virtio-rng-pci,rng=rng0
	;;
missing)
	need_qemu
	[ ! -e "$2" ] || { echo "qemu_egd: $2 exists" >&2; exit 2; }
	if out=$(timeout 20 "$QEMU" -machine q35,accel="$(accel)" -m 64 -nodefaults -display none -monitor none \
		-serial none -chardev socket,id=egd0,path="$2" \
		-object rng-egd,id=rng0,chardev=egd0 -device virtio-rng-pci,rng=rng0 2>&1); then
		echo "qemu_egd: QEMU started without its socket" >&2
		exit 1
	fi
	echo "$out"
	;;
guest)
	need_qemu
	fetch "$3"
	initrd "$3"
	log="$3/guest.log"
	# the serial console is the guest's only output; -no-reboot: poweroff ends QEMU
	timeout 60 "$QEMU" -machine q35,accel="$(accel)" -m 256 -nographic -nodefaults -serial stdio -no-reboot \
		-kernel "$3/vmlinuz" -initrd "$3/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 random.trust_cpu=off" \
		-chardev socket,id=egd0,path="$2",reconnect=1 \
		-object rng-egd,id=rng0,chardev=egd0 -device virtio-rng-pci,rng=rng0 > "$log" 2>&1 || true
	grep -a "FOUNT-EGD-GUEST" "$log" || true
	grep -aq "FOUNT-EGD-GUEST read=1000" "$log" || { echo "qemu_egd: the guest did not read 1000 bytes; $log:" >&2; tail -n 30 "$log" >&2; exit 1; }
	;;
fetch)
	fetch "$2"
	;;
*)
	echo "usage: qemu_egd.sh connect|missing SOCKET | guest SOCKET CACHE | fetch CACHE" >&2
	exit 2
	;;
esac
