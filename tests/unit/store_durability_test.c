/*
 * Unit tests of store/ durability: compaction keeps the latest values,
 * the files stay bounded under 100,000 updates, a failed commit or a
 * corrupted file gives clear errors, and kill -9 loses no acknowledged
 * write.
 */
#include "store_test.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- compaction and size ---- */

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

static int64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (int64_t)st.st_size;
}

static void keepalive_cb(uv_timer_t *t)
{
	(void)t;
}

static void no_event(struct store_watch *w, const struct store_event *ev,
		     void *arg)
{
	(void)w; (void)ev; (void)arg;
	test_fail(__FILE__, __LINE__, "unexpected event");
}

/* History older than history_max_age_ms is compacted by the timer. */
TEST(store_compaction_by_age)
{
	uv_loop_t *loop = uv_default_loop();
	struct store_options o;
	struct store *s;
	struct store_watch *w;
	struct store_kv *kv;
	uv_timer_t keep;
	uint64_t deadline;
	char *wal = xasprintf("%s/server/db/state.db-wal", test_tmpdir());

	store_options_init(&o);
	o.history_max_age_ms = 50;
	o.compact_interval_ms = 20;
	s = open_with(loop, &o);
	put_n(s, "/age/", 1, 5, "v");
	ASSERT_EQ(store_compacted_rev(s), 0);
	ASSERT_TRUE(file_size(wal) > 0);
	/* The store's timer does not keep the loop alive: ours does. */
	uv_timer_init(loop, &keep);
	uv_timer_start(&keep, keepalive_cb, 10, 10);
	deadline = mono_ms() + 5000;
	while (store_compacted_rev(s) < 5 && mono_ms() < deadline)
		uv_run(loop, UV_RUN_ONCE);
	ASSERT_EQ(store_compacted_rev(s), 5);
	ASSERT_EQ(store_watch(s, "/age/", 4, no_event, NULL, NULL, &w), STORE_ECOMPACTED);
	ASSERT_EQ(store_get(s, "/age/0", 4, &kv), STORE_ECOMPACTED);
	ASSERT_OK(store_get(s, "/age/0", 0, &kv));	/* latest values stay */
	value_is(kv, "v");
	store_kv_free(kv);
	/* The periodic maintenance truncates the WAL. */
	while (file_size(wal) > 0 && mono_ms() < deadline)
		uv_run(loop, UV_RUN_ONCE);
	ASSERT_EQ(file_size(wal), 0);
	free(wal);
	uv_close((uv_handle_t *)&keep, NULL);
	store_close_sync(s);
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
