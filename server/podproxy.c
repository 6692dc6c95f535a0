/*
 * server/podproxy.c - the pod subresources served by kubelets (see
 * podproxy.h), and the embedded agent's kubelet certificate.
 */
#include "podproxy.h"
#include "storage.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PP_KUBELET_DAYS 365
#define PP_CONNECT_MS 10000

/* Headers of an upgrade passed from client to kubelet and back. */
static const char *const fwd_req[] = {
	"Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
	"Sec-WebSocket-Protocol", "X-Stream-Protocol-Version",
};
static const char *const fwd_resp[] = {
	"Upgrade", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol", "X-Stream-Protocol-Version",
	"Content-Type",
};

/* ---- the embedded agent's serving certificate ---- */

static void local_addrs(struct pki_strv *ips)
{
	struct ifaddrs *ifs, *i;
	char a[INET6_ADDRSTRLEN];

	if (getifaddrs(&ifs))
		return;
	for (i = ifs; i && ips->n < PKI_NAMES_MAX - 2; i = i->ifa_next) {
		const void *p;

		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			p = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6)
			p = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		else
			continue;
		if (!inet_ntop(i->ifa_addr->sa_family, p, a, sizeof(a)) || !strncmp(a, "fe80:", 5))
			continue;
		ips->v = xrealloc(ips->v, (ips->n + 1) * sizeof(char *));
		ips->v[ips->n++] = xstrdup(a);
	}
	freeifaddrs(ifs);
}

/* True when the certificate at dir/kubelet.crt is usable as it is. */
static bool kubelet_cert_ok(const char *crt, const char *key, struct server_pki *pki)
{
	mbedtls_x509_crt c;
	mbedtls_pk_context k;
	bool ok = false;

	mbedtls_x509_crt_init(&c);
	mbedtls_pk_init(&k);
	if (!pki_cert_load(&c, crt, NULL) && !pki_key_load(&k, key, NULL) &&
	    pki_key_matches(&c, &k) &&
	    !pki_cert_verify(&c, &pki->pair[SERVER_PKI_SERVER_CA].crt, NULL) &&
	    pki_cert_seconds_left(&c, (int64_t)(wall_ns() / 1000000000)) >
		    (int64_t)SERVER_PKI_RENEW_DAYS * 86400)
		ok = true;
	mbedtls_x509_crt_free(&c);
	mbedtls_pk_free(&k);
	return ok;
}

static int issue_kubelet_cert(const char *dir, struct server_pki *pki)
{
	char *crt = xasprintf("%s/kubelet.crt", dir), *key = xasprintf("%s/kubelet.key", dir);
	char *ca = xasprintf("%s/client-ca.crt", dir), host[256] = "localhost";
	const char *orgs[] = { "system:nodes" };
	struct pki_strv ips = { 0 };
	struct pki_err err = { { 0 } };
	mbedtls_x509_crt c;
	mbedtls_pk_context k;
	int r = 0;

	mbedtls_x509_crt_init(&c);
	mbedtls_pk_init(&k);
	gethostname(host, sizeof(host) - 1);
	if (!kubelet_cert_ok(crt, key, pki)) {
		const char *dns[] = { host, "localhost" };
		char *cn = xasprintf("system:node:%s", host);
		struct pki_cert_req req = { .cn = cn, .orgs = orgs, .n_orgs = 1, .dns = dns,
					    .n_dns = 2, .usage = PKI_USAGE_SERVER,
					    .days = PP_KUBELET_DAYS };

		local_addrs(&ips);
		req.ips = (const char *const *)ips.v;
		req.n_ips = ips.n;
		r = pki_key_generate(&k, &err);
		if (!r)
			r = pki_cert_issue(&c, &k, &req, &pki->pair[SERVER_PKI_SERVER_CA].crt,
					   &pki->pair[SERVER_PKI_SERVER_CA].key, &err);
		if (!r)
			r = pki_key_save(&k, key, &err);
		if (!r)
			r = pki_cert_save(&c, crt, &err);
		if (!r)
			log_info("issued the embedded agent's kubelet certificate %s", crt);
		free(cn);
	}
	if (!r)
		r = pki_cert_save(&pki->pair[SERVER_PKI_CLIENT_CA].crt, ca, &err);
	if (r)
		log_error("cannot issue the kubelet certificate: %s", err.msg);
	pki_strv_release(&ips);
	mbedtls_x509_crt_free(&c);
	mbedtls_pk_free(&k);
	free(crt);
	free(key);
	free(ca);
	return r;
}

