/* tests/unit/dns_test.c - the cluster zone and its answers: every record
 * type, NODATA vs NXDOMAIN, case, truncation, malformed messages. */
#include <errno.h>
#include <sys/socket.h>

#include "dns/dns_int.h"
#include "lib/util.h"
#include "tests/unit/dns_testlib.h"
#include "tests/unit/test.h"

static struct dns_addr A(const char *s)
{
	struct dns_addr a;

	if (dns_addr_parse(&a, s) < 0)
		abort();
	return a;
}

/* default/web: dual-stack ClusterIP, ports http/tcp 80 and dns/udp 53
 * default/v4only: 10.43.0.20 only
 * default/db: headless, endpoints db-0 (ready), db-1 (not ready), no-hostname (ready)
 * default/empty: headless, no ready endpoint
 * default/ext: ExternalName example.org
 * kube-system/p: pod 10.42.0.5 / fd42::5 */
static struct dns_zone *mkzone(void)
{
	struct dns_zone *z = dns_zone_new(NULL);
	static const struct dns_port web_ports[] = {
		{ "http", DNS_PROTO_TCP, 80 }, { "dns", DNS_PROTO_UDP, 53 }, { NULL, DNS_PROTO_TCP, 9 },
	};
	static const struct dns_port db_ports[] = { { "pg", DNS_PROTO_TCP, 5432 } };
	struct dns_service web = { .name = "web", .ns = "default", .n_cluster_ips = 2,
				   .ports = web_ports, .n_ports = 3 };
	web.cluster_ips[0] = A("10.43.0.15");
	web.cluster_ips[1] = A("fd43::15");
	struct dns_service v4 = { .name = "v4only", .ns = "default", .n_cluster_ips = 1 };
	v4.cluster_ips[0] = A("10.43.0.20");
	struct dns_service db = { .name = "db", .ns = "default", .headless = true,
				  .ports = db_ports, .n_ports = 1 };
	struct dns_service empty = { .name = "empty", .ns = "default", .headless = true };
	struct dns_service ext = { .name = "ext", .ns = "default", .external_name = "example.org" };
	struct dns_endpoint eps[] = {
		{ A("10.42.1.10"), true, "db-0", "node-a" },
		{ A("10.42.1.11"), false, "db-1", "node-b" },
		{ A("fd42::1:12"), true, NULL, NULL },
	};
	struct dns_endpoint none[] = { { A("10.42.1.20"), false, NULL, NULL } };
	struct dns_addr pip[] = { A("10.42.0.5"), A("fd42::5") };

	if (dns_zone_set_service(z, &web) || dns_zone_set_service(z, &v4) ||
	    dns_zone_set_endpoints(z, "default", "db", eps, 3) ||	/* before the service */
	    dns_zone_set_service(z, &db) || dns_zone_set_service(z, &empty) ||
	    dns_zone_set_endpoints(z, "default", "empty", none, 1) ||
	    dns_zone_set_service(z, &ext) ||
	    dns_zone_set_pod(z, "kube-system", "p", pip, 2))
		abort();
	return z;
}

static enum dns_answer_kind ask(const struct dns_zone *z, const char *name, uint16_t type,
				uint16_t edns, bool udp, struct t_resp *r)
{
	uint8_t q[512], out[DNS_MAX_MSG];
	size_t ql = t_query(q, 0x1234, name, type, edns), ol;
	enum dns_answer_kind k = dns_zone_answer(z, q, ql, udp, out, &ol);

	memset(r, 0, sizeof(*r));
	if (k == DNS_ANSWERED && t_decode(out, ol, r) < 0)
		abort();
	return k;
}

/* NODATA: NOERROR, no answers, the SOA in authority. */
static void assert_nodata(const struct t_resp *r)
{
	ASSERT_EQ(r->rcode, DNS_RC_NOERROR);
	ASSERT_EQ(r->an, 0);
	ASSERT_EQ(r->ns, 1);
	ASSERT_EQ(t_find(r, 1, DNS_T_SOA, "ns.dns.cluster.local"), 0);
}

static void assert_nxdomain(const struct t_resp *r)
{
	ASSERT_EQ(r->rcode, DNS_RC_NXDOMAIN);
	ASSERT_EQ(r->an, 0);
	ASSERT_EQ(r->ns, 1);
	ASSERT_EQ(t_find(r, 1, DNS_T_SOA, NULL), 0);
}

