#!/bin/bash
# bench/restart-1m.sh: a member holding 1,000,000 keys: RSS, data dir size, restart time.
#
# Owns: the 1M-key figures of issue 9. For each system, a fresh three-member cluster on
# 127.0.0.1; bench-client loads COUNT keys key%08u with VALUE_SIZE-byte values (as the etcd
# anchor: 1,000,000 keys, 32 bytes) into the leader, INFLIGHT at a time, and the counter
# must have risen by at least COUNT (etcd: revision; rafktor: applied index). Once every
# member caught up: VmRSS (and RssAnon/RssFile) of each member, the size of each data dir.
# Then a follower is stopped (SIGTERM, SIGKILL alternately) and restarted RESTARTS times;
# the figure is the time from starting the process to its first successful linearizable
# read (bench-client wait-serving, probing every 5 ms; measured by this script, so it
# includes starting the probe, about 10 ms). Must never leave a member running.
#
# With -S (rafktor), before the restarts: the snapshot figures of issue 7. Snapshots are
# left to the policy during the load (its journal lines are printed), then `raftctl
# snapshot` on the leader (write time and the loop's pause for fork(), from its journal
# line); then a follower is stopped, 1000 more keys are written, the leader snapshots again
# (snapshot_trailing = 0, so the follower is behind the log start) and the follower is
# started: the leader's InstallSnapshot line gives the bytes, seconds and MiB/s, and the
# time until the follower caught up is measured here.
#
# With -O PASSES, after the load and before the restarts: every key is written again
# PASSES times (the same keys, new values: a steady state where the log keeps growing
# between snapshots), and after each pass VmRSS/VmHWM of every member and the data dir
# sizes are printed.
#
# usage: bench/restart-1m.sh [-n COUNT] [-v VALUE_SIZE] [-i INFLIGHT] [-r RESTARTS]
#            [-s SYSTEMS] [-P PROFILE_DIR] [-S] [-O PASSES]
# Defaults: -n 1000000 -v 32 -i 256 -r 5 -s etcd,rafktor. With -P, the last restart of each
# system runs under `perf record -e cpu-clock` (attached right after the start, until
# serving) and the top functions are printed. Environment: BUILD, KEEP.
set -u
. "$(dirname "$0")/lib.sh"

COUNT=1000000 VALUE_SIZE=32 INFLIGHT=256 RESTARTS=5 SYSTEMS=etcd,rafktor PROFILE_DIR=
SNAPSHOTS= PASSES=0
while [ $# -gt 0 ]; do
        case "$1" in
        -n) COUNT=$2; shift 2 ;;
        -v) VALUE_SIZE=$2; shift 2 ;;
        -i) INFLIGHT=$2; shift 2 ;;
        -r) RESTARTS=$2; shift 2 ;;
        -s) SYSTEMS=$2; shift 2 ;;
        -P) PROFILE_DIR=$2; shift 2 ;;
        -S) SNAPSHOTS=1; shift ;;
        -O) PASSES=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
        esac
done
bench_need_packages
bench_need_build
bench_tmp

# member_dir I: the data dir of member I.
member_dir() {
        if [ "$SYSTEM" = etcd ]; then echo "$DATA/m$1"; else echo "$DATA/n$1"; fi
}

# memory_report: VmRSS, RssAnon, RssFile (MB) of every member.
memory_report() {
        local i p
        for i in 1 2 3; do
                p=${MEMBER_PID[$i]}
                [ -n "$p" ] || continue
                awk -v m="$i" -v l="$([ "$i" = "$LEADER" ] && echo " (leader)")" '
                        /^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } /^RssAnon:/ { a = $2 }
                        /^RssFile:/ { f = $2 }
                        END { printf "member %s%s: VmRSS %.0f MB (RssAnon %.0f, RssFile %.0f," \
                              " VmHWM %.0f)\n", m, l, r / 1024, a / 1024, f / 1024, h / 1024 }
                ' "/proc/$p/status"
        done
}

