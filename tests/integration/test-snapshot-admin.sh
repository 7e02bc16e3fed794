#!/bin/bash
# tests/integration/test-snapshot-admin.sh: `raftctl snapshot` against a live member: it
# answers with the index, term and size of the snapshot it wrote (the file is there, of that
# size), refuses a second one when nothing was applied since, refuses over TCP (admin
# mutations are local only), and the member restarts from that snapshot with every write.
. "$top_srcdir/tests/integration/lib.sh"

[ -x "$RAFTCTL" ] || { echo "ERROR: $RAFTCTL is not built"; exit 99; }
cluster_init 3

# The snapshot keys are checked at start (rafktor.conf(5)): file, line, key, range, value.
bad_value() {
        local rc=0 out
        cp "$T/n1.conf" "$T/bad.conf"
        echo "$1" >> "$T/bad.conf"
        out=$("$RAFKTORD" -c "$T/bad.conf" --check-config 2>&1) || rc=$?
        [ "$rc" -eq 1 ] || fail "'$1' was accepted (exit $rc): $out"
        echo "$out" | grep -q "bad.conf:[0-9]*: $2" || fail "'$1': unexpected refusal: $out"
}
bad_value 'snapshot_factor = 0;' 'snapshot_factor: expected 0.1..1000, got 0'
bad_value 'snapshot_min_bytes = "1KiB";' 'snapshot_min_bytes: expected 4KiB..'
bad_value 'snapshot_trailing = -1;' 'snapshot_trailing: expected 0..100000000, got -1'
bad_value 'snapshot_trailing = "x";' 'snapshot_trailing: expected an integer'
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000
f=$(( LEADER % 3 + 1 ))

: > "$T/acks"
rkc -t 5000 -e "$(ep "$LEADER")" load --prefix adm- --count 500 --inflight 8 \
        > "$T/acks" 2> "$T/load.log" || fail "load: $(tail -n 3 "$T/load.log")"
wait_until 10000 "n$f to catch up with n$LEADER" caught_up "$f" "$LEADER"
read_status "$f" applied
applied=$STATUS_VALUE

out=$(raftctl -e "$(admin_ep "$f")" --json snapshot 2>&1) || fail "raftctl snapshot: $out"
index=$(echo "$out" | sed -n 's/.*"index": *\([0-9]*\).*/\1/p')
size=$(echo "$out" | sed -n 's/.*"size_bytes": *\([0-9]*\).*/\1/p')
log "raftctl snapshot on n$f: $out"
[ -n "$index" ] && [ "$index" -ge "$applied" ] ||
        fail "snapshot index '$index', expected at least n$f's applied index $applied"
file=$(ls "$T/n$f"/*.snap 2> /dev/null | tail -n 1)
[ -n "$file" ] || fail "no snapshot file in $T/n$f"
[ "$(stat -c %s "$file")" = "$size" ] ||
        fail "$file is $(stat -c %s "$file") bytes, raftctl said $size"
grep -q "snapshot of index $index .* written" "$T/n$f.log" ||
        fail "n$f did not log the snapshot of index $index"

rc=0
out=$(raftctl -e "$(admin_ep "$f")" snapshot 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "a second snapshot with nothing applied since succeeded: $out"
echo "$out" | grep -q "nothing was applied" || fail "unexpected refusal: $out"

rc=0
out=$(raftctl -e "$(ep "$f")" snapshot 2>&1) || rc=$?
[ "$rc" -eq 9 ] || fail "raftctl snapshot over TCP exited $rc (expected 9): $out"

stop_node "$f"
start_node "$f"
grep -q "loaded the snapshot of index $index" "$T/n$f.log" ||
        fail "n$f did not start from the snapshot of index $index"
wait_until 10000 "n$f to catch up with n$LEADER" caught_up "$f" "$LEADER"
out=$(rkc -t 5000 -e "$(ep "$f")" verify "$T/acks" --stale) ||
        fail "n$f lacks acknowledged writes after its restart: $out"
echo "PASS: $TEST_NAME"
