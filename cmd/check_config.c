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
static int c_cgroup(void) { return file_has("/proc/mounts", "cgroup"); }
static int c_netns(void) { return exists("/proc/self/ns/net"); }
static int c_pidns(void) { return exists("/proc/self/ns/pid"); }
static int c_runc(void) { return on_path("runc"); }
static int c_nft(void) { return file_has("/proc/modules", "nf_tables") || exists("/proc/sys/net/netfilter"); }
static int c_vxlan(void) { return file_has("/proc/modules", "vxlan") || exists("/sys/module/vxlan"); }
static int c_ipv6(void) { return exists("/proc/sys/net/ipv6"); }
static int c_bridge(void) { return file_has("/proc/modules", "bridge") || exists("/sys/module/bridge"); }
static int c_root(void) { return geteuid() == 0; }

static const struct check checks[] = {
	{ "running as root", c_root, 1 },
	{ "network namespaces", c_netns, 1 },
	{ "PID namespaces", c_pidns, 1 },
	{ "cgroups mounted", c_cgroup, 1 },
	{ "overlay filesystem", c_overlay, 1 },
	{ "nftables (nf_tables)", c_nft, 1 },
	{ "runc on PATH", c_runc, 1 },
	{ "IPv6", c_ipv6, 0 },
	{ "bridge links", c_bridge, 0 },
	{ "VXLAN links", c_vxlan, 0 },
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

		printf("%-24s %s\n", checks[i].what,
		       ok ? "ok" : checks[i].required ? "MISSING (required)" : "missing (optional)");
		if (!ok && checks[i].required)
			bad = 1;
	}
	return bad;
}
