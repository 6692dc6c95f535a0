/*
 * agent/vol_manager.c - the volume manager's objects: an informer on
 * services, one on every configMap and secret a pod refers to (or a fake
 * store for tests), lookups, and the pods whose volumes are re-published
 * when an object they use changes.
 *
 * ConfigMaps and secrets are watched one object at a time, as the kubelet
 * does: a list/watch of the namespace narrowed by a metadata.name field
 * selector, started by the first lookup. That is what the node authorizer
 * lets a node read (server/nodeauthz.c): a joined agent may not list every
 * secret of the cluster. A watch goes once no remembered pod mounts its
 * object (an env reference starts it again when a container starts).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "agent/vol_int.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

static const char *const kind_names[VOL__KINDS] = { "configmap", "secret", "service" };
static const char *const kind_plurals[VOL__KINDS] = { "configmaps", "secrets", "services" };

static void watches_prune(struct vol_manager *m, bool all);

const char *vol__kind_name(enum vol_kind k)
{
	return kind_names[k];
}

static void alloc_load(struct vol_manager *m)
{
	struct sysinfo si;
	struct statvfs vs;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	m->alloc_cpu_milli = (cpus > 0 ? cpus : 1) * 1000;
	if (!sysinfo(&si))
		m->alloc_mem = (int64_t)si.totalram * si.mem_unit;
	if (!statvfs(m->pods_dir, &vs))
		m->alloc_eph = (int64_t)vs.f_blocks * (int64_t)vs.f_frsize;
}

static struct vol_manager *manager_alloc(const char *pods_dir, const char *node_name)
{
	struct vol_manager *m = xcalloc(1, sizeof(*m));

	m->pods_dir = xstrdup(pods_dir);
	m->node_name = xstrdup(node_name ? node_name : "");
	mkdir_p(pods_dir, 0750);
	alloc_load(m);
	return m;
}

/* One configMap or secret watched for the pods that use it. */
struct vol_watch {
	struct vol_watch *next;
	struct vol_manager *m;
	enum vol_kind k;
	char *ns, *name;
	struct api_informer *inf;
};

static void obj_changed(struct api_informer *inf, const cJSON *obj, void *ud)
{
	struct vol_watch *w = ud;

	(void)inf;
	(void)obj;
	vol__refresh(w->m, w->k, w->ns, w->name);
}

static void obj_updated(struct api_informer *inf, const cJSON *old, const cJSON *obj, void *ud)
{
	(void)old;
	obj_changed(inf, obj, ud);
}

int vol_manager_new(struct api_client *c, const char *pods_dir, const char *node_name,
		    struct vol_manager **out)
{
	struct vol_manager *m = manager_alloc(pods_dir, node_name);
	int ret = 0;

	m->api = c;
	if (c) {
		struct api_informer_opts o = { .path = "/api/v1/services", .ud = m };

		ret = api_informer_start(c, &o, &m->inf[VOL_SERVICE]);
	}
	if (ret) {
		vol_manager_free(m);
		m = NULL;
	}
	*out = m;
	return ret;
}

struct vol_manager *vol__manager_fake(const char *pods_dir, const char *node_name)
{
	struct vol_manager *m = manager_alloc(pods_dir, node_name);

	for (int k = 0; k < VOL__KINDS; k++)
		m->fake[k] = cJSON_CreateArray();
	return m;
}

void vol_manager_stop(struct vol_manager *m)
{
	if (!m)
		return;
	for (int k = 0; k < VOL__KINDS; k++) {
		if (m->inf[k])
			api_informer_free(m->inf[k]);
		m->inf[k] = NULL;
	}
	watches_prune(m, true);
	m->stopped = true;
}

void vol_manager_free(struct vol_manager *m)
{
	if (!m)
		return;
	for (int k = 0; k < VOL__KINDS; k++) {
		if (m->inf[k])
			api_informer_free(m->inf[k]);
		cJSON_Delete(m->fake[k]);
	}
	watches_prune(m, true);
	vol__token_stop(m);
	while (m->pods) {
		struct vol_pod *vp = m->pods;

		m->pods = vp->next;
		free(vp->uid);
		cJSON_Delete(vp->pod);
		free(vp);
	}
	free(m->fake_token);
	free(m->pods_dir);
	free(m->node_name);
	free(m);
}

static bool same_key(const cJSON *o, const char *ns, const char *name)
{
	const cJSON *md = json_get(o, "metadata");

	return !strcmp(json_get_str(md, "namespace", ""), ns ? ns : "") &&
	       !strcmp(json_get_str(md, "name", ""), name);
}

void vol__fake_put(struct vol_manager *m, enum vol_kind k, const cJSON *obj)
{
	const cJSON *md = json_get(obj, "metadata");
	int i = 0;
	cJSON *e;

	cJSON_ArrayForEach(e, m->fake[k]) {
		if (same_key(e, json_get_str(md, "namespace", ""), json_get_str(md, "name", ""))) {
			cJSON_ReplaceItemInArray(m->fake[k], i, cJSON_Duplicate(obj, true));
			goto out;
		}
		i++;
	}
	cJSON_AddItemToArray(m->fake[k], cJSON_Duplicate(obj, true));
out:
	if (k != VOL_SERVICE)
		vol__refresh(m, k, json_get_str(md, "namespace", ""), json_get_str(md, "name", ""));
}

static void watch_free(struct vol_watch *w)
{
	api_informer_free(w->inf);
	free(w->ns);
	free(w->name);
	free(w);
}

