/*
 * server/meta.h - the ObjectMeta rules every kind shares: what the server
 * sets on create (uid, creationTimestamp, generation, generateName), what it
 * keeps on update (immutable fields, generation bumped on spec changes only),
 * the status/spec split of kinds with a status subresource, and deletion with
 * finalizers. Problems are added to an api_error as causes (422) or set as
 * a whole error (400), as kube-apiserver does.
 */
#ifndef K1S_SERVER_META_H
#define K1S_SERVER_META_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "registry.h"
#include "status.h"

#define META_UID_LEN 37			/* "xxxxxxxx-xxxx-...\0" */
#define META_ANNOTATIONS_MAX (256 * 1024)	/* total bytes of keys + values */
#define META_GENERATE_SUFFIX 5

/* A random (v4) UUID. */
void meta_new_uid(char out[META_UID_LEN]);

/*
 * Checks apiVersion/kind of a request body against the resource and the
 * namespace against the URL's (filling it in when absent). Returns 0, or
 * -EINVAL with a 400 in e.
 */
int meta_check_identity(cJSON *obj, const struct api_resource *r, const char *url_ns,
			const char *url_name, struct api_error *e);

/*
 * Prepares obj for create: name from generateName, uid, creationTimestamp,
 * generation, cleared server-owned fields (resourceVersion, deletion*,
 * status of kinds with a status subresource). Validates the metadata; adds
 * causes to e. now is ns since the epoch.
 */
void meta_prepare_create(cJSON *obj, const struct api_resource *r, int64_t now,
			 struct api_error *e);

/*
 * Prepares an update of old to obj: keeps immutable metadata from old, checks
 * what may change on an object being deleted, bumps generation when anything
 * outside metadata and status changed. `status_only` is true for writes to
 * the status subresource (then only status changes are kept), false for the
 * main resource of a kind with status (then status changes are dropped).
 */
void meta_prepare_update(cJSON *obj, const cJSON *old, const struct api_resource *r,
			 bool status_only, struct api_error *e);

/* Validates metadata of obj (name, labels, annotations, finalizers, ownerRefs). */
void meta_validate(const cJSON *obj, const struct api_resource *r, struct api_error *e);

/* True when obj carries finalizers. */
bool meta_has_finalizers(const cJSON *obj);
/* Marks obj deleted (deletionTimestamp now, deletionGracePeriodSeconds);
 * on an object already marked, only lowers deletionGracePeriodSeconds. */
void meta_mark_deleted(cJSON *obj, int64_t now, int64_t grace);
/* True when obj is marked for deletion, has no finalizers left and no grace
 * period running (a pod's kubelet has not finished it). */
bool meta_ready_to_remove(const cJSON *obj);


#endif
