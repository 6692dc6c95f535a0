/*
 * server/volsnap.c - the snapshot.storage.k8s.io/v1 CRDs and their
 * validation rules (server/volsnap.h). The schemas and printer columns are
 * those of the external-snapshotter's CRDs (v8); the x-kubernetes-validations
 * rules there are CEL, checked here in C with the same messages.
 */
#include "volsnap.h"
#include "validate.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generated once from the upstream CRD shapes (JSON, one literal). */
#include "volsnap_crds.inc"

cJSON *volsnap_crds(void)
{
	cJSON *a = cJSON_Parse(crds_json);

	if (!a)
		BUG("volsnap: the built-in CRD JSON does not parse");
	return a;
}

static bool has(const cJSON *o, const char *key)
{
	return json_get(o, key) != NULL && !cJSON_IsNull(json_get(o, key));
}

/* "x is immutable" when set in old and changed; "x is required once set"
 * when set in old and gone. */
static void once_set(const cJSON *src, const cJSON *old_src, const char *field, const char *path,
		     struct api_error *e)
{
	char msg[128];

	if (!old_src || !has(old_src, field))
		return;
	if (!has(src, field)) {
		cJSON *v = cJSON_CreateString("object");

		snprintf(msg, sizeof(msg), "%s is required once set", field);
		field_invalid(e, path, v, msg);
		cJSON_Delete(v);
		return;
	}
	if (!json_equal(json_get(src, field), json_get(old_src, field))) {
		char *p = xasprintf("%s.%s", path, field);
		cJSON *v = cJSON_CreateString("string");	/* CEL names the type */

		snprintf(msg, sizeof(msg), "%s is immutable", field);
		field_invalid(e, p, v, msg);
		cJSON_Delete(v);
		free(p);
	}
}

void volsnap_validate_snapshot(const cJSON *obj, const cJSON *old, struct api_error *e)
{
	const cJSON *src = json_path(obj, "spec.source"), *osrc = old ? json_path(old, "spec.source") : NULL;
	const cJSON *cls = json_path(obj, "spec.volumeSnapshotClassName");
	cJSON *objv = cJSON_CreateString("object");

	if (src && has(src, "persistentVolumeClaimName") == has(src, "volumeSnapshotContentName"))
		field_invalid(e, "spec.source", objv,
			      "exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set");
	once_set(src, osrc, "persistentVolumeClaimName", "spec.source", e);
	once_set(src, osrc, "volumeSnapshotContentName", "spec.source", e);
	if (cJSON_IsString(cls) && !*cls->valuestring)
		field_invalid(e, "spec.volumeSnapshotClassName", cls,
			      "volumeSnapshotClassName must not be the empty string when set");
	cJSON_Delete(objv);
}

void volsnap_validate_content(const cJSON *obj, const cJSON *old, struct api_error *e)
{
	const cJSON *src = json_path(obj, "spec.source"), *osrc = old ? json_path(old, "spec.source") : NULL;
	const cJSON *ref = json_path(obj, "spec.volumeSnapshotRef");
	cJSON *objv = cJSON_CreateString("object");

	if (src && has(src, "volumeHandle") == has(src, "snapshotHandle"))
		field_invalid(e, "spec.source", objv, "exactly one of volumeHandle and snapshotHandle must be set");
	once_set(src, osrc, "volumeHandle", "spec.source", e);
	once_set(src, osrc, "snapshotHandle", "spec.source", e);
	if (ref && (!has(ref, "name") || !has(ref, "namespace")))
		field_invalid(e, "spec.volumeSnapshotRef", objv,
			      "both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set");
	if (old && has(json_get(old, "spec"), "sourceVolumeMode") &&
	    !json_equal(json_path(obj, "spec.sourceVolumeMode"), json_path(old, "spec.sourceVolumeMode")))
		field_invalid(e, "spec.sourceVolumeMode", json_path(obj, "spec.sourceVolumeMode"),
			      "sourceVolumeMode is immutable");
	cJSON_Delete(objv);
}

void volsnap_validate_class(const cJSON *obj, const cJSON *old, struct api_error *e)
{
	if (old && !json_equal(json_get(obj, "parameters"), json_get(old, "parameters")))
		field_invalid(e, "parameters", json_get(obj, "parameters"), "parameters are immutable");
}

void volsnap_pvc_defaults(cJSON *pvc)
{
	cJSON *spec = json_get(pvc, "spec"), *ds = json_get(spec, "dataSource");
	cJSON *ref = json_get(spec, "dataSourceRef");

	if (ds && !cJSON_IsNull(ds) && (!ref || cJSON_IsNull(ref))) {
		json_set(spec, "dataSourceRef", cJSON_Duplicate(ds, 1));
	} else if (ref && !cJSON_IsNull(ref) && (!ds || cJSON_IsNull(ds)) &&
		   !has(ref, "namespace")) {
		cJSON *d = cJSON_Duplicate(ref, 1);

		json_set(spec, "dataSource", d);
	}
}
