#!/usr/bin/env bash
# The scheduler and node lifecycle inside `k1s server --disable-agent`,
# driven by the real kubectl. There are no kubelets: the test plays them,
# creating Node objects, posting their status and renewing their Leases
# itself; pods never run, the test marks them Ready where a controller
# needs that.
. "$(dirname "$0")/cluster.sh"

tmpdir dir
server_start "$dir" ${SCHED_SERVER_FLAGS:-} || { not_ok "server starts"; exit 1; }
ok "server starts"
alive() { kill -0 "$SERVER_PID" 2>/dev/null || { echo "not ok - the server died"; tail -n 20 "$dir/server.log" | sed 's/^/# /'; exit 1; }; }

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# node_add NAME ZONE CPU MEMORY [PODS]: a Node with a Ready status
node_add() {
	cat <<Y | kc apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata:
  name: $1
  labels: {topology.kubernetes.io/zone: $2, kubernetes.io/hostname: $1}
Y
	node_status "$1" True "$3" "$4" "${5:-110}"
}
# node_status NAME READY CPU MEMORY PODS [EXTRA_CONDITIONS_JSON]
node_status() {
	local t; t=$(now)
	kc patch node "$1" --subresource=status --type=merge -p "{\"status\":{
	  \"allocatable\":{\"cpu\":\"$3\",\"memory\":\"$4\",\"pods\":\"$5\"},
	  \"capacity\":{\"cpu\":\"$3\",\"memory\":\"$4\",\"pods\":\"$5\"},
	  \"conditions\":[{\"type\":\"Ready\",\"status\":\"$2\",\"reason\":\"KubeletReady\",\"message\":\"kubelet is posting ready status\",\"lastHeartbeatTime\":\"$t\",\"lastTransitionTime\":\"$t\"}${6:-}]}}" >/dev/null
}
pod_node() { kc get pod "$1" -o jsonpath='{.spec.nodeName}'; }
pod_msg() { kc get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
msg_is() { [ "$(pod_msg "$1")" = "$2" ]; }
bound() { [ -n "$(pod_node "$1")" ]; }
run_pod() { # NAME [OVERRIDES]
	kc run "$1" --image=busybox:1.36 --restart=Never ${2:+--overrides="$2"} >/dev/null
}

# --- no nodes
run_pod lonely
alive; check "no nodes: upstream's message" poll 10 msg_is lonely "no nodes available to schedule pods"
reason=$(kc get pod lonely -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].status}/{.status.conditions[?(@.type=="PodScheduled")].reason}')
expect_eq "no nodes: PodScheduled False Unschedulable" "False/Unschedulable" "$reason"
alive; check "FailedScheduling event from default-scheduler" poll 10 sh -c \
	"kubectl --kubeconfig $KUBECONFIG get events --field-selector reason=FailedScheduling,involvedObject.name=lonely -o jsonpath='{.items[0].source.component}' | grep -qx default-scheduler"

# --- nodes appear: the pending pod is retried, spreading over nodes
node_add n1 zone-a 2 4Gi
node_add n2 zone-b 2 4Gi
node_add n3 zone-c 2 4Gi
alive; check "a pending pod is scheduled when nodes appear" poll 10 bound lonely
alive; check "Scheduled event" poll 10 sh -c \
	"kubectl --kubeconfig $KUBECONFIG get events --field-selector reason=Scheduled,involvedObject.name=lonely -o jsonpath='{.items[0].message}' | grep -Eq '^Successfully assigned default/lonely to n[123]$'"
kc delete pod lonely --wait=false >/dev/null

kc create deployment web --image=busybox:1.36 --replicas=6 >/dev/null
all_bound() { [ "$(kc get pods -l "$1" -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -c .)" -eq "$2" ]; }
alive; check "6 replicas are bound" poll 10 all_bound app=web 6
spread=$(kc get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort | uniq -c | awk '{print $1}' | sort | tr '\n' ' ')
expect_eq "replicas spread 2/2/2 over the nodes" "2 2 2 " "$spread"
cond=$(kc get pod -l app=web -o jsonpath='{.items[0].status.conditions[?(@.type=="PodScheduled")].status}')
expect_eq "bound pods have PodScheduled True" "True" "$cond"

