/*
 * server/satoken.c - service account tokens: signing key, the TokenRequest
 * subresource, the JWT authenticator, the ServiceAccount admission plugin
 * and the kube-root-ca.crt ConfigMap. Semantics in satoken.h.
 */
#include "satoken.h"
#include "apiserver.h"
#include "authn.h"
#include "join.h"
#include "meta.h"
#include "registry.h"
#include "status.h"
#include "storage.h"
#include "validate.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/pki.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SA_PREFIX	"system:serviceaccount:"
#define SIG_LEN		64		/* ES256: r || s, 32 bytes each */
#define KID_LEN		44		/* base64url of a SHA-256, unpadded, + NUL */
#define CLOCK_SKEW	60		/* seconds of leeway on nbf/exp */
#define MAX_SECONDS	(1LL << 32)

struct satoken {
	mbedtls_pk_context key;
	char kid[KID_LEN];
};

static struct satoken *tokens;	/* one API server per process */

/* ---- base64url (RFC 7515 section 2: no padding) ---- */

static char *b64url_encode(const void *data, size_t len)
{
	size_t n = 4 * ((len + 2) / 3) + 1, out;
	char *s = xmalloc(n);

	if (mbedtls_base64_encode((unsigned char *)s, n, &out, data, len))
		out = 0;
	s[out] = 0;
	for (char *p = s; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	s[strcspn(s, "=")] = 0;
	return s;
}

/* Decodes len chars of base64url; NULL when malformed. *out_len set. */
static unsigned char *b64url_decode(const char *in, size_t len, size_t *out_len)
{
	char *tmp = xmalloc(len + 4);
	unsigned char *out = xmalloc(len + 1);
	size_t n = len;

	if (len % 4 == 1)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '+' || c == '/' || c == '=')
			goto bad;
		tmp[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	while (n % 4)
		tmp[n++] = '=';
	if (mbedtls_base64_decode(out, len + 1, out_len, (unsigned char *)tmp, n))
		goto bad;
	out[*out_len] = 0;
	free(tmp);
	return out;
bad:
	free(tmp);
	free(out);
	return NULL;
}

/* ---- the key and ES256 ---- */

static int rng(void *ctx, unsigned char *b, size_t n)
{
	(void)ctx;
	return pki_random(b, n) ? MBEDTLS_ERR_ECP_RANDOM_FAILED : 0;
}

static void sha256(const void *data, size_t len, unsigned char out[32])
{
	mbedtls_sha256_ret(data, len, out, 0);
}

/* kid: base64url(SHA-256(DER public key)), as upstream names its keys. */
static int make_kid(struct satoken *t)
{
	unsigned char der[256], d[32];
	int n = mbedtls_pk_write_pubkey_der(&t->key, der, sizeof(der));
	char *s;

	if (n <= 0)
		return -EIO;
	sha256(der + sizeof(der) - n, (size_t)n, d);
	s = b64url_encode(d, sizeof(d));
	snprintf(t->kid, sizeof(t->kid), "%s", s);
	free(s);
	return 0;
}

int satoken_init(struct apiserver *s)
{
	struct pki_err err = { { 0 } };
	char *path = xasprintf("%s/server/tls/service.key", s->cfg->data_dir);
	struct satoken *t = xcalloc(1, sizeof(*t));
	int r;

	mbedtls_pk_init(&t->key);
	r = access(path, F_OK) ? -ENOENT : pki_key_load(&t->key, path, &err);
	if (r == -ENOENT) {
		r = pki_key_generate(&t->key, &err);
		if (!r)
			r = pki_key_save(&t->key, path, &err);
	}
	if (!r && (mbedtls_pk_get_type(&t->key) != MBEDTLS_PK_ECKEY ||
		   mbedtls_pk_ec(t->key)->grp.id != MBEDTLS_ECP_DP_SECP256R1))
		r = -EINVAL, snprintf(err.msg, sizeof(err.msg), "not a P-256 key");
	if (!r)
		r = make_kid(t);
	if (r) {
		log_error("service account key %s: %s", path, err.msg[0] ? err.msg : strerror(-r));
		mbedtls_pk_free(&t->key);
		free(t);
	} else {
		tokens = t;
	}
	free(path);
	return r;
}

void satoken_release(struct apiserver *s)
{
	(void)s;
	if (!tokens)
		return;
	mbedtls_pk_free(&tokens->key);
	free(tokens);
	tokens = NULL;
}

/* header.claims.signature */
static char *jwt_sign(struct satoken *t, const cJSON *claims)
{
	cJSON *h = cJSON_CreateObject();
	char *hs, *cs, *h64, *c64, *input, *sig64, *out = NULL;
	unsigned char hash[32], sig[SIG_LEN];
	const mbedtls_ecp_keypair *kp = mbedtls_pk_ec(t->key);
	mbedtls_mpi r, s;

	json_set_str(h, "alg", "ES256");
	json_set_str(h, "kid", t->kid);
	hs = json_print(h);
	cs = json_print(claims);
	h64 = b64url_encode(hs, strlen(hs));
	c64 = b64url_encode(cs, strlen(cs));
	input = xasprintf("%s.%s", h64, c64);
	sha256(input, strlen(input), hash);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (!mbedtls_ecdsa_sign((mbedtls_ecp_group *)&kp->grp, &r, &s, &kp->d, hash, sizeof(hash), rng, NULL) &&
	    !mbedtls_mpi_write_binary(&r, sig, 32) && !mbedtls_mpi_write_binary(&s, sig + 32, 32)) {
		sig64 = b64url_encode(sig, sizeof(sig));
		out = xasprintf("%s.%s", input, sig64);
		free(sig64);
	}
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	cJSON_Delete(h);
	free(hs);
	free(cs);
	free(h64);
	free(c64);
	free(input);
	return out;
}

/* The claims of a signed, well-formed ES256 token of ours, or NULL. */
static cJSON *jwt_verify(struct satoken *t, const char *tok, size_t len)
{
	const char *d1 = memchr(tok, '.', len), *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
	unsigned char *hdr = NULL, *body = NULL, *sig = NULL, hash[32];
	size_t hl, bl, sl;
	const mbedtls_ecp_keypair *kp = mbedtls_pk_ec(t->key);
	mbedtls_mpi r, s;
	cJSON *h = NULL, *claims = NULL;
	bool ok = false;

	if (!d2)
		return NULL;
	hdr = b64url_decode(tok, (size_t)(d1 - tok), &hl);
	body = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &bl);
	sig = b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - tok), &sl);
	h = hdr ? cJSON_ParseWithLength((char *)hdr, hl) : NULL;
	if (!body || sl != SIG_LEN || strcmp(json_get_str(h, "alg", ""), "ES256") ||
	    strcmp(json_get_str(h, "kid", ""), t->kid))
		goto out;
	sha256(tok, (size_t)(d2 - tok), hash);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ok = !mbedtls_mpi_read_binary(&r, sig, 32) && !mbedtls_mpi_read_binary(&s, sig + 32, 32) &&
	     !mbedtls_ecdsa_verify((mbedtls_ecp_group *)&kp->grp, hash, sizeof(hash), &kp->Q, &r, &s);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	if (ok)
		claims = cJSON_ParseWithLength((char *)body, bl);
