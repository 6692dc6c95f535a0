/*
 * server/controllers/ctrl.c - the small framework shared by controllers:
 * batches of internal calls that end one reconcile, and the pure helpers
 * (pod-template-hash, owner references, label selectors).
 */
#include "ctrl_priv.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/selector.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ctrl_batch {
	struct wq *q;
	char *key;
	int refs;
	int err;
};

struct ctrl_batch *ctrl_batch_new(struct wq *q, const char *key)
{
	struct ctrl_batch *b = xcalloc(1, sizeof(*b));

	b->q = q;
	b->key = xstrdup(key);
	b->refs = 1;
	return b;
}

void *ctrl_batch_hold(struct ctrl_batch *b)
{
	b->refs++;
	return b;
}

void ctrl_batch_fail(struct ctrl_batch *b)
{
	b->err = -EAGAIN;
}

void ctrl_batch_end(struct ctrl_batch *b)
{
	if (--b->refs)
		return;
	wq_done(b->q, b->key, b->err);
	free(b->key);
	free(b);
}

void ctrl_batch_cb(int code, const cJSON *obj, void *ud)
{
	struct ctrl_batch *b = ud;

	(void)obj;
	if (code >= 400 && code != 404)
		b->err = -EAGAIN;
	ctrl_batch_end(b);
}

void ctrl__patch_meta(struct apiserver *s, const char *group, const char *plural,
		      const cJSON *obj, struct ctrl_batch *b)
{
	const cJSON *m = json_get(obj, "metadata");
	cJSON *patch = cJSON_CreateObject(), *pm = json_obj(patch, "metadata");
	const char *keys[] = { "ownerReferences", "finalizers" };

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const cJSON *v = json_get(m, keys[i]);

		json_set(pm, keys[i], cJSON_GetArraySize(v) ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
	}
	json_set_str(pm, "resourceVersion", json_get_str(m, "resourceVersion", ""));
	api_internal_patch(s, group, plural, json_get_str(m, "namespace", ""),
			   json_get_str(m, "name", ""), patch, ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(patch);
}

/* ---- pure helpers ---- */

/* obj with object keys sorted, printed compactly: a stable text to hash. */
static void canonical(const cJSON *v, struct buf *b)
{
	if (cJSON_IsObject(v)) {
		const cJSON **kids = NULL, *it;
		size_t n = 0, alloc = 0;

		cJSON_ArrayForEach(it, v) {
			ALLOC_GROW(kids, n + 1, alloc);
			kids[n++] = it;
		}
		for (size_t i = 1; i < n; i++)	/* insertion sort: objects are small */
			for (size_t j = i; j && strcmp(kids[j - 1]->string, kids[j]->string) > 0; j--) {
				const cJSON *t = kids[j];

				kids[j] = kids[j - 1];
				kids[j - 1] = t;
			}
		buf_addch(b, '{');
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_addch(b, ',');
			buf_add_json_str(b, kids[i]->string, strlen(kids[i]->string));
			buf_addch(b, ':');
			canonical(kids[i], b);
		}
		buf_addch(b, '}');
		free(kids);
	} else if (cJSON_IsArray(v)) {
		const cJSON *it;
		bool first = true;

		buf_addch(b, '[');
		cJSON_ArrayForEach(it, v) {
			if (!first)
				buf_addch(b, ',');
			first = false;
			canonical(it, b);
		}
		buf_addch(b, ']');
	} else {
		char *s = json_print(v);

		buf_addstr(b, s);
		cJSON_free(s);
	}
}

void ctrl_template_hash(const cJSON *tmpl, uint32_t collisions, char out[16])
{
	/* upstream's rand.SafeEncodeString alphabet: no vowels, no 0/1/3 */
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
	struct buf b = BUF_INIT;
	uint32_t h = 2166136261u;
	char dec[16];

	canonical(tmpl, &b);
	for (size_t i = 0; i < b.len; i++)
		h = (h ^ (unsigned char)b.data[i]) * 16777619u;
	if (collisions)
		for (int i = 0; i < 4; i++)
			h = (h ^ ((collisions >> (8 * i)) & 0xff)) * 16777619u;
	buf_release(&b);
	snprintf(dec, sizeof(dec), "%u", h);
	for (size_t i = 0; dec[i]; i++)
		out[i] = alnum[(unsigned char)dec[i] % (sizeof(alnum) - 1)];
	out[strlen(dec)] = '\0';
}

const cJSON *ctrl_controller_ref(const cJSON *obj)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, json_path(obj, "metadata.ownerReferences"))
		if (json_get_bool(r, "controller", false))
			return r;
	return NULL;
}

bool ctrl_owned_by(const cJSON *obj, const char *uid)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, json_path(obj, "metadata.ownerReferences"))
		if (!strcmp(json_get_str(r, "uid", ""), uid))
			return true;
	return false;
}

bool ctrl_selector_matches(const cJSON *selector, const cJSON *labels)
{
	struct sel_label sel = SEL_LABEL_INIT;
	char *err = NULL;
	bool ok = false;

	if (!cJSON_IsObject(selector) || !selector->child)
		return false;	/* empty selectors select nothing for controllers */
	if (!sel_label_from_json(selector, &sel, &err))
		ok = sel_label_matches(&sel, labels);
	free(err);
	sel_label_release(&sel);
	return ok;
}
