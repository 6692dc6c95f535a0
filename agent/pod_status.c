/*
 * agent/pod_status.c - a pod's status from the workers' state, written to
 * pods/<name>/status (merge patch) only when it changed, and the pod's
 * events (core/v1 Events, source kubelet).
 *
 * A pod that is starting (pod_sync.c's start gate) writes nothing until its
 * steps idle, so a pod start normally costs one write; one still starting
 * POD_SHOW_CREATING_MS after the agent accepted it (waiting in line, a slow
 * sandbox or container start) has its status (ContainerCreating) written
 * once then, as the kubelet posts it soon after it accepts a pod.
 * Compared with what was last written (or, at first, what the API object
 * holds, so a restarted agent that re-adopted everything writes nothing) key
 * by key of what we own; fields others own (qosClass, nominatedNodeName) are
 * left alone. Condition times move only when a condition flips.
 */
#include "agent/pod_int.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* In the order of struct pod's cond_ns[] (and pod_sync.c's cond_init). */
enum { C_SANDBOX, C_INIT, C_READY, C_CTRS_READY, C_SCHEDULED };
static const char *const cond_names[] = { "PodReadyToStartContainers", "Initialized", "Ready",
					  "ContainersReady", "PodScheduled" };

static void set_time(cJSON *o, const char *key, int64_t ns)
{
	char ts[RFC3339_MAX];

	if (ns <= 0) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	rfc3339_format(ns, ts);
	json_set_str(o, key, ts);
}

static bool ctr_ready(const struct pod_ctr *c)
{
	return c->run == CTR_RUNNING && !c->liveness_failed && (!c->has_readiness || c->ready_probe) &&
	       (!c->has_startup || c->started_probe);
}

static bool init_done(const struct pod *p)
{
	for (size_t i = 0; i < p->n_init; i++) {
		const struct pod_ctr *c = &p->ctrs[i];

		if (c->sidecar ? !(c->run == CTR_RUNNING || c->ever_ran) :
				 !(c->run == CTR_EXITED && c->exit_code == 0))
			return false;
	}
	return true;
}

const char *pod__phase(const struct pod *p)
{
	bool running = false, failed = false, any_ran = false;

	if (p->init_failed_msg)
		return "Failed";
	for (size_t i = p->n_init; i < p->n_ctrs; i++) {
		const struct pod_ctr *c = &p->ctrs[i];

		if (c->ephemeral)
			continue;
		any_ran |= c->ever_ran;
		running |= c->run == CTR_RUNNING;
		failed |= c->run == CTR_EXITED && c->exit_code != 0;
	}
	if (p->finished && any_ran)
		return failed ? "Failed" : "Succeeded";
	if (!init_done(p) || !any_ran)
		return "Pending";
	return running || !p->finished ? "Running" : "Pending";
}

static cJSON *terminated(int exit_code, int sig, bool oom, const char *msg, int64_t started,
			 int64_t finished, const char *id)
{
	cJSON *t = cJSON_CreateObject();

	json_set_int(t, "exitCode", exit_code);
	if (sig)
		json_set_int(t, "signal", sig);
	json_set_str(t, "reason", oom ? "OOMKilled" : exit_code == 0 ? "Completed" : "Error");
	if (msg)
		json_set_str(t, "message", msg);
	set_time(t, "startedAt", started);
	set_time(t, "finishedAt", finished);
	if (id)
		json_set_str(t, "containerID", id);
	return t;
}

