#!/usr/bin/env bash
# Workload controllers inside `k1s server --disable-agent` (Job, CronJob,
# ReplicationController, StatefulSet, PodDisruptionBudgets with `kubectl
# drain`), driven by the real kubectl. No kubelet: the test plays it
# (tests/e2e/fakenodes.sh), setting pod phases and readiness itself.
. "$(dirname "$0")/cluster.sh"
. "$(dirname "$0")/fakenodes.sh"

tmpdir dir
server_start "$dir" || { not_ok "server starts"; exit 1; }
ok "server starts"
alive() { kill -0 "$SERVER_PID" 2>/dev/null || { echo "not ok - the server died"; tail -n 20 "$dir/server.log" | sed 's/^/# /'; exit 1; }; }
touch "$dir/renew"
renew_loop &
RENEW_PID=$!
on_exit "kill $RENEW_PID"
# a CronJob every minute, made first: its run is checked at the end
kc create cronjob tick --image=busybox:1.36 --schedule='* * * * *' -- true >/dev/null
cj_made=$(date +%s)
lease_add w1; node_add w1 zone-a 8 16Gi
lease_add w2; node_add w2 zone-a 8 16Gi

job_pods() { kc get pods -l "job-name=$1" -o jsonpath='{range .items[*]}{.metadata.name} {end}'; }
active_pods() { # JOB -> names of pods not finished
	kc get pods -l "job-name=$1" -o jsonpath='{range .items[*]}{.metadata.name}:{.status.phase}:{.metadata.deletionTimestamp}{"\n"}{end}' |
		awk -F: '$2 != "Succeeded" && $2 != "Failed" && $3 == "" {print $1}'
}
n_active() { [ "$(active_pods "$1" | grep -c .)" -eq "$2" ]; }
cond_of() { kc get job "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].status}/{.status.conditions[?(@.type==\"$2\")].reason}"; }
cond_is() { [ "$(cond_of "$1" "$2")" = "$3" ]; }
succeed_active() { local p; for p in $(active_pods "$1"); do phase "$p" Succeeded; done; }
fail_active() { local p; for p in $(active_pods "$1"); do phase "$p" Failed; done; }

# --- kubectl create job, to completion
kc create job once --image=busybox:1.36 -- true >/dev/null
alive; check "kubectl create job: a pod" poll 10 n_active once 1
sel=$(kc get job once -o jsonpath='{.spec.selector.matchLabels}')
case "$sel" in *batch.kubernetes.io/controller-uid*) ok "a generated selector" ;; *) not_ok "a generated selector" "$sel" ;; esac
succeed_active once
alive; check "the Job completes when its pod succeeded" poll 10 cond_is once Complete True/CompletionsReached
check "kubectl wait --for=condition=complete" kc wait --for=condition=complete job/once --timeout=10s
expect_eq "status succeeded 1, completionTime" "1/yes" "$(kc get job once -o jsonpath='{.status.succeeded}/{.status.completionTime}' | sed 's/\/20.*/\/yes/')"
check "Completed event" poll 5 sh -c "kubectl --kubeconfig $KUBECONFIG get events --field-selector reason=Completed,involvedObject.name=once -o name | grep -q ."

# --- completions and parallelism
cat <<Y | kc apply -f - >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: par}
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1.36}]
Y
alive; check "parallelism 2: two pods" poll 10 n_active par 2
succeed_active par
alive; check "then the last one of 3 completions" poll 10 n_active par 1
succeed_active par
alive; check "3 completions: Complete" poll 10 cond_is par Complete True/CompletionsReached
expect_eq "3 pods in all" 3 "$(job_pods par | wc -w)"

# --- backoffLimit
cat <<Y | kc apply -f - >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: fail0}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1.36}]
Y
cat <<Y | kc apply -f - >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: fail1}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1.36}]
Y
alive; check "backoffLimit jobs start" poll 10 sh -c "[ \$(kubectl --kubeconfig $KUBECONFIG get pods -l 'job-name in (fail0,fail1)' -o name | wc -l) -eq 2 ]"
fail_active fail0
fail_active fail1
fail1_at=$(date +%s)
alive; check "backoffLimit 0: one failure fails the Job" poll 10 cond_is fail0 Failed True/BackoffLimitExceeded
msg=$(kc get job fail0 -o jsonpath='{.status.conditions[?(@.type=="Failed")].message}')
expect_eq "upstream's message" "Job has reached the specified backoff limit" "$msg"

# --- activeDeadlineSeconds and ttlSecondsAfterFinished (while fail1 backs off)
cat <<Y | kc apply -f - >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: slow}
spec:
  activeDeadlineSeconds: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1.36}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: ttl}
