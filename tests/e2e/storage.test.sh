#!/usr/bin/env bash
# tests/e2e/storage.test.sh - local persistent volumes (k1s.io/local) end to
# end with the real kubectl, on a one-node cluster from `k1s server`
# (embedded agent) in a network namespace, as in tests/e2e/pods.test.sh:
# the default StorageClass, WaitForFirstConsumer provisioning on the node
# the scheduler picked, a pod writing to its claim, the size limit (btrfs
# backend), expansion, pvc-protection while a pod uses the claim, reclaim
# Delete removing the data, static binding with Retain, --disable
# local-storage. On exit, even after a failure: server stopped, shims
# killed, runc containers deleted, mounts (pool, loop device) undone,
# cgroups and netns removed.
#
# STORAGE_BACKEND=dir runs it again on the plain-directory backend
# (tests/e2e/storage-dir.test.sh): snapshots, restores and clones by copy,
# Retain/Delete, pre-provisioned contents and validation, without the size
# limit and the parts that don't depend on the backend (static PVs,
# --disable local-storage). Default: auto (btrfs where the kernel has it).
. "$(dirname "$0")/cluster.sh"
BACKEND=${STORAGE_BACKEND:-auto}

if [ "$(id -u)" -ne 0 ] || ! command -v runc >/dev/null || ! ip netns list >/dev/null 2>&1 ||
	[ ! -x /bin/busybox ]; then
	ok "storage # skip: needs root, runc, ip netns and /bin/busybox"
	exit 0
fi

NS=k1s-t-stor$$
CG=k1s-t-stor$$
tmpdir D
mkdir -p "$D/agent/images/import" "$D/img" "$D/plain"
bash "$(dirname "$0")/../images/build.sh" "$D/img" >/dev/null || { not_ok "test images build"; exit 1; }
cp "$D/img/busybox.tar" "$D/agent/images/import/"

node_netns "$NS" "$D" "$CG" || { not_ok "netns"; exit 1; }
nx ip link add up0 type veth peer name up1
nx ip addr add 192.168.78.2/24 dev up0
nx ip link set up0 up
nx ip link set up1 up
nx ip route add default dev up0

PORT=$(free_port)
KUBECONFIG=$D/kubeconfig.yaml
nsenter --net=/run/netns/"$NS" "$K1S" server --data-dir "$D" \
	--storage-backend "$BACKEND" --storage-pool-size 512Mi \
	--https-listen-port "$PORT" --write-kubeconfig "$KUBECONFIG" \
	--ready-file "$D/ready" --node-ip 192.168.78.2 --cluster-cidr 10.42.0.0/16 --service-cidr 10.43.0.0/16 \
	--agent-arg=--runc-root="$D/runc" --agent-arg=--cgroup-parent=/$CG > "$D/server.log" 2>&1 &
SERVER_PID=$!
on_exit "kill $SERVER_PID; wait $SERVER_PID; for p in \$(pgrep -f 'k1s agent .*--data-dir $D/agent'); do kill -9 \$p; done"
on_exit "[ \$_failed = 0 ] || { echo '# server log (tail):'; grep -v ' I' '$D/server.log' | tail -n 30 | sed 's/^/# /'; }"
kc() { nx kubectl --kubeconfig "$KUBECONFIG" "$@"; }
NODE=$(hostname | tr 'A-Z' 'a-z')
LOGS=$D/agent/logs/pods
img="image: k1s.local/busybox:test"

node_ready() { [ "$(kc get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
check "node registers and is Ready" poll 30 node_ready
expect_eq "default StorageClass local" "k1s.io/local WaitForFirstConsumer Delete true true" \
	"$(kc get sc local -o jsonpath='{.provisioner} {.volumeBindingMode} {.reclaimPolicy} {.allowVolumeExpansion} {.metadata.annotations.storageclass\.kubernetes\.io/is-default-class}')"

writer() { # NAME CLAIM SCRIPT
	cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {fsGroup: 2000}
  volumes: [{name: v, persistentVolumeClaim: {claimName: $2}}]
  containers:
  - name: c
    $img
    volumeMounts: [{name: v, mountPath: /data}]
    command: [sh, -c, '$3']
Y
}
claim() { # NAME SIZE [EXTRA SPEC]
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: %s}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: %s}}%s}\n' "$1" "$2" "${3:-}"
}
jp() { kc get "$1" "$2" -o jsonpath="$3" 2>/dev/null; }
is() { [ "$(jp "$1" "$2" "$3")" = "$4" ]; }
logf() { cat "$LOGS"/default_"$1"_*/c/0.log 2>/dev/null; }
msgs() { logf "$1" | cut -d' ' -f4- | tr '\n' ' '; }

