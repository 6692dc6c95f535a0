/*
 * tests/unit/podvol_test.c - agent/volume.c and friends with a fake object
 * store: path rules (hostile item paths and subPaths), the atomic writer,
 * configMap/secret/downwardAPI/projected/hostPath/emptyDir setup, mounts,
 * teardown, and the container environment ($(VAR) expansion, valueFrom,
 * envFrom, service links). Mount tests run in a private mount namespace.
 */
#include "test.h"
#include "agent/runtime.h"
#include "agent/vol_int.h"
#include "lib/json.h"
#include "lib/util.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <unistd.h>

#define TMPFS_MAGIC_ 0x01021994

static cJSON *J(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	if (!j)
		test_fail(__FILE__, __LINE__, "bad JSON in test: %s", text);
	return j;
}

static char *slurp(const char *path)
{
	char *d = NULL;
	size_t n;

	return read_file(path, 1 << 20, &d, &n) ? NULL : d;
}

/* test_tmpdir()/name, malloc'd */
static char *P(const char *name)
{
	return xasprintf("%s/%s", test_tmpdir(), name);
}

/* A private mount namespace (root only); false when the test must skip. */
static bool private_mounts(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("# skipped: needs root and a mount namespace\n");
		return false;
	}
	return true;
}

/* ---- paths ---- */

