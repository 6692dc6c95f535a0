#include "pods.h"
#include "meta.h"
#include "storage.h"
#include "validate.h"
#include "controllers/controllers.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- binding and eviction: small writes on the pod itself ---- */

struct podop {
	struct api_call *c;
	cJSON *body;
};

static void podop_done(int err, int64_t rev, struct sobj *prev, void *ud)
{
	struct podop *p = ud;
	struct api_call *c = p->c;
	struct api_error e = { 0 };
	struct buf b = BUF_INIT;

	(void)rev;
	(void)prev;
	if (err == -ECANCELED)
		api_error_conflict(&e, "", "pods", c->route.name);
	else if (err == -ENOENT)
		api_error_not_found(&e, "", "pods", c->route.name);
	else if (err)
		api_error_set(&e, STATUS_INTERNAL_ERROR, "storage write failed: %s", strerror(-err));
	if (e.message) {
		api_respond_error(c, &e);
	} else {
		status_success_render(&b, NULL, NULL, NULL, NULL);
		api_respond_raw(c, 201, "application/json", b.data, b.len);
		buf_release(&b);
	}
	cJSON_Delete(p->body);
	api_call_free(c);
	free(p);
}

static int load_pod(struct api_call *c, cJSON **pod, int64_t *rev, struct api_error *e)
{
	char *key = api_key(c->res, c->route.ns, c->route.name);
	struct sobj o = { 0 };
	int r = storage_get(c->srv, key, &o);

	free(key);
	if (r) {
		api_error_not_found(e, "", "pods", c->route.name);
		return r;
	}
	*pod = api_decode(o.value, o.len, o.mod_rev);
	*rev = o.mod_rev;
	sobj_release(&o);
	return *pod ? 0 : -EIO;
}

static void podop_write(struct api_call *c, cJSON *body, cJSON *pod, int64_t rev, bool remove)
{
	struct podop *p = xcalloc(1, sizeof(*p));
	char *key = api_key(c->res, c->route.ns, c->route.name);

	p->c = c;
	p->body = body;
	if (c->dry_run) {
		podop_done(0, rev, NULL, p);
	} else if (remove) {
		storage_delete(c->srv, key, rev, podop_done, p);
	} else {
		char *v;

		cJSON_DeleteItemFromObjectCaseSensitive(json_get(pod, "metadata"), "resourceVersion");
		v = json_print(pod);
		storage_update(c->srv, key, v, strlen(v), rev, podop_done, p);
		free(v);
	}
	free(key);
	cJSON_Delete(pod);
}

static cJSON *parse(struct api_call *c, struct api_error *e)
{
	cJSON *b = c->req->body.len ? json_parse(c->req->body.data, c->req->body.len) : NULL;

	if (!cJSON_IsObject(b)) {
		cJSON_Delete(b);
		api_error_set(e, STATUS_BAD_REQUEST, "the body of the request is not a JSON object");
		return NULL;
	}
	return b;
}

static void set_condition(cJSON *pod, const char *type, const char *status)
{
	cJSON *conds = json_get(json_obj(pod, "status"), "conditions"), *cd;
	char ts[RFC3339_MAX];

	if (!cJSON_IsArray(conds)) {
		conds = cJSON_CreateArray();
		json_set(json_obj(pod, "status"), "conditions", conds);
	}
	rfc3339_format((int64_t)wall_ns(), ts);
	cJSON_ArrayForEach(cd, conds)
		if (!strcmp(json_get_str(cd, "type", ""), type))
			break;
	if (!cd) {
		cd = cJSON_CreateObject();
		cJSON_AddItemToArray(conds, cd);
	}
	json_set_str(cd, "type", type);
	json_set_str(cd, "status", status);
	json_set(cd, "lastProbeTime", cJSON_CreateNull());
	json_set_str(cd, "lastTransitionTime", ts);
}

