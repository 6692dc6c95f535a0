/*
 * agent/vol_int.h - internals of the volume and environment code
 * (agent/volume.c, agent/vol_*.c, agent/env*.c); not for other modules.
 *
 * Pieces:
 *  - vol_paths.c    path rules (item paths, subPath) and the atomic writer
 *                   that publishes configMap/secret/downwardAPI/projected
 *                   contents through a "..data" symlink swap
 *  - vol_payload.c  builds the file set (struct vol_payload) of those volume
 *                   types from the objects, items, modes and optional flags
 *  - vol_field.c    downward API: fieldRef and resourceFieldRef rendering
 *  - env.c          a container's environment ($(VAR) expansion, envFrom,
 *                   valueFrom, service links)
 *  - vol_manager.c  the manager: informers or a fake store, lookups, the
 *                   pods to refresh when an object changes
 *  - volume.c       setup, mounts, teardown
 *
 * Lookups answer 0 with a borrowed object, -EAGAIN while the informer has
 * not listed yet, -ENOENT once it has and the object is absent. Every
 * function that fails with a message sets *err to a malloc'd event text.
 */
#ifndef K1S_AGENT_VOL_INT_H
#define K1S_AGENT_VOL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "agent/volume.h"
#include "lib/buf.h"

#define VOL_PATH_MAX 4096	/* bytes of an item path or subPath */
#define VOL_FILES_MAX 4096	/* files in one atomic-writer volume */
#define VOL_ENV_MAX 4096	/* environment entries of one container */
#define VOL_DEFAULT_MODE 0644	/* configMap/secret/downwardAPI defaultMode */

enum vol_kind { VOL_CONFIGMAP, VOL_SECRET, VOL_SERVICE, VOL__KINDS };

struct api_informer;
struct vol_token;
struct vol_watch;
typedef struct uv_timer_s uv_timer_t;
/* A pod whose volumes were set up: kept so configMap/secret updates can be
 * published without waiting for the pod worker's next sync. */
struct vol_pod {
	struct vol_pod *next;
	char *uid;
	cJSON *pod;		/* owned copy of the last pod given to vol_pod_setup */
};

struct vol_manager {
	struct api_client *api;
	struct api_informer *inf[VOL__KINDS];	/* services only (configMaps and secrets: watches) */
	struct vol_watch *watches;	/* one per configMap/secret in use (vol_manager.c) */
	cJSON *fake[VOL__KINDS];	/* tests: arrays of objects instead of informers */
	char *fake_token;		/* tests: the token every projected source gets */
	char *pods_dir;
	char *node_name;
	int64_t alloc_cpu_milli;	/* node allocatable: default limits, in millicores */
	int64_t alloc_mem;		/* ... in bytes */
	int64_t alloc_eph;		/* ... ephemeral-storage, in bytes */
	struct vol_pod *pods;		/* set up and not torn down */
	unsigned refreshes;		/* volume refreshes triggered by object changes */
	struct vol_token *tokens;	/* service account tokens (vol_token.c) */
	uv_timer_t *token_timer;	/* their age check */
	void (*on_ready)(void *ud, const char *uid);	/* a pod's token arrived */
	void *on_ready_ud;
	bool stopped;			/* vol_manager_stop: no informers any more */
};

/* A manager without informers for tests: objects come from vol__fake_put. */
struct vol_manager *vol__manager_fake(const char *pods_dir, const char *node_name);
/* Adds or replaces (same namespace/name) an object; obj is copied. Like an
 * informer event, it refreshes the volumes of the pods that use it. */
void vol__fake_put(struct vol_manager *m, enum vol_kind k, const cJSON *obj);
/* Keeps a copy of the pod given to vol_pod_setup (no-op for the kept copy
 * itself) / drops it at teardown. */
void vol__pod_remember(struct vol_manager *m, const char *uid, const cJSON *pod);
void vol__pod_forget(struct vol_manager *m, const char *uid);
/* Re-publishes the volumes of every known pod of ns that uses the
 * configMap/secret name (informer callbacks call it). */
void vol__refresh(struct vol_manager *m, enum vol_kind k, const char *ns, const char *name);
int vol__lookup(struct vol_manager *m, enum vol_kind k, const char *ns, const char *name,
		const cJSON **obj);
const char *vol__kind_name(enum vol_kind k);	/* "configmap", "secret", "service" */

/* ---- paths (vol_paths.c) ---- */

/* A relative path that stays inside its root: not empty, not absolute, no
 * ".." component, does not start with "..", at most VOL_PATH_MAX bytes.
 * 0 or -EINVAL. */
int vol__path_check(const char *path);
/* Joins a volume directory and a subPath and resolves it (symlinks too);
 * the result must stay inside root (resolved). Creates a missing subPath as
 * a directory (0755) as the kubelet does. *out malloc'd. 0 / -EINVAL / -errno. */