# --- filters and their messages
run_pod sel '{"spec":{"nodeSelector":{"disk":"ssd"}}}'
alive; check "nodeSelector: message" poll 10 msg_is sel \
	"0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
kc label node n2 disk=ssd >/dev/null
alive; check "nodeSelector: scheduled once a node gets the label" poll 10 sh -c "[ \"\$(kubectl --kubeconfig $KUBECONFIG get pod sel -o jsonpath='{.spec.nodeName}')\" = n2 ]"

run_pod aff '{"spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"topology.kubernetes.io/zone","operator":"In","values":["zone-c"]}]}]}}}}}'
alive; check "required node affinity picks the zone" poll 10 sh -c "[ \"\$(kubectl --kubeconfig $KUBECONFIG get pod aff -o jsonpath='{.spec.nodeName}')\" = n3 ]"

run_pod big '{"spec":{"containers":[{"name":"big","image":"busybox:1.36","resources":{"requests":{"cpu":"3"}}}]}}'
alive; check "requests beyond allocatable: message" poll 10 msg_is big \
	"0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
run_pod fill '{"spec":{"containers":[{"name":"c","image":"busybox:1.36","resources":{"requests":{"cpu":"1500m","memory":"3Gi"}}}]}}'
alive; check "a pod that fits is bound" poll 10 bound fill
run_pod fill2 '{"spec":{"nodeName":"","containers":[{"name":"c","image":"busybox:1.36","resources":{"requests":{"cpu":"1500m","memory":"3Gi"}}}]}}'
alive; check "a second big pod lands on another node" poll 10 bound fill2
[ "$(pod_node fill)" != "$(pod_node fill2)" ]; check "placed requests are charged to the node" [ $? -eq 0 ]
node_add n4 zone-a 4 8Gi
alive; check "the unschedulable pod is retried when a node is added" poll 10 sh -c "[ \"\$(kubectl --kubeconfig $KUBECONFIG get pod big -o jsonpath='{.spec.nodeName}')\" = n4 ]"

hp='{"spec":{"nodeSelector":{"kubernetes.io/hostname":"n1"},"containers":[{"name":"c","image":"busybox:1.36","ports":[{"containerPort":80,"hostPort":8080}]}]}}'
run_pod hp1 "$hp"
alive; check "hostPort pod bound" poll 10 bound hp1
run_pod hp2 "$hp"
alive; check "hostPort conflict: message" poll 10 msg_is hp2 \
	"0/4 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 1 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling."
kc delete pod hp1 --wait=false >/dev/null
kc delete pod hp1 --grace-period=0 --force >/dev/null 2>&1
alive; check "hostPort pod scheduled once the port is free" poll 10 bound hp2

# --- taints, tolerations, cordon
kc taint node n1 dedicated=infra:NoSchedule >/dev/null
kc taint node n2 dedicated=infra:NoSchedule >/dev/null
kc cordon n3 >/dev/null
kc cordon n4 >/dev/null
run_pod tainted
alive; check "taints and cordon: message" poll 10 msg_is tainted \
	"0/4 nodes are available: 2 node(s) had untolerated taint {dedicated: infra}, 2 node(s) were unschedulable. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
run_pod tolerant '{"spec":{"tolerations":[{"key":"dedicated","operator":"Equal","value":"infra","effect":"NoSchedule"}]}}'
alive; check "a tolerating pod goes to a tainted node" poll 10 sh -c "kubectl --kubeconfig $KUBECONFIG get pod tolerant -o jsonpath='{.spec.nodeName}' | grep -Eqx 'n[12]'"
kc uncordon n3 >/dev/null
alive; check "uncordon: the pending pod is scheduled" poll 10 sh -c "[ \"\$(kubectl --kubeconfig $KUBECONFIG get pod tainted -o jsonpath='{.spec.nodeName}')\" = n3 ]"
kc taint node n1 dedicated- >/dev/null
kc taint node n2 dedicated- >/dev/null
kc uncordon n4 >/dev/null
kc delete deployment web >/dev/null
kc delete pod --all --wait=false >/dev/null
kc delete pod --all --grace-period=0 --force >/dev/null 2>&1

