#!/bin/bash
# bench/profile.sh: where rafktor's time goes at CONC puts in flight (h2load, one
# connection, the compare-etcd.sh Put frame, to the leader).
#
# Owns: profiling runs of a fresh three-node rafktor cluster on 127.0.0.1 and their
# reports in OUTDIR. Two methods:
# - perf: `perf record -e cpu-clock` (a software clock: it works where the VM hides the
#   hardware counters) with DWARF call graphs on the leader and on one follower while
#   h2load sends N puts; reports: self time by symbol, by shared object, by thread.
# - callgrind: node n1 runs under valgrind --tool=callgrind; leaders that are not n1 are
#   killed and restarted until n1 leads (valgrind slows it, so it rarely wins by itself);
#   then h2load sends N_CG puts to it and n1 is stopped with SIGTERM; report: the top
#   functions by instructions (self and inclusive).
# Both runs use election timeouts of 1-2 s (callgrind: 3-6 s, heartbeat 200 ms): the put
# path is the same, but the profiler's slowdown must not move the leader mid-run (with the
# default 150-300 ms it did, and the profile showed the forwarding path instead). The
# summary says whether the leader stayed.
# -m auto uses callgrind when `perf stat -e instructions true` reports no counter and
# perf otherwise; -m both runs both. Must never leave a member or a profiler running.
#
# usage: bench/profile.sh [-m auto|perf|callgrind|both] [-c CONC] [-n N] [-N N_CG]
#            [-o OUTDIR]
# Defaults: -m both -c 64 -n 100000 -N 5000 -o ./profile-out. Environment: BUILD, KEEP.
set -u
. "$(dirname "$0")/lib.sh"

MODE=both CONC=64 N=100000 N_CG=5000 OUT=./profile-out
while [ $# -gt 0 ]; do
        case "$1" in
        -m) MODE=$2; shift 2 ;;
        -c) CONC=$2; shift 2 ;;
        -n) N=$2; shift 2 ;;
        -N) N_CG=$2; shift 2 ;;
        -o) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
        esac
done
bench_need_packages
bench_need_build
bench_tmp
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ "$MODE" = auto ]; then
        if perf stat -e instructions true 2>&1 | grep -q 'not supported'; then
                MODE=callgrind
        else
                MODE=perf
        fi
fi

frame=$T/put.bin
"$BENCH_TOP/bench/make-frame" -o "$frame" rafktor put k --value-size 100
path=$("$BENCH_TOP/bench/make-frame" --path rafktor put)

h2load_put() {
        h2load -n "$1" -c 1 -m "$CONC" -t 1 -H 'content-type: application/grpc' \
                -H 'te: trailers' -d "$frame" "http://$(member_ep "$LEADER")$path"
}

# tidy: perf report lines without comments, padding and the trailing "- -" columns.
tidy() {
        grep -v '^#' | grep . | sed 's/ *- *- *$//; s/ *$//' | cut -c1-150
}

# Counted per put: every syscall, context switches, CPU, and the syscalls that show the
# batching (one fdatasync per group commit, sendmsg/recvmsg per write/read of a connection).
STAT_EVENTS=raw_syscalls:sys_enter,context-switches,cpu-clock
STAT_EVENTS=$STAT_EVENTS,syscalls:sys_enter_fdatasync,syscalls:sys_enter_sendmsg
STAT_EVENTS=$STAT_EVENTS,syscalls:sys_enter_recvmsg,syscalls:sys_enter_epoll_wait
STAT_EVENTS=$STAT_EVENTS,syscalls:sys_enter_pwrite64

# report_perf NAME: text reports of $OUT/perf-NAME.data, appended to perf-summary.txt.
report_perf() {
        local f=$OUT/perf-$1
        perf report -i "$f.data" --no-children --stdio --sort symbol \
                --percent-limit 0.5 -g none 2> /dev/null | tidy > "$f-symbols.txt"
        perf report -i "$f.data" --no-children --stdio --sort dso -g none 2> /dev/null \
                > "$f-dso.txt"
        perf report -i "$f.data" --no-children --stdio --sort pid -g none 2> /dev/null \
                > "$f-threads.txt"
        perf report -i "$f.data" --children --stdio --sort symbol \
                --percent-limit 4 -g none 2> /dev/null | tidy > "$f-inclusive.txt"
        {
                echo "== perf, $1: self time by shared object"
                grep -v '^#' "$f-dso.txt" | grep . | head -n 10
                echo "== perf, $1: self time by thread"
                grep -v '^#' "$f-threads.txt" | grep . | head -n 8
                echo "== perf, $1: self time by symbol"
                grep -v '^#' "$f-symbols.txt" | grep . | head -n 40
                echo "== perf, $1: inclusive time (children) by symbol, top 40"
                grep -v '^#' "$f-inclusive.txt" | grep . | head -n 40
        } >> "$OUT/perf-summary.txt"
}

