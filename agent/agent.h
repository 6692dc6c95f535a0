/*
 * agent/agent.h - `k1s agent`: the kubelet-lite. This header is the only one
 * of the agent (besides agent/runtime.h) that other modules (cmd/) include.
 *
 * The agent reaches the API only through lib/apiclient.h over HTTPS, whether
 * it runs on another node or embedded in `k1s server` (then as a child
 * process `k1s agent` supervised by agent_embedded_start(), see
 * docs/agent.md for why).
 *
 * What runs today (agent/node*.c):
 *  - registration: creates the Node (or re-uses an existing one with the
 *    same name, keeping its uid) with addresses, capacity/allocatable,
 *    nodeInfo, the well-known labels and the not-ready taint; the taint is
 *    removed by the agent once Ready is posted.
 *  - heartbeat: a Lease kube-node-lease/<node> renewed every
 *    lease_renew_ms; node status conditions (Ready, MemoryPressure,
 *    DiskPressure, PIDPressure) patched on nodes/status when a condition
 *    changes or every status_report_ms.
 *  - pods (agent/pod*.c, agent/pod.h): the pods bound to the node, run
 *    with runc, their network, status and events.
 *  - the service proxy (agent/proxy_run.h: informers feeding proxy/, the
 *    healthCheckNodePort servers), unless cfg.disable_proxy.
 *
 * Lifecycle: agent_new() -> agent_start() on a loop -> agent_stop(done) ->
 * agent_free() after done ran. Errors talking to the API are retried with
 * backoff; they never stop the agent.
 */
#ifndef K1S_AGENT_AGENT_H
#define K1S_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "lib/flags.h"

/* Upstream kubelet values. */
#define AGENT_MAX_PODS 110
#define AGENT_LEASE_DURATION_S 40
#define AGENT_LEASE_RENEW_MS 10000
#define AGENT_STATUS_REPORT_MS (5 * 60 * 1000)
/* How often conditions are re-evaluated (cheap: /proc, statvfs), in ms. */
#define AGENT_CHECK_MS 10000
/* Pods, proxy, overlay, DNS... start once the node is Ready, or this long
 * after the agent starts if it is not Ready by then (agent__start_rest). */
#define AGENT_REST_START_MS 1000
#define AGENT_DEFAULT_EVICTION_HARD "memory.available<100Mi,nodefs.available<10%,pid.available<5%"
/* Node IPs / labels / taints accepted on the command line. */
#define AGENT_MAX_NODE_IPS 2
#define AGENT_MAX_LABELS 64
#define AGENT_MAX_TAINTS 32
/* Extra arguments `k1s server` passes to its embedded agent. */
#define AGENT_MAX_EXTRA_ARGS 32
/* Pod CIDRs of the cluster (the server's --cluster-cidr default). */
#define AGENT_DEFAULT_CLUSTER_CIDR "10.42.0.0/16,fd42::/56"

