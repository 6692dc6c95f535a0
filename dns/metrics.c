/* dns/metrics.c - the server's counters as Prometheus text (CoreDNS metric
 * names), and a minimal HTTP listener serving them on GET /metrics.
 *
 * The listener reads one request (at most METRICS_REQ_MAX bytes), answers
 * it and closes the connection: enough for Prometheus and curl, nothing
 * more (no keep-alive, no chunking). At most METRICS_MAX_CONNS at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/srv_int.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"

#define METRICS_REQ_MAX		4096
#define METRICS_MAX_CONNS	16
#define METRICS_SERVER		"dns://:53"

/* Query types counted by name (index into dns_stats.by_type); the last
 * slot counts every other type. */
static const struct { uint16_t type; const char *name; } stat_types[DNS_STAT_TYPES] = {
	{ DNS_T_A, "A" }, { DNS_T_AAAA, "AAAA" }, { DNS_T_SRV, "SRV" }, { DNS_T_PTR, "PTR" },
	{ DNS_T_CNAME, "CNAME" }, { DNS_T_TXT, "TXT" }, { DNS_T_NS, "NS" }, { DNS_T_SOA, "SOA" },
	{ 0, "other" },
};

/* Upper bounds (seconds) of the forward latency buckets, as CoreDNS's. */
static const double fwd_bounds[DNS_FWD_BUCKETS] = {
	0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128,
	0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
};

static const char *const rcode_names[16] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
	"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11", "RCODE12", "RCODE13",
	"RCODE14", "RCODE15",
};

size_t dns__stat_type(const uint8_t *m, size_t len)
{
	size_t pos = DNS__HDR;

	while (pos < len && m[pos] && (m[pos] & 0xc0) == 0)
		pos += 1u + m[pos];
	pos += pos < len && (m[pos] & 0xc0) ? 2 : 1;
	if (pos + 2 > len)
		return DNS_STAT_TYPES - 1;
	for (size_t i = 0; i < DNS_STAT_TYPES - 1; i++)
		if (stat_types[i].type == dns__get16(m + pos))
			return i;
	return DNS_STAT_TYPES - 1;
}

void dns__count_forward(struct dns_stats *st, uint64_t ns)
{
	size_t i = 0;

	while (i < DNS_FWD_BUCKETS && (double)ns / 1e9 > fwd_bounds[i])
		i++;
	st->fwd_hist[i]++;	/* [DNS_FWD_BUCKETS]: over the last bound */
	st->forward_ns_total += ns;
	st->fwd_answers++;
}

static void counter_head(struct buf *b, const char *name, const char *help)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
}

