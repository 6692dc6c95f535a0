/*
 * net/masq.c - the node's own nftables table NET_NFT_TABLE ("k1s-net") in
 * families ip and ip6: masquerading of pod traffic that leaves the cluster
 * CIDRs and forward-accept rules for pod traffic (see net/net.h). Built
 * with libnftnl, sent as one atomic batch over a NETLINK_NETFILTER socket
 * opened inside the handle's namespace.
 *
 * The table's user data holds "k1s-net v1 <cidr>": a sync reads it back
 * with one GETTABLE and sends nothing when it matches. The rules, in nft
 * syntax (ip6 alike with ff00::/8):
 *   chain postrouting { type nat hook postrouting priority srcnat;
 *     ip saddr C ip daddr C return
 *     ip saddr C ip daddr 224.0.0.0/4 return
 *     ip saddr C masquerade fully-random }
 *   chain forward { type filter hook forward priority filter;
 *     ip saddr C accept
 *     ip daddr C accept }
 */
#include "net/nl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#define MASQ_BATCH_MAX 16384	/* bytes of one batch (a few hundred needed) */
#define MASQ_TAG_MAX 96		/* bytes of the user data tag */

struct nft {
	struct mnl_socket *sock;
	uint32_t portid, seq;
	char *buf;			/* MASQ_BATCH_MAX bytes */
	struct mnl_nlmsg_batch *b;
	uint32_t first, last;		/* sequence numbers of the batch */
	int family;			/* NFPROTO_* of the messages being built */
};

static int open_sock(void *arg)
{
	struct nft *n = arg;

	n->sock = mnl_socket_open(NETLINK_NETFILTER);
	if (!n->sock)
		return -errno;
	if (mnl_socket_bind(n->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int ret = -errno;

		mnl_socket_close(n->sock);
		n->sock = NULL;
		return ret;
	}
	return 0;
}

static void tag_of(const struct inet_prefix *c, char *tag)
{
	char p[INET_PREFIX_STRLEN];

	snprintf(tag, MASQ_TAG_MAX, "%s v1 %s", NET_NFT_TABLE, inet_prefix_format(c, p));
}

/* ---- one GETTABLE: the tag of our table in family, "" when absent ---- */

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_table *t = nftnl_table_alloc();
	char *tag = data;

	if (t && nftnl_table_nlmsg_parse(nlh, t) >= 0 &&
	    nftnl_table_is_set(t, NFTNL_TABLE_USERDATA)) {
		uint32_t len = 0;
		const char *ud = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);

		snprintf(tag, MASQ_TAG_MAX, "%.*s", (int)strnlen(ud, len), ud);
	} else {
		snprintf(tag, MASQ_TAG_MAX, "?");	/* present, untagged */
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

/* Sends request nlh (built in buf, MNL_SOCKET_BUFFER_SIZE bytes, reused for
 * the answers) and runs cb on each answer; absence (ENOENT) is success. */
static int query(struct nft *n, char *buf, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	int ret;

	if (mnl_socket_sendto(n->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(n->sock, buf, MNL_SOCKET_BUFFER_SIZE);

		if (len < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)len, seq, n->portid, cb, data);
		if (ret < 0 && errno == ENOENT)
			return 0;
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -errno : 0;
	}
}

static int table_tag(struct nft *n, int family, char *tag)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, (uint16_t)family,
						     NLM_F_ACK, ++n->seq);

	tag[0] = '\0';
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NET_NFT_TABLE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return query(n, buf, nlh, table_cb, tag);
}

/* ---- drift: the rules of our table, counted and fingerprinted ---- */

struct rules_fp {
	uint64_t fp;
	unsigned n;
};

static void fp_add(uint64_t *h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		*h = (*h ^ b[i]) * 1099511628211ull;
}

static int rule_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= NFTA_RULE_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_RULE_MAX + 1] = { 0 };
	struct rules_fp *r = data;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), rule_attr_cb, tb) < 0 ||
	    !tb[NFTA_RULE_TABLE] || strcmp(mnl_attr_get_str(tb[NFTA_RULE_TABLE]), NET_NFT_TABLE))
		return MNL_CB_OK;
	r->n++;
	if (tb[NFTA_RULE_CHAIN])
		fp_add(&r->fp, mnl_attr_get_payload(tb[NFTA_RULE_CHAIN]),
		       mnl_attr_get_payload_len(tb[NFTA_RULE_CHAIN]));
	if (tb[NFTA_RULE_EXPRESSIONS])
		fp_add(&r->fp, mnl_attr_get_payload(tb[NFTA_RULE_EXPRESSIONS]),
		       mnl_attr_get_payload_len(tb[NFTA_RULE_EXPRESSIONS]));
	return MNL_CB_OK;
}

/* Dumps the rules of our table in family (in chain and position order). */
static int rules_of(struct nft *n, int family, struct rules_fp *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_rule *t = nftnl_rule_alloc();
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)family,
						     NLM_F_DUMP, ++n->seq);

	r->fp = 1469598103934665603ull;
	r->n = 0;
	nftnl_rule_set_str(t, NFTNL_RULE_TABLE, NET_NFT_TABLE);
	nftnl_rule_nlmsg_build_payload(nlh, t);
	nftnl_rule_free(t);
	return query(n, buf, nlh, rule_cb, r);
}

