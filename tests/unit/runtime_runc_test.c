/*
 * tests/unit/runtime_runc_test.c - agent/runtime with real containers:
 * runc, `k1s shim` and `k1s pause` (root, runc, /bin/busybox and build/k1s
 * needed; skipped with a message otherwise).
 *
 * Each runc test runs its body in a child; the parent then removes every
 * container (runc delete --force, shims), the cgroup parent and the state
 * even when the body failed. Container ids are k1s-test-<pid>-<name>, runc
 * runs with --root under the test's tmpdir, cgroups under /k1s-test-<pid>.
 * The root filesystem is /bin/busybox plus one symlink per applet.
 */
#include "test.h"
#include "agent/runtime.h"
#include "agent/runtime_int.h"
#include "lib/json.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *slurp(const char *path)
{
	char *s = NULL;

	if (read_file(path, 1 << 22, &s, NULL) < 0)
		return NULL;
	return s;
}

/* ---- real containers --------------------------------------------------- */

struct rtt {
	struct rt rt;
	char *tmp, *rootfs, *k1s;
	char cg[64];
	char prefix[64];
};

static bool have_runc(void)
{
	const char *argv[] = { "runc", "--version", NULL };
	pid_t pid = fork();
	int st = 1;

	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);
		dup2(nul, 1);
		dup2(nul, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* rootfs/bin/busybox + a symlink per applet, and the usual directories. */
static void build_rootfs(const char *rootfs)
{
	static const char *const dirs[] = { "bin", "dev", "proc", "sys", "etc", "tmp" };
	char *bin = xasprintf("%s/bin/busybox", rootfs), *list = NULL, *p, *save = NULL, *tok;
	FILE *f;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		p = xasprintf("%s/%s", rootfs, dirs[i]);
		ASSERT_OK(mkdir_p(p, 0755));
		free(p);
	}
	ASSERT_OK(read_file("/bin/busybox", 1 << 24, &list, &i));
	ASSERT_OK(write_file_atomic(bin, list, i, 0755));
	free(list);
	f = popen("/bin/busybox --list", "r");
	ASSERT_NOT_NULL(f);
	list = xmalloc(65536);
	i = fread(list, 1, 65535, f);
	list[i] = 0;
	pclose(f);
	for (tok = strtok_r(list, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(tok, "busybox"))
			continue;
		p = xasprintf("%s/bin/%s", rootfs, tok);
		ASSERT_OK(symlink("busybox", p));
		free(p);
	}
	free(list);
	free(bin);
}

/* false (and a message) when this machine cannot run the runc tests. */
static bool rtt_init(struct rtt *t)
{
	memset(t, 0, sizeof(*t));
	if (geteuid() != 0 || access("/bin/busybox", X_OK) < 0 || !have_runc() ||
	    !(t->k1s = (char *)test_k1s_binary())) {
		printf("    skipped: needs root, runc, /bin/busybox and build/k1s\n");
		return false;
	}
	t->tmp = xstrdup(test_tmpdir());
	t->k1s = realpath(t->k1s, NULL);
	t->rootfs = xasprintf("%s/rootfs", t->tmp);
	snprintf(t->cg, sizeof(t->cg), "/k1s-test-%d", (int)getpid());
	snprintf(t->prefix, sizeof(t->prefix), "k1s-test-%d-", (int)getpid());
	t->rt.runc_root = xasprintf("%s/runc", t->tmp);
	t->rt.state_dir = xasprintf("%s/state", t->tmp);
	t->rt.self_exe = t->k1s;
	t->rt.cgroup_parent = t->cg;
	build_rootfs(t->rootfs);
	return true;
}

static void rtt_cleanup(struct rtt *t)
{
	char **ids = NULL;
	size_t nr = 0, i;
	DIR *d;
	struct dirent *e;

	rt_container_list(&t->rt, &ids, &nr);
	for (i = 0; i < nr; i++)
		rt_container_remove(&t->rt, ids[i]);
	rt_ids_free(ids, nr);
	if ((d = opendir("/sys/fs/cgroup"))) {
		while ((e = readdir(d))) {
			char *p = xasprintf("/sys/fs/cgroup/%s%s", e->d_name, t->cg);
			if (e->d_name[0] != '.')
				rmdir(p);
			free(p);
		}
		closedir(d);
	}
	free((char *)t->rt.runc_root);
	free((char *)t->rt.state_dir);
	free(t->rootfs);
	free(t->tmp);
	free(t->k1s);
}

