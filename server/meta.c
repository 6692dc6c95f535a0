#include "meta.h"
#include "validate.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/selector.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void random_bytes(void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom((char *)buf + got, n - got, 0);

		if (r < 0)
			BUG("getrandom failed");
		got += (size_t)r;
	}
}

void meta_new_uid(char out[META_UID_LEN])
{
	unsigned char b[16];

	random_bytes(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, META_UID_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
}

static char *api_version_of(const struct api_resource *r)
{
	return *r->group ? xasprintf("%s/%s", r->group, r->version) : xstrdup(r->version);
}

int meta_check_identity(cJSON *obj, const struct api_resource *r, const char *url_ns,
			const char *url_name, struct api_error *e)
{
	const char *av = json_get_str(obj, "apiVersion", NULL);
	const char *kind = json_get_str(obj, "kind", NULL);
	cJSON *meta = json_get(obj, "metadata");
	const char *ns, *name;
	char *want = api_version_of(r);
	int ret = -EINVAL;

	if (!cJSON_IsObject(obj)) {
		api_error_set(e, STATUS_BAD_REQUEST, "the body of the request is not a JSON object");
		goto out;
	}
	if ((av && strcmp(av, want)) || (kind && strcmp(kind, r->kind))) {
		api_error_set(e, STATUS_BAD_REQUEST,
			      "the API version in the data (%s) does not match the expected API version (%s)",
			      av ? av : "", want);
		if (av && !strcmp(av, want))
			api_error_set(e, STATUS_BAD_REQUEST,
				      "the kind in the data (%s) does not match the expected kind (%s)",
				      kind, r->kind);
		goto out;
	}
	json_set_str(obj, "apiVersion", want);
	json_set_str(obj, "kind", r->kind);
	if (meta && !cJSON_IsObject(meta)) {
		api_error_set(e, STATUS_BAD_REQUEST, "metadata must be an object");
		goto out;
	}
	meta = json_obj(obj, "metadata");
	ns = json_get_str(meta, "namespace", NULL);
	if (r->namespaced) {
		if (ns && *ns && url_ns && strcmp(ns, url_ns)) {
			api_error_set(e, STATUS_BAD_REQUEST,
				      "the namespace of the provided object does not match the namespace sent on the request");
			goto out;
		}
		if (url_ns)
			json_set_str(meta, "namespace", url_ns);
	} else if (json_get(meta, "namespace")) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
	}
	name = json_get_str(meta, "name", NULL);
	if (url_name && *url_name && name && strcmp(name, url_name)) {
		api_error_set(e, STATUS_BAD_REQUEST,
			      "the name of the object (%s) does not match the name on the URL (%s)",
			      name, url_name);
		goto out;
	}
	ret = 0;
out:
	free(want);
	return ret;
}

static void generate_name(cJSON *meta)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	const char *base = json_get_str(meta, "generateName", NULL);
	unsigned char rnd[META_GENERATE_SUFFIX];
	char suffix[META_GENERATE_SUFFIX + 1];
	char *name;
	size_t blen;

	if (!base || json_get_str(meta, "name", NULL))
		return;
	random_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	suffix[META_GENERATE_SUFFIX] = '\0';
	blen = strlen(base);
	if (blen > 58)	/* upstream truncates the base to 63 - 5 */
		blen = 58;
	name = xasprintf("%.*s%s", (int)blen, base, suffix);
	json_set_str(meta, "name", name);
	free(name);
}

static bool tracks_generation(const struct api_resource *r)
{
	/* kinds whose spec is "desired state" that controllers observe; every
	 * custom resource */
	return r->has_status || r->crd;
}

static const char *const server_owned[] = {
	"resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
};

void meta_prepare_create(cJSON *obj, const struct api_resource *r, int64_t now,
			 struct api_error *e)
{
	cJSON *meta = json_obj(obj, "metadata");
	char uid[META_UID_LEN], ts[RFC3339_MAX];

