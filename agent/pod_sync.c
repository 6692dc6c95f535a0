/*
 * agent/pod_sync.c - the per-pod state machine, on the agent's loop.
 *
 * pod__sync() looks at what the pod wants and what runs, and starts at most
 * one step (pod_step.c), most of them a work item on the thread pool:
 *   terminating -> preStop hooks, teardown, final DELETE (pod_sandbox.c)
 *   no sandbox  -> sandbox + pod network (waits for the node's podCIDRs)
 *   volumes     -> vol_pod_setup (retried while -EAGAIN)
 *   init containers, in order: start; wait for exit 0 (sidecars: running);
 *                  restart per restartPolicy with back-off (pod_ctr.c)
 *   app containers: start what is not running and should be (restartPolicy,
 *                  back-off); liveness failures stop the container
 * A step's completion applies its result and syncs again; the exit poller
 * (pod.c) brings container exits in. Status goes out through pod_status.c
 * after every sync.
 */
#include "agent/pod_int.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void ctrs_init(struct pod *p, const cJSON *spec)
{
	const cJSON *c;
	size_t i = 0;

	p->n_init = (size_t)cJSON_GetArraySize(json_get(spec, "initContainers"));
	p->n_ctrs = p->n_init + (size_t)cJSON_GetArraySize(json_get(spec, "containers"));
	p->ctrs = xcalloc(p->n_ctrs ? p->n_ctrs : 1, sizeof(*p->ctrs));
	cJSON_ArrayForEach(c, json_get(spec, "initContainers"))
		ctr_init(&p->ctrs[i++], c, true);
	cJSON_ArrayForEach(c, json_get(spec, "containers"))
		ctr_init(&p->ctrs[i++], c, false);
}

/* The first object of a pod: what does not change, and the status the API has. */
static void pod_init(struct pod *p, const cJSON *obj)
{
	const cJSON *meta = json_get(obj, "metadata"), *spec = json_get(obj, "spec");
	const char *st = json_path(obj, "status.startTime") ?
		json_get_str(json_get(obj, "status"), "startTime", "") : NULL;
	int64_t ns;

	free(p->ns);
	free(p->name);
	p->ns = xstrdup(json_get_str(meta, "namespace", ""));
	p->name = xstrdup(json_get_str(meta, "name", ""));
	p->host_network = json_get_bool(spec, "hostNetwork", false);
	p->share_pid = json_get_bool(spec, "shareProcessNamespace", false);
	ctrs_init(p, spec);
	if (st && rfc3339_parse(st, &ns) == 0)
		p->start_ns = ns;
	if (json_get(obj, "status"))
		p->status_sent = cJSON_Duplicate(json_get(obj, "status"), 1);
	cond_init(p, obj);
}

void pod__update_obj(struct pod *p, const cJSON *obj)
{
	bool first = !p->obj;

	cJSON_Delete(p->obj);
	p->obj = cJSON_Duplicate(obj, 1);
	/* what the workers never read is not kept (memory: one copy per pod) */
	cJSON_DeleteItemFromObjectCaseSensitive(json_get(p->obj, "metadata"), "managedFields");
	cJSON_DeleteItemFromObjectCaseSensitive(p->obj, "status");
	if (json_get(json_get(obj, "metadata"), "deletionTimestamp"))
		p->terminating = true;
	if (first)
		pod_init(p, obj);
	pod__eph_add(p);
}

/* ---- containers ---- */

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
				pod__ctr_run(p, c);
			return false;
		}
		if (c->run == CTR_EXITED && c->exit_code == 0)
			continue;
		if (c->run == CTR_RUNNING)
			return false;
		if (c->run == CTR_EXITED && !pod__ctr_should_restart(p, c)) {
			p->finished = true;
			free(p->init_failed_msg);
			p->init_failed_msg = xasprintf("init container %s failed", c->name);
			return false;
		}
		pod__ctr_run(p, c);
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

		if (c->ephemeral)
			continue;
		if (c->run == CTR_RUNNING) {
			all_done = false;
			if (c->liveness_failed) {
				pod__ctr_stop(p, &c, 1, pod__grace_ms(p));
				return false;
			}
			continue;
		}
		if (c->run == CTR_NONE || pod__ctr_should_restart(p, c)) {
			all_done = false;
			pod__ctr_run(p, c);
		}
	}
	return all_done && !p->busy;
}

/* All app containers are done: the pod is finished; sidecars stop. */
static void sync_finished(struct pod *p)
{
	bool sidecars = false;

	p->finished = true;
	for (size_t i = 0; i < p->n_init; i++)
		sidecars |= p->ctrs[i].run == CTR_RUNNING;
	if (sidecars) {
		struct pod_step *s = pod__step_new(p, STEP_TEARDOWN);

		s->grace_ms = pod__grace_ms(p);
		pod__step_queue(s);
	}
}

/* ---- the start gate ---- */

/* True when p may start now; else it waits in line for a slot. */
static bool start_acquire(struct pod *p)
{
	struct pod_manager *pm = p->pm;

	if (p->start_slot)
		return true;
	if (pm->starting >= pm->start_max) {
		if (!p->start_wait)
			p->start_wait = ++pm->start_seq;
		return false;
	}
	p->start_wait = 0;
	p->start_slot = true;
	pm->starting++;
	return true;
}

