/*
 * proxy/render.c - policy: which endpoints take traffic, and the chains,
 * sets and map elements that say so (see proxy_int.h for the shapes).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include "lib/util.h"
#include "proxy/proxy_int.h"

void proxy__render_init(struct proxy__render *r, int family)
{
	memset(r, 0, sizeof(*r));
	r->family = family;
}

static void rule_release(struct proxy__rule *ru)
{
	free(ru->target);
	free(ru->set);
}

static void chain_strip(struct proxy__chain *c)
{
	for (size_t i = 0; i < c->n_rules; i++)
		rule_release(&c->rules[i]);
	free(c->rules);
	c->rules = NULL;
	c->n_rules = c->alloc_rules = 0;
}

void proxy__render_release(struct proxy__render *r)
{
	for (size_t i = 0; i < r->n_chains; i++) {
		chain_strip(&r->chains[i]);
		free(r->chains[i].name);
	}
	for (size_t i = 0; i < r->n_sets; i++) {
		free(r->sets[i].name);
		free(r->sets[i].dests);
	}
	for (size_t i = 0; i < r->n_elems; i++)
		free(r->elems[i].chain);
	free(r->chains);
	free(r->sets);
	free(r->elems);
	free(r->hairpin);
	proxy__render_init(r, r->family);
}

/* Adds a chain (regular when hook < 0); the name is taken over. */
static struct proxy__chain *chain_add(struct proxy__render *r, char *name, int hook,
				      int prio, bool nat)
{
	ALLOC_GROW(r->chains, r->n_chains + 1, r->alloc_chains);
	struct proxy__chain *c = &r->chains[r->n_chains++];
	*c = (struct proxy__chain){ .name = name, .hook = hook, .prio = prio, .nat = nat };
	return c;
}

static struct proxy__rule *rule_add(struct proxy__chain *c, enum proxy__op op,
				    const char *target)
{
	ALLOC_GROW(c->rules, c->n_rules + 1, c->alloc_rules);
	struct proxy__rule *ru = &c->rules[c->n_rules++];
	*ru = (struct proxy__rule){ .op = op, .target = target ? xstrdup(target) : NULL };
	return ru;
}

void proxy__render_skeleton(struct proxy__render *r, bool base)
{
	struct proxy__chain *c;

	if (base) {
		c = chain_add(r, xstrdup(PROXY__EP_CHECK), -1, 0, false);
		rule_add(c, PROXY__SVC_VMAP, PROXY__MAP_NOEP_SVC);
		rule_add(c, PROXY__NP_VMAP, PROXY__MAP_NOEP_NP);
		c = chain_add(r, xstrdup("filter-input"), NF_INET_LOCAL_IN, -10, false);
		rule_add(c, PROXY__CT_NEW_JUMP, PROXY__EP_CHECK);
		c = chain_add(r, xstrdup("filter-forward"), NF_INET_FORWARD, -10, false);
		rule_add(c, PROXY__CT_NEW_JUMP, PROXY__EP_CHECK);
		c = chain_add(r, xstrdup("filter-output"), NF_INET_LOCAL_OUT, -10, false);
		rule_add(c, PROXY__CT_NEW_JUMP, PROXY__EP_CHECK);
	}
	c = chain_add(r, xstrdup(PROXY__MARK_MASQ), -1, 0, false);
	rule_add(c, PROXY__MARK_OR, NULL);
	if (base) {
		c = chain_add(r, xstrdup(PROXY__MASQUERADING), -1, 0, false);
		rule_add(c, PROXY__NODE_UNMARK, NULL);
		rule_add(c, PROXY__HAIRPIN_JUMP, PROXY__MARK_MASQ)->set = xstrdup(PROXY__SET_HAIRPIN);
		rule_add(c, PROXY__UNMARKED_RETURN, NULL);
		rule_add(c, PROXY__MARK_XOR, NULL);
		rule_add(c, PROXY__MASQUERADE, NULL);
		c = chain_add(r, xstrdup(PROXY__REJECT), -1, 0, false);
		rule_add(c, PROXY__REJECT_TCP, NULL);
		rule_add(c, PROXY__REJECT_ICMP, NULL);
	}
	c = chain_add(r, xstrdup(PROXY__SERVICES), -1, 0, false);
	rule_add(c, PROXY__SVC_VMAP, PROXY__MAP_SVC);
	rule_add(c, PROXY__NP_MARKED_VMAP, PROXY__MAP_NP);

	/* The base table's NAT entry runs first (-101) and marks packets to
	 * a local address for the NodePort lookups of every table (-100);
	 * its -99 chains clear the mark after them. */
	c = chain_add(r, xstrdup("nat-prerouting"), NF_INET_PRE_ROUTING, base ? -101 : -100, true);
	if (base)
		rule_add(c, PROXY__NODE_MARK, NULL);
	rule_add(c, PROXY__JUMP, PROXY__SERVICES);
	c = chain_add(r, xstrdup("nat-output"), NF_INET_LOCAL_OUT, base ? -101 : -100, true);
	if (base)
		rule_add(c, PROXY__NODE_MARK, NULL);
	rule_add(c, PROXY__JUMP, PROXY__SERVICES);
	if (base) {
		c = chain_add(r, xstrdup("nat-prerouting-done"), NF_INET_PRE_ROUTING, -99, true);
		rule_add(c, PROXY__NODE_UNMARK, NULL);
		c = chain_add(r, xstrdup("nat-output-done"), NF_INET_LOCAL_OUT, -99, true);
		rule_add(c, PROXY__NODE_UNMARK, NULL);
		c = chain_add(r, xstrdup("nat-postrouting"), NF_INET_POST_ROUTING, 100, true);
		rule_add(c, PROXY__JUMP, PROXY__MASQUERADING);
	}
}

