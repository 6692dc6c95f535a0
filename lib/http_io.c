/*
 * lib/http_io.c - one TCP connection, plain or TLS, for the HTTP server,
 * client and tunnels; see http_internal.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "log.h"

struct wreq {
	uv_write_t req;
	struct http__io *io;
	char *data;
	size_t len;
};

static void io_kick(struct http__io *io);

static void handle_closed(uv_handle_t *h)
{
	struct http__io *io = h->data;

	if (--io->open_handles > 0)
		return;
	if (io->tunnel_mode && io->tun.cbs.on_close)
		io->tun.cbs.on_close(&io->tun, io->close_err, io->tun.ud);
	buf_release(&io->tun.pending);
	tls_conn_free(io->tls);
	io->tls = NULL;
	io->ops->on_free(io);
}

static void timer_cb(uv_timer_t *t)
{
	struct http__io *io = container_of(t, struct http__io, timer);

	if (io->closing)
		return;
	if (io->lingering)
		http__io_close(io, 0);
	else if (io->ops->on_timeout)
		io->ops->on_timeout(io);
}

static void wtimer_cb(uv_timer_t *t)
{
	struct http__io *io = container_of(t, struct http__io, wtimer);

	LOG_V(4, "http: write stalled with %zu bytes queued, closing", io->queued);
	http__io_close(io, -ETIMEDOUT);
}

static void kick_cb(uv_idle_t *h);

void http__io_init(struct http__io *io, uv_loop_t *loop, const struct http__io_ops *ops)
{
	memset(io, 0, sizeof(*io));
	io->ops = ops;
	io->write_timeout_ms = HTTP_WRITE_TIMEOUT_MS;
	uv_tcp_init(loop, &io->tcp);
	uv_timer_init(loop, &io->timer);
	uv_timer_init(loop, &io->wtimer);
	uv_idle_init(loop, &io->kick);
	io->tcp.data = io->timer.data = io->wtimer.data = io->kick.data = io;
	io->open_handles = 4;
}

void http__io_close(struct http__io *io, int err)
{
	if (io->closing)
		return;
	io->closing = true;
	io->close_err = err;
	if (io->ops->on_closing)
		io->ops->on_closing(io, err);
	/* A peer that stopped reading gets a reset: the kernel drops what it
	 * still buffers for it instead of trickling it out. */
	bool reset = (err == -ENOBUFS || err == -ETIMEDOUT) && io->queued > 0;

	if (!reset || uv_tcp_close_reset(&io->tcp, handle_closed) < 0)
		uv_close((uv_handle_t *)&io->tcp, handle_closed);
	uv_close((uv_handle_t *)&io->timer, handle_closed);
	uv_close((uv_handle_t *)&io->wtimer, handle_closed);
	uv_close((uv_handle_t *)&io->kick, handle_closed);
}

/* ---- writing ---- */

static void write_cb(uv_write_t *req, int status)
{
	struct wreq *w = container_of(req, struct wreq, req);
	struct http__io *io = w->io;

	io->queued -= w->len;
	free(w->data);
	free(w);
	if (io->closing)
		return;
	if (status < 0) {
		http__io_close(io, status);
		return;
	}
	if (io->queued > 0) {
		uv_timer_start(&io->wtimer, wtimer_cb, io->write_timeout_ms, 0);
		return;
	}
	uv_timer_stop(&io->wtimer);
	if (io->finishing)
		return;
	if (io->tunnel_mode) {
		if (io->tun.cbs.on_drain)
			io->tun.cbs.on_drain(&io->tun, io->tun.ud);
	} else if (io->ops->on_drain) {
		io->ops->on_drain(io);
	}
}

/* Hands data (malloc'd, ownership taken) to libuv. */
static int send_owned(struct http__io *io, char *data, size_t len)
{
	struct wreq *w = xmalloc(sizeof(*w));
	uv_buf_t b = uv_buf_init(data, (unsigned)len);
	int rc;

	w->io = io;
	w->data = data;
	w->len = len;
	rc = uv_write(&w->req, (uv_stream_t *)&io->tcp, &b, 1, write_cb);
	if (rc < 0) {
		free(data);
		free(w);
		http__io_close(io, rc);
		return -EPIPE;
	}
	if (io->queued == 0)
		uv_timer_start(&io->wtimer, wtimer_cb, io->write_timeout_ms, 0);
	io->queued += len;
	return 0;
}

static int flush_tls(struct http__io *io)
{
	struct buf b = BUF_INIT;
	size_t len;
	char *data;

	if (!io->tls || tls_conn_output_len(io->tls) == 0)
		return 0;
	tls_conn_take_output(io->tls, &b);
	data = buf_detach(&b, &len);
	return send_owned(io, data, len);
}

