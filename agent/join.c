/*
 * agent/join.c - fetch and check the cluster CA, get node certificates,
 * store them (agent/join.h).
 */
#include "join.h"
#include "agent.h"
#include "lib/apiclient.h"
#include "lib/http.h"
#include "lib/json.h"
#include "lib/kubeconfig.h"
#include "lib/log.h"
#include "lib/pki.h"
#include "lib/tls.h"
#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One blocking request to o->server: with ca_pem NULL unverified. */
static int fetch(const char *server, const char *ca_pem, const char *bearer, const char *method,
		 const char *path, const char *body, struct http_response *resp, char **err)
{
	struct api_kubeconfig kc = {
		.server = (char *)server, .ca_pem = (char *)ca_pem, .token = (char *)bearer,
		.insecure = !ca_pem,
	};

	return api_fetch(&kc, method, path, body, resp, err);
}

static int get_ca(const struct agent_join_opts *o, const char *hash, char **ca, char **err)
{
	struct http_response resp;
	char got[PKI_SHA256_HEX_LEN + 1];
	int r = fetch(o->server, NULL, NULL, "GET", "/cacerts", NULL, &resp, err);

	if (r)
		return r;
	if (resp.status != 200 || !resp.body.len) {
		char *m = api_fetch_message(&resp);

		*err = xasprintf("%s/cacerts: %s", o->server, m);
		free(m);
		http_response_release(&resp);
		return -EPROTO;
	}
	pki_sha256_hex(resp.body.data, resp.body.len, got);
	if (hash && strncasecmp(hash, got, PKI_SHA256_HEX_LEN)) {
		*err = xasprintf("the CA certificate of %s does not match the token's CA hash (got sha256 %s): wrong token or wrong server", o->server, got);
		http_response_release(&resp);
		return -EPERM;
	}
	if (!hash)
		log_warn("agent: the token has no K10 CA hash; trusting the CA of %s on first use (sha256 %s)", o->server, got);
	*ca = xstrndup(resp.body.data, resp.body.len);
	http_response_release(&resp);
	return 0;
}

struct keys {
	mbedtls_pk_context client, serving;
};

static int make_request(const struct agent_join_opts *o, struct keys *k, char **body)
{
	char *cpub = NULL, *spub = NULL;
	cJSON *req, *addrs;
	int r;

	r = pki_key_generate(&k->client, NULL);
	if (!r)
		r = pki_key_generate(&k->serving, NULL);
	if (!r)
		r = pki_pubkey_pem(&k->client, &cpub);
	if (!r)
		r = pki_pubkey_pem(&k->serving, &spub);
	if (r) {
		free(cpub);
		return r;
	}
	req = cJSON_CreateObject();
	json_set_str(req, "nodeName", o->node_name);
	json_set_str(req, "clientKey", cpub);
	json_set_str(req, "servingKey", spub);
	addrs = cJSON_AddArrayToObject(req, "addresses");
	for (unsigned i = 0; i < o->n_addresses; i++)
		cJSON_AddItemToArray(addrs, cJSON_CreateString(o->addresses[i]));
	*body = json_print(req);
	cJSON_Delete(req);
	free(cpub);
	free(spub);
	return 0;
}

static int save_pem(const char *dir, const char *name, const char *pem, char **err)
{
	char *p = xasprintf("%s/tls/%s", dir, name);
	int r = write_file_atomic(p, pem, strlen(pem), 0644);

	if (r)
		*err = xasprintf("cannot write %s: %s", p, strerror(-r));
	free(p);
	return r;
}

static int parse_crt(mbedtls_x509_crt *crt, const char *pem, const char *what, char **err)
{
	mbedtls_x509_crt_init(crt);
	if (pem && !mbedtls_x509_crt_parse(crt, (const unsigned char *)pem, strlen(pem) + 1))
		return 0;
	*err = xasprintf("the server sent an unreadable %s", what);
	return -EPROTO;
}

