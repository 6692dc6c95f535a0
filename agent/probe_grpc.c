/*
 * agent/probe_grpc.c - the grpc probe: one grpc.health.v1.Health/Check call
 * over cleartext HTTP/2 (prior knowledge), from inside the pod's network
 * namespace, as the kubelet makes it.
 *
 * Just enough HTTP/2: the preface, an empty SETTINGS, one HEADERS frame
 * whose HPACK block uses only static-table indexes and literals without
 * indexing (no Huffman, no dynamic table), one DATA frame with END_STREAM.
 * The answer is read frame by frame: SETTINGS and PING are acknowledged,
 * HEADERS/CONTINUATION blocks are skipped (never decoded: the verdict is
 * the HealthCheckResponse message itself — SERVING or not; no message
 * before the stream ends means the call failed, e.g. an unknown service),
 * RST_STREAM and GOAWAY end the call.
 *
 * Limits: frames up to GRPC_FRAME_MAX bytes (the HTTP/2 default
 * SETTINGS_MAX_FRAME_SIZE), a response message up to GRPC_MSG_MAX bytes.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/probe_int.h"
#include "lib/buf.h"
#include "lib/util.h"

#define GRPC_FRAME_MAX 16384
#define GRPC_MSG_MAX 4096
#define GRPC_PATH "/grpc.health.v1.Health/Check"

enum { F_DATA = 0, F_HEADERS = 1, F_RST = 3, F_SETTINGS = 4, F_PING = 6, F_GOAWAY = 7 };
enum { FL_ACK = 1, FL_END_STREAM = 1, FL_END_HEADERS = 4 };

static const char *const serving_names[] = { "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" };

static void frame_hdr(struct buf *b, size_t len, int type, int flags, uint32_t stream)
{
	unsigned char h[9] = {
		(unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len,
		(unsigned char)type, (unsigned char)flags,
		(unsigned char)(stream >> 24), (unsigned char)(stream >> 16),
		(unsigned char)(stream >> 8), (unsigned char)stream,
	};

	buf_add(b, h, sizeof(h));
}

/* An HPACK integer with an n-bit prefix (first byte's high bits in hi). */
static void hp_int(struct buf *b, unsigned hi, unsigned n, size_t v)
{
	size_t max = (1u << n) - 1;

	if (v < max) {
		buf_addch(b, (char)(hi | v));
		return;
	}
	buf_addch(b, (char)(hi | max));
	for (v -= max; v >= 128; v >>= 7)
		buf_addch(b, (char)(0x80 | (v & 0x7f)));
	buf_addch(b, (char)v);
}

static void hp_str(struct buf *b, const char *s)
{
	hp_int(b, 0, 7, strlen(s));	/* H = 0: no Huffman */
	buf_addstr(b, s);
}

/* Literal without indexing, name from the static table (idx) or literal (0). */
static void hp_lit(struct buf *b, unsigned idx, const char *name, const char *value)
{
	hp_int(b, 0x00, 4, idx);
	if (!idx)
		hp_str(b, name);
	hp_str(b, value);
}

/* The whole request: preface, SETTINGS, HEADERS, DATA. */
void probe__grpc_request(struct buf *b, const char *authority, const char *service)
{
	struct buf hp = BUF_INIT;
	size_t slen = strlen(service), mlen = slen ? 2 + slen : 0;

	buf_addstr(b, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	frame_hdr(b, 0, F_SETTINGS, 0, 0);
	buf_addch(&hp, (char)0x83);			/* :method POST */
	buf_addch(&hp, (char)0x86);			/* :scheme http */
	hp_lit(&hp, 4, NULL, GRPC_PATH);		/* :path */
	hp_lit(&hp, 1, NULL, authority);		/* :authority */
	hp_lit(&hp, 31, NULL, "application/grpc");	/* content-type */
	hp_lit(&hp, 0, "te", "trailers");
	hp_lit(&hp, 58, NULL, PROBE_USER_AGENT);	/* user-agent */
	frame_hdr(b, hp.len, F_HEADERS, FL_END_HEADERS, 1);
	buf_add(b, hp.data, hp.len);
	frame_hdr(b, 5 + mlen, F_DATA, FL_END_STREAM, 1);
	buf_addch(b, 0);				/* not compressed */
	buf_addch(b, 0);
	buf_addch(b, 0);
	buf_addch(b, (char)(mlen >> 8));
	buf_addch(b, (char)mlen);
	if (slen) {					/* HealthCheckRequest.service = 1 */
		buf_addch(b, 0x0a);
		buf_addch(b, (char)slen);
		buf_add(b, service, slen);
	}
	buf_release(&hp);
}

/* HealthCheckResponse.status from a gRPC message (5-byte prefix); -1 if none. */
int probe__grpc_status(const unsigned char *m, size_t len)
{
	size_t n, i = 5;
	int status = 0;

	if (len < 5 || m[0] != 0)
		return -1;
	n = ((size_t)m[1] << 24) | ((size_t)m[2] << 16) | ((size_t)m[3] << 8) | m[4];
	if (n > len - 5)
		return -1;
	while (i < 5 + n) {	/* fields: 1 = status (varint); others skipped */
		unsigned tag = m[i++];
		uint64_t v = 0;
		unsigned shift = 0;

		if ((tag & 7) != 0)
			return -1;	/* only varints in this message */
		do {
			if (i >= 5 + n || shift > 63)
				return -1;
			v |= (uint64_t)(m[i] & 0x7f) << shift;
			shift += 7;
		} while (m[i++] & 0x80);
		if (tag >> 3 == 1)
			status = v > 3 ? 0 : (int)v;
	}
	return status;
}

struct h2 {
	int fd;
	uint64_t deadline;
	unsigned char in[9 + GRPC_FRAME_MAX];
	size_t have;
};

static int wait_io(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t now = mono_ms();
	int r;

	if (now >= deadline)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)(deadline - now));
	return r < 0 ? -errno : r == 0 ? -ETIMEDOUT : 0;
}

