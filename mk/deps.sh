#!/bin/sh
# mk/deps.sh — install the Debian 12 packages fount builds and tests with,
# make sure apt can see the openssl source the FIPS provider is built from
# (mk/fips.sh), and, only when the mirror has no source for the installed
# libssl3, upgrade libssl3, libssl-dev and openssl together to the newest
# 3.0.x it has source and binaries for (mk/openssl-version.sh decides).
# Root is needed only when something must be added, updated or upgraded; as
# another user it says what to run. Idempotent and fast when nothing has to
# change: no apt-get runs then.
set -e
cd "$(dirname "$0")/.."
PKGS="build-essential pkg-config openssl systemd libssl-dev libinih-dev libjansson-dev libcunit1-dev libpkcs11-helper1-dev libsqlite3-dev libpq-dev postgresql softhsm2 opensc python3-pykmip qemu-system-x86 busybox-static libmicrohttpd-dev curl wrk chromium strace cryptsetup-bin"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

# apt-get source and apt-cache showsrc read deb-src entries only; Debian 12
# images ship just "Types: deb" in deb822 /etc/apt/sources.list.d/debian.sources.
# APT_DIR: apt's configuration folder (a test points it at a fake one)
APT_DIR=${APT_DIR:-/etc/apt}
has_deb_src() {
  grep -Eqs '^[[:space:]]*deb-src[[:space:]]' "$APT_DIR"/sources.list "$APT_DIR"/sources.list.d/*.list && return 0
  grep -Eqs '^[[:space:]]*Types:.*deb-src' "$APT_DIR"/sources.list.d/*.sources && return 0
  return 1
}
root() { [ "$(id -u)" = 0 ]; }
need_src=0
has_deb_src || need_src=1

if [ -n "$missing" ] || [ "$need_src" = 1 ]; then
  if ! root; then
    [ -z "$missing" ] || echo "fount: missing packages:$missing — run 'make deps' as root (or: sudo apt-get install$missing)" >&2
    [ "$need_src" = 0 ] || echo "fount: apt has no deb-src entry (the FIPS provider is built from Debian's openssl source) — run 'make deps' as root" >&2
    exit 1
  fi
  if [ "$need_src" = 1 ]; then
    if [ -f "$APT_DIR/sources.list.d/debian.sources" ]; then
      # the same URIs, suites, components and keys, as source entries
      SRCLIST="$APT_DIR/sources.list.d/fount-deb-src.sources"
      sed 's/^Types:.*/Types: deb-src/' "$APT_DIR/sources.list.d/debian.sources" > "$SRCLIST"
    elif [ -f "$APT_DIR/sources.list" ]; then
      SRCLIST="$APT_DIR/sources.list.d/fount-deb-src.list"
      sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$APT_DIR/sources.list" > "$SRCLIST"
    else
      echo "fount: no apt sources found to derive a deb-src entry from: add a deb-src line for Debian 12 to $APT_DIR/sources.list" >&2
      exit 1
    fi
    echo "fount: added $SRCLIST"
  fi
  echo "fount: apt-get update"
  apt-get update -qq
  updated=1
  if [ -n "$missing" ]; then
    echo "fount: installing$missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

# Which openssl source the provider is built from. Stale lists can hide a
# newer source: as root, refresh them once before upgrading or settling for
# an older source.
decide() { sh mk/openssl-version.sh; }
if ! out=$(decide 2>/dev/null) || [ "${out%% *}" != keep ]; then
  if root && [ "${updated:-0}" = 0 ]; then
    echo "fount: apt-get update (no openssl source for the installed libssl3 yet)"
    apt-get update -qq
  fi
  out=$(decide) || exit 1
fi
case "$out" in
upgrade\ *)
  v=${out#upgrade }
  have=$(dpkg-query -W -f='${Version}' libssl3)
  if ! root; then
    echo "fount: the mirror has no openssl source for the installed libssl3 $have; run 'make deps' as root to upgrade libssl3, libssl-dev and openssl to $v (or: sudo apt-get install libssl3=$v libssl-dev=$v openssl=$v)" >&2
    exit 1
  fi
  echo "fount: upgrading libssl3, libssl-dev and openssl $have -> $v (the mirror has source for $v only)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "libssl3=$v" "libssl-dev=$v" "openssl=$v" >/dev/null
  ;;
esac
exit 0
