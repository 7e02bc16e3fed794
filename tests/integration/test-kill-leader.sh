#!/bin/bash
# tests/integration/test-kill-leader.sh: kill -9 the leader during a stream of writes: the
# two others elect a new leader within 1 s, every write that was acknowledged (before,
# during and after the failover) reads back with its value, and the restarted node
# catches up and serves the same data from its own state machine.
. "$top_srcdir/tests/integration/lib.sh"

cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000
old=$LEADER
log "leader n$old"

: > "$T/acks"
"$RKC_BIN" -t 2000 -e "$(all_eps)" load --prefix kill- --count 1500 --inflight 4 \
        > "$T/acks" 2> "$T/load.log" &
load_pid=$!
EXTRA_PIDS+=("$load_pid")
acks_at_least() { [ "$(grep -c '^ack ' "$T/acks")" -ge "$1" ]; }
wait_until 10000 "200 acknowledged writes before the kill" acks_at_least 200

t0=$(now_ms)
kill_node "$old"
wait_leader 3000 "$old"
polled=$(( $(now_ms) - t0 ))
# The election time is read from the new leader's own log line ("nX: leader in term T"),
# so the polling clients' start-up (slow under sanitizers) does not count.
read_status "$LEADER" term
term=$STATUS_VALUE
line=$(grep "n$LEADER: leader in term $term," "$T/n$LEADER.log" | tail -n 1)
if [ -n "$line" ]; then
        elapsed=$(( $(date -d "${line%% *}" +%s%3N) - t0 ))
else
        elapsed=$polled
fi
log "n$LEADER leads in term $term $elapsed ms after kill -9 of n$old" \
    "(seen by polling after $polled ms)"
[ "$elapsed" -le 1000 ] || fail "new leader after $elapsed ms, expected within 1000 ms"
n_before=$(grep -c '^ack ' "$T/acks")

wait "$load_pid" || fail "the write stream failed: $(tail -n 3 "$T/load.log")"
n_acked=$(grep -c '^ack ' "$T/acks")
log "load: $(tail -n 1 "$T/load.log"); $n_before acknowledged at the failover"
[ "$n_acked" -eq 1500 ] || fail "$n_acked of 1500 writes acknowledged"

out=$(rkc -t 5000 -e "$(ep "$LEADER")" verify "$T/acks") ||
        fail "acknowledged writes lost after the failover: $out"
log "through the new leader: $out"

start_node "$old"
wait_until 10000 "n$old to catch up with n$LEADER" caught_up "$old" "$LEADER"
out=$(rkc -t 5000 -e "$(ep "$old")" verify "$T/acks" --stale) ||
        fail "the restarted n$old does not hold every acknowledged write: $out"
log "restarted n$old, local reads: $out"

for i in 1 2 3; do stop_node "$i"; done
for i in 1 2 3; do
        "$RAFKTORD" --verify-data "$T/n$i" > "$T/verify-n$i.out" 2>&1 ||
                fail "--verify-data $T/n$i: $(cat "$T/verify-n$i.out")"
done
echo "PASS: $TEST_NAME"
