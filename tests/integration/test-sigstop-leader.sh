#!/bin/bash
# tests/integration/test-sigstop-leader.sh: SIGSTOP the leader and send it a write; the
# two others elect a new leader and commit new writes; SIGCONT: the old leader steps down
# to follow the new one in its higher term, and the write it took while isolated is
# either acknowledged and readable everywhere, or refused and readable nowhere (its
# uncommitted entry was discarded); in the end every node's log has the same last index.
. "$top_srcdir/tests/integration/lib.sh"

cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000
old=$LEADER
read_status "$old" term
old_term=$STATUS_VALUE
rkc -e "$(ep "$old")" put before 1 >/dev/null || fail "put before the stop failed"
log "leader n$old in term $old_term; SIGSTOP"

# The write goes out on a connection established before the stop, so the stopped leader
# finds it in its socket when it resumes, next to the new leader's messages.
: > "$T/isolated.out"
"$RKC_BIN" -t 10000 -e "$(ep "$old")" put isolated x --after "$T/go" > "$T/isolated.out" 2>&1 &
put_pid=$!
EXTRA_PIDS+=("$put_pid")
wait_until 5000 "the isolated writer to connect" grep -q '^connected' "$T/isolated.out"
kill -STOP "${PID[$old]}"
touch "$T/go"

wait_leader 3000 "$old"
new=$LEADER
read_status "$new" term
new_term=$STATUS_VALUE
log "n$new leads in term $new_term while n$old is stopped"
[ "$new_term" -gt "$old_term" ] || fail "new term $new_term is not above $old_term"
rkc -e "$(ep "$new")" put during 2 >/dev/null || fail "put through the new leader failed"

kill -CONT "${PID[$old]}"
follows_new() {
        [ "$(status_field "$old" role)" = follower ] &&
                [ "$(status_field "$old" leader)" = "n$new" ]
}
wait_until 3000 "n$old to step down and follow n$new" follows_new
read_status "$old" term
[ "$STATUS_VALUE" -ge "$new_term" ] || fail "n$old did not adopt the new term"

wait "$put_pid"
put_rc=$?
log "the write sent to the isolated leader: rc=$put_rc $(cat "$T/isolated.out")"
if [ "$put_rc" -eq 0 ]; then
        for i in 1 2 3; do
                got=$(rkc -e "$(ep "$i")" get isolated) ||
                        fail "an acknowledged write is missing through n$i"
                [ "$got" = x ] || fail "isolated through n$i: '$got'"
        done
else
        grep -q -E 'ABORTED|UNAVAILABLE|DEADLINE_EXCEEDED' "$T/isolated.out" ||
                fail "unexpected failure of the isolated write: $(cat "$T/isolated.out")"
        for i in 1 2 3; do
                if rkc -e "$(ep "$i")" get isolated >/dev/null 2>&1; then
                        fail "a write that was refused is readable through n$i"
                fi
        done
        wait_until 3000 "n$old to apply what n$new committed" caught_up "$old" "$new"
        if rkc -e "$(ep "$old")" get isolated --stale >/dev/null 2>&1; then
                fail "n$old still applies the write it took while isolated"
        fi
fi

same_last() {
        local a b c
        a=$(status_field 1 last) b=$(status_field 2 last) c=$(status_field 3 last)
        [ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ] && caught_up "$old" "$new"
}
wait_until 3000 "every log to end at the same index" same_last
for k in before during; do
        rkc -e "$(ep "$old")" get "$k" --stale >/dev/null ||
                fail "n$old lacks committed key $k after rejoining"
done

for i in 1 2 3; do stop_node "$i"; done
for i in 1 2 3; do
        "$RAFKTORD" --verify-data "$T/n$i" > "$T/verify-n$i.out" 2>&1 ||
                fail "--verify-data $T/n$i: $(cat "$T/verify-n$i.out")"
done
echo "PASS: $TEST_NAME"
