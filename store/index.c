/*
 * store/index.c - key -> (create_rev, mod_rev) hash table of the live keys,
 * including accepted but uncommitted writes. Chained buckets, doubled when
 * the load passes 1; FNV-1a hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sqlite.h"

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void index_grow(struct store__index *x)
{
	size_t nb = x->nb ? x->nb * 2 : 1024;
	struct store__ient **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < x->nb; i++) {
		struct store__ient *e = x->b[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(x->b);
	x->b = b;
	x->nb = nb;
}

struct store__ient *store__index_get(struct store__index *x, const char *key)
{
	uint64_t h;

	if (!x->nb)
		return NULL;
	h = hash_str(key);
	for (struct store__ient *e = x->b[h & (x->nb - 1)]; e; e = e->next)
		if (e->hash == h && !strcmp(e->key, key))
			return e;
	return NULL;
}

struct store__ient *store__index_put(struct store__index *x, const char *key,
				     int64_t create_rev, int64_t mod_rev)
{
	struct store__ient *e = store__index_get(x, key);
	size_t len;

	if (!e) {
		if (x->n >= x->nb)
			index_grow(x);
		len = strlen(key);
		e = xmalloc(sizeof(*e) + len + 1);
		memcpy(e->key, key, len + 1);
		e->hash = hash_str(key);
		e->next = x->b[e->hash & (x->nb - 1)];
		x->b[e->hash & (x->nb - 1)] = e;
		x->n++;
	}
	e->create_rev = create_rev;
	e->mod_rev = mod_rev;
	return e;
}

void store__index_del(struct store__index *x, const char *key)
{
	uint64_t h;
	struct store__ient **p;

	if (!x->nb)
		return;
	h = hash_str(key);
	for (p = &x->b[h & (x->nb - 1)]; *p; p = &(*p)->next) {
		struct store__ient *e = *p;
		if (e->hash == h && !strcmp(e->key, key)) {
			*p = e->next;
			free(e);
			x->n--;
			return;
		}
	}
}

void store__index_release(struct store__index *x)
{
	for (size_t i = 0; i < x->nb; i++) {
		struct store__ient *e = x->b[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(x->b);
	memset(x, 0, sizeof(*x));
}
