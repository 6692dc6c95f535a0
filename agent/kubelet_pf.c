/*
 * agent/kubelet_pf.c - /portForward over SPDY/3.1 (portforward.k8s.io).
 *
 * For each forwarded connection the client opens two streams with the same
 * "requestid" and "port" headers: streamtype "error" and streamtype "data".
 * Once both exist we connect to 127.0.0.1:<port> inside the pod's network
 * namespace (the socket is made by a short thread that setns()es into it,
 * so the agent's loop thread never changes namespace) and copy bytes both
 * ways. A failure is written as text on the error stream. The pod closing
 * its side sends FIN on both streams; the client's FIN on data half-closes
 * the pod connection; RST_STREAM on either stream drops the connection.
 *
 * A WebSocket request (kubectl ≥ 1.31 tries "SPDY/3.1+portforward.k8s.io"
 * tunnelled in WebSocket first) is answered 400, so kubectl falls back to
 * plain SPDY.
 */
#include "kubelet_int.h"
#include "runtime_int.h"
#include "lib/log.h"
#include "lib/spdy.h"
#include "lib/util.h"
#include "lib/websocket.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define PF_PAIRS_MAX 256		/* connections forwarded at once per session */
#define PF_PENDING_MAX (4 * 1024 * 1024)	/* client bytes held before connect */
#define PF_DATA_MAX 65536		/* bytes per DATA frame we send */
#define PF_HIGH_WATER (1024 * 1024)	/* bytes queued either way before pausing */

struct kpf;

struct pfpair {
	struct kpf *pf;
	struct pfpair *next;
	char reqid[64];
	int port;
	uint32_t err_id, data_id;
	uv_tcp_t tcp;
	uv_connect_t conn;
	bool tcp_init, connected, closing, fin_in, done;
	bool paused;			/* reading from the pod stopped: client behind */
	struct buf pending;		/* client data before the connection is up */
};

struct kpf {
	struct kubelet *k;
	struct http_tunnel *t;
	struct spdy_conn spdy;
	char *pod, *netns;
	struct pfpair *pairs;
	size_t n_pairs;
	bool closed;
};

static void pf_send(struct kpf *pf, struct buf *b)
{
	if (b->len && pf->t)
		http_tunnel_write(pf->t, b->data, b->len);
	buf_release(b);
}

static void pf_maybe_free(struct kpf *pf)
{
	if (!pf->closed || pf->pairs)
		return;
	spdy_conn_release(&pf->spdy);
	free(pf->pod);
	free(pf->netns);
	free(pf);
}

static void pair_unlink_free(struct pfpair *p)
{
	struct kpf *pf = p->pf;

	for (struct pfpair **pp = &pf->pairs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pf->n_pairs--;
	buf_release(&p->pending);
	free(p);
	pf_maybe_free(pf);
}

static void on_tcp_closed(uv_handle_t *h)
{
	pair_unlink_free(h->data);
}

/* Ends the pair: FIN on its streams (if the session lives), close the socket. */
static void pair_end(struct pfpair *p, const char *errmsg)
{
	struct buf b = BUF_INIT;

	if (p->closing)
		return;
	p->closing = true;
	if (!p->pf->closed) {
		if (errmsg && p->err_id)
			spdy_data(&b, p->err_id, 0, errmsg, strlen(errmsg));
		if (p->data_id)
			spdy_data(&b, p->data_id, SPDY_FLAG_FIN, NULL, 0);
		if (p->err_id)
			spdy_data(&b, p->err_id, SPDY_FLAG_FIN, NULL, 0);
		pf_send(p->pf, &b);
	}
	if (p->tcp_init)
		uv_close((uv_handle_t *)&p->tcp, on_tcp_closed);
	else
		pair_unlink_free(p);
}

/* ---- the pod side ---- */

struct ns_sock {
	const char *path;
	int fd, err;
};

static void *ns_sock_thread(void *arg)
{
	struct ns_sock *n = arg;
	int nsfd = open(n->path, O_RDONLY | O_CLOEXEC);

	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET)) {
		n->err = -errno;
	} else {
		n->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (n->fd < 0)
			n->err = -errno;
	}
	if (nsfd >= 0)
		close(nsfd);
	return NULL;
}