# ---- WaitForFirstConsumer: nothing happens until a pod uses the claim ----
claim data 20Mi | kc apply -f - >/dev/null
check "claim without a class gets the default class" poll 10 is pvc data '{.spec.storageClassName}' local
sleep 1
expect_eq "claim stays Pending without a consumer" "Pending" "$(jp pvc data '{.status.phase}')"
check "event WaitForFirstConsumer" eval "kc get events --field-selector involvedObject.name=data -o jsonpath='{.items[*].reason}' | grep -q WaitForFirstConsumer"
check "finalizer kubernetes.io/pvc-protection" eval "jp pvc data '{.metadata.finalizers}' | grep -q pvc-protection"

# ---- a pod writes; the volume is provisioned on the node it was scheduled to ----
writer w data 'echo one > /data/f; sync; dd if=/dev/zero of=/data/big bs=1M count=40 2>&1; echo dd-rc=$?; rm -f /data/big; ls -ln /data/f; echo written; sleep 3600' | kc apply -f - >/dev/null
check "claim Bound once the pod is scheduled" poll 30 is pvc data '{.status.phase}' Bound
PV=$(jp pvc data '{.spec.volumeName}')
expect_eq "selected-node annotation" "$NODE" "$(jp pvc data '{.metadata.annotations.volume\.kubernetes\.io/selected-node}')"
expect_eq "PV: capacity, driver, reclaim, node affinity" "20Mi k1s.io/local Delete $NODE Bound" \
	"$(jp pv "$PV" '{.spec.capacity.storage} {.spec.csi.driver} {.spec.persistentVolumeReclaimPolicy} {.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]} {.status.phase}')"
check "pod Running with the volume" poll 30 is pod w '{.status.phase}' Running
check "the pod wrote its file" poll 20 eval "logf w | grep -q written"
POOL=$(find "$D/agent/storage" -maxdepth 2 -type d -name volumes | head -n1)
expect_eq "data in the node's volume" "one" "$(cat "$POOL/$PV/f" 2>/dev/null)"
if [ "$BACKEND" = dir ]; then
	check "directory backend chosen" grep -q 'directory backend' "$D/server.log"
fi
if grep -q 'btrfs backend' "$D/server.log"; then
	check "size limit enforced (dd past 20Mi fails)" eval "logf w | grep -q 'dd-rc=1' && logf w | grep -Eiq 'quota|space'"
else
	ok "size limit # skip: directory backend (no btrfs), sizes not enforced"
fi
check "fsGroup owns the volume root" eval "[ \"\$(stat -c %g '$POOL/$PV')\" = 2000 ]"

# ---- expansion ----
kc patch pvc data -p '{"spec":{"resources":{"requests":{"storage":"40Mi"}}}}' >/dev/null
check "expansion: PV and claim capacity follow" poll 20 is pvc data '{.status.capacity.storage}' 40Mi
check "expansion: the node resized the volume" poll 20 is pv "$PV" '{.metadata.annotations.k1s\.io/size}' 41943040

# ---- snapshot (no class named) -> more writes -> restore shows the snapshot's data ----
snap() { # NAME CLAIM
	printf 'apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata: {name: %s}\nspec: {source: {persistentVolumeClaimName: %s}}\n' "$1" "$2"
}
expect_eq "default VolumeSnapshotClass local" "k1s.io/local Delete true" \
	"$(jp volumesnapshotclass local '{.driver} {.deletionPolicy} {.metadata.annotations.snapshot\.storage\.kubernetes\.io/is-default-class}')"
snap s1 data | kc apply -f - >/dev/null
check "snapshot readyToUse" poll 20 is vs s1 '{.status.readyToUse}' true
UID1=$(jp vs s1 '{.metadata.uid}')
expect_eq "snapshot: class, content name, restoreSize" "local snapcontent-$UID1 40Mi" \
	"$(jp vs s1 '{.spec.volumeSnapshotClassName} {.status.boundVolumeSnapshotContentName} {.status.restoreSize}')" 
