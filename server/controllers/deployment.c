/*
 * server/controllers/deployment.c - the Deployment controller: one
 * ReplicaSet per pod template, named <deployment>-<pod-template-hash> and
 * labelled with the hash; revisions in the deployment.kubernetes.io/revision
 * annotation (kubectl rollout history reads them); Recreate and
 * RollingUpdate (maxSurge/maxUnavailable); old ReplicaSets beyond
 * revisionHistoryLimit deleted; status with Available and Progressing
 * conditions.
 *
 * A reconcile makes at most one scaling step and waits for the ReplicaSet
 * events it causes. Availability comes from the ReplicaSets' status, i.e.
 * from pods becoming Ready: without an agent, a rolling update surges new
 * pods and then waits (see docs/controllers.md). Not done yet: adoption of
 * orphan ReplicaSets, hash collisions (status.collisionCount is only
 * hashed), progressDeadlineSeconds, paused rollouts beyond not creating a
 * new ReplicaSet, proportional scaling during a rollout.
 */
#include "ctrl_priv.h"
#include "../apiserver.h"
#include "../meta.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_HISTORY_LIMIT 10

static struct ctrl_manager *dm;

static int64_t spec_replicas(const cJSON *obj)
{
	return json_get_int(json_get(obj, "spec"), "replicas", 1);
}

static int64_t st_int(const cJSON *obj, const char *k)
{
	return json_get_int(json_get(obj, "status"), k, 0);
}

static int64_t revision_of(const cJSON *rs)
{
	return atoll(json_get_str(json_path(rs, "metadata.annotations"), ANN_REVISION, "0"));
}

/* An int-or-percent of total; round up for surge, down for unavailable. */
static int64_t int_or_percent(const cJSON *v, const char *fallback, int64_t total, bool up)
{
	const char *s = fallback;
	int64_t pct;

	if (cJSON_IsNumber(v))
		return (int64_t)v->valuedouble;
	if (cJSON_IsString(v))
		s = v->valuestring;
	pct = atoll(s);
	if (!strchr(s, '%'))
		return pct;
	return up ? (pct * total + 99) / 100 : pct * total / 100;
}

struct owned {
	const cJSON *d;
	const cJSON *new_rs;
	const cJSON **old;	/* oldest first */
	size_t n_old, alloc;
};

static bool same_template(const cJSON *rs, const cJSON *d)
{
	cJSON *t = cJSON_Duplicate(json_path(rs, "spec.template"), 1);
	bool eq;

	cJSON_DeleteItemFromObjectCaseSensitive(json_path(t, "metadata.labels"), LABEL_TEMPLATE_HASH);
	eq = json_equal(t, json_path(d, "spec.template"));
	cJSON_Delete(t);
	return eq;
}

static void collect(const cJSON *rs, void *ud)
{
	struct owned *o = ud;
	const cJSON *cref = ctrl_controller_ref(rs);

	if (!cref || strcmp(json_get_str(cref, "uid", ""), ctrl__mstr(o->d, "uid")))
		return;
	if (!o->new_rs && same_template(rs, o->d)) {
		o->new_rs = rs;
		return;
	}
	ALLOC_GROW(o->old, o->n_old + 1, o->alloc);
	o->old[o->n_old++] = rs;
}

static int cmp_created(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int c = strcmp(ctrl__mstr(x, "creationTimestamp"), ctrl__mstr(y, "creationTimestamp"));

	return c ? c : strcmp(ctrl__mstr(x, "name"), ctrl__mstr(y, "name"));
}

/* ---- writes ---- */

static void create_rs(const cJSON *d, const char *hash, int64_t replicas, int64_t revision,
		      struct ctrl_batch *b)
{
	cJSON *rs = cJSON_CreateObject(), *m, *spec, *t, *ann, *refs;
	const cJSON *a;
	char *name = xasprintf("%s-%s", ctrl__mstr(d, "name"), hash), rev[24];

