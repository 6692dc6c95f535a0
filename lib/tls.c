/*
 * lib/tls.c - mbedtls 2.28 behind memory buffers; see tls.h.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "buf.h"
#include "util.h"

struct tls_config {
	int refs;
	bool server;
	bool has_cert, has_ca;
	enum tls_client_auth client_auth;
	int authmode;		/* MBEDTLS_SSL_VERIFY_* */
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_x509_crt ca;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

struct tls_conn {
	struct tls_config *cfg;
	mbedtls_ssl_context ssl;
	struct buf in;		/* ciphertext received, from in_off on */
	size_t in_off;
	struct buf out;		/* ciphertext to send */
	bool done;		/* handshake complete */
	bool failed;
	bool check_ip;		/* client: verify an IP literal ourselves */
	unsigned char ip[16];
	size_t ip_len;
	struct tls_peer peer;
	char err[256];
};

static const char *alpn_list[] = { TLS_ALPN_HTTP11, NULL };

/* Key exchange curves, fastest first (mbedtls' default list starts with
 * P-521, which makes every handshake several times slower). */
static const mbedtls_ecp_group_id curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
	MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE,
};

/* ---- config ---- */

static void set_err(char **err, const char *fmt, ...) K1S_PRINTF(2, 3);
static void set_err(char **err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	*err = xvasprintf(fmt, ap);
	va_end(ap);
}

static void tls_strerror(int rc, char *out, size_t len)
{
	mbedtls_strerror(rc, out, len);
}

/* Loads PEM bytes from pem or file into a NUL-terminated buffer. */
static int load_pem(const char *pem, const char *file, char **data, size_t *len,
		    char **err)
{
	int ret;

	if (pem) {
		*len = strlen(pem);
		if (*len > TLS_MAX_PEM_BYTES) {
			set_err(err, "PEM data too large");
			return -EFBIG;
		}
		*data = xstrndup(pem, *len);
		return 0;
	}
	ret = read_file(file, TLS_MAX_PEM_BYTES, data, len);
	if (ret < 0)
		set_err(err, "cannot read '%s': %s", file, strerror(-ret));
	return ret;
}

static void wipe_free(char *p, size_t len)
{
	if (!p)
		return;
	mbedtls_platform_zeroize(p, len);
	free(p);
}

static int parse_certs(mbedtls_x509_crt *crt, const char *pem, const char *file,
		       const char *what, char **err)
{
	char *data = NULL, msg[128];
	size_t len = 0;
	int ret, rc;

	ret = load_pem(pem, file, &data, &len, err);
	if (ret < 0)
		return ret;
	rc = mbedtls_x509_crt_parse(crt, (const unsigned char *)data, len + 1);
	if (rc != 0) {
		tls_strerror(rc, msg, sizeof(msg));
		set_err(err, "cannot parse %s '%s': %s", what,
			file ? file : "(inline)", msg);
		ret = -EINVAL;
	}
	free(data);
	return ret;
}

static int parse_key(struct tls_config *cfg, const struct tls_config_opts *o,
		     char **err)
{
	char *data = NULL, msg[128];
	size_t len = 0;
	int ret, rc;

	ret = load_pem(o->key_pem, o->key_file, &data, &len, err);
	if (ret < 0)
		return ret;
	rc = mbedtls_pk_parse_key(&cfg->key, (const unsigned char *)data, len + 1,
				  NULL, 0);
	wipe_free(data, len);
	if (rc != 0) {
		tls_strerror(rc, msg, sizeof(msg));
		set_err(err, "cannot parse key '%s': %s",
			o->key_file ? o->key_file : "(inline)", msg);
		return -EINVAL;
	}
	if (mbedtls_pk_check_pair(&cfg->cert.pk, &cfg->key) != 0) {
		set_err(err, "key does not match certificate");
		return -EINVAL;
	}
	return 0;
}

static int config_load(struct tls_config *cfg, const struct tls_config_opts *o,
		       char **err)
{
	bool want_cert = o->cert_pem || o->cert_file;
	bool want_key = o->key_pem || o->key_file;
	int ret;

	if (want_cert != want_key || (o->server && !want_cert)) {
		set_err(err, "a certificate needs a key and a key a certificate");
		return -EINVAL;
	}
	if (want_cert) {
		ret = parse_certs(&cfg->cert, o->cert_pem, o->cert_file,
				  "certificate", err);
		if (ret < 0)
			return ret;
		ret = parse_key(cfg, o, err);
		if (ret < 0)
			return ret;
		cfg->has_cert = true;
	}
	if (o->ca_pem || o->ca_file) {
		ret = parse_certs(&cfg->ca, o->ca_pem, o->ca_file, "CA bundle", err);
		if (ret < 0)
			return ret;
		cfg->has_ca = true;
	}
	if (o->server && o->client_auth != TLS_CLIENT_AUTH_NONE && !cfg->has_ca) {
		set_err(err, "client certificate authentication needs a client CA");
		return -EINVAL;
	}
	if (!o->server && !o->insecure_skip_verify && !cfg->has_ca) {
		set_err(err, "a client needs a CA bundle to verify the server");
		return -EINVAL;
	}
	return 0;
}

