#!/usr/bin/env bash
# tests/e2e/podvol.test.sh - volumes, env and probes of real pods on a
# one-node cluster (`k1s server` with its embedded agent, real runc).
#
#   host ── netns k1s-t-pv<PID> ── lo, k1s-pva (10.77.0.5/24) <-> k1s-pvb
#                                └─ k1s server + agent (nsenter --net: host
#                                   mount namespace, so clean-up sees the
#                                   mounts), pods on the agent's bridge
#
# Every volume type (emptyDir on disk and in memory, configMap with items and
# modes, secret on tmpfs, hostPath, downwardAPI, projected, subPath,
# readOnly), service account tokens (the kube-api-access volume, a bound token
# the API accepts until the pod is gone), env from a configMap, a secret, fieldRefs, envFrom and service
# links, a configMap update reaching a running pod, a volume that waits for
# its configMap, CreateContainerConfigError, readiness (exec and httpGet)
# flipping Ready, and a liveness failure restarting the container. What runs
# inside a container is checked with `runc exec`.
. "$(dirname "$0")/cluster.sh"

for t in runc kubectl nsenter ip /bin/busybox; do
	command -v "$t" >/dev/null || { echo "ok - podvol # skip: $t missing"; exit 0; }
done
[ "$(id -u)" -eq 0 ] || { echo "ok - podvol # skip: needs root"; exit 0; }

tmpdir T
NS=k1s-t-pv$$
RR=/run/k1s-t-pv$$
CG=/k1s-t-pv$$
D=$T/data
if ! out=$("$(dirname "$0")"/../images/build.sh "$T/imgs" 2>&1); then
	not_ok "build test images" "$out"; exit 1
fi
mkdir -p "$D/agent/images/import"
cp "$T/imgs/busybox.tar" "$D/agent/images/import/"

# Clean-up, run in reverse order of registration: the netns goes last.
on_exit "ip netns del $NS"
on_exit "rm -rf $RR; for c in /sys/fs/cgroup$CG /sys/fs/cgroup/*$CG; do [ -d \"\$c\" ] && find \"\$c\" -depth -type d -exec rmdir {} \\; ; done"
on_exit "grep -o ' $T[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l"
on_exit "for id in \$(runc --root $RR list -q 2>/dev/null); do runc --root $RR delete --force \$id; done"
on_exit "for p in \$(pgrep -f 'k1s shim $D/'); do kill -9 \$p; done"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add k1s-pva type veth peer name k1s-pvb
ip -n "$NS" addr add 10.77.0.5/24 dev k1s-pva
ip -n "$NS" link set k1s-pva up
ip -n "$NS" link set k1s-pvb up

PORT=$(free_port)
KUBECONFIG=$D/kubeconfig.yaml
nsenter --net=/run/netns/"$NS" "$K1S" server --data-dir "$D" --https-listen-port "$PORT" \
	--write-kubeconfig "$KUBECONFIG" --ready-file "$D/ready" --node-ip 10.77.0.5 \
	--agent-arg=--runc-root="$RR" --agent-arg=--cgroup-parent="$CG" \
	--agent-arg=--pod-backoff-min=1000 > "$T/server.log" 2>&1 &
SERVER_PID=$!
on_exit "for p in \$(pgrep -f 'k1s agent --kubeconfig $KUBECONFIG'); do kill -9 \$p; done"
on_exit "kill $SERVER_PID; wait $SERVER_PID"
on_exit "[ \$_failed = 0 ] || { echo '# server log (tail):'; tail -n 40 '$T/server.log' | sed 's/^/# /'; }"

kc() { nsenter --net=/run/netns/"$NS" kubectl --kubeconfig "$KUBECONFIG" "$@"; }
node_ready() { [ "$(kc get node -o jsonpath='{.items[0].status.conditions[?(@.type=="Ready")].status}')" = True ]; }
if ! poll 30 test -f "$D/ready" || ! poll 30 node_ready; then
	not_ok "cluster starts" "$(tail -n 20 "$T/server.log")"; exit 1
fi
ok "cluster starts"
NODE=$(kc get node -o jsonpath='{.items[0].metadata.name}')

