#!/bin/bash
# tests/integration/test-status-commit.sh: the sd_notify STATUS= line follows the commit
# index: after an acknowledged write, a STATUS= naming that commit index (or a later one)
# arrives within 2 s (a commit refreshes it at most every 250 ms; it used to wait for the
# 5 s periodic refresh, so "commit 0" was shown right after a write committed), and a
# stream of 2000 writes does not flood the service manager (at most one STATUS= per
# 250 ms, plus role changes).
. "$top_srcdir/tests/integration/lib.sh"

[ -x "$NOTIFY_LISTEN" ] || fail "$NOTIFY_LISTEN is not built"
cluster_init 1
"$NOTIFY_LISTEN" "$T/notify.sock" > "$T/notify.out" 2> "$T/notify.log" &
EXTRA_PIDS+=("$!")
wait_until 3000 "the notify socket to exist" test -S "$T/notify.sock"
export NOTIFY_SOCKET=$T/notify.sock
start_node 1
unset NOTIFY_SOCKET
wait_leader 5000
wait_until 3000 "READY=1" grep -q '^READY=1$' "$T/notify.out"

# highest_commit: the largest "commit N" of any STATUS= so far.
highest_commit() {
        sed -n 's/^STATUS=.*, commit \([0-9]*\),.*/\1/p' "$T/notify.out" | sort -n | tail -n 1
}
# The property is the time itself, so the 2 s are not stretched under sanitizers.
commit_shown_within() {
        local want=$1 deadline=$(( $(now_ms) + $2 )) c
        while :; do
                c=$(highest_commit)
                [ -n "$c" ] && [ "$c" -ge "$want" ] && return 0
                [ "$(now_ms)" -ge "$deadline" ] && return 1
                sleep 0.02
        done
}

out=$(rkc -e "$(ep 1)" put k1 v1) || fail "put failed: $out"
index=$(echo "$out" | sed -n 's/.*index=\([0-9]*\).*/\1/p')
[ -n "$index" ] || fail "no index in: $out"
t0=$(now_ms)
commit_shown_within "$index" 2000 || fail "no STATUS= with commit >= $index within 2 s" \
        "of the write (last: $(grep '^STATUS=' "$T/notify.out" | tail -n 1))"
log "STATUS= shows commit $(highest_commit) $(( $(now_ms) - t0 )) ms after the write at" \
    "index $index was acknowledged"

n0=$(grep -c '^STATUS=' "$T/notify.out")
t0=$(now_ms)
"$RKC_BIN" -t 5000 -e "$(ep 1)" load --prefix s- --count 2000 --inflight 8 --quiet \
        2> "$T/load.log" || fail "load failed: $(tail -n 3 "$T/load.log")"
ms=$(( $(now_ms) - t0 ))
out=$(rkc -e "$(ep 1)" put last x) || fail "put failed: $out"
index=$(echo "$out" | sed -n 's/.*index=\([0-9]*\).*/\1/p')
commit_shown_within "$index" 2000 || fail "the last commit $index was not shown within 2 s"
n=$(( $(grep -c '^STATUS=' "$T/notify.out") - n0 ))
max=$(( (ms + 2000) / 250 + 2 ))
log "$n STATUS= lines for 2000 writes in $ms ms (at most $max allowed)"
[ "$n" -le "$max" ] || fail "$n STATUS= lines in $ms ms: not throttled to one per 250 ms"
[ "$n" -ge 1 ] || fail "no STATUS= during the writes"
stop_node 1
echo "PASS: $TEST_NAME"
