#!/bin/bash
# tests/faults/run.sh: Jepsen-style fault runs against real rafktord processes.
#
# Each run: N nodes (FAULT_NODES, default 3), each in its own network namespace on a
# private bridge with its data dir on a small tmpfs; fclient runs FAULT_CLIENTS concurrent
# clients for FAULT_SECONDS while nemeses chosen from the seed strike one after another;
# then every fault is healed, fclient reads every key through every node and waits for the
# members' state hashes to agree, and the history is checked (linearizability per key,
# exactly-once probes). One summary line per run:
#     run SEED: ops=N ok=O fail=F unknown=U nemeses=E disk_full=D/R verdict=V (T s)
# (disk_full=D/R: D nodes hit a full disk, R of them recovered by themselves)
# A run that is not "ok" keeps its directory (history, nemesis.log, node logs, data dirs)
# and prints the command that replays its seed.
#
#   run.sh [--seed S] [--runs N] [--seconds S] [--soak] [--daemon PATH]
#          [--nemeses "kill_random ..."] [--expect anomaly]
# Environment: FAULT_RUNS (20), FAULT_SECONDS (30), FAULT_NODES (3), FAULT_SPARES (1: slots
# the membership nemeses add as new members), FAULT_CLIENTS (5),
# FAULT_KEYS (5), FAULT_ATTEMPT_MS (1000: one attempt's deadline), FAULT_SEED (first seed;
# default from the clock), FAULT_OUT (where failed runs are kept; default
# $top_builddir/tests/faults/runs).
# Exit: 0 every run ok (or, with --expect anomaly, every run found one), 1 otherwise,
# 77 when this machine cannot run it (not root, no ip/nft/tmpfs).
#
# Owns: the run loop, the summary lines and the clean-up trap. Must never leave a
# namespace, mount or process behind, also when interrupted.
set -u

: "${top_builddir:?run through make (top_builddir unset)}"
: "${top_srcdir:?run through make (top_srcdir unset)}"
here=$top_srcdir/tests/faults
RKC_BIN=$top_builddir/tests/integration/rkc
FCLIENT=$top_builddir/tests/faults/fclient
FAULT_DAEMON=$top_builddir/daemon/rafktord
RAFTCTL_BIN=$top_builddir/cli/raftctl
runs=${FAULT_RUNS:-20}
seconds=${FAULT_SECONDS:-30}
seed=${FAULT_SEED:-}
soak=0
expect=ok
out=${FAULT_OUT:-$top_builddir/tests/faults/runs}

while [ $# -gt 0 ]; do
        case $1 in
        --seed) seed=$2; runs=1; shift ;;
        --runs) runs=$2; shift ;;
        --seconds) seconds=$2; shift ;;
        --soak) soak=1 ;;
        --daemon) FAULT_DAEMON=$2; shift ;;
        --nemeses) NEMESES_ARG=$2; shift ;;
        --expect) expect=$2; shift ;;
        *) echo "usage: run.sh [--seed S] [--runs N] [--seconds S] [--soak] [--daemon PATH]" \
                "[--nemeses LIST] [--expect anomaly]" >&2; exit 2 ;;
        esac
        shift
done

