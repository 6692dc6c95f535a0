/*
 * lib/pki_issue.c - writing certificates: self-signed CAs and leaves signed
 * by a CA (lib/pki.h: pki_ca_create, pki_cert_issue).
 *
 * mbedtls 2.28's certificate writer has no API for several-valued subjects
 * (its string parser keeps one value per attribute), IP subjectAltNames or
 * extended key usage, so this file builds those pieces itself: the subject
 * and issuer as mbedtls_asn1_named_data lists it owns, and the
 * subjectAltName and extendedKeyUsage extensions as DER with asn1write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "pki.h"
#include "pki_priv.h"
#include "util.h"

#define CRT_DER_BASE 4096	/* room for a DER certificate without its SANs */

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
			return pki_err_set(err, -EINVAL, "invalid DNS name '%s'",
				    req->dns[i] ? req->dns[i] : "");
		cap += strlen(req->dns[i]) + 8;
	}
	cap += req->n_ips * 24;
	der_init(&d, cap);
	/* Written backwards: IPs last-to-first, then DNS names, so DNS come first. */
	for (size_t i = req->n_ips; i-- > 0 && !r;) {
		unsigned char ip[16];
		size_t n = pki__ip_parse(req->ips[i], ip);

		if (!n) {
			free(d.buf);
			return pki_err_set(err, -EINVAL, "invalid IP address '%s'", req->ips[i]);
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
		return pki_err_set(err, -EIO, "cannot encode subjectAltName: %s", pki__strerror(r));
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
		return pki_err_set(err, -EIO, "cannot encode extendedKeyUsage: %s", pki__strerror(r));
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
		return pki_err_set(err, -EIO, "cannot draw a serial number");
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
		return pki_err_set(err, -EIO, "cannot set serial or validity: %s", pki__strerror(r));
	mbedtls_x509write_crt_set_version(w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(w, MBEDTLS_MD_SHA256);
	return 0;
}

/* Signs w into a buffer of cap bytes, parses the result into *out. */
static int sign_into(mbedtls_x509write_cert *w, size_t cap, mbedtls_x509_crt *out,
		     struct pki_err *err)
{
	mbedtls_ctr_drbg_context *d = pki__rng();
	unsigned char *buf = xmalloc(cap);
	int n, r;

	mbedtls_x509_crt_free(out);
	mbedtls_x509_crt_init(out);
	n = d ? mbedtls_x509write_crt_der(w, buf, cap, mbedtls_ctr_drbg_random, d)
	      : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
	if (n < 0) {
		free(buf);
		return pki_err_set(err, -EIO, "cannot sign certificate: %s", pki__strerror(n));
	}
	r = mbedtls_x509_crt_parse_der(out, buf + cap - (size_t)n, (size_t)n);
	free(buf);
	if (r)
		return pki_err_set(err, -EIO, "cannot read back certificate: %s", pki__strerror(r));
	return 0;
}

int pki_ca_create(mbedtls_x509_crt *crt, mbedtls_pk_context *key, const char *cn,
		  unsigned days, struct pki_err *err)
{
	mbedtls_x509write_cert w;
	mbedtls_asn1_named_data *subject = NULL;
	int r, ret;

	if (!name_ok(cn))
		return pki_err_set(err, -EINVAL, "invalid CA common name");
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
		ret = pki_err_set(err, -EIO, "cannot set CA extensions: %s", pki__strerror(r));
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
		return pki_err_set(err, -EINVAL, "invalid or missing common name");
	if (req->n_orgs > PKI_NAMES_MAX || req->n_dns > PKI_NAMES_MAX ||
	    req->n_ips > PKI_NAMES_MAX)
		return pki_err_set(err, -E2BIG, "more than %d names of one kind", PKI_NAMES_MAX);
	for (size_t i = 0; i < req->n_orgs; i++)
		if (!name_ok(req->orgs[i]))
			return pki_err_set(err, -EINVAL, "invalid organization name");
	if (!(req->usage & (PKI_USAGE_SERVER | PKI_USAGE_CLIENT)) ||
	    (req->usage & ~(unsigned)(PKI_USAGE_SERVER | PKI_USAGE_CLIENT)))
		return pki_err_set(err, -EINVAL, "invalid certificate usage %#x", req->usage);
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
		return pki_err_set(err, -EINVAL, "the CA key does not match the CA certificate");
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
		ret = pki_err_set(err, -EIO, "cannot set extensions: %s", pki__strerror(r));
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

