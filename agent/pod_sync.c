/*
 * agent/pod_sync.c - the per-pod state machine, on the agent's loop.
 *
 * pod__sync() looks at what the pod wants and what runs, and starts at most
 * one step, most of them a work item on the thread pool:
 *   terminating -> preStop hooks, then teardown (SIGTERM, grace, SIGKILL,
 *                  remove containers, sandbox, network), then the final
 *                  DELETE of the pod object (uid precondition, grace 0)
 *   no sandbox  -> sandbox + pod network (waits for the node's podCIDRs)
 *   volumes     -> vol_pod_setup (retried while -EAGAIN)
 *   init containers, in order: start; wait for exit 0 (sidecars: running);
 *                  restart per restartPolicy with back-off
 *   app containers: start what is not running and should be (restartPolicy,
 *                  back-off: the first restart at once, then 10 s doubling to
 *                  5 min; CrashLoopBackOff meanwhile); liveness failures stop
 *                  the container, which then restarts like a crash
 * A work item's completion applies its result and syncs again; the exit
 * poller (pod.c) brings container exits in. Status goes out through
 * pod_status.c after every step.
 */
#include "agent/pod_int.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum work_op { W_SANDBOX, W_START, W_STOP, W_STATUS, W_TEARDOWN, W_REMOVE, W_IMAGE };

struct pod_work {
	uv_work_t req;
	struct pod *p;
	enum work_op op;
	int ret;
	char err[512];
	/* W_SANDBOX */
	char *hostname;
	bool share_pid, host_network;
	char *netns;
	char ips[2][INET_ADDR_STRLEN];
	size_t n_ips;
	/* W_IMAGE */
	char *image_ref, *image_id;
	cJSON *image_config;
	/* W_START */
	struct ctr_start cs;
	size_t ctr;
	unsigned attempt;
	/* W_STOP / W_STATUS / W_TEARDOWN */
	char **ids;
	size_t *idx;
	struct rt_status *st;
	size_t n;
	unsigned grace_ms;
	bool all;
	uint64_t t_queued, t_run, t_ran;	/* mono ns, for the timing log */
};

static void work_run(uv_work_t *req)
{
	struct pod_work *w = container_of(req, struct pod_work, req);
	struct pod_manager *pm = w->p->pm;

	w->t_run = mono_ns();
	switch (w->op) {
	case W_SANDBOX:
		w->ret = pod__work_sandbox(pm, w->p->uid, w->hostname, w->share_pid, w->host_network,
					   &w->netns, w->ips, &w->n_ips, w->err, sizeof(w->err));
		break;
	case W_START:
		w->ret = pod__work_start(pm, &w->cs, w->err, sizeof(w->err));
		break;
	case W_STOP:
		for (size_t i = 0; i < w->n; i++)
			pod__work_stop(pm, w->ids[i], w->grace_ms);
		__attribute__((fallthrough));	/* then read the exits */
	case W_STATUS:
		for (size_t i = 0; i < w->n; i++)
			if (pod__work_status(pm, w->ids[i], &w->st[i]))
				w->st[i].state = RT_STATE_UNKNOWN;
		break;
	case W_TEARDOWN:
		w->ret = pod__work_teardown(pm, w->p->uid, w->grace_ms, w->all);
		break;
	case W_REMOVE:
		for (size_t i = 0; i < w->n; i++)
			pod__work_remove(pm, w->ids[i]);
		break;
	case W_IMAGE:
		w->ret = pod__work_image(pm, w->image_ref, &w->image_id, &w->image_config);
		break;
	}
	w->t_ran = mono_ns();
}

static void work_free(struct pod_work *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->ids[i]);
	free(w->ids);
	free(w->idx);
	free(w->st);
	free(w->hostname);
	free(w->netns);
	free(w->image_ref);
	free(w->image_id);
	cJSON_Delete(w->image_config);
	pod__ctr_start_release(&w->cs);
	free(w);
}

static void work_done(uv_work_t *req, int status);

static struct pod_work *work_new(struct pod *p, enum work_op op)
{
	struct pod_work *w = xcalloc(1, sizeof(*w));

	w->p = p;
	w->op = op;
	return w;
}

static void work_queue(struct pod_work *w)
{
	w->p->busy = true;
	w->p->pm->works++;
	w->t_queued = mono_ns();
	uv_queue_work(w->p->pm->loop, &w->req, work_run, work_done);
}

/* ---- timers ---- */

