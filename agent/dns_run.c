/*
 * agent/dns_run.c - the node-local cluster DNS: the zone fed from the API
 * (dns/feed.c), the dummy link holding the cluster DNS addresses (net/), the
 * server bound on them (dns/server.c) and this node's kube-dns
 * EndpointSlices. States: LINK (waiting for the link work) -> BIND ->
 * PUBLISH -> SERVING; a failure goes back to LINK after a retry delay.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_run.h"
#include "node.h"
#include "dns/dns.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "net/net.h"

enum dns_state { ST_LINK, ST_BIND, ST_PUBLISH, ST_SERVING, ST_STOPPED };

struct agent_dns {
	struct agent *a;
	enum dns_state state;
	struct inet_prefix cfg_addrs[DNS_MAX_IPS];	/* --cluster-dns */
	size_t n_cfg;
	struct inet_prefix addrs[DNS_MAX_IPS];	/* served now: /32 and /128 */
	struct inet_prefix old[DNS_MAX_IPS];	/* served before the last move */
	size_t n_old;
	char listen_s[DNS_MAX_IPS][INET_ADDR_STRLEN];
	const char *listen[DNS_MAX_IPS + 1];
	size_t n;
	struct dns_zone *z;
	struct dns_feed *feed;
	struct dns_server *srv;
	struct dns_metrics *metrics;
	uv_timer_t timer;
	uv_work_t work;
	bool working;			/* work queued, after_work not run yet */
	bool timer_open;
	int link_err;			/* result of the work */
	bool on_lo;			/* no dummy driver: addresses on "lo" */
	unsigned sync_waits;		/* ticks waited for the informers */
	char link_msg[NET_ERR_MAX];
	size_t published;		/* slices acknowledged this round */
};

static const char *resolv_path(const struct agent *a)
{
	return a->cfg.resolv_conf ? a->cfg.resolv_conf : "/etc/resolv.conf";
}

static bool dns_off(const struct agent_config *c)
{
	return c->disable_dns;
}

