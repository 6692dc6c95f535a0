/*
 * bench/store/etcd.c - the reference: Debian's etcd (3.4) started on
 * loopback in a temporary directory with its default durability, driven
 * over its v3 JSON gateway (POST /v3/kv/put and /v3/kv/range, keys and
 * values base64) by a libuv HTTP/1.1 keep-alive load generator: N
 * connections, each with one request in flight.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "lib/buf.h"
#include "lib/util.h"

#define ETCD_BIN "/usr/bin/etcd"
#define ETCD_START_MS 30000

static pid_t etcd_pid;

void bench_etcd_kill(void)
{
	if (etcd_pid > 0) {
		kill(etcd_pid, SIGKILL);
		waitpid(etcd_pid, NULL, 0);
		etcd_pid = 0;
	}
}

static void b64(struct buf *b, const void *data, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		buf_addch(b, tab[(v >> 18) & 63]);
		buf_addch(b, tab[(v >> 12) & 63]);
		buf_addch(b, i + 1 < len ? tab[(v >> 6) & 63] : '=');
		buf_addch(b, i + 2 < len ? tab[v & 63] : '=');
	}
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* One blocking request with Connection: close; the response in out. */
static int http_once(int port, const char *req, char *out, size_t outlen)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t n = 0;
	ssize_t r;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    write_all(fd, req, strlen(req))) {
		close(fd);
		return -ECONNREFUSED;
	}
	while (n + 1 < outlen && (r = read(fd, out + n, outlen - n - 1)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(fd);
	return 0;
}

static int etcd_start(const char *dir, int *cport, char *version, size_t vlen)
{
	int cp = free_port(), pp = free_port();
	char curl[64], purl[64], cluster[96], *data = xasprintf("%s/data", dir);
	char *log = xasprintf("%s/etcd.log", dir), resp[1024];
	uint64_t deadline;
	int ret = -ETIMEDOUT;

	if (cp < 0 || pp < 0 || cp == pp)
		return -EADDRINUSE;
	snprintf(curl, sizeof(curl), "http://127.0.0.1:%d", cp);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", pp);
	snprintf(cluster, sizeof(cluster), "bench=%s", purl);
	etcd_pid = fork();
	if (etcd_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(ETCD_BIN, "etcd", "--name", "bench", "--data-dir", data,
		      "--listen-client-urls", curl, "--advertise-client-urls", curl,
		      "--listen-peer-urls", purl, "--initial-advertise-peer-urls",
		      purl, "--initial-cluster", cluster, (char *)NULL);
		_exit(127);
	}
	free(data);
	if (etcd_pid < 0) {
		etcd_pid = 0;
		free(log);
		return -errno;
	}
	deadline = mono_ms() + ETCD_START_MS;
	while (mono_ms() < deadline) {
		if (waitpid(etcd_pid, NULL, WNOHANG) == etcd_pid) {
			etcd_pid = 0;
			fprintf(stderr, "bench-store: etcd exited; see its log:\n");
			ret = -ECHILD;
			break;
		}
		if (!http_once(cp, "GET /health HTTP/1.1\r\nHost: x\r\n"
			       "Connection: close\r\n\r\n", resp, sizeof(resp)) &&
		    strstr(resp, "\"true\"")) {
			ret = 0;
			break;
		}
		usleep(50000);
	}
	if (!ret && !http_once(cp, "GET /version HTTP/1.1\r\nHost: x\r\n"
			       "Connection: close\r\n\r\n", resp, sizeof(resp))) {
		char *v = strstr(resp, "\"etcdserver\":\"");
		if (v)
			snprintf(version, vlen, "%.*s", (int)strcspn(v + 14, "\""),
				 v + 14);
	}
	if (ret == -ECHILD) {
		char *text = NULL;
		size_t len;
		if (!read_file(log, 1 << 16, &text, &len))
			fprintf(stderr, "%s\n", text);
		free(text);
	}
	free(log);
	*cport = cp;
	return ret;
}

/* ---- the load generator ---- */

enum lg_op { LG_PUT, LG_FILL, LG_GET, LG_LIST };

struct lg;

struct conn {
	struct lg *g;
	int id;
	uv_tcp_t tcp;
	uv_connect_t cr;
	uv_write_t wr;
	http_parser p;
	struct buf req;
	uint64_t n, t0;
	bool complete, bad;
	size_t body;
};

struct lg {
	uv_loop_t loop;
	int port;
	enum lg_op op;
	bool stop;
	uint64_t done, errors, limit;	/* limit: total requests, 0 = time */
	uint64_t issued;
	int open;
	struct buf val;			/* base64 value */
	double *lat;
	size_t nlat;
	size_t min_body;
	unsigned seed;
};

static void conn_send(struct conn *c);

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	(void)at;
	c->body += len;
	return 0;
}

