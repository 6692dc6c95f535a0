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
. "$(dirname "$0")/cluster.sh"

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

ip netns add "$NS" || { not_ok "netns"; exit 1; }
on_exit "ip netns del $NS"
on_exit "for c in /sys/fs/cgroup/*/$CG; do [ -d \"\$c\" ] && find \"\$c\" -depth -type d -exec rmdir {} \\; ; done"
on_exit "grep ' $D' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l"
on_exit "for id in \$(runc --root $D/runc list -q 2>/dev/null); do runc --root $D/runc delete -f \$id; done"
on_exit "for p in \$(pgrep -f 'k1s shim $D/'); do kill -9 \$p; done"
nx() { nsenter --net=/run/netns/"$NS" "$@"; }
nx ip link set lo up
nx ip link add up0 type veth peer name up1
nx ip addr add 192.168.78.2/24 dev up0
nx ip link set up0 up
nx ip link set up1 up
nx ip route add default dev up0

PORT=$(free_port)
KUBECONFIG=$D/kubeconfig.yaml
K1S_STORAGE_POOL_SIZE=$((512 << 20)) nsenter --net=/run/netns/"$NS" "$K1S" server --data-dir "$D" \
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

# ---- protection: a claim in use stays until its pod is gone; then Delete reclaims ----
kc delete pvc data --wait=false >/dev/null
sleep 2
check "claim in use stays (Terminating)" eval "jp pvc data '{.metadata.deletionTimestamp}' | grep -q ."
kc delete pod w --wait=false >/dev/null
gone() { ! kc get "$1" "$2" >/dev/null 2>&1; }
check "claim goes once no pod uses it" poll 30 gone pvc data
check "reclaim Delete removes the PV" poll 20 gone pv "$PV"
check "... and the data" poll 10 eval "[ ! -e '$POOL/$PV' ]"

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
