/* dns/answer.c - cluster answers as CoreDNS's kubernetes plugin gives them.
 *
 * Names under the domain, relative labels r[0..n-1]:
 *   dns-version                       TXT "1.1.0"
 *   svc | pod                         NODATA
 *   <ns>.svc | <ns>.pod               NODATA if the namespace has objects
 *   <svc>.<ns>.svc                    A/AAAA clusterIPs, or ready endpoints
 *                                     (headless; NXDOMAIN when none ready),
 *                                     SRV of every named port, CNAME for
 *                                     ExternalName (any type)
 *   <host>.<svc>.<ns>.svc             a headless endpoint by hostname or
 *                                     dashed IP
 *   _<port>._<proto>.<svc>.<ns>.svc   SRV (one per ready endpoint if headless)
 *   <dashed-ip>.<ns>.pod              A/AAAA of that IP
 * Everything else under the domain is NXDOMAIN; every negative answer
 * carries the SOA. PTR for in-addr.arpa / ip6.arpa names of known IPs;
 * unknown ones, like all names outside the domain, are forwarded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/dns_int.h"

#define NB 1200	/* name buffer: labels <= 63 each, checked on input */

enum found { FOUND, NODATA, NXDOMAIN };

struct ctx {
	const struct dns_zone *z;
	const struct dns__query *q;
	struct dns__resp r;
	const char *lab[DNS__MAX_LABELS];	/* relative labels */
	size_t len[DNS__MAX_LABELS];
	unsigned n;
};

static bool lab_is(const struct ctx *c, unsigned i, const char *s)
{
	return c->len[i] == strlen(s) && memcmp(c->lab[i], s, c->len[i]) == 0;
}

static void add_addr(struct ctx *c, const char *owner, const struct dns_addr *a)
{
	bool v4 = a->family == AF_INET;
	size_t off = dns__rr_begin(&c->r, owner, v4 ? DNS_T_A : DNS_T_AAAA, DNS_TTL);

	dns__w_bytes(&c->r.w, a->ip, v4 ? 4 : 16);
	dns__rr_end(&c->r, off);
}

static bool type_wants(uint16_t qtype, const struct dns_addr *a)
{
	return qtype == DNS_T_ANY ||
	       (qtype == DNS_T_A && a->family == AF_INET) ||
	       (qtype == DNS_T_AAAA && a->family == AF_INET6);
}

static void add_soa(struct ctx *c)
{
	char mname[NB], rname[NB];
	const char *d = c->z->domain;

	snprintf(mname, sizeof(mname), "ns.dns.%s", d);
	snprintf(rname, sizeof(rname), "hostmaster.%s", d);
	size_t off = dns__rr_begin(&c->r, d, DNS_T_SOA, DNS_TTL);
	dns__w_name(&c->r.w, mname);
	dns__w_name(&c->r.w, rname);
	dns__w_u32(&c->r.w, c->z->serial);
	dns__w_u32(&c->r.w, 7200);	/* refresh, as CoreDNS */
	dns__w_u32(&c->r.w, 1800);	/* retry */
	dns__w_u32(&c->r.w, 86400);	/* expire */
	dns__w_u32(&c->r.w, DNS_TTL);	/* minimum: negative TTL */
	dns__rr_end(&c->r, off);
}

static void add_srv(struct ctx *c, uint16_t weight, uint16_t port, const char *target)
{
	size_t off = dns__rr_begin(&c->r, c->q->name.orig, DNS_T_SRV, DNS_TTL);

	dns__w_u16(&c->r.w, 0);
	dns__w_u16(&c->r.w, weight);
	dns__w_u16(&c->r.w, port);
	dns__w_name(&c->r.w, target);
	dns__rr_end(&c->r, off);
	c->r.an++;
}

static const char *proto_name(enum dns_proto p)
{
	return p == DNS_PROTO_UDP ? "_udp" : p == DNS_PROTO_SCTP ? "_sctp" : "_tcp";
}

static bool port_matches(const struct ctx *c, const struct dns_port *p)
{
	if (!p->name || !p->name[0])
		return false;
	if (c->n < 5)			/* <svc>.<ns>.svc: every named port */
		return true;
	return c->len[0] == strlen(p->name) + 1 && c->lab[0][0] == '_' &&
	       memcmp(c->lab[0] + 1, p->name, c->len[0] - 1) == 0 &&
	       lab_is(c, 1, proto_name(p->proto));
}

/* SRV records of s (for the ports port_matches), then the targets'
 * addresses in the additional section. */
