/*
 * tests/unit/http_test.c - the HTTP/1.1 server and client over plain TCP on
 * loopback (TLS cases are in tls_test.c). The server runs in a thread; see
 * http_testlib.h for its routes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_testlib.h"
#include "test.h"

static char *url(const struct tsrv *s, const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", s->port, path);
}

static int fetch(const struct tsrv *s, const char *method, const char *path,
		 const char *body, struct http_response *resp)
{
	struct http_client_opts co = { 0 };
	struct http_header h = { "Foo", "bar" };
	struct http_call_opts o = {
		.method = method, .headers = &h, .n_headers = 1,
		.body = body, .body_len = body ? strlen(body) : 0,
		.timeout_ms = 5000,
	};
	char *u = url(s, path);
	int rc;

	o.url = u;
	rc = http_fetch(&co, &o, resp);
	free(u);
	return rc;
}

TEST(http_query_and_url_helpers)
{
	char *v = NULL;

	ASSERT_OK(http_query_get("a=1&b=x%20y&a=2&c&d=p+q", "a", 1, &v));
	ASSERT_STR_EQ(v, "2");
	free(v);
	ASSERT_OK(http_query_get("a=1&b=x%20y", "b", 0, &v));
	ASSERT_STR_EQ(v, "x y");
	free(v);
	ASSERT_OK(http_query_get("a=1&c&d=p+q", "c", 0, &v));
	ASSERT_STR_EQ(v, "");
	free(v);
	ASSERT_OK(http_query_get("d=p+q&labelSelector=app%3Dweb", "labelSelector", 0, &v));
	ASSERT_STR_EQ(v, "app=web");
	free(v);
	ASSERT_EQ(http_query_get("a=1", "a", 1, &v), -ENOENT);
	ASSERT_EQ(http_query_get(NULL, "a", 0, &v), -ENOENT);
	ASSERT_EQ(http_query_get("a=%zz", "a", 0, &v), -EINVAL);
	ASSERT_EQ(http_query_count("a=1&b=2&a=3;a", "a"), 3);
	ASSERT_EQ(http_url_decode("%00", 3, false, &v), -EINVAL);
	ASSERT_EQ(http_url_decode("ab%4", 4, false, &v), -EINVAL);
	ASSERT_OK(http_url_decode("a+b%2Fc", 7, false, &v));
	ASSERT_STR_EQ(v, "a+b/c");
	free(v);
	struct buf b = BUF_INIT;
	http_url_encode(&b, "a b/c=d~");
	ASSERT_STR_EQ(b.data, "a%20b%2Fc%3Dd~");
	buf_release(&b);
	ASSERT_STR_EQ(http_status_text(431), "Request Header Fields Too Large");
	leak_check();
}

TEST(http_get_post_round_trip)
{
	struct tsrv s = { 0 };
	struct http_response r;

	tsrv_start(&s);
	ASSERT_OK(fetch(&s, "GET", "/echo/../echo?x=1&y=%41", NULL, &r));
	ASSERT_EQ(r.status, 404);	/* no path cleaning: /echo/../echo is not /echo */
	http_response_release(&r);
	ASSERT_OK(fetch(&s, "GET", "/echo?x=1&y=%41", NULL, &r));
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(r.body.data, "GET /echo x=1&y=%41|");
	ASSERT_STR_EQ(http_response_header(&r, "x-seen-foo"), "bar");
	ASSERT_STR_EQ(http_response_header(&r, "content-type"), "text/plain");
	ASSERT_TRUE(str_has_prefix(http_response_header(&r, "x-remote"), "127.0.0.1:"));
	http_response_release(&r);
	ASSERT_OK(fetch(&s, "POST", "/echo", "{\"kind\":\"Pod\"}", &r));
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(r.body.data, "POST /echo |{\"kind\":\"Pod\"}");
	http_response_release(&r);
	ASSERT_OK(fetch(&s, "HEAD", "/echo", NULL, &r));
	ASSERT_EQ(r.status, 200);
	ASSERT_EQ(r.body.len, 0);
	http_response_release(&r);
	tsrv_stop(&s);
	leak_check();
}

