/* dns/feed.c - the zone fed from the API: informers on Services,
 * EndpointSlices and (optionally) Pods, each event turned into the records
 * of that one object (never a rebuild of the zone).
 *
 * EndpointSlices are merged per service: the feed keeps an index
 * "ns/service" -> names of its slices, and a slice event re-reads just the
 * slices of its service from the informer's store.
 *
 * Memory: the records live in the zone, so the informers keep only what
 * they must: the key and resourceVersion of Services and Pods (the
 * `keys_only` option), the DNS fields of EndpointSlices (`trim`: a slice
 * event re-merges its siblings from the store). Lists come in pages of
 * FEED_PAGE objects, so a large first list is never parsed whole.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/dns_int.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#define SLICE_LABEL "kubernetes.io/service-name"
#define FEED_PAGE 100	/* objects per list page: a first list never parses whole, and what
			 * one page's parse leaves freed between live records stays small */

/* The slices of one service (names in the service's namespace). */
struct feed_slices {
	char **names;
	size_t n, alloc;
};

struct dns_feed {
	struct dns_zone *z;
	struct api_informer *svcs, *slices, *pods;
	struct dns__hmap idx;		/* "ns/svc" -> struct feed_slices */
	struct dns_endpoint *eps;	/* scratch for one service's merge */
	size_t eps_alloc;
	uint64_t events;
	bool trimmed;			/* malloc_trim after the first lists */
	uv_timer_t timer;		/* runs it; the feed is freed once it closed */
};

/* ---- decoding (JSON -> the zone's structs) ---- */

static const char *meta_str(const cJSON *o, const char *key)
{
	return json_get_str(json_get(o, "metadata"), key, "");
}

static int decode_proto(const char *s, enum dns_proto *p)
{
	static const struct { const char *name; enum dns_proto p; } t[] = {
		{ "TCP", DNS_PROTO_TCP }, { "UDP", DNS_PROTO_UDP }, { "SCTP", DNS_PROTO_SCTP },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(s, t[i].name)) {
			*p = t[i].p;
			return 0;
		}
	return -EINVAL;
}

int dns_service_decode(const cJSON *obj, struct dns_service *out,
		       struct dns_port ports[DNS_MAX_PORTS])
{
	const cJSON *spec = json_get(obj, "spec"), *ips, *it;
	const char *type = json_get_str(spec, "type", "ClusterIP");

	memset(out, 0, sizeof(*out));
	out->name = meta_str(obj, "name");
	out->ns = meta_str(obj, "namespace");
	out->ports = ports;
	if (!*out->name || !*out->ns)
		return -EINVAL;
	if (!strcmp(type, "ExternalName")) {
		out->external_name = json_get_str(spec, "externalName", "");
		return *out->external_name ? 0 : -EINVAL;
	}
	ips = json_get(spec, "clusterIPs");
	if (!cJSON_IsArray(ips) || !cJSON_GetArraySize(ips))
		ips = NULL;
	const char *first = ips ? cJSON_GetStringValue(cJSON_GetArrayItem(ips, 0)) :
		json_get_str(spec, "clusterIP", "");
	if (!first || !*first)
		return -ENOENT;		/* not allocated yet */
	if (!strcmp(first, "None")) {
		out->headless = true;
	} else if (ips) {
		cJSON_ArrayForEach(it, ips) {
			const char *s = cJSON_GetStringValue(it);
			if (out->n_cluster_ips == DNS_MAX_IPS || !s ||
			    dns_addr_parse(&out->cluster_ips[out->n_cluster_ips], s))
				return -EINVAL;
			out->n_cluster_ips++;
		}
	} else if (dns_addr_parse(&out->cluster_ips[0], first)) {
		return -EINVAL;
	} else {
		out->n_cluster_ips = 1;
	}
	cJSON_ArrayForEach(it, json_get(spec, "ports")) {
		const char *name = json_get_str(it, "name", "");
		int64_t port = json_get_int(it, "port", 0);

		if (!*name)
			continue;	/* unnamed: no SRV */
		if (out->n_ports == DNS_MAX_PORTS || port < 1 || port > 65535 ||
		    decode_proto(json_get_str(it, "protocol", "TCP"), &ports[out->n_ports].proto))
			return -EINVAL;
		ports[out->n_ports].name = name;
		ports[out->n_ports].port = (uint16_t)port;
		out->n_ports++;
	}
	return 0;
}

