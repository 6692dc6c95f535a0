/*
 * net/overlay_link.c - the links under the overlay: picking the uplink and
 * the node's public address per family, the VTEP MAC, and making a VXLAN
 * device match its wanted parameters (recreated only when they differ).
 */
#include "net/nl.h"
#include "net/overlay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void net_vtep_mac(const char *node, int family, uint8_t mac[6])
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a, 64 bits */

	for (const unsigned char *p = (const unsigned char *)node; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	h = (h ^ (uint64_t)(family == AF_INET6 ? '6' : '4')) * 1099511628211ull;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);	/* unicast, locally administered */
}

/* ---- uplink ------------------------------------------------------------- */

static bool global_addr(const struct inet_addr *a)
{
	if (a->family == AF_INET)
		return a->bytes[0] != 127 && !(a->bytes[0] == 169 && a->bytes[1] == 254);
	if (a->family != AF_INET6)
		return false;
	if (a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80)
		return false;	/* link-local */
	for (int i = 0; i < 15; i++)
		if (a->bytes[i])
			return true;
	return false;		/* :: and ::1 */
}

/* The first global address of family on ifindex (family 0 when none). */
static void first_global(const struct net_ifaddr *v, size_t n, int ifindex, int family,
			 struct inet_addr *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		if (v[i].ifindex == ifindex && v[i].prefix.addr.family == family &&
		    global_addr(&v[i].prefix.addr)) {
			*out = v[i].prefix.addr;
			return;
		}
}

static int default_route_dev(struct net_ns *ns, int family, char *dev)
{
	struct net_route *rt;
	size_t n;
	int ret = net_route_list(ns, family, &rt, &n);

	if (ret)
		return ret;
	ret = -ENOENT;
	for (size_t i = 0; i < n && ret; i++)
		if (!rt[i].dst.len && rt[i].dev[0]) {
			memcpy(dev, rt[i].dev, NET_IFNAME_MAX);
			ret = 0;
		}
	free(rt);
	return ret;
}

/* Picks the link index by the rules of net_uplink_pick(). */
static int pick_link(struct net_ns *ns, const char *iface, const struct inet_addr *node_ip,
		     int family, const struct net_link *links, size_t nl,
		     const struct net_ifaddr *addrs, size_t na)
{
	char dev[NET_IFNAME_MAX] = "";
	struct inet_addr a;

	if (iface) {
		for (size_t i = 0; i < nl; i++)
			if (!strcmp(links[i].name, iface))
				return (int)i;
		return net__fail(ns, -ENODEV, "network interface '%s' not found", iface);
	}
	if (node_ip && node_ip->family == family)
		for (size_t i = 0; i < na; i++)
			if (inet_addr_equal(&addrs[i].prefix.addr, node_ip))
				for (size_t j = 0; j < nl; j++)
					if (links[j].ifindex == addrs[i].ifindex)
						return (int)j;
	if (!default_route_dev(ns, family, dev))
		for (size_t i = 0; i < nl; i++)
			if (!strcmp(links[i].name, dev))
				return (int)i;
	for (size_t i = 0; i < nl; i++) {
		if (!(links[i].flags & IFF_UP) || (links[i].flags & IFF_LOOPBACK) ||
		    str_has_prefix(links[i].name, "k1s"))
			continue;
		first_global(addrs, na, links[i].ifindex, family, &a);
		if (a.family)
			return (int)i;
	}
	return net__fail(ns, -ENOENT, "no uplink for %s", family == AF_INET6 ? "IPv6" : "IPv4");
}

int net_uplink_pick(struct net_ns *ns, const char *iface, const struct inet_addr *node_ip,
		    int family, char *dev, struct inet_addr *addr, unsigned *mtu)
{
	struct net_link *links = NULL;
	struct net_ifaddr *addrs = NULL;
	size_t nl = 0, na = 0;
	int ret, i;

	dev[0] = '\0';
	memset(addr, 0, sizeof(*addr));
	*mtu = 0;
	ret = net_link_list(ns, &links, &nl);
	if (!ret)
		ret = net_addr_list(ns, NULL, family, &addrs, &na);
	if (ret)
		goto out;
	i = pick_link(ns, iface, node_ip, family, links, nl, addrs, na);
	if (i < 0) {
		ret = i;
		goto out;
	}
	memcpy(dev, links[i].name, NET_IFNAME_MAX);
	*mtu = links[i].mtu;
	if (node_ip && node_ip->family == family)
		*addr = *node_ip;
	else
		first_global(addrs, na, links[i].ifindex, family, addr);
	ns->err[0] = '\0';
out:
	free(links);
	free(addrs);
	return ret;
}

/* ---- VXLAN devices ------------------------------------------------------ */

struct vx_info {
	struct net_link l;
	uint32_t vni, link;
	uint16_t port;		/* host order */
	struct inet_addr local;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, IFLA_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int vx_attr_cb(const struct nlattr *a, void *data)
{
	struct vx_info *v = data;
	size_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case IFLA_VXLAN_ID:
		if (len == 4)
			v->vni = mnl_attr_get_u32(a);
		break;
	case IFLA_VXLAN_LINK:
		if (len == 4)
			v->link = mnl_attr_get_u32(a);
		break;
	case IFLA_VXLAN_PORT:
		if (len == 2)
			v->port = ntohs(mnl_attr_get_u16(a));
		break;
	case IFLA_VXLAN_LOCAL:
	case IFLA_VXLAN_LOCAL6:
		if (len == 4 || len == 16) {
			v->local.family = len == 4 ? AF_INET : AF_INET6;
			memcpy(v->local.bytes, mnl_attr_get_payload(a), len);
		}
		break;
	}
	return MNL_CB_OK;
}

