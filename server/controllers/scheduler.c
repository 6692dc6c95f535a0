/*
 * server/controllers/scheduler.c - the scheduler: binds each pending pod
 * (no spec.nodeName, schedulerName default-scheduler, no scheduling gates)
 * to a node through pods/<name>/binding.
 *
 * Filters (sched_filter.c): unschedulable, nodeName, NoSchedule/NoExecute
 * taints, nodeSelector and required node affinity, host ports, requests
 * against allocatable minus the requests of the pods placed there. Scores,
 * weighted as upstream's default profile: least allocated (cpu, memory;
 * weight 1), spreading the pods of one controller over nodes and zones
 * (weight 2), PreferNoSchedule taints (3), preferred node affinity (2);
 * ties are broken at random.
 *
 * Accounting: every pod with a node (or assumed on one: bound, the watch
 * event not yet in) is charged to it. A pod that fits nowhere gets
 * PodScheduled=False (Unschedulable, upstream's message) and a
 * FailedScheduling event, and is tried again when the cluster changes: a
 * node added or changed in what the filters read, a placed pod deleted or
 * finished; and every SCHED_FLUSH_MS anyway.
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

#define SCHED_BUCKETS 4096
#define SCHED_RETRY_DELAY_MS 20		/* cluster changes gathered before a retry */
#define SCHED_FLUSH_MS (5 * 60 * 1000)	/* unschedulable pods tried again anyway */
#define SCHED_BACKOFF_MS 1000		/* upstream's podInitialBackoffSeconds */
#define SCHED_BACKOFF_MAX_MS 10000	/* and podMaxBackoffSeconds */

/* A pod charged to a node. */
struct spod {
	char *key;
	char *node;			/* NULL: not placed */
	char *owner;			/* controller uid, or NULL */
	struct sched_res req;
	bool assumed;			/* bound by us, the event not in yet */
	unsigned attempts;		/* failed scheduling attempts in a row */
	uint64_t failed_ms;		/* loop time of the last one */
	struct spod *hnext;
	struct spod *prev, *next;	/* the node's pods */
};

struct snode {
	char *name;
	struct sched_res used;
	struct spod *pods;
	size_t n_pods;
	struct snode *hnext;
};

static struct sched {
	struct ctrl_manager *m;
	struct wq q;
	struct spod *pods[SCHED_BUCKETS];
	struct snode *nodes[SCHED_BUCKETS];
	uv_timer_t retry;
	bool retry_armed;
	uint64_t rng;
	uint64_t bound;			/* pods bound since start (bench) */
} S;

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % SCHED_BUCKETS;
}

static struct snode *snode_get(const char *name, bool create)
{
	struct snode **p = &S.nodes[hash(name)];

	while (*p && strcmp((*p)->name, name))
		p = &(*p)->hnext;
	if (!*p && create) {
		*p = xcalloc(1, sizeof(**p));
		(*p)->name = xstrdup(name);
	}
	return *p;
}

static struct spod **spod_slot(const char *key)
{
	struct spod **p = &S.pods[hash(key)];

	while (*p && strcmp((*p)->key, key))
		p = &(*p)->hnext;
	return p;
}

static void res_add(struct sched_res *a, const struct sched_res *b, int sign)
{
	a->cpu_m += sign * b->cpu_m;
	a->mem += sign * b->mem;
	a->eph += sign * b->eph;
	a->pods += sign * b->pods;
}

static void unplace(struct spod *p)
{
	struct snode *n;

	if (!p->node)
		return;
	n = snode_get(p->node, false);
	if (n) {
		res_add(&n->used, &p->req, -1);
		if (p->prev)
			p->prev->next = p->next;
		else
			n->pods = p->next;
		if (p->next)
			p->next->prev = p->prev;
		n->n_pods--;
	}
	free(p->node);
	p->node = NULL;
	p->prev = p->next = NULL;
	p->assumed = false;
}

static void place(struct spod *p, const char *node, const cJSON *pod)
{
	struct snode *n = snode_get(node, true);
	const cJSON *cref = ctrl_controller_ref(pod);

	unplace(p);
	free(p->owner);
	p->owner = cref ? xstrdup(json_get_str(cref, "uid", "")) : NULL;
	sched_pod_requests(pod, false, &p->req);
	p->node = xstrdup(node);
	res_add(&n->used, &p->req, 1);
	p->next = n->pods;
	if (n->pods)
		n->pods->prev = p;
	n->pods = p;
	n->n_pods++;
}

