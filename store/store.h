/*
 * store/store.h - the revisioned key-value store under the API server.
 *
 * This is the only header other modules include from store/. Everything
 * else in store/ is internal (prefix store__).
 *
 * Model (etcd/kine semantics):
 *  - Keys are strings starting with '/', values are byte strings (JSON in
 *    practice). One global revision counter: every successful write gets the
 *    next revision. A key carries create_rev (revision of the write that
 *    created it) and mod_rev (revision of its last write); mod_rev is the
 *    object's metadata.resourceVersion. Revisions start at 1 and never go
 *    back, not even across restarts or compaction.
 *  - Writes are create (fails if the key exists), update and delete, the
 *    last two with an expected mod_rev (compare-and-swap; 0 = any).
 *  - Reads (get, list, count) see only committed writes and can be served
 *    at an older revision R, as long as R >= store_compacted_rev().
 *  - Watches deliver every committed change under a prefix in revision
 *    order, with no gaps or duplicates, resuming from any revision still in
 *    the in-memory history.
 *
 * Threads and the loop: the store lives on one libuv loop that the caller
 * owns (the API server's loop). Every function here must be called on that
 * loop's thread, and every callback runs on it. Reads are synchronous (they
 * query SQLite on the loop thread: a get takes a few microseconds, a list
 * of 10,000 values of 1 KiB 10-25 ms, less with store_list_visit()).
 * Writes are asynchronous: the callback fires only after the write's
 * transaction is committed and fsynced. Commits run off the loop
 * (uv_queue_work) on a second SQLite connection; all writes that arrive
 * while a commit is in flight, or within one loop turn, share one
 * transaction (group commit). CAS checks are made when a write is
 * submitted, against an in-memory index that already includes the earlier
 * writes still waiting for their commit, so the outcome of a sequence of
 * writes is the same as if each had waited for the previous one.
 *
 * Durability: a write is acknowledged only after fsync (SQLite WAL,
 * synchronous=FULL). A crash at any moment loses no acknowledged write.
 * If a commit fails (disk full, I/O error) the store becomes read-only
 * broken: that batch and every later write fail with that error (-ENOSPC or
 * -EIO); the caller should log it and exit.
 *
 * History and compaction: the store keeps the recent history (every write
 * with its previous value) in memory for watches and in the database for
 * reads at a revision. History older than history_max_age_ms, beyond the
 * last history_max_events events, or beyond history_max_bytes of values in
 * memory, is compacted: watches and reads at revisions before it fail with
 * STORE_ECOMPACTED (the API server turns that into 410 Gone, reason
 * Expired). Compaction runs off the loop, a bounded slice inside each
 * commit's transaction (or in its own when no write is pending), and
 * deletes superseded rows and old tombstones; freed pages are
 * reused and the WAL is truncated, so the files stay bounded under an
 * update-heavy load (see store_size_bounded in
 * tests/unit/store_durability_test.c:
 * 100,000 updates of one key with a 200-byte value keep state.db plus
 * state.db-wal under 8 MiB with the default options).
 *
 * Memory: the in-memory index holds every live key (its length + ~50
 * bytes); the history holds at most history_max_events events and
 * history_max_bytes of values (shared with their successors' "prev").
 *
 * Backends: the functions below dispatch through an internal table of
 * function pointers (store/backend.h, struct store__backend). "sqlite" is
 * the default and only backend today; an etcd backend is added by writing
 * one more table and naming it in store_options.backend; no caller changes.
 *
 * Errors: functions return 0 or a negative errno. The codes with a store
 * meaning are listed here; store_strerror() gives a message for each.
 */
#ifndef K1S_STORE_H
#define K1S_STORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* The revision asked for was compacted (or the watch history no longer
 * reaches back to it): 410 Gone, reason Expired. */
#define STORE_ECOMPACTED	(-ESTALE)
/* Compare-and-swap failed: the key's mod_rev differs from the expected one
 * (409 Conflict). */
#define STORE_ECONFLICT		(-EBADE)
/* A watcher fell more than watch_max_backlog revisions behind (it was paused
 * too long or its consumer is too slow) and was cut off. */
