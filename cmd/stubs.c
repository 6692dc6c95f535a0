/*
 * Sub-commands whose modules have not landed yet. Each says so plainly and
 * fails; README's status table lists them as not working.
 */
#include "cmd.h"

#include <stdio.h>

static int not_yet(const char *name)
{
	fprintf(stderr, "error: %s: not implemented yet in this build\n", name);
	return 1;
}

int cmd_token(int argc, char **argv) { (void)argc; (void)argv; return not_yet("token"); }