static enum found svc_srv(struct ctx *c, const struct dns__svc *s)
{
	char svcname[NB], target[NB + 64];
	size_t nports = 0, ntargets = s->headless ? s->n_ready : 1;

	snprintf(svcname, sizeof(svcname), "%s.%s.svc.%s", s->name, s->ns, c->z->domain);
	for (size_t i = 0; i < s->n_ports; i++)
		nports += port_matches(c, &s->ports[i]);
	if (!nports || !ntargets)
		return c->n >= 5 ? NXDOMAIN : NODATA;
	uint16_t weight = (uint16_t)(100 / (nports * ntargets) ? 100 / (nports * ntargets) : 1);
	for (size_t i = 0; i < s->n_ports; i++) {
		if (!port_matches(c, &s->ports[i]))
			continue;
		if (!s->headless) {
			add_srv(c, weight, s->ports[i].port, svcname);
			continue;
		}
		for (size_t e = 0; e < s->n_eps; e++) {
			const struct dns__ep *ep = &s->eps[e];
			if (!ep->ready)
				continue;
			snprintf(target, sizeof(target), "%s.%s", ep->hostname ? ep->hostname : ep->dashed, svcname);
			add_srv(c, weight, s->ports[i].port, target);
		}
	}
	/* additional: the targets' addresses (once each) */
	if (!s->headless) {
		for (size_t i = 0; i < s->n_ips; i++, c->r.ar++)
			add_addr(c, svcname, &s->ips[i]);
		return FOUND;
	}
	for (size_t e = 0; e < s->n_eps; e++) {
		const struct dns__ep *ep = &s->eps[e];
		if (!ep->ready)
			continue;
		snprintf(target, sizeof(target), "%s.%s", ep->hostname ? ep->hostname : ep->dashed, svcname);
		add_addr(c, target, &ep->addr);
		c->r.ar++;
	}
	return FOUND;
}

static enum found cname(struct ctx *c, const char *target)
{
	size_t off = dns__rr_begin(&c->r, c->q->name.orig, DNS_T_CNAME, DNS_TTL);

	dns__w_name(&c->r.w, target);
	dns__rr_end(&c->r, off);
	c->r.an++;
	return FOUND;
}

/* <svc>.<ns>.svc */
static enum found service(struct ctx *c, const struct dns__svc *s)
{
	uint16_t qt = c->q->qtype;

	if (s->external_name)
		return cname(c, s->external_name);
	if (s->headless && !s->n_ready)
		return NXDOMAIN;
	if (qt == DNS_T_SRV)
		return svc_srv(c, s);
	if (!s->headless) {
		for (size_t i = 0; i < s->n_ips; i++)
			if (type_wants(qt, &s->ips[i]))
				add_addr(c, c->q->name.orig, &s->ips[i]), c->r.an++;
		return c->r.an ? FOUND : NODATA;
	}
	for (size_t i = 0; i < s->n_eps; i++)
		if (s->eps[i].ready && type_wants(qt, &s->eps[i].addr))
			add_addr(c, c->q->name.orig, &s->eps[i].addr), c->r.an++;
	return c->r.an ? FOUND : NODATA;
}

/* <host>.<svc>.<ns>.svc: a ready endpoint of a headless service */
static enum found endpoint(struct ctx *c, const struct dns__svc *s)
{
	bool exists = false;

	if (s->external_name || !s->headless)
		return NXDOMAIN;
	for (size_t i = 0; i < s->n_eps; i++) {
		const struct dns__ep *e = &s->eps[i];
		const char *h = e->hostname ? e->hostname : e->dashed;
		if (!e->ready || strlen(h) != c->len[0] || memcmp(h, c->lab[0], c->len[0]))
			continue;
		exists = true;
		if (type_wants(c->q->qtype, &e->addr))
			add_addr(c, c->q->name.orig, &e->addr), c->r.an++;
	}
	return c->r.an ? FOUND : exists ? NODATA : NXDOMAIN;
}

static bool pod_has_ip(const struct dns_zone *z, const struct dns_addr *a,
		       const char *ns, size_t nsl)
{
	const struct dns__ipref *r;
	size_t pos = 0;

	while ((r = dns__zone_ip_next(z, a, &pos))) {
		const struct dns__pod *p = r->owner;
		if (r->kind == DNS__IP_POD && strlen(p->ns) == nsl && !memcmp(p->ns, ns, nsl))
			return true;
	}
	return false;
}

/* <dashed-ip>.<ns>.pod */
static enum found pod(struct ctx *c)
{
	struct dns_addr a;

