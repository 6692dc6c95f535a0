/*
 * server/crd_serve.c - the CRD controller: names, conditions, storedVersions,
 * serving state (registry rows) and the deletion of a CRD's objects.
 *
 * Every change under the CRD prefix schedules one reconcile (debounced on a
 * uv timer): all CRDs are read from the store, ordered (already Established
 * first, then by creation), their names checked for conflicts within their
 * group, the status each should have written where it differs, and the
 * serving state rebuilt for the CRDs whose serving-relevant content changed.
 */
#include "crd.h"
#include "apiserver.h"
#include "meta.h"
#include "storage.h"
#include "server/gen/schemas.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CRD_PREFIX "/registry/apiextensions.k8s.io/customresourcedefinitions/"
#define CRD_RETRY_MS 500	/* re-check while objects of a deleted CRD remain */

struct crd_state {
	struct crd_state *next;		/* in crd.active or crd.retired */
	char *name;			/* the CRD's metadata.name */
	char *fingerprint;		/* what serving depends on, printed */
	cJSON *json;			/* the CRD (row strings point into it) */
	struct crd_version v[CRD_MAX_VERSIONS];
	size_t nv;			/* served versions */
	struct schema *schemas[CRD_MAX_VERSIONS];	/* by spec.versions index */
	struct schema *lists[CRD_MAX_VERSIONS];
	struct schema_subresource subs[CRD_MAX_VERSIONS][2];
	struct table_col *cols[CRD_MAX_VERSIONS];
	char **strs;			/* allocated besides the JSON */
	size_t nstrs, strs_alloc;
	bool seen;			/* by the current reconcile */
};

static struct {
	struct apiserver *s;
	struct swatch *watch;
	uv_timer_t timer;
	bool started;
	int inflight;			/* status and cleanup writes in flight */
	bool failed;			/* one of them failed: retry later, not at once */
	struct crd_state *active, *retired;
	unsigned generation;
} crd;

unsigned crd_generation(void)
{
	return crd.generation;
}

static char *own(struct crd_state *st, char *s)
{
	if (!s)
		return NULL;
	ALLOC_GROW(st->strs, st->nstrs + 1, st->strs_alloc);
	st->strs[st->nstrs++] = s;
	return s;
}

static void state_free(struct crd_state *st)
{
	for (size_t i = 0; i < CRD_MAX_VERSIONS; i++) {
		schema_free(st->lists[i]);
		schema_free(st->schemas[i]);
		free(st->cols[i]);
	}
	for (size_t i = 0; i < st->nstrs; i++)
		free(st->strs[i]);
	free(st->strs);
	cJSON_Delete(st->json);
	free(st->name);
	free(st->fingerprint);
	free(st);
}

/* ---- building the serving state of one CRD ---- */

static char *csv_of(const cJSON *arr)
{
	struct buf b = BUF_INIT;
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			buf_addf(&b, "%s%s", b.len ? "," : "", it->valuestring);
	return b.len ? buf_detach(&b, NULL) : NULL;
}

/* "stable.example.com" -> "com.example.stable" */
static char *reverse_group(const char *g)
{
	struct buf b = BUF_INIT;
	const char *end = g + strlen(g);

	while (end > g) {
		const char *dot = end;

		while (dot > g && dot[-1] != '.')
			dot--;
		if (b.len)
			buf_addch(&b, '.');
		buf_add(&b, dot, (size_t)(end - dot));
		end = dot > g ? dot - 1 : g;
	}
	return buf_detach(&b, NULL);
}

extern cJSON *crd__cell(const struct table_printer *p, size_t col, const cJSON *obj, int64_t now);

static const char name_desc[] = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.";