/* --- endpoint selection --- */

static bool ep_matches(const struct proxy_endpoint *ep, int family, int port_idx)
{
	if (family && ep->addr.family != family)
		return false;
	return port_idx < 0 || ep->target_ports[port_idx] != 0;
}

static bool ep_is_local(const struct proxy_endpoint *ep, const char *node_name)
{
	return node_name && *node_name && !strcmp(ep->node_name, node_name);
}

static bool ep_hinted_for(const struct proxy_endpoint *ep, uint32_t zone)
{
	for (size_t i = 0; i < ep->n_hint_zones; i++)
		if (ep->hint_zones[i] == zone)
			return true;
	return false;
}

/* Topology (pkg/proxy/topology.go): keep only the endpoints hinted for our
 * zone when every chosen endpoint has hints and one names our zone. */
static size_t apply_hints(const struct proxy_service *svc, const char *zone, bool *use,
			  size_t n)
{
	bool any_ours = false;
	uint32_t zh;

	if (!zone || !*zone || !n)
		return n;
	zh = proxy_zone_hash(zone);
	for (size_t i = 0; i < svc->n_endpoints; i++) {
		if (!use[i])
			continue;
		if (!svc->endpoints[i].n_hint_zones)
			return n;
		any_ours |= ep_hinted_for(&svc->endpoints[i], zh);
	}
	if (!any_ours)
		return n;
	n = 0;
	for (size_t i = 0; i < svc->n_endpoints; i++) {
		use[i] = use[i] && ep_hinted_for(&svc->endpoints[i], zh);
		n += use[i];
	}
	return n;
}

size_t proxy__select(const struct proxy_service *svc, const char *node_name,
		     const char *zone, bool local, int family, int port_idx, bool *use)
{
	bool only_local = local || svc->internal_policy == PROXY_POLICY_LOCAL;
	size_t n = 0;

	/* Ready endpoints; when none is ready, the serving terminating ones. */
	for (int pass = 0; pass < 2 && !n; pass++) {
		for (size_t i = 0; i < svc->n_endpoints; i++) {
			const struct proxy_endpoint *ep = &svc->endpoints[i];
			bool ok = pass == 0 ? ep->ready : ep->serving && ep->terminating;

			use[i] = ok && ep_matches(ep, family, port_idx) &&
				 (!only_local || ep_is_local(ep, node_name));
			n += use[i];
		}
	}
	if (!only_local)
		n = apply_hints(svc, zone, use, n);
	return n;
}

size_t proxy_select(const struct proxy_service *svc, const char *node_name,
		    const char *zone, bool local, bool *use)
{
	return proxy__select(svc, node_name, zone, local, 0, -1, use);
}

/* --- one service --- */

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_UDP ? "udp" : p == IPPROTO_SCTP ? "sctp" : "tcp";
}

