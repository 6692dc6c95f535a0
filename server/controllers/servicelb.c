/*
 * server/controllers/servicelb.c - ServiceLB: the built-in load balancer for
 * Services of type LoadBalancer, with the 1.17 finalizer protection.
 *
 * Which Services: type LoadBalancer without spec.loadBalancerClass (or with
 * SLB_CLASS); other classes belong to someone else and are left alone, as
 * the upstream service controller does.
 *
 * Provisioning: the finalizer service.kubernetes.io/load-balancer-cleanup is
 * added first (event EnsuringLoadBalancer), then status.loadBalancer.ingress
 * is written (EnsuredLoadBalancer): from the --lb-pool (one address per
 * family of spec.ipFamilies, kept while the Service keeps it) or, without a
 * pool, the InternalIP addresses of every Ready node in those families. The
 * nodes' proxies (agent/proxy_run.c) program the ingress addresses with the
 * service ports; unlike k3s's klipper-lb there are no hostPort pods, so any
 * number of LB Services may share the addresses as long as their ports
 * differ.
 *
 * Cleanup, when the Service is being deleted or is no longer ours (type or
 * class changed) but still has the finalizer: DeletingLoadBalancer; the
 * ingress is cleared from its status (so every proxy drops the addresses),
 * its pool addresses are released, and only once the cleared status is
 * stored is the finalizer removed (DeletedLoadBalancer). A Service can
 * therefore never vanish with its load balancer still answering, and with
 * ServiceLB disabled (--disable servicelb) it stays Terminating until a
 * server runs ServiceLB again.
 */
#include "ctrl_priv.h"
#include "../apiserver.h"
#include "../server.h"
#include "lib/inet.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SLB_POOL_MAX 16		/* ranges in --lb-pool */
#define SLB_SCAN_MAX 65536	/* addresses of a range looked at for a free one */

struct slb_range {
	struct inet_addr first;
	uint64_t size;
};

struct slb_resv {		/* pool addresses handed out, by Service key */
	char *key;
	struct inet_addr ip[2];
	size_t n;
};

static struct {
	struct ctrl_manager *m;
	struct slb_range pool[SLB_POOL_MAX];
	size_t n_pool;
	struct slb_resv *resv;
	size_t n_resv, alloc_resv;
} slb;

/* ---- the pool ---- */

/* Offsets are taken inside the whole IPv4 space, or the /64 of an IPv6
 * range (ranges never cross a /64). */
static struct inet_prefix range_space(const struct inet_addr *first)
{
	struct inet_prefix p = { *first, first->family == AF_INET ? 0 : 64 };

	memset(p.addr.bytes + p.len / 8, 0, sizeof(p.addr.bytes) - p.len / 8);
	return p;
}

/* a's index in r, or -EINVAL when outside. */
static int range_index(const struct slb_range *r, const struct inet_addr *a, uint64_t *idx)
{
	struct inet_prefix p = range_space(&r->first);
	uint64_t base, off;

	if (a->family != r->first.family || inet_prefix_offset(&p, &r->first, &base) ||
	    inet_prefix_offset(&p, a, &off) || off < base || off - base >= r->size)
		return -EINVAL;
	*idx = off - base;
	return 0;
}

/* "10.99.0.0/30", "fd99::/120" or "10.99.0.5-10.99.0.9". */
static int range_parse(const char *s, struct slb_range *r)
{
	const char *dash = strchr(s, '-');
	struct inet_prefix p;

	if (dash) {
		char *a = xstrndup(s, (size_t)(dash - s));
		struct inet_addr last;
		int ret = inet_addr_parse(a, &r->first);

		free(a);
		if (ret || inet_addr_parse(dash + 1, &last))
			return -EINVAL;
		r->size = UINT64_MAX;
		if (range_index(r, &last, &r->size))
			return -EINVAL;
		r->size++;
		return 0;
	}
	if (inet_prefix_parse(s, INET_PREFIX_STRICT, &p))
		return -EINVAL;
	r->first = p.addr;
	unsigned host = (p.addr.family == AF_INET ? 32 : 128) - p.len;
	r->size = host >= 62 ? (UINT64_C(1) << 62) : (UINT64_C(1) << host);
	return 0;
}

