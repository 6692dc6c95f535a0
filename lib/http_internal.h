/*
 * lib/http_internal.h - what http_io.c, http_server.c, http_client.c and
 * http_util.c share. Not for use outside lib/http*.c.
 *
 * struct http__io is one TCP connection, optionally wrapped in TLS: the
 * owner (server connection or client connection) embeds it first in its own
 * struct and gets plaintext through the ops table. It owns three handles
 * (the socket, a phase timer the owner arms for its own deadlines, and the
 * write-stall timer); the owner is freed only from ops->on_free, which runs
 * once all three are closed. After the owner hands the connection over to a
 * tunnel (http__io_tunnel), reads go to the tunnel callbacks instead and
 * on_close of the tunnel runs right before ops->on_free.
 */
#ifndef K1S_LIB_HTTP_INTERNAL_H
#define K1S_LIB_HTTP_INTERNAL_H

#include <http_parser.h>

#include "http.h"

/* Lingering after a graceful close: unread input is drained this long, in ms,
 * so the peer sees our last response instead of a reset. */
#define HTTP__LINGER_MS 2000
/* TCP keep-alive idle time on every connection, in seconds (as Go's 15 s
 * order of magnitude): finds peers that vanished under a silent watch. */
#define HTTP__TCP_KEEPALIVE_S 30
/* Largest plaintext piece handed to a tls_conn_read, in bytes. */
#define HTTP__READ_CHUNK (64 * 1024)

struct http__io;

struct http__io_ops {
	/* Plaintext arrived. */
	void (*on_data)(struct http__io *io, const char *data, size_t len);
	/* Peer EOF (err 0) or read/TLS error (err < 0). The owner closes. */
	void (*on_eof)(struct http__io *io, int err);
	/* TLS handshake completed (not called for plain connections). */
	void (*on_ready)(struct http__io *io);
	/* The write queue emptied. */
	void (*on_drain)(struct http__io *io);
	/* The phase timer (http__io_timer) fired. */
	void (*on_timeout)(struct http__io *io);
	/* About to close (once, before handles are closed): cancel requests. */
	void (*on_closing)(struct http__io *io, int err);
	/* All handles closed: free the owner. */
	void (*on_free)(struct http__io *io);
};

struct http_tunnel {
	struct http_tunnel_cbs cbs;
	void *ud;
	bool paused;
	struct buf pending;	/* bytes read before the tunnel started */
};

struct http__io {
	uv_tcp_t tcp;
	uv_timer_t timer;	/* owner's phase deadline */
	uv_timer_t wtimer;	/* write stall */
	uv_shutdown_t shut;
	uv_idle_t kick;		/* delivers tunnel pending bytes next turn */
	const struct http__io_ops *ops;
	struct tls_conn *tls;	/* NULL for plain */
	size_t queued;		/* bytes in uv_write requests not yet completed */
	size_t max_queued;	/* bound on http__io_queued(); 0: unbounded */
	unsigned write_timeout_ms;
	int open_handles;
	int close_err;
	bool started;		/* reading */
	bool read_paused;
	bool closing;
	bool finishing;		/* graceful close requested */
	bool lingering;		/* shutdown done, draining input */
	bool tunnel_mode;
	bool ready;		/* TLS handshake done (or plain) */
	bool eof;		/* peer sent FIN */
	bool tls_server;	/* TLS server side */
	struct http_tunnel tun;
};

void http__io_init(struct http__io *io, uv_loop_t *loop, const struct http__io_ops *ops);
/* Starts reading; with tls, creates the TLS state (server_name for clients)
 * and, for a client, sends the ClientHello. */
int http__io_start(struct http__io *io, struct tls_config *tls, const char *server_name);
/* Queues plaintext; 0, -EPIPE when closing, -ENOBUFS past max_queued (the
 * connection is then closed with -ENOBUFS). */
int http__io_write(struct http__io *io, const void *data, size_t len);
/* http__io_write() of b's bytes; takes them over (b is empty afterwards). */
int http__io_write_buf(struct http__io *io, struct buf *b);
/* Bytes accepted but not yet written to the kernel (libuv's write queue). */
size_t http__io_queued(const struct http__io *io);
/* Closes at once (pending writes are dropped). Idempotent. */
void http__io_close(struct http__io *io, int err);
/* Flushes queued output, sends close_notify/FIN, lingers, then closes. */
void http__io_finish(struct http__io *io);
void http__io_pause_read(struct http__io *io, bool pause);
/* Arms the phase timer for ms (0 stops it). */
void http__io_timer(struct http__io *io, unsigned ms);
/* Turns the connection into a tunnel; pending bytes are delivered first. */
void http__io_tunnel(struct http__io *io, const struct http_tunnel_cbs *cbs,
		     void *ud, const char *pending, size_t len);
const struct tls_peer *http__io_peer(const struct http__io *io);
/* "ip:port" / "[ip6]:port" of the peer into out (at least 64 bytes). */
void http__io_peer_addr(struct http__io *io, char *out, size_t len);

/* ---- util ---- */

