/*
 * store/store.c - the backend-independent part of the store: options,
 * argument checks, dispatch to the backend table, close, sync helpers.
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

static const struct store__backend *const backends[] = {
	&store__sqlite_backend,
};

void store_options_init(struct store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->backend = "sqlite";
	o->history_max_events = 10000;
	o->history_max_age_ms = 5 * 60 * 1000;
	o->history_max_bytes = 64u << 20;
	o->compact_interval_ms = 10000;
	o->watch_max_backlog = 10000;
	o->max_batch = 4096;
}

#define STORE_ERRORS(X) \
	X(STORE_ECOMPACTED, "revision compacted") \
	X(STORE_ECONFLICT, "revision conflict") \
	X(STORE_ESLOW, "watcher too slow") \
	X(-EEXIST, "key exists") \
	X(-ENOENT, "key not found") \
	X(-EFBIG, "value too large") \
	X(-EINVAL, "invalid key") \
	X(-ERANGE, "future revision") \
	X(-ESHUTDOWN, "store closing")

const char *store_strerror(int err)
{
#define X(code, msg) if (err == (code)) return msg;
	STORE_ERRORS(X)
#undef X
	return strerror(err < 0 ? -err : err);
}

static int prefix_check(const char *p)
{
	size_t n = 0;

	if (!p || p[0] != '/')
		return -EINVAL;
	for (; p[n]; n++) {
		unsigned char c = (unsigned char)p[n];
		if (c < 0x20 || c > 0x7e || n >= STORE_KEY_MAX)
			return -EINVAL;
	}
	return 0;
}

int store_key_check(const char *key)
{
	return prefix_check(key);
}

void store_kv_free(struct store_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	free(kv);
}

void store_list_release(struct store_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->items[i].value);	/* the key is in the same block */
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
	l->more = false;
}

void store__init(struct store *s, const struct store__backend *be,
		 uv_loop_t *loop, const struct store_options *o)
{
	memset(s, 0, sizeof(*s));
	s->be = be;
	s->loop = loop;
	s->opts = *o;
	s->opts.path = o->path ? xstrdup(o->path) : NULL;
	s->opts.backend = be->name;
	s->hist.first = 1;
}

void store__release(struct store *s)
{
	struct store__hist *h = &s->hist;

	for (int64_t r = h->first; r <= h->last; r++)
		store__event_release(&h->ring[r & (int64_t)(h->cap - 1)]);
	free(h->ring);
	free((char *)s->opts.path);
	memset(h, 0, sizeof(*h));
}

int store_open(uv_loop_t *loop, const struct store_options *opts,
	       struct store **out, char **errmsg)
{
	struct store_options o;
	const char *name;

	if (errmsg)
		*errmsg = NULL;
	*out = NULL;
	o = *opts;
	name = o.backend ? o.backend : "sqlite";
	if (o.history_max_events <= 0 || o.watch_max_backlog <= 0 ||
	    o.max_batch <= 0 || !o.compact_interval_ms) {
		if (errmsg)
			*errmsg = xstrdup("invalid store options (use store_options_init)");
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i]->open(loop, &o, out, errmsg);
	if (errmsg)
		*errmsg = xasprintf("unknown store backend '%s'", name);
	return -EINVAL;
}

void store__tick(struct store *s)
{
	if (s->watch_dirty && !s->dispatching)
		store__dispatch(s);
	if (s->closing && !s->dispatching && !s->be->busy(s))
		s->be->close(s);
}

void store_close(struct store *s, void (*cb)(void *arg), void *arg)
{
	if (s->closing)
		BUG("store closed twice");
	s->closing = true;
	s->close_cb = cb;
	s->close_arg = arg;
	store__watch_end_all(s, -ESHUTDOWN);
	/* The backend's loop hook calls store__tick(), which finishes. */
	s->be->kick(s);
}

int64_t store_rev(const struct store *s)
{
	return s->rev;
}

int64_t store_compacted_rev(const struct store *s)
{
	return store__compacted(s);
}

static int rev_check(const struct store *s, int64_t rev)
{
	if (rev < 0 || rev > s->rev)
		return -ERANGE;
	if (rev && rev < store__compacted(s))
		return STORE_ECOMPACTED;
	return 0;
}

int store_get(struct store *s, const char *key, int64_t rev,
	      struct store_kv **out)
{
	int ret;

	*out = NULL;
	if ((ret = store_key_check(key)) || (ret = rev_check(s, rev)))
		return ret;
	return s->be->get(s, key, rev ? rev : s->rev, out);
}

int store_list_visit(struct store *s, const char *prefix, const char *after,
		     size_t limit, int64_t rev, store_visit_fn *fn, void *arg,
		     int64_t *rev_out, bool *more)
{
	bool m = false;
	int ret;

	if (more)
		*more = false;
	if ((ret = prefix_check(prefix)) || (ret = rev_check(s, rev)))
		return ret;
	if (after && *after && (ret = store_key_check(after)))
		return ret;
	rev = rev ? rev : s->rev;
	if (rev_out)
		*rev_out = rev;
	ret = s->be->list(s, prefix, after ? after : "", limit, rev, fn, arg, &m);
	if (more)
		*more = m;
	return ret;
}