# runtime id of a pod's first container (k1s://<id>)
cid() { kc get pod "$1" -o jsonpath='{.status.containerStatuses[0].containerID}' | sed 's|^k1s://||'; }
rx() { local p=$1; shift; runc --root "$RR" exec "$(cid "$p")" "$@"; }
phase() { kc get pod "$1" -o jsonpath='{.status.phase}'; }
ready() { kc get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'; }
running() { [ "$(phase "$1")" = Running ] && [ -n "$(cid "$1")" ]; }
is_ready() { [ "$(ready "$1")" = "$2" ]; }
waiting_reason() { kc get pod "$1" -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}'; }

mkdir -p "$T/host"
echo from-host > "$T/host/file"
kc apply -f - > /dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: cm1}
data: {greeting: hello, other: x}
---
apiVersion: v1
kind: Secret
metadata: {name: s1}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Service
metadata: {name: my-svc}
spec: {ports: [{name: http, port: 80}], selector: {app: none}}
EOF
check "configmap, secret and service created" kc get cm/cm1 secret/s1 svc/my-svc

kc apply -f - > /dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: vols, labels: {app: pv, tier: web}, annotations: {note: 'say "hi"'}}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: k1s.local/busybox:test
    command: ["sh", "-c", "exec sleep 3600"]
    resources: {limits: {memory: 64Mi}}
    env:
    - {name: G, valueFrom: {configMapKeyRef: {name: cm1, key: greeting}}}
    - {name: PW, valueFrom: {secretKeyRef: {name: s1, key: password}}}
    - {name: OPT, valueFrom: {secretKeyRef: {name: s1, key: nope, optional: true}}}
    - {name: NM, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: PODIP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: XX, value: "\$(NM)-\$(G)-\$\$(G)"}
    envFrom:
    - {prefix: CM_, configMapRef: {name: cm1}}
    volumeMounts:
    - {name: cm, mountPath: /cm}
    - {name: items, mountPath: /items}
    - {name: sec, mountPath: /sec}
    - {name: e, mountPath: /e}
    - {name: e, mountPath: /ro, readOnly: true}
    - {name: mem, mountPath: /mem}
    - {name: host, mountPath: /host}
    - {name: d, mountPath: /d}
    - {name: p, mountPath: /p}
    - {name: cm, mountPath: /etc/app.conf, subPath: greeting}
    readinessProbe:
      exec: {command: ["cat", "/e/ready"]}
      periodSeconds: 1
      failureThreshold: 1
  volumes:
  - {name: cm, configMap: {name: cm1}}
  - {name: items, configMap: {name: cm1, defaultMode: 0400, items: [{key: other, path: sub/o}, {key: greeting, path: g, mode: 0600}]}}
  - {name: sec, secret: {secretName: s1}}
  - {name: e, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
  - {name: host, hostPath: {path: $T/host, type: Directory}}
  - name: d
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
      - {path: mem, resourceFieldRef: {containerName: c, resource: limits.memory, divisor: 1Mi}}
  - name: p
    projected:
      sources:
      - configMap: {name: cm1, items: [{key: greeting, path: greeting}]}
      - secret: {name: s1}
      - downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}
EOF
check "pod with every volume type runs" poll 30 running vols
expect_eq "configMap volume" hello "$(rx vols cat /cm/greeting)"
expect_eq "configMap items, paths and modes" "x 400 600" \
	"$(rx vols sh -c 'echo $(cat /items/sub/o) $(stat -L -c %a /items/sub/o) $(stat -L -c %a /items/g)')"
expect_eq "secret volume on tmpfs" "s3cret tmpfs" \
	"$(rx vols sh -c 'echo $(cat /sec/password) $(grep " /sec " /proc/mounts | cut -d" " -f3)')"
expect_eq "emptyDir medium Memory is a 1Mi tmpfs" "tmpfs 1024" \
	"$(rx vols sh -c 'echo $(grep " /mem " /proc/mounts | cut -d" " -f3) $(df -k /mem | tail -n1 | awk "{print \$2}")')"
expect_eq "hostPath volume" from-host "$(rx vols cat /host/file)"
rx vols sh -c 'echo pod > /e/shared' 2>/dev/null
expect_eq "emptyDir is shared, and read-only where mounted so" "pod refused" \
	"$(rx vols sh -c 'cat /ro/shared; touch /ro/x 2>/dev/null && echo allowed || echo refused' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "downwardAPI volume" 'app="pv" tier="web" note="say \"hi\"" vols 64' \
	"$(rx vols sh -c 'echo $(cat /d/labels) $(grep ^note= /d/annotations) $(cat /d/name) $(cat /d/mem)')"
