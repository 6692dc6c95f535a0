/*
 * images/images.h - the node's image store: import, storage, layer unpack,
 * overlay root filesystems, garbage collection.
 *
 * Layout under <data-dir>/agent/images (the store's root):
 *
 *   index.json               the image table: one record per image (config
 *                            digest = image ID, names, manifest digest, layer
 *                            diffIDs and sizes, import and last-use times) and
 *                            the list of tarballs already imported from
 *                            import/ (path, size, mtime, sha256). Rewritten
 *                            atomically (write_file_atomic) after each change.
 *   lock                     flock()ed by every mutating call; the index is
 *                            re-read under the lock, so the agent and
 *                            `k1s images` can share a store.
 *   blobs/sha256/<hex>       manifests and configs, content-addressed, the
 *                            sha256 verified before the rename into place.
 *                            Layer blobs are not kept: the snapshot is the
 *                            layer's only copy.
 *   layers/<diffID hex>/     a layer unpacked once, read-only by convention,
 *                            whiteouts stored the overlayfs way (char device
 *                            0/0 for ".wh.NAME", xattr trusted.overlay.opaque=y
 *                            for ".wh..wh..opq"), so a snapshot depends only on
 *                            its own diffID and is shared by every image that
 *                            has the layer. Unpacked into layers/tmp-* and
 *                            renamed into place only after both digests match.
 *   import/                  airgap tarballs, imported by img_import_dir()
 *   tmp/                     staging for imports; emptied on open
 *
 * A container's root filesystem is overlayfs over its image's layers (top
 * first) with <container-dir>/upper and <container-dir>/work, mounted on
 * <container-dir>/rootfs.
 *
 * Layer tarballs are hostile input. An entry is refused (and the whole layer
 * with it) when its cleaned name is absolute or has a ".." component, when a
 * directory on its path inside the layer is a symlink, when it is a hardlink
 * whose target is absolute, has "..", or is not a regular file already
 * unpacked in this layer, or when a limit below is passed. libarchive's
 * ARCHIVE_EXTRACT_SECURE_* flags are set as well. Device nodes and FIFOs are
 * skipped; ownership, modes (setuid included, exactly as in the tar), times
 * and user.* / security.capability xattrs are kept; other xattrs (notably
 * trusted.overlay.*) are dropped. Compression: gzip, zstd, none.
 *
 * Errors: every function returns 0 or -errno; where the store is given, a
 * one-line message for the last failure is in img_store_error().
 *
 * Threads: img_unpack_fd() (and so imports) fchdir()s into the layer root for
 * its duration (libarchive's secure checks need relative names) and restores
 * the working directory before returning. Run imports in a process or thread
 * where nothing else depends on the working directory.
 *
 * Registry pull (img_pull, below) writes into the same store: blobs are
 * downloaded into tmp/ without the lock, verified, then unpacked under it.
 */
#ifndef K1S_IMAGES_H
#define K1S_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Limits on hostile input. */
#define IMG_MAX_JSON_BYTES	(4u << 20)	/* manifest, config, index files */
#define IMG_MAX_LAYERS		128		/* layers per image */
#define IMG_MAX_LAYER_ENTRIES	1000000		/* tar entries per layer */
#define IMG_MAX_ARCHIVE_FILES	100000		/* entries in an image tarball */
#define IMG_MAX_PATH		4096		/* bytes of an entry name */
#define IMG_MAX_LAYER_BYTES	((uint64_t)64 << 30) /* unpacked bytes per layer */
#define IMG_MAX_IMAGES_PER_FILE	64		/* images in one tarball */

#define IMG_DIGEST_LEN		71	/* "sha256:" + 64 hex */

struct img_layer {
	char diff_id[IMG_DIGEST_LEN + 1];	/* sha256 of the uncompressed tar */
	uint64_t size;				/* unpacked bytes (regular files) */
};

