/*
 * agent/kubelet.c - the kubelet API server: TLS, who may call, routing, and
 * finding a pod's containers on disk (see kubelet.h).
 */
#include "kubelet_int.h"
#include "runtime_int.h"
#include "lib/log.h"
#include "lib/tls.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes one stuck client may have queued (logs of a whole rotation set). */
#define KL_MAX_WRITE_QUEUED (64 * 1024 * 1024)

bool kl_query_bool(struct http_request *req, const char *name, bool def)
{
	char *v = NULL;
	bool b = def;

	if (!http_request_query(req, name, 0, &v) && v && parse_bool(v, &b))
		b = *v == '\0' ? true : def;	/* a bare "?follow" */
	free(v);
	return b;
}

void kl_status_json(struct buf *b, int code, const char *reason, const char *message)
{
	buf_addstr(b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":");
	buf_add_json_str(b, message, strlen(message));
	buf_addf(b, ",\"reason\":\"%s\",\"code\":%d}", reason, code);
}

static const char *reason_of(int code)
{
	switch (code) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 429: return "TooManyRequests";
	default: return code >= 500 ? "InternalError" : "BadRequest";
	}
}

void kl_fail(struct http_request *req, int code, const char *fmt, ...)
{
	static const struct http_header ct = { "Content-Type", "application/json" };
	struct buf b = BUF_INIT;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		BUG("out of memory");
	va_end(ap);
	kl_status_json(&b, code, reason_of(code), msg);
	http_respond(req, code, &ct, 1, b.data, b.len);
	buf_release(&b);
	free(msg);
}

/* ---- finding containers ---- */

/* <data>/logs/pods entries named "<ns>_<pod>_<uid>": the newest one's uid. */
int kl_find_pod(struct kubelet *k, const char *ns, const char *pod, char **uid)
{
	char *dir = xasprintf("%s/logs/pods", k->data_dir), *prefix = xasprintf("%s_%s_", ns, pod);
	DIR *d = opendir(dir);
	struct dirent *e;
	time_t best = 0;
	int ret = -ENOENT;

	*uid = NULL;
	while (d && (e = readdir(d))) {
		char *p, *sb;
		struct stat st;
		time_t t;

		if (!str_has_prefix(e->d_name, prefix))
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		sb = xasprintf("%s/%s", k->cfg.rt->state_dir, e->d_name + strlen(prefix));
		/* a live sandbox wins over any age */
		t = stat(p, &st) ? 0 : st.st_mtime;
		if (!access(sb, F_OK))
			t += (time_t)1 << 40;
		if (t >= best) {
			best = t;
			free(*uid);
			*uid = xstrdup(e->d_name + strlen(prefix));
			ret = 0;
		}
		free(p);
		free(sb);
	}
	if (d)
		closedir(d);
	free(dir);
	free(prefix);
	return ret;
}

int kl_find_container(struct kubelet *k, const char *ns, const char *pod, const char *container,
		      bool previous, char **ctr_id, char **log_path)
{
	char *uid = NULL, *dir = NULL;
	long cur = -1, prev = -1, want;
	struct dirent *e;
	DIR *d;
	int ret = kl_find_pod(k, ns, pod, &uid);

	if (ret)
		return ret;
	dir = xasprintf("%s/logs/pods/%s_%s_%s/%s", k->data_dir, ns, pod, uid, container);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		char *end;
		long n = strtol(e->d_name, &end, 10);

		if (end == e->d_name || strcmp(end, ".log") || n < 0)
			continue;
		if (n > cur) {
			prev = cur;
			cur = n;
		} else if (n > prev) {
			prev = n;
		}
	}
	if (d)
		closedir(d);
	want = previous ? prev : cur;
	ret = -ENOENT;
	if (want >= 0) {
		*ctr_id = xasprintf("%s_%s_%ld", uid, container, want);
		*log_path = xasprintf("%s/%ld.log", dir, want);
		ret = 0;
	}
	free(uid);
	free(dir);
	return ret;
}

