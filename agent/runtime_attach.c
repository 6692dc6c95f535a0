/*
 * agent/runtime_attach.c - a container's stdin and terminal, held by its
 * shim, and the attach socket (protocol in agent/runtime.h).
 *
 * Shim side: rt__attach_open() makes the container's stdin (a pipe) or,
 * for a terminal, the socket runc hands the pty master to
 * (--console-socket, taken by rt__console_take() once `runc create` is
 * done: runc makes the slave the container's controlling terminal), and
 * listens on attach.sock; the shim's poll loop
 * asks rt__attach_pollfds() what to watch and hands the results to
 * rt__attach_handle(); rt__attach_output() copies the container's output to
 * the clients. Writes to the container's stdin never block the shim: what
 * it does not take waits in a buffer (at most RT_ATTACH_PENDING_MAX bytes;
 * clients are not read meanwhile). A client too slow to take output loses
 * it (the log has everything).
 *
 * The socket's path is bound and connected through /proc/self/fd/<dir fd>,
 * as a state directory's path may pass the 108 bytes of sun_path.
 */
#include "agent/runtime_int.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int sock_addr(const char *dir, struct sockaddr_un *sa, int *dfd)
{
	*dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0)
		return -errno;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dfd, RT_F_ATTACH);
	return 0;
}

