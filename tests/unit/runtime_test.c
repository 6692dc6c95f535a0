/*
 * tests/unit/runtime_test.c - agent/runtime without runc: OCI spec
 * generation, ids and the CRI log writer. Real containers are in
 * runtime_runc_test.c.
 */
#include "test.h"
#include "agent/runtime.h"
#include "agent/runtime_int.h"
#include "agent/runtime_log.h"
#include "lib/json.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- OCI spec ---------------------------------------------------------- */

static cJSON *spec_parse(const struct rt_spec *s)
{
	char *text = NULL;
	cJSON *j;

	if (rt_spec_json(s, "c1", &text) < 0)
		return NULL;
	j = cJSON_Parse(text);
	free(text);
	return j;
}

static bool arr_has(const cJSON *arr, const char *s)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr)
		if (cJSON_IsString(e) && !strcmp(e->valuestring, s))
			return true;
	return false;
}

static const cJSON *ns_entry(const cJSON *root, const char *type)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, json_path(root, "linux.namespaces"))
		if (!strcmp(json_get_str(e, "type", ""), type))
			return e;
	return NULL;
}

static const char *const sh_args[] = { "/bin/sh", "-c", "true", NULL };

TEST(runtime_spec_defaults)
{
	struct rt_spec s = { .rootfs = "/tmp/r", .args = sh_args };
	cJSON *j = spec_parse(&s), *caps;

	ASSERT_NOT_NULL(j);
	ASSERT_STR_EQ(json_path(j, "root.path")->valuestring, "/tmp/r");
	ASSERT_STR_EQ(json_get_str(j, "hostname", ""), "c1");
	ASSERT_STR_EQ(json_get_str(json_get(j, "process"), "cwd", ""), "/");
	caps = json_path(j, "process.capabilities.bounding");
	ASSERT_EQ(cJSON_GetArraySize(caps), 14);
	ASSERT_TRUE(arr_has(caps, "CAP_CHOWN"));
	ASSERT_TRUE(arr_has(caps, "CAP_NET_RAW"));
	ASSERT_FALSE(arr_has(caps, "CAP_SYS_ADMIN"));
	ASSERT_TRUE(arr_has(json_path(j, "linux.maskedPaths"), "/proc/kcore"));
	ASSERT_TRUE(arr_has(json_path(j, "linux.readonlyPaths"), "/proc/sys"));
	ASSERT_EQ(cJSON_GetArraySize(json_path(j, "linux.namespaces")), 5);
	ASSERT_NULL(json_get(ns_entry(j, "network"), "path"));
	ASSERT_EQ(cJSON_GetArraySize(json_get(j, "mounts")), 7);
	ASSERT_FALSE(json_get_bool(json_get(j, "process"), "noNewPrivileges", true));
	ASSERT_NULL(json_path(j, "linux.resources.memory"));
	cJSON_Delete(j);
}

