/*
 * Unit tests of store/: every operation and edge case, durability across
 * kill -9, bounded size under updates, corrupted databases.
 */
#include "test.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "store/store.h"

static char *db_path(void)
{
	return xasprintf("%s/server/db/state.db", test_tmpdir());
}

static struct store *open_with(uv_loop_t *loop, struct store_options *o)
{
	struct store *s = NULL;
	char *msg = NULL, *path = db_path();
	int ret;

	o->path = path;
	ret = store_open(loop, o, &s, &msg);
	if (ret)
		test_fail(__FILE__, __LINE__, "store_open: %d %s", ret, msg);
	free(path);
	return s;
}

static struct store *open_default(uv_loop_t *loop)
{
	struct store_options o;

	store_options_init(&o);
	return open_with(loop, &o);
}

static void value_is(const struct store_kv *kv, const char *v)
{
	ASSERT_NOT_NULL(kv);
	ASSERT_EQ(kv->value_len, strlen(v));
	ASSERT_STR_EQ(kv->value, v);
}

TEST(store_crud)
{
	uv_loop_t loop;
	struct store *s;
	struct store_kv *kv, *prev;
	int64_t r1, r2, r3, r4;

	uv_loop_init(&loop);
	s = open_default(&loop);
	ASSERT_EQ(store_rev(s), 0);
	ASSERT_OK(store_create_sync(s, "/a", "one", 3, &r1));
	ASSERT_EQ(r1, 1);
	ASSERT_EQ(store_create_sync(s, "/a", "x", 1, &r2), -EEXIST);
	ASSERT_EQ(r2, r1);		/* current mod_rev */
	ASSERT_OK(store_get(s, "/a", 0, &kv));
	value_is(kv, "one");
	ASSERT_EQ(kv->create_rev, 1);
	ASSERT_EQ(kv->mod_rev, 1);
	store_kv_free(kv);

	ASSERT_OK(store_update_sync(s, "/a", "two", 3, r1, &r2, &prev));
	ASSERT_EQ(r2, 2);
	value_is(prev, "one");
	ASSERT_EQ(prev->mod_rev, 1);
	store_kv_free(prev);
	ASSERT_EQ(store_update_sync(s, "/a", "3", 1, r1, &r3, NULL),
		  STORE_ECONFLICT);
	ASSERT_EQ(r3, r2);
	ASSERT_OK(store_update_sync(s, "/a", "three", 5, 0, &r3, NULL));
	ASSERT_EQ(store_update_sync(s, "/missing", "x", 1, 0, &r4, NULL), -ENOENT);
	ASSERT_EQ(store_delete_sync(s, "/missing", 0, NULL, NULL), -ENOENT);
	ASSERT_EQ(store_delete_sync(s, "/a", r2, NULL, NULL), STORE_ECONFLICT);

	ASSERT_OK(store_get(s, "/a", 0, &kv));
	value_is(kv, "three");
	ASSERT_EQ(kv->create_rev, 1);
	ASSERT_EQ(kv->mod_rev, r3);
	store_kv_free(kv);
	/* Old revisions are still readable. */
	ASSERT_OK(store_get(s, "/a", r1, &kv));
	value_is(kv, "one");
	store_kv_free(kv);

	ASSERT_OK(store_delete_sync(s, "/a", r3, &r4, &prev));
	ASSERT_EQ(r4, r3 + 1);
	value_is(prev, "three");
	store_kv_free(prev);
	ASSERT_EQ(store_get(s, "/a", 0, &kv), -ENOENT);
	ASSERT_NULL(kv);
	ASSERT_EQ(store_get(s, "/a", r4 + 5, &kv), -ERANGE);
	/* Re-create: a new create_rev. */
	ASSERT_OK(store_create_sync(s, "/a", "", 0, &r1));
	ASSERT_OK(store_get(s, "/a", 0, &kv));
	value_is(kv, "");
	ASSERT_EQ(kv->create_rev, r1);
	store_kv_free(kv);
	ASSERT_EQ(store_rev(s), r1);
	store_close_sync(s);
	ASSERT_OK(uv_loop_close(&loop));
}

static void never_cb(const struct store_result *r, void *arg)
{
	(void)r; (void)arg;
	test_fail(__FILE__, __LINE__, "callback of a refused write fired");
}

static void never_ev(struct store_watch *w, const struct store_event *ev,
		     void *arg)
{
	(void)w; (void)ev; (void)arg;
	test_fail(__FILE__, __LINE__, "event on a refused watch");
}

