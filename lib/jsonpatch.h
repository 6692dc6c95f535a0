/*
 * lib/jsonpatch.h - RFC 6902 JSON Patch, with kube-apiserver's semantics.
 *
 * A patch is a JSON array of operation objects: add, remove, replace, move,
 * copy, test. Paths are RFC 6901 JSON pointers ("/a/b~1c/0", "~0" is '~',
 * "~1" is '/'); "-" names the end of an array (add only). As in
 * evanphx/json-patch v4 (which kube-apiserver uses), a negative array index
 * counts from the end (-1 is the last element).
 *
 * Atomicity: jsonpatch_apply() never touches the input document. It works on
 * a copy and hands the copy back only when every operation succeeded, so on
 * error the caller's document is unchanged.
 *
 * Limits (a patch beyond them is refused with -E2BIG and a message):
 *   JSONPATCH_MAX_OPS      operations in one patch (kube-apiserver: 10000)
 *   JSONPATCH_MAX_GROWTH   JSON nodes that add/replace/copy may create in
 *                          total; bounds the output of "copy /a to /a/b"
 *                          doubling tricks
 *   JSONPATCH_MAX_POINTER  bytes of one JSON pointer
 *   JSONPATCH_MAX_DEPTH    depth (path levels + value depth) at which
 *                          add/copy/move may place a value
 *   JSONPATCH_MAX_WORK     array elements walked by all pointers together
 *                          (cJSON arrays are lists: "/a/99999" costs 10^5)
 *
 * Error messages are lowercase, one line, and name the operation and path,
 * e.g. "remove operation does not apply: doc is missing path: \"/a/b\"".
 */
#ifndef K1S_LIB_JSONPATCH_H
#define K1S_LIB_JSONPATCH_H

#include <cjson/cJSON.h>

#define JSONPATCH_MAX_OPS	10000
#define JSONPATCH_MAX_GROWTH	(1 << 18)	/* JSON nodes */
#define JSONPATCH_MAX_POINTER	4096		/* bytes */
#define JSONPATCH_MAX_DEPTH	200		/* levels */
#define JSONPATCH_MAX_WORK	(1 << 26)	/* array elements walked */

/*
 * Applies `patch` (a JSON array of operations) to `doc`.
 * On success returns 0 and *out is a new document the caller frees with
 * cJSON_Delete(). On failure *out is NULL, *err is a malloc'd one-line
 * message (caller frees) and the return value maps to kube-apiserver's
 * status code:
 *   -EBADMSG  the patch is not an array of objects          (400 Bad Request)
 *   -E2BIG    more than JSONPATCH_MAX_OPS operations, or a
 *             growth/depth/pointer limit was hit             (413 Too Large)
 *   -EINVAL   an operation does not apply, is unknown or
 *             lacks a member, or a "test" failed           (422 Unprocessable)
 * `doc` is never modified.
 */
int jsonpatch_apply(const cJSON *doc, const cJSON *patch, cJSON **out, char **err);

/*
 * Resolves a JSON pointer against doc (read-only). Returns the node or NULL
 * when the pointer is malformed or names nothing. "" is the whole document.
 */
cJSON *jsonpatch_get(const cJSON *doc, const char *pointer);

#endif
