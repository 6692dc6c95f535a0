/*
 * store/sqlite_write.c - the SQLite backend's write path: accepting writes,
 * group commit on the thread pool, compaction, and close.
 *
 * One job at a time runs on the writer connection (q->job). A commit job
 * writes the batch in one transaction (BEGIN IMMEDIATE ... COMMIT with
 * synchronous=FULL: the WAL is fsynced before COMMIT returns) and, in the
 * same transaction, compacts a bounded slice of the history the hub has
 * dropped, so compaction keeps up under any write load at no extra fsync.
 * When no write is pending, a standalone compaction job does the same, and
 * the periodic timer adds space reuse (incremental vacuum, WAL truncate).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "sqlite.h"

/* Revisions compacted per job at most (a commit of n writes: 2n + this). */
#define SQ_COMPACT_CHUNK 2048

static void update_ref(struct sq *q)
{
	const struct store *s = &q->base;

	if (!q->open_handles || uv_is_closing((uv_handle_t *)&q->prep))
		return;
	if (q->npend || q->fails || s->closing || s->watch_dirty)
		uv_ref((uv_handle_t *)&q->prep);
	else
		uv_unref((uv_handle_t *)&q->prep);
}

static void report_fails(struct sq *q)
{
	while (q->fails && q->fails->after_rev <= q->base.rev) {
		struct sq_op *op = q->fails;
		struct store_result r = { .err = op->err, .rev = op->err_rev };

		q->fails = op->next;
		if (!q->fails)
			q->fails_tail = &q->fails;
		op->cb(&r, op->arg);
		free(op);
	}
}

static int add_fail(struct sq *q, struct sq_op *op, int err, int64_t rev)
{
	op->err = err;
	op->err_rev = rev;
	op->after_rev = q->broken ? 0 : q->next_rev;
	*q->fails_tail = op;
	q->fails_tail = &op->next;
	update_ref(q);
	return 0;
}

/* The value of the key's write at revision rev, if still in memory. */
static struct store__blob *value_at(struct sq *q, int64_t rev, bool *read_db)
{
	struct store__event *ev;

	*read_db = false;
	if (rev > q->base.rev)
		return store__blob_ref(q->pend[rev - q->base.rev - 1]->ev.val);
	ev = store__hist_at(&q->base, rev);
	if (ev && ev->val)
		return store__blob_ref(ev->val);
	*read_db = true;
	return NULL;
}

int store__sq_write(struct store *s, int type, const char *key,
		    const void *value, size_t len, int64_t expect_rev,
		    store_write_cb *cb, void *arg)
{
	struct sq *q = SQ(s);
	struct sq_op *op = xcalloc(1, sizeof(*op));
	struct store__ient *e = store__index_get(&q->idx, key);
	struct store__event *ev = &op->ev;

	op->cb = cb;
	op->arg = arg;
	if (q->broken)
		return add_fail(q, op, q->broken, 0);
	if (type == STORE__CREATE && e)
		return add_fail(q, op, -EEXIST, e->mod_rev);
	if (type != STORE__CREATE && !e)
		return add_fail(q, op, -ENOENT, 0);
	if (type != STORE__CREATE && expect_rev && expect_rev != e->mod_rev)
		return add_fail(q, op, STORE_ECONFLICT, e->mod_rev);
	ev->rev = ++q->next_rev;
	ev->key = xstrdup(key);
	ev->type = type == STORE__DELETE ? STORE_DELETE : STORE_PUT;
	if (type != STORE__DELETE)
		ev->val = store__blob_new(value, len);
	if (type == STORE__CREATE) {
		ev->create_rev = ev->rev;
		store__index_put(&q->idx, key, ev->rev, ev->rev);
	} else {
		ev->create_rev = e->create_rev;
		ev->prev_rev = e->mod_rev;
		ev->prev = value_at(q, e->mod_rev, &op->read_prev);
		if (type == STORE__DELETE)
			store__index_del(&q->idx, key);
		else
			e->mod_rev = ev->rev;
	}
	ALLOC_GROW(q->pend, q->npend + 1, q->apend);
	q->pend[q->npend++] = op;
	update_ref(q);
	return 0;
}

/* ---- the job, on the thread pool ---- */

static int step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : rc;
}

