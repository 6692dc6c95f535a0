/*
 * net/: address and CIDR parsing, pod MTU, veth names and the IPAM
 * allocator (state files in test_tmpdir()). No kernel state is touched.
 */
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>

#include "lib/util.h"
#include "net/net.h"

static const char *fmt_prefix(const struct inet_prefix *p)
{
	static char buf[4][INET_PREFIX_STRLEN];
	static int i;

	return inet_prefix_format(p, buf[i++ % 4]);
}

static struct inet_prefix cidr(const char *s)
{
	struct inet_prefix p;

	ASSERT_OK(inet_prefix_parse(s, INET_PREFIX_STRICT, &p));
	return p;
}

TEST(net_addr_parse_format)
{
	static const char *const bad_addr[] = {
		"", "10.42.0", "10.42.0.256", "10.42.0.1/24", " 10.42.0.1", "fd42::/64",
		"fd42:::1", "fe80::1%eth0", "g::1", "1.2.3.4.5",
	};
	static const char *const bad_prefix[] = {
		"10.42.0.0", "10.42.0.0/", "/24", "10.42.0.0/33", "fd42::/129", "fd42::/-1",
		"fd42::/+1", "10.42.0.0/24x", "10.42.0.0/ 24", "10.42.0.0/1000", "x/8",
	};
	struct inet_addr a, b;
	struct inet_prefix p;
	char s[INET_ADDR_STRLEN];

	ASSERT_OK(inet_addr_parse("10.42.0.5", &a));
	ASSERT_EQ(a.family, AF_INET);
	ASSERT_STR_EQ(inet_addr_format(&a, s), "10.42.0.5");
	ASSERT_OK(inet_addr_parse("FD42:0::0005", &a));
	ASSERT_EQ(a.family, AF_INET6);
	ASSERT_STR_EQ(inet_addr_format(&a, s), "fd42::5");
	ASSERT_OK(inet_addr_parse("fd42::5", &b));
	ASSERT_TRUE(inet_addr_equal(&a, &b));
	for (size_t i = 0; i < ARRAY_SIZE(bad_addr); i++)
		if (inet_addr_parse(bad_addr[i], &a) != -EINVAL)
			test_fail(__FILE__, __LINE__, "address '%s' accepted", bad_addr[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad_prefix); i++)
		if (inet_prefix_parse(bad_prefix[i], 0, &p) != -EINVAL)
			test_fail(__FILE__, __LINE__, "prefix '%s' accepted", bad_prefix[i]);

	ASSERT_OK(inet_prefix_parse("10.42.0.0/24", INET_PREFIX_STRICT, &p));
	ASSERT_STR_EQ(fmt_prefix(&p), "10.42.0.0/24");
	ASSERT_EQ(inet_prefix_parse("10.42.0.1/24", INET_PREFIX_STRICT, &p), -EINVAL);
	ASSERT_EQ(inet_prefix_parse("fd42::1/64", INET_PREFIX_STRICT, &p), -EINVAL);
	ASSERT_EQ(inet_prefix_parse("10.42.0.0/24", 0x80, &p), -EINVAL);
	ASSERT_OK(inet_prefix_parse("10.42.0.1/24", 0, &p));
	ASSERT_STR_EQ(fmt_prefix(&p), "10.42.0.1/24");
	ASSERT_OK(inet_prefix_parse("fd42:0:0:1::/64", INET_PREFIX_STRICT, &p));
	ASSERT_STR_EQ(fmt_prefix(&p), "fd42:0:0:1::/64");
	ASSERT_OK(inet_prefix_parse("0.0.0.0/0", INET_PREFIX_STRICT, &p));
	ASSERT_OK(inet_prefix_parse("10.42.0.4/30", INET_PREFIX_STRICT, &p));
	ASSERT_EQ(inet_prefix_parse("10.42.0.6/30", INET_PREFIX_STRICT, &p), -EINVAL);
}

