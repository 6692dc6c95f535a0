/*
 * server/controllers/endpoints.c - the legacy v1 Endpoints controller and
 * the EndpointSlice mirroring controller, after upstream's.
 *
 * Endpoints (keyed by Service): for a Service with a selector (not
 * ExternalName) an Endpoints object of the same name whose subsets group the
 * matching pods by their resolved ports: addresses (ready, or any with
 * publishNotReadyAddresses) and notReadyAddresses, each with ip (of the
 * Service's primary family), nodeName, hostname and targetRef. Terminating
 * pods are left out unless publishNotReadyAddresses. At most EP_MAX_ADDRS
 * addresses: beyond, ready ones are kept first and the object gets the
 * annotation endpoints.kubernetes.io/over-capacity: truncated. Labels: the
 * Service's, plus endpointslice.kubernetes.io/skip-mirror: "true" (so the
 * mirroring controller leaves it alone) and service.kubernetes.io/headless
 * for headless Services. Written only when it changes; deleted with its
 * Service. Endpoints of selectorless Services are the user's.
 *
 * Mirroring (keyed by Endpoints): hand-made Endpoints of a selectorless
 * Service (not labelled skip-mirror, not default/kubernetes) are mirrored
 * into EndpointSlices managed by endpointslicemirroring-controller.k8s.io:
 * one slice per subset and address family, ready from which list the
 * address is in, at most EP_MAX_ADDRS addresses mirrored; labels of the
 * Endpoints plus service-name and managed-by; a controller ownerReference
 * to the Endpoints. Slices no longer wanted are deleted.
 */
#include "ctrl_priv.h"
#include "epgroup.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EP_MAX_ADDRS 1000
#define EP_LABEL_SKIP_MIRROR "endpointslice.kubernetes.io/skip-mirror"
#define EP_ANN_OVER "endpoints.kubernetes.io/over-capacity"
#define MIRROR_CONTROLLER "endpointslicemirroring-controller.k8s.io"

static struct ctrl_manager *epm;

static bool has_selector(const cJSON *svc)
{
	return cJSON_GetArraySize(json_path(svc, "spec.selector")) &&
	       strcmp(json_get_str(json_get(svc, "spec"), "type", ""), "ExternalName");
}

static const char *primary_family(const cJSON *svc)
{
	const cJSON *f = cJSON_GetArrayItem(json_path(svc, "spec.ipFamilies"), 0);

	if (cJSON_IsString(f))
		return f->valuestring;
	return strchr(json_get_str(json_get(svc, "spec"), "clusterIP", ""), ':') ? "IPv6" : "IPv4";
}

/* ---- the Endpoints controller ---- */

struct subset {
	char *pkey;
	cJSON *ports, *ready, *not_ready;	/* owned arrays */
};

struct ep_build {
	const cJSON *svc;
	struct subset *s;
	size_t n, alloc;
	size_t total;
};

static struct subset *subset_for(struct ep_build *b, cJSON *ports)
{
	char *k = epg_ports_key(ports);

	for (size_t i = 0; i < b->n; i++) {
		if (!strcmp(b->s[i].pkey, k)) {
			free(k);
			cJSON_Delete(ports);
			return &b->s[i];
		}
	}
	ALLOC_GROW(b->s, b->n + 1, b->alloc);
	b->s[b->n] = (struct subset){ k, ports, cJSON_CreateArray(), cJSON_CreateArray() };
	return &b->s[b->n++];
}

