/*
 * k1s pause - PID 1 of a pod sandbox. It holds the pod's namespaces, reaps
 * the zombies of a shared PID namespace, and exits on SIGTERM/SIGINT.
 */
#include "cmd.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static void on_chld(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int cmd_pause(int argc, char **argv)
{
	struct sigaction sa = { 0 };

	(void)argv;
	if (argc) {
		fprintf(stderr, "error: pause: takes no arguments\n");
		return 2;
	}
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_chld;
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	for (;;)
		pause();
}
