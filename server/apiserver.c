/*
 * server/apiserver.c - `k1s server` start-up and shutdown: data dir, PKI,
 * admin kubeconfig, datastore, built-in objects, HTTPS listeners.
 */
#include "apiserver.h"
#include "crd.h"
#include "join.h"
#include "satoken.h"
#include "lib/kubeconfig.h"
#include "pki.h"
#include "podproxy.h"
#include "services.h"
#include "storage.h"
#include "controllers/controllers.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void api_handle(struct http_request *req, void *data);

void server_config_init(struct server_config *c)
{
	memset(c, 0, sizeof(*c));
	c->data_dir = "/var/lib/k1s";
	c->https_port = 6443;
	c->write_kubeconfig = "/etc/k1s/k1s.yaml";
	c->write_kubeconfig_mode = "0600";
	c->cluster_cidr = "10.42.0.0/16,fd42::/56";
	c->service_cidr = "10.43.0.0/16,fd43::/112";
	c->node_port_range = "30000-32767";
	c->node_monitor_grace_period = "40s";
	c->node_eviction_rate = "0.1";
	c->max_endpoints_per_slice = 100;
	c->event_ttl = "1h";
}

static void error_body(const struct http_request *req, int status, const char *message,
		       struct buf *body, const char **ctype, void *data)
{
	struct api_error e = { 0 };
	enum status_reason r = STATUS_BAD_REQUEST;

	(void)req;
	(void)data;
	if (status == 413)
		r = STATUS_REQUEST_ENTITY_TOO_LARGE;
	else if (status == 408 || status == 504)
		r = STATUS_TIMEOUT;
	else if (status == 503)
		r = STATUS_SERVICE_UNAVAILABLE;
	else if (status >= 500)
		r = STATUS_INTERNAL_ERROR;
	api_error_set(&e, r, "%s", message);
	api_error_render(&e, body);
	/* the layer's own code wins: 431 has no Status reason of its own */
	*ctype = "application/json";
	api_error_release(&e);
}

static int setup_pki(struct apiserver *s, struct server_pki *pki, struct tls_config **tls)
{
	const struct server_config *cfg = s->cfg;
	struct server_pki_opts o = {
		.data_dir = cfg->data_dir,
		.node_addrs = cfg->node_ip.v,
		.n_node_addrs = cfg->node_ip.n,
		.tls_sans = cfg->tls_san.v,
		.n_tls_sans = cfg->tls_san.n,
	};
	struct tls_config_opts to = { .server = true, .client_auth = TLS_CLIENT_AUTH_OPTIONAL };
	struct pki_err err = { { 0 } };
	char *msg = NULL;
	int r;

	r = server_pki_ensure(pki, &o, &err);
	if (r) {
		log_error("cannot set up certificates: %s", err.msg);
		return r;
	}
	to.cert_file = pki->pair[SERVER_PKI_SERVING].crt_path;
	to.key_file = pki->pair[SERVER_PKI_SERVING].key_path;
	to.ca_file = pki->pair[SERVER_PKI_CLIENT_CA].crt_path;
	r = tls_config_new(&to, tls, &msg);
	if (r) {
		log_error("cannot load serving certificate: %s", msg ? msg : strerror(-r));
		free(msg);
		return r;
	}
	return 0;
}

/* The admin kubeconfig (--write-kubeconfig), written once the API listens:
 * whoever waits for the file (the embedded agent, scripts) can use it. */
static int write_kubeconfig(const struct server_config *cfg, struct server_pki *pki)
{
	struct kubeconfig_opts ko = { .path = cfg->write_kubeconfig };
	struct pki_err err = { { 0 } };
	char *server;
	int r;

	if (!cfg->write_kubeconfig || !*cfg->write_kubeconfig)
		return 0;
	if (kubeconfig_parse_mode(cfg->write_kubeconfig_mode, &ko.mode)) {
		log_error("invalid --write-kubeconfig-mode '%s'", cfg->write_kubeconfig_mode);
		return -EINVAL;
	}
	server = xasprintf("https://127.0.0.1:%lld", (long long)cfg->https_port);
	ko.server = server;
	r = kubeconfig_write(&ko, &pki->pair[SERVER_PKI_SERVER_CA].crt, &pki->pair[SERVER_PKI_ADMIN].crt,
			     &pki->pair[SERVER_PKI_ADMIN].key, &err);
	free(server);
	if (r) {
		log_error("cannot write kubeconfig: %s", err.msg);
		return r;
	}
	log_info("wrote kubeconfig %s", cfg->write_kubeconfig);
	return 0;
}