#define STORE_ESLOW		(-ENOBUFS)
/* Other codes: -EEXIST create of an existing key; -ENOENT get/update/delete
 * of a missing key; -EINVAL bad key or prefix (see STORE_KEY_MAX);
 * -EFBIG value longer than STORE_VALUE_MAX; -ERANGE read at a revision
 * newer than the current one; -ESHUTDOWN the store is closing; -EIO/-ENOSPC
 * the database failed. */

/*
 * Limits. A key starts with '/', is at most STORE_KEY_MAX bytes and contains
 * only printable ASCII (0x20..0x7e). A value is at most STORE_VALUE_MAX
 * bytes (3 MiB, kube-apiserver's request limit) and may hold any bytes.
 */
#define STORE_KEY_MAX		1024
#define STORE_VALUE_MAX		(3 * 1024 * 1024)

struct store;
struct store_watch;

struct store_options {
	const char *backend;		/* "sqlite" (default when NULL) */
	/* sqlite: path of the database file, normally
	 * <data-dir>/server/db/state.db; missing parent directories are
	 * created (mode 0700). Required. */
	const char *path;
	int64_t history_max_events;	/* events kept; default 10000 */
	uint64_t history_max_age_ms;	/* in milliseconds; default 300000 (5 min) */
	size_t history_max_bytes;	/* bytes of values in the in-memory
					 * history; default 64 MiB */
	uint64_t compact_interval_ms;	/* in milliseconds between the checks
					 * for history too old and space reuse;
					 * default 10000. History beyond the event
					 * and byte limits is compacted at once,
					 * in the next commit's transaction. */
	int64_t watch_max_backlog;	/* revisions a watcher may lag behind
					 * the current revision before it is cut
					 * off with STORE_ESLOW; default 10000 */
	int max_batch;			/* writes per transaction at most;
					 * default 4096 */
	bool skip_integrity_check;	/* skip PRAGMA quick_check at open */
};

/* Fills *o with the defaults above (path NULL). Can't fail. */
void store_options_init(struct store_options *o);

/* A key and its value. Who owns the strings is said where one is handed
 * out. value is NUL-terminated (value[value_len] == 0) for convenience, and
 * NULL for the kv of a DELETE event. */
struct store_kv {
	char *key;
	char *value;
	size_t value_len;		/* in bytes, without the NUL */
	int64_t create_rev;
	int64_t mod_rev;
};

/* Frees a kv handed out by store_get() (the struct and its strings). */
void store_kv_free(struct store_kv *kv);

/*
 * Opens (creating if needed) the store on `loop`. On success *out is the
 * store and 0 is returned. On failure (unreadable file, not a database,
 * corruption found by the integrity check, schema from a newer k1s) returns
 * -errno (-EIO for corruption, -EACCES, -ENOENT ...) and, if errmsg is not
 * NULL, sets *errmsg to a malloc'd one-line message the caller frees, e.g.
 * "cannot open '/var/lib/k1s/server/db/state.db': file is not a database".
 * Never crashes on a bad file. The store holds uv handles on the loop (a
 * prepare handle for group commit and a compaction timer, unref'd so they
 * don't keep the loop alive by themselves).
 */
int store_open(uv_loop_t *loop, const struct store_options *opts,
	       struct store **out, char **errmsg);

/*
 * Closes the store: refuses new writes (-ESHUTDOWN), lets writes already
 * accepted commit (their callbacks fire as usual), ends the remaining
 * watches with their error callback (-ESHUTDOWN; the caller still frees
 * them with store_watch_free, which then touches no store memory), waits
 * for any compaction job, closes the database and the uv handles, and
 * finally calls cb(arg) (cb may be NULL). After the call, s must not be
 * used; the memory is freed before cb runs.
 */
void store_close(struct store *s, void (*cb)(void *arg), void *arg);

/* The revision of the last committed write (0 for an empty new store). */
int64_t store_rev(const struct store *s);
/* Reads and watches at revisions below this fail with STORE_ECOMPACTED. */
int64_t store_compacted_rev(const struct store *s);

