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
};
struct api_call;

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
 * static array; NULL when the group is unknown.
 */
const char *const *registry_group_versions(const char *group);

#endif
