/*
 * store/sqlite.c - the SQLite backend: open, schema, loading the index and
 * the history, and the synchronous reads. Writes, commits and compaction
 * are in sqlite_write.c; the schema is described in sqlite.h.
 */
#include <fcntl.h>
#include <libgen.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "sqlite.h"

#define SQ_SCHEMA 1

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS kv(rev INTEGER PRIMARY KEY, key TEXT NOT NULL,"
	" deleted INTEGER NOT NULL, create_rev INTEGER NOT NULL,"
	" prev_rev INTEGER NOT NULL, value BLOB);"
	"CREATE INDEX IF NOT EXISTS kv_key ON kv(key, rev);"
	"CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta VALUES('schema', 1), ('compact_rev', 0);";

/* The loop thread's reads. */
static const char *const rd_sql[RD_NR] = {
	[RD_GET] = "SELECT value, create_rev, rev, deleted FROM kv"
		" WHERE key = ?1 AND rev <= ?2 ORDER BY rev DESC LIMIT 1",
	/* Each key's newest row at revision ?4: no newer row <= ?4 exists.
	 * Walks kv_key in key order, so no sort. */
	[RD_LIST] = "SELECT key, rev, create_rev, deleted, value FROM kv a"
		" WHERE key >= ?1 AND key < ?2 AND key > ?3 AND rev <= ?4"
		" AND NOT EXISTS (SELECT 1 FROM kv b WHERE b.key = a.key"
		" AND b.rev > a.rev AND b.rev <= ?4) ORDER BY key",
	[RD_COUNT] = "SELECT count(*) FROM kv a"
		" WHERE key >= ?1 AND key < ?2 AND rev <= ?3 AND deleted = 0"
		" AND NOT EXISTS (SELECT 1 FROM kv b WHERE b.key = a.key"
		" AND b.rev > a.rev AND b.rev <= ?3)",
};

/* The job's statements (used only on the thread pool). */
static const char *const wr_sql[WR_NR] = {
	[WR_INSERT] = "INSERT INTO kv(rev, key, deleted, create_rev, prev_rev, value)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[WR_PREV] = "SELECT value FROM kv WHERE rev = ?1",
	[WR_BEGIN] = "BEGIN IMMEDIATE",
	[WR_COMMIT] = "COMMIT",
	[WR_ROLLBACK] = "ROLLBACK",
	[WR_CMP_SUPER] = "DELETE FROM kv WHERE rev IN (SELECT prev_rev FROM kv"
		" WHERE rev > ?1 AND rev <= ?2 AND prev_rev > 0)",
	[WR_CMP_TOMB] = "DELETE FROM kv WHERE rev > ?1 AND rev <= ?2 AND deleted = 1",
	[WR_CMP_META] = "UPDATE meta SET value = ?1 WHERE name = 'compact_rev'",
};

static int sq_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_PERM: case SQLITE_READONLY: return -EACCES;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_NOMEM: return -ENOMEM;
	default: return -EIO;
	}
}

/* Sets *msg to "cannot open 'path': why". Returns the errno for rc. */
static int open_fail(const char *path, sqlite3 *db, int rc, const char *why,
		     char **msg)
{
	if (msg && !*msg)
		*msg = xasprintf("cannot open '%s': %s", path,
				 why ? why : db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return sq_errno(rc);
}

static int exec1(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(out, outlen, "%s", t ? (const char *)t : "");
	}
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

static int db_open(const char *path, sqlite3 **db, char **msg)
{
	int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE |
				 SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc)
		return open_fail(path, *db, rc, NULL, msg);
	sqlite3_extended_result_codes(*db, 0);
	sqlite3_busy_timeout(*db, 10000);
	return 0;
}

/* Pragmas and schema, on the writer connection. */
static int db_setup(struct sq *q, const char *path, bool check, char **msg)
{
	sqlite3 *db = q->wdb;
	char out[64];
	int rc;

	if ((rc = exec1(db, "PRAGMA auto_vacuum = INCREMENTAL", NULL, 0)) ||
	    (rc = exec1(db, "PRAGMA journal_mode = WAL", out, sizeof(out))))
		return open_fail(path, db, rc, NULL, msg);
	if (strcmp(out, "wal"))
		return open_fail(path, db, SQLITE_ERROR, "cannot use WAL mode", msg);
	if ((rc = exec1(db, "PRAGMA synchronous = FULL", NULL, 0)) ||
	    (rc = exec1(db, "PRAGMA journal_size_limit = 2097152", NULL, 0)) ||
	    (rc = exec1(db, "PRAGMA wal_autocheckpoint = 512", NULL, 0)))
		return open_fail(path, db, rc, NULL, msg);
	if (check) {
		if ((rc = exec1(db, "PRAGMA quick_check", out, sizeof(out))))
			return open_fail(path, db, rc, NULL, msg);
		if (strcmp(out, "ok")) {
			char why[128];
			snprintf(why, sizeof(why), "database corrupt (%s)", out);
			return open_fail(path, db, SQLITE_CORRUPT, why, msg);
		}
	}
	if ((rc = sqlite3_exec(db, schema_sql, NULL, NULL, NULL)))
		return open_fail(path, db, rc, NULL, msg);
	if ((rc = exec1(db, "SELECT value FROM meta WHERE name = 'schema'",
			out, sizeof(out))))
		return open_fail(path, db, rc, NULL, msg);
	if (atoi(out) != SQ_SCHEMA)
		return open_fail(path, db, SQLITE_ERROR,
				 "unknown schema version (newer k1s?)", msg);
	return 0;
}