check "snapshot creationTime set" eval "jp vs s1 '{.status.creationTime}' | grep -q T"
check "content: volumeHandle, Unix-ns creationTime, byte restoreSize" eval \
	"jp vsc snapcontent-$UID1 '{.spec.source.volumeHandle} {.status.creationTime} {.status.restoreSize}' | grep -Eq '^$PV [0-9]{19} 41943040$'"
# int64 exactly (not a float) in YAML, and the same second as the snapshot's RFC 3339 time
CT=$(kc get vsc "snapcontent-$UID1" -o yaml | sed -n 's/^  creationTime: \([0-9]*\)$/\1/p')
expect_eq "kubectl -o yaml: content creationTime is an integer, the snapshot's time" \
	"$(jp vs s1 '{.status.creationTime}' | cut -c1-19)" "$(date -u -d "@${CT:0:10}" +%FT%T 2>/dev/null)"
check "snapshot finalizers" eval "jp vs s1 '{.metadata.finalizers}' | grep -q volumesnapshot-as-source-protection && jp vs s1 '{.metadata.finalizers}' | grep -q volumesnapshot-bound-protection"
check "kubectl get vs shows the columns" eval "kc get vs s1 --no-headers | grep -Eq '^s1 +true +data +40Mi +local +snapcontent-'"
echo two | nx sh -c "cat >> '$POOL/$PV/f'"
restore() { # NAME SIZE SOURCE-KIND SOURCE
	local grp="apiGroup: snapshot.storage.k8s.io, "
	[ "$3" = PersistentVolumeClaim ] && grp=""
	claim "$1" "$2" ", dataSource: {${grp}kind: $3, name: $4}"
}
restore r1 40Mi VolumeSnapshot s1 | kc apply -f - >/dev/null
expect_eq "dataSourceRef mirrored from dataSource" "VolumeSnapshot s1" "$(jp pvc r1 '{.spec.dataSourceRef.kind} {.spec.dataSourceRef.name}')"
writer r r1 'cat /data/f; echo read; sleep 3600' | kc apply -f - >/dev/null
check "restored claim Bound" poll 30 is pvc r1 '{.status.phase}' Bound
check "a new pod sees exactly the pre-snapshot data" poll 30 eval "[ \"\$(msgs r)\" = 'one read ' ]"
expect_eq "the source has both writes" "one two" "$(cat "$POOL/$PV/f" | tr '\n' ' ' | sed 's/ $//')"
restore small 1Ki VolumeSnapshot s1 | kc apply -f - >/dev/null
writer sm small 'sleep 3600' | kc apply -f - >/dev/null
check "restore below restoreSize: ProvisioningFailed" poll 20 eval \
	"kc get events --field-selector involvedObject.name=small -o jsonpath='{.items[*].message}' | grep -q 'requested volume size 1024 is less than the size 41943040 for the source snapshot s1'"
restore cl 40Mi PersistentVolumeClaim data | kc apply -f - >/dev/null
writer c cl 'cat /data/f; echo read; sleep 3600' | kc apply -f - >/dev/null
check "clone holds the source's current data" poll 30 eval "[ \"\$(msgs c)\" = 'one two read ' ]"
# appended debug
# ---- pre-provisioned content (snapshotHandle), Retain ----
kc apply -f - >/dev/null <<Y
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata: {name: pre1}
spec: {deletionPolicy: Retain, driver: k1s.io/local, source: {snapshotHandle: snapcontent-$UID1}, volumeSnapshotRef: {name: s2, namespace: default}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: s2}
spec: {source: {volumeSnapshotContentName: pre1}}
Y
check "pre-provisioned content binds and is ready" poll 20 is vs s2 '{.status.readyToUse} {.status.boundVolumeSnapshotContentName}' "true pre1"
kc delete vs s2 >/dev/null
check "Retain: the content stays after its snapshot goes" poll 10 is vsc pre1 '{.spec.deletionPolicy}' Retain
kc delete vsc pre1 >/dev/null
check "Retain: deleting the content keeps the data" test -d "$(dirname "$POOL")/snapshots/snapcontent-$UID1"

