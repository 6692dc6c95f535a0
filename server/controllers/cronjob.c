/*
 * server/controllers/cronjob.c - the CronJob controller (batch/v1).
 *
 * At each scheduled time (cron.h; spec.timeZone "UTC"/"Etc/UTC" or absent
 * for UTC, other zones are taken as the server's local time) after
 * status.lastScheduleTime (or the creation), the most recent missed one is
 * run unless startingDeadlineSeconds has passed: a Job
 * "<cronjob>-<minutes since the epoch>" from spec.jobTemplate, with a
 * controller ownerReference and the
 * batch.kubernetes.io/cronjob-scheduled-timestamp annotation.
 * concurrencyPolicy Allow runs it anyway, Forbid skips it while a Job is
 * active, Replace deletes the active ones first. Finished Jobs beyond
 * successfulJobsHistoryLimit (3) / failedJobsHistoryLimit (1) are deleted,
 * oldest first. status: active (references), lastScheduleTime,
 * lastSuccessfulTime. The key comes back at the next scheduled time.
 */
#include "workload.h"
#include "cron.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

#define ANN_SCHEDULED "batch.kubernetes.io/cronjob-scheduled-timestamp"
#define CJ_MAX_MISSED 100

static struct ctrl_manager *cm;
static struct wq cj_q;

struct cj_jobs {
	const cJSON **active, **ok, **failed;
	size_t n_active, n_ok, n_failed, a1, a2, a3;
	const char *last_success;
};

static const char *job_finished(const cJSON *job)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_path(job, "status.conditions"))
		if ((!strcmp(json_get_str(c, "type", ""), "Complete") ||
		     !strcmp(json_get_str(c, "type", ""), "Failed")) &&
		    !strcmp(json_get_str(c, "status", ""), "True"))
			return json_get_str(c, "type", "");
	return NULL;
}

static void collect(const cJSON *job, void *ud)
{
	struct cj_jobs *j = ud;
	const char *fin = job_finished(job);
	const char *done = json_get_str(json_get(job, "status"), "completionTime", NULL);

	if (json_path(job, "metadata.deletionTimestamp"))
		return;
	if (!fin) {
		ALLOC_GROW(j->active, j->n_active + 1, j->a1);
		j->active[j->n_active++] = job;
	} else if (!strcmp(fin, "Complete")) {
		ALLOC_GROW(j->ok, j->n_ok + 1, j->a2);
		j->ok[j->n_ok++] = job;
		if (done && (!j->last_success || strcmp(done, j->last_success) > 0))
			j->last_success = done;
	} else {
		ALLOC_GROW(j->failed, j->n_failed + 1, j->a3);
		j->failed[j->n_failed++] = job;
	}
}

static int cmp_created(const void *a, const void *b)
{
	return strcmp(wl_meta(*(const cJSON *const *)a, "creationTimestamp"),
		      wl_meta(*(const cJSON *const *)b, "creationTimestamp"));
}

static void delete_job(const cJSON *cj, const cJSON *job, struct ctrl_batch *b)
{
	cJSON *opts = cJSON_CreateObject();

	json_set_str(opts, "propagationPolicy", "Background");
	api_internal_delete(cm->srv, "batch", "jobs", wl_meta(job, "namespace"), wl_meta(job, "name"), opts,
			    ctrl_batch_cb, ctrl_batch_hold(b));
	ctrl_event(cm->srv, cj, "Normal", "SuccessfulDelete", "Deleted job %s", wl_meta(job, "name"));
	cJSON_Delete(opts);
}

static void prune(const cJSON *cj, const cJSON **v, size_t n, int64_t keep, struct ctrl_batch *b)
{
	if (n <= (size_t)(keep < 0 ? 0 : keep))
		return;
	qsort(v, n, sizeof(*v), cmp_created);
	for (size_t i = 0; i + (size_t)keep < n; i++)
		delete_job(cj, v[i], b);
}

/* A Job of that name exists already: that run happened. */
static void job_created(int code, const cJSON *obj, void *ud)
{
	ctrl_batch_cb(code == 409 ? 201 : code, obj, ud);
}

static void create_job(const cJSON *cj, int64_t at, struct ctrl_batch *b)
{
	const cJSON *tmpl = json_path(cj, "spec.jobTemplate");
	cJSON *job = cJSON_CreateObject(), *m, *refs;
	char ts[RFC3339_MAX], *name = xasprintf("%s-%lld", wl_meta(cj, "name"), (long long)(at / 60));

	json_set_str(job, "apiVersion", "batch/v1");
	json_set_str(job, "kind", "Job");
	m = json_obj(job, "metadata");
	json_set_str(m, "name", name);
	json_set_str(m, "namespace", wl_meta(cj, "namespace"));
	if (json_path(tmpl, "metadata.labels"))
		json_set(m, "labels", cJSON_Duplicate(json_path(tmpl, "metadata.labels"), 1));
	if (json_path(tmpl, "metadata.annotations"))
		json_set(m, "annotations", cJSON_Duplicate(json_path(tmpl, "metadata.annotations"), 1));
	rfc3339_format(at * 1000000000LL, ts);
	json_set_str(json_obj(m, "annotations"), ANN_SCHEDULED, ts);
	refs = cJSON_CreateArray();
	cJSON_AddItemToArray(refs, ctrl__owner_ref(cj));
	json_set(m, "ownerReferences", refs);
	json_set(job, "spec", cJSON_Duplicate(json_get(tmpl, "spec"), 1));
	api_internal_create(cm->srv, "batch", "jobs", wl_meta(cj, "namespace"), job, job_created,
			    ctrl_batch_hold(b));
	ctrl_event(cm->srv, cj, "Normal", "SuccessfulCreate", "Created job %s", name);
	cJSON_Delete(job);
	free(name);
}

