/*
 * static-mnl-probe - exercises every libmnl function and prints what it saw.
 *
 * tests/e2e/static.test.sh links this once with the real libmnl and once
 * with mk/static/libmnl.c (the static build's own implementation) and
 * requires both outputs to be identical. Run it as root inside `unshare -n`
 * (a fresh network namespace holds only "lo", so the link dump is stable).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

static void hex(const char *what, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	printf("%s %zu:", what, n);
	for (i = 0; i < n; i++)
		printf("%s%02x", i % 4 ? "" : " ", c[i]);
	printf("\n");
}

static const char *const type_names[MNL_TYPE_MAX + 1] = {
	"unspec", "u8", "u16", "u32", "u64", "string", "flag", "msecs",
	"nested", "nested_compat", "nul_string", "binary", "max",
};

static int attr_cb(const struct nlattr *a, void *data)
{
	int depth = *(int *)data, t, ret;

	printf("%*sattr type=%u len=%u plen=%u raw=%#x valid(5)=%d", depth * 2, "",
	       mnl_attr_get_type(a), mnl_attr_get_len(a), mnl_attr_get_payload_len(a),
	       a->nla_type, mnl_attr_type_valid(a, 5));
	for (t = 0; t <= MNL_TYPE_MAX; t++) {
		errno = 0;
		ret = mnl_attr_validate(a, t);
		printf(" %s=%d/%d", type_names[t], ret, errno);
	}
	errno = 0;
	ret = mnl_attr_validate2(a, MNL_TYPE_BINARY, 3);
	printf(" v2bin3=%d/%d", ret, errno);
	errno = 0;
	ret = mnl_attr_validate2(a, MNL_TYPE_NESTED, 3);
	printf(" v2nest3=%d/%d\n", ret, errno);
	if (a->nla_type & NLA_F_NESTED) {
		depth++;
		printf("%*snested -> %d\n", depth * 2, "", mnl_attr_parse_nested(a, attr_cb, &depth));
	}
	return mnl_attr_get_type(a) == 9 ? MNL_CB_STOP : MNL_CB_OK;
}

static void probe_attrs(void)
{
	char buf[512], odd[5] = { 1, 2, 3, 4, 5 };
	struct nlmsghdr *nlh;
	struct nlattr *nest, *gone;
	struct ifinfomsg *ifi;
	int depth = 0;

	/* libmnl 1.0.4 leaves attribute padding as it finds it, ours zeroes it */
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 7;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi) + 1);
	ifi->ifi_index = 3;
	mnl_attr_put_u8(nlh, 1, 0x11);
	mnl_attr_put_u16(nlh, 2, 0x2222);
	mnl_attr_put_u32(nlh, 3, 0x33333333);
	mnl_attr_put_u64(nlh, 4, 0x4444444455555555ULL);
	mnl_attr_put_str(nlh, 5, "abc");
	mnl_attr_put_strz(nlh, 6, "defg");
	mnl_attr_put(nlh, 7, sizeof(odd), odd);
	mnl_attr_put(nlh, 8, 0, NULL);
	nest = mnl_attr_nest_start(nlh, 10);
	mnl_attr_put_u32(nlh, 1, 1);
	gone = mnl_attr_nest_start(nlh, 2);
	mnl_attr_put_u32(nlh, 3, 3);
	mnl_attr_nest_cancel(nlh, gone);
	mnl_attr_put_strz(nlh, 4, "in");
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, 11);
	mnl_attr_nest_end(nlh, nest);
	printf("put_check big=%d small=%d\n",
	       mnl_attr_put_check(nlh, sizeof(buf), 12, 3, "xyz"),
	       mnl_attr_put_check(nlh, nlh->nlmsg_len + 7, 13, 4, "wxyz"));
	printf("put_*_check u8=%d u16=%d u32=%d u64=%d str=%d strz=%d nest=%d nestfull=%d\n",
	       mnl_attr_put_u8_check(nlh, sizeof(buf), 14, 1),
	       mnl_attr_put_u16_check(nlh, sizeof(buf), 15, 2),
	       mnl_attr_put_u32_check(nlh, sizeof(buf), 16, 3),
	       mnl_attr_put_u64_check(nlh, nlh->nlmsg_len + 8, 17, 4),
	       mnl_attr_put_str_check(nlh, sizeof(buf), 18, "s"),
	       mnl_attr_put_strz_check(nlh, sizeof(buf), 19, "z"),
	       mnl_attr_nest_start_check(nlh, sizeof(buf), 20) != NULL,
	       mnl_attr_nest_start_check(nlh, nlh->nlmsg_len + 3, 21) != NULL);
	mnl_attr_put_u8(nlh, 9, 9);
	mnl_attr_put_u8(nlh, 22, 22);
	hex("msg", buf, nlh->nlmsg_len);
	printf("size=%zu plen=%zu payload@%td offset@%td tail@%td\n", mnl_nlmsg_size(10),
	       mnl_nlmsg_get_payload_len(nlh), (char *)mnl_nlmsg_get_payload(nlh) - buf,
	       (char *)mnl_nlmsg_get_payload_offset(nlh, sizeof(*ifi) + 1) - buf,
	       (char *)mnl_nlmsg_get_payload_tail(nlh) - buf);
	printf("parse -> %d\n", mnl_attr_parse(nlh, sizeof(*ifi) + 1, attr_cb, &depth));
	printf("parse past end -> %d\n", mnl_attr_parse(nlh, 4096, attr_cb, &depth));
	printf("parse_payload -> %d\n",
	       mnl_attr_parse_payload(mnl_nlmsg_get_payload_offset(nlh, sizeof(*ifi) + 1), 24,
				      attr_cb, &depth));
	{
		const struct nlattr *a = mnl_nlmsg_get_payload_offset(nlh, sizeof(*ifi) + 1);

		printf("get u8=%#x", mnl_attr_get_u8(a));
		a = mnl_attr_next(a);
		printf(" u16=%#x", mnl_attr_get_u16(a));
		a = mnl_attr_next(a);
		printf(" u32=%#x", mnl_attr_get_u32(a));
		a = mnl_attr_next(a);
		printf(" u64=%#llx", (unsigned long long)mnl_attr_get_u64(a));
		a = mnl_attr_next(a);
		printf(" str=%.3s", mnl_attr_get_str(a));
		a = mnl_attr_next(a);
		printf(" strz=%s ok(3)=%d ok(100)=%d\n", mnl_attr_get_str(a), mnl_attr_ok(a, 3),
		       mnl_attr_ok(a, 100));
	}
	printf("seq_ok 7=%d 8=%d 0=%d portid_ok 0=%d 5=%d\n", mnl_nlmsg_seq_ok(nlh, 7),
	       mnl_nlmsg_seq_ok(nlh, 8), mnl_nlmsg_seq_ok(nlh, 0), mnl_nlmsg_portid_ok(nlh, 0),
	       mnl_nlmsg_portid_ok(nlh, 5));
}