skip() { echo "SKIP: tests/faults: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, nftables, tmpfs mounts)"
for t in ip nft mount umount dd df; do
        command -v "$t" >/dev/null || skip "$t is missing (tests/faults/install-deps.sh)"
done
for b in "$RKC_BIN" "$FCLIENT" "$FAULT_DAEMON" "$RAFTCTL_BIN"; do
        [ -x "$b" ] || { echo "ERROR: $b is not built"; exit 99; }
done

. "$here/netns.sh"
. "$here/harness.sh"
. "$here/nemesis.sh"
[ -n "${NEMESES_ARG:-}" ] && NEMESES=$NEMESES_ARG

declare -a PID=() PAUSED=() MOUNTED=() MEMBER=() NET_NS=() NET_IP=()
FCLIENT_PID=
CUR_DIR=

cleanup() {
        local rc=$?
        [ -n "$FCLIENT_PID" ] && kill -KILL "$FCLIENT_PID" 2>/dev/null
        run_teardown
        [ -n "$CUR_DIR" ] && [ "${KEEP_CUR:-0}" = 0 ] && rm -rf "$CUR_DIR"
        exit "$rc"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

# one_run SEED: sets VERDICT and SUMMARY.
one_run() {
        local s=$1 start hist chk fin i
        start=$(now_ms)
        RANDOM=$s
        NEM_EVENTS=0 DISK_FULL=0 DISK_RECOVERED=0 DISK_STUCK=0
        CUR_DIR=$(mktemp -d /tmp/rafktor-faults.XXXXXX)
        KEEP_CUR=0
        hist=$CUR_DIR/history
        VERDICT=ok
        if ! run_init "$CUR_DIR" "${FAULT_NODES:-3}" "${FAULT_SPARES:-1}"; then
                VERDICT=setup-failed
        else
                for i in $(seq 1 "$N_NODES"); do node_start "$i" || VERDICT=setup-failed; done
                wait_for 20000 has_leader || VERDICT=setup-failed
        fi
        if [ "$VERDICT" = ok ]; then
                nem_log "seed $s: $N_INIT nodes ($(( N_NODES - N_INIT )) spare), $seconds s," \
                        "nemeses: $(echo $NEMESES)"
                "$FCLIENT" run -e "$(client_eps)" -o "$hist" --seconds "$seconds" \
                        --seed "$s" --clients "${FAULT_CLIENTS:-5}" --keys "${FAULT_KEYS:-5}" \
                        --attempt-ms "${FAULT_ATTEMPT_MS:-1000}" \
                        > "$CUR_DIR/run.out" 2> "$CUR_DIR/fclient.err" &
                FCLIENT_PID=$!
                # faults one after another while the clients run (a quiet second or two at
                # both ends)
                local end=$(( $(now_ms) + seconds * 1000 - 2000 ))
                sleep 1
                while [ "$(now_ms)" -lt "$end" ] && kill -0 "$FCLIENT_PID" 2>/dev/null; do
                        nem_one || { VERDICT=node-failed; break; }
                        sleep "0.$(rnd 10)"
                done
                wait "$FCLIENT_PID"
                FCLIENT_PID=
                nem_heal_all
                if ! wait_for 30000 has_leader; then
                        [ "$VERDICT" = ok ] && VERDICT=no-leader-after-heal
                fi
                fin=$("$FCLIENT" final -e "$(all_eps)" -o "$hist" \
                        --clients "${FAULT_CLIENTS:-5}" --keys "${FAULT_KEYS:-5}" \
                        --wait-ms 30000 2>&1)
                echo "$fin" > "$CUR_DIR/final.out"
                case "$fin" in
                *"state=DIVERGED"*) VERDICT=diverged ;;
                *"reads_failed=0 state=converged"*) ;;
                *) [ "$VERDICT" = ok ] && VERDICT=not-healed ;;
                esac
                chk=$("$FCLIENT" check "$hist" 2>&1)
                echo "$chk" > "$CUR_DIR/check.out"
                case "$chk" in
                *"verdict=anomaly"*) VERDICT=anomaly ;;
                *"verdict=ok"*) ;;
                *) [ "$VERDICT" = ok ] && VERDICT=no-verdict ;;
                esac
        fi
        ops=0 ok=0 fail=0 unknown=0
        read -r ops ok fail unknown < <(sed -n \
                's/^check: ops=\([0-9]*\) ok=\([0-9]*\) fail=\([0-9]*\) unknown=\([0-9]*\).*/'\
'\1 \2 \3 \4/p' \
                "$CUR_DIR/check.out" 2>/dev/null)
        # a node whose disk was freed must have come back without a restart (when it did
        # not, a cluster that cannot heal or elect is a consequence, not the cause)
        if [ "${DISK_STUCK:-0}" -gt 0 ]; then
                case $VERDICT in
                ok | not-healed | no-leader-after-heal) VERDICT=disk-not-recovered ;;
                esac
        fi
        for i in $(seq 1 "${N_NODES:-0}"); do
                if running "$i" && ! kill -0 "${PID[$i]}" 2>/dev/null; then
                        echo "n$i (pid ${PID[$i]}) exited by itself" >> "$CUR_DIR/nemesis.log"
                        [ "$VERDICT" = ok ] && VERDICT=node-exited
                fi
        done
        if [ "$VERDICT" != "$expect" ] || [ "${FAULT_KEEP:-0}" = 1 ]; then
                run_keep
                KEEP_CUR=1
        fi
        run_teardown
        SUMMARY="run $s: ops=${ops:-0} ok=${ok:-0} fail=${fail:-0} unknown=${unknown:-0}"
        SUMMARY="$SUMMARY nemeses=$NEM_EVENTS disk_full=$DISK_FULL/$DISK_RECOVERED"
        SUMMARY="$SUMMARY verdict=$VERDICT"
        SUMMARY="$SUMMARY ($(( ($(now_ms) - start) / 1000 )) s)"
        echo "$SUMMARY"
        if [ "$KEEP_CUR" = 1 ]; then
                mkdir -p "$out"
                rm -rf "$out/seed-$s"
                mv "$CUR_DIR" "$out/seed-$s"
                grep -h "ANOMALY\|^#\|DIVERGED\|failed" "$out/seed-$s/check.out" \
                        "$out/seed-$s/final.out" 2>/dev/null | head -n 60 | sed 's/^/    /'
                echo "    kept $out/seed-$s (history, nemesis.log, n*.log, n*-data)"
                echo "    replay: make -C $top_builddir check TESTS= &&" \
                        "top_builddir=$top_builddir" \
                        "top_srcdir=$top_srcdir $here/run.sh --seed $s --seconds $seconds" \
                        "--daemon $FAULT_DAEMON"
        else
                [ "$VERDICT" != ok ] && grep -h "ANOMALY" "$CUR_DIR/check.out" | sed 's/^/    /'
                rm -rf "$CUR_DIR"
        fi
        CUR_DIR=
}