struct img_image {
	char id[IMG_DIGEST_LEN + 1];		/* digest of the config blob */
	char manifest[IMG_DIGEST_LEN + 1];	/* digest of the manifest blob */
	char **names;				/* normalized "host/repo:tag", owned */
	size_t nnames;
	struct img_layer *layers;		/* bottom layer first, owned */
	size_t nlayers;
	uint64_t size;				/* sum of layer sizes, bytes */
	int64_t created;			/* import time, unix seconds */
	int64_t last_used;			/* last rootfs prepare, unix seconds */
};

/* An airgap tarball already imported (img_import_dir skips it). */
struct img_seen {
	char *path;
	uint64_t size;
	int64_t mtime_ns;
	char sha256[65];
};

/* Filesystem usage of the image store, in percent (0-100). 0 or -errno. */
typedef int (*img_usage_fn)(void *arg, const char *root, unsigned *pct);

struct img_store {
	char *root;			/* <data-dir>/agent/images */
	struct img_image *images;	/* the index as last read or written */
	size_t nimages, alloc;
	struct img_seen *seen;
	size_t nseen, seen_alloc;
	img_usage_fn usage;		/* statvfs() unless replaced (tests) */
	void *usage_arg;
	int lockfd;			/* held only inside mutating calls */
	char err[512];			/* message of the last failure */
};

/*
 * Opens (creating the directories) the store under data_dir/agent/images
 * and reads its index. Release with img_store_release() even on failure.
 */
int img_store_open(struct img_store *s, const char *data_dir);
void img_store_release(struct img_store *s);
const char *img_store_error(const struct img_store *s);

/* Re-reads index.json (another process may have changed it). */
int img_store_reload(struct img_store *s);

/*
 * Imports a docker-archive (`docker save`) or OCI-archive tarball (itself
 * uncompressed, gzip or zstd). Every image in it is stored and its layers
 * unpacked (existing layers are reused). Importing the same tarball again
 * changes nothing but the names. If names is not NULL it receives the
 * malloc'd, NULL-terminated list of the imported names (or image IDs for
 * unnamed images); free with img_names_free().
 */
int img_import(struct img_store *s, const char *path, char ***names);
void img_names_free(char **names);

/*
 * Imports every regular *.tar, *.tar.gz, *.tgz, *.tar.zst file of dir that
 * is not recorded as imported with the same size, mtime and sha256 (the
 * sha256 is computed only when size or mtime changed). A failed file is
 * logged and skipped; returns the first error or 0. A missing dir is 0.
 */
int img_import_dir(struct img_store *s, const char *dir);

/*
 * Looks up ref: a name ("busybox", "busybox:1", "docker.io/library/busybox:1"),
 * a full image ID ("sha256:<hex>" or "<hex>"), or an unambiguous prefix of at
 * least 4 hex digits. NULL when not found or ambiguous. The pointer is valid
 * until the next call that changes the store.
 */
const struct img_image *img_find(const struct img_store *s, const char *ref);

/*
 * Normalizes an image reference as the kubelet/containerd do: "busybox" ->
 * "docker.io/library/busybox:latest". malloc'd; NULL when ref is invalid.
 * A digest reference ("repo@sha256:...") is kept as is.
 */
char *img_name_normalize(const char *ref);

/*
 * Removes ref. A name that is one of several names of an image only untags;
 * otherwise the image goes, with its blobs and every layer no other image
 * uses. -ENOENT when not found.
 */
int img_remove(struct img_store *s, const char *ref);

/*
 * A prepared container root filesystem. All strings are owned (release with
 * img_rootfs_release). lowerdir is the overlayfs "lowerdir=" value: the
 * layer directories separated by ':', top layer first.
 */
struct img_rootfs {
	char *lowerdir;
	char *upper;	/* <container-dir>/upper */
	char *work;	/* <container-dir>/work */
	char *merged;	/* <container-dir>/rootfs, the mount point */
};

/*
 * Resolves ref, creates container_dir/{upper,work,rootfs} and fills r. Marks
 * the image used now (GC order). Does not mount.
 */
int img_rootfs_prepare(struct img_store *s, const char *ref,
		       const char *container_dir, struct img_rootfs *r);
