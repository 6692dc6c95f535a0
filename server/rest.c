/*
 * server/rest.c - get, create, update, patch and delete of one object, the
 * generic path every kind takes (hooks in the registry row are where kinds
 * differ). Writes run as a small state machine in struct wctx: prepare the
 * new object, hand it to the store, answer when it is durable.
 */
#include "apiserver.h"
#include "meta.h"
#include "convert.h"
#include "crd.h"
#include "objcheck.h"
#include "pods.h"
#include "satoken.h"
#include "proto.h"
#include "storage.h"
#include "controllers/controllers.h"
#include "lib/json.h"
#include "lib/jsonpatch.h"
#include "lib/mergepatch.h"
#include "lib/smp.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PATCH_RETRIES 64	/* patches without a resourceVersion retry on conflict (upstream: unbounded) */

enum wop { W_CREATE, W_UPDATE, W_DELETE };

struct wctx {
	struct api_call *c;
	enum wop op;
	cJSON *obj;		/* what is written (or, for delete, what is answered) */
	int code;		/* HTTP code on success */
	bool retry;		/* a patch without a resourceVersion: re-apply on conflict */
	bool remove_after;
	uint64_t submitted_ns;	/* when the write went to the store */	/* update cleared the last finalizer: delete next */
};

/* Answers an error and ends the call. */
static void fail(struct api_call *c, struct api_error *e)
{
	api_respond_error(c, e);
	api_call_free(c);
}

static char *obj_key(struct api_call *c, const cJSON *obj)
{
	const cJSON *meta = json_get(obj, "metadata");

	return api_key(c->res, json_get_str(meta, "namespace", ""), json_get_str(meta, "name", ""));
}

static const char *ns_of(struct api_call *c)
{
	return c->res->namespaced ? c->route.ns : "";
}

static int load(struct api_call *c, const char *name, cJSON **out, int64_t *rev,
		struct api_error *e)
{
	char *key = api_key(c->res, ns_of(c), name);
	struct sobj o = { 0 };
	int r = storage_get(c->srv, key, &o);

	free(key);
	if (r == -ENOENT) {
		api_error_not_found(e, c->res->group, c->res->plural, name);
		return r;
	}
	if (r) {
		api_error_set(e, STATUS_INTERNAL_ERROR, "storage read failed: %s", strerror(-r));
		return r;
	}
	*out = api_decode_as(c->res, o.value, o.len, o.mod_rev);
	*rev = o.mod_rev;
	sobj_release(&o);
	if (!*out) {
		api_error_set(e, STATUS_INTERNAL_ERROR, "stored object is not valid JSON");
		return -EIO;
	}
	return 0;
}

/* ---- scale subresource (autoscaling/v1 Scale) ---- */

static cJSON *scale_of_builtin(const cJSON *obj)
{
	cJSON *s = cJSON_CreateObject(), *meta = json_obj(s, "metadata");
	const cJSON *om = json_get(obj, "metadata"), *sel;
	const char *keys[] = { "name", "namespace", "uid", "resourceVersion", "creationTimestamp" };

	json_set_str(s, "kind", "Scale");
	json_set_str(s, "apiVersion", "autoscaling/v1");
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (json_get(om, keys[i]))
			json_set(meta, keys[i], cJSON_Duplicate(json_get(om, keys[i]), 1));
	json_set_int(json_obj(s, "spec"), "replicas", json_get_int(json_get(obj, "spec"), "replicas", 1));
	json_set_int(json_obj(s, "status"), "replicas", json_get_int(json_get(obj, "status"), "replicas", 0));
	sel = json_path(obj, "spec.selector.matchLabels");
	if (!sel)
		sel = json_path(obj, "spec.selector");
	if (cJSON_IsObject(sel) && sel->child && cJSON_IsString(sel->child)) {
		struct buf b = BUF_INIT;
		const cJSON *kv;

		cJSON_ArrayForEach(kv, sel)
			if (cJSON_IsString(kv))
				buf_addf(&b, "%s%s=%s", b.len ? "," : "", kv->string, kv->valuestring);
		json_set_str(json_obj(s, "status"), "selector", buf_str(&b));
		buf_release(&b);
	}
	return s;
}

