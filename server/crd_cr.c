/*
 * server/crd_cr.c - what differs for a custom resource on the generic REST
 * path: read-path pruning and defaulting, the storage version, the scale
 * subresource and additionalPrinterColumns.
 */
#include "crd.h"
#include "status.h"
#include "validate.h"
#include "server/gen/schemas.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CRD_JSONPATH_MAX 256	/* bytes of a printer column / scale path */

static const struct schema *object_meta(void)
{
	static const struct schema *meta;

	if (!meta)
		meta = schema_def_lookup(gen_defs, gen_ndefs,
					 "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
	return meta;
}

static void set_api_version(cJSON *obj, const char *group, const char *version)
{
	char *av = xasprintf("%s/%s", group, version);

	json_set_str(obj, "apiVersion", av);
	free(av);
}

void crd_decode(const struct api_resource *r, cJSON *obj)
{
	const struct crd_version *v = r->crd;
	struct schema_opts o = { .object_meta = object_meta(), .check_list_keys = true };

	if (!v || !cJSON_IsObject(obj))
		return;
	if (v->storage_schema) {
		schema_prune(v->storage_schema, obj, &o);
		schema_default(v->storage_schema, obj, &o);
	}
	set_api_version(obj, r->group, r->version);
}

void crd_to_storage(const struct api_resource *r, cJSON *obj)
{
	if (r->crd)
		set_api_version(obj, r->group, r->crd->storage_version);
}

/* ---- simple JSONPath: .a.b[0].c, optionally in braces ---- */

/* Splits the next step off *p: a key (into key) or an index (*idx >= 0). */
static int next_step(const char **p, char *key, size_t keylen, long *idx)
{
	const char *s = *p;
	size_t n = 0;

	*idx = -1;
	if (*s == '[') {
		char *end;

		*idx = strtol(s + 1, &end, 10);
		if (end == s + 1 || *end != ']' || *idx < 0)
			return -EINVAL;
		*p = end + 1;
		return 0;
	}
	if (*s != '.')
		return -EINVAL;
	s++;
	while (*s && *s != '.' && *s != '[') {
		if (*s == '*' || *s == '@' || *s == '?' || *s == ']' || *s == '(' ||
		    *s == '\'' || *s == '"' || *s == ' ' || n + 1 >= keylen)
			return -EINVAL;
		key[n++] = *s++;
	}
	key[n] = '\0';
	if (!n)
		return -EINVAL;
	*p = s;
	return 0;
}

/* Strips "{...}" into buf; NULL when malformed. */
static const char *unbrace(const char *path, char *buf, size_t len)
{
	size_t n = strlen(path);

	if (n >= len)
		return NULL;
	if (path[0] == '{') {
		if (n < 2 || path[n - 1] != '}')
			return NULL;
		memcpy(buf, path + 1, n - 2);
		buf[n - 2] = '\0';
		return buf;
	}
	memcpy(buf, path, n + 1);
	return buf;
}

int crd_jsonpath_check(const char *path)
{
	char buf[CRD_JSONPATH_MAX], key[CRD_JSONPATH_MAX];
	const char *p = unbrace(path, buf, sizeof(buf));
	long idx;

	if (!p || !*p || *p != '.')
		return -EINVAL;
	while (*p)
		if (next_step(&p, key, sizeof(key), &idx))
			return -EINVAL;
	return 0;
}

const cJSON *crd_jsonpath_get(const cJSON *obj, const char *path)
{
	char buf[CRD_JSONPATH_MAX], key[CRD_JSONPATH_MAX];
	const char *p = unbrace(path, buf, sizeof(buf));
	const cJSON *v = obj;
	long idx;

	if (!p || *p != '.')
		return NULL;
	while (*p && v) {
		if (next_step(&p, key, sizeof(key), &idx))
			return NULL;
		if (idx >= 0)
			v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, (int)idx) : NULL;
		else
			v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, key) : NULL;
	}
	return v;
}

/* Sets the value at a simple path of object keys, creating objects. */
static int jsonpath_set(cJSON *obj, const char *path, cJSON *val)
{
	char buf[CRD_JSONPATH_MAX], key[CRD_JSONPATH_MAX];
	const char *p = unbrace(path, buf, sizeof(buf));
	cJSON *v = obj;
	long idx;

	while (p && *p) {
		if (next_step(&p, key, sizeof(key), &idx) || idx >= 0 || !cJSON_IsObject(v))
			break;
		if (!*p) {
			json_set(v, key, val);
			return 0;
		}
		v = json_obj(v, key);
	}
	cJSON_Delete(val);
	return -EINVAL;
}

/* ---- scale ---- */