# ===== node lifecycle: a fresh server with a short grace period
server_stop
tmpdir dir
server_start "$dir" --node-monitor-grace-period 3s || { not_ok "server with --node-monitor-grace-period starts"; exit 1; }
ok "server with --node-monitor-grace-period starts"

# the kubelets' Lease renewals: every node listed in $dir/renew, twice a second
touch "$dir/renew"
renew_loop() {
	local n t
	while :; do
		t=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
		for n in $(cat "$dir/renew" 2>/dev/null); do
			curl -sS -o /dev/null --cacert "$TLS/server-ca.crt" --cert "$TLS/client-admin.crt" \
				--key "$TLS/client-admin.key" -X PATCH -H 'Content-Type: application/merge-patch+json' \
				"$API/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/$n" \
				-d "{\"spec\":{\"renewTime\":\"$t\"}}"
		done
		sleep 0.5
	done
}
lease_add() {
	cat <<Y | kc apply -f - >/dev/null
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: $1, namespace: kube-node-lease}
spec: {holderIdentity: $1, leaseDurationSeconds: 40, renewTime: "$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)"}
Y
	echo "$1" >> "$dir/renew"
}
renew_stop() { sed -i "/^$1\$/d" "$dir/renew"; }
renew_loop &
RENEW_PID=$!
on_exit "kill $RENEW_PID"
taints() { kc get node "$1" -o jsonpath='{range .spec.taints[*]}{.key}:{.effect} {end}'; }
taints_are() { [ "$(taints "$1")" = "$2" ]; }

cat <<Y | kc apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata: {name: m0}
Y
expect_eq "a new node is admitted with not-ready:NoSchedule" "node.kubernetes.io/not-ready:NoSchedule " "$(taints m0)"
lease_add m1; node_add m1 zone-a 4 8Gi
lease_add m2; node_add m2 zone-a 4 8Gi
lease_add m3; node_add m3 zone-b 4 8Gi
alive; check "the not-ready taint goes once the node is Ready" poll 10 taints_are m1 ""
kc delete node m0 >/dev/null

# --- conditions become taints
t=$(now)
node_status m1 True 4 8Gi 110 ",{\"type\":\"MemoryPressure\",\"status\":\"True\",\"reason\":\"KubeletHasInsufficientMemory\",\"message\":\"low\",\"lastHeartbeatTime\":\"$t\",\"lastTransitionTime\":\"$t\"}"
alive; check "MemoryPressure True -> memory-pressure:NoSchedule" poll 10 taints_are m1 "node.kubernetes.io/memory-pressure:NoSchedule "
run_pod be '{"spec":{"nodeSelector":{"kubernetes.io/hostname":"m1"}}}'
run_pod bu '{"spec":{"nodeSelector":{"kubernetes.io/hostname":"m1"},"containers":[{"name":"c","image":"busybox:1.36","resources":{"requests":{"memory":"64Mi"}}}]}}'
alive; check "a BestEffort pod avoids a node under memory pressure" poll 10 msg_is be \
	"0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/memory-pressure: }, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
alive; check "a Burstable pod goes there" poll 10 bound bu
tols=$(kc get pod be -o jsonpath='{range .spec.tolerations[*]}{.key}:{.effect}:{.tolerationSeconds} {end}')
expect_eq "DefaultTolerationSeconds: 300 s not-ready/unreachable tolerations" \
	"node.kubernetes.io/not-ready:NoExecute:300 node.kubernetes.io/unreachable:NoExecute:300 " "$tols"
node_status m1 True 4 8Gi 110
alive; check "MemoryPressure gone -> taint gone, the pending pod scheduled" poll 10 bound be
kc cordon m2 >/dev/null
alive; check "cordon -> unschedulable:NoSchedule" poll 10 taints_are m2 "node.kubernetes.io/unschedulable:NoSchedule "
kc uncordon m2 >/dev/null
alive; check "uncordon -> the taint goes" poll 10 taints_are m2 ""
kc delete pod be bu --wait=false >/dev/null

# --- a node stops renewing its Lease
evpod() { # NAME NODE TOLERATION_JSON
	cat <<Y | kc apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  nodeName: $2
  tolerations: [$3]
  containers: [{name: c, image: busybox:1.36}]
Y
	kc patch pod "$1" --subresource=status --type=merge -p '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
}
evpod e1 m3 '{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}'
evpod e2 m3 '{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute}'
cat <<Y | kc apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: ev}
spec:
  replicas: 3
  selector: {matchLabels: {app: ev}}
  template:
    metadata: {labels: {app: ev}}
    spec:
      tolerations: [{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}]
      containers: [{name: c, image: busybox:1.36}]
