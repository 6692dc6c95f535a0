/*
 * agent/storage.c - node side of k1s.io/local volumes: a PV informer, one
 * volume operation at a time on the thread pool, the k1s.io/size and
 * finalizer handshake (agent/storage.h).
 */
#include "storage.h"
#include "lvol.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/quantity.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum stor_op { OP_OPEN, OP_ENSURE, OP_DELETE, OP_SNAP, OP_SNAP_CHECK, OP_SNAP_DELETE };

struct stor_job {
	enum stor_op op;
	char id[LVOL_ID_MAX + 1];	/* volume, or content (snapshots) */
	char src[LVOL_ID_MAX + 1];	/* restore/clone source, snapshot's volume, snapshot handle */
	bool clone;			/* src is a volume (else a snapshot) */
	uint64_t size;
	int64_t when;			/* snapshot time, Unix ns */
	int rc;
	char *err;
};

static struct stor {
	uv_loop_t *loop;
	struct api_client *api;
	struct api_informer *pvs, *contents;
	char *dir, *node;
	struct lvol_store store;
	bool opened, busy, stopping;
	uv_work_t work;
	uv_timer_t retry;
	bool timer_on;
	struct stor_job job;
	struct stor_opts opts;
} *S;

static void sync_volumes(void);

static const char *ann(const cJSON *o, const char *key)
{
	return json_get_str(json_path(o, "metadata.annotations"), key, NULL);
}

static bool ours(const cJSON *pv)
{
	return !strcmp(json_get_str(json_path(pv, "spec.csi"), "driver", ""), STOR_DRIVER) &&
	       !strcmp(ann(pv, STOR_ANN_NODE) ? ann(pv, STOR_ANN_NODE) : "", S->node);
}

static bool has_finalizer(const cJSON *pv)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, json_path(pv, "metadata.finalizers"))
		if (cJSON_IsString(it) && !strcmp(it->valuestring, STOR_FINALIZER))
			return true;
	return false;
}

static int64_t capacity(const cJSON *pv)
{
	struct quantity q;
	const char *err;

	if (quantity_from_json(json_path(pv, "spec.capacity.storage"), &q, &err))
		return -1;
	return quantity_value(&q);
}

static bool volume_exists(const char *id)
{
	char *p;
	struct stat st;
	bool ok;

	if (!S->opened)
		return false;
	p = lvol_path(&S->store, id);
	ok = stat(p, &st) == 0;

	free(p);
	return ok;
}

/* Snapshots live in <pool root>/snapshots/<id> (agent/lvol.h). */
static bool snapshot_exists(const struct stor *s, const char *id)
{
	char *p;
	struct stat st;
	bool ok;

	if (!s->opened)
		return false;
	p = xasprintf("%s/snapshots/%s", s->store.root, id);
	ok = stat(p, &st) == 0;

	free(p);
	return ok;
}

/* ---- the thread pool side ---- */

static void run_job(uv_work_t *w)
{
	struct stor *s = w->data;
	struct stor_job *j = &s->job;

	switch (j->op) {
	case OP_OPEN:
		j->rc = lvol_open(&s->store, s->dir, s->opts.backend, s->opts.pool_size, &j->err);
		break;
	case OP_ENSURE:
		if (*j->src && j->clone)
			j->rc = lvol_clone(&s->store, j->src, j->id, j->size, &j->err);
		else if (*j->src)
			j->rc = lvol_restore(&s->store, j->src, j->id, j->size, &j->err);
		else
			j->rc = lvol_create(&s->store, j->id, j->size, &j->err);
		if (j->rc == -EEXIST) {
			free(j->err);
			j->err = NULL;
			j->rc = lvol_resize(&s->store, j->id, j->size, &j->err);
		}
		break;
	case OP_DELETE:
		j->rc = lvol_delete(&s->store, j->id, &j->err);
		if (j->rc == -ENOENT)
			j->rc = 0;
		break;
	case OP_SNAP: {
		uint64_t used = 0;

		j->when = (int64_t)wall_ns();
		/* the tree walk for the size only when the PV gave none */
		j->rc = lvol_snapshot(&s->store, j->src, j->id, j->size ? NULL : &used, &j->err);
		if (!j->size)
			j->size = used;
		if (j->rc == -EEXIST) {	/* taken before a restart: report it */
			free(j->err);
			j->err = NULL;
			j->rc = 0;
		}
		break;
	}
	case OP_SNAP_CHECK:
		j->when = (int64_t)wall_ns();
		j->rc = snapshot_exists(s, j->src) ? 0 : -ENOENT;
		if (j->rc)
			j->err = xasprintf("snapshot %s does not exist on this node", j->src);
		break;
	case OP_SNAP_DELETE:
		j->rc = *j->src ? lvol_snapshot_delete(&s->store, j->src, &j->err) : 0;
		if (j->rc == -ENOENT) {
			free(j->err);
			j->err = NULL;
			j->rc = 0;
		}
		break;
	}
}

