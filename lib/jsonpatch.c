/*
 * lib/jsonpatch.c - RFC 6902 JSON Patch (see jsonpatch.h).
 *
 * Every operation runs against a private copy of the document; the copy is
 * handed out only when all operations succeeded. Error texts follow
 * evanphx/json-patch v4 (what kube-apiserver returns), lowercased where
 * they are ours.
 */
#include "jsonpatch.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

struct jp_ctx {
	cJSON *doc;		/* the working copy; may be replaced (root ops) */
	size_t growth;		/* nodes added so far */
	size_t work;		/* array elements walked so far */
	char **err;
};

/* Decodes one reference token ("~0" -> '~', "~1" -> '/') into out. */
static int token_decode(const char *s, size_t n, char *out)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '~') {
			out[j++] = s[i];
			continue;
		}
		if (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1'))
			return -EINVAL;
		out[j++] = s[i + 1] == '0' ? '~' : '/';
		i++;
	}
	out[j] = '\0';
	return 0;
}

/*
 * Parses an array index token: digits (or "-N" counting from the end, as
 * evanphx v4 allows). *idx is normalised into [0, size]; add allows size.
 */
static int array_index(const char *tok, int size, bool for_add, int *idx)
{
	long v;
	char *end;
	int max = for_add ? size : size - 1;

	if (!*tok || (tok[0] != '-' && (tok[0] < '0' || tok[0] > '9')))
		return -EINVAL;
	errno = 0;
	v = strtol(tok, &end, 10);
	if (*end || errno || v > INT_MAX || v < -(long)INT_MAX)
		return -EINVAL;
	if (v < 0)
		v += size;
	if (v < 0 || v > max)
		return -ERANGE;
	*idx = (int)v;
	return 0;
}

/* container[tok]; *work counts the array elements walked (cJSON lists). */
static cJSON *child_of(cJSON *c, const char *tok, size_t *work)
{
	int idx;

	if (cJSON_IsObject(c))
		return json_get(c, tok);
	if (cJSON_IsArray(c) && !array_index(tok, cJSON_GetArraySize(c), false, &idx)) {
		*work += (size_t)idx + 1;
		return cJSON_GetArrayItem(c, idx);
	}
	return NULL;
}

/*
 * Splits pointer into its parent container and last token (decoded into
 * key, JSONPATCH_MAX_POINTER + 1 bytes). Returns the container or NULL when
 * the pointer is malformed or a step is missing.
 */
static cJSON *find_parent(cJSON *doc, const char *ptr, char *key, size_t *work)
{
	cJSON *cur = doc;
	const char *p;

	if (!ptr || ptr[0] != '/' || strlen(ptr) > JSONPATCH_MAX_POINTER)
		return NULL;
	p = ptr + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (token_decode(p, n, key))
			return NULL;
		if (!slash)
			return (cJSON_IsObject(cur) || cJSON_IsArray(cur)) ? cur : NULL;
		cur = child_of(cur, key, work);
		if (!cur)
			return NULL;
		p = slash + 1;
	}
}

cJSON *jsonpatch_get(const cJSON *doc, const char *pointer)
{
	char key[JSONPATCH_MAX_POINTER + 1];
	size_t work = 0;
	cJSON *parent;

	if (!pointer)
		return NULL;
	if (!*pointer)
		return (cJSON *)doc;
	parent = find_parent((cJSON *)doc, pointer, key, &work);
	return parent ? child_of(parent, key, &work) : NULL;
}

static size_t count_nodes(const cJSON *v, size_t limit)
{
	size_t n = 1;

	for (const cJSON *c = v->child; c && n <= limit; c = c->next)
		n += count_nodes(c, limit - n);
	return n;
}

static int depth_of(const cJSON *v, int limit)
{
	int d = 0;

	if (limit < 0)
		return 1;
	for (const cJSON *c = v->child; c; c = c->next) {
		int cd = depth_of(c, limit - 1);

		if (cd > d)
			d = cd;
		if (d > limit)
			break;
	}
	return d + 1;
}

/* Accounts for `v` being added to the document. */
static int grow(struct jp_ctx *c, const cJSON *v)
{
	size_t left = JSONPATCH_MAX_GROWTH - c->growth;
	size_t n = count_nodes(v, left);

	if (n > left) {
		*c->err = xasprintf("the patch would grow the document by more than %d nodes",
				    JSONPATCH_MAX_GROWTH);
		return -E2BIG;
	}
	c->growth += n;
	return 0;
}

/*
 * Links v in before the idx-th element of arr (which exists). Done by hand:
 * cJSON_InsertItemInArray of Debian's cJSON 1.7.15 refuses valid inserts.
 * cJSON keeps child->prev pointing at the last element.
 */
static void insert_at(cJSON *arr, int idx, cJSON *v)
{
	cJSON *after = cJSON_GetArrayItem(arr, idx);

	v->next = after;
	v->prev = after->prev;
	if (after == arr->child)
		arr->child = v;
	else
		after->prev->next = v;
	after->prev = v;
}

