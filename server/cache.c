/*
 * server/cache.c - the controllers' object cache: list, then watch, per
 * resource; a hash by "ns/name" and one by owner UID (see cache.h).
 */
#include "cache.h"
#include "apiserver.h"
#include "storage.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MIN_BUCKETS 64

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

char *cache_key_of(const cJSON *obj)
{
	const cJSON *m = json_get(obj, "metadata");
	const char *ns = json_get_str(m, "namespace", ""), *name = json_get_str(m, "name", "");

	return *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

/* ---- the object table ---- */

static struct cache_obj **slot_of(struct cache_store *st, const char *key)
{
	struct cache_obj **p = &st->buckets[hash_str(key) % st->n_buckets];

	while (*p && strcmp((*p)->key, key))
		p = &(*p)->next;
	return p;
}

static void grow(struct cache_store *st)
{
	size_t n = st->n_buckets ? st->n_buckets * 4 : CACHE_MIN_BUCKETS;
	struct cache_obj **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < st->n_buckets; i++) {
		struct cache_obj *o = st->buckets[i], *next;

		for (; o; o = next) {
			size_t h = hash_str(o->key) % n;

			next = o->next;
			o->next = b[h];
			b[h] = o;
		}
	}
	free(st->buckets);
	st->buckets = b;
	st->n_buckets = n;
}

static void owners_unlink(struct cache_store *st, struct cache_obj *o)
{
	for (size_t i = 0; i < o->n_owners; i++) {
		struct cache_owner_link **p = &st->owners[hash_str(o->owner_uids[i]) % CACHE_OWNER_BUCKETS];

		while (*p && ((*p)->o != o || (*p)->uid != o->owner_uids[i]))
			p = &(*p)->next;
		if (*p) {
			struct cache_owner_link *l = *p;

			*p = l->next;
			free(l);
		}
	}
}

static void owners_set(struct cache_store *st, struct cache_obj *o)
{
	const cJSON *refs = json_path(o->obj, "metadata.ownerReferences"), *r;
	size_t n = 0;

	owners_unlink(st, o);
	for (size_t i = 0; i < o->n_owners; i++)
		free(o->owner_uids[i]);
	free(o->owner_uids);
	o->owner_uids = NULL;
	o->n_owners = 0;
	n = (size_t)cJSON_GetArraySize(refs);
	if (!n)
		return;
	o->owner_uids = xcalloc(n, sizeof(char *));
	cJSON_ArrayForEach(r, refs) {
		const char *uid = json_get_str(r, "uid", NULL);

		struct cache_owner_link *l, **b;

		if (!uid)
			continue;
		o->owner_uids[o->n_owners] = xstrdup(uid);
		l = xmalloc(sizeof(*l));
		b = &st->owners[hash_str(uid) % CACHE_OWNER_BUCKETS];
		l->uid = o->owner_uids[o->n_owners++];
		l->o = o;
		l->next = *b;
		*b = l;
	}
}

static void obj_free(struct cache_obj *o)
{
	for (size_t i = 0; i < o->n_owners; i++)
		free(o->owner_uids[i]);
	free(o->owner_uids);
	cJSON_Delete(o->obj);
	free(o->key);
	free(o);
}

/* Removes the dotted paths of st->drop from obj. */
static void prune(const struct cache_store *st, cJSON *obj)
{
	for (size_t i = 0; st->drop && st->drop[i]; i++) {
		const char *dot = strrchr(st->drop[i], '.');
		cJSON *parent = obj;

		if (dot) {
			char *p = xstrndup(st->drop[i], (size_t)(dot - st->drop[i]));

			parent = json_path(obj, p);
			free(p);
		}
		if (parent)
			cJSON_DeleteItemFromObjectCaseSensitive(parent, dot ? dot + 1 : st->drop[i]);
	}
}

static void notify(struct cache_store *st, const cJSON *old, const cJSON *new)
{
	for (size_t i = 0; i < st->n_handlers; i++)
		st->handlers[i].fn(st, old, new, st->handlers[i].ud);
}

/* Puts obj (taken) under key; notifies. */
static void upsert(struct cache_store *st, const char *key, cJSON *obj)
{
	struct cache_obj **p, *o;
	cJSON *old = NULL;

	if (st->n >= st->n_buckets * 2)
		grow(st);
	p = slot_of(st, key);
	if (*p) {
		o = *p;
		old = o->obj;
	} else {
		o = xcalloc(1, sizeof(*o));
		o->key = xstrdup(key);
		*p = o;
		st->n++;
	}
	o->obj = obj;
	o->gen = st->gen;
	owners_set(st, o);
	notify(st, old, obj);
	cJSON_Delete(old);
}

static void remove_key(struct cache_store *st, const char *key)
{
	struct cache_obj **p = slot_of(st, key), *o = *p;

	if (!o)
		return;
	*p = o->next;
	st->n--;
	owners_unlink(st, o);
	notify(st, o->obj, NULL);
	obj_free(o);
}

/* "ns/name" from a storage key under st->prefix. */
static const char *key_rel(const struct cache_store *st, const char *key)
{
	size_t n = strlen(st->prefix);

	return strncmp(key, st->prefix, n) ? NULL : key + n;
}

static cJSON *decode(struct cache_store *st, const char *value, size_t len, int64_t rev)
{
	cJSON *o = api_decode_as(st->res, value, len, rev);

	if (o)
		prune(st, o);
	return o;
}

/* ---- list and watch ---- */

static int watch_start(struct cache_store *st);

