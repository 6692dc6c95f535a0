/* Topology hints (server/controllers/topology.c), the ServiceLB pool parser
 * (servicelb.c). */
#include "test.h"
#include "server/controllers/ctrl_priv.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static cJSON *parse(const char *s)
{
	cJSON *o = cJSON_Parse(s);

	if (!o)
		abort();
	return o;
}

static cJSON *node(const char *name, const char *zone, const char *cpu, bool ready, bool cp)
{
	char *s = xasprintf("{\"metadata\":{\"name\":\"%s\",\"labels\":{%s%s%s%s}},"
			    "\"status\":{\"allocatable\":{\"cpu\":\"%s\"},\"conditions\":[{\"type\":\"Ready\","
			    "\"status\":\"%s\"}]}}", name, zone ? "\"topology.kubernetes.io/zone\":\"" : "",
			    zone ? zone : "", zone ? "\"" : "",
			    cp ? (zone ? ",\"node-role.kubernetes.io/control-plane\":\"\"" :
				 "\"node-role.kubernetes.io/control-plane\":\"\"") : "",
			    cpu, ready ? "True" : "False");
	cJSON *o = parse(s);

	free(s);
	return o;
}

/* Endpoints in zones given as a string: "aaaabc" = 4 in a, 1 in b, 1 in c. */
static size_t endpoints(const char *zones, cJSON **eps)
{
	size_t n = strlen(zones);

	for (size_t i = 0; i < n; i++) {
		char *s = xasprintf("{\"addresses\":[\"10.0.0.%zu\"],\"conditions\":{\"ready\":true},"
				    "\"zone\":\"z%c\"}", i + 1, zones[i]);
		eps[i] = parse(s);
		free(s);
	}
	return n;
}

/* "a:2 b:2 c:2": hints per zone. */
static void tally(cJSON **eps, size_t n, char *out, size_t len)
{
	int cnt[26] = { 0 };
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		const cJSON *z = cJSON_GetArrayItem(json_path(eps[i], "hints.forZones"), 0);
		if (z)
			cnt[json_get_str(z, "name", "z?")[1] - 'a']++;
	}
	out[0] = '\0';
	for (int i = 0; i < 26; i++)
		if (cnt[i])
			o += (size_t)snprintf(out + o, len - o, "%s%c:%d", o ? " " : "", 'a' + i, cnt[i]);
}

static void three_zones(struct eps_topology *t)
{
	const char *z[] = { "za", "zb", "zc" };

	memset(t, 0, sizeof(*t));
	for (int i = 0; i < 3; i++) {
		cJSON *n = node("n", z[i], "2", true, false);
		eps_topology_add_node(t, n);
		cJSON_Delete(n);
	}
}

TEST(topology_auto_balances_by_cpu)
{
	cJSON *svc = parse("{\"metadata\":{\"annotations\":{\"service.kubernetes.io/topology-mode\":\"Auto\"}}}");
	cJSON *eps[8], *events = cJSON_CreateArray();
	struct eps_topology t;
	char got[64];
	size_t n = endpoints("aaaabc", eps);

	three_zones(&t);
	ASSERT_TRUE(eps_topology_usable(&t));
	eps_hints_apply(svc, "IPv4", &t, eps, n, false, events);
	tally(eps, n, got, sizeof(got));
	ASSERT_STR_EQ(got, "a:2 b:2 c:2");
	ASSERT_EQ(cJSON_GetArraySize(events), 1);
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(events, 0), "reason", ""), "TopologyAwareHintsEnabled");
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(events, 0), "message", ""),
		      "Topology Aware Hints has been enabled, addressType: IPv4");
	/* already populated: no second Enabled event */
	eps_hints_apply(svc, "IPv4", &t, eps, n, true, events);
	ASSERT_EQ(cJSON_GetArraySize(events), 1);
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(eps[i]);
	cJSON_Delete(events);
	cJSON_Delete(svc);
}

