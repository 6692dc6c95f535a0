/*
 * tests/unit/tls_test.c - lib/tls on its own (two tls_conns wired together in
 * memory) and HTTPS through lib/http on loopback, with certificates the test
 * makes with the openssl CLI.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_testlib.h"
#include "test.h"

static struct tls_config *server_cfg(const char *d, enum tls_client_auth mode)
{
	struct tls_config_opts o = {
		.server = true, .cert_file = certp(d, "srv.crt"),
		.key_file = certp(d, "srv.key"), .ca_file = certp(d, "ca.crt"),
		.client_auth = mode,
	};
	struct tls_config *cfg;
	char *err = NULL;

	if (tls_config_new(&o, &cfg, &err) < 0)
		test_fail(__FILE__, __LINE__, "server config: %s", err);
	return cfg;
}

/* A client config trusting ca (file name), with cert/key when cert is set. */
static struct tls_config *client_cfg(const char *d, const char *ca, const char *cert,
				     const char *key)
{
	struct tls_config_opts o = { .ca_file = certp(d, ca) };
	struct tls_config *cfg;
	char *err = NULL;

	if (cert) {
		o.cert_file = certp(d, cert);
		o.key_file = certp(d, key);
	}
	if (tls_config_new(&o, &cfg, &err) < 0)
		test_fail(__FILE__, __LINE__, "client config: %s", err);
	return cfg;
}

/* Moves ciphertext between a and b until neither has output. */
static void shuttle(struct tls_conn *a, struct tls_conn *b)
{
	for (int i = 0; i < 50; i++) {
		struct buf x = BUF_INIT, y = BUF_INIT;

		tls_conn_take_output(a, &x);
		tls_conn_take_output(b, &y);
		if (!x.len && !y.len)
			return;
		if (x.len)
			tls_conn_feed(b, x.data, x.len);
		if (y.len)
			tls_conn_feed(a, y.data, y.len);
		buf_release(&x);
		buf_release(&y);
		tls_conn_handshake(a);
		tls_conn_handshake(b);
	}
}

TEST(tls_memory_pair)
{
	const char *d = test_tmpdir();
	struct tls_config *sc, *cc;
	struct tls_conn *s, *c;
	char buf[64];
	const struct tls_peer *p;

	char *cert, *key, *ca, *err = NULL;
	size_t len;

	make_certs(d);
	sc = server_cfg(d, TLS_CLIENT_AUTH_OPTIONAL);
	/* the client side is built from PEM bytes instead of files */
	ASSERT_OK(read_file(certp(d, "cli.crt"), 1 << 20, &cert, &len));
	ASSERT_OK(read_file(certp(d, "cli.key"), 1 << 20, &key, &len));
	ASSERT_OK(read_file(certp(d, "ca.crt"), 1 << 20, &ca, &len));
	struct tls_config_opts co = { .cert_pem = cert, .key_pem = key, .ca_pem = ca };
	if (tls_config_new(&co, &cc, &err) < 0)
		test_fail(__FILE__, __LINE__, "client config from PEM: %s", err);
	ASSERT_FALSE(tls_config_is_server(cc));
	free(cert);
	free(key);
	free(ca);
	ASSERT_OK(tls_conn_new(sc, NULL, &s));
	ASSERT_OK(tls_conn_new(cc, "localhost", &c));
	ASSERT_EQ(tls_conn_read(s, buf, sizeof(buf)), -EAGAIN);
	ASSERT_EQ(tls_conn_handshake(c), -EAGAIN);
	shuttle(c, s);
	ASSERT_TRUE(tls_conn_handshake_done(c));
	ASSERT_TRUE(tls_conn_handshake_done(s));
	ASSERT_STR_EQ(tls_conn_alpn(s), "http/1.1");
	ASSERT_STR_EQ(tls_conn_alpn(c), "http/1.1");
	p = tls_conn_peer(s);
	ASSERT_TRUE(p->has_cert && p->verified);
	ASSERT_STR_EQ(p->cn, "alice");
	ASSERT_EQ(p->n_orgs, 2);
	ASSERT_STR_EQ(p->orgs[0], "dev");
	ASSERT_STR_EQ(p->orgs[1], "ops");
	ASSERT_STR_EQ(tls_conn_peer(c)->cn, "k1s-server");
	ASSERT_OK(tls_conn_write(c, "hello", 5));
	shuttle(c, s);
	ASSERT_EQ(tls_conn_read(s, buf, sizeof(buf)), 5);
	ASSERT_TRUE(!memcmp(buf, "hello", 5));
	ASSERT_EQ(tls_conn_read(s, buf, sizeof(buf)), -EAGAIN);
	ASSERT_OK(tls_conn_close_notify(c));
	shuttle(c, s);
	ASSERT_EQ(tls_conn_read(s, buf, sizeof(buf)), 0);
	/* garbage instead of a record is an error, not a crash */
	tls_conn_feed(c, "\x17\x03\x03\x00\x05zzzzz", 10);
	ASSERT_EQ(tls_conn_read(c, buf, sizeof(buf)), -EPROTO);
	tls_conn_free(s);
	tls_conn_free(c);
	tls_config_unref(sc);
	tls_config_unref(cc);
	leak_check();
}

