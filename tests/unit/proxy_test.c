/*
 * proxy/: endpoint selection, the JSON decoders, and the rulesets against
 * the real kernel. The kernel tests unshare(CLONE_NEWNET) in the forked
 * test child, so every table they make vanishes with it; they compare
 * `nft list table` with the golden files under tests/unit/golden/proxy/
 * (K1S_UPDATE_GOLDEN=1 rewrites them when a change is intended).
 */
#include "test.h"

#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <unistd.h>

#include "lib/util.h"
#include "proxy/proxy.h"

#define GOLDEN_DIR "tests/unit/golden/proxy"

static struct proxy_endpoint *ep_add(struct proxy_service *s, const char *ip, uint16_t tport,
				     const char *node)
{
	struct proxy_endpoint *ep;

	s->endpoints = xrealloc(s->endpoints, (s->n_endpoints + 1) * sizeof(*ep));
	ep = &s->endpoints[s->n_endpoints++];
	memset(ep, 0, sizeof(*ep));
	if (inet_addr_parse(ip, &ep->addr))
		BUG("bad ip %s", ip);
	ep->ready = ep->serving = true;
	for (size_t i = 0; i < s->n_ports; i++)
		ep->target_ports[i] = tport;
	snprintf(ep->node_name, sizeof(ep->node_name), "%s", node);
	return ep;
}

static void svc_init(struct proxy_service *s, const char *name, enum proxy_type type,
		     const char *ip4, const char *ip6)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->namespace, "default");
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->type = type;
	if (ip4 && !inet_addr_parse(ip4, &s->cluster_ips[s->n_cluster_ips]))
		s->n_cluster_ips++;
	if (ip6 && !inet_addr_parse(ip6, &s->cluster_ips[s->n_cluster_ips]))
		s->n_cluster_ips++;
	s->affinity_timeout = 10800;
}

