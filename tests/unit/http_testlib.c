/*
 * tests/unit/http_testlib.c - the test server's handlers and socket helpers.
 */
#include "http_testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>

void leak_check(void)
{
	if (__lsan_do_recoverable_leak_check())
		test_fail(__FILE__, __LINE__, "memory leaked (see the report above)");
}
#else
void leak_check(void)
{
}
#endif

/* ---- handlers ---- */

static void h_echo(struct tsrv *s, struct http_request *req)
{
	struct buf b = BUF_INIT;
	const char *foo = http_request_header(req, "foo");
	const char *auth = http_request_header(req, "authorization");
	struct http_header h[] = {
		{ "Content-Type", "text/plain" },
		{ "X-Seen-Foo", foo ? foo : "" },
		{ "X-Seen-Auth", auth ? auth : "" },
	};

	size_t it = 0, multi = 0;
	char nmulti[16];

	while (http_request_header_next(req, "x-multi", &it))
		multi++;
	snprintf(nmulti, sizeof(nmulti), "%zu", multi);
	http_response_add_header(req, "X-Multi-Count", nmulti);
	http_response_add_header(req, "X-Remote", req->remote_addr);
	buf_addf(&b, "%s %s %s|%s", req->method, req->path, req->query,
		 req->body.data);
	http_respond(req, 200, h, 3, b.data, b.len);
	buf_release(&b);
}

static void h_peer(struct tsrv *s, struct http_request *req)
{
	struct buf b = BUF_INIT;
	const struct tls_peer *p = req->peer;

	if (p) {
		buf_addf(&b, "%s|", p->cn ? p->cn : "");
		for (size_t i = 0; i < p->n_orgs; i++)
			buf_addf(&b, "%s%s", i ? "," : "", p->orgs[i]);
		buf_addf(&b, "|%d", p->verified);
	} else {
		buf_addstr(&b, "plain");
	}
	http_respond(req, 200, NULL, 0, b.data, b.len);
	buf_release(&b);
}

static void on_cancel(struct http_request *req, void *data)
{
	struct tsrv *s = data;

	__atomic_add_fetch(&s->st.cancelled, 1, __ATOMIC_SEQ_CST);
}

struct streamer {
	uv_timer_t t;
	struct tsrv *s;
	struct http_request *req;
	int n;
};

static void streamer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void streamer_tick(uv_timer_t *t)
{
	struct streamer *st = t->data;
	char line[32];
	int len = snprintf(line, sizeof(line), "chunk-%d\n", st->n);

	__atomic_store_n(&st->s->st.stream_sent_ns[st->n], mono_ns(), __ATOMIC_SEQ_CST);
	if (http_stream_write(st->req, line, (size_t)len) == -EPIPE)
		st->n = 4;	/* the client is gone: stop */
	if (++st->n == 5) {
		http_stream_end(st->req);
		uv_close((uv_handle_t *)t, streamer_closed);
	}
}

static void h_stream(struct tsrv *s, struct http_request *req)
{
	struct streamer *st = xcalloc(1, sizeof(*st));
	struct http_header h = { "Content-Type", "text/plain" };

	st->s = s;
	st->req = req;
	http_request_on_cancel(req, on_cancel, s);
	uv_timer_init(&s->loop, &st->t);
	st->t.data = st;
	http_stream_start(req, 200, &h, 1);
	uv_timer_start(&st->t, streamer_tick, 100, 100);
}

static void h_flood(struct tsrv *s, struct http_request *req)
{
	static char chunk[64 * 1024];
	size_t maxq = 0, written = 0;
	int rc = 0;

	memset(chunk, 'x', sizeof(chunk));
	http_request_on_cancel(req, on_cancel, s);
	http_stream_start(req, 200, NULL, 0);
	for (int i = 0; i < 100000 && rc == 0; i++) {
		rc = http_stream_write(req, chunk, sizeof(chunk));
		if (rc == 0)
			written += sizeof(chunk);
		if (http_stream_queued(req) > maxq)
			maxq = http_stream_queued(req);
	}
	s->st.flood_max_queued = maxq;
	s->st.flood_written = written;
	__atomic_store_n(&s->st.flood_err, rc, __ATOMIC_SEQ_CST);
	http_stream_end(req);
}

static void h_big(struct tsrv *s, struct http_request *req)
{
	size_t len = 16 * 1024 * 1024;
	char *big = xmalloc(len);

	memset(big, 'b', len);
	http_respond(req, 200, NULL, 0, big, len);
	free(big);
}

struct later {
	uv_timer_t t;
	struct tsrv *s;
	struct http_request *req;
};

static void later_fire(uv_timer_t *t)
{
	struct later *l = t->data;
	int rc = http_respond(l->req, 200, NULL, 0, "late", 4);

	__atomic_store_n(&l->s->st.late_answer_rc, rc, __ATOMIC_SEQ_CST);
	__atomic_store_n(&l->s->st.async_done, 1, __ATOMIC_SEQ_CST);
	uv_close((uv_handle_t *)t, streamer_closed);
}

static void h_async(struct tsrv *s, struct http_request *req)
{
	struct later *l = xcalloc(1, sizeof(*l));
	char *never = NULL;

	l->s = s;
	l->req = req;
	http_request_on_cancel(req, on_cancel, s);
	uv_timer_init(&s->loop, &l->t);
	l->t.data = l;
	http_request_query(req, "never", 0, &never);
	uv_timer_start(&l->t, later_fire, never ? 800 : 300, 0);
	free(never);
}

static void echo_read(struct http_tunnel *t, const void *data, size_t len, void *ud)
{
	if (len >= 4 && !memcmp(data, "quit", 4)) {
		http_tunnel_close(t);
		return;
	}
	http_tunnel_write(t, data, len);
}

