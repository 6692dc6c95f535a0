/*
 * server/controllers/snapshot.c - the snapshot controller for
 * snapshot.storage.k8s.io/v1 (the part of the external-snapshotter's
 * snapshot-controller and csi-snapshotter sidecar that does not touch
 * data; the node's agent takes and deletes the btrfs snapshots, see
 * agent/storage.c and docs/storage.md).
 *
 * The kinds are CRDs (server/volsnap.h) served some time after start, so
 * this controller has its own cache, started by a timer once the three
 * resources are in the registry; it then makes the default
 * VolumeSnapshotClass `local` if it is missing (unless --disable
 * local-storage).
 *
 * A VolumeSnapshot of a PVC gets the default class when none is named,
 * then a VolumeSnapshotContent snapcontent-<snapshot uid> (source
 * volumeHandle = the PV, annotation k1s.io/node = the PV's node, the
 * finalizers volumesnapshotcontent-bound-protection and
 * k1s.io/local-snapshot); the agent fills the content's status
 * (snapshotHandle, readyToUse, creationTime in Unix ns, restoreSize in
 * bytes) and this controller copies it into the snapshot's status. The
 * PVC carries pvc-as-source-protection until the snapshot is ready.
 * A snapshot naming a content (pre-provisioned) binds to it when the
 * content's volumeSnapshotRef names it. Deleting a snapshot deletes its
 * content when the policy is Delete; its finalizers go once the content is
 * gone (Delete) or at once (Retain).
 */
#include "ctrl_priv.h"
#include "../apiserver.h"
#include "../server.h"
#include "../volsnap.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/quantity.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define FIN_AS_SOURCE "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection"
#define FIN_BOUND "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
#define FIN_CONTENT "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
#define FIN_PVC_SOURCE "snapshot.storage.kubernetes.io/pvc-as-source-protection"
#define ANN_DEFAULT "snapshot.storage.kubernetes.io/is-default-class"
#define SNAP_WAIT_MS 200	/* polls for the CRDs being served */

static struct {
	struct ctrl_manager *m;
	struct cache cache;
	struct cache_store *vs, *vsc, *cls;
	struct wq snap_q, content_q;
	uv_timer_t wait;
	bool timer, running;
} V;

static const char *mstr(const cJSON *o, const char *key)
{
	return json_get_str(json_get(o, "metadata"), key, "");
}

static bool has_fin(const cJSON *o, const char *fin)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, json_path(o, "metadata.finalizers"))
		if (cJSON_IsString(it) && !strcmp(it->valuestring, fin))
			return true;
	return false;
}

/* Adds or removes fin on obj of group/plural when needed. */
static void finalizer(const char *group, const char *plural, const cJSON *obj, const char *fin,
		      bool on, struct ctrl_batch *b)
{
	cJSON *dup, *out, *it;

	if (has_fin(obj, fin) == on)
		return;
	dup = cJSON_Duplicate(obj, 1);
	out = cJSON_CreateArray();
	cJSON_ArrayForEach(it, json_path(dup, "metadata.finalizers"))
		if (cJSON_IsString(it) && strcmp(it->valuestring, fin))
			cJSON_AddItemToArray(out, cJSON_CreateString(it->valuestring));
	if (on)
		cJSON_AddItemToArray(out, cJSON_CreateString(fin));
	json_set(json_obj(dup, "metadata"), "finalizers", out);
	ctrl__patch_meta(V.m->srv, group, plural, dup, b);
	cJSON_Delete(dup);
}

const cJSON *snap__get(const char *ns, const char *name)
{
	return V.running ? cache_get(V.vs, ns, name) : NULL;
}

const cJSON *snap__content(const char *name)
{
	return V.running && *name ? cache_get(V.vsc, "", name) : NULL;
}

static void find_default(const cJSON *c, void *ud)
{
	const cJSON **out = ud;

	if (!strcmp(json_get_str(json_path(c, "metadata.annotations"), ANN_DEFAULT, ""), "true") &&
	    !strcmp(json_get_str(c, "driver", ""), PV_DRIVER) &&
	    (!*out || strcmp(mstr(c, "name"), mstr(*out, "name")) < 0))
		*out = c;
}

/* ---- snapshots ---- */