static void build_printer(struct crd_state *st, size_t vi, struct crd_version *cv,
			  const cJSON *ver)
{
	const cJSON *cols = json_get(ver, "additionalPrinterColumns"), *it;
	size_t n = (size_t)cJSON_GetArraySize(cols), k = 0;
	struct table_col *c = xcalloc(n + 2, sizeof(*c));

	cv->col_paths[k] = ".metadata.name";
	c[k++] = (struct table_col){ "Name", "string", "name", name_desc, 0, NULL };
	cJSON_ArrayForEach(it, cols) {
		if (k > CRD_MAX_COLUMNS)
			break;
		cv->col_paths[k] = json_get_str(it, "jsonPath", "");
		c[k++] = (struct table_col){
			json_get_str(it, "name", ""), json_get_str(it, "type", "string"),
			json_get_str(it, "format", ""), json_get_str(it, "description", ""),
			(int)json_get_int(it, "priority", 0), NULL,
		};
	}
	if (!n) {
		cv->col_paths[k] = ".metadata.creationTimestamp";
		c[k++] = (struct table_col){ "Age", "date", "", "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.", 0, NULL };
	}
	st->cols[vi] = c;
	cv->printer = (struct table_printer){ cv->row.group, cv->row.plural, c, k, NULL, crd__cell };
}

static void build_subresources(struct crd_state *st, size_t vi, struct crd_version *cv,
			       const cJSON *subs)
{
	static const unsigned verbs = SCHEMA_VERB_GET | SCHEMA_VERB_UPDATE | SCHEMA_VERB_PATCH;
	const cJSON *scale = json_get(subs, "scale");
	size_t n = 0;
	struct buf b = BUF_INIT;

	if (json_get(subs, "status")) {
		st->subs[vi][n++] = (struct schema_subresource){ "status", verbs,
			{ cv->row.group, cv->row.version, cv->row.kind }, st->schemas[vi] };
		buf_addstr(&b, "status");
		cv->row.has_status = true;
	}
	if (scale) {
		st->subs[vi][n++] = (struct schema_subresource){ "scale", verbs,
			{ "autoscaling", "v1", "Scale" },
			schema_def_lookup(gen_defs, gen_ndefs, "io.k8s.api.autoscaling.v1.Scale") };
		buf_addf(&b, "%sscale", b.len ? "," : "");
		cv->spec_replicas = json_get_str(scale, "specReplicasPath", ".spec.replicas");
		cv->status_replicas = json_get_str(scale, "statusReplicasPath", ".status.replicas");
		cv->label_selector = json_get_str(scale, "labelSelectorPath", NULL);
	}
	cv->row.subresources = b.len ? own(st, buf_detach(&b, NULL)) : NULL;
	cv->openapi.subresources = st->subs[vi];
	cv->openapi.nsubresources = n;
}

/* Names the version's schema "<reversed group>.<version>.<Kind>", makes its
 * list kind, and fills what /openapi/v3 serves for it. */
static void build_openapi(struct crd_state *st, size_t vi, struct crd_version *cv,
			  const struct schema *list_meta)
{
	const struct api_resource *r = &cv->row;

	if (cv->schema) {
		char *rg = reverse_group(r->group);
		char *id = own(st, xasprintf("%s.%s.%s", rg, r->version, r->kind));
		char *lid = own(st, xasprintf("%sList", id));
		struct schema_gvk lg = { r->group, r->version, r->list_kind };

		free(rg);
		schema_set_identity(st->schemas[vi], id, r->group, r->version, r->kind);
		st->lists[vi] = schema_new_list(lid, &lg, st->schemas[vi], list_meta);
	}
	cv->openapi.gvk = (struct schema_gvk){ r->group, r->version, r->kind };
	cv->openapi.plural = r->plural;
	cv->openapi.list_kind = r->list_kind;
	cv->openapi.namespaced = r->namespaced;
	cv->openapi.verbs = VERBS_ALL | SCHEMA_RES_NO_STRATEGIC;
	cv->openapi.schema = cv->schema;
	cv->openapi.list_schema = st->lists[vi];
}

