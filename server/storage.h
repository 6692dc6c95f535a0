/*
 * server/storage.h - the API server's narrow view of store/: objects as
 * stored bytes with their revisions. Everything in server/ reaches the
 * datastore through these calls, so the store's API can change in one file
 * (storage.c). Reads are synchronous; writes complete through a callback
 * after the store made them durable.
 */
#ifndef K1S_SERVER_STORAGE_H
#define K1S_SERVER_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct apiserver;

struct sobj {
	char *key;
	char *value;		/* stored JSON, NUL-terminated */
	size_t len;
	int64_t create_rev;
	int64_t mod_rev;
};

struct slist {
	struct sobj *items;
	size_t n;
	int64_t rev;		/* revision the page was read at */
	bool more;		/* keys remain after the last item */
	int64_t remaining;	/* how many, when known; -1 otherwise */
};

void sobj_release(struct sobj *o);
void slist_release(struct slist *l);

int storage_open(struct apiserver *s, const char *path, char **err);
void storage_close(struct apiserver *s);
/* The newest committed revision. */
int64_t storage_revision(struct apiserver *s);

/* 0, -ENOENT, or -errno. */
int storage_get(struct apiserver *s, const char *key, struct sobj *out);
/*
 * Keys under prefix after `after` ("" = from the start), at most limit
 * (0 = all), read at revision at_rev (0 = newest). -ESTALE when at_rev was
 * compacted away.
 */
int storage_list(struct apiserver *s, const char *prefix, int64_t at_rev,
		 const char *after, size_t limit, struct slist *out);

/*
 * Completion of a write: err is 0, -EEXIST (create of an existing key),
 * -ENOENT (missing key), -ECANCELED (revision mismatch = conflict),
 * -EFBIG (value too large), or another -errno. prev is the value before the
 * write (update, delete) or NULL, valid only during the callback. The
 * callback may run before storage_create/update/delete returns when the
 * write is refused at once.
 */
typedef void (*storage_cb)(int err, int64_t rev, struct sobj *prev, void *ud);

void storage_create(struct apiserver *s, const char *key, const char *value, size_t len,
		    storage_cb cb, void *ud);
/* expected_rev 0 means unconditional. */
void storage_update(struct apiserver *s, const char *key, const char *value, size_t len,
		    int64_t expected_rev, storage_cb cb, void *ud);
void storage_delete(struct apiserver *s, const char *key, int64_t expected_rev,
		    storage_cb cb, void *ud);

/* Watching a prefix. */
enum sevent_type { SEVENT_PUT, SEVENT_DELETE };
struct sevent {
	enum sevent_type type;
	const char *key;
	const char *value;	/* new value (PUT) */
	size_t len;
	const char *prev;	/* old value, or NULL (create) */
	size_t prev_len;
	int64_t rev;		/* the event's revision */
	int64_t create_rev;
};
struct swatch;
/* Events after from_rev (0 = from now). on_event runs for each event;
 * on_error once when the watch is cut off (-ENOBUFS: too slow, -ESHUTDOWN),
 * after which the watch is gone. storage_watch itself returns -ESTALE when
 * from_rev was compacted. */
struct swatch_cbs {
	void (*on_event)(const struct sevent *ev, void *ud);
	void (*on_error)(int err, void *ud);
};
int storage_watch(struct apiserver *s, const char *prefix, int64_t from_rev,
		  const struct swatch_cbs *cbs, void *ud, struct swatch **out);
void storage_watch_pause(struct swatch *w, bool pause);
void storage_watch_cancel(struct swatch *w);

#endif
