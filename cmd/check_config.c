/*
 * k1s check-config - tells whether this machine can run k1s. One row per
 * check; a failed required check makes the exit status 1.
 */
#include "cmd.h"
#include "../lib/flags.h"
#include "../lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct check {
	const char *what;
	int (*fn)(void);
	int required;
};

static int file_has(const char *path, const char *needle)
{
	char *data = NULL;
	int found;

	if (read_file(path, 1 << 20, &data, NULL))
		return 0;
	found = strstr(data, needle) != NULL;
	free(data);
	return found;
}

static int on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *dup, *save = NULL;
	int found = 0;

	dup = xstrdup(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *d = strtok_r(dup, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, prog);

		found = access(p, X_OK) == 0;
		free(p);
	}
	free(dup);
	return found;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int c_overlay(void) { return file_has("/proc/filesystems", "overlay"); }
static int c_netns(void) { return exists("/proc/self/ns/net"); }
static int c_pidns(void) { return exists("/proc/self/ns/pid"); }
static int c_ipcns(void) { return exists("/proc/self/ns/ipc") && exists("/proc/self/ns/uts"); }
static int c_mntns(void) { return exists("/proc/self/ns/mnt"); }
static int c_nft(void) { return exists("/sys/module/nf_tables") || exists("/proc/sys/net/netfilter"); }
static int c_conntrack(void) { return exists("/sys/module/nf_conntrack") || exists("/proc/sys/net/netfilter/nf_conntrack_max"); }
static int c_vxlan(void) { return exists("/sys/module/vxlan"); }
static int c_ipv6(void) { return exists("/proc/sys/net/ipv6"); }
static int c_bridge(void) { return exists("/sys/module/bridge"); }
static int c_root(void) { return geteuid() == 0; }
static int c_forward(void) { return exists("/proc/sys/net/ipv4/ip_forward"); }
static int c_storage(void) { return file_has("/proc/filesystems", "btrfs") || exists("/sys/module/loop") || exists("/dev/loop-control"); }

/* cgroup v2 (cgroup.controllers lists it) or a v1 hierarchy named after it */
static int controller(const char *name)
{
	char *p = xasprintf("/sys/fs/cgroup/%s", name);
	int ok = exists(p) || file_has("/sys/fs/cgroup/cgroup.controllers", name);

	free(p);
	return ok;
}
static int c_cg_cpu(void) { return controller("cpu"); }
static int c_cg_memory(void) { return controller("memory"); }
static int c_cg_pids(void) { return controller("pids"); }

/* runc on PATH and its version on the row */
static char runc_version[64];
static int c_runc(void)
{
	FILE *f;

	if (!on_path("runc"))
		return 0;
	f = popen("runc --version 2>/dev/null", "r");
	if (f) {
		if (fscanf(f, "runc version %63s", runc_version) != 1)
			runc_version[0] = 0;
		pclose(f);
	}
	return 1;
}

static const struct check checks[] = {
	{ "running as root", c_root, 1 },
	{ "namespaces: network", c_netns, 1 },
	{ "namespaces: PID", c_pidns, 1 },
	{ "namespaces: IPC, UTS", c_ipcns, 1 },
	{ "namespaces: mount", c_mntns, 1 },
	{ "cgroup controller: cpu", c_cg_cpu, 1 },
	{ "cgroup controller: memory", c_cg_memory, 1 },
	{ "cgroup controller: pids", c_cg_pids, 1 },
	{ "overlay filesystem", c_overlay, 1 },
	{ "nftables (nf_tables)", c_nft, 1 },
	{ "connection tracking", c_conntrack, 1 },
	{ "IP forwarding", c_forward, 1 },
	{ "runc", c_runc, 1 },
	{ "IPv6", c_ipv6, 0 },
	{ "bridge links", c_bridge, 0 },
	{ "VXLAN links", c_vxlan, 0 },
	{ "btrfs or loop devices", c_storage, 0 },
};

int cmd_check_config(int argc, char **argv)
{
	static const struct flag flags[] = { FLAG_END };
	char **args = NULL;
	int nargs, r, bad = 0;

	r = cmd_parse_flags("check-config", "k1s check-config", flags, argc, argv, &args, &nargs);
	if (r >= 0)
		return r;
	free(args);
	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		int ok = checks[i].fn();

		printf("%-28s %s%s%s\n", checks[i].what,
		       ok ? "OK" : checks[i].required ? "FAIL (required)" : "FAIL (optional)",
		       ok && checks[i].fn == c_runc && runc_version[0] ? " " : "",
		       ok && checks[i].fn == c_runc ? runc_version : "");
		if (!ok && checks[i].required)
			bad = 1;
	}
	return bad;
}