int vol__subpath_resolve(const char *root, const char *sub, char **out);
/* rm -rf that never crosses a mount point and never follows symlinks. */
int vol__rmtree(const char *path);
/* True when path is a mount point (its device differs from its parent's). */
bool vol__is_mountpoint(const char *path);

/* One file of an atomic-writer volume. */
struct vol_file {
	char *path;		/* relative, checked with vol__path_check */
	char *data;
	size_t len;		/* bytes of data */
	unsigned mode;		/* permission bits */
};
struct vol_payload {
	struct vol_file *f;
	size_t n, alloc;
};
/* Adds a copy of data under path, replacing an earlier file of that path.
 * -EINVAL for a bad path, -E2BIG past VOL_FILES_MAX. */
int vol__payload_add(struct vol_payload *p, const char *path, const void *data,
		     size_t len, unsigned mode);
void vol__payload_release(struct vol_payload *p);
/*
 * Publishes p in dir the way the kubelet's atomic writer does:
 *   dir/..<timestamp>/<files>   the files
 *   dir/..data -> ..<timestamp> swapped with rename(2)
 *   dir/<top> -> ..data/<top>   one symlink per top-level name
 * Nothing is written when the current contents (data and modes) are equal.
 * gid >= 0 (the pod's fsGroup) chowns the files to that group and adds
 * group read. Sets *changed when it wrote. 0 or -errno.
 */
int vol__atomic_write(const char *dir, const struct vol_payload *p, int64_t gid, bool *changed);

/* ---- payloads (vol_payload.c) ---- */

/* Value of key in a configMap (data, binaryData) or a secret (data,
 * base64-decoded; stringData). *val malloc'd (NUL-terminated), 0 or -ENOENT. */
int vol__obj_value(enum vol_kind k, const cJSON *obj, const char *key, char **val, size_t *len);
/* Calls fn for every key of a configMap/secret (sorted is not promised). */
int vol__obj_foreach(enum vol_kind k, const cJSON *obj,
		     int (*fn)(const char *key, const char *val, size_t len, void *ud), void *ud);
/*
 * Adds the files of one configMap or secret source (a configMap/secret
 * volume, or a projected source) to p: all keys, or the items
 * ([{key,path,mode}]). src_mode: defaultMode. Missing object or key and
 * !optional: -EAGAIN (object) / -ENOENT (key) with *err.
 */
int vol__payload_object(struct vol_manager *m, struct vol_payload *p, enum vol_kind k,
			const char *ns, const cJSON *src, unsigned def_mode, char **err);
/* Adds the items of a downwardAPI source. */
int vol__payload_downward(struct vol_payload *p, const cJSON *pod, const cJSON *src,
			  unsigned def_mode, const struct vol_manager *m, char **err);

/* Adds a projected serviceAccountToken source (vol_token.c): -EAGAIN with
 * *err until the pod's token has arrived. */
int vol__payload_token(struct vol_manager *m, struct vol_payload *pl, const cJSON *pod,
		       const cJSON *src, unsigned mode, char **err);
/* Drops the tokens of pod uid (all with NULL). */
void vol__token_forget(struct vol_manager *m, const char *uid);
/* vol__token_forget(m, NULL) and the age-check timer closed (manager free). */
void vol__token_stop(struct vol_manager *m);

/* ---- downward API (vol_field.c) ---- */

/* The value of a fieldRef path for pod (env: for_env, which allows
 * spec.*, status.*; volumes allow metadata.labels/annotations as a whole).
 * *out malloc'd. -EINVAL with *err for an unsupported path. */
int vol__field_value(const cJSON *pod, const char *path, bool for_env, char **out, char **err);
/* Go's %q of s (strconv.Quote for the ASCII range; other bytes kept). */
void vol__go_quote(struct buf *b, const char *s);
/* resourceFieldRef {containerName, resource, divisor} of container (or the
 * pod's container named containerName when container is NULL). */
int vol__resource_value(const cJSON *pod, const cJSON *container, const cJSON *ref,
			const struct vol_manager *m, char **out, char **err);

/* ---- environment (env.c) ---- */

/* Kubernetes' $(VAR) expansion: $$ -> $, $(NAME) -> lookup(NAME) when it
 * knows it (else kept verbatim), anything else kept. Result malloc'd. */
char *vol__expand(const char *in, const char *(*lookup)(const char *name, void *ud), void *ud);
/* The service link variables ("K=V") of the services visible to a pod of
 * namespace ns, appended to *list (malloc'd strings). */
void vol__service_env(struct vol_manager *m, const char *ns, bool service_links,
		      char ***list, size_t *n, size_t *alloc);

#endif
