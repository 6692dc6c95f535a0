/*
 * server/controllers/sched_filter.c - the scheduler's filters and failure
 * message, after kube-scheduler's NodeUnschedulable, NodeName,
 * TaintToleration, NodeAffinity, NodePorts and NodeResourcesFit plugins
 * (see sched.h).
 */
#include "sched.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/quantity.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CPU_M 100			/* upstream's non-zero request for scoring */
#define DEFAULT_MEM (200LL * 1024 * 1024)

/* ---- resources ---- */

static int64_t qty(const cJSON *list, const char *name, bool milli, bool *present)
{
	const cJSON *v = json_get(list, name);
	struct quantity q;
	const char *err;

	if (present)
		*present = false;
	if (!v || quantity_from_json(v, &q, &err))
		return 0;
	if (present)
		*present = true;
	return milli ? quantity_milli_value(&q) : quantity_value(&q);
}

/* One container's requests, a limit standing in for a missing request. */
static void container_requests(const cJSON *c, bool nonzero, struct sched_res *r)
{
	const cJSON *req = json_path(c, "resources.requests"), *lim = json_path(c, "resources.limits");
	bool has;

	memset(r, 0, sizeof(*r));
	r->cpu_m = qty(req, "cpu", true, &has);
	if (!has)
		r->cpu_m = qty(lim, "cpu", true, &has);
	if (!has && nonzero)
		r->cpu_m = DEFAULT_CPU_M;
	r->mem = qty(req, "memory", false, &has);
	if (!has)
		r->mem = qty(lim, "memory", false, &has);
	if (!has && nonzero)
		r->mem = DEFAULT_MEM;
	r->eph = qty(req, "ephemeral-storage", false, &has);
	if (!has)
		r->eph = qty(lim, "ephemeral-storage", false, NULL);
}

void sched_pod_requests(const cJSON *pod, bool nonzero, struct sched_res *r)
{
	const cJSON *spec = json_get(pod, "spec"), *c, *ov = json_get(spec, "overhead");
	struct sched_res one;

	memset(r, 0, sizeof(*r));
	cJSON_ArrayForEach(c, json_get(spec, "containers")) {
		container_requests(c, nonzero, &one);
		r->cpu_m += one.cpu_m;
		r->mem += one.mem;
		r->eph += one.eph;
	}
	cJSON_ArrayForEach(c, json_get(spec, "initContainers")) {
		container_requests(c, nonzero, &one);
		r->cpu_m = one.cpu_m > r->cpu_m ? one.cpu_m : r->cpu_m;
		r->mem = one.mem > r->mem ? one.mem : r->mem;
		r->eph = one.eph > r->eph ? one.eph : r->eph;
	}
	r->cpu_m += qty(ov, "cpu", true, NULL);
	r->mem += qty(ov, "memory", false, NULL);
	r->pods = 1;
}

void sched_node_allocatable(const cJSON *node, struct sched_res *r)
{
	const cJSON *a = json_path(node, "status.allocatable");

	if (!a)
		a = json_path(node, "status.capacity");
	r->cpu_m = qty(a, "cpu", true, NULL);
	r->mem = qty(a, "memory", false, NULL);
	r->eph = qty(a, "ephemeral-storage", false, NULL);
	r->pods = qty(a, "pods", false, NULL);
}

/* ---- taints and tolerations ---- */

unsigned sched_effect_bit(const char *effect)
{
	if (!strcmp(effect, "NoSchedule"))
		return SCHED_NOSCHEDULE;
	if (!strcmp(effect, "NoExecute"))
		return SCHED_NOEXECUTE;
	if (!strcmp(effect, "PreferNoSchedule"))
		return SCHED_PREFER;
	return 0;
}

/* upstream Toleration.ToleratesTaint */
static bool tolerates_one(const cJSON *tol, const char *key, const char *value, const char *effect)
{
	const char *te = json_get_str(tol, "effect", ""), *tk = json_get_str(tol, "key", "");
	const char *op = json_get_str(tol, "operator", "Equal");

	if (*te && strcmp(te, effect))
		return false;
	if (*tk && strcmp(tk, key))
		return false;
	if (!strcmp(op, "Exists"))
		return true;
	if (!*op || !strcmp(op, "Equal"))
		return !strcmp(json_get_str(tol, "value", ""), value);
	return false;
}

bool sched_toleration_matches(const cJSON *tol, const cJSON *taint)
{
	return tolerates_one(tol, json_get_str(taint, "key", ""), json_get_str(taint, "value", ""),
			     json_get_str(taint, "effect", ""));
}

bool sched_tolerates(const cJSON *tolerations, const cJSON *taint)
{
	const char *k = json_get_str(taint, "key", ""), *v = json_get_str(taint, "value", "");
	const char *e = json_get_str(taint, "effect", "");
	const cJSON *t;

	cJSON_ArrayForEach(t, tolerations)
		if (tolerates_one(t, k, v, e))
			return true;
	return false;
}

bool sched_tolerates_key(const cJSON *tolerations, const char *key, const char *effect)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, tolerations)
		if (tolerates_one(t, key, "", effect))
			return true;
	return false;
}

