/*
 * agent/probe.c - the probe manager: one timer per probe on the loop, each
 * check run in a uv_queue_work thread, results fed through the threshold
 * state machine and reported on the loop; lifecycle hooks the same way.
 *
 * Upstream's rules: a startup probe gates liveness and readiness (they run
 * only once it succeeded, and it stops then); a reported liveness or
 * startup failure holds that probe until the container is replaced
 * (probe_container_stop + probe_container_start with the new id); the first
 * check runs initialDelaySeconds after probe_container_start, later ones
 * every periodSeconds after the previous finished.
 *
 * Lifetime: a probe is freed when both its timer is closed and no check is
 * in flight (refs). Stopping detaches probes from their container (p->c =
 * NULL) so a late result is dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/probe_int.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

struct probe_ctr;

struct probe {
	struct probe_ctr *c;		/* NULL once stopped */
	enum probe_kind kind;
	struct probe_spec spec;
	struct probe_sm sm;
	struct probe_target tgt;	/* strings below */
	char *ctr_id, *netns, *pod_ip;
	uv_timer_t timer;
	uv_work_t work;
	bool busy;			/* a check is in flight */
	bool armed;			/* runs (not gated by startup, not held) */
	int refs;
	int rc;				/* the last check's result */
	char *msg;
};

struct probe_ctr {
	struct probe_ctr *next;
	struct probe_manager *m;
	char *pod_uid, *name;
	probe_result_fn cb;
	void *ud;
	struct probe *p[3];		/* by enum probe_kind */
	uint64_t start_ms;		/* when probing started (mono) */
};

struct probe_manager {
	uv_loop_t *loop;
	struct rt *rt;
	struct probe_ctr *ctrs;
};

static const char *const probe_fields[3] = {
	[PROBE_STARTUP] = "startupProbe",
	[PROBE_LIVENESS] = "livenessProbe",
	[PROBE_READINESS] = "readinessProbe",
};

int probe_manager_new(uv_loop_t *loop, struct rt *rt, struct probe_manager **out)
{
	struct probe_manager *m = xcalloc(1, sizeof(*m));

	m->loop = loop;
	m->rt = rt;
	*out = m;
	return 0;
}

static void probe_unref(struct probe *p)
{
	if (--p->refs > 0)
		return;
	probe__handler_release(&p->spec.h);
	free(p->ctr_id);
	free(p->netns);
	free(p->pod_ip);
	free(p->msg);
	free(p);
}

static void on_timer_close(uv_handle_t *h)
{
	probe_unref(container_of((uv_timer_t *)h, struct probe, timer));
}

static void ctr_free(struct probe_ctr *c)
{
	for (int k = 0; k < 3; k++) {
		struct probe *p = c->p[k];

		if (!p)
			continue;
		p->c = NULL;
		uv_close((uv_handle_t *)&p->timer, on_timer_close);
	}
	free(c->pod_uid);
	free(c->name);
	free(c);
}

void probe_manager_free(struct probe_manager *m)
{
	if (!m)
		return;
	while (m->ctrs) {
		struct probe_ctr *c = m->ctrs;

		m->ctrs = c->next;
		ctr_free(c);
	}
	free(m);
}

static void work_cb(uv_work_t *w)
{
	struct probe *p = container_of(w, struct probe, work);

	free(p->msg);
	p->msg = NULL;
	p->rc = probe__run(&p->spec.h, &p->tgt, false, &p->msg);
}

static void arm(struct probe *p, uint64_t delay_ms);

static void ungate(struct probe_ctr *c)
{
	uint64_t now = mono_ms();

	for (int k = PROBE_LIVENESS; k <= PROBE_READINESS; k++) {
		struct probe *p = c->p[k];
		uint64_t due;

		if (!p)
			continue;
		due = c->start_ms + p->spec.initial_delay_ms;
		p->armed = true;
		arm(p, due > now ? due - now : 0);
	}
}

