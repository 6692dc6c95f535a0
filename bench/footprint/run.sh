#!/usr/bin/env bash
# bench/footprint - what k1s costs a machine: binary size, time from
# `k1s server` to its node Ready and to a first pod Running, RSS of the
# server + embedded agent (+ shims) idle and with BENCH_PODS pods, idle CPU.
# Printed beside k3s's published figures (its Resource Profiling doc,
# shared/reference/k3s.md): they cannot be measured here (no k3s on the
# machine), so they are quoted, not measured. Never fails on a figure.
#
# Runs in a network namespace of its own, like tests/e2e/pods.test.sh, and
# removes everything it made. BENCH_IDLE_S (default 30) is the idle wait
# before the idle figures; BENCH_PODS (default 100) the loaded pod count.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
K1S=$PWD/$BUILD/k1s
IDLE_S=${BENCH_IDLE_S:-30}
PODS=${BENCH_PODS:-100}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

echo "-- binary"
tmpb=$(mktemp)
cp "$K1S" "$tmpb" && strip "$tmpb" 2>/dev/null
printf '%-44s %s\n' "k1s (dynamic, stripped)" "$(mib $(( $(size_of "$tmpb") / 1024 )))"
rm -f "$tmpb"
if [ -x "$BUILD/k1s-static" ]; then
	tmpb=$(mktemp)
	cp "$BUILD/k1s-static" "$tmpb" && strip "$tmpb" 2>/dev/null
	printf '%-44s %s   (target < 10 MiB; k3s: "< 100 MB")\n' "k1s-static (stripped)" "$(mib $(( $(size_of "$tmpb") / 1024 )))"
	rm -f "$tmpb"
else
	echo "k1s-static: not built (make static)"
fi

if [ "$(id -u)" -ne 0 ] || ! command -v runc >/dev/null || [ ! -x /bin/busybox ]; then
	echo "-- runtime figures skipped: need root, runc and /bin/busybox"
	exit 0
fi

