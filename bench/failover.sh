#!/bin/bash
# bench/failover.sh: kill -9 the leader under light load; time to the first successful put.
#
# Owns: the failover figure of issue 9. For each system, a fresh three-member cluster on
# 127.0.0.1: etcd with --heartbeat-interval=50 --election-timeout=300, rafktor at its
# defaults (heartbeat 50 ms, election timeout 150-300 ms). Each trial: bench-client puts
# 100/s to the leader for 1 s (all must succeed), reads through both survivors, then sends
# SIGKILL to the leader's pid itself (t0; only if it still leads right before, else the
# trial is repeated) and probes both survivors with a put every 5 ms (3 s deadline each)
# until one succeeds: that time is the trial's figure. The killed
# member is restarted and caught up before the next trial. Prints every trial, then the
# median, min and max. Must never kill anything but the leader it started.
#
# usage: bench/failover.sh [-t TRIALS] [-s SYSTEMS] [-q QUIET_PCT] [-Q QUIET_TIMEOUT_S]
# Defaults: -t 10 -s etcd,rafktor -q 50 -Q 30 (each trial waits up to 30 s for the machine
# to be under 50 % of one core busy, then runs anyway; the line shows how busy it was).
# Environment: BUILD, KEEP (see lib.sh).
set -u
. "$(dirname "$0")/lib.sh"

TRIALS=10 SYSTEMS=etcd,rafktor QUIET=50 QUIET_TIMEOUT=30
while [ $# -gt 0 ]; do
        case "$1" in
        -t) TRIALS=$2; shift 2 ;;
        -s) SYSTEMS=$2; shift 2 ;;
        -q) QUIET=$2; shift 2 ;;
        -Q) QUIET_TIMEOUT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
        esac
done
bench_need_packages
bench_need_build
bench_tmp

for sys in ${SYSTEMS//,/ }; do
        if [ "$sys" = etcd ]; then
                ETCD_TIMING="--heartbeat-interval=50 --election-timeout=300"
                etcd_init "$T/etcd"
                etcd_start_all
                timing="heartbeat 50 ms, election timeout 300 ms"
        else
                rafktor_init "$T/rafktor"
                rafktor_start_all
                timing="defaults: heartbeat 50 ms, election timeout 150-300 ms"
        fi
        times=()
        k=0 skipped=0
        while [ "$k" -lt "$TRIALS" ]; do
                wait_leader 10000 || die "$sys: no agreed leader before trial $((k + 1))"
                l=$LEADER
                survivors=
                for i in 1 2 3; do
                        [ "$i" = "$l" ] || survivors="$survivors${survivors:+,}$(member_ep "$i")"
                done
                wait_quiet "$QUIET" "$QUIET_TIMEOUT" ||
                        say "machine still busy after $QUIET_TIMEOUT s; trial $((k + 1))" \
                            "runs anyway"
                busy=$(busy_pct 500)
                rc=0
                out=$("$BENCH_CLIENT" -s "$sys" -t 3000 -e "$survivors" failover \
                        --kill "${MEMBER_PID[$l]}" --leader "$(member_ep "$l")" \
                        --rate 100 --warm-ms 1000 --max-ms 15000) || rc=$?
                if [ "$rc" = 3 ]; then
                        # the lead moved during the warm-up: nothing was killed, try again
                        skipped=$((skipped + 1))
                        [ "$skipped" -le 20 ] || die "$sys: the lead kept moving (20 times)"
                        say "$sys: member $l lost the lead before the kill; trial repeated"
                        continue
                fi
                [ "$rc" = 0 ] || die "$sys trial $((k + 1)): the failover probe failed"
                k=$((k + 1))
                kill_member "$l"
                ms=$(echo "$out" | sed -n 's/.*first_put_ms=\([0-9]*\).*/\1/p')
                times+=("$ms")
                echo "$sys trial $k: killed leader member $l: first put after $ms ms" \
                     "(busy before: ${busy} % of one core; $out)"
                start_member "$l"
                wait_leader 20000 || die "$sys: no leader after restarting member $l"
                wait_caught_up 20000 "$l" "$LEADER" ||
                        die "$sys: member $l did not catch up after its restart"
        done
        [ "$skipped" = 0 ] ||
                echo "$sys: $skipped trial(s) repeated because the lead moved before the kill"
        stop_members
        sorted=$(printf '%s\n' "${times[@]}" | sort -n)
        echo "$sys failover ($timing), kill -9 of the leader to the first successful put," \
             "$TRIALS trials: median $(echo "$sorted" | median) ms," \
             "min $(echo "$sorted" | head -n 1) ms, max $(echo "$sorted" | tail -n 1) ms"
done
