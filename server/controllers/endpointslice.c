/*
 * server/controllers/endpointslice.c - the EndpointSlice controller
 * (discovery.k8s.io/v1), after upstream's endpointslice reconciler.
 *
 * For every Service with a selector (not ExternalName) it keeps, per address
 * family of spec.ipFamilies and per distinct set of resolved ports, slices
 * of at most EPS_MAX_ENDPOINTS endpoints: one endpoint per matching pod that
 * has an address of the family (status.podIPs) and is not Succeeded/Failed
 * for good (restartPolicy). Conditions: serving = pod Ready, terminating =
 * deletionTimestamp set, ready = publishNotReadyAddresses || (serving &&
 * !terminating). A family without endpoints gets exactly one empty
 * placeholder slice. Slices carry the labels kubernetes.io/service-name and
 * endpointslice.kubernetes.io/managed-by (plus service.kubernetes.io/headless
 * for clusterIP None, and the Service's own labels), generateName "<svc>-",
 * a controller ownerReference to the Service and the annotation
 * endpoints.kubernetes.io/last-change-trigger-time.
 *
 * Churn: existing slices keep the endpoints that are still wanted in place;
 * a slice is written only when its endpoints or labels change; new
 * endpoints go first into slices that are written anyway, then (all of them
 * at once) into the fullest unchanged slice with room, then into new slices.
 * Slices managed by someone else (another managed-by) are never touched;
 * ours are deleted when the Service is gone, lost its selector, or the slice
 * no longer fits (other family, not owned by the Service, emptied).
 *
 * Endpoints carry their node's topology.kubernetes.io/zone label (nodes are
 * cached for it). Not done: hints, mirroring of
 * selectorless Endpoints, the legacy Endpoints controller.
 */
#include "ctrl_priv.h"
#include "epgroup.h"
#include "../apiserver.h"
#include "../server.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_ZONE "topology.kubernetes.io/zone"

static struct ctrl_manager *em;

/* ---- pure helpers ---- */

bool eps_selector_matches(const cJSON *selector, const cJSON *labels)
{
	const cJSON *kv;

	if (!cJSON_GetArraySize(selector))
		return false;
	cJSON_ArrayForEach(kv, selector)
		if (!cJSON_IsString(kv) || strcmp(json_get_str(labels, kv->string, "\x01"), kv->valuestring))
			return false;
	return true;
}

bool eps_pod_included(const cJSON *pod)
{
	const char *phase = json_get_str(json_get(pod, "status"), "phase", "");
	const char *policy = json_get_str(json_get(pod, "spec"), "restartPolicy", "Always");

	if (!cJSON_GetArraySize(json_path(pod, "status.podIPs")) &&
	    !*json_get_str(json_get(pod, "status"), "podIP", ""))
		return false;
	if (!strcmp(policy, "Never"))
		return strcmp(phase, "Failed") && strcmp(phase, "Succeeded");
	if (!strcmp(policy, "OnFailure"))
		return strcmp(phase, "Succeeded");
	return true;
}

/* The container port named name with protocol proto, or -ENOENT. */
static int64_t named_port(const cJSON *pod, const char *name, const char *proto)
{
	const cJSON *c, *p;

	cJSON_ArrayForEach(c, json_path(pod, "spec.containers"))
		cJSON_ArrayForEach(p, json_get(c, "ports"))
			if (!strcmp(json_get_str(p, "name", ""), name) &&
			    !strcmp(json_get_str(p, "protocol", "TCP"), proto))
				return json_get_int(p, "containerPort", -ENOENT);
	return -ENOENT;
}

