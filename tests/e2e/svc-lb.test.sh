#!/usr/bin/env bash
# Server side of Services beyond allocation, driven by kubectl with no agent:
# ServiceLB (pool addresses, the load-balancer-cleanup finalizer lifecycle,
# loadBalancerClass, allocateLoadBalancerNodePorts=false, --disable
# servicelb), topology hints on EndpointSlices (nodes made through the API
# with zones and allocatable CPU), the Endpoints controller, mirroring of
# hand-made Endpoints, --max-endpoints-per-slice. Pods get IPs and
# readiness through pods/status, as a kubelet would.
. "$(dirname "$0")/cluster.sh"

tmpdir dir
POOL=10.99.0.0/31,fd99::10-fd99::11
server_start "$dir" --lb-pool "$POOL" --max-endpoints-per-slice 5 || { not_ok "server starts"; exit 1; }
ok "server starts"

jp() { kc get "$1" "$2" -o jsonpath="$3" 2>/dev/null; }
is() { [ "$(jp "$1" "$2" "$3")" = "$4" ]; }
expect_poll() { # NAME KIND OBJ JSONPATH WANT
	if poll 10 is "$2" "$3" "$4" "$5"; then ok "$1"; else not_ok "$1" "want '$5', got '$(jp "$2" "$3" "$4")'"; fi
}
FIN=service.kubernetes.io/load-balancer-cleanup

lb_yaml() { # NAME [EXTRA SPEC LINE]
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  type: LoadBalancer
  ipFamilyPolicy: PreferDualStack
  ports: [{name: web, port: 80}]
  ${2:-}
Y
}

# --- ServiceLB: finalizer first, then pool addresses of both families
lb_yaml lb1 | kc apply -f - >/dev/null
expect_poll "the cleanup finalizer is added" svc lb1 '{.metadata.finalizers[*]}' "$FIN"
expect_poll "ingress from the pool, both families" svc lb1 '{.status.loadBalancer.ingress[*].ip}' "10.99.0.0 fd99::10"
expect_eq "ipMode VIP" "VIP" "$(jp svc lb1 '{.status.loadBalancer.ingress[0].ipMode}')"
check "events EnsuringLoadBalancer and EnsuredLoadBalancer" poll 10 eval \
	"kc get events --field-selector involvedObject.name=lb1 -o jsonpath='{.items[*].reason}' | grep -q EnsuringLoadBalancer &&
	 kc get events --field-selector involvedObject.name=lb1 -o jsonpath='{.items[*].reason}' | grep -q EnsuredLoadBalancer"
check "kubectl get svc shows the external IPs" poll 5 eval "kc get svc lb1 | grep -q '10.99.0.0,fd99::10'"
lb_yaml lb2 | kc apply -f - >/dev/null
expect_poll "a second LB gets the next pool addresses" svc lb2 '{.status.loadBalancer.ingress[*].ip}' "10.99.0.1 fd99::11"
lb_yaml lb3 | kc apply -f - >/dev/null
check "a third stays pending once the pool is used up" poll 10 eval \
	"kc get events --field-selector involvedObject.name=lb3 -o jsonpath='{.items[*].reason}' | grep -q SyncLoadBalancerFailed"
expect_eq "... without ingress" "" "$(jp svc lb3 '{.status.loadBalancer.ingress}')"

# --- type change away from LoadBalancer: cleaned up, finalizer removed, address reused
kc patch svc lb2 -p '{"spec":{"type":"ClusterIP"}}' >/dev/null
expect_poll "LoadBalancer -> ClusterIP: ingress cleared" svc lb2 '{.status.loadBalancer.ingress}' ""
expect_poll "... and the finalizer removed" svc lb2 '{.metadata.finalizers}' ""
check "events DeletingLoadBalancer and DeletedLoadBalancer" poll 10 eval \
	"kc get events --field-selector involvedObject.name=lb2 -o jsonpath='{.items[*].reason}' | grep -q DeletedLoadBalancer &&
	 kc get events --field-selector involvedObject.name=lb2 -o jsonpath='{.items[*].reason}' | grep -q DeletingLoadBalancer"
expect_poll "the freed addresses go to the pending LB" svc lb3 '{.status.loadBalancer.ingress[*].ip}' "10.99.0.1 fd99::11"

# --- delete: the finalizer holds the Service until the LB is cleaned up
check "kubectl delete of an LB Service completes" kc delete svc lb1 --timeout=20s
check "the Service is gone" eval "! kc get svc lb1"
expect_poll "the other LB keeps its addresses" svc lb3 '{.status.loadBalancer.ingress[*].ip}' "10.99.0.1 fd99::11"

