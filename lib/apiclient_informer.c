/*
 * lib/apiclient_informer.c - list + watch into a local store.
 *
 * States: LISTING (list call in flight) -> WATCHING (watch stream open) ->
 * back to WATCHING on a clean end, LISTING on 410, WAITING (backoff timer)
 * on errors. All restarts go through the timer, never from inside an
 * http callback, so no call is cancelled while it is delivering.
 */
#include "apiclient.h"
#include "apiclient_int.h"
#include "buf.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- store: chained hash of "ns/name" -> object ----
 *
 * One allocation per object: the entry with its key at its end, and for
 * keys_only its resourceVersion after the key (no object kept). */

struct entry {
	struct entry *next;
	cJSON *obj;		/* NULL for keys_only: the resourceVersion follows key */
	uint32_t gen;		/* the list that last returned it (paged lists) */
	char key[];		/* "ns/name\0" or "name\0", then "rv\0" for keys_only */
};

struct store {
	struct entry **b;
	size_t nb, n;
};

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static struct entry **store_slot(const struct store *s, const char *key)
{
	struct entry **e = &s->b[hash(key) % s->nb];

	while (*e && strcmp((*e)->key, key))
		e = &(*e)->next;
	return e;
}

static void store_init(struct store *s)
{
	s->nb = 64;
	s->n = 0;
	s->b = xcalloc(s->nb, sizeof(*s->b));
}

static void store_grow(struct store *s)
{
	struct store t = { xcalloc(s->nb * 4, sizeof(*s->b)), s->nb * 4, s->n };

	for (size_t i = 0; i < s->nb; i++)
		for (struct entry *e = s->b[i], *nx; e; e = nx) {
			nx = e->next;
			e->next = t.b[hash(e->key) % t.nb];
			t.b[hash(e->key) % t.nb] = e;
		}
	free(s->b);
	*s = t;
}

/* The keys_only resourceVersion stored after the key. */
static const char *entry_rv(const struct entry *e)
{
	return e->key + strlen(e->key) + 1;
}

/* Sets the stored resourceVersion of the keys_only entry at *slot (which
 * may move: *slot is updated). */
static struct entry *entry_set_rv(struct entry **slot, const char *rv)
{
	struct entry *e = *slot;
	size_t kl = strlen(e->key) + 1, rl = strlen(rv) + 1;

	if (strlen(entry_rv(e)) + 1 != rl)
		*slot = e = xrealloc(e, sizeof(*e) + kl + rl);
	memcpy(e->key + kl, rv, rl);
	return e;
}

/* Adds key (absent; *slot from store_slot) holding obj, or for keys_only
 * (obj NULL) the resourceVersion rv. Returns the entry. */
static struct entry *store_add(struct store *s, struct entry **slot, const char *key,
			       cJSON *obj, const char *rv)
{
	size_t kl = strlen(key) + 1, rl = obj ? 0 : strlen(rv) + 1;
	struct entry *e = xmalloc(sizeof(*e) + kl + rl);

	e->next = NULL;
	e->obj = obj;
	e->gen = 0;
	memcpy(e->key, key, kl);
	if (!obj)
		memcpy(e->key + kl, rv, rl);
	*slot = e;
	if (++s->n > s->nb * 2)
		store_grow(s);
	return e;
}

/* Unlinks the entry at *slot; the caller frees it (entry_free). */
static struct entry *store_unlink(struct store *s, struct entry **slot)
{
	struct entry *e = *slot;

	*slot = e->next;
	s->n--;
	return e;
}

static void entry_free(struct entry *e)
{
	cJSON_Delete(e->obj);
	free(e);
}

static void store_release(struct store *s)
{
	for (size_t i = 0; i < s->nb; i++)
		for (struct entry *e = s->b[i], *nx; e; e = nx) {
			nx = e->next;
			entry_free(e);
		}
	free(s->b);
	memset(s, 0, sizeof(*s));
}

static char *obj_key(const cJSON *o)
{
	const cJSON *m = json_get(o, "metadata");
	const char *ns = json_get_str(m, "namespace", "");

	return *ns ? xasprintf("%s/%s", ns, json_get_str(m, "name", ""))
		   : xstrdup(json_get_str(m, "name", ""));
}