cJSON *eps_pod_ports(const cJSON *svc, const cJSON *pod)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *sp;

	cJSON_ArrayForEach(sp, json_path(svc, "spec.ports")) {
		const char *proto = json_get_str(sp, "protocol", "TCP");
		const cJSON *tp = json_get(sp, "targetPort");
		int64_t num = json_get_int(sp, "port", 0);
		cJSON *ep;

		if (cJSON_IsString(tp))
			num = named_port(pod, tp->valuestring, proto);
		else if (cJSON_IsNumber(tp) && tp->valuedouble > 0)
			num = (int64_t)tp->valuedouble;
		if (num <= 0)
			continue;	/* as upstream: a port the pod cannot resolve is left out */
		ep = cJSON_CreateObject();
		json_set_str(ep, "name", json_get_str(sp, "name", ""));
		json_set_str(ep, "protocol", proto);
		json_set_int(ep, "port", num);
		if (json_get(sp, "appProtocol"))
			json_set_str(ep, "appProtocol", json_get_str(sp, "appProtocol", ""));
		cJSON_AddItemToArray(out, ep);
	}
	return out;
}

/* The pod's address of family ("IPv4"/"IPv6"), or NULL. Borrowed. */
static const char *pod_ip(const cJSON *pod, const char *family)
{
	bool v6 = !strcmp(family, "IPv6");
	const cJSON *it;

	cJSON_ArrayForEach(it, json_path(pod, "status.podIPs")) {
		const char *ip = json_get_str(it, "ip", "");

		if (*ip && (strchr(ip, ':') != NULL) == v6)
			return ip;
	}
	if (!cJSON_GetArraySize(json_path(pod, "status.podIPs"))) {
		const char *ip = json_get_str(json_get(pod, "status"), "podIP", "");

		if (*ip && (strchr(ip, ':') != NULL) == v6)
			return ip;
	}
	return NULL;
}

cJSON *eps_endpoint(const cJSON *svc, const cJSON *pod, const char *family, const char *zone)
{
	const char *ip = pod_ip(pod, family), *s;
	bool serving = ctrl__pod_ready(pod);
	bool terminating = json_path(pod, "metadata.deletionTimestamp") != NULL;
	bool pub = json_get_bool(json_get(svc, "spec"), "publishNotReadyAddresses", false);
	cJSON *ep, *c, *ref;

	if (!ip)
		return NULL;
	ep = cJSON_CreateObject();
	json_set(ep, "addresses", cJSON_CreateStringArray(&ip, 1));
	c = json_obj(ep, "conditions");
	json_set_bool(c, "ready", pub || (serving && !terminating));
	json_set_bool(c, "serving", serving);
	json_set_bool(c, "terminating", terminating);
	s = json_get_str(json_get(pod, "spec"), "hostname", "");
	if (*s && !strcmp(json_get_str(json_get(pod, "spec"), "subdomain", ""), ctrl__mstr(svc, "name")))
		json_set_str(ep, "hostname", s);
	s = json_get_str(json_get(pod, "spec"), "nodeName", "");
	if (*s)
		json_set_str(ep, "nodeName", s);
	if (zone && *zone)
		json_set_str(ep, "zone", zone);
	ref = json_obj(ep, "targetRef");
	json_set_str(ref, "kind", "Pod");
	json_set_str(ref, "namespace", ctrl__mstr(pod, "namespace"));
	json_set_str(ref, "name", ctrl__mstr(pod, "name"));
	json_set_str(ref, "uid", ctrl__mstr(pod, "uid"));
	return ep;
}

cJSON *eps_slice_labels(const cJSON *svc)
{
	cJSON *l = cJSON_CreateObject();
	const cJSON *kv;

	cJSON_ArrayForEach(kv, json_path(svc, "metadata.labels"))
		if (cJSON_IsString(kv) && strcmp(kv->string, EPS_LABEL_SERVICE) &&
		    strcmp(kv->string, EPS_LABEL_MANAGED_BY) && strcmp(kv->string, EPS_LABEL_HEADLESS))
			json_set_str(l, kv->string, kv->valuestring);
	json_set_str(l, EPS_LABEL_SERVICE, ctrl__mstr(svc, "name"));
	json_set_str(l, EPS_LABEL_MANAGED_BY, EPS_CONTROLLER);
	if (!strcmp(json_get_str(json_get(svc, "spec"), "clusterIP", ""), "None"))
		json_set_str(l, EPS_LABEL_HEADLESS, "");
	return l;
}

