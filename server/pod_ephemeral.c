/*
 * server/pod_ephemeral.c - pods/<name>/ephemeralcontainers and the rules
 * of ephemeral containers, with kube-apiserver's messages
 * (ValidateEphemeralContainers, ValidatePodEphemeralContainersUpdate).
 *
 * A write to the subresource takes only spec.ephemeralContainers from the
 * body (pods_ephemeral_merge, before defaulting); validation then checks
 * every ephemeral container (allowed fields, unique name, target) and that
 * the existing ones are all still there, unchanged.
 */
#include "pods.h"
#include "validate.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdio.h>
#include <string.h>

#define EPH_FIELD_MAX 160	/* bytes of a field path we build */

/* EphemeralContainerCommon fields that may not be set, in the order of the
 * Go struct (the order upstream reports them in). */
static const char *const forbidden_fields[] = {
	"ports", "resources", "resizePolicy", "restartPolicy", "restartPolicyRules",
	"livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
};

/* Absent, null, false, 0, "", {} and [] are Go's zero values: "not set". */
static bool zero_value(const cJSON *v)
{
	if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return true;
	if (cJSON_IsNumber(v))
		return v->valuedouble == 0;
	if (cJSON_IsString(v))
		return !*v->valuestring;
	return (cJSON_IsObject(v) || cJSON_IsArray(v)) && !v->child;
}

static const cJSON *by_name(const cJSON *arr, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (!strcmp(json_get_str(it, "name", ""), name))
			return it;
	return NULL;
}

void pods_ephemeral_merge(cJSON *new, const cJSON *old)
{
	cJSON *eph = cJSON_Duplicate(json_path(new, "spec.ephemeralContainers"), 1);

	/* everything but the ephemeral containers comes from the stored pod */
	json_set(new, "spec", cJSON_Duplicate(json_get(old, "spec"), 1));
	json_set(new, "status", cJSON_Duplicate(json_get(old, "status"), 1));
	if (eph)
		json_set(json_obj(new, "spec"), "ephemeralContainers", eph);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(json_get(new, "spec"), "ephemeralContainers");
}

static void check_one(const cJSON *spec, const cJSON *ec, int i, struct api_error *e)
{
	const char *name = json_get_str(ec, "name", "");
	const char *target = json_get_str(ec, "targetContainerName", "");
	const cJSON *eph = json_get(spec, "ephemeralContainers"), *vm;
	char f[EPH_FIELD_MAX];
	int k = 0;

	snprintf(f, sizeof(f), "spec.ephemeralContainers[%d].name", i);
	if (by_name(json_get(spec, "containers"), name) || by_name(json_get(spec, "initContainers"), name) ||
	    by_name(eph, name) != ec)
		api_error_add_cause(e, "FieldValueDuplicate", f, "Duplicate value: \"%s\"", name);
	if (*target && !by_name(json_get(spec, "containers"), target) &&
	    !by_name(json_get(spec, "initContainers"), target)) {
		snprintf(f, sizeof(f), "spec.ephemeralContainers[%d].targetContainerName", i);
		api_error_add_cause(e, "FieldValueNotFound", f, "Not found: \"%s\"", target);
	}
	for (size_t j = 0; j < ARRAY_SIZE(forbidden_fields); j++)
		if (!zero_value(json_get(ec, forbidden_fields[j]))) {
			snprintf(f, sizeof(f), "spec.ephemeralContainers[%d].%s", i, forbidden_fields[j]);
			field_forbidden(e, f, "cannot be set for an Ephemeral Container");
		}
	cJSON_ArrayForEach(vm, json_get(ec, "volumeMounts")) {
		static const char *const sub[] = { "subPath", "subPathExpr" };

		for (size_t j = 0; j < ARRAY_SIZE(sub); j++)
			if (!zero_value(json_get(vm, sub[j]))) {
				snprintf(f, sizeof(f), "spec.ephemeralContainers[%d].volumeMounts[%d].%s", i, k,
					 sub[j]);
				field_forbidden(e, f, "cannot be set for an Ephemeral Container");
			}
		k++;
	}
}

void pods_validate_ephemeral(const cJSON *pod, struct api_error *e)
{
	const cJSON *spec = json_get(pod, "spec"), *it;
	int i = 0;

	cJSON_ArrayForEach(it, json_get(spec, "ephemeralContainers"))
		check_one(spec, it, i++, e);
}

void pods_validate_ephemeral_update(const cJSON *new, const cJSON *old, struct api_error *e)
{
	const cJSON *now = json_path(new, "spec.ephemeralContainers"), *it;

	if (json_get(json_path(old, "metadata.annotations"), "kubernetes.io/config.mirror")) {
		field_forbidden(e, "", "static pods do not support ephemeral containers");
		return;
	}
	pods_validate_ephemeral(new, e);
	/* patches do not keep the order: each existing one is looked up by name */
	cJSON_ArrayForEach(it, json_path(old, "spec.ephemeralContainers")) {
		const char *name = json_get_str(it, "name", "");
		const cJSON *n = by_name(now, name);
		char *msg;

		if (n && json_equal(n, it))
			continue;
		msg = xasprintf("existing ephemeral containers \"%s\" may not be %s\n", name,
				n ? "changed" : "removed");
		field_forbidden(e, "spec.ephemeralContainers", msg);
		free(msg);
	}
}