TEST(tls_config_errors)
{
	const char *d = test_tmpdir();
	struct tls_config_opts o = { .server = true };
	struct tls_config *cfg;
	char *err = NULL;

	make_certs(d);
	ASSERT_EQ(tls_config_new(&o, &cfg, &err), -EINVAL);	/* no cert */
	ASSERT_NULL(cfg);
	free(err);
	o.cert_file = certp(d, "srv.crt");
	o.key_file = certp(d, "cli.key");			/* wrong key */
	ASSERT_EQ(tls_config_new(&o, &cfg, &err), -EINVAL);
	ASSERT_STR_EQ(err, "key does not match certificate");
	free(err);
	o.key_file = certp(d, "missing.key");
	ASSERT_EQ(tls_config_new(&o, &cfg, &err), -ENOENT);
	ASSERT_NOT_NULL(strstr(err, "missing.key"));
	free(err);
	o.key_file = NULL;
	o.key_pem = "-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n";
	ASSERT_EQ(tls_config_new(&o, &cfg, &err), -EINVAL);
	free(err);
	o.key_pem = NULL;
	o.key_file = certp(d, "srv.key");
	o.ca_file = NULL;
	o.client_auth = TLS_CLIENT_AUTH_REQUIRED;		/* without a CA */
	ASSERT_EQ(tls_config_new(&o, &cfg, &err), -EINVAL);
	free(err);
	o.client_auth = 7;
	ASSERT_EQ(tls_config_new(&o, &cfg, &err), -EINVAL);
	free(err);
	struct tls_config_opts co = { 0 };			/* client without CA */
	ASSERT_EQ(tls_config_new(&co, &cfg, &err), -EINVAL);
	free(err);
	co.insecure_skip_verify = true;
	ASSERT_OK(tls_config_new(&co, &cfg, NULL));
	tls_config_unref(cfg);
	leak_check();
}

static int fetch_tls(struct tls_config *cc, const char *url, struct http_response *r)
{
	struct http_client_opts co = { .tls = cc };
	struct http_call_opts o = { .url = url, .timeout_ms = 5000 };

	return http_fetch(&co, &o, r);
}

TEST(tls_https_client_certificates)
{
	const char *d = test_tmpdir();
	struct tsrv s = { 0 };
	struct tls_config *with, *without, *other;
	struct http_response r;
	char *u, *u_name;

	make_certs(d);
	s.opts.tls = server_cfg(d, TLS_CLIENT_AUTH_OPTIONAL);
	tsrv_start(&s);
	with = client_cfg(d, "ca.crt", "cli.crt", "cli.key");
	without = client_cfg(d, "ca.crt", NULL, NULL);
	other = client_cfg(d, "ca.crt", "other.crt", "other.key");
	u = xasprintf("https://127.0.0.1:%d/peer", s.port);
	u_name = xasprintf("https://localhost:%d/peer", s.port);
	ASSERT_OK(fetch_tls(with, u, &r));
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(r.body.data, "alice|dev,ops|1");
	http_response_release(&r);
	ASSERT_OK(fetch_tls(without, u_name, &r));
	ASSERT_STR_EQ(r.body.data, "||0");
	http_response_release(&r);
	/* a certificate from an unknown CA is seen but not verified */
	ASSERT_OK(fetch_tls(other, u, &r));
	ASSERT_STR_EQ(r.body.data, "mallory||0");
	http_response_release(&r);
	/* a plain request to the TLS port fails cleanly */
	struct http_client_opts pco = { 0 };
	struct http_call_opts po = { .timeout_ms = 3000 };
	char *plain = xasprintf("http://127.0.0.1:%d/peer", s.port);
	po.url = plain;
	ASSERT_TRUE(http_fetch(&pco, &po, &r) < 0);
	http_response_release(&r);
	free(plain);
	free(u);
	free(u_name);
	tls_config_unref(with);
	tls_config_unref(without);
	tls_config_unref(other);
	tsrv_stop(&s);
	tls_config_unref(s.opts.tls);
	leak_check();
}

