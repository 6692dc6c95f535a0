#!/usr/bin/env bash
# tests/e2e/pods.test.sh - pods on runc, end to end with the real kubectl,
# against a one-node cluster from `k1s server` (embedded agent).
#
#   host ─── netns k1s-t-pods<pid> ────────────────────────────────────────┐
#            up0 192.168.77.2/24 fd77::2/64 (veth, peer up1: the "uplink")│
#            k1s server (API, controllers, node IPAM) + embedded agent     │
#            k1s0 bridge 10.42.0.1/24 fd42::1/64                           │
#              ├─ veth ── pod (eth0 10.42.0.x, fd42::x)                    │
#              └─ veth ── pod ...                                          │
#   └──────────────────────────────────────────────────────────────────────┘
# Everything network-related happens inside the namespace (the server runs
# there through nsenter --net, which keeps the host's mounts and cgroups,
# unlike `ip netns exec`). runc state, cgroups and data are the test's own;
# on exit, even after a failure: server stopped, shims killed (by pid),
# runc containers deleted, mounts undone, cgroups removed, netns deleted.
. "$(dirname "$0")/cluster.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v runc >/dev/null || ! ip netns list >/dev/null 2>&1 ||
	[ ! -x /bin/busybox ]; then
	ok "pods # skip: needs root, runc, ip netns and /bin/busybox"
	exit 0
fi

NS=k1s-t-pods$$
CG=k1s-t-pods$$
tmpdir D
mkdir -p "$D/agent/images/import" "$D/img"
bash "$(dirname "$0")/../images/build.sh" "$D/img" >/dev/null || { not_ok "test images build"; exit 1; }
cp "$D/img/busybox.tar" "$D/agent/images/import/"

node_netns "$NS" "$D" "$CG" || { not_ok "netns"; exit 1; }
nx ip link add up0 type veth peer name up1
nx ip addr add 192.168.77.2/24 dev up0
nx ip addr add fd77::2/64 dev up0 nodad
nx ip link set up0 up
nx ip link set up1 up
nx ip route add default dev up0
nx ip -6 route add default dev up0

PORT=$(free_port)
KUBECONFIG=$D/kubeconfig.yaml
# runs after the server (and so the agent) stopped: a sanitizer build's reports
on_exit "! grep -q -e Sanitizer -e 'runtime error' $D/server.log ||
	{ echo 'not ok - sanitizer report in the server or agent log'; grep -A25 -e Sanitizer -e 'runtime error' $D/server.log | head -50 | sed 's/^/# /'; }"
server_up() {
	nsenter --net=/run/netns/"$NS" "$K1S" server --data-dir "$D" --https-listen-port "$PORT" \
		--write-kubeconfig "$KUBECONFIG" --node-ip 192.168.77.2 --node-ip fd77::2 \
		--cluster-cidr 10.42.0.0/16,fd42::/56 --service-cidr 10.43.0.0/16,fd43::/112 \
		--agent-arg=--runc-root="$D/runc" --agent-arg=--cgroup-parent=/$CG \
		--agent-arg=--pod-backoff-min=2000 >> "$D/server.log" 2>&1 &
	SERVER_PID=$!	# nsenter execs k1s: this is the server
	on_exit "kill $SERVER_PID; wait $SERVER_PID; for p in \$(pgrep -f 'k1s agent .*--data-dir $D/agent'); do kill -9 \$p; done"
}
server_up
on_exit "[ \$_failed = 0 ] || { echo '# server log (tail):'; grep -v ' I' '$D/server.log' | tail -n 30 | sed 's/^/# /'; }"
kc() { nx kubectl --kubeconfig "$KUBECONFIG" "$@"; }
NODE=$(hostname | tr 'A-Z' 'a-z')
LOGS=$D/agent/logs/pods

