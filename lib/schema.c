/*
 * lib/schema.c - shared parts of the schema engine: errors, lookups,
 * strategic-merge-patch metadata, paths and value printing.
 */
#include "schema_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const reason_names[] = {
	[SCHEMA_ERR_REQUIRED] = "FieldValueRequired",
	[SCHEMA_ERR_INVALID] = "FieldValueInvalid",
	[SCHEMA_ERR_NOT_SUPPORTED] = "FieldValueNotSupported",
	[SCHEMA_ERR_TYPE_INVALID] = "FieldValueTypeInvalid",
	[SCHEMA_ERR_TOO_LONG] = "FieldValueTooLong",
	[SCHEMA_ERR_TOO_MANY] = "FieldValueTooMany",
	[SCHEMA_ERR_DUPLICATE] = "FieldValueDuplicate",
	[SCHEMA_ERR_FORBIDDEN] = "FieldValueForbidden",
	[SCHEMA_ERR_UNKNOWN_FIELD] = "",
	[SCHEMA_ERR_DUPLICATE_FIELD] = "",
};

const char *schema_reason_str(enum schema_reason r)
{
	if ((size_t)r >= sizeof(reason_names) / sizeof(reason_names[0]))
		return "";
	return reason_names[r];
}

void schema_errors_add(struct schema_errors *e, enum schema_reason r,
		       const char *field, const char *fmt, ...)
{
	va_list ap;
	struct schema_error *err;

	if (e->nr > SCHEMA_MAX_ERRORS)
		return;
	ALLOC_GROW(e->v, e->nr + 1, e->alloc);
	err = &e->v[e->nr++];
	if (e->nr > SCHEMA_MAX_ERRORS) {
		err->reason = SCHEMA_ERR_INVALID;
		err->field = xstrdup("");
		err->message = xstrdup("too many errors");
		return;
	}
	err->reason = r;
	err->field = xstrdup(field ? field : "");
	va_start(ap, fmt);
	err->message = xvasprintf(fmt, ap);
	va_end(ap);
}

void schema_errors_release(struct schema_errors *e)
{
	for (size_t i = 0; i < e->nr; i++) {
		free(e->v[i].field);
		free(e->v[i].message);
	}
	free(e->v);
	e->v = NULL;
	e->nr = e->alloc = 0;
}

const struct schema *schema_def_lookup(const struct schema_def *defs, size_t n,
				       const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, defs[mid].name);

		if (!c)
			return defs[mid].schema;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct schema *schema__prop(const struct schema *s, const char *name)
{
	size_t lo = 0, hi;

	s = schema__st(s);
	if (!s || !s->props)
		return NULL;
	hi = s->nprops;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, s->props[mid].name);

		if (!c)
			return s->props[mid].schema;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const struct schema string_node = { .types = SCHEMA_T_STRING };
static const struct schema any_object = {
	.types = SCHEMA_T_OBJECT, .flags = SCHEMA_F_PRESERVE_UNKNOWN,
};

static bool has_props(const struct schema *s)
{
	s = schema__st(s);
	return s && s->nprops;
}

enum schema__kind schema__child(const struct schema *s, const char *key,
				bool rootlike, const struct schema_opts *opts,
				const struct schema **child)
{
	const struct schema *p = schema__prop(s, key);
	const struct schema *st = schema__st(s);

	*child = NULL;
	/* ObjectMeta wins when given: a CRD may constrain name/generateName
	 * under metadata, which schema_validate() checks in addition */
	if (rootlike && !strcmp(key, "metadata") && (!has_props(p) || (opts && opts->object_meta))) {
		*child = opts && opts->object_meta ? opts->object_meta :
			 p ? p : &any_object;
		return SCHEMA__KNOWN;
	}
	if (p) {
		*child = p;
		return SCHEMA__KNOWN;
	}
	if (rootlike && (!strcmp(key, "apiVersion") || !strcmp(key, "kind"))) {
		*child = &string_node;
		return SCHEMA__KNOWN;
	}
	if (st->additional) {
		*child = st->additional;
		return SCHEMA__KNOWN;
	}
	if (schema__flags(s) & (SCHEMA_F_PRESERVE_UNKNOWN | SCHEMA_F_ANY_ADDITIONAL))
		return SCHEMA__ANY;
	return SCHEMA__UNKNOWN;
}

