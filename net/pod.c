/*
 * net/pod.c - the node's bridge and one pod's interface, built from the
 * link/address/route operations (see net/net.h).
 */
#include "net/nl.h"

#include <errno.h>
#include <string.h>

int net_bridge_ensure(struct net_ns *node, const char *name, unsigned mtu,
		      const struct inet_prefix *gw, size_t ngw)
{
	struct net_link l;
	int ret;

	ret = net_bridge_add(node, name, mtu);
	if (ret == -EEXIST) {
		ret = net_link_get(node, name, &l);
		if (!ret && strcmp(l.kind, "bridge"))
			return net__fail(node, -EEXIST, "link '%s' exists and is not a bridge",
					 name);
		if (!ret && mtu && l.mtu != mtu)
			ret = net_link_set_mtu(node, name, mtu);
	}
	if (!ret)
		ret = net_link_set_up(node, name);
	for (size_t i = 0; i < ngw && !ret; i++) {
		ret = net_addr_add(node, name, &gw[i]);
		if (ret == -EEXIST)
			ret = 0;
	}
	if (!ret)
		node->err[0] = '\0';
	return ret;
}

int net_forwarding_enable(struct net_ns *ns, bool v4, bool v6)
{
	int ret = 0;

	if (v4)
		ret = net_sysctl_set(ns, "net/ipv4/ip_forward", "1");
	if (v6 && !ret)
		ret = net_sysctl_set(ns, "net/ipv6/conf/all/forwarding", "1");
	return ret;
}

/* The gateway of family in g, or NULL. */
static const struct inet_addr *gateway_of(const struct net_ipam_addrs *g, int family)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->addr[i].addr.family == family)
			return &g->addr[i].addr;
	return NULL;
}

/* Everything inside the pod after the veth exists. */
static int pod_configure(struct net_ns *pod, const struct net_pod_net *p, const char *ifname)
{
	int ret = net_link_set_up(pod, "lo");

	for (size_t i = 0; i < p->addrs.n && !ret; i++)
		ret = net_addr_add(pod, ifname, &p->addrs.addr[i]);
	for (size_t i = 0; i < p->addrs.n && !ret; i++) {
		int family = p->addrs.addr[i].addr.family;
		const struct inet_addr *gw = gateway_of(&p->gateways, family);
		struct net_route r = { .dst.addr.family = family, .flags = NET_ROUTE_REPLACE };

		if (!gw)
			continue;
		r.gw = *gw;
		memcpy(r.dev, ifname, strlen(ifname) + 1);
		ret = net_route_add(pod, &r);
	}
	return ret;
}

/* Deletes the veth a failed attach made, keeping the first error message. */
static void undo_veth(struct net_ns *node, const char *host)
{
	char err[NET_ERR_MAX];

	memcpy(err, node->err, sizeof(err));
	net_link_del(node, host);
	memcpy(node->err, err, sizeof(err));
}

int net_pod_attach(struct net_ns *node, struct net_ns *pod, const struct net_pod_net *p)
{
	char host[NET_IFNAME_MAX];
	const char *ifname = p->ifname ? p->ifname : "eth0";
	struct net_veth v = { .name = host, .peer_ns = pod, .peer_name = ifname,
			      .mtu = p->mtu, .bridge = p->bridge };
	int ret;

	if (!p->owner || !p->owner[0] || p->addrs.n > 2 ||
	    (p->ifname && !net__ifname_ok(p->ifname)))
		return net__fail(node, -EINVAL, "invalid pod network for '%s'",
				 p->owner ? p->owner : "");
	net_veth_name(p->owner, host);
	ret = net_veth_add(node, &v);
	if (ret)
		return ret;	/* net_veth_add() leaves nothing behind */
	if (p->hairpin) {
		ret = net_bridge_port_set_hairpin(node, host, true);
		if (ret)
			goto fail;
	}
	ret = pod_configure(pod, p, ifname);
	if (ret) {
		net__fail(node, ret, "pod '%s': %s", p->owner, net_ns_error(pod));
		goto fail;
	}
	node->err[0] = '\0';
	return 0;
fail:
	undo_veth(node, host);
	return ret;
}

int net_pod_detach(struct net_ns *node, const char *owner)
{
	char host[NET_IFNAME_MAX];
	int ret = net_link_del(node, net_veth_name(owner, host));

	if (ret == -ENODEV) {
		node->err[0] = '\0';
		ret = 0;
	}
	return ret;
}