static const char *obj_rv(const cJSON *o)
{
	return json_get_str(json_get(o, "metadata"), "resourceVersion", "");
}

/* What callbacks see of a stored entry: its object, or for keys_only a
 * stub {metadata: namespace, name, resourceVersion} made from its key
 * (freed by view_done). */
static cJSON *view_of(const struct entry *e)
{
	const char *slash = strchr(e->key, '/');
	cJSON *o, *m;

	if (e->obj)
		return e->obj;
	o = cJSON_CreateObject();
	m = json_obj(o, "metadata");
	if (slash) {
		char *ns = xstrndup(e->key, (size_t)(slash - e->key));
		json_set_str(m, "namespace", ns);
		free(ns);
	}
	json_set_str(m, "name", slash ? slash + 1 : e->key);
	json_set_str(m, "resourceVersion", entry_rv(e));
	return o;
}

static void view_done(cJSON *view, const struct entry *e)
{
	if (view != e->obj)
		cJSON_Delete(view);
}

/* ---- informer ---- */

enum inf_state { INF_IDLE, INF_LISTING, INF_WATCHING, INF_WAITING, INF_PAUSED };

struct api_informer {
	struct api_client *c;
	struct api_informer_opts o;
	char *path, *lsel, *fsel;
	struct store store;
	uint32_t gen;			/* the list in progress: its entries' mark */
	char *cont;			/* continue token of the next page, or NULL */
	char *rv;
	enum inf_state state;
	struct http_call *call;		/* list or watch in flight */
	struct buf line;		/* partial watch event */
	int status;			/* watch response status */
	bool expired;			/* 410 seen on this watch */
	bool synced, paused;
	unsigned backoff_ms;
	uv_timer_t timer;
	struct api_informer_stats st;
};

static void inf_list(struct api_informer *inf);
static void inf_watch(struct api_informer *inf);

static void on_timer(uv_timer_t *t)
{
	struct api_informer *inf = container_of(t, struct api_informer, timer);

	if (inf->call) {
		http_call_cancel(inf->call);
		inf->call = NULL;
	}
	if (inf->paused) {
		inf->state = INF_PAUSED;
		return;
	}
	if (inf->state == INF_WATCHING && !inf->expired && *inf->rv)
		inf_watch(inf);
	else
		inf_list(inf);
}

/* Next step after delay ms: re-watch when state is WATCHING, else list. */
static void inf_schedule(struct api_informer *inf, enum inf_state next, unsigned delay)
{
	inf->state = next;
	uv_timer_start(&inf->timer, on_timer, delay, 0);
}

/* Forgets a list in progress (the next list starts from its first page). */
static void list_reset(struct api_informer *inf)
{
	free(inf->cont);
	inf->cont = NULL;
}

static void inf_fail(struct api_informer *inf, const char *what, int err, int code)
{
	list_reset(inf);
	inf->st.errors++;
	inf->backoff_ms = inf->backoff_ms ? inf->backoff_ms * 2 : API_INFORMER_BACKOFF_MIN_MS;
	if (inf->backoff_ms > API_INFORMER_BACKOFF_MAX_MS)
		inf->backoff_ms = API_INFORMER_BACKOFF_MAX_MS;
	LOG_V(2, "informer %s: %s failed (%s, HTTP %d); re-list in %u ms", inf->path, what,
	      err ? strerror(-err) : "ok", code, inf->backoff_ms);
	inf_schedule(inf, INF_WAITING, inf->backoff_ms);
}

