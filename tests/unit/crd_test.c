/*
 * CRDs: the structural-schema checker, the schema engine on custom resource
 * values (every validation keyword, defaulting and pruning), simple
 * JSONPath, version ordering and CRD object validation.
 */
#include "test.h"
#include "lib/schema.h"
#include "lib/json.h"
#include "server/crd.h"
#include "server/registry.h"
#include "server/status.h"
#include "server/gen/schemas.h"

#include <errno.h>
#include <string.h>

static cJSON *parse(const char *json)
{
	cJSON *v = cJSON_Parse(json);

	if (!v)
		test_fail(__FILE__, __LINE__, "bad test JSON: %s", json);
	return v;
}

/* "field: message|field: message" of all errors */
static char *joined(const struct schema_errors *e)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < e->nr; i++)
		buf_addf(&b, "%s%s: %s", i ? "|" : "", e->v[i].field, e->v[i].message);
	return b.len ? buf_detach(&b, NULL) : xstrdup("");
}

/* ---- structural schemas ---- */

static const struct {
	const char *schema;
	const char *want;	/* "" = structural */
} structural_cases[] = {
	{ "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\"}}}", "" },
	{ "{\"properties\":{}}", "s.type: Required value: must not be empty at the root" },
	{ "{\"type\":\"string\"}", "s.type: Invalid value: \"string\": must be object at the root" },
	{ "{\"type\":\"object\",\"properties\":{\"a\":{\"properties\":{}}}}",
	  "s.properties[a].type: Required value: must not be empty for specified object fields" },
	{ "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"items\":{}}}}",
	  "s.properties[a].items.type: Required value: must not be empty for specified array items" },
	{ "{\"type\":\"object\",\"properties\":{\"a\":{\"x-kubernetes-int-or-string\":true}}}", "" },
	{ "{\"type\":\"object\",\"properties\":{\"a\":{\"x-kubernetes-preserve-unknown-fields\":true}}}", "" },
	{ "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"x-kubernetes-int-or-string\":true}}}",
	  "s.properties[a].type: Invalid value: \"string\": must be empty if x-kubernetes-int-or-string is true" },
	{ "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/x\"}}}",
	  "s.properties[a].$ref: Forbidden: $ref is not supported|"
	  "s.properties[a].type: Required value: must not be empty for specified object fields" },
	{ "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"string\"}},"
	  "\"additionalProperties\":{\"type\":\"string\"}}}}",
	  "s.properties[a].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive" },
	{ "{\"type\":\"object\",\"properties\":{\"metadata\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}}}", "" },
	{ "{\"type\":\"object\",\"properties\":{\"metadata\":{\"type\":\"object\",\"properties\":{\"labels\":{\"type\":\"object\"}}}}}",
	  "s.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified" },
	{ "{\"type\":\"object\",\"properties\":{\"e\":{\"x-kubernetes-embedded-resource\":true}}}",
	  "s.properties[e].type: Required value: must be object if x-kubernetes-embedded-resource is true" },
	{ "{\"type\":\"object\",\"x-kubernetes-embedded-resource\":true}",
	  "s.x-kubernetes-embedded-resource: Forbidden: must not be used at the root" },
	{ "{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":false}",
	  "s.x-kubernetes-preserve-unknown-fields: Invalid value: \"false\": must be true or undefined" },
	{ "{\"type\":\"object\",\"properties\":{\"l\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"bag\",\"items\":{\"type\":\"string\"}}}}",
	  "s.properties[l].x-kubernetes-list-type: Unsupported value: \"bag\": supported values: \"atomic\", \"map\", \"set\"" },
	{ "{\"type\":\"object\",\"properties\":{\"l\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"map\",\"items\":{\"type\":\"object\"}}}}",
	  "s.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map" },
	{ "{\"type\":\"object\",\"properties\":{\"l\":{\"type\":\"string\",\"x-kubernetes-list-type\":\"set\"}}}",
	  "s.properties[l].type: Invalid value: \"string\": must be array if x-kubernetes-list-type is specified" },
	{ "{\"type\":\"object\",\"properties\":{\"m\":{\"type\":\"object\",\"x-kubernetes-map-type\":\"loose\"}}}",
	  "s.properties[m].x-kubernetes-map-type: Unsupported value: \"loose\": supported values: \"atomic\", \"granular\"" },
	{ "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"default\":\"x\"}}}",
	  "s.properties[n].default: Invalid value: \"string\": n in body must be of type integer: \"string\"" },
	{ "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"maximum\":3,\"default\":5}}}",
	  "s.properties[n].default: Invalid value: 5: n in body should be less than or equal to 3" },
	{ "{\"type\":\"object\",\"properties\":{\"o\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"default\":{\"b\":1}}}}",
	  "s.properties[o].default: Invalid value: \"{\\\"b\\\":1}\": must not have unknown fields" },
	{ "{\"type\":\"object\",\"properties\":{\"o\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"default\":{\"a\":\"ok\"}}}}", "" },
	{ "{\"type\":\"object\",\"anyOf\":[{\"default\":1}]}",
	  "s.anyOf[0].default: Forbidden: must not be set inside allOf, anyOf, oneOf or not" },
};