expect_eq "projected volume" "hello s3cret default" \
	"$(rx vols sh -c 'echo $(cat /p/greeting) $(cat /p/password) $(cat /p/ns)')"
expect_eq "subPath mount of a key" hello "$(rx vols cat /etc/app.conf)"
podip=$(kc get pod vols -o jsonpath='{.status.podIP}')
check "the pod has an IP" test -n "$podip"
expect_eq "env from configMap, secret, fieldRef, resourceFieldRef, expansion" \
	"G=hello PW=s3cret NM=vols APP=pv NODE=$NODE PODIP=$podip MEM=64 XX=vols-hello-\$(G) CM_greeting=hello CM_other=x" \
	"$(rx vols sh -c 'for v in G PW NM APP NODE PODIP MEM XX CM_greeting CM_other; do eval echo -n "$v=\$$v\ "; done' | sed 's/ $//')"
check "optional missing key leaves the variable unset" rx vols sh -c '! env | grep -q ^OPT='
check "service links" rx vols sh -c 'env | grep -q "^MY_SVC_SERVICE_HOST=" && env | grep -q "^MY_SVC_PORT_80_TCP_PORT=80$" && env | grep -q "^KUBERNETES_SERVICE_HOST="'

# readiness (exec) flips the Ready condition both ways
expect_eq "not Ready while the readiness probe fails" False "$(ready vols)"
rx vols touch /e/ready
check "Ready once the readiness probe succeeds" poll 10 is_ready vols True
rx vols rm /e/ready
check "not Ready again when it fails" poll 10 is_ready vols False

# a configMap update reaches the running pod through the ..data swap
kc patch cm cm1 -p '{"data":{"greeting":"bye"}}' > /dev/null
cm_is() { [ "$(rx vols cat "$1")" = "$2" ]; }
check "configMap update reaches the volume" poll 10 cm_is /cm/greeting bye
check "... and the projected volume" poll 10 cm_is /p/greeting bye
expect_eq "a subPath mount keeps the old contents (as upstream)" hello "$(rx vols cat /etc/app.conf)"
kc label pod vols extra=yes > /dev/null
labels_has() { rx vols cat /d/labels | grep -qx 'extra="yes"'; }
check "a label change reaches the downwardAPI volume" poll 10 labels_has

# httpGet readiness inside the pod's network namespace, tcpSocket and exec liveness
kc apply -f - > /dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: probes}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: k1s.local/busybox:test
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && touch /tmp/alive && exec httpd -f -p 8080 -h /www"]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /index.html, port: http}, periodSeconds: 1}
    livenessProbe: {exec: {command: ["cat", "/tmp/alive"]}, periodSeconds: 1, failureThreshold: 1}
    startupProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
EOF
check "httpGet readiness (in the pod's netns) makes the pod Ready" poll 20 is_ready probes True
restarts() { kc get pod probes -o jsonpath='{.status.containerStatuses[0].restartCount}'; }
expect_eq "no restarts while live" 0 "$(restarts)"
rx probes rm /tmp/alive
restarted() { [ "$(restarts)" -ge 1 ]; }
check "a liveness failure restarts the container" poll 20 restarted
check "the restarted container is Ready again" poll 20 is_ready probes True
check "Unhealthy event for the liveness failure" \
	sh -c "nsenter --net=/run/netns/$NS kubectl --kubeconfig $KUBECONFIG get events --field-selector involvedObject.name=probes -o jsonpath='{.items[*].reason}' | grep -q Unhealthy"

# a volume waits for its configMap; an env reference to a missing one fails
kc apply -f - > /dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: waits}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: k1s.local/busybox:test, command: ["sleep", "3600"], volumeMounts: [{name: v, mountPath: /v}]}
  volumes: [{name: v, configMap: {name: late}}]
---
apiVersion: v1
kind: Pod
metadata: {name: badenv}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: k1s.local/busybox:test
    command: ["sleep", "3600"]
    env: [{name: X, valueFrom: {configMapKeyRef: {name: cm1, key: missing}}}]
