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
#   │ up0 (veth): 10.99.0.1, fd99::1 = node IPs; lo: 192.0.2.53 = "the  │
#   │   internet"                                                      │
#   │   fake upstream (python3) 192.0.2.53:53, answers 192.0.2.7       │
#   │ kubectl, dnsq.py queries                                         │
#   └──────────────────────────────────────────────────────────────────┘
#
# Nothing leaves the namespace; it is deleted on exit with everything in it.
. "$(dirname "$0")/cluster.sh"
cd "$(dirname "$0")/../.."
K1S=$(realpath "$K1S")

if [ "$(id -u)" -ne 0 ] || ! ip netns list >/dev/null 2>&1; then
	ok "dns-cluster # skip: needs root and ip netns"
	exit 0
fi
expect_fail "server rejects a --cluster-dns outside the service CIDR" 2 \
	"$K1S" server --cluster-dns 1.2.3.4 --data-dir /nonexistent/k1s
expect_fail "agent rejects a malformed --cluster-dns" 1 \
	"$K1S" agent --kubeconfig /nonexistent --cluster-dns 10.43.0.10,10.43.0.11
NS=k1s-t-dns$$
CG=k1s-t-dns$$
tmpdir T
cp tests/e2e/dnsq.py "$T/dnsq.py"
ip netns add "$NS" || { not_ok "netns"; exit 1; }
on_exit "ip netns del $NS"
on_exit "for c in /sys/fs/cgroup/*/$CG; do [ -d \"\$c\" ] && find \"\$c\" -depth -type d -exec rmdir {} \\; ; done"
on_exit "grep ' $T' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l"
on_exit "for id in \$(runc --root $T/runc list -q 2>/dev/null); do runc --root $T/runc delete -f \$id; done"
on_exit "for p in \$(pgrep -f 'k1s shim $T/'); do kill -9 \$p; done"
nx() { nsenter --net=/run/netns/"$NS" "$@"; }
nx ip link set lo up
nx ip link add up0 type veth peer name up1
nx ip addr add 10.99.0.1/24 dev up0
nx ip addr add fd99::1/64 dev up0 nodad
nx ip link set up0 up
nx ip link set up1 up
nx ip route add default dev up0
nx ip -6 route add default dev up0
nx ip addr add 192.0.2.53/32 dev lo

# the "internet": a fake upstream resolver inside the namespace
: > "$T/upstream.log"
nsenter --net=/run/netns/"$NS" python3 "$T/dnsq.py" fake "$T/upstream.port" "$T/upstream.log" 192.0.2.53 53 &
fake_pid=$!	# nsenter execs python3
on_exit "kill $fake_pid"
poll 10 test -s "$T/upstream.port" || not_ok "fake upstream starts"
# the node's resolv.conf: the cluster DNS itself (skipped) and the upstream
printf 'nameserver 10.43.0.10\nnameserver 192.0.2.53\n' > "$T/resolv.conf"

mkdir -p "$T/data/agent/images/import"
if [ "${DNS_POD_TEST:-1}" != 0 ] && command -v runc >/dev/null && [ -x /bin/busybox ] &&
	bash tests/images/build.sh "$T/img" >/dev/null 2>&1; then
	cp "$T/img/busybox.tar" "$T/data/agent/images/import/"
fi
PORT=$(free_port)
KUBECONFIG=$T/kubeconfig.yaml
nsenter --net=/run/netns/"$NS" "$K1S" server --data-dir "$T/data" --https-listen-port "$PORT" \
	--node-ip 10.99.0.1 --node-ip fd99::1 --write-kubeconfig "$KUBECONFIG" --ready-file "$T/ready" \
	--agent-arg=--runc-root="$T/runc" --agent-arg=--cgroup-parent=/$CG \
	--agent-arg=--resolv-conf="$T/resolv.conf" > "$T/server.log" 2>&1 &
