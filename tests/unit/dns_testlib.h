/* tests/unit/dns_testlib.h - building DNS queries and decoding responses
 * for the dns_ unit tests (static helpers; include from one test file
 * each). Records are decoded to text: A/AAAA "10.0.0.1", SRV
 * "0 100 80 target", PTR/CNAME "target", TXT "text", SOA "mname". */
#ifndef K1S_DNS_TESTLIB_H
#define K1S_DNS_TESTLIB_H

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dns/dns_int.h"

struct t_rr {
	char name[256];
	uint16_t type;
	uint32_t ttl;
	char data[300];
	int section;		/* 0 answer, 1 authority, 2 additional */
};

struct t_resp {
	uint16_t id;
	int rcode;		/* with the extended bits of an OPT */
	bool tc, aa, ra;
	int an, ns, ar;
	bool opt;
	uint16_t opt_size;
	struct t_rr rr[1100];
	size_t n;
	size_t len;
};

/* A query for name/type; edns 0 means no OPT record. Returns the length. */
static inline size_t t_query(uint8_t *b, uint16_t id, const char *name,
			     uint16_t type, uint16_t edns)
{
	struct dns__w w;

	dns__w_init(&w, b, 512);
	dns__w_u16(&w, id);
	dns__w_u16(&w, 0x0100);		/* RD */
	dns__w_u16(&w, 1);
	dns__w_u16(&w, 0);
	dns__w_u16(&w, 0);
	dns__w_u16(&w, edns ? 1 : 0);
	w.ncptr = DNS__CPTRS;		/* no compression in queries */
	dns__w_name(&w, name);
	dns__w_u16(&w, type);
	dns__w_u16(&w, 1);
	if (edns) {
		dns__w_u8(&w, 0);
		dns__w_u16(&w, DNS_T_OPT);
		dns__w_u16(&w, edns);
		dns__w_u32(&w, 0);
		dns__w_u16(&w, 0);
	}
	return w.len;
}

static inline int t_decode(const uint8_t *m, size_t len, struct t_resp *r)
{
	struct dns__name n;
	size_t p = DNS__HDR;

	memset(r, 0, sizeof(*r));
	r->len = len;
	if (len < DNS__HDR)
		return -1;
	r->id = dns__get16(m);
	r->rcode = m[3] & 0xf;
	r->tc = m[2] & 0x02;
	r->aa = m[2] & 0x04;
	r->ra = m[3] & 0x80;
	r->an = dns__get16(m + 6);
	r->ns = dns__get16(m + 8);
	r->ar = dns__get16(m + 10);
	for (int i = 0; i < dns__get16(m + 4); i++)
		if (dns__read_name(m, len, &p, &n) < 0 || (p += 4) > len)
			return -1;
	for (int i = 0; i < r->an + r->ns + r->ar; i++) {
		size_t start = p, ttloff;
		uint16_t type, rdlen;
		if (dns__skip_rr(m, len, &p, &type, &ttloff, &rdlen) < 0)
			return -1;
		const uint8_t *rd = m + ttloff + 6;
		size_t rdo = ttloff + 6;
		if (type == DNS_T_OPT) {
			r->opt = true;
			r->opt_size = dns__get16(m + start + 3);
			r->rcode |= m[start + 5] << 4;
			continue;
		}
		struct t_rr *x = &r->rr[r->n++];
		size_t q = start;
		dns__read_name(m, len, &q, &n);
		snprintf(x->name, sizeof(x->name), "%s", n.text);
		x->type = type;
		x->ttl = dns__get32(m + ttloff);
		x->section = i < r->an ? 0 : i < r->an + r->ns ? 1 : 2;
		switch (type) {
		case DNS_T_A:
			inet_ntop(AF_INET, rd, x->data, sizeof(x->data));
			break;
		case DNS_T_AAAA:
			inet_ntop(AF_INET6, rd, x->data, sizeof(x->data));
			break;
		case DNS_T_SRV:
			q = rdo + 6;
			dns__read_name(m, len, &q, &n);
			snprintf(x->data, sizeof(x->data), "%u %u %u %s", dns__get16(rd),
				 dns__get16(rd + 2), dns__get16(rd + 4), n.text);
			break;
		case DNS_T_PTR: case DNS_T_CNAME: case DNS_T_SOA: case DNS_T_NS:
			q = rdo;
			dns__read_name(m, len, &q, &n);
			snprintf(x->data, sizeof(x->data), "%s", n.text);
			break;
		case DNS_T_TXT:
			snprintf(x->data, sizeof(x->data), "%.*s", rd[0], (const char *)rd + 1);
			break;
		}
	}
	return p == len ? 0 : -1;
}

/* Index of the first record of type in section with data, or -1. */
static inline int t_find(const struct t_resp *r, int section, uint16_t type, const char *data)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->rr[i].section == section && r->rr[i].type == type &&
		    (!data || !strcmp(r->rr[i].data, data)))
			return (int)i;
	return -1;
}

static inline size_t t_count(const struct t_resp *r, int section, uint16_t type)
{
	size_t c = 0;

	for (size_t i = 0; i < r->n; i++)
		c += r->rr[i].section == section && r->rr[i].type == type;
	return c;
}

#endif