/* A TCP socket in the network namespace at path. fd or -errno. */
static int socket_in_netns(const char *path)
{
	struct ns_sock n = { .path = path, .fd = -1 };
	pthread_t th;

	if (pthread_create(&th, NULL, ns_sock_thread, &n))
		return -EAGAIN;
	pthread_join(th, NULL);
	return n.err ? n.err : n.fd;
}

static void tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	b->base = xmalloc(PF_DATA_MAX);
	b->len = PF_DATA_MAX;
}

static void on_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct pfpair *p = s->data;
	struct buf out = BUF_INIT;

	if (n > 0 && !p->pf->closed) {
		spdy_data(&out, p->data_id, 0, b->base, (size_t)n);
		pf_send(p->pf, &out);
		if (p->pf->t && http_tunnel_queued(p->pf->t) > PF_HIGH_WATER) {
			uv_read_stop(s);	/* resumed by pf_drain */
			p->paused = true;
		}
	} else if (n < 0) {
		pair_end(p, n == UV_EOF ? NULL : uv_strerror((int)n));
	}
	free(b->base);
}

static void on_written(uv_write_t *w, int status)
{
	struct pfpair *p = w->handle->data;

	free(w->data);
	free(w);
	/* the pod took its data: read from the client again */
	if (!p->closing && p->pf->t && uv_stream_get_write_queue_size((uv_stream_t *)&p->tcp) == 0)
		http_tunnel_pause_read(p->pf->t, false);
}

static void tcp_send(struct pfpair *p, const void *d, size_t n)
{
	uv_write_t *w = xmalloc(sizeof(*w));
	uv_buf_t b;

	w->data = xmalloc(n);
	memcpy(w->data, d, n);
	b = uv_buf_init(w->data, (unsigned)n);
	if (uv_write(w, (uv_stream_t *)&p->tcp, &b, 1, on_written)) {
		free(w->data);
		free(w);
	} else if (uv_stream_get_write_queue_size((uv_stream_t *)&p->tcp) > PF_HIGH_WATER &&
		   p->pf->t) {
		http_tunnel_pause_read(p->pf->t, true);	/* the pod is slower than the client */
	}
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	free(req);
}

static void tcp_half_close(struct pfpair *p)
{
	uv_shutdown_t *req = xmalloc(sizeof(*req));

	if (uv_shutdown(req, (uv_stream_t *)&p->tcp, on_shutdown))
		free(req);
}

static void on_connect(uv_connect_t *c, int status)
{
	struct pfpair *p = c->data;
	char msg[256];

	if (p->closing)
		return;
	if (status) {
		snprintf(msg, sizeof(msg), "error forwarding port %d to pod %s: failed to connect to localhost:%d inside namespace: %s",
			 p->port, p->pf->pod, p->port, uv_strerror(status));
		pair_end(p, msg);
		return;
	}
	p->connected = true;
	if (p->pending.len)
		tcp_send(p, p->pending.data, p->pending.len);
	buf_release(&p->pending);
	if (p->fin_in)
		tcp_half_close(p);
	uv_read_start((uv_stream_t *)&p->tcp, tcp_alloc, on_tcp_read);
}

static void pair_connect(struct pfpair *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket_in_netns(p->pf->netns);
	char msg[256];

	if (fd < 0) {
		snprintf(msg, sizeof(msg), "error forwarding port %d to pod %s: %s", p->port,
			 p->pf->pod, strerror(-fd));
		pair_end(p, msg);
		return;
	}
	p->tcp.data = p;
	uv_tcp_init(p->pf->k->loop, &p->tcp);
	p->tcp_init = true;
	p->conn.data = p;
	if (uv_tcp_open(&p->tcp, fd) ||
	    uv_tcp_connect(&p->conn, &p->tcp, (struct sockaddr *)&sa, on_connect)) {
		snprintf(msg, sizeof(msg), "error forwarding port %d to pod %s: connect failed",
			 p->port, p->pf->pod);
		pair_end(p, msg);
	}
}

