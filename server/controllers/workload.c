/*
 * server/controllers/workload.c - helpers of the workload controllers (see
 * workload.h).
 */
#include "workload.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

const char *wl_meta(const cJSON *obj, const char *key)
{
	return json_get_str(json_get(obj, "metadata"), key, "");
}

cJSON *wl_pod_new(const cJSON *owner, const cJSON *tmpl, const char *name)
{
	static const char *const keys[] = { "labels", "annotations" };
	cJSON *pod = cJSON_CreateObject(), *m, *refs;
	const cJSON *tm = json_get(tmpl, "metadata");

	json_set_str(pod, "apiVersion", "v1");
	json_set_str(pod, "kind", "Pod");
	m = json_obj(pod, "metadata");
	if (name) {
		json_set_str(m, "name", name);
	} else {
		char *gen = xasprintf("%s-", wl_meta(owner, "name"));

		json_set_str(m, "generateName", gen);
		free(gen);
	}
	json_set_str(m, "namespace", wl_meta(owner, "namespace"));
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (json_get(tm, keys[i]))
			json_set(m, keys[i], cJSON_Duplicate(json_get(tm, keys[i]), 1));
	refs = cJSON_CreateArray();
	cJSON_AddItemToArray(refs, ctrl__owner_ref(owner));
	json_set(m, "ownerReferences", refs);
	json_set(pod, "spec", json_get(tmpl, "spec") ? cJSON_Duplicate(json_get(tmpl, "spec"), 1)
						      : cJSON_CreateObject());
	return pod;
}

struct write_ctx {
	struct ctrl_manager *m;
	struct ctrl_batch *b;
	cJSON *owner;		/* apiVersion, kind, metadata: for events */
	bool create;
};

static void pod_written(int code, const cJSON *obj, void *ud)
{
	struct write_ctx *w = ud;

	if (code < 300)
		ctrl_event(w->m->srv, w->owner, "Normal", w->create ? "SuccessfulCreate" : "SuccessfulDelete",
			   "%s pod: %s", w->create ? "Created" : "Deleted", wl_meta(obj, "name"));
	else if (code != 404 && !(w->create && code == 409))
		ctrl_event(w->m->srv, w->owner, "Warning", w->create ? "FailedCreate" : "FailedDelete",
			   "Error %s: %s", w->create ? "creating" : "deleting",
			   json_get_str(obj, "message", "unknown error"));
	ctrl_batch_cb(code == 409 && w->create ? 404 : code, obj, w->b);
	cJSON_Delete(w->owner);
	free(w);
}

static struct write_ctx *write_ctx(struct ctrl_manager *m, const cJSON *owner, struct ctrl_batch *b,
				   bool create)
{
	struct write_ctx *w = xcalloc(1, sizeof(*w));

	w->m = m;
	w->b = ctrl_batch_hold(b);
	w->owner = cJSON_CreateObject();
	json_set_str(w->owner, "apiVersion", json_get_str(owner, "apiVersion", ""));
	json_set_str(w->owner, "kind", json_get_str(owner, "kind", ""));
	json_set(w->owner, "metadata", cJSON_Duplicate(json_get(owner, "metadata"), 1));
	w->create = create;
	return w;
}

void wl_pod_create(struct ctrl_manager *m, const cJSON *owner, const cJSON *pod,
		   struct ctrl_batch *b)
{
	api_internal_create(m->srv, "", "pods", wl_meta(owner, "namespace"), pod, pod_written,
			    write_ctx(m, owner, b, true));
}

void wl_pod_delete(struct ctrl_manager *m, const cJSON *owner, const cJSON *pod,
		   struct ctrl_batch *b)
{
	cJSON *opts = cJSON_CreateObject();

	json_set_str(json_obj(opts, "preconditions"), "uid", wl_meta(pod, "uid"));
	api_internal_delete(m->srv, "", "pods", wl_meta(pod, "namespace"), wl_meta(pod, "name"), opts,
			    pod_written, write_ctx(m, owner, b, false));
	cJSON_Delete(opts);
}

