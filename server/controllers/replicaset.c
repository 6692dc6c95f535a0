/*
 * server/controllers/replicaset.c - the ReplicaSet controller (and the
 * ReplicationController one, the same with a map selector): keeps
 * spec.replicas active pods (not terminating, not Succeeded/Failed) that the
 * ReplicaSet controls, creating them from spec.template (generateName
 * "<rs>-", a controller ownerReference with blockOwnerDeletion) or deleting
 * the least useful ones (unscheduled, then pending, then not ready, then the
 * newest), adopts orphan pods its selector matches, and writes status.
 *
 * The cache is current when a reconcile runs: the store delivers watch
 * events for a write before the loop runs idle handlers again, so no
 * "expectations" are needed.
 */
#include "ctrl_priv.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RS_BURST 500	/* pods created or deleted per reconcile, as upstream */

static struct ctrl_manager *rm;

/* The two kinds this controller runs: ReplicaSet and ReplicationController
 * (whose selector is a plain label map, defaulting to the template's labels). */
struct rs_kind {
	const char *group, *plural, *kind;
	struct cache_store *store;
	struct wq *q;
	bool map_selector;
};
static struct rs_kind kinds[2];
static struct wq rc_q;

static const struct rs_kind *kind_of(const cJSON *obj)
{
	return strcmp(json_get_str(obj, "kind", ""), "ReplicationController") ? &kinds[0] : &kinds[1];
}

static bool rs_selects(const cJSON *rs, const cJSON *labels)
{
	const cJSON *sel = json_path(rs, "spec.selector"), *kv;

	if (!kind_of(rs)->map_selector)
		return ctrl_selector_matches(sel, labels);
	if (!cJSON_IsObject(sel) || !sel->child)
		sel = json_path(rs, "spec.template.metadata.labels");
	if (!cJSON_IsObject(sel) || !sel->child)
		return false;
	cJSON_ArrayForEach(kv, sel)
		if (!cJSON_IsString(kv) || strcmp(json_get_str(labels, kv->string, "\x01"), kv->valuestring))
			return false;
	return true;
}

static void enqueue_obj(const cJSON *obj)
{
	char *k = cache_key_of(obj);

	wq_add(kind_of(obj)->q, k);
	free(k);
}

const cJSON *ctrl__condition(const cJSON *obj, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_path(obj, "status.conditions"))
		if (!strcmp(json_get_str(c, "type", ""), type))
			return c;
	return NULL;
}

bool ctrl__ready(const cJSON *obj)
{
	return !strcmp(json_get_str(ctrl__condition(obj, "Ready"), "status", ""), "True");
}

bool ctrl__pod_ready(const cJSON *pod)
{
	return ctrl__ready(pod);
}

/* Ready for at least min_ready seconds. */
static bool pod_available(const cJSON *pod, int64_t min_ready)
{
	const cJSON *c = ctrl__condition(pod, "Ready");
	int64_t t;

	if (min_ready <= 0)
		return true;
	return c && !rfc3339_parse(json_get_str(c, "lastTransitionTime", ""), &t) &&
	       (int64_t)wall_ns() - t >= min_ready * 1000000000LL;
}

static bool pod_active(const cJSON *pod)
{
	const char *phase = json_get_str(json_get(pod, "status"), "phase", "");

	return !json_path(pod, "metadata.deletionTimestamp") && strcmp(phase, "Succeeded") &&
	       strcmp(phase, "Failed");
}

cJSON *ctrl__owner_ref(const cJSON *owner)
{
	cJSON *r = cJSON_CreateObject();

	json_set_str(r, "apiVersion", json_get_str(owner, "apiVersion", ""));
	json_set_str(r, "kind", json_get_str(owner, "kind", ""));
	json_set_str(r, "name", ctrl__mstr(owner, "name"));
	json_set_str(r, "uid", ctrl__mstr(owner, "uid"));
	json_set_bool(r, "controller", true);
	json_set_bool(r, "blockOwnerDeletion", true);
	return r;
}

