/*
 * server/controllers/epgroup.c - port-set keys and pod-to-Service matching
 * for the endpoint controllers (epgroup.h).
 */
#include "epgroup.h"
#include "ctrl_priv.h"
#include "../cache.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *epg_ports_key(const cJSON *ports)
{
	size_t n = (size_t)cJSON_GetArraySize(ports), i = 0;
	char **v = xcalloc(n + 1, sizeof(*v));
	struct buf b;
	const cJSON *p;

	/* unit/record separators: they cannot occur in a valid port name */
	cJSON_ArrayForEach(p, ports)
		v[i++] = xasprintf("%s\x1f%s\x1f%lld\x1f%s", json_get_str(p, "name", ""),
				   json_get_str(p, "protocol", "TCP"), (long long)json_get_int(p, "port", 0),
				   json_get_str(p, "appProtocol", ""));
	qsort(v, n, sizeof(*v), cmp_str);
	buf_init(&b, 64);
	buf_addstr(&b, "");
	for (i = 0; i < n; i++) {
		buf_addf(&b, "%s\x1e", v[i]);
		free(v[i]);
	}
	free(v);
	return buf_detach(&b, NULL);
}

bool epg_same_ports(const cJSON *a, const cJSON *b)
{
	char *ka = epg_ports_key(a), *kb = epg_ports_key(b);
	bool same = !strcmp(ka, kb);

	free(ka);
	free(kb);
	return same;
}

struct selecting {
	const cJSON *old, *new;
	void (*fn)(const cJSON *svc, void *ud);
	void *ud;
};

static void match_svc(const cJSON *svc, void *ud)
{
	struct selecting *m = ud;
	const cJSON *sel = json_path(svc, "spec.selector");

	if ((m->old && eps_selector_matches(sel, json_path(m->old, "metadata.labels"))) ||
	    (m->new && eps_selector_matches(sel, json_path(m->new, "metadata.labels"))))
		m->fn(svc, m->ud);
}

void epg_each_selecting(struct cache_store *svcs, const cJSON *old, const cJSON *new,
			void (*fn)(const cJSON *svc, void *ud), void *ud)
{
	struct selecting m = { old, new, fn, ud };
	const cJSON *pod = new ? new : old;

	cache_each(svcs, json_get_str(json_get(pod, "metadata"), "namespace", ""), match_svc, &m);
}
