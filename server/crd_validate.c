/*
 * server/crd_validate.c - CustomResourceDefinition objects: validation with
 * apiextensions-apiserver's messages, defaults, and the delete hooks (the
 * cleanup finalizer and the Terminating condition).
 */
#include "crd.h"
#include "apiserver.h"
#include "validate.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRD_PATH_MAX 128
#define CRD_FIELD_MAX 256	/* a field path built below a CRD_PATH_MAX base */

static void str_invalid(struct api_error *e, const char *field, const char *v, const char *why)
{
	cJSON *s = cJSON_CreateString(v);

	field_invalid(e, field, s, why);
	cJSON_Delete(s);
}

static const char *const label_msg =
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

static void check_label(struct api_error *e, const char *field, const cJSON *v)
{
	if (!cJSON_IsString(v) || !*v->valuestring)
		field_required(e, field, "");
	else if (!is_dns1123_label(v->valuestring))
		field_invalid(e, field, v, label_msg);
}

static bool kind_ok(const char *k)
{
	if (!isalpha((unsigned char)*k))
		return false;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k))
			return false;
	return true;
}

static void check_names(const cJSON *names, struct api_error *e)
{
	const char *kind = json_get_str(names, "kind", ""), *lk = json_get_str(names, "listKind", "");
	const cJSON *it;
	int i = 0;
	char f[CRD_PATH_MAX];

	check_label(e, "spec.names.plural", json_get(names, "plural"));
	if (json_get_str(names, "singular", NULL) && *json_get_str(names, "singular", ""))
		check_label(e, "spec.names.singular", json_get(names, "singular"));
	if (!*kind)
		field_required(e, "spec.names.kind", "");
	else if (!kind_ok(kind))
		str_invalid(e, "spec.names.kind", kind,
			    "may have mixed case, but should otherwise match: ^[a-zA-Z][a-zA-Z0-9]*$");
	if (*lk && !kind_ok(lk))
		str_invalid(e, "spec.names.listKind", lk,
			    "may have mixed case, but should otherwise match: ^[a-zA-Z][a-zA-Z0-9]*$");
	if (*kind && *lk && !strcmp(kind, lk))
		str_invalid(e, "spec.names.listKind", lk, "kind and listKind may not be the same or empty");
	cJSON_ArrayForEach(it, json_get(names, "shortNames")) {
		snprintf(f, sizeof(f), "spec.names.shortNames[%d]", i++);
		check_label(e, f, it);
	}
	i = 0;
	cJSON_ArrayForEach(it, json_get(names, "categories")) {
		snprintf(f, sizeof(f), "spec.names.categories[%d]", i++);
		check_label(e, f, it);
	}
}

static void check_columns(const cJSON *cols, const char *base, struct api_error *e)
{
	static const char *const types[] = { "integer", "number", "string", "boolean", "date", NULL };
	const cJSON *c;
	int i = 0;
	char f[CRD_FIELD_MAX];

	cJSON_ArrayForEach(c, cols) {
		const char *type = json_get_str(c, "type", ""), *jp = json_get_str(c, "jsonPath", "");
		bool ok = false;

		if (i >= CRD_MAX_COLUMNS) {
			snprintf(f, sizeof(f), "%s.additionalPrinterColumns", base);
			api_error_add_cause(e, "FieldValueTooMany", f, "Too many: %d: must have at most %d items",
					    cJSON_GetArraySize(cols), CRD_MAX_COLUMNS);
			return;
		}
		snprintf(f, sizeof(f), "%s.additionalPrinterColumns[%d].name", base, i);
		if (!*json_get_str(c, "name", ""))
			field_required(e, f, "");
		snprintf(f, sizeof(f), "%s.additionalPrinterColumns[%d].type", base, i);
		for (size_t k = 0; types[k]; k++)
			ok |= !strcmp(types[k], type);
		if (!*type)
			field_required(e, f, "");
		else if (!ok)
			field_not_supported(e, f, type, types);
		snprintf(f, sizeof(f), "%s.additionalPrinterColumns[%d].jsonPath", base, i);
		if (!*jp)
			field_required(e, f, "");
		else if (crd_jsonpath_check(jp))
			str_invalid(e, f, jp, "must be a simple json path starting with .");
		i++;
	}
}

static void check_scale(const cJSON *scale, const char *base, struct api_error *e)
{
	static const struct { const char *key, *under; bool required; } paths[] = {
		{ "specReplicasPath", ".spec.", true },
		{ "statusReplicasPath", ".status.", true },
		{ "labelSelectorPath", NULL, false },
	};
	char f[CRD_FIELD_MAX];

	if (!scale)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		const char *p = json_get_str(scale, paths[i].key, NULL);

		snprintf(f, sizeof(f), "%s.subresources.scale.%s", base, paths[i].key);
		if (!p) {
			if (paths[i].required)
				field_required(e, f, "");
		} else if (crd_jsonpath_check(p)) {
			str_invalid(e, f, p, "should be a json path");
		} else if (paths[i].under && strncmp(p, paths[i].under, strlen(paths[i].under))) {
			char why[64];

			snprintf(why, sizeof(why), "should be a json path under %.*s",
				 (int)strlen(paths[i].under) - 1, paths[i].under);
			str_invalid(e, f, p, why);
		}
	}
}