/* Runs body in a child, then cleans up whatever happened; fails if body did. */
static void rtt_run(void (*body)(struct rtt *))
{
	struct rtt t;
	pid_t pid;
	int st = 0;

	if (!rtt_init(&t))
		return;
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		body(&t);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	rtt_cleanup(&t);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		test_fail(__FILE__, __LINE__, "the container test body failed");
}

static char *cid(struct rtt *t, const char *name)
{
	return xasprintf("%s%s", t->prefix, name);
}

static bool wait_state(struct rtt *t, const char *id, enum rt_state want, unsigned ms,
		       struct rt_status *st)
{
	uint64_t end = mono_ms() + ms;

	for (;;) {
		if (rt_container_status(&t->rt, id, st) == 0 && st->state == want)
			return true;
		if (mono_ms() >= end)
			return false;
		usleep(20000);
	}
}

static bool wait_file(const char *path, unsigned ms)
{
	uint64_t end = mono_ms() + ms;

	while (access(path, F_OK) < 0) {
		if (mono_ms() >= end)
			return false;
		usleep(20000);
	}
	return true;
}

/* Creates and starts a container running sh -c script in the shared rootfs. */
static char *run_sh(struct rtt *t, const char *name, const char *script, struct rt_spec *base,
		    char **log)
{
	const char *args[] = { "/bin/sh", "-c", script, name, NULL };
	struct rt_spec s = { 0 };
	struct rt_create_opts o = { 0 };
	char *id = cid(t, name);

	if (base)
		s = *base;
	s.rootfs = t->rootfs;
	s.args = args;
	*log = xasprintf("%s/%s.log", t->tmp, name);
	o.log_path = *log;
	ASSERT_OK(rt_container_create(&t->rt, id, &s, &o));
	ASSERT_OK(rt_container_start(&t->rt, id));
	return id;
}

static void body_echo(struct rtt *t)
{
	struct rt_status st;
	char *log, *text;
	char *id = run_sh(t, "echo", "echo to-out; echo to-err >&2", NULL, &log);

	ASSERT_TRUE(wait_state(t, id, RT_STATE_EXITED, 10000, &st));
	ASSERT_EQ(st.exit_code, 0);
	ASSERT_EQ(st.signal, 0);
	ASSERT_FALSE(st.oom_killed);
	ASSERT_TRUE(st.started_ns > 0 && st.finished_ns >= st.started_ns);
	text = slurp(log);
	ASSERT_NOT_NULL(text);
	ASSERT_NOT_NULL(strstr(text, "Z stdout F to-out\n"));
	ASSERT_NOT_NULL(strstr(text, "Z stderr F to-err\n"));
	ASSERT_EQ(text[4], '-');
	ASSERT_EQ(text[10], 'T');
	ASSERT_EQ(text[19], '.');
	ASSERT_EQ(text[29], 'Z');
	free(text);
}

TEST(runtime_runc_echo_logs) { rtt_run(body_echo); }

static void body_exit3(struct rtt *t)
{
	struct rt_status st;
	char *log, *id = run_sh(t, "exit3", "exit 3", NULL, &log);
	char **ids = NULL;
	size_t nr = 0;

	ASSERT_TRUE(wait_state(t, id, RT_STATE_EXITED, 10000, &st));
	ASSERT_EQ(st.exit_code, 3);
	ASSERT_OK(rt_container_list(&t->rt, &ids, &nr));
	ASSERT_EQ(nr, 1);
	ASSERT_STR_EQ(ids[0], id);
	rt_ids_free(ids, nr);
	ASSERT_OK(rt_container_remove(&t->rt, id));
	ASSERT_EQ(rt_container_status(&t->rt, id, &st), -ENOENT);
}

