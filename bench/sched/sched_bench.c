/*
 * bench/sched - the scheduler and the node lifecycle, measured from outside
 * `k1s server --disable-agent` over HTTPS. Nodes are registered through the
 * API (no agents); this program plays their kubelets (status, Leases).
 *
 * 1. Binding throughput: 100 Ready nodes, all cordoned; 1,000 pods created
 *    (they stay pending: "0/100 nodes are available"); then every node is
 *    uncordoned and the time until all 1,000 are bound is taken. A second
 *    figure: 1,000 more pods created against schedulable nodes, from the
 *    first create to the last binding.
 * 2. Eviction: a second server with --node-monitor-grace-period 3s and 20
 *    nodes whose Leases are renewed every 500 ms; 40 pods tolerating
 *    unreachable for 2 s; one node stops renewing. Printed: the time from
 *    its last renewal to each of its pods being marked for deletion, against
 *    the deadline grace + tolerationSeconds = 5 s.
 *
 * Never fails on a time. Usage: sched-bench K1S_BINARY
 */
#include "bench/lib/bench.h"
#include "lib/http.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define IN_FLIGHT 64

struct req {
	char *method, *url, *ctype, *body;
};

struct bench {
	struct bench_client c;	/* loop, client, base URL */
	struct req *q;		/* waiting requests */
	size_t n, alloc, head;
	int in_flight, errors;
	bool stop_when_idle;
};

static void pump(struct bench *b);

static void req_done(struct http_call *call, int err, struct http_response *resp, void *ud)
{
	struct bench *b = ud;

	(void)call;
	if (err || !resp || resp->status >= 300)
		b->errors++;
	b->in_flight--;
	pump(b);
	if (!b->in_flight && b->head == b->n && b->stop_when_idle)
		uv_stop(b->c.loop);
}

static void pump(struct bench *b)
{
	while (b->in_flight < IN_FLIGHT && b->head < b->n) {
		struct req *r = &b->q[b->head++];
		struct http_header h = { "Content-Type", r->ctype };
		struct http_call_opts o = { .method = r->method, .url = r->url, .headers = &h,
					    .n_headers = 1, .body = r->body,
					    .body_len = r->body ? strlen(r->body) : 0,
					    .timeout_ms = 60000, .on_complete = req_done, .ud = b };
		struct http_call *call;

		if (http_call_start(b->c.cli, &o, &call))
			b->errors++;
		else
			b->in_flight++;
		free(r->method);
		free(r->url);
		free(r->ctype);
		free(r->body);
	}
	if (b->head == b->n)
		b->head = b->n = 0;
}

