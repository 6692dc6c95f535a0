/*
 * lib/schema_parse.c - run-time schemas: openAPIV3Schema JSON -> nodes.
 *
 * A parsed tree owns everything reachable from it except nodes reached
 * through `ref` (schema_new_list() borrows its item and list meta that way).
 */
#include "schema_int.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

struct pctx {
	struct buf *err;
	struct buf path;
	int depth;
};

static int perr(struct pctx *c, const char *what)
{
	if (c->err) {
		if (c->err->len)
			buf_addstr(c->err, "; ");
		buf_addf(c->err, "%s%s%s", c->path.len ? c->path.data : "",
			 c->path.len ? ": " : "", what);
	}
	return -EINVAL;
}

/*
 * ECMA-262 pattern -> POSIX extended regex. Supported: the ERE subset plus
 * \d \w \s (and \D \W \S outside brackets), escaped punctuation, (?:...).
 * Rejected: lookaround, backreferences, \b, \uXXXX, lazy quantifiers.
 */
#define SCHEMA_PATTERN_MAX 4096	/* bytes of a pattern */
#define SCHEMA_REPEAT_MAX 1000		/* largest {n,m} bound (RE2's), and of their sum */

/* True for a quantifier at p (outside brackets). */
static bool is_quant(const char *p)
{
	return *p == '*' || *p == '+' || *p == '?' || *p == '{';
}

/*
 * Bounds that could make regcomp() build huge automata: stacked quantifiers
 * ("a++", a syntax error in ECMA-262 anyway) and {n,m} bounds above
 * SCHEMA_REPEAT_MAX, alone or summed over the pattern (*total). Returns
 * -EINVAL for those.
 */
static int check_quant(const char *p, bool prev_quant, const char **end, long *total)
{
	long n, max = 0;
	char *e;

	*end = p;
	if (prev_quant)
		return -EINVAL;
	if (*p != '{')
		return 0;
	for (const char *q = p + 1; *q && *q != '}'; q = e) {
		n = strtol(q, &e, 10);
		if (e == q) {
			if (*q != ',')
				return 0;	/* not a bound: a literal '{' */
			e++;
			continue;
		}
		if (n > max)
			max = n;
	}
	*total += max;
	if (max > SCHEMA_REPEAT_MAX || *total > SCHEMA_REPEAT_MAX)
		return -EINVAL;
	while (**end && **end != '}')
		(*end)++;
	if (!**end)
		*end = p;
	return 0;
}

static int translate_regex(const char *p, struct buf *out)
{
	bool br = false, quant = false;
	long total = 0;

	if (strlen(p) > SCHEMA_PATTERN_MAX)
		return -EINVAL;
	for (; *p; p++) {
		if (!br && is_quant(p)) {
			const char *end;

			if (check_quant(p, quant, &end, &total))
				return -EINVAL;
			buf_add(out, p, (size_t)(end - p) + 1);
			p = end;
			quant = true;
			continue;
		}
		quant = false;
		if (*p == '\\') {
			char e = *++p;

			if (!e)
				return -EINVAL;
			if (e == 'd')
				buf_addstr(out, br ? "0-9" : "[0-9]");
			else if (e == 'w')
				buf_addstr(out, br ? "A-Za-z0-9_" : "[A-Za-z0-9_]");
			else if (e == 's')
				buf_addstr(out, br ? "[:space:]" : "[[:space:]]");
			else if (!br && e == 'D')
				buf_addstr(out, "[^0-9]");
			else if (!br && e == 'W')
				buf_addstr(out, "[^A-Za-z0-9_]");
			else if (!br && e == 'S')
				buf_addstr(out, "[^[:space:]]");
			else if (e == 'n' || e == 't' || e == 'r')
				buf_addch(out, e == 'n' ? '\n' : e == 't' ? '\t' : '\r');
			else if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
				 (e >= '0' && e <= '9'))
				return -EINVAL;
			else if (br && (e == ']' || e == '-' || e == '^' || e == '\\'))
				return -EINVAL;	/* no portable spelling inside brackets */
			else if (br)
				buf_addch(out, e);
			else
				buf_addf(out, "\\%c", e);
			continue;
		}
		if (!br && *p == '(' && p[1] == '?') {
			if (p[2] != ':')
				return -EINVAL;
			buf_addch(out, '(');
			p += 2;
			continue;
		}
		if (!br && (*p == '*' || *p == '+' || *p == '?' || *p == '}') && p[1] == '?')
			return -EINVAL;
		if (!br && *p == '[') {
			br = true;
			buf_addch(out, '[');
			if (p[1] == '^')
				buf_addch(out, *++p);
			if (p[1] == ']')
				buf_addch(out, *++p);
			continue;
		}
		if (br && *p == ']')
			br = false;
		buf_addch(out, *p);
	}
	return br ? -EINVAL : 0;
}