	json_set_str(rs, "apiVersion", "apps/v1");
	json_set_str(rs, "kind", "ReplicaSet");
	m = json_obj(rs, "metadata");
	json_set_str(m, "name", name);
	json_set_str(m, "namespace", ctrl__mstr(d, "namespace"));
	t = cJSON_Duplicate(json_path(d, "spec.template"), 1);
	json_set_str(json_obj(json_obj(t, "metadata"), "labels"), LABEL_TEMPLATE_HASH, hash);
	json_set(m, "labels", cJSON_Duplicate(json_path(t, "metadata.labels"), 1));
	ann = json_obj(m, "annotations");
	cJSON_ArrayForEach(a, json_path(d, "metadata.annotations"))
		if (strcmp(a->string, "kubectl.kubernetes.io/last-applied-configuration") &&
		    !str_has_prefix(a->string, "deployment.kubernetes.io/"))
			json_set(ann, a->string, cJSON_Duplicate(a, 1));
	snprintf(rev, sizeof(rev), "%lld", (long long)revision);
	json_set_str(ann, ANN_REVISION, rev);
	refs = cJSON_CreateArray();
	cJSON_AddItemToArray(refs, ctrl__owner_ref(d));
	json_set(m, "ownerReferences", refs);
	spec = json_obj(rs, "spec");
	json_set_int(spec, "replicas", replicas);
	if (json_get(json_get(d, "spec"), "minReadySeconds"))
		json_set_int(spec, "minReadySeconds", json_get_int(json_get(d, "spec"), "minReadySeconds", 0));
	json_set(spec, "selector", cJSON_Duplicate(json_path(d, "spec.selector"), 1));
	json_set_str(json_obj(json_get(spec, "selector"), "matchLabels"), LABEL_TEMPLATE_HASH, hash);
	json_set(spec, "template", t);
	log_info("deployment %s/%s: new replica set %s (revision %s)", ctrl__mstr(d, "namespace"),
		 ctrl__mstr(d, "name"), name, rev);
	ctrl_event(dm->srv, d, "Normal", "ScalingReplicaSet", "Scaled up replica set %s from 0 to %lld",
		   name, (long long)replicas);
	api_internal_create(dm->srv, "apps", "replicasets", ctrl__mstr(d, "namespace"), rs, ctrl_batch_cb,
			    ctrl_batch_hold(b));
	cJSON_Delete(rs);
	free(name);
}

/* Merge-patches rs: spec.replicas (when >= 0) and the revision (when > 0). */
static void patch_rs(const cJSON *d, const cJSON *rs, int64_t replicas, int64_t revision,
		     struct ctrl_batch *b)
{
	cJSON *p = cJSON_CreateObject(), *m = json_obj(p, "metadata");

