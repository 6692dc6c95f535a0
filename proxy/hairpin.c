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
#include "lib/util.h"
#include "proxy/proxy_int.h"

struct ref {
	struct proxy__hnode hn;
	struct inet_addr addr;
	unsigned n;
};

void proxy__refs_init(struct proxy__refs *rs)
{
	proxy__htab_init(&rs->t, 256);
}

void proxy__refs_release(struct proxy__refs *rs)
{
	struct proxy__hnode *n;

	while ((n = proxy__htab_pop(&rs->t)))
		free(container_of(n, struct ref, hn));
}

static size_t addr_hash(const struct inet_addr *a)
{
	size_t h = proxy__fnv(PROXY__FNV_INIT, &a->family, sizeof(a->family));

	return proxy__fnv(h, a->bytes, inet_family_len(a->family));
}

static bool addr_eq(const struct proxy__hnode *n, const void *key)
{
	return inet_addr_equal(&container_of(n, struct ref, hn)->addr, key);
}

static struct proxy__hnode **slot(const struct proxy__refs *rs, const struct inet_addr *a)
{
	return proxy__htab_slot(&rs->t, addr_hash(a), addr_eq, a);
}

unsigned proxy__refs_get(const struct proxy__refs *rs, const struct inet_addr *a)
{
	const struct proxy__hnode *n = *slot(rs, a);

	return n ? container_of(n, struct ref, hn)->n : 0;
}

unsigned proxy__refs_change(struct proxy__refs *rs, const struct inet_addr *a, int delta)
{
	struct proxy__hnode **pp = slot(rs, a);
	struct ref *r;

	if (!*pp) {
		if (delta <= 0)
			return 0;
		r = xcalloc(1, sizeof(*r));
		r->hn.hash = addr_hash(a);
		r->addr = *a;
		r->n = (unsigned)delta;
		proxy__htab_add(&rs->t, &r->hn);
		return r->n;
	}
	r = container_of(*pp, struct ref, hn);
	r->n = delta < 0 && r->n < (unsigned)-delta ? 0 : r->n + (unsigned)delta;
	if (r->n)
		return r->n;
	free(container_of(proxy__htab_unlink(&rs->t, pp), struct ref, hn));
	return 0;
}
