/*
 * server/controllers/controllers.h - controllers inside `k1s server`.
 *
 * Controllers read only from the server's object cache (server/cache.h) and
 * write only through the API machinery in-process (api_internal_*, below),
 * so their writes get the same validation, defaulting and metadata
 * (uid, creationTimestamp, generateName, resourceVersion checks) as HTTP
 * requests. Each controller is a table row (struct ctrl_def) with a
 * reconcile function keyed by "ns/name"; the framework gives it a work queue
 * that dedups keys, runs at most one reconcile per key at a time and retries
 * failures with exponential backoff on uv timers.
 *
 * Built in: the garbage collector (ownerReferences; Background, Foreground
 * and Orphan propagation), the ReplicaSet and Deployment controllers, and an
 * event recorder (core/v1 Events, deduplicated by counting).
 */
#ifndef K1S_SERVER_CONTROLLERS_H
#define K1S_SERVER_CONTROLLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>

#include "../cache.h"

struct apiserver;
struct api_call;
struct api_error;

/* ---- in-process API calls (server/controllers/internal.c) ---- */

/*
 * Completion of an internal call: code is the HTTP status the request would
 * have had (201, 200, 404, 409, 422 ...), obj the answer (the written object,
 * or a Status on failure), borrowed for the call; NULL when the answer was
 * not JSON. May run before the api_internal_* call returns.
 */
typedef void (*api_internal_cb)(int code, const cJSON *obj, void *ud);

/*
 * Creates obj (not taken) in resource group/plural of namespace ns as the
 * controller identity (system:masters) through rest_create: defaulting,
 * validation, generateName, uid, creationTimestamp.
 */
void api_internal_create(struct apiserver *s, const char *group, const char *plural,
			 const char *ns, const cJSON *obj, api_internal_cb cb, void *ud);
/* Replaces the object (sub "" or "status"); a metadata.resourceVersion in obj
 * is a precondition (409 on mismatch). */
void api_internal_update(struct apiserver *s, const char *group, const char *plural,
			 const char *sub, const cJSON *obj, api_internal_cb cb, void *ud);
/* Deletes ns/name; opts (DeleteOptions, may be NULL) as in the request body. */
void api_internal_delete(struct apiserver *s, const char *group, const char *plural,
			 const char *ns, const char *name, const cJSON *opts,
			 api_internal_cb cb, void *ud);

/* Applies a JSON merge patch (RFC 7386) to ns/name; a
 * metadata.resourceVersion in the patch is a precondition. */
void api_internal_patch(struct apiserver *s, const char *group, const char *plural,
			const char *ns, const char *name, const cJSON *patch,
			api_internal_cb cb, void *ud);

/* The same on a subresource (sub "status", ...); strategic: a strategic
 * merge patch instead of a JSON merge patch. */
void api_internal_patch_sub(struct apiserver *s, const char *group, const char *plural,
			    const char *ns, const char *name, const char *sub, bool strategic,
			    const cJSON *patch, api_internal_cb cb, void *ud);
/* POSTs obj to the subresource sub of ns/name (pods/binding, pods/eviction). */
void api_internal_create_sub(struct apiserver *s, const char *group, const char *plural,
			     const char *ns, const char *name, const char *sub, const cJSON *obj,
			     api_internal_cb cb, void *ud);

/* The delete path's propagationPolicy (server/rest.c rest_delete): adds the
 * foregroundDeletion or orphan finalizer to obj for Foreground/Orphan in
 * opts (or the query value policy, may be NULL). 0, or -EINVAL with a 400 in
 * e for an unknown policy. */
int gc_delete_propagation(cJSON *obj, const cJSON *opts, const char *policy,
			  struct api_error *e);

/* ---- work queue (server/controllers/queue.c) ---- */

#define WQ_BACKOFF_BASE_MS 5
#define WQ_BACKOFF_MAX_MS 30000

struct wq_item;

