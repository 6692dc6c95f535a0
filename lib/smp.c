/*
 * lib/smp.c - strategic merge patch (see smp.h).
 *
 * The shape follows upstream's mergeMap/mergeSlice: a map is merged by
 * first honouring "$patch", then "$retainKeys", then every
 * "$setElementOrder/F" (which merges and orders F), then the remaining keys
 * one by one. The document being patched is a private copy, so the code
 * mutates it freely; the patch is never modified (keys that were already
 * handled are skipped rather than deleted).
 */
#include "smp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

#define DIRECTIVE		"$patch"
#define RETAIN_KEYS		"$retainKeys"
#define SET_ORDER_PREFIX	"$setElementOrder/"
#define DELETE_PRIM_PREFIX	"$deleteFromPrimitiveList/"
#define BRIEF_MAX		200	/* bytes of JSON quoted in a message */

struct smp_ctx {
	const struct smp_schema *s;
	char **err;
};

/* A growable vector of JSON node pointers. */
struct nodes {
	cJSON **v;
	size_t n, alloc;
};

static void nodes_push(struct nodes *ns, cJSON *item)
{
	ALLOC_GROW(ns->v, ns->n + 1, ns->alloc);
	ns->v[ns->n++] = item;
}

static void nodes_of(struct nodes *ns, const cJSON *arr)
{
	for (cJSON *c = arr ? arr->child : NULL; c; c = c->next)
		nodes_push(ns, c);
}

static int fail(struct smp_ctx *c, int ret, const char *fmt, ...) K1S_PRINTF(3, 4);
static int fail(struct smp_ctx *c, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!*c->err) {
		va_start(ap, fmt);
		*c->err = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* Compact JSON of v cut to BRIEF_MAX bytes, for messages; caller frees. */
static char *brief(const cJSON *v)
{
	char *s = json_print(v);

	if (strlen(s) > BRIEF_MAX)
		strcpy(s + BRIEF_MAX - 3, "...");
	return s;
}

static int fail_no_key(struct smp_ctx *c, const cJSON *m, const char *key)
{
	char *b = brief(m);
	int ret = fail(c, -EINVAL, "map: %s does not contain declared merge key: %s", b, key);

	free(b);
	return ret;
}

static int fail_bad_patch(struct smp_ctx *c, const cJSON *d, const cJSON *m)
{
	char *bd = brief(d), *bm = brief(m);
	int ret = fail(c, -EINVAL, "unknown patch type: %s in map: %s", bd, bm);

	free(bd);
	free(bm);
	return ret;
}

static void field_meta(struct smp_ctx *c, const void *node, const char *name,
		       struct smp_field_meta *m)
{
	memset(m, 0, sizeof(*m));
	if (!node || !c->s || !c->s->ops || !c->s->ops->field)
		return;
	if (c->s->ops->field(c->s->ctx, node, name, m))
		memset(m, 0, sizeof(*m));
}

static const void *items_node(struct smp_ctx *c, const void *node)
{
	if (!node || !c->s || !c->s->ops || !c->s->ops->items)
		return NULL;
	return c->s->ops->items(c->s->ctx, node);
}

/* JSON kinds as Go's reflect sees decoded JSON: true and false are one. */
enum kind { K_NONE, K_OBJ, K_ARR, K_STR, K_NUM, K_BOOL, K_NULL };

static enum kind kind_of(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return K_OBJ;
	if (cJSON_IsArray(v))
		return K_ARR;
	if (cJSON_IsString(v))
		return K_STR;
	if (cJSON_IsNumber(v))
		return K_NUM;
	if (cJSON_IsBool(v))
		return K_BOOL;
	return K_NULL;
}

/* Go's == on decoded JSON scalars; objects and arrays never compare equal. */
static bool scalar_eq(const cJSON *a, const cJSON *b)
{
	if (!a || !b || kind_of(a) != kind_of(b))
		return false;
	switch (kind_of(a)) {
	case K_STR:
		return !strcmp(a->valuestring, b->valuestring);
	case K_NUM:
		return a->valuedouble == b->valuedouble;
	case K_BOOL:
		return cJSON_IsTrue(a) == cJSON_IsTrue(b);
	case K_NULL:
		return true;
	default:
		return false;
	}
}

/* The one element kind of the given lists (upstream sliceElementType). */
static int element_kind(struct smp_ctx *c, const cJSON *a, const cJSON *b, enum kind *out)
{
	const cJSON *lists[2] = { a, b };

	*out = K_NONE;
	for (int i = 0; i < 2; i++) {
		for (const cJSON *e = lists[i] ? lists[i]->child : NULL; e; e = e->next) {
			enum kind k = kind_of(e);

			if (k == K_ARR)
				return fail(c, -EINVAL, "lists of lists are not supported");
			if (*out != K_NONE && *out != k)
				return fail(c, -EINVAL, "list element types are not identical");
			*out = k;
		}
	}
	return 0;
}

/* Index of the element of ns matching v (by merge key, or by value). */
static long index_in(cJSON **ns, size_t n, const cJSON *v, const char *key)
{
	const cJSON *want = key ? json_get(v, key) : v;

	if (!want)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const cJSON *have = key ? json_get(ns[i], key) : ns[i];

		if (scalar_eq(have, want))
			return (long)i;
	}
	return -1;
}

