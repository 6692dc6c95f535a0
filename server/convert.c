#include "convert.h"
#include "lib/json.h"
#include "lib/util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- small tree helpers ---- */

/* Moves o[from] to o[to] (replacing it); nothing when o[from] is absent. */
static void rename_key(cJSON *o, const char *from, const char *to)
{
	cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(o, from);

	if (v)
		json_set(o, to, v);
}

/* A copy of the item at dotted path of o, or NULL when absent. */
static cJSON *dup_path(const cJSON *o, const char *path)
{
	const cJSON *v = json_path(o, path);

	return v ? cJSON_Duplicate(v, 1) : NULL;
}

/* Sets o.<dotted path> = v (owned), creating intermediate objects. */
static void set_path(cJSON *o, const char *path, cJSON *v)
{
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		char *key = xstrndup(path, (size_t)(dot - path));

		o = json_obj(o, key);
		free(key);
		path = dot + 1;
	}
	json_set(o, path, v);
}

/* Copies src[key] to dst[key] when present. */
static void copy_key(cJSON *dst, const cJSON *src, const char *key)
{
	const cJSON *v = json_get(src, key);

	if (v)
		json_set(dst, key, cJSON_Duplicate(v, 1));
}

static bool is_obj_or_absent(const cJSON *v)
{
	return !v || cJSON_IsObject(v) || cJSON_IsNull(v);
}

/* ---- events ---- */

/* core/v1 name, events.k8s.io/v1 name */
static const char *const event_fields[][2] = {
	{ "involvedObject", "regarding" },
	{ "message", "note" },
	{ "source", "deprecatedSource" },
	{ "firstTimestamp", "deprecatedFirstTimestamp" },
	{ "lastTimestamp", "deprecatedLastTimestamp" },
	{ "count", "deprecatedCount" },
	{ "reportingComponent", "reportingController" },
};

static int event_convert(cJSON *o, bool to_events)
{
	for (size_t i = 0; i < ARRAY_SIZE(event_fields); i++) {
		const char *from = event_fields[i][to_events ? 0 : 1], *to = event_fields[i][to_events ? 1 : 0];

		cJSON_DeleteItemFromObjectCaseSensitive(o, to);
		rename_key(o, from, to);
	}
	return 0;
}

static int event_to_events_v1(cJSON *o) { return event_convert(o, true); }
static int event_to_core_v1(cJSON *o) { return event_convert(o, false); }

/* ---- HPA metrics: v2 <-> v1 (the v2beta1 shape the annotations use) ---- */

#define ANN_METRICS "autoscaling.alpha.kubernetes.io/metrics"
#define ANN_CURRENT "autoscaling.alpha.kubernetes.io/current-metrics"
#define ANN_CONDITIONS "autoscaling.alpha.kubernetes.io/conditions"
#define ANN_BEHAVIOR "autoscaling.alpha.kubernetes.io/behavior"

static const char *const roundtrip_annotations[] = {
	ANN_METRICS, ANN_CURRENT, ANN_CONDITIONS, ANN_BEHAVIOR,
	"autoscaling.alpha.kubernetes.io/scale-down-tolerance",
	"autoscaling.alpha.kubernetes.io/scale-up-tolerance",
};

/* One metric source: its member name and (v2 path, v1 key) field pairs. */
struct metric_map {
	const char *type, *member;
	const char *fields[5][2];
};

static const struct metric_map spec_maps[] = {
	{ "Object", "object", { { "describedObject", "target" }, { "metric.name", "metricName" },
		{ "metric.selector", "selector" }, { "target.value", "targetValue" },
		{ "target.averageValue", "averageValue" } } },
	{ "Pods", "pods", { { "metric.name", "metricName" }, { "metric.selector", "selector" },
		{ "target.averageValue", "targetAverageValue" } } },
	{ "Resource", "resource", { { "name", "name" },
		{ "target.averageUtilization", "targetAverageUtilization" },
		{ "target.averageValue", "targetAverageValue" } } },
	{ "ContainerResource", "containerResource", { { "name", "name" }, { "container", "container" },
		{ "target.averageUtilization", "targetAverageUtilization" },
		{ "target.averageValue", "targetAverageValue" } } },
	{ "External", "external", { { "metric.name", "metricName" }, { "metric.selector", "metricSelector" },
		{ "target.value", "targetValue" }, { "target.averageValue", "targetAverageValue" } } },
};

