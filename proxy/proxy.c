/*
 * proxy/proxy.c - the model of what is in the kernel, and the syncs.
 *
 * The model is a hash table of services (key "namespace/name"), each with
 * its rendered form per family. An update renders one service, diffs it
 * against its model entry and sends the difference; the rest of the model
 * is not looked at, so the cost does not grow with the service count.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "lib/log.h"
#include "lib/util.h"
#include "proxy/proxy_int.h"

#define FAMILIES 2
static const int family_of[FAMILIES] = { AF_INET, AF_INET6 };

struct model_svc {
	struct proxy__hnode hn;	/* in the model, by key */
	char *key;		/* "namespace/name" */
	struct proxy__render r[FAMILIES];
};

struct proxy {
	struct proxy_config cfg;
	char *table, *node_name, *zone;
	struct proxy__node node;
	struct proxy__nl *nl;
	bool synced;
	struct proxy__htab m;
	struct proxy__refs hairpin;	/* services per endpoint address */
	unsigned shards;	/* service tables now */
	unsigned in_kernel;	/* service tables in the kernel (to delete) */
	char **names;		/* table names: [0] = table, [i] = "table-i" */
	unsigned n_names;
	struct proxy_stats st;
};

static void model_init(struct proxy__htab *m);

void proxy_service_release(struct proxy_service *svc)
{
	free(svc->endpoints);
	svc->endpoints = NULL;
	svc->n_endpoints = 0;
}

int proxy_new(const struct proxy_config *cfg, struct proxy **out)
{
	struct proxy *p = xcalloc(1, sizeof(*p));
	int ret;

	p->cfg = *cfg;
	p->table = xstrdup(cfg->table ? cfg->table : "k1s-proxy");
	p->node_name = xstrdup(cfg->node_name ? cfg->node_name : "");
	p->zone = xstrdup(cfg->zone ? cfg->zone : "");
	p->cfg.table = p->table;
	p->cfg.node_name = p->node_name;
	p->cfg.zone = p->zone;
	p->node = (struct proxy__node){ .node_name = p->node_name, .zone = p->zone, .cfg = &p->cfg };
	model_init(&p->m);
	proxy__refs_init(&p->hairpin);
	ret = proxy__nl_open(&p->nl);
	if (ret) {
		proxy_free(p);
		p = NULL;
	}
	*out = p;
	return ret;
}

static bool family_on(const struct proxy *p, int f)
{
	return family_of[f] == AF_INET ? p->cfg.ipv4 : p->cfg.ipv6;
}

static void model_svc_free(struct model_svc *m)
{
	for (int f = 0; f < FAMILIES; f++)
		proxy__render_release(&m->r[f]);
	free(m->key);
	free(m);
}

static void model_init(struct proxy__htab *m)
{
	proxy__htab_init(m, 64);
}

static struct model_svc *msvc(const struct proxy__hnode *n)
{
	return n ? container_of(n, struct model_svc, hn) : NULL;
}

static void model_release(struct proxy__htab *md)
{
	struct proxy__hnode *n;

	while ((n = proxy__htab_pop(md)))
		model_svc_free(msvc(n));
}

