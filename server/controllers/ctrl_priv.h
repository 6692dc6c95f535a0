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
	struct cache_store *pods, *rs, *deploy;
	struct wq gc_q, rs_q, deploy_q;
	bool started;
};

/* Each registers its cache handlers and initializes its queue. */
void gc__start(struct ctrl_manager *m);
void rs__start(struct ctrl_manager *m);
void deploy__start(struct ctrl_manager *m);

/* Splits "ns/name" into ns (may be "") and name; returns name. ns has
 * ROUTE_SEG_MAX bytes. */
const char *ctrl__split_key(const char *key, char *ns, size_t ns_size);
/* Writes obj's metadata.ownerReferences and metadata.finalizers (absent =
 * removed) with a merge patch, conditional on its resourceVersion: cached
 * objects are pruned, so controllers never PUT them whole. */
void ctrl__patch_meta(struct apiserver *s, const char *group, const char *plural,
		      const cJSON *obj, struct ctrl_batch *b);
/* A controller ownerReference (blockOwnerDeletion) to owner; caller frees. */
cJSON *ctrl__owner_ref(const cJSON *owner);
/* True when the pod's Ready condition is True. */
bool ctrl__pod_ready(const cJSON *pod);

/* Events: forgets remembered events (shutdown). */
void ctrl__events_release(void);

#define ANN_REVISION "deployment.kubernetes.io/revision"
#define LABEL_TEMPLATE_HASH "pod-template-hash"

#endif
