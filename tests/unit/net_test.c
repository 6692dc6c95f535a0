/*
 * net/ against the real kernel, in network namespaces the test makes.
 *
 *   [k1s-test-PID-p1]  eth0 10.42.0.2/24 fd42::2/64, default via .1 / ::1
 *          | veth k1s<hash(p1/eth0)>
 *   [k1s-test-PID-node] bridge k1s0 10.42.0.1/24 fd42::1/64
 *          | veth k1s<hash(p2/eth0)>
 *   [k1s-test-PID-p2]  eth0 10.42.0.3/24 fd42::3/64, default via .1 / ::1
 *
 * Each test runs its body in a grandchild; the test process itself creates
 * the namespaces (`ip netns add`, tests only) and deletes them by name after
 * the body ended however it ended (assert, crash or timeout), which removes
 * every link inside them. Traffic stays inside these namespaces.
 */
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "net/net.h"

#define NS_OK(ns, e) do { int r__ = (e); if (r__) test_fail(__FILE__, __LINE__, \
	"%s returned %d: %s", #e, r__, net_ns_error(ns)); } while (0)

enum { NODE, P1, P2, NNS };
static const char *const ns_suffix[NNS] = { "node", "p1", "p2" };
static char ns_name[NNS][48], ns_path[NNS][80];
static pid_t body_pid;

