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
alive; ok "scheduler section done"
