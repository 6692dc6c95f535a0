#!/usr/bin/env bash
# k1s server as kube-apiserver, driven by the machine's real kubectl and curl.
#
#   kubectl/curl --HTTPS--> k1s server --disable-agent (127.0.0.1:PORT, data in a temp dir)
. "$(dirname "$0")/cluster.sh"

tmpdir dir
server_start "$dir" --history-events 50 || { not_ok "server starts"; exit 1; }
ok "server starts and writes its kubeconfig"

# --- discovery and health
expect_eq "healthz without credentials" "200 ok" "$(curl -sk -w ' %{http_code}' -o /dev/stdout $API/healthz | awk '{print $2" "$1}')"
code=$(curl -sk -o /dev/null -w '%{http_code}' $API/api/v1/namespaces)
expect_eq "no credentials is 401" 401 "$code"
check "kubectl api-versions lists apps/v1" sh -c "kubectl --kubeconfig $KUBECONFIG api-versions | grep -qx apps/v1"
check "kubectl api-resources lists deployments" sh -c "kubectl --kubeconfig $KUBECONFIG api-resources | grep -Eq '^deployments +deploy +apps/v1 +true +Deployment'"
check "built-in namespaces exist" sh -c "kubectl --kubeconfig $KUBECONFIG get ns -o name | sort | tr '\n' ' ' | grep -qx 'namespace/default namespace/kube-node-lease namespace/kube-public namespace/kube-system '"
check "default service account exists" kc get serviceaccount default -n default
check "k1s kubectl runs kubectl with the kubeconfig" sh -c "KUBECONFIG=$KUBECONFIG $K1S kubectl get ns default -o name | grep -qx namespace/default"

# --- apply
cat > "$dir/app.yaml" <<'Y'
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: demo
data:
  color: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: demo
stringData:
  password: hunter2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 1
            preference:
              matchExpressions: [{key: disk, operator: In, values: [ssd]}]
      securityContext: {runAsNonRoot: false}
      containers:
      - name: app
        image: busybox:1.36
        env:
        - {name: MODE, value: one}
        - {name: EXTRA, value: gone-soon}
        ports: [{containerPort: 80}]
      - name: sidecar
        image: busybox
Y
out=$(kc apply -f "$dir/app.yaml" 2>&1)
expect_eq "apply creates four objects" 4 "$(echo "$out" | grep -c created)"
out=$(kc apply -f "$dir/app.yaml" 2>&1)
# A Secret written with stringData is "configured" on every apply, as with
# kube-apiserver: the server stores data, so kubectl's patch re-sends stringData.
expect_eq "second apply is unchanged" "3 secret/creds configured" \
	"$(echo "$out" | grep -c unchanged) $(echo "$out" | grep configured)"
sed -e 's/value: one/value: two/' -e '/EXTRA/d' "$dir/app.yaml" > "$dir/app2.yaml"
check "apply with a changed env" kc apply -f "$dir/app2.yaml"
expect_eq "strategic merge: env changed and removed" '[{"name":"MODE","value":"two"}]' \
	"$(kc get deploy web -n demo -o jsonpath='{.spec.template.spec.containers[0].env}')"
expect_eq "strategic merge: the other container kept" "sidecar" \
	"$(kc get deploy web -n demo -o jsonpath='{.spec.template.spec.containers[1].name}')"
expect_eq "defaults applied" "Always IfNotPresent 30 RollingUpdate" \
	"$(kc get deploy web -n demo -o jsonpath='{.spec.template.spec.restartPolicy} {.spec.template.spec.containers[0].imagePullPolicy} {.spec.template.spec.terminationGracePeriodSeconds} {.spec.strategy.type}')"
expect_eq "secret stringData stored as data" "aHVudGVyMg==" "$(kc get secret creds -n demo -o jsonpath='{.data.password}')"
expect_eq "generation bumped once by the spec change" 2 "$(kc get deploy web -n demo -o jsonpath='{.metadata.generation}')"

# --- get in its forms
check "get -o wide has the wide columns" sh -c "kubectl --kubeconfig $KUBECONFIG get deploy -n demo -o wide | head -1 | grep -q 'CONTAINERS *IMAGES *SELECTOR'"
check "get -o yaml" sh -c "kubectl --kubeconfig $KUBECONFIG get cm settings -n demo -o yaml | grep -q '^  color: blue'"
expect_eq "get -o jsonpath" blue "$(kc get cm settings -n demo -o jsonpath='{.data.color}')"
check "get configmaps table" sh -c "kubectl --kubeconfig $KUBECONFIG get cm -n demo | grep -Eq '^settings +1 +'"