/* Reads n complete Content-Length responses from a raw socket. */
static void read_responses(int fd, char *out, size_t cap, int n)
{
	int eof = 0;

	out[0] = '\0';
	for (;;) {
		const char *p = out;
		int got = 0;

		while ((p = strstr(p, "HTTP/1.1 "))) {
			const char *cl = strstr(p, "Content-Length: ");
			const char *hend = strstr(p, "\r\n\r\n");

			if (!cl || !hend || strlen(hend + 4) < (size_t)atoi(cl + 16))
				break;
			got++;
			p = hend + 4 + atoi(cl + 16);
		}
		if (got >= n || eof)
			return;
		raw_read_some(fd, out, cap, 2000, &eof);
	}
}

TEST(http_keepalive_and_pipelining)
{
	static const char reqs[] =
		"GET /echo?n=1 HTTP/1.1\r\nHost: x\r\n\r\n"
		"POST /echo?n=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
		"POST /echo?n=3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
		"GET /echo?n=4 HTTP/1.1\r\nHost: x\r\nX-Multi: a\r\nx-multi: b\r\n"
		"X-MULTI: c\r\n\r\n";
	struct tsrv s = { 0 };
	static char out[8192];
	const char *a, *b, *c, *d;
	int fd;

	tsrv_start(&s);
	fd = raw_connect(s.port);
	ASSERT_TRUE(fd >= 0);
	raw_send(fd, reqs, sizeof(reqs) - 1);
	read_responses(fd, out, sizeof(out), 4);
	a = strstr(out, "GET /echo n=1|");
	b = strstr(out, "POST /echo n=2|hello");
	c = strstr(out, "POST /echo n=3|abcde");
	d = strstr(out, "GET /echo n=4|");
	ASSERT_TRUE(a && b && c && d);
	ASSERT_TRUE(a < b && b < c && c < d);	/* in order */
	ASSERT_NOT_NULL(strstr(out, "X-Multi-Count: 3\r\n"));	/* repeated, any case */
	/* the connection is still open: one more request on it */
	out[0] = '\0';
	raw_sends(fd, "GET /echo?n=5 HTTP/1.1\r\n\r\n");
	read_responses(fd, out, sizeof(out), 1);
	ASSERT_NOT_NULL(strstr(out, "GET /echo n=5|"));
	ASSERT_EQ(__atomic_load_n(&s.st.requests, __ATOMIC_SEQ_CST), 5);
	close(fd);
	tsrv_stop(&s);
	leak_check();
}

TEST(http_pipelining_behind_async_answer)
{
	struct tsrv s = { 0 };
	static char out[8192];
	const char *a, *b;
	int fd;

	tsrv_start(&s);
	fd = raw_connect(s.port);
	raw_sends(fd, "GET /async HTTP/1.1\r\n\r\nGET /echo?after HTTP/1.1\r\n\r\n");
	read_responses(fd, out, sizeof(out), 2);
	a = strstr(out, "\r\n\r\nlate");
	b = strstr(out, "GET /echo after|");
	ASSERT_TRUE(a && b && a < b);	/* the slow answer still goes first */
	close(fd);
	tsrv_stop(&s);
	leak_check();
}

