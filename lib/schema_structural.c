/*
 * lib/schema_structural.c - the structural-schema rules of CRD schemas,
 * checked on the JSON of an openAPIV3Schema before schema_parse() builds
 * nodes from it, with apiextensions-apiserver's field paths and messages
 * ("<path>.properties[spec].type: Required value: must not be empty for
 * specified object fields").
 */
#include "schema_int.h"

#include <errno.h>
#include <string.h>

enum level { LVL_ROOT, LVL_FIELD, LVL_ITEM, LVL_LOGIC };

struct sctx {
	struct schema_errors *errs;
	struct buf path;
	int depth;
	const char *prop;	/* property name of the node being checked, or NULL */
};

static const cJSON *kw(const cJSON *s, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(s, name);
}

static bool kw_true(const cJSON *s, const char *name)
{
	return cJSON_IsTrue(kw(s, name));
}

/* Adds an error at path + "." + child (child may be NULL). */
static void err(struct sctx *c, const char *child, enum schema_reason r,
		const char *fmt, const char *arg)
{
	size_t old = child ? schema__path_key(&c->path, child) : c->path.len;
	static const char *const words[] = {
		[SCHEMA_ERR_REQUIRED] = "Required value", [SCHEMA_ERR_INVALID] = "Invalid value",
		[SCHEMA_ERR_NOT_SUPPORTED] = "Unsupported value", [SCHEMA_ERR_FORBIDDEN] = "Forbidden",
	};
	struct buf m = BUF_INIT;

	buf_addstr(&m, words[r]);
	if (r == SCHEMA_ERR_INVALID || r == SCHEMA_ERR_NOT_SUPPORTED) {
		buf_addstr(&m, ": ");
		buf_add_json_str(&m, arg ? arg : "", strlen(arg ? arg : ""));
	}
	buf_addstr(&m, ": ");
	buf_addstr(&m, fmt);
	schema_errors_add(c->errs, r, buf_str(&c->path), "%s", buf_str(&m));
	buf_release(&m);
	schema__path_pop(&c->path, old);
}

static const char *str_of(const cJSON *v)
{
	return cJSON_IsString(v) ? v->valuestring : "";
}

static void check_node(struct sctx *c, const cJSON *s, enum level lvl);

static void check_child(struct sctx *c, const char *key, const char *mapkey,
			const cJSON *s, enum level lvl)
{
	size_t old = schema__path_key(&c->path, key);
	const char *prop = c->prop;

	if (mapkey)
		buf_addf(&c->path, "[%s]", mapkey);
	c->prop = mapkey;
	check_node(c, s, lvl);
	c->prop = prop;
	schema__path_pop(&c->path, old);
}

/* Only name and generateName (with nothing else) may be given for the
 * root's metadata. */
static void check_metadata(struct sctx *c, const cJSON *m)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, m) {
		const char *k = it->string;

		if (!strcmp(k, "type") || !strcmp(k, "description"))
			continue;
		if (!strcmp(k, "properties")) {
			const cJSON *p;

			cJSON_ArrayForEach(p, it)
				if (strcmp(p->string, "name") && strcmp(p->string, "generateName"))
					goto bad;
			continue;
		}
		goto bad;
	}
	return;
bad:
	{
		size_t old = schema__path_key(&c->path, "properties");

		buf_addstr(&c->path, "[metadata]");
		err(c, NULL, SCHEMA_ERR_FORBIDDEN,
		    "must not specify anything other than name and generateName, but metadata is implicitly specified",
		    NULL);
		schema__path_pop(&c->path, old);
	}
}

static void check_type(struct sctx *c, const cJSON *s, enum level lvl)
{
	static const char *const types[] = { "array", "boolean", "integer", "number", "object", "string" };
	const cJSON *t = kw(s, "type");
	const char *type = str_of(t);
	bool ios = kw_true(s, "x-kubernetes-int-or-string");
	bool emb = kw_true(s, "x-kubernetes-embedded-resource");
	bool known = false;

	if (*type) {
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			known |= !strcmp(type, types[i]);
		if (!known)
			err(c, "type", SCHEMA_ERR_NOT_SUPPORTED,
			    "supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"",
			    type);
	}
	if (ios && *type)
		err(c, "type", SCHEMA_ERR_INVALID, "must be empty if x-kubernetes-int-or-string is true", type);
	if (lvl == LVL_ROOT && *type && strcmp(type, "object"))
		err(c, "type", SCHEMA_ERR_INVALID, "must be object at the root", type);
	if (emb && strcmp(type, "object")) {
		if (*type)
			err(c, "type", SCHEMA_ERR_INVALID, "must be object if x-kubernetes-embedded-resource is true", type);
		else
			err(c, "type", SCHEMA_ERR_REQUIRED, "must be object if x-kubernetes-embedded-resource is true", NULL);
	} else if (!*type && !emb && !ios && !kw_true(s, "x-kubernetes-preserve-unknown-fields") &&
		   lvl != LVL_LOGIC) {
		err(c, "type", SCHEMA_ERR_REQUIRED,
		    lvl == LVL_ROOT ? "must not be empty at the root" :
		    lvl == LVL_ITEM ? "must not be empty for specified array items" :
		    "must not be empty for specified object fields", NULL);
	}
}