static int check_list_size(struct smp_ctx *c, const cJSON *a)
{
	if (a && cJSON_GetArraySize(a) > SMP_MAX_LIST)
		return fail(c, -E2BIG, "list longer than %d elements", SMP_MAX_LIST);
	return 0;
}

static int merge_map(struct smp_ctx *c, cJSON *orig, const cJSON *patch,
		     const void *node, int depth, cJSON **repl);
static int merge_list(struct smp_ctx *c, const cJSON *orig, const cJSON *patch,
		      const struct smp_field_meta *m, int depth, cJSON **out);

/* The patch value as it lands where the document had nothing. */
static int clean(struct smp_ctx *c, const cJSON *pv, const struct smp_field_meta *m,
		 int depth, cJSON **out)
{
	cJSON *empty, *repl = NULL;
	int ret;

	*out = NULL;
	if (cJSON_IsArray(pv) && (m->strategy & SMP_MERGE)) {
		empty = cJSON_CreateArray();
		ret = merge_list(c, empty, pv, m, depth, out);
		cJSON_Delete(empty);
		return ret;
	}
	if (!cJSON_IsObject(pv)) {
		*out = cJSON_Duplicate(pv, 1);
		return 0;
	}
	empty = cJSON_CreateObject();
	ret = merge_map(c, empty, pv, m->node, depth, &repl);
	if (ret) {
		cJSON_Delete(empty);
		cJSON_Delete(repl);
		return ret;
	}
	if (repl) {
		cJSON_Delete(empty);
		empty = repl;
	}
	*out = empty;
	return 0;
}

/*
 * Sort key: the index of each element of ns in ref (or, when absent,
 * after all of ref, keeping input order), computed once.
 */
struct ranked {
	cJSON *node;
	long rank;
	size_t pos;
};

static int rank_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void sort_by(struct nodes *ns, cJSON **ref, size_t nref, const char *key)
{
	struct ranked *r = xcalloc(ns->n + 1, sizeof(*r));

	for (size_t i = 0; i < ns->n; i++) {
		long idx = index_in(ref, nref, ns->v[i], key);

		r[i] = (struct ranked){ ns->v[i], idx < 0 ? (long)nref : idx, i };
	}
	qsort(r, ns->n, sizeof(*r), rank_cmp);
	for (size_t i = 0; i < ns->n; i++)
		ns->v[i] = r[i].node;
	free(r);
}

/*
 * Upstream normalizeElementOrder + mergeSortedSlice: elements of `merged`
 * found in `order` come in that order; the others keep the order of
 * `server` and are interleaved before the first patch element that follows
 * them in `server`. Consumes `merged`, returns a new array.
 */
static cJSON *order_list(cJSON *merged, cJSON **order, size_t norder,
			 cJSON **server, size_t nserver, const char *key)
{
	struct nodes in = { 0 }, pat = { 0 }, only = { 0 };
	cJSON *out = cJSON_CreateArray();
	size_t i = 0, j = 0;

	while (merged->child)
		nodes_push(&in, cJSON_DetachItemViaPointer(merged, merged->child));
	cJSON_Delete(merged);
	for (size_t k = 0; k < in.n; k++) {
		if (index_in(order, norder, in.v[k], key) >= 0)
			nodes_push(&pat, in.v[k]);
		else
			nodes_push(&only, in.v[k]);
	}
	sort_by(&pat, order, norder, key);
	sort_by(&only, server, nserver, key);
	while (i < only.n || j < pat.n) {
		cJSON *pick;

		if (i >= only.n) {
			pick = pat.v[j++];
		} else if (j >= pat.n) {
			pick = only.v[i++];
		} else {
			long li = index_in(server, nserver, only.v[i], key);
			long ri = index_in(server, nserver, pat.v[j], key);

			pick = (li >= 0 && ri >= 0 && li < ri) ? only.v[i++] : pat.v[j++];
		}
		cJSON_AddItemToArray(out, pick);
	}
	free(in.v);
	free(pat.v);
	free(only.v);
	return out;
}