static void elem_add(struct proxy__render *r, enum proxy__map map, const uint8_t *key,
		     size_t len, const char *chain)
{
	ALLOC_GROW(r->elems, r->n_elems + 1, r->alloc_elems);
	struct proxy__elem *e = &r->elems[r->n_elems++];
	memset(e, 0, sizeof(*e));
	e->map = map;
	memcpy(e->key, key, len);
	e->key_len = (uint8_t)len;
	e->verdict = chain ? NFT_GOTO : NF_DROP;
	e->chain = chain ? xstrdup(chain) : NULL;
}

/* Keys as the kernel stores concatenations: every field padded to 4 bytes. */
static size_t key_svc(uint8_t *k, const struct inet_addr *a, uint8_t proto, uint16_t port)
{
	size_t al = inet_family_len(a->family);

	memset(k, 0, 24);
	memcpy(k, a->bytes, al);
	k[al] = proto;
	k[al + 4] = (uint8_t)(port >> 8);
	k[al + 5] = (uint8_t)port;
	return al + 8;
}

static size_t key_np(uint8_t *k, uint8_t proto, uint16_t port)
{
	memset(k, 0, 24);
	k[0] = proto;
	k[4] = (uint8_t)(port >> 8);
	k[5] = (uint8_t)port;
	return 8;
}

/* Per-port rendering context. */
struct port_ctx {
	const struct proxy_service *svc;
	const struct proxy__node *node;
	struct proxy__render *r;
	int idx;
	char *base;		/* "ns/name/proto/port" */
	bool *cl, *lo;		/* cluster and local endpoint choice */
	size_t n_cl, n_lo;
};

static char *ep_name(const struct port_ctx *pc, const char *kind, size_t i)
{
	char a[INET_ADDR_STRLEN];

	inet_addr_format(&pc->svc->endpoints[i].addr, a);
	return xasprintf("%s-%s/%s", kind, pc->base, a);
}

/* The affinity set of endpoint i (made once per port, with the first
 * balancer that uses it). */
static char *affinity_set(struct port_ctx *pc, size_t i)
{
	char *name = ep_name(pc, "aff", i);
	struct proxy__render *r = pc->r;

	for (size_t k = 0; k < r->n_sets; k++)
		if (!strcmp(r->sets[k].name, name))
			return name;
	ALLOC_GROW(r->sets, r->n_sets + 1, r->alloc_sets);
	r->sets[r->n_sets++] = (struct proxy__set){ .name = xstrdup(name),
						    .timeout = pc->svc->affinity_timeout };
	return name;
}

static struct proxy__rule *dnat_add(struct port_ctx *pc, struct proxy__chain *c,
				    enum proxy__op op, size_t i)
{
	const struct proxy_endpoint *ep = &pc->svc->endpoints[i];
	struct proxy__rule *ru = rule_add(c, op, NULL);

	ru->prefix = (struct inet_prefix){ .addr = ep->addr,
					   .len = (unsigned)inet_family_len(ep->addr.family) * 8 };
	ru->proto = pc->svc->ports[pc->idx].protocol;
	ru->port = ep->target_ports[pc->idx];
	if (pc->svc->affinity)
		ru->set = affinity_set(pc, i);
	return ru;
}

/* One rule choosing among the n used endpoints through the endpoint map
 * "<chain>/eps" (numgen random mod n: 1/n each). */
static void dnat_map_add(struct port_ctx *pc, struct proxy__chain *c, const bool *use, size_t n)
{
	struct proxy__render *r = pc->r;
	struct proxy__rule *ru = rule_add(c, PROXY__DNAT_MAP, NULL);
	struct proxy__set *s;

	ru->set = xasprintf("%s/eps", c->name);
	ru->proto = pc->svc->ports[pc->idx].protocol;
	ru->modulus = (uint32_t)n;
	ALLOC_GROW(r->sets, r->n_sets + 1, r->alloc_sets);
	s = &r->sets[r->n_sets++];
	*s = (struct proxy__set){ .name = xstrdup(ru->set), .dests = xcalloc(n, sizeof(*s->dests)) };
	for (size_t i = 0; i < pc->svc->n_endpoints; i++) {
		if (!use[i])
			continue;
		s->dests[s->n_dests].addr = pc->svc->endpoints[i].addr;
		s->dests[s->n_dests++].port = pc->svc->endpoints[i].target_ports[pc->idx];
	}
}

