/*
 * server/pki.c - the server's certificates (policy in server/pki.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "server/pki.h"

#define CA_NONE (-1)

/* One certificate: file stem, signer, subject, usage. */
struct cert_row {
	const char *stem;
	int ca;			/* enum server_pki_id of the signer, CA_NONE for a CA */
	const char *cn;		/* for a CA: prefix of "<cn>@<unix time>" */
	const char *org;	/* one O value or NULL */
	unsigned usage;		/* enum pki_usage */
	bool serving;		/* carries the serving SAN set */
};

static const struct cert_row rows[SERVER_PKI_N] = {
	[SERVER_PKI_SERVER_CA] = { "server-ca", CA_NONE, "k1s-server-ca", NULL, 0, false },
	[SERVER_PKI_CLIENT_CA] = { "client-ca", CA_NONE, "k1s-client-ca", NULL, 0, false },
	[SERVER_PKI_SERVING] = { "serving-kube-apiserver", SERVER_PKI_SERVER_CA,
				 "kube-apiserver", NULL, PKI_USAGE_SERVER, true },
	[SERVER_PKI_ADMIN] = { "client-admin", SERVER_PKI_CLIENT_CA,
			       "system:admin", "system:masters", PKI_USAGE_CLIENT, false },
	[SERVER_PKI_APISERVER_CLIENT] = { "client-kube-apiserver", SERVER_PKI_CLIENT_CA,
					  "kube-apiserver", NULL, PKI_USAGE_CLIENT, false },
};

static const char *const default_service_ips[] = { "10.43.0.1", "fd43::1" };
static const char *const fixed_dns[] = {
	"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
	"kubernetes.default.svc.cluster.local",
};
static const char *const fixed_ips[] = { "127.0.0.1", "::1" };

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* ---- the serving SAN set ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and drops duplicates. */
static void strv_normalize(struct pki_strv *sv)
{
	size_t j = 0;

	if (sv->n)
		qsort(sv->v, sv->n, sizeof(*sv->v), cmp_str);
	for (size_t i = 0; i < sv->n; i++) {
		if (j && !strcmp(sv->v[j - 1], sv->v[i]))
			free(sv->v[i]);
		else
			sv->v[j++] = sv->v[i];
	}
	sv->n = j;
}

static void strv_add(struct pki_strv *sv, char *s)
{
	sv->v = xrealloc(sv->v, (sv->n + 1) * sizeof(*sv->v));
	sv->v[sv->n++] = s;
}

/* Adds s as an IP SAN (canonical text) when it parses as one, else as DNS. */
static void san_add(struct pki_strv *dns, struct pki_strv *ips, const char *s)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	int af = inet_pton(AF_INET, s, a) == 1 ? AF_INET :
		 inet_pton(AF_INET6, s, a) == 1 ? AF_INET6 : 0;

	if (af && inet_ntop(af, a, text, sizeof(text))) {
		strv_add(ips, xstrdup(text));
	} else if (*s) {
		char *l = xstrdup(s);

		for (char *p = l; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		strv_add(dns, l);
	}
}

int server_pki_serving_sans(const struct server_pki_opts *o, struct pki_strv *dns,
			    struct pki_strv *ips)
{
	const char *const *svc = o->service_ips ? o->service_ips : default_service_ips;
	size_t n_svc = o->service_ips ? o->n_service_ips : ARRAY_SIZE(default_service_ips);
	char host[256];

	if (o->hostname) {
		san_add(dns, ips, o->hostname);
	} else if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		san_add(dns, ips, host);
	}
	for (size_t i = 0; i < ARRAY_SIZE(fixed_dns); i++)
		san_add(dns, ips, fixed_dns[i]);
	for (size_t i = 0; i < ARRAY_SIZE(fixed_ips); i++)
		san_add(dns, ips, fixed_ips[i]);
	for (size_t i = 0; i < n_svc; i++)
		san_add(dns, ips, svc[i]);
	for (size_t i = 0; i < o->n_node_addrs; i++)
		san_add(dns, ips, o->node_addrs[i]);
	for (size_t i = 0; i < o->n_tls_sans; i++)
		san_add(dns, ips, o->tls_sans[i]);
	strv_normalize(dns);
	strv_normalize(ips);
	if (dns->n > PKI_NAMES_MAX || ips->n > PKI_NAMES_MAX)
		return -E2BIG;
	return 0;
}