	json_set_str(m, "resourceVersion", ctrl__mstr(rs, "resourceVersion"));
	if (replicas >= 0) {
		int64_t was = spec_replicas(rs);

		json_set_int(json_obj(p, "spec"), "replicas", replicas);
		ctrl_event(dm->srv, d, "Normal", "ScalingReplicaSet", "Scaled %s replica set %s from %lld to %lld",
			   replicas > was ? "up" : "down", ctrl__mstr(rs, "name"), (long long)was,
			   (long long)replicas);
	}
	if (revision > 0) {
		char rev[24];

		snprintf(rev, sizeof(rev), "%lld", (long long)revision);
		json_set_str(json_obj(m, "annotations"), ANN_REVISION, rev);
	}
	api_internal_patch(dm->srv, "apps", "replicasets", ctrl__mstr(rs, "namespace"), ctrl__mstr(rs, "name"), p,
			   ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(p);
}

/* ---- scaling ---- */

/* One step of a Recreate rollout; true when it wrote something. */
static bool recreate(const cJSON *d, const struct owned *o, struct ctrl_batch *b)
{
	bool wrote = false, waiting = false;

	for (size_t i = 0; i < o->n_old; i++) {
		if (spec_replicas(o->old[i]) > 0) {
			patch_rs(d, o->old[i], 0, 0, b);
			wrote = true;
		}
		if (st_int(o->old[i], "replicas") > 0)
			waiting = true;
	}
	if (wrote || waiting)
		return wrote;
	if (spec_replicas(o->new_rs) != spec_replicas(d)) {
		patch_rs(d, o->new_rs, spec_replicas(d), 0, b);
		return true;
	}
	return false;
}

/* One step of a RollingUpdate rollout; true when it wrote something. */
static bool rolling(const cJSON *d, const struct owned *o, struct ctrl_batch *b)
{
	const cJSON *ru = json_path(d, "spec.strategy.rollingUpdate");
	int64_t want = spec_replicas(d), total = spec_replicas(o->new_rs), avail;
	int64_t surge = int_or_percent(json_get(ru, "maxSurge"), "25%", want, true);
	int64_t unav = int_or_percent(json_get(ru, "maxUnavailable"), "25%", want, false);
	int64_t cur = spec_replicas(o->new_rs), min_avail, new_unav, down;

	if (!surge && !unav)
		unav = 1;
	avail = st_int(o->new_rs, "availableReplicas");
	for (size_t i = 0; i < o->n_old; i++) {
		total += spec_replicas(o->old[i]);
		avail += st_int(o->old[i], "availableReplicas");
	}
	if (cur > want || (cur < want && !o->n_old)) {
		patch_rs(d, o->new_rs, want, 0, b);
		return true;
	}
	if (cur < want && want + surge - total > 0) {
		int64_t up = want + surge - total;

		patch_rs(d, o->new_rs, cur + (up < want - cur ? up : want - cur), 0, b);
		return true;
	}
	/* old replica sets: first their unavailable pods, then what availability allows */
	min_avail = want - unav;
	new_unav = cur - st_int(o->new_rs, "availableReplicas");
	down = total - min_avail - new_unav;
	for (size_t i = 0; i < o->n_old && down > 0; i++) {
		int64_t r = spec_replicas(o->old[i]);
		int64_t unhealthy = r - st_int(o->old[i], "availableReplicas");
		int64_t n = unhealthy < down ? unhealthy : down;

		if (n > 0) {
			patch_rs(d, o->old[i], r - n, 0, b);
			return true;
		}
	}
	down = avail - min_avail;
	for (size_t i = 0; i < o->n_old && down > 0; i++) {
		int64_t r = spec_replicas(o->old[i]), n = r < down ? r : down;

		if (n > 0) {
			patch_rs(d, o->old[i], r - n, 0, b);
			return true;
		}
	}
	return false;
}

static void cleanup_history(const cJSON *d, const struct owned *o, struct ctrl_batch *b)
{
	int64_t limit = json_get_int(json_get(d, "spec"), "revisionHistoryLimit", DEFAULT_HISTORY_LIMIT);
	int64_t idle = 0;

	for (size_t i = 0; i < o->n_old; i++)
		idle += !spec_replicas(o->old[i]) && !st_int(o->old[i], "replicas");
	for (size_t i = 0; i < o->n_old && idle > limit; i++) {
		cJSON *opts;

		if (spec_replicas(o->old[i]) || st_int(o->old[i], "replicas"))
			continue;
		opts = cJSON_CreateObject();
		json_set_str(json_obj(opts, "preconditions"), "uid", ctrl__mstr(o->old[i], "uid"));
		api_internal_delete(dm->srv, "apps", "replicasets", ctrl__mstr(o->old[i], "namespace"),
				    ctrl__mstr(o->old[i], "name"), opts, ctrl_batch_cb, ctrl_batch_hold(b));
		cJSON_Delete(opts);
		idle--;
	}
}

/* ---- status ---- */

static void set_condition(cJSON *conds, const cJSON *old_conds, const char *type, const char *status,
			  const char *reason, const char *message, const char *now, bool touch);

static const cJSON *condition_of(const cJSON *d, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_path(d, "status.conditions"))
		if (!strcmp(json_get_str(c, "type", ""), type))
			return c;
	return NULL;
}