/* Mounts the overlay on r->merged. -E2BIG when the options pass one page. */
int img_rootfs_mount(const struct img_rootfs *r);
/* Unmounts r->merged; 0 when it was not mounted. */
int img_rootfs_unmount(const struct img_rootfs *r);
void img_rootfs_release(struct img_rootfs *r);

/*
 * Garbage collection. When the store's filesystem usage is at or above
 * high_pct, removes images not in in_use (image IDs or names, as img_find
 * takes them), least recently used first, with their unreferenced layers
 * and blobs, until usage is below low_pct. Also removes layer directories
 * and blobs no image references, whatever the usage. *removed (may be NULL)
 * receives the number of images removed.
 */
int img_gc(struct img_store *s, unsigned high_pct, unsigned low_pct,
	   const char *const *in_use, size_t n_in_use, size_t *removed);

/*
 * Unpacks one layer tar stream (uncompressed, gzip or zstd) read from fd into
 * the existing empty directory dest, applying the rules at the top of this
 * file. On success diff_id (if not NULL) gets "sha256:<hex>" of the
 * uncompressed stream, digest (if not NULL) that of the bytes read, *size
 * the unpacked bytes. On failure dest may hold a partial tree (the caller
 * removes it) and err (if not NULL) gets a one-line message.
 */
int img_unpack_fd(int fd, const char *dest, char diff_id[IMG_DIGEST_LEN + 1],
		  char digest[IMG_DIGEST_LEN + 1], uint64_t *size,
		  char *err, size_t errlen);

/* ---- registries (registry_config.c, registry_http.c, pull.c) ---- */

#define IMG_REGISTRIES_PATH	"/etc/k1s/registries.yaml"
#define IMG_MAX_ENDPOINTS	8	/* mirror endpoints per registry */

/*
 * registries.yaml as k3s reads it:
 *   mirrors:  { "docker.io": { endpoint: ["https://m:5000", "http://m2"] } }
 *   configs:  { "m:5000": { auth: { username, password, auth (base64 u:p) },
 *                           tls: { ca_file, insecure_skip_verify } } }
 * A mirror "*" applies to every registry without its own entry. The
 * registry's own endpoint (https://<host>, registry-1.docker.io for
 * docker.io) is always tried after the mirrors.
 */
struct img_registries;

/* Loads path; a missing file is an empty config. 0 or -errno with *err
 * (malloc'd, one line). Free with img_registries_free() even on failure. */
int img_registries_load(const char *path, struct img_registries **out, char **err);
void img_registries_free(struct img_registries *r);

struct img_pull_progress {
	const char *digest;	/* the blob (layer) */
	uint64_t done, total;	/* bytes received / announced */
	bool cached;		/* already in the store, not downloaded */
	bool finished;
};

struct img_pull_opts {
	const struct img_registries *registries; /* NULL: no mirrors, no credentials */
	/* Credentials of imagePullSecrets, a dockerconfigjson "auths" object
	 * ({"host": {"auth"|"username"+"password"}}), tried before registries'
	 * configs. NULL: none. */
	const struct cJSON *auths;
	void (*progress)(const struct img_pull_progress *p, void *arg);
	void *progress_arg;
	unsigned stall_ms;	/* a blob making no progress this long fails; 0: 60 s */
};

/*
 * Pulls ref (normalized as img_name_normalize does) from its registry over
 * the OCI distribution API v2: mirrors first, then the registry itself;
 * anonymous, basic and bearer-token (WWW-Authenticate challenge) auth;
 * Docker v2 schema 2 and OCI manifests, image indexes and manifest lists
 * (linux/<this arch>); every blob's sha256 verified; layers unpacked as
 * img_import does (the same hostile-input rules). On success the image is
 * in the store under its normalized name and id (if not NULL) gets its ID.
 * Blocking: run it in a thread or process of its own (the unpacker changes
 * the working directory). Errors: -errno and img_store_error() (one line,
 * e.g. "unauthorized: authentication required", or the offending layer
 * entry).
 */
int img_pull(struct img_store *s, const char *ref, const struct img_pull_opts *o,
	     char id[IMG_DIGEST_LEN + 1]);

#endif
