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
#include "lib/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum stor_op { OP_OPEN, OP_ENSURE, OP_DELETE };

struct stor_job {
	enum stor_op op;
	char id[LVOL_ID_MAX + 1];
	uint64_t size;
	int rc;
	char *err;
};

static struct stor {
	uv_loop_t *loop;
	struct api_client *api;
	struct api_informer *pvs;
	char *dir, *node;
	struct lvol_store store;
	bool opened, busy, stopping;
	uv_work_t work;
	uv_timer_t retry;
	bool timer_on;
	struct stor_job job;
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
	char *p = lvol_path(&S->store, id);
	struct stat st;
	bool ok = stat(p, &st) == 0;

	free(p);
	return ok;
}

/* ---- the thread pool side ---- */

static enum lvol_backend backend_env(void)
{
	const char *b = getenv("K1S_STORAGE_BACKEND");

	if (b && !strcmp(b, "btrfs"))
		return LVOL_BTRFS;
	if (b && !strcmp(b, "dir"))
		return LVOL_DIR;
	return LVOL_AUTO;
}

static void run_job(uv_work_t *w)
{
	struct stor *s = w->data;
	struct stor_job *j = &s->job;
	const char *ps = getenv("K1S_STORAGE_POOL_SIZE");

	switch (j->op) {
	case OP_OPEN:
		j->rc = lvol_open(&s->store, s->dir, backend_env(),
				  ps ? strtoull(ps, NULL, 10) : LVOL_DEFAULT_POOL_SIZE, &j->err);
		break;
	case OP_ENSURE:
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

static void report(const struct stor_job *j)
{
	char *path = api_path("v1", "persistentvolumes", NULL, j->id, NULL);
	cJSON *patch = cJSON_CreateObject(), *m = json_obj(patch, "metadata");
	const cJSON *pv = api_informer_get(S->pvs, NULL, j->id);

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
			log_info("storage: %s volume %s (%" PRIu64 " bytes)",
				 j->op == OP_ENSURE ? "ready:" : "deleted", j->id, j->size);
			report(j);
		}
		free(j->err);
		j->err = NULL;
		sync_volumes();
		return;
	}
	log_warn("storage: volume operation on '%s' failed: %s", j->op == OP_OPEN ? S->dir : j->id,
		 j->err ? j->err : strerror(-j->rc));
	free(j->err);
	j->err = NULL;
	uv_timer_start(&S->retry, on_retry, STOR_RETRY_MS, 0);
}

static void start_job(enum stor_op op, const char *id, uint64_t size)
{
	memset(&S->job, 0, sizeof(S->job));
	S->job.op = op;
	snprintf(S->job.id, sizeof(S->job.id), "%s", id ? id : "");
	S->job.size = size;
	S->busy = true;
	S->work.data = S;
	uv_queue_work(S->loop, &S->work, run_job, job_done);
}

struct pick {
	const cJSON *pv;
	enum stor_op op;
	uint64_t size;
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
	}
}

static void sync_volumes(void)
{
	struct pick p = { 0 };

	if (!S || S->busy || S->stopping || uv_is_active((uv_handle_t *)&S->retry))
		return;
	if (!S->opened) {
		start_job(OP_OPEN, NULL, 0);
		return;
	}
	api_informer_foreach(S->pvs, find_work, &p);
	if (p.pv)
		start_job(p.op, json_get_str(json_get(p.pv, "metadata"), "name", ""), p.size);
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

int stor_start(uv_loop_t *loop, struct api_client *api, const char *data_dir, const char *node)
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
	S->dir = xasprintf("%s/storage", data_dir);
	S->node = xstrdup(node);
	uv_timer_init(loop, &S->retry);
	S->timer_on = true;
	r = api_informer_start(api, &o, &S->pvs);
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
	S->pvs = NULL;
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
