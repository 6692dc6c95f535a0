/*
 * agent/probe_net.c - httpGet (HTTP, and HTTPS without verification as
 * upstream) and tcpSocket checks. They run in a worker
 * thread: the socket is created inside the pod's network namespace (setns
 * of this thread only, switched back at once), then connect/send/recv run
 * with poll() against one deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/probe_int.h"
#include "lib/buf.h"
#include "lib/tls.h"
#include "lib/util.h"

/* A non-blocking TCP socket of family, made in netns (NULL = ours). */
static int socket_in(const char *netns, int family)
{
	int self = -1, target = -1, s, ret;

	if (!netns || !*netns) {
		s = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		return s < 0 ? -errno : s;
	}
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	target = open(netns, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0) {
		ret = -errno;
		goto out;
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		ret = -errno;
		goto out;
	}
	s = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ret = s < 0 ? -errno : s;
	if (setns(self, CLONE_NEWNET) < 0)
		BUG("cannot return to the agent's network namespace: %s", strerror(errno));
out:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	return ret;
}

static int remaining(uint64_t deadline)
{
	uint64_t now = mono_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

static int wait_fd(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do {
		r = poll(&p, 1, remaining(deadline));
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* Connects to host:port before deadline; the socket or -errno. */
int probe__dial(const char *netns, const char *host, int port, uint64_t deadline)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int s, ret, soerr = 0;
	socklen_t sl = sizeof(soerr);

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		len = sizeof(*in6);
	} else {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;

		if (getaddrinfo(host, NULL, &hints, &ai) || !ai)
			return -EHOSTUNREACH;
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		len = ai->ai_addrlen;
		freeaddrinfo(ai);
		if (ss.ss_family == AF_INET)
			in4->sin_port = htons((uint16_t)port);
		else
			in6->sin6_port = htons((uint16_t)port);
	}
	s = socket_in(netns, ss.ss_family);
	if (s < 0)
		return s;
	if (connect(s, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		ret = -errno;
		goto fail;
	}
	ret = wait_fd(s, POLLOUT, deadline);
	if (ret)
		goto fail;
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		ret = soerr ? -soerr : -errno;
		goto fail;
	}
	return s;
fail:
	close(s);
	return ret;
}

static const char *target_host(const struct probe_handler *h, const struct probe_target *t)
{
	if (h->host)
		return h->host;
	return t->pod_ip && *t->pod_ip ? t->pod_ip : "127.0.0.1";
}

static uint64_t deadline_of(const struct probe_target *t)
{
	return mono_ms() + (t->timeout_ms ? t->timeout_ms : 1000);
}

int probe__tcp(const struct probe_handler *h, const struct probe_target *t, char **msg)
{
	const char *host = target_host(h, t);
	int s = probe__dial(t->netns, host, h->port, deadline_of(t));

	if (s < 0) {
		*msg = xasprintf("dial tcp %s:%d: %s", host, h->port,
				 s == -ETIMEDOUT ? "i/o timeout" : strerror(-s));
		return s;
	}
	close(s);
	return 0;
}

int probe__http_status(const char *resp, size_t len)
{
	int code = 0;

	if (len < 12 || strncmp(resp, "HTTP/1.", 7) || resp[8] != ' ')
		return -EINVAL;
	for (int i = 9; i < 12; i++) {
		if (resp[i] < '0' || resp[i] > '9')
			return -EINVAL;
		code = code * 10 + (resp[i] - '0');
	}
	if (len > 12 && resp[12] != ' ' && resp[12] != '\r')
		return -EINVAL;
	return code;
}

static void build_request(struct buf *b, const struct probe_handler *h, const char *host)
{
	bool v6 = strchr(host, ':') != NULL;

	buf_addf(b, "GET %s HTTP/1.1\r\n", h->path);
	if (h->host_header)
		buf_addf(b, "Host: %s\r\n", h->host_header);
	else
		buf_addf(b, v6 ? "Host: [%s]:%d\r\n" : "Host: %s:%d\r\n", host, h->port);
	if (!strcasestr(h->headers, "User-Agent:"))
		buf_addstr(b, "User-Agent: " PROBE_USER_AGENT "\r\n");
	if (!strcasestr(h->headers, "Accept:"))
		buf_addstr(b, "Accept: */*\r\n");
	buf_addstr(b, h->headers);
	buf_addstr(b, "Connection: close\r\n\r\n");
}

/* One probe connection: plain TCP, or TLS without verification (as the
 * kubelet's HTTPS probes: InsecureSkipVerify). */
struct pconn {
	int fd;
	struct tls_conn *tls;
	uint64_t deadline;
};

static int send_all(struct pconn *c, const char *data, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
		int ret;

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((ret = wait_fd(c->fd, POLLOUT, c->deadline)))
			return ret;
	}
	return 0;
}