static void check_extensions(struct sctx *c, const cJSON *s, enum level lvl)
{
	const cJSON *pu = kw(s, "x-kubernetes-preserve-unknown-fields");
	const cJSON *lt = kw(s, "x-kubernetes-list-type"), *mt = kw(s, "x-kubernetes-map-type");
	const cJSON *keys = kw(s, "x-kubernetes-list-map-keys");
	const char *type = str_of(kw(s, "type"));

	if (cJSON_IsFalse(pu))
		err(c, "x-kubernetes-preserve-unknown-fields", SCHEMA_ERR_INVALID,
		    "must be true or undefined", "false");
	if (kw_true(s, "x-kubernetes-embedded-resource")) {
		if (lvl == LVL_ROOT)
			err(c, "x-kubernetes-embedded-resource", SCHEMA_ERR_FORBIDDEN, "must not be used at the root", NULL);
		if (kw(s, "additionalProperties"))
			err(c, "additionalProperties", SCHEMA_ERR_FORBIDDEN,
			    "must not be used if x-kubernetes-embedded-resource is set", NULL);
	}
	if (lt) {
		const char *v = str_of(lt);

		if (strcmp(v, "atomic") && strcmp(v, "set") && strcmp(v, "map"))
			err(c, "x-kubernetes-list-type", SCHEMA_ERR_NOT_SUPPORTED,
			    "supported values: \"atomic\", \"map\", \"set\"", v);
		else if (strcmp(type, "array"))
			err(c, "type", SCHEMA_ERR_INVALID, "must be array if x-kubernetes-list-type is specified", type);
		else if (!strcmp(v, "map") && !cJSON_GetArraySize(keys))
			err(c, "x-kubernetes-list-map-keys", SCHEMA_ERR_REQUIRED,
			    "must not be empty if x-kubernetes-list-type is map", NULL);
		else if (!strcmp(v, "map") &&
			 strcmp(str_of(kw(kw(s, "items"), "type")), "object"))
			err(c, "items.type", SCHEMA_ERR_INVALID,
			    "must be object if parent array's x-kubernetes-list-type is map",
			    str_of(kw(kw(s, "items"), "type")));
	}
	if (keys && strcmp(str_of(lt), "map"))
		err(c, "x-kubernetes-list-map-keys", SCHEMA_ERR_FORBIDDEN,
		    "requires x-kubernetes-list-type: map", NULL);
	if (mt) {
		const char *v = str_of(mt);

		if (strcmp(v, "atomic") && strcmp(v, "granular"))
			err(c, "x-kubernetes-map-type", SCHEMA_ERR_NOT_SUPPORTED,
			    "supported values: \"atomic\", \"granular\"", v);
		else if (strcmp(type, "object"))
			err(c, "type", SCHEMA_ERR_INVALID, "must be object if x-kubernetes-map-type is specified", type);
	}
}

/*
 * A property's default is validated as upstream does it, as that property
 * of an object ("replicas in body must be of type integer"); other defaults
 * (items, additionalProperties) on their own.
 */
static void validate_default(struct sctx *c, const cJSON *s, const cJSON *d,
			     const struct schema *node, struct schema_errors *errs)
{
	struct schema_opts o = { .check_list_keys = true };
	const char *key = c->prop;
	cJSON *ws, *wv;
	struct schema *w = NULL;
	size_t n = key ? strlen(key) : 0;

	if (!key) {
		schema_validate(node, d, &o, errs);
		return;
	}
	ws = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(ws, "properties"), key, cJSON_Duplicate(s, 1));
	wv = cJSON_CreateObject();
	cJSON_AddItemToObject(wv, key, cJSON_Duplicate(d, 1));
	if (!schema_parse(ws, &w, NULL)) {
		schema_validate(w, wv, &o, errs);
		for (size_t i = 0; i < errs->nr; i++) {	/* fields relative to the default */
			char *f = errs->v[i].field;

			if (!strncmp(f, key, n) && (f[n] == '.' || f[n] == '\0'))
				memmove(f, f + n + (f[n] == '.'), strlen(f + n + (f[n] == '.')) + 1);
		}
	}
	schema_free(w);
	cJSON_Delete(ws);
	cJSON_Delete(wv);
}

