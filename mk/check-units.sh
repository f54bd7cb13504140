#!/bin/sh
# mk/check-units.sh ROOT PREFIX — `make check-units`: systemd-analyze verify
# every unit `make install DESTDIR=ROOT PREFIX=PREFIX` put under ROOT, with
# --root=ROOT so that their ExecStart= programs are checked where they were
# installed. The units they order against (sysinit.target,
# network-online.target, ...) are this machine's systemd's, copied in.
# systemd-analyze verify exits 0 on an unknown key or a bad value (it only
# warns, as systemd does when it loads the unit), so any output fails too.
set -e
root=$1
prefix=$2
[ -n "$root" ] && [ -n "$prefix" ] || { echo "usage: sh mk/check-units.sh ROOT PREFIX" >&2; exit 2; }
command -v systemd-analyze >/dev/null 2>&1 || {
  echo "fount: systemd-analyze is missing (Debian package systemd): run 'make deps' as root" >&2
  exit 1
}
sysdir=/lib/systemd/system
[ -d "$sysdir" ] || sysdir=/usr/lib/systemd/system
mkdir -p "$root/lib/systemd"
rm -rf "$root/lib/systemd/system"
cp -R "$sysdir" "$root/lib/systemd/system"
units=""
for u in fount.service fount-feed.service fount-feed.timer fount-agent.service fount-agent.socket; do
  [ -f "$root$prefix/lib/systemd/system/$u" ] || { echo "fount: $prefix/lib/systemd/system/$u is not installed under $root" >&2; exit 1; }
  units="$units $root$prefix/lib/systemd/system/$u"
done
fail=0
out=$(systemd-analyze verify --root="$root" --man=no $units 2>&1) || fail=1
if [ "$fail" = 1 ] || [ -n "$out" ]; then
  printf '%s\n' "$out" >&2
  echo "fount: systemd-analyze verify failed for$units" >&2
  exit 1
fi
echo "  VERIFY  fount.service fount-feed.service fount-feed.timer fount-agent.service fount-agent.socket: systemd-analyze verify passes"