int slb_pool_parse(const char *list)
{
	char *copy = xstrdup(list ? list : ""), *save = NULL;
	int ret = 0;

	slb.n_pool = 0;
	for (char *t = strtok_r(copy, ",", &save); t && !ret; t = strtok_r(NULL, ",", &save)) {
		if (slb.n_pool >= SLB_POOL_MAX || range_parse(t, &slb.pool[slb.n_pool]))
			ret = -EINVAL;
		else
			slb.n_pool++;
	}
	free(copy);
	return ret;
}

static struct inet_addr nth(const struct slb_range *r, uint64_t i)
{
	struct inet_prefix p = { r->first, 0 };
	struct inet_addr a;

	inet_prefix_nth(&p, i, &a);	/* len 0: plain addition */
	return a;
}

static bool in_pool(const struct inet_addr *a)
{
	uint64_t idx;

	for (size_t i = 0; i < slb.n_pool; i++)
		if (!range_index(&slb.pool[i], a, &idx))
			return true;
	return false;
}

static struct slb_resv *resv_find(const char *key)
{
	for (size_t i = 0; i < slb.n_resv; i++)
		if (!strcmp(slb.resv[i].key, key))
			return &slb.resv[i];
	return NULL;
}

static void enqueue_pending(const cJSON *svc, void *ud);

/* Frees key's pool addresses; pending Services may take them now. */
static void resv_drop(const char *key)
{
	struct slb_resv *r = resv_find(key);

	if (!r)
		return;
	free(r->key);
	*r = slb.resv[--slb.n_resv];
	cache_each(slb.m->svcs, NULL, enqueue_pending, NULL);
}

struct used {
	const char *self;
	const struct inet_addr *cand;
	bool hit;
};

static void used_by_svc(const cJSON *svc, void *ud)
{
	struct used *u = ud;
	char *key = cache_key_of(svc);
	const cJSON *it;

	if (strcmp(key, u->self)) {
		cJSON_ArrayForEach(it, json_path(svc, "status.loadBalancer.ingress")) {
			struct inet_addr a;

			if (!inet_addr_parse(json_get_str(it, "ip", ""), &a) && inet_addr_equal(&a, u->cand))
				u->hit = true;
		}
	}
	free(key);
}

static bool addr_used(const char *self, const struct inet_addr *a)
{
	struct used u = { self, a, false };

	for (size_t i = 0; i < slb.n_resv; i++)
		for (size_t j = 0; j < slb.resv[i].n; j++)
			if (strcmp(slb.resv[i].key, self) && inet_addr_equal(&slb.resv[i].ip[j], a))
				return true;
	cache_each(slb.m->svcs, NULL, used_by_svc, &u);
	return u.hit;
}

/* A free pool address of family for key; -ENOSPC when none. */
static int pool_alloc(const char *key, int family, struct inet_addr *out)
{
	for (size_t i = 0; i < slb.n_pool; i++) {
		if (slb.pool[i].first.family != family)
			continue;
		for (uint64_t k = 0; k < slb.pool[i].size && k < SLB_SCAN_MAX; k++) {
			*out = nth(&slb.pool[i], k);
			if (!addr_used(key, out))
				return 0;
		}
	}
	return -ENOSPC;
}

/* ---- what a Service should have ---- */

static bool svc_ours(const cJSON *svc)
{
	const cJSON *spec = json_get(svc, "spec");
	const char *cls = json_get_str(spec, "loadBalancerClass", NULL);

	return !strcmp(json_get_str(spec, "type", ""), "LoadBalancer") && (!cls || !strcmp(cls, SLB_CLASS));
}

static bool has_finalizer(const cJSON *svc)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, json_path(svc, "metadata.finalizers"))
		if (cJSON_IsString(it) && !strcmp(it->valuestring, SLB_FINALIZER))
			return true;
	return false;
}

static int family_of(const char *f)
{
	return !strcmp(f, "IPv6") ? AF_INET6 : AF_INET;
}

struct node_ips {
	int families[2];
	size_t n_fam;
	cJSON *out;		/* array of strings */
};

static void add_node_ips(const cJSON *node, void *ud)
{
	struct node_ips *n = ud;
	const cJSON *a;

	if (!ctrl__ready(node) || json_path(node, "metadata.deletionTimestamp"))
		return;
	cJSON_ArrayForEach(a, json_path(node, "status.addresses")) {
		struct inet_addr ip;
		const char *s = json_get_str(a, "address", "");

		if (strcmp(json_get_str(a, "type", ""), "InternalIP") || inet_addr_parse(s, &ip))
			continue;
		for (size_t i = 0; i < n->n_fam; i++)
			if (ip.family == n->families[i])
				cJSON_AddItemToArray(n->out, cJSON_CreateString(s));
	}
}

