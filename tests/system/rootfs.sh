#!/bin/bash
# tests/system/rootfs.sh: prints the path of a Debian 12 root filesystem for the system
# test, building it with debootstrap the first time and caching it in tests/system/cache/
# (git-ignored), keyed by the debootstrap arguments.
#
# Owns: the cached rootfs and its key. Must never modify a cached rootfs after it is
# complete (containers boot it read-only with --volatile=overlay), nor touch the host's
# apt state beyond what debootstrap itself does.
#
# Environment: RAFKTOR_SYSTEM_CACHE (default tests/system/cache), DEBIAN_MIRROR (default:
# the first URI of the host's apt sources, else http://deb.debian.org/debian).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${RAFKTOR_SYSTEM_CACHE:-$here/cache}

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
        mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
                 grep -v security | head -1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

# systemd as PID 1, and every runtime dependency of the packages: the cluster nodes run in
# private network namespaces without internet, so nothing can be fetched at install time.
include=systemd,systemd-sysv,dbus,iproute2,procps
include=$include,libgrpc29,libprotobuf-c1,libconfig9,libjson-c5,libedit2,libbsd0,zlib1g,libsystemd0,libjemalloc2
args="--variant=minbase --include=$include bookworm"
key=$(printf '%s\n' "$args" | sha256sum | cut -c1-12)
root=$cache/rootfs-$key

if [ -f "$root/.rafktor-rootfs-complete" ]; then
        echo "$root"
        exit 0
fi
mkdir -p "$cache"
rm -rf "$root" "$root.tmp"
echo "rootfs: debootstrap $args $mirror (about a minute)" >&2
# shellcheck disable=SC2086
if ! debootstrap $args "$root.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1; then
        echo "rootfs: debootstrap failed, see $cache/debootstrap.log:" >&2
        tail -n 20 "$cache/debootstrap.log" >&2
        exit 1
fi
# The container's hostname is then the machine name given with -M.
rm -f "$root.tmp/etc/hostname"
# No apt caches: the tree is only ever booted read-only.
rm -rf "$root.tmp/var/cache/apt/archives/"*.deb "$root.tmp/var/lib/apt/lists/"*_Packages
touch "$root.tmp/.rafktor-rootfs-complete"
mv "$root.tmp" "$root"
echo "$root"
