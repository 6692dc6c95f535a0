/*
 * server/openapi.c - /openapi/v3 and /openapi/v3/<api/v1|apis/g/v>.
 *
 * The index lists one document per served group-version with a hash that
 * changes only when the binary does. A document is generated on first
 * request by the schema engine (components.schemas) plus the paths kubectl
 * reads: for each resource a PATCH operation carrying
 * x-kubernetes-group-version-kind and the fieldValidation parameter, which
 * is how kubectl decides that the server validates fields itself. Documents
 * are cached until the process ends (they are deterministic).
 */
#include "openapi.h"
#include "server/gen/schemas.h"
#include "lib/json.h"
#include "lib/schema.h"
#include "lib/util.h"

#include <errno.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPENAPI_MAX_GV 32	/* cached group-version documents */

struct gv_doc {
	char *path;		/* "api/v1", "apis/apps/v1" */
	char *text;
	size_t len;
};

static struct gv_doc cache[OPENAPI_MAX_GV];

static char *gv_path(const char *group, const char *version)
{
	return *group ? xasprintf("apis/%s/%s", group, version) : xasprintf("api/%s", version);
}

static void hash_of(const char *path, char out[33])
{
	unsigned char h[32];
	char *in = xasprintf("%s %s", K1S_COMMIT, path);

	mbedtls_sha256((const unsigned char *)in, strlen(in), h, 0);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02X", h[i]);
	free(in);
}

static void add_param(cJSON *params, const char *name, const char *in, const char *type)
{
	cJSON *p = cJSON_CreateObject(), *s = json_obj(p, "schema");

	json_set_str(p, "name", name);
	json_set_str(p, "in", in);
	if (!strcmp(in, "path"))
		json_set_bool(p, "required", true);
	json_set_str(s, "type", type);
	cJSON_AddItemToArray(params, p);
}

static cJSON *operation(const struct schema_resource *r, const char *action, bool write)
{
	cJSON *op = cJSON_CreateObject(), *gvk = json_obj(op, "x-kubernetes-group-version-kind");
	cJSON *params = cJSON_CreateArray(), *resp = json_obj(json_obj(op, "responses"), "200");
	char *ref = xasprintf("#/components/schemas/%s", r->schema && r->schema->name ? r->schema->name : "");

	json_set_str(op, "operationId", action);
	json_set_str(gvk, "group", r->gvk.group);
	json_set_str(gvk, "version", r->gvk.version);
	json_set_str(gvk, "kind", r->gvk.kind);
	json_set_str(op, "x-kubernetes-action", action);
	if (write) {
		add_param(params, "dryRun", "query", "string");
		add_param(params, "fieldManager", "query", "string");
		add_param(params, "fieldValidation", "query", "string");
	}
	json_set(op, "parameters", params);
	json_set_str(resp, "description", "OK");
	json_set_str(json_obj(json_obj(json_obj(resp, "content"), "application/json"), "schema"), "$ref", ref);
	free(ref);
	return op;
}

static void add_paths(cJSON *paths, const struct schema_resource *r)
{
	char *base = gv_path(r->gvk.group, r->gvk.version);
	char *coll = r->namespaced ? xasprintf("/%s/namespaces/{namespace}/%s", base, r->plural)
				   : xasprintf("/%s/%s", base, r->plural);
	char *item = xasprintf("%s/{name}", coll);
	cJSON *pc = json_obj(paths, coll), *pi = json_obj(paths, item);

	if (r->verbs & SCHEMA_VERB_LIST)
		json_set(pc, "get", operation(r, "list", false));
	if (r->verbs & SCHEMA_VERB_CREATE)
		json_set(pc, "post", operation(r, "post", true));
	if (r->verbs & SCHEMA_VERB_GET)
		json_set(pi, "get", operation(r, "get", false));
	if (r->verbs & SCHEMA_VERB_UPDATE)
		json_set(pi, "put", operation(r, "put", true));
	if (r->verbs & SCHEMA_VERB_PATCH)
		json_set(pi, "patch", operation(r, "patch", true));
	if (r->verbs & SCHEMA_VERB_DELETE)
		json_set(pi, "delete", operation(r, "delete", false));
	free(base);
	free(coll);
	free(item);
}

