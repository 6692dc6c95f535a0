/*
 * store/watch.c - the watch hub: the in-memory history ring and watchers.
 *
 * The ring holds committed events with contiguous revisions first..last.
 * A watcher is a cursor (next revision to look at) into it: delivering an
 * event to many watchers copies nothing. A watcher that is paused or slow
 * just keeps its cursor; when it falls more than watch_max_backlog behind,
 * or the ring is trimmed past its cursor, it is cut off with STORE_ESLOW.
 *
 * Re-entrancy: watcher callbacks may pause, resume, free any watcher,
 * create watchers, submit writes or close the store. Freeing during a
 * dispatch only marks the watcher; it is unlinked and freed when the
 * outermost dispatch ends. The ring is only changed by store__publish and
 * store__hist_trim, which the backend never calls from inside a dispatch.
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

struct store_watch {
	struct store *s;		/* NULL once the store is gone */
	struct store_watch *prev, *next;
	char *prefix;
	size_t plen;
	int64_t next_rev;		/* next revision to look at */
	bool paused, dead, freed;
	store_event_cb *cb;
	store_watch_err_cb *err_cb;
	void *arg;
};

struct store__blob *store__blob_new(const void *data, size_t len)
{
	struct store__blob *b = xmalloc(sizeof(*b) + len + 1);

	b->refs = 1;
	b->len = len;
	if (len)
		memcpy(b->data, data, len);
	b->data[len] = 0;
	return b;
}

void store__blob_unref(struct store__blob *b)
{
	if (b && !--b->refs)
		free(b);
}

void store__event_release(struct store__event *ev)
{
	free(ev->key);
	store__blob_unref(ev->val);
	store__blob_unref(ev->prev);
	memset(ev, 0, sizeof(*ev));
}

void store__event_view(const struct store__event *ev, struct store_event *pub,
		       struct store_kv *kv, struct store_kv *prev)
{
	kv->key = ev->key;
	kv->value = ev->val ? (char *)ev->val->data : NULL;
	kv->value_len = ev->val ? ev->val->len : 0;
	kv->create_rev = ev->create_rev;
	kv->mod_rev = ev->rev;
	pub->type = ev->type;
	pub->rev = ev->rev;
	pub->kv = kv;
	pub->prev = NULL;
	if (ev->prev) {
		prev->key = ev->key;
		prev->value = (char *)ev->prev->data;
		prev->value_len = ev->prev->len;
		prev->create_rev = ev->create_rev;
		prev->mod_rev = ev->prev_rev;
		pub->prev = prev;
	}
}

static inline struct store__event *slot(struct store__hist *h, int64_t rev)
{
	return &h->ring[(size_t)rev & (h->cap - 1)];
}

struct store__event *store__hist_at(struct store *s, int64_t rev)
{
	struct store__hist *h = &s->hist;

	if (rev < h->first || rev > h->last)
		return NULL;
	return slot(h, rev);
}

static void hist_grow(struct store__hist *h, size_t want)
{
	struct store__event *ring;
	size_t cap = h->cap ? h->cap : 256;

	while (cap < want)
		cap *= 2;
	if (cap == h->cap)
		return;
	ring = xcalloc(cap, sizeof(*ring));
	for (int64_t r = h->first; r <= h->last; r++)
		ring[(size_t)r & (cap - 1)] = *slot(h, r);
	free(h->ring);
	h->ring = ring;
	h->cap = cap;
}

void store__publish(struct store *s, struct store__event *evs, size_t n)
{
	struct store__hist *h = &s->hist;

	hist_grow(h, (size_t)(h->last - h->first + 1) + n);
	for (size_t i = 0; i < n; i++) {
		if (evs[i].rev != h->last + 1)
			BUG("store event %lld after %lld", (long long)evs[i].rev,
			    (long long)h->last);
		*slot(h, evs[i].rev) = evs[i];
		h->last = evs[i].rev;
		h->bytes += strlen(evs[i].key) + (evs[i].val ? evs[i].val->len : 0);
	}
	if (h->last > s->rev)
		s->rev = h->last;
	if (n)
		s->watch_dirty = true;
}

int64_t store__hist_trim(struct store *s, uint64_t now_ms)
{
	struct store__hist *h = &s->hist;
	const struct store_options *o = &s->opts;

	while (h->first <= h->last) {
		struct store__event *ev = slot(h, h->first);
		bool old = ev->time_ms + o->history_max_age_ms < now_ms;

		if (h->last - h->first + 1 <= o->history_max_events &&
		    h->bytes <= o->history_max_bytes && !old)
			break;
		h->bytes -= strlen(ev->key) + (ev->val ? ev->val->len : 0);
		store__event_release(ev);
		h->first++;
	}
	/* Watchers whose cursor fell out are cut at the next dispatch. */
	if (s->watchers) {
		s->watch_dirty = true;
		s->be->kick(s);
	}
	return h->first - 1;
}