static int info_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_INFO_DATA)
		mnl_attr_parse_nested(a, vx_attr_cb, data);
	return MNL_CB_OK;
}

static int vx_get_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	struct vx_info *v = data;

	if (mnl_attr_parse(nlh, sizeof(struct ifinfomsg), attr_cb, tb) >= 0 && tb[IFLA_LINKINFO])
		mnl_attr_parse_nested(tb[IFLA_LINKINFO], info_cb, v);
	return MNL_CB_OK;
}

static int vx_get(struct net_ns *ns, const char *name, struct vx_info *v)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int ret;

	memset(v, 0, sizeof(*v));
	ret = net_link_get(ns, name, &v->l);
	if (ret)
		return ret;
	nlh = net__msg(ns, buf, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = v->l.ifindex;
	return net__get(ns, nlh, vx_get_cb, v, "read VXLAN '%s'", name);
}

static int set_mac(struct net_ns *ns, int ifindex, const char *name, const uint8_t mac[6])
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh = net__msg(ns, buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return net__request(ns, nlh, "set the MAC address of '%s'", name);
}

static bool vx_matches(const struct vx_info *cur, const struct net_vxlan *want, int link)
{
	return !strcmp(cur->l.kind, "vxlan") && cur->vni == want->vni &&
	       cur->port == want->port && inet_addr_equal(&cur->local, &want->local) &&
	       (int)cur->link == link;
}

int net__vxlan_ensure(struct net_ns *ns, const struct net_vxlan *want, const uint8_t mac[6],
		      unsigned *ops)
{
	struct vx_info cur;
	int ret, link = 0;

	if (want->dev) {
		link = net__ifindex(ns, want->dev);
		if (link < 0)
			return link;
	}
	ret = vx_get(ns, want->name, &cur);
	if (!ret && !vx_matches(&cur, want, link)) {
		ret = net_link_del(ns, want->name);
		if (ret)
			return ret;
		(*ops)++;
		ret = -ENODEV;
	}
	if (ret == -ENODEV) {
		ret = net_vxlan_add(ns, want);
		if (!ret)
			ret = vx_get(ns, want->name, &cur);
		(*ops)++;
	}
	if (!ret && memcmp(cur.l.mac, mac, 6)) {
		ret = set_mac(ns, cur.l.ifindex, want->name, mac);
		(*ops)++;
	}
	if (!ret && want->mtu && cur.l.mtu != want->mtu) {
		ret = net_link_set_mtu(ns, want->name, want->mtu);
		(*ops)++;
	}
	if (!ret && !(cur.l.flags & IFF_UP)) {
		ret = net_link_set_up(ns, want->name);
		(*ops)++;
	}
	return ret;
}

/* ---- hairpin on the pod bridge's ports ---------------------------------- */

struct port {
	char name[NET_IFNAME_MAX];
	int master;
	int hairpin;		/* -1 = not reported */
};

struct port_vec {
	struct port *v;
	size_t n, alloc;
};

static int protinfo_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_BRPORT_MODE && mnl_attr_get_payload_len(a) >= 1)
		*(int *)data = *(const uint8_t *)mnl_attr_get_payload(a);
	return MNL_CB_OK;
}

static int port_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	struct port_vec *pv = data;
	struct port p = { .hairpin = -1 };

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_attr_parse(nlh, sizeof(struct ifinfomsg), attr_cb, tb) < 0 ||
	    !tb[IFLA_MASTER] || !tb[IFLA_IFNAME] ||
	    mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING))
		return MNL_CB_OK;
	if (pv->n >= NET_DUMP_MAX) {
		errno = E2BIG;
		return MNL_CB_ERROR;
	}
	snprintf(p.name, sizeof(p.name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	p.master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_PROTINFO])
		mnl_attr_parse_nested(tb[IFLA_PROTINFO], protinfo_cb, &p.hairpin);
	ALLOC_GROW(pv->v, pv->n + 1, pv->alloc);
	pv->v[pv->n++] = p;
	return MNL_CB_OK;
}

int net_bridge_hairpin_all(struct net_ns *ns, const char *bridge, unsigned *changed)
{
	struct port_vec pv = { 0 };
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int br, ret;

	*changed = 0;
	br = net__ifindex(ns, bridge);
	if (br < 0)
		return br;
	nlh = net__msg(ns, buf, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_BRIDGE;
	ret = net__dump(ns, nlh, port_cb, &pv, "bridge ports");
	for (size_t i = 0; i < pv.n && !ret; i++) {
		if (pv.v[i].master != br || pv.v[i].hairpin == 1)
			continue;
		ret = net_bridge_port_set_hairpin(ns, pv.v[i].name, true);
		if (ret == -ENODEV)
			ret = 0;	/* the pod went meanwhile */
		else if (!ret)
			(*changed)++;
	}
	free(pv.v);
	return ret;
}