static void on_timer(uv_timer_t *t)
{
	struct pod *p = t->data;

	p->timer_on = false;
	pod__sync(p);
}

void pod__timer_at(struct pod *p, uint64_t delay_ms)
{
	uint64_t due = uv_now(p->pm->loop) + delay_ms;

	if (p->timer_on && uv_timer_get_due_in(&p->timer) + uv_now(p->pm->loop) <= due)
		return;
	p->timer_on = true;
	uv_timer_start(&p->timer, on_timer, delay_ms, 0);
}

/* ---- the pod object ---- */

static void ctr_init(struct pod_ctr *c, const cJSON *spec, bool init)
{
	c->name = xstrdup(json_get_str(spec, "name", ""));
	c->init = init;
	c->sidecar = init && !strcmp(json_get_str(spec, "restartPolicy", ""), "Always");
	c->has_readiness = json_get(spec, "readinessProbe") != NULL;
	c->has_startup = json_get(spec, "startupProbe") != NULL;
	c->image_ref = xstrdup(json_get_str(spec, "image", ""));
}

static void cond_init(struct pod *p, const cJSON *obj);

void pod__update_obj(struct pod *p, const cJSON *obj)
{
	const cJSON *meta = json_get(obj, "metadata"), *spec = json_get(obj, "spec"), *c;
	bool first = !p->obj;

	cJSON_Delete(p->obj);
	p->obj = cJSON_Duplicate(obj, 1);
	/* what the workers never read is not kept (memory: one copy per pod) */
	cJSON_DeleteItemFromObjectCaseSensitive(json_get(p->obj, "metadata"), "managedFields");
	cJSON_DeleteItemFromObjectCaseSensitive(p->obj, "status");
	if (json_get(meta, "deletionTimestamp"))
		p->terminating = true;
	if (!first)
		return;
	free(p->ns);
	free(p->name);
	p->ns = xstrdup(json_get_str(meta, "namespace", ""));
	p->name = xstrdup(json_get_str(meta, "name", ""));
	p->host_network = json_get_bool(spec, "hostNetwork", false);
	p->share_pid = json_get_bool(spec, "shareProcessNamespace", false);
	p->n_init = (size_t)cJSON_GetArraySize(json_get(spec, "initContainers"));
	p->n_ctrs = p->n_init + (size_t)cJSON_GetArraySize(json_get(spec, "containers"));
	p->ctrs = xcalloc(p->n_ctrs ? p->n_ctrs : 1, sizeof(*p->ctrs));
	{
		size_t i = 0;

		cJSON_ArrayForEach(c, json_get(spec, "initContainers"))
			ctr_init(&p->ctrs[i++], c, true);
		cJSON_ArrayForEach(c, json_get(spec, "containers"))
			ctr_init(&p->ctrs[i++], c, false);
	}
	{
		const char *st = json_path(obj, "status.startTime") ?
			json_get_str(json_get(obj, "status"), "startTime", "") : NULL;
		int64_t ns;

		if (st && rfc3339_parse(st, &ns) == 0)
			p->start_ns = ns;
	}
	if (json_get(obj, "status"))
		p->status_sent = cJSON_Duplicate(json_get(obj, "status"), 1);
	cond_init(p, obj);
}

/* lastTransitionTime of the conditions as the API has them, so a restarted
 * agent does not move them. */
static const char *const cond_types[5] = { "PodReadyToStartContainers", "Initialized", "Ready",
					   "ContainersReady", "PodScheduled" };

static void cond_init(struct pod *p, const cJSON *obj)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_path(obj, "status.conditions"))
		for (int i = 0; i < 5; i++)
			if (!strcmp(json_get_str(c, "type", ""), cond_types[i])) {
				int64_t ns = 0;

				rfc3339_parse(json_get_str(c, "lastTransitionTime", ""), &ns);
				p->cond_ns[i] = ns;
				p->cond_val[i] = !strcmp(json_get_str(c, "status", ""), "True");
			}
}

/* ---- helpers ---- */

static void set_wait(struct pod_ctr *c, const char *reason, const char *msg)
{
	free(c->wait_reason);
	free(c->wait_msg);
	c->wait_reason = reason ? xstrdup(reason) : NULL;
	c->wait_msg = msg ? xstrdup(msg) : NULL;
}

static const char *restart_policy(const struct pod *p)
{
	return json_get_str(json_get(p->obj, "spec"), "restartPolicy", "Always");
}