static char *inf_url(const struct api_informer *inf, bool watch)
{
	struct buf b;
	char *u;

	buf_init(&b, 256);
	buf_addstr(&b, inf->path);
	buf_addch(&b, '?');
	if (inf->lsel) {
		buf_addstr(&b, "labelSelector=");
		http_url_encode(&b, inf->lsel);
		buf_addch(&b, '&');
	}
	if (inf->fsel) {
		buf_addstr(&b, "fieldSelector=");
		http_url_encode(&b, inf->fsel);
		buf_addch(&b, '&');
	}
	if (!watch && inf->o.list_limit) {
		buf_addf(&b, "limit=%u&", inf->o.list_limit);
		if (inf->cont) {
			buf_addstr(&b, "continue=");
			http_url_encode(&b, inf->cont);
			buf_addch(&b, '&');
		}
	}
	if (watch) {
		buf_addf(&b, "watch=1&allowWatchBookmarks=true&timeoutSeconds=%u&resourceVersion=",
			 inf->o.watch_timeout_s ? inf->o.watch_timeout_s : 300);
		http_url_encode(&b, inf->rv);
	}
	u = api__url(inf->c, buf_str(&b));
	buf_release(&b);
	return u;
}

static void set_rv(struct api_informer *inf, const char *rv)
{
	if (rv && *rv) {
		free(inf->rv);
		inf->rv = xstrdup(rv);
	}
}

/* Calls on_update (obj set) or on_delete with the view of entry e. */
static void report_old(struct api_informer *inf, const struct entry *e, const cJSON *obj)
{
	cJSON *v = view_of(e);

	if (obj)
		inf->o.on_update(inf, v, obj, inf->o.ud);
	else
		inf->o.on_delete(inf, v, inf->o.ud);
	view_done(v, e);
}

/* keys_only: the store keeps the key and resourceVersion, obj is freed. */
static void upsert_key(struct api_informer *inf, struct entry **slot, const char *key,
		       cJSON *obj, bool listed)
{
	struct entry *e = *slot;

	if (!e) {
		e = store_add(&inf->store, slot, key, NULL, obj_rv(obj));
		if (inf->o.on_add)
			inf->o.on_add(inf, obj, inf->o.ud);
	} else {
		if (inf->o.on_update && strcmp(entry_rv(e), obj_rv(obj)))
			report_old(inf, e, obj);
		e = entry_set_rv(slot, obj_rv(obj));
	}
	if (listed)
		e->gen = inf->gen;
	cJSON_Delete(obj);
}

/* Applies one object (taken) as added or modified; listed: it came in a
 * list page (marks it as seen by the list in progress). */
static void apply_upsert(struct api_informer *inf, cJSON *obj, bool listed)
{
	char *key = obj_key(obj);
	struct entry **slot = store_slot(&inf->store, key), *e = *slot;

	if (inf->o.keys_only) {
		upsert_key(inf, slot, key, obj, listed);
		free(key);
		return;
	}
	if (!e) {
		e = store_add(&inf->store, slot, key, obj, NULL);
		if (inf->o.on_add)
			inf->o.on_add(inf, obj, inf->o.ud);
	} else {
		cJSON *old = e->obj;

		e->obj = obj;
		if (inf->o.on_update && strcmp(obj_rv(old), obj_rv(obj)))
			inf->o.on_update(inf, old, obj, inf->o.ud);
		cJSON_Delete(old);
	}
	if (listed)
		e->gen = inf->gen;
	if (inf->o.trim)
		inf->o.trim(obj, inf->o.ud);
	free(key);
}

/* Removes the entry at *slot, reporting it to on_delete. */
static void remove_entry(struct api_informer *inf, struct entry **slot)
{
	struct entry *e = store_unlink(&inf->store, slot);

	if (inf->o.on_delete)
		report_old(inf, e, NULL);
	entry_free(e);
}

static void apply_delete(struct api_informer *inf, const cJSON *obj)
{
	char *key = obj_key(obj);
	struct entry **slot = store_slot(&inf->store, key);

	if (*slot)
		remove_entry(inf, slot);
	free(key);
}

/* Applies one list page: its items are upserted and marked as listed. */
static void apply_page(struct api_informer *inf, cJSON *list)
{
	cJSON *items = json_get(list, "items"), *it;

	while ((it = cJSON_DetachItemFromArray(items, 0)))
		apply_upsert(inf, it, true);
}

/* After the last page: reports the objects the list no longer has. */
static void apply_deletions(struct api_informer *inf)
{
	for (size_t i = 0; i < inf->store.nb; i++) {
		struct entry **slot = &inf->store.b[i];

		while (*slot) {
			if ((*slot)->gen != inf->gen)
				remove_entry(inf, slot);
			else
				slot = &(*slot)->next;
		}
	}
	list_reset(inf);
}

