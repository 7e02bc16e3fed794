#!/bin/bash
# tests/integration/measure-join.sh: how long a new, empty node takes to become a voter of
# a 3-node cluster that holds KEYS keys (default 100000). Not a test: prints numbers.
#
#   top_builddir=BUILD top_srcdir=SRC tests/integration/measure-join.sh [KEYS] [MODE]
#
# MODE log: default snapshot thresholds (64 MiB: 100000 small keys never reach it, 1000000
# do). nosnap: no snapshot at all, so n4 catches up by replicating the whole log.
# snapshot: the members compact their logs (snapshot_min_bytes 1 MiB, 1000 entries kept),
# so n4 gets an InstallSnapshot first. The result line says which way n4 caught up.
# Reported: the add's answer, the promotion (the voter in the leader's configuration), the
# catch-up (n4 applied the leader's commit index at the add), and the KEYS acknowledged
# writes read back from n4's own state.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/member-lib.sh"

keys=${1:-100000}
mode=${2:-log}
case "$mode" in
log) ;;
nosnap) EXTRA_CONFIG='snapshot_min_bytes = "64GiB";' ;;
snapshot) EXTRA_CONFIG='snapshot_min_bytes = "1MiB"; snapshot_factor = 1;
snapshot_trailing = 1000;' ;;
*) echo "usage: $0 [KEYS] [log|nosnap|snapshot]"; exit 2 ;;
esac
cluster_init 3
for i in 1 2 3; do start_node "$i"; done
wait_leader 5000
member_check_admin "$LEADER"
# rkc load gives up after 120 s: chunks of at most 200000 keys, each its own prefix.
t0=$(now_ms)
: > "$T/acks"
left=$keys
chunk=0
while [ "$left" -gt 0 ]; do
        n=$(( left < 200000 ? left : 200000 ))
        rkc -t 10000 -e "$(all_eps)" load --prefix "join$chunk-" --count "$n" --inflight 32 \
                >> "$T/acks" 2> "$T/load.log" || fail "load: $(tail -n 3 "$T/load.log")"
        left=$(( left - n ))
        chunk=$(( chunk + 1 ))
done
[ "$(acks)" -eq "$keys" ] || fail "$(acks) of $keys writes acknowledged"
log "loaded $keys keys in $(( $(now_ms) - t0 )) ms"
wait_leader 5000
read_status "$LEADER" commit
commit=$STATUS_VALUE
snaps=$(ls "$T/n$LEADER"/*.snap 2>/dev/null | wc -l)
log "leader n$LEADER: commit $commit, $snaps snapshot file(s)," \
    "data dir $(du -sh "$T/n$LEADER" | cut -f1)"

joiner_init 4
start_node 4
t0=$(now_ms)
admin "$LEADER" member add n4 "$(ep 4)" --learner
t_add=$(( $(now_ms) - t0 ))
wait_until 600000 "n4 to become a voter" is_voter "$LEADER" n4
t_voter=$(( $(now_ms) - t0 ))
wait_until 600000 "n4 to apply index $commit" applied_at_least 4 "$commit"
t_caught=$(( $(now_ms) - t0 ))
how=log
grep -q "state machine restored from the snapshot of index" "$T/n4.log" && how=snapshot
log "RESULT keys=$keys mode=$mode caught_up_by=$how add_answered_ms=$t_add" \
    "voter_ms=$t_voter applied_commit_ms=$t_caught"
out=$(rkc -t 10000 -e "$(ep 4)" verify "$T/acks" --stale) ||
        fail "n4 does not hold every acknowledged write: $out"
log "n4: $out"
for i in 1 2 3 4; do stop_node "$i"; done
