/*
 * lib/http.h - HTTP/1.1 server and client on libuv, plain or TLS (lib/tls.h).
 *
 * Parsing is http-parser's; this layer adds connection management, limits,
 * keep-alive, pipelining, chunked streaming with backpressure, and protocol
 * upgrade (101) to a raw byte tunnel for WebSocket/SPDY.
 *
 * ---- Server model -------------------------------------------------------
 * One http_server owns its listeners and connections. A connection handles
 * one request at a time: pipelined requests are parsed only after the current
 * one is answered, so responses always go out in order. The handler is called
 * once the whole request (headers and body) has arrived.
 *
 * Request lifetime (the rule every handler follows):
 *   Every request handed to the handler MUST be answered exactly once, by one
 *   of http_respond(), http_respond_error(), http_stream_end() (after
 *   http_stream_start()) or http_upgrade(). That call releases the handler's
 *   hold; afterwards the handler must not touch req (unless it took an extra
 *   reference with http_request_ref()). A handler may answer synchronously or
 *   later (e.g. after a store commit) from any callback on the same loop.
 *   If the client goes away first, the request is detached at once
 *   (http_request_alive() turns false, answering functions become no-ops
 *   returning -EPIPE) and, on a later loop phase (never nested inside an
 *   answering call), the cancel callback (http_request_on_cancel) runs, if
 *   one is set. The request memory stays valid and the handler must STILL
 *   answer it (or end the stream) to free it. So an asynchronous handler
 *   never sees freed memory, and a watch stops producing when its cancel
 *   callback runs (or as soon as a write returns -EPIPE/-ENOBUFS).
 *
 * Protocol-level errors (malformed request or bad %-escape in the path -> 400,
 * header too large or too many headers -> 431, body too large -> 413 (from
 * Content-Length before the body is read, or while a chunked body grows),
 * bad chunked encoding or unsupported Transfer-Encoding -> 400, an Expect
 * other than 100-continue -> 417) are answered by the layer itself, never
 * reach the handler, and close the connection (after lingering briefly so
 * the client reads the answer). Expect: 100-continue is answered with an
 * interim "100 Continue" automatically. Their body comes from the server's
 * error_body callback (the API server makes it a Kubernetes Status JSON);
 * handlers produce the same format with http_respond_error().
 *
 * Streaming (watch): http_stream_start() sends the head with
 * Transfer-Encoding: chunked (HTTP/1.0 peers get an unframed body ended by
 * close). Each http_stream_write() is one chunk handed to the socket at once
 * (TCP_NODELAY; one TLS record batch per write), so every event reaches the
 * client promptly without any explicit flush; batch several events into one
 * write yourself if you want fewer packets. http_stream_queued() reports the
 * bytes accepted but not yet written to the kernel; on_drain fires when that
 * returns to 0. If it exceeds the server's max_write_queued bound (the client
 * is not reading), the connection is closed, the request cancelled, and
 * writes return -ENOBUFS/-EPIPE: memory per connection stays bounded. Such a
 * stuck peer (and one whose writes stall for write_timeout_ms) is closed
 * with a TCP reset so the kernel drops what it still buffers for it too.
 *
 * ---- Client model -------------------------------------------------------
 * One http_client holds TLS settings, a bearer token and a pool of idle
 * keep-alive connections per host:port. http_call_start() starts one request;
 * exactly one terminal callback (on_complete) runs for it unless it is
 * cancelled with http_call_cancel(), after which no callback runs.
 * With on_body set the call streams: on_headers, then on_body for each piece
 * of body as it arrives (chunk framing removed), then on_complete.
 * A host name is resolved with getaddrinfo and its addresses are tried in
 * order. A request on a pooled connection that the server closed meanwhile
 * is retried once on a new connection if its method is idempotent.
 *
 * All functions must be called on the loop's thread. Memory: strings passed
 * in are copied unless documented otherwise; pointers handed to callbacks are
 * valid only during the callback unless documented otherwise.
 */
#ifndef K1S_LIB_HTTP_H
#define K1S_LIB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "tls.h"

/* ---- limits (server defaults; struct http_server_opts overrides) ---- */