/* True when the table of family f (tag matching) still holds our rules;
 * adopts its fingerprint when the handle has none yet. */
static bool rules_intact(struct net_ns *ns, struct nft *n, int f)
{
	struct rules_fp r;

	if (rules_of(n, n->family, &r) || r.n != NET_MASQ_RULES)
		return false;
	if (!ns->masq_fp[f])
		ns->masq_fp[f] = r.fp;
	return ns->masq_fp[f] == r.fp;
}

/* ---- batch building ---- */

static struct nlmsghdr *msg(struct nft *n, int type, uint16_t flags)
{
	n->last = ++n->seq;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(n->b), (uint16_t)type,
				     (uint16_t)n->family, flags, n->last);
}

static void msg_done(struct nft *n)
{
	if (!mnl_nlmsg_batch_next(n->b))
		BUG("nftables batch of the masquerade table overflows");
}

static void table_msg(struct nft *n, int type, uint16_t flags, const char *tag)
{
	struct nftnl_table *t = nftnl_table_alloc();

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NET_NFT_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, (uint32_t)n->family);
	if (tag)
		nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, tag, (uint32_t)strlen(tag) + 1);
	nftnl_table_nlmsg_build_payload(msg(n, type, flags), t);
	msg_done(n);
	nftnl_table_free(t);
}

static void chain_msg(struct nft *n, const char *name, int hook, int prio, const char *type)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NET_NFT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_nlmsg_build_payload(msg(n, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
	msg_done(n);
	nftnl_chain_free(c);
}

static struct nftnl_expr *ex(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		BUG("out of memory");
	nftnl_rule_add_expr(r, e);
	return e;
}

/* (ip saddr|ip daddr) in p */
static void ex_addr_in(struct nftnl_rule *r, const struct inet_prefix *p, bool saddr)
{
	bool v6 = p->addr.family == AF_INET6;
	uint32_t len = v6 ? 16 : 4, off = v6 ? (saddr ? 8 : 24) : (saddr ? 12 : 16);
	uint8_t mask[16] = { 0 }, zero[16] = { 0 }, net[16];
	struct nftnl_expr *e = ex(r, "payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	for (unsigned i = 0; i < len; i++) {
		unsigned bits = p->len > i * 8 ? p->len - i * 8 : 0;

		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
		net[i] = p->addr.bytes[i] & mask[i];
	}
	if (p->len < len * 8) {
		e = ex(r, "bitwise");
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	}
	e = ex(r, "cmp");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, net, len);
}

static void ex_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = ex(r, "immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
}

enum rule_kind { R_RETURN, R_MASQ, R_ACCEPT };

/* One rule in chain: [saddr in src] [daddr in dst] <kind>. */
static void rule_msg(struct nft *n, const char *chain, const struct inet_prefix *src,
		     const struct inet_prefix *dst, enum rule_kind kind)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NET_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)n->family);
	if (src)
		ex_addr_in(r, src, true);
	if (dst)
		ex_addr_in(r, dst, false);
	if (kind == R_MASQ)
		nftnl_expr_set_u32(ex(r, "masq"), NFTNL_EXPR_MASQ_FLAGS,
				   NF_NAT_RANGE_PROTO_RANDOM_FULLY);
	else
		ex_verdict(r, kind == R_ACCEPT ? NF_ACCEPT : NFT_RETURN);
	nftnl_rule_nlmsg_build_payload(msg(n, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), r);
	msg_done(n);
	nftnl_rule_free(r);
}

/* Deletes our table of the current family (creating it first, so the
 * deletion cannot fail on absence). */
static void table_delete(struct nft *n)
{
	table_msg(n, NFT_MSG_NEWTABLE, NLM_F_CREATE, NULL);
	table_msg(n, NFT_MSG_DELTABLE, 0, NULL);
}

static void table_build(struct nft *n, const struct inet_prefix *c, const char *tag)
{
	struct inet_prefix mcast = { .addr.family = c->addr.family };

	if (c->addr.family == AF_INET6) {
		mcast.addr.bytes[0] = 0xff;
		mcast.len = 8;
	} else {
		mcast.addr.bytes[0] = 224;
		mcast.len = 4;
	}
	table_delete(n);
	table_msg(n, NFT_MSG_NEWTABLE, NLM_F_CREATE, tag);
	chain_msg(n, "postrouting", NF_INET_POST_ROUTING, 100, "nat");
	chain_msg(n, "forward", NF_INET_FORWARD, 0, "filter");
	rule_msg(n, "postrouting", c, c, R_RETURN);
	rule_msg(n, "postrouting", c, &mcast, R_RETURN);
	rule_msg(n, "postrouting", c, NULL, R_MASQ);
	rule_msg(n, "forward", c, NULL, R_ACCEPT);
	rule_msg(n, "forward", NULL, c, R_ACCEPT);
}

/* ---- sending ---- */