out:
	cJSON_Delete(h);
	free(hdr);
	free(body);
	free(sig);
	return cJSON_IsObject(claims) ? claims : (cJSON_Delete(claims), NULL);
}

bool satoken_is_jwt(const char *tok, size_t len)
{
	size_t dots = 0;

	for (size_t i = 0; i < len; i++) {
		if (tok[i] == '.')
			dots++;
		else if (!((tok[i] >= 'a' && tok[i] <= 'z') || (tok[i] >= 'A' && tok[i] <= 'Z') ||
			   (tok[i] >= '0' && tok[i] <= '9') || tok[i] == '-' || tok[i] == '_'))
			return false;
	}
	return dots == 2 && len > 2 && tok[0] == 'e';
}

/* ---- objects ---- */

static const char *uid_of(const cJSON *o)
{
	return json_get_str(json_get(o, "metadata"), "uid", "");
}

/* Does the object named by ref {kind,name,uid} in ns exist with that uid? */
static bool ref_alive(struct apiserver *s, const cJSON *ref, const char *ns)
{
	const char *kind = json_get_str(ref, "kind", "");
	const char *plural = !strcmp(kind, "Pod") ? "pods" : !strcmp(kind, "Secret") ? "secrets" :
			     !strcmp(kind, "Node") ? "nodes" : NULL;
	cJSON *o = plural ? api_load(s, "", plural, ns, json_get_str(ref, "name", "")) : NULL;
	bool ok = o && !strcmp(uid_of(o), json_get_str(ref, "uid", "")) &&
		  !json_path(o, "metadata.deletionTimestamp");

	cJSON_Delete(o);
	return ok;
}