static const struct metric_map status_maps[] = {
	{ "Object", "object", { { "describedObject", "target" }, { "metric.name", "metricName" },
		{ "metric.selector", "selector" }, { "current.value", "currentValue" },
		{ "current.averageValue", "averageValue" } } },
	{ "Pods", "pods", { { "metric.name", "metricName" }, { "metric.selector", "selector" },
		{ "current.averageValue", "currentAverageValue" } } },
	{ "Resource", "resource", { { "name", "name" },
		{ "current.averageUtilization", "currentAverageUtilization" },
		{ "current.averageValue", "currentAverageValue" } } },
	{ "ContainerResource", "containerResource", { { "name", "name" }, { "container", "container" },
		{ "current.averageUtilization", "currentAverageUtilization" },
		{ "current.averageValue", "currentAverageValue" } } },
	{ "External", "external", { { "metric.name", "metricName" }, { "metric.selector", "metricSelector" },
		{ "current.value", "currentValue" }, { "current.averageValue", "currentAverageValue" } } },
};

_Static_assert(ARRAY_SIZE(spec_maps) == ARRAY_SIZE(status_maps), "one map per metric source type");

static const struct metric_map *metric_map_find(const struct metric_map *maps, const char *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(spec_maps); i++)
		if (type && !strcmp(maps[i].type, type))
			return &maps[i];
	return NULL;
}

/* v2 target.type, derived as upstream does from the v1 fields present. */
static const char *target_type(const char *type, const cJSON *target)
{
	if (!strcmp(type, "Resource") || !strcmp(type, "ContainerResource"))
		return json_get(target, "averageUtilization") ? "Utilization" : "AverageValue";
	if (!strcmp(type, "Object"))
		return json_get(target, "averageValue") ? "AverageValue" : "Value";
	if (!strcmp(type, "External"))
		return json_get(target, "value") ? "Value" : "AverageValue";
	return "AverageValue";
}

/* One metric (spec or status, per maps) to v1 (to_v1) or to v2; a new item. */
static cJSON *metric_convert(const cJSON *m, const struct metric_map *maps, bool to_v1, bool spec)
{
	const char *type = json_get_str(m, "type", NULL);
	const struct metric_map *mm = metric_map_find(maps, type);
	const cJSON *src;
	cJSON *out, *dst;

	if (!mm || !cJSON_IsObject(src = json_get(m, mm->member)))
		return cJSON_Duplicate(m, 1);	/* unknown: carried as is */
	out = cJSON_CreateObject();
	json_set_str(out, "type", type);
	dst = json_obj(out, mm->member);
	for (size_t i = 0; i < ARRAY_SIZE(mm->fields) && mm->fields[i][0]; i++) {
		const char *v2 = mm->fields[i][0], *v1 = mm->fields[i][1];

		if (to_v1 && json_path(src, v2))
			json_set(dst, v1, dup_path(src, v2));
		else if (!to_v1 && json_get(src, v1))
			set_path(dst, v2, cJSON_Duplicate(json_get(src, v1), 1));
	}
	if (!to_v1 && spec)
		json_set_str(json_obj(dst, "target"), "type", target_type(type, json_get(dst, "target")));
	return out;
}

static cJSON *metrics_convert(const cJSON *arr, const struct metric_map *maps, bool to_v1, bool spec,
			      bool skip_cpu_util)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *m;

	cJSON_ArrayForEach(m, arr) {
		const cJSON *r = json_get(m, "resource");

		if (skip_cpu_util && !strcmp(json_get_str(m, "type", ""), "Resource") &&
		    !strcmp(json_get_str(r, "name", ""), "cpu") && json_path(r, "target.averageUtilization"))
			continue;
		cJSON_AddItemToArray(out, metric_convert(m, maps, to_v1, spec));
	}
	return out;
}