server_pid=$!	# nsenter execs k1s: this is the server
on_exit "kill $server_pid; wait $server_pid; for p in \$(pgrep -f 'k1s agent .*--data-dir $T/data/agent'); do kill -9 \$p; done"
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
expect_eq "ExternalName is a CNAME" "NOERROR CNAME:example.org ns=" "$(q 10.43.0.10 ext.$C CNAME)"
expect_eq "a missing service is NXDOMAIN" "NXDOMAIN  ns=SOA" "$(q 10.43.0.10 nosuch.$C A)"
expect_eq "the kube-dns service resolves itself" "NOERROR A:10.43.0.10 ns=" \
	"$(q 10.43.0.10 kube-dns.kube-system.svc.cluster.local A)"
expect_eq "cluster names are never forwarded" "0" "$(wc -l < "$T/upstream.log")"
expect_eq "other names go to the upstream from resolv.conf (not to itself)" "NOERROR A:192.0.2.7 ns=" \
	"$(q fd43::a www.example.com A)"
expect_eq "the upstream saw that query once" "www.example.com" "$(cat "$T/upstream.log")"
expect_eq "an A query for an ExternalName chases its CNAME upstream (as CoreDNS)" \
	"NOERROR A:192.0.2.7,CNAME:example.org ns=" "$(q 10.43.0.10 ext.$C A)"
expect_eq "... the upstream was asked for the target" "example.org" "$(tail -n 1 "$T/upstream.log")"

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
	"[ \"\$(q 10.43.0.10 ext.$C CNAME)\" = 'NOERROR CNAME:example.net ns=' ]"
kc create namespace other >/dev/null
kc -n other create service clusterip api --tcp=443:8443 >/dev/null
check "a service in another namespace" poll 10 eval \
	"q 10.43.0.10 api.other.svc.cluster.local A | grep -q '^NOERROR A:10.43.'"


# a busybox pod resolving through its resolv.conf (ClusterFirst -> 10.43.0.10)
if [ -f "$T/data/agent/images/import/busybox.tar" ]; then
	node=$(kc get nodes -o jsonpath='{.items[0].metadata.name}')
	cat > "$T/pod.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: resolver}
