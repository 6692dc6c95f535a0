/*
 * bench/proxy/main.c - the service proxy benchmark (run by bench/run.sh):
 * for 100, 1,000 and 10,000 services x 10 endpoints, the time of a full
 * sync, of one service's update and of adding one service, next to, in the
 * same run, `nft -f` loading the same ruleset as text (the listing of what
 * we programmed) and `iptables-restore` loading a kube-proxy iptables-mode
 * ruleset of the same services (iptables_rules()). Runs in its own network
 * namespace; never fails on a time.
 *
 *   bench-proxy [--max N] [--no-ref]  the benchmark (N: largest service
 *                                count; --no-ref: without the references)
 *   bench-proxy apply ...        see apply.c
 */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "lib/util.h"
#include "proxy/proxy.h"

#define EPS 10
#define UPDATES 30
#define PROBES 400		/* connections timed for the first-packet cost */
#define PROBE_EP "10.94.0.1"	/* on lo; the probe service's only endpoint */
#define PROBE_CIP "10.95.0.1"
#define PROBE_PORT 18080

int bench_proxy_apply(int argc, char **argv);

static void addr4(struct inet_addr *a, unsigned net, unsigned k)
{
	a->family = AF_INET;
	a->bytes[0] = 10;
	a->bytes[1] = (uint8_t)(net + (k >> 16));
	a->bytes[2] = (uint8_t)(k >> 8);
	a->bytes[3] = (uint8_t)k;
}

/* Service i: ClusterIP 10.96.x.y:80 (every tenth a NodePort), 10 endpoints. */
static void gen_service(struct proxy_service *s, unsigned i, unsigned variant)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->namespace, "bench");
	snprintf(s->name, sizeof(s->name), "svc-%u", i);
	s->type = i % 10 ? PROXY_CLUSTER_IP : PROXY_NODE_PORT;
	s->n_cluster_ips = 1;
	addr4(&s->cluster_ips[0], 96, i);
	s->n_ports = 1;
	s->ports[0] = (struct proxy_port){ .name = "http", .protocol = IPPROTO_TCP, .port = 80,
					   .node_port = i % 10 ? 0 : (uint16_t)(30000 + i / 10) };
	s->affinity_timeout = 10800;
	s->n_endpoints = EPS;
	s->endpoints = xcalloc(EPS, sizeof(*s->endpoints));
	for (unsigned j = 0; j < EPS; j++) {
		struct proxy_endpoint *ep = &s->endpoints[j];
		addr4(&ep->addr, 128, i * EPS + j + 1 + (j == 0 ? variant * 0x100000 : 0));
		ep->ready = ep->serving = true;
		snprintf(ep->node_name, sizeof(ep->node_name), "node-%u", j % 3);
		ep->target_ports[0] = 8080;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

struct round {
	unsigned n;
	double full_ms, one_ms, upd_med_ms, upd_max_ms, add_ms, nft_ms, ipt_ms;
	double batch_mib;
	double fp_svc_us, fp_direct_us;	/* median TCP connect(): via the ClusterIP, direct */
};

/* Median time of a TCP connect() to ip:port on the loopback path: the SYN
 * goes through the NAT output chains (service lookup in every table, DNAT
 * for the ClusterIP), the SYN-ACK comes back; accept and close after. */
static double connect_us(int lfd, const char *ip, uint16_t port)
{
	uint64_t t[PROBES];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct linger lg = { 1, 0 };

	inet_pton(AF_INET, ip, &sa.sin_addr);
	for (int i = 0; i < PROBES; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), a;
		uint64_t t0 = mono_ns();

		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			close(fd);
			return -1;
		}
		t[i] = mono_ns() - t0;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));	/* no TIME_WAIT */
		a = accept(lfd, NULL, NULL);
		close(fd);
		if (a >= 0)
			close(a);
	}
	qsort(t, PROBES, sizeof(t[0]), cmp_u64);
	return (double)t[PROBES / 2] / 1e3;
}

