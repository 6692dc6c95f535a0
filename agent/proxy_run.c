/*
 * agent/proxy_run.c - informers on Services, EndpointSlices and the node
 * feeding proxy/ (see proxy_run.h for the sync rules).
 *
 * Index: one entry per "namespace/service" that has a Service or a slice
 * (label kubernetes.io/service-name), holding the names of its slices, so
 * one service is rebuilt from the informer stores without looking at the
 * others: an update costs the same at 10 or 10,000 services.
 */
#include "node.h"
#include "proxy_run.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proxy/proxy.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LABEL_SERVICE "kubernetes.io/service-name"
#define LABEL_ZONE "topology.kubernetes.io/zone"
#define PRUN_BUCKETS 4096

struct prun_svc {
	struct prun_svc *next;		/* hash chain */
	struct prun_svc *dirty_next;	/* dirty list */
	bool dirty;
	char *key;			/* "namespace/name" */
	char **slices;			/* slice names (namespace of the key) */
	size_t n_slices, alloc_slices;
	size_t n_udp;			/* UDP endpoint addresses in use */
	struct inet_addr *udp;
	uint16_t hc_port;		/* health check node port served */
};

struct prun {
	struct agent *a;
	struct proxy_config cfg;
	struct proxy *px;
	struct api_informer *svcs, *slices, *node;
	struct prun_svc *buckets[PRUN_BUCKETS];
	struct prun_svc *dirty;
	bool full;			/* next sync is a full one */
	bool synced;			/* a full sync succeeded */
	char zone[PROXY_NAME_MAX];
	uv_timer_t timer;
	uint64_t due;			/* when the timer fires (uv_now) */
	struct prun_health *health;
};

static size_t hash(const char *s)
{
	size_t h = 14695981039346656037ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h % PRUN_BUCKETS;
}

static struct prun_svc *entry(struct prun *r, const char *key, bool create)
{
	struct prun_svc **pp = &r->buckets[hash(key)];

	for (; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->key, key))
			return *pp;
	if (!create)
		return NULL;
	*pp = xcalloc(1, sizeof(**pp));
	(*pp)->key = xstrdup(key);
	return *pp;
}

static void entry_free(struct prun_svc *e)
{
	for (size_t i = 0; i < e->n_slices; i++)
		free(e->slices[i]);
	free(e->slices);
	free(e->udp);
	free(e->key);
	free(e);
}

/* Drops the entry when nothing refers to it any more. */
static void entry_gc(struct prun *r, struct prun_svc *e)
{
	struct prun_svc **pp = &r->buckets[hash(e->key)];

	if (e->dirty || e->n_slices || e->hc_port || e->n_udp)
		return;
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	entry_free(e);
}

/* Runs on_timer in ms unless it is due sooner already. */
static void schedule(struct prun *r, uint64_t ms)
{
	uint64_t due = uv_now(r->timer.loop) + ms;

	if (!uv_is_active((uv_handle_t *)&r->timer) || due < r->due) {
		r->due = due;
		uv_timer_start(&r->timer, r->timer.timer_cb, ms, 0);
	}
}

static void mark(struct prun *r, const char *key)
{
	struct prun_svc *e = entry(r, key, true);

	if (!e->dirty) {
		e->dirty = true;
		e->dirty_next = r->dirty;
		r->dirty = e;
	}
	if (r->synced)
		schedule(r, PRUN_DELAY_MS);
}

static char *obj_key(const cJSON *o, const char *name)
{
	return xasprintf("%s/%s", json_get_str(json_get(o, "metadata"), "namespace", ""), name);
}

/* ---- building one service from the stores ---- */

/* Decodes key's Service with its slices into *out: 0, -ENOENT when there
 * is nothing to program, else -errno. *hc gets its healthCheckNodePort. */
static int build(struct prun *r, struct prun_svc *e, struct proxy_service *out, uint16_t *hc)
{
	char ns[PROXY_NAME_MAX];
	const char *slash = strchr(e->key, '/');
	const cJSON *svc;
	int ret;

	*hc = 0;
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - e->key), e->key);
	svc = api_informer_get(r->svcs, ns, slash + 1);
	if (!svc)
		return -ENOENT;
	ret = proxy_service_decode(svc, out);
	if (ret)
		return ret;
	for (size_t i = 0; i < e->n_slices && !ret; i++) {
		const cJSON *sl = api_informer_get(r->slices, ns, e->slices[i]);

		if (sl && proxy_slice_decode(sl, out))
			log_warn("proxy: ignoring malformed EndpointSlice %s/%s", ns, e->slices[i]);
	}
	if (out->external_policy == PROXY_POLICY_LOCAL)
		*hc = (uint16_t)json_get_int(json_get(svc, "spec"), "healthCheckNodePort", 0);
	return 0;
}

