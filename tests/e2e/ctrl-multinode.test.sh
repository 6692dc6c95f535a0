#!/usr/bin/env bash
# The controllers on a 3-node cluster with real agents (tests/e2e/multinode.sh
# draws the topology; dual-stack, busybox test image on every node):
# a Deployment spread over the nodes, rollout undo/restart; a DaemonSet with
# a pod per node, its ControllerRevisions, rollout history/undo; a
# StatefulSet updated by ordinal (partition); cordon + drain held by a PDB;
# Jobs completing and hitting backoffLimit; cascading deletion Background,
# Foreground, Orphan; a namespace emptied with upstream's conditions; the
# scheduler's "0/3 nodes are available" message; node lifecycle with
# --node-monitor-grace-period 5s (an agent stopped with SIGSTOP: conditions
# Unknown, unreachable taints, tolerationSeconds eviction and replacement,
# a cancelled eviction after SIGCONT); memory pressure from --eviction-hard
# keeping BestEffort pods off a node.
. "$(dirname "$0")/multinode.sh"

if ! [ "$(id -u)" = 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "ok - skipped: needs root and network namespaces"; exit 0
fi

MN_FAMILIES=dual MN_IMAGES=1 MN_SERVER_FLAGS="--node-monitor-grace-period 5s"
mn_start 3 || { not_ok "a 3-node cluster starts"; exit 1; }
ok "a 3-node cluster starts"

IMG=k1s.local/busybox:test
jp() { kc get "$1" -o jsonpath="$2"; }	# jp RESOURCE JSONPATH
now_s() { date +%s; }
# live SELECTOR FIELD: FIELD (a jsonpath of a pod) of each matching pod that
# is not being deleted, one a line
live() {
	kc get pods -l "$1" -o jsonpath="{range .items[*]}{.metadata.deletionTimestamp}{\"|\"}{$2}{\"\\n\"}{end}" |
		sed -n 's/^|//p'
}
# nodes_of SELECTOR: the sorted distinct nodes of those pods
nodes_of() { live "$1" .spec.nodeName | sort -u | tr '\n' ' '; }
# POD_SPEC [GRACE] [MORE-YAML]: a busybox pod spec (sleep), indented by
# INDENT (default 2), more fields of the pod spec after it; RES: resources
POD_SPEC() {
	local in=${INDENT:-  }
	printf '%sterminationGracePeriodSeconds: %s\n' "$in" "${1:-1}"
	printf '%scontainers: [{name: c, image: %s, command: [sleep, "3600"]%s}]\n' "$in" "$IMG" "${RES:+, resources: $RES}"
	[ -z "${2:-}" ] || printf '%s%s\n' "$in" "$2"
}
# workload KIND NAME [REPLICAS] [GRACE] [POD-YAML] [SPEC-YAML]: an apps/v1
# KIND of busybox pods labelled app=NAME (in namespace $WL_NS if set)
workload() {
	kc ${WL_NS:+-n "$WL_NS"} apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: $1
metadata: {name: $2}
spec:
  ${3:+replicas: $3}
  selector: {matchLabels: {app: $2}}
  ${6:-}
  template:
    metadata: {labels: {app: $2}}
    spec:
$(INDENT='      ' POD_SPEC "${4:-1}" "${5:-}")
EOF
}
deploy() { workload Deployment "$@"; }	# NAME REPLICAS [GRACE] [POD-YAML]
# pod NAME [POD-YAML]: a busybox pod (RES: its resources, flow YAML)
pod() {
	kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
$(POD_SPEC 1 "${2:-}")
EOF
}
# job NAME EXIT-CODE: a Job whose pod exits with EXIT-CODE, backoffLimit 1
job() {
	kc apply -f - >/dev/null <<EOF
apiVersion: batch/v1
kind: Job
metadata: {name: $1}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: $IMG, command: [sh, -c, "exit $2"]}]
EOF
}

