/*
 * lib/schema_mutate.c - pruning and structural defaulting.
 *
 * Defaulting follows apiextensions-apiserver's structural defaulting:
 * defaults fill missing properties of objects that exist (and a null on a
 * non-nullable property, array item or map value that has a default), the
 * result is walked again so nested defaults apply, and afterwards a null on
 * a non-nullable property or map value without a default is removed.
 */
#include "schema_int.h"

#include <stdlib.h>
#include <string.h>

struct mctx {
	const struct schema_opts *opts;
	int depth;
	int count;
};

/* Moves src's value into dst (keeping dst's key and links); frees src. */
static void value_assign(cJSON *dst, cJSON *src)
{
	if (dst->child)
		cJSON_Delete(dst->child);
	if (dst->valuestring && !(dst->type & cJSON_IsReference))
		cJSON_free(dst->valuestring);
	dst->type = src->type | (dst->type & cJSON_StringIsConst);
	dst->child = src->child;
	dst->valuestring = src->valuestring;
	dst->valueint = src->valueint;
	dst->valuedouble = src->valuedouble;
	src->child = NULL;
	src->valuestring = NULL;
	cJSON_Delete(src);
}

static cJSON *parse_default(const char *json)
{
	cJSON *v = json_parse(json, strlen(json));

	if (!v)
		BUG("malformed schema default %s", json);
	return v;
}

/* ---- prune ---- */

static void prune_node(struct mctx *c, const struct schema *s, cJSON *v,
		       bool rootlike)
{
	const struct schema *st = schema__st(s);
	cJSON *it, *next;

	if (c->depth >= SCHEMA_MAX_DEPTH)
		return;
	c->depth++;
	if (cJSON_IsObject(v)) {
		unsigned char *dups = schema__dups(v, NULL, NULL);
		size_t i = 0;

		for (it = v->child; it; it = next, i++) {
			const struct schema *child;
			enum schema__kind k;

			next = it->next;
			k = schema__child(s, it->string, rootlike, c->opts, &child);
			if (k == SCHEMA__UNKNOWN || (dups && dups[i] & SCHEMA__DUP_LATER)) {
				cJSON_Delete(cJSON_DetachItemViaPointer(v, it));
				c->count++;
			} else if (k == SCHEMA__KNOWN) {
				prune_node(c, child, it, schema__embedded(child));
			}
		}
		free(dups);
	} else if (cJSON_IsArray(v) && st->items) {
		cJSON_ArrayForEach(it, v)
			prune_node(c, st->items, it, schema__embedded(st->items));
	}
	c->depth--;
}

int schema_prune(const struct schema *s, cJSON *obj,
		 const struct schema_opts *opts)
{
	struct mctx c = { .opts = opts };

	prune_node(&c, s, obj, true);
	return c.count;
}

/* ---- default ---- */

static void default_node(struct mctx *c, const struct schema *s, cJSON *v,
			 bool rootlike);

static void fill_missing(struct mctx *c, const struct schema *st, cJSON *v)
{
	for (uint32_t i = 0; i < st->nprops; i++) {
		const struct schema *p = st->props[i].schema;
		const char *d = schema__default(p);
		cJSON *cur;

		if (!d)
			continue;
		cur = cJSON_GetObjectItemCaseSensitive(v, st->props[i].name);
		if (!cur) {
			cJSON_AddItemToObject(v, st->props[i].name, parse_default(d));
			c->count++;
		} else if (cJSON_IsNull(cur) && !schema__nullable(p)) {
			value_assign(cur, parse_default(d));
			c->count++;
		}
	}
}

static void default_object(struct mctx *c, const struct schema *s, cJSON *v,
			   bool rootlike)
{
	const struct schema *st = schema__st(s);
	cJSON *it, *next;

	fill_missing(c, st, v);
	for (it = v->child; it; it = next) {
		const struct schema *child;

		next = it->next;
		if (schema__child(s, it->string, rootlike, c->opts, &child) != SCHEMA__KNOWN)
			continue;
		if (cJSON_IsNull(it) && !schema__nullable(child)) {
			const char *d = schema__default(child);

			if (d && child == st->additional) {
				value_assign(it, parse_default(d));
				c->count++;
			} else if (!d) {
				cJSON_Delete(cJSON_DetachItemViaPointer(v, it));
				continue;
			}
		}
		default_node(c, child, it, schema__embedded(child));
	}
}

static void default_node(struct mctx *c, const struct schema *s, cJSON *v,
			 bool rootlike)
{
	const struct schema *st = schema__st(s);
	cJSON *it;

	if (c->depth >= SCHEMA_MAX_DEPTH)
		return;
	c->depth++;
	if (cJSON_IsObject(v)) {
		default_object(c, s, v, rootlike);
	} else if (cJSON_IsArray(v) && st->items) {
		const char *d = schema__default(st->items);

		cJSON_ArrayForEach(it, v) {
			if (d && cJSON_IsNull(it) && !schema__nullable(st->items)) {
				value_assign(it, parse_default(d));
				c->count++;
			}
			default_node(c, st->items, it, schema__embedded(st->items));
		}
	}
	c->depth--;
}

int schema_default(const struct schema *s, cJSON *obj,
		   const struct schema_opts *opts)
{
	struct mctx c = { .opts = opts };

	default_node(&c, s, obj, true);
	return c.count;
}
