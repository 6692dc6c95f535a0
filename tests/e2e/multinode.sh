# tests/e2e/multinode.sh - multi-node k1s clusters on one machine, each node
# a network namespace on a test "LAN". Source it from a *.test.sh (after
# lib.sh, which it sources itself).
#
#                          [$MN-lan]  bridge lan0
#        .--------------.--------------+--------------.--------------.
#   [$MN-n1]        [$MN-n2]       [$MN-n3]   ...          [$MN-inet] "the internet"
#   eth0 .11/::11   eth0 .12/::12  eth0 .13/::13           eth0 192.168.77.254, fd77::fe
#   server + agent  agent          agent                   lo 198.51.100.1, 2001:db8:1::1
#   default routes of every node: via 192.168.77.254 / fd77::fe
#
# LAN: 192.168.77.0/24 and fd77::/64; node i has .1i / ::1i. The "internet"
# namespace has no route to the pod CIDRs, so only masqueraded pod traffic
# gets answers from it.
#
#   mn_start N              builds the namespaces and starts the server in
#                           node 1 and an agent in every node (node1..nodeN);
#                           waits until all are Ready and have podCIDRs
#   mn_ns I                 the netns name of node I ("inet" for the internet)
#   mn_x I CMD...           runs CMD in node I's network namespace (host mount ns)
#   mn_bg NAME I CMD...     the same in the background, pid in MN_PID[NAME]
#                           (killed on teardown)
#   mn_assign_cidrs I       gives node I its podCIDRs unless it has some
#   kc ARGS...              kubectl as admin (run inside node 1)
#   mn_agent_start I [FLAGS]  (re)starts node I's agent; mn_agent_stop I stops it
#   mn_server_stop          stops the server
#
# Options (environment, read by mn_start):
#   MN_FAMILIES   dual (default) | ipv4 | ipv6: LAN addresses and cluster CIDRs
#   MN_ZONES      "z1 z2 z1": topology.kubernetes.io/zone label per node
#   MN_AGENT_FLAGS  extra flags for every agent (e.g. --network-backend host-gw)
#   MN_SERVER_FLAGS extra flags for the server
#   MN_JOIN       "2 3": these nodes' agents join with the cluster token
#                 (node credentials, the node authorizer) instead of the
#                 admin kubeconfig
#   MN_IMAGES     non-empty: build the test images (tests/images/build.sh) and
#                 import k1s.local/busybox:test on every node
#
# Everything is torn down on exit, even on failure: processes (agents, the
# server, anything else started with the data dirs in its command line),
# mounts under the data dirs, the namespaces (and with them every link,
# route and nftables table inside), the data dirs.
#
# Processes run under `nsenter --net=/run/netns/NAME`, not `ip netns exec`,
# so they share the host's mount namespace (see DESIGN.md, Testing).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MN=k1s-t-$$
MN_N=0
MN_DIR=
MN_FAMILIES=${MN_FAMILIES:-dual}
MN_ZONES=${MN_ZONES:-}
MN_AGENT_FLAGS=${MN_AGENT_FLAGS:-}
MN_SERVER_FLAGS=${MN_SERVER_FLAGS:-}
MN_IMAGES=${MN_IMAGES:-}
MN_JOIN=${MN_JOIN:-}
MN_PORT=6443
declare -A MN_PID=()

mn_ns() { echo "$MN-$( [ "$1" = inet ] && echo inet || echo "n$1")"; }
mn_x() { local i=$1; shift; nsenter --net="/run/netns/$(mn_ns "$i")" "$@"; }
# mn_bg NAME I CMD...: CMD in node I's namespace in the background, its pid
# (the process itself, not a subshell) in MN_PID[NAME]
mn_bg() {
	local name=$1 i=$2; shift 2
	nsenter --net="/run/netns/$(mn_ns "$i")" "$@" &
	MN_PID[$name]=$!
}
mn_ip4() { echo "192.168.77.1$1"; }
mn_ip6() { echo "fd77::1$1"; }
kc() { mn_x 1 kubectl --kubeconfig "$MN_DIR/admin.yaml" "$@"; }

