/*
 * lib/http_client.c - the asynchronous HTTP/1.1 client: one request per
 * connection at a time, idle keep-alive connections pooled per
 * scheme://host:port, streaming bodies, upgrades to tunnels.
 *
 * A call (struct http_call) owns a timer; a connection (struct cconn) owns
 * its http__io. While a call is in flight, call->conn and conn->call point
 * at each other; whoever ends first breaks the link. Both are freed from
 * close callbacks only. A connection that is still resolving a host name is
 * freed when the resolver callback runs, never before.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/platform_util.h>

#include "http_internal.h"
#include "log.h"

/* Addresses of one host name tried in turn (e.g. ::1 then 127.0.0.1). */
#define CLIENT_MAX_ADDRS 8
/* A pooled connection unused this long is closed, in ms (below the server's
 * HTTP_IDLE_TIMEOUT_MS, so we usually close first). */
#define CLIENT_IDLE_TIMEOUT_MS 45000

enum cc_state { CC_CONNECTING, CC_HANDSHAKE, CC_BUSY, CC_IDLE, CC_DONE };

struct cconn {
	struct http__io io;		/* first */
	struct http_client *cl;		/* NULL once handed to a tunnel */
	struct cconn *prev, *next;	/* cl->conns */
	struct http_call *call;
	enum cc_state state;
	bool https, reused, resolving, freed, got_bytes, msg_complete;
	char *key, *host;
	int port;
	uv_connect_t connect_req;
	uv_getaddrinfo_t gai;
	struct sockaddr_storage *addrs;	/* resolved addresses, or NULL */
	size_t n_addrs, next_addr;	/* next_addr: the one being tried */
	http_parser parser;
	size_t header_bytes;
	int fail;
};

struct http_call {
	struct http_client *cl;
	struct http_call *prev, *next;	/* cl->calls */
	struct cconn *conn;
	uv_timer_t timer;
	struct http_call_opts o;	/* callbacks; pointers not kept */
	struct http_tunnel_cbs tcbs;
	struct buf reqbytes;		/* the serialized request */
	char *key, *host;
	int port;
	bool https, is_head, idempotent, done, streaming, head_seen;
	int attempts;
	struct http__hdr_acc hdrs;
	struct http_response resp;
};

struct http_client {
	uv_loop_t *loop;
	struct http_client_opts o;
	struct tls_config *tls;
	char *token, *ua;
	char *server_name;		/* TLS name to verify, or NULL: URL host */
	struct cconn *conns;
	struct http_call *calls;
	bool freeing;
};

static const struct http__io_ops cconn_ops;
static void call_connect(struct http_call *call);
static void conn_next_addr(struct cconn *c);
static struct cconn *conn_new(struct http_call *call);
static void client_maybe_free(struct http_client *cl);

/* ---- calls ---- */

static void call_closed(uv_handle_t *h)
{
	struct http_call *call = h->data;
	struct http_client *cl = call->cl;

	if (call->prev)
		call->prev->next = call->next;
	else
		cl->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	http__hdr_release(&call->hdrs);
	http_response_release(&call->resp);
	buf_release(&call->reqbytes);
	free(call->key);
	free(call->host);
	free(call);
	client_maybe_free(cl);
}

static void call_free(struct http_call *call)
{
	uv_close((uv_handle_t *)&call->timer, call_closed);
}

/* Ends the call once: detaches it from its connection, runs on_complete. */
static void call_finish(struct http_call *call, int err)
{
	struct cconn *c = call->conn;

	if (call->done)
		return;
	call->done = true;
	uv_timer_stop(&call->timer);
	call->conn = NULL;
	if (c) {
		c->call = NULL;
		if (err)
			http__io_close(&c->io, err);
	}
	if (err)
		buf_release(&call->resp.body);	/* never hand out a partial body */
	call->o.on_complete(call, err, call->head_seen ? &call->resp : NULL, call->o.ud);
	call_free(call);
}

