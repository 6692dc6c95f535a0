/*
 * agent/pod_ctr.c - a pod's containers on the loop: starting one (image
 * lookup step, then the start step), its restart policy and back-off (the
 * first restart at once, then 10 s doubling to 5 min; CrashLoopBackOff
 * meanwhile), its exits (the exit poller and stop steps), its probes and
 * lifecycle hooks. A liveness failure stops the container, which then
 * restarts like a crash.
 */
#include "agent/pod_int.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_wait(struct pod_ctr *c, const char *reason, const char *msg)
{
	free(c->wait_reason);
	free(c->wait_msg);
	c->wait_reason = reason ? xstrdup(reason) : NULL;
	c->wait_msg = msg ? xstrdup(msg) : NULL;
}

bool pod__ctr_should_restart(const struct pod *p, const struct pod_ctr *c)
{
	const char *pol = json_get_str(json_get(p->obj, "spec"), "restartPolicy", "Always");

	if (c->sidecar)
		return true;
	if (c->ephemeral)	/* never restarted */
		return false;
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

void pod__ctr_exited(struct pod *p, struct pod_ctr *c, const struct rt_status *st)
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
	if (pod__ctr_should_restart(p, c) && !p->terminating)
		crash_backoff(p, c);
}

/* ---- probes and hooks ---- */

static void probe_apply(struct pod *p, struct pod_ctr *c, enum probe_kind kind, bool ok,
			const char *message)
{
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

static void on_probe(void *ud, const char *uid, const char *name, enum probe_kind kind, bool ok,
		     const char *message)
{
	struct pod *p = pod__find(ud, uid);

	if (!p)
		return;
	for (size_t i = 0; i < p->n_ctrs; i++) {
		struct pod_ctr *c = &p->ctrs[i];

		if (!strcmp(c->name, name) && c->run == CTR_RUNNING)
			probe_apply(p, c, kind, ok, message);
	}
	pod__sync(p);
}

struct hook_ctx {
	struct pod_manager *pm;
	char *uid, *name;
	bool pre_stop;
};

static void hook_result(struct pod *p, const struct hook_ctx *h, int rc, const char *message)
{
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
}

static void hook_free(struct hook_ctx *h)
{
	free(h->uid);
	free(h->name);
	free(h);
}

static void on_hook_done(void *ud, int rc, const char *message)
{
	struct hook_ctx *h = ud;
	struct pod *p = pod__find(h->pm, h->uid);

	if (p) {
		hook_result(p, h, rc, message);
		pod__sync(p);
	}
	hook_free(h);
}

static const char *pod_ip(const struct pod *p)
{
	return p->n_ips ? p->ips[0] : NULL;
}

bool pod__ctr_hook(struct pod *p, struct pod_ctr *c, const char *which, unsigned timeout_ms)
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
		hook_free(ctx);
		return false;
	}
	return true;
}

/* ---- starting ---- */

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

/* c waits for its back-off: the waiting reason, one BackOff event, a timer. */
static void backoff_wait(struct pod *p, struct pod_ctr *c, uint64_t now)
{
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
}

