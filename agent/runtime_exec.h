/*
 * agent/runtime_exec.h - a synchronous command inside a running container
 * (`runc exec`), for exec probes and exec lifecycle hooks. Streaming exec
 * (kubectl exec, attach, tty) lives elsewhere.
 *
 * Blocks: call it off the loop (a uv_queue_work thread). It never leaves a
 * process behind: on timeout the command (by the pid runc reports) and runc
 * itself are SIGKILLed and reaped.
 */
#ifndef K1S_AGENT_RUNTIME_EXEC_H
#define K1S_AGENT_RUNTIME_EXEC_H

#include "agent/runtime.h"
#include "lib/buf.h"

#define RT_EXEC_OUTPUT_MAX 10240	/* bytes of output kept (the kubelet's probe limit) */

/*
 * Runs argv (NULL-terminated, argv[0] non-NULL) in container id, stdin
 * /dev/null, stdout and stderr merged. At most RT_EXEC_OUTPUT_MAX bytes are
 * appended to out (may be NULL); the rest is read and dropped.
 * Returns 0 when the command ran to its end, with its exit status in
 * *exit_code (128+signal when killed; runc's own failure, e.g. a container
 * that is not running, is a non-zero code with runc's message in out);
 * -ETIMEDOUT when timeout_ms (0 = no limit) passed first; -EINVAL for a bad
 * id or empty argv; -errno when runc could not be started.
 */
int rt_container_exec_sync(struct rt *rt, const char *id, const char *const *argv,
			   unsigned timeout_ms, struct buf *out, int *exit_code);

#endif
