/*
 * bench/proxy/apply.c - `bench-proxy apply`: programs the proxy tables from
 * a JSON array of v1 Services and discovery.k8s.io/v1 EndpointSlices, the
 * way the agent will (decode at the boundary, one full sync). The
 * end-to-end test tests/e2e/proxy.test.sh drives the kernel with it.
 *
 *   bench-proxy apply [--node NAME] [--zone ZONE] [--cluster-cidr CIDR]... FILE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/util.h"
#include "proxy/proxy.h"

#define APPLY_MAX_BYTES (64u << 20)

static const char *kind_of(const cJSON *o)
{
	return json_get_str(o, "kind", "");
}

/* The service of a slice (same namespace, label kubernetes.io/service-name). */
static struct proxy_service *slice_owner(const cJSON *slice, struct proxy_service *svcs, size_t n)
{
	const cJSON *md = json_get(slice, "metadata");
	const char *ns = json_get_str(md, "namespace", "default");
	const char *name = json_get_str(json_get(md, "labels"), "kubernetes.io/service-name", "");

	for (size_t i = 0; i < n; i++)
		if (!strcmp(svcs[i].namespace, ns) && !strcmp(svcs[i].name, name))
			return &svcs[i];
	return NULL;
}

static int decode_all(const cJSON *items, struct proxy_service **out, size_t *n_out)
{
	size_t n = 0, cap = (size_t)cJSON_GetArraySize(items) + 1;
	struct proxy_service *svcs = xcalloc(cap, sizeof(*svcs));
	const cJSON *it;
	int ret = 0;

	cJSON_ArrayForEach(it, items) {
		if (strcmp(kind_of(it), "Service"))
			continue;
		ret = proxy_service_decode(it, &svcs[n]);
		if (ret == -ENOENT)
			continue;	/* headless or ExternalName */
		if (ret) {
			fprintf(stderr, "apply: service %zu: %s\n", n, strerror(-ret));
			goto out;
		}
		n++;
	}
	cJSON_ArrayForEach(it, items) {
		struct proxy_service *s;
		if (strcmp(kind_of(it), "EndpointSlice") || !(s = slice_owner(it, svcs, n)))
			continue;
		ret = proxy_slice_decode(it, s);
		if (ret) {
			fprintf(stderr, "apply: slice of %s: %s\n", s->name, strerror(-ret));
			goto out;
		}
	}
out:
	*out = svcs;
	*n_out = n;
	return ret;
}

int bench_proxy_apply(int argc, char **argv)
{
	struct proxy_config cfg = { .node_name = "", .ipv4 = true, .ipv6 = true };
	struct proxy_service *svcs = NULL;
	const struct proxy_service **v = NULL;
	struct proxy *p = NULL;
	cJSON *items = NULL;
	char *text = NULL;
	size_t len, n = 0;
	int i, ret = -EINVAL;

	for (i = 0; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--node"))
			cfg.node_name = argv[i + 1];
		else if (!strcmp(argv[i], "--zone"))
			cfg.zone = argv[i + 1];
		else if (!strcmp(argv[i], "--cluster-cidr") && cfg.n_cluster_cidrs < 4 &&
			 !inet_prefix_parse(argv[i + 1], INET_PREFIX_STRICT,
					    &cfg.cluster_cidrs[cfg.n_cluster_cidrs]))
			cfg.n_cluster_cidrs++;
		else
			goto usage;
	}
	if (i != argc - 1)
		goto usage;
	ret = read_file(argv[i], APPLY_MAX_BYTES, &text, &len);
	if (ret) {
		fprintf(stderr, "apply: cannot read '%s': %s\n", argv[i], strerror(-ret));
		goto out;
	}
	items = cJSON_Parse(text);
	ret = cJSON_IsArray(items) ? decode_all(items, &svcs, &n) : -EINVAL;
	if (ret)
		goto out;
	v = xcalloc(n + 1, sizeof(*v));
	for (size_t k = 0; k < n; k++)
		v[k] = &svcs[k];
	ret = proxy_new(&cfg, &p);
	if (!ret)
		ret = proxy_sync(p, v, n);
	if (!ret)
		printf("applied %zu services\n", n);
	else
		fprintf(stderr, "apply: %s\n", strerror(-ret));
	goto out;
usage:
	fprintf(stderr, "usage: bench-proxy apply [--node NAME] [--zone ZONE] [--cluster-cidr CIDR]... FILE\n");
out:
	proxy_free(p);
	for (size_t k = 0; k < n; k++)
		proxy_service_release(&svcs[k]);
	free(svcs);
	free(v);
	cJSON_Delete(items);
	free(text);
	return ret ? 1 : 0;
}
