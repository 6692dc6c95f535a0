/*
 * tests/fuzz/http_client_fuzz.c - libFuzzer target for the client's
 * response path (what a hostile or broken server, e.g. a compromised
 * kubelet behind the API server's proxy, can send).
 *
 * The first byte picks the call's mode (bit 0 streaming, bit 1 upgrade
 * allowed, bit 2 HEAD) and the second where the rest is split. A pooled
 * connection over a socketpair is prepared so the call goes out on it; the
 * response bytes are then fed to it directly, followed by EOF, and every
 * object is closed and freed with the loop before the next input.
 */
#include "lib/http_client.c"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static uv_loop_t *loop;
static struct http_client *cl;
static int completed;

static void fz_complete(struct http_call *call, int err, struct http_response *r,
			void *ud)
{
	if (r)
		http_response_header(r, "Content-Type");
	completed = 1;
}

static void fz_body(struct http_call *call, const void *d, size_t len, void *ud)
{
}

static void fz_read(struct http_tunnel *t, const void *d, size_t len, void *ud)
{
	http_tunnel_write(t, d, len);
}

static const struct http_tunnel_cbs fz_tcbs = { .on_read = fz_read };

static void fz_upgrade(struct http_call *call, const struct http_response *r,
		       struct http_tunnel *t, void *ud)
{
	completed = 1;
	http_tunnel_close(t);
}

static struct cconn *fz_pooled_conn(int fd)
{
	struct cconn *c = xcalloc(1, sizeof(*c));

	http__io_init(&c->io, loop, &cconn_ops);
	c->cl = cl;
	c->next = cl->conns;
	if (cl->conns)
		cl->conns->prev = c;
	cl->conns = c;
	c->key = xstrdup("http://fuzz:80");
	c->host = xstrdup("fuzz");
	c->port = 80;
	c->state = CC_IDLE;
	uv_tcp_open(&c->io.tcp, fd);
	http__io_start(&c->io, NULL, "fuzz");
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uv_loop_t l;
	struct http_client_opts co = { .max_body_bytes = 4096 };
	struct http_call_opts o = { .url = "http://fuzz/x", .on_complete = fz_complete };
	struct http_call *call;
	struct cconn *c;
	size_t cut;
	int sv[2], mode;

	if (size < 2)
		return 0;
	if (!loop) {
		log_set_verbosity(-1);
		uv_loop_init(&l);
		loop = &l;
		if (http_client_new(loop, &co, &cl) < 0)
			abort();
	}
	mode = data[0];
	cut = data[1];
	data += 2;
	size -= 2;
	cut = cut > size ? size : cut;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	c = fz_pooled_conn(sv[0]);
	o.on_body = mode & 1 ? fz_body : NULL;
	o.on_upgrade = mode & 2 ? fz_upgrade : NULL;
	o.tunnel_cbs = &fz_tcbs;
	o.method = mode & 4 ? "HEAD" : "GET";
	completed = 0;
	if (http_call_start(cl, &o, &call) < 0 || call->conn != c)
		abort();
	if (cut && !c->io.closing && !c->io.tunnel_mode && c->state == CC_BUSY)
		cconn_on_data(&c->io, (const char *)data, cut);
	if (size > cut && !c->io.closing && !c->io.tunnel_mode && c->state == CC_BUSY)
		cconn_on_data(&c->io, (const char *)data + cut, size - cut);
	if (!c->io.closing && !c->io.tunnel_mode && c->state == CC_BUSY)
		cconn_on_eof(&c->io, 0);
	if (!completed)
		http_call_cancel(call);
	if (!c->io.closing)
		http__io_close(&c->io, -ECANCELED);
	uv_run(loop, UV_RUN_DEFAULT);
	close(sv[1]);
	return 0;
}
