/*
 * lib/http_request.c - the server-side request object: accessors, holds
 * (see the lifetime rules in http.h and http_server.c) and every way of
 * answering: plain responses, chunked streams, upgrades to tunnels.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"

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

void http__req_unref(struct http__req *r)
{
	BUG_ON(r->refs <= 0);
	if (--r->refs == 0)
		req_free(r);
}

struct http__req *http__req_new(struct http_conn *c)
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
		http__req_unref(req_of(req));
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

void http__error_body(struct http_server *s, const struct http_request *req,
		       int status, const char *msg, struct buf *body, const char **ct)
{
	*ct = "text/plain; charset=utf-8";
	if (s->o.error_body)
		s->o.error_body(req, status, msg, body, ct, s->o.error_body_data);
	else
		default_error_body(req, status, msg, body, ct, NULL);
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
		ret = http__io_write_buf(&c->io, &out);
		if (!c->io.closing)
			http__conn_request_done(c);
	}
	http__req_unref(r);
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
	http__error_body(r->conn->srv, req, status, message, &body, &ct);
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
		ret = http__io_write_buf(&c->io, &out);
	} else {
		ret = http__io_write(&c->io, data, len);
	}
	return ret;
}

size_t http_stream_queued(const struct http_request *req)
{
	const struct http__req *r = req_of(req);

	return r->conn ? http__io_queued(&r->conn->io) : 0;
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
			http__conn_request_done(c);
	}
	http__req_unref(r);
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
		http__req_unref(r);	/* the connection's hold */
		c->io.max_queued = c->srv->o.max_write_queued;
		http__io_tunnel(&c->io, cbs, ud, c->in.data, c->in.len);
		buf_release(&c->in);
		*out = &c->io.tun;
	}
	http__req_unref(r);
	return ret;
}
