#include "test.h"
#include "lib/schema.h"
#include "lib/buf.h"
#include "server/gen/schemas.h"

#include <errno.h>

#define META "io.k8s.apimachinery.pkg.apis.meta.v1."

static const struct schema *def(const char *name)
{
	const struct schema *s = schema_def_lookup(gen_defs, gen_ndefs, name);

	if (!s)
		test_fail(__FILE__, __LINE__, "no definition %s", name);
	return s;
}

static cJSON *parse(const char *json)
{
	cJSON *v = cJSON_Parse(json);

	if (!v)
		test_fail(__FILE__, __LINE__, "bad test JSON: %s", json);
	return v;
}

/* The error at `field`, or NULL. */
static const struct schema_error *err_at(const struct schema_errors *e, const char *field)
{
	for (size_t i = 0; i < e->nr; i++)
		if (!strcmp(e->v[i].field, field))
			return &e->v[i];
	return NULL;
}

static void dump(const struct schema_errors *e)
{
	for (size_t i = 0; i < e->nr; i++)
		fprintf(stderr, "  %s %s: %s\n", schema_reason_str(e->v[i].reason),
			e->v[i].field, e->v[i].message);
}

static const struct schema_resource *resource(const char *group, const char *plural)
{
	for (size_t i = 0; i < gen_nresources; i++)
		if (!strcmp(gen_resources[i].gvk.group, group) &&
		    !strcmp(gen_resources[i].plural, plural))
			return &gen_resources[i];
	return NULL;
}