static int relist(struct cache_store *st)
{
	struct slist l = { 0 };
	int r = storage_list(st->cache->srv, st->prefix, 0, "", 0, &l);

	if (r)
		return r;
	st->gen++;
	for (size_t i = 0; i < l.n; i++) {
		const char *k = key_rel(st, l.items[i].key);
		cJSON *obj;
		struct cache_obj *cur;

		if (!k)
			continue;
		cur = *slot_of(st, k);
		if (cur) {
			char rv[24];

			snprintf(rv, sizeof(rv), "%lld", (long long)l.items[i].mod_rev);
			cur->gen = st->gen;
			if (!strcmp(json_get_str(json_get(cur->obj, "metadata"), "resourceVersion", ""), rv))
				continue;
		}
		obj = decode(st, l.items[i].value, l.items[i].len, l.items[i].mod_rev);
		if (obj)
			upsert(st, k, obj);
	}
	/* whatever the list no longer has went away while we were cut off */
	for (size_t b = 0; st->synced && b < st->n_buckets; b++) {
		struct cache_obj *o = st->buckets[b], *next;

		for (; o; o = next) {
			next = o->next;
			if (o->gen != st->gen)
				remove_key(st, o->key);
		}
	}
	st->rev = l.rev;
	st->synced = true;
	slist_release(&l);
	return watch_start(st);
}

static void on_event(const struct sevent *ev, void *ud)
{
	struct cache_store *st = ud;
	const char *k = key_rel(st, ev->key);

	st->rev = ev->rev;
	if (!k)
		return;
	if (ev->type == SEVENT_DELETE) {
		remove_key(st, k);
	} else {
		cJSON *obj = decode(st, ev->value, ev->len, ev->rev);

		if (obj)
			upsert(st, k, obj);
		else
			log_warn("cache: cannot decode '%s'", ev->key);
	}
}

static void on_error(int err, void *ud)
{
	struct cache_store *st = ud;

	st->watch = NULL;	/* the adapter freed it */
	if (err == -ESHUTDOWN)
		return;
	log_warn("cache: watch of '%s' cut off (%s); listing again", st->prefix, strerror(-err));
	if (relist(st))
		log_error("cache: cannot list '%s' again", st->prefix);
}

static int watch_start(struct cache_store *st)
{
	static const struct swatch_cbs cbs = { on_event, on_error };
	int r = storage_watch(st->cache->srv, st->prefix, st->rev, &cbs, st, &st->watch);

	if (r == -ESTALE)
		return relist(st);
	return r;
}

/* ---- public ---- */

void cache_init(struct cache *c, struct apiserver *srv)
{
	memset(c, 0, sizeof(*c));
	c->srv = srv;
}

struct cache_store *cache_add(struct cache *c, const char *group, const char *version,
			      const char *plural, const char *const *drop)
{
	const struct api_resource *r = registry_find(group, version, plural);
	struct cache_store *st;

	if (!r || c->n >= CACHE_MAX_RESOURCES)
		return NULL;
	st = &c->stores[c->n++];
	st->cache = c;
	st->res = r;
	st->drop = drop;
	st->prefix = api_key(r, "", "");	/* ".../plural/" */
	st->owners = xcalloc(CACHE_OWNER_BUCKETS, sizeof(*st->owners));
	grow(st);
	return st;
}

void cache_store_on_event(struct cache_store *st, cache_handler_fn fn, void *ud)
{
	if (st->n_handlers >= CACHE_MAX_HANDLERS)
		BUG("too many cache handlers");
	st->handlers[st->n_handlers].fn = fn;
	st->handlers[st->n_handlers].ud = ud;
	st->n_handlers++;
}

int cache_start(struct cache *c)
{
	int r = 0;

	for (size_t i = 0; i < c->n && !r; i++)
		r = relist(&c->stores[i]);
	return r;
}

void cache_release(struct cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct cache_store *st = &c->stores[i];

		storage_watch_cancel(st->watch);
		for (size_t b = 0; b < st->n_buckets; b++) {
			struct cache_obj *o = st->buckets[b], *next;

			for (; o; o = next) {
				next = o->next;
				owners_unlink(st, o);
				obj_free(o);
			}
		}
		free(st->buckets);
		free(st->owners);
		free(st->prefix);
	}
	memset(c, 0, sizeof(*c));
}

struct cache_store *cache_store_find(struct cache *c, const char *group, const char *plural)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->stores[i].res->group, group) && !strcmp(c->stores[i].res->plural, plural))
			return &c->stores[i];
	return NULL;
}

const cJSON *cache_get(struct cache_store *st, const char *ns, const char *name)
{
	char *k = ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
	struct cache_obj *o = *slot_of(st, k);

	free(k);
	return o ? o->obj : NULL;
}

void cache_each(struct cache_store *st, const char *ns,
		void (*fn)(const cJSON *obj, void *ud), void *ud)
{
	size_t n = ns ? strlen(ns) : 0;

	for (size_t b = 0; b < st->n_buckets; b++)
		for (struct cache_obj *o = st->buckets[b]; o; o = o->next)
			if (!ns || (!strncmp(o->key, ns, n) && o->key[n] == '/'))
				fn(o->obj, ud);
}

void cache_each_owned(struct cache_store *st, const char *uid,
		      void (*fn)(const cJSON *obj, void *ud), void *ud)
{
	struct cache_owner_link *l = st->owners[hash_str(uid) % CACHE_OWNER_BUCKETS];
	struct cache_obj **hits = NULL;
	size_t n = 0, alloc = 0;

	/* collect first: fn may not change the cache, but stay safe if it does */
	for (; l; l = l->next)
		if (!strcmp(l->uid, uid)) {
			ALLOC_GROW(hits, n + 1, alloc);
			hits[n++] = l->o;
		}
	for (size_t i = 0; i < n; i++)
		fn(hits[i]->obj, ud);
	free(hits);
}
