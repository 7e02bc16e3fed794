# bench/lib.sh: helpers shared by the bench scripts (sourced, bash).
#
# Owns: the scripts' scratch dir, the etcd and rafktor members they start (by pid) and
# their clean-up on any exit, the Debian packages they need, the CPU accounting (/proc/stat,
# /proc/PID/stat) and the quiet-machine wait, the leader and counter look-ups of both
# systems. Must never touch a process it did not start, target anything but loopback, or
# leave a member running.
#
# Ports: etcd members m1..m3 use client ports 12379/22379/32379 and peer ports
# 12380/22380/32380 (as in shared/facts/etcd-anchor.md); rafktor nodes n1..n3 use
# RAFKTOR_BASE_PORT+1..3 (default 17401..17403). Every port must be free at start.
set -u

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$BENCH_TOP/build-default}
RAFKTOR_BASE_PORT=${RAFKTOR_BASE_PORT:-17400}
CLK_TCK=$(getconf CLK_TCK)
ETCD_CLIENT_PORTS=(0 12379 22379 32379)
ETCD_PEER_PORTS=(0 12380 22380 32380)

declare -a MEMBER_PID=(0 "" "" "")
SYSTEM=
T=

now_ms() { date +%s%3N; }
say() { echo "# $(date +%T) $*" >&2; }
die() {
        echo "ERROR: $*" >&2
        exit 1
}

# ---- set-up ----------------------------------------------------------------------------

