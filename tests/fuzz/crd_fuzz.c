/*
 * Fuzz target: the custom resource object path. Input: an openAPIV3Schema
 * (JSON), a NUL byte, then a custom resource (JSON). The schema goes
 * through CRD validation (structural rules, defaults checked against their
 * nodes) inside a CRD object; when it is accepted, the object goes through
 * what a write and a read do to a custom resource: unknown-field detection,
 * pruning, defaulting, validation, and printer-column JSONPaths.
 */
#include "server/crd.h"
#include "server/status.h"
#include "server/gen/schemas.h"
#include "lib/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const paths[] = {
	".spec.replicas", ".metadata.name", ".status.conditions[0].type", "{.spec.a.b[1]}", ".x[2]",
};

static void cr_path(const struct schema *s, cJSON *obj)
{
	struct schema_opts o = {
		.object_meta = schema_def_lookup(gen_defs, gen_ndefs,
						 "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
		.check_list_keys = true,
	};
	struct schema_errors e = SCHEMA_ERRORS_INIT;

	schema_unknown_fields(s, obj, &o, &e);
	schema_prune(s, obj, &o);
	schema_default(s, obj, &o);
	schema_validate(s, obj, &o, &e);
	schema_default(s, obj, &o);	/* idempotent on read */
	schema_errors_release(&e);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		crd_jsonpath_get(obj, paths[i]);
}

/* A CRD of one version whose schema is (a copy of) sj. */
static cJSON *crd_object(const cJSON *sj)
{
	cJSON *crd = cJSON_CreateObject(), *spec = json_obj(crd, "spec"), *names = json_obj(spec, "names");
	cJSON *versions = cJSON_CreateArray(), *ver = cJSON_CreateObject();

	json_set_str(json_obj(crd, "metadata"), "name", "things.example.com");
	json_set_str(spec, "group", "example.com");
	json_set_str(spec, "scope", "Namespaced");
	json_set_str(names, "plural", "things");
	json_set_str(names, "kind", "Thing");
	json_set_str(ver, "name", "v1");
	json_set_bool(ver, "served", true);
	json_set_bool(ver, "storage", true);
	json_set(json_obj(ver, "schema"), "openAPIV3Schema", cJSON_Duplicate(sj, 1));
	cJSON_AddItemToArray(versions, ver);
	json_set(spec, "versions", versions);
	return crd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	cJSON *sj, *obj = NULL, *crd;
	struct api_error e = { 0 };
	struct schema *s = NULL;

	if (!nul || size > (1 << 18))
		return 0;
	sj = cJSON_ParseWithLength((const char *)data, (size_t)(nul - data));
	if (!sj)
		return 0;
	crd = crd_object(sj);
	crd_defaults(crd);
	crd_validate(crd, NULL, &e);
	if (!e.ncauses && !schema_parse(sj, &s, NULL)) {
		obj = cJSON_ParseWithLength((const char *)nul + 1, size - (size_t)(nul - data) - 1);
		if (obj)
			cr_path(s, obj);
	}
	api_error_release(&e);
	schema_free(s);
	cJSON_Delete(obj);
	cJSON_Delete(crd);
	cJSON_Delete(sj);
	return 0;
}
