#!/usr/bin/env bash
# bench/dns/cluster.sh: the cluster DNS as the agent runs it (informers on
# Services/EndpointSlices/Pods feeding the zone, plus the server), against a
# real `k1s server` on loopback: RSS with 1,000 and 10,000 services, and the
# update latency (Service created -> answerable). ~30 s; figures only.
# BENCH_DNS_SERVICES overrides the sizes (default "1000 10000").
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
tmp=$(mktemp -d /tmp/k1s-bench-dnsfeed-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && { kill "$pid"; wait "$pid"; } 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
"$BUILD/k1s" server --disable-agent --data-dir "$tmp" --https-listen-port "$port" \
	--write-kubeconfig "$tmp/kubeconfig.yaml" --ready-file "$tmp/ready" >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -f "$tmp/ready" ] && break; sleep 0.1; done
[ -f "$tmp/ready" ] || { echo "dns feed bench: server did not start"; exit 1; }
for n in ${BENCH_DNS_SERVICES:-1000 10000}; do
	echo "k1s DNS fed from the API, $n services:"
	"$BUILD/dns-feed-bench" "$tmp/kubeconfig.yaml" "$n" 2>/dev/null || echo "  failed"
done
