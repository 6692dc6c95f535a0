# tests/e2e/kubelet-debug.sh - sourced by kubelet-api.test.sh (its cluster,
# its pod "app" running container "main"): nodes/proxy, ephemeral
# containers (validation, `kubectl debug` with and without a terminal, the
# target's PID namespace, their status), attach to stdin/tty containers
# (typing, detaching, stdinOnce) and `kubectl run -it --rm`.

IMG=k1s.local/busybox:test
# curl as the admin inside the namespace: "CODE message-of-the-Status"
apic() { # METHOD PATH CONTENT-TYPE BODY
	in_ns curl -sS -o "$T/apic" -w '%{http_code} ' --cacert "$TLS/server-ca.crt" --cert "$TLS/client-admin.crt" \
		--key "$TLS/client-admin.key" -X "$1" -H "Content-Type: $3" -d "$4" "https://127.0.0.1:6443$2"
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("message", ""))' "$T/apic"
}
tty_run() { # SECONDS INPUT-SCRIPT COMMAND: COMMAND on a terminal (script(1)) fed by
	# INPUT-SCRIPT; what the terminal showed goes to $T/tty-out
	(eval "$2") | timeout "$1" script -qec "stty cols 100 rows 30; nsenter --net=/run/netns/$NS $3" /dev/null \
		> "$T/tty-out" 2>&1
}

# ---- nodes/proxy ----
expect_eq "nodes/proxy: the kubelet's /healthz" ok "$(kc get --raw "/api/v1/nodes/$NODE/proxy/healthz")"
expect_eq "nodes/proxy: the kubelet's /containerLogs" first \
	"$(kc get --raw "/api/v1/nodes/$NODE/proxy/containerLogs/default/app/main" | head -n 1)"
check "nodes/proxy of an unknown node is 404" sh -c \
	"nsenter --net=/run/netns/$NS kubectl get --raw /api/v1/nodes/nope/proxy/healthz 2>&1 | grep -q 'nodes \"nope\" not found'"

# ---- ephemeral containers: the API's 422s ----
EP=/api/v1/namespaces/default/pods/app/ephemeralcontainers
SMP=application/strategic-merge-patch+json
r=$(apic PATCH $EP $SMP '{"spec":{"ephemeralContainers":[{"name":"bad","image":"x","ports":[{"containerPort":80}],"resources":{"limits":{"cpu":"1"}},"resizePolicy":[{"resourceName":"cpu","restartPolicy":"NotRequired"}],"lifecycle":{"postStart":{"exec":{"command":["x"]}}},"livenessProbe":{"exec":{"command":["x"]}}}]}}')
for f in ports resources resizePolicy livenessProbe lifecycle; do
	check "422: ephemeral $f" sh -c "echo '$r' | grep -q '^422 .*spec.ephemeralContainers\[0\].$f: Forbidden: cannot be set for an Ephemeral Container'"
done
r=$(apic PATCH $EP $SMP '{"spec":{"ephemeralContainers":[{"name":"main","image":"x","targetContainerName":"nope"}]}}')
check "422: ephemeral name taken by a container" sh -c "echo '$r' | grep -q 'spec.ephemeralContainers\[0\].name: Duplicate value: \"main\"'"
check "422: target container not found" sh -c "echo '$r' | grep -q 'spec.ephemeralContainers\[0\].targetContainerName: Not found: \"nope\"'"
r=$(apic POST /api/v1/namespaces/default/pods application/json '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"e"},"spec":{"containers":[{"name":"a","image":"x"}],"ephemeralContainers":[{"name":"d","image":"x"}]}}')
expect_eq "422: ephemeral containers on create" "422 Pod \"e\" is invalid: spec.ephemeralContainers: Forbidden: cannot be set on create" "$r"
r=$(apic PATCH /api/v1/namespaces/default/pods/app $SMP '{"spec":{"ephemeralContainers":[{"name":"d","image":"x"}]}}')
check "422: ephemeral containers through a pod update" sh -c "echo '$r' | grep -q '^422 .*spec: Forbidden: pod updates may not change fields'"

# ---- kubectl debug (no terminal): the target's processes, the status ----
check "kubectl debug --target adds a container" \
	kc debug pod/app --image=$IMG -c dbg --target=main -- sh -c 'ps -o pid,args; sleep 3'
check "ephemeralContainerStatuses: running" poll 20 sh -c "nsenter --net=/run/netns/$NS kubectl get pod app -o jsonpath='{.status.ephemeralContainerStatuses[?(@.name==\"dbg\")].state}' | grep -q running"
check "the target's processes are visible" sh -c "nsenter --net=/run/netns/$NS kubectl logs app -c dbg | grep -q 'echo first'"
check "ephemeralContainerStatuses: terminated" poll 20 sh -c "nsenter --net=/run/netns/$NS kubectl get pod app -o jsonpath='{.status.ephemeralContainerStatuses[?(@.name==\"dbg\")].state.terminated.reason}' | grep -q Completed"
expect_eq "a finished ephemeral container is not restarted" "0 Running" \
	"$(kc get pod app -o jsonpath='{.status.ephemeralContainerStatuses[?(@.name=="dbg")].restartCount} {.status.phase}')"
