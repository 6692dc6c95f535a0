/*
 * k1s token - bootstrap tokens for joining agents: create, list, delete.
 *
 * A bootstrap token is upstream's: Secret kube-system/bootstrap-token-<id>
 * of type bootstrap.kubernetes.io/token with token-id, token-secret,
 * expiration (RFC 3339), usage-bootstrap-authentication "true",
 * auth-extra-groups and description. `create` prints the join token
 * K10<CA hash>::<id>.<secret>; the server accepts it until it expires or is
 * deleted (server/join.h). The commands talk to the API with an admin
 * kubeconfig (--kubeconfig, $KUBECONFIG, or /etc/k1s/k1s.yaml).
 */
#include "cmd.h"
#include "lib/apiclient.h"
#include "lib/flags.h"
#include "lib/http.h"
#include "lib/json.h"
#include "lib/pki.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRETS "/api/v1/namespaces/kube-system/secrets"
#define TOKEN_TYPE "bootstrap.kubernetes.io/token"
#define DEFAULT_GROUPS "system:bootstrappers:k1s:default-node-token"
#define ALNUM "abcdefghijklmnopqrstuvwxyz0123456789"

struct opts {
	const char *kubeconfig;
	const char *ttl;
	const char *description;
	struct api_kubeconfig kc;
};

/* "24h", "90m", "3600s", "0" (never) -> seconds; -1 when malformed. */
static int64_t parse_ttl(const char *s)
{
	int64_t total = 0, v = 0;
	bool digits = false;

	if (!strcmp(s, "0"))
		return 0;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			v = v * 10 + (*s - '0');
			digits = true;
			if (v > 100000000)
				return -1;
			continue;
		}
		if (!digits)
			return -1;
		total += v * (*s == 'h' ? 3600 : *s == 'm' ? 60 : *s == 's' ? 1 : -1000000000000LL);
		v = 0;
		digits = false;
	}
	return digits || total <= 0 ? -1 : total;
}

static void rand_str(char *out, size_t n)
{
	unsigned char b[32];

	if (pki_random(b, n))
		BUG("no randomness");
	for (size_t i = 0; i < n; i++)
		out[i] = ALNUM[b[i] % 36];
	out[n] = 0;
}

static char *b64(const char *s)
{
	size_t n = 0;
	char *out;

	mbedtls_base64_encode(NULL, 0, &n, (const unsigned char *)s, strlen(s));
	out = xmalloc(n + 1);
	mbedtls_base64_encode((unsigned char *)out, n + 1, &n, (const unsigned char *)s, strlen(s));
	return out;
}

static char *unb64(const cJSON *data, const char *key)
{
	const char *v = json_get_str(data, key, NULL);
	size_t n = 0;
	unsigned char *out;

	if (!v)
		return xstrdup("");
	mbedtls_base64_decode(NULL, 0, &n, (const unsigned char *)v, strlen(v));
	out = xmalloc(n + 1);
	if (mbedtls_base64_decode(out, n + 1, &n, (const unsigned char *)v, strlen(v)))
		n = 0;
	out[n] = 0;
	return (char *)out;
}

static void data_set(cJSON *data, const char *key, const char *val)
{
	char *v = b64(val);

	json_set_str(data, key, v);
	free(v);
}

/* Runs one request; prints the error and returns 1 unless the status is want. */
static int call(struct opts *o, const char *method, const char *path, const char *body, int want,
		struct http_response *resp, const char *what)
{
	char *err = NULL;

	if (api_fetch(&o->kc, method, path, body, resp, &err)) {
		fprintf(stderr, "error: token %s: %s\n", what, err);
		free(err);
		return 1;
	}
	if (resp->status != want) {
		char *m = api_fetch_message(resp);

		fprintf(stderr, "error: token %s: %s\n", what, m);
		free(m);
		http_response_release(resp);
		return 1;
	}
	return 0;
}

static int sub_create(struct opts *o, char **args, int n)
{
	char id[7], sec[17], name[32], exp[RFC3339_MAX], hash[PKI_SHA256_HEX_LEN + 1];
	int64_t ttl = parse_ttl(o->ttl);
	struct http_response resp;
	cJSON *s, *data;
	char *body;
	int r;

	if (ttl < 0) {
		fprintf(stderr, "error: token create: invalid --ttl '%s' (e.g. 24h, 30m, 0 for never)\n", o->ttl);
		return 2;
	}
	if (n == 1) {
		const char *t = args[0];

		if (strlen(t) != 23 || t[6] != '.' || strspn(t, ALNUM) != 6 ||
		    strspn(t + 7, ALNUM) != 16) {
			fprintf(stderr, "error: token create: a token must match [a-z0-9]{6}.[a-z0-9]{16}\n");
			return 2;
		}
		memcpy(id, t, 6);
		id[6] = 0;
		memcpy(sec, t + 7, 17);
	} else {
		rand_str(id, 6);
		rand_str(sec, 16);
	}
	snprintf(name, sizeof(name), "bootstrap-token-%s", id);
	s = cJSON_CreateObject();
	json_set_str(s, "apiVersion", "v1");
	json_set_str(s, "kind", "Secret");
	json_set_str(json_obj(s, "metadata"), "name", name);
	json_set_str(json_obj(s, "metadata"), "namespace", "kube-system");
	json_set_str(s, "type", TOKEN_TYPE);
	data = json_obj(s, "data");
	data_set(data, "token-id", id);
	data_set(data, "token-secret", sec);
	data_set(data, "usage-bootstrap-authentication", "true");
	data_set(data, "auth-extra-groups", DEFAULT_GROUPS);
	if (o->description)
		data_set(data, "description", o->description);
	if (ttl) {
		rfc3339_format((int64_t)wall_ns() + ttl * 1000000000LL, exp);
		data_set(data, "expiration", exp);
	}
	body = json_print(s);
	cJSON_Delete(s);
	r = call(o, "POST", SECRETS, body, 201, &resp, "create");
	free(body);
	if (r)
		return r;
	http_response_release(&resp);
	pki_sha256_hex(o->kc.ca_pem, strlen(o->kc.ca_pem), hash);
	printf("K10%s::%s.%s\n", hash, id, sec);
	return 0;
}

