/*
 * agent/node.c - node registration, node status and the node Lease.
 *
 * Registration: GET /version (kubeletVersion) -> GET the Node -> create it
 * (labels, --node-taint taints + node.kubernetes.io/not-ready:NoSchedule)
 * or merge-patch our labels onto the existing one (its uid is kept) ->
 * heartbeat. Any failure restarts registration after a backoff.
 * Heartbeat: the Lease is renewed (merge patch, created on 404) every
 * lease_renew_ms; conditions are re-evaluated every check_ms and the status
 * is merge-patched on nodes/status when a condition changed or
 * status_report_ms passed. Once Ready is posted the not-ready taint is
 * removed (k1s has no node lifecycle controller yet to do it).
 */
#include "node.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define NOT_READY_TAINT "node.kubernetes.io/not-ready"
#define LEASE_NS "kube-node-lease"
#define BACKOFF_MAX_MS 30000

static const struct {
	const char *type;
	const char *ok_reason, *ok_msg, *bad_reason, *bad_msg;
} conditions[SIG_N] = {
	[SIG_MEMORY] = { "MemoryPressure", "KubeletHasSufficientMemory",
			 "kubelet has sufficient memory available",
			 "KubeletHasInsufficientMemory", "kubelet has insufficient memory available" },
	[SIG_NODEFS] = { "DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure",
			 "KubeletHasDiskPressure", "kubelet has disk pressure" },
	[SIG_PID] = { "PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available",
		      "KubeletHasInsufficientPID", "kubelet has insufficient PID available" },
};

static void reg_start(struct agent *a);

static char *node_path(const struct agent *a, const char *sub)
{
	return api_path("v1", "nodes", NULL, a->node_name, sub);
}

/* Merge-patches our Node with p (freed); cb(res, a) gets the answer. */
static void node_patch(struct agent *a, cJSON *p, api_done_fn cb)
{
	char *path = node_path(a, NULL);

	api_patch(a->api, path, API_PATCH_MERGE, p, cb, a);
	free(path);
	cJSON_Delete(p);
}

static void on_retry(uv_timer_t *t)
{
	reg_start(container_of(t, struct agent, retry_timer));
}

static void reg_fail(struct agent *a, const char *what, const struct api_result *res)
{
	a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : 500;
	if (a->backoff_ms > BACKOFF_MAX_MS)
		a->backoff_ms = BACKOFF_MAX_MS;
	log_warn("node '%s': %s failed: %s (HTTP %d); retrying in %u ms", a->node_name, what,
		 res->status.message, res->code, a->backoff_ms);
	a->registered = false;
	uv_timer_stop(&a->lease_timer);
	uv_timer_stop(&a->check_timer);
	uv_timer_start(&a->retry_timer, on_retry, a->backoff_ms, 0);
}

static void add_labels(const struct agent *a, cJSON *labels)
{
	json_set_str(labels, "kubernetes.io/hostname", a->node_name);
	json_set_str(labels, "kubernetes.io/os", "linux");
	json_set_str(labels, "kubernetes.io/arch", a->facts.arch);
	json_set_str(labels, "beta.kubernetes.io/os", "linux");
	json_set_str(labels, "beta.kubernetes.io/arch", a->facts.arch);
	if (a->cfg.control_plane)
		json_set_str(labels, "node-role.kubernetes.io/control-plane", "true");
	for (size_t i = 0; i < a->cfg.node_label.n; i++) {
		const char *kv = a->cfg.node_label.v[i], *eq = strchr(kv, '=');
		char *k = xstrndup(kv, (size_t)(eq - kv));

		json_set_str(labels, k, eq + 1);
		free(k);
	}
}

