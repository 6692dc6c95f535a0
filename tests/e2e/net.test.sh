#!/usr/bin/env bash
# The pod network between nodes on multi-node clusters in network namespaces
# (tests/e2e/multinode.sh draws the topology): node annotations, the VXLAN
# overlay (one route, neighbour and FDB entry per peer and family), its
# removal when nodes go, host-gw, the masquerade table, and traffic over the
# overlay and out to "the internet". Dual-stack on 3 nodes; IPv4-only and
# IPv6-only on 2.
. "$(dirname "$0")/multinode.sh"

if ! [ "$(id -u)" = 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "ok - skipped: needs root and network namespaces"; exit 0
fi

# The UDP echo of "the internet": answers each datagram with the sender's
# address, so a client sees the address its traffic arrived from.
# Bound to the internet addresses themselves, so answers come from them
# (conntrack only reverses NAT for answers from the address it saw).
echo_server() {
	mn_bg echo inet /usr/bin/python3 -c '
import socket, select
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s4.bind(("198.51.100.1", 7777))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s6.bind(("2001:db8:1::1", 7777))
while True:
    for s in select.select([s4, s6], [], [])[0]:
        d, a = s.recvfrom(100); s.sendto(a[0].encode(), a)
'
}
ECHO_CLIENT='
import socket, sys
src, dst = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0)); s.settimeout(0.5)
for _ in range(6):
    s.sendto(b"x", (dst, 7777))
    try: print(s.recv(100).decode()); break
    except socket.timeout: pass
'
# echo_from NODE SRC DST: the address DST's echo saw for a datagram from SRC.
echo_from() { mn_x "$1" /usr/bin/python3 -c "$ECHO_CLIENT" "$2" "$3"; }
# echo_from_pod NODE POD DST: the same from a pod (its own address)
echo_from_pod() { mn_pod_x "$1" "$2" /usr/bin/python3 -c "$ECHO_CLIENT" "" "$3"; }
# ping_pod NODE POD ADDR: one ping from the pod
ping_pod() { mn_pod_x "$1" "$2" busybox ping -c1 -W2 "$3"; }

ann() { kc get node "$1" -o jsonpath="{.metadata.annotations.k1s\.io/$2}"; }
cidr() { # NODE FAMILY(0|1): that node's podCIDR of the family
	kc get node "$1" -o jsonpath='{.spec.podCIDRs[*]}' | tr ' ' '\n' |
		if [ "$2" = 1 ]; then grep : ; else grep -v : ; fi
}
net_of() { echo "${1%/*}"; }
mac() { mn_x "$1" ip -br link show dev "$2" 2>/dev/null | awk '{print $3}'; }
count() { # NODE CMD...: number of output lines
	local i=$1; shift
	mn_x "$i" "$@" 2>/dev/null | grep -c .
}

# ---- dual stack, 3 nodes ---------------------------------------------------
MN_ZONES="z1 z2 z1"
MN_IMAGES=1
MN_AGENT_FLAGS="--network-resync-interval 1000"
mn_start 3 || { not_ok "3-node dual-stack cluster starts"; exit 1; }
ok "3-node dual-stack cluster starts"
expect_eq "zone labels" "z1 z2 z1" "$(for i in 1 2 3; do kc get node node$i -o jsonpath='{.metadata.labels.topology\.kubernetes\.io/zone} '; done | sed 's/ $//')"

published() {
	local i
	for i in 1 2 3; do
		[ "$(ann node$i vtep-mac6)" = "$(mac $i k1s.vx6 2>/dev/null)" ] || return 1
	done
}
check "every node publishes its VTEP MACs" poll 10 published
for i in 1 2 3; do
	expect_eq "node$i annotations" "vxlan $(mn_ip4 $i) $(mn_ip6 $i) $(mac $i k1s.vx4)" \
		"$(ann node$i network-backend) $(ann node$i public-ip) $(ann node$i public-ip6) $(ann node$i vtep-mac)"
done