# --- classes and node ports
lb_yaml other "loadBalancerClass: example.com/other" | kc apply -f - >/dev/null
lb_yaml nonp "allocateLoadBalancerNodePorts: false" | kc apply -f - >/dev/null
expect_poll "allocateLoadBalancerNodePorts=false: ingress without node ports" svc nonp \
	'{.status.loadBalancer.ingress[0].ip}' "10.99.0.0"
expect_eq "... and no nodePort" "" "$(jp svc nonp '{.spec.ports[0].nodePort}')"
expect_eq "another loadBalancerClass is left alone (no finalizer, no ingress)" "|" \
	"$(jp svc other '{.metadata.finalizers}')|$(jp svc other '{.status.loadBalancer.ingress}')"

# --- with ServiceLB disabled, a deleted LB Service stays Terminating
server_stop
rm -f "$dir/ready"
server_start "$dir" --lb-pool "$POOL" --disable servicelb || { not_ok "server restarts"; exit 1; }
kc delete svc lb3 --wait=false >/dev/null
sleep 1
check "ServiceLB disabled: the deleted Service stays (Terminating)" eval \
	"[ -n \"\$(jp svc lb3 '{.metadata.deletionTimestamp}')\" ] && [ \"\$(jp svc lb3 '{.metadata.finalizers[*]}')\" = $FIN ]"
lb_yaml pending | kc apply -f - >/dev/null
sleep 0.5
expect_eq "ServiceLB disabled: new LB Services stay pending" "|" \
	"$(jp svc pending '{.metadata.finalizers}')|$(jp svc pending '{.status.loadBalancer.ingress}')"
server_stop
rm -f "$dir/ready"
server_start "$dir" --lb-pool "$POOL" --max-endpoints-per-slice 5 || { not_ok "server restarts"; exit 1; }
check "ServiceLB back: the Terminating Service goes" poll 10 eval "! kc get svc lb3"
expect_poll "... and the pending one is provisioned" svc pending '{.metadata.finalizers[*]}' "$FIN"

# --- topology hints: three zones, equal CPU, pods placed 4/1/1
for z in a b c; do
	kc apply -f - >/dev/null <<Y
apiVersion: v1
kind: Node
metadata: {name: node-$z, labels: {topology.kubernetes.io/zone: zone-$z}}
Y
	kc patch node "node-$z" --subresource=status --type=merge -p \
		'{"status":{"allocatable":{"cpu":"2"},"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
done
kc apply -f - >/dev/null <<Y
apiVersion: v1
kind: Node
metadata: {name: cp, labels: {node-role.kubernetes.io/control-plane: ""}}
Y
kc patch node cp --subresource=status --type=merge -p \
	'{"status":{"allocatable":{"cpu":"8"},"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
i=0
for n in a a a a b c; do
	i=$((i + 1))
	kc apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: tp-$i, labels: {app: tp}}
spec:
  nodeName: node-$n
  containers: [{name: c, image: busybox:1.36}]
Y
	kc patch pod "tp-$i" --subresource=status --type=merge -p \
		"{\"status\":{\"podIP\":\"10.42.9.$i\",\"podIPs\":[{\"ip\":\"10.42.9.$i\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" >/dev/null
done
svc_tp() { # NAME ANNOTATIONS SPEC-LINE
	kc apply -f - >/dev/null <<Y
apiVersion: v1
kind: Service
metadata: {name: $1, annotations: {$2}}
spec:
  selector: {app: tp}
  ports: [{port: 80}]
  $3
Y
}
# hints SVC: "zone-a:N zone-b:N zone-c:N" over all the Service's slices
hints() {
	kc get endpointslices -l "kubernetes.io/service-name=$1" -o json | python3 -c '
import collections, json, sys
c = collections.Counter(h["name"] for s in json.load(sys.stdin)["items"] for e in s.get("endpoints") or []
                        for h in (e.get("hints") or {}).get("forZones", []))
print(" ".join("%s:%d" % kv for kv in sorted(c.items())))'
}
hints_are() { [ "$(hints "$1")" = "$2" ]; }
svc_tp auto '"service.kubernetes.io/topology-mode": Auto' ""
svc_tp close "" "trafficDistribution: PreferClose"
check "Auto: hints balanced by zone CPU (2/2/2 from 4/1/1)" poll 10 hints_are auto "zone-a:2 zone-b:2 zone-c:2"
check "PreferClose: each endpoint hinted for its own zone (4/1/1)" poll 10 hints_are close "zone-a:4 zone-b:1 zone-c:1"
check "the TopologyAwareHintsEnabled event" poll 10 eval \
	"kc get events --field-selector involvedObject.name=auto -o jsonpath='{.items[*].message}' | grep -q 'Topology Aware Hints has been enabled, addressType: IPv4'"
