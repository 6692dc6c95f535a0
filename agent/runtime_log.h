/*
 * agent/runtime_log.h - the CRI-format container log writer of `k1s shim`
 * (internal to agent/runtime*.c; the format is described in runtime.h).
 *
 * A stream buffers at most RT_LOG_LINE_MAX bytes of an unfinished line; a
 * full buffer is written as a "P" record. A log without a path discards.
 * Write errors are counted, not fatal: the container must not block on them.
 */
#ifndef K1S_AGENT_RUNTIME_LOG_H
#define K1S_AGENT_RUNTIME_LOG_H

#include "agent/runtime.h"

struct rt_log {
	int fd;			/* -1: discard */
	char *path;
	uint64_t size;		/* bytes in the current file */
	uint64_t max_bytes;	/* rotate when size reaches this */
	unsigned max_files;	/* files kept, current included (>= 1) */
	unsigned errors;	/* failed writes/rotations */
};

struct rt_log_stream {
	const char *name;	/* "stdout" or "stderr" */
	int fd;			/* pipe read end, -1 when closed */
	size_t len;
	char buf[RT_LOG_LINE_MAX];
};

/* Opens path for appending (NULL: discard); 0 limits take the defaults. */
void rt_log_init(struct rt_log *l, const char *path, uint64_t max_bytes, unsigned max_files);
void rt_log_release(struct rt_log *l);
/* Reads once from st->fd and logs it: bytes read, 0 at EOF, or -errno (not EAGAIN/EINTR). */
ssize_t rt_log_read(struct rt_log *l, struct rt_log_stream *st);
/* The same, and tap(ud, st, data, len) sees what was read (attach clients). */
typedef void (*rt_log_tap_fn)(void *ud, const struct rt_log_stream *st, const char *d, size_t n);
ssize_t rt_log_read_tap(struct rt_log *l, struct rt_log_stream *st, rt_log_tap_fn tap, void *ud);
/* Logs len bytes of output that arrived at wall-clock time now_ns. */
void rt_log_feed(struct rt_log *l, struct rt_log_stream *st, const char *data, size_t len,
		 int64_t now_ns);
/* Writes an unfinished line as a full record (at EOF). */
void rt_log_flush(struct rt_log *l, struct rt_log_stream *st);

#endif