static void probe_batch(void)
{
	/* as with libmnl, the buffer has room for one message past the limit */
	char buf[200];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, 100);
	int i;

	printf("batch empty=%d size=%zu\n", mnl_nlmsg_batch_is_empty(b), mnl_nlmsg_batch_size(b));
	for (i = 0; i < 5; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
		bool ok;

		nlh->nlmsg_seq = i;
		mnl_attr_put_u64(nlh, 1, i);
		ok = mnl_nlmsg_batch_next(b);
		printf("batch add %d -> %d size=%zu cur@%td head@%td\n", i, ok,
		       mnl_nlmsg_batch_size(b),
		       (char *)mnl_nlmsg_batch_current(b) - buf,
		       (char *)mnl_nlmsg_batch_head(b) - buf);
		if (!ok) {
			mnl_nlmsg_batch_reset(b);
			printf("batch reset size=%zu cur@%td seq0=%u\n", mnl_nlmsg_batch_size(b),
			       (char *)mnl_nlmsg_batch_current(b) - buf,
			       ((struct nlmsghdr *)buf)->nlmsg_seq);
		}
	}
	mnl_nlmsg_batch_reset(b);
	printf("batch reset empty=%d\n", mnl_nlmsg_batch_is_empty(b));
	mnl_nlmsg_batch_stop(b);
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	printf("  data type=%u seq=%u\n", nlh->nlmsg_type, nlh->nlmsg_seq);
	return nlh->nlmsg_type == 99 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int ctl_cb(const struct nlmsghdr *nlh, void *data)
{
	printf("  ctl type=%u\n", nlh->nlmsg_type);
	return MNL_CB_OK;
}

/* Appends a message of type, flags, seq, portid (and an error code). */
static char *add(char *p, int type, int flags, unsigned seq, unsigned pid, int error)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(p);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = pid;
	if (type == NLMSG_ERROR && error != 1) {
		struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

		e->error = error;
	}
	return p + nlh->nlmsg_len;
}

static void run(const char *what, char *buf, char *end, unsigned seq, unsigned pid,
		mnl_cb_t *ctl, unsigned ctl_len)
{
	int ret;

	printf("cb_run %s\n", what);
	errno = 0;
	if (ctl)
		ret = mnl_cb_run2(buf, end - buf, seq, pid, data_cb, NULL, ctl, ctl_len);
	else
		ret = mnl_cb_run(buf, end - buf, seq, pid, data_cb, NULL);
	printf("  -> %d errno=%d\n", ret, errno);
}

