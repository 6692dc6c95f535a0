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
	int src;		/* which source set it last (flags.c) */
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
/*
 * flags_parse() over a YAML config file: the file named by --config (or by
 * the env of the table's "config" flag) must exist (an empty name: no file);
 * otherwise default_path
 * (may be NULL) is read when it exists. Its top level maps long flag names
 * to values: a string (booleans and numbers as YAML writes them), or a
 * list for list flags (a list for a string flag is joined with commas).
 * Precedence: command line > environment > file; a list flag given on a
 * later level replaces the earlier level's values. Unknown keys and bad
 * values are errors naming the file (-EINVAL). Values stay valid for the
 * life of the process.
 */
#define FLAGS_CONFIG_MAX (1 << 20)	/* bytes of a config file */
int flags_parse_config(const char *cmd, const char *usage, const struct flag *flags,
		       int argc, char **argv, char ***args, int *nargs, const char *default_path);
void flags_usage(const char *cmd, const char *usage, const struct flag *flags);
void flag_list_release(struct flag_list *l);

#endif