/* "10.43.0.10,fd43::a" -> at most one address per family. */
static int parse_addrs(const char *s, struct inet_prefix *out, size_t *n, char **err)
{
	char *dup = xstrdup(s), *save = NULL, *tok;
	int ret = 0;

	*n = 0;
	for (tok = strtok_r(dup, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		struct inet_prefix p = { 0 };

		if (inet_addr_parse(tok, &p.addr) || *n == DNS_MAX_IPS ||
		    (*n && out[0].addr.family == p.addr.family)) {
			*err = xasprintf("invalid --cluster-dns '%s': want one IPv4 and/or one IPv6 address", s);
			ret = -EINVAL;
			break;
		}
		p.len = p.addr.family == AF_INET ? 32 : 128;
		out[(*n)++] = p;
	}
	if (!ret && !*n) {
		*err = xasprintf("invalid --cluster-dns '%s'", s);
		ret = -EINVAL;
	}
	free(dup);
	return ret;
}

int agent__dns_check(const struct agent_config *c, char **err)
{
	struct inet_prefix p[DNS_MAX_IPS];
	size_t n;

	if (dns_off(c))
		return 0;
	if (parse_addrs(c->cluster_dns ? c->cluster_dns : AGENT_DNS_DEFAULT, p, &n, err))
		return -EINVAL;
	if (c->cluster_domain && (!*c->cluster_domain || strlen(c->cluster_domain) > 200 ||
				  strchr(c->cluster_domain, '/'))) {
		*err = xasprintf("invalid --cluster-domain '%s'", c->cluster_domain);
		return -EINVAL;
	}
	return 0;
}

/* ---- this node's kube-dns EndpointSlices ---- */

static cJSON *slice_new(struct agent_dns *d, size_t i)
{
	struct agent *a = d->a;
	bool v6 = d->addrs[i].addr.family == AF_INET6;
	cJSON *o = cJSON_CreateObject(), *m = json_obj(o, "metadata"), *l, *ep, *ports, *ref, *arr;
	char *name = xasprintf("kube-dns-%s-%s", a->node_name, v6 ? "ipv6" : "ipv4");
	static const struct { const char *name, *proto; } pt[] = { { "dns", "UDP" }, { "dns-tcp", "TCP" } };

	json_set_str(o, "apiVersion", "discovery.k8s.io/v1");
	json_set_str(o, "kind", "EndpointSlice");
	json_set_str(m, "name", name);
	json_set_str(m, "namespace", "kube-system");
	l = json_obj(m, "labels");
	json_set_str(l, "kubernetes.io/service-name", "kube-dns");
	json_set_str(l, "endpointslice.kubernetes.io/managed-by", "agent.k1s.io");
	ref = cJSON_CreateObject();
	json_set_str(ref, "apiVersion", "v1");
	json_set_str(ref, "kind", "Node");
	json_set_str(ref, "name", a->node_name);
	json_set_str(ref, "uid", a->uid);
	arr = cJSON_CreateArray();
	cJSON_AddItemToArray(arr, ref);
	json_set(m, "ownerReferences", arr);
	json_set_str(o, "addressType", v6 ? "IPv6" : "IPv4");
	ep = cJSON_CreateObject();
	json_set(ep, "addresses", cJSON_CreateStringArray((const char *[]){ d->listen_s[i] }, 1));
	json_set_bool(json_obj(ep, "conditions"), "ready", true);
	json_set_bool(json_obj(ep, "conditions"), "serving", true);
	json_set_bool(json_obj(ep, "conditions"), "terminating", false);
	json_set_str(ep, "nodeName", a->node_name);
	arr = cJSON_CreateArray();
	cJSON_AddItemToArray(arr, ep);
	json_set(o, "endpoints", arr);
	ports = cJSON_CreateArray();
	for (size_t k = 0; k < ARRAY_SIZE(pt); k++) {
		cJSON *p = cJSON_CreateObject();
		json_set_str(p, "name", pt[k].name);
		json_set_int(p, "port", 53);
		json_set_str(p, "protocol", pt[k].proto);
		cJSON_AddItemToArray(ports, p);
	}
	json_set(o, "ports", ports);
	free(name);
	return o;
}

static void arm(struct agent_dns *d, uint64_t ms);

/* The addresses to serve on: the kube-dns Service's clusterIPs, and
 * --cluster-dns for a family the Service lacks (or before it exists). */
static size_t want_addrs(const struct agent_dns *d, struct inet_prefix out[DNS_MAX_IPS])
{
	struct dns_addr ips[DNS_MAX_IPS];
	size_t n = 0, ns = dns_zone_service_ips(d->z, "kube-system", "kube-dns", ips);

	for (size_t i = 0; i < ns; i++) {
		struct inet_prefix p = { .len = ips[i].family == AF_INET ? 32 : 128 };

		p.addr.family = ips[i].family;
		memcpy(p.addr.bytes, ips[i].ip, ips[i].family == AF_INET ? 4 : 16);
		out[n++] = p;
	}
	for (size_t i = 0; i < d->n_cfg && n < DNS_MAX_IPS; i++) {
		bool have = false;

		for (size_t j = 0; j < n; j++)
			have |= out[j].addr.family == d->cfg_addrs[i].addr.family;
		if (!have)
			out[n++] = d->cfg_addrs[i];
	}
	return n;
}

static bool same_addrs(const struct inet_prefix *a, size_t na, const struct inet_prefix *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!inet_addr_equal(&a[i].addr, &b[i].addr))
			return false;
	return true;
}

/* Takes the wanted addresses (the previous ones are kept in old[] so the
 * loopback fallback can drop them). */
static void take_addrs(struct agent_dns *d)
{
	struct inet_prefix w[DNS_MAX_IPS];
	size_t n = want_addrs(d, w);

	if (!same_addrs(w, n, d->addrs, d->n)) {
		memcpy(d->old, d->addrs, sizeof(d->old));
		d->n_old = d->n;
	}
	memcpy(d->addrs, w, sizeof(w));
	d->n = n;
	for (size_t i = 0; i < n; i++) {
		inet_addr_format(&d->addrs[i].addr, d->listen_s[i]);
		d->listen[i] = d->listen_s[i];
	}
	d->listen[n] = NULL;
}

struct pub_req {
	struct agent_dns *d;
	size_t i;
	bool patched;
};

static void published(struct api_result *res, void *ud)
{
	struct pub_req *p = ud;
	struct agent_dns *d = p->d;
	cJSON *o;
	char *path;

	if (!p->patched && res->code == 409) {
		/* exists (agent restart): bring it up to date */
		o = slice_new(d, p->i);
		path = api_path("discovery.k8s.io/v1", "endpointslices", "kube-system",
				json_get_str(json_get(o, "metadata"), "name", ""), NULL);
		p->patched = true;
		api_patch(d->a->api, path, API_PATCH_MERGE, o, published, p);
		free(path);
		cJSON_Delete(o);
		return;
	}
	free(p);
	if (d->state != ST_PUBLISH)
		return;
	if (!api_result_ok(res)) {
		log_warn("dns: cannot publish the kube-dns EndpointSlice: %s",
			 res->err ? strerror(-res->err) : res->status.message);
		arm(d, AGENT_DNS_RETRY_MS);
		return;
	}
	if (++d->published == d->n) {
		d->state = ST_SERVING;
		log_info("dns: kube-dns EndpointSlices of node '%s' published", d->a->node_name);
		arm(d, AGENT_DNS_CHECK_MS);
	}
}

