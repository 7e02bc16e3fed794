#!/bin/bash
# tests/integration/test-snapshot-rejoin.sh: a follower kept down while the others write and
# compact their logs rejoins by InstallSnapshot (the leader no longer holds the entries it
# misses) and then serves every acknowledged write from its own state machine.
#
# Small thresholds (config): a snapshot once the log since the last one passes 16 KiB,
# 1 MiB segments (compaction deletes whole segments), 10 entries kept behind a snapshot.
. "$top_srcdir/tests/integration/lib.sh"

[ -x "$RAFTCTL" ] || { echo "ERROR: $RAFTCTL is not built"; exit 99; }
EXTRA_CONFIG='snapshot_min_bytes = "16KiB"; snapshot_factor = 1; snapshot_trailing = 10;
segment_size = "1MiB"; max_message_size = "512KiB";'
cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000
down=$(( LEADER % 3 + 1 ))
log "leader n$LEADER; n$down is stopped while the others write"
rkc -t 5000 -e "$(ep "$LEADER")" put before-stop yes > "$T/acks0" ||
        fail "a put before the stop failed"
wait_until 10000 "n$down to apply the first put" caught_up "$down" "$LEADER"
stop_node "$down"

: > "$T/acks"
rkc -t 5000 -e "$(ep "$LEADER")" load --prefix snap- --count 25000 --inflight 32 \
        > "$T/acks" 2> "$T/load.log" || fail "load: $(tail -n 3 "$T/load.log")"
n_acks=$(grep -c '^ack ' "$T/acks")
log "$n_acks writes acknowledged while n$down was down"
[ "$n_acks" -ge 25000 ] || fail "only $n_acks of 25000 writes acknowledged"

# The leader compacted: the policy wrote snapshots during the load, and one more now covers
# every write on both running members (`raftctl snapshot`, unless the policy's last one
# already does), so their first segments go and their logs start after what n$down holds.
snaps() { ls "$T/n$1"/*.snap 2> /dev/null | wc -l; }
has_snap() { [ "$(snaps "$1")" -ge 1 ]; }
grep -q "snapshot of index .* written" "$T/n$LEADER.log" ||
        fail "n$LEADER logged no snapshot written by the policy"
for i in 1 2 3; do
        [ "$i" = "$down" ] && continue
        wait_until 10000 "n$i to catch up with n$LEADER" caught_up "$i" "$LEADER"
        out=$(raftctl -e "$(admin_ep "$i")" snapshot 2>&1) ||
                echo "$out" | grep -q "nothing was applied" || fail "raftctl snapshot: $out"
        has_snap "$i" || fail "n$i holds no snapshot file"
done
# ... and deleted the segments the snapshot covers (its first one).
compacted() { [ ! -e "$T/n$LEADER/0000000000000001.seg" ]; }
wait_until 10000 "n$LEADER to delete its first segment" compacted

start_node "$down"
# Whoever leads by now (a loaded machine may have moved the leadership) sends it.
sent() { grep -q "snapshot of index .* sent to n$down" "$T"/n*.log; }
wait_until 20000 "a leader to send a snapshot to n$down" sent
wait_leader 5000
grep -q "state machine restored from the snapshot of index" "$T/n$down.log" ||
        fail "n$down did not restore a snapshot"
wait_until 20000 "n$down to catch up with n$LEADER" caught_up "$down" "$LEADER"
cat "$T/acks0" >> "$T/acks"
out=$(rkc -t 5000 -e "$(ep "$down")" verify "$T/acks" --stale) ||
        fail "n$down lacks acknowledged writes: $out"
out=$(rkc -t 5000 -e "$(ep "$LEADER")" verify "$T/acks") ||
        fail "the leader lacks acknowledged writes: $out"
has_snap "$down" || fail "n$down holds no snapshot file after installing one"

# A restart of the rejoined node starts from the installed snapshot.
stop_node "$down"
start_node "$down"
wait_until 20000 "n$down to catch up after its restart" caught_up "$down" "$LEADER"
out=$(rkc -t 5000 -e "$(ep "$down")" verify "$T/acks" --stale) ||
        fail "n$down lacks acknowledged writes after its restart: $out"
echo "PASS: $TEST_NAME"