/* ---- one reconcile ---- */

struct rs_pods {
	const cJSON *rs;
	const cJSON **v;	/* active pods controlled by rs */
	size_t n, alloc;
	const cJSON **orphans;	/* matching pods without a controller */
	size_t n_orphans, alloc_orphans;
	int64_t fully_labeled, ready, available;
	bool wait_ready;
};

static bool labels_superset(const cJSON *labels, const cJSON *want)
{
	const cJSON *kv;

	cJSON_ArrayForEach(kv, want)
		if (!cJSON_IsString(kv) || strcmp(json_get_str(labels, kv->string, "\x01"), kv->valuestring))
			return false;
	return true;
}

static void collect(const cJSON *pod, void *ud)
{
	struct rs_pods *p = ud;
	const cJSON *cref = ctrl_controller_ref(pod), *labels = json_path(pod, "metadata.labels");

	if (!pod_active(pod))
		return;
	if (!cref) {
		if (rs_selects(p->rs, labels)) {
			ALLOC_GROW(p->orphans, p->n_orphans + 1, p->alloc_orphans);
			p->orphans[p->n_orphans++] = pod;
		}
		return;
	}
	if (strcmp(json_get_str(cref, "uid", ""), ctrl__mstr(p->rs, "uid")))
		return;
	ALLOC_GROW(p->v, p->n + 1, p->alloc);
	p->v[p->n++] = pod;
	if (labels_superset(labels, json_path(p->rs, "spec.template.metadata.labels")))
		p->fully_labeled++;
	if (ctrl__pod_ready(pod)) {
		int64_t min_ready = json_get_int(json_get(p->rs, "spec"), "minReadySeconds", 0);

		p->ready++;
		if (pod_available(pod, min_ready))
			p->available++;
		else
			p->wait_ready = true;	/* Ready, not yet for minReadySeconds */
	}
}

/* Deletion preference: lower deletes first. */
static int pod_rank(const cJSON *pod)
{
	const char *phase = json_get_str(json_get(pod, "status"), "phase", "");

	if (!json_path(pod, "spec.nodeName"))
		return 0;
	if (!strcmp(phase, "Pending"))
		return 1;
	if (!ctrl__pod_ready(pod))
		return 2;
	return 3;
}

static int cmp_delete(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int d = pod_rank(x) - pod_rank(y);

	if (d)
		return d;
	/* newer first: creationTimestamp is RFC 3339, compares as text */
	return strcmp(ctrl__mstr(y, "creationTimestamp"), ctrl__mstr(x, "creationTimestamp"));
}

struct create_ctx {
	struct ctrl_batch *b;
	cJSON *rs;		/* apiVersion, kind, metadata of the owner, for events */
	bool create;
};

static void pod_written(int code, const cJSON *obj, void *ud)
{
	struct create_ctx *cc = ud;

	if (code < 300)
		ctrl_event(rm->srv, cc->rs, "Normal", cc->create ? "SuccessfulCreate" : "SuccessfulDelete",
			   "%s pod: %s", cc->create ? "Created" : "Deleted", ctrl__mstr(obj, "name"));
	else if (code != 404)
		ctrl_event(rm->srv, cc->rs, "Warning", cc->create ? "FailedCreate" : "FailedDelete",
			   "Error %s: %s", cc->create ? "creating" : "deleting",
			   json_get_str(obj, "message", "unknown error"));
	ctrl_batch_cb(code, obj, cc->b);
	cJSON_Delete(cc->rs);
	free(cc);
}

static struct create_ctx *cctx(const cJSON *rs, struct ctrl_batch *b, bool create)
{
	struct create_ctx *cc = xcalloc(1, sizeof(*cc));

