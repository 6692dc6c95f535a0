/*
 * lib/smp.h - strategic merge patch (application/strategic-merge-patch+json),
 * applied as kube-apiserver applies it to built-in kinds.
 *
 * The algorithm knows nothing of the schema engine: the caller hands it a
 * cursor over its schema as a struct smp_schema (ops + context + root node).
 * A schema node is an opaque `const void *`; NULL means "no schema
 * information here", and everything below a NULL node is patched like a
 * JSON merge patch (maps merge, lists replace), directives still honoured.
 *
 * Semantics (upstream k8s.io/apimachinery/pkg/util/strategicpatch):
 *  - objects merge key by key; a null value deletes the key;
 *  - a key absent from the document takes the patch value, cleaned of
 *    directives and nulls (as if merged into an empty value);
 *  - a value whose JSON type differs from the document's replaces it;
 *  - lists replace, unless the field's strategy has SMP_MERGE:
 *      * lists of objects merge element by element on meta.merge_key
 *        (elements of the patch not in the document are appended in patch
 *        order); every element must carry the merge key;
 *      * lists of scalars become the union (document order first,
 *        duplicates removed);
 *    and then the result is ordered: patch elements in patch order, document-
 *    only elements keep their relative document order, interleaved after the
 *    patch element that preceded them in the document;
 *  - directives:
 *      "$patch": "replace"   in an object: the object replaces the original
 *                            (minus the directive); as a list element: the
 *                            list becomes the patch's other elements
 *      "$patch": "delete"    in an object: the object becomes {} ; as a
 *                            list element {mergeKey: v, "$patch": "delete"}:
 *                            removes every document element with that key
 *      "$patch": "merge"     refused, as upstream refuses it: in a list
 *                            element "merging lists cannot yet be specified
 *                            in the patch", in an object "unknown patch type"
 *      "$retainKeys": [k...] keys of the original object not listed are
 *                            removed; every non-null patch key must be listed
 *      "$setElementOrder/F": [...] final order of merge list F (objects
 *                            holding only the merge key, or scalars); the
 *                            patch elements must appear in that order
 *      "$deleteFromPrimitiveList/F": [...] scalars removed from list F
 *                            (whatever F's strategy; an absent F stays
 *                            absent, where upstream would store the list)
 *  - any other key beginning with '$' is kept as data (upstream does the
 *    same; the schema engine prunes it).
 *
 * Errors: a malformed directive or a list element without its merge key is
 * -EINVAL with an upstream-worded message in *err (kube-apiserver answers
 * these with 422 / 400 as its own code does; the caller decides).
 *
 * Limits: SMP_MAX_DEPTH nesting levels of the patch (-E2BIG), and list
 * merges are quadratic only up to SMP_MAX_LIST elements per list (-E2BIG
 * beyond), so a hostile patch cannot burn the loop.
 *
 * The input document and patch are never modified; the result is new.
 */
#ifndef K1S_LIB_SMP_H
#define K1S_LIB_SMP_H

#include <cjson/cJSON.h>

#define SMP_MAX_DEPTH	100	/* levels of nested objects/lists in the patch */
#define SMP_MAX_LIST	4096	/* elements of one merged list (document or patch) */

/* Bits of smp_field_meta.strategy: upstream's patchStrategy tag values. */
enum {
	SMP_MERGE	= 1 << 0,	/* "merge": merge lists (by key / union) */
	SMP_RETAIN_KEYS	= 1 << 1,	/* "retainKeys": honour $retainKeys */
	SMP_REPLACE	= 1 << 2,	/* "replace": objects are replaced too */
};

/* What the schema says about one field of an object. */
struct smp_field_meta {
	unsigned strategy;	/* SMP_* bits; 0 = default (merge maps, replace lists) */
	/*
	 * patchMergeKey / x-kubernetes-patch-merge-key of a list field, e.g.
	 * "name" for containers, "containerPort" for ports; NULL when none.
	 * Must stay valid for the duration of smp_apply().
	 */
	const char *merge_key;
	/*
	 * Schema node of the field's value (object, map, list or scalar), or
	 * NULL when unknown. For a list it is the list node: elements are
	 * reached through ops->items().
	 */
	const void *node;
};

struct smp_schema_ops {
	/*
	 * Describes field `name` of an object whose schema node is `node`
	 * (never NULL here). Returns 0 and fills *meta, or -ENOENT when the
	 * schema has no such field (it is then patched without schema
	 * information). For a map type (additionalProperties) return the
	 * value schema for every name, with strategy 0.
	 */
	int (*field)(void *ctx, const void *node, const char *name,
		     struct smp_field_meta *meta);
	/* Schema node of the elements of list node `node`; NULL if unknown. */
	const void *(*items)(void *ctx, const void *node);
};

struct smp_schema {
	const struct smp_schema_ops *ops;	/* NULL: no schema at all */
	void *ctx;				/* passed to every op */
	const void *root;			/* node of the whole document */
};

/*
 * Applies strategic merge patch `patch` (must be a JSON object) to `doc`
 * (an object; NULL means {}). schema may be NULL (merge-patch semantics with
 * directives). On success returns 0 and *out is a new document the caller
 * frees with cJSON_Delete(). On failure returns -EINVAL (bad patch or
 * directive) or -E2BIG (a limit), *err is a malloc'd message the caller
 * frees, and *out is NULL.
 */
int smp_apply(const cJSON *doc, const cJSON *patch, const struct smp_schema *schema,
	      cJSON **out, char **err);

/*
 * Parses an upstream patchStrategy tag ("merge", "retainKeys",
 * "merge,retainKeys", "replace", "") into SMP_* bits. -EINVAL when unknown.
 * For adapters that read x-kubernetes-patch-strategy.
 */
int smp_parse_strategy(const char *s, unsigned *out);

#endif
