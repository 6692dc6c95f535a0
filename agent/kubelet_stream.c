/*
 * agent/kubelet_stream.c - the remotecommand transports of exec and attach:
 * WebSocket (v5.channel.k8s.io, v4.channel.k8s.io) and SPDY/3.1 with the
 * same protocol names in X-Stream-Protocol-Version (see kubelet_int.h).
 *
 * WebSocket: every binary (or text) message is <channel byte><data>;
 * 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize, and in v5 255 "close"
 * with the channel to half-close as its one byte of data.
 * SPDY: the client opens one stream per channel with a "streamtype" header
 * (stdin, stdout, stderr, error, resize); we answer each with SYN_REPLY and
 * send on the stdout/stderr/error streams; FIN on stdin is its EOF.
 */
#include "kubelet_int.h"
#include "lib/log.h"
#include "lib/spdy.h"
#include "lib/util.h"
#include "lib/websocket.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KS_SPDY_DATA_MAX 65536		/* bytes per DATA frame we send */

static const char *const ks_protocols[] = { "v5.channel.k8s.io", "v4.channel.k8s.io" };
static const char *const chan_names[KS_NCHAN] = { "stdin", "stdout", "stderr", "error", "resize" };

struct ks_session {
	struct kubelet *k;
	struct http_tunnel *t;
	struct ks_handler h;
	void *ud;
	bool ws, v5;
	bool want[KS_NCHAN];
	bool ready, finished;
	struct ws_parser wsp;
	struct spdy_conn spdy;
	uint32_t sid[KS_NCHAN];		/* SPDY stream of each channel, 0 none */
	uv_timer_t wait;		/* SPDY streams deadline */
	bool wait_on;
};

bool ks_is_websocket(struct http_request *req)
{
	const char *u = http_request_header(req, "Upgrade");

	return u && !strcasecmp(u, "websocket");
}

static void send_buf(struct ks_session *s, struct buf *b)
{
	if (b->len && s->t)
		http_tunnel_write(s->t, b->data, b->len);
	buf_release(b);
}

static void become_ready(struct ks_session *s)
{
	if (s->ready || s->finished)
		return;
	s->ready = true;
	if (s->wait_on)
		uv_timer_stop(&s->wait);
	s->h.on_ready(s, s->ud);
}

/* ---- WebSocket ---- */

static int ws_message(enum ws_opcode op, const uint8_t *d, size_t n, void *ud)
{
	struct ks_session *s = ud;
	struct buf b = BUF_INIT;

	switch (op) {
	case WS_OP_PING:
		ws_frame_encode(&b, WS_OP_PONG, true, false, d, n);
		send_buf(s, &b);
		return 0;
	case WS_OP_CLOSE:
		ws_close_encode(&b, false, WS_CLOSE_NORMAL, "");
		send_buf(s, &b);
		http_tunnel_close(s->t);
		return 1;
	case WS_OP_BINARY:
	case WS_OP_TEXT:
		if (!n || s->finished)
			return 0;
		if (d[0] == 255 && s->v5 && n >= 2) {
			if (d[1] == KS_STDIN)
				s->h.on_eof(s, KS_STDIN, s->ud);
		} else if (d[0] == KS_STDIN || d[0] == KS_RESIZE) {
			s->h.on_data(s, d[0], d + 1, n - 1, s->ud);
		}
		return 0;
	default:
		return 0;
	}
}

/* ---- SPDY ---- */

static int chan_by_name(const char *name)
{
	for (int i = 0; name && i < KS_NCHAN; i++)
		if (!strcmp(name, chan_names[i]))
			return i;
	return -1;
}

