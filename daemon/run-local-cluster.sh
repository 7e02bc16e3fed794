#!/bin/bash
# daemon/run-local-cluster.sh: the README's "run the cluster" command.
#
# Builds everything in build-default/ (installing missing Debian packages first), renders
# the configs of a local three-node cluster into run/ (git-ignored), starts three
# rafktord on 127.0.0.1:7401..7403, waits until they elect a leader, prints how to reach
# it with raftctl, and keeps running until Ctrl-C; then stops the nodes cleanly (SIGTERM,
# wait). The data stays in run/nN/ between runs: the next run recovers it.
#
# Environment: JOBS (make -j, default 2), RUN_DIR (default ./run in the repository).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run=${RUN_DIR:-$top/run}
build=$top/build-default
ports=(7401 7402 7403)

"$top/tests/install-deps.sh"
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] ||
        autoreconf -fi >/dev/null
mkdir -p "$build"
(cd "$build" && { [ -f Makefile ] || "$top/configure" -q; } && make -s -j"${JOBS:-2}")

rafktord=$build/daemon/rafktord
raftctl=$build/cli/raftctl
endpoints=127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403

mkdir -p "$run"
run=$(cd "$run" && pwd)
for i in 1 2 3; do
        "$build/daemon/config/rafktor-local-config" "$i" "$run" > "$run/n$i.conf.new"
        mv "$run/n$i.conf.new" "$run/n$i.conf"
        "$rafktord" -c "$run/n$i.conf" --check-config >/dev/null
done
for p in "${ports[@]}"; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
                echo "run-local-cluster: something already listens on 127.0.0.1:$p;" \
                     "stop it first (another run of this script?)" >&2
                exit 1
        fi
done

pids=()
stopping=0
stop_nodes() {
        local i rc
        [ "$stopping" = 1 ] && return
        stopping=1
        echo
        echo "run-local-cluster: stopping the nodes (SIGTERM)"
        for i in "${!pids[@]}"; do
                kill -TERM "${pids[$i]}" 2>/dev/null || true
        done
        for i in "${!pids[@]}"; do
                rc=0
                wait "${pids[$i]}" || rc=$?
                echo "run-local-cluster: n$((i + 1)) exited with $rc"
        done
        echo "run-local-cluster: data and logs stay in $run (the next run recovers them)"
}
trap stop_nodes EXIT
trap 'exit 130' INT TERM

for i in 1 2 3; do
        echo "=== started $(date -Is)" >> "$run/n$i.log"
        "$rafktord" -c "$run/n$i.conf" >> "$run/n$i.log" 2>&1 &
        pids+=($!)
done

# Wait until the three agree on one leader, with a deadline; a node that dies is fatal.
deadline=$(( $(date +%s) + 20 ))
leader=
while :; do
        for i in 1 2 3; do
                if ! kill -0 "${pids[$((i - 1))]}" 2>/dev/null; then
                        echo "run-local-cluster: n$i exited during start-up; its log:" >&2
                        tail -n 20 "$run/n$i.log" >&2
                        exit 1
                fi
        done
        if status=$("$raftctl" -e "$endpoints" -w plain --timeout 1s status 2>/dev/null) &&
           [ "$(echo "$status" | cut -f4 | grep -c '^leader$')" = 1 ] &&
           [ "$(echo "$status" | cut -f6 | sort -u | wc -l)" = 1 ]; then
                leader=$(echo "$status" | cut -f6 | head -n 1)
                break
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
                echo "run-local-cluster: no leader after 20 s; the logs are in $run/n*.log" >&2
                exit 1
        fi
        sleep 0.1
done

rel=${build#"$top"/}
cat <<EOF

Rafktor is running: three nodes on 127.0.0.1:7401, 7402 and 7403; leader $leader.
Data and logs: $run/n1 .. n3, $run/n1.log .. n3.log

Reach it with raftctl (any node; followers forward writes to the leader):
    $rel/cli/raftctl -e 127.0.0.1:7401 status
    $rel/cli/raftctl -e 127.0.0.1:7401 members                # three members, * = leader
    $rel/cli/raftctl -e $endpoints status
    $rel/cli/raftctl -e 127.0.0.1:7401 put greeting hello
    $rel/cli/raftctl -e 127.0.0.1:7402 get greeting
    $rel/cli/raftctl -e unix:$run/n1/admin.sock status     # the admin socket
    $rel/cli/raftctl -e 127.0.0.1:7401                     # the interactive shell

Press Ctrl-C to stop the cluster.
EOF

# Until Ctrl-C, or until a node exits by itself (then the others are stopped too).
rc=0
wait -n "${pids[@]}" || rc=$?
[ "$stopping" = 1 ] ||
        echo "run-local-cluster: a node exited by itself (exit $rc); see $run/n*.log" >&2
exit 1
