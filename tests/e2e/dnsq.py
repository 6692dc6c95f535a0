#!/usr/bin/env python3
# tests/e2e/dnsq.py - raw DNS for the e2e tests (busybox nslookup cannot
# pick a port; dig is not installed):
#   dnsq.py udp|tcp SERVER PORT NAME TYPE   prints "RCODE[ TC] ANSWERS ns=AUTHORITY"
#   dnsq.py fake PORTFILE LOG [ADDR [PORT]] a fake upstream answering every
#                                           name 192.0.2.7, logging each query
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

def fake(portfile, log, addr='127.0.0.1', port=0):
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((addr, int(port)))
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

if sys.argv[1] == 'fake': fake(*sys.argv[2:])
else: print(ask(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[1] == 'tcp'))
