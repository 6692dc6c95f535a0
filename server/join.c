/*
 * server/join.c - the cluster token, bootstrap tokens, /cacerts and the
 * node-certificate endpoint (server/join.h).
 */
#include "join.h"
#include "satoken.h"
#include "apiserver.h"
#include "pki.h"
#include "registry.h"
#include "storage.h"
#include "validate.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <mbedtls/base64.h>
#include <mbedtls/constant_time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOIN_SECRET_BYTES 16		/* random bytes of a generated secret */
#define JOIN_MAX_ADDRESSES 8		/* addresses a node may name */
#define JOIN_BOOTSTRAP_GROUP "system:bootstrappers"
#define JOIN_USER "system:k1s:join"
#define NODE_GROUP "system:nodes"
#define NODE_USER_PREFIX "system:node:"

struct join {
	struct apiserver *srv;
	struct server_pki *pki;
	char *ca_pem;			/* server CA as served by /cacerts */
	char *client_ca_pem;
	char *cred;			/* "server:<secret>" */
};

static char *hex_secret(void)
{
	unsigned char b[JOIN_SECRET_BYTES];
	char *s = xmalloc(2 * sizeof(b) + 1);

	if (pki_random(b, sizeof(b)))
		BUG("no randomness");
	for (size_t i = 0; i < sizeof(b); i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	return s;
}

/* The credential part of the token: --token (whole token or secret), the file's, or new. */
static char *pick_cred(const char *flag, const char *file_tok)
{
	const char *hash, *cred;

	if (flag && *flag) {
		if (pki_token_split(flag, &hash, &cred))
			return NULL;
		return strchr(cred, ':') ? xstrdup(cred) : xasprintf("server:%s", cred);
	}
	if (file_tok && !pki_token_split(file_tok, &hash, &cred) && str_has_prefix(cred, "server:"))
		return xstrdup(cred);
	char *sec = hex_secret(), *c = xasprintf("server:%s", sec);

	free(sec);
	return c;
}

static int ensure_token_file(struct join *j)
{
	const struct server_config *cfg = j->srv->cfg;
	char *path = xasprintf("%s/server/token", cfg->data_dir), *old = NULL, *want;
	char hash[PKI_SHA256_HEX_LEN + 1];
	size_t len = 0;
	int r = 0;

	if (read_file(path, 4096, &old, &len) == 0) {
		while (len && isspace((unsigned char)old[len - 1]))
			old[--len] = 0;
	}
	j->cred = pick_cred(cfg->token, old);
	if (!j->cred) {
		log_error("invalid --token: a K10 token must be K10<64 hex digits>::<credential>");
		r = -EINVAL;
		goto out;
	}
	pki_sha256_hex(j->ca_pem, strlen(j->ca_pem), hash);
	want = xasprintf("K10%s::%s\n", hash, j->cred);
	if (!old || strncmp(old, want, strlen(want) - 1) || old[strlen(want) - 1]) {
		r = write_file_atomic(path, want, strlen(want), 0600);
		if (r)
			log_error("cannot write %s: %s", path, strerror(-r));
		else
			log_info("wrote join token %s", path);
	}
	free(want);
out:
	free(old);
	free(path);
	return r;
}

/* ---- bootstrap tokens ---- */

static bool token_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A base64 "data" value of secret as a malloc'd string, or NULL. */
static char *secret_data(const cJSON *secret, const char *key)
{
	const char *v = json_get_str(json_get(secret, "data"), key, NULL);
	size_t n = 0;
	unsigned char *out;

	if (!v)
		return NULL;
	if (mbedtls_base64_decode(NULL, 0, &n, (const unsigned char *)v, strlen(v)) ==
	    MBEDTLS_ERR_BASE64_INVALID_CHARACTER)
		return NULL;
	out = xmalloc(n + 1);
	if (mbedtls_base64_decode(out, n + 1, &n, (const unsigned char *)v, strlen(v))) {
		free(out);
		return NULL;
	}
	out[n] = 0;
	return (char *)out;
}

static bool secret_eq(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && !mbedtls_ct_memcmp(a, b, n);
}

static int bootstrap_lookup(struct join *j, const char *tok, size_t len, struct authn_identity *id)
{
	char tid[7], *key, *sec = NULL, *exp = NULL, *use = NULL, *groups = NULL;
	struct sobj o = { 0 };
	cJSON *doc = NULL;
	int64_t exp_ns;
	int r = -ENOENT;

	if (len != 23 || tok[6] != '.' || !token_chars(tok, 6) || !token_chars(tok + 7, 16))
		return -ENOENT;
	memcpy(tid, tok, 6);
	tid[6] = 0;
	key = xasprintf("bootstrap-token-%s", tid);
	char *skey = api_key(registry_find("", "v1", "secrets"), "kube-system", key);

	free(key);
	if (storage_get(j->srv, skey, &o))
		goto out;
	doc = json_parse(o.value, strlen(o.value));
	if (!doc || strcmp(json_get_str(doc, "type", ""), "bootstrap.kubernetes.io/token"))
		goto out;
	sec = secret_data(doc, "token-secret");
	use = secret_data(doc, "usage-bootstrap-authentication");
	exp = secret_data(doc, "expiration");
	groups = secret_data(doc, "auth-extra-groups");
	if (!sec || !secret_eq(sec, tok + 7) || !use || strcmp(use, "true"))
		goto out;
	if (exp && (rfc3339_parse(exp, &exp_ns) || exp_ns <= (int64_t)wall_ns()))
		goto out;
	id->user = xasprintf("system:bootstrap:%s", tid);
	id->uid = xstrdup("");
	authn_identity_add_group(id, JOIN_BOOTSTRAP_GROUP);
	for (char *g = groups ? strtok(groups, ",") : NULL; g; g = strtok(NULL, ","))
		if (str_has_prefix(g, "system:bootstrappers:"))
			authn_identity_add_group(id, g);
	r = 0;
out:
	free(sec);
	free(use);
	free(exp);
	free(groups);
	cJSON_Delete(doc);
	sobj_release(&o);
	free(skey);
	return r;
}

static int token_hook(void *ctx, const char *token, size_t len, struct authn_identity *id)
{
	struct join *j = ctx;
	char *t;
	const char *hash, *cred;
	int r = -ENOENT;

	if (satoken_is_jwt(token, len))
		return satoken_authenticate(j->srv, token, len, id);
	t = xstrndup(token, len);

	if (!pki_token_split(t, &hash, &cred)) {
		char *full = strchr(cred, ':') || strchr(cred, '.') ? xstrdup(cred) :
			     xasprintf("server:%s", cred);	/* a bare --token secret */
		bool match = secret_eq(full, j->cred);

		pki_secret_free(full, strlen(full));
		if (match) {
			id->user = xstrdup(JOIN_USER);
			id->uid = xstrdup("");
			authn_identity_add_group(id, JOIN_BOOTSTRAP_GROUP);
			r = 0;
		} else {
			r = bootstrap_lookup(j, cred, strlen(cred), id);
		}
	}
	free(t);
	return r;
}

int join_init(struct apiserver *s, struct server_pki *pki)
{
	struct join *j = xcalloc(1, sizeof(*j));
	size_t n;

	j->srv = s;
	j->pki = pki;
	if (pki_cert_pem(&pki->pair[SERVER_PKI_SERVER_CA].crt, &j->ca_pem, &n) ||
	    pki_cert_pem(&pki->pair[SERVER_PKI_CLIENT_CA].crt, &j->client_ca_pem, &n)) {
		log_error("cannot encode the CA certificates");
		s->join = j;
		return -EIO;
	}
	s->join = j;
	if (ensure_token_file(j))
		return -EINVAL;
	s->authn.hook = token_hook;
	s->authn.hook_ctx = j;
	return 0;
}

void join_release(struct apiserver *s)
{
	struct join *j = s->join;

	if (!j)
		return;
	free(j->ca_pem);
	free(j->client_ca_pem);
	if (j->cred)
		pki_secret_free(j->cred, strlen(j->cred));
	free(j);
	s->join = NULL;
}

const char *join_ca_pem(struct apiserver *s)
{
	return s->join ? s->join->ca_pem : NULL;
}

bool join_path(const char *path)
{
	return !strcmp(path, "/cacerts") || str_has_prefix(path, "/v1-k1s/");
}

/* ---- the join endpoint ---- */

/* True while name's Lease is current: another live machine holds the name. */
static bool lease_current(struct apiserver *s, const char *name)
{
	char *key = api_key(registry_find("coordination.k8s.io", "v1", "leases"), "kube-node-lease",
			    name);
	struct sobj o = { 0 };
	cJSON *doc = NULL;
	bool live = false;
	int64_t renew;

	if (!storage_get(s, key, &o) && (doc = json_parse(o.value, strlen(o.value)))) {
		const cJSON *spec = json_get(doc, "spec");
		int64_t dur = json_get_int(spec, "leaseDurationSeconds", 40);

		if (!rfc3339_parse(json_get_str(spec, "renewTime", ""), &renew))
			live = (int64_t)wall_ns() < renew + dur * 1000000000LL;
	}
	cJSON_Delete(doc);
	sobj_release(&o);
	free(key);
	return live;
}

/* Issues one certificate for the public key PEM in body[field]. */
static int issue(struct join *j, const cJSON *body, const char *field, const struct pki_cert_req *req,
		 enum server_pki_id ca, char **pem, char **msg)
{
	const char *kp = json_get_str(body, field, NULL);
	struct pki_err err = { { 0 } };
	mbedtls_pk_context key;
	mbedtls_x509_crt crt;
	size_t n;
	int r;

	if (!kp) {
		*msg = xasprintf("%s: Required value", field);
		return -EINVAL;
	}
	mbedtls_pk_init(&key);
	mbedtls_x509_crt_init(&crt);
	r = pki_pubkey_parse(&key, kp, strlen(kp), &err);
	if (!r)
		r = pki_cert_issue(&crt, &key, req, &j->pki->pair[ca].crt, &j->pki->pair[ca].key, &err);
	if (!r)
		r = pki_cert_pem(&crt, pem, &n);
	if (r)
		*msg = xasprintf("%s: %s", field, err.msg[0] ? err.msg : strerror(-r));
	mbedtls_x509_crt_free(&crt);
	mbedtls_pk_free(&key);
	return r;
}

/* Addresses for the serving certificate: IPs only, none the API server serves on. */
static int collect_addresses(struct join *j, const cJSON *body, const char **ips, size_t *n,
			     char **msg)
{
	const cJSON *a, *arr = json_get(body, "addresses");
	struct pki_strv api_ips = { 0 };
	int r = 0;

	*n = 0;
	pki_cert_sans(&j->pki->pair[SERVER_PKI_SERVING].crt, NULL, &api_ips);
	cJSON_ArrayForEach(a, arr) {
		if (!cJSON_IsString(a) || *n == JOIN_MAX_ADDRESSES) {
			*msg = xasprintf("addresses: at most %d strings", JOIN_MAX_ADDRESSES);
			r = -EINVAL;
			break;
		}
		for (size_t i = 0; i < api_ips.n; i++)
			if (!strcmp(api_ips.v[i], a->valuestring) &&
			    strcmp(a->valuestring, "127.0.0.1") && strcmp(a->valuestring, "::1")) {
				*msg = xasprintf("addresses: %s belongs to the API server", a->valuestring);
				r = -EPERM;
			}
		if (r)
			break;
		if (strcmp(a->valuestring, "127.0.0.1") && strcmp(a->valuestring, "::1"))
			ips[(*n)++] = a->valuestring;
	}
	pki_strv_release(&api_ips);
	return r;
}

static void serve_join(struct api_call *c, struct join *j)
{
	cJSON *body = NULL, *out = NULL;
	const char *name, *ips[JOIN_MAX_ADDRESSES];
	char *msg = NULL, *cn = NULL, *client = NULL, *serving = NULL;
	const char *orgs[] = { NODE_GROUP };
	size_t n_ips = 0;
	enum status_reason why = STATUS_BAD_REQUEST;
	bool is_node = authn_identity_in_group(&c->id, NODE_GROUP);

	if (strcmp(c->req->method, "POST")) {
		api_respond_errorf(c, STATUS_METHOD_NOT_ALLOWED, "the server does not allow this method on the requested resource");
		return;
	}
	if (!is_node && !authn_identity_in_group(&c->id, JOIN_BOOTSTRAP_GROUP)) {
		api_respond_errorf(c, STATUS_FORBIDDEN, "forbidden: User \"%s\" cannot join nodes: a join token or a node certificate is required", c->id.user);
		return;
	}
	body = json_parse(c->req->body.data, c->req->body.len);
	name = json_get_str(body, "nodeName", "");
	if (!body || !cJSON_IsObject(body)) {
		msg = xstrdup("the request body must be a JSON object");
	} else if (!is_dns1123_subdomain(name)) {
		msg = xasprintf("nodeName: Invalid value: \"%s\": a lowercase RFC 1123 subdomain is required", name);
		why = STATUS_INVALID;
	} else if (is_node && (!str_has_prefix(c->id.user, NODE_USER_PREFIX) ||
			       strcmp(c->id.user + strlen(NODE_USER_PREFIX), name))) {
		msg = xasprintf("node \"%s\" may renew only its own certificates, not those of \"%s\"", c->id.user, name);
		why = STATUS_FORBIDDEN;
	} else if (!is_node && lease_current(c->srv, name)) {
		msg = xasprintf("node \"%s\" is running (its lease is current): another machine cannot join under its name; stop it or wait for its lease to lapse", name);
		why = STATUS_CONFLICT;
	} else if (collect_addresses(j, body, ips, &n_ips, &msg)) {
		why = STATUS_INVALID;
	}
	if (!msg) {
		cn = xasprintf(NODE_USER_PREFIX "%s", name);
		struct pki_cert_req creq = { .cn = cn, .orgs = orgs, .n_orgs = 1,
					     .usage = PKI_USAGE_CLIENT };
		struct pki_cert_req sreq = { .cn = name, .dns = &name, .n_dns = 1, .ips = ips,
					     .n_ips = n_ips, .usage = PKI_USAGE_SERVER };

		if (issue(j, body, "clientKey", &creq, SERVER_PKI_CLIENT_CA, &client, &msg) ||
		    issue(j, body, "servingKey", &sreq, SERVER_PKI_SERVER_CA, &serving, &msg))
			why = STATUS_INVALID;
	}
	if (msg) {
		api_respond_errorf(c, why, "%s", msg);
	} else {
		out = cJSON_CreateObject();
		json_set_str(out, "clientCertificate", client);
		json_set_str(out, "servingCertificate", serving);
		json_set_str(out, "serverCA", j->ca_pem);
		json_set_str(out, "clientCA", j->client_ca_pem);
		log_info("issued node certificates for %s to %s", name, c->id.user);
		api_respond_json(c, 200, out);
	}
	cJSON_Delete(out);
	cJSON_Delete(body);
	free(msg);
	free(cn);
	free(client);
	free(serving);
}

void join_serve(struct api_call *c)
{
	struct join *j = c->srv->join;
	const char *path = c->req->path;

	if (!j) {
		api_respond_errorf(c, STATUS_SERVICE_UNAVAILABLE, "joining is not set up");
	} else if (!strcmp(path, "/cacerts")) {
		api_respond_raw(c, 200, "text/plain", j->ca_pem, strlen(j->ca_pem));
	} else if (!strcmp(path, "/v1-k1s/join")) {
		serve_join(c, j);
	} else {
		api_respond_errorf(c, STATUS_NOT_FOUND, "the server could not find the requested resource");
	}
}
