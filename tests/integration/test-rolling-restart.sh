#!/bin/bash
# tests/integration/test-rolling-restart.sh: restart every node in turn (SIGTERM, clean
# exit 0, start again) while a stream of writes goes on: every acknowledged write reads
# back through the leader and from each node's own state machine, and every data
# directory verifies intact (rafktord --verify-data exits 0) after the final stop.
. "$top_srcdir/tests/integration/lib.sh"

cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000

: > "$T/acks"
# Far more writes than the test needs: the stream is stopped after the last restart, and
# only the writes acknowledged by then are checked.
"$RKC_BIN" -t 2000 -e "$(all_eps)" load --prefix roll- --count 1000000 --inflight 2 \
        > "$T/acks" 2> "$T/load.log" &
load_pid=$!
EXTRA_PIDS+=("$load_pid")
n_acks() { grep -c '^ack ' "$T/acks"; }
acks_at_least() { [ "$(n_acks)" -ge "$1" ]; }

for i in 1 2 3; do
        target=$(( $(n_acks) + 150 ))
        wait_until 15000 "$target acknowledged writes" acks_at_least "$target"
        log "restart n$i at $(n_acks) acknowledged writes"
        stop_node "$i"
        start_node "$i"
        wait_leader 5000
        wait_caught_up 10000 "$i" "$LEADER"
done

target=$(( $(n_acks) + 150 ))
wait_until 15000 "$target acknowledged writes" acks_at_least "$target"
kill -TERM "$load_pid"
wait "$load_pid"
log "$(n_acks) writes acknowledged"
out=$(rkc -t 5000 -e "$(ep "$LEADER")" verify "$T/acks") ||
        fail "acknowledged writes lost: $out"
for i in 1 2 3; do
        wait_until 10000 "n$i to catch up with n$LEADER" caught_up "$i" "$LEADER"
        out=$(rkc -t 5000 -e "$(ep "$i")" verify "$T/acks" --stale) ||
                fail "n$i's state machine lacks acknowledged writes: $out"
done

for i in 1 2 3; do stop_node "$i"; done
for i in 1 2 3; do
        "$RAFKTORD" --verify-data "$T/n$i" > "$T/verify-n$i.out" 2>&1 ||
                fail "--verify-data $T/n$i: $(cat "$T/verify-n$i.out")"
        grep -q "verdict: intact" "$T/verify-n$i.out" ||
                fail "--verify-data $T/n$i: $(cat "$T/verify-n$i.out")"
done
echo "PASS: $TEST_NAME"
