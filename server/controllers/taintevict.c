/*
 * server/controllers/taintevict.c - taint-based eviction (upstream's
 * taint-eviction-controller): a pod bound to a node with NoExecute taints
 * is deleted at once when it does not tolerate one of them, after the
 * smallest tolerationSeconds of its matching tolerations when it tolerates
 * them all, never when none of those has tolerationSeconds. Before the
 * delete the pod gets DisruptionTarget=True (reason DeletionByTaintManager).
 * A pending eviction is cancelled when the taints go (or the pod goes);
 * the wait counts from when the controller first saw the pod must go.
 *
 * Keys are pods "ns/name"; the node's NoExecute taints changing enqueues
 * every pod bound to it; deadlines use the work queue's delayed adds.
 */
#include "ctrl_priv.h"
#include "sched.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TEV_BUCKETS 1024
#define TEV_COMPONENT "taint-eviction-controller"

/* An eviction waiting for its time. */
struct pending {
	char *key;
	uint64_t since_ms;	/* loop time it was first scheduled */
	struct pending *next;
};

static struct tev {
	struct ctrl_manager *m;
	struct wq q;
	struct pending *pending[TEV_BUCKETS];
	uint64_t evicted;	/* pods deleted since start (bench) */
} T;

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % TEV_BUCKETS;
}

static struct pending **pslot(const char *key)
{
	struct pending **p = &T.pending[hash(key)];

	while (*p && strcmp((*p)->key, key))
		p = &(*p)->next;
	return p;
}

static void pending_drop(struct pending **p)
{
	struct pending *x = *p;

	*p = x->next;
	free(x->key);
	free(x);
}

/*
 * How long pod may stay on node: 0 = evict now, -1 = forever (also when
 * the node has no NoExecute taint), else milliseconds.
 */
static int64_t toleration_ms(const cJSON *pod, const cJSON *node, bool *tainted)
{
	const cJSON *tols = json_path(pod, "spec.tolerations"), *t, *tol;
	int64_t min = -1;

	*tainted = false;
	cJSON_ArrayForEach(t, json_path(node, "spec.taints")) {
		if (strcmp(json_get_str(t, "effect", ""), "NoExecute"))
			continue;
		*tainted = true;
		if (!sched_tolerates(tols, t))
			return 0;
		cJSON_ArrayForEach(tol, tols) {
			const cJSON *secs = json_get(tol, "tolerationSeconds");
			int64_t ms;

			if (!cJSON_IsNumber(secs) || !sched_toleration_matches(tol, t))
				continue;
			ms = secs->valuedouble <= 0 ? 0 : (int64_t)secs->valuedouble * 1000;
			if (min < 0 || ms < min)
				min = ms;
		}
	}
	return min;
}

/* ---- writes ---- */

struct evict_ctx {
	struct ctrl_batch *b;
	char *ns, *name, *uid;
};

static void deleted(int code, const cJSON *obj, void *ud)
{
	struct ctrl_batch *b = ud;

	if (code < 300)
		T.evicted++;
	ctrl_batch_cb(code, obj, b);
}

static void condition_written(int code, const cJSON *obj, void *ud)
{
	struct evict_ctx *e = ud;
	cJSON *opts = cJSON_CreateObject();

	(void)obj;
	if (code == 404) {
		ctrl_batch_end(e->b);
	} else {
		json_set_str(json_obj(opts, "preconditions"), "uid", e->uid);
		api_internal_delete(T.m->srv, "", "pods", e->ns, e->name, opts, deleted, e->b);
	}
	cJSON_Delete(opts);
	free(e->ns);
	free(e->name);
	free(e->uid);
	free(e);
}

/* DisruptionTarget, then the delete (graceful: the kubelet finishes it). */
static void evict(const cJSON *pod, struct ctrl_batch *b)
{
	struct evict_ctx *e = xcalloc(1, sizeof(*e));
	cJSON *p = cJSON_CreateObject(), *conds = cJSON_CreateArray(), *c = cJSON_CreateObject();
	char now[RFC3339_MAX];

	rfc3339_format((int64_t)wall_ns(), now);
	e->b = ctrl_batch_hold(b);
	e->ns = xstrdup(ctrl__mstr(pod, "namespace"));
	e->name = xstrdup(ctrl__mstr(pod, "name"));
	e->uid = xstrdup(ctrl__mstr(pod, "uid"));
	json_set_str(c, "type", "DisruptionTarget");
	json_set_str(c, "status", "True");
	json_set_str(c, "lastTransitionTime", now);
	json_set_str(c, "reason", "DeletionByTaintManager");
	json_set_str(c, "message", "Taint manager: deleting due to NoExecute taint");
	cJSON_AddItemToArray(conds, c);
	json_set(json_obj(p, "status"), "conditions", conds);
	ctrl_event_as(T.m->srv, TEV_COMPONENT, pod, "Normal", "TaintManagerEviction",
		      "Marking for deletion Pod %s/%s", e->ns, e->name);
	api_internal_patch_sub(T.m->srv, "", "pods", e->ns, e->name, "status", true, p,
			       condition_written, e);
	cJSON_Delete(p);
}