# snapshot_report: the -S figures (rafktor only; see the top of this file).
snapshot_report() {
        local raftctl=$BUILD/cli/raftctl f out index t0
        f=$(( LEADER % 3 + 1 ))
        echo "rafktor snapshots taken by the policy during the load:"
        grep -h "snapshot of index .* written" "$DATA"/n*.log | sed 's/ \[NODE_ID.*//'
        out=$("$raftctl" -e "unix:$DATA/n$LEADER.sock" --json --timeout 600s snapshot) ||
                die "rafktor: raftctl snapshot on member $LEADER failed: $out"
        index=$(echo "$out" | sed -n 's/.*"index": *\([0-9]*\).*/\1/p')
        echo "rafktor raftctl snapshot on the leader (member $LEADER):" \
             "$(grep -h "snapshot of index $index .* written" "$DATA/n$LEADER.log" |
                sed 's/.*rafktord: //; s/ \[NODE_ID.*//')"
        kill -TERM "${MEMBER_PID[$f]}"
        wait "${MEMBER_PID[$f]}" 2>/dev/null
        MEMBER_PID[$f]=
        "$BENCH_CLIENT" -s rafktor -t 10000 -e "$(member_ep "$LEADER")" load --count 1000 \
                --inflight 64 --value-size "$VALUE_SIZE" --max-ms 60000 > /dev/null ||
                die "rafktor: the load while member $f was down failed"
        out=$("$raftctl" -e "unix:$DATA/n$LEADER.sock" --json --timeout 600s snapshot) ||
                die "rafktor: raftctl snapshot on member $LEADER failed: $out"
        t0=$(now_ms)
        start_member "$f"
        wait_caught_up 600000 "$f" "$LEADER" || die "rafktor: member $f did not catch up"
        # The leader may have changed meanwhile: the sender's and the receiver's lines.
        echo "rafktor member $f caught up by InstallSnapshot $(( $(now_ms) - t0 )) ms after" \
             "its start: $(grep -h "sent to n$f" "$DATA"/n*.log | tail -n 1 |
                           sed 's/.*rafktord: //; s/ \[NODE_ID.*//')"
        echo "rafktor member $f: $(grep -h "bytes received in" "$DATA/n$f.log" | tail -n 1 |
                                   sed 's/.*rafktord: //; s/ \[NODE_ID.*//')"
}

# report_restart_profile SYSTEM: top functions of the profiled restart.
report_restart_profile() {
        local f=$PROFILE_DIR/restart-$1
        {
                echo "== $1 restart: self time by shared object"
                perf report -i "$f.data" --no-children --stdio --sort dso -g none \
                        2> /dev/null | grep -v '^#' | grep . | head -n 8
                echo "== $1 restart: self time by symbol"
                perf report -i "$f.data" --no-children --stdio --sort symbol -g none \
                        --percent-limit 1 2> /dev/null | grep -v '^#' | grep . |
                        sed 's/ *- *- *$//; s/ *$//' | cut -c1-150 | head -n 30
                echo "== $1 restart: inclusive time by symbol"
                perf report -i "$f.data" --children --stdio --sort symbol -g none \
                        --percent-limit 5 2> /dev/null | grep -v '^#' | grep . |
                        sed 's/ *- *- *$//; s/ *$//' | cut -c1-150 | head -n 40
        } > "$f.txt"
        cat "$f.txt"
}

