#!/usr/bin/env bash
# tests/e2e/kubelet-api.test.sh - the kubelet API through the API server with
# the real kubectl: logs (tail, since, limit, timestamps, follow, previous),
# exec (exit codes, stdout/stderr, stdin, a terminal driven through script(1)
# with its size), attach, port-forward carrying HTTP, cp both ways, Python's
# kubernetes.stream, and the kubelet refusing a client without a certificate;
# then (kubelet-debug.sh) nodes/proxy, ephemeral containers with kubectl
# debug, attach to stdin/tty containers and kubectl run -it --rm.
# kubectl 1.32 (WebSocket exec, SPDY port-forward after its fallback) and
# 1.27 (SPDY for everything).
#
# The cluster (server + embedded agent running real pods) lives in a network
# namespace made here; runc state and cgroups are private to this run.
# Everything is removed on exit, even on failure. KAPI_BLOB_KB sets the size
# of the file kubectl cp moves both ways (default 2048; 40000 is a heavy run).
. "$(dirname "$0")/lib.sh"

OLD_KUBECTL=${OLD_KUBECTL:-/usr/lib/google-cloud-sdk/bin/kubectl.1.27}
if [ "$(id -u)" -ne 0 ] || ! command -v runc >/dev/null || ! command -v nsenter >/dev/null ||
   ! command -v script >/dev/null || ! command -v kubectl >/dev/null; then
	echo "ok - kubelet API # skip: needs root, runc, nsenter, script and kubectl"
	exit 0
fi

tmpdir T
NS=k1s-t-kapi-$$
D=$T/d
RUNC_ROOT=$T/runc
CG=/k1s-t-kapi-$$
KUBECONFIG=$D/kc.yaml
export KUBECONFIG
in_ns() { nsenter --net=/run/netns/"$NS" "$@"; }
kc() { in_ns kubectl "$@"; }
kold() { in_ns "$OLD_KUBECTL" "$@"; }

