/*
 * k1s - one executable, a whole small Kubernetes distribution.
 * main() dispatches on the sub-command table below; help is generated from it.
 */
#include "cmd.h"
#include "../lib/flags.h"
#include "../lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	int internal;
};

static const struct command commands[] = {
	{ "server", cmd_server, "Run the API server, datastore and controllers (and an embedded agent)", 0 },
	{ "agent", cmd_agent, "Run a node: kubelet-lite, pod network and service proxy", 0 },
	{ "kubectl", cmd_kubectl, "Run kubectl with the admin kubeconfig of this machine", 0 },
	{ "images", cmd_images, "Import, list and remove container images", 0 },
	{ "token", cmd_token, "Create, list and delete join tokens", 0 },
	{ "check-config", cmd_check_config, "Check that this machine can run k1s", 0 },
	{ "version", cmd_version, "Print the version", 0 },
	{ "shim", cmd_shim, "Supervise one container (internal)", 1 },
	{ "pause", cmd_pause, "Hold a pod's namespaces (internal)", 1 },
};

static void usage(FILE *f)
{
	fprintf(f, "k1s - a small Kubernetes distribution in one executable\n\n"
		   "Usage: k1s [-v N] <command> [flags]\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!commands[i].internal)
			fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nGlobal flags:\n  -v N           log verbosity\n"
		   "\nRun 'k1s <command> --help' for the flags of a command.\n");
}

int cmd_parse_flags(const char *cmd, const char *usage_line, const struct flag *flags,
		    int argc, char **argv, char ***args, int *nargs)
{
	const struct flag *f = flags;
	int r;

	while (f->name && strcmp(f->name, "config"))
		f++;
	/* commands with a --config flag read /etc/k1s/config.yaml by default */
	r = f->name ? flags_parse_config(cmd, usage_line, flags, argc, argv, args, nargs,
					 CMD_DEFAULT_CONFIG) :
		      flags_parse(cmd, usage_line, flags, argc, argv, args, nargs);
	if (r == 1)
		return 0;
	if (r < 0)
		return 2;
	return -1;
}

int cmd_parse_sub_flags(const char *cmd, const char *usage_line, const struct flag *flags,
			int argc, char **argv, char ***args, int *nargs, void (*subs_help)(void))
{
	int r = cmd_parse_flags(cmd, usage_line, flags, argc, argv, args, nargs);

	if (r < 0)
		return r;
	if (r == 0)
		subs_help();
	free(*args);
	*args = NULL;
	return r;
}

const void *cmd_find_sub(const void *table, size_t n, size_t row_size, char **args, int nargs)
{
	for (size_t i = 0; nargs && i < n; i++) {
		const char *row = (const char *)table + i * row_size;

		if (!strcmp(args[0], *(const char *const *)row))
			return row;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			return cmd_version(0, NULL);
		} else if (!strcmp(a, "-v") && i + 1 < argc) {
			log_set_verbosity(atoi(argv[i + 1]));
			i += 2;
		} else if (!strncmp(a, "-v=", 3) || !strncmp(a, "--v=", 4)) {
			log_set_verbosity(atoi(strchr(a, '=') + 1));
			i++;
		} else {
			fprintf(stderr, "error: unknown flag: %s\n", a);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t c = 0; c < ARRAY_SIZE(commands); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(argc - i - 1, argv + i + 1);
	fprintf(stderr, "error: unknown command \"%s\" for \"k1s\"\n", argv[i]);
	return 2;
}
