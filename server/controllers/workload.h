/*
 * server/controllers/workload.h - what the workload controllers (DaemonSet,
 * Job, CronJob, StatefulSet, ReplicationController) share: pods from a
 * template with a controller ownerReference, pod create/delete with the
 * SuccessfulCreate/FailedCreate/SuccessfulDelete/FailedDelete events,
 * status writes that settle, conditions that keep their times, pod states.
 *
 * Owners are cached objects (borrowed); every write goes through the
 * in-process API and ends in a ctrl_batch.
 */
#ifndef K1S_SERVER_CONTROLLERS_WORKLOAD_H
#define K1S_SERVER_CONTROLLERS_WORKLOAD_H

#include "ctrl_priv.h"

/* A pod for owner from the pod template tmpl: labels and annotations of
 * the template, a controller ownerReference (blockOwnerDeletion), the
 * template's spec; name set when name is non-NULL, else generateName
 * "<owner>-". Caller frees. */
cJSON *wl_pod_new(const cJSON *owner, const cJSON *tmpl, const char *name);
/* Creates pod (not taken) in owner's namespace; events on owner. */
void wl_pod_create(struct ctrl_manager *m, const cJSON *owner, const cJSON *pod,
		   struct ctrl_batch *b);
/* Deletes pod (uid precondition; opts may add propagation); events on owner. */
void wl_pod_delete(struct ctrl_manager *m, const cJSON *owner, const cJSON *pod,
		   struct ctrl_batch *b);
/* Writes status (taken) of obj (a cached object of group/plural) unless it
 * equals the current one. */
void wl_status_write(struct ctrl_manager *m, const char *group, const char *plural,
		     const cJSON *obj, cJSON *status, struct ctrl_batch *b);
/* Appends a condition to conds; an unchanged status keeps the times of the
 * same condition in old_conds. reason/message may be NULL. */
void wl_condition(cJSON *conds, const cJSON *old_conds, const char *type, const char *status,
		  const char *reason, const char *message);

/* Not terminating, not Succeeded/Failed. */
bool wl_pod_active(const cJSON *pod);
/* Ready for at least min_ready_s seconds (by the Ready condition's
 * lastTransitionTime). */
bool wl_pod_available(const cJSON *pod, int64_t min_ready_s);
/* "Succeeded", "Failed", or "" */
const char *wl_pod_phase(const cJSON *pod);
/* Calls fn for every pod whose controller ownerReference is owner. */
void wl_each_pod(struct ctrl_manager *m, const cJSON *owner,
		 void (*fn)(const cJSON *pod, void *ud), void *ud);
/* Enqueues on q the "ns/name" of pod's controller when its kind is kind. */
void wl_enqueue_controller(struct wq *q, const cJSON *obj, const char *kind);
/* Enqueues obj's "ns/name" on q. */
void wl_enqueue(struct wq *q, const cJSON *obj);
/* An int-or-percent value of total (percent rounded up or down), or
 * fallback when v is absent. */
int64_t wl_int_or_percent(const cJSON *v, int64_t fallback, int64_t total, bool round_up);
/* metadata field of obj, "" when absent */
const char *wl_meta(const cJSON *obj, const char *key);

#endif