void pod__start_release(struct pod *p)
{
	struct pod_manager *pm = p->pm;
	struct pod *next = NULL;

	if (!p->start_slot)
		return;
	p->start_slot = false;
	for (struct pod *q = pm->pods; q; q = q->next)
		if (q->start_wait && (!next || q->start_wait < next->start_wait))
			next = q;
	if (!next) {
		pm->starting--;
		return;
	}
	/* handed over, so that a second release before next's sync wakes
	 * another pod; next gives it back when it does not need it */
	next->start_wait = 0;
	next->start_slot = true;
	pod__timer_at(next, 0);	/* from the loop, not from inside this sync */
}

/* ---- sandbox and volumes ---- */

/* Starts the sandbox unless the network, its retry time or a start slot is
 * awaited. */
static void sync_sandbox(struct pod *p)
{
	struct pod_manager *pm = p->pm;

	if (!p->host_network && !pm->net_ready) {
		p->net_wait = true;
		return;
	}
	p->net_wait = false;
	if (uv_now(pm->loop) < p->sandbox_retry_ms) {
		pod__timer_at(p, p->sandbox_retry_ms - uv_now(pm->loop));
		return;
	}
	if (!start_acquire(p))
		return;
	/* its token is asked for now, so it comes while the sandbox starts
	 * (at accept time, a burst of pods would ask for all at once) */
	vol_pod_prefetch(pm->vol, p->obj);
	pod__sandbox_start(p);
}

/* A re-adopted sandbox's addresses, from IPAM (never waits on the loop). */
static void lookup_ips(struct pod *p)
{
	struct pod_manager *pm = p->pm;
	char owner[NET_IPAM_OWNER_MAX + 1];
	struct net_ipam_addrs a;

	snprintf(owner, sizeof(owner), "%s/eth0", p->uid);
	if (uv_mutex_trylock(&pm->net_mu))
		return;
	if (net_ipam_lookup(&pm->ipam, owner, &a) == 0)
		for (size_t i = 0; i < a.n && i < 2; i++)
			inet_addr_format(&a.addr[i].addr, p->ips[p->n_ips++]);
	uv_mutex_unlock(&pm->net_mu);
}

/* A volume failure as the kubelet reports it (FailedMount), once per message:
 * 'volume "v": what' becomes 'MountVolume.SetUp failed for volume "v" : what'. */
static void volumes_failed(struct pod *p, const char *err)
{
	const char *q = strstr(err, "\": ");

	if (p->sandbox_err && !strcmp(p->sandbox_err, err))
		return;
	if (!strncmp(err, "volume \"", 8) && q)
		pod__event(p, NULL, true, "FailedMount", "MountVolume.SetUp failed for %.*s : %s",
			   (int)(q + 1 - err), err, q + 3);
	else
		pod__event(p, NULL, true, "FailedMount", "%s", err);
	free(p->sandbox_err);
	p->sandbox_err = xstrdup(err);
}

/* 0 when the pod's volumes are set up; else a retry is armed. A wait for an
 * object (-EAGAIN: a configMap not there yet) is reported once it lasted
 * POD_RETRY_MS, so that a token on its way makes no event. */
static int sync_volumes(struct pod *p)
{
	uint64_t now = uv_now(p->pm->loop);
	char *err = NULL;
	int r = vol_pod_setup(p->pm->vol, p->obj, &err);

	if (!r) {
		p->vol_wait_ms = 0;
		return 0;
	}
	if (!p->vol_wait_ms)
		p->vol_wait_ms = now;
	if (r != -EAGAIN || (err && now - p->vol_wait_ms >= POD_RETRY_MS))
		volumes_failed(p, err ? err : strerror(-r));
	free(err);
	pod__timer_at(p, r == -EAGAIN ? 500 : POD_RETRY_MS);
	return r;
}

static void sync_running(struct pod *p)
{
	if (!p->start_ns)
		p->start_ns = (int64_t)wall_ns();
	if (!p->sandbox_ready) {
		sync_sandbox(p);
		return;
	}
	if (!p->host_network && !p->n_ips && p->pm->net_ready)
		lookup_ips(p);
	pod__obj_fill_status(p);	/* downwardAPI volumes read podIP and the like */
	if (sync_volumes(p))
		return;
	if (!sync_init(p) || p->busy)
		return;
	pod__eph_sync(p);
	if (sync_app(p))
		sync_finished(p);
}

void pod__sync(struct pod *p)
{
	if (p->busy) {
		p->dirty = true;
		return;
	}
	if (p->pm->stopping)
		return;
	if (p->terminating || p->finished || !p->obj)
		p->start_wait = 0;	/* out of the line for good */
	if (p->terminating)
		pod__terminate(p);
	else if (p->obj && !p->finished)
		sync_running(p);
	if (!p->busy)	/* started, or waiting for something else than a step */
		pod__start_release(p);
	pod__status_update(p);
}
