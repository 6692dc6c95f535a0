/*
 * net/dummy.c - a dummy link holding local addresses (the node-local
 * cluster DNS answers on the kube-dns Service IPs bound to one).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/nl.h"

int net_dummy_add(struct net_ns *ns, const char *name)
{
	char buf[NET_MSG_MAX];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *info;

	if (!net__ifname_ok(name) || strncmp(name, "k1s", 3))
		return net__fail(ns, -EINVAL, "invalid dummy link name '%s'", name ? name : "");
	nlh = net__msg(ns, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "dummy");
	mnl_attr_nest_end(nlh, info);
	return net__request(ns, nlh, "create dummy link '%s'", name);
}

/* Removes addresses of dev that are not in want. */
static int drop_stale(struct net_ns *ns, const char *dev, const struct inet_prefix *want, size_t n)
{
	struct net_ifaddr *have = NULL;
	size_t nh = 0;
	int ret = net_addr_list(ns, dev, AF_UNSPEC, &have, &nh);

	for (size_t i = 0; !ret && i < nh; i++) {
		bool keep = false;

		if (have[i].prefix.addr.family == AF_INET6 && have[i].prefix.addr.bytes[0] == 0xfe &&
		    (have[i].prefix.addr.bytes[1] & 0xc0) == 0x80)
			continue;	/* the kernel's link-local */
		for (size_t j = 0; j < n && !keep; j++)
			keep = inet_addr_equal(&have[i].prefix.addr, &want[j].addr) &&
			       have[i].prefix.len == want[j].len;
		if (!keep)
			ret = net_addr_del(ns, dev, &have[i].prefix);
	}
	free(have);
	return ret;
}

int net_dummy_ensure(struct net_ns *ns, const char *name, const struct inet_prefix *addrs,
		     size_t n)
{
	struct net_link l;
	int ret = net_link_get(ns, name, &l);

	if (ret == -ENODEV)
		ret = net_dummy_add(ns, name);
	else if (!ret && strcmp(l.kind, "dummy"))
		ret = net__fail(ns, -EEXIST, "link '%s' exists and is a '%s', not a dummy", name, l.kind);
	if (ret)
		return ret;
	ret = net_link_set_up(ns, name);
	for (size_t i = 0; !ret && i < n; i++) {
		ret = net_addr_add(ns, name, &addrs[i]);
		if (ret == -EEXIST)
			ret = 0;
	}
	if (!ret)
		ret = drop_stale(ns, name, addrs, n);
	return ret;
}
