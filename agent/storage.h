/*
 * agent/storage.h - the agent's side of the k1s.io/local driver: keeps the
 * node's volumes (agent/lvol.h) in line with the PersistentVolumes the
 * server's PV controller gave this node, and tells the pod volume code
 * where a claim's data lives.
 *
 * Handshake (docs/storage.md): a PV with spec.csi.driver k1s.io/local and
 * annotation k1s.io/node = <this node> is ours. The agent creates its
 * volume (lvol id = PV name) with the PV's capacity as limit, and resizes
 * it when the capacity changes, then writes annotation k1s.io/size = the
 * limit in bytes: a PV with that annotation is ready. When the PV is being
 * deleted, the agent deletes the data and removes the PV's finalizer
 * k1s.io/local-volume.
 *
 * One instance per agent process (the pod volume code reaches it through
 * stor_claim_path). lvol calls block: they run one at a time on the uv
 * thread pool. The backend and the size of the loop-mounted pool image
 * come from `k1s agent --storage-backend auto|btrfs|dir` and
 * `--storage-pool-size QUANTITY` (environment K1S_STORAGE_BACKEND,
 * K1S_STORAGE_POOL_SIZE). The store is <data-dir>/storage.
 */
#ifndef K1S_AGENT_STORAGE_H
#define K1S_AGENT_STORAGE_H

#include <stdint.h>
#include <uv.h>

#include "lvol.h"

struct api_client;

#define STOR_DRIVER "k1s.io/local"
#define STOR_ANN_NODE "k1s.io/node"
#define STOR_ANN_SIZE "k1s.io/size"
#define STOR_FINALIZER "k1s.io/local-volume"
#define STOR_FIN_SNAPSHOT "k1s.io/local-snapshot"	/* on VolumeSnapshotContents */
#define STOR_ANN_RESTORE "k1s.io/restore-from"	/* a new volume from this snapshot handle */
#define STOR_ANN_CLONE "k1s.io/clone-from"	/* a new volume copying this PV's volume */
#define SNAP_GV "snapshot.storage.k8s.io/v1"
#define STOR_RETRY_MS 2000	/* after a failed volume operation */

struct stor_opts {
	enum lvol_backend backend;	/* LVOL_AUTO: btrfs when possible, else directories */
	uint64_t pool_size;		/* bytes of the pool image (sparse) */
};

/*
 * Parses a backend name (NULL: auto) and a pool size quantity ("10Gi",
 * "536870912"; NULL: LVOL_DEFAULT_POOL_SIZE, at least STOR_MIN_POOL_SIZE)
 * into *o. 0, or -EINVAL with a malloc'd message in *err.
 */
#define STOR_MIN_POOL_SIZE (128ULL << 20)	/* mkfs.btrfs wants ~114 MiB */
int stor_opts_parse(const char *backend, const char *pool_size, struct stor_opts *o, char **err);
/* Starts watching PersistentVolumes (o is copied); 0 or -errno. */
int stor_start(uv_loop_t *loop, struct api_client *api, const char *data_dir, const char *node,
	       const struct stor_opts *opts);
/* Stops the informer (before the API client goes); a running volume
 * operation finishes on the thread pool, then everything is freed. The
 * pool stays mounted (volumes outlive the agent), see stor_unmount. */
void stor_stop(void);
/* The host path of the data of claim ns/name when its volume is bound and
 * ready on this node: 0 and a malloc'd *path; -EAGAIN (not yet, *err says
 * why) or -ENOENT. hostPath and local PVs are served too. */
int stor_claim_path(const char *ns, const char *claim, char **path, char **err);

#endif
