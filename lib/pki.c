/*
 * lib/pki.c - keys, PEM files, reading certificates, fingerprints and
 * the process' random generator (lib/pki.h). Writing certificates is
 * lib/pki_issue.c; what both share is in lib/pki_priv.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "pki.h"
#include "pki_priv.h"
#include "util.h"

#define PEM_CRT_BEGIN "-----BEGIN CERTIFICATE-----\n"
#define PEM_CRT_END "-----END CERTIFICATE-----\n"
#define KEY_PEM_MAX 16000	/* room for a PEM key of any type we write */

/* ---- errors ---- */

int pki_err_set(struct pki_err *err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return ret;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return ret;
}

/* mbedtls' text for an mbedtls error code, in a static buffer. */
const char *pki__strerror(int code)
{
	static char buf[160];

	mbedtls_strerror(code, buf, sizeof(buf));
	return buf;
}

/* ---- randomness ---- */

static struct {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	pid_t pid;
	bool ready;
} rng;

/* The process' DRBG, (re)seeded on first use and after fork(). */
mbedtls_ctr_drbg_context *pki__rng(void)
{
	static const char pers[] = "k1s-pki";

	if (rng.ready && rng.pid == getpid())
		return &rng.drbg;
	if (rng.ready) {
		mbedtls_ctr_drbg_free(&rng.drbg);
		mbedtls_entropy_free(&rng.entropy);
	}
	mbedtls_entropy_init(&rng.entropy);
	mbedtls_ctr_drbg_init(&rng.drbg);
	rng.ready = true;
	rng.pid = getpid();
	if (mbedtls_ctr_drbg_seed(&rng.drbg, mbedtls_entropy_func, &rng.entropy,
				  (const unsigned char *)pers, sizeof(pers) - 1)) {
		rng.ready = false;
		mbedtls_ctr_drbg_free(&rng.drbg);
		mbedtls_entropy_free(&rng.entropy);
		return NULL;
	}
	return &rng.drbg;
}