/* The probe service ClusterIP -> PROBE_EP, added to the synced proxy. */
static int first_packet(struct proxy *p, struct round *out)
{
	struct proxy_service s = { .namespace = "bench", .name = "probe", .type = PROXY_CLUSTER_IP,
				   .n_cluster_ips = 1, .n_ports = 1, .affinity_timeout = 10800 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PROBE_PORT) };
	int one = 1, lfd, ret;

	inet_addr_parse(PROBE_CIP, &s.cluster_ips[0]);
	s.ports[0] = (struct proxy_port){ .protocol = IPPROTO_TCP, .port = 80 };
	s.n_endpoints = 1;
	s.endpoints = xcalloc(1, sizeof(*s.endpoints));
	inet_addr_parse(PROBE_EP, &s.endpoints[0].addr);
	s.endpoints[0].ready = s.endpoints[0].serving = true;
	s.endpoints[0].target_ports[0] = PROBE_PORT;
	ret = proxy_update(p, &s);
	proxy_service_release(&s);
	if (ret)
		return ret;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, PROBE_EP, &sa.sin_addr);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1024)) {
		close(lfd);
		return -errno;
	}
	out->fp_svc_us = connect_us(lfd, PROBE_CIP, 80);
	out->fp_direct_us = connect_us(lfd, PROBE_EP, PROBE_PORT);
	close(lfd);
	return proxy_remove(p, "bench", "probe");
}

#define REF_TIMEOUT_S 120	/* a reference command taking longer is stopped */

/* Runs a shell command under `timeout` and times it: -EIO when it fails,
 * -ETIMEDOUT (and *ms_out < 0) when it ran out of time. */
static int time_cmd(const char *cmd, double *ms_out)
{
	char *line = xasprintf("timeout %d %s", REF_TIMEOUT_S, cmd);
	uint64_t t = mono_ns();
	int st = system(line);

	*ms_out = ms(mono_ns() - t);
	free(line);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 124) {
		*ms_out = -1;
		return -ETIMEDOUT;
	}
	return st ? -EIO : 0;
}

/* The nat table kube-proxy's iptables mode writes for these services: a
 * KUBE-SERVICES rule per cluster IP, a KUBE-SVC chain per service (masquerade
 * for off-cluster sources, one statistic rule per endpoint), a KUBE-SEP
 * chain per endpoint (hairpin mark, DNAT), KUBE-NODEPORTS and a KUBE-EXT
 * chain per NodePort, with kube-proxy's comments. */
static void iptables_rules(FILE *f, const struct proxy_service *svcs, unsigned n)
{
	char cip[INET_ADDR_STRLEN], ep[INET_ADDR_STRLEN];

	fprintf(f, "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n"
		   ":KUBE-MARK-MASQ - [0:0]\n:KUBE-POSTROUTING - [0:0]\n");
	for (unsigned i = 0; i < n; i++) {
		fprintf(f, ":KUBE-SVC-%016X - [0:0]\n", i);
		if (svcs[i].ports[0].node_port)
			fprintf(f, ":KUBE-EXT-%016X - [0:0]\n", i);
		for (unsigned j = 0; j < svcs[i].n_endpoints; j++)
			fprintf(f, ":KUBE-SEP-%08X%08X - [0:0]\n", i, j);
	}
	fprintf(f, "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n"
		   "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
		   "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n"
		   "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic "
		   "requiring SNAT\" -j MASQUERADE --random-fully\n");
	for (unsigned i = 0; i < n; i++) {
		const struct proxy_service *s = &svcs[i];
		const char *nm = s->name;
		unsigned ne = (unsigned)s->n_endpoints;

		inet_addr_format(&s->cluster_ips[0], cip);
		fprintf(f, "-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment \"bench/%s:http "
			   "cluster IP\" -m tcp --dport 80 -j KUBE-SVC-%016X\n", cip, nm, i);
		fprintf(f, "-A KUBE-SVC-%016X ! -s 10.42.0.0/16 -d %s/32 -p tcp -m comment --comment "
			   "\"bench/%s:http cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ\n", i, cip, nm);
		if (s->ports[0].node_port) {
			fprintf(f, "-A KUBE-NODEPORTS -p tcp -m comment --comment \"bench/%s:http\" -m tcp "
				   "--dport %u -j KUBE-EXT-%016X\n", nm, s->ports[0].node_port, i);
			fprintf(f, "-A KUBE-EXT-%016X -j KUBE-MARK-MASQ\n-A KUBE-EXT-%016X -j KUBE-SVC-%016X\n",
				i, i, i);
		}
		for (unsigned j = 0; j < ne; j++) {
			inet_addr_format(&s->endpoints[j].addr, ep);
			fprintf(f, "-A KUBE-SVC-%016X -m comment --comment \"bench/%s:http -> %s:8080\"", i, nm, ep);
			if (j + 1 < ne)
				fprintf(f, " -m statistic --mode random --probability %.11f", 1.0 / (ne - j));
			fprintf(f, " -j KUBE-SEP-%08X%08X\n", i, j);
			fprintf(f, "-A KUBE-SEP-%08X%08X -s %s/32 -m comment --comment bench/%s:http "
				   "-j KUBE-MARK-MASQ\n", i, j, ep, nm);
			fprintf(f, "-A KUBE-SEP-%08X%08X -p tcp -m comment --comment bench/%s:http -m tcp "
				   "-j DNAT --to-destination %s:8080\n", i, j, nm, ep);
		}
	}
	fprintf(f, "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports\" "
		   "-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\nCOMMIT\n");
}