static void after_work(uv_work_t *w, int status)
{
	struct probe *p = container_of(w, struct probe, work);
	struct probe_ctr *c = p->c;
	bool ok = status == 0 && p->rc == 0;

	p->busy = false;
	if (!c) {
		probe_unref(p);
		return;
	}
	if (probe__sm_feed(&p->sm, ok)) {
		LOG_V(2, "probe %s of %s/%s: %s%s%s", probe_fields[p->kind], c->pod_uid, c->name,
		      ok ? "success" : "failure", p->msg ? ": " : "", p->msg ? p->msg : "");
		c->cb(c->ud, c->pod_uid, c->name, p->kind, ok, p->msg);
		if (!p->c) {	/* the callback stopped the container's probes */
			probe_unref(p);
			return;
		}
		if (p->kind == PROBE_STARTUP && ok) {
			p->armed = false;
			ungate(c);
		} else if (p->kind != PROBE_READINESS && !ok) {
			p->armed = false;	/* held until the container is replaced */
			probe__sm_reset_run(&p->sm);
		}
	}
	if (p->armed)
		arm(p, p->spec.period_ms);
	probe_unref(p);
}

static void on_timer(uv_timer_t *t)
{
	struct probe *p = container_of(t, struct probe, timer);

	if (p->busy || !p->c || !p->armed)
		return;
	p->busy = true;
	p->refs++;
	if (uv_queue_work(t->loop, &p->work, work_cb, after_work)) {
		p->busy = false;
		p->refs--;
		arm(p, p->spec.period_ms);
	}
}

static void arm(struct probe *p, uint64_t delay_ms)
{
	uv_timer_start(&p->timer, on_timer, delay_ms, 0);
}

static struct probe_ctr **find(struct probe_manager *m, const char *uid, const char *name)
{
	struct probe_ctr **pp;

	for (pp = &m->ctrs; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->pod_uid, uid) && !strcmp((*pp)->name, name))
			return pp;
	return pp;
}

void probe_container_stop(struct probe_manager *m, const char *pod_uid, const char *container)
{
	struct probe_ctr **pp = find(m, pod_uid, container), *c = *pp;

	if (!c)
		return;
	*pp = c->next;
	ctr_free(c);
}

static struct probe *probe_new(struct probe_manager *m, struct probe_ctr *c, enum probe_kind k,
			       const char *ctr_id, const char *netns, const char *pod_ip)
{
	struct probe *p = xcalloc(1, sizeof(*p));

	p->c = c;
	p->kind = k;
	p->refs = 1;	/* the timer */
	p->ctr_id = xstrdup(ctr_id);
	p->netns = netns ? xstrdup(netns) : NULL;
	p->pod_ip = pod_ip ? xstrdup(pod_ip) : NULL;
	p->tgt = (struct probe_target){ m->rt, p->ctr_id, p->netns, p->pod_ip, 0 };
	uv_timer_init(m->loop, &p->timer);
	return p;
}

int probe_container_start(struct probe_manager *m, const char *pod_uid, const cJSON *container,
			  const char *ctr_id, const char *netns_path, const char *pod_ip,
			  probe_result_fn cb, void *ud)
{
	const char *name = json_get_str(container, "name", "");
	struct probe_ctr *c;
	int ret = 0;

	probe_container_stop(m, pod_uid, name);
	c = xcalloc(1, sizeof(*c));
	c->m = m;
	c->pod_uid = xstrdup(pod_uid);
	c->name = xstrdup(name);
	c->cb = cb;
	c->ud = ud;
	c->start_ms = mono_ms();
	for (int k = 0; k < 3 && !ret; k++) {
		const cJSON *spec = json_get(container, probe_fields[k]);
		struct probe *p;
		char *err = NULL;

		if (!spec)
			continue;
		p = c->p[k] = probe_new(m, c, k, ctr_id, netns_path, pod_ip);
		ret = probe__spec_decode(spec, container, k, &p->spec, &err);
		if (ret) {
			log_warn("pod %s container %s: %s: %s", pod_uid, name, probe_fields[k], err);
			free(err);
			break;
		}
		p->tgt.timeout_ms = p->spec.timeout_ms;
		probe__sm_init(&p->sm, p->spec.success_threshold, p->spec.failure_threshold);
	}
	if (ret) {
		ctr_free(c);
		return ret;
	}
	c->next = m->ctrs;
	m->ctrs = c;
	if (c->p[PROBE_STARTUP]) {
		c->p[PROBE_STARTUP]->armed = true;
		arm(c->p[PROBE_STARTUP], c->p[PROBE_STARTUP]->spec.initial_delay_ms);
	} else {
		ungate(c);
	}
	return 0;
}

