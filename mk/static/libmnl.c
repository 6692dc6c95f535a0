/*
 * mk/static/libmnl.c - libmnl's public API, for the static build only.
 *
 * Debian ships libmnl without a static archive, and this machine's Debian
 * mirror does not serve libmnl's source package, so `make static` cannot
 * build the real one. This file is our own implementation of every function
 * declared in <libmnl/libmnl.h> (the header of the installed libmnl-dev, so
 * the prototypes are checked against the real ones), written from the
 * documented behaviour: same layouts, same return values, same errno values.
 * mk/static.mk compiles it into $(BUILD)/static/lib/libmnl.a; the normal
 * (dynamic) build never sees it and links the real libmnl.
 *
 * tests/e2e/static.test.sh checks it against the real library: one probe
 * program (tests/e2e/static-mnl-probe.c) is linked with each, and both must
 * print the same bytes.
 *
 * Netlink framing in brief: a message is a struct nlmsghdr followed by a
 * payload; an attribute is a struct nlattr (length includes its header)
 * followed by its payload; both are padded to MNL_ALIGNTO (4) bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>

/* ---- sockets ---- */

struct mnl_socket {
	int fd;
	struct sockaddr_nl addr; /* filled by bind/fdopen via getsockname */
};

struct mnl_socket *mnl_socket_open2(int bus, int flags)
{
	struct mnl_socket *nl = calloc(1, sizeof(*nl));

	if (!nl)
		return NULL;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | flags, bus);
	if (nl->fd < 0) {
		free(nl);
		return NULL;
	}
	return nl;
}

struct mnl_socket *mnl_socket_open(int bus)
{
	return mnl_socket_open2(bus, 0);
}

struct mnl_socket *mnl_socket_fdopen(int fd)
{
	struct mnl_socket *nl;
	struct sockaddr_nl addr;
	socklen_t len = sizeof(addr);

	if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
		return NULL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	nl->fd = fd;
	if (addr.nl_family == AF_NETLINK)
		nl->addr = addr;
	return nl;
}

int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid)
{
	socklen_t len = sizeof(nl->addr);

	memset(&nl->addr, 0, sizeof(nl->addr));
	nl->addr.nl_family = AF_NETLINK;
	nl->addr.nl_groups = groups;
	nl->addr.nl_pid = pid;
	if (bind(nl->fd, (struct sockaddr *)&nl->addr, sizeof(nl->addr)) < 0)
		return -1;
	if (getsockname(nl->fd, (struct sockaddr *)&nl->addr, &len) < 0)
		return -1;
	if (len != sizeof(nl->addr) || nl->addr.nl_family != AF_NETLINK) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int mnl_socket_close(struct mnl_socket *nl)
{
	int ret = close(nl->fd);

	free(nl);
	return ret;
}

int mnl_socket_get_fd(const struct mnl_socket *nl)
{
	return nl->fd;
}

unsigned int mnl_socket_get_portid(const struct mnl_socket *nl)
{
	return nl->addr.nl_pid;
}

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *req, size_t siz)
{
	static const struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	return sendto(nl->fd, req, siz, 0, (const struct sockaddr *)&kernel, sizeof(kernel));
}

/* Fails with ENOSPC when the datagram did not fit in buf. */
ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t siz)
{
	struct sockaddr_nl from;
	struct iovec iov = { .iov_base = buf, .iov_len = siz };
	struct msghdr msg = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	ssize_t ret = recvmsg(nl->fd, &msg, 0);

	if (ret < 0)
		return ret;
	if (msg.msg_flags & MSG_TRUNC) {
		errno = ENOSPC;
		return -1;
	}
	if (msg.msg_namelen != sizeof(from)) {
		errno = EINVAL;
		return -1;
	}
	return ret;
}

int mnl_socket_setsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t len)
{
	return setsockopt(nl->fd, SOL_NETLINK, type, buf, len);
}

int mnl_socket_getsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t *len)
{
	return getsockopt(nl->fd, SOL_NETLINK, type, buf, len);
}

/* ---- messages ---- */

size_t mnl_nlmsg_size(size_t len)
{
	return len + MNL_NLMSG_HDRLEN;
}

size_t mnl_nlmsg_get_payload_len(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_len - MNL_NLMSG_HDRLEN;
}

struct nlmsghdr *mnl_nlmsg_put_header(void *buf)
{
	struct nlmsghdr *nlh = buf;

