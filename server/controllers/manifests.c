/*
 * server/controllers/manifests.c - auto-deployed manifests: YAML/JSON files
 * in <data-dir>/server/manifests/ are applied at start and whenever they
 * change; the objects a file made are deleted when the file goes (unless
 * --keep-removed-manifests), and objects dropped from a file are deleted.
 *
 * Apply = create, or on AlreadyExists a JSON merge patch of the file's
 * object (without status) onto the live one. Every applied object carries
 * the annotation k1s.io/manifest: <file>. What each file made is recorded in
 * <data-dir>/server/manifests.state.json so removals survive restarts.
 * Per-file results go into ConfigMap kube-system/k1s-manifests (data:
 * file -> "applied N objects" or the error) and failures also become
 * Warning events on that ConfigMap (reason FailedApply): one bad file never
 * stops the others.
 *
 * Changes are noticed by inotify on the directory (uv_fs_event), debounced,
 * with a rescan every MF_RESCAN_MS as a fallback. Files are applied one at a
 * time, documents of a file concurrently.
 */
#include "ctrl_priv.h"
#include "../apiserver.h"
#include "../registry.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/yaml.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MF_DEBOUNCE_MS 300
#define MF_RESCAN_MS 10000
#define MF_FILE_MAX (4 << 20)		/* bytes of one manifest file */
#define MF_ANNOTATION "k1s.io/manifest"
#define MF_STATUS_CM "k1s-manifests"

struct mf_file {
	char *name;
	int64_t mtime_ns, size;
	cJSON *objs;		/* [{"g","v","p","ns","n"}] it made */
	bool seen;		/* present in the last scan */
};

static struct {
	struct apiserver *srv;
	char *dir, *state_path;
	bool keep_removed;
	struct mf_file *files;
	size_t n, alloc;
	uv_fs_event_t ev;
	uv_timer_t debounce, rescan;
	bool busy, dirty, started;
	/* the file being applied */
	struct mf_file *cur;
	cJSON *cur_objs;
	int pending;
	char *cur_err;
} mf;

static void scan(void);

/* ---- state ---- */

static void state_save(void)
{
	cJSON *st = cJSON_CreateObject();
	char *txt;

	for (size_t i = 0; i < mf.n; i++) {
		cJSON *f = cJSON_CreateObject();

		json_set_int(f, "mtime", mf.files[i].mtime_ns);
		json_set_int(f, "size", mf.files[i].size);
		json_set(f, "objects", cJSON_Duplicate(mf.files[i].objs, 1));
		json_set(st, mf.files[i].name, f);
	}
	txt = json_print(st);
	if (write_file_atomic(mf.state_path, txt, strlen(txt), 0600))
		log_warn("manifests: cannot write %s", mf.state_path);
	free(txt);
	cJSON_Delete(st);
}

static struct mf_file *file_get(const char *name)
{
	for (size_t i = 0; i < mf.n; i++)
		if (!strcmp(mf.files[i].name, name))
			return &mf.files[i];
	ALLOC_GROW(mf.files, mf.n + 1, mf.alloc);
	memset(&mf.files[mf.n], 0, sizeof(mf.files[0]));
	mf.files[mf.n].name = xstrdup(name);
	mf.files[mf.n].objs = cJSON_CreateArray();
	mf.files[mf.n].mtime_ns = -1;
	return &mf.files[mf.n++];
}

static void state_load(void)
{
	char *txt = NULL;
	size_t len = 0;
	cJSON *st, *f;

	if (read_file(mf.state_path, MF_FILE_MAX, &txt, &len))
		return;
	st = json_parse(txt, len);
	free(txt);
	cJSON_ArrayForEach(f, st) {
		struct mf_file *m = file_get(f->string);

		m->mtime_ns = json_get_int(f, "mtime", -1);
		m->size = json_get_int(f, "size", -1);
		if (cJSON_IsArray(json_get(f, "objects"))) {
			cJSON_Delete(m->objs);
			m->objs = cJSON_Duplicate(json_get(f, "objects"), 1);
		}
	}
	cJSON_Delete(st);
}

/* ---- status ConfigMap and events ---- */