static void add_pod(const cJSON *pod, void *ud)
{
	struct ep_build *b = ud;
	const cJSON *svc = b->svc;
	bool pub = json_get_bool(json_get(svc, "spec"), "publishNotReadyAddresses", false);
	cJSON *e, *a, *ports;
	const char *s;

	if (!eps_selector_matches(json_path(svc, "spec.selector"), json_path(pod, "metadata.labels")) ||
	    !eps_pod_included(pod) || (!pub && json_path(pod, "metadata.deletionTimestamp")))
		return;
	e = eps_endpoint(svc, pod, primary_family(svc), NULL);
	if (!e)
		return;
	ports = eps_pod_ports(svc, pod);
	if (!cJSON_GetArraySize(ports) && cJSON_GetArraySize(json_path(svc, "spec.ports"))) {
		cJSON_Delete(ports);
		cJSON_Delete(e);
		return;
	}
	a = cJSON_CreateObject();
	json_set_str(a, "ip", cJSON_GetArrayItem(json_get(e, "addresses"), 0)->valuestring);
	if ((s = json_get_str(e, "hostname", NULL)))
		json_set_str(a, "hostname", s);
	if ((s = json_get_str(e, "nodeName", NULL)))
		json_set_str(a, "nodeName", s);
	json_set(a, "targetRef", cJSON_Duplicate(json_get(e, "targetRef"), 1));
	struct subset *ss = subset_for(b, ports);
	cJSON_AddItemToArray(json_get_bool(json_get(e, "conditions"), "ready", false) ? ss->ready :
			     ss->not_ready, a);
	b->total++;
	cJSON_Delete(e);
}

static int cmp_ip(const void *a, const void *b)
{
	return strcmp(json_get_str(*(cJSON *const *)a, "ip", ""), json_get_str(*(cJSON *const *)b, "ip", ""));
}

/* Sorted by ip, truncated to *budget entries (decremented). */
static cJSON *sorted(cJSON *arr, size_t *budget)
{
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	cJSON **v = xcalloc(n + 1, sizeof(*v)), *out = cJSON_CreateArray();

	while (cJSON_GetArraySize(arr))
		v[i++] = cJSON_DetachItemFromArray(arr, 0);
	qsort(v, n, sizeof(*v), cmp_ip);
	for (i = 0; i < n; i++) {
		if (*budget) {
			cJSON_AddItemToArray(out, v[i]);
			(*budget)--;
		} else {
			cJSON_Delete(v[i]);
		}
	}
	free(v);
	cJSON_Delete(arr);
	return out;
}

static int cmp_subset(const void *a, const void *b)
{
	return strcmp(((const struct subset *)a)->pkey, ((const struct subset *)b)->pkey);
}

/* The subsets of svc (array, caller frees); *truncated when over capacity. */
static cJSON *ep_subsets(const cJSON *svc, bool *truncated)
{
	struct ep_build b = { .svc = svc };
	cJSON *out = cJSON_CreateArray();
	size_t budget = EP_MAX_ADDRS;

	cache_each(epm->pods, ctrl__mstr(svc, "namespace"), add_pod, &b);
	*truncated = b.total > EP_MAX_ADDRS;
	if (b.n)
		qsort(b.s, b.n, sizeof(*b.s), cmp_subset);
	for (size_t i = 0; i < b.n; i++)	/* ready addresses first */
		b.s[i].ready = sorted(b.s[i].ready, &budget);
	for (size_t i = 0; i < b.n; i++) {
		cJSON *ss = cJSON_CreateObject();

		b.s[i].not_ready = sorted(b.s[i].not_ready, &budget);
		if (cJSON_GetArraySize(b.s[i].ready))
			json_set(ss, "addresses", b.s[i].ready);
		else
			cJSON_Delete(b.s[i].ready);
		if (cJSON_GetArraySize(b.s[i].not_ready))
			json_set(ss, "notReadyAddresses", b.s[i].not_ready);
		else
			cJSON_Delete(b.s[i].not_ready);
		if (cJSON_GetArraySize(b.s[i].ports))
			json_set(ss, "ports", b.s[i].ports);
		else
			cJSON_Delete(b.s[i].ports);
		if (cJSON_GetArraySize(ss))
			cJSON_AddItemToArray(out, ss);
		else
			cJSON_Delete(ss);
		free(b.s[i].pkey);
	}
	free(b.s);
	return out;
}