spec:
  ttlSecondsAfterFinished: 1
  completionMode: Indexed
  completions: 2
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1.36}]
Y
alive; check "Indexed: two pods" poll 10 n_active ttl 2
idx=$(kc get pods -l job-name=ttl -o jsonpath='{range .items[*]}{.metadata.annotations.batch\.kubernetes\.io/job-completion-index}{"\n"}{end}' | sort | tr '\n' ' ')
expect_eq "Indexed: indexes 0 and 1" "0 1 " "$idx"
succeed_active ttl
alive; check "activeDeadlineSeconds: Failed DeadlineExceeded" poll 10 cond_is slow Failed True/DeadlineExceeded
alive; check "its active pod is deleted" poll 10 n_active slow 0
alive; check "ttlSecondsAfterFinished: the finished Job is deleted" poll 10 sh -c "kubectl --kubeconfig $KUBECONFIG get job ttl 2>&1 | grep -q NotFound"

alive; check "backoff: a replacement pod ~10 s after the failure" poll 20 n_active fail1 1
waited=$(( $(date +%s) - fail1_at ))
check "the replacement waited the backoff (${waited}s)" test "$waited" -ge 8
fail_active fail1
alive; check "backoffLimit 1: the second failure fails the Job" poll 10 cond_is fail1 Failed True/BackoffLimitExceeded
alive; ok "jobs done"

# --- PodDisruptionBudget, eviction, kubectl drain
kc cordon w2 >/dev/null
kc create deployment web --image=busybox:1.36 --replicas=2 >/dev/null
on_w1() { [ "$(kc get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName} {end}')" = "w1 w1 " ]; }
alive; check "two replicas on w1 (w2 cordoned)" poll 10 on_w1
kc uncordon w2 >/dev/null
# the kubelet: runs pods (Running, Ready), finishes deletions; prints the
# number of Ready pods not being deleted
kubelet() {
	local p t; t=$(now)
	for p in $(kc get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name}:{.status.phase}:{.metadata.deletionTimestamp}:{.spec.nodeName} {end}'); do
		case "$p" in
		*:Pending::?*) kc patch pod "${p%%:*}" --subresource=status --type=merge \
			-p "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$t\"}]}}" >/dev/null ;;
		*:*:?*:*) kc delete pod "${p%%:*}" --grace-period=0 --force --wait=false >/dev/null 2>&1 ;;
		esac
	done
	for p in $(kc get pods -o jsonpath='{range .items[?(@.metadata.deletionTimestamp)]}{.metadata.name} {end}'); do
		kc delete pod "$p" --grace-period=0 --force --wait=false >/dev/null 2>&1
	done
	kc get pods -l app=web -o jsonpath='{range .items[*]}{.status.phase}:{.metadata.deletionTimestamp} {end}' | tr ' ' '\n' | grep -c '^Running:$'
}
running2() { [ "$(kubelet)" -eq 2 ]; }
alive; check "both replicas running" poll 10 running2
kc create pdb web --selector=app=web --min-available=1 >/dev/null
pdb_is() { [ "$(kc get pdb web -o jsonpath='{.status.expectedPods}/{.status.currentHealthy}/{.status.desiredHealthy}/{.status.disruptionsAllowed}')" = "$1" ]; }
alive; check "PDB status: expected 2, healthy 2, desired 1, allowed 1" poll 10 pdb_is 2/2/1/1
kc drain w1 --ignore-daemonsets --timeout=60s > "$dir/drain.out" 2>&1 &
drain_pid=$!
on_exit "kill $drain_pid"
min_ready=2
for _ in $(seq 150); do
	r=$(kubelet)
	[ "$r" -lt "$min_ready" ] && min_ready=$r
	kill -0 "$drain_pid" 2>/dev/null || break
	sleep 0.2
done
wait "$drain_pid"; drain_rc=$?; [ "$drain_rc" = 0 ] || sed "s/^/# /" "$dir/drain.out" | tail -20
check "kubectl drain succeeds" test "$drain_rc" -eq 0
check "drain was held back by the budget" grep -q "Cannot evict pod as it would violate the pod's disruption budget" "$dir/drain.out"
check "node/w1 drained" grep -q "node/w1 drained" "$dir/drain.out"
check "the budget kept a Ready pod all along (min ${min_ready})" test "$min_ready" -ge 1
alive; check "both replicas now on w2" poll 10 sh -c "[ \"\$(kubectl --kubeconfig $KUBECONFIG get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName} {end}')\" = 'w2 w2 ' ]"
expect_eq "w1 is cordoned" true "$(kc get node w1 -o jsonpath='{.spec.unschedulable}')"
kc delete pdb web >/dev/null
kc delete deployment web >/dev/null
kc uncordon w1 >/dev/null
alive; ok "drain done"

