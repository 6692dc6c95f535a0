/*
 * agent/kubelet_exec.c - /exec and /attach: a streaming session
 * (kubelet_stream.c) joined to `runc exec` (runtime_stream.c) or, for
 * attach, to the container's output as its log follower sees it.
 *
 * The exit code reaches the client on the error channel as the kubelet
 * sends it: a Status "Success", or "Failure" with reason NonZeroExitCode
 * and a cause {reason: ExitCode, message: "<code>"}.
 *
 * Attach: to a container with stdin (or a terminal) through its shim's
 * attach socket (kubelet_attach.c): stdin, its end and terminal sizes go
 * there, its output comes from there. Other containers run with stdin on
 * /dev/null: attach streams their stdout/stderr from now on (the log,
 * followed) and drops stdin. Either way it ends when the container exits.
 */
#include "kubelet_int.h"
#include "runtime_stream.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KX_ARGS_MAX 1024

struct kexec {
	struct kubelet *k;
	struct ks_session *s;
	struct rt_exec *x;
	struct kl_follow *fol;
	struct kl_attach *att;
	char *ctr_id, *log_path;
	char **argv;
	size_t argc;
	bool tty, stdin, attach;
	bool started;
	uint16_t cols, rows;
};

static void kexec_free(struct kexec *e)
{
	for (size_t i = 0; i < e->argc; i++)
		free(e->argv[i]);
	free(e->argv);
	free(e->ctr_id);
	free(e->log_path);
	free(e);
}

static void status_exit(struct buf *b, struct kexec *e, int code)
{
	struct buf cmd = BUF_INIT;

	if (!code) {
		buf_addstr(b, "{\"metadata\":{},\"status\":\"Success\"}");
		return;
	}
	buf_addch(&cmd, '[');
	for (size_t i = 0; i < e->argc; i++)
		buf_addf(&cmd, "%s%s", i ? " " : "", e->argv[i]);
	buf_addch(&cmd, ']');
	buf_addstr(b, "{\"metadata\":{},\"status\":\"Failure\",\"message\":");
	{
		char *msg = xasprintf("command terminated with non-zero exit code: error executing command %s, exit code %d",
				      cmd.data, code);

		buf_add_json_str(b, msg, strlen(msg));
		free(msg);
	}
	buf_addf(b, ",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"%d\"}]}}",
		 code);
	buf_release(&cmd);
}

static void finish_status(struct kexec *e, const char *reason, const char *msg)
{
	struct buf b = BUF_INIT;

	if (!reason) {
		buf_addstr(&b, "{\"metadata\":{},\"status\":\"Success\"}");
	} else {
		buf_addstr(&b, "{\"metadata\":{},\"status\":\"Failure\",\"message\":");
		buf_add_json_str(&b, msg, strlen(msg));
		buf_addf(&b, ",\"reason\":\"%s\"}", reason);
	}
	ks_finish(e->s, b.data);
	buf_release(&b);
}

/* ---- exec ---- */

static void x_output(struct rt_exec *x, int fd, const void *d, size_t n, void *ud)
{
	struct kexec *e = ud;

	if (!e->s)
		return;
	ks_write(e->s, fd == 2 ? KS_STDERR : KS_STDOUT, d, n);
	if (ks_queued(e->s) > KS_HIGH_WATER)	/* the client is slower than the process */
		rt_exec_pause_output(x, true);
}

static void x_stdin_drain(struct rt_exec *x, void *ud)
{
	struct kexec *e = ud;

	if (e->s)
		ks_pause_read(e->s, false);
}

static void s_drain(struct ks_session *s, void *ud)
{
	struct kexec *e = ud;

	if (e->x)
		rt_exec_pause_output(e->x, false);
}

static void x_exit(struct rt_exec *x, int code, const char *msg, void *ud)
{
	struct kexec *e = ud;
	struct buf b = BUF_INIT;

	e->x = NULL;
	if (e->tty && code && msg && *msg && e->s)	/* runc's complaint, no stderr with a tty */
		ks_write(e->s, KS_STDOUT, msg, strlen(msg));
	status_exit(&b, e, code);
	if (e->s)
		ks_finish(e->s, b.data);
	buf_release(&b);
}

/* ---- attach ---- */

static void a_line(void *ud, const struct kl_logline *l)
{
	struct kexec *e = ud;
	int c = l->stream == 2 && !e->tty ? KS_STDERR : KS_STDOUT;

	ks_write(e->s, c, l->msg, l->msg_len);
	if (!l->partial)
		ks_write(e->s, c, e->tty ? "\r\n" : "\n", e->tty ? 2 : 1);
}

static void a_end(void *ud)
{
	struct kexec *e = ud;

	e->fol = NULL;
	finish_status(e, NULL, NULL);
}

static void a_out(void *ud, int chan, const void *d, size_t n)
{
	struct kexec *e = ud;

	if (e->s)
		ks_write(e->s, e->tty ? KS_STDOUT : chan, d, n);
}

static void a_exited(void *ud)
{
	struct kexec *e = ud;

	kl_attach_close(e->att);
	e->att = NULL;
	if (e->s)
		finish_status(e, NULL, NULL);
}

static void attach_start(struct kexec *e)
{
	if (kl_attach_open(e->k, e->ctr_id, a_out, a_exited, e, &e->att) == 0) {
		if (e->tty && e->cols && e->rows)
			kl_attach_resize(e->att, e->cols, e->rows);
		return;
	}
	e->att = NULL;
	kl_follow_start(e->k, e->log_path, e->ctr_id, -1, a_line, a_end, e, &e->fol);
}