static void unpublished(struct api_result *res, void *ud)
{
	(void)ud;
	if (!api_result_ok(res) && res->code != 404)
		log_warn("dns: cannot delete a stale kube-dns EndpointSlice: %s",
			 res->err ? strerror(-res->err) : res->status.message);
}

/* Deletes this node's slice of a family no longer served (the kube-dns
 * Service lost it). */
static void unpublish_stale(struct agent_dns *d)
{
	for (int v6 = 0; v6 < 2; v6++) {
		bool have = false;
		char *name, *path;

		for (size_t i = 0; i < d->n; i++)
			have |= (d->addrs[i].addr.family == AF_INET6) == v6;
		if (have || !d->n_old)
			continue;
		name = xasprintf("kube-dns-%s-%s", d->a->node_name, v6 ? "ipv6" : "ipv4");
		path = api_path("discovery.k8s.io/v1", "endpointslices", "kube-system", name, NULL);
		api_delete(d->a->api, path, unpublished, NULL);
		free(path);
		free(name);
	}
}

static void publish(struct agent_dns *d)
{
	char *path = api_path("discovery.k8s.io/v1", "endpointslices", "kube-system", NULL, NULL);

	unpublish_stale(d);

	d->published = 0;
	for (size_t i = 0; i < d->n; i++) {
		struct pub_req *p = xcalloc(1, sizeof(*p));
		cJSON *o = slice_new(d, i);

		p->d = d;
		p->i = i;
		if (api_create(d->a->api, path, o, published, p))
			free(p);
		cJSON_Delete(o);
	}
	free(path);
}

/* ---- the link (off the loop) and the server ---- */

static void link_work(uv_work_t *w)
{
	struct agent_dns *d = container_of(w, struct agent_dns, work);
	struct net_ns ns = { 0 };

	d->link_msg[0] = 0;
	d->link_err = net_ns_open(&ns, NULL);
	if (!d->link_err)
		d->link_err = net_dummy_ensure(&ns, AGENT_DNS_LINK, d->addrs, d->n);
	if (d->link_err == -EOPNOTSUPP) {
		/* A kernel without the dummy driver (some CI and container
		 * kernels): loopback holds them; addresses we served before a
		 * move of the kube-dns clusterIPs are dropped from it. */
		d->link_err = 0;
		for (size_t i = 0; i < d->n_old; i++)
			if (!same_addrs(&d->old[i], 1, d->addrs, 1) &&
			    (d->n < 2 || !same_addrs(&d->old[i], 1, &d->addrs[1], 1)))
				net_addr_del(&ns, "lo", &d->old[i]);
		for (size_t i = 0; i < d->n && !d->link_err; i++) {
			d->link_err = net_addr_add(&ns, "lo", &d->addrs[i]);
			if (d->link_err == -EEXIST)
				d->link_err = 0;
		}
		d->on_lo = true;
	}
	if (d->link_err)
		snprintf(d->link_msg, sizeof(d->link_msg), "%s", net_ns_error(&ns));
	net_ns_release(&ns);
}

static void render_metrics(struct buf *b, void *ud)
{
	struct agent_dns *d = ud;

	if (d->srv)
		dns_metrics_text(dns_server_stats(d->srv), d->z, b);
}

static void start_metrics(struct agent_dns *d)
{
	const char *ips[DNS_MAX_IPS + 3] = { "127.0.0.1", "::1" };
	int64_t port = d->a->cfg.dns_metrics_port;

	if (port <= 0 || port > 65535)
		return;
	for (size_t i = 0; i < d->n; i++)
		ips[2 + i] = d->listen_s[i];
	if (dns_metrics_start(d->a->loop, ips, (uint16_t)port, render_metrics, d, &d->metrics))
		d->metrics = NULL;	/* logged; DNS serves on without them */
}

static void stop_server(struct agent_dns *d)
{
	if (d->srv)
		dns_server_close(d->srv);
	dns_metrics_close(d->metrics);
	d->srv = NULL;
	d->metrics = NULL;
}