void http_call_cancel(struct http_call *call)
{
	struct cconn *c;

	if (!call || call->done)
		return;
	c = call->conn;
	call->done = true;
	call->conn = NULL;
	if (c) {
		c->call = NULL;
		http__io_close(&c->io, -ECANCELED);
	}
	call_free(call);
}

static void call_timeout(uv_timer_t *t)
{
	call_finish(t->data, -ETIMEDOUT);
}

/* ---- connections ---- */

static struct cconn *conn_of(struct http__io *io)
{
	return container_of(io, struct cconn, io);
}

static void conn_send(struct cconn *c)
{
	struct http_call *call = c->call;

	c->state = CC_BUSY;
	c->got_bytes = false;
	c->header_bytes = 0;
	c->fail = 0;
	http__io_timer(&c->io, 0);
	http_parser_init(&c->parser, HTTP_RESPONSE);
	c->parser.data = c;
	http__io_write(&c->io, call->reqbytes.data, call->reqbytes.len);
}

static void conn_attach(struct cconn *c, struct http_call *call)
{
	c->call = call;
	call->conn = c;
}

static void conn_unlink(struct cconn *c)
{
	struct http_client *cl = c->cl;

	if (!cl)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		cl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->cl = NULL;
	c->prev = c->next = NULL;
}

static void conn_really_free(struct cconn *c)
{
	struct http_client *cl = c->cl;

	conn_unlink(c);
	free(c->addrs);
	free(c->key);
	free(c->host);
	free(c);
	if (cl)
		client_maybe_free(cl);
}

static void cconn_on_free(struct http__io *io)
{
	struct cconn *c = conn_of(io);

	c->freed = true;
	if (!c->resolving)
		conn_really_free(c);
}

static void cconn_on_closing(struct http__io *io, int err)
{
	struct cconn *c = conn_of(io);
	struct http_call *call = c->call;

	c->state = CC_DONE;
	if (c->resolving)
		uv_cancel((uv_req_t *)&c->gai);
	if (!call)
		return;
	c->call = NULL;
	call->conn = NULL;
	if (c->reused && !c->got_bytes && call->idempotent && call->attempts++ == 0 &&
	    err != -ECANCELED && err != -ETIMEDOUT) {
		LOG_V(4, "http: pooled connection to %s closed, retrying", c->key);
		call_connect(call);
		return;
	}
	call_finish(call, err ? err : -ECONNRESET);
}

static void connect_cb(uv_connect_t *req, int status)
{
	struct cconn *c = container_of(req, struct cconn, connect_req);
	struct http_client *cl = c->cl;
	int rc;

	if (c->io.closing)
		return;
	if (status < 0) {
		if (c->call && c->next_addr + 1 < c->n_addrs)
			conn_next_addr(c);
		http__io_close(&c->io, status);
		return;
	}
	rc = http__io_start(&c->io, c->https ? cl->tls : NULL,
			    cl->server_name ? cl->server_name : c->host);
	if (rc < 0) {
		http__io_close(&c->io, rc);
		return;
	}
	if (c->io.closing)
		return;
	if (c->https)
		c->state = CC_HANDSHAKE;
	else
		conn_send(c);
}

static void conn_connect_addr(struct cconn *c, const struct sockaddr *sa)
{
	int rc = uv_tcp_connect(&c->connect_req, &c->io.tcp, sa, connect_cb);

	if (rc < 0)
		http__io_close(&c->io, rc);
}

/* The address of c failed: moves its call to a new connection that tries
 * the next address. */
static void conn_next_addr(struct cconn *c)
{
	struct http_call *call = c->call;
	struct cconn *n = conn_new(call);

	n->addrs = c->addrs;
	n->n_addrs = c->n_addrs;
	n->next_addr = c->next_addr + 1;	/* the one n tries */
	c->addrs = NULL;
	c->n_addrs = 0;
	c->call = NULL;
	call->conn = NULL;
	conn_attach(n, call);
	http__io_timer(&n->io, n->cl->o.connect_timeout_ms);
	conn_connect_addr(n, (struct sockaddr *)&n->addrs[n->next_addr]);
}