static int spdy_frame(const struct spdy_frame *f, void *ud)
{
	struct ks_session *s = ud;
	struct buf b = BUF_INIT;
	int c;

	switch (f->type) {
	case SPDY_SYN_STREAM:
		c = chan_by_name(spdy_frame_header(f, "streamtype"));
		spdy_syn_reply(&s->spdy, &b, f->stream_id, 0, NULL, 0);
		send_buf(s, &b);
		if (c < 0)
			return 0;
		s->sid[c] = f->stream_id;
		for (int i = 0; i < KS_NCHAN; i++)
			if (s->want[i] && !s->sid[i])
				return 0;
		become_ready(s);
		return 0;
	case SPDY_DATA:
		for (c = 0; c < KS_NCHAN; c++)
			if (s->sid[c] == f->stream_id)
				break;
		if (c == KS_STDIN || c == KS_RESIZE) {
			if (f->len && !s->finished)
				s->h.on_data(s, c, f->data, f->len, s->ud);
			if ((f->flags & SPDY_FLAG_FIN) && c == KS_STDIN && !s->finished)
				s->h.on_eof(s, c, s->ud);
		}
		return 0;
	case SPDY_RST_STREAM:
		if (f->stream_id == s->sid[KS_STDIN] && !s->finished)
			s->h.on_eof(s, KS_STDIN, s->ud);
		return 0;
	case SPDY_PING:
		spdy_ping(&b, f->value);
		send_buf(s, &b);
		return 0;
	case SPDY_GOAWAY:
		http_tunnel_close(s->t);
		return 1;
	default:
		return 0;
	}
}

/* ---- the tunnel ---- */

static void on_read(struct http_tunnel *t, const void *data, size_t len, void *ud)
{
	struct ks_session *s = ud;
	int r = s->ws ? ws_parser_feed(&s->wsp, data, len, ws_message, s)
		      : spdy_conn_feed(&s->spdy, data, len, spdy_frame, s);

	if (r < 0) {
		log_warn("kubelet: stream protocol error: %s", strerror(-r));
		http_tunnel_close(t);
	}
}

static void on_drain(struct http_tunnel *t, void *ud)
{
	struct ks_session *s = ud;

	if (!s->finished && s->h.on_drain)
		s->h.on_drain(s, s->ud);
}

size_t ks_queued(const struct ks_session *s)
{
	return s->t ? http_tunnel_queued(s->t) : 0;
}

void ks_pause_read(struct ks_session *s, bool pause)
{
	if (s->t)
		http_tunnel_pause_read(s->t, pause);
}

static void on_wait_closed(uv_handle_t *h)
{
	struct ks_session *s = h->data;

	free(s);
}

static void on_tunnel_close(struct http_tunnel *t, int err, void *ud)
{
	struct ks_session *s = ud;

	s->t = NULL;
	s->finished = true;
	s->h.on_close(s, s->ud);
	s->k->sessions--;
	if (s->ws)
		ws_parser_release(&s->wsp);
	else
		spdy_conn_release(&s->spdy);
	uv_close((uv_handle_t *)&s->wait, on_wait_closed);
}

static void on_wait_timeout(uv_timer_t *tm)
{
	struct ks_session *s = tm->data;

	log_warn("kubelet: the client did not open its streams in time");
	if (s->t)
		http_tunnel_close(s->t);
}

/* The X-Stream-Protocol-Version we take (headers may repeat or list). */
static const char *spdy_protocol(struct http_request *req, const char *const *sup, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *v;
		size_t it = 0;

		while ((v = http_request_header_next(req, "X-Stream-Protocol-Version", &it)))
			if (ws_pick_protocol(v, &sup[i], 1))
				return sup[i];
	}
	return NULL;
}

static int answer_upgrade(struct ks_session *s, struct http_request *req)
{
	static const struct http_tunnel_cbs cbs = { .on_read = on_read, .on_drain = on_drain,
						    .on_close = on_tunnel_close };
	char accept[WS_ACCEPT_LEN + 1];
	struct http_header h[3];
	const char *proto;

	if (s->ws) {
		proto = ws_pick_protocol(http_request_header(req, "Sec-WebSocket-Protocol"),
					 ks_protocols, ARRAY_SIZE(ks_protocols));
		if (!proto || ws_accept_key(http_request_header(req, "Sec-WebSocket-Key"), accept))
			return -EPROTONOSUPPORT;
		h[0] = (struct http_header){ "Upgrade", "websocket" };
		h[1] = (struct http_header){ "Sec-WebSocket-Accept", accept };
		h[2] = (struct http_header){ "Sec-WebSocket-Protocol", proto };
		ws_parser_init(&s->wsp, true, 0);
	} else {
		proto = spdy_protocol(req, ks_protocols, ARRAY_SIZE(ks_protocols));
		if (!proto)
			return -EPROTONOSUPPORT;
		h[0] = (struct http_header){ "Upgrade", "SPDY/3.1" };
		h[1] = (struct http_header){ "X-Stream-Protocol-Version", proto };
		if (spdy_conn_init(&s->spdy, 0))
			return -ENOMEM;
	}
	s->v5 = !strcmp(proto, ks_protocols[0]);
	return http_upgrade(req, h, s->ws ? 3 : 2, &cbs, s, &s->t);
}