TEST(store_bad_input)
{
	static const char *const bad[] = {
		"", "a", "noslash/x", "/tab\there", "/nl\n", "/del\x7f",
		"/utf8-\xc3\xa9",
	};
	uv_loop_t loop;
	struct store *s;
	struct store_kv *kv;
	struct store_list l = STORE_LIST_INIT;
	struct store_watch *w;
	char *big, *longkey;

	uv_loop_init(&loop);
	s = open_default(&loop);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(store_create(s, bad[i], "v", 1, never_cb, NULL), -EINVAL);
		ASSERT_EQ(store_update(s, bad[i], "v", 1, 0, never_cb, NULL), -EINVAL);
		ASSERT_EQ(store_delete(s, bad[i], 0, never_cb, NULL), -EINVAL);
		ASSERT_EQ(store_get(s, bad[i], 0, &kv), -EINVAL);
		ASSERT_EQ(store_list(s, bad[i], NULL, 0, 0, &l), -EINVAL);
	}
	longkey = xmalloc(STORE_KEY_MAX + 2);
	memset(longkey, 'k', STORE_KEY_MAX + 1);
	longkey[0] = '/';
	longkey[STORE_KEY_MAX + 1] = 0;
	ASSERT_EQ(store_create(s, longkey, "v", 1, never_cb, NULL), -EINVAL);
	longkey[STORE_KEY_MAX] = 0;	/* exactly the limit is fine */
	ASSERT_OK(store_create_sync(s, longkey, "v", 1, NULL));
	free(longkey);

	big = xcalloc(1, STORE_VALUE_MAX + 1);
	ASSERT_EQ(store_create(s, "/big", big, STORE_VALUE_MAX + 1, never_cb,
			       NULL), -EFBIG);
	ASSERT_OK(store_create_sync(s, "/big", big, STORE_VALUE_MAX, NULL));
	ASSERT_OK(store_get(s, "/big", 0, &kv));
	ASSERT_EQ(kv->value_len, STORE_VALUE_MAX);
	store_kv_free(kv);
	ASSERT_EQ(store_update(s, "/big", big, STORE_VALUE_MAX + 1, 0, never_cb,
			       NULL), -EFBIG);
	free(big);
	ASSERT_EQ(store_update(s, "/big", "x", 1, -1, never_cb, NULL), -EINVAL);
	ASSERT_EQ(store_watch(s, "nope", 0, never_ev, NULL, NULL, &w), -EINVAL);
	ASSERT_STR_EQ(store_strerror(STORE_ECONFLICT), "revision conflict");
	ASSERT_STR_EQ(store_strerror(STORE_ECOMPACTED), "revision compacted");
	store_close_sync(s);
	uv_loop_close(&loop);
}

/* ---- async writes within one loop turn ---- */

struct res {
	int n;
	int err[16];
	int64_t rev[16];
	char prev[16][16];
};

static void res_cb(const struct store_result *r, void *arg)
{
	struct res *x = arg;

	x->err[x->n] = r->err;
	x->rev[x->n] = r->rev;
	snprintf(x->prev[x->n], sizeof(x->prev[0]), "%s",
		 r->prev ? r->prev->value : "-");
	x->n++;
}

TEST(store_group_commit_cas)
{
	uv_loop_t loop;
	struct store *s;
	struct res x = { 0 };
	struct store_kv *kv;

	uv_loop_init(&loop);
	s = open_default(&loop);
	/* All in one loop turn: later writes see the earlier pending ones. */
	ASSERT_OK(store_create(s, "/k", "v1", 2, res_cb, &x));
	ASSERT_OK(store_create(s, "/k", "dup", 3, res_cb, &x));
	ASSERT_OK(store_update(s, "/k", "v2", 2, 1, res_cb, &x));
	ASSERT_OK(store_update(s, "/k", "stale", 5, 1, res_cb, &x));
	ASSERT_OK(store_delete(s, "/k", 2, res_cb, &x));
	ASSERT_OK(store_update(s, "/k", "gone", 4, 0, res_cb, &x));
	ASSERT_OK(store_create(s, "/k", "v3", 2, res_cb, &x));
	ASSERT_EQ(x.n, 0);		/* never from inside the call */
	ASSERT_EQ(store_get(s, "/k", 0, &kv), -ENOENT); /* not committed */
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_EQ(x.n, 7);
	/* Successes come in commit order, refusals after them. */
	ASSERT_EQ(x.err[0], 0); ASSERT_EQ(x.rev[0], 1); ASSERT_STR_EQ(x.prev[0], "-");
	ASSERT_EQ(x.err[1], 0); ASSERT_EQ(x.rev[1], 2); ASSERT_STR_EQ(x.prev[1], "v1");
	ASSERT_EQ(x.err[2], 0); ASSERT_EQ(x.rev[2], 3); ASSERT_STR_EQ(x.prev[2], "v2");
	ASSERT_EQ(x.err[3], 0); ASSERT_EQ(x.rev[3], 4); ASSERT_STR_EQ(x.prev[3], "-");
	ASSERT_EQ(x.err[4], -EEXIST); ASSERT_EQ(x.rev[4], 1);
	ASSERT_EQ(x.err[5], STORE_ECONFLICT); ASSERT_EQ(x.rev[5], 2);
	ASSERT_EQ(x.err[6], -ENOENT);
	ASSERT_OK(store_get(s, "/k", 0, &kv));
	value_is(kv, "v3");
	ASSERT_EQ(kv->create_rev, 4);
	store_kv_free(kv);
	ASSERT_EQ(store_rev(s), 4);
	store_close_sync(s);
	uv_loop_close(&loop);
}

static void count_cb(const struct store_result *r, void *arg)
{
	if (r->err)
		test_fail(__FILE__, __LINE__, "write failed: %d", r->err);
	(*(int *)arg)++;
}

