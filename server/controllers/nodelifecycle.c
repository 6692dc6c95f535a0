/*
 * server/controllers/nodelifecycle.c - the node lifecycle controller:
 * node health from Leases, and taints by condition.
 *
 * Health: a node shows it is alive by renewing its Lease
 * (kube-node-lease/<node>, spec.renewTime) or by a new lastHeartbeatTime in
 * its Ready condition; the controller notes the loop time of the last such
 * sign (a node first seen counts as a sign). When none came for
 * --node-monitor-grace-period, the node's Ready, MemoryPressure,
 * DiskPressure and PIDPressure conditions become Unknown (NodeStatusUnknown,
 * "Kubelet stopped posting node status."; NodeStatusNeverUpdated for a node
 * that never posted), and its pods' Ready condition False.
 *
 * Taints (TaintNodesByCondition): NoSchedule taints mirror the conditions
 * (Ready False -> not-ready, Unknown or absent-yet -> unreachable / not-ready,
 * MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable True) and
 * spec.unschedulable; Ready False/Unknown also gets not-ready/unreachable
 * NoExecute with timeAdded. Other taints are left alone. Adding a NoExecute
 * taint is rate-limited per zone (--node-eviction-rate nodes per second,
 * burst 1) and follows upstream's disruption modes: a zone with more than
 * 2 not-ready nodes making >= 55% of it is partially disrupted and gets no
 * new NoExecute taints (small clusters, as upstream's rate 0); when every
 * zone is fully disrupted (no Ready node at all) NoExecute taints are
 * removed and none added.
 *
 * The taint-based eviction of pods is in taintevict.c.
 */
#include "ctrl_priv.h"
#include "sched.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NLC_BUCKETS 1024
#define NLC_MAX_ZONES 64
#define NLC_UNHEALTHY_THRESHOLD 0.55
#define NLC_LEASE_NS "kube-node-lease"
#define NLC_COMPONENT "node-controller"

struct nlnode {
	char *name;
	uint64_t probe_ms;	/* loop time of the last sign of life */
	char *renew;		/* Lease spec.renewTime last seen */
	char *heartbeat;	/* Ready lastHeartbeatTime last seen */
	struct nlnode *hnext;
};

struct zone {
	char name[64];
	double tokens;
	uint64_t last_ms;
	size_t ready, not_ready;
};

static struct nlc {
	struct ctrl_manager *m;
	struct wq q;
	struct nlnode *nodes[NLC_BUCKETS];
	uint64_t grace_ms;
	double rate;		/* NoExecute taintings per second per zone */
	struct zone zones[NLC_MAX_ZONES];
	size_t n_zones;
} N;

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NLC_BUCKETS;
}

static struct nlnode **slot(const char *name)
{
	struct nlnode **p = &N.nodes[hash(name)];

	while (*p && strcmp((*p)->name, name))
		p = &(*p)->hnext;
	return p;
}

static struct nlnode *nlnode_get(const char *name)
{
	struct nlnode **p = slot(name);

	if (!*p) {
		*p = xcalloc(1, sizeof(**p));
		(*p)->name = xstrdup(name);
		(*p)->probe_ms = uv_now(N.m->srv->loop);
	}
	return *p;
}

static void nlnode_forget(const char *name)
{
	struct nlnode **p = slot(name), *n = *p;

	if (!n)
		return;
	*p = n->hnext;
	free(n->name);
	free(n->renew);
	free(n->heartbeat);
	free(n);
}

/* Notes a sign of life when *seen differs from now_val. */
static void probe(struct nlnode *n, char **seen, const char *now_val)
{
	if (!now_val || (*seen && !strcmp(*seen, now_val)))
		return;
	free(*seen);
	*seen = xstrdup(now_val);
	n->probe_ms = uv_now(N.m->srv->loop);
}

static const char *cond_status(const cJSON *node, const char *type)
{
	return json_get_str(ctrl__condition(node, type), "status", NULL);
}

static const char *node_name(const cJSON *node)
{
	return json_get_str(json_get(node, "metadata"), "name", "");
}

/* ---- zones and disruption ---- */

static struct zone *zone_of(const char *name)
{
	for (size_t i = 0; i < N.n_zones; i++)
		if (!strcmp(N.zones[i].name, name))
			return &N.zones[i];
	if (N.n_zones == NLC_MAX_ZONES)
		return &N.zones[NLC_MAX_ZONES - 1];	/* beyond: share the last one */
	snprintf(N.zones[N.n_zones].name, sizeof(N.zones[0].name), "%s", name);
	N.zones[N.n_zones].tokens = 1;
	N.zones[N.n_zones].last_ms = uv_now(N.m->srv->loop);
	return &N.zones[N.n_zones++];
}