static const struct schema *walk(const struct schema *s, const char *path)
{
	char *dup = strdup(path), *save = NULL;
	struct schema_field f;

	for (char *t = strtok_r(dup, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
		if (schema_field(s, t, &f))
			test_fail(__FILE__, __LINE__, "no field %s in %s", t, path);
		s = f.schema;
		if (schema_items(s))
			s = schema_items(s);
	}
	free(dup);
	return s;
}

static void expect_merge(const struct schema *s, const char *field, unsigned patch,
			 const char *key, enum schema_list_type lt)
{
	struct schema_field f;

	ASSERT_OK(schema_field(s, field, &f));
	ASSERT_NOT_NULL(f.schema);
	ASSERT_EQ(f.patch, patch);
	if (key)
		ASSERT_STR_EQ(f.merge_key, key);
	else
		ASSERT_NULL(f.merge_key);
	ASSERT_EQ(f.list_type, lt);
}

TEST(schema_gen_merge_keys)
{
	const struct schema *pod = def("io.k8s.api.core.v1.Pod");
	const struct schema *spec = walk(pod, "spec");
	const struct schema *ctr = walk(pod, "spec.containers");
	struct schema_field f;

	expect_merge(spec, "containers", SCHEMA_PATCH_MERGE, "name", SCHEMA_LIST_MAP);
	expect_merge(spec, "volumes", SCHEMA_PATCH_MERGE | SCHEMA_PATCH_RETAIN_KEYS, "name",
		     SCHEMA_LIST_MAP);
	expect_merge(spec, "tolerations", 0, NULL, SCHEMA_LIST_ATOMIC);
	expect_merge(ctr, "ports", SCHEMA_PATCH_MERGE, "containerPort", SCHEMA_LIST_MAP);
	expect_merge(ctr, "env", SCHEMA_PATCH_MERGE, "name", SCHEMA_LIST_MAP);
	expect_merge(ctr, "volumeMounts", SCHEMA_PATCH_MERGE, "mountPath", SCHEMA_LIST_MAP);
	expect_merge(walk(def("io.k8s.api.core.v1.Service"), "spec"), "ports",
		     SCHEMA_PATCH_MERGE, "port", SCHEMA_LIST_MAP);
	ASSERT_OK(schema_field(walk(def("io.k8s.api.core.v1.Service"), "spec"), "ports", &f));
	ASSERT_STR_EQ(f.map_keys[0], "port");
	ASSERT_STR_EQ(f.map_keys[1], "protocol");
	ASSERT_NULL(f.map_keys[2]);
	/* a $ref with a patch strategy of its own */
	expect_merge(walk(def("io.k8s.api.apps.v1.Deployment"), "spec"), "strategy",
		     SCHEMA_PATCH_RETAIN_KEYS, NULL, SCHEMA_LIST_NONE);
	/* maps: labels values; ConfigMap data is a map of strings */
	ASSERT_OK(schema_field(walk(def("io.k8s.api.core.v1.ConfigMap"), "data"), "anykey", &f));
	ASSERT_NOT_NULL(f.schema);
	ASSERT_EQ(schema_field(ctr, "nosuchfield", &f), -ENOENT);
	ASSERT_EQ(schema_field(NULL, "x", &f), -ENOENT);
	ASSERT_NULL(f.schema);
}

TEST(schema_gen_resource_table)
{
	const struct schema_resource *pods = resource("", "pods");
	const struct schema_resource *deps = resource("apps", "deployments");
	const struct schema_resource *nodes = resource("", "nodes");
	bool exec = false, status = false, scale = false;

	ASSERT_NOT_NULL(pods);
	ASSERT_NOT_NULL(deps);
	ASSERT_NOT_NULL(nodes);
	ASSERT_NOT_NULL(resource("apiextensions.k8s.io", "customresourcedefinitions"));
	ASSERT_NOT_NULL(resource("rbac.authorization.k8s.io", "clusterrolebindings"));
	ASSERT_NULL(resource("", "componentstatuses"));
	ASSERT_TRUE(pods->namespaced);
	ASSERT_FALSE(nodes->namespaced);
	ASSERT_STR_EQ(pods->gvk.kind, "Pod");
	ASSERT_STR_EQ(pods->list_kind, "PodList");
	ASSERT_STR_EQ(pods->schema->name, "io.k8s.api.core.v1.Pod");
	ASSERT_STR_EQ(pods->list_schema->name, "io.k8s.api.core.v1.PodList");
	ASSERT_EQ(pods->verbs & SCHEMA_VERB_WATCH, SCHEMA_VERB_WATCH);
	ASSERT_EQ(pods->verbs & SCHEMA_VERB_DELETECOLLECTION, SCHEMA_VERB_DELETECOLLECTION);
	for (size_t i = 0; i < pods->nsubresources; i++) {
		const struct schema_subresource *s = &pods->subresources[i];

		if (!strcmp(s->name, "exec"))
			exec = (s->verbs & SCHEMA_VERB_CONNECT) && (s->verbs & SCHEMA_VERB_GET) &&
			       (s->verbs & SCHEMA_VERB_CREATE);
		if (!strcmp(s->name, "status"))
			status = s->schema == pods->schema && (s->verbs & SCHEMA_VERB_PATCH);
	}
	for (size_t i = 0; i < deps->nsubresources; i++)
		if (!strcmp(deps->subresources[i].name, "scale"))
			scale = !strcmp(deps->subresources[i].schema->name,
					"io.k8s.api.autoscaling.v1.Scale");
	ASSERT_TRUE(exec);
	ASSERT_TRUE(status);
	ASSERT_TRUE(scale);
	/* sorted by group, version (the lead's discovery relies on it) */
	for (size_t i = 1; i < gen_nresources; i++)
		ASSERT_TRUE(strcmp(gen_resources[i - 1].gvk.group, gen_resources[i].gvk.group) <= 0);
}

static const char *deployment_json =
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
	"\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"},\"creationTimestamp\":null},"
	"\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
	"\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":\"10%\"}},"
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
	"\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
	"{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"kubernetes.io/os\",\"operator\":\"In\",\"values\":[\"linux\"]}]}]}},"
	"\"podAntiAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":100,"
	"\"podAffinityTerm\":{\"topologyKey\":\"kubernetes.io/hostname\",\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}}}}]}},"
	"\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"topology.kubernetes.io/zone\","
	"\"whenUnsatisfiable\":\"ScheduleAnyway\",\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}}}],"
	"\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":1000,\"fsGroup\":2000,\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},"
	"\"volumes\":[{\"name\":\"cfg\",\"configMap\":{\"name\":\"web\"}},{\"name\":\"tmp\",\"emptyDir\":{\"sizeLimit\":\"1Gi\"}}],"
	"\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.27\","
	"\"ports\":[{\"containerPort\":80}],\"env\":[{\"name\":\"A\",\"value\":\"1\"},"
	"{\"name\":\"POD\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}],"
	"\"resources\":{\"limits\":{\"cpu\":1,\"memory\":\"128Mi\"},\"requests\":{\"cpu\":\"100m\"}},"
	"\"securityContext\":{\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":[\"ALL\"]}},"
	"\"readinessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":\"http\"}},"
	"\"volumeMounts\":[{\"name\":\"cfg\",\"mountPath\":\"/etc/web\"}]}]}}}}";

TEST(schema_validate_deployment_ok)
{
	const struct schema *d = def("io.k8s.api.apps.v1.Deployment");
	struct schema_opts o = { .object_meta = def(META "ObjectMeta") };
	struct schema_errors e = SCHEMA_ERRORS_INIT;
	cJSON *obj = parse(deployment_json);

	ASSERT_EQ(schema_unknown_fields(d, obj, &o, &e), 0);
	ASSERT_EQ(schema_prune(d, obj, &o), 0);
	schema_default(d, obj, &o);
	if (schema_validate(d, obj, &o, &e))
		dump(&e);
	ASSERT_EQ(e.nr, 0);
	/* null creationTimestamp was dropped, defaults filled in */
	ASSERT_NULL(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
						     "creationTimestamp"));
	schema_errors_release(&e);
	cJSON_Delete(obj);
}