/*
 * Keys wait in FIFO order; a key already waiting is not added twice; a key
 * being processed that is added again runs once more after wq_done. The
 * process function runs from a uv_idle (never inside wq_add) and must call
 * wq_done(q, key, err) exactly once, possibly later: err 0 forgets the key's
 * failures, err < 0 re-adds it after base * 2^failures ms (capped).
 */
struct wq {
	uv_loop_t *loop;
	void (*process)(struct wq *q, const char *key, void *ud);
	void *ud;
	struct wq_item **buckets;	/* every known key, WQ_BUCKETS chains */
	size_t n;			/* known keys */
	struct wq_item *head, *tail;	/* ready keys, FIFO */
	struct wq_item *delayed;	/* waiting for their time, unsorted */
	uv_idle_t idle;			/* runs ready keys */
	uv_timer_t timer;		/* fires at the earliest delayed key */
	unsigned base_ms, max_ms;	/* backoff; 0 = defaults */
	bool idle_on;
};

#define WQ_BUCKETS 256
#define WQ_BATCH 64			/* keys processed per loop iteration */

void wq_init(struct wq *q, uv_loop_t *loop, void (*process)(struct wq *, const char *, void *),
	     void *ud);
void wq_add(struct wq *q, const char *key);
void wq_add_after(struct wq *q, const char *key, uint64_t ms);
void wq_done(struct wq *q, const char *key, int err);
/* Number of failures counted for key (for tests and logs). */
unsigned wq_failures(struct wq *q, const char *key);
/* Delay in ms before the next retry of a key that failed n times. */
uint64_t wq_backoff_ms(const struct wq *q, unsigned n);
/* Pending (ready + waiting + delayed) keys. */
size_t wq_len(const struct wq *q);
/* Stops timers and frees the items; the uv handles close on the loop. */
void wq_release(struct wq *q);

/*
 * A reconcile that issues several internal calls ends when the last one
 * completes: ctrl_batch_new() holds one reference, every call made with
 * (ctrl_batch_cb, ctrl_batch_hold(b)) another, ctrl_batch_end() drops the
 * first. When the count reaches zero, wq_done(q, key, err) runs with err
 * -EAGAIN if any call failed (404 on delete and 409 on create of a
 * generated name excepted), else 0.
 */
struct ctrl_batch;
struct ctrl_batch *ctrl_batch_new(struct wq *q, const char *key);
void *ctrl_batch_hold(struct ctrl_batch *b);
void ctrl_batch_cb(int code, const cJSON *obj, void *ud);
void ctrl_batch_fail(struct ctrl_batch *b);
void ctrl_batch_end(struct ctrl_batch *b);

/* ---- the controllers (server/controllers/manager.c) ---- */

struct ctrl_manager;

/* Starts the cache and every controller; returns 0 or -errno. Called once
 * the built-in objects exist (server/apiserver.c). */
int controllers_start(struct apiserver *s);
void controllers_stop(struct apiserver *s);

/* ---- pure helpers (tested directly) ---- */

/* The pod-template-hash of a pod template (FNV-1a over its canonical JSON,
 * as a short safe string like upstream's "5d8f7c9b4"). out has >= 11 bytes. */
void ctrl_template_hash(const cJSON *tmpl, uint32_t collisions, char out[16]);
/* The controller ownerReference of obj (controller: true), or NULL. */
const cJSON *ctrl_controller_ref(const cJSON *obj);
/* True when obj has an ownerReference with uid. */
bool ctrl_owned_by(const cJSON *obj, const char *uid);
/* True when labels match a LabelSelector (matchLabels + matchExpressions);
 * an empty or absent selector matches nothing. */
bool ctrl_selector_matches(const cJSON *selector, const cJSON *labels);

/* ---- events (server/controllers/events.c) ---- */

/* Records a core/v1 Event about obj: type "Normal"/"Warning", reason,
 * message. Repeats (same object, reason, message) increment count. */
void ctrl_event(struct apiserver *s, const cJSON *obj, const char *type, const char *reason,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same, reported by component (source.component, reportingComponent)
 * instead of the one ctrl_event derives from obj's kind. */
void ctrl_event_as(struct apiserver *s, const char *component, const cJSON *obj,
		   const char *type, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

#endif
