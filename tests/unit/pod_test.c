/* tests/unit/pod_test.c - the pod workers' pure parts: /etc files. */
#include "test.h"
#include "agent/pod_int.h"
#include "lib/util.h"

#include <string.h>

static void fake(struct pod_manager *pm, struct pod *p, const char *spec_json)
{
	memset(pm, 0, sizeof(*pm));
	memset(p, 0, sizeof(*p));
	pm->cluster_dns = "10.43.0.10";
	pm->cluster_domain = "cluster.local";
	p->pm = pm;
	p->ns = "ns1";
	p->name = "web";
	p->obj = cJSON_Parse(spec_json);
	ASSERT_NOT_NULL(p->obj);
	p->n_ips = 2;
	strcpy(p->ips[0], "10.42.0.5");
	strcpy(p->ips[1], "fd42::5");
}

TEST(pod_resolv_cluster_first)
{
	struct pod_manager pm;
	struct pod p;
	char *t;

	fake(&pm, &p, "{\"spec\":{}}");
	t = pod__resolv_text(&p);
	ASSERT_STR_EQ("search ns1.svc.cluster.local svc.cluster.local cluster.local\n"
		      "nameserver 10.43.0.10\noptions ndots:5\n", t);
	free(t);
	cJSON_Delete(p.obj);
	fake(&pm, &p, "{\"spec\":{\"dnsPolicy\":\"ClusterFirst\",\"dnsConfig\":{\"searches\":[\"x.y\"],"
		      "\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},{\"name\":\"edns0\"}]}}}");
	t = pod__resolv_text(&p);
	ASSERT_STR_EQ("search ns1.svc.cluster.local svc.cluster.local cluster.local\n"
		      "nameserver 10.43.0.10\nsearch x.y\noptions ndots:2 edns0\n", t);
	free(t);
	cJSON_Delete(p.obj);
}

TEST(pod_resolv_none)
{
	struct pod_manager pm;
	struct pod p;
	char *t;

	fake(&pm, &p, "{\"spec\":{\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":[\"1.2.3.4\"],"
		      "\"searches\":[\"a.b\"]}}}");
	t = pod__resolv_text(&p);
	ASSERT_STR_EQ("nameserver 1.2.3.4\nsearch a.b\n", t);
	free(t);
	cJSON_Delete(p.obj);
}

TEST(pod_hosts_file)
{
	struct pod_manager pm;
	struct pod p;
	char *t;

	fake(&pm, &p, "{\"spec\":{\"hostname\":\"h\",\"subdomain\":\"s\",\"hostAliases\":"
		      "[{\"ip\":\"1.1.1.1\",\"hostnames\":[\"a\",\"b\"]}]}}");
	t = pod__hosts_text(&p);
	ASSERT_NOT_NULL(strstr(t, "127.0.0.1\tlocalhost\n"));
	ASSERT_NOT_NULL(strstr(t, "10.42.0.5\th.s.ns1.svc.cluster.local\th\n"));
	ASSERT_NOT_NULL(strstr(t, "fd42::5\th.s.ns1.svc.cluster.local\th\n"));
	ASSERT_NOT_NULL(strstr(t, "# Entries added by HostAliases.\n1.1.1.1\ta\tb\n"));
	free(t);
	cJSON_Delete(p.obj);
}
