/*
 * proxy/nft.c - rendered chains, sets and elements to one nf_tables netlink
 * batch (libnftnl builds the messages, libmnl owns the socket).
 *
 * The expressions of each rule are built in nft_expr.c. The batch asks the
 * kernel for one ack only, on its last message; errors of earlier messages
 * arrive before it, in order.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/rtnetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include "lib/util.h"
#include "proxy/proxy_int.h"

/* nft's datatype ids (src/datatype.h) and concatenation encoding. */
enum { T_INTEGER = 4, T_IPADDR = 7, T_IP6ADDR = 8, T_PROTO = 12, T_SERVICE = 13 };
#define T_CONCAT(a, b) (((a) << 6) | (b))

struct proxy__nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
};

struct proxy__batch {
	struct proxy__nl *nl;
	struct nftnl_batch *b;
	char *base;		/* the base table (shard 0) */
	const char *table;	/* the table messages go to now */
	int family;		/* NFPROTO_* of the messages being built */
	uint32_t first_seq, set_id;
	uint32_t ack_seq;	/* the last message asking for an ack */
	size_t msgs;
};

int proxy__nl_open(struct proxy__nl **out)
{
	struct proxy__nl *nl = xcalloc(1, sizeof(*nl));
	int one = 1, ret = 0;

	nl->sock = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)mono_ns();
	/* errors carry only the header of the failed message */
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
out:
	if (ret) {
		proxy__nl_close(nl);
		nl = NULL;
	}
	*out = nl;
	return ret;
}

void proxy__nl_close(struct proxy__nl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl);
}

static int nfproto(int family)
{
	return family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

struct proxy__batch *proxy__batch_new(struct proxy__nl *nl, const char *table)
{
	struct proxy__batch *b = xcalloc(1, sizeof(*b));

	b->nl = nl;
	b->base = xstrdup(table);
	b->table = b->base;
	b->family = NFPROTO_IPV4;
	b->b = nftnl_batch_alloc(256 * 1024, MNL_SOCKET_BUFFER_SIZE);
	if (!b->b)
		BUG("out of memory");
	b->first_seq = nl->seq;
	nftnl_batch_begin(nftnl_batch_buffer(b->b), nl->seq++);
	nftnl_batch_update(b->b);
	return b;
}

void proxy__batch_free(struct proxy__batch *b)
{
	if (!b)
		return;
	nftnl_batch_free(b->b);
	free(b->base);
	free(b);
}

static struct nlmsghdr *msg(struct proxy__batch *b, int type, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->b), (uint16_t)type,
				     (uint16_t)b->family, flags, b->nl->seq++);
}

static void msg_done(struct proxy__batch *b)
{
	nftnl_batch_update(b->b);
	b->msgs++;
}

/* --- tables, chains, sets --- */

static void table_msg(struct proxy__batch *b, int type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();

	if (flags & NLM_F_ACK)
		b->ack_seq = b->nl->seq;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, (uint32_t)b->family);
	nftnl_table_nlmsg_build_payload(msg(b, type, flags), t);
	msg_done(b);
	nftnl_table_free(t);
}

static void chain_msg(struct proxy__batch *b, int type, const struct proxy__chain *c)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();

	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, b->table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, c->name);
	if (type == NFT_MSG_NEWCHAIN && c->hook >= 0) {
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, (uint32_t)c->hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, c->prio);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, c->nat ? "nat" : "filter");
	}
	nftnl_chain_nlmsg_build_payload(msg(b, type, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0), ch);
	msg_done(b);
	nftnl_chain_free(ch);
}

static struct nftnl_set *set_new(struct proxy__batch *b, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	nftnl_set_set_str(s, NFTNL_SET_TABLE, b->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, (uint32_t)b->family);
	return s;
}

static void set_send(struct proxy__batch *b, struct nftnl_set *s, int type)
{
	nftnl_set_nlmsg_build_payload(msg(b, type, type == NFT_MSG_NEWSET ? NLM_F_CREATE : 0), s);
	msg_done(b);
	nftnl_set_free(s);
}

/* A verdict map of the skeleton. */
static void vmap_add(struct proxy__batch *b, const char *name, bool with_addr)
{
	struct nftnl_set *s = set_new(b, name);
	bool v6 = b->family == NFPROTO_IPV6;
	uint32_t kt = T_CONCAT(T_PROTO, T_SERVICE), kl = 8;

	if (with_addr) {
		kt = T_CONCAT(T_CONCAT(v6 ? T_IP6ADDR : T_IPADDR, T_PROTO), T_SERVICE);
		kl = v6 ? 24 : 12;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, kt);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, kl);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++b->set_id);
	set_send(b, s, NFT_MSG_NEWSET);
}