/* Writes the kubeconfig and the tls/ files from the join answer. */
static int store(const struct agent_join_opts *o, const cJSON *ans, struct keys *k,
		 const char *kc_path, char **err)
{
	mbedtls_x509_crt ca, client;
	struct kubeconfig_opts ko = { .path = kc_path, .server = o->server, .mode = 0600 };
	struct pki_err perr = { { 0 } };
	char *tls = xasprintf("%s/tls", o->data_dir), *kp = NULL;
	int r;

	r = mkdir_p(tls, 0700);
	if (r) {
		*err = xasprintf("cannot create %s: %s", tls, strerror(-r));
		free(tls);
		return r;
	}
	r = parse_crt(&ca, json_get_str(ans, "serverCA", NULL), "CA", err);
	if (!r)
		r = parse_crt(&client, json_get_str(ans, "clientCertificate", NULL),
			      "client certificate", err);
	if (!r && (r = kubeconfig_write(&ko, &ca, &client, &k->client, &perr)))
		*err = xstrdup(perr.msg);
	if (!r)
		r = save_pem(o->data_dir, "serving-kubelet.crt",
			     json_get_str(ans, "servingCertificate", ""), err);
	if (!r)
		r = save_pem(o->data_dir, "client-ca.crt", json_get_str(ans, "clientCA", ""), err);
	if (!r)
		r = save_pem(o->data_dir, "server-ca.crt", json_get_str(ans, "serverCA", ""), err);
	if (!r) {
		kp = xasprintf("%s/serving-kubelet.key", tls);
		if ((r = pki_key_save(&k->serving, kp, &perr)))
			*err = xstrdup(perr.msg);
	}
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&client);
	free(kp);
	free(tls);
	return r;
}

/* True when the stored kubeconfig is for server and has more than days left. */
static bool stored_ok(const char *kc_path, const char *server, unsigned days)
{
	struct api_kubeconfig kc;
	mbedtls_x509_crt crt;
	char *err = NULL;
	bool ok = false;

	if (api_kubeconfig_load(kc_path, &kc, &err)) {
		free(err);
		return false;
	}
	mbedtls_x509_crt_init(&crt);
	if (kc.server && !strcmp(kc.server, server) && kc.cert_pem &&
	    !mbedtls_x509_crt_parse(&crt, (const unsigned char *)kc.cert_pem, strlen(kc.cert_pem) + 1))
		ok = pki_cert_seconds_left(&crt, time(NULL)) > (int64_t)days * 86400;
	mbedtls_x509_crt_free(&crt);
	api_kubeconfig_release(&kc);
	return ok;
}

/* POSTs the keys with the credentials of kc, stores the answer. */
static int request_certs(const struct agent_join_opts *o, const struct api_kubeconfig *kc,
			 const char *kc_path, char **err)
{
	struct http_response resp = { 0 };
	char *body = NULL;
	struct keys k;
	cJSON *ans = NULL;
	int r;

	mbedtls_pk_init(&k.client);
	mbedtls_pk_init(&k.serving);
	if ((r = make_request(o, &k, &body)))
		*err = xstrdup("cannot generate keys");
	if (!r)
		r = api_fetch(kc, "POST", "/v1-k1s/join", body, &resp, err);
	if (!r && resp.status != 200) {
		char *m = api_fetch_message(&resp);

		*err = xasprintf("the server refused to join node '%s': %s", o->node_name, m);
		free(m);
		r = resp.status == 401 || resp.status == 403 ? -EACCES :
		    resp.status >= 500 ? -EAGAIN : -EPROTO;
	}
	if (!r && !(ans = json_parse(resp.body.data, resp.body.len))) {
		*err = xstrdup("the server's join answer is not JSON");
		r = -EPROTO;
	}
	if (!r)
		r = store(o, ans, &k, kc_path, err);
	cJSON_Delete(ans);
	http_response_release(&resp);
	mbedtls_pk_free(&k.client);
	mbedtls_pk_free(&k.serving);
	free(body);
	return r;
}