/* Whether an exited container starts again. */
static bool should_restart(const struct pod *p, const struct pod_ctr *c)
{
	const char *pol = restart_policy(p);

	if (c->sidecar)
		return true;
	if (!strcmp(pol, "Always"))
		return !c->init || c->exit_code != 0;
	if (!strcmp(pol, "OnFailure"))
		return c->exit_code != 0;
	return false;
}

static unsigned backoff_min(const struct pod_manager *pm)
{
	return pm->cfg.backoff_min_ms ? pm->cfg.backoff_min_ms : POD_BACKOFF_MIN_MS;
}

/* A container exited: arm the crash back-off for its restart. */
static void crash_backoff(struct pod *p, struct pod_ctr *c)
{
	uint64_t now = uv_now(p->pm->loop);

	if (c->finished_ns - c->started_ns > (int64_t)POD_BACKOFF_RESET_MS * 1000000)
		c->backoff_ms = 0;
	if (!c->backoff_ms) {
		c->retry_at_ms = 0;	/* the first restart is immediate */
		c->backoff_ms = backoff_min(p->pm);
	} else {
		c->retry_at_ms = now + c->backoff_ms;
		c->backoff_cur_ms = c->backoff_ms;
		c->backoff_ms = c->backoff_ms * 2 > POD_BACKOFF_MAX_MS ? POD_BACKOFF_MAX_MS : c->backoff_ms * 2;
	}
	c->backoff_event = false;
}

static char *read_term_message(struct pod *p, struct pod_ctr *c)
{
	char *dir = pod__dir(p->pm, p->uid);
	char *path = xasprintf("%s/termination/%s_%u", dir, c->name, c->attempt), *text = NULL;
	size_t len = 0;

	free(dir);
	if (read_file(path, POD_MSG_MAX, &text, &len) < 0 || !len) {
		free(text);
		text = NULL;
	}
	free(path);
	return text;
}

static void apply_exit(struct pod *p, struct pod_ctr *c, const struct rt_status *st)
{
	if (st->state == RT_STATE_RUNNING || st->state == RT_STATE_CREATED)
		return;
	c->run = CTR_EXITED;
	c->exit_code = st->state == RT_STATE_UNKNOWN ? 137 : st->exit_code;
	c->signal = st->signal;
	c->oom = st->oom_killed;
	c->finished_ns = st->finished_ns ? st->finished_ns : (int64_t)wall_ns();
	if (st->started_ns)
		c->started_ns = st->started_ns;
	free(c->message);
	c->message = read_term_message(p, c);
	c->ready_probe = c->started_probe = false;
	c->liveness_failed = false;
	if (c->probing) {
		probe_container_stop(p->pm->probes, p->uid, c->name);
		c->probing = false;
	}
	if (should_restart(p, c) && !p->terminating)
		crash_backoff(p, c);
}

/* ---- probes and hooks ---- */

static void on_probe(void *ud, const char *uid, const char *name, enum probe_kind kind, bool ok,
		     const char *message)
{
	struct pod *p = pod__find(ud, uid);

	if (!p)
		return;
	for (size_t i = 0; i < p->n_ctrs; i++) {
		struct pod_ctr *c = &p->ctrs[i];

		if (strcmp(c->name, name) || c->run != CTR_RUNNING)
			continue;
		if (kind == PROBE_READINESS)
			c->ready_probe = ok;
		else if (kind == PROBE_STARTUP)
			c->started_probe = ok;
		else if (!ok && !c->liveness_failed) {
			c->liveness_failed = true;
			pod__event(p, c->name, true, "Unhealthy", "Liveness probe failed: %s",
				   message ? message : "");
			pod__event(p, c->name, false, "Killing",
				   "Container %s failed liveness probe, will be restarted", c->name);
		}
		if (!ok && kind != PROBE_LIVENESS)
			pod__event(p, c->name, true, "Unhealthy", "%s probe failed: %s",
				   kind == PROBE_READINESS ? "Readiness" : "Startup", message ? message : "");
	}
	pod__sync(p);
}

struct hook_ctx {
	struct pod_manager *pm;
	char *uid, *name;
	bool pre_stop;
};

