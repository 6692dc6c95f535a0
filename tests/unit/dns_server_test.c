/* tests/unit/dns_server_test.c - the libuv server on loopback: UDP and TCP
 * over IPv4 and IPv6, truncation, malformed packets, limits, and
 * forwarding to a fake upstream running on the same loop (nothing leaves
 * the machine). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns_int.h"
#include "lib/util.h"
#include "tests/unit/dns_testlib.h"
#include "tests/unit/test.h"

/* ---- a fake upstream: answers every name with 192.0.2.1 (TTL 60),
 * nx.example with NXDOMAIN (SOA minimum 30), big.example with 60 A
 * records, tc.example with TC=1 over UDP and 60 records over TCP, and
 * never answers slow.example. ---- */
struct fake {
	uv_udp_t udp;
	uv_tcp_t tcp;
	uint16_t port;
	int queries, tcp_queries;
	uv_tcp_t *conns[16];	/* open accepted connections */
	bool saw_opt;
	uint16_t opt_size;
	uint8_t out[DNS_MAX_MSG];
};

struct fake_conn {
	uv_tcp_t h;
	struct fake *f;
	uint8_t buf[1024];
	size_t len;
	uv_write_t w;
	uint8_t out[2 + DNS_MAX_MSG];
};

static size_t fake_answer(struct fake *f, const uint8_t *m, size_t n, bool tcp, uint8_t *out)
{
	struct dns__query q;
	struct dns__resp r;
	bool tc;

	if (dns__parse_query(m, n, &q) != 0)
		return 0;
	f->queries++;
	f->tcp_queries += tcp;
	f->saw_opt = q.edns;
	f->opt_size = q.udp_size;
	if (!strcmp(q.name.text, "slow.example"))
		return 0;
	dns__resp_init(&r, &q, out, DNS_MAX_MSG, false);
	if (!strcmp(q.name.text, "nx.example")) {
		r.rcode = DNS_RC_NXDOMAIN;
		size_t off = dns__rr_begin(&r, "example", DNS_T_SOA, 60);
		dns__w_name(&r.w, "ns.example");
		dns__w_name(&r.w, "root.example");
		for (int i = 0; i < 4; i++)
			dns__w_u32(&r.w, 1000);
		dns__w_u32(&r.w, 30);
		dns__rr_end(&r, off);
		r.ns++;
	} else if (!strcmp(q.name.text, "tc.example") && !tcp) {
		r.flags |= 0x0200;
	} else {
		bool big = !strcmp(q.name.text, "big.example") || !strcmp(q.name.text, "tc.example");
		for (int i = 0; i < (big ? 60 : 1); i++, r.an++) {
			size_t off = dns__rr_begin(&r, q.name.orig, DNS_T_A, 60);
			uint8_t ip[4] = { 192, 0, 2, (uint8_t)(i + 1) };
			dns__w_bytes(&r.w, ip, 4);
			dns__rr_end(&r, off);
		}
	}
	return dns__resp_finish(&r, false, &tc);
}

static void fake_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static uint8_t buf[DNS_MAX_MSG];

	*b = uv_buf_init((char *)buf, sizeof(buf));
}

static void fake_read(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
		      const struct sockaddr *from, unsigned flags)
{
	struct fake *f = h->data;
	size_t len;

	if (n <= 0 || !(len = fake_answer(f, (uint8_t *)b->base, (size_t)n, false, f->out)))
		return;
	uv_buf_t ob = uv_buf_init((char *)f->out, (unsigned)len);
	uv_udp_try_send(h, &ob, 1, from);
}

static void fake_conn_closed(uv_handle_t *h)
{
	struct fake_conn *c = h->data;

	for (int i = 0; i < 16; i++)
		if (c->f->conns[i] == &c->h)
			c->f->conns[i] = NULL;
	free(c);
}

static void fake_conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct fake_conn *c = h->data;

	*b = uv_buf_init((char *)c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len));
}