static void body_create_errors(struct rtt *t)
{
	static const char *const bad[] = { "/no/such/binary", NULL };
	struct rt_spec s = { .rootfs = t->rootfs, .args = bad };
	struct rt_status st;
	char *log, *id = run_sh(t, "dup", "sleep 1000", NULL, &log), *bid = cid(t, "bad");
	char *dir = xasprintf("%s/%s", t->rt.state_dir, bid), *out = NULL;
	const char *argv[] = { "runc", "--root", t->rt.runc_root, "list", "-q", NULL };

	ASSERT_EQ(rt_container_create(&t->rt, id, &s, NULL), -EEXIST);
	ASSERT_OK(rt_container_status(&t->rt, id, &st));	/* untouched */
	ASSERT_EQ(st.state, RT_STATE_RUNNING);
	ASSERT_EQ(rt_container_create(&t->rt, bid, &s, NULL), -EIO);
	ASSERT_EQ(access(dir, F_OK), -1);	/* nothing left behind */
	ASSERT_EQ(rt_container_create(&t->rt, "../escape", &s, NULL), -EINVAL);
	ASSERT_OK(rt_container_remove(&t->rt, id));

	/* created but never started: stop still ends it */
	s.args = (const char *const[]){ "/bin/sleep", "1000", NULL };
	ASSERT_OK(rt_container_create(&t->rt, bid, &s, NULL));
	ASSERT_OK(rt_container_status(&t->rt, bid, &st));
	ASSERT_EQ(st.state, RT_STATE_CREATED);
	ASSERT_OK(rt_container_stop(&t->rt, bid, 2000));
	ASSERT_OK(rt_container_status(&t->rt, bid, &st));
	ASSERT_EQ(st.state, RT_STATE_EXITED);
	ASSERT_OK(rt_container_remove(&t->rt, bid));
	ASSERT_EQ(rt__exec(argv, &out, NULL), 0);
	ASSERT_STR_EQ(out, "");
}

TEST(runtime_runc_create_errors) { rtt_run(body_create_errors); }

TEST(runtime_runc_exit_code) { rtt_run(body_exit3); }

static void body_stop(struct rtt *t)
{
	struct rt_status st;
	char *log, *text, *ready = xasprintf("%s/ready-term", t->rootfs);
	char *a = run_sh(t, "term", "trap 'echo got-term; exit 7' TERM; touch /ready-term; "
			 "while :; do sleep 0.1; done", NULL, &log);
	char *b = run_sh(t, "ignore", "exec sleep 1000", NULL, &log);
	uint64_t t0;

	ASSERT_TRUE(wait_file(ready, 10000));
	ASSERT_TRUE(wait_state(t, b, RT_STATE_RUNNING, 5000, &st));
	t0 = mono_ms();
	ASSERT_OK(rt_container_stop(&t->rt, a, 5000));
	ASSERT_LT(mono_ms() - t0, 4000);
	ASSERT_OK(rt_container_status(&t->rt, a, &st));
	ASSERT_EQ(st.state, RT_STATE_EXITED);
	ASSERT_EQ(st.exit_code, 7);
	text = slurp(xasprintf("%s/term.log", t->tmp));
	ASSERT_NOT_NULL(text);
	ASSERT_NOT_NULL(strstr(text, " stdout F got-term\n"));

	/* PID 1 without a handler ignores SIGTERM: SIGKILL after the grace */
	t0 = mono_ms();
	ASSERT_OK(rt_container_stop(&t->rt, b, 300));
	ASSERT_LE(300, mono_ms() - t0);
	ASSERT_OK(rt_container_status(&t->rt, b, &st));
	ASSERT_EQ(st.state, RT_STATE_EXITED);
	ASSERT_EQ(st.exit_code, 137);
	ASSERT_EQ(st.signal, SIGKILL);
	ASSERT_OK(rt_container_stop(&t->rt, b, 300));	/* already stopped: fine */
}

TEST(runtime_runc_stop_grace) { rtt_run(body_stop); }

#define B_SCRIPT "trap 'echo hup > /hup-b' HUP; touch /ready-b; while :; do sleep 0.1; done"
#define A_SCRIPT "(sleep 0.2 &); hostname > /host-a; ps -o pid,args > /ps-a; " \
	"pid=$(grep '[b]-sibling' /ps-a | head -n 1 | sed 's/^ *//; s/ .*//'); " \
	"kill -HUP $pid; echo rc=$? > /done-a"

