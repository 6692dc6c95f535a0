/*
 * server/schema_glue.c - the schema engine applied to API requests.
 *
 * Built-in kinds take their schema from the generated tables
 * (server/gen/schemas.c); the registry row finds it by group/version/plural.
 * fieldValidation: Strict (the default, as kubectl sends) answers 400 for
 * unknown or duplicate fields with kube-apiserver's strict-decoding text,
 * Warn answers with Warning headers and drops them, Ignore drops them.
 */
#include "schema_glue.h"
#include "crd.h"
#include "server/gen/schemas.h"
#include "lib/json.h"
#include "lib/schema.h"
#include "lib/util.h"

#include <errno.h>
#include <string.h>

#define OBJECT_META "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

static const struct schema *object_meta(void)
{
	static const struct schema *meta;

	if (!meta)
		meta = schema_def_lookup(gen_defs, gen_ndefs, OBJECT_META);
	return meta;
}

const struct schema *schema_glue_root(const struct api_resource *r)
{
	for (size_t i = 0; i < gen_nresources; i++) {
		const struct schema_resource *g = &gen_resources[i];

		if (!strcmp(g->gvk.group, r->group) && !strcmp(g->gvk.version, r->version) &&
		    !strcmp(g->plural, r->plural))
			return g->schema;
	}
	return NULL;
}

static const struct schema *root_of(struct api_call *c)
{
	if (!strcmp(c->route.sub, "scale"))
		return NULL;
	if (c->res->crd)
		return c->res->crd->schema;
	return schema_glue_root(c->res);
}

static const char *mode_of(struct api_call *c)
{
	return c->field_validation ? c->field_validation : "Strict";
}

int schema_glue_decode(struct api_call *c, cJSON *obj, struct api_error *e)
{
	const struct schema *s = root_of(c);
	struct schema_opts o = { .object_meta = object_meta(), .check_list_keys = c->res->crd != NULL };
	struct schema_errors errs = SCHEMA_ERRORS_INIT;
	const char *mode = mode_of(c);
	int ret = 0;

	if (!s)
		return 0;
	if (!strcmp(mode, "Ignore")) {
		schema_prune(s, obj, &o);
		return 0;
	}
	if (schema_unknown_fields(s, obj, &o, &errs) > 0) {
		struct buf b = BUF_INIT;

		for (size_t i = 0; i < errs.nr; i++)
			buf_addf(&b, "%s%s", i ? ", " : "", errs.v[i].message);
		if (!strcmp(mode, "Strict")) {
			api_error_set(e, STATUS_BAD_REQUEST,
				      "%s in version \"%s\" cannot be handled as a %s: strict decoding error: %s",
				      c->res->kind, c->res->version, c->res->kind, b.data);
			ret = -EINVAL;
		} else {
			for (size_t i = 0; i < errs.nr; i++) {
				struct buf w = BUF_INIT;

				/* 299 - "<text>" with the text's quotes escaped, as upstream */
				buf_addstr(&w, "299 - \"");
				for (const char *p = errs.v[i].message; *p; p++) {
					if (*p == '"' || *p == '\\')
						buf_addch(&w, '\\');
					buf_addch(&w, *p);
				}
				buf_addch(&w, '"');
				http_response_add_header(c->req, "Warning", w.data);
				buf_release(&w);
			}
			schema_prune(s, obj, &o);
		}
		buf_release(&b);
	}
	schema_errors_release(&errs);
	return ret;
}

void schema_glue_defaults(struct api_call *c, cJSON *obj)
{
	const struct schema *s = root_of(c);
	struct schema_opts o = { .object_meta = object_meta(), .check_list_keys = c->res->crd != NULL };

	if (s)
		schema_default(s, obj, &o);
}

void schema_glue_validate(struct api_call *c, const cJSON *obj, struct api_error *e)
{
	const struct schema *s = root_of(c);
	struct schema_opts o = { .object_meta = object_meta(), .check_list_keys = c->res->crd != NULL };
	struct schema_errors errs = SCHEMA_ERRORS_INIT;

	if (!s)
		return;
	schema_validate(s, obj, &o, &errs);
	for (size_t i = 0; i < errs.nr; i++)
		api_error_add_cause(e, schema_reason_str(errs.v[i].reason), errs.v[i].field,
				    "%s", errs.v[i].message);
	schema_errors_release(&errs);
}

/* ---- strategic merge patch over schema nodes ---- */

static int smp_field(void *ctx, const void *node, const char *name, struct smp_field_meta *meta)
{
	struct schema_field f;

	(void)ctx;
	if (schema_field(node, name, &f))
		return -ENOENT;
	meta->strategy = 0;
	if (f.patch & SCHEMA_PATCH_MERGE)
		meta->strategy |= SMP_MERGE;
	if (f.patch & SCHEMA_PATCH_RETAIN_KEYS)
		meta->strategy |= SMP_RETAIN_KEYS;
	if (f.patch & SCHEMA_PATCH_REPLACE)
		meta->strategy |= SMP_REPLACE;
	meta->merge_key = f.merge_key;
	meta->node = f.schema;
	return 0;
}

static const void *smp_items(void *ctx, const void *node)
{
	(void)ctx;
	return schema_items(node);
}

static const struct smp_schema_ops smp_ops = { smp_field, smp_items };

void schema_glue_smp(struct api_call *c, struct smp_schema *out)
{
	const struct schema *s = root_of(c);

	out->ops = s ? &smp_ops : NULL;
	out->ctx = NULL;
	out->root = s;
}
