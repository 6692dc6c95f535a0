#!/usr/bin/env bash
# Cluster DNS fed from the API, answering on the kube-dns Service IPs, in a
# network namespace of its own:
#
#   netns k1s-t-dns-<pid>
#   ┌──────────────────────────────────────────────────────────────────┐
#   │ k1s server (API 127.0.0.1:P) ── embedded k1s agent               │
#   │                                   └─ DNS on k1s-dns (dummy, or   │
#   │                                      lo without the dummy driver)│
#   │                                      10.43.0.10, fd43::a :53     │
#   │ lo: 10.99.0.1 = node IP, 192.0.2.53 = "the internet"              │
#   │   fake upstream (python3) 192.0.2.53:53, answers 192.0.2.7       │
#   │ kubectl, dnsq.py queries                                         │
#   └──────────────────────────────────────────────────────────────────┘
#
# Nothing leaves the namespace; it is deleted on exit with everything in it.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."
K1S=$(realpath "$K1S")

NS=k1s-t-dns-$$
tmpdir T
cp tests/e2e/dnsq.py "$T/dnsq.py"
if ! ip netns add "$NS" 2>"$T/err"; then
	echo "ok - skipped: cannot create a network namespace ($(cat "$T/err"))"
	exit 0
fi
on_exit "ip netns del $NS"
nx() { ip netns exec "$NS" "$@"; }
nx ip link set lo up
nx ip addr add 10.99.0.1/32 dev lo
nx ip addr add 192.0.2.53/32 dev lo

# the "internet": a fake upstream resolver inside the namespace
: > "$T/upstream.log"
nx python3 "$T/dnsq.py" fake "$T/upstream.port" "$T/upstream.log" 192.0.2.53 53 &
fake_pid=$!
on_exit "kill $fake_pid"
poll 10 test -s "$T/upstream.port" || not_ok "fake upstream starts"
printf 'nameserver 10.43.0.10\nnameserver 192.0.2.53\n' > "$T/resolv.conf"

PORT=$((20000 + RANDOM % 20000))
KUBECONFIG=$T/kubeconfig.yaml
K1S_RESOLV_CONF=$T/resolv.conf nx "$K1S" server --data-dir "$T/data" --https-listen-port "$PORT" \
	--node-ip 10.99.0.1 --write-kubeconfig "$KUBECONFIG" --ready-file "$T/ready" \
	> "$T/server.log" 2>&1 &
server_pid=$!
on_exit "kill $server_pid; wait $server_pid"
on_exit "[ \$_failed = 0 ] || { echo '# server log (dns lines):'; grep -i dns '$T/server.log' | tail -n 20 | sed 's/^/# /'; }"
if ! poll 20 test -f "$T/ready"; then
	not_ok "server starts" "$(tail -n 5 "$T/server.log" | tr '\n' ' ')"
	exit 1
fi
ok "server starts in its own network namespace"
kc() { nx kubectl --kubeconfig "$KUBECONFIG" "$@"; }
q() { nx python3 "$T/dnsq.py" udp "$1" 53 "$2" "$3" 2>&1; }
qt() { nx python3 "$T/dnsq.py" tcp "$1" 53 "$2" "$3" 2>&1; }
C=default.svc.cluster.local

expect_eq "kube-dns Service with the cluster DNS IPs" "10.43.0.10 fd43::a RequireDualStack" \
	"$(kc -n kube-system get svc kube-dns -o jsonpath='{.spec.clusterIPs[0]} {.spec.clusterIPs[1]} {.spec.ipFamilyPolicy}')"
expect_eq "kube-dns labels and ports as upstream" "kube-dns CoreDNS dns:53/UDP dns-tcp:53/TCP metrics:9153/TCP " \
	"$(kc -n kube-system get svc kube-dns -o jsonpath='{.metadata.labels.k8s-app} {.metadata.labels.kubernetes\.io/name} {range .spec.ports[*]}{.name}:{.port}/{.protocol} {end}')"
check "the agent answers on 10.43.0.10" poll 20 eval "q 10.43.0.10 kubernetes.$C A | grep -q '^NOERROR A:10.43.0.1 '"
dev=k1s-dns
nx ip link show k1s-dns >/dev/null 2>&1 || dev=lo	# a kernel without the dummy driver
check "link $dev holds both cluster DNS addresses" eval "nx ip addr show dev $dev | grep -q 'inet 10.43.0.10/32' &&
	nx ip addr show dev $dev | grep -q 'inet6 fd43::a/128'"
node=$(kc get nodes -o jsonpath='{.items[0].metadata.name}')
check "this node's kube-dns EndpointSlices are published" poll 10 eval \
	"[ \"\$(kc -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns -o jsonpath='{range .items[*]}{.endpoints[0].addresses[0]}/{.endpoints[0].nodeName} {end}')\" = '10.43.0.10/$node fd43::a/$node ' ]"