TEST(crd_structural_schema_rules)
{
	for (size_t i = 0; i < ARRAY_SIZE(structural_cases); i++) {
		struct schema_errors e = SCHEMA_ERRORS_INIT;
		cJSON *s = parse(structural_cases[i].schema);
		char *got;
		int r = schema_check_structural(s, "s", &e);

		got = joined(&e);
		if (strcmp(got, structural_cases[i].want))
			test_fail(__FILE__, __LINE__, "case %zu: got '%s', want '%s'", i, got,
				  structural_cases[i].want);
		ASSERT_EQ(r, *structural_cases[i].want ? -EINVAL : 0);
		free(got);
		schema_errors_release(&e);
		cJSON_Delete(s);
	}
}

/* ---- the engine on custom resource values ---- */

static const struct {
	const char *schema;	/* the "spec" property's schema */
	const char *spec;	/* the value of spec */
	const char *want;
} value_cases[] = {
	{ "{\"type\":\"integer\",\"maximum\":10}", "15",
	  "spec: Invalid value: 15: spec in body should be less than or equal to 10" },
	{ "{\"type\":\"integer\",\"maximum\":10,\"exclusiveMaximum\":true}", "10",
	  "spec: Invalid value: 10: spec in body should be less than 10" },
	{ "{\"type\":\"number\",\"minimum\":1.5}", "1",
	  "spec: Invalid value: 1: spec in body should be greater than or equal to 1.5" },
	{ "{\"type\":\"integer\",\"minimum\":1,\"exclusiveMinimum\":true}", "1",
	  "spec: Invalid value: 1: spec in body should be greater than 1" },
	{ "{\"type\":\"integer\",\"multipleOf\":5}", "7",
	  "spec: Invalid value: 7: spec in body should be a multiple of 5" },
	{ "{\"type\":\"string\",\"maxLength\":3}", "\"abcd\"",
	  "spec: Too long: may not be more than 3 bytes" },
	{ "{\"type\":\"string\",\"minLength\":2}", "\"a\"",
	  "spec: Invalid value: \"a\": spec in body should be at least 2 chars long" },
	{ "{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"}", "\"A1\"",
	  "spec: Invalid value: \"A1\": spec in body should match '^[a-z]+$'" },
	{ "{\"type\":\"string\",\"enum\":[\"a\",\"b\"]}", "\"c\"",
	  "spec: Unsupported value: \"c\": supported values: \"a\", \"b\"" },
	{ "{\"type\":\"string\",\"format\":\"date-time\"}", "\"yesterday\"",
	  "spec: Invalid value: \"yesterday\": spec in body must be of type date-time: \"yesterday\"" },
	{ "{\"type\":\"string\",\"format\":\"uuid\"}", "\"123\"",
	  "spec: Invalid value: \"123\": spec in body must be of type uuid: \"123\"" },
	{ "{\"type\":\"string\",\"format\":\"uuid\"}", "\"7d8c2a0e-4b1f-4f3a-9c2e-0123456789ab\"", "" },
	{ "{\"type\":\"string\",\"format\":\"date\"}", "\"2024-02-30x\"",
	  "spec: Invalid value: \"2024-02-30x\": spec in body must be of type date: \"2024-02-30x\"" },
	{ "{\"type\":\"string\",\"format\":\"duration\"}", "\"1h30m\"", "" },
	{ "{\"type\":\"string\",\"format\":\"duration\"}", "\"soon\"",
	  "spec: Invalid value: \"soon\": spec in body must be of type duration: \"soon\"" },
	{ "{\"type\":\"string\",\"format\":\"byte\"}", "\"!!\"",
	  "spec: Invalid value: \"!!\": spec in body must be of type byte: \"!!\"" },
	{ "{\"type\":\"string\",\"format\":\"ipv4\"}", "\"10.0.0.300\"",
	  "spec: Invalid value: \"10.0.0.300\": spec in body must be of type ipv4: \"10.0.0.300\"" },
	{ "{\"type\":\"array\",\"maxItems\":1,\"items\":{\"type\":\"integer\"}}", "[1,2]",
	  "spec: Too many: 2: must have at most 1 items" },
	{ "{\"type\":\"array\",\"minItems\":2,\"items\":{\"type\":\"integer\"}}", "[1]",
	  "spec: Invalid value: [1]: spec in body should have at least 2 items" },
	{ "{\"type\":\"object\",\"maxProperties\":1,\"additionalProperties\":{\"type\":\"string\"}}", "{\"a\":\"1\",\"b\":\"2\"}",
	  "spec: Too many: 2: must have at most 1 items" },
	{ "{\"type\":\"object\",\"minProperties\":1,\"additionalProperties\":{\"type\":\"string\"}}", "{}",
	  "spec: Invalid value: {}: spec in body should have at least 1 properties" },
	{ "{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{\"a\":{\"type\":\"string\"}}}", "{}",
	  "spec.a: Required value" },
	{ "{\"type\":\"array\",\"x-kubernetes-list-type\":\"set\",\"items\":{\"type\":\"string\"}}", "[\"a\",\"b\",\"a\"]",
	  "spec[2]: Duplicate value: \"a\"" },
	{ "{\"type\":\"array\",\"x-kubernetes-list-type\":\"map\",\"x-kubernetes-list-map-keys\":[\"name\"],"
	  "\"items\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}}",
	  "[{\"name\":\"x\"},{\"name\":\"x\"}]", "spec[1]: Duplicate value: {\"name\":\"x\"}" },
	{ "{\"type\":\"integer\",\"allOf\":[{\"minimum\":2},{\"maximum\":4}]}", "5",
	  "spec: Invalid value: 5: spec in body should be less than or equal to 4" },
	{ "{\"type\":\"integer\",\"anyOf\":[{\"minimum\":10},{\"maximum\":1}]}", "5",
	  "spec: Invalid value: 5: spec in body must validate at least one schema (anyOf)" },
	{ "{\"type\":\"integer\",\"oneOf\":[{\"minimum\":1},{\"maximum\":10}]}", "5",
	  "spec: Invalid value: 5: spec in body must validate one and only one schema (oneOf)" },
	{ "{\"type\":\"integer\",\"not\":{\"minimum\":1}}", "5",
	  "spec: Invalid value: 5: spec in body must not validate the schema (not)" },
	{ "{\"type\":\"string\"}", "true",
	  "spec: Invalid value: \"boolean\": spec in body must be of type string: \"boolean\"" },
	{ "{\"type\":\"string\",\"nullable\":true}", "null", "" },
	{ "{\"x-kubernetes-int-or-string\":true}", "\"50%\"", "" },
	{ "{\"x-kubernetes-int-or-string\":true}", "1.5",
	  "spec: Invalid value: \"number\": spec in body must be of type integer,string: \"number\"" },
};

