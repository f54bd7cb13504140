#!/bin/sh
# mk/fips.sh DIR — build OpenSSL's FIPS provider into DIR (build/fips):
# DIR/fips.so, DIR/fipsmodule.cnf and DIR/VERSION (what it was built from).
#
# By default from Debian's own `openssl` source package, at the version
# mk/openssl-version.sh selects (the installed libssl3's, or the newest older
# 3.0.x the mirror has; `make deps` has already upgraded libssl3 when the
# mirror only has a newer one). That provider is the same code family as the
# validated 3.0 modules but NOT a validated module (README, "FIPS mode").
#
# With FIPS_TARBALL=/path/openssl-X.Y.Z.tar.gz: from an operator-supplied
# release tarball of a validated version, after checking its SHA-256 against
# the value OpenSSL published (table below); anything else is refused before
# anything is built.
#
# Nothing is installed over the system's OpenSSL; no root is needed (mk/deps.sh
# does the apt work). Idempotent: exits at once when DIR/VERSION says DIR holds
# what would be built, so a second `make` does nothing, and a libssl3 upgrade
# (a new installed version) rebuilds. A provider built from a tarball stays
# until DIR/VERSION is removed.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-build/fips}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
FIPS_TARBALL=${FIPS_TARBALL:-}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

say() { echo "fount: fips: $*" >&2; }
die() { echo "fount: fips: $*" >&2; exit 1; }
have_module() { [ -f "$DIR/fips.so" ] && [ -f "$DIR/fipsmodule.cnf" ]; }
STAMP=$(cat "$DIR/VERSION" 2>/dev/null || true)

# install_module SO OPENSSL: copy SO into DIR and let OPENSSL (an `openssl`
# command) run the module's self-tests and record its HMAC-SHA-256 integrity
# value in fipsmodule.cnf (openssl-fipsinstall(1)).
install_module() {
	cp "$1" "$DIR/fips.so.tmp"
	mv "$DIR/fips.so.tmp" "$DIR/fips.so"
	$2 fipsinstall -module "$DIR/fips.so" -out "$DIR/fipsmodule.cnf.tmp" \
		-provider_name fips -quiet ||
		die "openssl fipsinstall failed for $DIR/fips.so"
	mv "$DIR/fipsmodule.cnf.tmp" "$DIR/fipsmodule.cnf"
}

# ---- A. an operator-supplied validated release tarball ---------------------
# published_sha256 NAME: the SHA-256 OpenSSL published for the release
# tarball NAME (https://www.openssl.org/source/NAME.sha256, also at
# https://github.com/openssl/openssl/releases/download/openssl-X.Y.Z/NAME.sha256).
# Each value below was cross-checked against several independent build
# recipes that verify the same download (Spack, Bitcoin Core's depends/,
# Omnibus, CMake ExternalProject URL_HASH, Nix) found with the search tool.
# Only the validated versions OpenSSL lists on its downloads page
# (https://www.openssl.org/source/, "The following OpenSSL version(s) are
# FIPS validated": 3.0.8 and 3.0.9 on CMVP #4282; 3.1.2 on FIPS 140-3
# #4985 per https://openssl-library.org/post/2025-03-11-fips-140-3/).
# 3.0.0 is left out: OpenSSL marks it "historic", no longer listed on its
# certificate since the 3.0.8 update.
published_sha256() {
	case "$1" in
	openssl-3.0.8.tar.gz) echo 6c13d2bf38fdf31eac3ce2a347073673f5d63263398f1f69d0df4a41253e4b3e ;;
	openssl-3.0.9.tar.gz) echo eb1ab04781474360f77c318ab89d8c5a03abc38e63d65a603cabbf1b00a1dc90 ;;
	openssl-3.1.2.tar.gz) echo a0ce69b8b97ea6a35b96875235aa453b966ba3cba8af2de23657d8b6767d6539 ;;
	*) return 1 ;;
	esac
}

if [ -n "$FIPS_TARBALL" ]; then
	[ -f "$FIPS_TARBALL" ] || die "FIPS_TARBALL=$FIPS_TARBALL: no such file"
	NAME=$(basename "$FIPS_TARBALL")
	WANT=$(published_sha256 "$NAME") ||
		die "$NAME is not a validated OpenSSL FIPS provider release fount knows: give FIPS_TARBALL one of openssl-3.0.8.tar.gz, openssl-3.0.9.tar.gz, openssl-3.1.2.tar.gz (unrenamed, from https://www.openssl.org/source/old/)"
	GOT=$(sha256sum "$FIPS_TARBALL" | cut -d' ' -f1)
	[ "$GOT" = "$WANT" ] ||
		die "$FIPS_TARBALL has SHA-256 $GOT, not the $WANT OpenSSL published for $NAME: download it again from https://www.openssl.org/source/old/"
	if have_module && [ "$STAMP" = "tarball $NAME $GOT" ]; then
		exit 0
	fi
	REL=${NAME%.tar.gz}
	SRC="$DIR/src-$REL"
	# The build steps of README-FIPS.md ("Installing the FIPS module") of
	# these releases: `./Configure enable-fips`, `make`, then `make
	# install_fips`, which copies providers/fips.so and runs that
	# release's own `openssl fipsinstall`. Public summaries of the 3.0.9
	# and 3.1.2 Security Policies give the same three commands; the
	# Policy's own text (linked from the certificate) was not available
	# here, so the operator checks it. No other Configure options: a
	# Security Policy's method must be followed unchanged. install_fips
	# installs into a staging DESTDIR here; fips.so and fipsmodule.cnf are
	# then copied byte for byte into DIR.
	rm -rf "$SRC"
	mkdir -p "$SRC"
	tar -C "$SRC" -xzf "$FIPS_TARBALL"
	[ -f "$SRC/$REL/Configure" ] || die "$FIPS_TARBALL did not unpack to $SRC/$REL"
	START=$(date +%s)
	say "building the FIPS provider of $REL (validated source, SHA-256 checked; $JOBS jobs)"
	(
		cd "$SRC/$REL"
		./Configure enable-fips >/dev/null
		make -s -j"$JOBS" >/dev/null
		make -s install_fips DESTDIR="$SRC/stage" >/dev/null
	) || die "building $REL failed (see $SRC/$REL)"
	so=$(find "$SRC/stage" -name fips.so -type f | head -n 1)
	cnf=$(find "$SRC/stage" -name fipsmodule.cnf -type f | head -n 1)
	[ -n "$so" ] && [ -n "$cnf" ] || die "make install_fips of $REL left no fips.so/fipsmodule.cnf in $SRC/stage"
	cp "$so" "$DIR/fips.so.tmp" && mv "$DIR/fips.so.tmp" "$DIR/fips.so"
	cp "$cnf" "$DIR/fipsmodule.cnf.tmp" && mv "$DIR/fipsmodule.cnf.tmp" "$DIR/fipsmodule.cnf"
	echo "tarball $NAME $GOT" > "$DIR/VERSION"
	say "built in $(( $(date +%s) - START )) s: $DIR/fips.so ($REL); follow the rest of its Security Policy for a validated set-up"
	exit 0