static struct crd_state *state_build(const cJSON *obj, const char *fingerprint, bool terminating)
{
	struct crd_state *st = xcalloc(1, sizeof(*st));
	const cJSON *spec, *names, *ver;
	const struct schema *list_meta;
	const char *storage = NULL, *group, *shorts, *cats;
	size_t vi = 0;

	st->json = cJSON_Duplicate(obj, 1);
	st->name = xstrdup(json_get_str(json_get(obj, "metadata"), "name", ""));
	st->fingerprint = xstrdup(fingerprint);
	spec = json_get(st->json, "spec");
	names = json_get(spec, "names");
	group = json_get_str(spec, "group", "");
	list_meta = schema_def_lookup(gen_defs, gen_ndefs, "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta");
	shorts = own(st, csv_of(json_get(names, "shortNames")));
	cats = own(st, csv_of(json_get(names, "categories")));
	cJSON_ArrayForEach(ver, json_get(spec, "versions"))
		if (json_get_bool(ver, "storage", false))
			storage = json_get_str(ver, "name", "");
	cJSON_ArrayForEach(ver, json_get(spec, "versions")) {
		const cJSON *sch = json_path(ver, "schema.openAPIV3Schema");
		struct crd_version *cv;
		const char *vname = json_get_str(ver, "name", "");

		if (vi == CRD_MAX_VERSIONS)
			break;
		if (sch && schema_parse(sch, &st->schemas[vi], NULL))
			log_warn("crd %s: schema of %s does not parse", st->name, vname);
		if (!json_get_bool(ver, "served", false)) {
			vi++;
			continue;
		}
		cv = &st->v[st->nv++];
		cv->crd = st;
		cv->row = (struct api_resource){
			group, vname, json_get_str(names, "kind", ""), json_get_str(names, "plural", ""),
			json_get_str(names, "singular", ""), shorts, cats,
			!strcmp(json_get_str(spec, "scope", ""), "Namespaced"), VERBS_ALL, NULL, NULL,
			NAME_DNS1123_SUBDOMAIN, false, NULL,
			json_get_str(names, "listKind", NULL), cv,
		};
		if (!cv->row.list_kind)
			cv->row.list_kind = own(st, xasprintf("%sList", cv->row.kind));
		cv->storage_version = storage ? storage : vname;
		cv->terminating = terminating;
		cv->schema = st->schemas[vi];
		cv->selectable = json_get(ver, "selectableFields");
		if (json_get_bool(ver, "deprecated", false))
			cv->warning = json_get_str(ver, "deprecationWarning", NULL) ?
				json_get_str(ver, "deprecationWarning", NULL) :
				own(st, xasprintf("%s/%s %s is deprecated", group, vname, cv->row.kind));
		build_subresources(st, vi, cv, json_get(ver, "subresources"));
		build_printer(st, vi, cv, ver);
		build_openapi(st, vi, cv, list_meta);
		vi++;
	}
	/* the storage version's schema, served or not */
	vi = 0;
	cJSON_ArrayForEach(ver, json_get(spec, "versions")) {
		if (vi < CRD_MAX_VERSIONS && storage && !strcmp(json_get_str(ver, "name", ""), storage))
			for (size_t i = 0; i < st->nv; i++)
				st->v[i].storage_schema = st->schemas[vi];
		vi++;
	}
	return st;
}

static void state_retire(struct crd_state *st)
{
	for (size_t i = 0; i < st->nv; i++) {
		registry_remove(&st->v[i].row);
		watch_close_resource(crd.s, &st->v[i].row);
	}
	st->next = crd.retired;
	crd.retired = st;
}