/* ---- the loop side ---- */

static void free_all(void)
{
	free(S->store.dir);
	free(S->store.root);
	free(S->dir);
	free(S->node);
	free(S);
	S = NULL;
}

static void on_timer_closed(uv_handle_t *h)
{
	(void)h;
	if (!S->busy)
		free_all();
	else
		S->timer_on = false;
}

static void on_retry(uv_timer_t *t)
{
	(void)t;
	sync_volumes();
}

static void patched(struct api_result *res, void *ud)
{
	char *what = ud;

	if (!api_result_ok(res))
		log_warn("storage: cannot update %s: HTTP %d %s", what, res->code, res->status.message);
	free(what);
}

static void report_content(const struct stor_job *j)
{
	char *path = api_path(SNAP_GV, "volumesnapshotcontents", NULL, j->id,
			      j->op == OP_SNAP_DELETE ? NULL : "status");
	cJSON *patch = cJSON_CreateObject();
	const cJSON *c = api_informer_get(S->contents, NULL, j->id);

	if (j->op == OP_SNAP_DELETE) {
		cJSON *m = json_obj(patch, "metadata"), *fins = cJSON_CreateArray(), *it;

		cJSON_ArrayForEach(it, json_path(c, "metadata.finalizers"))
			if (cJSON_IsString(it) && strcmp(it->valuestring, STOR_FIN_SNAPSHOT))
				cJSON_AddItemToArray(fins, cJSON_CreateString(it->valuestring));
		json_set(m, "finalizers", fins);
		json_set_str(m, "resourceVersion", json_get_str(json_get(c, "metadata"), "resourceVersion", ""));
	} else {
		cJSON *st = json_obj(patch, "status");

		json_set_str(st, "snapshotHandle", j->src[0] && j->op == OP_SNAP_CHECK ? j->src : j->id);
		json_set_bool(st, "readyToUse", true);
		json_set_int(st, "creationTime", j->when);
		if (j->op == OP_SNAP)
			json_set_int(st, "restoreSize", (int64_t)j->size);
		json_set(st, "error", cJSON_CreateNull());
	}
	api_patch(S->api, path, API_PATCH_MERGE, patch, patched, xasprintf("VolumeSnapshotContent %s", j->id));
	cJSON_Delete(patch);
	free(path);
}

/* status.error of a content whose snapshot failed (not retried until the
 * error is cleared). */
static void report_error(const struct stor_job *j)
{
	char *path = api_path(SNAP_GV, "volumesnapshotcontents", NULL, j->id, "status");
	cJSON *patch = cJSON_CreateObject(), *e = json_obj(json_obj(patch, "status"), "error");
	char t[RFC3339_MAX];

	rfc3339_format((int64_t)wall_ns(), t);
	json_set_str(e, "message", j->err ? j->err : strerror(-j->rc));
	json_set_str(e, "time", t);
	json_set_bool(json_get(patch, "status"), "readyToUse", false);
	api_patch(S->api, path, API_PATCH_MERGE, patch, patched, xasprintf("VolumeSnapshotContent %s", j->id));
	cJSON_Delete(patch);
	free(path);
}