/* The base table's set of "E . E" for every endpoint address E. */
static void hairpin_set_add(struct proxy__batch *b)
{
	struct nftnl_set *s = set_new(b, PROXY__SET_HAIRPIN);
	bool v6 = b->family == NFPROTO_IPV6;
	uint32_t t = v6 ? T_IP6ADDR : T_IPADDR;

	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, T_CONCAT(t, t));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, v6 ? 32 : 8);
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++b->set_id);
	set_send(b, s, NFT_MSG_NEWSET);
}

static void affinity_set_add(struct proxy__batch *b, const struct proxy__set *as)
{
	struct nftnl_set *s = set_new(b, as->name);
	bool v6 = b->family == NFPROTO_IPV6;

	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT | NFT_SET_EVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, v6 ? T_IP6ADDR : T_IPADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, v6 ? 16 : 4);
	nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, (uint64_t)as->timeout * 1000);
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++b->set_id);
	set_send(b, s, NFT_MSG_NEWSET);
}

/* nft's set user data (libnftnl udata.h, nft src/expression.c): an endpoint
 * map's key is `typeof numgen random mod 2` and its data `typeof ip daddr .
 * tcp dport`, so that `nft list` prints it in a form `nft -f` loads back
 * (the modulus of the typeof is only a type; the rules use their own). */
enum { UD_KEYBYTEORDER = 0, UD_DATABYTEORDER = 1, UD_KEY_TYPEOF = 3, UD_DATA_TYPEOF = 4,
       UD_DATA_INTERVAL = 6 };
enum { UD_EXPR = 0, UD_DATA = 1 };	/* inside a typeof */
enum { EXPR_PAYLOAD = 7, EXPR_CONCAT = 13, EXPR_NUMGEN = 23 };
enum { PROTO_TCP = 8, PROTO_IP = 12, PROTO_IP6 = 13 };	/* nft proto_desc ids */

static void ud_payload(struct nftnl_udata_buf *u, uint8_t idx, uint32_t desc, uint32_t field)
{
	struct nftnl_udata *n = nftnl_udata_nest_start(u, idx), *d;

	nftnl_udata_put_u32(u, UD_EXPR, EXPR_PAYLOAD);
	d = nftnl_udata_nest_start(u, UD_DATA);
	nftnl_udata_put_u32(u, 0, desc);
	nftnl_udata_put_u32(u, 1, field);
	nftnl_udata_nest_end(u, d);
	nftnl_udata_nest_end(u, n);
}

static void endpoint_map_udata(struct nftnl_set *s, bool v6)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(256);
	struct nftnl_udata *n, *d;

	nftnl_udata_put_u32(u, UD_KEYBYTEORDER, 1 /* host */);
	nftnl_udata_put_u32(u, UD_DATABYTEORDER, 0);
	n = nftnl_udata_nest_start(u, UD_KEY_TYPEOF);
	nftnl_udata_put_u32(u, UD_EXPR, EXPR_NUMGEN);
	d = nftnl_udata_nest_start(u, UD_DATA);
	nftnl_udata_put_u32(u, 0, NFT_NG_RANDOM);
	nftnl_udata_put_u32(u, 1, 2);	/* modulus */
	nftnl_udata_put_u32(u, 2, 0);	/* offset */
	nftnl_udata_nest_end(u, d);
	nftnl_udata_nest_end(u, n);
	n = nftnl_udata_nest_start(u, UD_DATA_TYPEOF);
	nftnl_udata_put_u32(u, UD_EXPR, EXPR_CONCAT);
	d = nftnl_udata_nest_start(u, UD_DATA);
	ud_payload(u, 0, v6 ? PROTO_IP6 : PROTO_IP, v6 ? 9 : 12);	/* daddr */
	ud_payload(u, 1, PROTO_TCP, 2);					/* dport */
	nftnl_udata_nest_end(u, d);
	nftnl_udata_nest_end(u, n);
	nftnl_udata_put_u32(u, UD_DATA_INTERVAL, 0);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
}

/* Elements per message: a message must fit the batch's overrun space
 * (MNL_SOCKET_BUFFER_SIZE) and its element list a 16-bit attribute length;
 * an ip6 element takes at most 44 bytes. */
#define ELEMS_PER_MSG 128