/* The snapshot's status as its content says. */
static cJSON *status_from(const cJSON *vs, const cJSON *content, const char *cname)
{
	cJSON *st = cJSON_Duplicate(json_get(vs, "status"), 1);
	const cJSON *cs = json_get(content, "status");

	if (!st)
		st = cJSON_CreateObject();
	json_set_str(st, "boundVolumeSnapshotContentName", cname);
	json_set_bool(st, "readyToUse", json_get_bool(cs, "readyToUse", false));
	if (json_get(cs, "creationTime")) {
		char t[RFC3339_MAX];

		rfc3339_format(json_get_int(cs, "creationTime", 0), t);
		json_set_str(st, "creationTime", t);
	}
	if (json_get(cs, "restoreSize")) {
		struct quantity q;
		char s[QUANTITY_STR_MAX];

		quantity_init(&q, json_get_int(cs, "restoreSize", 0), 0, QUANTITY_BINARY_SI);
		quantity_format(&q, s, sizeof(s));
		json_set_str(st, "restoreSize", s);
	}
	if (json_get(cs, "error"))
		json_set(st, "error", cJSON_Duplicate(json_get(cs, "error"), 1));
	else if (json_get(st, "error"))
		cJSON_DeleteItemFromObject(st, "error");
	return st;
}

