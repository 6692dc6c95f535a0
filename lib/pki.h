/*
 * lib/pki.h - X.509 keys and certificates with mbedtls, no Kubernetes policy.
 *
 * What it does: ECDSA P-256 keys, self-signed CA certificates, leaf
 * certificates signed by a CA (subject CN + any number of O values, DNS and
 * IPv4/IPv6 subjectAltNames, key usage and serverAuth/clientAuth extended key
 * usage, random 128-bit serial), PEM files, expiry arithmetic and SHA-256
 * fingerprints (the join token's `K10<sha256>` part).
 *
 * Types: keys and certificates are plain mbedtls objects, so the TLS code
 * hands them to mbedtls_ssl_conf_own_cert()/ca_chain() as they are. The
 * caller owns them: mbedtls_pk_init()/mbedtls_x509_crt_init() before a call
 * that fills them, mbedtls_pk_free()/mbedtls_x509_crt_free() afterwards
 * (mbedtls_pk_free() wipes the key). Functions that fill an object free its
 * previous contents first, so an object can be refilled.
 *
 * Secrets: every buffer that held a private key (PEM text, DER) is wiped with
 * mbedtls_platform_zeroize() before it is freed; pki_secret_free() is the
 * one way to free a key PEM this module handed out.
 *
 * Errors: functions return 0 or -errno (-ENOENT missing file, -EINVAL/-EBADMSG
 * unparseable input, -E2BIG over a limit, -EIO an mbedtls failure) and, when
 * err is not NULL, write one line into err->msg naming the file and the
 * mbedtls reason: "cannot parse key 'ca.key': PK - Invalid key tag or value".
 *
 * Randomness: one CTR-DRBG seeded from the system entropy source on first
 * use (and again after fork()), shared by the process; callers run on one
 * thread (the libuv loop).
 */
#ifndef K1S_LIB_PKI_H
#define K1S_LIB_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#define PKI_ERR_MAX	256		/* bytes of an error message */
#define PKI_FILE_MAX	(256 * 1024)	/* largest PEM file read, in bytes */
#define PKI_NAMES_MAX	128		/* O values, DNS SANs, IP SANs: each */
#define PKI_NAME_LEN_MAX 253		/* one CN, O or DNS name, in bytes */
#define PKI_CA_DAYS	3650		/* default CA validity, in days */
#define PKI_LEAF_DAYS	365		/* default leaf validity, in days */
#define PKI_BACKDATE_SECS 3600		/* notBefore = now - this, for clock skew */
#define PKI_SHA256_HEX_LEN 64		/* hex digits of a SHA-256 (plus NUL: 65) */

struct pki_err {
	char msg[PKI_ERR_MAX];	/* one line, no trailing newline; "" if none */
};

/*
 * Writes the formatted one-line message into err (when not NULL) and
 * returns ret, for `return pki_err_set(err, -EINVAL, "bad '%s'", path);`.
 */
