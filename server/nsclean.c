/*
 * server/nsclean.c - finishing a namespace deletion: once a namespace is
 * Terminating, delete every namespaced object in it (objects with
 * finalizers are marked and waited for), then remove the namespace.
 * Runs on the loop in small steps; re-checks until the namespace is empty.
 */
#include "apiserver.h"
#include "meta.h"
#include "storage.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NSCLEAN_RETRY_MS 1000	/* re-check interval while finalizers hold objects */

struct nsclean {
	struct apiserver *s;
	char *ns;
	uv_timer_t timer;
	int inflight;
	struct nsclean *next;	/* the clean-ups running */
};

static struct nsclean *running;	/* one per namespace at most */

static void nsclean_closed(uv_handle_t *h)
{
	struct nsclean *n = h->data;

	for (struct nsclean **p = &running; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			break;
		}
	free(n->ns);
	free(n);
}

static void step(uv_timer_t *t);

static void final_done(int err, int64_t rev, struct sobj *prev, void *ud)
{
	(void)rev; (void)prev; (void)ud;
	if (err)
		log_warn("cannot remove a terminated namespace: %s", strerror(-err));
}

static void write_done(int err, int64_t rev, struct sobj *prev, void *ud)
{
	struct nsclean *n = ud;

	(void)err;
	(void)rev;
	(void)prev;
	if (--n->inflight == 0)
		uv_timer_start(&n->timer, step, 0, 0);
}

/* Deletes (or marks) what is left in the namespace; returns how many remain. */
static size_t sweep(struct nsclean *n)
{
	size_t left = 0;

	for (size_t i = 0; i < registry_count(); i++) {
		const struct api_resource *r = registry_at(i);
		struct slist l = { 0 };
		char *prefix;

		if (!r->namespaced || r->storage_group ||
		    (registry_find(r->group, registry_group_versions(r->group)[0], r->plural) != r))
			continue;
		prefix = api_key(r, n->ns, "");
		if (storage_list(n->s, prefix, 0, "", 0, &l)) {
			free(prefix);
			continue;
		}
		free(prefix);
		for (size_t k = 0; k < l.n; k++) {
			cJSON *o = api_decode(l.items[k].value, l.items[k].len, l.items[k].mod_rev);

			left++;
			if (o && meta_has_finalizers(o)) {
				if (!json_path(o, "metadata.deletionTimestamp")) {
					char *v;

					meta_mark_deleted(o, (int64_t)wall_ns(), 0);
					cJSON_DeleteItemFromObjectCaseSensitive(json_get(o, "metadata"), "resourceVersion");
					v = json_print(o);
					n->inflight++;
					storage_update(n->s, l.items[k].key, v, strlen(v), l.items[k].mod_rev,
						       write_done, n);
					free(v);
				}
			} else {
				n->inflight++;
				storage_delete(n->s, l.items[k].key, l.items[k].mod_rev, write_done, n);
			}
			cJSON_Delete(o);
		}
		slist_release(&l);
	}
	return left;
}

static void step(uv_timer_t *t)
{
	struct nsclean *n = t->data;
	size_t left = sweep(n);

	if (n->inflight)
		return;	/* write_done restarts the timer */
	if (left) {
		uv_timer_start(&n->timer, step, NSCLEAN_RETRY_MS, 0);
		return;
	}
	{
		const struct api_resource *r = registry_find("", "v1", "namespaces");
		char *key = api_key(r, "", n->ns);

		storage_delete(n->s, key, 0, final_done, NULL);
		free(key);
		log_info("namespace %s is empty and removed", n->ns);
		uv_close((uv_handle_t *)&n->timer, nsclean_closed);
	}
}

void api_namespace_cleanup(struct apiserver *s, const char *ns)
{
	struct nsclean *n;

	for (n = running; n; n = n->next)
		if (!strcmp(n->ns, ns))
			return;	/* already at it (the namespace controller asks again) */
	n = xcalloc(1, sizeof(*n));
	n->next = running;
	running = n;

	n->s = s;
	n->ns = xstrdup(ns);
	uv_timer_init(s->loop, &n->timer);
	n->timer.data = n;
	/* start after the Terminating mark itself is written */
	uv_timer_start(&n->timer, step, 50, 0);
}