static void conn_connect_addrs(struct cconn *c, const struct addrinfo *res)
{
	for (; res && c->n_addrs < CLIENT_MAX_ADDRS; res = res->ai_next) {
		if (res->ai_addrlen > sizeof(struct sockaddr_storage))
			continue;
		if (!c->addrs)
			c->addrs = xcalloc(CLIENT_MAX_ADDRS, sizeof(*c->addrs));
		memcpy(&c->addrs[c->n_addrs++], res->ai_addr, res->ai_addrlen);
	}
	c->next_addr = 0;
	if (!c->n_addrs) {
		http__io_close(&c->io, -EHOSTUNREACH);
		return;
	}
	conn_connect_addr(c, (struct sockaddr *)&c->addrs[0]);
}

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct cconn *c = container_of(req, struct cconn, gai);

	c->resolving = false;
	if (c->freed) {
		uv_freeaddrinfo(res);
		conn_really_free(c);
		return;
	}
	if (!c->io.closing) {
		if (status < 0 || !res)
			http__io_close(&c->io, status == UV_ECANCELED ? -ECANCELED :
				       -EHOSTUNREACH);
		else
			conn_connect_addrs(c, res);
	}
	uv_freeaddrinfo(res);
}

static struct cconn *conn_new(struct http_call *call)
{
	struct http_client *cl = call->cl;
	struct cconn *c = xcalloc(1, sizeof(*c));

	http__io_init(&c->io, cl->loop, &cconn_ops);
	c->cl = cl;
	c->next = cl->conns;
	if (cl->conns)
		cl->conns->prev = c;
	cl->conns = c;
	c->key = xstrdup(call->key);
	c->host = xstrdup(call->host);
	c->port = call->port;
	c->https = call->https;
	c->state = CC_CONNECTING;
	return c;
}

static void conn_start(struct cconn *c)
{
	struct sockaddr_storage ss;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	char port[16];
	int rc;

	http__io_timer(&c->io, c->cl->o.connect_timeout_ms);
	if (uv_ip4_addr(c->host, c->port, (struct sockaddr_in *)&ss) == 0 ||
	    uv_ip6_addr(c->host, c->port, (struct sockaddr_in6 *)&ss) == 0) {
		conn_connect_addr(c, (struct sockaddr *)&ss);
		return;
	}
	snprintf(port, sizeof(port), "%d", c->port);
	c->resolving = true;
	rc = uv_getaddrinfo(c->cl->loop, &c->gai, gai_cb, c->host, port, &hints);
	if (rc < 0) {
		c->resolving = false;
		http__io_close(&c->io, -EHOSTUNREACH);
	}
}

static struct cconn *pool_take(struct http_client *cl, const char *key)
{
	for (struct cconn *c = cl->conns; c; c = c->next)
		if (c->state == CC_IDLE && !c->io.closing && !strcmp(c->key, key))
			return c;
	return NULL;
}

static void pool_put(struct cconn *c)
{
	struct http_client *cl = c->cl;
	unsigned n = 0;

	for (struct cconn *o = cl->conns; o; o = o->next)
		if (o->state == CC_IDLE && !strcmp(o->key, c->key))
			n++;
	if (cl->freeing || n >= cl->o.max_idle_per_host) {
		c->state = CC_DONE;
		http__io_finish(&c->io);
		return;
	}
	c->state = CC_IDLE;
	c->reused = true;
	http__io_timer(&c->io, CLIENT_IDLE_TIMEOUT_MS);
}

static void call_connect(struct http_call *call)
{
	struct cconn *c = pool_take(call->cl, call->key);

	if (c) {
		conn_attach(c, call);
		conn_send(c);
		return;
	}
	c = conn_new(call);
	conn_attach(c, call);
	conn_start(c);
}