TEST(schema_builtin_defaults)
{
	const struct schema *d = def("io.k8s.api.apps.v1.Deployment");
	cJSON *obj = parse("{\"spec\":{\"template\":{\"spec\":{\"containers\":"
			   "[{\"name\":\"a\",\"ports\":[{\"containerPort\":80}]}]}}}}");
	char *s;

	ASSERT_TRUE(schema_default(d, obj, NULL) > 0);
	s = cJSON_PrintUnformatted(obj);
	ASSERT_TRUE(strstr(s, "\"replicas\":1") != NULL);
	ASSERT_TRUE(strstr(s, "\"revisionHistoryLimit\":10") != NULL);
	ASSERT_TRUE(strstr(s, "\"progressDeadlineSeconds\":600") != NULL);
	ASSERT_TRUE(strstr(s, "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":\"25%\",\"maxUnavailable\":\"25%\"},"
			   "\"type\":\"RollingUpdate\"}") != NULL);
	ASSERT_TRUE(strstr(s, "\"restartPolicy\":\"Always\"") != NULL);
	ASSERT_TRUE(strstr(s, "\"dnsPolicy\":\"ClusterFirst\"") != NULL);
	ASSERT_TRUE(strstr(s, "\"securityContext\":{}") != NULL);
	ASSERT_TRUE(strstr(s, "\"terminationGracePeriodSeconds\":30") != NULL);
	ASSERT_TRUE(strstr(s, "\"terminationMessagePath\":\"/dev/termination-log\"") != NULL);
	ASSERT_TRUE(strstr(s, "\"protocol\":\"TCP\"") != NULL);
	/* no status invented: defaults apply only where the parent exists */
	ASSERT_NULL(strstr(s, "status"));
	cJSON_free(s);
	cJSON_Delete(obj);
}

TEST(schema_unknown_and_duplicate_fields)
{
	const struct schema *p = def("io.k8s.api.core.v1.Pod");
	struct schema_opts o = { .object_meta = def(META "ObjectMeta") };
	struct schema_errors e = SCHEMA_ERRORS_INIT;
	cJSON *obj = parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\",\"bogus\":1},"
			   "\"spec\":{\"foo\":1,\"containers\":[{\"name\":\"a\",\"image\":\"b\",\"bar\":true,"
			   "\"image\":\"c\"}],\"nodeSelector\":{\"k\":\"v\"}},\"extra\":{}}");

	ASSERT_EQ(schema_unknown_fields(p, obj, &o, &e), 5);
	ASSERT_STR_EQ(err_at(&e, "metadata.bogus")->message, "unknown field \"metadata.bogus\"");
	ASSERT_STR_EQ(err_at(&e, "spec.foo")->message, "unknown field \"spec.foo\"");
	ASSERT_STR_EQ(err_at(&e, "spec.containers[0].bar")->message,
		      "unknown field \"spec.containers[0].bar\"");
	ASSERT_EQ(err_at(&e, "spec.containers[0].image")->reason, SCHEMA_ERR_DUPLICATE_FIELD);
	ASSERT_STR_EQ(err_at(&e, "spec.containers[0].image")->message,
		      "duplicate field \"spec.containers[0].image\"");
	ASSERT_EQ(err_at(&e, "extra")->reason, SCHEMA_ERR_UNKNOWN_FIELD);
	schema_errors_release(&e);

	/* prune drops the same fields and keeps the last duplicate */
	ASSERT_EQ(schema_prune(p, obj, &o), 5);
	ASSERT_EQ(schema_unknown_fields(p, obj, &o, &e), 0);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(obj, "spec"), "containers"), 0),
		"image")->valuestring, "c");
	schema_errors_release(&e);
	cJSON_Delete(obj);

	/* preserve-unknown subtrees (RawExtension) are exempt */
	obj = parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"ControllerRevision\",\"revision\":1,"
		    "\"data\":{\"anything\":{\"goes\":[1,2]}}}");
	ASSERT_EQ(schema_unknown_fields(def("io.k8s.api.apps.v1.ControllerRevision"), obj, &o, &e), 0);
	ASSERT_EQ(schema_prune(def("io.k8s.api.apps.v1.ControllerRevision"), obj, &o), 0);
	cJSON_Delete(obj);
}