# --- watch sees a change
kc get cm settings -n demo --watch -o jsonpath='{.data.color}{"\n"}' > "$dir/watch.out" 2>&1 &
wpid=$!
on_exit "kill $wpid"
poll 10 grep -q blue "$dir/watch.out"
kc patch cm settings -n demo --type merge -p '{"data":{"color":"red"}}' >/dev/null
if poll 10 grep -q red "$dir/watch.out"; then ok "get --watch sees the change"; else not_ok "get --watch sees the change" "$(cat "$dir/watch.out")"; fi
kill $wpid 2>/dev/null

# --- label, annotate, patch, scale, edit
check "label" kc label cm settings -n demo tier=backend
expect_eq "label set" backend "$(kc get cm settings -n demo -o jsonpath='{.metadata.labels.tier}')"
check "label selector" sh -c "kubectl --kubeconfig $KUBECONFIG get cm -n demo -l tier=backend -o name | grep -qx configmap/settings"
expect_eq "label selector excludes" "" "$(kc get cm -n demo -l tier=frontend -o name)"
check "annotate" kc annotate cm settings -n demo note=hello
check "json patch" kc patch cm settings -n demo --type json -p '[{"op":"add","path":"/data/size","value":"xl"}]'
check "strategic patch" kc patch deploy web -n demo -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"busybox:1.37"}]}}}}'
expect_eq "strategic patch kept the sidecar" "busybox:1.37 busybox" \
	"$(kc get deploy web -n demo -o jsonpath='{.spec.template.spec.containers[*].image}')"
check "scale" kc scale deploy web -n demo --replicas=5
expect_eq "scaled" 5 "$(kc get deploy web -n demo -o jsonpath='{.spec.replicas}')"
cat > "$dir/editor.sh" <<'E'
#!/bin/sh
sed -i 's/color: red/color: green/' "$1"
E
chmod +x "$dir/editor.sh"
check "edit with a scripted EDITOR" env EDITOR="$dir/editor.sh" kubectl --kubeconfig "$KUBECONFIG" edit cm settings -n demo
expect_eq "edited" green "$(kc get cm settings -n demo -o jsonpath='{.data.color}')"
check "wait --for=jsonpath" kc wait cm/settings -n demo --for=jsonpath='{.data.color}'=green --timeout=10s
check "explain" sh -c "kubectl --kubeconfig $KUBECONFIG explain pod.spec.containers | grep -q 'FIELD: containers'"
kc diff -f "$dir/app2.yaml" >/dev/null 2>&1
expect_eq "diff of an unchanged manifest exits 0 or 1" 1 "$([ $? -le 1 ] && echo 1)"
check "get events" kc get events -A

# --- delete
check "delete --wait" kc delete cm settings -n demo --wait=true
expect_fail "deleted object is gone" 1 kc get cm settings -n demo