# ===== Jobs start first: the failing one waits 10 s between its two tries
job done-job 0
job fail-job 1

# ===== the scheduler's message for a pod no node fits
RES='{requests: {cpu: "1000"}}' pod huge
sched_msg() { jp pod/huge '{.status.conditions[?(@.type=="PodScheduled")].message}'; }
has_msg() { [ -n "$(sched_msg)" ]; }
poll 20 has_msg
msg=$(sched_msg)
expect_eq "an unschedulable pod says why" \
	"0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod." "$msg"
kc delete pod huge --wait=false >/dev/null

# ===== Deployment: spread, rollout, undo, restart
deploy web 3
check "a Deployment rolls out its 3 replicas" kc rollout status deploy/web --timeout=90s
expect_eq "its replicas are spread over the 3 nodes" "node1 node2 node3 " "$(nodes_of app=web)"
kc set env deploy/web V=2 >/dev/null
check "an update rolls out" kc rollout status deploy/web --timeout=90s
expect_eq "the new pods have the change" "V V V" "$(live app=web '.spec.containers[0].env[0].name' | tr '\n' ' ' | sed 's/ $//')"
kc rollout undo deploy/web >/dev/null
check "rollout undo rolls back" kc rollout status deploy/web --timeout=90s
expect_eq "the template is the first one again" "" "$(jp deploy/web '{.spec.template.spec.containers[0].env}')"
expect_eq "the revisions count on" "3" "$(jp deploy/web '{.metadata.annotations.deployment\.kubernetes\.io/revision}')"
before=$(live app=web .metadata.name)
kc rollout restart deploy/web >/dev/null
check "rollout restart rolls out" kc rollout status deploy/web --timeout=90s
expect_eq "the template has restartedAt" "1" "$(jp deploy/web '{.spec.template.metadata.annotations}' | grep -c restartedAt)"
after=$(live app=web .metadata.name)
kept=$(comm -12 <(echo "$before" | sort) <(echo "$after" | sort) | grep -c .)
expect_eq "restart replaced every pod" 0 "$kept"

# ===== DaemonSet: a pod per node, ControllerRevisions, history, undo
workload DaemonSet dsd
check "a DaemonSet rolls out" kc rollout status ds/dsd --timeout=90s
expect_eq "it has a pod on every node" "node1 node2 node3 " "$(nodes_of app=dsd)"
hash1=$(kc get pods -l app=dsd -o jsonpath='{.items[0].metadata.labels.controller-revision-hash}')
expect_eq "its ControllerRevision is named after the pods' hash" "dsd-$hash1 1" \
	"$(kc get controllerrevisions -l app=dsd -o jsonpath='{range .items[*]}{.metadata.name} {.revision}{end}')"
kc set env ds/dsd V=2 >/dev/null
check "a DaemonSet update rolls out" kc rollout status ds/dsd --timeout=90s
expect_eq "rollout history ds lists two revisions" "1 2" \
	"$(kc rollout history ds/dsd | awk '/^[0-9]/ {print $1}' | tr '\n' ' ' | sed 's/ $//')"
rev1=$(kc rollout history ds/dsd --revision=1)
case $rev1 in
*"Image:"*busybox:test*"Environment:"*"<none>"*) ok "rollout history ds --revision=1 shows the first template" ;;
*) not_ok "rollout history ds --revision=1 shows the first template" "$rev1" ;;
esac
check "rollout undo ds" kc rollout undo ds/dsd
check "the undo rolls out" kc rollout status ds/dsd --timeout=90s
expect_eq "the template is the first one again" "" "$(jp ds/dsd '{.spec.template.spec.containers[0].env}')"
expect_eq "the first revision is now number 3" "2 3" \
	"$(kc rollout history ds/dsd | awk '/^[0-9]/ {print $1}' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "pods carry its hash again" "$hash1 $hash1 $hash1" \
	"$(live app=dsd '.metadata.labels.controller-revision-hash' | tr '\n' ' ' | sed 's/ $//')"