static void spod_forget(const char *key)
{
	struct spod **slot = spod_slot(key), *p = *slot;

	if (!p)
		return;
	unplace(p);
	*slot = p->hnext;
	free(p->owner);
	free(p->key);
	free(p);
}

static struct spod *spod_get(const char *key)
{
	struct spod **slot = spod_slot(key);

	if (!*slot) {
		*slot = xcalloc(1, sizeof(**slot));
		(*slot)->key = xstrdup(key);
	}
	return *slot;
}

static bool pod_terminal(const cJSON *pod)
{
	const char *phase = json_get_str(json_get(pod, "status"), "phase", "");

	return !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
}

/* A pod this scheduler has to place. */
static bool pod_pending(const cJSON *pod)
{
	const cJSON *spec = json_get(pod, "spec");

	return !json_get_str(spec, "nodeName", NULL) &&
	       !strcmp(json_get_str(spec, "schedulerName", SCHED_NAME), SCHED_NAME) &&
	       !json_path(pod, "metadata.deletionTimestamp") && !pod_terminal(pod) &&
	       !cJSON_GetArraySize(json_get(spec, "schedulingGates"));
}

/* ---- retries on cluster changes ---- */

/* A pod that failed waits 1 s, 2 s, ... up to 10 s after its last attempt
 * before a cluster change may retry it, as in upstream's backoff queue. */
static void enqueue_pending(const cJSON *pod, void *ud)
{
	(void)ud;
	if (pod_pending(pod)) {
		char *k = cache_key_of(pod);
		struct spod *p = *spod_slot(k);
		uint64_t now = uv_now(S.m->srv->loop), due = 0;

		if (p && p->attempts) {
			uint64_t wait = SCHED_BACKOFF_MS;

			for (unsigned i = 1; i < p->attempts && wait < SCHED_BACKOFF_MAX_MS; i++)
				wait *= 2;
			due = p->failed_ms + (wait < SCHED_BACKOFF_MAX_MS ? wait : SCHED_BACKOFF_MAX_MS);
		}
		if (!p || !p->assumed)
			wq_add_after(&S.q, k, due > now ? due - now : 0);
		free(k);
	}
}

static void on_retry(uv_timer_t *t)
{
	(void)t;
	S.retry_armed = false;
	cache_each(S.m->pods, NULL, enqueue_pending, NULL);
}

static void retry_soon(void)
{
	if (S.retry_armed)
		return;
	S.retry_armed = true;
	uv_timer_start(&S.retry, on_retry, SCHED_RETRY_DELAY_MS, SCHED_FLUSH_MS);
}

/* ---- one scheduling attempt ---- */

struct cand {
	const cJSON *node;
	struct snode *sn;
	const char *zone;
	int64_t same;		/* pods of the same controller on the node */
	double score;
};

struct attempt {
	const cJSON *pod;
	const char *owner;	/* controller uid or NULL */
	struct sched_res req, req_nz;
	bool host_ports;
	struct sched_diag diag;
	struct cand *c;
	size_t n, alloc;
};

static bool wants_host_ports(const cJSON *pod)
{
	const cJSON *c, *p;

	cJSON_ArrayForEach(c, json_path(pod, "spec.containers"))
		cJSON_ArrayForEach(p, json_get(c, "ports"))
			if (json_get_int(p, "hostPort", 0) > 0)
				return true;
	return false;
}

/* The cached pods on a node, for host ports; caller frees the array. */
static const cJSON **node_pods(struct snode *sn, size_t *n)
{
	const cJSON **v = xcalloc(sn->n_pods + 1, sizeof(*v));
	char ns[ROUTE_SEG_MAX];

	*n = 0;
	for (struct spod *p = sn->pods; p; p = p->next) {
		const char *name = ctrl__split_key(p->key, ns, sizeof(ns));
		const cJSON *pod = cache_get(S.m->pods, ns, name);

		if (pod)
			v[(*n)++] = pod;
	}
	return v;
}

