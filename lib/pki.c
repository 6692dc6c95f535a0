/*
 * lib/pki.c - keys, certificates and PEM files with mbedtls 2.28.
 *
 * mbedtls 2.28's certificate writer has no API for several-valued subjects
 * (its string parser keeps one value per attribute), IP subjectAltNames or
 * extended key usage, so this file builds those pieces itself: the subject
 * and issuer as mbedtls_asn1_named_data lists it owns, and the
 * subjectAltName and extendedKeyUsage extensions as DER with asn1write.
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
#include "util.h"

#define PEM_CRT_BEGIN "-----BEGIN CERTIFICATE-----\n"
#define PEM_CRT_END "-----END CERTIFICATE-----\n"
#define KEY_PEM_MAX 16000	/* room for a PEM key of any type we write */
#define CRT_DER_BASE 4096	/* room for a DER certificate without its SANs */

/* ---- errors ---- */

static int fail(struct pki_err *err, int ret, const char *fmt, ...) K1S_PRINTF(3, 4);
static int fail(struct pki_err *err, int ret, const char *fmt, ...)
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
static const char *tls_strerror(int code)
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
static mbedtls_ctr_drbg_context *rng_get(void)
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
	mbedtls_ctr_drbg_context *d = rng_get();
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
		return fail(err, -E2BIG, "cannot read '%s': larger than %d bytes",
			    path, PKI_FILE_MAX);
	if (ret)
		return fail(err, ret, "cannot read '%s': %s", path, strerror(-ret));
	return 0;
}

/* ---- keys ---- */

int pki_key_generate(mbedtls_pk_context *key, struct pki_err *err)
{
	mbedtls_ctr_drbg_context *d = rng_get();
	int r;

	mbedtls_pk_free(key);
	mbedtls_pk_init(key);
	if (!d)
		return fail(err, -EIO, "cannot seed the random generator");
	r = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (!r)
		r = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key),
					mbedtls_ctr_drbg_random, d);
	if (r)
		return fail(err, -EIO, "cannot generate a key: %s", tls_strerror(r));
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
		return fail(err, -EBADMSG, "cannot parse key '%s': %s", path, tls_strerror(r));
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
		return fail(err, -E2BIG, "public key larger than %d bytes", PKI_FILE_MAX);
	z = xstrndup(pem, len);	/* mbedtls wants the NUL counted for PEM */
	mbedtls_pk_free(key);
	mbedtls_pk_init(key);
	r = mbedtls_pk_parse_public_key(key, (const unsigned char *)z, len + 1);
	free(z);
	if (r)
		return fail(err, -EINVAL, "cannot parse public key: %s", tls_strerror(r));
	if (!mbedtls_pk_can_do(key, MBEDTLS_PK_ECKEY) && !mbedtls_pk_can_do(key, MBEDTLS_PK_RSA)) {
		mbedtls_pk_free(key);
		mbedtls_pk_init(key);
		return fail(err, -EINVAL, "public key: unsupported key type");
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
		return fail(err, ret, "cannot encode key for '%s'", path);
	ret = write_file_atomic(path, pem, len, 0600);
	pki_secret_free(pem, len);
	if (ret)
		return fail(err, ret, "cannot write '%s': %s", path, strerror(-ret));
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
		return fail(err, -EBADMSG, "cannot parse certificate '%s': %s", path,
			    r > 0 ? "a certificate of the bundle is invalid" : tls_strerror(r));
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
		return fail(err, ret, "cannot encode certificate for '%s'", path);
	ret = write_file_atomic(path, pem, len, 0644);
	free(pem);
	if (ret)
		return fail(err, ret, "cannot write '%s': %s", path, strerror(-ret));
	return 0;
}

/* ---- names: subject and issuer lists this file owns ---- */

/*
 * mbedtls writes a name list last element first, so a list built by
 * prepending the RDNs in DER order comes out in DER order.
 */
static void name_prepend(mbedtls_asn1_named_data **list, const char *oid, size_t oid_len,
			 int tag, const void *val, size_t len)
{
	mbedtls_asn1_named_data *n = xcalloc(1, sizeof(*n));

	n->oid.tag = MBEDTLS_ASN1_OID;
	n->oid.p = (unsigned char *)xmalloc(oid_len);
	memcpy(n->oid.p, oid, oid_len);
	n->oid.len = oid_len;
	n->val.tag = tag;
	n->val.p = (unsigned char *)xmalloc(len ? len : 1);
	memcpy(n->val.p, val, len);
	n->val.len = len;
	n->next = *list;
	*list = n;
}