TEST(net_prefix_contains_nth)
{
	struct inet_prefix p = cidr("10.42.0.0/16"), q = cidr("fd42::/64");
	struct inet_addr a;
	char s[INET_ADDR_STRLEN];

	ASSERT_OK(inet_addr_parse("10.42.255.7", &a));
	ASSERT_TRUE(inet_prefix_contains(&p, &a));
	ASSERT_OK(inet_addr_parse("10.43.0.1", &a));
	ASSERT_FALSE(inet_prefix_contains(&p, &a));
	ASSERT_FALSE(inet_prefix_contains(&q, &a));
	ASSERT_OK(inet_addr_parse("fd42::ffff:1", &a));
	ASSERT_TRUE(inet_prefix_contains(&q, &a));
	ASSERT_OK(inet_addr_parse("fd42:0:0:1::1", &a));
	ASSERT_FALSE(inet_prefix_contains(&q, &a));

	ASSERT_OK(inet_prefix_nth(&p, 256, &a));
	ASSERT_STR_EQ(inet_addr_format(&a, s), "10.42.1.0");
	ASSERT_OK(inet_prefix_nth(&p, 65535, &a));
	ASSERT_STR_EQ(inet_addr_format(&a, s), "10.42.255.255");
	ASSERT_EQ(inet_prefix_nth(&p, 65536, &a), -ERANGE);
	ASSERT_OK(inet_prefix_nth(&q, 1, &a));
	ASSERT_STR_EQ(inet_addr_format(&a, s), "fd42::1");
	ASSERT_OK(inet_prefix_nth(&q, UINT64_MAX, &a));
	ASSERT_STR_EQ(inet_addr_format(&a, s), "fd42::ffff:ffff:ffff:ffff");
}

TEST(net_pod_mtu_and_veth_name)
{
	unsigned mtu = 0;
	char a[NET_IFNAME_MAX], b[NET_IFNAME_MAX];

	ASSERT_OK(net_pod_mtu(1500, AF_INET, true, &mtu));
	ASSERT_EQ(mtu, 1450);
	ASSERT_OK(net_pod_mtu(1500, AF_INET6, true, &mtu));
	ASSERT_EQ(mtu, 1430);
	ASSERT_OK(net_pod_mtu(9000, AF_INET6, false, &mtu));
	ASSERT_EQ(mtu, 9000);
	ASSERT_OK(net_pod_mtu(1330, AF_INET, true, &mtu));
	ASSERT_EQ(mtu, 1280);
	ASSERT_EQ(net_pod_mtu(1329, AF_INET, true, &mtu), -ERANGE);
	ASSERT_EQ(net_pod_mtu(1349, AF_INET6, true, &mtu), -ERANGE);
	ASSERT_EQ(net_pod_mtu(70000, AF_INET, false, &mtu), -ERANGE);
	ASSERT_EQ(net_pod_mtu(1500, AF_UNSPEC, true, &mtu), -EINVAL);

	net_veth_name("0b4f-uid/eth0", a);
	ASSERT_EQ(strlen(a), 11);
	ASSERT_TRUE(str_has_prefix(a, "k1s"));
	ASSERT_STR_EQ(net_veth_name("0b4f-uid/eth0", b), a);
	ASSERT_TRUE(strcmp(net_veth_name("0b4f-uid/eth1", b), a) != 0);
}

static void open_ipam(struct net_ipam *ipam, const char *v4, const char *v6)
{
	struct inet_prefix c[2];
	size_t n = 0;
	int ret;

	if (v4)
		c[n++] = cidr(v4);
	if (v6)
		c[n++] = cidr(v6);
	ret = net_ipam_open(ipam, test_tmpdir(), c, n);
	if (ret)
		test_fail(__FILE__, __LINE__, "net_ipam_open: %s", net_ipam_error(ipam));
}

static void assign(struct net_ipam *ipam, const char *owner, const char *want0,
		   const char *want1)
{
	struct net_ipam_addrs r;
	int ret = net_ipam_assign(ipam, owner, &r);

	if (ret)
		test_fail(__FILE__, __LINE__, "assign %s: %s", owner, net_ipam_error(ipam));
	ASSERT_EQ(r.n, want1 ? 2 : 1);
	ASSERT_STR_EQ(fmt_prefix(&r.addr[0]), want0);
	if (want1)
		ASSERT_STR_EQ(fmt_prefix(&r.addr[1]), want1);
}