static void try_node(const cJSON *node, void *ud)
{
	struct attempt *a = ud;
	struct snode *sn = snode_get(ctrl__mstr(node, "name"), false);
	struct sched_node_use use = { 0 };
	const cJSON **pods = NULL, *taint = NULL;
	unsigned fail;
	struct cand *c;

	a->diag.n_nodes++;
	if (sn) {
		use.used = sn->used;
		if (a->host_ports) {
			pods = node_pods(sn, &use.n_pods);
			use.pods = pods;
		}
	}
	fail = sched_filter(a->pod, &a->req, node, &use, &taint);
	free(pods);
	if (!fail && !pv__node_fits(a->pod, node))
		fail = SF_VOLUME;
	if (fail) {
		sched_diag_add(&a->diag, fail, taint);
		return;
	}
	ALLOC_GROW(a->c, a->n + 1, a->alloc);
	c = &a->c[a->n++];
	memset(c, 0, sizeof(*c));
	c->node = node;
	c->sn = sn;
	c->zone = json_get_str(json_path(node, "metadata.labels"), LABEL_ZONE, NULL);
	for (struct spod *p = sn ? sn->pods : NULL; p && a->owner; p = p->next)
		if (p->owner && !strcmp(p->owner, a->owner))
			c->same++;
}

/* (free - requested) / allocatable, in 0..100; a full or empty resource 0. */
static double least(int64_t alloc, int64_t used)
{
	if (alloc <= 0 || used > alloc)
		return 0;
	return (double)(alloc - used) * 100.0 / (double)alloc;
}

/* Nodes' non-zero requests for scoring: what was charged plus the pod. */
static double score_resources(const struct attempt *a, const struct cand *c)
{
	struct sched_res al, u = { 0 };

	sched_node_allocatable(c->node, &al);
	if (c->sn)
		u = c->sn->used;
	return (least(al.cpu_m, u.cpu_m + a->req_nz.cpu_m) + least(al.mem, u.mem + a->req_nz.mem)) / 2;
}

static int64_t zone_count(const struct attempt *a, const char *zone)
{
	int64_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		if (a->c[i].zone && !strcmp(a->c[i].zone, zone))
			n += a->c[i].same;
	return n;
}

static void score_all(struct attempt *a)
{
	int64_t max_same = 0, max_zone = 0, max_pref = 0, max_taints = 0;
	int64_t *zone = xcalloc(a->n + 1, sizeof(*zone)), *pref = xcalloc(a->n + 1, sizeof(*pref));
	int64_t *taints = xcalloc(a->n + 1, sizeof(*taints));
	bool zones = false;

	for (size_t i = 0; i < a->n; i++) {
		const cJSON *t, *tols = json_path(a->pod, "spec.tolerations");

		max_same = a->c[i].same > max_same ? a->c[i].same : max_same;
		if (a->c[i].zone) {
			zones = true;
			zone[i] = zone_count(a, a->c[i].zone);
			max_zone = zone[i] > max_zone ? zone[i] : max_zone;
		}
		pref[i] = sched_preferred_affinity(a->pod, a->c[i].node);
		max_pref = pref[i] > max_pref ? pref[i] : max_pref;
		cJSON_ArrayForEach(t, json_path(a->c[i].node, "spec.taints"))
			if (sched_effect_bit(json_get_str(t, "effect", "")) == SCHED_PREFER &&
			    !sched_tolerates(tols, t))
				taints[i]++;
		max_taints = taints[i] > max_taints ? taints[i] : max_taints;
	}
	for (size_t i = 0; i < a->n; i++) {
		struct cand *c = &a->c[i];
		double spread = max_same ? 100.0 * (double)(max_same - c->same) / (double)max_same : 100;

		if (zones) {
			double zs = max_zone ? 100.0 * (double)(max_zone - zone[i]) / (double)max_zone : 100;

			spread = spread / 3 + (c->zone ? zs : 0) * 2 / 3;
		}
		c->score = score_resources(a, c) + 2 * spread +
			   3 * (max_taints ? 100.0 * (double)(max_taints - taints[i]) / (double)max_taints : 100) +
			   2 * (max_pref ? 100.0 * (double)pref[i] / (double)max_pref : 0);
	}
	free(zone);
	free(pref);
	free(taints);
}

static uint64_t rng_next(void)
{
	S.rng ^= S.rng << 13;
	S.rng ^= S.rng >> 7;
	S.rng ^= S.rng << 17;
	return S.rng;
}

static const struct cand *pick(struct attempt *a)
{
	const struct cand *best = NULL;
	uint64_t ties = 0;

	score_all(a);
	for (size_t i = 0; i < a->n; i++) {
		if (!best || a->c[i].score > best->score + 1e-9) {
			best = &a->c[i];
			ties = 1;
		} else if (a->c[i].score > best->score - 1e-9 && rng_next() % ++ties == 0) {
			best = &a->c[i];	/* reservoir sampling over equal scores */
		}
	}
	return best;
}

