#include "tables_priv.h"
#include "lib/timefmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void table_human_duration(int64_t ns, char *out, size_t len)
{
	int64_t s = ns / 1000000000, m, h;

	if (s < -1) {
		snprintf(out, len, "<invalid>");
		return;
	}
	if (s < 0)
		s = 0;
	m = s / 60;
	h = s / 3600;
	if (s < 120)
		snprintf(out, len, "%llds", (long long)s);
	else if (m < 10)
		s % 60 ? snprintf(out, len, "%lldm%llds", (long long)m, (long long)(s % 60))
		       : snprintf(out, len, "%lldm", (long long)m);
	else if (m < 180)
		snprintf(out, len, "%lldm", (long long)m);
	else if (h < 8)
		m % 60 ? snprintf(out, len, "%lldh%lldm", (long long)h, (long long)(m % 60))
		       : snprintf(out, len, "%lldh", (long long)h);
	else if (h < 48)
		snprintf(out, len, "%lldh", (long long)h);
	else if (h < 24 * 8)
		h % 24 ? snprintf(out, len, "%lldd%lldh", (long long)(h / 24), (long long)(h % 24))
		       : snprintf(out, len, "%lldd", (long long)(h / 24));
	else if (h < 24 * 365 * 2)
		snprintf(out, len, "%lldd", (long long)(h / 24));
	else if (h < 24 * 365 * 8)
		(h / 24) % 365 ? snprintf(out, len, "%lldy%lldd", (long long)(h / 24 / 365),
					  (long long)((h / 24) % 365))
			       : snprintf(out, len, "%lldy", (long long)(h / 24 / 365));
	else
		snprintf(out, len, "%lldy", (long long)(h / 24 / 365));
}

/* ---- strings and cells ---- */

cJSON *table__str(const char *s, const char *fallback)
{
	return cJSON_CreateString(s && *s ? s : fallback);
}