TEST(schema_type_errors)
{
	const struct schema *d = def("io.k8s.api.apps.v1.Deployment");
	struct schema_errors e = SCHEMA_ERRORS_INIT;
	cJSON *obj = parse("{\"spec\":{\"replicas\":\"three\",\"paused\":1.5,"
			   "\"selector\":{\"matchLabels\":{\"a\":5}},"
			   "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":true}},"
			   "\"template\":{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}}}");

	ASSERT_EQ(schema_validate(d, obj, NULL, &e), -EINVAL);
	ASSERT_EQ(err_at(&e, "spec.replicas")->reason, SCHEMA_ERR_TYPE_INVALID);
	ASSERT_STR_EQ(err_at(&e, "spec.replicas")->message,
		      "Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"");
	ASSERT_STR_EQ(err_at(&e, "spec.paused")->message,
		      "Invalid value: \"number\": spec.paused in body must be of type boolean: \"number\"");
	ASSERT_EQ(err_at(&e, "spec.selector.matchLabels[a]")->reason, SCHEMA_ERR_TYPE_INVALID);
	ASSERT_STR_EQ(err_at(&e, "spec.strategy.rollingUpdate.maxSurge")->message,
		      "Invalid value: \"boolean\": spec.strategy.rollingUpdate.maxSurge in body "
		      "must be of type integer,string: \"boolean\"");
	ASSERT_EQ(err_at(&e, "spec.template.spec.containers[0].name")->reason, SCHEMA_ERR_REQUIRED);
	ASSERT_STR_EQ(err_at(&e, "spec.template.spec.containers[0].name")->message, "Required value");
	ASSERT_STR_EQ(schema_reason_str(SCHEMA_ERR_REQUIRED), "FieldValueRequired");
	schema_errors_release(&e);
	cJSON_Delete(obj);
}

static const char *crd_schema =
	"{\"type\":\"object\",\"properties\":{"
	"\"spec\":{\"type\":\"object\",\"required\":[\"size\"],\"properties\":{"
	"  \"size\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10,\"default\":3},"
	"  \"mode\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"],\"default\":\"a\"},"
	"  \"name\":{\"type\":\"string\",\"maxLength\":5,\"minLength\":2,\"pattern\":\"^[a-z]+\\\\d*$\"},"
	"  \"ratio\":{\"type\":\"number\",\"exclusiveMaximum\":true,\"maximum\":1,\"multipleOf\":0.25},"
	"  \"tags\":{\"type\":\"array\",\"maxItems\":2,\"items\":{\"type\":\"string\"},\"x-kubernetes-list-type\":\"set\"},"
	"  \"ports\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"map\",\"x-kubernetes-list-map-keys\":[\"port\"],"
	"    \"items\":{\"type\":\"object\",\"properties\":{\"port\":{\"type\":\"integer\"},"
	"      \"protocol\":{\"type\":\"string\",\"default\":\"TCP\"}}}},"
	"  \"nested\":{\"type\":\"object\",\"default\":{},\"properties\":{"
	"    \"depth\":{\"type\":\"integer\",\"default\":2},"
	"    \"inner\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\",\"default\":\"y\"}}}}},"
	"  \"maybe\":{\"type\":\"string\",\"nullable\":true,\"default\":\"d\"},"
	"  \"nonnull\":{\"type\":\"string\",\"default\":\"filled\"},"
	"  \"gone\":{\"type\":\"string\"},"
	"  \"limits\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"object\","
	"    \"properties\":{\"max\":{\"type\":\"integer\",\"default\":7}}}},"
	"  \"port\":{\"x-kubernetes-int-or-string\":true},"
	"  \"free\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true},"
	"  \"embedded\":{\"type\":\"object\",\"x-kubernetes-embedded-resource\":true,"
	"    \"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}"
	"}},\"status\":{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}}}}}";

static struct schema *crd(void)
{
	cJSON *j = parse(crd_schema);
	struct schema *s = NULL;
	struct buf err = BUF_INIT;

	if (schema_parse(j, &s, &err))
		test_fail(__FILE__, __LINE__, "schema_parse: %s", buf_str(&err));
	buf_release(&err);
	cJSON_Delete(j);
	return s;
}