/* Notes an address the service may DNAT to (for the hairpin set; sorted
 * and made unique by hairpin_finish()). */
static void hairpin_add(struct proxy__render *r, const struct inet_addr *a)
{
	ALLOC_GROW(r->hairpin, r->n_hairpin + 1, r->alloc_hairpin);
	r->hairpin[r->n_hairpin++] = *a;
}

int proxy__addr_cmp(const void *a, const void *b)
{
	const struct inet_addr *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->bytes, y->bytes, inet_family_len(x->family));
}

static void hairpin_finish(struct proxy__render *r)
{
	size_t n = 0;

	if (!r->n_hairpin)
		return;
	qsort(r->hairpin, r->n_hairpin, sizeof(*r->hairpin), proxy__addr_cmp);
	for (size_t i = 0; i < r->n_hairpin; i++)
		if (!n || proxy__addr_cmp(&r->hairpin[n - 1], &r->hairpin[i]))
			r->hairpin[n++] = r->hairpin[i];
	r->n_hairpin = n;
}

/* A balancing chain over the chosen endpoints, without a chain per
 * endpoint (every chain costs each later commit, see docs/proxy.md):
 * the masquerade mark for clients outside the cluster, then one DNAT through an endpoint map; with affinity,
 * the sticky rules, then endpoint k of n taken with probability 1/(n-k)
 * when none before it was, i.e. 1/n overall (each rule updates its own
 * affinity set). */
static void render_balancer(struct port_ctx *pc, char *name, const bool *use, size_t n)
{
	struct proxy__chain *c = chain_add(pc->r, name, -1, 0, false);
	size_t k = 0;

	if (use == pc->cl) {
		for (size_t i = 0; i < pc->node->cfg->n_cluster_cidrs; i++) {
			const struct inet_prefix *p = &pc->node->cfg->cluster_cidrs[i];
			if (p->addr.family != pc->r->family)
				continue;
			rule_add(c, PROXY__SADDR_NOT_JUMP, PROXY__MARK_MASQ)->prefix = *p;
		}
	}
	for (size_t i = 0; i < pc->svc->n_endpoints; i++)
		if (use[i])
			hairpin_add(pc->r, &pc->svc->endpoints[i].addr);
	if (!pc->svc->affinity && n > 1) {
		dnat_map_add(pc, c, use, n);
		return;
	}
	for (size_t i = 0; pc->svc->affinity && i < pc->svc->n_endpoints; i++)
		if (use[i])
			dnat_add(pc, c, PROXY__DNAT_STICKY, i);
	for (size_t i = 0; i < pc->svc->n_endpoints; i++) {
		if (!use[i])
			continue;
		dnat_add(pc, c, PROXY__DNAT, i)->modulus = k + 1 < n ? (uint32_t)(n - k) : 0;
		k++;
	}
}

static bool has_external(const struct proxy_service *svc, int family, int idx)
{
	if (svc->ports[idx].node_port && svc->type != PROXY_CLUSTER_IP)
		return true;
	for (size_t i = 0; i < svc->n_external_ips; i++)
		if (svc->external_ips[i].family == family)
			return true;
	for (size_t i = 0; i < svc->n_lb_ips; i++)
		if (svc->lb_ips[i].family == family)
			return true;
	return false;
}

/* The external chain; returns its name (owned by the render) or NULL when
 * external traffic is to be rejected. */
static const char *render_external(struct port_ctx *pc, const char *svc_chain, bool any)
{
	struct proxy__chain *c;
	const char *name;
	bool local = pc->svc->external_policy == PROXY_POLICY_LOCAL;

	if (!local && !svc_chain)
		return NULL;
	if (local && !any)
		return NULL;
	c = chain_add(pc->r, xasprintf("ext-%s", pc->base), -1, 0, false);
	name = c->name;	/* c moves when the balancer below adds a chain */
	if (!local) {
		rule_add(c, PROXY__JUMP, PROXY__MARK_MASQ);
		rule_add(c, PROXY__GOTO, svc_chain);
		return name;
	}
	/* Local policy: the node's own traffic is masqueraded and may use any
	 * endpoint; other clients keep their source and reach local ones. */
	if (svc_chain) {
		rule_add(c, PROXY__LOCAL_SRC_JUMP, PROXY__MARK_MASQ);
		rule_add(c, PROXY__LOCAL_SRC_GOTO, svc_chain);
	}
	if (pc->n_lo) {
		char *svl = xasprintf("svl-%s", pc->base);
		rule_add(c, PROXY__GOTO, svl);
		render_balancer(pc, svl, pc->lo, pc->n_lo);
	} else {
		rule_add(c, PROXY__DROP, NULL);
	}
	return name;
}