static void fake_conn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct fake_conn *c = st->data;

	if (n < 0 || (c->len += (size_t)n) >= sizeof(c->buf)) {
		uv_close((uv_handle_t *)&c->h, fake_conn_closed);
		return;
	}
	if (c->len < 2 || c->len < 2u + dns__get16(c->buf))
		return;
	size_t l = fake_answer(c->f, c->buf + 2, dns__get16(c->buf), true, c->out + 2);
	dns__put16(c->out, (uint16_t)l);
	uv_buf_t ob = uv_buf_init((char *)c->out, (unsigned)l + 2);
	uv_write(&c->w, st, &ob, 1, NULL);
	c->len = 0;
}

static void fake_accept(uv_stream_t *srv, int status)
{
	struct fake_conn *c = xcalloc(1, sizeof(*c));

	c->f = srv->data;
	uv_tcp_init(srv->loop, &c->h);
	c->h.data = c;
	for (int i = 0; i < 16; i++)
		if (!c->f->conns[i]) {
			c->f->conns[i] = &c->h;
			break;
		}
	if (uv_accept(srv, (uv_stream_t *)&c->h) == 0)
		uv_read_start((uv_stream_t *)&c->h, fake_conn_alloc, fake_conn_read);
	else
		uv_close((uv_handle_t *)&c->h, fake_conn_closed);
}

/* UDP and TCP on one free port: retried when TCP's half is taken. */
static void fake_start(uv_loop_t *loop, struct fake *f)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		struct sockaddr_in a;
		int sz = sizeof(a), ret;

		memset(f, 0, sizeof(*f));
		uv_ip4_addr("127.0.0.1", 0, &a);
		uv_udp_init(loop, &f->udp);
		uv_tcp_init(loop, &f->tcp);
		f->udp.data = f->tcp.data = f;
		if ((ret = uv_udp_bind(&f->udp, (struct sockaddr *)&a, 0)) < 0)
			test_fail(__FILE__, __LINE__, "fake upstream: udp bind: %s", uv_strerror(ret));
		uv_udp_getsockname(&f->udp, (struct sockaddr *)&a, &sz);
		f->port = ntohs(a.sin_port);
		if (uv_tcp_bind(&f->tcp, (struct sockaddr *)&a, 0) == 0 &&
		    uv_listen((uv_stream_t *)&f->tcp, 16, fake_accept) == 0) {
			uv_udp_recv_start(&f->udp, fake_alloc, fake_read);
			return;
		}
		uv_close((uv_handle_t *)&f->udp, NULL);
		uv_close((uv_handle_t *)&f->tcp, NULL);
		uv_run(loop, UV_RUN_NOWAIT);
	}
	test_fail(__FILE__, __LINE__, "fake upstream: no port free for UDP and TCP");
}

/* ---- a client with plain sockets, the loop turned while it waits ---- */

static void sa_for(int family, uint16_t port, struct sockaddr_storage *ss, socklen_t *sl)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		*sl = sizeof(*a);
	}
}

/* Sends q over UDP; waits up to ms for the answer. Returns its length, or
 * 0 when none came. */
static size_t udp_ask(uv_loop_t *loop, int family, uint16_t port, const uint8_t *q,
		      size_t ql, uint8_t *out, int ms)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ssize_t n = -1;

	sa_for(family, port, &ss, &sl);
	if (sendto(fd, q, ql, 0, (struct sockaddr *)&ss, sl) != (ssize_t)ql)
		test_fail(__FILE__, __LINE__, "sendto port %u: %s", port, strerror(errno));
	for (uint64_t end = mono_ms() + (uint64_t)ms; mono_ms() < end && n < 0;) {
		uv_run(loop, UV_RUN_NOWAIT);
		n = recv(fd, out, DNS_MAX_MSG, 0);
		if (n < 0)
			usleep(200);
	}
	close(fd);
	return n < 0 ? 0 : (size_t)n;
}

static int tcp_connect(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = socket(family, SOCK_STREAM, 0);

	sa_for(family, port, &ss, &sl);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0)
		test_fail(__FILE__, __LINE__, "connect port %u: %s", port, strerror(errno));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Reads one length-prefixed message; 0 on timeout or EOF. */