/* ---- writes ---- */

struct bind_ctx {
	char *key;
	char *node;
	cJSON *pod;		/* apiVersion, kind, metadata: for the event */
};

static cJSON *event_ref(const cJSON *pod)
{
	cJSON *r = cJSON_CreateObject();

	json_set_str(r, "apiVersion", "v1");
	json_set_str(r, "kind", "Pod");
	json_set(r, "metadata", cJSON_Duplicate(json_get(pod, "metadata"), 1));
	return r;
}

static void bound(int code, const cJSON *obj, void *ud)
{
	struct bind_ctx *b = ud;
	int err = 0;

	if (code < 300) {
		S.bound++;
		ctrl_event_as(S.m->srv, SCHED_NAME, b->pod, "Normal", "Scheduled",
			      "Successfully assigned %s/%s to %s", ctrl__mstr(b->pod, "namespace"),
			      ctrl__mstr(b->pod, "name"), b->node);
	} else {
		struct spod *p = *spod_slot(b->key);

		if (p && p->assumed)
			unplace(p);
		if (code != 404 && code != 409)
			err = -EAGAIN;
		LOG_V(2, "scheduler: binding '%s' to '%s': %d %s", b->key, b->node, code,
		      json_get_str(obj, "message", ""));
	}
	wq_done(&S.q, b->key, err);
	free(b->key);
	free(b->node);
	cJSON_Delete(b->pod);
	free(b);
}

static void bind_pod(const cJSON *pod, const char *key, const char *node)
{
	struct bind_ctx *b = xcalloc(1, sizeof(*b));
	cJSON *body = cJSON_CreateObject(), *m = json_obj(body, "metadata"), *t;
	struct spod *p = spod_get(key);

	place(p, node, pod);
	p->assumed = true;
	p->attempts = 0;
	b->key = xstrdup(key);
	b->node = xstrdup(node);
	b->pod = event_ref(pod);
	json_set_str(body, "apiVersion", "v1");
	json_set_str(body, "kind", "Binding");
	json_set_str(m, "name", ctrl__mstr(pod, "name"));
	json_set_str(m, "namespace", ctrl__mstr(pod, "namespace"));
	json_set_str(m, "uid", ctrl__mstr(pod, "uid"));
	t = json_obj(body, "target");
	json_set_str(t, "apiVersion", "v1");
	json_set_str(t, "kind", "Node");
	json_set_str(t, "name", node);
	api_internal_create_sub(S.m->srv, "", "pods", ctrl__mstr(pod, "namespace"), ctrl__mstr(pod, "name"),
				"binding", body, bound, b);
	cJSON_Delete(body);
}

static bool condition_is(const cJSON *pod, const char *msg)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_path(pod, "status.conditions"))
		if (!strcmp(json_get_str(c, "type", ""), "PodScheduled"))
			return !strcmp(json_get_str(c, "status", ""), "False") &&
			       !strcmp(json_get_str(c, "reason", ""), "Unschedulable") &&
			       !strcmp(json_get_str(c, "message", ""), msg);
	return false;
}

static void status_written(int code, const cJSON *obj, void *ud)
{
	char *key = ud;

	(void)obj;
	wq_done(&S.q, key, code >= 400 && code != 404 ? -EAGAIN : 0);
	free(key);
}