static int h2_send(struct h2 *c, const void *data, size_t len)
{
	const char *p = data;

	for (size_t off = 0; off < len;) {
		ssize_t w = send(c->fd, p + off, len - off, MSG_NOSIGNAL);
		int ret;

		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		else if ((ret = wait_io(c->fd, POLLOUT, c->deadline)))
			return ret;
	}
	return 0;
}

/* Reads one whole frame into c->in; its payload length in *len. */
static int h2_frame(struct h2 *c, size_t *len)
{
	for (;;) {
		ssize_t r;
		int ret;

		if (c->have >= 9) {
			*len = ((size_t)c->in[0] << 16) | ((size_t)c->in[1] << 8) | c->in[2];
			if (*len > GRPC_FRAME_MAX)
				return -EMSGSIZE;
			if (c->have >= 9 + *len)
				return 0;
		}
		r = recv(c->fd, c->in + c->have, sizeof(c->in) - c->have, 0);
		if (r > 0)
			c->have += (size_t)r;
		else if (r == 0)
			return -ECONNRESET;
		else if (errno != EAGAIN && errno != EINTR)
			return -errno;
		else if ((ret = wait_io(c->fd, POLLIN, c->deadline)))
			return ret;
	}
}

static void h2_consume(struct h2 *c, size_t n)
{
	memmove(c->in, c->in + n, c->have - n);
	c->have -= n;
}

/* Runs the exchange on a connected socket: SERVING (1), another status, or -errno. */
static int h2_call(struct h2 *c, const char *authority, const char *service, char **why)
{
	struct buf msg = BUF_INIT, req = BUF_INIT;
	int ret;

	probe__grpc_request(&req, authority, service);
	ret = h2_send(c, req.data, req.len);
	buf_release(&req);
	while (!ret) {
		size_t len = 0;
		int type, flags;
		uint32_t stream;

		if ((ret = h2_frame(c, &len)))
			break;
		type = c->in[3];
		flags = c->in[4];
		stream = ((uint32_t)(c->in[5] & 0x7f) << 24) | ((uint32_t)c->in[6] << 16) |
			 ((uint32_t)c->in[7] << 8) | c->in[8];
		if (type == F_SETTINGS && !(flags & FL_ACK)) {
			unsigned char ack[9] = { 0, 0, 0, F_SETTINGS, FL_ACK, 0, 0, 0, 0 };

			ret = h2_send(c, ack, sizeof(ack));
		} else if (type == F_PING && !(flags & FL_ACK) && len == 8) {
			unsigned char pong[17] = { 0, 0, 8, F_PING, FL_ACK, 0, 0, 0, 0 };

			memcpy(pong + 9, c->in + 9, 8);
			ret = h2_send(c, pong, sizeof(pong));
		} else if (type == F_DATA && stream == 1) {
			if (msg.len + len > GRPC_MSG_MAX)
				ret = -EMSGSIZE;
			else
				buf_add(&msg, c->in + 9, len);
		} else if (type == F_RST && stream == 1) {
			*why = xasprintf("stream reset by the server");
			ret = -ECONNRESET;
		} else if (type == F_GOAWAY) {
			*why = xasprintf("connection closed by the server (GOAWAY)");
			ret = -ECONNRESET;
		}
		if (!ret && stream == 1 && (type == F_DATA || type == F_HEADERS) &&
		    (flags & FL_END_STREAM))
			break;
		h2_consume(c, 9 + len);
	}
	if (!ret) {
		ret = probe__grpc_status((const unsigned char *)buf_str(&msg), msg.len);
		if (ret < 0) {
			*why = xasprintf("no health response (unknown service or rpc error)");
			ret = -EIO;
		}
	}
	buf_release(&msg);
	return ret;
}

int probe__grpc(const struct probe_handler *h, const struct probe_target *t, char **msg)
{
	const char *host = h->host ? h->host : t->pod_ip && *t->pod_ip ? t->pod_ip : "127.0.0.1";
	struct h2 *c = xcalloc(1, sizeof(*c));
	char *authority = xasprintf(strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, h->port);
	char *why = NULL;
	int ret;

	c->deadline = mono_ms() + (t->timeout_ms ? t->timeout_ms : 1000);
	c->fd = probe__dial(t->netns, host, h->port, c->deadline);
	ret = c->fd < 0 ? c->fd : h2_call(c, authority, h->service ? h->service : "", &why);
	if (ret == 1) {
		ret = 0;
	} else if (ret >= 0) {
		*msg = xasprintf("service unhealthy (responded with \"%s\")", serving_names[ret]);
		ret = -EIO;
	} else {
		*msg = xasprintf("rpc error: %s: %s", authority, why ? why :
				 ret == -ETIMEDOUT ? "timeout: health rpc did not complete" : strerror(-ret));
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	free(authority);
	free(why);
	return ret;
}