static bool served(const struct schema_resource *r)
{
	return registry_find(r->gvk.group, r->gvk.version, r->plural) != NULL;
}

/* Builds the document for one group-version path, or returns -ENOENT. */
static int build(const char *path, struct gv_doc *d)
{
	const struct schema **roots = xcalloc(gen_nresources * 2 + 1, sizeof(*roots));
	cJSON *paths = cJSON_CreateObject();
	struct buf b = BUF_INIT;
	size_t n = 0;
	char *ptext, *at;
	int ret = -ENOENT;

	for (size_t i = 0; i < gen_nresources; i++) {
		const struct schema_resource *r = &gen_resources[i];
		char *p = gv_path(r->gvk.group, r->gvk.version);

		if (!strcmp(p, path) && served(r) && r->schema) {
			roots[n++] = r->schema;
			if (r->list_schema)
				roots[n++] = r->list_schema;
			add_paths(paths, r);
		}
		free(p);
	}
	if (n && !schema_openapi_v3(roots, n, "Kubernetes", &b)) {
		/* splice our paths into the engine's empty "paths":{} */
		ptext = json_print(paths);
		at = strstr(b.data, "\"paths\":{}");
		if (at) {
			struct buf out = BUF_INIT;

			buf_add(&out, b.data, (size_t)(at - b.data));
			buf_addf(&out, "\"paths\":%s", ptext);
			buf_addstr(&out, at + strlen("\"paths\":{}"));
			buf_release(&b);
			b = out;
		}
		free(ptext);
		d->path = xstrdup(path);
		d->text = buf_detach(&b, &d->len);
		ret = 0;
	}
	buf_release(&b);
	cJSON_Delete(paths);
	free(roots);
	return ret;
}

static void serve_index(struct api_call *c)
{
	cJSON *idx = cJSON_CreateObject(), *paths = json_obj(idx, "paths");

	for (size_t i = 0; i < gen_nresources; i++) {
		const struct schema_resource *r = &gen_resources[i];
		char *p, *url, h[33];

		if (!served(r))
			continue;
		p = gv_path(r->gvk.group, r->gvk.version);
		if (!json_get(paths, p)) {
			hash_of(p, h);
			url = xasprintf("/openapi/v3/%s?hash=%s", p, h);
			json_set_str(json_obj(paths, p), "serverRelativeURL", url);
			free(url);
		}
		free(p);
	}
	api_respond_json(c, 200, idx);
	cJSON_Delete(idx);
}

void openapi_serve(struct api_call *c)
{
	const char *path = c->req->path;
	struct gv_doc *d = NULL;
	size_t i;

	if (!strcmp(path, "/openapi/v3") || !strcmp(path, "/openapi/v3/")) {
		serve_index(c);
		return;
	}
	if (!str_has_prefix(path, "/openapi/v3/")) {
		api_respond_errorf(c, STATUS_NOT_FOUND, "the server could not find the requested resource");
		return;
	}
	path += strlen("/openapi/v3/");
	for (i = 0; i < OPENAPI_MAX_GV && cache[i].path; i++)
		if (!strcmp(cache[i].path, path))
			d = &cache[i];
	if (!d && i < OPENAPI_MAX_GV && !build(path, &cache[i]))
		d = &cache[i];
	if (!d) {
		api_respond_errorf(c, STATUS_NOT_FOUND, "the server could not find the requested resource");
		return;
	}
	http_response_add_header(c->req, "Cache-Control", "public, immutable");
	api_respond_raw(c, 200, "application/json", d->text, d->len);
}
