/*
 * agent/runtime_stream.h - interactive processes in running containers:
 * `runc exec`, with pipes or with a terminal, driven on the agent's loop.
 *
 * Unlike the rest of the runtime layer (agent/runtime.h) nothing here
 * blocks: runc is spawned with uv_spawn and its output arrives through
 * callbacks. With a terminal, runc's stdin/stdout/stderr are the slave of
 * a pty the agent opens (runc refuses --console-socket unless detached, and
 * a detached exec loses its exit code): runc makes it raw and copies it to
 * and from the container's own pty. The master carries stdin and the
 * merged output; a resize is TIOCSWINSZ on it plus SIGWINCH to runc, which
 * copies the size into the container.
 *
 * Lifetime: rt_exec_start() -> callbacks -> on_exit exactly once (after
 * the process exited and its output was drained, or at most
 * RT_EXEC_DRAIN_MS after the exit when something else holds the pipes) ->
 * the object is freed once its handles are closed. rt_exec_abort() kills
 * runc (and so the process: runc forwards the signal) and suppresses every
 * later callback; the object then frees itself.
 */
#ifndef K1S_AGENT_RUNTIME_STREAM_H
#define K1S_AGENT_RUNTIME_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "agent/runtime.h"

#define RT_EXEC_DRAIN_MS 1000		/* output drained after the exit, at most */

struct rt_exec;

struct rt_exec_opts {
	const char *const *argv;	/* required, NULL-terminated */
	bool tty;			/* a terminal: output on fd 1 only */
	bool stdin;			/* keep stdin open for rt_exec_write() */
	uint16_t cols, rows;		/* initial terminal size (0: leave) */
};

struct rt_exec_cbs {
	/* Output of the process: fd 1 (stdout, or the terminal) or 2. */
	void (*on_output)(struct rt_exec *x, int fd, const void *data, size_t len, void *ud);
	/* The process ended: its exit code (128 + signal when killed; runc's
	 * own failures, e.g. no such executable, exit 255 after printing the
	 * reason on stderr / the terminal). msg is "" (reserved). */
	void (*on_exit)(struct rt_exec *x, int code, const char *msg, void *ud);
	/* Optional: everything written to stdin was taken by the process. */
	void (*on_stdin_drain)(struct rt_exec *x, void *ud);
};

/* Starts argv in container id. 0 or -errno (nothing then runs). */
int rt_exec_start(uv_loop_t *loop, const struct rt *rt, const char *id,
		  const struct rt_exec_opts *o, const struct rt_exec_cbs *cbs, void *ud,
		  struct rt_exec **out);
/* Queues stdin bytes. 0, -EPIPE when stdin is closed or was not asked for. */
int rt_exec_write(struct rt_exec *x, const void *data, size_t len);
/* Bytes written to stdin and not yet taken by the process. */
size_t rt_exec_stdin_queued(const struct rt_exec *x);
/* Stops/resumes reading the process's output (backpressure). */
void rt_exec_pause_output(struct rt_exec *x, bool pause);
/* Closes stdin (EOF for the process; with a terminal, sends ^D). */
void rt_exec_close_stdin(struct rt_exec *x);
/* Sets the terminal size (no-op without a terminal). */
void rt_exec_resize(struct rt_exec *x, uint16_t cols, uint16_t rows);
/* Kills the process and detaches: no callback runs any more. */
void rt_exec_abort(struct rt_exec *x);

#endif