int podproxy_init(struct apiserver *s, struct server_pki *pki)
{
	struct tls_config_opts to = {
		.cert_file = pki->pair[SERVER_PKI_APISERVER_CLIENT].crt_path,
		.key_file = pki->pair[SERVER_PKI_APISERVER_CLIENT].key_path,
		.ca_file = pki->pair[SERVER_PKI_SERVER_CA].crt_path,
	};
	struct http_client_opts co = { .connect_timeout_ms = PP_CONNECT_MS };
	char *dir = xasprintf("%s/agent/pki", s->cfg->data_dir), *msg = NULL;
	int r;

	if (!s->cfg->disable_agent && !mkdir_p(dir, 0700))
		issue_kubelet_cert(dir, pki);	/* the agent runs without it: not fatal */
	free(dir);
	r = tls_config_new(&to, &co.tls, &msg);
	if (r) {
		log_error("cannot load the kubelet client certificate: %s", msg ? msg : strerror(-r));
		free(msg);
		return r;
	}
	r = http_client_new(s->loop, &co, &s->kubelet_client);
	tls_config_unref(co.tls);
	return r;
}

void podproxy_release(struct apiserver *s)
{
	if (s->kubelet_client)
		http_client_free(s->kubelet_client);
	s->kubelet_client = NULL;
}

/* ---- one proxied request ---- */

struct pp {
	struct api_call *c;
	struct http_call *call;
	struct http_tunnel *tc, *tk;	/* client side, kubelet side */
	bool streaming, upgrade;
	bool retried;			/* a reset pooled connection was retried once */
	struct http_call_opts o;	/* to retry: url and headers below */
	char *url;
	struct http_header h[16];
	int open;			/* tunnels open */
};

static void pp_free(struct pp *p)
{
	free(p->url);
	api_call_free(p->c);
	free(p);
}

static bool has_container(const cJSON *spec, const char *name)
{
	static const char *const lists[] = { "containers", "initContainers", "ephemeralContainers" };
	const cJSON *it;

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		cJSON_ArrayForEach(it, json_get(spec, lists[i]))
			if (!strcmp(json_get_str(it, "name", ""), name))
				return true;
	return false;
}

/* The container the request means; malloc'd, or NULL after answering 400. */
static char *pick_container(struct api_call *c, const cJSON *pod)
{
	const cJSON *spec = json_get(pod, "spec"), *cs = json_get(spec, "containers"), *it;
	char *name = NULL;
	struct buf names = BUF_INIT;

	if (!http_request_query(c->req, "container", 0, &name) && name && *name) {
		if (has_container(spec, name))
			return name;
		api_respond_errorf(c, STATUS_BAD_REQUEST, "container %s is not valid for pod %s",
				   name, c->route.name);
		free(name);
		return NULL;
	}
	free(name);
	if (cJSON_GetArraySize(cs) == 1)
		return xstrdup(json_get_str(cs->child, "name", ""));
	cJSON_ArrayForEach(it, cs)
		buf_addf(&names, "%s%s", names.len ? " " : "", json_get_str(it, "name", ""));
	api_respond_errorf(c, STATUS_BAD_REQUEST,
			   "a container name must be specified for pod %s, choose one of: [%s]",
			   c->route.name, names.len ? names.data : "");
	buf_release(&names);
	return NULL;
}

/* https://ip:port of the node's kubelet, malloc'd; NULL after answering. */
static char *kubelet_base(struct api_call *c, const char *node_name)
{
	cJSON *node = api_load(c->srv, "", "nodes", "", node_name);
	const cJSON *st = json_get(node, "status"), *a;
	const char *ip = NULL;
	int64_t port = json_get_int(json_path(st, "daemonEndpoints.kubeletEndpoint"), "Port", 0);
	char *url = NULL;

	cJSON_ArrayForEach(a, json_get(st, "addresses"))
		if (!ip && !strcmp(json_get_str(a, "type", ""), "InternalIP"))
			ip = json_get_str(a, "address", NULL);
	if (!node)
		api_respond_errorf(c, STATUS_NOT_FOUND, "nodes \"%s\" not found", node_name);
	else if (!ip || port <= 0 || port > 65535)
		api_respond_errorf(c, STATUS_SERVICE_UNAVAILABLE,
				   "node %s has no kubelet endpoint (InternalIP and kubelet port)", node_name);
	else
		url = xasprintf(strchr(ip, ':') ? "https://[%s]:%lld" : "https://%s:%lld", ip,
				(long long)port);
	cJSON_Delete(node);
	return url;
}

