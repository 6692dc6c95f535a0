#!/usr/bin/env bash
# The service proxy moving real packets, in namespaces this test makes:
#
#   [k1s-px-PID-cli]  eth0 10.0.1.2/24 fd00:1::2/64, default via the node
#          | veth
#   [k1s-px-PID-node] c0 10.0.1.1/24 fd00:1::1/64    (proxy tables here;
#                     p1 10.42.1.1/24 fd42:1::1/64    veth svc0 routes the
#                     p2 10.42.2.1/24 fd42:2::1/64    service CIDRs nowhere)
#          | veth                    | veth
#   [k1s-px-PID-pod1] 10.42.1.2      [k1s-px-PID-pod2] 10.42.2.2
#                     fd42:1::2                        fd42:2::2
#   busybox httpd :8080 in each pod; /cgi-bin/who answers "<pod> <client addr>"
#
# The node's rules come from Service and EndpointSlice JSON through
# `bench-proxy apply` (the proxy library with its decoders, one full sync).
# Every namespace and server is removed on exit, however the test ends.
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}

if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1 || ! command -v nft >/dev/null; then
	ok "proxy: skipped (needs root, ip netns and nft)"
	exit 0
fi
make -s "BUILD=$BUILD" "$BUILD/bench-proxy" >/dev/null || { not_ok "build bench-proxy"; exit 1; }
APPLY="$BUILD/bench-proxy apply"

P=k1s-px-$$
for n in cli node pod1 pod2; do
	ip netns add "$P-$n" || { not_ok "netns $n"; exit 1; }
	on_exit "ip netns del '$P-$n'"
done
nx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
tmpdir dir

link() { # link NS IFNAME-ON-NODE ADDR4 NODE4 ADDR6 NODE6
	ip link add "$2" netns "$P-node" type veth peer name eth0 netns "$P-$1"
	nx node ip addr add "$4/24" dev "$2"
	nx node ip addr add "$6/64" dev "$2" nodad
	nx node ip link set "$2" up
	nx "$1" ip addr add "$3/24" dev eth0
	nx "$1" ip addr add "$5/64" dev eth0 nodad
	nx "$1" ip link set eth0 up
	nx "$1" ip link set lo up
	nx "$1" ip route add default via "$4"
	nx "$1" ip -6 route add default via "$6"
}
link cli c0 10.0.1.2 10.0.1.1 fd00:1::2 fd00:1::1
link pod1 p1 10.42.1.2 10.42.1.1 fd42:1::2 fd42:1::1
link pod2 p2 10.42.2.2 10.42.2.1 fd42:2::2 fd42:2::1
nx node ip link set lo up
nx node sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
nx node ip link add svc0 type veth peer name svc1
nx node ip link set svc1 up
nx node ip link set svc0 up
nx node ip route add 10.43.0.0/16 dev svc0
nx node ip -6 route add fd43::/112 dev svc0

for pod in pod1 pod2; do
	mkdir -p "$dir/$pod/cgi-bin"
	printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "%s $REMOTE_ADDR"\n' "$pod" \
		> "$dir/$pod/cgi-bin/who"
	chmod +x "$dir/$pod/cgi-bin/who"
	ip netns exec "$P-$pod" busybox httpd -f -p 8080 -h "$dir/$pod" &
	on_exit "kill $!"
done

