/*
 * server/openapi.c - /openapi/v3 and /openapi/v3/<api/v1|apis/g/v>.
 *
 * The index lists one document per served group-version with a hash that
 * changes only when the binary does. A document is generated on first
 * request by the schema engine (components.schemas) plus the paths kubectl
 * reads: for each resource a PATCH operation carrying
 * x-kubernetes-group-version-kind and the fieldValidation parameter, which
 * is how kubectl decides that the server validates fields itself (the
 * engine emits both). Documents are cached until the process ends (they are
 * deterministic), except that a change of the served custom resources
 * (crd_generation()) drops the cache and changes the hashes of their
 * groups' documents, so clients fetch them again.
 */
#include "openapi.h"
#include "crd.h"
#include "server/gen/schemas.h"
#include "lib/json.h"
#include "lib/schema.h"
#include "lib/util.h"

#include <errno.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPENAPI_MAX_GV 64	/* cached group-version documents */
#define OPENAPI_MAX_CR 64	/* custom resources in one group-version document */

struct gv_doc {
	char *path;		/* "api/v1", "apis/apps/v1" */
	char *text;
	size_t len;
};

static struct gv_doc cache[OPENAPI_MAX_GV];
static unsigned cached_generation;

void openapi_release(void)
{
	for (size_t i = 0; i < OPENAPI_MAX_GV; i++) {
		free(cache[i].path);
		free(cache[i].text);
		cache[i] = (struct gv_doc){ 0 };
	}
}

static char *gv_path(const char *group, const char *version)
{
	return *group ? xasprintf("apis/%s/%s", group, version) : xasprintf("api/%s", version);
}

static bool is_builtin_path(const char *path)
{
	for (size_t i = 0; i < gen_nresources; i++) {
		char *p = gv_path(gen_resources[i].gvk.group, gen_resources[i].gvk.version);
		bool same = !strcmp(p, path);

		free(p);
		if (same)
			return true;
	}
	return false;
}

/* "apis/<group>/<version>" -> group (static buffer), "" otherwise */
static const char *group_of(const char *path)
{
	static char g[256];
	const char *s, *e;

	g[0] = '\0';
	if (strncmp(path, "apis/", 5))
		return g;
	s = path + 5;
	e = strchr(s, '/');
	if (e && (size_t)(e - s) < sizeof(g)) {
		memcpy(g, s, (size_t)(e - s));
		g[e - s] = '\0';
	}
	return g;
}

static void hash_of(const char *path, char out[33])
{
	unsigned char h[32];
	char *in = registry_group_versions(group_of(path)) && !is_builtin_path(path) ?
		   xasprintf("%s %s %u", K1S_COMMIT, path, crd_generation()) :
		   xasprintf("%s %s", K1S_COMMIT, path);

	mbedtls_sha256_ret((const unsigned char *)in, strlen(in), h, 0);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02X", h[i]);
	free(in);
}

static bool served(const struct schema_resource *r)
{
	return registry_find(r->gvk.group, r->gvk.version, r->plural) != NULL;
}

/* Builds the document for one group-version path, or returns -ENOENT. */
static int build(const char *path, struct gv_doc *d)
{
	static const char *const extra_names[] = {
		"io.k8s.apimachinery.pkg.apis.meta.v1.Status",
		"io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
		"io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
	};
	const struct schema_resource **res = xcalloc(gen_nresources + OPENAPI_MAX_CR + 1, sizeof(*res));
	const struct schema *extra[ARRAY_SIZE(extra_names)];
	struct schema_opts o = { 0 };
	struct buf b = BUF_INIT;
	size_t n = 0, nextra = 0;
	int ret = -ENOENT;

	for (size_t i = 0; i < gen_nresources; i++) {
		const struct schema_resource *r = &gen_resources[i];
		char *p = gv_path(r->gvk.group, r->gvk.version);

		if (!strcmp(p, path) && served(r) && r->schema)
			res[n++] = r;
		free(p);
	}
	n += crd_openapi_resources(path, res + n, OPENAPI_MAX_CR);
	for (size_t i = 0; i < ARRAY_SIZE(extra_names); i++) {
		const struct schema *x = schema_def_lookup(gen_defs, gen_ndefs, extra_names[i]);

		if (x)
			extra[nextra++] = x;
	}
	o.object_meta = schema_def_lookup(gen_defs, gen_ndefs,
					  "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
	if (n && !schema_openapi_v3(res, n, extra, nextra, &o, &b)) {
		d->path = xstrdup(path);
		d->text = buf_detach(&b, &d->len);
		ret = 0;
	}
	buf_release(&b);
	free(res);
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
	for (size_t i = 0; i < registry_count(); i++) {
		const struct api_resource *r = registry_at(i);
		char *p, *url, h[33];

		if (!r->crd)
			continue;
		p = gv_path(r->group, r->version);
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
	if (cached_generation != crd_generation()) {
		openapi_release();
		cached_generation = crd_generation();
	}
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
