/* dns/forward.c - names outside the cluster: resolv.conf upstreams, a UDP
 * forwarder with per-attempt timeouts that moves on to the next upstream,
 * and an LRU cache (positive answers for their smallest TTL, negative ones
 * for the SOA minimum, both capped). The client's query goes upstream as it
 * came (EDNS0 options included) with only the ID replaced. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/random.h>

#include "dns/srv_int.h"
#include "lib/log.h"
#include "lib/util.h"

/* ---- resolv.conf ---- */

static bool is_loopback(const struct dns_addr *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (a->family == AF_INET)
		return a->ip[0] == 127;
	return memcmp(a->ip, v6lo, 16) == 0;
}

int dns_resolv_parse(const char *path, bool skip_loopback, struct dns_upstreams *u)
{
	char *data = NULL, *save = NULL;
	size_t len;
	int ret = read_file(path, 1 << 16, &data, &len);

	memset(u, 0, sizeof(*u));
	if (ret < 0)
		return ret;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char word[32], addr[64];
		if (sscanf(line, " %31s %63s", word, addr) != 2 || strcmp(word, "nameserver"))
			continue;
		char *pct = strchr(addr, '%');	/* fe80::1%eth0: scope dropped */
		if (pct)
			*pct = '\0';
		struct dns_addr a;
		if (u->n >= DNS_MAX_UPSTREAMS || dns_addr_parse(&a, addr) < 0 ||
		    (skip_loopback && is_loopback(&a)))
			continue;
		u->addr[u->n] = a;
		u->port[u->n++] = 53;
	}
	free(data);
	return u->n ? 0 : -ENODATA;
}