TEST(vol_path_check_rules)
{
	static const struct { const char *p; int ok; } cases[] = {
		{ "a", 1 }, { "a/b/c", 1 }, { "a/..b", 1 }, { "a..", 1 }, { "..", 0 },
		{ "../x", 0 }, { "a/../b", 0 }, { "a/..", 0 }, { "/etc/passwd", 0 },
		{ "", 0 }, { "..data", 0 }, { "..2026_01_01", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if ((vol__path_check(cases[i].p) == 0) != cases[i].ok)
			test_fail(__FILE__, __LINE__, "path \"%s\": expected %s", cases[i].p,
				  cases[i].ok ? "ok" : "refused");
}

TEST(vol_subpath_stays_inside)
{
	char *root = P("vol"), *out = NULL, *d, *want, *rroot;

	ASSERT_OK(mkdir_p(root, 0755));
	d = xasprintf("%s/d", root);
	ASSERT_OK(mkdir(d, 0755));
	ASSERT_OK(symlink("/", xasprintf("%s/esc", root)));
	ASSERT_OK(symlink("../../..", xasprintf("%s/d/up", root)));
	ASSERT_OK(symlink("d", xasprintf("%s/in", root)));
	ASSERT_EQ(vol__subpath_resolve(root, "esc", &out), -EINVAL);
	ASSERT_EQ(vol__subpath_resolve(root, "esc/etc", &out), -EINVAL);
	ASSERT_EQ(vol__subpath_resolve(root, "d/up/x", &out), -EINVAL);
	ASSERT_EQ(vol__subpath_resolve(root, "../x", &out), -EINVAL);
	ASSERT_EQ(vol__subpath_resolve(root, "/etc", &out), -EINVAL);
	ASSERT_NULL(out);
	/* nothing was created outside */
	ASSERT_TRUE(access("/x", F_OK) < 0);
	rroot = realpath(root, NULL);
	ASSERT_OK(vol__subpath_resolve(root, "in", &out));
	want = xasprintf("%s/d", rroot);
	ASSERT_STR_EQ(out, want);
	free(out);
	ASSERT_OK(vol__subpath_resolve(root, "d/new/deeper", &out));
	want = xasprintf("%s/d/new/deeper", rroot);
	ASSERT_STR_EQ(out, want);
	struct stat st;
	ASSERT_OK(stat(out, &st));
	ASSERT_TRUE(S_ISDIR(st.st_mode));
	free(out);
}

/* ---- atomic writer ---- */

static int count_dotdot(const char *dir)
{
	char *cmd = xasprintf("ls -a '%s' | grep -c '^\\.\\..'", dir);
	FILE *f = popen(cmd, "r");
	int n = -1;

	if (f && fscanf(f, "%d", &n) != 1)
		n = -1;
	if (f)
		pclose(f);
	free(cmd);
	return n;
}

TEST(vol_atomic_write_swaps_data)
{
	char *dir = P("aw"), link[PATH_MAX];
	struct vol_payload p = { 0 };
	struct stat st;
	bool changed;
	ssize_t n;

	ASSERT_OK(mkdir_p(dir, 0755));
	ASSERT_OK(vol__payload_add(&p, "a", "1", 1, 0644));
	ASSERT_OK(vol__payload_add(&p, "sub/b", "two", 3, 0600));
	ASSERT_EQ(vol__payload_add(&p, "../c", "x", 1, 0644), -EINVAL);
	ASSERT_OK(vol__atomic_write(dir, &p, -1, &changed));
	ASSERT_TRUE(changed);
	ASSERT_STR_EQ(slurp(xasprintf("%s/a", dir)), "1");
	ASSERT_STR_EQ(slurp(xasprintf("%s/sub/b", dir)), "two");
	n = readlink(xasprintf("%s/a", dir), link, sizeof(link) - 1);
	ASSERT_TRUE(n > 0);
	link[n] = '\0';
	ASSERT_STR_EQ(link, "..data/a");
	n = readlink(xasprintf("%s/..data", dir), link, sizeof(link) - 1);
	ASSERT_TRUE(n > 0);
	link[n] = '\0';
	ASSERT_TRUE(str_has_prefix(link, ".." ));
	ASSERT_OK(stat(xasprintf("%s/sub/b", dir), &st));
	ASSERT_EQ(st.st_mode & 07777, 0600);
	/* same contents: nothing written */
	ASSERT_OK(vol__atomic_write(dir, &p, -1, &changed));
	ASSERT_FALSE(changed);
	/* an update replaces the timestamped dir, and a dropped key loses its link */
	vol__payload_release(&p);
	ASSERT_OK(vol__payload_add(&p, "a", "11", 2, 0644));
	ASSERT_OK(vol__atomic_write(dir, &p, -1, &changed));
	ASSERT_TRUE(changed);
	ASSERT_STR_EQ(slurp(xasprintf("%s/a", dir)), "11");
	ASSERT_TRUE(lstat(xasprintf("%s/sub", dir), &st) < 0);
	ASSERT_EQ(count_dotdot(dir), 2);	/* ..data and one ..<timestamp> */
	/* a mode change alone is an update */
	p.f[0].mode = 0400;
	ASSERT_OK(vol__atomic_write(dir, &p, -1, &changed));
	ASSERT_TRUE(changed);
	ASSERT_OK(stat(xasprintf("%s/a", dir), &st));
	ASSERT_EQ(st.st_mode & 07777, 0400);
	vol__payload_release(&p);
}

/* ---- setup with a fake store ---- */

static struct vol_manager *fake(void)
{
	struct vol_manager *m = vol__manager_fake(P("pods"), "n1");

	m->alloc_cpu_milli = 4000;
	m->alloc_mem = 8LL << 30;
	vol__fake_put(m, VOL_CONFIGMAP, J("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"cm\"},"
		"\"data\":{\"k1\":\"v1\",\"k2\":\"v2\"},\"binaryData\":{\"bin\":\"AAEC\"}}"));
	vol__fake_put(m, VOL_SECRET, J("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"sec\"},"
		"\"data\":{\"user\":\"YWRtaW4=\",\"pass\":\"czNjcjN0\"}}"));
	return m;
}

static cJSON *pod_with(const char *volumes)
{
	char *t = xasprintf("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"p1\",\"uid\":\"u-1\","
			    "\"labels\":{\"app\":\"web\",\"tier\":\"a\\\"b\\nc\"},"
			    "\"annotations\":{\"note\":\"hi\"}},"
			    "\"spec\":{\"nodeName\":\"n1\",\"serviceAccountName\":\"default\","
			    "\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{\"memory\":\"64Mi\"},"
			    "\"requests\":{\"cpu\":\"250m\"}}}],\"volumes\":%s},"
			    "\"status\":{\"podIP\":\"10.42.0.7\",\"podIPs\":[{\"ip\":\"10.42.0.7\"},"
			    "{\"ip\":\"fd42::7\"}],\"hostIP\":\"192.0.2.1\"}}", volumes);
	cJSON *j = J(t);

	free(t);
	return j;
}

static char *vfile(struct vol_manager *m, const char *vol, const char *file)
{
	char *p = xasprintf("%s/u-1/volumes/%s/%s", m->pods_dir, vol, file);
	char *d = slurp(p);

	free(p);
	return d;
}

static int setup(struct vol_manager *m, const char *volumes, char **err)
{
	cJSON *pod = pod_with(volumes);
	int ret = vol_pod_setup(m, pod, err);

	cJSON_Delete(pod);
	return ret;
}

TEST(vol_configmap_keys_items_optional)
{
	struct vol_manager *m = fake();
	char *err = NULL;
	struct stat st;

	ASSERT_OK(setup(m, "[{\"name\":\"all\",\"configMap\":{\"name\":\"cm\"}},"
		  "{\"name\":\"some\",\"configMap\":{\"name\":\"cm\",\"defaultMode\":256,"
		  "\"items\":[{\"key\":\"k2\",\"path\":\"deep/two\",\"mode\":384},{\"key\":\"k1\",\"path\":\"one\"}]}},"
		  "{\"name\":\"opt\",\"configMap\":{\"name\":\"nope\",\"optional\":true}}]", &err));
	ASSERT_NULL(err);
	ASSERT_STR_EQ(vfile(m, "all", "k1"), "v1");
	ASSERT_STR_EQ(vfile(m, "all", "bin"), "\x00\x01\x02" + 0);	/* first byte NUL */
	ASSERT_STR_EQ(vfile(m, "some", "deep/two"), "v2");
	ASSERT_OK(stat(xasprintf("%s/u-1/volumes/some/deep/two", m->pods_dir), &st));
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_OK(stat(xasprintf("%s/u-1/volumes/some/one", m->pods_dir), &st));
	ASSERT_EQ(st.st_mode & 0777, 0400);
	ASSERT_NULL(vfile(m, "some", "k1"));
	ASSERT_OK(stat(xasprintf("%s/u-1/volumes/opt", m->pods_dir), &st));

	/* a missing object waits; a missing key fails; optional tolerates both */
	ASSERT_EQ(setup(m, "[{\"name\":\"x\",\"configMap\":{\"name\":\"nope\"}}]", &err), -EAGAIN);
	ASSERT_STR_EQ(err, "volume \"x\": configmap \"nope\" not found");
	free(err);
	ASSERT_EQ(setup(m, "[{\"name\":\"x\",\"configMap\":{\"name\":\"cm\",\"items\":[{\"key\":\"zz\",\"path\":\"z\"}]}}]",
			&err), -ENOENT);
	ASSERT_STR_EQ(err, "volume \"x\": configmap references non-existent config key: zz");
	free(err);
	ASSERT_OK(setup(m, "[{\"name\":\"x\",\"configMap\":{\"name\":\"cm\",\"optional\":true,"
			"\"items\":[{\"key\":\"zz\",\"path\":\"z\"},{\"key\":\"k1\",\"path\":\"k\"}]}}]", &err));
	ASSERT_STR_EQ(vfile(m, "x", "k"), "v1");

	/* an update reaches the volume at once (the informer event), without a pod sync */
	ASSERT_OK(setup(m, "[{\"name\":\"all\",\"configMap\":{\"name\":\"cm\"}}]", &err));
	m->refreshes = 0;
	vol__fake_put(m, VOL_CONFIGMAP, J("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"cm\"},"
					  "\"data\":{\"k1\":\"new\"}}"));
	ASSERT_EQ(m->refreshes, 1);
	ASSERT_STR_EQ(vfile(m, "all", "k1"), "new");
	ASSERT_NULL(vfile(m, "all", "k2"));
	/* another namespace's object of that name, or an unused one, changes nothing */
	vol__fake_put(m, VOL_CONFIGMAP, J("{\"metadata\":{\"namespace\":\"ns2\",\"name\":\"cm\"},\"data\":{}}"));
	vol__fake_put(m, VOL_CONFIGMAP, J("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"other\"},\"data\":{}}"));
	ASSERT_EQ(m->refreshes, 1);
	ASSERT_OK(vol_pod_teardown(m, "u-1"));
	vol__fake_put(m, VOL_CONFIGMAP, J("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"cm\"},\"data\":{}}"));
	ASSERT_EQ(m->refreshes, 1);
	vol_manager_free(m);
}

TEST(vol_hostile_item_paths_refused)
{
	struct vol_manager *m = fake();
	char *err = NULL, *outside = P("pods/u-1/volumes/evil");

	ASSERT_EQ(setup(m, "[{\"name\":\"x\",\"configMap\":{\"name\":\"cm\",\"items\":"
			"[{\"key\":\"k1\",\"path\":\"../../evil\"}]}}]", &err), -EINVAL);
	ASSERT_TRUE(strstr(err, "may not contain '..'") != NULL);
	free(err);
	ASSERT_TRUE(access(outside, F_OK) < 0);
	ASSERT_EQ(setup(m, "[{\"name\":\"x\",\"downwardAPI\":{\"items\":[{\"path\":\"/etc/x\","
			"\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}]}}]", &err), -EINVAL);
	free(err);
	ASSERT_EQ(setup(m, "[{\"name\":\"../up\",\"emptyDir\":{}}]", &err), -EINVAL);
	ASSERT_STR_EQ(err, "invalid volume name \"../up\"");
	free(err);
	vol_manager_free(m);
}

TEST(vol_downward_api_files)
{
	struct vol_manager *m = fake();
	char *err = NULL;

	ASSERT_OK(setup(m, "[{\"name\":\"d\",\"downwardAPI\":{\"items\":["
			"{\"path\":\"labels\",\"fieldRef\":{\"fieldPath\":\"metadata.labels\"}},"
			"{\"path\":\"note\",\"fieldRef\":{\"fieldPath\":\"metadata.annotations['note']\"}},"
			"{\"path\":\"name\",\"fieldRef\":{\"fieldPath\":\"metadata.name\"}},"
			"{\"path\":\"uid\",\"fieldRef\":{\"fieldPath\":\"metadata.uid\"}},"
			"{\"path\":\"mem\",\"resourceFieldRef\":{\"containerName\":\"c\",\"resource\":\"limits.memory\",\"divisor\":\"1Mi\"}},"
			"{\"path\":\"cpu\",\"resourceFieldRef\":{\"containerName\":\"c\",\"resource\":\"requests.cpu\",\"divisor\":\"1m\"}},"
			"{\"path\":\"cpulim\",\"resourceFieldRef\":{\"containerName\":\"c\",\"resource\":\"limits.cpu\"}}]}}]", &err));
	ASSERT_STR_EQ(vfile(m, "d", "labels"), "app=\"web\"\ntier=\"a\\\"b\\nc\"");
	ASSERT_STR_EQ(vfile(m, "d", "note"), "hi");
	ASSERT_STR_EQ(vfile(m, "d", "name"), "p1");
	ASSERT_STR_EQ(vfile(m, "d", "uid"), "u-1");
	ASSERT_STR_EQ(vfile(m, "d", "mem"), "64");
	ASSERT_STR_EQ(vfile(m, "d", "cpu"), "250");
	ASSERT_STR_EQ(vfile(m, "d", "cpulim"), "4");	/* unset: node allocatable */
	/* status fields are env-only */
	ASSERT_EQ(setup(m, "[{\"name\":\"d\",\"downwardAPI\":{\"items\":[{\"path\":\"ip\","
			"\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}]}}]", &err), -EINVAL);
	ASSERT_STR_EQ(err, "volume \"d\": unsupported fieldRef fieldPath \"status.podIP\"");
	free(err);
	vol_manager_free(m);
}

TEST(vol_hostpath_types)
{
	struct vol_manager *m = fake();
	char *err = NULL, *vols, *base = P("host");
	struct stat st;

	ASSERT_OK(mkdir_p(base, 0755));
	vols = xasprintf("[{\"name\":\"h\",\"hostPath\":{\"path\":\"%s/missing\",\"type\":\"Directory\"}}]", base);
	ASSERT_EQ(setup(m, vols, &err), -EINVAL);
	ASSERT_STR_EQ(err, xasprintf("volume \"h\": hostPath type check failed: %s/missing is not a directory", base));
	free(err);
	vols = xasprintf("[{\"name\":\"h\",\"hostPath\":{\"path\":\"%s/made/deep\",\"type\":\"DirectoryOrCreate\"}},"
			 "{\"name\":\"f\",\"hostPath\":{\"path\":\"%s/file\",\"type\":\"FileOrCreate\"}},"
			 "{\"name\":\"any\",\"hostPath\":{\"path\":\"%s/whatever\"}}]", base, base, base);
	ASSERT_OK(setup(m, vols, &err));
	ASSERT_OK(stat(xasprintf("%s/made/deep", base), &st));
	ASSERT_TRUE(S_ISDIR(st.st_mode));
	ASSERT_OK(stat(xasprintf("%s/file", base), &st));
	ASSERT_TRUE(S_ISREG(st.st_mode));
	vols = xasprintf("[{\"name\":\"f\",\"hostPath\":{\"path\":\"%s/file\",\"type\":\"Directory\"}}]", base);
	ASSERT_EQ(setup(m, vols, &err), -EINVAL);
	free(err);
	vols = xasprintf("[{\"name\":\"f\",\"hostPath\":{\"path\":\"%s/made\",\"type\":\"File\"}}]", base);
	ASSERT_EQ(setup(m, vols, &err), -EINVAL);
	ASSERT_TRUE(strstr(err, "is not a file") != NULL);
	free(err);
	vols = xasprintf("[{\"name\":\"f\",\"hostPath\":{\"path\":\"%s/file\",\"type\":\"Socket\"}}]", base);
	ASSERT_EQ(setup(m, vols, &err), -EINVAL);
	ASSERT_TRUE(strstr(err, "is not a socket file") != NULL);
	free(err);
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(a.sun_path, sizeof(a.sun_path), "%s/sock", base);
		ASSERT_OK(bind(s, (struct sockaddr *)&a, sizeof(a)));
		vols = xasprintf("[{\"name\":\"s\",\"hostPath\":{\"path\":\"%s/sock\",\"type\":\"Socket\"}}]", base);
		ASSERT_OK(setup(m, vols, &err));
		close(s);
	}
	ASSERT_EQ(setup(m, "[{\"name\":\"h\",\"hostPath\":{\"path\":\"/tmp\",\"type\":\"Bogus\"}}]", &err), -EINVAL);
	free(err);
	/* hostPath volumes leave nothing under volumes/ */
	ASSERT_TRUE(access(xasprintf("%s/u-1/volumes/h", m->pods_dir), F_OK) < 0);
	vol_manager_free(m);
}

TEST(vol_unsupported_type_and_teardown)
{
	struct vol_manager *m = fake();
	char *err = NULL;

	ASSERT_EQ(setup(m, "[{\"name\":\"n\",\"nfs\":{\"server\":\"x\",\"path\":\"/\"}}]", &err), -ENOTSUP);
	ASSERT_STR_EQ(err, "volume type nfs is not supported yet");
	free(err);
	ASSERT_OK(setup(m, "[{\"name\":\"e\",\"emptyDir\":{}},{\"name\":\"c\",\"configMap\":{\"name\":\"cm\"}}]", &err));
	ASSERT_OK(access(xasprintf("%s/u-1/volumes/e", m->pods_dir), W_OK));
	ASSERT_OK(vol_pod_teardown(m, "u-1"));
	ASSERT_TRUE(access(xasprintf("%s/u-1/volumes", m->pods_dir), F_OK) < 0);
	ASSERT_EQ(vol_pod_teardown(m, "../u-1"), -EINVAL);
	ASSERT_EQ(vol_pod_teardown(m, ".."), -EINVAL);
	ASSERT_OK(vol_pod_teardown(m, "never-existed"));
	/* after stop (the agent shutting down) lookups wait, teardown still works */
	vol_manager_stop(m);
	ASSERT_EQ(setup(m, "[{\"name\":\"c\",\"configMap\":{\"name\":\"cm\"}}]", &err), -EAGAIN);
	free(err);
	ASSERT_OK(vol_pod_teardown(m, "u-1"));
	vol_manager_free(m);
}

TEST(vol_secret_and_memory_on_tmpfs)
{
	struct vol_manager *m;
	char *err = NULL;
	struct statfs sf;
	struct stat st;

	if (!private_mounts())
		return;
	m = fake();
	m->fake_token = xstrdup("eyJ.tok.en");
	ASSERT_OK(setup(m, "[{\"name\":\"s\",\"secret\":{\"secretName\":\"sec\",\"defaultMode\":256}},"
			"{\"name\":\"mem\",\"emptyDir\":{\"medium\":\"Memory\",\"sizeLimit\":\"1Mi\"}},"
			"{\"name\":\"pr\",\"projected\":{\"sources\":[{\"secret\":{\"name\":\"sec\","
			"\"items\":[{\"key\":\"user\",\"path\":\"u\"}]}},{\"configMap\":{\"name\":\"cm\"}},"
			"{\"downwardAPI\":{\"items\":[{\"path\":\"ns\",\"fieldRef\":{\"fieldPath\":\"metadata.namespace\"}}]}},"
			"{\"serviceAccountToken\":{\"path\":\"token\"}}]}}]", &err));
	ASSERT_STR_EQ(vfile(m, "s", "user"), "admin");
	ASSERT_STR_EQ(vfile(m, "s", "pass"), "s3cr3t");
	ASSERT_OK(stat(xasprintf("%s/u-1/volumes/s/pass", m->pods_dir), &st));
	ASSERT_EQ(st.st_mode & 0777, 0400);
	ASSERT_OK(statfs(xasprintf("%s/u-1/volumes/s", m->pods_dir), &sf));
	ASSERT_EQ(sf.f_type, TMPFS_MAGIC_);
	ASSERT_OK(statfs(xasprintf("%s/u-1/volumes/mem", m->pods_dir), &sf));
	ASSERT_EQ(sf.f_type, TMPFS_MAGIC_);
	ASSERT_EQ((int64_t)sf.f_blocks * sf.f_bsize, 1 << 20);
	ASSERT_STR_EQ(vfile(m, "pr", "u"), "admin");
	ASSERT_STR_EQ(vfile(m, "pr", "k2"), "v2");
	ASSERT_STR_EQ(vfile(m, "pr", "ns"), "ns1");
	ASSERT_STR_EQ(vfile(m, "pr", "token"), "eyJ.tok.en");
	/* idempotent: a second setup mounts nothing new */
	ASSERT_OK(setup(m, "[{\"name\":\"s\",\"secret\":{\"secretName\":\"sec\",\"defaultMode\":256}}]", &err));
	ASSERT_OK(vol_pod_teardown(m, "u-1"));
	ASSERT_TRUE(access(xasprintf("%s/u-1/volumes", m->pods_dir), F_OK) < 0);
	vol_manager_free(m);
}

TEST(vol_container_mounts_subpath_readonly)
{
	struct vol_manager *m = fake();
	char *err = NULL, *hp = P("hp");
	char *vols = xasprintf("[{\"name\":\"e\",\"emptyDir\":{}},{\"name\":\"c\",\"configMap\":{\"name\":\"cm\"}},"
			       "{\"name\":\"h\",\"hostPath\":{\"path\":\"%s\",\"type\":\"DirectoryOrCreate\"}}]", hp);
	cJSON *pod = pod_with(vols), *ctr;
	struct rt_mount *mt;
	size_t n;

	ASSERT_OK(vol_pod_setup(m, pod, &err));
	ctr = J("{\"name\":\"c\",\"env\":[{\"name\":\"POD\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}],"
		"\"volumeMounts\":[{\"name\":\"e\",\"mountPath\":\"/data\"},"
		"{\"name\":\"c\",\"mountPath\":\"/etc/app.conf\",\"subPath\":\"k1\"},"
		"{\"name\":\"h\",\"mountPath\":\"/host\",\"readOnly\":true},"
		"{\"name\":\"e\",\"mountPath\":\"/per-pod\",\"subPathExpr\":\"logs/$(POD)\"}]}");
	ASSERT_OK(vol_container_mounts(m, pod, ctr, &mt, &n, &err));
	ASSERT_EQ(n, 4);
	ASSERT_STR_EQ(mt[0].dest, "/data");
	ASSERT_TRUE(str_has_suffix(mt[0].source, "/pods/u-1/volumes/e"));
	ASSERT_FALSE(mt[0].readonly);
	ASSERT_EQ(mt[0].kind, RT_MOUNT_BIND);
	ASSERT_TRUE(strstr(mt[1].source, "/volumes/c/..") != NULL);
	ASSERT_TRUE(str_has_suffix(mt[1].source, "/k1"));
	ASSERT_TRUE(mt[1].readonly);	/* configMap volumes are always read-only */
	ASSERT_STR_EQ(mt[2].source, realpath(hp, NULL) ? hp : hp);
	ASSERT_TRUE(mt[2].readonly);
	ASSERT_TRUE(str_has_suffix(mt[3].source, "/volumes/e/logs/p1"));
	free(mt);
	cJSON_Delete(ctr);

	/* subPaths that leave the volume are refused */
	static const char *const bad[] = { "../../../etc", "/etc", "k1/../../x", "esc" };
	ASSERT_OK(symlink("/etc", xasprintf("%s/u-1/volumes/e/esc", m->pods_dir)));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *t = xasprintf("{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"e\",\"mountPath\":\"/x\","
				    "\"subPath\":\"%s\"}]}", bad[i]);

		ctr = J(t);
		ASSERT_EQ(vol_container_mounts(m, pod, ctr, &mt, &n, &err), -EINVAL);
		ASSERT_TRUE(strstr(err, "must stay inside the volume") != NULL);
		ASSERT_NULL(mt);
		free(err);
		cJSON_Delete(ctr);
		free(t);
	}
	ctr = J("{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"zz\",\"mountPath\":\"/x\"}]}");
	ASSERT_EQ(vol_container_mounts(m, pod, ctr, &mt, &n, &err), -EINVAL);
	free(err);
	cJSON_Delete(ctr);
	ctr = J("{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"e\",\"mountPath\":\"rel\"}]}");
	ASSERT_EQ(vol_container_mounts(m, pod, ctr, &mt, &n, &err), -EINVAL);
	free(err);
	cJSON_Delete(ctr);
	cJSON_Delete(pod);
	vol_manager_free(m);
}