/* ---- the authenticator ---- */

/* A claim {name, uid} of a bound object: absent, or naming a live object. */
static bool bound_alive(struct apiserver *s, const cJSON *claim, const char *kind, const char *ns)
{
	cJSON *ref;
	bool ok;

	if (!claim)
		return true;
	ref = cJSON_Duplicate(claim, 1);
	json_set_str(ref, "kind", kind);
	ok = ref_alive(s, ref, ns);
	cJSON_Delete(ref);
	return ok;
}

static bool has_audience(const cJSON *claims)
{
	const cJSON *aud = json_get(claims, "aud"), *a;

	if (cJSON_IsString(aud))
		return !strcmp(aud->valuestring, SATOKEN_ISSUER);
	cJSON_ArrayForEach(a, aud)
		if (cJSON_IsString(a) && !strcmp(a->valuestring, SATOKEN_ISSUER))
			return true;
	return false;
}

int satoken_authenticate(struct apiserver *s, const char *tok, size_t len, struct authn_identity *id)
{
	cJSON *claims = tokens ? jwt_verify(tokens, tok, len) : NULL, *sa = NULL;
	const cJSON *k8s = json_get(claims, "kubernetes.io");
	const char *ns = json_get_str(k8s, "namespace", ""), *name;
	int64_t now = (int64_t)time(NULL);
	char *group;
	int r = -ENOENT;

	name = json_get_str(json_get(k8s, "serviceaccount"), "name", "");
	if (!claims || strcmp(json_get_str(claims, "iss", ""), SATOKEN_ISSUER) || !has_audience(claims) ||
	    json_get_int(claims, "exp", 0) + CLOCK_SKEW < now || json_get_int(claims, "nbf", 0) > now + CLOCK_SKEW)
		goto out;
	sa = api_load(s, "", "serviceaccounts", ns, name);
	if (!sa || strcmp(uid_of(sa), json_get_str(json_get(k8s, "serviceaccount"), "uid", "")) ||
	    json_path(sa, "metadata.deletionTimestamp"))
		goto out;
	if (!bound_alive(s, json_get(k8s, "pod"), "Pod", ns) ||
	    !bound_alive(s, json_get(k8s, "secret"), "Secret", ns))
		goto out;
	id->user = xasprintf(SA_PREFIX "%s:%s", ns, name);
	id->uid = xstrdup(uid_of(sa));
	group = xasprintf("system:serviceaccounts:%s", ns);
	authn_identity_add_group(id, "system:serviceaccounts");
	authn_identity_add_group(id, group);
	free(group);
	r = 0;
out:
	cJSON_Delete(claims);
	cJSON_Delete(sa);
	return r;
}

/* ---- TokenRequest ---- */

static void add_bound(cJSON *k8s, const char *key, const cJSON *o)
{
	cJSON *b = json_obj(k8s, key);

	json_set_str(b, "name", json_get_str(json_get(o, "metadata"), "name", ""));
	json_set_str(b, "uid", uid_of(o));
}

