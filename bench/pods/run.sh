#!/usr/bin/env bash
# bench/pods: pod start latency (create -> Ready) and the agent's memory.
#
#   netns k1s-b-pods<pid>: k1s server + embedded agent (as tests/e2e/pods.test.sh)
#     1, 10 and 100 busybox pods (`sleep`), created with one kubectl apply each
#     round; latency per pod = its first Ready=True watch event minus its ADDED
#     event (both seen by one `kubectl get pods -w`), p50 and p99
#   status writes per pod: the MODIFIED watch events of each pod (nothing
#     but the agent's status writes modify these pods), averaged
#   the floor: `runc run -d` of the same container (same image rootfs, same
#     runc), sequentially, and the largest round's count started at once
#     (as many at a time as the agent starts: 2 per CPU, at most 16; latency
#     of each from the start of the batch), measured in the same run
#   RSS: the agent idle (no pods) and with 100 pods; the shims' average
# Needs root, runc, ip netns; prints a skip line otherwise. Never fails on a
# time. About a minute. BENCH_PODS_MAX sets the largest round (default 100).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
K1S=$PWD/$BUILD/k1s
MAX=${BENCH_PODS_MAX:-100}
if [ "$(id -u)" -ne 0 ] || ! command -v runc >/dev/null || ! ip netns list >/dev/null 2>&1 ||
	! command -v kubectl >/dev/null; then
	echo "bench/pods: skipped (needs root, runc, kubectl and ip netns)"
	exit 0
