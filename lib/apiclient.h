/*
 * lib/apiclient.h - Kubernetes API client and informer cache on libuv.
 *
 * Every module that is not the API server (agent/, proxy/, net/) reaches the
 * API through this client over HTTPS (lib/http.h), whether it runs embedded
 * in `k1s server` or on another node.
 *
 * ---- Client ------------------------------------------------------------
 * An api_client is built from a kubeconfig (the file server/kubeconfig.c
 * writes, parsed with libyaml): the current context's cluster server URL and
 * certificate-authority-data, and its user's client-certificate-data +
 * client-key-data or token. Requests are asynchronous: exactly one callback
 * (api_done_fn) runs for each started request, unless the client is freed
 * first (then none runs). A non-2xx answer is decoded from its Status body
 * into res->status (code, reason, message); transport failures give
 * res->err < 0 and res->code 0.
 *
 * ---- Informer ----------------------------------------------------------
 * An api_informer lists a collection, then watches it from the list's
 * resourceVersion (with bookmarks), keeping a local store of the objects
 * keyed by "namespace/name" (just "name" for cluster-scoped kinds).
 *  - A watch that ends cleanly (server timeout) resumes from the last
 *    resourceVersion seen.
 *  - 410 Expired (as HTTP status or as an ERROR event) re-lists at once;
 *    a broken stream or failed list re-lists after an exponential backoff
 *    (API_INFORMER_BACKOFF_MIN_MS .. _MAX_MS).
 *  - A re-list diffs against the store: on_add for new objects, on_update
 *    (old, new) for changed resourceVersions, on_delete for vanished ones.
 * Callbacks run on the loop; the objects they get are owned by the store
 * (valid during the callback only; the `old` object is freed right after).
 * Callbacks must not free the informer; they may start API requests.
 *
 * Limits: API_MAX_PATH bytes of request path, API_WATCH_MAX_EVENT_BYTES per
 * watch event line (a larger one breaks the stream and re-lists).
 * All functions must be called on the loop's thread.
 */
#ifndef K1S_LIB_APICLIENT_H
#define K1S_LIB_APICLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>

#define API_MAX_PATH 4096
#define API_WATCH_MAX_EVENT_BYTES (16 * 1024 * 1024)
#define API_KUBECONFIG_MAX_BYTES (1024 * 1024)
#define API_INFORMER_BACKOFF_MIN_MS 200
#define API_INFORMER_BACKOFF_MAX_MS 30000
/* Default request timeout, in ms (not for watches). */
#define API_REQUEST_TIMEOUT_MS 30000

/* What a kubeconfig gives the client. All strings malloc'd, owned. */
struct api_kubeconfig {
	char *server;		/* "https://127.0.0.1:6443" */
	char *ca_pem;		/* decoded certificate-authority-data, or NULL */
	char *cert_pem;		/* decoded client-certificate-data, or NULL */
	char *key_pem;		/* decoded client-key-data, or NULL (wiped on release) */
	char *token;		/* bearer token, or NULL (wiped on release) */
	bool insecure;		/* insecure-skip-tls-verify */
};

/*
 * Parses the kubeconfig at path (current-context; or the first context, or
 * the first cluster/user when there are no contexts). 0, or -errno with a
 * malloc'd message in *err (-ENOENT unreadable, -EINVAL malformed).
 */
int api_kubeconfig_load(const char *path, struct api_kubeconfig *kc, char **err);
/* Same from a YAML text in memory. */
int api_kubeconfig_parse(const char *yaml, size_t len, struct api_kubeconfig *kc, char **err);
void api_kubeconfig_release(struct api_kubeconfig *kc);

struct api_client;

/* Creates a client on loop from kc (copied). 0 or -errno with *err. */
int api_client_new(uv_loop_t *loop, const struct api_kubeconfig *kc,
		   struct api_client **out, char **err);
/* Cancels every outstanding request (no callbacks run) and frees c.
 * Informers on c must be freed first. */
void api_client_free(struct api_client *c);
/* Swaps in new credentials (client certificate, key, CA, token) from kc for
 * the requests started from now on - certificate renewal without a restart.
 * kc must name the same server. 0 or -errno with a malloc'd *err. */
int api_client_set_credentials(struct api_client *c, const struct api_kubeconfig *kc, char **err);
uv_loop_t *api_client_loop(const struct api_client *c);

/* A decoded metav1.Status of a failed request. */
struct api_status {
	int code;		/* HTTP code from the Status (or the response) */
	char reason[64];	/* "NotFound", "AlreadyExists", "Conflict", "Expired" */
	char message[512];
};

struct api_result {
	int err;		/* 0, or -errno: transport error / undecodable body */
	int code;		/* HTTP status; 0 on transport errors */
	cJSON *obj;		/* decoded 2xx body (owned by the result; a callback
				 * may take it with api_result_take), else NULL */
	struct api_status status;	/* filled when code is not 2xx */
};

/* True for a 2xx answer. */
static inline bool api_result_ok(const struct api_result *r)
{
	return !r->err && r->code >= 200 && r->code < 300;
}
/* Takes ownership of res->obj (may be NULL). */
cJSON *api_result_take(struct api_result *res);

typedef void (*api_done_fn)(struct api_result *res, void *ud);

/*
 * Builds an API path: gv "v1" -> /api/v1, "apps/v1" -> /apis/apps/v1;
 * ns NULL for cluster scope or all namespaces; name NULL for the
 * collection; sub NULL or "status". Returns malloc'd path.
 */
