/*
 * agent/runtime.c - container lifecycle over runc and `k1s shim`: create
 * (state dir + shim), start, kill, stop with grace, remove, status, list.
 */
#include "agent/runtime_int.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RT_READY_MAX 4096		/* bytes of the shim's ready message */
#define RT_KILL_WAIT_MS 10000		/* after SIGKILL, how long the exit may take */
#define RT_POLL_MS 10

static const char *const state_names[] = {
	[RT_STATE_UNKNOWN] = "unknown", [RT_STATE_CREATED] = "created",
	[RT_STATE_RUNNING] = "running", [RT_STATE_EXITED] = "exited",
};

const char *rt_state_name(enum rt_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "unknown";
}

int rt_id_check(const char *id)
{
	size_t i, n = id ? strlen(id) : 0;

	if (n == 0 || n > RT_ID_MAX || id[0] == '.')
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

static int write_shim_json(struct rt *rt, const char *id, const char *cg,
			   const struct rt_create_opts *o, const char *kind)
{
	cJSON *j = cJSON_CreateObject();
	char *path = rt__path(rt, id, RT_F_SHIM), *text;
	int ret;

	json_set_str(j, "id", id);
	json_set_str(j, "kind", kind ? kind : "container");
	json_set_str(j, "runc", rt__runc(rt));
	json_set_str(j, "root", rt->runc_root);
	if (o && o->log_path)
		json_set_str(j, "log", o->log_path);
	json_set_int(j, "logMaxBytes", o && o->log_max_bytes ? (int64_t)o->log_max_bytes
							    : RT_LOG_MAX_BYTES);
	json_set_int(j, "logMaxFiles", o && o->log_max_files ? o->log_max_files
							    : RT_LOG_MAX_FILES);
	json_set_str(j, "cgroup", cg);
	json_set_bool(j, "stdin", o && (o->stdin || o->tty));
	json_set_bool(j, "stdinOnce", o && o->stdin_once);
	json_set_bool(j, "tty", o && o->tty);
	json_set_int(j, "created", (int64_t)wall_ns());
	text = json_print(j);
	ret = write_file_atomic(path, text, strlen(text), 0600);
	free(text);
	free(path);
	cJSON_Delete(j);
	return ret;
}

/*
 * Starts `k1s shim <dir> 3` detached (setsid + double fork) and reads its
 * ready message. Only async-signal-safe calls happen after fork().
 */
static int spawn_shim(struct rt *rt, const char *id)
{
	char *dir = rt__path(rt, id, NULL), *logp = rt__path(rt, id, RT_F_SHIM_LOG);
	const char *exe = rt->self_exe ? rt->self_exe : "/proc/self/exe";
	char msg[RT_READY_MAX];
	int p[2], st, ret = 0;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		int fd = fcntl(p[1], F_DUPFD, 10), nul, lg;
		if (setsid() < 0 || fd < 0)
			_exit(1);
		if (fork() != 0)
			_exit(0);
		nul = open("/dev/null", O_RDWR);
		lg = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(lg >= 0 ? lg : nul, 2);
		dup2(fd, 3);
		close_range(4, ~0U, 0);
		execl(exe, "k1s", "shim", dir, "3", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		ret = -errno;
		close(p[0]);
		goto out;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	while (len < sizeof(msg) - 1 &&
	       ((n = read(p[0], msg + len, sizeof(msg) - 1 - len)) > 0 ||
		(n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	close(p[0]);
	msg[len] = 0;
	if (strncmp(msg, "ok", 2) != 0) {
		log_error("cannot create container '%s': %s", id,
			  len ? msg : "the shim exited without a word");
		ret = -EIO;
	}
out:
	free(dir);
	free(logp);
	return ret;
}

int rt__create(struct rt *rt, const char *id, const struct rt_spec *spec,
	       const struct rt_create_opts *opts, const char *kind)
{
	char *dir = NULL, *cfgp = NULL, *json = NULL, *cg = NULL;
	struct rt_spec s;
	int ret;

	if ((ret = rt_id_check(id)) < 0)
		return ret;
	s = *spec;
	s.terminal = opts && opts->tty;
	cg = s.cgroup_path ? xstrdup(s.cgroup_path)
			   : xasprintf("%s/%s", rt->cgroup_parent ? rt->cgroup_parent : "/k1s", id);
	s.cgroup_path = cg;
	if ((ret = rt_spec_json(&s, id, &json)) < 0) {
		log_error("cannot create container '%s': invalid spec", id);
		goto out;
	}
	dir = rt__path(rt, id, NULL);
	cfgp = rt__path(rt, id, RT_F_CONFIG);
	if ((ret = mkdir_p(rt->state_dir, 0700)) < 0)
		goto out;
	if (mkdir(dir, 0700) < 0 && (errno != EEXIST || !kind)) {
		ret = -errno;
		free(dir);
		dir = NULL;	/* not ours to remove */
		goto out;
	}
	if (access(cfgp, F_OK) == 0) {
		ret = -EEXIST;
		free(dir);
		dir = NULL;
		goto out;
	}
	if ((ret = write_file_atomic(cfgp, json, strlen(json), 0600)) < 0 ||
	    (ret = write_shim_json(rt, id, cg, opts, kind)) < 0 ||
	    (ret = spawn_shim(rt, id)) < 0)
		goto out;
out:
	if (ret < 0 && dir) {
		rt__runc_run(rt, true, NULL, "delete", "--force", id, NULL);
		rt__rmtree(dir);
	}
	free(dir);
	free(cfgp);
	free(json);
	free(cg);
	return ret;
}

int rt_container_create(struct rt *rt, const char *id, const struct rt_spec *spec,
			const struct rt_create_opts *opts)
{
	return rt__create(rt, id, spec, opts, NULL);
}

int rt_container_start(struct rt *rt, const char *id)
{
	char *p, buf[32];
	int ret;

	if ((ret = rt_id_check(id)) < 0)
		return ret;
	/* recorded before: a short-lived container may finish before runc returns */
	p = rt__path(rt, id, RT_F_STARTED);
	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", wall_ns());
	if ((ret = write_file_atomic(p, buf, strlen(buf), 0600)) == 0 &&
	    (ret = rt__runc_run(rt, false, NULL, "start", id, NULL)) < 0)
		unlink(p);
	free(p);
	return ret;
}

int rt_container_kill(struct rt *rt, const char *id, int sig)
{
	char s[16];
	int ret;

	if ((ret = rt_id_check(id)) < 0)
		return ret;
	snprintf(s, sizeof(s), "%d", sig);
	return rt__runc_run(rt, true, NULL, "kill", id, s, NULL);
}

static bool has_exited(struct rt *rt, const char *id)
{
	char *p = rt__path(rt, id, RT_F_EXIT);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r || !rt__shim_alive(rt, id, NULL);
}

static bool wait_exit(struct rt *rt, const char *id, unsigned ms)
{
	uint64_t end = mono_ms() + ms;

	while (!has_exited(rt, id)) {
		if (mono_ms() >= end)
			return false;
		usleep(RT_POLL_MS * 1000);
	}
	return true;
}

int rt_container_stop(struct rt *rt, const char *id, unsigned grace_ms)
{
	int ret;

	if ((ret = rt_id_check(id)) < 0)
		return ret;
	if (has_exited(rt, id))
		return 0;
	if (grace_ms) {
		rt_container_kill(rt, id, SIGTERM);
		if (wait_exit(rt, id, grace_ms))
			return 0;
	}
	/* --all: in a shared PID namespace the init's children must die too */
	if (rt__runc_run(rt, true, NULL, "kill", "--all", id, "KILL", NULL) < 0)
		rt_container_kill(rt, id, SIGKILL);
	if (!wait_exit(rt, id, RT_KILL_WAIT_MS)) {
		log_error("container '%s' did not exit after SIGKILL", id);
		return -ETIMEDOUT;
	}
	return 0;
}

int rt_container_remove(struct rt *rt, const char *id)
{
	char *dir;
	pid_t shim;
	int ret;

	if ((ret = rt_id_check(id)) < 0)
		return ret;
	dir = rt__path(rt, id, NULL);
	rt__runc_run(rt, true, NULL, "delete", "--force", id, NULL);
	if (!wait_exit(rt, id, 2000) && rt__shim_alive(rt, id, &shim))
		kill(shim, SIGKILL);
	ret = rt__rmtree(dir);
	if (ret < 0)
		log_error("cannot remove '%s': %s", dir, strerror(-ret));
	free(dir);
	return ret;
}

static int64_t read_ns_file(struct rt *rt, const char *id, const char *file)
{
	char *p = rt__path(rt, id, file), *s = NULL;
	int64_t v = 0;

	if (read_file(p, 64, &s, NULL) == 0) {
		s[strcspn(s, "\n")] = 0;
		if (parse_i64(s, &v) < 0)
			v = 0;
	}
	free(p);
	free(s);
	return v;
}

static cJSON *read_json(struct rt *rt, const char *id, const char *file)
{
	char *p = rt__path(rt, id, file), *s = NULL;
	cJSON *j = NULL;

	if (read_file(p, RT_STATE_FILE_MAX, &s, NULL) == 0)
		j = cJSON_Parse(s);
	free(p);
	free(s);
	return j;
}

static void status_exited(const cJSON *e, struct rt_status *st)
{
	st->state = RT_STATE_EXITED;
	st->exit_code = (int)json_get_int(e, "exitCode", -1);
	st->signal = (int)json_get_int(e, "signal", 0);
	st->oom_killed = json_get_bool(e, "oomKilled", false);
	st->finished_ns = json_get_int(e, "finishedAt", 0);
}

/* Asks runc; maps created/running/paused; "stopped" means the shim is recording the exit. */
static enum rt_state runc_state(struct rt *rt, const char *id)
{
	enum rt_state s = RT_STATE_UNKNOWN;
	char *out = NULL;
	const char *st;
	cJSON *j;

	if (rt__runc_run(rt, true, &out, "state", id, NULL) < 0) {
		free(out);
		return s;
	}
	j = cJSON_Parse(out);
	st = json_get_str(j, "status", "");
	if (!strcmp(st, "created"))
		s = RT_STATE_CREATED;
	else if (!strcmp(st, "running") || !strcmp(st, "paused") || !strcmp(st, "stopped"))
		s = RT_STATE_RUNNING;
	cJSON_Delete(j);
	free(out);
	return s;
}

int rt_container_status(struct rt *rt, const char *id, struct rt_status *st)
{
	char *p;
	cJSON *j;
	int ret;

	memset(st, 0, sizeof(*st));
	if ((ret = rt_id_check(id)) < 0)
		return ret;
	if (!(j = read_json(rt, id, RT_F_SHIM)))
		return -ENOENT;
	st->created_ns = json_get_int(j, "created", 0);
	cJSON_Delete(j);
	st->started_ns = read_ns_file(rt, id, RT_F_STARTED);
	p = rt__path(rt, id, RT_F_PID);
	rt__read_pid(p, &st->pid, NULL);
	free(p);
	st->shim_alive = rt__shim_alive(rt, id, &st->shim_pid);
	if ((j = read_json(rt, id, RT_F_EXIT))) {
		status_exited(j, st);
		cJSON_Delete(j);
		return 0;
	}
	if (st->shim_alive)
		st->state = runc_state(rt, id);
	/* the shim may have recorded the exit meanwhile */
	if ((st->state == RT_STATE_UNKNOWN || !st->shim_alive) &&
	    (j = read_json(rt, id, RT_F_EXIT))) {
		status_exited(j, st);
		cJSON_Delete(j);
	}
	return 0;
}

int rt_container_list(struct rt *rt, char ***ids, size_t *nr)
{
	DIR *d = opendir(rt->state_dir);
	size_t alloc = 0;
	struct dirent *e;

	*ids = NULL;
	*nr = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char *p;
		if (rt_id_check(e->d_name) < 0)
			continue;
		p = rt__path(rt, e->d_name, RT_F_SHIM);
		if (access(p, F_OK) == 0) {
			ALLOC_GROW(*ids, *nr + 1, alloc);
			(*ids)[(*nr)++] = xstrdup(e->d_name);
		}
		free(p);
	}
	closedir(d);
	return 0;
}

void rt_ids_free(char **ids, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		free(ids[i]);
	free(ids);
}