static int join_once(const struct agent_join_opts *o, char **kubeconfig, char **err)
{
	const char *hash, *cred;
	char *kc_path = xasprintf("%s/kubeconfig", o->data_dir), *ca = NULL;
	int r;

	*err = NULL;
	if (stored_ok(kc_path, o->server, AGENT_JOIN_RENEW_DAYS)) {
		*kubeconfig = kc_path;
		return 0;
	}
	if (!o->token || pki_token_split(o->token, &hash, &cred)) {
		*err = xstrdup(o->token ? "malformed token: want K10<sha256 hex>::<credential>" :
			       "no token: give --token, --token-file or K1S_TOKEN");
		free(kc_path);
		return -EINVAL;
	}
	r = get_ca(o, hash, &ca, err);
	if (!r) {
		struct api_kubeconfig kc = { .server = (char *)o->server, .ca_pem = ca,
					     .token = (char *)cred };

		r = request_certs(o, &kc, kc_path, err);
	}
	if (!r)
		log_info("agent: joined %s as node '%s'", o->server, o->node_name);
	free(ca);
	if (r) {
		free(kc_path);
		return r;
	}
	*kubeconfig = kc_path;
	return 0;
}

int agent_join_renew(const struct agent_join_opts *o, const char *kc_path, unsigned renew_days,
		     char **err)
{
	struct api_kubeconfig kc;
	int r;

	*err = NULL;
	if (stored_ok(kc_path, o->server, renew_days))
		return 1;
	r = api_kubeconfig_load(kc_path, &kc, err);
	if (r)
		return r;
	free(kc.token);		/* the node certificate authenticates a renewal */
	kc.token = NULL;
	r = request_certs(o, &kc, kc_path, err);
	api_kubeconfig_release(&kc);
	if (!r)
		log_info("agent: renewed the node certificates of '%s'", o->node_name);
	return r;
}

/* Worth another try: the server is not (yet) reachable or answering. */
static bool transient(int r)
{
	return r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EHOSTUNREACH || r == -ENETUNREACH ||
	       r == -ECONNRESET || r == -EAGAIN || r == -EIO || r == -ENOENT;
}

int agent_join(const struct agent_join_opts *o, char **kubeconfig, char **err)
{
	unsigned delay_ms = AGENT_JOIN_BACKOFF_MIN_MS;
	int r;

	while ((r = join_once(o, kubeconfig, err)) && transient(r) &&
	       (!o->max_wait_ms || delay_ms <= o->max_wait_ms)) {
		log_warn("agent: %s; retrying in %u s", *err, delay_ms / 1000);
		free(*err);
		*err = NULL;
		usleep(delay_ms * 1000);
		delay_ms = delay_ms * 2 > AGENT_JOIN_BACKOFF_MAX_MS ? AGENT_JOIN_BACKOFF_MAX_MS :
			   delay_ms * 2;
	}
	return r;
}

/* The kubelet API serves with what the join stored in <data-dir>/tls,
 * unless flags name other files. */
static void kubelet_files(struct agent_config *c)
{
	static char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];

	snprintf(cert, sizeof(cert), "%s/tls/serving-kubelet.crt", c->data_dir);
	snprintf(key, sizeof(key), "%s/tls/serving-kubelet.key", c->data_dir);
	snprintf(ca, sizeof(ca), "%s/tls/client-ca.crt", c->data_dir);
	if (!c->kubelet_cert && !c->kubelet_key) {
		c->kubelet_cert = cert;
		c->kubelet_key = key;
	}
	if (!c->kubelet_client_ca)
		c->kubelet_client_ca = ca;
}

int agent_join_from_flags(struct agent_config *c, const char *server, const char *token,
			  const char *token_file, char **kubeconfig, char **err)
{
	char host[256], *tok_buf = NULL;
	size_t n = 0;
	int ret;

	if (!token && token_file) {
		ret = read_file(token_file, 4096, &tok_buf, &n);
		if (ret) {
			*err = xasprintf("cannot read --token-file %s", token_file);
			return ret < 0 ? ret : -EIO;
		}
		while (n && isspace((unsigned char)tok_buf[n - 1]))
			tok_buf[--n] = 0;
		token = tok_buf;
	}
	if (!c->node_name)
		agent_host_name(host, sizeof(host));
	struct agent_join_opts jo = {
		.server = server, .token = token, .data_dir = c->data_dir,
		.node_name = c->node_name ? c->node_name : host,
		.addresses = (const char *const *)c->node_ip.v, .n_addresses = (unsigned)c->node_ip.n,
	};

	ret = agent_join(&jo, kubeconfig, err);
	if (tok_buf)
		memset(tok_buf, 0, n);
	free(tok_buf);
	if (!ret) {
		c->kubeconfig = *kubeconfig;
		c->join_server = server;
		kubelet_files(c);
	}
	return ret;
}
