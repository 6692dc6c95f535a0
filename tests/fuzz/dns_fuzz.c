/*
 * Fuzz target for dns/: the query parser and the answer path
 * (dns_zone_answer over a small zone with every kind of record), and the
 * parser the forwarder runs on upstream answers before caching them, and
 * the merge of an upstream answer after an ExternalName's CNAME.
 *
 * The first byte picks the mode: even bytes send the rest as a query over
 * UDP or TCP (bit 1); odd bytes treat it as an upstream answer. A query
 * that is answered must decode completely, keep the query's ID, and fit
 * the transport (512 bytes over UDP without EDNS0, 1232 with it).
 *
 * mk/fuzz.mk compiles lib/ server/ store/ only, so dns/ is included here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/answer.c"
#include "dns/chase.c"
#include "dns/forward.c"
#include "dns/metrics.c"
#include "dns/server.c"
#include "dns/wire.c"
#include "dns/zone.c"

static struct dns_zone *zone(void)
{
	static struct dns_zone *z;
	static const struct dns_port ports[] = { { "http", DNS_PROTO_TCP, 80 }, { "dns", DNS_PROTO_UDP, 53 } };
	struct dns_service web = { .name = "web", .ns = "default", .n_cluster_ips = 2,
				   .ports = ports, .n_ports = 2 };
	struct dns_service db = { .name = "db", .ns = "default", .headless = true,
				  .ports = ports, .n_ports = 1 };
	struct dns_service ext = { .name = "ext", .ns = "default", .external_name = "example.org" };
	struct dns_endpoint eps[40];
	struct dns_addr pod[2];

	if (z)
		return z;
	z = dns_zone_new(NULL);
	dns_addr_parse(&web.cluster_ips[0], "10.43.0.15");
	dns_addr_parse(&web.cluster_ips[1], "fd43::15");
	for (int i = 0; i < 40; i++) {
		eps[i] = (struct dns_endpoint){ .ready = i % 5 != 0, .hostname = i % 2 ? "h" : NULL };
		eps[i].addr.family = i % 3 ? AF_INET : AF_INET6;
		eps[i].addr.ip[0] = 10, eps[i].addr.ip[15] = eps[i].addr.ip[3] = (uint8_t)i;
	}
	dns_addr_parse(&pod[0], "10.42.0.5");
	dns_addr_parse(&pod[1], "fd42::5");
	if (dns_zone_set_service(z, &web) || dns_zone_set_service(z, &db) ||
	    dns_zone_set_endpoints(z, "default", "db", eps, 40) ||
	    dns_zone_set_service(z, &ext) || dns_zone_set_pod(z, "default", "p", pod, 2))
		abort();
	return z;
}

static void check_answer(const uint8_t *q, size_t qlen, bool udp)
{
	static uint8_t out[DNS_MAX_MSG];
	size_t olen, p = DNS__HDR;
	struct dns__name n;

	if (dns_zone_answer(zone(), q, qlen, udp, out, &olen) != DNS_ANSWERED)
		return;
	if (olen < DNS__HDR || dns__get16(out) != dns__get16(q) || !(out[2] & 0x80))
		abort();
	if (udp && olen > DNS_EDNS_UDP)
		abort();
	for (int i = 0; i < dns__get16(out + 4); i++)
		if (dns__read_name(out, olen, &p, &n) < 0 || (p += 4) > olen)
			abort();
	size_t rrs = (size_t)dns__get16(out + 6) + dns__get16(out + 8) + dns__get16(out + 10);
	for (size_t i = 0; i < rrs; i++)
		if (dns__skip_rr(out, olen, &p, NULL, NULL, NULL) < 0)
			abort();
	if (p != olen)
		abort();
}

/* An upstream answer merged after an ExternalName's CNAME (chase.c). */
static void check_chase(const uint8_t *m, size_t len)
{
	static const uint8_t q[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
				     3, 'e', 'x', 't', 7, 'd', 'e', 'f', 'a', 'u', 'l', 't', 0, 0, 1, 0, 1 };
	static uint8_t out[DNS_MAX_MSG];
	struct dns__chase *ch = dns__chase_new(q, sizeof(q), q, sizeof(q), "example.org", true);
	size_t n = dns__chase_merge(ch, m, len, out, sizeof(out)), p = DNS__HDR;
	struct dns__name nm;

	dns__chase_free(ch);
	if (!n)
		return;
	if (n > DNS_EDNS_UDP || dns__get16(out) != 0x1234 || dns__read_name(out, n, &p, &nm) < 0)
		abort();
	p += 4;
	for (size_t i = 0; i < dns__get16(out + 6); i++)
		if (dns__skip_rr(out, n, &p, NULL, NULL, NULL) < 0)
			abort();
}

static void check_upstream(const uint8_t *m, size_t len)
{
	static uint8_t copy[DNS_MAX_MSG];
	struct ttl_scan sc = { .min_answer = UINT32_MAX };
	uint32_t age = 7;

	if (len < DNS__HDR || len > sizeof(copy))
		return;
	memcpy(copy, m, len);
	if (walk_ttls(copy, len, scan_ttl, &sc) == 0)
		walk_ttls(copy, len, age_ttl, &age);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > DNS_MAX_MSG)
		return 0;
	if (data[0] & 1) {
		check_upstream(data + 1, size - 1);
		check_chase(data + 1, size - 1);
	}
	else
		check_answer(data + 1, size - 1, !(data[0] & 2));
	return 0;
}