r=$(apic PATCH $EP application/json-patch+json '[{"op":"replace","path":"/spec/ephemeralContainers/0/image","value":"other"}]')
expect_eq "422: an existing ephemeral container may not change" \
	"422 Pod \"app\" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers \"dbg\" may not be changed" "$r"
r=$(apic PATCH $EP application/merge-patch+json '{"spec":{"ephemeralContainers":[]}}')
check "422: an existing ephemeral container may not be removed" sh -c "echo '$r' | grep -q 'existing ephemeral containers \"dbg\" may not be removed'"
if [ -x "$OLD_KUBECTL" ]; then
	check "kubectl 1.27 debug (its patch of ephemeralcontainers)" kold debug pod/app --image=$IMG -c dbg-old -- echo old-ok
	check "kubectl 1.27 debug: the container ran" poll 20 sh -c \
		"nsenter --net=/run/netns/$NS kubectl logs app -c dbg-old 2>/dev/null | grep -q old-ok"
fi
check "kubectl debug without a target" kc debug pod/app --image=$IMG -c dbg-own -- ps -o args
check "without a target: its own PID namespace" poll 20 sh -c \
	"nsenter --net=/run/netns/$NS kubectl logs app -c dbg-own 2>/dev/null | grep -q 'ps -o args' && ! nsenter --net=/run/netns/$NS kubectl logs app -c dbg-own | grep -q 'echo first'"

# ---- kubectl debug -it: a shell on a terminal, in the target's namespace ----
tty_run 40 "sleep 4; echo 'ps -o args | grep -q \"[e]cho first\" && echo SEEN-\$((40+2))'; sleep 2; echo 'exit 0'" \
	"kubectl debug -it pod/app --image=$IMG -c dbg-tty --target=main -- sh"
check "kubectl debug -it: typed commands see the target" grep -q SEEN-42 "$T/tty-out"

# ---- attach to stdin/tty containers ----
kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: tty}
spec:
  nodeName: $NODE
  restartPolicy: Never
  containers:
  - {name: sh, image: $IMG, command: [sh], stdin: true, tty: true}
---
apiVersion: v1
kind: Pod
metadata: {name: keep}
spec:
  nodeName: $NODE
  containers:
  - name: r
    image: $IMG
    command: [sh, -c, 'while read l; do echo "got-\$l"; done; echo STDIN-CLOSED; sleep 1000']
    stdin: true
EOF
check "pod tty runs" poll 30 running tty
check "pod keep runs" poll 30 running keep
tty_run 20 "sleep 2; echo 'echo ATT-\$((2*3)); stty size'; sleep 1; echo 'exit 3'" "kubectl attach -it tty"
check "attach -it: typed commands run in the container" grep -q ATT-6 "$T/tty-out"
check "attach -it: the terminal has the client's size" grep -q '30 100' "$T/tty-out"
tty_exit() { [ "$(kc get pod tty -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}')" = 3 ]; }
check "attach -it: the shell's exit ends the container (exit code 3)" poll 20 tty_exit
attach_line() { # LINE: kubectl attach -i keep writes it, then detaches once it arrived
	local pid
	echo "$1" | nsenter --net=/run/netns/"$NS" kubectl attach -i keep > /dev/null 2>&1 &
	pid=$!
	poll 20 sh -c "nsenter --net=/run/netns/$NS kubectl logs keep | grep -q got-$1"
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
attach_line one
attach_line two
check "attach -i: a second attach after a detach" sh -c "nsenter --net=/run/netns/$NS kubectl logs keep | grep -q got-two"
expect_eq "attach -i: stdin reached the container; detach keeps it running" "got-one got-two Running" \
	"$(kc logs keep | tr '\n' ' ')$(kc get pod keep -o jsonpath='{.status.phase}')"

# ---- kubectl run -it --rm (stdin, stdinOnce, tty) ----
tty_run 60 "sleep 5; echo 'echo RUN-\$((3*3)); exit 0'" "kubectl run tmp -it --rm --restart=Never --image=$IMG -- sh"
check "run -it --rm: typed commands run" grep -q RUN-9 "$T/tty-out"
gone() { ! kc get pod tmp >/dev/null 2>&1; }
check "run -it --rm: the pod is deleted" poll 30 gone
kc delete pod tty keep --grace-period=1 --wait=false >/dev/null 2>&1
