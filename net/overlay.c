/*
 * net/overlay.c - routes, neighbours and FDB entries towards the other
 * nodes' pod CIDRs, reconciled against the kernel (see "the overlay between
 * nodes" in net/net.h).
 */
#include "net/nl.h"
#include "net/overlay.h"

#include <errno.h>
#include <linux/neighbour.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One wanted entry towards one peer's pod CIDR of one family. */
struct want {
	struct net_route route;
	struct inet_addr vtep;		/* VXLAN: the peer's public IP (FDB dst) */
	uint8_t mac[6];			/* VXLAN: the peer's VTEP MAC */
	bool seen;			/* present and right */
	bool replace;			/* present with another gateway/device */
};

struct sync {
	struct net_ns *ns;
	const struct net_overlay *o;
	struct net_overlay_state *st;
	int err;			/* first failure */
	char msg[NET_ERR_MAX];
};

static const char *const vx_name[2] = { NET_OVERLAY_VX4, NET_OVERLAY_VX6 };

static void note(struct sync *s, int ret)
{
	if (ret && !s->err) {
		s->err = ret;
		snprintf(s->msg, sizeof(s->msg), "%s", net_ns_error(s->ns));
	}
}

static bool in_any(const struct inet_prefix *p, size_t n, const struct inet_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (inet_prefix_contains(&p[i], a))
			return true;
	return false;
}

static bool link_local6(const struct inet_prefix *p)
{
	return p->addr.family == AF_INET6 && p->addr.bytes[0] == 0xfe &&
	       (p->addr.bytes[1] & 0xc0) == 0x80;
}

/* A route net_overlay_sync() manages in family f: anything on the VXLAN
 * device, or a gatewayed route into a cluster CIDR outside our own. */
static bool route_ours(const struct sync *s, int f, const struct net_route *r)
{
	const struct net_overlay *o = s->o;

	if (!strcmp(r->dev, vx_name[f]))
		return !link_local6(&r->dst);
	return r->gw.family && r->dst.len &&
	       in_any(o->cluster, o->n_cluster, &r->dst.addr) &&
	       !in_any(o->own, o->n_own, &r->dst.addr);
}

static bool route_same(const struct net_route *a, const struct net_route *b)
{
	return inet_addr_equal(&a->gw, &b->gw) && !strcmp(a->dev, b->dev);
}

static int reconcile_routes(struct sync *s, int f, struct want *w, size_t nw)
{
	int family = f ? AF_INET6 : AF_INET;
	struct net_route *rt;
	size_t n;
	int ret = net_route_list(s->ns, family, &rt, &n);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		struct want *match = NULL;

		if (!route_ours(s, f, &rt[i]))
			continue;
		for (size_t j = 0; j < nw && !match; j++)
			if (w[j].route.dst.len == rt[i].dst.len &&
			    inet_addr_equal(&w[j].route.dst.addr, &rt[i].dst.addr))
				match = &w[j];
		if (match && route_same(&match->route, &rt[i])) {
			match->seen = true;
			continue;
		}
		if (match) {
			/* replaced below; a route on another device goes first, as
			 * IPv6 rejects an onlink gateway that another device's
			 * route covers */
			match->replace = true;
			if (strcmp(match->route.dev, rt[i].dev))
				note(s, net_route_del(s->ns, &rt[i]));
			continue;
		}
		note(s, net_route_del(s->ns, &rt[i]));
		s->st->removed++;
	}
	free(rt);
	for (size_t j = 0; j < nw; j++) {
		if (w[j].seen)
			continue;
		w[j].route.flags |= NET_ROUTE_REPLACE;
		ret = net_route_add(s->ns, &w[j].route);
		note(s, ret);
		if (w[j].replace)
			s->st->changed++;
		else
			s->st->added++;
	}
	return 0;
}

static bool mac_eq(const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a, b, 6);
}

/* Permanent neighbours of the device: one per wanted gateway. */
static int reconcile_neigh(struct sync *s, int f, const struct want *w, size_t nw)
{
	const char *dev = vx_name[f];
	struct net_neigh *v;
	unsigned char *ok = xcalloc(nw + 1, 1);
	size_t n;
	int ret = net_neigh_list(s->ns, dev, f ? AF_INET6 : AF_INET, &v, &n);

	if (ret)
		goto out;
	/* ok[j]: 1 = present and right, 2 = present with another MAC */
	for (size_t i = 0; i < n; i++) {
		bool wanted_addr = false;

		if (!(v[i].state & NUD_PERMANENT))
			continue;
		for (size_t j = 0; j < nw && !wanted_addr; j++)
			if (inet_addr_equal(&w[j].route.gw, &v[i].addr)) {
				wanted_addr = true;
				ok[j] = v[i].has_mac && mac_eq(v[i].mac, w[j].mac) ? 1 : 2;
			}
		if (!wanted_addr) {
			note(s, net_neigh_del(s->ns, dev, &v[i].addr));
			s->st->removed++;
		}
	}
	for (size_t j = 0; j < nw; j++)
		if (ok[j] != 1) {
			note(s, net_neigh_set(s->ns, dev, &w[j].route.gw, w[j].mac));
			if (ok[j])
				s->st->changed++;
			else
				s->st->added++;
		}
	free(v);
out:
	free(ok);
	return ret;
}

