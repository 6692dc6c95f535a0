/*
 * server/controllers/pv.c - the persistent volume controller: binds
 * PersistentVolumeClaims to PersistentVolumes (static and dynamic),
 * provisions k1s.io/local volumes on the node the scheduler picked, keeps
 * the phases, reclaims released volumes and runs the pvc-protection and
 * pv-protection finalizers. The rules are in docs/storage.md.
 *
 * Two queues: claims by "ns/name", volumes by name. A claim is enqueued on
 * its own events, on events of the volume its spec.volumeName or the
 * volume's claimRef names, and on events of pods that mount it (protection,
 * selected node). Every write is a merge patch; the reconcile ends when the
 * last one returns (ctrl_batch), failures retry with backoff.
 *
 * Dynamic provisioning: a claim of a class with provisioner k1s.io/local
 * gets a PV named pvc-<claim uid>, pre-bound to it (claimRef with uid),
 * with node affinity to the node in the claim's
 * volume.kubernetes.io/selected-node annotation (the scheduler sets it for
 * WaitForFirstConsumer; Immediate picks the first Ready node), a CSI source
 * {driver k1s.io/local, volumeHandle <pv name>} and the finalizer
 * k1s.io/local-volume, which the node's agent removes once it has deleted
 * the data (agent/storage.c).
 */
#include "ctrl_priv.h"
#include "pv.h"
#include "sched.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/quantity.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct {
	struct ctrl_manager *m;
	struct cache_store *pvs, *pvcs, *scs;
	struct wq claim_q, vol_q;
	bool started;
} P;

static const char *mstr(const cJSON *o, const char *key)
{
	return json_get_str(json_get(o, "metadata"), key, "");
}

static bool has_str(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, s))
			return true;
	return false;
}

int64_t pv__bytes(const cJSON *v)
{
	struct quantity q;
	const char *err;

	if (!v || quantity_from_json(v, &q, &err))
		return -1;
	return quantity_value(&q);
}

/* The class a claim asks for: spec.storageClassName, or the default class
 * when the field is absent (NULL when there is none). */
static const cJSON *default_class(void);
static const char *claim_class(const cJSON *pvc)
{
	const cJSON *c = json_path(pvc, "spec.storageClassName");
	const cJSON *d;

	if (cJSON_IsString(c))
		return c->valuestring;
	d = default_class();
	return d ? mstr(d, "name") : "";
}

static void find_default(const cJSON *sc, void *ud)
{
	const cJSON **out = ud;
	const char *v = json_get_str(json_path(sc, "metadata.annotations"),
				     "storageclass.kubernetes.io/is-default-class", "");

	if (!strcmp(v, "true") && (!*out || strcmp(mstr(sc, "name"), mstr(*out, "name")) < 0))
		*out = sc;
}

static const cJSON *default_class(void)
{
	const cJSON *d = NULL;

	cache_each(P.scs, NULL, find_default, &d);
	return d;
}

/* ---- pods that use a claim ---- */

struct use_walk {
	const char *claim;
	bool used;
};

static bool pod_terminal(const cJSON *pod)
{
	const char *ph = json_get_str(json_get(pod, "status"), "phase", "");

	return !strcmp(ph, "Succeeded") || !strcmp(ph, "Failed");
}

static bool pod_mounts(const cJSON *pod, const char *claim)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, json_path(pod, "spec.volumes"))
		if (!strcmp(json_get_str(json_get(v, "persistentVolumeClaim"), "claimName", ""), claim))
			return true;
	return false;
}

static void use_one(const cJSON *pod, void *ud)
{
	struct use_walk *w = ud;

	if (!w->used && !pod_terminal(pod) && pod_mounts(pod, w->claim))
		w->used = true;
}

static bool claim_in_use(const char *ns, const char *claim)
{
	struct use_walk w = { claim, false };

	cache_each(P.m->pods, ns, use_one, &w);
	return w.used;
}

/* ---- writes ---- */