void pod__ctr_run(struct pod *p, struct pod_ctr *c)
{
	uint64_t now = uv_now(p->pm->loop);
	const char *reason = NULL;
	struct pod_step *s;
	char *msg = NULL;
	unsigned saved = c->attempt;
	int r;

	if (c->pulling)
		return;		/* pod__pull_done() syncs again */
	if (now < c->retry_at_ms) {
		backoff_wait(p, c, now);
		return;
	}
	if (!c->pulled && pod__image_pull_always(pod__ctr_spec(p, c))) {
		pod__pull_start(p, c);
		return;
	}
	s = pod__step_new(p, STEP_START);
	s->ctr = (size_t)(c - p->ctrs);
	s->attempt = c->run == CTR_EXITED ? c->attempt + 1 : c->attempt;
	c->attempt = s->attempt;
	r = pod__ctr_start_build(p, c, pod__ctr_spec(p, c), &s->cs, &reason, &msg);
	c->attempt = saved;
	if (r == -EINPROGRESS) {	/* the image is looked up first */
		s->op = STEP_IMAGE;
		s->image_ref = xstrdup(c->image_ref);
		pod__step_queue(s);
		return;
	}
	if (r) {
		free(s);
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
	pod__step_queue(s);
}

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

void pod__ctr_image_done(struct pod *p, struct pod_step *s)
{
	struct pod_ctr *c = &p->ctrs[s->ctr];
	const char *reason;
	char *msg;

	pod__image_learn(p->pm, s->image_ref, s->image_id, s->image_config);
	s->image_config = NULL;
	if (!s->ret)
		return;
	if (!c->pulled && !pod__image_pull_never(pod__ctr_spec(p, c))) {
		pod__pull_start(p, c);
		return;
	}
	pod__image_missing(pod__ctr_spec(p, c), &reason, &msg);
	start_failed(p, c, reason, msg);
	free(msg);
}

static void run_failed(struct pod *p, struct pod_ctr *c, struct pod_step *s)
{
	const char *reason = s->ret == -EPERM ? "CreateContainerConfigError" :
			     s->ret == -ENOENT && strstr(s->err, "image") ? "ErrImagePull" :
			     "RunContainerError";

	log_warn("pods: %s/%s: container %s: %s", p->ns, p->name, c->name, s->err);
	if (s->ret == -ENOENT)
		pod__images_forget(p->pm);	/* an image went away: look again */
	start_failed(p, c, reason, s->err);
}

/* c runs attempt s->attempt now; the previous attempt becomes lastState. */
static void ctr_running(struct pod_ctr *c, const struct pod_step *s)
{
	if (c->run == CTR_EXITED) {
		c->has_last = true;
		c->last_exit = c->exit_code;
		c->last_oom = c->oom;
		c->last_started_ns = c->started_ns;
		c->last_finished_ns = c->finished_ns;
	}
	c->attempt = s->attempt;
	snprintf(c->id, sizeof(c->id), "%s", s->cs.id);
	c->run = CTR_RUNNING;
	c->ever_ran = true;
	c->failures = 0;
	c->started_ns = s->cs.started_ns ? s->cs.started_ns : (int64_t)wall_ns();
	c->finished_ns = 0;
	c->ready_probe = c->started_probe = false;
	set_wait(c, NULL, NULL);
}

void pod__ctr_run_done(struct pod *p, struct pod_step *s)
{
	struct pod_ctr *c = &p->ctrs[s->ctr];

	if (s->ret) {
		run_failed(p, c, s);
		return;
	}
	ctr_running(c, s);
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
	pod__ctr_hook(p, c, "postStart", 30000);
	/* remove the attempt before the previous one ("previous" logs stay) */
	if (s->attempt >= 2) {
		struct pod_step *rs = pod__step_new(p, STEP_REMOVE);

		rs->ids = xcalloc(1, sizeof(*rs->ids));
		rs->ids[0] = xasprintf("%s_%s_%u", p->uid, c->name, s->attempt - 2);
		rs->n = 1;
		pod__step_queue(rs);
	}
}

/* ---- stopping and exits ---- */

/* A stop or status step for up to n containers. */
static struct pod_step *ids_step(struct pod *p, enum pod_step_op op, size_t n)
{
	struct pod_step *s = pod__step_new(p, op);

	s->ids = xcalloc(n ? n : 1, sizeof(*s->ids));
	s->idx = xcalloc(n ? n : 1, sizeof(*s->idx));
	s->st = xcalloc(n ? n : 1, sizeof(*s->st));
	return s;
}

static void ids_add(struct pod_step *s, const struct pod *p, size_t i)
{
	s->ids[s->n] = xstrdup(p->ctrs[i].id);
	s->idx[s->n++] = i;
}

void pod__ctr_stop(struct pod *p, struct pod_ctr **cs, size_t n, unsigned grace_ms)
{
	struct pod_step *s = ids_step(p, STEP_STOP, n);

	for (size_t i = 0; i < n; i++)
		ids_add(s, p, (size_t)(cs[i] - p->ctrs));
	s->grace_ms = grace_ms;
	pod__step_queue(s);
}

void pod__exit_poll(struct pod *p)
{
	struct pod_step *s;

	if (p->busy)
		return;
	s = ids_step(p, STEP_STATUS, p->n_ctrs);
	for (size_t i = 0; i < p->n_ctrs; i++)
		if (p->ctrs[i].run == CTR_RUNNING)
			ids_add(s, p, i);
	pod__step_queue(s);
}

void pod__ctr_status_done(struct pod *p, struct pod_step *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct pod_ctr *c = &p->ctrs[s->idx[i]];

		if (!strcmp(c->id, s->ids[i]) && c->run == CTR_RUNNING)
			pod__ctr_exited(p, c, &s->st[i]);
	}
}
