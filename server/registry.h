/*
 * server/registry.h - one row per served resource.
 *
 * The row says everything the generic REST code needs to serve a kind:
 * group/version/kind, plural and singular names, short names, categories,
 * whether it is namespaced, its verbs and subresources, how its name is
 * validated, and the hooks where the kind differs from the generic path
 * (defaulting and validation beyond the schema, the status strategy). Adding
 * a built-in kind is adding a row to builtin_resources[] in registry.c; CRDs
 * add rows at run time with registry_add(). Discovery documents are generated
 * from the rows, never written by hand.
 */
#ifndef K1S_SERVER_REGISTRY_H
#define K1S_SERVER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "validate.h"
#include "lib/schema.h"

/* The verbs are the schema engine's (the generated resource table uses the
 * same bits), so rows and generated data never disagree. */
enum verb {
	VERB_GET = SCHEMA_VERB_GET,
	VERB_LIST = SCHEMA_VERB_LIST,
	VERB_WATCH = SCHEMA_VERB_WATCH,
	VERB_CREATE = SCHEMA_VERB_CREATE,
	VERB_UPDATE = SCHEMA_VERB_UPDATE,
	VERB_PATCH = SCHEMA_VERB_PATCH,
	VERB_DELETE = SCHEMA_VERB_DELETE,
	VERB_DELETECOLLECTION = SCHEMA_VERB_DELETECOLLECTION,
};
#define VERBS_ALL 0xff
#define VERB_NAMES(XX) XX(VERB_CREATE, "create") XX(VERB_DELETE, "delete") \
	XX(VERB_DELETECOLLECTION, "deletecollection") XX(VERB_GET, "get") \
	XX(VERB_LIST, "list") XX(VERB_PATCH, "patch") XX(VERB_UPDATE, "update") \
	XX(VERB_WATCH, "watch")

struct api_error;
struct api_call;

/* Hooks where a kind departs from the generic path; any may be NULL. */
struct resource_hooks {
	/* Kind-specific defaults after the schema's (e.g. imagePullPolicy from the tag). */
	void (*defaults)(cJSON *obj);
	/* Kind-specific validation; adds causes to e. old is NULL on create. */
	void (*validate)(const cJSON *obj, const cJSON *old, struct api_error *e);
	/* A create that is answered, not stored (access and token reviews).
	 * Gets the parsed body; answers through c and frees nothing. */
	void (*answer)(struct api_call *c, cJSON *body);
	/* Deleting obj only marks it (deletionTimestamp) and delete_mark runs
	 * on the marked copy (CRDs: their cleanup finalizer). */
	bool (*graceful_delete)(const cJSON *obj);
	void (*delete_mark)(struct api_call *c, cJSON *obj);
};
struct crd_version;

struct api_resource {
	const char *group;	/* "" for core */
	const char *version;
	const char *kind;
	const char *plural;
	const char *singular;
	const char *short_names;	/* comma-separated, or NULL */
	const char *categories;		/* comma-separated, or NULL */
	bool namespaced;
	unsigned verbs;			/* enum verb bits */
	const char *subresources;	/* comma-separated: "status,scale" */
	const char *storage_group;	/* group whose storage it shares (events), or NULL */
	enum name_rule name_rule;
	bool has_status;		/* status is written through /status only */
	const struct resource_hooks *hooks;
	const char *list_kind;		/* computed: "<Kind>List" */
	const struct crd_version *crd;	/* a custom resource's version (server/crd.h), or NULL */
};

/* Sets up the built-in rows. Call once at start. */
void registry_init(void);
/* Finds the row of group/version/plural; NULL when not served. */
const struct api_resource *registry_find(const char *group, const char *version,
					 const char *plural);
/* Finds by kind for the given group/version ("ConfigMap"). */
const struct api_resource *registry_find_kind(const char *group, const char *version,
					      const char *kind);
/* Iteration over all rows in discovery order. */
size_t registry_count(void);
const struct api_resource *registry_at(size_t i);
/* True when r has the named subresource. */
bool registry_has_sub(const struct api_resource *r, const char *sub);
/*
 * The versions served for a group, preferred first, as a NULL-terminated
 * array; NULL when the group is unknown. For groups of custom resources
 * the array is valid until the next call (use it at once).
 */
const char *const *registry_group_versions(const char *group);

/*
 * Run-time rows (custom resources). registry_add() appends r (borrowed: it
 * must stay valid while it is in the registry and as long as a request may
 * still hold it); registry_remove() takes it out again. Built-in rows win
 * lookups over run-time ones of the same group/version/plural.
 */
void registry_add(const struct api_resource *r);
void registry_remove(const struct api_resource *r);
/* Orders versions as Kubernetes does: GA by major descending, then beta,
 * then alpha, then anything else alphabetically. <0 when a comes first. */
int registry_version_cmp(const char *a, const char *b);

#endif
