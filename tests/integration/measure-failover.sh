#!/bin/bash
# tests/integration/measure-failover.sh: quick numbers, not a test (not in TESTS).
#
#   tests/integration/measure-failover.sh [RUNS]     (default 10)
#
# Starts a three-node cluster on loopback (temp dir, free ports) and prints:
# - puts/s through the leader with 1 and with 64 puts in flight (rkc load, 95-byte-ish
#   keys and values, one client process, one channel);
# - failover time: kill -9 the leader, then time until the first put through the two
#   survivors succeeds (measured by the shell from just before the kill to the client's
#   exit, so it includes starting the client, about 10 ms); median, min and max of RUNS.
#   The killed node is restarted and caught up before the next run.
# Environment: top_builddir (default build-default/ in the repository), ATTEMPT_MS (the
# client's deadline per put attempt during the failover, default 150; it retries at once
# on the next survivor).
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build-default}
export top_srcdir top_builddir
. "$top_srcdir/tests/integration/lib.sh"
runs=${1:-10}

cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000

rate() { sed -n 's/.* rate=\([0-9]*\).*/\1/p' "$1"; }
"$RKC_BIN" -t 5000 -e "$(ep "$LEADER")" load --prefix tp1- --count 2000 --inflight 1 --quiet \
        2> "$T/tp1.out" || fail "load with 1 in flight: $(cat "$T/tp1.out")"
"$RKC_BIN" -t 5000 -e "$(ep "$LEADER")" load --prefix tp64- --count 20000 --inflight 64 \
        --quiet 2> "$T/tp64.out" || fail "load with 64 in flight: $(cat "$T/tp64.out")"
echo "puts/s through the leader, 1 in flight:  $(rate "$T/tp1.out")  ($(cat "$T/tp1.out"))"
echo "puts/s through the leader, 64 in flight: $(rate "$T/tp64.out")  ($(cat "$T/tp64.out"))"

times=()
for k in $(seq 1 "$runs"); do
        wait_leader 5000
        l=$LEADER
        others=
        for i in 1 2 3; do [ "$i" = "$l" ] || others="$others${others:+,}$(ep "$i")"; done
        t0=$(now_ms)
        kill_node "$l"
        out=$("$RKC_BIN" -t "${ATTEMPT_MS:-150}" -e "$others" put "failover-$k" x \
                --retry-ms 10000) ||
                fail "no successful put within 10 s after killing n$l"
        ms=$(( $(now_ms) - t0 ))
        times+=("$ms")
        echo "run $k: killed leader n$l; first successful put after $ms ms ($out)"
        start_node "$l"
        wait_leader 5000
        wait_caught_up 10000 "$l" "$LEADER"
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(echo "$sorted" |
        awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}')
echo "failover (kill -9 of the leader to the first successful put), $runs runs:" \
     "median $median ms, min $(echo "$sorted" | head -n 1) ms, max $(echo "$sorted" | tail -n 1) ms"
for i in 1 2 3; do stop_node "$i"; done