/* ---- session callbacks ---- */

static void s_ready(struct ks_session *s, void *ud)
{
	struct kexec *e = ud;
	static const struct rt_exec_cbs cbs = { .on_output = x_output, .on_exit = x_exit,
						.on_stdin_drain = x_stdin_drain };
	struct rt_exec_opts o = { .argv = (const char *const *)e->argv, .tty = e->tty,
				  .stdin = e->stdin, .cols = e->cols, .rows = e->rows };
	int r;

	e->s = s;	/* WebSocket sessions are ready inside ks_upgrade() */
	e->started = true;
	if (e->attach) {
		attach_start(e);
		return;
	}
	r = rt_exec_start(e->k->loop, e->k->cfg.rt, e->ctr_id, &o, &cbs, e, &e->x);
	if (r) {
		char *m = xasprintf("cannot exec in container %s: %s", e->ctr_id, strerror(-r));

		finish_status(e, "InternalError", m);
		free(m);
	}
}

/* Terminal size messages: {"Width":80,"Height":24}, possibly several. */
static void resize(struct kexec *e, const char *d, size_t n)
{
	const char *end = d + n, *p = d;

	while (p < end) {
		const char *close = memchr(p, '}', (size_t)(end - p));
		cJSON *j;

		if (!close)
			break;
		j = cJSON_ParseWithLength(p, (size_t)(close + 1 - p));
		if (j) {
			e->cols = (uint16_t)json_get_int(j, "Width", e->cols);
			e->rows = (uint16_t)json_get_int(j, "Height", e->rows);
			cJSON_Delete(j);
		}
		p = close + 1;
	}
	if (e->x)
		rt_exec_resize(e->x, e->cols, e->rows);
	if (e->att)
		kl_attach_resize(e->att, e->cols, e->rows);
}

static void s_data(struct ks_session *s, int chan, const void *d, size_t n, void *ud)
{
	struct kexec *e = ud;

	if (chan == KS_RESIZE)
		resize(e, d, n);
	else if (chan == KS_STDIN && e->x && !rt_exec_write(e->x, d, n) &&
		 rt_exec_stdin_queued(e->x) > KS_HIGH_WATER)
		ks_pause_read(s, true);	/* resumed by x_stdin_drain */
	else if (chan == KS_STDIN && e->att && n)
		kl_attach_send(e->att, RT_ATTACH_STDIN, d, n);
}

static void s_eof(struct ks_session *s, int chan, void *ud)
{
	struct kexec *e = ud;

	if (chan == KS_STDIN && e->x)
		rt_exec_close_stdin(e->x);
	if (chan == KS_STDIN && e->att)
		kl_attach_send(e->att, RT_ATTACH_EOF, NULL, 0);
}

static void s_close(struct ks_session *s, void *ud)
{
	struct kexec *e = ud;

	e->s = NULL;
	kl_follow_stop(e->fol);
	e->fol = NULL;
	kl_attach_close(e->att);
	e->att = NULL;
	if (e->x) {
		rt_exec_abort(e->x);	/* no callback follows */
		e->x = NULL;
	}
	kexec_free(e);
}

static int collect_command(struct kexec *e, struct http_request *req)
{
	size_t n = http_query_count(req->query, "command");

	if (!n || n > KX_ARGS_MAX)
		return -EINVAL;
	e->argv = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		if (http_request_query(req, "command", i, &e->argv[i]) || !e->argv[i])
			return -EINVAL;
		e->argc++;
	}
	return 0;
}

void kl_serve_exec(struct kubelet *k, struct http_request *req, const struct kl_target *t,
		   bool attach)
{
	static const struct ks_handler h = { .on_ready = s_ready, .on_data = s_data,
					     .on_eof = s_eof, .on_close = s_close,
					     .on_drain = s_drain };
	struct kexec *e = xcalloc(1, sizeof(*e));
	bool want[KS_NCHAN] = { 0 };
	struct ks_session *s;

	e->k = k;
	e->attach = attach;
	e->tty = kl_query_bool(req, "tty", false);
	e->stdin = kl_query_bool(req, "stdin", false);
	want[KS_STDIN] = e->stdin;
	want[KS_STDOUT] = kl_query_bool(req, "stdout", false);
	want[KS_STDERR] = kl_query_bool(req, "stderr", false) && !e->tty;
	want[KS_RESIZE] = e->tty;
	if (!attach && collect_command(e, req)) {
		kl_fail(req, 400, "you must specify at least one command for the container");
		goto fail;
	}
	if (!want[KS_STDIN] && !want[KS_STDOUT] && !want[KS_STDERR]) {
		kl_fail(req, 400, "you must specify at least one of stdin, stdout, stderr");
		goto fail;
	}
	if (kl_find_container(k, t->ns, t->pod, t->container, false, &e->ctr_id, &e->log_path)) {
		kl_fail(req, 404, "container not found (\"%s\")", t->container);
		goto fail;
	}
	if (kl_container_exited(k, e->ctr_id)) {
		kl_fail(req, 400, "container %s is not running", t->container);
		goto fail;
	}
	if (ks_upgrade(k, req, want, &h, e, &s))
		goto fail;
	e->s = s;
	return;
fail:
	kexec_free(e);
}