# ---- validation with upstream's messages ----
vsbad() { printf 'apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata: {name: bad}\nspec: %s\n' "$1" | kc apply -f - 2>&1; }
check "vs: exactly one source" eval "vsbad '{source: {persistentVolumeClaimName: a, volumeSnapshotContentName: b}}' | grep -q 'exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set'"
check "vs: class not empty" eval "vsbad '{source: {persistentVolumeClaimName: a}, volumeSnapshotClassName: \"\"}' | grep -q 'volumeSnapshotClassName must not be the empty string when set'"
check "vs: source immutable" eval "kc patch vs s1 --type merge -p '{\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"x\"}}}' 2>&1 | grep -q 'persistentVolumeClaimName is immutable'"
check "vsc: exactly one handle, ref needs name and namespace" eval "printf 'apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotContent\nmetadata: {name: bad}\nspec: {deletionPolicy: Delete, driver: k1s.io/local, source: {volumeHandle: a, snapshotHandle: b}, volumeSnapshotRef: {name: x}}\n' | kc apply -f - 2>&1 | grep -q 'exactly one of volumeHandle and snapshotHandle must be set' && printf 'apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotContent\nmetadata: {name: bad}\nspec: {deletionPolicy: Delete, driver: k1s.io/local, source: {volumeHandle: a}, volumeSnapshotRef: {name: x}}\n' | kc apply -f - 2>&1 | grep -q 'both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set'"

kc delete pod r c sm --wait=false >/dev/null
SNAPDIR=$(dirname "$POOL")/snapshots
check "snapshot data on the node" test -d "$SNAPDIR/snapcontent-$UID1"
kc delete vs s1 --wait=false >/dev/null
check "deletionPolicy Delete: snapshot, content and data go" poll 20 eval \
	"! kc get vs s1 >/dev/null 2>&1 && ! kc get vsc snapcontent-$UID1 >/dev/null 2>&1 && [ ! -e '$SNAPDIR/snapcontent-$UID1' ]"

# ---- protection: a claim in use stays until its pod is gone; then Delete reclaims ----
kc delete pvc data --wait=false >/dev/null
sleep 2
check "claim in use stays (Terminating)" eval "jp pvc data '{.metadata.deletionTimestamp}' | grep -q ."
kc delete pod w --wait=false >/dev/null
gone() { ! kc get "$1" "$2" >/dev/null 2>&1; }
check "claim goes once no pod uses it" poll 30 gone pvc data
check "reclaim Delete removes the PV" poll 20 gone pv "$PV"
check "... and the data" poll 10 eval "[ ! -e '$POOL/$PV' ]"

# the rest does not depend on the backend
[ "$BACKEND" = dir ] && exit 0

# ---- static PV, selector, Retain ----
kc apply -f - >/dev/null <<Y
apiVersion: v1
kind: PersistentVolume
metadata: {name: static1, labels: {tier: gold}}
spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], persistentVolumeReclaimPolicy: Retain, storageClassName: manual, hostPath: {path: $D/plain}}
Y
claim st 100Mi ", storageClassName: manual, selector: {matchLabels: {tier: gold}}" | kc apply -f - >/dev/null
check "static PV binds by class and selector" poll 20 is pvc st '{.status.phase} {.spec.volumeName}' "Bound static1"
writer s st 'echo static > /data/g; sleep 3600' | kc apply -f - >/dev/null
check "pod on a hostPath PV writes through" poll 30 eval "[ \"\$(cat $D/plain/g 2>/dev/null)\" = static ]"
kc delete pod s --wait=false >/dev/null
kc delete pvc st --wait=false >/dev/null
check "Retain: the PV is Released, data kept" poll 30 eval "is pv static1 '{.status.phase}' Released && [ -f $D/plain/g ]"

# ---- --disable local-storage: no class, no CRDs ----
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
mkdir -p "$D/off"
server_start "$D/off" --disable local-storage
expect_fail "--disable local-storage: no StorageClass" 1 kubectl --kubeconfig "$KUBECONFIG" get sc local
expect_fail "--disable local-storage: no snapshot CRDs" 1 kubectl --kubeconfig "$KUBECONFIG" get crd volumesnapshots.snapshot.storage.k8s.io
