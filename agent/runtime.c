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
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RT_READY_MAX 4096		/* bytes of the shim's ready message */
#define RT_KILL_WAIT_MS 10000		/* after SIGKILL, how long the exit may take */
#define RT_POLL_MS 10
#define RT_SHIM_ARGS_MAX 11		/* key=value arguments of the shim */

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
	ret = rt__write_state(path, text);
	free(text);
	free(path);
	cJSON_Delete(j);
	return ret;
}

int rt_shim_exe(const struct rt *rt, char *buf)
{
	const char *self = rt->self_exe ? rt->self_exe : "/proc/self/exe";
	char *slash, *cand;
	ssize_t n;

	if (rt->shim_exe)
		return snprintf(buf, PATH_MAX, "%s", rt->shim_exe) < PATH_MAX ? 0 : -ENAMETOOLONG;
	n = readlink(self, buf, PATH_MAX - 1);
	if (n > 0 && buf[0] == '/')
		buf[n] = 0;
	else if (!realpath(self, buf))
		return -ENOENT;
	slash = strrchr(buf, '/');
	cand = xasprintf("%.*s/" RT_SHIM_NAME, (int)(slash - buf), buf);
	if (strlen(cand) < PATH_MAX && access(cand, X_OK) == 0)
		strcpy(buf, cand);
	free(cand);
	return 0;
}

/* The shim's key=value arguments, malloc'd into a[] (n of them). */
static size_t shim_args(struct rt *rt, const char *id, const char *cg,
			const struct rt_create_opts *o, char *a[RT_SHIM_ARGS_MAX])
{
	size_t n = 0;

	a[n++] = xasprintf("id=%s", id);
	a[n++] = xasprintf("runc=%s", rt__runc(rt));
	a[n++] = xasprintf("root=%s", rt->runc_root);
	a[n++] = xasprintf("cgroup=%s", cg);
	if (o && o->log_path)
		a[n++] = xasprintf("log=%s", o->log_path);
	if (o && o->log_max_bytes)
		a[n++] = xasprintf("log-max-bytes=%" PRIu64, o->log_max_bytes);
	if (o && o->log_max_files)
		a[n++] = xasprintf("log-max-files=%u", o->log_max_files);
	if (o && o->start)
		a[n++] = xstrdup("start=1");
	if (o && (o->stdin || o->tty))
		a[n++] = xstrdup("stdin=1");
	if (o && o->stdin_once)
		a[n++] = xstrdup("stdin-once=1");
	if (o && o->tty)
		a[n++] = xstrdup("tty=1");
	return n;
}

/* The spawned shim's stdio: /dev/null, shim.log for stderr, the pipe as fd 3. */
static int shim_stdio(posix_spawn_file_actions_t *fa, const char *logp, int ready_w)
{
	int r = posix_spawn_file_actions_init(fa);

	if (!r)
		r = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDWR, 0);
	if (!r)
		r = posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_RDWR, 0);
	if (!r)
		r = posix_spawn_file_actions_addopen(fa, 2, logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (!r)
		r = posix_spawn_file_actions_adddup2(fa, ready_w, 3);
	return -r;
}

/* Reads the shim's ready message from fd (until EOF): 0 for "ok". */
static int shim_ready(int fd, const char *id)
{
	char msg[RT_READY_MAX];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(msg) - 1 &&
	       ((n = read(fd, msg + len, sizeof(msg) - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	msg[len] = 0;
	if (!strncmp(msg, "ok", 2))
		return 0;
	log_error("cannot create container '%s': %s", id, len ? msg : "the shim exited without a word");
	return -EIO;
}

/*
 * Spawns `k1s shim <dir> 3 args...` (which detaches itself: the spawned
 * process exits at once) and reads its ready message. posix_spawn does not
 * copy the caller's memory (the agent may be large: no fork).
 */
static int spawn_shim(struct rt *rt, const char *id, char **args, size_t nargs)
{
	char *dir = rt__path(rt, id, NULL), *logp = rt__path(rt, id, RT_F_SHIM_LOG);
	char exe[PATH_MAX], fd3[] = "3";
	char *argv[RT_SHIM_ARGS_MAX + 5] = { "k1s", "shim", dir, fd3 };
	posix_spawn_file_actions_t fa;
	int p[2] = { -1, -1 }, st, ret;
	pid_t pid;

	memcpy(argv + 4, args, nargs * sizeof(*args));
	argv[4 + nargs] = NULL;
	if ((ret = rt_shim_exe(rt, exe)) < 0)
		goto out;
	if (pipe2(p, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	if ((ret = shim_stdio(&fa, logp, p[1])) == 0) {
		ret = -posix_spawn(&pid, exe, &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	close(p[1]);
	if (ret == 0) {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		ret = shim_ready(p[0], id);
	}
	close(p[0]);
out:
	free(dir);
	free(logp);
	return ret;
}

/* Writes the start time before runc starts the container (it may end first). */
static int write_started(struct rt *rt, const char *id)
{
	char *p = rt__path(rt, id, RT_F_STARTED), buf[32];
	int ret;

	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", wall_ns());
	ret = rt__write_state(p, buf);
	free(p);
	return ret;
}

/* Writes shim.json and `started`, then spawns the shim. */
static int create_shim(struct rt *rt, const char *id, const char *cg,
		       const struct rt_create_opts *opts, const char *kind)
{
	char *args[RT_SHIM_ARGS_MAX];
	size_t n;
	int ret;

	if ((ret = write_shim_json(rt, id, cg, opts, kind)) < 0)
		return ret;
	if (opts && opts->start && (ret = write_started(rt, id)) < 0)
		return ret;
	n = shim_args(rt, id, cg, opts, args);
	ret = spawn_shim(rt, id, args, n);
	for (size_t i = 0; i < n; i++)
		free(args[i]);
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
	if ((ret = rt__write_state(cfgp, json)) < 0 ||
	    (ret = create_shim(rt, id, cg, opts, kind)) < 0)
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
	int ret;

	if ((ret = rt_id_check(id)) < 0)
		return ret;
	if ((ret = write_started(rt, id)) == 0 &&
	    (ret = rt__runc_run(rt, false, NULL, "start", id, NULL)) < 0) {
		char *p = rt__path(rt, id, RT_F_STARTED);

		unlink(p);
		free(p);
	}
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