/* ---- the client side ---- */

static struct pfpair *pair_get(struct kpf *pf, const char *reqid, int port)
{
	struct pfpair *p;

	for (p = pf->pairs; p; p = p->next)
		if (!strcmp(p->reqid, reqid))
			return p;
	if (pf->n_pairs >= PF_PAIRS_MAX)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->pf = pf;
	snprintf(p->reqid, sizeof(p->reqid), "%s", reqid);
	p->port = port;
	buf_init(&p->pending, 0);
	p->next = pf->pairs;
	pf->pairs = p;
	pf->n_pairs++;
	return p;
}

static struct pfpair *pair_by_stream(struct kpf *pf, uint32_t id)
{
	for (struct pfpair *p = pf->pairs; p; p = p->next)
		if (p->data_id == id || p->err_id == id)
			return p;
	return NULL;
}

static void syn_stream(struct kpf *pf, const struct spdy_frame *f)
{
	const char *type = spdy_frame_header(f, "streamtype");
	const char *port_s = spdy_frame_header(f, "port");
	const char *reqid = spdy_frame_header(f, "requestid");
	struct buf b = BUF_INIT;
	struct pfpair *p;
	int64_t port;
	char idbuf[16];

	spdy_syn_reply(&pf->spdy, &b, f->stream_id, 0, NULL, 0);
	if (!type || !port_s || parse_i64(port_s, &port) || port < 1 || port > 65535) {
		spdy_rst_stream(&b, f->stream_id, SPDY_RST_PROTOCOL_ERROR);
		pf_send(pf, &b);
		return;
	}
	pf_send(pf, &b);
	if (!reqid) {	/* old clients: the error stream's id names the pair */
		snprintf(idbuf, sizeof(idbuf), "%u",
			 !strcmp(type, "data") ? f->stream_id - 2 : f->stream_id);
		reqid = idbuf;
	}
	p = pair_get(pf, reqid, (int)port);
	if (!p) {
		spdy_rst_stream(&b, f->stream_id, SPDY_RST_REFUSED_STREAM);
		pf_send(pf, &b);
		return;
	}
	if (!strcmp(type, "error"))
		p->err_id = f->stream_id;
	else if (!strcmp(type, "data"))
		p->data_id = f->stream_id;
	if (p->err_id && p->data_id && !p->tcp_init && !p->closing)
		pair_connect(p);
}

static void data_in(struct kpf *pf, const struct spdy_frame *f)
{
	struct pfpair *p = pair_by_stream(pf, f->stream_id);

	if (!p || p->closing || f->stream_id != p->data_id)
		return;
	if (f->len) {
		if (p->connected)
			tcp_send(p, f->data, f->len);
		else if (p->pending.len + f->len <= PF_PENDING_MAX)
			buf_add(&p->pending, f->data, f->len);
	}
	if (f->flags & SPDY_FLAG_FIN) {
		p->fin_in = true;
		if (p->connected)
			tcp_half_close(p);
	}
}

static int pf_frame(const struct spdy_frame *f, void *ud)
{
	struct kpf *pf = ud;
	struct buf b = BUF_INIT;
	struct pfpair *p;

	switch (f->type) {
	case SPDY_SYN_STREAM:
		syn_stream(pf, f);
		return 0;
	case SPDY_DATA:
		data_in(pf, f);
		return 0;
	case SPDY_RST_STREAM:
		p = pair_by_stream(pf, f->stream_id);
		if (p) {
			/* the client dropped it: nothing more to send on these streams */
			p->err_id = p->data_id = 0;
			pair_end(p, NULL);
		}
		return 0;
	case SPDY_PING:
		spdy_ping(&b, f->value);
		pf_send(pf, &b);
		return 0;
	case SPDY_GOAWAY:
		http_tunnel_close(pf->t);
		return 1;
	default:
		return 0;
	}
}