TEST(ipam_dual_stack_assign)
{
	struct net_ipam ipam;
	struct net_ipam_addrs r;

	open_ipam(&ipam, "10.42.0.0/24", "fd42::/64");
	net_ipam_gateways(&ipam, &r);
	ASSERT_EQ(r.n, 2);
	ASSERT_STR_EQ(fmt_prefix(&r.addr[0]), "10.42.0.1/24");
	ASSERT_STR_EQ(fmt_prefix(&r.addr[1]), "fd42::1/64");
	assign(&ipam, "uid-a/eth0", "10.42.0.2/24", "fd42::2/64");
	assign(&ipam, "uid-a/eth0", "10.42.0.2/24", "fd42::2/64");	/* retried setup */
	assign(&ipam, "uid-b/eth0", "10.42.0.3/24", "fd42::3/64");
	ASSERT_EQ(net_ipam_count(&ipam, 0), 2);
	ASSERT_EQ(net_ipam_count(&ipam, 1), 2);
	ASSERT_OK(net_ipam_lookup(&ipam, "uid-b/eth0", &r));
	ASSERT_STR_EQ(fmt_prefix(&r.addr[1]), "fd42::3/64");
	ASSERT_EQ(net_ipam_lookup(&ipam, "uid-c/eth0", &r), -ENOENT);
	ASSERT_EQ(net_ipam_unassign(&ipam, "uid-c/eth0"), -ENOENT);
	ASSERT_TRUE(strstr(net_ipam_error(&ipam), "uid-c/eth0") != NULL);
	net_ipam_close(&ipam);

	/* IPv6 first: the pools keep the given order */
	open_ipam(&ipam, NULL, "fd42::/64");
	net_ipam_close(&ipam);
}

TEST(ipam_never_twice_and_persist)
{
	struct net_ipam ipam;
	struct net_ipam_addrs r;
	char owner[64], *text, *path;
	size_t len;
	bool seen[64] = { false };
	unsigned v6[64], nv6 = 0;

	open_ipam(&ipam, "10.42.0.0/26", "fd42::/64");
	for (int i = 0; i < 40; i++) {
		snprintf(owner, sizeof(owner), "pod-%d/eth0", i);
		ASSERT_OK(net_ipam_assign(&ipam, owner, &r));
	}
	for (int i = 0; i < 40; i += 2) {
		snprintf(owner, sizeof(owner), "pod-%d/eth0", i);
		ASSERT_OK(net_ipam_unassign(&ipam, owner));
	}
	net_ipam_close(&ipam);

	/* a restart keeps holders and the cursor: new owners get fresh addresses */
	open_ipam(&ipam, "10.42.0.0/26", "fd42::/64");
	ASSERT_EQ(net_ipam_count(&ipam, 0), 20);
	ASSERT_OK(net_ipam_lookup(&ipam, "pod-1/eth0", &r));
	ASSERT_STR_EQ(fmt_prefix(&r.addr[0]), "10.42.0.3/26");
	ASSERT_EQ(net_ipam_lookup(&ipam, "pod-0/eth0", &r), -ENOENT);
	assign(&ipam, "pod-new/eth0", "10.42.0.42/26", "fd42::2a/64");
	/* fill the /26 (.2-.62 = 61 addresses): every address once */
	for (int i = 100; net_ipam_count(&ipam, 0) < 61; i++) {
		snprintf(owner, sizeof(owner), "pod-%d/eth0", i);
		ASSERT_OK(net_ipam_assign(&ipam, owner, &r));
	}
	ASSERT_EQ(net_ipam_assign(&ipam, "one-more/eth0", &r), -ENOSPC);
	for (int i = 0; i < 200; i++) {
		snprintf(owner, sizeof(owner), "pod-%d/eth0", i);
		if (net_ipam_lookup(&ipam, owner, &r))
			continue;
		uint8_t host = r.addr[0].addr.bytes[3];

		ASSERT_TRUE(host >= 2 && host <= 62);
		ASSERT_FALSE(seen[host]);
		seen[host] = true;
		v6[nv6] = (unsigned)r.addr[1].addr.bytes[14] << 8 | r.addr[1].addr.bytes[15];
		for (unsigned j = 0; j < nv6; j++)
			ASSERT_NE(v6[j], v6[nv6]);
		nv6++;
	}
	ASSERT_EQ(nv6, 60);	/* all but pod-new */
	net_ipam_close(&ipam);

	path = xasprintf("%s/ipam-v4", test_tmpdir());
	ASSERT_OK(read_file(path, 1 << 20, &text, &len));
	free(path);
	ASSERT_TRUE(strstr(text, "\ncidr 10.42.0.0/26\n") != NULL);
	ASSERT_TRUE(strstr(text, "\n10.42.0.3 pod-1/eth0\n") != NULL);
	free(text);
}