	memset(buf, 0, MNL_NLMSG_HDRLEN);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
	return nlh;
}

void *mnl_nlmsg_put_extra_header(struct nlmsghdr *nlh, size_t size)
{
	char *p = (char *)nlh + nlh->nlmsg_len;

	nlh->nlmsg_len += MNL_ALIGN(size);
	memset(p, 0, MNL_ALIGN(size));
	return p;
}

void *mnl_nlmsg_get_payload(const struct nlmsghdr *nlh)
{
	return (char *)nlh + MNL_NLMSG_HDRLEN;
}

void *mnl_nlmsg_get_payload_offset(const struct nlmsghdr *nlh, size_t offset)
{
	return (char *)nlh + MNL_NLMSG_HDRLEN + MNL_ALIGN(offset);
}

void *mnl_nlmsg_get_payload_tail(const struct nlmsghdr *nlh)
{
	return (char *)nlh + MNL_ALIGN(nlh->nlmsg_len);
}

bool mnl_nlmsg_ok(const struct nlmsghdr *nlh, int len)
{
	return len >= (int)sizeof(struct nlmsghdr) &&
	       nlh->nlmsg_len >= sizeof(struct nlmsghdr) &&
	       (int)nlh->nlmsg_len <= len;
}

struct nlmsghdr *mnl_nlmsg_next(const struct nlmsghdr *nlh, int *len)
{
	*len -= MNL_ALIGN(nlh->nlmsg_len);
	return (struct nlmsghdr *)((char *)nlh + MNL_ALIGN(nlh->nlmsg_len));
}

/* A zero sequence number (or port id) on either side matches anything. */
bool mnl_nlmsg_seq_ok(const struct nlmsghdr *nlh, unsigned int seq)
{
	return nlh->nlmsg_seq && seq ? nlh->nlmsg_seq == seq : true;
}

bool mnl_nlmsg_portid_ok(const struct nlmsghdr *nlh, unsigned int portid)
{
	return nlh->nlmsg_pid && portid ? nlh->nlmsg_pid == portid : true;
}

/* Debug printer: each message's header, then its payload in 4-byte rows. */
void mnl_nlmsg_fprintf(FILE *fd, const void *data, size_t datalen, size_t extra_header_size)
{
	const struct nlmsghdr *nlh = data;
	int len = (int)datalen;

	while (mnl_nlmsg_ok(nlh, len)) {
		const unsigned char *p = mnl_nlmsg_get_payload(nlh);
		size_t i, n = mnl_nlmsg_get_payload_len(nlh);

		fprintf(fd, "----------------\t------------------\n");
		fprintf(fd, "|  %.010u  |\t| message length |\n", nlh->nlmsg_len);
		fprintf(fd, "| %.05u | %c%c%c%c |\t|  type | flags  |\n", nlh->nlmsg_type,
			nlh->nlmsg_flags & NLM_F_REQUEST ? 'R' : '-',
			nlh->nlmsg_flags & NLM_F_MULTI ? 'M' : '-',
			nlh->nlmsg_flags & NLM_F_ACK ? 'A' : '-',
			nlh->nlmsg_flags & NLM_F_ECHO ? 'E' : '-');
		fprintf(fd, "|  %.010u  |\t| sequence number|\n", nlh->nlmsg_seq);
		fprintf(fd, "|  %.010u  |\t|  port ID       |\n", nlh->nlmsg_pid);
		fprintf(fd, "----------------\t------------------\n");
		for (i = 0; i + 4 <= n; i += 4)
			fprintf(fd, "| %.2x %.2x %.2x %.2x  |\t|%s|\n", p[i], p[i + 1], p[i + 2],
				p[i + 3], i < extra_header_size ? "  extra header  " : "      data      ");
		fprintf(fd, "----------------\t------------------\n");
		nlh = mnl_nlmsg_next(nlh, &len);
	}
}

/* ---- message batches ---- */

struct mnl_nlmsg_batch {
	char *buf;    /* caller's buffer */
	size_t limit; /* its size in bytes */
	size_t buflen; /* bytes of complete messages in the batch */
	char *cur;    /* where the next message is being built */
	bool overflow; /* the message at cur did not fit */
};

struct mnl_nlmsg_batch *mnl_nlmsg_batch_start(void *buf, size_t limit)
{
	struct mnl_nlmsg_batch *b = malloc(sizeof(*b));