	if (dns__undash(c->lab[0], c->len[0], &a) < 0)
		return NXDOMAIN;
	if (c->z->pods_verified && !pod_has_ip(c->z, &a, c->lab[1], c->len[1]))
		return NXDOMAIN;
	if (!type_wants(c->q->qtype, &a))
		return NODATA;
	add_addr(c, c->q->name.orig, &a);
	c->r.an++;
	return FOUND;
}

static enum found in_svc(struct ctx *c)
{
	unsigned n = c->n;

	if (n == 2)
		return dns__zone_has_ns(c->z, c->lab[0], c->len[0]) ? NODATA : NXDOMAIN;
	const struct dns__svc *s = dns__zone_svc(c->z, c->lab[n - 3], c->len[n - 3],
						 c->lab[n - 2], c->len[n - 2]);
	if (!s)
		return NXDOMAIN;
	if (n == 3)
		return service(c, s);
	if (n == 4 && c->lab[0][0] != '_')
		return endpoint(c, s);
	if (n == 5 && c->lab[0][0] == '_' && c->lab[1][0] == '_') {
		if (s->external_name)
			return cname(c, s->external_name);
		if (s->headless && !s->n_ready)
			return NXDOMAIN;
		if (c->q->qtype == DNS_T_SRV || c->q->qtype == DNS_T_ANY)
			return svc_srv(c, s);
		/* the name exists when a port matches: NODATA for other types */
		for (size_t i = 0; i < s->n_ports; i++)
			if (port_matches(c, &s->ports[i]))
				return NODATA;
	}
	return NXDOMAIN;
}

static enum found in_zone(struct ctx *c)
{
	unsigned n = c->n;

	if (c->q->name.odd)
		return NXDOMAIN;
	if (n == 0) {
		if (c->q->qtype != DNS_T_SOA)
			return NODATA;
		add_soa(c);
		c->r.an++;
		return FOUND;
	}
	if (n == 1 && lab_is(c, 0, "dns-version")) {
		if (c->q->qtype != DNS_T_TXT)
			return NODATA;
		size_t off = dns__rr_begin(&c->r, c->q->name.orig, DNS_T_TXT, DNS_TTL);
		dns__w_u8(&c->r.w, sizeof(DNS_VERSION_TXT) - 1);
		dns__w_bytes(&c->r.w, DNS_VERSION_TXT, sizeof(DNS_VERSION_TXT) - 1);
		dns__rr_end(&c->r, off);
		c->r.an++;
		return FOUND;
	}
	if (lab_is(c, n - 1, "svc"))
		return n == 1 ? NODATA : in_svc(c);
	if (lab_is(c, n - 1, "pod")) {
		if (n == 1)
			return NODATA;
		if (n == 2)
			return dns__zone_has_ns(c->z, c->lab[0], c->len[0]) ? NODATA : NXDOMAIN;
		return n == 3 ? pod(c) : NXDOMAIN;
	}
	return NXDOMAIN;
}

