/*
 * k1s server - flags (k3s-compatible where k3s has the flag) into a
 * server_config, then server_run().
 */
#include "cmd.h"
#include "lib/flags.h"
#include "lib/timefmt.h"
#include "server/server.h"
#include "agent/agent.h"
#include "lib/inet.h"

#include <string.h>

#include <stdio.h>
#include <stdlib.h>

int cmd_server(int argc, char **argv)
{
	struct server_config c;
	const char *config_file = NULL;
	char **args = NULL;
	int nargs, r;

	struct flag_list agent_args = { 0 };

	server_config_init(&c);
	const struct flag flags[] = {
		{ "config", FLAG_STR, &config_file, "YAML file of flag values (default /etc/k1s/config.yaml when present)", "K1S_CONFIG_FILE" },
		{ "data-dir", FLAG_STR, &c.data_dir, "Folder to hold state (default /var/lib/k1s)", "K1S_DATA_DIR" },
		{ "d", FLAG_STR, &c.data_dir, "Same as --data-dir", NULL },
		{ "https-listen-port", FLAG_INT, &c.https_port, "HTTPS listen port (default 6443)", NULL },
		{ "bind-address", FLAG_STR, &c.bind_address, "Address to listen on (default: all IPv4 and IPv6)", NULL },
		{ "tls-san", FLAG_LIST, &c.tls_san, "Add an additional hostname or IP as a Subject Alternative Name", NULL },
		{ "node-ip", FLAG_LIST, &c.node_ip, "IPv4/IPv6 address of this node", NULL },
		{ "write-kubeconfig", FLAG_STR, &c.write_kubeconfig, "Write the admin kubeconfig to this file (default /etc/k1s/k1s.yaml)", "K1S_KUBECONFIG_OUTPUT" },
		{ "o", FLAG_STR, &c.write_kubeconfig, "Same as --write-kubeconfig", NULL },
		{ "write-kubeconfig-mode", FLAG_STR, &c.write_kubeconfig_mode, "Mode of the kubeconfig file (default 0600)", "K1S_KUBECONFIG_MODE" },
		{ "token-auth-file", FLAG_STR, &c.token_auth_file, "Static bearer tokens (token,user,uid,\"groups\")", NULL },
		{ "token", FLAG_STR, &c.token, "Join secret agents present (default: generated once, kept in <data-dir>/server/token)", "K1S_TOKEN" },
		{ "cluster-cidr", FLAG_STR, &c.cluster_cidr, "Pod CIDRs (default 10.42.0.0/16,fd42::/56)", NULL },
		{ "node-cidr-mask-size-ipv4", FLAG_INT, &c.node_cidr_mask_v4, "Prefix length of each node's IPv4 pod CIDR (default 24)", NULL },
		{ "node-cidr-mask-size-ipv6", FLAG_INT, &c.node_cidr_mask_v6, "Prefix length of each node's IPv6 pod CIDR (default 64)", NULL },
		{ "service-cidr", FLAG_STR, &c.service_cidr, "Service CIDRs (default 10.43.0.0/16,fd43::/112)", NULL },
		{ "history-events", FLAG_INT, &c.history_events, "Revisions of history kept for watches and paged lists (default 10000)", NULL },
		{ "history-seconds", FLAG_INT, &c.history_seconds, "Age of history kept for watches and paged lists (default 300)", NULL },
		{ "service-node-port-range", FLAG_STR, &c.node_port_range, "Port range for NodePort services (default 30000-32767)", NULL },
		{ "keep-removed-manifests", FLAG_BOOL, &c.keep_removed_manifests, "Keep the objects of files removed from <data-dir>/server/manifests", NULL },
		{ "agent-arg", FLAG_LIST, &agent_args, "Extra argument for the embedded agent (repeatable, e.g. --agent-arg=--runc-root=/run/x)", NULL },
		{ "disable-agent", FLAG_BOOL, &c.disable_agent, "Do not run the embedded agent", NULL },
		{ "disable", FLAG_LIST, &c.disable, "Do not run a packaged component (local-storage)", NULL },
		{ "node-monitor-grace-period", FLAG_STR, &c.node_monitor_grace_period, "How long a node may go without renewing its Lease before it is marked unhealthy (default 40s)", NULL },
		{ "node-eviction-rate", FLAG_STR, &c.node_eviction_rate, "Nodes per second, per zone, whose pods are evicted when nodes go unhealthy (default 0.1)", NULL },
		{ "ready-file", FLAG_STR, &c.ready_file, "Create this file once the API is serving", NULL },
		FLAG_END,
	};

	r = cmd_parse_flags("server", "k1s server [flags]", flags, argc, argv, &args, &nargs);
	if (r >= 0)
		return r;
	if (nargs) {
		fprintf(stderr, "error: server: unexpected argument '%s'\n", args[0]);
		free(args);
		return 2;
	}
	free(args);
	if (c.https_port < 1 || c.https_port > 65535) {
		fprintf(stderr, "error: server: invalid --https-listen-port %lld\n", (long long)c.https_port);
		return 2;
	}
	{
		int64_t ms;
		char *end;
		double rate = strtod(c.node_eviction_rate, &end);

		if (duration_parse_ms(c.node_monitor_grace_period, &ms) || ms <= 0) {
			fprintf(stderr, "error: server: invalid --node-monitor-grace-period '%s'\n",
				c.node_monitor_grace_period);
			return 2;
		}
		if (end == c.node_eviction_rate || *end || rate < 0) {
			fprintf(stderr, "error: server: invalid --node-eviction-rate '%s'\n", c.node_eviction_rate);
			return 2;
		}
	}
	/* embedded agent: a supervised `k1s agent` child (agent/node_embedded.c) */
	/* the cluster DNS is the 10th address of the first service CIDR */
	char dns_arg[64 + INET_ADDR_STRLEN] = "--cluster-dns=10.43.0.10";
	const char *extra[AGENT_MAX_EXTRA_ARGS + 1];
	size_t n_extra = 0;
	{
		char first[INET_PREFIX_STRLEN], ip[INET_ADDR_STRLEN];
		struct inet_prefix svc;
		struct inet_addr a;

		snprintf(first, sizeof(first), "%.*s", (int)strcspn(c.service_cidr, ","), c.service_cidr);
		if (!inet_prefix_parse(first, INET_PREFIX_STRICT, &svc) && !inet_prefix_nth(&svc, 10, &a))
			snprintf(dns_arg, sizeof(dns_arg), "--cluster-dns=%s", inet_addr_format(&a, ip));
	}
	extra[n_extra++] = dns_arg;
	for (size_t i = 0; i < agent_args.n && n_extra < AGENT_MAX_EXTRA_ARGS; i++)
		extra[n_extra++] = agent_args.v[i];
	pid_t agent = c.disable_agent ? -1 :
		agent_embedded_start(c.write_kubeconfig, c.data_dir, &c.node_ip, extra, n_extra);
	r = server_run(&c);
	agent_embedded_stop(agent);
	flag_list_release(&c.tls_san);
	flag_list_release(&c.disable);
	flag_list_release(&c.node_ip);
	flag_list_release(&agent_args);
	return r;
}