/* The UDP endpoint addresses svc sends to (sorted out by the caller). */
static size_t udp_endpoints(const struct proxy_service *svc, struct inet_addr **out)
{
	bool udp = false;
	size_t n = 0;

	for (size_t i = 0; i < svc->n_ports; i++)
		udp |= svc->ports[i].protocol == IPPROTO_UDP;
	*out = NULL;
	if (!udp || !svc->n_endpoints)
		return 0;
	*out = xcalloc(svc->n_endpoints, sizeof(**out));
	for (size_t i = 0; i < svc->n_endpoints; i++)
		(*out)[n++] = svc->endpoints[i].addr;
	return n;
}

/* After a successful update: conntrack of vanished UDP endpoints, health. */
static void after_update(struct prun *r, struct prun_svc *e, const struct proxy_service *svc,
			 uint16_t hc)
{
	struct inet_addr *now = NULL, *gone;
	size_t n = svc ? udp_endpoints(svc, &now) : 0, n_gone = 0;

	gone = xcalloc(e->n_udp + 1, sizeof(*gone));
	for (size_t i = 0; i < e->n_udp; i++) {
		bool still = false;

		for (size_t j = 0; j < n && !still; j++)
			still = inet_addr_equal(&e->udp[i], &now[j]);
		if (!still)
			gone[n_gone++] = e->udp[i];
	}
	if (n_gone && proxy_conntrack_clear_udp(gone, n_gone) < 0)
		log_warn("proxy: cannot clear UDP conntrack entries of %s", e->key);
	free(gone);
	free(e->udp);
	e->udp = now;
	e->n_udp = n;
	if (hc || e->hc_port) {
		int local = 0;

		if (hc && svc) {
			bool *use = xcalloc(svc->n_endpoints + 1, sizeof(*use));
			local = (int)proxy_select(svc, r->cfg.node_name, r->zone, true, use);
			free(use);
		}
		if (e->hc_port && e->hc_port != hc)
			prun_health_set(r->health, e->key, 0, 0);
		e->hc_port = hc;
		if (hc)
			prun_health_set(r->health, e->key, hc, local);
	}
}

/* ---- syncs ---- */

static int sync_one(struct prun *r, struct prun_svc *e)
{
	struct proxy_service svc;
	uint16_t hc = 0;
	int ret = build(r, e, &svc, &hc);
	char ns[PROXY_NAME_MAX];
	const char *slash = strchr(e->key, '/');

	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - e->key), e->key);
	if (ret == -ENOENT) {
		ret = proxy_remove(r->px, ns, slash + 1);
		if (ret == -ENOENT)
			ret = 0;
		if (!ret)
			after_update(r, e, NULL, 0);
		return ret;
	}
	if (ret) {
		log_warn("proxy: cannot decode Service %s: %s", e->key, strerror(-ret));
		return 0;	/* retrying does not help; the next change will */
	}
	ret = proxy_update(r->px, &svc);
	if (!ret)
		after_update(r, e, &svc, hc);
	proxy_service_release(&svc);
	return ret;
}

struct full {
	struct prun *r;
	struct proxy_service **v;
	struct prun_svc **e;
	uint16_t *hc;
	size_t n, alloc;
};

static void full_add(const cJSON *svc, void *ud)
{
	struct full *f = ud;
	char *key = obj_key(svc, json_get_str(json_get(svc, "metadata"), "name", ""));
	struct prun_svc *e = entry(f->r, key, true);
	struct proxy_service *ps = xmalloc(sizeof(*ps));
	uint16_t hc;

	free(key);
	if (build(f->r, e, ps, &hc)) {
		free(ps);
		return;
	}
	if (f->n == f->alloc) {
		f->alloc = f->alloc ? 2 * f->alloc : 64;
		f->v = xrealloc(f->v, f->alloc * sizeof(*f->v));
		f->e = xrealloc(f->e, f->alloc * sizeof(*f->e));
		f->hc = xrealloc(f->hc, f->alloc * sizeof(*f->hc));
	}
	f->v[f->n] = ps;
	f->e[f->n] = e;
	f->hc[f->n++] = hc;
}