static void report(const struct stor_job *j)
{
	char *path = api_path("v1", "persistentvolumes", NULL, j->id, NULL);
	cJSON *patch = cJSON_CreateObject(), *m = json_obj(patch, "metadata");
	const cJSON *pv = api_informer_get(S->pvs, NULL, j->id);

	if (j->op >= OP_SNAP) {
		cJSON_Delete(patch);
		free(path);
		report_content(j);
		return;
	}
	if (j->op == OP_ENSURE) {
		char size[32];

		snprintf(size, sizeof(size), "%" PRIu64, j->size);
		json_set_str(json_obj(m, "annotations"), STOR_ANN_SIZE, size);
	} else {
		cJSON *fins = cJSON_CreateArray(), *it;

		cJSON_ArrayForEach(it, json_path(pv, "metadata.finalizers"))
			if (cJSON_IsString(it) && strcmp(it->valuestring, STOR_FINALIZER))
				cJSON_AddItemToArray(fins, cJSON_CreateString(it->valuestring));
		json_set(m, "finalizers", fins);
		json_set_str(m, "resourceVersion", json_get_str(json_get(pv, "metadata"), "resourceVersion", ""));
	}
	api_patch(S->api, path, API_PATCH_MERGE, patch, patched, xasprintf("PV %s", j->id));
	cJSON_Delete(patch);
	free(path);
}

static void job_done(uv_work_t *w, int status)
{
	struct stor_job *j = &S->job;

	(void)w;
	S->busy = false;
	if (S->stopping) {
		free(j->err);
		if (!S->timer_on)
			free_all();
		return;
	}
	if (status == 0 && j->rc == 0) {
		if (j->op == OP_OPEN) {
			S->opened = true;
			log_info("storage: volumes in %s (%s backend)", S->store.root,
				 S->store.backend == LVOL_BTRFS ? "btrfs" : "directory");
		} else {
			static const char *const done[] = {
				[OP_ENSURE] = "volume ready", [OP_DELETE] = "volume deleted",
				[OP_SNAP] = "snapshot taken", [OP_SNAP_CHECK] = "snapshot found",
				[OP_SNAP_DELETE] = "snapshot released",
			};

			log_info("storage: %s: %s (%" PRIu64 " bytes)", done[j->op], j->id, j->size);
			report(j);
		}
		free(j->err);
		j->err = NULL;
		sync_volumes();
		return;
	}
	log_warn("storage: volume operation on '%s' failed: %s", j->op == OP_OPEN ? S->dir : j->id,
		 j->err ? j->err : strerror(-j->rc));
	if (j->op == OP_SNAP || j->op == OP_SNAP_CHECK)
		report_error(j);
	free(j->err);
	j->err = NULL;
	uv_timer_start(&S->retry, on_retry, STOR_RETRY_MS, 0);
}

static void start_job(enum stor_op op, const char *id, uint64_t size, const char *src, bool clone)
{
	memset(&S->job, 0, sizeof(S->job));
	S->job.op = op;
	snprintf(S->job.id, sizeof(S->job.id), "%s", id ? id : "");
	snprintf(S->job.src, sizeof(S->job.src), "%s", src ? src : "");
	S->job.clone = clone;
	S->job.size = size;
	S->busy = true;
	S->work.data = S;
	uv_queue_work(S->loop, &S->work, run_job, job_done);
}

struct pick {
	const cJSON *pv;
	enum stor_op op;
	uint64_t size;
	const char *src;
	bool clone;
};

/* The first PV of ours that needs work. */
static void find_work(const cJSON *pv, void *ud)
{
	struct pick *p = ud;
	const char *name = json_get_str(json_get(pv, "metadata"), "name", "");
	const char *done = ann(pv, STOR_ANN_SIZE);
	int64_t cap;
	char want[32];

	if (p->pv || !ours(pv) || strlen(name) > LVOL_ID_MAX)
		return;
	if (json_path(pv, "metadata.deletionTimestamp")) {
		/* once the claim let go: our finalizer is the last one */
		if (has_finalizer(pv) && cJSON_GetArraySize(json_path(pv, "metadata.finalizers")) == 1) {
			p->pv = pv;
			p->op = OP_DELETE;
		}
		return;
	}
	cap = capacity(pv);
	if (cap < 0)
		return;
	snprintf(want, sizeof(want), "%" PRId64, cap);
	if (!done || strcmp(done, want) || !volume_exists(name)) {
		p->pv = pv;
		p->op = OP_ENSURE;
		p->size = (uint64_t)cap;
		if (!volume_exists(name)) {
			p->src = ann(pv, STOR_ANN_CLONE);
			p->clone = p->src != NULL;
			if (!p->src)
				p->src = ann(pv, STOR_ANN_RESTORE);
		}
	}
}

