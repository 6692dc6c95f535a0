/*
 * agent/runtime_sandbox.c - pod sandboxes: a `k1s pause` container whose
 * namespaces the pod's app containers join by /proc/<pid>/ns/<name>.
 *
 * The pause root filesystem is <state>/<id>/rootfs: a few empty directories
 * and an empty /pause file, on which runc bind-mounts the k1s binary
 * read-only. A dynamically linked k1s (the dev build) also gets the host's
 * library directories bound read-only (symlinks such as /lib -> usr/lib are
 * recreated); a static k1s gets nothing else. Nothing of the host is
 * writable from the sandbox, and with a shared PID namespace the siblings
 * see only this through /proc/1/root.
 */
#include "agent/runtime_int.h"
#include "lib/log.h"
#include "lib/util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RT_LIBDIRS_MAX 8

static const char *const lib_dirs[] = { "/lib", "/lib64", "/usr/lib", "/usr/lib64" };
static const char *const ns_proc_names[RT_NS__COUNT] = {
	[RT_NS_PID] = "pid", [RT_NS_NET] = "net", [RT_NS_IPC] = "ipc",
	[RT_NS_UTS] = "uts", [RT_NS_MOUNT] = "mnt",
};

/* True when the ELF file has a PT_INTERP header (is dynamically linked). */
static bool elf_is_dynamic(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	bool dyn = true;	/* when in doubt, bind the libraries */
	int fd = open(path, O_RDONLY | O_CLOEXEC), i;

	if (fd < 0)
		return dyn;
	if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	    eh.e_phentsize == sizeof(ph)) {
		dyn = false;
		for (i = 0; i < eh.e_phnum; i++)
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) ==
			    sizeof(ph) && ph.p_type == PT_INTERP)
				dyn = true;
	}
	close(fd);
	return dyn;
}

static int touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Builds rootfs/ and the extra mounts (sources in srcs[], owned by the caller). */
static int build_rootfs(const char *rootfs, const char *exe, struct rt_mount *mounts,
			size_t *nr)
{
	static const char *const dirs[] = { "dev", "proc", "sys", "etc", "usr" };
	char *p, link[PATH_MAX];
	struct stat st;
	size_t i;
	ssize_t n;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(dirs) && !ret; i++) {
		p = xasprintf("%s/%s", rootfs, dirs[i]);
		ret = mkdir_p(p, 0755);
		free(p);
	}
	p = xasprintf("%s/pause", rootfs);
	if (!ret)
		ret = touch(p);
	free(p);
	mounts[(*nr)++] = (struct rt_mount){ .kind = RT_MOUNT_BIND, .dest = "/pause",
					     .source = exe, .readonly = true };
	if (ret || !elf_is_dynamic(exe))
		return ret;
	for (i = 0; i < ARRAY_SIZE(lib_dirs) && !ret; i++) {
		if (lstat(lib_dirs[i], &st) < 0)
			continue;
		p = xasprintf("%s%s", rootfs, lib_dirs[i]);
		if (S_ISLNK(st.st_mode) && (n = readlink(lib_dirs[i], link, sizeof(link) - 1)) > 0) {
			link[n] = 0;
			if (symlink(link, p) < 0 && errno != EEXIST)
				ret = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			ret = mkdir_p(p, 0755);
			mounts[(*nr)++] = (struct rt_mount){ .kind = RT_MOUNT_BIND,
				.dest = lib_dirs[i], .source = lib_dirs[i], .readonly = true };
		}
		free(p);
	}
	return ret;
}

int rt_sandbox_create(struct rt *rt, const char *id, const struct rt_sandbox_config *cfg)
{
	static const char *const args[] = { "/pause", "pause", NULL };
	static const char *const drop[] = { "ALL", NULL };
	struct rt_mount mounts[RT_LIBDIRS_MAX];
	struct rt_create_opts opts = { .log_path = cfg->log_path, .start = cfg->start };
	struct rt_spec s = {
		.readonly_rootfs = true, .args = args, .cap_drop = drop,
		.no_new_privileges = true, .hostname = cfg->hostname,
		.cgroup_path = cfg->cgroup_path, .mounts = mounts,
	};
	char exe[PATH_MAX], *dir = NULL, *rootfs = NULL;
	size_t nr = 0;
	int ret;

	if ((ret = rt_id_check(id)) < 0)
		return ret;
	if ((ret = rt_shim_exe(rt, exe)) < 0)
		return ret;
	dir = rt__path(rt, id, NULL);
	rootfs = rt__path(rt, id, "rootfs");
	if ((ret = mkdir_p(rt->state_dir, 0700)) < 0)
		goto out;
	if (mkdir(dir, 0700) < 0) {
		ret = -errno;
		free(dir);
		dir = NULL;
		goto out;
	}
	if ((ret = build_rootfs(rootfs, exe, mounts, &nr)) < 0)
		goto out;
	s.rootfs = rootfs;
	s.nr_mounts = nr;
	s.ns[RT_NS_PID].mode = RT_NS_NEW;
	if (cfg->host_network) {
		s.ns[RT_NS_NET].mode = RT_NS_HOST;
		s.ns[RT_NS_UTS].mode = RT_NS_HOST;
		s.hostname = NULL;
	} else if (cfg->netns_path) {
		s.ns[RT_NS_NET] = (struct rt_ns_spec){ RT_NS_JOIN, cfg->netns_path };
	}
	ret = rt__create(rt, id, &s, &opts, "sandbox");
	if (ret < 0) {
		free(dir);	/* rt__create removed it */
		dir = NULL;
	}
out:
	if (ret < 0 && dir)
		rt__rmtree(dir);
	free(dir);
	free(rootfs);
	return ret;
}