static int cmp_json_str(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->valuestring, (*(cJSON *const *)b)->valuestring);
}

/* The ingress list svc should have (array of {ip, ipMode}); -ENOSPC when
 * the pool is exhausted (the Service stays pending). */
static int wanted_ingress(const cJSON *svc, const char *key, cJSON **out)
{
	struct node_ips n = { .out = cJSON_CreateArray() };
	const cJSON *it;
	cJSON **v, *ing = cJSON_CreateArray();
	size_t cnt;

	cJSON_ArrayForEach(it, json_path(svc, "spec.ipFamilies"))
		if (n.n_fam < 2 && cJSON_IsString(it))
			n.families[n.n_fam++] = family_of(it->valuestring);
	if (!n.n_fam)
		n.families[n.n_fam++] = strchr(json_get_str(json_get(svc, "spec"), "clusterIP", ""), ':') ?
			AF_INET6 : AF_INET;
	if (slb.n_pool) {
		struct slb_resv *r = resv_find(key);
		char buf[INET6_ADDRSTRLEN];

		if (!r) {
			ALLOC_GROW(slb.resv, slb.n_resv + 1, slb.alloc_resv);
			r = &slb.resv[slb.n_resv++];
			memset(r, 0, sizeof(*r));
			r->key = xstrdup(key);
			/* keep what the Service already has from the pool */
			cJSON_ArrayForEach(it, json_path(svc, "status.loadBalancer.ingress")) {
				struct inet_addr a;

				if (r->n < 2 && !inet_addr_parse(json_get_str(it, "ip", ""), &a) && in_pool(&a))
					r->ip[r->n++] = a;
			}
		}
		for (size_t f = 0; f < n.n_fam; f++) {
			size_t k;

			for (k = 0; k < r->n && r->ip[k].family != n.families[f]; k++)
				;
			if (k == r->n && r->n < 2 && pool_alloc(key, n.families[f], &r->ip[r->n]) == 0)
				r->n++;
		}
		for (size_t k = 0; k < r->n; k++)
			cJSON_AddItemToArray(n.out, cJSON_CreateString(inet_addr_format(&r->ip[k], buf)));
	} else {
		cache_each(slb.m->nodes, NULL, add_node_ips, &n);
	}
	cnt = (size_t)cJSON_GetArraySize(n.out);
	v = xcalloc(cnt + 1, sizeof(*v));
	cnt = 0;
	cJSON_ArrayForEach(it, n.out)
		v[cnt++] = (cJSON *)it;
	qsort(v, cnt, sizeof(*v), cmp_json_str);
	for (size_t i = 0; i < cnt; i++) {
		cJSON *e;

		if (i && !strcmp(v[i]->valuestring, v[i - 1]->valuestring))
			continue;
		e = cJSON_CreateObject();
		json_set_str(e, "ip", v[i]->valuestring);
		json_set_str(e, "ipMode", "VIP");
		cJSON_AddItemToArray(ing, e);
	}
	free(v);
	cJSON_Delete(n.out);
	*out = ing;
	return slb.n_pool && !cJSON_GetArraySize(ing) ? -ENOSPC : 0;
}

/* ---- writes ---- */