static void check_selectable(const cJSON *sel, const char *base, struct api_error *e)
{
	const cJSON *it;
	char f[CRD_FIELD_MAX];
	int i = 0;

	if (cJSON_GetArraySize(sel) > CRD_MAX_SELECTABLE) {
		snprintf(f, sizeof(f), "%s.selectableFields", base);
		api_error_add_cause(e, "FieldValueTooMany", f, "Too many: %d: must have at most %d items",
				    cJSON_GetArraySize(sel), CRD_MAX_SELECTABLE);
		return;
	}
	cJSON_ArrayForEach(it, sel) {
		const char *jp = json_get_str(it, "jsonPath", "");

		snprintf(f, sizeof(f), "%s.selectableFields[%d].jsonPath", base, i++);
		if (!*jp)
			field_required(e, f, "");
		else if (crd_jsonpath_check(jp) || strchr(jp, '[') || *jp == '{')
			str_invalid(e, f, jp, "must be a simple json path starting with .");
		else if (!strcmp(jp, ".metadata.name") || !strcmp(jp, ".metadata.namespace"))
			str_invalid(e, f, jp, "must not be metadata.name or metadata.namespace");
	}
}

static void check_version(const cJSON *v, int i, const cJSON *versions, struct api_error *e)
{
	char base[CRD_PATH_MAX], f[CRD_FIELD_MAX];
	const cJSON *sch = json_path(v, "schema.openAPIV3Schema"), *o;
	const char *name = json_get_str(v, "name", "");
	struct schema_errors errs = SCHEMA_ERRORS_INIT;
	int j = 0;

	snprintf(base, sizeof(base), "spec.versions[%d]", i);
	snprintf(f, sizeof(f), "%s.name", base);
	check_label(e, f, json_get(v, "name"));
	cJSON_ArrayForEach(o, versions) {
		if (j++ < i && !strcmp(json_get_str(o, "name", ""), name) && *name) {
			str_invalid(e, f, name, "must be unique");
			break;
		}
	}
	snprintf(f, sizeof(f), "%s.schema.openAPIV3Schema", base);
	if (!cJSON_IsObject(sch)) {
		field_required(e, f, "schemas are required");
	} else {
		schema_check_structural(sch, f, &errs);
		for (size_t k = 0; k < errs.nr; k++)
			api_error_add_cause(e, schema_reason_str(errs.v[k].reason), errs.v[k].field,
					    "%s", errs.v[k].message);
		if (!errs.nr) {
			struct schema *s = NULL;
			struct buf err = BUF_INIT;

			if (schema_parse(sch, &s, &err))
				api_error_add_cause(e, "FieldValueInvalid", f, "Invalid value: %s", buf_str(&err));
			schema_free(s);
			buf_release(&err);
		}
	}
	schema_errors_release(&errs);
	check_columns(json_get(v, "additionalPrinterColumns"), base, e);
	check_scale(json_path(v, "subresources.scale"), base, e);
	check_selectable(json_get(v, "selectableFields"), base, e);
}

