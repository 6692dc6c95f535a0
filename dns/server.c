/* dns/server.c - UDP and TCP listeners on libuv, TCP framing (RFC 1035
 * 4.2.2, RFC 7766 pipelining), the request rate limit and the TCP
 * connection limit. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/srv_int.h"
#include "lib/log.h"
#include "lib/util.h"

static void server_maybe_free(struct dns_server *s)
{
	if (!s->closing || s->open > 0)
		return;
	free(s->ls);
	free(s->by_id);
	free(s->mbuf);
	free(s);
}

void dns__server_unref(struct dns_server *s)
{
	s->open--;
	server_maybe_free(s);
}

void dns__handle_closed(uv_handle_t *h)
{
	dns__server_unref(h->data);
}

static void count_rcode(struct dns_server *s, const uint8_t *m, size_t len)
{
	if (len >= 4)
		s->st.rcode[m[3] & 0xf]++;
}

/* ---- TCP ---- */

struct wreq {
	uv_write_t req;
	uint8_t data[];
};

static void write_done(uv_write_t *req, int status)
{
	free(container_of(req, struct wreq, req));
}

static void conn_closed(uv_handle_t *h)
{
	struct dns__conn *c = h->data;
	struct dns_server *s = c->s;

	s->open--;
	if (--c->handles == 0) {
		free(c->buf);
		free(c);
	}
	server_maybe_free(s);
}

static void conn_close(struct dns__conn *c)
{
	struct dns_server *s = c->s;

	if (c->closing)
		return;
	c->closing = true;
	dns__fwd_conn_gone(s, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	c->h.data = c->idle.data = c;
	uv_close((uv_handle_t *)&c->h, conn_closed);
	uv_close((uv_handle_t *)&c->idle, conn_closed);
}

/* A client that sends queries but reads no answers is cut off here. */
#define TCP_MAX_QUEUED	(1u << 20)	/* bytes of unsent answers per connection */

static void tcp_send(struct dns__conn *c, const uint8_t *m, size_t len)
{
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->h) > TCP_MAX_QUEUED) {
		c->s->st.dropped++;
		conn_close(c);
		return;
	}
	struct wreq *w = xmalloc(sizeof(*w) + len + 2);

	dns__put16(w->data, (uint16_t)len);
	memcpy(w->data + 2, m, len);
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len + 2);
	if (uv_write(&w->req, (uv_stream_t *)&c->h, &b, 1, write_done) < 0) {
		free(w);
		conn_close(c);
	}
}

void dns__reply(struct dns_server *s, struct dns__client *cl, const uint8_t *m, size_t len)
{
	count_rcode(s, m, len);
	if (!cl->l) {
		if (cl->conn && !cl->conn->closing)
			tcp_send(cl->conn, m, len);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)m, (unsigned)len);
	/* UDP: best effort, as the protocol; a full socket buffer drops */
	if (uv_udp_try_send(&cl->l->udp, &b, 1, (struct sockaddr *)&cl->peer) < 0)
		s->st.dropped++;
}

static void handle(struct dns_server *s, struct dns__client *cl,
		   const uint8_t *m, size_t len, bool udp)
{
	size_t olen;

	s->st.queries++;
	if (udp)
		s->st.udp++;
	else
		s->st.tcp++;
	s->st.by_type[!udp][dns__stat_type(m, len)]++;
	switch (dns_zone_answer(s->z, m, len, udp, s->obuf, &olen)) {
	case DNS_ANSWERED:
		if (udp && olen >= 3 && (s->obuf[2] & 0x02))
			s->st.truncated++;
		if (!dns__chase_start(s, cl, m, len, s->obuf, olen, udp))
			dns__reply(s, cl, s->obuf, olen);
		break;
	case DNS_FORWARD:
		dns__fwd_query(s, cl, m, len, udp);
		break;
	case DNS_DROP:
		s->st.dropped++;
		break;
	}
}

static void tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct dns__conn *c = h->data;

	if (c->cap - c->len < 4096) {
		c->cap = c->cap ? c->cap * 2 : 8192;
		c->buf = xrealloc(c->buf, c->cap);
	}
	*b = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void tcp_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct dns__conn *c = st->data;
	struct dns__client cl = { .conn = c };
	size_t off = 0;

	if (n < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	while (!c->closing && c->len - off >= 2) {
		size_t ml = dns__get16(c->buf + off);
		if (ml < DNS__HDR) {	/* not a DNS message: hang up */
			conn_close(c);
			return;
		}
		if (c->len - off < ml + 2)
			break;
		handle(c->s, &cl, c->buf + off + 2, ml, false);
		off += ml + 2;
	}
	if (c->closing)
		return;
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	uv_timer_again(&c->idle);
}