/* ---- planning ---- */

struct want {
	const char *pod;	/* pod name, borrowed */
	cJSON *ep;		/* the endpoint, owned */
	const cJSON *ports;	/* the pod's resolved ports, borrowed */
	char *pkey;		/* epg_ports_key(ports), owned */
	bool placed;
};

struct have {
	const cJSON *slice;	/* borrowed */
	char *pkey;		/* owned */
	cJSON *eps;		/* its endpoints after the plan, owned */
	bool changed;
};

struct fam {
	const struct eps_input *in;
	const char *family;
	struct want *w;
	size_t nw;
	struct have *h;
	size_t nh;
	const cJSON *labels;
	struct eps_plan *plan;
};

static int cmp_want(const void *a, const void *b)
{
	return strcmp(((const struct want *)a)->pod, ((const struct want *)b)->pod);
}

static struct want *want_find(struct fam *f, const char *pod)
{
	struct want key = { .pod = pod };

	return f->nw ? bsearch(&key, f->w, f->nw, sizeof(*f->w), cmp_want) : NULL;
}

static cJSON *new_slice(struct fam *f, const cJSON *ports, cJSON *eps)
{
	const cJSON *svc = f->in->svc;
	cJSON *o = cJSON_CreateObject(), *m = json_obj(o, "metadata"), *refs = cJSON_CreateArray();
	char *gen = xasprintf("%s-", ctrl__mstr(svc, "name"));

	json_set_str(o, "apiVersion", "discovery.k8s.io/v1");
	json_set_str(o, "kind", "EndpointSlice");
	json_set_str(m, "generateName", gen);
	json_set_str(m, "namespace", ctrl__mstr(svc, "namespace"));
	json_set(m, "labels", cJSON_Duplicate(f->labels, 1));
	json_set_str(json_obj(m, "annotations"), EPS_ANN_TRIGGER, f->in->now);
	cJSON_AddItemToArray(refs, ctrl__owner_ref(svc));
	json_set(m, "ownerReferences", refs);
	json_set_str(o, "addressType", f->family);
	json_set(o, "endpoints", eps);
	json_set(o, "ports", ports ? cJSON_Duplicate(ports, 1) : cJSON_CreateArray());
	cJSON_AddItemToArray(f->plan->create, o);
	free(gen);
	return o;
}

/* Keeps in each existing slice the endpoints still wanted there. */
static void keep_existing(struct fam *f)
{
	for (size_t i = 0; i < f->nh; i++) {
		struct have *h = &f->h[i];
		const cJSON *ep;

		h->eps = cJSON_CreateArray();
		h->changed = !json_equal(json_path(h->slice, "metadata.labels"), f->labels);
		cJSON_ArrayForEach(ep, json_get(h->slice, "endpoints")) {
			struct want *w = want_find(f, json_get_str(json_get(ep, "targetRef"), "name", ""));

			if (w && !w->placed && !strcmp(w->pkey, h->pkey) &&
			    cJSON_GetArraySize(h->eps) < (int)f->in->max_per_slice) {
				cJSON_AddItemToArray(h->eps, cJSON_Duplicate(w->ep, 1));
				w->placed = true;
				if (!json_equal(ep, w->ep))
					h->changed = true;
			} else {
				h->changed = true;
			}
		}
	}
}