/* FDB entries of the device: one (MAC, remote VTEP) pair per peer. */
static int reconcile_fdb(struct sync *s, int f, const struct want *w, size_t nw)
{
	const char *dev = vx_name[f];
	struct net_neigh *v;
	bool *ok = xcalloc(nw + 1, sizeof(bool));
	size_t n;
	int ret = net_neigh_list(s->ns, dev, AF_BRIDGE, &v, &n);

	if (ret)
		goto out;
	for (size_t i = 0; i < n; i++) {
		bool keep = false;

		if (!v[i].has_mac || !v[i].addr.family)
			continue;
		for (size_t j = 0; j < nw && !keep; j++)
			if (mac_eq(v[i].mac, w[j].mac) && inet_addr_equal(&v[i].addr, &w[j].vtep))
				keep = ok[j] = true;
		if (!keep) {
			note(s, net_fdb_del(s->ns, dev, v[i].mac, &v[i].addr));
			s->st->removed++;
		}
	}
	for (size_t j = 0; j < nw; j++)
		if (!ok[j]) {
			note(s, net_fdb_set(s->ns, dev, w[j].mac, &w[j].vtep));
			s->st->added++;
		}
	free(v);
out:
	free(ok);
	return ret;
}

/* The underlay family index for pod family f, or -1 when the node has no
 * public address at all. */
static int underlay(const struct net_overlay_state *st, int f)
{
	if (st->public_ip[f].family)
		return f;
	return st->public_ip[!f].family ? !f : -1;
}

/* The wanted entries of pod family f (an array of o->n_peers entries). */
static size_t wanted(struct sync *s, int f, struct want *w)
{
	const struct net_overlay *o = s->o;
	int u = underlay(s->st, f), family = f ? AF_INET6 : AF_INET;
	size_t nw = 0;

	for (size_t i = 0; i < o->n_peers; i++) {
		const struct net_overlay_peer *p = &o->peers[i];

		for (size_t c = 0; c < p->n_cidrs; c++) {
			const struct inet_prefix *cidr = &p->cidrs[c];
			struct want *x = &w[nw];

			if (cidr->addr.family != family || in_any(o->own, o->n_own, &cidr->addr))
				continue;
			memset(x, 0, sizeof(*x));
			x->route.dst = *cidr;
			if (o->backend == NET_BACKEND_HOST_GW) {
				if (!p->public_ip[f].family || !s->st->uplink[f][0]) {
					s->st->skipped++;
					continue;
				}
				x->route.gw = p->public_ip[f];
				memcpy(x->route.dev, s->st->uplink[f], NET_IFNAME_MAX);
			} else {
				if (u < 0 || !p->has_mac[f] || !p->public_ip[u].family) {
					s->st->skipped++;
					continue;
				}
				x->route.gw = cidr->addr;
				x->route.flags = NET_ROUTE_ONLINK;
				snprintf(x->route.dev, NET_IFNAME_MAX, "%s", vx_name[f]);
				x->vtep = p->public_ip[u];
				memcpy(x->mac, p->vtep_mac[f], 6);
			}
			nw++;
		}
	}
	return nw;
}

static const struct inet_prefix *own_cidr(const struct net_overlay *o, int family)
{
	for (size_t i = 0; i < o->n_own; i++)
		if (o->own[i].addr.family == family)
			return &o->own[i];
	return NULL;
}

/* The VXLAN device of pod family f, with the network address of our pod
 * CIDR (as /32 or /128) as its only global address. */