int schema__regex_compile(const char *pattern, regex_t *re, struct buf *err);
int schema__regex_compile(const char *pattern, regex_t *re, struct buf *err)
{
	struct buf ere = BUF_INIT;
	int ret = translate_regex(pattern, &ere);

	if (!ret && regcomp(re, buf_str(&ere), REG_EXTENDED | REG_NOSUB))
		ret = -EINVAL;
	if (ret && err)
		buf_addf(err, "unsupported pattern '%s'", pattern);
	buf_release(&ere);
	return ret;
}

static char *print_json(const cJSON *v)
{
	char *s = json_print(v);
	char *r;

	if (!s)
		return NULL;
	r = xstrdup(s);
	cJSON_free(s);
	return r;
}

static const char *const *str_array(const cJSON *a)
{
	size_t n = cJSON_GetArraySize(a), i = 0;
	char **v = xcalloc(n + 1, sizeof(*v));
	const cJSON *it;

	cJSON_ArrayForEach(it, a)
		v[i++] = xstrdup(cJSON_IsString(it) ? it->valuestring : "");
	return (const char *const *)v;
}

static struct schema_extra *extra(struct schema *s)
{
	if (!s->extra)
		s->extra = xcalloc(1, sizeof(struct schema_extra));
	return (struct schema_extra *)s->extra;
}

static int parse_node(struct pctx *c, const cJSON *j, struct schema **out);

static int parse_list(struct pctx *c, const cJSON *a, const struct schema *const **out)
{
	size_t n = cJSON_GetArraySize(a), i = 0;
	struct schema **v = xcalloc(n + 1, sizeof(*v));
	const cJSON *it;
	int ret = 0;

	*out = (const struct schema *const *)v;
	if (!cJSON_IsArray(a))
		return perr(c, "allOf/anyOf/oneOf must be an array");
	cJSON_ArrayForEach(it, a)
		if ((ret = parse_node(c, it, &v[i++])))
			break;
	return ret;
}

static int cmp_prop(const void *a, const void *b)
{
	return strcmp(((const struct schema_prop *)a)->name,
		      ((const struct schema_prop *)b)->name);
}

static int parse_props(struct pctx *c, struct schema *s, const cJSON *j)
{
	size_t n = cJSON_GetArraySize(j), i = 0;
	struct schema_prop *p = xcalloc(n ? n : 1, sizeof(*p));
	const cJSON *it;
	int ret = 0;

	s->props = p;
	if (!cJSON_IsObject(j))
		return perr(c, "properties must be an object");
	cJSON_ArrayForEach(it, j) {
		size_t old = schema__path_key(&c->path, it->string);

		p[i].name = xstrdup(it->string);
		ret = parse_node(c, it, (struct schema **)&p[i].schema);
		i++;
		s->nprops = i;
		schema__path_pop(&c->path, old);
		if (ret)
			return ret;
	}
	qsort(p, n, sizeof(*p), cmp_prop);
	for (i = 1; i < n; i++)
		if (!strcmp(p[i - 1].name, p[i].name))
			return perr(c, "duplicate property");
	return 0;
}

static const struct { const char *name; unsigned bit; } type_table[] = {
	{ "object", SCHEMA_T_OBJECT }, { "array", SCHEMA_T_ARRAY },
	{ "string", SCHEMA_T_STRING }, { "integer", SCHEMA_T_INTEGER },
	{ "number", SCHEMA_T_NUMBER }, { "boolean", SCHEMA_T_BOOLEAN },
};

static int parse_type(struct pctx *c, struct schema *s, const cJSON *v)
{
	for (size_t i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++)
		if (cJSON_IsString(v) && !strcmp(v->valuestring, type_table[i].name)) {
			s->types = type_table[i].bit;
			return 0;
		}
	return perr(c, "unsupported type");
}

