/*
 * agent/runtime_exec.c - rt_container_exec_sync: `runc exec` with a
 * deadline and bounded output.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/runtime_exec.h"
#include "agent/runtime_int.h"
#include "lib/util.h"

#define EXEC_ARGS_MAX 256	/* argv entries of an exec command */
#define EXEC_POLL_MS 50		/* how often a silent command's exit is checked */

static pid_t spawn(const char *const *argv, int *rfd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = -errno;

		close(p[0]);
		close(p[1]);
		return e;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		setpgid(0, 0);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

static void take(struct buf *out, const char *data, size_t n)
{
	size_t room;

	if (!out || out->len >= RT_EXEC_OUTPUT_MAX)
		return;
	room = RT_EXEC_OUTPUT_MAX - out->len;
	buf_add(out, data, n < room ? n : room);
}

/* Kills the exec'd command (its pid from runc's pid file) and runc. */
static void kill_all(const char *pidfile, pid_t runc)
{
	pid_t pid = 0;

	if (!rt__read_pid(pidfile, &pid, NULL) && pid > 0)
		kill(pid, SIGKILL);
	kill(-runc, SIGKILL);
	kill(runc, SIGKILL);
}

int rt_container_exec_sync(struct rt *rt, const char *id, const char *const *argv,
			   unsigned timeout_ms, struct buf *out, int *exit_code)
{
	const char *av[EXEC_ARGS_MAX + 8];
	char *pidfile, data[4096];
	uint64_t deadline = mono_ms() + timeout_ms;
	size_t n = 0;
	int fd = -1, st = 0, ret = 0;
	bool eof = false, done = false;
	pid_t pid;

	*exit_code = -1;
	if (rt_id_check(id) || !argv || !argv[0])
		return -EINVAL;
	pidfile = xasprintf("%s/%s/exec.%d.%lx.pid", rt->state_dir, id, (int)getpid(),
			    (unsigned long)mono_ns());
	av[n++] = rt__runc(rt);
	av[n++] = "--root";
	av[n++] = rt->runc_root;
	av[n++] = "exec";
	av[n++] = "--pid-file";
	av[n++] = pidfile;
	av[n++] = id;
	for (size_t i = 0; argv[i]; i++) {
		if (i >= EXEC_ARGS_MAX) {
			ret = -E2BIG;
			goto out;
		}
		av[n++] = argv[i];
	}
	av[n] = NULL;
	pid = spawn(av, &fd);
	if (pid < 0) {
		ret = pid;
		goto out;
	}
	while (!done) {
		int wait_ms = EXEC_POLL_MS;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (timeout_ms) {
			uint64_t now = mono_ms();

			if (now >= deadline) {
				kill_all(pidfile, pid);
				ret = -ETIMEDOUT;
				break;
			}
			if (deadline - now < (uint64_t)wait_ms)
				wait_ms = (int)(deadline - now);
		}
		if (!eof && poll(&pfd, 1, wait_ms) > 0) {
			ssize_t r = read(fd, data, sizeof(data));

			if (r > 0)
				take(out, data, (size_t)r);
			else if (r == 0 || errno != EINTR)
				eof = true;
			continue;
		}
		if (eof)
			usleep(1000 * (useconds_t)(wait_ms < 5 ? wait_ms : 5));
		done = waitpid(pid, &st, WNOHANG) == pid;
	}
	if (done) {
		/* runc is gone: what is left in the pipe is ours (children may hold it). */
		while (!eof) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			ssize_t r;

			if (poll(&pfd, 1, 0) <= 0 || (r = read(fd, data, sizeof(data))) <= 0)
				break;
			take(out, data, (size_t)r);
		}
		*exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	} else {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
out:
	if (fd >= 0)
		close(fd);
	unlink(pidfile);
	free(pidfile);
	return ret;
}