/* Request line + headers, in bytes; larger -> 431 and close. */
#define HTTP_MAX_HEADER_BYTES (64 * 1024)
/* Number of header fields in one request/response; more -> 431. */
#define HTTP_MAX_HEADERS 128
/* Request body, in bytes (kube-apiserver's 3 MiB); larger -> 413 and close. */
#define HTTP_MAX_BODY_BYTES (3 * 1024 * 1024)
/* From accept (or end of the previous response) to complete headers, in ms;
 * a client trickling its headers (slowloris) is closed after this. */
#define HTTP_HEADER_TIMEOUT_MS 10000
/* From complete headers to complete body, in ms. */
#define HTTP_BODY_TIMEOUT_MS 60000
/* Idle keep-alive connection with no request in progress, in ms. */
#define HTTP_IDLE_TIMEOUT_MS 90000
/* Queued output making no progress at all for this long closes, in ms. */
#define HTTP_WRITE_TIMEOUT_MS 60000
/* Open connections per server; further ones are accepted and closed. */
#define HTTP_MAX_CONNS 4096
/* Bytes queued to one connection before it is deemed stuck and closed. */
#define HTTP_MAX_WRITE_QUEUED (16 * 1024 * 1024)
/* Listening addresses per server. */
#define HTTP_MAX_LISTENERS 8
/* Response body kept by a (non-streaming) client call, in bytes. */
#define HTTP_CLIENT_MAX_BODY_BYTES (64 * 1024 * 1024)
/* Idle pooled connections kept per host:port by a client. */
#define HTTP_CLIENT_MAX_IDLE 8
/* Client connect (TCP + TLS handshake) timeout, in ms. */
#define HTTP_CLIENT_CONNECT_TIMEOUT_MS 10000

/* One header field. Names compare case-insensitively everywhere. */
struct http_header {
	const char *name;
	const char *value;
};

/* Reason phrase of a status code ("Not Found"); "Unknown" if unknown. */
const char *http_status_text(int status);

/*
 * Query-string helpers. query is the raw query (no '?'), may be NULL.
 * http_query_get() returns in *out (malloc'd, caller frees) the nth
 * (0-based) percent-decoded value of parameter name ('+' is a space), or
 * -ENOENT. A bare "name" has value "". -EINVAL on a bad %-escape.
 */
int http_query_get(const char *query, const char *name, size_t nth, char **out);
/* How many times name occurs in query. */
size_t http_query_count(const char *query, const char *name);
/* Percent-decodes s[0..len) into a new string; -EINVAL on a bad escape or
 * an encoded NUL. plus_is_space selects form (query) decoding. */
int http_url_decode(const char *s, size_t len, bool plus_is_space, char **out);
/* Appends s percent-encoded for use in a path segment or query value. */
void http_url_encode(struct buf *b, const char *s);

/* ==== server ========================================================== */

struct http_server;
struct http_request;

/*
 * The request as the handler sees it. All members are read-only for the
 * handler and owned by the request.
 */
struct http_request {
	const char *method;		/* "GET", "POST", ... (static string) */
	char *url;			/* raw request-target as sent ("/a?b") */
	char *path;			/* percent-decoded path ("/api/v1/pods") */
	char *raw_path;			/* path as sent, still encoded */
	char *query;			/* raw query without '?', "" when none */
	int http_major, http_minor;	/* 1.1 or 1.0 */
	struct http_header *headers;	/* in arrival order, names as sent */
	size_t n_headers;
	struct buf body;		/* whole body, NUL-terminated */
	bool upgrade;			/* client asked for Upgrade (see http_upgrade) */
	bool keep_alive;		/* connection stays open after the answer */
	char remote_addr[64];		/* "1.2.3.4:5678" or "[::1]:5678" */
	const struct tls_peer *peer;	/* client cert identity; NULL when plain */
	void *user;			/* free for the handler's use */
};

/* Called once per complete request; see "Request lifetime" above. */
typedef void (*http_handler_fn)(struct http_request *req, void *data);