/* ---- response parsing ---- */

static struct cconn *conn_of_parser(http_parser *p)
{
	return p->data;
}

static int r_message_begin(http_parser *p)
{
	struct cconn *c = conn_of_parser(p);
	struct http_call *call = c->call;

	if (!call)
		return -1;
	http__hdr_release(&call->hdrs);
	http_response_release(&call->resp);
	return 0;
}

static int r_count(struct cconn *c, size_t len)
{
	c->header_bytes += len;
	if (!c->call || c->header_bytes > HTTP_MAX_HEADER_BYTES) {
		c->fail = -EPROTO;
		return -1;
	}
	return 0;
}

static int r_header_field(http_parser *p, const char *at, size_t len)
{
	struct cconn *c = conn_of_parser(p);

	if (r_count(c, len + 4))
		return -1;
	if (http__hdr_field(&c->call->hdrs, at, len, HTTP_MAX_HEADERS) < 0) {
		c->fail = -EPROTO;
		return -1;
	}
	return 0;
}

static int r_header_value(http_parser *p, const char *at, size_t len)
{
	struct cconn *c = conn_of_parser(p);

	if (r_count(c, len))
		return -1;
	http__hdr_value(&c->call->hdrs, at, len);
	return 0;
}

static int r_headers_complete(http_parser *p)
{
	struct cconn *c = conn_of_parser(p);
	struct http_call *call = c->call;

	if (!call || http__hdr_finish(&call->hdrs, HTTP_MAX_HEADERS) < 0) {
		c->fail = -EPROTO;
		return -1;
	}
	call->resp.status = p->status_code;
	call->resp.http_major = p->http_major;
	call->resp.http_minor = p->http_minor;
	call->resp.headers = call->hdrs.h;
	call->resp.n_headers = call->hdrs.n;
	memset(&call->hdrs, 0, sizeof(call->hdrs));
	if (p->status_code / 100 == 1)
		return 0;
	call->head_seen = true;
	if (call->streaming) {
		uv_timer_stop(&call->timer);
		if (call->o.on_headers)
			call->o.on_headers(call, &call->resp, call->o.ud);
		if (!c->call)
			return -1;
	}
	return call->is_head ? 1 : 0;
}

static int r_body(http_parser *p, const char *at, size_t len)
{
	struct cconn *c = conn_of_parser(p);
	struct http_call *call = c->call;

	if (!call || call->resp.status / 100 == 1)
		return call ? 0 : -1;
	if (call->streaming) {
		call->o.on_body(call, at, len, call->o.ud);
		return c->call ? 0 : -1;
	}
	if (call->resp.body.len + len > call->cl->o.max_body_bytes) {
		c->fail = -EFBIG;
		return -1;
	}
	buf_add(&call->resp.body, at, len);
	return 0;
}

