/*
 * server/controllers/job.c - the Job controller (NonIndexed and Indexed
 * completion modes).
 *
 * Keeps min(parallelism, completions - succeeded) active pods (parallelism
 * alone for work-queue Jobs without completions); a Job whose pods
 * succeeded `completions` times (work queue: one succeeded and none active)
 * is Complete (conditions SuccessCriteriaMet and Complete, reason
 * CompletionsReached, completionTime); one with more Failed pods than
 * backoffLimit (default 6) or older than activeDeadlineSeconds is Failed
 * (FailureTarget and Failed, reasons BackoffLimitExceeded /
 * DeadlineExceeded) and its active pods are deleted. After a failure, new
 * pods wait 10 s · 2^(failures-1), at most 6 min, as upstream. suspend
 * deletes the active pods (condition Suspended). ttlSecondsAfterFinished
 * deletes a finished Job (foreground) that long after it finished.
 * Indexed Jobs give each pod an index 0..completions-1
 * (batch.kubernetes.io/job-completion-index annotation and label,
 * hostname <job>-<index>) and complete when every index succeeded.
 */
#include "workload.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JOB_BURST 500
#define JOB_BACKOFF_MS 10000
#define JOB_BACKOFF_MAX_MS (6 * 60 * 1000)
#define JOB_MAX_INDEX 100000
#define ANN_INDEX "batch.kubernetes.io/job-completion-index"

static struct ctrl_manager *jm;
static struct wq job_q;

/* Failures seen per job, for the pod backoff. */
static struct jfail {
	char *key;
	int64_t failed;
	uint64_t at_ms;
	struct jfail *next;
} *fails;

static struct jfail *jfail_get(const char *key)
{
	struct jfail *f;

	for (f = fails; f; f = f->next)
		if (!strcmp(f->key, key))
			return f;
	f = xcalloc(1, sizeof(*f));
	f->key = xstrdup(key);
	f->next = fails;
	fails = f;
	return f;
}

static void jfail_forget(const char *key)
{
	for (struct jfail **p = &fails; *p; p = &(*p)->next)
		if (!strcmp((*p)->key, key)) {
			struct jfail *f = *p;

			*p = f->next;
			free(f->key);
			free(f);
			return;
		}
}

struct jpods {
	const cJSON **active;
	size_t n_active, alloc;
	int64_t succeeded, failed, ready;
	bool indexed;
	int64_t completions;
	unsigned char *done, *running;	/* per index (Indexed) */
};

static int64_t pod_index(const cJSON *pod)
{
	/* the label: the pod cache drops annotations */
	const char *s = json_get_str(json_path(pod, "metadata.labels"), ANN_INDEX, NULL);

	return s ? atoll(s) : -1;
}

static void collect(const cJSON *pod, void *ud)
{
	struct jpods *p = ud;
	const char *phase = wl_pod_phase(pod);
	int64_t i = pod_index(pod);
	bool in_range = p->indexed && i >= 0 && i < p->completions;

	if (!strcmp(phase, "Succeeded")) {
		if (!p->indexed || (in_range && !p->done[i]))
			p->succeeded++;
		if (in_range)
			p->done[i] = 1;
	} else if (!strcmp(phase, "Failed")) {
		p->failed++;
	} else if (!json_path(pod, "metadata.deletionTimestamp")) {
		ALLOC_GROW(p->active, p->n_active + 1, p->alloc);
		p->active[p->n_active++] = pod;
		p->ready += ctrl__pod_ready(pod);
		if (in_range)
			p->running[i] = 1;
	}
}

static bool has_condition(const cJSON *job, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_path(job, "status.conditions"))
		if (!strcmp(json_get_str(c, "type", ""), type) &&
		    !strcmp(json_get_str(c, "status", ""), "True"))
			return true;
	return false;
}

static bool has_type(const cJSON *job, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_path(job, "status.conditions"))
		if (!strcmp(json_get_str(c, "type", ""), type))
			return true;
	return false;
}

static int64_t time_of(const char *s)
{
	int64_t ns;

	return s && !rfc3339_parse(s, &ns) ? ns : 0;
}

