/*
 * The node-to-node network: Node decoding (agent/overlay.h), VTEP MACs,
 * and net_overlay_sync()/net_masq_sync() against the real kernel. Each
 * kernel test runs in the test's own forked process, which first moves
 * into a fresh network namespace (unshare), so everything it creates goes
 * away with it:
 *
 *   [unshared netns]  up0 192.0.2.1/24 2001:db8::1/64 (veth, peer up1), default routes
 *                     k1s.vx4 / k1s.vx6 made by the sync
 */
#include "test.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/overlay.h"
#include "lib/util.h"
#include "net/net.h"

static const char *node_json =
	"{\"metadata\":{\"name\":\"n2\",\"annotations\":{"
	"\"k1s.io/public-ip\":\"192.0.2.2\",\"k1s.io/vtep-mac\":\"02:00:00:00:00:02\","
	"\"k1s.io/vtep-mac6\":\"02:00:00:00:00:06\"}},"
	"\"spec\":{\"podCIDRs\":[\"10.42.1.0/24\",\"fd42:0:0:1::/64\"]},"
	"\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.0.2.99\"},"
	"{\"type\":\"InternalIP\",\"address\":\"2001:db8::2\"},{\"type\":\"Hostname\",\"address\":\"n2\"}]}}";

TEST(overlay_peer_decode)
{
	cJSON *n = cJSON_Parse(node_json);
	struct net_overlay_peer p;
	char b[INET_PREFIX_STRLEN];

	ASSERT_OK(overlay__peer_decode(n, &p));
	ASSERT_STR_EQ(p.name, "n2");
	ASSERT_EQ(p.n_cidrs, 2);
	ASSERT_STR_EQ(inet_prefix_format(&p.cidrs[1], b), "fd42:0:0:1::/64");
	/* the annotation wins over the InternalIP; IPv6 falls back to it */
	ASSERT_STR_EQ(inet_addr_format(&p.public_ip[0], b), "192.0.2.2");
	ASSERT_STR_EQ(inet_addr_format(&p.public_ip[1], b), "2001:db8::2");
	ASSERT_TRUE(p.has_mac[0] && p.has_mac[1]);
	ASSERT_EQ(p.vtep_mac[1][5], 6);
	cJSON_Delete(n);

	/* the old single podCIDR; a bad MAC is no MAC */
	n = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"annotations\":{\"k1s.io/vtep-mac\":\"02:00\"}},"
			"\"spec\":{\"podCIDR\":\"10.42.7.0/24\"}}");
	ASSERT_OK(overlay__peer_decode(n, &p));
	ASSERT_EQ(p.n_cidrs, 1);
	ASSERT_FALSE(p.has_mac[0]);
	ASSERT_EQ(p.public_ip[0].family, 0);
	cJSON_Delete(n);

	n = cJSON_Parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"podCIDRs\":[\"10.42.7.1/24\"]}}");
	ASSERT_EQ(overlay__peer_decode(n, &p), -EINVAL);	/* not a CIDR */
	cJSON_Delete(n);
	n = cJSON_Parse("{\"metadata\":{},\"spec\":{}}");
	ASSERT_EQ(overlay__peer_decode(n, &p), -EINVAL);	/* no name */
	cJSON_Delete(n);
}

TEST(overlay_vtep_mac)
{
	uint8_t a[6], b[6], c[6];

	net_vtep_mac("node1", AF_INET, a);
	net_vtep_mac("node1", AF_INET, b);
	ASSERT_TRUE(!memcmp(a, b, 6));			/* stable */
	net_vtep_mac("node1", AF_INET6, c);
	ASSERT_TRUE(memcmp(a, c, 6) != 0);		/* per family */
	net_vtep_mac("node2", AF_INET, c);
	ASSERT_TRUE(memcmp(a, c, 6) != 0);		/* per node */
	ASSERT_EQ(a[0] & 0x03, 0x02);			/* unicast, locally administered */
}

TEST(overlay_check_flags)
{
	struct agent_config c;
	char *err = NULL;

	agent_config_init(&c);
	ASSERT_OK(overlay__check(&c, &err));
	c.network_backend = "flannel";
	ASSERT_EQ(overlay__check(&c, &err), -EINVAL);
	ASSERT_TRUE(strstr(err, "vxlan, host-gw or none") != NULL);
	free(err);
	c.network_backend = "host-gw";
	c.cluster_cidr = "10.42.0.0/16,10.44.0.0/16";
	ASSERT_EQ(overlay__check(&c, &err), -EINVAL);	/* two of one family */
	free(err);
	c.cluster_cidr = "fd42::/56";
	c.vxlan_vni = 1 << 24;
	ASSERT_EQ(overlay__check(&c, &err), -EINVAL);
	free(err);
	c.vxlan_vni = 4096;
	ASSERT_OK(overlay__check(&c, &err));
}

