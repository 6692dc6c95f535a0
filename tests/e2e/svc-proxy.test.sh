#!/usr/bin/env bash
# The agent's service proxy driven from the API, in namespaces this test makes:
#
#   [k1s-sp-PID-cli]  eth0 10.0.1.2/24 fd00:1::2/64, default via the node
#          | veth
#   [k1s-sp-PID-node] c0 10.0.1.1/24 fd00:1::1/64   k1s server (127.0.0.1) and
#                     p1 10.42.1.1/24 fd42:1::1/64   `k1s agent --node-name n1`
#                     p2 10.42.2.1/24 fd42:2::1/64   with its proxy; kubectl runs here
#          | veth                    | veth
#   [k1s-sp-PID-pod1] 10.42.1.2      [k1s-sp-PID-pod2] 10.42.2.2
#                     fd42:1::2                        fd42:2::2
#   busybox httpd :8080 in each "pod"; /cgi-bin/who answers "<pod> <client addr>"
#
# No pods: Services are selectorless, their endpoints come from hand-made
# Endpoints (mirrored into EndpointSlices by the server) or EndpointSlices.
# Everything is removed on exit, however the test ends.
. "$(dirname "$0")/cluster.sh"

if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1 || ! command -v nft >/dev/null; then
	ok "svc-proxy: skipped (needs root, ip netns and nft)"
	exit 0
fi
K1S=$(realpath "$K1S")
P=k1s-sp-$$
for n in cli node pod1 pod2; do
	ip netns add "$P-$n" || { not_ok "netns $n"; exit 1; }
	on_exit "ip netns del '$P-$n'"
done
nx() { local n=$1; shift; nsenter --net="/run/netns/$P-$n" "$@"; }
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
# the node routes the service CIDRs nowhere (as a real node without a route)
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
	nsenter --net="/run/netns/$P-$pod" busybox httpd -f -p 8080 -h "$dir/$pod" &
	on_exit "kill $!"
done

# the server and kubectl live in the node namespace (its loopback)
PORT=$(free_port)
KUBECONFIG=$dir/kubeconfig.yaml
nsenter --net="/run/netns/$P-node" "$K1S" server --disable-agent --data-dir "$dir/srv" --https-listen-port "$PORT" \
	--write-kubeconfig "$KUBECONFIG" --ready-file "$dir/ready" > "$dir/server.log" 2>&1 &
SERVER_PID=$!
on_exit "kill -9 $SERVER_PID; wait $SERVER_PID"
on_exit "[ \$_failed = 0 ] || { echo '# server log (tail):'; tail -n 30 '$dir/server.log' | sed 's/^/# /'; }"
poll 20 test -f "$dir/ready" || { not_ok "server starts"; exit 1; }
kc() { nx node kubectl --kubeconfig "$KUBECONFIG" "$@"; }

K1S_DISABLE_PROXY= nsenter --net="/run/netns/$P-node" "$K1S" agent --kubeconfig "$KUBECONFIG" --node-name n1 \
	--node-ip 10.0.1.1 --node-ip fd00:1::1 --node-label topology.kubernetes.io/zone=z1 \
	--cluster-cidr 10.42.0.0/16,fd42::/32 --data-dir "$dir/agent" > "$dir/agent.log" 2>&1 &
AGENT_PID=$!
on_exit "kill -9 $AGENT_PID; wait $AGENT_PID"
on_exit "[ \$_failed = 0 ] || { echo '# agent log (tail):'; tail -n 30 '$dir/agent.log' | sed 's/^/# /'; }"
check "the agent's proxy makes its first full sync" poll 20 grep -q "proxy: full sync" "$dir/agent.log"
check "our tables exist in both families" eval "nx node nft list table ip k1s-proxy >/dev/null && nx node nft list table ip6 k1s-proxy >/dev/null"