	if (!b)
		return NULL;
	b->buf = buf;
	b->limit = limit;
	b->buflen = 0;
	b->cur = buf;
	b->overflow = false;
	return b;
}

void mnl_nlmsg_batch_stop(struct mnl_nlmsg_batch *b)
{
	free(b);
}

bool mnl_nlmsg_batch_next(struct mnl_nlmsg_batch *b)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)b->cur;

	if (b->buflen + nlh->nlmsg_len > b->limit) {
		b->overflow = true;
		return false;
	}
	b->cur = b->buf + b->buflen + nlh->nlmsg_len;
	b->buflen += nlh->nlmsg_len;
	return true;
}

/* Empties the batch; a message that overflowed becomes its first one. */
void mnl_nlmsg_batch_reset(struct mnl_nlmsg_batch *b)
{
	if (b->overflow) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)b->cur;

		memmove(b->buf, b->cur, nlh->nlmsg_len);
		b->buflen = nlh->nlmsg_len;
		b->cur = b->buf + b->buflen;
		b->overflow = false;
	} else {
		b->buflen = 0;
		b->cur = b->buf;
	}
}

size_t mnl_nlmsg_batch_size(struct mnl_nlmsg_batch *b)
{
	return b->buflen;
}

void *mnl_nlmsg_batch_head(struct mnl_nlmsg_batch *b)
{
	return b->buf;
}

void *mnl_nlmsg_batch_current(struct mnl_nlmsg_batch *b)
{
	return b->cur;
}

bool mnl_nlmsg_batch_is_empty(struct mnl_nlmsg_batch *b)
{
	return b->buflen == 0;
}

/* ---- attributes ---- */

uint16_t mnl_attr_get_type(const struct nlattr *attr)
{
	return attr->nla_type & NLA_TYPE_MASK;
}

uint16_t mnl_attr_get_len(const struct nlattr *attr)
{
	return attr->nla_len;
}

uint16_t mnl_attr_get_payload_len(const struct nlattr *attr)
{
	return attr->nla_len - MNL_ATTR_HDRLEN;
}

void *mnl_attr_get_payload(const struct nlattr *attr)
{
	return (char *)attr + MNL_ATTR_HDRLEN;
}

uint8_t mnl_attr_get_u8(const struct nlattr *attr)
{
	return *(const uint8_t *)mnl_attr_get_payload(attr);
}

