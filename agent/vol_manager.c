/*
 * agent/vol_manager.c - the volume manager's objects: informers on
 * configMaps, secrets and services (or a fake store for tests), lookups,
 * and the pods whose volumes are re-published when an object they use
 * changes.
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
static const char *const kind_paths[VOL__KINDS] = {
	"/api/v1/configmaps", "/api/v1/secrets", "/api/v1/services"
};

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

static void obj_changed(struct api_informer *inf, const cJSON *obj, void *ud)
{
	struct vol_manager *m = ud;
	const cJSON *md = json_get(obj, "metadata");

	for (int k = 0; k < VOL_SERVICE; k++)
		if (m->inf[k] == inf)
			vol__refresh(m, k, json_get_str(md, "namespace", ""),
				     json_get_str(md, "name", ""));
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
	for (int k = 0; k < VOL__KINDS && c && !ret; k++) {
		struct api_informer_opts o = { .path = kind_paths[k], .ud = m };

		if (k != VOL_SERVICE) {
			o.on_add = obj_changed;
			o.on_update = obj_updated;
		}

		ret = api_informer_start(c, &o, &m->inf[k]);
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

int vol__lookup(struct vol_manager *m, enum vol_kind k, const char *ns, const char *name,
		const cJSON **obj)
{
	const cJSON *e;

	*obj = NULL;
	if (m->stopped)
		return -EAGAIN;
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