static int64_t int_at(const cJSON *obj, const char *path)
{
	const cJSON *v = path ? crd_jsonpath_get(obj, path) : NULL;

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

cJSON *crd_scale_of(const struct api_resource *r, const cJSON *obj)
{
	const struct crd_version *v = r->crd;
	cJSON *s = cJSON_CreateObject(), *meta = json_obj(s, "metadata");
	const cJSON *om = json_get(obj, "metadata");
	static const char *const keys[] = { "name", "namespace", "uid", "resourceVersion", "creationTimestamp" };
	const cJSON *sel = v->label_selector ? crd_jsonpath_get(obj, v->label_selector) : NULL;

	json_set_str(s, "kind", "Scale");
	json_set_str(s, "apiVersion", "autoscaling/v1");
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (json_get(om, keys[i]))
			json_set(meta, keys[i], cJSON_Duplicate(json_get(om, keys[i]), 1));
	json_set_int(json_obj(s, "spec"), "replicas", int_at(obj, v->spec_replicas));
	json_set_int(json_obj(s, "status"), "replicas", int_at(obj, v->status_replicas));
	if (cJSON_IsString(sel))
		json_set_str(json_obj(s, "status"), "selector", sel->valuestring);
	return s;
}

cJSON *crd_scale_apply(const struct api_resource *r, const cJSON *old,
		       const cJSON *scale, struct api_error *e)
{
	const cJSON *rep = json_path(scale, "spec.replicas");
	cJSON *new;

	if (rep && (!cJSON_IsNumber(rep) || rep->valuedouble < 0 ||
		    rep->valuedouble != floor(rep->valuedouble))) {
		field_invalid(e, "spec.replicas", rep, "must be greater than or equal to 0");
		api_error_invalid(e, "autoscaling", "Scale", json_get_str(json_get(old, "metadata"), "name", ""));
		return NULL;
	}
	new = cJSON_Duplicate(old, 1);
	if (rep && jsonpath_set(new, r->crd->spec_replicas, cJSON_CreateNumber(rep->valuedouble))) {
		cJSON_Delete(new);
		api_error_set(e, STATUS_INTERNAL_ERROR, "cannot set %s", r->crd->spec_replicas);
		return NULL;
	}
	return new;
}

/* ---- printer columns ---- */

/* A cell as apiextensions' table convertor makes it from a JSON value. */
static cJSON *cell_of(const char *type, const cJSON *v, int64_t now)
{
	if (!v || cJSON_IsNull(v))
		return cJSON_CreateNull();
	if (!strcmp(type, "integer") && cJSON_IsNumber(v)) {
		int64_t i;

		return json_int(v, &i) ? cJSON_CreateNumber(trunc(v->valuedouble)) : json_create_int(i);
	}
	if (!strcmp(type, "number") && cJSON_IsNumber(v))
		return cJSON_CreateNumber(v->valuedouble);
	if (!strcmp(type, "boolean") && cJSON_IsBool(v))
		return cJSON_CreateBool(cJSON_IsTrue(v));
	if (!strcmp(type, "date") && cJSON_IsString(v)) {
		int64_t t;
		char out[32];

		if (rfc3339_parse(v->valuestring, &t))
			return cJSON_CreateString("<invalid>");
		table_human_duration(now - t, out, sizeof(out));
		return cJSON_CreateString(out);
	}
	if (!strcmp(type, "string")) {
		char *s;
		cJSON *c;

		/* string columns print any value as JSONPath would */
		if (cJSON_IsString(v))
			return cJSON_CreateString(v->valuestring);
		s = json_print(v);
		c = cJSON_CreateString(s ? s : "");
		cJSON_free(s);
		return c;
	}
	return cJSON_CreateNull();
}

cJSON *crd__cell(const struct table_printer *p, size_t col, const cJSON *obj, int64_t now);
cJSON *crd__cell(const struct table_printer *p, size_t col, const cJSON *obj, int64_t now)
{
	const struct crd_version *v = container_of(p, struct crd_version, printer);

	return cell_of(p->cols[col].type, crd_jsonpath_get(obj, v->col_paths[col]), now);
}

bool crd_field_selectable(const struct api_resource *r, const char *field)
{
	const cJSON *it;

	if (!r->crd)
		return false;
	cJSON_ArrayForEach(it, r->crd->selectable) {
		const char *p = json_get_str(it, "jsonPath", "");

		if (*p == '.' && !strcmp(p + 1, field))
			return true;
	}
	return false;
}

const struct table_printer *crd_table_printer(const struct api_resource *r)
{
	if (r->crd)
		return &r->crd->printer;
	return table_printer_find(r->group, r->plural);
}
