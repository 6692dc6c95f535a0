/*
 * k1s agent - flags into an agent_config, then agent_run() (agent/agent.h).
 */
#include "cmd.h"
#include "agent/agent.h"
#include "agent/join.h"
#include "lib/flags.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_agent(int argc, char **argv)
{
	struct agent_config c;
	const char *config_file = NULL;
	const char *server = NULL, *token = NULL, *token_file = NULL;
	char **args = NULL, *kubeconfig = NULL, *err = NULL;
	int nargs, r;

	agent_config_init(&c);
	const struct flag flags[] = {
		{ "config", FLAG_STR, &config_file, "YAML file of flag values (default /etc/k1s/config.yaml when present)", "K1S_CONFIG_FILE" },
		{ "server", FLAG_STR, &server, "Server to join, https://HOST:6443 (with --token)", "K1S_URL" },
		{ "s", FLAG_STR, &server, "Same as --server", NULL },
		{ "token", FLAG_STR, &token, "Join token (<data-dir>/server/token on the server, or `k1s token create`)", "K1S_TOKEN" },
		{ "t", FLAG_STR, &token, "Same as --token", NULL },
		{ "token-file", FLAG_STR, &token_file, "File holding the join token", "K1S_TOKEN_FILE" },
		{ "cert-renew-days", FLAG_INT, &c.cert_renew_days, "Renew the node certificates with this many days left (default 30)", NULL },
		{ "cert-check-interval", FLAG_INT, &c.cert_check_ms, "How often to check the certificates, in ms (default 12 h)", NULL },
		{ "kubeconfig", FLAG_STR, &c.kubeconfig, "Kubeconfig to reach the API server (instead of --server/--token)", "K1S_KUBECONFIG" },
		{ "node-name", FLAG_STR, &c.node_name, "Node name (default: the host name)", "K1S_NODE_NAME" },
		{ "node-ip", FLAG_LIST, &c.node_ip, "IPv4/IPv6 address of this node (once per family)", NULL },
		{ "node-label", FLAG_LIST, &c.node_label, "Label key=value registered with the node (e.g. topology.kubernetes.io/zone=z1)", NULL },
		{ "node-taint", FLAG_LIST, &c.node_taint, "Taint key[=value]:Effect registered with the node", NULL },
		{ "data-dir", FLAG_STR, &c.data_dir, "Folder to hold state (default /var/lib/k1s/agent)", "K1S_DATA_DIR" },
		{ "d", FLAG_STR, &c.data_dir, "Same as --data-dir", NULL },
		{ "eviction-hard", FLAG_STR, &c.eviction_hard, "Pressure thresholds (default " AGENT_DEFAULT_EVICTION_HARD ")", NULL },
		{ "control-plane", FLAG_BOOL, &c.control_plane, "Label the node node-role.kubernetes.io/control-plane (set by k1s server)", NULL },
		{ "lease-renew-interval", FLAG_INT, &c.lease_renew_ms, "Lease renew interval in ms (tests; default 10000)", NULL },
		{ "disable-proxy", FLAG_BOOL, &c.disable_proxy, "Do not run the service proxy (nftables)", "K1S_DISABLE_PROXY" },
		{ "cluster-cidr", FLAG_STR, &c.cluster_cidr, "Pod CIDRs of the cluster, as given to the server (default " AGENT_DEFAULT_CLUSTER_CIDR ")", "K1S_CLUSTER_CIDR" },
		{ "resolv-conf", FLAG_STR, &c.resolv_conf, "Upstream nameservers for the cluster DNS (default /etc/resolv.conf)", "K1S_RESOLV_CONF" },
		{ "dns-metrics-port", FLAG_INT, &c.dns_metrics_port, "Port of the cluster DNS's Prometheus metrics on loopback and the DNS addresses, 0 disables it (default 9153)", NULL },
		{ "disable-dns", FLAG_BOOL, &c.disable_dns, "Do not serve the node-local cluster DNS", "K1S_DISABLE_DNS" },
		{ "node-status-check-interval", FLAG_INT, &c.check_ms, "Condition check interval in ms (tests; default 10000)", NULL },
		{ "cluster-dns", FLAG_STR, &c.cluster_dns, "Cluster DNS address written to pods' resolv.conf; the node's DNS answers on it and on the kube-dns Service IPs (default 10.43.0.10)", NULL },
		{ "kubelet-port", FLAG_INT, &c.kubelet_port, "Port of the kubelet API, 0 disables it (default 10250)", NULL },
		{ "kubelet-cert", FLAG_STR, &c.kubelet_cert, "Kubelet API serving certificate (default <data-dir>/pki/kubelet.crt)", NULL },
		{ "kubelet-key", FLAG_STR, &c.kubelet_key, "Its key (default <data-dir>/pki/kubelet.key)", NULL },
		{ "kubelet-client-ca", FLAG_STR, &c.kubelet_client_ca, "CA of accepted client certificates (default <data-dir>/pki/client-ca.crt)", NULL },
		{ "cluster-domain", FLAG_STR, &c.cluster_domain, "Cluster domain (default cluster.local)", NULL },
		{ "runc-root", FLAG_STR, &c.runc_root, "runc state directory (default /run/k1s/runc)", NULL },
		{ "cgroup-parent", FLAG_STR, &c.cgroup_parent, "Parent cgroup of the containers (default /k1s)", NULL },
		{ "pod-backoff-min", FLAG_INT, &c.pod_backoff_ms, "First crash-loop back-off in ms (tests; default 10000)", NULL },
		{ "disable-pods", FLAG_BOOL, &c.disable_pods, "Register the node but run no pods", NULL },
		{ "network-backend", FLAG_STR, &c.network_backend, "Node-to-node pod network: vxlan (default), host-gw or none", NULL },
		{ "network-iface", FLAG_STR, &c.network_iface, "Interface carrying node-to-node traffic (default: the node IP's, else the default route's)", NULL },
		{ "vxlan-vni", FLAG_INT, &c.vxlan_vni, "VXLAN id (default 1)", NULL },
		{ "vxlan-port", FLAG_INT, &c.vxlan_port, "VXLAN UDP port (default 8472)", NULL },
		{ "network-resync-interval", FLAG_INT, &c.network_resync_ms, "Full network resync interval in ms (tests; default 30000)", NULL },
		{ "storage-backend", FLAG_STR, &c.storage_backend, "Local volumes: auto (default: btrfs when possible, else plain directories), btrfs or dir", "K1S_STORAGE_BACKEND" },
		{ "storage-pool-size", FLAG_STR, &c.storage_pool_size, "Size of the sparse btrfs pool image made when <data-dir> is not on btrfs (default 10Gi)", "K1S_STORAGE_POOL_SIZE" },
		FLAG_END,
	};

	r = cmd_parse_flags("agent", "k1s agent --server URL --token TOKEN [flags]  |  k1s agent --kubeconfig FILE [flags]", flags, argc, argv, &args, &nargs);
	if (r >= 0)
		goto out;
	free(args);
	r = 2;
	if (nargs) {
		fprintf(stderr, "error: agent: unexpected argument\n");
		goto out;
	}
	if (!c.kubeconfig && !server) {
		fprintf(stderr, "error: agent: give --server and --token (or --kubeconfig)\n");
		goto out;
	}
	if (!c.kubeconfig && agent_join_from_flags(&c, server, token, token_file, &kubeconfig, &err)) {
		fprintf(stderr, "error: agent: %s\n", err);
		r = 1;
		goto out;
	}
	if (c.lease_renew_ms < 0 || c.check_ms < 0 || c.cert_check_ms <= 0 || c.cert_renew_days < 0 ||
	    c.pod_backoff_ms < 0) {
		fprintf(stderr, "error: agent: intervals must be positive\n");
		goto out;
	}
	r = agent_run(&c);
out:
	agent_config_release(&c);
	free(kubeconfig);
	free(err);
	return r;
}
