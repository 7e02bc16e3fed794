#!/bin/bash
# tests/integration/test-elect-and-forward.sh: three rafktord processes elect exactly one
# leader that all follow; raftctl status shows three members and one leader; a put through
# each node (followers forward to the leader) is readable through every node, by TCP and
# by the admin unix socket; SIGINT or SIGTERM stops a node cleanly (exit 0) and the data
# directories verify intact.
. "$top_srcdir/tests/integration/lib.sh"

cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000
log "leader n$LEADER"

# raftctl: three members, one leader (plain output: tab-separated status rows).
out=$(raftctl -e "$(all_eps)" -w plain status) || fail "raftctl status failed: $out"
[ "$(echo "$out" | wc -l)" -eq 3 ] || fail "raftctl status: expected 3 rows, got: $out"
[ "$(echo "$out" | cut -f4 | grep -c '^leader$')" -eq 1 ] ||
        fail "raftctl status: expected one leader, got: $out"
[ "$(echo "$out" | cut -f6 | sort -u)" = "n$LEADER" ] ||
        fail "raftctl status: not every node names n$LEADER as leader: $out"

# raftctl members through a follower: three voters, one marked leader.
follower=$(( LEADER % 3 + 1 ))
out=$(raftctl -e "$(ep "$follower")" -w plain members) || fail "raftctl members failed: $out"
[ "$(echo "$out" | cut -f1 | sort | tr '\n' ' ')" = "n1 n2 n3 " ] ||
        fail "raftctl members: expected n1 n2 n3: $out"
[ "$(echo "$out" | grep -c "^n$LEADER"$'\t'".*"$'\t'"\*\$")" -eq 1 ] &&
        [ "$(echo "$out" | grep -c '\*$')" -eq 1 ] ||
        fail "raftctl members: expected n$LEADER alone marked leader: $out"

out=$(raftctl -e "$(all_eps)" --json status) || fail "raftctl --json status failed: $out"
[ "$(echo "$out" | grep -c '"role": *"leader"')" -eq 1 ] ||
        fail "raftctl --json status: expected one \"role\": \"leader\": $out"
[ "$(echo "$out" | grep -c '"id": *"n[123]"')" -ge 3 ] ||
        fail "raftctl --json status: expected the ids n1..n3: $out"

for i in 1 2 3; do
        raftctl -e "$(ep "$i")" put "key-$i" "value through n$i" >/dev/null ||
                fail "raftctl put through n$i failed"
done
for i in 1 2 3; do
        for k in 1 2 3; do
                got=$(raftctl -e "$(ep "$i")" -w plain get "key-$k") ||
                        fail "raftctl get key-$k through n$i failed"
                [ "$got" = "value through n$k" ] ||
                        fail "get key-$k through n$i: '$got', expected 'value through n$k'"
                got=$(rkc -e "$(admin_ep "$i")" get "key-$k") ||
                        fail "get key-$k through n$i's admin socket failed"
                [ "$got" = "value through n$k" ] ||
                        fail "get key-$k through $(admin_ep "$i"): '$got'"
        done
done

# A missing key is not a success.
if raftctl -e "$(ep 1)" get no-such-key >/dev/null 2>&1; then
        fail "raftctl get of a missing key exited 0"
fi

# Ctrl-C (SIGINT) stops as cleanly as SIGTERM, although a shell's background job starts
# with SIGINT ignored.
stop_node 1 INT
grep -q "received SIGINT, stopping" "$T/n1.log" || fail "n1 did not log the SIGINT"
for i in 2 3; do stop_node "$i"; done
for i in 1 2 3; do
        "$RAFKTORD" --verify-data "$T/n$i" > "$T/verify-n$i.out" 2>&1 ||
                fail "--verify-data $T/n$i: $(cat "$T/verify-n$i.out")"
done
echo "PASS: $TEST_NAME"
