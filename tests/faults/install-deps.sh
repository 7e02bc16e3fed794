#!/bin/bash
# tests/faults/install-deps.sh: what tests/faults needs beyond the build on Debian 12:
# nftables (the per-link drop rules), iproute2 (ip netns, veth, bridge) and coreutils/
# util-linux (dd, df, mount for the tmpfs data dirs). Idempotent: does nothing (and needs
# no network) when they are installed. tests/install-deps.sh may call it.
set -euo pipefail

packages=(nftables iproute2 util-linux coreutils)
missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
                missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
        echo "faults/install-deps: missing packages: ${missing[*]}" >&2
        echo "faults/install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
        exit 1
fi
echo "faults/install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