static int insert_op(struct sq *q, struct sq_op *op)
{
	sqlite3_stmt *st = q->wr[WR_INSERT];
	struct store__event *ev = &op->ev;
	int rc;

	sqlite3_bind_int64(st, 1, ev->rev);
	sqlite3_bind_text(st, 2, ev->key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, ev->type == STORE_DELETE);
	sqlite3_bind_int64(st, 4, ev->create_rev);
	sqlite3_bind_int64(st, 5, ev->prev_rev);
	if (ev->val)
		sqlite3_bind_blob(st, 6, ev->val->data, (int)ev->val->len,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	if ((rc = step(st)) || !op->read_prev)
		return rc;
	st = q->wr[WR_PREV];
	sqlite3_bind_int64(st, 1, ev->prev_rev);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ev->prev = store__blob_new(sqlite3_column_blob(st, 0),
					   (size_t)sqlite3_column_bytes(st, 0));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_CORRUPT;	/* the row a live key points to */
	}
	sqlite3_reset(st);
	return rc;
}

int store__sq_compact_step(struct sq *q, int64_t lo, int64_t hi)
{
	sqlite3_stmt *st;
	int rc;

	for (int i = WR_CMP_SUPER; i <= WR_CMP_TOMB; i++) {
		st = q->wr[i];
		sqlite3_bind_int64(st, 1, lo);
		sqlite3_bind_int64(st, 2, hi);
		if ((rc = step(st)))
			return rc;
	}
	st = q->wr[WR_CMP_META];
	sqlite3_bind_int64(st, 1, hi);
	return step(st);
}

/* Space reuse: give free pages back and truncate the WAL. */
static void maintain(struct sq *q)
{
	int rc, free_pages, pages;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(q->wdb, "SELECT * FROM pragma_freelist_count,"
			       " pragma_page_count", -1, &st, NULL))
		return;
	rc = sqlite3_step(st);
	free_pages = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	pages = rc == SQLITE_ROW ? sqlite3_column_int(st, 1) : 0;
	sqlite3_finalize(st);
	if (free_pages > 256 && free_pages * 4 > pages) {
		char *sql = xasprintf("PRAGMA incremental_vacuum(%d)", free_pages / 2);
		sqlite3_exec(q->wdb, sql, NULL, NULL, NULL);
		free(sql);
	}
	sqlite3_wal_checkpoint_v2(q->wdb, NULL, SQLITE_CHECKPOINT_TRUNCATE,
				  NULL, NULL);
}

static void job_work(uv_work_t *w)
{
	struct sq *q = container_of(w, struct sq, work);
	int rc = step(q->wr[WR_BEGIN]);

	for (size_t i = 0; !rc && i < q->nbatch; i++)
		rc = insert_op(q, q->batch[i]);
	if (!rc && q->cmp_hi > q->cmp_lo)
		rc = store__sq_compact_step(q, q->cmp_lo, q->cmp_hi);
	if (!rc)
		rc = step(q->wr[WR_COMMIT]);
	if (rc) {
		snprintf(q->job_msg, sizeof(q->job_msg), "%s",
			 sqlite3_errmsg(q->wdb));
		step(q->wr[WR_ROLLBACK]);
	}
	q->job_err = rc;
	if (!rc && q->maint)
		maintain(q);
}

/* ---- back on the loop ---- */

static void fail_all(struct sq *q)
{
	for (size_t i = 0; i < q->npend; i++) {
		struct sq_op *op = q->pend[i];
		struct store_result r = { .err = q->broken };

		store__event_release(&op->ev);
		op->cb(&r, op->arg);
		free(op);
	}
	q->npend = 0;
	for (struct sq_op *op = q->fails; op; op = op->next)
		op->after_rev = 0;
	report_fails(q);
}

static void commit_done(struct sq *q)
{
	struct store *s = &q->base;
	uint64_t now = mono_ms();
	size_t n = q->nbatch;

	for (size_t i = 0; i < n; i++) {
		q->batch[i]->ev.time_ms = now;
		store__publish(s, &q->batch[i]->ev, 1);
	}
	memmove(q->pend, q->pend + n, (q->npend - n) * sizeof(*q->pend));
	q->npend -= n;
	for (size_t i = 0; i < n; i++) {
		struct sq_op *op = q->batch[i];
		struct store__event *ev = store__hist_at(s, op->ev.rev);
		struct store_event pub;
		struct store_kv kv, prev;
		struct store_result r = { 0 };

		store__event_view(ev, &pub, &kv, &prev);
		r.rev = ev->rev;
		r.create_rev = ev->create_rev;
		r.prev = pub.prev;
		op->cb(&r, op->arg);
		free(op);
	}
	q->nbatch = 0;
	report_fails(q);
	if (s->watch_dirty && !s->dispatching)
		store__dispatch(s);
	store__hist_trim(s, now);
}

