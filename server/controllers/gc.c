/*
 * server/controllers/gc.c - the garbage collector: ownerReferences between
 * the cached resources (pods, replicasets, deployments).
 *
 * - Background: a dependent whose owners are all gone (absent from the
 *   cache, or present with another uid) is deleted.
 * - Foreground: an owner marked deleted with the foregroundDeletion
 *   finalizer has its dependents deleted; once no dependent with
 *   blockOwnerDeletion is left, the finalizer is removed (and the server
 *   removes the object).
 * - Orphan: an owner with the orphan finalizer has the ownerReferences to it
 *   removed from its dependents, then the finalizer removed.
 * Owners of kinds that are not cached are assumed present.
 *
 * Queue keys are "<store index>|ns/name".
 */
#include "ctrl_priv.h"
#include "../apiserver.h"
#include "../meta.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FIN_FOREGROUND "foregroundDeletion"
#define FIN_ORPHAN "orphan"

static struct ctrl_manager *gm;

/* ---- the delete path: propagationPolicy ---- */

static void add_finalizer(cJSON *obj, const char *fin)
{
	cJSON *m = json_obj(obj, "metadata"), *f = json_get(m, "finalizers"), *it;

	if (!cJSON_IsArray(f)) {
		f = cJSON_CreateArray();
		json_set(m, "finalizers", f);
	}
	cJSON_ArrayForEach(it, f)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, fin))
			return;
	cJSON_AddItemToArray(f, cJSON_CreateString(fin));
}

int gc_delete_propagation(cJSON *obj, const cJSON *opts, const char *policy,
			  struct api_error *e)
{
	if (!policy)
		policy = json_get_str(opts, "propagationPolicy", NULL);
	if (!policy && json_get_bool(opts, "orphanDependents", false))
		policy = "Orphan";
	if (!policy || !strcmp(policy, "Background"))
		return 0;
	if (!strcmp(policy, "Foreground")) {
		add_finalizer(obj, FIN_FOREGROUND);
		return 0;
	}
	if (!strcmp(policy, "Orphan")) {
		add_finalizer(obj, FIN_ORPHAN);
		return 0;
	}
	api_error_set(e, STATUS_BAD_REQUEST,
		      "DeleteOptions.PropagationPolicy: Unsupported value: \"%s\": supported values: \"Foreground\", \"Background\", \"Orphan\"",
		      policy);
	return -EINVAL;
}

/* ---- helpers ---- */

static bool has_finalizer(const cJSON *obj, const char *fin)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, json_path(obj, "metadata.finalizers"))
		if (cJSON_IsString(it) && !strcmp(it->valuestring, fin))
			return true;
	return false;
}

static bool deleting(const cJSON *obj)
{
	return json_path(obj, "metadata.deletionTimestamp") != NULL;
}

static size_t store_index(struct cache_store *st)
{
	return (size_t)(st - gm->cache.stores);
}

static void enqueue(struct cache_store *st, const cJSON *obj)
{
	char *k = cache_key_of(obj), *key = xasprintf("%zu|%s", store_index(st), k);

	wq_add(&gm->gc_q, key);
	free(key);
	free(k);
}

/* The store caching the kind of an ownerReference, or NULL. */
static struct cache_store *store_of_ref(const cJSON *ref)
{
	const char *av = json_get_str(ref, "apiVersion", ""), *kind = json_get_str(ref, "kind", "");
	const char *slash = strchr(av, '/');
	size_t glen = slash ? (size_t)(slash - av) : 0;

	for (size_t i = 0; i < gm->cache.n; i++) {
		const struct api_resource *r = gm->cache.stores[i].res;

		if (!strcmp(r->kind, kind) && strlen(r->group) == glen && !strncmp(r->group, av, glen))
			return &gm->cache.stores[i];
	}
	return NULL;
}

struct deps {
	const cJSON **v;
	struct cache_store **st;
	size_t n, alloc;
	struct cache_store *cur;
};