int dns_slice_decode(const cJSON *slice, struct dns_endpoint **eps, size_t *n, size_t *alloc)
{
	const char *type = json_get_str(slice, "addressType", "");
	const cJSON *it;

	if (strcmp(type, "IPv4") && strcmp(type, "IPv6"))
		return 0;	/* FQDN slices carry no records */
	cJSON_ArrayForEach(it, json_get(slice, "endpoints")) {
		const char *ip = cJSON_GetStringValue(cJSON_GetArrayItem(json_get(it, "addresses"), 0));
		const cJSON *ready = json_get(json_get(it, "conditions"), "ready");
		struct dns_endpoint *e;

		if (!ip)
			continue;
		if (*n >= DNS_MAX_ENDPOINTS)
			return -E2BIG;
		ALLOC_GROW(*eps, *n + 1, *alloc);
		e = &(*eps)[*n];
		memset(e, 0, sizeof(*e));
		if (dns_addr_parse(&e->addr, ip))
			continue;
		/* upstream: an absent ready condition means ready */
		e->ready = !cJSON_IsBool(ready) || cJSON_IsTrue(ready);
		e->hostname = json_get_str(it, "hostname", NULL);
		e->node_name = json_get_str(it, "nodeName", NULL);
		(*n)++;
	}
	return 0;
}

