/*
 * agent/runtime_int.h - internals shared by agent/runtime*.c (not for other
 * modules). File names of the state directory layout documented in
 * agent/runtime.h live here, once.
 */
#ifndef K1S_AGENT_RUNTIME_INT_H
#define K1S_AGENT_RUNTIME_INT_H

#include "agent/runtime.h"

#define RT_F_CONFIG "config.json"
#define RT_F_SHIM "shim.json"
#define RT_F_SHIM_PID "shim.pid"
#define RT_F_PID "pid"
#define RT_F_STARTED "started"
#define RT_F_EXIT "exit.json"
#define RT_F_RUNC_LOG "runc.log"
#define RT_F_SHIM_LOG "shim.log"

#define RT_SHIM_NAME "k1s-shim"	/* the small shim program, beside k1s */

#define RT_STATE_FILE_MAX 65536	/* bytes of any state file we read */

/* <state_dir>/<id>[/<file>], malloc'd. */
char *rt__path(const struct rt *rt, const char *id, const char *file);
const char *rt__runc(const struct rt *rt);

/*
 * Runs argv (argv[0] searched in PATH), stdin from /dev/null. Its stdout is
 * returned in *out (malloc'd, may be NULL to discard), stderr in *err (same).
 * Returns the exit status (>= 0, 128+sig when killed) or -errno.
 */
int rt__exec(const char *const *argv, char **out, char **err);

/*
 * Runs `runc --root <root> <args...>` (NULL-terminated). Returns 0, or
 * -EIO with runc's stderr logged (unless quiet), or -errno.
 */
int rt__runc_run(const struct rt *rt, bool quiet, char **out, const char *arg, ...);

/* Writes a state file (mode 0600) by rename, without fsync: the state of a
 * container lives as long as the container, which a reboot ends anyway, and
 * a torn file reads as a lost container. 0 or -errno. */
int rt__write_state(const char *path, const char *text);

/* Reads "<pid> <starttime>" / a plain pid file; 0 or -errno. */
int rt__read_pid(const char *path, pid_t *pid, uint64_t *starttime);
/* Field 22 of /proc/<pid>/stat, or 0 when the process is gone. */
uint64_t rt__proc_starttime(pid_t pid);
/* The shim of id is alive (pid and start time match shim.pid). */
bool rt__shim_alive(const struct rt *rt, const char *id, pid_t *pid);

/* rm -rf that never crosses a mount point. 0 or -errno. */
int rt__rmtree(const char *path);

/* Creates the container with an optional kind ("sandbox"); dir may already exist. */
int rt__create(struct rt *rt, const char *id, const struct rt_spec *spec,
	       const struct rt_create_opts *opts, const char *kind);

#endif
