#!/bin/bash
# tests/unit/cli/live-cluster.sh: raftctl against a live three-node rafktord cluster on
# loopback: every command, one-shot and piped into the shell, in the three output formats,
# with the documented exit codes (3 not found, 4 compare failed, 5 unreachable, 6 no leader,
# 7 not supported, 8 timed out, 9 permission denied).
#
# Owns: these checks only; the cluster comes from tests/integration/lib.sh (its processes,
# ports, temp dir and clean-up). Every wait is a condition with a deadline (lib.sh's
# wait_until), never a fixed sleep.
. "$top_srcdir/tests/integration/lib.sh"

# "no leader" must come from the node (1 s) before raftctl's own deadline (3 s). Long
# election timeouts: the test compares answers with the leader it found, so a busy
# machine (make -j2 check under sanitizers) must not move the leadership by itself.
EXTRA_CONFIG='request_timeout_ms = 1000; election_timeout_min_ms = 1000; election_timeout_max_ms = 2000;'
cluster_init 3
start_node 1; start_node 2; start_node 3
wait_leader 5000
L=n$LEADER
E=$(all_eps)
log "leader $L"

# expect CODE CMD...: run CMD, its stdout in $out and stderr in $err; fail unless it exits
# with CODE.
expect() {
        local want=$1 rc=0
        shift
        "$@" > "$T/out" 2> "$T/err" || rc=$?
        out=$(cat "$T/out")
        err=$(cat "$T/err")
        [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want; stdout: $out; stderr: $err"
}
has() { case "$1" in *"$2"*) return 0 ;; esac; fail "expected '$2' in: $1"; }
count() { printf '%s\n' "$1" | grep -c -- "$2"; }

# status: a row per endpoint, one leader that all name; JSON and --all; the admin socket.
expect 0 raftctl -e "$E" -w plain status
[ "$(count "$out" .)" -eq 3 ] || fail "status plain: expected 3 rows: $out"
[ "$(printf '%s\n' "$out" | awk -F'\t' '$4 == "leader"' | wc -l)" -eq 1 ] ||
        fail "status plain: expected one leader: $out"
[ "$(printf '%s\n' "$out" | awk -F'\t' -v l="$L" '$6 == l' | wc -l)" -eq 3 ] ||
        fail "status plain: not every node names $L: $out"
expect 0 raftctl -e "$E" status
has "$out" "ENDPOINT"
has "$out" "follower"
expect 0 raftctl -e "$E" --json status
[ "$(count "$out" '"role": "leader"')" -eq 1 ] || fail "status json: one leader: $out"
for f in id role term leader commit_index applied_index last_index; do
        [ "$(count "$out" "\"$f\": ")" -ge 3 ] || fail "status json: field $f missing: $out"
done
expect 0 raftctl -e "$(ep 2)" status --all --json
[ "$(count "$out" '"endpoint": ')" -eq 3 ] || fail "status --all: 3 members: $out"
has "$out" '"match_index": '
expect 0 raftctl -e "$(admin_ep 1)" -w plain status
has "$out" "$(printf '\tn1\t')"

# leader and members.
expect 0 raftctl -e "$E" -w plain leader
[ "${out%%$'\t'*}" = "$L" ] || fail "leader plain: '$out', expected $L"
expect 0 raftctl -e "$(ep 3)" --json leader
has "$out" "\"leader_id\": \"$L\""
expect 0 raftctl -e "$E" leader
has "$out" "ADDRESS"
expect 0 raftctl -e "$E" -w plain members
for i in 1 2 3; do has "$out" "n$i	$(ep "$i")	voter"; done
expect 0 raftctl -e "$E" --json members
[ "$(count "$out" '"voter": true')" -eq 3 ] || fail "members json: $out"
expect 0 raftctl -e "$E" members
has "$out" "ROLE"

# Writes through every node (followers forward), reads through every node.
for i in 1 2 3; do
        expect 0 raftctl -e "$(ep "$i")" put "live/k$i" "value $i"
        has "$out" "VERSION"
done
for i in 1 2 3; do
        for k in 1 2 3; do
                expect 0 raftctl -e "$(ep "$i")" -w plain get "live/k$k"
                [ "$out" = "value $k" ] || fail "get live/k$k through n$i: '$out'"
        done
done
expect 0 raftctl -e "$E" --json get live/k1
has "$out" '"value": "value 1"'
expect 0 raftctl -e "$E" get live/k1 --stale
has "$out" "value 1"

# A binary value from stdin round-trips byte for byte.
head -c 2048 /dev/urandom > "$T/blob"
raftctl -e "$E" put live/blob - < "$T/blob" > /dev/null || fail "put from stdin failed"
raftctl -e "$E" -w plain get live/blob > "$T/blob.back" || fail "get blob failed"
cmp -s "$T/blob" "$T/blob.back" || fail "the binary value did not round-trip"

