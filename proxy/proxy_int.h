/*
 * proxy/proxy_int.h - internals of the proxy shared by its files.
 *
 * Policy (render.c) turns a service into a family-specific intermediate
 * form: chains holding rules from a small fixed set of shapes (enum
 * proxy__op), dynamic sets for session affinity, and elements of the four
 * verdict maps. The emitter (nft.c) turns that form into netlink messages.
 * The model (proxy.c) keeps each service's rendered form, to know what to
 * delete on the next update and to rewrite everything on drift repair.
 */
#ifndef K1S_PROXY_PROXY_INT_H
#define K1S_PROXY_PROXY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proxy/proxy.h"

/* Chain and map names of the fixed skeleton. */
#define PROXY__SERVICES "services"
#define PROXY__MARK_MASQ "mark-for-masquerade"
#define PROXY__MASQUERADING "masquerading"
#define PROXY__REJECT "reject-chain"
#define PROXY__EP_CHECK "endpoints-check"
#define PROXY__MAP_SVC "service-ips"
#define PROXY__MAP_NP "service-nodeports"
#define PROXY__MAP_NOEP_SVC "no-endpoint-services"
#define PROXY__MAP_NOEP_NP "no-endpoint-nodeports"
#define PROXY__SET_HAIRPIN "hairpin-endpoints"

/* The shapes of rules the proxy writes (nft syntax, ip family shown). */
enum proxy__op {
	PROXY__JUMP,		/* jump <target> */
	PROXY__GOTO,		/* goto <target> */
	PROXY__DROP,		/* drop */
	PROXY__SVC_VMAP,	/* ip daddr . meta l4proto . th dport vmap @<target> */
	PROXY__NP_VMAP,		/* fib daddr type local ip daddr != 127.0.0.0/8
				 * meta l4proto . th dport vmap @<target> */
	PROXY__NP_MARKED_VMAP,	/* meta mark & 0x8000 == 0x8000
				 * meta l4proto . th dport vmap @<target> */
	PROXY__NODE_MARK,	/* fib daddr type local ip daddr != 127.0.0.0/8
				 * meta mark set meta mark | 0x8000 */
	PROXY__NODE_UNMARK,	/* meta mark set meta mark & ~0x8000 */
	PROXY__CT_NEW_JUMP,	/* ct state new jump <target> */
	PROXY__SADDR_NOT_JUMP,	/* ip saddr != <prefix> jump <target> */
	PROXY__HAIRPIN_JUMP,	/* ct status dnat ip saddr . ip daddr @<set>
				 * jump <target> */
	PROXY__LOCAL_SRC_JUMP,	/* fib saddr type local jump <target> */
	PROXY__LOCAL_SRC_GOTO,	/* fib saddr type local goto <target> */
	PROXY__DNAT,		/* [numgen random mod <modulus> 0]
				 * [update @<set> { ip saddr }]
				 * meta l4proto <proto> dnat to <addr>:<port> */
	PROXY__DNAT_STICKY,	/* ip saddr @<set> update @<set> { ip saddr }
				 * meta l4proto <proto> dnat to <addr>:<port> */
	PROXY__DNAT_MAP,	/* meta l4proto <proto> dnat to numgen random
				 * mod <modulus> map @<set> (an endpoint map) */
	PROXY__MARK_OR,		/* meta mark set meta mark | 0x4000 */
	PROXY__UNMARKED_RETURN,	/* meta mark & 0x4000 == 0 return */
	PROXY__MARK_XOR,	/* meta mark set meta mark ^ 0x4000 */
	PROXY__MASQUERADE,	/* masquerade fully-random */
	PROXY__REJECT_TCP,	/* meta l4proto tcp reject with tcp reset */
	PROXY__REJECT_ICMP,	/* reject (icmp port unreachable) */
};

struct proxy__rule {
	enum proxy__op op;
	char *target;		/* chain or map name (owned) */
	char *set;		/* set name (owned) */
	struct inet_prefix prefix;	/* address (len = full) or prefix */
	uint8_t proto;
	uint16_t port;
	uint32_t modulus;	/* PROXY__DNAT: 0 = unconditional */
};

/* A base chain has a hook; a regular chain hook < 0. */
struct proxy__chain {
	char *name;
	int hook;		/* NF_INET_*; -1 for regular chains */
	int prio;
	bool nat;		/* type nat (else filter) */
	size_t n_rules, alloc_rules;
	struct proxy__rule *rules;
};

/* A destination of an endpoint map. */
struct proxy__dest {
	struct inet_addr addr;
	uint16_t port;
};

/* A named set: an affinity set (dynamic, with a timeout), or an endpoint
 * map (n_dests > 0): numgen index 0..n_dests-1 -> address . port. One
 * rule and one map per balancer instead of a DNAT rule per endpoint: the
 * kernel parses every expression of every rule by name, which was most of
 * a full sync's time. */
struct proxy__set {
	char *name;
	uint32_t timeout;	/* affinity: in seconds */
	size_t n_dests;		/* endpoint map: its elements */
	struct proxy__dest *dests;
};

enum proxy__map { PROXY__M_SVC, PROXY__M_NP, PROXY__M_NOEP_SVC, PROXY__M_NOEP_NP };

/* One map element: key bytes as the kernel stores them, and its verdict. */
struct proxy__elem {
	enum proxy__map map;
	uint8_t key[24];
	uint8_t key_len;
	int verdict;		/* NFT_GOTO, NF_DROP */
	char *chain;		/* for NFT_GOTO (owned) */
};

