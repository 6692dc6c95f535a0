#!/usr/bin/env bash
# The controllers inside k1s server (garbage collector, ReplicaSet,
# Deployment, events), driven by kubectl. There is no agent: pods stay
# Pending, so nothing here depends on pods becoming ready.
. "$(dirname "$0")/cluster.sh"

tmpdir dir
server_start "$dir" || { not_ok "server starts"; exit 1; }
ok "server starts"
on_exit "kill -0 \$SERVER_PID 2>/dev/null || echo 'not ok - the server died'"
# every check below first needs a live server
alive() { kill -0 "$SERVER_PID" 2>/dev/null || { echo "not ok - the server died"; tail -n 20 "$dir/server.log" | sed 's/^/# /'; exit 1; }; }

count_pods() { # SELECTOR -> number of pods not being deleted
	kc get pods -l "$1" -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.deletionTimestamp}{"\n"}{end}' |
		awk 'NF == 1' | wc -l
}
pods_are() { [ "$(count_pods "$1")" -eq "$2" ]; }
pods_total() { [ "$(kc get pods -l "$1" -o name | wc -l)" -eq "$2" ]; }

rs_yaml() { # NAME REPLICAS
	cat <<Y
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: $1
spec:
  replicas: $2
  selector:
    matchLabels: {app: $1}
  template:
    metadata:
      labels: {app: $1}
    spec:
      containers:
      - name: c
        image: busybox:1.36
Y
}

# --- ReplicaSet: create, scale, status, events
rs_yaml web 3 | kc apply -f - >/dev/null
alive; check "replicaset with 3 replicas gets 3 pods" poll 10 pods_are app=web 3
owners=$(kc get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].controller}/{.metadata.ownerReferences[0].blockOwnerDeletion} {end}')
alive; expect_eq "pods are owned by the replicaset" "ReplicaSet/web/true/true ReplicaSet/web/true/true ReplicaSet/web/true/true " "$owners"
alive; check "pod names come from generateName" sh -c "kubectl --kubeconfig $KUBECONFIG get pods -l app=web -o name | grep -Eq '^pod/web-[a-z0-9]{5}$'"
rs_status() { [ "$(kc get rs web -o jsonpath='{.status.replicas}/{.status.fullyLabeledReplicas}/{.status.observedGeneration}')" = "$1" ]; }
alive; check "replicaset status counts its pods" poll 10 rs_status 3/3/1
alive; check "SuccessfulCreate events" poll 10 sh -c "kubectl --kubeconfig $KUBECONFIG get events --field-selector reason=SuccessfulCreate,involvedObject.name=web -o name | grep -q ."

kc scale rs web --replicas=1 >/dev/null
alive; check "scale to 1 deletes 2 pods" poll 10 pods_total app=web 1
alive; check "SuccessfulDelete events" poll 10 sh -c "kubectl --kubeconfig $KUBECONFIG get events --field-selector reason=SuccessfulDelete -o name | grep -q ."

kc delete pod -l app=web --wait=false >/dev/null
alive; check "a deleted pod is replaced" poll 10 pods_are app=web 1

# --- adoption
cat <<'Y' | kc apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata:
  name: stray
  labels: {app: adopt}
spec:
  containers: [{name: c, image: busybox:1.36}]
Y
rs_yaml adopt 1 | kc apply -f - >/dev/null
adopted() { [ "$(kc get pod stray -o jsonpath='{.metadata.ownerReferences[0].name}')" = adopt ]; }
alive; check "a matching orphan pod is adopted" poll 10 adopted
sleep 0.3
alive; check "adoption creates no extra pod" pods_total app=adopt 1

# --- garbage collection: orphan, background, foreground
rs_yaml keep 2 | kc apply -f - >/dev/null
poll 10 pods_are app=keep 2
kc delete rs keep --cascade=orphan >/dev/null
alive; check "orphan: replicaset is gone" poll 10 sh -c "kubectl --kubeconfig $KUBECONFIG get rs keep 2>&1 | grep -q NotFound"
no_owner() { [ -z "$(kc get pods -l app=keep -o jsonpath='{.items[*].metadata.ownerReferences}')" ]; }
alive; check "orphan: pods stay without owner" poll 10 no_owner
alive; check "orphan: both pods remain" pods_total app=keep 2

rs_yaml bg 2 | kc apply -f - >/dev/null
poll 10 pods_are app=bg 2
kc delete rs bg --cascade=background >/dev/null
alive; check "background: pods are deleted" poll 10 pods_total app=bg 0

rs_yaml fg 2 | kc apply -f - >/dev/null
poll 10 pods_are app=fg 2
out=$(api DELETE /apis/apps/v1/namespaces/default/replicasets/fg -H 'Content-Type: application/json' -d '{"propagationPolicy":"Foreground"}')
fg_fin=$(echo "${out#* }" | python3 -c 'import json,sys; m=json.load(sys.stdin)["metadata"]; print(",".join(m.get("finalizers",[])), "deletionTimestamp" in m)')
alive; expect_eq "foreground: the answer carries the finalizer and a deletionTimestamp" "foregroundDeletion True" "$fg_fin"
alive; check "foreground: pods are deleted" poll 10 pods_total app=fg 0
alive; check "foreground: then the replicaset goes" poll 10 sh -c "kubectl --kubeconfig $KUBECONFIG get rs fg 2>&1 | grep -q NotFound"