static int write_check(struct http__io *io, size_t len)
{
	if (io->closing || io->finishing)
		return -EPIPE;
	if (io->max_queued && http__io_queued(io) + len > io->max_queued) {
		LOG_V(3, "http: %zu bytes queued to a peer that does not read, closing",
		      http__io_queued(io));
		http__io_close(io, -ENOBUFS);
		return -ENOBUFS;
	}
	return 0;
}

int http__io_write_buf(struct http__io *io, struct buf *b)
{
	size_t len;
	char *data;
	int rc;

	if (io->tls || !b->len) {
		rc = http__io_write(io, b->data, b->len);
		buf_release(b);
		return rc;
	}
	rc = write_check(io, b->len);
	if (rc < 0) {
		buf_release(b);
		return rc;
	}
	data = buf_detach(b, &len);
	return send_owned(io, data, len);
}

int http__io_write(struct http__io *io, const void *data, size_t len)
{
	int rc;

	if (len == 0)
		return io->closing || io->finishing ? -EPIPE : 0;
	rc = write_check(io, len);
	if (rc < 0)
		return rc;
	if (!io->tls) {
		char *copy = xmalloc(len);	/* binary: not a string (NUL bytes) */

		memcpy(copy, data, len);
		return send_owned(io, copy, len);
	}
	rc = tls_conn_write(io->tls, data, len);
	if (rc < 0) {
		http__io_close(io, rc);
		return -EPIPE;
	}
	return flush_tls(io);
}

size_t http__io_queued(const struct http__io *io)
{
	return io->closing ? 0 : io->tcp.write_queue_size;
}

/* ---- reading ---- */

static void deliver(struct http__io *io, const char *data, size_t len)
{
	if (!io->tunnel_mode) {
		io->ops->on_data(io, data, len);
	} else if (io->tun.pending.len) {
		/* bytes read before the upgrade go first (from kick_cb) */
		buf_add(&io->tun.pending, data, len);
	} else {
		io->tun.cbs.on_read(&io->tun, data, len, io->tun.ud);
	}
}

static void got_eof(struct http__io *io, int err)
{
	io->eof = true;
	if (io->finishing && !io->lingering && err == 0)
		return;		/* shutdown_cb closes once our output is out */
	if (io->lingering || io->finishing || (io->tunnel_mode && err < 0)) {
		http__io_close(io, err);
		return;
	}
	if (io->tunnel_mode) {
		http__io_finish(io);
		return;
	}
	io->ops->on_eof(io, err);
}

static bool can_deliver(const struct http__io *io)
{
	return !io->closing && !io->read_paused && !io->lingering &&
		!(io->tunnel_mode && io->tun.paused);
}

static void pump_tls(struct http__io *io)
{
	static __thread char plain[HTTP__READ_CHUNK];
	ssize_t n;
	int rc;

	if (!io->ready) {
		rc = tls_conn_handshake(io->tls);
		flush_tls(io);
		if (rc == -EAGAIN || io->closing)
			return;
		if (rc < 0) {
			LOG_V(3, "http: TLS handshake failed: %s", tls_conn_error(io->tls));
			if (io->tls_server)
				http__io_finish(io);	/* let the alert out */
			else
				got_eof(io, rc);	/* the client reports it */
			return;
		}
		io->ready = true;
		if (io->ops->on_ready)
			io->ops->on_ready(io);
	}
	while (can_deliver(io)) {
		n = tls_conn_read(io->tls, plain, sizeof(plain));
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			flush_tls(io);
			if (!io->closing)
				got_eof(io, (int)n);
			return;
		}
		deliver(io, plain, (size_t)n);
	}
	if (!io->closing)
		flush_tls(io);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static __thread char raw[HTTP__READ_CHUNK];

	b->base = raw;
	b->len = sizeof(raw);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct http__io *io = container_of((uv_tcp_t *)s, struct http__io, tcp);

	if (io->closing || n == 0)
		return;
	if (n < 0) {
		got_eof(io, n == UV_EOF ? 0 : (int)n);
		return;
	}
	if (io->lingering)
		return;
	if (!io->tls) {
		deliver(io, b->base, (size_t)n);
		return;
	}
	tls_conn_feed(io->tls, b->base, (size_t)n);
	pump_tls(io);
}

