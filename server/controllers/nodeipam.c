/*
 * server/controllers/nodeipam.c - the node IPAM controller: gives every Node
 * spec.podCIDRs, one per family of --cluster-cidr (default 10.42.0.0/16,
 * fd42::/56), of --node-cidr-mask-size-ipv4/-ipv6 bits (24, 64), as
 * kube-controller-manager's range allocator does.
 *
 * The allocated subnets are a bitmap per family, rebuilt from the cached
 * nodes at start (the cache delivers every existing node as an add before
 * the first reconcile runs from the queue's idle handler), set when a node
 * shows podCIDRs and cleared when a node is deleted. A node without
 * podCIDRs gets the lowest free subnet of each family (after the last one
 * handed out, wrapping, so a released subnet is not reused at once) by a
 * merge patch conditional on its resourceVersion; a failed patch releases
 * them and the key is retried with backoff. podCIDRs are immutable once set
 * (server/objcheck.c), so a node keeps its subnets until it is deleted.
 * Subnets of a node outside the cluster CIDR (set by someone else) are
 * left alone.
 */
#include "ctrl_priv.h"
#include "../apiserver.h"
#include "../server.h"
#include "lib/inet.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIPAM_MAX_SUBNETS 65536	/* per family: a larger range is capped */

struct nipam_pool {
	struct inet_prefix cidr;	/* the cluster CIDR of this family */
	unsigned mask;			/* node subnet prefix length */
	size_t n;			/* subnets: min(2^(mask-len), MAX) */
	uint8_t *used;			/* bitmap of n bits */
	size_t next;			/* where the next search starts */
};

static struct {
	struct ctrl_manager *m;
	struct nipam_pool pools[2];
	size_t npools;
	bool started;
} ni;

static bool bit(const struct nipam_pool *p, size_t i)
{
	return p->used[i / 8] & (1u << (i % 8));
}

static void bit_set(struct nipam_pool *p, size_t i, bool on)
{
	if (on)
		p->used[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		p->used[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static bool addr_bit(const struct inet_addr *a, unsigned pos)
{
	return a->bytes[pos / 8] & (0x80u >> (pos % 8));
}

/* The subnet index of a podCIDR string in its family's pool, or -1. */
static long subnet_index(const char *cidr, struct nipam_pool **pool)
{
	struct inet_prefix p;

	if (inet_prefix_parse(cidr, INET_PREFIX_STRICT, &p))
		return -1;
	for (size_t i = 0; i < ni.npools; i++) {
		struct nipam_pool *pl = &ni.pools[i];
		uint64_t idx = 0;

		if (p.len != pl->mask || !inet_prefix_contains(&pl->cidr, &p.addr))
			continue;
		for (unsigned pos = pl->cidr.len; pos < pl->mask; pos++) {
			if (idx >= NIPAM_MAX_SUBNETS)
				return -1;
			idx = idx << 1 | addr_bit(&p.addr, pos);
		}
		if (idx >= pl->n)
			return -1;
		*pool = pl;
		return (long)idx;
	}
	return -1;
}

static void mark_node(const cJSON *node, bool on)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_path(node, "spec.podCIDRs")) {
		struct nipam_pool *pl;
		long i = cJSON_IsString(c) ? subnet_index(c->valuestring, &pl) : -1;

		if (i >= 0)
			bit_set(pl, (size_t)i, on);
	}
}

/* The subnet at index i of pool, formatted into buf. */
static void subnet_format(const struct nipam_pool *pl, size_t i, char *buf)
{
	struct inet_prefix p = { .addr = pl->cidr.addr, .len = pl->mask };

	for (unsigned k = 0; k < pl->mask - pl->cidr.len && k < 32; k++)
		if (i & ((size_t)1 << k)) {
			unsigned pos = pl->mask - 1 - k;

			p.addr.bytes[pos / 8] |= (uint8_t)(0x80u >> (pos % 8));
		}
	inet_prefix_format(&p, buf);
}

static long pool_alloc(struct nipam_pool *pl)
{
	for (size_t k = 0; k < pl->n; k++) {
		size_t i = (pl->next + k) % pl->n;

		if (!bit(pl, i)) {
			bit_set(pl, i, true);
			pl->next = (i + 1) % pl->n;
			return (long)i;
		}
	}
	return -1;
}

struct nipam_patch {
	char key[256];
	long idx[2];
};

static void on_patched(int code, const cJSON *obj, void *ud)
{
	struct nipam_patch *np = ud;

	(void)obj;
	if (code != 200) {
		for (size_t i = 0; i < ni.npools; i++)
			if (np->idx[i] >= 0)
				bit_set(&ni.pools[i], (size_t)np->idx[i], false);
		log_warn("nodeipam: cannot set podCIDRs of node '%s': HTTP %d", np->key, code);
	}
	wq_done(&ni.m->nodeipam_q, np->key, code == 200 || code == 404 ? 0 : -EAGAIN);
	free(np);
}

static void reconcile(struct wq *q, const char *key, void *ud)
{
	const cJSON *node = cache_get(ni.m->nodes, "", key);
	struct nipam_patch *np;
	cJSON *patch, *spec, *arr;
	char buf[INET_PREFIX_STRLEN];

	(void)ud;
	if (!node || cJSON_GetArraySize(json_path(node, "spec.podCIDRs")) ||
	    json_path(node, "metadata.deletionTimestamp")) {
		wq_done(q, key, 0);
		return;
	}
	np = xcalloc(1, sizeof(*np));
	snprintf(np->key, sizeof(np->key), "%s", key);
	patch = cJSON_CreateObject();
	spec = json_obj(patch, "spec");
	arr = cJSON_AddArrayToObject(spec, "podCIDRs");
	for (size_t i = 0; i < ni.npools; i++) {
		np->idx[i] = pool_alloc(&ni.pools[i]);
		if (np->idx[i] < 0) {
			log_error("nodeipam: no free pod CIDR left for node '%s'", key);
			continue;
		}
		subnet_format(&ni.pools[i], (size_t)np->idx[i], buf);
		cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
		if (i == 0 || !json_get(spec, "podCIDR"))
			json_set_str(spec, "podCIDR", buf);
	}
	if (!cJSON_GetArraySize(arr)) {
		cJSON_Delete(patch);
		free(np);
		wq_done(q, key, -ENOSPC);
		return;
	}
	json_set_str(json_obj(patch, "metadata"), "resourceVersion",
		     json_get_str(json_get(node, "metadata"), "resourceVersion", ""));
	log_info("nodeipam: node '%s' gets podCIDRs %s", key, json_get_str(spec, "podCIDR", ""));
	api_internal_patch(ni.m->srv, "", "nodes", "", key, patch, on_patched, np);
	cJSON_Delete(patch);
}

static void on_node(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)ud;
	if (old)
		mark_node(old, false);
	if (new) {
		mark_node(new, true);
		if (!cJSON_GetArraySize(json_path(new, "spec.podCIDRs")))
			wq_add(&ni.m->nodeipam_q, json_get_str(json_get(new, "metadata"), "name", ""));
	}
}