/* sandbox + containers a and b; returns a's ps output */
static char *pod(struct rtt *t, bool share)
{
	struct rt_sandbox_config sc = { .share_pid = share, .hostname = "pod-host" };
	char *sb = cid(t, share ? "sb-shared" : "sb-private"), *paths[RT_NS__COUNT], *log;
	char *ready = xasprintf("%s/ready-b", t->rootfs), *done = xasprintf("%s/done-a", t->rootfs);
	struct rt_spec base = { 0 };
	struct rt_status st;
	char *a, *out;
	int i;

	unlink(ready);
	unlink(done);
	ASSERT_OK(rt_sandbox_create(&t->rt, sb, &sc));
	ASSERT_OK(rt_sandbox_start(&t->rt, sb));
	ASSERT_TRUE(wait_state(t, sb, RT_STATE_RUNNING, 5000, &st));
	ASSERT_OK(rt_sandbox_join(&t->rt, sb, share, &base, paths));
	ASSERT_EQ(base.ns[RT_NS_NET].mode, RT_NS_JOIN);
	ASSERT_EQ(base.ns[RT_NS_PID].mode, share ? RT_NS_JOIN : RT_NS_NEW);
	free(run_sh(t, share ? "b-sibling" : "b-sibling2", B_SCRIPT, &base, &log));
	ASSERT_TRUE(wait_file(ready, 10000));
	a = run_sh(t, share ? "a" : "a2", A_SCRIPT, &base, &log);
	ASSERT_TRUE(wait_state(t, a, RT_STATE_EXITED, 10000, &st));
	ASSERT_EQ(st.exit_code, 0);
	ASSERT_TRUE(wait_file(done, 1000));
	out = slurp(xasprintf("%s/ps-a", t->rootfs));
	ASSERT_NOT_NULL(out);
	for (i = 0; i < RT_NS__COUNT; i++)
		free(paths[i]);
	return out;
}

static void body_shared_pid(struct rtt *t)
{
	char *ps = pod(t, true), *hup = xasprintf("%s/hup-b", t->rootfs), *done;

	done = slurp(xasprintf("%s/done-a", t->rootfs));
	if (!strstr(ps, "b-sibling") || !done || strcmp(done, "rc=0\n"))
		fprintf(stderr, "    ps in a:\n%s    a: %s", ps, done ? done : "(nothing)\n");

	ASSERT_NOT_NULL(strstr(ps, "b-sibling"));
	ASSERT_TRUE(strstr(ps, "\n    1 /pause pause\n") || strstr(ps, "\n1 /pause pause\n"));
	ASSERT_STR_EQ(done, "rc=0\n");
	ASSERT_TRUE(wait_file(hup, 5000));
	ASSERT_STR_EQ(slurp(xasprintf("%s/host-a", t->rootfs)), "pod-host\n");
	ASSERT_OK(rt_container_stop(&t->rt, xasprintf("%sb-sibling", t->prefix), 0));

	/* a's orphaned sleep was reparented to pause, which reaps it */
	char *sb = cid(t, "sb-shared"), *kids = NULL;
	struct rt_status st;
	uint64_t end = mono_ms() + 3000;
	ASSERT_OK(rt_container_status(&t->rt, sb, &st));
	ASSERT_EQ(st.state, RT_STATE_RUNNING);
	char *kp = xasprintf("/proc/%d/task/%d/children", (int)st.pid, (int)st.pid);
	for (;;) {
		free(kids);
		ASSERT_OK(read_file(kp, 4096, &kids, NULL));
		if (!kids[0] || mono_ms() > end)
			break;
		usleep(20000);
	}
	ASSERT_STR_EQ(kids, "");
	/* pause exits 0 on SIGTERM */
	ASSERT_OK(rt_sandbox_stop(&t->rt, sb, 3000));
	ASSERT_OK(rt_container_status(&t->rt, sb, &st));
	ASSERT_EQ(st.state, RT_STATE_EXITED);
	ASSERT_EQ(st.exit_code, 0);
	ASSERT_OK(rt_sandbox_remove(&t->rt, sb));
}

TEST(runtime_runc_shared_pid_namespace) { rtt_run(body_shared_pid); }

static void body_private_pid(struct rtt *t)
{
	char *ps = pod(t, false), *done;

	ASSERT_NULL(strstr(ps, "b-sibling"));
	ASSERT_NULL(strstr(ps, "pause"));
	done = slurp(xasprintf("%s/done-a", t->rootfs));
	ASSERT_NOT_NULL(done);
	ASSERT_TRUE(strcmp(done, "rc=0\n") != 0);
	ASSERT_EQ(access(xasprintf("%s/hup-b", t->rootfs), F_OK), -1);
}