static const char *zone_name(const cJSON *node)
{
	return json_get_str(json_path(node, "metadata.labels"), LABEL_ZONE, "");
}

static void count_zone(const cJSON *node, void *ud)
{
	struct zone *z = zone_of(zone_name(node));
	const char *ready = cond_status(node, "Ready");

	(void)ud;
	if (ready && !strcmp(ready, "True"))
		z->ready++;
	else
		z->not_ready++;
}

/* Counts Ready nodes per zone; true when every zone with nodes is fully
 * disrupted (no Ready node). */
static bool zones_count(void)
{
	bool any = false, all_down = true;

	for (size_t i = 0; i < N.n_zones; i++)
		N.zones[i].ready = N.zones[i].not_ready = 0;
	cache_each(N.m->nodes, NULL, count_zone, NULL);
	for (size_t i = 0; i < N.n_zones; i++) {
		if (!N.zones[i].ready && !N.zones[i].not_ready)
			continue;
		any = true;
		if (N.zones[i].ready)
			all_down = false;
	}
	return any && all_down;
}

/* 0 when a NoExecute taint may be added in zone z now, else the ms to wait. */
static uint64_t zone_take(struct zone *z)
{
	uint64_t now = uv_now(N.m->srv->loop);
	size_t total = z->ready + z->not_ready;

	if (z->not_ready > 2 && (double)z->not_ready >= NLC_UNHEALTHY_THRESHOLD * (double)total)
		return 1000;	/* partial disruption: wait for the zone to change */
	if (N.rate <= 0)
		return 1000;
	z->tokens += (double)(now - z->last_ms) * N.rate / 1000.0;
	if (z->tokens > 1)
		z->tokens = 1;
	z->last_ms = now;
	if (z->tokens >= 1) {
		z->tokens -= 1;
		return 0;
	}
	return (uint64_t)((1 - z->tokens) * 1000.0 / N.rate) + 1;
}

/* ---- wanted taints ---- */

static const struct {
	const char *cond, *status, *key;
} cond_taints[] = {
	{ "MemoryPressure", "True", TAINT_MEMORY_PRESSURE },
	{ "DiskPressure", "True", TAINT_DISK_PRESSURE },
	{ "PIDPressure", "True", TAINT_PID_PRESSURE },
	{ "NetworkUnavailable", "True", TAINT_NETWORK_UNAVAILABLE },
};

static bool managed(const cJSON *t)
{
	const char *k = json_get_str(t, "key", ""), *e = json_get_str(t, "effect", "");

	if (!strcmp(e, "NoExecute"))
		return !strcmp(k, TAINT_NOT_READY) || !strcmp(k, TAINT_UNREACHABLE);
	if (strcmp(e, "NoSchedule"))
		return false;
	if (!strcmp(k, TAINT_NOT_READY) || !strcmp(k, TAINT_UNREACHABLE) || !strcmp(k, TAINT_UNSCHEDULABLE))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(cond_taints); i++)
		if (!strcmp(k, cond_taints[i].key))
			return true;
	return false;
}

static void want(cJSON *arr, const char *key, const char *effect)
{
	cJSON *t = cJSON_CreateObject();

	json_set_str(t, "key", key);
	json_set_str(t, "effect", effect);
	cJSON_AddItemToArray(arr, t);
}

/* The managed taints node should have ("key", "effect" only). noexec:
 * whether NoExecute taints are wanted at all (disruption mode). */
static cJSON *wanted(const cJSON *node, bool noexec)
{
	cJSON *w = cJSON_CreateArray();
	const char *ready = cond_status(node, "Ready");

	if (!ready || !strcmp(ready, "False"))
		want(w, TAINT_NOT_READY, "NoSchedule");
	else if (!strcmp(ready, "Unknown"))
		want(w, TAINT_UNREACHABLE, "NoSchedule");
	if (noexec && ready && !strcmp(ready, "False"))
		want(w, TAINT_NOT_READY, "NoExecute");
	else if (noexec && ready && !strcmp(ready, "Unknown"))
		want(w, TAINT_UNREACHABLE, "NoExecute");
	for (size_t i = 0; i < ARRAY_SIZE(cond_taints); i++) {
		const char *s = cond_status(node, cond_taints[i].cond);

		if (s && !strcmp(s, cond_taints[i].status))
			want(w, cond_taints[i].key, "NoSchedule");
	}
	if (json_get_bool(json_get(node, "spec"), "unschedulable", false))
		want(w, TAINT_UNSCHEDULABLE, "NoSchedule");
	return w;
}

static const cJSON *find_taint(const cJSON *arr, const cJSON *t)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, arr)
		if (!strcmp(json_get_str(x, "key", ""), json_get_str(t, "key", "")) &&
		    !strcmp(json_get_str(x, "effect", ""), json_get_str(t, "effect", "")))
			return x;
	return NULL;
}