/* ---- against the kernel ---- */

static void sh(const char *cmd)
{
	if (system(cmd))
		test_fail(__FILE__, __LINE__, "'%s' failed", cmd);
}

static void own_netns(void)
{
	if (unshare(CLONE_NEWNET))
		test_fail(__FILE__, __LINE__, "unshare: %s", strerror(errno));
	sh("ip link set lo up && ip link add up0 type veth peer name up1 && "
	   "ip addr add 192.0.2.1/24 dev up0 && ip addr add 2001:db8::1/64 dev up0 nodad && "
	   "ip link set up0 up && ip link set up1 up && "
	   "ip route add default via 192.0.2.254 && ip -6 route add default via 2001:db8::fe");
}

static void pfx(const char *s, struct inet_prefix *p)
{
	ASSERT_OK(inet_prefix_parse(s, 0, p));
}

static void peer(struct net_overlay_peer *p, const char *name, int n)
{
	char b[64];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->n_cidrs = 2;
	snprintf(b, sizeof(b), "10.42.%d.0/24", n);
	pfx(b, &p->cidrs[0]);
	snprintf(b, sizeof(b), "fd42:0:0:%d::/64", n);
	pfx(b, &p->cidrs[1]);
	snprintf(b, sizeof(b), "192.0.2.%d", n + 1);
	ASSERT_OK(inet_addr_parse(b, &p->public_ip[0]));
	snprintf(b, sizeof(b), "2001:db8::%d", n + 1);
	ASSERT_OK(inet_addr_parse(b, &p->public_ip[1]));
	net_vtep_mac(name, AF_INET, p->vtep_mac[0]);
	net_vtep_mac(name, AF_INET6, p->vtep_mac[1]);
	p->has_mac[0] = p->has_mac[1] = true;
}

static size_t count(struct net_ns *ns, const char *dev, int family)
{
	struct net_neigh *v;
	struct net_route *r;
	size_t n, k = 0;

	if (family == AF_BRIDGE || family < 0) {
		ASSERT_OK(net_neigh_list(ns, dev, family < 0 ? -family : family, &v, &n));
		for (size_t i = 0; i < n; i++)
			k += family == AF_BRIDGE ? v[i].addr.family != 0 : v[i].state == 0x80;
		free(v);
		return k;
	}
	ASSERT_OK(net_route_list(ns, family, &r, &n));
	for (size_t i = 0; i < n; i++)
		k += !strcmp(r[i].dev, dev) && r[i].gw.family;
	free(r);
	return k;
}

