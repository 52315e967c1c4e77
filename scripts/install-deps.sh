#!/usr/bin/env bash
# Installs the Debian packages poets needs when they are missing (idempotent; root or sudo).
# Build: gcc, make, OpenBLAS, OpenMP (with gcc), HDF5, libyaml, OpenMPI; tests: clang (libFuzzer).
set -eu
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in build-essential pkg-config libopenblas-dev libhdf5-dev hdf5-tools libyaml-dev \
         openmpi-bin libopenmpi-dev zlib1g-dev clang libclang-rt-14-dev; do
    have_pkg "$p" || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
echo "install-deps: installing ${need[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