for sys in ${SYSTEMS//,/ }; do
        ETCD_TIMING=
        if [ "$sys" = etcd ]; then
                etcd_init "$T/etcd"
                etcd_start_all
        else
                [ -n "$SNAPSHOTS" ] &&
                        RAFKTOR_EXTRA="${RAFKTOR_EXTRA:-}snapshot_trailing = 0;"
                rafktor_init "$T/rafktor"
                rafktor_start_all
        fi
        c0=$(write_counter "$LEADER")
        say "$sys: loading $COUNT keys into member $LEADER"
        out=$("$BENCH_CLIENT" -s "$sys" -t 10000 -e "$(member_ep "$LEADER")" load \
                --count "$COUNT" --inflight "$INFLIGHT" --value-size "$VALUE_SIZE" \
                --max-ms 1200000) || die "$sys: the load failed: $out"
        # The largest counter: if the lead moved during the load (CPU starvation), the
        # member loaded may be a follower a few entries behind the new leader.
        c1=$(cluster_counter)
        [ $(( c1 - c0 )) -ge "$COUNT" ] ||
                die "$sys: the counter rose by $(( c1 - c0 )), fewer than $COUNT"
        echo "$sys load: $out (counter +$(( c1 - c0 )))"
        wait_leader 10000 || die "$sys: no leader agreed on after the load"
        for i in 1 2 3; do
                [ "$i" = "$LEADER" ] && continue
                wait_caught_up 120000 "$i" "$LEADER" || die "$sys: member $i lags behind"
        done
        echo "$sys memory with $COUNT keys:"
        memory_report
        for i in 1 2 3; do
                echo "$sys member $i data dir: $(du -sm "$(member_dir "$i")" | cut -f1) MB" \
                     "(MB per dir: $(cd "$(member_dir "$i")" && du -m -d 2 . | sort -k2 |
                                     tr '\t\n' ': '))"
        done
        for pass in $(seq 1 "$PASSES"); do
                out=$("$BENCH_CLIENT" -s "$sys" -t 10000 -e "$(member_ep "$LEADER")" load \
                        --count "$COUNT" --inflight "$INFLIGHT" --value-size "$VALUE_SIZE" \
                        --max-ms 1200000) || die "$sys: overwrite pass $pass failed: $out"
                wait_leader 10000 || die "$sys: no leader agreed on after pass $pass"
                echo "$sys overwrite pass $pass: $out"
                memory_report
                echo "$sys data dirs after pass $pass: $(for i in 1 2 3; do
                        du -sm "$(member_dir "$i")" | cut -f1; done | tr '\n' ' ')MB"
        done
        [ -n "$SNAPSHOTS" ] && [ "$sys" = rafktor ] && snapshot_report
        f=$(( LEADER % 3 + 1 ))
        times=()
        for k in $(seq 1 "$RESTARTS"); do
                sig=TERM
                [ $(( k % 2 )) = 0 ] && sig=KILL
                kill -"$sig" "${MEMBER_PID[$f]}"
                wait "${MEMBER_PID[$f]}" 2>/dev/null
                MEMBER_PID[$f]=
                t0=$(now_ms)
                start_member "$f"
                perf_pid=
                if [ -n "$PROFILE_DIR" ] && [ "$k" = "$RESTARTS" ]; then
                        mkdir -p "$PROFILE_DIR"
                        perf record -q -e cpu-clock -F 499 --call-graph dwarf,8192 \
                                -p "${MEMBER_PID[$f]}" -o "$PROFILE_DIR/restart-$sys.data" \
                                2> /dev/null &
                        perf_pid=$!
                fi
                out=$("$BENCH_CLIENT" -s "$sys" -t 1000 -e "$(member_ep "$f")" wait-serving \
                        --max-ms 120000) || die "$sys: member $f did not serve after restart"
                ms=$(( $(now_ms) - t0 ))
                if [ -n "$perf_pid" ]; then
                        kill -INT "$perf_pid"
                        wait "$perf_pid"
                        report_restart_profile "$sys"
                fi
                times+=("$ms")
                echo "$sys restart $k (SIG$sig) of member $f: serving after $ms ms" \
                     "($out; VmRSS $(( $(rss_kb "${MEMBER_PID[$f]}") / 1024 )) MB)"
                wait_caught_up 120000 "$f" "$LEADER" || die "$sys: member $f lags behind"
        done
        sorted=$(printf '%s\n' "${times[@]}" | sort -n)
        echo "$sys restart with $COUNT keys until serving, $RESTARTS restarts: median" \
             "$(echo "$sorted" | median) ms, min $(echo "$sorted" | head -n 1) ms," \
             "max $(echo "$sorted" | tail -n 1) ms"
        stop_members
        rm -rf "$DATA"
done
