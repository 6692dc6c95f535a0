/*
 * server/pods.h - what pods have beyond the generic REST path: the binding
 * and eviction subresources, the ephemeralcontainers subresource, and
 * kube-apiserver's rule that a pod's spec is immutable but for a few fields.
 */
#ifndef K1S_SERVER_PODS_H
#define K1S_SERVER_PODS_H

#include <cjson/cJSON.h>
#include "apiserver.h"

/* POST pods/<name>/binding and pods/<name>/eviction. Take over c. */
void pods_binding(struct api_call *c);
void pods_eviction(struct api_call *c);

/*
 * pods/<name>/ephemeralcontainers (pod_ephemeral.c). A write takes only
 * spec.ephemeralContainers from the body: new keeps everything else of old.
 */
void pods_ephemeral_merge(cJSON *new, const cJSON *old);
/* Validates such a write: the ephemeral containers, and the existing ones
 * neither removed nor changed (upstream's 422 causes). */
void pods_validate_ephemeral_update(const cJSON *new, const cJSON *old, struct api_error *e);

/* Checks a pod update against the fields that may change. */
void pods_validate_update(const cJSON *new, const cJSON *old, struct api_error *e);
/* Checks ephemeral containers: only allowed fields (no ports, probes,
 * lifecycle, resources, resizePolicy...), a unique name, an existing target. */
void pods_validate_ephemeral(const cJSON *pod, struct api_error *e);

#endif