rs_yaml fg2 2 | kc apply -f - >/dev/null
poll 10 pods_are app=fg2 2
kc delete rs fg2 --cascade=foreground >/dev/null	# waits for the object to go
alive; check "kubectl --cascade=foreground returns once pods and owner are gone" sh -c "kubectl --kubeconfig $KUBECONFIG get rs fg2 2>&1 | grep -q NotFound"
alive; check "foreground (kubectl): no pod is left" pods_total app=fg2 0

# --- Deployment
cat > "$dir/deploy.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 2
  selector:
    matchLabels: {app: dep}
  template:
    metadata:
      labels: {app: dep}
    spec:
      containers: [{name: c, image: busybox:1.36}]
Y
kc apply -f "$dir/deploy.yaml" >/dev/null
one_rs() { [ "$(kc get rs -l app=dep -o name | wc -l)" -eq 1 ]; }
alive; check "deployment creates one replicaset" poll 10 one_rs
hash=$(kc get rs -l app=dep -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')
rsname=$(kc get rs -l app=dep -o jsonpath='{.items[0].metadata.name}')
alive; expect_eq "replicaset is named <deploy>-<pod-template-hash>" "app-$hash" "$rsname"
alive; check "deployment gets 2 pods" poll 10 pods_are app=dep 2
alive; check "pods carry the hash label" sh -c "[ \$(kubectl --kubeconfig $KUBECONFIG get pods -l pod-template-hash=$hash -o name | wc -l) -eq 2 ]"
alive; check "rollout history shows revision 1" poll 10 sh -c "kubectl --kubeconfig $KUBECONFIG rollout history deployment/app | grep -Eq '^1 '"
dep_status() { [ "$(kc get deploy app -o jsonpath='{.status.replicas}/{.status.updatedReplicas}/{.status.observedGeneration}')" = 2/2/1 ]; }
alive; check "deployment status" poll 10 dep_status

kc set image deployment/app c=busybox:1.37 >/dev/null
two_rs() { [ "$(kc get rs -l app=dep -o name | wc -l)" -eq 2 ]; }
alive; check "a new image makes a second replicaset" poll 10 two_rs
alive; check "rollout history shows revision 2" poll 10 sh -c "kubectl --kubeconfig $KUBECONFIG rollout history deployment/app | grep -Eq '^2 '"
new_rs_pods() { [ "$(kc get pods -l app=dep,pod-template-hash!=$hash -o name | wc -l)" -ge 1 ]; }
alive; check "rolling update surges one new pod (no pod becomes ready without an agent)" poll 10 new_rs_pods
alive; check "old pods stay while new ones are not available" pods_are "app=dep,pod-template-hash=$hash" 2

kc scale deployment app --replicas=0 >/dev/null
alive; check "scaling the deployment to 0 removes every pod" poll 10 pods_total app=dep 0

kc delete deployment app >/dev/null
alive; check "deleting the deployment removes its replicasets" poll 10 sh -c "[ \$(kubectl --kubeconfig $KUBECONFIG get rs -l app=dep -o name | wc -l) -eq 0 ]"

# --- Recreate, and event counting
cat <<'Y' | kc apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rc
spec:
  replicas: 2
  strategy: {type: Recreate}
  selector:
    matchLabels: {app: rc}
  template:
    metadata:
      labels: {app: rc}
    spec:
      containers: [{name: c, image: busybox:1.36}]
Y
alive; check "recreate: 2 pods" poll 10 pods_are app=rc 2
rc1=$(kc get rs -l app=rc -o jsonpath='{.items[0].metadata.name}')
kc scale deployment rc --replicas=0 >/dev/null
poll 10 pods_total app=rc 0
kc scale deployment rc --replicas=2 >/dev/null
alive; check "recreate: scaled back to 2" poll 10 pods_are app=rc 2
ev_count() { [ "$(kc get events --field-selector involvedObject.name=rc,reason=ScalingReplicaSet -o jsonpath="{range .items[?(@.message=='Scaled up replica set $rc1 from 0 to 2')]}{.count}{end}")" = 2 ]; }
alive; check "a repeated event increments count" poll 10 ev_count
kc set image deployment/rc c=busybox:1.37 >/dev/null
old_gone() { [ "$(kc get rs "$rc1" -o jsonpath='{.spec.replicas}/{.status.replicas}')" = 0/0 ]; }
alive; check "recreate: the old replicaset goes to 0" poll 10 old_gone
alive; check "recreate: then the new one has 2 pods" poll 10 sh -c "[ \$(kubectl --kubeconfig $KUBECONFIG get pods -l app=rc,pod-template-hash!=${rc1#rc-} -o name | wc -l) -eq 2 ]"

# a clean shutdown with every controller busy-free (ASan builds check leaks here)
alive; kill "$SERVER_PID"; wait "$SERVER_PID"; rc=$?
expect_eq "server exits cleanly" 0 "$rc"
[ "$rc" = 0 ] || grep -A12 -E "ERROR|runtime error" "$dir/server.log" | head -60 | sed 's/^/# /'
exit $_failed