static void job_start(struct sq *q, enum sq_job job, size_t n, bool maint);

static void start_next(struct sq *q)
{
	struct store *s = &q->base;
	int64_t goal = store__compacted(s);

	if (q->job != SQ_IDLE || q->broken)
		return;
	if (q->npend)
		job_start(q, SQ_COMMIT, q->npend, false);
	else if (goal > q->db_compacted)
		job_start(q, SQ_COMPACT, 0, false);
}

static void job_done(uv_work_t *w, int status)
{
	struct sq *q = container_of(w, struct sq, work);
	enum sq_job job = q->job;

	(void)status;
	q->job = SQ_IDLE;
	if (q->job_err) {
		log_error("store: cannot write '%s': %s", q->base.opts.path,
			  q->job_msg);
		if (!q->broken)
			q->broken = q->job_err == SQLITE_FULL ? -ENOSPC : -EIO;
		q->nbatch = 0;
		fail_all(q);
	} else {
		if (q->cmp_hi > q->cmp_lo)
			q->db_compacted = q->cmp_hi;
		if (job == SQ_COMMIT)
			commit_done(q);
	}
	start_next(q);
	store__tick(&q->base);
	update_ref(q);
}

static void job_start(struct sq *q, enum sq_job job, size_t n, bool maint)
{
	int64_t goal = store__compacted(&q->base);

	if (n > (size_t)q->base.opts.max_batch)
		n = (size_t)q->base.opts.max_batch;
	ALLOC_GROW(q->batch, n, q->abatch);
	memcpy(q->batch, q->pend, n * sizeof(*q->batch));
	q->nbatch = n;
	q->cmp_lo = q->db_compacted;
	q->cmp_hi = q->db_compacted;
	if (goal > q->db_compacted) {
		int64_t chunk = SQ_COMPACT_CHUNK + 2 * (int64_t)n;
		q->cmp_hi = goal - q->cmp_lo > chunk ? q->cmp_lo + chunk : goal;
	}
	q->maint = maint;
	q->job = job;
	q->job_err = 0;
	uv_queue_work(q->base.loop, &q->work, job_work, job_done);
}

static void on_prepare(uv_prepare_t *h)
{
	struct sq *q = container_of(h, struct sq, prep);

	report_fails(q);
	start_next(q);
	store__tick(&q->base);
	update_ref(q);
}

static void on_timer(uv_timer_t *h)
{
	struct sq *q = container_of(h, struct sq, timer);
	struct store *s = &q->base;

	if (s->closing)
		return;
	store__hist_trim(s, mono_ms());
	if (q->job != SQ_IDLE || q->npend || q->broken)
		return;
	job_start(q, SQ_COMPACT, 0, true);
}

void store__sq_start_handles(struct sq *q)
{
	uint64_t iv = q->base.opts.compact_interval_ms;

	uv_prepare_init(q->base.loop, &q->prep);
	uv_prepare_start(&q->prep, on_prepare);
	uv_unref((uv_handle_t *)&q->prep);
	uv_timer_init(q->base.loop, &q->timer);
	uv_timer_start(&q->timer, on_timer, iv, iv);
	uv_unref((uv_handle_t *)&q->timer);
	q->open_handles = 2;
}

void store__sq_kick(struct store *s)
{
	update_ref(SQ(s));
}

bool store__sq_busy(struct store *s)
{
	struct sq *q = SQ(s);

	return q->job != SQ_IDLE || q->npend || q->fails;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct sq *q = h->data;

	if (--q->open_handles)
		return;
	free(q->pend);
	free(q->batch);
	store__sq_release(&q->base);
	store__finish_close(&q->base, q);
}

void store__sq_close(struct store *s)
{
	struct sq *q = SQ(s);

	if (uv_is_closing((uv_handle_t *)&q->prep))
		return;
	q->prep.data = q;
	q->timer.data = q;
	uv_close((uv_handle_t *)&q->prep, on_handle_closed);
	uv_close((uv_handle_t *)&q->timer, on_handle_closed);
}