struct acks {
	uint32_t first, last;
	int err;
	bool done;
};

static int ack_cb(const struct nlmsghdr *nlh, void *data)
{
	struct acks *a = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_seq < a->first || nlh->nlmsg_seq > a->last)
		return MNL_CB_OK;
	if (e->error && !a->err)
		a->err = e->error;
	if (e->error || nlh->nlmsg_seq == a->last)
		a->done = true;
	return MNL_CB_OK;
}

static int batch_send(struct nft *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct acks a = { .first = n->first, .last = n->last };
	int ret;

	nftnl_batch_end(mnl_nlmsg_batch_current(n->b), ++n->seq);
	msg_done(n);
	if (mnl_socket_sendto(n->sock, mnl_nlmsg_batch_head(n->b),
			      mnl_nlmsg_batch_size(n->b)) < 0)
		return -errno;
	while (!a.done) {
		ssize_t len = mnl_socket_recvfrom(n->sock, buf, sizeof(buf));
		struct nlmsghdr *h;
		int rest;

		if (len < 0)
			return -errno;
		rest = (int)len;
		for (h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, rest); h = mnl_nlmsg_next(h, &rest))
			if (h->nlmsg_type == NLMSG_ERROR)
				ack_cb(h, &a);
	}
	ret = a.err;
	return ret;
}

/* Starts a batch; messages built afterwards ask for no ack except the last
 * one, which batch_send() marks. */
static void batch_start(struct nft *n)
{
	n->b = mnl_nlmsg_batch_start(n->buf, MASQ_BATCH_MAX);
	nftnl_batch_begin(mnl_nlmsg_batch_current(n->b), ++n->seq);
	n->first = n->seq;
	msg_done(n);
}

/* Marks the last message built with NLM_F_ACK. */
static void ack_last(struct nft *n)
{
	char *p = mnl_nlmsg_batch_head(n->b);
	size_t size = mnl_nlmsg_batch_size(n->b);
	struct nlmsghdr *h = NULL;

	for (size_t off = 0; off < size; off += NLMSG_ALIGN(((struct nlmsghdr *)(p + off))->nlmsg_len))
		h = (struct nlmsghdr *)(p + off);
	if (h)
		h->nlmsg_flags |= NLM_F_ACK;
}

static int masq_run(struct net_ns *ns, const struct inet_prefix *cluster, size_t nc,
		    bool *changed)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	struct nft n = { .buf = xmalloc(MASQ_BATCH_MAX) };
	char tag[MASQ_TAG_MAX], have[MASQ_TAG_MAX];
	bool any = false, written[2] = { false, false };
	int ret = net__in_ns(ns, open_sock, &n);

	if (ret) {
		net__fail(ns, ret, "cannot open an nftables socket: %s", strerror(-ret));
		goto out;
	}
	n.portid = mnl_socket_get_portid(n.sock);
	n.seq = (uint32_t)mono_ns();
	batch_start(&n);
	for (int f = 0; f < 2 && !ret; f++) {
		const struct inet_prefix *c = NULL;

		for (size_t i = 0; i < nc; i++)
			if (cluster[i].addr.family == fams[f])
				c = &cluster[i];
		n.family = fams[f] == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
		ret = table_tag(&n, n.family, have);
		if (ret)
			break;
		if (c)
			tag_of(c, tag);
		if (c ? !strcmp(have, tag) && rules_intact(ns, &n, f) : !have[0])
			continue;
		any = true;
		ns->masq_fp[f] = 0;	/* taken again after the write */
		written[f] = c != NULL;
		if (c)
			table_build(&n, c, tag);
		else
			table_delete(&n);
	}
	if (!ret && any) {
		ack_last(&n);
		ret = batch_send(&n);
		ns->ops++;
	}
	for (int f = 0; f < 2 && !ret; f++) {
		n.family = fams[f] == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
		if (written[f])
			rules_intact(ns, &n, f);	/* the fingerprint of what we wrote */
	}
	if (ret)
		net__fail(ns, ret, "cannot write nftables table '%s': %s", NET_NFT_TABLE,
			  strerror(-ret));
out:
	if (changed)
		*changed = any && !ret;
	if (n.b)
		mnl_nlmsg_batch_stop(n.b);
	if (n.sock)
		mnl_socket_close(n.sock);
	free(n.buf);
	return ret;
}

int net_masq_sync(struct net_ns *ns, const struct inet_prefix *cluster, size_t n,
		  bool *changed)
{
	int fam_seen[2] = { 0, 0 };

	if (changed)
		*changed = false;
	if (n > 2)
		return net__fail(ns, -EINVAL, "at most one cluster CIDR per family");
	for (size_t i = 0; i < n; i++) {
		int f = net_fam_idx(cluster[i].addr.family);

		if (!inet_family_len(cluster[i].addr.family) || fam_seen[f]++ ||
		    cluster[i].len > 8 * inet_family_len(cluster[i].addr.family))
			return net__fail(ns, -EINVAL, "invalid cluster CIDR");
	}
	ns->err[0] = '\0';
	return masq_run(ns, cluster, n, changed);
}