slice() { # slice SERVICE FAMILY ADDR:NODE...
	local svc=$1 fam=$2 eps="" a; shift 2
	for a in "$@"; do
		eps="$eps${eps:+,}{\"addresses\":[\"${a%%@*}\"],\"conditions\":{\"ready\":true},\"nodeName\":\"${a##*@}\"}"
	done
	echo "{\"kind\":\"EndpointSlice\",\"metadata\":{\"namespace\":\"default\",\"name\":\"$svc-$fam\",
\"labels\":{\"kubernetes.io/service-name\":\"$svc\"}},\"addressType\":\"$fam\",
\"ports\":[{\"name\":\"http\",\"port\":8080}],\"endpoints\":[$eps]}"
}
service() { # service NAME CLUSTER-IPS-JSON NODEPORT POLICY [AFFINITY]
	local first=${2#\[\"}
	first=${first%%\"*}
	echo "{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"default\",\"name\":\"$1\"},
\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"$first\",\"clusterIPs\":$2,\"externalTrafficPolicy\":\"$4\",
\"sessionAffinity\":\"${5:-None}\",
\"ports\":[{\"name\":\"http\",\"port\":80,\"nodePort\":$3}]}}"
}
cat > "$dir/objects.json" <<EOF
[$(service web '["10.43.0.10","fd43::10"]' 30080 Cluster),
 $(slice web IPv4 10.42.1.2@node 10.42.2.2@other),
 $(slice web IPv6 fd42:1::2@node fd42:2::2@other),
 $(service local '["10.43.0.11"]' 30081 Local),
 $(slice local IPv4 10.42.1.2@node 10.42.2.2@other),
 $(service sticky '["10.43.0.12"]' 30082 Cluster ClientIP),
 $(slice sticky IPv4 10.42.1.2@node 10.42.2.2@other),
 $(service self '["10.43.0.13","fd43::13"]' 30083 Cluster),
 $(slice self IPv4 10.42.1.2@node),
 $(slice self IPv6 fd42:1::2@node),
 $(service empty '["10.43.0.50","fd43::50"]' 30099 Cluster)]
EOF
check "rules applied from Service and EndpointSlice JSON" \
	nx node $APPLY --node node --cluster-cidr 10.42.0.0/16 --cluster-cidr fd42::/16 "$dir/objects.json"

get() { nx cli curl -sS -m 3 "http://$1/cgi-bin/who" 2>&1; }
poll 10 nx cli curl -sf -m 1 http://10.0.1.1:30080/cgi-bin/who || not_ok "servers answer through the node"

# spread URL: the pods that answered 20 requests, sorted and unique
spread() {
	local i out=""
	for i in $(seq 20); do out="$out $(get "$1" | awk '{print $1}')"; done
	echo $out | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//'
}
expect_eq "ClusterIP IPv4: both endpoints answer" "pod1 pod2" "$(spread 10.43.0.10)"
expect_eq "ClusterIP IPv6: both endpoints answer" "pod1 pod2" "$(spread '[fd43::10]')"
expect_eq "NodePort IPv4: both endpoints answer" "pod1 pod2" "$(spread 10.0.1.1:30080)"
out=$(spread 10.43.0.12)
case "$out" in
pod1 | pod2) ok "sessionAffinity ClientIP: one endpoint answers every request" ;;
*) not_ok "sessionAffinity ClientIP: one endpoint answers every request" "$out" ;;
esac
expect_eq "NodePort IPv6: both endpoints answer" "pod1 pod2" "$(spread '[fd00:1::1]:30080')"
# every node address answers (the pod-facing ones too), a non-local
# destination with the NodePort's port is not proxied (svc0 leads nowhere)
check "NodePort answers on another node address (IPv4)" nx cli curl -sf -m 2 http://10.42.1.1:30080/cgi-bin/who
check "NodePort answers on another node address (IPv6)" nx cli curl -sf -m 2 'http://[fd42:2::1]:30080/cgi-bin/who'
expect_eq "the NodePort's port on a non-local address is not proxied (IPv4)" "" \
	"$(nx cli curl -s -m 1 http://10.43.9.9:30080/cgi-bin/who 2>/dev/null)"
expect_eq "the NodePort's port on a non-local address is not proxied (IPv6)" "" \
	"$(nx cli curl -s -m 1 'http://[fd43::99]:30080/cgi-bin/who' 2>/dev/null)"

out=$(get 10.0.1.1:30080)
case "$out" in
pod?" [::ffff:10.42."*) ok "ETP Cluster NodePort: the client is masqueraded to the node" ;;
*) not_ok "ETP Cluster NodePort: the client is masqueraded to the node" "$out" ;;
esac
expect_eq "ETP Local: only the local endpoint, client source kept" "pod1 [::ffff:10.0.1.2]" \
	"$(for i in $(seq 10); do get 10.0.1.1:30081; done | sort -u)"

# hairpin: a pod reaching itself through a service is masqueraded to the
# node (else its answer would bypass the DNAT); another pod keeps its source
expect_eq "hairpin IPv4: a pod reaches itself via its service, masqueraded" \
	"pod1 [::ffff:10.42.1.1]" "$(nx pod1 curl -sS -m 3 http://10.43.0.13/cgi-bin/who 2>&1)"
expect_eq "hairpin IPv6: a pod reaches itself via its service, masqueraded" \
	"pod1 [fd42:1::1]" "$(nx pod1 curl -sS -m 3 'http://[fd43::13]/cgi-bin/who' 2>&1)"
expect_eq "not hairpin IPv4: another pod keeps its source address" \
	"pod1 [::ffff:10.42.2.2]" "$(nx pod2 curl -sS -m 3 http://10.43.0.13/cgi-bin/who 2>&1)"
expect_eq "not hairpin IPv6: another pod keeps its source address" \
	"pod1 [fd42:2::2]" "$(nx pod2 curl -sS -m 3 'http://[fd43::13]/cgi-bin/who' 2>&1)"

refused() { # refused URL: the connection fails (curl 7), well within a second
	local t0 t1 rc
	t0=$(date +%s%N)
	nx cli curl -s -m 3 "http://$1/" >/dev/null 2>&1
	rc=$?
	t1=$(date +%s%N)
	[ "$rc" = 7 ] && [ $(( (t1 - t0) / 1000000 )) -lt 1000 ]
}
check "no endpoints: ClusterIP IPv4 refused fast" refused 10.43.0.50
check "no endpoints: ClusterIP IPv6 refused fast" refused '[fd43::50]'
check "no endpoints: NodePort refused fast" refused 10.0.1.1:30099
expect_eq "an unknown port of the node is not answered by the proxy" "" \
	"$(nx cli curl -s -m 1 http://10.0.1.1:30555/ 2>/dev/null)"
exit "$_failed"
