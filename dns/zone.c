/* dns/zone.c - the record model: services, endpoints and pods in hash maps
 * by name, plus an IP index for PTR. Updates replace a whole object. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns_int.h"
#include "lib/util.h"

/* ---- a small chained hash map with byte keys (duplicates allowed) ---- */

uint32_t dns__hash(const void *k, size_t n)
{
	const uint8_t *p = k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void hmap_grow(struct dns__hmap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct dns__hent **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < m->nb; i++) {
		struct dns__hent *e = m->b[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void dns__hmap_add(struct dns__hmap *m, const void *k, size_t kl, void *val)
{
	if (kl > 255)
		BUG("dns map key of %zu bytes", kl);
	if (m->n >= m->nb)
		hmap_grow(m);
	struct dns__hent *e = xmalloc(sizeof(*e) + kl);
	e->hash = dns__hash(k, kl);
	e->val = val;
	e->klen = (uint8_t)kl;
	memcpy(e->key, k, kl);
	e->next = m->b[e->hash & (m->nb - 1)];
	m->b[e->hash & (m->nb - 1)] = e;
	m->n++;
}

static bool hent_is(const struct dns__hent *e, uint32_t h, const void *k, size_t kl)
{
	return e->hash == h && e->klen == kl && memcmp(e->key, k, kl) == 0;
}

struct dns__hent *dns__hmap_first(const struct dns__hmap *m, const void *k, size_t kl)
{
	if (!m->nb)
		return NULL;
	uint32_t h = dns__hash(k, kl);
	for (struct dns__hent *e = m->b[h & (m->nb - 1)]; e; e = e->next)
		if (hent_is(e, h, k, kl))
			return e;
	return NULL;
}

struct dns__hent *dns__hmap_next(const struct dns__hent *e, const void *k, size_t kl)
{
	uint32_t h = e->hash;

	for (e = e->next; e; e = e->next)
		if (hent_is(e, h, k, kl))
			return (struct dns__hent *)e;
	return NULL;
}

void *dns__hmap_get(const struct dns__hmap *m, const void *k, size_t kl)
{
	struct dns__hent *e = dns__hmap_first(m, k, kl);
	return e ? e->val : NULL;
}

bool dns__hmap_del(struct dns__hmap *m, const void *k, size_t kl, void *val)
{
	if (!m->nb)
		return false;
	uint32_t h = dns__hash(k, kl);
	for (struct dns__hent **pp = &m->b[h & (m->nb - 1)]; *pp; pp = &(*pp)->next) {
		struct dns__hent *e = *pp;
		if (hent_is(e, h, k, kl) && e->val == val) {
			*pp = e->next;
			free(e);
			m->n--;
			return true;
		}
	}
	return false;
}

void dns__hmap_release(struct dns__hmap *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct dns__hent *e = m->b[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}

/* ---- references by key: open addressing, no allocation per entry ---- */

_Static_assert(DNS_MAX_ENDPOINTS <= UINT16_MAX, "an endpoint's index fits dns__ipref.idx");

static void refs_resize(struct dns__refs *t, size_t cap)
{
	struct dns__ipref *old = t->slot;
	size_t ocap = t->cap;

	t->slot = xcalloc(cap, sizeof(*t->slot));
	t->cap = cap;
	for (size_t i = 0; i < ocap; i++) {
		size_t j = old[i].hash & (cap - 1);
		if (!old[i].owner)
			continue;
		while (t->slot[j].owner)
			j = (j + 1) & (cap - 1);
		t->slot[j] = old[i];
	}
	free(old);
}

static void refs_add(struct dns__refs *t, const struct dns__ipref *r)
{
	size_t i;

	if ((t->n + 1) * 4 > t->cap * 3)
		refs_resize(t, t->cap ? t->cap * 2 : 64);
	for (i = r->hash & (t->cap - 1); t->slot[i].owner; i = (i + 1) & (t->cap - 1))
		;
	t->slot[i] = *r;
	t->n++;
}

/* Empties slot i, moving back the entries after it that may not stay
 * behind a hole (their home is not in (i, j] cyclically). */
static void refs_shift_out(struct dns__refs *t, size_t i)
{
	size_t mask = t->cap - 1;

	for (size_t j = (i + 1) & mask; t->slot[j].owner; j = (j + 1) & mask) {
		size_t k = t->slot[j].hash & mask;
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (!stays) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i].owner = NULL;
	t->n--;
}

/* Removes the entry equal to r (owner, kind, idx; found from r->hash). */
static bool refs_del(struct dns__refs *t, const struct dns__ipref *r)
{
	for (size_t i = r->hash & (t->cap - 1); t->cap && t->slot[i].owner; i = (i + 1) & (t->cap - 1)) {
		const struct dns__ipref *e = &t->slot[i];
		if (e->owner == r->owner && e->kind == r->kind && e->idx == r->idx) {
			refs_shift_out(t, i);
			if (t->cap > 64 && t->n * 8 < t->cap)
				refs_resize(t, t->cap / 2);
			return true;
		}
	}
	return false;
}

/* The next entry with hash h along its probe sequence (*pos: probes done,
 * 0 to start); NULL at the end. */
static const struct dns__ipref *refs_next(const struct dns__refs *t, uint32_t h, size_t *pos)
{
	for (; t->cap && *pos < t->cap; (*pos)++) {
		const struct dns__ipref *e = &t->slot[(h + *pos) & (t->cap - 1)];
		if (!e->owner)
			break;
		if (e->hash == h) {
			(*pos)++;
			return e;
		}
	}
	*pos = t->cap;
	return NULL;
}

static void refs_release(struct dns__refs *t)
{
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/* ---- addresses ---- */

int dns_addr_parse(struct dns_addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->ip) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->ip) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

void dns__ipkey(const struct dns_addr *a, uint8_t key[17])
{
	memset(key, 0, 17);
	key[0] = a->family == AF_INET ? 4 : 6;
	memcpy(key + 1, a->ip, a->family == AF_INET ? 4 : 16);
}

void dns__dashed(const struct dns_addr *a, char *out)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->ip, s, sizeof(s));
	for (char *p = s; *p; p++)
		if (*p == '.' || *p == ':')
			*p = '-';
	snprintf(out, 48, "%s", s);
}

int dns__undash(const char *s, size_t n, struct dns_addr *a)
{
	char b[48];
	bool v6 = false;

	if (n == 0 || n >= sizeof(b))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		v6 |= (s[i] >= 'a' && s[i] <= 'f');
	size_t dashes = 0;
	for (size_t i = 0; i < n; i++) {
		dashes += s[i] == '-';
		b[i] = s[i] == '-' ? (v6 || dashes > 3 ? ':' : '.') : s[i];
	}
	b[n] = '\0';
	if (!v6 && dashes > 3)		/* all-digit IPv6 such as 1--2 */
		for (size_t i = 0; i < n; i++)
			if (b[i] == '.')
				b[i] = ':';
	return dns_addr_parse(a, b);
}

/* ---- names ---- */

/* A DNS-1123 label, lowercase after copying. */
static bool valid_label(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

static bool valid_dns_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 253)
		return false;
	char *c = xstrdup(s), *save = NULL;
	bool ok = true;
	if (c[n - 1] == '.')
		c[n - 1] = '\0';
	for (char *l = strtok_r(c, ".", &save); l && ok; l = strtok_r(NULL, ".", &save))
		ok = strlen(l) <= 63 && !strpbrk(l, "/\\ ");
	ok = ok && c[0] && c[0] != '.' && !strstr(s, "..");
	free(c);
	return ok;
}

static char *lower_dup(const char *s)
{
	char *d = xstrdup(s);

	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 32;
	return d;
}

static void ns_ref(struct dns_zone *z, const char *ns, int delta)
{
	struct dns__hent *e = dns__hmap_first(&z->nss, ns, strlen(ns));

	if (!e) {
		if (delta > 0)
			dns__hmap_add(&z->nss, ns, strlen(ns), (void *)(uintptr_t)delta);
		return;
	}
	uintptr_t v = (uintptr_t)e->val + delta;
	if (v == 0)
		dns__hmap_del(&z->nss, ns, strlen(ns), e->val);
	else
		e->val = (void *)v;
}

bool dns__zone_has_ns(const struct dns_zone *z, const char *ns, size_t nsl)
{
	return dns__hmap_first(&z->nss, ns, nsl) != NULL;
}

/* ---- zone ---- */

struct dns_zone *dns_zone_new(const char *domain)
{
	struct dns_zone *z = xcalloc(1, sizeof(*z));
	char *d = lower_dup(domain ? domain : DNS_DEFAULT_DOMAIN);
	size_t n = strlen(d);

	if (n && d[n - 1] == '.')
		d[--n] = '\0';
	if (!valid_dns_name(d))
		BUG("invalid cluster domain '%s'", d);
	snprintf(z->domain, sizeof(z->domain), "%s", d);
	free(d);
	/* labels of the domain, via the wire reader */
	uint8_t wire[DNS_MAX_NAME + 2];
	size_t wl = 0, pos = 0;
	for (const char *s = z->domain; *s;) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		wire[wl++] = (uint8_t)l;
		memcpy(wire + wl, s, l);
		wl += l;
		s += l + (dot ? 1 : 0);
	}
	wire[wl++] = 0;
	if (dns__read_name(wire, wl, &pos, &z->dname) < 0)
		BUG("cluster domain '%s'", z->domain);
	z->serial = (uint32_t)time(NULL);
	return z;
}

