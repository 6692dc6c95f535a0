/*
 * server/openapi.h - /openapi/v3 (index with hashes) and
 * /openapi/v3/<api|apis/group>/<version> documents from the schema engine.
 */
#ifndef K1S_SERVER_OPENAPI_H
#define K1S_SERVER_OPENAPI_H

#include "apiserver.h"

/* Answers a request under /openapi/. Does not free c. */
void openapi_serve(struct api_call *c);
/* Drops the cached documents (custom resources changed; shutdown). */
void openapi_release(void);

#endif
