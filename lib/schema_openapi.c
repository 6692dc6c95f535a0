/*
 * lib/schema_openapi.c - OpenAPI v3 documents from schema nodes.
 *
 * Two passes: collect the named nodes reachable from the roots (a pointer
 * set), then write paths and components.schemas with the names sorted, so
 * the same input always gives the same bytes.
 */
#include "schema_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REF_PREFIX "#/components/schemas/"

struct ectx {
	struct buf *b;
	bool comma;			/* a value was written: next key/elem needs ',' */
	const struct schema **set;	/* open-addressing pointer set */
	size_t cap, nr;
	const struct schema_opts *opts;
	const struct schema_resource *const *res;	/* the resources emitted */
	size_t nres;
	bool no_strategic;		/* the current resource takes no strategic merge patch */
};

/* ---- a tiny JSON writer ---- */

static void sep(struct ectx *c)
{
	if (c->comma)
		buf_addch(c->b, ',');
	c->comma = false;
}

static void key(struct ectx *c, const char *k)
{
	sep(c);
	buf_add_json_str(c->b, k, strlen(k));
	buf_addch(c->b, ':');
}

static void open_(struct ectx *c, char ch)
{
	buf_addch(c->b, ch);
	c->comma = false;
}

static void close_(struct ectx *c, char ch)
{
	buf_addch(c->b, ch);
	c->comma = true;
}

static void raw(struct ectx *c, const char *s)
{
	buf_addstr(c->b, s);
	c->comma = true;
}

static void str(struct ectx *c, const char *s)
{
	buf_add_json_str(c->b, s, strlen(s));
	c->comma = true;
}

static void kv_str(struct ectx *c, const char *k, const char *v)
{
	key(c, k);
	str(c, v);
}

static void kv_raw(struct ectx *c, const char *k, const char *v)
{
	key(c, k);
	raw(c, v);
}

static void kv_num(struct ectx *c, const char *k, double d)
{
	key(c, k);
	schema__fmt_number(c->b, d);
	c->comma = true;
}

static void str_list(struct ectx *c, const char *k, const char *const *v)
{
	key(c, k);
	open_(c, '[');
	for (; *v; v++) {
		sep(c);
		str(c, *v);
	}
	close_(c, ']');
}

static void ref_to(struct ectx *c, const char *name)
{
	open_(c, '{');
	key(c, "$ref");
	sep(c);
	buf_addch(c->b, '"');
	buf_addstr(c->b, REF_PREFIX);
	buf_add(c->b, name, strlen(name));	/* names are plain identifiers */
	buf_addch(c->b, '"');
	c->comma = true;
	close_(c, '}');
}

/* ---- collecting the components ---- */

static size_t slot(const struct ectx *c, const struct schema *s)
{
	size_t h = ((uintptr_t)s >> 4) * 0x9e3779b97f4a7c15ull;

	for (h &= c->cap - 1; c->set[h] && c->set[h] != s; h = (h + 1) & (c->cap - 1))
		;
	return h;
}

/* Adds s; false when it was there already. */
static bool set_add(struct ectx *c, const struct schema *s)
{
	size_t h;

	if ((c->nr + 1) * 2 > c->cap) {
		const struct schema **old = c->set;
		size_t ocap = c->cap;

		c->cap = c->cap ? c->cap * 2 : 256;
		c->set = xcalloc(c->cap, sizeof(*c->set));
		for (size_t i = 0; i < ocap; i++)
			if (old[i])
				c->set[slot(c, old[i])] = old[i];
		free(old);
	}
	h = slot(c, s);
	if (c->set[h])
		return false;
	c->set[h] = s;
	c->nr++;
	return true;
}

static void collect(struct ectx *c, const struct schema *s);

static void collect_list(struct ectx *c, const struct schema *const *l)
{
	for (; l && *l; l++)
		collect(c, *l);
}

static void collect(struct ectx *c, const struct schema *s)
{
	if (!s)
		return;
	if (s->name && !set_add(c, s))
		return;
	collect(c, s->ref);
	for (uint32_t i = 0; i < s->nprops; i++)
		collect(c, s->props[i].schema);
	collect(c, s->items);
	collect(c, s->additional);
	if (s->extra) {
		collect_list(c, s->extra->all_of);
		collect_list(c, s->extra->any_of);
		collect_list(c, s->extra->one_of);
		collect(c, s->extra->not_);
	}
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(const struct schema *const *)a)->name,
		      (*(const struct schema *const *)b)->name);
}