# node I holds one route, neighbour and FDB entry per peer J and family
programmed() { # I J
	local i=$1 j=$2 c4 c6
	c4=$(cidr node$j 0) c6=$(cidr node$j 1)
	mn_x "$i" ip route show "$c4" | grep -q "via $(net_of "$c4") dev k1s.vx4 .*onlink" &&
	mn_x "$i" ip -6 route show "$c6" | grep -q "via $(net_of "$c6") dev k1s.vx6 .*onlink" &&
	mn_x "$i" ip neigh show "$(net_of "$c4")" dev k1s.vx4 | grep -q "lladdr $(ann node$j vtep-mac) PERMANENT" &&
	mn_x "$i" ip -6 neigh show "$(net_of "$c6")" dev k1s.vx6 | grep -q "lladdr $(ann node$j vtep-mac6) PERMANENT" &&
	mn_x "$i" bridge fdb show dev k1s.vx4 | grep -q "^$(ann node$j vtep-mac) dst $(mn_ip4 $j) self permanent" &&
	mn_x "$i" bridge fdb show dev k1s.vx6 | grep -q "^$(ann node$j vtep-mac6) dst $(mn_ip6 $j) self permanent"
}
for i in 1 2 3; do
	for j in 1 2 3; do
		[ $i = $j ] && continue
		check "node$i: route, neighbour and FDB entry towards node$j (IPv4 and IPv6)" poll 10 programmed $i $j
	done
done
expect_eq "node1: exactly 2 routes, 2 neighbours, 2 FDB entries per family" "2 2 2 2 2 2" \
	"$(count 1 ip route show dev k1s.vx4) $(count 1 ip neigh show dev k1s.vx4 nud permanent) $(count 1 bridge fdb show dev k1s.vx4) $(mn_x 1 ip -6 route show dev k1s.vx6 | grep -vc '^fe80') $(count 1 ip -6 neigh show dev k1s.vx6 nud permanent) $(count 1 bridge fdb show dev k1s.vx6)"
expect_eq "VXLAN devices: VNI, port, uplink, MTU = 1500 - overhead" "1 8472 eth0 1450 1 8472 eth0 1430" \
	"$(for d in vx4 vx6; do mn_x 1 ip -d -j link show k1s.$d | /usr/bin/python3 -c 'import json,sys; l=json.load(sys.stdin)[0]; d=l["linkinfo"]["info_data"]; print(d["id"], d["port"], d["link"], l["mtu"], end=" ")'; done | sed 's/ $//')"
expect_eq "the VXLAN devices hold the network addresses of the node's pod CIDRs" \
	"$(net_of "$(cidr node1 0)")/32 $(net_of "$(cidr node1 1)")/128" \
	"$(mn_x 1 ip -br addr show dev k1s.vx4 | awk '{print $3}') $(mn_x 1 ip -br -6 addr show dev k1s.vx6 scope global | awk '{print $3}')"
expect_eq "forwarding on for both families" "1 1" \
	"$(mn_x 2 cat /proc/sys/net/ipv4/ip_forward) $(mn_x 2 cat /proc/sys/net/ipv6/conf/all/forwarding)"

# traffic over the overlay: node1 reaches the addresses node2/node3 hold on
# their VXLAN devices, encapsulated to the peer
check "IPv4 over VXLAN: node1 -> node2" mn_x 1 busybox ping -c1 -W2 "$(net_of "$(cidr node2 0)")"
check "IPv6 over VXLAN: node1 -> node3" mn_x 1 busybox ping -6 -c1 -W2 "$(net_of "$(cidr node3 1)")"

# the masquerade table, and traffic from a pod address out to the internet
nft_has() { mn_x "$1" nft list table "$2" k1s-net | grep -q "$3"; }
check "ip k1s-net masquerades pod traffic leaving 10.42.0.0/16" nft_has 1 ip "ip saddr 10.42.0.0/16 masquerade fully-random"
check "ip6 k1s-net masquerades pod traffic leaving fd42::/56" nft_has 1 ip6 "ip6 saddr fd42::/56 masquerade fully-random"
check "traffic between pod CIDRs is not masqueraded" nft_has 1 ip "ip saddr 10.42.0.0/16 ip daddr 10.42.0.0/16 return"
check "pod traffic is accepted in forward" nft_has 1 ip6 "ip6 daddr fd42::/56 accept"
echo_server
expect_eq "IPv4 from a pod address reaches the internet masqueraded as the node" "$(mn_ip4 1)" \
	"$(echo_from 1 "$(net_of "$(cidr node1 0)")" 198.51.100.1)"