/*
 * The node's new taints: the unmanaged ones, the wanted ones it has (as
 * they are), the wanted ones it lacks (NoExecute ones only when *delay_ms
 * comes back 0 from the zone's limiter). NULL when nothing changes.
 */
static cJSON *new_taints(const cJSON *node, bool noexec, uint64_t *delay_ms)
{
	const cJSON *cur = json_path(node, "spec.taints"), *t;
	cJSON *w = wanted(node, noexec), *out = cJSON_CreateArray(), *x;
	bool changed = false;
	char now[RFC3339_MAX];

	*delay_ms = 0;
	rfc3339_format((int64_t)wall_ns(), now);
	cJSON_ArrayForEach(t, cur) {
		if (!managed(t) || find_taint(w, t))
			cJSON_AddItemToArray(out, cJSON_Duplicate(t, 1));
		else
			changed = true;
	}
	cJSON_ArrayForEach(x, w) {
		if (find_taint(cur, x))
			continue;
		if (!strcmp(json_get_str(x, "effect", ""), "NoExecute")) {
			uint64_t d = zone_take(zone_of(zone_name(node)));

			if (d) {
				*delay_ms = d;
				continue;
			}
			json_set_str(x, "timeAdded", now);
		}
		cJSON_AddItemToArray(out, cJSON_Duplicate(x, 1));
		changed = true;
	}
	cJSON_Delete(w);
	if (!changed) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

/* ---- writes ---- */

static void patch_taints(const cJSON *node, cJSON *taints, struct ctrl_batch *b)
{
	cJSON *p = cJSON_CreateObject();

	json_set_str(json_obj(p, "metadata"), "resourceVersion",
		     json_get_str(json_get(node, "metadata"), "resourceVersion", ""));
	json_set(json_obj(p, "spec"), "taints", cJSON_GetArraySize(taints) ? taints : cJSON_CreateNull());
	if (!cJSON_GetArraySize(taints))
		cJSON_Delete(taints);
	api_internal_patch(N.m->srv, "", "nodes", "", node_name(node), p, ctrl_batch_cb,
			   ctrl_batch_hold(b));
	cJSON_Delete(p);
}

static cJSON *unknown_condition(const cJSON *node, const char *type, const char *now)
{
	const cJSON *old = ctrl__condition(node, type);
	cJSON *c = cJSON_CreateObject();

	json_set_str(c, "type", type);
	json_set_str(c, "status", "Unknown");
	if (old) {
		json_set_str(c, "reason", "NodeStatusUnknown");
		json_set_str(c, "message", "Kubelet stopped posting node status.");
		json_set_str(c, "lastHeartbeatTime", json_get_str(old, "lastHeartbeatTime", now));
	} else {
		json_set_str(c, "reason", "NodeStatusNeverUpdated");
		json_set_str(c, "message", "Kubelet never posted node status.");
		json_set_str(c, "lastHeartbeatTime",
			     json_get_str(json_get(node, "metadata"), "creationTimestamp", now));
	}
	json_set_str(c, "lastTransitionTime", now);
	return c;
}

struct pods_ctx {
	const char *node;
	struct ctrl_batch *b;
	const char *now;
};

/* upstream's MarkPodsNotReady */
static void pod_not_ready(const cJSON *pod, void *ud)
{
	struct pods_ctx *pc = ud;
	const char *ns = json_get_str(json_get(pod, "metadata"), "namespace", "");
	cJSON *p, *conds, *c;

	if (strcmp(json_get_str(json_get(pod, "spec"), "nodeName", ""), pc->node) ||
	    !ctrl__pod_ready(pod))
		return;
	p = cJSON_CreateObject();
	conds = cJSON_CreateArray();
	c = cJSON_CreateObject();
	json_set_str(c, "type", "Ready");
	json_set_str(c, "status", "False");
	json_set_str(c, "lastTransitionTime", pc->now);
	cJSON_AddItemToArray(conds, c);
	json_set(json_obj(p, "status"), "conditions", conds);
	api_internal_patch_sub(N.m->srv, "", "pods", ns, json_get_str(json_get(pod, "metadata"), "name", ""),
			       "status", true, p, ctrl_batch_cb, ctrl_batch_hold(pc->b));
	cJSON_Delete(p);
}

static void mark_unknown(const cJSON *node, struct ctrl_batch *b)
{
	static const char *const types[] = { "Ready", "MemoryPressure", "DiskPressure", "PIDPressure" };
	cJSON *p = cJSON_CreateObject(), *conds = cJSON_CreateArray();
	char now[RFC3339_MAX];
	struct pods_ctx pc = { node_name(node), b, now };

	rfc3339_format((int64_t)wall_ns(), now);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		const char *s = cond_status(node, types[i]);

		if (!s || strcmp(s, "Unknown"))
			cJSON_AddItemToArray(conds, unknown_condition(node, types[i], now));
	}
	json_set(json_obj(p, "status"), "conditions", conds);
	api_internal_patch_sub(N.m->srv, "", "nodes", "", node_name(node), "status", true, p,
			       ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(p);
	log_info("node '%s': no Lease renewal for %llu ms; conditions Unknown", node_name(node),
		 (unsigned long long)N.grace_ms);
	ctrl_event_as(N.m->srv, NLC_COMPONENT, node, "Normal", "NodeNotReady",
		      "Node %s status is now: NodeNotReady", node_name(node));
	cache_each(N.m->pods, NULL, pod_not_ready, &pc);
}

/* ---- reconcile ---- */

static bool all_unknown(const cJSON *node)
{
	static const char *const types[] = { "Ready", "MemoryPressure", "DiskPressure", "PIDPressure" };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		const char *s = cond_status(node, types[i]);

		if (!s || strcmp(s, "Unknown"))
			return false;
	}
	return true;
}