static void patch_status(const char *plural, const cJSON *obj, cJSON *status, struct ctrl_batch *b)
{
	cJSON *patch = cJSON_CreateObject();

	json_set(patch, "status", status);
	api_internal_patch_sub(P.m->srv, "", plural, mstr(obj, "namespace"), mstr(obj, "name"),
			       "status", false, patch, ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(patch);
}

/* Adds (on) or removes the finalizer fin. */
static void set_finalizer(const char *plural, const cJSON *obj, const char *fin, bool on,
			  struct ctrl_batch *b)
{
	cJSON *dup = cJSON_Duplicate(obj, 1), *fins = json_path(dup, "metadata.finalizers");
	cJSON *out = cJSON_CreateArray(), *it;

	cJSON_ArrayForEach(it, fins)
		if (cJSON_IsString(it) && strcmp(it->valuestring, fin))
			cJSON_AddItemToArray(out, cJSON_CreateString(it->valuestring));
	if (on)
		cJSON_AddItemToArray(out, cJSON_CreateString(fin));
	json_set(json_obj(dup, "metadata"), "finalizers", out);
	ctrl__patch_meta(P.m->srv, "", plural, dup, b);
	cJSON_Delete(dup);
}

static void claim_phase(const cJSON *pvc, const char *phase, const cJSON *pv, struct ctrl_batch *b)
{
	const cJSON *st = json_get(pvc, "status");
	cJSON *s;

	if (!strcmp(json_get_str(st, "phase", ""), phase) &&
	    (!pv || json_equal(json_get(st, "capacity"), json_path(pv, "spec.capacity"))))
		return;
	s = cJSON_CreateObject();
	json_set_str(s, "phase", phase);
	if (pv) {
		json_set(s, "capacity", cJSON_Duplicate(json_path(pv, "spec.capacity"), 1));
		json_set(s, "accessModes", cJSON_Duplicate(json_path(pv, "spec.accessModes"), 1));
	} else if (strcmp(phase, "Lost")) {
		json_set(s, "capacity", cJSON_CreateNull());
	}
	patch_status("persistentvolumeclaims", pvc, s, b);
}

static void volume_phase(const cJSON *pv, const char *phase, const char *msg, struct ctrl_batch *b)
{
	cJSON *s;

	if (!strcmp(json_get_str(json_get(pv, "status"), "phase", ""), phase))
		return;
	s = cJSON_CreateObject();
	json_set_str(s, "phase", phase);
	if (msg)
		json_set_str(s, "message", msg);
	else
		json_set(s, "message", cJSON_CreateNull());
	patch_status("persistentvolumes", pv, s, b);
}

static cJSON *claim_ref(const cJSON *pvc)
{
	cJSON *r = cJSON_CreateObject();

	json_set_str(r, "kind", "PersistentVolumeClaim");
	json_set_str(r, "apiVersion", "v1");
	json_set_str(r, "namespace", mstr(pvc, "namespace"));
	json_set_str(r, "name", mstr(pvc, "name"));
	json_set_str(r, "uid", mstr(pvc, "uid"));
	json_set_str(r, "resourceVersion", mstr(pvc, "resourceVersion"));
	return r;
}

/* PV.spec.claimRef = pvc (conditional on the PV's resourceVersion) and
 * PVC.spec.volumeName = pv. */
static void bind_claim(const cJSON *pvc, const cJSON *pv, struct ctrl_batch *b)
{
	cJSON *patch = cJSON_CreateObject(), *m;

	if (!json_path(pv, "spec.claimRef.uid")) {
		json_set(json_obj(patch, "spec"), "claimRef", claim_ref(pvc));
		json_set_str(json_obj(patch, "metadata"), "resourceVersion", mstr(pv, "resourceVersion"));
		api_internal_patch(P.m->srv, "", "persistentvolumes", "", mstr(pv, "name"), patch,
				   ctrl_batch_cb, ctrl_batch_hold(b));
		cJSON_Delete(patch);
		patch = cJSON_CreateObject();
	}
	json_set_str(json_obj(patch, "spec"), "volumeName", mstr(pv, "name"));
	m = json_obj(patch, "metadata");
	json_set_str(json_obj(m, "annotations"), "pv.kubernetes.io/bind-completed", "yes");
	json_set_str(json_get(m, "annotations"), "pv.kubernetes.io/bound-by-controller", "yes");
	api_internal_patch(P.m->srv, "", "persistentvolumeclaims", mstr(pvc, "namespace"),
			   mstr(pvc, "name"), patch, ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(patch);
	ctrl_event(P.m->srv, pvc, "Normal", "Bound", "Bound to volume %s", mstr(pv, "name"));
}

/* ---- static binding ---- */

struct match {
	const cJSON *pvc, *best;
	const char *cls;
	int64_t want, best_cap;
};

/* PV access modes include every mode the claim asks for. */
static bool modes_ok(const cJSON *pv, const cJSON *pvc)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, json_path(pvc, "spec.accessModes"))
		if (!cJSON_IsString(it) || !has_str(json_path(pv, "spec.accessModes"), it->valuestring))
			return false;
	return true;
}