static int prepare_all(sqlite3 *db, const char *const *sql, sqlite3_stmt **st,
		       int n)
{
	for (int i = 0; i < n; i++) {
		int rc = sqlite3_prepare_v3(db, sql[i], -1,
					    SQLITE_PREPARE_PERSISTENT, &st[i], NULL);
		if (rc)
			return rc;
	}
	return 0;
}

static int64_t query_i64(sqlite3 *db, const char *sql, int *rc)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	*rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (*rc)
		return 0;
	*rc = sqlite3_step(st);
	if (*rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	*rc = *rc == SQLITE_ROW || *rc == SQLITE_DONE ? 0 : *rc;
	sqlite3_finalize(st);
	return v;
}

static struct store__blob *col_blob(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	return store__blob_new(sqlite3_column_blob(st, i),
			       (size_t)sqlite3_column_bytes(st, i));
}

/* Index of the live keys: each key's newest row. */
static int load_index(struct sq *q)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(q->rdb, "SELECT key, create_rev, max(rev),"
				    " deleted FROM kv GROUP BY key", -1, &st, NULL);

	if (rc)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (!sqlite3_column_int(st, 3))
			store__index_put(&q->idx,
					 (const char *)sqlite3_column_text(st, 0),
					 sqlite3_column_int64(st, 1),
					 sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rc;
}

/* The history after the compacted revision, back into the watch ring. */
static int load_history(struct sq *q, int64_t compacted)
{
	struct store *s = &q->base;
	uint64_t now = mono_ms();
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(q->rdb,
		"SELECT k.rev, k.key, k.deleted, k.create_rev, k.prev_rev, k.value,"
		" p.value FROM kv k LEFT JOIN kv p ON p.rev = k.prev_rev"
		" AND p.deleted = 0 WHERE k.rev > ?1 ORDER BY k.rev", -1, &st, NULL);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, compacted);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store__event ev = { 0 };
		struct store__event *p;

		ev.rev = sqlite3_column_int64(st, 0);
		if (ev.rev != s->hist.last + 1) {
			rc = SQLITE_CORRUPT;	/* a gap in the history */
			break;
		}
		ev.key = xstrdup((const char *)sqlite3_column_text(st, 1));
		ev.type = sqlite3_column_int(st, 2) ? STORE_DELETE : STORE_PUT;
		ev.create_rev = sqlite3_column_int64(st, 3);
		ev.prev_rev = sqlite3_column_int64(st, 4);
		ev.val = ev.type == STORE_PUT ? col_blob(st, 5) : NULL;
		ev.time_ms = now;
		p = ev.prev_rev ? store__hist_at(s, ev.prev_rev) : NULL;
		ev.prev = p ? store__blob_ref(p->val) : col_blob(st, 6);
		if (!ev.prev)
			ev.prev_rev = 0;
		store__publish(s, &ev, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rc;
}

static int sq_load(struct sq *q, const char *path, char **msg)
{
	struct store *s = &q->base;
	int64_t compacted, maxrev;
	int rc;

	compacted = query_i64(q->rdb, "SELECT value FROM meta WHERE name ="
			      " 'compact_rev'", &rc);
	if (!rc)
		maxrev = query_i64(q->rdb, "SELECT max(rev) FROM kv", &rc);
	if (rc)
		return open_fail(path, q->rdb, rc, NULL, msg);
	q->db_compacted = compacted;
	s->hist.first = compacted + 1;
	s->hist.last = compacted;
	s->rev = compacted;
	if ((rc = load_index(q)) || (rc = load_history(q, compacted)))
		return open_fail(path, q->rdb, rc, NULL, msg);
	if (maxrev > s->rev)
		return open_fail(path, q->rdb, SQLITE_CORRUPT,
				 "database corrupt (history has a gap)", msg);
	q->next_rev = s->rev;
	s->watch_dirty = false;
	return 0;
}

static void sq_free_dbs(struct sq *q)
{
	for (int i = 0; i < RD_NR; i++)
		sqlite3_finalize(q->rd[i]);
	for (int i = 0; i < WR_NR; i++)
		sqlite3_finalize(q->wr[i]);
	sqlite3_close(q->rdb);
	sqlite3_close(q->wdb);
	q->rdb = q->wdb = NULL;
}

static int sq_open(uv_loop_t *loop, const struct store_options *o,
		   struct store **out, char **msg)
{
	struct sq *q;
	char *dir;
	int ret, rc, fd;