TEST(ipam_exhaustion)
{
	struct net_ipam ipam;
	struct net_ipam_addrs r;

	/* /30: .0 network, .1 gateway, .3 broadcast: one address */
	open_ipam(&ipam, "10.42.0.0/30", NULL);
	assign(&ipam, "a/eth0", "10.42.0.2/30", NULL);
	ASSERT_EQ(net_ipam_assign(&ipam, "b/eth0", &r), -ENOSPC);
	ASSERT_STR_EQ(net_ipam_error(&ipam), "no free address in pod CIDR 10.42.0.0/30 (1 assigned)");
	ASSERT_OK(net_ipam_unassign(&ipam, "a/eth0"));
	assign(&ipam, "b/eth0", "10.42.0.2/30", NULL);
	net_ipam_close(&ipam);

	/* /126: ::2 and ::3 (IPv6 has no broadcast) */
	open_ipam(&ipam, NULL, "fd42::/126");
	assign(&ipam, "a/eth0", "fd42::2/126", NULL);
	assign(&ipam, "b/eth0", "fd42::3/126", NULL);
	ASSERT_EQ(net_ipam_assign(&ipam, "c/eth0", &r), -ENOSPC);
	ASSERT_TRUE(strstr(net_ipam_error(&ipam), "fd42::/126") != NULL);
	net_ipam_close(&ipam);
}

TEST(ipam_exhaustion_assigns_nothing)
{
	struct net_ipam ipam;
	struct inet_prefix c[2] = { cidr("fd42::/64"), cidr("10.42.0.0/30") };
	struct net_ipam_addrs r;

	ASSERT_OK(net_ipam_open(&ipam, test_tmpdir(), c, 2));
	assign(&ipam, "a/eth0", "fd42::2/64", "10.42.0.2/30");
	ASSERT_EQ(net_ipam_assign(&ipam, "b/eth0", &r), -ENOSPC);
	ASSERT_EQ(r.n, 0);
	ASSERT_EQ(net_ipam_count(&ipam, 0), 1);	/* the IPv6 half was undone */
	ASSERT_EQ(net_ipam_lookup(&ipam, "b/eth0", &r), -ENOENT);
	net_ipam_close(&ipam);
	ASSERT_OK(net_ipam_open(&ipam, test_tmpdir(), c, 2));
	ASSERT_EQ(net_ipam_count(&ipam, 0), 1);
	ASSERT_EQ(net_ipam_count(&ipam, 1), 1);
	net_ipam_close(&ipam);
}