/*
 * Fills body (appending) and *content_type (a static string) for an error
 * the layer answers itself or one given to http_respond_error(). message is
 * human text ("request body too large"). req is NULL for protocol errors
 * that happen before a request exists (e.g. 400 on a bad request line).
 */
typedef void (*http_error_body_fn)(const struct http_request *req, int status,
				   const char *message, struct buf *body,
				   const char **content_type, void *data);

struct http_server_opts {
	http_handler_fn handler;	/* required */
	void *handler_data;
	http_error_body_fn error_body;	/* NULL: text/plain "message\n" */
	void *error_body_data;
	struct tls_config *tls;		/* NULL: plain HTTP; else a server config,
					 * the server takes its own reference */
	size_t max_header_bytes;	/* 0: HTTP_MAX_HEADER_BYTES */
	size_t max_body_bytes;		/* 0: HTTP_MAX_BODY_BYTES */
	size_t max_write_queued;	/* 0: HTTP_MAX_WRITE_QUEUED */
	unsigned max_conns;		/* 0: HTTP_MAX_CONNS */
	unsigned header_timeout_ms;	/* 0: HTTP_HEADER_TIMEOUT_MS (also TLS handshake) */
	unsigned body_timeout_ms;	/* 0: HTTP_BODY_TIMEOUT_MS */
	unsigned idle_timeout_ms;	/* 0: HTTP_IDLE_TIMEOUT_MS */
	unsigned write_timeout_ms;	/* 0: HTTP_WRITE_TIMEOUT_MS */
};

/* Creates a server on loop (no listener yet). Copies opts. 0 or -EINVAL. */
int http_server_new(uv_loop_t *loop, const struct http_server_opts *opts,
		    struct http_server **out);
/*
 * Listens on addr: "0.0.0.0:6443", "127.0.0.1:0" (ephemeral port),
 * "[::]:6443" (IPv6 only: IPV6_V6ONLY is set, so listen on both for dual
 * stack), "[::1]:0". Returns the listener index (>= 0) or -errno
 * (-EADDRINUSE, -EINVAL for a bad address, -ENOSPC past HTTP_MAX_LISTENERS).
 */
int http_server_listen(struct http_server *s, const char *addr);
/* The bound port of listener idx (useful after ":0"), or -EINVAL. */
int http_server_port(const struct http_server *s, int idx);
/* Replaces the TLS config for new connections (certificate rotation). */
void http_server_set_tls(struct http_server *s, struct tls_config *tls);
/* Number of open connections (including upgraded tunnels). */
size_t http_server_conn_count(const struct http_server *s);
/*
 * Stops listening, cancels outstanding requests (their cancel callbacks run
 * and their answers become no-ops), closes every connection, and frees the
 * server once all handles are closed; then done(data) runs, if not NULL.
 * Requests still unanswered keep their memory until answered.
 */
void http_server_close(struct http_server *s, void (*done)(void *data), void *data);

/* First value of header name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/*
 * Iterates repeated headers: start with *iter = 0; returns each value of
 * name in order, then NULL.
 */
const char *http_request_header_next(const struct http_request *req,
				     const char *name, size_t *iter);
/* http_query_get() on req->query. */
int http_request_query(const struct http_request *req, const char *name,
		       size_t nth, char **out);

/* Extra references (see "Request lifetime"); unref of the last one frees. */
struct http_request *http_request_ref(struct http_request *req);
void http_request_unref(struct http_request *req);
/* False once the client has gone or the server is closing. */
bool http_request_alive(const struct http_request *req);
/*
 * cb(req, data) runs once, from the loop (never inside another http_*
 * call), after the client disconnected (or the server closed) before the
 * answer was complete. Setting NULL clears it.
 */
void http_request_on_cancel(struct http_request *req,
			    void (*cb)(struct http_request *req, void *data),
			    void *data);

/*
 * Adds a response header to send with the answer (e.g. from middleware:
 * Audit-Id, Warning). Repeats are kept. Content-Length, Transfer-Encoding,
 * Connection and Date are managed by the layer; setting them is ignored.
 */
void http_response_add_header(struct http_request *req, const char *name,
			      const char *value);