static int parse_number_kw(struct pctx *c, struct schema *s, const cJSON *v)
{
	static const struct { const char *kw; unsigned bit; } t[] = {
		{ "minimum", SCHEMA_L_MINIMUM }, { "maximum", SCHEMA_L_MAXIMUM },
		{ "multipleOf", SCHEMA_L_MULTIPLE_OF },
		{ "minLength", SCHEMA_L_MIN_LENGTH }, { "maxLength", SCHEMA_L_MAX_LENGTH },
		{ "minItems", SCHEMA_L_MIN_ITEMS }, { "maxItems", SCHEMA_L_MAX_ITEMS },
		{ "minProperties", SCHEMA_L_MIN_PROPS }, { "maxProperties", SCHEMA_L_MAX_PROPS },
	};
	struct schema_extra *x;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(v->string, t[i].kw))
			continue;
		if (!cJSON_IsNumber(v))
			return perr(c, "bound must be a number");
		x = extra(s);
		x->has |= t[i].bit;
		switch (t[i].bit) {
		case SCHEMA_L_MINIMUM: x->minimum = v->valuedouble; break;
		case SCHEMA_L_MAXIMUM: x->maximum = v->valuedouble; break;
		case SCHEMA_L_MULTIPLE_OF: x->multiple_of = v->valuedouble; break;
		case SCHEMA_L_MIN_LENGTH: x->min_length = (int64_t)v->valuedouble; break;
		case SCHEMA_L_MAX_LENGTH: x->max_length = (int64_t)v->valuedouble; break;
		case SCHEMA_L_MIN_ITEMS: x->min_items = (int64_t)v->valuedouble; break;
		case SCHEMA_L_MAX_ITEMS: x->max_items = (int64_t)v->valuedouble; break;
		case SCHEMA_L_MIN_PROPS: x->min_properties = (int64_t)v->valuedouble; break;
		default: x->max_properties = (int64_t)v->valuedouble; break;
		}
		return 1;
	}
	return 0;
}

static int parse_flag_kw(struct schema *s, const cJSON *v)
{
	static const struct { const char *kw; unsigned flag; } t[] = {
		{ "nullable", SCHEMA_F_NULLABLE },
		{ "uniqueItems", SCHEMA_F_UNIQUE_ITEMS },
		{ "x-kubernetes-preserve-unknown-fields", SCHEMA_F_PRESERVE_UNKNOWN },
		{ "x-kubernetes-int-or-string", SCHEMA_F_INT_OR_STRING },
		{ "x-kubernetes-embedded-resource", SCHEMA_F_EMBEDDED },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(v->string, t[i].kw))
			continue;
		if (cJSON_IsTrue(v))
			s->flags |= t[i].flag;
		return 1;
	}
	if (!strcmp(v->string, "exclusiveMinimum") || !strcmp(v->string, "exclusiveMaximum")) {
		if (cJSON_IsTrue(v))
			extra(s)->has |= v->string[9] == 'M' && v->string[10] == 'i' ?
					 SCHEMA_L_EXCL_MIN : SCHEMA_L_EXCL_MAX;
		return 1;
	}
	return 0;
}

static int parse_kubernetes_kw(struct pctx *c, struct schema *s, const cJSON *v)
{
	const char *k = v->string, *str = cJSON_IsString(v) ? v->valuestring : "";

	if (!strcmp(k, "x-kubernetes-list-type")) {
		if (!strcmp(str, "atomic"))
			s->list_type = SCHEMA_LIST_ATOMIC;
		else if (!strcmp(str, "set"))
			s->list_type = SCHEMA_LIST_SET;
		else if (!strcmp(str, "map"))
			s->list_type = SCHEMA_LIST_MAP;
		else
			return perr(c, "unsupported x-kubernetes-list-type");
	} else if (!strcmp(k, "x-kubernetes-map-type")) {
		if (!strcmp(str, "atomic"))
			s->flags |= SCHEMA_F_MAP_ATOMIC;
		else if (!strcmp(str, "granular"))
			s->flags |= SCHEMA_F_MAP_GRANULAR;
		else
			return perr(c, "unsupported x-kubernetes-map-type");
	} else if (!strcmp(k, "x-kubernetes-list-map-keys")) {
		s->list_map_keys = str_array(v);
	} else if (!strcmp(k, "x-kubernetes-patch-merge-key")) {
		s->merge_key = xstrdup(str);
	} else if (!strcmp(k, "x-kubernetes-patch-strategy")) {
		if (strstr(str, "merge"))
			s->patch |= SCHEMA_PATCH_MERGE;
		if (strstr(str, "replace"))
			s->patch |= SCHEMA_PATCH_REPLACE;
		if (strstr(str, "retainKeys"))
			s->patch |= SCHEMA_PATCH_RETAIN_KEYS;
	} else {
		return 0;
	}
	return 1;
}

