/*
 * server/controllers/ctrl_priv.h - shared state of the built-in
 * controllers. One manager per process (there is one API server); it owns
 * the cache and one work queue per controller.
 */
#ifndef K1S_SERVER_CONTROLLERS_PRIV_H
#define K1S_SERVER_CONTROLLERS_PRIV_H

#include "controllers.h"

struct ctrl_manager {
	struct apiserver *srv;
	struct cache cache;
	struct cache_store *pods, *rs, *deploy, *svcs, *slices, *nodes;
	struct cache_store *leases;	/* kube-node-lease (node lifecycle) */
	struct wq gc_q, rs_q, deploy_q, eps_q, nodeipam_q;
	struct wq slb_q, ep_q, mirror_q;	/* servicelb.c, endpoints.c */
	struct cache_store *endpoints;
	bool slb_on;
	struct cache_store *daemonsets, *jobs, *cronjobs, *statefulsets, *rcs, *pdbs, *namespaces;
	struct cache_store *revisions;	/* controllerrevisions (history.c) */
	bool started;
};

/* Each registers its cache handlers and initializes its queue. */
void gc__start(struct ctrl_manager *m);
void rs__start(struct ctrl_manager *m);
void rs__stop(void);
void deploy__start(struct ctrl_manager *m);
void eps__start(struct ctrl_manager *m);
void manifests__start(struct ctrl_manager *m);
void manifests__stop(void);
/* Node IPAM (nodeipam.c): spec.podCIDRs from --cluster-cidr. */
void nodeipam__start(struct ctrl_manager *m);
void nodeipam__stop(void);
/* Pure parts, for tests: parse the pools; the subnet at index i of pool k;
 * the index of a podCIDR in its pool (-1 when outside). */
int nodeipam__parse(const char *cidrs, unsigned mask4, unsigned mask6);
void nodeipam__subnet(size_t k, size_t i, char *buf);
long nodeipam__index(const char *cidr);
void sched__start(struct ctrl_manager *m);
void sched__stop(void);
/* Pods the scheduler bound since start. */
uint64_t sched__bound(void);
/* Unschedulable pods are tried again soon (a claim changed). */
void sched__retry(void);
void nlc__start(struct ctrl_manager *m);	/* nodelifecycle.c */
void nlc__stop(void);
void tev__start(struct ctrl_manager *m);	/* taintevict.c */
#include "pv.h"	/* pv__start, pv__stop */
void tev__stop(void);
void ds__start(struct ctrl_manager *m);	/* daemonset.c */
void ds__stop(void);
void job__start(struct ctrl_manager *m);	/* job.c */
void job__stop(void);
void pdb__start(struct ctrl_manager *m);	/* disruption.c */
void pdb__stop(void);
void cj__start(struct ctrl_manager *m);	/* cronjob.c */
void cj__stop(void);
void sts__start(struct ctrl_manager *m);	/* statefulset.c */
void sts__stop(void);
void eventttl__start(struct ctrl_manager *m);	/* eventttl.c */
void eventttl__stop(void);
void ns__start(struct ctrl_manager *m);	/* namespace.c */
void ns__stop(void);
/* Pods the taint eviction deleted since start. */
uint64_t tev__evicted(void);
/* ServiceLB (servicelb.c): -EINVAL on a bad --lb-pool. */
int slb__start(struct ctrl_manager *m);
void slb__stop(void);
/* Endpoints controller and EndpointSlice mirroring (endpoints.c). */
void ep__start(struct ctrl_manager *m);

#define SLB_FINALIZER "service.kubernetes.io/load-balancer-cleanup"
#define SLB_CLASS "k1s.io/servicelb"	/* the loadBalancerClass ServiceLB answers besides none */
/* Parses --lb-pool ("10.99.0.0/30,fd99::10-fd99::1f"); 0 or -EINVAL. */
int slb_pool_parse(const char *list);

/* Splits "ns/name" into ns (may be "") and name; returns name. ns has
 * ROUTE_SEG_MAX bytes. */
const char *ctrl__split_key(const char *key, char *ns, size_t ns_size);
/* Writes obj's metadata.ownerReferences and metadata.finalizers (absent =
 * removed) with a merge patch, conditional on its resourceVersion: cached
 * objects are pruned, so controllers never PUT them whole. */
void ctrl__patch_meta(struct apiserver *s, const char *group, const char *plural,
		      const cJSON *obj, struct ctrl_batch *b);
/* metadata.<key> of obj as a string ("" when absent). Borrowed. */
const char *ctrl__mstr(const cJSON *obj, const char *key);
/* The label key of obj, or NULL. Borrowed. */
const char *ctrl__label(const cJSON *obj, const char *key);
/* A controller ownerReference (blockOwnerDeletion) to owner; caller frees. */
cJSON *ctrl__owner_ref(const cJSON *owner);
/* The condition of that type in obj's status.conditions (a pod's, a
 * node's...), or NULL. Borrowed from obj. */
