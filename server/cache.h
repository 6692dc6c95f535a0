/*
 * server/cache.h - the server's in-memory object cache for controllers.
 *
 * One struct cache_store per resource (pods, replicasets, ...), filled by a
 * storage_list() at start and kept current by a storage_watch() on the
 * resource's key prefix (server/storage.h), so controllers never poll the
 * store. Objects are decoded once, when the event arrives, and kept as cJSON
 * trees pruned to the fields controllers read (the resource's `drop` list;
 * pods drop spec, which is most of their bytes). The stored JSON text is not
 * kept.
 *
 * Ownership: the cache owns every object; handlers and lookups borrow them
 * until control returns to the loop (an event may replace or free them).
 * Objects are read-only for everyone but the cache: a controller that wants
 * to write duplicates first.
 *
 * Indexes: by key "ns/name" (hash), and by owner UID (every
 * metadata.ownerReferences[].uid, for the garbage collector and the
 * ReplicaSet/Deployment controllers). Lookups by namespace walk the hash.
 *
 * Limits: CACHE_MAX_RESOURCES stores per cache; a cut-off watch (-ENOBUFS)
 * is re-established with a fresh list (handlers see the differences as
 * add/update/delete).
 */
#ifndef K1S_SERVER_CACHE_H
#define K1S_SERVER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

struct apiserver;
struct api_resource;
struct cache_store;

#define CACHE_MAX_RESOURCES 32
#define CACHE_MAX_HANDLERS 32	/* per store */

/* Event handlers. old is NULL on add, new is NULL on delete. Both are
 * borrowed for the call only. */
typedef void (*cache_handler_fn)(struct cache_store *st, const cJSON *old, const cJSON *new,
				 void *ud);

struct cache_obj {
	char *key;		/* "ns/name" (cluster-scoped: "name") */
	cJSON *obj;		/* pruned object with metadata.resourceVersion */
	char **owner_uids;	/* metadata.ownerReferences[].uid, n_owners of them */
	size_t n_owners;
	uint32_t gen;		/* list generation that saw it (resync) */
	struct cache_obj *next;	/* hash chain */
};

/* One ownerReference in the owner-UID index. */
struct cache_owner_link {
	const char *uid;	/* borrowed from o->owner_uids */
	struct cache_obj *o;
	struct cache_owner_link *next;
};

#define CACHE_OWNER_BUCKETS 1024

struct cache_store {
	struct cache *cache;
	const struct api_resource *res;
	const char *const *drop;	/* dotted paths pruned on decode, NULL-terminated */
	char *prefix;			/* storage key prefix of the collection */
	struct cache_obj **buckets;
	size_t n_buckets, n;
	struct cache_owner_link **owners;	/* CACHE_OWNER_BUCKETS chains */
	uint32_t gen;			/* current list generation */
	struct swatch *watch;
	int64_t rev;			/* revision the store is current to */
	bool synced;			/* the first list is in */
	struct {
		cache_handler_fn fn;
		void *ud;
	} handlers[CACHE_MAX_HANDLERS];
	size_t n_handlers;
};

struct cache {
	struct apiserver *srv;
	struct cache_store stores[CACHE_MAX_RESOURCES];
	size_t n;
};

/* Sets up c for srv; no I/O yet. */
void cache_init(struct cache *c, struct apiserver *srv);
/*
 * Adds a store for the resource group/version/plural, pruning the dotted
 * paths in drop (static storage, may be NULL). Returns the store, or NULL
 * when the resource is unknown or the cache is full.
 */
struct cache_store *cache_add(struct cache *c, const char *group, const char *version,
			      const char *plural, const char *const *drop);
/* Registers a handler; call before cache_start. */
void cache_store_on_event(struct cache_store *st, cache_handler_fn fn, void *ud);
/* Lists and watches every store; handlers see the initial objects as adds.
 * 0 or -errno. */
int cache_start(struct cache *c);
/* Cancels the watches and frees every object. */
void cache_release(struct cache *c);

/* The store of a resource; NULL when not cached. */
struct cache_store *cache_store_find(struct cache *c, const char *group, const char *plural);
/* The object ns/name ("" ns for cluster-scoped), or NULL. Borrowed. */
const cJSON *cache_get(struct cache_store *st, const char *ns, const char *name);
/* Calls fn for every object in ns (NULL = all namespaces). */
void cache_each(struct cache_store *st, const char *ns,
		void (*fn)(const cJSON *obj, void *ud), void *ud);
/* Calls fn for every object that has an ownerReference to uid. */
void cache_each_owned(struct cache_store *st, const char *uid,
		      void (*fn)(const cJSON *obj, void *ud), void *ud);

/* "ns/name" of obj (or "name"); caller frees. */
char *cache_key_of(const cJSON *obj);

#endif