int dns_pod_decode(const cJSON *pod, struct dns_addr ips[DNS_MAX_IPS], size_t *n)
{
	const cJSON *st = json_get(pod, "status"), *it;
	const char *phase = json_get_str(st, "phase", "");

	*n = 0;
	if (json_get_bool(json_get(pod, "spec"), "hostNetwork", false) ||
	    !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
		return 0;	/* the node's IP, or no longer holding one */
	cJSON_ArrayForEach(it, json_get(st, "podIPs")) {
		const char *ip = json_get_str(it, "ip", "");

		if (*n < DNS_MAX_IPS && !dns_addr_parse(&ips[*n], ip))
			(*n)++;
	}
	if (!*n && !dns_addr_parse(&ips[0], json_get_str(st, "podIP", "")))
		*n = 1;
	return 0;
}

/* ---- the slice index ---- */

static size_t svc_key(char *buf, size_t cap, const char *ns, const char *svc)
{
	int n = snprintf(buf, cap, "%s/%s", ns, svc);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static void idx_set(struct dns_feed *f, const char *ns, const char *svc, const char *slice, bool add)
{
	char k[256];
	size_t kl = svc_key(k, sizeof(k), ns, svc);
	struct feed_slices *fs;

	if (!kl)
		return;
	fs = dns__hmap_get(&f->idx, k, kl);
	for (size_t i = 0; fs && i < fs->n; i++)
		if (!strcmp(fs->names[i], slice)) {
			if (add)
				return;
			free(fs->names[i]);
			fs->names[i] = fs->names[--fs->n];
			if (!fs->n) {
				dns__hmap_del(&f->idx, k, kl, fs);
				free(fs->names);
				free(fs);
			}
			return;
		}
	if (!add)
		return;
	if (!fs) {
		fs = xcalloc(1, sizeof(*fs));
		dns__hmap_add(&f->idx, k, kl, fs);
	}
	ALLOC_GROW(fs->names, fs->n + 1, fs->alloc);
	fs->names[fs->n++] = xstrdup(slice);
}

/* Merges every slice of ns/svc into the zone. */
static void apply_endpoints(struct dns_feed *f, const char *ns, const char *svc)
{
	char k[256];
	size_t kl = svc_key(k, sizeof(k), ns, svc), n = 0;
	struct feed_slices *fs = kl ? dns__hmap_get(&f->idx, k, kl) : NULL;
	int r = 0;

	for (size_t i = 0; fs && i < fs->n && !r; i++) {
		const cJSON *o = api_informer_get(f->slices, ns, fs->names[i]);
		if (o)
			r = dns_slice_decode(o, &f->eps, &n, &f->eps_alloc);
	}
	if (!r)
		r = dns_zone_set_endpoints(f->z, ns, svc, f->eps, n);
	if (r)
		log_warn("dns: endpoints of '%s/%s' not served: %s", ns, svc, strerror(-r));
}

/* ---- trimming what the informers keep (the callbacks saw it all) ---- */

/* Deletes every member of o whose name is not in keep (NULL-ended). */
static void keep_only(cJSON *o, const char *const *keep)
{
	cJSON *it = o ? o->child : NULL, *next;

	for (; it; it = next) {
		size_t i = 0;

		next = it->next;
		while (keep[i] && strcmp(keep[i], it->string))
			i++;
		if (!keep[i])
			cJSON_Delete(cJSON_DetachItemViaPointer(o, it));
	}
}

/* EndpointSlices: what dns_slice_decode() and the index read, because a
 * slice event re-merges its siblings from the store. */
static void trim_slice(cJSON *obj, void *ud)
{
	static const char *const top[] = { "metadata", "addressType", "endpoints", NULL };
	static const char *const meta[] = { "name", "namespace", "resourceVersion", "labels", NULL };
	static const char *const ep[] = { "addresses", "conditions", "hostname", "nodeName", NULL };
	static const char *const cond[] = { "ready", NULL };
	cJSON *m = json_get(obj, "metadata"), *labels = json_get(m, "labels"), *it;

	(void)ud;
	keep_only(obj, top);
	keep_only(m, meta);
	keep_only(labels, (const char *const[]){ SLICE_LABEL, NULL });
	cJSON_ArrayForEach(it, json_get(obj, "endpoints")) {
		keep_only(it, ep);
		keep_only(json_get(it, "conditions"), cond);
	}
}

/* ---- informer callbacks ---- */

static void svc_set(struct api_informer *inf, const cJSON *obj, void *ud)
{
	struct dns_feed *f = ud;
	struct dns_port ports[DNS_MAX_PORTS];
	struct dns_service s;
	int r = dns_service_decode(obj, &s, ports);

	(void)inf;
	f->events++;
	if (!r)
		r = dns_zone_set_service(f->z, &s);
	if (r) {
		/* e.g. no clusterIP yet: answer nothing rather than stale data */
		dns_zone_remove_service(f->z, meta_str(obj, "namespace"), meta_str(obj, "name"));
		if (r != -ENOENT)
			log_warn("dns: service '%s/%s' not served: %s", meta_str(obj, "namespace"),
				 meta_str(obj, "name"), strerror(-r));
		return;
	}
	/* a service re-created while its slices live: give them back */
	apply_endpoints(f, s.ns, s.name);
}

static void svc_update(struct api_informer *inf, const cJSON *old, const cJSON *obj, void *ud)
{
	(void)old;
	svc_set(inf, obj, ud);
}

static void svc_delete(struct api_informer *inf, const cJSON *obj, void *ud)
{
	struct dns_feed *f = ud;

	(void)inf;
	f->events++;
	dns_zone_remove_service(f->z, meta_str(obj, "namespace"), meta_str(obj, "name"));
}

static const char *slice_svc(const cJSON *o)
{
	return json_get_str(json_get(json_get(o, "metadata"), "labels"), SLICE_LABEL, NULL);
}

static void slice_add(struct api_informer *inf, const cJSON *obj, void *ud)
{
	struct dns_feed *f = ud;
	const char *svc = slice_svc(obj), *ns = meta_str(obj, "namespace");

	(void)inf;
	f->events++;
	if (!svc)
		return;
	idx_set(f, ns, svc, meta_str(obj, "name"), true);
	apply_endpoints(f, ns, svc);
}

static void slice_delete(struct api_informer *inf, const cJSON *obj, void *ud)
{
	struct dns_feed *f = ud;
	const char *svc = slice_svc(obj), *ns = meta_str(obj, "namespace");

	(void)inf;
	f->events++;
	if (!svc)
		return;
	idx_set(f, ns, svc, meta_str(obj, "name"), false);
	apply_endpoints(f, ns, svc);
}

static void slice_update(struct api_informer *inf, const cJSON *old, const cJSON *obj, void *ud)
{
	const char *was = slice_svc(old), *now = slice_svc(obj);

	if (was && (!now || strcmp(was, now)))
		slice_delete(inf, old, ud);	/* moved to another service */
	slice_add(inf, obj, ud);
}

static void pod_set(struct api_informer *inf, const cJSON *obj, void *ud)
{
	struct dns_feed *f = ud;
	struct dns_addr ips[DNS_MAX_IPS];
	size_t n;

	(void)inf;
	f->events++;
	dns_pod_decode(obj, ips, &n);
	if (n)
		dns_zone_set_pod(f->z, meta_str(obj, "namespace"), meta_str(obj, "name"), ips, n);
	else
		dns_zone_remove_pod(f->z, meta_str(obj, "namespace"), meta_str(obj, "name"));
}

static void pod_update(struct api_informer *inf, const cJSON *old, const cJSON *obj, void *ud)
{
	(void)old;
	pod_set(inf, obj, ud);
}

static void pod_delete(struct api_informer *inf, const cJSON *obj, void *ud)
{
	struct dns_feed *f = ud;

	(void)inf;
	f->events++;
	dns_zone_remove_pod(f->z, meta_str(obj, "namespace"), meta_str(obj, "name"));
}

static void trim_heap(uv_timer_t *t)
{
	(void)t;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* A first list of many objects leaves megabytes of freed response and
 * parse buffers that glibc keeps; give them back once. */
static void synced(struct api_informer *inf, void *ud)
{
	struct dns_feed *f = ud;

	(void)inf;
	if (f->trimmed || !dns_feed_synced(f))
		return;
	f->trimmed = true;
	/* after this turn: the HTTP layer frees the list body on return */
	uv_timer_start(&f->timer, trim_heap, 0, 0);
}

int dns_feed_start(struct api_client *c, struct dns_zone *z, bool pods, struct dns_feed **out)
{
	struct dns_feed *f = xcalloc(1, sizeof(*f));
	struct api_informer_opts o = {
		.path = "/api/v1/services", .list_limit = FEED_PAGE, .on_add = svc_set, .on_update = svc_update,
		.on_delete = svc_delete, .keys_only = true, .on_synced = synced, .ud = f,
	};
	int r;

	f->z = z;
	uv_timer_init(api_client_loop(c), &f->timer);
	f->timer.data = f;
	r = api_informer_start(c, &o, &f->svcs);
	if (!r) {
		o = (struct api_informer_opts){
			.path = "/apis/discovery.k8s.io/v1/endpointslices", .list_limit = FEED_PAGE,
			.on_add = slice_add, .on_update = slice_update, .on_delete = slice_delete,
			.trim = trim_slice, .on_synced = synced, .ud = f,
		};
		r = api_informer_start(c, &o, &f->slices);
	}
	if (!r && pods) {
		o = (struct api_informer_opts){
			.path = "/api/v1/pods", .list_limit = FEED_PAGE, .on_add = pod_set, .on_update = pod_update,
			.on_delete = pod_delete, .keys_only = true, .on_synced = synced, .ud = f,
		};
		r = api_informer_start(c, &o, &f->pods);
	}
	if (r) {
		dns_feed_free(f);
		return r;
	}
	*out = f;
	return 0;
}

bool dns_feed_synced(const struct dns_feed *f)
{
	return api_informer_synced(f->svcs) && api_informer_synced(f->slices) &&
	       (!f->pods || api_informer_synced(f->pods));
}

uint64_t dns_feed_events(const struct dns_feed *f)
{
	return f->events;
}

static void feed_closed(uv_handle_t *h)
{
	free(h->data);
}

void dns_feed_free(struct dns_feed *f)
{
	if (!f)
		return;
	if (f->svcs)
		api_informer_free(f->svcs);
	if (f->slices)
		api_informer_free(f->slices);
	if (f->pods)
		api_informer_free(f->pods);
	for (size_t i = 0; i < f->idx.nb; i++)
		for (struct dns__hent *e = f->idx.b[i]; e; e = e->next) {
			struct feed_slices *fs = e->val;
			for (size_t j = 0; j < fs->n; j++)
				free(fs->names[j]);
			free(fs->names);
			free(fs);
		}
	dns__hmap_release(&f->idx);
	free(f->eps);
	uv_close((uv_handle_t *)&f->timer, feed_closed);
}
