/*
 * store/sqlite.h - internals of the SQLite backend (not public).
 *
 * Schema (one log of writes, kine-like):
 *   kv(rev INTEGER PRIMARY KEY, key TEXT, deleted INTEGER, create_rev,
 *      prev_rev, value BLOB), index kv_key(key, rev)
 *   meta(name TEXT PRIMARY KEY, value INTEGER): 'schema' = 1,
 *      'compact_rev' = revision the history was compacted to.
 * Every write inserts one row. The state of key K at revision R is K's row
 * with the greatest rev <= R (absent if that row is a tombstone). prev_rev
 * chains a row to the row it replaced (0 for a create), so compacting the
 * revisions (lo, hi] deletes exactly the rows whose prev_rev is a row in
 * that range, plus the tombstones in it.
 *
 * Connections: `rdb` serves reads on the loop thread; `wdb` is used only by
 * the one job (commit or compaction) in flight on the libuv thread pool, so
 * the two never share a connection. SQLite's WAL gives readers a consistent
 * snapshot and every read also filters on rev <= R.
 *
 * Write path: a write is checked against `idx` (key -> create_rev,
 * mod_rev, including accepted but uncommitted writes), gets the next
 * revision and joins `pend`, the accepted writes in revision order. The
 * loop's prepare hook starts a commit job with everything pending when no
 * job is in flight (group commit); when a job completes the next starts at
 * once. Refused writes (CAS) wait in `fails` until the writes accepted
 * before them are committed.
 */
#ifndef K1S_STORE_SQLITE_H
#define K1S_STORE_SQLITE_H

#include <sqlite3.h>

#include "backend.h"

struct store__ient {
	struct store__ient *next;
	uint64_t hash;
	int64_t create_rev, mod_rev;
	char key[];
};

struct store__index {
	struct store__ient **b;
	size_t nb;			/* buckets, power of two */
	size_t n;			/* entries */
};

struct store__ient *store__index_get(struct store__index *x, const char *key);
/* Inserts key or updates its revisions. Returns the entry. */
struct store__ient *store__index_put(struct store__index *x, const char *key,
				     int64_t create_rev, int64_t mod_rev);
void store__index_del(struct store__index *x, const char *key);
void store__index_release(struct store__index *x);

struct sq_op {
	struct store__event ev;		/* rev, key, value, prev ... */
	store_write_cb *cb;
	void *arg;
	bool read_prev;			/* job reads ev.prev from the db */
	int err;			/* refused: the error */
	int64_t err_rev;		/* refused: current mod_rev */
	int64_t after_rev;		/* refused: report once rev >= this */
	struct sq_op *next;		/* in the fails list */
};

enum sq_job { SQ_IDLE, SQ_COMMIT, SQ_COMPACT };

enum {
	RD_GET, RD_LIST, RD_COUNT, RD_NR
};
enum {
	WR_INSERT, WR_PREV, WR_BEGIN, WR_COMMIT, WR_ROLLBACK, WR_CMP_SUPER,
	WR_CMP_TOMB, WR_CMP_META, WR_NR
};

struct sq {
	struct store base;		/* first */
	sqlite3 *rdb, *wdb;
	sqlite3_stmt *rd[RD_NR], *wr[WR_NR];
	struct store__index idx;
	int64_t next_rev;		/* last revision handed out */
	struct sq_op **pend;		/* revisions base.rev+1 .. next_rev */
	size_t npend, apend;
	struct sq_op *fails, **fails_tail;
	int broken;			/* first commit error, sticks */

	/* The job in flight. */
	uv_work_t work;
	enum sq_job job;
	struct sq_op **batch;		/* copy of pend[0..nbatch) */
	size_t nbatch, abatch;
	int64_t cmp_lo, cmp_hi;		/* compact (lo, hi] in this job */
	bool maint;			/* then vacuum and truncate the WAL */
	int job_err;
	char job_msg[256];

	int64_t db_compacted;		/* compacted in the db up to */
	uint64_t last_vacuum_ms;
	uv_prepare_t prep;
	uv_timer_t timer;
	int open_handles;
};

#define SQ(s) container_of(s, struct sq, base)

/* sqlite_write.c */
int store__sq_write(struct store *s, int type, const char *key,
		    const void *value, size_t len, int64_t expect_rev,
		    store_write_cb *cb, void *arg);
bool store__sq_busy(struct store *s);
void store__sq_kick(struct store *s);
void store__sq_close(struct store *s);
void store__sq_start_handles(struct sq *q);
/* sqlite.c: closes the connections and frees the index. */
void store__sq_release(struct store *s);
/* Runs a compaction step of (lo, hi] on wdb; 0 or an SQLite error code. */
int store__sq_compact_step(struct sq *q, int64_t lo, int64_t hi);

#endif