/* Removes every element of list whose merge key equals v. */
static int delete_matching(struct smp_ctx *c, cJSON *list, const char *key, const cJSON *v)
{
	cJSON *e = list->child;

	while (e) {
		cJSON *next = e->next;

		if (!cJSON_IsObject(e))
			return fail(c, -EINVAL, "value for key %s is not a map", key);
		if (scalar_eq(json_get(e, key), v))
			cJSON_Delete(cJSON_DetachItemViaPointer(list, e));
		e = next;
	}
	return 0;
}

static int find_by_key(struct smp_ctx *c, cJSON *list, const char *key, const cJSON *v,
		       cJSON **found)
{
	*found = NULL;
	for (cJSON *e = list->child; e; e = e->next) {
		if (!cJSON_IsObject(e))
			return fail(c, -EINVAL, "value for key %s is not a map", key);
		if (scalar_eq(json_get(e, key), v)) {
			*found = e;
			return 0;
		}
	}
	return 0;
}

/* Handles "$patch" list elements; fills `plain` with the other elements. */
static int special_elements(struct smp_ctx *c, cJSON *work, const cJSON *patch,
			    const char *key, struct nodes *plain, bool *replace)
{
	*replace = false;
	for (cJSON *p = patch->child; p; p = p->next) {
		const cJSON *d = json_get(p, DIRECTIVE);
		const char *ds = cJSON_IsString(d) ? d->valuestring : "";
		int ret;

		if (!d) {
			nodes_push(plain, p);
		} else if (!strcmp(ds, "delete")) {
			const cJSON *v = json_get(p, key);

			if (!v)
				return fail_no_key(c, p, key);
			ret = delete_matching(c, work, key, v);
			if (ret)
				return ret;
		} else if (!strcmp(ds, "replace")) {
			*replace = true;
		} else if (!strcmp(ds, "merge")) {
			return fail(c, -EINVAL, "merging lists cannot yet be specified in the patch");
		} else {
			return fail_bad_patch(c, d, p);
		}
	}
	return 0;
}

/*
 * Merges a list of objects by merge key into work. *replace is set when a
 * {"$patch": "replace"} element made the patch's elements the whole list
 * (in patch order: no reordering is due then).
 */
