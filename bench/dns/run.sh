#!/usr/bin/env bash
# bench/dns: queries per second on one server core, loopback UDP.
#
#   dns-bench (cpu 1) ──UDP──> dns-serve (cpu 0; 10,000 services + a headless one)
#                                 └── forwards *.example.test ──> dns-serve "upstream"
#
# Three kinds of names: a ClusterIP A record, the SRV of a headless service
# (3 endpoints), and a forwarded name answered from the cache. The same
# three against dnsmasq (Debian) when installed, serving the same records
# from a hosts file, --srv-host lines and the same upstream. CoreDNS is not
# on this machine: its published figure (~17.7k QPS per core, from
# /work/shared/reference/networking.md) is printed for comparison.
# Never fails on a time; ~20 s. BENCH_DNS_SECONDS sets each run (default 3).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
secs=${BENCH_DNS_SECONDS:-3}
tmp=$(mktemp -d /tmp/k1s-bench-dns-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

cpu0() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then exec taskset -c 0 "$@"; else exec "$@"; fi; }
cpu1() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then taskset -c 1 "$@"; else "$@"; fi; }
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

cat > "$tmp/zone.json" <<'EOF'
{"services": [
  {"name": "web", "namespace": "default", "clusterIPs": ["10.43.0.15"],
   "ports": [{"name": "http", "protocol": "TCP", "port": 80}]},
  {"name": "db", "namespace": "default", "headless": true,
   "ports": [{"name": "pg", "protocol": "TCP", "port": 5432}],
   "endpoints": [{"ip": "10.42.1.10", "hostname": "db-0"}, {"ip": "10.42.1.11", "hostname": "db-1"},
                 {"ip": "10.42.1.12", "hostname": "db-2"}]}]}
EOF
echo '{}' > "$tmp/empty.json"

# the "upstream": another dns-serve, authoritative for example.test
"$BUILD/dns-serve" --domain example.test "$tmp/empty.json" "$tmp/up.ports" 127.0.0.1:0 2>/dev/null &
pids+=($!)
wait_file "$tmp/up.ports" || { echo "dns bench: upstream did not start"; exit 1; }
read -r up < "$tmp/up.ports"
echo "nameserver 127.0.0.1" > "$tmp/resolv.conf"
fwd=web.default.svc.example.test

cpu0 "$BUILD/dns-serve" --resolv-conf "$tmp/resolv.conf" --upstream-port "$up" --synthetic 10000 \
	"$tmp/zone.json" "$tmp/k1s.ports" 127.0.0.1:0 2>/dev/null &
k1s_pid=$!
pids+=($k1s_pid)
wait_file "$tmp/k1s.ports" || { echo "dns bench: dns-serve did not start"; exit 1; }
read -r port < "$tmp/k1s.ports"
# the upstream needs the forwarded name
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null
cat > "$tmp/up.json" <<'EOF'
{"services": [{"name": "web", "namespace": "default", "clusterIPs": ["192.0.2.7"]}]}
EOF
rm -f "$tmp/up.ports"
"$BUILD/dns-serve" --domain example.test "$tmp/up.json" "$tmp/up.ports" "127.0.0.1:$up" 2>/dev/null &
pids[0]=$!
wait_file "$tmp/up.ports" || { echo "dns bench: upstream did not restart"; exit 1; }

run() { # LABEL PORT NAME TYPE
	printf '%-44s %s\n' "$1" "$(cpu1 "$BUILD/dns-bench" -d "$secs" 127.0.0.1 "$2" "$3" "$4" || echo failed)"
}
echo "k1s dns-serve (1 core, 10,000 services):"
run "  A    web.default.svc.cluster.local" "$port" web.default.svc.cluster.local A
run "  SRV  _pg._tcp.db.default.svc (headless, 3)" "$port" _pg._tcp.db.default.svc.cluster.local SRV
run "  A    $fwd (forwarded, cached)" "$port" "$fwd" A
echo "  RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$k1s_pid/status)"
kill "$k1s_pid"

if command -v dnsmasq >/dev/null; then
	for i in $(seq 0 9999); do echo "10.44.$((i / 256)).$((i % 256)) s$i.synthetic.svc.cluster.local"; done > "$tmp/hosts"
	echo "10.43.0.15 web.default.svc.cluster.local" >> "$tmp/hosts"
	for i in 0 1 2; do echo "10.42.1.1$i db-$i.db.default.svc.cluster.local" >> "$tmp/hosts"; done
	dport=$((20000 + RANDOM % 20000))
	srv=""
	for i in 0 1 2; do srv="$srv --srv-host=_pg._tcp.db.default.svc.cluster.local,db-$i.db.default.svc.cluster.local,5432,0,33"; done
	# shellcheck disable=SC2086
	cpu0 dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--addn-hosts="$tmp/hosts" --port="$dport" --listen-address=127.0.0.1 --bind-interfaces \
		--server="127.0.0.1#$up" --cache-size=10000 --local-ttl=5 --user=root --pid-file= $srv \
		2>"$tmp/dnsmasq.log" &
	pids+=($!)
	sleep 0.5
	echo "dnsmasq $(dnsmasq --version | head -n 1 | awk '{print $3}') (1 core, same records):"
	run "  A    web.default.svc.cluster.local" "$dport" web.default.svc.cluster.local A
	run "  SRV  _pg._tcp.db.default.svc (3 targets)" "$dport" _pg._tcp.db.default.svc.cluster.local SRV
	run "  A    $fwd (forwarded, cached)" "$dport" "$fwd" A
else
	echo "dnsmasq: not installed (apt-get install dnsmasq-base), skipped"
fi
echo "CoreDNS (published, not run here): ~17,700 QPS per core for cluster names"
BUILD="$BUILD" bench/dns/cluster.sh
exit 0