static void port_add(struct proxy_service *s, const char *name, uint8_t proto, uint16_t port,
		     uint16_t node_port)
{
	struct proxy_port *p = &s->ports[s->n_ports++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->protocol = proto;
	p->port = port;
	p->node_port = node_port;
}

#define N_FIX 8
/* A realistic set of services on node "node-a" in zone "zone-a". */
static void fixture(struct proxy_service *s)
{
	struct proxy_endpoint *ep;

	/* dual-stack ClusterIP, two endpoints per family on two nodes */
	svc_init(&s[0], "web", PROXY_CLUSTER_IP, "10.43.0.10", "fd43::10");
	port_add(&s[0], "http", IPPROTO_TCP, 80, 0);
	ep_add(&s[0], "10.42.1.5", 8080, "node-a");
	ep_add(&s[0], "10.42.2.7", 8080, "node-b");
	ep_add(&s[0], "fd42:1::5", 8080, "node-a");
	ep_add(&s[0], "fd42:2::7", 8080, "node-b");
	/* NodePort, TCP and UDP */
	svc_init(&s[1], "dns", PROXY_NODE_PORT, "10.43.0.20", "fd43::20");
	port_add(&s[1], "dns-tcp", IPPROTO_TCP, 53, 30053);
	port_add(&s[1], "dns", IPPROTO_UDP, 53, 30053);
	ep_add(&s[1], "10.42.1.9", 5353, "node-a");
	ep_add(&s[1], "fd42:1::9", 5353, "node-a");
	/* LoadBalancer with an external IP, ETP Local, one local endpoint */
	svc_init(&s[2], "lb", PROXY_LOAD_BALANCER, "10.43.0.30", NULL);
	port_add(&s[2], "", IPPROTO_TCP, 443, 30443);
	inet_addr_parse("192.0.2.10", &s[2].lb_ips[s[2].n_lb_ips++]);
	inet_addr_parse("198.51.100.7", &s[2].external_ips[s[2].n_external_ips++]);
	s[2].external_policy = PROXY_POLICY_LOCAL;
	ep_add(&s[2], "10.42.1.11", 8443, "node-a");
	ep_add(&s[2], "10.42.2.11", 8443, "node-b");
	/* session affinity */
	svc_init(&s[3], "sticky", PROXY_CLUSTER_IP, "10.43.0.40", "fd43::40");
	port_add(&s[3], "", IPPROTO_TCP, 80, 0);
	s[3].affinity = true;
	s[3].affinity_timeout = 600;
	ep_add(&s[3], "10.42.1.12", 80, "node-a");
	ep_add(&s[3], "10.42.2.12", 80, "node-b");
	/* no endpoints, NodePort: rejected */
	svc_init(&s[4], "empty", PROXY_NODE_PORT, "10.43.0.50", "fd43::50");
	port_add(&s[4], "", IPPROTO_TCP, 80, 30099);
	/* topology hints: node-a in zone-a uses only the zone-a endpoint */
	svc_init(&s[5], "zonal", PROXY_CLUSTER_IP, "10.43.0.60", NULL);
	port_add(&s[5], "", IPPROTO_TCP, 80, 0);
	ep = ep_add(&s[5], "10.42.1.13", 80, "node-a");
	ep->hint_zones[ep->n_hint_zones++] = proxy_zone_hash("zone-a");
	ep = ep_add(&s[5], "10.42.2.13", 80, "node-b");
	ep->hint_zones[ep->n_hint_zones++] = proxy_zone_hash("zone-b");
	/* only a terminating (still serving) endpoint: used */
	svc_init(&s[6], "draining", PROXY_CLUSTER_IP, "10.43.0.70", NULL);
	port_add(&s[6], "", IPPROTO_UDP, 514, 0);
	ep = ep_add(&s[6], "10.42.2.14", 514, "node-b");
	ep->ready = false;
	ep->terminating = true;
	/* internalTrafficPolicy Local without a local endpoint: dropped */
	svc_init(&s[7], "itp", PROXY_CLUSTER_IP, "10.43.0.80", NULL);
	port_add(&s[7], "", IPPROTO_TCP, 80, 0);
	s[7].internal_policy = PROXY_POLICY_LOCAL;
	ep_add(&s[7], "10.42.2.15", 80, "node-b");
}

static void fixture_release(struct proxy_service *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		proxy_service_release(&s[i]);
}

/* --- selection --- */

TEST(proxy_select_ready_then_terminating)
{
	struct proxy_service s;
	bool use[3];

	svc_init(&s, "x", PROXY_CLUSTER_IP, "10.43.0.1", NULL);
	port_add(&s, "", IPPROTO_TCP, 80, 0);
	ep_add(&s, "10.42.0.1", 80, "n1");
	ep_add(&s, "10.42.0.2", 80, "n1")->ready = false;
	ep_add(&s, "10.42.0.3", 80, "n1");
	s.endpoints[2].ready = false;
	s.endpoints[2].terminating = true;
	ASSERT_EQ(proxy_select(&s, "n1", "", false, use), 1);
	ASSERT_TRUE(use[0]);
	ASSERT_FALSE(use[1]);
	ASSERT_FALSE(use[2]);
	s.endpoints[0].ready = false;	/* none ready: the serving terminating one */
	ASSERT_EQ(proxy_select(&s, "n1", "", false, use), 1);
	ASSERT_TRUE(use[2]);
	s.endpoints[2].serving = false;	/* not serving either: nothing */
	ASSERT_EQ(proxy_select(&s, "n1", "", false, use), 0);
	proxy_service_release(&s);
}

TEST(proxy_select_topology_hints)
{
	struct proxy_service s;
	bool use[3];

	svc_init(&s, "x", PROXY_CLUSTER_IP, "10.43.0.1", NULL);
	port_add(&s, "", IPPROTO_TCP, 80, 0);
	ep_add(&s, "10.42.0.1", 80, "n1")->hint_zones[0] = proxy_zone_hash("za");
	ep_add(&s, "10.42.0.2", 80, "n2")->hint_zones[0] = proxy_zone_hash("zb");
	ep_add(&s, "10.42.0.3", 80, "n3")->hint_zones[0] = proxy_zone_hash("za");
	for (int i = 0; i < 3; i++)
		s.endpoints[i].n_hint_zones = 1;
	ASSERT_EQ(proxy_select(&s, "n1", "za", false, use), 2);
	ASSERT_TRUE(use[0] && !use[1] && use[2]);
	ASSERT_EQ(proxy_select(&s, "n2", "zc", false, use), 3);	/* no hint for zc: all */
	s.endpoints[1].n_hint_zones = 0;	/* one without hints: all */
	ASSERT_EQ(proxy_select(&s, "n1", "za", false, use), 3);
	s.endpoints[1].n_hint_zones = 1;
	s.internal_policy = PROXY_POLICY_LOCAL;	/* ITP Local ignores hints */
	ASSERT_EQ(proxy_select(&s, "n2", "za", false, use), 1);
	ASSERT_TRUE(use[1]);
	s.internal_policy = PROXY_POLICY_CLUSTER;
	ASSERT_EQ(proxy_select(&s, "n3", "za", true, use), 1);	/* local scope */
	ASSERT_TRUE(use[2]);
	proxy_service_release(&s);
}

/* --- decoding --- */

static const char *svc_json =
	"{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"web\"},"
	"\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.43.0.10\","
	"\"clusterIPs\":[\"10.43.0.10\",\"fd43::10\"],\"externalIPs\":[\"198.51.100.7\"],"
	"\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"web\",\"nodePort\":30080},"
	"{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":53,\"nodePort\":30053}],"
	"\"externalTrafficPolicy\":\"Local\",\"internalTrafficPolicy\":\"Cluster\","
	"\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":60}}},"
	"\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.10\"},{\"hostname\":\"x.example\"}]}}}";