static void write_status(const cJSON *svc, cJSON *ingress, struct ctrl_batch *b)
{
	cJSON *o = cJSON_Duplicate(svc, 1), *lb = json_obj(json_obj(o, "status"), "loadBalancer");

	if (cJSON_GetArraySize(ingress))
		json_set(lb, "ingress", ingress);
	else {
		cJSON_Delete(ingress);
		cJSON_DeleteItemFromObjectCaseSensitive(lb, "ingress");
	}
	api_internal_update(slb.m->srv, "", "services", "status", o, ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(o);
}

/* Adds (add) or removes our finalizer with a resourceVersion-checked patch. */
static void write_finalizer(const cJSON *svc, bool add, struct ctrl_batch *b)
{
	cJSON *o = cJSON_Duplicate(svc, 1), *m = json_obj(o, "metadata"), *fin = cJSON_CreateArray();
	const cJSON *it;

	cJSON_ArrayForEach(it, json_path(svc, "metadata.finalizers"))
		if (!cJSON_IsString(it) || strcmp(it->valuestring, SLB_FINALIZER))
			cJSON_AddItemToArray(fin, cJSON_Duplicate(it, 1));
	if (add)
		cJSON_AddItemToArray(fin, cJSON_CreateString(SLB_FINALIZER));
	json_set(m, "finalizers", fin);
	ctrl__patch_meta(slb.m->srv, "", "services", o, b);
	cJSON_Delete(o);
}

static void ensure(const cJSON *svc, const char *key, struct ctrl_batch *b)
{
	cJSON *ing = NULL;
	int ret;

	if (!has_finalizer(svc)) {
		ctrl_event(slb.m->srv, svc, "Normal", "EnsuringLoadBalancer", "Ensuring load balancer");
		write_finalizer(svc, true, b);	/* the update event brings us back */
		return;
	}
	ret = wanted_ingress(svc, key, &ing);
	if (json_equal(ing, json_path(svc, "status.loadBalancer.ingress")) ||
	    (!cJSON_GetArraySize(ing) && !cJSON_GetArraySize(json_path(svc, "status.loadBalancer.ingress")))) {
		cJSON_Delete(ing);
	} else {
		write_status(svc, ing, b);
		if (cJSON_GetArraySize(json_path(svc, "status.loadBalancer.ingress")) || !ret)
			ctrl_event(slb.m->srv, svc, "Normal", "EnsuredLoadBalancer", "Ensured load balancer");
	}
	if (ret == -ENOSPC)
		ctrl_event(slb.m->srv, svc, "Warning", "SyncLoadBalancerFailed",
			   "Error syncing load balancer: no free address in the load balancer pool");
}

static void cleanup(const cJSON *svc, const char *key, struct ctrl_batch *b)
{
	if (cJSON_GetArraySize(json_path(svc, "status.loadBalancer.ingress"))) {
		ctrl_event(slb.m->srv, svc, "Normal", "DeletingLoadBalancer", "Deleting load balancer");
		write_status(svc, cJSON_CreateArray(), b);	/* proxies drop the addresses */
		return;
	}
	resv_drop(key);
	if (has_finalizer(svc)) {
		write_finalizer(svc, false, b);
		ctrl_event(slb.m->srv, svc, "Normal", "DeletedLoadBalancer", "Deleted load balancer");
	}
}

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *svc = cache_get(slb.m->svcs, ns, name);
	struct ctrl_batch *b = ctrl_batch_new(q, key);

	(void)ud;
	if (!svc)
		resv_drop(key);
	else if (svc_ours(svc) && !json_path(svc, "metadata.deletionTimestamp"))
		ensure(svc, key, b);
	else if (has_finalizer(svc) || resv_find(key))
		cleanup(svc, key, b);
	ctrl_batch_end(b);
}

/* ---- events ---- */

static void on_svc(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *o = new ? new : old;
	char *k = cache_key_of(o);

	(void)st;
	(void)ud;
	wq_add(&slb.m->slb_q, k);
	free(k);
}

static void enqueue_lb(const cJSON *svc, void *ud)
{
	(void)ud;
	if (svc_ours(svc) || has_finalizer(svc))
		on_svc(NULL, NULL, svc, NULL);
}

static void enqueue_pending(const cJSON *svc, void *ud)
{
	(void)ud;
	if (svc_ours(svc) && !cJSON_GetArraySize(json_path(svc, "status.loadBalancer.ingress")))
		on_svc(NULL, NULL, svc, NULL);
}

/* Node addresses or readiness changing move the ingress of every LB
 * Service (without a pool). */
static void on_node(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (slb.n_pool)
		return;
	if (old && new && ctrl__ready(old) == ctrl__ready(new) &&
	    json_equal(json_path(old, "status.addresses"), json_path(new, "status.addresses")))
		return;
	cache_each(slb.m->svcs, NULL, enqueue_lb, NULL);
}

int slb__start(struct ctrl_manager *m)
{
	const struct server_config *cfg = m->srv->cfg;

	slb.m = m;
	if (slb_pool_parse(cfg ? cfg->lb_pool : NULL)) {
		log_error("servicelb: invalid --lb-pool '%s'", cfg->lb_pool);
		return -EINVAL;
	}
	wq_init(&m->slb_q, m->srv->loop, process, m);
	cache_store_on_event(m->svcs, on_svc, m);
	cache_store_on_event(m->nodes, on_node, m);
	return 0;
}

void slb__stop(void)
{
	for (size_t i = 0; i < slb.n_resv; i++)
		free(slb.resv[i].key);
	free(slb.resv);
	memset(&slb, 0, sizeof(slb));
}