size_t crd_openapi_resources(const char *path, const struct schema_resource **out,
			     size_t max)
{
	size_t n = 0;

	for (struct crd_state *st = crd.active; st; st = st->next)
		for (size_t i = 0; i < st->nv && n < max; i++) {
			char *p = xasprintf("apis/%s/%s", st->v[i].row.group, st->v[i].row.version);

			if (!strcmp(p, path) && st->v[i].schema && registry_find(st->v[i].row.group,
						st->v[i].row.version, st->v[i].row.plural) == &st->v[i].row)
				out[n++] = &st->v[i].openapi;
			free(p);
		}
	return n;
}

/* ---- names and conditions ---- */

struct accepted {
	const char *group;
	const cJSON *names;
};

static bool in_names(const char *s, const cJSON *names, bool kinds)
{
	const cJSON *it;

	if (!s || !*s)
		return false;
	if (kinds)
		return !strcmp(s, json_get_str(names, "kind", "")) ||
		       !strcmp(s, json_get_str(names, "listKind", ""));
	if (!strcmp(s, json_get_str(names, "plural", "")) ||
	    !strcmp(s, json_get_str(names, "singular", "")))
		return true;
	cJSON_ArrayForEach(it, json_get(names, "shortNames"))
		if (cJSON_IsString(it) && !strcmp(s, it->valuestring))
			return true;
	return false;
}

/* NULL when names conflict with no accepted CRD of the group, else the
 * reason; *what gets the name in conflict. */
static const char *conflict(const char *group, const cJSON *names, const struct accepted *acc,
			    size_t nacc, const char **what)
{
	for (size_t i = 0; i < nacc; i++) {
		const cJSON *o = acc[i].names, *it;

		if (strcmp(acc[i].group, group))
			continue;
		if (in_names((*what = json_get_str(names, "plural", "")), o, false))
			return "PluralConflict";
		if (in_names((*what = json_get_str(names, "singular", "")), o, false))
			return "SingularConflict";
		cJSON_ArrayForEach(it, json_get(names, "shortNames"))
			if (cJSON_IsString(it) && in_names((*what = it->valuestring), o, false))
				return "ShortNamesConflict";
		if (in_names((*what = json_get_str(names, "kind", "")), o, true))
			return "KindConflict";
		if (in_names((*what = json_get_str(names, "listKind", "")), o, true))
			return "ListKindConflict";
	}
	return NULL;
}

static const cJSON *find_cond(const cJSON *status, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_get(status, "conditions"))
		if (!strcmp(json_get_str(c, "type", ""), type))
			return c;
	return NULL;
}

/* Sets condition type in status, keeping its transition time when its
 * status does not change. */
static void set_cond(cJSON *status, const cJSON *old_status, const char *type, const char *st,
		     const char *reason, const char *msg)
{
	cJSON *conds = json_get(status, "conditions"), *c = cJSON_CreateObject();
	const cJSON *old = find_cond(old_status, type);
	char ts[RFC3339_MAX];

	if (!cJSON_IsArray(conds)) {
		conds = cJSON_CreateArray();
		json_set(status, "conditions", conds);
	}
	json_set_str(c, "type", type);
	json_set_str(c, "status", st);
	if (old && !strcmp(json_get_str(old, "status", ""), st) && json_get(old, "lastTransitionTime")) {
		json_set_str(c, "lastTransitionTime", json_get_str(old, "lastTransitionTime", ""));
	} else {
		rfc3339_format((int64_t)wall_ns() / 1000000000 * 1000000000, ts);
		json_set_str(c, "lastTransitionTime", ts);
	}
	json_set_str(c, "reason", reason);
	json_set_str(c, "message", msg);
	cJSON_AddItemToArray(conds, c);
}