static void ignore(int code, const cJSON *obj, void *ud)
{
	(void)code;
	(void)obj;
	(void)ud;
}

/* A merge patch of the status ConfigMap; retried on a write conflict. */
struct report {
	cJSON *patch;
	char *event;		/* Warning message, or NULL */
	int tries;
};

static void report_done(int code, const cJSON *obj, void *ud)
{
	struct report *r = ud;

	if (code == 409 && ++r->tries < 10) {
		api_internal_patch(mf.srv, "", "configmaps", "kube-system", MF_STATUS_CM, r->patch,
				   report_done, r);
		return;
	}
	if (r->event && obj && code < 300)
		ctrl_event(mf.srv, obj, "Warning", "FailedApply", "%s", r->event);
	cJSON_Delete(r->patch);
	free(r->event);
	free(r);
}

/* Sets (value) or removes (NULL) the file's entry in the status ConfigMap. */
static void report_set(const char *file, const char *value, char *event)
{
	struct report *r = xcalloc(1, sizeof(*r));

	r->patch = cJSON_CreateObject();
	if (value)
		json_set_str(json_obj(r->patch, "data"), file, value);
	else
		cJSON_AddNullToObject(json_obj(r->patch, "data"), file);
	r->event = event;
	api_internal_patch(mf.srv, "", "configmaps", "kube-system", MF_STATUS_CM, r->patch,
			   report_done, r);
}

static void report(const char *file, const char *err, int n_objs)
{
	char *v = err ? xasprintf("error: %s", err) : xasprintf("applied %d objects", n_objs);

	report_set(file, v, err ? xasprintf("%s: %s", file, err) : NULL);
	free(v);
}

/* ---- applying one file ---- */

static cJSON *ref_new(const struct api_resource *r, const char *ns, const char *name)
{
	cJSON *o = cJSON_CreateObject();

	json_set_str(o, "g", r->group);
	json_set_str(o, "v", r->version);
	json_set_str(o, "p", r->plural);
	json_set_str(o, "ns", ns);
	json_set_str(o, "n", name);
	return o;
}

static bool ref_in(const cJSON *refs, const cJSON *ref)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, refs)
		if (json_equal(r, ref))
			return true;
	return false;
}

static void delete_ref(const cJSON *ref)
{
	api_internal_delete(mf.srv, json_get_str(ref, "g", ""), json_get_str(ref, "p", ""),
			    json_get_str(ref, "ns", ""), json_get_str(ref, "n", ""), NULL, ignore, NULL);
}

static void file_done(void)
{
	struct mf_file *f = mf.cur;
	const cJSON *r;

	/* objects the file no longer has */
	cJSON_ArrayForEach(r, f->objs)
		if (!ref_in(mf.cur_objs, r))
			delete_ref(r);
	cJSON_Delete(f->objs);
	f->objs = mf.cur_objs;
	report(f->name, mf.cur_err, cJSON_GetArraySize(f->objs));
	if (mf.cur_err)
		log_warn("manifests: %s: %s", f->name, mf.cur_err);
	else
		log_info("manifests: applied %s (%d objects)", f->name, cJSON_GetArraySize(f->objs));
	free(mf.cur_err);
	mf.cur_err = NULL;
	mf.cur_objs = NULL;
	mf.cur = NULL;
	state_save();
	mf.busy = false;
	if (mf.dirty)
		scan();
}

static void doc_error(char *msg)
{
	if (!mf.cur_err)
		mf.cur_err = msg;
	else
		free(msg);
}

struct apply {
	const struct api_resource *res;
	cJSON *obj;
	cJSON *ref;
	bool patched;
};