/* Checks spec.boundObjectRef and adds its claims. 0 or -errno with e set. */
static int bind_object(struct api_call *c, const cJSON *ref, const cJSON *sa, cJSON *k8s,
		       struct api_error *e)
{
	const char *kind = json_get_str(ref, "kind", ""), *name = json_get_str(ref, "name", "");
	const char *uid = json_get_str(ref, "uid", NULL), *caller = c->id.user ? c->id.user : "";
	const char *plural = !strcmp(kind, "Pod") ? "pods" : !strcmp(kind, "Secret") ? "secrets" :
			     !strcmp(kind, "Node") ? "nodes" : NULL;
	bool node_caller = str_has_prefix(caller, "system:node:") &&
			   authn_identity_in_group(&c->id, "system:nodes");
	cJSON *o;
	int r = 0;

	if (!ref) {
		if (node_caller)
			goto not_bound;
		return 0;
	}
	if (!plural) {
		api_error_set(e, STATUS_BAD_REQUEST, "cannot bind token for object of type %s", kind);
		return -EINVAL;
	}
	o = api_load(c->srv, "", plural, c->route.ns, name);
	if (!o) {
		api_error_not_found(e, "", plural, name);
		return -ENOENT;
	}
	if (uid && *uid && strcmp(uid, uid_of(o))) {
		api_error_set(e, STATUS_CONFLICT,
			      "the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated",
			      uid);
		r = -ESTALE;
	} else if (!strcmp(kind, "Pod") &&
		   strcmp(json_get_str(json_get(o, "spec"), "serviceAccountName", "default"),
			  json_get_str(json_get(sa, "metadata"), "name", ""))) {
		api_error_set(e, STATUS_BAD_REQUEST,
			      "cannot bind token for serviceaccount \"%s\" to pod running with different serviceaccount name.",
			      json_get_str(json_get(sa, "metadata"), "name", ""));
		r = -EINVAL;
	} else if (node_caller && (strcmp(kind, "Pod") ||
				   strcmp(json_get_str(json_get(o, "spec"), "nodeName", ""),
					  caller + strlen("system:node:")))) {
		cJSON_Delete(o);
		goto not_bound;
	} else {
		add_bound(k8s, !strcmp(kind, "Pod") ? "pod" : !strcmp(kind, "Secret") ? "secret" : "node", o);
		if (!strcmp(kind, "Pod") && json_get_str(json_get(o, "spec"), "nodeName", NULL))
			json_set_str(json_obj(k8s, "node"), "name",
				     json_get_str(json_get(o, "spec"), "nodeName", ""));
	}
	cJSON_Delete(o);
	return r;
not_bound:
	api_error_set(e, STATUS_FORBIDDEN,
		      "serviceaccounts \"%s\" is forbidden: node requested token not bound to a pod scheduled on it",
		      c->route.name);
	return -EPERM;
}

static cJSON *token_claims(const cJSON *sa, const cJSON *aud, int64_t now, int64_t secs, cJSON *k8s)
{
	cJSON *cl = cJSON_CreateObject();
	char jti[META_UID_LEN];
	const char *ns = json_get_str(json_get(sa, "metadata"), "namespace", "");
	const char *name = json_get_str(json_get(sa, "metadata"), "name", "");
	char *sub = xasprintf(SA_PREFIX "%s:%s", ns, name);

	meta_new_uid(jti);
	json_set(cl, "aud", cJSON_Duplicate(aud, 1));
	json_set_int(cl, "exp", now + secs);
	json_set_int(cl, "iat", now);
	json_set_str(cl, "iss", SATOKEN_ISSUER);
	json_set_str(cl, "jti", jti);
	json_set_str(k8s, "namespace", ns);
	add_bound(k8s, "serviceaccount", sa);
	json_set(cl, "kubernetes.io", k8s);
	json_set_int(cl, "nbf", now);
	json_set_str(cl, "sub", sub);
	free(sub);
	return cl;
}

