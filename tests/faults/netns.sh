# tests/faults/netns.sh: the fault harness's private network (sourced by harness.sh, bash).
#
# Owns: one bridge on the host with a private 10.213.X.0/24 address, one network namespace
# per node joined to it by a veth pair, and an nftables table inside each namespace whose
# rules drop packets per link (partitions). Must never: touch an interface, namespace or
# rule it did not create, or route anything out of these namespaces (no default route, no
# forwarding: traffic stays between the host end of the bridge and the namespaces).
#
# Names carry NET_TAG (a number unique to this harness process) so parallel runs do not
# collide: bridge rfbTAG, namespaces rfTAGnI, host veth ends rfvTAGnI.

# net_setup N: the bridge and N namespaces; sets NET_HOST_IP and NET_IP[1..N].
net_setup() {
        local n=$1 i ns
        local tries=0
        NET_TAG=$(( $$ % 10000 ))
        # a tag whose bridge and subnet no other run (another make check) uses now
        while ip link show "rfb$NET_TAG" >/dev/null 2>&1 ||
              ip -4 addr show | grep -q "inet 10\.213\.$(( NET_TAG % 250 ))\."; do
                tries=$(( tries + 1 ))
                [ "$tries" -lt 250 ] || return 1
                NET_TAG=$(( (NET_TAG + 1) % 10000 ))
        done
        NET_SUBNET=10.213.$(( NET_TAG % 250 ))
        NET_BRIDGE=rfb$NET_TAG
        NET_HOST_IP=$NET_SUBNET.1
        NET_N=$n
        ip link add "$NET_BRIDGE" type bridge || return 1
        ip addr add "$NET_HOST_IP/24" dev "$NET_BRIDGE" || return 1
        ip link set "$NET_BRIDGE" up || return 1
        for i in $(seq 1 "$n"); do
                ns=rf${NET_TAG}n$i
                NET_NS[$i]=$ns
                NET_IP[$i]=$NET_SUBNET.$(( 10 + i ))
                ip netns add "$ns" || return 1
                ip link add "rfv${NET_TAG}n$i" type veth peer name eth0 netns "$ns" || return 1
                ip link set "rfv${NET_TAG}n$i" master "$NET_BRIDGE" up || return 1
                ip -n "$ns" addr add "${NET_IP[$i]}/24" dev eth0 || return 1
                ip -n "$ns" link set eth0 up || return 1
                ip -n "$ns" link set lo up || return 1
                ip netns exec "$ns" nft -f - <<EOF || return 1
table inet fault {
        chain input { type filter hook input priority 0; policy accept; }
        chain output { type filter hook output priority 0; policy accept; }
}
EOF
        done
}

# net_kill_all: SIGKILL to whatever still runs inside our namespaces (only this run puts
# processes there).
net_kill_all() {
        local i
        [ -n "${NET_TAG:-}" ] || return 0
        for i in $(seq 1 "${NET_N:-0}"); do
                ip netns pids "rf${NET_TAG}n$i" 2>/dev/null | xargs -r kill -CONT 2>/dev/null
                ip netns pids "rf${NET_TAG}n$i" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        done
        return 0
}

# net_teardown: removes everything net_setup made (whatever part of it exists).
net_teardown() {
        local i
        [ -n "${NET_TAG:-}" ] || return 0
        for i in $(seq 1 "${NET_N:-0}"); do
                ip link del "rfv${NET_TAG}n$i" 2>/dev/null
                ip netns del "rf${NET_TAG}n$i" 2>/dev/null
        done
        ip link del "$NET_BRIDGE" 2>/dev/null
        return 0
}

# net_cut A B: packets from node A to node B are dropped (one way).
net_cut() {
        ip netns exec "${NET_NS[$1]}" nft add rule inet fault output ip daddr "${NET_IP[$2]}" drop
}

# net_cut_both A B: no packet between A and B either way.
net_cut_both() {
        net_cut "$1" "$2" && net_cut "$2" "$1"
}

# net_heal: every link works again.
net_heal() {
        local i
        for i in $(seq 1 "$NET_N"); do
                ip netns exec "${NET_NS[$i]}" nft flush chain inet fault output
        done
}

# net_rules: the drop rules in force, one "nA->ADDR" per rule (for the nemesis log).
net_rules() {
        local i
        for i in $(seq 1 "$NET_N"); do
                ip netns exec "${NET_NS[$i]}" nft list chain inet fault output |
                        sed -n "s/.*ip daddr \([0-9.]*\) drop.*/n$i->\1/p"
        done | tr '\n' ' '
}