bool kl_container_exited(struct kubelet *k, const char *ctr_id)
{
	char *p = rt__path(k->cfg.rt, ctr_id, RT_F_EXIT), *d = rt__path(k->cfg.rt, ctr_id, NULL);
	bool gone = !access(p, F_OK) || access(d, F_OK);

	free(p);
	free(d);
	return gone;
}

/* ---- routing ---- */

static bool caller_allowed(const struct tls_peer *p)
{
	if (!p || !p->verified || !p->cn)
		return false;
	if (!strcmp(p->cn, KUBELET_APISERVER_CN))
		return true;
	for (size_t i = 0; i < p->n_orgs; i++)
		if (!strcmp(p->orgs[i], "system:masters"))
			return true;
	return false;
}

/* Splits "/a/b/c[/d]" after the verb into t; n_min..n_max segments. */
static int split_target(const char *rest, struct kl_target *t, bool container)
{
	char seg[4][254];
	int n = 0;

	memset(t, 0, sizeof(*t));
	while (*rest == '/' && n < 4) {
		size_t l = strcspn(rest + 1, "/");

		if (!l || l >= sizeof(seg[0]))
			return -EINVAL;
		memcpy(seg[n], rest + 1, l);
		seg[n++][l] = '\0';
		rest += 1 + l;
	}
	if (*rest && strcmp(rest, "/"))
		return -EINVAL;
	if (n < 2)
		return -EINVAL;
	snprintf(t->ns, sizeof(t->ns), "%s", seg[0]);
	snprintf(t->pod, sizeof(t->pod), "%s", seg[1]);
	if (container) {
		if (n < 3)
			return -EINVAL;
		if (n == 4)
			snprintf(t->uid, sizeof(t->uid), "%s", seg[2]);
		snprintf(t->container, sizeof(t->container), "%s", seg[n - 1]);
	} else if (n == 3) {
		snprintf(t->uid, sizeof(t->uid), "%s", seg[2]);
	} else if (n > 3) {
		return -EINVAL;
	}
	/* names never hold these; refusing them keeps paths inside data_dir */
	if (strchr(t->ns, '_') || strchr(t->pod, '_') || t->ns[0] == '.' || t->pod[0] == '.' ||
	    t->container[0] == '.' || strchr(t->uid, '.'))
		return -EINVAL;
	return 0;
}

enum kl_route { KL_LOGS, KL_EXEC, KL_ATTACH, KL_PF };

static const struct {
	const char *prefix;
	enum kl_route route;
	bool container;		/* the path names a container */
	bool upgrade;		/* POST allowed (SPDY) */
} routes[] = {
	{ "/containerLogs", KL_LOGS, true, false },
	{ "/exec", KL_EXEC, true, true },
	{ "/attach", KL_ATTACH, true, true },
	{ "/portForward", KL_PF, false, true },
};

static void handle(struct http_request *req, void *data)
{
	struct kubelet *k = data;
	struct kl_target t;

	if (!caller_allowed(req->peer)) {
		kl_fail(req, 403, "forbidden: only the API server may use the kubelet API");
		return;
	}
	if (!strcmp(req->path, "/healthz")) {
		http_respond(req, 200, NULL, 0, "ok", 2);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		size_t pl = strlen(routes[i].prefix);

		if (strncmp(req->path, routes[i].prefix, pl) || req->path[pl] != '/')
			continue;
		if (strcmp(req->method, "GET") && !(routes[i].upgrade && !strcmp(req->method, "POST"))) {
			kl_fail(req, 405, "method %s not allowed", req->method);
			return;
		}
		if (split_target(req->path + pl, &t, routes[i].container)) {
			kl_fail(req, 400, "invalid path %s", req->path);
			return;
		}
		switch (routes[i].route) {
		case KL_LOGS: kl_serve_logs(k, req, &t); return;
		case KL_EXEC: kl_serve_exec(k, req, &t, false); return;
		case KL_ATTACH: kl_serve_exec(k, req, &t, true); return;
		case KL_PF: kl_serve_portforward(k, req, &t); return;
		}
	}
	kl_fail(req, 404, "the server could not find the requested resource");
}

