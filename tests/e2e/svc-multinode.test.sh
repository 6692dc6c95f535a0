#!/usr/bin/env bash
# Services across a 3-node dual-stack cluster (tests/e2e/multinode.sh draws
# the topology), every agent running its nftables proxy, everything through
# kubectl:
#
#   node1 (z1)  web-1 cli-1     node2 (z2)  web-2 cli-2     node3 (z3)  web-3 cli-3
#   "internet"  192.168.77.254 / fd77::fe on the LAN
#
# web-I: busybox httpd on 8080 whose CGI /cgi-bin/h prints "HOSTNAME
# REMOTE_ADDR", so a client sees which endpoint answered and from which
# address the request arrived. cli-I: a busybox pod to send requests from.
#
# ClusterIP both families from pods and node namespaces on other nodes than
# the endpoint; NodePort on every node address of both families from "the
# internet" and from another node; ServiceLB ingress = the node addresses,
# externalTrafficPolicy Local (client source kept, only the endpoint's node
# answers); deletion: finalizer until the ingress is cleared, then gone, the
# addresses stop answering; sessionAffinity ClientIP; no endpoints = refused
# fast; PreferClose and topology-mode Auto from each zone land on that zone's
# endpoint only.
. "$(dirname "$0")/multinode.sh"
unset K1S_DISABLE_PROXY	# this suite is about the proxy