/* Parses "10.42.0.0/16,fd42::/56" into pools; 0 or -EINVAL. */
int nodeipam__parse(const char *cidrs, unsigned mask4, unsigned mask6)
{
	char *copy = xstrdup(cidrs), *save = NULL, *tok;
	int ret = 0;

	ni.npools = 0;
	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		struct nipam_pool *pl = &ni.pools[ni.npools];
		unsigned bits;

		while (*tok == ' ')
			tok++;
		if (ni.npools == 2 || inet_prefix_parse(tok, INET_PREFIX_STRICT, &pl->cidr)) {
			ret = -EINVAL;
			break;
		}
		pl->mask = pl->cidr.addr.family == AF_INET ? mask4 : mask6;
		bits = pl->cidr.addr.family == AF_INET ? 32 : 128;
		if ((ni.npools && ni.pools[0].cidr.addr.family == pl->cidr.addr.family) ||
		    pl->mask < pl->cidr.len || pl->mask > bits) {
			ret = -EINVAL;
			break;
		}
		pl->n = pl->mask - pl->cidr.len >= 16 ? NIPAM_MAX_SUBNETS : (size_t)1 << (pl->mask - pl->cidr.len);
		free(pl->used);
		pl->used = xcalloc((pl->n + 7) / 8, 1);
		pl->next = 0;
		ni.npools++;
	}
	free(copy);
	return ni.npools ? ret : -EINVAL;
}

void nodeipam__start(struct ctrl_manager *m)
{
	const struct server_config *cfg = m->srv->cfg;
	unsigned m4 = cfg->node_cidr_mask_v4 ? (unsigned)cfg->node_cidr_mask_v4 : 24;
	unsigned m6 = cfg->node_cidr_mask_v6 ? (unsigned)cfg->node_cidr_mask_v6 : 64;

	ni.m = m;
	if (nodeipam__parse(cfg->cluster_cidr ? cfg->cluster_cidr : "10.42.0.0/16,fd42::/56", m4, m6)) {
		log_error("nodeipam: invalid --cluster-cidr '%s' or node CIDR mask sizes (%u, %u); node IPAM is off",
			  cfg->cluster_cidr, m4, m6);
		return;
	}
	wq_init(&m->nodeipam_q, m->srv->loop, reconcile, NULL);
	cache_store_on_event(m->nodes, on_node, NULL);
	ni.started = true;
}

void nodeipam__stop(void)
{
	for (size_t i = 0; i < 2; i++) {
		free(ni.pools[i].used);
		ni.pools[i].used = NULL;
	}
	if (ni.started)
		wq_release(&ni.m->nodeipam_q);
	memset(&ni, 0, sizeof(ni));
}

/* For tests: the subnet at index i of family pool k, and the index of a cidr. */
void nodeipam__subnet(size_t k, size_t i, char *buf)
{
	subnet_format(&ni.pools[k], i, buf);
}

long nodeipam__index(const char *cidr)
{
	struct nipam_pool *pl;

	return subnet_index(cidr, &pl);
}
