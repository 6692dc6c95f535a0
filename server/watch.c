/*
 * server/watch.c - watch streams: {"type":...,"object":...} lines over a
 * chunked response, fed by the store's watch. Selector transitions become
 * ADDED/DELETED as kube-apiserver's watch cache makes them; a slow client
 * pauses the store watch (backpressure) instead of growing memory; errors
 * (410 Expired, too slow) end the stream with an ERROR event.
 */
#include "apiserver.h"
#include "storage.h"
#include "tables.h"
#include "crd.h"
#include "lib/json.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_HIGH_WATER (1 << 20)	/* queued bytes that pause the store watch */
#define WATCH_BOOKMARK_MS 30000		/* interval of BOOKMARK events when allowed */
#define WATCH_DEFAULT_TIMEOUT_S 1800	/* when timeoutSeconds is absent */

struct watch_stream {
	struct watch_stream *next, **pprev;	/* in the server's list of open watches */
	struct api_call *c;
	struct list_filter filter;
	struct swatch *sw;
	uv_timer_t timeout, bookmark;
	int64_t last_rev;
	bool table;
	bool bookmarks;
	bool paused;
	bool closing;
	int handles_open;
};

static bool wants_table(struct api_call *c)
{
	const char *a = http_request_header(c->req, "Accept");

	return a && strstr(a, "as=Table") && strstr(a, "g=meta.k8s.io");
}

static void emit(struct watch_stream *ws, const char *type, const cJSON *obj)
{
	struct buf b = BUF_INIT;

	if (ws->closing || !http_request_alive(ws->c->req))
		return;
	buf_addf(&b, "{\"type\":\"%s\",\"object\":", type);
	if (ws->table && obj && strcmp(type, "ERROR") && strcmp(type, "BOOKMARK")) {
		const cJSON *objs[1] = { obj };
		cJSON *t = table_build(crd_table_printer(ws->c->res),
				       objs, 1, TABLE_INCLUDE_METADATA, NULL, (int64_t)wall_ns());

		json_print_buf(t, &b);
		cJSON_Delete(t);
	} else {
		json_print_buf(obj, &b);
	}
	buf_add(&b, "}\n", 2);
	http_stream_write(ws->c->req, b.data, b.len);
	buf_release(&b);
	if (!ws->paused && ws->sw && http_stream_queued(ws->c->req) > WATCH_HIGH_WATER) {
		ws->paused = true;
		storage_watch_pause(ws->sw, true);
	}
}

static void handle_closed(uv_handle_t *h)
{
	struct watch_stream *ws = h->data;

	if (--ws->handles_open == 0) {
		if (ws->next)
			ws->next->pprev = ws->pprev;
		*ws->pprev = ws->next;
		list_filter_release(&ws->filter);
		ws->c->srv->metrics.watches--;
		api_call_free(ws->c);
		free(ws);
	}
}

static void ws_close(struct watch_stream *ws)
{
	if (ws->closing)
		return;
	ws->closing = true;
	if (ws->sw)
		storage_watch_cancel(ws->sw);
	ws->sw = NULL;
	/* ws is freed once its timers close: no callback may reach it after that */
	http_request_on_cancel(ws->c->req, NULL, NULL);
	http_stream_on_drain(ws->c->req, NULL, NULL);
	http_stream_end(ws->c->req);	/* a no-op once the client left, but it releases it */
	uv_close((uv_handle_t *)&ws->timeout, handle_closed);
	uv_close((uv_handle_t *)&ws->bookmark, handle_closed);
}

static void emit_status(struct watch_stream *ws, enum status_reason r, const char *msg)
{
	struct api_error e = { 0 };
	struct buf b = BUF_INIT;
	cJSON *st;

	api_error_set(&e, r, "%s", msg);
	api_error_render(&e, &b);
	st = json_parse(b.data, strlen(b.data));
	emit(ws, "ERROR", st);
	cJSON_Delete(st);
	buf_release(&b);
	api_error_release(&e);
}

static void on_event(const struct sevent *ev, void *ud)
{
	struct watch_stream *ws = ud;
	cJSON *now = NULL, *old = NULL;
	bool now_ok = false, old_ok = false;

	ws->last_rev = ev->rev;
	if (ev->type == SEVENT_PUT) {
		now = api_decode_as(ws->c->res, ev->value, ev->len, ev->rev);
		now_ok = now && list_filter_match(&ws->filter, now);
	}
	if (ev->prev) {
		old = api_decode_as(ws->c->res, ev->prev, ev->prev_len, ev->rev);
		old_ok = old && list_filter_match(&ws->filter, old);
	}
	if (ev->type == SEVENT_DELETE) {
		if (old_ok)
			emit(ws, "DELETED", old);
	} else if (now_ok) {
		emit(ws, old_ok ? "MODIFIED" : "ADDED", now);
	} else if (old_ok) {
		/* left the selection: the client sees it go */
		emit(ws, "DELETED", now ? now : old);
	}
	cJSON_Delete(now);
	cJSON_Delete(old);
}

static void on_error(int err, void *ud)
{
	struct watch_stream *ws = ud;
	char msg[128];

	ws->sw = NULL;
	if (err == -ESTALE) {
		snprintf(msg, sizeof(msg), "too old resource version: %lld (%lld)",
			 (long long)ws->last_rev, (long long)storage_revision(ws->c->srv));
		emit_status(ws, STATUS_EXPIRED, msg);
	} else {
		emit_status(ws, STATUS_INTERNAL_ERROR, "watch closed: the client could not keep up");
	}
	ws_close(ws);
}

static void on_timeout(uv_timer_t *t)
{
	ws_close(t->data);
}