/*
 * Answers with status, the headers added so far plus hdrs[0..n), and body
 * (copied; may be NULL when len is 0). Content-Length is set. Releases the
 * handler's hold on req. 0, or -EPIPE when the client has gone (req is still
 * released), or -EALREADY if req was already answered (a BUG in the caller).
 */
int http_respond(struct http_request *req, int status,
		 const struct http_header *hdrs, size_t n,
		 const void *body, size_t len);
/* Answers status with the server's error_body format and message. */
int http_respond_error(struct http_request *req, int status, const char *message);

/* Sends the response head of a chunked streaming answer. 0 or -EPIPE. */
int http_stream_start(struct http_request *req, int status,
		      const struct http_header *hdrs, size_t n);
/*
 * Queues data as one chunk (copied) and starts writing it at once. Empty
 * writes are ignored. 0; -EPIPE when the client is gone; -ENOBUFS when this
 * write crossed max_write_queued (the connection is then closed and the
 * request cancelled).
 */
int http_stream_write(struct http_request *req, const void *data, size_t len);
/* Bytes accepted by http_stream_write() and not yet taken by the kernel. */
size_t http_stream_queued(const struct http_request *req);
/* cb(req, data) runs each time the queue empties after a write. NULL clears. */
void http_stream_on_drain(struct http_request *req,
			  void (*cb)(struct http_request *req, void *data),
			  void *data);
/* Ends the stream (last chunk) and releases the handler's hold. 0 or -EPIPE. */
int http_stream_end(struct http_request *req);

/* ---- tunnels: raw byte streams after a 101 (server or client side) ---- */

struct http_tunnel;

struct http_tunnel_cbs {
	/* Bytes from the peer (TLS already removed). data valid during the call. */
	void (*on_read)(struct http_tunnel *t, const void *data, size_t len, void *ud);
	/* The write queue emptied (optional). */
	void (*on_drain)(struct http_tunnel *t, void *ud);
	/* The tunnel is closed: peer EOF/error (err < 0, or 0 on clean EOF), or
	 * after http_tunnel_close(). Runs exactly once; t is freed right after. */
	void (*on_close)(struct http_tunnel *t, int err, void *ud);
};

/*
 * Server side: answers req with "101 Switching Protocols", hdrs (must
 * include Upgrade:, Connection: Upgrade is added) and turns the connection
 * into a tunnel driven by cbs. Bytes the client sent after the request head
 * are delivered first through on_read (from the next loop turn on, never
 * inside this call). Releases the handler's hold on req. 0, or -EPIPE if
 * the client has gone (req released too). -EINVAL when req did not ask for
 * an upgrade or cbs->on_read is NULL: req is then NOT answered yet.
 */
int http_upgrade(struct http_request *req, const struct http_header *hdrs, size_t n,
		 const struct http_tunnel_cbs *cbs, void *ud, struct http_tunnel **out);

/* Queues data (copied). 0, -EPIPE after close, -ENOBUFS past the bound
 * (max_write_queued; the tunnel is then closed). */
int http_tunnel_write(struct http_tunnel *t, const void *data, size_t len);
/* Bytes queued and not yet taken by the kernel. */
size_t http_tunnel_queued(const struct http_tunnel *t);
/* Stops/resumes delivering on_read (backpressure when proxying). */
void http_tunnel_pause_read(struct http_tunnel *t, bool pause);
/* Sends what is queued, then closes; on_close(t, 0) runs later. Idempotent. */
void http_tunnel_close(struct http_tunnel *t);
/* TLS identity of the peer, or NULL on plain connections. */
const struct tls_peer *http_tunnel_peer(const struct http_tunnel *t);

/* ==== client ========================================================== */

struct http_client;
struct http_call;

struct http_client_opts {
	struct tls_config *tls;		/* client config for https URLs; NULL
					 * makes https URLs fail with -EPROTONOSUPPORT */
	const char *bearer_token;	/* sent as "Authorization: Bearer ..." */
	const char *user_agent;		/* NULL: "k1s/<version>" */
	const char *server_name;	/* name the server certificate must match
					 * (like kubeconfig tls-server-name);
					 * NULL: the URL's host */
	unsigned connect_timeout_ms;	/* 0: HTTP_CLIENT_CONNECT_TIMEOUT_MS */
	size_t max_body_bytes;		/* 0: HTTP_CLIENT_MAX_BODY_BYTES */
	unsigned max_idle_per_host;	/* 0: HTTP_CLIENT_MAX_IDLE */
};