/* Reads raw bytes; 0 at EOF. */
static ssize_t recv_some(struct pconn *c, char *data, size_t len)
{
	for (;;) {
		ssize_t r = recv(c->fd, data, len, 0);
		int ret;

		if (r >= 0)
			return r;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((ret = wait_fd(c->fd, POLLIN, c->deadline)))
			return ret;
	}
}

static int tls_flush(struct pconn *c)
{
	struct buf out = BUF_INIT;
	int ret;

	tls_conn_take_output(c->tls, &out);
	ret = out.len ? send_all(c, out.data, out.len) : 0;
	buf_release(&out);
	return ret;
}

/* Feeds the TLS state machine one read's worth of ciphertext. */
static int tls_pull(struct pconn *c)
{
	char data[4096];
	ssize_t r = recv_some(c, data, sizeof(data));

	if (r <= 0)
		return r == 0 ? -ECONNRESET : (int)r;
	tls_conn_feed(c->tls, data, (size_t)r);
	return 0;
}

static int pconn_tls(struct pconn *c, char **why)
{
	struct tls_config_opts o = { .insecure_skip_verify = true };
	struct tls_config *cfg = NULL;
	char *err = NULL;
	int ret = tls_config_new(&o, &cfg, &err);

	if (ret) {
		*why = err;
		return ret;
	}
	ret = tls_conn_new(cfg, NULL, &c->tls);
	tls_config_unref(cfg);
	while (!ret) {
		int hs = tls_conn_handshake(c->tls);

		ret = tls_flush(c);
		if (ret || hs == 0)
			break;
		if (hs != -EAGAIN) {
			*why = xasprintf("tls: %s", tls_conn_error(c->tls));
			ret = hs;
			break;
		}
		ret = tls_pull(c);
	}
	return ret;
}

static int pconn_write(struct pconn *c, const char *data, size_t len)
{
	int ret;

	if (!c->tls)
		return send_all(c, data, len);
	ret = tls_conn_write(c->tls, data, len);
	return ret ? ret : tls_flush(c);
}

static ssize_t pconn_read(struct pconn *c, char *data, size_t len)
{
	for (;;) {
		ssize_t r;
		int ret;

		if (!c->tls)
			return recv_some(c, data, len);
		r = tls_conn_read(c->tls, data, len);
		if (r != -EAGAIN)
			return r;
		if ((ret = tls_pull(c)))
			return ret == -ECONNRESET ? 0 : ret;
	}
}

static char *http_url(const struct probe_handler *h, const char *host)
{
	return xasprintf(strchr(host, ':') ? "%s://[%s]:%d%s" : "%s://%s:%d%s",
			 h->https ? "https" : "http", host, h->port, h->path);
}

int probe__http(const struct probe_handler *h, const struct probe_target *t, bool hook, char **msg)
{
	const char *host = target_host(h, t);
	struct pconn c = { .fd = -1, .deadline = deadline_of(t) };
	struct buf req = BUF_INIT, resp = BUF_INIT;
	char *url = http_url(h, host), *why = NULL;
	int ret, code;

	c.fd = probe__dial(t->netns, host, h->port, c.deadline);
	ret = c.fd < 0 ? c.fd : 0;
	if (!ret && h->https)
		ret = pconn_tls(&c, &why);
	build_request(&req, h, host);
	if (!ret)
		ret = pconn_write(&c, req.data, req.len);
	while (!ret && !memchr(buf_str(&resp), '\n', resp.len) && resp.len < PROBE_RESP_MAX) {
		char data[2048];
		ssize_t r = pconn_read(&c, data, sizeof(data));

		if (r > 0)
			buf_add(&resp, data, (size_t)r);
		else if (r == 0)
			break;
		else
			ret = (int)r;
	}
	if (ret) {
		*msg = xasprintf("Get \"%s\": %s", url, why ? why :
				 ret == -ETIMEDOUT ? "context deadline exceeded" : strerror(-ret));
		goto out;
	}
	code = probe__http_status(buf_str(&resp), resp.len);
	if (code < 0) {
		*msg = xasprintf("Get \"%s\": malformed HTTP response", url);
		ret = -EPROTO;
	} else if (code < 200 || code >= 400) {
		if (hook)
			*msg = xasprintf("HTTP lifecycle hook (%s) returned status code %d", h->path, code);
		else
			*msg = xasprintf("HTTP probe failed with statuscode: %d", code);
		ret = -EIO;
	}
out:
	tls_conn_free(c.tls);
	if (c.fd >= 0)
		close(c.fd);
	free(url);
	free(why);
	buf_release(&req);
	buf_release(&resp);
	return ret;
}