TEST(schema_crd_defaults)
{
	struct schema *s = crd();
	cJSON *obj = parse("{\"apiVersion\":\"x.io/v1\",\"kind\":\"Foo\",\"metadata\":{\"name\":\"f\"},"
			   "\"spec\":{\"ports\":[{\"port\":1},{\"port\":2,\"protocol\":\"UDP\"}],"
			   "\"maybe\":null,\"nonnull\":null,\"gone\":null,"
			   "\"limits\":{\"a\":{},\"b\":{\"max\":1}}}}");
	char *out;

	schema_default(s, obj, NULL);
	out = cJSON_PrintUnformatted(obj);
	ASSERT_STR_EQ(out, "{\"apiVersion\":\"x.io/v1\",\"kind\":\"Foo\",\"metadata\":{\"name\":\"f\"},"
		      "\"spec\":{\"ports\":[{\"port\":1,\"protocol\":\"TCP\"},{\"port\":2,\"protocol\":\"UDP\"}],"
		      "\"maybe\":null,\"nonnull\":\"filled\","
		      "\"limits\":{\"a\":{\"max\":7},\"b\":{\"max\":1}},"
		      "\"mode\":\"a\",\"nested\":{\"depth\":2},\"size\":3}}");
	cJSON_free(out);
	cJSON_Delete(obj);

	/* no spec: nothing is invented below the root; status not defaulted */
	obj = parse("{\"kind\":\"Foo\"}");
	ASSERT_EQ(schema_default(s, obj, NULL), 0);
	cJSON_Delete(obj);
	schema_free(s);
}

TEST(schema_crd_validation_messages)
{
	struct schema *s = crd();
	struct schema_opts o = { .check_list_keys = true };
	struct schema_errors e = SCHEMA_ERRORS_INIT;
	cJSON *obj = parse("{\"spec\":{\"size\":15,\"mode\":\"x\",\"name\":\"toolong1\","
			   "\"ratio\":1,\"tags\":[\"a\",\"a\",\"b\"],"
			   "\"ports\":[{\"port\":1},{\"port\":1}],\"port\":true}}");

	ASSERT_EQ(schema_validate(s, obj, &o, &e), -EINVAL);
	ASSERT_STR_EQ(err_at(&e, "spec.size")->message,
		      "Invalid value: 15: spec.size in body should be less than or equal to 10");
	ASSERT_EQ(err_at(&e, "spec.mode")->reason, SCHEMA_ERR_NOT_SUPPORTED);
	ASSERT_STR_EQ(err_at(&e, "spec.mode")->message,
		      "Unsupported value: \"x\": supported values: \"a\", \"b\"");
	ASSERT_EQ(err_at(&e, "spec.name")->reason, SCHEMA_ERR_TOO_LONG);
	ASSERT_STR_EQ(err_at(&e, "spec.name")->message, "Too long: may not be more than 5 bytes");
	ASSERT_STR_EQ(err_at(&e, "spec.ratio")->message,
		      "Invalid value: 1: spec.ratio in body should be less than 1");
	ASSERT_EQ(err_at(&e, "spec.tags")->reason, SCHEMA_ERR_TOO_MANY);
	ASSERT_STR_EQ(err_at(&e, "spec.tags")->message, "Too many: 3: must have at most 2 items");
	ASSERT_STR_EQ(err_at(&e, "spec.tags[1]")->message, "Duplicate value: \"a\"");
	ASSERT_STR_EQ(err_at(&e, "spec.ports[1]")->message, "Duplicate value: {\"port\":1}");
	ASSERT_EQ(err_at(&e, "spec.port")->reason, SCHEMA_ERR_TYPE_INVALID);
	schema_errors_release(&e);
	cJSON_Delete(obj);

	obj = parse("{\"spec\":{\"size\":0,\"name\":\"A\",\"ratio\":0.3,\"port\":\"http\"}}");
	ASSERT_EQ(schema_validate(s, obj, &o, &e), -EINVAL);
	ASSERT_STR_EQ(err_at(&e, "spec.size")->message,
		      "Invalid value: 0: spec.size in body should be greater than or equal to 1");
	ASSERT_STR_EQ(err_at(&e, "spec.ratio")->message,
		      "Invalid value: 0.3: spec.ratio in body should be a multiple of 0.25");
	ASSERT_NULL(err_at(&e, "spec.port"));
	ASSERT_EQ(e.nr, 4);	/* name: minLength and pattern */
	ASSERT_STR_EQ(e.v[1].message, "Invalid value: \"A\": spec.name in body should be at least 2 chars long");
	ASSERT_STR_EQ(e.v[2].message, "Invalid value: \"A\": spec.name in body should match '^[a-z]+\\d*$'");
	schema_errors_release(&e);
	cJSON_Delete(obj);

	obj = parse("{\"spec\":{}}");
	ASSERT_EQ(schema_validate(s, obj, &o, &e), -EINVAL);
	ASSERT_EQ(e.nr, 1);
	ASSERT_STR_EQ(e.v[0].field, "spec.size");
	ASSERT_EQ(e.v[0].reason, SCHEMA_ERR_REQUIRED);
	schema_errors_release(&e);
	/* defaulting fixes it */
	schema_default(s, obj, &o);
	ASSERT_OK(schema_validate(s, obj, &o, &e));
	cJSON_Delete(obj);

	obj = parse("{\"spec\":{\"size\":2,\"name\":\"ab12\",\"ratio\":0.75}}");
	ASSERT_OK(schema_validate(s, obj, &o, &e));
	cJSON_Delete(obj);
	schema_free(s);
}