/* The first VolumeSnapshotContent of ours that needs work. */
static void find_snap_work(const cJSON *c, void *ud)
{
	struct pick *p = ud;
	const char *name = json_get_str(json_get(c, "metadata"), "name", "");
	const char *node = ann(c, STOR_ANN_NODE);
	const cJSON *src = json_path(c, "spec.source");
	const char *vol = json_get_str(src, "volumeHandle", NULL), *handle = json_get_str(src, "snapshotHandle", NULL);

	if (p->pv || strcmp(json_get_str(json_get(c, "spec"), "driver", ""), STOR_DRIVER) ||
	    strlen(name) > LVOL_ID_MAX || (node && strcmp(node, S->node)) || (!node && vol))
		return;
	if (json_path(c, "metadata.deletionTimestamp")) {
		const cJSON *fins = json_path(c, "metadata.finalizers");

		if (cJSON_GetArraySize(fins) == 1 && cJSON_IsString(cJSON_GetArrayItem(fins, 0)) &&
		    !strcmp(cJSON_GetArrayItem(fins, 0)->valuestring, STOR_FIN_SNAPSHOT)) {
			p->pv = c;
			p->op = OP_SNAP_DELETE;
			/* Retain keeps the data; the handle is the snapshot's id */
			p->src = strcmp(json_get_str(json_get(c, "spec"), "deletionPolicy", ""), "Delete") ? NULL :
				 json_get_str(json_get(c, "status"), "snapshotHandle", handle);
		}
		return;
	}
	if (json_get_bool(json_get(c, "status"), "readyToUse", false))
		return;
	if (vol && node && !json_path(c, "status.error")) {
		const cJSON *pv = api_informer_get(S->pvs, NULL, vol);

		p->pv = c;
		p->op = OP_SNAP;
		p->src = vol;
		/* restoreSize: the source's size, the least a restore needs */
		p->size = pv && capacity(pv) > 0 ? (uint64_t)capacity(pv) : 0;
	} else if (handle && !node && snapshot_exists(S, handle) && !json_path(c, "status.error")) {
		p->pv = c;
		p->op = OP_SNAP_CHECK;
		p->src = handle;
	}
}

static void sync_volumes(void)
{
	struct pick p = { 0 };

	if (!S || S->busy || S->stopping || uv_is_active((uv_handle_t *)&S->retry))
		return;
	api_informer_foreach(S->pvs, find_work, &p);
	if (!p.pv)
		api_informer_foreach(S->contents, find_snap_work, &p);
	if (!p.pv)
		return;
	/* the pool (a loop-mounted image on non-btrfs data dirs) is set up on
	 * the first volume of this node, not by every agent at start */
	if (!S->opened)
		start_job(OP_OPEN, NULL, 0, NULL, false);
	else
		start_job(p.op, json_get_str(json_get(p.pv, "metadata"), "name", ""), p.size, p.src, p.clone);
}

static void on_add(struct api_informer *inf, const cJSON *obj, void *ud)
{
	(void)inf;
	(void)obj;
	(void)ud;
	sync_volumes();
}

static void on_update(struct api_informer *inf, const cJSON *old, const cJSON *obj, void *ud)
{
	(void)old;
	on_add(inf, obj, ud);
}

