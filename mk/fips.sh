#!/bin/sh
# mk/fips.sh DIR — build OpenSSL's FIPS provider from Debian's own `openssl`
# source package, for the exact version of the installed libcrypto, into DIR
# (build/fips): DIR/fips.so and DIR/fipsmodule.cnf. Nothing is installed
# over the system's OpenSSL; the system `openssl` binary only runs
# `fipsinstall` (openssl-fipsinstall(1)) on the module built here.
#
# Only the steps that need root (adding a deb-src entry, apt-get update) need
# root; with deb-src present it runs as any user. Idempotent: exits at once
# when DIR holds a module for the installed version.
set -eu

DIR=${1:-build/fips}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

say() { echo "fount: fips: $*" >&2; }
die() { echo "fount: fips: $*" >&2; exit 1; }

# The provider must be built from the source of the libcrypto it runs in:
# a 3.0.x FIPS module is only validated with, and only tested against, its
# own 3.0.x core. Pin the exact Debian version of the installed libssl3.
VER=$(dpkg-query -W -f='${Version}' libssl3 2>/dev/null) ||
	die "libssl3 is not installed (run 'make deps' as root)"
UPSTREAM=${VER%%-*}
case "$UPSTREAM" in
3.0.*) ;;
*) die "libssl3 $VER is not OpenSSL 3.0.x; this script builds 3.0 FIPS providers" ;;
esac

if [ -f "$DIR/fips.so" ] && [ -f "$DIR/fipsmodule.cnf" ] &&
   [ "$(cat "$DIR/VERSION" 2>/dev/null)" = "$VER" ]; then
	exit 0
fi

need_root() {
	if [ "$(id -u)" != 0 ]; then
		die "$1 needs root. Run as root: make fips   (or: sudo make fips)"
	fi
}

# ---- 1. a deb-src entry for the suites the binary packages come from -----
# apt-get source reads deb-src entries only; Debian 12 images ship just
# "Types: deb" in deb822 /etc/apt/sources.list.d/debian.sources.
has_deb_src() {
	grep -Eqs '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list && return 0
	grep -Eqs '^[[:space:]]*Types:.*deb-src' /etc/apt/sources.list.d/*.sources && return 0
	return 1
}
SRCLIST=/etc/apt/sources.list.d/fount-deb-src.sources
if ! has_deb_src; then
	need_root "adding a deb-src entry to apt"
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		# the same URIs, suites, components and keys, as source entries
		sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$SRCLIST"
	elif [ -f /etc/apt/sources.list ]; then
		SRCLIST=/etc/apt/sources.list.d/fount-deb-src.list
		sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list > "$SRCLIST"
	else
		die "no apt sources found to derive a deb-src entry from"
	fi
	say "added $SRCLIST"
	FORCE_UPDATE=1
fi

# ---- 2. the source package, pinned to the installed version ----------------
SRC="$DIR/src"
TREE="$SRC/openssl-$UPSTREAM"
if [ ! -f "$TREE/Configure" ] || [ "$(cat "$SRC/VERSION" 2>/dev/null)" != "$VER" ]; then
	rm -rf "$SRC"
	mkdir -p "$SRC"
	if [ "${FORCE_UPDATE:-0}" = 1 ] || ! (cd "$SRC" && apt-get source --print-uris "openssl=$VER" >/dev/null 2>&1); then
		need_root "apt-get update"
		say "apt-get update"
		apt-get update -qq
	fi
	say "apt-get source openssl=$VER"
	# as root apt warns that it cannot drop privileges for the download;
	# a partial download (some mirrors lack the .dsc) is handled below
	(cd "$SRC" && apt-get source --download-only -qq "openssl=$VER" 2>&1 |
		grep -v 'unsandboxed as root' >&2) || true
	DSC="$SRC/openssl_$VER.dsc"
	ORIG="$SRC/openssl_$UPSTREAM.orig.tar.gz"
	if [ -f "$DSC" ] && [ -f "$SRC/openssl_$VER.debian.tar.xz" ]; then
		# the Debian source as the binary packages were built from it
		(cd "$SRC" && dpkg-source -q -x "$DSC" "openssl-$UPSTREAM" >/dev/null)
	elif [ -f "$ORIG" ]; then
		# The mirror served the upstream tarball but not Debian's .dsc and
		# patches: check the tarball against the SHA256 the signed Sources
		# index gives, and build upstream $UPSTREAM (Debian's patches touch
		# packaging and defaults, not providers/fips).
		# (--print-uris omits files already in the current folder)
		want=$(cd / && apt-get source --print-uris "openssl=$VER" 2>/dev/null |
			awk -v f="openssl_$UPSTREAM.orig.tar.gz" '$2 == f { sub("SHA256:", "", $4); print $4 }')
		got=$(sha256sum "$ORIG" | cut -d' ' -f1)
		[ -n "$want" ] && [ "$want" = "$got" ] ||
			die "$ORIG does not match the SHA256 in apt's Sources index"
		say "warning: Debian's .dsc for $VER is not on the mirror; building the verified upstream tarball"
		tar -C "$SRC" -xzf "$ORIG"
	fi
	[ -f "$TREE/Configure" ] || die "apt-get source openssl=$VER did not unpack $TREE"
	echo "$VER" > "$SRC/VERSION"
fi

# ---- 3. configure and build only the provider ------------------------------
# enable-fips builds providers/fips.so; no-legacy and no-tests drop what the
# provider build does not need.
# build_generated makes the generated headers; providers/fips.so then pulls
# in only libfips.a and the common provider code.
START=$(date +%s)
say "building providers/fips.so (OpenSSL $UPSTREAM, $JOBS jobs)"
(
	cd "$TREE"
	if [ ! -f Makefile ] || [ ! -f configdata.pm ]; then
		./Configure enable-fips no-legacy no-tests >/dev/null
	fi
	make -s -j"$JOBS" build_generated >/dev/null
	make -s -j"$JOBS" providers/fips.so >/dev/null
) || die "building the provider failed (see $TREE)"
say "built in $(( $(date +%s) - START )) s"

# ---- 4. install it into DIR and write its configuration --------------------
cp "$TREE/providers/fips.so" "$DIR/fips.so.tmp"
mv "$DIR/fips.so.tmp" "$DIR/fips.so"
# fipsinstall runs the module's self-tests and records its HMAC-SHA-256
# integrity value in fipsmodule.cnf (openssl-fipsinstall(1)).
openssl fipsinstall -module "$DIR/fips.so" -out "$DIR/fipsmodule.cnf.tmp" \
	-provider_name fips -quiet ||
	die "openssl fipsinstall failed for $DIR/fips.so"
mv "$DIR/fipsmodule.cnf.tmp" "$DIR/fipsmodule.cnf"
echo "$VER" > "$DIR/VERSION"
say "$DIR/fips.so and $DIR/fipsmodule.cnf ready (OpenSSL $UPSTREAM FIPS provider, Debian $VER)"