if ! [ "$(id -u)" = 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "ok - skipped: needs root and network namespaces"; exit 0
fi

MN_FAMILIES=dual MN_IMAGES=1 MN_ZONES="z1 z2 z3"
mn_start 3 || { not_ok "3-node dual-stack cluster with zones starts"; exit 1; }
ok "3-node dual-stack cluster with zones starts"

# ---- pods ------------------------------------------------------------------
# the backend: busybox httpd, its CGI answers "HOSTNAME [REMOTE_ADDR]"
WEB='mkdir -p /www/cgi-bin && printf "#!/bin/sh\necho Content-Type: text/plain\necho\necho \$(hostname) \$REMOTE_ADDR\n" > /www/cgi-bin/h && chmod +x /www/cgi-bin/h && exec httpd -f -p 8080 -h /www'
for i in 1 2 3; do
	mn_pod "$i" "web-$i" "$WEB" "app: web, node: n$i"
	mn_pod "$i" "cli-$i" "exec sleep 3600"
done
all_running() {
	local p
	for p in web-1 web-2 web-3 cli-1 cli-2 cli-3; do mn_pod_running "$p" || return 1; done
}
check "six pods running, two per node" poll 60 all_running

# ---- helpers ---------------------------------------------------------------
svc() { # NAME SPEC-YAML [METADATA-YAML]
	kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: $1${3:+, $3}}
spec:
  ipFamilyPolicy: RequireDualStack
  ports: [{port: 80, targetPort: 8080}]
  $2
EOF
}
cip() { # NAME FAMILY(4|6): the Service's cluster IP of that family
	kc get svc "$1" -o jsonpath='{.spec.clusterIPs[*]}' | tr ' ' '\n' |
		if [ "$2" = 6 ]; then grep :; else grep -v :; fi
}
nodeport() { kc get svc "$1" -o jsonpath='{.spec.ports[0].nodePort}'; }
url() { case $1 in *:*) echo "http://[$1]:$2/cgi-bin/h" ;; *) echo "http://$1:$2/cgi-bin/h" ;; esac; }
# from WHERE ADDR PORT: one request's answer "HOSTNAME REMOTE_ADDR";
# WHERE = node I ("n2"), a pod ("cli-2"), or "inet"
from() {
	local u
	u=$(url "$2" "$3")
	case $1 in
	inet) mn_x inet curl -sf -m "$TMO" "$u" ;;
	n*) mn_x "${1#n}" curl -sf -m "$TMO" "$u" ;;
	cli-*) mn_pod_x "${1#cli-}" "$1" timeout "$TMO" busybox wget -qO- "$u" ;;
	esac
}
TMO=3
silent() { TMO=1; ! from "$@"; }	# WHERE ADDR PORT: no answer within 1 s
# answers N WHERE ADDR PORT: the hostnames of N requests, sorted, distinct
answers() {
	local n=$1 k
	shift
	for k in $(seq "$n"); do from "$@" | cut -d' ' -f1; done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
host_is() { [ "$(from "$2" "$3" "$4" | cut -d' ' -f1)" = "$1" ]; }	# HOST WHERE ADDR PORT
ready_eps() { # SERVICE: ready endpoint addresses of its slices (both families)
	kc get endpointslices -l "kubernetes.io/service-name=$1" \
		-o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{" "}{end}' |
		wc -w
}
has_eps() { [ "$(ready_eps "$1")" -ge "$2" ]; }	# SERVICE N

# ---- ClusterIP from other nodes --------------------------------------------
svc one "selector: {app: web, node: n1}"
check "ClusterIP service 'one' has an endpoint per family" poll 20 has_eps one 2
for fam in 4 6; do
	ip=$(cip one $fam)
	for w in cli-2 cli-3; do
		check "ClusterIP IPv$fam from pod $w (node${w#cli-}) reaches web-1 on node1" \
			poll 20 host_is web-1 "$w" "$ip" 80
	done
	for w in n2 n3; do
		check "ClusterIP IPv$fam from node${w#n}'s namespace reaches web-1 on node1" \
			poll 20 host_is web-1 "$w" "$ip" 80
	done
done

# ---- NodePort on every node address ----------------------------------------
svc np "type: NodePort
  selector: {app: web}"
check "NodePort service has three endpoints per family" poll 20 has_eps np 6
NP=$(nodeport np)
for i in 1 2 3; do
	for a in "$(mn_ip4 $i)" "$(mn_ip6 $i)"; do
		check "NodePort $a:$NP answers to the internet" poll 20 from inet "$a" "$NP"
	done
done
check "NodePort of node3 (IPv4) answers to node2" poll 10 from n2 "$(mn_ip4 3)" "$NP"
check "NodePort of node3 (IPv6) answers to node2" poll 10 from n2 "$(mn_ip6 3)" "$NP"
w=$(answers 15 inet "$(mn_ip4 2)" "$NP")
check "without affinity several endpoints answer ($w)" test "$(echo "$w" | wc -w)" -ge 2

# ---- sessionAffinity ClientIP ----------------------------------------------
svc aff "sessionAffinity: ClientIP
  selector: {app: web}"
check "affinity service has three endpoints per family" poll 20 has_eps aff 6
for fam in 4 6; do
	ip=$(cip aff $fam)
	poll 20 from cli-2 "$ip" 80
	w=$(answers 12 cli-2 "$ip" 80)
	expect_eq "sessionAffinity ClientIP IPv$fam: one endpoint answers 12 requests" 1 "$(echo "$w" | wc -w)"
done

# ---- no endpoints: refused fast --------------------------------------------
svc none "selector: {app: nothing}"
refused_fast() { # WHERE-NODE ADDR PORT: curl says "connection refused" (7) in < 1 s
	local t0 rc
	t0=$(date +%s%N)
	mn_x "$1" curl -s -m 5 "$(url "$2" "$3")" >/dev/null
	rc=$?
	[ "$rc" = 7 ] && [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ]
}
for fam in 4 6; do
	check "no endpoints: ClusterIP IPv$fam refused fast from node2" poll 20 refused_fast 2 "$(cip none $fam)" 80
done
pod_refused() { # ADDR: busybox wget from cli-3 reports a refused connection
	mn_pod_x 3 cli-3 timeout 3 busybox wget -qO- "$(url "$1" 80)" 2>&1 | grep -q refused
}
check "no endpoints: refused in a pod on node3 (IPv4)" poll 10 pod_refused "$(cip none 4)"
check "no endpoints: refused in a pod on node3 (IPv6)" poll 10 pod_refused "$(cip none 6)"

# ---- LoadBalancer, externalTrafficPolicy Local -----------------------------
svc lb "type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web, node: n1}"
ingress() { kc get svc lb -o jsonpath='{.status.loadBalancer.ingress[*].ip}' | tr ' ' '\n' | sort | tr '\n' ' '; }
want_ing=$(printf '%s\n' "$(mn_ip4 1)" "$(mn_ip4 2)" "$(mn_ip4 3)" "$(mn_ip6 1)" "$(mn_ip6 2)" "$(mn_ip6 3)" | sort | tr '\n' ' ')
ing_is() { [ "$(ingress)" = "$want_ing" ]; }
check "LB ingress = the six node addresses" poll 20 ing_is
expect_eq "LB has the load-balancer-cleanup finalizer" service.kubernetes.io/load-balancer-cleanup \
	"$(kc get svc lb -o jsonpath='{.metadata.finalizers[*]}')"
check "LB service has its endpoint" poll 20 has_eps lb 2
for a in "$(mn_ip4 1)" "$(mn_ip6 1)"; do
	check "LB ingress $a:80 answers (web-1)" poll 20 host_is web-1 inet "$a" 80
done
# the client address the endpoint saw (httpd writes "[::ffff:a.b.c.d]", "[a:b::c]")
src() { from inet "$1" "$2" | cut -d' ' -f2 | tr -d '[]' | sed 's/^::ffff://'; }
expect_eq "ETP Local: client source kept (IPv4 LB)" 192.168.77.254 "$(src "$(mn_ip4 1)" 80)"
expect_eq "ETP Local: client source kept (IPv6 LB)" fd77::fe "$(src "$(mn_ip6 1)" 80)"
LNP=$(nodeport lb)
expect_eq "ETP Local: client source kept (IPv4 NodePort)" 192.168.77.254 "$(src "$(mn_ip4 1)" "$LNP")"
for i in 2 3; do
	for a in "$(mn_ip4 $i)" "$(mn_ip6 $i)"; do
		check "ETP Local: node$i (no local endpoint) does not answer on LB $a" silent inet "$a" 80
	done
	check "ETP Local: node$i does not answer on the NodePort" silent inet "$(mn_ip4 $i)" "$LNP"
done

# Deletion: held by a finalizer of our own, the Service stays while ServiceLB
# tears its load balancer down; a watch records every state it goes
# through: the load-balancer-cleanup finalizer never leaves before the
# ingress. Then nobody answers on the addresses, and it disappears.
mn_bg lbwatch 1 kubectl --kubeconfig "$MN_DIR/admin.yaml" get svc lb -w -o \
	jsonpath='{.metadata.deletionTimestamp}|{.metadata.finalizers}|{.status.loadBalancer.ingress}{"\n"}' \
	> "$MN_DIR/lbwatch"
kc patch svc lb --type=json -p '[{"op":"add","path":"/metadata/finalizers/-","value":"k1s.test/hold"}]' >/dev/null
kc delete svc lb --wait=false >/dev/null
fins() { kc get svc lb -o jsonpath='{.metadata.finalizers[*]}'; }
lb_released() { [ "$(fins)" = k1s.test/hold ] && [ -z "$(ingress | tr -d ' ')" ]; }
check "deleted LB: ingress cleared and its finalizer removed" poll 20 lb_released
quiet() { silent inet "$(mn_ip4 1)" 80 && silent inet "$(mn_ip6 1)" 80; }
check "deleted LB: its addresses stop answering" poll 20 quiet
kc patch svc lb --type=json -p '[{"op":"remove","path":"/metadata/finalizers/0"}]' >/dev/null
gone() { ! kc get svc "$1" >/dev/null 2>&1; }
check "deleted LB service disappears" poll 20 gone lb
kill "${MN_PID[lbwatch]}" 2>/dev/null
# the deleted Service's states (deletionTimestamp|finalizers|ingress): never
# without the cleanup finalizer while it has ingress; one with both, later
# one with neither
order=$(awk -F'|' '$1 == "" { next }
	{ fin = $2 ~ /load-balancer-cleanup/; ing = $3 ~ /ip/ }
	ing && !fin { print "early"; exit }
	ing && fin && !s { s = 1 }
	!ing && !fin && s == 1 { s = 2 }
	END { if (s == 2) print "ordered" }' "$MN_DIR/lbwatch")
expect_eq "watch: finalizer with the ingress, then neither (never the reverse)" ordered "$order"
if kc get events --field-selector involvedObject.name=lb -o jsonpath='{.items[*].reason}' |
	grep -q 'DeletingLoadBalancer.*DeletedLoadBalancer'; then
	ok "events DeletingLoadBalancer then DeletedLoadBalancer"
else
	not_ok "events DeletingLoadBalancer then DeletedLoadBalancer"
fi

# Type change LoadBalancer -> ClusterIP releases the load balancer.
svc lb2 "type: LoadBalancer
  selector: {app: web}"
lb2_ing() { [ -n "$(kc get svc lb2 -o jsonpath='{.status.loadBalancer.ingress[*].ip}')" ]; }
check "LB lb2 (ETP Cluster) gets ingress" poll 20 lb2_ing
check "lb2 answers on node3's IPv6 address" poll 20 from inet "$(mn_ip6 3)" 80
kc patch svc lb2 -p '{"spec":{"type":"ClusterIP"}}' >/dev/null
released() { ! lb2_ing && [ -z "$(kc get svc lb2 -o jsonpath='{.metadata.finalizers}')" ]; }
check "LoadBalancer -> ClusterIP: ingress and finalizer gone" poll 20 released
quiet2() { silent inet "$(mn_ip4 3)" 80 && silent inet "$(mn_ip6 3)" 80; }
check "LoadBalancer -> ClusterIP: node addresses stop answering" poll 20 quiet2
check "LoadBalancer -> ClusterIP: the ClusterIP still answers" poll 10 from cli-2 "$(cip lb2 6)" 80

# ---- topology: each zone's client lands on its zone's endpoint -------------
svc close "trafficDistribution: PreferClose
  selector: {app: web}"
svc auto "selector: {app: web}" 'annotations: {service.kubernetes.io/topology-mode: Auto}'
hinted() { # SERVICE: every endpoint (6) hinted for a zone
	[ "$(kc get endpointslices -l "kubernetes.io/service-name=$1" \
		-o jsonpath='{range .items[*].endpoints[*]}{.hints.forZones[0].name}{" "}{end}' | wc -w)" = 6 ]
}
for s in close auto; do
	check "$s: every endpoint has a zone hint" poll 20 hinted "$s"
	for i in 1 2 3; do
		for fam in 4 6; do
			ip=$(cip "$s" "$fam")
			poll 10 host_is "web-$i" "cli-$i" "$ip" 80
			expect_eq "$s IPv$fam from zone z$i lands on web-$i only" "web-$i" \
				"$(answers 8 "cli-$i" "$ip" 80)"
		done
	done
done

# ---- ServiceLB stopped: a deleted LB Service stays Terminating ------------
svc lb3 "type: LoadBalancer
  selector: {app: web}"
lb3_ing() { [ -n "$(kc get svc lb3 -o jsonpath='{.status.loadBalancer.ingress[*].ip}')" ]; }
check "LB lb3 gets ingress" poll 20 lb3_ing
restart_server() { # [FLAGS]: the server restarted with MN_SERVER_FLAGS=FLAGS
	mn_server_stop
	rm -f "$MN_DIR/ready"
	MN_SERVER_FLAGS=${1:-} mn_server_start
}
if restart_server "--disable servicelb"; then ok "server restarts with --disable servicelb"
else not_ok "server restarts with --disable servicelb"; fi
kc delete svc lb3 --wait=false >/dev/null
terminating() {
	[ -n "$(kc get svc lb3 -o jsonpath='{.metadata.deletionTimestamp}')" ] &&
		[ "$(kc get svc lb3 -o jsonpath='{.metadata.finalizers[*]}')" = service.kubernetes.io/load-balancer-cleanup ]
}
check "ServiceLB stopped: the deleted Service is Terminating with its finalizer" poll 10 terminating
sleep 3	# nothing is supposed to happen: give ServiceLB time it does not have
check "... still, 3 s later" terminating
check "... and its load balancer still answers (node2, IPv4)" poll 10 from inet "$(mn_ip4 2)" 80
if [ -n "${SVCMN_DEBUG:-}" ]; then
	kc get endpointslices -l kubernetes.io/service-name=lb3 -o yaml
	kc get svc lb3 -o yaml
	mn_x 2 nft list ruleset | grep -n "192.168.77.12"
	tail -n 30 "$MN_DIR/agent2.log"
fi
if restart_server; then ok "server restarts with ServiceLB"; else not_ok "server restarts with ServiceLB"; fi
check "ServiceLB back: the Service goes" poll 20 gone lb3
quiet3() { silent inet "$(mn_ip4 2)" 80 && silent inet "$(mn_ip6 2)" 80; }
check "ServiceLB back: its addresses stop answering" poll 20 quiet3

exit $_failed