# --- bad input, each with its code and reason
reason() { echo "$1" | sed 's/^[0-9]* //' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("code"), d.get("reason"))'; }
r=$(api POST /api/v1/namespaces/demo/configmaps -H 'Content-Type: application/json' -d '{"apiVersion":"v1",')
expect_eq "malformed JSON" "400 BadRequest" "$(reason "$r")"
r=$(api GET /api/v1/namespaces/demo/configmaps/nope)
expect_eq "not found" "404 NotFound" "$(reason "$r")"
r=$(api POST /api/v1/namespaces/demo/configmaps -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}')
expect_eq "invalid name" "422 Invalid" "$(reason "$r")"
r=$(api POST /api/v1/namespaces/demo/configmaps -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"}}')
r=$(api POST /api/v1/namespaces/demo/configmaps -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"}}')
expect_eq "already exists" "409 AlreadyExists" "$(reason "$r")"
r=$(api PUT /api/v1/namespaces/demo/configmaps/dup -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","resourceVersion":"1"}}')
expect_eq "stale resourceVersion" "409 Conflict" "$(reason "$r")"
r=$(api POST /api/v1/namespaces/demo/configmaps -H 'Content-Type: application/json' -d '{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}')
expect_eq "wrong apiVersion for the URL" "400 BadRequest" "$(reason "$r")"
r=$(api POST /api/v1/namespaces/demo/configmaps -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"other"}}')
expect_eq "namespace differs from the URL" "400 BadRequest" "$(reason "$r")"
r=$(api PATCH /api/v1/namespaces/demo/configmaps/dup -H 'Content-Type: text/plain' -d 'x')
expect_eq "unsupported patch type" "415 UnsupportedMediaType" "$(reason "$r")"
r=$(api GET /api/v1/namespaces/demo/widgets)
expect_eq "unknown resource" "404 NotFound" "$(reason "$r")"
r=$(api GET /api/v1/namespaces/demo/configmaps -H 'Accept: application/vnd.kubernetes.protobuf')
expect_eq "not acceptable" "406 NotAcceptable" "$(reason "$r")"
head -c 3200000 /dev/zero | tr '\0' 'a' > "$dir/big"
r=$(api POST /api/v1/namespaces/demo/configmaps -H 'Content-Type: application/json' --data-binary @"$dir/big")
expect_eq "body over 3 MiB" "413 RequestEntityTooLarge" "$(reason "$r")"
for i in $(seq 60); do kc annotate cm dup -n demo --overwrite n=$i >/dev/null; done
r=$(api GET "/api/v1/namespaces/demo/configmaps?watch=1&resourceVersion=1&timeoutSeconds=3" --max-time 10)
expect_eq "watch from a compacted revision is 410 Expired" "410 Expired" \
	"$(echo "$r" | sed 's/^200 //' | head -1 | python3 -c 'import json,sys; d=json.load(sys.stdin)["object"]; print(d["code"], d["reason"])' 2>/dev/null || echo "$r")"
r=$(api POST /api/v1/namespaces/demo/configmaps -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"strict"},"spec":{"foo":1}}')
expect_eq "strict field validation" "400 BadRequest" "$(reason "$r")"
check "strict message names the field" sh -c "echo '$r' | grep -q 'unknown field \\\\\"spec\\\\\"'"
check "server still alive after bad input" kc get ns default

# --- finalizers keep an object until they are gone
kc create cm held -n demo >/dev/null
kc patch cm held -n demo --type merge -p '{"metadata":{"finalizers":["example.com/hold"]}}' >/dev/null
kc delete cm held -n demo --wait=false >/dev/null
check "object with a finalizer is marked, not removed" sh -c "kubectl --kubeconfig $KUBECONFIG get cm held -n demo -o jsonpath='{.metadata.deletionTimestamp}' | grep -q T"
r=$(api PATCH /api/v1/namespaces/demo/configmaps/held -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"finalizers":["example.com/hold","example.com/new"]}}')
expect_eq "no new finalizers while deleting" "422 Invalid" "$(reason "$r")"
kc patch cm held -n demo --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null
if poll 5 sh -c "! kubectl --kubeconfig $KUBECONFIG get cm held -n demo >/dev/null 2>&1"; then ok "removing the last finalizer removes the object"; else not_ok "removing the last finalizer removes the object"; fi

# --- typed creates: kubectl >= 1.32 sends these bodies as Kubernetes protobuf
for k in kubectl /usr/lib/google-cloud-sdk/bin/kubectl.1.33 /usr/lib/google-cloud-sdk/bin/kubectl.1.27; do
	command -v "$k" >/dev/null || continue
	v=$(basename "$k")
	ns=typed-$(echo "$v" | tr -cd 'a-z0-9')
	check "$v create namespace" "$k" --kubeconfig "$KUBECONFIG" create namespace "$ns"
	check "$v create configmap --from-literal" "$k" --kubeconfig "$KUBECONFIG" create configmap c -n "$ns" --from-literal=a=b
	check "$v create secret generic" "$k" --kubeconfig "$KUBECONFIG" create secret generic s -n "$ns" --from-literal=p=q
	check "$v create deployment" "$k" --kubeconfig "$KUBECONFIG" create deployment web -n "$ns" --image=busybox --replicas=2 --port=80
	check "$v expose" "$k" --kubeconfig "$KUBECONFIG" expose deployment web -n "$ns" --port=80
	check "$v run" "$k" --kubeconfig "$KUBECONFIG" run p -n "$ns" --image=busybox --labels=app=p
	expect_eq "$v: objects as sent" "b cQ== 2 80 busybox p" \
		"$(kc get cm c -n "$ns" -o jsonpath='{.data.a}') $(kc get secret s -n "$ns" -o jsonpath='{.data.p}') $(kc get deploy web -n "$ns" -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].ports[0].containerPort}') $(kc get pod p -n "$ns" -o jsonpath='{.spec.containers[0].image} {.metadata.labels.app}')"
	check "$v delete with DeleteOptions" "$k" --kubeconfig "$KUBECONFIG" delete cm c -n "$ns"