static void try_pv(const cJSON *pv, void *ud)
{
	struct match *mt = ud;
	const cJSON *ref = json_path(pv, "spec.claimRef"), *sel = json_path(mt->pvc, "spec.selector");
	int64_t cap = pv__bytes(json_path(pv, "spec.capacity.storage"));

	if (json_path(pv, "metadata.deletionTimestamp") || cap < mt->want)
		return;
	if (ref && (strcmp(json_get_str(ref, "name", ""), mstr(mt->pvc, "name")) ||
		    strcmp(json_get_str(ref, "namespace", ""), mstr(mt->pvc, "namespace")) ||
		    (json_get(ref, "uid") && strcmp(json_get_str(ref, "uid", ""), mstr(mt->pvc, "uid")))))
		return;
	if (!ref && strcmp(json_get_str(json_get(pv, "status"), "phase", "Available"), "Available"))
		return;
	if (strcmp(json_get_str(json_get(pv, "spec"), "storageClassName", ""), mt->cls) || !modes_ok(pv, mt->pvc))
		return;
	if (sel && !ctrl_selector_matches(sel, json_path(pv, "metadata.labels")))
		return;
	/* a volume pre-bound to this claim wins; else the smallest that fits */
	if (!mt->best || ref || (!json_path(mt->best, "spec.claimRef") && cap < mt->best_cap)) {
		if (mt->best && json_path(mt->best, "spec.claimRef") && !ref)
			return;
		mt->best = pv;
		mt->best_cap = cap;
	}
}

/* ---- dynamic provisioning ---- */

static void first_ready(const cJSON *node, void *ud)
{
	const char **out = ud;
	const cJSON *c;

	if (*out)
		return;
	cJSON_ArrayForEach(c, json_path(node, "status.conditions"))
		if (!strcmp(json_get_str(c, "type", ""), "Ready") && !strcmp(json_get_str(c, "status", ""), "True"))
			*out = mstr(node, "name");
}

static cJSON *new_pv(const cJSON *pvc, const cJSON *sc, const char *node)
{
	cJSON *pv = cJSON_CreateObject(), *m = json_obj(pv, "metadata"), *spec = json_obj(pv, "spec");
	cJSON *term, *expr, *terms;
	char *name = xasprintf("pvc-%s", mstr(pvc, "uid"));
	const char *fins[] = { "kubernetes.io/pv-protection", PV_FINALIZER_LOCAL };

	json_set_str(pv, "apiVersion", "v1");
	json_set_str(pv, "kind", "PersistentVolume");
	json_set_str(m, "name", name);
	json_set_str(json_obj(m, "annotations"), "pv.kubernetes.io/provisioned-by", PV_DRIVER);
	json_set_str(json_get(m, "annotations"), PV_ANN_NODE, node);
	json_set(m, "finalizers", cJSON_CreateStringArray(fins, 2));
	json_set_str(json_obj(spec, "capacity"), "storage",
		     json_get_str(json_path(pvc, "spec.resources.requests"), "storage", "0"));
	json_set(spec, "accessModes", cJSON_Duplicate(json_path(pvc, "spec.accessModes"), 1));
	json_set_str(spec, "persistentVolumeReclaimPolicy", json_get_str(sc, "reclaimPolicy", "Delete"));
	json_set_str(spec, "storageClassName", mstr(sc, "name"));
	json_set_str(spec, "volumeMode", "Filesystem");
	json_set(spec, "claimRef", claim_ref(pvc));
	json_set_str(json_obj(spec, "csi"), "driver", PV_DRIVER);
	json_set_str(json_get(spec, "csi"), "volumeHandle", name);
	expr = cJSON_CreateObject();
	json_set_str(expr, "key", "kubernetes.io/hostname");
	json_set_str(expr, "operator", "In");
	json_set(expr, "values", cJSON_CreateStringArray(&node, 1));
	term = cJSON_CreateObject();
	json_set(term, "matchExpressions", cJSON_CreateArray());
	cJSON_AddItemToArray(json_get(term, "matchExpressions"), expr);
	terms = cJSON_CreateArray();
	cJSON_AddItemToArray(terms, term);
	json_set(json_obj(json_obj(spec, "nodeAffinity"), "required"), "nodeSelectorTerms", terms);
	free(name);
	return pv;
}