char *api_path(const char *gv, const char *resource, const char *ns,
	       const char *name, const char *sub);

/*
 * One request: method, path (with query), optional body and content type.
 * 0 when started (cb will run), -EINVAL on a bad path.
 */
int api_request(struct api_client *c, const char *method, const char *path,
		const char *content_type, const void *body, size_t len,
		api_done_fn cb, void *ud);
int api_get(struct api_client *c, const char *path, api_done_fn cb, void *ud);
/* POST obj to the collection path. obj is not consumed. */
int api_create(struct api_client *c, const char *path, const cJSON *obj,
	       api_done_fn cb, void *ud);
/* PUT obj to the object path. obj is not consumed. */
int api_update(struct api_client *c, const char *path, const cJSON *obj,
	       api_done_fn cb, void *ud);

enum api_patch_type {
	API_PATCH_MERGE,	/* application/merge-patch+json */
	API_PATCH_STRATEGIC,	/* application/strategic-merge-patch+json */
	API_PATCH_JSON,		/* application/json-patch+json */
};
int api_patch(struct api_client *c, const char *path, enum api_patch_type type,
	      const cJSON *patch, api_done_fn cb, void *ud);
int api_delete(struct api_client *c, const char *path, api_done_fn cb, void *ud);

/* ---- informer ---- */

struct api_informer;

struct api_informer_opts {
	const char *path;		/* collection path, e.g. "/api/v1/pods" */
	const char *label_selector;	/* or NULL */
	const char *field_selector;	/* "spec.nodeName=node1", or NULL */
	void (*on_add)(struct api_informer *inf, const cJSON *obj, void *ud);
	void (*on_update)(struct api_informer *inf, const cJSON *old,
			  const cJSON *obj, void *ud);
	void (*on_delete)(struct api_informer *inf, const cJSON *obj, void *ud);
	/* Optional, like client-go's transform but after the callbacks: called
	 * on each added or updated object once on_add/on_update saw it whole,
	 * to drop (in place) what need not stay in the store. It must keep
	 * metadata.name, .namespace and .resourceVersion. The `old` object of
	 * on_update, the object of on_delete and api_informer_get() are then
	 * the trimmed ones. Saves memory for large collections. */
	void (*trim)(cJSON *obj, void *ud);
	/* Keep nothing but each object's key and resourceVersion (for callers
	 * that hold their own state): the `old` object of on_update and the
	 * object of on_delete are then {metadata: namespace, name,
	 * resourceVersion} only, api_informer_get() returns NULL and
	 * api_informer_foreach() sees no objects; trim is not called. */
	bool keys_only;
	/* After each completed (re-)list has been applied. */
	void (*on_synced)(struct api_informer *inf, void *ud);
	void *ud;
	unsigned watch_timeout_s;	/* server-side watch timeout; 0: 300 */
	/* Items per list page (limit + continue): each page is applied as it
	 * comes, so a large collection is never parsed whole; deletions are
	 * reported after the last page. 0: one request for everything. */
	unsigned list_limit;
};

/* Counters for tests and metrics. */
struct api_informer_stats {
	unsigned lists;		/* completed lists */
	unsigned watches;	/* watch requests started */
	unsigned expired;	/* 410 Expired seen */
	unsigned errors;	/* failed lists / broken streams */
	unsigned events;	/* watch events applied */
};

/* Starts listing at once. Strings in o are copied. 0 or -EINVAL. */
int api_informer_start(struct api_client *c, const struct api_informer_opts *o,
		       struct api_informer **out);
/* Stops (no more callbacks) and frees the informer and its store. */
void api_informer_free(struct api_informer *inf);
/* True after the first list was applied. */
bool api_informer_synced(const struct api_informer *inf);
/* The stored object (owned by the store), or NULL; ns NULL/"" for cluster scope. */
const cJSON *api_informer_get(const struct api_informer *inf, const char *ns,
			      const char *name);
size_t api_informer_count(const struct api_informer *inf);
/* Calls fn for each stored object (unspecified order; none for keys_only). */
void api_informer_foreach(const struct api_informer *inf,
			  void (*fn)(const cJSON *obj, void *ud), void *ud);
/* Last resourceVersion seen ("" before the first list). */
const char *api_informer_rv(const struct api_informer *inf);
void api_informer_stats(const struct api_informer *inf, struct api_informer_stats *st);
/*
 * Pauses (cancels the watch, keeps the store and resourceVersion) or
 * resumes (watches again from the kept resourceVersion). For tests that
 * provoke 410 Expired, and for callers that want to stop traffic.
 */
void api_informer_pause(struct api_informer *inf, bool pause);

/* ---- blocking ---- */

struct http_response;
/*
 * One blocking request on a private loop (for CLI tools and start-up steps,
 * never on a running loop): kc's server + path, its credentials, its CA (or
 * no verification when kc->insecure or no CA is given). body, when not NULL,
 * is sent as JSON. 0 with *resp filled (any HTTP status; release it with
 * http_response_release), or -errno with a one-line malloc'd *err.
 */
int api_fetch(const struct api_kubeconfig *kc, const char *method, const char *path,
	      const char *body, struct http_response *resp, char **err);
/* "<code> <Status message or HTTP reason>" of a response, malloc'd. */
char *api_fetch_message(const struct http_response *resp);

#endif