static void up_sockaddr(const struct dns_server *s, size_t i, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (s->up.addr[i].family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(s->up.port[i]);
		memcpy(&in->sin_addr, s->up.addr[i].ip, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(s->up.port[i]);
		memcpy(&in6->sin6_addr, s->up.addr[i].ip, 16);
	}
}

/* An upstream that is one of our own listeners would loop. */
static bool is_self(const struct dns_server *s, size_t i)
{
	struct sockaddr_storage u;

	up_sockaddr(s, i, &u);
	for (size_t j = 0; j < s->nls; j++) {
		const struct sockaddr_storage *l = &s->ls[j].addr;
		if (l->ss_family != u.ss_family || s->ls[j].port != s->up.port[i])
			continue;
		const void *la = l->ss_family == AF_INET
			? (const void *)&((const struct sockaddr_in *)l)->sin_addr
			: (const void *)&((const struct sockaddr_in6 *)l)->sin6_addr;
		size_t n = l->ss_family == AF_INET ? 4 : 16;
		static const uint8_t zero[16];
		if (!memcmp(la, s->up.addr[i].ip, n) ||
		    (!memcmp(la, zero, n) && is_loopback(&s->up.addr[i])))
			return true;
	}
	return false;
}

/* ---- cache ---- */

static void lru_unlink(struct dns_server *s, struct dns__centry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		s->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		s->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct dns_server *s, struct dns__centry *e)
{
	e->next = s->lru_head;
	if (s->lru_head)
		s->lru_head->prev = e;
	s->lru_head = e;
	if (!s->lru_tail)
		s->lru_tail = e;
}

static void centry_free(struct dns_server *s, struct dns__centry *e)
{
	lru_unlink(s, e);
	dns__hmap_del(&s->cache, e->key, e->klen, e);
	free(e->msg);
	free(e);
	s->ncache--;
}

void dns__cache_flush(struct dns_server *s)
{
	while (s->lru_head)
		centry_free(s, s->lru_head);
}

/* Key: lowercased question name, type, class, EDNS presence and DO bit. */
static size_t cache_key(const struct dns__query *q, uint8_t *key)
{
	size_t n = strlen(q->name.text);

	if (n + 6 > 255)
		return 0;
	memcpy(key, q->name.text, n);
	key[n] = 0;
	dns__put16(key + n + 1, q->qtype);
	dns__put16(key + n + 3, q->qclass);
	key[n + 5] = (uint8_t)(q->edns | q->do_bit << 1);
	return n + 6;
}

/* Walks every RR after the question: calls fn on the TTL of each non-OPT
 * record. -EBADMSG on a malformed message. */
static int walk_ttls(uint8_t *m, size_t len, void (*fn)(uint8_t *ttl, uint16_t type,
		     const uint8_t *rd, uint16_t rdlen, int section, void *arg), void *arg)
{
	struct dns__name n;
	size_t p = DNS__HDR;
	size_t counts[3] = { dns__get16(m + 6), dns__get16(m + 8), dns__get16(m + 10) };

	if (dns__get16(m + 4) != 1 || dns__read_name(m, len, &p, &n) < 0 || p + 4 > len)
		return -EBADMSG;
	p += 4;
	for (int sec = 0; sec < 3; sec++) {
		for (size_t i = 0; i < counts[sec]; i++) {
			uint16_t type, rdlen;
			size_t ttloff;
			if (dns__skip_rr(m, len, &p, &type, &ttloff, &rdlen) < 0)
				return -EBADMSG;
			if (type != DNS_T_OPT)
				fn(m + ttloff, type, m + ttloff + 6, rdlen, sec, arg);
		}
	}
	return 0;
}

struct ttl_scan {
	uint32_t min_answer;
	uint32_t soa_min;
	bool has_soa;
};

static void scan_ttl(uint8_t *t, uint16_t type, const uint8_t *rd, uint16_t rdlen,
		     int sec, void *arg)
{
	struct ttl_scan *sc = arg;
	uint32_t ttl = dns__get32(t);

	if (sec == 0 && ttl < sc->min_answer)
		sc->min_answer = ttl;
	if (sec == 1 && type == DNS_T_SOA && rdlen >= 22) {
		uint32_t min = dns__get32(rd + rdlen - 4);
		sc->soa_min = ttl < min ? ttl : min;
		sc->has_soa = true;
	}
}

static void age_ttl(uint8_t *t, uint16_t type, const uint8_t *rd, uint16_t rdlen,
		    int sec, void *arg)
{
	uint32_t age = *(uint32_t *)arg, ttl = dns__get32(t);

	ttl = ttl > age ? ttl - age : 0;
	t[0] = ttl >> 24, t[1] = ttl >> 16 & 0xff, t[2] = ttl >> 8 & 0xff, t[3] = ttl & 0xff;
}

static void cache_store(struct dns_server *s, const uint8_t *key, size_t klen,
			uint8_t *m, size_t len)
{
	struct ttl_scan sc = { .min_answer = UINT32_MAX };
	int rcode = m[3] & 0xf;
	uint32_t ttl;

	if (!klen || (m[2] & 0x02) || (rcode != DNS_RC_NOERROR && rcode != DNS_RC_NXDOMAIN) ||
	    walk_ttls(m, len, scan_ttl, &sc) < 0)
		return;
	if (rcode == DNS_RC_NOERROR && dns__get16(m + 6))
		ttl = sc.min_answer < s->cfg.cache_max_ttl ? sc.min_answer : s->cfg.cache_max_ttl;
	else if (sc.has_soa)
		ttl = sc.soa_min < s->cfg.cache_neg_ttl ? sc.soa_min : s->cfg.cache_neg_ttl;
	else
		return;
	if (ttl == 0)
		return;
	struct dns__centry *e = dns__hmap_get(&s->cache, key, klen);
	if (e)
		centry_free(s, e);
	while (s->ncache >= s->cfg.cache_entries && s->lru_tail)
		centry_free(s, s->lru_tail);
	e = xcalloc(1, sizeof(*e));
	e->msg = xmalloc(len);
	memcpy(e->msg, m, len);
	e->len = len;
	e->stored_ms = uv_now(s->loop);
	e->expire_ms = e->stored_ms + (uint64_t)ttl * 1000;
	memcpy(e->key, key, klen);
	e->klen = klen;
	dns__hmap_add(&s->cache, key, klen, e);
	lru_push(s, e);
	s->ncache++;
}

/* Sends m to the client, truncated (TC=1, question only) for UDP when over
 * its limit. m is ours to modify. */
static void reply_sized(struct dns_server *s, struct dns__client *cl, uint8_t *m,
			size_t len, size_t udp_limit)
{
	if (cl->chase) {
		dns__chase_reply(s, cl, m, len);
		return;
	}
	if (cl->l && len > udp_limit) {
		struct dns__name n;
		size_t p = DNS__HDR;
		if (dns__read_name(m, len, &p, &n) < 0 || p + 4 > len)
			return;
		len = p + 4;
		m[2] |= 0x02;
		memset(m + 6, 0, 6);
		s->st.truncated++;
	}
	dns__reply(s, cl, m, len);
}

static bool cache_answer(struct dns_server *s, struct dns__client *cl,
			 const struct dns__query *q, const uint8_t *key, size_t klen)
{
	struct dns__centry *e = klen ? dns__hmap_get(&s->cache, key, klen) : NULL;
	uint64_t now = uv_now(s->loop);

	if (!e)
		return false;
	if (now >= e->expire_ms) {
		centry_free(s, e);
		return false;
	}
	lru_unlink(s, e);
	lru_push(s, e);
	memcpy(s->obuf, e->msg, e->len);
	uint32_t age = (uint32_t)((now - e->stored_ms) / 1000);
	if (age)
		walk_ttls(s->obuf, e->len, age_ttl, &age);
	dns__put16(s->obuf, q->id);
	s->st.cache_hits++;
	reply_sized(s, cl, s->obuf, e->len, dns__udp_limit(q));
	return true;
}

/* ---- pending queries ---- */

static void pend_closed(uv_handle_t *h)
{
	struct dns__pend *p = h->data;
	struct dns_server *s = p->s;

	if (--p->handles > 0)
		return;
	free(p->msg);
	free(p->tbuf);
	free(p->rb);
	dns__chase_free(p->cl.chase);
	free(p);
	dns__server_unref(s);
}

static void pend_free(struct dns__pend *p)
{
	struct dns_server *s = p->s;

	if (p->done)
		return;
	p->done = true;
	if (p->prev)
		p->prev->next = p->next;
	else
		s->pends = p->next;
	if (p->next)
		p->next->prev = p->prev;
	s->by_id[p->id] = NULL;
	s->npend--;
	uv_timer_stop(&p->timer);
	uv_close((uv_handle_t *)&p->timer, pend_closed);
	if (p->via_tcp)
		uv_close((uv_handle_t *)&p->tcp, pend_closed);
}

static void servfail(struct dns_server *s, struct dns__client *cl, const uint8_t *m,
		     size_t len, uint16_t id, int rcode)
{
	struct dns__query q;
	struct dns__resp r;
	bool tc;

	if (cl->chase) {	/* the CNAME alone */
		dns__chase_reply(s, cl, NULL, 0);
		return;
	}
	if (dns__parse_query(m, len, &q) != 0)
		return;
	q.id = id;
	dns__resp_init(&r, &q, s->obuf, sizeof(s->obuf), false);
	r.rcode = rcode;
	size_t n = dns__resp_finish(&r, cl->l != NULL, &tc);
	if (n)
		dns__reply(s, cl, s->obuf, n);
}

static int pend_send(struct dns__pend *p)
{
	struct dns_server *s = p->s;
	struct sockaddr_storage ss;

	up_sockaddr(s, p->up, &ss);
	uv_udp_t *sock = ss.ss_family == AF_INET ? &s->fwd4 : &s->fwd6;
	uv_buf_t b = uv_buf_init((char *)p->msg, (unsigned)p->len);
	p->tries++;
	s->st.upstream_queries++;
	int ret = uv_udp_try_send(sock, &b, 1, (struct sockaddr *)&ss);
	return ret < 0 ? ret : 0;
}

static void pend_timeout(uv_timer_t *t)
{
	struct dns__pend *p = t->data;
	struct dns_server *s = p->s;

	s->st.forward_timeouts++;
	while (!p->via_tcp && p->tries < s->cfg.upstream_attempts) {
		p->up = (p->up + 1) % s->up.n;
		if (pend_send(p) == 0) {
			uv_timer_start(&p->timer, pend_timeout, s->cfg.upstream_timeout_ms, 0);
			return;
		}
	}
	if (p->cl.l || p->cl.conn)
		servfail(s, &p->cl, p->msg, p->len, p->client_id, DNS_RC_SERVFAIL);
	pend_free(p);
}

static uint16_t new_id(struct dns_server *s)
{
	uint16_t id = 0;

	for (int i = 0; i < 64; i++) {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint16_t)(mono_ns() ^ (uint64_t)i * 40503u);
		if (!s->by_id[id])
			return id;
	}
	for (uint32_t i = 0; i < 65536; i++)	/* nearly full: take any free */
		if (!s->by_id[(uint16_t)(id + i)])
			return (uint16_t)(id + i);
	return id;
}