expect_eq "IPv6 from a pod address reaches the internet masqueraded as the node" "$(mn_ip6 1)" \
	"$(echo_from 1 "$(net_of "$(cidr node1 1)")" 2001:db8:1::1)"
expect_eq "node traffic itself is not masqueraded (control)" "$(mn_ip4 2)" "$(echo_from 2 "$(mn_ip4 2)" 198.51.100.1)"

# ---- pods: same node, across nodes, both families, to nodes, to the internet
mn_pod 1 a1; mn_pod 1 a2; mn_pod 2 b; mn_pod 3 c
check "pods run on node1 (2), node2 and node3" poll 60 eval "mn_pod_running a1 && mn_pod_running a2 && mn_pod_running b && mn_pod_running c"
expect_eq "podIPs: IPv4 first, then IPv6, from the node's podCIDRs" "$(net_of "$(cidr node2 0)" | sed 's/0$//') $(net_of "$(cidr node2 1)")" \
	"$(mn_pod_ip b 4 | sed 's/[0-9]*$//') $(mn_pod_ip b 6 | sed 's/[0-9a-f]*$//')"
hairpins() { # every port of node I's pod bridge is in hairpin mode
	local n
	n=$(mn_x "$1" bridge -d link show master k1s0 | grep -c 'state')
	[ "$n" -gt 0 ] && [ "$(mn_x "$1" bridge -d link show master k1s0 | grep -c 'hairpin on')" = "$n" ]
}
check "hairpin on every pod port of the bridge" poll 10 hairpins 1
# a pod's eth0 takes the overlay's MTU (the uplink's minus the VXLAN overhead
# of the IPv6 underlay, the larger): pods made after the first overlay sync
expect_eq "pods' eth0 MTU is the overlay's (1500 - 70)" 'mtu 1430' "$(mn_pod_x 2 b ip -o link show dev eth0 | grep -o 'mtu [0-9]*')"
for f in 4 6; do
	check "IPv$f pod to pod, same node (a1 -> a2)" ping_pod 1 a1 "$(mn_pod_ip a2 $f)"
	check "IPv$f pod to pod, across nodes (a1 on node1 -> b on node2)" ping_pod 1 a1 "$(mn_pod_ip b $f)"
	check "IPv$f pod to pod, across nodes, the other way (b -> a1)" ping_pod 2 b "$(mn_pod_ip a1 $f)"
	check "IPv$f pod to pod, node3 -> node1 (c -> a2)" ping_pod 3 c "$(mn_pod_ip a2 $f)"
done
check "IPv4 pod to its node" ping_pod 1 a1 "$(mn_ip4 1)"
check "IPv6 pod to its node" ping_pod 1 a1 "$(mn_ip6 1)"
check "IPv4 pod to another node" ping_pod 1 a1 "$(mn_ip4 3)"
check "IPv6 pod to another node" ping_pod 1 a1 "$(mn_ip6 3)"
check "IPv4 node to a pod on another node" mn_x 3 busybox ping -c1 -W2 "$(mn_pod_ip a1 4)"
expect_eq "IPv4 pod egress to the internet is masqueraded as its node" "$(mn_ip4 2)" \
	"$(echo_from_pod 2 b 198.51.100.1)"
expect_eq "IPv6 pod egress to the internet is masqueraded as its node" "$(mn_ip6 2)" \
	"$(echo_from_pod 2 b 2001:db8:1::1)"
# an echo inside pod b (its argument only marks it for the teardown)
(mn_pod_x 2 b /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 7777))
while True:
    d, a = s.recvfrom(100); s.sendto(a[0].encode(), a)
' "$MN_DIR" 2>/dev/null &)
expect_eq "pod to pod across nodes keeps the pod's address (no masquerade)" "$(mn_pod_ip a1 4)" \
	"$(sleep 0.3; mn_pod_x 1 a1 /usr/bin/python3 -c "$ECHO_CLIENT" "" "$(mn_pod_ip b 4)")"

