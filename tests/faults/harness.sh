# tests/faults/harness.sh: one fault run's nodes (sourced by run.sh, bash).
#
# Owns: the run directory, each node's data dir on its own small tmpfs (so a disk can
# fill), its config, its rafktord process inside its namespace (by pid), and the waits on
# the cluster's state (every wait polls a condition with a deadline). Must never signal a
# process it did not start, or leave a mount, namespace or process behind (run_teardown).

# run_init DIR N [SPARES]: configs and data mounts for n1..n(N+SPARES) in DIR (nothing
# started). n1..nN are the initial members (they bootstrap with each other as peers); the
# spare slots have join = true and become members only through nem_member_grow. MEMBER[i]
# says whether nI is in the configuration now (the nemeses keep it in sync).
run_init() {
        local i
        RUN_DIR=$1
        N_INIT=$2
        N_NODES=$(( $2 + ${3:-0} ))
        mkdir -p "$RUN_DIR" || return 1
        net_setup "$N_NODES" || return 1
        for i in $(seq 1 "$N_NODES"); do
                PID[$i]=
                MEMBER[$i]=
                [ "$i" -le "$N_INIT" ] && MEMBER[$i]=1
                mkdir -p "$RUN_DIR/n$i" || return 1
                mount -t tmpfs -o "size=${FAULT_DISK_MB:-24}m" "rafktor-fault-n$i" \
                        "$RUN_DIR/n$i" || return 1
                MOUNTED[$i]=1
                write_config "$i"
        done
}

write_config() {
        local i=$1 k sep
        {
                echo "id = \"n$i\";"
                echo "listen = \"${NET_IP[$i]}:7400\";"
                echo "data_dir = \"$RUN_DIR/n$i/data\";"
                echo "admin_socket = \"$RUN_DIR/n$i.sock\";"
                if [ "$i" -gt "$N_INIT" ]; then
                        echo "join = true;"
                else
                        echo "peers = ("
                        for k in $(seq 1 "$N_INIT"); do
                                sep=$([ "$k" -lt "$N_INIT" ] && echo ,)
                                echo "  { id = \"n$k\"; address = \"${NET_IP[$k]}:7400\"; }$sep"
                        done
                        echo ");"
                fi
                echo "segment_size = \"1MiB\";"
                echo "max_message_size = \"256KiB\";"
                echo "request_timeout_ms = 2000;"
                echo "log_level = \"info\";"
        } > "$RUN_DIR/n$i.conf"
}

# members: the numbers of the nodes in the configuration now, ascending.
members() {
        local i
        for i in $(seq 1 "$N_NODES"); do [ -n "${MEMBER[$i]:-}" ] && echo "$i"; done
}
n_members() { members | wc -l; }
# client_eps: the initial members' endpoints (the clients' list; a member removed later
# keeps running and forwards to the leader it knows, so requests through it still get
# answers).
client_eps() {
        local i out=
        for i in $(seq 1 "$N_INIT"); do out="$out${out:+,}$(ep "$i")"; done
        echo "$out"
}

ep() { echo "${NET_IP[$1]}:7400"; }
all_eps() {
        local i out=
        for i in $(members); do out="$out${out:+,}$(ep "$i")"; done
        echo "$out"
}
running() { [ -n "${PID[$1]:-}" ]; }
now_ms() { date +%s%3N; }

# wait_for TIMEOUT_MS CMD...: CMD every 50 ms until it succeeds; 1 when the time passes.
wait_for() {
        local deadline=$(( $(now_ms) + $1 ))
        shift
        until "$@"; do
                [ "$(now_ms)" -ge "$deadline" ] && return 1
                sleep 0.05
        done
}

is_daemon() {
        [ "$(readlink "/proc/${PID[$1]}/exe" 2>/dev/null)" = "$(readlink -f "$FAULT_DAEMON")" ]
}
node_answers() { "$RKC_BIN" -t 500 -e "$(ep "$1")" status >/dev/null 2>&1; }

# node_start I: rafktord for nI in its namespace, logging to nI.log; waits until it answers.
node_start() {
        local i=$1
        running "$i" && return 0
        echo "=== start $(date +%T.%3N)" >> "$RUN_DIR/n$i.log"
        # not through a shell function: $! must be rafktord itself (ip netns exec execs)
        ip netns exec "${NET_NS[$i]}" "$FAULT_DAEMON" -c "$RUN_DIR/n$i.conf" \
                >> "$RUN_DIR/n$i.log" 2>&1 &
        PID[$i]=$!
        if ! wait_for 2000 is_daemon "$i"; then
                nem_log "n$i: pid ${PID[$i]} is not $FAULT_DAEMON"
                return 1
        fi
        if ! wait_for 10000 node_answers "$i"; then
                nem_log "n$i does not answer 10 s after its start"
                return 1
        fi
}

# node_kill I: SIGKILL (after SIGCONT, so a paused node dies too), reaped.
node_kill() {
        local i=$1
        running "$i" || return 0
        kill -KILL "${PID[$i]}" 2>/dev/null
        wait "${PID[$i]}" 2>/dev/null
        PID[$i]=
        PAUSED[$i]=
}

node_pause() { running "$1" && kill -STOP "${PID[$1]}" 2>/dev/null && PAUSED[$1]=1; }
node_resume() { running "$1" && kill -CONT "${PID[$1]}" 2>/dev/null; PAUSED[$1]=; }

# status_field I FIELD: one field of nI's status line, empty when it does not answer.
status_field() {
        "$RKC_BIN" -t 500 -e "$(ep "$1")" status 2>/dev/null |
                sed -n "s/.* $2=\([^ ]*\).*/\1/p" | head -n 1
}

# leader_now: the number of a running, unpaused member that says it leads (highest term);
# empty when none does.
leader_now() {
        local i term best= best_term=-1 line
        for i in $(members); do
                running "$i" && [ -z "${PAUSED[$i]:-}" ] || continue
                line=$("$RKC_BIN" -t 500 -e "$(ep "$i")" status 2>/dev/null) || continue
                case "$line" in *" role=leader "*) ;; *) continue ;; esac
                term=$(echo "$line" | sed -n 's/.* term=\([0-9]*\).*/\1/p')
                [ "${term:-0}" -gt "$best_term" ] && best=$i best_term=$term
        done
        echo "$best"
}

has_leader() { [ -n "$(leader_now)" ]; }

# run_keep DEST: copies the data dirs out of their tmpfs before teardown.
run_keep() {
        local i
        for i in $(seq 1 "$N_NODES"); do
                cp -a "$RUN_DIR/n$i/data" "$RUN_DIR/n$i-data" 2>/dev/null
        done
}

# run_teardown: every process, mount and namespace of the run; keeps RUN_DIR's files.
run_teardown() {
        local i
        for i in $(seq 1 "${N_NODES:-0}"); do
                if running "$i"; then
                        kill -CONT "${PID[$i]}" 2>/dev/null
                        kill -KILL "${PID[$i]}" 2>/dev/null
                        wait "${PID[$i]}" 2>/dev/null
                        PID[$i]=
                fi
        done
        net_kill_all
        for i in $(seq 1 "${N_NODES:-0}"); do
                if [ -n "${MOUNTED[$i]:-}" ]; then
                        umount "$RUN_DIR/n$i" 2>/dev/null || umount -l "$RUN_DIR/n$i"
                        MOUNTED[$i]=
                fi
        done
        net_teardown
        NET_TAG=
}
