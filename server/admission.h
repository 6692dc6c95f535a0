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
 * - TaintNodesByCondition: a new Node gets
 *   node.kubernetes.io/not-ready:NoSchedule until the node lifecycle
 *   controller sees it Ready.
 */
#ifndef K1S_SERVER_ADMISSION_H
#define K1S_SERVER_ADMISSION_H

#include <cjson/cJSON.h>

#define ADMISSION_DEFAULT_TOLERATION_SECONDS 300

/* On create of a pod (after defaulting: status.qosClass is set). */
void admission_pod_tolerations(cJSON *pod);
/* On create of a node. */
void admission_node_taints(cJSON *node);

#endif