/* ---- environment ---- */

static const char *map_lookup(const char *name, void *ud)
{
	(void)ud;
	if (!strcmp(name, "A"))
		return "a";
	if (!strcmp(name, "EMPTY"))
		return "";
	return NULL;
}

TEST(env_expand_like_upstream)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "$(A)", "a" }, { "x$(A)y", "xay" }, { "$(A)$(A)", "aa" }, { "$$(A)", "$(A)" },
		{ "$$$(A)", "$a" }, { "$(B)", "$(B)" }, { "$(A", "$(A" }, { "x$", "x$" },
		{ "$a", "$a" }, { "$$$$", "$$" }, { "$(EMPTY)!", "!" }, { "", "" },
		{ "$()", "$()" }, { "(A)", "(A)" }, { "$(A)$", "a$" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *o = vol__expand(cases[i].in, map_lookup, NULL);

		if (strcmp(o, cases[i].out))
			test_fail(__FILE__, __LINE__, "expand(\"%s\") = \"%s\", want \"%s\"",
				  cases[i].in, o, cases[i].out);
		free(o);
	}
}

static const char *env_get(char **env, const char *k)
{
	size_t n = strlen(k);

	for (; *env; env++)
		if (!strncmp(*env, k, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static size_t env_count(char **env)
{
	size_t n = 0;

	while (env[n])
		n++;
	return n;
}

static void add_services(struct vol_manager *m)
{
	vol__fake_put(m, VOL_SERVICE, J("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"my-svc\"},"
		"\"spec\":{\"clusterIP\":\"10.43.0.5\",\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"},"
		"{\"port\":53,\"protocol\":\"UDP\"}]}}"));
	vol__fake_put(m, VOL_SERVICE, J("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"headless\"},"
		"\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}}"));
	vol__fake_put(m, VOL_SERVICE, J("{\"metadata\":{\"namespace\":\"other\",\"name\":\"far\"},"
		"\"spec\":{\"clusterIP\":\"10.43.0.9\",\"ports\":[{\"port\":80}]}}"));
	vol__fake_put(m, VOL_SERVICE, J("{\"metadata\":{\"namespace\":\"default\",\"name\":\"kubernetes\"},"
		"\"spec\":{\"clusterIP\":\"10.43.0.1\",\"ports\":[{\"name\":\"https\",\"port\":443,\"protocol\":\"TCP\"}]}}"));
	vol__fake_put(m, VOL_SERVICE, J("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"v6\"},"
		"\"spec\":{\"clusterIP\":\"fd43::5\",\"ports\":[{\"port\":8080}]}}"));
}

TEST(env_service_links)
{
	struct vol_manager *m = fake();
	cJSON *pod = pod_with("[]"), *ctr = J("{\"name\":\"c\"}");
	char **env, *err = NULL;

	add_services(m);
	ASSERT_OK(vol_container_env(m, pod, ctr, NULL, &env, &err));
	ASSERT_STR_EQ(env_get(env, "MY_SVC_SERVICE_HOST"), "10.43.0.5");
	ASSERT_STR_EQ(env_get(env, "MY_SVC_SERVICE_PORT"), "80");
	ASSERT_STR_EQ(env_get(env, "MY_SVC_SERVICE_PORT_HTTP"), "80");
	ASSERT_STR_EQ(env_get(env, "MY_SVC_PORT"), "tcp://10.43.0.5:80");
	ASSERT_STR_EQ(env_get(env, "MY_SVC_PORT_80_TCP"), "tcp://10.43.0.5:80");
	ASSERT_STR_EQ(env_get(env, "MY_SVC_PORT_80_TCP_PROTO"), "tcp");
	ASSERT_STR_EQ(env_get(env, "MY_SVC_PORT_80_TCP_PORT"), "80");
	ASSERT_STR_EQ(env_get(env, "MY_SVC_PORT_80_TCP_ADDR"), "10.43.0.5");
	ASSERT_STR_EQ(env_get(env, "MY_SVC_PORT_53_UDP"), "udp://10.43.0.5:53");
	ASSERT_STR_EQ(env_get(env, "KUBERNETES_SERVICE_HOST"), "10.43.0.1");
	ASSERT_STR_EQ(env_get(env, "KUBERNETES_SERVICE_PORT_HTTPS"), "443");
	ASSERT_STR_EQ(env_get(env, "V6_PORT"), "tcp://[fd43::5]:8080");
	ASSERT_NULL(env_get(env, "HEADLESS_SERVICE_HOST"));
	ASSERT_NULL(env_get(env, "FAR_SERVICE_HOST"));
	/* my-svc: 4 + 4 per port; kubernetes: 4 + 4; v6: 3 + 4 */
	ASSERT_EQ(env_count(env), 12 + 8 + 7);
	free(env);
	/* enableServiceLinks: false keeps only the master service */
	cJSON_AddBoolToObject(json_get(pod, "spec"), "enableServiceLinks", false);
	ASSERT_OK(vol_container_env(m, pod, ctr, NULL, &env, &err));
	ASSERT_NULL(env_get(env, "MY_SVC_SERVICE_HOST"));
	ASSERT_STR_EQ(env_get(env, "KUBERNETES_SERVICE_HOST"), "10.43.0.1");
	ASSERT_EQ(env_count(env), 8);
	free(env);
	cJSON_Delete(pod);
	cJSON_Delete(ctr);
	vol_manager_free(m);
}

TEST(env_values_valuefrom_envfrom)
{
	struct vol_manager *m = fake();
	cJSON *pod = pod_with("[]");
	static const char *const image_env[] = { "PATH=/usr/bin", "k1=image", "LANG=C", NULL };
	cJSON *ctr = J("{\"name\":\"c\",\"resources\":{\"limits\":{\"memory\":\"64Mi\",\"cpu\":\"1500m\"}},"
		"\"envFrom\":[{\"configMapRef\":{\"name\":\"cm\"}},{\"prefix\":\"S_\",\"secretRef\":{\"name\":\"sec\"}},"
		"{\"configMapRef\":{\"name\":\"gone\",\"optional\":true}}],"
		"\"env\":[{\"name\":\"A\",\"value\":\"a\"},{\"name\":\"B\",\"value\":\"$(A)-$(k1)-$(NOPE)-$$(A)\"},"
		"{\"name\":\"LANG\",\"value\":\"en\"},"
		"{\"name\":\"NAME\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"
		"{\"name\":\"NS\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}},"
		"{\"name\":\"APP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.labels['app']\"}}},"
		"{\"name\":\"NONE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.annotations['none']\"}}},"
		"{\"name\":\"NODE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}},"
		"{\"name\":\"SA\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.serviceAccountName\"}}},"
		"{\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}},"
		"{\"name\":\"IPS\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIPs\"}}},"
		"{\"name\":\"HOST\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.hostIP\"}}},"
		"{\"name\":\"MEM\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.memory\",\"divisor\":\"1Ki\"}}},"
		"{\"name\":\"CPU\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.cpu\"}}},"
		"{\"name\":\"CMK\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"k2\"}}},"
		"{\"name\":\"SK\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"sec\",\"key\":\"pass\"}}},"
		"{\"name\":\"OPT\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"sec\",\"key\":\"zz\",\"optional\":true}}},"
		"{\"name\":\"C\",\"value\":\"$(CMK)/$(S_user)\"}]}");
	char **env, *err = NULL;

	ASSERT_OK(vol_container_env(m, pod, ctr, image_env, &env, &err));
	ASSERT_STR_EQ(env[0], "PATH=/usr/bin");
	ASSERT_STR_EQ(env[1], "k1=v1");		/* image env overridden in place */
	ASSERT_STR_EQ(env[2], "LANG=en");
	ASSERT_STR_EQ(env_get(env, "k2"), "v2");
	ASSERT_STR_EQ(env_get(env, "S_user"), "admin");
	ASSERT_STR_EQ(env_get(env, "B"), "a-v1-$(NOPE)-$(A)");
	ASSERT_STR_EQ(env_get(env, "NAME"), "p1");
	ASSERT_STR_EQ(env_get(env, "NS"), "ns1");
	ASSERT_STR_EQ(env_get(env, "APP"), "web");
	ASSERT_STR_EQ(env_get(env, "NONE"), "");
	ASSERT_STR_EQ(env_get(env, "NODE"), "n1");
	ASSERT_STR_EQ(env_get(env, "SA"), "default");
	ASSERT_STR_EQ(env_get(env, "IP"), "10.42.0.7");
	ASSERT_STR_EQ(env_get(env, "IPS"), "10.42.0.7,fd42::7");
	ASSERT_STR_EQ(env_get(env, "HOST"), "192.0.2.1");
	ASSERT_STR_EQ(env_get(env, "MEM"), "65536");
	ASSERT_STR_EQ(env_get(env, "CPU"), "2");	/* 1.5 rounded up */
	ASSERT_STR_EQ(env_get(env, "CMK"), "v2");
	ASSERT_STR_EQ(env_get(env, "SK"), "s3cr3t");
	ASSERT_NULL(env_get(env, "OPT"));
	ASSERT_STR_EQ(env_get(env, "C"), "v2/admin");
	free(env);
	cJSON_Delete(ctr);
	cJSON_Delete(pod);
	vol_manager_free(m);
}

TEST(env_missing_references)
{
	struct vol_manager *m = fake();
	cJSON *pod = pod_with("[]"), *ctr;
	char **env = NULL, *err = NULL;

	ctr = J("{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"zz\"}}}]}");
	ASSERT_EQ(vol_container_env(m, pod, ctr, NULL, &env, &err), -ENOENT);
	ASSERT_STR_EQ(err, "couldn't find key zz in ConfigMap ns1/cm");
	ASSERT_NULL(env);
	free(err);
	cJSON_Delete(ctr);
	ctr = J("{\"name\":\"c\",\"envFrom\":[{\"secretRef\":{\"name\":\"gone\"}}]}");
	ASSERT_EQ(vol_container_env(m, pod, ctr, NULL, &env, &err), -ENOENT);
	ASSERT_STR_EQ(err, "secret \"gone\" not found");
	free(err);
	cJSON_Delete(ctr);
	ctr = J("{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.bogus\"}}}]}");
	ASSERT_EQ(vol_container_env(m, pod, ctr, NULL, &env, &err), -EINVAL);
	ASSERT_STR_EQ(err, "unsupported fieldRef fieldPath \"spec.bogus\"");
	free(err);
	cJSON_Delete(ctr);
	cJSON_Delete(pod);
	vol_manager_free(m);
}

TEST(env_pod_ips_from_the_worker)
{
	struct vol_manager *m = fake();
	cJSON *pod = J("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"p\",\"uid\":\"u\"},\"spec\":{}}");
	cJSON *ctr = J("{\"name\":\"c\",\"env\":[{\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}},"
		       "{\"name\":\"IPS\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIPs\"}}},"
		       "{\"name\":\"HIPS\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.hostIPs\"}}}]}");
	const char *pips[] = { "10.42.0.9", "fd42::9" }, *hips[] = { "192.0.2.1", NULL };
	cJSON *with = vol_pod_with_ips(pod, pips, 2, hips, 2);
	char **env, *err = NULL;

	ASSERT_OK(vol_container_env(m, with, ctr, NULL, &env, &err));
	ASSERT_STR_EQ(env_get(env, "IP"), "10.42.0.9");
	ASSERT_STR_EQ(env_get(env, "IPS"), "10.42.0.9,fd42::9");
	ASSERT_STR_EQ(env_get(env, "HIPS"), "192.0.2.1");
	ASSERT_NULL(json_get(pod, "status"));	/* the original is untouched */
	free(env);
	cJSON_Delete(with);
	cJSON_Delete(pod);
	cJSON_Delete(ctr);
	vol_manager_free(m);
}

TEST(vol_fsgroup_ownership)
{
	struct vol_manager *m = fake();
	cJSON *pod = J("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"p\",\"uid\":\"u-1\"},"
		       "\"spec\":{\"securityContext\":{\"fsGroup\":4242},\"volumes\":["
		       "{\"name\":\"e\",\"emptyDir\":{}},{\"name\":\"c\",\"configMap\":{\"name\":\"cm\",\"defaultMode\":384}}]}}");
	char *err = NULL;
	struct stat st;

	if (geteuid() != 0) {
		printf("# skipped: chown needs root\n");
		return;
	}
	ASSERT_OK(vol_pod_setup(m, pod, &err));
	ASSERT_OK(stat(xasprintf("%s/u-1/volumes/e", m->pods_dir), &st));
	ASSERT_EQ(st.st_gid, 4242);
	ASSERT_EQ(st.st_mode & 07777, 02777);
	ASSERT_OK(stat(xasprintf("%s/u-1/volumes/c/k1", m->pods_dir), &st));
	ASSERT_EQ(st.st_gid, 4242);
	ASSERT_EQ(st.st_mode & 07777, 0640);	/* 0600 plus group read */
	/* unchanged on the next sync: nothing rewritten (same ..data target) */
	char a[PATH_MAX] = "", b[PATH_MAX] = "";
	char *link = xasprintf("%s/u-1/volumes/c/..data", m->pods_dir);
	ASSERT_TRUE(readlink(link, a, sizeof(a) - 1) > 0);
	ASSERT_OK(vol_pod_setup(m, pod, &err));
	ASSERT_TRUE(readlink(link, b, sizeof(b) - 1) > 0);
	ASSERT_STR_EQ(a, b);
	cJSON_Delete(pod);
	vol_manager_free(m);
}
