# tests/integration/lib.sh: helpers shared by the integration tests (sourced, bash).
#
# Owns: the test's temp dir, its free ports, the rafktord processes it starts (by pid) and
# their clean-up on any exit (trap), and waits: every wait is a condition polled with a
# deadline, never a fixed sleep. Must never touch a process it did not start, or leave one
# running.
#
# Usage in a test:
#     . "$top_srcdir/tests/integration/lib.sh"
#     cluster_init 3          # configs for n1..n3 on free ports in a temp dir
#     start_node 1; start_node 2; start_node 3
#     wait_leader 3000        # exactly one leader that every running node follows
#     rkc -e "$(ep 1)" put k v
set -u

: "${top_builddir:?run through make check (top_builddir unset)}"
: "${top_srcdir:?run through make check (top_srcdir unset)}"
RAFKTORD=$top_builddir/daemon/rafktord
RAFTCTL=$top_builddir/cli/raftctl
RKC_BIN=$top_builddir/tests/integration/rkc
NOTIFY_LISTEN=$top_builddir/tests/integration/notify-listen
for b in "$RAFKTORD" "$RKC_BIN"; do
        [ -x "$b" ] || { echo "ERROR: $b is not built"; exit 99; }
done

# Sanitizer builds run several times slower: TIME_FACTOR stretches every wait deadline and
# the polling calls' timeouts (not the properties the tests measure, like the 1 s
# election after a leader's death). Set it in the environment to override.
if [ -z "${TIME_FACTOR:-}" ]; then
        TIME_FACTOR=1
        ldd "$RAFKTORD" 2>/dev/null | grep -q 'libasan' && TIME_FACTOR=4
fi
POLL_MS=$(( 1000 * TIME_FACTOR ))
export RKC_TIMEOUT_MS=$(( 2000 * TIME_FACTOR ))     # rkc's per-call deadline without -t

# Short path: unix socket addresses hold at most 107 bytes.
T=$(mktemp -d /tmp/rafktor-it.XXXXXX) || exit 99
TEST_NAME=$(basename "$0" .sh)
declare -a PID=() PORT=()
declare -a EXTRA_PIDS=()
N_NODES=0

now_ms() { date +%s%3N; }

log() { echo "# $(date +%T.%3N) $*"; }

