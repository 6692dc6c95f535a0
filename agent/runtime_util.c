/*
 * agent/runtime_util.c - process and file helpers of the runtime: running
 * runc, pid files, liveness by pid + start time, a mount-safe rm -rf.
 */
#include "agent/runtime_int.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RT_EXEC_OUT_MAX (1 << 20)	/* bytes of a command's output we keep */
#define RT_RUNC_ARGS_MAX 32

char *rt__path(const struct rt *rt, const char *id, const char *file)
{
	if (file)
		return xasprintf("%s/%s/%s", rt->state_dir, id, file);
	return xasprintf("%s/%s", rt->state_dir, id);
}

const char *rt__runc(const struct rt *rt)
{
	return rt->runc ? rt->runc : "runc";
}

static char *drain(int fd)
{
	struct { char *p; size_t len, alloc; } b = { 0 };
	ssize_t n;

	for (;;) {
		ALLOC_GROW(b.p, b.len + 4096, b.alloc);
		n = read(fd, b.p + b.len, 4095);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b.len + (size_t)n < RT_EXEC_OUT_MAX)
			b.len += (size_t)n;
	}
	b.p[b.len] = 0;
	return b.p;
}

int rt__exec(const char *const *argv, char **out, char **err)
{
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 }, st, ret;
	char *o, *e;
	pid_t pid;

	if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(op[1], 1);
		dup2(ep[1], 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(op[1]);
	close(ep[1]);
	op[1] = ep[1] = -1;
	o = drain(op[0]);	/* stderr is small: it fits in the pipe meanwhile */
	e = drain(ep[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	ret = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
out:
	for (int i = 0; i < 2; i++) {
		if (op[i] >= 0)
			close(op[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	return ret;
}

int rt__runc_run(const struct rt *rt, bool quiet, char **out, const char *arg, ...)
{
	const char *argv[RT_RUNC_ARGS_MAX];
	char *err = NULL;
	size_t n = 0;
	va_list ap;
	int ret;

	argv[n++] = rt__runc(rt);
	argv[n++] = "--root";
	argv[n++] = rt->runc_root;
	va_start(ap, arg);
	for (; arg && n < RT_RUNC_ARGS_MAX - 1; arg = va_arg(ap, const char *))
		argv[n++] = arg;
	va_end(ap);
	argv[n] = NULL;
	ret = rt__exec(argv, out, &err);
	if (ret > 0) {
		if (!quiet)
			log_warn("runc %s failed (exit %d): %s", argv[3], ret,
				 err[0] ? err : "(no message)");
		ret = -EIO;
	}
	free(err);
	return ret;
}

int rt__write_state(const char *path, const char *text)
{
	return write_file_replace(path, text, strlen(text), 0600, false);
}

int rt__read_pid(const char *path, pid_t *pid, uint64_t *starttime)
{
	char *s = NULL;
	long long p = 0;
	unsigned long long t = 0;
	int ret;

	if ((ret = read_file(path, 256, &s, NULL)) < 0)
		return ret;
	if (sscanf(s, "%lld %llu", &p, &t) < 1 || p <= 0 || p > INT32_MAX)
		ret = -EINVAL;
	else {
		*pid = (pid_t)p;
		if (starttime)
			*starttime = t;
	}
	free(s);
	return ret;
}

uint64_t rt__proc_starttime(pid_t pid)
{
	char path[64], *s = NULL, *p;
	unsigned long long t = 0;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, 4096, &s, NULL) < 0)
		return 0;
	p = strrchr(s, ')');	/* comm may contain spaces and parentheses */
	if (p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X') {	/* a zombie is gone */
		for (i = 0; i < 20 && p; i++)	/* field 22 follows the 20th space */
			p = strchr(p + 1, ' ');
		if (p)
			sscanf(p + 1, "%llu", &t);
	}
	free(s);
	return t;
}

bool rt__shim_alive(const struct rt *rt, const char *id, pid_t *pidp)
{
	char *path = rt__path(rt, id, RT_F_SHIM_PID);
	uint64_t t = 0;
	pid_t pid = 0;
	bool alive = false;

	if (rt__read_pid(path, &pid, &t) == 0)
		alive = t && rt__proc_starttime(pid) == t;
	if (pidp)
		*pidp = pid;
	free(path);
	return alive;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -errno : 0;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int rt__rmtree(const char *path)
{
	int r = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);

	if (r < 0 && errno == ENOENT)
		return 0;
	return r < 0 ? -errno : r;
}