static cJSON *ep_labels(const cJSON *svc)
{
	cJSON *l = cJSON_Duplicate(json_path(svc, "metadata.labels"), 1);

	if (!l)
		l = cJSON_CreateObject();
	json_set_str(l, EP_LABEL_SKIP_MIRROR, "true");
	if (!strcmp(json_get_str(json_get(svc, "spec"), "clusterIP", ""), "None"))
		json_set_str(l, EPS_LABEL_HEADLESS, "");
	return l;
}

static void ep_process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX], now[RFC3339_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *svc = cache_get(epm->svcs, ns, name), *cur = cache_get(epm->endpoints, ns, name);
	struct ctrl_batch *b = ctrl_batch_new(q, key);
	cJSON *subsets, *labels, *o, *ann;
	bool trunc;

	(void)ud;
	if (!svc || json_path(svc, "metadata.deletionTimestamp")) {
		if (cur && (!svc || has_selector(svc)))
			api_internal_delete(epm->srv, "", "endpoints", ns, name, NULL, ctrl_batch_cb,
					    ctrl_batch_hold(b));
		goto out;
	}
	if (!has_selector(svc))
		goto out;
	subsets = ep_subsets(svc, &trunc);
	labels = ep_labels(svc);
	if (cur && (json_equal(subsets, json_get(cur, "subsets")) ||
		    (!cJSON_GetArraySize(subsets) && !cJSON_GetArraySize(json_get(cur, "subsets")))) &&
	    json_equal(labels, json_path(cur, "metadata.labels")) &&
	    trunc == (json_get_str(json_path(cur, "metadata.annotations"), EP_ANN_OVER, NULL) != NULL)) {
		cJSON_Delete(subsets);
		cJSON_Delete(labels);
		goto out;
	}
	o = cur ? cJSON_Duplicate(cur, 1) : cJSON_CreateObject();
	json_set_str(o, "apiVersion", "v1");
	json_set_str(o, "kind", "Endpoints");
	json_set_str(json_obj(o, "metadata"), "name", name);
	json_set_str(json_obj(o, "metadata"), "namespace", ns);
	json_set(json_obj(o, "metadata"), "labels", labels);
	ann = json_obj(json_obj(o, "metadata"), "annotations");
	rfc3339_format((int64_t)wall_ns(), now);
	json_set_str(ann, EPS_ANN_TRIGGER, now);
	if (trunc)
		json_set_str(ann, EP_ANN_OVER, "truncated");
	else
		cJSON_DeleteItemFromObjectCaseSensitive(ann, EP_ANN_OVER);
	json_set(o, "subsets", subsets);
	if (cur)
		api_internal_update(epm->srv, "", "endpoints", "", o, ctrl_batch_cb, ctrl_batch_hold(b));
	else
		api_internal_create(epm->srv, "", "endpoints", ns, o, ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(o);
out:
	ctrl_batch_end(b);
}

/* ---- mirroring ---- */

struct mirror {
	const char *svc;
	const cJSON **v;
	size_t n, alloc;
	bool *used;
};

static void collect_mirrored(const cJSON *s, void *ud)
{
	struct mirror *m = ud;
	const char *svc = ctrl__label(s, EPS_LABEL_SERVICE), *by = ctrl__label(s, EPS_LABEL_MANAGED_BY);

	if (svc && by && !strcmp(svc, m->svc) && !strcmp(by, MIRROR_CONTROLLER)) {
		ALLOC_GROW(m->v, m->n + 1, m->alloc);
		m->v[m->n++] = s;
	}
}

static bool mirror_wanted(const cJSON *ep, const cJSON *svc)
{
	const char *skip = ctrl__label(ep, EP_LABEL_SKIP_MIRROR);

	return ep && svc && !cJSON_GetArraySize(json_path(svc, "spec.selector")) &&
	       !json_path(svc, "metadata.deletionTimestamp") && !(skip && !strcmp(skip, "true")) &&
	       !(!strcmp(ctrl__mstr(ep, "namespace"), "default") && !strcmp(ctrl__mstr(ep, "name"), "kubernetes"));
}

/* The slice endpoint of an Endpoints address, or NULL when not of family. */
static cJSON *mirror_endpoint(const cJSON *a, bool ready, bool v6)
{
	const char *ip = json_get_str(a, "ip", ""), *s;
	cJSON *e;

	if (!*ip || (strchr(ip, ':') != NULL) != v6)
		return NULL;
	e = cJSON_CreateObject();
	json_set(e, "addresses", cJSON_CreateStringArray(&ip, 1));
	json_set_bool(json_obj(e, "conditions"), "ready", ready);
	if ((s = json_get_str(a, "hostname", NULL)))
		json_set_str(e, "hostname", s);
	if ((s = json_get_str(a, "nodeName", NULL)))
		json_set_str(e, "nodeName", s);
	if (json_get(a, "targetRef"))
		json_set(e, "targetRef", cJSON_Duplicate(json_get(a, "targetRef"), 1));
	return e;
}

static cJSON *mirror_ports(const cJSON *subset)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *p;

	cJSON_ArrayForEach(p, json_get(subset, "ports")) {
		cJSON *q = cJSON_CreateObject();

		json_set_str(q, "name", json_get_str(p, "name", ""));
		json_set_str(q, "protocol", json_get_str(p, "protocol", "TCP"));
		json_set_int(q, "port", json_get_int(p, "port", 0));
		if (json_get(p, "appProtocol"))
			json_set_str(q, "appProtocol", json_get_str(p, "appProtocol", ""));
		cJSON_AddItemToArray(out, q);
	}
	return out;
}

