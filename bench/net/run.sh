#!/usr/bin/env bash
# bench/net/run.sh - the pod network, measured (run by bench/run.sh; needs
# root, runc, kubectl, iperf3; prints figures, never fails on a time):
#  1. the overlay's control plane: build/bench-net (bench/net/overlay.c);
#  2. pod-to-pod TCP throughput (iperf3, 3 s) and latency (ping, 20 x),
#     same node and across nodes over VXLAN, on a 2-node cluster from
#     tests/e2e/multinode.sh, next to the same between two plain
#     veth-connected namespaces measured in the same run;
#  3. time from pod creation to its IP being reachable from another node.
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
export K1S_BIN=${K1S_BIN:-$PWD/$BUILD/k1s}

echo "-- overlay control plane (bench-net)"
"$BUILD/bench-net" || echo "bench-net could not run"

if [ "$(id -u)" != 0 ] || ! command -v iperf3 >/dev/null || ! command -v runc >/dev/null; then
	echo "-- data plane: skipped (needs root, runc and iperf3)"
	exit 0
fi
. tests/e2e/multinode.sh
K1S=$K1S_BIN

# tput DESC RUNNER...: iperf3 client throughput to $dst, in Gbit/s
tput() {
	"$@" iperf3 -c "$dst" -t 3 -J 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' 2>/dev/null ||
		echo "n/a"
}
# rtt RUNNER...: average ping round trip to $dst, in ms
rtt() { "$@" busybox ping -q -c 20 -i 0.05 "$dst" 2>/dev/null | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p'; }
row() { printf '%-34s %10s Gbit/s %10s ms\n' "$1" "$2" "$3"; }

# the reference: two namespaces joined by a veth pair, nothing else
ref=k1s-t-$$-ref
on_exit "ip netns del $ref-a; ip netns del $ref-b"
ip netns add "$ref-a" && ip netns add "$ref-b"
ip link add k1st$$ra netns "$ref-a" type veth peer name k1st$$rb netns "$ref-b"
ip -n "$ref-a" addr add 10.99.0.1/24 dev k1st$$ra && ip -n "$ref-a" link set k1st$$ra up
ip -n "$ref-b" addr add 10.99.0.2/24 dev k1st$$rb && ip -n "$ref-b" link set k1st$$rb up
ip netns exec "$ref-b" iperf3 -s -D -1 --logfile /dev/null
on_exit "pkill -f 'iperf3 -s -D -1 --logfile /dev/null'"
sleep 0.3
dst=10.99.0.2
echo "-- data plane (TCP, 1 stream; ping avg)"
row "reference: veth pair" "$(tput ip netns exec "$ref-a")" "$(rtt ip netns exec "$ref-a")"

MN_IMAGES=1
mn_start 2 >/dev/null || { echo "cluster did not start"; exit 1; }
mn_pod 1 a1; mn_pod 1 a2; mn_pod 2 b
poll 60 eval "mn_pod_running a1 && mn_pod_running a2 && mn_pod_running b" || { echo "pods did not start"; exit 1; }
for p in "1 a2" "2 b"; do
	set -- $p
	(mn_pod_x "$1" "$2" iperf3 -s --logfile "$MN_DIR/iperf-$2.log" >/dev/null 2>&1 &)
done
sleep 0.5
for f in 4 6; do
	dst=$(mn_pod_ip a2 $f)
	row "IPv$f pod to pod, same node" "$(tput mn_pod_x 1 a1)" "$(rtt mn_pod_x 1 a1)"
	dst=$(mn_pod_ip b $f)
	row "IPv$f pod to pod, across (VXLAN)" "$(tput mn_pod_x 1 a1)" "$(rtt mn_pod_x 1 a1)"
done

# pod creation -> reachable from the other node (scheduling, image,
# sandbox, veth, addresses; the overlay route already exists)
t0=$(date +%s%N)
mn_pod 2 c
poll 60 eval 'ip=$(mn_pod_ip c 4) && [ -n "$ip" ] && mn_x 1 busybox ping -c1 -W1 "$ip"' >/dev/null
echo "-- pod created -> pingable from another node: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
echo "-- netlink requests of the overlay: see 'netlink' above (per sync; the entries per peer are 3 per family)"