/* Takes msg. */
static void provisioning_failed(const cJSON *pvc, char *msg)
{
	ctrl_event(P.m->srv, pvc, "Warning", "ProvisioningFailed",
		   "failed to provision volume with StorageClass \"%s\": %s", claim_class(pvc), msg);
	free(msg);
}

/* A restore or clone source: the node that holds it and the annotation
 * the new PV carries. 0 = go (or no source), -EAGAIN = not yet / refused
 * (an event says why). */
static int data_source(const cJSON *pvc, const char **node, const char **key, const char **val)
{
	const cJSON *ds = json_path(pvc, "spec.dataSourceRef");
	const char *kind, *name = NULL, *ns = mstr(pvc, "namespace");
	int64_t want = pv__bytes(json_path(pvc, "spec.resources.requests.storage")), have;

	if (!ds)
		ds = json_path(pvc, "spec.dataSource");
	kind = json_get_str(ds, "kind", "");
	name = json_get_str(ds, "name", "");
	if (!strcmp(kind, "VolumeSnapshot") &&
	    !strcmp(json_get_str(ds, "apiGroup", ""), "snapshot.storage.k8s.io")) {
		const cJSON *vs = snap__get(ns, name), *c;

		if (!vs || !json_get_bool(json_get(vs, "status"), "readyToUse", false)) {
			provisioning_failed(pvc, xasprintf("error getting handle for DataSource Type VolumeSnapshot by Name %s: snapshot %s is not Ready",
							   name, name));
			return -EAGAIN;
		}
		c = snap__content(json_get_str(json_get(vs, "status"), "boundVolumeSnapshotContentName", ""));
		have = json_get_int(json_get(c, "status"), "restoreSize", 0);
		if (!c || want < have) {
			if (c)
				provisioning_failed(pvc, xasprintf("requested volume size %lld is less than the size %lld for the source snapshot %s",
								   (long long)want, (long long)have, name));
			return -EAGAIN;
		}
		*node = json_get_str(json_path(c, "metadata.annotations"), PV_ANN_NODE, *node);
		*key = PV_ANN_RESTORE;
		*val = json_get_str(json_get(c, "status"), "snapshotHandle", "");
	} else if (!strcmp(kind, "PersistentVolumeClaim") && !*json_get_str(ds, "apiGroup", "")) {
		const cJSON *src = cache_get(P.pvcs, ns, name);
		const cJSON *spv = src ? pv__volume(json_get_str(json_get(src, "spec"), "volumeName", "")) : NULL;

		if (!spv || strcmp(json_get_str(json_path(spv, "spec.csi"), "driver", ""), PV_DRIVER)) {
			provisioning_failed(pvc, xasprintf("error getting handle for DataSource Type PersistentVolumeClaim by Name %s: the claim is not bound to a k1s.io/local volume",
							   name));
			return -EAGAIN;
		}
		have = pv__bytes(json_path(spv, "spec.capacity.storage"));
		if (want < have) {
			provisioning_failed(pvc, xasprintf("requested volume size %lld is less than the size %lld for the source volume %s",
							   (long long)want, (long long)have, name));
			return -EAGAIN;
		}
		*node = json_get_str(json_path(spv, "metadata.annotations"), PV_ANN_NODE, *node);
		*key = PV_ANN_CLONE;
		*val = mstr(spv, "name");
	}
	return 0;
}