int rt_attach_connect(const struct rt *rt, const char *id)
{
	char *dir = rt__path(rt, id, NULL);
	struct sockaddr_un sa;
	int dfd = -1, fd = -1, ret;

	ret = sock_addr(dir, &sa, &dfd);
	if (ret)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		ret = errno == ECONNREFUSED ? -ENOENT : -errno;
out:
	if (ret && fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(dir);
	return ret ? ret : fd;
}

/* ---- the shim's side ---- */

/* runc's --console-socket: a short path of its own, as runc needs a path */
static int console_listen(struct rt_attach_srv *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(a->con_dir, sizeof(a->con_dir), "/tmp/k1s-console-XXXXXX");
	if (!mkdtemp(a->con_dir)) {
		a->con_dir[0] = '\0';
		return -errno;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", a->con_dir);
	a->con_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->con_lfd < 0 || bind(a->con_lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(a->con_lfd, 1) < 0)
		return -errno;
	return 0;
}

const char *rt__console_path(struct rt_attach_srv *a, char *buf, size_t len)
{
	if (!a->con_dir[0])
		return NULL;
	snprintf(buf, len, "%s/s", a->con_dir);
	return buf;
}

static void console_close(struct rt_attach_srv *a)
{
	char p[sizeof(a->con_dir) + 2];

	if (a->con_lfd >= 0)
		close(a->con_lfd);
	a->con_lfd = -1;
	if (rt__console_path(a, p, sizeof(p))) {
		unlink(p);
		rmdir(a->con_dir);
		a->con_dir[0] = '\0';
	}
}

int rt__console_take(struct rt_attach_srv *a, int *out_fd)
{
	char data[16], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct pollfd pf = { .fd = a->con_lfd, .events = POLLIN };
	struct cmsghdr *cm;
	int c = -1, ret = -EPROTO;

	/* runc has connected and sent the master before `runc create` returned */
	if (poll(&pf, 1, RT_CONSOLE_WAIT_MS) <= 0 ||
	    (c = accept4(a->con_lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		ret = -ETIMEDOUT;
		goto out;
	}
	if (recvmsg(c, &m, MSG_CMSG_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		goto out;
	memcpy(&a->in, CMSG_DATA(cm), sizeof(int));
	fcntl(a->in, F_SETFL, O_NONBLOCK);
	*out_fd = fcntl(a->in, F_DUPFD_CLOEXEC, 3);	/* read by the log */
	ret = 0;
out:
	if (c >= 0)
		close(c);
	console_close(a);
	return ret;
}

void rt__attach_init(struct rt_attach_srv *a)
{
	memset(a, 0, sizeof(*a));
	a->lfd = a->in = a->con_lfd = -1;
	for (int i = 0; i < RT_ATTACH_CLIENTS; i++)
		a->cl[i].fd = -1;
}

int rt__attach_open(struct rt_attach_srv *a, const char *dir, bool tty, bool once, int *stdin_fd)
{
	struct sockaddr_un sa;
	int p[2], dfd = -1, ret;

	a->tty = tty;
	a->once = once;
	if (tty) {
		if ((ret = console_listen(a)) < 0)
			return ret;
	} else {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		*stdin_fd = p[0];
		a->in = p[1];
		fcntl(a->in, F_SETFL, O_NONBLOCK);
	}
	if ((ret = sock_addr(dir, &sa, &dfd)) < 0)
		return ret;
	unlink(sa.sun_path);
	a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->lfd < 0 || bind(a->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(a->lfd, RT_ATTACH_CLIENTS) < 0)
		ret = -errno;
	close(dfd);
	return ret;
}

/* No more input: a pipe closes once what is pending was taken; a terminal
 * (it is stdout too) gets ^D instead. */
static void close_stdin(struct rt_attach_srv *a)
{
	if (a->in < 0 || a->in_eof)
		return;
	a->in_eof = true;
	if (a->tty && a->pend_len < sizeof(a->pend))
		a->pend[a->pend_len++] = 4;
	if (!a->tty && !a->pend_len) {
		close(a->in);
		a->in = -1;
	}
}

static void drop_client(struct rt_attach_srv *a, struct rt_attach_client *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
	if (c->wrote && a->once)
		close_stdin(a);
	c->wrote = false;
}

static void frame(struct rt_attach_srv *a, struct rt_attach_client *c, int type,
		  const unsigned char *d, size_t n)
{
	if (type == RT_ATTACH_STDIN && a->in >= 0 && !a->in_eof) {
		c->wrote = true;
		memcpy(a->pend + a->pend_len, d, n);	/* fits: clients wait while it is full */
		a->pend_len += n;
	} else if (type == RT_ATTACH_EOF && a->once) {	/* else the next client may write */
		close_stdin(a);
	} else if (type == RT_ATTACH_RESIZE && a->tty && n == 4 && a->in >= 0) {
		struct winsize ws = { .ws_col = (unsigned short)(d[0] << 8 | d[1]),
				      .ws_row = (unsigned short)(d[2] << 8 | d[3]) };

		ioctl(a->in, TIOCSWINSZ, &ws);
	}
}

/* Reads what c sent and applies its complete frames. */
static void client_read(struct rt_attach_srv *a, struct rt_attach_client *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	size_t off = 0;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			drop_client(a, c);
		return;
	}
	c->len += (size_t)n;
	while (c->len - off >= RT_ATTACH_HDR) {
		size_t len = (size_t)c->buf[off + 1] << 8 | c->buf[off + 2];

		if (len > RT_ATTACH_DATA_MAX) {
			drop_client(a, c);
			return;
		}
		if (c->len - off < RT_ATTACH_HDR + len ||
		    (c->buf[off] == RT_ATTACH_STDIN && a->pend_len + len > sizeof(a->pend)))
			break;
		frame(a, c, c->buf[off], c->buf + off + RT_ATTACH_HDR, len);
		off += RT_ATTACH_HDR + len;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static void accept_client(struct rt_attach_srv *a)
{
	int fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (int i = 0; i < RT_ATTACH_CLIENTS; i++)
		if (a->cl[i].fd < 0) {
			a->cl[i].fd = fd;
			return;
		}
	close(fd);
}

static void flush_stdin(struct rt_attach_srv *a)
{
	ssize_t n = write(a->in, a->pend, a->pend_len);

	if (n < 0 && errno != EAGAIN && errno != EINTR)	/* the container closed it */
		a->pend_len = 0;
	if (n > 0) {
		memmove(a->pend, a->pend + n, a->pend_len - (size_t)n);
		a->pend_len -= (size_t)n;
	}
	if (!a->pend_len && a->in_eof && !a->tty) {
		close(a->in);
		a->in = -1;
	}
}

size_t rt__attach_pollfds(struct rt_attach_srv *a, struct pollfd *pf)
{
	size_t n = 0;
	bool full = a->pend_len >= sizeof(a->pend) / 2;

	if (a->lfd >= 0)
		pf[n++] = (struct pollfd){ .fd = a->lfd, .events = POLLIN };
	if (a->in >= 0 && a->pend_len)
		pf[n++] = (struct pollfd){ .fd = a->in, .events = POLLOUT };
	for (int i = 0; i < RT_ATTACH_CLIENTS; i++)
		if (a->cl[i].fd >= 0)
			pf[n++] = (struct pollfd){ .fd = a->cl[i].fd, .events = full ? 0 : POLLIN };
	return n;
}

void rt__attach_handle(struct rt_attach_srv *a, const struct pollfd *pf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!pf[i].revents)
			continue;
		if (pf[i].fd == a->lfd) {
			accept_client(a);
		} else if (pf[i].fd == a->in) {
			flush_stdin(a);
		} else {
			for (int k = 0; k < RT_ATTACH_CLIENTS; k++)
				if (a->cl[k].fd == pf[i].fd)
					client_read(a, &a->cl[k]);
		}
	}
}

void rt__attach_output(struct rt_attach_srv *a, int type, const void *d, size_t n)
{
	unsigned char hdr[RT_ATTACH_HDR];

	while (n) {
		size_t len = n > RT_ATTACH_DATA_MAX ? RT_ATTACH_DATA_MAX : n;

		hdr[0] = (unsigned char)type;
		hdr[1] = (unsigned char)(len >> 8);
		hdr[2] = (unsigned char)len;
		for (int i = 0; i < RT_ATTACH_CLIENTS; i++) {
			struct rt_attach_client *c = &a->cl[i];

			if (c->fd >= 0 && (write_all(c->fd, hdr, sizeof(hdr)) || write_all(c->fd, d, len)))
				drop_client(a, c);	/* gone, or too slow */
		}
		d = (const char *)d + len;
		n -= len;
	}
}

void rt__attach_release(struct rt_attach_srv *a)
{
	for (int i = 0; i < RT_ATTACH_CLIENTS; i++)
		if (a->cl[i].fd >= 0)
			close(a->cl[i].fd);
	if (a->lfd >= 0)
		close(a->lfd);
	if (a->in >= 0)
		close(a->in);
	a->lfd = a->in = -1;
	console_close(a);
}
