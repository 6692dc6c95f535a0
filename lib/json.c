#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Integers of larger magnitude are not all held exactly by a double. */
#define JSON_EXACT_MAX (1LL << 53)

/* ---- exact integers ---- */

/* True when the n bytes at p are an integer literal a double can't hold. */
static bool inexact_int(const char *p, size_t n)
{
	char tmp[32];
	long long v;
	size_t i = p[0] == '-';

	if (n - i < 16)
		return false;
	for (; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	if (n >= sizeof(tmp))
		return true;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	errno = 0;
	v = strtoll(tmp, NULL, 10);
	return errno == ERANGE || v > JSON_EXACT_MAX || v < -JSON_EXACT_MAX;
}

struct lit {
	size_t index;		/* among the number literals, in document order */
	const char *p;
	size_t n;
};

struct lits {
	struct lit *v;
	size_t nr, alloc;
	size_t seen;		/* number items visited by attach_digits() */
	size_t next;		/* the next entry of v to attach */
};

/* Collects the inexact integer literals of s[0, len) (valid JSON). */
static void scan_literals(const char *s, size_t len, struct lits *l)
{
	size_t index = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
		} else if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
			size_t j = i;

			while (j < len && strchr("+-.eE0123456789", s[j]) && s[j])
				j++;
			if (inexact_int(s + i, j - i)) {
				ALLOC_GROW(l->v, l->nr + 1, l->alloc);
				l->v[l->nr++] = (struct lit){ index, s + i, j - i };
			}
			index++;
			i = j - 1;
		}
	}
}

/* Walks o in document order, giving the collected literals their items. */
static void attach_digits(cJSON *o, struct lits *l)
{
	for (; o && l->next < l->nr; o = o->next) {
		if (cJSON_IsNumber(o)) {
			if (l->v[l->next].index == l->seen++) {
				struct lit *t = &l->v[l->next++];

				o->valuestring = xmalloc(t->n + 1);
				memcpy(o->valuestring, t->p, t->n);
				o->valuestring[t->n] = '\0';
			}
		} else if (o->child) {
			attach_digits(o->child, l);
		}
	}
}

cJSON *json_parse_end(const char *s, size_t len, const char **end)
{
	struct lits l = { 0 };
	const char *stop = NULL;
	cJSON *o;

	if (!s || !len)
		return NULL;
	o = cJSON_ParseWithLengthOpts(s, len, &stop, 0);
	if (end)
		*end = stop;	/* past the value, or where the error is */
	if (!o)
		return NULL;
	scan_literals(s, stop ? (size_t)(stop - s) : len, &l);
	attach_digits(o, &l);
	free(l.v);
	return o;
}

cJSON *json_parse(const char *s, size_t len)
{
	return json_parse_end(s, len, NULL);
}

cJSON *json_create_int(int64_t v)
{
	cJSON *n = cJSON_CreateNumber((double)v);

	if (v > JSON_EXACT_MAX || v < -JSON_EXACT_MAX)
		n->valuestring = xasprintf("%lld", (long long)v);
	return n;
}