static size_t tcp_read_msg(uv_loop_t *loop, int fd, uint8_t *out, int ms, bool *eof)
{
	static uint8_t buf[2 * DNS_MAX_MSG];
	static size_t have;
	uint64_t end = mono_ms() + (uint64_t)ms;

	*eof = false;
	for (;;) {
		if (have >= 2 && have >= 2u + dns__get16(buf)) {
			size_t l = dns__get16(buf);
			memcpy(out, buf + 2, l);
			memmove(buf, buf + 2 + l, have - 2 - l);
			have -= 2 + l;
			return l;
		}
		if (mono_ms() >= end)
			return 0;
		uv_run(loop, UV_RUN_NOWAIT);
		ssize_t n = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (n == 0) {
			*eof = true;
			have = 0;
			return 0;
		}
		if (n > 0)
			have += (size_t)n;
		else
			usleep(200);
	}
}

static void tcp_send_q(int fd, const uint8_t *q, size_t ql)
{
	uint8_t b[600];

	dns__put16(b, (uint16_t)ql);
	memcpy(b + 2, q, ql);
	if (write(fd, b, ql + 2) != (ssize_t)ql + 2)
		abort();
}

static struct dns_zone *small_zone(void)
{
	struct dns_zone *z = dns_zone_new(NULL);
	struct dns_service web = { .name = "web", .ns = "default", .n_cluster_ips = 2 };
	struct dns_service big = { .name = "big", .ns = "default", .headless = true };
	struct dns_endpoint eps[100];

	dns_addr_parse(&web.cluster_ips[0], "10.43.0.15");
	dns_addr_parse(&web.cluster_ips[1], "fd43::15");
	for (int i = 0; i < 100; i++) {
		eps[i] = (struct dns_endpoint){ .ready = true };
		eps[i].addr.family = AF_INET;
		eps[i].addr.ip[0] = 10, eps[i].addr.ip[3] = (uint8_t)(i + 1);
	}
	if (dns_zone_set_service(z, &web) || dns_zone_set_service(z, &big) ||
	    dns_zone_set_endpoints(z, "default", "big", eps, 100))
		abort();
	return z;
}

static void finish(uv_loop_t *loop, struct dns_server *s, struct fake *f)
{
	dns_server_close(s);
	if (f) {
		uv_close((uv_handle_t *)&f->udp, NULL);
		uv_close((uv_handle_t *)&f->tcp, NULL);
		uv_run(loop, UV_RUN_NOWAIT);
		for (int i = 0; i < 16; i++)
			if (f->conns[i] && !uv_is_closing((uv_handle_t *)f->conns[i]))
				uv_close((uv_handle_t *)f->conns[i], fake_conn_closed);
	}
	uv_run(loop, UV_RUN_DEFAULT);
	ASSERT_EQ(uv_loop_close(loop), 0);	/* every handle closed */
}