/* Queues a request; body taken. */
static void req(struct bench *b, const char *method, const char *ctype, char *body, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void req(struct bench *b, const char *method, const char *ctype, char *body, const char *fmt, ...)
{
	struct req *r;
	va_list ap;
	char *path;

	va_start(ap, fmt);
	if (vasprintf(&path, fmt, ap) < 0)
		abort();
	va_end(ap);
	ALLOC_GROW(b->q, b->n + 1, b->alloc);
	r = &b->q[b->n++];
	r->method = xstrdup(method);
	r->url = xasprintf("%s%s", b->c.base, path);
	r->ctype = xstrdup(ctype);
	r->body = body;
	free(path);
}

/* Runs every queued request to its end. */
static void drain(struct bench *b)
{
	b->stop_when_idle = true;
	pump(b);
	if (b->in_flight)
		uv_run(b->c.loop, UV_RUN_DEFAULT);
	b->stop_when_idle = false;
}

static cJSON *get(struct bench *b, const char *path)
{
	cJSON *obj;

	bench_call(&b->c, "GET", path, NULL, 60000, &obj, NULL);
	return obj;
}

static int count_items(struct bench *b, const char *path)
{
	cJSON *l = get(b, path);
	int n = l ? cJSON_GetArraySize(json_get(l, "items")) : -1;

	cJSON_Delete(l);
	return n;
}

static void sleep_ms(struct bench *b, unsigned ms)
{
	uv_update_time(b->c.loop);
	usleep(ms * 1000);
}

/* ---- the cluster ---- */

static char *now_micro(void)
{
	char t[RFC3339_MAX];

	rfc3339_format_micro((int64_t)wall_ns(), t);
	return xstrdup(t);
}

static void nodes_add(struct bench *b, int n, bool cordoned)
{
	char *t = now_micro();

	for (int i = 0; i < n; i++) {
		req(b, "POST", "application/json",
		    xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n%03d\","
			      "\"labels\":{\"kubernetes.io/hostname\":\"n%03d\"}},\"spec\":{\"unschedulable\":%s}}",
			      i, i, cordoned ? "true" : "false"),
		    "/api/v1/nodes");
		req(b, "POST", "application/json",
		    xasprintf("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":"
			      "{\"name\":\"n%03d\",\"namespace\":\"kube-node-lease\"},\"spec\":{\"holderIdentity\":"
			      "\"n%03d\",\"leaseDurationSeconds\":40,\"renewTime\":\"%s\"}}", i, i, t),
		    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases");
	}
	drain(b);
	for (int i = 0; i < n; i++)
		req(b, "PATCH", "application/merge-patch+json",
		    xasprintf("{\"status\":{\"allocatable\":{\"cpu\":\"32\",\"memory\":\"64Gi\",\"pods\":\"110\"},"
			      "\"capacity\":{\"cpu\":\"32\",\"memory\":\"64Gi\",\"pods\":\"110\"},\"conditions\":"
			      "[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"message\":\"ok\","
			      "\"lastHeartbeatTime\":\"%.19sZ\",\"lastTransitionTime\":\"%.19sZ\"}]}}", t, t),
		    "/api/v1/nodes/n%03d/status", i);
	drain(b);
	free(t);
}

static void renew(struct bench *b, int n, int skip)
{
	char *t = now_micro();

	for (int i = 0; i < n; i++)
		if (i != skip)
			req(b, "PATCH", "application/merge-patch+json",
			    xasprintf("{\"spec\":{\"renewTime\":\"%s\"}}", t),
			    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n%03d", i);
	drain(b);
	free(t);
}

static void pods_add(struct bench *b, int from, int n, const char *extra)
{
	for (int i = from; i < from + n; i++)
		req(b, "POST", "application/json",
		    xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p%04d\"},"
			      "\"spec\":{%s\"containers\":[{\"name\":\"c\",\"image\":\"busybox:1.36\","
			      "\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}}}]}}", i, extra),
		    "/api/v1/namespaces/default/pods");
	drain(b);
}

#define UNBOUND "/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3D"

/* Waits until no pod is unbound; seconds since t0 (ns), or -1. */
static double wait_bound(struct bench *b, uint64_t t0, int timeout_s)
{
	while ((mono_ns() - t0) / 1000000000ull < (uint64_t)timeout_s) {
		if (count_items(b, UNBOUND) == 0)
			return (mono_ns() - t0) / 1e9;
		sleep_ms(b, 20);
	}
	return -1;
}

/* A server with --node-monitor-grace-period grace and a client of it in b;
 * bench_close() after, even on failure (not when srv could not start). */
static int bench_open(struct bench *b, struct bench_server *srv, const char *bin, uv_loop_t *loop,
		      int port, const char *grace)
{
	const char *extra[] = { "--node-monitor-grace-period", grace, NULL };

	memset(b, 0, sizeof(*b));
	if (bench_server_start(srv, bin, "sched", port, extra))
		return -1;
	return bench_client_init(&b->c, loop, srv, IN_FLIGHT, "sched") ? 1 : 0;
}

static void bench_close(struct bench *b, struct bench_server *srv)
{
	bench_client_release(&b->c);
	free(b->q);
	bench_server_stop(srv, "sched");
}

static void bench_binding(const char *bin, uv_loop_t *loop)
{
	struct bench_server srv;
	struct bench b;
	uint64_t t0;
	double s;
	int r = bench_open(&b, &srv, bin, loop, 38000 + (getpid() % 1000), "40s");

	if (r < 0)
		return;
	if (r)
		goto out;
	nodes_add(&b, 100, true);
	pods_add(&b, 0, 1000, "");
	sleep_ms(&b, 1500);	/* past the first backoff (1 s), as upstream's would be */
	printf("  1000 pods pending on 100 cordoned nodes: %d unbound\n", count_items(&b, UNBOUND));
	t0 = mono_ns();
	for (int i = 0; i < 100; i++)
		req(&b, "PATCH", "application/merge-patch+json",
		    xasprintf("{\"spec\":{\"unschedulable\":null}}"), "/api/v1/nodes/n%03d", i);
	drain(&b);
	s = wait_bound(&b, t0, 120);
	printf("  uncordon 100 nodes -> 1000 pending pods bound in %.2f s: %.0f pods/s\n", s,
	       s > 0 ? 1000 / s : 0);
	t0 = mono_ns();
	pods_add(&b, 1000, 1000, "");
	s = wait_bound(&b, t0, 120);
	printf("  1000 more pods created and bound in %.2f s: %.0f pods/s (creation included)\n", s,
	       s > 0 ? 1000 / s : 0);
	if (b.errors)
		printf("  (%d request errors)\n", b.errors);
out:
	bench_close(&b, &srv);
}

static void bench_eviction(const char *bin, uv_loop_t *loop)
{
	int n_nodes = 20, n_ev = 0;
	double ev[64];
	struct bench_server srv;
	struct bench b;
	uint64_t last;
	int r = bench_open(&b, &srv, bin, loop, 39000 + (getpid() % 1000), "3s");

	if (r < 0)
		return;
	if (r)
		goto out;
	nodes_add(&b, n_nodes, false);
	renew(&b, n_nodes, -1);
	pods_add(&b, 0, 40, "\"tolerations\":[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":"
			    "\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":2}],");
	if (wait_bound(&b, mono_ns(), 30) < 0)
		goto out;
	renew(&b, n_nodes, -1);
	last = mono_ns();	/* n000's last renewal */
	while ((mono_ns() - last) / 1000000 < 15000) {
		cJSON *l, *p;
		int on_node = 0, marked = 0;

		renew(&b, n_nodes, 0);
		l = get(&b, "/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn000");
		cJSON_ArrayForEach(p, json_get(l, "items")) {
			on_node++;
			if (json_path(p, "metadata.deletionTimestamp"))
				marked++;
		}
		cJSON_Delete(l);
		while (n_ev < marked && n_ev < 64)
			ev[n_ev++] = (mono_ns() - last) / 1e9;
		if (on_node && marked == on_node)
			break;
		sleep_ms(&b, 100);
	}
	qsort(ev, (size_t)n_ev, sizeof(ev[0]), bench_cmp_dbl);
	printf("  node silent -> its %d pods marked for deletion after %.2f .. %.2f s"
	       "   (deadline: grace 3 s + tolerationSeconds 2 s = 5 s; polled every ~100 ms)\n",
	       n_ev, n_ev ? ev[0] : 0, n_ev ? ev[n_ev - 1] : 0);
out:
	bench_close(&b, &srv);
}

int main(int argc, char **argv)
{
	uv_loop_t *loop = uv_default_loop();

	if (argc < 2) {
		fprintf(stderr, "usage: sched-bench K1S_BINARY\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	printf("bench/sched: k1s server --disable-agent, nodes registered through the API\n"
	       "(no kube-scheduler on this machine to compare with)\n");
	bench_binding(argv[1], loop);
	bench_eviction(argv[1], loop);
	return 0;
}