static int sync_full(struct prun *r)
{
	struct full f = { .r = r };
	uint64_t t0 = mono_ns();
	int ret;

	api_informer_foreach(r->svcs, full_add, &f);
	ret = proxy_sync(r->px, (const struct proxy_service *const *)f.v, f.n);
	if (!ret)
		log_info("proxy: full sync of %zu services in %.1f ms (zone '%s')", f.n,
			 (double)(mono_ns() - t0) / 1e6, r->zone);
	for (size_t i = 0; i < f.n; i++) {
		if (!ret)
			after_update(r, f.e[i], f.v[i], f.hc[i]);
		proxy_service_release(f.v[i]);
		free(f.v[i]);
	}
	free(f.v);
	free(f.e);
	free(f.hc);
	return ret;
}

static void on_timer(uv_timer_t *t)
{
	struct prun *r = container_of(t, struct prun, timer);
	struct prun_svc *list, *next;
	bool failed = false;

	if (r->synced && !r->full && !r->dirty) {	/* idle: drift check */
		if (proxy_repair(r->px) < 0)
			r->full = true;
		schedule(r, r->full ? PRUN_RETRY_MS : PRUN_DRIFT_MS);
		return;
	}
	if (r->full || !r->synced) {
		r->full = false;
		for (list = r->dirty, r->dirty = NULL; list; list = next) {
			next = list->dirty_next;
			list->dirty = false;
		}
		if (sync_full(r)) {
			r->full = true;
			schedule(r, PRUN_RETRY_MS);
			return;
		}
		r->synced = true;
		schedule(r, PRUN_DRIFT_MS);
		return;
	}
	for (list = r->dirty, r->dirty = NULL; list; list = next) {
		next = list->dirty_next;
		list->dirty = false;
		if (!failed && sync_one(r, list))
			failed = true;
		entry_gc(r, list);
	}
	if (failed) {	/* the model may be off: rebuild everything */
		r->full = true;
		schedule(r, PRUN_RETRY_MS);
	} else {
		schedule(r, PRUN_DRIFT_MS);
	}
}

/* ---- informer callbacks ---- */

static bool all_listed(const struct prun *r)
{
	return r->svcs && r->slices && r->node && api_informer_synced(r->svcs) &&
	       api_informer_synced(r->slices) && api_informer_synced(r->node);
}

static void on_synced(struct api_informer *inf, void *ud)
{
	struct prun *r = ud;

	(void)inf;
	if (!r->synced && all_listed(r))
		schedule(r, 0);
}

static void svc_event(struct prun *r, const cJSON *o)
{
	char *key = obj_key(o, json_get_str(json_get(o, "metadata"), "name", ""));

	mark(r, key);
	free(key);
}

static void svc_add(struct api_informer *i, const cJSON *o, void *ud)
{
	(void)i;
	svc_event(ud, o);
}

static void svc_update(struct api_informer *i, const cJSON *old, const cJSON *o, void *ud)
{
	(void)i;
	(void)old;
	svc_event(ud, o);
}

static void svc_delete(struct api_informer *i, const cJSON *o, void *ud)
{
	(void)i;
	svc_event(ud, o);
}

static const char *slice_service(const cJSON *o)
{
	return json_get_str(json_path(o, "metadata.labels"), LABEL_SERVICE, NULL);
}

/* Adds (add) or removes the slice o from its service's entry. */
static void slice_index(struct prun *r, const cJSON *o, bool add)
{
	const char *svc = slice_service(o), *name = json_get_str(json_get(o, "metadata"), "name", "");
	struct prun_svc *e;
	char *key;

	if (!svc)
		return;
	key = obj_key(o, svc);
	e = entry(r, key, true);
	for (size_t i = 0; i < e->n_slices; i++) {
		if (!strcmp(e->slices[i], name)) {
			free(e->slices[i]);
			e->slices[i] = e->slices[--e->n_slices];
			break;
		}
	}
	if (add) {
		ALLOC_GROW(e->slices, e->n_slices + 1, e->alloc_slices);
		e->slices[e->n_slices++] = xstrdup(name);
	}
	mark(r, key);
	free(key);
}

static void slice_add(struct api_informer *i, const cJSON *o, void *ud)
{
	(void)i;
	slice_index(ud, o, true);
}

static void slice_update(struct api_informer *i, const cJSON *old, const cJSON *o, void *ud)
{
	(void)i;
	slice_index(ud, old, false);
	slice_index(ud, o, true);
}

static void slice_delete(struct api_informer *i, const cJSON *o, void *ud)
{
	(void)i;
	slice_index(ud, o, false);
}