static void applied(int code, const cJSON *ans, void *ud)
{
	struct apply *a = ud;

	if (code == 409 && !a->patched) {
		const cJSON *meta = json_get(a->obj, "metadata");

		a->patched = true;
		cJSON_DeleteItemFromObjectCaseSensitive(a->obj, "status");
		api_internal_patch(mf.srv, a->res->group, a->res->plural,
				   json_get_str(meta, "namespace", ""), json_get_str(meta, "name", ""),
				   a->obj, applied, a);
		return;
	}
	if (code >= 200 && code < 300) {
		cJSON_AddItemToArray(mf.cur_objs, a->ref);
		a->ref = NULL;
	} else {
		if (ref_in(mf.cur->objs, a->ref)) {	/* keep what the last good version made */
			cJSON_AddItemToArray(mf.cur_objs, a->ref);
			a->ref = NULL;
		}
		doc_error(xasprintf("%s \"%s\": %s", a->res->kind,
				    json_get_str(json_get(a->obj, "metadata"), "name", ""),
				    json_get_str(ans, "message", "failed")));
	}
	cJSON_Delete(a->obj);
	cJSON_Delete(a->ref);
	free(a);
	if (--mf.pending == 0)
		file_done();
}

/* Starts applying one document; errors are recorded. */
static void apply_doc(const char *file, cJSON *doc)
{
	const char *av = json_get_str(doc, "apiVersion", ""), *kind = json_get_str(doc, "kind", "");
	const char *slash = strchr(av, '/'), *name;
	char *ns;
	char *group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
	const struct api_resource *r = registry_find_kind(group, slash ? slash + 1 : av, kind);
	cJSON *meta = json_get(doc, "metadata");
	struct apply *a;

	free(group);
	name = json_get_str(meta, "name", "");
	if (!r) {
		doc_error(xasprintf("no kind \"%s\" is served in version \"%s\"", kind, av));
		return;
	}
	if (!cJSON_IsObject(meta) || !*name) {
		doc_error(xasprintf("a %s without metadata.name", kind));
		return;
	}
	ns = xstrdup(r->namespaced ? json_get_str(meta, "namespace", "default") : "");
	if (r->namespaced)
		json_set_str(meta, "namespace", ns);
	json_set_str(json_obj(meta, "annotations"), MF_ANNOTATION, file);
	a = xcalloc(1, sizeof(*a));
	a->res = r;
	a->obj = cJSON_Duplicate(doc, 1);
	a->ref = ref_new(r, ns, name);
	mf.pending++;
	api_internal_create(mf.srv, r->group, r->plural, ns, a->obj, applied, a);
	free(ns);
}

static void apply_file(struct mf_file *f)
{
	char *path = xasprintf("%s/%s", mf.dir, f->name), *txt = NULL, *err = NULL;
	size_t len = 0;
	cJSON *docs = NULL, *d, *it;

	mf.busy = true;
	mf.cur = f;
	mf.cur_objs = cJSON_CreateArray();
	mf.pending = 1;		/* held until every document started */
	if (read_file(path, MF_FILE_MAX, &txt, &len))
		doc_error(xasprintf("cannot read the file: %s", strerror(errno)));
	else if (yaml_load_all(txt, len, YAML_TYPED, &docs, &err))
		doc_error(err);
	cJSON_ArrayForEach(d, docs) {
		if (!cJSON_IsObject(d)) {
			doc_error(xstrdup("a document is not an object"));
		} else if (str_has_suffix(json_get_str(d, "kind", ""), "List") &&
			   cJSON_IsArray(json_get(d, "items"))) {
			cJSON_ArrayForEach(it, json_get(d, "items"))
				apply_doc(f->name, it);
		} else {
			apply_doc(f->name, d);
		}
	}
	if (!docs) {	/* an unreadable file changes nothing: keep what it made */
		cJSON_Delete(mf.cur_objs);
		mf.cur_objs = cJSON_Duplicate(f->objs, 1);
	}
	cJSON_Delete(docs);
	free(txt);
	free(path);
	if (--mf.pending == 0)
		file_done();
}

/* ---- scanning ---- */

static bool manifest_name(const char *n)
{
	return n[0] != '.' && (str_has_suffix(n, ".yaml") || str_has_suffix(n, ".yml") ||
			       str_has_suffix(n, ".json"));
}

static void forget(size_t i)
{
	const cJSON *r;

	if (!mf.keep_removed)
		cJSON_ArrayForEach(r, mf.files[i].objs)
			delete_ref(r);
	log_info("manifests: %s removed%s", mf.files[i].name,
		 mf.keep_removed ? " (its objects are kept)" : ", deleting its objects");
	report_set(mf.files[i].name, NULL, NULL);
	free(mf.files[i].name);
	cJSON_Delete(mf.files[i].objs);
	mf.files[i] = mf.files[--mf.n];
}