static void provision(const cJSON *pvc, const cJSON *sc, struct ctrl_batch *b)
{
	const char *node = json_get_str(json_path(pvc, "metadata.annotations"), PV_ANN_SELECTED_NODE, NULL);
	bool wffc = !strcmp(json_get_str(sc, "volumeBindingMode", "Immediate"), "WaitForFirstConsumer");
	const char *src_key = NULL, *src_val = NULL;
	cJSON *pv;

	if (!node && wffc) {
		ctrl_event(P.m->srv, pvc, "Normal", "WaitForFirstConsumer",
			   "waiting for first consumer to be created before binding");
		return;
	}
	if (!node)
		cache_each(P.m->nodes, NULL, first_ready, &node);
	if (!node || data_source(pvc, &node, &src_key, &src_val))
		return;
	pv = new_pv(pvc, sc, node);
	if (src_key)
		json_set_str(json_path(pv, "metadata.annotations"), src_key, src_val);
	ctrl_event(P.m->srv, pvc, "Normal", "Provisioning",
		   "External provisioner is provisioning volume for claim \"%s/%s\"",
		   mstr(pvc, "namespace"), mstr(pvc, "name"));
	api_internal_create(P.m->srv, "", "persistentvolumes", "", pv, ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(pv);
}

/* ---- claims ---- */

static void claim_bound(const cJSON *pvc, const cJSON *pv, struct ctrl_batch *b)
{
	int64_t want = pv__bytes(json_path(pvc, "spec.resources.requests.storage"));
	int64_t cap = pv__bytes(json_path(pv, "spec.capacity.storage"));
	const cJSON *sc = cache_get(P.scs, "", claim_class(pvc));

	claim_phase(pvc, "Bound", pv, b);
	/* expansion: a k1s.io/local volume grows with its claim; the agent
	 * resizes the quota, the claim's capacity follows the PV's */
	if (want > cap && sc && json_get_bool(sc, "allowVolumeExpansion", false) &&
	    !strcmp(json_get_str(json_path(pv, "spec.csi"), "driver", ""), PV_DRIVER)) {
		cJSON *patch = cJSON_CreateObject();

		json_set_str(json_obj(json_obj(patch, "spec"), "capacity"), "storage",
			     json_get_str(json_path(pvc, "spec.resources.requests"), "storage", ""));
		api_internal_patch(P.m->srv, "", "persistentvolumes", "", mstr(pv, "name"), patch,
				   ctrl_batch_cb, ctrl_batch_hold(b));
		cJSON_Delete(patch);
	}
}

static void claim_unbound(const cJSON *pvc, struct ctrl_batch *b)
{
	struct match mt = { .pvc = pvc, .cls = claim_class(pvc) };
	const cJSON *sc;

	mt.want = pv__bytes(json_path(pvc, "spec.resources.requests.storage"));
	if (mt.want < 0)
		mt.want = 0;
	cache_each(P.pvs, NULL, try_pv, &mt);
	claim_phase(pvc, "Pending", NULL, b);
	if (mt.best) {
		bind_claim(pvc, mt.best, b);
		return;
	}
	sc = *mt.cls ? cache_get(P.scs, "", mt.cls) : NULL;
	if (sc && !strcmp(json_get_str(sc, "provisioner", ""), PV_DRIVER)) {
		provision(pvc, sc, b);
		return;
	}
	if (!sc)
		ctrl_event(P.m->srv, pvc, "Normal", "FailedBinding",
			   *mt.cls ? "storageclass.storage.k8s.io \"%s\" not found" :
			   "no persistent volumes available for this claim and no storage class is set%s", mt.cls);
	else
		ctrl_event(P.m->srv, pvc, "Normal", "ExternalProvisioning",
			   "Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator",
			   json_get_str(sc, "provisioner", ""));
}

static void claim_reconcile(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *pvc = cache_get(P.pvcs, ns, name), *pv;
	const char *vn;
	struct ctrl_batch *b;

	(void)ud;
	if (!pvc) {
		wq_done(q, key, 0);
		return;
	}
	b = ctrl_batch_new(q, key);
	if (json_path(pvc, "metadata.deletionTimestamp")) {
		if (has_str(json_path(pvc, "metadata.finalizers"), PV_FIN_PVC) && !claim_in_use(ns, name))
			set_finalizer("persistentvolumeclaims", pvc, PV_FIN_PVC, false, b);
		ctrl_batch_end(b);
		return;
	}
	if (!has_str(json_path(pvc, "metadata.finalizers"), PV_FIN_PVC))
		set_finalizer("persistentvolumeclaims", pvc, PV_FIN_PVC, true, b);
	if (!json_path(pvc, "spec.storageClassName") && default_class()) {
		cJSON *patch = cJSON_CreateObject();

		json_set_str(json_obj(patch, "spec"), "storageClassName", mstr(default_class(), "name"));
		api_internal_patch(P.m->srv, "", "persistentvolumeclaims", ns, name, patch,
				   ctrl_batch_cb, ctrl_batch_hold(b));
		cJSON_Delete(patch);
		ctrl_batch_end(b);	/* the claim comes back with its class */
		return;
	}
	vn = json_get_str(json_get(pvc, "spec"), "volumeName", "");
	pv = *vn ? cache_get(P.pvs, "", vn) : NULL;
	if (*vn && !pv)
		claim_phase(pvc, "Lost", NULL, b);
	else if (pv && !json_path(pv, "spec.claimRef"))
		bind_claim(pvc, pv, b);
	else if (pv && !strcmp(json_get_str(json_path(pv, "spec.claimRef"), "uid", ""), mstr(pvc, "uid")))
		claim_bound(pvc, pv, b);
	else if (pv)
		claim_phase(pvc, "Lost", NULL, b);
	else
		claim_unbound(pvc, b);
	ctrl_batch_end(b);
}

/* ---- volumes ---- */

static void vol_reconcile(struct wq *q, const char *key, void *ud)
{
	const cJSON *pv = cache_get(P.pvs, "", key), *ref, *pvc;
	const char *policy;
	struct ctrl_batch *b;

	(void)ud;
	if (!pv) {
		wq_done(q, key, 0);
		return;
	}
	b = ctrl_batch_new(q, key);
	ref = json_path(pv, "spec.claimRef");
	pvc = ref ? cache_get(P.pvcs, json_get_str(ref, "namespace", ""), json_get_str(ref, "name", "")) : NULL;
	if (pvc && json_get(ref, "uid") && strcmp(mstr(pvc, "uid"), json_get_str(ref, "uid", "")))
		pvc = NULL;	/* a new claim of the same name */
	if (json_path(pv, "metadata.deletionTimestamp")) {
		if (has_str(json_path(pv, "metadata.finalizers"), PV_FIN_PV) &&
		    !(pvc && !strcmp(json_get_str(json_get(pvc, "spec"), "volumeName", ""), key)))
			set_finalizer("persistentvolumes", pv, PV_FIN_PV, false, b);
		ctrl_batch_end(b);
		return;
	}
	if (!has_str(json_path(pv, "metadata.finalizers"), PV_FIN_PV))
		set_finalizer("persistentvolumes", pv, PV_FIN_PV, true, b);
	policy = json_get_str(json_get(pv, "spec"), "persistentVolumeReclaimPolicy", "Retain");
	if (!ref || (!pvc && !json_get(ref, "uid"))) {
		volume_phase(pv, "Available", NULL, b);
	} else if (pvc) {
		if (!strcmp(json_get_str(json_get(pvc, "spec"), "volumeName", ""), key))
			volume_phase(pv, "Bound", NULL, b);
		else
			volume_phase(pv, "Available", NULL, b);
	} else if (!strcmp(policy, "Delete") &&
		   !strcmp(json_get_str(json_path(pv, "spec.csi"), "driver", ""), PV_DRIVER)) {
		volume_phase(pv, "Released", NULL, b);
		api_internal_delete(P.m->srv, "", "persistentvolumes", "", key, NULL,
				    ctrl_batch_cb, ctrl_batch_hold(b));
	} else if (!strcmp(policy, "Delete")) {
		volume_phase(pv, "Failed", "error getting deleter volume plugin for volume: no deletable volume plugin matched", b);
	} else {
		volume_phase(pv, "Released", NULL, b);
	}
	ctrl_batch_end(b);
}

/* ---- events ---- */

static void add_claim(const char *ns, const char *name)
{
	char *key;

	if (!*name)
		return;
	key = xasprintf("%s/%s", ns, name);
	wq_add(&P.claim_q, key);
	free(key);
}

static void on_pvc(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *o = new ? new : old;
	const char *vn = json_get_str(json_get(o, "spec"), "volumeName", "");

	(void)st;
	(void)ud;
	add_claim(mstr(o, "namespace"), mstr(o, "name"));
	sched__retry();
	if (*vn)
		wq_add(&P.vol_q, vn);
}

static void on_pv(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *o = new ? new : old, *ref = json_path(o, "spec.claimRef");

	(void)st;
	(void)ud;
	wq_add(&P.vol_q, mstr(o, "name"));
	if (ref)
		add_claim(json_get_str(ref, "namespace", ""), json_get_str(ref, "name", ""));
}

static void claims_of(const cJSON *pod)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, json_path(pod, "spec.volumes")) {
		const char *c = json_get_str(json_get(v, "persistentVolumeClaim"), "claimName", NULL);

		if (c)
			add_claim(mstr(pod, "namespace"), c);
	}
}