	cc->b = ctrl_batch_hold(b);
	cc->rs = cJSON_CreateObject();
	json_set_str(cc->rs, "apiVersion", json_get_str(rs, "apiVersion", "apps/v1"));
	json_set_str(cc->rs, "kind", json_get_str(rs, "kind", "ReplicaSet"));
	json_set(cc->rs, "metadata", cJSON_Duplicate(json_get(rs, "metadata"), 1));
	cc->create = create;
	return cc;
}

static void create_pod(const cJSON *rs, struct ctrl_batch *b)
{
	const cJSON *t = json_path(rs, "spec.template");
	cJSON *pod = cJSON_CreateObject(), *m, *refs;
	const char *keys[] = { "labels", "annotations" };
	char *gen = xasprintf("%s-", ctrl__mstr(rs, "name"));

	json_set_str(pod, "apiVersion", "v1");
	json_set_str(pod, "kind", "Pod");
	m = json_obj(pod, "metadata");
	json_set_str(m, "generateName", gen);
	json_set_str(m, "namespace", ctrl__mstr(rs, "namespace"));
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (json_path(t, "metadata") && json_get(json_get(t, "metadata"), keys[i]))
			json_set(m, keys[i], cJSON_Duplicate(json_get(json_get(t, "metadata"), keys[i]), 1));
	refs = cJSON_CreateArray();
	cJSON_AddItemToArray(refs, ctrl__owner_ref(rs));
	json_set(m, "ownerReferences", refs);
	json_set(pod, "spec", cJSON_Duplicate(json_get(t, "spec"), 1));
	api_internal_create(rm->srv, "", "pods", ctrl__mstr(rs, "namespace"), pod, pod_written,
			    cctx(rs, b, true));
	cJSON_Delete(pod);
	free(gen);
}

static void delete_pod(const cJSON *rs, const cJSON *pod, struct ctrl_batch *b)
{
	cJSON *opts = cJSON_CreateObject();

	json_set_str(json_obj(opts, "preconditions"), "uid", ctrl__mstr(pod, "uid"));
	api_internal_delete(rm->srv, "", "pods", ctrl__mstr(pod, "namespace"), ctrl__mstr(pod, "name"), opts,
			    pod_written, cctx(rs, b, false));
	cJSON_Delete(opts);
}

static void adopt(const cJSON *rs, const cJSON *pod, struct ctrl_batch *b)
{
	cJSON *c = cJSON_Duplicate(pod, 1), *m = json_obj(c, "metadata"), *refs;

	/* the cache pruned the pod: only metadata is written */
	refs = json_get(m, "ownerReferences");
	if (!cJSON_IsArray(refs)) {
		refs = cJSON_CreateArray();
		json_set(m, "ownerReferences", refs);
	}
	cJSON_AddItemToArray(refs, ctrl__owner_ref(rs));
	ctrl__patch_meta(rm->srv, "", "pods", c, b);
	cJSON_Delete(c);
}

static int64_t status_int(const cJSON *obj, const char *k)
{
	return json_get_int(json_get(obj, "status"), k, 0);
}

