/*
 * lib/http_server.c - the HTTP/1.1 server: listeners, connections, request
 * parsing with http-parser, timeouts, protocol errors. Answers live in
 * http_request.c. See http.h for the request-lifetime rules.
 *
 * A request (struct http__req) has up to two holds: the connection's (from
 * the first byte until the answer is complete or the connection closes) and
 * the handler's (from dispatch until it answers). Extra holds come from
 * http_request_ref(). The connection drops its hold in
 * http__conn_request_done(), or when it closes: then conn_on_closing()
 * detaches the request at once (r->conn = NULL, so answers become no-ops)
 * and conn_on_free() runs the cancel callback and drops the hold.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "log.h"

static const struct http__io_ops conn_ops;
static void conn_process(struct http_conn *c);

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

void http__conn_request_done(struct http_conn *c)
{
	struct http__req *r = c->req;
	bool keep = r && r->pub.keep_alive && !r->pub.upgrade && !c->srv->closing;

	c->req = NULL;
	c->io.max_queued = 0;
	if (r) {
		r->conn = NULL;
		http__req_unref(r);
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
	http__error_body(c->srv, NULL, status, msg, &body, &ct);
	buf_addf(&head, "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
	http__add_date(&head);
	buf_addf(&head, "Content-Type: %s\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", ct, body.len);
	buf_add(&head, body.data ? body.data : "", body.len);
	http__io_write(&c->io, head.data, head.len);
	buf_release(&head);
	buf_release(&body);
	if (c->req) {
		http__req_unref(c->req);
		c->req = NULL;
	}
	buf_release(&c->in);
	c->state = CS_DONE;
	http__io_finish(&c->io);
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
		c->req = http__req_new(c);
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
	if (!c->in.len)
		buf_release(&c->in);	/* idle and watch connections hold nothing */
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
	if (c->in.len > HTTP__PIPELINE_MAX(c->srv))
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
	http__req_unref(r);
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