int json_int(const cJSON *v, int64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -EINVAL;
	if (v->valuestring) {
		char *end;

		errno = 0;
		*out = strtoll(v->valuestring, &end, 10);
		return errno || *end ? -EINVAL : 0;
	}
	d = v->valuedouble;
	/* 2^63 is exact as a double; anything below it converts */
	if (d != floor(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
		return -EINVAL;
	*out = (int64_t)d;
	return 0;
}

cJSON *json_get(const cJSON *o, const char *key)
{
	if (!o || !cJSON_IsObject(o))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

cJSON *json_path(const cJSON *o, const char *path)
{
	const cJSON *cur = o;
	char key[256];

	while (cur && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		cur = json_get(cur, key);
		path += n + (dot ? 1 : 0);
	}
	return (cJSON *)cur;
}

const char *json_get_str(const cJSON *o, const char *key, const char *fallback)
{
	cJSON *it = json_get(o, key);

	return cJSON_IsString(it) ? it->valuestring : fallback;
}

int64_t json_get_int(const cJSON *o, const char *key, int64_t fallback)
{
	cJSON *it = json_get(o, key);
	int64_t v;

	if (!cJSON_IsNumber(it))
		return fallback;
	if (!json_int(it, &v))
		return v;
	/* fractions truncate; out of range saturates */
	if (isnan(it->valuedouble))
		return fallback;
	if (it->valuedouble >= 9223372036854775807.0)
		return INT64_MAX;
	if (it->valuedouble <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)it->valuedouble;
}

bool json_get_bool(const cJSON *o, const char *key, bool fallback)
{
	cJSON *it = json_get(o, key);

	return cJSON_IsBool(it) ? cJSON_IsTrue(it) : fallback;
}

void json_set(cJSON *o, const char *key, cJSON *item)
{
	if (json_get(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, item);
	else
		cJSON_AddItemToObject(o, key, item);
}

cJSON *json_obj(cJSON *o, const char *key)
{
	cJSON *it = json_get(o, key);

	if (cJSON_IsObject(it))
		return it;
	it = cJSON_CreateObject();
	json_set(o, key, it);
	return it;
}

void json_set_str(cJSON *o, const char *key, const char *s)
{
	json_set(o, key, cJSON_CreateString(s));
}

void json_set_int(cJSON *o, const char *key, int64_t v)
{
	json_set(o, key, json_create_int(v));
}

void json_set_bool(cJSON *o, const char *key, bool v)
{
	json_set(o, key, cJSON_CreateBool(v));
}

/* ---- printing ---- */

static void print_number(const cJSON *v, struct buf *b)
{
	double d = v->valuedouble, back;
	char tmp[32];
	int n;

	if (v->valuestring) {
		buf_addstr(b, v->valuestring);
		return;
	}
	if (!isfinite(d)) {
		buf_add(b, "null", 4);
		return;
	}
	if (d == floor(d) && d < 9223372036854775808.0 && d >= -9223372036854775808.0) {
		buf_addf(b, "%lld", (long long)d);
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%1.15g", d);
	if (sscanf(tmp, "%lg", &back) != 1 || back != d)
		n = snprintf(tmp, sizeof(tmp), "%1.17g", d);
	buf_add(b, tmp, (size_t)n);
}

static void print_value(const cJSON *v, struct buf *b)
{
	const cJSON *c;

	switch (v->type & 0xff) {
	case cJSON_False: buf_add(b, "false", 5); break;
	case cJSON_True: buf_add(b, "true", 4); break;
	case cJSON_Number: print_number(v, b); break;
	case cJSON_String:
		buf_add_json_str(b, v->valuestring ? v->valuestring : "",
				 v->valuestring ? strlen(v->valuestring) : 0);
		break;
	case cJSON_Raw:
		if (v->valuestring) {
			buf_addstr(b, v->valuestring);
			break;
		}
		/* fall through */
	case cJSON_NULL:
	default: buf_add(b, "null", 4); break;
	case cJSON_Array:
		buf_addch(b, '[');
		for (c = v->child; c; c = c->next) {
			print_value(c, b);
			if (c->next)
				buf_addch(b, ',');
		}
		buf_addch(b, ']');
		break;
	case cJSON_Object:
		buf_addch(b, '{');
		for (c = v->child; c; c = c->next) {
			buf_add_json_str(b, c->string ? c->string : "",
					 c->string ? strlen(c->string) : 0);
			buf_addch(b, ':');
			print_value(c, b);
			if (c->next)
				buf_addch(b, ',');
		}
		buf_addch(b, '}');
		break;
	}
}

void json_print_buf(const cJSON *o, struct buf *b)
{
	if (!o)
		BUG("json_print of NULL");
	print_value(o, b);
}

char *json_print(const cJSON *o)
{
	struct buf b = BUF_INIT;

	json_print_buf(o, &b);
	return buf_detach(&b, NULL);
}

bool json_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *it;

	if (!a || !b)
		return a == b;
	if ((a->type & 0xff) != (b->type & 0xff))
		return false;
	switch (a->type & 0xff) {
	case cJSON_Number: {
		int64_t x, y;

		if (!a->valuestring && !b->valuestring)
			return a->valuedouble == b->valuedouble;
		return !json_int(a, &x) && !json_int(b, &y) && x == y;
	}
	case cJSON_String:
	case cJSON_Raw:
		return !strcmp(a->valuestring, b->valuestring);
	case cJSON_Array: {
		const cJSON *x = a->child, *y = b->child;

		for (; x && y; x = x->next, y = y->next)
			if (!json_equal(x, y))
				return false;
		return !x && !y;
	}
	case cJSON_Object:
		if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
			return false;
		cJSON_ArrayForEach(it, a)
			if (!json_equal(it, json_get(b, it->string)))
				return false;
		return true;
	default:
		return true;
	}
}
