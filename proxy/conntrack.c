/*
 * proxy/conntrack.c - deleting stale UDP conntrack entries over ctnetlink.
 *
 * UDP has no connection end: after an endpoint goes away, a client that
 * keeps sending from the same source port keeps matching the conntrack
 * entry that DNATs it to the dead address. Like kube-proxy, we delete the
 * UDP entries whose reply source is a removed endpoint address. The kernel
 * cannot delete by a partial tuple, so this dumps the UDP entries of the
 * family (one dump per call, only when UDP endpoints went away) and deletes
 * each match by its original tuple.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include "lib/util.h"
#include "proxy/proxy.h"

/* Entries deleted by one call at most (a bound on the memory of a dump). */
#define CT_MAX_DELETE 65536

struct ct_walk {
	const struct inet_addr *eps;
	size_t n_eps;
	int family;
	size_t n, alloc;
	void **orig;		/* copies of the CTA_TUPLE_ORIG attributes */
};

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	unsigned t = mnl_attr_get_type(a);

	if (t < 16)
		tb[t] = a;
	return MNL_CB_OK;
}

/* The reply-source address and protocol of a tuple attribute. */
static bool tuple(const struct nlattr *t, int family, struct inet_addr *src, uint8_t *proto)
{
	const struct nlattr *tb[16] = { 0 }, *ip[16] = { 0 }, *pr[16] = { 0 };
	int a_src = family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;

	if (mnl_attr_parse_nested(t, attr_cb, tb) < 0 || !tb[CTA_TUPLE_IP] || !tb[CTA_TUPLE_PROTO] ||
	    mnl_attr_parse_nested(tb[CTA_TUPLE_IP], attr_cb, ip) < 0 ||
	    mnl_attr_parse_nested(tb[CTA_TUPLE_PROTO], attr_cb, pr) < 0 || !ip[a_src] ||
	    !pr[CTA_PROTO_NUM] || mnl_attr_get_payload_len(ip[a_src]) != inet_family_len(family))
		return false;
	src->family = family;
	memcpy(src->bytes, mnl_attr_get_payload(ip[a_src]), inet_family_len(family));
	*proto = *(const uint8_t *)mnl_attr_get_payload(pr[CTA_PROTO_NUM]);
	return true;
}

static int entry_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_walk *w = data;
	const struct nlattr *tb[16] = { 0 };
	struct inet_addr src;
	uint8_t proto;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0 || !tb[CTA_TUPLE_ORIG] ||
	    !tb[CTA_TUPLE_REPLY] || !tuple(tb[CTA_TUPLE_REPLY], w->family, &src, &proto) ||
	    proto != IPPROTO_UDP || w->n >= CT_MAX_DELETE)
		return MNL_CB_OK;
	for (size_t i = 0; i < w->n_eps; i++) {
		if (inet_addr_equal(&w->eps[i], &src)) {
			size_t len = tb[CTA_TUPLE_ORIG]->nla_len;

			ALLOC_GROW(w->orig, w->n + 1, w->alloc);
			w->orig[w->n] = xmalloc(len);
			memcpy(w->orig[w->n++], tb[CTA_TUPLE_ORIG], len);
			break;
		}
	}
	return MNL_CB_OK;
}

static struct nlmsghdr *put_hdr(char *buf, int type, int flags, int family, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = (uint8_t)family;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return nlh;
}

/* Runs the answers of request seq through cb until done. */
static int run(struct mnl_socket *s, uint32_t seq, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	int ret;

	do {
		ssize_t n = mnl_socket_recvfrom(s, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(s), cb, data);
	} while (ret > 0);
	return ret < 0 ? -errno : 0;
}

static int walk_family(struct mnl_socket *s, int family, struct ct_walk *w, uint32_t *seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_hdr(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, family, ++*seq);
	int ret;

	w->family = family;
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	ret = run(s, *seq, entry_cb, w);
	for (size_t i = 0; i < w->n && !ret; i++) {
		const struct nlattr *orig = w->orig[i];

		nlh = put_hdr(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, family, ++*seq);
		mnl_attr_put(nlh, CTA_TUPLE_ORIG | NLA_F_NESTED, orig->nla_len - MNL_ATTR_HDRLEN,
			     mnl_attr_get_payload(orig));
		if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0) {
			ret = -errno;
			break;
		}
		ret = run(s, *seq, NULL, NULL);
		if (ret == -ENOENT)	/* gone meanwhile */
			ret = 0;
	}
	return ret;
}

int proxy_conntrack_clear_udp(const struct inet_addr *eps, size_t n)
{
	struct mnl_socket *s = mnl_socket_open(NETLINK_NETFILTER);
	uint32_t seq = (uint32_t)time(NULL);
	size_t deleted = 0;
	int ret = 0;

	if (!s)
		return -errno;
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	for (int f = 0; f < 2 && !ret; f++) {
		int family = f ? AF_INET6 : AF_INET;
		struct ct_walk w = { .eps = eps, .n_eps = n };
		bool any = false;

		for (size_t i = 0; i < n; i++)
			any |= eps[i].family == family;
		if (any) {
			ret = walk_family(s, family, &w, &seq);
			deleted += w.n;
		}
		for (size_t i = 0; i < w.n; i++)
			free(w.orig[i]);
		free(w.orig);
	}
out:
	mnl_socket_close(s);
	return ret ? ret : (int)deleted;
}
