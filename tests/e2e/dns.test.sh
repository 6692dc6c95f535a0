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

cat > "$T/dns.py" <<'EOF'
import socket, struct, sys, random
T = {'A': 1, 'NS': 2, 'CNAME': 5, 'SOA': 6, 'PTR': 12, 'TXT': 16, 'AAAA': 28, 'SRV': 33}
N = {v: k for k, v in T.items()}
RC = {0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED'}

def qname(name):
    return b''.join(bytes([len(l)]) + l.encode() for l in name.rstrip('.').split('.') if l) + b'\0'

def rname(m, p):
    out, end = [], None
    while True:
        l = m[p]
        if l & 0xc0 == 0xc0:
            if end is None: end = p + 2
            p = (l & 0x3f) << 8 | m[p + 1]; continue
        if l == 0: break
        out.append(m[p + 1:p + 1 + l].decode()); p += 1 + l
    return '.'.join(out).lower(), (end if end is not None else p + 1)

def rdata(m, t, p, l):
    if t == 1: return socket.inet_ntop(socket.AF_INET, m[p:p + 4])
    if t == 28: return socket.inet_ntop(socket.AF_INET6, m[p:p + 16])
    if t in (2, 5, 12, 6): return rname(m, p)[0]
    if t == 33:
        pr, w, port = struct.unpack('>HHH', m[p:p + 6])
        return '%d/%d/%d/%s' % (pr, w, port, rname(m, p + 6)[0])
    if t == 16: return m[p + 1:p + 1 + m[p]].decode()
    return m[p:p + l].hex()

def ask(server, port, name, qtype, tcp=False):
    fam = socket.AF_INET6 if ':' in server else socket.AF_INET
    qid = random.randint(0, 65535)
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack('>HH', T[qtype], 1)
    if tcp:
        s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(3)
        s.connect((server, port)); s.sendall(struct.pack('>H', len(q)) + q)
        buf = b''
        while len(buf) < 2 or len(buf) < 2 + struct.unpack('>H', buf[:2])[0]:
            c = s.recv(65536)
            if not c: break
            buf += c
        m = buf[2:]
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(3)
        s.sendto(q, (server, port)); m = s.recv(65536)
    hid, fl, qd, an, ns, ar = struct.unpack('>HHHHHH', m[:12])
    assert hid == qid, 'id mismatch'
    p = 12
    for _ in range(qd): p = rname(m, p)[1] + 4
    recs = []
    for i in range(an + ns + ar):
        n, p = rname(m, p)
        t, c, ttl, l = struct.unpack('>HHIH', m[p:p + 10]); p += 10
        if t != 41: recs.append((i, N.get(t, str(t)), rdata(m, t, p, l)))
        p += l
    ans = sorted('%s:%s' % (t, d) for i, t, d in recs if i < an)
    auth = sorted(t for i, t, d in recs if an <= i < an + ns)
    tc = ' TC' if fl & 0x200 else ''
    return '%s%s %s ns=%s' % (RC.get(fl & 0xf, fl & 0xf), tc, ','.join(ans), ','.join(auth))

def fake(portfile, log):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0))
    open(portfile + '.tmp', 'w').write('%d\n' % s.getsockname()[1])
    import os; os.rename(portfile + '.tmp', portfile)
    while True:
        m, peer = s.recvfrom(65536)
        name, p = rname(m, 12)
        with open(log, 'a') as f: f.write(name + '\n')
        qend = p + 4
        r = m[:2] + struct.pack('>HHHHH', 0x8180, 1, 1, 0, 0) + m[12:qend]
        r += b'\xc0\x0c' + struct.pack('>HHIH', 1, 1, 60, 4) + socket.inet_aton('192.0.2.7')
        s.sendto(r, peer)

if sys.argv[1] == 'fake': fake(sys.argv[2], sys.argv[3])
else: print(ask(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[1] == 'tcp'))
EOF

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
expect_eq "ExternalName is a CNAME" "NOERROR CNAME:example.org ns=" "$(q 127.0.0.1 "$p4" ext.$C A)"
expect_eq "dns-version TXT" "NOERROR TXT:1.1.0 ns=" "$(q 127.0.0.1 "$p4" dns-version.cluster.local TXT)"
expect_eq "AAAA of an IPv4-only service is NODATA" "NOERROR  ns=SOA" "$(q 127.0.0.1 "$p4" v4only.$C AAAA)"
expect_eq "an empty non-terminal is NODATA" "NOERROR  ns=SOA" "$(q 127.0.0.1 "$p4" $C A)"
expect_eq "a missing service is NXDOMAIN" "NXDOMAIN  ns=SOA" "$(q 127.0.0.1 "$p4" nosuch.$C A)"
expect_eq "cluster names are not forwarded" "0" "$(wc -l < "$T/upstream.log")"

expect_eq "outside names are forwarded" "NOERROR A:192.0.2.7 ns=" "$(q 127.0.0.1 "$p4" www.example.com A)"
expect_eq "the upstream saw one query" "www.example.com" "$(cat "$T/upstream.log")"
expect_eq "the second answer comes from the cache" "NOERROR A:192.0.2.7 ns=" "$(q ::1 "$p6" WWW.example.com A)"
expect_eq "the upstream saw no second query" "1" "$(wc -l < "$T/upstream.log")"

# malformed input: junk is dropped, the server keeps answering
python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'\x00\x01junk', ('127.0.0.1', $p4))"
expect_eq "still answering after junk" "NOERROR A:10.43.0.15 ns=" "$(q 127.0.0.1 "$p4" web.$C A)"

kill -TERM "$serve_pid"
if poll 10 sh -c "! kill -0 $serve_pid 2>/dev/null"; then ok "dns-serve stops on SIGTERM"; else not_ok "dns-serve stops on SIGTERM"; fi
wait "$serve_pid" 2>/dev/null
check "final statistics" grep -q "cache_hits 1" "$T/serve.log"
exit $_failed