# bench_need_packages: etcd, etcdctl, h2load and nghttp from Debian when missing.
bench_need_packages() {
        local missing=() sudo=
        command -v etcd >/dev/null || missing+=(etcd-server)
        command -v etcdctl >/dev/null || missing+=(etcd-client)
        { command -v h2load && command -v nghttp; } >/dev/null || missing+=(nghttp2-client)
        [ ${#missing[@]} -eq 0 ] && return 0
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        say "installing ${missing[*]} (apt-get)"
        # policy-rc.d may forbid starting the packaged etcd service; we never use it.
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
                install -y -q --no-install-recommends "${missing[@]}" >&2 ||
                die "apt-get install ${missing[*]} failed"
        # A packaged etcd service that did start would hold port 2379 only; ours differ.
}

# bench_need_build: rafktord and bench-client in $BUILD (configure + make when missing).
bench_need_build() {
        if [ ! -x "$BUILD/daemon/rafktord" ] || [ ! -x "$BUILD/bench/bench-client" ]; then
                say "building rafktord and bench-client in $BUILD"
                "$BENCH_TOP/tests/install-deps.sh" >&2 || die "tests/install-deps.sh failed"
                (cd "$BENCH_TOP" && { [ -x configure ] || autoreconf -fi >/dev/null; }) ||
                        die "autoreconf failed"
                mkdir -p "$BUILD"
                (cd "$BUILD" && { [ -f Makefile ] || "$BENCH_TOP/configure" -q; } &&
                        make -s -j"${JOBS:-2}" daemon/rafktord bench/bench-client) >&2 ||
                        die "building in $BUILD failed"
        fi
        RAFKTORD=$BUILD/daemon/rafktord
        BENCH_CLIENT=$BUILD/bench/bench-client
}

# bench_tmp: the scratch dir (fresh data dirs live under it) and the clean-up trap.
bench_tmp() {
        T=$(mktemp -d /tmp/rafktor-bench.XXXXXX) || die "mktemp failed"
        trap bench_cleanup EXIT
        trap 'exit 130' INT TERM
}

bench_cleanup() {
        local rc=$? i
        for i in 1 2 3; do
                [ -n "${MEMBER_PID[$i]}" ] || continue
                kill -KILL "${MEMBER_PID[$i]}" 2>/dev/null
                wait "${MEMBER_PID[$i]}" 2>/dev/null
        done
        if [ "${KEEP:-0}" = 1 ]; then
                echo "# kept $T" >&2
        else
                rm -rf "$T"
        fi
        exit "$rc"
}

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- CPU accounting ------------------------------------------------------------------

# cpu_busy: jiffies of all CPUs not idle and not waiting for I/O (/proc/stat "cpu" line).
cpu_busy() {
        awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# pid_cpu PID...: utime+stime jiffies summed over the PIDs (0 for a PID that is gone).
pid_cpu() {
        local p s sum=0 f
        for p in "$@"; do
                s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
                # fields after the ")" of comm: state is 1, utime 12, stime 13
                read -r -a f <<< "${s##*) }"
                sum=$(( sum + f[11] + f[12] ))
        done
        echo "$sum"
}

# kthread_cpu: utime+stime jiffies of every kernel thread (children of kthreadd, pid 2):
# softirq work for loopback TCP (ksoftirqd) and writeback (kworker) that the members cause
# lands there, so it is reported apart from the other processes.
kthread_cpu() {
        local f sum=0 s a
        for f in /proc/[0-9]*/stat; do
                { read -r s < "$f"; } 2>/dev/null || continue
                read -r -a a <<< "${s##*) }"
                [ "${a[1]}" = 2 ] && sum=$(( sum + a[11] + a[12] ))
        done
        echo "$sum"
}

# busy_pct MS: CPU used by everything during MS milliseconds, in % of one core.
busy_pct() {
        local b0 b1 t0 t1
        b0=$(cpu_busy)
        t0=$(now_ms)
        sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"
        b1=$(cpu_busy)
        t1=$(now_ms)
        awk -v b=$(( b1 - b0 )) -v t=$(( t1 - t0 )) -v hz="$CLK_TCK" \
                'BEGIN { printf "%.0f", b * 100000 / hz / t }'
}

# wait_quiet PCT TIMEOUT_S: wait until one second passes with the machine (members
# included: they are idle then) under PCT % of one core. 0 when quiet, 1 on timeout.
wait_quiet() {
        local pct=$1 deadline=$(( $(date +%s) + $2 )) b said=0
        while :; do
                b=$(busy_pct 1000)
                [ "$b" -lt "$pct" ] && return 0
                if [ "$said" = 0 ]; then
                        say "waiting for a quiet machine (busy ${b} % of one core," \
                            "want < ${pct} %)"
                        said=1
                fi
                [ "$(date +%s)" -ge "$deadline" ] && return 1
        done
}

# ---- members -------------------------------------------------------------------------

member_pids() {
        local i out=
        for i in 1 2 3; do [ -n "${MEMBER_PID[$i]}" ] && out="$out ${MEMBER_PID[$i]}"; done
        echo "${out# }"
}

# stop_members: SIGTERM, wait (SIGKILL after 10 s).
stop_members() {
        local i n
        for i in 1 2 3; do
                [ -n "${MEMBER_PID[$i]}" ] && kill -TERM "${MEMBER_PID[$i]}" 2>/dev/null
        done
        for i in 1 2 3; do
                [ -n "${MEMBER_PID[$i]}" ] || continue
                for n in $(seq 1 100); do
                        kill -0 "${MEMBER_PID[$i]}" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "${MEMBER_PID[$i]}" 2>/dev/null
                wait "${MEMBER_PID[$i]}" 2>/dev/null
                MEMBER_PID[$i]=
        done
}

# kill_member I: SIGKILL (when still running), wait.
kill_member() {
        [ -n "${MEMBER_PID[$1]}" ] || return 0
        kill -KILL "${MEMBER_PID[$1]}" 2>/dev/null
        wait "${MEMBER_PID[$1]}" 2>/dev/null
        MEMBER_PID[$1]=
}

# member_ep I: the client endpoint of member I of $SYSTEM.
member_ep() {
        if [ "$SYSTEM" = etcd ]; then
                echo "127.0.0.1:${ETCD_CLIENT_PORTS[$1]}"
        else
                echo "127.0.0.1:$(( RAFKTOR_BASE_PORT + $1 ))"
        fi
}
all_eps() { echo "$(member_ep 1),$(member_ep 2),$(member_ep 3)"; }

# ---- etcd ----------------------------------------------------------------------------

# etcd_init DIR: SYSTEM=etcd with data dirs DIR/m1..m3 (removed first: fresh).
# ETCD_TIMING: extra flags, e.g. "--heartbeat-interval=50 --election-timeout=300".
etcd_init() {
        SYSTEM=etcd
        DATA=$1
        rm -rf "$DATA"
        mkdir -p "$DATA"
        ETCD_STATE=new
}

# etcd_start_member I: start etcd member mI in the background (log DATA/mI.log).
etcd_start_member() {
        local i=$1 cluster=
        local k
        for k in 1 2 3; do
                cluster="$cluster${cluster:+,}m$k=http://127.0.0.1:${ETCD_PEER_PORTS[$k]}"
        done
        # shellcheck disable=SC2086 # ETCD_TIMING is a list of flags
        etcd --name "m$i" --data-dir "$DATA/m$i" \
                --listen-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
                --advertise-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
                --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
                --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
                --initial-cluster "$cluster" --initial-cluster-token rafktor-bench \
                --initial-cluster-state "$ETCD_STATE" --logger zap \
                --log-outputs "$DATA/m$i.log" ${ETCD_TIMING:-} \
                >> "$DATA/m$i.out" 2>&1 &
        MEMBER_PID[$i]=$!
}

etcd_start_all() {
        local i p
        for i in 1 2 3; do
                for p in "${ETCD_CLIENT_PORTS[$i]}" "${ETCD_PEER_PORTS[$i]}"; do
                        port_is_free "$p" || die "port $p is in use (another etcd?)"
                done
        done
        for i in 1 2 3; do etcd_start_member "$i"; done
        wait_leader 30000 || die "etcd: no leader within 30 s (logs in $DATA)"
}

# etcd_status_line I: "ID LEADER REVISION RAFT_INDEX APPLIED" of member I (empty: none).
# -w fields prints the 64-bit ids exactly (JSON tools may round them).
etcd_status_line() {
        ETCDCTL_API=3 etcdctl --endpoints="$(member_ep "$1")" --command-timeout=1s \
                endpoint status -w fields 2>/dev/null |
                awk -F' : ' '$1 == "\"MemberID\"" { id = $2 } $1 == "\"Leader\"" { l = $2 }
                        $1 == "\"Revision\"" { r = $2 } $1 == "\"RaftIndex\"" { x = $2 }
                        $1 == "\"RaftAppliedIndex\"" { a = $2 }
                        END { if (id != "") print id, l, r, x, a }'
}

# ---- rafktor -------------------------------------------------------------------------

# rafktor_init DIR: SYSTEM=rafktor, configs DIR/nI.conf, fresh data dirs DIR/nI.
# RAFKTOR_EXTRA: more config lines.
rafktor_init() {
        local i k sep
        SYSTEM=rafktor
        DATA=$1
        rm -rf "$DATA"
        mkdir -p "$DATA"
        for i in 1 2 3; do
                {
                        echo "id = \"n$i\";"
                        echo "listen = \"127.0.0.1:$(( RAFKTOR_BASE_PORT + i ))\";"
                        echo "data_dir = \"$DATA/n$i\";"
                        echo "admin_socket = \"$DATA/n$i.sock\";"
                        echo "peers = ("
                        for k in 1 2 3; do
                                sep=$([ "$k" -lt 3 ] && echo ,)
                                echo "  { id = \"n$k\";" \
                                     "address = \"127.0.0.1:$(( RAFKTOR_BASE_PORT + k ))\"; }$sep"
                        done
                        echo ");"
                        echo "log_level = \"info\";"
                        [ -n "${RAFKTOR_EXTRA:-}" ] && echo "$RAFKTOR_EXTRA"
                } > "$DATA/n$i.conf"
        done
}

rafktor_start_member() {
        local i=$1
        "$RAFKTORD" -c "$DATA/n$i.conf" >> "$DATA/n$i.log" 2>&1 &
        MEMBER_PID[$i]=$!
}

rafktor_start_all() {
        local i
        for i in 1 2 3; do
                port_is_free "$(( RAFKTOR_BASE_PORT + i ))" ||
                        die "port $(( RAFKTOR_BASE_PORT + i )) is in use"
        done
        for i in 1 2 3; do rafktor_start_member "$i"; done
        wait_leader 30000 || die "rafktor: no leader within 30 s (logs in $DATA)"
}

# rafktor_status I: bench-client's status line of member I (empty: no answer).
rafktor_status() {
        "$BENCH_CLIENT" -t 1000 -e "$(member_ep "$1")" status 2>/dev/null
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" | head -n 1; }

# ---- both ----------------------------------------------------------------------------

# leader_member: the number of the member every running member names as leader, or fail.
leader_member() {
        local i line ids=() leads=() want= lead=
        for i in 1 2 3; do
                [ -n "${MEMBER_PID[$i]}" ] || continue
                if [ "$SYSTEM" = etcd ]; then
                        line=$(etcd_status_line "$i")
                        [ -n "$line" ] || return 1
                        read -r -a f <<< "$line"
                        ids[$i]=${f[0]}
                        leads[$i]=${f[1]}
                else
                        line=$(rafktor_status "$i")
                        [ -n "$line" ] || return 1
                        ids[$i]=$(echo "$line" | field id)
                        leads[$i]=$(echo "$line" | field leader)
                fi
                [ -z "$want" ] && want=${leads[$i]}
                [ "${leads[$i]}" = "$want" ] || return 1
        done
        for i in 1 2 3; do
                [ "${ids[$i]:-}" = "$want" ] && lead=$i
        done
        [ -n "$lead" ] || return 1
        echo "$lead"
}

# wait_leader TIMEOUT_MS: sets LEADER once the running members agree on one.
wait_leader() {
        local deadline=$(( $(now_ms) + $1 )) l
        while :; do
                if l=$(leader_member); then
                        LEADER=$l
                        return 0
                fi
                [ "$(now_ms)" -ge "$deadline" ] && return 1
                sleep 0.05
        done
}

# write_counter I: etcd: the revision; rafktor: the applied index (of member I).
write_counter() {
        if [ "$SYSTEM" = etcd ]; then
                etcd_status_line "$1" | awk '{ print $3 }'
        else
                rafktor_status "$1" | field applied
        fi
}

# cluster_counter: the largest write counter among the running members (a member that
# just lost the lead may lag behind the new leader).
cluster_counter() {
        local i c best=
        for i in 1 2 3; do
                [ -n "${MEMBER_PID[$i]}" ] || continue
                c=$(write_counter "$i")
                [ -n "$c" ] || continue
                [ -z "$best" ] || [ "$c" -gt "$best" ] && best=$c
        done
        echo "$best"
}

# put_path / get_path: the gRPC methods h2load calls.
put_path() { "$BENCH_TOP/bench/make-frame" --path "$SYSTEM" put; }
get_path() { "$BENCH_TOP/bench/make-frame" --path "$SYSTEM" get; }

# grpc_ok EP PATH FRAME: one request with nghttp; 0 when the reply had grpc-status 0.
grpc_ok() {
        nghttp -v -H 'content-type: application/grpc' -H 'te: trailers' -d "$3" \
                "http://$1$2" 2>&1 | grep -q 'grpc-status: 0'
}

# rss_kb PID: VmRSS in kB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# median: of the numbers on stdin (one a line).
median() {
        sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2)
                print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# applied_index I / commit_target I: member I's applied index, and the index it must reach
# to have caught up with the leader I (etcd: raft index; rafktor: commit index).
applied_index() {
        if [ "$SYSTEM" = etcd ]; then
                etcd_status_line "$1" | awk '{ print $5 }'
        else
                rafktor_status "$1" | field applied
        fi
}
commit_target() {
        if [ "$SYSTEM" = etcd ]; then
                etcd_status_line "$1" | awk '{ print $4 }'
        else
                rafktor_status "$1" | field commit
        fi
}

# wait_caught_up TIMEOUT_MS I L: member I applied what leader L had committed when the
# wait began.
wait_caught_up() {
        local deadline=$(( $(now_ms) + $1 )) target a
        target=$(commit_target "$3")
        [ -n "$target" ] || return 1
        while :; do
                a=$(applied_index "$2")
                [ -n "$a" ] && [ "$a" -ge "$target" ] && return 0
                [ "$(now_ms)" -ge "$deadline" ] && return 1
                sleep 0.05
        done
}

# start_member I / start_all: of $SYSTEM.
start_member() {
        if [ "$SYSTEM" = etcd ]; then etcd_start_member "$1"; else rafktor_start_member "$1"; fi
}