static void dep_add(const cJSON *obj, void *ud)
{
	struct deps *d = ud;

	ALLOC_GROW(d->v, d->n + 1, d->alloc);
	d->st = xrealloc(d->st, d->alloc * sizeof(*d->st));
	d->st[d->n] = d->cur;
	d->v[d->n++] = obj;
}

/* Every cached object with an ownerReference to uid. */
static void dependents(const char *uid, struct deps *d)
{
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < gm->cache.n; i++) {
		d->cur = &gm->cache.stores[i];
		cache_each_owned(d->cur, uid, dep_add, d);
	}
}

static void deps_release(struct deps *d)
{
	free(d->v);
	free(d->st);
}

static void update(struct cache_store *st, cJSON *obj, struct ctrl_batch *b)
{
	ctrl__patch_meta(gm->srv, st->res->group, st->res->plural, obj, b);
	cJSON_Delete(obj);
}

static void delete_obj(struct cache_store *st, const cJSON *obj, const char *policy,
		       struct ctrl_batch *b)
{
	cJSON *opts = cJSON_CreateObject(), *pre = json_obj(opts, "preconditions");

	json_set_str(opts, "propagationPolicy", policy);
	json_set_str(pre, "uid", ctrl__mstr(obj, "uid"));
	log_info("garbage collector: deleting %s %s/%s (%s)", st->res->kind, ctrl__mstr(obj, "namespace"),
		 ctrl__mstr(obj, "name"), policy);
	api_internal_delete(gm->srv, st->res->group, st->res->plural, ctrl__mstr(obj, "namespace"),
			    ctrl__mstr(obj, "name"), opts, ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(opts);
}

/* A copy of obj without the finalizer fin. */
static cJSON *without_finalizer(const cJSON *obj, const char *fin)
{
	cJSON *c = cJSON_Duplicate(obj, 1), *f = json_path(c, "metadata.finalizers");

	for (int i = cJSON_GetArraySize(f) - 1; i >= 0; i--) {
		cJSON *it = cJSON_GetArrayItem(f, i);

		if (cJSON_IsString(it) && !strcmp(it->valuestring, fin))
			cJSON_DeleteItemFromArray(f, i);
	}
	return c;
}

/* ---- the owner side ---- */

static void orphan(struct cache_store *st, const cJSON *obj, struct ctrl_batch *b)
{
	const char *uid = ctrl__mstr(obj, "uid");
	struct deps d;

	dependents(uid, &d);
	for (size_t i = 0; i < d.n; i++) {
		cJSON *c = cJSON_Duplicate(d.v[i], 1), *refs = json_path(c, "metadata.ownerReferences");

		for (int j = cJSON_GetArraySize(refs) - 1; j >= 0; j--)
			if (!strcmp(json_get_str(cJSON_GetArrayItem(refs, j), "uid", ""), uid))
				cJSON_DeleteItemFromArray(refs, j);
		if (!cJSON_GetArraySize(refs))
			cJSON_DeleteItemFromObjectCaseSensitive(json_get(c, "metadata"), "ownerReferences");
		update(d.st[i], c, b);
	}
	if (!d.n)
		update(st, without_finalizer(obj, FIN_ORPHAN), b);
	deps_release(&d);
}

static void foreground(struct cache_store *st, const cJSON *obj, struct ctrl_batch *b)
{
	struct deps d;
	size_t blocking = 0;

	dependents(ctrl__mstr(obj, "uid"), &d);
	for (size_t i = 0; i < d.n; i++) {
		const cJSON *ref = NULL, *r;

		cJSON_ArrayForEach(r, json_path(d.v[i], "metadata.ownerReferences"))
			if (!strcmp(json_get_str(r, "uid", ""), ctrl__mstr(obj, "uid")))
				ref = r;
		if (json_get_bool(ref, "blockOwnerDeletion", false))
			blocking++;
		if (!deleting(d.v[i]))
			delete_obj(d.st[i], d.v[i], "Foreground", b);
	}
	if (!blocking)
		update(st, without_finalizer(obj, FIN_FOREGROUND), b);
	deps_release(&d);
}

/* ---- the dependent side ---- */

static void check_owners(struct cache_store *st, const cJSON *obj, struct ctrl_batch *b)
{
	const cJSON *r;
	size_t known = 0, absent = 0;

	cJSON_ArrayForEach(r, json_path(obj, "metadata.ownerReferences")) {
		struct cache_store *ost = store_of_ref(r);
		const cJSON *owner;

		if (!ost)
			continue;
		known++;
		owner = cache_get(ost, ost->res->namespaced ? ctrl__mstr(obj, "namespace") : "",
				  json_get_str(r, "name", ""));
		if (!owner || strcmp(ctrl__mstr(owner, "uid"), json_get_str(r, "uid", "")))
			absent++;
	}
	if (known && absent == known &&
	    known == (size_t)cJSON_GetArraySize(json_path(obj, "metadata.ownerReferences")))
		delete_obj(st, obj, "Background", b);
}

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX];
	size_t idx = strtoul(key, NULL, 10);
	const char *rest = strchr(key, '|'), *name;
	struct cache_store *st;
	const cJSON *obj;
	struct ctrl_batch *b;

	(void)ud;
	if (!rest || idx >= gm->cache.n) {
		wq_done(q, key, 0);
		return;
	}
	st = &gm->cache.stores[idx];
	name = ctrl__split_key(rest + 1, ns, sizeof(ns));
	obj = cache_get(st, ns, name);
	if (!obj) {
		wq_done(q, key, 0);
		return;
	}
	b = ctrl_batch_new(q, key);
	if (deleting(obj) && has_finalizer(obj, FIN_ORPHAN))
		orphan(st, obj, b);
	else if (deleting(obj) && has_finalizer(obj, FIN_FOREGROUND))
		foreground(st, obj, b);
	else if (!deleting(obj))
		check_owners(st, obj, b);
	ctrl_batch_end(b);
}