/* A finished Job: its TTL. */
static void finished(struct wq *q, const char *key, const cJSON *job)
{
	const cJSON *ttl = json_path(job, "spec.ttlSecondsAfterFinished"), *c;
	int64_t at = time_of(json_get_str(json_get(job, "status"), "completionTime", NULL)), due;

	cJSON_ArrayForEach(c, json_path(job, "status.conditions"))
		if (!at && !strcmp(json_get_str(c, "type", ""), "Failed"))
			at = time_of(json_get_str(c, "lastTransitionTime", NULL));
	if (!cJSON_IsNumber(ttl) || !at) {
		wq_done(q, key, 0);
		return;
	}
	due = at + (int64_t)ttl->valuedouble * 1000000000LL - (int64_t)wall_ns();
	if (due > 0) {
		wq_add_after(q, key, (uint64_t)due / 1000000 + 1);
		wq_done(q, key, 0);
	} else {
		struct ctrl_batch *b = ctrl_batch_new(q, key);
		cJSON *opts = cJSON_CreateObject();

		json_set_str(opts, "propagationPolicy", "Foreground");
		api_internal_delete(jm->srv, "batch", "jobs", wl_meta(job, "namespace"), wl_meta(job, "name"),
				    opts, ctrl_batch_cb, ctrl_batch_hold(b));
		cJSON_Delete(opts);
		ctrl_batch_end(b);
	}
}

static cJSON *base_status(const cJSON *job, const struct jpods *p, const char *start)
{
	cJSON *st = cJSON_CreateObject();
	const cJSON *conds = json_path(job, "status.conditions");

	if (conds)
		json_set(st, "conditions", cJSON_Duplicate(conds, 1));
	json_set_str(st, "startTime", start);
	if (p->n_active)
		json_set_int(st, "active", (int64_t)p->n_active);
	if (p->succeeded)
		json_set_int(st, "succeeded", p->succeeded);
	if (p->failed)
		json_set_int(st, "failed", p->failed);
	json_set_int(st, "ready", p->ready);
	if (p->indexed) {
		struct buf b = BUF_INIT;

		for (int64_t i = 0; i < p->completions; i++) {
			int64_t j = i;

			if (!p->done[i])
				continue;
			while (j + 1 < p->completions && p->done[j + 1])
				j++;
			buf_addf(&b, "%s%lld", b.len ? "," : "", (long long)i);
			if (j > i)
				buf_addf(&b, "-%lld", (long long)j);
			i = j;
		}
		if (b.len)
			json_set_str(st, "completedIndexes", b.data);
		buf_release(&b);
	}
	return st;
}

/* Replaces or adds a condition in st's list (times kept when unchanged). */
static void condition(cJSON *st, const cJSON *job, const char *type, const char *status,
		      const char *reason, const char *msg)
{
	cJSON *conds = json_get(st, "conditions"), *out = cJSON_CreateArray(), *c;

	cJSON_ArrayForEach(c, conds)
		if (strcmp(json_get_str(c, "type", ""), type))
			cJSON_AddItemToArray(out, cJSON_Duplicate(c, 1));
	wl_condition(out, json_path(job, "status.conditions"), type, status, reason, msg);
	json_set(st, "conditions", out);
}