TEST(store_close_with_pending_writes)
{
	uv_loop_t loop;
	struct store *s;
	struct store_kv *kv;
	int done = 0;
	char key[32];

	uv_loop_init(&loop);
	s = open_default(&loop);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "/p/%03d", i);
		ASSERT_OK(store_create(s, key, "v", 1, count_cb, &done));
	}
	store_close_sync(s);		/* accepted writes still commit */
	ASSERT_EQ(done, 100);
	s = open_default(&loop);
	ASSERT_EQ(store_rev(s), 100);
	ASSERT_OK(store_get(s, "/p/099", 0, &kv));
	store_kv_free(kv);
	store_close_sync(s);
	ASSERT_OK(uv_loop_close(&loop));
}

/* ---- lists ---- */

/* Creates prefix0..prefix<n-1> (numbers zero-padded to width), waits. */
static void put_n(struct store *s, const char *prefix, int width, int n,
		  const char *val)
{
	char key[64];
	int done = 0;

	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%0*d", prefix, width, i);
		ASSERT_OK(store_create(s, key, val, strlen(val), count_cb, &done));
	}
	while (done < n)
		uv_run(uv_default_loop(), UV_RUN_ONCE);
}

TEST(store_list_snapshot_pagination)
{
	uv_loop_t *loop = uv_default_loop();
	struct store *s = open_default(loop);
	struct store_list l = STORE_LIST_INIT;
	char after[64] = "", key[64];
	int64_t snap, n;
	int seen = 0, pages = 0;

	put_n(s, "/reg/pods/", 3, 100, "orig");
	put_n(s, "/reg/podsX/", 3, 5, "other");
	put_n(s, "/reg/poa/", 3, 5, "other");
	snap = store_rev(s);
	ASSERT_OK(store_count(s, "/reg/pods/", &n));
	ASSERT_EQ(n, 100);
	do {
		ASSERT_OK(store_list(s, "/reg/pods/", after, 7, snap, &l));
		ASSERT_EQ(l.rev, snap);
		for (size_t i = 0; i < l.nr; i++, seen++) {
			snprintf(key, sizeof(key), "/reg/pods/%03d", seen);
			ASSERT_STR_EQ(l.items[i].key, key);
			value_is(&l.items[i], "orig");
		}
		ASSERT_TRUE(l.nr == 7 || !l.more);
		if (l.nr)
			snprintf(after, sizeof(after), "%s", l.items[l.nr - 1].key);
		/* Writes between pages must not show in the snapshot. */
		snprintf(key, sizeof(key), "/reg/pods/%03d", pages * 7 + 50);
		if (pages * 7 + 50 < 100) {
			ASSERT_OK(store_update_sync(s, key, "new", 3, 0, NULL, NULL));
			snprintf(key, sizeof(key), "/reg/pods/%03d", pages);
			ASSERT_OK(store_delete_sync(s, key, 0, NULL, NULL));
			snprintf(key, sizeof(key), "/reg/pods/%03d-new", 90);
			if (!pages)
				ASSERT_OK(store_create_sync(s, key, "n", 1, NULL));
		}
		pages++;
		store_list_release(&l);
	} while (seen < 100 && pages < 50);
	ASSERT_EQ(seen, 100);
	ASSERT_EQ(pages, 15);

	/* The current state shows the writes. */
	ASSERT_OK(store_list(s, "/reg/pods/", NULL, 0, 0, &l));
	ASSERT_EQ(l.rev, store_rev(s));
	ASSERT_FALSE(l.more);
	ASSERT_OK(store_count(s, "/reg/pods/", &n));
	ASSERT_EQ((int64_t)l.nr, n);
	ASSERT_STR_EQ(l.items[0].key, "/reg/pods/008");	/* 0..7 deleted */
	ASSERT_EQ(l.nr, 100 - 8 + 1);
	store_list_release(&l);
	/* limit exactly at the end: more is false. */
	ASSERT_OK(store_list(s, "/reg/poa/", NULL, 5, 0, &l));
	ASSERT_EQ(l.nr, 5);
	ASSERT_FALSE(l.more);
	store_list_release(&l);
	ASSERT_OK(store_list(s, "/", NULL, 0, 0, &l));
	ASSERT_EQ(l.nr, 93 + 10);
	store_list_release(&l);
	ASSERT_EQ(store_list(s, "/", NULL, 0, store_rev(s) + 1, &l), -ERANGE);
	store_close_sync(s);
}

static int visit_stop3(const struct store_kv *kv, void *arg)
{
	int *n = arg;

	if (kv->value_len != 1 || kv->mod_rev < kv->create_rev)
		return -EBADMSG;
	return ++*n == 3 ? 7 : 0;
}

TEST(store_list_visit)
{
	uv_loop_t *loop = uv_default_loop();
	struct store *s = open_default(loop);
	int64_t rev;
	bool more;
	int n = 0;

	put_n(s, "/v/", 2, 10, "x");
	ASSERT_EQ(store_list_visit(s, "/v/", NULL, 0, 0, visit_stop3, &n, &rev,
				   &more), 7);
	ASSERT_EQ(n, 3);
	ASSERT_EQ(rev, 10);
	n = -100;
	ASSERT_OK(store_list_visit(s, "/v/", "/v/07", 0, 0, visit_stop3, &n,
				   NULL, &more));
	ASSERT_EQ(n, -98);		/* /v/08 and /v/09 */
	ASSERT_FALSE(more);
	n = -100;
	ASSERT_OK(store_list_visit(s, "/v/", NULL, 2, 5, visit_stop3, &n, &rev,
				   &more));
	ASSERT_EQ(n, -98);
	ASSERT_TRUE(more);
	ASSERT_EQ(rev, 5);
	store_close_sync(s);
}

