#!/bin/sh
# mk/install.sh — `make install` and `make uninstall` (install | uninstall).
#
# Environment: DESTDIR (a staging root; empty = this machine), PREFIX
# (/usr/local), B (the build folder with fount, fount.hmac and fount.conf,
# the output of `fount config --template`), FIPS_DIR (fips.so and
# fipsmodule.cnf), UNITDIR and SYSUSERSDIR (default under PREFIX/lib).
#
# The layout, relative to PREFIX:
#   bin/fount                     the program, 0755, not stripped: the
#                                 self-test HMACs these very bytes
#   lib/fount/fount.hmac          its integrity file
#   lib/fount/fips/fips.so,       the FIPS provider, byte for byte as built
#   lib/fount/fips/fipsmodule.cnf (its module MAC is over fips.so)
#   lib/systemd/system/           fount.service, fount-feed.service and .timer
#   lib/sysusers.d/fount.conf     the fount system user
#   share/doc/fount/README.md
# and /etc/fount/fount.conf (0640, group fount; written only when absent).
# fount finds lib/fount from the folder it runs from (<exe dir>/../lib/fount,
# FOUNT_LIBDIR_REL in util/util.h), so a DESTDIR tree works as it is and no
# path goes into the configuration.
set -e
cd "$(dirname "$0")/.."
op=${1:-}
D=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
B=${B:-build}
FIPS_DIR=${FIPS_DIR:-build/fips}
BINDIR=$PREFIX/bin
LIBDIR=$PREFIX/lib/fount
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-$PREFIX/lib/sysusers.d}
DOCDIR=$PREFIX/share/doc/fount
CONFDIR=/etc/fount # CONFIG_DEFAULT_PATH is compiled in: not under PREFIX
UNITS="fount.service fount-feed.service fount-feed.timer fount-agent.service fount-agent.socket"

case "$PREFIX" in
/*) ;;
*) echo "fount: PREFIX must be an absolute path (got '$PREFIX'); DESTDIR is for staging" >&2; exit 2 ;;
esac
say() { printf '  %-7s %s\n' "$1" "$2"; }

do_install() {
  for f in "$B/fount" "$B/fount.hmac" "$B/fount.conf" "$FIPS_DIR/fips.so" "$FIPS_DIR/fipsmodule.cnf"; do
    [ -f "$f" ] || { echo "fount: $f is missing: run 'make' first" >&2; exit 1; }
  done
  install -d -m 0755 "$D$BINDIR" "$D$LIBDIR" "$D$LIBDIR/fips" "$D$UNITDIR" "$D$SYSUSERSDIR" "$D$DOCDIR"
  # install(1) unlinks the old file first: a running fount keeps its inode
  say INSTALL "$BINDIR/fount"
  install -m 0755 "$B/fount" "$D$BINDIR/fount"
  install -m 0644 "$B/fount.hmac" "$D$LIBDIR/fount.hmac"
  say INSTALL "$LIBDIR/fips/fips.so"
  install -m 0644 "$FIPS_DIR/fips.so" "$D$LIBDIR/fips/fips.so"
  install -m 0644 "$FIPS_DIR/fipsmodule.cnf" "$D$LIBDIR/fips/fipsmodule.cnf"
  tmp=$(mktemp)
  trap 'rm -f "$tmp"' EXIT
  for u in $UNITS; do
    src=dist/systemd/$u
    [ -f "$src.in" ] && src=$src.in
    sed -e "s|@BINDIR@|$BINDIR|g" -e "s|@DOCDIR@|$DOCDIR|g" "$src" > "$tmp"
    say INSTALL "$UNITDIR/$u"
    install -m 0644 "$tmp" "$D$UNITDIR/$u"
  done
  install -m 0644 dist/sysusers.d/fount.conf "$D$SYSUSERSDIR/fount.conf"
  install -m 0644 README.md "$D$DOCDIR/README.md"
  install -d -m 0750 "$D$CONFDIR"
  new=0
  if [ -e "$D$CONFDIR/fount.conf" ] || [ -L "$D$CONFDIR/fount.conf" ]; then
    say KEEP "$CONFDIR/fount.conf (it exists; the new template is $B/fount.conf)"
  else
    say INSTALL "$CONFDIR/fount.conf"
    install -m 0640 "$B/fount.conf" "$D$CONFDIR/fount.conf"
    new=1
  fi
  [ -z "$D" ] || return 0
  # this machine: the user, the configuration's group, systemd's view
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers "$SYSUSERSDIR/fount.conf"
  elif ! getent passwd fount >/dev/null; then
    adduser --system --group --home /var/lib/fount --no-create-home fount >/dev/null
  fi
  chgrp fount "$CONFDIR"
  [ "$new" = 0 ] || chgrp fount "$CONFDIR/fount.conf"
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
  echo "fount: installed; nothing is enabled: systemctl enable --now fount.service (README \"Running fount as a service\")"
}

do_uninstall() {
  for f in "$BINDIR/fount" "$LIBDIR/fount.hmac" "$LIBDIR/fips/fips.so" "$LIBDIR/fips/fipsmodule.cnf" \
           "$SYSUSERSDIR/fount.conf" "$DOCDIR/README.md"; do
    [ ! -e "$D$f" ] || { say RM "$f"; rm -f "$D$f"; }
  done
  for u in $UNITS; do
    [ ! -e "$D$UNITDIR/$u" ] || { say RM "$UNITDIR/$u"; rm -f "$D$UNITDIR/$u"; }
  done
  rmdir "$D$LIBDIR/fips" "$D$LIBDIR" "$D$DOCDIR" 2>/dev/null || true
  # the configuration goes only as install wrote it: edits are the admin's
  if [ -f "$D$CONFDIR/fount.conf" ]; then
    if [ -f "$B/fount.conf" ] && cmp -s "$B/fount.conf" "$D$CONFDIR/fount.conf"; then
      say RM "$CONFDIR/fount.conf"
      rm -f "$D$CONFDIR/fount.conf"
    else
      say KEEP "$CONFDIR/fount.conf (edited, or from another version: remove it yourself)"
    fi
  fi
  rmdir "$D$CONFDIR" 2>/dev/null || true
  [ -z "$D" ] || return 0
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
  echo "fount: kept the fount user and /var/lib/fount (the key store, its KEK and the CA): remove them yourself only if no key in them is needed"
}

case "$op" in
install) do_install ;;
uninstall) do_uninstall ;;
*) echo "usage: sh mk/install.sh install|uninstall (through make install / make uninstall)" >&2; exit 2 ;;
esac
