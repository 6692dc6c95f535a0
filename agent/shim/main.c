/*
 * agent/shim/main.c - build/k1s-shim: the container shim and the sandbox's
 * pause process as a small static program (libc, agent/runtime_shim.c,
 * agent/runtime_log.c, agent/runtime_util.c, lib/util.c, lib/log.c and
 * cmd/pause.c; no libuv, no JSON, no TLS), so that each of the many shims
 * and pause processes of a node costs little memory and starts fast.
 * Installed beside k1s; agent/runtime.c falls back to `k1s shim` without it.
 *
 *   k1s-shim shim STATE-DIR READY-FD KEY=VALUE...   (see agent/runtime.h)
 *   k1s-shim pause
 * argv[0] is ignored: the agent runs it as "k1s shim ..." so that it shows
 * (and is found with pgrep) like the `k1s shim` it replaces.
 */
#include "agent/runtime.h"
#include "cmd/cmd.h"
#include "lib/util.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	int64_t fd = -1;

	if (argc >= 2 && !strcmp(argv[1], "pause"))
		return cmd_pause(argc - 2, argv + 2);
	if (argc < 3 || strcmp(argv[1], "shim") ||
	    (argc >= 4 && (parse_i64(argv[3], &fd) < 0 || fd < 0))) {
		fprintf(stderr, "usage: k1s-shim shim STATE-DIR [READY-FD [KEY=VALUE...]] | pause\n");
		return 2;
	}
	return rt_shim_main(argv[2], (int)fd, argv + 4, argc > 4 ? argc - 4 : 0) < 0 ? 1 : 0;
}
