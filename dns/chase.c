/* dns/chase.c - following an ExternalName's CNAME, as CoreDNS does.
 *
 * The zone answers <svc>.<ns>.svc.<domain> of an ExternalName service with
 * one CNAME to the external name. A stub resolver (glibc, musl) does not
 * follow CNAMEs itself, so for any question but CNAME the server asks for
 * the target with the same type - in the zone first (a target inside the
 * cluster), else upstream through the forwarder and its cache - and
 * answers with the CNAME followed by the target's A, AAAA and CNAME
 * records and the target's rcode. When the upstream fails, the client gets
 * the CNAME alone (what it would have got without chasing).
 *
 * The chase rides on the client (struct dns__client.chase): the
 * forwarder's replies for such a client go through dns__chase_reply().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/srv_int.h"
#include "lib/util.h"

#define CHASE_EDNS_SIZE 1232	/* what we ask the upstream to fit in UDP */

struct dns__chase {
	uint8_t *query;		/* the client's question, as it came */
	size_t qlen;
	uint8_t *cname;		/* the zone's CNAME-only answer */
	size_t clen;
	bool udp;
	char target[DNS_MAX_NAME + 1];
};

struct dns__chase *dns__chase_new(const uint8_t *m, size_t len, const uint8_t *resp, size_t rlen,
				  const char *target, bool udp)
{
	struct dns__chase *ch = xcalloc(1, sizeof(*ch));

	ch->query = xmalloc(len ? len : 1);
	memcpy(ch->query, m, len);
	ch->qlen = len;
	ch->cname = xmalloc(rlen ? rlen : 1);
	memcpy(ch->cname, resp, rlen);
	ch->clen = rlen;
	ch->udp = udp;
	snprintf(ch->target, sizeof(ch->target), "%s", target);
	return ch;
}

void dns__chase_free(struct dns__chase *ch)
{
	if (!ch)
		return;
	free(ch->query);
	free(ch->cname);
	free(ch);
}

/* The target of a NOERROR answer holding one CNAME for the question; 0 or -1. */
static int cname_target(const uint8_t *m, size_t len, char *target)
{
	struct dns__name n;
	size_t p = DNS__HDR;
	uint16_t type, rdlen;
	size_t rd;

	if (len < DNS__HDR || (m[2] & 0x02) || (m[3] & 0x0f) || dns__get16(m + 4) != 1 ||
	    dns__get16(m + 6) != 1)
		return -1;
	if (dns__read_name(m, len, &p, &n) < 0 || p + 4 > len)
		return -1;
	p += 4;
	if (dns__skip_rr(m, len, &p, &type, NULL, &rdlen) < 0 || type != DNS_T_CNAME)
		return -1;
	rd = p - rdlen;
	if (dns__read_name(m, len, &rd, &n) < 0 || n.n == 0)
		return -1;
	memcpy(target, n.text, strlen(n.text) + 1);
	return 0;
}

/* A query for name/qtype with RD and an OPT record, into buf. */
static size_t build_query(const char *name, uint16_t qtype, uint8_t *buf, size_t cap)
{
	struct dns__w w;

	dns__w_init(&w, buf, cap);
	dns__w_u16(&w, 0);		/* id: the forwarder sets its own */
	dns__w_u16(&w, 0x0100);		/* RD */
	dns__w_u16(&w, 1);
	dns__w_u16(&w, 0);
	dns__w_u16(&w, 0);
	dns__w_u16(&w, 1);
	dns__w_name(&w, name);
	dns__w_u16(&w, qtype);
	dns__w_u16(&w, 1);
	dns__w_u8(&w, 0);		/* OPT: root owner */
	dns__w_u16(&w, DNS_T_OPT);
	dns__w_u16(&w, CHASE_EDNS_SIZE);
	dns__w_u32(&w, 0);
	dns__w_u16(&w, 0);
	return w.overflow ? 0 : w.len;
}