static int config_setup(struct tls_config *cfg, const struct tls_config_opts *o,
			char **err)
{
	static const char pers[] = "k1s-tls";
	int authmode, rc;

	rc = mbedtls_ctr_drbg_seed(&cfg->drbg, mbedtls_entropy_func, &cfg->entropy,
				   (const unsigned char *)pers, sizeof(pers) - 1);
	if (rc == 0)
		rc = mbedtls_ssl_config_defaults(&cfg->conf,
			o->server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
			MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0) {
		set_err(err, "cannot set up TLS (mbedtls error -0x%04x)", -rc);
		return -EPROTO;
	}
	mbedtls_ssl_conf_rng(&cfg->conf, mbedtls_ctr_drbg_random, &cfg->drbg);
	mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_renegotiation(&cfg->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	mbedtls_ssl_conf_alpn_protocols(&cfg->conf, alpn_list);
	mbedtls_ssl_conf_curves(&cfg->conf, curves);
	if (o->server) {
		authmode = o->client_auth == TLS_CLIENT_AUTH_REQUIRED ?
			MBEDTLS_SSL_VERIFY_REQUIRED :
			o->client_auth == TLS_CLIENT_AUTH_OPTIONAL ?
			MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_NONE;
	} else {
		authmode = o->insecure_skip_verify ? MBEDTLS_SSL_VERIFY_NONE :
			MBEDTLS_SSL_VERIFY_REQUIRED;
	}
	cfg->authmode = authmode;
	mbedtls_ssl_conf_authmode(&cfg->conf, authmode);
	if (cfg->has_ca)
		mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, NULL);
	if (cfg->has_cert &&
	    mbedtls_ssl_conf_own_cert(&cfg->conf, &cfg->cert, &cfg->key) != 0) {
		set_err(err, "cannot use certificate");
		return -EINVAL;
	}
	return 0;
}

int tls_config_new(const struct tls_config_opts *opts, struct tls_config **out,
		   char **err)
{
	struct tls_config *cfg = xcalloc(1, sizeof(*cfg));
	int ret;

	cfg->refs = 1;
	cfg->server = opts->server;
	cfg->client_auth = opts->server ? opts->client_auth : TLS_CLIENT_AUTH_NONE;
	mbedtls_ssl_config_init(&cfg->conf);
	mbedtls_x509_crt_init(&cfg->cert);
	mbedtls_x509_crt_init(&cfg->ca);
	mbedtls_pk_init(&cfg->key);
	mbedtls_entropy_init(&cfg->entropy);
	mbedtls_ctr_drbg_init(&cfg->drbg);
	if ((unsigned)opts->client_auth > TLS_CLIENT_AUTH_REQUIRED) {
		set_err(err, "unknown client auth mode %d", opts->client_auth);
		ret = -EINVAL;
		goto out;
	}
	ret = config_load(cfg, opts, err);
	if (ret == 0)
		ret = config_setup(cfg, opts, err);
out:
	if (ret < 0) {
		tls_config_unref(cfg);
		cfg = NULL;
	}
	*out = cfg;
	return ret;
}

struct tls_config *tls_config_ref(struct tls_config *cfg)
{
	cfg->refs++;
	return cfg;
}

void tls_config_unref(struct tls_config *cfg)
{
	if (!cfg || --cfg->refs > 0)
		return;
	mbedtls_ssl_config_free(&cfg->conf);
	mbedtls_x509_crt_free(&cfg->cert);
	mbedtls_x509_crt_free(&cfg->ca);
	mbedtls_pk_free(&cfg->key);	/* zeroizes the key */
	mbedtls_ctr_drbg_free(&cfg->drbg);
	mbedtls_entropy_free(&cfg->entropy);
	mbedtls_platform_zeroize(cfg, sizeof(*cfg));
	free(cfg);
}

bool tls_config_is_server(const struct tls_config *cfg)
{
	return cfg->server;
}

/* ---- connection ---- */

