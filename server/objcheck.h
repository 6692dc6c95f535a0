/*
 * server/objcheck.h - where the schema engine and the per-kind hooks meet
 * the REST path: decoding checks (unknown and duplicate fields under
 * fieldValidation), defaulting, validation, the strategic-merge-patch
 * schema, and the kind-specific parts of delete.
 */
#ifndef K1S_SERVER_OBJCHECK_H
#define K1S_SERVER_OBJCHECK_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include "apiserver.h"
#include "lib/smp.h"

/*
 * Field validation of a request body: Strict answers 400 for unknown or
 * duplicate fields, Warn adds Warning headers, Ignore drops unknown fields.
 * Returns 0, or -EINVAL with e set.
 */
int objcheck_decode(struct api_call *c, cJSON *obj, struct api_error *e);
/* Schema defaults, then the kind's own. */
void objcheck_defaults(struct api_call *c, cJSON *obj);
/* Schema validation and the kind's own checks; adds causes to e. */
void objcheck_validate(struct api_call *c, const cJSON *obj, const cJSON *old,
		       struct api_error *e);
/* Last step before a write: allocations (service IPs and ports). Adds causes to e. */
void objcheck_admit(struct api_call *c, cJSON *obj, const cJSON *old, struct api_error *e);
/* After the write of c (err 0 or -errno): undo allocations of a failed write. */
void objcheck_write_done(struct api_call *c, int err);
/* The merge keys of c's kind for strategic merge patch. */
void objcheck_smp_schema(struct api_call *c, struct smp_schema *out);
/* True when deleting obj only marks it (a pod bound to a node). */
bool objcheck_graceful_delete(struct api_call *c, const cJSON *obj);
/* Kind-specific changes when obj is marked for deletion (namespaces). */
void objcheck_on_delete_mark(struct api_call *c, cJSON *obj);

#endif