static struct schema *root_with_spec(const char *spec_schema)
{
	char *js = xasprintf("{\"type\":\"object\",\"properties\":{\"spec\":%s}}", spec_schema);
	cJSON *j = parse(js);
	struct schema *s = NULL;

	if (schema_parse(j, &s, NULL))
		test_fail(__FILE__, __LINE__, "schema does not parse: %s", js);
	cJSON_Delete(j);
	free(js);
	return s;
}

TEST(crd_engine_validation_rules)
{
	struct schema_opts o = { .check_list_keys = true };

	for (size_t i = 0; i < ARRAY_SIZE(value_cases); i++) {
		struct schema *s = root_with_spec(value_cases[i].schema);
		char *oj = xasprintf("{\"spec\":%s}", value_cases[i].spec);
		cJSON *obj = parse(oj);
		struct schema_errors e = SCHEMA_ERRORS_INIT;
		char *got;

		schema_validate(s, obj, &o, &e);
		got = joined(&e);
		if (strcmp(got, value_cases[i].want))
			test_fail(__FILE__, __LINE__, "case %zu: got '%s', want '%s'", i, got,
				  value_cases[i].want);
		free(got);
		free(oj);
		schema_errors_release(&e);
		cJSON_Delete(obj);
		schema_free(s);
	}
}