static int list_add(const struct store_kv *kv, void *arg)
{
	struct store_list *l = arg;
	struct store_kv *c;
	size_t klen = strlen(kv->key);

	ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	c = &l->items[l->nr++];
	/* Key and value in one allocation: value first, then the key. */
	c->value = xmalloc(kv->value_len + 1 + klen + 1);
	memcpy(c->value, kv->value, kv->value_len);
	c->value[kv->value_len] = 0;
	c->key = c->value + kv->value_len + 1;
	memcpy(c->key, kv->key, klen + 1);
	c->value_len = kv->value_len;
	c->create_rev = kv->create_rev;
	c->mod_rev = kv->mod_rev;
	return 0;
}

int store_list(struct store *s, const char *prefix, const char *after,
	       size_t limit, int64_t rev, struct store_list *l)
{
	int ret;

	if (limit)
		ALLOC_GROW(l->items, limit < 1024 ? limit : 1024, l->alloc);
	ret = store_list_visit(s, prefix, after, limit, rev, list_add, l,
			       &l->rev, &l->more);
	if (ret)
		store_list_release(l);
	return ret;
}

int store_count(struct store *s, const char *prefix, int64_t *count)
{
	int ret;

	*count = 0;
	if ((ret = prefix_check(prefix)))
		return ret;
	return s->be->count(s, prefix, count);
}

static int write_check(struct store *s, const char *key, size_t len)
{
	if (s->closing)
		return -ESHUTDOWN;
	if (store_key_check(key))
		return -EINVAL;
	if (len > STORE_VALUE_MAX)
		return -EFBIG;
	return 0;
}

int store_create(struct store *s, const char *key, const void *value,
		 size_t len, store_write_cb *cb, void *arg)
{
	int ret = write_check(s, key, len);

	return ret ? ret : s->be->write(s, STORE__CREATE, key, value, len, 0,
					cb, arg);
}

int store_update(struct store *s, const char *key, const void *value,
		 size_t len, int64_t expect_rev, store_write_cb *cb, void *arg)
{
	int ret = write_check(s, key, len);

	if (!ret && expect_rev < 0)
		ret = -EINVAL;
	return ret ? ret : s->be->write(s, STORE__UPDATE, key, value, len,
					expect_rev, cb, arg);
}

int store_delete(struct store *s, const char *key, int64_t expect_rev,
		 store_write_cb *cb, void *arg)
{
	int ret = write_check(s, key, 0);

	if (!ret && expect_rev < 0)
		ret = -EINVAL;
	return ret ? ret : s->be->write(s, STORE__DELETE, key, NULL, 0,
					expect_rev, cb, arg);
}

/* ---- synchronous helpers ---- */

struct sync_wait {
	bool done;
	int err;
	int64_t rev;
	struct store_kv *prev;
};

static struct store_kv *kv_dup(const struct store_kv *kv)
{
	struct store_kv *c = xcalloc(1, sizeof(*c));

	c->key = xstrdup(kv->key);
	if (kv->value) {
		c->value = xmalloc(kv->value_len + 1);
		memcpy(c->value, kv->value, kv->value_len);
		c->value[kv->value_len] = 0;
	}
	c->value_len = kv->value_len;
	c->create_rev = kv->create_rev;
	c->mod_rev = kv->mod_rev;
	return c;
}

static void sync_cb(const struct store_result *r, void *arg)
{
	struct sync_wait *w = arg;

	w->done = true;
	w->err = r->err;
	w->rev = r->rev;
	if (r->prev)
		w->prev = kv_dup(r->prev);
}

static int sync_finish(struct store *s, int ret, struct sync_wait *w,
		       int64_t *rev, struct store_kv **prev)
{
	if (prev)
		*prev = NULL;
	if (rev)
		*rev = 0;
	if (ret)
		return ret;
	while (!w->done)
		uv_run(s->loop, UV_RUN_ONCE);
	if (rev)
		*rev = w->rev;
	if (prev)
		*prev = w->prev;
	else
		store_kv_free(w->prev);
	return w->err;
}

int store_create_sync(struct store *s, const char *key, const void *value,
		      size_t len, int64_t *rev)
{
	struct sync_wait w = { 0 };

	return sync_finish(s, store_create(s, key, value, len, sync_cb, &w),
			   &w, rev, NULL);
}

int store_update_sync(struct store *s, const char *key, const void *value,
		      size_t len, int64_t expect_rev, int64_t *rev,
		      struct store_kv **prev)
{
	struct sync_wait w = { 0 };

	return sync_finish(s, store_update(s, key, value, len, expect_rev,
					   sync_cb, &w), &w, rev, prev);
}

int store_delete_sync(struct store *s, const char *key, int64_t expect_rev,
		      int64_t *rev, struct store_kv **prev)
{
	struct sync_wait w = { 0 };

	return sync_finish(s, store_delete(s, key, expect_rev, sync_cb, &w),
			   &w, rev, prev);
}

static void close_done(void *arg)
{
	*(bool *)arg = true;
}

void store_close_sync(struct store *s)
{
	uv_loop_t *loop = s->loop;
	bool done = false;

	store_close(s, close_done, &done);
	while (!done)
		uv_run(loop, UV_RUN_ONCE);
}