TEST(overlay_sync_vxlan_diff)
{
	struct net_overlay_peer peers[3];
	struct net_overlay o = { .backend = NET_BACKEND_VXLAN, .n_own = 2, .n_cluster = 2,
				 .peers = peers, .n_peers = 2 };
	struct net_overlay_state st;
	struct net_link l;
	struct net_ns ns;
	uint8_t bogus[6] = { 2, 9, 9, 9, 9, 9 };
	struct inet_addr dst;

	own_netns();
	ASSERT_OK(net_ns_open(&ns, NULL));
	pfx("10.42.0.0/24", &o.own[0]);
	pfx("fd42::/64", &o.own[1]);
	pfx("10.42.0.0/16", &o.cluster[0]);
	pfx("fd42::/56", &o.cluster[1]);
	net_vtep_mac("me", AF_INET, o.vtep_mac[0]);
	net_vtep_mac("me", AF_INET6, o.vtep_mac[1]);
	peer(&peers[0], "p1", 1);
	peer(&peers[1], "p2", 2);

	ASSERT_OK(net_overlay_sync(&ns, &o, &st));
	ASSERT_STR_EQ(st.uplink[0], "up0");
	ASSERT_EQ(st.pod_mtu, 1430);		/* 1500 - 70 (IPv6 underlay) */
	ASSERT_EQ(st.added, 12);		/* 2 peers x 2 families x (route, neigh, fdb) */
	ASSERT_OK(net_link_get(&ns, NET_OVERLAY_VX4, &l));
	ASSERT_EQ(l.mtu, 1450);
	ASSERT_TRUE(!memcmp(l.mac, o.vtep_mac[0], 6));
	ASSERT_EQ(count(&ns, NET_OVERLAY_VX4, AF_INET), 2);
	ASSERT_EQ(count(&ns, NET_OVERLAY_VX6, AF_INET6), 2);
	ASSERT_EQ(count(&ns, NET_OVERLAY_VX4, AF_BRIDGE), 2);
	ASSERT_EQ(count(&ns, NET_OVERLAY_VX6, -AF_INET6), 2);

	/* idempotent: nothing to do the second time */
	ASSERT_OK(net_overlay_sync(&ns, &o, &st));
	ASSERT_EQ(st.added + st.changed + st.removed, 0);
	ASSERT_OK(net_link_get(&ns, NET_OVERLAY_VX4, &l));

	/* foreign entries on our device go, changed peers are fixed in place */
	ASSERT_OK(inet_addr_parse("192.0.2.77", &dst));
	ASSERT_OK(net_fdb_set(&ns, NET_OVERLAY_VX4, bogus, &dst));
	peers[1].vtep_mac[0][5] ^= 1;
	ASSERT_OK(net_overlay_sync(&ns, &o, &st));
	ASSERT_EQ(st.removed, 2);		/* the bogus entry, p2's old FDB entry */
	ASSERT_EQ(st.added, 1);			/* p2's new FDB entry */
	ASSERT_EQ(st.changed, 1);		/* p2's neighbour, replaced in place */
	ASSERT_EQ(count(&ns, NET_OVERLAY_VX4, AF_BRIDGE), 2);

	/* a peer goes: its three entries per family go with it */
	o.n_peers = 1;
	ASSERT_OK(net_overlay_sync(&ns, &o, &st));
	ASSERT_EQ(st.removed, 6);
	ASSERT_EQ(count(&ns, NET_OVERLAY_VX6, AF_INET6), 1);

	/* the last one goes: no device left */
	o.n_peers = 0;
	ASSERT_OK(net_overlay_sync(&ns, &o, &st));
	ASSERT_EQ(net_link_get(&ns, NET_OVERLAY_VX4, &l), -ENODEV);
	ASSERT_EQ(net_link_get(&ns, NET_OVERLAY_VX6, &l), -ENODEV);

	/* host-gw: one route per peer and family via its address, no device */
	o.n_peers = 2;
	o.backend = NET_BACKEND_HOST_GW;
	ASSERT_OK(net_overlay_sync(&ns, &o, &st));
	ASSERT_EQ(st.added, 4);
	ASSERT_EQ(st.pod_mtu, 1500);
	ASSERT_EQ(count(&ns, "up0", AF_INET), 3);	/* 2 peers + the default route */
	ASSERT_EQ(net_link_get(&ns, NET_OVERLAY_VX4, &l), -ENODEV);
	/* and back: host-gw routes are replaced by VXLAN ones */
	o.backend = NET_BACKEND_VXLAN;
	if (net_overlay_sync(&ns, &o, &st))
		test_fail(__FILE__, __LINE__, "%s", net_ns_error(&ns));
	ASSERT_EQ(st.added, 8);			/* neighbours and FDB entries; routes are replaced */
	ASSERT_EQ(count(&ns, "up0", AF_INET), 1);
	ASSERT_EQ(count(&ns, NET_OVERLAY_VX4, AF_INET), 2);
	net_ns_release(&ns);
}

TEST(overlay_uplink_pick)
{
	struct inet_addr a, ip;
	char dev[NET_IFNAME_MAX], b[INET_ADDR_STRLEN];
	unsigned mtu;
	struct net_ns ns;

	own_netns();
	sh("ip link add eth9 type veth peer name eth8 && ip link set eth9 up && "
	   "ip addr add 198.51.100.9/24 dev eth9");
	ASSERT_OK(net_ns_open(&ns, NULL));
	/* default route */
	ASSERT_OK(net_uplink_pick(&ns, NULL, NULL, AF_INET, dev, &a, &mtu));
	ASSERT_STR_EQ(dev, "up0");
	ASSERT_STR_EQ(inet_addr_format(&a, b), "192.0.2.1");
	/* the link holding the node IP */
	ASSERT_OK(inet_addr_parse("198.51.100.9", &ip));
	ASSERT_OK(net_uplink_pick(&ns, NULL, &ip, AF_INET, dev, &a, &mtu));
	ASSERT_STR_EQ(dev, "eth9");
	/* exactly the interface named, even without an address of the family */
	ASSERT_OK(net_uplink_pick(&ns, "eth9", NULL, AF_INET6, dev, &a, &mtu));
	ASSERT_STR_EQ(dev, "eth9");
	ASSERT_EQ(a.family, 0);
	ASSERT_EQ(net_uplink_pick(&ns, "nosuch0", NULL, AF_INET, dev, &a, &mtu), -ENODEV);
	ASSERT_TRUE(strstr(net_ns_error(&ns), "'nosuch0' not found") != NULL);
	net_ns_release(&ns);
}

