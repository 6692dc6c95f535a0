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

struct rt_exec {
	uv_loop_t *loop;
	struct rt_exec_cbs cbs;
	void *ud;
	uv_process_t proc;
	uv_pipe_t in, out, err, pty;
	uv_timer_t timer;
	int open;			/* handles not yet closed */
	bool tty, has_in, in_closed, pty_open, exited, done, aborted;
	bool paused;			/* output reading stopped by the caller */
	bool out_eof, err_eof;
	int code;
	uint16_t cols, rows;
	struct buf errtxt;		/* unused: runc's errors reach the output */
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
}

static void maybe_finish(struct rt_exec *x)
{
	if (x->exited && x->out_eof && x->err_eof)
		finish(x);
}

static void on_drain_timeout(uv_timer_t *t)
{
	struct rt_exec *x = t->data;

	if (x->paused)	/* the reader is behind: the output is not lost, wait */
		uv_timer_start(&x->timer, on_drain_timeout, RT_EXEC_DRAIN_MS, 0);
	else if (x->exited)
		finish(x);
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
		if (!x->aborted && x->cbs.on_output) {
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
	uv_timer_start(&x->timer, on_drain_timeout, RT_EXEC_DRAIN_MS, 0);
	maybe_finish(x);
}

static void apply_size(struct rt_exec *x)
{
	struct winsize ws = { .ws_row = x->rows, .ws_col = x->cols };
	uv_os_fd_t fd;

	if (x->pty_open && x->cols && x->rows && !uv_fileno((uv_handle_t *)&x->pty, &fd)) {
		ioctl(fd, TIOCSWINSZ, &ws);
		if (x->proc.pid > 0 && !x->exited)	/* runc copies the size on SIGWINCH */
			kill(x->proc.pid, SIGWINCH);
	}
}

/*
 * A pty pair for a terminal exec: runc gets the slave as its stdin, stdout
 * and stderr, so it takes it for its host console: it sets it raw, copies
 * between it and the container's own pty, and on SIGWINCH copies its size
 * over. We keep the master. Returns the slave fd, or -errno.
 */
static int pty_open(struct rt_exec *x)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), sl;
	struct winsize ws = { .ws_row = x->rows ? x->rows : 24, .ws_col = x->cols ? x->cols : 80 };
	char name[64];

	if (m < 0)
		return -errno;
	if (grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)) ||
	    (sl = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		int e = -errno;

		close(m);
		return e;
	}
	ioctl(m, TIOCSWINSZ, &ws);
	x->pty.data = x;
	uv_pipe_init(x->loop, &x->pty, 0);
	x->open++;
	if (uv_pipe_open(&x->pty, m)) {
		close(m);
		close(sl);
		return -EIO;
	}
	x->pty_open = true;
	return sl;
}

static void pipe_init(struct rt_exec *x, uv_pipe_t *p)
{
	p->data = x;
	uv_pipe_init(x->loop, p, 0);
	x->open++;
}

static int spawn(struct rt_exec *x, const struct rt *rt, const char *id,
		 const struct rt_exec_opts *o, int slave)
{
	const char *argv[EXEC_ARGS_MAX];
	uv_stdio_container_t io[3];
	uv_process_options_t po = { 0 };
	size_t n = 0;

	argv[n++] = rt__runc(rt);
	argv[n++] = "--root";
	argv[n++] = rt->runc_root;
	argv[n++] = "exec";
	if (x->tty)
		argv[n++] = "--tty";
	argv[n++] = id;
	for (size_t i = 0; o->argv[i]; i++) {
		if (n >= EXEC_ARGS_MAX - 1)
			return -E2BIG;
		argv[n++] = o->argv[i];
	}
	argv[n] = NULL;
	io[0].flags = x->has_in ? UV_CREATE_PIPE | UV_READABLE_PIPE : UV_IGNORE;
	io[0].data.stream = (uv_stream_t *)&x->in;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&x->out;
	io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[2].data.stream = (uv_stream_t *)&x->err;
	if (x->tty)
		for (int i = 0; i < 3; i++) {
			io[i].flags = UV_INHERIT_FD;
			io[i].data.fd = slave;
		}
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
	int r, slave = -1;

	if (rt_id_check(id) || !o->argv || !o->argv[0])
		return -EINVAL;
	x = xcalloc(1, sizeof(*x));
	x->loop = loop;
	x->cbs = *cbs;
	x->ud = ud;
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
	if (!x->tty) {
		pipe_init(x, &x->out);
		pipe_init(x, &x->err);
	} else if ((slave = pty_open(x)) < 0) {
		r = slave;
		x->proc.data = NULL;	/* never spawned: not a handle to close */
		goto fail;
	}
	r = spawn(x, rt, id, o, slave);
	x->open++;	/* the process handle: initialised even when spawn failed */
	if (slave >= 0)
		close(slave);	/* runc holds it now: EIO on the master once runc is gone */
	if (r)
		goto fail;
	if (x->tty) {
		x->err_eof = true;
		uv_read_start((uv_stream_t *)&x->pty, alloc_cb, on_read);
	} else {
		uv_read_start((uv_stream_t *)&x->out, alloc_cb, on_read);
		uv_read_start((uv_stream_t *)&x->err, alloc_cb, on_read);
	}
	if (!o->stdin && x->tty)
		x->in_closed = true;
	*out = x;
	return 0;
fail:
	log_warn("exec in %s: cannot start runc: %s", id, strerror(-r));
	x->aborted = x->done = true;
	close_all(x);
	return r;
}

static void on_written(uv_write_t *w, int status)
{
	struct rt_exec *x = w->handle->data;

	free(w->data);
	free(w);
	if (!x->aborted && !x->done && x->cbs.on_stdin_drain && !rt_exec_stdin_queued(x))
		x->cbs.on_stdin_drain(x, x->ud);
}

size_t rt_exec_stdin_queued(const struct rt_exec *x)
{
	const uv_stream_t *s = x->tty ? (const uv_stream_t *)&x->pty : (const uv_stream_t *)&x->in;

	if (x->tty ? !x->pty_open : !x->has_in)
		return 0;
	return uv_stream_get_write_queue_size(s);
}

void rt_exec_pause_output(struct rt_exec *x, bool pause)
{
	uv_stream_t *s[2] = { NULL, NULL };

	if (x->done || x->paused == pause)
		return;
	x->paused = pause;
	if (x->tty) {
		if (x->pty_open && !x->out_eof)
			s[0] = (uv_stream_t *)&x->pty;
	} else {
		if (!x->out_eof)
			s[0] = (uv_stream_t *)&x->out;
		if (!x->err_eof)
			s[1] = (uv_stream_t *)&x->err;
	}
	for (int i = 0; i < 2; i++)
		if (s[i]) {
			if (pause)
				uv_read_stop(s[i]);
			else
				uv_read_start(s[i], alloc_cb, on_read);
		}
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