void dns__fwd_query(struct dns_server *s, struct dns__client *cl,
		    const uint8_t *m, size_t len, bool udp)
{
	struct dns__query q;
	uint8_t key[255];

	if (dns__parse_query(m, len, &q) != 0)
		return;
	size_t klen = cache_key(&q, key);
	if (cache_answer(s, cl, &q, key, klen))
		return;
	s->st.cache_misses++;
	if (!s->forwarding || s->npend >= s->cfg.max_pending) {
		servfail(s, cl, m, len, q.id, s->forwarding ? DNS_RC_SERVFAIL : DNS_RC_REFUSED);
		return;
	}
	struct dns__pend *p = xcalloc(1, sizeof(*p));
	p->s = s;
	p->cl = *cl;
	cl->chase = NULL;	/* the pending query owns it now */
	p->client_id = q.id;
	p->id = new_id(s);
	p->msg = xmalloc(len);
	memcpy(p->msg, m, len);
	dns__put16(p->msg, p->id);
	p->len = len;
	memcpy(p->key, key, klen);
	p->klen = klen;
	p->udp_limit = dns__udp_limit(&q);
	p->start_ns = mono_ns();
	uv_timer_init(s->loop, &p->timer);
	p->timer.data = p;
	p->handles = 1;
	s->open++;		/* one reference for all the pending's handles */
	s->by_id[p->id] = p;
	p->next = s->pends;
	if (s->pends)
		s->pends->prev = p;
	s->pends = p;
	s->npend++;
	s->st.forwarded++;
	if (pend_send(p) < 0) {
		pend_timeout(&p->timer);
		return;
	}
	uv_timer_start(&p->timer, pend_timeout, s->cfg.upstream_timeout_ms, 0);
}

