/*
 * cmd/cmd.h - the sub-commands of the k1s executable.
 *
 * Each sub-command is a row in commands[] (cmd/main.c): its name, the
 * function that runs it, a one-line summary for `k1s --help`, and whether it
 * is internal (run by k1s itself, hidden from help). A command function gets
 * the arguments after its name and returns the process exit status: 0 ok,
 * 1 failure, 2 bad usage. To add a command, write its function in a
 * cmd/<name>.c file and add one row.
 */
#ifndef K1S_CMD_H
#define K1S_CMD_H

#include <stddef.h>

int cmd_server(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_kubectl(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_shim(int argc, char **argv);
int cmd_pause(int argc, char **argv);

/* Default config file of commands with a "config" flag (server, agent). */
#define CMD_DEFAULT_CONFIG "/etc/k1s/config.yaml"

/* Runs flags_parse (flags_parse_config when the table has a "config" flag)
 * and maps its result to an exit status (-1: go on). */
struct flag;
int cmd_parse_flags(const char *cmd, const char *usage, const struct flag *flags,
		    int argc, char **argv, char ***args, int *nargs);

/*
 * cmd_parse_flags() for a command with sub-commands (images, token): -1 to
 * go on with *args[0] the sub-command; else the exit status, *args freed,
 * and after --help subs_help() has listed the sub-commands.
 */
int cmd_parse_sub_flags(const char *cmd, const char *usage, const struct flag *flags,
			int argc, char **argv, char ***args, int *nargs, void (*subs_help)(void));
/* The row of a sub-command table (rows row_size bytes apart, each starting
 * with its `const char *name`) named args[0]; NULL when nargs is 0 or none is. */
const void *cmd_find_sub(const void *table, size_t n, size_t row_size, char **args, int nargs);

#endif