/* ---- lifecycle hooks ---- */

struct hook_op {
	uv_work_t work;
	uv_timer_t timer;		/* sleep */
	struct probe_handler h;
	struct probe_target tgt;
	char *ctr_id, *netns, *pod_ip;
	probe_hook_done_fn done;
	void *ud;
	int rc;
	char *msg;
};

static void hook_free(struct hook_op *op)
{
	probe__handler_release(&op->h);
	free(op->ctr_id);
	free(op->netns);
	free(op->pod_ip);
	free(op->msg);
	free(op);
}

static void hook_work(uv_work_t *w)
{
	struct hook_op *op = container_of(w, struct hook_op, work);

	op->rc = probe__run(&op->h, &op->tgt, true, &op->msg);
}

static void hook_after(uv_work_t *w, int status)
{
	struct hook_op *op = container_of(w, struct hook_op, work);

	op->done(op->ud, status ? status : op->rc, op->msg);
	hook_free(op);
}

static void hook_timer_closed(uv_handle_t *h)
{
	hook_free(container_of((uv_timer_t *)h, struct hook_op, timer));
}

/* A sleep finished, or a handler could not run: report on the loop. */
static void hook_timer_done(uv_timer_t *t)
{
	struct hook_op *op = container_of(t, struct hook_op, timer);

	op->done(op->ud, op->rc, op->msg);
	uv_close((uv_handle_t *)t, hook_timer_closed);
}

static void hook_later(struct probe_manager *m, struct hook_op *op, uint64_t ms)
{
	uv_timer_init(m->loop, &op->timer);
	uv_timer_start(&op->timer, hook_timer_done, ms, 0);
}

int probe_run_hook(struct probe_manager *m, const cJSON *handler, const char *ctr_id,
		   const char *netns_path, const char *pod_ip, unsigned timeout_ms,
		   probe_hook_done_fn done, void *ud)
{
	struct hook_op *op = xcalloc(1, sizeof(*op));
	int ret;

	op->done = done;
	op->ud = ud;
	op->ctr_id = xstrdup(ctr_id ? ctr_id : "");
	op->netns = netns_path ? xstrdup(netns_path) : NULL;
	op->pod_ip = pod_ip ? xstrdup(pod_ip) : NULL;
	op->tgt = (struct probe_target){ m->rt, op->ctr_id, op->netns, op->pod_ip, timeout_ms };
	op->rc = probe__handler_decode(handler, NULL, &op->h, &op->msg);
	if (op->rc) {
		log_warn("lifecycle hook of %s: %s", op->ctr_id, op->msg);
		hook_later(m, op, 0);
		return 0;
	}
	if (op->h.action == PA_SLEEP) {
		uint64_t ms = (uint64_t)op->h.sleep_ms;

		hook_later(m, op, timeout_ms && ms > timeout_ms ? timeout_ms : ms);
		return 0;
	}
	ret = uv_queue_work(m->loop, &op->work, hook_work, hook_after);
	if (ret)
		hook_free(op);
	return ret;
}
