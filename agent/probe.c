/*
 * agent/probe.c - the first, minimal probe manager: every probe a container
 * has succeeds at once, hooks do nothing and complete with 0. Results are
 * delivered from a zero-delay timer, so they arrive on the loop after the
 * starting call returned, as the real implementation's do. Branch podvol
 * replaces this file with the full implementation behind agent/probe.h.
 */
#include "agent/probe.h"
#include "lib/json.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct probe_manager {
	uv_loop_t *loop;
	struct probe_pending *pending;	/* not yet delivered */
};

/* One deferred delivery: probe results for a container, or a hook's end. */
struct probe_pending {
	uv_timer_t timer;
	struct probe_manager *m;
	struct probe_pending *next;
	char *uid, *name;
	bool kinds[3];
	probe_result_fn cb;
	probe_hook_done_fn done;
	void *ud;
	bool cancelled;
};

static const char *const probe_fields[] = {
	[PROBE_STARTUP] = "startupProbe",
	[PROBE_LIVENESS] = "livenessProbe",
	[PROBE_READINESS] = "readinessProbe",
};

int probe_manager_new(uv_loop_t *loop, struct rt *rt, struct probe_manager **out)
{
	struct probe_manager *m = xcalloc(1, sizeof(*m));

	(void)rt;
	m->loop = loop;
	*out = m;
	return 0;
}

static void pending_closed(uv_handle_t *h)
{
	struct probe_pending *p = h->data;

	free(p->uid);
	free(p->name);
	free(p);
}

static void pending_unlink(struct probe_pending *p)
{
	struct probe_pending **pp = &p->m->pending;

	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
}

void probe_manager_free(struct probe_manager *m)
{
	if (!m)
		return;
	while (m->pending) {
		struct probe_pending *p = m->pending;

		m->pending = p->next;
		uv_close((uv_handle_t *)&p->timer, pending_closed);
	}
	free(m);
}

static void on_deliver(uv_timer_t *t)
{
	struct probe_pending *p = container_of(t, struct probe_pending, timer);

	pending_unlink(p);
	if (!p->cancelled) {
		if (p->done)
			p->done(p->ud, 0, NULL);
		for (int k = 0; p->cb && k < 3; k++)
			if (p->kinds[k])
				p->cb(p->ud, p->uid, p->name, (enum probe_kind)k, true, NULL);
	}
	uv_close((uv_handle_t *)&p->timer, pending_closed);
}

static struct probe_pending *pending_new(struct probe_manager *m)
{
	struct probe_pending *p = xcalloc(1, sizeof(*p));

	p->m = m;
	uv_timer_init(m->loop, &p->timer);
	p->timer.data = p;
	p->next = m->pending;
	m->pending = p;
	uv_timer_start(&p->timer, on_deliver, 0, 0);
	return p;
}

int probe_container_start(struct probe_manager *m, const char *pod_uid, const cJSON *container,
			  const char *ctr_id, const char *netns_path, const char *pod_ip,
			  probe_result_fn cb, void *ud)
{
	struct probe_pending *p;
	bool any = false, kinds[3];

	(void)ctr_id;
	(void)netns_path;
	(void)pod_ip;
	for (int k = 0; k < 3; k++)
		any |= kinds[k] = json_get(container, probe_fields[k]) != NULL;
	if (!any)
		return 0;
	p = pending_new(m);
	memcpy(p->kinds, kinds, sizeof(kinds));
	p->uid = xstrdup(pod_uid);
	p->name = xstrdup(json_get_str(container, "name", ""));
	p->cb = cb;
	p->ud = ud;
	return 0;
}

void probe_container_stop(struct probe_manager *m, const char *pod_uid, const char *container)
{
	for (struct probe_pending *p = m->pending; p; p = p->next)
		if (p->uid && !strcmp(p->uid, pod_uid) && !strcmp(p->name, container))
			p->cancelled = true;
}

int probe_run_hook(struct probe_manager *m, const cJSON *handler, const char *ctr_id,
		   const char *netns_path, const char *pod_ip, unsigned timeout_ms,
		   probe_hook_done_fn done, void *ud)
{
	struct probe_pending *p;

	(void)handler;
	(void)ctr_id;
	(void)netns_path;
	(void)pod_ip;
	(void)timeout_ms;
	p = pending_new(m);
	p->done = done;
	p->ud = ud;
	return 0;
}
