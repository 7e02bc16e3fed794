#!/bin/bash
# tests/integration/test-follower-put-after-kill.sh: kill -9 the leader and at once send a
# put through a follower that still names the dead leader: the follower's forward cannot
# reach it, goes back to its Raft core and on to the new leader, so the put succeeds at
# the first attempt, well before the client's 3 s deadline (it used to wait the deadline
# out on a forward to the dead leader). Once sessionless, once with a session; both are
# read back through the new leader.
. "$top_srcdir/tests/integration/lib.sh"

cluster_init 3
for i in 1 2 3; do start_node "$i"; done
deadline=$(( 3000 * TIME_FACTOR ))

for round in 1 2; do
        wait_leader 5000
        l=$LEADER
        f=$(( l % 3 + 1 ))
        session=
        [ "$round" = 2 ] && session="--session 9 1"
        # The follower's channel to the leader is connected, as in a serving cluster.
        rkc -e "$(ep "$f")" put "warm-$round" 1 >/dev/null || fail "put through n$f failed"
        kill_node "$l"
        # shellcheck disable=SC2086 # $session is two words or none
        out=$(rkc -t "$deadline" -e "$(ep "$f")" put "after-kill-$round" v$round $session \
                2>&1) || fail "put through follower n$f right after kill -9 of n$l: $out"
        log "round $round: killed n$l; put through n$f${session:+ (session)}: $out"
        ms=$(echo "$out" | sed -n 's/.* ms=\([0-9]*\).*/\1/p')
        [ -n "$ms" ] && [ "$ms" -lt "$deadline" ] || fail "unexpected answer: $out"
        wait_leader 5000 "$l"
        got=$(rkc -e "$(ep "$LEADER")" get "after-kill-$round") ||
                fail "after-kill-$round is not readable through the new leader n$LEADER"
        [ "$got" = "v$round" ] || fail "after-kill-$round through n$LEADER: '$got'"
        start_node "$l"
done
for i in 1 2 3; do stop_node "$i"; done
echo "PASS: $TEST_NAME"