/* Inserts `v` (owned) at container[key]; object keys are replaced. */
static int put(struct jp_ctx *c, cJSON *parent, const char *key, cJSON *v,
	       const char *path)
{
	int idx, size, levels = 0;

	for (const char *q = path; *q; q++)
		levels += *q == '/';
	if (levels + depth_of(v, JSONPATCH_MAX_DEPTH) > JSONPATCH_MAX_DEPTH + 1) {
		*c->err = xasprintf("the patched document would nest deeper than %d levels",
				    JSONPATCH_MAX_DEPTH);
		cJSON_Delete(v);
		return -E2BIG;
	}
	if (cJSON_IsObject(parent)) {
		json_set(parent, key, v);
		return 0;
	}
	size = cJSON_GetArraySize(parent);
	if (!strcmp(key, "-")) {
		idx = size;
	} else if (array_index(key, size, true, &idx)) {
		*c->err = xasprintf("error in add for path: '%s': unable to access invalid "
				    "index: %s: invalid index referenced", path, key);
		cJSON_Delete(v);
		return -EINVAL;
	}
	c->work += (size_t)idx + 1;
	if (idx == size)
		cJSON_AddItemToArray(parent, v);
	else
		insert_at(parent, idx, v);
	return 0;
}

static const char *op_str(const cJSON *op, const char *name)
{
	return json_get_str(op, name, NULL);
}

/* A copy of the operation's "value" (null when absent), without its key. */
static cJSON *op_value(const cJSON *op)
{
	cJSON *v = json_get(op, "value");

	if (!v)
		return cJSON_CreateNull();
	v = cJSON_Duplicate(v, 1);
	if (!(v->type & cJSON_StringIsConst))
		free(v->string);
	v->string = NULL;
	return v;
}

static int op_add(struct jp_ctx *c, const cJSON *op, const char *path)
{
	char key[JSONPATCH_MAX_POINTER + 1];
	cJSON *parent = find_parent(c->doc, path, key, &c->work);
	int ret;

	if (!parent) {
		*c->err = xasprintf("add operation does not apply: doc is missing path: "
				    "\"%s\": missing value", path);
		return -EINVAL;
	}
	ret = grow(c, json_get(op, "value") ? json_get(op, "value") : op);
	if (ret)
		return ret;
	return put(c, parent, key, op_value(op), path);
}

/* Detaches container[key]; NULL when absent. */
static cJSON *take(cJSON *parent, const char *key, size_t *work)
{
	int idx;

	if (cJSON_IsObject(parent))
		return cJSON_DetachItemFromObjectCaseSensitive(parent, key);
	if (array_index(key, cJSON_GetArraySize(parent), false, &idx))
		return NULL;
	*work += (size_t)idx + 1;
	return cJSON_DetachItemFromArray(parent, idx);
}

static int op_remove(struct jp_ctx *c, const char *path)
{
	char key[JSONPATCH_MAX_POINTER + 1];
	cJSON *parent = find_parent(c->doc, path, key, &c->work);
	cJSON *v;

	if (!parent) {
		*c->err = xasprintf("remove operation does not apply: doc is missing path: "
				    "\"%s\": missing value", path);
		return -EINVAL;
	}
	v = take(parent, key, &c->work);
	if (!v) {
		*c->err = xasprintf("error in remove for path: '%s': unable to remove "
				    "nonexistent key: %s: missing value", path, key);
		return -EINVAL;
	}
	cJSON_Delete(v);
	return 0;
}

static int op_replace(struct jp_ctx *c, const cJSON *op, const char *path)
{
	char key[JSONPATCH_MAX_POINTER + 1];
	cJSON *parent = find_parent(c->doc, path, key, &c->work);
	cJSON *old;
	int ret;

	if (!parent) {
		*c->err = xasprintf("replace operation does not apply: doc is missing path: "
				    "%s: missing value", path);
		return -EINVAL;
	}
	old = child_of(parent, key, &c->work);
	if (!old) {
		*c->err = xasprintf("replace operation does not apply: doc is missing key: "
				    "%s: missing value", path);
		return -EINVAL;
	}
	ret = grow(c, json_get(op, "value") ? json_get(op, "value") : op);
	if (ret)
		return ret;
	if (cJSON_IsObject(parent))
		json_set(parent, key, op_value(op));
	else
		cJSON_ReplaceItemViaPointer(parent, old, op_value(op));
	return 0;
}

/* True when `path` lies strictly inside `from` ("/a" and "/a/b"). */
static bool is_inside(const char *from, const char *path)
{
	size_t n = strlen(from);

	return !strncmp(from, path, n) && path[n] == '/';
}

