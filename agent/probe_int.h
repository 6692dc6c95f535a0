/*
 * agent/probe_int.h - internals of the probes and hooks (agent/probe*.c).
 *
 *  - probe_spec.c  decodes a Probe / LifecycleHandler once into structs,
 *                  and the result state machine (thresholds)
 *  - probe_net.c   httpGet and tcpSocket checks from inside the pod's
 *                  network namespace (blocking; run in worker threads)
 *  - probe.c       the manager: per-probe timers on the loop, checks in
 *                  uv_queue_work, results and hooks back on the loop
 */
#ifndef K1S_AGENT_PROBE_INT_H
#define K1S_AGENT_PROBE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "agent/probe.h"
#include "lib/buf.h"

#define PROBE_PATH_MAX 2048		/* bytes of an httpGet path */
#define PROBE_HEADERS_MAX 8192		/* bytes of httpGet headers */
#define PROBE_RESP_MAX 10240		/* bytes of a response read (upstream's body limit) */
#define PROBE_USER_AGENT "kube-probe/1.36"

enum probe_action { PA_NONE, PA_EXEC, PA_HTTP, PA_TCP, PA_GRPC, PA_SLEEP };

/* One decoded handler (a probe's or a lifecycle hook's). */
struct probe_handler {
	enum probe_action action;
	char **argv;		/* EXEC: NULL-terminated, owned (one block) */
	char *host;		/* HTTP/TCP: NULL = the pod IP */
	int port;		/* HTTP/TCP/GRPC: 1..65535 */
	char *path;		/* HTTP: starts with '/' */
	bool https;
	char *headers;		/* HTTP: "Name: value\r\n" lines, owned ("" when none) */
	char *host_header;	/* HTTP: a user Host header value, or NULL */
	char *service;		/* GRPC: the health service name, or NULL */
	int64_t sleep_ms;	/* SLEEP */
};

/* One decoded probe, upstream's defaults applied. */
struct probe_spec {
	struct probe_handler h;
	unsigned initial_delay_ms, period_ms, timeout_ms;
	unsigned success_threshold, failure_threshold;
};

/* Decodes handler h; container (may be NULL) resolves named ports.
 * 0, or -EINVAL with *err malloc'd. */
int probe__handler_decode(const cJSON *h, const cJSON *container, struct probe_handler *out,
			  char **err);
void probe__handler_release(struct probe_handler *h);
/* Decodes a probe (liveness and startup force successThreshold 1). */
int probe__spec_decode(const cJSON *probe, const cJSON *container, enum probe_kind kind,
		       struct probe_spec *out, char **err);

/* Upstream's threshold logic: a result is reported once it has been seen
 * success_threshold (failure_threshold) times in a row. */
struct probe_sm {
	unsigned success_threshold, failure_threshold;
	int last;		/* -1 none, 0 failure, 1 success */
	unsigned run;		/* consecutive results equal to last */
	int reported;		/* -1 nothing reported yet, else 0 / 1 */
};
void probe__sm_init(struct probe_sm *sm, unsigned success_threshold, unsigned failure_threshold);
/* Feeds one result; true when the reported result changes (the first report included). */
bool probe__sm_feed(struct probe_sm *sm, bool ok);
/* After a liveness/startup failure was acted upon: count from zero again. */
void probe__sm_reset_run(struct probe_sm *sm);

/* Where a check runs. */
struct probe_target {
	struct rt *rt;
	const char *ctr_id;
	const char *netns;	/* NULL = the agent's own network namespace */
	const char *pod_ip;	/* NULL = 127.0.0.1 */
	unsigned timeout_ms;
};

/* Runs h once (blocking). 0 = success; -errno = failure. *msg: a malloc'd
 * description of a failure (or of a success's output), may be NULL. */
int probe__run(const struct probe_handler *h, const struct probe_target *t, bool hook, char **msg);
/* httpGet / tcpSocket (probe_net.c), same conventions. */
int probe__http(const struct probe_handler *h, const struct probe_target *t, bool hook, char **msg);
int probe__tcp(const struct probe_handler *h, const struct probe_target *t, char **msg);
/* grpc.health.v1 Check over HTTP/2 (probe_grpc.c), same conventions. */
int probe__grpc(const struct probe_handler *h, const struct probe_target *t, char **msg);
/* The request bytes (preface .. DATA) of a Check call; for tests. */
void probe__grpc_request(struct buf *b, const char *authority, const char *service);
/* HealthCheckResponse.status of a length-prefixed gRPC message, or -1. */
int probe__grpc_status(const unsigned char *m, size_t len);
/* A connected non-blocking socket to host:port made in netns, or -errno. */
int probe__dial(const char *netns, const char *host, int port, uint64_t deadline);
/* Parses "HTTP/1.x NNN ..." at the start of resp; the code or -EINVAL. */
int probe__http_status(const char *resp, size_t len);

#endif
