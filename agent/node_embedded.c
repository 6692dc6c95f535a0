/*
 * agent/node_embedded.c - the server's own node: `k1s server` (without
 * --disable-agent) forks, before its loop starts, a small supervisor that
 * runs `k1s agent` as a child against the server's admin kubeconfig.
 *
 * Why a child process and not the server's loop: server_run() owns its loop
 * from start to exit, and cmd/ may not reach into server/; a child also
 * keeps agent crashes (and, later, runc/pod work) out of the API server.
 * The agent still talks HTTPS to the server on loopback, exactly as a
 * remote agent does.
 *
 * The supervisor waits until the kubeconfig is (re)written by this server
 * (mtime not older than the supervisor's start), starts the agent, restarts
 * it with a backoff (1 s doubling to 30 s, reset after 60 s of uptime) when
 * it dies, and on SIGTERM (or when the server dies: PR_SET_PDEATHSIG)
 * sends SIGTERM to the agent, waits for it and exits.
 */
#include "node.h"
#include "lib/inet.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUP_POLL_US 100000
#define SUP_KUBECONFIG_POLL_US 10000	/* the agent starts this soon after the kubeconfig */
#define SUP_BACKOFF_MAX_S 30
#define SUP_STABLE_S 60
/* Arguments of the agent command line (fixed ones + 2 per node IP). */
#define SUP_MAX_ARGS (16 + 2 * AGENT_MAX_NODE_IPS + AGENT_MAX_EXTRA_ARGS)

static volatile sig_atomic_t sup_stop;

static void on_term(int sig)
{
	(void)sig;
	sup_stop = 1;
}

static bool kubeconfig_fresh(const char *path, time_t since)
{
	struct stat st;

	return !stat(path, &st) && st.st_mtime >= since;
}

static pid_t spawn_agent(char *const argv[])
{
	pid_t sup = getpid(), pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != sup)
			_exit(1);
		signal(SIGTERM, SIG_DFL);
		execv(argv[0], argv);
		fprintf(stderr, "error: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Sleeps up to s seconds, returning early on a stop request. */
static void sup_sleep(unsigned s)
{
	for (unsigned i = 0; i < s * 10 && !sup_stop; i++)
		usleep(SUP_POLL_US);
}

static int supervise(char *const argv[], const char *kubeconfig, time_t since)
{
	unsigned backoff = 1;
	pid_t child = -1;

	while (!sup_stop && !kubeconfig_fresh(kubeconfig, since))
		usleep(SUP_KUBECONFIG_POLL_US);
	while (!sup_stop) {
		time_t started = time(NULL);
		int st;

		child = spawn_agent(argv);
		if (child < 0) {
			sup_sleep(backoff);
			continue;
		}
		while (!sup_stop && waitpid(child, &st, WNOHANG) == 0)
			usleep(SUP_POLL_US);
		if (sup_stop)
			break;
		child = -1;
		if (time(NULL) - started > SUP_STABLE_S)
			backoff = 1;
		log_warn("embedded agent exited (status %d); restarting in %u s",
			 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), backoff);
		sup_sleep(backoff);
		backoff = backoff * 2 > SUP_BACKOFF_MAX_S ? SUP_BACKOFF_MAX_S : backoff * 2;
	}
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
	}
	return 0;
}

/* The agent's command line into argv (SUP_MAX_ARGS), its strings in the
 * caller's buffers; the number of arguments. */
static size_t embedded_argv(const struct agent_embedded_opts *o, char *exe, char *host,
			    char *agent_dir, char *dns_arg, char *domain_arg, char **argv)
{
	const struct flag_list *extra = o->extra;
	size_t k = 0, n_extra = 0;

	argv[k++] = exe;
	argv[k++] = "agent";
	argv[k++] = "--kubeconfig";
	argv[k++] = (char *)o->kubeconfig;
	argv[k++] = "--node-name";
	argv[k++] = host;
	argv[k++] = "--data-dir";
	argv[k++] = agent_dir;
	argv[k++] = "--control-plane";
	argv[k++] = "--config=";	/* the server read the config file */
	for (size_t i = 0; i < o->node_ip->n; i++) {
		argv[k++] = "--node-ip";
		argv[k++] = (char *)o->node_ip->v[i];
	}
	/* pods' resolv.conf names the first cluster DNS address; the agent's
	 * DNS serves every family of the kube-dns Service (docs/dns.md) */
	if (o->cluster_domain) {
		argv[k++] = domain_arg;
		n_extra++;
	}
	if (o->cluster_dns && *o->cluster_dns) {
		argv[k++] = dns_arg;
		n_extra++;
	}
	for (size_t i = 0; extra && i < extra->n && n_extra < AGENT_MAX_EXTRA_ARGS; i++, n_extra++)
		argv[k++] = (char *)extra->v[i];
	argv[k] = NULL;
	return k;
}

pid_t agent_embedded_start(const struct agent_embedded_opts *o)
{
	static char exe[4096];
	char *argv[SUP_MAX_ARGS], host[256] = "", *agent_dir;
	char dns_arg[64 + INET_ADDR_STRLEN], domain_arg[300];
	pid_t parent = getpid(), pid;
	time_t since = time(NULL) - 1;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *dns = o->cluster_dns ? o->cluster_dns : "";

	if (n <= 0 || o->node_ip->n > AGENT_MAX_NODE_IPS) {
		log_error("cannot start the embedded agent: %s",
			  n <= 0 ? "cannot find our own executable" : "too many --node-ip or agent arguments");
		return n <= 0 ? -errno : -EINVAL;
	}
	exe[n] = 0;
	/* the agent flags' environment defaults */
	if (o->disable_proxy)
		setenv("K1S_DISABLE_PROXY", "1", 1);
	if (o->cluster_cidr)
		setenv("K1S_CLUSTER_CIDR", o->cluster_cidr, 1);
	agent_host_name(host, sizeof(host));
	agent_dir = xasprintf("%s/agent", o->data_dir);
	snprintf(dns_arg, sizeof(dns_arg), "--cluster-dns=%.*s", (int)strcspn(dns, ","), dns);
	snprintf(domain_arg, sizeof(domain_arg), "--cluster-domain=%s",
		 o->cluster_domain ? o->cluster_domain : "");
	embedded_argv(o, exe, host, agent_dir, dns_arg, domain_arg, argv);
	pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_term };

		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
		_exit(supervise(argv, o->kubeconfig, since));
	}
	if (pid < 0)
		log_error("cannot start the embedded agent: %s", strerror(errno));
	free(agent_dir);
	return pid < 0 ? -errno : pid;
}

void agent_embedded_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}