const cJSON *sched_untolerated(const cJSON *pod, const cJSON *node, unsigned effects)
{
	const cJSON *tols = json_path(pod, "spec.tolerations"), *t;

	cJSON_ArrayForEach(t, json_path(node, "spec.taints"))
		if ((sched_effect_bit(json_get_str(t, "effect", "")) & effects) &&
		    !sched_tolerates(tols, t))
			return t;
	return NULL;
}

/* ---- node affinity ---- */

static bool in_values(const cJSON *values, const char *v)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, values)
		if (cJSON_IsString(x) && !strcmp(x->valuestring, v))
			return true;
	return false;
}

static bool parse_int(const char *s, long long *out)
{
	char *end;

	if (!s || !*s)
		return false;
	*out = strtoll(s, &end, 10);
	return !*end;
}

/* A NodeSelectorRequirement against a value (NULL = absent). */
static bool requirement(const cJSON *req, const char *v)
{
	const char *op = json_get_str(req, "operator", "");
	const cJSON *vals = json_get(req, "values");
	long long a, b;

	if (!strcmp(op, "In"))
		return v && in_values(vals, v);
	if (!strcmp(op, "NotIn"))
		return !v || !in_values(vals, v);
	if (!strcmp(op, "Exists"))
		return v != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return v == NULL;
	if ((!strcmp(op, "Gt") || !strcmp(op, "Lt")) && cJSON_GetArraySize(vals) == 1 &&
	    parse_int(v, &a) && cJSON_IsString(vals->child) &&
	    parse_int(vals->child->valuestring, &b))
		return *op == 'G' ? a > b : a < b;
	return false;
}

bool sched_term_matches(const cJSON *term, const cJSON *node)
{
	const cJSON *labels = json_path(node, "metadata.labels"), *r;
	const cJSON *exprs = json_get(term, "matchExpressions"), *fields = json_get(term, "matchFields");
	bool any = false;

	cJSON_ArrayForEach(r, exprs) {
		const cJSON *l = json_get(labels, json_get_str(r, "key", ""));

		any = true;
		if (!requirement(r, cJSON_IsString(l) ? l->valuestring : NULL))
			return false;
	}
	cJSON_ArrayForEach(r, fields) {
		any = true;
		if (strcmp(json_get_str(r, "key", ""), "metadata.name") ||
		    !requirement(r, json_get_str(json_get(node, "metadata"), "name", "")))
			return false;
	}
	return any;
}

