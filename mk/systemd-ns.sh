#!/bin/sh
# mk/systemd-ns.sh DIR — boot systemd as PID 1 of a new PID and mount
# namespace over a `make install DESTDIR=DIR/root` tree, to run fount's units
# for real on a machine (or container) whose PID 1 is not systemd. Manual,
# root only; README "Running fount as a service" says what was checked so.
#   make install DESTDIR=$PWD/build/sd/root && sh mk/systemd-ns.sh $PWD/build/sd &
#   nsenter -t $(pgrep -f 'unit=fount-test.target') -m -p systemctl start fount.service
#   kill -9 <that pid> ends the namespace and everything in it.
# Nothing it does reaches the machine: /etc and /var/lib are overlays (the
# fount user is created in the overlay), /tmp, /var/tmp, /var/log and /run
# are private tmpfs, and sysinit.target and its friends are empty targets,
# so no tmpfiles (which would empty the real /tmp), sysctl or remount runs.
# The network namespace is the machine's: fount.service listens on 5696.
set -e
W=${1:?usage: sh mk/systemd-ns.sh DIR (with DIR/root from make install DESTDIR=DIR/root)}
[ -x "$W/root/usr/local/bin/fount" ] || { echo "fount: no $W/root/usr/local/bin/fount: make install DESTDIR=$W/root first" >&2; exit 1; }
mkdir -p "$W/ovl/etc-up" "$W/ovl/etc-work" "$W/ovl/var-up" "$W/ovl/var-work"
exec unshare --pid --fork --mount sh -c '
set -e
W=$1
mount --make-rprivate /
mount -t overlay overlay -o lowerdir=/etc,upperdir=$W/ovl/etc-up,workdir=$W/ovl/etc-work /etc
mount -t overlay overlay -o lowerdir=/var/lib,upperdir=$W/ovl/var-up,workdir=$W/ovl/var-work /var/lib
mount --bind $W/root/usr/local /usr/local
for d in /tmp /var/tmp /var/log /run; do mount -t tmpfs tmpfs $d; done
mount -t proc proc /proc
[ -d /etc/fount ] || cp -a $W/root/etc/fount /etc/fount
systemd-sysusers /usr/local/lib/sysusers.d/fount.conf
chgrp fount /etc/fount /etc/fount/fount.conf
mkdir -p /run/systemd/system
for t in sysinit basic sockets paths timers local-fs swap network network-online multi-user fount-test; do
  printf "[Unit]\nDescription=%s (empty: fount test)\nDefaultDependencies=no\n" $t > /run/systemd/system/$t.target
done
printf "Wants=systemd-journald.socket systemd-journald-dev-log.socket\n" >> /run/systemd/system/sysinit.target
export container=fount-test
exec /lib/systemd/systemd --system --unit=fount-test.target --log-target=console
' sh "$W"