TEST(runtime_spec_options)
{
	static const char *const add[] = { "NET_ADMIN", "CAP_SYS_TIME", NULL };
	static const char *const drop[] = { "ALL", NULL };
	static const char *const env[] = { "A=1", NULL };
	struct rt_mount m[] = {
		{ .kind = RT_MOUNT_BIND, .dest = "/data", .source = "/srv", .readonly = true },
		{ .kind = RT_MOUNT_TMPFS, .dest = "/scratch", .options = "size=1m" },
	};
	struct rt_spec s = {
		.rootfs = "/r", .args = sh_args, .env = env, .cwd = "/w", .uid = 1000,
		.gid = 2000, .cap_add = add, .cap_drop = drop, .no_new_privileges = true,
		.readonly_rootfs = true, .mounts = m, .nr_mounts = 2, .hosts_file = "/h",
		.cgroup_path = "/k1s/c1", .has_oom_score_adj = true, .oom_score_adj = 500,
		.res = { .cpu_shares = 512, .cpu_quota = 50000, .cpu_period = 100000,
			 .memory_limit = 1 << 26, .pids_limit = 100 },
	};
	s.ns[RT_NS_NET] = (struct rt_ns_spec){ RT_NS_JOIN, "/proc/7/ns/net" };
	s.ns[RT_NS_UTS].mode = RT_NS_HOST;
	cJSON *j = spec_parse(&s), *caps, *mounts, *last;

	ASSERT_NOT_NULL(j);
	caps = json_path(j, "process.capabilities.effective");
	ASSERT_EQ(cJSON_GetArraySize(caps), 2);
	ASSERT_TRUE(arr_has(caps, "CAP_NET_ADMIN"));
	ASSERT_TRUE(arr_has(caps, "CAP_SYS_TIME"));
	ASSERT_EQ(json_get_int(json_path(j, "process.user"), "uid", -1), 1000);
	ASSERT_EQ(json_get_int(json_path(j, "process.user"), "gid", -1), 2000);
	ASSERT_EQ(json_get_int(json_get(j, "process"), "oomScoreAdj", 0), 500);
	ASSERT_TRUE(json_get_bool(json_get(j, "process"), "noNewPrivileges", false));
	ASSERT_TRUE(json_get_bool(json_get(j, "root"), "readonly", false));
	ASSERT_TRUE(arr_has(json_path(j, "process.env"), "A=1"));
	ASSERT_STR_EQ(json_get_str(json_get(j, "process"), "cwd", ""), "/w");
	ASSERT_STR_EQ(json_get_str(ns_entry(j, "network"), "path", ""), "/proc/7/ns/net");
	ASSERT_NULL(ns_entry(j, "uts"));
	ASSERT_NULL(json_get(j, "hostname"));
	ASSERT_STR_EQ(json_path(j, "linux.cgroupsPath")->valuestring, "/k1s/c1");
	ASSERT_EQ(json_path(j, "linux.resources.memory.limit")->valuedouble, 1 << 26);
	ASSERT_EQ(json_path(j, "linux.resources.cpu.shares")->valuedouble, 512);
	ASSERT_EQ(json_path(j, "linux.resources.cpu.quota")->valuedouble, 50000);
	ASSERT_EQ(json_path(j, "linux.resources.pids.limit")->valuedouble, 100);
	mounts = json_get(j, "mounts");
	ASSERT_EQ(cJSON_GetArraySize(mounts), 10);
	last = cJSON_GetArrayItem(mounts, 9);
	ASSERT_STR_EQ(json_get_str(last, "destination", ""), "/scratch");
	ASSERT_TRUE(arr_has(json_get(last, "options"), "size=1m"));
	last = cJSON_GetArrayItem(mounts, 8);
	ASSERT_STR_EQ(json_get_str(last, "source", ""), "/srv");
	ASSERT_TRUE(arr_has(json_get(last, "options"), "ro"));
	ASSERT_TRUE(arr_has(json_get(last, "options"), "rbind"));
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(mounts, 7), "destination", ""), "/etc/hosts");
	cJSON_Delete(j);
}

TEST(runtime_spec_privileged_and_errors)
{
	static const char *const bad[] = { "NOT_A_CAP", NULL };
	struct rt_spec s = { .rootfs = "/r", .args = sh_args, .privileged = true };
	char *out = NULL;
	cJSON *j = spec_parse(&s);

	ASSERT_NOT_NULL(j);
	int held = 0;
	for (int c = 0; c <= 40; c++)
		held += prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 1;
	ASSERT_EQ(cJSON_GetArraySize(json_path(j, "process.capabilities.bounding")), held);
	ASSERT_NULL(json_path(j, "linux.maskedPaths"));
	ASSERT_TRUE(json_get_bool(cJSON_GetArrayItem(json_path(j, "linux.resources.devices"), 0),
				  "allow", false));
	cJSON_Delete(j);
	s.privileged = false;
	s.cap_add = bad;
	ASSERT_EQ(rt_spec_json(&s, "c1", &out), -EINVAL);
	s.cap_add = NULL;
	s.hostname = "h";
	s.ns[RT_NS_UTS] = (struct rt_ns_spec){ RT_NS_JOIN, "/proc/1/ns/uts" };
	ASSERT_EQ(rt_spec_json(&s, "c1", &out), -EINVAL);
	s.hostname = NULL;
	s.ns[RT_NS_MOUNT].mode = RT_NS_HOST;
	ASSERT_EQ(rt_spec_json(&s, "c1", &out), -EINVAL);
	s.ns[RT_NS_MOUNT].mode = RT_NS_NEW;
	s.rootfs = "relative";
	ASSERT_EQ(rt_spec_json(&s, "c1", &out), -EINVAL);
	ASSERT_NULL(out);
}

TEST(runtime_id_check)
{
	char long_id[RT_ID_MAX + 2];

	ASSERT_OK(rt_id_check("k1s-test_1.a"));
	ASSERT_EQ(rt_id_check(""), -EINVAL);
	ASSERT_EQ(rt_id_check(".hidden"), -EINVAL);
	ASSERT_EQ(rt_id_check("a/b"), -EINVAL);
	ASSERT_EQ(rt_id_check("a b"), -EINVAL);
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = 0;
	ASSERT_EQ(rt_id_check(long_id), -EINVAL);
}

