/*
 * agent/runtime.h - the container runtime layer of the kubelet-lite: runc
 * containers supervised by `k1s shim`, and pod sandboxes held by `k1s pause`.
 *
 * This layer knows no Kubernetes objects: the pod workers translate a pod
 * into struct rt_spec / struct rt_sandbox_config and call the functions
 * below. Every function blocks (it runs runc and waits for it); the agent
 * calls them off its loop. They return 0 or -errno; on failure a message
 * naming the container has been logged.
 *
 * Process model. rt_container_create() writes the container's state
 * directory, then starts one shim for it: build/k1s-shim beside the k1s
 * binary when present (a small static program, agent/shim/main.c), else
 * `k1s shim`, both spawned without copying the caller (posix_spawn) as
 * `k1s shim <state-dir> 3 key=value...` (id, runc, root, cgroup, log,
 * log-max-bytes, log-max-files, start, stdin, stdin-once, tty). The shim detaches (fork + setsid,
 * so it survives the agent and is not its child), makes itself a child
 * subreaper, runs `runc create` - or `runc run --detach` when the container
 * is created started (rt_create_opts.start: one runc call instead of two) -
 * with the container's stdout/stderr as pipes it holds, reports "ok" (or
 * the error) back to the caller on fd 3, and then writes the CRI log file
 * and waits for the container's init process, which is reparented to it
 * when runc exits. When the init exits the shim drains the pipes, reads the
 * cgroup's OOM-kill count, writes exit.json and exits. rt_container_start()
 * runs `runc start` (containers created without start).
 *
 * On-disk state, one directory per container, <state_dir>/<id>/:
 *   config.json  OCI runtime spec: the directory is the runc bundle
 *   shim.json    what the shim was given: id, runc path and root, log path
 *                and rotation limits, cgroup path, kind (container or
 *                sandbox), creation time. Written once by the caller before
 *                the shim (which takes the same as arguments).
 *   shim.pid     "<pid> <starttime>" of the shim (starttime: field 22 of
 *                /proc/<pid>/stat), so a reused pid is not mistaken for it
 *   pid          the container's init pid (runc --pid-file)
 *   started      wall-clock start time in ns, written just before `runc start`
 *                or `runc run` (a short container may finish first)
 *   exit.json    {"exitCode","signal","oomKilled","finishedAt"(ns)} written
 *                atomically by the shim once the init has exited
 *   runc.log     runc's own log (--log), for error messages
 *   shim.log     the shim's stderr
 *   rootfs/      sandboxes only: the pause container's tiny root filesystem
 * Re-adoption after an agent restart needs nothing but this directory and
 * runc's state: rt_container_status() says RUNNING when exit.json is absent,
 * the shim (pid + starttime) is alive and `runc state` says running. A
 * sandbox's namespaces are found without runc: its init (the pid file) is
 * alive and a child of its shim.
 *
 * Container log: the CRI format the kubelet reads,
 *   2026-01-02T15:04:05.123456789Z stdout F message
 * one line per line of output; a line longer than RT_LOG_LINE_MAX bytes is
 * split into "P" (partial) records ended by an "F" record. When the file
 * passes log_max_bytes it is renamed <log>.1 (older ones shift to .2 ...)
 * and at most log_max_files files (current included) are kept.
 *
 * Limits: ids are at most RT_ID_MAX bytes of [A-Za-z0-9_.-] and do not start
 * with '.'; a spec has at most RT_ARGS_MAX args/env entries and
 * RT_MOUNTS_MAX extra mounts; anything larger is -EINVAL.
 */
#ifndef K1S_AGENT_RUNTIME_H
#define K1S_AGENT_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#define RT_ID_MAX 128
#define RT_ARGS_MAX 1024
#define RT_MOUNTS_MAX 256
#define RT_LOG_LINE_MAX 16384		/* bytes; longer lines become P records */
#define RT_LOG_MAX_BYTES 10485760	/* default rotation size, in bytes */
#define RT_LOG_MAX_FILES 5		/* default files kept, current included */

/* The runtime's context. Owned by the caller; rt_init copies nothing. */
struct rt {
	const char *runc;	/* runc executable; NULL = "runc" from PATH */
	const char *runc_root;	/* runc --root (its state), e.g. /run/k1s/runc */
	const char *state_dir;	/* our per-container directories */
	const char *self_exe;	/* the k1s binary (shim and pause); NULL = /proc/self/exe */
	const char *shim_exe;	/* shim and pause; NULL = k1s-shim beside self_exe if
				   executable, else self_exe */
	const char *cgroup_parent; /* default parent of container cgroups, e.g. "/k1s" */
};

/* Namespaces a container may create or join. */
enum rt_ns {
	RT_NS_PID,
	RT_NS_NET,
	RT_NS_IPC,
	RT_NS_UTS,
	RT_NS_MOUNT,
	RT_NS__COUNT
};