static int bio_send(void *ctx, const unsigned char *data, size_t len)
{
	struct tls_conn *c = ctx;

	buf_add(&c->out, data, len);
	return (int)len;
}

static int bio_recv(void *ctx, unsigned char *data, size_t len)
{
	struct tls_conn *c = ctx;
	size_t avail = c->in.len - c->in_off;

	if (avail == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (len > avail)
		len = avail;
	memcpy(data, c->in.data + c->in_off, len);
	c->in_off += len;
	if (c->in_off == c->in.len) {
		if (c->in.cap > 16 * 1024)
			buf_release(&c->in);
		else
			buf_reset(&c->in);
		c->in_off = 0;
	}
	return (int)len;
}

int tls_conn_new(struct tls_config *cfg, const char *server_name,
		 struct tls_conn **out)
{
	struct tls_conn *c = xcalloc(1, sizeof(*c));
	int ret = 0;

	c->cfg = tls_config_ref(cfg);
	mbedtls_ssl_init(&c->ssl);
	if (mbedtls_ssl_setup(&c->ssl, &cfg->conf) != 0) {
		ret = -ENOMEM;
		goto out;
	}
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	if (!cfg->server && server_name && *server_name) {
		if (inet_pton(AF_INET, server_name, c->ip) == 1) {
			c->ip_len = 4;
		} else if (inet_pton(AF_INET6, server_name, c->ip) == 1) {
			c->ip_len = 16;
		} else if (mbedtls_ssl_set_hostname(&c->ssl, server_name) != 0) {
			ret = -EINVAL;
			goto out;
		}
		c->check_ip = c->ip_len && cfg->has_ca &&
			cfg->authmode == MBEDTLS_SSL_VERIFY_REQUIRED;
	}
out:
	if (ret < 0) {
		tls_conn_free(c);
		c = NULL;
	}
	*out = c;
	return ret;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	mbedtls_ssl_free(&c->ssl);	/* zeroizes session keys */
	tls_peer_release(&c->peer);
	if (c->in.data)
		mbedtls_platform_zeroize(c->in.data, c->in.cap);
	buf_release(&c->in);
	buf_release(&c->out);
	tls_config_unref(c->cfg);
	free(c);
}

void tls_conn_feed(struct tls_conn *c, const void *data, size_t len)
{
	if (c->in_off > 0 && c->in_off >= c->in.len / 2) {
		buf_consume(&c->in, c->in_off);
		c->in_off = 0;
	}
	buf_add(&c->in, data, len);
}

/* Walks the raw v3 extensions for iPAddress SANs and compares them with c->ip. */
static bool san_has_ip(const mbedtls_x509_crt *crt, const unsigned char *ip,
		       size_t ip_len)
{
	unsigned char *p = crt->v3_ext.p, *end = p + crt->v3_ext.len;
	unsigned char *ext_end, *seq_end;
	mbedtls_x509_buf oid;
	size_t len;
	int crit;

	if (!p || crt->v3_ext.len == 0)
		return false;
	if (*p == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 3) &&
	    mbedtls_asn1_get_tag(&p, end, &len, *p) != 0)
		return false;
	if (mbedtls_asn1_get_tag(&p, end, &len,
				 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return false;
	end = p + len;
	while (p < end) {
		if (mbedtls_asn1_get_tag(&p, end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return false;
		ext_end = p + len;
		if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID))
			return false;
		oid.p = p;
		p += oid.len;
		mbedtls_asn1_get_bool(&p, ext_end, &crit);
		if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING))
			return false;
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid) != 0) {
			p = ext_end;
			continue;
		}
		if (mbedtls_asn1_get_tag(&p, ext_end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return false;
		seq_end = p + len;
		while (p < seq_end) {
			unsigned char tag = *p++;

			if (mbedtls_asn1_get_len(&p, seq_end, &len))
				return false;
			if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) &&
			    len == ip_len && !memcmp(p, ip, len))
				return true;
			p += len;
		}
		p = ext_end;
	}
	return false;
}

static char *name_value(const mbedtls_x509_name *n)
{
	if (n->val.len > TLS_MAX_NAME_BYTES || memchr(n->val.p, 0, n->val.len))
		return NULL;
	return xstrndup((const char *)n->val.p, n->val.len);
}