/* ---- HPA behavior: the annotation holds Go field names ---- */

static const char *const behavior_keys[] = { "scaleUp", "scaleDown" };
static const char *const rules_keys[] = { "stabilizationWindowSeconds", "selectPolicy", "policies", "tolerance" };
static const char *const policy_keys[] = { "type", "value", "periodSeconds" };

static char *go_name(const char *key)
{
	char *s = xstrdup(key);

	s[0] = (char)(s[0] >= 'a' && s[0] <= 'z' ? s[0] - 32 : s[0]);
	return s;
}

/* Copies the keys of src into a new object under their Go names, absent
 * ones as null (Go marshals nil pointers so); sub encodes nested values. */
static cJSON *go_encode(const cJSON *src, const char *const *keys, size_t n,
			cJSON *(*sub)(const char *key, const cJSON *v))
{
	cJSON *out = cJSON_CreateObject();

	for (size_t i = 0; i < n; i++) {
		const cJSON *v = json_get(src, keys[i]);
		char *k = go_name(keys[i]);

		json_set(out, k, !v || cJSON_IsNull(v) ? cJSON_CreateNull() : sub ? sub(keys[i], v)
										     : cJSON_Duplicate(v, 1));
		free(k);
	}
	return out;
}

/* Reads src back as encoding/json does: keys matched case-insensitively,
 * null and unknown keys dropped. A new object. */
static cJSON *go_decode(const cJSON *src, const char *const *keys, size_t n,
			cJSON *(*sub)(const char *key, const cJSON *v))
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *it;

	cJSON_ArrayForEach(it, src)
		for (size_t i = 0; i < n; i++)
			if (it->string && !strcasecmp(it->string, keys[i]) && !cJSON_IsNull(it)) {
				json_set(out, keys[i], sub ? sub(keys[i], it) : cJSON_Duplicate(it, 1));
				break;
			}
	return out;
}

/* encoding/json's encode (go_encode) or decode (go_decode) of an object. */
typedef cJSON *go_coder(const cJSON *src, const char *const *keys, size_t n,
			cJSON *(*sub)(const char *key, const cJSON *v));

/* A scaling rule's member: "policies" is a list of policy objects. */
static cJSON *rules_member(const char *key, const cJSON *v, go_coder *code)
{
	cJSON *arr;
	const cJSON *p;

	if (strcmp(key, "policies") || !cJSON_IsArray(v))
		return cJSON_Duplicate(v, 1);
	arr = cJSON_CreateArray();
	cJSON_ArrayForEach(p, v)
		cJSON_AddItemToArray(arr, code(p, policy_keys, ARRAY_SIZE(policy_keys), NULL));
	return arr;
}

static cJSON *encode_rules_member(const char *key, const cJSON *v)
{
	return rules_member(key, v, go_encode);
}

static cJSON *decode_rules_member(const char *key, const cJSON *v)
{
	return rules_member(key, v, go_decode);
}

static cJSON *encode_behavior_member(const char *key, const cJSON *v)
{
	(void)key;
	return go_encode(v, rules_keys, ARRAY_SIZE(rules_keys), encode_rules_member);
}

static cJSON *decode_behavior_member(const char *key, const cJSON *v)
{
	(void)key;
	return go_decode(v, rules_keys, ARRAY_SIZE(rules_keys), decode_rules_member);
}

/* ---- HPA annotations ---- */

static void drop_roundtrip(cJSON *o)
{
	cJSON *meta = json_get(o, "metadata"), *ann = json_get(meta, "annotations");
	bool removed = false;

	if (!cJSON_IsObject(ann))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(roundtrip_annotations); i++)
		if (json_get(ann, roundtrip_annotations[i])) {
			cJSON_DeleteItemFromObjectCaseSensitive(ann, roundtrip_annotations[i]);
			removed = true;
		}
	if (removed && !ann->child)
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
}

/* Stores v (consumed) compactly serialized as annotation key. */
static void annotate(cJSON *o, const char *key, cJSON *v)
{
	char *s = json_print(v);

	json_set_str(json_obj(json_obj(o, "metadata"), "annotations"), key, s);
	free(s);
	cJSON_Delete(v);
}

