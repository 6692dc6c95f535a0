#!/usr/bin/env bash
# k1s agent: node registration, Lease heartbeat, node status conditions, and
# the embedded agent of `k1s server`. Every process started here is killed at
# the end, even on failure. The agents run in the host namespace:
# --network-backend none keeps the overlay and its nftables table out of it
# (tests/e2e/net.test.sh covers them).
. "$(dirname "$0")/cluster.sh"
# this suite runs in the host's network namespace: no cluster DNS link there
export K1S_DISABLE_DNS=true

tmpdir dir
server_start "$dir" --node-monitor-grace-period 3s || { not_ok "server starts"; exit 1; }
ok "server starts"

AGENT_PID=
agent_start() { # EXTRA FLAGS...
	"$K1S" agent --kubeconfig "$KUBECONFIG" --network-backend none --node-name a1 --node-ip 10.77.0.5 --node-ip fd77::5 \
		--node-label topology.kubernetes.io/zone=z1 --data-dir "$dir/agent" \
		--lease-renew-interval 1000 --node-status-check-interval 500 --disable-pods "$@" >> "$dir/agent.log" 2>&1 &
	AGENT_PID=$!
	on_exit "kill -9 $AGENT_PID; wait $AGENT_PID"
}
agent_stop() {
	kill "$AGENT_PID" 2>/dev/null
	poll 5 eval "! kill -0 $AGENT_PID 2>/dev/null"
}
on_exit "[ \$_failed = 0 ] || { echo '# agent log (tail):'; tail -n 20 '$dir/agent.log' | sed 's/^/# /'; }"

cond() { kc get node "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}"; }
node_ready() { [ "$(cond "$1" Ready status)" = True ]; }

agent_start
check "agent registers a Ready node" poll 10 node_ready a1
wide=$(kc get nodes -o wide --no-headers | grep '^a1 ')
check "kubectl get nodes -o wide shows Ready and the internal IP" \
	eval "echo '$wide' | grep -q ' Ready ' && echo '$wide' | grep -q ' 10.77.0.5 '"
expect_eq "both InternalIPs" "10.77.0.5 fd77::5" \
	"$(kc get node a1 -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')"
expect_eq "capacity pods" 110 "$(kc get node a1 -o jsonpath='{.status.capacity.pods}')"
check "capacity cpu and memory" eval "[ -n \"\$(kc get node a1 -o jsonpath='{.status.capacity.cpu}')\" ] &&
	kc get node a1 -o jsonpath='{.status.allocatable.memory}' | grep -q 'Ki\$'"
expect_eq "nodeInfo os/arch" "linux $(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')" \
	"$(kc get node a1 -o jsonpath='{.status.nodeInfo.operatingSystem} {.status.nodeInfo.architecture}')"
expect_eq "kubeletVersion is the server's gitVersion" \
	"$(kc version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\([^"]*\)".*/\1/p' | tail -n1)" \
	"$(kc get node a1 -o jsonpath='{.status.nodeInfo.kubeletVersion}')"
check "containerRuntimeVersion is runc://" eval "kc get node a1 -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}' | grep -q '^runc://'"
expect_eq "well-known and --node-label labels" "a1 linux z1" \
	"$(kc get node a1 -o jsonpath='{.metadata.labels.kubernetes\.io/hostname} {.metadata.labels.kubernetes\.io/os} {.metadata.labels.topology\.kubernetes\.io/zone}')"
check "the not-ready taint is removed once Ready" \
	poll 5 eval "! kc get node a1 -o jsonpath='{.spec.taints}' | grep -q not-ready"
expect_eq "Ready reason" "KubeletReady" "$(cond a1 Ready reason)"
expect_eq "MemoryPressure False" "False KubeletHasSufficientMemory" "$(cond a1 MemoryPressure status) $(cond a1 MemoryPressure reason)"
uid=$(kc get node a1 -o jsonpath='{.metadata.uid}')

lease() { kc -n kube-node-lease get lease a1 -o jsonpath="$1"; }
check "lease exists" poll 5 lease '{.spec.holderIdentity}'
expect_eq "lease holder and duration" "a1 40" "$(lease '{.spec.holderIdentity} {.spec.leaseDurationSeconds}')"
expect_eq "lease owned by the node" "Node a1 $uid" "$(lease '{.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].uid}')"
t1=$(lease '{.spec.renewTime}')
check "lease renewTime advances" poll 5 eval "[ \"\$(lease '{.spec.renewTime}')\" != '$t1' ]"

