/*
 * agent/ocispec.c - struct rt_spec -> the OCI runtime spec (config.json)
 * runc 1.1 accepts. Tables: capabilities (and which are in the default set,
 * the one containerd and Docker grant), default mounts, masked and
 * read-only paths, namespace names.
 */
#include "agent/runtime.h"
#include "lib/json.h"
#include "lib/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>

/* Indexed by capability number (linux/capability.h). */
static const struct cap_row {
	const char *name;	/* without the CAP_ prefix */
	bool dflt;		/* in the default set */
} caps[] = {
	{ "CHOWN", 1 }, { "DAC_OVERRIDE", 1 }, { "DAC_READ_SEARCH", 0 },
	{ "FOWNER", 1 }, { "FSETID", 1 }, { "KILL", 1 }, { "SETGID", 1 },
	{ "SETUID", 1 }, { "SETPCAP", 1 }, { "LINUX_IMMUTABLE", 0 },
	{ "NET_BIND_SERVICE", 1 }, { "NET_BROADCAST", 0 }, { "NET_ADMIN", 0 },
	{ "NET_RAW", 1 }, { "IPC_LOCK", 0 }, { "IPC_OWNER", 0 },
	{ "SYS_MODULE", 0 }, { "SYS_RAWIO", 0 }, { "SYS_CHROOT", 1 },
	{ "SYS_PTRACE", 0 }, { "SYS_PACCT", 0 }, { "SYS_ADMIN", 0 },
	{ "SYS_BOOT", 0 }, { "SYS_NICE", 0 }, { "SYS_RESOURCE", 0 },
	{ "SYS_TIME", 0 }, { "SYS_TTY_CONFIG", 0 }, { "MKNOD", 1 },
	{ "LEASE", 0 }, { "AUDIT_WRITE", 1 }, { "AUDIT_CONTROL", 0 },
	{ "SETFCAP", 1 }, { "MAC_OVERRIDE", 0 }, { "MAC_ADMIN", 0 },
	{ "SYSLOG", 0 }, { "WAKE_ALARM", 0 }, { "BLOCK_SUSPEND", 0 },
	{ "AUDIT_READ", 0 }, { "PERFMON", 0 }, { "BPF", 0 },
	{ "CHECKPOINT_RESTORE", 0 },
};

/* Mounts every container gets, before the spec's own. */
static const struct dflt_mount {
	const char *dest, *type, *source, *options;
	bool privileged_rw;	/* read-write when privileged */
} dflt_mounts[] = {
	{ "/proc", "proc", "proc", "nosuid,noexec,nodev", 0 },
	{ "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k", 0 },
	{ "/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5", 0 },
	{ "/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k", 0 },
	{ "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev", 0 },
	{ "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro", 1 },
	{ "/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,ro", 1 },
};

static const char *const masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/sys/firmware",
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static const char *const ns_names[RT_NS__COUNT] = {
	[RT_NS_PID] = "pid", [RT_NS_NET] = "network", [RT_NS_IPC] = "ipc",
	[RT_NS_UTS] = "uts", [RT_NS_MOUNT] = "mount",
};

static const struct kind_row {
	const char *type, *source, *options;
} mount_kinds[] = {
	[RT_MOUNT_BIND] = { "bind", NULL, "rbind,rprivate" },
	[RT_MOUNT_TMPFS] = { "tmpfs", "tmpfs", "nosuid,nodev,mode=755" },
	[RT_MOUNT_PROC] = { "proc", "proc", "nosuid,noexec,nodev" },
	[RT_MOUNT_SYSFS] = { "sysfs", "sysfs", "nosuid,noexec,nodev" },
	[RT_MOUNT_CGROUP] = { "cgroup", "cgroup", "nosuid,noexec,nodev,relatime" },
};

/* Index of a capability name ("NET_ADMIN", "CAP_NET_ADMIN", any case), or -1. */
static int cap_index(const char *name)
{
	size_t i;

	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	for (i = 0; i < ARRAY_SIZE(caps); i++)
		if (!strcasecmp(caps[i].name, name))
			return (int)i;
	return -1;
}

/*
 * "All capabilities" (privileged, add ALL) means all that the agent's own
 * bounding set holds, as containerd does: runc cannot grant more.
 */
static bool cap_held(size_t cap)
{
	return prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) == 1;
}

