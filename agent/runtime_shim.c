/*
 * agent/runtime_shim.c - `k1s shim <state-dir> <ready-fd> key=value...`:
 * supervises one container (see agent/runtime.h for the protocol and the
 * files). It detaches itself (fork, the parent exits, setsid), is a child
 * subreaper, so the container's init becomes its child once `runc create`
 * (or `runc run -d`) exits; it holds the stdout/stderr pipes and writes the
 * CRI log (agent/runtime_log.c); when the init exits it drains the pipes (at
 * most RT_DRAIN_MS), reads the cgroup's OOM-kill count and writes exit.json.
 * A container with stdin or a terminal gets them from the shim, which
 * serves its attach socket too (agent/runtime_attach.c).
 *
 * It links against nothing but libc and lib/util.c, lib/log.c (no JSON, no
 * libuv), so build/k1s-shim (agent/shim/main.c) is a small static program.
 */
#include "agent/runtime_int.h"
#include "agent/runtime_log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RT_DRAIN_MS 1000	/* after the exit, how long output may still come */

/* What the caller passes as key=value arguments (strings point into argv). */
struct shim_cfg {
	const char *id, *runc, *root;	/* required */
	const char *cgroup, *log;	/* NULL: no OOM count / discard output */
	const char *log_max_bytes, *log_max_files;	/* decimal; NULL: defaults */
	const char *start;		/* "1": runc run -d instead of runc create */
	const char *stdin, *stdin_once, *tty;	/* "1": see rt_create_opts */
};

static const struct { const char *key; size_t off; } cfg_keys[] = {
	{ "id", offsetof(struct shim_cfg, id) },
	{ "runc", offsetof(struct shim_cfg, runc) },
	{ "root", offsetof(struct shim_cfg, root) },
	{ "cgroup", offsetof(struct shim_cfg, cgroup) },
	{ "log", offsetof(struct shim_cfg, log) },
	{ "log-max-bytes", offsetof(struct shim_cfg, log_max_bytes) },
	{ "log-max-files", offsetof(struct shim_cfg, log_max_files) },
	{ "start", offsetof(struct shim_cfg, start) },
	{ "stdin", offsetof(struct shim_cfg, stdin) },
	{ "stdin-once", offsetof(struct shim_cfg, stdin_once) },
	{ "tty", offsetof(struct shim_cfg, tty) },
};

static bool cfg_on(const char *v)
{
	return v && !strcmp(v, "1");
}

struct shim {
	const char *dir;
	struct shim_cfg cfg;
	struct rt_log log;
	struct rt_log_stream streams[2];	/* stdout, stderr */
	int sfd;		/* signalfd for SIGCHLD */
	pid_t init;
	int status;		/* wait status of init */
	bool exited;
	bool has_att;		/* stdin or tty: att is open */
	struct rt_attach_srv att;
};

static char *shim_path(struct shim *s, const char *file)
{
	return xasprintf("%s/%s", s->dir, file);
}

/* Fills cfg from "key=value" arguments; -EINVAL on an unknown key or a
 * missing required one. */
static int cfg_parse(struct shim_cfg *cfg, char *const *args, int nargs)
{
	for (int i = 0; i < nargs; i++) {
		const char *eq = strchr(args[i], '=');
		size_t k;

		for (k = 0; eq && k < ARRAY_SIZE(cfg_keys); k++)
			if (strlen(cfg_keys[k].key) == (size_t)(eq - args[i]) &&
			    !strncmp(cfg_keys[k].key, args[i], (size_t)(eq - args[i])))
				break;
		if (!eq || k == ARRAY_SIZE(cfg_keys))
			return -EINVAL;
		*(const char **)((char *)cfg + cfg_keys[k].off) = eq + 1;
	}
	return cfg->id && cfg->runc && cfg->root ? 0 : -EINVAL;
}

static int write_own_pid(struct shim *s)
{
	char *p = shim_path(s, RT_F_SHIM_PID), buf[64];
	int ret;

	snprintf(buf, sizeof(buf), "%d %" PRIu64 "\n", (int)getpid(),
		 rt__proc_starttime(getpid()));
	ret = rt__write_state(p, buf);
	free(p);
	return ret;
}

/* Forks `runc create` (or `runc run -d`) with stdio (-1: /dev/null for
 * stdin); returns its pid or -errno. */