static cJSON *taint(const char *spec)
{
	cJSON *t = cJSON_CreateObject();
	const char *colon = strrchr(spec, ':'), *eq = strchr(spec, '=');
	char *key;

	if (eq && eq < colon) {
		key = xstrndup(spec, (size_t)(eq - spec));
		char *val = xstrndup(eq + 1, (size_t)(colon - eq - 1));

		json_set_str(t, "value", val);
		free(val);
	} else {
		key = xstrndup(spec, (size_t)(colon - spec));
	}
	json_set_str(t, "key", key);
	json_set_str(t, "effect", colon + 1);
	free(key);
	return t;
}

/* ---- status ---- */

static void set_qty(cJSON *o, const char *k, int64_t v, bool kib)
{
	char s[64];

	if (kib)
		snprintf(s, sizeof(s), "%lldKi", (long long)(v / 1024));
	else if (v % 1000)
		snprintf(s, sizeof(s), "%lldm", (long long)v);
	else
		snprintf(s, sizeof(s), "%lld", (long long)(v / 1000));
	json_set_str(o, k, s);
}

static cJSON *resources(const struct agent *a)
{
	cJSON *r = cJSON_CreateObject();

	set_qty(r, "cpu", a->facts.cpu_milli, false);
	set_qty(r, "memory", a->facts.mem_total, true);
	set_qty(r, "ephemeral-storage", a->facts.fs_total, true);
	set_qty(r, "pods", AGENT_MAX_PODS * 1000, false);
	return r;
}

static cJSON *condition(const char *type, bool status, const char *reason,
			const char *msg, int64_t transition_ns, const char *now)
{
	cJSON *c = cJSON_CreateObject();
	char t[RFC3339_MAX];

	rfc3339_format(transition_ns, t);
	json_set_str(c, "type", type);
	json_set_str(c, "status", status ? "True" : "False");
	json_set_str(c, "lastHeartbeatTime", now);
	json_set_str(c, "lastTransitionTime", t);
	json_set_str(c, "reason", reason);
	json_set_str(c, "message", msg);
	return c;
}

static cJSON *status_patch(struct agent *a, const bool cond[SIG_N])
{
	cJSON *p = cJSON_CreateObject(), *st = json_obj(p, "status");
	cJSON *addrs = cJSON_CreateArray(), *conds = cJSON_CreateArray(), *info, *ep;
	char now[RFC3339_MAX];

	rfc3339_format((int64_t)wall_ns(), now);
	for (size_t i = 0; i < a->n_ip; i++) {
		cJSON *ad = cJSON_CreateObject();

		json_set_str(ad, "type", "InternalIP");
		json_set_str(ad, "address", a->ip[i]);
		cJSON_AddItemToArray(addrs, ad);
	}
	cJSON *hn = cJSON_CreateObject();

	json_set_str(hn, "type", "Hostname");
	json_set_str(hn, "address", a->facts.hostname);
	cJSON_AddItemToArray(addrs, hn);
	json_set(st, "addresses", addrs);
	json_set(st, "capacity", resources(a));
	json_set(st, "allocatable", resources(a));
	for (int i = 0; i < SIG_N; i++)
		cJSON_AddItemToArray(conds, condition(conditions[i].type, cond[i],
			cond[i] ? conditions[i].bad_reason : conditions[i].ok_reason,
			cond[i] ? conditions[i].bad_msg : conditions[i].ok_msg,
			a->transition_ns[i], now));
	cJSON_AddItemToArray(conds, condition("Ready", true, "KubeletReady",
			     "kubelet is posting ready status", a->transition_ns[SIG_N], now));
	json_set(st, "conditions", conds);
	info = json_obj(st, "nodeInfo");
	json_set_str(info, "machineID", a->facts.machine_id);
	json_set_str(info, "systemUUID", a->facts.machine_id);
	json_set_str(info, "bootID", a->facts.boot_id);
	json_set_str(info, "kernelVersion", a->facts.kernel);
	json_set_str(info, "osImage", a->facts.os_image);
	json_set_str(info, "containerRuntimeVersion", a->facts.runtime);
	json_set_str(info, "kubeletVersion", a->kubelet_version ? a->kubelet_version : "");
	json_set_str(info, "kubeProxyVersion", "");
	json_set_str(info, "operatingSystem", "linux");
	json_set_str(info, "architecture", a->facts.arch);
	ep = json_obj(json_obj(st, "daemonEndpoints"), "kubeletEndpoint");
	json_set_int(ep, "Port", a->cfg.kubelet_port > 0 ? a->cfg.kubelet_port : 10250);
	return p;
}