static void probe_cb(void)
{
	char buf[1024], *p;
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_NOOP] = ctl_cb, [NLMSG_DONE] = ctl_cb };

	p = add(buf, 20, NLM_F_MULTI, 5, 0, 0);
	p = add(p, NLMSG_NOOP, 0, 5, 0, 0);
	p = add(p, 21, NLM_F_MULTI, 5, 9, 0);
	p = add(p, NLMSG_DONE, 0, 5, 0, 0);
	p = add(p, 22, 0, 5, 0, 0);
	run("dump+done", buf, p, 5, 9, NULL, 0);
	run("ctl array", buf, p, 5, 9, ctl, NLMSG_MIN_TYPE);
	run("ctl array short", buf, p, 5, 9, ctl, 2);
	run("bad seq", buf, p, 6, 0, NULL, 0);
	run("bad portid", buf, p, 0, 8, NULL, 0);
	run("seq 0", buf, p, 0, 0, NULL, 0);
	p = add(buf, 23, 0, 1, 0, 0);
	p = add(p, NLMSG_ERROR, 0, 1, 0, 0);
	p = add(p, 24, 0, 1, 0, 0);
	run("ack", buf, p, 1, 0, NULL, 0);
	p = add(buf, NLMSG_ERROR, 0, 1, 0, -ENOENT);
	run("error -ENOENT", buf, p, 1, 0, NULL, 0);
	p = add(buf, NLMSG_ERROR, 0, 1, 0, EEXIST);
	run("error +EEXIST", buf, p, 1, 0, NULL, 0);
	p = add(buf, NLMSG_ERROR, 0, 1, 0, 1);
	run("short error", buf, p, 1, 0, NULL, 0);
	p = add(buf, 25, NLM_F_DUMP_INTR, 1, 0, 0);
	run("dump interrupted", buf, p, 1, 0, NULL, 0);
	p = add(buf, 99, 0, 1, 0, 0);
	p = add(p, 26, 0, 1, 0, 0);
	run("data error", buf, p, 1, 0, NULL, 0);
	p = add(buf, 27, 0, 1, 0, 0);
	run("truncated", buf, p - 1, 1, 0, NULL, 0);
	{
		int len = p - buf;
		struct nlmsghdr *n = (struct nlmsghdr *)buf;

		printf("nlmsg_ok=%d/%d next@%td len=%d\n", mnl_nlmsg_ok(n, len), mnl_nlmsg_ok(n, len - 1),
		       (char *)mnl_nlmsg_next(n, &len) - buf, len);
	}
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(*ifi))
		if (mnl_attr_get_type(a) == IFLA_IFNAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			printf("  link %d %s\n", ifi->ifi_index, mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int dump_links(struct mnl_socket *nl, size_t bufsize)
{
	char buf[16384];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	unsigned portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = 42;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) != (ssize_t)nlh->nlmsg_len)
		return -1;
	do {
		errno = 0;
		n = mnl_socket_recvfrom(nl, buf, bufsize);
		if (n < 0) {
			printf("  recvfrom -> %zd errno=%d\n", n, errno);
			return -1;
		}
		ret = mnl_cb_run(buf, n, 42, portid, link_cb, NULL);
	} while (ret > MNL_CB_STOP);
	printf("  dump -> %d\n", ret);
	return 0;
}

static void probe_socket(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE), *nl2, *nl3;
	int one = 1, got = 0, ret;
	socklen_t len = sizeof(got);

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		printf("socket: %s\n", strerror(errno));
		return;
	}
	printf("socket fd>=0=%d portid>0=%d\n", mnl_socket_get_fd(nl) >= 0,
	       mnl_socket_get_portid(nl) > 0);
	printf("setsockopt=%d", mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one)));
	printf(" getsockopt=%d val=%d len=%u\n",
	       mnl_socket_getsockopt(nl, NETLINK_CAP_ACK, &got, &len), got, len);
	errno = 0;
	ret = mnl_socket_setsockopt(nl, 9999, &one, sizeof(one));
	printf("bad sockopt=%d errno=%d\n", ret, errno);
	printf("dump links:\n");
	dump_links(nl, 16384);
	printf("dump links, small buffer:\n");
	dump_links(nl, 64);
	nl2 = mnl_socket_fdopen(dup(mnl_socket_get_fd(nl)));
	printf("fdopen same portid=%d\n", nl2 && mnl_socket_get_portid(nl2) == mnl_socket_get_portid(nl));
	nl3 = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	printf("open2=%d\n", nl3 != NULL);
	errno = 0;
	ret = mnl_socket_open(9999) != NULL;
	printf("open bad bus=%d errno=%d\n", ret, errno);
	printf("close=%d\n", mnl_socket_close(nl3));
	printf("close=%d\n", nl2 ? mnl_socket_close(nl2) : -2);
	printf("close=%d\n", mnl_socket_close(nl));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	probe_attrs();
	probe_batch();
	probe_cb();
	probe_socket();
	return 0;
}
