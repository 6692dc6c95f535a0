/*
 * agent/pod_step.c - a pod's steps: work items run on the thread pool, at
 * most one per pod at a time (pod.busy), and their completions on the loop.
 *
 * A step owns copies of what its worker reads (the worker never touches the
 * pod); pod__step_queue() hands it to the pool, step_done() applies its
 * result through the file that made it (pod_sandbox.c, pod_ctr.c), frees it
 * and syncs the pod again. Also the pod's retry timer.
 */
#include "agent/pod_int.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdlib.h>

static void step_run(uv_work_t *req)
{
	struct pod_step *s = container_of(req, struct pod_step, req);
	struct pod_manager *pm = s->p->pm;

	s->t_run = mono_ns();
	switch (s->op) {
	case STEP_SANDBOX:
		s->ret = pod__work_sandbox(pm, s->p->uid, s->hostname, s->share_pid, s->host_network,
					   &s->netns, s->ips, &s->n_ips, s->err, sizeof(s->err));
		break;
	case STEP_START:
		s->ret = pod__work_start(pm, &s->cs, s->err, sizeof(s->err));
		break;
	case STEP_STOP:
		for (size_t i = 0; i < s->n; i++)
			pod__work_stop(pm, s->ids[i], s->grace_ms);
		__attribute__((fallthrough));	/* then read the exits */
	case STEP_STATUS:
		for (size_t i = 0; i < s->n; i++)
			if (pod__work_status(pm, s->ids[i], &s->st[i]))
				s->st[i].state = RT_STATE_UNKNOWN;
		break;
	case STEP_TEARDOWN:
		s->ret = pod__work_teardown(pm, s->p->uid, s->grace_ms, s->all);
		break;
	case STEP_REMOVE:
		for (size_t i = 0; i < s->n; i++)
			pod__work_remove(pm, s->ids[i]);
		break;
	case STEP_IMAGE:
		s->ret = pod__work_image(pm, s->image_ref, &s->image_id, &s->image_config);
		break;
	}
	s->t_ran = mono_ns();
}

static void step_free(struct pod_step *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->ids);
	free(s->idx);
	free(s->st);
	free(s->hostname);
	free(s->netns);
	free(s->image_ref);
	free(s->image_id);
	cJSON_Delete(s->image_config);
	pod__ctr_start_release(&s->cs);
	free(s);
}

static void step_apply(struct pod *p, struct pod_step *s)
{
	switch (s->op) {
	case STEP_SANDBOX:
		pod__sandbox_done(p, s);
		break;
	case STEP_START:
		pod__ctr_run_done(p, s);
		break;
	case STEP_REMOVE:
		break;
	case STEP_IMAGE:
		pod__ctr_image_done(p, s);
		break;
	case STEP_STOP:
	case STEP_STATUS:
		pod__ctr_status_done(p, s);
		break;
	case STEP_TEARDOWN:
		pod__teardown_done(p, s);
		break;
	}
}

static void step_done(uv_work_t *req, int status)
{
	struct pod_step *s = container_of(req, struct pod_step, req);
	struct pod *p = s->p;
	struct pod_manager *pm = p->pm;

	(void)status;
	pm->works--;
	p->busy = false;
	LOG_V(2, "pods: %s/%s: step %d: %d, queued %.1f ms, ran %.1f ms, done after %.1f ms",
	      p->ns, p->name, (int)s->op, s->ret, (double)(s->t_run - s->t_queued) / 1e6,
	      (double)(s->t_ran - s->t_run) / 1e6, (double)(mono_ns() - s->t_ran) / 1e6);
	if (pm->stopping) {
		step_free(s);
		pod__forget(p);
		return;		/* pod_closed() calls done */
	}
	step_apply(p, s);
	step_free(s);
	p->dirty = false;
	pod__sync(p);
}

struct pod_step *pod__step_new(struct pod *p, enum pod_step_op op)
{
	struct pod_step *s = xcalloc(1, sizeof(*s));

	s->p = p;
	s->op = op;
	return s;
}

void pod__step_queue(struct pod_step *s)
{
	s->p->busy = true;
	s->p->pm->works++;
	s->t_queued = mono_ns();
	uv_queue_work(s->p->pm->loop, &s->req, step_run, step_done);
}

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