/*
 * The Progressing condition, as upstream: NewReplicaSetAvailable once
 * complete; ReplicaSetUpdated, its lastUpdateTime renewed whenever the
 * counts move; ProgressDeadlineExceeded when they did not move for
 * progressDeadlineSeconds (default 600); Unknown DeploymentPaused while
 * paused, DeploymentResumed after.
 */
static void progressing(const cJSON *d, const struct owned *o, const cJSON *st, cJSON *conds,
			bool complete, const char *now)
{
	static const char *const counts[] = { "replicas", "updatedReplicas", "readyReplicas",
					      "availableReplicas" };
	const cJSON *old = condition_of(d, "Progressing"), *olds = json_get(d, "status");
	const char *rs = o->new_rs ? ctrl__mstr(o->new_rs, "name") : "";
	const char *old_reason = json_get_str(old, "reason", "");
	int64_t deadline = json_get_int(json_get(d, "spec"), "progressDeadlineSeconds", 600), t;
	bool moved = false;
	char msg[512];

	for (size_t i = 0; i < ARRAY_SIZE(counts); i++)
		moved |= json_get_int(st, counts[i], 0) != json_get_int(olds, counts[i], 0);
	if (json_get_bool(json_get(d, "spec"), "paused", false)) {
		set_condition(conds, json_path(d, "status.conditions"), "Progressing", "Unknown",
			      "DeploymentPaused", "Deployment is paused", now, false);
		return;
	}
	if (complete) {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has successfully progressed.", rs);
		set_condition(conds, json_path(d, "status.conditions"), "Progressing", "True",
			      "NewReplicaSetAvailable", msg, now, false);
		return;
	}
	if (!strcmp(old_reason, "DeploymentPaused")) {
		set_condition(conds, json_path(d, "status.conditions"), "Progressing", "Unknown",
			      "DeploymentResumed", "Deployment is resumed", now, true);
		return;
	}
	if (!moved && !strcmp(old_reason, "ProgressDeadlineExceeded")) {
		set_condition(conds, json_path(d, "status.conditions"), "Progressing", "False",
			      "ProgressDeadlineExceeded", json_get_str(old, "message", ""), now, false);
		return;
	}
	if (!moved && old && !rfc3339_parse(json_get_str(old, "lastUpdateTime", ""), &t) &&
	    (int64_t)wall_ns() - t >= deadline * 1000000000LL) {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has timed out progressing.", rs);
		set_condition(conds, json_path(d, "status.conditions"), "Progressing", "False",
			      "ProgressDeadlineExceeded", msg, now, false);
		ctrl_event(dm->srv, d, "Warning", "ProgressDeadlineExceeded", "%s", msg);
		return;
	}
	snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" is progressing.", rs);
	set_condition(conds, json_path(d, "status.conditions"), "Progressing", "True", "ReplicaSetUpdated",
		      msg, now, moved);
	/* come back when the deadline would pass */
	{
		char *k = cache_key_of(d);
		int64_t since = old && !moved && !rfc3339_parse(json_get_str(old, "lastUpdateTime", ""), &t) ?
				t : (int64_t)wall_ns();
		int64_t left_ms = (since + deadline * 1000000000LL - (int64_t)wall_ns()) / 1000000 + 100;

		wq_add_after(&dm->deploy_q, k, left_ms > 0 ? (uint64_t)left_ms : 100);
		free(k);
	}
}