done

# --- immutable fields
r=$(api PATCH /apis/apps/v1/namespaces/demo/deployments/web -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"selector":{"matchLabels":{"app":"other"}}}}')
expect_eq "a deployment's selector is immutable" "422 Invalid" "$(reason "$r")"
check "with the field named" sh -c "echo '$r' | grep -q 'spec.selector: Invalid value: .*field is immutable'"

# --- paging and field selectors
for i in 1 2 3 4 5; do kc create cm page-$i -n demo >/dev/null; done
expect_eq "kubectl pages with limit+continue (--chunk-size=2)" 5 \
	"$(kc get cm -n demo --chunk-size=2 -o name | grep -c configmap/page-)"
r=$(api GET "/api/v1/namespaces/demo/configmaps?limit=2")
tok=$(echo "${r#* }" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["continue"])')
r=$(api GET "/api/v1/namespaces/demo/configmaps?limit=100&continue=$tok")
expect_eq "a continue token resumes after the first page" "200" "${r%% *}"
expect_eq "field selector metadata.name" "configmap/page-3" "$(kc get cm -n demo --field-selector metadata.name=page-3 -o name)"
r=$(api GET "/api/v1/namespaces/demo/configmaps?fieldSelector=data.x%3D1")
expect_eq "an unsupported field label is 400" "400 BadRequest" "$(reason "$r")"
check "with upstream's message" sh -c "echo '$r' | grep -q 'field label not supported: data.x'"
r=$(api GET "/api/v1/namespaces/demo/configmaps?labelSelector=a%20b")
expect_eq "a bad label selector is 400" "400 BadRequest" "$(reason "$r")"
r=$(api GET /no/such/path)
expect_eq "an unknown path is 404 with a Status" "404 NotFound" "$(reason "$r")"

# --- metrics and health
check "/metrics counts requests by verb and resource" sh -c "curl -s --cacert $TLS/server-ca.crt --cert $TLS/client-admin.crt --key $TLS/client-admin.key $API/metrics | grep -q 'apiserver_request_total{verb=\"LIST\",group=\"\",version=\"v1\",resource=\"configmaps\"}'"
check "/readyz?verbose lists its checks" sh -c "curl -sk '$API/readyz?verbose' | grep -q 'readyz check passed'"