static cJSON *mirror_labels(const cJSON *ep)
{
	cJSON *l = cJSON_Duplicate(json_path(ep, "metadata.labels"), 1);

	if (!l)
		l = cJSON_CreateObject();
	json_set_str(l, EPS_LABEL_SERVICE, ctrl__mstr(ep, "name"));
	json_set_str(l, EPS_LABEL_MANAGED_BY, MIRROR_CONTROLLER);
	return l;
}

/* Writes one wanted slice: into an unused existing one of the same family
 * and ports (when it differs), else a new one. */
static void mirror_put(struct mirror *m, const cJSON *ep, const char *fam, cJSON *ports,
		       cJSON *eps, struct ctrl_batch *b)
{
	cJSON *labels = mirror_labels(ep), *o;

	for (size_t i = 0; i < m->n; i++) {
		const cJSON *s = m->v[i];

		if (m->used[i] || strcmp(json_get_str(s, "addressType", ""), fam) ||
		    !epg_same_ports(json_get(s, "ports"), ports))
			continue;
		m->used[i] = true;
		if (!json_equal(json_get(s, "endpoints"), eps) ||
		    !json_equal(json_path(s, "metadata.labels"), labels)) {
			o = cJSON_Duplicate(s, 1);
			json_set(o, "endpoints", eps);
			json_set(json_obj(o, "metadata"), "labels", labels);
			api_internal_update(epm->srv, "discovery.k8s.io", "endpointslices", "", o,
					    ctrl_batch_cb, ctrl_batch_hold(b));
			cJSON_Delete(o);
		} else {
			cJSON_Delete(eps);
			cJSON_Delete(labels);
		}
		cJSON_Delete(ports);
		return;
	}
	o = cJSON_CreateObject();
	cJSON *md = json_obj(o, "metadata"), *refs = cJSON_CreateArray();
	char *gen = xasprintf("%s-", ctrl__mstr(ep, "name"));

	json_set_str(o, "apiVersion", "discovery.k8s.io/v1");
	json_set_str(o, "kind", "EndpointSlice");
	json_set_str(md, "generateName", gen);
	json_set_str(md, "namespace", ctrl__mstr(ep, "namespace"));
	json_set(md, "labels", labels);
	cJSON_AddItemToArray(refs, ctrl__owner_ref(ep));
	json_set(md, "ownerReferences", refs);
	json_set_str(o, "addressType", fam);
	json_set(o, "endpoints", eps);
	json_set(o, "ports", ports);
	api_internal_create(epm->srv, "discovery.k8s.io", "endpointslices", ctrl__mstr(ep, "namespace"), o,
			    ctrl_batch_cb, ctrl_batch_hold(b));
	cJSON_Delete(o);
	free(gen);
}