# cas on value and version; failures.
expect 0 raftctl -e "$E" cas live/k1 "value 1" "value 1b"
expect 4 raftctl -e "$E" cas live/k1 "value 1" "value 1c"
has "$err" "compare failed"
expect 0 raftctl -e "$E" -w plain cas live/new --version 0 fresh
expect 4 raftctl -e "$E" cas live/new --version 0 again
expect 0 raftctl -e "$E" --json cas live/new --version 1 second
has "$out" '"version": 2'

# range, delete, missing keys.
expect 0 raftctl -e "$E" -w plain range live/k
[ "$(count "$out" '^live/k')" -eq 3 ] || fail "range plain: $out"
expect 0 raftctl -e "$E" --json range live/ --limit 2
has "$out" '"more": true'
expect 0 raftctl -e "$E" range live/k
has "$out" "MOD_INDEX"
expect 0 raftctl -e "$E" delete live/k3
has "$out" "true"
expect 3 raftctl -e "$E" delete live/k3
expect 3 raftctl -e "$E" get live/k3
has "$err" "not found"

# The log, decoded: configuration, noop, the writes with their sessions.
expect 0 raftctl -e "$E" log
has "$out" "configuration n1=$(ep 1) (voter)"
has "$out" "noop"
has "$out" "put live/k1=value 1 [client "
has "$out" "cas live/k1 if value=value 1 then value 1b"
has "$out" "cas live/new if version=0 then fresh"
has "$out" "delete live/k3"
expect 0 raftctl -e "$E" --json log 1 3
[ "$(count "$out" '"index": ')" -eq 3 ] || fail "log 1 3: three entries: $out"
expect 0 raftctl -e "$E" -w plain log 1 1
has "$out" "$(printf '1\t')"

# Admin mutations: refused over TCP (9); on the admin socket a follower refuses membership
# changes naming the leader (1), the leader's core refuses nonsense (2), transfer-leader
# moves the leader.
for c in "member add n4 127.0.0.1:1" "member remove n3" "member promote n3" \
         "transfer-leader n2" "snapshot"; do
        # shellcheck disable=SC2086
        expect 9 raftctl -e "$E" $c
        has "$err" "permission denied: admin mutations are accepted only on the local admin socket"
done
F_ONE=$(( LEADER % 3 + 1 ))
expect 1 raftctl -e "$(admin_ep "$F_ONE")" member add n4 127.0.0.1:1
has "$err" "n$F_ONE is not the leader; the leader is n$LEADER"
expect 2 raftctl -e "$(admin_ep "$LEADER")" member promote "n$F_ONE"
has "$err" "n$F_ONE"
expect 2 raftctl -e "$(admin_ep "$LEADER")" member remove n9
has "$err" "n9"
expect 0 raftctl -e "$(admin_ep "$LEADER")" member list
T_TO=$(( LEADER % 3 + 1 ))
expect 0 raftctl -e "$(admin_ep "$LEADER")" --json transfer-leader "n$T_TO"
has "$out" "\"leader_id\": \"n$T_TO\""
wait_leader 5000 "$LEADER"
[ "$LEADER" -eq "$T_TO" ] || fail "transfer-leader n$T_TO: the agreed leader is n$LEADER"
L=n$LEADER

# The shell, reading a script from a pipe: every line runs, errors do not stop it.
printf 'put live/sh "two words"\nstauts\nget live/sh -w plain\nget live/none\nleader --json\n' |
        raftctl -e "$E" > "$T/out" 2> "$T/err"
rc=$?
[ "$rc" -eq 3 ] || fail "piped shell exited $rc, expected 3 (the last failure)"
has "$(cat "$T/err")" "did you mean 'status'?"
has "$(cat "$T/out")" "two words"
has "$(cat "$T/out")" "\"leader_id\": \"$L\""

# Nothing listens: 5.
expect 5 raftctl -e "127.0.0.1:$(free_port)" get live/k1
has "$err" "unreachable"

# One node left, no leader: 6, also with a short deadline of ours (the node answers "no
# leader" a little before the caller's deadline); 8 when the node does not answer at all.
S=$(( LEADER % 3 + 1 ))
for i in 1 2 3; do [ "$i" -eq "$S" ] || kill_node "$i"; done
role_is_candidate() {
        [ "$(raftctl -e "$(ep "$S")" -w plain status 2>/dev/null | cut -f4)" = candidate ]
}
wait_until 10000 "n$S to become a candidate" role_is_candidate
expect 6 raftctl -e "$(ep "$S")" --timeout 3s put live/lonely 1
has "$err" "no leader"
expect 6 raftctl -e "$(ep "$S")" --timeout 300ms put live/lonely 2
has "$err" "no leader"
kill -STOP "${PID[$S]}"
wait_until 2000 "n$S to be stopped" is_stopped "$S"
expect 8 raftctl -e "$(ep "$S")" --timeout 200ms put live/lonely 3
has "$err" "timed out (the outcome of a write is unknown)"
kill -CONT "${PID[$S]}"
expect 6 raftctl -e "$(ep "$S")" leader

stop_node "$S"
echo "PASS: $TEST_NAME"