# --- pods: binding, immutable spec, ephemeral containers, eviction
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: demo}\nspec:\n  containers: [{name: c, image: busybox}]\n' > "$dir/pod.yaml"
check "create a pod" kc apply -f "$dir/pod.yaml"
expect_eq "new pod is Pending BestEffort" "Pending BestEffort" "$(kc get pod p -n demo -o jsonpath='{.status.phase} {.status.qosClass}')"
r=$(api POST /api/v1/namespaces/demo/pods/p/binding -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"n1"}}')
expect_eq "binding assigns the node" "201 n1" "${r%% *} $(kc get pod p -n demo -o jsonpath='{.spec.nodeName}')"
r=$(api POST /api/v1/namespaces/demo/pods/p/binding -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"n2"}}')
expect_eq "second binding conflicts" "409 Conflict" "$(reason "$r")"
check "image of a pod may change" kc set image pod/p -n demo c=busybox:1.37
out=$(kc patch pod p -n demo -p '{"spec":{"restartPolicy":"Never"}}' 2>&1)
check "other pod spec fields may not" sh -c "echo '$out' | grep -q 'spec: Forbidden: pod updates may not change fields'"
r=$(api POST /api/v1/namespaces/demo/pods -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q"},"spec":{"shareProcessNamespace":true,"hostPID":true,"containers":[{"name":"c","image":"busybox"}]}}')
expect_eq "shareProcessNamespace with hostPID is 422" "422 Invalid" "$(reason "$r")"
check "kubectl debug adds an ephemeral container" kc debug p -n demo --image=busybox -c dbg --profile=general
expect_eq "ephemeral container with SYS_PTRACE" 'dbg ["SYS_PTRACE"]' \
	"$(kc get pod p -n demo -o jsonpath='{.spec.ephemeralContainers[0].name} {.spec.ephemeralContainers[0].securityContext.capabilities.add}')"
r=$(api POST /api/v1/namespaces/demo/pods/p/eviction -H 'Content-Type: application/json' -d '{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"p"}}')
expect_eq "eviction of a bound pod marks it for deletion" "201 yes" \
	"${r%% *} $(kc get pod p -n demo -o jsonpath='{.metadata.deletionTimestamp}' | grep -q T && echo yes)"

# --- python3-kubernetes (Debian) list + watch
cat > "$dir/py.py" <<'P'
import sys
from kubernetes import client, config, watch
config.load_kube_config(sys.argv[1])
v1 = client.CoreV1Api()
names = [n.metadata.name for n in v1.list_namespace().items]
assert "demo" in names, names
w = watch.Watch()
for ev in w.stream(v1.list_namespaced_config_map, "demo", timeout_seconds=5):
    if ev["object"].metadata.name == "dup":
        print("saw", ev["type"])
        w.stop()
P
check "python3-kubernetes lists and watches" sh -c "/usr/bin/python3 $dir/py.py $KUBECONFIG | grep -q 'saw ADDED'"

# patches without a resourceVersion never fail on a concurrent write: the
# server applies them again to the newer object (upstream's retry)
kc -n demo create configmap racy >/dev/null
racers=()
for i in $(seq 1 16); do
	curl -sS -o /dev/null -w '%{http_code}\n' --cacert "$TLS/server-ca.crt" --cert "$TLS/client-admin.crt" \
		--key "$TLS/client-admin.key" -X PATCH -H 'Content-Type: application/merge-patch+json' \
		-d "{\"data\":{\"k$i\":\"v\"}}" "$API/api/v1/namespaces/demo/configmaps/racy" > "$dir/racy.$i" &
	racers+=($!)
done
wait "${racers[@]}"
expect_eq "16 concurrent patches all succeed" 16 "$(cat "$dir"/racy.* | grep -c '^200$')"
expect_eq "... and all of them are in the object" 16 \
	"$(kc -n demo get configmap racy -o json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')"
rv=$(kc -n demo get configmap racy -o jsonpath='{.metadata.resourceVersion}')
kc -n demo patch configmap racy -p '{"data":{"x":"1"}}' >/dev/null
check "a patch naming a stale resourceVersion still conflicts (409)" sh -c \
	"$(declare -f api); API=$API TLS=$TLS api PATCH /api/v1/namespaces/demo/configmaps/racy -H 'Content-Type: application/merge-patch+json' -d '{\"metadata\":{\"resourceVersion\":\"$rv\"},\"data\":{\"y\":\"1\"}}' | grep -q '^409 '"

# service account tokens (TokenRequest + the JWT authenticator), also under ASan
tkc() { local tok=$1; shift; kubectl --kubeconfig=/dev/null --server="$API" --certificate-authority="$TLS/server-ca.crt" --token="$tok" "$@" 2>&1; }
expect_eq "kubectl create token: the token authenticates as the account" system:serviceaccount:demo:default \
	"$(tkc "$(kc -n demo create token default)" auth whoami -o jsonpath='{.status.userInfo.username}')"
expect_eq "TokenRequest below 10 minutes is refused" \
	'error: failed to create token: TokenRequest.authentication.k8s.io "default" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes' \
	"$(kc -n demo create token default --duration=599s 2>&1)"
expect_eq "TokenRequest for a missing account" 'error: failed to create token: serviceaccounts "nope" not found' \
	"$(kc -n demo create token nope 2>&1)"
kc -n demo create serviceaccount robot >/dev/null
tok=$(kc -n demo create token robot)
kc -n demo delete serviceaccount robot >/dev/null
check "a deleted account's token is refused (401)" sh -c "$(declare -f tkc); API=$API TLS=$TLS tkc '$tok' get ns | grep -q Unauthorized"
check "a forged token is refused (401)" sh -c "$(declare -f tkc); API=$API TLS=$TLS tkc 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA' get ns | grep -q Unauthorized"
expect_eq "a pod gets the kube-api-access volume" /var/run/secrets/kubernetes.io/serviceaccount \
	"$(kc -n demo run tokpod --image=busybox -o jsonpath='{.spec.containers[0].volumeMounts[0].mountPath}')"
kc -n demo delete pod tokpod --wait=false >/dev/null
expect_eq "every namespace has kube-root-ca.crt with the cluster CA" "$(cat "$TLS/server-ca.crt")" \
	"$(kc -n demo get configmap kube-root-ca.crt -o jsonpath='{.data.ca\.crt}')"
kc -n demo delete configmap kube-root-ca.crt >/dev/null
kc label namespace demo touched=1 >/dev/null
rootca_back() { kc -n demo get configmap kube-root-ca.crt >/dev/null 2>&1; }
check "a deleted kube-root-ca.crt comes back with the namespace's next change" poll 10 rootca_back
exit $_failed