/* Places the unplaced wants of port set pkey (all of them). */
static void place_group(struct fam *f, const char *pkey)
{
	size_t max = f->in->max_per_slice, left = 0;
	struct have *best = NULL;
	cJSON *eps = NULL;
	const cJSON *ports = NULL;

	for (size_t i = 0; i < f->nw; i++) {
		struct want *w = &f->w[i];

		if (w->placed || strcmp(w->pkey, pkey))
			continue;
		ports = w->ports;
		/* 1. slices written anyway */
		for (size_t j = 0; j < f->nh && !w->placed; j++) {
			struct have *h = &f->h[j];

			if (h->changed && !strcmp(h->pkey, pkey) && (size_t)cJSON_GetArraySize(h->eps) < max) {
				cJSON_AddItemToArray(h->eps, cJSON_Duplicate(w->ep, 1));
				w->placed = true;
			}
		}
		if (!w->placed)
			left++;
	}
	if (!left)
		return;
	/* 2. all the rest into the fullest unchanged slice that holds them */
	for (size_t j = 0; j < f->nh; j++) {
		struct have *h = &f->h[j];
		size_t n = (size_t)cJSON_GetArraySize(h->eps);

		if (!h->changed && n && !strcmp(h->pkey, pkey) && n + left <= max &&
		    (!best || n > (size_t)cJSON_GetArraySize(best->eps)))
			best = h;
	}
	if (best)
		best->changed = true;
	/* 3. else new slices */
	for (size_t i = 0; i < f->nw; i++) {
		struct want *w = &f->w[i];

		if (w->placed || strcmp(w->pkey, pkey))
			continue;
		w->placed = true;
		if (best) {
			cJSON_AddItemToArray(best->eps, cJSON_Duplicate(w->ep, 1));
			continue;
		}
		if (!eps || (size_t)cJSON_GetArraySize(eps) >= max)
			eps = json_get(new_slice(f, ports, cJSON_CreateArray()), "endpoints");
		cJSON_AddItemToArray(eps, cJSON_Duplicate(w->ep, 1));
	}
}

static bool is_placeholder(const cJSON *slice)
{
	return !cJSON_GetArraySize(json_get(slice, "endpoints")) &&
	       !cJSON_GetArraySize(json_get(slice, "ports"));
}

static void write_out(struct fam *f)
{
	struct have *keep = NULL;

	if (!f->nw) {	/* exactly one placeholder */
		for (size_t j = 0; j < f->nh && !keep; j++)
			if (is_placeholder(f->h[j].slice))
				keep = &f->h[j];
		if (!keep)
			new_slice(f, NULL, cJSON_CreateArray());
	}
	for (size_t j = 0; j < f->nh; j++) {
		struct have *h = &f->h[j];
		cJSON *u;

		if (h != keep && !cJSON_GetArraySize(h->eps)) {
			cJSON_AddItemToArray(f->plan->del, cJSON_Duplicate(h->slice, 1));
			continue;
		}
		if (!h->changed)
			continue;
		u = cJSON_Duplicate(h->slice, 1);
		json_set(u, "endpoints", cJSON_Duplicate(h->eps, 1));
		json_set(json_obj(u, "metadata"), "labels", cJSON_Duplicate(f->labels, 1));
		json_set_str(json_obj(json_obj(u, "metadata"), "annotations"), EPS_ANN_TRIGGER, f->in->now);
		cJSON_AddItemToArray(f->plan->update, u);
	}
}

/* True when an existing slice of the family carries hints. */
static bool had_hints(const struct eps_input *in, const char *family)
{
	for (size_t i = 0; i < in->n_slices; i++) {
		const cJSON *ep;

		if (strcmp(json_get_str(in->slices[i], "addressType", ""), family))
			continue;
		cJSON_ArrayForEach(ep, json_get(in->slices[i], "endpoints"))
			if (json_get(ep, "hints"))
				return true;
	}
	return false;
}

static void apply_hints(struct fam *f)
{
	static const struct eps_topology none = { .bad = true };
	cJSON **eps = xcalloc(f->nw + 1, sizeof(*eps));

	for (size_t i = 0; i < f->nw; i++)
		eps[i] = f->w[i].ep;
	eps_hints_apply(f->in->svc, f->family, f->in->topo ? f->in->topo : &none, eps, f->nw,
			had_hints(f->in, f->family), f->plan->events);
	free(eps);
}