enum rt_ns_mode {
	RT_NS_NEW = 0,	/* a fresh namespace (the zero value) */
	RT_NS_JOIN,	/* join the namespace at .path (e.g. /proc/<pid>/ns/net) */
	RT_NS_HOST,	/* stay in the host's (no entry in the spec); not for MOUNT */
};

struct rt_ns_spec {
	enum rt_ns_mode mode;
	const char *path;	/* RT_NS_JOIN only */
};

enum rt_mount_kind {
	RT_MOUNT_BIND,		/* source is a host path */
	RT_MOUNT_TMPFS,
	RT_MOUNT_PROC,
	RT_MOUNT_SYSFS,
	RT_MOUNT_CGROUP,
};

struct rt_mount {
	enum rt_mount_kind kind;
	const char *dest;	/* absolute path inside the container */
	const char *source;	/* BIND: host path; others ignored */
	bool readonly;
	const char *options;	/* extra comma-separated options ("size=64m"), may be NULL */
};

/* cgroup resources; a zero field means "no limit / default". */
struct rt_resources {
	uint64_t cpu_shares;	/* relative weight (2..262144) */
	int64_t cpu_quota;	/* microseconds per period; 0 = unlimited */
	uint64_t cpu_period;	/* microseconds; 0 = kernel default (100000) */
	int64_t memory_limit;	/* bytes */
	int64_t pids_limit;	/* processes */
};

/*
 * A container, as the OCI spec generator takes it. String arrays are
 * NULL-terminated; the caller owns everything. A zeroed struct plus rootfs
 * and args is a valid, unprivileged container with new namespaces.
 */
struct rt_spec {
	const char *rootfs;		/* absolute path of the root filesystem */
	bool readonly_rootfs;
	const char *const *args;	/* argv; args[0] non-NULL */
	const char *const *env;		/* "K=V"; NULL = PATH only */
	const char *cwd;		/* NULL = "/" */
	uint32_t uid, gid;
	const uint32_t *extra_gids;	/* additional groups */
	size_t nr_extra_gids;
	const char *hostname;		/* only set with a new UTS namespace */
	const char *const *cap_add;	/* "CAP_NET_ADMIN" or "NET_ADMIN" */
	const char *const *cap_drop;	/* relative to the default set; "ALL" drops all */
	bool privileged;		/* every capability the agent holds, no masked paths, devices rw */
	bool no_new_privileges;
	bool terminal;			/* process.terminal; rt_container_create sets it
					 * from rt_create_opts.tty (runc hands the pty
					 * master to the shim), leave it false */
	const struct rt_mount *mounts;	/* after the default mounts */
	size_t nr_mounts;
	const char *hosts_file;		/* bind-mounted at /etc/hosts; NULL = none */
	const char *resolv_file;	/* ... at /etc/resolv.conf */
	const char *hostname_file;	/* ... at /etc/hostname */
	const char *cgroup_path;	/* absolute cgroup path; NULL = <cgroup_parent>/<id> */
	struct rt_resources res;
	struct rt_ns_spec ns[RT_NS__COUNT];
	bool has_oom_score_adj;
	int oom_score_adj;
};

/*
 * Generates the config.json runc accepts for spec. id names the container
 * (hostname fallback). Returns 0 and a malloc'd JSON text in *out, or
 * -EINVAL for a bad spec (unknown capability, relative paths, too many
 * entries, hostname without a new UTS namespace).
 */
int rt_spec_json(const struct rt_spec *spec, const char *id, char **out);

/* Options of a container's shim. */
struct rt_create_opts {
	const char *log_path;		/* CRI log file; NULL = discard output */
	uint64_t log_max_bytes;		/* 0 = RT_LOG_MAX_BYTES */
	unsigned log_max_files;		/* 0 = RT_LOG_MAX_FILES */
	bool start;			/* created running (runc run --detach): no
					   rt_container_start() */
	/* stdin: the shim holds the container's stdin open (a pipe) for
	 * attach (see rt_attach_connect); tty: stdin, stdout and stderr are a
	 * terminal instead, the container's controlling terminal (runc makes
	 * it and hands the master to the shim); stdin_once:
	 * the stdin closes when the first attached client that wrote to it
	 * goes away (a terminal gets ^D) */
	bool stdin, stdin_once, tty;
};

enum rt_state {
	RT_STATE_UNKNOWN = 0,	/* no shim and no exit record: lost */
	RT_STATE_CREATED,
	RT_STATE_RUNNING,
	RT_STATE_EXITED,
};

struct rt_status {
	enum rt_state state;
	pid_t pid;		/* container init pid, 0 when unknown */
	pid_t shim_pid;		/* 0 when unknown */
	bool shim_alive;
	int exit_code;		/* EXITED: the code, or 128+signal */
	int signal;		/* EXITED: the killing signal, or 0 */
	bool oom_killed;	/* EXITED: the cgroup saw an OOM kill */
	int64_t created_ns, started_ns, finished_ns; /* wall clock, 0 = unknown */
};