TEST(topology_auto_safeguards)
{
	cJSON *svc = parse("{\"metadata\":{\"annotations\":{\"service.kubernetes.io/topology-aware-hints\":\"auto\"}}}");
	cJSON *eps[8], *events = cJSON_CreateArray();
	struct eps_topology t;
	char got[64];
	size_t n = endpoints("ab", eps);

	three_zones(&t);
	eps_hints_apply(svc, "IPv6", &t, eps, n, false, events);
	tally(eps, n, got, sizeof(got));
	ASSERT_STR_EQ(got, "");
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(events, 0), "message", ""),
		      "Insufficient number of endpoints (2 endpoints, 3 zones), addressType: IPv6");
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(eps[i]);
	/* a ready node without a zone: no hints at all */
	cJSON *nz = node("x", NULL, "4", true, false);
	eps_topology_add_node(&t, nz);
	ASSERT_TRUE(!eps_topology_usable(&t));
	cJSON_Delete(nz);
	n = endpoints("aabbcc", eps);
	eps_hints_apply(svc, "IPv4", &t, eps, n, false, events);
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(events, 1), "message", ""),
		      "Insufficient Node information: allocatable CPU or zone not specified on one or more nodes, addressType: IPv4");
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(eps[i]);
	/* control-plane and not-ready nodes do not count */
	three_zones(&t);
	cJSON *cp = node("cp", NULL, "4", true, true), *nr = node("nr", NULL, "4", false, false);
	eps_topology_add_node(&t, cp);
	eps_topology_add_node(&t, nr);
	ASSERT_TRUE(eps_topology_usable(&t));
	cJSON_Delete(cp);
	cJSON_Delete(nr);
	/* an endpoint without zone */
	n = endpoints("aabbcc", eps);
	cJSON_DeleteItemFromObjectCaseSensitive(eps[3], "zone");
	eps_hints_apply(svc, "IPv4", &t, eps, n, false, events);
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(events, 2), "message", ""),
		      "One or more endpoints do not have a zone specified, addressType: IPv4");
	tally(eps, n, got, sizeof(got));
	ASSERT_STR_EQ(got, "");
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(eps[i]);
	/* an impossible balance: zone a has 8 of 10 CPUs, 3 endpoints */
	memset(&t, 0, sizeof(t));
	cJSON *a = node("a", "za", "8", true, false), *b = node("b", "zb", "1", true, false),
	      *c = node("c", "zc", "1", true, false);
	eps_topology_add_node(&t, a);
	eps_topology_add_node(&t, b);
	eps_topology_add_node(&t, c);
	n = endpoints("abc", eps);
	eps_hints_apply(svc, "IPv4", &t, eps, n, false, events);
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(events, 3), "message", ""),
		      "Unable to allocate minimum required endpoints to each zone without exceeding overload threshold (3 endpoints, 3 zones), addressType: IPv4");
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(eps[i]);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(events);
	cJSON_Delete(svc);
}

TEST(topology_prefer_close_hints_own_zone)
{
	cJSON *svc = parse("{\"spec\":{\"trafficDistribution\":\"PreferClose\"}}");
	cJSON *eps[8], *events = cJSON_CreateArray();
	char got[64];
	size_t n = endpoints("aaaabc", eps);

	eps_hints_apply(svc, "IPv4", NULL, eps, n, false, events);
	tally(eps, n, got, sizeof(got));
	ASSERT_STR_EQ(got, "a:4 b:1 c:1");
	ASSERT_EQ(cJSON_GetArraySize(events), 0);
	/* the mode goes away: hints removed, with the Disabled event */
	cJSON_DeleteItemFromObjectCaseSensitive(json_get(svc, "spec"), "trafficDistribution");
	eps_hints_apply(svc, "IPv4", NULL, eps, n, true, events);
	tally(eps, n, got, sizeof(got));
	ASSERT_STR_EQ(got, "");
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(events, 0), "reason", ""), "TopologyAwareHintsDisabled");
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(eps[i]);
	cJSON_Delete(events);
	cJSON_Delete(svc);
}

TEST(servicelb_pool_parse)
{
	ASSERT_OK(slb_pool_parse("10.99.0.0/30,fd99::10-fd99::11"));
	ASSERT_OK(slb_pool_parse("10.99.0.5-10.99.0.9"));
	ASSERT_OK(slb_pool_parse(""));
	ASSERT_EQ(slb_pool_parse("10.99.0.9-10.99.0.5"), -EINVAL);
	ASSERT_EQ(slb_pool_parse("10.99.0.1/30"), -EINVAL);	/* host bits set */
	ASSERT_EQ(slb_pool_parse("10.99.0.1-fd99::1"), -EINVAL);
	ASSERT_EQ(slb_pool_parse("fd99::1-fd98::1:0:0:0:1"), -EINVAL);	/* across a /64 */
	ASSERT_EQ(slb_pool_parse("bogus"), -EINVAL);
	ASSERT_OK(slb_pool_parse(NULL));
}
