/*
 * k1s kubectl - runs the machine's kubectl with this machine's admin
 * kubeconfig, unless KUBECONFIG or --kubeconfig says otherwise.
 */
#include "cmd.h"
#include "../lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define K1S_ADMIN_KUBECONFIG "/etc/k1s/k1s.yaml"

int cmd_kubectl(int argc, char **argv)
{
	char **args = xcalloc((size_t)argc + 2, sizeof(*args));

	args[0] = "kubectl";
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	if (!getenv("KUBECONFIG"))
		setenv("KUBECONFIG", K1S_ADMIN_KUBECONFIG, 1);
	execvp("kubectl", args);
	fprintf(stderr, "error: kubectl: cannot run 'kubectl': %s\n", strerror(errno));
	free(args);
	return 1;
}