static uint32_t ip_hash(const struct dns_addr *a)
{
	uint8_t k[17];

	dns__ipkey(a, k);
	return dns__hash(k, 17);
}

/* Adds or removes the IP index entry of address a of owner. */
static void ip_index(struct dns_zone *z, void *owner, enum dns__ipkind kind,
		     const struct dns_addr *a, size_t idx, bool add)
{
	struct dns__ipref r = { owner, ip_hash(a), (uint8_t)kind, (uint16_t)idx };

	if (add)
		refs_add(&z->ips, &r);
	else if (!refs_del(&z->ips, &r))
		BUG("dns: address %zu of a record not indexed", idx);
}

static void index_ips(struct dns_zone *z, struct dns__svc *s, bool add)
{
	for (size_t i = 0; i < s->n_ips && s->has_spec; i++)
		ip_index(z, s, DNS__IP_SVC, &s->ips[i], i, add);
}

static void index_eps(struct dns_zone *z, struct dns__svc *s, bool add)
{
	for (size_t i = 0; i < s->n_eps; i++)
		ip_index(z, s, DNS__IP_EP, &s->eps[i].addr, i, add);
}

static void index_pod(struct dns_zone *z, struct dns__pod *p, bool add)
{
	for (size_t i = 0; i < p->n_ips; i++)
		ip_index(z, p, DNS__IP_POD, &p->ips[i], i, add);
}

