#!/bin/bash
# tests/integration/test-member-shrink.sh: shrink a 5-node cluster to 3 under a stream of
# writes, removing a follower and then the leader itself (on its own admin socket). The
# removal of the leader is answered once it commits; the leader steps down and one of the
# three remaining members is elected. The two removed nodes keep running and do not disturb
# the cluster: its leader and term hold for 8 election timeouts. Every acknowledged write
# reads back from each of the three members.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/member-lib.sh"

cluster_init 5
for i in 1 2 3 4 5; do start_node "$i"; done
wait_leader 5000
member_check_admin "$LEADER"
follower=$(( LEADER % 5 + 1 ))
four=()
for i in 1 2 3 4 5; do [ "$i" -ne "$follower" ] && four+=("$i"); done
log "leader n$LEADER; removing the follower n$follower, then the leader"
start_load shrink- 999999 "$(all_eps)" "$T/stop-load" # until the changes are done
wait_until 10000 "100 acknowledged writes before the first change" acks_at_least 100

admin_on_leader 1 2 3 4 5 -- member remove "n$follower"
is_member "$LEADER" "n$follower" && fail "n$follower is still a member after its removal"
log "removed n$follower"

t0=$(now_ms)
admin_on_leader "${four[@]}" -- member remove LEADER_ID
old=$LEADER
log "removal of the leader n$old, on its own admin socket, answered after" \
    "$(( $(now_ms) - t0 )) ms"
stay=()
for i in "${four[@]}"; do [ "$i" -ne "$old" ] && stay+=("$i"); done
wait_leader_among 5000 "${stay[@]}"
log "n$LEADER leads the three after $(( $(now_ms) - t0 )) ms"
members=$(members_line "$LEADER")
[ "$members" = "$(for i in "${stay[@]}"; do echo "n$i:true"; done | sort | tr '\n' ' ')" ] ||
        fail "members after the shrink: $members"
read_status "$old" role
[ "$STATUS_VALUE" != leader ] || fail "the removed n$old still leads"
load_running || fail "the write stream ended before the leader's removal"

# The removed nodes run on: 8 election timeouts without a change of leader or term.
leader_holds 2400 "${stay[@]}"
log "n$LEADER held its term while n$old and n$follower ran removed"
touch "$T/stop-load"

wait "$LOAD_PID" || fail "the write stream failed: $(tail -n 3 "$T/load.log")"
log "load: $(tail -n 1 "$T/load.log")"
verify_everywhere "${stay[@]}"
for i in 1 2 3 4 5; do stop_node "$i"; done
echo "PASS: $TEST_NAME"