TEST(tls_wrong_ca_or_name_fails)
{
	const char *d = test_tmpdir();
	struct tsrv s = { 0 }, s2 = { 0 };
	struct tls_config *wrong, *right;
	struct http_response r;
	char *u, *u2;

	make_certs(d);
	s.opts.tls = server_cfg(d, TLS_CLIENT_AUTH_NONE);
	tsrv_start(&s);
	wrong = client_cfg(d, "ca2.crt", NULL, NULL);
	right = client_cfg(d, "ca.crt", NULL, NULL);
	u = xasprintf("https://127.0.0.1:%d/peer", s.port);
	ASSERT_EQ(fetch_tls(wrong, u, &r), -EACCES);
	ASSERT_OK(fetch_tls(right, u, &r));
	ASSERT_STR_EQ(r.body.data, "||0");
	http_response_release(&r);
	/* 127.0.0.2 is not in the certificate's IP SANs */
	s2.opts.tls = s.opts.tls;
	s2.addr = "127.0.0.2:0";
	tsrv_start(&s2);
	u2 = xasprintf("https://127.0.0.2:%d/peer", s2.port);
	ASSERT_EQ(fetch_tls(right, u2, &r), -EACCES);
	/* ... unless the client is told which name to verify instead */
	struct http_client_opts co = { .tls = right, .server_name = "localhost" };
	struct http_call_opts o = { .url = u2, .timeout_ms = 5000 };
	ASSERT_OK(http_fetch(&co, &o, &r));
	ASSERT_EQ(r.status, 200);
	http_response_release(&r);
	tsrv_stop(&s2);
	free(u);
	free(u2);
	tls_config_unref(wrong);
	tls_config_unref(right);
	tsrv_stop(&s);
	tls_config_unref(s.opts.tls);
	leak_check();
}

TEST(tls_silent_client_closed_after_header_timeout)
{
	const char *d = test_tmpdir();
	struct tsrv s = { 0 };
	int fd, waited;

	make_certs(d);
	s.opts.tls = server_cfg(d, TLS_CLIENT_AUTH_NONE);
	s.opts.header_timeout_ms = 200;
	tsrv_start(&s);
	fd = raw_connect(s.port);
	raw_sends(fd, "\x16\x03\x01");	/* a ClientHello that never finishes */
	waited = raw_wait_closed(fd, 3000);
	ASSERT_TRUE(waited >= 100 && waited < 1500);
	close(fd);
	tsrv_stop(&s);
	tls_config_unref(s.opts.tls);
	leak_check();
}

TEST(tls_required_client_cert)
{
	const char *d = test_tmpdir();
	struct tsrv s = { 0 };
	struct tls_config *with, *without;
	struct http_response r;
	char *u;

	make_certs(d);
	s.opts.tls = server_cfg(d, TLS_CLIENT_AUTH_REQUIRED);
	tsrv_start(&s);
	with = client_cfg(d, "ca.crt", "cli.crt", "cli.key");
	without = client_cfg(d, "ca.crt", NULL, NULL);
	u = xasprintf("https://127.0.0.1:%d/peer", s.port);
	ASSERT_TRUE(fetch_tls(without, u, &r) < 0);
	ASSERT_OK(fetch_tls(with, u, &r));
	ASSERT_STR_EQ(r.body.data, "alice|dev,ops|1");
	http_response_release(&r);
	free(u);
	tls_config_unref(with);
	tls_config_unref(without);
	tsrv_stop(&s);
	tls_config_unref(s.opts.tls);
	leak_check();
}

TEST(tls_curl_interop_alpn)
{
	const char *d = test_tmpdir();
	struct tsrv s = { 0 };
	char *cmd, out[256] = "";
	FILE *f;

	if (system("command -v curl >/dev/null 2>&1") != 0)
		return;
	make_certs(d);
	s.opts.tls = server_cfg(d, TLS_CLIENT_AUTH_OPTIONAL);
	tsrv_start(&s);
	/* curl offers h2 and http/1.1; the server must settle on 1.1 */
	cmd = xasprintf("curl -s --http2 --cacert %s --cert %s --key %s "
			"-w ' %%{http_version}' https://127.0.0.1:%d/peer",
			certp(d, "ca.crt"), certp(d, "cli.crt"), certp(d, "cli.key"),
			s.port);
	f = popen(cmd, "r");
	ASSERT_NOT_NULL(f);
	ASSERT_TRUE(fgets(out, sizeof(out), f) != NULL);
	pclose(f);
	ASSERT_STR_EQ(out, "alice|dev,ops|1 1.1");
	free(cmd);
	tsrv_stop(&s);
	tls_config_unref(s.opts.tls);
	leak_check();
}

