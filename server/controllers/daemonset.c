/*
 * server/controllers/daemonset.c - the DaemonSet controller: one pod per
 * eligible node.
 *
 * A node is eligible when the template's nodeSelector and required node
 * affinity match it and its NoSchedule/NoExecute taints are tolerated by the
 * template's tolerations plus the ones upstream adds to every DaemonSet pod
 * (not-ready and unreachable NoExecute without tolerationSeconds;
 * disk-pressure, memory-pressure, pid-pressure and unschedulable
 * NoSchedule; network-unavailable NoSchedule for host-network pods). A pod
 * stays on a node whose NoSchedule taints it no longer tolerates (only
 * NoExecute and the node selector make it go), as upstream.
 *
 * Pods are created as upstream does since 1.12: with a required node
 * affinity term `metadata.name In [node]` replacing the template's, so the
 * scheduler binds them. Each pod carries the label controller-revision-hash
 * (the template's hash); RollingUpdate (maxUnavailable, default 1) deletes
 * old pods while no more than maxUnavailable of the wanted nodes lack an
 * available pod; OnDelete waits for the user. Each template has a
 * ControllerRevision <ds>-<hash> (history.h), so `kubectl rollout
 * history/undo ds` work. Extra pods on a node (the
 * oldest stays), pods on ineligible nodes and Failed pods are deleted.
 */
#include "history.h"
#include "workload.h"
#include "sched.h"
#include "../admission.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

#define DS_BURST 250	/* pods created per reconcile */
#define LABEL_REVISION HIST_LABEL

static struct ctrl_manager *dm;
static struct wq ds_q;

/* ---- the pod a node gets ---- */

/* The template with upstream's DaemonSet tolerations and the revision label. */
static cJSON *ds_template(const cJSON *ds, const char *hash)
{
	cJSON *t = cJSON_Duplicate(json_path(ds, "spec.template"), 1), *spec = json_obj(t, "spec");

	admission_add_toleration(spec, TAINT_NOT_READY, "NoExecute", -1);
	admission_add_toleration(spec, TAINT_UNREACHABLE, "NoExecute", -1);
	admission_add_toleration(spec, TAINT_DISK_PRESSURE, "NoSchedule", -1);
	admission_add_toleration(spec, TAINT_MEMORY_PRESSURE, "NoSchedule", -1);
	admission_add_toleration(spec, TAINT_PID_PRESSURE, "NoSchedule", -1);
	admission_add_toleration(spec, TAINT_UNSCHEDULABLE, "NoSchedule", -1);
	if (json_get_bool(spec, "hostNetwork", false))
		admission_add_toleration(spec, TAINT_NETWORK_UNAVAILABLE, "NoSchedule", -1);
	json_set_str(json_obj(json_obj(t, "metadata"), "labels"), LABEL_REVISION, hash);
	return t;
}

/* Replaces the required node affinity with metadata.name In [node]. */
static void pin(cJSON *pod, const char *node)
{
	cJSON *na = json_obj(json_obj(json_obj(pod, "spec"), "affinity"), "nodeAffinity");
	cJSON *req = cJSON_CreateObject(), *terms = cJSON_CreateArray(), *term = cJSON_CreateObject();
	cJSON *fields = cJSON_CreateArray(), *f = cJSON_CreateObject(), *vals = cJSON_CreateArray();

	json_set_str(f, "key", "metadata.name");
	json_set_str(f, "operator", "In");
	cJSON_AddItemToArray(vals, cJSON_CreateString(node));
	json_set(f, "values", vals);
	cJSON_AddItemToArray(fields, f);
	json_set(term, "matchFields", fields);
	cJSON_AddItemToArray(terms, term);
	json_set(req, "nodeSelectorTerms", terms);
	json_set(na, "requiredDuringSchedulingIgnoredDuringExecution", req);
}