spec:
  nodeName: $node
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: k1s.local/busybox:test
    command: [sh, -c, "cat /etc/resolv.conf; for n in kubernetes.default api.other; do ping -c1 -W1 \$n; done;
      nslookup -type=AAAA kube-dns.kube-system.svc.cluster.local; nslookup www.example.com; exit 0"]
Y
	kc apply -f "$T/pod.yaml" >/dev/null
	phase() { kc get pod resolver -o jsonpath='{.status.phase}'; }
	logs() { cat "$T"/data/agent/logs/pods/default_resolver_*/c/0.log 2>/dev/null; }
	api=$(kc -n other get svc api -o jsonpath='{.spec.clusterIP}')
	check "a busybox pod runs its lookups" poll 40 eval '[ "$(phase)" = Succeeded ]'
	check "its resolv.conf names 10.43.0.10 with the search path" eval \
		"logs | grep -q 'nameserver 10.43.0.10' && logs | grep -q 'search default.svc.cluster.local svc.cluster.local cluster.local'"
	check "the pod resolves kubernetes.default through the search path" eval "logs | grep -q 'PING kubernetes.default (10.43.0.1)'"
	check "... and a service of another namespace as svc.ns" eval "logs | grep -qF 'PING api.other ($api)'"
	check "... the AAAA of kube-dns (fd43::a)" eval "logs | grep -q 'Address: fd43::a'"
	check "... and an outside name, forwarded to the upstream" eval "logs | grep -q 'Address: 192.0.2.7'"
	[ "$_failed" = 0 ] || logs | tail -n 20 | sed 's/^/# /'
else
	ok "pod resolution # skip: needs runc, /bin/busybox and the test images"
fi

# Prometheus metrics on :9153 (loopback and the DNS addresses), CoreDNS names
m() { nx curl -sf --max-time 5 "http://$1:9153/metrics"; }
metric() { m 127.0.0.1 | awk -v k="$1" 'index($0, k) == 1 { print $2 }'; }
S='server="dns://:53",zone="."'
check "metrics: A queries over UDP counted" eval "[ \"\$(metric 'coredns_dns_requests_total{$S,proto=\"udp\",type=\"A\"}')\" -ge 10 ]"
check "metrics: TCP and SRV queries counted" eval "[ \"\$(metric 'coredns_dns_requests_total{$S,proto=\"tcp\",type=\"A\"}')\" -ge 1 ] &&
	[ \"\$(metric 'coredns_dns_requests_total{$S,proto=\"udp\",type=\"SRV\"}')\" -ge 2 ]"
check "metrics: responses by rcode" eval "[ \"\$(metric 'coredns_dns_responses_total{$S,rcode=\"NXDOMAIN\"}')\" -ge 2 ] &&
	[ \"\$(metric 'coredns_dns_responses_total{$S,rcode=\"NOERROR\"}')\" -ge 10 ]"
q fd43::a www.example.com A >/dev/null	# cached now
check "metrics: cache hits and misses, forward requests and their latency" eval \
	"[ \"\$(metric 'coredns_cache_hits_total{server=\"dns://:53\",type=\"success\"}')\" -ge 1 ] &&
	[ \"\$(metric 'coredns_cache_misses_total{server=\"dns://:53\"}')\" -ge 1 ] &&
	[ \"\$(metric 'coredns_forward_requests_total{to=\"upstream\"}')\" -ge 1 ] &&
	[ \"\$(metric 'coredns_forward_request_duration_seconds_count{to=\"upstream\"}')\" -ge 1 ] &&
	[ \"\$(metric 'coredns_forward_request_duration_seconds_bucket{to=\"upstream\",le=\"+Inf\"}')\" -ge 1 ]"
check "metrics also on the DNS address, 404 elsewhere" eval \
	"m 10.43.0.10 | grep -q '^# TYPE coredns_dns_requests_total counter' &&
	[ \"\$(nx curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9153/other)\" = 404 ]"

# the kube-dns Service moves to another clusterIP: the node follows, no restart
agent_pid=$(pgrep -f "k1s agent .*--data-dir $T/data/agent" | head -n 1)
kc -n kube-system get svc kube-dns -o json |
	python3 -c 'import json,sys; o=json.load(sys.stdin); s=o["spec"]; s["clusterIPs"]=["10.43.0.53"]; s["clusterIP"]="10.43.0.53"; s["ipFamilies"]=["IPv4"]; s["ipFamilyPolicy"]="SingleStack"; o["metadata"]={"name":"kube-dns","namespace":"kube-system","labels":o["metadata"].get("labels",{})}; o.pop("status",None); print(json.dumps(o))' > "$T/kube-dns.json"
kc -n kube-system delete svc kube-dns >/dev/null
kc create -f "$T/kube-dns.json" >/dev/null
check "a new kube-dns clusterIP is served" poll 15 eval "q 10.43.0.53 kubernetes.$C A | grep -q '^NOERROR A:10.43.0.1 '"
# the server passes only the first --cluster-dns address: the now single-stack
# Service leaves no IPv6 address to serve
check "... on link $dev, the old addresses gone" eval \
	"nx ip addr show dev $dev | grep -q 'inet 10.43.0.53/32' && ! nx ip addr show dev $dev | grep -q 'inet 10.43.0.10/32' &&
	! nx ip addr show dev $dev | grep -q 'inet6 fd43::a/128'"
check "... its EndpointSlices follow (the IPv6 one deleted)" poll 10 eval \
	"[ \"\$(kc -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns -o jsonpath='{range .items[*]}{.endpoints[0].addresses[0]} {end}')\" = '10.43.0.53 ' ]"
expect_eq "... by the same agent process" "$agent_pid" "$(pgrep -f "k1s agent .*--data-dir $T/data/agent" | head -n 1)"

kill "$server_pid"
check "server and agent stop" poll 15 eval \
	"! kill -0 $server_pid 2>/dev/null && ! pgrep -f 'k1s agent .*--data-dir $T/data/agent'"
exit $_failed
