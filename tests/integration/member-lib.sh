# tests/integration/member-lib.sh: helpers of the membership tests (sourced after lib.sh).
#
# Owns: adding a joining node's port and config (join = true), the admin mutations through a
# node's admin socket (raftctl), and waits on the configuration (members, voters) and on the
# acknowledged writes. Must never change lib.sh's state except PORT/N_NODES for the nodes it
# adds, or wait by sleeping.

# Sanitizer builds under load miss 150 ms heartbeats: slower elections there (times
# TIME_FACTOR), so that the leader the tests send changes to stays the leader.
if [ "$TIME_FACTOR" -gt 1 ]; then
        EXTRA_CONFIG="election_timeout_min_ms = $(( 150 * TIME_FACTOR ));
election_timeout_max_ms = $(( 300 * TIME_FACTOR )); heartbeat_ms = $(( 50 * TIME_FACTOR ));
${EXTRA_CONFIG:-}"
fi

# Admin mutations need root or group rafktor on the admin socket (admin_authorize).
member_check_admin() {
        local out
        out=$(raftctl -e "$(admin_ep "$1")" members 2>&1) || fail "members on n$1: $out"
        if [ "$(id -u)" -ne 0 ] && ! id -nG | tr ' ' '\n' | grep -qx rafktor; then
                skip "admin mutations need root or group rafktor (admin socket credentials)"
        fi
}

# joiner_init I: a port and a config for nI that joins (no bootstrap); N_NODES grows to I.
joiner_init() {
        local i=$1
        PORT[$i]=$(free_port)
        [ "$i" -gt "$N_NODES" ] && N_NODES=$i
        EXTRA_CONFIG="join = true;${EXTRA_CONFIG:+ $EXTRA_CONFIG}" write_config "$i"
}

# members_line I: "id:voter|learner ..." of nI's configuration, sorted; empty if it fails.
members_line() {
        raftctl -e "$(admin_ep "$1")" -w json members 2>/dev/null |
                tr -d ' \n' | grep -o '"id":"[^"]*","address":"[^"]*","voter":[a-z]*' |
                sed 's/"id":"\([^"]*\)".*"voter":\([a-z]*\)/\1:\2/' | sort | tr '\n' ' '
}

# is_voter I ID: nI's configuration has ID as a voter.
is_voter() { case " $(members_line "$1") " in *" $2:true "*) return 0 ;; esac; return 1; }
# is_member I ID: nI's configuration has ID (voter or learner).
is_member() { case " $(members_line "$1") " in *" $2:"*) return 0 ;; esac; return 1; }

# admin I ARGS...: raftctl on nI's admin socket; output in ADMIN_OUT; fails the test on error.
admin() {
        local i=$1
        shift
        ADMIN_OUT=$(raftctl --timeout $((10000 * TIME_FACTOR))ms -e "$(admin_ep "$i")" "$@" 2>&1) ||
                fail "raftctl $* on n$i: $ADMIN_OUT"
}

# admin_on_leader NODES -- ARGS...: a membership change on the leader's admin socket, the
# leader being the one NODES agree on; the word LEADER_ID in ARGS becomes its id. A refusal
# that changed nothing (not the leader, no leader, one change at a time, a new leader
# without an entry of its term, a transfer) or a change a leader change aborted is sent
# again to the then leader; on such a retry "already a member" (add) or "not a member"
# (remove) means the first attempt took effect. Sets LEADER and ADMIN_OUT; fails the test
# on any other error or after 20 s (times TIME_FACTOR).
admin_on_leader() {
        local nodes=() args=() a deadline retried=0 rc
        while [ "$1" != -- ]; do nodes+=("$1"); shift; done
        shift
        deadline=$(( $(now_ms) + 20000 * TIME_FACTOR ))
        while :; do
                wait_leader_among 10000 "${nodes[@]}"
                args=()
                for a in "$@"; do args+=("${a//LEADER_ID/n$LEADER}"); done
                rc=0
                ADMIN_OUT=$(raftctl --timeout $((10000 * TIME_FACTOR))ms \
                            -e "$(admin_ep "$LEADER")" "${args[@]}" 2>&1) || rc=$?
                [ "$rc" -eq 0 ] && return 0
                case "$ADMIN_OUT" in
                *"is already a member"*|*"is not a member"*)
                        [ "$retried" -eq 1 ] && return 0 ;;
                *"not the leader"*|*"no leader"*|*"one change at a time"*|\
                *"not committed an entry of its term"*|*"transfer in progress"*|\
                *ABORTED*|*unreachable*)
                        if [ "$(now_ms)" -lt "$deadline" ]; then
                                log "retrying raftctl ${args[*]}: $ADMIN_OUT"
                                retried=1
                                sleep 0.05
                                continue
                        fi ;;
                esac
                fail "raftctl ${args[*]} on n$LEADER: $ADMIN_OUT"
        done
}