static void on_hook_done(void *ud, int rc, const char *message)
{
	struct hook_ctx *h = ud;
	struct pod *p = pod__find(h->pm, h->uid);

	if (p) {
		if (h->pre_stop) {
			p->hooks_pending--;
			if (rc)
				pod__event(p, h->name, true, "FailedPreStopHook", "PreStop hook failed: %s",
					   message ? message : strerror(-rc));
		} else if (rc) {
			for (size_t i = 0; i < p->n_ctrs; i++)
				if (!strcmp(p->ctrs[i].name, h->name))
					p->ctrs[i].liveness_failed = true;	/* killed, restarts */
			pod__event(p, h->name, true, "FailedPostStartHook", "PostStartHook failed: %s",
				   message ? message : strerror(-rc));
		}
		pod__sync(p);
	}
	free(h->uid);
	free(h->name);
	free(h);
}

static const char *pod_ip(const struct pod *p)
{
	return p->n_ips ? p->ips[0] : NULL;
}

static bool run_hook(struct pod *p, struct pod_ctr *c, const char *which, unsigned timeout_ms)
{
	const cJSON *h = json_get(json_get(pod__ctr_spec(p, c), "lifecycle"), which);
	struct hook_ctx *ctx;

	if (!h)
		return false;
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->pm = p->pm;
	ctx->uid = xstrdup(p->uid);
	ctx->name = xstrdup(c->name);
	ctx->pre_stop = !strcmp(which, "preStop");
	if (probe_run_hook(p->pm->probes, h, c->id, p->netns, pod_ip(p), timeout_ms, on_hook_done, ctx)) {
		free(ctx->uid);
		free(ctx->name);
		free(ctx);
		return false;
	}
	return true;
}

/* ---- steps ---- */

static void start_sandbox(struct pod *p)
{
	struct pod_work *w = work_new(p, W_SANDBOX);
	const cJSON *spec = json_get(p->obj, "spec");
	char *dir = pod__dir(p->pm, p->uid);

	mkdir_p(dir, 0755);
	free(dir);
	w->hostname = xasprintf("%.63s", json_get_str(spec, "hostname", p->name));
	w->share_pid = p->share_pid;
	w->host_network = p->host_network;
	work_queue(w);
}

/* A small file the pod reads, replaced by rename; no fsync (it is rewritten
 * whenever the sandbox is, and this runs on the loop). */
static void write_text(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0) {
		int r = write_all(fd, text, strlen(text));

		if (close(fd) || r || rename(tmp, path))
			unlink(tmp);
	}
	free(tmp);
}

static void write_etc(struct pod *p)
{
	char *dir = pod__dir(p->pm, p->uid), *path, *text;
	const cJSON *spec = json_get(p->obj, "spec");

	path = xasprintf("%s/etc-hosts", dir);
	text = pod__hosts_text(p);
	write_text(path, text);
	free(path);
	free(text);
	path = xasprintf("%s/resolv.conf", dir);
	text = pod__resolv_text(p);
	write_text(path, text);
	free(path);
	free(text);
	path = xasprintf("%s/hostname", dir);
	if (p->host_network) {
		char h[256] = "";

		gethostname(h, sizeof(h) - 1);
		text = xasprintf("%s\n", h);
	} else {
		text = xasprintf("%.63s\n", json_get_str(spec, "hostname", p->name));
	}
	write_text(path, text);
	free(path);
	free(text);
	free(dir);
}

static void start_failed(struct pod *p, struct pod_ctr *c, const char *reason, const char *msg)
{
	bool pull = !strcmp(reason, "ErrImagePull");
	uint64_t delay;

	c->failures++;
	if (pull)	/* the kubelet's image back-off: the minimum, doubling */
		delay = (uint64_t)backoff_min(p->pm) << (c->failures - 1 > 5 ? 5 : c->failures - 1);
	else
		delay = c->failures == 1 ? 1000 : (uint64_t)backoff_min(p->pm) << (c->failures - 2 > 5 ? 5 : c->failures - 2);
	if (delay > POD_BACKOFF_MAX_MS)
		delay = POD_BACKOFF_MAX_MS;
	c->retry_at_ms = uv_now(p->pm->loop) + delay;
	c->backoff_event = false;
	set_wait(c, reason, msg);
	pod__event(p, c->name, true, "Failed", "%s", msg);
	pod__event(p, c->name, true, "Failed", "Error: %s", reason);
	/* a pull failure turns into ImagePullBackOff a moment later */
	pod__timer_at(p, pull && delay > 1000 ? 1000 : delay);
}

/* Starts c unless its back-off says wait; true when something was started
 * or is waited for (the caller stops there). */