/* A message for a return code of this module ("revision conflict",
 * "revision compacted", ... or strerror()). Static storage. */
const char *store_strerror(int err);

/* Checks a key: 0 or -EINVAL (see Limits). */
int store_key_check(const char *key);

/* ---- reads: synchronous, on the loop thread ---- */

/*
 * Gets `key` at revision `rev` (0 = current). Returns 0 and a kv the caller
 * frees with store_kv_free(), -ENOENT when the key does not exist at that
 * revision, STORE_ECOMPACTED, -ERANGE (rev in the future), -EINVAL, -EIO.
 */
int store_get(struct store *s, const char *key, int64_t rev,
	      struct store_kv **out);

struct store_list {
	/* Sorted by key; owned by the list. Each item's key and value share
	 * one allocation: free an item you take over with free(item.value)
	 * (not store_kv_free, not free(item.key)). */
	struct store_kv *items;
	size_t nr, alloc;
	int64_t rev;			/* revision the list was served at */
	bool more;			/* more keys follow items[nr-1] */
};
#define STORE_LIST_INIT { NULL, 0, 0, 0, false }

/*
 * Lists the keys starting with `prefix` (byte-wise, so pass "/registry/pods/"
 * with its trailing slash), in key order, as they were at revision `rev`
 * (0 = current; the revision used is returned in l->rev), starting after
 * key `after` (NULL or "" = from the start), at most `limit` items (0 = no
 * limit). A paginated list passes the previous page's l->rev and last key to
 * see one snapshot while writes go on. l must be initialised
 * (STORE_LIST_INIT); on success it is filled, the caller releases it with
 * store_list_release(). Errors: STORE_ECOMPACTED, -ERANGE, -EINVAL, -EIO
 * (l is left empty).
 */
int store_list(struct store *s, const char *prefix, const char *after,
	       size_t limit, int64_t rev, struct store_list *l);
void store_list_release(struct store_list *l);

/*
 * The same list without copies: calls fn(kv, arg) for each item, in key
 * order; kv and its strings are valid only during the call. fn returns 0
 * to go on, anything else stops the list and is returned. *rev_out (may be
 * NULL) gets the revision served, *more (may be NULL) whether keys were
 * left out by the limit. Serialize straight from here to save a copy of
 * every value (a 10,000-item list of 1 KiB values takes ~40% less time).
 */
typedef int store_visit_fn(const struct store_kv *kv, void *arg);
int store_list_visit(struct store *s, const char *prefix, const char *after,
		     size_t limit, int64_t rev, store_visit_fn *fn, void *arg,
		     int64_t *rev_out, bool *more);

/* Counts the keys under `prefix` at the current revision. 0 or -errno. */
int store_count(struct store *s, const char *prefix, int64_t *count);

/* ---- writes: asynchronous ---- */

struct store_result {
	int err;			/* 0, -EEXIST, -ENOENT, STORE_ECONFLICT,
					 * -ESHUTDOWN, -EIO, -ENOSPC */
	int64_t rev;			/* success: the revision of this write
					 * (the new mod_rev, or the delete's
					 * revision); -EEXIST/STORE_ECONFLICT: the
					 * key's current mod_rev; otherwise 0 */
	int64_t create_rev;		/* success: the key's create_rev */
	/* update/delete success: the value before this write, valid only
	 * during the callback (copy what you keep); NULL otherwise. */
	const struct store_kv *prev;
};

typedef void store_write_cb(const struct store_result *r, void *arg);

/*
 * Each write returns 0 when it was accepted: cb then fires exactly once,
 * later, on the loop (never from inside the call), after the transaction
 * holding the write is durable, or with the reason it failed (CAS failures
 * are reported after the writes before them committed). A write that is
 * refused at once returns -EINVAL (bad key), -EFBIG (value too long) or
 * -ESHUTDOWN, and cb never fires. The store copies key and value.
 *
 * store_create: fails with -EEXIST if the key exists.
 * store_update: replaces the value; -ENOENT if the key does not exist;
 *	STORE_ECONFLICT if expect_rev != 0 and differs from its mod_rev.
 * store_delete: removes the key; -ENOENT, STORE_ECONFLICT as for update.
 */