/* Validates and defaults spec in place. 0 or -EINVAL with e set (422). */
static int check_spec(cJSON *spec, struct api_error *e)
{
	const cJSON *x = json_get(spec, "expirationSeconds"), *aud = json_get(spec, "audiences"), *a;

	if (!x || cJSON_IsNull(x))
		json_set_int(spec, "expirationSeconds", SATOKEN_DEFAULT_SECONDS);
	else if (!cJSON_IsNumber(x) || x->valuedouble < SATOKEN_MIN_SECONDS)
		field_invalid(e, "spec.expirationSeconds", x, "may not specify a duration less than 10 minutes");
	else if (x->valuedouble > (double)MAX_SECONDS)
		field_invalid(e, "spec.expirationSeconds", x, "may not specify a duration larger than 2^32 seconds");
	cJSON_ArrayForEach(a, aud)
		if (!cJSON_IsString(a) || !*a->valuestring)
			field_invalid(e, "spec.audiences", a, "audiences must be non-empty strings");
	if (!cJSON_IsArray(aud) || !aud->child)
		json_set(spec, "audiences", cJSON_CreateStringArray((const char *[]){ SATOKEN_ISSUER }, 1));
	return e->ncauses ? -EINVAL : 0;
}

void satoken_request(struct api_call *c, cJSON *body)
{
	struct api_error e = { 0 };
	cJSON *sa = NULL, *spec, *k8s = cJSON_CreateObject(), *claims, *st;
	int64_t now = (int64_t)time(NULL);
	char ts[RFC3339_MAX], *jwt = NULL;

	spec = json_obj(body, "spec");
	if (check_spec(spec, &e)) {
		api_error_invalid(&e, "authentication.k8s.io", "TokenRequest", c->route.name);
		goto fail;
	}
	if (!(sa = api_load(c->srv, "", "serviceaccounts", c->route.ns, c->route.name))) {
		api_error_not_found(&e, "", "serviceaccounts", c->route.name);
		goto fail;
	}
	if (bind_object(c, json_get(spec, "boundObjectRef"), sa, k8s, &e))
		goto fail;
	claims = token_claims(sa, json_get(spec, "audiences"), now,
			      (int64_t)json_get(spec, "expirationSeconds")->valuedouble, k8s);
	k8s = NULL;
	jwt = tokens ? jwt_sign(tokens, claims) : NULL;
	if (!jwt) {
		cJSON_Delete(claims);
		api_error_set(&e, STATUS_INTERNAL_ERROR, "failed to sign the token");
		goto fail;
	}
	json_set_str(body, "apiVersion", "authentication.k8s.io/v1");
	json_set_str(body, "kind", "TokenRequest");
	json_set_str(json_obj(body, "metadata"), "name", c->route.name);
	json_set_str(json_obj(body, "metadata"), "namespace", c->route.ns);
	st = json_obj(body, "status");
	json_set_str(st, "token", jwt);
	rfc3339_format((json_get_int(claims, "exp", now)) * 1000000000LL, ts);
	json_set_str(st, "expirationTimestamp", ts);
	cJSON_Delete(claims);
	api_respond_object(c, 201, body);
	pki_secret_free(jwt, strlen(jwt));
	goto done;
fail:
	api_respond_error(c, &e);
done:
	cJSON_Delete(k8s);
	cJSON_Delete(sa);
	cJSON_Delete(body);
	api_call_free(c);
}

/* ---- admission ---- */

static bool mounts_path(const cJSON *ctr)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, json_get(ctr, "volumeMounts"))
		if (!strcmp(json_get_str(m, "mountPath", ""), SATOKEN_MOUNT_PATH))
			return true;
	return false;
}

/* o[key] as an array, made when absent. */
static cJSON *arr(cJSON *o, const char *key)
{
	cJSON *a = json_get(o, key);

	if (!cJSON_IsArray(a)) {
		a = cJSON_CreateArray();
		json_set(o, key, a);
	}
	return a;
}

static cJSON *push(cJSON *array)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToArray(array, o);
	return o;
}