struct http_response {
	int status;
	int http_major, http_minor;
	struct http_header *headers;	/* owned by the response */
	size_t n_headers;
	struct buf body;		/* whole body, non-streaming calls only */
};

/* First value of header name in resp (case-insensitive), or NULL. */
const char *http_response_header(const struct http_response *resp, const char *name);
/* Frees what resp owns (headers, body); resp itself is the caller's. */
void http_response_release(struct http_response *resp);

struct http_call_opts {
	const char *method;		/* NULL: "GET" */
	const char *url;		/* "https://host:port/path?query",
					 * host a name, IPv4 or [IPv6] literal */
	const struct http_header *headers;
	size_t n_headers;
	const void *body;		/* copied; NULL when body_len is 0 */
	size_t body_len;
	/* Whole-call timeout in ms for plain calls; for streaming calls the
	 * time until the response head arrives. 0: none. */
	unsigned timeout_ms;
	/*
	 * Terminal callback, exactly once unless cancelled. err is 0 or -errno
	 * (-ETIMEDOUT, -ECONNREFUSED, -EPROTO for TLS/HTTP errors, -EACCES for
	 * a rejected server certificate, -EFBIG past max_body_bytes). resp is
	 * NULL unless a response head was received; a non-streaming resp holds
	 * the whole body (an empty one when err is set). resp is valid during
	 * the call only, unless the callback takes it over by copying the
	 * struct and zeroing *resp.
	 */
	void (*on_complete)(struct http_call *call, int err,
			    struct http_response *resp, void *ud);
	/* Streaming: set on_body. on_headers (optional) runs once with the head
	 * (resp->body empty), on_body for every piece of body as it arrives. */
	void (*on_headers)(struct http_call *call, const struct http_response *resp,
			   void *ud);
	void (*on_body)(struct http_call *call, const void *data, size_t len, void *ud);
	/* Upgrade: when set and the server answers 101, the connection becomes
	 * a tunnel driven by tunnel_cbs and on_upgrade runs instead of
	 * on_complete; any other status completes the call normally. */
	void (*on_upgrade)(struct http_call *call, const struct http_response *resp,
			   struct http_tunnel *t, void *ud);
	const struct http_tunnel_cbs *tunnel_cbs;
	void *ud;
};

/* Creates a client on loop. Takes its own reference to opts->tls. */
int http_client_new(uv_loop_t *loop, const struct http_client_opts *opts,
		    struct http_client **out);
/* Replaces the bearer token for later calls (NULL removes it). */
void http_client_set_token(struct http_client *c, const char *token);
/* Replaces the TLS config (client certificate, CA) for connections opened
 * from now on; open ones finish with the old. Takes its own reference. */
void http_client_set_tls(struct http_client *c, struct tls_config *tls);
/*
 * Cancels every call (no callbacks), closes pooled connections and frees
 * the client once its handles are closed. Tunnels already handed out stay
 * open and independent.
 */
void http_client_free(struct http_client *c);

/*
 * Starts a call. On success *out (if out is not NULL) identifies it until
 * its terminal callback returns or it is cancelled. -EINVAL for a bad URL
 * or missing on_complete; connection errors come through on_complete.
 */
int http_call_start(struct http_client *c, const struct http_call_opts *opts,
		    struct http_call **out);
/* Cancels: no further callbacks, the connection is closed, call freed. */
void http_call_cancel(struct http_call *call);

/*
 * Blocking convenience for CLI tools and tests: runs one call on a private
 * loop and fills *resp (caller releases it). opts->on_* are ignored.
 * Returns 0 (any HTTP status) or -errno like on_complete.
 */
int http_fetch(const struct http_client_opts *copts,
	       const struct http_call_opts *opts, struct http_response *resp);

#endif