expect_eq "endpoints carry their node's zone" "zone-a zone-a zone-a zone-a zone-b zone-c" \
	"$(kc get endpointslices -l kubernetes.io/service-name=auto -o jsonpath='{.items[*].endpoints[*].zone}' | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
kc label node node-c topology.kubernetes.io/zone- >/dev/null
check "a node without a zone: Auto hints dropped" poll 10 hints_are auto ""
check "... with upstream's TopologyAwareHintsDisabled message" poll 10 eval \
	"kc get events --field-selector involvedObject.name=auto -o jsonpath='{.items[*].message}' | grep -q 'Insufficient Node information: allocatable CPU or zone not specified on one or more nodes, addressType: IPv4'"
kc label node node-c topology.kubernetes.io/zone=zone-c >/dev/null
check "zone back: hints back" poll 10 hints_are auto "zone-a:2 zone-b:2 zone-c:2"
expect_eq "--max-endpoints-per-slice 5: 6 endpoints in 2 slices" "2" \
	"$(kc get endpointslices -l kubernetes.io/service-name=auto,endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io -o name | wc -l)"

# --- the Endpoints controller
expect_poll "Endpoints of a selector Service list the ready pods" endpoints auto \
	'{.subsets[0].addresses[*].ip}' "10.42.9.1 10.42.9.2 10.42.9.3 10.42.9.4 10.42.9.5 10.42.9.6"
expect_eq "... with nodeName and targetRef" "node-a Pod tp-1" \
	"$(jp endpoints auto '{.subsets[0].addresses[0].nodeName} {.subsets[0].addresses[0].targetRef.kind} {.subsets[0].addresses[0].targetRef.name}')"
expect_eq "... labelled skip-mirror" "true" "$(jp endpoints auto '{.metadata.labels.endpointslice\.kubernetes\.io/skip-mirror}')"
kc patch pod tp-6 --subresource=status --type=merge -p '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}' >/dev/null
expect_poll "a pod turning unready moves to notReadyAddresses" endpoints auto '{.subsets[0].notReadyAddresses[*].ip}' "10.42.9.6"
check "no mirrored slices for controller-made Endpoints" eval \
	"[ -z \"\$(kc get endpointslices -l kubernetes.io/service-name=auto,endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io -o name)\" ]"

# --- mirroring of hand-made Endpoints of a selectorless Service
kc apply -f - >/dev/null <<Y
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  ipFamilyPolicy: PreferDualStack
  ports: [{name: db, port: 5432}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: ext, labels: {team: db}}
subsets:
- addresses: [{ip: 192.0.2.10}, {ip: "2001:db8::10"}]
  notReadyAddresses: [{ip: 192.0.2.11}]
  ports: [{name: db, port: 5432}]
Y
MIR=kubernetes.io/service-name=ext,endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io
mirrored() { kc get endpointslices -l "$MIR" -o jsonpath='{range .items[*]}{.addressType}={.endpoints[*].addresses[0]}/{.endpoints[*].conditions.ready};{end}' | tr ';' '\n' | sort | tr '\n' ' '; }
check "hand-made Endpoints mirrored per family with readiness" poll 10 eval \
	"[ \"\$(mirrored)\" = 'IPv4=192.0.2.10 192.0.2.11/true false IPv6=2001:db8::10/true ' ]"
expect_eq "mirrored slices keep the Endpoints' labels and ports" "db db 5432" \
	"$(kc get endpointslices -l "$MIR,team=db" -o jsonpath='{.items[0].metadata.labels.team} {.items[0].ports[0].name} {.items[0].ports[0].port}')"
kc label endpoints ext endpointslice.kubernetes.io/skip-mirror=true >/dev/null
check "skip-mirror: mirrored slices removed" poll 10 eval "[ -z \"\$(kc get endpointslices -l '$MIR' -o name)\" ]"
kc label endpoints ext endpointslice.kubernetes.io/skip-mirror- >/dev/null
check "label gone: mirrored again" poll 10 eval "[ -n \"\$(kc get endpointslices -l '$MIR' -o name)\" ]"
kc delete endpoints ext >/dev/null
check "Endpoints deleted: mirrored slices removed" poll 10 eval "[ -z \"\$(kc get endpointslices -l '$MIR' -o name)\" ]"
kc delete svc auto >/dev/null
check "Service deleted: its Endpoints go too" poll 10 eval "! kc get endpoints auto"
exit "$_failed"