const cJSON *ctrl__condition(const cJSON *obj, const char *type);
/* True when obj's (a pod's or a node's) Ready condition is True. */
bool ctrl__ready(const cJSON *obj);
/* True when the pod's Ready condition is True. */
bool ctrl__pod_ready(const cJSON *pod);

/* Events: forgets remembered events (shutdown). */
void ctrl__events_release(void);

#define ANN_REVISION "deployment.kubernetes.io/revision"
#define LABEL_TEMPLATE_HASH "pod-template-hash"

/* ---- EndpointSlice controller (endpointslice.c): the pure parts ---- */

#define EPS_MAX_ENDPOINTS 100	/* per slice by default (--max-endpoints-per-slice) */
#define EPS_CONTROLLER "endpointslice-controller.k8s.io"
#define EPS_LABEL_SERVICE "kubernetes.io/service-name"
#define EPS_LABEL_MANAGED_BY "endpointslice.kubernetes.io/managed-by"
#define EPS_LABEL_HEADLESS "service.kubernetes.io/headless"
#define EPS_ANN_TRIGGER "endpoints.kubernetes.io/last-change-trigger-time"

/* ---- topology hints (topology.c) ---- */

#define EPS_MAX_ZONES 16
/* Allocatable CPU per zone of the Ready non-control-plane nodes. */
struct eps_topology {
	bool bad;			/* a node without zone or CPU: no hints */
	size_t n;
	char zone[EPS_MAX_ZONES][64];
	int64_t cpu[EPS_MAX_ZONES];	/* in millicores */
};
enum eps_hint_mode { EPS_HINTS_NONE, EPS_HINTS_AUTO, EPS_HINTS_PREFER_CLOSE };
enum eps_hint_mode eps_hint_mode(const cJSON *svc);
/* Adds a node (skipped when control-plane or not Ready). */
void eps_topology_add_node(struct eps_topology *t, const cJSON *node);
/* Enough information for Auto: every node has zone and CPU, >= 2 zones. */
bool eps_topology_usable(const struct eps_topology *t);
/* Sets (or clears) hints.forZones on the wanted endpoints eps[] of one
 * family as svc's mode says; prev = the existing slices carry hints.
 * Appends {type, reason, message} objects for the events to emit. */
void eps_hints_apply(const cJSON *svc, const char *family, const struct eps_topology *t,
		     cJSON *const *eps, size_t n, bool prev, cJSON *events);

/* What one reconcile sees; everything borrowed. slices are the Service's
 * managed slices (label service-name and our managed-by), sorted by name. */
struct eps_input {
	const cJSON *svc;
	const cJSON *const *pods;	/* pods its selector matches */
	size_t n_pods;
	const cJSON *const *slices;
	size_t n_slices;
	size_t max_per_slice;		/* endpoints per slice, > 0 */
	const char *now;		/* RFC 3339, for the trigger-time annotation */
	/* the topology zone of a node, or NULL; zone may be NULL */
	const char *(*zone)(const char *node, void *ud);
	void *zone_ud;
	const struct eps_topology *topo;	/* for topology-mode Auto; NULL: none */
};
/* The writes that bring the slices to the wanted state; arrays owned. */
struct eps_plan {
	cJSON *create;	/* new slices (generateName) */
	cJSON *update;	/* whole existing slices, changed, with their resourceVersion */
	cJSON *del;	/* existing slices to delete */
	cJSON *events;	/* {type, reason, message} to record on the Service */
};
void eps_plan_init(struct eps_plan *p);
void eps_plan_compute(const struct eps_input *in, struct eps_plan *plan);
void eps_plan_release(struct eps_plan *p);
/* True when a Service selector (a plain map) is non-empty and matches. */
bool eps_selector_matches(const cJSON *selector, const cJSON *labels);
/* True when the pod has an IP and is not finished for good. */
bool eps_pod_included(const cJSON *pod);
/* The EndpointPorts of svc for pod (named targetPorts resolved from the
 * pod's container ports; unresolvable ones left out). Caller frees. */
cJSON *eps_pod_ports(const cJSON *svc, const cJSON *pod);
/* The endpoint of pod in a slice of family "IPv4"/"IPv6" (zone: of its node,
 * may be NULL), or NULL when the pod has no address of that family. Caller
 * frees. */
cJSON *eps_endpoint(const cJSON *svc, const cJSON *pod, const char *family, const char *zone);
/* The labels of svc's slices. Caller frees. */
cJSON *eps_slice_labels(const cJSON *svc);

#endif