static void names_free(mbedtls_asn1_named_data *n)
{
	while (n) {
		mbedtls_asn1_named_data *next = n->next;

		free(n->oid.p);
		free(n->val.p);
		free(n);
		n = next;
	}
}

static void names_add(mbedtls_asn1_named_data **list, const char *oid, size_t oid_len,
		      const char *s)
{
	name_prepend(list, oid, oid_len, MBEDTLS_ASN1_UTF8_STRING, s, strlen(s));
}

/* The issuer list: a copy of the CA's parsed subject, byte for byte. */
static mbedtls_asn1_named_data *names_copy(const mbedtls_x509_name *src)
{
	mbedtls_asn1_named_data *list = NULL;

	for (; src; src = src->next)
		if (src->oid.p)
			name_prepend(&list, (const char *)src->oid.p, src->oid.len,
				     src->val.tag, src->val.p, src->val.len);
	return list;
}

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= PKI_NAME_LEN_MAX;
}

/* ---- extensions built by hand ---- */

/* DER written backwards (as asn1write does) into a buffer of its own. */
struct der {
	unsigned char *buf;
	size_t cap;
	unsigned char *p;	/* current start (asn1write writes backwards) */
};

static void der_init(struct der *d, size_t cap)
{
	d->buf = xmalloc(cap);
	d->cap = cap;
	d->p = d->buf + cap;
}

static size_t der_len(const struct der *d)
{
	return (size_t)(d->buf + d->cap - d->p);
}

/* Wraps everything written so far in a SEQUENCE. */
static int der_seq(struct der *d)
{
	size_t len = der_len(d);
	int r;

	r = mbedtls_asn1_write_len(&d->p, d->buf, len);
	if (r >= 0)
		r = mbedtls_asn1_write_tag(&d->p, d->buf,
					   MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
	return r < 0 ? r : 0;
}

/* One GeneralName [tag] IMPLICIT with raw contents. */
static int der_general_name(struct der *d, int tag, const void *val, size_t len)
{
	int r = mbedtls_asn1_write_raw_buffer(&d->p, d->buf, val, len);

	if (r >= 0)
		r = mbedtls_asn1_write_len(&d->p, d->buf, len);
	if (r >= 0)
		r = mbedtls_asn1_write_tag(&d->p, d->buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | tag);
	return r < 0 ? r : 0;
}

/* Parses an IPv4 or IPv6 address; *len 4 or 16, or 0 if s is not one. */
static size_t ip_parse(const char *s, unsigned char out[16])
{
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, out) == 1)
		return 16;
	return 0;
}

static int set_san(mbedtls_x509write_cert *w, const struct pki_cert_req *req,
		   struct pki_err *err)
{
	struct der d;
	size_t cap = 32;
	int r = 0;

	if (!req->n_dns && !req->n_ips)
		return 0;
	for (size_t i = 0; i < req->n_dns; i++) {
		if (!name_ok(req->dns[i]))
			return fail(err, -EINVAL, "invalid DNS name '%s'",
				    req->dns[i] ? req->dns[i] : "");
		cap += strlen(req->dns[i]) + 8;
	}
	cap += req->n_ips * 24;
	der_init(&d, cap);
	/* Written backwards: IPs last-to-first, then DNS names, so DNS come first. */
	for (size_t i = req->n_ips; i-- > 0 && !r;) {
		unsigned char ip[16];
		size_t n = ip_parse(req->ips[i], ip);

		if (!n) {
			free(d.buf);
			return fail(err, -EINVAL, "invalid IP address '%s'", req->ips[i]);
		}
		r = der_general_name(&d, 7, ip, n);
	}
	for (size_t i = req->n_dns; i-- > 0 && !r;)
		r = der_general_name(&d, 2, req->dns[i], strlen(req->dns[i]));
	if (!r)
		r = der_seq(&d);
	if (!r)
		r = mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_SUBJECT_ALT_NAME,
				MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, d.p, der_len(&d));
	free(d.buf);
	if (r)
		return fail(err, -EIO, "cannot encode subjectAltName: %s", tls_strerror(r));
	return 0;
}

