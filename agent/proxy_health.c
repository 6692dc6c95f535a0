/*
 * agent/proxy_health.c - healthCheckNodePort servers for Services with
 * externalTrafficPolicy Local, as kube-proxy serves them: any request on the
 * port gets
 *   200 (this node has local endpoints) or 503 (it has none), with
 *   {"service":{"namespace":NS,"name":NAME},"localEndpoints":N,"serviceProxyHealthy":true}
 * so an external load balancer sends traffic only to nodes that keep the
 * client source and can serve it. One listener per port on [::] (dual
 * stack), or 0.0.0.0 when IPv6 is off; the answer is written after the
 * first read and the connection closed.
 */
#include "proxy_run.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define HEALTH_MAX 256		/* ports served at once */

struct hport {
	struct prun_health *h;
	uv_tcp_t tcp;
	char *key;		/* "namespace/name" */
	uint16_t port;
	int local;		/* local endpoints */
	bool closing;
};

struct hconn {
	uv_tcp_t tcp;
	uv_write_t wr;
	char *resp;
	char buf[512];
};

struct prun_health {
	uv_loop_t *loop;
	struct hport *ports[HEALTH_MAX];
	size_t open;		/* handles still open (listeners + connections) */
	bool freeing;
};

struct prun_health *prun_health_new(void *loop)
{
	struct prun_health *h = xcalloc(1, sizeof(*h));

	h->loop = loop;
	return h;
}

static void maybe_free(struct prun_health *h)
{
	if (h->freeing && !h->open)
		free(h);
}

static void conn_closed(uv_handle_t *hd)
{
	struct hconn *c = hd->data;
	struct prun_health *h = c->wr.data;

	free(c->resp);
	free(c);
	h->open--;
	maybe_free(h);
}

static void on_written(uv_write_t *w, int status)
{
	struct hconn *c = container_of(w, struct hconn, wr);

	(void)status;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_alloc(uv_handle_t *hd, size_t size, uv_buf_t *b)
{
	struct hconn *c = hd->data;

	(void)size;
	*b = uv_buf_init(c->buf, sizeof(c->buf));
}

static char *answer(const struct hport *p)
{
	const char *slash = strchr(p->key, '/');
	char *body = xasprintf("{\"service\":{\"namespace\":\"%.*s\",\"name\":\"%s\"},"
			       "\"localEndpoints\":%d,\"serviceProxyHealthy\":true}\n",
			       (int)(slash - p->key), p->key, slash + 1, p->local);
	char *r = xasprintf("HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
			    "X-Content-Type-Options: nosniff\r\n"
			    "X-Load-Balancing-Endpoint-Weight: %d\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			    p->local > 0 ? "200 OK" : "503 Service Unavailable", p->local,
			    strlen(body), body);
	free(body);
	return r;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct hconn *c = s->data;
	uv_buf_t out;

	(void)b;
	if (n == 0)
		return;
	uv_read_stop(s);
	if (n < 0 || !c->resp) {
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
		return;
	}
	out = uv_buf_init(c->resp, (unsigned)strlen(c->resp));
	if (uv_write(&c->wr, s, &out, 1, on_written))
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_conn(uv_stream_t *srv, int status)
{
	struct hport *p = container_of((uv_tcp_t *)srv, struct hport, tcp);
	struct hconn *c;

	if (status < 0)
		return;
	c = xcalloc(1, sizeof(*c));
	uv_tcp_init(p->h->loop, &c->tcp);
	c->tcp.data = c;
	c->wr.data = p->h;
	p->h->open++;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp)) {
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
		return;
	}
	c->resp = answer(p);	/* the state when the client connected */
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void port_closed(uv_handle_t *hd)
{
	struct hport *p = container_of((uv_tcp_t *)hd, struct hport, tcp);
	struct prun_health *h = p->h;

	free(p->key);
	free(p);
	h->open--;
	maybe_free(h);
}

static void port_close(struct prun_health *h, size_t i)
{
	struct hport *p = h->ports[i];

	h->ports[i] = NULL;
	uv_close((uv_handle_t *)&p->tcp, port_closed);
}

static int port_open(struct prun_health *h, struct hport *p)
{
	struct sockaddr_storage ss;
	int ret;

	uv_tcp_init(h->loop, &p->tcp);
	h->open++;
	uv_ip6_addr("::", p->port, (struct sockaddr_in6 *)&ss);
	ret = uv_tcp_bind(&p->tcp, (struct sockaddr *)&ss, 0);
	if (ret == UV_EAFNOSUPPORT || ret == UV_EADDRNOTAVAIL) {
		uv_ip4_addr("0.0.0.0", p->port, (struct sockaddr_in *)&ss);
		ret = uv_tcp_bind(&p->tcp, (struct sockaddr *)&ss, 0);
	}
	if (!ret)
		ret = uv_listen((uv_stream_t *)&p->tcp, 64, on_conn);
	return ret;
}

int prun_health_set(struct prun_health *h, const char *key, uint16_t port, int n)
{
	size_t free_slot = HEALTH_MAX;
	struct hport *p;
	int ret;

	for (size_t i = 0; i < HEALTH_MAX; i++) {
		p = h->ports[i];
		if (!p) {
			if (free_slot == HEALTH_MAX)
				free_slot = i;
			continue;
		}
		if (strcmp(p->key, key))
			continue;
		if (p->port == port) {
			p->local = n;
			return 0;
		}
		port_close(h, i);
		if (free_slot == HEALTH_MAX)
			free_slot = i;
	}
	if (!port)
		return 0;
	if (free_slot == HEALTH_MAX) {
		log_warn("proxy: more than %d health check node ports, not serving %u for %s",
			 HEALTH_MAX, port, key);
		return -ENOSPC;
	}
	p = xcalloc(1, sizeof(*p));
	p->h = h;
	p->key = xstrdup(key);
	p->port = port;
	p->local = n;
	h->ports[free_slot] = p;
	ret = port_open(h, p);
	if (ret) {
		log_warn("proxy: cannot serve health check node port %u of %s: %s", port, key,
			 uv_strerror(ret));
		port_close(h, free_slot);
		return -EADDRINUSE;
	}
	LOG_V(2, "proxy: health check node port %u for %s (%d local)", port, key, n);
	return 0;
}

void prun_health_free(struct prun_health *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < HEALTH_MAX; i++)
		if (h->ports[i])
			port_close(h, i);
	h->freeing = true;
	maybe_free(h);
}