static void render_histogram(const struct dns_stats *st, struct buf *b)
{
	static const char name[] = "coredns_forward_request_duration_seconds";
	uint64_t cum = 0;

	buf_addf(b, "# HELP %s Duration of forwarded requests, from query to the upstream's answer.\n"
		 "# TYPE %s histogram\n", name, name);
	for (size_t i = 0; i < DNS_FWD_BUCKETS; i++) {
		cum += st->fwd_hist[i];
		buf_addf(b, "%s_bucket{to=\"upstream\",le=\"%g\"} %llu\n", name, fwd_bounds[i],
			 (unsigned long long)cum);
	}
	cum += st->fwd_hist[DNS_FWD_BUCKETS];
	buf_addf(b, "%s_bucket{to=\"upstream\",le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	buf_addf(b, "%s_sum{to=\"upstream\"} %.9f\n", name, (double)st->forward_ns_total / 1e9);
	buf_addf(b, "%s_count{to=\"upstream\"} %llu\n", name, (unsigned long long)st->fwd_answers);
}

void dns_metrics_text(const struct dns_stats *st, const struct dns_zone *z, struct buf *b)
{
	static const char *const proto[2] = { "udp", "tcp" };
	const char *lbl = "server=\"" METRICS_SERVER "\",zone=\".\"";

	counter_head(b, "coredns_dns_requests_total", "Queries received, by protocol and type.");
	for (size_t p = 0; p < 2; p++)
		for (size_t t = 0; t < DNS_STAT_TYPES; t++)
			buf_addf(b, "coredns_dns_requests_total{%s,proto=\"%s\",type=\"%s\"} %llu\n", lbl,
				 proto[p], stat_types[t].name, (unsigned long long)st->by_type[p][t]);
	counter_head(b, "coredns_dns_responses_total", "Responses sent, by rcode.");
	for (size_t r = 0; r < 16; r++)
		if (st->rcode[r] || r <= DNS_RC_REFUSED)
			buf_addf(b, "coredns_dns_responses_total{%s,rcode=\"%s\"} %llu\n", lbl,
				 rcode_names[r], (unsigned long long)st->rcode[r]);
	counter_head(b, "coredns_cache_hits_total", "Forwarded names answered from the cache.");
	buf_addf(b, "coredns_cache_hits_total{server=\"" METRICS_SERVER "\",type=\"success\"} %llu\n",
		 (unsigned long long)st->cache_hits);
	counter_head(b, "coredns_cache_misses_total", "Forwarded names not in the cache.");
	buf_addf(b, "coredns_cache_misses_total{server=\"" METRICS_SERVER "\"} %llu\n",
		 (unsigned long long)st->cache_misses);
	counter_head(b, "coredns_forward_requests_total", "Queries sent to upstream servers (retries included).");
	buf_addf(b, "coredns_forward_requests_total{to=\"upstream\"} %llu\n",
		 (unsigned long long)st->upstream_queries);
	counter_head(b, "coredns_forward_timeouts_total", "Upstream attempts that timed out.");
	buf_addf(b, "coredns_forward_timeouts_total{to=\"upstream\"} %llu\n",
		 (unsigned long long)st->forward_timeouts);
	render_histogram(st, b);
	counter_head(b, "k1s_dns_dropped_total", "Queries dropped (malformed, over limits, full socket).");
	buf_addf(b, "k1s_dns_dropped_total %llu\n", (unsigned long long)st->dropped);
	counter_head(b, "k1s_dns_truncated_total", "UDP responses truncated (TC=1).");
	buf_addf(b, "k1s_dns_truncated_total %llu\n", (unsigned long long)st->truncated);
	buf_addf(b, "# HELP k1s_dns_zone_records Objects in the cluster zone.\n"
		 "# TYPE k1s_dns_zone_records gauge\n"
		 "k1s_dns_zone_records{kind=\"service\"} %zu\nk1s_dns_zone_records{kind=\"pod\"} %zu\n",
		 z ? dns_zone_services(z) : 0, z ? dns_zone_pods(z) : 0);
}

/* ---- the HTTP listener ---- */

struct mconn {
	struct dns_metrics *m;
	uv_tcp_t tcp;
	uv_write_t wr;
	char req[METRICS_REQ_MAX];
	size_t len;
	char *resp;
};

struct dns_metrics {
	uv_tcp_t *ls;			/* listeners: one slot per address */
	bool *up;			/* slot i listens (else closed) */
	size_t nls, open;		/* slots; open handles (+1 until closed) */
	size_t conns;
	bool closing;
	dns_metrics_render_fn render;
	void *ud;
};

static void metrics_unref(struct dns_metrics *m)
{
	if (--m->open == 0 && m->closing) {
		free(m->ls);
		free(m->up);
		free(m);
	}
}

static void mconn_closed(uv_handle_t *h)
{
	struct mconn *c = h->data;
	struct dns_metrics *m = c->m;

	free(c->resp);
	free(c);
	m->conns--;
	metrics_unref(m);
}

static void mconn_written(uv_write_t *w, int status)
{
	struct mconn *c = w->data;

	(void)status;
	uv_close((uv_handle_t *)&c->tcp, mconn_closed);
}

static void mconn_answer(struct mconn *c)
{
	struct buf body, out;
	bool ok = !strncmp(c->req, "GET /metrics ", 13) || !strncmp(c->req, "GET /metrics?", 13);
	uv_buf_t b;

	buf_init(&body, 8192);
	buf_init(&out, 256);
	if (ok && !c->m->closing)
		c->m->render(&body, c->m->ud);
	else
		buf_addstr(&body, "404 page not found\n");
	buf_addf(&out, "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", ok ? "200 OK" : "404 Not Found",
		 body.len);
	buf_add(&out, body.data, body.len);
	buf_release(&body);
	c->resp = buf_detach(&out, NULL);
	b = uv_buf_init(c->resp, (unsigned)strlen(c->resp));
	c->wr.data = c;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, mconn_written) < 0)
		uv_close((uv_handle_t *)&c->tcp, mconn_closed);
}