/* The status obj should have; sets *accepted when its names are. */
static cJSON *desired_status(const cJSON *obj, const struct accepted *acc, size_t nacc,
			     bool *accepted)
{
	const cJSON *spec = json_get(obj, "spec"), *names = json_get(spec, "names");
	const cJSON *old = json_get(obj, "status"), *ver, *term;
	cJSON *st = cJSON_CreateObject(), *stored = cJSON_CreateArray(), *it;
	const char *what = NULL, *why = conflict(json_get_str(spec, "group", ""), names, acc, nacc, &what);
	char *msg;

	*accepted = !why;
	if (why) {
		msg = xasprintf("\"%s\" is already in use", what);
		set_cond(st, old, "NamesAccepted", "False", why, msg);
		set_cond(st, old, "Established", "False", "NotAccepted", "not all names are accepted");
		free(msg);
		json_set(st, "acceptedNames", json_get(old, "acceptedNames") ?
			 cJSON_Duplicate(json_get(old, "acceptedNames"), 1) :
			 cJSON_Parse("{\"plural\":\"\",\"kind\":\"\"}"));
	} else {
		set_cond(st, old, "NamesAccepted", "True", "NoConflicts", "no conflicts found");
		set_cond(st, old, "Established", "True", "InitialNamesAccepted",
			 "the initial names have been accepted");
		json_set(st, "acceptedNames", cJSON_Duplicate(names, 1));
	}
	if ((term = find_cond(old, "Terminating")))
		cJSON_AddItemToArray(json_get(st, "conditions"), cJSON_Duplicate(term, 1));
	cJSON_ArrayForEach(it, json_get(old, "storedVersions"))
		cJSON_AddItemToArray(stored, cJSON_Duplicate(it, 1));
	cJSON_ArrayForEach(ver, json_get(spec, "versions")) {
		const char *v = json_get_str(ver, "name", "");
		bool have = false;

		if (!json_get_bool(ver, "storage", false))
			continue;
		cJSON_ArrayForEach(it, stored)
			have |= cJSON_IsString(it) && !strcmp(it->valuestring, v);
		if (!have)
			cJSON_AddItemToArray(stored, cJSON_CreateString(v));
	}
	json_set(st, "storedVersions", stored);
	return st;
}

/* ---- writes ---- */

static void schedule(uint64_t ms);
static void crd_watch_from(int64_t rev);

static void write_done(int err, int64_t rev, struct sobj *prev, void *ud)
{
	(void)rev;
	(void)prev;
	if (err && err != -ECANCELED && err != -ENOENT) {
		log_warn("crd %s: write failed: %s", ud ? (char *)ud : "", strerror(-err));
		crd.failed = true;
	}
	free(ud);
	if (--crd.inflight == 0) {
		schedule(crd.failed ? CRD_RETRY_MS : 0);
		crd.failed = false;
	}
}

static void put(const char *key, const cJSON *obj, int64_t rev)
{
	char *v = json_print(obj);

	crd.inflight++;
	storage_update(crd.s, key, v, strlen(v), rev, write_done, xstrdup(key));
	free(v);
}

static void del(const char *key, int64_t rev)
{
	crd.inflight++;
	storage_delete(crd.s, key, rev, write_done, xstrdup(key));
}

static bool has_finalizer(const cJSON *obj, const char *f)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, json_path(obj, "metadata.finalizers"))
		if (cJSON_IsString(it) && !strcmp(it->valuestring, f))
			return true;
	return false;
}

/*
 * A CRD being deleted: delete its objects (those with finalizers are marked
 * and waited for), then drop the cleanup finalizer. Returns true while
 * objects remain.
 */