# an agent restart keeps the kernel state; the restarted agent changes nothing
mn_agent_stop 2
check "a stopped agent leaves its overlay in place" programmed 2 1
lines=$(wc -l < "$MN_DIR/agent2.log")
# a pod that exists before the agent starts is wired at once, before the
# overlay's first sync: it gets the MTU computed from the uplink at start
mn_pod 2 early
mn_agent_start 2
since_restart() { tail -n +$((lines + 1)) "$MN_DIR/agent2.log"; }
check "the restarted agent re-syncs" poll 10 eval "since_restart | grep -q 'pod MTU'"
expect_eq "... without changing anything" 0 "$(since_restart | grep -c 'entries added\|table written')"
check "node1 still reaches node2 after the restart" mn_x 1 busybox ping -c1 -W2 "$(net_of "$(cidr node2 0)")"
check "pods stay connected across the agent restart (a1 -> b, IPv4 and IPv6)" \
	eval "ping_pod 1 a1 $(mn_pod_ip b 4) && ping_pod 1 a1 $(mn_pod_ip b 6)"
check "a pod wired right at agent start runs" poll 60 mn_pod_running early
expect_eq "... with the overlay's MTU (1500 - 70), not 1500" 'mtu 1430' \
	"$(mn_pod_x 2 early ip -o link show dev eth0 | grep -o 'mtu [0-9]*')"
check "... logged at start" eval "since_restart | grep -q 'pods get MTU 1430'"

# drift: an entry removed behind the agent's back comes back on the next
# periodic sync (every second here)
mn_x 1 ip route del "$(cidr node3 0)"
check "a deleted route is restored" poll 10 programmed 1 3
mn_x 1 ip neigh del "$(net_of "$(cidr node3 0)")" dev k1s.vx4
mn_x 1 bridge fdb del "$(ann node3 vtep-mac6)" dev k1s.vx6 dst "$(mn_ip6 3)" self
check "a deleted neighbour and FDB entry are restored" poll 10 programmed 1 3
# ... and inside k1s's own nftables table: a rule deleted by hand
masq_handle() { mn_x 1 nft -a list chain ip k1s-net postrouting | sed -n 's/.*masquerade.*# handle //p'; }
check "the masquerade rule of k1s-net deleted by hand" mn_x 1 nft delete rule ip k1s-net postrouting handle "$(masq_handle)"
check "... is restored by the next sync" poll 10 nft_has 1 ip "ip saddr 10.42.0.0/16 masquerade fully-random"

# a node that goes away takes its entries with it, on every other node
c3_4=$(cidr node3 0) c3_6=$(cidr node3 1)
mn_agent_stop 3
kc delete node node3 >/dev/null
gone3() {
	local i
	for i in 1 2; do
		[ -z "$(mn_x $i ip route show "$c3_4")" ] && [ -z "$(mn_x $i ip -6 route show "$c3_6")" ] &&
		! mn_x $i ip neigh show nud permanent | grep -q "$(net_of "$c3_4")\|$(net_of "$c3_6") " &&
		! mn_x $i bridge fdb show | grep -q "dst $(mn_ip4 3)\|dst $(mn_ip6 3)" || return 1
	done
}
check "deleting node3 removes its routes, neighbours and FDB entries on node1 and node2" poll 10 gone3
check "node1 still reaches node2" mn_x 1 busybox ping -c1 -W2 "$(net_of "$(cidr node2 0)")"
mn_agent_stop 2
kc delete node node2 >/dev/null
check "with no peer left, node1 has no VXLAN device" \
	poll 10 eval "! mn_x 1 ip link show k1s.vx4 >/dev/null 2>&1 && ! mn_x 1 ip link show k1s.vx6 >/dev/null 2>&1"
expect_eq "... and no route into the cluster CIDRs but its own" "" \
	"$(mn_x 1 ip route | grep '^10\.42\.' | grep -v 'dev k1s0 '; mn_x 1 ip -6 route | grep '^fd42:' | grep -v 'dev k1s0 ')"