/* Runs a shell command; returns its exit status (-1 if it did not exit). */
static int sh(const char *fmt, ...) K1S_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs a command and returns its stdout (malloc'd, at most 64 KiB). */
static char *sh_out(const char *fmt, ...) K1S_PRINTF(1, 2);
static char *sh_out(const char *fmt, ...)
{
	char cmd[1024], *out = calloc(1, 65536);
	size_t n = 0, r;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	ASSERT_NOT_NULL(f);
	while (n < 65535 && (r = fread(out + n, 1, 65535 - n, f)) > 0)
		n += r;
	pclose(f);
	return out;
}

static void ns_delete_all(void)
{
	for (int i = 0; i < NNS; i++)
		if (ns_name[i][0])
			sh("ip netns del %s 2>/dev/null", ns_name[i]);
}

static void on_alarm(int sig)
{
	if (body_pid > 0)
		kill(body_pid, SIGKILL);
}

/* Makes the namespaces, runs body in a child, deletes them, checks both. */
static void with_netns(void (*body)(void))
{
	struct sigaction sa = { .sa_handler = on_alarm };
	int status = 0;
	char *left;

	for (int i = 0; i < NNS; i++) {
		snprintf(ns_name[i], sizeof(ns_name[i]), "k1s-test-%d-%s",
			 (int)getpid(), ns_suffix[i]);
		snprintf(ns_path[i], sizeof(ns_path[i]), "/run/netns/k1s-test-%d-%s",
			 (int)getpid(), ns_suffix[i]);
	}
	ns_delete_all();	/* leftovers of an earlier process with our pid */
	for (int i = 0; i < NNS; i++)
		if (sh("ip netns add %s", ns_name[i])) {
			ns_delete_all();
			test_fail(__FILE__, __LINE__, "cannot add netns %s", ns_name[i]);
		}
	sigaction(SIGALRM, &sa, NULL);
	fflush(NULL);
	body_pid = fork();
	if (body_pid == 0) {
		body();
		fflush(NULL);
		_exit(0);
	}
	while (body_pid > 0 && waitpid(body_pid, &status, 0) < 0 && errno == EINTR)
		;
	ns_delete_all();
	left = sh_out("ip netns list | grep -c 'k1s-test-%d-' || true", (int)getpid());
	ASSERT_STR_EQ(left, "0\n");
	free(left);
	ASSERT_TRUE(body_pid > 0);
	if (WIFSIGNALED(status))
		test_fail(__FILE__, __LINE__, "test body killed by %s%s",
			  strsignal(WTERMSIG(status)),
			  WTERMSIG(status) == SIGKILL ? " (timeout)" : "");
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void open_all(struct net_ns ns[NNS])
{
	for (int i = 0; i < NNS; i++)
		NS_OK(&ns[i], net_ns_open(&ns[i], ns_path[i]));
}

static void release_all(struct net_ns ns[NNS])
{
	for (int i = 0; i < NNS; i++)
		net_ns_release(&ns[i]);
}

static struct inet_prefix pfx(const char *s)
{
	struct inet_prefix p;

	ASSERT_OK(inet_prefix_parse(s, 0, &p));
	return p;
}

static struct inet_addr ip(const char *s)
{
	struct inet_addr a;

	ASSERT_OK(inet_addr_parse(s, &a));
	return a;
}

static bool has_addr(struct net_ns *ns, const char *dev, const char *want)
{
	struct net_ifaddr *v;
	char s[INET_PREFIX_STRLEN];
	bool found = false;
	size_t n;

	NS_OK(ns, net_addr_list(ns, dev, AF_UNSPEC, &v, &n));
	for (size_t i = 0; i < n; i++)
		if (!strcmp(inet_prefix_format(&v[i].prefix, s), want))
			found = true;
	free(v);
	return found;
}

/* Wires pod i: veth into the bridge, addresses, default routes. */
static void wire_pod(struct net_ns ns[NNS], int i, const char *v4, const char *v6)
{
	char host[NET_IFNAME_MAX], owner[64];
	struct net_veth v = { .name = host, .peer_ns = &ns[i], .peer_name = "eth0",
			      .mtu = 1450, .bridge = "k1s0" };
	struct net_route r4 = { .gw = ip("10.42.0.1"), .dev = "eth0" };
	struct net_route r6 = { .gw = ip("fd42::1"), .dev = "eth0" };
	struct inet_prefix a4 = pfx(v4), a6 = pfx(v6);

	snprintf(owner, sizeof(owner), "%s/eth0", ns_suffix[i]);
	net_veth_name(owner, host);
	NS_OK(&ns[NODE], net_veth_add(&ns[NODE], &v));
	NS_OK(&ns[i], net_link_set_up(&ns[i], "lo"));
	NS_OK(&ns[i], net_addr_add(&ns[i], "eth0", &a4));
	NS_OK(&ns[i], net_addr_add(&ns[i], "eth0", &a6));
	r4.dst.addr.family = AF_INET;
	r6.dst.addr.family = AF_INET6;
	NS_OK(&ns[i], net_route_add(&ns[i], &r4));
	NS_OK(&ns[i], net_route_add(&ns[i], &r6));
}

static void pods_body(void)
{
	struct net_ns ns[NNS];
	struct inet_prefix g4 = pfx("10.42.0.1/24"), g6 = pfx("fd42::1/64");
	struct net_link br, pe, he;
	struct net_route *rt;
	char host[NET_IFNAME_MAX];
	size_t n, defaults = 0;
	unsigned long ops;
	char *out;

	open_all(ns);
	NS_OK(&ns[NODE], net_bridge_add(&ns[NODE], "k1s0", 1450));
	ASSERT_EQ(net_bridge_add(&ns[NODE], "k1s0", 0), -EEXIST);
	ASSERT_TRUE(strstr(net_ns_error(&ns[NODE]), "'k1s0'") != NULL);
	NS_OK(&ns[NODE], net_link_set_up(&ns[NODE], "k1s0"));
	NS_OK(&ns[NODE], net_addr_add(&ns[NODE], "k1s0", &g4));
	NS_OK(&ns[NODE], net_addr_add(&ns[NODE], "k1s0", &g6));
	ASSERT_EQ(net_addr_add(&ns[NODE], "k1s0", &g4), -EEXIST);
	ops = ns[NODE].ops + ns[P1].ops;
	wire_pod(ns, P1, "10.42.0.2/24", "fd42::2/64");
	ops = ns[NODE].ops + ns[P1].ops - ops;
	fprintf(stderr, "    (%lu netlink requests wire one dual-stack pod)\n", ops);
	ASSERT_LE(ops, 12);
	wire_pod(ns, P2, "10.42.0.3/24", "fd42::3/64");

	/* links as the kernel reports them */
	NS_OK(&ns[NODE], net_link_get(&ns[NODE], "k1s0", &br));
	ASSERT_STR_EQ(br.kind, "bridge");
	ASSERT_EQ(br.mtu, 1450);
	ASSERT_TRUE(br.flags & IFF_UP);
	NS_OK(&ns[NODE], net_link_get(&ns[NODE], net_veth_name("p1/eth0", host), &he));
	ASSERT_STR_EQ(he.kind, "veth");
	ASSERT_EQ(he.master, br.ifindex);
	ASSERT_TRUE(he.flags & IFF_UP);
	NS_OK(&ns[P1], net_link_get(&ns[P1], "eth0", &pe));
	ASSERT_STR_EQ(pe.kind, "veth");
	ASSERT_EQ(pe.mtu, 1450);
	ASSERT_TRUE(pe.flags & IFF_UP);
	ASSERT_EQ(net_link_get(&ns[NODE], "eth0", &pe), -ENODEV);

	/* addresses and routes via our dumps and via ip -j */
	ASSERT_TRUE(has_addr(&ns[P1], "eth0", "10.42.0.2/24"));
	ASSERT_TRUE(has_addr(&ns[P1], "eth0", "fd42::2/64"));
	ASSERT_FALSE(has_addr(&ns[P1], "eth0", "10.42.0.3/24"));
	NS_OK(&ns[P1], net_route_list(&ns[P1], AF_UNSPEC, &rt, &n));
	for (size_t i = 0; i < n; i++) {
		char g[INET_ADDR_STRLEN];

		if (rt[i].dst.len || strcmp(rt[i].dev, "eth0"))
			continue;
		inet_addr_format(&rt[i].gw, g);
		ASSERT_TRUE(!strcmp(g, "10.42.0.1") || !strcmp(g, "fd42::1"));
		defaults++;
	}
	free(rt);
	ASSERT_EQ(defaults, 2);
	out = sh_out("ip -n %s -j -6 addr show dev eth0", ns_name[P2]);
	ASSERT_TRUE(strstr(out, "\"local\":\"fd42::3\",\"prefixlen\":64") != NULL);
	ASSERT_TRUE(strstr(out, "nodad") != NULL);
	free(out);
	out = sh_out("ip -n %s -j route show default", ns_name[P2]);
	ASSERT_TRUE(strstr(out, "\"gateway\":\"10.42.0.1\",\"dev\":\"eth0\"") != NULL);
	free(out);

	/* traffic: pod to pod and pod to gateway, both families */
	ASSERT_EQ(sh("nsenter --net=%s busybox ping -c1 -W1 10.42.0.3 >/dev/null", ns_path[P1]), 0);
	ASSERT_EQ(sh("nsenter --net=%s busybox ping -c1 -W1 fd42::3 >/dev/null", ns_path[P1]), 0);
	ASSERT_EQ(sh("nsenter --net=%s busybox ping -c1 -W1 10.42.0.2 >/dev/null", ns_path[P2]), 0);
	ASSERT_EQ(sh("nsenter --net=%s busybox ping -c1 -W1 fd42::2 >/dev/null", ns_path[P2]), 0);
	ASSERT_EQ(sh("nsenter --net=%s busybox ping -c1 -W1 fd42::1 >/dev/null", ns_path[P2]), 0);

	/* negative: after removing p2's address, it no longer answers */
	{
		struct inet_prefix a = pfx("10.42.0.3/24");

		NS_OK(&ns[P2], net_addr_del(&ns[P2], "eth0", &a));
		ASSERT_EQ(net_addr_del(&ns[P2], "eth0", &a), -EADDRNOTAVAIL);
		ASSERT_NE(sh("nsenter --net=%s busybox ping -c1 -W1 10.42.0.3 >/dev/null 2>&1",
			     ns_path[P1]), 0);
	}
	/* deleting the host end takes the pod end with it */
	NS_OK(&ns[NODE], net_link_del(&ns[NODE], net_veth_name("p2/eth0", host)));
	ASSERT_EQ(net_link_get(&ns[P2], "eth0", &pe), -ENODEV);
	ASSERT_EQ(net_link_del(&ns[NODE], host), -ENODEV);
	ASSERT_TRUE(strstr(net_ns_error(&ns[NODE]), host) != NULL);
	release_all(ns);
}

TEST(net_pods_bridge_ping_dual_stack)
{
	with_netns(pods_body);
}

static const uint8_t mac2[6] = { 0x02, 0, 0, 0, 0, 0x02 };

/* True when the output (freed here) contains needle; shows it if not. */
static bool out_has_s(const char *needle, char *out)
{
	bool ok = strstr(out, needle) != NULL;

	if (!ok)
		fprintf(stderr, "    '%s' not in: %s\n", needle, out);
	free(out);
	return ok;
}
#define out_has(needle, ...) out_has_s((needle), sh_out(__VA_ARGS__))

/* VXLAN links, FDB and neighbour entries and onlink routes for a remote
 * node's pod CIDRs, both families, as the overlay will program them. */
static void vxlan_body(void)
{
	struct net_ns ns[NNS];
	struct net_vxlan v4 = { .name = "k1s.vx4", .vni = 1, .local = ip("192.0.2.1") };
	struct net_vxlan v6 = { .name = "k1s.vx6", .vni = 1, .local = ip("2001:db8::1"),
				.mtu = 1430 };
	struct net_route r4 = { .dst = pfx("10.42.1.0/24"), .gw = ip("10.42.1.0"),
				.dev = "k1s.vx4", .flags = NET_ROUTE_ONLINK };
	struct net_route r6 = { .dst = pfx("fd42:0:0:1::/64"), .gw = ip("fd42:0:0:1::"),
				.dev = "k1s.vx6", .flags = NET_ROUTE_ONLINK };
	struct inet_addr n4 = ip("10.42.1.0"), n6 = ip("fd42:0:0:1::");
	struct inet_addr d4 = ip("192.0.2.2"), d6 = ip("2001:db8::2");
	struct net_ns *node = &ns[NODE];
	const char *nn = ns_name[NODE];
	struct net_route *rt;
	struct net_neigh *nb;
	struct net_link l;
	size_t n, onlink = 0, neighs = 0;

	/* the node's uplink, as a real node has one (with a default route, which
	 * the kernel wants before it takes an IPv4 onlink gateway) */
	ASSERT_EQ(sh("ip -n %s link add uplink0 type veth peer uplink1 && "
		     "ip -n %s addr add 192.0.2.1/24 dev uplink0 && "
		     "ip -n %s link set uplink0 up && "
		     "ip -n %s route add default via 192.0.2.254", nn, nn, nn, nn), 0);
	open_all(ns);
	v4.dev = "uplink0";
	NS_OK(node, net_vxlan_add(node, &v4));
	NS_OK(node, net_vxlan_add(node, &v6));
	ASSERT_EQ(net_vxlan_add(node, &v4), -EEXIST);
	v4.dev = "nosuch0";
	ASSERT_EQ(net_vxlan_add(node, &v4), -ENODEV);
	v4.vni = 1 << 24;
	ASSERT_EQ(net_vxlan_add(node, &v4), -EINVAL);
	NS_OK(node, net_link_set_mtu(node, "k1s.vx4", 1450));
	NS_OK(node, net_link_set_up(node, "k1s.vx4"));
	NS_OK(node, net_link_set_up(node, "k1s.vx6"));
	NS_OK(node, net_link_get(node, "k1s.vx6", &l));
	ASSERT_STR_EQ(l.kind, "vxlan");
	ASSERT_EQ(l.mtu, 1430);
	ASSERT_TRUE(out_has("\"id\":1,\"local\":\"192.0.2.1\"", "ip -n %s -d -j link show k1s.vx4", nn));
	ASSERT_TRUE(out_has("\"link\":\"uplink0\"", "ip -n %s -d -j link show k1s.vx4", nn));
	ASSERT_TRUE(out_has("\"port\":8472", "ip -n %s -d -j link show k1s.vx4", nn));
	ASSERT_TRUE(out_has("\"learning\":false", "ip -n %s -d -j link show k1s.vx4", nn));
	ASSERT_TRUE(out_has("\"local6\":\"2001:db8::1\"", "ip -n %s -d -j link show k1s.vx6", nn));
	ASSERT_TRUE(out_has("\"mtu\":1450", "ip -n %s -j link show k1s.vx4", nn));

	/* one FDB entry, one neighbour, one route per family */
	NS_OK(node, net_fdb_set(node, "k1s.vx4", mac2, &d4));
	NS_OK(node, net_fdb_set(node, "k1s.vx4", mac2, &d4));	/* replace */
	NS_OK(node, net_fdb_set(node, "k1s.vx6", mac2, &d6));
	NS_OK(node, net_neigh_set(node, "k1s.vx4", &n4, mac2));
	NS_OK(node, net_neigh_set(node, "k1s.vx6", &n6, mac2));
	r4.gw.family = AF_INET;
	ASSERT_NE(net_route_add(node, &(struct net_route){ .dst = r4.dst, .gw = r4.gw,
							 .dev = "k1s.vx4" }), 0);
	ASSERT_TRUE(strstr(net_ns_error(node), "10.42.1.0/24 via 10.42.1.0 dev k1s.vx4") != NULL);
	NS_OK(node, net_route_add(node, &r4));
	NS_OK(node, net_route_add(node, &r6));
	ASSERT_EQ(net_route_add(node, &r4), -EEXIST);
	r4.flags |= NET_ROUTE_REPLACE;
	NS_OK(node, net_route_add(node, &r4));
	ASSERT_TRUE(out_has("\"mac\":\"02:00:00:00:00:02\",\"dst\":\"192.0.2.2\"",
			    "bridge -n %s -j fdb show dev k1s.vx4", nn));
	ASSERT_TRUE(out_has("\"dst\":\"2001:db8::2\"", "bridge -n %s -j fdb show dev k1s.vx6", nn));
	ASSERT_TRUE(out_has("\"dst\":\"10.42.1.0\",\"dev\":\"k1s.vx4\",\"lladdr\":\"02:00:00:00:00:02\"",
			    "ip -n %s -j neigh show", nn));
	ASSERT_TRUE(out_has("PERMANENT", "ip -n %s -j -6 neigh show dev k1s.vx6", nn));
	ASSERT_TRUE(out_has("\"dst\":\"fd42:0:0:1::/64\",\"gateway\":\"fd42:0:0:1::\",\"dev\":\"k1s.vx6\"",
			    "ip -n %s -j -6 route show", nn));
	NS_OK(node, net_neigh_list(node, "k1s.vx4", AF_BRIDGE, &nb, &n));
	ASSERT_EQ(n, 1);
	ASSERT_TRUE(nb[0].has_mac && !memcmp(nb[0].mac, mac2, 6));
	ASSERT_TRUE(inet_addr_equal(&nb[0].addr, &d4));
	ASSERT_TRUE(nb[0].state & NUD_PERMANENT);
	free(nb);
	NS_OK(node, net_neigh_list(node, NULL, AF_UNSPEC, &nb, &n));
	for (size_t i = 0; i < n; i++)
		if (nb[i].state == NUD_PERMANENT && nb[i].has_mac &&
		    (inet_addr_equal(&nb[i].addr, &n4) || inet_addr_equal(&nb[i].addr, &n6)))
			neighs++;
	free(nb);
	ASSERT_EQ(neighs, 2);
	NS_OK(node, net_route_list(node, AF_UNSPEC, &rt, &n));
	for (size_t i = 0; i < n; i++)
		if ((rt[i].flags & NET_ROUTE_ONLINK) && rt[i].dst.len && !strncmp(rt[i].dev, "k1s.vx", 6))
			onlink++;
	free(rt);
	ASSERT_EQ(onlink, 2);

	/* and away again, with the errors a second removal gets */
	NS_OK(node, net_route_del(node, &r4));
	ASSERT_EQ(net_route_del(node, &r4), -ESRCH);
	NS_OK(node, net_neigh_del(node, "k1s.vx4", &n4));
	ASSERT_EQ(net_neigh_del(node, "k1s.vx4", &n4), -ENOENT);
	NS_OK(node, net_fdb_del(node, "k1s.vx4", mac2, &d4));
	ASSERT_NE(net_fdb_del(node, "k1s.vx4", mac2, &d4), 0);
	ASSERT_TRUE(out_has("[]", "bridge -n %s -j fdb show dev k1s.vx4", nn));
	NS_OK(node, net_neigh_list(node, "k1s.vx4", AF_BRIDGE, &nb, &n));
	ASSERT_EQ(n, 0);
	free(nb);
	ASSERT_TRUE(out_has("[]", "ip -n %s -j -4 neigh show dev k1s.vx4", nn));
	NS_OK(node, net_link_del(node, "k1s.vx4"));
	NS_OK(node, net_link_del(node, "k1s.vx6"));
	ASSERT_EQ(net_link_get(node, "k1s.vx6", &l), -ENODEV);
	release_all(ns);
}

TEST(net_vxlan_fdb_neigh_routes)
{
	with_netns(vxlan_body);
}

/* Sysctls per namespace, moving links, hairpin, handle errors. */
static void misc_body(void)
{
	struct net_ns ns[NNS], self, bad;
	struct net_veth v = { .name = "k1stest0", .peer_ns = NULL, .peer_name = "tmp0" };
	struct net_link l, *links;
	char val[64];
	size_t n;
	bool lo = false;

	open_all(ns);
	NS_OK(&ns[P1], net_sysctl_set(&ns[P1], "net/ipv6/conf/all/forwarding", "1"));
	NS_OK(&ns[P1], net_sysctl_get(&ns[P1], "net/ipv6/conf/all/forwarding", val, sizeof(val)));
	ASSERT_STR_EQ(val, "1");
	NS_OK(&ns[P2], net_sysctl_get(&ns[P2], "net/ipv6/conf/all/forwarding", val, sizeof(val)));
	ASSERT_STR_EQ(val, "0");
	NS_OK(&ns[P1], net_sysctl_set(&ns[P1], "net/ipv4/ip_forward", "1"));
	ASSERT_TRUE(out_has("1", "nsenter --net=%s cat /proc/sys/net/ipv4/ip_forward", ns_path[P1]));
	ASSERT_EQ(net_sysctl_set(&ns[P1], "kernel/hostname", "x"), -EINVAL);
	ASSERT_EQ(net_sysctl_set(&ns[P1], "net/../kernel/hostname", "x"), -EINVAL);
	ASSERT_EQ(net_sysctl_set(&ns[P1], "net/ipv4/conf/nosuch0/forwarding", "1"), -ENOENT);
	ASSERT_TRUE(strstr(net_ns_error(&ns[P1]), "'net/ipv4/conf/nosuch0/forwarding'") != NULL);

	/* a per-interface sysctl of a link whose name has a dot */
	NS_OK(&ns[NODE], net_bridge_add(&ns[NODE], "k1s.br", 0));
	NS_OK(&ns[NODE], net_sysctl_set(&ns[NODE], "net/ipv6/conf/k1s.br/accept_ra", "0"));
	NS_OK(&ns[NODE], net_sysctl_get(&ns[NODE], "net/ipv6/conf/k1s.br/accept_ra", val, sizeof(val)));
	ASSERT_STR_EQ(val, "0");

	/* a veth made in p1, host end in node on the bridge, hairpin on; then
	 * the node end moved to p2 and renamed there in one request */
	v.peer_ns = &ns[P1];
	v.bridge = "k1s.br";
	NS_OK(&ns[NODE], net_veth_add(&ns[NODE], &v));
	ASSERT_EQ(net_veth_add(&ns[NODE], &v), -EEXIST);
	v.name = "k1stest1";	/* the peer name is taken in p1: nothing is left */
	ASSERT_EQ(net_veth_add(&ns[NODE], &v), -EEXIST);
	ASSERT_EQ(net_link_get(&ns[NODE], "k1stest1", &l), -ENODEV);
	v.name = "test1";
	ASSERT_EQ(net_veth_add(&ns[NODE], &v), -EINVAL);
	ASSERT_EQ(net_bridge_add(&ns[NODE], "br0", 0), -EINVAL);
	ASSERT_TRUE(strstr(net_ns_error(&ns[NODE]), "'k1s' prefix") != NULL);
	NS_OK(&ns[NODE], net_bridge_port_set_hairpin(&ns[NODE], "k1stest0", true));
	ASSERT_TRUE(out_has("\"hairpin\":true", "bridge -n %s -d -j link show dev k1stest0",
			    ns_name[NODE]));
	NS_OK(&ns[NODE], net_link_set_master(&ns[NODE], "k1stest0", NULL));
	NS_OK(&ns[NODE], net_link_move(&ns[NODE], "k1stest0", &ns[P2], "eth1"));
	ASSERT_EQ(net_link_get(&ns[NODE], "k1stest0", &l), -ENODEV);
	NS_OK(&ns[P2], net_link_get(&ns[P2], "eth1", &l));
	ASSERT_STR_EQ(l.kind, "veth");
	ASSERT_EQ(l.master, 0);
	NS_OK(&ns[P2], net_link_set_down(&ns[P2], "eth1"));
	NS_OK(&ns[P2], net_link_get(&ns[P2], "eth1", &l));
	ASSERT_FALSE(l.flags & IFF_UP);
	NS_OK(&ns[P1], net_link_list(&ns[P1], &links, &n));
	ASSERT_EQ(n, 2);	/* lo and tmp0 */
	free(links);

	ASSERT_EQ(net_link_set_up(&ns[P1], "bad name"), -EINVAL);
	ASSERT_EQ(net_link_set_up(&ns[P1], "0123456789abcdef"), -EINVAL);
	ASSERT_EQ(net_link_set_mtu(&ns[P1], "tmp0", 10), -EINVAL);

	/* the caller's own namespace, and a path that is not one */
	NS_OK(&self, net_ns_open(&self, NULL));
	NS_OK(&self, net_link_list(&self, &links, &n));
	for (size_t i = 0; i < n; i++)
		lo |= !strcmp(links[i].name, "lo");
	free(links);
	ASSERT_TRUE(lo);
	net_ns_release(&self);
	{
		int fd = open(ns_path[P1], O_RDONLY | O_CLOEXEC);

		ASSERT_TRUE(fd >= 0);
		NS_OK(&self, net_ns_open_fd(&self, fd));
		close(fd);	/* the handle keeps its own copy */
		NS_OK(&self, net_link_get(&self, "tmp0", &l));
		net_ns_release(&self);
		net_ns_release(&self);	/* twice is fine */
	}
	ASSERT_EQ(net_ns_open(&bad, "/nonexistent/ns"), -ENOENT);
	ASSERT_TRUE(strstr(net_ns_error(&bad), "'/nonexistent/ns'") != NULL);
	ASSERT_NE(net_ns_open(&bad, "/proc/self/status"), 0);
	net_ns_release(&bad);
	release_all(ns);
}

TEST(net_sysctl_move_hairpin_errors)
{
	with_netns(misc_body);
}

/* The agent's path: IPAM -> bridge with gateways -> one attach per pod. */
static const char *api_cidrs[2];

static void attach(struct net_ns ns[NNS], struct net_ipam *ipam, int i,
		   const struct net_ipam_addrs *gws, unsigned long *ops, uint64_t *ns_took)
{
	struct net_pod_net p = { .bridge = "k1s0", .mtu = 1450, .gateways = *gws,
				 .hairpin = true };
	char owner[32];
	uint64_t t0;
	unsigned long o0 = ns[NODE].ops + ns[i].ops;

	snprintf(owner, sizeof(owner), "uid-%s/eth0", ns_suffix[i]);
	p.owner = owner;
	ASSERT_OK(net_ipam_assign(ipam, owner, &p.addrs));
	t0 = mono_ns();
	NS_OK(&ns[NODE], net_pod_attach(&ns[NODE], &ns[i], &p));
	*ns_took = mono_ns() - t0;
	*ops = ns[NODE].ops + ns[i].ops - o0;
}

static void ping_ok(int from, const char *addr)
{
	if (sh("nsenter --net=%s busybox ping -c1 -W1 %s >/dev/null", ns_path[from], addr))
		test_fail(__FILE__, __LINE__, "no ping from %s to %s", ns_suffix[from], addr);
}

static void api_body(void)
{
	struct net_ns ns[NNS];
	struct inet_prefix c[2];
	struct net_ipam ipam;
	struct net_ipam_addrs gws, a2;
	struct net_pod_net bad = { .owner = "uid-bad/eth0", .bridge = "k1s0" };
	char s[INET_ADDR_STRLEN], host[NET_IFNAME_MAX], val[8];
	unsigned long ops;
	uint64_t took;
	size_t nc = 0;
	struct net_link l;

	for (; nc < 2 && api_cidrs[nc]; nc++)
		ASSERT_OK(inet_prefix_parse(api_cidrs[nc], INET_PREFIX_STRICT, &c[nc]));
	ASSERT_OK(net_ipam_open(&ipam, test_tmpdir(), c, nc));
	net_ipam_gateways(&ipam, &gws);
	open_all(ns);
	NS_OK(&ns[NODE], net_bridge_ensure(&ns[NODE], "k1s0", 1450, gws.addr, gws.n));
	NS_OK(&ns[NODE], net_bridge_ensure(&ns[NODE], "k1s0", 1450, gws.addr, gws.n));
	NS_OK(&ns[NODE], net_forwarding_enable(&ns[NODE], true, true));
	NS_OK(&ns[NODE], net_sysctl_get(&ns[NODE], "net/ipv6/conf/all/forwarding", val, sizeof(val)));
	ASSERT_STR_EQ(val, "1");

	attach(ns, &ipam, P1, &gws, &ops, &took);
	fprintf(stderr, "    (attach: %lu netlink requests, %.2f ms)\n", ops, (double)took / 1e6);
	attach(ns, &ipam, P2, &gws, &ops, &took);
	ASSERT_OK(net_ipam_lookup(&ipam, "uid-p2/eth0", &a2));
	for (size_t i = 0; i < a2.n; i++) {
		ping_ok(P1, inet_addr_format(&a2.addr[i].addr, s));
		ping_ok(P2, inet_addr_format(&gws.addr[i].addr, s));
	}
	/* a second attach is refused and leaves the working pod alone */
	{
		struct net_pod_net again = { .owner = "uid-p1/eth0", .bridge = "k1s0" };

		ASSERT_EQ(net_pod_attach(&ns[NODE], &ns[P1], &again), -EEXIST);
		NS_OK(&ns[P1], net_link_get(&ns[P1], "eth0", &l));
		ping_ok(P1, inet_addr_format(&a2.addr[0].addr, s));
	}
	/* a failing attach removes its veth again */
	bad.addrs.n = 1;
	bad.addrs.addr[0] = a2.addr[0];
	bad.addrs.addr[0].len = 200;
	ASSERT_EQ(net_pod_attach(&ns[NODE], &ns[P2], &(struct net_pod_net){
		.owner = "uid-p2b/eth0", .ifname = "eth1", .bridge = "k1s0",
		.addrs = bad.addrs }), -EINVAL);
	ASSERT_TRUE(strstr(net_ns_error(&ns[NODE]), "uid-p2b/eth0") != NULL);
	ASSERT_EQ(net_link_get(&ns[NODE], net_veth_name("uid-p2b/eth0", host), &l), -ENODEV);
	ASSERT_EQ(net_link_get(&ns[P2], "eth1", &l), -ENODEV);

	NS_OK(&ns[NODE], net_pod_detach(&ns[NODE], "uid-p2/eth0"));
	NS_OK(&ns[NODE], net_pod_detach(&ns[NODE], "uid-p2/eth0"));
	ASSERT_EQ(net_link_get(&ns[P2], "eth0", &l), -ENODEV);
	ASSERT_OK(net_ipam_unassign(&ipam, "uid-p2/eth0"));
	net_ipam_close(&ipam);
	release_all(ns);
}

TEST(net_pod_attach_dual_stack)
{
	api_cidrs[0] = "10.42.0.0/24";
	api_cidrs[1] = "fd42::/64";
	with_netns(api_body);
}

TEST(net_pod_attach_ipv6_only)
{
	api_cidrs[0] = "fd42:0:0:7::/64";
	with_netns(api_body);
}

TEST(net_pod_attach_ipv4_only)
{
	api_cidrs[0] = "10.42.7.0/24";
	with_netns(api_body);
}