static void on_list(struct http_call *call, int err, struct http_response *resp, void *ud)
{
	struct api_informer *inf = ud;
	cJSON *list = NULL;
	const char *cont;

	(void)call;
	inf->call = NULL;
	if (!err && resp && resp->status == 200)
		list = json_parse(resp->body.data, resp->body.len);
	if (!list) {
		inf_fail(inf, "list", err, resp ? resp->status : 0);
		return;
	}
	inf->backoff_ms = 0;
	inf->expired = false;
	apply_page(inf, list);
	cont = json_get_str(json_get(list, "metadata"), "continue", "");
	if (inf->o.list_limit && *cont) {
		free(inf->cont);
		inf->cont = xstrdup(cont);
		cJSON_Delete(list);
		inf_schedule(inf, INF_LISTING, 0);	/* the next page */
		return;
	}
	inf->st.lists++;
	apply_deletions(inf);
	set_rv(inf, obj_rv(list));
	cJSON_Delete(list);
	inf->synced = true;
	if (inf->o.on_synced)
		inf->o.on_synced(inf, inf->o.ud);
	if (inf->paused)
		inf->state = INF_PAUSED;
	else
		inf_watch(inf);
}

static void inf_list(struct api_informer *inf)
{
	struct http_header h = { "Accept", "application/json" };
	struct http_call_opts o = { 0 };
	char *url = inf_url(inf, false);
	int r;

	o.url = url;
	o.headers = &h;
	o.n_headers = 1;
	o.timeout_ms = API_REQUEST_TIMEOUT_MS * 2;
	o.on_complete = on_list;
	o.ud = inf;
	if (!inf->cont)
		inf->gen++;	/* a new list: marks what it returns */
	inf->state = INF_LISTING;
	r = api__call(inf->c, &o, &inf->call);
	free(url);
	if (r)
		inf_fail(inf, "list", r, 0);
}

static void handle_event(struct api_informer *inf, const char *s, size_t len)
{
	cJSON *ev = json_parse(s, len);
	const char *type = json_get_str(ev, "type", "");
	cJSON *obj = json_get(ev, "object");

	if (!ev || !obj) {
		inf->expired = true;	/* undecodable: start over */
	} else if (!strcmp(type, "ERROR")) {
		if (json_get_int(obj, "code", 0) == 410)
			inf->st.expired++;
		inf->expired = true;
	} else if (!strcmp(type, "BOOKMARK")) {
		set_rv(inf, obj_rv(obj));
	} else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
		inf->st.events++;
		set_rv(inf, obj_rv(obj));
		apply_upsert(inf, cJSON_DetachItemViaPointer(ev, obj), false);
	} else if (!strcmp(type, "DELETED")) {
		inf->st.events++;
		set_rv(inf, obj_rv(obj));
		apply_delete(inf, obj);
	}
	cJSON_Delete(ev);
	if (inf->expired)
		inf_schedule(inf, INF_LISTING, 0);
}

static void on_watch_headers(struct http_call *call, const struct http_response *resp, void *ud)
{
	struct api_informer *inf = ud;

	(void)call;
	inf->status = resp->status;
	if (resp->status == 200)
		inf->backoff_ms = 0;
}

static void on_watch_body(struct http_call *call, const void *data, size_t len, void *ud)
{
	struct api_informer *inf = ud;
	char *nl;

	(void)call;
	if (inf->status != 200 || inf->expired)
		return;
	buf_add(&inf->line, data, len);
	while (!inf->expired && (nl = memchr(inf->line.data, '\n', inf->line.len))) {
		size_t n = (size_t)(nl - inf->line.data);

		if (n)
			handle_event(inf, inf->line.data, n);
		buf_consume(&inf->line, n + 1);
	}
	if (inf->line.len > API_WATCH_MAX_EVENT_BYTES) {
		inf->expired = true;
		inf_schedule(inf, INF_LISTING, 0);
	}
}

