/*
 * agent/kubelet_logs.c - GET /containerLogs: the CRI log files of a
 * container (rotated ones first), filtered and formatted as the kubelet
 * does, optionally followed; and the log follower attach uses.
 *
 * Semantics (upstream kubelet's): sinceSeconds/sinceTime drop records
 * older than the bound; tailLines keeps the last N lines of what remains;
 * timestamps prefixes each line with the record's RFC 3339 time;
 * limitBytes cuts the output after that many bytes; previous reads the
 * attempt before the current one; follow keeps streaming until the
 * container exits or the client goes away.
 */
#include "kubelet_int.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KL_LOG_FILES_MAX 16		/* rotated files looked at: <log>.1 .. .15 */
#define KL_LOG_READ_MAX (256 * 1024 * 1024)	/* bytes read for one request */
#define KL_READ_CHUNK 65536

int kl_logline_parse(const char *line, size_t len, struct kl_logline *l)
{
	const char *sp1 = memchr(line, ' ', len), *sp2, *sp3;
	char ts[64];

	memset(l, 0, sizeof(*l));
	if (!sp1 || (size_t)(sp1 - line) >= sizeof(ts))
		return -EINVAL;
	sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line));
	if (!sp2)
		return -EINVAL;
	sp3 = memchr(sp2 + 1, ' ', len - (size_t)(sp2 + 1 - line));
	memcpy(ts, line, (size_t)(sp1 - line));
	ts[sp1 - line] = '\0';
	if (rfc3339_parse(ts, &l->ts_ns))
		return -EINVAL;
	l->ts = line;
	l->ts_len = (size_t)(sp1 - line);
	if (sp2 - sp1 - 1 == 6 && !memcmp(sp1 + 1, "stdout", 6))
		l->stream = 1;
	else if (sp2 - sp1 - 1 == 6 && !memcmp(sp1 + 1, "stderr", 6))
		l->stream = 2;
	else
		return -EINVAL;
	if (!sp3) {	/* "ts stream F" with an empty message */
		sp3 = line + len;
	}
	if (sp3 - sp2 - 1 != 1 || (sp2[1] != 'P' && sp2[1] != 'F'))
		return -EINVAL;
	l->partial = sp2[1] == 'P';
	l->msg = sp3 < line + len ? sp3 + 1 : sp3;
	l->msg_len = (size_t)(line + len - l->msg);
	return 0;
}

/* ---- the follower ---- */

struct kl_follow {
	struct kubelet *k;
	char *path, *ctr_id;
	int fd;
	ino_t ino;
	struct buf part;		/* bytes after the last '\n' */
	uv_timer_t timer;
	kl_line_fn line;
	kl_end_fn end;
	void *ud;
	bool stopped;
	bool in_cb;
};

/* Splits f->part into records; returns false when stopped meanwhile. */
static bool deliver(struct kl_follow *f)
{
	size_t used = 0;

	while (!f->stopped) {
		char *nl = memchr(f->part.data + used, '\n', f->part.len - used);
		struct kl_logline l;

		if (!nl)
			break;
		if (!kl_logline_parse(f->part.data + used, (size_t)(nl - f->part.data) - used, &l))
			f->line(f->ud, &l);
		used = (size_t)(nl - f->part.data) + 1;
	}
	buf_consume(&f->part, used);
	return !f->stopped;
}

/* Reads what is new in f->fd. true when something was read. */
static bool read_new(struct kl_follow *f)
{
	char b[KL_READ_CHUNK];
	bool any = false;
	ssize_t n;

	while (f->fd >= 0 && (n = read(f->fd, b, sizeof(b))) > 0) {
		buf_add(&f->part, b, (size_t)n);
		any = true;
		if (!deliver(f))
			break;
	}
	return any;
}

static void reopen_if_rotated(struct kl_follow *f)
{
	struct stat st;

	if (stat(f->path, &st) || st.st_ino == f->ino)
		return;
	read_new(f);		/* the rest of the rotated file */
	if (f->fd >= 0)
		close(f->fd);
	f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	f->ino = st.st_ino;
	buf_reset(&f->part);
}

static void on_follow_closed(uv_handle_t *h)
{
	struct kl_follow *f = h->data;

	free(f->path);
	free(f->ctr_id);
	buf_release(&f->part);
	free(f);
}