static bool cleanup(const char *key, cJSON *obj, int64_t rev)
{
	const cJSON *spec = json_get(obj, "spec");
	char *prefix = xasprintf("/registry/%s/%s/", json_get_str(spec, "group", ""),
				 json_path(spec, "names.plural") ?
				 json_get_str(json_get(spec, "names"), "plural", "") : "");
	struct slist l = { 0 };
	cJSON *fin, *it;
	size_t left = 0;

	if (!has_finalizer(obj, CRD_CLEANUP_FINALIZER)) {
		free(prefix);
		return false;
	}
	if (!storage_list(crd.s, prefix, 0, "", 0, &l)) {
		for (size_t i = 0; i < l.n; i++) {
			cJSON *o = json_parse(l.items[i].value, l.items[i].len);

			left++;
			if (o && meta_has_finalizers(o)) {
				if (!json_path(o, "metadata.deletionTimestamp")) {
					meta_mark_deleted(o, (int64_t)wall_ns(), 0);
					put(l.items[i].key, o, l.items[i].mod_rev);
				}
			} else {
				del(l.items[i].key, l.items[i].mod_rev);
			}
			cJSON_Delete(o);
		}
		slist_release(&l);
	}
	free(prefix);
	if (left)
		return true;
	fin = json_path(obj, "metadata.finalizers");
	for (it = fin ? fin->child : NULL; it; it = it->next)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, CRD_CLEANUP_FINALIZER)) {
			cJSON_Delete(cJSON_DetachItemViaPointer(fin, it));
			break;
		}
	if (cJSON_GetArraySize(fin))
		put(key, obj, rev);
	else
		del(key, rev);
	log_info("customresourcedefinition %s: objects deleted", json_path(obj, "metadata.name") ?
		 json_get_str(json_get(obj, "metadata"), "name", "") : "");
	return false;
}

/* ---- reconcile ---- */

struct item {
	struct sobj *so;
	cJSON *obj;
	bool established;	/* already, in the stored status */
};

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	const cJSON *mx = json_get(x->obj, "metadata"), *my = json_get(y->obj, "metadata");
	int c;

	if (x->established != y->established)
		return x->established ? -1 : 1;
	c = strcmp(json_get_str(mx, "creationTimestamp", ""), json_get_str(my, "creationTimestamp", ""));
	return c ? c : strcmp(json_get_str(mx, "name", ""), json_get_str(my, "name", ""));
}

static struct crd_state *active_find(const char *name, struct crd_state ***link)
{
	for (struct crd_state **p = &crd.active; *p; p = &(*p)->next)
		if (!strcmp((*p)->name, name)) {
			*link = p;
			return *p;
		}
	return NULL;
}

/* Serves obj (Established) with state built anew when its content changed. */
static bool serve(const cJSON *obj, bool terminating)
{
	const char *name = json_get_str(json_get(obj, "metadata"), "name", "");
	char *spec = json_print(json_get(obj, "spec"));
	char *fp = xasprintf("%d|%s", terminating, spec);
	struct crd_state **link = NULL, *st = active_find(name, &link), *nst;
	bool changed = false;

	if (st)
		st->seen = true;
	if (!st || strcmp(st->fingerprint, fp)) {
		nst = state_build(obj, fp, terminating);
		if (st) {
			*link = st->next;
			state_retire(st);
		}
		for (size_t i = 0; i < nst->nv; i++)
			registry_add(&nst->v[i].row);
		nst->seen = true;
		nst->next = crd.active;
		crd.active = nst;
		changed = true;
	}
	free(spec);
	free(fp);
	return changed;
}

/* CRDs gone or no longer accepted stop being served; true when any did. */
static bool retire_unseen(void)
{
	struct crd_state **p = &crd.active;
	bool changed = false;

	while (*p) {
		struct crd_state *st = *p;

		if (!st->seen) {
			*p = st->next;
			state_retire(st);
			changed = true;
		} else {
			p = &st->next;
		}
	}
	return changed;
}