static const char *slice_json =
	"{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"web-abc\",\"labels\":{\"kubernetes.io/service-name\":\"web\"}},"
	"\"addressType\":\"IPv4\","
	"\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080},{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":5353}],"
	"\"endpoints\":[{\"addresses\":[\"10.42.1.5\"],\"conditions\":{\"ready\":true},\"nodeName\":\"n1\",\"zone\":\"za\","
	"\"hints\":{\"forZones\":[{\"name\":\"za\"}]}},"
	"{\"addresses\":[\"10.42.2.7\"],\"conditions\":{\"ready\":false,\"serving\":true,\"terminating\":true}},"
	"{\"addresses\":[\"10.42.3.1\"]}]}";

TEST(proxy_decode_service_and_slice)
{
	cJSON *j = cJSON_Parse(svc_json), *sl = cJSON_Parse(slice_json);
	struct proxy_service s;
	char a[INET_ADDR_STRLEN];

	ASSERT_OK(proxy_service_decode(j, &s));
	ASSERT_STR_EQ(s.namespace, "ns1");
	ASSERT_STR_EQ(s.name, "web");
	ASSERT_EQ(s.type, PROXY_LOAD_BALANCER);
	ASSERT_EQ(s.n_cluster_ips, 2);
	ASSERT_STR_EQ(inet_addr_format(&s.cluster_ips[1], a), "fd43::10");
	ASSERT_EQ(s.n_external_ips, 1);
	ASSERT_EQ(s.n_lb_ips, 1);
	ASSERT_STR_EQ(inet_addr_format(&s.lb_ips[0], a), "192.0.2.10");
	ASSERT_EQ(s.n_ports, 2);
	ASSERT_EQ(s.ports[0].protocol, IPPROTO_TCP);
	ASSERT_EQ(s.ports[0].node_port, 30080);
	ASSERT_EQ(s.ports[1].protocol, IPPROTO_UDP);
	ASSERT_EQ(s.external_policy, PROXY_POLICY_LOCAL);
	ASSERT_EQ(s.internal_policy, PROXY_POLICY_CLUSTER);
	ASSERT_TRUE(s.affinity);
	ASSERT_EQ(s.affinity_timeout, 60);

	ASSERT_OK(proxy_slice_decode(sl, &s));
	ASSERT_EQ(s.n_endpoints, 3);
	ASSERT_TRUE(s.endpoints[0].ready && s.endpoints[0].serving && !s.endpoints[0].terminating);
	ASSERT_STR_EQ(s.endpoints[0].node_name, "n1");
	ASSERT_EQ(s.endpoints[0].n_hint_zones, 1);
	ASSERT_EQ(s.endpoints[0].hint_zones[0], proxy_zone_hash("za"));
	ASSERT_EQ(s.endpoints[0].target_ports[0], 8080);
	ASSERT_EQ(s.endpoints[0].target_ports[1], 5353);
	ASSERT_TRUE(!s.endpoints[1].ready && s.endpoints[1].serving && s.endpoints[1].terminating);
	ASSERT_TRUE(s.endpoints[2].ready && s.endpoints[2].serving);	/* absent = ready */
	proxy_service_release(&s);

	/* errors: a bad IP, an unknown protocol */
	cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "spec"), "clusterIPs"), 1, cJSON_CreateString("fd43::zz"));
	ASSERT_EQ(proxy_service_decode(j, &s), -EINVAL);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},\"spec\":{\"clusterIP\":\"10.43.0.1\","
			"\"ports\":[{\"port\":1,\"protocol\":\"ICMP\"}]}}");
	ASSERT_EQ(proxy_service_decode(j, &s), -EINVAL);
	cJSON_Delete(j);
	cJSON_Delete(sl);
}

