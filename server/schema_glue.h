/*
 * server/schema_glue.h - the schema engine (lib/schema.h) applied to API
 * requests: which schema a resource has, field validation modes, and the
 * strategic-merge-patch adapter.
 */
#ifndef K1S_SERVER_SCHEMA_GLUE_H
#define K1S_SERVER_SCHEMA_GLUE_H

#include <cjson/cJSON.h>
#include "apiserver.h"
#include "lib/smp.h"

int schema_glue_decode(struct api_call *c, cJSON *obj, struct api_error *e);
void schema_glue_defaults(struct api_call *c, cJSON *obj);
void schema_glue_validate(struct api_call *c, const cJSON *obj, struct api_error *e);
void schema_glue_smp(struct api_call *c, struct smp_schema *out);

#endif