int store_create(struct store *s, const char *key, const void *value,
		 size_t len, store_write_cb *cb, void *arg);
int store_update(struct store *s, const char *key, const void *value,
		 size_t len, int64_t expect_rev, store_write_cb *cb, void *arg);
int store_delete(struct store *s, const char *key, int64_t expect_rev,
		 store_write_cb *cb, void *arg);

/* ---- watches ---- */

enum store_event_type { STORE_PUT = 1, STORE_DELETE = 2 };

struct store_event {
	enum store_event_type type;
	int64_t rev;			/* revision of this change */
	/* PUT: the key as written (kv->mod_rev == rev). DELETE: key, NULL
	 * value, the deleted object's create_rev, mod_rev == rev. */
	const struct store_kv *kv;
	/* The value before this change; NULL for a PUT that created the key.
	 * Always set for DELETE. */
	const struct store_kv *prev;
};

/* An event and all its strings are valid only during the callback. */
typedef void store_event_cb(struct store_watch *w, const struct store_event *ev,
			    void *arg);
/* The watch ended (STORE_ESLOW, -ESHUTDOWN); no callback follows. The
 * caller still frees w with store_watch_free(). err_cb may be NULL. */
typedef void store_watch_err_cb(struct store_watch *w, int err, void *arg);

/*
 * Watches the keys starting with `prefix` for the changes with revision >
 * since_rev; since_rev 0 means "from now" (the current revision). Events
 * are delivered in revision order, only after their commit, with no gaps
 * and no duplicates, from the loop (never from inside this call). Returns 0
 * and *out, STORE_ECOMPACTED when since_rev < store_compacted_rev() (the
 * history no longer holds the events right after it), -EINVAL,
 * -ESHUTDOWN. A since_rev beyond the current revision is accepted: events
 * start once the store reaches it.
 *
 * Backpressure: the watch reads from the shared history through a cursor,
 * so a watcher costs no memory per pending event. Its consumer may call
 * store_watch_pause() (even from inside the event callback: no further
 * event is delivered until store_watch_resume()). A paused or slow watcher
 * never blocks writers or other watchers; once it lags more than
 * watch_max_backlog revisions behind, or the events it still needs leave
 * the history, it gets err_cb(STORE_ESLOW) and delivers nothing more.
 */
int store_watch(struct store *s, const char *prefix, int64_t since_rev,
		store_event_cb *cb, store_watch_err_cb *err_cb, void *arg,
		struct store_watch **out);
void store_watch_pause(struct store_watch *w);
/* Resumes delivery; pending events are delivered from the loop soon after
 * (not from inside this call). */
void store_watch_resume(struct store_watch *w);
/* The revision up to which this watcher has been sent every event (use it
 * for a bookmark/progress notification). */
int64_t store_watch_progress(const struct store_watch *w);
/* Stops the watch and frees it. Safe to call from inside its own callbacks
 * and after the store was closed. */
void store_watch_free(struct store_watch *w);

/* ---- synchronous helpers for tests and tools ----
 *
 * These run the loop (uv_run UV_RUN_ONCE) until the operation completes, so
 * they must NOT be called from inside a loop callback (libuv's uv_run is not
 * re-entrant); use them in tests, tools and start-up code only. They return
 * the write's result code; *rev (may be NULL) gets store_result.rev and
 * *prev (may be NULL) a copy of store_result.prev the caller frees with
 * store_kv_free() (NULL when there was none).
 */
int store_create_sync(struct store *s, const char *key, const void *value,
		      size_t len, int64_t *rev);
int store_update_sync(struct store *s, const char *key, const void *value,
		      size_t len, int64_t expect_rev, int64_t *rev,
		      struct store_kv **prev);
int store_delete_sync(struct store *s, const char *key, int64_t expect_rev,
		      int64_t *rev, struct store_kv **prev);
/* store_close() and run the loop until it is done. */
void store_close_sync(struct store *s);

#endif