/* --- against the kernel --- */

static bool in_new_netns(void)
{
	if (unshare(CLONE_NEWNET) == 0)
		return true;
	printf("# skipped: unshare(CLONE_NEWNET): %s\n", strerror(errno));
	return false;
}

/* Output of a shell command, malloc'd. */
static char *run_out(const char *fmt, ...) K1S_PRINTF(1, 2);
static char *run_out(const char *fmt, ...)
{
	char *cmd, *out = NULL;
	size_t cap = 0, n = 0, r;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	ASSERT_NOT_NULL(f);
	do {
		ALLOC_GROW(out, n + 4097, cap);
		r = fread(out + n, 1, 4096, f);
		n += r;
	} while (r > 0);
	out[n] = 0;
	pclose(f);
	free(cmd);
	return out;
}

static char *list_table(const char *family)
{
	return run_out("nft list table %s k1s-proxy 2>&1", family);
}

static void golden_check(const char *name, const char *got)
{
	char *path = xasprintf(GOLDEN_DIR "/%s", name), *want = NULL;
	size_t len;
	const char *upd = getenv("K1S_UPDATE_GOLDEN");

	if (upd && *upd && strcmp(upd, "0")) {
		ASSERT_OK(write_file_atomic(path, got, strlen(got), 0644));
		printf("# updated %s\n", path);
	} else {
		ASSERT_OK(read_file(path, 1 << 20, &want, &len));
		if (strcmp(want, got)) {
			char *tmp = xasprintf("%s/got", test_tmpdir());
			write_file_atomic(tmp, got, strlen(got), 0644);
			char *cmd = xasprintf("diff -u %s %s >&2", path, tmp);
			if (system(cmd)) {}
			test_fail(__FILE__, __LINE__, "%s differs (K1S_UPDATE_GOLDEN=1 to accept)", path);
		}
	}
	free(want);
	free(path);
}

static struct proxy *proxy_open_shards(unsigned shards)
{
	struct proxy_config cfg = { .node_name = "node-a", .zone = "zone-a", .ipv4 = true, .ipv6 = true,
				    .n_cluster_cidrs = 2, .shards = shards };
	struct proxy *p;