TEST(schema_crd_prune_and_unknown)
{
	struct schema *s = crd();
	struct schema_opts o = { .object_meta = def(META "ObjectMeta") };
	struct schema_errors e = SCHEMA_ERRORS_INIT;
	cJSON *obj = parse("{\"apiVersion\":\"x.io/v1\",\"kind\":\"Foo\","
			   "\"metadata\":{\"name\":\"f\",\"junk\":1},"
			   "\"spec\":{\"size\":1,\"what\":2,\"free\":{\"any\":{\"thing\":1}},"
			   "\"embedded\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},"
			   "\"spec\":{\"a\":\"x\",\"b\":1},\"c\":1}},\"top\":1}");
	char *out;

	ASSERT_EQ(schema_unknown_fields(s, obj, &o, &e), 5);
	ASSERT_NOT_NULL(err_at(&e, "metadata.junk"));
	ASSERT_NOT_NULL(err_at(&e, "spec.what"));
	ASSERT_NOT_NULL(err_at(&e, "spec.embedded.spec.b"));
	ASSERT_NOT_NULL(err_at(&e, "spec.embedded.c"));
	ASSERT_NOT_NULL(err_at(&e, "top"));
	ASSERT_EQ(schema_prune(s, obj, &o), 5);
	out = cJSON_PrintUnformatted(obj);
	ASSERT_STR_EQ(out, "{\"apiVersion\":\"x.io/v1\",\"kind\":\"Foo\",\"metadata\":{\"name\":\"f\"},"
		      "\"spec\":{\"size\":1,\"free\":{\"any\":{\"thing\":1}},"
		      "\"embedded\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},"
		      "\"spec\":{\"a\":\"x\"}}}}");
	cJSON_free(out);
	schema_errors_release(&e);
	cJSON_Delete(obj);
	schema_free(s);
}

TEST(schema_parse_rejects)
{
	static const char *const bad[] = {
		"{\"$ref\":\"#/x\"}",
		"{\"type\":\"tuple\"}",
		"{\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"(?=x)\"}}}",
		"{\"items\":[{\"type\":\"string\"}]}",
		"{\"x-kubernetes-list-type\":\"bag\"}",
		"[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *j = parse(bad[i]);
		struct schema *s = (struct schema *)1;
		struct buf err = BUF_INIT;

		ASSERT_EQ(schema_parse(j, &s, &err), -EINVAL);
		ASSERT_NULL(s);
		ASSERT_TRUE(err.len > 0);
		buf_release(&err);
		cJSON_Delete(j);
	}
}

static cJSON *component(cJSON *doc, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "components"),
						 "schemas"), name);
}

TEST(schema_openapi_apps_v1)
{
	const struct schema_resource *res[16];
	const struct schema *extra[] = { def(META "Status"), def(META "DeleteOptions") };
	struct buf out = BUF_INIT, again = BUF_INIT;
	size_t n = 0;
	cJSON *doc, *d, *g, *patch;
	char *ptext;

	for (size_t i = 0; i < gen_nresources; i++)
		if (!strcmp(gen_resources[i].gvk.group, "apps"))
			res[n++] = &gen_resources[i];
	ASSERT_EQ(n, 5);
	ASSERT_OK(schema_openapi_v3(res, n, extra, 2, NULL, &out));
	ASSERT_OK(schema_openapi_v3(res, n, extra, 2, NULL, &again));
	ASSERT_STR_EQ(out.data, again.data);
	doc = cJSON_Parse(out.data);
	ASSERT_NOT_NULL(doc);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(doc, "openapi")->valuestring, "3.0.0");
	d = component(doc, "io.k8s.api.apps.v1.Deployment");
	ASSERT_NOT_NULL(d);
	g = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d, "x-kubernetes-group-version-kind"), 0);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(g, "group")->valuestring, "apps");
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(g, "kind")->valuestring, "Deployment");
	/* a $ref with a description of its own is wrapped in allOf, as upstream */
	ptext = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(d, "properties"), "spec"));
	ASSERT_STR_EQ(ptext, "{\"allOf\":[{\"$ref\":\"#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec\"}],"
		      "\"description\":\"The desired state of the object, written by its users.\"}");
	cJSON_free(ptext);
	ASSERT_NOT_NULL(component(doc, "io.k8s.api.core.v1.PodSpec"));
	ASSERT_NOT_NULL(component(doc, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
	ASSERT_NOT_NULL(component(doc, "io.k8s.api.autoscaling.v1.Scale"));
	ASSERT_NULL(component(doc, "io.k8s.api.batch.v1.Job"));
	ASSERT_TRUE(strstr(out.data, "\"containers\":{\"type\":\"array\",\"items\":{\"$ref\":"
			   "\"#/components/schemas/io.k8s.api.core.v1.Container\"}") != NULL);
	ASSERT_TRUE(strstr(out.data, "\"x-kubernetes-patch-merge-key\":\"name\"") != NULL);
	ASSERT_TRUE(strstr(out.data, "\"default\":\"ClusterFirst\"") != NULL);
	/* kubectl's field-validation check: PATCH of the kind takes fieldValidation */
	patch = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "paths"),
		"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"), "patch");
	ASSERT_NOT_NULL(patch);
	ptext = cJSON_PrintUnformatted(patch);
	ASSERT_TRUE(strstr(ptext, "\"name\":\"fieldValidation\"") != NULL);
	cJSON_free(ptext);
	cJSON_Delete(doc);
	buf_release(&out);
	buf_release(&again);
}