mn_teardown() {
	local p r c
	for p in "${MN_PID[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${MN_PID[@]}"; do wait "$p" 2>/dev/null; done
	if [ -n "$MN_DIR" ]; then
		for p in $(pgrep -f "k1s (agent|server) .*$MN_DIR"); do kill -9 "$p" 2>/dev/null; done
		for r in "$MN_DIR"/n*/runc; do
			[ -d "$r" ] || continue
			for c in $(runc --root "$r" list -q 2>/dev/null); do runc --root "$r" delete -f "$c"; done
		done
		for p in $(pgrep -f "$MN_DIR"); do kill -9 "$p" 2>/dev/null; done
		findmnt -rn -o TARGET | grep "^$MN_DIR/" | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null
		done
		for c in /sys/fs/cgroup/*/"$MN"-n* /sys/fs/cgroup/"$MN"-n*; do
			[ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
		done
	fi
	for p in $(ip netns list | awk '{print $1}' | grep "^$MN-"); do ip netns del "$p"; done
	MN_PID=()
}

mn_logs_on_failure() {
	local f
	[ "$_failed" = 0 ] && return
	for f in "$MN_DIR"/*.log; do
		echo "# $(basename "$f") (tail):"
		tail -n 15 "$f" | sed 's/^/# /'
	done
}

# Links NAME (a new namespace) to the LAN with addresses ip4/ip6 (either "").
mn_link() {
	local name=$1 ip4=$2 ip6=$3 ns=$MN-$1
	ip netns add "$ns" || return 1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip link add "k1st$$$name" type veth peer name eth0 netns "$ns" || return 1
	ip link set "k1st$$$name" netns "$MN-lan" || return 1
	ip -n "$MN-lan" link set "k1st$$$name" master lan0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	[ -n "$ip4" ] && ip -n "$ns" addr add "$ip4/24" dev eth0
	[ -n "$ip6" ] && ip -n "$ns" addr add "$ip6/64" dev eth0 nodad
	return 0
}

mn_net_setup() {
	local i ip4 ip6
	ip netns add "$MN-lan" || return 1
	ip -n "$MN-lan" link add lan0 type bridge || return 1
	ip -n "$MN-lan" link set lan0 up
	mn_link inet 192.168.77.254 fd77::fe || return 1
	ip -n "$MN-inet" addr add 198.51.100.1/32 dev lo
	ip -n "$MN-inet" addr add 2001:db8:1::1/128 dev lo
	for i in $(seq "$MN_N"); do
		ip4=$(mn_ip4 "$i") ip6=$(mn_ip6 "$i")
		[ "$MN_FAMILIES" = ipv6 ] && ip4=
		[ "$MN_FAMILIES" = ipv4 ] && ip6=
		mn_link "n$i" "$ip4" "$ip6" || return 1
		[ -n "$ip4" ] && ip -n "$MN-n$i" route add default via 192.168.77.254
		[ -n "$ip6" ] && ip -n "$MN-n$i" -6 route add default via fd77::fe
	done
	return 0
}

mn_cidrs() {
	case $MN_FAMILIES in
	ipv4) echo "--cluster-cidr 10.42.0.0/16 --service-cidr 10.43.0.0/16" ;;
	ipv6) echo "--cluster-cidr fd42::/56 --service-cidr fd43::/112" ;;
	*) echo "--cluster-cidr 10.42.0.0/16,fd42::/56 --service-cidr 10.43.0.0/16,fd43::/112" ;;
	esac
}

mn_server_start() {
	local host=$(mn_ip4 1)
	[ "$MN_FAMILIES" = ipv6 ] && host="[$(mn_ip6 1)]"
	mkdir -p "$MN_DIR/n1"
	# shellcheck disable=SC2046,SC2086
	mn_bg server 1 "$K1S" server --disable-agent --data-dir "$MN_DIR/n1/server" \
		--https-listen-port "$MN_PORT" --tls-san "$(mn_ip4 1)" --tls-san "$(mn_ip6 1)" \
		--write-kubeconfig "$MN_DIR/admin.yaml" --ready-file "$MN_DIR/ready" \
		$(mn_cidrs) $MN_SERVER_FLAGS > "$MN_DIR/server.log" 2>&1
	poll 20 test -f "$MN_DIR/ready" || return 1
	sed "s#server: https://[^ ]*#server: https://$host:$MN_PORT#" "$MN_DIR/admin.yaml" > "$MN_DIR/agent.yaml"
}

mn_server_stop() {
	kill "${MN_PID[server]}" 2>/dev/null
	wait "${MN_PID[server]}" 2>/dev/null
}

mn_agent_start() {
	local i=$1 ips=() zone auth=(--kubeconfig "$MN_DIR/agent.yaml")
	shift
	case " $MN_JOIN " in *" $i "*)
		auth=(--server "$(sed -n 's/^ *server: //p' "$MN_DIR/agent.yaml")"
		      --token "$(cat "$MN_DIR/n1/server/server/token")") ;;
	esac
	[ "$MN_FAMILIES" != ipv6 ] && ips+=(--node-ip "$(mn_ip4 "$i")")
	[ "$MN_FAMILIES" != ipv4 ] && ips+=(--node-ip "$(mn_ip6 "$i")")
	zone=$(echo "$MN_ZONES" | awk -v i="$i" '{print $i}')
	[ -n "$zone" ] && ips+=(--node-label "topology.kubernetes.io/zone=$zone")
	if [ -n "$MN_IMAGES" ] && [ ! -d "$MN_DIR/n$i/agent/images/import" ]; then
		mkdir -p "$MN_DIR/n$i/agent/images/import"
		cp "$MN_DIR/img/busybox.tar" "$MN_DIR/n$i/agent/images/import/"
	fi
	# shellcheck disable=SC2086
	mn_bg "agent$i" "$i" "$K1S" agent "${auth[@]}" --node-name "node$i" \
		"${ips[@]}" --data-dir "$MN_DIR/n$i/agent" $(mn_cidrs | cut -d' ' -f1-2) \
		--runc-root "$MN_DIR/n$i/runc" --cgroup-parent "/$MN-n$i" --pod-backoff-min 1000 \
		--lease-renew-interval 1000 --node-status-check-interval 500 \
		$MN_AGENT_FLAGS "$@" >> "$MN_DIR/agent$i.log" 2>&1
}

mn_agent_stop() {
	local p=${MN_PID[agent$1]:-}
	[ -z "$p" ] && return 0
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	unset "MN_PID[agent$1]"
}

mn_node_ready() {
	[ "$(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

mn_has_cidrs() { [ -n "$(kc get node "$1" -o jsonpath='{.spec.podCIDRs}')" ]; }

# Without a node IPAM controller in the server (it comes with the pod
# worker), the harness gives node i the podCIDRs it would: 10.42.(i-1).0/24
# and fd42:0:0:(i-1)::/64.
mn_assign_cidrs() {
	local i=$1 c=()
	mn_has_cidrs "node$i" && return 0
	[ "$MN_FAMILIES" != ipv6 ] && c+=("\"10.42.$((i - 1)).0/24\"")
	[ "$MN_FAMILIES" != ipv4 ] && c+=("\"fd42:0:0:$((i - 1))::/64\"")
	[ "$MN_FAMILIES" != ipv4 ] && [ "$i" = 1 ] && c[-1]='"fd42::/64"'
	kc patch node "node$i" -p "{\"spec\":{\"podCIDRs\":[$(IFS=,; echo "${c[*]}")]}}" >/dev/null
}

mn_start() {
	local i
	MN_N=$1
	MN_DIR=$(mktemp -d /tmp/k1s-mn-XXXXXX)
	on_exit "rm -rf '$MN_DIR'"
	on_exit mn_teardown
	on_exit mn_logs_on_failure
	if [ -n "$MN_IMAGES" ]; then
		bash "$(dirname "${BASH_SOURCE[0]}")/../images/build.sh" "$MN_DIR/img" >/dev/null ||
			{ echo "# cannot build the test images"; return 1; }
	fi
	mn_net_setup || { echo "# cannot build the namespaces"; return 1; }
	mn_server_start || { echo "# server did not start"; return 1; }
	for i in $(seq "$MN_N"); do mn_agent_start "$i"; done
	for i in $(seq "$MN_N"); do
		poll 20 mn_node_ready "node$i" || { echo "# node$i not Ready"; return 1; }
	done
	if ! "$K1S" server --help 2>&1 | grep -q node-cidr-mask-size; then
		for i in $(seq "$MN_N"); do mn_assign_cidrs "$i"; done
	fi
	for i in $(seq "$MN_N"); do
		poll 10 mn_has_cidrs "node$i" || { echo "# node$i has no podCIDRs"; return 1; }
	done
}

# mn_pod I NAME [COMMAND] [LABELS]: a busybox pod on node I (spec.nodeName),
# running COMMAND (default: sleep), in the default namespace; LABELS: YAML
# flow mapping entries ("app: web, tier: x").
mn_pod() {
	local i=$1 name=$2 cmd=${3:-sleep 3600} labels=
	[ -n "${4:-}" ] && labels=", labels: {$4}"
	kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $name$labels}
spec:
  nodeName: node$i
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: k1s.local/busybox:test
    command: [sh, -c, '$cmd']
EOF
}
mn_pod_running() { [ "$(kc get pod "$1" -o jsonpath='{.status.phase}')" = Running ]; }
# mn_pod_x I POD CMD...: CMD (from the host) in the network namespace of POD
# on node I (through its sandbox's pid in runc's state).
mn_pod_x() {
	local i=$1 pod=$2 uid pid
	shift 2
	uid=$(kc get pod "$pod" -o jsonpath='{.metadata.uid}')
	pid=$(runc --root "$MN_DIR/n$i/runc" state "$uid" 2>/dev/null | sed -n 's/^ *"pid": \([0-9]*\),/\1/p')
	[ -n "$pid" ] || return 1
	nsenter --net="/proc/$pid/ns/net" "$@"
}
# mn_pod_ip POD FAMILY(4|6)
mn_pod_ip() {
	kc get pod "$1" -o jsonpath='{.status.podIPs[*].ip}' | tr ' ' '\n' |
		if [ "$2" = 6 ]; then grep :; else grep -v :; fi
}
