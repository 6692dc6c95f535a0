/*
 * server/controllers/sched.h - the scheduler's pure parts (sched_filter.c),
 * shared with the node lifecycle and DaemonSet controllers: resource
 * requests, taints and tolerations, node affinity, the filters with
 * upstream's failure reasons, and the "0/N nodes are available" message.
 *
 * Everything here works on borrowed cJSON objects (as the cache keeps them)
 * and allocates nothing the caller must free unless said.
 */
#ifndef K1S_SERVER_CONTROLLERS_SCHED_H
#define K1S_SERVER_CONTROLLERS_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define SCHED_NAME "default-scheduler"
#define TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define TAINT_UNSCHEDULABLE "node.kubernetes.io/unschedulable"
#define TAINT_MEMORY_PRESSURE "node.kubernetes.io/memory-pressure"
#define TAINT_DISK_PRESSURE "node.kubernetes.io/disk-pressure"
#define TAINT_PID_PRESSURE "node.kubernetes.io/pid-pressure"
#define TAINT_NETWORK_UNAVAILABLE "node.kubernetes.io/network-unavailable"
#define LABEL_ZONE "topology.kubernetes.io/zone"

/* Requests the scheduler accounts, in milli-CPU, bytes and pods. */
struct sched_res {
	int64_t cpu_m;		/* milli-CPU */
	int64_t mem;		/* bytes */
	int64_t eph;		/* ephemeral-storage bytes */
	int64_t pods;		/* pod slots */
};

/* A pod's requests: max(sum of containers, largest init container) plus
 * overhead; a container with a limit but no request requests its limit.
 * pods = 1. nonzero: for scoring, containers without a cpu/memory request
 * count upstream's defaults (100m, 200Mi). */
void sched_pod_requests(const cJSON *pod, bool nonzero, struct sched_res *r);
/* status.allocatable (status.capacity when absent); absent amounts 0 (a
 * node without status fits no pod: "Too many pods"). */
void sched_node_allocatable(const cJSON *node, struct sched_res *r);

/* True when the one toleration tol tolerates taint. */
bool sched_toleration_matches(const cJSON *tol, const cJSON *taint);
/* True when one of tolerations (an array, may be NULL) tolerates taint. */
bool sched_tolerates(const cJSON *tolerations, const cJSON *taint);
/* True when tolerations tolerate a taint key:effect with an empty value. */
bool sched_tolerates_key(const cJSON *tolerations, const char *key, const char *effect);
/* The first taint of node with an effect in the mask that pod does not
 * tolerate, or NULL. */
#define SCHED_NOSCHEDULE 1u
#define SCHED_NOEXECUTE 2u
#define SCHED_PREFER 4u
const cJSON *sched_untolerated(const cJSON *pod, const cJSON *node, unsigned effects);
unsigned sched_effect_bit(const char *effect);

/* spec.nodeSelector and required node affinity of pod match node. */
bool sched_node_affinity_matches(const cJSON *pod, const cJSON *node);
/* A NodeSelectorTerm matches node (matchExpressions on labels, matchFields
 * on metadata.name); an empty term matches nothing. */
bool sched_term_matches(const cJSON *term, const cJSON *node);
/* The sum of the weights of the preferred node affinity terms that match. */
int64_t sched_preferred_affinity(const cJSON *pod, const cJSON *node);

/* hostPort conflicts: true when one of pod's host ports (protocol, hostIP,
 * hostPort) is taken by one of used (pods on the node). */
bool sched_ports_conflict(const cJSON *pod, const cJSON *const *used, size_t n_used);

/*
 * Why a node does not fit, one bit per reason, in upstream's filter order
 * (the first failing filter ends the check, except that NodeResourcesFit
 * reports every insufficient resource).
 */
enum sched_fail {
	SF_UNSCHEDULABLE = 1u << 0,	/* node(s) were unschedulable */
	SF_NODE_NAME = 1u << 1,		/* node(s) didn't match the requested node name */
	SF_TAINT = 1u << 2,		/* node(s) had untolerated taint {k: v} */
	SF_AFFINITY = 1u << 3,		/* node(s) didn't match Pod's node affinity/selector */
	SF_PORTS = 1u << 4,		/* node(s) didn't have free ports for the requested pod ports */
	SF_PODS = 1u << 5,		/* Too many pods */
	SF_CPU = 1u << 6,		/* Insufficient cpu */
	SF_MEM = 1u << 7,		/* Insufficient memory */
	SF_EPH = 1u << 8,		/* Insufficient ephemeral-storage */
	SF_VOLUME = 1u << 9,		/* node(s) had volume node affinity conflict */
};
#define SF_RESOLVABLE (SF_PORTS | SF_PODS | SF_CPU | SF_MEM | SF_EPH)

/* What the filters need about a node beyond the Node object. */
struct sched_node_use {
	struct sched_res used;		/* requests of the pods placed there */
	const cJSON *const *pods;	/* those pods (for host ports) */
	size_t n_pods;
};

/* Runs the filters; 0 when node fits, else the SF_* bits. *taint is set to
 * the untolerated taint for SF_TAINT. req = sched_pod_requests(pod, false). */
unsigned sched_filter(const cJSON *pod, const struct sched_res *req, const cJSON *node,
		      const struct sched_node_use *use, const cJSON **taint);

/* Collects failures into the histogram behind upstream's FitError message. */
struct sched_diag {
	size_t n_nodes;
	struct sched_reason {
		char *text;
		size_t count;
	} *reasons;
	size_t n_reasons, alloc;
	size_t n_unresolvable;		/* nodes preemption cannot help */
	size_t n_resolvable;		/* nodes where it found no victims */
};
void sched_diag_add(struct sched_diag *d, unsigned fail, const cJSON *taint);
/* "0/N nodes are available: 1 node(s) ..., 2 Insufficient cpu. preemption:
 * 0/N nodes are available: ..." (or upstream's no-nodes text). Caller frees. */
char *sched_diag_message(const struct sched_diag *d);
void sched_diag_release(struct sched_diag *d);

#endif
