/* pod__resolv_text: the kubelet's resolv.conf rules per dnsPolicy (agent/pod_dns.c). */
#include "test.h"
#include "agent/pod_int.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static char *resolv(const char *host_file, const char *spec_json, bool host_network)
{
	struct pod_manager pm;
	struct pod p;
	char *path = xasprintf("%s/resolv.conf", test_tmpdir()), *out;

	memset(&pm, 0, sizeof(pm));
	memset(&p, 0, sizeof(p));
	write_file_atomic(path, host_file, strlen(host_file), 0644);
	pm.cluster_dns = "10.43.0.10";
	pm.cluster_domain = "cluster.local";
	pm.resolv_conf = path;
	p.pm = &pm;
	p.ns = "team";
	p.host_network = host_network;
	p.obj = cJSON_Parse(spec_json);
	out = pod__resolv_text(&p);
	cJSON_Delete(p.obj);
	free(path);
	return out;
}

static const struct {
	const char *name, *host, *spec, *want;
	bool host_network;
} cases[] = {
	{ "ClusterFirst adds the node's search domains",
	  "nameserver 192.0.2.1\nsearch corp.example lab.example\noptions rotate\n", "{\"spec\":{}}",
	  "search team.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\n"
	  "nameserver 10.43.0.10\noptions ndots:5\n", false },
	{ "ClusterFirst on the host network is Default",
	  "nameserver 192.0.2.1\nsearch corp.example\n", "{\"spec\":{\"hostNetwork\":true}}",
	  "search corp.example\nnameserver 192.0.2.1\n", true },
	{ "ClusterFirstWithHostNet", "nameserver 192.0.2.1\n",
	  "{\"spec\":{\"dnsPolicy\":\"ClusterFirstWithHostNet\"}}",
	  "search team.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n", true },
	{ "Default keeps the node's options; the last search line wins",
	  "# comment\nnameserver 192.0.2.1\nnameserver 192.0.2.2 # second\nsearch a.example\nsearch b.example\noptions timeout:2 rotate\n",
	  "{\"spec\":{\"dnsPolicy\":\"Default\"}}",
	  "search b.example\nnameserver 192.0.2.1\nnameserver 192.0.2.2\noptions timeout:2 rotate\n", false },
	{ "None: only dnsConfig", "nameserver 192.0.2.1\n",
	  "{\"spec\":{\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":[\"10.43.0.10\"],"
	  "\"searches\":[\"default.svc.cluster.local\"],\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},{\"name\":\"edns0\"}]}}}",
	  "search default.svc.cluster.local\nnameserver 10.43.0.10\noptions ndots:2 edns0\n", false },
	{ "dnsConfig merges: duplicates dropped, options by name, 3 nameservers", "",
	  "{\"spec\":{\"dnsConfig\":{\"nameservers\":[\"10.43.0.10\",\"1.1.1.1\",\"8.8.8.8\",\"9.9.9.9\"],"
	  "\"searches\":[\"svc.cluster.local\",\"x.example\"],\"options\":[{\"name\":\"ndots\",\"value\":\"1\"}]}}}",
	  "search team.svc.cluster.local svc.cluster.local cluster.local x.example\n"
	  "nameserver 10.43.0.10\nnameserver 1.1.1.1\nnameserver 8.8.8.8\noptions ndots:1\n", false },
};

TEST(pod_resolv_conf_per_policy)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = resolv(cases[i].host, cases[i].spec, cases[i].host_network);

		if (strcmp(got, cases[i].want))
			fprintf(stderr, "case '%s':\n got: %s\nwant: %s\n", cases[i].name, got, cases[i].want);
		ASSERT_STR_EQ(got, cases[i].want);
		free(got);
	}
}

TEST(pod_resolv_conf_search_limits)
{
	struct buf_like { char s[8192]; } *h = calloc(1, sizeof(*h));
	size_t n = 0;
	char *got;
	int words = 0;

	n += (size_t)snprintf(h->s + n, sizeof(h->s) - n, "search");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(h->s + n, sizeof(h->s) - n, " d%02d.example", i);
	snprintf(h->s + n, sizeof(h->s) - n, "\n");
	got = resolv(h->s, "{\"spec\":{}}", false);
	for (char *p = strchr(got, ' '); p && p < strchr(got, '\n'); p = strchr(p + 1, ' '))
		words++;
	ASSERT_EQ(words, 32);
	free(got);
	free(h);
}