/* Copies the answer records of u (A, AAAA, CNAME) into r. */
static void copy_answers(struct dns__resp *r, const uint8_t *u, size_t ulen)
{
	struct dns__name owner, n;
	size_t p = DNS__HDR;
	uint16_t an = dns__get16(u + 6);

	if (dns__get16(u + 4) != 1 || dns__read_name(u, ulen, &p, &n) < 0 || p + 4 > ulen)
		return;
	p += 4;
	for (uint16_t i = 0; i < an; i++) {
		size_t start = p, rd, off;
		uint16_t type, rdlen;

		if (dns__skip_rr(u, ulen, &p, &type, NULL, &rdlen) < 0)
			return;
		rd = p - rdlen;
		if (type != DNS_T_A && type != DNS_T_AAAA && type != DNS_T_CNAME)
			continue;
		if (dns__read_name(u, ulen, &start, &owner) < 0)
			return;
		off = dns__rr_begin(r, owner.orig, type, dns__get32(u + rd - 6));
		if (type == DNS_T_CNAME) {
			if (dns__read_name(u, ulen, &rd, &n) < 0)
				return;
			dns__w_name(&r->w, n.orig);
		} else {
			dns__w_bytes(&r->w, u + rd, rdlen);
		}
		dns__rr_end(r, off);
		r->an++;
	}
}

size_t dns__chase_merge(const struct dns__chase *ch, const uint8_t *u, size_t ulen,
			uint8_t *out, size_t cap)
{
	struct dns__query q;
	struct dns__resp r;
	size_t off;
	bool tc;

	if (!u || ulen < DNS__HDR || !(u[2] & 0x80)) {
		if (ch->clen > cap)
			return 0;
		memcpy(out, ch->cname, ch->clen);
		return ch->clen;
	}
	if (dns__parse_query(ch->query, ch->qlen, &q) != 0)
		return 0;
	dns__resp_init(&r, &q, out, cap, true);
	off = dns__rr_begin(&r, q.name.orig, DNS_T_CNAME, DNS_TTL);
	dns__w_name(&r.w, ch->target);
	dns__rr_end(&r, off);
	r.an++;
	copy_answers(&r, u, ulen);
	r.rcode = u[3] & 0x0f;
	return dns__resp_finish(&r, ch->udp, &tc);
}

/* Sends the merged answer to cl. */
static void reply_merged(struct dns_server *s, struct dns__client *cl, const struct dns__chase *ch,
			 const uint8_t *u, size_t ulen)
{
	size_t n = dns__chase_merge(ch, u, ulen, s->obuf, sizeof(s->obuf));

	if (n)
		dns__reply(s, cl, s->obuf, n);
}

void dns__chase_reply(struct dns_server *s, struct dns__client *cl, const uint8_t *u, size_t ulen)
{
	uint8_t *copy = u ? xmalloc(ulen ? ulen : 1) : NULL;	/* u may be s->obuf */

	if (copy)
		memcpy(copy, u, ulen);
	reply_merged(s, cl, cl->chase, copy, ulen);
	free(copy);
}

bool dns__chase_start(struct dns_server *s, struct dns__client *cl, const uint8_t *m, size_t len,
		      const uint8_t *resp, size_t rlen, bool udp)
{
	char target[DNS_MAX_NAME + 1];
	struct dns__query q;
	struct dns__chase *ch;
	struct dns__client c2 = *cl;
	uint8_t tq[DNS_MAX_NAME + 64], out[DNS_MAX_MSG];
	size_t tlen, olen;

	if (cname_target(resp, rlen, target) < 0 || dns__parse_query(m, len, &q) != 0 ||
	    q.qtype == DNS_T_CNAME || q.qtype == DNS_T_ANY ||
	    !(tlen = build_query(target, q.qtype, tq, sizeof(tq))))
		return false;
	ch = dns__chase_new(m, len, resp, rlen, target, udp);
	switch (dns_zone_answer(s->z, tq, tlen, false, out, &olen)) {
	case DNS_ANSWERED:	/* a target inside the cluster */
		reply_merged(s, cl, ch, out, olen);
		break;
	case DNS_FORWARD:
		c2.chase = ch;
		dns__fwd_query(s, &c2, tq, tlen, udp);
		ch = c2.chase;	/* NULL when a pending query took it */
		break;
	case DNS_DROP:
		reply_merged(s, cl, ch, NULL, 0);
		break;
	}
	dns__chase_free(ch);
	return true;
}