/* The node a DaemonSet pod is for: spec.nodeName, else its pinning term. */
static const char *pod_node(const cJSON *pod)
{
	const cJSON *terms = json_path(pod, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
	const cJSON *f;
	const char *n = json_get_str(json_get(pod, "spec"), "nodeName", NULL);

	if (n)
		return n;
	cJSON_ArrayForEach(f, json_get(cJSON_GetArrayItem(terms, 0), "matchFields")) {
		const cJSON *v = json_get(f, "values");

		if (!strcmp(json_get_str(f, "key", ""), "metadata.name") &&
		    cJSON_GetArraySize(v) == 1 && cJSON_IsString(v->child))
			return v->child->valuestring;
	}
	return "";
}

/* ---- one reconcile ---- */

struct dnode {
	const cJSON *node;
	bool run, keep;			/* eligible for a new pod / may keep its pod */
	const cJSON **pods;		/* active pods for it, oldest first */
	size_t n_pods, alloc;
};

struct ds_state {
	const cJSON *ds;
	const cJSON *tmpl;		/* with the added tolerations */
	const char *hash;
	struct dnode *nodes;
	size_t n_nodes, alloc;
	const cJSON **orphans;		/* active pods for nodes that are gone */
	size_t n_orphans, alloc_orphans;
	const cJSON **failed;
	size_t n_failed, alloc_failed;
};

static void add_node(const cJSON *node, void *ud)
{
	struct ds_state *s = ud;
	struct dnode *d;

	ALLOC_GROW(s->nodes, s->n_nodes + 1, s->alloc);
	d = &s->nodes[s->n_nodes++];
	memset(d, 0, sizeof(*d));
	d->node = node;
	d->run = sched_node_affinity_matches(s->tmpl, node) &&
		 !sched_untolerated(s->tmpl, node, SCHED_NOSCHEDULE | SCHED_NOEXECUTE);
	d->keep = sched_node_affinity_matches(s->tmpl, node) &&
		  !sched_untolerated(s->tmpl, node, SCHED_NOEXECUTE);
}

static int cmp_age(const void *a, const void *b)
{
	return strcmp(wl_meta(*(const cJSON *const *)a, "creationTimestamp"),
		      wl_meta(*(const cJSON *const *)b, "creationTimestamp"));
}

static void add_pod(const cJSON *pod, void *ud)
{
	struct ds_state *s = ud;
	const char *n = pod_node(pod);

	if (!wl_pod_active(pod)) {
		if (!strcmp(wl_pod_phase(pod), "Failed") && !json_path(pod, "metadata.deletionTimestamp")) {
			ALLOC_GROW(s->failed, s->n_failed + 1, s->alloc_failed);
			s->failed[s->n_failed++] = pod;
		}
		return;
	}
	for (size_t i = 0; n && i < s->n_nodes; i++)
		if (!strcmp(wl_meta(s->nodes[i].node, "name"), n)) {
			struct dnode *d = &s->nodes[i];

			ALLOC_GROW(d->pods, d->n_pods + 1, d->alloc);
			d->pods[d->n_pods++] = pod;
			return;
		}
	ALLOC_GROW(s->orphans, s->n_orphans + 1, s->alloc_orphans);
	s->orphans[s->n_orphans++] = pod;
}

static bool is_updated(const struct ds_state *s, const cJSON *pod)
{
	return !strcmp(json_get_str(json_path(pod, "metadata.labels"), LABEL_REVISION, ""), s->hash);
}

static void write_status(const struct ds_state *s, struct ctrl_batch *b)
{
	int64_t desired = 0, current = 0, mis = 0, ready = 0, avail = 0, updated = 0;
	int64_t min_ready = json_get_int(json_get(s->ds, "spec"), "minReadySeconds", 0);
	cJSON *st = cJSON_CreateObject();

	for (size_t i = 0; i < s->n_nodes; i++) {
		const struct dnode *d = &s->nodes[i];
		const cJSON *p = d->n_pods ? d->pods[0] : NULL;

		if (d->run || (d->keep && p))
			desired++;
		if (!p)
			continue;
		if (d->run || d->keep)
			current++;
		else
			mis++;
		ready += ctrl__pod_ready(p);
		avail += wl_pod_available(p, min_ready);
		updated += is_updated(s, p);
	}
	json_set_int(st, "currentNumberScheduled", current);
	json_set_int(st, "numberMisscheduled", mis);
	json_set_int(st, "desiredNumberScheduled", desired);
	json_set_int(st, "numberReady", ready);
	json_set_int(st, "observedGeneration", json_get_int(json_get(s->ds, "metadata"), "generation", 0));
	json_set_int(st, "updatedNumberScheduled", updated);
	if (avail)
		json_set_int(st, "numberAvailable", avail);
	if (desired - avail > 0)
		json_set_int(st, "numberUnavailable", desired - avail);
	wl_status_write(dm, "apps", "daemonsets", s->ds, st, b);
}

static void rolling_update(struct ds_state *s, struct ctrl_batch *b)
{
	const cJSON *ru = json_path(s->ds, "spec.updateStrategy");
	int64_t want = 0, unavailable = 0, max;
	int64_t min_ready = json_get_int(json_get(s->ds, "spec"), "minReadySeconds", 0);

	if (!strcmp(json_get_str(ru, "type", "RollingUpdate"), "OnDelete"))
		return;
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i].run || s->nodes[i].keep) {
			want++;
			if (!s->nodes[i].n_pods || !wl_pod_available(s->nodes[i].pods[0], min_ready))
				unavailable++;
		}
	max = wl_int_or_percent(json_path(ru, "rollingUpdate.maxUnavailable"), 1, want, false);
	if (max < 1)
		max = 1;
	/* old pods that are not available go first: they cost nothing */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->n_nodes; i++) {
			struct dnode *d = &s->nodes[i];
			const cJSON *p = d->n_pods == 1 ? d->pods[0] : NULL;
			bool avail;

			if (!p || is_updated(s, p))
				continue;
			avail = wl_pod_available(p, min_ready);
			if (pass == 0 && !avail) {
				wl_pod_delete(dm, s->ds, p, b);
			} else if (pass == 1 && avail && unavailable < max) {
				wl_pod_delete(dm, s->ds, p, b);
				unavailable++;
			}
		}
}

