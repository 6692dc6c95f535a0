/*
 * k1s agent - flags into an agent_config, then agent_run() (agent/agent.h).
 */
#include "cmd.h"
#include "agent/agent.h"
#include "lib/flags.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_agent(int argc, char **argv)
{
	struct agent_config c;
	char **args = NULL;
	int nargs, r;

	agent_config_init(&c);
	const struct flag flags[] = {
		{ "kubeconfig", FLAG_STR, &c.kubeconfig, "Kubeconfig to reach the API server (required; join tokens come with a later release)", "K1S_KUBECONFIG" },
		{ "node-name", FLAG_STR, &c.node_name, "Node name (default: the host name)", "K1S_NODE_NAME" },
		{ "node-ip", FLAG_LIST, &c.node_ip, "IPv4/IPv6 address of this node (once per family)", NULL },
		{ "node-label", FLAG_LIST, &c.node_label, "Label key=value registered with the node (e.g. topology.kubernetes.io/zone=z1)", NULL },
		{ "node-taint", FLAG_LIST, &c.node_taint, "Taint key[=value]:Effect registered with the node", NULL },
		{ "data-dir", FLAG_STR, &c.data_dir, "Folder to hold state (default /var/lib/k1s/agent)", NULL },
		{ "d", FLAG_STR, &c.data_dir, "Same as --data-dir", NULL },
		{ "eviction-hard", FLAG_STR, &c.eviction_hard, "Pressure thresholds (default " AGENT_DEFAULT_EVICTION_HARD ")", NULL },
		{ "control-plane", FLAG_BOOL, &c.control_plane, "Label the node node-role.kubernetes.io/control-plane (set by k1s server)", NULL },
		{ "lease-renew-interval", FLAG_INT, &c.lease_renew_ms, "Lease renew interval in ms (tests; default 10000)", NULL },
		{ "node-status-check-interval", FLAG_INT, &c.check_ms, "Condition check interval in ms (tests; default 10000)", NULL },
		{ "kubelet-port", FLAG_INT, &c.kubelet_port, "Port of the kubelet API, 0 disables it (default 10250)", NULL },
		{ "kubelet-cert", FLAG_STR, &c.kubelet_cert, "Kubelet API serving certificate (default <data-dir>/pki/kubelet.crt)", NULL },
		{ "kubelet-key", FLAG_STR, &c.kubelet_key, "Its key (default <data-dir>/pki/kubelet.key)", NULL },
		{ "kubelet-client-ca", FLAG_STR, &c.kubelet_client_ca, "CA of accepted client certificates (default <data-dir>/pki/client-ca.crt)", NULL },
		{ "cluster-dns", FLAG_STR, &c.cluster_dns, "Cluster DNS address written to pods' resolv.conf (default 10.43.0.10)", NULL },
		{ "cluster-domain", FLAG_STR, &c.cluster_domain, "Cluster domain (default cluster.local)", NULL },
		{ "runc-root", FLAG_STR, &c.runc_root, "runc state directory (default /run/k1s/runc)", NULL },
		{ "cgroup-parent", FLAG_STR, &c.cgroup_parent, "Parent cgroup of the containers (default /k1s)", NULL },
		{ "pod-backoff-min", FLAG_INT, &c.pod_backoff_ms, "First crash-loop back-off in ms (tests; default 10000)", NULL },
		{ "disable-pods", FLAG_BOOL, &c.disable_pods, "Register the node but run no pods", NULL },
		FLAG_END,
	};

	r = cmd_parse_flags("agent", "k1s agent --kubeconfig FILE [flags]", flags, argc, argv, &args, &nargs);
	if (r >= 0) {
		agent_config_release(&c);
		return r;
	}
	free(args);
	if (nargs) {
		fprintf(stderr, "error: agent: unexpected argument\n");
		agent_config_release(&c);
		return 2;
	}
	if (!c.kubeconfig) {
		fprintf(stderr, "error: agent: --kubeconfig is required\n");
		agent_config_release(&c);
		return 2;
	}
	if (c.lease_renew_ms < 0 || c.check_ms < 0 || c.pod_backoff_ms < 0) {
		fprintf(stderr, "error: agent: intervals must be positive\n");
		agent_config_release(&c);
		return 2;
	}
	r = agent_run(&c);
	agent_config_release(&c);
	return r;
}
