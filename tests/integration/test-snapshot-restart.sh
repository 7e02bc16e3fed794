#!/bin/bash
# tests/integration/test-snapshot-restart.sh: every member restarts from its newest snapshot
# plus the log after it (contract: the file holds the state machine, the core's base, the
# vote and the log tail): after writes that made each member snapshot and compact, all three
# are stopped (two by SIGTERM, one by SIGKILL) and started again; every acknowledged write
# is readable through the leader and from every member's own state machine, and every data
# directory verifies intact.
. "$top_srcdir/tests/integration/lib.sh"

[ -x "$RAFTCTL" ] || { echo "ERROR: $RAFTCTL is not built"; exit 99; }
EXTRA_CONFIG='snapshot_min_bytes = "16KiB"; snapshot_factor = 1; snapshot_trailing = 10;
segment_size = "1MiB"; max_message_size = "512KiB";'
cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000

: > "$T/acks"
rkc -t 5000 -e "$(ep "$LEADER")" load --prefix r1- --count 25000 --inflight 32 \
        >> "$T/acks" 2> "$T/load.log" || fail "load: $(tail -n 3 "$T/load.log")"
has_snap() { ls "$T/n$1"/*.snap > /dev/null 2>&1; }
# Each member snapshots everything it applied (unless the policy's last one covers it).
for i in 1 2 3; do
        wait_until 20000 "n$i to catch up with n$LEADER" caught_up "$i" "$LEADER"
        out=$(raftctl -e "$(admin_ep "$i")" snapshot 2>&1) ||
                echo "$out" | grep -q "nothing was applied" || fail "raftctl snapshot: $out"
        has_snap "$i" || fail "n$i holds no snapshot file"
done
# The covered segments went: the first segment of the leader's log no longer exists. A
# snapshot taken while that segment was still the one being written cannot delete it (a
# slow, sanitized run can take its last policy snapshot then): each poll writes one more
# key and asks for a snapshot, which covers a later segment. The nudges are not in acks.
compacted() {
        [ ! -e "$T/n$LEADER/0000000000000001.seg" ] && return 0
        raftctl -e "$(ep "$LEADER")" put snapshot-nudge x > /dev/null 2>&1
        raftctl -e "$(admin_ep "$LEADER")" snapshot > /dev/null 2>&1
        [ ! -e "$T/n$LEADER/0000000000000001.seg" ]
}
wait_until 20000 "n$LEADER to delete its first segment after a snapshot" compacted
# A tail after the newest snapshots (entries the snapshot files do not cover).
rkc -t 5000 -e "$(ep "$LEADER")" load --prefix r2- --count 300 --inflight 4 \
        >> "$T/acks" 2> "$T/load2.log" || fail "load: $(tail -n 3 "$T/load2.log")"
n_acks=$(grep -c '^ack ' "$T/acks")
[ "$n_acks" -eq 25300 ] || fail "$n_acks of 25300 writes acknowledged"
for i in 1 2 3; do
        wait_until 10000 "n$i to catch up with n$LEADER" caught_up "$i" "$LEADER"
done

stop_node 1
kill_node 2
stop_node 3
for i in 1 2 3; do start_node "$i"; done
for i in 1 2 3; do
        grep -q "loaded the snapshot of index" "$T/n$i.log" ||
                fail "n$i did not start from a snapshot"
done
wait_leader 5000
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