static int parse_keyword(struct pctx *c, struct schema *s, const cJSON *v)
{
	const char *k = v->string;
	struct schema_extra *x;
	int r;

	if ((r = parse_number_kw(c, s, v)) || (r = parse_flag_kw(s, v)) ||
	    (r = parse_kubernetes_kw(c, s, v)))
		return r < 0 ? r : 0;
	if (!strcmp(k, "$ref"))
		return perr(c, "$ref is not allowed");
	if (!strcmp(k, "type"))
		return parse_type(c, s, v);
	if (!strcmp(k, "format") && cJSON_IsString(v))
		s->format = xstrdup(v->valuestring);
	else if (!strcmp(k, "description") && cJSON_IsString(v))
		s->description = xstrdup(v->valuestring);
	else if (!strcmp(k, "default"))
		s->default_json = print_json(v);
	else if (!strcmp(k, "required") && cJSON_IsArray(v))
		s->required = str_array(v);
	else if (!strcmp(k, "properties"))
		return parse_props(c, s, v);
	else if (!strcmp(k, "items")) {
		if (!cJSON_IsObject(v))
			return perr(c, "items must be a schema");
		size_t old = schema__path_key(&c->path, "items");
		r = parse_node(c, v, (struct schema **)&s->items);
		schema__path_pop(&c->path, old);
		return r;
	} else if (!strcmp(k, "additionalProperties")) {
		if (cJSON_IsBool(v)) {
			s->flags |= cJSON_IsTrue(v) ? SCHEMA_F_ANY_ADDITIONAL : SCHEMA_F_NO_ADDITIONAL;
			return 0;
		}
		size_t old = schema__path_key(&c->path, "additionalProperties");
		r = parse_node(c, v, (struct schema **)&s->additional);
		schema__path_pop(&c->path, old);
		return r;
	} else if (!strcmp(k, "pattern") && cJSON_IsString(v)) {
		regex_t *re = xmalloc(sizeof(*re));

		x = extra(s);
		x->pattern = xstrdup(v->valuestring);
		if (schema__regex_compile(v->valuestring, re, NULL)) {
			free(re);
			return perr(c, "unsupported pattern");
		}
		x->pattern_re = re;
	} else if (!strcmp(k, "enum")) {
		const cJSON *it;
		size_t i = 0;
		char **e;

		if (!cJSON_IsArray(v))
			return perr(c, "enum must be an array");
		e = xcalloc(cJSON_GetArraySize(v) + 1, sizeof(*e));
		extra(s)->enum_json = (const char *const *)e;
		cJSON_ArrayForEach(it, v)
			e[i++] = print_json(it);
	} else if (!strcmp(k, "allOf")) {
		return parse_list(c, v, &extra(s)->all_of);
	} else if (!strcmp(k, "anyOf")) {
		return parse_list(c, v, &extra(s)->any_of);
	} else if (!strcmp(k, "oneOf")) {
		return parse_list(c, v, &extra(s)->one_of);
	} else if (!strcmp(k, "not")) {
		return parse_node(c, v, (struct schema **)&extra(s)->not_);
	}
	return 0;
}

static int parse_node(struct pctx *c, const cJSON *j, struct schema **out)
{
	struct schema *s = xcalloc(1, sizeof(*s));
	const cJSON *it;
	int ret = 0;

	*out = s;
	if (!cJSON_IsObject(j))
		return perr(c, "schema must be an object");
	if (c->depth >= SCHEMA_MAX_DEPTH)
		return perr(c, "schema nested too deeply");
	{
		unsigned char *dups = schema__dups(j, NULL, NULL);

		free(dups);
		if (dups)	/* each keyword is set once: no last-wins, no leaks */
			return perr(c, "duplicate keyword");
	}
	c->depth++;
	cJSON_ArrayForEach(it, j)
		if ((ret = parse_keyword(c, s, it)))
			break;
	c->depth--;
	return ret;
}

