/*
 * lib/tls.h - TLS 1.2 for k1s: mbedtls driven entirely through memory buffers.
 *
 * A tls_conn is a pure state machine with no socket: the owner feeds it the
 * bytes it read from the network (tls_conn_feed), pulls plaintext out
 * (tls_conn_read), pushes plaintext in (tls_conn_write) and sends whatever
 * ciphertext tls_conn_take_output() hands back. lib/http glues it to libuv
 * streams; tests can pair two tls_conns in memory.
 *
 * Invariants and policy:
 *  - TLS 1.2 is the minimum (mbedtls 2.28 has no usable 1.3, so it is also
 *    the maximum). Renegotiation is refused.
 *  - ALPN: only "http/1.1" is offered/accepted, so Go clients never try h2.
 *  - A tls_config is immutable once built and shared by many tls_conns; it is
 *    reference counted (tls_config_ref/unref) so a server can swap configs
 *    while old connections still use the previous one.
 *  - All private-key material (parsed keys, PEM buffers read from disk) is
 *    wiped with mbedtls_platform_zeroize before it is freed.
 *  - Peer identity (tls_peer) is filled after a successful handshake. On a
 *    server, `verified` is true only when the client presented a certificate
 *    that chains to the configured client CA; Kubernetes then maps
 *    CN -> user name and each O -> group.
 *  - A client verifies the server against the CA bundle and the host name
 *    given to tls_conn_new(). IP literals are checked against the
 *    certificate's iPAddress SANs (mbedtls 2.28 itself only checks DNS names).
 *
 * Errors: functions return 0 / -errno. TLS failures map to -EPROTO (protocol
 * or handshake failure), -EACCES (peer certificate rejected), -EAGAIN (need
 * more input); tls_conn_error() gives the text of the last failure.
 */
#ifndef K1S_LIB_TLS_H
#define K1S_LIB_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;

/* Largest PEM file (cert chain, key, CA bundle) read from disk, in bytes. */
#define TLS_MAX_PEM_BYTES (1024 * 1024)
/* At most this many O (organization) values are taken from a peer subject. */
#define TLS_MAX_PEER_ORGS 32
/* Largest single CN or O value kept, in bytes; longer ones reject the peer. */
#define TLS_MAX_NAME_BYTES 1024
/* The one ALPN protocol offered and accepted. */
#define TLS_ALPN_HTTP11 "http/1.1"

enum tls_client_auth {
	TLS_CLIENT_AUTH_NONE = 0,	/* server does not ask for a certificate */
	TLS_CLIENT_AUTH_OPTIONAL,	/* asks; a missing/unverified cert is allowed */
	TLS_CLIENT_AUTH_REQUIRED,	/* handshake fails without a verified cert */
};

/*
 * What a tls_config is built from. Each of cert/key/CA may be given as a file
 * path or as NUL-terminated PEM bytes (the *_pem member wins when both are
 * set). The strings are copied; the caller keeps ownership of them.
 */
struct tls_config_opts {
	bool server;			/* true: server side; false: client side */
	const char *cert_file;		/* PEM certificate chain, leaf first */
	const char *cert_pem;
	const char *key_file;		/* PEM private key of the leaf */
	const char *key_pem;
	const char *ca_file;		/* PEM CA bundle used to verify the peer */
	const char *ca_pem;
	/* server only: whether and how client certificates are requested */
	enum tls_client_auth client_auth;
	/* client only: skip server verification (tests, --insecure) */
	bool insecure_skip_verify;
};

struct tls_config;

/*
 * Builds a config. On success *out holds one reference. On failure returns
 * -errno (-ENOENT unreadable file, -EINVAL bad PEM/key mismatch, -EFBIG file
 * over TLS_MAX_PEM_BYTES) and, when err is not NULL, *err is a malloc'd
 * message for the user ("cannot parse key 'x.key': ...").
 * A server config needs a cert and key; a client config needs a CA unless
 * insecure_skip_verify; a client cert/key pair is optional.
 */
int tls_config_new(const struct tls_config_opts *opts, struct tls_config **out,
		   char **err);
struct tls_config *tls_config_ref(struct tls_config *cfg);
/* Drops a reference; the last one frees and wipes the key. NULL is a no-op. */
void tls_config_unref(struct tls_config *cfg);
bool tls_config_is_server(const struct tls_config *cfg);

/* The authenticated identity of the peer, valid after the handshake. */
struct tls_peer {
	bool has_cert;			/* peer presented a certificate */
	bool verified;			/* ... and it chains to the configured CA */
	char *cn;			/* subject CommonName, or NULL */
	char *orgs[TLS_MAX_PEER_ORGS];	/* subject O values in order */
	size_t n_orgs;
};

struct tls_conn;

/*
 * Creates one connection's state. server_name is used on the client side for
 * SNI and verification (a DNS name or an IPv4/IPv6 literal, no brackets); it
 * is ignored on a server and may be NULL with insecure_skip_verify. Holds a
 * reference to cfg until tls_conn_free(). Can't fail except -EINVAL (bad
 * name) or -ENOMEM from mbedtls setup.
 */
int tls_conn_new(struct tls_config *cfg, const char *server_name,
		 struct tls_conn **out);
/* Frees the connection, wiping session keys. NULL is a no-op. */
void tls_conn_free(struct tls_conn *c);

/* Appends ciphertext received from the network. Can't fail. */
void tls_conn_feed(struct tls_conn *c, const void *data, size_t len);
/*
 * Advances the handshake. 0 when complete (also on later calls), -EAGAIN
 * when more input is needed (send tls_conn_take_output() first), -EPROTO or
 * -EACCES on failure (the alert to send is in the output).
 */
int tls_conn_handshake(struct tls_conn *c);
bool tls_conn_handshake_done(const struct tls_conn *c);
/*
 * Decrypts into buf. Returns bytes (> 0), 0 when the peer sent close_notify,
 * -EAGAIN when no complete record is buffered, -EPROTO on a bad record.
 * Runs the handshake first if it is not done.
 */
ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t len);
/*
 * Encrypts all of data into the output queue (split into records as needed).
 * Only after the handshake. 0, or -EPROTO / -ENOTCONN.
 */
int tls_conn_write(struct tls_conn *c, const void *data, size_t len);
/* Queues a close_notify alert. */
int tls_conn_close_notify(struct tls_conn *c);
/* Ciphertext waiting to be sent, in bytes. */
size_t tls_conn_output_len(const struct tls_conn *c);
/*
 * Moves all pending ciphertext into out (appending; out's old contents are
 * kept). The tls_conn's queue is empty afterwards.
 */
void tls_conn_take_output(struct tls_conn *c, struct buf *out);
/* The peer identity (zeroed before the handshake completes). Never NULL. */
const struct tls_peer *tls_conn_peer(const struct tls_conn *c);
/* The negotiated ALPN protocol, or NULL if the peer sent none. */
const char *tls_conn_alpn(const struct tls_conn *c);
/* Text of the last failure ("certificate verify failed: ..."), or "". */
const char *tls_conn_error(const struct tls_conn *c);

/* Frees the strings of a peer (not the struct) and zeroes it. */
void tls_peer_release(struct tls_peer *p);
/* Deep copy of src into dst (dst is overwritten, not released). */
void tls_peer_copy(struct tls_peer *dst, const struct tls_peer *src);

#endif