TEST(ipam_bad_input)
{
	static const char *const bad_cidrs[] = {
		"10.42.0.0/31", "10.42.0.0/32", "fd42::/48", "fd42::/127", "fd42::/128",
	};
	static const char *const bad_owners[] = {
		"", "a b", "a\tb", "a\nb",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	};
	struct inet_prefix two[2] = { cidr("10.42.0.0/24"), cidr("10.43.0.0/24") };
	struct inet_prefix host;
	struct net_ipam ipam;
	struct net_ipam_addrs r;

	for (size_t i = 0; i < ARRAY_SIZE(bad_cidrs); i++) {
		struct inet_prefix p = cidr(bad_cidrs[i]);

		if (net_ipam_open(&ipam, test_tmpdir(), &p, 1) != -EINVAL)
			test_fail(__FILE__, __LINE__, "pod CIDR %s accepted", bad_cidrs[i]);
		ASSERT_TRUE(strstr(net_ipam_error(&ipam), bad_cidrs[i]) != NULL);
	}
	ASSERT_OK(inet_prefix_parse("10.42.0.1/24", 0, &host));
	ASSERT_EQ(net_ipam_open(&ipam, test_tmpdir(), &host, 1), -EINVAL);
	ASSERT_TRUE(strstr(net_ipam_error(&ipam), "host bits") != NULL);
	ASSERT_EQ(net_ipam_open(&ipam, test_tmpdir(), two, 2), -EINVAL);
	ASSERT_EQ(net_ipam_open(&ipam, test_tmpdir(), two, 0), -EINVAL);
	net_ipam_close(&ipam);

	open_ipam(&ipam, "10.42.0.0/24", NULL);
	for (size_t i = 0; i < ARRAY_SIZE(bad_owners); i++)
		ASSERT_EQ(net_ipam_assign(&ipam, bad_owners[i], &r), -EINVAL);
	ASSERT_EQ(net_ipam_count(&ipam, 0), 0);
	net_ipam_close(&ipam);
}

static void state_file(const char *text)
{
	char *path = xasprintf("%s/ipam-v4", test_tmpdir());

	ASSERT_OK(write_file_atomic(path, text, strlen(text), 0600));
	free(path);
}

TEST(ipam_corrupt_state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "10.42.0.2 a\n", "no 'cidr' line first" },
		{ "cidr 10.42.0.0/24\n10.42.1.2 a\n", "outside" },
		{ "cidr 10.42.0.0/24\n10.42.0.1 a\n", "reserved" },
		{ "cidr 10.42.0.0/24\n10.42.0.255 a\n", "reserved" },
		{ "cidr 10.42.0.0/24\n10.42.0.2 a\n10.42.0.2 b\n", "duplicate" },
		{ "cidr 10.42.0.0/24\n10.42.0.2 a\n10.42.0.3 a\n", "duplicate" },
		{ "cidr 10.42.0.0/24\n10.42.0.2\n", "expected" },
		{ "cidr 10.42.0.0/24\nlast 10.9.0.1\n", "last" },
		{ "cidr 10.42.0.0/24\n10.42.0.2 a\ncidr 10.42.0.0/24\n", "header" },
	};
	struct net_ipam ipam;
	struct inet_prefix c = cidr("10.42.0.0/24");
	struct net_ipam_addrs r;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		state_file(bad[i].text);
		ASSERT_EQ(net_ipam_open(&ipam, test_tmpdir(), &c, 1), -EINVAL);
		if (!strstr(net_ipam_error(&ipam), "corrupt") ||
		    !strstr(net_ipam_error(&ipam), bad[i].why))
			test_fail(__FILE__, __LINE__, "case %zu: %s", i, net_ipam_error(&ipam));
	}
	state_file("cidr 10.42.1.0/24\n");
	ASSERT_EQ(net_ipam_open(&ipam, test_tmpdir(), &c, 1), -ESTALE);
	ASSERT_TRUE(strstr(net_ipam_error(&ipam), "is for 10.42.1.0/24, not 10.42.0.0/24") != NULL);

	state_file("# comment\ncidr 10.42.0.0/24\nlast 10.42.0.9\n\n10.42.0.7 a\n");
	ASSERT_OK(net_ipam_open(&ipam, test_tmpdir(), &c, 1));
	ASSERT_OK(net_ipam_lookup(&ipam, "a", &r));
	ASSERT_STR_EQ(fmt_prefix(&r.addr[0]), "10.42.0.7/24");
	assign(&ipam, "b", "10.42.0.10/24", NULL);
	net_ipam_close(&ipam);
}