TEST(runtime_runc_private_pid_namespace) { rtt_run(body_private_pid); }

static void body_survives(struct rtt *t)
{
	char *id = cid(t, "survivor"), *log;
	struct rt_status st;
	pid_t pid = fork();
	int wst;

	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {	/* the "agent": starts the container and goes away */
		free(run_sh(t, "survivor", "exec sleep 1000", NULL, &log));
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &wst, 0), pid);
	ASSERT_TRUE(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	ASSERT_TRUE(wait_state(t, id, RT_STATE_RUNNING, 5000, &st));
	ASSERT_TRUE(st.shim_alive);
	ASSERT_TRUE(st.pid > 0);
	ASSERT_OK(kill(st.pid, 0));
	ASSERT_NE(getpgid(st.shim_pid), getpgid(0));
	ASSERT_OK(rt_container_stop(&t->rt, id, 0));
	ASSERT_OK(rt_container_status(&t->rt, id, &st));
	ASSERT_EQ(st.state, RT_STATE_EXITED);
	ASSERT_EQ(st.exit_code, 137);
}

TEST(runtime_runc_shim_outlives_caller) { rtt_run(body_survives); }

/* The program the shim of id runs (basename of /proc/<shim>/exe). */
static char *shim_prog(struct rtt *t, const char *id)
{
	struct rt_status st;
	char *p, buf[PATH_MAX];
	ssize_t n;

	ASSERT_OK(rt_container_status(&t->rt, id, &st));
	ASSERT_TRUE(st.shim_alive);
	p = xasprintf("/proc/%d/exe", (int)st.shim_pid);
	n = readlink(p, buf, sizeof(buf) - 1);
	free(p);
	ASSERT_TRUE(n > 0);
	buf[n] = 0;
	return xstrdup(strrchr(buf, '/') + 1);
}

/* Created started (runc run --detach): running without rt_*_start(); the
 * sandbox's namespaces are there at once (no runc state), and gone with it. */
static void body_started_at_once(struct rtt *t)
{
	struct rt_sandbox_config sc = { .hostname = "once", .start = true };
	const char *args[] = { "/bin/sh", "-c", "echo up; exec sleep 1000", NULL };
	struct rt_spec s = { .rootfs = t->rootfs, .args = args };
	char *sb = cid(t, "sb-once"), *sb2 = cid(t, "sb-twice"), *id = cid(t, "once");
	char *log = xasprintf("%s/once.log", t->tmp), *path = NULL, *paths[RT_NS__COUNT], *text = NULL;
	struct rt_create_opts o = { .log_path = log, .start = true };
	struct rt_status st;
	char exe[PATH_MAX], *beside = xasprintf("%.*s/k1s-shim", (int)(strrchr(t->k1s, '/') - t->k1s), t->k1s);

	ASSERT_OK(rt_shim_exe(&t->rt, exe));
	ASSERT_STR_EQ(exe, access(beside, X_OK) == 0 ? beside : t->k1s);
	ASSERT_OK(rt_sandbox_create(&t->rt, sb, &sc));
	ASSERT_OK(rt_sandbox_ns_path(&t->rt, sb, RT_NS_NET, &path));
	ASSERT_OK(access(path, F_OK));
	ASSERT_OK(rt_container_status(&t->rt, sb, &st));
	ASSERT_EQ(st.state, RT_STATE_RUNNING);
	ASSERT_TRUE(st.started_ns > 0);
	ASSERT_STR_EQ(shim_prog(t, sb), strrchr(exe, '/') + 1);
	ASSERT_OK(rt_sandbox_join(&t->rt, sb, false, &s, paths));
	ASSERT_OK(rt_container_create(&t->rt, id, &s, &o));
	ASSERT_TRUE(wait_state(t, id, RT_STATE_RUNNING, 1000, &st));
	ASSERT_TRUE(st.started_ns > 0);
	for (uint64_t end = mono_ms() + 5000; mono_ms() < end; usleep(20000)) {
		free(text);
		text = slurp(log);
		if (text && strstr(text, " stdout F up\n"))
			break;
	}
	ASSERT_NOT_NULL(strstr(text, " stdout F up\n"));
	ASSERT_OK(rt_container_stop(&t->rt, id, 0));
	ASSERT_OK(rt_sandbox_stop(&t->rt, sb, 3000));
	ASSERT_EQ(rt_sandbox_ns_path(&t->rt, sb, RT_NS_NET, &path), -ESRCH);
	ASSERT_EQ(rt_sandbox_ns_path(&t->rt, cid(t, "none"), RT_NS_NET, &path), -ESRCH);
	/* created, not started: no namespaces yet; `k1s shim` when asked for */
	t->rt.shim_exe = t->k1s;
	sc.start = false;
	ASSERT_OK(rt_sandbox_create(&t->rt, sb2, &sc));
	ASSERT_EQ(rt_sandbox_ns_path(&t->rt, sb2, RT_NS_NET, &path), -ESRCH);
	ASSERT_OK(rt_sandbox_start(&t->rt, sb2));
	ASSERT_OK(rt_sandbox_ns_path(&t->rt, sb2, RT_NS_NET, &path));
	ASSERT_STR_EQ(shim_prog(t, sb2), strrchr(t->k1s, '/') + 1);
}