static cJSON *active_refs(const struct cj_jobs *j)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < j->n_active; i++) {
		cJSON *r = cJSON_CreateObject();

		json_set_str(r, "apiVersion", "batch/v1");
		json_set_str(r, "kind", "Job");
		json_set_str(r, "name", wl_meta(j->active[i], "name"));
		json_set_str(r, "namespace", wl_meta(j->active[i], "namespace"));
		json_set_str(r, "uid", wl_meta(j->active[i], "uid"));
		json_set_str(r, "resourceVersion", wl_meta(j->active[i], "resourceVersion"));
		cJSON_AddItemToArray(a, r);
	}
	return a;
}

static int64_t seconds_of(const char *s)
{
	int64_t ns;

	return s && !rfc3339_parse(s, &ns) ? ns / 1000000000LL : 0;
}

/* The most recent scheduled time in (since, now], or 0; *next the one after now. */
static int64_t due_time(const struct cron *c, int64_t since, int64_t now, bool utc, int64_t *next)
{
	int64_t t = since, last = 0;

	for (int i = 0; i < 100000; i++) {
		t = cron_next(c, t, utc);
		if (t < 0 || t > now)
			break;
		last = t;
	}
	*next = t;
	return last;
}

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX], ts[RFC3339_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns)), *err, *tz;
	const cJSON *cj = cache_get(cm->cronjobs, ns, name), *spec, *deadline;
	struct cj_jobs j = { 0 };
	struct ctrl_batch *b;
	struct cron c;
	int64_t now = (int64_t)(wall_ns() / 1000000000ull), since, due, next = -1;
	const char *policy, *last;
	bool utc;
	cJSON *st;

	(void)ud;
	if (!cj || json_path(cj, "metadata.deletionTimestamp")) {
		wq_done(q, key, 0);
		return;
	}
	spec = json_get(cj, "spec");
	if (cron_parse(json_get_str(spec, "schedule", ""), &c, &err)) {
		ctrl_event(cm->srv, cj, "Warning", "UnparseableSchedule", "unparseable schedule: \"%s\" : %s",
			   json_get_str(spec, "schedule", ""), err);
		wq_done(q, key, 0);
		return;
	}
	tz = json_get_str(spec, "timeZone", "UTC");
	utc = !strcmp(tz, "UTC") || !strcmp(tz, "Etc/UTC");
	cache_each_owned(cm->jobs, wl_meta(cj, "uid"), collect, &j);
	b = ctrl_batch_new(q, key);
	last = json_get_str(json_get(cj, "status"), "lastScheduleTime", NULL);
	since = last ? seconds_of(last) : seconds_of(wl_meta(cj, "creationTimestamp"));
	due = due_time(&c, since, now, utc, &next);
	deadline = json_get(spec, "startingDeadlineSeconds");
	policy = json_get_str(spec, "concurrencyPolicy", "Allow");
	if (due && !json_get_bool(spec, "suspend", false) &&
	    (!cJSON_IsNumber(deadline) || now - due <= (int64_t)deadline->valuedouble)) {
		if (!strcmp(policy, "Forbid") && j.n_active) {
			ctrl_event(cm->srv, cj, "Normal", "JobAlreadyActive",
				   "Not starting job because prior execution is running and concurrency policy is Forbid");
			due = 0;
		} else {
			if (!strcmp(policy, "Replace"))
				for (size_t i = 0; i < j.n_active; i++)
					delete_job(cj, j.active[i], b);
			create_job(cj, due, b);
		}
	}
	st = cJSON_Duplicate(json_get(cj, "status"), 1);
	if (!st)
		st = cJSON_CreateObject();
	if (j.n_active)
		json_set(st, "active", active_refs(&j));
	else
		cJSON_DeleteItemFromObjectCaseSensitive(st, "active");
	if (due) {
		rfc3339_format(due * 1000000000LL, ts);
		json_set_str(st, "lastScheduleTime", ts);
	}
	if (j.last_success)
		json_set_str(st, "lastSuccessfulTime", j.last_success);
	prune(cj, j.ok, j.n_ok, json_get_int(spec, "successfulJobsHistoryLimit", 3), b);
	prune(cj, j.failed, j.n_failed, json_get_int(spec, "failedJobsHistoryLimit", 1), b);
	wl_status_write(cm, "batch", "cronjobs", cj, st, b);
	if (next > now)
		wq_add_after(q, key, (uint64_t)(next - now) * 1000 + 50);
	ctrl_batch_end(b);
	free(j.active);
	free(j.ok);
	free(j.failed);
}

/* ---- events ---- */

static void on_cj(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)old;
	(void)ud;
	if (new)
		wl_enqueue(&cj_q, new);
}

static void on_job(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (old)
		wl_enqueue_controller(&cj_q, old, "CronJob");
	if (new)
		wl_enqueue_controller(&cj_q, new, "CronJob");
}

void cj__start(struct ctrl_manager *m)
{
	cm = m;
	wq_init(&cj_q, m->srv->loop, process, m);
	cache_store_on_event(m->cronjobs, on_cj, m);
	cache_store_on_event(m->jobs, on_job, m);
}

void cj__stop(void)
{
	if (cm)
		wq_release(&cj_q);
	cm = NULL;
}
