#!/usr/bin/env bash
# The EndpointSlice controller inside k1s server, driven by kubectl. There is
# no agent: the tests give pods their IPs and readiness through the status
# subresource, as a kubelet would.
. "$(dirname "$0")/cluster.sh"

tmpdir dir
server_start "$dir" || { not_ok "server starts"; exit 1; }
ok "server starts"
alive() { kill -0 "$SERVER_PID" 2>/dev/null || { echo "not ok - the server died"; tail -n 20 "$dir/server.log" | sed 's/^/# /'; exit 1; }; }

MB=endpointslice.kubernetes.io/managed-by
CTRL=endpointslice-controller.k8s.io

# slices SVC EXPR: evaluates the python expression EXPR over `s`, the list of
# the controller's slices of SVC (and `svc`, the Service, or None)
slices() {
	local svc=$1 expr=$2
	{ kc get endpointslices -l "kubernetes.io/service-name=$svc,$MB=$CTRL" -o json
	  echo '@@'
	  kc get svc "$svc" -o json 2>/dev/null; } | python3 -c '
import json, sys
a, b = sys.stdin.read().split("@@")
s = json.loads(a)["items"]
svc = json.loads(b) if b.strip() else None
def eps(x): return x.get("endpoints") or []
def fam(f): return [x for x in s if x["addressType"] == f]
print(('"$expr"'))'
}
# expect_slices NAME SVC EXPR WANT: polls until EXPR prints WANT
slices_are() { [ "$(slices "$1" "$2")" = "$3" ]; }
expect_slices() {
	local name=$1 svc=$2 expr=$3 want=$4 got
	if poll 15 slices_are "$svc" "$expr" "$want"; then ok "$name"; return; fi
	got=$(slices "$svc" "$expr" 2>&1 | tail -n 3)
	not_ok "$name" "want '$want', got '$got'"
}

pods_yaml() { # APP FIRST LAST [FINALIZER]
	for i in $(seq "$2" "$3"); do
		cat <<Y
---
apiVersion: v1
kind: Pod
metadata:
  name: $1-$i
  labels: {app: $1}
${4:+  finalizers: [$4]}
spec:
  containers:
  - name: c
    image: busybox:1.36
    ports: [{name: http, containerPort: 8080}]
Y
	done
}

