/*
 * net/route.c - addresses, routes (main table), neighbours and FDB entries
 * over rtnetlink.
 */
#include "net/nl.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_DEV(ns, dev, idx) do { \
	if (!net__ifname_ok(dev)) \
		return net__fail((ns), -EINVAL, "invalid interface name '%s'", \
				 (dev) ? (dev) : ""); \
	(idx) = net__ifindex((ns), (dev)); \
	if ((idx) < 0) \
		return (idx); \
} while (0)

static bool prefix_ok(const struct inet_prefix *p)
{
	size_t n = inet_family_len(p->addr.family);

	return n && p->len <= n * 8;
}

/* ---- addresses ----------------------------------------------------------- */

static int addr_change(struct net_ns *ns, uint16_t type, uint16_t flags,
		       const char *dev, const struct inet_prefix *p)
{
	char buf[NET_MSG_MAX], s[INET_PREFIX_STRLEN];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	size_t alen = inet_family_len(p->addr.family);
	int idx;

	if (!prefix_ok(p))
		return net__fail(ns, -EINVAL, "invalid address for link '%s'",
				 dev ? dev : "");
	CHECK_DEV(ns, dev, idx);
	nlh = net__msg(ns, buf, type, flags);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)p->addr.family;
	ifa->ifa_prefixlen = (uint8_t)p->len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)idx;
	mnl_attr_put(nlh, IFA_LOCAL, alen, p->addr.bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, p->addr.bytes);
	if (p->addr.family == AF_INET6 && type == RTM_NEWADDR) {
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	return net__request(ns, nlh, "%s address %s %s link '%s'",
			    type == RTM_NEWADDR ? "add" : "delete",
			    inet_prefix_format(p, s), type == RTM_NEWADDR ? "to" : "from", dev);
}

int net_addr_add(struct net_ns *ns, const char *dev, const struct inet_prefix *p)
{
	return addr_change(ns, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, dev, p);
}

int net_addr_del(struct net_ns *ns, const char *dev, const struct inet_prefix *p)
{
	return addr_change(ns, RTM_DELADDR, 0, dev, p);
}

static int ifa_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, IFA_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

/* Copies an address attribute of exactly the family's length. */
static bool get_addr(const struct nlattr *a, int family, struct inet_addr *out)
{
	size_t n = inet_family_len(family);

	if (!a || !n || mnl_attr_get_payload_len(a) != n)
		return false;
	out->family = family;
	memcpy(out->bytes, mnl_attr_get_payload(a), n);
	return true;
}

struct addr_vec {
	int ifindex;            /* 0 = any */
	struct net_ifaddr *v;
	size_t n, alloc;
};

static int addr_list_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_vec *av = data;
	struct net_ifaddr x = { 0 };

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_attr_parse(nlh, sizeof(*ifa), ifa_attr_cb, tb) < 0)
		return MNL_CB_OK;
	if (av->ifindex && (int)ifa->ifa_index != av->ifindex)
		return MNL_CB_OK;
	if (!get_addr(tb[IFA_LOCAL], ifa->ifa_family, &x.prefix.addr) &&
	    !get_addr(tb[IFA_ADDRESS], ifa->ifa_family, &x.prefix.addr))
		return MNL_CB_OK;
	if (av->n >= NET_DUMP_MAX) {
		errno = E2BIG;
		return MNL_CB_ERROR;
	}
	x.ifindex = (int)ifa->ifa_index;
	x.prefix.len = ifa->ifa_prefixlen;
	x.flags = ifa->ifa_flags;
	if (tb[IFA_FLAGS] && !mnl_attr_validate(tb[IFA_FLAGS], MNL_TYPE_U32))
		x.flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
	x.scope = ifa->ifa_scope;
	ALLOC_GROW(av->v, av->n + 1, av->alloc);
	av->v[av->n++] = x;
	return MNL_CB_OK;
}