static cJSON *ctr_status(const struct pod *p, const struct pod_ctr *c, bool initializing)
{
	cJSON *s = cJSON_CreateObject(), *state = cJSON_CreateObject(), *last = cJSON_CreateObject();
	char *cid = c->ever_ran ? xasprintf("k1s://%s", c->id) : NULL;
	bool waiting_backoff = c->run == CTR_EXITED && c->wait_reason;

	json_set_str(s, "name", c->name);
	if (c->run == CTR_RUNNING) {
		set_time(json_obj(state, "running"), "startedAt", c->started_ns);
	} else if (c->run == CTR_EXITED && !waiting_backoff) {
		json_set(state, "terminated", terminated(c->exit_code, c->signal, c->oom, c->message,
							 c->started_ns, c->finished_ns, cid));
	} else {
		cJSON *w = json_obj(state, "waiting");

		json_set_str(w, "reason", c->wait_reason ? c->wait_reason :
			     initializing ? "PodInitializing" : "ContainerCreating");
		if (c->wait_msg)
			json_set_str(w, "message", c->wait_msg);
	}
	json_set(s, "state", state);
	if (waiting_backoff) {
		json_set(last, "terminated", terminated(c->exit_code, c->signal, c->oom, c->message,
							c->started_ns, c->finished_ns, cid));
	} else if (c->has_last) {
		char *lid = xasprintf("k1s://%s_%s_%u", p->uid, c->name, c->attempt ? c->attempt - 1 : 0);

		json_set(last, "terminated", terminated(c->last_exit, 0, c->last_oom, NULL,
							c->last_started_ns, c->last_finished_ns, lid));
		free(lid);
	}
	json_set(s, "lastState", last);
	json_set_bool(s, "ready", ctr_ready(c));
	json_set_int(s, "restartCount", c->attempt);
	json_set_str(s, "image", c->image_ref);
	json_set_str(s, "imageID", c->image_id ? c->image_id : "");
	if (cid)
		json_set_str(s, "containerID", cid);
	json_set_bool(s, "started", c->run == CTR_RUNNING && (!c->has_startup || c->started_probe));
	free(cid);
	return s;
}

static void condition(struct pod *p, cJSON *arr, int idx, bool val, const char *reason)
{
	cJSON *c = cJSON_CreateObject();

	if (!p->cond_ns[idx] || p->cond_val[idx] != val) {
		p->cond_ns[idx] = (int64_t)(wall_ns() / 1000000000 * 1000000000);
		p->cond_val[idx] = val;
	}
	json_set_str(c, "type", cond_names[idx]);
	json_set_str(c, "status", val ? "True" : "False");
	cJSON_AddNullToObject(c, "lastProbeTime");
	set_time(c, "lastTransitionTime", p->cond_ns[idx]);
	if (reason && !val)
		json_set_str(c, "reason", reason);
	cJSON_AddItemToArray(arr, c);
}

static cJSON *ips_array(char ips[][INET_ADDR_STRLEN], size_t n, char *const *alt, size_t nalt)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		json_set_str(o, "ip", ips ? ips[i] : alt[i]);
		cJSON_AddItemToArray(a, o);
	}
	(void)nalt;
	return a;
}