/* The projected volume upstream's admission adds (see satoken.h). */
static cJSON *access_volume(const char *name)
{
	cJSON *v = cJSON_CreateObject(), *p = json_obj(v, "projected"), *srcs = arr(p, "sources");
	cJSON *tok = json_obj(push(srcs), "serviceAccountToken");
	cJSON *cm = json_obj(push(srcs), "configMap"), *it = push(arr(cm, "items"));
	cJSON *f = push(arr(json_obj(push(srcs), "downwardAPI"), "items")), *ref = json_obj(f, "fieldRef");

	json_set_str(v, "name", name);
	json_set_int(tok, "expirationSeconds", 3607);
	json_set_str(tok, "path", "token");
	json_set_str(cm, "name", SATOKEN_ROOT_CA_CM);
	json_set_str(it, "key", "ca.crt");
	json_set_str(it, "path", "ca.crt");
	json_set_str(f, "path", "namespace");
	json_set_str(ref, "apiVersion", "v1");
	json_set_str(ref, "fieldPath", "metadata.namespace");
	json_set_int(p, "defaultMode", 0644);
	return v;
}

static void mount_into(cJSON *ctrs, const char *name)
{
	cJSON *ctr;

	cJSON_ArrayForEach(ctr, ctrs) {
		cJSON *m;

		if (mounts_path(ctr))
			continue;
		m = cJSON_CreateObject();
		json_set_str(m, "name", name);
		cJSON_AddBoolToObject(m, "readOnly", true);
		json_set_str(m, "mountPath", SATOKEN_MOUNT_PATH);
		cJSON_AddItemToArray(arr(ctr, "volumeMounts"), m);
	}
}

/* upstream's utilrand.String alphabet: no vowels, no confusable digits */
static void random_suffix(char out[6])
{
	static const char abc[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char b[5];

	if (pki_random(b, sizeof(b)))
		memset(b, 0, sizeof(b));
	for (int i = 0; i < 5; i++)
		out[i] = abc[b[i] % (sizeof(abc) - 1)];
	out[5] = 0;
}

void satoken_admit_pod(struct api_call *c, cJSON *pod, struct api_error *e)
{
	cJSON *spec = json_obj(pod, "spec"), *sa;
	const char *name = json_get_str(spec, "serviceAccountName", "");
	const cJSON *auto_pod = json_get(spec, "automountServiceAccountToken"), *auto_sa;
	char vol[32], sfx[6];

	if (json_get_str(json_path(pod, "metadata.annotations"), "kubernetes.io/config.mirror", NULL))
		return;
	if (!*name) {
		name = "default";
		json_set_str(spec, "serviceAccountName", name);
	}
	json_set_str(spec, "serviceAccount", name);
	sa = api_load(c->srv, "", "serviceaccounts", c->route.ns, name);
	if (!sa && strcmp(name, "default")) {
		api_error_set(e, STATUS_FORBIDDEN,
			      "pods \"%s\" is forbidden: error looking up service account %s/%s: serviceaccount \"%s\" not found",
			      json_get_str(json_get(pod, "metadata"), "name", ""), c->route.ns, name, name);
		return;
	}
	auto_sa = json_get(sa, "automountServiceAccountToken");
	if (cJSON_IsFalse(auto_pod) || (!cJSON_IsBool(auto_pod) && cJSON_IsFalse(auto_sa))) {
		cJSON_Delete(sa);
		return;
	}
	cJSON_Delete(sa);
	random_suffix(sfx);
	snprintf(vol, sizeof(vol), "kube-api-access-%s", sfx);
	cJSON_AddItemToArray(arr(spec, "volumes"), access_volume(vol));
	mount_into(json_get(spec, "containers"), vol);
	mount_into(json_get(spec, "initContainers"), vol);
}

cJSON *satoken_root_ca_configmap(struct apiserver *s, const char *ns)
{
	const char *pem = join_ca_pem(s);
	cJSON *cm, *m;

	if (!pem)
		return NULL;
	cm = cJSON_CreateObject();
	m = json_obj(cm, "metadata");
	json_set_str(cm, "apiVersion", "v1");
	json_set_str(cm, "kind", "ConfigMap");
	json_set_str(m, "name", SATOKEN_ROOT_CA_CM);
	json_set_str(m, "namespace", ns);
	json_set_str(json_obj(m, "annotations"), "kubernetes.io/description",
		     "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.");
	json_set_str(json_obj(cm, "data"), "ca.crt", pem);
	return cm;
}