/* ---- reconcile ---- */

static void cancel(const char *key, const cJSON *pod)
{
	struct pending **p = pslot(key);

	if (!*p)
		return;
	if (pod)
		ctrl_event_as(T.m->srv, TEV_COMPONENT, pod, "Normal", "TaintManagerEviction",
			      "Cancelling deletion of Pod %s/%s", ctrl__mstr(pod, "namespace"), ctrl__mstr(pod, "name"));
	pending_drop(p);
}

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *pod = cache_get(T.m->pods, ns, name), *node = NULL;
	const char *nn = pod ? json_get_str(json_get(pod, "spec"), "nodeName", NULL) : NULL;
	uint64_t now = uv_now(T.m->srv->loop);
	struct pending **p;
	struct ctrl_batch *b;
	bool tainted = false;
	int64_t ms;

	(void)ud;
	if (nn)
		node = cache_get(T.m->nodes, "", nn);
	if (!pod || !node || json_path(pod, "metadata.deletionTimestamp")) {
		cancel(key, NULL);
		wq_done(q, key, 0);
		return;
	}
	ms = toleration_ms(pod, node, &tainted);
	if (!tainted || ms < 0) {
		cancel(key, pod);
		wq_done(q, key, 0);
		return;
	}
	p = pslot(key);
	if (!*p) {
		*p = xcalloc(1, sizeof(**p));
		(*p)->key = xstrdup(key);
		(*p)->since_ms = now;
	}
	if ((*p)->since_ms + (uint64_t)ms > now) {
		wq_add_after(q, key, (*p)->since_ms + (uint64_t)ms - now);
		wq_done(q, key, 0);
		return;
	}
	pending_drop(p);
	b = ctrl_batch_new(q, key);
	evict(pod, b);
	ctrl_batch_end(b);
}

/* ---- cache events ---- */

static void enqueue_pod(const cJSON *pod)
{
	char *k = cache_key_of(pod);

	wq_add(&T.q, k);
	free(k);
}

static bool has_noexec(const cJSON *node)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, json_path(node, "spec.taints"))
		if (!strcmp(json_get_str(t, "effect", ""), "NoExecute"))
			return true;
	return false;
}

static void on_pod(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const char *nn;
	const cJSON *node;

	(void)st;
	(void)ud;
	if (!new) {
		char *k = cache_key_of(old);

		if (*pslot(k))
			pending_drop(pslot(k));
		free(k);
		return;
	}
	nn = json_get_str(json_get(new, "spec"), "nodeName", NULL);
	node = nn ? cache_get(T.m->nodes, "", nn) : NULL;
	if (node && has_noexec(node) &&
	    (!old || !json_equal(json_get(old, "spec"), json_get(new, "spec"))))
		enqueue_pod(new);
}

static void enqueue_on_node(const cJSON *pod, void *ud)
{
	if (!strcmp(json_get_str(json_get(pod, "spec"), "nodeName", ""), (const char *)ud))
		enqueue_pod(pod);
}

/* The NoExecute taints, without timeAdded, as text: a change re-checks pods. */
static bool noexec_changed(const cJSON *old, const cJSON *new)
{
	const cJSON *t;
	cJSON *a = cJSON_CreateArray(), *b = cJSON_CreateArray();
	bool changed;

	cJSON_ArrayForEach(t, json_path(old, "spec.taints"))
		if (!strcmp(json_get_str(t, "effect", ""), "NoExecute"))
			cJSON_AddItemReferenceToArray(a, (cJSON *)t);
	cJSON_ArrayForEach(t, json_path(new, "spec.taints"))
		if (!strcmp(json_get_str(t, "effect", ""), "NoExecute"))
			cJSON_AddItemReferenceToArray(b, (cJSON *)t);
	changed = !json_equal(a, b);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return changed;
}

static void on_node(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *n = new ? new : old;

	(void)st;
	(void)ud;
	if (!old || !new || noexec_changed(old, new))
		cache_each(T.m->pods, NULL, enqueue_on_node,
			   (void *)json_get_str(json_get(n, "metadata"), "name", ""));
}

uint64_t tev__evicted(void)
{
	return T.evicted;
}

void tev__start(struct ctrl_manager *m)
{
	T.m = m;
	wq_init(&T.q, m->srv->loop, process, m);
	cache_store_on_event(m->pods, on_pod, m);
	cache_store_on_event(m->nodes, on_node, m);
}

void tev__stop(void)
{
	if (!T.m)
		return;
	wq_release(&T.q);
	for (size_t i = 0; i < TEV_BUCKETS; i++)
		while (T.pending[i])
			pending_drop(&T.pending[i]);
	T.m = NULL;
}