static int setup_listeners(struct apiserver *s, struct tls_config *tls)
{
	const struct server_config *cfg = s->cfg;
	struct http_server_opts o = {
		.handler = api_handle,
		.handler_data = s,
		.error_body = error_body,
		.tls = tls,
	};
	char addr[128];
	int r;

	r = http_server_new(s->loop, &o, &s->http);
	if (r < 0)
		return r;
	if (cfg->bind_address && *cfg->bind_address) {
		bool v6 = strchr(cfg->bind_address, ':') != NULL;

		snprintf(addr, sizeof(addr), v6 ? "[%s]:%lld" : "%s:%lld", cfg->bind_address,
			 (long long)cfg->https_port);
		r = http_server_listen(s->http, addr);
	} else {
		snprintf(addr, sizeof(addr), "0.0.0.0:%lld", (long long)cfg->https_port);
		r = http_server_listen(s->http, addr);
		if (r >= 0) {
			snprintf(addr, sizeof(addr), "[::]:%lld", (long long)cfg->https_port);
			if (http_server_listen(s->http, addr) < 0)
				log_warn("no IPv6 listener on port %lld", (long long)cfg->https_port);
		}
	}
	if (r < 0) {
		log_error("cannot listen on %s: %s", addr, strerror(-r));
		return r;
	}
	snprintf(s->server_address, sizeof(s->server_address), "127.0.0.1:%lld",
		 (long long)cfg->https_port);
	log_info("serving the Kubernetes API on port %lld", (long long)cfg->https_port);
	return 0;
}

static void on_signal(uv_signal_t *h, int sig)
{
	struct apiserver *s = h->data;

	log_info("received signal %d, shutting down", sig);
	uv_signal_stop(&s->sigterm);
	uv_signal_stop(&s->sigint);
	uv_stop(s->loop);
}

static void mark_ready(struct apiserver *s)
{
	/* controllers: the cache and the built-in controllers (server/controllers/) */
	if (controllers_start(s))
		log_error("controllers did not start");
	s->ready = true;
	log_info("k1s server is ready");
	sd_notify_ready();
	if (s->cfg->ready_file) {
		int fd = open(s->cfg->ready_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0)
			close(fd);
	}
}

static void walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int server_run(const struct server_config *cfg)
{
	struct apiserver srv = { 0 }, *s = &srv;
	struct server_pki pki = { 0 };
	struct tls_config *tls = NULL;
	char *db = NULL, *err = NULL;
	int r, status = 1;

	s->cfg = cfg;
	s->loop = uv_default_loop();
	signal(SIGPIPE, SIG_IGN);
	if (mkdir_p(cfg->data_dir, 0700)) {
		log_error("cannot create data dir '%s': %s", cfg->data_dir, strerror(errno));
		return 1;
	}
	registry_init();
	if (setup_pki(s, &pki, &tls) || podproxy_init(s, &pki))
		goto out;
	if (join_init(s, &pki) || satoken_init(s))
		goto out;
	if (cfg->token_auth_file) {
		struct pki_err perr = { { 0 } };

		if (authn_tokens_load(&s->tokens, cfg->token_auth_file, &perr)) {
			log_error("cannot load --token-auth-file: %s", perr.msg);
			goto out;
		}
		s->authn.tokens = s->tokens;
	}
	db = xasprintf("%s/server/db/state.db", cfg->data_dir);
	r = storage_open(s, db, &err);
	if (r) {
		log_error("%s", err ? err : strerror(-r));
		free(err);
		goto out;
	}
	if (services_init(s, &err)) {
		log_error("%s", err);
		free(err);
		goto out;
	}
	if (crd_start(s))
		goto out;
	if (setup_listeners(s, tls) || write_kubeconfig(cfg, &pki))
		goto out;
	uv_signal_init(s->loop, &s->sigterm);
	uv_signal_init(s->loop, &s->sigint);
	s->sigterm.data = s->sigint.data = s;
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	api_bootstrap_objects(s, mark_ready);
	uv_run(s->loop, UV_RUN_DEFAULT);
	status = 0;
	watch_close_all(s);
out:
	crd_stop();
	if (s->http)
		http_server_close(s->http, NULL, NULL);
	podproxy_release(s);
	services_release(s);
	storage_close(s);
	uv_walk(s->loop, walk_close, NULL);
	uv_run(s->loop, UV_RUN_DEFAULT);
	crd_release();
	tls_config_unref(tls);
	satoken_release(s);
	join_release(s);
	server_pki_release(&pki);
	authn_tokens_free(s->tokens);
	free(db);
	return status;
}
