/*
 * server/controllers/statefulset.c - the StatefulSet controller: pods with
 * stable names <set>-0 .. <set>-(replicas-1), hostname = the pod's name and
 * subdomain = spec.serviceName, labels statefulset.kubernetes.io/pod-name,
 * apps.kubernetes.io/pod-index and controller-revision-hash
 * (<set>-<template hash>).
 *
 * OrderedReady (default): one step per reconcile in ordinal order — a
 * missing or Failed pod is (re)created only when every lower ordinal is
 * Running and Ready; scaling down deletes the highest ordinal first, one at
 * a time, once the others are Ready. Parallel: every missing pod at once,
 * every extra one at once. RollingUpdate: once all pods are Ready, the
 * highest-ordinal pod not on the update revision (at or above
 * rollingUpdate.partition) is deleted and comes back with the new
 * template; OnDelete: only pods deleted by the user get it. Each template
 * has a ControllerRevision named like the label (history.h);
 * status.currentRevision / updateRevision name them.
 * volumeClaimTemplates: each pod gets the claims <template>-<pod> (created
 * when missing; they stay Pending until a provisioner binds them).
 */
#include "history.h"
#include "workload.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

#define STS_MAX_REPLICAS 100000
#define LABEL_REVISION HIST_LABEL
#define LABEL_POD_NAME "statefulset.kubernetes.io/pod-name"
#define LABEL_POD_INDEX "apps.kubernetes.io/pod-index"

static struct ctrl_manager *sm;
static struct wq sts_q;

struct sts {
	const cJSON *set;
	char rev[160];			/* <set>-<hash> */
	int64_t replicas;
	const cJSON **pods;		/* by ordinal, NULL when absent; n_pods slots */
	int64_t n_pods;
	int64_t max_o;			/* highest ordinal among the pods */
	const cJSON **extra;		/* owned pods not named <set>-<ordinal> */
	size_t n_extra, alloc;
};

static int64_t ordinal_of(const struct sts *s, const cJSON *pod)
{
	const char *set = wl_meta(s->set, "name"), *name = wl_meta(pod, "name");
	size_t n = strlen(set);
	char *end;
	long long o;

	if (strncmp(name, set, n) || name[n] != '-' || !name[n + 1])
		return -1;
	o = strtoll(name + n + 1, &end, 10);
	return *end || o < 0 || o >= STS_MAX_REPLICAS ? -1 : o;
}

static void collect(const cJSON *pod, void *ud)
{
	struct sts *s = ud;
	int64_t o = ordinal_of(s, pod);

	if (o >= 0 && o < s->n_pods) {
		s->pods[o] = pod;
		return;
	}
	ALLOC_GROW(s->extra, s->n_extra + 1, s->alloc);
	s->extra[s->n_extra++] = pod;
}

static void max_ordinal(const cJSON *pod, void *ud)
{
	struct sts *s = ud;
	int64_t o = ordinal_of(s, pod);

	if (o > s->max_o)
		s->max_o = o;
}

static bool healthy(const cJSON *pod)
{
	return pod && !json_path(pod, "metadata.deletionTimestamp") &&
	       !strcmp(json_get_str(json_get(pod, "status"), "phase", ""), "Running") && ctrl__pod_ready(pod);
}

static const char *revision(const cJSON *pod)
{
	return json_get_str(json_path(pod, "metadata.labels"), LABEL_REVISION, "");
}

static void claim_created(int code, const cJSON *obj, void *ud)
{
	ctrl_batch_cb(code == 409 ? 201 : code, obj, ud);	/* it exists: fine */
}