/* Everything of one service (or the skeleton) in one family. */
struct proxy__render {
	int family;		/* AF_INET or AF_INET6 */
	size_t n_chains, alloc_chains;
	struct proxy__chain *chains;
	size_t n_sets, alloc_sets;
	struct proxy__set *sets;
	size_t n_elems, alloc_elems;
	struct proxy__elem *elems;
	/* Addresses its balancers may DNAT to, once each, sorted by
	 * proxy__addr_cmp(): "E . E" in the base table's hairpin set while
	 * some service lists E (refcounted, struct proxy__refs). */
	size_t n_hairpin, alloc_hairpin;
	struct inet_addr *hairpin;
};

/* A chained hash table (htab.c): entries embed a node, which keeps their
 * hash so that growing needs no key. */
struct proxy__hnode {
	struct proxy__hnode *next;
	size_t hash;
};
struct proxy__htab {
	struct proxy__hnode **buckets;
	size_t n_buckets, n;
};
/* FNV-1a of len bytes continuing from h (start: PROXY__FNV_INIT). */
#define PROXY__FNV_INIT 14695981039346656037ull
size_t proxy__fnv(size_t h, const void *data, size_t len);
void proxy__htab_init(struct proxy__htab *t, size_t n_buckets);
/* The link to the node of hash for which eq(node, key), or the chain's end
 * (*slot == NULL). Valid until the next add. */
struct proxy__hnode **proxy__htab_slot(const struct proxy__htab *t, size_t hash,
				       bool (*eq)(const struct proxy__hnode *, const void *),
				       const void *key);
/* Adds n (n->hash set; not already in t), doubling the buckets when full. */
void proxy__htab_add(struct proxy__htab *t, struct proxy__hnode *n);
struct proxy__hnode *proxy__htab_unlink(struct proxy__htab *t, struct proxy__hnode **slot);
/* Unlinks and returns some node; when empty frees the buckets, returns NULL. */
struct proxy__hnode *proxy__htab_pop(struct proxy__htab *t);

/* Reference counts per address (hairpin.c). */
struct proxy__refs {
	struct proxy__htab t;
};
void proxy__refs_init(struct proxy__refs *rs);
void proxy__refs_release(struct proxy__refs *rs);
unsigned proxy__refs_get(const struct proxy__refs *rs, const struct inet_addr *a);
/* Adds delta (at least down to 0) and returns the new count; an address
 * at 0 is forgotten. */
unsigned proxy__refs_change(struct proxy__refs *rs, const struct inet_addr *a, int delta);

void proxy__render_init(struct proxy__render *r, int family);
void proxy__render_release(struct proxy__render *r);

struct proxy__node {
	const char *node_name, *zone;
	const struct proxy_config *cfg;
};

/* The fixed chains of one family's base table (base) or of a shard table
 * (only the NAT entry chains and mark-for-masquerade). */
void proxy__render_skeleton(struct proxy__render *r, bool base);
/* One service in r->family (r freshly initialised). */
void proxy__render_service(const struct proxy_service *svc, const struct proxy__node *node,
			   struct proxy__render *r);
/* Orders struct inet_addr by family, then bytes (qsort/bsearch). */
int proxy__addr_cmp(const void *a, const void *b);
/* Endpoint selection of one family (0 = any) and port index (-1 = any). */
size_t proxy__select(const struct proxy_service *svc, const char *node_name,
		     const char *zone, bool local, int family, int port_idx, bool *use);

/* The expressions of one rule (nft_expr.c). */
struct nftnl_rule;
void proxy__rule_exprs(struct nftnl_rule *r, int family, const struct proxy__rule *ru);

/* The netlink side (nft.c). */
struct proxy__nl;
int proxy__nl_open(struct proxy__nl **out);
void proxy__nl_close(struct proxy__nl *nl);
/* A batch under construction. */
struct proxy__batch;
struct proxy__batch *proxy__batch_new(struct proxy__nl *nl, const char *table);
void proxy__batch_free(struct proxy__batch *b);
/* Sends the next messages to table (NULL: the base table). The no-endpoint
 * map elements always go to the base table. table must outlive the batch. */
void proxy__batch_use_table(struct proxy__batch *b, const char *table);
/* Recreates the current table from scratch (delete + add) with the skeleton. */
void proxy__batch_reset_table(struct proxy__batch *b, const struct proxy__render *skel);
void proxy__batch_del_table(struct proxy__batch *b, int family);
/* Adds (add) or deletes the hairpin elements "a . a" of the n addresses
 * of family, in the base table's hairpin set. */
void proxy__batch_hairpin(struct proxy__batch *b, int family, const struct inet_addr *a,
			  size_t n, bool add);
/* Adds everything of r. */
void proxy__batch_add(struct proxy__batch *b, const struct proxy__render *r);
/* Turns old into new: deletes chains, sets and elements of old that new
 * lacks, flushes chains both have, then adds new's rules and elements. */
void proxy__batch_replace(struct proxy__batch *b, const struct proxy__render *old,
			  const struct proxy__render *new);
/* Sends the batch and waits for the kernel's answer. 0 or -errno. */
int proxy__batch_send(struct proxy__batch *b, size_t *messages, size_t *bytes);
/* 0 when the table exists in family, -ENOENT when not, else -errno. */
int proxy__nl_table_exists(struct proxy__nl *nl, const char *table, int family);

#endif
