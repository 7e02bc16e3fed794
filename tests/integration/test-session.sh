#!/bin/bash
# tests/integration/test-session.sh: exactly-once writes. The same (client_id, request_id)
# sent three times (through a follower, again, and through the leader) applies once and
# gets the same answer (index and version); the next request_id applies (version 2); an
# old request_id sent again never applies a second time.
. "$top_srcdir/tests/integration/lib.sh"

cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000
follower=$(( LEADER % 3 + 1 ))
log "leader n$LEADER, follower n$follower"

answer() { sed -n 's/^ok \(index=[0-9]* version=[0-9]*\).*/\1/p' "$1"; }

rkc -e "$(ep "$follower")" put s-key one --session 4242 1 > "$T/a1" ||
        fail "first put of (4242, 1) failed"
rkc -e "$(ep "$follower")" put s-key one --session 4242 1 > "$T/a2" ||
        fail "retry of (4242, 1) through n$follower failed"
rkc -e "$(ep "$LEADER")" put s-key one --session 4242 1 > "$T/a3" ||
        fail "retry of (4242, 1) through the leader failed"
log "answers: $(answer "$T/a1") | $(answer "$T/a2") | $(answer "$T/a3")"
[ -n "$(answer "$T/a1")" ] || fail "no answer in $(cat "$T/a1")"
[ "$(answer "$T/a1")" = "$(answer "$T/a2")" ] && [ "$(answer "$T/a1")" = "$(answer "$T/a3")" ] ||
        fail "retries got different answers"
first_index=$(answer "$T/a1" | sed 's/index=\([0-9]*\).*/\1/')

got=$(rkc -e "$(ep "$LEADER")" get s-key --meta) || fail "get s-key failed"
case "$got" in
"value=one version=1 create_index=$first_index mod_index=$first_index") ;;
*) fail "after three sends of one request: '$got', expected version 1 at index $first_index" ;;
esac

rkc -e "$(ep "$follower")" put s-key two --session 4242 2 > "$T/b1" ||
        fail "put of (4242, 2) failed"
case "$(answer "$T/b1")" in
*version=2) ;;
*) fail "the next request_id did not apply once: $(cat "$T/b1")" ;;
esac

# An old request_id again: either the cached answer or a refusal; never a third version.
rkc -e "$(ep "$LEADER")" put s-key one --session 4242 1 > "$T/c1" 2>&1
log "(4242, 1) after (4242, 2): $(cat "$T/c1")"
got=$(rkc -e "$(ep "$LEADER")" get s-key --meta) || fail "get s-key failed"
case "$got" in
"value=two version=2 "*) ;;
*) fail "an old request_id applied again: '$got'" ;;
esac

for i in 1 2 3; do stop_node "$i"; done
echo "PASS: $TEST_NAME"