static void start_ctr(struct pod *p, struct pod_ctr *c)
{
	uint64_t now = uv_now(p->pm->loop);
	const char *reason = NULL;
	struct pod_work *w;
	char *msg = NULL;
	unsigned saved = c->attempt;
	int r;

	if (c->pulling)
		return;		/* pod__pull_done() syncs again */
	if (now < c->retry_at_ms) {
		if (c->failures && c->wait_reason && (!strcmp(c->wait_reason, "ErrImagePull") ||
						      !strcmp(c->wait_reason, "ImagePullBackOff"))) {
			char *m = xasprintf("Back-off pulling image \"%s\"", c->image_ref);

			set_wait(c, "ImagePullBackOff", m);
			if (!c->backoff_event)
				pod__event(p, c->name, false, "BackOff", "%s", m);
			free(m);
		} else if (!c->failures) {
			char *m = xasprintf("back-off %us restarting failed container=%s pod=%s_%s(%s)",
					    (c->backoff_cur_ms + 999) / 1000, c->name, p->name, p->ns, p->uid);

			set_wait(c, "CrashLoopBackOff", m);
			if (!c->backoff_event)
				pod__event(p, c->name, true, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)",
					   c->name, p->name, p->ns, p->uid);
			free(m);
		}
		c->backoff_event = true;
		pod__timer_at(p, c->retry_at_ms - now);
		return;
	}
	if (!c->pulled && pod__image_pull_always(pod__ctr_spec(p, c))) {
		pod__pull_start(p, c);
		return;
	}
	w = work_new(p, W_START);
	w->ctr = (size_t)(c - p->ctrs);
	w->attempt = c->run == CTR_EXITED ? c->attempt + 1 : c->attempt;
	c->attempt = w->attempt;
	r = pod__ctr_start_build(p, c, pod__ctr_spec(p, c), &w->cs, &reason, &msg);
	c->attempt = saved;
	if (r == -EINPROGRESS) {	/* the image is looked up first */
		w->op = W_IMAGE;
		w->image_ref = xstrdup(c->image_ref);
		work_queue(w);
		return;
	}
	if (r) {
		free(w);
		if (r == -EAGAIN) {
			set_wait(c, reason, msg);
			pod__timer_at(p, 1000);
		} else {
			start_failed(p, c, reason, msg);
		}
		free(msg);
		return;
	}
	if (c->failures == 0 || !c->wait_reason)
		set_wait(c, NULL, NULL);
	work_queue(w);
}

static void stop_ctrs(struct pod *p, struct pod_ctr **cs, size_t n, unsigned grace_ms)
{
	struct pod_work *w = work_new(p, W_STOP);

	w->ids = xcalloc(n, sizeof(*w->ids));
	w->idx = xcalloc(n, sizeof(*w->idx));
	w->st = xcalloc(n, sizeof(*w->st));
	for (size_t i = 0; i < n; i++) {
		w->ids[i] = xstrdup(cs[i]->id);
		w->idx[i] = (size_t)(cs[i] - p->ctrs);
	}
	w->n = n;
	w->grace_ms = grace_ms;
	work_queue(w);
}

void pod__exit_poll(struct pod *p)
{
	struct pod_work *w;
	size_t n = 0;

	if (p->busy)
		return;
	w = work_new(p, W_STATUS);
	w->ids = xcalloc(p->n_ctrs, sizeof(*w->ids));
	w->idx = xcalloc(p->n_ctrs, sizeof(*w->idx));
	w->st = xcalloc(p->n_ctrs, sizeof(*w->st));
	for (size_t i = 0; i < p->n_ctrs; i++)
		if (p->ctrs[i].run == CTR_RUNNING) {
			w->ids[n] = xstrdup(p->ctrs[i].id);
			w->idx[n++] = i;
		}
	w->n = n;
	work_queue(w);
}

static unsigned grace_ms(const struct pod *p)
{
	const cJSON *meta = json_get(p->obj, "metadata");
	int64_t g = json_get_int(meta, "deletionGracePeriodSeconds",
				 json_get_int(json_get(p->obj, "spec"), "terminationGracePeriodSeconds",
					      p->obj ? POD_DEFAULT_GRACE_S : 2));

	return g < 0 ? 0 : (unsigned)(g > 3600 ? 3600000 : g * 1000);
}

static void on_deleted(struct api_result *res, void *ud)
{
	struct pod_manager *pm = ud;

	(void)pm;
	if (!api_result_ok(res) && res->code != 404 && res->code != 409)
		log_warn("pods: final delete failed: %s (HTTP %d)", res->status.message, res->code);
}