TEST(schema_openapi_crd_root)
{
	struct schema *s = crd();
	struct schema *list;
	struct schema_gvk lg = { "x.io", "v1", "FooList" };
	struct schema_resource r = {
		.gvk = { "x.io", "v1", "Foo" }, .plural = "foos", .list_kind = "FooList",
		.namespaced = true, .verbs = SCHEMA_VERB_GET | SCHEMA_VERB_PATCH | SCHEMA_VERB_LIST,
	};
	const struct schema_resource *rp = &r;
	struct schema_opts o = { .object_meta = def(META "ObjectMeta") };
	struct buf out = BUF_INIT;
	cJSON *doc, *foo;

	schema_set_identity(s, "io.x.v1.Foo", "x.io", "v1", "Foo");
	list = schema_new_list("io.x.v1.FooList", &lg, s, def(META "ListMeta"));
	r.schema = s;
	r.list_schema = list;
	ASSERT_OK(schema_openapi_v3(&rp, 1, NULL, 0, &o, &out));
	doc = cJSON_Parse(out.data);
	ASSERT_NOT_NULL(doc);
	foo = component(doc, "io.x.v1.Foo");
	ASSERT_NOT_NULL(foo);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(foo, "properties"), "metadata"), "$ref")->valuestring,
		"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
	ASSERT_NOT_NULL(component(doc, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
	ASSERT_NOT_NULL(component(doc, "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"));
	ASSERT_NOT_NULL(component(doc, "io.x.v1.FooList"));
	ASSERT_TRUE(strstr(out.data, "\"x-kubernetes-int-or-string\":true") != NULL);
	ASSERT_TRUE(strstr(out.data, "\"maximum\":10") != NULL);
	ASSERT_TRUE(strstr(out.data, "\"enum\":[\"a\",\"b\"]") != NULL);
	ASSERT_TRUE(strstr(out.data, "\"/apis/x.io/v1/namespaces/{namespace}/foos/{name}\"") != NULL);
	cJSON_Delete(doc);
	buf_release(&out);
	schema_free(list);
	schema_free(s);
}

TEST(schema_large_object_duplicates)
{
	const struct schema *cm = def("io.k8s.api.core.v1.ConfigMap");
	struct schema_errors e = SCHEMA_ERRORS_INIT;
	cJSON *obj = cJSON_CreateObject(), *data = cJSON_AddObjectToObject(obj, "data");
	char k[32];

	for (int i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "key%d", i);
		cJSON_AddStringToObject(data, k, "v");
	}
	/* "key7" three times in all: one error, two removed by prune */
	cJSON_AddStringToObject(data, "key7", "second");
	cJSON_AddStringToObject(data, "key7", "third");
	ASSERT_EQ(schema_unknown_fields(cm, obj, NULL, &e), 1);
	ASSERT_STR_EQ(e.v[0].message, "duplicate field \"data.key7\"");
	ASSERT_EQ(schema_prune(cm, obj, NULL), 2);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(data, "key7")->valuestring, "third");
	ASSERT_EQ(cJSON_GetArraySize(data), 20000);
	schema_errors_release(&e);
	cJSON_Delete(obj);
}