static void set_status(const cJSON *vs, cJSON *st, struct ctrl_batch *b)
{
	cJSON *patch;

	if (json_equal(st, json_get(vs, "status"))) {
		cJSON_Delete(st);
		return;
	}
	patch = cJSON_CreateObject();
	json_set(patch, "status", st);
	api_internal_patch_sub(V.m->srv, VOLSNAP_GROUP, "volumesnapshots", mstr(vs, "namespace"),
			       mstr(vs, "name"), "status", false, patch, ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(patch);
}

static void snap_error(const cJSON *vs, const char *msg, struct ctrl_batch *b)
{
	cJSON *st = cJSON_Duplicate(json_get(vs, "status"), 1), *e;
	char t[RFC3339_MAX];

	if (!st)
		st = cJSON_CreateObject();
	json_set_bool(st, "readyToUse", false);
	if (!strcmp(json_get_str(json_path(st, "error"), "message", ""), msg)) {
		cJSON_Delete(st);
		return;
	}
	e = json_obj(st, "error");
	rfc3339_format((int64_t)wall_ns(), t);
	json_set_str(e, "message", msg);
	json_set_str(e, "time", t);
	ctrl_event(V.m->srv, vs, "Warning", "SnapshotFailed", "%s", msg);
	set_status(vs, st, b);
}

static void new_content(const cJSON *vs, const cJSON *pv, const cJSON *cls, const char *cname,
			struct ctrl_batch *b)
{
	cJSON *c = cJSON_CreateObject(), *m = json_obj(c, "metadata"), *spec = json_obj(c, "spec");
	cJSON *ref = json_obj(spec, "volumeSnapshotRef");
	const char *fins[] = { FIN_CONTENT, STOR_FIN_SNAPSHOT };

	json_set_str(c, "apiVersion", VOLSNAP_GROUP "/v1");
	json_set_str(c, "kind", "VolumeSnapshotContent");
	json_set_str(m, "name", cname);
	json_set_str(json_obj(m, "annotations"), PV_ANN_NODE,
		     json_get_str(json_path(pv, "metadata.annotations"), PV_ANN_NODE, ""));
	json_set(m, "finalizers", cJSON_CreateStringArray(fins, 2));
	json_set_str(spec, "deletionPolicy", json_get_str(cls, "deletionPolicy", "Delete"));
	json_set_str(spec, "driver", PV_DRIVER);
	json_set_str(json_obj(spec, "source"), "volumeHandle", mstr(pv, "name"));
	json_set_str(spec, "sourceVolumeMode", "Filesystem");
	json_set_str(spec, "volumeSnapshotClassName", mstr(cls, "name"));
	json_set_str(ref, "kind", "VolumeSnapshot");
	json_set_str(ref, "apiVersion", VOLSNAP_GROUP "/v1");
	json_set_str(ref, "namespace", mstr(vs, "namespace"));
	json_set_str(ref, "name", mstr(vs, "name"));
	json_set_str(ref, "uid", mstr(vs, "uid"));
	json_set_str(ref, "resourceVersion", mstr(vs, "resourceVersion"));
	api_internal_create(V.m->srv, VOLSNAP_GROUP, "volumesnapshotcontents", "", c,
			    ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(c);
}

static void snap_deleting(const cJSON *vs, const cJSON *content, struct ctrl_batch *b)
{
	bool retain = content && strcmp(json_get_str(json_get(content, "spec"), "deletionPolicy", ""), "Delete");
	const char *pvc = json_get_str(json_path(vs, "spec.source"), "persistentVolumeClaimName", NULL);
	const cJSON *claim = pvc ? pv__claim(mstr(vs, "namespace"), pvc) : NULL;

	if (claim)
		finalizer("", "persistentvolumeclaims", claim, FIN_PVC_SOURCE, false, b);
	if (content && !retain && !json_path(content, "metadata.deletionTimestamp"))
		api_internal_delete(V.m->srv, VOLSNAP_GROUP, "volumesnapshotcontents", "",
				    mstr(content, "name"), NULL, ctrl_batch_cb, ctrl_batch_hold(b));
	if (!content || retain) {
		cJSON *dup = cJSON_Duplicate(vs, 1);

		if (has_fin(vs, FIN_BOUND) || has_fin(vs, FIN_AS_SOURCE)) {
			cJSON *out = cJSON_CreateArray(), *it;

			cJSON_ArrayForEach(it, json_path(vs, "metadata.finalizers"))
				if (cJSON_IsString(it) && strcmp(it->valuestring, FIN_BOUND) &&
				    strcmp(it->valuestring, FIN_AS_SOURCE))
					cJSON_AddItemToArray(out, cJSON_CreateString(it->valuestring));
			json_set(json_obj(dup, "metadata"), "finalizers", out);
			ctrl__patch_meta(V.m->srv, VOLSNAP_GROUP, "volumesnapshots", dup, b);
		}
		cJSON_Delete(dup);
	}
}

/* A snapshot of a PVC: class, content, the PVC's protection. */
static void snap_dynamic(const cJSON *vs, const char *claim, const cJSON *content, const char *cname,
			 struct ctrl_batch *b)
{
	const char *ns = mstr(vs, "namespace");
	const cJSON *pvc = pv__claim(ns, claim), *pv, *cls = NULL;
	const char *cn = json_get_str(json_get(vs, "spec"), "volumeSnapshotClassName", NULL);
	bool ready = json_get_bool(json_get(content, "status"), "readyToUse", false);

	if (pvc)
		finalizer("", "persistentvolumeclaims", pvc, FIN_PVC_SOURCE, !ready, b);
	if (content)
		return;
	if (!cn) {
		cache_each(V.cls, NULL, find_default, &cls);
		if (!cls) {
			snap_error(vs, "Failed to get default snapshot class with error cannot find default snapshot class", b);
			return;
		}
		cJSON *patch = cJSON_CreateObject();

		json_set_str(json_obj(patch, "spec"), "volumeSnapshotClassName", mstr(cls, "name"));
		api_internal_patch(V.m->srv, VOLSNAP_GROUP, "volumesnapshots", ns, mstr(vs, "name"), patch,
				   ctrl_batch_cb, ctrl_batch_hold(b));
		cJSON_Delete(patch);
		return;
	}
	cls = cache_get(V.cls, "", cn);
	if (!cls) {
		char *m = xasprintf("Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io \"%s\" not found", cn);

		snap_error(vs, m, b);
		free(m);
		return;
	}
	pv = pvc ? pv__volume(json_get_str(json_get(pvc, "spec"), "volumeName", "")) : NULL;
	if (!pvc || !pv || strcmp(json_get_str(json_get(pvc, "status"), "phase", ""), "Bound")) {
		char *m = xasprintf("failed to get input parameters to create snapshot %s: \"the PVC %s is not yet bound to a PV, will not attempt to take a snapshot\"",
				    mstr(vs, "name"), claim);

		snap_error(vs, m, b);
		free(m);
		return;
	}
	if (strcmp(json_get_str(json_path(pv, "spec.csi"), "driver", ""), json_get_str(cls, "driver", ""))) {
		snap_error(vs, "the PersistentVolume's driver does not match the VolumeSnapshotClass's driver", b);
		return;
	}
	new_content(vs, pv, cls, cname, b);
	ctrl_event(V.m->srv, vs, "Normal", "CreatingSnapshot",
		   "Waiting for a snapshot %s/%s to be created by the CSI driver.", ns, mstr(vs, "name"));
}

static void snap_reconcile(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *vs = cache_get(V.vs, ns, name), *src, *content;
	const char *claim, *pre;
	char *cname;
	struct ctrl_batch *b;

	(void)ud;
	if (!vs) {
		wq_done(q, key, 0);
		return;
	}
	b = ctrl_batch_new(q, key);
	src = json_path(vs, "spec.source");
	claim = json_get_str(src, "persistentVolumeClaimName", NULL);
	pre = json_get_str(src, "volumeSnapshotContentName", NULL);
	cname = pre ? xstrdup(pre) : xasprintf("snapcontent-%s", mstr(vs, "uid"));
	content = cache_get(V.vsc, "", cname);
	if (content && pre) {
		const cJSON *ref = json_path(content, "spec.volumeSnapshotRef");

		if (strcmp(json_get_str(ref, "name", ""), name) || strcmp(json_get_str(ref, "namespace", ""), ns))
			content = NULL;	/* names another snapshot: not ours */
	}
	if (json_path(vs, "metadata.deletionTimestamp")) {
		snap_deleting(vs, content, b);
	} else {
		finalizer(VOLSNAP_GROUP, "volumesnapshots", vs, FIN_AS_SOURCE, true, b);
		if (content)
			finalizer(VOLSNAP_GROUP, "volumesnapshots", vs, FIN_BOUND, true, b);
		if (claim)
			snap_dynamic(vs, claim, content, cname, b);
		if (content)
			set_status(vs, status_from(vs, content, cname), b);
		else if (pre)
			snap_error(vs, "VolumeSnapshotContent is missing", b);
	}
	free(cname);
	ctrl_batch_end(b);
}

/* ---- contents ---- */

static void content_reconcile(struct wq *q, const char *key, void *ud)
{
	const cJSON *c = cache_get(V.vsc, "", key), *ref, *vs;
	struct ctrl_batch *b;
	bool del;

	(void)ud;
	if (!c) {
		wq_done(q, key, 0);
		return;
	}
	b = ctrl_batch_new(q, key);
	ref = json_path(c, "spec.volumeSnapshotRef");
	vs = cache_get(V.vs, json_get_str(ref, "namespace", ""), json_get_str(ref, "name", ""));
	if (vs && json_get(ref, "uid") && strcmp(mstr(vs, "uid"), json_get_str(ref, "uid", "")))
		vs = NULL;
	del = !strcmp(json_get_str(json_get(c, "spec"), "deletionPolicy", ""), "Delete");
	if (json_path(c, "metadata.deletionTimestamp") || !vs || json_path(vs, "metadata.deletionTimestamp")) {
		finalizer(VOLSNAP_GROUP, "volumesnapshotcontents", c, FIN_CONTENT, false, b);
		/* the snapshot it was bound to is gone: Delete removes it too */
		if (!vs && json_get(ref, "uid") && del && !json_path(c, "metadata.deletionTimestamp"))
			api_internal_delete(V.m->srv, VOLSNAP_GROUP, "volumesnapshotcontents", "", key, NULL,
					    ctrl_batch_cb, ctrl_batch_hold(b));
	} else {
		finalizer(VOLSNAP_GROUP, "volumesnapshotcontents", c, FIN_CONTENT, true, b);
		if (!strcmp(json_get_str(json_get(c, "spec"), "driver", ""), PV_DRIVER))
			finalizer(VOLSNAP_GROUP, "volumesnapshotcontents", c, STOR_FIN_SNAPSHOT, true, b);
	}
	ctrl_batch_end(b);
}

/* ---- events and start ---- */

static void on_vs(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	char *key = cache_key_of(new ? new : old);

	(void)st;
	(void)ud;
	wq_add(&V.snap_q, key);
	free(key);
	sched__retry();
	if (new && json_get_bool(json_get(new, "status"), "readyToUse", false) &&
	    !json_get_bool(json_get(old, "status"), "readyToUse", false))
		pv__retry_pending();
}

static void add_snapshot(const cJSON *vs, void *ud)
{
	const char *cname = ud;
	char *key;

	if (strcmp(json_get_str(json_get(vs, "status"), "boundVolumeSnapshotContentName", ""), cname) &&
	    strcmp(json_get_str(json_path(vs, "spec.source"), "volumeSnapshotContentName", ""), cname) &&
	    !strstr(cname, mstr(vs, "uid")))
		return;
	key = cache_key_of(vs);
	wq_add(&V.snap_q, key);
	free(key);
}

static void on_vsc(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *o = new ? new : old, *ref = json_path(o, "spec.volumeSnapshotRef");

	(void)st;
	(void)ud;
	wq_add(&V.content_q, mstr(o, "name"));
	if (ref && *json_get_str(ref, "name", "")) {
		char *key = xasprintf("%s/%s", json_get_str(ref, "namespace", ""), json_get_str(ref, "name", ""));

		wq_add(&V.snap_q, key);
		free(key);
	}
	cache_each(V.vs, NULL, add_snapshot, (void *)mstr(o, "name"));
}

static void add_any(const cJSON *vs, void *ud)
{
	char *key = cache_key_of(vs);

	(void)ud;
	wq_add(&V.snap_q, key);
	free(key);
}

/* A class came or changed: snapshots waiting for a (default) class retry. */
static void on_class(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)old;
	(void)new;
	(void)ud;
	cache_each(V.vs, NULL, add_any, NULL);
}

static void default_class(void)
{
	cJSON *c = cJSON_CreateObject(), *m = json_obj(c, "metadata");

	json_set_str(c, "apiVersion", VOLSNAP_GROUP "/v1");
	json_set_str(c, "kind", "VolumeSnapshotClass");
	json_set_str(m, "name", "local");
	json_set_str(json_obj(m, "annotations"), ANN_DEFAULT, "true");
	json_set_str(c, "driver", PV_DRIVER);
	json_set_str(c, "deletionPolicy", "Delete");
	api_internal_create(V.m->srv, VOLSNAP_GROUP, "volumesnapshotclasses", "", c, NULL, NULL);
	cJSON_Delete(c);
}

static void on_wait(uv_timer_t *t)
{
	static const char *const drop[] = { "metadata.managedFields", NULL };

	if (!registry_find(VOLSNAP_GROUP, "v1", "volumesnapshots") ||
	    !registry_find(VOLSNAP_GROUP, "v1", "volumesnapshotcontents") ||
	    !registry_find(VOLSNAP_GROUP, "v1", "volumesnapshotclasses"))
		return;	/* not served yet: the timer repeats */
	uv_timer_stop(t);
	cache_init(&V.cache, V.m->srv);
	V.vs = cache_add(&V.cache, VOLSNAP_GROUP, "v1", "volumesnapshots", drop);
	V.vsc = cache_add(&V.cache, VOLSNAP_GROUP, "v1", "volumesnapshotcontents", drop);
	V.cls = cache_add(&V.cache, VOLSNAP_GROUP, "v1", "volumesnapshotclasses", drop);
	wq_init(&V.snap_q, V.m->srv->loop, snap_reconcile, NULL);
	wq_init(&V.content_q, V.m->srv->loop, content_reconcile, NULL);
	cache_store_on_event(V.vs, on_vs, NULL);
	cache_store_on_event(V.vsc, on_vsc, NULL);
	cache_store_on_event(V.cls, on_class, NULL);
	V.running = true;
	if (cache_start(&V.cache)) {
		log_error("snapshot controller: cannot fill its cache");
		return;
	}
	if (!server_component_disabled(V.m->srv->cfg, "local-storage") && !cache_get(V.cls, "", "local"))
		default_class();
	log_info("snapshot controller started");
}

void snap__start(struct ctrl_manager *m)
{
	V.m = m;
	uv_timer_init(m->srv->loop, &V.wait);
	V.timer = true;
	uv_timer_start(&V.wait, on_wait, 0, SNAP_WAIT_MS);
}

void snap__stop(void)
{
	if (V.timer) {
		uv_timer_stop(&V.wait);
		uv_close((uv_handle_t *)&V.wait, NULL);
	}
	if (V.running) {
		wq_release(&V.snap_q);
		wq_release(&V.content_q);
		cache_release(&V.cache);
	}
	memset(&V, 0, sizeof(V));
}
