#!/usr/bin/env bash
# tests/e2e/manifests.test.sh - auto-deployed manifests in <data-dir>/server/manifests.
. "$(dirname "$0")/cluster.sh"

tmpdir D
M=$D/server/manifests
mkdir -p "$M"
cat > "$M/a.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: cm1}
data: {k: "1"}
---
apiVersion: v1
kind: Namespace
metadata: {name: mf-ns}
Y
server_start "$D" || { not_ok "server start"; exit 1; }
has() { kc get "$@" >/dev/null 2>&1; }
gone() { ! kc get "$@" >/dev/null 2>&1; }
check "a file present at start is applied" poll 10 has configmap cm1
check "cluster-scoped objects too" poll 10 has namespace mf-ns
expect_eq "applied objects carry the k1s.io/manifest annotation" a.yaml \
	"$(kc get configmap cm1 -o jsonpath='{.metadata.annotations.k1s\.io/manifest}')"

cat > "$M/b.json" <<'Y'
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b1", "namespace": "mf-ns"}},
 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b2", "namespace": "mf-ns"}}]}
Y
check "a new JSON file with a List is applied" poll 10 has -n mf-ns configmap b1 b2

cat > "$M/a.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: cm1}
data: {k: "2"}
---
apiVersion: v1
kind: Namespace
metadata: {name: mf-ns}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm3}
Y
v2() { [ "$(kc get configmap cm1 -o jsonpath='{.data.k}')" = 2 ]; }
check "a changed file updates its objects" poll 10 v2
check "and creates the new ones" poll 10 has configmap cm3
sed -i '/^---$/,$d' "$M/a.yaml"
check "an object dropped from a file is deleted" poll 10 gone configmap cm3

printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n' > "$M/c.yaml"
printf 'apiVersion: v1\nkind: Frobnicator\nmetadata: {name: x}\n' > "$M/d.yaml"
bad() { kc -n kube-system get events --field-selector reason=FailedApply -o jsonpath='{.items[*].message}' | grep -q "$1"; }
check "bad YAML is reported as a Warning event" poll 10 bad "c.yaml: line"
check "an unknown kind is reported too" poll 10 bad 'd.yaml: no kind "Frobnicator"'
check "the status ConfigMap says what happened to each file" \
	poll 10 sh -c "kubectl --kubeconfig '$KUBECONFIG' -n kube-system get cm k1s-manifests -o jsonpath='{.data.b\.json}' | grep -q 'applied 2 objects'"
check "other files are unaffected" has configmap cm1

rm "$M/b.json"
check "removing a file deletes what it made" poll 10 gone -n mf-ns configmap b1
server_stop
rm "$M/a.yaml"
server_start "$D" || { not_ok "server restart"; exit 1; }
check "a file removed while the server was down is cleaned up at start" poll 10 gone configmap cm1
[ "$_failed" = 0 ]