/* ---- defaulting and pruning ---- */

static const struct {
	const char *schema;	/* the root schema */
	const char *in;
	const char *want;	/* after prune, then default */
} mutate_cases[] = {
	/* nested defaults need their parent */
	{ "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"default\":\"x\"}}}}}",
	  "{}", "{}" },
	{ "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"default\":\"x\"}}}}}",
	  "{\"spec\":{}}", "{\"spec\":{\"a\":\"x\"}}" },
	/* ... or a default of the parent itself */
	{ "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"default\":{},\"properties\":{\"a\":{\"type\":\"string\",\"default\":\"x\"}}}}}",
	  "{}", "{\"spec\":{\"a\":\"x\"}}" },
	/* array items and additionalProperties values */
	{ "{\"type\":\"object\",\"properties\":{\"l\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"string\",\"default\":\"TCP\"}}}}}}",
	  "{\"l\":[{},{\"p\":\"UDP\"}]}", "{\"l\":[{\"p\":\"TCP\"},{\"p\":\"UDP\"}]}" },
	{ "{\"type\":\"object\",\"properties\":{\"m\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"object\",\"properties\":{\"w\":{\"type\":\"integer\",\"default\":1}}}}}}",
	  "{\"m\":{\"k\":{}}}", "{\"m\":{\"k\":{\"w\":1}}}" },
	/* null: defaulted when not nullable, kept when nullable, dropped without default */
	{ "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"default\":\"d\"},\"b\":{\"type\":\"string\",\"nullable\":true,\"default\":\"d\"},\"c\":{\"type\":\"string\"}}}",
	  "{\"a\":null,\"b\":null,\"c\":null}", "{\"a\":\"d\",\"b\":null}" },
	/* pruning: unknown fields go, preserve-unknown subtrees stay, known fields below them are pruned again */
	{ "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}",
	  "{\"apiVersion\":\"v\",\"kind\":\"K\",\"metadata\":{\"name\":\"n\"},\"spec\":{\"a\":\"1\",\"b\":2},\"top\":1}",
	  "{\"apiVersion\":\"v\",\"kind\":\"K\",\"metadata\":{\"name\":\"n\"},\"spec\":{\"a\":\"1\"}}" },
	{ "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true,\"properties\":{\"k\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}}}",
	  "{\"x\":{\"free\":{\"any\":1},\"k\":{\"a\":\"1\",\"b\":2}}}", "{\"x\":{\"free\":{\"any\":1},\"k\":{\"a\":\"1\"}}}" },
	/* embedded resources keep apiVersion/kind/metadata */
	{ "{\"type\":\"object\",\"properties\":{\"t\":{\"type\":\"object\",\"x-kubernetes-embedded-resource\":true,\"properties\":{\"spec\":{\"type\":\"object\"}}}}}",
	  "{\"t\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{},\"junk\":1}}",
	  "{\"t\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{}}}" },
	/* a schema constraining metadata.name does not prune the rest of metadata */
	{ "{\"type\":\"object\",\"properties\":{\"metadata\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":5}}}}}",
	  "{\"metadata\":{\"name\":\"a\",\"uid\":\"u\",\"labels\":{\"x\":\"y\"},\"junk\":1}}",
	  "{\"metadata\":{\"name\":\"a\",\"uid\":\"u\",\"labels\":{\"x\":\"y\"}}}" },
	/* int-or-string keeps either */
	{ "{\"type\":\"object\",\"properties\":{\"i\":{\"x-kubernetes-int-or-string\":true,\"default\":\"25%\"}}}",
	  "{}", "{\"i\":\"25%\"}" },
};