TEST(overlay_masq_table)
{
	struct inet_prefix c[2];
	struct net_ns ns;
	bool changed;
	FILE *f;
	char out[4096] = "";
	size_t n;

	own_netns();
	ASSERT_OK(net_ns_open(&ns, NULL));
	pfx("10.42.0.0/16", &c[0]);
	pfx("fd42::/56", &c[1]);
	ASSERT_OK(net_masq_sync(&ns, c, 2, &changed));
	ASSERT_TRUE(changed);
	ASSERT_OK(net_masq_sync(&ns, c, 2, &changed));
	ASSERT_FALSE(changed);			/* the tag matched: nothing sent */
	f = popen("nft list table ip6 k1s-net", "r");
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	ASSERT_TRUE(strstr(out, "ip6 saddr fd42::/56 masquerade fully-random") != NULL);
	ASSERT_TRUE(strstr(out, "ip6 saddr fd42::/56 ip6 daddr ff00::/8 return") != NULL);
	/* IPv4 only now: the ip6 table goes */
	ASSERT_OK(net_masq_sync(&ns, c, 1, &changed));
	ASSERT_TRUE(changed);
	ASSERT_NE(system("nft list table ip6 k1s-net >/dev/null 2>&1"), 0);
	ASSERT_EQ(system("nft list table ip k1s-net >/dev/null 2>&1"), 0);
	/* a table deleted behind our back comes back */
	sh("nft delete table ip k1s-net");
	ASSERT_OK(net_masq_sync(&ns, c, 1, &changed));
	ASSERT_TRUE(changed);
	ASSERT_EQ(system("nft list table ip k1s-net | grep -q 'masquerade fully-random'"), 0);
	/* drift inside the table: a rule deleted, added or edited by hand */
	ASSERT_OK(net_masq_sync(&ns, c, 1, &changed));
	ASSERT_FALSE(changed);
	sh("nft delete rule ip k1s-net postrouting handle $(nft -a list chain ip k1s-net postrouting | "
	   "sed -n 's/.*masquerade.*# handle //p')");
	ASSERT_NE(system("nft list table ip k1s-net | grep -q masquerade"), 0);
	ASSERT_OK(net_masq_sync(&ns, c, 1, &changed));
	ASSERT_TRUE(changed);
	ASSERT_EQ(system("nft list table ip k1s-net | grep -q 'masquerade fully-random'"), 0);
	sh("nft add rule ip k1s-net forward ip saddr 192.0.2.0/24 accept");
	ASSERT_OK(net_masq_sync(&ns, c, 1, &changed));
	ASSERT_TRUE(changed);
	ASSERT_NE(system("nft list table ip k1s-net | grep -q 192.0.2.0"), 0);
	sh("nft replace rule ip k1s-net postrouting handle $(nft -a list chain ip k1s-net postrouting | "
	   "sed -n 's/.*masquerade.*# handle //p') ip saddr 10.42.0.0/16 accept");
	ASSERT_OK(net_masq_sync(&ns, c, 1, &changed));
	ASSERT_TRUE(changed);			/* same count, other expressions */
	ASSERT_EQ(system("nft list table ip k1s-net | grep -q 'masquerade fully-random'"), 0);
	ASSERT_OK(net_masq_sync(&ns, c, 1, &changed));
	ASSERT_FALSE(changed);
	/* no cluster CIDR: no table */
	ASSERT_OK(net_masq_sync(&ns, NULL, 0, &changed));
	ASSERT_NE(system("nft list table ip k1s-net >/dev/null 2>&1"), 0);
	ASSERT_EQ(net_masq_sync(&ns, c, 3, &changed), -EINVAL);
	net_ns_release(&ns);
}