EOF
cce() { [ "$(waiting_reason badenv)" = CreateContainerConfigError ]; }
check "a missing key is CreateContainerConfigError" poll 20 cce
check "kubectl shows the reason" sh -c "nsenter --net=/run/netns/$NS kubectl --kubeconfig $KUBECONFIG get pod badenv | grep -q CreateContainerConfigError"
sleep 1
expect_eq "the pod waits for its configMap" Pending "$(phase waits)"
kc create configmap late --from-literal=k=v > /dev/null
check "and runs once it exists" poll 20 running waits
expect_eq "with its contents" v "$(rx waits cat /v/k)"

# service account tokens: the admission plugin's kube-api-access volume, a
# token bound to the pod that the API accepts until the pod is gone
SA=/var/run/secrets/kubernetes.io/serviceaccount
tkc() {	# kubectl with only a bearer token
	local tok=$1; shift
	nsenter --net=/run/netns/"$NS" kubectl --kubeconfig=/dev/null --server="https://127.0.0.1:$PORT" \
		--insecure-skip-tls-verify --token="$tok" "$@" 2>&1
}
expect_eq "pods get the default service account" default \
	"$(kc get pod vols -o jsonpath='{.spec.serviceAccountName}')"
expect_eq "and a kube-api-access volume" 1 \
	"$(kc get pod vols -o jsonpath='{.spec.volumes[*].name}' | tr ' ' '\n' | grep -c '^kube-api-access-[a-z0-9]\{5\}$')"
expect_eq "mounted read-only at $SA" true \
	"$(kc get pod vols -o jsonpath="{.spec.containers[0].volumeMounts[?(@.mountPath==\"$SA\")].readOnly}")"
expect_eq "the namespace file" default "$(rx vols cat $SA/namespace)"
expect_eq "ca.crt is the cluster CA" "$(kc get cm kube-root-ca.crt -o jsonpath='{.data.ca\.crt}')" \
	"$(rx vols cat $SA/ca.crt)"
TOK=$(rx vols cat $SA/token)
expect_eq "the pod's token authenticates as its service account" system:serviceaccount:default:default \
	"$(tkc "$TOK" auth whoami -o jsonpath='{.status.userInfo.username}')"
refused() { tkc "$TOK" get secrets | grep -q 'User "system:serviceaccount:default:default" cannot list resource "secrets"'; }
check "and is refused what no role gives it" refused
kc apply -f - > /dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: notoken}
spec:
  nodeName: $NODE
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: k1s.local/busybox:test, command: ["sleep", "3600"]}]
EOF
expect_eq "automountServiceAccountToken: false mounts nothing" "" \
	"$(kc get pod notoken -o jsonpath='{.spec.volumes}')"
expect_eq "a pod naming a missing service account is refused" \
	'Error from server (Forbidden): pods "nosa" is forbidden: error looking up service account default/nosuch: serviceaccount "nosuch" not found' \
	"$(kc run nosa --image=k1s.local/busybox:test --overrides='{"spec":{"serviceAccountName":"nosuch"}}' 2>&1)"
expect_eq "TokenRequest validation" \
	'error: failed to create token: TokenRequest.authentication.k8s.io "default" is invalid: spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes' \
	"$(kc create token default --duration=5m 2>&1)"
expect_eq "kubectl create token" system:serviceaccount:default:default \
	"$(tkc "$(kc create token default)" auth whoami -o jsonpath='{.status.userInfo.username}')"
other_aud() { tkc "$(kc create token default --audience=vault)" get ns | grep -q Unauthorized; }
check "a token for another audience is not the API's" other_aud
kc delete pod notoken --wait=false > /dev/null

# deleting the pods tears their volumes down (tmpfs unmounted, directories gone)
uid=$(kc get pod vols -o jsonpath='{.metadata.uid}')
kc delete pod vols probes waits badenv --wait=false > /dev/null
gone() { ! kc get pod vols >/dev/null 2>&1 && [ ! -e "$D/agent/pods/$uid/volumes" ]; }
check "deleted pod's volumes are removed" poll 30 gone
tok_refused() { tkc "$TOK" get ns | grep -q Unauthorized; }
check "the deleted pod's token is refused" tok_refused
check "... and its tmpfs mounts" sh -c "! grep -q '$uid' /proc/mounts"
exit 0