const char *table__gets(const cJSON *o, const char *path)
{
	const cJSON *v = json_path(o, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

cJSON *table__path_str(const cJSON *o, const char *path, const char *fallback)
{
	return table__str(table__gets(o, path), fallback);
}

cJSON *table__path_int(const cJSON *o, const char *path)
{
	const cJSON *v = json_path(o, path);

	return cJSON_CreateNumber(cJSON_IsNumber(v) ? v->valuedouble : 0);
}

int table__count(const cJSON *o, const char *path)
{
	const cJSON *v = json_path(o, path);

	return cJSON_IsArray(v) || cJSON_IsObject(v) ? cJSON_GetArraySize(v) : 0;
}

cJSON *table__buf_cell(struct buf *b, const char *fallback)
{
	cJSON *r = table__str(b->data, fallback);

	buf_release(b);
	return r;
}

void table__join(struct buf *b, const char *sep, const char *s)
{
	if (b->len)
		buf_addstr(b, sep);
	buf_addstr(b, s ? s : "");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void table__sort_strs(const char **items, size_t n)
{
	qsort(items, n, sizeof(*items), cmp_str);
}

void table__join_sorted(struct buf *b, const char *sep, const char **items, size_t n)
{
	table__sort_strs(items, n);
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(items[i], items[i - 1]))
			table__join(b, sep, items[i]);
}

/* ---- times ---- */

cJSON *table__since(const cJSON *v, int64_t now)
{
	char out[32];
	int64_t t;

	if (!cJSON_IsString(v) || rfc3339_parse(v->valuestring, &t))
		return cJSON_CreateString("<unknown>");
	table_human_duration(now - t, out, sizeof(out));
	return cJSON_CreateString(out);
}

cJSON *table__age(const cJSON *o, const char *path, int64_t now)
{
	return table__since(json_path(o, path), now);
}

bool table__time(const cJSON *o, const char *path, int64_t *ns)
{
	const char *s = table__gets(o, path);

	return s && !rfc3339_parse(s, ns);
}

/* ---- Kubernetes formats ---- */

const char *table__qty(const cJSON *v, char *out, size_t len)
{
	if (cJSON_IsString(v))
		return v->valuestring;
	if (!cJSON_IsNumber(v))
		return NULL;
	if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15)
		snprintf(out, len, "%lld", (long long)v->valuedouble);
	else
		snprintf(out, len, "%g", v->valuedouble);
	return out;
}

struct kv {
	const char *key;
	char *text;	/* owned */
	size_t pos;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

static void kv_emit(struct buf *b, struct kv *v, size_t n)
{
	qsort(v, n, sizeof(*v), kv_cmp);
	for (size_t i = 0; i < n; i++) {
		table__join(b, ",", v[i].text);
		free(v[i].text);
	}
	free(v);
}

void table__fmt_labels(struct buf *b, const cJSON *map)
{
	size_t n = 0, cap = (size_t)cJSON_GetArraySize(map) + 1;
	struct kv *v = xmalloc(cap * sizeof(*v));
	const cJSON *it;

	cJSON_ArrayForEach(it, map)
		if (cJSON_IsString(it) && it->string) {
			v[n].key = it->string;
			v[n].text = xasprintf("%s=%s", it->string, it->valuestring);
			v[n].pos = n;
			n++;
		}
	kv_emit(b, v, n);
}

/* "a,b" of the sorted string values of a requirement. */
static char *req_values(const cJSON *vals)
{
	size_t n = 0, cap = (size_t)cJSON_GetArraySize(vals) + 1;
	struct kv *v = xmalloc(cap * sizeof(*v));
	struct buf b = BUF_INIT;
	const cJSON *it;

	cJSON_ArrayForEach(it, vals)
		if (cJSON_IsString(it)) {
			v[n].key = it->valuestring;
			v[n].text = xstrdup(it->valuestring);
			v[n].pos = n;
			n++;
		}
	kv_emit(&b, v, n);
	return b.data ? buf_detach(&b, NULL) : xstrdup("");
}

static char *req_string(const cJSON *e)
{
	const char *key = json_get_str(e, "key", ""), *op = json_get_str(e, "operator", "");
	char *vals, *r;

	if (!strcmp(op, "Exists"))
		return xstrdup(key);
	if (!strcmp(op, "DoesNotExist"))
		return xasprintf("!%s", key);
	vals = req_values(json_get(e, "values"));
	if (!strcmp(op, "In"))
		r = xasprintf("%s in (%s)", key, vals);
	else if (!strcmp(op, "NotIn"))
		r = xasprintf("%s notin (%s)", key, vals);
	else
		r = xasprintf("%s %s (%s)", key, op, vals);
	free(vals);
	return r;
}

void table__fmt_selector(struct buf *b, const cJSON *sel)
{
	const cJSON *ml = json_get(sel, "matchLabels"), *me = json_get(sel, "matchExpressions"), *it;
	size_t n = 0, cap = (size_t)(cJSON_GetArraySize(ml) + cJSON_GetArraySize(me)) + 1;
	struct kv *v = xmalloc(cap * sizeof(*v));

	cJSON_ArrayForEach(it, ml)
		if (cJSON_IsString(it) && it->string) {
			v[n] = (struct kv){ it->string, xasprintf("%s=%s", it->string, it->valuestring), n };
			n++;
		}
	cJSON_ArrayForEach(it, me) {
		v[n] = (struct kv){ json_get_str(it, "key", ""), req_string(it), n };
		n++;
	}
	kv_emit(b, v, n);
}

cJSON *table__selector_cell(const cJSON *o, const char *path)
{
	struct buf b = BUF_INIT;

	table__fmt_selector(&b, json_path(o, path));
	return table__buf_cell(&b, "<none>");
}

cJSON *table__containers(const cJSON *o, const char *path, const char *field)
{
	struct buf b = BUF_INIT;
	const cJSON *c;
	int i = 0;

	cJSON_ArrayForEach(c, json_path(o, path)) {
		if (i++)
			buf_addch(&b, ',');
		buf_addstr(&b, json_get_str(c, field, ""));
	}
	return table__buf_cell(&b, "");
}

const char *table__annotation(const cJSON *o, const char *key)
{
	const cJSON *v = json_get(json_path(o, "metadata.annotations"), key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool table__cond_true(const cJSON *o, const char *path, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_path(o, path))
		if (!strcmp(json_get_str(c, "type", ""), type))
			return !strcmp(json_get_str(c, "status", ""), "True");
	return false;
}

/* ---- framework ---- */

cJSON *table__c_name(const cJSON *o, int64_t now)
{
	(void)now;
	return table__path_str(o, "metadata.name", "");
}

cJSON *table__c_age(const cJSON *o, int64_t now)
{
	return table__age(o, "metadata.creationTimestamp", now);
}

static cJSON *c_created(const cJSON *o, int64_t now)
{
	(void)now;
	return table__path_str(o, "metadata.creationTimestamp", "");
}

static const struct table_col default_cols[] = {
	COL_NAME,
	{ "Created At", "date", "", TABLE__AGE_DESC, 0, c_created },
};
static const struct table_printer default_printer = PRINTER("", "", default_cols);

const struct table_printer *table_printer_find(const char *group, const char *resource)
{
	static const struct { const struct table_printer *p; const size_t *n; } sets[] = {
		{ table__core_printers, &table__core_nprinters },
		{ table__apps_printers, &table__apps_nprinters },
		{ table__cluster_printers, &table__cluster_nprinters },
	};

	for (size_t s = 0; s < ARRAY_SIZE(sets); s++)
		for (size_t i = 0; i < *sets[s].n; i++)
			if (!strcmp(sets[s].p[i].group, group) && !strcmp(sets[s].p[i].resource, resource))
				return &sets[s].p[i];
	return &default_printer;
}

static cJSON *partial_metadata(const cJSON *obj)
{
	cJSON *m = cJSON_CreateObject();
	const cJSON *meta = json_get(obj, "metadata");

	json_set_str(m, "kind", "PartialObjectMetadata");
	json_set_str(m, "apiVersion", "meta.k8s.io/v1");
	json_set(m, "metadata", meta ? cJSON_Duplicate(meta, 1) : cJSON_CreateObject());
	return m;
}

static cJSON *column_defs(const struct table_printer *p)
{
	cJSON *defs = cJSON_CreateArray();

	for (size_t c = 0; c < p->ncols; c++) {
		cJSON *d = cJSON_CreateObject();

		json_set_str(d, "name", p->cols[c].name);
		json_set_str(d, "type", p->cols[c].type);
		json_set_str(d, "format", p->cols[c].format);
		json_set_str(d, "description", p->cols[c].description);
		json_set_int(d, "priority", p->cols[c].priority);
		cJSON_AddItemToArray(defs, d);
	}
	return defs;
}

static cJSON *table_row(const struct table_printer *p, const cJSON *obj, enum table_include include,
			int64_t now)
{
	cJSON *row = cJSON_CreateObject(), *cells = cJSON_CreateArray(), *conds;

	for (size_t c = 0; c < p->ncols; c++)
		cJSON_AddItemToArray(cells, p->cols[c].cell ? p->cols[c].cell(obj, now) :
					     p->cell_at(p, c, obj, now));
	json_set(row, "cells", cells);
	if (p->row_conditions && (conds = p->row_conditions(obj)))
		json_set(row, "conditions", conds);
	if (include == TABLE_INCLUDE_OBJECT)
		json_set(row, "object", cJSON_Duplicate(obj, 1));
	else if (include == TABLE_INCLUDE_METADATA)
		json_set(row, "object", partial_metadata(obj));
	return row;
}

cJSON *table_build(const struct table_printer *p, const cJSON *const *objs, size_t n,
		   enum table_include include, const cJSON *list_meta, int64_t now)
{
	cJSON *t = cJSON_CreateObject(), *rows = cJSON_CreateArray();

	json_set_str(t, "kind", "Table");
	json_set_str(t, "apiVersion", "meta.k8s.io/v1");
	json_set(t, "metadata", list_meta ? cJSON_Duplicate(list_meta, 1) : cJSON_CreateObject());
	json_set(t, "columnDefinitions", column_defs(p));
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(rows, table_row(p, objs[i], include, now));
	json_set(t, "rows", rows);
	return t;
}