static int device_ensure(struct sync *s, int f, const struct inet_prefix *own)
{
	int u = underlay(s->st, f);
	struct net_vxlan v = {
		.name = vx_name[f], .vni = s->o->vni ? s->o->vni : NET_OVERLAY_VNI,
		.local = s->st->public_ip[u], .dev = s->st->uplink[u],
		.port = s->o->port ? s->o->port : NET_VXLAN_PORT,
	};
	struct inet_prefix addr = { .addr = own->addr, .len = f ? 128 : 32 };
	struct net_ifaddr *a;
	unsigned ops = 0, mtu;
	bool have = false;
	size_t n;
	int ret;

	if (!net_pod_mtu(s->st->uplink_mtu[u], u ? AF_INET6 : AF_INET, true, &mtu))
		v.mtu = mtu;
	ret = net__vxlan_ensure(s->ns, &v, s->o->vtep_mac[f], &ops);
	s->st->changed += ops;
	if (!ret)
		ret = net_addr_list(s->ns, v.name, f ? AF_INET6 : AF_INET, &a, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (a[i].prefix.len == addr.len && inet_addr_equal(&a[i].prefix.addr, &addr.addr))
			have = true;
		else if (!link_local6(&a[i].prefix))
			note(s, net_addr_del(s->ns, v.name, &a[i].prefix));
	}
	free(a);
	if (!have)
		ret = net_addr_add(s->ns, v.name, &addr);
	return ret == -EEXIST ? 0 : ret;
}

static void device_remove(struct sync *s, int f)
{
	int ret = net_link_del(s->ns, vx_name[f]);

	if (ret == -ENODEV)
		return;
	note(s, ret);
	s->st->removed++;
}

static void sync_family(struct sync *s, int f)
{
	const struct inet_prefix *own = own_cidr(s->o, f ? AF_INET6 : AF_INET);
	struct want *w = xcalloc(s->o->n_peers * 2 + 1, sizeof(*w));
	size_t nw = own ? wanted(s, f, w) : 0;
	bool vx = s->o->backend == NET_BACKEND_VXLAN && nw;

	if (vx) {
		int ret = device_ensure(s, f, own);

		note(s, ret);
		if (!ret) {
			note(s, reconcile_fdb(s, f, w, nw));
			note(s, reconcile_neigh(s, f, w, nw));
		}
	} else {
		device_remove(s, f);
	}
	note(s, reconcile_routes(s, f, w, nw));
	free(w);
}

static void pick_uplinks(struct sync *s)
{
	for (int f = 0; f < 2; f++) {
		const struct inet_addr *ip = s->o->node_ip[f].family ? &s->o->node_ip[f] : NULL;
		int ret = net_uplink_pick(s->ns, s->o->iface, ip, f ? AF_INET6 : AF_INET,
					  s->st->uplink[f], &s->st->public_ip[f],
					  &s->st->uplink_mtu[f]);

		if (ret && ret != -ENOENT)
			note(s, ret);
		if (ret == -ENOENT && ip)
			s->st->public_ip[f] = *ip;	/* e.g. a NAT address */
	}
}

/* The smallest MTU over the pod families: those of the node's podCIDRs, or
 * of the cluster CIDRs before the node has any (the agent's start). */
static unsigned pod_mtu(const struct net_overlay *o, const struct net_overlay_state *st)
{
	const struct inet_prefix *fams = o->n_own ? o->own : o->cluster;
	size_t nf = o->n_own ? o->n_own : o->n_cluster;
	unsigned best = 0, m;

	for (size_t i = 0; i < nf; i++) {
		int f = net_fam_idx(fams[i].addr.family);
		int u = o->backend == NET_BACKEND_VXLAN ? underlay(st, f) : f;

		if (u < 0 || !st->uplink_mtu[u] ||
		    net_pod_mtu(st->uplink_mtu[u], u ? AF_INET6 : AF_INET,
				o->backend == NET_BACKEND_VXLAN, &m))
			continue;
		if (!best || m < best)
			best = m;
	}
	return best;
}

unsigned net_overlay_pod_mtu(struct net_ns *ns, const struct net_overlay *o)
{
	struct net_overlay_state st = { 0 };
	struct sync s = { .ns = ns, .o = o, .st = &st };

	pick_uplinks(&s);
	return pod_mtu(o, &st);
}

int net_overlay_sync(struct net_ns *ns, const struct net_overlay *o,
		     struct net_overlay_state *st)
{
	struct sync s = { .ns = ns, .o = o, .st = st };

	memset(st, 0, sizeof(*st));
	if (o->n_own > 2 || o->n_cluster > 2 || o->n_peers > NET_OVERLAY_MAX_PEERS ||
	    (o->vni > 0xffffff))
		return net__fail(ns, -EINVAL, "invalid overlay configuration");
	pick_uplinks(&s);
	if (o->n_own)
		note(&s, net_forwarding_enable(ns, own_cidr(o, AF_INET) != NULL,
					       own_cidr(o, AF_INET6) != NULL));
	for (int f = 0; f < 2; f++)
		sync_family(&s, f);
	st->pod_mtu = pod_mtu(o, st);
	if (s.err)
		snprintf(ns->err, sizeof(ns->err), "%s", s.msg);
	else
		ns->err[0] = '\0';
	return s.err;
}