/* The DaemonSet's revisions: the current one, and those its pods use. */
static void sync_history(const struct ds_state *s, struct ctrl_batch *b)
{
	const char **keep = NULL;
	size_t n = 0, alloc = 0;
	char *name = xasprintf("%s-%s", wl_meta(s->ds, "name"), s->hash);

	for (size_t i = 0; i < s->n_nodes; i++)
		for (size_t j = 0; j < s->nodes[i].n_pods; j++) {
			ALLOC_GROW(keep, n + 1, alloc);
			keep[n++] = json_get_str(json_path(s->nodes[i].pods[j], "metadata.labels"),
						 LABEL_REVISION, "");
		}
	hist_sync(dm, s->ds, name, s->hash, keep, n, b);
	free(keep);
	free(name);
}

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX], hash[16];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *ds = cache_get(dm->daemonsets, ns, name);
	struct ds_state s = { 0 };
	struct ctrl_batch *b;
	cJSON *tmpl;
	int created = 0;

	(void)ud;
	if (!ds || json_path(ds, "metadata.deletionTimestamp")) {
		wq_done(q, key, 0);
		return;
	}
	ctrl_template_hash(json_path(ds, "spec.template"), 0, hash);
	tmpl = ds_template(ds, hash);
	s.ds = ds;
	s.tmpl = tmpl;
	s.hash = hash;
	cache_each(dm->nodes, NULL, add_node, &s);
	wl_each_pod(dm, ds, add_pod, &s);
	b = ctrl_batch_new(q, key);
	sync_history(&s, b);
	for (size_t i = 0; i < s.n_nodes; i++) {
		struct dnode *d = &s.nodes[i];

		if (d->n_pods > 1)
			qsort(d->pods, d->n_pods, sizeof(*d->pods), cmp_age);
		if (!d->n_pods && d->run && created < DS_BURST) {
			cJSON *pod = wl_pod_new(ds, tmpl, NULL);

			pin(pod, wl_meta(d->node, "name"));
			wl_pod_create(dm, ds, pod, b);
			cJSON_Delete(pod);
			created++;
		}
		for (size_t j = d->run || d->keep ? 1 : 0; j < d->n_pods; j++)
			wl_pod_delete(dm, ds, d->pods[j], b);
	}
	for (size_t i = 0; i < s.n_orphans; i++)
		wl_pod_delete(dm, ds, s.orphans[i], b);
	for (size_t i = 0; i < s.n_failed; i++)
		wl_pod_delete(dm, ds, s.failed[i], b);
	rolling_update(&s, b);
	write_status(&s, b);
	ctrl_batch_end(b);
	for (size_t i = 0; i < s.n_nodes; i++)
		free(s.nodes[i].pods);
	free(s.nodes);
	free(s.orphans);
	free(s.failed);
	cJSON_Delete(tmpl);
}

/* ---- events ---- */

static void on_ds(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)old;
	(void)ud;
	if (new)
		wl_enqueue(&ds_q, new);
}

static void on_pod(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (old)
		wl_enqueue_controller(&ds_q, old, "DaemonSet");
	if (new)
		wl_enqueue_controller(&ds_q, new, "DaemonSet");
}

static void enqueue_all(const cJSON *ds, void *ud)
{
	(void)ud;
	wl_enqueue(&ds_q, ds);
}

static void on_node(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (!old || !new || !json_equal(json_path(old, "metadata.labels"), json_path(new, "metadata.labels")) ||
	    !json_equal(json_path(old, "spec.taints"), json_path(new, "spec.taints")))
		cache_each(dm->daemonsets, NULL, enqueue_all, NULL);
}

static void on_revision(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	hist_enqueue_owner(&ds_q, old, new, "DaemonSet");
}

void ds__start(struct ctrl_manager *m)
{
	dm = m;
	wq_init(&ds_q, m->srv->loop, process, m);
	cache_store_on_event(m->revisions, on_revision, m);
	cache_store_on_event(m->daemonsets, on_ds, m);
	cache_store_on_event(m->pods, on_pod, m);
	cache_store_on_event(m->nodes, on_node, m);
}

void ds__stop(void)
{
	if (dm)
		wq_release(&ds_q);
	dm = NULL;
}