static void elems_send(struct proxy__batch *b, struct nftnl_set *s, bool add)
{
	nftnl_set_elems_nlmsg_build_payload(msg(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
						add ? NLM_F_CREATE : 0), s);
	msg_done(b);
	nftnl_set_free(s);
}

/* An endpoint map's elements: index -> address . port. */
static void endpoint_elems(struct proxy__batch *b, const struct proxy__set *es)
{
	struct nftnl_set *s = NULL;

	for (uint32_t i = 0; i < es->n_dests; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		const struct proxy__dest *d = &es->dests[i];
		size_t al = inet_family_len(d->addr.family);
		uint8_t data[20] = { 0 };

		memcpy(data, d->addr.bytes, al);
		data[al] = (uint8_t)(d->port >> 8);
		data[al + 1] = (uint8_t)d->port;
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &i, sizeof(i));
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, (uint32_t)al + 4);
		if (!s)
			s = set_new(b, es->name);
		nftnl_set_elem_add(s, e);
		if (i % ELEMS_PER_MSG == ELEMS_PER_MSG - 1 || i + 1 == es->n_dests) {
			elems_send(b, s, true);
			s = NULL;
		}
	}
}

static void endpoint_map_add(struct proxy__batch *b, const struct proxy__set *es)
{
	struct nftnl_set *s = set_new(b, es->name);
	bool v6 = b->family == NFPROTO_IPV6;

	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, T_INTEGER);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, T_CONCAT(v6 ? T_IP6ADDR : T_IPADDR, T_SERVICE));
	nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, v6 ? 20 : 8);
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++b->set_id);
	endpoint_map_udata(s, v6);
	set_send(b, s, NFT_MSG_NEWSET);
	endpoint_elems(b, es);
}

static void set_add(struct proxy__batch *b, const struct proxy__set *s)
{
	if (s->n_dests)
		endpoint_map_add(b, s);
	else
		affinity_set_add(b, s);
}

static const char *map_name(enum proxy__map m)
{
	static const char *const names[] = {
		[PROXY__M_SVC] = PROXY__MAP_SVC, [PROXY__M_NP] = PROXY__MAP_NP,
		[PROXY__M_NOEP_SVC] = PROXY__MAP_NOEP_SVC, [PROXY__M_NOEP_NP] = PROXY__MAP_NOEP_NP,
	};
	return names[m];
}

static struct nftnl_set_elem *elem_new(const void *key, size_t len, int verdict,
				       const char *chain)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, (uint32_t)len);
	if (verdict != -1) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)verdict);
		if (chain)
			nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	}
	return e;
}

/* Elements of r in map m for which keep(i) holds, in one message. */
static void elems_msg(struct proxy__batch *b, const struct proxy__render *r, enum proxy__map m,
		      int type, const bool *keep)
{
	struct nftnl_set *s = NULL;
	const char *table = b->table;

	/* the no-endpoint maps live in the base table only */
	if (m == PROXY__M_NOEP_SVC || m == PROXY__M_NOEP_NP)
		b->table = b->base;
	for (size_t i = 0; i < r->n_elems; i++) {
		const struct proxy__elem *e = &r->elems[i];
		if (e->map != m || (keep && !keep[i]))
			continue;
		if (!s)
			s = set_new(b, map_name(m));
		nftnl_set_elem_add(s, elem_new(e->key, e->key_len,
					       type == NFT_MSG_NEWSETELEM ? e->verdict : -1, e->chain));
	}
	if (s) {
		nftnl_set_elems_nlmsg_build_payload(msg(b, type, type == NFT_MSG_NEWSETELEM ?
							NLM_F_CREATE : 0), s);
		msg_done(b);
		nftnl_set_free(s);
	}
	b->table = table;
}

static void rules_add(struct proxy__batch *b, int family, const struct proxy__chain *c)
{
	for (size_t i = 0; i < c->n_rules; i++) {
		struct nftnl_rule *r = nftnl_rule_alloc();

		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, b->table);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->name);
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)b->family);
		proxy__rule_exprs(r, family, &c->rules[i]);
		nftnl_rule_nlmsg_build_payload(msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), r);
		msg_done(b);
		nftnl_rule_free(r);
	}
}

/* Flushes a chain: DELRULE without a handle deletes all its rules. */
static void chain_flush(struct proxy__batch *b, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, b->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)b->family);
	nftnl_rule_nlmsg_build_payload(msg(b, NFT_MSG_DELRULE, 0), r);
	msg_done(b);
	nftnl_rule_free(r);
}