dump_logs() {
        local f
        for f in "$T"/*.log; do
                [ -f "$f" ] || continue
                echo "--- last lines of $f"
                tail -n 25 "$f"
        done
}

cleanup() {
        local rc=$? p
        for p in "${PID[@]}" "${EXTRA_PIDS[@]}"; do
                [ -n "$p" ] || continue
                kill -CONT "$p" 2>/dev/null
                kill -KILL "$p" 2>/dev/null
                wait "$p" 2>/dev/null
        done
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
                dump_logs
        fi
        if [ "${KEEP_TMP:-0}" = 1 ]; then
                echo "# kept $T"
        else
                rm -rf "$T"
        fi
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
        echo "FAIL: $TEST_NAME: $*"
        exit 1
}

skip() {
        echo "SKIP: $TEST_NAME: $*"
        exit 77
}

# wait_until TIMEOUT_MS DESCRIPTION CMD...: run CMD every 20 ms until it succeeds; fail
# with DESCRIPTION when TIMEOUT_MS (times TIME_FACTOR) passes first.
wait_until() {
        local timeout=$(( $1 * TIME_FACTOR )) what=$2 deadline
        shift 2
        deadline=$(( $(now_ms) + timeout ))
        until "$@"; do
                if [ "$(now_ms)" -ge "$deadline" ]; then
                        fail "timed out after ${timeout} ms waiting for: $what"
                fi
                sleep 0.02
        done
}

# A port nothing listens on (checked with a connect), below the kernel's ephemeral range
# (ip_local_port_range), where outgoing connections take their local ports: a port that
# one of them holds cannot be bound by a listener.
port_is_free() {
        ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
free_port() {
        local p i low
        low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
        [ "${low:-0}" -gt 12000 ] 2>/dev/null || low=32768
        for i in $(seq 1 200); do
                p=$(( 10000 + (RANDOM * 32768 + RANDOM) % (low - 10000) ))
                port_is_free "$p" || continue
                case " ${PORT[*]} ${USED_PORTS:-} " in *" $p "*) continue ;; esac
                USED_PORTS="${USED_PORTS:-} $p"
                echo "$p"
                return 0
        done
        fail "no free port found"
}

# write_config I: $T/nI.conf for member nI of an N_NODES cluster.
write_config() {
        local i=$1 k sep
        {
                echo "id = \"n$i\";"
                echo "listen = \"127.0.0.1:${PORT[$i]}\";"
                echo "data_dir = \"$T/n$i\";"
                echo "admin_socket = \"$T/n$i.sock\";"
                echo "peers = ("
                for k in $(seq 1 "$N_NODES"); do
                        sep=$([ "$k" -lt "$N_NODES" ] && echo ,)
                        echo "  { id = \"n$k\"; address = \"127.0.0.1:${PORT[$k]}\"; }$sep"
                done
                echo ");"
                echo "log_level = \"${RAFKTOR_LOG_LEVEL:-info}\";"
                [ -n "${EXTRA_CONFIG:-}" ] && echo "$EXTRA_CONFIG"
        } > "$T/n$i.conf"
}

# cluster_init N: ports and configs for n1..nN (nothing started).
cluster_init() {
        local i
        N_NODES=$1
        for i in $(seq 1 "$N_NODES"); do
                PORT[$i]=$(free_port)
        done
        for i in $(seq 1 "$N_NODES"); do
                write_config "$i"
        done
}

ep() { echo "127.0.0.1:${PORT[$1]}"; }
admin_ep() { echo "unix:$T/n$1.sock"; }
all_eps() {
        local i out=
        for i in $(seq 1 "$N_NODES"); do out="$out${out:+,}$(ep "$i")"; done
        echo "$out"
}
running() { [ -n "${PID[$1]:-}" ]; }
# is_stopped I: nI is stopped by SIGSTOP (state T in /proc).
is_stopped() {
        running "$1" && [ "$(cut -d' ' -f3 "/proc/${PID[$1]}/stat" 2>/dev/null)" = T ]
}

# Foreground only: a job started in the background must run "$RKC_BIN" itself, so that
# $! is the client and not a subshell around it.
rkc() { "$RKC_BIN" "$@"; }
raftctl() { "$RAFTCTL" "$@"; }

# node_answers I: its Admin.Status answers.
node_answers() { rkc -t "$POLL_MS" -e "$(ep "$1")" status >/dev/null 2>&1; }

# start_node I [ARGS...]: start rafktord for nI in the background (log $T/nI.log) and wait
# until it answers.
start_node() {
        local i=$1
        shift
        running "$i" && fail "n$i is already running"
        echo "=== start $(date +%T.%3N)" >> "$T/n$i.log"
        "$RAFKTORD" -c "$T/n$i.conf" "$@" >> "$T/n$i.log" 2>&1 &
        PID[$i]=$!
        wait_until 10000 "n$i to answer on $(ep "$i")" node_answers "$i"
}

# stop_node I [SIGNAL]: SIGTERM (or SIGNAL), wait; the exit code must be 0 (a clean stop).
stop_node() {
        local i=$1 sig=${2:-TERM} rc=0
        running "$i" || fail "n$i is not running"
        kill -"$sig" "${PID[$i]}"
        wait "${PID[$i]}" || rc=$?
        PID[$i]=
        [ "$rc" -eq 0 ] || fail "n$i exited with $rc after SIG$sig (expected a clean stop, 0)"
}

# kill_node I: SIGKILL, wait.
kill_node() {
        local i=$1
        running "$i" || fail "n$i is not running"
        kill -KILL "${PID[$i]}"
        wait "${PID[$i]}" 2>/dev/null
        PID[$i]=
}

# status_field I FIELD: a field of nI's status line (id role term leader commit applied
# last), empty when it does not answer.
status_field() {
        rkc -t "$POLL_MS" -e "$(ep "$1")" status 2>/dev/null |
                sed -n "s/.* $2=\([^ ]*\).*/\1/p; s/^$2=\([^ ]*\).*/\1/p" | head -n 1
}

