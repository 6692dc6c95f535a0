/* dns/srv_int.h - the server's internal state, shared by server.c (the
 * listeners and TCP connections) and forward.c (upstreams and the cache).
 *
 * Handles are embedded in their owners and freed only in close callbacks;
 * s->open counts open handles and the server is freed when it reaches 0
 * after dns_server_close().
 */
#ifndef K1S_DNS_SRV_INT_H
#define K1S_DNS_SRV_INT_H

#include "dns/dns_int.h"

#define DNS__MMSG	8	/* datagrams per recvmmsg() */

struct dns__listener {
	struct dns_server *s;
	uv_udp_t udp;
	uv_tcp_t tcp;
	uint16_t port;
	struct sockaddr_storage addr;
};

struct dns__conn {
	struct dns_server *s;
	uv_tcp_t h;
	uv_timer_t idle;
	uint8_t *buf;		/* unread bytes */
	size_t len, cap;
	int handles;		/* open handles; freed at 0 */
	bool closing;
	struct dns__conn *prev, *next;
};

struct dns__chase;

/* Where a response goes. */
struct dns__client {
	struct dns__listener *l;	/* UDP: the socket; NULL for TCP */
	struct sockaddr_storage peer;
	struct dns__conn *conn;		/* TCP: NULL once closed */
	struct dns__chase *chase;	/* the reply answers a chased CNAME (chase.c) */
};

struct dns__pend {
	struct dns_server *s;
	uv_timer_t timer;
	struct dns__client cl;
	uint16_t client_id, id;
	uint8_t *msg;			/* the query, with our id */
	size_t len;
	uint8_t key[255];		/* cache key */
	size_t klen;
	size_t up;			/* upstream index in use */
	unsigned tries;
	uint64_t start_ns;
	size_t udp_limit;
	/* retry over TCP after a truncated UDP answer (RFC 7766) */
	bool via_tcp, done;
	int handles;			/* timer, plus tcp once used */
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	uint8_t *tbuf;			/* the length-prefixed query written */
	uint8_t *rb;			/* the length-prefixed answer read */
	size_t rlen, rcap;
	struct dns__pend *prev, *next;
};

struct dns__centry {
	uint8_t *msg;
	size_t len;
	uint64_t stored_ms, expire_ms;
	uint8_t key[255];
	size_t klen;
	struct dns__centry *prev, *next;	/* LRU: head is newest */
};

struct dns_server {
	uv_loop_t *loop;
	struct dns_zone *z;
	struct dns_server_config cfg;
	struct dns_stats st;
	struct dns__listener *ls;
	size_t nls;
	int open;
	bool closing;
	uint8_t rbuf[DNS_MAX_MSG];	/* forwarder's receive buffer */
	uint8_t *mbuf;			/* listeners': DNS__MMSG datagrams at once */
	uint8_t obuf[DNS_MAX_MSG];	/* response buffer */
	/* rate limit: tokens per second, refilled per ms */
	double tokens;
	uint64_t tok_ms;
	/* TCP */
	struct dns__conn *conns;
	size_t nconns;
	/* forwarding */
	struct dns_upstreams up;
	bool forwarding;
	uv_udp_t fwd4, fwd6;
	struct dns__pend *pends;
	size_t npend;
	struct dns__pend **by_id;	/* 65536 slots */
	struct dns__hmap cache;
	struct dns__centry *lru_head, *lru_tail;
	size_t ncache;
};

void dns__reply(struct dns_server *s, struct dns__client *cl, const uint8_t *m, size_t len);
void dns__handle_closed(uv_handle_t *h);
/* One handle of s closed: frees s when it was the last after closing. */
void dns__server_unref(struct dns_server *s);

int dns__fwd_start(struct dns_server *s);
/* Answers from the cache or sends upstream; the reply comes later. A
 * pending query takes cl->chase (and sets it NULL). */
void dns__fwd_query(struct dns_server *s, struct dns__client *cl,
		    const uint8_t *m, size_t len, bool udp);
void dns__fwd_conn_gone(struct dns_server *s, struct dns__conn *c);
void dns__fwd_close(struct dns_server *s);
void dns__cache_flush(struct dns_server *s);

/* ---- ExternalName CNAMEs followed (chase.c) ---- */

/* resp (the zone's answer to query m, may be s->obuf) is one CNAME: asks
 * for its target and answers the client with both, now or when the
 * forwarder hears back. False: not a chase, reply with resp as it is. */
bool dns__chase_start(struct dns_server *s, struct dns__client *cl, const uint8_t *m, size_t len,
		      const uint8_t *resp, size_t rlen, bool udp);
/* The forwarder's reply u (NULL: none came) for a chasing client. */
void dns__chase_reply(struct dns_server *s, struct dns__client *cl, const uint8_t *u, size_t ulen);
struct dns__chase *dns__chase_new(const uint8_t *m, size_t len, const uint8_t *resp, size_t rlen,
				  const char *target, bool udp);
void dns__chase_free(struct dns__chase *ch);
/* The answer to the chased question m: the CNAME, then u's A/AAAA/CNAME
 * answers and rcode (u NULL or not a response: the CNAME answer alone).
 * Returns its length in out, 0 when it cannot be built. u is untrusted. */
size_t dns__chase_merge(const struct dns__chase *ch, const uint8_t *u, size_t ulen,
			uint8_t *out, size_t cap);

/* ---- metrics (metrics.c) ---- */

/* The dns_stats.by_type index of query m's type (the "other" slot when
 * it cannot be read). */
size_t dns__stat_type(const uint8_t *m, size_t len);
/* Counts one upstream answer that took ns nanoseconds. */
void dns__count_forward(struct dns_stats *st, uint64_t ns);

#endif
