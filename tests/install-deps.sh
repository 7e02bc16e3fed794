#!/bin/bash
# tests/install-deps.sh: install what building and testing Rafktor needs on
# Debian 12, with apt-get, when something is missing. Idempotent; does
# nothing (and needs no network) when everything is already installed.
set -euo pipefail

packages=(
        build-essential autoconf automake libtool pkg-config
        libgrpc-dev protobuf-c-compiler libprotobuf-c-dev
        libsystemd-dev libconfig-dev libedit-dev libcmocka-dev
        zlib1g-dev libjson-c-dev libbsd-dev libjemalloc-dev
        clang libclang-rt-14-dev mandoc systemd
        nftables iproute2 util-linux coreutils
)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
                missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages: ${missing[*]}" >&2
        echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
        exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