TEST(dns_server_udp_tcp)
{
	uv_loop_t loop;
	struct dns_zone *z = small_zone();
	struct dns_server *s;
	const char *listen[] = { "127.0.0.1:0", "[::1]:0", NULL };
	struct dns_server_config cfg = { .listen = listen };
	uint8_t q[600], out[DNS_MAX_MSG];
	struct t_resp r;
	size_t ql, n;
	bool eof;

	uv_loop_init(&loop);
	ASSERT_OK(dns_server_start(&loop, z, &cfg, &s));
	uint16_t p4 = dns_server_port(s, 0), p6 = dns_server_port(s, 1);
	ASSERT_NE(p4, 0);
	ASSERT_NE(p6, 0);

	ql = t_query(q, 11, "web.default.svc.cluster.local", DNS_T_A, 0);
	n = udp_ask(&loop, AF_INET, p4, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.id, 11);
	ASSERT_STR_EQ(r.rr[0].data, "10.43.0.15");
	ql = t_query(q, 12, "web.default.svc.cluster.local", DNS_T_AAAA, 0);
	n = udp_ask(&loop, AF_INET6, p6, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_STR_EQ(r.rr[0].data, "fd43::15");

	/* too big for UDP: TC=1; then over TCP (two pipelined queries) whole */
	ql = t_query(q, 13, "big.default.svc.cluster.local", DNS_T_A, 0);
	n = udp_ask(&loop, AF_INET, p4, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_TRUE(r.tc);
	int fd = tcp_connect(AF_INET6, p6);
	tcp_send_q(fd, q, ql);
	ql = t_query(q, 14, "web.default.svc.cluster.local", DNS_T_A, 0);
	tcp_send_q(fd, q, ql);
	n = tcp_read_msg(&loop, fd, out, 2000, &eof);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.id, 13);
	ASSERT_FALSE(r.tc);
	ASSERT_EQ(r.an, 100);
	n = tcp_read_msg(&loop, fd, out, 2000, &eof);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.id, 14);
	/* a frame that is no DNS message: the connection is closed */
	ASSERT_EQ(write(fd, "\0\3abc", 5), 5);
	ASSERT_EQ(tcp_read_msg(&loop, fd, out, 2000, &eof), 0);
	ASSERT_TRUE(eof);
	close(fd);

	/* malformed UDP: FORMERR, or no answer at all; the server lives on */
	ql = t_query(q, 15, "web.default.svc.cluster.local", DNS_T_A, 0);
	q[5] = 3;
	n = udp_ask(&loop, AF_INET, p4, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.rcode, DNS_RC_FORMERR);
	ASSERT_EQ(udp_ask(&loop, AF_INET, p4, (const uint8_t *)"junk", 4, out, 100), 0);
	/* not forwarding (no resolv.conf): REFUSED */
	ql = t_query(q, 16, "example.com", DNS_T_A, 0);
	n = udp_ask(&loop, AF_INET, p4, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.rcode, DNS_RC_REFUSED);

	const struct dns_stats *st = dns_server_stats(s);
	ASSERT_EQ(st->tcp, 2);
	ASSERT_EQ(st->truncated, 1);
	ASSERT_EQ(st->dropped, 1);
	ASSERT_EQ(st->rcode[DNS_RC_FORMERR], 1);
	finish(&loop, s, NULL);
	dns_zone_free(z);
}

static char *write_resolv(const char *body)
{
	char *path = xasprintf("%s/resolv.conf", test_tmpdir());

	if (write_file_atomic(path, body, strlen(body), 0644) < 0)
		abort();
	return path;
}