# read_status NODE FIELD: sets STATUS_VALUE to one field of the node's status, polling
# until the node answers with it (a single query may time out on a loaded machine, or
# right after SIGCONT); fails the test after 3 s (times TIME_FACTOR).
read_status() {
        local deadline=$(( $(now_ms) + 3000 * TIME_FACTOR ))
        STATUS_VALUE=$(status_field "$1" "$2")
        until [ -n "$STATUS_VALUE" ]; do
                [ "$(now_ms)" -ge "$deadline" ] && fail "n$1 did not report its $2 within 3 s"
                sleep 0.02
                STATUS_VALUE=$(status_field "$1" "$2")
        done
}

# leader_agreed: prints the leader's number when exactly one running node is leader and
# every running node names it, in the same term; fails otherwise.
leader_agreed() {
        local i role leader term lead= lterm= n_lead=0 line
        for i in $(seq 1 "$N_NODES"); do
                running "$i" || continue
                is_stopped "$i" && continue
                line=$(rkc -t "$POLL_MS" -e "$(ep "$i")" status 2>/dev/null) || return 1
                role=$(echo "$line" | sed -n 's/.* role=\([^ ]*\).*/\1/p')
                leader=$(echo "$line" | sed -n 's/.* leader=\([^ ]*\).*/\1/p')
                term=$(echo "$line" | sed -n 's/.* term=\([^ ]*\).*/\1/p')
                [ "$leader" != - ] || return 1
                [ -z "$lead" ] && lead=$leader lterm=$term
                [ "$leader" = "$lead" ] && [ "$term" = "$lterm" ] || return 1
                [ "$role" = leader ] && n_lead=$((n_lead + 1))
        done
        [ "$n_lead" -eq 1 ] || return 1
        echo "${lead#n}"
}

# wait_leader TIMEOUT_MS [EXCEPT]: wait for an agreed leader (other than nEXCEPT); sets
# LEADER to its number. TIMEOUT_MS is stretched by TIME_FACTOR.
wait_leader() {
        local timeout=$(( $1 * TIME_FACTOR )) except=${2:-} deadline l
        deadline=$(( $(now_ms) + timeout ))
        while :; do
                l=$(leader_agreed) && [ "$l" != "$except" ] && break
                [ "$(now_ms)" -ge "$deadline" ] &&
                        fail "no agreed leader${except:+ other than n$except} within ${timeout} ms"
                sleep 0.02
        done
        LEADER=$l
}

# applied_at_least I N: nI answers and has applied index N.
applied_at_least() {
        local a
        a=$(status_field "$1" applied)
        [ -n "$a" ] && [ "$a" -ge "$2" ]
}

# wait_caught_up TIMEOUT_MS I J: nI applies what nJ had committed when the wait began (a
# fixed target, so a stream of writes does not move it).
wait_caught_up() {
        local target=
        has_commit() { target=$(status_field "$1" commit); [ -n "$target" ]; }
        wait_until 5000 "n$3 to answer its status" has_commit "$3"
        wait_until "$1" "n$2 to apply index $target (n$3's commit)" \
                applied_at_least "$2" "$target"
}

# caught_up I J: nI has applied everything nJ has committed (both answer).
caught_up() {
        local a c
        a=$(status_field "$1" applied)
        c=$(status_field "$2" commit)
        [ -n "$a" ] && [ -n "$c" ] && [ "$a" -ge "$c" ]
}