static void set_condition(cJSON *conds, const cJSON *old_conds, const char *type, const char *status,
			  const char *reason, const char *message, const char *now, bool touch)
{
	cJSON *c = cJSON_CreateObject();
	const cJSON *prev = NULL, *it;

	cJSON_ArrayForEach(it, old_conds)
		if (!strcmp(json_get_str(it, "type", ""), type))
			prev = it;
	json_set_str(c, "type", type);
	json_set_str(c, "status", status);
	/* unchanged conditions keep their times, so status writes settle */
	if (prev && !touch && !strcmp(json_get_str(prev, "status", ""), status) &&
	    !strcmp(json_get_str(prev, "reason", ""), reason)) {
		json_set_str(c, "lastUpdateTime", json_get_str(prev, "lastUpdateTime", now));
		json_set_str(c, "lastTransitionTime", json_get_str(prev, "lastTransitionTime", now));
	} else {
		json_set_str(c, "lastUpdateTime", now);
		json_set_str(c, "lastTransitionTime",
			     prev && !strcmp(json_get_str(prev, "status", ""), status) ?
			     json_get_str(prev, "lastTransitionTime", now) : now);
	}
	json_set_str(c, "reason", reason);
	json_set_str(c, "message", message);
	cJSON_AddItemToArray(conds, c);
}

static void write_status(const cJSON *d, const struct owned *o, struct ctrl_batch *b)
{
	const cJSON *ru = json_path(d, "spec.strategy.rollingUpdate");
	int64_t want = spec_replicas(d), replicas = 0, ready = 0, avail = 0, updated = 0;
	int64_t unav = int_or_percent(json_get(ru, "maxUnavailable"), "25%", want, false);
	cJSON *c = cJSON_Duplicate(d, 1), *st = cJSON_CreateObject(), *conds;
	char now[RFC3339_MAX];
	bool complete;

	if (!strcmp(json_get_str(json_path(d, "spec.strategy"), "type", "RollingUpdate"), "Recreate"))
		unav = 0;
	for (size_t i = 0; i <= o->n_old; i++) {
		const cJSON *rs = i < o->n_old ? o->old[i] : o->new_rs;

		if (!rs)
			continue;
		replicas += st_int(rs, "replicas");
		ready += st_int(rs, "readyReplicas");
		avail += st_int(rs, "availableReplicas");
	}
	if (o->new_rs)
		updated = st_int(o->new_rs, "replicas");
	rfc3339_format((int64_t)wall_ns(), now);
	json_set_int(st, "observedGeneration", json_get_int(json_get(d, "metadata"), "generation", 0));
	json_set_int(st, "replicas", replicas);
	json_set_int(st, "updatedReplicas", updated);
	json_set_int(st, "readyReplicas", ready);
	json_set_int(st, "availableReplicas", avail);
	json_set_int(st, "unavailableReplicas", replicas > avail ? replicas - avail : 0);
	if (json_get(json_get(d, "status"), "collisionCount"))
		json_set(st, "collisionCount", cJSON_Duplicate(json_path(d, "status.collisionCount"), 1));
	conds = cJSON_CreateArray();
	if (avail >= want - unav)
		set_condition(conds, json_path(d, "status.conditions"), "Available", "True",
			      "MinimumReplicasAvailable", "Deployment has minimum availability.", now, false);
	else
		set_condition(conds, json_path(d, "status.conditions"), "Available", "False",
			      "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", now, false);
	complete = o->new_rs && updated == want && replicas == want && avail == want;
	progressing(d, o, st, conds, complete, now);
	json_set(st, "conditions", conds);
	if (json_get(d, "status") && json_equal(st, json_get(d, "status"))) {
		cJSON_Delete(st);
		cJSON_Delete(c);
		return;
	}
	json_set(c, "status", st);
	api_internal_update(dm->srv, "apps", "deployments", "status", c, ctrl_batch_cb,
			    ctrl_batch_hold(b));
	cJSON_Delete(c);
}

