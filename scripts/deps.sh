#!/bin/sh
# Installs the Debian 12 packages wcs needs to build, test and run its demo. Idempotent: it asks
# apt only for what is missing. Needs root (or sudo).
set -eu
PKGS="build-essential cmake pkg-config git clang libclang-rt-14-dev
libyaml-dev libcyaml-dev libjansson-dev libmodbus-dev libusb-1.0-0-dev libpaho-mqtt-dev libmosquitto-dev
libhiredis-dev libsystemd-dev libcmocka-dev libjemalloc-dev
redis-server mosquitto mosquitto-clients redis-tools umockdev libumockdev-dev
libzint-dev libpng-dev tzdata"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing:$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
# Debian starts the packaged services on install; wcs starts its own on free ports and needs
# none of them, so leave the system's as the administrator had them.