/* ---- upgrade through the client, over TLS ---- */

struct tun_client {
	uv_loop_t *loop;
	struct http_tunnel *t;
	struct buf got;
	int status, closed, done, err;
};

static void tc_read(struct http_tunnel *t, const void *data, size_t len, void *ud)
{
	struct tun_client *tc = ud;

	buf_add(&tc->got, data, len);
	if (strstr(tc->got.data, "hello world"))
		http_tunnel_write(t, "quit", 4);
}

static void tc_close(struct http_tunnel *t, int err, void *ud)
{
	((struct tun_client *)ud)->closed = 1;
}

static const struct http_tunnel_cbs tc_cbs = { .on_read = tc_read, .on_close = tc_close };

static void tc_upgraded(struct http_call *call, const struct http_response *resp,
			struct http_tunnel *t, void *ud)
{
	struct tun_client *tc = ud;

	tc->status = resp->status;
	tc->t = t;
	ASSERT_NOT_NULL(http_tunnel_peer(t));
	ASSERT_STR_EQ(http_tunnel_peer(t)->cn, "k1s-server");
	http_tunnel_write(t, "hello ", 6);
	http_tunnel_write(t, "world", 5);
}

static void tc_complete(struct http_call *call, int err, struct http_response *r, void *ud)
{
	struct tun_client *tc = ud;

	tc->done = 1;
	tc->err = err;
}

TEST(tls_upgrade_tunnel_from_client)
{
	const char *d = test_tmpdir();
	struct tsrv s = { 0 };
	struct tls_config *cc;
	struct tun_client tc = { 0 };
	struct http_client_opts co = { 0 };
	struct http_client *cl;
	struct http_header h[] = { { "Connection", "Upgrade" }, { "Upgrade", "echo" } };
	struct http_call_opts o = {
		.headers = h, .n_headers = 2, .on_complete = tc_complete,
		.on_upgrade = tc_upgraded, .tunnel_cbs = &tc_cbs, .ud = &tc,
	};
	uv_loop_t loop;
	uint64_t end;
	char *u;

	make_certs(d);
	s.opts.tls = server_cfg(d, TLS_CLIENT_AUTH_NONE);
	tsrv_start(&s);
	cc = client_cfg(d, "ca.crt", NULL, NULL);
	co.tls = cc;
	uv_loop_init(&loop);
	ASSERT_OK(http_client_new(&loop, &co, &cl));
	u = xasprintf("https://127.0.0.1:%d/upgrade", s.port);
	o.url = u;
	ASSERT_OK(http_call_start(cl, &o, NULL));
	end = mono_ms() + 5000;
	while (!tc.closed && !tc.done && mono_ms() < end)
		uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
	ASSERT_FALSE(tc.done);
	ASSERT_EQ(tc.status, 101);
	ASSERT_TRUE(tc.closed);
	ASSERT_STR_EQ(tc.got.data, "hello world");
	buf_release(&tc.got);
	free(u);
	http_client_free(cl);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
	tls_config_unref(cc);
	tsrv_stop(&s);
	tls_config_unref(s.opts.tls);
	leak_check();
}

static void count_body(struct http_call *c, const void *data, size_t len, void *ud)
{
	((struct tun_client *)ud)->status++;
}

