/*
 * bench/store/rawsqlite.c - the floor: single-row SQLite inserts, one
 * transaction (and so one WAL fsync, synchronous=FULL) each, for a second.
 */
#include "bench.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/util.h"

int bench_sqlite_raw(const char *dir, double *rate)
{
	char *path = xasprintf("%s/raw.db", dir), val[BENCH_VALUE];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t t0, n = 0;
	int ret = -EIO;

	bench_fill(val, sizeof(val), 5);
	if (sqlite3_open(path, &db) ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)",
			 NULL, NULL, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES(?1)", -1, &st, NULL))
		goto out;
	t0 = mono_ns();
	while (mono_ns() - t0 < 1000000000ull) {
		sqlite3_bind_blob(st, 1, val, sizeof(val), SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
		sqlite3_reset(st);
		n++;
	}
	*rate = (double)n / ((double)(mono_ns() - t0) / 1e9);
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "bench-store: sqlite: %s\n",
			db ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return ret;
}
