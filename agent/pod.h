/*
 * agent/pod.h - the pod workers of the kubelet-lite: they run the pods bound
 * to this node (spec.nodeName) with the runtime layer (agent/runtime.h),
 * images (images/images.h), the pod network (net/net.h), volumes and env
 * (agent/volume.h) and probes (agent/probe.h), and write the pods' status.
 *
 * Conventions (other parts of the agent, the kubelet API and tests rely on
 * them; see also docs/agent.md):
 *   <data>          the agent's --data-dir (embedded agent:
 *                   <server-data-dir>/agent)
 *   runtime state   <data>/containers (struct rt state_dir); runc --root
 *                   /run/k1s/runc; container cgroups under /k1s
 *   pod directory   <data>/pods/<pod-uid>/
 *                     volumes/<volume-name>/   (agent/volume.h)
 *                     etc-hosts, hostname, resolv.conf
 *                     ctr/<name>_<attempt>/    overlay upper, work, rootfs
 *                     termination/<name>_<attempt>  terminationMessagePath
 *   sandbox id      <pod-uid>
 *   container id    <pod-uid>_<container-name>_<attempt>, attempt = the
 *                   container's restartCount when it was created (0, 1, ...);
 *                   ephemeral containers the same with their name
 *   container log   <data>/logs/pods/<namespace>_<pod-name>_<pod-uid>/
 *                   <container-name>/<attempt>.log (CRI format, written by the
 *                   shim); the "previous" log is attempt-1
 *   pod netns       rt_sandbox_ns_path(rt, uid, RT_NS_NET, &path)
 *   images          the store of images/images.h: <data>/images when <data>
 *                   ends in "/agent" (the default layout), else
 *                   <data>/agent/images; its import/ is imported at start
 *   pod network     bridge "k1s0" holding the gateway (.1 / ::1) of each of
 *                   the node's spec.podCIDRs; IPAM state in <data>/ipam
 *
 * Threads: everything here runs on the agent's loop; blocking runtime,
 * image and netlink calls go to the libuv thread pool (uv_queue_work), at
 * most one at a time per pod.
 */
#ifndef K1S_AGENT_POD_H
#define K1S_AGENT_POD_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct api_client;
struct pod_manager;

/* Upstream kubelet values. */
#define POD_BACKOFF_MIN_MS 10000		/* first crash-loop back-off */
#define POD_BACKOFF_MAX_MS (5 * 60 * 1000)	/* back-off cap */
#define POD_BACKOFF_RESET_MS (10 * 60 * 1000)	/* ran this long: back-off resets */
#define POD_DEFAULT_GRACE_S 30
#define POD_SERVICE_CIDR "10.43.0.0/16"		/* default; its 10th address is the cluster DNS */
#define POD_CLUSTER_DOMAIN "cluster.local"
#define POD_BRIDGE "k1s0"
#define POD_MAX_CONTAINERS 64			/* per pod, init + app + ephemeral */

struct pod_config {
	uv_loop_t *loop;
	struct api_client *api;		/* not owned */
	const char *node_name;
	const char *data_dir;		/* <data> above */
	const char *const *node_ips;	/* the node's InternalIPs, one per family */
	size_t n_node_ips;
	const char *cluster_dns;	/* NULL: 10th address of POD_SERVICE_CIDR */
	const char *cluster_domain;	/* NULL: POD_CLUSTER_DOMAIN */
	const char *resolv_conf;	/* the node's, for dnsPolicy Default; NULL: /etc/resolv.conf */
	const char *runc;		/* NULL: "runc" from PATH */
	const char *runc_root;		/* NULL: /run/k1s/runc */
	const char *cgroup_parent;	/* NULL: /k1s */
	unsigned backoff_min_ms;	/* 0: POD_BACKOFF_MIN_MS (tests lower it) */
};

/*
 * Builds the manager (copies cfg's strings), opens the image store and
 * imports <images>/import. 0 or -errno with a malloc'd *err.
 */
int pod_manager_new(const struct pod_config *cfg, struct pod_manager **out, char **err);
/* The MTU of pods' eth0 from now on (the overlay's: uplink minus its
 * overhead); pods created before keep theirs. Any thread. */
void pod_manager_set_mtu(struct pod_manager *pm, unsigned mtu);
/*
 * Starts the pod informer (fieldSelector spec.nodeName=<node>) and the
 * node watch that brings the podCIDRs; re-adopts what the runtime state
 * holds. Called once the node is registered.
 */
int pod_manager_start(struct pod_manager *pm);
/* Stops informers, timers and requests; running containers are left alone
 * (a restarted agent re-adopts them). done(data) runs when all is closed. */
void pod_manager_stop(struct pod_manager *pm, void (*done)(void *data), void *data);
void pod_manager_free(struct pod_manager *pm);

/*
 * Runtime id of ns/pod's container (previous: the attempt before the current
 * one) and its log path, both malloc'd. -ENOENT when unknown. Works for
 * ephemeral containers too.
 */
int pod_find_container(struct pod_manager *pm, const char *ns, const char *pod,
		       const char *container, bool previous, char **ctr_id, char **log_path);

#endif
