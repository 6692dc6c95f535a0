/*
 * k1s server - flags (k3s-compatible where k3s has the flag) into a
 * server_config, then server_run().
 */
#include "cmd.h"
#include "lib/flags.h"
#include "server/server.h"
#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_server(int argc, char **argv)
{
	struct server_config c;
	char **args = NULL, dns[128];
	int nargs, r;

	server_config_init(&c);
	const struct flag flags[] = {
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
		{ "cluster-cidr", FLAG_STR, &c.cluster_cidr, "Pod CIDRs (default 10.42.0.0/16,fd42::/56)", NULL },
		{ "service-cidr", FLAG_STR, &c.service_cidr, "Service CIDRs (default 10.43.0.0/16,fd43::/112)", NULL },
		{ "cluster-dns", FLAG_STR, &c.cluster_dns, "Cluster DNS service IPs, or none (default: the 10th address of each --service-cidr, 10.43.0.10,fd43::a)", "K1S_CLUSTER_DNS" },
		{ "cluster-domain", FLAG_STR, &c.cluster_domain, "Cluster domain (default cluster.local)", "K1S_CLUSTER_DOMAIN" },
		{ "history-events", FLAG_INT, &c.history_events, "Revisions of history kept for watches and paged lists (default 10000)", NULL },
		{ "history-seconds", FLAG_INT, &c.history_seconds, "Age of history kept for watches and paged lists (default 300)", NULL },
		{ "service-node-port-range", FLAG_STR, &c.node_port_range, "Port range for NodePort services (default 30000-32767)", NULL },
		{ "disable-agent", FLAG_BOOL, &c.disable_agent, "Do not run the embedded agent", NULL },
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
	if (server_cluster_dns(&c, dns, sizeof(dns))) {
		fprintf(stderr, "error: server: invalid --cluster-dns or --service-cidr\n");
		return 2;
	}
	c.cluster_dns = dns;
	/* the embedded agent answers on the same addresses, for the same domain */
	setenv("K1S_CLUSTER_DNS", dns, 1);
	if (c.cluster_domain)
		setenv("K1S_CLUSTER_DOMAIN", c.cluster_domain, 1);
	/* embedded agent: a supervised `k1s agent` child (agent/node_embedded.c) */
	pid_t agent = c.disable_agent ? -1 :
		agent_embedded_start(c.write_kubeconfig, c.data_dir, &c.node_ip);
	r = server_run(&c);
	agent_embedded_stop(agent);
	flag_list_release(&c.tls_san);
	flag_list_release(&c.node_ip);
	return r;
}