# start_load PREFIX COUNT ENDPOINTS [STOP_FILE]: a background rkc write stream into
# $T/acks; with STOP_FILE it starts no new write once that file exists.
start_load() {
        : > "$T/acks"
        "$RKC_BIN" -t 2000 -e "$3" load --prefix "$1" --count "$2" --inflight 4 \
                ${4:+--stop-file "$4"} > "$T/acks" 2> "$T/load.log" &
        LOAD_PID=$!
        EXTRA_PIDS+=("$LOAD_PID")
}
acks() { grep -c '^ack ' "$T/acks"; }
acks_at_least() { [ "$(acks)" -ge "$1" ]; }
load_running() { kill -0 "$LOAD_PID" 2>/dev/null; }

# verify_everywhere NODES...: every acknowledged write reads back from each node's own
# state (after it caught up with the leader).
verify_everywhere() {
        local i out
        for i in "$@"; do
                wait_caught_up 20000 "$i" "$LEADER"
                out=$(rkc -t 10000 -e "$(ep "$i")" verify "$T/acks" --stale) ||
                        fail "n$i does not hold every acknowledged write: $out"
                log "n$i: $out"
        done
}

# leader_among NODES...: prints the leader's number when exactly one of NODES leads and
# every one of them names it in the same term; fails otherwise (other nodes not asked).
leader_among() {
        local i line role leader term lead= lterm= n_lead=0
        for i in "$@"; do
                line=$(rkc -t "$POLL_MS" -e "$(ep "$i")" status 2>/dev/null) || return 1
                role=$(echo "$line" | sed -n 's/.* role=\([^ ]*\).*/\1/p')
                leader=$(echo "$line" | sed -n 's/.* leader=\([^ ]*\).*/\1/p')
                term=$(echo "$line" | sed -n 's/.* term=\([^ ]*\).*/\1/p')
                [ "$leader" != - ] || return 1
                [ -z "$lead" ] && lead=$leader lterm=$term
                [ "$leader" = "$lead" ] && [ "$term" = "$lterm" ] || return 1
                [ "$role" = leader ] && n_lead=$((n_lead + 1))
        done
        [ "$n_lead" -eq 1 ] || return 1
        echo "${lead#n}"
}

# wait_leader_among TIMEOUT_MS NODES...: sets LEADER (see leader_among).
wait_leader_among() {
        local timeout=$(( $1 * TIME_FACTOR )) deadline l
        shift
        deadline=$(( $(now_ms) + timeout ))
        until l=$(leader_among "$@"); do
                [ "$(now_ms)" -ge "$deadline" ] &&
                        fail "no leader agreed by n${*// /, n} within ${timeout} ms"
                sleep 0.02
        done
        LEADER=$l
}

# leader_holds MS NODES...: for MS (an observation window: the property is that nothing
# happens) the leader of NODES stays the same in the same term.
leader_holds() {
        local until_ms=$(( $(now_ms) + $1 * TIME_FACTOR )) l0 t0 l t
        shift
        l0=$LEADER
        read_status "$l0" term
        t0=$STATUS_VALUE
        while [ "$(now_ms)" -lt "$until_ms" ]; do
                l=$(leader_among "$@") || continue
                t=$(status_field "$l" term)
                [ -n "$t" ] || continue
                [ "$l" = "$l0" ] && [ "$t" = "$t0" ] ||
                        fail "the leader moved from n$l0 (term $t0) to n$l (term $t)"
                sleep 0.05
        done
}
