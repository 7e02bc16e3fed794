#!/bin/bash
# tests/integration/test-no-quorum.sh: with one of three members up there is no leader:
# a put through it fails within its deadline (the node's request_timeout_ms, 1 s here)
# with "no leader" and writes nothing; once a second member starts, a leader is elected
# and the next put succeeds and reads back.
#
# The client's own deadline (3 s) is longer than the node's: when both are equal, the
# client's gRPC deadline fires first and the client only sees DEADLINE_EXCEEDED.
. "$top_srcdir/tests/integration/lib.sh"

EXTRA_CONFIG='request_timeout_ms = 1000;'
cluster_init 3
start_node 1

t0=$(now_ms)
if raftctl -e "$(ep 1)" --timeout 3s put lonely 1 > "$T/put.out" 2>&1; then
        fail "a put without a quorum succeeded: $(cat "$T/put.out")"
fi
elapsed=$(( $(now_ms) - t0 ))
log "put without quorum: $(cat "$T/put.out") after $elapsed ms"
grep -q "no leader" "$T/put.out" || fail "the error does not say 'no leader': $(cat "$T/put.out")"
# The answer came from the node (it says "no leader"), so before the client's deadline.
[ "$elapsed" -ge 1000 ] || fail "the put failed after $elapsed ms, before the node's 1 s deadline"
[ "$(status_field 1 role)" != leader ] || fail "a single member of three became leader"

start_node 2
wait_leader 5000
log "leader n$LEADER with two of three members up"
raftctl -e "$(ep 1)" --timeout 3s put lonely 2 > "$T/put2.out" 2>&1 ||
        fail "the put after the second member started failed: $(cat "$T/put2.out")"
got=$(rkc -e "$(ep 2)" get lonely --meta) || fail "get lonely through n2 failed"
[ "$got" = "value=2 version=1 create_index=${got#*create_index=}" ] ||
        fail "lonely through n2: '$got', expected value 2 at version 1" \
             "(the failed put wrote nothing)"

for i in 1 2; do stop_node "$i"; done
echo "PASS: $TEST_NAME"