get() { nx cli curl -sS -m 3 "http://$1/cgi-bin/who" 2>&1; }
spread() { # the pods that answered 20 requests, sorted and unique
	local i out=""
	for i in $(seq 20); do out="$out $(get "$1" | awk '{print $1}')"; done
	echo $out | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# a selectorless dual-stack Service with hand-made Endpoints (mirrored to slices)
kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ipFamilyPolicy: PreferDualStack
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets:
- addresses: [{ip: 10.42.1.2, nodeName: n1}, {ip: 10.42.2.2, nodeName: n2},
              {ip: "fd42:1::2", nodeName: n1}, {ip: "fd42:2::2", nodeName: n2}]
  ports: [{name: http, port: 8080}]
EOF
cip=$(kc get svc web -o jsonpath='{.spec.clusterIPs[0]}')
cip6=$(kc get svc web -o jsonpath='{.spec.clusterIPs[1]}')
check "Endpoints mirrored into an EndpointSlice" poll 10 eval "kc get endpointslices -l kubernetes.io/service-name=web,endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io -o name | grep -q ."
check "ClusterIP answers from the client namespace" poll 10 nx cli curl -sf -m 1 "http://$cip/cgi-bin/who"
expect_eq "ClusterIP IPv4: both endpoints answer" "pod1 pod2" "$(spread "$cip")"
expect_eq "ClusterIP IPv6: both endpoints answer" "pod1 pod2" "$(spread "[$cip6]")"

# ServiceLB without a pool: the node's addresses become the ingress, and the
# proxy answers on them (from outside the node)
kc apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  ipFamilyPolicy: PreferDualStack
  ports: [{name: http, port: 8081, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: lb-1, labels: {kubernetes.io/service-name: lb}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [10.42.1.2], conditions: {ready: true}, nodeName: n1}
- {addresses: [10.42.2.2], conditions: {ready: true}, nodeName: n2}
EOF2
check "LB ingress is the node's addresses" poll 10 eval \
	"[ \"\$(kc get svc lb -o jsonpath='{.status.loadBalancer.ingress[*].ip}')\" = '10.0.1.1 fd00:1::1' ]"
check "the LB port answers on the node's address" poll 10 nx cli curl -sf -m 1 http://10.0.1.1:8081/cgi-bin/who
expect_eq "LB: both endpoints answer" "pod1 pod2" "$(spread 10.0.1.1:8081)"
check "the LB address is in the service map" eval "nx node nft list map ip k1s-proxy service-ips | grep -q '10.0.1.1 . tcp . 8081'"

# externalTrafficPolicy Local: only n1's endpoint, client source kept, and
# the health check node port says how many local endpoints there are
kc patch svc lb -p '{"spec":{"externalTrafficPolicy":"Local"}}' >/dev/null
hc=$(kc get svc lb -o jsonpath='{.spec.healthCheckNodePort}')
check "healthCheckNodePort allocated" test -n "$hc"
check "health check node port answers 200 with one local endpoint" poll 10 eval \
	"nx cli curl -sf -m 1 http://10.0.1.1:$hc/ | grep -q '\"localEndpoints\":1'"
expect_eq "ETP Local: the local endpoint only, client source kept" "pod1 [::ffff:10.0.1.2]" \
	"$(for i in $(seq 8); do get 10.0.1.1:8081; done | sort -u)"
kc patch endpointslice lb-1 --type=json -p '[{"op":"replace","path":"/endpoints/0/nodeName","value":"n3"}]' >/dev/null
check "no local endpoint: health check answers 503" poll 10 eval \
	"[ \"\$(nx cli curl -s -o /dev/null -w '%{http_code}' -m 1 http://10.0.1.1:$hc/)\" = 503 ]"

# one service changing does not touch another; deletion removes the rules
fulls=$(grep -c 'proxy: full sync' "$dir/agent.log")
kc delete svc lb --wait=false >/dev/null
check "LB service deleted once its load balancer is cleaned up" poll 10 eval "! kc get svc lb 2>/dev/null"
check "its LB address leaves the service map" poll 10 eval \
	"! nx node nft list map ip k1s-proxy service-ips | grep -q '10.0.1.1 . tcp . 8081'"
check "health check node port closed" poll 10 eval "! nx cli curl -s -m 1 http://10.0.1.1:$hc/"
expect_eq "the other service still answers" "pod1 pod2" "$(spread "$cip")"
kc patch endpoints web --type=json -p '[{"op":"remove","path":"/subsets/0/addresses/1"}]' >/dev/null
check "an endpoint removed from Endpoints stops getting traffic" poll 10 eval "[ \"\$(spread $cip)\" = pod1 ]"
check "changes were incremental (no full sync meanwhile)" eval "[ \$(grep -c 'proxy: full sync' '$dir/agent.log') = $fulls ]"
# addresses now: 10.42.1.2, fd42:1::2, fd42:2::2; pod2 turns unready (its
# IPv6 address moves to notReadyAddresses: the mirrored slice says ready=false)
kc patch endpoints web --type=json -p '[{"op":"remove","path":"/subsets/0/addresses/2"},
 {"op":"add","path":"/subsets/0/notReadyAddresses","value":[{"ip":"fd42:2::2","nodeName":"n2"}]}]' >/dev/null
check "a pod turning unready stops receiving traffic" poll 10 eval "[ \"\$(spread [$cip6])\" = pod1 ]"

# drift: someone deletes our table; the idle check rewrites it from the model
nx node nft delete table ip k1s-proxy
check "a deleted table is noticed and rewritten" poll 15 eval "nx node nft list table ip k1s-proxy >/dev/null 2>&1"
check "the drift repair is logged" grep -q 'went missing' "$dir/agent.log"
expect_eq "after the repair the ClusterIP answers again" "pod1" "$(spread "$cip")"

# topology: the node (zone z1) uses only the endpoints hinted for z1; after
# its zone label changes to z2, only those for z2
kc apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Service
metadata: {name: zonal}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: zonal-1, labels: {kubernetes.io/service-name: zonal}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [10.42.1.2], conditions: {ready: true}, zone: z1, hints: {forZones: [{name: z1}]}}
- {addresses: [10.42.2.2], conditions: {ready: true}, zone: z2, hints: {forZones: [{name: z2}]}}
EOF2
zip=$(kc get svc zonal -o jsonpath='{.spec.clusterIP}')
check "zone z1: only the endpoint hinted for z1" poll 10 eval "[ \"\$(spread $zip)\" = pod1 ]"
kc label node n1 --overwrite topology.kubernetes.io/zone=z2 >/dev/null
check "zone label now z2: only the endpoint hinted for z2" poll 10 eval "[ \"\$(spread $zip)\" = pod2 ]"