static void pf_read(struct http_tunnel *t, const void *data, size_t len, void *ud)
{
	struct kpf *pf = ud;
	int r = spdy_conn_feed(&pf->spdy, data, len, pf_frame, pf);

	if (r < 0) {
		log_warn("kubelet: port-forward protocol error: %s", strerror(-r));
		http_tunnel_close(t);
	}
}

static void pf_drain(struct http_tunnel *t, void *ud)
{
	struct kpf *pf = ud;

	for (struct pfpair *p = pf->pairs; p; p = p->next)
		if (p->paused && !p->closing) {
			p->paused = false;
			uv_read_start((uv_stream_t *)&p->tcp, tcp_alloc, on_tcp_read);
		}
}

static void pf_close(struct http_tunnel *t, int err, void *ud)
{
	struct kpf *pf = ud;
	struct pfpair *p, *next;

	pf->t = NULL;	/* nothing is sent any more */
	pf->k->sessions--;
	for (p = pf->pairs; p; p = next) {
		next = p->next;
		pair_end(p, NULL);
	}
	pf->closed = true;	/* only now may the last pair free pf */
	pf_maybe_free(pf);
}

/*
 * /proc/<pause pid>/ns/net of the pod's sandbox, from its pid file (not
 * rt_sandbox_ns_path(), which runs `runc state`: this is the agent's loop).
 */
static int sandbox_netns(struct kubelet *k, const char *uid, char **path)
{
	char *pidf = rt__path(k->cfg.rt, uid, RT_F_PID);
	pid_t pid = 0;
	int r = rt__read_pid(pidf, &pid, NULL);

	free(pidf);
	*path = NULL;
	if (r || pid <= 0 || kl_container_exited(k, uid))
		return -ESRCH;
	*path = xasprintf("/proc/%d/ns/net", (int)pid);
	if (access(*path, F_OK)) {
		free(*path);
		*path = NULL;
		return -ESRCH;
	}
	return 0;
}

void kl_serve_portforward(struct kubelet *k, struct http_request *req, const struct kl_target *t)
{
	static const struct http_tunnel_cbs cbs = { .on_read = pf_read, .on_drain = pf_drain,
						    .on_close = pf_close };
	static const char *const protos[] = { "portforward.k8s.io" };
	const char *up = http_request_header(req, "Upgrade"), *v;
	struct http_header h[2];
	struct kpf *pf;
	char *uid = NULL, *ns = NULL;
	size_t it = 0;
	bool ok = false;

	if (!req->upgrade || !up || strncasecmp(up, "SPDY/3.1", 8)) {
		kl_fail(req, 400, "port-forward needs an upgrade to SPDY/3.1");
		return;
	}
	while (!ok && (v = http_request_header_next(req, "X-Stream-Protocol-Version", &it)))
		ok = ws_pick_protocol(v, protos, 1) != NULL;
	if (!ok) {
		kl_fail(req, 400, "no supported protocol: want portforward.k8s.io");
		return;
	}
	if (k->sessions >= KUBELET_MAX_SESSIONS) {
		kl_fail(req, 429, "too many streaming sessions");
		return;
	}
	if (kl_find_pod(k, t->ns, t->pod, &uid) || sandbox_netns(k, uid, &ns)) {
		kl_fail(req, 404, "pod %s/%s has no running sandbox on this node", t->ns, t->pod);
		free(uid);
		return;
	}
	free(uid);
	pf = xcalloc(1, sizeof(*pf));
	pf->k = k;
	pf->pod = xasprintf("%s/%s", t->ns, t->pod);
	pf->netns = ns;
	if (spdy_conn_init(&pf->spdy, 0))
		BUG("out of memory");
	h[0] = (struct http_header){ "Upgrade", "SPDY/3.1" };
	h[1] = (struct http_header){ "X-Stream-Protocol-Version", protos[0] };
	k->sessions++;
	if (http_upgrade(req, h, 2, &cbs, pf, &pf->t)) {
		k->sessions--;
		pf->closed = true;
		pf_maybe_free(pf);
	}
}
