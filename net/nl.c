/*
 * net/nl.c - namespace handles, the rtnetlink request/ack and dump layer,
 * and sysctls written from inside a namespace.
 */
#include "net/nl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int net__fail(struct net_ns *ns, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ns->err, sizeof(ns->err), fmt, ap);
	va_end(ap);
	return err;
}

bool net__ifname_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= NET_IFNAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= ' ' || c == '/' || c == ':' || c >= 0x7f)
			return false;
	}
	return true;
}

/* ---- running code inside a namespace --------------------------------- */

struct in_ns {
	int nsfd;
	int (*fn)(void *);
	void *arg;
	int ret;
};

static void *in_ns_thread(void *p)
{
	struct in_ns *c = p;

	/* The namespace change is this thread's alone and dies with it. */
	if (setns(c->nsfd, CLONE_NEWNET) < 0)
		c->ret = -errno;
	else
		c->ret = c->fn(c->arg);
	return NULL;
}

static bool same_ns_as_caller(int nsfd)
{
	struct stat a, b;

	if (fstat(nsfd, &a) < 0 || stat("/proc/thread-self/ns/net", &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int net__in_ns(struct net_ns *ns, int (*fn)(void *), void *arg)
{
	struct in_ns c = { .nsfd = ns->nsfd, .fn = fn, .arg = arg };
	pthread_t t;
	int err;

	if (same_ns_as_caller(ns->nsfd))
		return fn(arg);
	err = pthread_create(&t, NULL, in_ns_thread, &c);
	if (err)
		return -err;
	pthread_join(t, NULL);
	return c.ret;
}

/* ---- handles ----------------------------------------------------------- */

static int open_socket(void *p)
{
	struct net_ns *ns = p;
	int one = 1;

	ns->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!ns->nl)
		return -errno;
	/* Kernel error strings (extack) make messages clear; capped acks keep
	 * replies small. Both are optional, so failures are ignored. */
	mnl_socket_setsockopt(ns->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(ns->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(ns->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	ns->portid = mnl_socket_get_portid(ns->nl);
	return 0;
}

static int open_nsfd(struct net_ns *ns, int nsfd, const char *what)
{
	int ret;

	ns->nsfd = nsfd;
	ns->seq = (uint32_t)(mono_ns() & 0x7fffffff);
	ret = net__in_ns(ns, open_socket, ns);
	if (ret) {
		char err[NET_ERR_MAX];

		snprintf(err, sizeof(err), "cannot open netlink socket in '%s': %s",
			 what, strerror(-ret));
		net_ns_release(ns);
		memcpy(ns->err, err, sizeof(err));
	}
	return ret;
}

int net_ns_open(struct net_ns *ns, const char *path)
{
	const char *p = path ? path : "/proc/thread-self/ns/net";
	int fd;

	memset(ns, 0, sizeof(*ns));
	ns->nsfd = -1;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return net__fail(ns, -errno, "cannot open network namespace '%s': %s",
				 p, strerror(errno));
	return open_nsfd(ns, fd, p);
}

int net_ns_open_fd(struct net_ns *ns, int fd)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	memset(ns, 0, sizeof(*ns));
	ns->nsfd = -1;
	if (dup < 0)
		return net__fail(ns, -errno, "cannot duplicate namespace fd %d: %s",
				 fd, strerror(errno));
	return open_nsfd(ns, dup, "fd");
}

void net_ns_release(struct net_ns *ns)
{
	if (ns->nl)
		mnl_socket_close(ns->nl);
	if (ns->nsfd > 0)	/* 0 is a zeroed handle; stdin is never a namespace */
		close(ns->nsfd);
	ns->nl = NULL;
	ns->nsfd = -1;
	ns->err[0] = '\0';
}

const char *net_ns_error(const struct net_ns *ns)
{
	return ns->err;
}

/* ---- requests ---------------------------------------------------------- */

struct nlmsghdr *net__msg(struct net_ns *ns, void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, NET_MSG_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++ns->seq;
	return nlh;
}

/* One transaction's receive state: the caller's callback and data, the
 * first error a callback reported, and the kernel's extack message. */
struct rx {
	mnl_cb_t cb;
	void *data;
	int cb_err;
	char msg[160];
};

static int ext_attr_cb(const struct nlattr *a, void *data)
{
	struct rx *rx = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(rx->msg, sizeof(rx->msg), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off, plen = mnl_nlmsg_get_payload_len(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		off = MNL_ALIGN(off);
		if (off < plen)
			mnl_attr_parse_payload((const char *)e + off, plen - off,
					       ext_attr_cb, data);
	}
	errno = -e->error;
	return MNL_CB_ERROR;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_STOP;
}

/* A failing callback must not stop reading (the rest of the dump, up to
 * NLMSG_DONE, is still on its way): remember the error, skip the rest. */
static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rx *rx = data;

	if (rx->cb_err || !rx->cb)
		return MNL_CB_OK;
	errno = 0;
	if (rx->cb(nlh, rx->data) == MNL_CB_ERROR)
		rx->cb_err = errno ? -errno : -EINVAL;
	return MNL_CB_OK;
}

/* Sends nlh and runs replies through rx->cb until ack/done or error. */
static int transact(struct net_ns *ns, struct nlmsghdr *nlh, struct rx *rx)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = noop_cb,
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
	};
	char *buf = xmalloc(NET_RECV_MAX);
	ssize_t n;
	int ret;

	ns->ops++;
	if (!ns->nl) {
		ret = -EBADF;
		goto out;
	}
	if (mnl_socket_sendto(ns->nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		n = mnl_socket_recvfrom(ns->nl, buf, NET_RECV_MAX);
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		errno = 0;
		ret = mnl_cb_run2(buf, (size_t)n, nlh->nlmsg_seq, ns->portid,
				  data_cb, rx, ctl, ARRAY_SIZE(ctl));
		if (ret == MNL_CB_ERROR) {
			ret = errno ? -errno : -EPROTO;
			goto out;
		}
	} while (ret != MNL_CB_STOP);
	ret = rx->cb_err;
out:
	free(buf);
	return ret;
}

/* Sends an acked request; replies before the ack go through cb. */
static int vrequest(struct net_ns *ns, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
		    const char *what_fmt, va_list ap)
{
	struct rx rx = { .cb = cb, .data = data };
	char what[NET_ERR_MAX / 2];
	int ret;

	nlh->nlmsg_flags |= NLM_F_ACK;
	ret = transact(ns, nlh, &rx);
	if (!ret) {
		ns->err[0] = '\0';
		return 0;
	}
	vsnprintf(what, sizeof(what), what_fmt, ap);
	return net__fail(ns, ret, "cannot %s: %s%s%s", what, strerror(-ret),
			 rx.msg[0] ? ": " : "", rx.msg);
}

int net__request(struct net_ns *ns, struct nlmsghdr *nlh, const char *what_fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, what_fmt);
	ret = vrequest(ns, nlh, NULL, NULL, what_fmt, ap);
	va_end(ap);
	return ret;
}

int net__get(struct net_ns *ns, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
	     const char *what_fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, what_fmt);
	ret = vrequest(ns, nlh, cb, data, what_fmt, ap);
	va_end(ap);
	return ret;
}

int net__dump(struct net_ns *ns, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
	      const char *what)
{
	struct rx rx = { .cb = cb, .data = data };
	int ret;

	nlh->nlmsg_flags |= NLM_F_DUMP;
	ret = transact(ns, nlh, &rx);
	if (!ret) {
		ns->err[0] = '\0';
		return 0;
	}
	return net__fail(ns, ret, "cannot list %s: %s%s%s", what, strerror(-ret),
			 rx.msg[0] ? ": " : "", rx.msg);
}

/* ---- sysctls ------------------------------------------------------------ */

struct sysctl_op {
	const char *path;
	const char *value;   /* NULL: read into buf */
	char *buf;
	size_t len;
};

static int sysctl_io(void *p)
{
	struct sysctl_op *op = p;
	int fd, ret = 0;
	ssize_t n;

	fd = open(op->path, (op->value ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (op->value) {
		ret = write_all(fd, op->value, strlen(op->value));
	} else {
		n = read(fd, op->buf, op->len - 1);
		if (n < 0) {
			ret = -errno;
		} else {
			op->buf[n] = '\0';
			if (n > 0 && op->buf[n - 1] == '\n')
				op->buf[n - 1] = '\0';
		}
	}
	close(fd);
	return ret;
}

static int sysctl_run(struct net_ns *ns, const char *key, struct sysctl_op *op)
{
	char path[NET_SYSCTL_MAX + 16];
	int ret;

	if (!key || strlen(key) >= NET_SYSCTL_MAX || !str_has_prefix(key, "net/") ||
	    strstr(key, "..") || strstr(key, "//"))
		return net__fail(ns, -EINVAL, "invalid sysctl key '%s'", key ? key : "");
	if (op->value && strlen(op->value) >= NET_SYSCTL_MAX)
		return net__fail(ns, -EINVAL, "sysctl value for '%s' is too long", key);
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	op->path = path;
	ret = net__in_ns(ns, sysctl_io, op);
	if (ret)
		return net__fail(ns, ret, "cannot %s sysctl '%s': %s",
				 op->value ? "set" : "read", key, strerror(-ret));
	ns->err[0] = '\0';
	return 0;
}

int net_sysctl_set(struct net_ns *ns, const char *key, const char *value)
{
	struct sysctl_op op = { .value = value ? value : "" };

	return sysctl_run(ns, key, &op);
}

int net_sysctl_get(struct net_ns *ns, const char *key, char *buf, size_t len)
{
	struct sysctl_op op = { .buf = buf, .len = len };

	if (len < 2)
		return net__fail(ns, -EINVAL, "buffer too small for sysctl '%s'", key);
	return sysctl_run(ns, key, &op);
}
