/*
 * bench/store/k1s.c - the k1s store measured in-process on one libuv loop:
 * durable puts with 1/8/64 writers each keeping one write in flight, gets,
 * a list of 10,000 keys, and watch delivery to 100 and 1,000 watchers.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/store.h"

struct putter {
	struct store *s;
	int id;
	uint64_t n;
	uint64_t *acked;
	bool *stop;
	char *val;
};

static void put_next(struct putter *p);

static void put_done(const struct store_result *r, void *arg)
{
	struct putter *p = arg;

	if (r->err)
		BUG("bench put failed: %s", store_strerror(r->err));
	(*p->acked)++;
	if (!*p->stop)
		put_next(p);
}

static void put_next(struct putter *p)
{
	char key[64];

	snprintf(key, sizeof(key), "/bench/put/%d/%llu", p->id,
		 (unsigned long long)p->n++);
	if (store_create(p->s, key, p->val, BENCH_VALUE, put_done, p))
		BUG("bench put refused");
}

static double put_rate(uv_loop_t *loop, struct store *s, int writers)
{
	struct putter *p = xcalloc((size_t)writers, sizeof(*p));
	char val[BENCH_VALUE];
	uint64_t acked = 0, submitted = 0, t0, t1, at_end;
	bool stop = false;

	bench_fill(val, sizeof(val), 1);
	for (int i = 0; i < writers; i++) {
		p[i] = (struct putter){ s, i + writers * 1000, 0, &acked, &stop, val };
		put_next(&p[i]);
	}
	t0 = mono_ns();
	while (mono_ns() - t0 < BENCH_PHASE_MS * 1000000ull)
		uv_run(loop, UV_RUN_ONCE);
	at_end = acked;
	t1 = mono_ns();
	stop = true;
	/* Drain the writes still in flight (one per writer at most). */
	for (int i = 0; i < writers; i++)
		submitted += p[i].n;
	while (acked < submitted)
		uv_run(loop, UV_RUN_ONCE);
	free(p);
	return (double)at_end / ((double)(t1 - t0) / 1e9);
}

static void count_done(const struct store_result *r, void *arg)
{
	if (r->err)
		BUG("bench write failed: %s", store_strerror(r->err));
	(*(int *)arg)++;
}

static int fill_list(uv_loop_t *loop, struct store *s)
{
	char *val = xmalloc(BENCH_LIST_VALUE), key[64];
	int done = 0;

	bench_fill(val, BENCH_LIST_VALUE, 7);
	for (int i = 0; i < BENCH_LIST_KEYS; i++) {
		snprintf(key, sizeof(key), "/bench/list/%05d", i);
		if (store_create(s, key, val, BENCH_LIST_VALUE, count_done, &done))
			BUG("bench create refused");
	}
	while (done < BENCH_LIST_KEYS)
		uv_run(loop, UV_RUN_ONCE);
	free(val);
	return 0;
}

static double get_rate(struct store *s)
{
	uint64_t t0 = mono_ns(), n = 0;
	unsigned seed = 3;
	char key[64];

	while (mono_ns() - t0 < 1000000000ull) {
		for (int i = 0; i < 1000; i++, n++) {
			struct store_kv *kv;
			seed = seed * 1103515245 + 12345;
			snprintf(key, sizeof(key), "/bench/list/%05u",
				 (seed >> 8) % BENCH_LIST_KEYS);
			if (store_get(s, key, 0, &kv))
				BUG("bench get failed");
			store_kv_free(kv);
		}
	}
	return (double)n / ((double)(mono_ns() - t0) / 1e9);
}

static int visit_count(const struct store_kv *kv, void *arg)
{
	(void)kv;
	(*(size_t *)arg)++;
	return 0;
}

/* Median time of store_list (copies every item) and store_list_visit. */
static void list_ms(struct store *s, double *copy, double *visit)
{
	double v[BENCH_LIST_RUNS], w[BENCH_LIST_RUNS];

	for (int i = 0; i < BENCH_LIST_RUNS; i++) {
		struct store_list l = STORE_LIST_INIT;
		size_t n = 0;
		uint64_t t0 = mono_ns();
		if (store_list(s, "/bench/list/", NULL, 0, 0, &l) ||
		    l.nr != BENCH_LIST_KEYS)
			BUG("bench list failed");
		v[i] = (double)(mono_ns() - t0) / 1e6;
		store_list_release(&l);
		t0 = mono_ns();
		if (store_list_visit(s, "/bench/list/", NULL, 0, 0, visit_count,
				     &n, NULL, NULL) || n != BENCH_LIST_KEYS)
			BUG("bench list visit failed");
		w[i] = (double)(mono_ns() - t0) / 1e6;
	}
	*copy = bench_median(v, BENCH_LIST_RUNS);
	*visit = bench_median(w, BENCH_LIST_RUNS);
}