int stor_opts_parse(const char *backend, const char *pool_size, struct stor_opts *o, char **err)
{
	static const char *const names[] = {
		[LVOL_AUTO] = "auto", [LVOL_BTRFS] = "btrfs", [LVOL_DIR] = "dir",
	};
	struct quantity q;
	const char *why = NULL;
	size_t i;

	o->backend = LVOL_AUTO;
	o->pool_size = LVOL_DEFAULT_POOL_SIZE;
	for (i = 0; backend && i < ARRAY_SIZE(names) && strcmp(backend, names[i]); i++)
		;
	if (i == ARRAY_SIZE(names)) {
		*err = xasprintf("invalid storage backend '%s' (auto, btrfs or dir)", backend);
		return -EINVAL;
	}
	o->backend = backend ? (enum lvol_backend)i : LVOL_AUTO;
	if (!pool_size)
		return 0;
	if (quantity_parse(pool_size, &q, &why) || quantity_value(&q) < (int64_t)STOR_MIN_POOL_SIZE) {
		*err = xasprintf("invalid storage pool size '%s': %s", pool_size,
				 why ? why : "at least 128Mi expected");
		return -EINVAL;
	}
	o->pool_size = (uint64_t)quantity_value(&q);
	return 0;
}

int stor_start(uv_loop_t *loop, struct api_client *api, const char *data_dir, const char *node,
	       const struct stor_opts *opts)
{
	struct api_informer_opts o = {
		.path = "/api/v1/persistentvolumes",
		.on_add = on_add, .on_update = on_update, .on_delete = on_add, .on_synced = NULL,
	};
	int r;

	if (S)
		return -EALREADY;
	S = xcalloc(1, sizeof(*S));
	S->loop = loop;
	S->api = api;
	S->opts = *opts;
	S->dir = xasprintf("%s/storage", data_dir);
	S->node = xstrdup(node);
	uv_timer_init(loop, &S->retry);
	S->timer_on = true;
	r = api_informer_start(api, &o, &S->pvs);
	o.path = "/apis/" SNAP_GV "/volumesnapshotcontents";
	if (!r)
		r = api_informer_start(api, &o, &S->contents);
	if (r) {
		log_error("storage: cannot watch PersistentVolumes: %s", strerror(-r));
		stor_stop();
		return r;
	}
	return 0;
}

void stor_stop(void)
{
	if (!S)
		return;
	S->stopping = true;
	api_informer_free(S->pvs);
	api_informer_free(S->contents);
	S->pvs = S->contents = NULL;
	uv_close((uv_handle_t *)&S->retry, on_timer_closed);
}

struct claim_find {
	const char *ns, *claim;
	const cJSON *pv;
};

static void find_claim(const cJSON *pv, void *ud)
{
	struct claim_find *f = ud;
	const cJSON *ref = json_path(pv, "spec.claimRef");

	if (!f->pv && !strcmp(json_get_str(ref, "namespace", ""), f->ns) &&
	    !strcmp(json_get_str(ref, "name", ""), f->claim) &&
	    !strcmp(json_get_str(json_get(pv, "status"), "phase", ""), "Bound"))
		f->pv = pv;
}

int stor_claim_path(const char *ns, const char *claim, char **path, char **err)
{
	struct claim_find f = { ns, claim, NULL };
	const char *p;

	*path = NULL;
	if (!S || !S->pvs || !api_informer_synced(S->pvs)) {
		*err = xstrdup("the node's storage is not ready yet");
		return -EAGAIN;
	}
	api_informer_foreach(S->pvs, find_claim, &f);
	if (!f.pv) {
		*err = xasprintf("persistentvolumeclaim \"%s\" is not bound yet", claim);
		return -EAGAIN;
	}
	p = json_get_str(json_path(f.pv, "spec.hostPath"), "path", NULL);
	if (!p)
		p = json_get_str(json_path(f.pv, "spec.local"), "path", NULL);
	if (p) {
		*path = xstrdup(p);
		return 0;
	}
	if (!ours(f.pv)) {
		*err = xasprintf("volume %s is not a k1s.io/local volume of this node",
				 json_get_str(json_get(f.pv, "metadata"), "name", ""));
		return -EINVAL;
	}
	if (!S->opened || !ann(f.pv, STOR_ANN_SIZE) ||
	    !volume_exists(json_get_str(json_get(f.pv, "metadata"), "name", ""))) {
		*err = xasprintf("volume %s is being created", json_get_str(json_get(f.pv, "metadata"), "name", ""));
		return -EAGAIN;
	}
	*path = lvol_path(&S->store, json_get_str(json_get(f.pv, "metadata"), "name", ""));
	return 0;
}