TEST(crd_metadata_name_constraint)
{
	struct schema_opts o = {
		.object_meta = schema_def_lookup(gen_defs, gen_ndefs, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
	};
	cJSON *sj = parse("{\"type\":\"object\",\"properties\":{\"metadata\":{\"type\":\"object\","
			  "\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":5}}}}}");
	cJSON *obj = parse("{\"metadata\":{\"name\":\"toolong\",\"labels\":{\"a\":\"b\"}}}");
	struct schema_errors e = SCHEMA_ERRORS_INIT;
	struct schema *s = NULL;
	char *got;

	ASSERT_OK(schema_parse(sj, &s, NULL));
	ASSERT_EQ(schema_validate(s, obj, &o, &e), -EINVAL);
	got = joined(&e);
	ASSERT_STR_EQ(got, "metadata.name: Too long: may not be more than 5 bytes");
	free(got);
	schema_errors_release(&e);
	schema_free(s);
	cJSON_Delete(sj);
	cJSON_Delete(obj);
}

TEST(crd_defaulting_and_pruning)
{
	struct schema_opts o = {
		.object_meta = schema_def_lookup(gen_defs, gen_ndefs, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
		.check_list_keys = true,
	};

	for (size_t i = 0; i < ARRAY_SIZE(mutate_cases); i++) {
		cJSON *sj = parse(mutate_cases[i].schema), *obj = parse(mutate_cases[i].in);
		cJSON *want = parse(mutate_cases[i].want);
		struct schema *s = NULL;
		char *got;

		ASSERT_OK(schema_parse(sj, &s, NULL));
		schema_prune(s, obj, &o);
		schema_default(s, obj, &o);
		got = cJSON_PrintUnformatted(obj);
		if (!cJSON_Compare(obj, want, true))
			test_fail(__FILE__, __LINE__, "case %zu: got %s, want %s", i, got, mutate_cases[i].want);
		cJSON_free(got);
		schema_free(s);
		cJSON_Delete(sj);
		cJSON_Delete(obj);
		cJSON_Delete(want);
	}
}

/* ---- JSONPath, versions, CRD objects ---- */

TEST(crd_jsonpath)
{
	cJSON *o = parse("{\"spec\":{\"r\":3,\"l\":[{\"n\":\"a\"},{\"n\":\"b\"}]},\"metadata\":{\"name\":\"x\"}}");

	ASSERT_EQ(crd_jsonpath_get(o, ".spec.r")->valuedouble, 3);
	ASSERT_STR_EQ(crd_jsonpath_get(o, ".spec.l[1].n")->valuestring, "b");
	ASSERT_STR_EQ(crd_jsonpath_get(o, "{.metadata.name}")->valuestring, "x");
	ASSERT_NULL(crd_jsonpath_get(o, ".spec.l[5].n"));
	ASSERT_NULL(crd_jsonpath_get(o, ".spec.missing"));
	ASSERT_OK(crd_jsonpath_check(".status.conditions[0].type"));
	ASSERT_EQ(crd_jsonpath_check("spec.r"), -EINVAL);
	ASSERT_EQ(crd_jsonpath_check(".spec.l[*].n"), -EINVAL);
	ASSERT_EQ(crd_jsonpath_check(".spec..n"), -EINVAL);
	ASSERT_EQ(crd_jsonpath_check(".spec.l[?(@.n==\"a\")]"), -EINVAL);
	ASSERT_EQ(crd_jsonpath_check("{.spec"), -EINVAL);
	cJSON_Delete(o);
}

TEST(crd_version_priority)
{
	static const char *const order[] = { "v2", "v1", "v11alpha2", "v10beta3", "v3beta1", "v1beta2", "v1beta1",
					     "v12alpha1", "v11alpha2x", "foo1", "foo10" };

	(void)order;
	ASSERT_LT(registry_version_cmp("v2", "v1"), 0);
	ASSERT_LT(registry_version_cmp("v1", "v10beta3"), 0);
	ASSERT_LT(registry_version_cmp("v10beta3", "v3beta1"), 0);
	ASSERT_LT(registry_version_cmp("v3beta1", "v1beta2"), 0);
	ASSERT_LT(registry_version_cmp("v1beta1", "v12alpha1"), 0);
	ASSERT_LT(registry_version_cmp("v12alpha1", "v11alpha2"), 0);
	ASSERT_LT(registry_version_cmp("v11alpha2", "foo1"), 0);
	ASSERT_LT(registry_version_cmp("foo1", "foo10"), 0);
	ASSERT_EQ(registry_version_cmp("v1", "v1"), 0);
}

static char *crd_errors(const char *json, const char *old_json)
{
	cJSON *c = parse(json), *old = old_json ? parse(old_json) : NULL;
	struct api_error e = { 0 };
	struct buf b = BUF_INIT;

	crd_defaults(c);
	crd_validate(c, old, &e);
	for (size_t i = 0; i < e.ncauses; i++)
		buf_addf(&b, "%s%s: %s", i ? "|" : "", e.causes[i].field, e.causes[i].message);
	api_error_release(&e);
	cJSON_Delete(c);
	cJSON_Delete(old);
	return b.len ? buf_detach(&b, NULL) : xstrdup("");
}

#define SCHEMA_OK "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\"}}"

TEST(crd_object_validation)
{
	static const struct { const char *crd, *old, *want; } cases[] = {
		{ "{\"metadata\":{\"name\":\"as.example.com\"},\"spec\":{\"group\":\"example.com\",\"scope\":\"Namespaced\","
		  "\"names\":{\"plural\":\"as\",\"kind\":\"A\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true," SCHEMA_OK "}]}}",
		  NULL, "" },
		{ "{\"metadata\":{\"name\":\"x.example.com\"},\"spec\":{\"group\":\"example.com\",\"scope\":\"Namespaced\","
		  "\"names\":{\"plural\":\"as\",\"kind\":\"A\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true," SCHEMA_OK "}]}}",
		  NULL, "metadata.name: Invalid value: \"x.example.com\": must be spec.names.plural+\".\"+spec.group" },
		{ "{\"metadata\":{\"name\":\"as.example\"},\"spec\":{\"group\":\"example\",\"scope\":\"Global\","
		  "\"names\":{\"plural\":\"as\",\"kind\":\"A\",\"listKind\":\"A\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true," SCHEMA_OK "}]}}",
		  NULL, "spec.group: Invalid value: \"example\": should be a domain with at least one dot|"
		  "spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\"|"
		  "spec.names.listKind: Invalid value: \"A\": kind and listKind may not be the same or empty" },
		{ "{\"metadata\":{\"name\":\"as.x.k8s.io\"},\"spec\":{\"group\":\"x.k8s.io\",\"scope\":\"Cluster\","
		  "\"names\":{\"plural\":\"as\",\"kind\":\"A\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true," SCHEMA_OK "}]}}",
		  NULL, "metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation \"api-approved.kubernetes.io\", see https://github.com/kubernetes/enhancements/pull/1111" },
		{ "{\"metadata\":{\"name\":\"as.example.com\"},\"spec\":{\"group\":\"example.com\",\"scope\":\"Cluster\","
		  "\"names\":{\"plural\":\"as\",\"kind\":\"A\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":false}]}}",
		  NULL, "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required|"
		  "spec.versions: Invalid value: [{\"name\":\"v1\",\"served\":true,\"storage\":false}]: must have exactly one version marked as storage version" },
		{ "{\"metadata\":{\"name\":\"as.example.com\"},\"spec\":{\"group\":\"example.com\",\"scope\":\"Cluster\","
		  "\"names\":{\"plural\":\"as\",\"kind\":\"A\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true," SCHEMA_OK ","
		  "\"additionalPrinterColumns\":[{\"name\":\"X\",\"type\":\"map\",\"jsonPath\":\"spec.x\"}],"
		  "\"subresources\":{\"scale\":{\"specReplicasPath\":\".status.r\",\"statusReplicasPath\":\".status.r\"}}}]}}",
		  NULL, "spec.versions[0].additionalPrinterColumns[0].type: Unsupported value: \"map\": supported values: \"integer\", \"number\", \"string\", \"boolean\", \"date\"|"
		  "spec.versions[0].additionalPrinterColumns[0].jsonPath: Invalid value: \"spec.x\": must be a simple json path starting with .|"
		  "spec.versions[0].subresources.scale.specReplicasPath: Invalid value: \".status.r\": should be a json path under .spec" },
		{ "{\"metadata\":{\"name\":\"as.example.com\"},\"spec\":{\"group\":\"example.com\",\"scope\":\"Cluster\","
		  "\"names\":{\"plural\":\"as\",\"kind\":\"A\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true," SCHEMA_OK "}]}}",
		  "{\"metadata\":{\"name\":\"as.example.com\"},\"spec\":{\"group\":\"example.org\",\"names\":{\"plural\":\"as\"}}}",
		  "spec.group: Invalid value: \"example.com\": field is immutable" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = crd_errors(cases[i].crd, cases[i].old);

		if (strcmp(got, cases[i].want))
			test_fail(__FILE__, __LINE__, "case %zu: got '%s', want '%s'", i, got, cases[i].want);
		free(got);
	}
}

