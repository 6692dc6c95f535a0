/*
 * Unit tests of store/: every operation and its edge cases, paginated lists
 * at a revision, watches (from a revision, compacted, slow, paused).
 * Durability, size and corruption tests are in store_durability_test.c.
 */
#include "store_test.h"

TEST(store_crud)
{
	uv_loop_t loop;
	struct store *s;
	struct store_kv *kv, *prev;
	int64_t r1, r2, r3, r4;

	uv_loop_init(&loop);
	s = open_default(&loop);
	ASSERT_EQ(store_rev(s), 0);
	ASSERT_EQ(file_mode(), 0600);	/* secrets live in it */
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