static void plan_family(const struct eps_input *in, const char *family, const cJSON *labels,
			cJSON *const *pod_ports, struct eps_plan *plan)
{
	struct fam f = { .in = in, .family = family, .labels = labels, .plan = plan };

	f.w = xcalloc(in->n_pods + 1, sizeof(*f.w));
	for (size_t i = 0; i < in->n_pods; i++) {
		const char *node = json_get_str(json_get(in->pods[i], "spec"), "nodeName", "");
		const char *zone = *node && in->zone ? in->zone(node, in->zone_ud) : NULL;
		cJSON *ep = eps_pod_included(in->pods[i]) ? eps_endpoint(in->svc, in->pods[i], family, zone)
							  : NULL;

		if (!ep)
			continue;
		f.w[f.nw].pod = ctrl__mstr(in->pods[i], "name");
		f.w[f.nw].ep = ep;
		f.w[f.nw].ports = pod_ports[i];
		f.w[f.nw++].pkey = epg_ports_key(pod_ports[i]);
	}
	qsort(f.w, f.nw, sizeof(*f.w), cmp_want);
	f.h = xcalloc(in->n_slices + 1, sizeof(*f.h));
	apply_hints(&f);
	for (size_t i = 0; i < in->n_slices; i++) {
		const cJSON *s = in->slices[i];

		if (strcmp(json_get_str(s, "addressType", ""), family))
			continue;
		f.h[f.nh].slice = s;
		f.h[f.nh++].pkey = epg_ports_key(json_get(s, "ports"));
	}
	keep_existing(&f);
	for (size_t i = 0; i < f.nw; i++)
		if (!f.w[i].placed)
			place_group(&f, f.w[i].pkey);
	write_out(&f);
	for (size_t i = 0; i < f.nw; i++) {
		cJSON_Delete(f.w[i].ep);
		free(f.w[i].pkey);
	}
	for (size_t i = 0; i < f.nh; i++) {
		cJSON_Delete(f.h[i].eps);
		free(f.h[i].pkey);
	}
	free(f.w);
	free(f.h);
}

/* The families the Service wants slices for: spec.ipFamilies, else the
 * family of its clusterIP, else IPv4. Returns how many (<= 2). */
static size_t families(const cJSON *svc, const char *out[2])
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, json_path(svc, "spec.ipFamilies"))
		if (n < 2 && cJSON_IsString(it) &&
		    (!strcmp(it->valuestring, "IPv4") || !strcmp(it->valuestring, "IPv6")))
			out[n++] = it->valuestring;
	if (!n)
		out[n++] = strchr(json_get_str(json_get(svc, "spec"), "clusterIP", ""), ':') ? "IPv6" : "IPv4";
	return n;
}

void eps_plan_init(struct eps_plan *p)
{
	p->create = cJSON_CreateArray();
	p->update = cJSON_CreateArray();
	p->del = cJSON_CreateArray();
	p->events = cJSON_CreateArray();
}

void eps_plan_release(struct eps_plan *p)
{
	cJSON_Delete(p->create);
	cJSON_Delete(p->update);
	cJSON_Delete(p->del);
	cJSON_Delete(p->events);
	memset(p, 0, sizeof(*p));
}

void eps_plan_compute(const struct eps_input *in, struct eps_plan *plan)
{
	const char *fam[2];
	size_t nf = families(in->svc, fam);
	cJSON **pod_ports = xcalloc(in->n_pods + 1, sizeof(*pod_ports));
	cJSON *labels = eps_slice_labels(in->svc);
	const char *uid = ctrl__mstr(in->svc, "uid");
	const cJSON **mine = xcalloc(in->n_slices + 1, sizeof(*mine));
	struct eps_input sub = *in;

	eps_plan_init(plan);
	sub.n_slices = 0;
	sub.slices = mine;
	/* slices of another family or not owned by this Service go */
	for (size_t i = 0; i < in->n_slices; i++) {
		const cJSON *s = in->slices[i];
		const char *at = json_get_str(s, "addressType", "");
		bool fam_ok = !strcmp(at, fam[0]) || (nf > 1 && !strcmp(at, fam[1]));

		if (fam_ok && ctrl_owned_by(s, uid))
			mine[sub.n_slices++] = s;
		else
			cJSON_AddItemToArray(plan->del, cJSON_Duplicate(s, 1));
	}
	for (size_t i = 0; i < in->n_pods; i++)
		pod_ports[i] = eps_pod_ports(in->svc, in->pods[i]);
	for (size_t i = 0; i < nf; i++)
		plan_family(&sub, fam[i], labels, pod_ports, plan);
	for (size_t i = 0; i < in->n_pods; i++)
		cJSON_Delete(pod_ports[i]);
	free(pod_ports);
	free(mine);
	cJSON_Delete(labels);
}

