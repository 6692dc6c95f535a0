#include "cmd.h"
#include "../lib/flags.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef K1S_VERSION
#define K1S_VERSION "v0.0.0-dev"
#endif
#ifndef K1S_COMMIT
#define K1S_COMMIT "unknown"
#endif

int cmd_version(int argc, char **argv)
{
	static const struct flag flags[] = { FLAG_END };
	char **args = NULL;
	int nargs, r;

	if (argc) {
		r = cmd_parse_flags("version", "k1s version", flags, argc, argv, &args, &nargs);
		if (r >= 0)
			return r;
		r = nargs ? 2 : 0;
		if (r)
			fprintf(stderr, "error: version: unexpected argument '%s'\n", args[0]);
		free(args);
		if (r)
			return r;
	}
	printf("k1s version %s (%s)\n", K1S_VERSION, K1S_COMMIT);
	return 0;
}