# ===== StatefulSet: RollingUpdate with a partition updates by ordinal
workload StatefulSet ss 2 1 "" "serviceName: ss
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 1}}"
check "a StatefulSet rolls out" kc rollout status sts/ss --timeout=90s
kc set env sts/ss V=2 >/dev/null
upd_rev() { [ "$(jp pod/ss-1 '{.metadata.labels.controller-revision-hash}')" = "$(jp sts/ss '{.status.updateRevision}')" ] &&
	[ "$(jp pod/ss-1 '{.status.phase}')" = Running ]; }
check "the ordinal at the partition gets the update" poll 60 upd_rev
expect_eq "the one below stays at the current revision" "$(jp sts/ss '{.status.currentRevision}')" \
	"$(jp pod/ss-0 '{.metadata.labels.controller-revision-hash}')"
expect_eq "rollout history sts lists two revisions" "1 2" \
	"$(kc rollout history sts/ss | awk '/^[0-9]/ {print $1}' | tr '\n' ' ' | sed 's/ $//')"
kc delete sts ss --wait=false >/dev/null

# ===== cordon + drain respecting a PodDisruptionBudget
kc apply -f - >/dev/null <<EOF
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec: {minAvailable: 3, selector: {matchLabels: {app: web}}}
EOF
check "cordon" kc cordon node3
expect_eq "cordon makes the node unschedulable" "true" "$(jp node/node3 '{.spec.unschedulable}')"
poll 10 test "$(jp pdb/web '{.status.currentHealthy}')" = 3
out=$(kc drain node3 --ignore-daemonsets --timeout=6s 2>&1)
case $out in
*"disruption budget"*) ok "drain waits while the budget allows no disruption" ;;
*) not_ok "drain waits while the budget allows no disruption" "$out" ;;
esac
kc patch pdb web --type=merge -p '{"spec":{"minAvailable":2}}' >/dev/null
check "drain finishes once the budget allows it" kc drain node3 --ignore-daemonsets --timeout=90s
check "the Deployment is whole again on the other nodes" kc rollout status deploy/web --timeout=150s
expect_eq "no web pod is left on the drained node" "node1 node2 " "$(nodes_of app=web)"
expect_eq "the DaemonSet pod stays on the drained node" "node1 node2 node3 " "$(nodes_of app=dsd)"
check "uncordon" kc uncordon node3
kc delete pdb web >/dev/null
kc delete deploy web --wait=false >/dev/null

# ===== Jobs
check "a Job runs to completion" kc wait --for=condition=Complete job/done-job --timeout=60s
check "a failing Job hits its backoffLimit" kc wait --for=condition=Failed job/fail-job --timeout=60s
expect_eq "its Failed reason" "BackoffLimitExceeded" "$(jp job/fail-job '{.status.conditions[?(@.type=="Failed")].reason}')"
expect_eq "it failed twice (backoffLimit 1)" "2" "$(jp job/fail-job '{.status.failed}')"

# ===== cascading deletion
rs() { workload ReplicaSet "$1" 1 "$2"; }
rs_ready() { [ "$(jp "rs/$1" '{.status.readyReplicas}')" = 1 ]; }
rs3_ready() { rs_ready bg && rs_ready fg && rs_ready orph; }
gone() { ! kc get "$1" >/dev/null 2>&1; }
no_pods() { [ -z "$(kc get pods -l "app=$1" -o name)" ]; }
rs bg 1; rs fg 4; rs orph 1
check "three ReplicaSets are ready" poll 60 rs3_ready
kc delete rs bg --cascade=background >/dev/null
check "Background: the owner goes at once" gone rs/bg
check "Background: its pods are collected" poll 30 no_pods bg
kc delete rs fg --cascade=foreground --wait=false >/dev/null
fg_held() { [ -n "$(jp rs/fg '{.metadata.deletionTimestamp}')" ] &&
	jp rs/fg '{.metadata.finalizers}' | grep -q foregroundDeletion; }
