/*
 * lib/http_server.c - the HTTP/1.1 server: listeners, connections, request
 * parsing with http-parser, answers, streaming and upgrades. See http.h for
 * the request-lifetime rules.
 *
 * A request (struct http__req) has up to two holds: the connection's (from
 * the first byte until the answer is complete or the connection closes) and
 * the handler's (from dispatch until it answers). Extra holds come from
 * http_request_ref(). The connection drops its hold in conn_request_done()
 * or conn_closing(); in the latter case it first marks the request
 * cancelled and detaches it (r->conn = NULL), so later answers are no-ops.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "log.h"

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
#define PIPELINE_MAX_BUFFERED(s) ((s)->o.max_header_bytes + 64 * 1024)

static const struct http__io_ops conn_ops;
static void conn_process(struct http_conn *c);

/* ---- requests ---- */

static struct http__req *req_of(const struct http_request *req)
{
	return container_of(req, struct http__req, pub);
}

static void req_free(struct http__req *r)
{
	http__hdr_release(&r->hdrs);
	free(r->pub.path);
	free(r->pub.raw_path);
	free(r->pub.query);
	buf_release(&r->pub.body);
	buf_release(&r->url);
	http__headers_free(r->rh, r->n_rh);
	tls_peer_release(&r->peer);
	free(r);
}

static void req_unref(struct http__req *r)
{
	BUG_ON(r->refs <= 0);
	if (--r->refs == 0)
		req_free(r);
}

static struct http__req *req_new(struct http_conn *c)
{
	struct http__req *r = xcalloc(1, sizeof(*r));
	const struct tls_peer *p = http__io_peer(&c->io);

	r->refs = 1;
	r->conn = c;
	memcpy(r->pub.remote_addr, c->remote, sizeof(r->pub.remote_addr));
	if (p) {
		tls_peer_copy(&r->peer, p);
		r->pub.peer = &r->peer;
	}
	return r;
}

struct http_request *http_request_ref(struct http_request *req)
{
	req_of(req)->refs++;
	return req;
}

void http_request_unref(struct http_request *req)
{
	if (req)
		req_unref(req_of(req));
}

bool http_request_alive(const struct http_request *req)
{
	const struct http__req *r = req_of(req);

	return r->conn && !r->conn->io.closing && !r->conn->srv->closing;
}

void http_request_on_cancel(struct http_request *req,
			    void (*cb)(struct http_request *, void *), void *data)
{
	req_of(req)->cancel_cb = cb;
	req_of(req)->cancel_data = data;
}

void http_stream_on_drain(struct http_request *req,
			  void (*cb)(struct http_request *, void *), void *data)
{
	req_of(req)->drain_cb = cb;
	req_of(req)->drain_data = data;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	size_t it = 0;

	return http__header_next(req->headers, req->n_headers, name, &it);
}

const char *http_request_header_next(const struct http_request *req,
				     const char *name, size_t *iter)
{
	return http__header_next(req->headers, req->n_headers, name, iter);
}

int http_request_query(const struct http_request *req, const char *name,
		       size_t nth, char **out)
{
	return http_query_get(req->query, name, nth, out);
}

/* ---- deferred work ---- */

static void idle_cb(uv_idle_t *h)
{
	struct http_server *s = h->data;
	struct http_conn *list = s->pending, *c;

	s->pending = NULL;
	uv_idle_stop(h);
	while ((c = list)) {
		list = c->pending_next;
		c->pending = false;
		c->pending_next = NULL;
		if (!c->io.closing)
			conn_process(c);
	}
}

static void conn_schedule(struct http_conn *c)
{
	if (c->pending || c->srv->closing)
		return;
	c->pending = true;
	c->pending_next = c->srv->pending;
	c->srv->pending = c;
	uv_idle_start(&c->srv->idle, idle_cb);
}

static void conn_unschedule(struct http_conn *c)
{
	struct http_conn **pp;

	if (!c->pending)
		return;
	for (pp = &c->srv->pending; *pp; pp = &(*pp)->pending_next) {
		if (*pp == c) {
			*pp = c->pending_next;
			break;
		}
	}
	c->pending = false;
}

/* ---- writing answers ---- */

static bool managed_header(const char *name)
{
	static const char *const managed[] = {
		"Content-Length", "Transfer-Encoding", "Connection", "Date",
	};

	for (size_t i = 0; i < ARRAY_SIZE(managed); i++)
		if (!strcasecmp(name, managed[i]))
			return true;
	return false;
}