/* ---- PTR ---- */

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* The address of a full reverse name; -ENOENT when it is not one. */
static int reverse_addr(const struct dns__name *nm, struct dns_addr *a)
{
	const char *t = nm->text;
	memset(a, 0, sizeof(*a));

	if (nm->n == 6 && !strcmp(t + nm->off[4], "in-addr.arpa")) {
		a->family = AF_INET;
		for (unsigned i = 0; i < 4; i++) {
			unsigned v = 0;
			if (nm->len[i] == 0 || nm->len[i] > 3)
				return -ENOENT;
			for (unsigned j = 0; j < nm->len[i]; j++) {
				char ch = t[nm->off[i] + j];
				if (ch < '0' || ch > '9')
					return -ENOENT;
				v = v * 10 + (unsigned)(ch - '0');
			}
			if (v > 255 || (nm->len[i] > 1 && t[nm->off[i]] == '0'))
				return -ENOENT;
			a->ip[3 - i] = (uint8_t)v;
		}
		return 0;
	}
	if (nm->n == 34 && !strcmp(t + nm->off[32], "ip6.arpa")) {
		a->family = AF_INET6;
		for (unsigned i = 0; i < 32; i++) {
			int v = nm->len[i] == 1 ? hexval(t[nm->off[i]]) : -1;
			if (v < 0)
				return -ENOENT;
			a->ip[15 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
		}
		return 0;
	}
	return -ENOENT;
}

static void ptr_name(const struct dns_zone *z, const struct dns__ipref *r, char *out)
{
	const struct dns__svc *s = r->owner;
	const struct dns__pod *p = r->owner;
	char d[48];

	switch (r->kind) {
	case DNS__IP_SVC:
		snprintf(out, NB, "%s.%s.svc.%s", s->name, s->ns, z->domain);
		break;
	case DNS__IP_EP: {
		const struct dns__ep *e = &s->eps[r->idx];
		snprintf(out, NB, "%s.%s.%s.svc.%s",
			 e->hostname ? e->hostname : e->dashed, s->name, s->ns, z->domain);
		break;
	}
	case DNS__IP_POD:
		dns__dashed(&p->ips[r->idx], d);
		snprintf(out, NB, "%s.%s.pod.%s", d, p->ns, z->domain);
		break;
	}
}

static bool ptr_usable(const struct dns__ipref *r)
{
	const struct dns__svc *s = r->owner;

	if (r->kind == DNS__IP_SVC)
		return s->has_spec;
	if (r->kind == DNS__IP_EP)
		return s->has_spec && s->headless && s->eps[r->idx].ready;
	return true;
}

/* PTR answers: service IPs and headless endpoints first; pods only when
 * no service claims the IP. -ENOENT: not ours. */
static int ptr(struct ctx *c)
{
	struct dns_addr a;
	const struct dns__ipref *r;
	char name[NB];

	if (reverse_addr(&c->q->name, &a) < 0)
		return -ENOENT;
	for (int pass = 0; pass < 2 && !c->r.an; pass++) {
		for (size_t pos = 0; (r = dns__zone_ip_next(c->z, &a, &pos));) {
			if ((r->kind == DNS__IP_POD) != (pass == 1) || !ptr_usable(r))
				continue;
			if (c->q->qtype != DNS_T_PTR && c->q->qtype != DNS_T_ANY)
				return 0;	/* exists: NODATA */
			ptr_name(c->z, r, name);
			size_t off = dns__rr_begin(&c->r, c->q->name.orig, DNS_T_PTR, DNS_TTL);
			dns__w_name(&c->r.w, name);
			dns__rr_end(&c->r, off);
			c->r.an++;
		}
	}
	return c->r.an || c->q->qtype != DNS_T_PTR ? 0 : -ENOENT;
}

/* ---- entry ---- */

static bool under_domain(struct ctx *c)
{
	const struct dns__name *d = &c->z->dname, *nm = &c->q->name;

	if (nm->n < d->n)
		return false;
	unsigned skip = nm->n - d->n;
	if (strcmp(nm->text + nm->off[skip], d->text))
		return false;
	c->n = skip;
	for (unsigned i = 0; i < skip; i++) {
		c->lab[i] = nm->text + nm->off[i];
		c->len[i] = nm->len[i];
	}
	return true;
}

static size_t finish(struct ctx *c, bool udp)
{
	bool tc;

	return dns__resp_finish(&c->r, udp, &tc);
}

enum dns_answer_kind dns_zone_answer(const struct dns_zone *z,
				     const uint8_t *m, size_t len, bool udp,
				     uint8_t *out, size_t *outlen)
{
	struct dns__query q;
	struct ctx c = { .z = z, .q = &q };
	int rc = dns__parse_query(m, len, &q);

	*outlen = 0;
	if (rc < 0)
		return DNS_DROP;
	if (rc > 0 || q.edns_version > 0) {
		dns__resp_init(&c.r, &q, out, DNS_MAX_MSG, false);
		c.r.rcode = rc > 0 ? rc : DNS_RC_BADVERS;
		*outlen = finish(&c, udp);
		return *outlen ? DNS_ANSWERED : DNS_DROP;
	}
	dns__resp_init(&c.r, &q, out, DNS_MAX_MSG, true);
	if (!under_domain(&c)) {
		if (q.qtype == DNS_T_PTR && !q.name.odd && ptr(&c) == 0) {
			*outlen = finish(&c, udp);
			return DNS_ANSWERED;
		}
		return DNS_FORWARD;
	}
	enum found f = NXDOMAIN;
	if (q.qclass != 1 && q.qclass != 255)
		c.r.rcode = DNS_RC_REFUSED;
	else
		f = in_zone(&c);
	if (!c.r.rcode && f != FOUND) {
		c.r.an = c.r.ar = 0;
		c.r.w.len = c.r.qend;
		while (c.r.w.ncptr && c.r.w.cptr[c.r.w.ncptr - 1] >= c.r.qend)
			c.r.w.ncptr--;
		if (f == NXDOMAIN)
			c.r.rcode = DNS_RC_NXDOMAIN;
		add_soa(&c);
		c.r.ns++;
	}
	*outlen = finish(&c, udp);
	return DNS_ANSWERED;
}
