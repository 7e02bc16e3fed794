#!/bin/bash
# tests/integration/test-member-replace.sh: replace a dead member by a new node under a
# stream of writes. A follower is killed (kill -9) and stays dead; it is removed on the
# leader's admin socket (the two live members commit that alone); n4 starts empty with
# join = true, is added as a learner, caught up and promoted; the cluster is n4 and the two
# survivors. Every acknowledged write reads back from each of the three members, and the
# new member's data directory passes --verify-data.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/member-lib.sh"

cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000
member_check_admin "$LEADER"
dead=$(( LEADER % 3 + 1 ))
live=()
for i in 1 2 3; do [ "$i" -ne "$dead" ] && live+=("$i"); done
eps=
for i in "${live[@]}"; do eps="$eps${eps:+,}$(ep "$i")"; done
start_load replace- 999999 "$eps" "$T/stop-load" # until the changes are done
wait_until 10000 "100 acknowledged writes before the kill" acks_at_least 100

kill_node "$dead"
log "killed n$dead (a follower of n$LEADER)"
admin_on_leader "${live[@]}" -- member remove "n$dead"
is_member "$LEADER" "n$dead" && fail "n$dead is still a member after its removal"
log "removed n$dead: $(members_line "$LEADER")"

joiner_init 4
start_node 4
t0=$(now_ms)
admin_on_leader "${live[@]}" -- member add n4 "$(ep 4)"   # a learner by default
wait_until 20000 "n4 to be promoted to voter" is_voter "$LEADER" n4
log "n4 is a voter $(( $(now_ms) - t0 )) ms after the add"
load_running || fail "the write stream ended before n4 was a voter"
touch "$T/stop-load"
want=$(for i in "${live[@]}" 4; do echo "n$i:true"; done | sort | tr '\n' ' ')
[ "$(members_line "$LEADER")" = "$want" ] ||
        fail "members after the replacement: $(members_line "$LEADER"), expected $want"

wait "$LOAD_PID" || fail "the write stream failed: $(tail -n 3 "$T/load.log")"
log "load: $(tail -n 1 "$T/load.log")"
wait_leader_among 5000 "${live[@]}" 4
verify_everywhere "${live[@]}" 4
for i in "${live[@]}" 4; do stop_node "$i"; done
"$RAFKTORD" --verify-data "$T/n4" > "$T/verify-n4.out" 2>&1 ||
        fail "--verify-data $T/n4: $(cat "$T/verify-n4.out")"
echo "PASS: $TEST_NAME"