/* The annotation parsed, when it is JSON of the wanted type; else NULL. */
static cJSON *annotation_json(const cJSON *o, const char *key, bool array)
{
	const cJSON *v = json_get(json_path(o, "metadata.annotations"), key);
	cJSON *r;

	if (!cJSON_IsString(v) || !(r = json_parse(v->valuestring, strlen(v->valuestring))))
		return NULL;
	if (array ? cJSON_IsArray(r) : cJSON_IsObject(r))
		return r;
	cJSON_Delete(r);
	return NULL;
}

/* ---- HPA v2 <-> v1 ---- */

static bool is_cpu_resource(const cJSON *m)
{
	return !strcmp(json_get_str(m, "type", ""), "Resource") &&
	       !strcmp(json_get_str(json_get(m, "resource"), "name", ""), "cpu");
}

static int hpa_check(const cJSON *o)
{
	const cJSON *spec = json_get(o, "spec"), *status = json_get(o, "status");
	const cJSON *m = json_get(spec, "metrics"), *cm = json_get(status, "currentMetrics");

	if (!is_obj_or_absent(spec) || !is_obj_or_absent(status) || !is_obj_or_absent(json_get(o, "metadata")))
		return -EINVAL;
	if ((m && !cJSON_IsArray(m) && !cJSON_IsNull(m)) || (cm && !cJSON_IsArray(cm) && !cJSON_IsNull(cm)))
		return -EINVAL;
	return 0;
}

static void copy_common(cJSON *spec, const cJSON *old_spec, cJSON *status, const cJSON *old_status)
{
	static const char *const spec_keys[] = { "scaleTargetRef", "minReplicas", "maxReplicas" };
	static const char *const status_keys[] = { "observedGeneration", "lastScaleTime", "currentReplicas",
						   "desiredReplicas" };

	for (size_t i = 0; spec && i < ARRAY_SIZE(spec_keys); i++)
		copy_key(spec, old_spec, spec_keys[i]);
	for (size_t i = 0; status && i < ARRAY_SIZE(status_keys); i++)
		copy_key(status, old_status, status_keys[i]);
}

static int hpa_to_v1(cJSON *o)
{
	const cJSON *spec = json_get(o, "spec"), *status = json_get(o, "status"), *m;
	cJSON *nspec = cJSON_CreateObject(), *nstatus = cJSON_IsObject(status) ? cJSON_CreateObject() : NULL, *other;
	int ret = hpa_check(o);

	if (ret) {
		cJSON_Delete(nspec);
		cJSON_Delete(nstatus);
		return ret;
	}
	drop_roundtrip(o);
	copy_common(nspec, spec, nstatus, status);
	cJSON_ArrayForEach(m, json_get(spec, "metrics"))
		if (is_cpu_resource(m)) {
			const cJSON *u = json_path(m, "resource.target.averageUtilization");

			if (u)
				json_set(nspec, "targetCPUUtilizationPercentage", cJSON_Duplicate(u, 1));
			break;
		}
	other = metrics_convert(json_get(spec, "metrics"), spec_maps, true, true, true);
	cJSON_GetArraySize(other) ? annotate(o, ANN_METRICS, other) : cJSON_Delete(other);
	if (cJSON_IsObject(json_get(spec, "behavior")))
		annotate(o, ANN_BEHAVIOR, go_encode(json_get(spec, "behavior"), behavior_keys,
						    ARRAY_SIZE(behavior_keys), encode_behavior_member));
	cJSON_ArrayForEach(m, json_get(status, "currentMetrics")) {
		const cJSON *u = json_path(m, "resource.current.averageUtilization");

		if (is_cpu_resource(m) && u)
			json_set(nstatus, "currentCPUUtilizationPercentage", cJSON_Duplicate(u, 1));
	}
	if (cJSON_GetArraySize(json_get(status, "currentMetrics")))
		annotate(o, ANN_CURRENT, metrics_convert(json_get(status, "currentMetrics"), status_maps,
							 true, false, false));
	if (cJSON_GetArraySize(json_get(status, "conditions")))
		annotate(o, ANN_CONDITIONS, cJSON_Duplicate(json_get(status, "conditions"), 1));
	json_set(o, "spec", nspec);
	if (nstatus)
		json_set(o, "status", nstatus);
	return 0;
}