int pki_random(void *buf, size_t len)
{
	mbedtls_ctr_drbg_context *d = pki__rng();
	unsigned char *p = buf;

	if (!d)
		return -EIO;
	while (len) {	/* the DRBG hands out at most 1024 bytes per call */
		size_t n = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;

		if (mbedtls_ctr_drbg_random(d, p, n))
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* ---- small helpers ---- */

void pki_secret_free(void *p, size_t len)
{
	if (!p)
		return;
	mbedtls_platform_zeroize(p, len);
	free(p);
}

void pki_strv_release(struct pki_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static void strv_push(struct pki_strv *sv, char *s)
{
	sv->v = xrealloc(sv->v, (sv->n + 1) * sizeof(*sv->v));
	sv->v[sv->n++] = s;
}

void pki_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char d[32];

	mbedtls_sha256_ret(data, len, d, 0);
	for (size_t i = 0; i < sizeof(d); i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	out[PKI_SHA256_HEX_LEN] = '\0';
}

void pki_cert_sha256_hex(const mbedtls_x509_crt *crt, char *out)
{
	pki_sha256_hex(crt->raw.p, crt->raw.len, out);
}

/* Reads a file that may hold a secret; the buffer is wiped on failure. */
static int read_pem_file(const char *path, char **out, size_t *len, struct pki_err *err)
{
	int ret = read_file(path, PKI_FILE_MAX, out, len);

	if (ret == -EFBIG)
		return pki_err_set(err, -E2BIG, "cannot read '%s': larger than %d bytes",
			    path, PKI_FILE_MAX);
	if (ret)
		return pki_err_set(err, ret, "cannot read '%s': %s", path, strerror(-ret));
	return 0;
}

/* ---- keys ---- */

int pki_key_generate(mbedtls_pk_context *key, struct pki_err *err)
{
	mbedtls_ctr_drbg_context *d = pki__rng();
	int r;

	mbedtls_pk_free(key);
	mbedtls_pk_init(key);
	if (!d)
		return pki_err_set(err, -EIO, "cannot seed the random generator");
	r = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (!r)
		r = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key),
					mbedtls_ctr_drbg_random, d);
	if (r)
		return pki_err_set(err, -EIO, "cannot generate a key: %s", pki__strerror(r));
	return 0;
}

int pki_key_load(mbedtls_pk_context *key, const char *path, struct pki_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int r, ret;

	mbedtls_pk_free(key);
	mbedtls_pk_init(key);
	ret = read_pem_file(path, &data, &len, err);
	if (ret)
		return ret;
	/* PEM input must include its NUL; DER must not. */
	r = mbedtls_pk_parse_key(key, (unsigned char *)data,
				 strstr(data, "-----BEGIN") ? len + 1 : len, NULL, 0);
	pki_secret_free(data, len);
	if (r) {
		mbedtls_pk_free(key);
		mbedtls_pk_init(key);
		return pki_err_set(err, -EBADMSG, "cannot parse key '%s': %s", path, pki__strerror(r));
	}
	return 0;
}

int pki_key_pem(mbedtls_pk_context *key, char **pem, size_t *len)
{
	unsigned char *buf = xmalloc(KEY_PEM_MAX);

	if (mbedtls_pk_write_key_pem(key, buf, KEY_PEM_MAX)) {
		pki_secret_free(buf, KEY_PEM_MAX);
		return -EIO;
	}
	*len = strlen((char *)buf);
	*pem = xstrndup((char *)buf, *len);
	pki_secret_free(buf, KEY_PEM_MAX);
	return 0;
}

int pki_pubkey_pem(mbedtls_pk_context *key, char **pem)
{
	unsigned char buf[1024];

	if (mbedtls_pk_write_pubkey_pem(key, buf, sizeof(buf)))
		return -EIO;
	*pem = xstrdup((char *)buf);
	return 0;
}

int pki_pubkey_parse(mbedtls_pk_context *key, const char *pem, size_t len, struct pki_err *err)
{
	char *z;
	int r;

	if (len > PKI_FILE_MAX)
		return pki_err_set(err, -E2BIG, "public key larger than %d bytes", PKI_FILE_MAX);
	z = xstrndup(pem, len);	/* mbedtls wants the NUL counted for PEM */
	mbedtls_pk_free(key);
	mbedtls_pk_init(key);
	r = mbedtls_pk_parse_public_key(key, (const unsigned char *)z, len + 1);
	free(z);
	if (r)
		return pki_err_set(err, -EINVAL, "cannot parse public key: %s", pki__strerror(r));
	if (!mbedtls_pk_can_do(key, MBEDTLS_PK_ECKEY) && !mbedtls_pk_can_do(key, MBEDTLS_PK_RSA)) {
		mbedtls_pk_free(key);
		mbedtls_pk_init(key);
		return pki_err_set(err, -EINVAL, "public key: unsupported key type");
	}
	return 0;
}

int pki_key_save(mbedtls_pk_context *key, const char *path, struct pki_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	int ret;

	ret = pki_key_pem(key, &pem, &len);
	if (ret)
		return pki_err_set(err, ret, "cannot encode key for '%s'", path);
	ret = write_file_atomic(path, pem, len, 0600);
	pki_secret_free(pem, len);
	if (ret)
		return pki_err_set(err, ret, "cannot write '%s': %s", path, strerror(-ret));
	return 0;
}

bool pki_key_matches(const mbedtls_x509_crt *crt, mbedtls_pk_context *key)
{
	return mbedtls_pk_check_pair(&crt->pk, key) == 0;
}

/* ---- certificate files ---- */

int pki_cert_load(mbedtls_x509_crt *crt, const char *path, struct pki_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int r, ret;

	mbedtls_x509_crt_free(crt);
	mbedtls_x509_crt_init(crt);
	ret = read_pem_file(path, &data, &len, err);
	if (ret)
		return ret;
	r = mbedtls_x509_crt_parse(crt, (unsigned char *)data,
				   strstr(data, "-----BEGIN") ? len + 1 : len);
	free(data);
	if (r) {	/* > 0: that many certificates of a bundle failed */
		mbedtls_x509_crt_free(crt);
		mbedtls_x509_crt_init(crt);
		return pki_err_set(err, -EBADMSG, "cannot parse certificate '%s': %s", path,
			    r > 0 ? "a certificate of the bundle is invalid" : pki__strerror(r));
	}
	return 0;
}

int pki_cert_pem(const mbedtls_x509_crt *crt, char **pem, size_t *len)
{
	size_t cap = crt->raw.len * 2 + 128, olen = 0;
	unsigned char *buf = xmalloc(cap);

	if (!crt->raw.p || mbedtls_pem_write_buffer(PEM_CRT_BEGIN, PEM_CRT_END, crt->raw.p,
						   crt->raw.len, buf, cap, &olen)) {
		free(buf);
		return -EIO;
	}
	*pem = (char *)buf;
	*len = strlen(*pem);
	return 0;
}

int pki_cert_save(const mbedtls_x509_crt *crt, const char *path, struct pki_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	int ret;

	ret = pki_cert_pem(crt, &pem, &len);
	if (ret)
		return pki_err_set(err, ret, "cannot encode certificate for '%s'", path);
	ret = write_file_atomic(path, pem, len, 0644);
	free(pem);
	if (ret)
		return pki_err_set(err, ret, "cannot write '%s': %s", path, strerror(-ret));
	return 0;
}

/* Parses an IPv4 or IPv6 address; *len 4 or 16, or 0 if s is not one. */
size_t pki__ip_parse(const char *s, unsigned char out[16])
{
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, out) == 1)
		return 16;
	return 0;
}