static void mconn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct mconn *c = h->data;

	(void)hint;
	*b = uv_buf_init(c->req + c->len, (unsigned)(sizeof(c->req) - 1 - c->len));
}

static void mconn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct mconn *c = s->data;

	(void)b;
	if (n < 0 || (n == 0 && c->len == sizeof(c->req) - 1)) {
		uv_close((uv_handle_t *)&c->tcp, mconn_closed);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n") || c->len == sizeof(c->req) - 1)
		mconn_answer(c);
}

static void on_mconn(uv_stream_t *srv, int status)
{
	struct dns_metrics *m = srv->data;
	struct mconn *c;

	if (status < 0)
		return;
	c = xcalloc(1, sizeof(*c));
	c->m = m;
	uv_tcp_init(srv->loop, &c->tcp);
	c->tcp.data = c;
	m->open++;
	m->conns++;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) < 0 || m->conns > METRICS_MAX_CONNS ||
	    uv_read_start((uv_stream_t *)&c->tcp, mconn_alloc, mconn_read) < 0)
		uv_close((uv_handle_t *)&c->tcp, mconn_closed);
}

static void mlistener_closed(uv_handle_t *h)
{
	metrics_unref(h->data);
}

static int mlisten_one(uv_loop_t *loop, uv_tcp_t *t, const char *ip, uint16_t port, struct dns_metrics *m)
{
	struct sockaddr_storage ss;
	int r = strchr(ip, ':') ? uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss) :
				  uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss);

	if (r < 0)
		return r;
	uv_tcp_init(loop, t);
	t->data = m;
	m->open++;
	r = uv_tcp_bind(t, (struct sockaddr *)&ss, strchr(ip, ':') ? UV_TCP_IPV6ONLY : 0);
	if (!r)
		r = uv_listen((uv_stream_t *)t, 16, on_mconn);
	if (r < 0)
		uv_close((uv_handle_t *)t, mlistener_closed);
	return r;
}

int dns_metrics_start(uv_loop_t *loop, const char *const *ips, uint16_t port,
		      dns_metrics_render_fn render, void *ud, struct dns_metrics **out)
{
	struct dns_metrics *m = xcalloc(1, sizeof(*m));
	size_t n = 0, up = 0;
	int first_err = 0;

	while (ips[n])
		n++;
	m->ls = xcalloc(n + 1, sizeof(*m->ls));
	m->up = xcalloc(n + 1, sizeof(*m->up));
	m->nls = n;
	m->render = render;
	m->ud = ud;
	m->open = 1;		/* ours, dropped in dns_metrics_close() */
	for (size_t i = 0; i < n; i++) {
		int r = mlisten_one(loop, &m->ls[i], ips[i], port, m);

		m->up[i] = r == 0;
		up += r == 0;
		if (r < 0)
			log_warn("dns: metrics cannot listen on %s port %u: %s", ips[i], port, uv_strerror(r));
		first_err = first_err ? first_err : r;
	}
	if (!up) {
		dns_metrics_close(m);
		return first_err ? first_err : -EINVAL;
	}
	*out = m;
	return 0;
}

void dns_metrics_close(struct dns_metrics *m)
{
	if (!m)
		return;
	m->closing = true;
	for (size_t i = 0; i < m->nls; i++)
		if (m->up[i])
			uv_close((uv_handle_t *)&m->ls[i], mlistener_closed);
	metrics_unref(m);
}