static void reconcile(void)
{
	struct slist l = { 0 };
	struct item *items;
	struct accepted *acc;
	size_t nacc = 0;
	bool changed = false, retry = false;
	int64_t rev;

	if (storage_list(crd.s, CRD_PREFIX, 0, "", 0, &l)) {
		schedule(CRD_RETRY_MS);
		return;
	}
	rev = l.rev;
	for (struct crd_state *p = crd.active; p; p = p->next)
		p->seen = false;
	items = xcalloc(l.n + 1, sizeof(*items));
	acc = xcalloc(l.n + 1, sizeof(*acc));
	for (size_t i = 0; i < l.n; i++) {
		const cJSON *e;

		items[i].so = &l.items[i];
		items[i].obj = json_parse(l.items[i].value, l.items[i].len);
		if (!items[i].obj)
			items[i].obj = cJSON_CreateObject();
		e = find_cond(json_get(items[i].obj, "status"), "Established");
		items[i].established = e && !strcmp(json_get_str(e, "status", ""), "True");
	}
	qsort(items, l.n, sizeof(*items), item_cmp);
	for (size_t i = 0; i < l.n; i++) {
		cJSON *obj = items[i].obj;
		bool ok, terminating = json_path(obj, "metadata.deletionTimestamp") != NULL;
		cJSON *want = desired_status(obj, acc, nacc, &ok);

		if (ok) {
			acc[nacc].group = json_get_str(json_get(obj, "spec"), "group", "");
			acc[nacc++].names = json_path(obj, "spec.names");
			changed |= serve(obj, terminating);
		}
		if (!crd.inflight && !json_equal(want, json_get(obj, "status"))) {
			cJSON *copy = cJSON_Duplicate(obj, 1);

			json_set(copy, "status", want);
			want = NULL;
			put(items[i].so->key, copy, items[i].so->mod_rev);
			cJSON_Delete(copy);
		} else if (terminating && !crd.inflight) {
			retry |= cleanup(items[i].so->key, obj, items[i].so->mod_rev);
		}
		cJSON_Delete(want);
	}
	if (retire_unseen() || changed)
		crd.generation++;
	for (size_t i = 0; i < l.n; i++)
		cJSON_Delete(items[i].obj);
	free(items);
	free(acc);
	slist_release(&l);
	if (!crd.watch)
		crd_watch_from(rev);
	if (retry)
		schedule(CRD_RETRY_MS);
}

/* ---- the watch and the timer ---- */

static void on_timer(uv_timer_t *t)
{
	(void)t;
	reconcile();
}

static void schedule(uint64_t ms)
{
	if (!crd.started)
		return;
	if (ms == 0 || !uv_is_active((uv_handle_t *)&crd.timer) ||
	    uv_timer_get_due_in(&crd.timer) > ms)
		uv_timer_start(&crd.timer, on_timer, ms, 0);
}

static void on_event(const struct sevent *ev, void *ud)
{
	(void)ev;
	(void)ud;
	schedule(0);
}

static void on_error(int err, void *ud)
{
	(void)ud;
	log_warn("crd watch ended (%s); listing again", strerror(-err));
	crd.watch = NULL;
	schedule(CRD_RETRY_MS);
}

static void crd_watch_from(int64_t rev)
{
	static const struct swatch_cbs cbs = { on_event, on_error };

	if (storage_watch(crd.s, CRD_PREFIX, rev, &cbs, NULL, &crd.watch)) {
		crd.watch = NULL;
		schedule(CRD_RETRY_MS);
	}
}

int crd_start(struct apiserver *s)
{
	crd.s = s;
	uv_timer_init(s->loop, &crd.timer);
	crd.started = true;
	reconcile();
	return 0;
}

void crd_stop(void)
{
	if (crd.watch)
		storage_watch_cancel(crd.watch);
	crd.watch = NULL;
	if (crd.started && !uv_is_closing((uv_handle_t *)&crd.timer))
		uv_close((uv_handle_t *)&crd.timer, NULL);
	crd.started = false;
}

void crd_release(void)
{
	struct crd_state *st, *next;

	for (st = crd.active; st; st = next) {
		next = st->next;
		for (size_t i = 0; i < st->nv; i++)
			registry_remove(&st->v[i].row);
		state_free(st);
	}
	for (st = crd.retired; st; st = next) {
		next = st->next;
		state_free(st);
	}
	crd.active = crd.retired = NULL;
}