/* The node's zone: a change re-renders everything (hints depend on it). */
static void node_event(struct api_informer *i, const cJSON *o, void *ud)
{
	struct prun *r = ud;
	const char *z = json_get_str(json_path(o, "metadata.labels"), LABEL_ZONE, "");

	(void)i;
	if (!strcmp(z, r->zone))
		return;
	snprintf(r->zone, sizeof(r->zone), "%s", z);
	r->cfg.zone = r->zone;
	if (r->px) {
		struct proxy *np;

		if (proxy_new(&r->cfg, &np)) {
			log_error("proxy: cannot reopen netlink for zone '%s'", r->zone);
			return;
		}
		proxy_free(r->px);
		r->px = np;
	}
	log_info("proxy: node zone is now '%s'", r->zone);
	r->full = true;
	r->synced = false;
	if (all_listed(r))
		schedule(r, 0);
}

static void node_update(struct api_informer *i, const cJSON *old, const cJSON *o, void *ud)
{
	(void)old;
	node_event(i, o, ud);
}

/* ---- lifecycle ---- */

static int parse_cidrs(struct prun *r, const char *list)
{
	char *copy = xstrdup(list), *save = NULL;
	int ret = 0;

	for (char *t = strtok_r(copy, ",", &save); t && !ret; t = strtok_r(NULL, ",", &save)) {
		if (r->cfg.n_cluster_cidrs >= 4 ||
		    inet_prefix_parse(t, 0, &r->cfg.cluster_cidrs[r->cfg.n_cluster_cidrs++]))
			ret = -EINVAL;
	}
	free(copy);
	return ret;
}

static int start_informer(struct prun *r, const char *path, const char *field,
			  const struct api_informer_opts *cbs, struct api_informer **out)
{
	struct api_informer_opts o = *cbs;

	o.path = path;
	o.field_selector = field;
	o.on_synced = on_synced;
	o.ud = r;
	return api_informer_start(r->a->api, &o, out);
}

int agent__proxy_start(struct agent *a)
{
	static const struct api_informer_opts svc_cbs = { .on_add = svc_add, .on_update = svc_update,
							  .on_delete = svc_delete };
	static const struct api_informer_opts slice_cbs = { .on_add = slice_add,
							    .on_update = slice_update,
							    .on_delete = slice_delete };
	static const struct api_informer_opts node_cbs = { .on_add = node_event,
							   .on_update = node_update };
	struct prun *r;
	char *field;
	int ret;

	if (a->cfg.disable_proxy)
		return 0;
	r = xcalloc(1, sizeof(*r));
	r->a = a;
	r->cfg.node_name = a->node_name;
	r->cfg.zone = r->zone;
	r->cfg.ipv4 = true;
	r->cfg.ipv6 = access("/proc/net/if_inet6", F_OK) == 0;
	ret = parse_cidrs(r, a->cfg.cluster_cidr ? a->cfg.cluster_cidr : PRUN_DEFAULT_CLUSTER_CIDR);
	if (ret) {
		log_error("proxy: invalid --cluster-cidr '%s'", a->cfg.cluster_cidr);
		free(r);
		return ret;
	}
	ret = proxy_new(&r->cfg, &r->px);
	if (ret) {
		log_error("proxy: cannot open netfilter netlink: %s", strerror(-ret));
		free(r);
		return ret;
	}
	uv_timer_init(a->loop, &r->timer);
	r->timer.timer_cb = on_timer;
	r->health = prun_health_new(a->loop);
	a->proxy = r;
	field = xasprintf("metadata.name=%s", a->node_name);
	ret = start_informer(r, "/api/v1/services", NULL, &svc_cbs, &r->svcs);
	if (!ret)
		ret = start_informer(r, "/apis/discovery.k8s.io/v1/endpointslices", NULL, &slice_cbs,
				     &r->slices);
	if (!ret)
		ret = start_informer(r, "/api/v1/nodes", field, &node_cbs, &r->node);
	free(field);
	if (ret)
		log_error("proxy: cannot start informers: %s", strerror(-ret));
	else
		log_info("proxy: started (ipv4%s)", r->cfg.ipv6 ? ", ipv6" : "");
	return ret;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct prun *r = container_of((uv_timer_t *)h, struct prun, timer);

	for (size_t i = 0; i < PRUN_BUCKETS; i++) {
		while (r->buckets[i]) {
			struct prun_svc *e = r->buckets[i];
			r->buckets[i] = e->next;
			entry_free(e);
		}
	}
	free(r);
}

void agent__proxy_stop(struct agent *a)
{
	struct prun *r = a->proxy;

	if (!r)
		return;
	a->proxy = NULL;
	api_informer_free(r->svcs);
	api_informer_free(r->slices);
	api_informer_free(r->node);
	r->svcs = r->slices = r->node = NULL;
	proxy_free(r->px);	/* the rules stay: pods keep their service traffic */
	r->px = NULL;
	prun_health_free(r->health);
	uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}