/* ---- watches ---- */

struct evlog {
	int n, errs, err;
	int64_t rev[256];
	int type[256];
	char key[256][24], val[256][16], prev[256][16];
	bool pause_each, free_self;
};

static void ev_cb(struct store_watch *w, const struct store_event *ev, void *arg)
{
	struct evlog *x = arg;

	if (x->n >= 256)
		test_fail(__FILE__, __LINE__, "too many events");
	x->rev[x->n] = ev->rev;
	x->type[x->n] = ev->type;
	snprintf(x->key[x->n], 24, "%s", ev->kv->key);
	snprintf(x->val[x->n], 16, "%s", ev->kv->value ? ev->kv->value : "-");
	snprintf(x->prev[x->n], 16, "%s", ev->prev ? ev->prev->value : "-");
	if (ev->prev && ev->prev->mod_rev >= ev->rev)
		test_fail(__FILE__, __LINE__, "prev mod_rev not older");
	x->n++;
	if (x->pause_each)
		store_watch_pause(w);
	if (x->free_self)
		store_watch_free(w);
}

static void ev_err(struct store_watch *w, int err, void *arg)
{
	struct evlog *x = arg;

	x->errs++;
	x->err = err;
}

static void run_until(uv_loop_t *loop, int *n, int want)
{
	uint64_t deadline = mono_ms() + 10000;

	while (*n < want && mono_ms() < deadline)
		uv_run(loop, UV_RUN_NOWAIT);
}

TEST(store_watch_events)
{
	uv_loop_t *loop = uv_default_loop();
	struct store *s = open_default(loop);
	struct store_watch *w, *w2;
	struct evlog *x = xcalloc(1, sizeof(*x)), *y = xcalloc(1, sizeof(*y));

	ASSERT_OK(store_create_sync(s, "/w/before", "b", 1, NULL));
	ASSERT_OK(store_watch(s, "/w/", 0, ev_cb, ev_err, x, &w));
	ASSERT_OK(store_watch(s, "/other/", 0, ev_cb, ev_err, y, &w2));
	ASSERT_OK(store_create_sync(s, "/w/a", "1", 1, NULL));
	ASSERT_OK(store_create_sync(s, "/x/a", "no", 2, NULL));
	ASSERT_OK(store_update_sync(s, "/w/a", "2", 1, 0, NULL, NULL));
	ASSERT_OK(store_delete_sync(s, "/w/a", 0, NULL, NULL));
	ASSERT_OK(store_delete_sync(s, "/w/before", 0, NULL, NULL));
	run_until(loop, &x->n, 4);
	ASSERT_EQ(x->n, 4);
	ASSERT_EQ(x->rev[0], 2); ASSERT_EQ(x->type[0], STORE_PUT);
	ASSERT_STR_EQ(x->val[0], "1"); ASSERT_STR_EQ(x->prev[0], "-");
	ASSERT_EQ(x->rev[1], 4); ASSERT_STR_EQ(x->val[1], "2");
	ASSERT_STR_EQ(x->prev[1], "1");
	ASSERT_EQ(x->rev[2], 5); ASSERT_EQ(x->type[2], STORE_DELETE);
	ASSERT_STR_EQ(x->val[2], "-"); ASSERT_STR_EQ(x->prev[2], "2");
	ASSERT_EQ(x->rev[3], 6); ASSERT_STR_EQ(x->key[3], "/w/before");
	ASSERT_STR_EQ(x->prev[3], "b");
	ASSERT_EQ(store_watch_progress(w), 6);
	ASSERT_EQ(y->n, 0);
	store_watch_free(w2);
	/* Closing ends the remaining watch with -ESHUTDOWN. */
	store_close_sync(s);
	ASSERT_EQ(x->errs, 1);
	ASSERT_EQ(x->err, -ESHUTDOWN);
	store_watch_free(w);
	free(x);
	free(y);
}

