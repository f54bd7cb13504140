#!/bin/sh
# mk/deps.sh — install the Debian 12 packages fount builds and tests with.
# Idempotent: skips apt entirely when everything is already there.
set -e
PKGS="build-essential pkg-config openssl libssl-dev libinih-dev libjansson-dev libcunit1-dev libpkcs11-helper1-dev softhsm2 opensc"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "fount: missing packages:$missing — run 'make deps' as root (or: sudo apt-get install$missing)" >&2
  exit 1
fi
echo "fount: installing$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
