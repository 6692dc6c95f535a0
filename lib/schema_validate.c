/*
 * lib/schema_validate.c - value validation and strict-decoding checks.
 *
 * Messages follow kube-apiserver's CRD validation: kube-openapi's
 * "<path> in body should be ..." details inside field.Error bodies
 * ("Invalid value: 15: spec.replicas in body should be less than or equal
 * to 10").
 */
#include "schema_int.h"
#include "timefmt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct vctx {
	const struct schema_opts *opts;
	struct schema_errors *errs;
	struct buf path;
	int depth;
};

static const char *const type_words[] = {
	[SCHEMA_ERR_REQUIRED] = "Required value",
	[SCHEMA_ERR_INVALID] = "Invalid value",
	[SCHEMA_ERR_NOT_SUPPORTED] = "Unsupported value",
	[SCHEMA_ERR_TYPE_INVALID] = "Invalid value",
	[SCHEMA_ERR_TOO_LONG] = "Too long",
	[SCHEMA_ERR_TOO_MANY] = "Too many",
	[SCHEMA_ERR_DUPLICATE] = "Duplicate value",
	[SCHEMA_ERR_FORBIDDEN] = "Forbidden",
};

static const char *path_or_body(struct vctx *c)
{
	return c->path.len ? c->path.data : "body";
}

/* "<Type>: <value>: <detail>"; value left out when v is NULL. */
static void fail(struct vctx *c, enum schema_reason r, const cJSON *v,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail(struct vctx *c, enum schema_reason r, const cJSON *v,
		 const char *fmt, ...)
{
	struct buf m = BUF_INIT;
	va_list ap;

	buf_addstr(&m, type_words[r]);
	if (v) {
		buf_addstr(&m, ": ");
		schema__fmt_value(&m, v);
	}
	if (fmt && *fmt) {
		buf_addstr(&m, ": ");
		va_start(ap, fmt);
		buf_vaddf(&m, fmt, ap);
		va_end(ap);
	}
	schema_errors_add(c->errs, r, buf_str(&c->path), "%s", buf_str(&m));
	buf_release(&m);
}

static void type_names(struct buf *b, unsigned types)
{
	static const struct { unsigned bit; const char *name; } order[] = {
		{ SCHEMA_T_INTEGER, "integer" }, { SCHEMA_T_NUMBER, "number" },
		{ SCHEMA_T_STRING, "string" }, { SCHEMA_T_BOOLEAN, "boolean" },
		{ SCHEMA_T_ARRAY, "array" }, { SCHEMA_T_OBJECT, "object" },
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(types & order[i].bit))
			continue;
		if (b->len)
			buf_addch(b, ',');
		buf_addstr(b, order[i].name);
	}
}

static bool check_type(struct vctx *c, const struct schema *s, const cJSON *v)
{
	const struct schema *st = schema__st(s);
	unsigned want = st->types;
	struct buf t = BUF_INIT;
	cJSON *tv;

	if (!want && (schema__flags(s) & SCHEMA_F_INT_OR_STRING))
		want = SCHEMA_T_INTEGER | SCHEMA_T_STRING;
	if (!want || (schema__type_bits(v) & want))
		return true;
	type_names(&t, want);
	tv = cJSON_CreateString(schema__json_type(v));
	fail(c, SCHEMA_ERR_TYPE_INVALID, tv, "%s in body must be of type %s: \"%s\"",
	     path_or_body(c), buf_str(&t), schema__json_type(v));
	cJSON_Delete(tv);
	buf_release(&t);
	return false;
}