static int r_message_complete(http_parser *p)
{
	struct cconn *c = conn_of_parser(p);
	struct http_call *call = c->call;

	if (!call)
		return -1;
	if (call->resp.status / 100 == 1 && call->resp.status != 101) {
		http_response_release(&call->resp);	/* 100 Continue: skip */
		return 0;
	}
	c->msg_complete = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings resp_settings = {
	.on_message_begin = r_message_begin,
	.on_header_field = r_header_field,
	.on_header_value = r_header_value,
	.on_headers_complete = r_headers_complete,
	.on_body = r_body,
	.on_message_complete = r_message_complete,
};

static void conn_upgrade(struct cconn *c, const char *rest, size_t len)
{
	struct http_call *call = c->call;

	call->done = true;
	uv_timer_stop(&call->timer);
	c->call = NULL;
	call->conn = NULL;
	conn_unlink(c);
	c->state = CC_DONE;
	http__io_tunnel(&c->io, &call->tcbs, call->o.ud, rest, len);
	call->o.on_upgrade(call, &call->resp, &c->io.tun, call->o.ud);
	call_free(call);
	if (c->io.max_queued == 0)
		c->io.max_queued = HTTP_MAX_WRITE_QUEUED;
}

static void conn_complete(struct cconn *c, size_t leftover)
{
	struct http_call *call = c->call;

	c->msg_complete = false;
	call->conn = NULL;
	c->call = NULL;
	if (http_should_keep_alive(&c->parser) && !leftover && c->cl &&
	    call->resp.status != 101)
		pool_put(c);
	else
		http__io_finish(&c->io);
	call_finish(call, 0);
}

static void cconn_on_data(struct http__io *io, const char *data, size_t len)
{
	struct cconn *c = conn_of(io);
	struct http_call *call = c->call;
	enum http_errno e;
	size_t n;

	if (c->state != CC_BUSY || !call) {
		http__io_close(io, -EPROTO);	/* bytes on an idle connection */
		return;
	}
	c->got_bytes = true;
	n = http_parser_execute(&c->parser, &resp_settings, data, len);
	if (c->call != call || io->closing)
		return;		/* cancelled from a callback */
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (e != HPE_OK && e != HPE_PAUSED) {
		LOG_V(3, "http: bad response from %s: %s", c->key, http_errno_description(e));
		call_finish(call, c->fail ? c->fail : -EPROTO);
		return;
	}
	if (c->msg_complete && call->resp.status == 101 && call->o.on_upgrade) {
		conn_upgrade(c, data + n, len - n);
		return;
	}
	if (c->msg_complete)
		conn_complete(c, len - n);
}

static void cconn_on_eof(struct http__io *io, int err)
{
	struct cconn *c = conn_of(io);
	struct http_call *call = c->call;

	if (call && c->state == CC_BUSY && err == 0 && c->got_bytes) {
		http_parser_execute(&c->parser, &resp_settings, NULL, 0);
		if (c->call == call && c->msg_complete) {
			conn_complete(c, 1);
			return;
		}
	}
	http__io_close(io, err ? err : -ECONNRESET);
}

static void cconn_on_ready(struct http__io *io)
{
	struct cconn *c = conn_of(io);

	if (c->call)
		conn_send(c);
	else
		http__io_close(io, -ECANCELED);
}

static void cconn_on_timeout(struct http__io *io)
{
	http__io_close(io, -ETIMEDOUT);
}

static const struct http__io_ops cconn_ops = {
	.on_data = cconn_on_data,
	.on_eof = cconn_on_eof,
	.on_ready = cconn_on_ready,
	.on_timeout = cconn_on_timeout,
	.on_closing = cconn_on_closing,
	.on_free = cconn_on_free,
};

/* ---- public API ---- */

const char *http_response_header(const struct http_response *resp, const char *name)
{
	size_t it = 0;

	return http__header_next(resp->headers, resp->n_headers, name, &it);
}

void http_response_release(struct http_response *resp)
{
	http__headers_free(resp->headers, resp->n_headers);
	buf_release(&resp->body);
	memset(resp, 0, sizeof(*resp));
}

#define DEFAULT(field, value) do { if (!o->field) o->field = (value); } while (0)

int http_client_new(uv_loop_t *loop, const struct http_client_opts *opts,
		    struct http_client **out)
{
	struct http_client *cl;
	struct http_client_opts *o;

	*out = NULL;
	if (opts->tls && tls_config_is_server(opts->tls))
		return -EINVAL;
	cl = xcalloc(1, sizeof(*cl));
	cl->loop = loop;
	cl->o = *opts;
	o = &cl->o;
	DEFAULT(connect_timeout_ms, HTTP_CLIENT_CONNECT_TIMEOUT_MS);
	DEFAULT(max_body_bytes, HTTP_CLIENT_MAX_BODY_BYTES);
	DEFAULT(max_idle_per_host, HTTP_CLIENT_MAX_IDLE);
	cl->tls = opts->tls ? tls_config_ref(opts->tls) : NULL;
	cl->ua = xstrdup(opts->user_agent ? opts->user_agent : "k1s/" K1S_VERSION);
	cl->server_name = opts->server_name ? xstrdup(opts->server_name) : NULL;
	o->user_agent = NULL;
	o->server_name = NULL;
	o->tls = NULL;
	o->bearer_token = NULL;
	http_client_set_token(cl, opts->bearer_token);
	*out = cl;
	return 0;
}

void http_client_set_token(struct http_client *cl, const char *token)
{
	if (cl->token) {
		mbedtls_platform_zeroize(cl->token, strlen(cl->token));
		free(cl->token);
	}
	cl->token = token ? xstrdup(token) : NULL;
}

void http_client_set_tls(struct http_client *cl, struct tls_config *tls)
{
	struct tls_config *old = cl->tls;

	cl->tls = tls ? tls_config_ref(tls) : NULL;
	tls_config_unref(old);	/* open connections keep their own reference */
}

static void client_maybe_free(struct http_client *cl)
{
	if (!cl->freeing || cl->conns || cl->calls)
		return;
	http_client_set_token(cl, NULL);
	tls_config_unref(cl->tls);
	free(cl->server_name);
	free(cl->ua);
	free(cl);
}

void http_client_free(struct http_client *cl)
{
	struct http_call *call, *cn;
	struct cconn *c;

	if (!cl || cl->freeing)
		return;
	cl->freeing = true;
	for (call = cl->calls; call; call = cn) {
		cn = call->next;
		http_call_cancel(call);
	}
	for (c = cl->conns; c; c = c->next)
		http__io_close(&c->io, -ECANCELED);
	client_maybe_free(cl);
}

int http_call_start(struct http_client *cl, const struct http_call_opts *o,
		    struct http_call **out)
{
	static const char *const idempotent[] = { "GET", "HEAD", "OPTIONS", "PUT", "DELETE" };
	const char *method = o->method ? o->method : "GET";
	struct http__url u;
	struct http_call *call;
	int ret;

	if (out)
		*out = NULL;
	if (!o->on_complete || !o->url || cl->freeing || strpbrk(method, " \r\n"))
		return -EINVAL;
	call = xcalloc(1, sizeof(*call));
	call->cl = cl;
	call->o = *o;
	if (o->tunnel_cbs)
		call->tcbs = *o->tunnel_cbs;
	call->o.headers = NULL;
	call->o.body = NULL;
	call->o.url = NULL;
	call->o.method = NULL;
	call->o.tunnel_cbs = NULL;
	call->streaming = o->on_body != NULL;
	if (o->on_upgrade && !call->tcbs.on_read)
		call->o.on_upgrade = NULL;
	call->is_head = !strcmp(method, "HEAD");
	for (size_t i = 0; i < ARRAY_SIZE(idempotent); i++)
		call->idempotent |= !strcmp(method, idempotent[i]);
	ret = http__url_parse(o->url, &u);
	if (ret == 0 && u.https && !cl->tls)
		ret = -EPROTONOSUPPORT;
	if (ret < 0) {
		http__url_release(&u);
		free(call);
		return ret;
	}
	call->https = u.https;
	call->port = u.port;
	call->host = xstrdup(u.host);
	call->key = xasprintf("%s://%s:%d", u.https ? "https" : "http", u.host, u.port);
	http__request_head(&call->reqbytes, method, &u, cl->ua, cl->token,
			   o->headers, o->n_headers, o->body_len);
	if (o->body_len)
		buf_add(&call->reqbytes, o->body, o->body_len);
	http__url_release(&u);
	uv_timer_init(cl->loop, &call->timer);
	call->timer.data = call;
	call->next = cl->calls;
	if (cl->calls)
		cl->calls->prev = call;
	cl->calls = call;
	if (o->timeout_ms)
		uv_timer_start(&call->timer, call_timeout, o->timeout_ms, 0);
	if (out)
		*out = call;
	call_connect(call);
	return 0;
}
