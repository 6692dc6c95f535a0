/*
 * agent/runtime_stream.c - `runc exec` on the loop, with pipes or a pty
 * (see runtime_stream.h).
 */
#include "runtime_stream.h"
#include "runtime_int.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define EXEC_ARGS_MAX (RT_ARGS_MAX + 16)
#define EXEC_ERR_MAX 4096		/* bytes of runc's stderr kept for messages */

struct rt_exec {
	uv_loop_t *loop;
	struct rt_exec_cbs cbs;
	void *ud;
	uv_process_t proc;
	uv_pipe_t in, out, err, pty;
	uv_poll_t lpoll, cpoll;		/* console socket: listening, accepted */
	int lfd, cfd;
	uv_timer_t timer;
	int open;			/* handles not yet closed */
	bool tty, has_in, in_closed, pty_open, exited, done, aborted;
	bool out_eof, err_eof;
	int code;
	uint16_t cols, rows;
	struct buf errtxt;		/* runc's stderr in tty mode */
};

static void on_handle_closed(uv_handle_t *h)
{
	struct rt_exec *x = h->data;

	if (--x->open == 0) {
		buf_release(&x->errtxt);
		free(x);
	}
}

static void close_h(struct rt_exec *x, void *h)
{
	uv_handle_t *hh = h;

	if (hh->data == x && !uv_is_closing(hh))
		uv_close(hh, on_handle_closed);
}

static void close_all(struct rt_exec *x)
{
	if (x->lfd >= 0)
		close_h(x, &x->lpoll);
	if (x->cfd >= 0)
		close_h(x, &x->cpoll);
	close_h(x, &x->in);
	close_h(x, &x->out);
	close_h(x, &x->err);
	close_h(x, &x->pty);
	close_h(x, &x->timer);
	close_h(x, &x->proc);
}

static void finish(struct rt_exec *x)
{
	if (x->done)
		return;
	x->done = true;
	if (!x->aborted && x->cbs.on_exit) {
		buf_addch(&x->errtxt, '\0');
		x->cbs.on_exit(x, x->code, x->errtxt.data, x->ud);
	}
	close_all(x);
	if (x->lfd >= 0)
		close(x->lfd);
	if (x->cfd >= 0)
		close(x->cfd);
	x->lfd = x->cfd = -1;
}

static void maybe_finish(struct rt_exec *x)
{
	if (x->exited && x->out_eof && x->err_eof)
		finish(x);
}

static void on_drain_timeout(uv_timer_t *t)
{
	struct rt_exec *x = t->data;

	if (x->exited)
		finish(x);
	else	/* the console socket never delivered a pty */
		uv_process_kill(&x->proc, SIGHUP);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	(void)hint;
	b->base = xmalloc(65536);
	b->len = 65536;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct rt_exec *x = s->data;
	int fd = (s == (uv_stream_t *)&x->err) ? 2 : 1;

	if (n > 0) {
		if (x->tty && fd == 2) {
			if (x->errtxt.len < EXEC_ERR_MAX)
				buf_add(&x->errtxt, b->base, (size_t)n);
		} else if (!x->aborted && x->cbs.on_output) {
			x->cbs.on_output(x, fd, b->base, (size_t)n, x->ud);
		}
	} else if (n < 0) {	/* EOF, or EIO from a pty whose slave closed */
		uv_read_stop(s);
		if (fd == 2)
			x->err_eof = true;
		else
			x->out_eof = true;
		maybe_finish(x);
	}
	free(b->base);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct rt_exec *x = p->data;

	x->exited = true;
	x->code = sig ? 128 + sig : (int)status;
	if (!x->pty_open && x->tty)
		x->out_eof = true;	/* runc never handed over the terminal */
	uv_timer_start(&x->timer, on_drain_timeout, RT_EXEC_DRAIN_MS, 0);
	maybe_finish(x);
}

static void apply_size(struct rt_exec *x)
{
	struct winsize ws = { .ws_row = x->rows, .ws_col = x->cols };
	uv_os_fd_t fd;

	if (x->pty_open && x->cols && x->rows && !uv_fileno((uv_handle_t *)&x->pty, &fd))
		ioctl(fd, TIOCSWINSZ, &ws);
}

/* The pty master arrived on the console socket. */
static void got_master(struct rt_exec *x, int fd)
{
	x->pty.data = x;
	uv_pipe_init(x->loop, &x->pty, 0);
	x->open++;
	if (uv_pipe_open(&x->pty, fd)) {
		close(fd);
		x->out_eof = true;
		return;
	}
	x->pty_open = true;
	apply_size(x);
	uv_read_start((uv_stream_t *)&x->pty, alloc_cb, on_read);
}