fi

# an operator's validated build stays until its stamp is removed
case "$STAMP" in
"tarball "*) have_module && exit 0 ;;
esac

# ---- B. Debian's openssl source ---------------------------------------------
# The provider need not be built from the installed libcrypto's own release:
# OpenSSL documents that a FIPS provider runs with the libcrypto of any later
# release of the same major series (OSSL_PROVIDER-FIPS(7), NOTES;
# README-FIPS.md). mk/openssl-version.sh prefers the installed version's
# source and otherwise takes the newest older 3.0.x source the mirror has.
VER=$(dpkg-query -W -f='${Version}' libssl3 2>/dev/null) ||
	die "libssl3 is not installed (run 'make deps' as root)"
# fast path: built for this libssl3 already (the stamp names both versions)
case "$STAMP" in
"debian "*" libssl3 $VER") have_module && exit 0 ;;
esac

DECISION=$(sh "$HERE/openssl-version.sh") || exit 1
SRCVER=${DECISION#* }
case "$DECISION" in
upgrade\ *)
	die "the mirror has no openssl source for the installed libssl3 $VER: run 'make deps' as root (it upgrades libssl3, libssl-dev and openssl to $SRCVER)" ;;
esac
UPSTREAM=${SRCVER%%-*}

# ---- the source package at the selected version -----------------------------
SRC="$DIR/src"
TREE="$SRC/openssl-$UPSTREAM"
if [ ! -f "$TREE/Configure" ] || [ "$(cat "$SRC/VERSION" 2>/dev/null)" != "$SRCVER" ]; then
	rm -rf "$SRC"
	mkdir -p "$SRC"
	say "apt-get source openssl=$SRCVER"
	# as root apt warns that it cannot drop privileges for the download;
	# a partial download (some mirrors lack the .dsc) is handled below
	(cd "$SRC" && apt-get source --download-only -qq "openssl=$SRCVER" 2>&1 |
		grep -v 'unsandboxed as root' >&2) || true
	DSC="$SRC/openssl_$SRCVER.dsc"
	ORIG="$SRC/openssl_$UPSTREAM.orig.tar.gz"
	if [ -f "$DSC" ] && [ -f "$SRC/openssl_$SRCVER.debian.tar.xz" ]; then
		# the Debian source as the binary packages were built from it
		(cd "$SRC" && dpkg-source -q -x "$DSC" "openssl-$UPSTREAM" >/dev/null)
	elif [ -f "$ORIG" ]; then
		# The mirror served the upstream tarball but not Debian's .dsc and
		# patches: check the tarball against the SHA256 the signed Sources
		# index gives, and build upstream $UPSTREAM (Debian's patches touch
		# packaging and defaults, not providers/fips).
		# (--print-uris omits files already in the current folder)
		want=$(cd / && apt-get source --print-uris "openssl=$SRCVER" 2>/dev/null |
			awk -v f="openssl_$UPSTREAM.orig.tar.gz" '$2 == f { sub("SHA256:", "", $4); print $4 }')
		got=$(sha256sum "$ORIG" | cut -d' ' -f1)
		[ -n "$want" ] && [ "$want" = "$got" ] ||
			die "$ORIG does not match the SHA256 in apt's Sources index"
		say "warning: Debian's .dsc for $SRCVER is not on the mirror; building the verified upstream tarball"
		tar -C "$SRC" -xzf "$ORIG"
	fi
	[ -f "$TREE/Configure" ] || die "apt-get source openssl=$SRCVER did not unpack $TREE"
	echo "$SRCVER" > "$SRC/VERSION"
fi

# ---- configure and build only the provider ---------------------------------
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

# ---- install it into DIR and write its configuration ----------------------
# the system's openssl runs fipsinstall; the stamp names the source and the
# libssl3 it was selected for, so a libssl3 upgrade selects again
install_module "$TREE/providers/fips.so" openssl
echo "debian $SRCVER libssl3 $VER" > "$DIR/VERSION"
say "$DIR/fips.so and $DIR/fipsmodule.cnf ready (OpenSSL $UPSTREAM FIPS provider from Debian's $SRCVER source, for libssl3 $VER; not a validated module: README \"FIPS mode\")"
