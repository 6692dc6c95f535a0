#!/usr/bin/env bash
# tests/e2e/dns-multinode.test.sh - cluster DNS as a pod sees it, on the
# two-node dual-stack harness (tests/e2e/multinode.sh): busybox pods on
# node1 ask the node-local DNS (10.43.0.10 / fd43::a) about services whose
# pods run on both nodes, with busybox's own nslookup and wget.
#
#   node1: server + agent, client pods      node2: agent, web-2
#   web-1 runs on node1                     "the internet": a fake resolver
#                                            on 198.51.100.1:53 (every name
#                                            is 192.0.2.7), the nodes'
#                                            upstream in their resolv.conf
#
# Must-show of issue #11: short name, svc.ns and FQDN over both families
# (A and AAAA through the pod's resolv.conf, and of both server addresses),
# wget of the service by those
# names, a headless service listing its pods, SRV of a named port, PTR of a
# service IP and a pod IP, AAAA of an IPv4-only service = NODATA, an
# ExternalName, a forwarded name, dnsPolicy Default and None.
. "$(dirname "$0")/multinode.sh"
unset K1S_DISABLE_PROXY		# wget goes through the service proxy

for t in runc kubectl nsenter ip python3; do
	command -v "$t" >/dev/null || { echo "ok - dns-multinode # skip: $t missing"; exit 0; }
done
if ! [ "$(id -u)" = 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "ok - dns-multinode # skip: needs root and network namespaces"; exit 0
fi

tmpdir T
printf 'nameserver 198.51.100.1\nsearch example.test\n' > "$T/resolv.conf"
MN_IMAGES=1
MN_JOIN=2	# node2 joins with the token: a kubelet certificate, so logs/exec reach it
MN_AGENT_FLAGS="--resolv-conf $T/resolv.conf"
if ! mn_start 2; then
	not_ok "two-node cluster starts"; exit 1
fi
ok "two-node cluster starts"
mn_bg upstream inet /usr/bin/python3 "$(dirname "$0")/dnsq.py" fake "$T/upstream.port" "$T/upstream.log" 198.51.100.1 53
poll 10 test -s "$T/upstream.port" || not_ok "fake upstream starts"

web_pod() { # NAME NODE
	cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: web}}