/* Parses "host:port" / "[v6]:port" into a sockaddr. 0 or -EINVAL. */
int http__parse_addr(const char *addr, struct sockaddr_storage *ss);
/* Appends "Date: <IMF-fixdate>\r\n". */
void http__add_date(struct buf *b);
/* Case-insensitive header lookup over an array, starting at *iter. */
const char *http__header_next(const struct http_header *h, size_t n,
			      const char *name, size_t *iter);
/* True when value (a comma list) contains token, case-insensitively. */
bool http__has_token(const char *value, const char *token);
/* Frees an array of headers whose names and values were malloc'd. */
void http__headers_free(struct http_header *h, size_t n);

/* An http(s) URL split for the client. */
struct http__url {
	bool https;
	char *host;		/* malloc'd; IPv6 literals without brackets */
	int port;
	struct buf target;	/* "/path?query" */
};
/* 0, or -EINVAL for anything but an absolute http/https URL with a host. */
int http__url_parse(const char *url, struct http__url *u);
void http__url_release(struct http__url *u);
/* Appends a request head (with Host, User-Agent, a bearer token unless h has
 * Authorization, Content-Length) to b. Headers with CR/LF are dropped. */
void http__request_head(struct buf *b, const char *method, const struct http__url *u,
			const char *ua, const char *token,
			const struct http_header *h, size_t n, size_t body_len);

/*
 * Accumulates header fields across http_parser callbacks (a field or value
 * can be split over several calls).
 */
struct http__hdr_acc {
	struct http_header *h;
	size_t n, alloc;
	struct buf name, value;
	bool in_value;
};
/* Returns -E2BIG past max headers. */
int http__hdr_field(struct http__hdr_acc *a, const char *at, size_t len, size_t max);
void http__hdr_value(struct http__hdr_acc *a, const char *at, size_t len);
int http__hdr_finish(struct http__hdr_acc *a, size_t max);
void http__hdr_release(struct http__hdr_acc *a);

/* ---- server (http_server.c, http_request.c) ---- */

/* Pipelined bytes read ahead while a request is answered, before reads pause. */
#define HTTP__PIPELINE_MAX(s) ((s)->o.max_header_bytes + 64 * 1024)

enum conn_state {
	CS_HEAD,	/* idle, or reading a request head */
	CS_BODY,	/* reading a request body */
	CS_HANDLER,	/* request with the handler, unanswered */
	CS_STREAM,	/* streaming answer in progress */
	CS_TUNNEL,	/* upgraded: bytes go to the tunnel callbacks */
	CS_DONE,	/* closing */
};

struct http_conn;

struct http__req {
	struct http_request pub;
	int refs;
	struct http_conn *conn;		/* NULL once detached */
	bool dispatched;		/* handed to the handler */
	bool answered;			/* the handler's hold was released */
	bool streaming;
	bool chunked_out;		/* streaming with chunked framing */
	bool is_head;
	void (*cancel_cb)(struct http_request *, void *);
	void *cancel_data;
	void (*drain_cb)(struct http_request *, void *);
	void *drain_data;
	struct http__hdr_acc hdrs;	/* request headers (pub.headers) */
	struct http_header *rh;		/* response headers added, malloc'd */
	size_t n_rh, rh_alloc;
	struct tls_peer peer;
	struct buf url;
};

struct http_conn {
	struct http__io io;		/* first: container_of from io */
	struct http_server *srv;
	struct http_conn *prev, *next;	/* srv->conns */
	struct http_conn *pending_next;	/* srv->pending */
	bool pending;
	bool got_bytes;			/* header (not idle) timeout armed */
	bool msg_complete;
	enum conn_state state;
	http_parser parser;
	struct buf in;			/* plaintext not yet parsed */
	struct http__req *req;		/* being read or answered */
	size_t header_bytes;
	int fail_status;
	const char *fail_msg;
	char remote[64];
};

struct listener {
	uv_tcp_t tcp;
	struct http_server *srv;
	int port;			/* -1 when the slot is unused */
};

struct http_server {
	uv_loop_t *loop;
	struct http_server_opts o;
	struct tls_config *tls;
	struct listener ls[HTTP_MAX_LISTENERS];
	int n_ls;
	struct http_conn *conns;
	size_t n_conns;
	struct http_conn *pending;	/* connections with deferred input */
	uv_idle_t idle;
	int open_handles;		/* listeners + idle */
	bool closing;
	void (*done)(void *);
	void *done_data;
};

/* Bytes read ahead while a request is being answered before reads pause. */

/* Request objects (http_request.c). A new request holds one reference, the
 * connection's; http__req_unref() of the last one frees it. */
struct http__req *http__req_new(struct http_conn *c);
void http__req_unref(struct http__req *r);
/* Fills body/content type for an error answer with the server's callback. */
void http__error_body(struct http_server *s, const struct http_request *req,
		      int status, const char *msg, struct buf *body, const char **ct);
/* The connection's current request is fully answered: next request or close
 * (http_server.c). */
void http__conn_request_done(struct http_conn *c);

#endif