static void on_tick(uv_timer_t *t)
{
	struct kl_follow *f = t->data;
	bool exited = kl_container_exited(f->k, f->ctr_id);

	f->in_cb = true;
	reopen_if_rotated(f);
	if (!f->stopped && !read_new(f) && exited && !f->stopped) {
		f->end(f->ud);
		f->stopped = true;
	}
	f->in_cb = false;
	if (f->stopped)
		kl_follow_stop(f);
}

int kl_follow_start(struct kubelet *k, const char *log_path, const char *ctr_id, int64_t offset,
		    kl_line_fn line, kl_end_fn end, void *ud, struct kl_follow **out)
{
	struct kl_follow *f = xcalloc(1, sizeof(*f));
	struct stat st;

	f->k = k;
	f->path = xstrdup(log_path);
	f->ctr_id = xstrdup(ctr_id);
	f->line = line;
	f->end = end;
	f->ud = ud;
	buf_init(&f->part, 0);
	f->fd = open(log_path, O_RDONLY | O_CLOEXEC);
	if (f->fd >= 0 && !fstat(f->fd, &st)) {
		f->ino = st.st_ino;
		lseek(f->fd, offset < 0 ? 0 : (off_t)offset, offset < 0 ? SEEK_END : SEEK_SET);
	}
	f->timer.data = f;
	uv_timer_init(k->loop, &f->timer);
	uv_timer_start(&f->timer, on_tick, KL_FOLLOW_MS, KL_FOLLOW_MS);
	*out = f;
	return 0;
}

void kl_follow_stop(struct kl_follow *f)
{
	if (!f)
		return;
	f->stopped = true;
	if (f->in_cb || uv_is_closing((uv_handle_t *)&f->timer))
		return;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	uv_close((uv_handle_t *)&f->timer, on_follow_closed);
}

/* ---- GET /containerLogs ---- */

struct logreq {
	struct http_request *req;
	int64_t since_ns;		/* 0: no bound */
	int64_t tail;			/* -1: all */
	int64_t limit;			/* bytes; -1: none */
	int64_t sent;
	bool timestamps, follow, line_start;
	struct buf out;
	size_t *starts;			/* output offset of each logical line */
	size_t n_starts, alloc_starts;
	struct kl_follow *fol;
};

/* Appends one record to r->out (filtering by time). */
static void emit(struct logreq *r, const struct kl_logline *l)
{
	if (r->since_ns && l->ts_ns < r->since_ns)
		return;
	if (r->line_start) {
		ALLOC_GROW(r->starts, r->n_starts + 1, r->alloc_starts);
		r->starts[r->n_starts++] = r->out.len;
		if (r->timestamps) {
			buf_add(&r->out, l->ts, l->ts_len);
			buf_addch(&r->out, ' ');
		}
	}
	buf_add(&r->out, l->msg, l->msg_len);
	if (!l->partial)
		buf_addch(&r->out, '\n');
	r->line_start = !l->partial;
}

/* Reads whole files into records; returns the current file's size read. */
static int64_t read_file_records(struct logreq *r, const char *path)
{
	char *data = NULL;
	size_t len = 0, pos = 0;

	if (read_file(path, KL_LOG_READ_MAX, &data, &len))
		return 0;
	while (pos < len) {
		char *nl = memchr(data + pos, '\n', len - pos);
		struct kl_logline l;

		if (!nl)
			break;
		if (!kl_logline_parse(data + pos, (size_t)(nl - data) - pos, &l))
			emit(r, &l);
		pos = (size_t)(nl - data) + 1;
	}
	free(data);
	return (int64_t)pos;
}

/* Sends r->out, respecting limitBytes. false once the limit is reached. */
static bool flush(struct logreq *r, size_t from)
{
	size_t n = r->out.len - from;

	if (r->limit >= 0 && r->sent + (int64_t)n > r->limit)
		n = (size_t)(r->limit - r->sent);
	if (n && http_stream_write(r->req, r->out.data + from, n))
		return false;
	r->sent += (int64_t)n;
	buf_reset(&r->out);
	return r->limit < 0 || r->sent < r->limit;
}

static void logreq_free(struct logreq *r)
{
	buf_release(&r->out);
	free(r->starts);
	free(r);
}

static void follow_line(void *ud, const struct kl_logline *l)
{
	struct logreq *r = ud;

	emit(r, l);
	if (!flush(r, 0)) {
		kl_follow_stop(r->fol);
		http_request_on_cancel(r->req, NULL, NULL);
		http_stream_end(r->req);
		logreq_free(r);
	}
}