# a stopped agent: the node controller marks the node Unknown; back, it posts Ready at once
kill -STOP "$AGENT_PID"
check "a silent agent's node goes Unknown after the grace period" poll 15 eval "[ \"\$(cond a1 Ready status)\" = Unknown ]"
kill -CONT "$AGENT_PID"
check "... and Ready again as soon as the agent is back" poll 8 node_ready a1
check "agent stops on SIGTERM" agent_stop
# provoked pressure: thresholds no machine meets turn each condition True,
# and the node lifecycle controller taints the node for each
taints() { kc get node a1 -o jsonpath='{range .spec.taints[*]}{.key}:{.effect} {end}'; }
pressure() { # STATUS: the three conditions, and their taints present (True) or gone (False)
	local c t want=$1
	for c in MemoryPressure:memory DiskPressure:disk PIDPressure:pid; do
		[ "$(cond a1 "${c%%:*}" status)" = "$want" ] || return 1
		t=" node.kubernetes.io/${c#*:}-pressure:NoSchedule "
		case " $(taints)" in *"$t"*) [ "$want" = True ] || return 1 ;; *) [ "$want" = False ] || return 1 ;; esac
	done
}
agent_start --eviction-hard 'memory.available<1000Ti,nodefs.available<1000Ti,pid.available<4000000000'
check "too-low thresholds give MemoryPressure, DiskPressure and PIDPressure True, each tainted" \
	poll 15 pressure True
expect_eq "pressure reasons" "KubeletHasInsufficientMemory KubeletHasDiskPressure KubeletHasInsufficientPID" \
	"$(cond a1 MemoryPressure reason) $(cond a1 DiskPressure reason) $(cond a1 PIDPressure reason)"
expect_eq "restarted agent re-uses the node" "$uid" "$(kc get node a1 -o jsonpath='{.metadata.uid}')"
check "node stays Ready under pressure" node_ready a1
agent_stop
agent_start --eviction-hard 'memory.available<1Ki,nodefs.available<1Ki,pid.available<1'
check "relaxed thresholds: the three conditions False again and their taints removed" \
	poll 15 pressure False
expect_eq "relieved reasons" "KubeletHasSufficientMemory KubeletHasNoDiskPressure KubeletHasSufficientPID" \
	"$(cond a1 MemoryPressure reason) $(cond a1 DiskPressure reason) $(cond a1 PIDPressure reason)"
agent_stop
expect_fail "agent without --kubeconfig fails" 2 "$K1S" agent
expect_fail "agent rejects a bad --node-ip" 1 "$K1S" agent --kubeconfig "$KUBECONFIG" --node-ip 1.2.3 --data-dir "$dir/agent"
expect_fail "agent rejects a bad --eviction-hard" 1 "$K1S" agent --kubeconfig "$KUBECONFIG" --eviction-hard 'memory.free<1' --data-dir "$dir/agent"
server_stop

# ---- the embedded agent of k1s server ----
tmpdir dir2
on_exit "for p in \$(pgrep -f '$dir2'); do kill -9 \$p; done"
P2=$(free_port)
# host network namespace: the embedded agent registers its node but runs no pods
"$K1S" server --agent-arg=--network-backend=none --data-dir "$dir2" --https-listen-port "$P2" --write-kubeconfig "$dir2/kubeconfig.yaml" \
	--ready-file "$dir2/ready" --agent-arg=--disable-pods > "$dir2/server.log" 2>&1 &
S2=$!
on_exit "kill -9 $S2; wait $S2"
on_exit "[ \$_failed = 0 ] || { echo '# server 2 log (tail):'; tail -n 20 '$dir2/server.log' | sed 's/^/# /'; }"
KUBECONFIG=$dir2/kubeconfig.yaml
# the kubeconfig is written once the API listens: usable the moment it exists
check "the server writes its kubeconfig" poll 20 test -s "$dir2/kubeconfig.yaml"
check "... and the API answers at once" kc get --raw /version
check "server with the embedded agent starts" poll 20 test -f "$dir2/ready"
host=$(hostname | tr 'A-Z' 'a-z')
check "embedded agent registers the server's node" poll 15 node_ready "$host"
expect_eq "control-plane role label" true \
	"$(kc get node "$host" -o jsonpath='{.metadata.labels.node-role\.kubernetes\.io/control-plane}')"
check "kubectl shows the control-plane role" eval "kc get nodes --no-headers | grep -q '^$host .*control-plane'"
agent_pid() { pgrep -f "agent --kubeconfig $dir2/kubeconfig.yaml" | head -n1; }
a1=$(agent_pid)
check "the embedded agent is a separate process" test -n "$a1"
kill -9 "$a1" 2>/dev/null
check "a crashed embedded agent is restarted" poll 10 eval "[ -n \"\$(agent_pid)\" ] && [ \"\$(agent_pid)\" != '$a1' ]"
kill "$S2"
check "server exits on SIGTERM" poll 10 eval "! kill -0 $S2 2>/dev/null"
check "the embedded agent stops with the server" poll 5 eval "[ -z \"\$(pgrep -f '$dir2')\" ]"
exit $_failed