struct agent_config {
	const char *kubeconfig;		/* required */
	const char *node_name;		/* NULL: hostname (lowercased) */
	struct flag_list node_ip;	/* "10.0.0.2", "fd00::2": at most one per family */
	struct flag_list node_label;	/* "key=value" */
	struct flag_list node_taint;	/* "key=value:Effect" or "key:Effect" */
	const char *data_dir;		/* default /var/lib/k1s/agent */
	const char *eviction_hard;	/* default AGENT_DEFAULT_EVICTION_HARD */
	bool control_plane;		/* label node-role.kubernetes.io/control-plane */
	int64_t lease_renew_ms;		/* 0: AGENT_LEASE_RENEW_MS (tests lower it) */
	int64_t status_report_ms;	/* 0: AGENT_STATUS_REPORT_MS */
	int64_t check_ms;		/* 0: AGENT_CHECK_MS */
	const char *join_server;	/* joined with a token: renew certificates from it */
	int64_t cert_renew_days;	/* renew with this many days left (default 30) */
	int64_t cert_check_ms;		/* how often to look (default 12 h) */
	/* kubelet API (agent/kubelet.h): port 0 disables it; files default to
	 * <data_dir>/pki/kubelet.{crt,key} and <data_dir>/pki/client-ca.crt */
	int64_t kubelet_port;		/* default 10250 */
	const char *kubelet_cert, *kubelet_key, *kubelet_client_ca;
	/* pods (agent/pod.h) */
	const char *cluster_dns;	/* resolv.conf nameserver; NULL: 10.43.0.10 */
	const char *cluster_domain;	/* NULL: cluster.local */
	const char *runc_root;		/* NULL: /run/k1s/runc */
	const char *cgroup_parent;	/* NULL: /k1s */
	int64_t pod_backoff_ms;		/* first crash back-off; 0: 10 s (tests lower it) */
	bool disable_pods;		/* node only, no pod workers */
	bool disable_proxy;		/* do not run the service proxy (agent/proxy_run.c) */
	const char *cluster_cidr;	/* pod CIDRs for the proxy; NULL: 10.42.0.0/16,fd42::/56 */
	/* node-to-node network (agent/overlay.h, docs/network.md) */
	const char *network_backend;	/* "vxlan" (NULL), "host-gw" or "none" */
	const char *network_iface;	/* uplink; NULL: the node IP's / default route's */
	int64_t vxlan_vni;		/* 0: NET_OVERLAY_VNI (1) */
	int64_t vxlan_port;		/* 0: NET_VXLAN_PORT (8472) */
	int64_t network_resync_ms;	/* 0: OVERLAY_RESYNC_MS (tests lower it) */
	/* cluster DNS (agent/dns_run.h); it also answers on cluster_dns */
	const char *resolv_conf;	/* DNS upstreams; NULL: /etc/resolv.conf */
	bool disable_dns;		/* no node-local cluster DNS */
	/* local volumes (agent/storage.h, docs/storage.md) */
	const char *storage_backend;	/* "auto" (NULL), "btrfs" or "dir" */
	const char *storage_pool_size;	/* quantity: bytes of the pool image; NULL: 10Gi */
	int64_t dns_metrics_port;	/* Prometheus text; default 9153, 0: off */
};

/* Fills defaults (all zero/NULL except data_dir and eviction_hard). */
void agent_config_init(struct agent_config *c);
void agent_config_release(struct agent_config *c);

struct agent;

/*
 * Validates cfg (copied; its strings must outlive the agent) and builds
 * an agent. 0, or -EINVAL with a malloc'd message in *err.
 */
int agent_new(const struct agent_config *cfg, struct agent **out, char **err);
/* Loads the kubeconfig and starts registration + heartbeat on loop. */
int agent_start(struct agent *a, uv_loop_t *loop, char **err);
/* Stops timers and requests; done(data) runs once everything is closed. */
void agent_stop(struct agent *a, void (*done)(void *data), void *data);
void agent_free(struct agent *a);
/* The node name in use. */
const char *agent_node_name(const struct agent *a);

/* Runs an agent on its own loop until SIGTERM/SIGINT; exit status. */
int agent_run(const struct agent_config *cfg);

/* The lowercased host name (the default node name) into buf. */
void agent_host_name(char *buf, size_t size);

/* What `k1s server` hands its embedded agent; strings outlive the call. */
struct agent_embedded_opts {
	const char *kubeconfig;		/* the server's admin kubeconfig */
	const char *data_dir;		/* the server's; the agent gets <data_dir>/agent */
	const struct flag_list *node_ip;	/* --node-ip, at most AGENT_MAX_NODE_IPS */
	const char *cluster_dns;	/* "IP[,IP]": the first becomes --cluster-dns; "" none */
	const char *cluster_domain;	/* --cluster-domain; NULL: the agent's default */
	const char *cluster_cidr;	/* K1S_CLUSTER_CIDR in the environment; NULL: unset */
	bool disable_proxy;		/* K1S_DISABLE_PROXY=1 in the environment */
	const struct flag_list *extra;	/* --agent-arg values; beyond AGENT_MAX_EXTRA_ARGS
					 * arguments in all, the rest are dropped */
};

/*
 * For `k1s server`: sets the agent flags' environment defaults
 * (K1S_DISABLE_PROXY, K1S_CLUSTER_CIDR) and forks a supervisor process that
 * runs `<self> agent --kubeconfig kubeconfig --node-name NAME --control-plane
 *  --data-dir DATA_DIR/agent [--node-ip IP...] [--cluster-domain D]
 *  [--cluster-dns IP] [extra...]` once the kubeconfig exists, restarts it
 * (with backoff) when it dies, and stops it when the supervisor gets SIGTERM
 * or its parent dies. Returns the supervisor pid or -errno.
 */
pid_t agent_embedded_start(const struct agent_embedded_opts *o);
/* SIGTERM to the supervisor and waits for it. */
void agent_embedded_stop(pid_t pid);

#endif