static void on_console_msg(uv_poll_t *p, int status, int events)
{
	struct rt_exec *x = p->data;
	char data[256], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(x->cfd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return;
	uv_poll_stop(p);
	for (c = CMSG_FIRSTHDR(&m); n >= 0 && c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;

			memcpy(&fd, CMSG_DATA(c), sizeof(int));
			got_master(x, fd);
			return;
		}
	log_warn("exec: runc sent no terminal on the console socket");
}

static void on_console_conn(uv_poll_t *p, int status, int events)
{
	struct rt_exec *x = p->data;
	int fd = accept4(x->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	uv_poll_stop(p);
	x->cfd = fd;
	x->cpoll.data = x;
	uv_poll_init(x->loop, &x->cpoll, fd);
	x->open++;
	uv_poll_start(&x->cpoll, UV_READABLE, on_console_msg);
}

/* An abstract unix socket for --console-socket; its name into path. */
static int console_listen(struct rt_exec *x, char *path, size_t size)
{
	static unsigned seq;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	socklen_t len;

	if (fd < 0)
		return -errno;
	snprintf(path, size, "@k1s-exec-%d-%u", (int)getpid(), ++seq);
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "%s", path + 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (bind(fd, (struct sockaddr *)&sa, len) || listen(fd, 1)) {
		int e = -errno;

		close(fd);
		return e;
	}
	x->lfd = fd;
	x->lpoll.data = x;
	uv_poll_init(x->loop, &x->lpoll, fd);
	x->open++;
	uv_poll_start(&x->lpoll, UV_READABLE, on_console_conn);
	return 0;
}

static void pipe_init(struct rt_exec *x, uv_pipe_t *p)
{
	p->data = x;
	uv_pipe_init(x->loop, p, 0);
	x->open++;
}

static int spawn(struct rt_exec *x, const struct rt *rt, const char *id,
		 const struct rt_exec_opts *o, const char *console)
{
	const char *argv[EXEC_ARGS_MAX];
	uv_stdio_container_t io[3];
	uv_process_options_t po = { 0 };
	size_t n = 0;

	argv[n++] = rt__runc(rt);
	argv[n++] = "--root";
	argv[n++] = rt->runc_root;
	argv[n++] = "exec";
	if (x->tty) {
		argv[n++] = "--tty";
		argv[n++] = "--console-socket";
		argv[n++] = console;
	}
	argv[n++] = id;
	for (size_t i = 0; o->argv[i]; i++) {
		if (n >= EXEC_ARGS_MAX - 1)
			return -E2BIG;
		argv[n++] = o->argv[i];
	}
	argv[n] = NULL;
	io[0].flags = x->has_in ? UV_CREATE_PIPE | UV_READABLE_PIPE : UV_IGNORE;
	io[0].data.stream = (uv_stream_t *)&x->in;
	io[1].flags = x->tty ? UV_IGNORE : UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&x->out;
	io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[2].data.stream = (uv_stream_t *)&x->err;
	po.file = argv[0];
	po.args = (char **)argv;
	po.stdio = io;
	po.stdio_count = 3;
	po.exit_cb = on_exit_cb;
	x->proc.data = x;
	return uv_spawn(x->loop, &x->proc, &po);
}

int rt_exec_start(uv_loop_t *loop, const struct rt *rt, const char *id,
		  const struct rt_exec_opts *o, const struct rt_exec_cbs *cbs, void *ud,
		  struct rt_exec **out)
{
	struct rt_exec *x;
	char console[64] = "";
	int r;

	if (rt_id_check(id) || !o->argv || !o->argv[0])
		return -EINVAL;
	x = xcalloc(1, sizeof(*x));
	x->loop = loop;
	x->cbs = *cbs;
	x->ud = ud;
	x->lfd = x->cfd = -1;
	x->tty = o->tty;
	x->has_in = o->stdin && !o->tty;	/* with a tty stdin is the pty */
	x->cols = o->cols;
	x->rows = o->rows;
	buf_init(&x->errtxt, 0);
	x->timer.data = x;
	uv_timer_init(loop, &x->timer);
	x->open++;
	if (x->has_in)
		pipe_init(x, &x->in);
	if (!x->tty)
		pipe_init(x, &x->out);
	pipe_init(x, &x->err);
	if (x->tty && (r = console_listen(x, console, sizeof(console))) < 0) {
		x->proc.data = NULL;	/* never spawned: not a handle to close */
		goto fail;
	}
	r = spawn(x, rt, id, o, console);
	x->open++;	/* the process handle: initialised even when spawn failed */
	if (r)
		goto fail;
	if (x->tty)
		uv_timer_start(&x->timer, on_drain_timeout, RT_EXEC_CONSOLE_MS, 0);
	else
		uv_read_start((uv_stream_t *)&x->out, alloc_cb, on_read);
	uv_read_start((uv_stream_t *)&x->err, alloc_cb, on_read);
	if (!o->stdin && x->tty)
		x->in_closed = true;
	*out = x;
	return 0;
fail:
	log_warn("exec in %s: cannot start runc: %s", id, strerror(-r));
	x->aborted = x->done = true;
	close_all(x);
	if (x->lfd >= 0)
		close(x->lfd);
	return r;
}

static void on_written(uv_write_t *w, int status)
{
	free(w->data);
	free(w);
}

int rt_exec_write(struct rt_exec *x, const void *data, size_t len)
{
	uv_stream_t *s = x->tty ? (uv_stream_t *)&x->pty : (uv_stream_t *)&x->in;
	uv_write_t *w;
	uv_buf_t b;

	if (x->in_closed || x->done || (x->tty ? !x->pty_open : !x->has_in))
		return -EPIPE;
	if (!len)
		return 0;
	w = xmalloc(sizeof(*w));
	w->data = xmalloc(len);
	memcpy(w->data, data, len);
	b = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(w, s, &b, 1, on_written)) {
		free(w->data);
		free(w);
		return -EPIPE;
	}
	return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	free(req);
}

void rt_exec_close_stdin(struct rt_exec *x)
{
	if (x->in_closed || x->done)
		return;
	if (x->tty) {
		rt_exec_write(x, "\x04", 1);
	} else if (x->has_in) {
		uv_shutdown_t *req = xmalloc(sizeof(*req));

		if (uv_shutdown(req, (uv_stream_t *)&x->in, on_shutdown))
			free(req);
	}
	x->in_closed = true;
}

void rt_exec_resize(struct rt_exec *x, uint16_t cols, uint16_t rows)
{
	x->cols = cols;
	x->rows = rows;
	apply_size(x);
}

void rt_exec_abort(struct rt_exec *x)
{
	if (!x)
		return;
	x->aborted = true;
	if (!x->exited)	/* runc passes SIGHUP on; it cannot pass SIGKILL */
		uv_process_kill(&x->proc, SIGHUP);
	else
		finish(x);
}