	generate_name(meta);
	for (size_t i = 0; i < ARRAY_SIZE(server_owned); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(meta, server_owned[i]);
	meta_new_uid(uid);
	json_set_str(meta, "uid", uid);
	rfc3339_format(now, ts);
	json_set_str(meta, "creationTimestamp", ts);
	if (tracks_generation(r))
		json_set_int(meta, "generation", 1);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
	if (r->has_status && strcmp(r->kind, "Namespace") && strcmp(r->kind, "Node") &&
	    strcmp(r->kind, "PersistentVolume") && strcmp(r->kind, "PersistentVolumeClaim") &&
	    strcmp(r->kind, "Pod"))
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
	meta_validate(obj, r, e);
}

static void keep_from_old(cJSON *meta, const cJSON *old_meta, const char *field)
{
	const cJSON *v = json_get(old_meta, field);

	if (v)
		json_set(meta, field, cJSON_Duplicate(v, 1));
	else
		cJSON_DeleteItemFromObjectCaseSensitive(meta, field);
}

static bool spec_changed(const cJSON *a, const cJSON *b, bool with_status)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, a) {
		if (!strcmp(it->string, "metadata") || (!with_status && !strcmp(it->string, "status")) ||
		    !strcmp(it->string, "apiVersion") || !strcmp(it->string, "kind"))
			continue;
		if (!json_equal(it, json_get(b, it->string)))
			return true;
	}
	cJSON_ArrayForEach(it, b) {
		if (!strcmp(it->string, "metadata") || (!with_status && !strcmp(it->string, "status")) ||
		    !strcmp(it->string, "apiVersion") || !strcmp(it->string, "kind"))
			continue;
		if (!json_get(a, it->string))
			return true;
	}
	return false;
}

static void copy_top(cJSON *dst, const cJSON *src, const char *field)
{
	const cJSON *v = json_get(src, field);

	if (v)
		json_set(dst, field, cJSON_Duplicate(v, 1));
	else
		cJSON_DeleteItemFromObjectCaseSensitive(dst, field);
}

static bool finalizers_added(const cJSON *now, const cJSON *old)
{
	const cJSON *f, *g;

	cJSON_ArrayForEach(f, json_path(now, "metadata.finalizers")) {
		bool found = false;

		cJSON_ArrayForEach(g, json_path(old, "metadata.finalizers"))
			if (json_equal(f, g))
				found = true;
		if (!found)
			return true;
	}
	return false;
}

void meta_prepare_update(cJSON *obj, const cJSON *old, const struct api_resource *r,
			 bool status_only, struct api_error *e)
{
	cJSON *meta = json_obj(obj, "metadata");
	const cJSON *old_meta = json_get(old, "metadata");
	static const char *const immutable[] = {
		"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
		"generation",
	};
	int64_t gen = json_get_int(old_meta, "generation", 0);

	for (size_t i = 0; i < ARRAY_SIZE(immutable); i++)
		keep_from_old(meta, old_meta, immutable[i]);
	if (status_only) {
		/* a status write changes status (and nothing of spec) */
		cJSON *copy = cJSON_Duplicate(old, 1), *it, *next;

		for (it = obj->child; it; it = next) {	/* copy_top replaces it */
			next = it->next;
			if (strcmp(it->string, "status") && strcmp(it->string, "metadata"))
				copy_top(obj, copy, it->string);
		}
		cJSON_ArrayForEach(it, copy)
			if (strcmp(it->string, "status") && !json_get(obj, it->string))
				copy_top(obj, copy, it->string);
		cJSON_Delete(copy);
	} else if (r->has_status) {
		copy_top(obj, old, "status");
	}
	if (json_get(old_meta, "deletionTimestamp") && finalizers_added(obj, old))
		field_forbidden(e, "metadata.finalizers",
				"no new finalizers can be added if the object is being deleted");
	/* a custom resource without the status subresource: status is spec */
	if (gen && !status_only && spec_changed(obj, old, r->crd && !r->has_status))
		json_set_int(meta, "generation", gen + 1);
	meta_validate(obj, r, e);
}

typedef size_t (*label_check)(const char *s, const char **msgs, size_t max);