/* Same address as the upstream we asked, same question as we sent. */
static bool answer_matches(const struct dns_server *s, const struct dns__pend *p,
			   const uint8_t *m, size_t len, const struct sockaddr *from)
{
	struct sockaddr_storage want;
	struct dns__name a, b;
	size_t pa = DNS__HDR, pb = DNS__HDR;

	up_sockaddr(s, p->up, &want);
	if (from->sa_family != want.ss_family)
		return false;
	if (from->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)from, *y = (const void *)&want;
		if (x->sin_port != y->sin_port || x->sin_addr.s_addr != y->sin_addr.s_addr)
			return false;
	} else {
		const struct sockaddr_in6 *x = (const void *)from, *y = (const void *)&want;
		if (x->sin6_port != y->sin6_port || memcmp(&x->sin6_addr, &y->sin6_addr, 16))
			return false;
	}
	if (!(m[2] & 0x80) || dns__get16(m + 4) != 1 ||
	    dns__read_name(m, len, &pa, &a) < 0 || pa + 4 > len ||
	    dns__read_name(p->msg, p->len, &pb, &b) < 0 || strcmp(a.text, b.text) ||
	    memcmp(m + pa, p->msg + pb, 4))
		return false;
	return true;
}

static void fwd_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct dns_server *s = h->data;

	*b = uv_buf_init((char *)s->rbuf, sizeof(s->rbuf));
}

/* The upstream's answer m (ours to modify): cache, reply, done. */
static void pend_answer(struct dns__pend *p, uint8_t *m, size_t n)
{
	struct dns_server *s = p->s;

	dns__count_forward(&s->st, mono_ns() - p->start_ns);
	cache_store(s, p->key, p->klen, m, n);
	dns__put16(m, p->client_id);
	if (p->cl.l || p->cl.conn) {
		memcpy(s->obuf, m, n);
		reply_sized(s, &p->cl, s->obuf, n, p->udp_limit);
	}
	pend_free(p);
}

static void tcp_fail(struct dns__pend *p)
{
	if (p->done)
		return;
	if (p->cl.l || p->cl.conn)
		servfail(p->s, &p->cl, p->msg, p->len, p->client_id, DNS_RC_SERVFAIL);
	pend_free(p);
}

static void up_tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct dns__pend *p = h->data;

	if (p->rcap - p->rlen < 4096) {
		p->rcap = p->rcap < 8192 ? 8192 : p->rcap * 2;
		p->rb = xrealloc(p->rb, p->rcap);
	}
	*b = uv_buf_init((char *)p->rb + p->rlen, (unsigned)(p->rcap - p->rlen));
}

static void up_tcp_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct dns__pend *p = st->data;

	if (p->done)
		return;
	if (n < 0 || p->rlen + (size_t)n > 2 + DNS_MAX_MSG) {
		tcp_fail(p);
		return;
	}
	p->rlen += (size_t)n;
	if (p->rlen < 2 || p->rlen < 2u + dns__get16(p->rb))
		return;
	size_t ml = dns__get16(p->rb);
	struct dns__name a, q;
	size_t pa = DNS__HDR, pq = DNS__HDR;
	uint8_t *m = p->rb + 2;
	if (ml < DNS__HDR || dns__get16(m) != p->id || !(m[2] & 0x80) ||
	    dns__read_name(m, ml, &pa, &a) < 0 ||
	    dns__read_name(p->msg, p->len, &pq, &q) < 0 || strcmp(a.text, q.text)) {
		tcp_fail(p);
		return;
	}
	pend_answer(p, m, ml);
}

static void up_tcp_written(uv_write_t *w, int status)
{
	struct dns__pend *p = w->data;

	if (status < 0 && !p->done)
		tcp_fail(p);
}