static cJSON *build_status(struct pod *p)
{
	cJSON *st = cJSON_CreateObject(), *conds = cJSON_CreateArray(), *cs, *ics, *ecs;
	struct pod_manager *pm = p->pm;
	bool initd = init_done(p), all_ready = p->n_ctrs > p->n_init;
	size_t nips = pm->node_ips[1] ? 2 : pm->node_ips[0] ? 1 : 0;

	for (size_t i = p->n_init; i < p->n_ctrs; i++)
		all_ready &= p->ctrs[i].ephemeral || ctr_ready(&p->ctrs[i]);
	if (p->finished)
		all_ready = false;
	json_set_str(st, "phase", pod__phase(p));
	condition(p, conds, C_SANDBOX, p->sandbox_ready && !p->torn_down, NULL);
	condition(p, conds, C_INIT, initd, "ContainersNotInitialized");
	condition(p, conds, C_READY, all_ready, "ContainersNotReady");
	condition(p, conds, C_CTRS_READY, all_ready, "ContainersNotReady");
	condition(p, conds, C_SCHEDULED, true, NULL);
	json_set(st, "conditions", conds);
	if (nips) {
		json_set_str(st, "hostIP", pm->node_ips[0]);
		json_set(st, "hostIPs", ips_array(NULL, nips, pm->node_ips, nips));
	}
	if (p->host_network && nips) {
		json_set_str(st, "podIP", pm->node_ips[0]);
		json_set(st, "podIPs", ips_array(NULL, nips, pm->node_ips, nips));
	} else if (p->n_ips) {
		json_set_str(st, "podIP", p->ips[0]);
		json_set(st, "podIPs", ips_array(p->ips, p->n_ips, NULL, 0));
	}
	if (p->start_ns)
		set_time(st, "startTime", p->start_ns);
	if (p->init_failed_msg)
		json_set_str(st, "message", p->init_failed_msg);
	cs = cJSON_AddArrayToObject(st, "containerStatuses");
	ecs = p->n_ctrs && p->ctrs[p->n_ctrs - 1].ephemeral ?
		cJSON_AddArrayToObject(st, "ephemeralContainerStatuses") : NULL;
	for (size_t i = p->n_init; i < p->n_ctrs; i++)
		cJSON_AddItemToArray(p->ctrs[i].ephemeral ? ecs : cs, ctr_status(p, &p->ctrs[i], !initd));
	if (p->n_init) {
		ics = cJSON_AddArrayToObject(st, "initContainerStatuses");
		for (size_t i = 0; i < p->n_init; i++)
			cJSON_AddItemToArray(ics, ctr_status(p, &p->ctrs[i], false));
	}
	return st;
}

void pod__obj_fill_status(struct pod *p)
{
	cJSON *full = build_status(p), *st = cJSON_CreateObject();
	static const char *const keys[] = { "hostIP", "hostIPs", "podIP", "podIPs", "phase", "startTime" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_get(full, keys[i]))
			json_set(st, keys[i], cJSON_Duplicate(json_get(full, keys[i]), 1));
	json_set(p->obj, "status", st);
	cJSON_Delete(full);
}

/* True when every key of new is equal in old. */
static bool same(const cJSON *new, const cJSON *old)
{
	const cJSON *it;

	if (!old)
		return false;
	cJSON_ArrayForEach(it, new)
		if (!json_equal(it, json_get(old, it->string)))
			return false;
	return true;
}

/* Write slots are free: the pods waiting longest for one write (a pod that
 * has nothing to write any more leaves the line). */
static void status_next(struct pod_manager *pm)
{
	while (pm->status_writes < POD_STATUS_WRITES_MAX) {
		struct pod *next = NULL;

		for (struct pod *q = pm->pods; q; q = q->next)
			if (q->status_wait && (!next || q->status_wait < next->status_wait))
				next = q;
		if (!next)
			return;
		next->status_wait = 0;
		pod__status_update(next);
	}
}

static void on_status_written(struct api_result *res, void *ud)
{
	struct pod *p = ud;

	p->status_busy = false;
	p->pm->status_writes--;
	status_next(p->pm);
	if (!api_result_ok(res) && res->code != 404) {
		log_warn("pods: %s/%s: status update failed: %s (HTTP %d)", p->ns, p->name,
			 res->status.message, res->code);
		cJSON_Delete(p->status_sent);	/* write again at the next change */
		p->status_sent = NULL;
		pod__timer_at(p, POD_RETRY_MS);
	}
	if (p->gone) {
		pod__sync(p);	/* may forget it now that nothing refers to it */
		return;
	}
	if (p->status_dirty) {
		p->status_dirty = false;
		pod__status_update(p);
	}
}

