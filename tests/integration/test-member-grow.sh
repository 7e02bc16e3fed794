#!/bin/bash
# tests/integration/test-member-grow.sh: grow a 3-node cluster to 5 under a stream of writes.
# n4 and n5 start with empty data dirs and join = true: each stays a follower in term 0,
# knowing no leader, for 4 election timeouts before it is added (it never elects itself);
# each is added as a learner on the leader's admin socket (answered once the change
# commits), catches up and is promoted automatically (auto_promote). A second change
# while one is uncommitted, or a member added twice, is refused with the core's sentence.
# Then every acknowledged write reads back from every one of the five members.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/member-lib.sh"

cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000
member_check_admin "$LEADER"
log "leader n$LEADER"
# Writes go on until both members are in (the stop file), however slow the build: a
# fixed count ran out before the second add under ASan.
start_load grow- 999999 "$(all_eps)" "$T/stop-load"
wait_until 10000 "100 acknowledged writes before the first change" acks_at_least 100

# never_campaigns I MS: for MS (an observation window, not a wait for something to happen)
# nI stays a follower in term 0 with no leader.
never_campaigns() {
        local i=$1 until_ms=$(( $(now_ms) + $2 * TIME_FACTOR )) line
        while [ "$(now_ms)" -lt "$until_ms" ]; do
                line=$(rkc -t "$POLL_MS" -e "$(ep "$i")" status 2>/dev/null) || continue
                case "$line" in
                *" role=follower term=0 leader=- "*) ;;
                *) fail "n$i, joining and not added yet, left term 0: $line" ;;
                esac
                sleep 0.02
        done
}

grow() {
        local i=$1 t0
        joiner_init "$i"
        start_node "$i"
        never_campaigns "$i" 1200
        log "n$i (join = true) stayed a follower in term 0 for 4 election timeouts"
        t0=$(now_ms)
        admin_on_leader $(seq 1 $(( i - 1 ))) -- member add "n$i" "$(ep "$i")" --learner
        log "added n$i as a learner in $(( $(now_ms) - t0 )) ms: $(echo "$ADMIN_OUT" | tr '\n' ' ')"
        is_member "$LEADER" "n$i" || fail "n$i is not in n$LEADER's configuration after add"
        wait_until 20000 "n$i to be promoted to voter" is_voter "$LEADER" "n$i"
        log "n$i is a voter $(( $(now_ms) - t0 )) ms after the add"
        wait_caught_up 20000 "$i" "$LEADER"
}

grow 4
# One change at a time: a second change right after an add may find it uncommitted
# (FAILED_PRECONDITION, exit 1) or committed; adding an existing member is refused.
twice() {
        wait_leader_among 10000 1 2 3 4
        out=$(raftctl -e "$(admin_ep "$LEADER")" member add n4 "$(ep 4)" --learner 2>&1) &&
                fail "adding n4 twice succeeded: $out"
        case "$out" in
        *"n4 is already a member"*) return 0 ;;
        *"not the leader"*|*"no leader"*|*"one change at a time"*) return 1 ;;
        esac
        fail "adding n4 twice: unexpected answer: $out"
}
wait_until 20000 "an answer to adding n4 twice from the leader" twice
log "adding n4 twice: $out"
grow 5
load_running || fail "the write stream ended before both members were added"
log "both added under load: $(acks) writes acknowledged so far"
touch "$T/stop-load"

wait "$LOAD_PID" || fail "the write stream failed: $(tail -n 3 "$T/load.log")"
log "load: $(tail -n 1 "$T/load.log")"
wait_leader_among 5000 1 2 3 4 5
for i in 1 2 3 4 5; do
        is_voter "$LEADER" "n$i" || fail "n$i is not a voter: $(members_line "$LEADER")"
done
verify_everywhere 1 2 3 4 5
for i in 1 2 3 4 5; do stop_node "$i"; done
echo "PASS: $TEST_NAME"