# --- Deployment rollouts: restart, status, undo, pause/resume, progress deadline
run_sel() { # SELECTOR: the kubelet, once
	local p t; t=$(now)
	for p in $(kc get pods -l "$1" -o jsonpath='{range .items[*]}{.metadata.name}:{.status.phase}:{.metadata.deletionTimestamp}:{.spec.nodeName} {end}'); do
		case "$p" in
		*:Pending::?*) kc patch pod "${p%%:*}" --subresource=status --type=merge \
			-p "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$t\"}]}}" >/dev/null ;;
		*:*:?*:*) kc delete pod "${p%%:*}" --grace-period=0 --force --wait=false >/dev/null 2>&1 ;;
		esac
	done
}
( while :; do run_sel app=roll; sleep 0.3; done ) >/dev/null 2>&1 &
KUBELET_PID=$!
on_exit "kill $KUBELET_PID"
kc create deployment roll --image=busybox:1.36 --replicas=4 >/dev/null
check "rollout status: 4 replicas available" kc rollout status deployment/roll --timeout=30s
spread=$(kc get pods -l app=roll -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')
expect_eq "replicas spread over both nodes" "2 2 " "$spread"
kc rollout restart deployment/roll >/dev/null
check "rollout restart completes" kc rollout status deployment/roll --timeout=30s
expect_eq "a second revision" 2 "$(kc get deployment roll -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')"
kc rollout undo deployment/roll >/dev/null
check "rollout undo completes" kc rollout status deployment/roll --timeout=30s
restarted=$(kc get deployment roll -o jsonpath='{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}')
expect_eq "undo went back to the template without restartedAt, as revision 3" "/3" "$restarted/$(kc get deployment roll -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')"
kc rollout pause deployment/roll >/dev/null
kc set image deployment/roll busybox=busybox:1.37 >/dev/null
sleep 0.5
paused=$(kc get deployment roll -o jsonpath='{.status.conditions[?(@.type=="Progressing")].reason}/{.status.updatedReplicas}')
expect_eq "paused: DeploymentPaused, no new pods" "DeploymentPaused/0" "$paused"
kc rollout resume deployment/roll >/dev/null
check "resumed: the rollout completes" kc rollout status deployment/roll --timeout=30s
new_image() { [ "$(kc get pods -l app=roll -o jsonpath='{range .items[*]}{.spec.containers[0].image} {end}')" = "busybox:1.37 busybox:1.37 busybox:1.37 busybox:1.37 " ]; }
alive; check "all pods run the new image" poll 10 new_image
kill "$KUBELET_PID"
cat <<Y | kc apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  replicas: 1
  progressDeadlineSeconds: 2
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
Y
stuck() { [ "$(kc get deployment stuck -o jsonpath='{.status.conditions[?(@.type=="Progressing")].status}/{.status.conditions[?(@.type=="Progressing")].reason}')" = False/ProgressDeadlineExceeded ]; }
alive; check "no Ready pod for progressDeadlineSeconds: ProgressDeadlineExceeded" poll 10 stuck
rs_out=$(kc rollout status deployment/stuck --timeout=5s 2>&1)
case "$rs_out" in *"exceeded its progress deadline"*) ok "kubectl rollout status reports the deadline" ;; *) not_ok "kubectl rollout status reports the deadline" "$rs_out" ;; esac
kc delete deployment roll stuck >/dev/null

# --- ReplicationController (old manifests)
cat <<Y | kc apply -f - >/dev/null
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 3
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
Y
rc_pods() { reap app=legacy; [ "$(kc get pods -l app=legacy -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].kind} {end}')" = "$1" ]; }
alive; check "ReplicationController: 3 pods it controls" poll 10 rc_pods "ReplicationController ReplicationController ReplicationController "
kc scale rc legacy --replicas=1 >/dev/null
alive; check "scaled to 1" poll 10 rc_pods "ReplicationController "
alive; check "status.replicas 1" poll 10 sh -c "[ \"\$(kubectl --kubeconfig $KUBECONFIG get rc legacy -o jsonpath='{.status.replicas}')\" = 1 ]"
kc delete rc legacy >/dev/null
alive; check "deleting it collects its pods" poll 10 rc_pods ""