check "Foreground: the owner waits with the foregroundDeletion finalizer" fg_held
check "Foreground: its pod is deleted" poll 30 no_pods fg
check "Foreground: then the owner goes" poll 10 gone rs/fg
orph_pod=$(kc get pods -l app=orph -o jsonpath='{.items[0].metadata.name}')
kc delete rs orph --cascade=orphan >/dev/null
check "Orphan: the owner goes" poll 10 gone rs/orph
orphaned() { [ -z "$(jp "pod/$orph_pod" '{.metadata.ownerReferences}')" ]; }
check "Orphan: the pod loses its ownerReference" poll 10 orphaned
expect_eq "Orphan: and keeps running" "Running" "$(jp "pod/$orph_pod" '{.status.phase}')"
kc delete pod "$orph_pod" --wait=false >/dev/null

# ===== namespace deletion
kc create namespace doomed >/dev/null
kc -n doomed create configmap held >/dev/null
kc -n doomed patch configmap held --type=merge -p '{"metadata":{"finalizers":["example.com/f"]}}' >/dev/null
WL_NS=doomed deploy app 2 4
check "a namespace's Deployment rolls out" kc -n doomed rollout status deploy/app --timeout=90s
kc delete namespace doomed --wait=false >/dev/null
nscond() { jp ns/doomed "{.status.conditions[?(@.type==\"$1\")].$2}"; }
remaining() { [ "$(nscond NamespaceContentRemaining message)" = "$1" ]; }
check "while pods terminate: NamespaceContentRemaining names them" poll 10 remaining \
	"Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances"
expect_eq "NamespaceContentRemaining is True, SomeResourcesRemain" "True SomeResourcesRemain" \
	"$(nscond NamespaceContentRemaining status) $(nscond NamespaceContentRemaining reason)"
expect_eq "NamespaceFinalizersRemaining names the finalizer" \
	"True SomeFinalizersRemain Some content in the namespace has finalizers remaining: example.com/f in 1 resource instances" \
	"$(nscond NamespaceFinalizersRemaining status) $(nscond NamespaceFinalizersRemaining reason) $(nscond NamespaceFinalizersRemaining message)"
expect_eq "the other conditions are False" "False ContentDeleted False ResourcesDiscovered False ParsedGroupVersions" \
	"$(nscond NamespaceDeletionContentFailure status) $(nscond NamespaceDeletionContentFailure reason) $(nscond NamespaceDeletionDiscoveryFailure status) $(nscond NamespaceDeletionDiscoveryFailure reason) $(nscond NamespaceDeletionGroupVersionParsingFailure status) $(nscond NamespaceDeletionGroupVersionParsingFailure reason)"
check "the kubelets finish the pods: only the finalizer holds the namespace" poll 30 remaining \
	"Some resources are remaining: configmaps. has 1 resource instances"
kc -n doomed patch configmap held --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
check "the emptied namespace is removed" poll 15 gone ns/doomed

# ===== node lifecycle: an agent stopped
pod forever "nodeName: node3
  tolerations: [{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute}]"
TOL20='[{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 20}]'
deploy t20 3 1 "tolerations: $TOL20"
check "a Deployment tolerating unreachable for 20 s rolls out" kc rollout status deploy/t20 --timeout=90s
t20_on3=$(kc get pods -l app=t20 -o jsonpath='{range .items[?(@.spec.nodeName=="node3")]}{.metadata.name} {end}')
t20_on3=${t20_on3%% *}
check "one of its pods runs on node3" test -n "$t20_on3"
poll 30 mn_pod_running forever
ds3=$(kc get pods -l app=dsd -o jsonpath='{range .items[?(@.spec.nodeName=="node3")]}{.metadata.name}{end}')

