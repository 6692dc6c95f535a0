/*
 * lib/mergepatch.h - RFC 7386 JSON Merge Patch.
 *
 * A patch object is merged into the target object key by key: a null value
 * deletes the key, an object value merges recursively (creating the key as
 * an empty object first when it is absent or not an object), any other value
 * (arrays included) replaces. A patch that is not an object replaces the
 * whole document. Null members inside a value that is *added* (not merged)
 * are dropped, as RFC 7386 specifies.
 *
 * The input document is never modified: the result is a new document, so an
 * error leaves the caller's document as it was.
 *
 * Limits: MERGEPATCH_MAX_DEPTH levels of nested objects in the patch
 * (-E2BIG beyond).
 */
#ifndef K1S_LIB_MERGEPATCH_H
#define K1S_LIB_MERGEPATCH_H

#include <cjson/cJSON.h>

#define MERGEPATCH_MAX_DEPTH	200	/* levels */

/*
 * Applies `patch` to `doc` (doc may be NULL: treated as absent). On success
 * returns 0 and *out is a new document the caller frees with cJSON_Delete().
 * On failure returns -E2BIG, *err is a malloc'd message (caller frees) and
 * *out is NULL.
 */
int mergepatch_apply(const cJSON *doc, const cJSON *patch, cJSON **out, char **err);

/*
 * Merges `patch` into `target` in place (target must be an object; a
 * non-object patch is not accepted here: -EINVAL). Used by smp for fields
 * with no schema information. On error target may be partly merged, so
 * callers that need atomicity work on a copy (mergepatch_apply does).
 */
int mergepatch_merge_into(cJSON *target, const cJSON *patch, int depth, char **err);

#endif
