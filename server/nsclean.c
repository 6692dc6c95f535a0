/*
 * server/nsclean.c - finishing a namespace deletion: once a namespace is
 * Terminating, delete every namespaced object in it (objects with
 * finalizers are marked and waited for), then remove the namespace.
 * Runs on the loop in small steps; re-checks until the namespace is empty.
 *
 * Pods bound to a node that have not finished are deleted gracefully
 * (deletionTimestamp + their terminationGracePeriodSeconds, default 30): the
 * kubelet finishes the deletion once their containers stopped, as upstream.
 *
 * While content remains, the namespace's status.conditions carry upstream's
 * five NamespaceDeletion* / Namespace*Remaining conditions, written straight
 * to storage (a REST status write to a marked namespace would remove it):
 * "Some resources are remaining: pods. has 2 resource instances" and "Some
 * content in the namespace has finalizers remaining: example.com/f in 1
 * resource instances" (entries sorted, at most NS_TALLY_MAX of each).
 */
#include "apiserver.h"
#include "meta.h"
#include "storage.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSCLEAN_RETRY_MS 1000	/* re-check interval while finalizers hold objects */
#define NS_TALLY_MAX 32		/* distinct resources / finalizers named in conditions */
#define NS_GRACE_DEFAULT 30	/* a pod's terminationGracePeriodSeconds when absent */

/* What is left, by "plural.group" or by finalizer name. */
struct ns_tally {
	char *name[NS_TALLY_MAX];
	int64_t count[NS_TALLY_MAX];
	size_t n;
};

struct ns_left {
	struct ns_tally res, fin;
};

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

static void tally_add(struct ns_tally *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->name[i], name)) {
			t->count[i]++;
			return;
		}
	if (t->n == NS_TALLY_MAX)
		return;
	t->name[t->n] = xstrdup(name);
	t->count[t->n++] = 1;
}

static void tally_release(struct ns_tally *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->name[i]);
	t->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "<head><e1>, <e2>" with entries "<name><mid><count><tail>" sorted as Go's
 * sort.Strings does upstream; caller frees. */
static char *tally_message(const struct ns_tally *t, const char *head, const char *mid,
			   const char *tail)
{
	char *e[NS_TALLY_MAX], *msg = xstrdup(head), *tmp;

	for (size_t i = 0; i < t->n; i++)
		e[i] = xasprintf("%s%s%lld%s", t->name[i], mid, (long long)t->count[i], tail);
	qsort(e, t->n, sizeof(*e), cmp_str);
	for (size_t i = 0; i < t->n; i++) {
		tmp = xasprintf("%s%s%s", msg, i ? ", " : "", e[i]);
		free(msg);
		free(e[i]);
		msg = tmp;
	}
	return msg;
}

/* A pod still running on a node: the kubelet must stop it first. */
static bool pod_on_node(const struct api_resource *r, const cJSON *o)
{
	const char *phase = json_get_str(json_get(o, "status"), "phase", "");

	return !*r->group && !strcmp(r->plural, "pods") &&
	       json_get_str(json_get(o, "spec"), "nodeName", NULL) &&
	       strcmp(phase, "Succeeded") && strcmp(phase, "Failed");
}

/* Notes o as remaining (by resource and by finalizer) in left. */
static void note_left(struct ns_left *left, const struct api_resource *r, const cJSON *o)
{
	char *res = xasprintf("%s.%s", r->plural, r->group);
	const cJSON *f;

	tally_add(&left->res, res);
	free(res);
	cJSON_ArrayForEach(f, json_path(o, "metadata.finalizers"))
		if (cJSON_IsString(f))
			tally_add(&left->fin, f->valuestring);
}

/* Marks o deleted (grace seconds) and writes it back. */
static void mark(struct nsclean *n, const struct sobj *kv, cJSON *o, int64_t grace)
{
	char *v;

	meta_mark_deleted(o, (int64_t)wall_ns(), grace);
	cJSON_DeleteItemFromObjectCaseSensitive(json_get(o, "metadata"), "resourceVersion");
	v = json_print(o);
	n->inflight++;
	storage_update(n->s, kv->key, v, strlen(v), kv->mod_rev, write_done, n);
	free(v);
}

/* Deletes (or marks) what is left in the namespace; returns how many remain
 * and notes the ones that stay (finalizers, pods on nodes) in kept. */
