/*
 * tests/unit/store_test.h - helpers shared by the store's unit tests
 * (store_test.c: operations, lists, watches; store_durability_test.c:
 * compaction, size bound, corruption, crashes). Each test's database is
 * test_tmpdir()/server/db/state.db.
 */
#ifndef K1S_TESTS_STORE_TEST_H
#define K1S_TESTS_STORE_TEST_H

#include "test.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include "lib/util.h"
#include "store/store.h"

static K1S_UNUSED char *db_path(void)
{
	return xasprintf("%s/server/db/state.db", test_tmpdir());
}

static K1S_UNUSED struct store *open_with(uv_loop_t *loop, struct store_options *o)
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

static K1S_UNUSED struct store *open_default(uv_loop_t *loop)
{
	struct store_options o;

	store_options_init(&o);
	return open_with(loop, &o);
}

static K1S_UNUSED void value_is(const struct store_kv *kv, const char *v)
{
	ASSERT_NOT_NULL(kv);
	ASSERT_EQ(kv->value_len, strlen(v));
	ASSERT_STR_EQ(kv->value, v);
}

struct res {
	int n;
	int err[16];
	int64_t rev[16];
	char prev[16][16];
};

static K1S_UNUSED void res_cb(const struct store_result *r, void *arg)
{
	struct res *x = arg;

	x->err[x->n] = r->err;
	x->rev[x->n] = r->rev;
	snprintf(x->prev[x->n], sizeof(x->prev[0]), "%s",
		 r->prev ? r->prev->value : "-");
	x->n++;
}

static K1S_UNUSED void count_cb(const struct store_result *r, void *arg)
{
	if (r->err)
		test_fail(__FILE__, __LINE__, "write failed: %d", r->err);
	(*(int *)arg)++;
}

/* Creates prefix0..prefix<n-1> (numbers zero-padded to width), waits. */
static K1S_UNUSED void put_n(struct store *s, const char *prefix, int width, int n,
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

static K1S_UNUSED void run_until(uv_loop_t *loop, int *n, int want)
{
	uint64_t deadline = mono_ms() + 10000;

	while (*n < want && mono_ms() < deadline)
		uv_run(loop, UV_RUN_NOWAIT);
}

static K1S_UNUSED int64_t db_rows(void)
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

static K1S_UNUSED unsigned file_mode(void)
{
	char *path = db_path();
	struct stat st;
	unsigned mode = 0;

	if (!stat(path, &st))
		mode = st.st_mode & 0777;
	free(path);
	return mode;
}

#endif
