/*
 * server/admission.h - kube-apiserver's default admission plugins that
 * change objects on create, as k1s has them:
 *
 * - DefaultTolerationSeconds: a pod gets NoExecute tolerations of
 *   node.kubernetes.io/not-ready and /unreachable for 300 s unless it
 *   already tolerates those taints.
 * - The memory-pressure toleration: pods whose QoS class is not
 *   BestEffort tolerate node.kubernetes.io/memory-pressure:NoSchedule (as
 *   the control plane adds it upstream), so only BestEffort pods avoid a
 *   node under memory pressure.
 * - The Job strategy's selector generation (see admission_job).
 * - TaintNodesByCondition: a new Node gets
 *   node.kubernetes.io/not-ready:NoSchedule until the node lifecycle
 *   controller sees it Ready.
 */
#ifndef K1S_SERVER_ADMISSION_H
#define K1S_SERVER_ADMISSION_H

#include <stdint.h>
#include <cjson/cJSON.h>

#define ADMISSION_DEFAULT_TOLERATION_SECONDS 300

/* On create of a pod (after defaulting: status.qosClass is set). */
void admission_pod_tolerations(cJSON *pod);
/* Adds an Exists toleration of key/effect to a pod spec unless one already
 * tolerates it; seconds < 0: no tolerationSeconds. */
void admission_add_toleration(cJSON *spec, const char *key, const char *effect, int64_t seconds);
/* On create of a Job (metadata.uid set): the generated selector
 * (batch.kubernetes.io/controller-uid) and pod labels, unless
 * manualSelector; completions 1 when neither it nor a parallelism other
 * than 1 is given (upstream's defaulting). */
void admission_job(cJSON *job);
/* On create of a node. */
void admission_node_taints(cJSON *node);

#endif