static void mirror_process(struct wq *q, const char *key, void *ud)
{
	char ns[ROUTE_SEG_MAX];
	const char *name = ctrl__split_key(key, ns, sizeof(ns));
	const cJSON *ep = cache_get(epm->endpoints, ns, name), *svc = cache_get(epm->svcs, ns, name);
	struct mirror m = { .svc = name };
	struct ctrl_batch *b = ctrl_batch_new(q, key);
	size_t budget = EP_MAX_ADDRS;
	const cJSON *ss, *a;

	(void)ud;
	cache_each(epm->slices, ns, collect_mirrored, &m);
	m.used = xcalloc(m.n + 1, sizeof(*m.used));
	if (mirror_wanted(ep, svc)) {
		cJSON_ArrayForEach(ss, json_get(ep, "subsets")) {
			for (int v6 = 0; v6 < 2; v6++) {
				cJSON *eps = cJSON_CreateArray(), *e;

				cJSON_ArrayForEach(a, json_get(ss, "addresses"))
					if (budget && (e = mirror_endpoint(a, true, v6))) {
						cJSON_AddItemToArray(eps, e);
						budget--;
					}
				cJSON_ArrayForEach(a, json_get(ss, "notReadyAddresses"))
					if (budget && (e = mirror_endpoint(a, false, v6))) {
						cJSON_AddItemToArray(eps, e);
						budget--;
					}
				if (cJSON_GetArraySize(eps))
					mirror_put(&m, ep, v6 ? "IPv6" : "IPv4", mirror_ports(ss), eps, b);
				else
					cJSON_Delete(eps);
			}
		}
	}
	for (size_t i = 0; i < m.n; i++) {
		if (m.used[i])
			continue;
		api_internal_delete(epm->srv, "discovery.k8s.io", "endpointslices", ns, ctrl__mstr(m.v[i], "name"),
				    NULL, ctrl_batch_cb, ctrl_batch_hold(b));
	}
	free(m.used);
	free(m.v);
	ctrl_batch_end(b);
}

/* ---- events ---- */

static void add_key(struct wq *q, const cJSON *o, const char *name)
{
	char *k = xasprintf("%s/%s", ctrl__mstr(o, "namespace"), name);

	wq_add(q, k);
	free(k);
}

static void on_svc(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *o = new ? new : old;

	(void)st;
	(void)ud;
	add_key(&epm->ep_q, o, ctrl__mstr(o, "name"));
	add_key(&epm->mirror_q, o, ctrl__mstr(o, "name"));
}

static void on_endpoints(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *o = new ? new : old;

	(void)st;
	(void)ud;
	add_key(&epm->ep_q, o, ctrl__mstr(o, "name"));
	add_key(&epm->mirror_q, o, ctrl__mstr(o, "name"));
}

static void on_slice(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	const cJSON *o = new ? new : old;
	const char *svc = ctrl__label(o, EPS_LABEL_SERVICE), *by = ctrl__label(o, EPS_LABEL_MANAGED_BY);

	(void)st;
	(void)ud;
	if (svc && by && !strcmp(by, MIRROR_CONTROLLER))
		add_key(&epm->mirror_q, o, svc);
}

static void enqueue_svc(const cJSON *svc, void *ud)
{
	(void)ud;
	add_key(&epm->ep_q, svc, ctrl__mstr(svc, "name"));
}

static void on_pod(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	epg_each_selecting(epm->svcs, old, new, enqueue_svc, NULL);
}

void ep__start(struct ctrl_manager *m)
{
	epm = m;
	wq_init(&m->ep_q, m->srv->loop, ep_process, m);
	wq_init(&m->mirror_q, m->srv->loop, mirror_process, m);
	cache_store_on_event(m->svcs, on_svc, m);
	cache_store_on_event(m->endpoints, on_endpoints, m);
	cache_store_on_event(m->slices, on_slice, m);
	cache_store_on_event(m->pods, on_pod, m);
}
