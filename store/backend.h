/*
 * store/backend.h - internals shared by the files of store/ (not public).
 *
 * struct store is the backend-independent part: options, revisions, the
 * watch hub (history ring + watchers). A backend embeds it as the first
 * member of its own struct and fills a struct store__backend table; the
 * public functions of store.h validate their arguments and dispatch through
 * that table. A backend publishes each committed batch of events to the hub
 * with store__publish(), in revision order; the hub owns them from then on.
 *
 * Adding a backend (etcd): write its table, add it to backends[] in
 * store.c, and feed store__publish() from its watch stream.
 */
#ifndef K1S_STORE_BACKEND_H
#define K1S_STORE_BACKEND_H

#include "store.h"

/* A refcounted value shared by events, results and pending writes. */
struct store__blob {
	uint32_t refs;
	size_t len;			/* in bytes */
	char data[];			/* len bytes + NUL */
};

struct store__blob *store__blob_new(const void *data, size_t len);
static inline struct store__blob *store__blob_ref(struct store__blob *b)
{
	if (b)
		b->refs++;
	return b;
}
void store__blob_unref(struct store__blob *b);

/* One committed change. The hub keeps these in its ring by value. */
struct store__event {
	int64_t rev;
	enum store_event_type type;
	char *key;			/* owned */
	struct store__blob *val;	/* PUT: new value; DELETE: NULL */
	struct store__blob *prev;	/* value before, NULL if none */
	int64_t create_rev;
	int64_t prev_rev;		/* mod_rev of prev; 0 if none */
	uint64_t time_ms;		/* commit time, mono_ms() */
};

void store__event_release(struct store__event *ev);
/* Fills the public views of ev (valid while ev lives). */
void store__event_view(const struct store__event *ev, struct store_event *pub,
		       struct store_kv *kv, struct store_kv *prev);

/* The in-memory history: committed events with revisions first..last,
 * contiguous, in a power-of-two ring indexed by rev. */
struct store__hist {
	struct store__event *ring;
	size_t cap;			/* power of two, or 0 */
	int64_t first;			/* oldest revision held (last+1 if empty) */
	int64_t last;			/* newest revision held */
	size_t bytes;			/* bytes of values held */
};

struct store__backend {
	const char *name;
	int (*open)(uv_loop_t *loop, const struct store_options *o,
		    struct store **out, char **errmsg);
	/* Called once no write is in flight and none is accepted any more;
	 * releases the backend and calls store__finish_close(). May be
	 * asynchronous (waits for a compaction job). */
	void (*close)(struct store *s);
	/* Whether the backend has work in flight (close waits for it). */
	bool (*busy)(struct store *s);
	/* Something needs the loop hook soon (s->watch_dirty, close): keep
	 * the loop alive and call store__tick() from it. */
	void (*kick)(struct store *s);
	int (*get)(struct store *s, const char *key, int64_t rev,
		   struct store_kv **out);
	/* Visits the list (see store_list_visit); rev is resolved. */
	int (*list)(struct store *s, const char *prefix, const char *after,
		    size_t limit, int64_t rev, store_visit_fn *fn, void *arg,
		    bool *more);
	int (*count)(struct store *s, const char *prefix, int64_t *count);
	/* type: 0 create, 1 update, 2 delete. Arguments already checked. */
	int (*write)(struct store *s, int type, const char *key,
		     const void *value, size_t len, int64_t expect_rev,
		     store_write_cb *cb, void *arg);
};

enum { STORE__CREATE, STORE__UPDATE, STORE__DELETE };

struct store {
	const struct store__backend *be;
	uv_loop_t *loop;
	struct store_options opts;	/* path copied (owned) */
	int64_t rev;			/* last committed revision */
	struct store__hist hist;
	struct store_watch *watchers;	/* doubly linked */
	int dispatching;		/* depth of watcher callbacks */
	bool watch_dirty;		/* some watcher may have events to get */
	bool closing;
	void (*close_cb)(void *arg);
	void *close_arg;
};

/* Generic part set-up/tear-down, called by backends. */
void store__init(struct store *s, const struct store__backend *be,
		 uv_loop_t *loop, const struct store_options *o);
void store__release(struct store *s);
/* The backend calls this when close is complete; frees nothing of the
 * backend's, then runs the user's close callback. */
void store__finish_close(struct store *s, void *to_free);

/* Hub. */
/* Appends committed events (taking ownership of their contents), advances
 * s->rev, and delivers them to watchers. */
void store__publish(struct store *s, struct store__event *evs, size_t n);
/* The event at revision rev if the ring holds it. */
struct store__event *store__hist_at(struct store *s, int64_t rev);
/* Drops history beyond the limits; returns the compaction horizon
 * (hist.first - 1). */
int64_t store__hist_trim(struct store *s, uint64_t now_ms);
/* Delivers pending events to unpaused watchers (called from the loop). */
void store__dispatch(struct store *s);
/* Ends every watcher with err. */
void store__watch_end_all(struct store *s, int err);
/* Whether any watcher needs dispatching. */
static inline bool store__watch_pending(const struct store *s)
{
	return s->watch_dirty;
}
/* Called by the backend's loop hook: dispatches, and completes a close
 * once the backend is idle. */
void store__tick(struct store *s);

static inline int64_t store__compacted(const struct store *s)
{
	return s->hist.first - 1;
}

/* Backends. */
extern const struct store__backend store__sqlite_backend;

#endif