TEST(tls_stream_non_reader_disconnected)
{
	const char *d = test_tmpdir();
	struct tsrv s = { 0 };
	struct tls_config *cc;
	struct http_client_opts co = { 0 };
	struct http_client *cl;
	struct http_call_opts o = { 0 };
	struct tun_client tc = { 0 };
	uv_loop_t loop;
	uint64_t end;
	int rc;
	char *u;

	make_certs(d);
	s.opts.tls = server_cfg(d, TLS_CLIENT_AUTH_NONE);
	s.opts.max_write_queued = 256 * 1024;
	tsrv_start(&s);
	cc = client_cfg(d, "ca.crt", NULL, NULL);
	co.tls = cc;
	uv_loop_init(&loop);
	ASSERT_OK(http_client_new(&loop, &co, &cl));
	u = xasprintf("https://127.0.0.1:%d/flood", s.port);
	o.url = u;
	o.on_complete = tc_complete;
	o.on_body = count_body;
	o.ud = &tc;
	/* run only until the request is out and the handshake done, then stop
	 * reading by not running the loop at all */
	ASSERT_OK(http_call_start(cl, &o, NULL));
	end = mono_ms() + 10000;
	while (!__atomic_load_n(&s.st.requests, __ATOMIC_SEQ_CST) && mono_ms() < end)
		uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
	while (!(rc = __atomic_load_n(&s.st.flood_err, __ATOMIC_SEQ_CST)) && mono_ms() < end)
		usleep(5000);
	ASSERT_TRUE(rc == -ENOBUFS || rc == -EPIPE);
	ASSERT_LE(s.st.flood_max_queued, 256 * 1024 + 80 * 1024);
	/* the connection is gone; the handler ended its stream itself, so
	 * there was nothing left to cancel */
	while (http_server_conn_count(s.srv) > 0 && mono_ms() < end)
		usleep(5000);
	ASSERT_EQ(http_server_conn_count(s.srv), 0);
	ASSERT_EQ(__atomic_load_n(&s.st.cancelled, __ATOMIC_SEQ_CST), 0);
	ASSERT_FALSE(tc.done);
	free(u);
	http_client_free(cl);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
	tls_config_unref(cc);
	tsrv_stop(&s);
	tls_config_unref(s.opts.tls);
	leak_check();
}

/* ---- figures (K1S_HTTP_BENCH=1 only; prints, never fails on time) ---- */

struct bench {
	struct http_client *cl;
	struct http_call_opts o;
	int left, errors;
};

static void bench_next(struct http_call *call, int err, struct http_response *r,
		       void *ud)
{
	struct bench *b = ud;

	if (err || !r || r->status != 200)
		b->errors++;
	if (--b->left > 0)
		http_call_start(b->cl, &b->o, NULL);
}

static void bench_run(const char *what, struct tls_config *cc, const char *u, int n)
{
	struct http_client_opts co = { .tls = cc };
	struct bench b = { .left = n };
	uv_loop_t loop;
	uint64_t t0;

	uv_loop_init(&loop);
	ASSERT_OK(http_client_new(&loop, &co, &b.cl));
	b.o.url = u;
	b.o.on_complete = bench_next;
	b.o.ud = &b;
	t0 = mono_ns();
	ASSERT_OK(http_call_start(b.cl, &b.o, NULL));
	while (b.left > 0 && uv_run(&loop, UV_RUN_ONCE))
		;
	printf("    %-34s %6d requests %8.0f req/s\n", what, n,
	       n / ((mono_ns() - t0) / 1e9));
	ASSERT_EQ(b.errors, 0);
	http_client_free(b.cl);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
}

TEST(http_bench_figures)
{
	const char *d = test_tmpdir();
	struct tsrv plain = { 0 }, tls = { 0 };
	struct tls_config *cc;
	char *u1, *u2;

	if (!getenv("K1S_HTTP_BENCH"))
		return;
	make_certs(d);
	tls.opts.tls = server_cfg(d, TLS_CLIENT_AUTH_OPTIONAL);
	tsrv_start(&plain);
	tsrv_start(&tls);
	cc = client_cfg(d, "ca.crt", "cli.crt", "cli.key");
	u1 = xasprintf("http://127.0.0.1:%d/echo", plain.port);
	u2 = xasprintf("https://127.0.0.1:%d/echo", tls.port);
	bench_run("plain keep-alive GET", NULL, u1, 20000);
	bench_run("TLS keep-alive GET (client cert)", cc, u2, 20000);
	free(u2);
	/* Connection: close forces a full handshake per request */
	struct http_header h = { "Connection", "close" };
	struct http_client_opts co = { .tls = cc };
	struct http_call_opts o = { .headers = &h, .n_headers = 1, .timeout_ms = 5000 };
	struct http_response r;
	uint64_t t0 = mono_ns();
	u2 = xasprintf("https://127.0.0.1:%d/echo", tls.port);
	o.url = u2;
	for (int i = 0; i < 200; i++) {
		ASSERT_OK(http_fetch(&co, &o, &r));
		http_response_release(&r);
	}
	printf("    %-34s %6d requests %8.0f req/s\n", "TLS new connection per GET", 200,
	       200 / ((mono_ns() - t0) / 1e9));
	free(u1);
	free(u2);
	tls_config_unref(cc);
	tsrv_stop(&plain);
	tsrv_stop(&tls);
	tls_config_unref(tls.opts.tls);
	leak_check();
}