static void process(struct wq *q, const char *key, void *ud)
{
	const cJSON *node = cache_get(N.m->nodes, "", key);
	struct nlnode *n = *slot(key);
	struct ctrl_batch *b;
	uint64_t now = uv_now(N.m->srv->loop), delay = 0;
	bool all_down;
	cJSON *taints;

	(void)ud;
	if (!node || !n) {
		wq_done(q, key, 0);
		return;
	}
	b = ctrl_batch_new(q, key);
	if (now - n->probe_ms >= N.grace_ms && !all_unknown(node)) {
		mark_unknown(node, b);	/* its event brings the taints */
		ctrl_batch_end(b);
		return;
	}
	if (now - n->probe_ms < N.grace_ms)
		wq_add_after(q, key, n->probe_ms + N.grace_ms - now);
	all_down = zones_count();
	taints = new_taints(node, !all_down, &delay);
	if (taints)
		patch_taints(node, taints, b);
	if (delay)
		wq_add_after(q, key, delay);
	ctrl_batch_end(b);
}

/* ---- cache events ---- */

static void on_node(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	struct nlnode *n;

	(void)st;
	(void)ud;
	if (!new) {
		nlnode_forget(node_name(old));
		return;
	}
	n = nlnode_get(node_name(new));
	probe(n, &n->heartbeat, json_get_str(ctrl__condition(new, "Ready"), "lastHeartbeatTime", NULL));
	if (!old || !json_equal(json_path(old, "status.conditions"), json_path(new, "status.conditions")) ||
	    !json_equal(json_path(old, "spec"), json_path(new, "spec")) ||
	    strcmp(zone_name(old), zone_name(new))) {
		wq_add(&N.q, n->name);
		/* a Ready change moves zone states: others may wait for it */
		if (old && strcmp(json_get_str(ctrl__condition(old, "Ready"), "status", ""),
				  json_get_str(ctrl__condition(new, "Ready"), "status", "")))
			for (size_t i = 0; i < NLC_BUCKETS; i++)
				for (struct nlnode *x = N.nodes[i]; x; x = x->hnext)
					if (x != n)
						wq_add_after(&N.q, x->name, 1);
	} else if (!old) {
		wq_add(&N.q, n->name);
	}
}

static void on_lease(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *m = json_get(new, "metadata");
	struct nlnode *n;

	(void)st;
	(void)old;
	(void)ud;
	if (!new || strcmp(json_get_str(m, "namespace", ""), NLC_LEASE_NS))
		return;
	n = *slot(json_get_str(m, "name", ""));
	if (n)
		probe(n, &n->renew, json_get_str(json_get(new, "spec"), "renewTime", NULL));
}

void nlc__start(struct ctrl_manager *m)
{
	const struct server_config *cfg = m->srv->cfg;
	int64_t ms = 40000;

	N.m = m;
	if (cfg && cfg->node_monitor_grace_period &&
	    duration_parse_ms(cfg->node_monitor_grace_period, &ms))
		ms = 40000;
	N.grace_ms = ms > 0 ? (uint64_t)ms : 40000;
	N.rate = cfg && cfg->node_eviction_rate ? strtod(cfg->node_eviction_rate, NULL) : 0.1;
	wq_init(&N.q, m->srv->loop, process, m);
	cache_store_on_event(m->nodes, on_node, m);
	cache_store_on_event(m->leases, on_lease, m);
}

void nlc__stop(void)
{
	if (!N.m)
		return;
	wq_release(&N.q);
	for (size_t i = 0; i < NLC_BUCKETS; i++)
		while (N.nodes[i])
			nlnode_forget(N.nodes[i]->name);
	N.m = NULL;
}