TEST(store_watch_from_rev_and_reopen)
{
	uv_loop_t *loop = uv_default_loop();
	struct store *s = open_default(loop);
	struct store_watch *w;
	struct evlog *x = xcalloc(1, sizeof(*x));

	put_n(s, "/r/", 2, 10, "v");
	/* Events after revision 6: keys 6..9 (revs 7..10). */
	ASSERT_OK(store_watch(s, "/r/", 6, ev_cb, ev_err, x, &w));
	ASSERT_EQ(x->n, 0);		/* delivered from the loop */
	run_until(loop, &x->n, 4);
	ASSERT_EQ(x->n, 4);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(x->rev[i], 7 + i);
	ASSERT_STR_EQ(x->key[0], "/r/06");
	store_watch_free(w);
	store_close_sync(s);

	/* The history survives a restart: resume from revision 8. */
	s = open_default(loop);
	memset(x, 0, sizeof(*x));
	ASSERT_OK(store_watch(s, "/r/", 8, ev_cb, ev_err, x, &w));
	ASSERT_OK(store_update_sync(s, "/r/00", "new", 3, 1, NULL, NULL));
	run_until(loop, &x->n, 3);
	ASSERT_EQ(x->n, 3);
	ASSERT_EQ(x->rev[0], 9);
	ASSERT_EQ(x->rev[2], 11);
	ASSERT_STR_EQ(x->prev[2], "v");
	/* A watch from the future starts once the store gets there. */
	struct evlog *y = xcalloc(1, sizeof(*y));
	struct store_watch *w2;
	ASSERT_OK(store_watch(s, "/r/", 12, ev_cb, ev_err, y, &w2));
	ASSERT_OK(store_update_sync(s, "/r/00", "a", 1, 0, NULL, NULL));
	ASSERT_OK(store_update_sync(s, "/r/00", "b", 1, 0, NULL, NULL));
	run_until(loop, &y->n, 1);
	ASSERT_EQ(y->n, 1);
	ASSERT_EQ(y->rev[0], 13);
	store_watch_free(w2);
	store_watch_free(w);
	store_close_sync(s);
	free(x);
	free(y);
}

TEST(store_watch_compacted)
{
	uv_loop_t *loop = uv_default_loop();
	struct store_options o;
	struct store *s;
	struct store_watch *w;
	struct store_list l = STORE_LIST_INIT;
	struct store_kv *kv;
	struct evlog *x = xcalloc(1, sizeof(*x));

	store_options_init(&o);
	o.history_max_events = 10;
	s = open_with(loop, &o);
	put_n(s, "/c/", 2, 50, "v");
	ASSERT_EQ(store_rev(s), 50);
	ASSERT_EQ(store_compacted_rev(s), 40);
	ASSERT_EQ(store_watch(s, "/c/", 5, ev_cb, ev_err, x, &w), STORE_ECOMPACTED);
	ASSERT_EQ(store_watch(s, "/c/", 39, ev_cb, ev_err, x, &w), STORE_ECOMPACTED);
	ASSERT_EQ(store_list(s, "/c/", NULL, 0, 5, &l), STORE_ECOMPACTED);
	ASSERT_EQ(store_get(s, "/c/00", 39, &kv), STORE_ECOMPACTED);
	ASSERT_OK(store_list(s, "/c/", NULL, 0, 40, &l));
	ASSERT_EQ(l.nr, 40);
	store_list_release(&l);
	/* since == compacted revision: every later event is still there. */
	ASSERT_OK(store_watch(s, "/c/", 40, ev_cb, ev_err, x, &w));
	run_until(loop, &x->n, 10);
	ASSERT_EQ(x->n, 10);
	ASSERT_EQ(x->rev[0], 41);
	store_watch_free(w);
	store_close_sync(s);
	/* After a restart the horizon is the one compacted in the db. */
	s = open_with(loop, &o);
	ASSERT_EQ(store_rev(s), 50);
	ASSERT_EQ(store_compacted_rev(s), 40);
	ASSERT_EQ(store_watch(s, "/c/", 30, ev_cb, ev_err, x, &w), STORE_ECOMPACTED);
	store_close_sync(s);
	free(x);
}

TEST(store_watch_pause_resume_and_slow_cutoff)
{
	uv_loop_t *loop = uv_default_loop();
	struct store_options o;
	struct store *s;
	struct store_watch *slow, *fast, *pauser;
	struct evlog *a = xcalloc(1, sizeof(*a)), *b = xcalloc(1, sizeof(*b));
	struct evlog *c = xcalloc(1, sizeof(*c));

	store_options_init(&o);
	o.watch_max_backlog = 20;
	s = open_with(loop, &o);
	ASSERT_OK(store_watch(s, "/s/", 0, ev_cb, ev_err, a, &slow));
	ASSERT_OK(store_watch(s, "/s/", 0, ev_cb, ev_err, b, &fast));
	ASSERT_OK(store_watch(s, "/s/", 0, ev_cb, ev_err, c, &pauser));
	c->pause_each = true;
	store_watch_pause(slow);
	put_n(s, "/s/", 2, 10, "v");
	run_until(loop, &b->n, 10);
	ASSERT_EQ(b->n, 10);
	ASSERT_EQ(a->n, 0);
	ASSERT_EQ(c->n, 1);		/* paused itself inside the callback */
	/* Resume delivers the backlog, in order. */
	store_watch_resume(slow);
	ASSERT_EQ(a->n, 0);		/* not from inside resume */
	run_until(loop, &a->n, 10);
	ASSERT_EQ(a->n, 10);
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(a->rev[i], i + 1);
	for (int i = 1; i < 10; i++) {
		store_watch_resume(pauser);
		run_until(loop, &c->n, i + 1);
		ASSERT_EQ(c->n, i + 1);
		ASSERT_EQ(c->rev[i], i + 1);
	}
	/* Paused too long: cut off; writers and the others go on. */
	store_watch_pause(slow);
	put_n(s, "/s/x", 2, 25, "v");
	run_until(loop, &b->n, 35);
	ASSERT_EQ(b->n, 35);
	ASSERT_EQ(b->errs, 0);
	run_until(loop, &a->errs, 1);
	ASSERT_EQ(a->errs, 1);
	ASSERT_EQ(a->err, STORE_ESLOW);
	store_watch_resume(slow);
	uv_run(loop, UV_RUN_NOWAIT);
	ASSERT_EQ(a->n, 10);		/* nothing after the cut */
	store_watch_free(slow);
	store_watch_free(pauser);
	store_watch_free(fast);
	store_close_sync(s);
	free(a); free(b); free(c);
}