/* A default must validate against its own node and lose nothing to pruning. */
static void check_default(struct sctx *c, const cJSON *s, enum level lvl)
{
	const cJSON *d = kw(s, "default");
	struct schema_errors errs = SCHEMA_ERRORS_INIT;
	struct schema_opts o = { .check_list_keys = true };
	struct schema *node = NULL;
	size_t old;

	if (!d)
		return;
	old = schema__path_key(&c->path, "default");
	if (lvl == LVL_LOGIC) {
		err(c, NULL, SCHEMA_ERR_FORBIDDEN, "must not be set inside allOf, anyOf, oneOf or not", NULL);
	} else if (cJSON_IsNull(d) && !kw_true(s, "nullable")) {
		err(c, NULL, SCHEMA_ERR_INVALID, "must not be null for a non-nullable field", "null");
	} else if (!schema_parse(s, &node, NULL)) {
		cJSON *copy = cJSON_Duplicate(d, 1);

		validate_default(c, s, d, node, &errs);
		for (size_t i = 0; i < errs.nr; i++) {
			size_t o2 = c->path.len;

			if (*errs.v[i].field)
				schema__path_key(&c->path, errs.v[i].field);
			schema_errors_add(c->errs, errs.v[i].reason, c->path.data, "%s", errs.v[i].message);
			schema__path_pop(&c->path, o2);
		}
		if (!errs.nr && cJSON_IsObject(copy) && schema_prune(node, copy, &o) > 0) {
			char *txt = json_print(d);

			err(c, NULL, SCHEMA_ERR_INVALID, "must not have unknown fields", txt);
			cJSON_free(txt);
		}
		cJSON_Delete(copy);
	}
	schema_errors_release(&errs);
	schema_free(node);
	schema__path_pop(&c->path, old);
}

static void check_logic_list(struct sctx *c, const cJSON *s, const char *name)
{
	const cJSON *l = kw(s, name), *it;
	size_t i = 0;

	cJSON_ArrayForEach(it, l) {
		size_t old = schema__path_key(&c->path, name);

		buf_addf(&c->path, "[%zu]", i++);
		check_node(c, it, LVL_LOGIC);
		schema__path_pop(&c->path, old);
	}
}

static void check_node(struct sctx *c, const cJSON *s, enum level lvl)
{
	const cJSON *props = kw(s, "properties"), *it;

	if (!cJSON_IsObject(s))
		return;
	if (c->depth >= SCHEMA_MAX_DEPTH) {
		err(c, NULL, SCHEMA_ERR_FORBIDDEN, "nested too deeply", NULL);
		return;
	}
	c->depth++;
	if (kw(s, "$ref"))
		err(c, "$ref", SCHEMA_ERR_FORBIDDEN, "$ref is not supported", NULL);
	if (props && kw(s, "additionalProperties") && !cJSON_IsBool(kw(s, "additionalProperties")))
		err(c, "additionalProperties", SCHEMA_ERR_FORBIDDEN,
		    "additionalProperties and properties are mutual exclusive", NULL);
	check_type(c, s, lvl);
	check_extensions(c, s, lvl);
	if (lvl == LVL_ROOT && kw(props, "metadata"))
		check_metadata(c, kw(props, "metadata"));
	if (lvl == LVL_ROOT) {
		const cJSON *k = kw(props, "kind"), *a = kw(props, "apiVersion");

		if (k && strcmp(str_of(kw(k, "type")), "string"))
			err(c, "properties[kind].type", SCHEMA_ERR_INVALID, "must be string", str_of(kw(k, "type")));
		if (a && strcmp(str_of(kw(a, "type")), "string"))
			err(c, "properties[apiVersion].type", SCHEMA_ERR_INVALID, "must be string",
			    str_of(kw(a, "type")));
	}
	if (lvl == LVL_ROOT && kw(s, "default"))
		err(c, "default", SCHEMA_ERR_FORBIDDEN, "must not be set at the root", NULL);
	else
		check_default(c, s, lvl);
	cJSON_ArrayForEach(it, props)
		if (it->string && !(lvl == LVL_ROOT && !strcmp(it->string, "metadata")))	/* an array's items have no names */
			check_child(c, "properties", it->string, it, lvl == LVL_LOGIC ? LVL_LOGIC : LVL_FIELD);
	if (cJSON_IsObject(kw(s, "items")))
		check_child(c, "items", NULL, kw(s, "items"), lvl == LVL_LOGIC ? LVL_LOGIC : LVL_ITEM);
	else if (kw(s, "items"))
		err(c, "items", SCHEMA_ERR_FORBIDDEN, "items must be a schema object and not an array", NULL);
	if (cJSON_IsObject(kw(s, "additionalProperties")))
		check_child(c, "additionalProperties", NULL, kw(s, "additionalProperties"),
			    lvl == LVL_LOGIC ? LVL_LOGIC : LVL_FIELD);
	check_logic_list(c, s, "allOf");
	check_logic_list(c, s, "anyOf");
	check_logic_list(c, s, "oneOf");
	if (kw(s, "not"))
		check_child(c, "not", NULL, kw(s, "not"), LVL_LOGIC);
	c->depth--;
}

int schema_check_structural(const cJSON *json, const char *path,
			    struct schema_errors *errs)
{
	struct sctx c = { .errs = errs, .path = BUF_INIT };
	size_t before = errs->nr;

	buf_addstr(&c.path, path ? path : "");
	check_node(&c, json, LVL_ROOT);
	buf_release(&c.path);
	return errs->nr > before ? -EINVAL : 0;
}