TEST(dns_clusterip_a_aaaa)
{
	struct dns_zone *z = mkzone();
	struct t_resp r;

	ASSERT_EQ(ask(z, "web.default.svc.cluster.local", DNS_T_A, 0, true, &r), DNS_ANSWERED);
	ASSERT_EQ(r.id, 0x1234);
	ASSERT_EQ(r.rcode, 0);
	ASSERT_TRUE(r.aa);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "10.43.0.15");
	ASSERT_STR_EQ(r.rr[0].name, "web.default.svc.cluster.local");
	ASSERT_EQ(r.rr[0].ttl, DNS_TTL);
	ask(z, "web.default.svc.cluster.local", DNS_T_AAAA, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "fd43::15");
	/* case-insensitive, the question's case echoed */
	ask(z, "WEB.Default.SVC.Cluster.Local", DNS_T_A, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "10.43.0.15");
	/* trailing root and EDNS0: OPT comes back with our size */
	ask(z, "web.default.svc.cluster.local.", DNS_T_A, 4096, true, &r);
	ASSERT_TRUE(r.opt);
	ASSERT_EQ(r.opt_size, DNS_EDNS_UDP);
	ASSERT_EQ(r.an, 1);
	dns_zone_free(z);
}

TEST(dns_nodata_vs_nxdomain)
{
	struct dns_zone *z = mkzone();
	struct t_resp r;

	ask(z, "v4only.default.svc.cluster.local", DNS_T_AAAA, 0, true, &r);
	assert_nodata(&r);
	ask(z, "v4only.default.svc.cluster.local", 15 /* MX */, 0, true, &r);
	assert_nodata(&r);
	ask(z, "default.svc.cluster.local", DNS_T_A, 0, true, &r);	/* empty non-terminal */
	assert_nodata(&r);
	ask(z, "svc.cluster.local", DNS_T_A, 0, true, &r);
	assert_nodata(&r);
	ask(z, "cluster.local", DNS_T_A, 0, true, &r);
	assert_nodata(&r);
	ask(z, "nosuch.default.svc.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	ask(z, "web.nons.svc.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	ask(z, "nons.svc.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	ask(z, "a.b.c.d.e.f.svc.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	ask(z, "whatever.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	/* SOA at the apex */
	ask(z, "cluster.local", DNS_T_SOA, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_EQ(r.rr[0].type, DNS_T_SOA);
	dns_zone_free(z);
}

TEST(dns_headless)
{
	struct dns_zone *z = mkzone();
	struct t_resp r;

	ask(z, "db.default.svc.cluster.local", DNS_T_A, 0, true, &r);
	ASSERT_EQ(r.rcode, 0);
	ASSERT_EQ(r.an, 1);		/* db-1 is not ready */
	ASSERT_STR_EQ(r.rr[0].data, "10.42.1.10");
	ask(z, "db.default.svc.cluster.local", DNS_T_AAAA, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "fd42::1:12");
	ask(z, "db-0.db.default.svc.cluster.local", DNS_T_A, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "10.42.1.10");
	ask(z, "db-0.db.default.svc.cluster.local", DNS_T_AAAA, 0, true, &r);
	assert_nodata(&r);
	ask(z, "db-1.db.default.svc.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	ask(z, "fd42--1-12.db.default.svc.cluster.local", DNS_T_AAAA, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "fd42::1:12");
	ask(z, "empty.default.svc.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	/* hostname records only for headless services */
	ask(z, "x.web.default.svc.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	dns_zone_free(z);
}

TEST(dns_srv)
{
	struct dns_zone *z = mkzone();
	struct t_resp r;

	ask(z, "_http._tcp.web.default.svc.cluster.local", DNS_T_SRV, 0, true, &r);
	ASSERT_EQ(r.rcode, 0);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "0 100 80 web.default.svc.cluster.local");
	ASSERT_EQ(t_find(&r, 2, DNS_T_A, "10.43.0.15") >= 0, 1);
	ASSERT_EQ(t_find(&r, 2, DNS_T_AAAA, "fd43::15") >= 0, 1);
	ask(z, "_DNS._UDP.web.default.svc.cluster.local", DNS_T_SRV, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "0 100 53 web.default.svc.cluster.local");
	ask(z, "_http._udp.web.default.svc.cluster.local", DNS_T_SRV, 0, true, &r);
	assert_nxdomain(&r);
	ask(z, "_http._tcp.web.default.svc.cluster.local", DNS_T_A, 0, true, &r);
	assert_nodata(&r);
	/* the service name itself: every named port (2 of 3) */
	ask(z, "web.default.svc.cluster.local", DNS_T_SRV, 0, true, &r);
	ASSERT_EQ(r.an, 2);
	/* headless: one per ready endpoint, targets with hostname or dashed IP */
	ask(z, "_pg._tcp.db.default.svc.cluster.local", DNS_T_SRV, 0, true, &r);
	ASSERT_EQ(r.an, 2);
	ASSERT_TRUE(t_find(&r, 0, DNS_T_SRV, "0 50 5432 db-0.db.default.svc.cluster.local") >= 0);
	ASSERT_TRUE(t_find(&r, 0, DNS_T_SRV, "0 50 5432 fd42--1-12.db.default.svc.cluster.local") >= 0);
	ASSERT_EQ(t_count(&r, 2, DNS_T_A), 1);
	ASSERT_EQ(t_count(&r, 2, DNS_T_AAAA), 1);
	ask(z, "_pg._tcp.empty.default.svc.cluster.local", DNS_T_SRV, 0, true, &r);
	assert_nxdomain(&r);
	dns_zone_free(z);
}

TEST(dns_ptr)
{
	struct dns_zone *z = mkzone();
	struct t_resp r;

	ask(z, "15.0.43.10.in-addr.arpa", DNS_T_PTR, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "web.default.svc.cluster.local");
	ask(z, "5.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.4.d.f.ip6.arpa",
	    DNS_T_PTR, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "web.default.svc.cluster.local");
	ask(z, "10.1.42.10.IN-ADDR.ARPA", DNS_T_PTR, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "db-0.db.default.svc.cluster.local");
	ask(z, "5.0.42.10.in-addr.arpa", DNS_T_PTR, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "10-42-0-5.kube-system.pod.cluster.local");
	ask(z, "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.4.d.f.ip6.arpa",
	    DNS_T_PTR, 0, true, &r);
	ASSERT_STR_EQ(r.rr[0].data, "fd42--5.kube-system.pod.cluster.local");
	/* not ready endpoint, unknown IP, partial names: not ours */
	ASSERT_EQ(ask(z, "11.1.42.10.in-addr.arpa", DNS_T_PTR, 0, true, &r), DNS_FORWARD);
	ASSERT_EQ(ask(z, "1.1.1.1.in-addr.arpa", DNS_T_PTR, 0, true, &r), DNS_FORWARD);
	ASSERT_EQ(ask(z, "10.in-addr.arpa", DNS_T_PTR, 0, true, &r), DNS_FORWARD);
	ASSERT_EQ(ask(z, "015.0.43.10.in-addr.arpa", DNS_T_PTR, 0, true, &r), DNS_FORWARD);
	/* removal drops the PTR */
	ASSERT_OK(dns_zone_remove_service(z, "default", "web"));
	ASSERT_EQ(ask(z, "15.0.43.10.in-addr.arpa", DNS_T_PTR, 0, true, &r), DNS_FORWARD);
	dns_zone_free(z);
}

TEST(dns_pod_records)
{
	struct dns_zone *z = mkzone();
	struct t_resp r;

	ask(z, "10-42-0-5.kube-system.pod.cluster.local", DNS_T_A, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "10.42.0.5");
	ask(z, "fd42--5.kube-system.pod.cluster.local", DNS_T_AAAA, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "fd42::5");
	ask(z, "10-42-0-5.kube-system.pod.cluster.local", DNS_T_AAAA, 0, true, &r);
	assert_nodata(&r);
	/* insecure (k3s default): any IP; verified: only the pod's own */
	ask(z, "10-1-2-3.default.pod.cluster.local", DNS_T_A, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	dns_zone_set_pods_verified(z, true);
	ask(z, "10-1-2-3.default.pod.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	ask(z, "10-42-0-5.default.pod.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	ask(z, "10-42-0-5.kube-system.pod.cluster.local", DNS_T_A, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ask(z, "not-an-ip.kube-system.pod.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	ask(z, "kube-system.pod.cluster.local", DNS_T_A, 0, true, &r);
	assert_nodata(&r);
	ASSERT_OK(dns_zone_remove_pod(z, "kube-system", "p"));
	ASSERT_EQ(dns_zone_remove_pod(z, "kube-system", "p"), -ENOENT);
	ask(z, "10-42-0-5.kube-system.pod.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	ASSERT_EQ(ask(z, "5.0.42.10.in-addr.arpa", DNS_T_PTR, 0, true, &r), DNS_FORWARD);
	dns_zone_free(z);
}

TEST(dns_externalname_and_version)
{
	struct dns_zone *z = mkzone();
	struct t_resp r;

	ask(z, "ext.default.svc.cluster.local", DNS_T_A, 0, true, &r);
	ASSERT_EQ(r.rcode, 0);
	ASSERT_EQ(r.an, 1);
	ASSERT_EQ(r.rr[0].type, DNS_T_CNAME);
	ASSERT_STR_EQ(r.rr[0].data, "example.org");
	ask(z, "ext.default.svc.cluster.local", DNS_T_AAAA, 0, true, &r);
	ASSERT_EQ(r.rr[0].type, DNS_T_CNAME);
	ask(z, "dns-version.cluster.local", DNS_T_TXT, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "1.1.0");
	ask(z, "dns-version.cluster.local", DNS_T_A, 0, true, &r);
	assert_nodata(&r);
	dns_zone_free(z);
}

TEST(dns_forward_decision)
{
	struct dns_zone *z = mkzone();
	struct t_resp r;

	ASSERT_EQ(ask(z, "example.com", DNS_T_A, 0, true, &r), DNS_FORWARD);
	ASSERT_EQ(ask(z, "", DNS_T_NS, 0, true, &r), DNS_FORWARD);
	ASSERT_EQ(ask(z, "local", DNS_T_A, 0, true, &r), DNS_FORWARD);
	ASSERT_EQ(ask(z, "xcluster.local", DNS_T_A, 0, true, &r), DNS_FORWARD);
	dns_zone_free(z);
}

TEST(dns_truncation)
{
	struct dns_zone *z = dns_zone_new("cluster.local");
	struct dns_endpoint eps[300];
	char host[300][16];
	struct dns_service big = { .name = "big", .ns = "ns", .headless = true };
	struct t_resp r;

	for (int i = 0; i < 300; i++) {
		snprintf(host[i], sizeof(host[i]), "h%d", i);
		eps[i] = (struct dns_endpoint){ .ready = true, .hostname = host[i] };
		eps[i].addr.family = AF_INET;
		eps[i].addr.ip[0] = 10, eps[i].addr.ip[2] = (uint8_t)(i / 250), eps[i].addr.ip[3] = (uint8_t)(i % 250 + 1);
	}
	ASSERT_OK(dns_zone_set_service(z, &big));
	ASSERT_OK(dns_zone_set_endpoints(z, "ns", "big", eps, 300));
	/* UDP without EDNS0: 512 bytes, TC=1 and no records */
	ask(z, "big.ns.svc.cluster.local", DNS_T_A, 0, true, &r);
	ASSERT_TRUE(r.tc);
	ASSERT_EQ(r.an, 0);
	ASSERT_LE(r.len, DNS_MIN_UDP);
	/* EDNS0 4096 asked: we cap at 1232 */
	ask(z, "big.ns.svc.cluster.local", DNS_T_A, 4096, true, &r);
	ASSERT_TRUE(r.tc);
	ASSERT_TRUE(r.opt);
	ASSERT_LE(r.len, DNS_EDNS_UDP);
	/* TCP: all 300, names compressed (16 bytes per A record) */
	ask(z, "big.ns.svc.cluster.local", DNS_T_A, 0, false, &r);
	ASSERT_FALSE(r.tc);
	ASSERT_EQ(r.an, 300);
	ASSERT_LE(r.len, 12 + 30 + 300 * 16);
	/* 20 records fit in 512 over UDP */
	ASSERT_OK(dns_zone_set_endpoints(z, "ns", "big", eps, 20));
	ask(z, "big.ns.svc.cluster.local", DNS_T_A, 0, true, &r);
	ASSERT_FALSE(r.tc);
	ASSERT_EQ(r.an, 20);
	/* SRV over TCP: 300 targets with their addresses */
	static const struct dns_port p[] = { { "x", DNS_PROTO_TCP, 1 } };
	big.ports = p, big.n_ports = 1;
	ASSERT_OK(dns_zone_set_service(z, &big));
	ASSERT_OK(dns_zone_set_endpoints(z, "ns", "big", eps, 300));
	ask(z, "_x._tcp.big.ns.svc.cluster.local", DNS_T_SRV, 0, false, &r);
	ASSERT_EQ(r.an, 300);
	ASSERT_EQ(r.ar, 300);
	ASSERT_TRUE(t_find(&r, 0, DNS_T_SRV, "0 1 1 h299.big.ns.svc.cluster.local") >= 0);
	dns_zone_free(z);
}

static int raw(const struct dns_zone *z, const uint8_t *m, size_t len, struct t_resp *r)
{
	uint8_t out[DNS_MAX_MSG];
	size_t ol;

	if (dns_zone_answer(z, m, len, true, out, &ol) != DNS_ANSWERED)
		return -1;
	if (t_decode(out, ol, r) < 0)
		abort();
	return r->rcode;
}

TEST(dns_malformed)
{
	struct dns_zone *z = mkzone();
	struct t_resp r;
	uint8_t q[600];
	size_t ql = t_query(q, 7, "web.default.svc.cluster.local", DNS_T_A, 0);

	ASSERT_EQ(raw(z, q, 11, &r), -1);		/* short header: dropped */
	q[2] |= 0x80;
	ASSERT_EQ(raw(z, q, ql, &r), -1);		/* a response: dropped */
	q[2] &= ~0x80;
	ASSERT_EQ(raw(z, q, ql - 1, &r), DNS_RC_FORMERR);	/* cut question */
	ASSERT_EQ(r.id, 7);
	q[5] = 2;					/* QDCOUNT 2 */
	ASSERT_EQ(raw(z, q, ql, &r), DNS_RC_FORMERR);
	q[5] = 1;
	q[2] |= 0x10;					/* opcode 2 (STATUS) */
	ASSERT_EQ(raw(z, q, ql, &r), DNS_RC_NOTIMP);
	q[2] &= ~0x78;
	q[11] = 1;					/* ARCOUNT 1, no record */
	ASSERT_EQ(raw(z, q, ql, &r), DNS_RC_FORMERR);
	q[11] = 0;
	/* a compression pointer to itself */
	uint8_t loop[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1 };
	ASSERT_EQ(raw(z, loop, sizeof(loop), &r), DNS_RC_FORMERR);
	/* EDNS version 1: BADVERS (extended rcode 16) with an OPT */
	ql = t_query(q, 8, "web.default.svc.cluster.local", DNS_T_A, 1232);
	q[ql - 5] = 1;
	ASSERT_EQ(raw(z, q, ql, &r), DNS_RC_BADVERS);
	ASSERT_TRUE(r.opt);
	/* two OPT records */
	ql = t_query(q, 9, "web.default.svc.cluster.local", DNS_T_A, 1232);
	memcpy(q + ql, q + ql - 11, 11);
	q[11] = 2;
	ASSERT_EQ(raw(z, q, ql + 11, &r), DNS_RC_FORMERR);
	/* a label holding a dot: echoed verbatim, NXDOMAIN (found by dns_fuzz) */
	uint8_t odd[] = { 0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 6, '.', 'o', 's', 'u', 'c', 'h',
			  7, 'd', 'e', 'f', 'a', 'u', 'l', 't', 3, 's', 'v', 'c',
			  7, 'c', 'l', 'u', 's', 't', 'e', 'r', 5, 'l', 'o', 'c', 'a', 'l', 0, 0, 1, 0, 1 };
	uint8_t out[DNS_MAX_MSG];
	size_t ol;
	ASSERT_EQ(dns_zone_answer(z, odd, sizeof(odd), true, out, &ol), DNS_ANSWERED);
	ASSERT_OK(t_decode(out, ol, &r));
	ASSERT_EQ(r.rcode, DNS_RC_NXDOMAIN);
	ASSERT_EQ(memcmp(out + 12, odd + 12, sizeof(odd) - 12), 0);
	/* random bytes never crash and never answer garbage */
	uint32_t seed = 1;
	for (int i = 0; i < 20000; i++) {
		size_t n = 12 + (seed % 80);
		for (size_t j = 0; j < n; j++)
			seed = seed * 1103515245 + 12345, q[j] = (uint8_t)(seed >> 16);
		q[2] &= 0x7f;
		if (dns_zone_answer(z, q, n, true, out, &ol) == DNS_ANSWERED) {
			ASSERT_EQ(t_decode(out, ol, &r), 0);
			ASSERT_LE(ol, DNS_MIN_UDP);
		}
	}
	dns_zone_free(z);
}

TEST(dns_zone_updates)
{
	struct dns_zone *z = mkzone();
	struct t_resp r;
	struct dns_service web = { .name = "web", .ns = "default", .n_cluster_ips = 1 };

	ASSERT_EQ(dns_zone_services(z), 5);
	ASSERT_EQ(dns_zone_pods(z), 1);
	web.cluster_ips[0] = A("10.43.0.99");
	ASSERT_OK(dns_zone_set_service(z, &web));
	ASSERT_EQ(dns_zone_services(z), 5);
	ask(z, "web.default.svc.cluster.local", DNS_T_A, 0, true, &r);
	ASSERT_STR_EQ(r.rr[0].data, "10.43.0.99");
	ask(z, "web.default.svc.cluster.local", DNS_T_AAAA, 0, true, &r);
	assert_nodata(&r);
	ASSERT_EQ(ask(z, "15.0.43.10.in-addr.arpa", DNS_T_PTR, 0, true, &r), DNS_FORWARD);
	ask(z, "99.0.43.10.in-addr.arpa", DNS_T_PTR, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	/* endpoints change readiness */
	struct dns_endpoint ep[] = { { A("10.42.1.20"), true, NULL, NULL } };
	ASSERT_OK(dns_zone_set_endpoints(z, "default", "empty", ep, 1));
	ask(z, "empty.default.svc.cluster.local", DNS_T_A, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	/* removing every service of a namespace leaves no NODATA */
	const char *names[] = { "web", "v4only", "db", "empty", "ext" };
	for (int i = 0; i < 5; i++)
		ASSERT_OK(dns_zone_remove_service(z, "default", names[i]));
	ASSERT_EQ(dns_zone_remove_service(z, "default", "web"), -ENOENT);
	ASSERT_EQ(dns_zone_services(z), 0);
	ask(z, "default.svc.cluster.local", DNS_T_A, 0, true, &r);
	assert_nxdomain(&r);
	/* invalid input leaves the zone alone */
	struct dns_service bad = { .name = "Bad_Name", .ns = "default" };
	ASSERT_EQ(dns_zone_set_service(z, &bad), -EINVAL);
	bad.name = "ok";
	bad.external_name = "a..b";
	ASSERT_EQ(dns_zone_set_service(z, &bad), -EINVAL);
	ASSERT_EQ(dns_zone_services(z), 0);
	dns_zone_free(z);
}

/* Many records: the tables grow, shrink and delete by backward shift
 * (probe chains with shared IPs, pods and services alike) and every
 * record stays findable by name and by address. */
static void svc_n(struct dns_zone *z, int i, bool add)
{
	char name[16];
	struct dns_service s = { .name = name, .ns = i % 3 ? "a" : "B", .n_cluster_ips = 1 };

	snprintf(name, sizeof(name), "S%d", i);
	s.cluster_ips[0] = (struct dns_addr){ AF_INET, { 10, 44, (uint8_t)(i / 64), (uint8_t)(i % 64) } };
	if (add ? dns_zone_set_service(z, &s) : dns_zone_remove_service(z, s.ns, name))
		abort();
}

TEST(dns_zone_many)
{
	struct dns_zone *z = dns_zone_new(NULL);
	struct t_resp r;
	char q[64];
	int n = 3000;

	for (int i = 0; i < n; i++) {
		struct dns_addr ip = { AF_INET, { 10, 44, (uint8_t)(i / 64), (uint8_t)(i % 64) } };
		char pod[16];
		snprintf(pod, sizeof(pod), "p%d", i);
		svc_n(z, i, true);
		if (i % 7 == 0 && dns_zone_set_pod(z, "a", pod, &ip, 1))	/* the same IP */
			abort();
	}
	for (int i = 0; i < n; i++)
		if (i % 50)
			svc_n(z, i, false);
	ASSERT_EQ(dns_zone_services(z), (size_t)n / 50);
	for (int i = 0; i < n; i++) {
		snprintf(q, sizeof(q), "s%d.%s.svc.cluster.local", i, i % 3 ? "a" : "b");
		ask(z, q, DNS_T_A, 0, true, &r);
		ASSERT_EQ(r.an, i % 50 ? 0 : 1);
		snprintf(q, sizeof(q), "%d.%d.44.10.in-addr.arpa", i % 64, i / 64);
		enum dns_answer_kind k = ask(z, q, DNS_T_PTR, 0, true, &r);
		if (i % 50 == 0) {
			snprintf(q, sizeof(q), "s%d.%s.svc.cluster.local", i, i % 3 ? "a" : "b");
			ASSERT_EQ(r.an, 1);
			ASSERT_STR_EQ(r.rr[0].data, q);
		} else if (i % 7 == 0) {
			ASSERT_EQ(r.an, 1);	/* the pod's, once no service has it */
			ASSERT_EQ(strncmp(r.rr[0].data, "10-44-", 6), 0);
		} else {
			ASSERT_EQ(k, DNS_FORWARD);
		}
	}
	for (int i = 0; i < n; i += 7) {
		char pod[16];
		snprintf(pod, sizeof(pod), "p%d", i);
		ASSERT_OK(dns_zone_remove_pod(z, "a", pod));
	}
	ASSERT_EQ(dns_zone_pods(z), 0);
	ASSERT_EQ(ask(z, "0.0.44.10.in-addr.arpa", DNS_T_PTR, 0, true, &r), DNS_ANSWERED);
	ASSERT_EQ(ask(z, "7.0.44.10.in-addr.arpa", DNS_T_PTR, 0, true, &r), DNS_FORWARD);
	dns_zone_free(z);
}

TEST(dns_custom_domain)
{
	struct dns_zone *z = dns_zone_new("Corp.Example.");
	struct dns_service s = { .name = "a", .ns = "b", .n_cluster_ips = 1 };
	struct t_resp r;

	s.cluster_ips[0] = A("10.0.0.1");
	ASSERT_OK(dns_zone_set_service(z, &s));
	ask(z, "a.b.svc.corp.example", DNS_T_A, 0, true, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_EQ(ask(z, "a.b.svc.cluster.local", DNS_T_A, 0, true, &r), DNS_FORWARD);
	dns_zone_free(z);
}

TEST(dns_resolv_conf)
{
	struct dns_upstreams u;
	char *path = xasprintf("%s/resolv.conf", test_tmpdir());
	const char *conf = "# comment\nsearch example.com\nnameserver 127.0.0.53\n"
			   "nameserver 192.0.2.1\nnameserver fe80::1%eth0\n"
			   "nameserver bogus\nnameserver ::1\nnameserver 192.0.2.2\n"
			   "nameserver 192.0.2.3\n";

	ASSERT_OK(write_file_atomic(path, conf, strlen(conf), 0644));
	ASSERT_OK(dns_resolv_parse(path, false, &u));
	ASSERT_EQ(u.n, 3);
	ASSERT_EQ(u.addr[0].ip[0], 127);
	ASSERT_EQ(u.addr[2].family, AF_INET6);
	ASSERT_OK(dns_resolv_parse(path, true, &u));
	ASSERT_EQ(u.n, 3);
	ASSERT_EQ(u.addr[0].ip[3], 1);
	ASSERT_EQ(u.addr[1].family, AF_INET6);
	ASSERT_EQ(u.addr[2].ip[3], 2);
	ASSERT_OK(write_file_atomic(path, "nameserver 127.0.0.1\n", 21, 0644));
	ASSERT_EQ(dns_resolv_parse(path, true, &u), -ENODATA);
	ASSERT_EQ(dns_resolv_parse("/nonexistent/resolv.conf", true, &u), -ENOENT);
	free(path);
}