int net_addr_list(struct net_ns *ns, const char *dev, int family,
		  struct net_ifaddr **out, size_t *n)
{
	struct addr_vec av = { 0 };
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (dev)
		CHECK_DEV(ns, dev, av.ifindex);
	nlh = net__msg(ns, buf, RTM_GETADDR, 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ret = net__dump(ns, nlh, addr_list_cb, &av, "addresses");
	if (ret) {
		free(av.v);
		return ret;
	}
	*out = av.v;
	*n = av.n;
	return 0;
}

/* ---- routes ------------------------------------------------------------- */

static int route_msg(struct net_ns *ns, void *buf, uint16_t type, uint16_t flags,
		     const struct net_route *r, struct nlmsghdr **out)
{
	int family = r->dst.addr.family, oif = 0;
	size_t alen = inet_family_len(family);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (!prefix_ok(&r->dst) || (r->flags & ~NET_ROUTE_F_ALL) ||
	    (r->gw.family && r->gw.family != family) ||
	    (r->src.family && r->src.family != family) ||
	    (r->mtu && (r->mtu < 68 || r->mtu > NET_MTU_MAX)))
		return net__fail(ns, -EINVAL, "invalid route");
	if (r->dev[0])
		CHECK_DEV(ns, r->dev, oif);
	if (!oif && !r->gw.family)
		return net__fail(ns, -EINVAL, "route needs a gateway or a device");
	nlh = net__msg(ns, buf, type, flags);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)r->dst.len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	if (type == RTM_NEWROUTE) {
		rtm->rtm_protocol = RTPROT_STATIC;
		rtm->rtm_scope = r->gw.family ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	} else {
		rtm->rtm_scope = RT_SCOPE_NOWHERE;	/* match any scope */
	}
	if (r->flags & NET_ROUTE_ONLINK)
		rtm->rtm_flags |= RTNH_F_ONLINK;
	if (r->dst.len)
		mnl_attr_put(nlh, RTA_DST, alen, r->dst.addr.bytes);
	if (r->gw.family)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, r->gw.bytes);
	if (r->src.family)
		mnl_attr_put(nlh, RTA_PREFSRC, alen, r->src.bytes);
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	if (r->mtu) {
		struct nlattr *m = mnl_attr_nest_start(nlh, RTA_METRICS);

		mnl_attr_put_u32(nlh, RTAX_MTU, r->mtu);
		mnl_attr_nest_end(nlh, m);
	}
	*out = nlh;
	return 0;
}

static int route_change(struct net_ns *ns, uint16_t type, uint16_t flags,
			const struct net_route *r)
{
	char buf[NET_MSG_MAX], d[INET_PREFIX_STRLEN], g[INET_ADDR_STRLEN];
	struct nlmsghdr *nlh = NULL;
	int ret = route_msg(ns, buf, type, flags, r, &nlh);

	if (ret)
		return ret;
	return net__request(ns, nlh, "%s route %s%s%s%s%s",
			    type == RTM_NEWROUTE ? "add" : "delete",
			    inet_prefix_format(&r->dst, d),
			    r->gw.family ? " via " : "", inet_addr_format(&r->gw, g),
			    r->dev[0] ? " dev " : "", r->dev);
}

int net_route_add(struct net_ns *ns, const struct net_route *r)
{
	uint16_t f = NLM_F_CREATE |
		     ((r->flags & NET_ROUTE_REPLACE) ? NLM_F_REPLACE : NLM_F_EXCL);

	return route_change(ns, RTM_NEWROUTE, f, r);
}

int net_route_del(struct net_ns *ns, const struct net_route *r)
{
	return route_change(ns, RTM_DELROUTE, 0, r);
}

static int rta_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, RTA_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int metrics_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == RTAX_MTU && !mnl_attr_validate(a, MNL_TYPE_U32))
		*(unsigned *)data = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