# host-gw: plain routes via the peers' node addresses, no VXLAN device
mn_agent_stop 1
MN_AGENT_FLAGS="--network-backend host-gw --network-resync-interval 1000"
mn_agent_start 1
mn_agent_start 2
poll 20 mn_node_ready node2 && mn_assign_cidrs 2
mn_hostgw() {
	local c4 c6
	c4=$(cidr node2 0) c6=$(cidr node2 1)
	[ -n "$c4" ] && [ "$(ann node1 network-backend)" = host-gw ] &&
	mn_x 1 ip route show "$c4" | grep -q "via $(mn_ip4 2) dev eth0" &&
	mn_x 1 ip -6 route show "$c6" | grep -q "via $(mn_ip6 2) dev eth0"
}
check "host-gw: node1 routes node2's pod CIDRs via node2's addresses" poll 20 mn_hostgw
mn_pod 2 b2
if poll 60 mn_pod_running b2; then
	check "host-gw: IPv4 pod to pod across nodes" ping_pod 1 a1 "$(mn_pod_ip b2 4)"
	check "host-gw: IPv6 pod to pod across nodes" ping_pod 1 a1 "$(mn_pod_ip b2 6)"
else
	not_ok "host-gw: a pod runs on the re-registered node2"
fi
expect_eq "host-gw: no VXLAN device, no VTEP annotation" "0 " \
	"$(mn_x 1 ip -o link show type vxlan | grep -c k1s) $(ann node1 vtep-mac)"
MN_AGENT_FLAGS=
mn_agent_stop 2

# --network-iface is honoured exactly: a missing interface is an error, not
# a silent fallback to another NIC
mn_agent_start 3 --network-iface nosuch0
check "--network-iface names a missing interface: the agent says so" \
	poll 10 grep -q "network interface 'nosuch0' not found" "$MN_DIR/agent3.log"
mn_agent_stop 3
mn_agent_stop 1

# clean-up leaves nothing: namespaces (and their links and tables), processes
mn_teardown
expect_eq "teardown leaves no namespace and no process" "0 0" \
	"$(ip netns list | grep -c "^$MN-") $(pgrep -fc "$MN_DIR")"

# ---- single-stack variants, 2 nodes -----------------------------------------
single_stack() { # FAMILY
	local fam=$1 dev=k1s.vx4 other=k1s.vx6 tbl=ip none=ip6 c
	[ "$fam" = ipv6 ] && dev=k1s.vx6 other=k1s.vx4 tbl=ip6 none=ip
	MN=k1s-t-$$-$fam MN_FAMILIES=$fam MN_PID=() MN_IMAGES=${K1S_TEST_HEAVY:+1}
	mn_start 2 || { not_ok "$fam: 2-node cluster starts"; return; }
	local v=(); [ "$fam" = ipv6 ] && v=(-6)
	c=$(kc get node node2 -o jsonpath='{.spec.podCIDRs[0]}')
	check "$fam: node1 routes node2's pods over $dev" \
		poll 10 eval "mn_x 1 ip ${v[*]} route show '$c' | grep -q 'dev $dev'"
	expect_eq "$fam: no device, no table for the other family" "0 1" \
		"$(mn_x 1 ip -o link show | grep -c "$other") $(mn_x 1 nft list tables | grep -c "$none k1s-net\|$tbl k1s-net")"
	check "$fam: traffic over VXLAN" mn_x 1 busybox ping "${v[@]}" -c1 -W2 "${c%/*}"
	if [ -n "$MN_IMAGES" ]; then	# K1S_TEST_HEAVY=1: pods too
		mn_pod 1 sx; mn_pod 2 sy; echo_server
		if poll 60 eval "mn_pod_running sx && mn_pod_running sy"; then
			expect_eq "$fam: one pod IP, of the cluster's family" 1 \
				"$(kc get pod sx -o jsonpath='{.status.podIPs[*].ip}' | wc -w)"
			check "$fam: pod to pod across nodes" ping_pod 1 sx "$(kc get pod sy -o jsonpath='{.status.podIP}')"
			expect_eq "$fam: pod egress masqueraded" "$( [ $fam = ipv6 ] && mn_ip6 2 || mn_ip4 2)" \
				"$(echo_from_pod 2 sy "$( [ $fam = ipv6 ] && echo 2001:db8:1::1 || echo 198.51.100.1)")"
		else
			not_ok "$fam: pods run"
		fi
	fi
	mn_teardown
}
single_stack ipv4
single_stack ipv6
exit $_failed