static void final_delete(struct pod *p)
{
	char *path = api_path("v1", "pods", p->ns, p->name, NULL);
	char *body = xasprintf("{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"gracePeriodSeconds\":0,"
			       "\"preconditions\":{\"uid\":\"%s\"}}", p->uid);

	p->api_deleted = true;
	api_request(p->pm->api, "DELETE", path, "application/json", body, strlen(body), on_deleted, p->pm);
	free(body);
	free(path);
}

static void terminate(struct pod *p)
{
	if (!p->prestop_done) {
		unsigned g = grace_ms(p);

		p->prestop_done = true;
		p->grace_deadline_ms = uv_now(p->pm->loop) + g;
		for (size_t i = 0; i < p->n_ctrs; i++) {
			struct pod_ctr *c = &p->ctrs[i];

			if (c->run != CTR_RUNNING)
				continue;
			if (p->obj)
				pod__event(p, c->name, false, "Killing", "Stopping container %s", c->name);
			if (run_hook(p, c, "preStop", g))
				p->hooks_pending++;
		}
	}
	if (p->hooks_pending)
		return;
	if (!p->torn_down) {
		struct pod_work *w = work_new(p, W_TEARDOWN);
		uint64_t now = uv_now(p->pm->loop);

		w->grace_ms = now < p->grace_deadline_ms ? (unsigned)(p->grace_deadline_ms - now) : 0;
		w->all = true;
		work_queue(w);
		return;
	}
	if (!p->gone && !p->api_deleted) {
		final_delete(p);
		return;
	}
	if (p->gone && !p->status_busy)
		pod__forget(p);
}

static bool ctr_started(const struct pod_ctr *c)
{
	return c->run == CTR_RUNNING && (!c->has_startup || c->started_probe);
}

/* The init containers; true when they are all done (sidecars started). */
static bool sync_init(struct pod *p)
{
	for (size_t i = 0; i < p->n_init; i++) {
		struct pod_ctr *c = &p->ctrs[i];

		if (c->sidecar) {
			if (c->run == CTR_RUNNING && ctr_started(c))
				continue;
			if (c->run != CTR_RUNNING)
				start_ctr(p, c);
			return false;
		}
		if (c->run == CTR_EXITED && c->exit_code == 0)
			continue;
		if (c->run == CTR_RUNNING)
			return false;
		if (c->run == CTR_EXITED && !should_restart(p, c)) {
			p->finished = true;
			free(p->init_failed_msg);
			p->init_failed_msg = xasprintf("init container %s failed", c->name);
			return false;
		}
		start_ctr(p, c);
		return false;
	}
	return true;
}

/* The app containers; returns true when they are all done for good. */
static bool sync_app(struct pod *p)
{
	bool all_done = true;

	for (size_t i = p->n_init; i < p->n_ctrs && !p->busy; i++) {
		struct pod_ctr *c = &p->ctrs[i];

		if (c->run == CTR_RUNNING) {
			all_done = false;
			if (c->liveness_failed) {
				stop_ctrs(p, &c, 1, grace_ms(p));
				return false;
			}
			continue;
		}
		if (c->run == CTR_NONE || should_restart(p, c)) {
			all_done = false;
			start_ctr(p, c);
		}
	}
	return all_done && !p->busy;
}

