#!/usr/bin/env bash
# bench/dns: queries per second on one server core, loopback UDP.
#
#   dns-bench (cpu 1) ──UDP──> dns-serve (cpu 0; 10,000 services + a headless one)
#                                 └── forwards *.example.test ──> dns-serve "upstream"
#
# Three kinds of names: a ClusterIP A record, the SRV of a headless service
# (3 endpoints), and a forwarded name answered from the cache. The same
# three, in the same run, against dnsmasq and unbound (Debian) when
# installed, serving the same records (dnsmasq: a hosts file and
# --srv-host lines; unbound: local-data in a config made in the temp dir,
# run in the foreground on loopback) and forwarding to the same upstream.
# The load comes from dnsperf (Debian package dnsperf; QPS and its mean /
# max latency) when installed, else from our dns-bench (QPS, p50 and p99);
# BENCH_DNS_TOOL=dns-bench forces the latter. CoreDNS is not on this
# machine: its published figure (~17.7k QPS per core, from
# /work/shared/reference/networking.md) is printed for comparison.
# Never fails on a time; ~40 s. BENCH_DNS_SECONDS sets each run (default 3).
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
# true once something answers DNS on 127.0.0.1:PORT
answers() { "$BUILD/dns-bench" -d 0.2 127.0.0.1 "$1" web.default.svc.cluster.local A 2>/dev/null | grep -q 'ok=[1-9]'; }
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

tool=${BENCH_DNS_TOOL:-dnsperf}
command -v dnsperf >/dev/null || tool=dns-bench
# dnsperf's summary in one line: qps, mean and max latency
perf() { # PORT NAME TYPE
	echo "$2 $3" > "$tmp/q.txt"
	cpu1 dnsperf -s 127.0.0.1 -p "$1" -d "$tmp/q.txt" -l "$secs" -c 8 -q 200 2>&1 | awk '
		/Queries completed:/ { ok = $3 } /Queries lost:/ { lost = $3 }
		/Queries per second:/ { qps = $4 }
		/Average Latency/ { avg = $4; max = $8; sub(/\)/, "", max) }
		END { if (qps == "") exit 1
		      printf "qps=%d ok=%d lost=%d mean_us=%.0f max_us=%.0f\n", qps, ok, lost, avg * 1e6, max * 1e6 }'
}
run() { # LABEL PORT NAME TYPE
	local r
	if [ "$tool" = dnsperf ]; then
		r=$(perf "$2" "$3" "$4" || echo failed)
	else
		r=$(cpu1 "$BUILD/dns-bench" -d "$secs" 127.0.0.1 "$2" "$3" "$4" || echo failed)
	fi
	printf '%-44s %s\n' "$1" "$r"
}
echo "load generator: $tool (1 core), servers on the other core"
# another server (PID) on PORT: once it answers, the three names and its RSS
compare() { # TITLE PORT PID
	for _ in $(seq 100); do answers "$2" && break; sleep 0.1; done
	echo "$1"
	run "  A    web.default.svc.cluster.local" "$2" web.default.svc.cluster.local A
	run "  SRV  _pg._tcp.db.default.svc (3 targets)" "$2" _pg._tcp.db.default.svc.cluster.local SRV
	run "  A    $fwd (forwarded, cached)" "$2" "$fwd" A
	echo "  RSS $(awk '/VmRSS/ {print $2, $3}' "/proc/$3/status")"
	kill "$3"
}
# the same records for dnsmasq and unbound: 10,000 synthetic services + ours
synthetic() { for i in $(seq 0 9999); do echo "10.44.$((i / 256)).$((i % 256)) s$i.synthetic.svc.cluster.local"; done; }
echo "k1s dns-serve (1 core, 10,000 services):"
run "  A    web.default.svc.cluster.local" "$port" web.default.svc.cluster.local A
run "  SRV  _pg._tcp.db.default.svc (headless, 3)" "$port" _pg._tcp.db.default.svc.cluster.local SRV
run "  A    $fwd (forwarded, cached)" "$port" "$fwd" A
echo "  RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$k1s_pid/status)"
kill "$k1s_pid"

if command -v dnsmasq >/dev/null; then
	synthetic > "$tmp/hosts"
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
	dm_pid=$!
	pids+=($dm_pid)
	compare "dnsmasq $(dnsmasq --version | head -n 1 | awk '{print $3}') (1 core, same records):" "$dport" "$dm_pid"
else
	echo "dnsmasq: not installed (apt-get install dnsmasq-base), skipped"
fi

# unbound: local-data for the same records, in the foreground on loopback,
# its config, state and logs in the temp dir (no system service is used)
if command -v unbound >/dev/null; then
	uport=$((20000 + RANDOM % 20000))
	{
		printf 'server:\n\tinterface: 127.0.0.1\n\tport: %s\n\tdo-daemonize: no\n' "$uport"
		printf '\tuse-syslog: no\n\tlogfile: ""\n\tusername: ""\n\tchroot: ""\n\tpidfile: ""\n'
		printf '\tdirectory: "%s"\n\tnum-threads: 1\n\tdo-ip6: no\n\tmodule-config: "iterator"\n' "$tmp"
		printf '\tdo-not-query-localhost: no\n\tqname-minimisation: no\n\taccess-control: 127.0.0.0/8 allow\n'
		# example.test (the forwarded name) is one of unbound's default local zones
		printf '\tlocal-zone: "test." nodefault\n\tlocal-zone: "cluster.local." static\n'
		printf '\tlocal-data: "web.default.svc.cluster.local. 5 IN A 10.43.0.15"\n'
		for i in 0 1 2; do
			printf '\tlocal-data: "db-%s.db.default.svc.cluster.local. 5 IN A 10.42.1.1%s"\n' "$i" "$i"
			printf '\tlocal-data: "_pg._tcp.db.default.svc.cluster.local. 5 IN SRV 0 33 5432 db-%s.db.default.svc.cluster.local."\n' "$i"
		done
		synthetic | awk '{ printf "\tlocal-data: \"%s. 5 IN A %s\"\n", $2, $1 }'
		printf 'remote-control:\n\tcontrol-enable: no\n'
		printf 'forward-zone:\n\tname: "example.test."\n\tforward-addr: 127.0.0.1@%s\n' "$up"
	} > "$tmp/unbound.conf"
	cpu0 unbound -d -c "$tmp/unbound.conf" 2>"$tmp/unbound.log" &
	ub_pid=$!
	pids+=($ub_pid)
	compare "unbound $(unbound -V 2>/dev/null | awk '/^Version/ {print $2}') (1 core, same records as local-data):" "$uport" "$ub_pid"
else
	echo "unbound: not installed (apt-get install unbound), skipped"
fi
echo "CoreDNS (published, not run here): ~17,700 QPS per core for cluster names"
BUILD="$BUILD" bench/dns/cluster.sh
exit 0
