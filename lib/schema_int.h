/*
 * lib/schema_int.h - internals shared by the lib/schema*.c files only.
 *
 * Walks see a node through two views: the structural one (schema__st():
 * a $ref wrapper's target) for props/items/types, and the local one (the
 * node itself, falling back to the target) for default, patch metadata and
 * flags.
 */
#ifndef K1S_LIB_SCHEMA_INT_H
#define K1S_LIB_SCHEMA_INT_H

#include "json.h"
#include "schema.h"

static inline const struct schema *schema__st(const struct schema *s)
{
	return s && s->ref ? s->ref : s;
}

static inline unsigned schema__flags(const struct schema *s)
{
	return s->flags | (s->ref ? s->ref->flags : 0);
}

static inline const char *schema__default(const struct schema *s)
{
	if (s->default_json)
		return s->default_json;
	return s->ref ? s->ref->default_json : NULL;
}

static inline bool schema__nullable(const struct schema *s)
{
	return schema__flags(s) & SCHEMA_F_NULLABLE;
}

/* Property `name` of a node (structural view); NULL when absent. */
const struct schema *schema__prop(const struct schema *s, const char *name);

/* How the child `key` of an object node is known. */
enum schema__kind {
	SCHEMA__KNOWN,		/* *child is its node */
	SCHEMA__ANY,		/* allowed, any value, not walked */
	SCHEMA__UNKNOWN,	/* not in the schema */
};

/*
 * Resolves child `key` of object node s. `rootlike` is true at the root and
 * at embedded resources, where apiVersion, kind and metadata are implicit
 * and metadata may come from opts->object_meta.
 */
enum schema__kind schema__child(const struct schema *s, const char *key,
				bool rootlike, const struct schema_opts *opts,
				const struct schema **child);

/* True when child nodes of s are roots of embedded resources. */
static inline bool schema__embedded(const struct schema *s)
{
	return schema__flags(s) & SCHEMA_F_EMBEDDED;
}

/* Path helpers: push returns the old length for schema__path_pop(). */
size_t schema__path_key(struct buf *path, const char *key);
size_t schema__path_index(struct buf *path, size_t i);
size_t schema__path_mapkey(struct buf *path, const char *key);
static inline void schema__path_pop(struct buf *path, size_t len)
{
	path->len = len;
	if (path->data)
		path->data[len] = '\0';
}

/* Appends a value as field.Error prints a bad value (strings quoted). */
void schema__fmt_value(struct buf *b, const cJSON *v);
/* Appends a number as Go's %v does. */
void schema__fmt_number(struct buf *b, double d);
/* "object", "array", "string", "integer", "number", "boolean", "null" */
const char *schema__json_type(const cJSON *v);
/* Bits of SCHEMA_T_* that v satisfies (an integral number is INTEGER|NUMBER). */
unsigned schema__type_bits(const cJSON *v);

/* marks from schema__dups() */
enum {
	SCHEMA__DUP_LATER = 1,	/* a later sibling has the same key */
	SCHEMA__DUP_SECOND = 2,	/* the second occurrence of its key */
};

/*
 * Finds repeated keys among an object's members (or repeated sort keys of
 * an array's items when keyfn is given) in O(n log n). Returns NULL when
 * there are none, else a malloc'd array with one SCHEMA__DUP_* mask per
 * child, in document order; the caller frees it.
 */
unsigned char *schema__dups(const cJSON *v, char *(*keyfn)(const cJSON *, const void *),
			    const void *arg);

#endif
