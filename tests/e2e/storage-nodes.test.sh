#!/usr/bin/env bash
# tests/e2e/storage-nodes.test.sh - local volumes and snapshots on the
# second node of a two-node cluster (tests/e2e/multinode.sh). node2's agent
# joins with the cluster token, so everything it does for its volumes and
# snapshots goes through the node authorizer (server/nodeauthz.c): a claim
# provisioned on node2 (WaitForFirstConsumer, pod pinned there), a
# snapshot taken by node2's agent, a restore landing on node2 through the
# PV node affinity (its pod has no node selector) with exactly the
# snapshot's data, Delete removing snapshot data and volumes from node2.
. "$(dirname "$0")/multinode.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v runc >/dev/null || ! ip netns list >/dev/null 2>&1 ||
	[ ! -x /bin/busybox ]; then
	ok "storage-nodes # skip: needs root, runc, ip netns and /bin/busybox"
	exit 0
fi

MN_FAMILIES=ipv4 MN_IMAGES=1 MN_JOIN=2 MN_AGENT_FLAGS="--storage-pool-size 256Mi --disable-dns"
mn_start 2 || { not_ok "two-node cluster starts"; exit 1; }
ok "two-node cluster starts (node2 joined with the token)"
node2_cert() {
	sed -n 's/^ *client-certificate-data: //p' "$MN_DIR/n2/agent/kubeconfig" | base64 -d |
		openssl x509 -noout -subject
}
check "node2's agent holds node credentials (CN system:node:node2)" eval "node2_cert | grep -q 'CN *= *system:node:node2'"

jp() { kc get "$1" "$2" -o jsonpath="$3" 2>/dev/null; }
is() { [ "$(jp "$1" "$2" "$3")" = "$4" ]; }
gone() { ! kc get "$1" "$2" >/dev/null 2>&1; }
logf() { cat "$MN_DIR"/n"$1"/agent/logs/pods/default_"$2"_*/c/0.log 2>/dev/null | cut -d' ' -f4- | tr '\n' ' '; }
pod() { # NAME CLAIM SCRIPT [NODE]
	kc apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 1
  ${4:+nodeSelector: {kubernetes.io/hostname: $4\}}
  volumes: [{name: v, persistentVolumeClaim: {claimName: $2}}]
  containers:
  - {name: c, image: k1s.local/busybox:test, volumeMounts: [{name: v, mountPath: /data}], command: [sh, -c, '$3']}
Y
}
claim() { # NAME [DATASOURCE]
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: %s}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 20Mi}}%s}\n' \
		"$1" "${2:+, dataSource: $2}" | kc apply -f - >/dev/null
}

# ---- a claim provisioned on node2 ----
claim d
pod w d 'echo one > /data/f; sync; echo written; sleep 3600' node2
check "claim Bound once the pod is scheduled to node2" poll 40 is pvc d '{.status.phase}' Bound
PV=$(jp pvc d '{.spec.volumeName}')
expect_eq "PV on node2: selected-node, node affinity, k1s.io/node" "node2 node2 node2" \
	"$(jp pvc d '{.metadata.annotations.volume\.kubernetes\.io/selected-node}') $(jp pv "$PV" '{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]} {.metadata.annotations.k1s\.io/node}')"
check "node2's agent made the volume (k1s.io/size)" poll 30 is pv "$PV" '{.metadata.annotations.k1s\.io/size}' 20971520
check "the pod on node2 wrote its file" poll 40 eval "logf 2 w | grep -q written"
STORE2=$(dirname "$(find "$MN_DIR/n2/agent/storage" -maxdepth 2 -type d -name volumes | head -n1)")
expect_eq "the data is in node2's pool" one "$(cat "$STORE2/volumes/$PV/f" 2>/dev/null)"
check "nothing on node1" eval "[ -z \"\$(find '$MN_DIR/n1' -path '*/volumes/$PV' 2>/dev/null)\" ]"

# ---- a snapshot taken by node2's agent ----
kc apply -f - >/dev/null <<Y
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: s}
spec: {source: {persistentVolumeClaimName: d}}
Y
check "snapshot on node2 readyToUse" poll 30 is vs s '{.status.readyToUse}' true
C=$(jp vs s '{.status.boundVolumeSnapshotContentName}')
expect_eq "content: node2, Unix-ns creationTime, restoreSize" "node2 ok 20971520" \
	"$(jp vsc "$C" '{.metadata.annotations.k1s\.io/node}') $(jp vsc "$C" '{.status.creationTime}' | grep -Eq '^[0-9]{19}$' && echo ok) $(jp vsc "$C" '{.status.restoreSize}')"
check "snapshot data in node2's store" test -d "$STORE2/snapshots/$C"
echo two >> "$STORE2/volumes/$PV/f"

# ---- the restore lands on node2 by the PV's node affinity ----
claim r "{apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: s}"
pod r r 'cat /data/f; echo read; sleep 3600'
check "restored claim Bound" poll 40 is pvc r '{.status.phase}' Bound
RPV=$(jp pvc r '{.spec.volumeName}')
expect_eq "restored PV on node2" "node2 node2" \
	"$(jp pv "$RPV" '{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]} {.metadata.annotations.k1s\.io/node}')"
check "its pod (no node selector) is scheduled to node2" poll 30 is pod r '{.spec.nodeName}' node2
check "the restore holds exactly the snapshot's data" poll 40 eval "[ \"\$(logf 2 r)\" = 'one read ' ]"
expect_eq "the source has both writes" "one two" "$(tr '\n' ' ' < "$STORE2/volumes/$PV/f" | sed 's/ $//')"

# ---- Delete: snapshot data and volumes go from node2 ----
kc delete pod r w --wait=false >/dev/null
kc delete vs s --wait=false >/dev/null
check "snapshot, content and node2's snapshot data go" poll 60 eval \
	"gone vs s && gone vsc $C && [ ! -e '$STORE2/snapshots/$C' ]"
kc delete pvc d r --wait=false >/dev/null
check "PVs and node2's volumes go" poll 90 eval \
	"gone pv $PV && gone pv $RPV && [ ! -e '$STORE2/volumes/$PV' ] && [ ! -e '$STORE2/volumes/$RPV' ]"