static const struct dns_addr *ref_addr(const struct dns__ipref *r)
{
	const struct dns__svc *s = r->owner;
	const struct dns__pod *p = r->owner;

	switch (r->kind) {
	case DNS__IP_SVC:
		return &s->ips[r->idx];
	case DNS__IP_EP:
		return &s->eps[r->idx].addr;
	default:
		return &p->ips[r->idx];
	}
}

const struct dns__ipref *dns__zone_ip_next(const struct dns_zone *z, const struct dns_addr *a,
					   size_t *pos)
{
	uint8_t k[17], rk[17];
	const struct dns__ipref *r;

	dns__ipkey(a, k);
	while ((r = refs_next(&z->ips, dns__hash(k, 17), pos))) {
		dns__ipkey(ref_addr(r), rk);
		if (!memcmp(k, rk, 17))
			return r;
	}
	return NULL;
}

/* Whether a record named a, b (its strings) has the key "a<sep>b" of
 * kl bytes whose first part is al bytes long. */
static bool named_is(const char *a, const char *b, const char *key, size_t kl, size_t al)
{
	return strlen(a) == al && !memcmp(a, key, al) && strlen(b) == kl - al - 1 &&
	       !memcmp(b, key + al + 1, kl - al - 1);
}

/* The record of t (services: name, ns; pods: ns, name) whose key is
 * key/kl, its first part al bytes long; NULL if none. */