static void post_status(struct agent *a, const bool cond[SIG_N]);

static void on_untaint(struct api_result *res, void *ud)
{
	struct agent *a = ud;

	if (api_result_ok(res)) {
		a->untainted = true;
		agent__start_rest(a);
	} else if (res->code == 409 && !a->status_busy) {
		/* the node changed meanwhile (e.g. node IPAM): again, from a fresh copy */
		post_status(a, a->cond);
	} else {
		log_warn("node '%s': cannot remove the not-ready taint: %s", a->node_name,
			 res->status.message);
	}
}

/* Removes our not-ready taint from node (the patch response). */
static void untaint(struct agent *a, const cJSON *node)
{
	const cJSON *taints = json_path(node, "spec.taints"), *t;
	cJSON *keep = cJSON_CreateArray(), *p;
	bool found = false;

	cJSON_ArrayForEach(t, taints) {
		if (!strcmp(json_get_str(t, "key", ""), NOT_READY_TAINT))
			found = true;
		else
			cJSON_AddItemToArray(keep, cJSON_Duplicate(t, true));
	}
	if (!found) {
		a->untainted = true;
		cJSON_Delete(keep);
		agent__start_rest(a);
		return;
	}
	p = cJSON_CreateObject();
	json_set_str(json_obj(p, "metadata"), "resourceVersion",
		     json_get_str(json_get(node, "metadata"), "resourceVersion", ""));
	if (cJSON_GetArraySize(keep)) {
		json_set(json_obj(p, "spec"), "taints", keep);
	} else {	/* null removes the field, as upstream leaves it */
		cJSON_Delete(keep);
		json_set(json_obj(p, "spec"), "taints", cJSON_CreateNull());
	}
	node_patch(a, p, on_untaint);
}

static void on_status(struct api_result *res, void *ud)
{
	struct agent *a = ud;

	a->status_busy = false;
	if (api_result_ok(res)) {
		memcpy(a->cond, a->posting, sizeof(a->cond));
		a->last_report_ms = mono_ms();
		if (!a->untainted)
			untaint(a, res->obj);
	} else if (res->code == 404) {
		reg_fail(a, "node status (node deleted?)", res);
	} else {
		log_warn("node '%s': cannot update status: %s (HTTP %d)", a->node_name,
			 res->status.message, res->code);
		a->last_report_ms = 0;	/* again at the next check */
	}
}

static void post_status(struct agent *a, const bool cond[SIG_N])
{
	cJSON *p = status_patch(a, cond);
	char *path = node_path(a, "status");

	memcpy(a->posting, cond, sizeof(a->posting));
	a->status_busy = !api_patch(a->api, path, API_PATCH_MERGE, p, on_status, a);
	free(path);
	cJSON_Delete(p);
}

static void on_check(uv_timer_t *t)
{
	struct agent *a = container_of(t, struct agent, check_timer);
	int64_t every = a->cfg.status_report_ms ? a->cfg.status_report_ms : AGENT_STATUS_REPORT_MS;
	bool cond[SIG_N], changed = false;

	if (a->status_busy)
		return;
	node__facts_refresh(&a->facts, a->cfg.data_dir);
	for (int i = 0; i < SIG_N; i++) {
		cond[i] = node__pressure(&a->ev, (enum node_signal)i, &a->facts);
		if (a->last_report_ms && cond[i] != a->cond[i]) {
			a->transition_ns[i] = (int64_t)wall_ns();
			log_info("node '%s': %s is now %s", a->node_name, conditions[i].type,
				 cond[i] ? "True" : "False");
		}
		changed |= cond[i] != a->cond[i];
	}
	if (!a->last_report_ms || changed || !a->untainted ||
	    mono_ms() - a->last_report_ms >= (uint64_t)every)
		post_status(a, cond);
}