/* ---- CRI log ----------------------------------------------------------- */

static char *slurp(const char *path)
{
	char *s = NULL;

	if (read_file(path, 1 << 22, &s, NULL) < 0)
		return NULL;
	return s;
}

TEST(runtime_log_records)
{
	char *path = xasprintf("%s/c.log", test_tmpdir()), *text, *big;
	static struct rt_log_stream out = { .name = "stdout" }, err = { .name = "stderr" };
	struct rt_log l;
	/* 2026-01-02T15:04:05.000000007Z */
	int64_t t = 1767366245LL * 1000000000 + 7;

	rt_log_init(&l, path, 0, 0);
	rt_log_feed(&l, &out, "hello\nwor", 9, t);
	rt_log_feed(&l, &err, "oops\n", 5, t);
	rt_log_feed(&l, &out, "ld\n\n", 4, t);
	rt_log_feed(&l, &out, "tail", 4, t);
	rt_log_flush(&l, &out);
	rt_log_release(&l);
	text = slurp(path);
	ASSERT_NOT_NULL(text);
	ASSERT_TRUE(str_has_prefix(text,
		"2026-01-02T15:04:05.000000007Z stdout F hello\n"
		"2026-01-02T15:04:05.000000007Z stderr F oops\n"
		"2026-01-02T15:04:05.000000007Z stdout F world\n"
		"2026-01-02T15:04:05.000000007Z stdout F \n"));
	ASSERT_TRUE(str_has_suffix(text, " stdout F tail\n"));
	free(text);

	/* a line longer than the buffer: P records, then F */
	unlink(path);
	rt_log_init(&l, path, 0, 0);
	big = xmalloc(RT_LOG_LINE_MAX + 11);
	memset(big, 'x', RT_LOG_LINE_MAX + 10);
	big[RT_LOG_LINE_MAX + 10] = '\n';
	rt_log_feed(&l, &out, big, RT_LOG_LINE_MAX + 11, t);
	rt_log_release(&l);
	text = slurp(path);
	ASSERT_NOT_NULL(text);
	ASSERT_NOT_NULL(strstr(text, " stdout P xxxx"));
	ASSERT_TRUE(str_has_suffix(text, " stdout F xxxxxxxxxx\n"));
	ASSERT_EQ(strlen(text), 2 * 40 + RT_LOG_LINE_MAX + 10 + 2);
	free(text);
	free(big);
	free(path);
}

TEST(runtime_log_rotation)
{
	char *path = xasprintf("%s/r.log", test_tmpdir()), *p;
	static struct rt_log_stream out = { .name = "stdout" };
	struct rt_log l;
	struct stat st;
	int i;

	rt_log_init(&l, path, 200, 3);
	for (i = 0; i < 40; i++)
		rt_log_feed(&l, &out, "0123456789\n", 11, (int64_t)wall_ns());
	ASSERT_EQ(l.errors, 0);
	rt_log_release(&l);
	ASSERT_OK(stat(path, &st));
	ASSERT_LT(st.st_size, 200);
	for (i = 1; i <= 3; i++) {
		p = xasprintf("%s.%d", path, i);
		if (i < 3) {
			ASSERT_OK(stat(p, &st));
			ASSERT_LE(200, st.st_size);
			ASSERT_LT(st.st_size, 260);
		} else {
			ASSERT_EQ(stat(p, &st), -1);
		}
		free(p);
	}
}


TEST(runtime_state_file_replace)
{
	char *p = xasprintf("%s/shim.pid", test_tmpdir()), *text = NULL;
	struct stat st;
	struct dirent *e;
	DIR *d;
	int n = 0;

	ASSERT_OK(rt__write_state(p, "1 2\n"));
	ASSERT_OK(rt__write_state(p, "3 4\n"));
	ASSERT_OK(read_file(p, 64, &text, NULL));
	ASSERT_STR_EQ(text, "3 4\n");
	ASSERT_OK(stat(p, &st));
	ASSERT_EQ(st.st_mode & 0777, 0600);
	d = opendir(test_tmpdir());
	ASSERT_NOT_NULL(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	ASSERT_EQ(n, 1);	/* no temporary file left */
	ASSERT_EQ(rt__write_state("/nonexistent-dir/x", "y"), -ENOENT);
	free(text);
	free(p);
}