static size_t utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool is_base64(const char *s)
{
	size_t n = strlen(s), pad = 0;

	if (n % 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '=') {
			pad++;
			if (i < n - 2 || pad > 2)
				return false;
		} else if (pad || !((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
				    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/')) {
			return false;
		}
	}
	return true;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* 8-4-4-4-12 hex digits */
static bool is_uuid(const char *s)
{
	static const size_t groups[] = { 8, 4, 4, 4, 12 };

	for (size_t g = 0; g < 5; g++) {
		if (!is_hex(s, groups[g]))
			return false;
		s += groups[g];
		if (g < 4 && *s++ != '-')
			return false;
	}
	return !*s;
}

/* YYYY-MM-DD */
static bool is_date(const char *s)
{
	char buf[40];
	int64_t ns;

	if (strlen(s) != 10)
		return false;
	snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
	return rfc3339_parse(buf, &ns) == 0;
}

/* A sequence of <number><unit>, units ns us µs ms s m h d w (strfmt.Duration). */
static bool is_duration(const char *s)
{
	static const char *const units[] = { "ns", "us", "\xc2\xb5s", "ms", "s", "m", "h", "d", "w" };

	if (!*s)
		return false;
	while (*s) {
		const char *n = s;
		size_t best = 0;

		while (isdigit((unsigned char)*s) || *s == '.')
			s++;
		if (s == n)
			return false;
		while (*s == ' ')
			s++;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strncmp(s, units[i], strlen(units[i])) && strlen(units[i]) > best)
				best = strlen(units[i]);
		if (!best)
			return false;
		s += best;
		while (*s == ' ')
			s++;
	}
	return true;
}

static bool is_ip(const char *s, int family)
{
	unsigned char buf[16];

	return inet_pton(family, s, buf) == 1;
}

static void check_format(struct vctx *c, const struct schema *s, const cJSON *v)
{
	const char *f = s->format ? s->format : schema__st(s)->format;
	int64_t ns;
	bool ok = true;

	if (!f || !cJSON_IsString(v))
		return;
	if (!strcmp(f, "date-time"))
		ok = rfc3339_parse(v->valuestring, &ns) == 0;
	else if (!strcmp(f, "byte"))
		ok = is_base64(v->valuestring);
	else if (!strcmp(f, "uuid"))
		ok = is_uuid(v->valuestring);
	else if (!strcmp(f, "date"))
		ok = is_date(v->valuestring);
	else if (!strcmp(f, "duration"))
		ok = is_duration(v->valuestring);
	else if (!strcmp(f, "ipv4"))
		ok = is_ip(v->valuestring, AF_INET);
	else if (!strcmp(f, "ipv6"))
		ok = is_ip(v->valuestring, AF_INET6);
	if (!ok)
		fail(c, SCHEMA_ERR_INVALID, v, "%s in body must be of type %s: \"%s\"",
		     path_or_body(c), f, v->valuestring);
}

/* Shared with schema_parse.c via schema__regex_compile(). */
int schema__regex_compile(const char *pattern, regex_t *re, struct buf *err);

static void check_pattern(struct vctx *c, const struct schema_extra *x,
			  const cJSON *v)
{
	regex_t local;
	const regex_t *re = x->pattern_re;

	if (!re) {
		if (schema__regex_compile(x->pattern, &local, NULL))
			return;
		re = &local;
	}
	if (regexec(re, v->valuestring, 0, NULL, 0))
		fail(c, SCHEMA_ERR_INVALID, v, "%s in body should match '%s'",
		     path_or_body(c), x->pattern);
	if (re == &local)
		regfree(&local);
}

static void check_number(struct vctx *c, const struct schema_extra *x,
			 const cJSON *v)
{
	double d = v->valuedouble;
	struct buf n = BUF_INIT;

	if (x->has & SCHEMA_L_MAXIMUM) {
		bool excl = x->has & SCHEMA_L_EXCL_MAX;

		if (excl ? d >= x->maximum : d > x->maximum) {
			schema__fmt_number(&n, x->maximum);
			fail(c, SCHEMA_ERR_INVALID, v, "%s in body should be less than %s%s",
			     path_or_body(c), excl ? "" : "or equal to ", n.data);
		}
	}
	buf_reset(&n);
	if (x->has & SCHEMA_L_MINIMUM) {
		bool excl = x->has & SCHEMA_L_EXCL_MIN;

		if (excl ? d <= x->minimum : d < x->minimum) {
			schema__fmt_number(&n, x->minimum);
			fail(c, SCHEMA_ERR_INVALID, v, "%s in body should be greater than %s%s",
			     path_or_body(c), excl ? "" : "or equal to ", n.data);
		}
	}
	buf_reset(&n);
	if ((x->has & SCHEMA_L_MULTIPLE_OF) && x->multiple_of > 0) {
		double q = d / x->multiple_of;

		if (fabs(q - round(q)) > 1e-9) {
			schema__fmt_number(&n, x->multiple_of);
			fail(c, SCHEMA_ERR_INVALID, v, "%s in body should be a multiple of %s",
			     path_or_body(c), n.data);
		}
	}
	buf_release(&n);
}

static void check_string(struct vctx *c, const struct schema_extra *x,
			 const cJSON *v)
{
	size_t len = utf8_len(v->valuestring);

	if ((x->has & SCHEMA_L_MAX_LENGTH) && (int64_t)len > x->max_length)
		fail(c, SCHEMA_ERR_TOO_LONG, NULL, "may not be more than %lld bytes",
		     (long long)x->max_length);
	if ((x->has & SCHEMA_L_MIN_LENGTH) && (int64_t)len < x->min_length)
		fail(c, SCHEMA_ERR_INVALID, v, "%s in body should be at least %lld chars long",
		     path_or_body(c), (long long)x->min_length);
	if (x->pattern)
		check_pattern(c, x, v);
}

static void check_counts(struct vctx *c, const struct schema_extra *x,
			 const cJSON *v)
{
	int64_t n = cJSON_GetArraySize(v);
	cJSON num = { .type = cJSON_Number };

	num.valuedouble = (double)n;
	num.valueint = (int)n;
	if (cJSON_IsArray(v)) {
		if ((x->has & SCHEMA_L_MAX_ITEMS) && n > x->max_items)
			fail(c, SCHEMA_ERR_TOO_MANY, &num, "must have at most %lld items",
			     (long long)x->max_items);
		if ((x->has & SCHEMA_L_MIN_ITEMS) && n < x->min_items)
			fail(c, SCHEMA_ERR_INVALID, v, "%s in body should have at least %lld items",
			     path_or_body(c), (long long)x->min_items);
		return;
	}
	if ((x->has & SCHEMA_L_MAX_PROPS) && n > x->max_properties)
		fail(c, SCHEMA_ERR_TOO_MANY, &num, "must have at most %lld items",
		     (long long)x->max_properties);
	if ((x->has & SCHEMA_L_MIN_PROPS) && n < x->min_properties)
		fail(c, SCHEMA_ERR_INVALID, v, "%s in body should have at least %lld properties",
		     path_or_body(c), (long long)x->min_properties);
}

static void check_enum(struct vctx *c, const struct schema_extra *x,
		       const cJSON *v)
{
	struct buf list = BUF_INIT;
	bool found = false;

	for (const char *const *e = x->enum_json; *e; e++) {
		cJSON *ev = json_parse(*e, strlen(*e));

		if (!ev)
			BUG("bad enum value %s", *e);
		if (cJSON_Compare(ev, v, true))
			found = true;
		if (list.len)
			buf_addstr(&list, ", ");
		schema__fmt_value(&list, ev);
		cJSON_Delete(ev);
	}
	if (!found)
		fail(c, SCHEMA_ERR_NOT_SUPPORTED, v, "supported values: %s", buf_str(&list));
	buf_release(&list);
}

static void validate_node(struct vctx *c, const struct schema *s,
			  const cJSON *v, bool rootlike);

/* Runs s on v into a scratch error list; returns how many errors. */
static size_t trial(struct vctx *c, const struct schema *s, const cJSON *v,
		    struct schema_errors *into)
{
	struct schema_errors *saved = c->errs;
	size_t n;

	c->errs = into;
	validate_node(c, s, v, false);
	c->errs = saved;
	n = into->nr;
	return n;
}

static void check_logic(struct vctx *c, const struct schema_extra *x,
			const cJSON *v)
{
	struct schema_errors tmp = SCHEMA_ERRORS_INIT;
	size_t ok = 0, n = 0;

	for (const struct schema *const *a = x->all_of; a && *a; a++)
		validate_node(c, *a, v, false);
	if (x->any_of) {
		for (const struct schema *const *a = x->any_of; *a; a++, n++) {
			ok += trial(c, *a, v, &tmp) == 0;
			schema_errors_release(&tmp);
		}
		if (!ok)
			fail(c, SCHEMA_ERR_INVALID, v, "%s in body must validate at least one schema (anyOf)",
			     path_or_body(c));
	}
	if (x->one_of) {
		ok = 0;
		for (const struct schema *const *a = x->one_of; *a; a++) {
			ok += trial(c, *a, v, &tmp) == 0;
			schema_errors_release(&tmp);
		}
		if (ok != 1)
			fail(c, SCHEMA_ERR_INVALID, v, "%s in body must validate one and only one schema (oneOf)",
			     path_or_body(c));
	}
	if (x->not_) {
		if (trial(c, x->not_, v, &tmp) == 0)
			fail(c, SCHEMA_ERR_INVALID, v, "%s in body must not validate the schema (not)",
			     path_or_body(c));
		schema_errors_release(&tmp);
	}
}

/* Sort key of a list item: the printed map keys, or the printed item. */
static char *item_key(const cJSON *item, const void *arg)
{
	const char *const *keys = arg;
	struct buf b = BUF_INIT;
	char *s;

	if (!keys) {
		s = json_print(item);
		buf_addstr(&b, s ? s : "");
		cJSON_free(s);
		return buf_detach(&b, NULL);
	}
	for (; *keys; keys++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(item, *keys);

		s = x ? json_print(x) : NULL;
		buf_addstr(&b, s ? s : "-");
		buf_addch(&b, '\x01');	/* a separator printed JSON never holds */
		cJSON_free(s);
	}
	return buf_detach(&b, NULL);
}

static void dup_key_value(struct buf *b, const cJSON *item, const char *const *keys)
{
	cJSON *o = cJSON_CreateObject();

	for (; *keys; keys++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(item, *keys);

		if (x)
			cJSON_AddItemToObject(o, *keys, cJSON_Duplicate(x, true));
	}
	schema__fmt_value(b, o);
	cJSON_Delete(o);
}

/* list-type set/map and uniqueItems: one error per repeated value, at its
 * second occurrence. */
static void check_unique(struct vctx *c, const struct schema *s, const cJSON *v)
{
	const struct schema *st = schema__st(s);
	int lt = s->list_type ? s->list_type : st->list_type;
	const char *const *keys = s->list_map_keys ? s->list_map_keys : st->list_map_keys;
	bool uniq = (schema__flags(s) & SCHEMA_F_UNIQUE_ITEMS) ||
		    (lt == SCHEMA_LIST_SET && c->opts && c->opts->check_list_keys);
	bool map = lt == SCHEMA_LIST_MAP && keys && c->opts && c->opts->check_list_keys;
	unsigned char *dups;
	const cJSON *a;
	size_t i = 0;

	if (!uniq && !map)
		return;
	dups = schema__dups(v, item_key, map ? (const void *)keys : NULL);
	if (!dups)
		return;
	cJSON_ArrayForEach(a, v) {
		if (dups[i] & SCHEMA__DUP_SECOND) {
			size_t old = schema__path_index(&c->path, i);
			struct buf m = BUF_INIT;

			if (map)
				dup_key_value(&m, a, keys);
			else
				schema__fmt_value(&m, a);
			schema_errors_add(c->errs, SCHEMA_ERR_DUPLICATE, c->path.data,
					  "Duplicate value: %s", m.data);
			buf_release(&m);
			schema__path_pop(&c->path, old);
		}
		i++;
	}
	free(dups);
}

static bool present(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return v && !cJSON_IsNull(v);
}

static void validate_object(struct vctx *c, const struct schema *s,
			    const cJSON *v, bool rootlike)
{
	const struct schema *st = schema__st(s);
	const cJSON *it;

	for (const char *const *r = st->required; r && *r; r++) {
		const struct schema *p = schema__prop(s, *r);
		const cJSON *pv = cJSON_GetObjectItemCaseSensitive(v, *r);

		if (present(v, *r) || (pv && p && schema__nullable(p)))
			continue;
		size_t old = schema__path_key(&c->path, *r);
		fail(c, SCHEMA_ERR_REQUIRED, NULL, NULL);
		schema__path_pop(&c->path, old);
	}
	cJSON_ArrayForEach(it, v) {
		const struct schema *child;
		size_t old;

		if (schema__child(s, it->string, rootlike, c->opts, &child) != SCHEMA__KNOWN)
			continue;
		if (cJSON_IsNull(it) && !schema__nullable(child))
			continue;	/* absent, as decoding makes it */
		old = child == st->additional ? schema__path_mapkey(&c->path, it->string) :
		      schema__path_key(&c->path, it->string);
		validate_node(c, child, it, schema__embedded(child));
		if (rootlike && !strcmp(it->string, "metadata")) {
			const struct schema *own = schema__prop(s, "metadata");

			if (own && own != child)	/* name/generateName constraints */
				validate_node(c, own, it, false);
		}
		schema__path_pop(&c->path, old);
	}
}

static void validate_node(struct vctx *c, const struct schema *s,
			  const cJSON *v, bool rootlike)
{
	const struct schema *st = schema__st(s);
	const struct schema_extra *x = st->extra;

	if (cJSON_IsNull(v)) {
		if (!schema__nullable(s))
			check_type(c, s, v);
		return;
	}
	if (c->depth >= SCHEMA_MAX_DEPTH) {
		fail(c, SCHEMA_ERR_INVALID, NULL, "nesting deeper than %d levels",
		     SCHEMA_MAX_DEPTH);
		return;
	}
	if (!check_type(c, s, v))
		return;
	check_format(c, s, v);
	if (x) {
		if (x->enum_json)
			check_enum(c, x, v);
		if (cJSON_IsNumber(v))
			check_number(c, x, v);
		else if (cJSON_IsString(v))
			check_string(c, x, v);
		else if (cJSON_IsArray(v) || cJSON_IsObject(v))
			check_counts(c, x, v);
		check_logic(c, x, v);
	}
	c->depth++;
	if (cJSON_IsObject(v) && (st->types & SCHEMA_T_OBJECT || st->nprops ||
				  st->additional || rootlike)) {
		validate_object(c, s, v, rootlike);
	} else if (cJSON_IsArray(v)) {
		const cJSON *it;
		size_t i = 0;

		check_unique(c, s, v);
		cJSON_ArrayForEach(it, v) {
			if (st->items) {
				size_t old = schema__path_index(&c->path, i);

				validate_node(c, st->items, it, schema__embedded(st->items));
				schema__path_pop(&c->path, old);
			}
			i++;
		}
	}
	c->depth--;
}

int schema_validate(const struct schema *s, const cJSON *obj,
		    const struct schema_opts *opts, struct schema_errors *errs)
{
	struct vctx c = { .opts = opts, .errs = errs, .path = BUF_INIT };
	size_t before = errs->nr;

	validate_node(&c, s, obj, true);
	buf_release(&c.path);
	return errs->nr > before ? -EINVAL : 0;
}

/* ---- strict decoding: unknown and duplicate fields ---- */

static void check_dups(struct vctx *c, const cJSON *v)
{
	unsigned char *dups = schema__dups(v, NULL, NULL);
	const cJSON *a;
	size_t i = 0;

	if (!dups)
		return;
	cJSON_ArrayForEach(a, v) {
		if (dups[i++] & SCHEMA__DUP_SECOND) {
			size_t old = schema__path_key(&c->path, a->string);

			schema_errors_add(c->errs, SCHEMA_ERR_DUPLICATE_FIELD, c->path.data,
					  "duplicate field \"%s\"", c->path.data);
			schema__path_pop(&c->path, old);
		}
	}
	free(dups);
}

static void unknown_node(struct vctx *c, const struct schema *s,
			 const cJSON *v, bool rootlike)
{
	const struct schema *st = schema__st(s);
	const cJSON *it;
	size_t i = 0;

	if (c->depth >= SCHEMA_MAX_DEPTH)
		return;
	if (st->types && !(schema__type_bits(v) & st->types))
		return;		/* a type error, reported by schema_validate() */
	c->depth++;
	if (cJSON_IsObject(v)) {
		check_dups(c, v);
		cJSON_ArrayForEach(it, v) {
			const struct schema *child;
			enum schema__kind k = schema__child(s, it->string, rootlike,
							    c->opts, &child);
			size_t old;

			if (k == SCHEMA__ANY)
				continue;
			old = child && child == st->additional ?
			      schema__path_mapkey(&c->path, it->string) :
			      schema__path_key(&c->path, it->string);
			if (k == SCHEMA__UNKNOWN)
				schema_errors_add(c->errs, SCHEMA_ERR_UNKNOWN_FIELD, c->path.data,
						  "unknown field \"%s\"", c->path.data);
			else
				unknown_node(c, child, it, schema__embedded(child));
			schema__path_pop(&c->path, old);
		}
	} else if (cJSON_IsArray(v) && st->items) {
		cJSON_ArrayForEach(it, v) {
			size_t old = schema__path_index(&c->path, i++);

			unknown_node(c, st->items, it, schema__embedded(st->items));
			schema__path_pop(&c->path, old);
		}
	}
	c->depth--;
}

int schema_unknown_fields(const struct schema *s, const cJSON *obj,
			  const struct schema_opts *opts,
			  struct schema_errors *errs)
{
	struct vctx c = { .opts = opts, .errs = errs, .path = BUF_INIT };
	size_t before = errs->nr;

	unknown_node(&c, s, obj, true);
	buf_release(&c.path);
	return (int)(errs->nr - before);
}