struct route_vec {
	struct net_link *links;
	size_t nlinks;
	struct net_route *v;
	size_t n, alloc;
};

static void dev_name(const struct route_vec *rv, int ifindex, char *out)
{
	for (size_t i = 0; i < rv->nlinks; i++)
		if (rv->links[i].ifindex == ifindex) {
			memcpy(out, rv->links[i].name, NET_IFNAME_MAX);
			return;
		}
}

static int route_list_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_vec *rv = data;
	struct net_route r = { 0 };
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_attr_parse(nlh, sizeof(*rtm), rta_attr_cb, tb) < 0)
		return MNL_CB_OK;
	table = rtm->rtm_table;
	if (tb[RTA_TABLE] && !mnl_attr_validate(tb[RTA_TABLE], MNL_TYPE_U32))
		table = mnl_attr_get_u32(tb[RTA_TABLE]);
	if (table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST ||
	    !inet_family_len(rtm->rtm_family))
		return MNL_CB_OK;
	if (rv->n >= NET_DUMP_MAX) {
		errno = E2BIG;
		return MNL_CB_ERROR;
	}
	r.dst.addr.family = rtm->rtm_family;
	r.dst.len = rtm->rtm_dst_len;
	get_addr(tb[RTA_DST], rtm->rtm_family, &r.dst.addr);
	get_addr(tb[RTA_GATEWAY], rtm->rtm_family, &r.gw);
	get_addr(tb[RTA_PREFSRC], rtm->rtm_family, &r.src);
	if (tb[RTA_OIF] && !mnl_attr_validate(tb[RTA_OIF], MNL_TYPE_U32))
		dev_name(rv, (int)mnl_attr_get_u32(tb[RTA_OIF]), r.dev);
	if (tb[RTA_METRICS])
		mnl_attr_parse_nested(tb[RTA_METRICS], metrics_cb, &r.mtu);
	if (rtm->rtm_flags & RTNH_F_ONLINK)
		r.flags |= NET_ROUTE_ONLINK;
	ALLOC_GROW(rv->v, rv->n + 1, rv->alloc);
	rv->v[rv->n++] = r;
	return MNL_CB_OK;
}

int net_route_list(struct net_ns *ns, int family, struct net_route **out, size_t *n)
{
	struct route_vec rv = { 0 };
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int ret;

	*out = NULL;
	*n = 0;
	ret = net_link_list(ns, &rv.links, &rv.nlinks);
	if (ret)
		return ret;
	nlh = net__msg(ns, buf, RTM_GETROUTE, 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	ret = net__dump(ns, nlh, route_list_cb, &rv, "routes");
	free(rv.links);
	if (ret) {
		free(rv.v);
		return ret;
	}
	*out = rv.v;
	*n = rv.n;
	return 0;
}

/* ---- neighbours and FDB -------------------------------------------------- */

static int neigh_change(struct net_ns *ns, uint16_t type, int family, const char *dev,
			const struct inet_addr *ip, const uint8_t *mac)
{
	char buf[NET_MSG_MAX], s[INET_ADDR_STRLEN], m[18] = "";
	uint16_t flags = type == RTM_NEWNEIGH ? NLM_F_CREATE | NLM_F_REPLACE : 0;
	struct nlmsghdr *nlh;
	struct ndmsg *nd;
	int idx;

	if (!ip || !inet_family_len(ip->family))
		return net__fail(ns, -EINVAL, "invalid neighbour address on '%s'",
				 dev ? dev : "");
	CHECK_DEV(ns, dev, idx);
	nlh = net__msg(ns, buf, type, flags);
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)family;
	nd->ndm_ifindex = idx;
	nd->ndm_state = NUD_PERMANENT;
	if (family == AF_BRIDGE)
		nd->ndm_flags = NTF_SELF;
	mnl_attr_put(nlh, NDA_DST, inet_family_len(ip->family), ip->bytes);
	if (mac) {
		mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
		snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x",
			 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	}
	return net__request(ns, nlh, "%s %s %s%s%s on '%s'",
			    type == RTM_NEWNEIGH ? "set" : "delete",
			    family == AF_BRIDGE ? "fdb entry" : "neighbour",
			    family == AF_BRIDGE ? m : inet_addr_format(ip, s),
			    family == AF_BRIDGE ? " dst " : mac ? " lladdr " : "",
			    family == AF_BRIDGE ? inet_addr_format(ip, s) : m, dev);
}

