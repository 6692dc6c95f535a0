/*
 * agent/lvol.h - the node side of the k1s.io/local storage driver: volumes
 * with enforced sizes, read-only snapshots, restores and clones.
 *
 * Backends:
 *  - btrfs (preferred): a volume is a subvolume, its size a qgroup limit
 *    (writes past it fail with EDQUOT), a snapshot a read-only snapshot
 *    subvolume (atomic, copy-on-write: its cost does not grow with the data),
 *    a restore or clone a writable snapshot of the source. The pool is the
 *    store directory itself when it is on btrfs; otherwise a sparse image
 *    file <dir>/pool.img of pool_size bytes, formatted once with mkfs.btrfs
 *    (btrfs-progs, the one external program this backend runs) and
 *    loop-mounted on <dir>/pool by lvol_open() (loop device set up with
 *    the loop ioctls, autoclear: unmounting frees it).
 *  - dir (fallback, or asked for): plain directories; snapshots and
 *    restores are copies (cost grows with the data) and sizes are not
 *    enforced.
 * All btrfs work is ioctls on the pool (linux/btrfs.h): no btrfs binary.
 *
 * Layout under the pool root: volumes/<id>, snapshots/<id>. Ids are
 * [a-z0-9.-]{1,200} (PV and snapshot-content names). Functions block
 * (run them off the uv loop) and return 0 or -errno with a one-line
 * malloc'd *err.
 */
#ifndef K1S_AGENT_LVOL_H
#define K1S_AGENT_LVOL_H

#include <stdbool.h>
#include <stdint.h>

#define LVOL_ID_MAX 200
#define LVOL_DEFAULT_POOL_SIZE (10ULL << 30)	/* sparse: costs only what is used */

enum lvol_backend { LVOL_AUTO, LVOL_BTRFS, LVOL_DIR };

struct lvol_store {
	enum lvol_backend backend;	/* what lvol_open chose */
	char *dir;			/* the store directory */
	char *root;			/* pool root: dir (btrfs or dir backend) or dir/pool */
	bool mounted;			/* we mounted root (loop image) */
};

/* Opens (creating and mounting as needed) the store in dir. */
int lvol_open(struct lvol_store *s, const char *dir, enum lvol_backend want,
	      uint64_t pool_size, char **err);
/* Unmounts the pool if lvol_open mounted it (its loop device goes with it). */
void lvol_close(struct lvol_store *s);

/* A new empty volume limited to size bytes (0: unlimited). -EEXIST if it exists. */
int lvol_create(struct lvol_store *s, const char *id, uint64_t size, char **err);
/* Changes the limit (growing a bound PVC). */
int lvol_resize(struct lvol_store *s, const char *id, uint64_t size, char **err);
/* Removes a volume or a snapshot; -ENOENT when absent. */
int lvol_delete(struct lvol_store *s, const char *id, char **err);
int lvol_snapshot_delete(struct lvol_store *s, const char *id, char **err);
/* Syncs vol's file system, then takes snapshot snap; *size: bytes it holds. */
int lvol_snapshot(struct lvol_store *s, const char *vol, const char *snap, uint64_t *size,
		  char **err);
/* A new volume holding the snapshot's (restore) or a volume's (clone) data. */
int lvol_restore(struct lvol_store *s, const char *snap, const char *vol, uint64_t size,
		 char **err);
int lvol_clone(struct lvol_store *s, const char *src, const char *vol, uint64_t size,
	       char **err);
/* Path of a volume (malloc'd), for mounting into pods. */
char *lvol_path(const struct lvol_store *s, const char *id);
/* Bytes the volume's data takes (btrfs: its referenced bytes; dir: a walk). */
int lvol_used(struct lvol_store *s, const char *id, uint64_t *bytes, char **err);

#endif