/* The watch of k ns/name, started when there is none; NULL if it cannot start. */
static struct vol_watch *watch_get(struct vol_manager *m, enum vol_kind k, const char *ns,
				   const char *name)
{
	struct vol_watch *w;
	char *path, *sel;
	int r;

	for (w = m->watches; w; w = w->next)
		if (w->k == k && !strcmp(w->ns, ns) && !strcmp(w->name, name))
			return w;
	w = xcalloc(1, sizeof(*w));
	w->m = m;
	w->k = k;
	w->ns = xstrdup(ns);
	w->name = xstrdup(name);
	path = api_path("v1", kind_plurals[k], ns, NULL, NULL);
	sel = xasprintf("metadata.name=%s", name);
	struct api_informer_opts o = { .path = path, .field_selector = sel, .ud = w,
				       .on_add = obj_changed, .on_update = obj_updated };
	r = api_informer_start(m->api, &o, &w->inf);
	free(path);
	free(sel);
	if (r) {
		log_warn("volumes: cannot watch %s %s/%s: %s", kind_names[k], ns, name, strerror(-r));
		free(w->ns);
		free(w->name);
		free(w);
		return NULL;
	}
	w->next = m->watches;
	m->watches = w;
	return w;
}

static bool pod_uses(const cJSON *pod, enum vol_kind k, const char *name);

/* Stops the watches no remembered pod mounts any more. */
static void watches_prune(struct vol_manager *m, bool all)
{
	for (struct vol_watch **pp = &m->watches, *w; (w = *pp);) {
		bool used = false;

		for (struct vol_pod *vp = m->pods; vp && !all && !used; vp = vp->next)
			used = !strcmp(json_get_str(json_get(vp->pod, "metadata"), "namespace", "default"),
				       w->ns) && pod_uses(vp->pod, w->k, w->name);
		if (used) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		watch_free(w);
	}
}

int vol__lookup(struct vol_manager *m, enum vol_kind k, const char *ns, const char *name,
		const cJSON **obj)
{
	const cJSON *e;

	*obj = NULL;
	if (m->stopped)
		return -EAGAIN;
	if (m->api && k != VOL_SERVICE) {
		struct vol_watch *w = watch_get(m, k, ns, name);

		if (!w || !api_informer_synced(w->inf))
			return -EAGAIN;
		*obj = api_informer_get(w->inf, ns, name);
		return *obj ? 0 : -ENOENT;
	}
	if (m->inf[k]) {
		if (!api_informer_synced(m->inf[k]))
			return -EAGAIN;
		*obj = api_informer_get(m->inf[k], ns, name);
		return *obj ? 0 : -ENOENT;
	}
	cJSON_ArrayForEach(e, m->fake[k])
		if (same_key(e, ns, name)) {
			*obj = e;
			return 0;
		}
	return -ENOENT;
}

/* ---- pods set up, for refreshes ---- */

static struct vol_pod **pod_slot(struct vol_manager *m, const char *uid)
{
	struct vol_pod **pp;

	for (pp = &m->pods; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->uid, uid))
			break;
	return pp;
}

/* Keeps a copy of pod (unless it is the kept copy itself). */
void vol__pod_remember(struct vol_manager *m, const char *uid, const cJSON *pod)
{
	struct vol_pod **pp = pod_slot(m, uid), *vp = *pp;

	if (vp && vp->pod == pod)
		return;
	if (!vp) {
		vp = *pp = xcalloc(1, sizeof(*vp));
		vp->uid = xstrdup(uid);
	}
	cJSON_Delete(vp->pod);
	vp->pod = cJSON_Duplicate(pod, true);
}

void vol__pod_forget(struct vol_manager *m, const char *uid)
{
	struct vol_pod **pp = pod_slot(m, uid), *vp = *pp;

	vol__token_forget(m, uid);
	if (!vp)
		return;
	*pp = vp->next;
	free(vp->uid);
	cJSON_Delete(vp->pod);
	free(vp);
	watches_prune(m, false);
}

/* The pod has a configMap/secret volume (or projected source) named name. */
static bool pod_uses(const cJSON *pod, enum vol_kind k, const char *name)
{
	const char *field = k == VOL_SECRET ? "secret" : "configMap";
	const cJSON *v, *s;

	cJSON_ArrayForEach(v, json_path(pod, "spec.volumes")) {
		const cJSON *src = json_get(v, field);

		if (src && !strcmp(json_get_str(src, k == VOL_SECRET ? "secretName" : "name", ""), name))
			return true;
		cJSON_ArrayForEach(s, json_path(v, "projected.sources"))
			if (!strcmp(json_get_str(json_get(s, field), "name", "\n"), name))
				return true;
	}
	return false;
}

void vol__refresh(struct vol_manager *m, enum vol_kind k, const char *ns, const char *name)
{
	for (struct vol_pod *vp = m->pods; vp; vp = vp->next) {
		char *err = NULL;
		int ret;

		if (strcmp(json_get_str(json_get(vp->pod, "metadata"), "namespace", "default"), ns) ||
		    !pod_uses(vp->pod, k, name))
			continue;
		m->refreshes++;
		ret = vol_pod_setup(m, vp->pod, &err);
		if (ret && ret != -EAGAIN)
			log_warn("refreshing the volumes of pod %s: %s", vp->uid, err ? err : strerror(-ret));
		free(err);
	}
}