int ks_upgrade(struct kubelet *k, struct http_request *req, const bool want[KS_NCHAN],
	       const struct ks_handler *h, void *ud, struct ks_session **out)
{
	const char *up = http_request_header(req, "Upgrade");
	struct ks_session *s;
	int r;

	if (!req->upgrade || !up || (strcasecmp(up, "websocket") && strncasecmp(up, "SPDY/3.1", 8))) {
		kl_fail(req, 400, "upgrade request required (websocket or SPDY/3.1)");
		return -EINVAL;
	}
	if (k->sessions >= KUBELET_MAX_SESSIONS) {
		kl_fail(req, 429, "too many streaming sessions");
		return -EBUSY;
	}
	s = xcalloc(1, sizeof(*s));
	s->k = k;
	s->h = *h;
	s->ud = ud;
	s->ws = !strcasecmp(up, "websocket");
	memcpy(s->want, want, sizeof(s->want));
	s->want[KS_ERROR] = true;
	r = answer_upgrade(s, req);
	if (r == -EPROTONOSUPPORT) {
		kl_fail(req, 400, "no supported protocol: want one of v5.channel.k8s.io, v4.channel.k8s.io");
		free(s);
		return r;
	}
	s->wait.data = s;
	uv_timer_init(k->loop, &s->wait);
	k->sessions++;
	if (r) {	/* the client left: on_close never comes for an unborn tunnel */
		s->finished = true;
		k->sessions--;
		if (!s->ws)
			spdy_conn_release(&s->spdy);
		else
			ws_parser_release(&s->wsp);
		uv_close((uv_handle_t *)&s->wait, on_wait_closed);
		return r;
	}
	*out = s;
	if (s->ws) {
		become_ready(s);
	} else {
		s->wait_on = true;
		uv_timer_start(&s->wait, on_wait_timeout, KS_STREAM_WAIT_MS, 0);
	}
	return 0;
}

int ks_write(struct ks_session *s, int chan, const void *d, size_t n)
{
	struct buf b = BUF_INIT;
	const char *p = d;

	if (!s->t || s->finished)
		return -EPIPE;
	if (s->ws) {
		struct buf f = BUF_INIT;

		buf_grow(&b, n + 1);
		buf_addch(&b, (char)chan);
		buf_add(&b, d, n);
		ws_frame_encode(&f, WS_OP_BINARY, true, false, b.data, b.len);
		buf_release(&b);
		send_buf(s, &f);
		return 0;
	}
	if (!s->sid[chan])
		return 0;	/* the client did not ask for it */
	while (n) {
		size_t c = n > KS_SPDY_DATA_MAX ? KS_SPDY_DATA_MAX : n;

		spdy_data(&b, s->sid[chan], 0, p, c);
		p += c;
		n -= c;
	}
	send_buf(s, &b);
	return 0;
}

void ks_finish(struct ks_session *s, const char *status_json)
{
	struct buf b = BUF_INIT;

	if (!s->t || s->finished)
		return;
	if (status_json)
		ks_write(s, KS_ERROR, status_json, strlen(status_json));
	s->finished = true;
	if (s->ws) {
		ws_close_encode(&b, false, WS_CLOSE_NORMAL, "");
	} else {
		for (int c = KS_STDOUT; c <= KS_ERROR; c++)
			if (s->sid[c])
				spdy_data(&b, s->sid[c], SPDY_FLAG_FIN, NULL, 0);
	}
	send_buf(s, &b);
	http_tunnel_close(s->t);
}
