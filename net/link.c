/*
 * net/link.c - links over rtnetlink: lookup and listing, up/down/MTU/master,
 * moving between namespaces, bridge, veth pair and VXLAN creation.
 */
#include "net/nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_NAME(ns, name) do { \
	if (!net__ifname_ok(name)) \
		return net__fail((ns), -EINVAL, "invalid interface name '%s'", \
				 (name) ? (name) : ""); \
} while (0)

/* Links k1s creates in a node's namespace carry the "k1s" prefix, so they
 * are never confused with (or clobber) the host's own. */
#define CHECK_OURS(ns, name) do { \
	CHECK_NAME(ns, name); \
	if (!str_has_prefix((name), "k1s")) \
		return net__fail((ns), -EINVAL, "link name '%s' lacks the 'k1s' prefix", \
				 (name)); \
} while (0)

/* ---- parsing RTM_NEWLINK ------------------------------------------------ */

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, IFLA_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int info_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, IFLA_INFO_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int link_parse(const struct nlmsghdr *nlh, struct net_link *l)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 }, *info[IFLA_INFO_MAX + 1] = { 0 };
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	memset(l, 0, sizeof(*l));
	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, tb) < 0)
		return -EBADMSG;
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	if (tb[IFLA_IFNAME] && !mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING))
		snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_MTU] && !mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32))
		l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_MASTER] && !mnl_attr_validate(tb[IFLA_MASTER], MNL_TYPE_U32))
		l->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6)
		memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
	if (tb[IFLA_LINKINFO] &&
	    mnl_attr_parse_nested(tb[IFLA_LINKINFO], info_cb, info) >= 0 &&
	    info[IFLA_INFO_KIND] &&
	    !mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_STRING))
		snprintf(l->kind, sizeof(l->kind), "%.*s",
			 (int)strnlen(mnl_attr_get_payload(info[IFLA_INFO_KIND]),
				      mnl_attr_get_payload_len(info[IFLA_INFO_KIND])),
			 (const char *)mnl_attr_get_payload(info[IFLA_INFO_KIND]));
	return 0;
}

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	int ret = link_parse(nlh, data);

	errno = -ret;
	return ret ? MNL_CB_ERROR : MNL_CB_OK;
}

static struct ifinfomsg *link_msg(struct net_ns *ns, void *buf, uint16_t type,
				  uint16_t flags, struct nlmsghdr **nlh)
{
	struct ifinfomsg *ifi;

	*nlh = net__msg(ns, buf, type, flags);
	ifi = mnl_nlmsg_put_extra_header(*nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	return ifi;
}

int net_link_get(struct net_ns *ns, const char *name, struct net_link *out)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;

	CHECK_NAME(ns, name);
	memset(out, 0, sizeof(*out));
	link_msg(ns, buf, RTM_GETLINK, 0, &nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return net__get(ns, nlh, get_cb, out, "find link '%s'", name);
}

int net__ifindex(struct net_ns *ns, const char *name)
{
	struct net_link l;
	int ret = net_link_get(ns, name, &l);

	return ret ? ret : l.ifindex;
}

struct link_vec {
	struct net_link *v;
	size_t n, alloc;
};

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_vec *lv = data;

	if (lv->n >= NET_DUMP_MAX) {
		errno = E2BIG;
		return MNL_CB_ERROR;
	}
	ALLOC_GROW(lv->v, lv->n + 1, lv->alloc);
	if (link_parse(nlh, &lv->v[lv->n]) == 0)
		lv->n++;
	return MNL_CB_OK;
}

int net_link_list(struct net_ns *ns, struct net_link **out, size_t *n)
{
	struct link_vec lv = { 0 };
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	int ret;

	link_msg(ns, buf, RTM_GETLINK, 0, &nlh);
	ret = net__dump(ns, nlh, list_cb, &lv, "links");
	if (ret) {
		free(lv.v);
		lv.v = NULL;
		lv.n = 0;
	}
	*out = lv.v;
	*n = lv.n;
	return ret;
}

/* ---- changing links ------------------------------------------------------ */

static int set_flags(struct net_ns *ns, const char *name, bool up)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	CHECK_NAME(ns, name);
	ifi = link_msg(ns, buf, RTM_NEWLINK, 0, &nlh);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return net__request(ns, nlh, "set link '%s' %s", name, up ? "up" : "down");
}

int net_link_set_up(struct net_ns *ns, const char *name)
{
	return set_flags(ns, name, true);
}

int net_link_set_down(struct net_ns *ns, const char *name)
{
	return set_flags(ns, name, false);
}

int net_link_set_mtu(struct net_ns *ns, const char *name, unsigned mtu)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;

	CHECK_NAME(ns, name);
	if (mtu < 68 || mtu > NET_MTU_MAX)
		return net__fail(ns, -EINVAL, "invalid MTU %u for link '%s'", mtu, name);
	link_msg(ns, buf, RTM_NEWLINK, 0, &nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return net__request(ns, nlh, "set MTU %u on link '%s'", mtu, name);
}

int net_link_set_master(struct net_ns *ns, const char *name, const char *master)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	int idx = 0;

	CHECK_NAME(ns, name);
	if (master) {
		CHECK_NAME(ns, master);
		idx = net__ifindex(ns, master);
		if (idx < 0)
			return idx;
	}
	link_msg(ns, buf, RTM_NEWLINK, 0, &nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)idx);
	return net__request(ns, nlh, "set master of link '%s' to '%s'", name,
			    master ? master : "(none)");
}

