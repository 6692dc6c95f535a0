/*
 * server/crd.h - CustomResourceDefinitions (apiextensions.k8s.io/v1) and
 * the custom resources they define.
 *
 * Three parts:
 *   - crd_validate.c: validation of CRD objects on create/update (names,
 *     group, scope, versions, structural schemas with lib/schema's checker,
 *     defaults valid against their schema), the CRD's own defaults and
 *     storedVersions (crd_hooks, on the registry row of the CRD kind);
 *   - crd_serve.c: the in-process controller. It watches the CRDs in the
 *     store, decides NamesAccepted/Established (name conflicts within a
 *     group), writes the status, and turns each Established CRD into
 *     registry rows (one per served version) so routing, discovery, the
 *     OpenAPI documents and Tables see it; deleting a CRD deletes its
 *     objects first (finalizer customresourcecleanup.apiextensions.k8s.io);
 *   - crd_cr.c: what differs for a custom resource on the generic REST path:
 *     its schema, defaulting and pruning when read from storage (in the
 *     storage version), the storage version on write, the scale
 *     subresource's paths, and additionalPrinterColumns (JSONPath subset).
 *
 * Lifetime: serving state (struct crd_version, its row, schemas, printer)
 * is built anew when a CRD's serving-relevant content changes; the old
 * state leaves the registry but is kept until crd_stop(), because requests
 * and watch streams in flight hold pointers to its row. So memory grows
 * with the number of CRD changes (not of requests or objects).
 */
#ifndef K1S_SERVER_CRD_H
#define K1S_SERVER_CRD_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include "registry.h"
#include "tables.h"
#include "lib/schema.h"

struct apiserver;
struct api_error;

#define CRD_CLEANUP_FINALIZER "customresourcecleanup.apiextensions.k8s.io"
#define CRD_MAX_VERSIONS 16		/* versions per CRD */
#define CRD_MAX_COLUMNS 32		/* additionalPrinterColumns per version */
#define CRD_MAX_NAMES 16		/* shortNames / categories per CRD */
#define CRD_MAX_SELECTABLE 8		/* selectableFields per version */

struct crd_state;

/* One served version of an Established CRD: a registry row and what the
 * generic path needs beyond it. Read-only once built. */
struct crd_version {
	struct api_resource row;
	const struct crd_state *crd;
	const char *storage_version;	/* the CRD's storage version */
	const struct schema *schema;	/* this version's openAPIV3Schema */
	const struct schema *storage_schema;	/* the storage version's */
	struct schema_resource openapi;	/* for /openapi/v3 */
	struct table_printer printer;
	const char *col_paths[CRD_MAX_COLUMNS + 2];	/* JSONPath per printer column */
	const char *spec_replicas;	/* scale: JSONPaths, or NULL without scale */
	const char *status_replicas;
	const char *label_selector;	/* may be NULL */
	const char *warning;		/* deprecation warning, or NULL */
	const cJSON *selectable;	/* selectableFields (array), or NULL */
	bool terminating;		/* CRD being deleted: no creates */
};

/* Hooks of the CustomResourceDefinition row (validation, defaults, delete). */
extern const struct resource_hooks crd_hooks;

/* Starts the CRD controller (initial list, then a watch on the CRDs).
 * Call after the store is open. 0 or -errno. */
int crd_start(struct apiserver *s);
/* Stops it: ends the watch and the timer (before the store closes). */
void crd_stop(void);
/* Frees all serving state, once no request can hold a row any more (after
 * the loop ran its last close callbacks). */
void crd_release(void);

/* ---- custom resources on the REST path (crd_cr.c) ---- */

/* Read path: prunes and defaults a stored object with the storage version's
 * schema, then sets apiVersion to r's version (conversion None). */
void crd_decode(const struct api_resource *r, cJSON *obj);
/* Write path: sets apiVersion to the storage version. */
void crd_to_storage(const struct api_resource *r, cJSON *obj);
/* The autoscaling/v1 Scale of obj (new object). */
cJSON *crd_scale_of(const struct api_resource *r, const cJSON *obj);
/* obj with the replicas of scale applied (new object), or NULL with e set. */
cJSON *crd_scale_apply(const struct api_resource *r, const cJSON *old,
		       const cJSON *scale, struct api_error *e);
/* True when field ("spec.color") is one of r's selectableFields. */
bool crd_field_selectable(const struct api_resource *r, const char *field);
/* The Table printer of a row: the CRD's columns, else the built-in one. */
const struct table_printer *crd_table_printer(const struct api_resource *r);
/*
 * The value at a simple JSONPath (".spec.replicas", ".items[0].name",
 * "{.status.x}"), or NULL. -EINVAL from crd_jsonpath_check() for anything
 * else (wildcards, filters, recursive descent).
 */
const cJSON *crd_jsonpath_get(const cJSON *obj, const char *path);
int crd_jsonpath_check(const char *path);

/* ---- discovery and OpenAPI ---- */

/* Bumped whenever the set of served custom resources changes. */
unsigned crd_generation(void);
/* Custom resources served under OpenAPI path "apis/<group>/<version>":
 * fills out[0..max) and returns how many. */
size_t crd_openapi_resources(const char *path, const struct schema_resource **out,
			     size_t max);

/* ---- CRD validation (crd_validate.c), also used by the unit tests ---- */

/* Adds causes for everything wrong with crd (old is NULL on create). */
void crd_validate(const cJSON *crd, const cJSON *old, struct api_error *e);
/* The CRD defaults: names.singular, names.listKind, conversion None. */
void crd_defaults(cJSON *crd);

#endif
