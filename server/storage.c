/*
 * server/storage.c - the API server's use of store/ (see storage.h).
 */
#include "apiserver.h"
#include "storage.h"
#include "store/store.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct wop {
	storage_cb cb;
	void *ud;
};

struct swatch {
	struct store_watch *w;
	struct swatch_cbs cbs;
	void *ud;
};

void sobj_release(struct sobj *o)
{
	free(o->key);
	free(o->value);
	memset(o, 0, sizeof(*o));
}

void slist_release(struct slist *l)
{
	for (size_t i = 0; i < l->n; i++)
		sobj_release(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int storage_open(struct apiserver *s, const char *path, char **err)
{
	struct store_options o;

	store_options_init(&o);
	o.path = path;
	if (s->cfg->history_events > 0)
		o.history_max_events = s->cfg->history_events;
	if (s->cfg->history_seconds > 0)
		o.history_max_age_ms = (uint64_t)s->cfg->history_seconds * 1000;
	return store_open(s->loop, &o, &s->store, err);
}

void storage_close(struct apiserver *s)
{
	if (s->store)
		store_close(s->store, NULL, NULL);
	s->store = NULL;
}

int64_t storage_revision(struct apiserver *s)
{
	return store_rev(s->store);
}

static void from_kv(struct sobj *o, const struct store_kv *kv)
{
	o->key = xstrdup(kv->key);
	o->value = kv->value ? xstrndup(kv->value, kv->value_len) : NULL;
	o->len = kv->value_len;
	o->create_rev = kv->create_rev;
	o->mod_rev = kv->mod_rev;
}

int storage_get(struct apiserver *s, const char *key, struct sobj *out)
{
	struct store_kv *kv = NULL;
	int r = store_get(s->store, key, 0, &kv);

	if (r)
		return r;
	/* take the strings over instead of copying them */
	out->key = kv->key;
	out->value = kv->value;
	out->len = kv->value_len;
	out->create_rev = kv->create_rev;
	out->mod_rev = kv->mod_rev;
	kv->key = kv->value = NULL;
	store_kv_free(kv);
	return 0;
}

int storage_list(struct apiserver *s, const char *prefix, int64_t at_rev,
		 const char *after, size_t limit, struct slist *out)
{
	struct store_list l = STORE_LIST_INIT;
	int r = store_list(s->store, prefix, after, limit, at_rev, &l);

	if (r == -ERANGE)
		r = -ESTALE;
	if (r)
		return r;
	out->items = xcalloc(l.nr ? l.nr : 1, sizeof(*out->items));
	for (size_t i = 0; i < l.nr; i++) {
		/* the store allocates key and value in one block owned by value */
		out->items[i].key = xstrdup(l.items[i].key);
		out->items[i].value = l.items[i].value;
		out->items[i].len = l.items[i].value_len;
		out->items[i].create_rev = l.items[i].create_rev;
		out->items[i].mod_rev = l.items[i].mod_rev;
		l.items[i].value = NULL;
	}
	out->n = l.nr;
	out->rev = l.rev;
	out->more = l.more;
	out->remaining = -1;	/* unknown: the store counts only at the current revision */
	store_list_release(&l);
	return 0;
}

static int map_err(int err)
{
	return err == STORE_ECONFLICT ? -ECANCELED : err;
}

static void write_cb(const struct store_result *r, void *arg)
{
	struct wop *op = arg;
	struct sobj prev = { 0 };

	if (r->prev)
		from_kv(&prev, r->prev);
	op->cb(map_err(r->err), r->rev, r->prev ? &prev : NULL, op->ud);
	sobj_release(&prev);
	free(op);
}

static void refused(struct wop *op, int r)
{
	op->cb(map_err(r), 0, NULL, op->ud);
	free(op);
}

static struct wop *wop_new(storage_cb cb, void *ud)
{
	struct wop *op = xmalloc(sizeof(*op));

	op->cb = cb;
	op->ud = ud;
	return op;
}

void storage_create(struct apiserver *s, const char *key, const char *value, size_t len,
		    storage_cb cb, void *ud)
{
	struct wop *op = wop_new(cb, ud);
	int r = store_create(s->store, key, value, len, write_cb, op);

	if (r)
		refused(op, r);
}

void storage_update(struct apiserver *s, const char *key, const char *value, size_t len,
		    int64_t expected_rev, storage_cb cb, void *ud)
{
	struct wop *op = wop_new(cb, ud);
	int r = store_update(s->store, key, value, len, expected_rev, write_cb, op);

	if (r)
		refused(op, r);
}

void storage_delete(struct apiserver *s, const char *key, int64_t expected_rev,
		    storage_cb cb, void *ud)
{
	struct wop *op = wop_new(cb, ud);
	int r = store_delete(s->store, key, expected_rev, write_cb, op);

	if (r)
		refused(op, r);
}

static void event_cb(struct store_watch *w, const struct store_event *ev, void *arg)
{
	struct swatch *sw = arg;
	struct sevent e = {
		.type = ev->type == STORE_DELETE ? SEVENT_DELETE : SEVENT_PUT,
		.key = ev->kv->key,
		.value = ev->kv->value,
		.len = ev->kv->value_len,
		.prev = ev->prev ? ev->prev->value : NULL,
		.prev_len = ev->prev ? ev->prev->value_len : 0,
		.rev = ev->rev,
		.create_rev = ev->kv->create_rev,
	};

	(void)w;
	sw->cbs.on_event(&e, sw->ud);
}

static void err_cb(struct store_watch *w, int err, void *arg)
{
	struct swatch *sw = arg;

	store_watch_free(w);
	sw->w = NULL;
	sw->cbs.on_error(err, sw->ud);
	free(sw);
}

int storage_watch(struct apiserver *s, const char *prefix, int64_t from_rev,
		  const struct swatch_cbs *cbs, void *ud, struct swatch **out)
{
	struct swatch *sw = xcalloc(1, sizeof(*sw));
	int r;

	sw->cbs = *cbs;
	sw->ud = ud;
	r = store_watch(s->store, prefix, from_rev, event_cb, err_cb, sw, &sw->w);
	if (r) {
		free(sw);
		return r;
	}
	*out = sw;
	return 0;
}

void storage_watch_pause(struct swatch *sw, bool pause)
{
	if (pause)
		store_watch_pause(sw->w);
	else
		store_watch_resume(sw->w);
}

void storage_watch_cancel(struct swatch *sw)
{
	if (!sw)
		return;
	store_watch_free(sw->w);
	free(sw);
}