TEST(http_server_close_with_live_stream_and_tunnel)
{
	struct tsrv s = { 0 };
	char out[4096] = "";
	int f1, f2, eof;
	uint64_t end;

	tsrv_start(&s);
	f1 = raw_connect(s.port);
	raw_sends(f1, "GET /stream HTTP/1.1\r\n\r\n");
	raw_read_until(f1, out, sizeof(out), "chunk-0", 3000, &eof);
	f2 = raw_connect(s.port);
	out[0] = '\0';
	raw_sends(f2, "GET /upgrade HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
	raw_read_until(f2, out, sizeof(out), "\r\n\r\n", 3000, &eof);
	ASSERT_TRUE(str_has_prefix(out, "HTTP/1.1 101 "));
	tsrv_stop(&s);		/* with both still open */
	ASSERT_EQ(__atomic_load_n(&s.st.cancelled, __ATOMIC_SEQ_CST), 1);
	ASSERT_EQ(__atomic_load_n(&s.st.tunnels_closed, __ATOMIC_SEQ_CST), 1);
	end = mono_ms() + 3000;
	ASSERT_TRUE(raw_wait_closed(f1, (int)(end - mono_ms())) >= 0);
	ASSERT_TRUE(raw_wait_closed(f2, (int)(end - mono_ms())) >= 0);
	close(f1);
	close(f2);
	leak_check();
}

TEST(http_10_and_connection_close)
{
	struct tsrv s = { 0 };
	char out[4096] = "";
	int fd, eof;

	tsrv_start(&s);
	fd = raw_connect(s.port);
	raw_sends(fd, "GET /echo HTTP/1.0\r\n\r\n");
	raw_read_until(fd, out, sizeof(out), NULL, 3000, &eof);
	ASSERT_TRUE(eof);
	ASSERT_TRUE(str_has_prefix(out, "HTTP/1.1 200 OK\r\n"));
	ASSERT_NOT_NULL(strstr(out, "Connection: close\r\n"));
	ASSERT_NOT_NULL(strstr(out, "GET /echo |"));
	close(fd);
	fd = raw_connect(s.port);
	out[0] = '\0';
	raw_sends(fd, "GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
	raw_read_until(fd, out, sizeof(out), NULL, 3000, &eof);
	ASSERT_TRUE(eof);
	ASSERT_NOT_NULL(strstr(out, "GET /echo |"));
	close(fd);
	tsrv_stop(&s);
	leak_check();
}

TEST(http_431_on_huge_headers)
{
	struct tsrv s = { 0 };
	char out[4096] = "";
	struct buf req = BUF_INIT;
	int fd, eof;

	tsrv_start(&s);
	buf_addstr(&req, "GET /echo HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 200; i++) {
		buf_addf(&req, "X-Filler-%d: ", i);
		for (int j = 0; j < 500; j++)
			buf_addch(&req, 'a');
		buf_addstr(&req, "\r\n");
	}
	buf_addstr(&req, "\r\n");
	fd = raw_connect(s.port);
	raw_send(fd, req.data, req.len);
	raw_read_until(fd, out, sizeof(out), "\r\n\r\n", 3000, &eof);
	ASSERT_TRUE(str_has_prefix(out, "HTTP/1.1 431 "));
	ASSERT_TRUE(raw_wait_closed(fd, 5000) >= 0);
	close(fd);
	ASSERT_EQ(__atomic_load_n(&s.st.requests, __ATOMIC_SEQ_CST), 0);
	buf_release(&req);
	tsrv_stop(&s);
	leak_check();
}

static void json_status_body(const struct http_request *req, int status,
			     const char *message, struct buf *body,
			     const char **content_type, void *data)
{
	buf_addf(body, "{\"kind\":\"Status\",\"code\":%d,\"message\":\"%s\"}",
		 status, message);
	*content_type = "application/json";
}

TEST(http_413_on_huge_body_and_expect)
{
	struct tsrv s = { 0 };
	char out[4096] = "";
	struct buf req = BUF_INIT;
	int fd, eof;

	s.opts.max_body_bytes = 1024;
	s.opts.error_body = json_status_body;
	tsrv_start(&s);
	/* declared length over the limit: rejected before the body is read */
	fd = raw_connect(s.port);
	raw_sends(fd, "POST /echo HTTP/1.1\r\nContent-Length: 5000\r\n\r\n");
	raw_read_until(fd, out, sizeof(out), "}", 3000, &eof);
	ASSERT_TRUE(str_has_prefix(out, "HTTP/1.1 413 "));
	ASSERT_NOT_NULL(strstr(out, "Content-Type: application/json\r\n"));
	ASSERT_NOT_NULL(strstr(out, "{\"kind\":\"Status\",\"code\":413,"));
	ASSERT_TRUE(raw_wait_closed(fd, 5000) >= 0);
	close(fd);
	/* chunked body growing over the limit */
	buf_addstr(&req, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 10; i++) {
		buf_addstr(&req, "100\r\n");
		for (int j = 0; j < 256; j++)
			buf_addch(&req, 'z');
		buf_addstr(&req, "\r\n");
	}
	fd = raw_connect(s.port);
	out[0] = '\0';
	raw_send(fd, req.data, req.len);
	raw_read_until(fd, out, sizeof(out), "\r\n\r\n", 3000, &eof);
	ASSERT_TRUE(str_has_prefix(out, "HTTP/1.1 413 "));
	close(fd);
	/* Expect: 100-continue gets an interim answer, then the real one */
	fd = raw_connect(s.port);
	out[0] = '\0';
	raw_sends(fd, "PUT /echo HTTP/1.1\r\nExpect: 100-continue\r\n"
		 "Content-Length: 3\r\n\r\n");
	raw_read_until(fd, out, sizeof(out), "\r\n\r\n", 3000, &eof);
	ASSERT_STR_EQ(out, "HTTP/1.1 100 Continue\r\n\r\n");
	raw_sends(fd, "abc");
	raw_read_until(fd, out, sizeof(out), "|abc", 3000, &eof);
	ASSERT_NOT_NULL(strstr(out, "HTTP/1.1 200 OK"));
	close(fd);
	buf_release(&req);
	tsrv_stop(&s);
	leak_check();
}

TEST(http_slowloris_closed_after_header_timeout)
{
	struct tsrv s = { 0 };
	uint64_t start;
	int fd, waited;

	s.opts.header_timeout_ms = 200;
	tsrv_start(&s);
	fd = raw_connect(s.port);
	start = mono_ms();
	raw_sends(fd, "GET /echo HTTP/1.1\r\n");
	/* trickle a header byte every 50 ms; the server must hang up anyway */
	for (int i = 0; i < 40 && mono_ms() - start < 2000; i++) {
		char c = 'a' + (char)(i % 26);

		if (raw_wait_closed(fd, 50) >= 0)
			break;
		raw_send(fd, &c, 1);
	}
	waited = (int)(mono_ms() - start);
	ASSERT_TRUE(waited >= 150);
	ASSERT_TRUE(waited < 1500);
	close(fd);
	/* an idle connection that never sends is also closed */
	fd = raw_connect(s.port);
	waited = raw_wait_closed(fd, 3000);
	ASSERT_TRUE(waited >= 0);
	close(fd);
	ASSERT_EQ(__atomic_load_n(&s.st.requests, __ATOMIC_SEQ_CST), 0);
	tsrv_stop(&s);
	leak_check();
}

TEST(http_idle_body_and_write_timeouts)
{
	struct tsrv s = { 0 };
	char out[4096] = "";
	int fd, eof, waited, small = 4096;

	s.opts.idle_timeout_ms = 200;
	s.opts.body_timeout_ms = 200;
	s.opts.write_timeout_ms = 300;
	tsrv_start(&s);
	/* idle keep-alive connection after a response */
	fd = raw_connect(s.port);
	raw_sends(fd, "GET /echo HTTP/1.1\r\n\r\n");
	raw_read_until(fd, out, sizeof(out), "GET /echo |", 3000, &eof);
	ASSERT_NOT_NULL(strstr(out, "GET /echo |"));
	waited = raw_wait_closed(fd, 3000);
	ASSERT_TRUE(waited >= 100 && waited < 1500);
	close(fd);
	/* a body that never completes */
	fd = raw_connect(s.port);
	raw_sends(fd, "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
	waited = raw_wait_closed(fd, 3000);
	ASSERT_TRUE(waited >= 100 && waited < 1500);
	close(fd);
	/* a 16 MiB answer to a client that never reads: write stall */
	fd = raw_connect(s.port);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	raw_sends(fd, "GET /big HTTP/1.1\r\n\r\n");
	uint64_t end = mono_ms() + 5000;
	while (http_server_conn_count(s.srv) > 0 && mono_ms() < end)
		usleep(10000);
	ASSERT_EQ(http_server_conn_count(s.srv), 0);
	close(fd);
	tsrv_stop(&s);
	leak_check();
}

TEST(http_stream_non_reader_disconnected)
{
	struct tsrv s = { 0 };
	int fd, small = 4096, rc;
	uint64_t end;

	s.opts.max_write_queued = 256 * 1024;
	tsrv_start(&s);
	fd = raw_connect(s.port);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	raw_sends(fd, "GET /flood HTTP/1.1\r\n\r\n");
	end = mono_ms() + 10000;
	while (!(rc = __atomic_load_n(&s.st.flood_err, __ATOMIC_SEQ_CST)) &&
	       mono_ms() < end)
		usleep(10000);
	ASSERT_TRUE(rc == -ENOBUFS || rc == -EPIPE);
	/* memory stayed bounded: never more than the bound (+ the chunk that
	 * crossed it) was queued in user space */
	ASSERT_LE(s.st.flood_max_queued, 256 * 1024 + 64 * 1024 + 64);
	/* the connection is gone; the handler ended its stream itself, so
	 * there was nothing left to cancel */
	while (http_server_conn_count(s.srv) > 0 && mono_ms() < end)
		usleep(5000);
	ASSERT_EQ(http_server_conn_count(s.srv), 0);
	ASSERT_EQ(__atomic_load_n(&s.st.cancelled, __ATOMIC_SEQ_CST), 0);
	ASSERT_TRUE(raw_wait_closed(fd, 5000) >= 0);
	close(fd);
	tsrv_stop(&s);
	leak_check();
}

/* ---- streaming client ---- */

struct sclient {
	int chunks;
	uint64_t recv_ns[8];
	struct buf body;
	int status;
	int done, err;
};

static void sc_headers(struct http_call *c, const struct http_response *r, void *ud)
{
	((struct sclient *)ud)->status = r->status;
}

static void sc_body(struct http_call *c, const void *data, size_t len, void *ud)
{
	struct sclient *sc = ud;

	if (sc->chunks < 8)
		sc->recv_ns[sc->chunks] = mono_ns();
	sc->chunks++;
	buf_add(&sc->body, data, len);
}

static void sc_done(struct http_call *c, int err, struct http_response *r, void *ud)
{
	struct sclient *sc = ud;

	sc->done = 1;
	sc->err = err;
}

static void run_until(uv_loop_t *loop, int *flag, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;

	while (!*flag && mono_ms() < end)
		uv_run(loop, UV_RUN_NOWAIT), usleep(1000);
}

TEST(http_chunked_stream_delivered_promptly)
{
	struct tsrv s = { 0 };
	struct sclient sc = { 0 };
	struct http_client_opts co = { 0 };
	struct http_client *cl;
	struct http_call_opts o = {
		.on_headers = sc_headers, .on_body = sc_body, .on_complete = sc_done,
		.ud = &sc,
	};
	uv_loop_t loop;
	char *u;

	tsrv_start(&s);
	uv_loop_init(&loop);
	ASSERT_OK(http_client_new(&loop, &co, &cl));
	u = url(&s, "/stream");
	o.url = u;
	ASSERT_OK(http_call_start(cl, &o, NULL));
	run_until(&loop, &sc.done, 5000);
	ASSERT_TRUE(sc.done);
	ASSERT_OK(sc.err);
	ASSERT_EQ(sc.status, 200);
	ASSERT_STR_EQ(sc.body.data, "chunk-0\nchunk-1\nchunk-2\nchunk-3\nchunk-4\n");
	ASSERT_EQ(sc.chunks, 5);	/* each write arrived on its own */
	for (int i = 0; i < 5; i++) {
		uint64_t sent = __atomic_load_n(&s.st.stream_sent_ns[i], __ATOMIC_SEQ_CST);

		ASSERT_TRUE(sc.recv_ns[i] >= sent);
		ASSERT_LT(sc.recv_ns[i] - sent, 60 * 1000000ULL);	/* < 60 ms */
	}
	free(u);
	buf_release(&sc.body);
	http_client_free(cl);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
	tsrv_stop(&s);
	leak_check();
}

TEST(http_stream_cancelled_when_client_leaves)
{
	struct tsrv s = { 0 };
	char out[4096] = "";
	uint64_t end;
	int fd, eof;

	tsrv_start(&s);
	fd = raw_connect(s.port);
	raw_sends(fd, "GET /stream HTTP/1.1\r\n\r\n");
	raw_read_until(fd, out, sizeof(out), "chunk-0", 3000, &eof);
	ASSERT_NOT_NULL(strstr(out, "Transfer-Encoding: chunked\r\n"));
	ASSERT_NOT_NULL(strstr(out, "\r\n8\r\nchunk-0\n\r\n"));
	close(fd);
	end = mono_ms() + 3000;
	while (!__atomic_load_n(&s.st.cancelled, __ATOMIC_SEQ_CST) && mono_ms() < end)
		usleep(5000);
	ASSERT_EQ(__atomic_load_n(&s.st.cancelled, __ATOMIC_SEQ_CST), 1);
	tsrv_stop(&s);
	leak_check();
}

TEST(http_upgrade_echo_tunnel)
{
	struct tsrv s = { 0 };
	char out[4096] = "";
	int fd, eof;
	uint64_t end;

	tsrv_start(&s);
	fd = raw_connect(s.port);
	/* "early" is sent right behind the head and must reach the tunnel */
	raw_sends(fd, "GET /upgrade HTTP/1.1\r\nConnection: Upgrade\r\n"
		 "Upgrade: echo\r\n\r\nearly");
	raw_read_until(fd, out, sizeof(out), "early", 3000, &eof);
	ASSERT_TRUE(str_has_prefix(out, "HTTP/1.1 101 Switching Protocols\r\n"));
	ASSERT_NOT_NULL(strstr(out, "Upgrade: echo\r\n"));
	ASSERT_NOT_NULL(strstr(out, "\r\n\r\nearly"));
	out[0] = '\0';
	raw_sends(fd, "ping");
	raw_read_until(fd, out, sizeof(out), "ping", 3000, &eof);
	ASSERT_STR_EQ(out, "ping");
	raw_sends(fd, "quit");
	ASSERT_TRUE(raw_wait_closed(fd, 5000) >= 0);
	close(fd);
	end = mono_ms() + 5000;
	while (!__atomic_load_n(&s.st.tunnels_closed, __ATOMIC_SEQ_CST) && mono_ms() < end)
		usleep(5000);
	ASSERT_EQ(__atomic_load_n(&s.st.tunnels_closed, __ATOMIC_SEQ_CST), 1);
	/* a plain request to the upgrade route is answered normally */
	fd = raw_connect(s.port);
	out[0] = '\0';
	raw_sends(fd, "GET /upgrade HTTP/1.1\r\n\r\n");
	raw_read_until(fd, out, sizeof(out), "required", 3000, &eof);
	ASSERT_TRUE(str_has_prefix(out, "HTTP/1.1 400 "));
	close(fd);
	tsrv_stop(&s);
	leak_check();
}

TEST(http_malformed_requests_get_400)
{
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n",
		"GET / HTTP/9.9x\r\n\r\n",
		"GET /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
		"GET /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"GET /%zz HTTP/1.1\r\n\r\n",
		"GET /a%00b HTTP/1.1\r\n\r\n",
		"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET /echo HTTP/1.1\r\nBad Header\r\n\r\n",
		"GET /echo HTTP/1.1\r\nX: a\x01\x02\r\n\r\n",
		"GET /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	};
	struct tsrv s = { 0 };

	tsrv_start(&s);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char out[4096] = "";
		int fd = raw_connect(s.port), eof;

		raw_send(fd, bad[i], strlen(bad[i]));
		raw_read_until(fd, out, sizeof(out), "\r\n\r\n", 3000, &eof);
		if (!str_has_prefix(out, "HTTP/1.1 400 "))
			test_fail(__FILE__, __LINE__, "case %zu: got '%.40s'", i, out);
		ASSERT_TRUE(raw_wait_closed(fd, 5000) >= 0);
		close(fd);
	}
	ASSERT_EQ(__atomic_load_n(&s.st.requests, __ATOMIC_SEQ_CST), 0);
	/* the server still works */
	struct http_response r;
	ASSERT_OK(fetch(&s, "GET", "/echo", NULL, &r));
	ASSERT_EQ(r.status, 200);
	http_response_release(&r);
	tsrv_stop(&s);
	leak_check();
}

TEST(http_async_answer_after_client_left)
{
	struct tsrv s = { 0 };
	uint64_t end;
	int fd;

	tsrv_start(&s);
	fd = raw_connect(s.port);
	raw_sends(fd, "GET /async HTTP/1.1\r\n\r\n");
	end = mono_ms() + 3000;
	while (!__atomic_load_n(&s.st.requests, __ATOMIC_SEQ_CST) && mono_ms() < end)
		usleep(2000);
	close(fd);	/* gone before the answer */
	end = mono_ms() + 5000;
	while (!__atomic_load_n(&s.st.async_done, __ATOMIC_SEQ_CST) && mono_ms() < end)
		usleep(5000);
	ASSERT_EQ(__atomic_load_n(&s.st.cancelled, __ATOMIC_SEQ_CST), 1);
	ASSERT_EQ(__atomic_load_n(&s.st.late_answer_rc, __ATOMIC_SEQ_CST), -EPIPE);
	tsrv_stop(&s);
	leak_check();
}

/* ---- async client: reuse, timeout, cancel ---- */

struct cres {
	int done, err, status;
};

static void cres_done(struct http_call *c, int err, struct http_response *r, void *ud)
{
	struct cres *x = ud;

	x->done = 1;
	x->err = err;
	x->status = r ? r->status : 0;
}

TEST(http_client_reuse_timeout_cancel)
{
	struct tsrv s = { 0 };
	struct http_client_opts co = { 0 };
	struct http_client *cl;
	struct cres a = { 0 }, b = { 0 }, t = { 0 }, x = { 0 };
	struct http_call_opts o = { .on_complete = cres_done };
	struct http_call *call;
	uv_loop_t loop;
	char *u1, *u2, *u3;

	tsrv_start(&s);
	uv_loop_init(&loop);
	ASSERT_OK(http_client_new(&loop, &co, &cl));
	u1 = url(&s, "/echo");
	u2 = url(&s, "/async?never=1");
	u3 = xasprintf("http://127.0.0.1:1/");
	o.url = u1;
	o.ud = &a;
	ASSERT_OK(http_call_start(cl, &o, NULL));
	run_until(&loop, &a.done, 3000);
	ASSERT_EQ(a.status, 200);
	o.ud = &b;
	ASSERT_OK(http_call_start(cl, &o, NULL));
	run_until(&loop, &b.done, 3000);
	ASSERT_EQ(b.status, 200);
	ASSERT_EQ(http_server_conn_count(s.srv), 1);	/* the connection was reused */
	o.url = u2;
	o.ud = &t;
	o.timeout_ms = 200;
	ASSERT_OK(http_call_start(cl, &o, NULL));
	run_until(&loop, &t.done, 3000);
	ASSERT_EQ(t.err, -ETIMEDOUT);
	o.timeout_ms = 0;
	o.ud = &x;
	ASSERT_OK(http_call_start(cl, &o, &call));
	uv_run(&loop, UV_RUN_NOWAIT);
	http_call_cancel(call);
	run_until(&loop, &x.done, 300);
	ASSERT_FALSE(x.done);		/* no callback after cancel */
	o.url = u3;			/* nothing listens on port 1 */
	ASSERT_OK(http_call_start(cl, &o, NULL));
	run_until(&loop, &x.done, 3000);
	ASSERT_EQ(x.err, -ECONNREFUSED);
	o.url = "ftp://x/";
	ASSERT_EQ(http_call_start(cl, &o, NULL), -EINVAL);
	o.url = "http://[::1";
	ASSERT_EQ(http_call_start(cl, &o, NULL), -EINVAL);
	o.url = "https://127.0.0.1/";	/* no TLS config */
	ASSERT_EQ(http_call_start(cl, &o, NULL), -EPROTONOSUPPORT);
	free(u1);
	free(u2);
	free(u3);
	http_client_free(cl);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
	tsrv_stop(&s);
	leak_check();
}

TEST(http_client_token_and_body_limit)
{
	struct tsrv s = { 0 };
	struct http_client_opts co = { .bearer_token = "s3cr3t", .max_body_bytes = 1000 };
	struct http_call_opts o = { .timeout_ms = 5000 };
	struct http_response r;
	char *u1 = NULL, *u2 = NULL;

	tsrv_start(&s);
	u1 = url(&s, "/echo");
	u2 = url(&s, "/big");
	o.url = u1;
	ASSERT_OK(http_fetch(&co, &o, &r));
	ASSERT_STR_EQ(http_response_header(&r, "X-Seen-Auth"), "Bearer s3cr3t");
	http_response_release(&r);
	o.url = u2;
	ASSERT_EQ(http_fetch(&co, &o, &r), -EFBIG);
	ASSERT_EQ(r.status, 200);	/* the head had arrived */
	ASSERT_EQ(r.body.len, 0);
	http_response_release(&r);
	free(u1);
	free(u2);
	tsrv_stop(&s);
	leak_check();
}

TEST(http_listen_addresses_and_max_conns)
{
	struct tsrv s = { 0 };
	int fds[3], closed = 0;

	s.opts.max_conns = 2;
	tsrv_start(&s);
	ASSERT_EQ(http_server_listen(s.srv, "nonsense"), -EINVAL);
	ASSERT_EQ(http_server_listen(s.srv, "127.0.0.1:99999"), -EINVAL);
	ASSERT_EQ(http_server_listen(s.srv, "[::1"), -EINVAL);
	for (int i = 0; i < 3; i++)
		fds[i] = raw_connect(s.port);
	for (int i = 0; i < 3; i++)
		closed += raw_wait_closed(fds[i], 300) >= 0;
	ASSERT_EQ(closed, 1);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	tsrv_stop(&s);
	leak_check();
}

static void noop_handler(struct http_request *req, void *data)
{
	http_respond(req, 500, NULL, 0, NULL, 0);
}

TEST(http_ipv6_listener)
{
	struct tsrv s = { 0 };
	struct http_client_opts co = { 0 };
	struct http_call_opts o = { .timeout_ms = 3000 };
	struct http_response r;
	uv_loop_t loop;
	struct http_server *srv;
	struct http_server_opts so = { .handler = noop_handler };
	int idx;
	char *u;

	/* skip quietly when the host has no IPv6 loopback */
	uv_loop_init(&loop);
	ASSERT_OK(http_server_new(&loop, &so, &srv));
	idx = http_server_listen(srv, "[::1]:0");
	http_server_close(srv, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (idx < 0) {
		fprintf(stderr, "    skipped: no IPv6 loopback (%s)\n", strerror(-idx));
		return;
	}
	s.addr = "[::1]:0";
	tsrv_start(&s);
	/* IPV6_V6ONLY lets [::]:P and 0.0.0.0:P coexist (dual stack); only
	 * loopback is ever connected to */
	char *any4 = NULL, *any6 = NULL;
	struct http_server *ds;
	uv_loop_init(&loop);
	ASSERT_OK(http_server_new(&loop, &so, &ds));
	ASSERT_EQ(http_server_listen(ds, "0.0.0.0:0"), 0);
	any6 = xasprintf("[::]:%d", http_server_port(ds, 0));
	ASSERT_EQ(http_server_listen(ds, any6), 1);
	ASSERT_EQ(http_server_port(ds, 1), http_server_port(ds, 0));
	any4 = xasprintf("127.0.0.1:%d", http_server_port(ds, 0));
	ASSERT_EQ(http_server_listen(ds, any4), -EADDRINUSE);
	http_server_close(ds, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
	free(any4);
	free(any6);
	u = xasprintf("http://[::1]:%d/echo?v=6", s.port);
	o.url = u;
	ASSERT_OK(http_fetch(&co, &o, &r));
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(r.body.data, "GET /echo v=6|");
	ASSERT_TRUE(str_has_prefix(http_response_header(&r, "x-remote"), "[::1]:"));
	http_response_release(&r);
	free(u);
	tsrv_stop(&s);
	leak_check();
}