static size_t sweep(struct nsclean *n, struct ns_left *kept)
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
			if (o && (meta_has_finalizers(o) || pod_on_node(r, o))) {
				note_left(kept, r, o);
				if (!json_path(o, "metadata.deletionTimestamp"))
					mark(n, &l.items[k], o, !pod_on_node(r, o) ? 0 :
					     json_get_int(json_get(o, "spec"), "terminationGracePeriodSeconds",
							  NS_GRACE_DEFAULT));
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

static void condition(cJSON *conds, const char *type, bool on, const char *ok_reason,
		      const char *ok_msg, const char *reason, const char *msg)
{
	cJSON *c = cJSON_CreateObject();

	json_set_str(c, "type", type);
	json_set_str(c, "status", on ? "True" : "False");
	json_set_str(c, "reason", on ? reason : ok_reason);
	json_set_str(c, "message", on ? msg : ok_msg);
	cJSON_AddItemToArray(conds, c);
}

/* Upstream's conditions for what is left, in its order. */
static cJSON *ns_conditions(const struct ns_left *left)
{
	cJSON *conds = cJSON_CreateArray();
	char *res = tally_message(&left->res, "Some resources are remaining: ", " has ", " resource instances");
	char *fin = tally_message(&left->fin, "Some content in the namespace has finalizers remaining: ",
				  " in ", " resource instances");

	condition(conds, "NamespaceDeletionDiscoveryFailure", false, "ResourcesDiscovered",
		  "All resources successfully discovered", NULL, NULL);
	condition(conds, "NamespaceDeletionGroupVersionParsingFailure", false, "ParsedGroupVersions",
		  "All legacy kube types successfully parsed", NULL, NULL);
	condition(conds, "NamespaceDeletionContentFailure", false, "ContentDeleted",
		  "All content successfully deleted, may be waiting on finalization", NULL, NULL);
	condition(conds, "NamespaceContentRemaining", left->res.n, "ContentRemoved",
		  "All content successfully removed", "SomeResourcesRemain", res);
	condition(conds, "NamespaceFinalizersRemaining", left->fin.n, "ContentHasNoFinalizers",
		  "All content-preserving finalizers finished", "SomeFinalizersRemain", fin);
	free(res);
	free(fin);
	return conds;
}

/* Gives each condition of conds the lastTransitionTime of the same one in
 * old (same status), else now; true when anything differs from old. */
static bool conditions_merge(cJSON *conds, const cJSON *old)
{
	char now[RFC3339_MAX];
	bool changed = cJSON_GetArraySize(old) != cJSON_GetArraySize(conds);
	cJSON *c;

	rfc3339_format((int64_t)wall_ns(), now);
	cJSON_ArrayForEach(c, conds) {
		const char *type = json_get_str(c, "type", ""), *ts = now;
		const cJSON *o;

		cJSON_ArrayForEach(o, old)
			if (!strcmp(json_get_str(o, "type", ""), type))
				break;
		if (o && !strcmp(json_get_str(o, "status", ""), json_get_str(c, "status", "")))
			ts = json_get_str(o, "lastTransitionTime", now);
		else
			changed = true;
		if (!o || strcmp(json_get_str(o, "reason", ""), json_get_str(c, "reason", "")) ||
		    strcmp(json_get_str(o, "message", ""), json_get_str(c, "message", "")))
			changed = true;
		json_set_str(c, "lastTransitionTime", ts);
	}
	return changed;
}

/* Writes the conditions for left into the namespace when they changed. */
static void write_conditions(struct nsclean *n, const struct ns_left *left)
{
	const struct api_resource *r = registry_find("", "v1", "namespaces");
	char *key = api_key(r, "", n->ns), *v;
	struct sobj so = { 0 };
	cJSON *ns = NULL, *conds = ns_conditions(left);

	if (storage_get(n->s, key, &so) || !(ns = api_decode(so.value, so.len, so.mod_rev)) ||
	    !conditions_merge(conds, json_path(ns, "status.conditions")))
		goto out;
	json_set(json_obj(ns, "status"), "conditions", conds);
	conds = NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(json_get(ns, "metadata"), "resourceVersion");
	v = json_print(ns);
	n->inflight++;
	storage_update(n->s, key, v, strlen(v), so.mod_rev, write_done, n);
	free(v);
out:
	cJSON_Delete(conds);
	cJSON_Delete(ns);
	sobj_release(&so);
	free(key);
}

static void step(uv_timer_t *t)
{
	struct nsclean *n = t->data;
	struct ns_left kept = { 0 };
	size_t left = sweep(n, &kept);

	if (kept.res.n)
		write_conditions(n, &kept);
	tally_release(&kept.res);
	tally_release(&kept.fin);
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