/* ---- lease ---- */

static void lease_renew(struct agent *a);

static void on_lease_created(struct api_result *res, void *ud)
{
	struct agent *a = ud;

	a->lease_busy = false;
	if (!api_result_ok(res) && res->code != 409)
		log_warn("node '%s': cannot create lease: %s (HTTP %d)", a->node_name,
			 res->status.message, res->code);
}

static void lease_create(struct agent *a, const char *now)
{
	cJSON *l = cJSON_CreateObject(), *m = json_obj(l, "metadata"), *spec, *refs, *ref;
	char *path = api_path("coordination.k8s.io/v1", "leases", LEASE_NS, NULL, NULL);

	json_set_str(l, "apiVersion", "coordination.k8s.io/v1");
	json_set_str(l, "kind", "Lease");
	json_set_str(m, "name", a->node_name);
	json_set_str(m, "namespace", LEASE_NS);
	refs = cJSON_CreateArray();
	ref = cJSON_CreateObject();
	json_set_str(ref, "apiVersion", "v1");
	json_set_str(ref, "kind", "Node");
	json_set_str(ref, "name", a->node_name);
	json_set_str(ref, "uid", a->uid);
	cJSON_AddItemToArray(refs, ref);
	json_set(m, "ownerReferences", refs);
	spec = json_obj(l, "spec");
	json_set_str(spec, "holderIdentity", a->node_name);
	json_set_int(spec, "leaseDurationSeconds", AGENT_LEASE_DURATION_S);
	json_set_str(spec, "acquireTime", now);
	json_set_str(spec, "renewTime", now);
	a->lease_busy = true;
	if (api_create(a->api, path, l, on_lease_created, a))
		a->lease_busy = false;
	free(path);
	cJSON_Delete(l);
}

/*
 * After a gap in renewals (the agent was stopped, or cut off from the API)
 * the node controller may have set the conditions to Unknown: post the
 * status again at once instead of at the next change or 5-minute report, as
 * the kubelet does after it comes back.
 */
static void lease_renewed(struct agent *a)
{
	uint64_t now = mono_ms();
	int64_t renew = a->cfg.lease_renew_ms ? a->cfg.lease_renew_ms : AGENT_LEASE_RENEW_MS;

	if (a->last_lease_ms && now - a->last_lease_ms > (uint64_t)(3 * renew)) {
		log_info("node '%s': back after %llu s without a lease renewal; posting status again",
			 a->node_name, (unsigned long long)((now - a->last_lease_ms) / 1000));
		a->last_report_ms = 0;
		uv_timer_start(&a->check_timer, on_check, 0,
			       (uint64_t)(a->cfg.check_ms ? a->cfg.check_ms : AGENT_CHECK_MS));
	}
	a->last_lease_ms = now;
}

static void on_lease(struct api_result *res, void *ud)
{
	struct agent *a = ud;
	char now[RFC3339_MAX];

	a->lease_busy = false;
	if (res->code == 404) {
		rfc3339_format_micro((int64_t)wall_ns(), now);
		lease_create(a, now);
	} else if (!api_result_ok(res)) {
		log_warn("node '%s': cannot renew lease: %s (HTTP %d)", a->node_name,
			 res->status.message, res->code);
	} else {
		lease_renewed(a);
	}
}

static void lease_renew(struct agent *a)
{
	cJSON *p = cJSON_CreateObject(), *spec = json_obj(p, "spec");
	char *path = api_path("coordination.k8s.io/v1", "leases", LEASE_NS, a->node_name, NULL);
	char now[RFC3339_MAX];

	if (a->lease_busy)
		goto out;
	rfc3339_format_micro((int64_t)wall_ns(), now);
	json_set_str(spec, "holderIdentity", a->node_name);
	json_set_int(spec, "leaseDurationSeconds", AGENT_LEASE_DURATION_S);
	json_set_str(spec, "renewTime", now);
	a->lease_busy = true;
	if (api_patch(a->api, path, API_PATCH_MERGE, p, on_lease, a))
		a->lease_busy = false;
out:
	free(path);
	cJSON_Delete(p);
}

