/*
 * server/controllers/history.c - ControllerRevisions of DaemonSets and
 * StatefulSets (see history.h).
 */
#include "history.h"
#include "workload.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct hist_set {
	const char *uid;
	const cJSON *revs[HIST_MAX];	/* controlled by the owner */
	size_t n;
	int64_t max;			/* highest revision number */
};

static void collect(const cJSON *cr, void *ud)
{
	struct hist_set *h = ud;
	const cJSON *ref = ctrl_controller_ref(cr);
	int64_t r = json_get_int(cr, "revision", 0);

	if (!ref || strcmp(json_get_str(ref, "uid", ""), h->uid) || h->n == HIST_MAX)
		return;
	h->revs[h->n++] = cr;
	if (r > h->max)
		h->max = r;
}

static void created(int code, const cJSON *obj, void *ud)
{
	ctrl_batch_cb(code == 409 ? 201 : code, obj, ud);	/* the cache is behind: fine */
}

/* The revision of owner's template: its data restores the template. */
static cJSON *revision_new(const cJSON *owner, const char *name, const char *hash, int64_t number)
{
	cJSON *cr = cJSON_CreateObject(), *m, *labels, *refs, *tmpl;
	const cJSON *tl = json_path(owner, "spec.template.metadata.labels");
	const cJSON *ann = json_path(owner, "metadata.annotations");

	json_set_str(cr, "apiVersion", "apps/v1");
	json_set_str(cr, "kind", "ControllerRevision");
	m = json_obj(cr, "metadata");
	json_set_str(m, "name", name);
	json_set_str(m, "namespace", wl_meta(owner, "namespace"));
	labels = tl ? cJSON_Duplicate(tl, 1) : cJSON_CreateObject();
	json_set_str(labels, HIST_LABEL, hash);
	json_set(m, "labels", labels);
	if (ann)
		json_set(m, "annotations", cJSON_Duplicate(ann, 1));
	refs = cJSON_CreateArray();
	cJSON_AddItemToArray(refs, ctrl__owner_ref(owner));
	json_set(m, "ownerReferences", refs);
	tmpl = cJSON_Duplicate(json_path(owner, "spec.template"), 1);
	json_set_str(tmpl, "$patch", "replace");
	json_set(json_obj(json_obj(cr, "data"), "spec"), "template", tmpl);
	json_set_int(cr, "revision", number);
	return cr;
}

static bool kept(const cJSON *cr, const char *const *keep, size_t n_keep)
{
	const char *hash = json_get_str(json_path(cr, "metadata.labels"), HIST_LABEL, "");

	for (size_t i = 0; i < n_keep; i++)
		if (!strcmp(keep[i], wl_meta(cr, "name")) || !strcmp(keep[i], hash))
			return true;
	return false;
}

static int cmp_revision(const void *a, const void *b)
{
	int64_t x = json_get_int(*(const cJSON *const *)a, "revision", 0);
	int64_t y = json_get_int(*(const cJSON *const *)b, "revision", 0);

	return x < y ? -1 : x > y;
}

/* Deletes the oldest unused revisions beyond the owner's limit. */
static void truncate_history(struct ctrl_manager *m, const cJSON *owner, struct hist_set *h,
			     const char *name, const char *const *keep, size_t n_keep,
			     struct ctrl_batch *b)
{
	int64_t limit = json_get_int(json_get(owner, "spec"), "revisionHistoryLimit", HIST_LIMIT_DEFAULT);
	const cJSON *old[HIST_MAX];
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++)
		if (strcmp(wl_meta(h->revs[i], "name"), name) && !kept(h->revs[i], keep, n_keep))
			old[n++] = h->revs[i];
	if (limit < 0 || (int64_t)n <= limit)
		return;
	qsort(old, n, sizeof(*old), cmp_revision);
	for (size_t i = 0; i < n - (size_t)limit; i++) {
		cJSON *opts = cJSON_CreateObject();

		json_set_str(json_obj(opts, "preconditions"), "uid", wl_meta(old[i], "uid"));
		api_internal_delete(m->srv, "apps", "controllerrevisions", wl_meta(old[i], "namespace"),
				    wl_meta(old[i], "name"), opts, ctrl_batch_cb, ctrl_batch_hold(b));
		cJSON_Delete(opts);
	}
}

void hist_sync(struct ctrl_manager *m, const cJSON *owner, const char *name, const char *hash,
	       const char *const *keep, size_t n_keep, struct ctrl_batch *b)
{
	struct hist_set *h = xcalloc(1, sizeof(*h));
	const cJSON *cur = NULL;

	h->uid = wl_meta(owner, "uid");
	cache_each_owned(m->revisions, h->uid, collect, h);
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(wl_meta(h->revs[i], "name"), name))
			cur = h->revs[i];
	if (!cur) {
		cJSON *cr = revision_new(owner, name, hash, h->max + 1);

		api_internal_create(m->srv, "apps", "controllerrevisions", wl_meta(owner, "namespace"), cr,
				    created, ctrl_batch_hold(b));
		cJSON_Delete(cr);
	} else if (json_get_int(cur, "revision", 0) < h->max) {
		cJSON *patch = cJSON_CreateObject();

		json_set_int(patch, "revision", h->max + 1);
		json_set_str(json_obj(patch, "metadata"), "resourceVersion", wl_meta(cur, "resourceVersion"));
		api_internal_patch(m->srv, "apps", "controllerrevisions", wl_meta(cur, "namespace"), name,
				   patch, ctrl_batch_cb, ctrl_batch_hold(b));
		cJSON_Delete(patch);
	}
	truncate_history(m, owner, h, name, keep, n_keep, b);
	free(h);
}

void hist_enqueue_owner(struct wq *q, const cJSON *old, const cJSON *new, const char *kind)
{
	if (old)
		wl_enqueue_controller(q, old, kind);
	if (new)
		wl_enqueue_controller(q, new, kind);
}