node_ready() { [ "$(kc get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
check "node registers and is Ready" poll 20 node_ready
expect_eq "node IPAM gives podCIDRs of both families" "10.42.0.0/24 fd42::/64" \
	"$(kc get node "$NODE" -o jsonpath='{.spec.podCIDRs[*]}')"
expect_fail "podCIDRs are immutable (422)" 1 kc patch node "$NODE" -p '{"spec":{"podCIDRs":["10.42.9.0/24"]}}'

pod() { # NAME [EXTRA SPEC YAML] -- CONTAINER YAML (indented 2)
	local name=$1 extra=$2 ctrs=$3
	cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: $name}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
$extra
  containers:
$ctrs
Y
}
img="image: k1s.local/busybox:test"
phase() { kc get pod "$1" -o jsonpath='{.status.phase}'; }
ready() { [ "$(kc get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
logf() { cat "$LOGS"/default_"$1"_*/"$2"/"${3:-0}".log 2>/dev/null; }
haslog() { logf "$1" "$2" "${4:-0}" | grep -q -- "$3"; }

# ---- a busybox pod: Running, Ready, both families, /etc files, env ----
pod web "" "  - name: c
    $img
    command: [sh, -c, 'echo FOO=\$FOO; cat /etc/resolv.conf /etc/hosts /etc/hostname; sleep 3600']
    env: [{name: FOO, value: from-value}]" | kc apply -f - >/dev/null
check "busybox pod becomes Ready" poll 20 ready web
expect_eq "phase Running" Running "$(phase web)"
ips=$(kc get pod web -o jsonpath='{.status.podIPs[*].ip}')
check "podIPs of both families from the podCIDRs ($ips)" eval "echo '$ips' | grep -Eq '^10\.42\.0\.[0-9]+ fd42::[0-9a-f]+$'"
expect_eq "hostIPs" "192.168.77.2 fd77::2" "$(kc get pod web -o jsonpath='{.status.hostIPs[*].ip}')"
check "containerID and imageID" eval "kc get pod web -o jsonpath='{.status.containerStatuses[0].containerID} {.status.containerStatuses[0].imageID}' | grep -q '^k1s://.* sha256:'"
check "env from value" poll 5 haslog web c "FOO=from-value"
check "resolv.conf ClusterFirst" eval "logf web c | grep -q 'nameserver 10.43.0.10' && logf web c | grep -q 'search default.svc.cluster.local svc.cluster.local cluster.local' && logf web c | grep -q 'options ndots:5'"
check "/etc/hosts has the pod IP and name" eval "logf web c | grep -Eq '10\.42\.0\.[0-9]+.web'"
check "kubectl get pods shows 1/1 Running" eval "kc get pods web --no-headers | grep -q '1/1 *Running'"
check "events Created and Started" eval "kc get events --field-selector involvedObject.name=web -o jsonpath='{.items[*].reason}' | grep -q 'Created Started'"

# ---- a Deployment: the scheduler binds its pods, the agent runs them ----
kc apply -f - >/dev/null <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: dep}
spec:
  replicas: 2
  selector: {matchLabels: {app: dep}}
  template:
    metadata: {labels: {app: dep}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, $img, command: [sleep, "3600"]}
Y
dep_ready() { [ "$(kc get deployment dep -o jsonpath='{.status.readyReplicas}')" = 2 ]; }
check "a Deployment reaches 2/2 Ready" poll 30 dep_ready

# ---- pod-to-pod over both families; hostNetwork ----
ip4=$(echo "$ips" | cut -d' ' -f1); ip6=$(echo "$ips" | cut -d' ' -f2)
pod pinger "  restartPolicy: Never" "  - name: c
    $img
    command: [sh, -c, 'ping -c1 -W2 $ip4 && ping -c1 -W2 $ip6']" | kc apply -f - >/dev/null
check "pod-to-pod ping over IPv4 and IPv6" poll 15 eval '[ "$(phase pinger)" = Succeeded ]'
pod hostnet "  hostNetwork: true" "  - name: c
    $img
    command: [sh, -c, 'ip addr show up0; sleep 3600']" | kc apply -f - >/dev/null
check "hostNetwork pod runs in the node's namespace" poll 15 haslog hostnet c 192.168.77.2
expect_eq "hostNetwork podIP is the node IP" 192.168.77.2 "$(kc get pod hostnet -o jsonpath='{.status.podIP}')"

# ---- restarts with back-off, CrashLoopBackOff; OOMKilled; missing image ----
pod crash "" "  - name: c
    $img
    command: [sh, -c, 'echo crashing; exit 3']" | kc apply -f - >/dev/null
pod oom "  restartPolicy: Never" "  - name: c
    $img
    command: [sh, -c, 'x=a; while true; do x=\$x\$x; done']
    resources: {limits: {memory: 16Mi}}" | kc apply -f - >/dev/null
pod noimage "" "  - name: c
    image: k1s.local/none:test
    imagePullPolicy: IfNotPresent" | kc apply -f - >/dev/null
crashloop() { kc get pods crash --no-headers | grep -q CrashLoopBackOff; }
check "CrashLoopBackOff visible in kubectl get pods" poll 20 crashloop
rc1=$(kc get pod crash -o jsonpath='{.status.containerStatuses[0].restartCount}')
check "restarts counted ($rc1)" test "$rc1" -ge 1
expect_eq "lastState exit code" 3 "$(kc get pod crash -o jsonpath='{.status.containerStatuses[0].lastState.terminated.exitCode}')"
check "BackOff event" eval "kc get events --field-selector involvedObject.name=crash -o jsonpath='{.items[*].reason}' | grep -q BackOff"
check "OOMKilled" poll 15 eval "kc get pod oom -o jsonpath='{.status.containerStatuses[0].state.terminated.reason}' | grep -qx OOMKilled"
expect_eq "OOM pod with restartPolicy Never fails" Failed "$(phase oom)"
imgwait() { kc get pod noimage -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -Eq 'ErrImagePull|ImagePullBackOff'; }
check "missing image: ErrImagePull / ImagePullBackOff" poll 10 imgwait

# ---- a pod that waits shows ContainerCreating, not a bare Pending ----
pod cmwait "  volumes: [{name: cfg, configMap: {name: late}}]" "  - name: c
    $img
    command: [sleep, '3600']
    volumeMounts: [{name: cfg, mountPath: /cfg}]" | kc apply -f - >/dev/null
column() { kc get pod "$1" --no-headers | awk '{print $3}'; }
cond() { kc get pod "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].status}"; }
check "configMap not there yet: ContainerCreating in kubectl get pod" poll 10 eval '[ "$(column cmwait)" = ContainerCreating ]'
expect_eq "... Pending; PodScheduled, Initialized True; ContainersReady, Ready False" "Pending True True False False" \
	"$(phase cmwait) $(cond cmwait PodScheduled) $(cond cmwait Initialized) $(cond cmwait ContainersReady) $(cond cmwait Ready)"
expect_eq "... waiting reason ContainerCreating" ContainerCreating \
	"$(kc get pod cmwait -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')"
failedmount() { kc get events --field-selector involvedObject.name=cmwait,reason=FailedMount -o jsonpath='{.items[*].message}' |
	grep -qF 'MountVolume.SetUp failed for volume "cfg" : configmap "late" not found'; }
check "... FailedMount event as upstream" poll 10 failedmount
kc create configmap late --from-literal=k=v >/dev/null
check "... Ready once the configMap exists" poll 20 ready cmwait
# A burst waits for the start gate (2 pods per CPU): any pod not Running
# within 2.5 s has had its ContainerCreating status written soon after it came
# (the agent writes it 0.5 s after it accepted the pod).
BURST=${K1S_TEST_BURST:-12}
mkfifo "$D/burst.fifo"
timeout 90 nsenter --net=/run/netns/"$NS" kubectl --kubeconfig "$KUBECONFIG" get pods -l burst=1 -w \
	--output-watch-events -o jsonpath='{.type} {.object.metadata.name} {.object.status.phase} {.object.status.containerStatuses[0].state.waiting.reason}{"\n"}' \
	> "$D/burst.fifo" &
on_exit "kill $! 2>/dev/null"
while IFS= read -r l; do echo "$(date +%s%3N) $l"; done < "$D/burst.fifo" > "$D/burst.watch" &
for i in $(seq "$BURST"); do
	pod "b$i" "" "  - name: c
    $img
    command: [sleep, '3600']"
	echo ---
done | sed 's/^metadata: {name: \(.*\)}$/metadata: {name: \1, labels: {burst: "1"}}/' | kc apply -f - >/dev/null
burst_running() { [ "$(awk '$4 == "Running" {print $3}' "$D/burst.watch" | sort -u | wc -l)" = "$BURST" ]; }
check "a burst of $BURST pods runs" poll 60 burst_running
# times from each pod's first watch event (its ADDED, or the first list)
burst_awk() { awk '!($3 in add) { add[$3] = $1 }
	$5 == "ContainerCreating" && !($3 in cc) { cc[$3] = $1 - add[$3] }
	$4 == "Running" && !($3 in run) { run[$3] = $1 - add[$3] }
	END { for (n in run) '"$1"' }' "$D/burst.watch"; }
expect_eq "burst: each pod Running after 2.5 s showed ContainerCreating within 1.8 s" "" \
	"$(burst_awk 'if (run[n] > 2500 && (!(n in cc) || cc[n] > 1800)) print n, run[n], (n in cc) ? cc[n] : "never"')"
echo "# burst: $(burst_awk '{ k += run[n] > 2500; if (run[n] > m) m = run[n] } print k + 0, "pods took over 2.5 s, the slowest", m + 0, "ms"')"
kc delete pods -l burst=1 --wait=false >/dev/null

# ---- init containers in order, then the app ----
pod init "  initContainers:
  - name: i1
    $img
    command: [sh, -c, 'echo one > /w/f']
    volumeMounts: [{name: w, mountPath: /w}]
  - name: i2
    $img
    command: [sh, -c, 'test -f /w/f && echo two >> /w/f']
    volumeMounts: [{name: w, mountPath: /w}]
  volumes: [{name: w, emptyDir: {}}]" "  - name: c
    $img
    command: [sh, -c, 'tr \"\\\\n\" \" \" < /w/f; echo; sleep 3600']
    volumeMounts: [{name: w, mountPath: /w}]" | kc apply -f - >/dev/null
check "init containers run in order before the app" poll 20 haslog init c "one two"
expect_eq "initContainerStatuses Completed" "Completed Completed" \
	"$(kc get pod init -o jsonpath='{.status.initContainerStatuses[*].state.terminated.reason}')"
expect_eq "Initialized" True "$(kc get pod init -o jsonpath='{.status.conditions[?(@.type=="Initialized")].status}')"

# ---- shared PID namespace, and its absence ----
for share in true false; do
	pod "pid-$share" "  shareProcessNamespace: $share" "  - name: a
    $img
    command: [sh, -c, 'trap \"echo got-hup\" HUP; while true; do sleep 0.2; done', marker-a]
  - name: b
    $img
    command: [sh, -c, 'sleep 1; ps -o pid,args; for p in /proc/[0-9]*; do grep -q \"marker\"\"-a\" \$p/cmdline 2>/dev/null && kill -HUP \${p#/proc/} && echo sent-hup; done; sleep 3600']" |
		kc apply -f - >/dev/null
done
check "shared: ps in one container lists the sibling's process" poll 20 haslog pid-true b marker-a
check "shared: SIGHUP from one container reaches the other" poll 10 haslog pid-true a got-hup
check "not shared: both containers run" poll 20 haslog pid-false b PID
check "not shared: the sibling is invisible" eval "! logf pid-false b | grep -q marker-a"
check "not shared: no signal crosses" eval "! logf pid-false a | grep -q got-hup"

# ---- kill -9 the agent: containers keep running and are re-adopted ----
before=$(kc get pods -o jsonpath='{range .items[*]}{.metadata.name}={.status.containerStatuses[*].containerID}/{.status.containerStatuses[*].restartCount} {end}' | tr ' ' '\n' | grep -E '^(web|init|pid-true)=' | sort)
apid=$(pgrep -f "k1s agent .*--data-dir $D/agent")
webuid=$(kc get pod web -o jsonpath='{.metadata.uid}')
shims=$(pgrep -f "k1s shim $D/agent/containers/$webuid" | sort | tr '\n' ' ')
kill -9 $apid
new_agent() { p=$(pgrep -f "k1s agent .*--data-dir $D/agent"); [ -n "$p" ] && [ "$p" != "$apid" ]; }
check "the agent is restarted by its supervisor" poll 10 new_agent
check "the restarted agent re-adopts" poll 10 grep -q "found to re-adopt" "$D/server.log"
sleep 2
after=$(kc get pods -o jsonpath='{range .items[*]}{.metadata.name}={.status.containerStatuses[*].containerID}/{.status.containerStatuses[*].restartCount} {end}' | tr ' ' '\n' | grep -E '^(web|init|pid-true)=' | sort)
expect_eq "same containers, restartCount unchanged" "$before" "$after"
expect_eq "the pod's shims survived" "$shims" "$(pgrep -f "k1s shim $D/agent/containers/$webuid" | sort | tr '\n' ' ')"
check "still Ready after re-adoption" ready web

# ---- delete cleans up everything ----
uid=$(kc get pod web -o jsonpath='{.metadata.uid}')
veths() { nx ip -o link show type veth | wc -l; }
nveth=$(veths)
check "kubectl delete pod returns once the agent removed it" kc delete pod web --timeout=30s
check "no container of the pod is left" eval "! ls $D/agent/containers | grep -q $uid"
check "no pod directory left" test ! -e "$D/agent/pods/$uid"
check "no overlay mount of the pod left" eval "! grep -q $uid /proc/mounts"
expect_eq "its veth is gone" $((nveth - 1)) "$(veths)"
check "its addresses are free" eval "! grep -q $uid $D/agent/ipam/ipam-v4 $D/agent/ipam/ipam-v6"
# ---- a pod removed while no agent ran: its containers are cleaned up ----
ouid=$(kc get pod pid-false -o jsonpath='{.metadata.uid}')
kill -9 $(pgrep -P "$SERVER_PID") $(pgrep -f "k1s agent .*--data-dir $D/agent") 2>/dev/null	# supervisor, agent
kc delete pod pid-false --wait=false >/dev/null 2>&1	# marked
kc delete pod pid-false --wait=false >/dev/null 2>&1	# removed
expect_eq "the pod object is gone while the agent is down" "" "$(kc get pods pid-false -o name 2>/dev/null)"
check "its containers still run" eval "ls $D/agent/containers | grep -q $ouid"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
server_up
orphans_gone() { ! ls "$D/agent/containers" | grep -q "$ouid"; }
check "a restarted agent removes the containers of a pod that is gone" poll 30 orphans_gone
check "... and its pod directory" poll 5 test ! -e "$D/agent/pods/$ouid"

kc delete deployment dep --timeout=30s >/dev/null 2>&1
kc delete pods --all --timeout=60s >/dev/null 2>&1
nothing_left() { [ -z "$(ls "$D/agent/containers")" ] && [ -z "$(kc get pods -o name)" ]; }
check "all pods deleted, nothing left running" poll 60 nothing_left
[ $_failed = 0 ] || { kc get pods -o wide; ls "$D/agent/containers"; } 2>&1 | sed 's/^/# /' 
exit $_failed