# set_status APP FIRST LAST [READY]: gives pods APP-i the IPs 10.42.x.y and
# fd42::i and a Ready condition, in one connection
set_status() {
	python3 - "$API" "$TLS" "$@" <<'P'
import http.client, json, ssl, sys, urllib.parse
api, tls, app, first, last = sys.argv[1:6]
ready = sys.argv[6] if len(sys.argv) > 6 else "True"
ctx = ssl.create_default_context(cafile=tls + "/server-ca.crt")
ctx.load_cert_chain(tls + "/client-admin.crt", tls + "/client-admin.key")
u = urllib.parse.urlparse(api)
c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
for i in range(int(first), int(last) + 1):
    body = json.dumps({"status": {"podIP": "10.42.%d.%d" % (i // 250, i % 250 + 1),
        "podIPs": [{"ip": "10.42.%d.%d" % (i // 250, i % 250 + 1)}, {"ip": "fd42::%x" % (i + 1)}],
        "conditions": [{"type": "Ready", "status": ready}]}})
    c.request("PATCH", "/api/v1/namespaces/default/pods/%s-%d/status" % (app, i), body,
              {"Content-Type": "application/merge-patch+json"})
    r = c.getresponse(); r.read()
    if r.status != 200:
        sys.exit("patch %s-%d: %d" % (app, i, r.status))
P
}

svc_yaml() { # NAME [POLICY]
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  ${2:+ipFamilyPolicy: $2}
  selector: {app: $1}
  ports: [{name: web, port: 80, targetPort: http}]
Y
}

# --- kubectl's status subresource patch works for pods
pods_yaml web 1 3 | kc apply -f - >/dev/null
check "kubectl patches pod status" kc patch pod web-1 --subresource=status --type=merge \
	-p '{"status":{"podIP":"10.42.0.2","podIPs":[{"ip":"10.42.0.2"},{"ip":"fd42::2"}],"conditions":[{"type":"Ready","status":"True"}]}}'
alive; check "status of the other pods" set_status web 2 3

# --- a Service with 3 ready pods
svc_yaml web | kc apply -f - >/dev/null
alive; expect_slices "3 ready pods: one slice with 3 ready endpoints" web \
	'len(s), [len(eps(x)) for x in s], sum(e["conditions"]["ready"] for x in s for e in eps(x))' "(1, [3], 3)"
expect_slices "endpoints name their pods by uid" web \
	'sorted(e["targetRef"]["kind"] + "/" + e["targetRef"]["name"] + "/" + str(len(e["targetRef"]["uid"]) > 10) for x in s for e in eps(x))' \
	"['Pod/web-1/True', 'Pod/web-2/True', 'Pod/web-3/True']"
expect_slices "named targetPort resolved, labels, generateName" web \
	'[(p["name"], p["port"], p["protocol"]) for p in s[0]["ports"]], s[0]["metadata"]["name"].startswith("web-"), s[0]["metadata"]["labels"]["kubernetes.io/service-name"], s[0]["addressType"]' \
	"([('web', 8080, 'TCP')], True, 'web', 'IPv4')"
expect_slices "owner reference to the service" web \
	'[(r["kind"], r["name"], r["uid"] == svc["metadata"]["uid"], r["controller"], r["blockOwnerDeletion"]) for r in s[0]["metadata"]["ownerReferences"]]' \
	"[('Service', 'web', True, True, True)]"
expect_slices "trigger-time annotation" web \
	'"endpoints.kubernetes.io/last-change-trigger-time" in s[0]["metadata"].get("annotations", {})' True
rv=$(slices web 's[0]["metadata"]["resourceVersion"]')
sleep 0.5
alive; expect_eq "a steady state writes nothing" "$rv" "$(slices web 's[0]["metadata"]["resourceVersion"]')"

# a foreign slice for the same service
cat <<'Y' | kc apply -f - >/dev/null
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-foreign
  labels: {kubernetes.io/service-name: web, endpointslice.kubernetes.io/managed-by: someone-else}
addressType: IPv4
endpoints: [{addresses: [10.9.9.9]}]
ports: [{name: web, port: 1234, protocol: TCP}]
Y
foreign_rv=$(kc get endpointslice web-foreign -o jsonpath='{.metadata.resourceVersion}')

# one pod turns unready: the same slice is updated in place
set_status web 2 2 False
alive; expect_slices "an unready pod stays, ready=false serving=false" web \
	'len(s), sorted((e["targetRef"]["name"], e["conditions"]["ready"], e["conditions"]["serving"]) for x in s for e in eps(x))' \
	"(1, [('web-1', True, True), ('web-2', False, False), ('web-3', True, True)])"

# --- a terminating pod stays as serving + terminating
pods_yaml web 4 4 example.com/keep | kc apply -f - >/dev/null
set_status web 4 4
alive; expect_slices "a fourth pod joins" web 'sum(len(eps(x)) for x in s)' 4
kc delete pod web-4 --wait=false >/dev/null
alive; expect_slices "a terminating pod: ready=false serving=true terminating=true" web \
	'[(e["conditions"]["ready"], e["conditions"]["serving"], e["conditions"]["terminating"]) for x in s for e in eps(x) if e["targetRef"]["name"] == "web-4"]' \
	"[(False, True, True)]"
kc patch pod web-4 --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
alive; expect_slices "a pod that is gone leaves its slice" web 'sum(len(eps(x)) for x in s)' 3

# --- scale to 0: one empty placeholder
kc delete pod web-1 web-2 web-3 --wait=false >/dev/null
alive; expect_slices "no pods: exactly one empty slice" web '[(x["addressType"], len(eps(x))) for x in s]' "[('IPv4', 0)]"

# --- dual stack
pods_yaml ds 1 2 | kc apply -f - >/dev/null
set_status ds 1 2
svc_yaml ds PreferDualStack | kc apply -f - >/dev/null
alive; expect_slices "PreferDualStack: one IPv4 and one IPv6 slice" ds \
	'sorted((x["addressType"], len(eps(x)), all((":" in a) == (x["addressType"] == "IPv6") for e in eps(x) for a in e["addresses"])) for x in s)' \
	"[('IPv4', 2, True), ('IPv6', 2, True)]"
kc delete pod ds-1 ds-2 --wait=false >/dev/null
alive; expect_slices "no pods: one empty slice per family" ds \
	'sorted((x["addressType"], len(eps(x))) for x in s)' "[('IPv4', 0), ('IPv6', 0)]"

# --- zone from the node's label, following label changes
cat <<'Y' | kc apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata:
  name: n1
  labels: {topology.kubernetes.io/zone: zone-a}
---
apiVersion: v1
kind: Pod
metadata: {name: zn-1, labels: {app: zn}}
spec:
  nodeName: n1
  containers: [{name: c, image: busybox:1.36, ports: [{name: http, containerPort: 8080}]}]
Y
set_status zn 1 1
svc_yaml zn | kc apply -f - >/dev/null
alive; expect_slices "endpoints carry nodeName and the node's zone" zn \
	'[(e.get("nodeName"), e.get("zone")) for x in s for e in eps(x)]' "[('n1', 'zone-a')]"
kc label node n1 topology.kubernetes.io/zone=zone-b --overwrite >/dev/null
alive; expect_slices "a node's new zone reaches its endpoints" zn \
	'[(e.get("nodeName"), e.get("zone")) for x in s for e in eps(x)]' "[('n1', 'zone-b')]"

# --- 250 pods: slices of at most 100
start=$(date +%s)
pods_yaml big 0 249 | kc create -f - >/dev/null
svc_yaml big | kc apply -f - >/dev/null
alive; check "status of 250 pods" set_status big 0 249
alive; expect_slices "250 pods: at least 3 slices of at most 100" big \
	'len(s) >= 3, max(len(eps(x)) for x in s) <= 100, sum(len(eps(x)) for x in s)' "(True, True, 250)"
echo "# 250 pods took $(( $(date +%s) - start )) s"

# --- the foreign slice was never touched
alive; expect_eq "a slice managed by someone else is untouched" "$foreign_rv" \
	"$(kc get endpointslice web-foreign -o jsonpath='{.metadata.resourceVersion}')"

# --- deleting the service deletes its slices (not the foreign one)
kc delete svc web ds >/dev/null
alive; expect_slices "deleting the service deletes its slices" web 'len(s)' 0
expect_slices "and those of the dual-stack one" ds 'len(s)' 0
check "the foreign slice stays" kc get endpointslice web-foreign

# a clean shutdown with slices and 250 pods cached (ASan builds check leaks here)
alive; kill "$SERVER_PID"; wait "$SERVER_PID"; rc=$?
expect_eq "server exits cleanly" 0 "$rc"
[ "$rc" = 0 ] || grep -A12 -E "ERROR|runtime error" "$dir/server.log" | head -60 | sed 's/^/# /'
exit $_failed