static size_t strv_len(const char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static void add_split(cJSON *arr, const char *csv)
{
	char *copy, *tok, *save = NULL;

	if (!csv)
		return;
	copy = xstrdup(csv);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(arr, cJSON_CreateString(tok));
	free(copy);
}

static cJSON *mount_new(const char *dest, const char *type, const char *source,
			const char *opts, const char *extra)
{
	cJSON *m = cJSON_CreateObject(), *o = cJSON_CreateArray();

	json_set_str(m, "destination", dest);
	json_set_str(m, "type", type);
	json_set_str(m, "source", source);
	add_split(o, opts);
	add_split(o, extra);
	json_set(m, "options", o);
	return m;
}

static int caps_json(const struct rt_spec *s, cJSON *proc)
{
	bool set[ARRAY_SIZE(caps)];
	const char *const *p;
	cJSON *c, *list;
	size_t i;
	int k;

	for (i = 0; i < ARRAY_SIZE(caps); i++)
		set[i] = s->privileged ? cap_held(i) : caps[i].dflt;
	for (p = s->cap_drop; p && *p; p++) {
		if (!strcasecmp(*p, "ALL")) {
			memset(set, 0, sizeof(set));
			continue;
		}
		if ((k = cap_index(*p)) < 0)
			return -EINVAL;
		set[k] = false;
	}
	for (p = s->cap_add; p && *p; p++) {
		if (!strcasecmp(*p, "ALL")) {
			for (i = 0; i < ARRAY_SIZE(caps); i++)
				set[i] = cap_held(i);
			continue;
		}
		if ((k = cap_index(*p)) < 0)
			return -EINVAL;
		set[k] = true;
	}
	list = cJSON_CreateArray();
	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		if (set[i]) {
			char *n = xasprintf("CAP_%s", caps[i].name);
			cJSON_AddItemToArray(list, cJSON_CreateString(n));
			free(n);
		}
	}
	c = json_obj(proc, "capabilities");
	json_set(c, "bounding", cJSON_Duplicate(list, 1));
	json_set(c, "effective", cJSON_Duplicate(list, 1));
	json_set(c, "permitted", list);
	return 0;
}

static int process_json(const struct rt_spec *s, cJSON *root)
{
	static const char *const path_env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL
	};
	cJSON *p = json_obj(root, "process"), *u, *g;
	size_t i;

	if (!s->args || !s->args[0] || strv_len(s->args) > RT_ARGS_MAX ||
	    strv_len(s->env) > RT_ARGS_MAX || (s->cwd && s->cwd[0] != '/'))
		return -EINVAL;
	json_set_bool(p, "terminal", s->terminal);
	u = json_obj(p, "user");
	json_set_int(u, "uid", s->uid);
	json_set_int(u, "gid", s->gid);
	if (s->nr_extra_gids) {
		g = cJSON_CreateArray();
		for (i = 0; i < s->nr_extra_gids; i++)
			cJSON_AddItemToArray(g, cJSON_CreateNumber(s->extra_gids[i]));
		json_set(u, "additionalGids", g);
	}
	json_set(p, "args", cJSON_CreateStringArray(s->args, (int)strv_len(s->args)));
	json_set(p, "env", s->env ? cJSON_CreateStringArray(s->env, (int)strv_len(s->env))
				  : cJSON_CreateStringArray(path_env, 1));
	json_set_str(p, "cwd", s->cwd ? s->cwd : "/");
	json_set_bool(p, "noNewPrivileges", s->no_new_privileges);
	if (s->has_oom_score_adj)
		json_set_int(p, "oomScoreAdj", s->oom_score_adj);
	return caps_json(s, p);
}

static int mounts_json(const struct rt_spec *s, cJSON *root)
{
	static const struct { size_t off; const char *dest; } files[] = {
		{ offsetof(struct rt_spec, hosts_file), "/etc/hosts" },
		{ offsetof(struct rt_spec, resolv_file), "/etc/resolv.conf" },
		{ offsetof(struct rt_spec, hostname_file), "/etc/hostname" },
	};
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	json_set(root, "mounts", arr);
	for (i = 0; i < ARRAY_SIZE(dflt_mounts); i++) {
		const struct dflt_mount *d = &dflt_mounts[i];
		char *o = xstrdup(d->options);
		if (s->privileged && d->privileged_rw && str_has_suffix(o, ",ro"))
			o[strlen(o) - 3] = 0;
		cJSON_AddItemToArray(arr, mount_new(d->dest, d->type, d->source, o, NULL));
		free(o);
	}
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		const char *src = *(const char *const *)((const char *)s + files[i].off);
		if (!src)
			continue;
		if (src[0] != '/')
			return -EINVAL;
		cJSON_AddItemToArray(arr, mount_new(files[i].dest, "bind", src,
						    "rbind,rprivate", NULL));
	}
	if (s->nr_mounts > RT_MOUNTS_MAX)
		return -EINVAL;
	for (i = 0; i < s->nr_mounts; i++) {
		const struct rt_mount *m = &s->mounts[i];
		const struct kind_row *k;
		if ((unsigned)m->kind >= ARRAY_SIZE(mount_kinds) || !m->dest || m->dest[0] != '/')
			return -EINVAL;
		k = &mount_kinds[m->kind];
		if (m->kind == RT_MOUNT_BIND && (!m->source || m->source[0] != '/'))
			return -EINVAL;
		cJSON *j = mount_new(m->dest, k->type, k->source ? k->source : m->source,
				     k->options, m->options);
		if (m->readonly)
			cJSON_AddItemToArray(json_get(j, "options"), cJSON_CreateString("ro"));
		cJSON_AddItemToArray(arr, j);
	}
	return 0;
}