cat > "$T/svcs.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ipFamilyPolicy: RequireDualStack
  ports: [{name: http, port: 80, protocol: TCP}, {port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: v4only}
spec:
  ipFamilyPolicy: SingleStack
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  ports: [{name: pg, port: 5432}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-1
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- {addresses: [10.42.1.10], hostname: db-0, conditions: {ready: true}}
- {addresses: [10.42.2.11], hostname: db-1}
- {addresses: [10.42.2.12], hostname: db-2, conditions: {ready: false}}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: example.org
EOF
check "kubectl creates the services" kc apply -f "$T/svcs.yaml"
web4=$(kc get svc web -o jsonpath='{.spec.clusterIPs[0]}')
web6=$(kc get svc web -o jsonpath='{.spec.clusterIPs[1]}')
v4=$(kc get svc v4only -o jsonpath='{.spec.clusterIP}')
check "a new service becomes answerable" poll 10 eval "q 10.43.0.10 web.$C A | grep -q '^NOERROR A:$web4 '"
expect_eq "AAAA of a dual-stack service over fd43::a" "NOERROR AAAA:$web6 ns=" "$(q fd43::a web.$C AAAA)"
expect_eq "A over TCP" "NOERROR A:$web4 ns=" "$(qt 10.43.0.10 web.$C A)"
expect_eq "SRV of a named port" "NOERROR SRV:0/100/80/web.default.svc.cluster.local ns=" \
	"$(q 10.43.0.10 _http._tcp.web.$C SRV)"
rev=$(echo "$web4" | awk -F. '{print $4"."$3"."$2"."$1}')
expect_eq "PTR of a service IP" "NOERROR PTR:web.default.svc.cluster.local ns=" \
	"$(q fd43::a "$rev.in-addr.arpa" PTR)"
expect_eq "AAAA of an IPv4-only service is NODATA" "NOERROR  ns=SOA" "$(q 10.43.0.10 v4only.$C AAAA)"
expect_eq "A of the IPv4-only service" "NOERROR A:$v4 ns=" "$(q 10.43.0.10 v4only.$C A)"
check "headless service lists its ready endpoints" poll 10 eval \
	"[ \"\$(q 10.43.0.10 db.$C A)\" = 'NOERROR A:10.42.1.10,A:10.42.2.11 ns=' ]"
expect_eq "headless hostname record" "NOERROR A:10.42.2.11 ns=" "$(q 10.43.0.10 db-1.db.$C A)"
expect_eq "SRV of a headless service, per endpoint" \
	"NOERROR SRV:0/50/5432/db-0.db.default.svc.cluster.local,SRV:0/50/5432/db-1.db.default.svc.cluster.local ns=" \
	"$(q 10.43.0.10 _pg._tcp.db.$C SRV)"
expect_eq "PTR of a headless endpoint" "NOERROR PTR:db-0.db.default.svc.cluster.local ns=" \
	"$(q 10.43.0.10 10.1.42.10.in-addr.arpa PTR)"
expect_eq "ExternalName is a CNAME" "NOERROR CNAME:example.org ns=" "$(q 10.43.0.10 ext.$C A)"
expect_eq "a missing service is NXDOMAIN" "NXDOMAIN  ns=SOA" "$(q 10.43.0.10 nosuch.$C A)"
expect_eq "the kube-dns service resolves itself" "NOERROR A:10.43.0.10 ns=" \
	"$(q 10.43.0.10 kube-dns.kube-system.svc.cluster.local A)"
expect_eq "cluster names are never forwarded" "0" "$(wc -l < "$T/upstream.log")"
expect_eq "other names go to the upstream from resolv.conf (not to itself)" "NOERROR A:192.0.2.7 ns=" \
	"$(q fd43::a www.example.com A)"
expect_eq "the upstream saw that query once" "www.example.com" "$(cat "$T/upstream.log")"

# changes reach the zone
kc patch endpointslice db-1 --type=json \
	-p '[{"op":"replace","path":"/endpoints/2/conditions/ready","value":true}]' >/dev/null
check "an endpoint turning ready is added" poll 10 eval \
	"[ \"\$(q 10.43.0.10 db.$C A)\" = 'NOERROR A:10.42.1.10,A:10.42.2.11,A:10.42.2.12 ns=' ]"
kc delete endpointslice db-1 >/dev/null
check "a headless service without ready endpoints is NXDOMAIN" poll 10 eval \
	"q 10.43.0.10 db.$C A | grep -q '^NXDOMAIN'"
kc delete svc web >/dev/null
check "a deleted service is NXDOMAIN" poll 10 eval "q 10.43.0.10 web.$C A | grep -q '^NXDOMAIN'"
check "... and its PTR is forwarded, no longer ours" poll 10 eval \
	"q 10.43.0.10 $rev.in-addr.arpa PTR | grep -qv 'PTR:web'"
kc patch svc ext -p '{"spec":{"externalName":"example.net"}}' >/dev/null
check "an ExternalName change is served" poll 10 eval \
	"[ \"\$(q 10.43.0.10 ext.$C A)\" = 'NOERROR CNAME:example.net ns=' ]"
kc create namespace other >/dev/null
kc -n other create service clusterip api --tcp=443:8443 >/dev/null
check "a service in another namespace" poll 10 eval \
	"q 10.43.0.10 api.other.svc.cluster.local A | grep -q '^NOERROR A:10.43.'"

kill "$server_pid"
if poll 15 sh -c "! kill -0 $server_pid 2>/dev/null"; then ok "server and agent stop"; else not_ok "server and agent stop"; fi
exit $_failed