int schema_parse(const cJSON *json, struct schema **out, struct buf *err)
{
	struct pctx c = { .err = err, .path = BUF_INIT };
	int ret = parse_node(&c, json, out);

	buf_release(&c.path);
	if (ret) {
		schema_free(*out);
		*out = NULL;
	}
	return ret;
}

static void free_list(const struct schema *const *l)
{
	for (const struct schema *const *p = l; p && *p; p++)
		schema_free((struct schema *)*p);
	free((void *)l);
}

static void free_strs(const char *const *v)
{
	for (const char *const *p = v; p && *p; p++)
		free((char *)*p);
	free((void *)v);
}

static void free_extra(struct schema_extra *x)
{
	if (!x)
		return;
	free((char *)x->pattern);
	if (x->pattern_re) {
		regfree((regex_t *)x->pattern_re);
		free((void *)x->pattern_re);
	}
	free_strs(x->enum_json);
	free_list(x->all_of);
	free_list(x->any_of);
	free_list(x->one_of);
	schema_free((struct schema *)x->not_);
	free(x);
}

void schema_free(struct schema *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nprops; i++) {
		free((char *)s->props[i].name);
		schema_free((struct schema *)s->props[i].schema);
	}
	free((void *)s->props);
	schema_free((struct schema *)s->items);
	schema_free((struct schema *)s->additional);
	free_strs(s->required);
	free_strs(s->list_map_keys);
	for (unsigned i = 0; i < s->ngvk; i++) {
		free((char *)s->gvk[i].group);
		free((char *)s->gvk[i].version);
		free((char *)s->gvk[i].kind);
	}
	free((void *)s->gvk);
	free_extra((struct schema_extra *)s->extra);
	free((char *)s->name);
	free((char *)s->description);
	free((char *)s->format);
	free((char *)s->default_json);
	free((char *)s->merge_key);
	free(s);
}

void schema_set_identity(struct schema *s, const char *name, const char *group,
			 const char *version, const char *kind)
{
	struct schema_gvk *g;

	free((char *)s->name);
	s->name = xstrdup(name);
	for (unsigned i = 0; i < s->ngvk; i++) {
		free((char *)s->gvk[i].group);
		free((char *)s->gvk[i].version);
		free((char *)s->gvk[i].kind);
	}
	free((void *)s->gvk);
	g = xcalloc(1, sizeof(*g));
	g->group = xstrdup(group);
	g->version = xstrdup(version);
	g->kind = xstrdup(kind);
	s->gvk = g;
	s->ngvk = 1;
}

static struct schema *wrap(const struct schema *target)
{
	struct schema *w = xcalloc(1, sizeof(*w));

	w->ref = target;
	return w;
}

struct schema *schema_new_list(const char *name, const struct schema_gvk *gvk,
			       const struct schema *item,
			       const struct schema *list_meta)
{
	static const char *const keys[] = { "apiVersion", "items", "kind", "metadata" };
	struct schema *l = xcalloc(1, sizeof(*l));
	struct schema_prop *p = xcalloc(4, sizeof(*p));
	struct schema *items = xcalloc(1, sizeof(*items));
	char **req = xcalloc(2, sizeof(*req));

	for (int i = 0; i < 4; i++)
		p[i].name = xstrdup(keys[i]);
	p[0].schema = xcalloc(1, sizeof(struct schema));
	((struct schema *)p[0].schema)->types = SCHEMA_T_STRING;
	items->types = SCHEMA_T_ARRAY;
	items->items = wrap(item);
	p[1].schema = items;
	p[2].schema = xcalloc(1, sizeof(struct schema));
	((struct schema *)p[2].schema)->types = SCHEMA_T_STRING;
	p[3].schema = list_meta ? wrap(list_meta) : xcalloc(1, sizeof(struct schema));
	if (!list_meta)
		((struct schema *)p[3].schema)->types = SCHEMA_T_OBJECT;
	l->props = p;
	l->nprops = 4;
	l->types = SCHEMA_T_OBJECT;
	req[0] = xstrdup("items");
	l->required = (const char *const *)req;
	schema_set_identity(l, name, gvk->group, gvk->version, gvk->kind);
	return l;
}