TEST(runtime_runc_started_at_once) { rtt_run(body_started_at_once); }

static void body_oom(struct rtt *t)
{
	struct rt_spec s = { .res = { .memory_limit = 16 << 20 } };
	struct rt_status st;
	char *log, *id = run_sh(t, "oom", "dd if=/dev/zero of=/dev/null bs=64M count=1", &s, &log);

	ASSERT_TRUE(wait_state(t, id, RT_STATE_EXITED, 10000, &st));
	ASSERT_EQ(st.signal, SIGKILL);
	ASSERT_EQ(st.exit_code, 137);
	ASSERT_TRUE(st.oom_killed);
}

TEST(runtime_runc_oom_killed) { rtt_run(body_oom); }

/* Runs script with spec s and returns its stdout lines, "\n"-joined. */
static char *output_of(struct rtt *t, const char *name, const char *script, struct rt_spec *s)
{
	struct rt_status st;
	char *log, *id = run_sh(t, name, script, s, &log), *text, *out, *line, *save = NULL;
	size_t n = 0;

	ASSERT_TRUE(wait_state(t, id, RT_STATE_EXITED, 10000, &st));
	ASSERT_EQ(st.exit_code, 0);
	text = slurp(log);
	ASSERT_NOT_NULL(text);
	out = xcalloc(1, strlen(text) + 1);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *m = strstr(line, " stdout F ");
		if (m)
			n += (size_t)sprintf(out + n, "%s\n", m + 10);
	}
	free(text);
	free(id);
	return out;
}

/* "CapEff:<our bounding set>\n0\n": what a privileged container must get */
static char *own_capbnd(void)
{
	char *st = slurp("/proc/self/status"), *b, *r;

	ASSERT_NOT_NULL(st);
	b = strstr(st, "CapBnd:\t");
	ASSERT_NOT_NULL(b);
	r = xasprintf("CapEff:%.16s\n0\n", b + 8);
	free(st);
	return r;
}

static void body_security(struct rtt *t)
{
	static const char *const drop_all[] = { "ALL", NULL };
	static const char *const add[] = { "NET_ADMIN", NULL };
	static const char *const env[] = { "PATH=/bin", "GREETING=hi there", NULL };
	char *hostdir = xasprintf("%s/hostdir", t->tmp), *f = xasprintf("%s/hostdir/f", t->tmp);
	struct rt_mount m[] = {
		{ .kind = RT_MOUNT_BIND, .dest = "/data", .source = hostdir, .readonly = true },
		{ .kind = RT_MOUNT_TMPFS, .dest = "/scratch", .options = "size=1m,mode=1777" },
	};
	struct rt_spec s = {
		.readonly_rootfs = true, .cap_drop = drop_all, .cap_add = add, .uid = 1000,
		.gid = 1000, .env = env, .cwd = "/tmp", .mounts = m, .nr_mounts = 2,
		.no_new_privileges = true, .res = { .pids_limit = 50, .memory_limit = 64 << 20 },
	};
	char *out, *want;

	ASSERT_OK(mkdir_p(hostdir, 0755));
	ASSERT_OK(write_file_atomic(f, "from-host\n", 10, 0644));
	out = output_of(t, "restricted",
		"id -u; id -g; pwd; echo \"$GREETING\"; "
		"touch /rootfs-write 2>/dev/null && echo rootfs-rw || echo rootfs-ro; "
		"cat /data/f; touch /data/g 2>/dev/null && echo data-rw || echo data-ro; "
		"echo x > /scratch/x && echo scratch-rw; "
		"cat /sys/fs/cgroup/pids/pids.max; "
		"cat /sys/fs/cgroup/memory/memory.limit_in_bytes; hostname", &s);
	want = xasprintf("1000\n1000\n/tmp\nhi there\nrootfs-ro\nfrom-host\ndata-ro\n"
			 "scratch-rw\n50\n67108864\n%srestricted\n", t->prefix);
	ASSERT_STR_EQ(out, want);
	free(out);
	free(want);

	/* root with only NET_ADMIN (bit 12), then privileged: every capability */
	memset(&s, 0, sizeof(s));
	s.cap_drop = drop_all;
	s.cap_add = add;
	out = output_of(t, "netadmin", "grep -E '^Cap(Eff|Bnd)' /proc/self/status | tr -d '\\t'", &s);
	ASSERT_STR_EQ(out, "CapEff:0000000000001000\nCapBnd:0000000000001000\n");
	free(out);
	memset(&s, 0, sizeof(s));
	s.privileged = true;
	out = output_of(t, "privileged", "grep -E '^CapEff' /proc/self/status | tr -d '\\t'; "
			"touch /sys/k1s-x 2>&1 | grep -c Read-only; true", &s);
	want = own_capbnd();
	ASSERT_STR_EQ(out, want);
	free(want);
	free(out);
	free(hostdir);
	free(f);
}

