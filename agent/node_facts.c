/*
 * agent/node_facts.c - what the Node object says about this machine
 * (capacity, nodeInfo) and the eviction thresholds checked against it.
 */
#include "node.h"
#include "lib/quantity.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* First line of a small file into out, trailing newline removed. */
static void read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");

	out[0] = 0;
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

/* "Key:   123 kB" from /proc/meminfo, in bytes; -1 when missing. */
static int64_t meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	size_t kl = strlen(key);
	int64_t v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtoll(line + kl + 1, NULL, 10) * 1024;
			break;
		}
	fclose(f);
	return v;
}

/* CPUs online, bounded by the cgroup v2 cpu.max quota of this process. */
static int64_t cpu_milli(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	int64_t m = (n > 0 ? n : 1) * 1000;
	char buf[128];
	long long quota, period;

	read_line("/sys/fs/cgroup/cpu.max", buf, sizeof(buf));
	if (sscanf(buf, "%lld %lld", &quota, &period) == 2 && period > 0) {
		int64_t q = (int64_t)(quota * 1000 / period);

		if (q > 0 && q < m)
			m = q;
	}
	return m;
}

static void os_image(char *out, size_t len)
{
	FILE *f = fopen("/etc/os-release", "re");
	char line[512];

	snprintf(out, len, "Linux");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v;

		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		v = line + 12;
		v[strcspn(v, "\n")] = 0;
		if (*v == '"' || *v == '\'') {
			v++;
			if (*v && (v[strlen(v) - 1] == '"' || v[strlen(v) - 1] == '\''))
				v[strlen(v) - 1] = 0;
		}
		snprintf(out, len, "%.*s", (int)len - 1, v);
	}
	fclose(f);
}

static const struct { const char *uname, *go; } arch_map[] = {
	{ "x86_64", "amd64" }, { "aarch64", "arm64" }, { "armv7l", "arm" },
	{ "armv6l", "arm" }, { "i686", "386" }, { "i386", "386" },
	{ "ppc64le", "ppc64le" }, { "s390x", "s390x" }, { "riscv64", "riscv64" },
};

/* "runc version 1.1.12" -> "1.1.12"; "unknown" when runc is missing. */
static void runc_version(char *out, size_t len)
{
	int fds[2];
	char buf[256] = "";
	pid_t pid;
	ssize_t n = 0;

	snprintf(out, len, "runc://unknown");
	if (pipe2(fds, O_CLOEXEC))
		return;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		execlp("runc", "runc", "--version", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if (pid > 0) {
		n = read(fds[0], buf, sizeof(buf) - 1);
		waitpid(pid, NULL, 0);
	}
	close(fds[0]);
	if (n > 0) {
		char v[64];

		buf[n] = 0;
		if (sscanf(buf, "runc version %63s", v) == 1)
			snprintf(out, len, "runc://%s", v);
	}
}

void node__facts_refresh(struct node_facts *f, const char *data_dir)
{
	struct statvfs sv;
	char buf[128];
	long long running, total;

	f->mem_avail = meminfo("MemAvailable");
	if (data_dir && !statvfs(data_dir, &sv)) {
		f->fs_total = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
		f->fs_avail = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
	}
	/* /proc/loadavg: "0.00 0.01 0.05 1/123 4567": 123 = tasks */
	read_line("/proc/loadavg", buf, sizeof(buf));
	if (sscanf(buf, "%*s %*s %*s %lld/%lld", &running, &total) == 2)
		f->pid_used = total;
}

void node__facts_load(struct node_facts *f, const char *data_dir)
{
	struct utsname u;
	char buf[64];

	memset(f, 0, sizeof(*f));
	f->cpu_milli = cpu_milli();
	f->mem_total = meminfo("MemTotal");
	read_line("/proc/sys/kernel/pid_max", buf, sizeof(buf));
	f->pid_max = strtoll(buf, NULL, 10);
	if (f->pid_max <= 0)
		f->pid_max = 32768;
	if (gethostname(f->hostname, sizeof(f->hostname) - 1))
		snprintf(f->hostname, sizeof(f->hostname), "localhost");
	uname(&u);
	snprintf(f->kernel, sizeof(f->kernel), "%s", u.release);
	snprintf(f->arch, sizeof(f->arch), "%.31s", u.machine);
	for (size_t i = 0; i < sizeof(arch_map) / sizeof(arch_map[0]); i++)
		if (!strcmp(u.machine, arch_map[i].uname))
			snprintf(f->arch, sizeof(f->arch), "%s", arch_map[i].go);
	os_image(f->os_image, sizeof(f->os_image));
	runc_version(f->runtime, sizeof(f->runtime));
	read_line("/etc/machine-id", f->machine_id, sizeof(f->machine_id));
	read_line("/proc/sys/kernel/random/boot_id", f->boot_id, sizeof(f->boot_id));
	node__facts_refresh(f, data_dir);
}

static const char *const signal_names[SIG_N] = {
	[SIG_MEMORY] = "memory.available",
	[SIG_NODEFS] = "nodefs.available",
	[SIG_PID] = "pid.available",
};

static int parse_one(char *item, struct node_eviction *e, char **err)
{
	char *lt = strchr(item, '<');
	const char *qerr = NULL;
	struct quantity q;
	int sig = -1;

	if (!lt) {
		*err = xasprintf("invalid eviction threshold '%s': want SIGNAL<VALUE", item);
		return -EINVAL;
	}
	*lt++ = 0;
	for (int i = 0; i < SIG_N; i++)
		if (!strcmp(item, signal_names[i]))
			sig = i;
	if (sig < 0) {
		if (str_has_prefix(item, "imagefs."))
			return 0;
		*err = xasprintf("unknown eviction signal '%s'", item);
		return -EINVAL;
	}
	e->set[sig] = true;
	if (str_has_suffix(lt, "%")) {
		char *end;

		e->percent[sig] = true;
		e->pct[sig] = strtod(lt, &end);
		if (end != lt + strlen(lt) - 1 || e->pct[sig] < 0 || e->pct[sig] > 100) {
			*err = xasprintf("invalid eviction percentage '%s'", lt);
			return -EINVAL;
		}
		return 0;
	}
	if (quantity_parse(lt, &q, &qerr)) {
		*err = xasprintf("invalid eviction quantity '%s': %s", lt, qerr ? qerr : "bad value");
		return -EINVAL;
	}
	e->value[sig] = quantity_value(&q);
	return 0;
}

int node__eviction_parse(const char *s, struct node_eviction *e, char **err)
{
	char *copy = xstrdup(s ? s : ""), *save = NULL, *item;
	int ret = 0;

	memset(e, 0, sizeof(*e));
	*err = NULL;
	for (item = strtok_r(copy, ",", &save); item && !ret; item = strtok_r(NULL, ",", &save))
		ret = parse_one(item, e, err);
	free(copy);
	return ret;
}

bool node__pressure(const struct node_eviction *e, enum node_signal sig,
		    const struct node_facts *f)
{
	int64_t avail, cap;

	if (!e->set[sig])
		return false;
	switch (sig) {
	case SIG_MEMORY: avail = f->mem_avail; cap = f->mem_total; break;
	case SIG_NODEFS: avail = f->fs_avail; cap = f->fs_total; break;
	default: avail = f->pid_max - f->pid_used; cap = f->pid_max; break;
	}
	if (avail < 0 || cap <= 0)
		return false;
	if (e->percent[sig])
		return (double)avail < (double)cap * e->pct[sig] / 100.0;
	return avail < e->value[sig];
}