Y
alive; check "deployment pods are spread, one on m3" poll 10 sh -c \
	"kubectl --kubeconfig $KUBECONFIG get pods -l app=ev -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | sort | tr '\\n' ' ' | grep -qx 'm1 m2 m3 '"
renew_stop m3
cond() { kc get node m3 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}/{.status.conditions[?(@.type=="Ready")].message}'; }
alive; check "no renewal for the grace period -> Ready Unknown" poll 10 sh -c "[ \"\$(kubectl --kubeconfig $KUBECONFIG get node m3 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = Unknown ]"
expect_eq "NodeStatusUnknown with upstream's message" "Unknown/NodeStatusUnknown/Kubelet stopped posting node status." "$(cond)"
alive; check "unreachable taints, NoSchedule and NoExecute" poll 10 taints_are m3 \
	"node.kubernetes.io/unreachable:NoSchedule node.kubernetes.io/unreachable:NoExecute "
added=$(kc get node m3 -o jsonpath='{.spec.taints[?(@.effect=="NoExecute")].timeAdded}')
[ -n "$added" ]; check "the NoExecute taint has timeAdded" [ $? -eq 0 ]
ready=$(kc get pod e2 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')
expect_eq "the node's pods are not Ready any more" "False" "$ready"
deleting() { [ -n "$(kc get pod "$1" -o jsonpath='{.metadata.deletionTimestamp}')" ]; }
alive; check "a pod tolerating 2 s is evicted" poll 10 deleting e1
gone_at=$(date +%s)
dt=$(kc get pod e1 -o jsonpath='{.status.conditions[?(@.type=="DisruptionTarget")].status}/{.status.conditions[?(@.type=="DisruptionTarget")].reason}')
expect_eq "evicted pod has DisruptionTarget DeletionByTaintManager" "True/DeletionByTaintManager" "$dt"
secs=$(( gone_at - $(date -d "$added" +%s) ))
check "eviction came ~2 s after the taint (took ${secs}s)" test "$secs" -ge 1 -a "$secs" -le 5
check "TaintManagerEviction event" poll 5 sh -c \
	"kubectl --kubeconfig $KUBECONFIG get events --field-selector reason=TaintManagerEviction,involvedObject.name=e1 -o jsonpath='{.items[0].message}' | grep -qx 'Marking for deletion Pod default/e1'"
ev_ok() { [ "$(kc get pods -l app=ev -o jsonpath='{range .items[?(@.metadata.deletionTimestamp)]}x{end}')" = x ] &&
	[ "$(kc get pods -l app=ev -o jsonpath='{range .items[*]}{.metadata.deletionTimestamp}/{.spec.nodeName}{"\n"}{end}' | grep -c '^/m[12]$')" -eq 3 ]; }
alive; check "the deployment's pod on m3 is evicted and replaced on m1/m2" poll 10 ev_ok
deleting e2; expect_eq "a pod tolerating unreachable forever stays" 1 $?

# --- the node comes back before the deadline: eviction cancelled
evpod c1 m2 '{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 4}'
renew_stop m2
alive; check "m2 silent -> unreachable:NoExecute" poll 10 sh -c "kubectl --kubeconfig $KUBECONFIG get node m2 -o jsonpath='{.spec.taints[*].effect}' | grep -q NoExecute"
echo m2 >> "$dir/renew"
node_status m2 True 4 8Gi 110
alive; check "m2 Ready again -> taints removed" poll 10 taints_are m2 ""
sleep 4.5
deleting c1; expect_eq "the pending eviction was cancelled" 1 $?
check "cancel event" poll 5 sh -c \
	"kubectl --kubeconfig $KUBECONFIG get events --field-selector reason=TaintManagerEviction,involvedObject.name=c1 -o jsonpath='{range .items[*]}{.message}{\"\\n\"}{end}' | grep -qx 'Cancelling deletion of Pod default/c1'"
alive; ok "node lifecycle section done"
