/*
 * server/controllers/disruption.c - PodDisruptionBudgets: the disruption
 * controller (status) and the check the eviction subresource makes.
 *
 * Status of a PDB (policy/v1): expectedPods (with an integer minAvailable
 * the matching pods; otherwise the replicas of their controllers —
 * ReplicaSet, StatefulSet, ReplicationController — falling back to the pod
 * count), currentHealthy (matching Ready pods not being deleted),
 * desiredHealthy (minAvailable, a percentage of expectedPods rounded up, or
 * expectedPods minus maxUnavailable), disruptionsAllowed = currentHealthy -
 * desiredHealthy (>= 0), the DisruptionAllowed condition (SufficientPods /
 * InsufficientPods), observedGeneration.
 *
 * Eviction (ctrl_eviction_check, called by pods/eviction): pods that are
 * Pending, finished or being deleted ignore budgets, as upstream; more than
 * one matching PDB is a 500; a budget not yet processed, or with
 * disruptionsAllowed 0, answers 429 TooManyRequests "Cannot evict pod as it
 * would violate the pod's disruption budget." with a DisruptionBudget cause.
 * An unhealthy pod may go when the budget is healthy (IfHealthyBudget) or
 * always (AlwaysAllow). Evictions granted before the controller's next
 * status write count against disruptionsAllowed in memory, so concurrent
 * evictions (kubectl drain evicts in parallel) cannot overrun a budget.
 */
#include "workload.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

static struct ctrl_manager *pm;
static struct wq pdb_q;

/* Evictions granted per PDB since its last status change. */
static struct grant {
	char *uid;
	int64_t n;
	struct grant *next;
} *grants;

static struct grant **grant_slot(const char *uid)
{
	struct grant **g = &grants;

	while (*g && strcmp((*g)->uid, uid))
		g = &(*g)->next;
	return g;
}

static void grant_reset(const char *uid)
{
	struct grant **g = grant_slot(uid), *x = *g;

	if (!x)
		return;
	*g = x->next;
	free(x->uid);
	free(x);
}

/* ---- status ---- */

struct pdb_count {
	const cJSON *pdb;
	int64_t pods, healthy;
	const cJSON *refs[64];	/* distinct controllers */
	size_t n_refs;
	bool unknown_owner;
};

static bool matches(const cJSON *pdb, const cJSON *pod)
{
	const cJSON *sel = json_path(pdb, "spec.selector");

	/* policy/v1: an empty selector selects every pod of the namespace */
	if (cJSON_IsObject(sel) && !sel->child)
		return true;
	return ctrl_selector_matches(sel, json_path(pod, "metadata.labels"));
}

static void count_pod(const cJSON *pod, void *ud)
{
	struct pdb_count *c = ud;
	const cJSON *ref;

	if (!matches(c->pdb, pod) || *wl_pod_phase(pod))
		return;
	c->pods++;
	if (ctrl__pod_ready(pod) && !json_path(pod, "metadata.deletionTimestamp"))
		c->healthy++;
	ref = ctrl_controller_ref(pod);
	if (!ref) {
		c->unknown_owner = true;
		return;
	}
	for (size_t i = 0; i < c->n_refs; i++)
		if (!strcmp(json_get_str(c->refs[i], "uid", ""), json_get_str(ref, "uid", "")))
			return;
	if (c->n_refs < ARRAY_SIZE(c->refs))
		c->refs[c->n_refs++] = ref;
}

/* The replicas of the pods' controllers; -1 when one is not known. */
static int64_t scale_of(const struct pdb_count *c, const char *ns)
{
	int64_t sum = 0;

	if (c->unknown_owner)
		return -1;
	for (size_t i = 0; i < c->n_refs; i++) {
		const char *kind = json_get_str(c->refs[i], "kind", ""), *name = json_get_str(c->refs[i], "name", "");
		struct cache_store *st = !strcmp(kind, "ReplicaSet") ? pm->rs :
					 !strcmp(kind, "StatefulSet") ? pm->statefulsets :
					 !strcmp(kind, "ReplicationController") ? pm->rcs : NULL;
		const cJSON *o = st ? cache_get(st, ns, name) : NULL;

		if (!o)
			return -1;
		sum += json_get_int(json_get(o, "spec"), "replicas", 1);
	}
	return sum;
}

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *pdb = cache_get(pm->pdbs, ns, name), *min, *max;
	struct pdb_count c = { 0 };
	int64_t expected, desired, allowed;
	struct ctrl_batch *b;
	cJSON *st, *conds;

	(void)ud;
	if (!pdb || json_path(pdb, "metadata.deletionTimestamp")) {
		wq_done(q, key, 0);
		return;
	}
	c.pdb = pdb;
	cache_each(pm->pods, ns, count_pod, &c);
	min = json_path(pdb, "spec.minAvailable");
	max = json_path(pdb, "spec.maxUnavailable");
	expected = c.pods;
	if (!cJSON_IsNumber(min)) {
		int64_t s = scale_of(&c, ns);

		if (s >= 0)
			expected = s;
	}
	if (min)
		desired = wl_int_or_percent(min, 0, expected, true);
	else if (max)
		desired = expected - wl_int_or_percent(max, 0, expected, true);
	else
		desired = expected;	/* upstream defaults minAvailable to 1; this is the empty spec */
	if (desired < 0)
		desired = 0;
	allowed = c.healthy - desired > 0 ? c.healthy - desired : 0;
	st = cJSON_CreateObject();
	json_set_int(st, "observedGeneration", json_get_int(json_get(pdb, "metadata"), "generation", 0));
	json_set_int(st, "disruptionsAllowed", allowed);
	json_set_int(st, "currentHealthy", c.healthy);
	json_set_int(st, "desiredHealthy", desired);
	json_set_int(st, "expectedPods", expected);
	conds = cJSON_CreateArray();
	wl_condition(conds, json_path(pdb, "status.conditions"), "DisruptionAllowed", allowed ? "True" : "False",
		     allowed ? "SufficientPods" : "InsufficientPods", "");
	cJSON_DeleteItemFromObjectCaseSensitive(conds->child, "lastProbeTime");
	json_set(st, "conditions", conds);
	b = ctrl_batch_new(q, key);
	wl_status_write(pm, "policy", "poddisruptionbudgets", pdb, st, b);
	ctrl_batch_end(b);
}

