/*
 * bench/lib/bench.h - what the C benchmarks that drive a k1s server over
 * HTTPS share (bench/api, bench/crd, bench/sched): starting
 * `k1s server --disable-agent` in a temporary data dir, an HTTPS client with
 * its admin certificate, one request run to its end, percentiles and RSS.
 *
 * Everything runs on one libuv loop on the calling thread; a call that
 * "runs to its end" runs that loop until the request completes. Messages go
 * to stderr prefixed with the benchmark's name; nothing here fails on a time.
 */
#ifndef K1S_BENCH_LIB_H
#define K1S_BENCH_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>
#include <cjson/cJSON.h>

#define BENCH_READY_WAIT_MS 10000	/* how long bench_server_start waits for --ready-file */

struct bench_server {
	char dir[64];		/* data dir, /tmp/k1s-<name>-bench-XXXXXX; removed by _stop */
	int port;		/* HTTPS port on 127.0.0.1 */
	pid_t pid;		/* the server, or -1 */
};

/*
 * Makes the data dir and starts `bin server --disable-agent` in it on port
 * (stderr to /dev/null, the NULL-terminated extra flags appended), then
 * waits up to BENCH_READY_WAIT_MS for its ready file. 0 (even if the server
 * is not ready: the first request then fails), or -errno when the data dir
 * cannot be made.
 */
int bench_server_start(struct bench_server *s, const char *bin, const char *name, int port,
		       const char *const *extra);
/* SIGTERM to the server, waits for it, removes its data dir. */
void bench_server_stop(struct bench_server *s, const char *name);

struct bench_client {
	uv_loop_t *loop;
	struct tls_config *tls;
	struct http_client *cli;	/* NULL until bench_client_init succeeds */
	char *base;			/* "https://127.0.0.1:PORT", owned */
};

/*
 * An HTTPS client of s authenticating with its admin certificate, keeping
 * up to max_idle connections. 0, or -errno with a message on stderr.
 * bench_client_release() either way.
 */
int bench_client_init(struct bench_client *c, uv_loop_t *loop, const struct bench_server *s,
		      unsigned max_idle, const char *name);
void bench_client_release(struct bench_client *c);

/*
 * One request to c->base + path (JSON body when body is not NULL), run to
 * its end within timeout_ms. Returns the HTTP status or -errno. When out is
 * not NULL it gets the parsed body of a 200 answer (else NULL; caller
 * frees); when bytes is not NULL the body size.
 */
int bench_call(struct bench_client *c, const char *method, const char *path, const char *body,
	       unsigned timeout_ms, cJSON **out, size_t *bytes);

/* One request of a load: path (after the base URL) and JSON body (or
 * NULL) are malloc'd by the load's make() and freed by bench_load_run. */
struct bench_req {
	const char *method;	/* static; NULL: GET */
	char *path;
	char *body;
};

/*
 * A closed-loop load: `clients` requests in flight, each answer starting
 * the next, until `total` are done; request i (0..total-1) is built by
 * make(l, i, &req). An answer >= 300 or a failed call counts in errors.
 */
struct bench_load {
	struct bench_client *c;
	int clients, total;
	void (*make)(struct bench_load *l, int i, struct bench_req *req);
	void *ud;			/* for make() */
	uint64_t *lat_us;		/* NULL, or total latencies in microseconds, in answer order */
	int started, done, errors;	/* set by bench_load_run */
};
/* Runs l to its end (requests time out after 30 s); its wall time in seconds. */
double bench_load_run(struct bench_load *l);

/* The p-quantile (0..1) of n sorted values; 0 when n is 0. */
uint64_t bench_pct(const uint64_t *sorted, int n, double p);
/* qsort comparators of uint64_t and double. */
int bench_cmp_u64(const void *a, const void *b);
int bench_cmp_dbl(const void *a, const void *b);
/* VmRSS of pid in KiB, or -1. */
long bench_rss_kib(pid_t pid);

#endif