static int on_complete(http_parser *p)
{
	struct conn *c = p->data;

	c->complete = true;
	c->bad = p->status_code != 200;
	return 0;
}

static const http_parser_settings settings = {
	.on_body = on_body,
	.on_message_complete = on_complete,
};

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = container_of((uv_tcp_t *)h, struct conn, tcp);

	c->g->open--;
}

static void conn_close(struct conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char mem[1 << 16];

	(void)h; (void)hint;
	*b = uv_buf_init(mem, sizeof(mem));
}

static void message_done(struct conn *c)
{
	struct lg *g = c->g;

	c->complete = false;
	if (c->bad || c->body < g->min_body)
		g->errors++;
	else
		g->done++;
	if (g->lat)
		g->lat[g->nlat++] = (double)(mono_ns() - c->t0) / 1e6;
	c->body = 0;
	if (g->stop || (g->limit && g->issued >= g->limit))
		conn_close(c);
	else
		conn_send(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = container_of((uv_tcp_t *)s, struct conn, tcp);

	if (n < 0) {
		c->g->errors++;
		conn_close(c);
		return;
	}
	if (http_parser_execute(&c->p, &settings, b->base, (size_t)n) != (size_t)n) {
		c->g->errors++;
		conn_close(c);
		return;
	}
	if (c->complete)
		message_done(c);
}

static void on_written(uv_write_t *w, int status)
{
	struct conn *c = container_of(w, struct conn, wr);

	if (status < 0) {
		c->g->errors++;
		conn_close(c);
	}
}

static void build_req(struct conn *c)
{
	struct lg *g = c->g;
	struct buf body = BUF_INIT;
	char key[64];
	const char *path = "/v3/kv/put";

	buf_addstr(&body, "{\"key\":\"");
	switch (g->op) {
	case LG_PUT:
		snprintf(key, sizeof(key), "/bench/put/%d/%llu", c->id,
			 (unsigned long long)c->n);
		break;
	case LG_FILL:
		snprintf(key, sizeof(key), "/bench/list/%05llu",
			 (unsigned long long)g->issued);
		break;
	case LG_GET:
		g->seed = g->seed * 1103515245 + 12345;
		snprintf(key, sizeof(key), "/bench/list/%05u",
			 (g->seed >> 8) % BENCH_LIST_KEYS);
		path = "/v3/kv/range";
		break;
	case LG_LIST:
		snprintf(key, sizeof(key), "/bench/list/");
		path = "/v3/kv/range";
		break;
	}
	b64(&body, key, strlen(key));
	if (g->op == LG_PUT || g->op == LG_FILL) {
		buf_addstr(&body, "\",\"value\":\"");
		buf_add(&body, g->val.data, g->val.len);
	} else if (g->op == LG_LIST) {
		buf_addstr(&body, "\",\"range_end\":\"");
		b64(&body, "/bench/list0", 12);
	}
	buf_addstr(&body, "\"}");
	buf_reset(&c->req);
	buf_addf(&c->req, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		 path, body.len);
	buf_add(&c->req, body.data, body.len);
	buf_release(&body);
}

static void conn_send(struct conn *c)
{
	uv_buf_t b;

	build_req(c);
	c->n++;
	c->g->issued++;
	c->t0 = mono_ns();
	b = uv_buf_init(c->req.data, (unsigned)c->req.len);
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written)) {
		c->g->errors++;
		conn_close(c);
	}
}