/* Adds an Invalid cause when check finds problems; upstream joins them with "; ". */
static void check_label_part(label_check check, const char *s, const cJSON *shown,
			     const char *path, struct api_error *e)
{
	const char *msgs[8];
	size_t n = check(s, msgs, ARRAY_SIZE(msgs));
	struct buf b = BUF_INIT;

	if (!n)
		return;
	for (size_t i = 0; i < n && i < ARRAY_SIZE(msgs); i++)
		buf_addf(&b, "%s%s", i ? "; " : "", msgs[i]);
	field_invalid(e, path, shown, b.data);
	buf_release(&b);
}

static void validate_labels(const cJSON *labels, const char *path, struct api_error *e)
{
	const cJSON *kv;

	if (labels && !cJSON_IsObject(labels)) {
		field_invalid(e, path, labels, "must be an object");
		return;
	}
	cJSON_ArrayForEach(kv, labels) {
		cJSON *k = cJSON_CreateString(kv->string);

		check_label_part(sel_validate_label_key, kv->string, k, path, e);
		cJSON_Delete(k);
		if (!cJSON_IsString(kv))
			field_invalid(e, path, kv, "must be a string");
		else
			check_label_part(sel_validate_label_value, kv->valuestring, kv, path, e);
	}
}

static void validate_annotations(const cJSON *ann, struct api_error *e)
{
	const cJSON *kv;
	size_t total = 0;

	if (ann && !cJSON_IsObject(ann)) {
		field_invalid(e, "metadata.annotations", ann, "must be an object");
		return;
	}
	cJSON_ArrayForEach(kv, ann) {
		cJSON *k = cJSON_CreateString(kv->string);

		check_label_part(sel_validate_label_key, kv->string, k, "metadata.annotations", e);
		cJSON_Delete(k);
		total += strlen(kv->string) + (cJSON_IsString(kv) ? strlen(kv->valuestring) : 0);
	}
	if (total > META_ANNOTATIONS_MAX)
		field_too_long(e, "metadata.annotations", META_ANNOTATIONS_MAX);
}

void meta_validate(const cJSON *obj, const struct api_resource *r, struct api_error *e)
{
	const cJSON *meta = json_get(obj, "metadata");
	const cJSON *name = json_get(meta, "name");
	const char *why;

	if (!cJSON_IsString(name) || !*name->valuestring) {
		field_required(e, "metadata.name", "name or generateName is required");
	} else if ((why = validate_name(r->name_rule, name->valuestring))) {
		field_invalid(e, "metadata.name", name, why);
	}
	if (r->namespaced) {
		const cJSON *ns = json_get(meta, "namespace");

		if (!cJSON_IsString(ns) || !*ns->valuestring)
			field_required(e, "metadata.namespace", "");
		else if ((why = validate_name(NAME_DNS1123_LABEL, ns->valuestring)))
			field_invalid(e, "metadata.namespace", ns, why);
	}
	validate_labels(json_get(meta, "labels"), "metadata.labels", e);
	validate_annotations(json_get(meta, "annotations"), e);
}

bool meta_has_finalizers(const cJSON *obj)
{
	return cJSON_GetArraySize(json_path(obj, "metadata.finalizers")) > 0;
}

void meta_mark_deleted(cJSON *obj, int64_t now, int64_t grace)
{
	cJSON *meta = json_obj(obj, "metadata");
	char ts[RFC3339_MAX];

	if (json_get(meta, "deletionTimestamp")) {
		/* a second delete may only shorten the grace period (the
		 * kubelet's final delete passes 0) */
		if (grace < json_get_int(meta, "deletionGracePeriodSeconds", 0))
			json_set_int(meta, "deletionGracePeriodSeconds", grace);
		return;
	}
	rfc3339_format(now, ts);
	json_set_str(meta, "deletionTimestamp", ts);
	json_set_int(meta, "deletionGracePeriodSeconds", grace);
}

bool meta_ready_to_remove(const cJSON *obj)
{
	return json_path(obj, "metadata.deletionTimestamp") && !meta_has_finalizers(obj) &&
	       json_get_int(json_get(obj, "metadata"), "deletionGracePeriodSeconds", 0) == 0;
}