/* iptables-restore (the system's default backend) loading that ruleset. */
static int iptables_ref(const struct proxy_service *svcs, unsigned n, double *ms_out)
{
	FILE *f = fopen("/tmp/k1s-bench-proxy.ipt", "w");
	int ret;

	if (!f)
		return -errno;
	iptables_rules(f, svcs, n);
	ret = fclose(f) ? -errno : 0;
	if (!ret)
		ret = time_cmd("iptables-restore /tmp/k1s-bench-proxy.ipt", ms_out);
	if (ret == -ETIMEDOUT)	/* reported as "> REF_TIMEOUT_S" */
		ret = 0;
	if (system("iptables -t nat -F; iptables -t nat -X; nft flush ruleset; "
		   "rm -f /tmp/k1s-bench-proxy.ipt")) {}
	return ret;
}

static bool no_ref;	/* --no-ref */

static int run_round(unsigned n, struct round *out)
{
	struct proxy_config cfg = { .node_name = "node-0", .ipv4 = true };
	struct proxy_service *svcs = xcalloc(n + 1, sizeof(*svcs));
	const struct proxy_service **v = xcalloc(n, sizeof(*v));
	uint64_t t, upd[UPDATES];
	struct proxy_stats st;
	struct proxy *p = NULL;
	int ret;

	out->n = n;
	for (unsigned i = 0; i < n; i++) {
		gen_service(&svcs[i], i, 0);
		v[i] = &svcs[i];
	}
	ret = proxy_new(&cfg, &p);
	if (ret)
		goto out;
	t = mono_ns();
	ret = proxy_sync(p, v, n);
	out->full_ms = ms(mono_ns() - t);
	proxy_stats(p, &st);
	out->batch_mib = (double)st.bytes / (1 << 20);
	for (unsigned k = 0; k < UPDATES && !ret; k++) {	/* one endpoint moves */
		struct proxy_service s;
		gen_service(&s, n / 2, (k + 1) % 2);
		t = mono_ns();
		ret = proxy_update(p, &s);
		upd[k] = mono_ns() - t;
		proxy_service_release(&s);
	}
	if (ret)
		goto out;
	qsort(upd, UPDATES, sizeof(upd[0]), cmp_u64);
	out->upd_med_ms = ms(upd[UPDATES / 2]);
	out->upd_max_ms = ms(upd[UPDATES - 1]);
	gen_service(&svcs[n], n, 0);
	t = mono_ns();
	ret = proxy_update(p, &svcs[n]);
	out->add_ms = ms(mono_ns() - t);
	if (!ret)
		ret = proxy_remove(p, "bench", svcs[n].name);
	if (!ret)
		ret = first_packet(p, out);
	if (ret || no_ref)
		goto out;
	/* The same services in one table (nft lists many tables slowly: minutes
	 * for 128 tables with 10,000 maps), synced by us and, as the text nft
	 * lists, loaded by nft -f into the emptied namespace. */
	ret = proxy_flush(p);
	proxy_free(p);
	p = NULL;
	cfg.shards = 1;
	if (!ret)
		ret = proxy_new(&cfg, &p);
	t = mono_ns();
	if (!ret)
		ret = proxy_sync(p, v, n);
	out->one_ms = ms(mono_ns() - t);
	if (!ret && system("nft list table ip k1s-proxy > /tmp/k1s-bench-proxy.nft"))
		ret = -EIO;
	if (!ret)
		ret = proxy_flush(p);
	if (!ret)
		ret = time_cmd("nft -f /tmp/k1s-bench-proxy.nft", &out->nft_ms);
	if (ret == -ETIMEDOUT)
		ret = 0;
	if (system("nft flush ruleset; rm -f /tmp/k1s-bench-proxy.nft")) {}
	if (!ret)
		ret = iptables_ref(svcs, n, &out->ipt_ms);
out:
	if (ret)
		fprintf(stderr, "bench-proxy: %u services: %s\n", n, strerror(-ret));
	proxy_free(p);
	for (unsigned i = 0; i <= n; i++)
		proxy_service_release(&svcs[i]);
	free(svcs);
	free(v);
	return ret;
}