/* Fills c->peer from the peer certificate. -EACCES on an unusable subject. */
static int peer_fill(struct tls_conn *c)
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&c->ssl);
	const mbedtls_x509_name *n;
	uint32_t flags;
	char *v;

	if (!crt)
		return 0;
	c->peer.has_cert = true;
	flags = mbedtls_ssl_get_verify_result(&c->ssl);
	c->peer.verified = c->cfg->has_ca && flags == 0 &&
		c->cfg->authmode != MBEDTLS_SSL_VERIFY_NONE;
	for (n = &crt->subject; n; n = n->next) {
		bool cn = !MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid);
		bool org = !MBEDTLS_OID_CMP(MBEDTLS_OID_AT_ORGANIZATION, &n->oid);

		if (!cn && !org)
			continue;
		if (org && c->peer.n_orgs == TLS_MAX_PEER_ORGS)
			goto bad;
		v = name_value(n);
		if (!v)
			goto bad;
		if (cn) {
			free(c->peer.cn);
			c->peer.cn = v;
		} else {
			c->peer.orgs[c->peer.n_orgs++] = v;
		}
	}
	if (c->check_ip && !san_has_ip(crt, c->ip, c->ip_len)) {
		snprintf(c->err, sizeof(c->err),
			 "certificate is not valid for the IP address connected to");
		return -EACCES;
	}
	return 0;
bad:
	snprintf(c->err, sizeof(c->err), "peer certificate subject unusable");
	return -EACCES;
}

static int map_error(struct tls_conn *c, int rc)
{
	char msg[160], info[160] = "";
	uint32_t flags;

	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return -EAGAIN;
	c->failed = true;
	tls_strerror(rc, msg, sizeof(msg));
	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		flags = mbedtls_ssl_get_verify_result(&c->ssl);
		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		info[strcspn(info, "\n")] = '\0';
		snprintf(c->err, sizeof(c->err), "certificate verify failed: %s", info);
		return -EACCES;
	}
	snprintf(c->err, sizeof(c->err), "%s", msg);
	return -EPROTO;
}

int tls_conn_handshake(struct tls_conn *c)
{
	int rc, ret;

	if (c->done)
		return 0;
	if (c->failed)
		return -EPROTO;
	rc = mbedtls_ssl_handshake(&c->ssl);
	if (rc != 0)
		return map_error(c, rc);
	ret = peer_fill(c);
	if (ret < 0) {
		c->failed = true;
		mbedtls_ssl_send_alert_message(&c->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
					       MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
		return ret;
	}
	c->done = true;
	return 0;
}

bool tls_conn_handshake_done(const struct tls_conn *c)
{
	return c->done;
}

ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t len)
{
	int rc;

	if (!c->done) {
		rc = tls_conn_handshake(c);
		if (rc < 0)
			return rc;
	}
	rc = mbedtls_ssl_read(&c->ssl, buf, len);
	if (rc > 0)
		return rc;
	if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	return map_error(c, rc);
}

int tls_conn_write(struct tls_conn *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	int rc;

	if (!c->done || c->failed)
		return -ENOTCONN;
	while (len > 0) {
		rc = mbedtls_ssl_write(&c->ssl, p, len);
		if (rc < 0) {
			map_error(c, rc);
			return -EPROTO;
		}
		p += rc;
		len -= (size_t)rc;
	}
	return 0;
}

int tls_conn_close_notify(struct tls_conn *c)
{
	if (!c->done || c->failed)
		return -ENOTCONN;
	return mbedtls_ssl_close_notify(&c->ssl) == 0 ? 0 : -EPROTO;
}

size_t tls_conn_output_len(const struct tls_conn *c)
{
	return c->out.len;
}

void tls_conn_take_output(struct tls_conn *c, struct buf *out)
{
	if (!c->out.len)
		return;
	if (!out->len) {
		struct buf tmp = *out;

		*out = c->out;
		c->out = tmp;
		buf_reset(&c->out);
		return;
	}
	buf_add(out, c->out.data, c->out.len);
	buf_reset(&c->out);
}

const struct tls_peer *tls_conn_peer(const struct tls_conn *c)
{
	return &c->peer;
}

const char *tls_conn_alpn(const struct tls_conn *c)
{
	return c->done ? mbedtls_ssl_get_alpn_protocol(&c->ssl) : NULL;
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c->err;
}

void tls_peer_release(struct tls_peer *p)
{
	free(p->cn);
	for (size_t i = 0; i < p->n_orgs; i++)
		free(p->orgs[i]);
	memset(p, 0, sizeof(*p));
}

void tls_peer_copy(struct tls_peer *dst, const struct tls_peer *src)
{
	*dst = *src;
	dst->cn = src->cn ? xstrdup(src->cn) : NULL;
	for (size_t i = 0; i < src->n_orgs; i++)
		dst->orgs[i] = xstrdup(src->orgs[i]);
}