static bool strv_equal(const struct pki_strv *a, const struct pki_strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

/* ---- CAs ---- */

static int ca_create(struct server_pki_pair *pp, const struct cert_row *row,
		     struct pki_err *err)
{
	char *cn = xasprintf("%s@%lld", row->cn, (long long)time(NULL));
	int ret;

	ret = pki_ca_create(&pp->crt, &pp->key, cn, 0, err);
	free(cn);
	if (!ret)
		ret = pki_key_save(&pp->key, pp->key_path, err);
	if (!ret)
		ret = pki_cert_save(&pp->crt, pp->crt_path, err);
	if (!ret) {
		pp->created = true;
		log_info("created CA '%s'", pp->crt_path);
	}
	return ret;
}

static int ca_ensure(struct server_pki_pair *pp, const struct cert_row *row,
		     unsigned renew_days, struct pki_err *err)
{
	bool have_crt = file_exists(pp->crt_path), have_key = file_exists(pp->key_path);
	int64_t left;
	int ret;

	if (!have_crt && !have_key)
		return ca_create(pp, row, err);
	if (!have_crt || !have_key)
		return pki_err_set(err, -ENOENT, "CA file '%s' is missing but '%s' exists; "
			    "restore it (a new CA needs both removed and invalidates "
			    "every certificate the old one signed)",
			    have_crt ? pp->key_path : pp->crt_path,
			    have_crt ? pp->crt_path : pp->key_path);
	ret = pki_cert_load(&pp->crt, pp->crt_path, err);
	if (!ret)
		ret = pki_key_load(&pp->key, pp->key_path, err);
	if (ret)
		return ret;
	if (!pki_key_matches(&pp->crt, &pp->key))
		return pki_err_set(err, -EINVAL, "CA key '%s' does not match '%s'",
			    pp->key_path, pp->crt_path);
	left = pki_cert_seconds_left(&pp->crt, (int64_t)time(NULL));
	if (left < (int64_t)renew_days * 86400)
		log_warn("CA '%s' expires in %lld days; it is not renewed automatically",
			 pp->crt_path, (long long)(left / 86400));
	return 0;
}

/* ---- leaves ---- */

/* Why a loaded leaf must be re-issued, or NULL if it is fine. */
static const char *leaf_stale(struct server_pki_pair *pp, const struct cert_row *row,
			      const struct server_pki_pair *ca, const struct pki_strv *want_dns,
			      const struct pki_strv *want_ips, unsigned renew_days)
{
	struct pki_strv dns = { 0 }, ips = { 0 }, orgs = { 0 };
	const char *why = NULL;
	char *cn = NULL;

	if (!pki_key_matches(&pp->crt, &pp->key))
		return "its key does not match";
	if (pki_cert_verify(&pp->crt, &ca->crt, NULL))
		return "it does not verify against its CA";
	if (pki_cert_seconds_left(&pp->crt, (int64_t)time(NULL)) < (int64_t)renew_days * 86400)
		return "it expires within the renewal window";
	if (pki_cert_subject(&pp->crt, &cn, &orgs) || !cn || strcmp(cn, row->cn) ||
	    orgs.n != (row->org ? 1u : 0u) || (row->org && strcmp(orgs.v[0], row->org)))
		why = "its subject changed";
	if (!why && row->serving) {
		if (pki_cert_sans(&pp->crt, &dns, &ips))
			why = "its subjectAltNames are invalid";
		strv_normalize(&dns);
		strv_normalize(&ips);
		if (!why && (!strv_equal(&dns, want_dns) || !strv_equal(&ips, want_ips)))
			why = "its subjectAltNames changed";
	}
	free(cn);
	pki_strv_release(&orgs);
	pki_strv_release(&dns);
	pki_strv_release(&ips);
	return why;
}

static int leaf_issue(struct server_pki_pair *pp, const struct cert_row *row,
		      struct server_pki_pair *ca, const struct pki_strv *dns,
		      const struct pki_strv *ips, unsigned days, struct pki_err *err)
{
	struct pki_cert_req req = {
		.cn = row->cn, .orgs = &row->org, .n_orgs = row->org ? 1 : 0,
		.usage = row->usage, .days = days,
	};
	int ret;

	if (row->serving) {
		req.dns = (const char *const *)dns->v;
		req.n_dns = dns->n;
		req.ips = (const char *const *)ips->v;
		req.n_ips = ips->n;
	}
	ret = pki_key_generate(&pp->key, err);
	if (!ret)
		ret = pki_cert_issue(&pp->crt, &pp->key, &req, &ca->crt, &ca->key, err);
	/* Key first: a crash in between leaves a mismatch, re-issued next start. */
	if (!ret)
		ret = pki_key_save(&pp->key, pp->key_path, err);
	if (!ret)
		ret = pki_cert_save(&pp->crt, pp->crt_path, err);
	if (!ret)
		pp->created = true;
	return ret;
}

static int leaf_ensure(struct server_pki_pair *pp, const struct cert_row *row,
		       struct server_pki_pair *ca, const struct pki_strv *dns,
		       const struct pki_strv *ips, const struct server_pki_opts *o,
		       unsigned renew_days, struct pki_err *err)
{
	const char *why = NULL;
	int ret;

	if (!file_exists(pp->crt_path) || !file_exists(pp->key_path)) {
		why = NULL;
	} else {
		ret = pki_cert_load(&pp->crt, pp->crt_path, err);
		if (!ret)
			ret = pki_key_load(&pp->key, pp->key_path, err);
		if (ret) {
			size_t n = strlen(err ? err->msg : "");

			if (err && ret == -EBADMSG && n < sizeof(err->msg) - 1)
				snprintf(err->msg + n, sizeof(err->msg) - n,
					 " (delete it to have it regenerated)");
			return ret;
		}
		why = leaf_stale(pp, row, ca, dns, ips, renew_days);
		if (!why)
			return 0;
	}
	ret = leaf_issue(pp, row, ca, dns, ips, o->leaf_days, err);
	if (!ret && why)
		log_info("renewed '%s': %s", pp->crt_path, why);
	else if (!ret)
		log_info("created '%s'", pp->crt_path);
	return ret;
}

/* ---- the whole set ---- */

/* <data-dir>/server as 0755 if missing (other parts live there), tls as 0700. */
static int make_dir(const char *data_dir, const char *dir)
{
	char *parent = xasprintf("%s/server", data_dir);
	int ret = mkdir_p(parent, 0755);

	free(parent);
	if (!ret && mkdir(dir, 0700) < 0 && errno != EEXIST)
		ret = -errno;
	if (!ret && chmod(dir, 0700) < 0)
		ret = -errno;
	return ret;
}

static void pair_init(struct server_pki_pair *pp, const char *dir, const char *stem)
{
	memset(pp, 0, sizeof(*pp));
	mbedtls_x509_crt_init(&pp->crt);
	mbedtls_pk_init(&pp->key);
	pp->crt_path = xasprintf("%s/%s.crt", dir, stem);
	pp->key_path = xasprintf("%s/%s.key", dir, stem);
}

void server_pki_release(struct server_pki *p)
{
	for (size_t i = 0; i < SERVER_PKI_N && p->dir; i++) {
		struct server_pki_pair *pp = &p->pair[i];

		mbedtls_x509_crt_free(&pp->crt);
		mbedtls_pk_free(&pp->key);
		free(pp->crt_path);
		free(pp->key_path);
	}
	free(p->dir);
	memset(p, 0, sizeof(*p));
}

int server_pki_ensure(struct server_pki *p, const struct server_pki_opts *o,
		      struct pki_err *err)
{
	struct pki_strv dns = { 0 }, ips = { 0 };
	unsigned renew = o->renew_days ? o->renew_days : SERVER_PKI_RENEW_DAYS;
	int ret;

	if (err)
		err->msg[0] = '\0';
	server_pki_release(p);
	if (!o->data_dir || !*o->data_dir)
		return pki_err_set(err, -EINVAL, "no data directory given");
	p->dir = xasprintf("%s/server/tls", o->data_dir);
	for (size_t i = 0; i < SERVER_PKI_N; i++)
		pair_init(&p->pair[i], p->dir, rows[i].stem);
	ret = make_dir(o->data_dir, p->dir);
	if (ret) {
		ret = pki_err_set(err, ret, "cannot create '%s': %s", p->dir, strerror(-ret));
		goto out;
	}
	ret = server_pki_serving_sans(o, &dns, &ips);
	if (ret) {
		ret = pki_err_set(err, ret, "more than %d serving subjectAltNames", PKI_NAMES_MAX);
		goto out;
	}
	for (size_t i = 0; i < SERVER_PKI_N && !ret; i++) {
		struct server_pki_pair *pp = &p->pair[i];

		if (rows[i].ca == CA_NONE)
			ret = ca_ensure(pp, &rows[i], renew, err);
		else
			ret = leaf_ensure(pp, &rows[i], &p->pair[rows[i].ca], &dns, &ips,
					  o, renew, err);
	}
out:
	pki_strv_release(&dns);
	pki_strv_release(&ips);
	return ret;
}

void server_pki_ca_hash(const struct server_pki *p, char out[PKI_SHA256_HEX_LEN + 1])
{
	pki_cert_sha256_hex(&p->pair[SERVER_PKI_SERVER_CA].crt, out);
}
