/*
 * server/apiserver.h - the API server's shared context and the per-request
 * call state. Internal to server/.
 *
 * One struct apiserver lives for the whole process; every HTTP request
 * becomes a struct api_call (allocated per request, freed when the answer
 * is written or the client goes away). Calls that wait for the store hold a
 * reference on the HTTP request and check it is still alive before
 * answering (lib/http.h's ownership rules).
 */
#ifndef K1S_SERVER_APISERVER_H
#define K1S_SERVER_APISERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>

#include "lib/http.h"
#include "registry.h"
#include "route.h"
#include "server.h"
#include "status.h"
#include "authn.h"

struct store;
struct svc_state;
struct watch_stream;

#define API_MAX_LIMIT 100000	/* largest list page */

#define API_METRICS_RESOURCES 64	/* registry rows counted one by one */
#define API_METRICS_VERBS 8

/* Counters served at /metrics. Resource-less requests count in row 0 of
 * nothing: only resource requests are counted by verb and resource. */
struct api_metrics {
	uint64_t requests[API_METRICS_RESOURCES][API_METRICS_VERBS];	/* by row, verb bit index */
	uint64_t latency_us[API_METRICS_RESOURCES][API_METRICS_VERBS];	/* sums, in microseconds */
	uint64_t errors;		/* 4xx and 5xx answers */
	uint64_t latency_us_sum;	/* sum of request latencies, in microseconds */
	uint64_t latency_count;
	uint64_t watches;		/* open watch streams */
	uint64_t store_latency_us_sum;	/* sum of store write latencies, in microseconds */
	uint64_t store_writes;
};

struct apiserver {
	uv_loop_t *loop;
	const struct server_config *cfg;
	struct store *store;
	struct http_server *http;
	struct authn authn;
	struct authn_tokens *tokens;
	char server_address[80];	/* advertised host:port */
	bool ready;
	struct api_metrics metrics;
	struct svc_state *svc;		/* service IP and port allocation (services.c) */
	struct watch_stream *watches;	/* open watch streams (watch.c) */
	struct join *join;		/* join token and endpoints (join.c) */
	struct http_client *kubelet_client;	/* to kubelets, as kube-apiserver (podproxy.c) */
	uv_signal_t sigterm, sigint;
};

struct api_call;

/* Where an in-process call's answer goes (server/controllers/internal.c):
 * answer() receives what would be written to HTTP; release() runs in
 * api_call_free() instead of dropping the HTTP request (it must not free c). */
struct api_sink {
	void (*answer)(struct api_call *c, int code, const char *body, size_t len);
	void (*release)(struct api_call *c);
};

/* What a request is, once parsed. */
struct api_call {
	struct apiserver *srv;
	struct http_request *req;
	struct route route;
	const struct api_resource *res;
	struct authn_identity id;
	unsigned verb;			/* enum verb */
	int res_index;			/* registry row, for metrics; -1 none */
	uint64_t start_ns;
	/* parsed query parameters */
	bool dry_run;
	char *field_validation;		/* Strict (default), Warn, Ignore */
	void *svc_taken;		/* allocations of this write (services.c) */
	int write_retries;		/* patches re-applied after a conflict (rest.c) */
	const struct api_sink *sink;	/* in-process call; NULL for HTTP (req is then
					 * a plain struct, never ref'd) */
};

/* Answering. All take ownership of nothing and are safe after the client left. */
void api_respond_json(struct api_call *c, int code, const cJSON *doc);
void api_respond_raw(struct api_call *c, int code, const char *ctype, const char *body, size_t len);
void api_respond_error(struct api_call *c, struct api_error *e);	/* releases e */
void api_respond_errorf(struct api_call *c, enum status_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Answers obj (an API object) or its Table, by the Accept header. */
void api_respond_object(struct api_call *c, int code, const cJSON *obj);
void api_call_free(struct api_call *c);

/* The storage key of an object or a collection prefix (ns/name may be ""). */
char *api_key(const struct api_resource *r, const char *ns, const char *name);

/* The REST verbs (server/rest.c) and watch (server/watch.c). */
void rest_get(struct api_call *c);
void rest_list(struct api_call *c);
void rest_create(struct api_call *c);
void rest_update(struct api_call *c);
void rest_patch(struct api_call *c);
void rest_delete(struct api_call *c);
void rest_deletecollection(struct api_call *c);
void rest_watch(struct api_call *c);
/* Ends every open watch stream (shutdown). */
void watch_close_all(struct apiserver *s);
/* Ends the watch streams of one resource (a custom resource no longer served). */
void watch_close_resource(struct apiserver *s, const struct api_resource *r);

/* Label and field selectors of a list or watch request. */
#include "lib/selector.h"
struct list_filter {
	struct sel_label labels;
	struct sel_field fields;
};
/* 0, or -EINVAL with a 400 in e (bad syntax, unsupported field label). */
int list_filter_init(struct api_call *c, struct list_filter *f, struct api_error *e);
bool list_filter_match(const struct list_filter *f, const cJSON *obj);
void list_filter_release(struct list_filter *f);
/* The matching objects of c's collection, paged (server/list.c). */
int list_collect(struct api_call *c, cJSON **items, cJSON **meta, struct api_error *e);

/* Decodes a stored value into an object with its resourceVersion set. */
cJSON *api_decode(const char *data, size_t len, int64_t mod_rev);
/* The stored object group/v1 plural ns/name (ns ignored for cluster-scoped
 * kinds), decoded; NULL when it, its kind or name is absent. */
cJSON *api_load(struct apiserver *s, const char *group, const char *plural, const char *ns,
		const char *name);
/* The same, converted from the storage version to r's version (events,
 * HPAs are stored in one version and served in two). NULL on failure. */
cJSON *api_decode_as(const struct api_resource *r, const char *data, size_t len, int64_t mod_rev);

/* Creates the built-in namespaces (and their default service accounts);
 * done runs once they are durable. */
void api_bootstrap_objects(struct apiserver *s, void (*done)(struct apiserver *s));
/* True when --disable names component ("local-storage", "servicelb", ...). */
bool server_component_disabled(const struct server_config *cfg, const char *component);
/* A namespace is Terminating: empty it, then remove it (server/nsclean.c).
 * Nothing happens when a clean-up of ns is already running. */
void api_namespace_cleanup(struct apiserver *s, const char *ns);
/* A namespace was created: make its default ServiceAccount. */
void api_namespace_created(struct apiserver *s, const char *ns);

#endif