TEST(dns_server_forward_cache)
{
	uv_loop_t loop;
	struct dns_zone *z = small_zone();
	struct dns_server *s;
	struct fake f;
	const char *listen[] = { "127.0.0.1:0", NULL };
	char *rc = write_resolv("nameserver 127.0.0.1\n");
	uint8_t q[600], out[DNS_MAX_MSG];
	struct t_resp r;
	size_t ql, n;
	bool eof;

	uv_loop_init(&loop);
	fake_start(&loop, &f);
	struct dns_server_config cfg = { .listen = listen, .resolv_conf = rc,
					 .upstream_port = f.port };
	ASSERT_OK(dns_server_start(&loop, z, &cfg, &s));
	uint16_t port = dns_server_port(s, 0);

	/* forwarded with its OPT record; the answer keeps the client's id */
	ql = t_query(q, 100, "Example.COM", DNS_T_A, 1400);
	n = udp_ask(&loop, AF_INET, port, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.id, 100);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "192.0.2.1");
	ASSERT_EQ(f.queries, 1);
	ASSERT_TRUE(f.saw_opt);
	ASSERT_EQ(f.opt_size, 1400);
	/* the second time from the cache: upstream not asked */
	ql = t_query(q, 101, "example.com", DNS_T_A, 1400);
	n = udp_ask(&loop, AF_INET, port, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.id, 101);
	ASSERT_STR_EQ(r.rr[0].data, "192.0.2.1");
	ASSERT_LE(r.rr[0].ttl, 60);
	ASSERT_EQ(f.queries, 1);
	ASSERT_EQ(dns_server_stats(s)->cache_hits, 1);
	/* a second later the cached TTL has aged by one */
	for (uint64_t end = mono_ms() + 1100; mono_ms() < end;)
		uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
	n = udp_ask(&loop, AF_INET, port, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_LE(r.rr[0].ttl, 59);
	ASSERT_LE(55, r.rr[0].ttl);
	ASSERT_EQ(f.queries, 1);
	/* without EDNS0 it is another cache entry (the answer differs) */
	ql = t_query(q, 102, "example.com", DNS_T_A, 0);
	n = udp_ask(&loop, AF_INET, port, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_FALSE(r.opt);
	ASSERT_EQ(f.queries, 2);
	/* negative answers are cached too */
	for (int i = 0; i < 2; i++) {
		ql = t_query(q, (uint16_t)(103 + i), "nx.example", DNS_T_A, 0);
		n = udp_ask(&loop, AF_INET, port, q, ql, out, 2000);
		ASSERT_OK(t_decode(out, n, &r));
		ASSERT_EQ(r.rcode, DNS_RC_NXDOMAIN);
	}
	ASSERT_EQ(f.queries, 3);
	dns_server_flush_cache(s);
	n = udp_ask(&loop, AF_INET, port, q, ql, out, 2000);
	ASSERT_EQ(f.queries, 4);
	/* a big forwarded answer: TC=1 over UDP, whole over TCP (cached) */
	ql = t_query(q, 105, "big.example", DNS_T_A, 0);
	n = udp_ask(&loop, AF_INET, port, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_TRUE(r.tc);
	ASSERT_EQ(r.an, 0);
	int fd = tcp_connect(AF_INET, port);
	tcp_send_q(fd, q, ql);
	n = tcp_read_msg(&loop, fd, out, 2000, &eof);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.an, 60);
	close(fd);
	ASSERT_EQ(f.queries, 5);
	/* the upstream truncates over UDP: we ask it again over TCP */
	ql = t_query(q, 107, "tc.example", DNS_T_A, 0);
	fd = tcp_connect(AF_INET, port);
	tcp_send_q(fd, q, ql);
	n = tcp_read_msg(&loop, fd, out, 2000, &eof);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.id, 107);
	ASSERT_FALSE(r.tc);
	ASSERT_EQ(r.an, 60);
	close(fd);
	ASSERT_EQ(f.queries, 7);
	ASSERT_EQ(f.tcp_queries, 1);
	/* cluster names are never forwarded */
	ql = t_query(q, 106, "nosuch.default.svc.cluster.local", DNS_T_A, 0);
	n = udp_ask(&loop, AF_INET, port, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.rcode, DNS_RC_NXDOMAIN);
	ASSERT_EQ(f.queries, 7);
	finish(&loop, s, &f);
	dns_zone_free(z);
	free(rc);
}

TEST(dns_server_forward_retry)
{
	uv_loop_t loop;
	struct dns_zone *z = small_zone();
	struct dns_server *s;
	struct fake f;
	const char *listen[] = { "127.0.0.1:0", NULL };
	/* 127.0.0.2 has nobody on the port: the first attempt times out */
	char *rc = write_resolv("nameserver 127.0.0.2\nnameserver 127.0.0.1\n");
	uint8_t q[600], out[DNS_MAX_MSG];
	struct t_resp r;
	size_t ql, n;

	uv_loop_init(&loop);
	fake_start(&loop, &f);
	struct dns_server_config cfg = { .listen = listen, .resolv_conf = rc,
					 .upstream_port = f.port, .upstream_timeout_ms = 100 };
	ASSERT_OK(dns_server_start(&loop, z, &cfg, &s));
	uint16_t port = dns_server_port(s, 0);

	ql = t_query(q, 200, "example.net", DNS_T_A, 0);
	n = udp_ask(&loop, AF_INET, port, q, ql, out, 3000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.rcode, 0);
	ASSERT_STR_EQ(r.rr[0].data, "192.0.2.1");
	ASSERT_EQ(dns_server_stats(s)->forward_timeouts, 1);
	/* never answered: SERVFAIL once the attempts are spent */
	ql = t_query(q, 201, "slow.example", DNS_T_A, 0);
	n = udp_ask(&loop, AF_INET, port, q, ql, out, 3000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.id, 201);
	ASSERT_EQ(r.rcode, DNS_RC_SERVFAIL);
	ASSERT_EQ(dns_server_stats(s)->upstream_queries, 2 + 3);
	finish(&loop, s, &f);
	dns_zone_free(z);
	free(rc);
}