/* --- public batch operations --- */

void proxy__batch_use_table(struct proxy__batch *b, const char *table)
{
	b->table = table ? table : b->base;
}

void proxy__batch_del_table(struct proxy__batch *b, int family)
{
	b->family = nfproto(family);
	table_msg(b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	table_msg(b, NFT_MSG_DELTABLE, NLM_F_ACK);
}

void proxy__batch_reset_table(struct proxy__batch *b, const struct proxy__render *skel)
{
	proxy__batch_del_table(b, skel->family);
	table_msg(b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	vmap_add(b, PROXY__MAP_SVC, true);
	vmap_add(b, PROXY__MAP_NP, false);
	if (!strcmp(b->table, b->base)) {
		vmap_add(b, PROXY__MAP_NOEP_SVC, true);
		vmap_add(b, PROXY__MAP_NOEP_NP, false);
		hairpin_set_add(b);
	}
	proxy__batch_add(b, skel);
}

static void elems_all(struct proxy__batch *b, const struct proxy__render *r, int type,
		      const bool *keep)
{
	for (int m = PROXY__M_SVC; m <= PROXY__M_NOEP_NP; m++)
		elems_msg(b, r, (enum proxy__map)m, type, keep);
}

void proxy__batch_hairpin(struct proxy__batch *b, int family, const struct inet_addr *a,
			  size_t n, bool add)
{
	const char *table = b->table;

	b->family = nfproto(family);
	b->table = b->base;
	for (size_t i = 0; i < n; i += ELEMS_PER_MSG) {
		struct nftnl_set *s = set_new(b, PROXY__SET_HAIRPIN);

		for (size_t k = i; k < n && k < i + ELEMS_PER_MSG; k++) {
			size_t al = inet_family_len(a[k].family);
			uint8_t key[32];

			memcpy(key, a[k].bytes, al);
			memcpy(key + al, a[k].bytes, al);
			nftnl_set_elem_add(s, elem_new(key, 2 * al, -1, NULL));
		}
		elems_send(b, s, add);
	}
	b->table = table;
}

void proxy__batch_add(struct proxy__batch *b, const struct proxy__render *r)
{
	b->family = nfproto(r->family);
	for (size_t i = 0; i < r->n_sets; i++)
		set_add(b, &r->sets[i]);
	for (size_t i = 0; i < r->n_chains; i++)
		chain_msg(b, NFT_MSG_NEWCHAIN, &r->chains[i]);
	for (size_t i = 0; i < r->n_chains; i++)
		rules_add(b, r->family, &r->chains[i]);
	elems_all(b, r, NFT_MSG_NEWSETELEM, NULL);
}

static bool has_chain(const struct proxy__render *r, const char *name)
{
	for (size_t i = 0; i < r->n_chains; i++)
		if (!strcmp(r->chains[i].name, name))
			return true;
	return false;
}

static const struct proxy__set *find_set(const struct proxy__render *r, const char *name)
{
	for (size_t i = 0; i < r->n_sets; i++)
		if (!strcmp(r->sets[i].name, name))
			return &r->sets[i];
	return NULL;
}

static bool dests_equal(const struct proxy__set *a, const struct proxy__set *b)
{
	if (a->n_dests != b->n_dests)
		return false;
	for (size_t i = 0; i < a->n_dests; i++)
		if (!inet_addr_equal(&a->dests[i].addr, &b->dests[i].addr) ||
		    a->dests[i].port != b->dests[i].port)
			return false;
	return true;
}

/* A set of new that old lacks is added; an endpoint map both have is
 * flushed and refilled when its elements changed. */
static void set_update(struct proxy__batch *b, const struct proxy__render *old,
		       const struct proxy__set *s)
{
	const struct proxy__set *o = find_set(old, s->name);

	if (!o) {
		set_add(b, s);
	} else if (s->n_dests && !dests_equal(o, s)) {
		set_send(b, set_new(b, s->name), NFT_MSG_DELSETELEM);	/* no elements: flush */
		endpoint_elems(b, s);
	}
}

static bool elem_equal(const struct proxy__elem *a, const struct proxy__elem *b)
{
	return a->map == b->map && a->key_len == b->key_len && !memcmp(a->key, b->key, a->key_len) &&
	       a->verdict == b->verdict && !strcmp(a->chain ? a->chain : "", b->chain ? b->chain : "");
}

/* keep[i] = element i of a has no equal in b */
static bool *elems_missing(const struct proxy__render *a, const struct proxy__render *b)
{
	bool *keep = xcalloc(a->n_elems + 1, sizeof(bool));

	for (size_t i = 0; i < a->n_elems; i++) {
		keep[i] = true;
		for (size_t j = 0; j < b->n_elems && keep[i]; j++)
			keep[i] = !elem_equal(&a->elems[i], &b->elems[j]);
	}
	return keep;
}

void proxy__batch_replace(struct proxy__batch *b, const struct proxy__render *old,
			  const struct proxy__render *new)
{
	bool *del = elems_missing(old, new), *add = elems_missing(new, old);

	b->family = nfproto(new->family);
	elems_all(b, old, NFT_MSG_DELSETELEM, del);
	for (size_t i = 0; i < old->n_chains; i++)
		chain_flush(b, old->chains[i].name);
	for (size_t i = 0; i < old->n_chains; i++)
		if (!has_chain(new, old->chains[i].name))
			chain_msg(b, NFT_MSG_DELCHAIN, &old->chains[i]);
	for (size_t i = 0; i < old->n_sets; i++)
		if (!find_set(new, old->sets[i].name))
			set_send(b, set_new(b, old->sets[i].name), NFT_MSG_DELSET);
	for (size_t i = 0; i < new->n_sets; i++)
		set_update(b, old, &new->sets[i]);
	for (size_t i = 0; i < new->n_chains; i++)
		if (!has_chain(old, new->chains[i].name))
			chain_msg(b, NFT_MSG_NEWCHAIN, &new->chains[i]);
	for (size_t i = 0; i < new->n_chains; i++)
		rules_add(b, new->family, &new->chains[i]);
	elems_all(b, new, NFT_MSG_NEWSETELEM, add);
	free(del);
	free(add);
}

/* --- sending --- */

struct ack_ctx {
	uint32_t first, last;
	int err;
	bool done;
};

static int ack_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ack_ctx *a = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_seq < a->first || nlh->nlmsg_seq > a->last)
		return MNL_CB_OK;	/* a late answer to an earlier batch */
	if (e->error && !a->err)
		a->err = e->error;
	if (e->error || nlh->nlmsg_seq == a->last)
		a->done = true;
	return MNL_CB_OK;
}

