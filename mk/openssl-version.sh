#!/bin/sh
# mk/openssl-version.sh — decide which Debian openssl source the FIPS
# provider is built from. Reads only dpkg-query, apt-cache (showsrc,
# madison) and dpkg --compare-versions; changes nothing. Prints one line:
#
#   keep VERSION     the mirror has the source of the installed libssl3
#   upgrade VERSION  it has not, but it has a newer 3.0.x whose source and
#                    libssl3, libssl-dev and openssl binaries all exist:
#                    `make deps` upgrades the three to VERSION (a Debian
#                    security update), then the provider is built from it
#   older VERSION    only older 3.0.x sources: build from the newest one
#                    (a warning goes to stderr)
#
# and exits 0; otherwise one line on stderr naming the fix, exit 1.
#
# Why an older source will do: OSSL_PROVIDER-FIPS(7), NOTES (added by
# openssl/openssl commit 4e258b5fe981): "Normally, it is possible to utilize a FIPS
# provider constructed from one of the validated versions alongside libcrypto
# and libssl compiled from any release within the same major release series."
# README-FIPS.md says the same of the core: newer releases "can be used to
# build all other components ... but the FIPS provider must be built as
# specified in the Security Policy (normally with a different version of the
# source code)". OpenSSL's own examples pair an older provider with a newer
# core (the downloads page: the 3.0.8 provider with OpenSSL 3.3), so a newer
# source is only used after upgrading the core to it.
set -eu

die() { echo "fount: openssl: $*" >&2; exit 1; }
newer() { dpkg --compare-versions "$1" gt "$2"; }

st=$(dpkg-query -W -f='${Status}|${Version}|${Architecture}' libssl3 2>/dev/null) || st=
case "$st" in
"install ok installed|"*) ;;
*) die "libssl3 is not installed: run 'make deps' as root (it installs libssl-dev)" ;;
esac
rest=${st#*|}
VER=${rest%%|*}
ARCH=${rest#*|}
case "${VER%%-*}" in
3.0.*) ;;
*) die "libssl3 $VER is not OpenSSL 3.0.x: fount builds the FIPS provider from Debian 12's openssl 3.0 source; install Debian 12 (bookworm)'s libssl3" ;;
esac

# 3.0.x versions of the source package `openssl` in apt's Sources indexes
SRCS=$(apt-cache showsrc --only-source openssl 2>/dev/null | sed -n 's/^Version: *//p' |
	while read -r v; do case "${v%%-*}" in 3.0.*) echo "$v" ;; esac; done | sort -u)
[ -n "$SRCS" ] ||
	die "apt knows no openssl 3.0.x source package: run 'make deps' as root (it adds a deb-src entry and runs apt-get update)"

for v in $SRCS; do
	if [ "$v" = "$VER" ]; then
		echo "keep $VER"
		exit 0
	fi
done

# has_binaries V: the mirror carries libssl3, libssl-dev and openssl at V for
# this architecture (madison lists one "pkg | version | url suite arch
# Packages" line per package, version and index)
MADISON=
has_binaries() {
	[ -n "$MADISON" ] || MADISON=$(apt-cache madison libssl3 libssl-dev openssl 2>/dev/null) || true
	for p in libssl3 libssl-dev openssl; do
		echo "$MADISON" | awk -F'|' -v p="$p" -v v="$1" -v a="$ARCH" '
			{ for (i = 1; i <= 3; i++) gsub(/^ +| +$/, "", $i) }
			$1 == p && $2 == v && $3 ~ (" " a " Packages$") { found = 1 }
			END { exit !found }' || return 1
	done
	return 0
}

# the newest newer source with all three binaries, else the newest older one
best_newer= best_older= newest_src=
for v in $SRCS; do
	if [ -z "$newest_src" ] || newer "$v" "$newest_src"; then newest_src=$v; fi
	if newer "$v" "$VER"; then
		if { [ -z "$best_newer" ] || newer "$v" "$best_newer"; } && has_binaries "$v"; then
			best_newer=$v
		fi
	elif [ -z "$best_older" ] || newer "$v" "$best_older"; then
		best_older=$v
	fi
done

if [ -n "$best_newer" ]; then
	echo "upgrade $best_newer"
elif [ -n "$best_older" ]; then
	echo "fount: openssl: warning: the mirror has no openssl source for the installed libssl3 $VER nor a newer 3.0.x with its binaries; building the FIPS provider from the older $best_older (OpenSSL: a provider runs with the libcrypto of any later release of its major series)" >&2
	echo "older $best_older"
else
	die "the mirror has openssl source $newest_src but not its libssl3/libssl-dev/openssl binaries for $ARCH: run 'apt-get update' as root and retry (the mirror may be mid-sync)"
fi