TEST(dns_server_skips_itself)
{
	uv_loop_t loop;
	struct dns_zone *z = small_zone();
	struct dns_server *s;
	const char *listen0[] = { "127.0.0.1:0", NULL };
	struct dns_server_config cfg = { .listen = listen0 };
	uint8_t q[600], out[DNS_MAX_MSG];
	struct t_resp r;

	uv_loop_init(&loop);
	ASSERT_OK(dns_server_start(&loop, z, &cfg, &s));
	uint16_t port = dns_server_port(s, 0);
	dns_server_close(s);
	uv_run(&loop, UV_RUN_DEFAULT);

	/* resolv.conf names our own address and port: that would loop */
	char *rc = write_resolv("nameserver 127.0.0.1\n");
	char *spec = xasprintf("127.0.0.1:%u", port);
	const char *listen[] = { spec, NULL };
	cfg = (struct dns_server_config){ .listen = listen, .resolv_conf = rc, .upstream_port = port };
	ASSERT_OK(dns_server_start(&loop, z, &cfg, &s));
	size_t ql = t_query(q, 300, "example.com", DNS_T_A, 0);
	size_t n = udp_ask(&loop, AF_INET, port, q, ql, out, 2000);
	ASSERT_OK(t_decode(out, n, &r));
	ASSERT_EQ(r.rcode, DNS_RC_REFUSED);
	ASSERT_EQ(dns_server_stats(s)->upstream_queries, 0);
	finish(&loop, s, NULL);
	dns_zone_free(z);
	free(rc);
	free(spec);
}

TEST(dns_server_limits)
{
	uv_loop_t loop;
	struct dns_zone *z = small_zone();
	struct dns_server *s;
	const char *listen[] = { "127.0.0.1:0", NULL };
	struct dns_server_config cfg = { .listen = listen, .max_qps = 5, .max_tcp_conns = 1 };
	uint8_t q[600], out[DNS_MAX_MSG];
	size_t ql = t_query(q, 1, "web.default.svc.cluster.local", DNS_T_A, 0);
	int answered = 0;
	bool eof;

	uv_loop_init(&loop);
	ASSERT_EQ(dns_server_start(&loop, z, &(struct dns_server_config){ .listen =
		(const char *[]){ "bogus", NULL } }, &s), -EINVAL);
	ASSERT_OK(dns_server_start(&loop, z, &cfg, &s));
	uint16_t port = dns_server_port(s, 0);
	/* a burst of 20 within 300 ms: the 5 tokens and at most 2 refilled */
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	sa_for(AF_INET, port, &ss, &sl);
	for (int i = 0; i < 20; i++)
		ASSERT_EQ(sendto(fd, q, ql, 0, (struct sockaddr *)&ss, sl), (ssize_t)ql);
	for (uint64_t end = mono_ms() + 300; mono_ms() < end;) {
		uv_run(&loop, UV_RUN_NOWAIT);
		if (recv(fd, out, sizeof(out), 0) > 0)
			answered++;
		else
			usleep(200);
	}
	close(fd);
	ASSERT_LE(answered, 7);
	ASSERT_LE(5, answered);
	/* one TCP connection at a time: the second is closed at once */
	int a = tcp_connect(AF_INET, port);
	tcp_send_q(a, q, ql);
	ASSERT_NE(tcp_read_msg(&loop, a, out, 2000, &eof), 0);
	int b = tcp_connect(AF_INET, port);
	ASSERT_EQ(tcp_read_msg(&loop, b, out, 2000, &eof), 0);
	ASSERT_TRUE(eof);
	close(a);
	close(b);
	finish(&loop, s, NULL);
	dns_zone_free(z);
}