static int op_move_copy(struct jp_ctx *c, const cJSON *op, const char *path, bool copy)
{
	const char *name = copy ? "copy" : "move";
	char key[JSONPATCH_MAX_POINTER + 1];
	const char *from = op_str(op, "from");
	cJSON *parent, *v;
	int ret;

	if (!from) {
		*c->err = xasprintf("%s operation failed to decode from", name);
		return -EINVAL;
	}
	parent = find_parent(c->doc, from, key, &c->work);
	v = parent ? child_of(parent, key, &c->work) : NULL;
	if (!v) {
		*c->err = xasprintf("%s operation does not apply: doc is missing from path: "
				    "%s: missing value", name, from);
		return -EINVAL;
	}
	if (!copy && is_inside(from, path)) {
		*c->err = xasprintf("move operation does not apply: cannot move %s into "
				    "its own child %s", from, path);
		return -EINVAL;
	}
	if (copy) {
		ret = grow(c, v);
		if (ret)
			return ret;
		v = cJSON_Duplicate(v, 1);
	} else {
		v = cJSON_DetachItemViaPointer(parent, v);
	}
	parent = find_parent(c->doc, path, key, &c->work);
	if (!parent) {
		cJSON_Delete(v);
		*c->err = xasprintf("%s operation does not apply: doc is missing destination "
				    "path: %s: missing value", name, path);
		return -EINVAL;
	}
	return put(c, parent, key, v, path);
}

static int op_test(struct jp_ctx *c, const cJSON *op, const char *path)
{
	char key[JSONPATCH_MAX_POINTER + 1];
	cJSON *parent = find_parent(c->doc, path, key, &c->work);
	cJSON *want = json_get(op, "value");
	cJSON *have;

	if (!path[0]) {
		have = c->doc;
	} else {
		if (!parent) {
			*c->err = xasprintf("test operation does not apply: is missing path: %s",
					    path);
			return -EINVAL;
		}
		have = child_of(parent, key, &c->work);
	}
	if (!have && (!want || cJSON_IsNull(want)))
		return 0;
	if (have && want) {
		/* comparing objects is quadratic in their sizes: pay for it first */
		size_t nw = count_nodes(want, JSONPATCH_MAX_WORK);
		size_t nh = count_nodes(have, JSONPATCH_MAX_WORK / nw + 1);

		c->work += nw * nh;
		if (c->work > JSONPATCH_MAX_WORK)
			return 0;	/* jsonpatch_apply reports the limit */
		if (json_equal(have, want))
			return 0;
	}
	*c->err = xasprintf("testing value %s failed: test failed", path);
	return -EINVAL;
}

static int apply_one(struct jp_ctx *c, const cJSON *op)
{
	const char *kind = op_str(op, "op");
	const char *path = op_str(op, "path");

	if (!kind) {
		*c->err = xstrdup("unexpected kind: unknown: unknown object type");
		return -EINVAL;
	}
	if (!path) {
		*c->err = xasprintf("%s operation failed to decode path", kind);
		return -EINVAL;
	}
	if (strlen(path) > JSONPATCH_MAX_POINTER) {
		*c->err = xasprintf("JSON pointer longer than %d bytes", JSONPATCH_MAX_POINTER);
		return -E2BIG;
	}
	if (!strcmp(kind, "add"))
		return op_add(c, op, path);
	if (!strcmp(kind, "remove"))
		return op_remove(c, path);
	if (!strcmp(kind, "replace"))
		return op_replace(c, op, path);
	if (!strcmp(kind, "move"))
		return op_move_copy(c, op, path, false);
	if (!strcmp(kind, "copy"))
		return op_move_copy(c, op, path, true);
	if (!strcmp(kind, "test"))
		return op_test(c, op, path);
	*c->err = xasprintf("unexpected kind: %s: unknown object type", kind);
	return -EINVAL;
}

int jsonpatch_apply(const cJSON *doc, const cJSON *patch, cJSON **out, char **err)
{
	struct jp_ctx c = { .err = err };
	int n, ret = 0;

	*out = NULL;
	if (!cJSON_IsArray(patch)) {
		*err = xstrdup("invalid JSON Patch: the patch must be an array of operations");
		return -EBADMSG;
	}
	n = cJSON_GetArraySize(patch);
	if (n > JSONPATCH_MAX_OPS) {
		*err = xasprintf("The allowed maximum operations in a JSON patch is %d, got %d",
				 JSONPATCH_MAX_OPS, n);
		return -E2BIG;
	}
	for (const cJSON *op = patch->child; op; op = op->next) {
		if (!cJSON_IsObject(op)) {
			*err = xstrdup("invalid JSON Patch: every operation must be an object");
			return -EBADMSG;
		}
	}
	c.doc = doc ? cJSON_Duplicate(doc, 1) : cJSON_CreateNull();
	for (const cJSON *op = patch->child; op; op = op->next) {
		ret = apply_one(&c, op);
		if (!ret && c.work > JSONPATCH_MAX_WORK) {
			*err = xasprintf("the patch walks more than %d array elements",
					 JSONPATCH_MAX_WORK);
			ret = -E2BIG;
		}
		if (ret)
			goto out;
	}
	*out = c.doc;
	c.doc = NULL;
out:
	cJSON_Delete(c.doc);
	return ret;
}