void pods_binding(struct api_call *c)
{
	struct api_error e = { 0 };
	cJSON *body = parse(c, &e), *pod = NULL;
	const char *node;
	int64_t rev;

	if (!body)
		goto fail;
	node = json_get_str(json_get(body, "target"), "name", NULL);
	if (!node || !*node) {
		api_error_add_cause(&e, "FieldValueRequired", "target.name", "Required value");
		api_error_invalid(&e, "", "Binding", c->route.name);
		goto fail;
	}
	if (load_pod(c, &pod, &rev, &e))
		goto fail;
	if (json_get_str(json_get(pod, "spec"), "nodeName", NULL)) {
		api_error_set(&e, STATUS_CONFLICT,
			      "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is already assigned to node \"%s\"",
			      c->route.name, c->route.name, json_get_str(json_get(pod, "spec"), "nodeName", ""));
		api_error_details(&e, "", "pods/binding", c->route.name);
		goto fail;
	}
	if (json_path(pod, "metadata.deletionTimestamp")) {
		api_error_set(&e, STATUS_CONFLICT, "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is being deleted, cannot be assigned to a host",
			      c->route.name, c->route.name);
		goto fail;
	}
	json_set_str(json_obj(pod, "spec"), "nodeName", node);
	set_condition(pod, "PodScheduled", "True");
	podop_write(c, body, pod, rev, false);
	return;
fail:
	cJSON_Delete(body);
	cJSON_Delete(pod);
	api_respond_error(c, &e);
	api_call_free(c);
}

/* upstream deletes finished pods at once, bound or not */
static bool pod_finished(const cJSON *pod)
{
	const char *phase = json_get_str(json_get(pod, "status"), "phase", "");

	return !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
}

void pods_eviction(struct api_call *c)
{
	struct api_error e = { 0 };
	cJSON *body = parse(c, &e), *pod = NULL;
	int64_t rev;

	if (!body || load_pod(c, &pod, &rev, &e) || ctrl_eviction_check(c->srv, pod, &e))
		goto fail;
	if (json_get_str(json_get(pod, "spec"), "nodeName", NULL) &&
	    !json_path(pod, "metadata.deletionTimestamp") && !pod_finished(pod)) {
		/* graceful: the kubelet finishes the deletion */
		meta_mark_deleted(pod, (int64_t)wall_ns(),
				  json_get_int(json_get(pod, "spec"), "terminationGracePeriodSeconds", 30));
		set_condition(pod, "DisruptionTarget", "True");
		podop_write(c, body, pod, rev, false);
	} else {
		podop_write(c, body, pod, rev, true);
	}
	return;
fail:
	cJSON_Delete(body);
	cJSON_Delete(pod);
	api_respond_error(c, &e);
	api_call_free(c);
}

/* ---- what a pod update may change ---- */

static void keep_images(cJSON *munged, const cJSON *old, const char *field)
{
	cJSON *nc = json_get(munged, field);
	const cJSON *oc = json_get(old, field);
	int n = cJSON_GetArraySize(nc);

	for (int i = 0; i < n && i < cJSON_GetArraySize(oc); i++) {
		const cJSON *img = json_get(cJSON_GetArrayItem(oc, i), "image");

		if (img)
			json_set(cJSON_GetArrayItem(nc, i), "image", cJSON_Duplicate(img, 1));
	}
}

void pods_validate_update(const cJSON *new, const cJSON *old, struct api_error *e)
{
	static const char *const mutable_fields[] = {
		"activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds",
		"schedulingGates", "nodeName",
	};
	const cJSON *os = json_get(old, "spec");
	cJSON *munged = cJSON_Duplicate(json_get(new, "spec"), 1);

	if (!munged)
		munged = cJSON_CreateObject();
	keep_images(munged, os, "containers");
	keep_images(munged, os, "initContainers");
	for (size_t i = 0; i < ARRAY_SIZE(mutable_fields); i++) {
		const cJSON *v = json_get(os, mutable_fields[i]);

		if (v)
			json_set(munged, mutable_fields[i], cJSON_Duplicate(v, 1));
		else
			cJSON_DeleteItemFromObjectCaseSensitive(munged, mutable_fields[i]);
	}
	if (!json_equal(munged, os))
		field_forbidden(e, "spec",
				"pod updates may not change fields other than `spec.containers[*].image`,"
				"`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
				"(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
				"(allow it to be set to 1 if it was previously negative)");
	cJSON_Delete(munged);
}