void proxy_free(struct proxy *p)
{
	if (!p)
		return;
	model_release(&p->m);
	proxy__refs_release(&p->hairpin);
	for (unsigned i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	proxy__nl_close(p->nl);
	free(p->table);
	free(p->node_name);
	free(p->zone);
	free(p);
}

static size_t hash_str(const char *s)
{
	return proxy__fnv(PROXY__FNV_INIT, s, strlen(s));
}

/* The name of service table i, made on first use. */
static const char *table_name(struct proxy *p, unsigned i)
{
	if (i >= p->n_names) {
		p->names = xrealloc(p->names, (i + 1) * sizeof(*p->names));
		for (unsigned k = p->n_names; k <= i; k++)
			p->names[k] = k ? xasprintf("%s-%u", p->table, k) : xstrdup(p->table);
		p->n_names = i + 1;
	}
	return p->names[i];
}

static const char *shard_table(struct proxy *p, const char *key)
{
	return table_name(p, (unsigned)(hash_str(key) % p->shards));
}

/* Service tables for n services: one per PROXY_SHARD_SERVICES (a power of
 * two, at most PROXY_MAX_SHARDS), unless configured. */
static unsigned shards_for(const struct proxy *p, size_t n)
{
	unsigned k = 1;

	if (p->cfg.shards)
		return p->cfg.shards < PROXY_MAX_SHARDS ? p->cfg.shards : PROXY_MAX_SHARDS;
	while (k < PROXY_MAX_SHARDS && (size_t)k * PROXY_SHARD_SERVICES < n)
		k *= 2;
	return k;
}

static bool key_eq(const struct proxy__hnode *n, const void *key)
{
	return !strcmp(msvc(n)->key, key);
}

static struct proxy__hnode **model_slot(struct proxy__htab *md, const char *key)
{
	return proxy__htab_slot(md, hash_str(key), key_eq, key);
}

/* Puts m in the model in place of the entry with its key (freed), or
 * removes that entry when m is NULL. */
static void model_put(struct proxy__htab *md, const char *key, struct model_svc *m)
{
	struct proxy__hnode **slot = model_slot(md, key);

	if (*slot)
		model_svc_free(msvc(proxy__htab_unlink(md, slot)));
	if (!m)
		return;
	m->hn.hash = hash_str(m->key);
	proxy__htab_add(md, &m->hn);
}

static struct model_svc *render(struct proxy *p, const struct proxy_service *svc)
{
	struct model_svc *m = xcalloc(1, sizeof(*m));

	m->key = xasprintf("%s/%s", svc->namespace, svc->name);
	for (int f = 0; f < FAMILIES; f++) {
		proxy__render_init(&m->r[f], family_of[f]);
		if (family_on(p, f))
			proxy__render_service(svc, &p->node, &m->r[f]);
	}
	return m;
}

static int batch_send(struct proxy *p, struct proxy__batch *b)
{
	int ret = proxy__batch_send(b, &p->st.messages, &p->st.bytes);

	proxy__batch_free(b);
	if (ret)
		log_error("proxy: cannot program table '%s': %s", p->table, strerror(-ret));
	return ret;
}

/* Counts the hairpin addresses of family f of every service into refs
 * and adds each address's element once. */
static void hairpin_sync(struct proxy *p, struct proxy__batch *b, int f, struct proxy__refs *refs)
{
	struct inet_addr *add = NULL;
	size_t n = 0, alloc = 0;

	for (size_t i = 0; i < p->m.n_buckets; i++) {
		for (struct proxy__hnode *hn = p->m.buckets[i]; hn; hn = hn->next) {
			const struct proxy__render *r = &msvc(hn)->r[f];
			for (size_t k = 0; k < r->n_hairpin; k++) {
				if (proxy__refs_change(refs, &r->hairpin[k], 1) > 1)
					continue;
				ALLOC_GROW(add, n + 1, alloc);
				add[n++] = r->hairpin[k];
			}
		}
	}
	proxy__batch_hairpin(b, family_of[f], add, n, true);
	free(add);
}

static bool has_addr(const struct proxy__render *r, const struct inet_addr *a)
{
	return r->n_hairpin &&
	       bsearch(a, r->hairpin, r->n_hairpin, sizeof(*a), proxy__addr_cmp) != NULL;
}

/* The hairpin addresses of a that b lacks and whose count is refs (0:
 * new to the kernel, 1: a's was the last use). */
static struct inet_addr *hairpin_only(const struct proxy *p, const struct proxy__render *a,
				      const struct proxy__render *b, unsigned refs, size_t *n)
{
	struct inet_addr *out = xcalloc(a->n_hairpin + 1, sizeof(*out));

	*n = 0;
	for (size_t i = 0; i < a->n_hairpin; i++)
		if (!has_addr(b, &a->hairpin[i]) && proxy__refs_get(&p->hairpin, &a->hairpin[i]) == refs)
			out[(*n)++] = a->hairpin[i];
	return out;
}

/* Adds the elements old -> new makes used and deletes those it leaves
 * unused; the counts change once the kernel took it (hairpin_commit). */
static void hairpin_diff(struct proxy *p, struct proxy__batch *b, const struct proxy__render *old,
			 const struct proxy__render *new)
{
	size_t n_del, n_add;
	struct inet_addr *del = hairpin_only(p, old, new, 1, &n_del);
	struct inet_addr *add = hairpin_only(p, new, old, 0, &n_add);

	proxy__batch_hairpin(b, new->family, del, n_del, false);
	proxy__batch_hairpin(b, new->family, add, n_add, true);
	free(del);
	free(add);
}

static void hairpin_commit(struct proxy *p, const struct proxy__render *old,
			   const struct proxy__render *new)
{
	for (size_t i = 0; i < old->n_hairpin; i++)
		if (!has_addr(new, &old->hairpin[i]))
			proxy__refs_change(&p->hairpin, &old->hairpin[i], -1);
	for (size_t i = 0; i < new->n_hairpin; i++)
		if (!has_addr(old, &new->hairpin[i]))
			proxy__refs_change(&p->hairpin, &new->hairpin[i], 1);
}

/* Recreates every table from the skeletons and the services of the model,
 * and deletes service tables beyond the current count. */
static int sync_model(struct proxy *p)
{
	struct proxy__batch *b = proxy__batch_new(p->nl, p->table);
	struct proxy__refs refs;
	int ret;

	proxy__refs_init(&refs);

	for (int f = 0; f < FAMILIES; f++) {
		if (!family_on(p, f))
			continue;
		for (unsigned i = 0; i < p->shards; i++) {
			struct proxy__render skel;

			proxy__render_init(&skel, family_of[f]);
			proxy__render_skeleton(&skel, i == 0);
			proxy__batch_use_table(b, table_name(p, i));
			proxy__batch_reset_table(b, &skel);
			proxy__render_release(&skel);
		}
		for (size_t i = 0; i < p->m.n_buckets; i++) {
			for (struct proxy__hnode *n = p->m.buckets[i]; n; n = n->next) {
				proxy__batch_use_table(b, shard_table(p, msvc(n)->key));
				proxy__batch_add(b, &msvc(n)->r[f]);
			}
		}
		hairpin_sync(p, b, f, &refs);
		for (unsigned i = p->shards; i < p->in_kernel; i++) {
			proxy__batch_use_table(b, table_name(p, i));
			proxy__batch_del_table(b, family_of[f]);
		}
	}
	ret = batch_send(p, b);
	if (!ret) {
		p->in_kernel = p->shards;
		struct proxy__refs t = p->hairpin;
		p->hairpin = refs;
		refs = t;
	}
	proxy__refs_release(&refs);
	return ret;
}

/* Service tables an earlier run left (they are numbered without gaps). */
static unsigned count_tables(struct proxy *p)
{
	unsigned i = 1;

	while (i < PROXY_MAX_SHARDS) {
		bool found = false;
		for (int f = 0; f < FAMILIES; f++)
			found |= family_on(p, f) &&
				 !proxy__nl_table_exists(p->nl, table_name(p, i), family_of[f]);
		if (!found)
			break;
		i++;
	}
	return i;
}

int proxy_sync(struct proxy *p, const struct proxy_service *const *svcs, size_t n)
{
	struct proxy__htab old = p->m;
	unsigned old_shards = p->shards;
	int ret;

	p->shards = shards_for(p, n);
	if (!p->synced)
		p->in_kernel = count_tables(p);
	model_init(&p->m);
	for (size_t i = 0; i < n; i++) {	/* a duplicate key: the last wins */
		struct model_svc *m = render(p, svcs[i]);
		model_put(&p->m, m->key, m);
	}
	ret = sync_model(p);
	if (ret) {	/* the kernel kept the old tables: keep the old model */
		model_release(&p->m);
		p->m = old;
		p->shards = old_shards;
	} else {
		model_release(&old);
		p->synced = true;
	}
	p->st.services = p->m.n;
	p->st.repaired = false;
	return ret;
}

/* -ENOENT when the base table or the service's table is gone (someone
 * deleted it). */
static int check_tables(struct proxy *p, const char *key)
{
	const char *shard = shard_table(p, key);

	for (int f = 0; f < FAMILIES; f++) {
		if (!family_on(p, f))
			continue;
		int ret = proxy__nl_table_exists(p->nl, p->table, family_of[f]);
		if (!ret && shard != p->names[0])
			ret = proxy__nl_table_exists(p->nl, shard, family_of[f]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Sends the change from the model entry of key to m (NULL: removal). */
static int apply(struct proxy *p, const char *key, struct model_svc *m)
{
	struct model_svc *old = msvc(*model_slot(&p->m, key));
	struct proxy__batch *b;
	int ret;

	if (!p->synced)
		return -EINVAL;
	p->st.repaired = false;
	ret = check_tables(p, key);
	if (ret == -ENOENT) {
		log_warn("proxy: table '%s' went missing, rewriting it", p->table);
		model_put(&p->m, key, m);
		p->st.services = p->m.n;
		p->st.repaired = true;
		return sync_model(p);
	}
	if (ret)
		goto fail;
	b = proxy__batch_new(p->nl, p->table);
	proxy__batch_use_table(b, shard_table(p, key));
	for (int f = 0; f < FAMILIES; f++) {
		struct proxy__render empty;

		if (!family_on(p, f))
			continue;
		proxy__render_init(&empty, family_of[f]);
		proxy__batch_replace(b, old ? &old->r[f] : &empty, m ? &m->r[f] : &empty);
		hairpin_diff(p, b, old ? &old->r[f] : &empty, m ? &m->r[f] : &empty);
	}
	ret = batch_send(p, b);
	if (ret)
		goto fail;
	for (int f = 0; f < FAMILIES; f++) {
		struct proxy__render empty;

		proxy__render_init(&empty, family_of[f]);
		hairpin_commit(p, old ? &old->r[f] : &empty, m ? &m->r[f] : &empty);
	}
	model_put(&p->m, key, m);
	p->st.services = p->m.n;
	return 0;
fail:
	if (m)
		model_svc_free(m);
	return ret;
}

int proxy_update(struct proxy *p, const struct proxy_service *svc)
{
	if (!p->synced)
		return -EINVAL;
	struct model_svc *m = render(p, svc);
	return apply(p, m->key, m);
}

int proxy_remove(struct proxy *p, const char *ns, const char *name)
{
	char *key = xasprintf("%s/%s", ns, name);
	int ret = *model_slot(&p->m, key) ? apply(p, key, NULL) : -ENOENT;

	free(key);
	return ret;
}

int proxy_repair(struct proxy *p)
{
	int ret = 0;

	if (!p->synced)
		return -EINVAL;
	for (int f = 0; f < FAMILIES && !ret; f++)
		for (unsigned i = 0; i < p->shards && !ret && family_on(p, f); i++)
			ret = proxy__nl_table_exists(p->nl, table_name(p, i), family_of[f]);
	if (ret != -ENOENT)
		return ret;
	log_warn("proxy: a table of '%s' went missing, rewriting them", p->table);
	ret = sync_model(p);
	p->st.repaired = !ret;
	return ret ? ret : 1;
}

int proxy_flush(struct proxy *p)
{
	struct proxy__batch *b = proxy__batch_new(p->nl, p->table);
	int ret;

	for (int f = 0; f < FAMILIES; f++) {
		if (!family_on(p, f))
			continue;
		for (unsigned i = 0; i < (p->in_kernel ? p->in_kernel : 1); i++) {
			proxy__batch_use_table(b, table_name(p, i));
			proxy__batch_del_table(b, family_of[f]);
		}
	}
	ret = batch_send(p, b);
	if (!ret) {
		p->in_kernel = 0;
		model_release(&p->m);
		model_init(&p->m);
		proxy__refs_release(&p->hairpin);
		proxy__refs_init(&p->hairpin);
		p->synced = false;
		p->st.services = 0;
	}
	return ret;
}

void proxy_stats(const struct proxy *p, struct proxy_stats *out)
{
	*out = p->st;
}