static int set_eku(mbedtls_x509write_cert *w, unsigned usage, struct pki_err *err)
{
	struct der d;
	int r = 0;

	der_init(&d, 64);
	if (usage & PKI_USAGE_CLIENT)
		r = mbedtls_asn1_write_oid(&d.p, d.buf, MBEDTLS_OID_CLIENT_AUTH,
					   MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH));
	if (r >= 0 && (usage & PKI_USAGE_SERVER))
		r = mbedtls_asn1_write_oid(&d.p, d.buf, MBEDTLS_OID_SERVER_AUTH,
					   MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH));
	r = r < 0 ? r : der_seq(&d);
	if (!r)
		r = mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
				MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, d.p, der_len(&d));
	free(d.buf);
	if (r)
		return fail(err, -EIO, "cannot encode extendedKeyUsage: %s", tls_strerror(r));
	return 0;
}

/* ---- writing certificates ---- */

static void time_str(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* Validity, a random positive 128-bit serial and SHA-256 signatures. */
static int set_common(mbedtls_x509write_cert *w, unsigned days, struct pki_err *err)
{
	unsigned char serial[16];
	char nb[16], na[16];
	int64_t now = (int64_t)time(NULL);
	mbedtls_mpi mpi;
	int r;

	if (pki_random(serial, sizeof(serial)))
		return fail(err, -EIO, "cannot draw a serial number");
	serial[0] = (serial[0] & 0x7f) | 0x40;	/* positive, full length */
	mbedtls_mpi_init(&mpi);
	r = mbedtls_mpi_read_binary(&mpi, serial, sizeof(serial));
	if (!r)
		r = mbedtls_x509write_crt_set_serial(w, &mpi);
	mbedtls_mpi_free(&mpi);
	time_str(now - PKI_BACKDATE_SECS, nb);
	time_str(now + (int64_t)days * 86400, na);
	if (!r)
		r = mbedtls_x509write_crt_set_validity(w, nb, na);
	if (r)
		return fail(err, -EIO, "cannot set serial or validity: %s", tls_strerror(r));
	mbedtls_x509write_crt_set_version(w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(w, MBEDTLS_MD_SHA256);
	return 0;
}

/* Signs w into a buffer of cap bytes, parses the result into *out. */
static int sign_into(mbedtls_x509write_cert *w, size_t cap, mbedtls_x509_crt *out,
		     struct pki_err *err)
{
	mbedtls_ctr_drbg_context *d = rng_get();
	unsigned char *buf = xmalloc(cap);
	int n, r;

	mbedtls_x509_crt_free(out);
	mbedtls_x509_crt_init(out);
	n = d ? mbedtls_x509write_crt_der(w, buf, cap, mbedtls_ctr_drbg_random, d)
	      : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
	if (n < 0) {
		free(buf);
		return fail(err, -EIO, "cannot sign certificate: %s", tls_strerror(n));
	}
	r = mbedtls_x509_crt_parse_der(out, buf + cap - (size_t)n, (size_t)n);
	free(buf);
	if (r)
		return fail(err, -EIO, "cannot read back certificate: %s", tls_strerror(r));
	return 0;
}

int pki_ca_create(mbedtls_x509_crt *crt, mbedtls_pk_context *key, const char *cn,
		  unsigned days, struct pki_err *err)
{
	mbedtls_x509write_cert w;
	mbedtls_asn1_named_data *subject = NULL;
	int r, ret;

	if (!name_ok(cn))
		return fail(err, -EINVAL, "invalid CA common name");
	ret = pki_key_generate(key, err);
	if (ret)
		return ret;
	mbedtls_x509write_crt_init(&w);
	names_add(&subject, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), cn);
	w.subject = subject;
	w.issuer = subject;
	mbedtls_x509write_crt_set_subject_key(&w, key);
	mbedtls_x509write_crt_set_issuer_key(&w, key);
	ret = set_common(&w, days ? days : PKI_CA_DAYS, err);
	if (ret)
		goto out;
	r = mbedtls_x509write_crt_set_basic_constraints(&w, 1, -1);
	if (!r)
		r = mbedtls_x509write_crt_set_key_usage(&w, MBEDTLS_X509_KU_KEY_CERT_SIGN |
				MBEDTLS_X509_KU_CRL_SIGN | MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
	if (!r)
		r = mbedtls_x509write_crt_set_subject_key_identifier(&w);
	if (r) {
		ret = fail(err, -EIO, "cannot set CA extensions: %s", tls_strerror(r));
		goto out;
	}
	ret = sign_into(&w, CRT_DER_BASE, crt, err);
out:
	w.subject = w.issuer = NULL;
	mbedtls_x509write_crt_free(&w);
	names_free(subject);
	return ret;
}

/* Upper bound of the DER bytes req's subject and SANs add. */
static size_t req_names_size(const struct pki_cert_req *req)
{
	size_t n = strlen(req->cn) + 16 + req->n_ips * 24;

	for (size_t i = 0; i < req->n_orgs; i++)
		n += strlen(req->orgs[i]) + 16;
	for (size_t i = 0; i < req->n_dns; i++)
		n += strlen(req->dns[i]) + 8;
	return n;
}

static int check_req(const struct pki_cert_req *req, struct pki_err *err)
{
	if (!name_ok(req->cn))
		return fail(err, -EINVAL, "invalid or missing common name");
	if (req->n_orgs > PKI_NAMES_MAX || req->n_dns > PKI_NAMES_MAX ||
	    req->n_ips > PKI_NAMES_MAX)
		return fail(err, -E2BIG, "more than %d names of one kind", PKI_NAMES_MAX);
	for (size_t i = 0; i < req->n_orgs; i++)
		if (!name_ok(req->orgs[i]))
			return fail(err, -EINVAL, "invalid organization name");
	if (!(req->usage & (PKI_USAGE_SERVER | PKI_USAGE_CLIENT)) ||
	    (req->usage & ~(unsigned)(PKI_USAGE_SERVER | PKI_USAGE_CLIENT)))
		return fail(err, -EINVAL, "invalid certificate usage %#x", req->usage);
	return 0;
}

int pki_cert_issue(mbedtls_x509_crt *out, mbedtls_pk_context *subject_key,
		   const struct pki_cert_req *req, const mbedtls_x509_crt *ca,
		   mbedtls_pk_context *ca_key, struct pki_err *err)
{
	mbedtls_x509write_cert w;
	mbedtls_asn1_named_data *subject = NULL, *issuer = NULL;
	int r, ret;

	ret = check_req(req, err);
	if (ret)
		return ret;
	if (!pki_key_matches(ca, ca_key))
		return fail(err, -EINVAL, "the CA key does not match the CA certificate");
	mbedtls_x509write_crt_init(&w);
	for (size_t i = 0; i < req->n_orgs; i++)	/* DER order: O..., CN (as Go) */
		names_add(&subject, MBEDTLS_OID_AT_ORGANIZATION,
			  MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_ORGANIZATION), req->orgs[i]);
	names_add(&subject, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), req->cn);
	issuer = names_copy(&ca->subject);
	w.subject = subject;
	w.issuer = issuer;
	mbedtls_x509write_crt_set_subject_key(&w, subject_key);
	mbedtls_x509write_crt_set_issuer_key(&w, ca_key);
	ret = set_common(&w, req->days ? req->days : PKI_LEAF_DAYS, err);
	if (ret)
		goto out;
	r = mbedtls_x509write_crt_set_basic_constraints(&w, 0, -1);
	if (!r)
		r = mbedtls_x509write_crt_set_key_usage(&w, MBEDTLS_X509_KU_DIGITAL_SIGNATURE |
							MBEDTLS_X509_KU_KEY_ENCIPHERMENT);
	if (!r)
		r = mbedtls_x509write_crt_set_subject_key_identifier(&w);
	if (!r)
		r = mbedtls_x509write_crt_set_authority_key_identifier(&w);
	if (r) {
		ret = fail(err, -EIO, "cannot set extensions: %s", tls_strerror(r));
		goto out;
	}
	ret = set_eku(&w, req->usage, err);
	if (!ret)
		ret = set_san(&w, req, err);
	if (!ret)
		ret = sign_into(&w, CRT_DER_BASE + req_names_size(req), out, err);
out:
	w.subject = w.issuer = NULL;
	mbedtls_x509write_crt_free(&w);
	names_free(subject);
	names_free(issuer);
	return ret;
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
		return fail(err, -EACCES, "certificate verification failed: %s",
			    tls_strerror(r));
	mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
	for (char *p = info; *p; p++)	/* one line: "a\nb\n" -> "a; b" */
		if (*p == '\n')
			*p = p[1] ? ';' : '\0';
	return fail(err, -EACCES, "certificate verification failed: %s", info);
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
	size_t wl = ip_parse(host, want);
	bool ok = false;

	if (pki_cert_sans(crt, &dns, &ips))
		goto out;
	if (wl) {
		for (size_t i = 0; i < ips.n && !ok; i++)
			ok = ip_parse(ips.v[i], have) == wl && !memcmp(want, have, wl);
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