static void on_bookmark(uv_timer_t *t)
{
	struct watch_stream *ws = t->data;
	cJSON *o = cJSON_CreateObject(), *m = json_obj(o, "metadata");
	char rv[24];
	char *av = *ws->c->res->group ? xasprintf("%s/%s", ws->c->res->group, ws->c->res->version)
				      : xstrdup(ws->c->res->version);

	json_set_str(o, "kind", ws->c->res->kind);
	json_set_str(o, "apiVersion", av);
	snprintf(rv, sizeof(rv), "%lld", (long long)storage_revision(ws->c->srv));
	json_set_str(m, "resourceVersion", rv);
	emit(ws, "BOOKMARK", o);
	cJSON_Delete(o);
	free(av);
}

static void on_drain(struct http_request *req, void *ud)
{
	struct watch_stream *ws = ud;

	(void)req;
	if (ws->paused && ws->sw) {
		ws->paused = false;
		storage_watch_pause(ws->sw, false);
	}
}

static void on_cancel(struct http_request *req, void *ud)
{
	(void)req;
	ws_close(ud);
}

/* Sends ADDED for every current object, and returns the revision read at. */
static int initial_events(struct watch_stream *ws, int64_t *rev, struct api_error *e)
{
	cJSON *items, *meta, *it;
	const char *rv;

	if (list_collect(ws->c, &items, &meta, e))
		return -EINVAL;
	rv = json_get_str(meta, "resourceVersion", "0");
	*rev = atoll(rv);
	cJSON_ArrayForEach(it, items) {
		char *av = *ws->c->res->group ? xasprintf("%s/%s", ws->c->res->group, ws->c->res->version)
					      : xstrdup(ws->c->res->version);

		json_set_str(it, "kind", ws->c->res->kind);
		json_set_str(it, "apiVersion", av);
		free(av);
		emit(ws, "ADDED", it);
	}
	cJSON_Delete(items);
	cJSON_Delete(meta);
	return 0;
}

void rest_watch(struct api_call *c)
{
	static const struct swatch_cbs cbs = { on_event, on_error };
	static const struct http_header hdrs[] = {
		{ "Content-Type", "application/json" },
		{ "Cache-Control", "no-cache, private" },
	};
	struct watch_stream *ws = xcalloc(1, sizeof(*ws));
	struct api_error e = { 0 };
	char *q = NULL;
	int64_t from = 0, timeout = WATCH_DEFAULT_TIMEOUT_S;
	bool b = false;
	char *prefix;
	int r;

	ws->c = c;
	ws->table = wants_table(c);
	if (list_filter_init(c, &ws->filter, &e)) {
		free(ws);
		api_respond_error(c, &e);
		api_call_free(c);
		return;
	}
	if (!http_request_query(c->req, "timeoutSeconds", 0, &q) && q)
		parse_i64(q, &timeout);
	free(q);
	q = NULL;
	if (!http_request_query(c->req, "allowWatchBookmarks", 0, &q) && q && !parse_bool(q, &b))
		ws->bookmarks = b;
	free(q);
	q = NULL;
	if (!http_request_query(c->req, "resourceVersion", 0, &q) && q && *q &&
	    parse_i64(q, &from)) {
		free(q);
		list_filter_release(&ws->filter);
		free(ws);
		api_respond_errorf(c, STATUS_BAD_REQUEST, "invalid resourceVersion");
		api_call_free(c);
		return;
	}
	free(q);
	http_stream_start(c->req, 200, hdrs, ARRAY_SIZE(hdrs));
	c->srv->metrics.watches++;
	ws->next = c->srv->watches;
	if (ws->next)
		ws->next->pprev = &ws->next;
	ws->pprev = &c->srv->watches;
	c->srv->watches = ws;
	uv_timer_init(c->srv->loop, &ws->timeout);
	uv_timer_init(c->srv->loop, &ws->bookmark);
	ws->timeout.data = ws->bookmark.data = ws;
	ws->handles_open = 2;
	http_request_on_cancel(c->req, on_cancel, ws);
	http_stream_on_drain(c->req, on_drain, ws);
	if (timeout > 0)
		uv_timer_start(&ws->timeout, on_timeout, (uint64_t)timeout * 1000, 0);
	if (ws->bookmarks)
		uv_timer_start(&ws->bookmark, on_bookmark, WATCH_BOOKMARK_MS, WATCH_BOOKMARK_MS);
	if (from == 0 && initial_events(ws, &from, &e)) {
		emit_status(ws, e.reason, e.message);
		api_error_release(&e);
		ws_close(ws);
		return;
	}
	ws->last_rev = from;
	prefix = api_key(c->res, c->res->namespaced ? c->route.ns : "", "");
	r = storage_watch(c->srv, prefix, from, &cbs, ws, &ws->sw);
	free(prefix);
	if (r) {
		char msg[128];

		snprintf(msg, sizeof(msg), "too old resource version: %lld (%lld)",
			 (long long)from, (long long)storage_revision(c->srv));
		ws->sw = NULL;
		if (r == -ESTALE)
			emit_status(ws, STATUS_EXPIRED, msg);
		else
			emit_status(ws, STATUS_INTERNAL_ERROR, strerror(-r));
		ws_close(ws);
	}
}

void watch_close_all(struct apiserver *s)
{
	for (struct watch_stream *ws = s->watches; ws; ws = ws->next)
		ws_close(ws);
}

void watch_close_resource(struct apiserver *s, const struct api_resource *r)
{
	for (struct watch_stream *ws = s->watches; ws; ws = ws->next)
		if (ws->c->res == r)
			ws_close(ws);
}