int rt_sandbox_start(struct rt *rt, const char *id)
{
	return rt_container_start(rt, id);
}

int rt_sandbox_stop(struct rt *rt, const char *id, unsigned grace_ms)
{
	return rt_container_stop(rt, id, grace_ms);
}

int rt_sandbox_remove(struct rt *rt, const char *id)
{
	return rt_container_remove(rt, id);
}

/* The sandbox's init pid when it runs: it was started, its pid file names a
 * live process whose parent is the sandbox's live shim, no exit is recorded. No runc
 * call (a container start asks for up to four namespaces). */
static int init_pid(struct rt *rt, const char *id, pid_t *pid)
{
	char *p = rt__path(rt, id, RT_F_PID), *e = rt__path(rt, id, RT_F_EXIT), stat[64], *t = NULL;
	char *s = rt__path(rt, id, RT_F_STARTED);
	pid_t shim = 0;
	int ret = rt__read_pid(p, pid, NULL), ppid = 0;

	if (!ret && (access(e, F_OK) == 0 || access(s, F_OK) < 0 || !rt__shim_alive(rt, id, &shim)))
		ret = -ESRCH;
	if (!ret) {
		snprintf(stat, sizeof(stat), "/proc/%d/stat", (int)*pid);
		ret = read_file(stat, 4096, &t, NULL);
	}
	if (!ret) {
		char *q = strrchr(t, ')');	/* "pid (comm) S ppid ..." */

		if (!q || sscanf(q + 1, " %*c %d", &ppid) != 1 || ppid != shim || q[2] == 'Z')
			ret = -ESRCH;
	}
	free(t);
	free(p);
	free(e);
	free(s);
	return ret == -ENOENT ? -ESRCH : ret;
}

int rt_sandbox_ns_path(struct rt *rt, const char *id, enum rt_ns ns, char **path)
{
	pid_t pid = 0;
	char *p;
	int ret;

	*path = NULL;
	if ((unsigned)ns >= RT_NS__COUNT)
		return -EINVAL;
	if ((ret = rt_id_check(id)) < 0)
		return ret;
	if ((ret = init_pid(rt, id, &pid)) < 0)
		return ret;
	p = xasprintf("/proc/%d/ns/%s", (int)pid, ns_proc_names[ns]);
	if (access(p, F_OK) < 0) {
		free(p);
		return -ESRCH;
	}
	*path = p;
	return 0;
}

/* The namespace at path is the one this process is in (host networking). */
static bool same_as_ours(const char *path, enum rt_ns ns)
{
	char a[64], b[64], *self = xasprintf("/proc/self/ns/%s", ns_proc_names[ns]);
	ssize_t na = readlink(path, a, sizeof(a)), nb = readlink(self, b, sizeof(b));

	free(self);
	return na > 0 && na == nb && !memcmp(a, b, (size_t)na);
}

int rt_sandbox_join(struct rt *rt, const char *id, bool share_pid, struct rt_spec *spec,
		    char *paths[RT_NS__COUNT])
{
	static const enum rt_ns joined[] = { RT_NS_NET, RT_NS_IPC, RT_NS_UTS, RT_NS_PID };
	size_t i;
	int ret = 0;

	memset(paths, 0, sizeof(char *) * RT_NS__COUNT);
	for (i = 0; i < ARRAY_SIZE(joined) && !ret; i++) {
		enum rt_ns ns = joined[i];
		if (ns == RT_NS_PID && !share_pid) {
			spec->ns[ns].mode = RT_NS_NEW;
			continue;
		}
		if ((ret = rt_sandbox_ns_path(rt, id, ns, &paths[ns])) < 0)
			break;
		if (same_as_ours(paths[ns], ns))
			spec->ns[ns] = (struct rt_ns_spec){ RT_NS_HOST, NULL };
		else
			spec->ns[ns] = (struct rt_ns_spec){ RT_NS_JOIN, paths[ns] };
	}
	spec->ns[RT_NS_MOUNT].mode = RT_NS_NEW;
	spec->hostname = NULL;
	if (ret < 0)
		for (i = 0; i < RT_NS__COUNT; i++) {
			free(paths[i]);
			paths[i] = NULL;
		}
	return ret;
}