TEST(store_watch_free_inside_callback)
{
	uv_loop_t *loop = uv_default_loop();
	struct store *s = open_default(loop);
	struct store_watch *w[3];
	struct evlog *x = xcalloc(3, sizeof(*x));

	for (int i = 0; i < 3; i++)
		ASSERT_OK(store_watch(s, "/f/", 0, ev_cb, ev_err, &x[i], &w[i]));
	x[1].free_self = true;
	put_n(s, "/f/", 0, 3, "v");
	run_until(loop, &x[2].n, 3);
	ASSERT_EQ(x[0].n, 3);
	ASSERT_EQ(x[1].n, 1);
	ASSERT_EQ(x[2].n, 3);
	store_watch_free(w[0]);
	store_watch_free(w[2]);
	store_close_sync(s);
	free(x);
}

/* ---- compaction and size ---- */

static int64_t db_rows(void)
{
	char *path = db_path();
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;

	ASSERT_OK(sqlite3_open(path, &db));
	ASSERT_OK(sqlite3_prepare_v2(db, "SELECT count(*) FROM kv", -1, &st, NULL));
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return n;
}

TEST(store_compaction_keeps_latest)
{
	uv_loop_t *loop = uv_default_loop();
	struct store_options o;
	struct store *s;
	struct store_kv *kv;
	struct store_list l = STORE_LIST_INIT;
	char key[32], val[32];
	int64_t n;
	int done = 0;

	store_options_init(&o);
	o.history_max_events = 10;
	s = open_with(loop, &o);
	for (int round = 0; round < 30; round++) {
		for (int k = 0; k < 20; k++) {
			snprintf(key, sizeof(key), "/k/%02d", k);
			snprintf(val, sizeof(val), "r%d", round);
			if (!round)
				ASSERT_OK(store_create(s, key, val, strlen(val), count_cb, &done));
			else if (round == 29 && k % 2)
				ASSERT_OK(store_delete(s, key, 0, count_cb, &done));
			else
				ASSERT_OK(store_update(s, key, val, strlen(val), 0, count_cb, &done));
		}
		run_until(loop, &done, (round + 1) * 20);
	}
	ASSERT_EQ(done, 600);
	store_close_sync(s);
	s = open_with(loop, &o);
	ASSERT_EQ(store_rev(s), 600);
	ASSERT_EQ(store_compacted_rev(s), 590);
	for (int k = 0; k < 20; k++) {
		snprintf(key, sizeof(key), "/k/%02d", k);
		if (k % 2) {
			ASSERT_EQ(store_get(s, key, 0, &kv), -ENOENT);
			continue;
		}
		ASSERT_OK(store_get(s, key, 0, &kv));
		value_is(kv, "r29");
		ASSERT_EQ(kv->create_rev, k + 1);
		store_kv_free(kv);
	}
	ASSERT_OK(store_count(s, "/k/", &n));
	ASSERT_EQ(n, 10);
	ASSERT_OK(store_list(s, "/k/", NULL, 0, 590, &l));
	ASSERT_EQ(l.nr, 15);		/* at 590 only odd keys < 10 were deleted */
	store_list_release(&l);
	store_close_sync(s);
	/*
	 * Superseded rows and tombstones up to 590 are gone. Left: the live
	 * rows of even keys < 10 (5), the 10 rows after 590, and the 10 rows
	 * those replaced (kept for reads at 590..599).
	 */
	ASSERT_EQ(db_rows(), 25);
}

/* A commit that fails (here: the table vanished under the store) breaks
 * the store: that write and every later one fail with -EIO, cleanly. */
TEST(store_commit_failure_breaks_store)
{
	uv_loop_t *loop = uv_default_loop();
	struct store *s = open_default(loop);
	char *path = db_path();
	struct res x = { 0 };
	sqlite3 *db;

	ASSERT_OK(store_create_sync(s, "/ok", "v", 1, NULL));
	ASSERT_OK(sqlite3_open(path, &db));
	ASSERT_OK(sqlite3_exec(db, "DROP TABLE kv", NULL, NULL, NULL));
	sqlite3_close(db);
	ASSERT_OK(store_create(s, "/a", "v", 1, res_cb, &x));
	ASSERT_OK(store_update(s, "/ok", "w", 1, 0, res_cb, &x));
	uv_run(loop, UV_RUN_DEFAULT);
	ASSERT_EQ(x.n, 2);
	ASSERT_EQ(x.err[0], -EIO);
	ASSERT_EQ(x.err[1], -EIO);
	ASSERT_EQ(store_create_sync(s, "/b", "v", 1, NULL), -EIO);
	ASSERT_EQ(store_rev(s), 1);
	store_close_sync(s);
	free(path);
}

static int64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (int64_t)st.st_size;
}

/*
 * The bound: 100,000 updates of one key with a 200-byte value (20 MB of
 * writes) keep state.db + state.db-wal under 8 MiB with the default options
 * (10,000 events of history): the files hold O(history), not O(writes).
 */