static void ref_fmt(char *buf, size_t len, double t)
{
	if (t < 0)
		snprintf(buf, len, "> %d s", REF_TIMEOUT_S);
	else
		snprintf(buf, len, "%.1f ms", t);
}

int main(int argc, char **argv)
{
	static const unsigned sizes[] = { 100, 1000, 10000 };
	unsigned max = 10000;
	struct round r[3];
	size_t nr = 0;
	unsigned last;
	struct rusage ru;

	if (argc > 1 && !strcmp(argv[1], "apply"))
		return bench_proxy_apply(argc - 2, argv + 2);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--max") && i + 1 < argc)
			max = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-ref"))
			no_ref = true;
	}
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "bench-proxy: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	if (system("ip link set lo up && ip addr add " PROBE_EP "/32 dev lo && "
		   "ip route add 10.95.0.0/16 dev lo")) {
		fprintf(stderr, "bench-proxy: cannot set up the loopback probe\n");
		return 1;
	}
	for (size_t i = 0; i < 3 && sizes[i] <= max; i++) {
		if (run_round(sizes[i], &r[nr]))
			return 1;
		nr++;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("%-9s %-4s %12s %13s %13s %17s %13s %10s %11s %9s\n", "services", "eps", "full sync",
	       "(1 table)", "nft -f text", "iptables-restore", "1-svc update", "(max)", "add 1 svc",
	       "batch");
	for (size_t i = 0; i < nr; i++) {
		char nft[32], ipt[32];

		ref_fmt(nft, sizeof(nft), r[i].nft_ms);
		ref_fmt(ipt, sizeof(ipt), r[i].ipt_ms);
		printf("%-9u %-4u %9.1f ms %10.1f ms %13s %17s %10.2f ms %7.2f ms %8.2f ms %5.1f MiB\n",
		       r[i].n, EPS, r[i].full_ms, r[i].one_ms, nft, ipt, r[i].upd_med_ms,
		       r[i].upd_max_ms, r[i].add_ms, r[i].batch_mib);
	}
	printf("(1 table): our full sync into one table; nft -f: that table as nft lists it; "
	       "iptables-restore: kube-proxy's\n  iptables mode for the same services (a chain "
	       "per service and per endpoint)\n");
	printf("update = median of %d updates moving one endpoint of one service\n", UPDATES);
	printf("first packet (median TCP connect over loopback, %d each): via a ClusterIP | direct\n", PROBES);
	for (size_t i = 0; i < nr; i++)
		printf("  %6u services: %7.1f us | %7.1f us\n", r[i].n, r[i].fp_svc_us, r[i].fp_direct_us);
	last = nr ? r[nr - 1].n : 0;
	printf("peak RSS of the benchmark: %.1f MiB, of which the generated services at %u: %.1f MiB\n",
	       (double)ru.ru_maxrss / 1024, last,
	       (double)last * (sizeof(struct proxy_service) + EPS * sizeof(struct proxy_endpoint)) /
		       (1 << 20));
	printf("targets: 10,000-service full sync < 2 s; one-service update < 5 ms, flat "
	       "(kube-proxy nftables: ~141 ms to add one service at 10,000)\n");
	return 0;
}