static void on_pod(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (old)
		claims_of(old);
	if (new)
		claims_of(new);
}

static void pending_claim(const cJSON *pvc, void *ud)
{
	(void)ud;
	if (!*json_get_str(json_get(pvc, "spec"), "volumeName", ""))
		add_claim(mstr(pvc, "namespace"), mstr(pvc, "name"));
}

static void on_pv_free(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)old;
	(void)ud;
	if (new && !json_path(new, "spec.claimRef"))
		cache_each(P.pvcs, NULL, pending_claim, NULL);
}

void pv__start(struct ctrl_manager *m)
{
	static const char *const drop[] = { "metadata.managedFields", NULL };

	P.m = m;
	P.pvs = cache_add(&m->cache, "", "v1", "persistentvolumes", drop);
	P.pvcs = cache_add(&m->cache, "", "v1", "persistentvolumeclaims", drop);
	P.scs = cache_add(&m->cache, "storage.k8s.io", "v1", "storageclasses", drop);
	if (!P.pvs || !P.pvcs || !P.scs) {
		log_error("pv: cannot cache the storage resources; the PV controller is off");
		return;
	}
	wq_init(&P.claim_q, m->srv->loop, claim_reconcile, NULL);
	wq_init(&P.vol_q, m->srv->loop, vol_reconcile, NULL);
	cache_store_on_event(P.pvcs, on_pvc, NULL);
	cache_store_on_event(P.pvs, on_pv, NULL);
	cache_store_on_event(P.pvs, on_pv_free, NULL);
	cache_store_on_event(m->pods, on_pod, NULL);
	P.started = true;
}