/* nodes/<n>/proxy/<rest>: the kubelet's /<rest>, or NULL after answering. */
static char *node_url(struct api_call *c)
{
	const char *rest = c->route.rest_off ? c->req->path + c->route.rest_off : "";
	char *base = kubelet_base(c, c->route.name);
	struct buf u = BUF_INIT;

	if (!base)
		return NULL;
	buf_addstr(&u, base);
	do {	/* segment by segment, so the slashes stay */
		size_t n = strcspn(rest, "/");
		char *seg = xstrndup(rest, n);

		buf_addch(&u, '/');
		http_url_encode(&u, seg);
		free(seg);
		rest += n + (rest[n] == '/');
	} while (*rest);
	if (c->req->query && *c->req->query)
		buf_addf(&u, "?%s", c->req->query);
	free(base);
	return buf_detach(&u, NULL);
}

/* The kubelet URL for c, or NULL after answering an error. */
static char *target_url(struct api_call *c)
{
	static const struct { const char *sub, *path; } map[] = {
		{ "log", "containerLogs" }, { "exec", "exec" }, { "attach", "attach" },
		{ "portforward", "portForward" },
	};
	cJSON *pod = api_load(c->srv, "", "pods", c->route.ns, c->route.name);
	const char *node = json_get_str(json_get(pod, "spec"), "nodeName", NULL), *kpath = NULL;
	char *container = NULL, *base = NULL, *url = NULL;
	struct buf u = BUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (!strcmp(c->route.sub, map[i].sub))
			kpath = map[i].path;
	if (!strcmp(c->route.resource, "nodes")) {
		url = node_url(c);
		goto out;
	}
	if (!pod) {
		api_respond_errorf(c, STATUS_NOT_FOUND, "pods \"%s\" not found", c->route.name);
		goto out;
	}
	if (!node || !*node) {
		api_respond_errorf(c, STATUS_BAD_REQUEST, "pod %s does not have a host assigned",
				   c->route.name);
		goto out;
	}
	if (strcmp(c->route.sub, "portforward") && !(container = pick_container(c, pod)))
		goto out;
	if (!(base = kubelet_base(c, node)))
		goto out;
	buf_addf(&u, "%s/%s/", base, kpath);
	http_url_encode(&u, c->route.ns);
	buf_addch(&u, '/');
	http_url_encode(&u, c->route.name);
	if (container) {
		buf_addch(&u, '/');
		http_url_encode(&u, container);
	}
	if (c->req->query && *c->req->query)
		buf_addf(&u, "?%s", c->req->query);
	url = buf_detach(&u, NULL);
out:
	buf_release(&u);
	cJSON_Delete(pod);
	free(container);
	free(base);
	return url;
}

/* ---- plain (logs) ---- */

static void on_headers(struct http_call *call, const struct http_response *resp, void *ud)
{
	struct pp *p = ud;
	const char *ct = http_response_header(resp, "Content-Type");
	struct http_header h = { "Content-Type", ct ? ct : "text/plain" };

	p->streaming = true;
	http_stream_start(p->c->req, resp->status, &h, 1);
}

static void on_body(struct http_call *call, const void *data, size_t len, void *ud)
{
	struct pp *p = ud;

	if (http_stream_write(p->c->req, data, len) < 0) {
		http_call_cancel(call);
		http_request_on_cancel(p->c->req, NULL, NULL);
		http_stream_end(p->c->req);
		pp_free(p);
	}
}

static void on_complete(struct http_call *call, int err, struct http_response *resp, void *ud)
{
	struct pp *p = ud;

	p->call = NULL;
	/* a kept-alive connection the kubelet had closed: the POST of a SPDY
	 * upgrade is not retried by the client layer, so once here */
	if (!resp && !p->streaming && !p->retried && (err == -ECONNRESET || err == -EPIPE)) {
		p->retried = true;
		if (!http_call_start(p->c->srv->kubelet_client, &p->o, &p->call))
			return;
	}
	http_request_on_cancel(p->c->req, NULL, NULL);
	if (p->streaming) {
		http_stream_end(p->c->req);
	} else if (resp) {	/* an upgrade the kubelet refused: pass its answer on */
		struct http_header h[ARRAY_SIZE(fwd_resp)];
		size_t n = 0;

		for (size_t i = 0; i < ARRAY_SIZE(fwd_resp); i++)
			if (http_response_header(resp, fwd_resp[i]))
				h[n++] = (struct http_header){ fwd_resp[i],
					http_response_header(resp, fwd_resp[i]) };
		http_respond(p->c->req, resp->status, h, n, resp->body.data, resp->body.len);
	} else {
		api_respond_errorf(p->c, STATUS_INTERNAL_ERROR,
				   "error dialing backend: %s", strerror(-err));
	}
	pp_free(p);
}

