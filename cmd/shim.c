/*
 * k1s shim STATE-DIR [READY-FD [KEY=VALUE...]] - supervises one runc
 * container (internal; started by agent/runtime.c, agent/runtime.h documents
 * the protocol).
 */
#include "cmd.h"
#include "agent/runtime.h"
#include "lib/util.h"

#include <stdio.h>

int cmd_shim(int argc, char **argv)
{
	int64_t fd = -1;

	if (argc < 1 || (argc >= 2 && (parse_i64(argv[1], &fd) < 0 || fd < 0))) {
		fprintf(stderr, "usage: k1s shim STATE-DIR [READY-FD [KEY=VALUE...]]\n");
		return 2;
	}
	return rt_shim_main(argv[0], (int)fd, argv + 2, argc > 2 ? argc - 2 : 0) < 0 ? 1 : 0;
}
