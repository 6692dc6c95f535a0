#!/usr/bin/env bash
# The cluster DNS server end to end, on loopback only:
#
#   python3 client ──UDP/TCP──> dns-serve (127.0.0.1:P4, [::1]:P6)
#                                  │ zone from zone.json
#                                  └──UDP──> fake upstream (127.0.0.1:U)
#
# dns-serve (tests/e2e/dns-serve.c) serves dns/ from a JSON zone; the fake
# upstream is a python3 UDP server answering every name 192.0.2.7 and
# logging each query, so caching is visible. busybox nslookup cannot pick a
# port, so queries are raw DNS messages from python3.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}

if ! make -s BUILD="$BUILD" "$BUILD/dns-serve" >/dev/null 2>"$BUILD/dns-serve-build.log"; then
	not_ok "dns-serve builds" "$(tail -n 3 "$BUILD/dns-serve-build.log" | tr '\n' ' ')"
	exit 1
fi
tmpdir T

cp tests/e2e/dnsq.py "$T/dns.py"

cat > "$T/zone.json" <<'EOF'
{"services": [
  {"name": "web", "namespace": "default", "clusterIPs": ["10.43.0.15", "fd43::15"],
   "ports": [{"name": "http", "protocol": "TCP", "port": 80}]},
  {"name": "v4only", "namespace": "default", "clusterIPs": ["10.43.0.20"]},
  {"name": "db", "namespace": "default", "headless": true,
   "ports": [{"name": "pg", "protocol": "TCP", "port": 5432}],
   "endpoints": [{"ip": "10.42.1.10", "hostname": "db-0"}, {"ip": "10.42.2.11", "hostname": "db-1"},
                 {"ip": "10.42.2.12", "hostname": "db-2", "ready": false}]},
  {"name": "ext", "namespace": "default", "externalName": "example.org"}],
 "pods": [{"name": "p", "namespace": "default", "ips": ["10.42.0.5", "fd42::5"]}]}
EOF

# the fake upstream
echo "nameserver 127.0.0.1" > "$T/resolv.conf"
: > "$T/upstream.log"
python3 "$T/dns.py" fake "$T/upstream.port" "$T/upstream.log" &
fake_pid=$!
on_exit "kill $fake_pid"
poll 10 test -s "$T/upstream.port" || not_ok "fake upstream starts"
uport=$(cat "$T/upstream.port")

"$BUILD/dns-serve" --resolv-conf "$T/resolv.conf" --upstream-port "$uport" \
	"$T/zone.json" "$T/ports" 127.0.0.1:0 '[::1]:0' 2>"$T/serve.log" &
serve_pid=$!
on_exit "kill $serve_pid"
if ! poll 10 test -s "$T/ports"; then
	not_ok "dns-serve starts" "$(tail -n 3 "$T/serve.log" | tr '\n' ' ')"
	exit 1
fi
read -r p4 p6 < "$T/ports"
q() { python3 "$T/dns.py" udp "$@" 2>&1; }
qt() { python3 "$T/dns.py" tcp "$@" 2>&1; }
C=default.svc.cluster.local

expect_eq "A of a ClusterIP service (IPv4 transport)" "NOERROR A:10.43.0.15 ns=" "$(q 127.0.0.1 "$p4" web.$C A)"
expect_eq "AAAA of a ClusterIP service (IPv6 transport)" "NOERROR AAAA:fd43::15 ns=" "$(q ::1 "$p6" web.$C AAAA)"
expect_eq "names are case-insensitive" "NOERROR A:10.43.0.15 ns=" "$(q ::1 "$p6" WEB.Default.SVC.cluster.LOCAL A)"
expect_eq "A over TCP" "NOERROR A:10.43.0.15 ns=" "$(qt 127.0.0.1 "$p4" web.$C A)"
expect_eq "headless service lists its ready pods" "NOERROR A:10.42.1.10,A:10.42.2.11 ns=" "$(q 127.0.0.1 "$p4" db.$C A)"
expect_eq "headless hostname record" "NOERROR A:10.42.2.11 ns=" "$(q 127.0.0.1 "$p4" db-1.db.$C A)"
expect_eq "SRV of a named port" "NOERROR SRV:0/100/80/web.default.svc.cluster.local ns=" \
	"$(q 127.0.0.1 "$p4" _http._tcp.web.$C SRV)"