static void idle_expired(uv_timer_t *t)
{
	conn_close(t->data);
}

static void tcp_accept(uv_stream_t *server, int status)
{
	struct dns__listener *l = server->data;
	struct dns_server *s = l->s;

	if (status < 0)
		return;
	struct dns__conn *c = xcalloc(1, sizeof(*c));
	c->s = s;
	uv_tcp_init(s->loop, &c->h);
	uv_timer_init(s->loop, &c->idle);
	c->h.data = c->idle.data = c;
	c->handles = 2;
	s->open += 2;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0 || s->nconns > s->cfg.max_tcp_conns) {
		s->st.dropped++;
		conn_close(c);
		return;
	}
	unsigned idle = s->cfg.tcp_idle_ms;
	uv_timer_start(&c->idle, idle_expired, idle, idle);
	uv_read_start((uv_stream_t *)&c->h, tcp_alloc, tcp_read);
}

/* ---- UDP ---- */

static bool rate_ok(struct dns_server *s)
{
	if (!s->cfg.max_qps)
		return true;
	uint64_t now = uv_now(s->loop);
	s->tokens += (double)(now - s->tok_ms) * s->cfg.max_qps / 1000.0;
	s->tok_ms = now;
	if (s->tokens > s->cfg.max_qps)
		s->tokens = s->cfg.max_qps;
	if (s->tokens < 1)
		return false;
	s->tokens -= 1;
	return true;
}

static void udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct dns__listener *l = h->data;

	/* libuv reads up to DNS__MMSG datagrams of 64 KiB into it at once */
	*b = uv_buf_init((char *)l->s->mbuf, DNS__MMSG * 65536);
}