static void follow_end(void *ud)
{
	struct logreq *r = ud;

	http_request_on_cancel(r->req, NULL, NULL);
	http_stream_end(r->req);
	logreq_free(r);
}

static void on_cancel(struct http_request *req, void *data)
{
	struct logreq *r = data;

	kl_follow_stop(r->fol);
	http_stream_end(req);
	logreq_free(r);
}

static int parse_opts(struct logreq *r, struct http_request *req, char **err)
{
	char *v = NULL;
	int64_t n;

	r->tail = r->limit = -1;
	r->timestamps = kl_query_bool(req, "timestamps", false);
	r->follow = kl_query_bool(req, "follow", false);
	if (!http_request_query(req, "tailLines", 0, &v) && v) {
		if (parse_i64(v, &n) || n < 0)
			*err = xasprintf("invalid tailLines '%s'", v);
		r->tail = n;
	}
	free(v);
	v = NULL;
	if (!*err && !http_request_query(req, "limitBytes", 0, &v) && v) {
		if (parse_i64(v, &n) || n < 1)
			*err = xasprintf("invalid limitBytes '%s': must be greater than 0", v);
		r->limit = n;
	}
	free(v);
	v = NULL;
	if (!*err && !http_request_query(req, "sinceSeconds", 0, &v) && v) {
		if (parse_i64(v, &n) || n < 1)
			*err = xasprintf("invalid sinceSeconds '%s': must be greater than 0", v);
		else
			r->since_ns = (int64_t)wall_ns() - n * 1000000000LL;
	}
	free(v);
	v = NULL;
	if (!*err && !http_request_query(req, "sinceTime", 0, &v) && v) {
		if (r->since_ns)
			*err = xstrdup("at most one of sinceTime or sinceSeconds may be specified");
		else if (rfc3339_parse(v, &r->since_ns))
			*err = xasprintf("invalid sinceTime '%s'", v);
	}
	free(v);
	return *err ? -EINVAL : 0;
}

void kl_serve_logs(struct kubelet *k, struct http_request *req, const struct kl_target *t)
{
	static const struct http_header ct = { "Content-Type", "text/plain" };
	struct logreq *r = xcalloc(1, sizeof(*r));
	bool previous = kl_query_bool(req, "previous", false);
	char *ctr = NULL, *path = NULL, *err = NULL;
	int64_t off = 0;
	size_t from = 0;

	r->req = req;
	r->line_start = true;
	buf_init(&r->out, 0);
	if (parse_opts(r, req, &err)) {
		kl_fail(req, 400, "%s", err);
		goto done;
	}
	if (kl_find_container(k, t->ns, t->pod, t->container, previous, &ctr, &path)) {
		if (previous)
			kl_fail(req, 400, "previous terminated container \"%s\" in pod \"%s\" not found",
				t->container, t->pod);
		else
			kl_fail(req, 404, "container \"%s\" in pod \"%s\" is not available",
				t->container, t->pod);
		goto done;
	}
	for (int i = KL_LOG_FILES_MAX - 1; i >= 1; i--) {
		char *rp = xasprintf("%s.%d", path, i);

		read_file_records(r, rp);
		free(rp);
	}
	off = read_file_records(r, path);
	if (r->tail == 0)
		from = r->out.len;
	else if (r->tail > 0 && (size_t)r->tail < r->n_starts)
		from = r->starts[r->n_starts - (size_t)r->tail];
	if (!r->follow || previous) {
		size_t n = r->out.len - from;

		if (r->limit >= 0 && (int64_t)n > r->limit)
			n = (size_t)r->limit;
		http_respond(req, 200, &ct, 1, r->out.data + from, n);
		goto done;
	}
	http_stream_start(req, 200, &ct, 1);
	if (!flush(r, from)) {
		http_stream_end(req);
		goto done;
	}
	free(r->starts);
	r->starts = NULL;
	r->n_starts = r->alloc_starts = 0;
	http_request_on_cancel(req, on_cancel, r);
	kl_follow_start(k, path, ctr, off, follow_line, follow_end, r, &r->fol);
	free(ctr);
	free(path);
	return;
done:
	free(ctr);
	free(path);
	free(err);
	logreq_free(r);
}