int schema_field(const struct schema *s, const char *name,
		 struct schema_field *out)
{
	const struct schema *c = NULL, *cs;

	memset(out, 0, sizeof(*out));
	if (!s)
		return -ENOENT;
	c = schema__prop(s, name);
	if (!c)
		c = schema__st(s)->additional;
	if (!c)
		return -ENOENT;
	cs = schema__st(c);
	out->schema = c;
	out->patch = c->patch ? c->patch : cs->patch;
	out->merge_key = c->merge_key ? c->merge_key : cs->merge_key;
	out->list_type = c->list_type ? c->list_type : cs->list_type;
	out->map_keys = c->list_map_keys ? c->list_map_keys : cs->list_map_keys;
	out->atomic_map = schema__flags(c) & SCHEMA_F_MAP_ATOMIC;
	return 0;
}

const struct schema *schema_items(const struct schema *s)
{
	s = schema__st(s);
	return s ? s->items : NULL;
}

size_t schema__path_key(struct buf *path, const char *key)
{
	size_t old = path->len;

	if (path->len)
		buf_addch(path, '.');
	buf_addstr(path, key);
	return old;
}

size_t schema__path_index(struct buf *path, size_t i)
{
	size_t old = path->len;

	buf_addf(path, "[%zu]", i);
	return old;
}

size_t schema__path_mapkey(struct buf *path, const char *key)
{
	size_t old = path->len;

	buf_addf(path, "[%s]", key);
	return old;
}

void schema__fmt_number(struct buf *b, double d)
{
	char tmp[40];

	if (isfinite(d) && d == floor(d) && fabs(d) < 9.2e18) {
		buf_addf(b, "%lld", (long long)d);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	buf_addstr(b, tmp);
}

void schema__fmt_value(struct buf *b, const cJSON *v)
{
	char *s;

	if (cJSON_IsString(v)) {
		buf_add_json_str(b, v->valuestring, strlen(v->valuestring));
	} else if (cJSON_IsNumber(v)) {
		schema__fmt_number(b, v->valuedouble);
	} else if (cJSON_IsBool(v)) {
		buf_addstr(b, cJSON_IsTrue(v) ? "true" : "false");
	} else if (!v || cJSON_IsNull(v)) {
		buf_addstr(b, "\"null\"");
	} else {
		s = json_print(v);
		buf_addstr(b, s ? s : "?");
		cJSON_free(s);
	}
}

const char *schema__json_type(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "object";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNumber(v))
		return v->valuedouble == floor(v->valuedouble) ? "integer" : "number";
	return "null";
}

unsigned schema__type_bits(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return SCHEMA_T_OBJECT;
	if (cJSON_IsArray(v))
		return SCHEMA_T_ARRAY;
	if (cJSON_IsString(v))
		return SCHEMA_T_STRING;
	if (cJSON_IsBool(v))
		return SCHEMA_T_BOOLEAN;
	if (cJSON_IsNumber(v)) {
		if (isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble))
			return SCHEMA_T_INTEGER | SCHEMA_T_NUMBER;
		return SCHEMA_T_NUMBER;
	}
	return 0;
}

struct dup_ent {
	const char *key;
	size_t idx;
};

static int cmp_dup(const void *a, const void *b)
{
	const struct dup_ent *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

unsigned char *schema__dups(const cJSON *v, char *(*keyfn)(const cJSON *, const void *),
			    const void *arg)
{
	size_t n = cJSON_GetArraySize(v), i = 0;
	struct dup_ent *e;
	unsigned char *mark = NULL;
	const cJSON *it;

	if (n < 2)
		return NULL;
	e = xcalloc(n, sizeof(*e));
	cJSON_ArrayForEach(it, v) {
		e[i].key = keyfn ? keyfn(it, arg) : it->string;
		e[i].idx = i;
		i++;
	}
	qsort(e, n, sizeof(*e), cmp_dup);
	for (i = 1; i < n; i++) {
		if (strcmp(e[i - 1].key, e[i].key))
			continue;
		if (!mark)
			mark = xcalloc(n, 1);
		mark[e[i - 1].idx] |= SCHEMA__DUP_LATER;
		if (i < 2 || strcmp(e[i - 2].key, e[i].key))
			mark[e[i].idx] |= SCHEMA__DUP_SECOND;
	}
	if (keyfn)
		for (i = 0; i < n; i++)
			free((char *)e[i].key);
	free(e);
	return mark;
}