static void end_job(const cJSON *job, const struct jpods *p, cJSON *st, bool ok, const char *reason,
		    const char *msg, struct ctrl_batch *b)
{
	char now[RFC3339_MAX];

	rfc3339_format((int64_t)wall_ns(), now);
	if (ok) {
		condition(st, job, "SuccessCriteriaMet", "True", reason, msg);
		condition(st, job, "Complete", "True", reason, msg);
		json_set_str(st, "completionTime", now);
		ctrl_event(jm->srv, job, "Normal", "Completed", "Job completed");
	} else {
		condition(st, job, "FailureTarget", "True", reason, msg);
		condition(st, job, "Failed", "True", reason, msg);
		ctrl_event(jm->srv, job, "Warning", reason, "%s", msg);
		for (size_t i = 0; i < p->n_active; i++)
			wl_pod_delete(jm, job, p->active[i], b);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(st, "active");
}

static uint64_t backoff_left(const char *key, int64_t failed)
{
	struct jfail *f = jfail_get(key);
	uint64_t now = uv_now(jm->srv->loop), wait = JOB_BACKOFF_MS;

	if (failed > f->failed) {
		f->failed = failed;
		f->at_ms = now;
	}
	if (!failed)
		return 0;
	for (int64_t i = 1; i < failed && wait < JOB_BACKOFF_MAX_MS; i++)
		wait *= 2;
	if (wait > JOB_BACKOFF_MAX_MS)
		wait = JOB_BACKOFF_MAX_MS;
	return f->at_ms + wait > now ? f->at_ms + wait - now : 0;
}

static void create_pods(const cJSON *job, struct jpods *p, int64_t n, struct ctrl_batch *b)
{
	const cJSON *tmpl = json_path(job, "spec.template");

	for (int64_t k = 0, i = 0; k < n && k < JOB_BURST; k++) {
		cJSON *pod = wl_pod_new(job, tmpl, NULL);

		if (p->indexed) {
			char idx[24], *host;

			while (i < p->completions && (p->done[i] || p->running[i]))
				i++;
			if (i >= p->completions) {
				cJSON_Delete(pod);
				break;
			}
			snprintf(idx, sizeof(idx), "%lld", (long long)i);
			json_set_str(json_obj(json_obj(pod, "metadata"), "annotations"), ANN_INDEX, idx);
			json_set_str(json_obj(json_obj(pod, "metadata"), "labels"), ANN_INDEX, idx);
			host = xasprintf("%s-%s", wl_meta(job, "name"), idx);
			json_set_str(json_obj(pod, "spec"), "hostname", host);
			free(host);
			p->running[i++] = 1;
		}
		wl_pod_create(jm, job, pod, b);
		cJSON_Delete(pod);
	}
}

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX], now[RFC3339_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *job = cache_get(jm->jobs, ns, name), *spec, *deadline;
	struct jpods p = { 0 };
	struct ctrl_batch *b;
	const char *start;
	int64_t par, want, limit;
	bool has_completions;
	cJSON *st;

	(void)ud;
	if (!job || json_path(job, "metadata.deletionTimestamp")) {
		jfail_forget(key);
		wq_done(q, key, 0);
		return;
	}
	if (has_condition(job, "Complete") || has_condition(job, "Failed")) {
		finished(q, key, job);
		return;
	}
	spec = json_get(job, "spec");
	has_completions = cJSON_IsNumber(json_get(spec, "completions"));
	p.completions = json_get_int(spec, "completions", 1);
	p.indexed = has_completions && !strcmp(json_get_str(spec, "completionMode", ""), "Indexed") &&
		    p.completions > 0 && p.completions <= JOB_MAX_INDEX;
	if (p.indexed) {
		p.done = xcalloc((size_t)p.completions, 1);
		p.running = xcalloc((size_t)p.completions, 1);
	}
	wl_each_pod(jm, job, collect, &p);
	rfc3339_format((int64_t)wall_ns(), now);
	start = json_get_str(json_get(job, "status"), "startTime", now);
	st = base_status(job, &p, start);
	b = ctrl_batch_new(q, key);
	deadline = json_get(spec, "activeDeadlineSeconds");
	limit = json_get_int(spec, "backoffLimit", 6);
	par = json_get_int(spec, "parallelism", 1);
	if (cJSON_IsNumber(deadline) &&
	    time_of(start) + (int64_t)deadline->valuedouble * 1000000000LL <= (int64_t)wall_ns()) {
		end_job(job, &p, st, false, "DeadlineExceeded", "Job was active longer than specified deadline", b);
	} else if (p.failed > limit) {
		end_job(job, &p, st, false, "BackoffLimitExceeded", "Job has reached the specified backoff limit", b);
	} else if ((has_completions && p.succeeded >= p.completions) ||
		   (!has_completions && p.succeeded > 0 && !p.n_active)) {
		end_job(job, &p, st, true, "CompletionsReached", "Reached expected number of succeeded pods", b);
	} else {
		bool suspend = json_get_bool(spec, "suspend", false);
		uint64_t wait;

		want = has_completions ? p.completions - p.succeeded : par;
		if (!has_completions && p.succeeded)
			want = 0;	/* work queue: one success ends it, no new pods */
		if (want > par)
			want = par;
		if (suspend)
			want = 0;
		if (suspend || has_type(job, "Suspended"))
			condition(st, job, "Suspended", suspend ? "True" : "False",
				  suspend ? "JobSuspended" : "JobResumed",
				  suspend ? "Job suspended" : "Job resumed");
		wait = backoff_left(key, p.failed);
		if ((int64_t)p.n_active < want && wait)
			wq_add_after(q, key, wait);
		else if ((int64_t)p.n_active < want)
			create_pods(job, &p, want - (int64_t)p.n_active, b);
		for (int64_t i = want; i < (int64_t)p.n_active; i++)
			wl_pod_delete(jm, job, p.active[i], b);
		if (cJSON_IsNumber(deadline))
			wq_add_after(q, key, (uint64_t)(time_of(start) / 1000000 +
						      (int64_t)deadline->valuedouble * 1000 -
						      (int64_t)(wall_ns() / 1000000)) + 1);
	}
	wl_status_write(jm, "batch", "jobs", job, st, b);
	ctrl_batch_end(b);
	free(p.active);
	free(p.done);
	free(p.running);
}

/* ---- events ---- */

static void on_job(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)old;
	(void)ud;
	if (new)
		wl_enqueue(&job_q, new);
}

static void on_pod(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (old)
		wl_enqueue_controller(&job_q, old, "Job");
	if (new)
		wl_enqueue_controller(&job_q, new, "Job");
}

void job__start(struct ctrl_manager *m)
{
	jm = m;
	wq_init(&job_q, m->srv->loop, process, m);
	cache_store_on_event(m->jobs, on_job, m);
	cache_store_on_event(m->pods, on_pod, m);
}

void job__stop(void)
{
	if (jm)
		wq_release(&job_q);
	while (fails)
		jfail_forget(fails->key);
	jm = NULL;
}