/* {type: Resource, resource: {name: cpu, <which>: {[type: Utilization,] averageUtilization: pct}}} */
static cJSON *cpu_metric(const char *which, const cJSON *pct)
{
	cJSON *m = cJSON_CreateObject(), *r = json_obj(m, "resource"), *t;

	json_set_str(m, "type", "Resource");
	json_set_str(r, "name", "cpu");
	t = json_obj(r, which);
	if (!strcmp(which, "target"))
		json_set_str(t, "type", "Utilization");
	json_set(t, "averageUtilization", pct ? cJSON_Duplicate(pct, 1) : cJSON_CreateNumber(80));
	return m;
}

static void hpa_status_to_v2(cJSON *o, const cJSON *status)
{
	cJSON *cur = annotation_json(o, ANN_CURRENT, true), *conds = annotation_json(o, ANN_CONDITIONS, true);
	const cJSON *pct = json_get(status, "currentCPUUtilizationPercentage");
	cJSON *nstatus;

	if (!cJSON_IsObject(status) && !cur && !conds)
		return;
	nstatus = cJSON_CreateObject();
	copy_common(NULL, NULL, nstatus, status);
	if (cur) {
		json_set(nstatus, "currentMetrics", metrics_convert(cur, status_maps, false, false, false));
		cJSON_Delete(cur);
	} else if (cJSON_IsNumber(pct)) {
		cJSON *arr = cJSON_CreateArray();

		cJSON_AddItemToArray(arr, cpu_metric("current", pct));
		json_set(nstatus, "currentMetrics", arr);
	}
	if (conds)
		json_set(nstatus, "conditions", conds);
	json_set(o, "status", nstatus);
}

static int hpa_to_v2(cJSON *o)
{
	const cJSON *spec = json_get(o, "spec"), *pct = json_get(spec, "targetCPUUtilizationPercentage");
	cJSON *nspec, *metrics, *ann, *behavior;
	int ret = hpa_check(o);

	if (ret)
		return ret;
	nspec = cJSON_CreateObject();
	copy_common(nspec, spec, NULL, NULL);
	ann = annotation_json(o, ANN_METRICS, true);
	metrics = metrics_convert(ann, spec_maps, false, true, false);
	cJSON_Delete(ann);
	if (cJSON_IsNumber(pct))
		cJSON_AddItemToArray(metrics, cpu_metric("target", pct));
	if (!cJSON_GetArraySize(metrics))
		cJSON_AddItemToArray(metrics, cpu_metric("target", NULL));
	json_set(nspec, "metrics", metrics);
	if ((ann = annotation_json(o, ANN_BEHAVIOR, false))) {
		behavior = go_decode(ann, behavior_keys, ARRAY_SIZE(behavior_keys), decode_behavior_member);
		behavior->child ? json_set(nspec, "behavior", behavior) : cJSON_Delete(behavior);
		cJSON_Delete(ann);
	}
	hpa_status_to_v2(o, json_get(o, "status"));
	json_set(o, "spec", nspec);
	drop_roundtrip(o);
	return 0;
}

/* ---- the conversion table ---- */

struct conversion {
	const char *kind;
	const char *from_group, *from_version, *to_group, *to_version;
	int (*fn)(cJSON *obj);	/* converts in place; 0 or -EINVAL */
};

static const struct conversion conversions[] = {
	{ "Event", "", "v1", "events.k8s.io", "v1", event_to_events_v1 },
	{ "Event", "events.k8s.io", "v1", "", "v1", event_to_core_v1 },
	{ "HorizontalPodAutoscaler", "autoscaling", "v2", "autoscaling", "v1", hpa_to_v1 },
	{ "HorizontalPodAutoscaler", "autoscaling", "v1", "autoscaling", "v2", hpa_to_v2 },
};