/* ---- the controller ---- */

static void enqueue(const char *ns, const char *name)
{
	char *k = xasprintf("%s/%s", ns, name);

	wq_add(&em->eps_q, k);
	free(k);
}

struct collect {
	const char *svc;
	const cJSON *selector;
	const cJSON **v;
	size_t n, alloc;
};

static void collect_slice(const cJSON *s, void *ud)
{
	struct collect *c = ud;
	const char *svc = ctrl__label(s, EPS_LABEL_SERVICE), *by = ctrl__label(s, EPS_LABEL_MANAGED_BY);

	if (svc && by && !strcmp(svc, c->svc) && !strcmp(by, EPS_CONTROLLER)) {
		ALLOC_GROW(c->v, c->n + 1, c->alloc);
		c->v[c->n++] = s;
	}
}

static void collect_pod(const cJSON *pod, void *ud)
{
	struct collect *c = ud;

	if (eps_selector_matches(c->selector, json_path(pod, "metadata.labels"))) {
		ALLOC_GROW(c->v, c->n + 1, c->alloc);
		c->v[c->n++] = pod;
	}
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(ctrl__mstr(*(const cJSON *const *)a, "name"), ctrl__mstr(*(const cJSON *const *)b, "name"));
}

/* A Terminating Service (held by a finalizer) keeps its slices, as upstream:
 * it still routes until it is gone, then its slices go. */
static bool svc_wants_slices(const cJSON *svc)
{
	return svc && cJSON_GetArraySize(json_path(svc, "spec.selector")) &&
	       strcmp(json_get_str(json_get(svc, "spec"), "type", ""), "ExternalName");
}

static void apply(const struct eps_plan *p, struct ctrl_batch *b)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, p->del) {
		cJSON *opts = cJSON_CreateObject();

		json_set_str(json_obj(opts, "preconditions"), "uid", ctrl__mstr(o, "uid"));
		api_internal_delete(em->srv, "discovery.k8s.io", "endpointslices", ctrl__mstr(o, "namespace"),
				    ctrl__mstr(o, "name"), opts, ctrl_batch_cb, ctrl_batch_hold(b));
		cJSON_Delete(opts);
	}
	cJSON_ArrayForEach(o, p->update)
		api_internal_update(em->srv, "discovery.k8s.io", "endpointslices", "", o, ctrl_batch_cb,
				    ctrl_batch_hold(b));
	cJSON_ArrayForEach(o, p->create)
		api_internal_create(em->srv, "discovery.k8s.io", "endpointslices", ctrl__mstr(o, "namespace"), o,
				    ctrl_batch_cb, ctrl_batch_hold(b));
}

static const char *node_zone(const char *node, void *ud)
{
	(void)ud;
	return ctrl__label(cache_get(em->nodes, "", node), LABEL_ZONE);
}

static void add_node(const cJSON *node, void *ud)
{
	eps_topology_add_node(ud, node);
}

static size_t max_per_slice(void)
{
	const struct server_config *c = em->srv->cfg;

	return c && c->max_endpoints_per_slice > 0 ? (size_t)c->max_endpoints_per_slice : EPS_MAX_ENDPOINTS;
}

