/*
 * proxy/htab.c - the chained hash table of the proxy's model and of its
 * hairpin counts (see struct proxy__htab in proxy_int.h).
 */
#include <stdlib.h>
#include "lib/util.h"
#include "proxy/proxy_int.h"

size_t proxy__fnv(size_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

void proxy__htab_init(struct proxy__htab *t, size_t n_buckets)
{
	t->n_buckets = n_buckets;
	t->n = 0;
	t->buckets = xcalloc(n_buckets, sizeof(*t->buckets));
}

struct proxy__hnode *proxy__htab_pop(struct proxy__htab *t)
{
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct proxy__hnode *n = t->buckets[i];
		if (n) {
			t->buckets[i] = n->next;
			t->n--;
			return n;
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->n_buckets = 0;
	return NULL;
}

struct proxy__hnode **proxy__htab_slot(const struct proxy__htab *t, size_t hash,
				       bool (*eq)(const struct proxy__hnode *, const void *),
				       const void *key)
{
	struct proxy__hnode **pp = &t->buckets[hash % t->n_buckets];

	while (*pp && ((*pp)->hash != hash || !eq(*pp, key)))
		pp = &(*pp)->next;
	return pp;
}

static void grow(struct proxy__htab *t)
{
	size_t nb = t->n_buckets * 2;
	struct proxy__hnode **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < t->n_buckets; i++) {
		while (t->buckets[i]) {
			struct proxy__hnode *n = t->buckets[i];
			t->buckets[i] = n->next;
			n->next = b[n->hash % nb];
			b[n->hash % nb] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = nb;
}

/* At the chain's end: a full sync emits services in bucket order. */
void proxy__htab_add(struct proxy__htab *t, struct proxy__hnode *n)
{
	struct proxy__hnode **pp;

	if (t->n >= t->n_buckets)
		grow(t);
	pp = &t->buckets[n->hash % t->n_buckets];
	while (*pp)
		pp = &(*pp)->next;
	n->next = NULL;
	*pp = n;
	t->n++;
}

struct proxy__hnode *proxy__htab_unlink(struct proxy__htab *t, struct proxy__hnode **slot)
{
	struct proxy__hnode *n = *slot;

	*slot = n->next;
	t->n--;
	return n;
}