static void watch_cut(struct store_watch *w, int err)
{
	w->dead = true;
	if (w->err_cb)
		w->err_cb(w, err, w->arg);
}

/* Whether w lags too far behind (only a paused watcher can). */
static bool watch_lagging(const struct store *s, const struct store_watch *w)
{
	if (w->next_rev > s->rev)
		return false;
	return w->next_rev < s->hist.first ||
	       s->rev - w->next_rev + 1 > s->opts.watch_max_backlog;
}

static void watch_deliver(struct store *s, struct store_watch *w)
{
	struct store__hist *h = &s->hist;

	if (w->next_rev < h->first && w->next_rev <= s->rev) {
		watch_cut(w, STORE_ESLOW);
		return;
	}
	while (!w->paused && !w->dead && !w->freed && w->next_rev <= h->last) {
		struct store__event *ev = slot(h, w->next_rev);
		struct store_event pub;
		struct store_kv kv, prev;

		w->next_rev++;
		if (strncmp(ev->key, w->prefix, w->plen))
			continue;
		store__event_view(ev, &pub, &kv, &prev);
		w->cb(w, &pub, w->arg);
	}
}

static void watch_unlink(struct store *s, struct store_watch *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		s->watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

static void watch_destroy(struct store_watch *w)
{
	free(w->prefix);
	free(w);
}

static void reap(struct store *s)
{
	struct store_watch *w = s->watchers, *next;

	for (; w; w = next) {
		next = w->next;
		if (w->freed) {
			watch_unlink(s, w);
			watch_destroy(w);
		}
	}
}

void store__dispatch(struct store *s)
{
	struct store_watch *w;

	s->dispatching++;
	s->watch_dirty = false;
	for (w = s->watchers; w; w = w->next) {
		if (w->dead || w->freed)
			continue;
		if (!w->paused)
			watch_deliver(s, w);
		/* A paused watcher keeps its cursor until it lags too far. */
		if (w->paused && !w->dead && !w->freed && watch_lagging(s, w))
			watch_cut(w, STORE_ESLOW);
	}
	if (!--s->dispatching)
		reap(s);
}

void store__watch_end_all(struct store *s, int err)
{
	s->dispatching++;
	for (struct store_watch *w = s->watchers; w; w = w->next)
		if (!w->dead && !w->freed)
			watch_cut(w, err);
	if (!--s->dispatching)
		reap(s);
}

void store__finish_close(struct store *s, void *to_free)
{
	void (*cb)(void *) = s->close_cb;
	void *arg = s->close_arg;
	struct store_watch *w, *next;

	for (w = s->watchers; w; w = next) {
		next = w->next;
		w->s = NULL;
		w->prev = w->next = NULL;
		if (w->freed)
			watch_destroy(w);
	}
	s->watchers = NULL;
	store__release(s);
	free(to_free);
	if (cb)
		cb(arg);
}

int store_watch(struct store *s, const char *prefix, int64_t since_rev,
		store_event_cb *cb, store_watch_err_cb *err_cb, void *arg,
		struct store_watch **out)
{
	struct store_watch *w;

	*out = NULL;
	if (s->closing)
		return -ESHUTDOWN;
	if (store_key_check(prefix) || since_rev < 0 || !cb)
		return -EINVAL;
	if (since_rev && since_rev < store__compacted(s))
		return STORE_ECOMPACTED;
	w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->prefix = xstrdup(prefix);
	w->plen = strlen(prefix);
	w->next_rev = (since_rev ? since_rev : s->rev) + 1;
	w->cb = cb;
	w->err_cb = err_cb;
	w->arg = arg;
	/* Append, so a dispatch in progress reaches it last. */
	if (!s->watchers) {
		s->watchers = w;
	} else {
		struct store_watch *t = s->watchers;
		while (t->next)
			t = t->next;
		t->next = w;
		w->prev = t;
	}
	if (w->next_rev <= s->rev) {
		s->watch_dirty = true;
		s->be->kick(s);
	}
	*out = w;
	return 0;
}

void store_watch_pause(struct store_watch *w)
{
	w->paused = true;
}

void store_watch_resume(struct store_watch *w)
{
	w->paused = false;
	if (w->s && !w->dead && w->next_rev <= w->s->rev) {
		w->s->watch_dirty = true;
		w->s->be->kick(w->s);
	}
}

int64_t store_watch_progress(const struct store_watch *w)
{
	return w->next_rev - 1;
}

void store_watch_free(struct store_watch *w)
{
	struct store *s;

	if (!w || w->freed)
		return;
	s = w->s;
	if (!s) {
		watch_destroy(w);
		return;
	}
	w->freed = true;
	if (!s->dispatching) {
		watch_unlink(s, w);
		watch_destroy(w);
	}
}