static void echo_close(struct http_tunnel *t, int err, void *ud)
{
	struct tsrv *s = ud;

	__atomic_add_fetch(&s->st.tunnels_closed, 1, __ATOMIC_SEQ_CST);
}

static const struct http_tunnel_cbs echo_cbs = {
	.on_read = echo_read,
	.on_close = echo_close,
};

static void h_upgrade(struct tsrv *s, struct http_request *req)
{
	struct http_header h = { "Upgrade", "echo" };
	struct http_tunnel *t;

	if (!req->upgrade) {
		http_respond_error(req, 400, "upgrade required");
		return;
	}
	http_upgrade(req, &h, 1, &echo_cbs, s, &t);
}

static const struct {
	const char *path;
	void (*fn)(struct tsrv *s, struct http_request *req);
} routes[] = {
	{ "/echo", h_echo }, { "/peer", h_peer }, { "/stream", h_stream },
	{ "/flood", h_flood }, { "/big", h_big }, { "/async", h_async }, { "/upgrade", h_upgrade },
};

static void handler(struct http_request *req, void *data)
{
	struct tsrv *s = data;

	__atomic_add_fetch(&s->st.requests, 1, __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (!strcmp(req->path, routes[i].path)) {
			routes[i].fn(s, req);
			return;
		}
	}
	http_respond_error(req, 404, "not found");
}

/* ---- server thread ---- */

static void stop_cb(uv_async_t *a)
{
	struct tsrv *s = a->data;

	http_server_close(s->srv, NULL, NULL);
	uv_close((uv_handle_t *)a, NULL);
}

static void *tsrv_main(void *arg)
{
	struct tsrv *s = arg;

	uv_run(&s->loop, UV_RUN_DEFAULT);
	return NULL;
}

void tsrv_start(struct tsrv *s)
{
	ASSERT_OK(uv_loop_init(&s->loop));
	s->opts.handler = handler;
	s->opts.handler_data = s;
	ASSERT_OK(http_server_new(&s->loop, &s->opts, &s->srv));
	s->listen_rc = http_server_listen(s->srv, s->addr ? s->addr : "127.0.0.1:0");
	ASSERT_TRUE(s->listen_rc >= 0);
	s->port = http_server_port(s->srv, s->listen_rc);
	ASSERT_TRUE(s->port > 0);
	uv_async_init(&s->loop, &s->stop, stop_cb);
	s->stop.data = s;
	ASSERT_OK(pthread_create(&s->th, NULL, tsrv_main, s));
}

void tsrv_stop(struct tsrv *s)
{
	uv_async_send(&s->stop);
	ASSERT_OK(pthread_join(s->th, NULL));
	ASSERT_OK(uv_loop_close(&s->loop));
}

/* ---- sockets ---- */

int raw_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

void raw_send(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

size_t raw_read_until(int fd, char *out, size_t cap, const char *needle,
		      int timeout_ms, int *eof)
{
	uint64_t end = mono_ms() + (uint64_t)timeout_ms;
	size_t have = strlen(out);

	*eof = 0;
	while (!needle || !strstr(out, needle)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = (int64_t)(end - mono_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = recv(fd, out + have, cap - 1 - have, 0);
		if (n <= 0) {
			*eof = 1;
			break;
		}
		have += (size_t)n;
		out[have] = '\0';
		if (have == cap - 1)
			break;
	}
	return have;
}

size_t raw_read_some(int fd, char *out, size_t cap, int timeout_ms, int *eof)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t have = strlen(out);
	ssize_t n;

	*eof = 0;
	if (poll(&p, 1, timeout_ms) <= 0)
		return have;
	n = recv(fd, out + have, cap - 1 - have, 0);
	if (n <= 0) {
		*eof = 1;
		return have;
	}
	have += (size_t)n;
	out[have] = '\0';
	return have;
}

int raw_wait_closed(int fd, int timeout_ms)
{
	uint64_t start = mono_ms(), end = start + (uint64_t)timeout_ms;
	char buf[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = (int64_t)(end - mono_ms());

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		if (recv(fd, buf, sizeof(buf), 0) <= 0)
			return (int)(mono_ms() - start);
	}
}

/* ---- certificates ---- */

const char *certp(const char *dir, const char *name)
{
	static char bufs[8][512];
	static int slot;
	char *b = bufs[slot++ % 8];

	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

void make_certs(const char *dir)
{
	char *cmd = xasprintf(
		"set -e; cd '%s'; exec 2>openssl.log; K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';"
		"openssl req -x509 $K -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca;"
		"openssl req -x509 $K -keyout ca2.key -out ca2.crt -days 2 -subj /CN=other-ca;"
		"openssl req $K -keyout srv.key -out srv.csr -subj /CN=k1s-server;"
		"echo 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1' > srv.ext;"
		"openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
		" -out srv.crt -days 2 -extfile srv.ext;"
		"openssl req $K -keyout cli.key -out cli.csr -subj '/O=dev/O=ops/CN=alice';"
		"echo 'extendedKeyUsage=clientAuth' > cli.ext;"
		"openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
		" -out cli.crt -days 2 -extfile cli.ext;"
		"openssl req $K -keyout other.key -out other.csr -subj /CN=mallory;"
		"openssl x509 -req -in other.csr -CA ca2.crt -CAkey ca2.key -CAcreateserial"
		" -out other.crt -days 2 -extfile cli.ext", dir);

	if (system(cmd) != 0 && system(cmd) != 0)
		test_fail(__FILE__, __LINE__, "openssl could not make test certificates");
	free(cmd);
}