/* The claims of volumeClaimTemplates for pod name, and its volumes. */
static void claims(const struct sts *s, cJSON *pod, const char *name, struct ctrl_batch *b)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, json_path(s->set, "spec.volumeClaimTemplates")) {
		cJSON *pvc = cJSON_CreateObject(), *m, *vols, *v;
		char *claim = xasprintf("%s-%s", wl_meta(t, "name"), name);

		json_set_str(pvc, "apiVersion", "v1");
		json_set_str(pvc, "kind", "PersistentVolumeClaim");
		m = json_obj(pvc, "metadata");
		json_set_str(m, "name", claim);
		json_set_str(m, "namespace", wl_meta(s->set, "namespace"));
		if (json_path(s->set, "spec.selector.matchLabels"))
			json_set(m, "labels", cJSON_Duplicate(json_path(s->set, "spec.selector.matchLabels"), 1));
		json_set(pvc, "spec", cJSON_Duplicate(json_get(t, "spec"), 1));
		api_internal_create(sm->srv, "", "persistentvolumeclaims", wl_meta(s->set, "namespace"), pvc,
				    claim_created, ctrl_batch_hold(b));
		vols = json_get(json_get(pod, "spec"), "volumes");
		if (!cJSON_IsArray(vols)) {
			vols = cJSON_CreateArray();
			json_set(json_get(pod, "spec"), "volumes", vols);
		}
		v = cJSON_CreateObject();
		json_set_str(v, "name", wl_meta(t, "name"));
		json_set_str(json_obj(v, "persistentVolumeClaim"), "claimName", claim);
		cJSON_AddItemToArray(vols, v);
		cJSON_Delete(pvc);
		free(claim);
	}
}

static void create(const struct sts *s, int64_t o, struct ctrl_batch *b)
{
	char *name = xasprintf("%s-%lld", wl_meta(s->set, "name"), (long long)o), idx[24];
	cJSON *pod = wl_pod_new(s->set, json_path(s->set, "spec.template"), name), *labels, *spec;
	const char *svc = json_get_str(json_get(s->set, "spec"), "serviceName", NULL);

	snprintf(idx, sizeof(idx), "%lld", (long long)o);
	labels = json_obj(json_obj(pod, "metadata"), "labels");
	json_set_str(labels, LABEL_POD_NAME, name);
	json_set_str(labels, LABEL_POD_INDEX, idx);
	json_set_str(labels, LABEL_REVISION, s->rev);
	spec = json_get(pod, "spec");
	json_set_str(spec, "hostname", name);
	if (svc && *svc)
		json_set_str(spec, "subdomain", svc);
	claims(s, pod, name, b);
	wl_pod_create(sm, s->set, pod, b);
	cJSON_Delete(pod);
	free(name);
}

/* One step of OrderedReady, or all steps of Parallel. */
static void scale(const struct sts *s, bool parallel, struct ctrl_batch *b)
{
	for (int64_t o = 0; o < s->replicas; o++) {
		const cJSON *p = s->pods[o];

		if (p && !strcmp(wl_pod_phase(p), "Failed") && !json_path(p, "metadata.deletionTimestamp")) {
			wl_pod_delete(sm, s->set, p, b);
			if (!parallel)
				return;
			continue;
		}
		if (!p) {
			create(s, o, b);
			if (!parallel)
				return;
			continue;
		}
		if (!parallel && !healthy(p))
			return;
	}
	for (int64_t o = s->n_pods - 1; o >= s->replicas; o--) {
		const cJSON *p = s->pods[o];

		if (!p)
			continue;
		if (!parallel && json_path(p, "metadata.deletionTimestamp"))
			return;	/* wait until it is gone */
		wl_pod_delete(sm, s->set, p, b);
		if (!parallel)
			return;
	}
}

static void rolling_update(const struct sts *s, struct ctrl_batch *b)
{
	const cJSON *us = json_path(s->set, "spec.updateStrategy");
	int64_t partition = json_get_int(json_get(us, "rollingUpdate"), "partition", 0);

	if (!strcmp(json_get_str(us, "type", "RollingUpdate"), "OnDelete"))
		return;
	for (int64_t o = 0; o < s->replicas; o++)
		if (!healthy(s->pods[o]))
			return;
	for (int64_t o = s->replicas - 1; o >= partition && o >= 0; o--)
		if (strcmp(revision(s->pods[o]), s->rev)) {
			wl_pod_delete(sm, s->set, s->pods[o], b);
			return;
		}
}