void pod__status_update(struct pod *p)
{
	cJSON *st, *patch;
	char *path;

	if (!p->obj || p->gone || p->api_deleted || p->pm->stopping)
		return;
	/* A starting pod's passing states (waiting for a start slot, sandbox
	 * up, container being created) are not written: its first status is
	 * written once its steps idle (usually Running), pod__sync() then
	 * comes here again. The API server has it Pending meanwhile. */
	if (!p->show_creating && (p->start_wait || (p->start_slot && p->busy)))
		return;
	if (p->status_busy) {
		p->status_dirty = true;
		return;
	}
	if (p->pm->status_writes >= POD_STATUS_WRITES_MAX || p->status_wait) {
		if (!p->status_wait)
			p->status_wait = ++p->pm->status_seq;
		return;
	}
	p->show_creating = false;
	uv_timer_stop(&p->show_timer);
	st = build_status(p);
	if (same(st, p->status_sent)) {
		cJSON_Delete(st);
		return;
	}
	patch = cJSON_CreateObject();
	json_set(patch, "status", st);
	json_set_str(json_obj(patch, "metadata"), "uid", p->uid);
	path = api_path("v1", "pods", p->ns, p->name, "status");
	/* The pod may be freed before the answer comes: api_client_free()
	 * cancels callbacks, and pods are freed only at stop or once gone. */
	if (api_patch(p->pm->api, path, API_PATCH_MERGE, patch, on_status_written, p) == 0) {
		p->status_busy = true;
		p->pm->status_writes++;
		cJSON_Delete(p->status_sent);
		p->status_sent = cJSON_Duplicate(st, 1);
	}
	free(path);
	cJSON_Delete(patch);
}

static void on_show_timer(uv_timer_t *t)
{
	struct pod *p = t->data;

	p->show_creating = true;
	pod__status_update(p);
}

void pod__status_arm(struct pod *p)
{
	if (!p->terminating && !p->sandbox_ready)
		uv_timer_start(&p->show_timer, on_show_timer, POD_SHOW_CREATING_MS, 0);
}

/* ---- events ---- */

static void on_event_written(struct api_result *res, void *ud)
{
	(void)ud;
	if (!api_result_ok(res))
		LOG_V(2, "pods: event not written: %s", res->status.message);
}

void pod__event(struct pod *p, const char *ctr, bool warning, const char *reason, const char *fmt, ...)
{
	cJSON *ev, *io, *src;
	char ts[RFC3339_MAX], *msg, *path, *field = NULL;
	int64_t now = (int64_t)wall_ns();
	va_list ap;

	if (!p->obj || !*p->ns || p->pm->stopping)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	ev = cJSON_CreateObject();
	json_set_str(ev, "apiVersion", "v1");
	json_set_str(ev, "kind", "Event");
	{
		char *name = xasprintf("%s.%llx", p->name, (unsigned long long)now);

		json_set_str(json_obj(ev, "metadata"), "name", name);
		free(name);
	}
	json_set_str(json_obj(ev, "metadata"), "namespace", p->ns);
	io = json_obj(ev, "involvedObject");
	json_set_str(io, "apiVersion", "v1");
	json_set_str(io, "kind", "Pod");
	json_set_str(io, "namespace", p->ns);
	json_set_str(io, "name", p->name);
	json_set_str(io, "uid", p->uid);
	if (ctr) {
		bool init = false;

		for (size_t i = 0; i < p->n_init; i++)
			init |= !strcmp(p->ctrs[i].name, ctr);
		field = xasprintf("spec.%s{%s}", init ? "initContainers" : "containers", ctr);
		json_set_str(io, "fieldPath", field);
	}
	json_set_str(ev, "reason", reason);
	json_set_str(ev, "message", msg);
	json_set_str(ev, "type", warning ? "Warning" : "Normal");
	src = json_obj(ev, "source");
	json_set_str(src, "component", "kubelet");
	json_set_str(src, "host", p->pm->node_name);
	rfc3339_format(now, ts);
	json_set_str(ev, "firstTimestamp", ts);
	json_set_str(ev, "lastTimestamp", ts);
	json_set_int(ev, "count", 1);
	json_set_str(ev, "reportingComponent", "kubelet");
	json_set_str(ev, "reportingInstance", p->pm->node_name);
	path = api_path("v1", "events", p->ns, NULL, NULL);
	api_create(p->pm->api, path, ev, on_event_written, NULL);
	free(path);
	free(field);
	free(msg);
	cJSON_Delete(ev);
}
