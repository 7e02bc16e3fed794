#!/bin/bash
# tests/integration/test-bad-input.sh: bad input gets a clear gRPC error and the cluster
# keeps serving: a malformed protobuf on every RaftService RPC (unary and streams) and on
# KV and Admin calls answers INVALID_ARGUMENT (InstallSnapshot: UNIMPLEMENTED until
# snapshots exist), a well-formed vote from a non-member reaches the core, which ignores it
# while the follower hears from its leader (thesis 4.1 and 4.2.3: unanswered), an
# unknown method UNIMPLEMENTED at once, a message above max_message_size
# RESOURCE_EXHAUSTED; afterwards every node runs, the leader is unchanged and writes work.
. "$top_srcdir/tests/integration/lib.sh"

# Long election timeouts: a busy machine (make -j2 check, sanitizers) must not move the
# leadership by itself, since the test checks that bad input does not.
EXTRA_CONFIG='election_timeout_min_ms = 1000; election_timeout_max_ms = 2000;'
cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000
leader=$LEADER
read_status "$leader" term
term=$STATUS_VALUE
follower=$(( leader % 3 + 1 ))
log "leader n$leader in term $term; sending bad input to n$follower and n$leader"

# expect_code I PATTERN RKC-RAW-ARGS...: a raw call to nI answers a code matching PATTERN.
expect_code() {
        local i=$1 want=$2 out
        shift 2
        out=$(rkc -t 3000 -e "$(ep "$i")" raw "$@") || fail "raw $* to n$i: $out"
        [[ "$out" =~ ^code=($want)\  ]] || fail "raw $* to n$i: '$out', expected code $want"
        log "n$i $1: $out"
}

garbage=ffffffff0f      # a tag with field number 2^29-1 and wire type 7: not protobuf
for i in "$follower" "$leader"; do
        for m in AppendEntries RequestVote TimeoutNow; do
                expect_code "$i" INVALID_ARGUMENT "/raftgrpc.RaftService/$m" --hex "$garbage"
        done
        expect_code "$i" INVALID_ARGUMENT /raftgrpc.RaftService/AppendEntriesPipeline \
                --hex "$garbage" --stream
        expect_code "$i" "INVALID_ARGUMENT|UNIMPLEMENTED" /raftgrpc.RaftService/InstallSnapshot \
                --hex "$garbage" --stream
        for m in rafktor.v1.KV/Put rafktor.v1.KV/Get rafktor.v1.Admin/Status; do
                expect_code "$i" INVALID_ARGUMENT "/$m" --hex "$garbage"
        done
done

# RequestVoteRequest{term: 1000, candidate: "n9"}: well formed, from a non-member: not
# refused (it may be a server this node has not heard of yet), ignored by the core while
# the follower has a leader, so the call runs into its deadline and no term moves.
expect_code "$follower" DEADLINE_EXCEEDED /raftgrpc.RaftService/RequestVote --hex 08e80712026e39

t0=$(now_ms)
expect_code "$follower" UNIMPLEMENTED /rafktor.v1.KV/NoSuchMethod --hex ""
[ $(( $(now_ms) - t0 )) -lt 1500 ] || fail "an unknown method was not answered at once"

# Default max_message_size is 4 MiB: 5 MiB is refused, to clients and peers alike.
expect_code "$follower" RESOURCE_EXHAUSTED /rafktor.v1.KV/Put --zeros 5242880
expect_code "$leader" RESOURCE_EXHAUSTED /raftgrpc.RaftService/AppendEntries --zeros 5242880

for i in 1 2 3; do
        kill -0 "${PID[$i]}" 2>/dev/null || fail "n$i died after bad input"
done
wait_leader 3000
[ "$LEADER" = "$leader" ] || fail "leadership moved from n$leader to n$LEADER"
read_status "$leader" term
[ "$STATUS_VALUE" = "$term" ] || fail "the term changed after bad input"
for i in 1 2 3; do
        rkc -e "$(ep "$i")" put "after-$i" ok >/dev/null || fail "put through n$i failed"
done
for i in 1 2 3; do
        [ "$(rkc -e "$(ep "$i")" get after-3)" = ok ] || fail "get through n$i failed"
done

for i in 1 2 3; do stop_node "$i"; done
echo "PASS: $TEST_NAME"