int http__io_start(struct http__io *io, struct tls_config *tls, const char *server_name)
{
	int rc;

	uv_tcp_nodelay(&io->tcp, 1);
	/* dead peers of long watches and tunnels are found by TCP keep-alive */
	uv_tcp_keepalive(&io->tcp, 1, HTTP__TCP_KEEPALIVE_S);
	if (tls) {
		io->tls_server = tls_config_is_server(tls);
		rc = tls_conn_new(tls, server_name, &io->tls);
		if (rc < 0)
			return rc;
	} else {
		io->ready = true;
	}
	rc = uv_read_start((uv_stream_t *)&io->tcp, alloc_cb, read_cb);
	if (rc < 0)
		return rc;
	io->started = true;
	if (tls && !io->tls_server)
		pump_tls(io);	/* sends the ClientHello */
	return 0;
}

/* ---- graceful close, pause, tunnels ---- */

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	struct http__io *io = container_of(req, struct http__io, shut);

	if (io->closing)
		return;
	if (status < 0 || io->eof) {
		http__io_close(io, 0);
		return;
	}
	io->lingering = true;
	uv_read_start((uv_stream_t *)&io->tcp, alloc_cb, read_cb);
	uv_timer_start(&io->timer, timer_cb, HTTP__LINGER_MS, 0);
}

void http__io_finish(struct http__io *io)
{
	if (io->closing || io->finishing)
		return;
	io->finishing = true;
	uv_timer_stop(&io->timer);
	if (io->tls && io->ready && tls_conn_close_notify(io->tls) == 0)
		flush_tls(io);
	if (io->closing)
		return;
	if (uv_shutdown(&io->shut, (uv_stream_t *)&io->tcp, shutdown_cb) < 0)
		http__io_close(io, 0);
}

void http__io_pause_read(struct http__io *io, bool pause)
{
	if (io->closing || io->read_paused == pause)
		return;
	io->read_paused = pause;
	if (pause) {
		uv_read_stop((uv_stream_t *)&io->tcp);
		return;
	}
	uv_read_start((uv_stream_t *)&io->tcp, alloc_cb, read_cb);
	io_kick(io);
}

void http__io_timer(struct http__io *io, unsigned ms)
{
	if (io->closing || io->lingering)
		return;
	if (ms)
		uv_timer_start(&io->timer, timer_cb, ms, 0);
	else
		uv_timer_stop(&io->timer);
}

static void kick_cb(uv_idle_t *h)
{
	struct http__io *io = h->data;
	struct buf pending;

	uv_idle_stop(h);
	if (io->closing)
		return;
	if (io->tunnel_mode && io->tun.pending.len && !io->tun.paused) {
		pending = io->tun.pending;
		memset(&io->tun.pending, 0, sizeof(io->tun.pending));
		deliver(io, pending.data, pending.len);
		buf_release(&pending);
	}
	if (io->tls && io->ready && can_deliver(io))
		pump_tls(io);
}

static void io_kick(struct http__io *io)
{
	if (!io->closing)
		uv_idle_start(&io->kick, kick_cb);
}

void http__io_tunnel(struct http__io *io, const struct http_tunnel_cbs *cbs,
		     void *ud, const char *pending, size_t len)
{
	io->tunnel_mode = true;
	io->tun.cbs = *cbs;
	io->tun.ud = ud;
	uv_timer_stop(&io->timer);
	if (len)
		buf_add(&io->tun.pending, pending, len);
	if (io->read_paused)
		http__io_pause_read(io, false);
	io_kick(io);
}

const struct tls_peer *http__io_peer(const struct http__io *io)
{
	return io->tls ? tls_conn_peer(io->tls) : NULL;
}

void http__io_peer_addr(struct http__io *io, char *out, size_t len)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	char ip[64] = "?";
	int port = 0;

	if (uv_tcp_getpeername(&io->tcp, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
			snprintf(out, len, "[%s]:%d", ip, port);
			return;
		}
		uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	snprintf(out, len, "%s:%d", ip, port);
}

/* ---- public tunnel API ---- */

int http_tunnel_write(struct http_tunnel *t, const void *data, size_t len)
{
	return http__io_write(container_of(t, struct http__io, tun), data, len);
}

size_t http_tunnel_queued(const struct http_tunnel *t)
{
	return http__io_queued(container_of(t, struct http__io, tun));
}

void http_tunnel_pause_read(struct http_tunnel *t, bool pause)
{
	struct http__io *io = container_of(t, struct http__io, tun);

	if (t->paused == pause)
		return;
	t->paused = pause;
	if (io->closing)
		return;
	if (pause) {
		uv_read_stop((uv_stream_t *)&io->tcp);
	} else {
		uv_read_start((uv_stream_t *)&io->tcp, alloc_cb, read_cb);
		io_kick(io);
	}
}

void http_tunnel_close(struct http_tunnel *t)
{
	http__io_finish(container_of(t, struct http__io, tun));
}

const struct tls_peer *http_tunnel_peer(const struct http_tunnel *t)
{
	return http__io_peer(container_of(t, struct http__io, tun));
}