static void on_watch_done(struct http_call *call, int err, struct http_response *resp, void *ud)
{
	struct api_informer *inf = ud;

	(void)call;
	inf->call = NULL;
	if (inf->expired)
		return;		/* the timer already re-lists */
	if (inf->status == 410 || (resp && resp->status == 410)) {
		inf->st.expired++;
		inf->expired = true;
		inf_schedule(inf, INF_LISTING, 0);
	} else if (err || !resp || resp->status != 200) {
		inf_fail(inf, "watch", err, resp ? resp->status : 0);
	} else {
		inf_schedule(inf, INF_WATCHING, 0);	/* clean end: resume */
	}
}

static void inf_watch(struct api_informer *inf)
{
	struct http_header h = { "Accept", "application/json" };
	struct http_call_opts o = { 0 };
	char *url = inf_url(inf, true);
	int r;

	o.url = url;
	o.headers = &h;
	o.n_headers = 1;
	o.timeout_ms = API_REQUEST_TIMEOUT_MS;
	o.on_headers = on_watch_headers;
	o.on_body = on_watch_body;
	o.on_complete = on_watch_done;
	o.ud = inf;
	inf->state = INF_WATCHING;
	inf->status = 0;
	inf->expired = false;
	buf_reset(&inf->line);
	inf->st.watches++;
	r = api__call(inf->c, &o, &inf->call);
	free(url);
	if (r)
		inf_fail(inf, "watch", r, 0);
}

int api_informer_start(struct api_client *c, const struct api_informer_opts *o,
		       struct api_informer **out)
{
	struct api_informer *inf;

	if (!o->path || o->path[0] != '/' || strlen(o->path) > API_MAX_PATH)
		return -EINVAL;
	inf = xcalloc(1, sizeof(*inf));
	inf->c = c;
	inf->o = *o;
	inf->path = xstrdup(o->path);
	inf->lsel = o->label_selector ? xstrdup(o->label_selector) : NULL;
	inf->fsel = o->field_selector ? xstrdup(o->field_selector) : NULL;
	inf->rv = xstrdup("");
	buf_init(&inf->line, 4096);
	store_init(&inf->store);
	uv_timer_init(c->loop, &inf->timer);
	*out = inf;
	inf_list(inf);
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct api_informer *inf = container_of((uv_timer_t *)h, struct api_informer, timer);

	free(inf);
}

void api_informer_free(struct api_informer *inf)
{
	if (!inf)
		return;
	if (inf->call)
		http_call_cancel(inf->call);
	store_release(&inf->store);
	list_reset(inf);
	buf_release(&inf->line);
	free(inf->path);
	free(inf->lsel);
	free(inf->fsel);
	free(inf->rv);
	uv_close((uv_handle_t *)&inf->timer, on_timer_closed);
}

bool api_informer_synced(const struct api_informer *inf)
{
	return inf->synced;
}

const cJSON *api_informer_get(const struct api_informer *inf, const char *ns, const char *name)
{
	char *key = ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
	struct entry *e = *store_slot(&inf->store, key);

	free(key);
	return e ? e->obj : NULL;
}

size_t api_informer_count(const struct api_informer *inf)
{
	return inf->store.n;
}

void api_informer_foreach(const struct api_informer *inf,
			  void (*fn)(const cJSON *obj, void *ud), void *ud)
{
	for (size_t i = 0; i < inf->store.nb; i++)
		for (struct entry *e = inf->store.b[i]; e; e = e->next)
			if (e->obj)
				fn(e->obj, ud);
}

const char *api_informer_rv(const struct api_informer *inf)
{
	return inf->rv;
}

void api_informer_stats(const struct api_informer *inf, struct api_informer_stats *st)
{
	*st = inf->st;
}

void api_informer_pause(struct api_informer *inf, bool pause)
{
	if (pause == inf->paused)
		return;
	inf->paused = pause;
	if (pause) {
		if (inf->call) {
			http_call_cancel(inf->call);
			inf->call = NULL;
		}
		uv_timer_stop(&inf->timer);
		list_reset(inf);
		inf->state = INF_PAUSED;
	} else {
		inf_schedule(inf, *inf->rv ? INF_WATCHING : INF_LISTING, 0);
	}
}
