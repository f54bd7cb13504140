#!/bin/sh
# mk/deb.sh — `make deb`: a Debian package of what `make install` puts on a
# machine, with PREFIX=/usr, built by dpkg-deb over a DESTDIR tree (no
# debian/ folder or debhelper: the build is the Makefile's, the package only
# carries its output). Output: $B/fount_VERSION_ARCH.deb.
#   Depends: dpkg-shlibdeps over the program and the FIPS provider, and
#            libssl3 at least the version the provider was built against
#            (a provider runs with the same or a later 3.0 libcrypto).
#   conffiles: /etc/fount/fount.conf (dpkg keeps an edited one on upgrade).
#   postinst: the fount user (systemd-sysusers, else adduser), group fount
#             on /etc/fount; it enables and starts nothing.
#   prerm: stops the units on remove; postrm: keeps /var/lib/fount and the
#          user even on purge (the key store and its KEK are not the
#          package's to destroy).
# Not stripped: the self-test's HMAC is over the program's bytes, and
# fipsmodule.cnf's MAC over fips.so's.
set -e
cd "$(dirname "$0")/.."
B=${B:-build}
FIPS_DIR=${FIPS_DIR:-build/fips}
version=$(sed -n 's/^#define FOUNT_VERSION "\(.*\)"$/\1/p' util/util.h)
arch=$(dpkg --print-architecture)
top=$B/deb
root=$top/root
rm -rf "$top"
mkdir -p "$top"

case "$root" in /*) DESTDIR=$root ;; *) DESTDIR=$(pwd)/$root ;; esac
DESTDIR=$DESTDIR PREFIX=/usr UNITDIR=/lib/systemd/system B=$B FIPS_DIR=$FIPS_DIR sh mk/install.sh install >/dev/null

# dpkg-shlibdeps reads debian/control: a minimal one of its own
mkdir -p "$top/shlibs/debian"
printf 'Source: fount\n\nPackage: fount\nArchitecture: any\n' > "$top/shlibs/debian/control"
deps=$(cd "$top/shlibs" && dpkg-shlibdeps -O -e"$DESTDIR/usr/bin/fount" -e"$DESTDIR/usr/lib/fount/fips/fips.so" 2>/dev/null |
       sed -n 's/^shlibs:Depends=//p')
[ -n "$deps" ] || { echo "fount: dpkg-shlibdeps found no dependencies (is dpkg-dev installed?)" >&2; exit 1; }
ssl=$(dpkg-query -W -f='${Version}' libssl3)
deps=$(printf '%s' "$deps" | tr ',' '\n' | sed 's/^ *//' | grep -v '^libssl3\( \|$\)' | paste -sd, - | sed 's/,/, /g')
deps="$deps, libssl3 (>= $ssl)"

mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CTL
Package: fount
Version: $version
Architecture: $arch
Maintainer: fount developers <root@localhost>
Installed-Size: $size
Depends: $deps
Recommends: systemd
Section: utils
Priority: optional
Description: health-tested entropy and key-generation service
 fount turns hardware noise (RDSEED, CPU jitter) into SP 800-90B
 health-tested, SP 800-90A CTR_DRBG output and keys on OpenSSL's FIPS
 provider, and serves them over KMIP (mutual TLS, port 5696) from a
 sealed key store. The package installs fount.service, fount-feed.service,
 fount-feed.timer, fount-agent.service and fount-agent.socket; none is
 enabled.
CTL
echo /etc/fount/fount.conf > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'SH'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers /usr/lib/sysusers.d/fount.conf
  elif ! getent passwd fount >/dev/null; then
    adduser --system --group --home /var/lib/fount --no-create-home fount >/dev/null
  fi
  chgrp fount /etc/fount
  chmod 0750 /etc/fount
  # only the file as shipped (dpkg keeps an admin's, with its owner)
  if [ "$(stat -c %U:%G /etc/fount/fount.conf)" = root:root ]; then
    chgrp fount /etc/fount/fount.conf
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
  fi
fi
exit 0
SH
cat > "$root/DEBIAN/prerm" <<'SH'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop fount-agent.service fount-agent.socket fount-feed.timer fount-feed.service fount.service 2>/dev/null || true
fi
exit 0
SH
cat > "$root/DEBIAN/postrm" <<'SH'
#!/bin/sh
set -e
case "$1" in
remove|purge)
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
  fi
  ;;
esac
if [ "$1" = purge ]; then
  rmdir /etc/fount 2>/dev/null || true
  echo "fount: kept the fount user and /var/lib/fount (the key store, its KEK and the CA)" >&2
fi
exit 0
SH
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
out=$B/fount_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "  DEB     $out"
