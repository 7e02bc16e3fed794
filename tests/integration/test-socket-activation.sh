#!/bin/bash
# tests/integration/test-socket-activation.sh: three rafktord started by
# systemd-socket-activate with a TCP socket (peer and client port) and a unix socket (the
# admin endpoint) each: they elect a leader and serve puts over TCP and gets over the
# inherited unix socket; the first node also talks to a stand-in notify socket: READY=1,
# STATUS= naming the leader, WATCHDOG=1 at half of WATCHDOG_USEC, and STOPPING=1 with a
# clean exit 0 on SIGTERM; activated again, it recovers its data.
. "$top_srcdir/tests/integration/lib.sh"

command -v systemd-socket-activate >/dev/null ||
        skip "systemd-socket-activate is not installed (package systemd)"
[ -x "$NOTIFY_LISTEN" ] || fail "$NOTIFY_LISTEN is not built"

cluster_init 3
"$NOTIFY_LISTEN" "$T/notify.sock" > "$T/notify.out" 2> "$T/notify.log" &
EXTRA_PIDS+=("$!")
wait_until 3000 "the notify socket to exist" test -S "$T/notify.sock"

# The activator passes no environment but -E's: hand the sanitizer settings on.
env_args=()
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
        [ -n "${!v:-}" ] && env_args+=(-E "$v=${!v}")
done

# activate I [-E VAR=VALUE...]: rafktord for nI behind systemd-socket-activate.
activate() {
        local i=$1
        shift
        echo "=== activate $(date +%T.%3N)" >> "$T/n$i.log"
        systemd-socket-activate -l "127.0.0.1:${PORT[$i]}" -l "$T/n$i.sock" \
                "${env_args[@]}" "$@" "$RAFKTORD" -c "$T/n$i.conf" >> "$T/n$i.log" 2>&1 &
        PID[$i]=$!
        # The first connection makes the activator exec rafktord with the sockets.
        wait_until 10000 "n$i to be activated and answer" node_answers "$i"
}

activate 1 -E "NOTIFY_SOCKET=$T/notify.sock" -E WATCHDOG_USEC=200000
activate 2
activate 3
wait_leader 5000
log "leader n$LEADER"
for i in 1 2 3; do
        grep -q "serving on 1 inherited TCP socket and 1 inherited unix socket" "$T/n$i.log" ||
                fail "n$i does not serve the inherited sockets"
done

for i in 1 2 3; do
        rkc -e "$(ep "$i")" put "sa-$i" "v$i" >/dev/null || fail "put through n$i over TCP failed"
done
for i in 1 2 3; do
        for k in 1 2 3; do
                got=$(rkc -e "$(admin_ep "$i")" get "sa-$k") ||
                        fail "get sa-$k through n$i's inherited unix socket failed"
                [ "$got" = "v$k" ] || fail "sa-$k through n$i: '$got'"
        done
done

# sd_notify from n1.
wait_until 3000 "READY=1" grep -q '^READY=1$' "$T/notify.out"
wait_until 3000 "STATUS= naming leader n$LEADER" \
        grep -q "^STATUS=.*, term [0-9]*, commit [0-9]*, leader n$LEADER\$" "$T/notify.out"
watchdogs_at_least() { [ "$(grep -c '^WATCHDOG=1$' "$T/notify.out")" -ge "$1" ]; }
t0=$(now_ms)
n0=$(grep -c '^WATCHDOG=1$' "$T/notify.out")
wait_until 2000 "WATCHDOG=1 every 100 ms" watchdogs_at_least $(( n0 + 5 ))
log "5 WATCHDOG=1 in $(( $(now_ms) - t0 )) ms (expected about 500)"

stop_node 1
wait_until 3000 "STOPPING=1" grep -q '^STOPPING=1$' "$T/notify.out"
grep -q "received SIGTERM, stopping" "$T/n1.log" || fail "n1 did not log the SIGTERM"

# Activated again: recovers its log and catches up.
wait_leader 5000 1
rkc -e "$(ep 2),$(ep 3)" put sa-after v-after --retry-ms 3000 >/dev/null ||
        fail "put with n1 down failed"
activate 1
wait_caught_up 10000 1 "$LEADER"
got=$(rkc -e "$(admin_ep 1)" get sa-after --stale) || fail "n1 lacks sa-after after recovery"
[ "$got" = v-after ] || fail "sa-after on n1: '$got'"

for i in 1 2 3; do stop_node "$i"; done
for i in 1 2 3; do
        "$RAFKTORD" --verify-data "$T/n$i" > "$T/verify-n$i.out" 2>&1 ||
                fail "--verify-data $T/n$i: $(cat "$T/verify-n$i.out")"
done
echo "PASS: $TEST_NAME"