static int listen_all(struct kubelet *k, char **err)
{
	const char *bind = k->cfg.bind_address;
	char addr[128];
	int r;

	if (bind && *bind)
		snprintf(addr, sizeof(addr), strchr(bind, ':') ? "[%s]:%d" : "%s:%d", bind, k->cfg.port);
	else
		snprintf(addr, sizeof(addr), "0.0.0.0:%d", k->cfg.port);
	r = http_server_listen(k->http, addr);
	if (r < 0) {
		*err = xasprintf("cannot listen on %s: %s", addr, strerror(-r));
		return r;
	}
	k->port = http_server_port(k->http, r);
	if (!bind || !*bind) {
		snprintf(addr, sizeof(addr), "[::]:%d", k->port);
		http_server_listen(k->http, addr);	/* no IPv6 is fine */
	}
	return 0;
}

int kubelet_start(uv_loop_t *loop, const struct kubelet_config *cfg, struct kubelet **out,
		  char **err)
{
	struct kubelet *k = xcalloc(1, sizeof(*k));
	char *cert = cfg->cert_file ? xstrdup(cfg->cert_file) : xasprintf("%s/pki/kubelet.crt", cfg->data_dir);
	char *key = cfg->key_file ? xstrdup(cfg->key_file) : xasprintf("%s/pki/kubelet.key", cfg->data_dir);
	char *ca = cfg->client_ca_file ? xstrdup(cfg->client_ca_file) :
		   xasprintf("%s/pki/client-ca.crt", cfg->data_dir);
	struct tls_config_opts to = { .server = true, .cert_file = cert, .key_file = key,
				      .ca_file = ca, .client_auth = TLS_CLIENT_AUTH_REQUIRED };
	struct http_server_opts ho = { .handler = handle, .handler_data = k,
				       .max_write_queued = KL_MAX_WRITE_QUEUED,
				       .idle_timeout_ms = 0 };
	struct tls_config *tls = NULL;
	int r;

	*err = NULL;
	k->loop = loop;
	k->cfg = *cfg;
	k->data_dir = xstrdup(cfg->data_dir);
	if (!cfg->rt) {
		k->state_dir = xasprintf("%s/containers", cfg->data_dir);
		k->rt_own.runc_root = cfg->runc_root ? cfg->runc_root : "/run/k1s/runc";
		k->rt_own.state_dir = k->state_dir;
		k->rt_own.cgroup_parent = "/k1s";
		k->cfg.rt = &k->rt_own;
	}
	if (access(cert, R_OK) || access(key, R_OK) || access(ca, R_OK)) {
		*err = xasprintf("no serving certificate (%s, %s, %s)", cert, key, ca);
		r = -ENOENT;
		goto out;
	}
	r = tls_config_new(&to, &tls, err);
	if (r)
		goto out;
	ho.tls = tls;
	r = http_server_new(loop, &ho, &k->http);
	if (!r)
		r = listen_all(k, err);
out:
	tls_config_unref(tls);
	free(cert);
	free(key);
	free(ca);
	if (r) {
		if (k->http)
			http_server_close(k->http, NULL, NULL);
		free(k->data_dir);
		free(k->state_dir);
		free(k);
		return r;
	}
	log_info("kubelet API listening on port %d", k->port);
	*out = k;
	return 0;
}

int kubelet_port(const struct kubelet *k)
{
	return k->port;
}

static void on_server_closed(void *data)
{
	struct kubelet *k = data;

	free(k->data_dir);
	free(k->state_dir);
	free(k);
}

void kubelet_stop(struct kubelet *k)
{
	if (k)
		http_server_close(k->http, on_server_closed, k);
}