/* ---- watch delivery ---- */

#define WATCH_EVENTS 200

struct wbench {
	struct store *s;
	uint64_t t_submit, t_commit;
	int64_t rev;
	int sent, delivered;
	double *lat, *e2e;
	size_t nlat;
};

static void watch_ev(struct store_watch *w, const struct store_event *ev,
		     void *arg)
{
	struct wbench *b = arg;
	uint64_t now = mono_ns();

	(void)w;
	if (ev->rev != b->rev)
		BUG("watch event %lld, expected %lld", (long long)ev->rev,
		    (long long)b->rev);
	b->lat[b->nlat] = (double)(now - b->t_commit) / 1e6;
	b->e2e[b->nlat++] = (double)(now - b->t_submit) / 1e6;
	b->delivered++;
}

static void watch_put(struct wbench *b);

static void watch_put_done(const struct store_result *r, void *arg)
{
	struct wbench *b = arg;

	if (r->err)
		BUG("bench watch put failed");
	b->t_commit = mono_ns();
	b->rev = r->rev;
}

static void watch_put(struct wbench *b)
{
	char val[BENCH_VALUE];

	bench_fill(val, sizeof(val), (unsigned)b->sent);
	b->t_submit = mono_ns();
	b->sent++;
	if (store_update(b->s, "/bench/watch/k", val, sizeof(val), 0,
			 watch_put_done, b))
		BUG("bench watch put refused");
}

static void watch_lat(uv_loop_t *loop, struct store *s, int nw, double *p50,
		      double *p99, double *e2e99)
{
	struct store_watch **w = xcalloc((size_t)nw, sizeof(*w));
	struct wbench b = { .s = s };

	b.lat = xcalloc((size_t)nw * WATCH_EVENTS, sizeof(double));
	b.e2e = xcalloc((size_t)nw * WATCH_EVENTS, sizeof(double));
	for (int i = 0; i < nw; i++)
		if (store_watch(s, "/bench/watch/", 0, watch_ev, NULL, &b, &w[i]))
			BUG("bench watch failed");
	for (int e = 0; e < WATCH_EVENTS; e++) {
		watch_put(&b);
		while (b.delivered < (e + 1) * nw)
			uv_run(loop, UV_RUN_ONCE);
	}
	*p50 = bench_quantile(b.lat, b.nlat, 0.5);
	*p99 = bench_quantile(b.lat, b.nlat, 0.99);
	*e2e99 = bench_quantile(b.e2e, b.nlat, 0.99);
	for (int i = 0; i < nw; i++)
		store_watch_free(w[i]);
	free(w);
	free(b.lat);
	free(b.e2e);
}

int bench_k1s(const char *dir, struct bench_results *r)
{
	uv_loop_t loop;
	struct store_options o;
	struct store *s;
	char *msg = NULL, *path = xasprintf("%s/server/db/state.db", dir);
	int ret;

	uv_loop_init(&loop);
	store_options_init(&o);
	o.path = path;
	if ((ret = store_open(&loop, &o, &s, &msg))) {
		fprintf(stderr, "bench-store: %s\n", msg);
		free(msg);
		free(path);
		return ret;
	}
	for (int i = 0; i < BENCH_NWRITERS; i++)
		r->put_rate[i] = put_rate(&loop, s, bench_writers[i]);
	fill_list(&loop, s);
	r->get_rate = get_rate(s);
	list_ms(s, &r->list_ms, &r->list_visit_ms);
	if ((ret = store_create_sync(s, "/bench/watch/k", "v", 1, NULL)))
		BUG("bench create failed");
	watch_lat(&loop, s, 100, &r->watch_p50[0], &r->watch_p99[0],
		  &r->watch_e2e_p99[0]);
	watch_lat(&loop, s, 1000, &r->watch_p50[1], &r->watch_p99[1],
		  &r->watch_e2e_p99[1]);
	store_close_sync(s);
	uv_loop_close(&loop);
	free(path);
	r->ok = 1;
	return 0;
}