static void *refs_find(const struct dns__refs *t, enum dns__ipkind kind, const char *key,
		       size_t kl, size_t al)
{
	uint32_t h = dns__hash(key, kl);
	const struct dns__ipref *r;
	size_t pos = 0;

	while ((r = refs_next(t, h, &pos))) {
		const struct dns__svc *s = r->owner;
		const struct dns__pod *p = r->owner;
		if (kind == DNS__IP_SVC ? named_is(s->name, s->ns, key, kl, al) :
					  named_is(p->ns, p->name, key, kl, al))
			return r->owner;
	}
	return NULL;
}

/* Adds or removes the entry of record owner under key/kl in t. */
static void refs_key(struct dns__refs *t, enum dns__ipkind kind, void *owner, const char *key,
		     size_t kl, bool add)
{
	struct dns__ipref r = { owner, dns__hash(key, kl), (uint8_t)kind, 0 };

	if (add)
		refs_add(t, &r);
	else if (!refs_del(t, &r))
		BUG("dns: record '%.*s' not indexed", (int)kl, key);
}

static void svc_clear_spec(struct dns__svc *s)
{
	free(s->ports);
	free(s->external_name);
	s->ports = NULL;
	s->external_name = NULL;
	s->n_ports = s->n_ips = 0;
	s->has_spec = false;
}

static void svc_clear_eps(struct dns__svc *s)
{
	for (size_t i = 0; i < s->n_eps; i++) {
		free(s->eps[i].hostname);
		free(s->eps[i].node_name);
	}
	free(s->eps);
	s->eps = NULL;
	s->n_eps = s->n_ready = 0;
}