static cJSON *scale_of(struct api_call *c, const cJSON *obj)
{
	return c->res->crd ? crd_scale_of(c->res, obj) : scale_of_builtin(obj);
}

void rest_get(struct api_call *c)
{
	struct api_error e = { 0 };
	cJSON *obj;
	int64_t rev;

	if (load(c, c->route.name, &obj, &rev, &e)) {
		fail(c, &e);
		return;
	}
	if (!strcmp(c->route.sub, "scale")) {
		cJSON *s = scale_of(c, obj);

		api_respond_json(c, 200, s);
		cJSON_Delete(s);
	} else {
		api_respond_object(c, 200, obj);
	}
	cJSON_Delete(obj);
	api_call_free(c);
}

/* ---- writes ---- */

static void wctx_free(struct wctx *w)
{
	cJSON_Delete(w->obj);
	api_call_free(w->c);
	free(w);
}

static const char *const head_fields[] = { "metadata", "kind", "apiVersion" };

/* The bytes stored for obj: in the storage version, without resourceVersion. */
static int store_value(struct api_call *c, const cJSON *obj, struct buf *b)
{
	cJSON *copy = cJSON_Duplicate(obj, 1);

	if (c->res->crd)
		crd_to_storage(c->res, copy);
	else if (convert_to_storage(copy, c->res->group, c->res->plural)) {
		cJSON_Delete(copy);
		return -EINVAL;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(json_get(copy, "metadata"), "resourceVersion");
	/* apiVersion, kind, metadata first: list.c's fast path relies on it */
	for (size_t i = 0; i < ARRAY_SIZE(head_fields); i++) {
		cJSON *it = cJSON_DetachItemFromObjectCaseSensitive(copy, head_fields[i]);

		if (it)
			cJSON_InsertItemInArray(copy, 0, it);
	}
	json_print_buf(copy, b);
	cJSON_Delete(copy);
	return 0;
}

static void set_rv(cJSON *obj, int64_t rev)
{
	char s[24];

	snprintf(s, sizeof(s), "%lld", (long long)rev);
	json_set_str(json_obj(obj, "metadata"), "resourceVersion", s);
}

static void write_start(struct wctx *w, int64_t expected);

static void write_done(int err, int64_t rev, struct sobj *prev, void *ud)
{
	struct wctx *w = ud;
	struct api_call *c = w->c;
	struct api_error e = { 0 };
	const char *name = json_get_str(json_get(w->obj, "metadata"), "name", "");

	objcheck_write_done(c, err);
	c->srv->metrics.store_writes++;
	c->srv->metrics.store_latency_us_sum += (mono_ns() - w->submitted_ns) / 1000;
	if (err == -ECANCELED && w->retry && c->write_retries < PATCH_RETRIES) {
		/* someone wrote in between: patch the newer object, as upstream does */
		c->write_retries++;
		cJSON_Delete(w->obj);
		free(w);
		rest_patch(c);
		return;
	}
	if (err == -EEXIST) {
		api_error_already_exists(&e, c->res->group, c->res->plural, name);
	} else if (err == -ENOENT) {
		api_error_not_found(&e, c->res->group, c->res->plural, name);
	} else if (err == -ECANCELED) {
		api_error_conflict(&e, c->res->group, c->res->plural, name);
	} else if (err == -EBADMSG) {
		api_error_set(&e, STATUS_BAD_REQUEST, "the object cannot be converted to its storage version");
	} else if (err == -EFBIG) {
		api_error_set(&e, STATUS_REQUEST_ENTITY_TOO_LARGE, "etcdserver: request is too large");
	} else if (err) {
		api_error_set(&e, STATUS_INTERNAL_ERROR, "storage write failed: %s", strerror(-err));
	}
	if (e.message) {
		api_respond_error(c, &e);
		wctx_free(w);
		return;
	}
	if (w->op == W_DELETE) {
		/* answer the object as it was, with the deletion's revision */
		if (prev && prev->value) {
			cJSON_Delete(w->obj);
			w->obj = api_decode_as(c->res, prev->value, prev->len, rev);
		}
	}
	if (w->obj)
		set_rv(w->obj, rev);
	if (w->op == W_CREATE && !strcmp(c->res->kind, "Namespace") && !*c->res->group)
		api_namespace_created(c->srv, name);
	if (w->remove_after) {
		w->remove_after = false;
		w->op = W_DELETE;
		w->code = 200;
		write_start(w, rev);
		return;
	}
	if (!strcmp(c->route.sub, "scale")) {
		cJSON *sc = scale_of(c, w->obj);

		api_respond_json(c, w->code, sc);
		cJSON_Delete(sc);
	} else {
		api_respond_object(c, w->code, w->obj);
	}
	wctx_free(w);
}

static void write_start(struct wctx *w, int64_t expected)
{
	struct api_call *c = w->c;
	char *key = obj_key(c, w->obj);
	struct buf b = BUF_INIT;

	if (c->dry_run) {
		objcheck_write_done(c, 0);	/* gives dry-run allocations back */
		if (expected)
			set_rv(w->obj, expected);
		api_respond_object(c, w->code, w->obj);
		free(key);
		wctx_free(w);
		return;
	}
	w->submitted_ns = mono_ns();
	if (w->op != W_DELETE && store_value(c, w->obj, &b)) {
		free(key);
		write_done(-EBADMSG, 0, NULL, w);
		return;
	}
	switch (w->op) {
	case W_CREATE:
		storage_create(c->srv, key, b.data, b.len, write_done, w);
		break;
	case W_UPDATE:
		storage_update(c->srv, key, b.data, b.len, expected, write_done, w);
		break;
	case W_DELETE:
		storage_delete(c->srv, key, expected, write_done, w);
		break;
	}
	buf_release(&b);
	free(key);
}

static cJSON *parse_body(struct api_call *c, struct api_error *e)
{
	const char *end = NULL;
	cJSON *obj;

	if (!c->req->body.len) {
		api_error_set(e, STATUS_BAD_REQUEST, "the body of the request is empty");
		return NULL;
	}
	if (proto_is_media_type(http_request_header(c->req, "Content-Type"))) {
		char *err = NULL;

		/* kubectl >= 1.32 sends typed objects as Kubernetes protobuf */
		if (proto_decode_object(c->req->body.data, c->req->body.len, &obj, &err)) {
			api_error_set(e, STATUS_BAD_REQUEST, "%s", err ? err : "invalid protobuf body");
			free(err);
			return NULL;
		}
		return obj;
	}
	obj = json_parse_end(c->req->body.data, c->req->body.len, &end);
	if (!obj) {
		api_error_set(e, STATUS_BAD_REQUEST,
			      "couldn't get version/kind; json parse error: invalid character at offset %ld",
			      end ? (long)(end - c->req->body.data) : 0L);
		return NULL;
	}
	if (!cJSON_IsObject(obj)) {
		api_error_set(e, STATUS_BAD_REQUEST,
			      "couldn't get version/kind; json parse error: json: cannot unmarshal non-object into Go value of type struct");
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

static int check_namespace(struct api_call *c, struct api_error *e)
{
	char *key;
	struct sobj o = { 0 };
	cJSON *ns;
	int r;

	if (!c->res->namespaced)
		return 0;
	key = api_key(registry_find("", "v1", "namespaces"), "", c->route.ns);
	r = storage_get(c->srv, key, &o);
	free(key);
	if (r) {
		api_error_not_found(e, "", "namespaces", c->route.ns);
		return -ENOENT;
	}
	ns = api_decode(o.value, o.len, o.mod_rev);
	sobj_release(&o);
	r = 0;
	if (json_path(ns, "metadata.deletionTimestamp")) {
		api_error_set(e, STATUS_FORBIDDEN,
			      "%s \"%s\" is forbidden: unable to create new content in namespace %s because it is being terminated",
			      c->res->plural, "", c->route.ns);
		api_error_details(e, c->res->group, c->res->plural, NULL);
		r = -EPERM;
	}
	cJSON_Delete(ns);
	return r;
}

void rest_create(struct api_call *c)
{
	struct api_error e = { 0 };
	struct wctx *w;
	cJSON *obj;

	if (!strcmp(c->res->kind, "Pod") && !*c->res->group && !strcmp(c->route.sub, "binding")) {
		pods_binding(c);
		return;
	}
	if (!strcmp(c->res->kind, "Pod") && !*c->res->group && !strcmp(c->route.sub, "eviction")) {
		pods_eviction(c);
		return;
	}
	if (!strcmp(c->res->kind, "ServiceAccount") && !*c->res->group && !strcmp(c->route.sub, "token")) {
		obj = parse_body(c, &e);
		if (obj)
			satoken_request(c, obj);
		else
			fail(c, &e);
		return;
	}
	if (c->res->hooks && c->res->hooks->answer) {
		obj = parse_body(c, &e);
		if (!obj) {
			fail(c, &e);
			return;
		}
		c->res->hooks->answer(c, obj);
		cJSON_Delete(obj);
		api_call_free(c);
		return;
	}
	if (c->route.sub[0]) {
		api_error_set(&e, STATUS_METHOD_NOT_ALLOWED,
			      "the server does not allow this method on the requested resource");
		fail(c, &e);
		return;
	}
	if (c->res->crd && c->res->crd->terminating) {
		api_error_set(&e, STATUS_METHOD_NOT_ALLOWED,
			      "create not allowed while custom resource definition is terminating");
		fail(c, &e);
		return;
	}
	obj = parse_body(c, &e);
	if (!obj || meta_check_identity(obj, c->res, c->res->namespaced ? c->route.ns : NULL, NULL, &e) ||
	    check_namespace(c, &e) || objcheck_decode(c, obj, &e)) {
		cJSON_Delete(obj);
		fail(c, &e);
		return;
	}
	objcheck_defaults(c, obj);
	meta_prepare_create(obj, c->res, (int64_t)wall_ns(), &e);
	objcheck_validate(c, obj, NULL, &e);
	objcheck_admit(c, obj, NULL, &e);
	if (e.ncauses || e.message) {
		if (!e.message)	/* a refusal by admission has its own message */
			api_error_invalid(&e, c->res->group, c->res->kind,
					  json_get_str(json_get(obj, "metadata"), "name", ""));
		cJSON_Delete(obj);
		fail(c, &e);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->c = c;
	w->op = W_CREATE;
	w->obj = obj;
	w->code = 201;
	write_start(w, 0);
}

/*
 * The common tail of update and patch: new is the full object the client
 * wants, old what is stored at old_rev. Takes new.
 */
static void update_object(struct api_call *c, cJSON *new, const cJSON *old, int64_t old_rev,
			  bool retry)
{
	struct api_error e = { 0 };
	bool status_only = !strcmp(c->route.sub, "status");
	const char *rv = json_get_str(json_get(new, "metadata"), "resourceVersion", NULL);
	int64_t want = old_rev;
	struct wctx *w;

	if (rv && *rv) {
		if (parse_i64(rv, &want) || want != old_rev) {
			api_error_conflict(&e, c->res->group, c->res->plural, c->route.name);
			goto fail;
		}
	}
	if (meta_check_identity(new, c->res, c->res->namespaced ? c->route.ns : NULL,
				c->route.name, &e) || objcheck_decode(c, new, &e))
		goto fail;
	if (!strcmp(c->route.sub, "ephemeralcontainers"))
		pods_ephemeral_merge(new, old);
	objcheck_defaults(c, new);
	meta_prepare_update(new, old, c->res, status_only, &e);
	objcheck_validate(c, new, old, &e);
	objcheck_admit(c, new, old, &e);
	if (e.ncauses) {
		api_error_invalid(&e, c->res->group, c->res->kind, c->route.name);
		goto fail;
	}
	w = xcalloc(1, sizeof(*w));
	w->c = c;
	w->op = W_UPDATE;
	w->obj = new;
	w->code = 200;
	w->retry = retry;
	w->remove_after = meta_ready_to_remove(new);
	write_start(w, old_rev);
	return;
fail:
	cJSON_Delete(new);
	fail(c, &e);
}

static cJSON *scale_apply(const cJSON *old, const cJSON *scale, struct api_error *e)
{
	const cJSON *r = json_path(scale, "spec.replicas");
	cJSON *new;

	if (r && (!cJSON_IsNumber(r) || r->valuedouble < 0)) {
		field_invalid(e, "spec.replicas", r, "must be greater than or equal to 0");
		api_error_invalid(e, "autoscaling", "Scale", json_get_str(json_get(old, "metadata"), "name", ""));
		return NULL;
	}
	new = cJSON_Duplicate(old, 1);
	if (r)
		json_set_int(json_obj(new, "spec"), "replicas", (int64_t)r->valuedouble);
	return new;
}

void rest_update(struct api_call *c)
{
	struct api_error e = { 0 };
	cJSON *body, *old = NULL;
	int64_t rev;

	body = parse_body(c, &e);
	if (!body || load(c, c->route.name, &old, &rev, &e)) {
		cJSON_Delete(body);
		fail(c, &e);
		return;
	}
	if (!strcmp(c->route.sub, "scale")) {
		cJSON *new = c->res->crd ? crd_scale_apply(c->res, old, body, &e) :
			     scale_apply(old, body, &e);

		cJSON_Delete(body);
		if (!new) {
			cJSON_Delete(old);
			fail(c, &e);
			return;
		}
		body = new;
	}
	update_object(c, body, old, rev, false);
	cJSON_Delete(old);
}

/* ---- patch ---- */

enum patch_type { PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC, PATCH_APPLY };

static int patch_type_of(const char *ctype, enum patch_type *t)
{
	static const struct { const char *ctype; enum patch_type t; } types[] = {
		{ "application/json-patch+json", PATCH_JSON },
		{ "application/merge-patch+json", PATCH_MERGE },
		{ "application/strategic-merge-patch+json", PATCH_STRATEGIC },
		{ "application/apply-patch+yaml", PATCH_APPLY },
	};
	size_t n = ctype ? strcspn(ctype, ";") : 0;

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (n == strlen(types[i].ctype) && !strncasecmp(ctype, types[i].ctype, n)) {
			*t = types[i].t;
			return 0;
		}
	return -EINVAL;
}

static cJSON *apply_patch(struct api_call *c, enum patch_type t, const cJSON *old,
			  const cJSON *patch, struct api_error *e)
{
	cJSON *out = NULL;
	char *err = NULL;
	int r = -EINVAL;

	switch (t) {
	case PATCH_JSON:
		r = jsonpatch_apply(old, patch, &out, &err);
		break;
	case PATCH_MERGE:
		r = mergepatch_apply(old, patch, &out, &err);
		break;
	case PATCH_STRATEGIC: {
		struct smp_schema sch;

		objcheck_smp_schema(c, &sch);
		r = smp_apply(old, patch, &sch, &out, &err);
		break;
	}
	case PATCH_APPLY:
		err = xstrdup("server-side apply is not supported by k1s yet");
		r = -ENOTSUP;
		break;
	}
	if (r) {
		enum status_reason why = STATUS_INVALID;

		if (r == -ENOTSUP)
			why = STATUS_UNSUPPORTED_MEDIA_TYPE;
		else if (r == -EBADMSG)
			why = STATUS_BAD_REQUEST;
		else if (r == -E2BIG)
			why = STATUS_REQUEST_ENTITY_TOO_LARGE;
		api_error_set(e, why, "%s", err ? err : "the patch could not be applied");
		free(err);
		return NULL;
	}
	free(err);
	return out;
}

/* Does the patch set or test metadata.resourceVersion? */
static bool names_rv(const cJSON *patch)
{
	const cJSON *op;

	if (cJSON_IsObject(patch))
		return json_path(patch, "metadata.resourceVersion") != NULL;
	cJSON_ArrayForEach(op, patch)
		if (strstr(json_get_str(op, "path", ""), "resourceVersion"))
			return true;
	return false;
}

void rest_patch(struct api_call *c)
{
	bool retry;
	const char *ctype = http_request_header(c->req, "Content-Type");
	struct api_error e = { 0 };
	enum patch_type t;
	cJSON *patch = NULL, *old = NULL, *new = NULL;
	const char *end = NULL;
	int64_t rev;

	if (!patch_type_of(ctype, &t) && t == PATCH_STRATEGIC && c->res->crd) {
		api_error_set(&e, STATUS_UNSUPPORTED_MEDIA_TYPE,
			      "the body of the request was in an unknown format - accepted media types include: "
			      "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
		fail(c, &e);
		return;
	}
	if (patch_type_of(ctype, &t)) {
		api_error_set(&e, STATUS_UNSUPPORTED_MEDIA_TYPE,
			      "the body of the request was in an unknown format - accepted media types include: "
				   "application/json-patch+json, application/merge-patch+json, "
				   "application/apply-patch+yaml, application/strategic-merge-patch+json");
		fail(c, &e);
		return;
	}
	patch = json_parse_end(c->req->body.data ? c->req->body.data : "",
					  c->req->body.len, &end);
	if (!patch) {
		api_error_set(&e, STATUS_BAD_REQUEST, "error decoding patch: invalid JSON");
		fail(c, &e);
		return;
	}
	if (load(c, c->route.name, &old, &rev, &e))
		goto fail;
	if (!strcmp(c->route.sub, "scale")) {
		cJSON *sc = scale_of(c, old), *patched = apply_patch(c, t, sc, patch, &e);

		cJSON_Delete(sc);
		if (!patched)
			goto fail;
		new = c->res->crd ? crd_scale_apply(c->res, old, patched, &e) :
		      scale_apply(old, patched, &e);
		cJSON_Delete(patched);
	} else {
		new = apply_patch(c, t, old, patch, &e);
	}
	if (!new)
		goto fail;
	/* a patch that names a resourceVersion is a precondition; one that does
	 * not is applied again to the newer object after a write conflict */
	retry = !names_rv(patch);
	cJSON_Delete(patch);
	update_object(c, new, old, rev, retry);
	cJSON_Delete(old);
	return;
fail:
	cJSON_Delete(patch);
	cJSON_Delete(old);
	fail(c, &e);
}

/* ---- delete ---- */

static int64_t grace_period(struct api_call *c, const cJSON *opts, const cJSON *obj)
{
	char *q = NULL;
	int64_t g = -1;

	if (!http_request_query(c->req, "gracePeriodSeconds", 0, &q) && q)
		parse_i64(q, &g);
	free(q);
	if (g < 0 && cJSON_IsNumber(json_get(opts, "gracePeriodSeconds")))
		g = (int64_t)json_get(opts, "gracePeriodSeconds")->valuedouble;
	if (g < 0)
		g = json_get_int(json_get(obj, "spec"), "terminationGracePeriodSeconds", 0);
	return g;
}

void rest_delete(struct api_call *c)
{
	struct api_error e = { 0 };
	cJSON *old = NULL, *opts = NULL;
	struct wctx *w;
	int64_t rev;

	if (c->req->body.len) {
		opts = parse_body(c, &e);
		if (!opts) {
			fail(c, &e);
			return;
		}
	}
	if (load(c, c->route.name, &old, &rev, &e) ||
	    gc_delete_propagation(old, opts, NULL, &e)) {	/* controllers: finalizers */
		cJSON_Delete(opts);
		cJSON_Delete(old);
		fail(c, &e);
		return;
	}
	{
		const char *puid = json_path(opts, "preconditions.uid") ?
			json_get_str(json_get(opts, "preconditions"), "uid", NULL) : NULL;
		const char *prv = json_get_str(json_get(opts, "preconditions"), "resourceVersion", NULL);

		if ((puid && strcmp(puid, json_get_str(json_get(old, "metadata"), "uid", ""))) ||
		    (prv && atoll(prv) != rev)) {
			api_error_conflict(&e, c->res->group, c->res->plural, c->route.name);
			cJSON_Delete(opts);
			cJSON_Delete(old);
			fail(c, &e);
			return;
		}
	}
	w = xcalloc(1, sizeof(*w));
	w->c = c;
	w->code = 200;
	if (objcheck_graceful_delete(c, old) || meta_has_finalizers(old)) {
		/* marked, not removed: finalizers (or the kubelet) finish the job */
		w->obj = cJSON_Duplicate(old, 1);
		/* a grace period only for what is deleted gracefully (pods) */
		meta_mark_deleted(w->obj, (int64_t)wall_ns(),
				  objcheck_graceful_delete(c, old) ||
				  json_path(old, "metadata.deletionGracePeriodSeconds") ?
				  grace_period(c, opts, old) : 0);
		objcheck_on_delete_mark(c, w->obj);
		w->op = W_UPDATE;
		w->code = json_path(old, "metadata.deletionTimestamp") ? 200 : 200;
		w->remove_after = meta_ready_to_remove(w->obj) && !objcheck_graceful_delete(c, old);
	} else {
		w->obj = cJSON_Duplicate(old, 1);
		w->op = W_DELETE;
	}
	cJSON_Delete(opts);
	cJSON_Delete(old);
	write_start(w, rev);
}