/* ---- schemas ---- */

static void emit_use(struct ectx *c, const struct schema *s);

static void emit_types(struct ectx *c, const struct schema *s)
{
	static const char *const names[] = {
		"object", "array", "string", "integer", "number", "boolean",
	};
	unsigned t = s->types;

	if (s->flags & SCHEMA_F_INT_OR_STRING) {
		kv_raw(c, "x-kubernetes-int-or-string", "true");
		return;
	}
	if (!t)
		return;
	if (!(t & (t - 1))) {
		for (unsigned i = 0; i < 6; i++)
			if (t == 1u << i)
				kv_str(c, "type", names[i]);
		return;
	}
	if (t & SCHEMA_T_NUMBER)
		t &= ~SCHEMA_T_INTEGER;
	key(c, "oneOf");
	open_(c, '[');
	for (unsigned i = 0; i < 6; i++) {
		if (!(t & (1u << i)))
			continue;
		sep(c);
		open_(c, '{');
		kv_str(c, "type", names[i]);
		close_(c, '}');
	}
	close_(c, ']');
}

static void emit_flags(struct ectx *c, const struct schema *s)
{
	static const struct { unsigned flag; const char *kw, *val; } t[] = {
		{ SCHEMA_F_NULLABLE, "nullable", "true" },
		{ SCHEMA_F_UNIQUE_ITEMS, "uniqueItems", "true" },
		{ SCHEMA_F_PRESERVE_UNKNOWN, "x-kubernetes-preserve-unknown-fields", "true" },
		{ SCHEMA_F_EMBEDDED, "x-kubernetes-embedded-resource", "true" },
		{ SCHEMA_F_MAP_ATOMIC, "x-kubernetes-map-type", "\"atomic\"" },
		{ SCHEMA_F_MAP_GRANULAR, "x-kubernetes-map-type", "\"granular\"" },
		{ SCHEMA_F_ANY_ADDITIONAL, "additionalProperties", "true" },
		{ SCHEMA_F_NO_ADDITIONAL, "additionalProperties", "false" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (s->flags & t[i].flag)
			kv_raw(c, t[i].kw, t[i].val);
}

static void emit_list_kw(struct ectx *c, const char *k,
			 const struct schema *const *l)
{
	key(c, k);
	open_(c, '[');
	for (; *l; l++) {
		sep(c);
		emit_use(c, *l);
	}
	close_(c, ']');
}

static void emit_extra(struct ectx *c, const struct schema_extra *x)
{
	static const struct { unsigned bit; const char *kw; size_t off; bool dbl; } t[] = {
		{ SCHEMA_L_MINIMUM, "minimum", offsetof(struct schema_extra, minimum), true },
		{ SCHEMA_L_MAXIMUM, "maximum", offsetof(struct schema_extra, maximum), true },
		{ SCHEMA_L_MULTIPLE_OF, "multipleOf", offsetof(struct schema_extra, multiple_of), true },
		{ SCHEMA_L_MIN_LENGTH, "minLength", offsetof(struct schema_extra, min_length), false },
		{ SCHEMA_L_MAX_LENGTH, "maxLength", offsetof(struct schema_extra, max_length), false },
		{ SCHEMA_L_MIN_ITEMS, "minItems", offsetof(struct schema_extra, min_items), false },
		{ SCHEMA_L_MAX_ITEMS, "maxItems", offsetof(struct schema_extra, max_items), false },
		{ SCHEMA_L_MIN_PROPS, "minProperties", offsetof(struct schema_extra, min_properties), false },
		{ SCHEMA_L_MAX_PROPS, "maxProperties", offsetof(struct schema_extra, max_properties), false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *p = (const char *)x + t[i].off;

		if (!(x->has & t[i].bit))
			continue;
		kv_num(c, t[i].kw, t[i].dbl ? *(const double *)p : (double)*(const int64_t *)p);
	}
	if (x->has & SCHEMA_L_EXCL_MIN)
		kv_raw(c, "exclusiveMinimum", "true");
	if (x->has & SCHEMA_L_EXCL_MAX)
		kv_raw(c, "exclusiveMaximum", "true");
	if (x->pattern)
		kv_str(c, "pattern", x->pattern);
	if (x->enum_json) {
		key(c, "enum");
		open_(c, '[');
		for (const char *const *e = x->enum_json; *e; e++) {
			sep(c);
			raw(c, *e);
		}
		close_(c, ']');
	}
	if (x->all_of)
		emit_list_kw(c, "allOf", x->all_of);
	if (x->any_of)
		emit_list_kw(c, "anyOf", x->any_of);
	if (x->one_of)
		emit_list_kw(c, "oneOf", x->one_of);
	if (x->not_) {
		key(c, "not");
		emit_use(c, x->not_);
	}
}

static void emit_gvk(struct ectx *c, const struct schema *s)
{
	key(c, "x-kubernetes-group-version-kind");
	open_(c, '[');
	for (unsigned i = 0; i < s->ngvk; i++) {
		sep(c);
		open_(c, '{');
		kv_str(c, "group", s->gvk[i].group);
		kv_str(c, "kind", s->gvk[i].kind);
		kv_str(c, "version", s->gvk[i].version);
		close_(c, '}');
	}
	close_(c, ']');
}

static bool is_resource_root(const struct ectx *c, const struct schema *s)
{
	for (size_t i = 0; i < c->nres; i++)
		if (c->res[i]->schema == s)
			return true;
	return false;
}

/* A CRD root: metadata missing or without properties. */
static bool meta_needs_ref(const struct ectx *c, const struct schema *s,
			   const struct schema *meta)
{
	return c->opts && c->opts->object_meta && is_resource_root(c, s) &&
	       (!meta || !schema__st(meta)->nprops);
}

static void emit_props(struct ectx *c, const struct schema *s)
{
	const struct schema *meta = schema__prop(s, "metadata");
	bool root = is_resource_root(c, s);

	if (!s->nprops && !(root && meta_needs_ref(c, s, meta)))
		return;
	key(c, "properties");
	open_(c, '{');
	if (root && !schema__prop(s, "apiVersion"))
		kv_raw(c, "apiVersion", "{\"type\":\"string\"}");
	if (root && !schema__prop(s, "kind"))
		kv_raw(c, "kind", "{\"type\":\"string\"}");
	if (root && meta_needs_ref(c, s, meta)) {
		key(c, "metadata");
		ref_to(c, c->opts->object_meta->name);
	}
	for (uint32_t i = 0; i < s->nprops; i++) {
		if (root && s->props[i].schema == meta && meta_needs_ref(c, s, meta))
			continue;
		key(c, s->props[i].name);
		emit_use(c, s->props[i].schema);
	}
	close_(c, '}');
}

static void emit_body(struct ectx *c, const struct schema *s)
{
	open_(c, '{');
	if (s->ref) {
		key(c, "allOf");
		open_(c, '[');
		sep(c);
		emit_use(c, s->ref);
		close_(c, ']');
	}
	if (s->description)
		kv_str(c, "description", s->description);
	emit_types(c, s);
	if (s->format)
		kv_str(c, "format", s->format);
	emit_props(c, s);
	if (s->required)
		str_list(c, "required", s->required);
	if (s->items) {
		key(c, "items");
		emit_use(c, s->items);
	}
	if (s->additional) {
		key(c, "additionalProperties");
		emit_use(c, s->additional);
	}
	if (s->default_json)
		kv_raw(c, "default", s->default_json);
	emit_flags(c, s);
	if (s->extra)
		emit_extra(c, s->extra);
	if (s->ngvk)
		emit_gvk(c, s);
	if (s->list_type) {
		static const char *const lt[] = { "", "atomic", "set", "map" };

		kv_str(c, "x-kubernetes-list-type", lt[s->list_type]);
	}
	if (s->list_map_keys)
		str_list(c, "x-kubernetes-list-map-keys", s->list_map_keys);
	if (s->merge_key)
		kv_str(c, "x-kubernetes-patch-merge-key", s->merge_key);
	if (s->patch) {
		struct buf p = BUF_INIT;

		if (s->patch & SCHEMA_PATCH_MERGE)
			buf_addstr(&p, "merge");
		if (s->patch & SCHEMA_PATCH_REPLACE)
			buf_addf(&p, "%sreplace", p.len ? "," : "");
		if (s->patch & SCHEMA_PATCH_RETAIN_KEYS)
			buf_addf(&p, "%sretainKeys", p.len ? "," : "");
		kv_str(c, "x-kubernetes-patch-strategy", p.data);
		buf_release(&p);
	}
	close_(c, '}');
}

/* A node where it is used: a $ref when named, else inline. */
static void emit_use(struct ectx *c, const struct schema *s)
{
	if (s->name)
		ref_to(c, s->name);
	else
		emit_body(c, s);
}

/* ---- paths ---- */

static const char *const write_params[] = { "dryRun", "fieldManager", "fieldValidation", NULL };

static void emit_params(struct ectx *c, const char *const *names)
{
	key(c, "parameters");
	open_(c, '[');
	for (; *names; names++) {
		sep(c);
		open_(c, '{');
		kv_str(c, "name", *names);
		kv_str(c, "in", "query");
		kv_raw(c, "schema", "{\"type\":\"string\"}");
		kv_raw(c, "uniqueItems", "true");
		close_(c, '}');
	}
	close_(c, ']');
}

static void emit_content(struct ectx *c, const char *type, const struct schema *s)
{
	key(c, "content");
	open_(c, '{');
	key(c, type);
	open_(c, '{');
	key(c, "schema");
	if (s && s->name)
		ref_to(c, s->name);
	else
		raw(c, "{\"type\":\"object\"}");
	close_(c, '}');
	close_(c, '}');
}

/* The patch bodies of a resource without strategic merge patch, as
 * kube-apiserver lists them for custom resources (kubectl apply then sends
 * a JSON merge patch). */
static void emit_patch_types(struct ectx *c)
{
	static const char *const types[] = {
		"application/apply-patch+yaml", "application/json-patch+json",
		"application/merge-patch+json",
	};

	key(c, "content");
	open_(c, '{');
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		key(c, types[i]);
		open_(c, '{');
		key(c, "schema");
		raw(c, "{\"type\":\"object\"}");
		close_(c, '}');
	}
	close_(c, '}');
}

static void emit_op(struct ectx *c, const char *method, const char *action,
		    const struct schema_gvk *gvk, const struct schema *body,
		    const struct schema *reply)
{
	static const char *const list_params[] = {
		"allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
		"resourceVersion", "resourceVersionMatch", "timeoutSeconds", "watch", NULL,
	};
	bool write = !strcmp(action, "post") || !strcmp(action, "put") || !strcmp(action, "patch");

	key(c, method);
	open_(c, '{');
	kv_str(c, "x-kubernetes-action", action);
	key(c, "x-kubernetes-group-version-kind");
	open_(c, '{');
	kv_str(c, "group", gvk->group);
	kv_str(c, "kind", gvk->kind);
	kv_str(c, "version", gvk->version);
	close_(c, '}');
	if (write || !strcmp(action, "list")) {
		emit_params(c, write ? write_params : list_params);
	}
	if (write) {
		key(c, "requestBody");
		open_(c, '{');
		if (!strcmp(action, "patch") && c->no_strategic)
			emit_patch_types(c);
		else
			emit_content(c, !strcmp(action, "patch") ? "application/strategic-merge-patch+json" :
				     "*/*", !strcmp(action, "patch") ? NULL : body);
		kv_raw(c, "required", "true");
		close_(c, '}');
	}
	key(c, "responses");
	open_(c, '{');
	key(c, "200");
	open_(c, '{');
	kv_str(c, "description", "OK");
	emit_content(c, "application/json", reply);
	close_(c, '}');
	close_(c, '}');
	close_(c, '}');
}

static void path_prefix(struct buf *p, const struct schema_resource *r)
{
	if (r->gvk.group[0])
		buf_addf(p, "/apis/%s/%s/", r->gvk.group, r->gvk.version);
	else
		buf_addf(p, "/api/%s/", r->gvk.version);
	if (r->namespaced)
		buf_addstr(p, "namespaces/{namespace}/");
	buf_addstr(p, r->plural);
}

static void emit_resource_paths(struct ectx *c, const struct schema_resource *r)
{
	struct buf p = BUF_INIT;
	size_t base;

	c->no_strategic = r->verbs & SCHEMA_RES_NO_STRATEGIC;
	path_prefix(&p, r);
	base = p.len;
	key(c, p.data);
	open_(c, '{');
	if (r->verbs & SCHEMA_VERB_LIST)
		emit_op(c, "get", "list", &r->gvk, NULL, r->list_schema);
	if (r->verbs & SCHEMA_VERB_CREATE)
		emit_op(c, "post", "post", &r->gvk, r->schema, r->schema);
	if (r->verbs & SCHEMA_VERB_DELETECOLLECTION)
		emit_op(c, "delete", "deletecollection", &r->gvk, NULL, NULL);
	close_(c, '}');
	buf_addstr(&p, "/{name}");
	key(c, p.data);
	open_(c, '{');
	if (r->verbs & SCHEMA_VERB_GET)
		emit_op(c, "get", "get", &r->gvk, NULL, r->schema);
	if (r->verbs & SCHEMA_VERB_UPDATE)
		emit_op(c, "put", "put", &r->gvk, r->schema, r->schema);
	if (r->verbs & SCHEMA_VERB_PATCH)
		emit_op(c, "patch", "patch", &r->gvk, NULL, r->schema);
	if (r->verbs & SCHEMA_VERB_DELETE)
		emit_op(c, "delete", "delete", &r->gvk, NULL, NULL);
	close_(c, '}');
	for (size_t i = 0; i < r->nsubresources; i++) {
		const struct schema_subresource *sr = &r->subresources[i];

		if (sr->verbs & SCHEMA_VERB_CONNECT || !sr->schema)
			continue;
		schema__path_pop(&p, base);
		buf_addf(&p, "/{name}/%s", sr->name);
		key(c, p.data);
		open_(c, '{');
		if (sr->verbs & SCHEMA_VERB_GET)
			emit_op(c, "get", "get", &sr->gvk, NULL, sr->schema);
		if (sr->verbs & SCHEMA_VERB_CREATE)
			emit_op(c, "post", "post", &sr->gvk, sr->schema, sr->schema);
		if (sr->verbs & SCHEMA_VERB_UPDATE)
			emit_op(c, "put", "put", &sr->gvk, sr->schema, sr->schema);
		if (sr->verbs & SCHEMA_VERB_PATCH)
			emit_op(c, "patch", "patch", &sr->gvk, NULL, sr->schema);
		close_(c, '}');
	}
	buf_release(&p);
}

static int collect_roots(struct ectx *c, const struct schema_resource *const *res,
			 size_t nres, const struct schema *const *extra, size_t nextra)
{
	for (size_t i = 0; i < nres; i++) {
		const struct schema_resource *r = res[i];

		if (!r->schema->name || (r->list_schema && !r->list_schema->name))
			return -EINVAL;
		collect(c, r->schema);
		collect(c, r->list_schema);
		for (size_t j = 0; j < r->nsubresources; j++)
			collect(c, r->subresources[j].schema);
		if (meta_needs_ref(c, r->schema, schema__prop(r->schema, "metadata")))
			collect(c, c->opts->object_meta);
	}
	for (size_t i = 0; i < nextra; i++) {
		if (!extra[i]->name)
			return -EINVAL;
		collect(c, extra[i]);
	}
	return 0;
}

int schema_openapi_v3(const struct schema_resource *const *res, size_t nres,
		      const struct schema *const *extra, size_t nextra,
		      const struct schema_opts *opts, struct buf *out)
{
	struct ectx c = { .b = out, .opts = opts, .res = res, .nres = nres };
	const struct schema **names = NULL;
	size_t n = 0;
	int ret;

	ret = collect_roots(&c, res, nres, extra, nextra);
	if (ret)
		goto out;
	names = xcalloc(c.nr + 1, sizeof(*names));
	for (size_t i = 0; i < c.cap; i++)
		if (c.set[i])
			names[n++] = c.set[i];
	qsort(names, n, sizeof(*names), cmp_name);

	open_(&c, '{');
	kv_str(&c, "openapi", "3.0.0");
	kv_raw(&c, "info", "{\"title\":\"Kubernetes\",\"version\":\"unversioned\"}");
	key(&c, "paths");
	open_(&c, '{');
	for (size_t i = 0; i < nres; i++)
		emit_resource_paths(&c, res[i]);
	close_(&c, '}');
	key(&c, "components");
	open_(&c, '{');
	key(&c, "schemas");
	open_(&c, '{');
	for (size_t i = 0; i < n; i++) {
		key(&c, names[i]->name);
		emit_body(&c, names[i]);
	}
	close_(&c, '}');
	close_(&c, '}');
	close_(&c, '}');
out:
	free(names);
	free(c.set);
	return ret;
}
