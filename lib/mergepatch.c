/*
 * lib/mergepatch.c - RFC 7386 JSON Merge Patch (see mergepatch.h).
 */
#include "mergepatch.h"

#include <errno.h>
#include <string.h>

#include "json.h"
#include "util.h"

/* A copy of v with every null member of every nested object dropped. */
static cJSON *copy_without_nulls(const cJSON *v)
{
	cJSON *out;

	if (!cJSON_IsObject(v))
		return cJSON_Duplicate(v, 1);
	out = cJSON_CreateObject();
	for (const cJSON *c = v->child; c; c = c->next) {
		if (cJSON_IsNull(c))
			continue;
		cJSON_AddItemToObject(out, c->string, copy_without_nulls(c));
	}
	return out;
}

int mergepatch_merge_into(cJSON *target, const cJSON *patch, int depth, char **err)
{
	if (!cJSON_IsObject(target) || !cJSON_IsObject(patch)) {
		*err = xstrdup("merge patch: target and patch must be objects");
		return -EINVAL;
	}
	if (depth > MERGEPATCH_MAX_DEPTH) {
		*err = xasprintf("merge patch nesting exceeds %d levels", MERGEPATCH_MAX_DEPTH);
		return -E2BIG;
	}
	for (const cJSON *p = patch->child; p; p = p->next) {
		cJSON *cur = json_get(target, p->string);
		int ret;

		if (cJSON_IsNull(p)) {
			if (cur)
				cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
			continue;
		}
		if (!cJSON_IsObject(p)) {
			json_set(target, p->string, cJSON_Duplicate(p, 1));
			continue;
		}
		if (!cJSON_IsObject(cur)) {
			cur = cJSON_CreateObject();
			json_set(target, p->string, cur);
		}
		ret = mergepatch_merge_into(cur, p, depth + 1, err);
		if (ret)
			return ret;
	}
	return 0;
}

int mergepatch_apply(const cJSON *doc, const cJSON *patch, cJSON **out, char **err)
{
	cJSON *res;
	int ret;

	*out = NULL;
	if (!patch) {
		*err = xstrdup("invalid JSON merge patch");
		return -EINVAL;
	}
	if (!cJSON_IsObject(patch)) {
		*out = copy_without_nulls(patch);
		return 0;
	}
	res = cJSON_IsObject(doc) ? cJSON_Duplicate(doc, 1) : cJSON_CreateObject();
	ret = mergepatch_merge_into(res, patch, 1, err);
	if (ret) {
		cJSON_Delete(res);
		return ret;
	}
	*out = res;
	return 0;
}