static int recv_acks(struct proxy__nl *nl, struct ack_ctx *a)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = ack_cb };

	while (!a->done) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		if (mnl_cb_run2(buf, (size_t)n, 0, nl->portid, NULL, a, ctl, NLMSG_MIN_TYPE) < 0)
			return -errno;
	}
	return a->err;
}

int proxy__batch_send(struct proxy__batch *b, size_t *messages, size_t *bytes)
{
	struct ack_ctx a = { .first = b->first_seq };
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	int n_iov, sndbuf;
	size_t total = 0;
	struct iovec *iov;
	struct msghdr mh = { .msg_name = &snl, .msg_namelen = sizeof(snl) };
	int ret;

	/* unless a table deletion ends the batch, a no-op last message asks
	 * for the ack: re-adding the table just built */
	if (b->ack_seq != b->nl->seq - 1)
		table_msg(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
	a.last = b->ack_seq;
	nftnl_batch_end(nftnl_batch_buffer(b->b), b->nl->seq++);
	nftnl_batch_update(b->b);

	n_iov = nftnl_batch_iovec_len(b->b);
	iov = xcalloc((size_t)n_iov, sizeof(*iov));
	nftnl_batch_iovec(b->b, iov, (uint32_t)n_iov);
	for (int i = 0; i < n_iov; i++)
		total += iov[i].iov_len;
	sndbuf = (int)(total + 65536);
	setsockopt(mnl_socket_get_fd(b->nl->sock), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)n_iov;
	if (sendmsg(mnl_socket_get_fd(b->nl->sock), &mh, 0) < 0) {
		ret = -errno;
		goto out;
	}
	ret = recv_acks(b->nl, &a);
out:
	if (messages)
		*messages = b->msgs;
	if (bytes)
		*bytes = total;
	free(iov);
	return ret;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

int proxy__nl_table_exists(struct proxy__nl *nl, const char *table, int family)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	uint32_t seq = nl->seq++;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, (uint16_t)nfproto(family),
						     NLM_F_ACK, seq);
	int ret;

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, nl->portid, table_cb, NULL);
		if (ret < 0 && errno == ESRCH)
			continue;	/* an older answer */
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -errno : 0;
	}
}