static void on_connect(uv_connect_t *cr, int status)
{
	struct conn *c = container_of(cr, struct conn, cr);

	if (status < 0) {
		c->g->errors++;
		conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	conn_send(c);
}

/*
 * Runs nconn connections until ms have passed (limit 0) or limit requests
 * were issued. Returns the completed requests per second.
 */
static double lg_run(struct lg *g, int nconn, uint64_t ms)
{
	struct conn *c = xcalloc((size_t)nconn, sizeof(*c));
	struct sockaddr_in a;
	uint64_t t0, t1, done;

	uv_ip4_addr("127.0.0.1", g->port, &a);
	g->stop = false;
	g->done = g->errors = g->issued = 0;
	for (int i = 0; i < nconn; i++) {
		c[i].g = g;
		c[i].id = i + nconn * 1000;
		http_parser_init(&c[i].p, HTTP_RESPONSE);
		c[i].p.data = &c[i];
		uv_tcp_init(&g->loop, &c[i].tcp);
		uv_tcp_nodelay(&c[i].tcp, 1);
		g->open++;
		uv_tcp_connect(&c[i].cr, &c[i].tcp, (struct sockaddr *)&a, on_connect);
	}
	t0 = mono_ns();
	while (g->open && (g->limit || mono_ns() - t0 < ms * 1000000ull))
		uv_run(&g->loop, UV_RUN_ONCE);
	t1 = mono_ns();
	done = g->done;
	g->stop = true;
	while (g->open)
		uv_run(&g->loop, UV_RUN_ONCE);
	for (int i = 0; i < nconn; i++)
		buf_release(&c[i].req);
	free(c);
	if (g->errors)
		fprintf(stderr, "bench-store: etcd: %llu failed requests\n",
			(unsigned long long)g->errors);
	return (double)done / ((double)(t1 - t0) / 1e9);
}

int bench_etcd(const char *dir, struct bench_results *r, char *version,
	       size_t vlen)
{
	struct lg g = { 0 };
	char *val;
	int ret;
	double lat[BENCH_LIST_RUNS];

	if (access(ETCD_BIN, X_OK)) {
		fprintf(stderr, "bench-store: %s not installed\n", ETCD_BIN);
		return -ENOENT;
	}
	if ((ret = etcd_start(dir, &g.port, version, vlen)))
		return ret;
	uv_loop_init(&g.loop);
	val = xmalloc(BENCH_LIST_VALUE);
	bench_fill(val, BENCH_VALUE, 1);
	b64(&g.val, val, BENCH_VALUE);
	g.op = LG_PUT;
	for (int i = 0; i < BENCH_NWRITERS; i++)
		r->put_rate[i] = lg_run(&g, bench_writers[i], BENCH_PHASE_MS);

	/* The list data set: 10,000 keys of 1 KiB. */
	buf_release(&g.val);
	bench_fill(val, BENCH_LIST_VALUE, 7);
	b64(&g.val, val, BENCH_LIST_VALUE);
	g.op = LG_FILL;
	g.limit = BENCH_LIST_KEYS;
	lg_run(&g, 64, 0);
	g.limit = 0;

	g.op = LG_GET;
	g.seed = 3;
	r->get_conc = 8;
	r->get_rate = lg_run(&g, r->get_conc, 1000);

	g.op = LG_LIST;
	g.limit = BENCH_LIST_RUNS;
	g.lat = lat;
	g.min_body = (size_t)BENCH_LIST_KEYS * BENCH_LIST_VALUE;
	lg_run(&g, 1, 0);
	r->list_ms = bench_median(lat, g.nlat);
	r->ok = g.nlat == BENCH_LIST_RUNS && !g.errors;
	if (!r->ok)
		fprintf(stderr, "bench-store: etcd list failed\n");

	buf_release(&g.val);
	free(val);
	uv_loop_close(&g.loop);
	bench_etcd_kill();
	return r->ok ? 0 : -EIO;
}