# --- StatefulSet: ordered, stable names
run_db() { # the kubelet for app=db: Running + Ready, deletions finished
	local p t; t=$(now)
	for p in $(kc get pods -l app=db -o jsonpath='{range .items[*]}{.metadata.name}:{.status.phase}:{.metadata.deletionTimestamp} {end}'); do
		case "$p" in
		*:Pending:) kc patch pod "${p%%:*}" --subresource=status --type=merge \
			-p "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$t\"}]}}" >/dev/null ;;
		*:*:?*) kc delete pod "${p%%:*}" --grace-period=0 --force --wait=false >/dev/null 2>&1 ;;
		esac
	done
}
db_pods() { kc get pods -l app=db -o jsonpath='{range .items[*]}{.metadata.name}{.metadata.deletionTimestamp} {end}'; }
cat <<Y | kc apply -f - >/dev/null
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 3
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
Y
alive; check "StatefulSet: db-0 first" poll 10 sh -c "[ \"\$(kubectl --kubeconfig $KUBECONFIG get pods -l app=db -o name)\" = pod/db-0 ]"
sleep 0.5
expect_eq "db-1 waits for db-0 to be Ready" "db-0 " "$(db_pods)"
expect_eq "hostname and subdomain" "db-0/db" "$(kc get pod db-0 -o jsonpath='{.spec.hostname}/{.spec.subdomain}')"
db_is() { run_db; [ "$(db_pods)" = "$1" ]; }
alive; check "then db-1 and db-2 in order as they become Ready" poll 15 db_is "db-0 db-1 db-2 "
ready3() { run_db; [ "$(kc get sts db -o jsonpath='{.status.readyReplicas}')" = 3 ]; }
alive; check "status: 3 ready" poll 10 ready3
kc scale sts db --replicas=1 >/dev/null
alive; check "scale down deletes db-2 first" poll 10 sh -c "kubectl --kubeconfig $KUBECONFIG get pod db-2 -o jsonpath='{.metadata.deletionTimestamp}' | grep -q . && [ -z \"\$(kubectl --kubeconfig $KUBECONFIG get pod db-1 -o jsonpath='{.metadata.deletionTimestamp}')\" ]"
alive; check "then db-1" poll 15 db_is "db-0 "
kc set image sts/db c=busybox:1.37 >/dev/null
upd() { run_db; [ "$(kc get pod db-0 -o jsonpath='{.spec.containers[0].image}/{.status.phase}' 2>/dev/null)" = busybox:1.37/Running ]; }
alive; check "rolling update replaces db-0 with the new template" poll 15 upd
rev_ok() { [ "$(kc get sts db -o jsonpath='{.status.updateRevision}/{.status.currentRevision}')" = "$(kc get pod db-0 -o jsonpath='{.metadata.labels.controller-revision-hash}/{.metadata.labels.controller-revision-hash}')" ]; }
alive; check "currentRevision = updateRevision = the pod's" poll 10 rev_ok
hist() { kc rollout history sts/db | awk '/^[0-9]/ {print $1}' | tr '\n' ' '; }
expect_eq "rollout history sts: a ControllerRevision per template" "1 2 " "$(hist)"
expect_eq "the newest is named like the pods' label" "$(kc get sts db -o jsonpath='{.status.updateRevision}') 2" \
	"$(kc get controllerrevision "$(kc get sts db -o jsonpath='{.status.updateRevision}')" -o jsonpath='{.metadata.name} {.revision}')"
kc patch sts db --type=merge -p '{"spec":{"revisionHistoryLimit":0}}' >/dev/null
hist_is() { [ "$(hist)" = "$1" ]; }
alive; check "revisionHistoryLimit 0 drops the unused revision" poll 10 hist_is "2 "

# --- CronJob: the run of the minute that began since it was made
kc create job manual --from=cronjob/tick >/dev/null
check "kubectl create job --from=cronjob" poll 5 sh -c "kubectl --kubeconfig $KUBECONFIG get job manual -o name | grep -q ."
left=$(( 65 - ($(date +%s) - cj_made) ))
[ "$left" -lt 5 ] && left=5
cj_job() { kc get jobs -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].kind}/{.metadata.name}{"\n"}{end}' | grep -Eq "^CronJob/tick-[0-9]+$"; }
alive; check "CronJob: a Job at the next minute" poll "$left" cj_job
name=$(kc get jobs -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].kind}/{.metadata.name}{"\n"}{end}' | grep -E '^CronJob/tick-[0-9]+$' | sed 's|^CronJob/||' | sort | tail -1)
mins=${name#tick-}
ann=$(kc get job "$name" -o jsonpath='{.metadata.annotations.batch\.kubernetes\.io/cronjob-scheduled-timestamp}')
expect_eq "named by the scheduled minute, annotated with its time" "$(date -u -d "@$((mins * 60))" +%Y-%m-%dT%H:%M:%SZ)" "$ann"
expect_eq "status.lastScheduleTime" "$ann" "$(kc get cronjob tick -o jsonpath='{.status.lastScheduleTime}')"
alive; check "status.active lists it" poll 5 sh -c "kubectl --kubeconfig $KUBECONFIG get cronjob tick -o jsonpath='{range .status.active[*]}{.name}{\"\\n\"}{end}' | grep -qx $name"
alive; ok "workloads done"
