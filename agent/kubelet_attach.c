/*
 * agent/kubelet_attach.c - /attach to a container that holds a stdin (or a
 * terminal): the agent's side of the shim's attach socket (protocol in
 * agent/runtime.h), on the loop. Frames from the shim become output
 * callbacks; the session's stdin, its end and terminal sizes become frames.
 */
#include "kubelet_int.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct kl_attach {
	uv_pipe_t pipe;
	kl_attach_out_fn out;
	kl_attach_end_fn end;
	void *ud;
	bool ended;			/* end ran, or the caller closed */
	size_t len;
	unsigned char buf[RT_ATTACH_HDR + RT_ATTACH_DATA_MAX];
};

static void on_closed(uv_handle_t *h)
{
	free(container_of((uv_pipe_t *)h, struct kl_attach, pipe));
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct kl_attach *a = container_of((uv_pipe_t *)h, struct kl_attach, pipe);

	(void)hint;
	b->base = (char *)a->buf + a->len;
	b->len = sizeof(a->buf) - a->len;
}

static void finish(struct kl_attach *a)
{
	if (a->ended)
		return;
	a->ended = true;
	uv_read_stop((uv_stream_t *)&a->pipe);
	a->end(a->ud);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct kl_attach *a = container_of((uv_pipe_t *)st, struct kl_attach, pipe);
	size_t off = 0;

	(void)b;
	if (n < 0) {	/* the shim is gone: the container has exited */
		finish(a);
		return;
	}
	a->len += (size_t)n;
	while (!a->ended && a->len - off >= RT_ATTACH_HDR) {
		size_t len = (size_t)a->buf[off + 1] << 8 | a->buf[off + 2];

		if (a->len - off < RT_ATTACH_HDR + len)
			break;
		a->out(a->ud, a->buf[off] == RT_ATTACH_STDERR ? KS_STDERR : KS_STDOUT,
		       a->buf + off + RT_ATTACH_HDR, len);
		off += RT_ATTACH_HDR + len;
	}
	memmove(a->buf, a->buf + off, a->len - off);
	a->len -= off;
}

int kl_attach_open(struct kubelet *k, const char *ctr_id, kl_attach_out_fn out,
		   kl_attach_end_fn end, void *ud, struct kl_attach **res)
{
	int fd = rt_attach_connect(k->cfg.rt, ctr_id);
	struct kl_attach *a;

	if (fd < 0)
		return fd;
	a = xcalloc(1, sizeof(*a));
	a->out = out;
	a->end = end;
	a->ud = ud;
	uv_pipe_init(k->loop, &a->pipe, 0);
	if (uv_pipe_open(&a->pipe, fd)) {
		close(fd);
		uv_close((uv_handle_t *)&a->pipe, on_closed);
		return -EIO;
	}
	if (uv_read_start((uv_stream_t *)&a->pipe, on_alloc, on_read)) {
		uv_close((uv_handle_t *)&a->pipe, on_closed);
		return -EIO;
	}
	*res = a;
	return 0;
}

struct wreq {
	uv_write_t req;
	unsigned char data[];
};

static void on_written(uv_write_t *req, int status)
{
	(void)status;
	free(container_of(req, struct wreq, req));
}

void kl_attach_send(struct kl_attach *a, int type, const void *d, size_t n)
{
	do {
		size_t len = n > RT_ATTACH_DATA_MAX ? RT_ATTACH_DATA_MAX : n;
		struct wreq *w = xmalloc(sizeof(*w) + RT_ATTACH_HDR + len);
		uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)(RT_ATTACH_HDR + len));

		w->data[0] = (unsigned char)type;
		w->data[1] = (unsigned char)(len >> 8);
		w->data[2] = (unsigned char)len;
		if (len)
			memcpy(w->data + RT_ATTACH_HDR, d, len);
		if (uv_write(&w->req, (uv_stream_t *)&a->pipe, &b, 1, on_written))
			free(w);
		d = (const char *)d + len;
		n -= len;
	} while (n);
}

size_t kl_attach_queued(const struct kl_attach *a)
{
	return a->pipe.write_queue_size;
}

void kl_attach_resize(struct kl_attach *a, uint16_t cols, uint16_t rows)
{
	unsigned char d[4] = { (unsigned char)(cols >> 8), (unsigned char)cols,
			       (unsigned char)(rows >> 8), (unsigned char)rows };

	kl_attach_send(a, RT_ATTACH_RESIZE, d, sizeof(d));
}

void kl_attach_close(struct kl_attach *a)
{
	if (!a)
		return;
	a->ended = true;
	uv_close((uv_handle_t *)&a->pipe, on_closed);
}