static int sub_list(struct opts *o, char **args, int n)
{
	struct http_response resp;
	const cJSON *it;
	cJSON *doc;
	int r;

	r = call(o, "GET", SECRETS "?fieldSelector=type%3D" "bootstrap.kubernetes.io%2Ftoken", NULL,
		 200, &resp, "list");
	if (r)
		return r;
	doc = json_parse(resp.body.data, resp.body.len);
	http_response_release(&resp);
	printf("%-8s %-22s %-12s %s\n", "TOKEN", "EXPIRES", "USAGES", "DESCRIPTION");
	cJSON_ArrayForEach(it, json_get(doc, "items")) {
		const cJSON *data = json_get(it, "data");
		char *id = unb64(data, "token-id"), *e = unb64(data, "expiration");
		char *d = unb64(data, "description"), *u = unb64(data, "usage-bootstrap-authentication");

		printf("%-8s %-22s %-12s %s\n", id, *e ? e : "<forever>",
		       !strcmp(u, "true") ? "join" : "<none>", *d ? d : "<none>");
		free(id);
		free(e);
		free(d);
		free(u);
	}
	cJSON_Delete(doc);
	return 0;
}

static int sub_delete(struct opts *o, char **args, int n)
{
	int ret = 0;

	for (int i = 0; i < n; i++) {
		struct http_response resp;
		char id[7], *path;

		snprintf(id, sizeof(id), "%s", args[i]);	/* "abcdef" or "abcdef.secret" */
		if (strlen(id) != 6 || strspn(id, ALNUM) != 6) {
			fprintf(stderr, "error: token delete: '%s' is not a token id\n", args[i]);
			ret = 2;
			continue;
		}
		path = xasprintf(SECRETS "/bootstrap-token-%s", id);
		if (call(o, "DELETE", path, NULL, 200, &resp, "delete")) {
			ret = 1;
		} else {
			http_response_release(&resp);
			printf("bootstrap token \"%s\" deleted\n", id);
		}
		free(path);
	}
	return ret;
}

struct sub {
	const char *name, *args;
	int min, max;
	int (*fn)(struct opts *o, char **args, int n);
	const char *help;
};

static const struct sub subs[] = {
	{ "create", "[TOKEN]", 0, 1, sub_create,
	  "create a bootstrap token (random, or the given id.secret) and print the join token" },
	{ "list", "", 0, 0, sub_list, "list bootstrap tokens" },
	{ "delete", "ID...", 1, -1, sub_delete, "delete bootstrap tokens by id" },
};

static void usage_subs(void)
{
	printf("\nSub-commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		printf("  %-7s %-8s %s\n", subs[i].name, subs[i].args, subs[i].help);
}

int cmd_token(int argc, char **argv)
{
	struct opts o = { .ttl = "24h" };
	const struct flag flags[] = {
		{ "kubeconfig", FLAG_STR, &o.kubeconfig, "Admin kubeconfig (default $KUBECONFIG, then /etc/k1s/k1s.yaml)", "KUBECONFIG" },
		{ "ttl", FLAG_STR, &o.ttl, "Lifetime of a created token (default 24h; 0 = never expires)", NULL },
		{ "description", FLAG_STR, &o.description, "Description stored with a created token", NULL },
		FLAG_END
	};
	const struct sub *sub = NULL;
	char **args = NULL, *err = NULL;
	int nargs, r;

	r = cmd_parse_sub_flags("token", "k1s token [flags] create|list|delete ARGS", flags, argc, argv,
				&args, &nargs, usage_subs);
	if (r >= 0)
		return r;
	sub = cmd_find_sub(subs, ARRAY_SIZE(subs), sizeof(subs[0]), args, nargs);
	if (!sub || nargs - 1 < sub->min || (sub->max >= 0 && nargs - 1 > sub->max)) {
		fprintf(stderr, "error: token: %s (see k1s token --help)\n",
			!nargs ? "missing sub-command" : !sub ? "unknown sub-command" : "wrong number of arguments");
		free(args);
		return 2;
	}
	r = api_kubeconfig_load(o.kubeconfig ? o.kubeconfig : "/etc/k1s/k1s.yaml", &o.kc, &err);
	if (r || !o.kc.ca_pem) {
		fprintf(stderr, "error: token: %s\n", err ? err : "the kubeconfig has no CA certificate");
		free(err);
		api_kubeconfig_release(&o.kc);
		free(args);
		return 1;
	}
	r = sub->fn(&o, args + 1, nargs - 1);
	api_kubeconfig_release(&o.kc);
	free(args);
	return r;
}
