/*
 * tests/fuzz/http_fuzz.c - libFuzzer target for the server's request path.
 *
 * The first two bytes of an input choose where the rest is split; the rest
 * is fed, in up to three pieces, to a fresh server
 * connection whose socket is one end of a socketpair (the answers go to the
 * other end and are discarded). The handler exercises every way of
 * answering, chosen by the request path: /s streams, /u upgrades to an echo
 * tunnel, /a answers only after the connection is gone, anything else gets
 * http_respond() with the query and body echoed. Then the connection is
 * closed and the loop run until it is freed, so ASan sees every lifetime.
 *
 * Build and run: make fuzz (mk/fuzz.mk), FUZZ_SECONDS=N to bound the run.
 */
#include "lib/http_server.c"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static uv_loop_t *loop;
static struct http_server *srv;
static struct http_request *held;	/* /a: answered after the close */

static void fz_read(struct http_tunnel *t, const void *d, size_t len, void *ud)
{
	http_tunnel_write(t, d, len);
}

static const struct http_tunnel_cbs fz_tunnel = { .on_read = fz_read };

static void fz_handler(struct http_request *req, void *data)
{
	struct http_header h = { "Content-Type", "text/plain" };
	struct http_tunnel *t;
	char *v = NULL;

	http_request_query(req, "x", 0, &v);
	free(v);
	http_request_header(req, "Content-Type");
	if (!strcmp(req->path, "/s")) {
		http_stream_start(req, 200, &h, 1);
		http_stream_write(req, req->body.data, req->body.len);
		http_stream_write(req, req->query, strlen(req->query));
		http_stream_end(req);
	} else if (!strcmp(req->path, "/u") && req->upgrade) {
		http_upgrade(req, &h, 1, &fz_tunnel, NULL, &t);
	} else if (!strcmp(req->path, "/a") && !held) {
		held = req;
	} else if (!strcmp(req->path, "/e")) {
		http_respond_error(req, 422, req->query);
	} else {
		http_response_add_header(req, "X-Q", req->query);
		http_respond(req, 200, &h, 1, req->body.data, req->body.len);
	}
}

static void fz_init(void)
{
	static uv_loop_t l;
	struct http_server_opts o = {
		.handler = fz_handler, .max_body_bytes = 4096,
		.max_header_bytes = 8192,
	};

	log_set_verbosity(-1);
	uv_loop_init(&l);
	loop = &l;
	if (http_server_new(loop, &o, &srv) < 0)
		abort();
}

static int fz_freed;

static const struct http__io_ops *real_ops;

static void fz_on_free(struct http__io *io)
{
	fz_freed = 1;
	real_ops->on_free(io);
}

static void drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http__io_ops ops;
	struct http_conn *c;
	size_t cut1, cut2;
	int sv[2];

	if (!srv)
		fz_init();
	/* the first two bytes choose the split points of the rest */
	if (size < 2)
		return 0;
	cut1 = data[0];
	cut2 = cut1 + data[1];
	data += 2;
	size -= 2;
	cut1 = cut1 > size ? size : cut1;
	cut2 = cut2 > size ? size : cut2;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	real_ops = &conn_ops;
	ops = conn_ops;
	ops.on_free = fz_on_free;
	c = xcalloc(1, sizeof(*c));
	http__io_init(&c->io, loop, &ops);
	c->srv = srv;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->got_bytes = true;
	strcpy(c->remote, "fuzz");
	uv_tcp_open(&c->io.tcp, sv[0]);
	http__io_start(&c->io, NULL, NULL);
	if (cut1 && !c->io.closing)
		conn_on_data(&c->io, (const char *)data, cut1);
	uv_run(loop, UV_RUN_NOWAIT);	/* deferred pipelined requests */
	if (cut2 > cut1 && !c->io.closing)
		conn_on_data(&c->io, (const char *)data + cut1, cut2 - cut1);
	uv_run(loop, UV_RUN_NOWAIT);
	if (size > cut2 && !c->io.closing)
		conn_on_data(&c->io, (const char *)data + cut2, size - cut2);
	uv_run(loop, UV_RUN_NOWAIT);
	drain(sv[1]);
	fz_freed = 0;
	http__io_close(&c->io, -ECONNRESET);
	while (!fz_freed)
		uv_run(loop, UV_RUN_ONCE);
	if (held) {
		http_respond(held, 200, NULL, 0, "late", 4);	/* -EPIPE */
		held = NULL;
	}
	close(sv[1]);
	return 0;
}
