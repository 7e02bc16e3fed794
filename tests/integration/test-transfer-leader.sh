#!/bin/bash
# tests/integration/test-transfer-leader.sh: `raftctl transfer-leader ID` on the leader's
# admin socket, under a stream of writes, hands leadership to the named node (TimeoutNow):
# raftctl prints it as the new leader, every member then follows it in one term, and a
# transfer without ID moves leadership off the new leader too. On a follower the command
# fails (exit 1) naming the leader. Every acknowledged write reads back from every member.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/member-lib.sh"

cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000
member_check_admin "$LEADER"
old=$LEADER
target=$(( old % 3 + 1 ))
start_load transfer- 999999 "$(all_eps)" "$T/stop-load" # until the changes are done
wait_until 10000 "100 acknowledged writes before the transfer" acks_at_least 100

rc=0
out=$(raftctl -e "$(admin_ep "$target")" transfer-leader "n$target" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "transfer-leader on the follower n$target: exit $rc ($out)"
case "$out" in *"not the leader"*"n$old"*) ;; *) fail "on a follower: $out" ;; esac

t0=$(now_ms)
admin "$old" -w json transfer-leader "n$target"
log "transfer to n$target answered after $(( $(now_ms) - t0 )) ms: $ADMIN_OUT"
case "$ADMIN_OUT" in *"\"leader_id\": \"n$target\""*|*"\"leader_id\":\"n$target\""*) ;;
*) fail "transfer-leader n$target printed: $ADMIN_OUT" ;; esac
wait_leader 5000
[ "$LEADER" -eq "$target" ] || fail "n$LEADER leads, expected n$target"

admin "$target" transfer-leader
wait_leader 5000 "$target"
log "transfer without an id moved leadership from n$target to n$LEADER"
load_running || fail "the write stream ended before the second transfer"
touch "$T/stop-load"

wait "$LOAD_PID" || fail "the write stream failed: $(tail -n 3 "$T/load.log")"
log "load: $(tail -n 1 "$T/load.log")"
wait_leader 5000
verify_everywhere 1 2 3
for i in 1 2 3; do stop_node "$i"; done
echo "PASS: $TEST_NAME"