/* "a<sep>b" lowercased into key (128 bytes); its length. */
static size_t join_key(char *key, const char *a, char sep, const char *b)
{
	int n = snprintf(key, 128, "%s%c%s", a, sep, b);

	for (char *p = key; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 32;
	return n > 0 && n < 128 ? (size_t)n : strlen(key);
}

/* One allocation: the struct of size sz, then "a\0b\0" (lowercased) at
 * its end; *pa and *pb point there. */
static void *alloc_named(size_t sz, const char *a, const char *b, const char **pa,
			 const char **pb)
{
	size_t al = strlen(a), bl = strlen(b);
	char *o = xcalloc(1, sz + al + bl + 2), *names = o + sz;

	memcpy(names, a, al + 1);
	memcpy(names + al + 1, b, bl + 1);
	for (char *p = names; p < names + al + bl + 1; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 32;
	*pa = names;
	*pb = names + al + 1;
	return o;
}

/* The ports and their lowercased names in one allocation (NULL for none). */
static struct dns_port *ports_dup(const struct dns_port *in, size_t n)
{
	size_t len = n * sizeof(*in);
	struct dns_port *out;
	char *p;

	if (!n)
		return NULL;
	for (size_t i = 0; i < n; i++)
		len += in[i].name ? strlen(in[i].name) + 1 : 0;
	out = xmalloc(len);
	p = (char *)(out + n);
	for (size_t i = 0; i < n; i++) {
		out[i] = in[i];
		if (!in[i].name)
			continue;
		out[i].name = p;
		for (const char *c = in[i].name; ; c++) {
			*p++ = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
			if (!*c)
				break;
		}
	}
	return out;
}

static struct dns__svc *svc_get(struct dns_zone *z, const char *ns,
				const char *name, bool create)
{
	char key[128];
	size_t kl = join_key(key, name, '.', ns), nl = strlen(name);
	struct dns__svc *s = nl < kl ? refs_find(&z->svcs, DNS__IP_SVC, key, kl, nl) : NULL;

	if (s || !create)
		return s;
	const char *n, *nsp;
	s = alloc_named(sizeof(*s), name, ns, &n, &nsp);
	s->name = n;
	s->ns = nsp;
	refs_key(&z->svcs, DNS__IP_SVC, s, key, kl, true);
	return s;
}

static void svc_drop_if_empty(struct dns_zone *z, struct dns__svc *s)
{
	char key[128];

	if (s->has_spec || s->n_eps)
		return;
	refs_key(&z->svcs, DNS__IP_SVC, s, key, join_key(key, s->name, '.', s->ns), false);
	free(s);
}

int dns_zone_set_service(struct dns_zone *z, const struct dns_service *in)
{
	if (!valid_label(in->name) || !valid_label(in->ns) ||
	    in->n_cluster_ips > DNS_MAX_IPS || in->n_ports > DNS_MAX_PORTS ||
	    (in->external_name && !valid_dns_name(in->external_name)))
		return -EINVAL;
	for (size_t i = 0; i < in->n_ports; i++)
		if (in->ports[i].name && in->ports[i].name[0] &&
		    (strlen(in->ports[i].name) > 62 || strchr(in->ports[i].name, '.')))
			return -EINVAL;
	struct dns__svc *s = svc_get(z, in->ns, in->name, true);
	if (s->has_spec) {
		index_ips(z, s, false);
		svc_clear_spec(s);
	} else {
		ns_ref(z, s->ns, 1);
		z->n_svcs++;
	}
	s->has_spec = true;
	s->headless = in->headless;
	s->n_ips = (uint8_t)(in->headless ? 0 : in->n_cluster_ips);
	memcpy(s->ips, in->cluster_ips, sizeof(s->ips));
	s->external_name = in->external_name ? lower_dup(in->external_name) : NULL;
	if (s->external_name && s->external_name[strlen(s->external_name) - 1] == '.')
		s->external_name[strlen(s->external_name) - 1] = '\0';
	s->ports = ports_dup(in->ports, in->n_ports);
	s->n_ports = (uint8_t)in->n_ports;
	index_ips(z, s, true);
	z->serial++;
	return 0;
}

int dns_zone_remove_service(struct dns_zone *z, const char *ns, const char *name)
{
	struct dns__svc *s = svc_get(z, ns, name, false);

	if (!s || !s->has_spec)
		return -ENOENT;
	index_ips(z, s, false);
	index_eps(z, s, false);
	svc_clear_spec(s);
	svc_clear_eps(s);
	ns_ref(z, s->ns, -1);
	z->n_svcs--;
	z->serial++;
	svc_drop_if_empty(z, s);
	return 0;
}

int dns_zone_set_endpoints(struct dns_zone *z, const char *ns, const char *name,
			   const struct dns_endpoint *eps, size_t n)
{
	if (!valid_label(name) || !valid_label(ns) || n > DNS_MAX_ENDPOINTS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((eps[i].hostname && !valid_label(eps[i].hostname)) ||
		    (eps[i].addr.family != AF_INET && eps[i].addr.family != AF_INET6))
			return -EINVAL;
	struct dns__svc *s = svc_get(z, ns, name, n > 0);
	if (!s)
		return 0;
	index_eps(z, s, false);
	svc_clear_eps(s);
	s->eps = xcalloc(n + 1, sizeof(*s->eps));
	for (size_t i = 0; i < n; i++) {
		struct dns__ep *e = &s->eps[i];
		e->addr = eps[i].addr;
		e->ready = eps[i].ready;
		e->hostname = eps[i].hostname ? lower_dup(eps[i].hostname) : NULL;
		e->node_name = eps[i].node_name ? xstrdup(eps[i].node_name) : NULL;
		dns__dashed(&e->addr, e->dashed);
		s->n_ready += e->ready;
	}
	s->n_eps = (uint32_t)n;
	index_eps(z, s, true);
	z->serial++;
	svc_drop_if_empty(z, s);
	return 0;
}

int dns_zone_set_pod(struct dns_zone *z, const char *ns, const char *name,
		     const struct dns_addr *ips, size_t n)
{
	char key[128];
	size_t kl;

	if (!valid_label(ns) || !name || !name[0] || strlen(name) > 63 || n > DNS_MAX_IPS)
		return -EINVAL;
	kl = join_key(key, ns, '/', name);
	struct dns__pod *p = refs_find(&z->pods, DNS__IP_POD, key, kl, strlen(ns));
	if (p) {
		index_pod(z, p, false);
	} else {
		const char *nsp, *np;
		p = alloc_named(sizeof(*p), ns, name, &nsp, &np);
		p->ns = nsp;
		p->name = np;
		refs_key(&z->pods, DNS__IP_POD, p, key, kl, true);
		ns_ref(z, p->ns, 1);
		z->n_pods++;
	}
	memcpy(p->ips, ips, n * sizeof(*ips));
	p->n_ips = n;
	index_pod(z, p, true);
	z->serial++;
	return 0;
}

int dns_zone_remove_pod(struct dns_zone *z, const char *ns, const char *name)
{
	char key[128];
	size_t kl = join_key(key, ns, '/', name);
	struct dns__pod *p = refs_find(&z->pods, DNS__IP_POD, key, kl, strlen(ns));

	if (!p)
		return -ENOENT;
	index_pod(z, p, false);
	refs_key(&z->pods, DNS__IP_POD, p, key, kl, false);
	ns_ref(z, p->ns, -1);
	free(p);
	z->n_pods--;
	z->serial++;
	return 0;
}

void dns_zone_set_pods_verified(struct dns_zone *z, bool verified)
{
	z->pods_verified = verified;
}

size_t dns_zone_service_ips(const struct dns_zone *z, const char *ns, const char *name,
			    struct dns_addr ips[DNS_MAX_IPS])
{
	const struct dns__svc *s = dns__zone_svc(z, name, strlen(name), ns, strlen(ns));

	if (!s)
		return 0;
	memcpy(ips, s->ips, s->n_ips * sizeof(*ips));
	return s->n_ips;
}

size_t dns_zone_services(const struct dns_zone *z) { return z->n_svcs; }
size_t dns_zone_pods(const struct dns_zone *z) { return z->n_pods; }

const struct dns__svc *dns__zone_svc(const struct dns_zone *z, const char *name,
				     size_t nl, const char *ns, size_t nsl)
{
	char key[128];

	if (nl + nsl + 2 > sizeof(key))
		return NULL;
	memcpy(key, name, nl);
	key[nl] = '.';
	memcpy(key + nl + 1, ns, nsl);
	const struct dns__svc *s = refs_find(&z->svcs, DNS__IP_SVC, key, nl + 1 + nsl, nl);
	return s && s->has_spec ? s : NULL;
}

void dns_zone_free(struct dns_zone *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < z->svcs.cap; i++) {
		struct dns__svc *s = z->svcs.slot[i].owner;
		if (!s)
			continue;
		svc_clear_spec(s);
		svc_clear_eps(s);
		free(s);
	}
	for (size_t i = 0; i < z->pods.cap; i++)
		free(z->pods.slot[i].owner);
	refs_release(&z->svcs);
	refs_release(&z->pods);
	dns__hmap_release(&z->nss);
	refs_release(&z->ips);
	free(z);
}