	if (!o->path || !*o->path) {
		if (msg)
			*msg = xstrdup("store path not set");
		return -EINVAL;
	}
	dir = xstrdup(o->path);
	ret = mkdir_p(dirname(dir), 0700);
	free(dir);
	if (ret) {
		if (msg)
			*msg = xasprintf("cannot create the directory of '%s': %s",
					 o->path, strerror(-ret));
		return ret;
	}
	/* Secrets live here: create the file 0600 (the WAL and shm files
	 * SQLite makes take the same mode). */
	if ((fd = open(o->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	q = xcalloc(1, sizeof(*q));
	store__init(&q->base, &store__sqlite_backend, loop, o);
	q->fails_tail = &q->fails;
	if ((ret = db_open(o->path, &q->wdb, msg)) ||
	    (ret = db_setup(q, o->path, !o->skip_integrity_check, msg)) ||
	    (ret = db_open(o->path, &q->rdb, msg)))
		goto fail;
	if ((rc = exec1(q->rdb, "PRAGMA query_only = 1", NULL, 0)) ||
	    (rc = exec1(q->rdb, "PRAGMA cache_size = -65536", NULL, 0)) ||
	    (rc = prepare_all(q->rdb, rd_sql, q->rd, RD_NR)) ||
	    (rc = prepare_all(q->wdb, wr_sql, q->wr, WR_NR))) {
		ret = open_fail(o->path, q->rdb, rc, NULL, msg);
		goto fail;
	}
	if ((ret = sq_load(q, o->path, msg)))
		goto fail;
	store__sq_start_handles(q);
	*out = &q->base;
	return 0;
fail:
	sq_free_dbs(q);
	store__index_release(&q->idx);
	store__release(&q->base);
	free(q);
	return ret;
}

static void fill_kv(struct store_kv *kv, sqlite3_stmt *st, const char *key,
		    int val_col, int crev_col, int rev_col)
{
	const void *v = sqlite3_column_blob(st, val_col);
	size_t n = (size_t)sqlite3_column_bytes(st, val_col);

	kv->key = xstrdup(key);
	kv->value = xmalloc(n + 1);
	if (n)
		memcpy(kv->value, v, n);
	kv->value[n] = 0;
	kv->value_len = n;
	kv->create_rev = sqlite3_column_int64(st, crev_col);
	kv->mod_rev = sqlite3_column_int64(st, rev_col);
}

static int sq_get(struct store *s, const char *key, int64_t rev,
		  struct store_kv **out)
{
	sqlite3_stmt *st = SQ(s)->rd[RD_GET];
	int rc, ret = -ENOENT;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, rev);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && !sqlite3_column_int(st, 3)) {
		*out = xcalloc(1, sizeof(**out));
		fill_kv(*out, st, key, 0, 1, 2);
		ret = 0;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_error("store: get '%s': %s", key, sqlite3_errmsg(SQ(s)->rdb));
		ret = sq_errno(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/* The first string greater than every string starting with prefix. */
static char *prefix_end(const char *prefix)
{
	char *end = xstrdup(prefix);

	end[strlen(end) - 1]++;		/* keys are 0x20..0x7e: no overflow */
	return end;
}

static int sq_list(struct store *s, const char *prefix, const char *after,
		   size_t limit, int64_t rev, store_visit_fn *fn, void *arg,
		   bool *more)
{
	sqlite3_stmt *st = SQ(s)->rd[RD_LIST];
	char *end = prefix_end(prefix);
	size_t n = 0;
	int rc, ret = 0;

	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, end, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, rev);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_kv kv;

		if (sqlite3_column_int(st, 3))
			continue;
		if (limit && n == limit) {
			*more = true;
			break;
		}
		n++;
		kv.key = (char *)sqlite3_column_text(st, 0);
		kv.value = (char *)sqlite3_column_blob(st, 4);
		kv.value_len = (size_t)sqlite3_column_bytes(st, 4);
		if (!kv.value)
			kv.value = "";
		kv.create_rev = sqlite3_column_int64(st, 2);
		kv.mod_rev = sqlite3_column_int64(st, 1);
		if ((ret = fn(&kv, arg)))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_error("store: list '%s': %s", prefix, sqlite3_errmsg(SQ(s)->rdb));
		ret = sq_errno(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	free(end);
	return ret;
}

static int sq_count(struct store *s, const char *prefix, int64_t *count)
{
	sqlite3_stmt *st = SQ(s)->rd[RD_COUNT];
	char *end = prefix_end(prefix);
	int rc, ret = 0;

	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, end, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, s->rev);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*count = sqlite3_column_int64(st, 0);
	} else {
		log_error("store: count '%s': %s", prefix, sqlite3_errmsg(SQ(s)->rdb));
		ret = sq_errno(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	free(end);
	return ret;
}


const struct store__backend store__sqlite_backend = {
	.name = "sqlite",
	.open = sq_open,
	.close = store__sq_close,
	.busy = store__sq_busy,
	.kick = store__sq_kick,
	.get = sq_get,
	.list = sq_list,
	.count = sq_count,
	.write = store__sq_write,
};

void store__sq_release(struct store *s)
{
	sq_free_dbs(SQ(s));
	store__index_release(&SQ(s)->idx);
}