	inet_prefix_parse("10.42.0.0/16", INET_PREFIX_STRICT, &cfg.cluster_cidrs[0]);
	inet_prefix_parse("fd42::/32", INET_PREFIX_STRICT, &cfg.cluster_cidrs[1]);
	ASSERT_OK(proxy_new(&cfg, &p));
	return p;
}

static struct proxy *proxy_open(void)
{
	return proxy_open_shards(0);
}

static int sync_all(struct proxy *p, struct proxy_service *s, size_t n)
{
	const struct proxy_service *v[16];

	for (size_t i = 0; i < n; i++)
		v[i] = &s[i];
	return proxy_sync(p, v, n);
}

TEST(proxy_golden_full_sync)
{
	struct proxy_service s[N_FIX];
	struct proxy *p;
	char *v4, *v6;

	if (!in_new_netns())
		return;
	fixture(s);
	p = proxy_open();
	ASSERT_OK(sync_all(p, s, N_FIX));
	v4 = list_table("ip");
	v6 = list_table("ip6");
	golden_check("full-ip.nft", v4);
	golden_check("full-ip6.nft", v6);
	/* a second full sync of the same services gives the same tables */
	ASSERT_OK(sync_all(p, s, N_FIX));
	char *again = list_table("ip");
	ASSERT_STR_EQ(again, v4);
	free(again);
	/* the text nft prints loads back (what bench/proxy compares with) */
	char *path = xasprintf("%s/full.nft", test_tmpdir());
	ASSERT_OK(write_file_atomic(path, v4, strlen(v4), 0644));
	free(v4);
	free(v6);
	free(run_out("nft flush ruleset"));
	free(run_out("nft -f %s 2>&1", path));
	free(path);
	v4 = list_table("ip");
	golden_check("full-ip.nft", v4);
	free(v4);
	proxy_free(p);
	fixture_release(s, N_FIX);
}

/* Incremental updates end in the same tables as a full sync of the end state. */
TEST(proxy_update_matches_full_sync)
{
	struct proxy_service s[N_FIX];
	struct proxy *p;
	struct proxy_stats st;
	char *inc4, *inc6, *full4, *full6;

	if (!in_new_netns())
		return;
	fixture(s);
	p = proxy_open();
	ASSERT_EQ(proxy_update(p, &s[0]), -EINVAL);	/* needs a full sync first */
	ASSERT_OK(sync_all(p, s, N_FIX - 1));
	/* web: one endpoint goes away, one appears; sticky: gets no endpoints */
	s[0].endpoints[1].addr.bytes[3] = 99;
	ASSERT_OK(proxy_update(p, &s[0]));
	proxy_service_release(&s[3]);
	ASSERT_OK(proxy_update(p, &s[3]));
	ASSERT_OK(proxy_update(p, &s[N_FIX - 1]));	/* a new service */
	ASSERT_OK(proxy_remove(p, "default", "zonal"));
	ASSERT_EQ(proxy_remove(p, "default", "zonal"), -ENOENT);
	proxy_stats(p, &st);
	ASSERT_EQ(st.services, N_FIX - 1);
	ASSERT_FALSE(st.repaired);
	inc4 = run_out("nft list table ip k1s-proxy | sort");
	inc6 = run_out("nft list table ip6 k1s-proxy | sort");

	struct proxy_service rest[N_FIX - 1];
	for (size_t i = 0, j = 0; i < N_FIX; i++)
		if (i != 5)
			rest[j++] = s[i];
	ASSERT_OK(sync_all(p, rest, N_FIX - 1));
	full4 = run_out("nft list table ip k1s-proxy | sort");
	full6 = run_out("nft list table ip6 k1s-proxy | sort");
	ASSERT_TRUE(strstr(full4, "10.42.2.99") != NULL);
	ASSERT_TRUE(strstr(full4, "10.42.2.7") == NULL);
	ASSERT_STR_EQ(inc4, full4);
	ASSERT_STR_EQ(inc6, full6);
	free(inc4);
	free(inc6);
	free(full4);
	free(full6);
	ASSERT_OK(proxy_flush(p));
	inc4 = list_table("ip");
	ASSERT_TRUE(strstr(inc4, "No such file") != NULL);
	free(inc4);
	proxy_free(p);
	fixture_release(s, N_FIX);
}