bool sched_node_affinity_matches(const cJSON *pod, const cJSON *node)
{
	const cJSON *spec = json_get(pod, "spec"), *labels = json_path(node, "metadata.labels"), *kv;
	const cJSON *req = json_path(spec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
	const cJSON *t;

	cJSON_ArrayForEach(kv, json_get(spec, "nodeSelector"))
		if (!cJSON_IsString(kv) ||
		    strcmp(json_get_str(labels, kv->string, "\x01"), kv->valuestring))
			return false;
	if (!req)
		return true;
	cJSON_ArrayForEach(t, json_get(req, "nodeSelectorTerms"))
		if (sched_term_matches(t, node))
			return true;
	return false;
}

int64_t sched_preferred_affinity(const cJSON *pod, const cJSON *node)
{
	const cJSON *p;
	int64_t sum = 0;

	cJSON_ArrayForEach(p, json_path(pod, "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution"))
		if (sched_term_matches(json_get(p, "preference"), node))
			sum += json_get_int(p, "weight", 0);
	return sum;
}

/* ---- host ports ---- */

static bool port_taken(const cJSON *want, const cJSON *pod)
{
	const char *proto = json_get_str(want, "protocol", "TCP"), *ip = json_get_str(want, "hostIP", "");
	int64_t port = json_get_int(want, "hostPort", 0);
	const cJSON *c, *p;

	if (!*ip)
		ip = "0.0.0.0";
	cJSON_ArrayForEach(c, json_path(pod, "spec.containers"))
		cJSON_ArrayForEach(p, json_get(c, "ports")) {
			const char *pip = json_get_str(p, "hostIP", "");

			if (!*pip)
				pip = "0.0.0.0";
			if (json_get_int(p, "hostPort", 0) == port &&
			    !strcmp(json_get_str(p, "protocol", "TCP"), proto) &&
			    (!strcmp(ip, pip) || !strcmp(ip, "0.0.0.0") || !strcmp(pip, "0.0.0.0")))
				return true;
		}
	return false;
}

bool sched_ports_conflict(const cJSON *pod, const cJSON *const *used, size_t n_used)
{
	const cJSON *c, *p;

	cJSON_ArrayForEach(c, json_path(pod, "spec.containers"))
		cJSON_ArrayForEach(p, json_get(c, "ports")) {
			if (json_get_int(p, "hostPort", 0) <= 0)
				continue;
			for (size_t i = 0; i < n_used; i++)
				if (used[i] != pod && port_taken(p, used[i]))
					return true;
		}
	return false;
}

/* ---- the filters ---- */

unsigned sched_filter(const cJSON *pod, const struct sched_res *req, const cJSON *node,
		      const struct sched_node_use *use, const cJSON **taint)
{
	const cJSON *spec = json_get(pod, "spec");
	const char *want = json_get_str(spec, "nodeName", "");
	struct sched_res a;
	unsigned fail = 0;

	if (json_get_bool(json_get(node, "spec"), "unschedulable", false) &&
	    !sched_tolerates_key(json_get(spec, "tolerations"), TAINT_UNSCHEDULABLE, "NoSchedule"))
		return SF_UNSCHEDULABLE;
	if (*want && strcmp(want, json_get_str(json_get(node, "metadata"), "name", "")))
		return SF_NODE_NAME;
	*taint = sched_untolerated(pod, node, SCHED_NOSCHEDULE | SCHED_NOEXECUTE);
	if (*taint)
		return SF_TAINT;
	if (!sched_node_affinity_matches(pod, node))
		return SF_AFFINITY;
	if (sched_ports_conflict(pod, use->pods, use->n_pods))
		return SF_PORTS;
	sched_node_allocatable(node, &a);
	if (use->used.pods + 1 > a.pods)
		fail |= SF_PODS;
	if (req->cpu_m && use->used.cpu_m + req->cpu_m > a.cpu_m)
		fail |= SF_CPU;
	if (req->mem && use->used.mem + req->mem > a.mem)
		fail |= SF_MEM;
	if (req->eph && use->used.eph + req->eph > a.eph)
		fail |= SF_EPH;
	return fail;
}

/* ---- the message ---- */

static const struct { unsigned bit; const char *text; } reason_text[] = {
	{ SF_UNSCHEDULABLE, "node(s) were unschedulable" },
	{ SF_NODE_NAME, "node(s) didn't match the requested node name" },
	{ SF_AFFINITY, "node(s) didn't match Pod's node affinity/selector" },
	{ SF_PORTS, "node(s) didn't have free ports for the requested pod ports" },
	{ SF_PODS, "Too many pods" },
	{ SF_CPU, "Insufficient cpu" },
	{ SF_MEM, "Insufficient memory" },
	{ SF_EPH, "Insufficient ephemeral-storage" },
	{ SF_VOLUME, "node(s) had volume node affinity conflict" },
};

static void count(struct sched_diag *d, const char *text)
{
	for (size_t i = 0; i < d->n_reasons; i++)
		if (!strcmp(d->reasons[i].text, text)) {
			d->reasons[i].count++;
			return;
		}
	ALLOC_GROW(d->reasons, d->n_reasons + 1, d->alloc);
	d->reasons[d->n_reasons].text = xstrdup(text);
	d->reasons[d->n_reasons++].count = 1;
}

void sched_diag_add(struct sched_diag *d, unsigned fail, const cJSON *taint)
{
	if (fail & SF_TAINT) {
		char *t = xasprintf("node(s) had untolerated taint {%s: %s}",
				    json_get_str(taint, "key", ""), json_get_str(taint, "value", ""));

		count(d, t);
		free(t);
	}
	for (size_t i = 0; i < ARRAY_SIZE(reason_text); i++)
		if (fail & reason_text[i].bit)
			count(d, reason_text[i].text);
	if (fail & ~SF_RESOLVABLE)
		d->n_unresolvable++;
	else
		d->n_resolvable++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Go's sort.Strings over "N reason" texts, joined by ", ". */
static void histogram(struct buf *b, char **items, size_t n)
{
	qsort(items, n, sizeof(*items), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(b, ", ");
		buf_addstr(b, items[i]);
	}
}

char *sched_diag_message(const struct sched_diag *d)
{
	struct buf b = BUF_INIT;
	char **items, *pre[2];
	size_t np = 0;

	if (!d->n_nodes)
		return xstrdup("no nodes available to schedule pods");
	items = xcalloc(d->n_reasons + 1, sizeof(*items));
	for (size_t i = 0; i < d->n_reasons; i++)
		items[i] = xasprintf("%zu %s", d->reasons[i].count, d->reasons[i].text);
	buf_addf(&b, "0/%zu nodes are available: ", d->n_nodes);
	histogram(&b, items, d->n_reasons);
	buf_addf(&b, ". preemption: 0/%zu nodes are available: ", d->n_nodes);
	if (d->n_unresolvable)
		pre[np++] = xasprintf("%zu Preemption is not helpful for scheduling", d->n_unresolvable);
	if (d->n_resolvable)
		pre[np++] = xasprintf("%zu No preemption victims found for incoming pod", d->n_resolvable);
	histogram(&b, pre, np);
	buf_addch(&b, '.');
	for (size_t i = 0; i < d->n_reasons; i++)
		free(items[i]);
	for (size_t i = 0; i < np; i++)
		free(pre[i]);
	free(items);
	return buf_detach(&b, NULL);
}

void sched_diag_release(struct sched_diag *d)
{
	for (size_t i = 0; i < d->n_reasons; i++)
		free(d->reasons[i].text);
	free(d->reasons);
	memset(d, 0, sizeof(*d));
}