struct gv {
	char group[128];
	const char *version;
};

static int gv_parse(const char *api_version, struct gv *gv)
{
	const char *slash = strchr(api_version, '/');
	size_t n = slash ? (size_t)(slash - api_version) : 0;

	if (n >= sizeof(gv->group) || !*api_version)
		return -EINVAL;
	memcpy(gv->group, api_version, n);
	gv->group[n] = '\0';
	gv->version = slash ? slash + 1 : api_version;
	return 0;
}

static void set_api_version(cJSON *o, const char *group, const char *version)
{
	char *av = *group ? xasprintf("%s/%s", group, version) : xstrdup(version);

	json_set_str(o, "apiVersion", av);
	free(av);
}

/* Converts one object (a copy, owned by the caller) from gv to group/version. */
static int convert_one(cJSON *o, const char *kind, const struct gv *from, const char *group,
		       const char *version)
{
	if (!cJSON_IsObject(o))
		return -EINVAL;
	if (!strcmp(from->group, group) && !strcmp(from->version, version))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(conversions); i++) {
		const struct conversion *c = &conversions[i];

		if (!strcmp(c->kind, kind) && !strcmp(c->from_group, from->group) &&
		    !strcmp(c->from_version, from->version) && !strcmp(c->to_group, group) &&
		    !strcmp(c->to_version, version))
			return c->fn(o);
	}
	return -ENOTSUP;
}

/* Items carry their own apiVersion/kind or inherit the list's. */
static int convert_items(cJSON *list, const char *list_kind, const struct gv *from, const char *group,
			 const char *version)
{
	char *kind = xstrndup(list_kind, strlen(list_kind) - strlen("List"));
	cJSON *item;
	int ret = 0;

	cJSON_ArrayForEach(item, json_get(list, "items")) {
		struct gv igv = *from;
		const char *av = json_get_str(item, "apiVersion", NULL);

		if (av && (ret = gv_parse(av, &igv)))
			break;
		if ((ret = convert_one(item, json_get_str(item, "kind", kind), &igv, group, version)))
			break;
		if (av)
			set_api_version(item, group, version);
	}
	free(kind);
	return ret;
}

int convert_object(cJSON *obj, const char *group, const char *version)
{
	const char *av = json_get_str(obj, "apiVersion", NULL), *kind = json_get_str(obj, "kind", NULL);
	cJSON *copy, *tmp;
	struct gv from;
	int ret;

	if (!cJSON_IsObject(obj) || !av || !kind || gv_parse(av, &from))
		return -EINVAL;
	if (!strcmp(from.group, group) && !strcmp(from.version, version))
		return 0;
	copy = cJSON_Duplicate(obj, 1);
	if (strlen(kind) > 4 && !strcmp(kind + strlen(kind) - 4, "List") && cJSON_IsArray(json_get(obj, "items")))
		ret = convert_items(copy, kind, &from, group, version);
	else
		ret = convert_one(copy, kind, &from, group, version);
	if (!ret) {
		set_api_version(copy, group, version);
		tmp = obj->child;	/* swap the contents: obj takes the converted members */
		obj->child = copy->child;
		copy->child = tmp;
	}
	cJSON_Delete(copy);
	return ret;
}

const char *convert_storage_version(const char *group, const char *resource, const char **storage_group)
{
	static const struct {
		const char *group, *resource, *storage_group, *storage_version;
	} stored[] = {
		{ "", "events", "", "v1" },
		{ "events.k8s.io", "events", "", "v1" },
		{ "autoscaling", "horizontalpodautoscalers", "autoscaling", "v2" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(stored); i++)
		if (!strcmp(stored[i].group, group) && !strcmp(stored[i].resource, resource)) {
			if (storage_group)
				*storage_group = stored[i].storage_group;
			return stored[i].storage_version;
		}
	if (storage_group)
		*storage_group = group;
	return NULL;
}

int convert_to_storage(cJSON *obj, const char *group, const char *resource)
{
	const char *sg, *sv = convert_storage_version(group, resource, &sg);

	return sv ? convert_object(obj, sg, sv) : 0;
}
