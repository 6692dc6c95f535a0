/*
 * net/nl.h - module-internal: the rtnetlink request layer under net/net.h.
 *
 * A request is built in a caller-provided buffer of NET_MSG_MAX bytes with
 * net__msg() (header, sequence number) and libmnl's mnl_attr_put*();
 * net__request() sends it with NLM_F_ACK and waits for the matching ack;
 * net__dump() sends a NLM_F_DUMP request and calls cb once per reply.
 * Both return 0 or the kernel's -errno and, on failure, leave
 * "cannot <what>: <strerror>[: <kernel extack message>]" in ns->err.
 * Attribute sizes are bounded by validating names (net__ifname_ok) and
 * addresses before building, so a request always fits NET_MSG_MAX.
 */
#ifndef K1S_NET_NL_H
#define K1S_NET_NL_H

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "lib/util.h"
#include "net/net.h"

struct nlmsghdr *net__msg(struct net_ns *ns, void *buf, uint16_t type, uint16_t flags);
int net__request(struct net_ns *ns, struct nlmsghdr *nlh, const char *what_fmt, ...)
	K1S_PRINTF(3, 4);
/* A request with NLM_F_ACK whose replies (e.g. one RTM_NEWLINK for a
 * RTM_GETLINK) go through cb before the ack. */
int net__get(struct net_ns *ns, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
	     const char *what_fmt, ...) K1S_PRINTF(5, 6);
/* cb returns MNL_CB_OK to go on or MNL_CB_ERROR (with errno set) to fail. */
int net__dump(struct net_ns *ns, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
	      const char *what);

/* Sets ns->err (printf style) and returns err (a -errno) for one exit path. */
int net__fail(struct net_ns *ns, int err, const char *fmt, ...) K1S_PRINTF(3, 4);
/* Valid interface name: 1..15 bytes, no '/', ':' or whitespace. */
bool net__ifname_ok(const char *name);
/* ifindex of name or -ENODEV with ns->err set. */
int net__ifindex(struct net_ns *ns, const char *name);
/* Runs fn(arg) on a short-lived thread inside the handle's namespace
 * (directly when that is the caller's namespace); returns fn's result. */
int net__in_ns(struct net_ns *ns, int (*fn)(void *), void *arg);

#endif