static bool refs_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x = json_path(a, "metadata.ownerReferences");
	const cJSON *y = json_path(b, "metadata.ownerReferences");

	if (!x || !y)
		return !x && !y;
	return json_equal(x, y);
}

static void enqueue_owners(const cJSON *obj)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, json_path(obj, "metadata.ownerReferences")) {
		struct cache_store *ost = store_of_ref(r);
		const cJSON *owner;

		if (!ost)
			continue;
		owner = cache_get(ost, ost->res->namespaced ? ctrl__mstr(obj, "namespace") : "",
				  json_get_str(r, "name", ""));
		if (owner && deleting(owner))
			enqueue(ost, owner);
	}
}

static void on_event(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)ud;
	if (new && json_path(new, "metadata.ownerReferences") && (!old || !refs_equal(old, new)))
		enqueue(st, new);
	if (old && new && !refs_equal(old, new))
		enqueue_owners(old);	/* an orphaning owner waits for this */
	if (new && deleting(new) && (has_finalizer(new, FIN_ORPHAN) || has_finalizer(new, FIN_FOREGROUND)))
		enqueue(st, new);
	if (!new || (deleting(new) && (!old || !deleting(old)))) {
		const cJSON *gone = new ? new : old;
		struct deps d;

		/* its dependents may be orphans now; its owners may be waiting */
		if (!new) {
			dependents(ctrl__mstr(gone, "uid"), &d);
			for (size_t i = 0; i < d.n; i++)
				enqueue(d.st[i], d.v[i]);
			deps_release(&d);
		}
		enqueue_owners(gone);
	}
}

void gc__start(struct ctrl_manager *m)
{
	gm = m;
	wq_init(&m->gc_q, m->srv->loop, process, m);
	for (size_t i = 0; i < m->cache.n; i++)
		cache_store_on_event(&m->cache.stores[i], on_event, m);
}