#define SIZE_UPDATES 100000
#define SIZE_BOUND (8 << 20)

TEST(store_size_bounded)
{
	uv_loop_t *loop = uv_default_loop();
	struct store *s = open_default(loop);
	char *path = db_path(), *wal = xasprintf("%s-wal", path);
	char val[200];
	int64_t max = 0, rows;
	int done = 0;

	memset(val, 'x', sizeof(val));
	ASSERT_OK(store_create_sync(s, "/one", val, sizeof(val), NULL));
	for (int i = 0; i < SIZE_UPDATES; i += 2000) {
		for (int j = 0; j < 2000; j++) {
			val[j % 200] = (char)('a' + (i + j) % 26);
			ASSERT_OK(store_update(s, "/one", val, sizeof(val), 0,
					       count_cb, &done));
		}
		run_until(loop, &done, i + 2000);
		ASSERT_EQ(done, i + 2000);
		int64_t sz = file_size(path) + file_size(wal);
		if (sz > max)
			max = sz;
	}
	ASSERT_EQ(store_rev(s), SIZE_UPDATES + 1);
	printf("    max state.db+wal: %.2f MiB (bound %d MiB)\n",
	       (double)max / (1 << 20), SIZE_BOUND >> 20);
	ASSERT_LT(max, SIZE_BOUND);
	store_close_sync(s);
	rows = db_rows();
	ASSERT_LE(rows, 10001 + 4096 * 3);
	free(path);
	free(wal);
}

TEST(store_corrupt_db)
{
	uv_loop_t *loop = uv_default_loop();
	struct store_options o;
	struct store *s = NULL;
	char *path = db_path(), *msg = NULL, garbage[8192];
	char *dir = xasprintf("%s/server/db", test_tmpdir());

	ASSERT_OK(mkdir_p(dir, 0700));
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 7 + 3);
	ASSERT_OK(write_file_atomic(path, garbage, sizeof(garbage), 0600));
	store_options_init(&o);
	o.path = path;
	ASSERT_EQ(store_open(loop, &o, &s, &msg), -EIO);
	ASSERT_NULL(s);
	ASSERT_NOT_NULL(msg);
	ASSERT_TRUE(strstr(msg, "state.db") != NULL);
	ASSERT_TRUE(strstr(msg, "not a database") != NULL);
	free(msg);

	/* A real database with a damaged page past the header. */
	unlink(path);
	s = open_with(loop, &o);
	o.path = path;
	put_n(s, "/big/", 4, 2000, "some value that fills a few pages of the db");
	store_close_sync(s);
	int fd = open(path, O_WRONLY);
	ASSERT_TRUE(fd >= 0);
	ASSERT_TRUE(file_size(path) > 4 * 4096);
	ASSERT_EQ(pwrite(fd, garbage, 4096 * 2, 4096 * 2), 4096 * 2);
	close(fd);
	msg = NULL;
	o.path = path;
	ASSERT_EQ(store_open(loop, &o, &s, &msg), -EIO);
	ASSERT_NOT_NULL(msg);
	ASSERT_TRUE(strstr(msg, "cannot open") != NULL);
	free(msg);

	/* Unreadable: the path is a directory. */
	unlink(path);
	ASSERT_OK(mkdir_p(path, 0700));
	msg = NULL;
	ASSERT_TRUE(store_open(loop, &o, &s, &msg) < 0);
	ASSERT_NOT_NULL(msg);
	free(msg);
	free(path);
	free(dir);
}

/* ---- durability across kill -9 ----
 *
 * A child writes continuously (16 writes in flight) to CRASH_SLOTS keys,
 * slot n % CRASH_SLOTS for its n-th write, and reports each acknowledged
 * write (round, n, revision) through a pipe. The parent kills it with
 * SIGKILL at a random moment, reopens the store and checks, for every slot,
 * that the last acknowledged write is there (or a later write of the same
 * slot, committed but killed before its ack could be reported).
 */

#define CRASH_ROUNDS 20
#define CRASH_SLOTS 1000

struct ack {
	uint32_t round, n;
	int64_t rev;
};

struct crash_writer {
	struct store *s;
	int fd;
	uint32_t round, next;
	bool exists[CRASH_SLOTS];
};

struct crash_op {
	struct crash_writer *c;
	uint32_t n;
};

static void crash_key(char *buf, size_t len, uint32_t n)
{
	snprintf(buf, len, "/crash/%03u", n % CRASH_SLOTS);
}

static void crash_val(char *buf, size_t len, uint32_t round, uint32_t n)
{
	snprintf(buf, len, "value-%u-%u-%0*d", round, n, (int)(n % 300), 0);
}

static void crash_put(struct crash_writer *c);

/* Reports the acknowledged write through the pipe, then writes the next. */
static void crash_op_cb(const struct store_result *r, void *arg)
{
	struct crash_op *op = arg;
	struct crash_writer *c = op->c;
	struct ack a = { c->round, op->n, r->rev };

	if (r->err || write_all(c->fd, &a, sizeof(a)))
		_exit(3);
	free(op);
	crash_put(c);
}

