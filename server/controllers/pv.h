/*
 * server/controllers/pv.h - the persistent volume controller (pv.c) and
 * what the scheduler asks it. Names shared with the agent's storage side
 * (agent/storage.c) are here too; docs/storage.md has the handshake.
 */
#ifndef K1S_SERVER_CONTROLLERS_PV_H
#define K1S_SERVER_CONTROLLERS_PV_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define PV_DRIVER "k1s.io/local"
#define PV_FINALIZER_LOCAL "k1s.io/local-volume"	/* agent removes it after deleting the data */
#define PV_ANN_NODE "k1s.io/node"			/* the node holding a k1s.io/local volume */
#define PV_ANN_SELECTED_NODE "volume.kubernetes.io/selected-node"
#define PV_FIN_PVC "kubernetes.io/pvc-protection"
#define PV_FIN_PV "kubernetes.io/pv-protection"
#define PV_ANN_RESTORE "k1s.io/restore-from"		/* snapshot handle a new volume starts from */
#define PV_ANN_CLONE "k1s.io/clone-from"		/* PV a new volume is a copy of */
#define STOR_FIN_SNAPSHOT "k1s.io/local-snapshot"	/* agent removes it after deleting the data */

struct ctrl_manager;

void pv__start(struct ctrl_manager *m);
void pv__stop(void);
/* Bytes of a quantity (string or number), -1 when invalid or absent. */
int64_t pv__bytes(const cJSON *v);
/* Before filtering nodes: 0, or -ENOENT/-EAGAIN with the unschedulable
 * message in *msg (malloc'd): a claim is missing, being deleted, or unbound
 * in Immediate mode. */
int pv__pod_check(const cJSON *pod, char **msg);
/* The bound volumes of pod allow node (their required node affinity), and
 * its unbound restores and clones have their source there. */
bool pv__node_fits(const cJSON *pod, const cJSON *node);
/* After picking node: unbound WaitForFirstConsumer claims of pod get the
 * volume.kubernetes.io/selected-node annotation (provisioning starts). */
void pv__select_node(const cJSON *pod, const char *node);
/* Cached claim and volume, or NULL. Borrowed. */
const cJSON *pv__claim(const char *ns, const char *name);
const cJSON *pv__volume(const char *name);
/* Unbound claims are looked at again (a restore source became ready). */
void pv__retry_pending(void);

/* The snapshot controller (snapshot.c); its cache starts once the
 * snapshot.storage.k8s.io CRDs are served. */
void snap__start(struct ctrl_manager *m);
void snap__stop(void);
/* Cached VolumeSnapshot / VolumeSnapshotContent, or NULL. Borrowed. */
const cJSON *snap__get(const char *ns, const char *name);
const cJSON *snap__content(const char *name);

#endif