static void on_client_gone(struct http_request *req, void *data)
{
	struct pp *p = data;

	if (p->call)
		http_call_cancel(p->call);
	if (p->streaming)
		http_stream_end(req);
	else
		http_respond_error(req, 499, "client gone");
	pp_free(p);
}

/* ---- upgrades: two tunnels joined ---- */

static struct http_tunnel *peer_of(struct pp *p, struct http_tunnel *t)
{
	return t == p->tc ? p->tk : p->tc;
}

static void t_read(struct http_tunnel *t, const void *data, size_t len, void *ud)
{
	struct pp *p = ud;
	struct http_tunnel *o = peer_of(p, t);

	if (!o)
		return;
	http_tunnel_write(o, data, len);
	if (http_tunnel_queued(o) > PODPROXY_BUFFER_MAX)
		http_tunnel_pause_read(t, true);
}

static void t_drain(struct http_tunnel *t, void *ud)
{
	struct pp *p = ud;
	struct http_tunnel *o = peer_of(p, t);

	if (o)
		http_tunnel_pause_read(o, false);
}

static void t_close(struct http_tunnel *t, int err, void *ud)
{
	struct pp *p = ud;
	struct http_tunnel *o = peer_of(p, t);

	if (t == p->tc)
		p->tc = NULL;
	else
		p->tk = NULL;
	if (o)
		http_tunnel_close(o);
	if (--p->open == 0)
		pp_free(p);
}

static const struct http_tunnel_cbs tunnel_cbs = {
	.on_read = t_read, .on_drain = t_drain, .on_close = t_close,
};

static void on_upgrade(struct http_call *call, const struct http_response *resp,
		       struct http_tunnel *t, void *ud)
{
	struct pp *p = ud;
	struct http_header h[ARRAY_SIZE(fwd_resp)];
	size_t n = 0;

	p->call = NULL;
	p->tk = t;
	p->open = 1;
	http_request_on_cancel(p->c->req, NULL, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(fwd_resp); i++)
		if (http_response_header(resp, fwd_resp[i]) && strcasecmp(fwd_resp[i], "Content-Type"))
			h[n++] = (struct http_header){ fwd_resp[i], http_response_header(resp, fwd_resp[i]) };
	if (http_upgrade(p->c->req, h, n, &tunnel_cbs, p, &p->tc)) {
		p->tc = NULL;
		http_tunnel_close(t);	/* t_close frees p */
		return;
	}
	p->open = 2;
}

void podproxy_serve(struct api_call *c)
{
	struct pp *p;
	struct http_call_opts o = { 0 };
	size_t n = 0, it;
	const char *v;
	char *url;

	if (!strcmp(c->route.sub, "log") || !strcmp(c->route.sub, "proxy") ? c->verb != VERB_GET :
	    (c->verb != VERB_GET && c->verb != VERB_CREATE)) {
		api_respond_errorf(c, STATUS_METHOD_NOT_ALLOWED,
				   "the server does not allow this method on the requested resource");
		api_call_free(c);
		return;
	}
	url = target_url(c);
	if (!url || !c->srv->kubelet_client) {
		if (url)
			api_respond_errorf(c, STATUS_SERVICE_UNAVAILABLE, "no kubelet client");
		free(url);
		api_call_free(c);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->c = c;
	p->upgrade = c->req->upgrade;
	for (size_t i = 0; p->upgrade && i < ARRAY_SIZE(fwd_req); i++)
		for (it = 0; n < ARRAY_SIZE(p->h) && (v = http_request_header_next(c->req, fwd_req[i], &it));)
			p->h[n++] = (struct http_header){ fwd_req[i], v };
	o.method = c->req->method;
	o.url = url;
	o.headers = p->h;
	o.n_headers = n;
	o.ud = p;
	o.on_complete = on_complete;
	if (p->upgrade) {
		o.on_upgrade = on_upgrade;
		o.tunnel_cbs = &tunnel_cbs;
		o.timeout_ms = PP_CONNECT_MS * 3;
	} else {
		o.on_headers = on_headers;
		o.on_body = on_body;
	}
	p->url = url;	/* header values point into c->req, alive as long as p */
	o.url = p->url;
	p->o = o;
	http_request_on_cancel(c->req, on_client_gone, p);
	if (http_call_start(c->srv->kubelet_client, &p->o, &p->call)) {
		http_request_on_cancel(c->req, NULL, NULL);
		api_respond_errorf(c, STATUS_INTERNAL_ERROR, "bad kubelet URL %s", url);
		pp_free(p);
	}
}