const char *rt_state_name(enum rt_state s);

/* Validates a container id (see the limits above). 0 or -EINVAL. */
int rt_id_check(const char *id);

/*
 * Creates the container: state dir, config.json, shim, `runc create`.
 * -EEXIST when the id exists. On failure nothing is left behind.
 */
int rt_container_create(struct rt *rt, const char *id, const struct rt_spec *spec,
			const struct rt_create_opts *opts);
/* Runs `runc start` and records the start time. */
int rt_container_start(struct rt *rt, const char *id);
/*
 * Sends SIGTERM, waits up to grace_ms for the exit, then SIGKILLs (every
 * process of the container) and waits for the shim to record the exit.
 * 0 when the container is exited (also when it already was).
 */
int rt_container_stop(struct rt *rt, const char *id, unsigned grace_ms);
/* Sends one signal to the container's init. */
int rt_container_kill(struct rt *rt, const char *id, int sig);
/* Force-removes: kills the shim if alive, `runc delete --force`, removes the state dir. */
int rt_container_remove(struct rt *rt, const char *id);
/* Reads the state from disk (+ runc state). -ENOENT for an unknown id. */
int rt_container_status(struct rt *rt, const char *id, struct rt_status *st);
/* Ids of all containers and sandboxes in state_dir; *ids is malloc'd, each string too. */
int rt_container_list(struct rt *rt, char ***ids, size_t *nr);
void rt_ids_free(char **ids, size_t nr);

/*
 * A pod sandbox: a `pause` container (k1s-shim or k1s, the shim's program)
 * with new network, IPC and UTS namespaces (and PID with share_pid). Its
 * root filesystem is <state>/<id>/rootfs: empty directories plus that
 * program bind-mounted read-only at /pause (and, when it is dynamically
 * linked, the host's library directories read-only).
 */
struct rt_sandbox_config {
	const char *hostname;		/* NULL = the id */
	bool share_pid;			/* pause is PID 1 of the pod */
	bool host_network;		/* stay in the host's network namespace */
	const char *netns_path;		/* join this netns instead of a new one */
	const char *cgroup_path;	/* NULL = <cgroup_parent>/<id> */
	const char *log_path;		/* pause output; NULL = discard */
	bool start;			/* created running: no rt_sandbox_start() */
};

int rt_sandbox_create(struct rt *rt, const char *id, const struct rt_sandbox_config *cfg);
int rt_sandbox_start(struct rt *rt, const char *id);
int rt_sandbox_stop(struct rt *rt, const char *id, unsigned grace_ms);
int rt_sandbox_remove(struct rt *rt, const char *id);
/*
 * "/proc/<pause-pid>/ns/<name>" of a started sandbox, malloc'd in *path.
 * -ESRCH when the pause process is gone.
 */
int rt_sandbox_ns_path(struct rt *rt, const char *id, enum rt_ns ns, char **path);
/*
 * Makes spec join the sandbox: net, ipc, uts (and pid when the sandbox
 * shares it) by path; the mount namespace stays new and hostname unset.
 * The paths are malloc'd into paths[] (free with free()).
 */
int rt_sandbox_join(struct rt *rt, const char *id, bool share_pid, struct rt_spec *spec,
		    char *paths[RT_NS__COUNT]);

/*
 * Attach (containers created with stdin or tty): the shim listens on
 * <state>/<id>/attach.sock; each message either way is a frame
 *   [type: 1 byte][length: 2 bytes, big endian][length bytes]
 * with the types below. The client sends STDIN, EOF (its input ended: with
 * stdin_once the container's stdin closes, else nothing happens) and RESIZE (columns and rows, 2 bytes each, big endian); the shim
 * sends what the container writes from now on as STDOUT/STDERR (a terminal
 * has one stream: STDOUT) and closes the connection when the container has
 * exited. At most RT_ATTACH_CLIENTS clients at once.
 */
enum rt_attach_type { RT_ATTACH_STDIN, RT_ATTACH_STDOUT, RT_ATTACH_STDERR, RT_ATTACH_EOF,
		      RT_ATTACH_RESIZE };
#define RT_ATTACH_CLIENTS 8
#define RT_ATTACH_DATA_MAX 32768	/* bytes of one frame's data */
#define RT_ATTACH_HDR 3			/* bytes of a frame header */

/* Connects to the attach socket of id: a connected socket (blocking,
 * close-on-exec), or -ENOENT when the container holds no stdin, -errno. */
int rt_attach_connect(const struct rt *rt, const char *id);

/* The `k1s shim` entry point: supervises the container of one state dir.
 * args are its key=value arguments (see above). Returns (in the caller's
 * process) only on a bad argument; else in the detached shim, at its end. */
int rt_shim_main(const char *state_dir, int ready_fd, char *const *args, int nargs);
/* The shim's program for rt: a path in buf (PATH_MAX bytes), or -ENOENT. */
int rt_shim_exe(const struct rt *rt, char *buf);

#endif