static void udp_read(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
		     const struct sockaddr *addr, unsigned flags)
{
	struct dns__listener *l = h->data;
	struct dns__client cl = { .l = l };

	if (n <= 0 || !addr || (flags & UV_UDP_MMSG_FREE))
		return;		/* the buffer is ours: nothing to free */
	if ((flags & UV_UDP_PARTIAL) || !rate_ok(l->s)) {
		l->s->st.dropped++;
		return;
	}
	memcpy(&cl.peer, addr, addr->sa_family == AF_INET6 ?
	       sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	handle(l->s, &cl, (const uint8_t *)b->base, (size_t)n, true);
}

/* ---- setup ---- */

/* "ip", "ip:port", "[ip6]:port" */
static int parse_listen(const char *spec, uint16_t defport, struct sockaddr_storage *ss)
{
	char host[64];
	const char *port = NULL;
	int64_t p = defport;

	if (spec[0] == '[') {
		const char *e = strchr(spec, ']');
		if (!e || (size_t)(e - spec - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(e - spec - 1), spec + 1);
		if (e[1] == ':')
			port = e + 2;
		else if (e[1])
			return -EINVAL;
	} else {
		const char *c = strchr(spec, ':');
		if (c && strchr(c + 1, ':'))
			c = NULL;	/* a bare IPv6 address */
		snprintf(host, sizeof(host), "%.*s", c ? (int)(c - spec) : (int)strlen(spec), spec);
		port = c ? c + 1 : NULL;
	}
	if (port && (parse_i64(port, &p) < 0 || p < 0 || p > 65535))
		return -EINVAL;
	if (uv_ip4_addr(host, (int)p, (struct sockaddr_in *)ss) == 0)
		return 0;
	if (uv_ip6_addr(host, (int)p, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	return -EINVAL;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static uint16_t get_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					      : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Binds UDP then TCP on the same port; a port of 0 takes UDP's free port
 * and retries when TCP's is taken. */
static int listener_bind(struct dns__listener *l)
{
	unsigned flags = l->addr.ss_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0;
	bool any = get_port(&l->addr) == 0;
	int ret = -EADDRINUSE;

	for (int attempt = 0; attempt < 20 && ret == -EADDRINUSE; attempt++) {
		struct sockaddr_storage a = l->addr;
		int sz;
		if ((ret = uv_udp_bind(&l->udp, (struct sockaddr *)&a, flags)) < 0)
			return ret;
		sz = sizeof(a);
		uv_udp_getsockname(&l->udp, (struct sockaddr *)&a, &sz);
		ret = uv_tcp_bind(&l->tcp, (struct sockaddr *)&a,
				  l->addr.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
		if (ret == 0)
			ret = uv_listen((uv_stream_t *)&l->tcp, 128, tcp_accept);
		if (ret == 0) {
			l->port = get_port(&a);
			return 0;
		}
		if (!any)
			return ret;
		/* the port is taken for TCP: start over with fresh sockets */
		uv_close((uv_handle_t *)&l->udp, NULL);
		uv_close((uv_handle_t *)&l->tcp, NULL);
		uv_run(l->s->loop, UV_RUN_NOWAIT);
		uv_udp_init_ex(l->s->loop, &l->udp, l->addr.ss_family | UV_UDP_RECVMMSG);
		uv_tcp_init(l->s->loop, &l->tcp);
	}
	return ret;
}

static void config_defaults(struct dns_server_config *c)
{
	if (!c->default_port)
		c->default_port = 53;
	if (!c->upstream_port)
		c->upstream_port = 53;
	if (!c->upstream_timeout_ms)
		c->upstream_timeout_ms = 2000;
	if (!c->upstream_attempts)
		c->upstream_attempts = 3;
	if (!c->cache_entries)
		c->cache_entries = 10000;
	if (!c->cache_max_ttl)
		c->cache_max_ttl = 3600;
	if (!c->cache_neg_ttl)
		c->cache_neg_ttl = 300;
	if (!c->max_pending)
		c->max_pending = 1024;
	if (!c->max_tcp_conns)
		c->max_tcp_conns = 256;
	if (!c->tcp_idle_ms)
		c->tcp_idle_ms = 10000;
}

int dns_server_start(uv_loop_t *loop, struct dns_zone *z,
		     const struct dns_server_config *cfg, struct dns_server **out)
{
	struct dns_server *s = xcalloc(1, sizeof(*s));
	int ret = 0;

	s->loop = loop;
	s->z = z;
	s->cfg = *cfg;
	config_defaults(&s->cfg);
	s->tokens = s->cfg.max_qps;
	s->tok_ms = uv_now(loop);
	while (cfg->listen && cfg->listen[s->nls])
		s->nls++;
	s->ls = xcalloc(s->nls + 1, sizeof(*s->ls));
	s->mbuf = xmalloc(DNS__MMSG * 65536);
	for (size_t i = 0; i < s->nls; i++) {
		struct dns__listener *l = &s->ls[i];
		l->s = s;
		if ((ret = parse_listen(cfg->listen[i], s->cfg.default_port, &l->addr)) < 0) {
			log_error("dns: cannot parse listen address '%s'", cfg->listen[i]);
			s->nls = i;
			goto out;
		}
		uv_udp_init_ex(loop, &l->udp, l->addr.ss_family | UV_UDP_RECVMMSG);
		uv_tcp_init(loop, &l->tcp);
		l->udp.data = l->tcp.data = l;
		s->open += 2;
		if ((ret = listener_bind(l)) < 0) {
			log_error("dns: cannot listen on '%s': %s", cfg->listen[i], uv_strerror(ret));
			s->nls = i + 1;
			goto out;
		}
		/* the first listener of a port-0 family picks the port */
		set_port(&l->addr, l->port);
		uv_udp_recv_start(&l->udp, udp_alloc, udp_read);
	}
	ret = dns__fwd_start(s);
out:
	if (ret < 0) {
		dns_server_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

uint16_t dns_server_port(const struct dns_server *s, size_t i)
{
	return i < s->nls ? s->ls[i].port : 0;
}

const struct dns_stats *dns_server_stats(const struct dns_server *s)
{
	return &s->st;
}

void dns_server_flush_cache(struct dns_server *s)
{
	dns__cache_flush(s);
}

void dns_server_close(struct dns_server *s)
{
	if (!s || s->closing)
		return;
	s->closing = true;
	s->open++;		/* hold while closing */
	for (size_t i = 0; i < s->nls; i++) {
		s->ls[i].udp.data = s->ls[i].tcp.data = s;
		uv_close((uv_handle_t *)&s->ls[i].udp, dns__handle_closed);
		uv_close((uv_handle_t *)&s->ls[i].tcp, dns__handle_closed);
	}
	while (s->conns)
		conn_close(s->conns);
	dns__fwd_close(s);
	s->open--;
	server_maybe_free(s);
}