static pid_t run_create(struct shim *s, const int stdio[3])
{
	char *pidf = shim_path(s, RT_F_PID), *logf = shim_path(s, RT_F_RUNC_LOG), con[64];
	bool start = cfg_on(s->cfg.start);
	const char *argv[16] = {
		s->cfg.runc, "--root", s->cfg.root, "--log", logf,
		start ? "run" : "create", "--bundle", s->dir, "--pid-file", pidf,
	};
	size_t n = 10;
	sigset_t none;
	pid_t pid;

	if (start)
		argv[n++] = "--detach";
	if (s->has_att && rt__console_path(&s->att, con, sizeof(con))) {
		argv[n++] = "--console-socket";
		argv[n++] = con;
	}
	argv[n] = s->cfg.id;
	sigemptyset(&none);
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY), sig;
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		/* the container must not inherit our (or the agent's) ignored signals */
		for (sig = 1; sig < NSIG; sig++)
			sigaction(sig, &dfl, NULL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(stdio[0] >= 0 ? stdio[0] : nul, 0);
		dup2(stdio[1], 1);
		dup2(stdio[2], 2);
		close_range(3, ~0U, 0);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	free(pidf);
	free(logf);
	return pid < 0 ? -errno : pid;
}

/* Tail of runc.log (its last error), for the ready message. */
static char *runc_error(struct shim *s)
{
	char *p = shim_path(s, RT_F_RUNC_LOG), *t = NULL, *m;
	size_t len = 0;

	if (read_file(p, 1 << 20, &t, &len) < 0) {
		free(p);
		return xstrdup("runc failed");
	}
	while (len && t[len - 1] == '\n')
		t[--len] = 0;
	m = strrchr(t, '\n');
	m = xasprintf("runc %s failed: %s", s->cfg.start ? "run" : "create", m ? m + 1 : t);
	free(t);
	free(p);
	return m;
}

/* The container's stdio for runc: pipes for the output (a terminal's comes
 * from its master, rt__console_take), and with stdin or tty what
 * runtime_attach.c makes. */
static int make_stdio(struct shim *s, int stdio[3])
{
	int out[2], err[2], ret;

	stdio[0] = -1;
	if (s->has_att && (ret = rt__attach_open(&s->att, s->dir, cfg_on(s->cfg.tty),
						 cfg_on(s->cfg.stdin_once), &stdio[0])))
		return ret;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	s->streams[0].fd = out[0];
	s->streams[1].fd = err[0];
	stdio[1] = out[1];
	stdio[2] = err[1];
	return 0;
}

static int create(struct shim *s, int ready_fd)
{
	int stdio[3] = { -1, -1, -1 }, st, ret = 0;
	char *msg = NULL, *pidf;
	pid_t runc;

	if ((ret = make_stdio(s, stdio)) < 0) {
		msg = xasprintf("cannot make the container's stdio: %s", strerror(-ret));
		runc = ret;
	} else {
		runc = run_create(s, stdio);
	}
	for (int i = 0; i < 3; i++)	/* the container holds its ends */
		if (stdio[i] >= 0)
			close(stdio[i]);
	if (runc < 0)
		ret = (int)runc;
	else if (waitpid(runc, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		ret = -EIO;
	if (!ret && s->has_att && cfg_on(s->cfg.tty)) {
		int fd;

		if ((ret = rt__console_take(&s->att, &fd)) < 0) {
			msg = xasprintf("no terminal from runc: %s", strerror(-ret));
		} else {
			close(s->streams[0].fd);	/* runc's, nothing comes */
			s->streams[0].fd = fd;
		}
	}
	pidf = shim_path(s, RT_F_PID);
	if (!ret && (ret = rt__read_pid(pidf, &s->init, NULL)) < 0)
		msg = xstrdup("runc wrote no pid file");
	free(pidf);
	if (ret && !msg)
		msg = runc_error(s);
	if (ready_fd >= 0) {
		if (!ret)
			write_all(ready_fd, "ok\n", 3);
		else
			write_all(ready_fd, msg, strlen(msg));
		close(ready_fd);
	}
	free(msg);
	return ret;
}

static void reap(struct shim *s)
{
	struct signalfd_siginfo si;
	int st;
	pid_t p;

	while (read(s->sfd, &si, sizeof(si)) > 0)
		;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p == s->init && !s->exited) {
			s->exited = true;
			s->status = st;
		}
	}
}

static void tap(void *ud, const struct rt_log_stream *st, const char *d, size_t n)
{
	struct shim *s = ud;

	if (s->has_att)
		rt__attach_output(&s->att, st == &s->streams[1] ? RT_ATTACH_STDERR : RT_ATTACH_STDOUT,
				  d, n);
}

/* Polls the pipes, the signalfd (and the attach socket) until the init
 * exited and output ends. */