static int merge_object_list(struct smp_ctx *c, cJSON *work, const cJSON *patch,
			     const struct smp_field_meta *m, int depth, struct nodes *plain,
			     bool *replace)
{
	const char *key = m->merge_key;
	struct smp_field_meta im = { .node = items_node(c, m->node) };
	int ret;

	if (!key || !*key)
		return fail(c, -EINVAL, "cannot merge lists without merge key for type object");
	ret = special_elements(c, work, patch, key, plain, replace);
	if (ret)
		return ret;
	if (*replace) {
		while (work->child)
			cJSON_Delete(cJSON_DetachItemViaPointer(work, work->child));
	}
	for (size_t i = 0; i < plain->n; i++) {
		const cJSON *p = plain->v[i];
		const cJSON *v = json_get(p, key);
		cJSON *e, *repl = NULL;

		if (!v)
			return fail_no_key(c, p, key);
		ret = find_by_key(c, work, key, v, &e);
		if (!ret && e) {
			ret = merge_map(c, e, p, im.node, depth + 1, &repl);
			if (repl)
				cJSON_ReplaceItemViaPointer(work, e, repl);
		} else if (!ret) {
			ret = clean(c, p, &im, depth + 1, &repl);
			if (repl)
				cJSON_AddItemToArray(work, repl);
		}
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Upstream mergeSlice for a list field with the merge strategy. `orig` is
 * not modified; *out is the new list.
 */
static int merge_list(struct smp_ctx *c, const cJSON *orig, const cJSON *patch,
		      const struct smp_field_meta *m, int depth, cJSON **out)
{
	struct nodes plain = { 0 }, server = { 0 };
	cJSON *work = NULL, *ref = NULL;
	bool replace = false;
	enum kind k;
	int ret;

	*out = NULL;
	if (depth > SMP_MAX_DEPTH)
		return fail(c, -E2BIG, "patch nesting exceeds %d levels", SMP_MAX_DEPTH);
	ret = check_list_size(c, orig);
	if (!ret)
		ret = check_list_size(c, patch);
	if (!ret)
		ret = element_kind(c, orig, patch, &k);
	if (ret)
		return ret;
	work = cJSON_Duplicate(orig, 1);
	if (k == K_NONE) {
		*out = work;
		return 0;
	}
	if (k != K_OBJ) {
		nodes_of(&plain, patch);
		for (const cJSON *p = patch->child; p; p = p->next)
			cJSON_AddItemToArray(work, cJSON_Duplicate(p, 1));
		for (cJSON *e = work->child; e; ) {	/* dedupe, first wins */
			cJSON *next = e->next;

			for (cJSON *f = work->child; f != e; f = f->next) {
				if (scalar_eq(f, e)) {
					cJSON_Delete(cJSON_DetachItemViaPointer(work, e));
					break;
				}
			}
			e = next;
		}
		nodes_of(&server, orig);
		*out = order_list(work, plain.v, plain.n, server.v, server.n, NULL);
		goto out;
	}
	ret = merge_object_list(c, work, patch, m, depth, &plain, &replace);
	if (ret || replace) {
		if (ret)
			cJSON_Delete(work);
		else
			*out = work;
		goto out;
	}
	ref = cJSON_Duplicate(orig, 1);
	nodes_of(&server, ref);
	*out = order_list(work, plain.v, plain.n, server.v, server.n, m->merge_key);
out:
	cJSON_Delete(ref);
	free(plain.v);
	free(server.v);
	return ret;
}

/* "$retainKeys": drop original keys not listed; patch keys must be listed. */
static int retain_keys(struct smp_ctx *c, cJSON *orig, const cJSON *patch)
{
	const cJSON *rk = json_get(patch, RETAIN_KEYS);
	cJSON *e;

	if (!rk)
		return 0;
	if (!cJSON_IsArray(rk))
		return fail(c, -EINVAL, "invalid patch format of retainKeys");
	if (check_list_size(c, rk))
		return -E2BIG;
	for (const cJSON *p = patch->child; p; p = p->next) {
		bool listed = false;

		if (cJSON_IsNull(p) || !strcmp(p->string, RETAIN_KEYS) ||
		    str_has_prefix(p->string, DELETE_PRIM_PREFIX) ||
		    str_has_prefix(p->string, SET_ORDER_PREFIX))
			continue;
		for (const cJSON *k = rk->child; k && !listed; k = k->next)
			listed = cJSON_IsString(k) && !strcmp(k->valuestring, p->string);
		if (!listed)
			return fail(c, -EINVAL, "invalid patch format of retainKeys");
	}
	e = orig->child;
	while (e) {
		cJSON *next = e->next;
		bool listed = false;

		for (const cJSON *k = rk->child; k && !listed; k = k->next)
			listed = cJSON_IsString(k) && !strcmp(k->valuestring, e->string);
		if (!listed)
			cJSON_Delete(cJSON_DetachItemViaPointer(orig, e));
		e = next;
	}
	return 0;
}

static bool is_delete_elem(const cJSON *p)
{
	const cJSON *d = json_get(p, DIRECTIVE);

	return cJSON_IsString(d) && !strcmp(d->valuestring, "delete");
}

/* Upstream validatePatchWithSetOrderList. */
static int validate_order(struct smp_ctx *c, const cJSON *list, const cJSON *order,
			  const char *key)
{
	const cJSON *p = list ? list->child : NULL;
	const cJSON *o = order->child;

	while (p && o) {
		if ((key && is_delete_elem(p)) || json_get(p, DIRECTIVE)) {
			p = p->next;
			continue;
		}
		if (key && (!cJSON_IsObject(p) || !json_get(p, key)))
			return fail_no_key(c, p, key);
		if (key && (!cJSON_IsObject(o) || !json_get(o, key)))
			return fail_no_key(c, o, key);
		if (key ? scalar_eq(json_get(p, key), json_get(o, key)) : scalar_eq(p, o))
			p = p->next;
		o = o->next;
	}
	while (p && ((key && is_delete_elem(p)) || json_get(p, DIRECTIVE)))
		p = p->next;
	if (p && list->child) {
		char *bl = brief(list), *bo = brief(order);
		int ret = fail(c, -EINVAL, "the order in patch list: %s doesn't match "
			       "$setElementOrder list: %s", bl, bo);

		free(bl);
		free(bo);
		return ret;
	}
	return 0;
}

/* Merges and orders one "$setElementOrder/F" field (upstream mergePatchIntoOriginal). */
static int set_order_one(struct smp_ctx *c, cJSON *orig, const cJSON *patch,
			 const cJSON *order, const void *node, int depth)
{
	const char *f = order->string + strlen(SET_ORDER_PREFIX);
	cJSON *cur = json_get(orig, f), *merged = NULL;
	const cJSON *pl = json_get(patch, f);
	struct nodes ord = { 0 }, server = { 0 };
	struct smp_field_meta m;
	const char *key;
	enum kind k;
	int ret;

	if (!cJSON_IsArray(order))
		return fail(c, -EINVAL, "invalid patch format of setElementOrder list");
	if ((cur && !cJSON_IsArray(cur)) || (pl && !cJSON_IsArray(pl)))
		return fail(c, -EINVAL, "invalid type for the list of field %s", f);
	if (!cur && !pl)
		return 0;
	field_meta(c, node, f, &m);
	key = m.merge_key && *m.merge_key ? m.merge_key : NULL;
	ret = validate_order(c, pl, order, key);
	if (!ret)
		ret = element_kind(c, cur, pl, &k);
	if (!ret)
		ret = check_list_size(c, order);
	if (ret)
		return ret;
	if (cur && pl && (m.strategy & SMP_MERGE))
		ret = merge_list(c, cur, pl, &m, depth + 1, &merged);
	else if (pl)
		ret = clean(c, pl, &m, depth + 1, &merged);
	else
		merged = cJSON_Duplicate(cur, 1);
	if (ret)
		return ret;
	if (k == K_OBJ && !key) {
		json_set(orig, f, merged);
		return 0;
	}
	nodes_of(&ord, order);
	nodes_of(&server, cur);
	merged = order_list(merged, ord.v, ord.n, server.v, server.n, k == K_OBJ ? key : NULL);
	free(ord.v);
	free(server.v);
	json_set(orig, f, merged);
	return 0;
}

/* True when patch key `name` was consumed by a "$setElementOrder/name". */
static bool ordered_field(const cJSON *patch, const char *name)
{
	for (const cJSON *p = patch->child; p; p = p->next) {
		if (str_has_prefix(p->string, SET_ORDER_PREFIX) &&
		    !strcmp(p->string + strlen(SET_ORDER_PREFIX), name))
			return true;
	}
	return false;
}

/* "$deleteFromPrimitiveList/F": removes the listed scalars from F. */
static int delete_from_list(struct smp_ctx *c, cJSON *orig, const char *f, const cJSON *del)
{
	cJSON *cur = json_get(orig, f);

	if (!cJSON_IsArray(del))
		return fail(c, -EINVAL, "invalid patch format of primitive list");
	if (!cJSON_IsArray(cur))
		return 0;
	for (cJSON *e = cur->child; e; ) {
		cJSON *next = e->next;

		for (const cJSON *d = del->child; d; d = d->next) {
			if (scalar_eq(e, d)) {
				cJSON_Delete(cJSON_DetachItemViaPointer(cur, e));
				break;
			}
		}
		e = next;
	}
	return 0;
}

/* Merges patch value pv into orig[name], which exists. */
static int merge_field(struct smp_ctx *c, cJSON *orig, cJSON *cur, const cJSON *pv,
		       const struct smp_field_meta *m, int depth)
{
	cJSON *repl = NULL;
	int ret = 0;

	if (kind_of(cur) != kind_of(pv) || (cJSON_IsObject(pv) && (m->strategy & SMP_REPLACE)))
		ret = clean(c, pv, m, depth, &repl);
	else if (cJSON_IsObject(pv))
		ret = merge_map(c, cur, pv, m->node, depth, &repl);
	else if (cJSON_IsArray(pv) && (m->strategy & SMP_MERGE))
		ret = merge_list(c, cur, pv, m, depth, &repl);
	else
		repl = cJSON_Duplicate(pv, 1);
	if (repl)
		json_set(orig, pv->string, repl);
	return ret;
}

static int map_directive(struct smp_ctx *c, const cJSON *d, const cJSON *patch,
			 const void *node, int depth, cJSON **repl)
{
	cJSON *copy, *empty;
	int ret;

	if (cJSON_IsString(d) && !strcmp(d->valuestring, "delete")) {
		*repl = cJSON_CreateObject();
		return 0;
	}
	if (!cJSON_IsString(d) || strcmp(d->valuestring, "replace"))
		return fail_bad_patch(c, d, patch);
	copy = cJSON_Duplicate(patch, 1);
	cJSON_DeleteItemFromObjectCaseSensitive(copy, DIRECTIVE);
	empty = cJSON_CreateObject();
	ret = merge_map(c, empty, copy, node, depth + 1, repl);
	cJSON_Delete(copy);
	if (ret || *repl) {
		cJSON_Delete(empty);
		return ret;
	}
	*repl = empty;
	return 0;
}

/*
 * Upstream mergeMap. Merges patch into orig in place; when the whole map
 * is replaced (a "$patch" directive), *repl is the replacement instead and
 * orig is left for the caller to drop.
 */
static int merge_map(struct smp_ctx *c, cJSON *orig, const cJSON *patch,
		     const void *node, int depth, cJSON **repl)
{
	const cJSON *d = json_get(patch, DIRECTIVE);
	size_t n_orders = 0;
	int ret;

	*repl = NULL;
	if (depth > SMP_MAX_DEPTH)
		return fail(c, -E2BIG, "patch nesting exceeds %d levels", SMP_MAX_DEPTH);
	if (d)
		return map_directive(c, d, patch, node, depth, repl);
	ret = retain_keys(c, orig, patch);
	for (const cJSON *p = patch->child; p && !ret; p = p->next) {
		if (str_has_prefix(p->string, SET_ORDER_PREFIX)) {
			ret = set_order_one(c, orig, patch, p, node, depth);
			n_orders++;
		}
	}
	for (const cJSON *p = patch->child; p && !ret; p = p->next) {
		const char *k = p->string;
		struct smp_field_meta m;
		cJSON *cur, *v = NULL;

		if (!strcmp(k, RETAIN_KEYS) || str_has_prefix(k, SET_ORDER_PREFIX) ||
		    (n_orders && ordered_field(patch, k)))
			continue;
		if (str_has_prefix(k, DELETE_PRIM_PREFIX)) {
			if (cJSON_IsNull(p))
				cJSON_DeleteItemFromObjectCaseSensitive(orig,
						k + strlen(DELETE_PRIM_PREFIX));
			else
				ret = delete_from_list(c, orig, k + strlen(DELETE_PRIM_PREFIX), p);
			continue;
		}
		cur = json_get(orig, k);
		if (cJSON_IsNull(p)) {
			if (cur)
				cJSON_DeleteItemFromObjectCaseSensitive(orig, k);
			continue;
		}
		field_meta(c, node, k, &m);
		if (cur) {
			ret = merge_field(c, orig, cur, p, &m, depth + 1);
			continue;
		}
		ret = clean(c, p, &m, depth + 1, &v);
		if (v)
			cJSON_AddItemToObject(orig, k, v);
	}
	return ret;
}

int smp_apply(const cJSON *doc, const cJSON *patch, const struct smp_schema *schema,
	      cJSON **out, char **err)
{
	struct smp_ctx c = { .s = schema, .err = err };
	cJSON *res, *repl = NULL;
	int ret;

	*out = NULL;
	*err = NULL;
	if (!cJSON_IsObject(patch)) {
		*err = xstrdup("invalid JSON document: a strategic merge patch must be an object");
		return -EINVAL;
	}
	if (doc && !cJSON_IsObject(doc)) {
		*err = xstrdup("invalid JSON document: the document must be an object");
		return -EINVAL;
	}
	res = doc ? cJSON_Duplicate(doc, 1) : cJSON_CreateObject();
	ret = merge_map(&c, res, patch, schema ? schema->root : NULL, 1, &repl);
	if (repl) {
		cJSON_Delete(res);
		res = repl;
	}
	if (ret) {
		cJSON_Delete(res);
		return ret;
	}
	*out = res;
	return 0;
}

int smp_parse_strategy(const char *s, unsigned *out)
{
	static const struct { const char *name; unsigned bit; } tab[] = {
		{ "merge", SMP_MERGE },
		{ "retainKeys", SMP_RETAIN_KEYS },
		{ "replace", SMP_REPLACE },
	};
	unsigned bits = 0;

	while (s && *s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		size_t i;

		for (i = 0; i < ARRAY_SIZE(tab); i++) {
			if (strlen(tab[i].name) == n && !strncmp(tab[i].name, s, n))
				break;
		}
		if (i == ARRAY_SIZE(tab))
			return -EINVAL;
		bits |= tab[i].bit;
		s += n + (comma ? 1 : 0);
	}
	*out = bits;
	return 0;
}