expect_eq "SRV of a headless service, per endpoint" \
	"NOERROR SRV:0/50/5432/db-0.db.default.svc.cluster.local,SRV:0/50/5432/db-1.db.default.svc.cluster.local ns=" \
	"$(q 127.0.0.1 "$p4" _pg._tcp.db.$C SRV)"
expect_eq "PTR of a service IP" "NOERROR PTR:web.default.svc.cluster.local ns=" \
	"$(q 127.0.0.1 "$p4" 15.0.43.10.in-addr.arpa PTR)"
expect_eq "PTR of a pod IPv6" "NOERROR PTR:fd42--5.default.pod.cluster.local ns=" \
	"$(q ::1 "$p6" 5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.4.d.f.ip6.arpa PTR)"
expect_eq "pod A record" "NOERROR A:10.42.0.5 ns=" "$(q 127.0.0.1 "$p4" 10-42-0-5.default.pod.cluster.local A)"
expect_eq "ExternalName is a CNAME" "NOERROR CNAME:example.org ns=" "$(q 127.0.0.1 "$p4" ext.$C CNAME)"
expect_eq "dns-version TXT" "NOERROR TXT:1.1.0 ns=" "$(q 127.0.0.1 "$p4" dns-version.cluster.local TXT)"
expect_eq "AAAA of an IPv4-only service is NODATA" "NOERROR  ns=SOA" "$(q 127.0.0.1 "$p4" v4only.$C AAAA)"
expect_eq "an empty non-terminal is NODATA" "NOERROR  ns=SOA" "$(q 127.0.0.1 "$p4" $C A)"
expect_eq "a missing service is NXDOMAIN" "NXDOMAIN  ns=SOA" "$(q 127.0.0.1 "$p4" nosuch.$C A)"
expect_eq "cluster names are not forwarded" "0" "$(wc -l < "$T/upstream.log")"

expect_eq "outside names are forwarded" "NOERROR A:192.0.2.7 ns=" "$(q 127.0.0.1 "$p4" www.example.com A)"
expect_eq "the upstream saw one query" "www.example.com" "$(cat "$T/upstream.log")"
expect_eq "the second answer comes from the cache" "NOERROR A:192.0.2.7 ns=" "$(q ::1 "$p6" WWW.example.com A)"
expect_eq "the upstream saw no second query" "1" "$(wc -l < "$T/upstream.log")"
expect_eq "an ExternalName's CNAME is chased upstream for other types (as CoreDNS)" \
	"NOERROR A:192.0.2.7,CNAME:example.org ns=" "$(q 127.0.0.1 "$p4" ext.$C A)"
expect_eq "... over TCP too" "NOERROR A:192.0.2.7,CNAME:example.org ns=" "$(qt 127.0.0.1 "$p4" ext.$C A)"
expect_eq "the upstream was asked for the target once (then the cache answered)" \
	"www.example.com example.org" "$(xargs < "$T/upstream.log")"

# malformed input: junk is dropped, the server keeps answering
python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'\x00\x01junk', ('127.0.0.1', $p4))"
expect_eq "still answering after junk" "NOERROR A:10.43.0.15 ns=" "$(q 127.0.0.1 "$p4" web.$C A)"

kill -TERM "$serve_pid"
if poll 10 sh -c "! kill -0 $serve_pid 2>/dev/null"; then ok "dns-serve stops on SIGTERM"; else not_ok "dns-serve stops on SIGTERM"; fi
wait "$serve_pid" 2>/dev/null
check "final statistics" grep -q "cache_hits 2" "$T/serve.log"
exit $_failed
