# tests/system/lib.sh: helpers of the system test, sourced by run.sh: result reporting
# (PASS/FAIL/SKIP lines and counts), waiting on a condition with a deadline, and booting,
# entering and stopping systemd-nspawn containers.
#
# Owns: the containers and network namespaces it starts (recorded for cleanup). Must never
# sleep instead of waiting on a condition, stop a process it did not start, or write into
# the cached rootfs (containers boot it read-only with --volatile=overlay).

n_pass=0 n_fail=0 n_skip=0
declare -A box_pid=()

pass() { n_pass=$((n_pass + 1)); echo "PASS: $*"; }
skip() { n_skip=$((n_skip + 1)); echo "SKIP: $*"; }
fail() {
        n_fail=$((n_fail + 1))
        echo "FAIL: $1"
        [ -n "${2:-}" ] && printf '%s\n' "$2" | tail -n 25 | sed 's/^/    /'
        return 0
}

# check NAME CMD...: passes when CMD exits 0; on failure shows its output.
check() {
        local name=$1 out
        shift
        if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds; 1 after the deadline.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        while ! "$@" >/dev/null 2>&1; do
                [ $SECONDS -ge $deadline ] && return 1
                sleep 0.1
        done
}

# on NAME CMD...: runs CMD in every namespace of container NAME (its PID 1's).
on() {
        local name=$1 leader
        shift
        leader=$(pgrep -P "${box_pid[$name]}" | head -1)
        [ -n "$leader" ] || { echo "container $name has no PID 1" >&2; return 125; }
        nsenter -t "$leader" -a "$@"
}

box_running() {
        local s
        s=$(on "$1" systemctl is-system-running 2>/dev/null) || true
        [ "$s" = running ] || [ "$s" = degraded ]
}

# boot NAME ROOT [nspawn options...]: boots ROOT as container NAME (machine name NAME) on a
# tmpfs overlay, with the packages bound at /debs, and waits until systemd is up.
boot() {
        local name=$1 root=$2
        shift 2
        setsid systemd-nspawn -q -b -D "$root" -M "$name" --register=no --keep-unit \
                --console=read-only --volatile=overlay --bind-ro="$debs:/debs" "$@" \
                >"$work/$name.console.log" 2>&1 &
        box_pid[$name]=$!
        if ! wait_for 60 box_running "$name"; then
                echo "container $name did not reach running: $(on "$name" systemctl \
                        is-system-running 2>&1)" >&2
                tail -n 20 "$work/$name.console.log" >&2
                return 1
        fi
}

box_gone() { ! kill -0 "$1" 2>/dev/null; }

# halt NAME: a clean poweroff of container NAME (SIGTERM to nspawn), then waits for it.
halt() {
        local pid=${box_pid[$1]:-}
        [ -n "$pid" ] || return 0
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_for 30 box_gone "$pid"; then
                echo "container $1 ignored SIGTERM; killing its nspawn ($pid)" >&2
                kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
        unset "box_pid[$1]"
}

halt_all() {
        local name
        for name in "${!box_pid[@]}"; do
                halt "$name"
        done
}