TEST(crd_defaults_fill_names)
{
	cJSON *c = parse("{\"spec\":{\"names\":{\"plural\":\"crontabs\",\"kind\":\"CronTab\"}}}");

	crd_defaults(c);
	ASSERT_STR_EQ(json_get_str(json_path(c, "spec.names"), "singular", ""), "crontab");
	ASSERT_STR_EQ(json_get_str(json_path(c, "spec.names"), "listKind", ""), "CronTabList");
	ASSERT_STR_EQ(json_get_str(json_path(c, "spec.conversion"), "strategy", ""), "None");
	cJSON_Delete(c);
}

TEST(crd_pattern_limits)
{
	static const char *const bad[] = { "a++", "a*?", "a{1001}", "(a{600}){600}", "x{2}{3}" };
	static const char *const good[] = { "^a+$", "^(ab)+$", "a{2,1000}", "^[{}]+$", "^\\d{3}-\\d{4}$" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *js = xasprintf("{\"type\":\"string\",\"pattern\":\"%s\"}", bad[i]);
		cJSON *j = parse(js);
		struct schema *s = NULL;

		if (schema_parse(j, &s, NULL) != -EINVAL)
			test_fail(__FILE__, __LINE__, "pattern %s accepted", bad[i]);
		cJSON_Delete(j);
		free(js);
	}
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		cJSON *j = cJSON_CreateObject();
		struct schema *s = NULL;

		json_set_str(j, "type", "string");
		json_set_str(j, "pattern", good[i]);
		if (schema_parse(j, &s, NULL))
			test_fail(__FILE__, __LINE__, "pattern %s refused", good[i]);
		schema_free(s);
		cJSON_Delete(j);
	}
}