static void write_status(const cJSON *rs, const struct rs_pods *p, struct ctrl_batch *b)
{
	int64_t gen = json_get_int(json_get(rs, "metadata"), "generation", 0);
	int64_t avail = p->available;
	cJSON *c;

	if (json_get(rs, "status") && status_int(rs, "replicas") == (int64_t)p->n &&
	    status_int(rs, "fullyLabeledReplicas") == p->fully_labeled &&
	    status_int(rs, "readyReplicas") == p->ready &&
	    status_int(rs, "availableReplicas") == avail && status_int(rs, "observedGeneration") == gen)
		return;
	c = cJSON_Duplicate(rs, 1);
	json_set(c, "status", cJSON_CreateObject());
	json_set_int(json_get(c, "status"), "replicas", (int64_t)p->n);
	json_set_int(json_get(c, "status"), "fullyLabeledReplicas", p->fully_labeled);
	json_set_int(json_get(c, "status"), "readyReplicas", p->ready);
	json_set_int(json_get(c, "status"), "availableReplicas", avail);
	json_set_int(json_get(c, "status"), "observedGeneration", gen);
	api_internal_update(rm->srv, kind_of(rs)->group, kind_of(rs)->plural, "status", c, ctrl_batch_cb,
			    ctrl_batch_hold(b));
	cJSON_Delete(c);
}

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const struct rs_kind *k = ud;
	const cJSON *rs = cache_get(k->store, ns, name);
	struct rs_pods p = { 0 };
	struct ctrl_batch *b;
	int64_t want, diff;

	if (!rs || json_path(rs, "metadata.deletionTimestamp")) {
		wq_done(q, key, 0);
		return;
	}
	b = ctrl_batch_new(q, key);
	p.rs = rs;
	cache_each(rm->pods, ns, collect, &p);
	want = json_get_int(json_get(rs, "spec"), "replicas", 1);
	for (size_t i = 0; i < p.n_orphans && (int64_t)p.n < want; i++)
		adopt(rs, p.orphans[i], b);
	diff = (int64_t)p.n + (int64_t)p.n_orphans - want;
	if (p.n_orphans && diff >= 0)
		diff = 0;	/* adopted pods show up first; decide again then */
	for (int64_t i = 0; diff < 0 && i < -diff && i < RS_BURST; i++)
		create_pod(rs, b);
	if (diff > 0) {
		qsort(p.v, p.n, sizeof(*p.v), cmp_delete);
		for (int64_t i = 0; i < diff && i < RS_BURST; i++)
			delete_pod(rs, p.v[i], b);
	}
	write_status(rs, &p, b);
	if (p.wait_ready)	/* count them available once minReadySeconds passed */
		wq_add_after(q, key, 1000);
	free(p.v);
	free(p.orphans);
	ctrl_batch_end(b);
}

/* ---- events ---- */

static void on_rs(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)old;
	(void)ud;
	if (new)
		enqueue_obj(new);
}

struct match_ctx {
	const cJSON *pod;
};

static void match_rs(const cJSON *rs, void *ud)
{
	struct match_ctx *m = ud;

	if (rs_selects(rs, json_path(m->pod, "metadata.labels")))
		enqueue_obj(rs);
}

static void enqueue_for_pod(const cJSON *pod)
{
	const cJSON *cref = ctrl_controller_ref(pod);

	if (cref) {
		for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
			if (kinds[i].store && !strcmp(json_get_str(cref, "kind", ""), kinds[i].kind)) {
				char *k = xasprintf("%s/%s", ctrl__mstr(pod, "namespace"), json_get_str(cref, "name", ""));

				wq_add(kinds[i].q, k);
				free(k);
			}
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct match_ctx m = { pod };

		if (kinds[i].store)
			cache_each(kinds[i].store, ctrl__mstr(pod, "namespace"), match_rs, &m);
	}
}

static void on_pod(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (old)
		enqueue_for_pod(old);
	if (new)
		enqueue_for_pod(new);
}

void rs__start(struct ctrl_manager *m)
{
	rm = m;
	kinds[0] = (struct rs_kind){ "apps", "replicasets", "ReplicaSet", m->rs, &m->rs_q, false };
	kinds[1] = (struct rs_kind){ "", "replicationcontrollers", "ReplicationController", m->rcs, &rc_q, true };
	wq_init(&m->rs_q, m->srv->loop, process, &kinds[0]);
	cache_store_on_event(m->rs, on_rs, m);
	if (m->rcs) {
		wq_init(&rc_q, m->srv->loop, process, &kinds[1]);
		cache_store_on_event(m->rcs, on_rs, m);
	}
	cache_store_on_event(m->pods, on_pod, m);
}

void rs__stop(void)
{
	if (kinds[1].store)
		wq_release(&rc_q);
	memset(kinds, 0, sizeof(kinds));
}
