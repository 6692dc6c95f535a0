/*
 * server/pki.h - the server's certificates: what exists, where, and when it
 * is (re)made. Internal header of the server module.
 *
 * Files, under <data-dir>/server/tls (directory mode 0700, keys 0600,
 * certificates 0644), named as k3s names them:
 *
 *   server-ca.{crt,key}               signs serving certificates
 *   client-ca.{crt,key}               signs client certificates; the API
 *                                     server trusts client certs it signed
 *   serving-kube-apiserver.{crt,key}  HTTPS on :6443, signed by server-ca;
 *                                     SANs below
 *   client-admin.{crt,key}            CN=system:admin, O=system:masters
 *                                     (the admin kubeconfig), by client-ca
 *   client-kube-apiserver.{crt,key}   CN=kube-apiserver, the API server's
 *                                     client identity towards kubelets
 *
 * Policy of server_pki_ensure():
 * - A missing CA (both files absent) is created (10 years). A CA is never
 *   replaced silently: one file of the pair missing, unparseable, or a key
 *   that doesn't match the certificate is an error naming the file. A CA
 *   that expires within the renewal window only gets a warning in the log.
 * - A leaf is (re)issued, with a fresh key, when either of its files is
 *   missing, when it expires within renew_days, when it no longer verifies
 *   against its CA (the CA was replaced by hand), when its key doesn't match,
 *   or - for the serving certificate - when the wanted SAN set differs from
 *   the certificate's. A leaf file that exists but doesn't parse is an error
 *   (it says to delete the file to have it regenerated): k1s doesn't paper
 *   over a damaged data dir.
 * - Serving SANs: hostname, "localhost", 127.0.0.1, ::1, every node address,
 *   the first service IPs (10.43.0.1, fd43::1 by default), kubernetes,
 *   kubernetes.default, kubernetes.default.svc,
 *   kubernetes.default.svc.cluster.local and every --tls-san. Node addresses
 *   and --tls-san values are sorted into IP or DNS SANs by whether they
 *   parse as an address; duplicates are dropped.
 *
 * Adding a certificate: add an enum value and a row to the table in
 * server/pki.c (file stem, signing CA, CN, O, usage, SAN policy).
 */
#ifndef K1S_SERVER_PKI_H
#define K1S_SERVER_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/pki.h"

#define SERVER_PKI_RENEW_DAYS 90	/* renew a leaf this close to expiry, days */

enum server_pki_id {
	SERVER_PKI_SERVER_CA,
	SERVER_PKI_CLIENT_CA,
	SERVER_PKI_SERVING,		/* serving-kube-apiserver */
	SERVER_PKI_ADMIN,		/* client-admin */
	SERVER_PKI_APISERVER_CLIENT,	/* client-kube-apiserver */
	SERVER_PKI_N
};

struct server_pki_opts {
	const char *data_dir;		/* required; files go in <data_dir>/server/tls */
	const char *hostname;		/* NULL = gethostname() */
	const char *const *node_addrs;	/* node IPs (or names) */
	size_t n_node_addrs;
	const char *const *service_ips;	/* first service IPs; NULL = 10.43.0.1, fd43::1 */
	size_t n_service_ips;
	const char *const *tls_sans;	/* --tls-san values, IP or DNS */
	size_t n_tls_sans;
	unsigned leaf_days;		/* leaf validity; 0 = PKI_LEAF_DAYS (tests shorten it) */
	unsigned renew_days;		/* 0 = SERVER_PKI_RENEW_DAYS */
};

struct server_pki_pair {
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	char *crt_path;			/* absolute paths, owned */
	char *key_path;
	bool created;			/* made (or remade) by the last ensure */
};

struct server_pki {
	char *dir;			/* <data_dir>/server/tls, owned */
	struct server_pki_pair pair[SERVER_PKI_N];
};

/*
 * Loads, creates or renews every certificate as described above and keeps
 * them (keys included: the CAs sign node certificates later) in *p, which
 * must be zeroed (`struct server_pki p = { 0 }`) or released before, and
 * which the caller releases with server_pki_release() - also after a failure.
 * Logs one line per file created or renewed. 0 or -errno with err set.
 */
int server_pki_ensure(struct server_pki *p, const struct server_pki_opts *o,
		      struct pki_err *err);
/* Frees everything *p holds; keys are wiped. *p can be ensured again. */
void server_pki_release(struct server_pki *p);

/*
 * The SAN set the serving certificate must carry for o, split into DNS
 * names and IPs (canonical text), sorted and deduplicated. Used by ensure;
 * public for tests and for `k1s server --help` docs.
 */
int server_pki_serving_sans(const struct server_pki_opts *o, struct pki_strv *dns,
			    struct pki_strv *ips);

/* SHA-256 (hex) of the server CA's DER: the `K10<hash>` of join tokens. */
void server_pki_ca_hash(const struct server_pki *p, char out[PKI_SHA256_HEX_LEN + 1]);

#endif