# UDP: after the only endpoint of a UDP service is replaced, the client's
# next datagram from the same source port reaches the new endpoint (the
# proxy deleted the stale conntrack entry that DNATs to the old one)
for pod in pod1 pod2; do
	nsenter --net="/run/netns/$P-$pod" /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353))
while True:
    d, a = s.recvfrom(100); s.sendto(sys.argv[1].encode(), a)' "$pod" &
	on_exit "kill $!"
done
udp_slice() { # ADDR
	kc apply -f - >/dev/null <<EOF2
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dns-1, labels: {kubernetes.io/service-name: dns}}
addressType: IPv4
ports: [{name: dns, port: 5353, protocol: UDP}]
endpoints: [{addresses: [$1], conditions: {ready: true}}]
EOF2
}
kc apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Service
metadata: {name: dns}
spec:
  ports: [{name: dns, port: 53, targetPort: 5353, protocol: UDP}]
EOF2
udp_slice 10.42.1.2
uip=$(kc get svc dns -o jsonpath='{.spec.clusterIP}')
ask() { nx cli /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("", 40053)); s.settimeout(0.5)
s.sendto(b"q", (sys.argv[1], 53)); print(s.recvfrom(100)[0].decode())' "$uip" 2>/dev/null; }
check "UDP service answers from its endpoint" poll 10 eval '[ "$(ask)" = pod1 ]'
udp_slice 10.42.2.2
check "UDP endpoint replaced: the same client flow reaches the new one" poll 3 eval '[ "$(ask)" = pod2 ]'

kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
expect_eq "the agent stops on SIGTERM with exit 0 (sanitizer builds: no leak)" 0 "$?"
check "no sanitizer report in the agent log" eval "! grep -q 'Sanitizer\|runtime error' '$dir/agent.log'"
check "the rules stay after the agent stops" eval "nx node nft list map ip k1s-proxy service-ips | grep -q '$cip'"
exit "$_failed"