uint16_t mnl_attr_get_u16(const struct nlattr *attr)
{
	uint16_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint32_t mnl_attr_get_u32(const struct nlattr *attr)
{
	uint32_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint64_t mnl_attr_get_u64(const struct nlattr *attr)
{
	uint64_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

const char *mnl_attr_get_str(const struct nlattr *attr)
{
	return mnl_attr_get_payload(attr);
}

bool mnl_attr_ok(const struct nlattr *attr, int len)
{
	return len >= (int)sizeof(struct nlattr) &&
	       attr->nla_len >= sizeof(struct nlattr) &&
	       (int)attr->nla_len <= len;
}

struct nlattr *mnl_attr_next(const struct nlattr *attr)
{
	return (struct nlattr *)((char *)attr + MNL_ALIGN(attr->nla_len));
}

int mnl_attr_type_valid(const struct nlattr *attr, uint16_t maxtype)
{
	if (mnl_attr_get_type(attr) > maxtype) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return 1;
}

/* Payload size of the fixed-size types; 0 means "any size". */
static const size_t attr_type_len[MNL_TYPE_MAX] = {
	[MNL_TYPE_U8] = sizeof(uint8_t),
	[MNL_TYPE_U16] = sizeof(uint16_t),
	[MNL_TYPE_U32] = sizeof(uint32_t),
	[MNL_TYPE_U64] = sizeof(uint64_t),
	[MNL_TYPE_MSECS] = sizeof(uint64_t),
};

/* Fails with ERANGE (wrong size) or EINVAL (string without its NUL). */
static int attr_validate(const struct nlattr *attr, enum mnl_attr_data_type type, size_t exp_len)
{
	uint16_t len = mnl_attr_get_payload_len(attr);
	const char *p = mnl_attr_get_payload(attr);

	if (len < exp_len)
		goto range;
	switch (type) {
	case MNL_TYPE_FLAG:
		if (len > 0)
			goto range;
		break;
	case MNL_TYPE_NUL_STRING:
		if (len == 0)
			goto range;
		if (p[len - 1] != '\0') {
			errno = EINVAL;
			return -1;
		}
		break;
	case MNL_TYPE_STRING:
		if (len == 0)
			goto range;
		break;
	case MNL_TYPE_NESTED:
		if (len == 0)
			return 0;
		if (len < MNL_ATTR_HDRLEN)
			goto range;
		break;
	default:
		break;
	}
	if (exp_len && len > exp_len)
		goto range;
	return 0;
range:
	errno = ERANGE;
	return -1;
}

int mnl_attr_validate(const struct nlattr *attr, enum mnl_attr_data_type type)
{
	if ((unsigned)type >= MNL_TYPE_MAX) {
		errno = EINVAL;
		return -1;
	}
	return attr_validate(attr, type, attr_type_len[type]);
}

int mnl_attr_validate2(const struct nlattr *attr, enum mnl_attr_data_type type, size_t exp_len)
{
	if ((unsigned)type >= MNL_TYPE_MAX) {
		errno = EINVAL;
		return -1;
	}
	return attr_validate(attr, type, exp_len);
}

/* Calls cb on each attribute of the len bytes at payload until it returns
 * MNL_CB_STOP or MNL_CB_ERROR; returns its last value. */
int mnl_attr_parse_payload(const void *payload, size_t len, mnl_attr_cb_t cb, void *data)
{
	const struct nlattr *attr;
	int ret = MNL_CB_OK;

	for (attr = payload; mnl_attr_ok(attr, (int)((const char *)payload + len - (const char *)attr));
	     attr = mnl_attr_next(attr))
		if ((ret = cb(attr, data)) <= MNL_CB_STOP)
			return ret;
	return ret;
}

int mnl_attr_parse(const struct nlmsghdr *nlh, unsigned int offset, mnl_attr_cb_t cb, void *data)
{
	const char *start = mnl_nlmsg_get_payload_offset(nlh, offset);
	const char *tail = mnl_nlmsg_get_payload_tail(nlh);

	if (tail < start)
		return MNL_CB_OK;
	return mnl_attr_parse_payload(start, tail - start, cb, data);
}

int mnl_attr_parse_nested(const struct nlattr *nested, mnl_attr_cb_t cb, void *data)
{
	return mnl_attr_parse_payload(mnl_attr_get_payload(nested),
				      mnl_attr_get_payload_len(nested), cb, data);
}

/* Unlike libmnl 1.0.4, the padding after the payload is zeroed, so no stale
 * bytes of the caller's buffer reach the kernel. */
void mnl_attr_put(struct nlmsghdr *nlh, uint16_t type, size_t len, const void *data)
{
	struct nlattr *attr = mnl_nlmsg_get_payload_tail(nlh);
	size_t attr_len = MNL_ATTR_HDRLEN + len;
	char *p = mnl_attr_get_payload(attr);

	attr->nla_type = type;
	attr->nla_len = attr_len;
	if (len)
		memcpy(p, data, len);
	memset(p + len, 0, MNL_ALIGN(len) - len);
	nlh->nlmsg_len += MNL_ALIGN(attr_len);
}

void mnl_attr_put_u8(struct nlmsghdr *nlh, uint16_t type, uint8_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u16(struct nlmsghdr *nlh, uint16_t type, uint16_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u64(struct nlmsghdr *nlh, uint16_t type, uint64_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_str(struct nlmsghdr *nlh, uint16_t type, const char *data)
{
	mnl_attr_put(nlh, type, strlen(data), data);
}

void mnl_attr_put_strz(struct nlmsghdr *nlh, uint16_t type, const char *data)
{
	mnl_attr_put(nlh, type, strlen(data) + 1, data);
}

/* The _check variants add nothing and return false when the attribute
 * would not fit in buflen bytes of message. */
bool mnl_attr_put_check(struct nlmsghdr *nlh, size_t buflen, uint16_t type, size_t len,
			const void *data)
{
	if (nlh->nlmsg_len + MNL_ATTR_HDRLEN + MNL_ALIGN(len) > buflen)
		return false;
	mnl_attr_put(nlh, type, len, data);
	return true;
}

bool mnl_attr_put_u8_check(struct nlmsghdr *nlh, size_t buflen, uint16_t type, uint8_t data)
{
	return mnl_attr_put_check(nlh, buflen, type, sizeof(data), &data);
}

bool mnl_attr_put_u16_check(struct nlmsghdr *nlh, size_t buflen, uint16_t type, uint16_t data)
{
	return mnl_attr_put_check(nlh, buflen, type, sizeof(data), &data);
}

bool mnl_attr_put_u32_check(struct nlmsghdr *nlh, size_t buflen, uint16_t type, uint32_t data)
{
	return mnl_attr_put_check(nlh, buflen, type, sizeof(data), &data);
}

bool mnl_attr_put_u64_check(struct nlmsghdr *nlh, size_t buflen, uint16_t type, uint64_t data)
{
	return mnl_attr_put_check(nlh, buflen, type, sizeof(data), &data);
}

bool mnl_attr_put_str_check(struct nlmsghdr *nlh, size_t buflen, uint16_t type, const char *data)
{
	return mnl_attr_put_check(nlh, buflen, type, strlen(data), data);
}

bool mnl_attr_put_strz_check(struct nlmsghdr *nlh, size_t buflen, uint16_t type, const char *data)
{
	return mnl_attr_put_check(nlh, buflen, type, strlen(data) + 1, data);
}

/* A nest's length is written by mnl_attr_nest_end. */
struct nlattr *mnl_attr_nest_start(struct nlmsghdr *nlh, uint16_t type)
{
	struct nlattr *start = mnl_nlmsg_get_payload_tail(nlh);

	start->nla_type = NLA_F_NESTED | type;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(struct nlattr));
	return start;
}

struct nlattr *mnl_attr_nest_start_check(struct nlmsghdr *nlh, size_t buflen, uint16_t type)
{
	if (nlh->nlmsg_len + MNL_ATTR_HDRLEN > buflen)
		return NULL;
	return mnl_attr_nest_start(nlh, type);
}

void mnl_attr_nest_end(struct nlmsghdr *nlh, struct nlattr *start)
{
	start->nla_len = (char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)start;
}

void mnl_attr_nest_cancel(struct nlmsghdr *nlh, struct nlattr *start)
{
	nlh->nlmsg_len -= (char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)start;
}

/* ---- callbacks ---- */

static int cb_noop(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static int cb_stop(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_STOP;
}

/* NLMSG_ERROR: an error code of 0 is an acknowledgement. Subsystems send
 * the errno with either sign. */
static int cb_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	errno = err->error < 0 ? -err->error : err->error;
	return err->error == 0 ? MNL_CB_STOP : MNL_CB_ERROR;
}

static const mnl_cb_t default_ctl_cb[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = cb_noop,
	[NLMSG_ERROR] = cb_error,
	[NLMSG_DONE] = cb_stop,
	[NLMSG_OVERRUN] = cb_noop,
};

/* Control messages (type < NLMSG_MIN_TYPE) go to ctl[type] when type is
 * below ctl_len (none if that slot is NULL), else to the defaults above.
 * Fails with ESRCH (port id), EPROTO (sequence) or EINTR (dump interrupted). */
int mnl_cb_run2(const void *buf, size_t numbytes, unsigned int seq, unsigned int portid,
		mnl_cb_t cb_data, void *data, mnl_cb_t *ctl, unsigned int ctl_len)
{
	const struct nlmsghdr *nlh = buf;
	int len = (int)numbytes, ret = MNL_CB_OK;
	mnl_cb_t cb;

	while (mnl_nlmsg_ok(nlh, len)) {
		if (!mnl_nlmsg_portid_ok(nlh, portid)) {
			errno = ESRCH;
			return -1;
		}
		if (!mnl_nlmsg_seq_ok(nlh, seq)) {
			errno = EPROTO;
			return -1;
		}
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
			errno = EINTR;
			return -1;
		}
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE)
			cb = cb_data;
		else if (nlh->nlmsg_type < ctl_len)
			cb = ctl ? ctl[nlh->nlmsg_type] : NULL;
		else
			cb = default_ctl_cb[nlh->nlmsg_type];
		if (cb && (ret = cb(nlh, data)) <= MNL_CB_STOP)
			return ret;
		nlh = mnl_nlmsg_next(nlh, &len);
	}
	return ret;
}

int mnl_cb_run(const void *buf, size_t numbytes, unsigned int seq, unsigned int portid,
	       mnl_cb_t cb_data, void *data)
{
	return mnl_cb_run2(buf, numbytes, seq, portid, cb_data, data, NULL, 0);
}