static void crash_put(struct crash_writer *c)
{
	struct crash_op *op = xmalloc(sizeof(*op));
	uint32_t slot = c->next % CRASH_SLOTS;
	char key[64], val[400];
	int ret;

	op->c = c;
	op->n = c->next++;
	crash_key(key, sizeof(key), op->n);
	crash_val(val, sizeof(val), c->round, op->n);
	if (c->exists[slot])
		ret = store_update(c->s, key, val, strlen(val), 0, crash_op_cb, op);
	else
		ret = store_create(c->s, key, val, strlen(val), crash_op_cb, op);
	c->exists[slot] = true;
	if (ret)
		_exit(4);
}

static void crash_child(uint32_t round, int fd)
{
	uv_loop_t loop;
	struct store_options o;
	struct crash_writer *c = xcalloc(1, sizeof(*c));
	struct store_kv *kv;
	char key[64];

	uv_loop_init(&loop);
	store_options_init(&o);
	o.history_max_events = 500;	/* compaction runs too */
	c->s = open_with(&loop, &o);
	c->fd = fd;
	c->round = round;
	for (uint32_t i = 0; i < CRASH_SLOTS; i++) {
		crash_key(key, sizeof(key), i);
		c->exists[i] = !store_get(c->s, key, 0, &kv);
		store_kv_free(kv);
	}
	for (int i = 0; i < 16; i++)
		crash_put(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	_exit(5);
}

/*
 * Reads one chunk of acks (waiting up to timeout_ms), or with drain all of
 * them up to end of file. Keeps the last ack per slot.
 */
static size_t read_acks(int fd, struct ack *last, int timeout_ms, bool drain)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct ack a[256];
	size_t got = 0;

	while (poll(&p, 1, timeout_ms) > 0) {
		ssize_t r = read(fd, a, sizeof(a));
		if (r <= 0)
			break;
		if (r % sizeof(a[0]))
			test_fail(__FILE__, __LINE__, "torn ack read");
		for (size_t i = 0; i < (size_t)r / sizeof(a[0]); i++) {
			struct ack *l = &last[a[i].n % CRASH_SLOTS];
			if (a[i].rev <= l->rev)
				test_fail(__FILE__, __LINE__, "acks out of order");
			*l = a[i];
		}
		got += (size_t)r / sizeof(a[0]);
		if (!drain)
			break;
	}
	return got;
}

static void crash_verify(uint32_t round, const struct ack *last)
{
	uv_loop_t loop;
	struct store_options o;
	struct store *s;
	int64_t maxrev = 0;

	uv_loop_init(&loop);
	store_options_init(&o);
	o.history_max_events = 500;
	s = open_with(&loop, &o);
	for (uint32_t i = 0; i < CRASH_SLOTS; i++) {
		const struct ack *a = &last[i];
		struct store_kv *kv;
		char key[64], val[400];
		unsigned r2, n2;

		if (!a->rev)
			continue;
		crash_key(key, sizeof(key), a->n);
		crash_val(val, sizeof(val), a->round, a->n);
		if (store_get(s, key, 0, &kv))
			test_fail(__FILE__, __LINE__, "round %u: acked '%s' lost",
				  round, key);
		ASSERT_TRUE(kv->mod_rev >= a->rev);
		if (kv->mod_rev == a->rev) {
			value_is(kv, val);
		} else {	/* a later write of the slot, not yet reported */
			ASSERT_EQ(sscanf(kv->value, "value-%u-%u-", &r2, &n2), 2);
			ASSERT_TRUE(r2 > a->round || (r2 == a->round && n2 > a->n));
			ASSERT_EQ(n2 % CRASH_SLOTS, i);
		}
		if (a->rev > maxrev)
			maxrev = a->rev;
		store_kv_free(kv);
	}
	ASSERT_TRUE(store_rev(s) >= maxrev);
	store_close_sync(s);
	ASSERT_OK(uv_loop_close(&loop));
}

TEST(store_crash_durability)
{
	struct ack *last = xcalloc(CRASH_SLOTS, sizeof(*last));
	uint32_t seed = (uint32_t)getpid();
	size_t total = 0;

	for (uint32_t round = 0; round < CRASH_ROUNDS; round++) {
		int pfd[2], status;
		pid_t pid;
		uint64_t deadline;
		size_t got;

		ASSERT_OK(pipe(pfd));
		fflush(NULL);
		pid = fork();
		ASSERT_TRUE(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			crash_child(round, pfd[1]);
		}
		close(pfd[1]);
		/* Kill at a random moment once the writes are flowing. */
		got = read_acks(pfd[0], last, 5000, false);
		seed = seed * 1103515245 + 12345;
		deadline = mono_ms() + 10 + (seed >> 8) % 200;
		while (mono_ms() < deadline)
			got += read_acks(pfd[0], last, 1, false);
		kill(pid, SIGKILL);
		ASSERT_EQ(waitpid(pid, &status, 0), pid);
		ASSERT_TRUE(WIFSIGNALED(status));
		got += read_acks(pfd[0], last, 1000, true);
		close(pfd[0]);
		if (!got)
			test_fail(__FILE__, __LINE__, "round %u: no write acknowledged",
				  round);
		total += got;
		crash_verify(round, last);
	}
	printf("    %zu acknowledged writes, %d kills, all present\n", total,
	       CRASH_ROUNDS);
	free(last);
}