TEST(proxy_repairs_deleted_table)
{
	struct proxy_service s[N_FIX];
	struct proxy *p;
	struct proxy_stats st;
	char *before, *after;

	if (!in_new_netns())
		return;
	fixture(s);
	p = proxy_open();
	ASSERT_OK(sync_all(p, s, N_FIX));
	before = list_table("ip6");
	free(run_out("nft delete table ip6 k1s-proxy"));
	ASSERT_OK(proxy_update(p, &s[1]));
	proxy_stats(p, &st);
	ASSERT_TRUE(st.repaired);
	ASSERT_EQ(st.services, N_FIX);
	after = list_table("ip6");
	ASSERT_STR_EQ(after, before);
	free(before);
	free(after);
	proxy_free(p);
	fixture_release(s, N_FIX);
}

/* The idle drift check: nothing missing is 0 and sends nothing; a deleted
 * service table (not the base one) is found and rewritten as it was. */
TEST(proxy_repair_restores_a_deleted_shard)
{
	struct proxy_service s[N_FIX];
	struct proxy *p;
	char *before, *after;

	if (!in_new_netns())
		return;
	fixture(s);
	p = proxy_open_shards(4);
	ASSERT_OK(sync_all(p, s, N_FIX));
	ASSERT_EQ(proxy_repair(p), 0);
	before = run_out("nft list ruleset");
	free(run_out("nft delete table ip k1s-proxy-3"));
	after = run_out("nft list ruleset");
	ASSERT_TRUE(strcmp(after, before) != 0);
	free(after);
	ASSERT_EQ(proxy_repair(p), 1);
	after = run_out("nft list ruleset");
	ASSERT_STR_EQ(after, before);
	ASSERT_EQ(proxy_repair(p), 0);
	free(before);
	free(after);
	proxy_free(p);
	fixture_release(s, N_FIX);
}

/* With the services spread over several tables, updates still end in what a
 * full sync makes, and a smaller table count deletes the extra tables. */
TEST(proxy_sharded_update_matches_full_sync)
{
	struct proxy_service s[N_FIX];
	struct proxy *p;
	char *inc, *full, *tables;

	if (!in_new_netns())
		return;
	fixture(s);
	p = proxy_open_shards(4);
	ASSERT_OK(sync_all(p, s, N_FIX));
	tables = run_out("nft list tables | sort | tr '\\n' ' '");
	ASSERT_STR_EQ(tables, "table ip k1s-proxy table ip k1s-proxy-1 table ip k1s-proxy-2 "
		      "table ip k1s-proxy-3 table ip6 k1s-proxy table ip6 k1s-proxy-1 "
		      "table ip6 k1s-proxy-2 table ip6 k1s-proxy-3 ");
	free(tables);
	s[0].endpoints[0].ready = false;
	ASSERT_OK(proxy_update(p, &s[0]));
	ASSERT_OK(proxy_remove(p, "default", "lb"));
	inc = run_out("nft list ruleset | sort");
	ASSERT_TRUE(strstr(inc, "10.42.1.11") == NULL);
	struct proxy_service rest[N_FIX - 1];
	for (size_t i = 0, j = 0; i < N_FIX; i++)
		if (i != 2)
			rest[j++] = s[i];
	ASSERT_OK(sync_all(p, rest, N_FIX - 1));
	full = run_out("nft list ruleset | sort");
	ASSERT_STR_EQ(inc, full);
	free(inc);
	free(full);
	proxy_free(p);
	/* a new proxy's full sync with one table removes the other three */
	p = proxy_open_shards(1);
	ASSERT_OK(sync_all(p, s, N_FIX));
	tables = run_out("nft list tables | sort | tr '\\n' ' '");
	ASSERT_STR_EQ(tables, "table ip k1s-proxy table ip6 k1s-proxy ");
	free(tables);
	proxy_free(p);
	fixture_release(s, N_FIX);
}