int net_link_move(struct net_ns *ns, const char *name, struct net_ns *to,
		  const char *new_name)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int idx;

	CHECK_NAME(ns, name);
	if (new_name)
		CHECK_NAME(ns, new_name);
	idx = net__ifindex(ns, name);
	if (idx < 0)
		return idx;
	ifi = link_msg(ns, buf, RTM_NEWLINK, 0, &nlh);
	ifi->ifi_index = idx;
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)to->nsfd);
	if (new_name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, new_name);
	return net__request(ns, nlh, "move link '%s' to another namespace as '%s'",
			    name, new_name ? new_name : name);
}

int net_link_del(struct net_ns *ns, const char *name)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;

	CHECK_NAME(ns, name);
	link_msg(ns, buf, RTM_DELLINK, 0, &nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return net__request(ns, nlh, "delete link '%s'", name);
}

/* ---- creating links ------------------------------------------------------ */

int net_bridge_add(struct net_ns *ns, const char *name, unsigned mtu)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct nlattr *info;

	CHECK_OURS(ns, name);
	if (mtu && (mtu < 68 || mtu > NET_MTU_MAX))
		return net__fail(ns, -EINVAL, "invalid MTU %u for bridge '%s'", mtu, name);
	link_msg(ns, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	return net__request(ns, nlh, "create bridge '%s'", name);
}

int net_bridge_port_set_hairpin(struct net_ns *ns, const char *port, bool on)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *pi;
	int idx;

	CHECK_NAME(ns, port);
	idx = net__ifindex(ns, port);
	if (idx < 0)
		return idx;
	ifi = link_msg(ns, buf, RTM_SETLINK, 0, &nlh);
	ifi->ifi_family = AF_BRIDGE;
	ifi->ifi_index = idx;
	pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
	mnl_attr_nest_end(nlh, pi);
	return net__request(ns, nlh, "set hairpin %s on bridge port '%s'",
			    on ? "on" : "off", port);
}

int net_veth_add(struct net_ns *ns, const struct net_veth *v)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi, *peer;
	struct nlattr *info, *data, *pn;
	int master = 0, ret;

	CHECK_OURS(ns, v->name);
	CHECK_NAME(ns, v->peer_name);
	if (!v->peer_ns || !v->peer_ns->nl)
		return net__fail(ns, -EINVAL, "veth '%s' has no peer namespace", v->name);
	if (v->mtu && (v->mtu < 68 || v->mtu > NET_MTU_MAX))
		return net__fail(ns, -EINVAL, "invalid MTU %u for veth '%s'", v->mtu, v->name);
	if (v->bridge) {
		CHECK_NAME(ns, v->bridge);
		master = net__ifindex(ns, v->bridge);
		if (master < 0)
			return master;
	}
	/* One request: the kernel creates both ends, the peer directly in its
	 * namespace under its final name, enslaves the host end and brings it
	 * up; if any step fails it unregisters the pair. The peer cannot be
	 * brought up in that request (veth_open() wants a registered peer:
	 * -ENOTCONN), so a second one in the peer's namespace does that. */
	ifi = link_msg(ns, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &nlh);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->name);
	if (v->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pn = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	peer = mnl_nlmsg_put_extra_header(nlh, sizeof(*peer));
	peer->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->peer_name);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)v->peer_ns->nsfd);
	if (v->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
	mnl_attr_nest_end(nlh, pn);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	ret = net__request(ns, nlh, "create veth '%s' with peer '%s'", v->name,
			   v->peer_name);
	if (ret)
		return ret;
	ret = net_link_set_up(v->peer_ns, v->peer_name);
	if (ret) {
		net_link_del(ns, v->name);
		net__fail(ns, ret, "%s", net_ns_error(v->peer_ns));
	}
	return ret;
}

int net_vxlan_add(struct net_ns *ns, const struct net_vxlan *v)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct nlattr *info, *data;
	int link = 0;

	CHECK_OURS(ns, v->name);
	if (v->vni == 0 || v->vni > 0xffffff)
		return net__fail(ns, -EINVAL, "invalid VXLAN id %u for '%s'", v->vni, v->name);
	if (!inet_family_len(v->local.family))
		return net__fail(ns, -EINVAL, "VXLAN '%s' has no local address", v->name);
	if (v->mtu && (v->mtu < 68 || v->mtu > NET_MTU_MAX))
		return net__fail(ns, -EINVAL, "invalid MTU %u for VXLAN '%s'", v->mtu, v->name);
	if (v->dev) {
		CHECK_NAME(ns, v->dev);
		link = net__ifindex(ns, v->dev);
		if (link < 0)
			return link;
	}
	link_msg(ns, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->name);
	if (v->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, v->vni);
	if (v->local.family == AF_INET)
		mnl_attr_put(nlh, IFLA_VXLAN_LOCAL, 4, v->local.bytes);
	else
		mnl_attr_put(nlh, IFLA_VXLAN_LOCAL6, 16, v->local.bytes);
	if (link)
		mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, (uint32_t)link);
	mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(v->port ? v->port : NET_VXLAN_PORT));
	mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, v->learning ? 1 : 0);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return net__request(ns, nlh, "create VXLAN '%s' (id %u)", v->name, v->vni);
}