TEST(crd_schema_duplicate_keyword)
{
	cJSON *j = parse("{\"type\":\"object\",\"default\":{},\"default\":{}}");
	struct schema *s = NULL;

	ASSERT_EQ(schema_parse(j, &s, NULL), -EINVAL);
	ASSERT_NULL(s);
	cJSON_Delete(j);
}

TEST(crd_openapi_patch_types)
{
	cJSON *j = parse("{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\"}}}");
	struct schema *s = NULL;
	struct schema_resource r = { { "example.com", "v1", "Thing" }, "things", "ThingList", true,
				     SCHEMA_VERB_GET | SCHEMA_VERB_PATCH, NULL, 0, NULL, NULL };
	const struct schema_resource *rs[1] = { &r };
	struct buf b = BUF_INIT;

	ASSERT_OK(schema_parse(j, &s, NULL));
	schema_set_identity(s, "com.example.v1.Thing", "example.com", "v1", "Thing");
	r.schema = s;
	ASSERT_OK(schema_openapi_v3(rs, 1, NULL, 0, NULL, &b));
	ASSERT_NOT_NULL(strstr(b.data, "application/strategic-merge-patch+json"));
	buf_reset(&b);
	r.verbs |= SCHEMA_RES_NO_STRATEGIC;
	ASSERT_OK(schema_openapi_v3(rs, 1, NULL, 0, NULL, &b));
	ASSERT_NULL(strstr(b.data, "application/strategic-merge-patch+json"));
	ASSERT_NOT_NULL(strstr(b.data, "application/merge-patch+json"));
	buf_release(&b);
	schema_free(s);
	cJSON_Delete(j);
}