TEST(schema_array_item_defaults_and_nullable)
{
	cJSON *j = parse("{\"type\":\"object\",\"properties\":{"
			 "\"l\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"default\":\"x\"}},"
			 "\"n\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"nullable\":true,\"default\":\"x\"}},"
			 "\"m\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\",\"default\":4}}}}");
	struct schema *s = NULL;
	struct schema_errors e = SCHEMA_ERRORS_INIT;
	cJSON *obj = parse("{\"l\":[null,\"a\"],\"n\":[null],\"m\":{\"a\":null,\"b\":1}}");
	char *out;

	ASSERT_OK(schema_parse(j, &s, NULL));
	schema_default(s, obj, NULL);
	out = cJSON_PrintUnformatted(obj);
	ASSERT_STR_EQ(out, "{\"l\":[\"x\",\"a\"],\"n\":[null],\"m\":{\"a\":4,\"b\":1}}");
	cJSON_free(out);
	ASSERT_OK(schema_validate(s, obj, NULL, &e));
	cJSON_Delete(obj);
	/* a wrong item type is reported with its index */
	obj = parse("{\"m\":{},\"l\":[1],\"n\":[null]}");
	ASSERT_EQ(schema_validate(s, obj, NULL, &e), -EINVAL);
	ASSERT_STR_EQ(e.v[0].field, "l[0]");
	ASSERT_STR_EQ(e.v[0].message, "Invalid value: \"integer\": l[0] in body must be of type string: \"integer\"");
	schema_errors_release(&e);
	cJSON_Delete(obj);
	cJSON_Delete(j);
	schema_free(s);
}

TEST(schema_crd_object_is_known)
{
	const struct schema *crdk = def("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition");
	struct schema_opts o = { .object_meta = def(META "ObjectMeta") };
	struct schema_errors e = SCHEMA_ERRORS_INIT;
	cJSON *obj = parse(
		"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
		"\"metadata\":{\"name\":\"foos.x.io\"},\"spec\":{\"group\":\"x.io\",\"scope\":\"Namespaced\","
		"\"names\":{\"plural\":\"foos\",\"singular\":\"foo\",\"kind\":\"Foo\",\"shortNames\":[\"fo\"]},"
		"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
		"\"subresources\":{\"status\":{},\"scale\":{\"specReplicasPath\":\".spec.replicas\","
		"\"statusReplicasPath\":\".status.replicas\"}},"
		"\"additionalPrinterColumns\":[{\"name\":\"Age\",\"type\":\"date\",\"jsonPath\":\".metadata.creationTimestamp\"}],"
		"\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"description\":\"d\",\"properties\":{"
		"\"spec\":{\"type\":\"object\",\"x-kubernetes-validations\":[{\"rule\":\"self.a > 0\"}],"
		"\"properties\":{\"a\":{\"type\":\"integer\",\"default\":1,\"minimum\":0},"
		"\"m\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
		"\"free\":{\"type\":\"object\",\"additionalProperties\":true},"
		"\"l\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"x-kubernetes-list-type\":\"set\"}}}}}}}]}}");

	schema_unknown_fields(crdk, obj, &o, &e);
	dump(&e);
	ASSERT_EQ(e.nr, 0);
	schema_default(crdk, obj, &o);
	ASSERT_OK(schema_validate(crdk, obj, &o, &e));
	/* conversion strategy None comes from the overlay */
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "spec"), "conversion"), "strategy")->valuestring, "None");
	schema_errors_release(&e);
	cJSON_Delete(obj);
}

/* Every generated node is well formed: sorted props, parseable defaults. */
static int check_node(const struct schema *s, int depth)
{
	int n = 0;

	if (!s || depth > 3)
		return 0;
	if (s->default_json) {
		cJSON *v = cJSON_Parse(s->default_json);

		ASSERT_NOT_NULL(v);
		cJSON_Delete(v);
		n++;
	}
	for (uint32_t i = 0; i < s->nprops; i++) {
		if (i)
			ASSERT_TRUE(strcmp(s->props[i - 1].name, s->props[i].name) < 0);
		n += check_node(s->props[i].schema, s->props[i].schema->name ? 99 : depth + 1);
	}
	n += check_node(s->items, depth + 1);
	n += check_node(s->additional, depth + 1);
	return n;
}

TEST(schema_gen_tables_well_formed)
{
	int defaults = 0;

	for (size_t i = 0; i < gen_ndefs; i++) {
		if (i)
			ASSERT_TRUE(strcmp(gen_defs[i - 1].name, gen_defs[i].name) < 0);
		ASSERT_STR_EQ(gen_defs[i].schema->name, gen_defs[i].name);
		defaults += check_node(gen_defs[i].schema, 0);
	}
	ASSERT_TRUE(defaults >= 50);
	for (size_t i = 0; i < gen_nresources; i++) {
		ASSERT_NOT_NULL(gen_resources[i].schema);
		ASSERT_NOT_NULL(gen_resources[i].list_schema);
		ASSERT_EQ(gen_resources[i].schema->ngvk, 1);
	}
}