TEST(runtime_runc_security_and_mounts) { rtt_run(body_security); }

static void body_log_rotation(struct rtt *t)
{
	const char *args[] = { "/bin/sh", "-c",
		"head -c 20000 /dev/zero | tr '\\0' x; echo; "
		"i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); done", NULL };
	struct rt_spec s = { .rootfs = t->rootfs, .args = args };
	char *log = xasprintf("%s/rot.log", t->tmp), *l1 = xasprintf("%s.1", log);
	char *l2 = xasprintf("%s.2", log), *id = cid(t, "rot"), *text;
	struct rt_create_opts o = { .log_path = log, .log_max_bytes = 4096, .log_max_files = 2 };
	struct rt_status st;

	ASSERT_OK(rt_container_create(&t->rt, id, &s, &o));
	ASSERT_OK(rt_container_start(&t->rt, id));
	ASSERT_TRUE(wait_state(t, id, RT_STATE_EXITED, 10000, &st));
	ASSERT_EQ(st.exit_code, 0);
	ASSERT_EQ(access(l2, F_OK), -1);	/* two files kept */
	text = slurp(l1);
	ASSERT_NOT_NULL(text);
	ASSERT_TRUE(strlen(text) >= 4096);
	free(text);
	text = slurp(log);
	ASSERT_NOT_NULL(text);
	ASSERT_TRUE(str_has_suffix(text, " stdout F line-99\n"));
	ASSERT_LT(strlen(text), 4096);
	free(text);
	free(log);
	free(l1);
	free(l2);
	free(id);
}

TEST(runtime_runc_log_rotation) { rtt_run(body_log_rotation); }

static void body_long_line(struct rtt *t)
{
	char *log, *text, *p;
	char *id = run_sh(t, "long", "head -c 20000 /dev/zero | tr '\\0' x; echo", NULL, &log);
	struct rt_status st;

	ASSERT_TRUE(wait_state(t, id, RT_STATE_EXITED, 10000, &st));
	text = slurp(log);
	ASSERT_NOT_NULL(text);
	p = strstr(text, " stdout P ");
	ASSERT_NOT_NULL(p);
	ASSERT_EQ(strcspn(p + 10, "\n"), RT_LOG_LINE_MAX);
	p = strstr(p, " stdout F ");
	ASSERT_NOT_NULL(p);
	ASSERT_EQ(strcspn(p + 10, "\n"), 20000 - RT_LOG_LINE_MAX);
	free(text);
	free(id);
}

TEST(runtime_runc_long_line) { rtt_run(body_long_line); }

/* ---- stdin, terminal and the attach socket ---- */

static void send_frame(int fd, int type, const char *d, size_t n)
{
	unsigned char hdr[RT_ATTACH_HDR] = { (unsigned char)type, (unsigned char)(n >> 8), (unsigned char)n };

	ASSERT_OK(write_all(fd, hdr, sizeof(hdr)));
	ASSERT_OK(write_all(fd, d, n));
}

