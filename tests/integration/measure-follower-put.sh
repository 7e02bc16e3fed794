#!/bin/bash
# tests/integration/measure-follower-put.sh: quick numbers, not a test (not in TESTS).
#
#   tests/integration/measure-follower-put.sh [RUNS]     (default 10)
#
# Starts a three-node cluster on loopback and, RUNS times: kill -9 the leader, then at once
# send one put through a FOLLOWER (a survivor) with a 3 s client deadline, retried on the
# same follower until it succeeds (at most 10 s). Prints, per run, the time from just
# before the kill to the first successful put (shell clock, includes starting the client,
# about 10 ms), the client's own time and its number of attempts; then the median, min
# and max. Alternates sessionless puts (odd runs) and puts with a session (even runs).
# The killed node is restarted and caught up before the next run.
# Environment: top_builddir (default build-default/ in the repository), DEADLINE_MS (the
# client's deadline per attempt, default 3000).
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build-default}
export top_srcdir top_builddir
. "$top_srcdir/tests/integration/lib.sh"
runs=${1:-10}
deadline=${DEADLINE_MS:-3000}

cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000

times=()
for k in $(seq 1 "$runs"); do
        wait_leader 5000
        l=$LEADER
        f=$(( l % 3 + 1 ))
        session=
        [ $((k % 2)) -eq 0 ] && session="--session 77 $k"
        t0=$(now_ms)
        kill_node "$l"
        # shellcheck disable=SC2086 # $session is two words or none
        out=$("$RKC_BIN" -t "$deadline" -e "$(ep "$f")" put "after-kill-$k" x $session \
                --retry-ms 10000) || fail "no successful put through n$f within 10 s"
        ms=$(( $(now_ms) - t0 ))
        times+=("$ms")
        echo "run $k: killed leader n$l; put through follower n$f${session:+ (session)}" \
             "succeeded after $ms ms ($out)"
        start_node "$l"
        wait_leader 5000
        wait_caught_up 10000 "$l" "$LEADER"
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(echo "$sorted" |
        awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}')
echo "kill -9 of the leader to the first successful put through a follower" \
     "(${deadline} ms client deadline), $runs runs: median $median ms," \
     "min $(echo "$sorted" | head -n 1) ms, max $(echo "$sorted" | tail -n 1) ms"
for i in 1 2 3; do stop_node "$i"; done