fi
NS=k1s-b-pods$$
CG=k1s-b-pods$$
D=$(mktemp -d /tmp/k1s-bench-pods-XXXXXX)
SERVER=
cleanup() {
	[ -n "$SERVER" ] && { kill "$SERVER"; wait "$SERVER"; } 2>/dev/null
	for p in $(pgrep -f "k1s agent .*--data-dir $D/agent"); do kill -9 "$p"; done
	for p in $(pgrep -f "k1s shim $D/"); do kill -9 "$p"; done
	for id in $(runc --root "$D/runc" list -q 2>/dev/null) $(runc --root "$D/raw" list -q 2>/dev/null); do
		runc --root "$D/runc" delete -f "$id" 2>/dev/null; runc --root "$D/raw" delete -f "$id" 2>/dev/null
	done
	grep " $D" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l
	for c in /sys/fs/cgroup/*/$CG; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; ; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$D"
} 2>/dev/null
trap cleanup EXIT
nx() { nsenter --net=/run/netns/"$NS" "$@"; }
mkdir -p "$D/agent/images/import" "$D/img"
bash tests/images/build.sh "$D/img" >/dev/null
cp "$D/img/busybox.tar" "$D/agent/images/import/"
ip netns add "$NS"
nx ip link set lo up
nx ip link add up0 type veth peer name up1
nx ip addr add 192.168.77.2/24 dev up0
nx ip addr add fd77::2/64 dev up0 nodad
nx ip link set up0 up; nx ip link set up1 up
nx ip route add default dev up0; nx ip -6 route add default dev up0
KUBECONFIG=$D/kubeconfig.yaml
nsenter --net=/run/netns/"$NS" "$K1S" server --data-dir "$D" --https-listen-port 16444 \
	--write-kubeconfig "$KUBECONFIG" --ready-file "$D/ready" --node-ip 192.168.77.2 --node-ip fd77::2 \
	--agent-arg=--runc-root="$D/runc" --agent-arg=--cgroup-parent=/$CG > "$D/server.log" 2>&1 &
SERVER=$!
kc() { nx kubectl --kubeconfig "$KUBECONFIG" "$@"; }
NODE=$(hostname | tr 'A-Z' 'a-z')
ready=
for _ in $(seq 200); do
	[ "$(kc get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] &&
		[ -n "$(kc get node "$NODE" -o jsonpath='{.spec.podCIDRs}' 2>/dev/null)" ] && { ready=1; break; }
	sleep 0.1
done
[ -n "$ready" ] || { echo "bench/pods: the node did not become Ready"; exit 1; }
sleep 2	# the agent settles (images imported, bridge up)
agent_pid() { pgrep -f "k1s agent .*--data-dir $D/agent" | head -1; }
rss_kib() { awk '/^VmRSS/ {print $2}' /proc/"$1"/status; }
idle_rss=$(rss_kib "$(agent_pid)")

pct() { # P FILE: the P-th percentile (nearest rank) of the numbers in FILE
	sort -n "$2" | awk -v p="$1" '{v[NR]=$1} END {i=int((p*NR+99)/100); if (i<1) i=1; print v[i]}'
}

round() { # N
	local n=$1 f=$D/pods-$n.yaml ev=$D/events-$n
	: > "$f"
	for i in $(seq "$n"); do
		cat >> "$f" <<Y
---
apiVersion: v1
kind: Pod
metadata: {name: b$n-$i, labels: {bench: "r$n"}}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 0
  containers: [{name: c, image: k1s.local/busybox:test, command: [sleep, "3600"]}]
Y
	done
	rm -f "$D/fifo"; mkfifo "$D/fifo"
	nsenter --net=/run/netns/"$NS" kubectl --kubeconfig "$KUBECONFIG" get pods -l bench=r$n -w \
		--output-watch-events -o jsonpath='{.type} {.object.metadata.name} {.object.status.conditions[?(@.type=="Ready")].status}{"\n"}' \
		> "$D/fifo" 2>/dev/null &
	local w=$!	# nsenter execs kubectl
	while read -r t name st; do echo "$(date +%s%N) $t $name $st"; done < "$D/fifo" > "$ev" &
	local r=$!
	sleep 0.5
	kc apply -f "$f" >/dev/null
	for _ in $(seq 1200); do
		[ "$(awk '$4 == "True" {print $3}' "$ev" | sort -u | wc -l)" -ge "$n" ] && break
		sleep 0.1
	done
	kill "$w" 2>/dev/null; wait "$w" "$r" 2>/dev/null
	awk '$2 == "ADDED" && !($3 in a) {a[$3]=$1}
	     $4 == "True" && !($3 in r) {r[$3]=$1}
	     END {for (k in r) if (k in a) printf "%.1f\n", (r[k]-a[k])/1e6}' "$ev" > "$D/lat-$n"
	printf "pods %-4s create->Ready  p50 %7.1f ms  p99 %7.1f ms  (%s Ready, %s status writes/pod)\n" "$n" \
		"$(pct 50 "$D/lat-$n")" "$(pct 99 "$D/lat-$n")" "$(wc -l < "$D/lat-$n")" \
		"$(awk '$2 == "MODIFIED" {m[$3]++} END {for (k in m) {t += m[k]; c++} printf "%.1f", c ? t / c : 0}' "$ev")"
}

for n in 1 10 "$MAX"; do
	round "$n"
	if [ "$n" = "$MAX" ]; then
		a=$(agent_pid)
		shims=$(pgrep -f "k1s shim $D/")
		tot=0; pss=0; cnt=0
		for s in $shims; do
			tot=$((tot + $(rss_kib "$s"))); cnt=$((cnt + 1))
			pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/"$s"/smaps_rollup)))
		done
		echo "agent RSS idle $((idle_rss / 1024)).$(( (idle_rss % 1024) * 10 / 1024 )) MiB, with $n pods $(( $(rss_kib "$a") / 1024 )).$(( ($(rss_kib "$a") % 1024) * 10 / 1024 )) MiB; shims $cnt, average RSS $((tot / (cnt ? cnt : 1))) KiB, Pss $((pss / (cnt ? cnt : 1))) KiB ($(basename "$(readlink /proc/"${shims%%$'\n'*}"/exe)"))"
	fi
	kc delete pods -l bench=r$n --wait=false >/dev/null 2>&1
	for _ in $(seq 600); do [ -z "$(ls "$D/agent/containers")" ] && break; sleep 0.2; done
done

# the floor: runc run -d of the same container, 10 times
mkdir -p "$D/raw"
"$K1S" images --data-dir "$D" mount k1s.local/busybox:test "$D/bundle" >/dev/null
(cd "$D/bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"sleep", "3600"/' config.json)
: > "$D/lat-raw"
for i in $(seq 10); do
	t0=$(date +%s%N)
	runc --root "$D/raw" run -d --bundle "$D/bundle" raw$i > /dev/null 2>&1 < /dev/null
	t1=$(date +%s%N)
	echo "$(( (t1 - t0) / 100000 ))" | awk '{printf "%.1f\n", $1/10}' >> "$D/lat-raw"
	runc --root "$D/raw" delete -f raw$i >/dev/null 2>&1
done
printf "runc run -d (floor)   p50 %7.1f ms  p99 %7.1f ms  (10 sequential)\n" "$(pct 50 "$D/lat-raw")" "$(pct 99 "$D/lat-raw")"
# the floor of the largest round: MAX containers at once, PAR at a time
PAR=$(( $(nproc) * 2 > 16 ? 16 : $(nproc) * 2 ))
t0=$(date +%s%N)
seq "$MAX" | xargs -P "$PAR" -I{} sh -c 'runc --root "$1/raw" run -d --bundle "$1/bundle" par{} >/dev/null 2>&1 </dev/null; echo $(date +%s%N)' _ "$D" |
	awk -v t0="$t0" '{printf "%.1f\n", ($1 - t0) / 1e6}' > "$D/lat-par"
printf "runc run -d x%-4s     p50 %7.1f ms  p99 %7.1f ms  (%s at a time, from the batch start)\n" "$MAX" \
	"$(pct 50 "$D/lat-par")" "$(pct 99 "$D/lat-par")" "$PAR"
for i in $(seq "$MAX"); do runc --root "$D/raw" delete -f par$i >/dev/null 2>&1; done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (other work shares the machine)"
"$K1S" images --data-dir "$D" unmount "$D/bundle" >/dev/null
