/*
 * agent/kubelet_int.h - internals of the kubelet API (agent/kubelet*.c).
 */
#ifndef K1S_AGENT_KUBELET_INT_H
#define K1S_AGENT_KUBELET_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/kubelet.h"
#include "lib/buf.h"
#include "lib/http.h"

struct kubelet {
	uv_loop_t *loop;
	struct kubelet_config cfg;
	char *data_dir;
	struct rt rt_own;		/* used when cfg.rt is NULL */
	char *state_dir;		/* rt_own's */
	struct http_server *http;
	int port;
	unsigned sessions;		/* streaming sessions open */
};

/* The parsed path of a pod request: /<verb>/<ns>/<pod>[/<uid>]/<container>. */
struct kl_target {
	char ns[254], pod[254], uid[254], container[254];
};

/* ---- lookup (kubelet.c) ---- */

/* The uid of the pod's newest sandbox, malloc'd. -ENOENT. */
int kl_find_pod(struct kubelet *k, const char *ns, const char *pod, char **uid);
/* Runtime id and log path of a container (previous: the attempt before the
 * latest), both malloc'd. -ENOENT when unknown. */
int kl_find_container(struct kubelet *k, const char *ns, const char *pod, const char *container,
		      bool previous, char **ctr_id, char **log_path);
/* True when the container's runtime state says it has exited (or is gone). */
bool kl_container_exited(struct kubelet *k, const char *ctr_id);

/* Go's strconv.ParseBool of query parameter name (default def when absent). */
bool kl_query_bool(struct http_request *req, const char *name, bool def);
/* A Status JSON for message (code, reason) into b. */
void kl_status_json(struct buf *b, int code, const char *reason, const char *message);
/* Answers code with a Status body. */
void kl_fail(struct http_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- CRI log lines (kubelet_logs.c) ---- */

struct kl_logline {
	int64_t ts_ns;			/* the record's time */
	const char *ts;			/* its RFC 3339 text */
	size_t ts_len;
	int stream;			/* 1 stdout, 2 stderr */
	bool partial;			/* "P": the line continues in the next record */
	const char *msg;
	size_t msg_len;			/* without the newline */
};
/* Parses one record (without its '\n'). 0 or -EINVAL. */
int kl_logline_parse(const char *line, size_t len, struct kl_logline *l);

/*
 * ---- streaming sessions (kubelet_stream.c) ----
 * One exec/attach connection after the upgrade, over WebSocket (channel
 * byte in front of each binary message) or SPDY (one stream per channel,
 * named by its "streamtype" header). The handler sees channels only.
 */
enum ks_chan { KS_STDIN, KS_STDOUT, KS_STDERR, KS_ERROR, KS_RESIZE, KS_NCHAN };
#define KS_STREAM_WAIT_MS 30000		/* SPDY: all streams must exist by then */

struct ks_session;
struct ks_handler {
	/* every stream the client asked for exists: start the work */
	void (*on_ready)(struct ks_session *s, void *ud);
	/* bytes on stdin or resize */
	void (*on_data)(struct ks_session *s, int chan, const void *d, size_t n, void *ud);
	/* the client closed its stdin */
	void (*on_eof)(struct ks_session *s, int chan, void *ud);
	/* the connection is gone (also after ks_finish); s is freed afterwards */
	void (*on_close)(struct ks_session *s, void *ud);
	/* optional: everything sent to the client was taken by the kernel */
	void (*on_drain)(struct ks_session *s, void *ud);
};
#define KS_HIGH_WATER (1024 * 1024)	/* bytes queued either way before pausing */
/*
 * Upgrades req to WebSocket or SPDY, whichever it asks for, with a
 * v5/v4.channel.k8s.io protocol; answers req either way (400 when neither
 * fits, 429 past KUBELET_MAX_SESSIONS). want[] are the channels the request
 * said it uses (SPDY waits for these streams). 0 or -errno (answered).
 */
int ks_upgrade(struct kubelet *k, struct http_request *req, const bool want[KS_NCHAN],
	       const struct ks_handler *h, void *ud, struct ks_session **out);
/* Sends bytes on stdout/stderr. 0 or -EPIPE. */
int ks_write(struct ks_session *s, int chan, const void *d, size_t n);
/* Bytes queued towards the client. */
size_t ks_queued(const struct ks_session *s);
/* Stops/resumes reading from the client (backpressure on stdin). */
void ks_pause_read(struct ks_session *s, bool pause);
/* Sends status_json on the error channel, ends every stream and closes. */
void ks_finish(struct ks_session *s, const char *status_json);
/* True when the request asks for a WebSocket upgrade. */
bool ks_is_websocket(struct http_request *req);

/* ---- handlers ---- */
void kl_serve_logs(struct kubelet *k, struct http_request *req, const struct kl_target *t);
void kl_serve_exec(struct kubelet *k, struct http_request *req, const struct kl_target *t,
		   bool attach);
void kl_serve_portforward(struct kubelet *k, struct http_request *req, const struct kl_target *t);

/*
 * Following a growing CRI log (logs -f, attach's output), across rotation:
 * every KL_FOLLOW_MS the file is read from offset (-1: its current end);
 * each complete record goes to line(); when the container has exited and
 * nothing more is there, end() runs once. kl_follow_stop() (also allowed
 * from inside a callback) stops it; no callback runs afterwards.
 */
#define KL_FOLLOW_MS 200
struct kl_follow;
typedef void (*kl_line_fn)(void *ud, const struct kl_logline *l);
typedef void (*kl_end_fn)(void *ud);
int kl_follow_start(struct kubelet *k, const char *log_path, const char *ctr_id, int64_t offset,
		    kl_line_fn line, kl_end_fn end, void *ud, struct kl_follow **f);
void kl_follow_stop(struct kl_follow *f);

/*
 * Attach to a container that holds a stdin (kubelet_attach.c): out() gets
 * its output (KS_STDOUT/KS_STDERR) from now on; end() runs once when the
 * container has exited. kl_attach_open() is -ENOENT for a container without
 * stdin (its output then comes from the log follower). kl_attach_close()
 * (also from inside a callback) frees it; no callback runs afterwards.
 */
struct kl_attach;
typedef void (*kl_attach_out_fn)(void *ud, int chan, const void *d, size_t n);
typedef void (*kl_attach_end_fn)(void *ud);
int kl_attach_open(struct kubelet *k, const char *ctr_id, kl_attach_out_fn out,
		   kl_attach_end_fn end, void *ud, struct kl_attach **a);
/* Sends a frame (RT_ATTACH_STDIN with data, RT_ATTACH_EOF) to the shim. */
void kl_attach_send(struct kl_attach *a, int type, const void *d, size_t n);
void kl_attach_resize(struct kl_attach *a, uint16_t cols, uint16_t rows);
/* Bytes written but not yet taken by the shim. */
size_t kl_attach_queued(const struct kl_attach *a);
void kl_attach_close(struct kl_attach *a);

#endif