static void process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX], now[RFC3339_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *svc = cache_get(em->svcs, ns, name);
	struct collect slices = { .svc = name }, pods = { 0 };
	struct eps_input in = { 0 };
	struct eps_plan plan = { 0 };
	struct ctrl_batch *b = ctrl_batch_new(q, key);
	struct eps_topology topo = { 0 };
	const cJSON *ev;

	(void)ud;
	cache_each(em->slices, ns, collect_slice, &slices);
	if (slices.n)
		qsort(slices.v, slices.n, sizeof(*slices.v), cmp_name);
	if (svc_wants_slices(svc)) {
		pods.selector = json_path(svc, "spec.selector");
		cache_each(em->pods, ns, collect_pod, &pods);
		rfc3339_format((int64_t)wall_ns(), now);
		in = (struct eps_input){ svc, pods.v, pods.n, slices.v, slices.n, max_per_slice(), now,
					 node_zone, NULL, &topo };
		if (eps_hint_mode(svc) == EPS_HINTS_AUTO)
			cache_each(em->nodes, NULL, add_node, &topo);
		eps_plan_compute(&in, &plan);
		cJSON_ArrayForEach(ev, plan.events)
			ctrl_event(em->srv, svc, json_get_str(ev, "type", ""), json_get_str(ev, "reason", ""),
				   "%s", json_get_str(ev, "message", ""));
	} else {	/* the Service is gone or wants none: ours go */
		eps_plan_init(&plan);
		for (size_t i = 0; i < slices.n; i++)
			cJSON_AddItemToArray(plan.del, cJSON_Duplicate(slices.v[i], 1));
	}
	LOG_V(4, "endpointslice %s: %d create, %d update, %d delete", key,
	      cJSON_GetArraySize(plan.create), cJSON_GetArraySize(plan.update),
	      cJSON_GetArraySize(plan.del));
	apply(&plan, b);
	eps_plan_release(&plan);
	free(slices.v);
	free(pods.v);
	ctrl_batch_end(b);
}

/* ---- events ---- */

static void on_svc(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *o = new ? new : old;

	(void)st;
	(void)ud;
	enqueue(ctrl__mstr(o, "namespace"), ctrl__mstr(o, "name"));
}

static void on_slice(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *o = new ? new : old;
	const char *svc = ctrl__label(o, EPS_LABEL_SERVICE), *by = ctrl__label(o, EPS_LABEL_MANAGED_BY);

	(void)st;
	(void)ud;
	if (svc && by && !strcmp(by, EPS_CONTROLLER))
		enqueue(ctrl__mstr(o, "namespace"), svc);
}

static void enqueue_svc(const cJSON *svc, void *ud)
{
	(void)ud;
	enqueue(ctrl__mstr(svc, "namespace"), ctrl__mstr(svc, "name"));
}

static void on_pod(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	epg_each_selecting(em->svcs, old, new, enqueue_svc, NULL);
}

static void enqueue_selecting(const cJSON *svc, void *ud)
{
	(void)ud;
	if (cJSON_GetArraySize(json_path(svc, "spec.selector")))
		enqueue(ctrl__mstr(svc, "namespace"), ctrl__mstr(svc, "name"));
}

/* A node's zone changing changes the endpoints of its pods: every Service
 * with a selector is looked at again (nodes change rarely). */
static void on_node(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	struct eps_topology ta = { 0 }, tb = { 0 };

	(void)st;
	(void)ud;
	if (old)
		eps_topology_add_node(&ta, old);
	if (new)
		eps_topology_add_node(&tb, new);
	if (!old || !new || !json_equal(json_path(old, "metadata.labels"), json_path(new, "metadata.labels")) ||
	    memcmp(&ta, &tb, sizeof(ta)))
		cache_each(em->svcs, NULL, enqueue_selecting, NULL);
}

void eps__start(struct ctrl_manager *m)
{
	em = m;
	wq_init(&m->eps_q, m->srv->loop, process, m);
	cache_store_on_event(m->svcs, on_svc, m);
	cache_store_on_event(m->slices, on_slice, m);
	cache_store_on_event(m->pods, on_pod, m);
	cache_store_on_event(m->nodes, on_node, m);
}
