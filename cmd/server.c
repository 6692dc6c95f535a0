/*
 * k1s server - flags (k3s-compatible where k3s has the flag) into a
 * server_config, then server_run().
 */
#include "cmd.h"
#include "lib/flags.h"
#include "lib/timefmt.h"
#include "server/server.h"
#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>

/* Flag values cmd_parse_flags cannot check; 0, or 2 (bad usage) with a
 * message. The cluster DNS addresses go into dns (the default derived
 * from --service-cidr) and c->cluster_dns points at them. */
static int server_flags_check(struct server_config *c, char *dns, size_t dns_size)
{
	int64_t ms;
	char *end;
	double rate = strtod(c->node_eviction_rate, &end);

	if (c->https_port < 1 || c->https_port > 65535) {
		fprintf(stderr, "error: server: invalid --https-listen-port %lld\n", (long long)c->https_port);
		return 2;
	}
	if (duration_parse_ms(c->node_monitor_grace_period, &ms) || ms <= 0) {
		fprintf(stderr, "error: server: invalid --node-monitor-grace-period '%s'\n",
			c->node_monitor_grace_period);
		return 2;
	}
	if (duration_parse_ms(c->event_ttl, &ms) || ms <= 0) {
		fprintf(stderr, "error: server: invalid --event-ttl '%s'\n", c->event_ttl);
		return 2;
	}
	if (end == c->node_eviction_rate || *end || rate < 0) {
		fprintf(stderr, "error: server: invalid --node-eviction-rate '%s'\n", c->node_eviction_rate);
		return 2;
	}
	if (c->max_endpoints_per_slice < 1 || c->max_endpoints_per_slice > 1000) {
		fprintf(stderr, "error: server: --max-endpoints-per-slice must be within 1..1000\n");
		return 2;
	}
	if (server_cluster_dns(c, dns, dns_size)) {
		fprintf(stderr, "error: server: invalid --cluster-dns or --service-cidr\n");
		return 2;
	}
	c->cluster_dns = dns;
	return 0;
}

int cmd_server(int argc, char **argv)
{
	struct server_config c;
	const char *config_file = NULL;
	bool disable_proxy = false;
	const char *storage_backend = NULL, *storage_pool_size = NULL;
	char **args = NULL, dns[128];
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
		{ "cluster-dns", FLAG_STR, &c.cluster_dns, "Cluster DNS service IPs, one per family (default: the 10th address of each --service-cidr, 10.43.0.10,fd43::a)", "K1S_CLUSTER_DNS" },
		{ "cluster-domain", FLAG_STR, &c.cluster_domain, "Cluster domain (default cluster.local)", "K1S_CLUSTER_DOMAIN" },
		{ "history-events", FLAG_INT, &c.history_events, "Revisions of history kept for watches and paged lists (default 10000)", NULL },
		{ "history-seconds", FLAG_INT, &c.history_seconds, "Age of history kept for watches and paged lists (default 300)", NULL },
		{ "service-node-port-range", FLAG_STR, &c.node_port_range, "Port range for NodePort services (default 30000-32767)", NULL },
		{ "keep-removed-manifests", FLAG_BOOL, &c.keep_removed_manifests, "Keep the objects of files removed from <data-dir>/server/manifests", NULL },
		{ "agent-arg", FLAG_LIST, &agent_args, "Extra argument for the embedded agent (repeatable, e.g. --agent-arg=--runc-root=/run/x)", NULL },
		{ "disable-agent", FLAG_BOOL, &c.disable_agent, "Do not run the embedded agent", NULL },
		{ "disable", FLAG_LIST, &c.disable, "Do not run a packaged component: servicelb, local-storage (repeatable)", NULL },
		{ "node-monitor-grace-period", FLAG_STR, &c.node_monitor_grace_period, "How long a node may go without renewing its Lease before it is marked unhealthy (default 40s)", NULL },
		{ "node-eviction-rate", FLAG_STR, &c.node_eviction_rate, "Nodes per second, per zone, whose pods are evicted when nodes go unhealthy (default 0.1)", NULL },
		{ "disable-kube-proxy", FLAG_BOOL, &disable_proxy, "Do not run the service proxy in the embedded agent", NULL },
		{ "storage-backend", FLAG_STR, &storage_backend, "Local volumes of the embedded agent: auto (default), btrfs or dir", NULL },
		{ "storage-pool-size", FLAG_STR, &storage_pool_size, "Size of the embedded agent's sparse btrfs pool image (default 10Gi)", NULL },
		{ "lb-pool", FLAG_STR, &c.lb_pool, "ServiceLB addresses: CIDRs or first-last ranges, both families (default: the nodes' addresses)", NULL },
		{ "max-endpoints-per-slice", FLAG_INT, &c.max_endpoints_per_slice, "Endpoints per EndpointSlice (default 100, at most 1000)", NULL },
		{ "event-ttl", FLAG_STR, &c.event_ttl, "How long Events are kept (default 1h)", NULL },
		{ "ready-file", FLAG_STR, &c.ready_file, "Create this file once the API is serving", NULL },
		FLAG_END,
	};

	r = cmd_parse_flags("server", "k1s server [flags]", flags, argc, argv, &args, &nargs);
	if (r >= 0)
		goto out;
	r = 2;
	if (nargs)
		fprintf(stderr, "error: server: unexpected argument '%s'\n", args[0]);
	free(args);
	if (nargs)
		goto out;
	r = server_flags_check(&c, dns, sizeof(dns));
	if (r)
		goto out;
	/* the embedded agent inherits these (agent flags' environment defaults) */
	if (storage_backend)
		setenv("K1S_STORAGE_BACKEND", storage_backend, 1);
	if (storage_pool_size)
		setenv("K1S_STORAGE_POOL_SIZE", storage_pool_size, 1);
	/* embedded agent: a supervised `k1s agent` child (agent/node_embedded.c) */
	struct agent_embedded_opts ao = {
		.kubeconfig = c.write_kubeconfig, .data_dir = c.data_dir, .node_ip = &c.node_ip,
		.cluster_dns = dns, .cluster_domain = c.cluster_domain, .cluster_cidr = c.cluster_cidr,
		.disable_proxy = disable_proxy, .extra = &agent_args,
	};
	pid_t agent = c.disable_agent ? -1 : agent_embedded_start(&ao);

	r = server_run(&c);
	agent_embedded_stop(agent);
out:
	flag_list_release(&c.tls_san);
	flag_list_release(&c.disable);
	flag_list_release(&c.node_ip);
	flag_list_release(&agent_args);
	return r;
}