void wl_status_write(struct ctrl_manager *m, const char *group, const char *plural,
		     const cJSON *obj, cJSON *status, struct ctrl_batch *b)
{
	cJSON *c;

	if (json_get(obj, "status") && json_equal(status, json_get(obj, "status"))) {
		cJSON_Delete(status);
		return;
	}
	c = cJSON_Duplicate(obj, 1);
	json_set(c, "status", status);
	api_internal_update(m->srv, group, plural, "status", c, ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(c);
}

void wl_condition(cJSON *conds, const cJSON *old_conds, const char *type, const char *status,
		  const char *reason, const char *message)
{
	const cJSON *prev = NULL, *it;
	cJSON *c = cJSON_CreateObject();
	char now[RFC3339_MAX];
	bool same;

	cJSON_ArrayForEach(it, old_conds)
		if (!strcmp(json_get_str(it, "type", ""), type))
			prev = it;
	same = prev && !strcmp(json_get_str(prev, "status", ""), status);
	rfc3339_format((int64_t)wall_ns(), now);
	json_set_str(c, "type", type);
	json_set_str(c, "status", status);
	json_set_str(c, "lastProbeTime", same ? json_get_str(prev, "lastProbeTime", now) : now);
	json_set_str(c, "lastTransitionTime", same ? json_get_str(prev, "lastTransitionTime", now) : now);
	if (reason)
		json_set_str(c, "reason", reason);
	if (message)
		json_set_str(c, "message", message);
	cJSON_AddItemToArray(conds, c);
}

const char *wl_pod_phase(const cJSON *pod)
{
	const char *phase = json_get_str(json_get(pod, "status"), "phase", "");

	return !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed") ? phase : "";
}

bool wl_pod_active(const cJSON *pod)
{
	return !json_path(pod, "metadata.deletionTimestamp") && !*wl_pod_phase(pod);
}

bool wl_pod_available(const cJSON *pod, int64_t min_ready_s)
{
	const cJSON *c = ctrl__condition(pod, "Ready");
	int64_t t;

	if (!ctrl__pod_ready(pod))
		return false;
	if (min_ready_s <= 0)
		return true;
	return !rfc3339_parse(json_get_str(c, "lastTransitionTime", ""), &t) &&
	       (int64_t)wall_ns() - t >= min_ready_s * 1000000000LL;
}

struct each_ctx {
	const char *uid;
	void (*fn)(const cJSON *pod, void *ud);
	void *ud;
};

static void each_one(const cJSON *pod, void *ud)
{
	struct each_ctx *e = ud;
	const cJSON *ref = ctrl_controller_ref(pod);

	if (ref && !strcmp(json_get_str(ref, "uid", ""), e->uid))
		e->fn(pod, e->ud);
}

void wl_each_pod(struct ctrl_manager *m, const cJSON *owner,
		 void (*fn)(const cJSON *pod, void *ud), void *ud)
{
	struct each_ctx e = { wl_meta(owner, "uid"), fn, ud };

	cache_each_owned(m->pods, e.uid, each_one, &e);
}

void wl_enqueue(struct wq *q, const cJSON *obj)
{
	char *k = cache_key_of(obj);

	wq_add(q, k);
	free(k);
}

void wl_enqueue_controller(struct wq *q, const cJSON *obj, const char *kind)
{
	const cJSON *ref = ctrl_controller_ref(obj);
	char *k;

	if (!ref || strcmp(json_get_str(ref, "kind", ""), kind))
		return;
	k = xasprintf("%s/%s", wl_meta(obj, "namespace"), json_get_str(ref, "name", ""));
	wq_add(q, k);
	free(k);
}

int64_t wl_int_or_percent(const cJSON *v, int64_t fallback, int64_t total, bool round_up)
{
	int64_t pct;

	if (cJSON_IsNumber(v))
		return (int64_t)v->valuedouble;
	if (!cJSON_IsString(v))
		return fallback;
	pct = atoll(v->valuestring);
	if (!strchr(v->valuestring, '%'))
		return pct;
	return round_up ? (pct * total + 99) / 100 : pct * total / 100;
}