void pod__sync(struct pod *p)
{
	struct pod_manager *pm = p->pm;
	char *err = NULL;
	int r;

	if (p->busy) {
		p->dirty = true;
		return;
	}
	if (pm->stopping)
		return;
	if (p->terminating) {
		terminate(p);
		goto status;
	}
	if (!p->obj || p->finished)
		goto status;
	if (!p->start_ns)
		p->start_ns = (int64_t)wall_ns();
	if (!p->sandbox_ready) {
		if (!p->host_network && !pm->net_ready) {
			p->net_wait = true;
			goto status;
		}
		p->net_wait = false;
		if (uv_now(pm->loop) < p->sandbox_retry_ms) {
			pod__timer_at(p, p->sandbox_retry_ms - uv_now(pm->loop));
			goto status;
		}
		start_sandbox(p);
		goto status;
	}
	if (!p->host_network && !p->n_ips && pm->net_ready) {
		char owner[NET_IPAM_OWNER_MAX + 1];
		struct net_ipam_addrs a;

		snprintf(owner, sizeof(owner), "%s/eth0", p->uid);
		if (uv_mutex_trylock(&pm->net_mu) == 0) {	/* never wait on the loop */
			if (net_ipam_lookup(&pm->ipam, owner, &a) == 0)
				for (size_t i = 0; i < a.n && i < 2; i++)
					inet_addr_format(&a.addr[i].addr, p->ips[p->n_ips++]);
			uv_mutex_unlock(&pm->net_mu);
		}
	}
	pod__obj_fill_status(p);	/* downwardAPI volumes read podIP and the like */
	r = vol_pod_setup(pm->vol, p->obj, &err);
	if (r) {
		if (r != -EAGAIN && (!p->sandbox_err || strcmp(p->sandbox_err, err ? err : ""))) {
			pod__event(p, NULL, true, "FailedMount", "%s", err ? err : strerror(-r));
			free(p->sandbox_err);
			p->sandbox_err = xstrdup(err ? err : "");
		}
		free(err);
		pod__timer_at(p, r == -EAGAIN ? 500 : POD_RETRY_MS);
		goto status;
	}
	if (!sync_init(p) || p->busy)
		goto status;
	if (sync_app(p)) {
		bool sidecars = false;

		p->finished = true;
		for (size_t i = 0; i < p->n_init; i++)
			sidecars |= p->ctrs[i].run == CTR_RUNNING;
		if (sidecars) {
			struct pod_work *w = work_new(p, W_TEARDOWN);

			w->grace_ms = grace_ms(p);
			work_queue(w);
		}
	}
status:
	pod__status_update(p);
}

/* ---- completions ---- */

/* Go's Duration truncated to milliseconds, as the kubelet prints it. */
static void fmt_secs(double secs, char *out, size_t len)
{
	long ms = (long)(secs * 1000);

	if (ms < 1000) {
		snprintf(out, len, "%ldms", ms);
		return;
	}
	snprintf(out, len, "%ld.%03ld", ms / 1000, ms % 1000);
	for (size_t n = strlen(out); out[n - 1] == '0' || out[n - 1] == '.'; n--) {
		bool dot = out[n - 1] == '.';

		out[n - 1] = '\0';
		if (dot)
			break;
	}
	snprintf(out + strlen(out), len - strlen(out), "s");
}

void pod__pull_done(struct pod *p, struct pod_ctr *c, const char *ref, const char *err,
		    double secs, double waited)
{
	char a[32], b[32];

	c->pulling = false;
	if (strcmp(ref, c->image_ref ? c->image_ref : ""))
		return;		/* the spec changed meanwhile */
	if (err) {
		char *msg = xasprintf("Failed to pull image \"%s\": %s", ref, err);

		start_failed(p, c, "ErrImagePull", msg);
		free(msg);
		return;
	}
	c->pulled = true;
	pod__image_forget(p->pm, ref);
	fmt_secs(secs, a, sizeof(a));
	fmt_secs(waited, b, sizeof(b));
	pod__event(p, c->name, false, "Pulled",
		   "Successfully pulled image \"%s\" in %s (%s including waiting)", ref, a, b);
	pod__timer_at(p, 0);
}

static void start_done(struct pod *p, struct pod_work *w)
{
	struct pod_ctr *c = &p->ctrs[w->ctr];

	if (w->ret) {
		const char *reason = w->ret == -EPERM ? "CreateContainerConfigError" :
				     w->ret == -ENOENT && strstr(w->err, "image") ? "ErrImagePull" :
				     "RunContainerError";

		log_warn("pods: %s/%s: container %s: %s", p->ns, p->name, c->name, w->err);
		if (w->ret == -ENOENT)
			pod__images_forget(p->pm);	/* an image went away: look again */
		start_failed(p, c, reason, w->err);
		return;
	}
	if (c->run == CTR_EXITED) {
		c->has_last = true;
		c->last_exit = c->exit_code;
		c->last_oom = c->oom;
		c->last_started_ns = c->started_ns;
		c->last_finished_ns = c->finished_ns;
	}
	c->attempt = w->attempt;
	snprintf(c->id, sizeof(c->id), "%s", w->cs.id);
	c->run = CTR_RUNNING;
	c->ever_ran = true;
	c->failures = 0;
	c->started_ns = w->cs.started_ns ? w->cs.started_ns : (int64_t)wall_ns();
	c->finished_ns = 0;
	c->ready_probe = c->started_probe = false;
	set_wait(c, NULL, NULL);
	if (!c->pulled)	/* else the pull said "Successfully pulled" */
		pod__event(p, c->name, false, "Pulled", "Container image \"%s\" already present on machine",
			   c->image_ref);
	c->pulled = false;	/* policy Always pulls again for the next start */
	pod__event(p, c->name, false, "Created", "Created container %s", c->name);
	pod__event(p, c->name, false, "Started", "Started container %s", c->name);
	if (c->has_readiness || c->has_startup || json_get(pod__ctr_spec(p, c), "livenessProbe")) {
		c->probing = probe_container_start(p->pm->probes, p->uid, pod__ctr_spec(p, c), c->id,
						   p->netns, pod_ip(p), on_probe, p->pm) == 0;
	}
	run_hook(p, c, "postStart", 30000);
	/* remove the attempt before the previous one ("previous" logs stay) */
	if (w->attempt >= 2) {
		struct pod_work *rw = work_new(p, W_REMOVE);

		rw->ids = xcalloc(1, sizeof(*rw->ids));
		rw->ids[0] = xasprintf("%s_%s_%u", p->uid, c->name, w->attempt - 2);
		rw->n = 1;
		work_queue(rw);
	}
}