static void unschedulable(const cJSON *pod, const char *key, const char *msg)
{
	struct spod *p = spod_get(key);
	cJSON *patch, *conds, *c;
	char now[RFC3339_MAX];

	p->attempts++;
	p->failed_ms = uv_now(S.m->srv->loop);
	ctrl_event_as(S.m->srv, SCHED_NAME, pod, "Warning", "FailedScheduling", "%s", msg);
	if (condition_is(pod, msg)) {
		wq_done(&S.q, key, 0);
		return;
	}
	rfc3339_format((int64_t)wall_ns(), now);
	patch = cJSON_CreateObject();
	conds = cJSON_CreateArray();
	c = cJSON_CreateObject();
	json_set_str(c, "type", "PodScheduled");
	json_set_str(c, "status", "False");
	json_set(c, "lastProbeTime", cJSON_CreateNull());
	json_set_str(c, "lastTransitionTime", now);
	json_set_str(c, "reason", "Unschedulable");
	json_set_str(c, "message", msg);
	cJSON_AddItemToArray(conds, c);
	json_set(json_obj(patch, "status"), "conditions", conds);
	api_internal_patch_sub(S.m->srv, "", "pods", ctrl__mstr(pod, "namespace"), ctrl__mstr(pod, "name"),
			       "status", true, patch, status_written, xstrdup(key));
	cJSON_Delete(patch);
}

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *pod = cache_get(S.m->pods, ns, name), *cref;
	struct spod *p = *spod_slot(key);
	struct attempt a = { 0 };
	const struct cand *best;
	char *vmsg = NULL;

	(void)ud;
	if (!pod || !pod_pending(pod) || (p && p->assumed)) {
		wq_done(q, key, 0);
		return;
	}
	if (pv__pod_check(pod, &vmsg)) {
		unschedulable(pod, key, vmsg);
		free(vmsg);
		return;
	}
	a.pod = pod;
	cref = ctrl_controller_ref(pod);
	a.owner = cref ? json_get_str(cref, "uid", NULL) : NULL;
	sched_pod_requests(pod, false, &a.req);
	sched_pod_requests(pod, true, &a.req_nz);
	a.host_ports = wants_host_ports(pod);
	cache_each(S.m->nodes, NULL, try_node, &a);
	best = a.n ? pick(&a) : NULL;
	if (best) {
		pv__select_node(pod, ctrl__mstr(best->node, "name"));
		bind_pod(pod, key, ctrl__mstr(best->node, "name"));
	} else {
		char *msg = sched_diag_message(&a.diag);

		unschedulable(pod, key, msg);
		free(msg);
	}
	sched_diag_release(&a.diag);
	free(a.c);
}

/* ---- cache events ---- */

static void on_pod(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	char *key = cache_key_of(new ? new : old);
	const char *node = new ? json_get_str(json_get(new, "spec"), "nodeName", NULL) : NULL;
	struct spod *p;

	(void)st;
	(void)ud;
	if (!new || (node && pod_terminal(new))) {
		p = *spod_slot(key);
		if (p && p->node)
			retry_soon();
		if (!new)
			spod_forget(key);
		else if (p)
			unplace(p);
	} else if (node) {
		p = spod_get(key);
		if (!p->node || strcmp(p->node, node) || p->assumed)
			place(p, node, new);
	} else if (pod_pending(new) && (!old || !json_equal(json_get(old, "spec"), json_get(new, "spec")) ||
					!json_equal(json_path(old, "metadata.labels"),
						    json_path(new, "metadata.labels")))) {
		/* not on our own status writes: those would retry at once */
		p = *spod_slot(key);
		if (!p || !p->assumed)
			wq_add(&S.q, key);
	}
	free(key);
}

/* What the filters read of a node. */
static bool node_changed(const cJSON *old, const cJSON *new)
{
	static const char *const paths[] = {
		"metadata.labels", "spec.taints", "spec.unschedulable", "status.allocatable",
		"status.capacity",
	};

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		const cJSON *a = json_path(old, paths[i]), *b = json_path(new, paths[i]);

		if (!a != !b || (a && !json_equal(a, b)))
			return true;
	}
	return false;
}

static void on_node(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (new && (!old || node_changed(old, new)))
		retry_soon();
}

void sched__retry(void)
{
	if (S.m)
		retry_soon();
}

uint64_t sched__bound(void)
{
	return S.bound;
}

void sched__start(struct ctrl_manager *m)
{
	S.m = m;
	S.rng = 0x9e3779b97f4a7c15ull ^ wall_ns();
	wq_init(&S.q, m->srv->loop, process, m);
	uv_timer_init(m->srv->loop, &S.retry);
	cache_store_on_event(m->pods, on_pod, m);
	cache_store_on_event(m->nodes, on_node, m);
}

void sched__stop(void)
{
	if (!S.m)
		return;
	wq_release(&S.q);
	uv_timer_stop(&S.retry);
	uv_close((uv_handle_t *)&S.retry, NULL);
	for (size_t i = 0; i < SCHED_BUCKETS; i++) {
		while (S.pods[i])
			spod_forget(S.pods[i]->key);
		while (S.nodes[i]) {
			struct snode *n = S.nodes[i];

			S.nodes[i] = n->hnext;
			free(n->name);
			free(n);
		}
	}
	S.m = NULL;	/* the timer's memory stays: the loop closes it */
}
