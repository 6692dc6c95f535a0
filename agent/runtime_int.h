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
#define RT_F_ATTACH "attach.sock"

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

/* ---- the shim's stdin, terminal and attach socket (runtime_attach.c) ---- */
struct pollfd;
#define RT_ATTACH_PENDING_MAX 65536	/* stdin bytes buffered in the shim */
#define RT_CONSOLE_WAIT_MS 5000		/* for runc's console socket connection */

struct rt_attach_client {
	int fd;				/* -1: free slot */
	bool wrote;			/* sent stdin (stdinOnce closes it when it goes) */
	size_t len;
	unsigned char buf[RT_ATTACH_HDR + RT_ATTACH_DATA_MAX];	/* an unfinished frame */
};

struct rt_attach_srv {
	int lfd;			/* the listening socket */
	int in;				/* the container's stdin: pipe or pty master; -1 once closed */
	bool tty, once;
	bool in_eof;			/* a terminal's ^D is queued: no more input */
	struct rt_attach_client cl[RT_ATTACH_CLIENTS];
	int con_lfd;			/* tty: runc's console socket until the master came */
	char con_dir[32];		/* its directory, "" when none */
	size_t pend_len;
	char pend[RT_ATTACH_PENDING_MAX];	/* stdin the container has not taken yet */
};

/* Nothing open yet (rt__attach_release is a no-op). */
void rt__attach_init(struct rt_attach_srv *a);
/*
 * Without tty: the container's stdin (*stdin_fd, for `runc create`; the
 * caller closes it once runc is done). With tty: the console socket for
 * runc (rt__console_path). Then listens on <dir>/attach.sock. 0 or -errno.
 */
int rt__attach_open(struct rt_attach_srv *a, const char *dir, bool tty, bool once, int *stdin_fd);
/* The --console-socket path for runc into buf, or NULL without tty. */
const char *rt__console_path(struct rt_attach_srv *a, char *buf, size_t len);
/* After `runc create`: the pty master runc sent becomes the stdin, and a
 * copy in *out_fd is read for the output. The socket is removed. 0 or -errno. */
int rt__console_take(struct rt_attach_srv *a, int *out_fd);
/* The fds to poll (at most 2 + RT_ATTACH_CLIENTS) into pf; their count. */
size_t rt__attach_pollfds(struct rt_attach_srv *a, struct pollfd *pf);
void rt__attach_handle(struct rt_attach_srv *a, const struct pollfd *pf, size_t n);
/* Sends the container's output (RT_ATTACH_STDOUT/STDERR) to every client. */
void rt__attach_output(struct rt_attach_srv *a, int type, const void *d, size_t n);
void rt__attach_release(struct rt_attach_srv *a);

#endif