static void bind_server(struct agent_dns *d)
{
	struct dns_server_config cfg = {
		.listen = d->listen, .default_port = 53,
		.resolv_conf = resolv_path(d->a),
	};
	int r = dns_server_start(d->a->loop, d->z, &cfg, &d->srv);

	if (r) {
		log_warn("dns: cannot serve on %s: %s; retrying", d->listen_s[0], uv_strerror(r));
		d->srv = NULL;
		d->state = ST_LINK;
		arm(d, AGENT_DNS_RETRY_MS);
		return;
	}
	log_info("dns: serving cluster DNS on %s%s%s (upstream from '%s')", d->listen_s[0],
		 d->n > 1 ? " and " : "", d->n > 1 ? d->listen_s[1] : "", cfg.resolv_conf);
	start_metrics(d);
	d->state = ST_PUBLISH;
	arm(d, 0);
}

static void free_if_done(struct agent_dns *d)
{
	if (d->state == ST_STOPPED && !d->working && !d->timer_open)
		free(d);
}

static void link_done(uv_work_t *w, int status)
{
	struct agent_dns *d = container_of(w, struct agent_dns, work);

	d->working = false;
	if (d->state == ST_STOPPED) {
		free_if_done(d);
		return;
	}
	if (status || d->link_err) {
		log_warn("dns: cannot set up link '%s': %s; retrying", AGENT_DNS_LINK,
			 d->link_msg[0] ? d->link_msg : strerror(-d->link_err));
		arm(d, AGENT_DNS_RETRY_MS);
		return;
	}
	if (d->on_lo)
		log_warn("dns: the kernel has no dummy links; cluster DNS addresses are on 'lo'");
	d->state = ST_BIND;
	bind_server(d);
}

/* Serving: the kube-dns Service's clusterIPs changed -> serve on the new
 * ones (the link work moves the addresses, then bind and publish again). */
static void check_moved(struct agent_dns *d)
{
	struct inet_prefix w[DNS_MAX_IPS];
	size_t n = want_addrs(d, w);

	if (same_addrs(w, n, d->addrs, d->n)) {
		arm(d, AGENT_DNS_CHECK_MS);
		return;
	}
	log_info("dns: the kube-dns Service's clusterIPs changed; moving the node-local addresses");
	stop_server(d);
	d->state = ST_LINK;
	arm(d, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct agent_dns *d = t->data;

	switch (d->state) {
	case ST_LINK:
		if (!dns_feed_synced(d->feed) && d->sync_waits++ < AGENT_DNS_SYNC_WAITS) {
			arm(d, 100);
			break;
		}
		take_addrs(d);
		d->working = true;
		uv_queue_work(d->a->loop, &d->work, link_work, link_done);
		break;
	case ST_PUBLISH:
		if (!d->a->uid) {	/* the Node is not registered yet */
			arm(d, 500);
			break;
		}
		publish(d);
		break;
	case ST_SERVING:
		check_moved(d);
		break;
	default:
		break;
	}
}

static void arm(struct agent_dns *d, uint64_t ms)
{
	if (d->state != ST_STOPPED)
		uv_timer_start(&d->timer, on_timer, ms, 0);
}

int agent__dns_start(struct agent *a, char **err)
{
	struct agent_dns *d;
	int r;

	if (dns_off(&a->cfg))
		return 0;
	d = xcalloc(1, sizeof(*d));
	d->a = a;
	if (parse_addrs(a->cfg.cluster_dns ? a->cfg.cluster_dns : AGENT_DNS_DEFAULT, d->cfg_addrs,
			&d->n_cfg, err)) {
		free(d);
		return -EINVAL;
	}
	d->z = dns_zone_new(a->cfg.cluster_domain);
	r = dns_feed_start(a->api, d->z, true, &d->feed);
	if (r) {
		*err = xasprintf("cannot start the DNS informers: %s", strerror(-r));
		dns_zone_free(d->z);
		free(d);
		return r;
	}
	uv_timer_init(a->loop, &d->timer);
	d->timer.data = d;
	d->timer_open = true;
	a->dns = d;
	arm(d, 0);
	return 0;
}

static void timer_closed(uv_handle_t *h)
{
	struct agent_dns *d = h->data;

	d->timer_open = false;
	free_if_done(d);
}

void agent__dns_stop(struct agent *a)
{
	struct agent_dns *d = a->dns;

	if (!d)
		return;
	a->dns = NULL;
	d->state = ST_STOPPED;
	dns_feed_free(d->feed);		/* before the API client goes */
	stop_server(d);
	dns_zone_free(d->z);		/* the server no longer reads it */
	uv_close((uv_handle_t *)&d->timer, timer_closed);
}