int pki_err_set(struct pki_err *err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Extended key usages of a leaf (bit set). */
enum pki_usage {
	PKI_USAGE_SERVER = 1 << 0,	/* serverAuth */
	PKI_USAGE_CLIENT = 1 << 1,	/* clientAuth */
};

/* What a leaf certificate says. Pointers are borrowed for the call only. */
struct pki_cert_req {
	const char *cn;			/* subject CN; required */
	const char *const *orgs;	/* subject O values, in order */
	size_t n_orgs;
	const char *const *dns;		/* DNS subjectAltNames */
	size_t n_dns;
	const char *const *ips;		/* IP SANs as text: "10.43.0.1", "fd43::1" */
	size_t n_ips;
	unsigned usage;			/* enum pki_usage bits; at least one */
	unsigned days;			/* validity in days; 0 = PKI_LEAF_DAYS */
};

/* A list of strings (SANs read back from a certificate); pki_strv_release(). */
struct pki_strv {
	char **v;
	size_t n;
};
void pki_strv_release(struct pki_strv *sv);

/* ---- keys ---- */

/* Generates a fresh ECDSA P-256 key into *key. 0 or -EIO. */
int pki_key_generate(mbedtls_pk_context *key, struct pki_err *err);
/* Reads a PEM (or DER) private key file; any key type mbedtls parses. */
int pki_key_load(mbedtls_pk_context *key, const char *path, struct pki_err *err);
/* Writes a key as PEM, atomically (tmp + fsync + rename), mode 0600. */
int pki_key_save(mbedtls_pk_context *key, const char *path, struct pki_err *err);
/*
 * The key as PEM text in a malloc'd NUL-terminated buffer (*len without the
 * NUL). The caller frees it with pki_secret_free(). 0 or -EIO.
 */
int pki_key_pem(mbedtls_pk_context *key, char **pem, size_t *len);
/* Wipes len bytes of p and frees it. NULL is fine. */
/* The public half of key as PEM ("-----BEGIN PUBLIC KEY-----"), malloc'd. 0 or -EIO. */
int pki_pubkey_pem(mbedtls_pk_context *key, char **pem);
/* Parses a public key PEM (EC or RSA) into key (refilled). 0 or -EINVAL/-E2BIG. */
int pki_pubkey_parse(mbedtls_pk_context *key, const char *pem, size_t len, struct pki_err *err);
void pki_secret_free(void *p, size_t len);

/* ---- certificates ---- */

/* Reads a PEM (or DER) certificate file; a bundle gives a chain. */
int pki_cert_load(mbedtls_x509_crt *crt, const char *path, struct pki_err *err);
/* Writes the first certificate of crt as PEM, atomically, mode 0644. */
int pki_cert_save(const mbedtls_x509_crt *crt, const char *path, struct pki_err *err);
/* The first certificate of crt as PEM (malloc'd, NUL-terminated). */
int pki_cert_pem(const mbedtls_x509_crt *crt, char **pem, size_t *len);

/*
 * Generates a key and a self-signed CA certificate with subject CN=cn,
 * valid from now - PKI_BACKDATE_SECS for `days` days (0 = PKI_CA_DAYS);
 * basicConstraints CA:TRUE (critical), keyUsage keyCertSign + cRLSign +
 * digitalSignature (critical), subject key identifier.
 */
int pki_ca_create(mbedtls_x509_crt *crt, mbedtls_pk_context *key, const char *cn,
		  unsigned days, struct pki_err *err);

/*
 * Issues a leaf certificate for the public half of subject_key, signed by
 * ca/ca_key: basicConstraints CA:FALSE, keyUsage digitalSignature +
 * keyEncipherment (critical), extendedKeyUsage from req->usage, subject and
 * authority key identifiers, subjectAltName from req->dns and req->ips
 * (omitted when both are empty). -EINVAL for a bad request (no CN, an IP
 * that is not an address, over the PKI_* limits) with err saying which.
 */
int pki_cert_issue(mbedtls_x509_crt *out, mbedtls_pk_context *subject_key,
		   const struct pki_cert_req *req, const mbedtls_x509_crt *ca,
		   mbedtls_pk_context *ca_key, struct pki_err *err);

/*
 * Verifies that crt (its first certificate) chains to ca and is valid now.
 * 0, or -EACCES with err listing mbedtls' verification flags.
 */
int pki_cert_verify(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *ca,
		    struct pki_err *err);
/* True when key is the private half of crt's public key. */
bool pki_key_matches(const mbedtls_x509_crt *crt, mbedtls_pk_context *key);

/* notAfter of crt's first certificate, in Unix seconds (UTC). */
int64_t pki_cert_not_after(const mbedtls_x509_crt *crt);
/* Seconds from now (Unix seconds) until notAfter; negative when expired. */
int64_t pki_cert_seconds_left(const mbedtls_x509_crt *crt, int64_t now);

/*
 * The subjectAltNames of crt read back: DNS names into *dns, IP addresses as
 * canonical text (inet_ntop) into *ips. Either may be NULL. 0 or -EBADMSG.
 */
int pki_cert_sans(const mbedtls_x509_crt *crt, struct pki_strv *dns,
		  struct pki_strv *ips);
/*
 * The CN (the last one if several, as Go reads it; *cn NULL if none,
 * malloc'd) and all O values in order (into *orgs, which may be NULL) of
 * crt's subject. 0, or -EBADMSG for a value with a NUL byte.
 */
int pki_cert_subject(const mbedtls_x509_crt *crt, char **cn, struct pki_strv *orgs);
/*
 * True when crt's subjectAltNames name host: an IP address compared with the
 * IP SANs, anything else with the DNS SANs (case-insensitive, no wildcards).
 * For TLS clients: mbedtls 2.28's own host check knows no IP SANs.
 */
bool pki_cert_matches_host(const mbedtls_x509_crt *crt, const char *host);

/* SHA-256 of crt's DER in lowercase hex; out holds PKI_SHA256_HEX_LEN + 1. */
void pki_cert_sha256_hex(const mbedtls_x509_crt *crt, char *out);
/* SHA-256 of any bytes in lowercase hex; out holds PKI_SHA256_HEX_LEN + 1. */
void pki_sha256_hex(const void *data, size_t len, char *out);

/*
 * Random bytes from the module's DRBG (for serials, tokens, secrets).
 * 0 or -EIO.
 */
int pki_random(void *buf, size_t len);

/*
 * Splits a join token "K10<sha256 hex>::<credential>" (the K10 part may be
 * absent: then the whole token is the credential and *hash is NULL). *hash
 * (PKI_SHA256_HEX_LEN digits, not NUL-terminated) and *cred point into tok.
 * 0, or -EINVAL for a malformed K10 prefix or an empty credential.
 */
int pki_token_split(const char *tok, const char **hash, const char **cred);

#endif
