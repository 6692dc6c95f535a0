/*
 * server/controllers/queue.c - the controllers' work queue: keys deduped,
 * one reconcile per key at a time, failures retried with exponential
 * backoff (see controllers.h).
 */
#include "controllers.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct wq_item {
	char *key;
	struct wq_item *hnext;		/* hash chain */
	struct wq_item *qnext;		/* ready FIFO */
	struct wq_item *dnext;		/* delayed list */
	uint64_t due_ms;		/* loop time when a delayed key becomes ready */
	unsigned failures;
	bool queued, active, dirty, delayed;
};

static uint32_t hash_key(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % WQ_BUCKETS;
}

static struct wq_item **slot(struct wq *q, const char *key)
{
	struct wq_item **p = &q->buckets[hash_key(key)];

	while (*p && strcmp((*p)->key, key))
		p = &(*p)->hnext;
	return p;
}

static struct wq_item *item_get(struct wq *q, const char *key)
{
	struct wq_item **p = slot(q, key);

	if (!*p) {
		*p = xcalloc(1, sizeof(**p));
		(*p)->key = xstrdup(key);
		q->n++;
	}
	return *p;
}

/* Forgets it when nothing refers to it any more. */
static void item_maybe_free(struct wq *q, struct wq_item *it)
{
	struct wq_item **p;

	if (it->queued || it->active || it->delayed || it->dirty || it->failures)
		return;
	p = slot(q, it->key);
	*p = it->hnext;
	q->n--;
	free(it->key);
	free(it);
}

static void on_idle(uv_idle_t *h);

static void enqueue(struct wq *q, struct wq_item *it)
{
	if (it->queued)
		return;
	it->queued = true;
	it->qnext = NULL;
	if (q->tail)
		q->tail->qnext = it;
	else
		q->head = it;
	q->tail = it;
	if (!q->idle_on) {
		uv_idle_start(&q->idle, on_idle);
		q->idle_on = true;
	}
}

static void undelay(struct wq *q, struct wq_item *it)
{
	struct wq_item **p = &q->delayed;

	if (!it->delayed)
		return;
	while (*p && *p != it)
		p = &(*p)->dnext;
	if (*p)
		*p = it->dnext;
	it->delayed = false;
}

static void on_idle(uv_idle_t *h)
{
	struct wq *q = container_of(h, struct wq, idle);

	for (int i = 0; i < WQ_BATCH && q->head; i++) {
		struct wq_item *it = q->head;

		q->head = it->qnext;
		if (!q->head)
			q->tail = NULL;
		it->queued = false;
		it->active = true;
		q->process(q, it->key, q->ud);	/* may call wq_done at once */
	}
	if (!q->head && q->idle_on) {
		uv_idle_stop(&q->idle);
		q->idle_on = false;
	}
}

static void arm_timer(struct wq *q);

static void on_timer(uv_timer_t *h)
{
	struct wq *q = container_of(h, struct wq, timer);
	uint64_t now = uv_now(q->loop);
	struct wq_item **p = &q->delayed;

	while (*p) {
		struct wq_item *it = *p;

		if (it->due_ms > now) {
			p = &it->dnext;
			continue;
		}
		*p = it->dnext;
		it->delayed = false;
		if (it->active)
			it->dirty = true;
		else
			enqueue(q, it);
	}
	arm_timer(q);
}

static void arm_timer(struct wq *q)
{
	uint64_t first = UINT64_MAX, now = uv_now(q->loop);

	for (struct wq_item *it = q->delayed; it; it = it->dnext)
		if (it->due_ms < first)
			first = it->due_ms;
	if (first == UINT64_MAX)
		uv_timer_stop(&q->timer);
	else
		uv_timer_start(&q->timer, on_timer, first > now ? first - now : 0, 0);
}

void wq_init(struct wq *q, uv_loop_t *loop, void (*process)(struct wq *, const char *, void *),
	     void *ud)
{
	memset(q, 0, sizeof(*q));
	q->loop = loop;
	q->process = process;
	q->ud = ud;
	q->buckets = xcalloc(WQ_BUCKETS, sizeof(*q->buckets));
	uv_idle_init(loop, &q->idle);
	uv_timer_init(loop, &q->timer);
}

void wq_add(struct wq *q, const char *key)
{
	struct wq_item *it = item_get(q, key);

	undelay(q, it);
	if (it->active)
		it->dirty = true;
	else
		enqueue(q, it);
}

void wq_add_after(struct wq *q, const char *key, uint64_t ms)
{
	struct wq_item *it;
	uint64_t due;

	if (!ms) {
		wq_add(q, key);
		return;
	}
	it = item_get(q, key);
	if (it->queued)
		return;
	due = uv_now(q->loop) + ms;
	if (it->delayed && it->due_ms <= due)
		return;
	if (!it->delayed) {
		it->dnext = q->delayed;
		q->delayed = it;
		it->delayed = true;
	}
	it->due_ms = due;
	arm_timer(q);
}

uint64_t wq_backoff_ms(const struct wq *q, unsigned n)
{
	uint64_t base = q->base_ms ? q->base_ms : WQ_BACKOFF_BASE_MS;
	uint64_t max = q->max_ms ? q->max_ms : WQ_BACKOFF_MAX_MS;
	uint64_t d = base;

	for (unsigned i = 0; i < n && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}

void wq_done(struct wq *q, const char *key, int err)
{
	struct wq_item *it;

	if (!q->buckets)
		return;	/* released: a call finished during shutdown */
	it = *slot(q, key);
	if (!it || !it->active)
		BUG("wq_done for '%s' that is not being processed", key);
	it->active = false;
	if (err < 0) {
		uint64_t d = wq_backoff_ms(q, it->failures++);

		if (it->dirty) {
			it->dirty = false;
			enqueue(q, it);
		} else {
			wq_add_after(q, key, d);
		}
		return;
	}
	it->failures = 0;
	if (it->dirty) {
		it->dirty = false;
		enqueue(q, it);
		return;
	}
	item_maybe_free(q, it);
}

unsigned wq_failures(struct wq *q, const char *key)
{
	struct wq_item *it = *slot(q, key);

	return it ? it->failures : 0;
}

size_t wq_len(const struct wq *q)
{
	size_t n = 0;

	for (size_t b = 0; b < WQ_BUCKETS; b++)
		for (struct wq_item *it = q->buckets[b]; it; it = it->hnext)
			n += it->queued || it->delayed || it->dirty;
	return n;
}

void wq_release(struct wq *q)
{
	for (size_t b = 0; q->buckets && b < WQ_BUCKETS; b++) {
		struct wq_item *it = q->buckets[b], *next;

		for (; it; it = next) {
			next = it->hnext;
			free(it->key);
			free(it);
		}
	}
	free(q->buckets);
	q->buckets = NULL;
	q->head = q->tail = q->delayed = NULL;
	if (!uv_is_closing((uv_handle_t *)&q->idle))
		uv_close((uv_handle_t *)&q->idle, NULL);
	if (!uv_is_closing((uv_handle_t *)&q->timer))
		uv_close((uv_handle_t *)&q->timer, NULL);
}