static void resources_json(const struct rt_spec *s, cJSON *linux_)
{
	const struct rt_resources *r = &s->res;
	cJSON *res = json_obj(linux_, "resources"), *dev, *d;

	dev = cJSON_CreateArray();
	d = cJSON_CreateObject();
	json_set_bool(d, "allow", s->privileged);
	json_set_str(d, "access", "rwm");
	cJSON_AddItemToArray(dev, d);
	json_set(res, "devices", dev);
	if (r->memory_limit > 0)
		json_set_int(json_obj(res, "memory"), "limit", r->memory_limit);
	if (r->cpu_shares)
		json_set_int(json_obj(res, "cpu"), "shares", (int64_t)r->cpu_shares);
	if (r->cpu_quota > 0)
		json_set_int(json_obj(res, "cpu"), "quota", r->cpu_quota);
	if (r->cpu_period)
		json_set_int(json_obj(res, "cpu"), "period", (int64_t)r->cpu_period);
	if (r->pids_limit > 0)
		json_set_int(json_obj(res, "pids"), "limit", r->pids_limit);
}

static int linux_json(const struct rt_spec *s, const char *id, cJSON *root)
{
	cJSON *l = json_obj(root, "linux"), *nss = cJSON_CreateArray();
	int i;

	json_set(l, "namespaces", nss);
	for (i = 0; i < RT_NS__COUNT; i++) {
		const struct rt_ns_spec *n = &s->ns[i];
		cJSON *j;
		if (n->mode == RT_NS_HOST && i != RT_NS_MOUNT)
			continue;
		if (n->mode > RT_NS_HOST || (n->mode == RT_NS_HOST && i == RT_NS_MOUNT) ||
		    (n->mode == RT_NS_JOIN && (!n->path || n->path[0] != '/')))
			return -EINVAL;
		j = cJSON_CreateObject();
		json_set_str(j, "type", ns_names[i]);
		if (n->mode == RT_NS_JOIN)
			json_set_str(j, "path", n->path);
		cJSON_AddItemToArray(nss, j);
	}
	if (s->cgroup_path) {
		if (s->cgroup_path[0] != '/')
			return -EINVAL;
		json_set_str(l, "cgroupsPath", s->cgroup_path);
	}
	resources_json(s, l);
	if (!s->privileged) {
		json_set(l, "maskedPaths", cJSON_CreateStringArray(masked_paths,
					(int)ARRAY_SIZE(masked_paths)));
		json_set(l, "readonlyPaths", cJSON_CreateStringArray(readonly_paths,
					(int)ARRAY_SIZE(readonly_paths)));
	}
	(void)id;
	return 0;
}

int rt_spec_json(const struct rt_spec *s, const char *id, char **out)
{
	cJSON *root = cJSON_CreateObject(), *r;
	int ret;

	*out = NULL;
	if (!s->rootfs || s->rootfs[0] != '/') {
		ret = -EINVAL;
		goto out;
	}
	if (s->hostname && s->ns[RT_NS_UTS].mode != RT_NS_NEW) {
		ret = -EINVAL;
		goto out;
	}
	json_set_str(root, "ociVersion", "1.0.2-dev");
	if ((ret = process_json(s, root)) < 0)
		goto out;
	r = json_obj(root, "root");
	json_set_str(r, "path", s->rootfs);
	json_set_bool(r, "readonly", s->readonly_rootfs);
	if (s->ns[RT_NS_UTS].mode == RT_NS_NEW && (s->hostname || strlen(id) <= HOST_NAME_MAX))
		json_set_str(root, "hostname", s->hostname ? s->hostname : id);
	if ((ret = mounts_json(s, root)) < 0 || (ret = linux_json(s, id, root)) < 0)
		goto out;
	*out = json_print(root);
out:
	cJSON_Delete(root);
	return ret;
}
