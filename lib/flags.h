/*
 * lib/flags.h - table-driven command-line flags.
 *
 * A command describes its flags in a `struct flag` array ended by FLAG_END.
 * flags_parse() accepts `--name=value`, `--name value`, `-v N`/`-v=N` for
 * single-letter names, and bare `--name` for booleans. Repeated string-list
 * flags (FLAG_LIST) append. An unknown flag, a missing value or a bad number
 * is reported on stderr in one line and flags_parse() returns -EINVAL; the
 * caller exits 2. `--help`/`-h` prints usage generated from the table and
 * returns 1. Positional arguments are collected into *args and *nargs in order.
 */
#ifndef K1S_LIB_FLAGS_H
#define K1S_LIB_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum flag_type { FLAG_BOOL, FLAG_STR, FLAG_INT, FLAG_LIST, FLAG_NONE };

struct flag {
	const char *name;	/* without dashes; NULL ends the table */
	enum flag_type type;
	void *dst;		/* bool *, const char **, int64_t *, struct flag_list * */
	const char *help;	/* one line */
	const char *env;	/* environment variable supplying a default, or NULL */
};

struct flag_list {
	const char **v;
	size_t n, alloc;
};

#define FLAG_END { NULL, FLAG_NONE, NULL, NULL, NULL }

/*
 * Parses argv[0..argc) (argv[0] is the first argument, not the program).
 * `cmd` names the command in messages, `usage` is its synopsis line.
 * Returns 0, 1 after printing help, or -EINVAL after printing an error.
 * *args is malloc'd (free it); the strings point into argv.
 */
int flags_parse(const char *cmd, const char *usage, const struct flag *flags,
		int argc, char **argv, char ***args, int *nargs);
void flags_usage(const char *cmd, const char *usage, const struct flag *flags);
void flag_list_release(struct flag_list *l);

#endif