[ -n "$seed" ] || seed=$(( $(date +%s) % 1000000 * 100 ))
total=0 good=0 bad=0 ops_total=0 nem_total=0
echo "faults: $( [ "$soak" = 1 ] && echo "until stopped" || echo "$runs runs") of" \
        "${seconds} s, first seed $seed, daemon $FAULT_DAEMON"
while [ "$soak" = 1 ] || [ "$total" -lt "$runs" ]; do
        one_run $(( seed + total ))
        total=$(( total + 1 ))
        ops_total=$(( ops_total + ${ops:-0} ))
        nem_total=$(( nem_total + NEM_EVENTS ))
        disk_total=$(( ${disk_total:-0} + DISK_FULL ))
        disk_rec_total=$(( ${disk_rec_total:-0} + DISK_RECOVERED ))
        if [ "$VERDICT" = "$expect" ] ||
           { [ "$expect" = anomaly ] && [ "$VERDICT" = diverged ]; }; then
                good=$(( good + 1 ))
        else
                bad=$(( bad + 1 ))
        fi
        [ "$soak" = 1 ] && echo "tally: runs=$total as-expected=$good other=$bad" \
                "ops_checked=$ops_total nemeses=$nem_total" \
                "disk_full=$disk_total/$disk_rec_total"
done
echo "faults: runs=$total as-expected($expect)=$good other=$bad ops_checked=$ops_total" \
        "nemeses=$nem_total disk_full=${disk_total:-0}/${disk_rec_total:-0}"
[ "$bad" -eq 0 ]