static void write_status(const struct sts *s, struct ctrl_batch *b)
{
	int64_t n = 0, ready = 0, updated = 0, avail = 0;
	int64_t min_ready = json_get_int(json_get(s->set, "spec"), "minReadySeconds", 0);
	const char *cur = json_get_str(json_get(s->set, "status"), "currentRevision", s->rev);
	int64_t current = 0;
	cJSON *st = cJSON_CreateObject();

	for (int64_t o = 0; o < s->n_pods; o++) {
		const cJSON *p = s->pods[o];

		if (!p || json_path(p, "metadata.deletionTimestamp"))
			continue;
		n++;
		ready += ctrl__pod_ready(p);
		avail += wl_pod_available(p, min_ready);
		updated += !strcmp(revision(p), s->rev);
		current += !strcmp(revision(p), cur);
	}
	if (updated == s->replicas && n == s->replicas) {
		cur = s->rev;
		current = updated;
	}
	json_set_int(st, "observedGeneration", json_get_int(json_get(s->set, "metadata"), "generation", 0));
	json_set_int(st, "replicas", n);
	json_set_int(st, "readyReplicas", ready);
	json_set_int(st, "currentReplicas", current);
	json_set_int(st, "updatedReplicas", updated);
	json_set_str(st, "currentRevision", cur);
	json_set_str(st, "updateRevision", s->rev);
	json_set_int(st, "collisionCount", 0);
	json_set_int(st, "availableReplicas", avail);
	wl_status_write(sm, "apps", "statefulsets", s->set, st, b);
}

/* The set's revisions: the update one, the current one, those pods use. */
static void sync_history(const struct sts *s, const char *hash, struct ctrl_batch *b)
{
	const char **keep = xcalloc((size_t)s->n_pods + s->n_extra + 1, sizeof(*keep));
	size_t n = 0;

	keep[n++] = json_get_str(json_get(s->set, "status"), "currentRevision", "");
	for (int64_t o = 0; o < s->n_pods; o++)
		if (s->pods[o])
			keep[n++] = revision(s->pods[o]);
	for (size_t i = 0; i < s->n_extra; i++)
		keep[n++] = revision(s->extra[i]);
	hist_sync(sm, s->set, s->rev, hash, keep, n, b);
	free(keep);
}

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX], hash[16];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *set = cache_get(sm->statefulsets, ns, name);
	struct sts s = { 0 };
	struct ctrl_batch *b;
	(void)ud;
	if (!set || json_path(set, "metadata.deletionTimestamp")) {
		wq_done(q, key, 0);
		return;
	}
	s.set = set;
	s.max_o = -1;
	s.replicas = json_get_int(json_get(set, "spec"), "replicas", 1);
	if (s.replicas < 0 || s.replicas > STS_MAX_REPLICAS)
		s.replicas = 0;
	ctrl_template_hash(json_path(set, "spec.template"), 0, hash);
	snprintf(s.rev, sizeof(s.rev), "%s-%s", name, hash);
	/* room for every ordinal the set has pods for */
	wl_each_pod(sm, set, max_ordinal, &s);
	s.n_pods = s.max_o + 1 > s.replicas ? s.max_o + 1 : s.replicas;
	s.pods = xcalloc((size_t)s.n_pods + 1, sizeof(*s.pods));
	wl_each_pod(sm, set, collect, &s);
	b = ctrl_batch_new(q, key);
	sync_history(&s, hash, b);
	for (size_t i = 0; i < s.n_extra; i++)
		wl_pod_delete(sm, set, s.extra[i], b);
	scale(&s, !strcmp(json_get_str(json_get(set, "spec"), "podManagementPolicy", "OrderedReady"), "Parallel"), b);
	rolling_update(&s, b);
	write_status(&s, b);
	ctrl_batch_end(b);
	free(s.pods);
	free(s.extra);
}

/* ---- events ---- */

static void on_set(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)old;
	(void)ud;
	if (new)
		wl_enqueue(&sts_q, new);
}

static void on_pod(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (old)
		wl_enqueue_controller(&sts_q, old, "StatefulSet");
	if (new)
		wl_enqueue_controller(&sts_q, new, "StatefulSet");
}

static void on_revision(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	hist_enqueue_owner(&sts_q, old, new, "StatefulSet");
}

void sts__start(struct ctrl_manager *m)
{
	sm = m;
	wq_init(&sts_q, m->srv->loop, process, m);
	cache_store_on_event(m->revisions, on_revision, m);
	cache_store_on_event(m->statefulsets, on_set, m);
	cache_store_on_event(m->pods, on_pod, m);
}

void sts__stop(void)
{
	if (sm)
		wq_release(&sts_q);
	sm = NULL;
}