/* ---- reading certificates ---- */

int pki_cert_verify(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *ca,
		    struct pki_err *err)
{
	uint32_t flags = 0;
	char info[256];
	int r;

	r = mbedtls_x509_crt_verify((mbedtls_x509_crt *)crt, (mbedtls_x509_crt *)ca, NULL,
				    NULL, &flags, NULL, NULL);
	if (!r)
		return 0;
	if (!flags)
		return pki_err_set(err, -EACCES, "certificate verification failed: %s",
			    pki__strerror(r));
	mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
	for (char *p = info; *p; p++)	/* one line: "a\nb\n" -> "a; b" */
		if (*p == '\n')
			*p = p[1] ? ';' : '\0';
	return pki_err_set(err, -EACCES, "certificate verification failed: %s", info);
}

int64_t pki_cert_not_after(const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_time *t = &crt->valid_to;
	struct tm tm = {
		.tm_year = t->year - 1900, .tm_mon = t->mon - 1, .tm_mday = t->day,
		.tm_hour = t->hour, .tm_min = t->min, .tm_sec = t->sec,
	};

	return (int64_t)timegm(&tm);
}

int64_t pki_cert_seconds_left(const mbedtls_x509_crt *crt, int64_t now)
{
	return pki_cert_not_after(crt) - now;
}

int pki_cert_sans(const mbedtls_x509_crt *crt, struct pki_strv *dns, struct pki_strv *ips)
{
	const mbedtls_x509_sequence *s;

	for (s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
		int tag = s->buf.tag & ~MBEDTLS_ASN1_CONTEXT_SPECIFIC;
		char text[INET6_ADDRSTRLEN];

		if (tag == 2 && dns) {
			if (memchr(s->buf.p, '\0', s->buf.len))
				return -EBADMSG;
			strv_push(dns, xstrndup((const char *)s->buf.p, s->buf.len));
		} else if (tag == 7 && ips) {
			int af = s->buf.len == 4 ? AF_INET : s->buf.len == 16 ? AF_INET6 : 0;

			if (!af || !inet_ntop(af, s->buf.p, text, sizeof(text)))
				return -EBADMSG;
			strv_push(ips, xstrdup(text));
		}
	}
	return 0;
}

int pki_cert_subject(const mbedtls_x509_crt *crt, char **cn, struct pki_strv *orgs)
{
	const mbedtls_x509_name *n;

	*cn = NULL;
	for (n = &crt->subject; n && n->oid.p; n = n->next) {
		bool is_cn = !MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid);
		bool is_o = !MBEDTLS_OID_CMP(MBEDTLS_OID_AT_ORGANIZATION, &n->oid);

		if (!is_cn && !is_o)
			continue;
		if (memchr(n->val.p, '\0', n->val.len)) {
			free(*cn);
			*cn = NULL;
			return -EBADMSG;
		}
		if (is_cn) {	/* the last CN wins, as in Go's pkix.Name */
			free(*cn);
			*cn = xstrndup((const char *)n->val.p, n->val.len);
		} else if (orgs) {
			strv_push(orgs, xstrndup((const char *)n->val.p, n->val.len));
		}
	}
	return 0;
}

bool pki_cert_matches_host(const mbedtls_x509_crt *crt, const char *host)
{
	struct pki_strv dns = { 0 }, ips = { 0 };
	unsigned char want[16], have[16];
	size_t wl = pki__ip_parse(host, want);
	bool ok = false;

	if (pki_cert_sans(crt, &dns, &ips))
		goto out;
	if (wl) {
		for (size_t i = 0; i < ips.n && !ok; i++)
			ok = pki__ip_parse(ips.v[i], have) == wl && !memcmp(want, have, wl);
	} else {
		for (size_t i = 0; i < dns.n && !ok; i++)
			ok = !strcasecmp(dns.v[i], host);
	}
out:
	pki_strv_release(&dns);
	pki_strv_release(&ips);
	return ok;
}

int pki_token_split(const char *tok, const char **hash, const char **cred)
{
	*hash = NULL;
	*cred = tok;
	if (!strncmp(tok, "K10", 3)) {
		const char *h = tok + 3;

		for (size_t i = 0; i < PKI_SHA256_HEX_LEN; i++)
			if (!isxdigit((unsigned char)h[i]))
				return -EINVAL;
		if (strncmp(h + PKI_SHA256_HEX_LEN, "::", 2))
			return -EINVAL;
		*hash = h;
		*cred = h + PKI_SHA256_HEX_LEN + 2;
	}
	return **cred ? 0 : -EINVAL;
}
