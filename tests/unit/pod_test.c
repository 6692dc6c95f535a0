/* tests/unit/pod_test.c - the pod workers' pure parts: /etc files
 * (resolv.conf: tests/unit/pod_dns_test.c). */
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