static void work_done(uv_work_t *req, int status)
{
	struct pod_work *w = container_of(req, struct pod_work, req);
	struct pod *p = w->p;
	struct pod_manager *pm = p->pm;

	(void)status;
	pm->works--;
	p->busy = false;
	LOG_V(2, "pods: %s/%s: step %d: %d, queued %.1f ms, ran %.1f ms, done after %.1f ms",
		 p->ns, p->name, (int)w->op, w->ret, (double)(w->t_run - w->t_queued) / 1e6,
		 (double)(w->t_ran - w->t_run) / 1e6, (double)(mono_ns() - w->t_ran) / 1e6);
	if (pm->stopping) {
		work_free(w);
		pod__forget(p);
		return;		/* pod_closed() calls done */
	}
	switch (w->op) {
	case W_SANDBOX:
		if (w->ret) {
			if (w->ret != -EAGAIN)
				pod__event(p, NULL, true, "FailedCreatePodSandBox",
					   "Failed to create pod sandbox: %s", w->err);
			log_warn("pods: %s/%s: %s", p->ns, p->name, w->err);
			p->sandbox_retry_ms = uv_now(pm->loop) + POD_RETRY_MS;
			break;
		}
		p->sandbox_ready = true;
		p->netns = w->netns;
		w->netns = NULL;
		p->n_ips = w->n_ips;
		memcpy(p->ips, w->ips, sizeof(p->ips));
		write_etc(p);
		break;
	case W_START:
		start_done(p, w);
		break;
	case W_REMOVE:
		break;
	case W_IMAGE: {
		struct pod_ctr *c = &p->ctrs[w->ctr];

		pod__image_learn(pm, w->image_ref, w->image_id, w->image_config);
		w->image_config = NULL;
		if (w->ret && !c->pulled && !pod__image_pull_never(pod__ctr_spec(p, c))) {
			pod__pull_start(p, c);
		} else if (w->ret) {
			const char *reason;
			char *msg;

			pod__image_missing(pod__ctr_spec(p, c), &reason, &msg);
			start_failed(p, c, reason, msg);
			free(msg);
		}
		break;
	}
	case W_STOP:
	case W_STATUS:
		for (size_t i = 0; i < w->n; i++) {
			struct pod_ctr *c = &p->ctrs[w->idx[i]];

			if (!strcmp(c->id, w->ids[i]) && c->run == CTR_RUNNING)
				apply_exit(p, c, &w->st[i]);
		}
		break;
	case W_TEARDOWN:
		if (w->all) {
			p->torn_down = true;
			vol_pod_teardown(pm->vol, p->uid);
			{
				char *dir = pod__dir(pm, p->uid);

				rmdir(dir);
				free(dir);
			}
		}
		for (size_t i = 0; i < p->n_ctrs; i++)
			if (p->ctrs[i].run == CTR_RUNNING) {
				struct rt_status st = { .state = RT_STATE_EXITED, .exit_code = 137,
							.finished_ns = (int64_t)wall_ns() };

				p->ctrs[i].run = CTR_EXITED;	/* re-read below when possible */
				apply_exit(p, &p->ctrs[i], &st);
			}
		if (w->all)
			p->sandbox_ready = false;
		break;
	}
	work_free(w);
	p->dirty = false;
	pod__sync(p);
}