kill -STOP "${MN_PID[agent3]}"
ready3() { [ "$(jp node/node3 '{.status.conditions[?(@.type=="Ready")].status}')" = "$1" ]; }
check "a stopped agent's node turns Unknown" poll 20 ready3 Unknown
expect_eq "its conditions say why" "NodeStatusUnknown Kubelet stopped posting node status." \
	"$(jp node/node3 '{.status.conditions[?(@.type=="Ready")].reason} {.status.conditions[?(@.type=="Ready")].message}')"
taints3() { jp node/node3 '{range .spec.taints[*]}{.key}:{.effect} {end}'; }
has_noexec() { taints3 | grep -q 'node.kubernetes.io/unreachable:NoExecute'; }
check "it gets the unreachable NoExecute taint" poll 10 has_noexec
t_taint=$(now_s)
marked() { [ -n "$(jp "pod/$1" '{.metadata.deletionTimestamp}')" ]; }
check "the pod tolerating 20 s is evicted" poll 40 marked "$t20_on3"
waited=$(( $(now_s) - t_taint ))
check "after about 20 s (waited ${waited} s)" test "$waited" -ge 17 -a "$waited" -le 35
replaced() { [ "$(jp deploy/t20 '{.status.availableReplicas}')" = 3 ] && ! nodes_of app=t20 | grep -q node3; }
check "and replaced on the other nodes" poll 30 replaced
expect_eq "the pod tolerating forever stays" "" "$(jp pod/forever '{.metadata.deletionTimestamp}')"
expect_eq "the DaemonSet pod stays" "" "$(jp "pod/$ds3" '{.metadata.deletionTimestamp}')"
kill -CONT "${MN_PID[agent3]}"
check "the agent back: Ready again" poll 30 ready3 True
no_noexec() { ! taints3 | grep -q NoExecute; }
check "and its NoExecute taint goes" poll 10 no_noexec
check "the evicted pod is finished by its kubelet" poll 30 gone "pod/$t20_on3"

# ===== a second round: the agent comes back before tolerationSeconds
pod t20b "nodeName: node3
  tolerations: $TOL20"
poll 30 mn_pod_running t20b
kill -STOP "${MN_PID[agent3]}"
check "round 2: stopped again, unreachable NoExecute" poll 25 has_noexec
t_taint=$(now_s)
kill -CONT "${MN_PID[agent3]}"
check "round 2: the agent is back before the deadline" poll 15 no_noexec
cancelled() { kc get events --field-selector involvedObject.name=t20b -o jsonpath='{.items[*].message}' | grep -q 'Cancelling deletion of Pod default/t20b'; }
check "the eviction is cancelled (event)" poll 10 cancelled

# ===== memory pressure (meanwhile the deadline of round 2 passes)
mn_agent_stop 2
mn_agent_start 2 --eviction-hard 'memory.available<1000Ti'
mp() { [ "$(jp node/node2 '{.status.conditions[?(@.type=="MemoryPressure")].status}')" = True ] &&
	jp node/node2 '{.spec.taints[*].key}' | grep -q node.kubernetes.io/memory-pressure; }
check "an agent under memory pressure: condition and taint" poll 30 mp
pod besteffort "nodeSelector: {kubernetes.io/hostname: node2}"
RES='{requests: {memory: 1Mi}}' pod burstable "nodeSelector: {kubernetes.io/hostname: node2}"
unsched() { jp pod/besteffort '{.status.conditions[?(@.type=="PodScheduled")].message}' | grep -q 'memory-pressure'; }
check "a new BestEffort pod avoids it" poll 20 unsched
expect_eq "it stays unbound" "" "$(jp pod/besteffort '{.spec.nodeName}')"
bound2() { [ "$(jp pod/burstable '{.spec.nodeName}')" = node2 ]; }
check "a Burstable pod still goes there" poll 20 bound2
past=$(( t_taint + 23 - $(now_s) ))
[ "$past" -gt 0 ] && sleep "$past"	# past round 2's deadline: nothing to poll for
expect_eq "round 2: the pod is still there after its tolerationSeconds" "" "$(jp pod/t20b '{.metadata.deletionTimestamp}')"