spec:
  nodeName: $2
  hostname: $1
  subdomain: web-h
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: k1s.local/busybox:test
    command: [sh, -c, 'mkdir -p /www && echo hello-from-\$(hostname) > /www/index.html && echo serving-\$(hostname) && exec httpd -f -p 8080 -h /www']
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
EOF
}
client_pod() { # NAME EXTRA-SPEC
	cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  nodeName: node1
  terminationGracePeriodSeconds: 1
  $2
  containers: [{name: c, image: k1s.local/busybox:test, command: [sleep, "3600"]}]
---
EOF
}
{
	web_pod web-1 node1
	web_pod web-2 node2
	client_pod client ""
	client_pod cdefault "dnsPolicy: Default"
	client_pod cnone "dnsPolicy: None
  dnsConfig: {nameservers: [10.43.0.10], searches: [default.svc.cluster.local], options: [{name: ndots, value: '2'}]}"
	cat <<EOF
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ipFamilyPolicy: PreferDualStack
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-h}
spec:
  clusterIP: None
  ipFamilyPolicy: PreferDualStack
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: v4}
spec:
  ipFamilyPolicy: SingleStack
  ipFamilies: [IPv4]
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: www.example.test}
EOF
} | kc apply -f - >/dev/null
ready() { [ "$(kc get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
all_ready() { for p in web-1 web-2 client cdefault cnone; do ready $p || return 1; done; }
if ! poll 60 all_ready; then
	not_ok "pods run on both nodes" "$(kc get pods -o wide 2>&1)"; exit 1
fi
ok "pods run on both nodes"

# CMD in pod P's container on node1 (runc exec: this harness's agents join
# without kubelet certificates)
ex() {
	local p=$1 cid
	shift
	cid=$(kc get pod "$p" -o jsonpath='{.status.containerStatuses[0].containerID}')
	runc --root "$MN_DIR/n1/runc" exec "${cid#k1s://}" "$@" 2>&1
}
V4=$(kc get svc web -o jsonpath='{.spec.clusterIPs[0]}')
V6=$(kc get svc web -o jsonpath='{.spec.clusterIPs[1]}')
FQDN=web.default.svc.cluster.local
# "NAME TYPE SERVER": the addresses nslookup printed, sorted, on one line
addrs() {
	ex client nslookup -type="$2" "$1" "$3" | awk '/^Name:/ {n=1} n && /^Address/ {print $NF}' | sort | xargs
}
# busybox's nslookup ignores the search path; ping and wget resolve through
# libc as applications do (resolv.conf: search path, ndots). Debian's
# busybox 1.35 wget crashes with -T, hence timeout(1).
resolved() { ex client ping "$2" -c1 -W1 "$1" | sed -n 's/^PING [^ ]* (\([^)]*\)).*/\1/p'; }
# (the FQDN with its final dot: the fake upstream answers every name, so
# with ndots:5 web.default.svc.cluster.local.example.test would win)
for name in web web.default $FQDN.; do
	expect_eq "$name resolves (A) through the pod's resolv.conf" "$V4" "$(resolved $name -4)"
	expect_eq "$name resolves (AAAA) through the pod's resolv.conf" "$V6" "$(resolved $name -6)"
	expect_eq "wget http://$name/ reaches a web pod" hello-from-web \
		"$(ex client timeout 10 wget -qO- "http://$name/" | sed 's/-[12]$//')"
done
for srv in 10.43.0.10 fd43::a; do
	expect_eq "A of $FQDN asked of $srv" "$V4" "$(addrs $FQDN A $srv)"
	expect_eq "AAAA of $FQDN asked of $srv" "$V6" "$(addrs $FQDN AAAA $srv)"
done
expect_eq "wget over IPv6 to the service's IPv6 address" hello-from-web \
	"$(ex client timeout 10 wget -qO- "http://[$V6]/" | sed 's/-[12]$//')"

P1=$(mn_pod_ip web-1 4) P2=$(mn_pod_ip web-2 4)
P1_6=$(mn_pod_ip web-1 6) P2_6=$(mn_pod_ip web-2 6)
expect_eq "a headless service lists its pods (A)" "$(printf '%s\n' "$P1" "$P2" | sort | xargs)" \
	"$(addrs web-h.default.svc.cluster.local A 10.43.0.10)"
expect_eq "... and (AAAA)" "$(printf '%s\n' "$P1_6" "$P2_6" | sort | xargs)" \
	"$(addrs web-h.default.svc.cluster.local AAAA 10.43.0.10)"
expect_eq "a pod's hostname.subdomain record" "$P2" "$(addrs web-2.web-h.default.svc.cluster.local A 10.43.0.10)"
srv() { ex client nslookup -type=SRV "_http._tcp.$1.default.svc.cluster.local" 10.43.0.10; }
srv_named() { srv web | grep -q '80 web.default.svc.cluster.local'; }
check "SRV of the named port" srv_named
srv_headless() { local o; o=$(srv web-h); echo "$o" | grep -q '8080 web-1.web-h.default.svc.cluster.local' && echo "$o" | grep -q '8080 web-2.web-h.default.svc.cluster.local'; }
check "SRV of a headless service: one per endpoint" srv_headless
ptr() { ex client nslookup "$1" 10.43.0.10 | sed -n 's/.*name = //p' | head -n1; }
expect_eq "PTR of the service's IPv4 address" "$FQDN" "$(ptr "$V4")"
expect_eq "PTR of the service's IPv6 address" "$FQDN" "$(ptr "$V6")"
expect_eq "PTR of a pod IP (a headless endpoint)" web-2.web-h.default.svc.cluster.local "$(ptr "$P2")"
# exact rcodes: tests/e2e/dnsq.py from the client pod's network namespace
dnsq() { mn_pod_x 1 client python3 "$(dirname "$0")/dnsq.py" udp 10.43.0.10 53 "$1" "$2"; }
expect_eq "AAAA of an IPv4-only service is NODATA (NOERROR, SOA)" "NOERROR  ns=SOA" \
	"$(dnsq v4.default.svc.cluster.local AAAA | sed 's/ns=\(SOA\).*/ns=\1/')"
expect_eq "a name that does not exist is NXDOMAIN" NXDOMAIN \
	"$(dnsq nope.default.svc.cluster.local A | cut -d' ' -f1)"
cname() { ex client nslookup -type=CNAME ext.default.svc.cluster.local 10.43.0.10 | grep -q 'canonical name = www.example.test'; }
check "an ExternalName is a CNAME" cname
expect_eq "... which resolves through the upstream" 192.0.2.7 "$(addrs ext.default.svc.cluster.local A 10.43.0.10 | tr ' ' '\n' | grep -vx "" | tail -n1)"
expect_eq "a name outside the cluster is forwarded to the upstream" 192.0.2.7 "$(addrs www.example.test A 10.43.0.10)"
check "the upstream in 'the internet' saw it" grep -qx www.example.test "$T/upstream.log"

rc() { ex "$1" cat /etc/resolv.conf | tr '\n' ';'; }
expect_eq "ClusterFirst resolv.conf" \
	"search default.svc.cluster.local svc.cluster.local cluster.local example.test;nameserver 10.43.0.10;options ndots:5;" \
	"$(rc client)"
# the kubelet API of another node, through the API server (issue #5)
expect_eq "kubectl logs of a pod on the other node" serving-web-2 "$(kc logs web-2 2>&1)"
expect_eq "kubectl exec into a pod on the other node" web-2 "$(kc exec web-2 -- hostname 2>&1)"
expect_eq "dnsPolicy Default: the node's resolv.conf" "search example.test;nameserver 198.51.100.1;" "$(rc cdefault)"
expect_eq "... and names resolve through the node's upstream" 192.0.2.7 \
	"$(ex cdefault nslookup -type=A www.example.test | awk '/^Name:/ {n=1} n && /^Address/ {print $NF}')"
expect_eq "dnsPolicy None with dnsConfig" "search default.svc.cluster.local;nameserver 10.43.0.10;options ndots:2;" "$(rc cnone)"
expect_eq "... and its search path finds the service" "$V4" \
	"$(ex cnone nslookup -type=A web | awk '/^Name:/ {n=1} n && /^Address/ {print $NF}')"
exit $_failed
