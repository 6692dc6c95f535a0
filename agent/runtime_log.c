/*
 * agent/runtime_log.c - CRI log records and size-based rotation.
 */
#include "agent/runtime_log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define TS_MAX 48

static void log_open(struct rt_log *l, bool truncate)
{
	struct stat st;

	l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
		     (truncate ? O_TRUNC : 0), 0640);
	l->size = l->fd >= 0 && fstat(l->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (l->fd < 0)
		l->errors++;
}

void rt_log_init(struct rt_log *l, const char *path, uint64_t max_bytes, unsigned max_files)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->max_bytes = max_bytes ? max_bytes : RT_LOG_MAX_BYTES;
	l->max_files = max_files ? max_files : RT_LOG_MAX_FILES;
	if (!path)
		return;
	l->path = xstrdup(path);
	log_open(l, false);
}

void rt_log_release(struct rt_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	free(l->path);
	l->fd = -1;
	l->path = NULL;
}

/* <path> -> <path>.1 -> ... -> <path>.<max_files-1>; the oldest is overwritten. */
static void log_rotate(struct rt_log *l)
{
	unsigned i;

	close(l->fd);
	for (i = l->max_files - 1; i >= 1; i--) {
		char *from = i == 1 ? xstrdup(l->path) : xasprintf("%s.%u", l->path, i - 1);
		char *to = xasprintf("%s.%u", l->path, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			l->errors++;
		free(from);
		free(to);
	}
	log_open(l, true);
}

static void format_ts(int64_t ns, char out[TS_MAX])
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, TS_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, TS_MAX - n, ".%09dZ", (int)(ns % 1000000000));
}

static void log_record(struct rt_log *l, const char *stream, char tag, const char *msg,
		       size_t len, int64_t now_ns)
{
	char head[TS_MAX + 16], ts[TS_MAX];
	struct iovec iov[3];
	ssize_t n;
	size_t want;

	if (l->fd < 0)
		return;
	format_ts(now_ns, ts);
	snprintf(head, sizeof(head), "%s %s %c ", ts, stream, tag);
	iov[0] = (struct iovec){ head, strlen(head) };
	iov[1] = (struct iovec){ (void *)msg, len };
	iov[2] = (struct iovec){ "\n", 1 };
	want = iov[0].iov_len + len + 1;
	/* one writev per record: O_APPEND keeps records whole */
	do
		n = writev(l->fd, iov, 3);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)want)
		l->errors++;
	if (n > 0)
		l->size += (uint64_t)n;
	if (l->size >= l->max_bytes)
		log_rotate(l);
}

void rt_log_feed(struct rt_log *l, struct rt_log_stream *st, const char *data, size_t len,
		 int64_t now_ns)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len, room = sizeof(st->buf) - st->len;

		if (take > room || (take == room && !nl)) {	/* a partial record */
			memcpy(st->buf + st->len, data, room);
			log_record(l, st->name, 'P', st->buf, sizeof(st->buf), now_ns);
			st->len = 0;
			data += room;
			len -= room;
			continue;
		}
		memcpy(st->buf + st->len, data, take);
		st->len += take;
		data += take;
		len -= take;
		if (nl) {
			log_record(l, st->name, 'F', st->buf, st->len, now_ns);
			st->len = 0;
			data++;
			len--;
		}
	}
}

void rt_log_flush(struct rt_log *l, struct rt_log_stream *st)
{
	if (st->len)
		log_record(l, st->name, 'F', st->buf, st->len, (int64_t)wall_ns());
	st->len = 0;
}

ssize_t rt_log_read_tap(struct rt_log *l, struct rt_log_stream *st, rt_log_tap_fn tap, void *ud)
{
	char chunk[65536];
	ssize_t n = read(st->fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 1 : -errno;
	if (n > 0)
		rt_log_feed(l, st, chunk, (size_t)n, (int64_t)wall_ns());
	if (n > 0 && tap)
		tap(ud, st, chunk, (size_t)n);
	return n;
}

ssize_t rt_log_read(struct rt_log *l, struct rt_log_stream *st)
{
	return rt_log_read_tap(l, st, NULL, NULL);
}