static void up_tcp_connected(uv_connect_t *c, int status)
{
	struct dns__pend *p = c->data;

	if (p->done)
		return;
	if (status < 0) {
		tcp_fail(p);
		return;
	}
	p->tbuf = xmalloc(p->len + 2);
	dns__put16(p->tbuf, (uint16_t)p->len);
	memcpy(p->tbuf + 2, p->msg, p->len);
	uv_buf_t b = uv_buf_init((char *)p->tbuf, (unsigned)p->len + 2);
	p->wreq.data = p;
	if (uv_write(&p->wreq, (uv_stream_t *)&p->tcp, &b, 1, up_tcp_written) < 0) {
		tcp_fail(p);
		return;
	}
	uv_read_start((uv_stream_t *)&p->tcp, up_tcp_alloc, up_tcp_read);
}

/* A truncated UDP answer: ask the same upstream again over TCP. */
static void pend_go_tcp(struct dns__pend *p)
{
	struct dns_server *s = p->s;
	struct sockaddr_storage ss;

	up_sockaddr(s, p->up, &ss);
	p->via_tcp = true;
	p->handles++;
	uv_tcp_init(s->loop, &p->tcp);
	p->tcp.data = p;
	p->creq.data = p;
	s->st.upstream_queries++;
	if (uv_tcp_connect(&p->creq, &p->tcp, (struct sockaddr *)&ss, up_tcp_connected) < 0) {
		tcp_fail(p);
		return;
	}
	uv_timer_start(&p->timer, pend_timeout, s->cfg.upstream_timeout_ms, 0);
}

static void fwd_read(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
		     const struct sockaddr *from, unsigned flags)
{
	struct dns_server *s = h->data;
	uint8_t *m = (uint8_t *)b->base;

	if (n < DNS__HDR || !from)
		return;
	struct dns__pend *p = s->by_id[dns__get16(m)];
	if (!p || p->via_tcp || !answer_matches(s, p, m, (size_t)n, from))
		return;
	if (m[2] & 0x02) {
		pend_go_tcp(p);
		return;
	}
	pend_answer(p, m, (size_t)n);
}

void dns__fwd_conn_gone(struct dns_server *s, struct dns__conn *c)
{
	for (struct dns__pend *p = s->pends; p; p = p->next)
		if (p->cl.conn == c)
			p->cl.conn = NULL;
}

int dns__fwd_start(struct dns_server *s)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	int ret;

	s->by_id = xcalloc(65536, sizeof(*s->by_id));
	uv_udp_init(s->loop, &s->fwd4);
	uv_udp_init(s->loop, &s->fwd6);
	s->fwd4.data = s->fwd6.data = s;
	s->open += 2;
	if (!s->cfg.resolv_conf)
		return 0;
	ret = dns_resolv_parse(s->cfg.resolv_conf, s->cfg.skip_loopback, &s->up);
	if (ret < 0) {
		log_warn("dns: no upstream nameservers from '%s': %s; forwarding off",
			 s->cfg.resolv_conf, strerror(-ret));
		return 0;
	}
	struct dns_upstreams kept = { 0 };
	for (size_t i = 0; i < s->up.n; i++) {
		s->up.port[i] = s->cfg.upstream_port;
		if (is_self(s, i)) {
			log_warn("dns: upstream %zu in '%s' is this server; skipped", i, s->cfg.resolv_conf);
			continue;
		}
		kept.addr[kept.n] = s->up.addr[i];
		kept.port[kept.n++] = s->up.port[i];
	}
	s->up = kept;
	if (!s->up.n)
		return 0;
	if ((ret = uv_udp_bind(&s->fwd4, (struct sockaddr *)&a4, 0)) < 0 ||
	    (ret = uv_udp_recv_start(&s->fwd4, fwd_alloc, fwd_read)) < 0)
		return ret;
	/* IPv6 may be absent on the host: forwarding over IPv4 still works */
	if (uv_udp_bind(&s->fwd6, (struct sockaddr *)&a6, UV_UDP_IPV6ONLY) == 0)
		uv_udp_recv_start(&s->fwd6, fwd_alloc, fwd_read);
	s->forwarding = true;
	return 0;
}

void dns__fwd_close(struct dns_server *s)
{
	while (s->pends)
		pend_free(s->pends);
	dns__cache_flush(s);
	dns__hmap_release(&s->cache);
	if (s->by_id) {
		uv_close((uv_handle_t *)&s->fwd4, dns__handle_closed);
		uv_close((uv_handle_t *)&s->fwd6, dns__handle_closed);
	}
}