static bool hairpin_has(const char *ip)
{
	char *set = run_out("nft list set ip k1s-proxy hairpin-endpoints");
	char *want = xasprintf("%s . %s", ip, ip);
	bool found = strstr(set, want) != NULL;

	free(want);
	free(set);
	return found;
}

/* An address backing two services keeps its hairpin element until the
 * last of them stops using it. */
TEST(proxy_hairpin_element_shared_by_services)
{
	struct proxy_service s[2];
	struct proxy *p;

	if (!in_new_netns())
		return;
	svc_init(&s[0], "a", PROXY_CLUSTER_IP, "10.43.0.10", NULL);
	svc_init(&s[1], "b", PROXY_CLUSTER_IP, "10.43.0.11", NULL);
	for (int i = 0; i < 2; i++) {
		port_add(&s[i], "", IPPROTO_TCP, 80, 0);
		ep_add(&s[i], "10.42.1.5", 80, "node-a");
	}
	ep_add(&s[1], "10.42.1.6", 80, "node-a");
	p = proxy_open();
	ASSERT_OK(sync_all(p, s, 2));
	ASSERT_TRUE(hairpin_has("10.42.1.5"));
	ASSERT_TRUE(hairpin_has("10.42.1.6"));
	ASSERT_OK(proxy_remove(p, "default", "a"));
	ASSERT_TRUE(hairpin_has("10.42.1.5"));	/* b still uses it */
	s[1].endpoints[0].addr.bytes[3] = 77;
	ASSERT_OK(proxy_update(p, &s[1]));
	ASSERT_FALSE(hairpin_has("10.42.1.5"));
	ASSERT_TRUE(hairpin_has("10.42.1.77"));
	ASSERT_OK(proxy_update(p, &s[0]));	/* a comes back */
	ASSERT_TRUE(hairpin_has("10.42.1.5"));
	ASSERT_OK(proxy_remove(p, "default", "b"));
	ASSERT_TRUE(hairpin_has("10.42.1.5"));
	ASSERT_FALSE(hairpin_has("10.42.1.6"));
	ASSERT_FALSE(hairpin_has("10.42.1.77"));
	proxy_free(p);
	fixture_release(s, 2);
}

/* A balancer of 2,000 endpoints per family: its map and the hairpin set take several
 * messages (a message holds at most a few hundred elements). */
TEST(proxy_large_service)
{
	struct proxy_service s;
	struct proxy *p;
	char ip[32], *out;

	if (!in_new_netns())
		return;
	svc_init(&s, "big", PROXY_CLUSTER_IP, "10.43.0.10", "fd43::10");
	port_add(&s, "", IPPROTO_TCP, 80, 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(ip, sizeof(ip), "10.42.%d.%d", i / 200, i % 200 + 1);
		ep_add(&s, ip, 80, "node-a");
		snprintf(ip, sizeof(ip), "fd42:1::%x", i + 1);
		ep_add(&s, ip, 80, "node-a");
	}
	p = proxy_open();
	ASSERT_OK(sync_all(p, &s, 1));
	out = run_out("nft list map ip6 k1s-proxy svc-default/big/tcp/80/eps | grep -o ' : fd42' | wc -l");
	ASSERT_STR_EQ(out, "2000\n");
	free(out);
	out = run_out("nft list set ip k1s-proxy hairpin-endpoints | grep -o '10\\.42\\.[0-9.]* \\. ' | wc -l");
	ASSERT_STR_EQ(out, "2000\n");
	free(out);
	s.endpoints[0].addr.bytes[3] = 250;
	ASSERT_OK(proxy_update(p, &s));
	proxy_free(p);
	fixture_release(&s, 1);
}
