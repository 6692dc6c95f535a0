/*
 * proxy/hairpin.c - reference counts of the hairpin set's elements.
 *
 * The base table's set "hairpin-endpoints" holds "E . E" for every address
 * E any balancer may DNAT to; its one rule in the masquerading chain marks
 * a DNATed packet whose source is its destination (a pod reaching itself
 * through a service). An address can back many services, so its element
 * stays while one of them still uses it: this counts, per address (the
 * family is part of it), the services whose rendered form lists it.
 */
#include <stdlib.h>
#include <string.h>
#include "lib/util.h"
#include "proxy/proxy_int.h"

struct proxy__ref {
	struct proxy__ref *next;
	struct inet_addr addr;
	unsigned n;
};

void proxy__refs_init(struct proxy__refs *rs)
{
	rs->n_buckets = 256;
	rs->n = 0;
	rs->buckets = xcalloc(rs->n_buckets, sizeof(*rs->buckets));
}

void proxy__refs_release(struct proxy__refs *rs)
{
	for (size_t i = 0; i < rs->n_buckets; i++) {
		while (rs->buckets[i]) {
			struct proxy__ref *r = rs->buckets[i];
			rs->buckets[i] = r->next;
			free(r);
		}
	}
	free(rs->buckets);
	memset(rs, 0, sizeof(*rs));
}

static size_t addr_hash(const struct inet_addr *a)
{
	size_t h = 14695981039346656037ull ^ (size_t)a->family;	/* FNV-1a */

	for (size_t i = 0; i < inet_family_len(a->family); i++)
		h = (h ^ a->bytes[i]) * 1099511628211ull;
	return h;
}

static struct proxy__ref **slot(const struct proxy__refs *rs, const struct inet_addr *a)
{
	struct proxy__ref **pp = &rs->buckets[addr_hash(a) % rs->n_buckets];

	while (*pp && !inet_addr_equal(&(*pp)->addr, a))
		pp = &(*pp)->next;
	return pp;
}

unsigned proxy__refs_get(const struct proxy__refs *rs, const struct inet_addr *a)
{
	const struct proxy__ref *r = *slot(rs, a);

	return r ? r->n : 0;
}

static void grow(struct proxy__refs *rs)
{
	size_t nb = rs->n_buckets * 2;
	struct proxy__ref **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < rs->n_buckets; i++) {
		while (rs->buckets[i]) {
			struct proxy__ref *r = rs->buckets[i];
			rs->buckets[i] = r->next;
			r->next = b[addr_hash(&r->addr) % nb];
			b[addr_hash(&r->addr) % nb] = r;
		}
	}
	free(rs->buckets);
	rs->buckets = b;
	rs->n_buckets = nb;
}

unsigned proxy__refs_change(struct proxy__refs *rs, const struct inet_addr *a, int delta)
{
	struct proxy__ref **pp = slot(rs, a), *r = *pp;

	if (!r) {
		if (delta <= 0)
			return 0;
		if (rs->n >= rs->n_buckets) {
			grow(rs);
			pp = slot(rs, a);
		}
		r = *pp = xcalloc(1, sizeof(*r));
		r->addr = *a;
		rs->n++;
	}
	r->n = delta < 0 && r->n < (unsigned)-delta ? 0 : r->n + (unsigned)delta;
	if (r->n)
		return r->n;
	*pp = r->next;
	free(r);
	rs->n--;
	return 0;
}