cleanup_cluster() {
	kc delete pod --all --grace-period=1 --wait=true --timeout=20s >/dev/null 2>&1
	if [ -n "${SERVER_PID:-}" ]; then	# the supervisor stops the embedded agent
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	for c in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
		runc --root "$RUNC_ROOT" delete --force "$c" >/dev/null 2>&1
	done
	grep -o " $T[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
	for d in /sys/fs/cgroup"$CG" /sys/fs/cgroup/*"$CG"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
}

ip netns add "$NS" || { not_ok "make the network namespace"; exit 1; }
on_exit "ip netns del $NS"
on_exit cleanup_cluster
ip -n "$NS" link set lo up
mkdir -p "$D/agent/images/import"
if ! out=$(tests/images/build.sh "$T/imgs" 2>&1); then
	not_ok "build test images" "$out"
	exit 1
fi
cp "$T/imgs/busybox.tar" "$D/agent/images/import/"

# nsenter execs k1s: $! is the server itself
nsenter --net=/run/netns/"$NS" "$K1S" server --data-dir "$D" --https-listen-port 6443 --write-kubeconfig "$KUBECONFIG" \
	--ready-file "$D/ready" --agent-arg=--runc-root="$RUNC_ROOT" \
	--agent-arg=--cgroup-parent="$CG" --agent-arg=--pod-backoff-min=500 > "$T/server.log" 2>&1 &
SERVER_PID=$!
on_exit "[ \$_failed = 0 ] || { echo '# server log (tail):'; grep -v '^I' '$T/server.log' | tail -n 30 | sed 's/^/# /'; }"
check "server ready" poll 30 test -f "$D/ready"
node_ready() { kc get nodes -o jsonpath='{.items[0].status.conditions[?(@.type=="Ready")].status}' | grep -q True; }
check "node registered and ready" poll 30 node_ready
NODE=$(kc get nodes -o jsonpath='{.items[0].metadata.name}')
expect_eq "node advertises the kubelet port" 10250 \
	"$(kc get node "$NODE" -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}')"

# ---- the kubelet itself refuses strangers ----
TLS=$D/server/tls
expect_fail "kubelet refuses a client without a certificate" 35 \
	in_ns curl -sS -m 5 --cacert "$TLS/server-ca.crt" https://127.0.0.1:10250/healthz
expect_eq "kubelet accepts the node-local admin" ok \
	"$(in_ns curl -sS -m 5 --cacert "$TLS/server-ca.crt" --cert "$TLS/client-admin.crt" \
		--key "$TLS/client-admin.key" https://127.0.0.1:10250/healthz)"

# ---- pods ----
kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  nodeName: $NODE
  containers:
  - name: main
    image: k1s.local/busybox:test
    command: [sh, -c, 'echo first; sleep 0.2; echo second >&2; sleep 0.2; echo third; i=0; while :; do echo tick \$i; i=\$((i+1)); sleep 0.3; done']
---
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  nodeName: $NODE
  containers:
  - name: c
    image: k1s.local/busybox:test
    command: [sh, -c, 'echo run-\$(cat /proc/sys/kernel/random/uuid); sleep 1; exit 1']
EOF
running() { kc get pod "$1" -o jsonpath='{.status.phase}' | grep -q Running; }
check "pod app runs" poll 30 running app

# ---- logs ----
has_lines() { [ "$(kc logs app | wc -l)" -ge 4 ]; }
check "logs: the container has written its first lines" poll 15 has_lines
expect_eq "logs: the first lines" "first second third" "$(kc logs app | head -n 3 | tr '\n' ' ' | sed 's/ $//')"
expect_eq "logs -c" "first" "$(kc logs app -c main | head -n 1)"
check "logs --tail=1 is one tick" sh -c "[ \"\$(nsenter --net=/run/netns/$NS kubectl logs app --tail=1 | grep -c '^tick ')\" = 1 ]"
check "logs --timestamps" sh -c "nsenter --net=/run/netns/$NS kubectl logs app --timestamps | head -n 1 | grep -Eq '^20[0-9-]+T[0-9:.]+Z first$'"
expect_eq "logs --limit-bytes" "first" "$(kc logs app --limit-bytes=5)"
sleep 1.2
check "logs --since leaves out old lines" sh -c "! nsenter --net=/run/netns/$NS kubectl logs app --since=1s | grep -q first"
timeout 2 nsenter --net=/run/netns/"$NS" kubectl logs -f app --tail=0 > "$T/follow" 2>&1
check "logs -f streams new lines" sh -c "[ \$(grep -c '^tick ' '$T/follow') -ge 3 ]"
restarted() { [ "$(kc get pod crash -o jsonpath='{.status.containerStatuses[0].restartCount}')" -ge 1 ]; }
check "pod crash restarted" poll 30 restarted
prev=$(kc logs crash --previous)
check "logs --previous shows the last run" sh -c "echo '$prev' | grep -q '^run-'"
cur_has() { kc logs crash | grep -q '^run-'; }
poll 10 cur_has
check "logs --previous differs from the current run" sh -c "[ '$prev' != \"\$(nsenter --net=/run/netns/$NS kubectl logs crash)\" ]"

# ---- exec (kubectl 1.32: WebSocket v5; kubectl 1.27: SPDY v4) ----
expect_fail "exec passes the exit code through" 3 kc exec app -- sh -c 'exit 3'
expect_eq "exec passes dashed arguments to the command" "hi-" "$(kc exec app -- echo -n hi; echo -)"
expect_eq "exec stdout apart from stderr" "out" "$(kc exec app -- sh -c 'echo out; echo err >&2' 2>/dev/null)"
expect_eq "exec stderr" "err" "$(kc exec app -- sh -c 'echo out; echo err >&2' 2>&1 >/dev/null)"
expect_eq "exec -i carries stdin and its end" "abc|done" \
	"$(printf 'abc' | kc exec -i app -- sh -c 'cat; echo "|done"' | tr -d '\n')"
if [ -x "$OLD_KUBECTL" ]; then
	expect_fail "exec exit code (kubectl 1.27, SPDY)" 4 kold exec app -- sh -c 'exit 4'
	expect_eq "exec -i (kubectl 1.27, SPDY)" "xyz" "$(echo xyz | kold exec -i app -- cat)"
fi
# a terminal: commands typed through script(1), the size set on its pty
(sleep 1.5; echo 'echo TTY-$((6*7)); stty size'; sleep 1; echo 'exit 5') |
	timeout 20 script -qec "stty cols 91 rows 33; nsenter --net=/run/netns/$NS kubectl exec -it app -- sh" /dev/null \
	> "$T/tty" 2>&1
rc=$?
expect_eq "exec -it exits with the shell's code" 5 "$rc"
check "exec -it runs typed commands" grep -q 'TTY-42' "$T/tty"
check "exec -it has the terminal size" grep -q '33 91' "$T/tty"

# ---- attach ----
timeout 2 nsenter --net=/run/netns/"$NS" kubectl attach app > "$T/attach" 2>&1
check "attach streams the container's output" grep -q '^tick ' "$T/attach"

# ---- port-forward ----
kc exec app -- sh -c 'mkdir -p /tmp/www && echo hello-pf > /tmp/www/index.html && httpd -p 8080 -h /tmp/www'
pf() { # KUBECTL LOCAL-PORT: two GETs through one port-forward; a kubectl that
	# died before forwarding (a busy machine) is started once more
	local pid try
	for try in 1 2; do
		nsenter --net=/run/netns/"$NS" "$1" port-forward pod/app "$2":8080 > "$T/pf.log" 2>&1 &
		pid=$!
		poll 15 grep -q Forwarding "$T/pf.log" && kill -0 "$pid" 2>/dev/null && break
		kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
		echo "# port-forward attempt $try: $(tr '\n' ' ' < "$T/pf.log")" >&2
	done
	in_ns curl -sS -m 5 "http://127.0.0.1:$2/index.html"
	in_ns curl -sS -m 5 "http://127.0.0.1:$2/index.html"
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
expect_eq "port-forward carries HTTP (kubectl 1.32)" "hello-pf hello-pf" "$(pf kubectl 18080 | tr '\n' ' ' | sed 's/ $//')"
if [ -x "$OLD_KUBECTL" ]; then
	expect_eq "port-forward carries HTTP (kubectl 1.27)" "hello-pf hello-pf" \
		"$(pf "$OLD_KUBECTL" 18081 | tr '\n' ' ' | sed 's/ $//')"
fi

# ---- cp both ways (tar over exec) ----
head -c $(( ${KAPI_BLOB_KB:-2048} * 1024 )) /dev/urandom > "$T/blob"
check "cp to the pod" kc cp "$T/blob" app:/tmp/blob
expect_eq "cp to the pod: content" "$(sha256sum < "$T/blob" | cut -d' ' -f1)" \
	"$(kc exec app -- sha256sum /tmp/blob | cut -d' ' -f1)"
check "cp from the pod" kc cp app:/tmp/blob "$T/blob.back"
check "cp from the pod: content" cmp "$T/blob" "$T/blob.back"

# ---- Python's kubernetes.stream (WebSocket v4) ----
if /usr/bin/python3 -c 'import kubernetes' 2>/dev/null; then
	out=$(timeout 30 nsenter --net=/run/netns/"$NS" /usr/bin/python3 - "$KUBECONFIG" <<'EOF' 2>&1
import sys
from kubernetes import client, config
from kubernetes.stream import stream
config.load_kube_config(sys.argv[1])
api = client.CoreV1Api()
print(stream(api.connect_get_namespaced_pod_exec, "app", "default",
             command=["sh", "-c", "echo py-$((1+2))"], stderr=True, stdin=False,
             stdout=True, tty=False).strip())
r = stream(api.connect_get_namespaced_pod_exec, "app", "default", command=["sh", "-c", "exit 7"],
           stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
r.run_forever(timeout=10)
print("rc", r.returncode)
EOF
)
	expect_eq "python kubernetes.stream exec" "py-3 rc 7" "$(echo "$out" | tr '\n' ' ' | sed 's/ $//')"
fi

# ---- nodes/proxy, kubectl debug, attach to stdin/tty, run -it ----
. "$(dirname "$0")/kubelet-debug.sh"

# ---- errors ----
check "exec into an unknown container fails" sh -c "! nsenter --net=/run/netns/$NS kubectl exec app -c nope -- true"
check "logs of an unknown pod fail" sh -c "! nsenter --net=/run/netns/$NS kubectl logs nope"
exit $_failed
