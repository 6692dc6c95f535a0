/*
 * bench/net/overlay.c - the node-to-node network's control plane (run by
 * bench/net/run.sh): for 10, 100 and 1,000 peers (dual-stack VXLAN), the
 * time and netlink requests of the first sync, of a sync with nothing to
 * do (the periodic drift repair), of one peer joining and one leaving;
 * next to `ip -batch` + `bridge -batch` programming the same entries in the
 * same run. Runs in its own network namespace; never fails on a time.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "net/net.h"

static void peer(struct net_overlay_peer *p, unsigned i)
{
	char b[64];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "peer%u", i);
	p->n_cidrs = 2;
	snprintf(b, sizeof(b), "10.%u.%u.0/24", 1 + i / 256, i % 256);
	inet_prefix_parse(b, 0, &p->cidrs[0]);
	snprintf(b, sizeof(b), "fd42:0:%x::/64", i + 1);
	inet_prefix_parse(b, 0, &p->cidrs[1]);
	snprintf(b, sizeof(b), "172.16.%u.%u", i / 250, 2 + i % 250);
	inet_addr_parse(b, &p->public_ip[0]);
	snprintf(b, sizeof(b), "2001:db8::%x", i + 2);
	inet_addr_parse(b, &p->public_ip[1]);
	net_vtep_mac(p->name, AF_INET, p->vtep_mac[0]);
	net_vtep_mac(p->name, AF_INET6, p->vtep_mac[1]);
	p->has_mac[0] = p->has_mac[1] = true;
}

static double sync_ms(struct net_ns *ns, struct net_overlay *o, unsigned long *ops)
{
	struct net_overlay_state st;
	unsigned long before = ns->ops;
	uint64_t t = mono_ns();

	if (net_overlay_sync(ns, o, &st))
		fprintf(stderr, "sync: %s\n", net_ns_error(ns));
	*ops = ns->ops - before;
	return (double)(mono_ns() - t) / 1e6;
}

/* The same entries as text for `ip -batch` and `bridge -batch`. */
static double shell_ms(const struct net_overlay_peer *peers, unsigned n)
{
	FILE *ip = fopen("/tmp/k1s-bench-net.ip", "w"), *br = fopen("/tmp/k1s-bench-net.br", "w");
	char c[INET_PREFIX_STRLEN], a[INET_ADDR_STRLEN], d[INET_ADDR_STRLEN];
	uint64_t t;

	if (!ip || !br)
		BUG("cannot write /tmp");
	fprintf(ip, "link add ref.vx4 type vxlan id 2 local 192.0.2.1 dev up0 dstport 8473 nolearning\n"
		    "link add ref.vx6 type vxlan id 2 local 2001:db8::1 dev up0 dstport 8473 nolearning\n"
		    "link set ref.vx4 up\nlink set ref.vx6 up\n");
	for (unsigned i = 0; i < n; i++)
		for (int f = 0; f < 2; f++) {
			const uint8_t *m = peers[i].vtep_mac[f];
			const char *dev = f ? "ref.vx6" : "ref.vx4";

			inet_prefix_format(&peers[i].cidrs[f], c);
			inet_addr_format(&peers[i].cidrs[f].addr, a);
			inet_addr_format(&peers[i].public_ip[f], d);
			fprintf(ip, "neigh replace %s lladdr %02x:%02x:%02x:%02x:%02x:%02x dev %s nud permanent\n",
				a, m[0], m[1], m[2], m[3], m[4], m[5], dev);
			fprintf(ip, "route replace %s via %s dev %s onlink\n", c, a, dev);
			fprintf(br, "fdb replace %02x:%02x:%02x:%02x:%02x:%02x dev %s dst %s self permanent\n",
				m[0], m[1], m[2], m[3], m[4], m[5], dev, d);
		}
	fclose(ip);
	fclose(br);
	t = mono_ns();
	if (system("ip -batch /tmp/k1s-bench-net.ip && bridge -batch /tmp/k1s-bench-net.br"))
		fprintf(stderr, "ip -batch failed\n");
	t = mono_ns() - t;
	if (system("ip link del ref.vx4; ip link del ref.vx6"))
		fprintf(stderr, "cleanup failed\n");
	unlink("/tmp/k1s-bench-net.ip");
	unlink("/tmp/k1s-bench-net.br");
	return (double)t / 1e6;
}

int main(int argc, char **argv)
{
	static const unsigned sizes[] = { 10, 100, 1000 };
	struct net_overlay_peer *peers = xcalloc(1001, sizeof(*peers));
	struct net_overlay o = { .backend = NET_BACKEND_VXLAN, .n_own = 2, .n_cluster = 2 };
	struct net_ns ns;
	unsigned long ops;

	if (unshare(CLONE_NEWNET) ||
	    system("ip link set lo up && ip link add up0 type veth peer name up1 && "
		   "ip addr add 192.0.2.1/24 dev up0 && ip addr add 2001:db8::1/64 dev up0 nodad && "
		   "ip link set up0 up && ip link set up1 up && ip route add default dev up0 && "
		   "ip -6 route add default dev up0")) {
		fprintf(stderr, "bench-net: needs root (unshare, ip): %s\n", strerror(errno));
		return 1;
	}
	if (net_ns_open(&ns, NULL)) {
		fprintf(stderr, "bench-net: %s\n", net_ns_error(&ns));
		return 1;
	}
	inet_prefix_parse("10.0.0.0/24", 0, &o.own[0]);
	inet_prefix_parse("fd42::/64", 0, &o.own[1]);
	inet_prefix_parse("10.0.0.0/8", 0, &o.cluster[0]);
	inet_prefix_parse("fd42::/32", 0, &o.cluster[1]);
	net_vtep_mac("me", AF_INET, o.vtep_mac[0]);
	net_vtep_mac("me", AF_INET6, o.vtep_mac[1]);
	for (unsigned i = 0; i < 1001; i++)
		peer(&peers[i], i);
	o.peers = peers;
	printf("%-6s %-28s %10s %10s %12s\n", "peers", "operation", "ms", "netlink", "reference");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		unsigned n = sizes[k];
		double ms, ref = shell_ms(peers, n);

		o.n_peers = n;
		ms = sync_ms(&ns, &o, &ops);
		printf("%-6u %-28s %10.2f %10lu %9.2f ms  (ip/bridge -batch, same entries)\n",
		       n, "first sync (6 entries/peer)", ms, ops, ref);
		ms = sync_ms(&ns, &o, &ops);
		printf("%-6u %-28s %10.2f %10lu\n", n, "resync, nothing to do", ms, ops);
		o.n_peers = n + 1;
		ms = sync_ms(&ns, &o, &ops);
		printf("%-6u %-28s %10.2f %10lu\n", n, "one peer joins", ms, ops);
		o.n_peers = n;
		ms = sync_ms(&ns, &o, &ops);
		printf("%-6u %-28s %10.2f %10lu\n", n, "one peer leaves", ms, ops);
		o.n_peers = 0;
		sync_ms(&ns, &o, &ops);		/* devices go: next size starts clean */
	}
	net_ns_release(&ns);
	free(peers);
	return 0;
}