static void supervise(struct shim *s)
{
	uint64_t drain_end = 0;

	for (;;) {
		struct pollfd pf[3 + 2 + RT_ATTACH_CLIENTS] = {
			{ .fd = s->sfd, .events = POLLIN },
			{ .fd = s->streams[0].fd, .events = POLLIN },
			{ .fd = s->streams[1].fd, .events = POLLIN },
		};
		size_t na = s->has_att ? rt__attach_pollfds(&s->att, pf + 3) : 0;
		int timeout = -1, i;

		if (s->exited) {
			uint64_t now = mono_ms();
			if (!drain_end)
				drain_end = now + RT_DRAIN_MS;
			if (now >= drain_end || (pf[1].fd < 0 && pf[2].fd < 0))
				break;
			timeout = (int)(drain_end - now);
		}
		if (poll(pf, 3 + na, timeout) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			reap(s);
		if (na)
			rt__attach_handle(&s->att, pf + 3, na);
		for (i = 0; i < 2; i++)
			if (pf[i + 1].revents && rt_log_read_tap(&s->log, &s->streams[i], tap, s) <= 0) {
				close(s->streams[i].fd);
				s->streams[i].fd = -1;
			}
	}
	rt_log_flush(&s->log, &s->streams[0]);
	rt_log_flush(&s->log, &s->streams[1]);
}

/* oom_kill count of the cgroup (v1 memory.oom_control or v2 memory.events). */
static bool oom_killed(struct shim *s)
{
	static const struct { const char *mnt, *file; } files[] = {
		{ "/sys/fs/cgroup/memory", "memory.oom_control" },	/* v1 */
		{ "/sys/fs/cgroup", "memory.events" },			/* v2 */
		{ "/sys/fs/cgroup/unified", "memory.events" },		/* hybrid v2 */
	};
	const char *cg = s->cfg.cgroup;
	bool oom = false;
	size_t i;

	for (i = 0; cg && i < ARRAY_SIZE(files) && !oom; i++) {
		char *p = xasprintf("%s%s/%s", files[i].mnt, cg, files[i].file), *t = NULL, *k;
		if (read_file(p, 4096, &t, NULL) == 0 && (k = strstr(t, "oom_kill ")))
			oom = strtoull(k + 9, NULL, 10) > 0;
		free(p);
		free(t);
	}
	return oom;
}

static int write_exit(struct shim *s)
{
	char *p = shim_path(s, RT_F_EXIT), text[256];
	int st = s->status, sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0, ret;

	snprintf(text, sizeof(text),
		 "{\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"finishedAt\":%" PRIu64 "}\n",
		 sig ? 128 + sig : WEXITSTATUS(st), sig, oom_killed(s) ? "true" : "false", wall_ns());
	ret = rt__write_state(p, text);
	free(p);
	return ret;
}

static uint64_t cfg_num(const char *v)
{
	return v ? strtoull(v, NULL, 10) : 0;
}

/* After detach(): signals, subreaper, the log, shim.pid. */
static int shim_setup(struct shim *s)
{
	sigset_t chld;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if ((s->sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -errno;
	rt_log_init(&s->log, s->cfg.log, cfg_num(s->cfg.log_max_bytes),
		    (unsigned)cfg_num(s->cfg.log_max_files));
	s->streams[0].name = "stdout";
	s->streams[1].name = "stderr";
	s->streams[0].fd = s->streams[1].fd = -1;
	s->has_att = cfg_on(s->cfg.stdin);
	return write_own_pid(s);
}

/* Leaves the caller: the parent returns at once (its caller waits for it),
 * the child runs on in its own session with fds 0-2 and ready_fd only. */
static int detach(int ready_fd)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	setsid();
	if (ready_fd > 3)
		close_range(3, (unsigned)ready_fd - 1, 0);
	close_range(ready_fd >= 3 ? (unsigned)ready_fd + 1 : 3, ~0U, 0);
	return 0;
}

int rt_shim_main(const char *dir, int ready_fd, char *const *args, int nargs)
{
	struct shim s = { .dir = dir, .sfd = -1, .log = { .fd = -1 } };
	struct stat st;
	int ret;

	rt__attach_init(&s.att);
	/* what can be checked is, before the caller is left */
	if ((ret = cfg_parse(&s.cfg, args, nargs)) == 0 && stat(dir, &st) < 0)
		ret = -errno;
	if (!ret)
		ret = detach(ready_fd);
	if (!ret)
		ret = shim_setup(&s);
	if (ret < 0) {
		if (ready_fd >= 0)
			dprintf(ready_fd, "shim setup failed: %s", strerror(-ret));
		goto out;
	}
	if ((ret = create(&s, ready_fd)) < 0)
		goto out;
	supervise(&s);
	ret = write_exit(&s);
out:
	rt_log_release(&s.log);
	if (s.has_att)
		rt__attach_release(&s.att);
	if (s.sfd >= 0)
		close(s.sfd);
	return ret;
}
