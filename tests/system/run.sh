#!/bin/bash
# tests/system/run.sh: the system test: builds the .deb and .rpm from `make dist`, lints
# them (lintian, rpmlint, rpm in a scratch root, systemd-analyze verify/security, mandoc),
# then boots Debian 12 under systemd-nspawn (rootfs from debootstrap, cached in
# tests/system/cache/) and checks one node and a three-node cluster under a real systemd.
#
# Owns: its build directory (default build-system/ in the source tree, git-ignored), the
# containers, bridge and namespaces it starts. Must never install rafktor on the host,
# touch the host's port 7401, or leave a container or namespace behind.
#
# Run as root on Debian 12: tests/system/run.sh. Installs what it needs with apt-get.
# Environment: SYSTEM_BUILD_DIR (build directory), SYSTEM_STAGES (default
# "lint node cluster"), SYSTEM_REUSE_PACKAGES=1 (do not rebuild existing packages),
# RAFKTOR_SYSTEM_CACHE and DEBIAN_MIRROR (see rootfs.sh). Exit 0 when every check passed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/system
work=${SYSTEM_BUILD_DIR:-$top/build-system}
stages=${SYSTEM_STAGES:-lint node cluster}
t0=$SECONDS

. "$here/lib.sh"
. "$here/lint.sh"
. "$here/node.sh"
. "$here/cluster.sh"

if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: the system test needs root (systemd-nspawn, network namespaces)"
        exit 77
fi

install_tools() {
        local p missing=()
        for p in debhelper pkg-config lintian rpm rpmlint systemd-container debootstrap \
                 mandoc jq iproute2 util-linux; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
                        missing+=("$p")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        echo "system: installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
                --no-install-recommends "${missing[@]}" >"$work/apt.log" 2>&1 ||
                { tail -n 20 "$work/apt.log"; return 1; }
}

# make_upgrade_deb: the same package with a higher version (VERSION+systest1), so the
# node test upgrades for real (preinst upgrade, postinst configure OLD-VERSION).
make_upgrade_deb() {
        local dir=$work/upgrade-deb v
        v=$(dpkg-deb -f "$deb_file" Version)+systest1
        rm -rf "$dir" && dpkg-deb -R "$deb_file" "$dir" &&
                sed -i "s/^Version: .*/Version: $v/" "$dir/DEBIAN/control" &&
                dpkg-deb -b "$dir" "$debs/rafktor_${v}_upgrade.deb" >/dev/null &&
                upgrade_deb=$debs/rafktor_${v}_upgrade.deb upgrade_version=$v
}

# timed NAME CMD...: runs a stage and prints its wall time.
timed() {
        local name=$1 t=$SECONDS rc=0
        shift
        "$@" || rc=$?
        echo "--- $name: $((SECONDS - t)) s"
        return $rc
}

build_packages() {
        deb_file=$(ls "$work"/build/deb/rafktor_*.deb 2>/dev/null | head -1)
        rpm_file=$(ls "$work"/build/rpm/RPMS/*/rafktor-*.rpm 2>/dev/null | head -1)
        if [ "${SYSTEM_REUSE_PACKAGES:-0}" = 1 ] && [ -n "$deb_file" ] && [ -n "$rpm_file" ]; then
                echo "system: reusing $deb_file and $rpm_file"
        else
                echo "=== build: configure, make deb, make rpm in $work"
                [ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null) || return 1
                (cd "$work" && { [ -f Makefile ] || "$top/configure" -q; } &&
                        make -s deb >"$work/make-deb.log" 2>&1) ||
                        { fail "make deb" "$(tail -n 30 "$work/make-deb.log")"; return 1; }
                pass "make deb"
                (cd "$work" && make -s rpm >"$work/make-rpm.log" 2>&1) ||
                        { fail "make rpm" "$(tail -n 30 "$work/make-rpm.log")"; return 1; }
                pass "make rpm"
                deb_file=$(ls "$work"/build/deb/rafktor_*.deb | head -1)
                rpm_file=$(ls "$work"/build/rpm/RPMS/*/rafktor-*.rpm | head -1)
        fi
        deb_changes=$(ls "$work"/build/deb/rafktor_*.changes | head -1)
        version=$(dpkg-deb -f "$deb_file" Version | sed 's/-[^-]*$//')
        debs=$work/debs
        rm -rf "$debs" && mkdir -p "$debs" && cp "$deb_file" "$debs/" && make_upgrade_deb
}

# The rootfs (debootstrap: network-bound) is made while the packages build (CPU-bound).
rootfs_start() {
        case " $stages " in *" node "*|*" cluster "*) ;; *) return 0 ;; esac
        rootfs_t=$SECONDS
        setsid "$here/rootfs.sh" >"$work/rootfs.path" 2>"$work/rootfs.log" &
        rootfs_pid=$!
}
rootfs_wait() {
        local rc=0
        [ -n "${rootfs_pid:-}" ] || return 1
        wait "$rootfs_pid" || rc=$?
        rootfs_pid=
        cat "$work/rootfs.log"
        rootfs=$(cat "$work/rootfs.path")
        echo "--- rootfs: ready $((SECONDS - rootfs_t)) s after the start ($rootfs)"
        [ $rc -eq 0 ] && [ -d "$rootfs" ]
}
rootfs_stop() {
        [ -n "${rootfs_pid:-}" ] && kill -- -"$rootfs_pid" 2>/dev/null
        return 0
}

# One run at a time on a host: the containers, bridge and namespaces have fixed names.
exec 9>/run/lock/rafktor-system-test.lock
if ! flock -w 1800 9; then
        echo "FAIL: another system test holds /run/lock/rafktor-system-test.lock"
        exit 1
fi

mkdir -p "$work"
trap 'rootfs_stop; halt_all; net_teardown' EXIT
trap 'exit 130' INT TERM

if ! timed "tools" install_tools || ! "$top/tests/install-deps.sh"; then
        echo "FAIL: installing the tools"
        exit 1
fi
rootfs_start
if ! timed "build" build_packages; then
        echo "system: $n_pass passed, $n_fail failed, $n_skip skipped"
        exit 1
fi
for stage in $stages; do
        case $stage in
        lint) timed "lint" stage_lint ;;
        node|cluster)
                if [ -z "${rootfs:-}" ] && ! rootfs_wait; then
                        fail "Debian 12 rootfs (debootstrap)"
                        break
                fi
                timed "$stage" "stage_$stage" ;;
        *) echo "system: unknown stage '$stage'" >&2; exit 2 ;;
        esac
done

echo "system: $n_pass passed, $n_fail failed, $n_skip skipped in $((SECONDS - t0)) s"
[ "$n_fail" -eq 0 ]
