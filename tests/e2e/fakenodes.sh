# tests/e2e/fakenodes.sh - play the kubelets of Nodes that exist only in
# the API (no agent): sourced after cluster.sh by tests that need nodes.
#
#   node_add NAME ZONE CPU MEMORY [PODS]   a Node, then a Ready status
#   node_status NAME READY CPU MEMORY PODS [EXTRA_CONDITIONS_JSON]
#   lease_add NAME        a Lease in kube-node-lease, renewed by renew_loop
#   renew_loop &          renews the Leases listed in $dir/renew every 0.5 s
#   renew_stop NAME       stops renewing NAME's Lease
#   ready_all SELECTOR    marks the pods Ready (pods/status)
#   phase POD PHASE       sets a pod's phase (Succeeded, Failed, Running)
#   reap SELECTOR         force-deletes the pods being deleted (kubelet's part)
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
# the kubelets' Lease renewals: every node listed in $dir/renew, twice a second
renew_loop() {
	local n t
	while :; do
		t=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
		for n in $(cat "$dir/renew" 2>/dev/null); do
			curl -s -o /dev/null --cacert "$TLS/server-ca.crt" --cert "$TLS/client-admin.crt" \
				--key "$TLS/client-admin.key" -X PATCH -H 'Content-Type: application/merge-patch+json' \
				"$API/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/$n" \
				-d "{\"spec\":{\"renewTime\":\"$t\"}}" 2>/dev/null
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
ready_all() { # SELECTOR: mark every pod Ready
	local p
	for p in $(kc get pods -l "$1" -o name); do
		kc patch "$p" --subresource=status --type=merge -p '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
	done
}
phase() { kc patch pod "$1" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"$2\"}}" >/dev/null; }
reap() { # SELECTOR: play the kubelet for pods being deleted
	local p
	for p in $(kc get pods -l "$1" -o jsonpath='{range .items[?(@.metadata.deletionTimestamp)]}{.metadata.name} {end}'); do
		kc delete pod "$p" --grace-period=0 --force --wait=false >/dev/null 2>&1
	done
}