/* ---- the eviction check ---- */

struct find_ctx {
	const cJSON *pod;
	const cJSON *hit;
	int n;
};

static void find_pdb(const cJSON *pdb, void *ud)
{
	struct find_ctx *f = ud;

	if (matches(pdb, f->pod)) {
		f->hit = pdb;
		f->n++;
	}
}

static void too_many(struct api_error *e, const cJSON *pdb)
{
	api_error_set(e, STATUS_TOO_MANY_REQUESTS, "Cannot evict pod as it would violate the pod's disruption budget.");
	api_error_add_cause(e, "DisruptionBudget", NULL,
			    "The disruption budget %s needs %lld healthy pods and has %lld currently",
			    wl_meta(pdb, "name"),
			    (long long)json_get_int(json_get(pdb, "status"), "desiredHealthy", 0),
			    (long long)json_get_int(json_get(pdb, "status"), "currentHealthy", 0));
}

int ctrl_eviction_check(struct apiserver *s, const cJSON *pod, struct api_error *e)
{
	const char *phase = json_get_str(json_get(pod, "status"), "phase", "");
	struct find_ctx f = { pod, NULL, 0 };
	const cJSON *st;
	struct grant **g;
	int64_t allowed;

	(void)s;
	if (!pm || !strcmp(phase, "Pending") || !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed") ||
	    !*phase || json_path(pod, "metadata.deletionTimestamp"))
		return 0;
	cache_each(pm->pdbs, wl_meta(pod, "namespace"), find_pdb, &f);
	if (!f.n)
		return 0;
	if (f.n > 1) {
		api_error_set(e, STATUS_INTERNAL_ERROR,
			      "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
		return -EINVAL;
	}
	st = json_get(f.hit, "status");
	if (json_get_int(st, "observedGeneration", -1) < json_get_int(json_get(f.hit, "metadata"), "generation", 0)) {
		api_error_set(e, STATUS_TOO_MANY_REQUESTS, "Cannot evict pod as it would violate the pod's disruption budget.");
		api_error_add_cause(e, "DisruptionBudget", NULL, "The disruption budget %s is still being processed by the server.",
				    wl_meta(f.hit, "name"));
		return -EAGAIN;
	}
	if (!ctrl__pod_ready(pod)) {
		if (!strcmp(json_get_str(json_get(f.hit, "spec"), "unhealthyPodEvictionPolicy", "IfHealthyBudget"), "AlwaysAllow") ||
		    json_get_int(st, "currentHealthy", 0) >= json_get_int(st, "desiredHealthy", 0))
			return 0;
		too_many(e, f.hit);
		return -EAGAIN;
	}
	g = grant_slot(wl_meta(f.hit, "uid"));
	allowed = json_get_int(st, "disruptionsAllowed", 0) - (*g ? (*g)->n : 0);
	if (allowed <= 0) {
		too_many(e, f.hit);
		return -EAGAIN;
	}
	if (!*g) {
		*g = xcalloc(1, sizeof(**g));
		(*g)->uid = xstrdup(wl_meta(f.hit, "uid"));
	}
	(*g)->n++;
	return 0;
}

/* ---- events ---- */

static void on_pdb(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (old && (!new || !json_equal(json_get(old, "status"), json_get(new, "status"))))
		grant_reset(wl_meta(old, "uid"));
	if (new)
		wl_enqueue(&pdb_q, new);
}

struct pod_ctx {
	const cJSON *pod;
};

static void enqueue_matching(const cJSON *pdb, void *ud)
{
	struct pod_ctx *p = ud;

	if (matches(pdb, p->pod))
		wl_enqueue(&pdb_q, pdb);
}

static void on_pod(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (old) {
		struct pod_ctx p = { old };

		cache_each(pm->pdbs, wl_meta(old, "namespace"), enqueue_matching, &p);
	}
	if (new) {
		struct pod_ctx p = { new };

		cache_each(pm->pdbs, wl_meta(new, "namespace"), enqueue_matching, &p);
	}
}

void pdb__start(struct ctrl_manager *m)
{
	pm = m;
	wq_init(&pdb_q, m->srv->loop, process, m);
	cache_store_on_event(m->pdbs, on_pdb, m);
	cache_store_on_event(m->pods, on_pod, m);
}

void pdb__stop(void)
{
	if (pm)
		wq_release(&pdb_q);
	while (grants)
		grant_reset(grants->uid);
	pm = NULL;
}