static void scan(void)
{
	DIR *d;
	struct dirent *e;
	bool removed = false;

	if (mf.busy) {
		mf.dirty = true;
		return;
	}
	mf.dirty = false;
	for (size_t i = 0; i < mf.n; i++)
		mf.files[i].seen = false;
	d = opendir(mf.dir);
	while (d && (e = readdir(d))) {
		char *p;
		struct stat st;
		struct mf_file *f;

		if (!manifest_name(e->d_name))
			continue;
		p = xasprintf("%s/%s", mf.dir, e->d_name);
		if (stat(p, &st) || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		free(p);
		f = file_get(e->d_name);
		f->seen = true;
		if (!mf.busy && (f->mtime_ns != (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ||
				 f->size != st.st_size)) {
			f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
			f->size = st.st_size;
			apply_file(f);	/* may finish at once and rescan */
			if (mf.busy) {
				mf.dirty = true;	/* look again for the rest */
				f = NULL;
			}
		}
		if (!f)
			break;
	}
	if (d)
		closedir(d);
	if (mf.busy)
		return;
	for (size_t i = mf.n; i-- > 0;)
		if (!mf.files[i].seen) {
			forget(i);
			removed = true;
		}
	if (removed)
		state_save();
}

static void on_debounce(uv_timer_t *t)
{
	(void)t;
	scan();
}

static void on_fs_event(uv_fs_event_t *h, const char *name, int events, int status)
{
	(void)h;
	(void)events;
	(void)status;
	if (name && !manifest_name(name))
		return;
	uv_timer_start(&mf.debounce, on_debounce, MF_DEBOUNCE_MS, 0);
}

static void cm_ready(int code, const cJSON *obj, void *ud)
{
	(void)code;
	(void)obj;
	(void)ud;
	scan();
	uv_timer_start(&mf.rescan, on_debounce, MF_RESCAN_MS, MF_RESCAN_MS);
}

void manifests__start(struct ctrl_manager *m)
{
	struct apiserver *s = m->srv;
	cJSON *cm;

	mf.srv = s;
	mf.keep_removed = s->cfg->keep_removed_manifests;
	mf.dir = xasprintf("%s/server/manifests", s->cfg->data_dir);
	mf.state_path = xasprintf("%s/server/manifests.state.json", s->cfg->data_dir);
	if (mkdir_p(mf.dir, 0700))
		log_warn("manifests: cannot create %s", mf.dir);
	state_load();
	uv_timer_init(s->loop, &mf.debounce);
	uv_timer_init(s->loop, &mf.rescan);
	uv_fs_event_init(s->loop, &mf.ev);
	if (uv_fs_event_start(&mf.ev, on_fs_event, mf.dir, 0))
		log_warn("manifests: no change notification on %s; rescanning every %d s", mf.dir,
			 MF_RESCAN_MS / 1000);
	mf.started = true;
	cm = cJSON_CreateObject();
	json_set_str(cm, "apiVersion", "v1");
	json_set_str(cm, "kind", "ConfigMap");
	json_set_str(json_obj(cm, "metadata"), "name", MF_STATUS_CM);
	json_set_str(json_obj(cm, "metadata"), "namespace", "kube-system");
	api_internal_create(s, "", "configmaps", "kube-system", cm, cm_ready, NULL);
	cJSON_Delete(cm);
}

void manifests__stop(void)
{
	if (!mf.started)
		return;
	uv_close((uv_handle_t *)&mf.ev, NULL);
	uv_close((uv_handle_t *)&mf.debounce, NULL);
	uv_close((uv_handle_t *)&mf.rescan, NULL);
	for (size_t i = 0; i < mf.n; i++) {
		free(mf.files[i].name);
		cJSON_Delete(mf.files[i].objs);
	}
	free(mf.files);
	free(mf.dir);
	free(mf.state_path);
	memset(&mf, 0, sizeof(mf));
}