static void check_versions(const cJSON *spec, struct api_error *e)
{
	const cJSON *versions = json_get(spec, "versions"), *v;
	int i = 0, storage = 0, served = 0;

	if (!cJSON_GetArraySize(versions)) {
		field_required(e, "spec.versions", "must have exactly one version marked as storage version");
		return;
	}
	if (cJSON_GetArraySize(versions) > CRD_MAX_VERSIONS) {
		api_error_add_cause(e, "FieldValueTooMany", "spec.versions", "Too many: %d: must have at most %d items",
				    cJSON_GetArraySize(versions), CRD_MAX_VERSIONS);
		return;
	}
	cJSON_ArrayForEach(v, versions) {
		storage += json_get_bool(v, "storage", false);
		served += json_get_bool(v, "served", false);
		check_version(v, i++, versions, e);
	}
	if (storage != 1)
		field_invalid(e, "spec.versions", versions, "must have exactly one version marked as storage version");
	if (!served)
		field_invalid(e, "spec.versions", versions, "must have at least one version marked as served");
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Groups of the Kubernetes project need an approval annotation (KEP 1111). */
static void check_protected(const cJSON *crd, const char *group, struct api_error *e)
{
	if (!has_suffix(group, ".k8s.io") && !has_suffix(group, ".kubernetes.io") &&
	    strcmp(group, "k8s.io") && strcmp(group, "kubernetes.io"))
		return;
	if (!json_get(json_path(crd, "metadata.annotations"), "api-approved.kubernetes.io"))
		field_required(e, "metadata.annotations[api-approved.kubernetes.io]",
			       "protected groups must have approval annotation \"api-approved.kubernetes.io\", see https://github.com/kubernetes/enhancements/pull/1111");
}

void crd_validate(const cJSON *crd, const cJSON *old, struct api_error *e)
{
	static const char *const scopes[] = { "Cluster", "Namespaced", NULL };
	static const char *const strategies[] = { "None", NULL };
	const cJSON *spec = json_get(crd, "spec"), *names = json_get(spec, "names");
	const char *group = json_get_str(spec, "group", ""), *scope = json_get_str(spec, "scope", "");
	const char *name = json_get_str(json_get(crd, "metadata"), "name", "");
	const char *strategy = json_path(spec, "conversion.strategy") ?
		json_get_str(json_get(spec, "conversion"), "strategy", "") : "None";
	char *want = xasprintf("%s.%s", json_get_str(names, "plural", ""), group);

	if (*name && strcmp(name, want))
		str_invalid(e, "metadata.name", name, "must be spec.names.plural+\".\"+spec.group");
	free(want);
	if (!*group)
		field_required(e, "spec.group", "");
	else if (!is_dns1123_subdomain(group))
		str_invalid(e, "spec.group", group,
			    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
	else if (!strchr(group, '.'))
		str_invalid(e, "spec.group", group, "should be a domain with at least one dot");
	else
		check_protected(crd, group, e);
	if (!*scope)
		field_required(e, "spec.scope", "");
	else if (strcmp(scope, "Cluster") && strcmp(scope, "Namespaced"))
		field_not_supported(e, "spec.scope", scope, scopes);
	if (strcmp(strategy, "None"))
		field_not_supported(e, "spec.conversion.strategy", strategy, strategies);
	check_names(names, e);
	check_versions(spec, e);
	if (old) {
		const cJSON *os = json_get(old, "spec");

		if (strcmp(group, json_get_str(os, "group", group)))
			str_invalid(e, "spec.group", group, "field is immutable");
		if (strcmp(json_get_str(names, "plural", ""), json_path(os, "names.plural") ?
			   json_get_str(json_get(os, "names"), "plural", "") : ""))
			str_invalid(e, "spec.names.plural", json_get_str(names, "plural", ""), "field is immutable");
	}
}

void crd_defaults(cJSON *crd)
{
	cJSON *spec = json_get(crd, "spec"), *names = json_get(spec, "names");
	const char *kind = json_get_str(names, "kind", NULL);

	if (!cJSON_IsObject(spec))
		return;
	if (cJSON_IsObject(names) && kind && *kind) {
		if (!json_get(names, "singular")) {
			char *s = xstrdup(kind);

			for (char *p = s; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			json_set_str(names, "singular", s);
			free(s);
		}
		if (!json_get(names, "listKind")) {
			char *lk = xasprintf("%sList", kind);

			json_set_str(names, "listKind", lk);
			free(lk);
		}
	}
	if (!json_get(spec, "conversion"))
		json_set_str(json_obj(spec, "conversion"), "strategy", "None");
}

/* ---- hooks ---- */

static void hook_validate(const cJSON *obj, const cJSON *old, struct api_error *e)
{
	crd_validate(obj, old, e);
}

static bool hook_graceful(const cJSON *obj)
{
	return !json_path(obj, "metadata.deletionTimestamp");
}

static void hook_delete_mark(struct api_call *c, cJSON *obj)
{
	cJSON *meta = json_obj(obj, "metadata"), *fin = json_get(meta, "finalizers");
	cJSON *status = json_obj(obj, "status"), *conds = json_get(status, "conditions"), *cond, *it;
	char ts[RFC3339_MAX];

	(void)c;
	if (!cJSON_IsArray(fin)) {
		fin = cJSON_CreateArray();
		json_set(meta, "finalizers", fin);
	}
	cJSON_ArrayForEach(it, fin)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, CRD_CLEANUP_FINALIZER))
			break;
	if (!it)
		cJSON_AddItemToArray(fin, cJSON_CreateString(CRD_CLEANUP_FINALIZER));
	if (!cJSON_IsArray(conds)) {
		conds = cJSON_CreateArray();
		json_set(status, "conditions", conds);
	}
	cond = cJSON_CreateObject();
	rfc3339_format((int64_t)wall_ns() / 1000000000 * 1000000000, ts);
	json_set_str(cond, "type", "Terminating");
	json_set_str(cond, "status", "True");
	json_set_str(cond, "lastTransitionTime", ts);
	json_set_str(cond, "reason", "InstanceDeletionPending");
	json_set_str(cond, "message",
		     "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon");
	cJSON_AddItemToArray(conds, cond);
}

const struct resource_hooks crd_hooks = {
	.defaults = crd_defaults,
	.validate = hook_validate,
	.graceful_delete = hook_graceful,
	.delete_mark = hook_delete_mark,
};