static void render_port(struct port_ctx *pc)
{
	const struct proxy_service *svc = pc->svc;
	const struct proxy_port *pt = &svc->ports[pc->idx];
	struct proxy__render *r = pc->r;
	int fam = r->family;
	bool any = false;
	char *svc_chain = NULL;
	const char *ext = NULL;
	uint8_t key[24];
	size_t kl;

	pc->n_cl = proxy__select(svc, pc->node->node_name, pc->node->zone, false, fam, pc->idx, pc->cl);
	pc->n_lo = proxy__select(svc, pc->node->node_name, NULL, true, fam, pc->idx, pc->lo);
	for (size_t i = 0; i < svc->n_endpoints; i++) {
		const struct proxy_endpoint *ep = &svc->endpoints[i];
		any |= (ep->ready || ep->serving) && ep_matches(ep, fam, pc->idx);
	}
	if (pc->n_cl) {
		svc_chain = xasprintf("svc-%s", pc->base);
		render_balancer(pc, svc_chain, pc->cl, pc->n_cl);
	}
	for (size_t i = 0; i < svc->n_cluster_ips; i++) {
		if (svc->cluster_ips[i].family != fam)
			continue;
		kl = key_svc(key, &svc->cluster_ips[i], pt->protocol, pt->port);
		if (svc_chain)
			elem_add(r, PROXY__M_SVC, key, kl, svc_chain);
		else	/* ITP Local without local endpoints drops, else reject */
			elem_add(r, PROXY__M_NOEP_SVC, key, kl, any ? NULL : PROXY__REJECT);
	}
	if (!has_external(svc, fam, pc->idx))
		return;
	ext = render_external(pc, svc_chain, any);
	for (size_t i = 0; i < svc->n_external_ips + svc->n_lb_ips; i++) {
		const struct inet_addr *a = i < svc->n_external_ips ? &svc->external_ips[i] :
			&svc->lb_ips[i - svc->n_external_ips];
		if (a->family != fam)
			continue;
		kl = key_svc(key, a, pt->protocol, pt->port);
		elem_add(r, ext ? PROXY__M_SVC : PROXY__M_NOEP_SVC, key, kl, ext ? ext : PROXY__REJECT);
	}
	if (pt->node_port && svc->type != PROXY_CLUSTER_IP) {
		kl = key_np(key, pt->protocol, pt->node_port);
		elem_add(r, ext ? PROXY__M_NP : PROXY__M_NOEP_NP, key, kl, ext ? ext : PROXY__REJECT);
	}
}

void proxy__render_service(const struct proxy_service *svc, const struct proxy__node *node,
			   struct proxy__render *r)
{
	struct port_ctx pc = { .svc = svc, .node = node, .r = r };
	size_t n = svc->n_endpoints ? svc->n_endpoints : 1, fam_ips = 0;

	/* a family the service has no cluster IP of is not served at all */
	for (size_t i = 0; i < svc->n_cluster_ips; i++)
		fam_ips += svc->cluster_ips[i].family == r->family;
	if (!fam_ips)
		return;

	pc.cl = xcalloc(n, sizeof(bool));
	pc.lo = xcalloc(n, sizeof(bool));
	for (size_t i = 0; i < svc->n_ports; i++) {
		const struct proxy_port *pt = &svc->ports[i];
		char num[8];

		snprintf(num, sizeof(num), "%u", pt->port);
		pc.idx = (int)i;
		pc.base = xasprintf("%s/%s/%s/%s", svc->namespace, svc->name,
				    proto_name(pt->protocol), pt->name[0] ? pt->name : num);
		render_port(&pc);
		free(pc.base);
	}
	hairpin_finish(r);
	free(pc.cl);
	free(pc.lo);
}
