/*
 * Fuzz target for lib/jsonpatch, lib/mergepatch and lib/smp.
 *
 * Input: one selector byte (which algorithm), then the document and the
 * patch separated by the first NUL byte (no NUL: the document is {}).
 * Checks that nothing crashes or leaks, that the input document is never
 * modified, and that a failure always comes with a message and no output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "lib/json.h"
#include "lib/jsonpatch.h"
#include "lib/mergepatch.h"
#include "lib/smp.h"
#include "lib/util.h"

/* A small schema: containers merged by name, env by name, ports by port. */
struct node {
	const char *name;
	unsigned strategy;
	const char *key;
	const struct node *children;	/* fields; NULL-named entry ends */
	const struct node *items;
};

static const struct node leaf[] = { { NULL, 0, NULL, NULL, NULL } };
static const struct node container_fields[] = {
	{ "env", SMP_MERGE, "name", NULL, leaf },
	{ "ports", SMP_MERGE, "containerPort", NULL, leaf },
	{ NULL, 0, NULL, NULL, NULL },
};
static const struct node container[] = {
	{ "container", 0, NULL, container_fields, NULL },
};
static const struct node spec_fields[] = {
	{ "containers", SMP_MERGE, "name", NULL, container },
	{ "finalizers", SMP_MERGE, NULL, NULL, leaf },
	{ "strategy", SMP_RETAIN_KEYS, NULL, leaf, NULL },
	{ "volumes", SMP_MERGE | SMP_RETAIN_KEYS, "name", NULL, leaf },
	{ "template", SMP_REPLACE, NULL, leaf, NULL },
	{ NULL, 0, NULL, NULL, NULL },
};
static const struct node root_fields[] = {
	{ "spec", 0, NULL, spec_fields, NULL },
	{ "metadata", 0, NULL, spec_fields, NULL },
	{ NULL, 0, NULL, NULL, NULL },
};
static const struct node root[] = { { "root", 0, NULL, root_fields, NULL } };

static int f_field(void *ctx, const void *n, const char *name, struct smp_field_meta *m)
{
	const struct node *nd = n;

	for (const struct node *f = nd->children; f && f->name; f++) {
		if (!strcmp(f->name, name)) {
			m->strategy = f->strategy;
			m->merge_key = f->key;
			m->node = f;
			return 0;
		}
	}
	return -ENOENT;
}

static const void *f_items(void *ctx, const void *n)
{
	return ((const struct node *)n)->items;
}

static const struct smp_schema_ops ops = { f_field, f_items };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smp_schema schema = { &ops, NULL, root };
	const char *s = (const char *)data + 1;
	const char *nul;
	cJSON *doc, *patch, *out = NULL;
	char *before, *after, *err = NULL;
	size_t n;
	int ret;

	if (size < 2 || size > 65536)
		return 0;
	n = size - 1;
	nul = memchr(s, '\0', n);
	if (nul) {
		doc = cJSON_ParseWithLength(s, (size_t)(nul - s));
		patch = cJSON_ParseWithLength(nul + 1, n - (size_t)(nul - s) - 1);
	} else {
		doc = cJSON_CreateObject();
		patch = cJSON_ParseWithLength(s, n);
	}
	if (!doc || !patch)
		goto out;
	before = json_print(doc);
	switch (data[0] % 4) {
	case 0:
		ret = jsonpatch_apply(doc, patch, &out, &err);
		break;
	case 1:
		ret = mergepatch_apply(doc, patch, &out, &err);
		break;
	case 2:
		ret = smp_apply(doc, patch, &schema, &out, &err);
		break;
	default:
		ret = smp_apply(doc, patch, NULL, &out, &err);
		break;
	}
	after = json_print(doc);
	if (strcmp(before, after))
		BUG("input document modified");
	if (ret && (out || !err))
		BUG("failure without message or with output");
	if (!ret && !out)
		BUG("success without output");
	if (out)
		free(json_print(out));
	free(before);
	free(after);
out:
	free(err);
	cJSON_Delete(out);
	cJSON_Delete(doc);
	cJSON_Delete(patch);
	return 0;
}