/* Reads frames until their output holds want; false after ms or at EOF. */
static bool read_until(int fd, const char *want, unsigned ms)
{
	uint64_t end = mono_ms() + ms;
	struct buf out = BUF_INIT;
	unsigned char b[RT_ATTACH_HDR + RT_ATTACH_DATA_MAX];
	size_t len = 0;
	bool found = false;

	while (!found && mono_ms() < end) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, 100) <= 0)
			continue;
		if ((n = read(fd, b + len, sizeof(b) - len)) <= 0)
			break;
		len += (size_t)n;
		while (len >= RT_ATTACH_HDR && len >= RT_ATTACH_HDR + (size_t)(b[1] << 8 | b[2])) {
			size_t fl = RT_ATTACH_HDR + (size_t)(b[1] << 8 | b[2]);

			buf_add(&out, b + RT_ATTACH_HDR, fl - RT_ATTACH_HDR);
			memmove(b, b + fl, len - fl);
			len -= fl;
		}
		found = out.len && strstr(out.data, want);
	}
	buf_release(&out);
	return found;
}

static char *run_attached(struct rtt *t, const char *name, const char *script,
			  const struct rt_create_opts *opts)
{
	const char *args[] = { "/bin/sh", "-c", script, NULL };
	struct rt_spec s = { .rootfs = t->rootfs, .args = args };
	struct rt_create_opts o = *opts;
	char *id = cid(t, name);

	o.log_path = xasprintf("%s/%s.log", t->tmp, name);
	ASSERT_OK(rt_container_create(&t->rt, id, &s, &o));
	ASSERT_OK(rt_container_start(&t->rt, id));
	return id;
}

static void body_attach(struct rtt *t)
{
	struct rt_create_opts o = { .stdin = true };
	char *id = run_attached(t, "stdin", "while read l; do echo got-$l; done; echo closed; sleep 100", &o);
	struct rt_status st;
	int fd;

	ASSERT_EQ(rt_attach_connect(&t->rt, cid(t, "nope")), -ENOENT);
	ASSERT_TRUE((fd = rt_attach_connect(&t->rt, id)) >= 0);
	send_frame(fd, RT_ATTACH_STDIN, "one\n", 4);
	ASSERT_TRUE(read_until(fd, "got-one", 10000));
	send_frame(fd, RT_ATTACH_EOF, "", 0);	/* without stdin_once: stays open */
	close(fd);
	ASSERT_TRUE((fd = rt_attach_connect(&t->rt, id)) >= 0);
	send_frame(fd, RT_ATTACH_STDIN, "two\n", 4);
	ASSERT_TRUE(read_until(fd, "got-two", 10000));
	close(fd);
	ASSERT_OK(rt_container_status(&t->rt, id, &st));
	ASSERT_EQ(st.state, RT_STATE_RUNNING);

	/* a controlling terminal (^C is SIGINT), closed (^D) when the first client goes */
	o = (struct rt_create_opts){ .tty = true, .stdin_once = true };
	id = run_attached(t, "tty", "trap 'echo got-int' INT; read a; [ -t 0 ] && echo tty-$a; stty size; "
			  "sleep 2 & wait; read b; exit 4", &o);
	/* (the ^C lands in wait, never in a read; end of input then exits 4) */
	ASSERT_TRUE((fd = rt_attach_connect(&t->rt, id)) >= 0);
	send_frame(fd, RT_ATTACH_RESIZE, "\0\x50\0\x19", 4);	/* 80 x 25 */
	send_frame(fd, RT_ATTACH_STDIN, "x\n", 2);
	ASSERT_TRUE(read_until(fd, "tty-x\r\n25 80\r\n", 10000));	/* echo, then the output */
	send_frame(fd, RT_ATTACH_STDIN, "\x03", 1);
	ASSERT_TRUE(read_until(fd, "got-int", 10000));
	ASSERT_OK(rt_container_status(&t->rt, id, &st));
	ASSERT_EQ(st.state, RT_STATE_RUNNING);
	close(fd);
	ASSERT_TRUE(wait_state(t, id, RT_STATE_EXITED, 10000, &st));
	ASSERT_EQ(st.exit_code, 4);
}

TEST(runtime_runc_attach_stdin_tty) { rtt_run(body_attach); }