int net_neigh_set(struct net_ns *ns, const char *dev, const struct inet_addr *ip,
		  const uint8_t mac[6])
{
	return neigh_change(ns, RTM_NEWNEIGH, ip ? ip->family : 0, dev, ip, mac);
}

int net_neigh_del(struct net_ns *ns, const char *dev, const struct inet_addr *ip)
{
	return neigh_change(ns, RTM_DELNEIGH, ip ? ip->family : 0, dev, ip, NULL);
}

int net_fdb_set(struct net_ns *ns, const char *dev, const uint8_t mac[6],
		const struct inet_addr *dst)
{
	return neigh_change(ns, RTM_NEWNEIGH, AF_BRIDGE, dev, dst, mac);
}

int net_fdb_del(struct net_ns *ns, const char *dev, const uint8_t mac[6],
		const struct inet_addr *dst)
{
	return neigh_change(ns, RTM_DELNEIGH, AF_BRIDGE, dev, dst, mac);
}

static int nda_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, NDA_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

struct neigh_vec {
	int ifindex;            /* 0 = any */
	int family;
	struct net_neigh *v;
	size_t n, alloc;
};

static int neigh_list_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NDA_MAX + 1] = { 0 };
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	struct neigh_vec *nv = data;
	struct net_neigh x = { 0 };

	if (nlh->nlmsg_type != RTM_NEWNEIGH ||
	    mnl_attr_parse(nlh, sizeof(*nd), nda_attr_cb, tb) < 0)
		return MNL_CB_OK;
	if ((nv->ifindex && nd->ndm_ifindex != nv->ifindex) ||
	    (nv->family && nd->ndm_family != nv->family) ||
	    (!nv->family && nd->ndm_family == AF_BRIDGE))
		return MNL_CB_OK;
	if (nv->n >= NET_DUMP_MAX) {
		errno = E2BIG;
		return MNL_CB_ERROR;
	}
	x.family = nd->ndm_family;
	x.ifindex = nd->ndm_ifindex;
	x.state = nd->ndm_state;
	x.flags = nd->ndm_flags;
	if (!get_addr(tb[NDA_DST], AF_INET, &x.addr))
		get_addr(tb[NDA_DST], AF_INET6, &x.addr);
	if (tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) == 6) {
		memcpy(x.mac, mnl_attr_get_payload(tb[NDA_LLADDR]), 6);
		x.has_mac = true;
	}
	ALLOC_GROW(nv->v, nv->n + 1, nv->alloc);
	nv->v[nv->n++] = x;
	return MNL_CB_OK;
}

int net_neigh_list(struct net_ns *ns, const char *dev, int family,
		   struct net_neigh **out, size_t *n)
{
	struct neigh_vec nv = { .family = family };
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct ndmsg *nd;
	int ret;

	*out = NULL;
	*n = 0;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6 &&
	    family != AF_BRIDGE)
		return net__fail(ns, -EINVAL, "invalid neighbour family %d", family);
	if (dev)
		CHECK_DEV(ns, dev, nv.ifindex);
	nlh = net__msg(ns, buf, RTM_GETNEIGH, 0);
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)family;
	ret = net__dump(ns, nlh, neigh_list_cb, &nv,
			family == AF_BRIDGE ? "fdb entries" : "neighbours");
	if (ret) {
		free(nv.v);
		return ret;
	}
	*out = nv.v;
	*n = nv.n;
	return 0;
}