static void add_headers(struct buf *b, const struct http_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (managed_header(h[i].name) || strpbrk(h[i].value, "\r\n") ||
		    strpbrk(h[i].name, "\r\n: "))
			continue;
		buf_addf(b, "%s: %s\r\n", h[i].name, h[i].value);
	}
}

enum framing { FRAME_LENGTH, FRAME_CHUNKED, FRAME_NONE, FRAME_UPGRADE };

static void build_head(struct buf *b, struct http__req *r, int status,
		       const struct http_header *hdrs, size_t n,
		       enum framing fr, size_t len)
{
	bool bodiless = status < 200 || status == 204 || status == 304;

	buf_addf(b, "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
	http__add_date(b);
	add_headers(b, r->rh, r->n_rh);
	add_headers(b, hdrs, n);
	if (fr == FRAME_UPGRADE) {
		buf_addstr(b, "Connection: Upgrade\r\n\r\n");
		return;
	}
	if (fr == FRAME_LENGTH && !bodiless)
		buf_addf(b, "Content-Length: %zu\r\n", len);
	else if (fr == FRAME_CHUNKED)
		buf_addstr(b, "Transfer-Encoding: chunked\r\n");
	if (!r->pub.keep_alive)
		buf_addstr(b, "Connection: close\r\n");
	else if (r->pub.http_minor == 0)
		buf_addstr(b, "Connection: keep-alive\r\n");
	buf_addstr(b, "\r\n");
}

static void default_error_body(const struct http_request *req, int status,
			       const char *message, struct buf *body,
			       const char **content_type, void *data)
{
	buf_addf(body, "%s\n", message);
	*content_type = "text/plain; charset=utf-8";
}

static void error_body(struct http_server *s, const struct http_request *req,
		       int status, const char *msg, struct buf *body, const char **ct)
{
	*ct = "text/plain; charset=utf-8";
	if (s->o.error_body)
		s->o.error_body(req, status, msg, body, ct, s->o.error_body_data);
	else
		default_error_body(req, status, msg, body, ct, NULL);
}

/* The current request is fully answered: next request or close. */
static void conn_request_done(struct http_conn *c)
{
	struct http__req *r = c->req;
	bool keep = r && r->pub.keep_alive && !r->pub.upgrade && !c->srv->closing;

	c->req = NULL;
	c->io.max_queued = 0;
	if (r) {
		r->conn = NULL;
		req_unref(r);
	}
	if (!keep) {
		c->state = CS_DONE;
		http__io_finish(&c->io);
		return;
	}
	c->state = CS_HEAD;
	c->header_bytes = 0;
	c->fail_status = 0;
	http_parser_pause(&c->parser, 0);
	c->got_bytes = c->in.len > 0;
	http__io_timer(&c->io, c->got_bytes ? c->srv->o.header_timeout_ms :
		       c->srv->o.idle_timeout_ms);
	if (c->io.read_paused)
		http__io_pause_read(&c->io, false);
	if (c->in.len)
		conn_schedule(c);
}

/* Protocol error before dispatch: the layer answers and closes. */
static void conn_fail(struct http_conn *c, int status, const char *msg)
{
	struct buf head = BUF_INIT, body = BUF_INIT;
	const char *ct;

	if (c->state == CS_DONE || c->io.closing)
		return;
	LOG_V(3, "http: %s: %d %s", c->remote, status, msg);
	error_body(c->srv, NULL, status, msg, &body, &ct);
	buf_addf(&head, "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
	http__add_date(&head);
	buf_addf(&head, "Content-Type: %s\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", ct, body.len);
	buf_add(&head, body.data ? body.data : "", body.len);
	http__io_write(&c->io, head.data, head.len);
	buf_release(&head);
	buf_release(&body);
	if (c->req) {
		req_unref(c->req);
		c->req = NULL;
	}
	buf_release(&c->in);
	c->state = CS_DONE;
	http__io_finish(&c->io);
}

/* Takes the handler's hold; returns the live connection or NULL. */
static struct http_conn *answer_begin(struct http__req *r)
{
	BUG_ON(!r->dispatched);
	r->answered = true;
	return r->conn && !r->conn->io.closing ? r->conn : NULL;
}

int http_respond(struct http_request *req, int status,
		 const struct http_header *hdrs, size_t n,
		 const void *body, size_t len)
{
	struct http__req *r = req_of(req);
	struct http_conn *c;
	struct buf out = BUF_INIT;
	int ret = -EPIPE;

	if (r->answered || r->streaming)
		return -EALREADY;
	c = answer_begin(r);
	if (c) {
		build_head(&out, r, status, hdrs, n, FRAME_LENGTH, len);
		if (len && !r->is_head && status >= 200 && status != 204 && status != 304)
			buf_add(&out, body, len);
		ret = http__io_write(&c->io, out.data, out.len);
		buf_release(&out);
		if (!c->io.closing)
			conn_request_done(c);
	}
	req_unref(r);
	return ret;
}

int http_respond_error(struct http_request *req, int status, const char *message)
{
	struct http__req *r = req_of(req);
	struct buf body = BUF_INIT;
	struct http_header h;
	const char *ct;
	int ret;

	if (r->answered || r->streaming)
		return -EALREADY;
	if (!r->conn || r->conn->io.closing)
		return http_respond(req, status, NULL, 0, NULL, 0);
	error_body(r->conn->srv, req, status, message, &body, &ct);
	h.name = "Content-Type";
	h.value = ct;
	ret = http_respond(req, status, &h, 1, body.data, body.len);
	buf_release(&body);
	return ret;
}

void http_response_add_header(struct http_request *req, const char *name,
			      const char *value)
{
	struct http__req *r = req_of(req);

	ALLOC_GROW(r->rh, r->n_rh + 1, r->rh_alloc);
	r->rh[r->n_rh].name = xstrdup(name);
	r->rh[r->n_rh].value = xstrdup(value);
	r->n_rh++;
}

int http_stream_start(struct http_request *req, int status,
		      const struct http_header *hdrs, size_t n)
{
	struct http__req *r = req_of(req);
	struct http_conn *c = r->conn;
	struct buf out = BUF_INIT;
	int ret;

	if (r->answered || r->streaming)
		return -EALREADY;
	r->streaming = true;
	if (!c || c->io.closing)
		return -EPIPE;
	r->chunked_out = r->pub.http_minor > 0 || r->pub.http_major > 1;
	if (!r->chunked_out)
		r->pub.keep_alive = false;
	build_head(&out, r, status, hdrs, n,
		   r->chunked_out ? FRAME_CHUNKED : FRAME_NONE, 0);
	c->state = CS_STREAM;
	ret = http__io_write(&c->io, out.data, out.len);
	buf_release(&out);
	c->io.max_queued = c->srv->o.max_write_queued;
	return ret;
}

int http_stream_write(struct http_request *req, const void *data, size_t len)
{
	struct http__req *r = req_of(req);
	struct http_conn *c = r->conn;
	struct buf out = BUF_INIT;
	int ret;

	if (!r->streaming || r->answered)
		return -EINVAL;
	if (!c || c->io.closing)
		return -EPIPE;
	if (len == 0 || r->is_head)
		return 0;
	if (r->chunked_out) {
		buf_addf(&out, "%zx\r\n", len);
		buf_add(&out, data, len);
		buf_addstr(&out, "\r\n");
		ret = http__io_write(&c->io, out.data, out.len);
		buf_release(&out);
	} else {
		ret = http__io_write(&c->io, data, len);
	}
	return ret;
}

size_t http_stream_queued(const struct http_request *req)
{
	const struct http__req *r = req_of(req);

	return r->conn ? r->conn->io.queued : 0;
}

int http_stream_end(struct http_request *req)
{
	struct http__req *r = req_of(req);
	struct http_conn *c;
	int ret = -EPIPE;

	if (r->answered)
		return -EALREADY;
	if (!r->streaming) {
		http_respond(req, 500, NULL, 0, NULL, 0);
		return -EINVAL;
	}
	c = answer_begin(r);
	if (c) {
		ret = 0;
		if (r->chunked_out && !r->is_head)
			ret = http__io_write(&c->io, "0\r\n\r\n", 5);
		if (!c->io.closing)
			conn_request_done(c);
	}
	req_unref(r);
	return ret;
}

int http_upgrade(struct http_request *req, const struct http_header *hdrs, size_t n,
		 const struct http_tunnel_cbs *cbs, void *ud, struct http_tunnel **out)
{
	struct http__req *r = req_of(req);
	struct http_conn *c;
	struct buf head = BUF_INIT;
	int ret = -EPIPE;

	*out = NULL;
	if (r->answered || r->streaming)
		return -EALREADY;
	if (!req->upgrade || !cbs->on_read)
		return -EINVAL;
	c = answer_begin(r);
	if (c) {
		build_head(&head, r, 101, hdrs, n, FRAME_UPGRADE, 0);
		ret = http__io_write(&c->io, head.data, head.len);
		buf_release(&head);
	}
	if (ret == 0) {
		c->state = CS_TUNNEL;
		c->req = NULL;
		r->conn = NULL;
		req_unref(r);	/* the connection's hold */
		c->io.max_queued = c->srv->o.max_write_queued;
		http__io_tunnel(&c->io, cbs, ud, c->in.data, c->in.len);
		buf_release(&c->in);
		*out = &c->io.tun;
	}
	req_unref(r);
	return ret;
}

/* ---- parsing ---- */

static struct http_conn *conn_of_parser(http_parser *p)
{
	return p->data;
}

static int fail_cb(struct http_conn *c, int status, const char *msg)
{
	c->fail_status = status;
	c->fail_msg = msg;
	return -1;
}

static int count_head(struct http_conn *c, size_t len)
{
	c->header_bytes += len;
	if (c->header_bytes > c->srv->o.max_header_bytes)
		return fail_cb(c, 431, "request header too large");
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct http_conn *c = conn_of_parser(p);

	if (!c->req)
		c->req = req_new(c);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of_parser(p);

	if (count_head(c, len))
		return -1;
	buf_add(&c->req->url, at, len);
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of_parser(p);

	if (count_head(c, len + 4))
		return -1;
	if (http__hdr_field(&c->req->hdrs, at, len, HTTP_MAX_HEADERS) < 0)
		return fail_cb(c, 431, "too many request headers");
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of_parser(p);

	if (count_head(c, len))
		return -1;
	http__hdr_value(&c->req->hdrs, at, len);
	return 0;
}

static int split_url(struct http_conn *c, struct http__req *r)
{
	const char *url = buf_str(&r->url);
	struct http_parser_url u;
	const char *path = url, *query = "";
	size_t plen = r->url.len, qlen = 0;

	http_parser_url_init(&u);
	if (strcmp(url, "*") && c->parser.method != HTTP_CONNECT) {
		if (http_parser_parse_url(url, r->url.len, 0, &u) != 0)
			return fail_cb(c, 400, "malformed request target");
		path = "/";
		plen = 1;
		if (u.field_set & (1 << UF_PATH)) {
			path = url + u.field_data[UF_PATH].off;
			plen = u.field_data[UF_PATH].len;
		}
		if (u.field_set & (1 << UF_QUERY)) {
			query = url + u.field_data[UF_QUERY].off;
			qlen = u.field_data[UF_QUERY].len;
		}
	}
	r->pub.url = (char *)url;
	r->pub.raw_path = xstrndup(path, plen);
	r->pub.query = xstrndup(query, qlen);
	if (http_url_decode(path, plen, false, &r->pub.path) < 0)
		return fail_cb(c, 400, "malformed escape in request path");
	return 0;
}

static int expect_continue(struct http_conn *c, struct http__req *r)
{
	const char *e = http_request_header(&r->pub, "Expect");

	if (!e)
		return 0;
	if (strcasecmp(e, "100-continue") || r->pub.http_minor == 0)
		return fail_cb(c, 417, "unsupported expectation");
	if (c->parser.content_length > 0 || (c->parser.flags & F_CHUNKED))
		http__io_write(&c->io, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct http_conn *c = conn_of_parser(p);
	struct http__req *r = c->req;
	uint64_t cl = p->content_length;

	if (http__hdr_finish(&r->hdrs, HTTP_MAX_HEADERS) < 0)
		return fail_cb(c, 431, "too many request headers");
	r->pub.headers = r->hdrs.h;
	r->pub.n_headers = r->hdrs.n;
	r->pub.method = http_method_str(p->method);
	r->is_head = p->method == HTTP_HEAD;
	r->pub.http_major = p->http_major;
	r->pub.http_minor = p->http_minor;
	r->pub.keep_alive = http_should_keep_alive(p);
	r->pub.upgrade = p->upgrade;
	if (split_url(c, r))
		return -1;
	if (cl != ULLONG_MAX && cl > c->srv->o.max_body_bytes)
		return fail_cb(c, 413, "request body too large");
	if (expect_continue(c, r))
		return -1;
	c->state = CS_BODY;
	http__io_timer(&c->io, c->srv->o.body_timeout_ms);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of_parser(p);
	struct buf *b = &c->req->pub.body;

	if (b->len + len > c->srv->o.max_body_bytes)
		return fail_cb(c, 413, "request body too large");
	buf_add(b, at, len);
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_conn *c = conn_of_parser(p);

	c->msg_complete = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void conn_dispatch(struct http_conn *c)
{
	struct http__req *r = c->req;

	if (!r->pub.body.data)
		buf_grow(&r->pub.body, 0);	/* body is always a string */
	c->state = CS_HANDLER;
	http__io_timer(&c->io, 0);
	r->dispatched = true;
	r->refs++;			/* the handler's hold */
	c->srv->o.handler(&r->pub, c->srv->o.handler_data);
}

static void conn_process(struct http_conn *c)
{
	enum http_errno e;
	size_t n;

	if ((c->state != CS_HEAD && c->state != CS_BODY) || !c->in.len)
		return;
	n = http_parser_execute(&c->parser, &parser_settings, c->in.data, c->in.len);
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (e != HPE_OK && e != HPE_PAUSED) {
		if (!c->fail_status) {
			c->fail_status = e == HPE_HEADER_OVERFLOW ? 431 : 400;
			c->fail_msg = e == HPE_HEADER_OVERFLOW ?
				"request header too large" : http_errno_description(e);
		}
		conn_fail(c, c->fail_status, c->fail_msg);
		return;
	}
	buf_consume(&c->in, n);
	if (c->msg_complete) {
		c->msg_complete = false;
		conn_dispatch(c);
	}
}

/* ---- connection callbacks ---- */

static struct http_conn *conn_of_io(struct http__io *io)
{
	return container_of(io, struct http_conn, io);
}

static void conn_on_data(struct http__io *io, const char *data, size_t len)
{
	struct http_conn *c = conn_of_io(io);

	if (c->state == CS_DONE)
		return;
	buf_add(&c->in, data, len);
	if (c->state == CS_HEAD && !c->got_bytes) {
		c->got_bytes = true;
		http__io_timer(io, c->srv->o.header_timeout_ms);
	}
	if (c->state == CS_HEAD || c->state == CS_BODY) {
		conn_process(c);
		return;
	}
	if (c->in.len > PIPELINE_MAX_BUFFERED(c->srv))
		http__io_pause_read(io, true);
}

static void conn_on_eof(struct http__io *io, int err)
{
	http__io_close(io, err);
}

static void conn_on_drain(struct http__io *io)
{
	struct http_conn *c = conn_of_io(io);
	struct http__req *r = c->req;

	if (c->state == CS_STREAM && r && r->drain_cb)
		r->drain_cb(&r->pub, r->drain_data);
}

static void conn_on_timeout(struct http__io *io)
{
	struct http_conn *c = conn_of_io(io);

	LOG_V(4, "http: %s: %s timeout, closing", c->remote,
	      c->state == CS_BODY ? "body" : c->got_bytes ? "header" : "idle");
	http__io_close(io, -ETIMEDOUT);
}

/*
 * The connection is going: detach its request at once (answers become
 * no-ops) but run the cancel callback only from conn_on_free, on a later
 * loop phase, so it never runs nested inside an answering call.
 */
static void conn_on_closing(struct http__io *io, int err)
{
	struct http_conn *c = conn_of_io(io);

	c->state = CS_DONE;
	if (c->req)
		c->req->conn = NULL;
}

static void conn_cancel_request(struct http_conn *c)
{
	struct http__req *r = c->req;

	c->req = NULL;
	if (!r)
		return;
	if (r->dispatched && !r->answered && r->cancel_cb)
		r->cancel_cb(&r->pub, r->cancel_data);
	req_unref(r);
}

static void server_maybe_done(struct http_server *s)
{
	if (!s->closing || s->open_handles > 0 || s->n_conns > 0)
		return;
	tls_config_unref(s->tls);
	if (s->done)
		s->done(s->done_data);
	free(s);
}

static void conn_on_free(struct http__io *io)
{
	struct http_conn *c = conn_of_io(io);
	struct http_server *s = c->srv;

	conn_unschedule(c);
	conn_cancel_request(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	buf_release(&c->in);
	free(c);
	server_maybe_done(s);
}

static const struct http__io_ops conn_ops = {
	.on_data = conn_on_data,
	.on_eof = conn_on_eof,
	.on_drain = conn_on_drain,
	.on_timeout = conn_on_timeout,
	.on_closing = conn_on_closing,
	.on_free = conn_on_free,
};

/* ---- server ---- */

static void on_connection(uv_stream_t *ls, int status)
{
	struct http_server *s = ls->data;
	struct http_conn *c;

	if (status < 0 || s->closing)
		return;
	c = xcalloc(1, sizeof(*c));
	http__io_init(&c->io, s->loop, &conn_ops);
	c->srv = s;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	c->io.write_timeout_ms = s->o.write_timeout_ms;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	if (uv_accept(ls, (uv_stream_t *)&c->io.tcp) < 0) {
		http__io_close(&c->io, -ECONNABORTED);
		return;
	}
	http__io_peer_addr(&c->io, c->remote, sizeof(c->remote));
	c->got_bytes = true;	/* the header timeout runs from accept */
	if (s->n_conns > s->o.max_conns) {
		log_warn("http: connection limit %u reached, closing '%s'",
			 s->o.max_conns, c->remote);
		http__io_close(&c->io, -EMFILE);
		return;
	}
	if (http__io_start(&c->io, s->tls, NULL) < 0) {
		http__io_close(&c->io, -EPROTO);
		return;
	}
	http__io_timer(&c->io, s->o.header_timeout_ms);
}

#define DEFAULT(field, value) do { if (!o->field) o->field = (value); } while (0)

int http_server_new(uv_loop_t *loop, const struct http_server_opts *opts,
		    struct http_server **out)
{
	struct http_server *s;
	struct http_server_opts *o;

	*out = NULL;
	if (!opts->handler || (opts->tls && !tls_config_is_server(opts->tls)))
		return -EINVAL;
	s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->o = *opts;
	o = &s->o;
	DEFAULT(max_header_bytes, HTTP_MAX_HEADER_BYTES);
	DEFAULT(max_body_bytes, HTTP_MAX_BODY_BYTES);
	DEFAULT(max_write_queued, HTTP_MAX_WRITE_QUEUED);
	DEFAULT(max_conns, HTTP_MAX_CONNS);
	DEFAULT(header_timeout_ms, HTTP_HEADER_TIMEOUT_MS);
	DEFAULT(body_timeout_ms, HTTP_BODY_TIMEOUT_MS);
	DEFAULT(idle_timeout_ms, HTTP_IDLE_TIMEOUT_MS);
	DEFAULT(write_timeout_ms, HTTP_WRITE_TIMEOUT_MS);
	s->tls = opts->tls ? tls_config_ref(opts->tls) : NULL;
	uv_idle_init(loop, &s->idle);
	s->idle.data = s;
	s->open_handles = 1;
	*out = s;
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;

	s->open_handles--;
	server_maybe_done(s);
}

int http_server_listen(struct http_server *s, const char *addr)
{
	struct sockaddr_storage ss;
	struct listener *l;
	int sl = sizeof(ss), rc, idx;

	if (s->closing || http__parse_addr(addr, &ss) < 0)
		return -EINVAL;
	if (s->n_ls == HTTP_MAX_LISTENERS)
		return -ENOSPC;
	idx = s->n_ls++;
	l = &s->ls[idx];
	l->srv = s;
	l->port = -1;
	uv_tcp_init(s->loop, &l->tcp);
	l->tcp.data = s;
	s->open_handles++;
	rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss,
			 ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
	if (rc == 0)
		rc = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &sl);
	if (rc < 0) {
		uv_close((uv_handle_t *)&l->tcp, listener_closed);
		return rc;
	}
	l->port = ntohs(ss.ss_family == AF_INET6 ?
			((struct sockaddr_in6 *)&ss)->sin6_port :
			((struct sockaddr_in *)&ss)->sin_port);
	return idx;
}

int http_server_port(const struct http_server *s, int idx)
{
	if (idx < 0 || idx >= s->n_ls || s->ls[idx].port < 0)
		return -EINVAL;
	return s->ls[idx].port;
}

void http_server_set_tls(struct http_server *s, struct tls_config *tls)
{
	if (tls)
		tls_config_ref(tls);
	tls_config_unref(s->tls);
	s->tls = tls;
}

size_t http_server_conn_count(const struct http_server *s)
{
	return s->n_conns;
}

void http_server_close(struct http_server *s, void (*done)(void *), void *data)
{
	struct http_conn *c;

	if (s->closing)
		return;
	s->closing = true;
	s->done = done;
	s->done_data = data;
	for (int i = 0; i < s->n_ls; i++)
		if (s->ls[i].port >= 0)
			uv_close((uv_handle_t *)&s->ls[i].tcp, listener_closed);
	uv_close((uv_handle_t *)&s->idle, listener_closed);
	for (c = s->conns; c; c = c->next)
		http__io_close(&c->io, -ECANCELED);
	server_maybe_done(s);
}