void pv__stop(void)
{
	if (P.started) {
		wq_release(&P.claim_q);
		wq_release(&P.vol_q);
	}
	memset(&P, 0, sizeof(P));
}

/* ---- the scheduler's questions ---- */

int pv__pod_check(const cJSON *pod, char **msg)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, json_path(pod, "spec.volumes")) {
		const char *c = json_get_str(json_get(v, "persistentVolumeClaim"), "claimName", NULL);
		const cJSON *pvc, *sc;

		if (!c || !P.started)
			continue;
		pvc = cache_get(P.pvcs, mstr(pod, "namespace"), c);
		if (!pvc) {
			*msg = xasprintf("persistentvolumeclaim \"%s\" not found", c);
			return -ENOENT;
		}
		if (json_path(pvc, "metadata.deletionTimestamp")) {
			*msg = xasprintf("persistentvolumeclaim \"%s\" is being deleted", c);
			return -ENOENT;
		}
		if (*json_get_str(json_get(pvc, "spec"), "volumeName", ""))
			continue;
		sc = cache_get(P.scs, "", claim_class(pvc));
		if (!sc || strcmp(json_get_str(sc, "volumeBindingMode", ""), "WaitForFirstConsumer")) {
			*msg = xstrdup("pod has unbound immediate PersistentVolumeClaims. preemption: not eligible due the preemption policy=Never.");
			return -EAGAIN;
		}
	}
	return 0;
}

