# tests/system/cluster.sh: a three-node cluster from the .deb, sourced by run.sh: one
# container per node, each in its own network namespace with its own address on a host
# bridge; one node stopped (the leader), the other two keep serving, the node started
# again catches up.
#
# Owns: the bridge br-rksys (10.77.0.1/24), the namespaces rksys1..3 (10.77.0.11..13) and
# the containers rafktor-c1..3. Must never leave them behind (cluster_teardown runs from
# run.sh's exit trap) or use addresses outside 10.77.0.0/24.

BR=br-rksys
addr_of() { echo "10.77.0.1$1"; }

net_setup() {
        local i
        net_teardown
        ip link add "$BR" type bridge && ip addr add 10.77.0.1/24 dev "$BR" &&
                ip link set "$BR" up || return 1
        for i in 1 2 3; do
                ip netns add "rksys$i" &&
                ip link add "veth-rksys$i" type veth peer name eth0 netns "rksys$i" &&
                ip link set "veth-rksys$i" master "$BR" up &&
                ip -n "rksys$i" addr add "$(addr_of $i)/24" dev eth0 &&
                ip -n "rksys$i" link set eth0 up &&
                ip -n "rksys$i" link set lo up || return 1
        done
}

net_teardown() {
        local i
        for i in 1 2 3; do
                ip netns del "rksys$i" 2>/dev/null || true
                ip link del "veth-rksys$i" 2>/dev/null || true
        done
        ip link del "$BR" 2>/dev/null || true
}

cluster_teardown() {
        local i
        for i in 1 2 3; do halt "rafktor-c$i"; done
        net_teardown
}

# node_config I: rafktor.conf of node nI and the socket drop-in for its address.
node_config() {
        local i=$1
        printf 'id = "n%s";\nlisten = "%s:7401";\ndata_dir = "/var/lib/rafktor";\n' \
                "$i" "$(addr_of "$i")"
        printf 'peers = ( { id = "n1"; address = "%s:7401"; },\n' "$(addr_of 1)"
        printf '          { id = "n2"; address = "%s:7401"; },\n' "$(addr_of 2)"
        printf '          { id = "n3"; address = "%s:7401"; } );\n' "$(addr_of 3)"
        printf 'election_timeout_min_ms = 300;\nelection_timeout_max_ms = 600;\n'
        printf 'heartbeat_ms = 50;\n'
}
socket_dropin() {
        printf '[Socket]\nListenStream=\nListenStream=/run/rafktor/admin.sock\n'
        printf 'ListenStream=%s:7401\n' "$(addr_of "$1")"
}

node_setup() {
        local i=$1 c=rafktor-c$1
        on "$c" dpkg -i "/debs/${deb_file##*/}" >/dev/null &&
        node_config "$i" | on "$c" sh -c 'cat > /etc/rafktor/rafktor.conf' &&
        on "$c" mkdir -p /etc/systemd/system/rafktor.socket.d &&
        socket_dropin "$i" | on "$c" sh -c \
                'cat > /etc/systemd/system/rafktor.socket.d/cluster.conf' &&
        on "$c" systemctl daemon-reload &&
        on "$c" systemctl restart rafktor.socket &&
        on "$c" systemctl show -p Listen --value rafktor.socket | grep -q "$(addr_of "$i"):7401"
}

# status_of I FIELD: one field of node nI's own status, through its admin socket.
status_of() { on "rafktor-c$1" raftctl --json --timeout 2s status | jq -r ".[0].$2"; }
# agreed_leader I...: the nodes named all know the same leader; prints it.
agreed_leader() {
        local i l first=
        for i in "$@"; do
                l=$(status_of "$i" leader 2>/dev/null) || return 1
                case $l in ''|null) return 1;; esac
                [ -z "$first" ] && first=$l
                [ "$l" = "$first" ] || return 1
        done
        echo "$first"
}
has_leader() { agreed_leader "$@" >/dev/null; }
put_on() { on "rafktor-c$1" raftctl --timeout 2s put "$2" "$3"; }
get_is() { [ "$(on "rafktor-c$1" raftctl -w plain --timeout 2s get "$2" 2>/dev/null)" = "$3" ]; }
stale_is() {
        [ "$(on "rafktor-c$1" raftctl -w plain --timeout 2s get --stale "$2" 2>/dev/null)" = "$3" ]
}
caught_up() { # caught_up I INDEX: node nI applied INDEX
        local a
        a=$(status_of "$1" applied_index 2>/dev/null) || return 1
        [ "${a:-0}" -ge "$2" ]
}
stopped() {
        [ "$(on "rafktor-c$1" systemctl show -p ActiveState --value rafktor.service)" = inactive ]
}

stage_cluster() {
        local i leader down up=() k commit
        echo "=== cluster: three nodes, one network namespace each"
        if ! net_setup; then fail "cluster network (bridge + 3 netns)"; net_teardown; return; fi
        for i in 1 2 3; do
                if ! boot "rafktor-c$i" "$rootfs" --network-namespace-path="/run/netns/rksys$i"
                then
                        fail "container rafktor-c$i boots"
                        cluster_teardown
                        return
                fi
        done
        pass "three containers boot, one netns each"
        for i in 1 2 3; do
                check "node n$i: install, configure, socket on $(addr_of "$i"):7401" node_setup "$i"
        done
        # Any connection starts a node; asking each one starts all three.
        for i in 1 2 3; do on "rafktor-c$i" raftctl --timeout 2s status >/dev/null 2>&1; done
        check "the three nodes agree on a leader" wait_for 20 has_leader 1 2 3
        check "put on n1" wait_for 10 put_on 1 before-stop 1
        check "get on n3 (forwarded, linearizable)" get_is 3 before-stop 1

        leader=$(agreed_leader 1 2 3 | sed 's/^n//')
        down=${leader:-1}
        for i in 1 2 3; do [ "$i" = "$down" ] || up+=("$i"); done
        on "rafktor-c$down" systemctl stop rafktor.socket rafktor.service
        check "the leader n$down is stopped (socket and service)" stopped "$down"
        check "n${up[0]} and n${up[1]} elect a new leader" wait_for 20 has_leader "${up[@]}"
        check "put while n$down is down" wait_for 10 put_on "${up[0]}" during-outage 2
        for k in $(seq 1 20); do put_on "${up[1]}" "bulk-$k" "$k" >/dev/null 2>&1; done
        check "20 more writes while n$down is down" get_is "${up[0]}" bulk-20 20
        commit=$(status_of "${up[0]}" commit_index)

        check "n$down starts again" on "rafktor-c$down" systemctl start rafktor.socket
        on "rafktor-c$down" raftctl --timeout 2s status >/dev/null 2>&1
        check "n$down catches up to index $commit" wait_for 20 caught_up "$down" "$commit"
        check "n$down serves the writes it missed (local read)" stale_is "$down" bulk-20 20
        check "the three nodes agree on a leader again" wait_for 20 has_leader 1 2 3
        cluster_teardown
}