NS=k1s-b-fp$$
CG=k1s-b-fp$$
D=$(mktemp -d /tmp/k1s-bench-fp-XXXXXX)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; }
	for p in $(pgrep -f "k1s agent .*--data-dir $D/agent"); do kill -9 "$p" 2>/dev/null; done
	for p in $(pgrep -f "k1s shim $D/"); do kill -9 "$p" 2>/dev/null; done
	for id in $(runc --root "$D/runc" list -q 2>/dev/null); do runc --root "$D/runc" delete -f "$id" >/dev/null 2>&1; done
	grep " $D" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l 2>/dev/null
	for f in $(find /sys/fs/cgroup/pids/"$CG" -name cgroup.procs 2>/dev/null); do
		for p in $(cat "$f"); do kill -9 "$p" 2>/dev/null; done	# anything left in our cgroups
	done
	sleep 0.5
	for c in /sys/fs/cgroup/*/"$CG"; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
mkdir -p "$D/agent/images/import" "$D/img"
bash tests/images/build.sh "$D/img" >/dev/null && cp "$D/img/busybox.tar" "$D/agent/images/import/"
ip netns add "$NS"
nx() { nsenter --net=/run/netns/"$NS" "$@"; }
nx ip link set lo up
nx ip link add up0 type veth peer name up1
nx ip addr add 192.168.78.2/24 dev up0
nx ip link set up0 up
nx ip link set up1 up
nx ip route add default dev up0
KUBECONFIG=$D/kubeconfig.yaml
kc() { nx kubectl --kubeconfig "$KUBECONFIG" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
NODE=$(hostname | tr 'A-Z' 'a-z')

t0=$(now_ms)
nsenter --net=/run/netns/"$NS" "$K1S" server --data-dir "$D" --https-listen-port 16443 --write-kubeconfig "$KUBECONFIG" \
	--node-ip 192.168.78.2 --agent-arg=--runc-root="$D/runc" --agent-arg=--cgroup-parent=/$CG \
	> "$D/server.log" 2>&1 &
SERVER_PID=$!	# nsenter execs k1s: this is the server
ready() { [ "$(kc get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
until ready; do
	[ $(( $(now_ms) - t0 )) -gt 60000 ] && { echo "node not Ready after 60 s"; tail -5 "$D/server.log"; exit 1; }
	sleep 0.05
done
t_ready=$(( $(now_ms) - t0 ))
pod() { printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers: [{name: c, image: k1s.local/busybox:test, imagePullPolicy: Never, command: [sleep, "100000"]}]\n' "$1"; }
pod first | kc apply -f - >/dev/null
running() { [ "$(kc get pod "$1" -o jsonpath='{.status.phase}' 2>/dev/null)" = Running ]; }
until running first; do
	[ $(( $(now_ms) - t0 )) -gt 120000 ] && { echo "first pod not Running after 120 s"; exit 1; }
	sleep 0.05
done
t_pod=$(( $(now_ms) - t0 ))
echo "-- start-up"
printf '%-44s %d ms   (target < 2 s; k3s: ~25-40 s on a Pi 5, third-party)\n' "k1s server start -> node Ready" "$t_ready"
printf '%-44s %d ms\n' "k1s server start -> first pod Running" "$t_pod"

# RSS of the server, the embedded agent (and its supervisor) and the shims
pids() {
	echo "$SERVER_PID"
	pgrep -f "k1s agent .*--data-dir $D/agent"
	pgrep -f "k1s shim $D/"
}
rss_kib() { local t=0 p r; for p in $(pids); do r=$(awk '/^VmRSS/ {print $2}' /proc/$p/status 2>/dev/null); t=$((t + ${r:-0})); done; echo $t; }
rss_of() { awk '/^VmRSS/ {print $2}' /proc/$1/status 2>/dev/null || echo 0; }
ticks() { local t=0 p; for p in $(pids); do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $t; }

kc delete pod first --wait=false >/dev/null
sleep "$IDLE_S"
c0=$(ticks); sleep 10; c1=$(ticks)
hz=$(getconf CLK_TCK)
agent=$(pgrep -f "k1s agent .*--data-dir $D/agent" | while read -r p; do rss_of "$p"; done | awk '{s += $1} END {print s + 0}')
echo "-- idle (${IDLE_S} s after start, no pods)"
printf '%-44s %s   (target < 30 MiB; k3s: 500-565 MiB idle)\n' "RSS server + embedded agent" "$(mib "$(rss_kib)")"
printf '%-44s %s / %s\n' "  of which server / agent processes" "$(mib "$(rss_of "$SERVER_PID")")" "$(mib "$agent")"
printf '%-44s %s%% of a core   (target < 1%%; k3s agent: 3%%, server 6%%)\n' "idle CPU" \
	"$(awk -v d=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.2f", d * 100 / hz / 10 }')"

for i in $(seq 1 "$PODS"); do pod "p$i"; echo ---; done | kc apply -f - >/dev/null
t1=$(now_ms)
all_running() { [ "$(kc get pods --no-headers 2>/dev/null | grep -c ' Running ')" -ge "$PODS" ]; }
until all_running; do
	[ $(( $(now_ms) - t1 )) -gt 300000 ] && { echo "$PODS pods not Running after 300 s"; break; }
	sleep 0.5
done
sleep 5
echo "-- with $PODS pods (all Running after $(( $(now_ms) - t1 )) ms)"
printf '%-44s %s   (k3s server + workload: 1596 MB p95)\n' "RSS server + agent + shims" "$(mib "$(rss_kib)")"
nshim=$(pgrep -f "k1s shim $D/" | wc -l)
[ "$nshim" -gt 0 ] && printf '%-44s %s (%d shims)\n' "  RSS per shim" \
	"$(mib $(( $(pgrep -f "k1s shim $D/" | while read -r p; do rss_of "$p"; done | awk '{s += $1} END {print s + 0}') / nshim )))" "$nshim"
exit 0