static void on_lease_timer(uv_timer_t *t)
{
	lease_renew(container_of(t, struct agent, lease_timer));
}

/* ---- registration ---- */

static void registered(struct agent *a, const cJSON *node)
{
	int64_t renew = a->cfg.lease_renew_ms ? a->cfg.lease_renew_ms : AGENT_LEASE_RENEW_MS;
	int64_t check = a->cfg.check_ms ? a->cfg.check_ms : AGENT_CHECK_MS;

	free(a->uid);
	a->uid = xstrdup(json_get_str(json_get(node, "metadata"), "uid", ""));
	a->registered = true;
	a->backoff_ms = 0;
	a->untainted = false;
	a->last_report_ms = 0;
	if (!a->transition_ns[SIG_N])
		for (int i = 0; i <= SIG_N; i++)
			a->transition_ns[i] = (int64_t)wall_ns();
	log_info("node '%s' registered (uid %s)", a->node_name, a->uid);
	uv_timer_start(&a->lease_timer, on_lease_timer, 0, (uint64_t)renew);
	uv_timer_start(&a->check_timer, on_check, 0, (uint64_t)check);
}

static void on_node_done(struct api_result *res, void *ud)
{
	struct agent *a = ud;

	if (res->code == 409) {	/* created meanwhile by someone else */
		reg_start(a);
		return;
	}
	if (!api_result_ok(res)) {
		reg_fail(a, "node registration", res);
		return;
	}
	registered(a, res->obj);
}

static void node_create(struct agent *a)
{
	cJSON *n = cJSON_CreateObject(), *m = json_obj(n, "metadata"), *taints;
	char *path = api_path("v1", "nodes", NULL, NULL, NULL);
	struct api_result fail = { .status.message = "cannot start request" };

	json_set_str(n, "apiVersion", "v1");
	json_set_str(n, "kind", "Node");
	json_set_str(m, "name", a->node_name);
	add_labels(a, json_obj(m, "labels"));
	taints = cJSON_CreateArray();
	for (size_t i = 0; i < a->cfg.node_taint.n; i++)
		cJSON_AddItemToArray(taints, taint(a->cfg.node_taint.v[i]));
	cJSON_AddItemToArray(taints, taint(NOT_READY_TAINT ":NoSchedule"));
	json_set(json_obj(n, "spec"), "taints", taints);
	if (api_create(a->api, path, n, on_node_done, a))
		reg_fail(a, "node registration", &fail);
	free(path);
	cJSON_Delete(n);
}

static void on_node_get(struct api_result *res, void *ud)
{
	struct agent *a = ud;
	cJSON *p;

	if (res->code == 404) {
		node_create(a);
		return;
	}
	if (!api_result_ok(res)) {
		reg_fail(a, "node lookup", res);
		return;
	}
	/* an existing node keeps its uid; make sure our labels are on it */
	p = cJSON_CreateObject();
	add_labels(a, json_obj(json_obj(p, "metadata"), "labels"));
	node_patch(a, p, on_node_done);
}

static void on_version(struct api_result *res, void *ud)
{
	struct agent *a = ud;
	char *path;

	if (!api_result_ok(res)) {
		reg_fail(a, "server version", res);
		return;
	}
	free(a->kubelet_version);
	a->kubelet_version = xstrdup(json_get_str(res->obj, "gitVersion", ""));
	path = node_path(a, NULL);
	api_get(a->api, path, on_node_get, a);
	free(path);
}

static void reg_start(struct agent *a)
{
	struct api_result fail = { .status.message = "cannot start request" };

	if (api_get(a->api, "/version", on_version, a))
		reg_fail(a, "server version", &fail);
}

void node__start(struct agent *a)
{
	reg_start(a);
}