profile_perf() {
        local f p_l p_f p_s c0 c1 l1
        RAFKTOR_EXTRA="election_timeout_min_ms = 1000; election_timeout_max_ms = 2000;"
        rafktor_init "$T/perf"
        rafktor_start_all
        f=$(( LEADER % 3 + 1 ))
        h2load_put 2000 > /dev/null
        # 1. counts: syscalls and context switches per put (leader, follower)
        perf stat -e "$STAT_EVENTS" -p "${MEMBER_PID[$LEADER]}" \
                -o "$OUT/perf-stat-leader.txt" &
        p_l=$!
        perf stat -e "$STAT_EVENTS" -p "${MEMBER_PID[$f]}" \
                -o "$OUT/perf-stat-follower.txt" &
        p_f=$!
        sleep 1
        h2load_put "$N" > "$OUT/perf-stat-h2load.txt"
        kill -INT "$p_l" "$p_f"
        wait "$p_l" "$p_f"
        # 2. samples with call graphs
        c0=$(write_counter "$LEADER")
        perf record -q -e cpu-clock -F 999 --call-graph dwarf,16384 \
                -p "${MEMBER_PID[$LEADER]}" -o "$OUT/perf-leader.data" 2> /dev/null &
        p_l=$!
        perf record -q -e cpu-clock -F 999 --call-graph dwarf,16384 \
                -p "${MEMBER_PID[$f]}" -o "$OUT/perf-follower.data" 2> /dev/null &
        p_f=$!
        sleep 1
        h2load_put "$N" > "$OUT/perf-h2load.txt"
        kill -INT "$p_l" "$p_f"
        wait "$p_l" "$p_f"
        c1=$(write_counter "$LEADER")
        l1=$(leader_member) || l1=none
        stop_members
        {
                echo "perf: $N puts at $CONC in flight; leader applied +$(( c1 - c0 ));" \
                     "leader member $LEADER, afterwards $l1;" \
                     "$(grep '^finished' "$OUT/perf-h2load.txt")"
                for p_s in leader follower; do
                        awk -v n="$N" -v who="$p_s" '
                                { gsub(",", "", $1) }
                                /raw_syscalls:sys_enter/ { s = $1 }
                                /context-switches/ { c = $1 }
                                /cpu-clock/ { t = $1 }
                                /sys_enter_fdatasync/ { fs = $1 }
                                /sys_enter_sendmsg/ { sm = $1 }
                                /sys_enter_recvmsg/ { rm = $1 }
                                /sys_enter_epoll_wait/ { ew = $1 }
                                /sys_enter_pwrite64/ { pw = $1 }
                                END { printf "== %s, per put: %.2f syscalls, %.2f context" \
                                      " switches, %.0f us CPU; %.3f fdatasync, %.3f pwrite," \
                                      " %.2f sendmsg, %.2f recvmsg, %.2f epoll_wait\n", who,
                                      s / n, c / n, t * 1000 / n, fs / n, pw / n, sm / n,
                                      rm / n, ew / n }' "$OUT/perf-stat-$p_s.txt"
                done
                echo "   (h2load: $(grep '^finished' "$OUT/perf-stat-h2load.txt"))"
        } > "$OUT/perf-summary.txt"
        report_perf leader
        report_perf follower
        cat "$OUT/perf-summary.txt"
}

profile_callgrind() {
        local tries c0 c1 vpid i st
        RAFKTOR_EXTRA="election_timeout_min_ms = 3000; election_timeout_max_ms = 6000;
heartbeat_ms = 200;"
        rafktor_init "$T/cg"
        for i in 1 2 3; do
                port_is_free "$(( RAFKTOR_BASE_PORT + i ))" ||
                        die "port $(( RAFKTOR_BASE_PORT + i )) is in use"
        done
        valgrind --tool=callgrind --instr-atstart=no \
                --callgrind-out-file="$OUT/callgrind.out.n1" \
                "$RAFKTORD" -c "$DATA/n1.conf" >> "$DATA/n1.log" 2>&1 &
        MEMBER_PID[1]=$!
        rafktor_start_member 2
        rafktor_start_member 3
        for tries in $(seq 1 30); do
                wait_leader 60000 || die "callgrind: no leader"
                [ "$LEADER" = 1 ] && break
                i=$LEADER
                kill_member "$i"
                sleep 0.5
                rafktor_start_member "$i"
        done
        [ "$LEADER" = 1 ] || die "callgrind: n1 (under valgrind) never became leader"
        say "callgrind: n1 leads after $tries tries"
        vpid=${MEMBER_PID[1]}
        h2load_put 500 > /dev/null
        c0=$("$BENCH_CLIENT" -t 20000 -e "$(member_ep 1)" status | field applied)
        callgrind_control -i on "$vpid" > /dev/null || die "callgrind_control -i on failed"
        h2load_put "$N_CG" > "$OUT/callgrind-h2load.txt"
        callgrind_control -i off "$vpid" > /dev/null
        st=$("$BENCH_CLIENT" -t 20000 -e "$(member_ep 1)" status)
        c1=$(echo "$st" | field applied)
        kill -TERM "$vpid"
        wait "$vpid"
        MEMBER_PID[1]=
        stop_members
        {
                echo "callgrind: $N_CG puts at $CONC in flight on the leader n1 (under" \
                     "valgrind, instrumented during the load only); applied" \
                     "+$(( c1 - c0 )); n1 afterwards: role $(echo "$st" | field role);" \
                     "$(grep '^finished' "$OUT/callgrind-h2load.txt")"
                echo "== callgrind: self (exclusive) instructions"
                callgrind_annotate "$OUT/callgrind.out.n1" 2> /dev/null |
                        sed -n '/file:function/,$p' | head -n 45 | cut -c1-160
                echo "== callgrind: inclusive instructions"
                callgrind_annotate --inclusive=yes "$OUT/callgrind.out.n1" 2> /dev/null |
                        sed -n '/file:function/,$p' | head -n 60 | cut -c1-160
        } > "$OUT/callgrind-summary.txt"
        cat "$OUT/callgrind-summary.txt"
}

case "$MODE" in
perf) profile_perf ;;
callgrind) profile_callgrind ;;
both) profile_perf; profile_callgrind ;;
*) die "unknown mode $MODE" ;;
esac