/* The node an unbound claim's restore or clone source lives on, or NULL. */
static const char *source_node(const cJSON *pvc)
{
	const cJSON *ds = json_path(pvc, "spec.dataSourceRef"), *c = NULL;
	const char *kind, *name;

	if (!ds)
		ds = json_path(pvc, "spec.dataSource");
	kind = json_get_str(ds, "kind", "");
	name = json_get_str(ds, "name", "");
	if (!strcmp(kind, "VolumeSnapshot")) {
		const cJSON *vs = snap__get(mstr(pvc, "namespace"), name);

		c = snap__content(json_get_str(json_get(vs, "status"), "boundVolumeSnapshotContentName", ""));
	} else if (!strcmp(kind, "PersistentVolumeClaim")) {
		const cJSON *src = cache_get(P.pvcs, mstr(pvc, "namespace"), name);

		c = src ? pv__volume(json_get_str(json_get(src, "spec"), "volumeName", "")) : NULL;
	}
	return json_get_str(json_path(c, "metadata.annotations"), PV_ANN_NODE, NULL);
}

bool pv__node_fits(const cJSON *pod, const cJSON *node)
{
	const cJSON *v, *t;

	cJSON_ArrayForEach(v, json_path(pod, "spec.volumes")) {
		const char *c = json_get_str(json_get(v, "persistentVolumeClaim"), "claimName", NULL);
		const cJSON *pvc = c && P.started ? cache_get(P.pvcs, mstr(pod, "namespace"), c) : NULL;
		const char *vn = json_get_str(json_get(pvc, "spec"), "volumeName", "");
		const cJSON *pv = *vn ? cache_get(P.pvs, "", vn) : NULL;
		const cJSON *terms = json_path(pv, "spec.nodeAffinity.required.nodeSelectorTerms");
		bool ok = !cJSON_GetArraySize(terms);
		const char *src = pvc && !pv ? source_node(pvc) : NULL;

		cJSON_ArrayForEach(t, terms)
			ok = ok || sched_term_matches(t, node);
		/* a restore or clone is made where its source is */
		if (!ok || (src && strcmp(src, mstr(node, "name"))))
			return false;
	}
	return true;
}

void pv__select_node(const cJSON *pod, const char *node)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, json_path(pod, "spec.volumes")) {
		const char *c = json_get_str(json_get(v, "persistentVolumeClaim"), "claimName", NULL);
		const cJSON *pvc = c && P.started ? cache_get(P.pvcs, mstr(pod, "namespace"), c) : NULL;
		cJSON *patch;

		if (!pvc || *json_get_str(json_get(pvc, "spec"), "volumeName", "") ||
		    json_get(json_path(pvc, "metadata.annotations"), PV_ANN_SELECTED_NODE))
			continue;
		patch = cJSON_CreateObject();
		json_set_str(json_obj(json_obj(patch, "metadata"), "annotations"), PV_ANN_SELECTED_NODE, node);
		api_internal_patch(P.m->srv, "", "persistentvolumeclaims", mstr(pod, "namespace"), c,
				   patch, NULL, NULL);
		cJSON_Delete(patch);
	}
}

void pv__retry_pending(void)
{
	if (P.started)
		cache_each(P.pvcs, NULL, pending_claim, NULL);
}

const cJSON *pv__claim(const char *ns, const char *name)
{
	return P.started ? cache_get(P.pvcs, ns, name) : NULL;
}

const cJSON *pv__volume(const char *name)
{
	return P.started && *name ? cache_get(P.pvs, "", name) : NULL;
}