/* ---- one reconcile ---- */

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX], hash[16];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *d = cache_get(dm->deploy, ns, name);
	struct owned o = { 0 };
	struct ctrl_batch *b;
	int64_t max_rev = 0;
	bool recreate_type;

	(void)ud;
	if (!d || json_path(d, "metadata.deletionTimestamp")) {
		wq_done(q, key, 0);
		return;
	}
	b = ctrl_batch_new(q, key);
	o.d = d;
	cache_each_owned(dm->rs, ctrl__mstr(d, "uid"), collect, &o);
	if (o.n_old)
		qsort(o.old, o.n_old, sizeof(*o.old), cmp_created);
	for (size_t i = 0; i < o.n_old; i++)
		if (revision_of(o.old[i]) > max_rev)
			max_rev = revision_of(o.old[i]);
	recreate_type = !strcmp(json_get_str(json_path(d, "spec.strategy"), "type", "RollingUpdate"),
				"Recreate");
	ctrl_template_hash(json_path(d, "spec.template"),
			   (uint32_t)json_get_int(json_get(d, "status"), "collisionCount", 0), hash);
	if (!o.new_rs) {
		if (json_get_bool(json_get(d, "spec"), "paused", false)) {
			write_status(d, &o, b);	/* no new ReplicaSet while paused */
		} else {
			int64_t want = spec_replicas(d), total = 0, start;
			const cJSON *ru = json_path(d, "spec.strategy.rollingUpdate");

			for (size_t i = 0; i < o.n_old; i++)
				total += spec_replicas(o.old[i]);
			start = want + int_or_percent(json_get(ru, "maxSurge"), "25%", want, true) - total;
			if (!total)
				start = want;
			else if (recreate_type || start < 0)
				start = 0;
			create_rs(d, hash, start < want ? start : want, max_rev + 1, b);
		}
	} else if (revision_of(o.new_rs) <= max_rev) {
		patch_rs(d, o.new_rs, -1, max_rev + 1, b);	/* a rollback: newest revision */
	} else if (strcmp(json_get_str(json_path(d, "metadata.annotations"), ANN_REVISION, ""),
			  json_get_str(json_path(o.new_rs, "metadata.annotations"), ANN_REVISION, ""))) {
		cJSON *p = cJSON_CreateObject();

		json_set_str(json_obj(json_obj(p, "metadata"), "annotations"), ANN_REVISION,
			     json_get_str(json_path(o.new_rs, "metadata.annotations"), ANN_REVISION, ""));
		api_internal_patch(dm->srv, "apps", "deployments", ns, name, p, ctrl_batch_cb,
				   ctrl_batch_hold(b));
		cJSON_Delete(p);
	} else if (json_get_bool(json_get(d, "spec"), "paused", false)) {
		write_status(d, &o, b);	/* a paused rollout takes no step */
	} else if (!(recreate_type ? recreate(d, &o, b) : rolling(d, &o, b))) {
		cleanup_history(d, &o, b);
		write_status(d, &o, b);
	}
	free(o.old);
	ctrl_batch_end(b);
}

/* ---- events ---- */

static void on_deploy(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	char *k;

	(void)st;
	(void)old;
	(void)ud;
	if (!new)
		return;
	k = cache_key_of(new);
	wq_add(&dm->deploy_q, k);
	free(k);
}

static void on_rs(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *obj = new ? new : old, *cref = ctrl_controller_ref(obj);
	char *k;

	(void)st;
	(void)ud;
	if (!cref || strcmp(json_get_str(cref, "kind", ""), "Deployment"))
		return;
	k = xasprintf("%s/%s", ctrl__mstr(obj, "namespace"), json_get_str(cref, "name", ""));
	wq_add(&dm->deploy_q, k);
	free(k);
}

void deploy__start(struct ctrl_manager *m)
{
	dm = m;
	wq_init(&m->deploy_q, m->srv->loop, process, m);
	cache_store_on_event(m->deploy, on_deploy, m);
	cache_store_on_event(m->rs, on_rs, m);
}
