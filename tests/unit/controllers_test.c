/* Tests of the controller framework: the work queue and the pure helpers. */
#include "test.h"
#include "server/controllers/controllers.h"
#include "server/status.h"
#include "server/meta.h"
#include "lib/json.h"
#include "lib/util.h"

#include <errno.h>
#include <string.h>

struct rec {
	char seen[32][16];
	int n;
	int fail_first;		/* fail this many runs with -EIO */
	bool readd_once;	/* add the key again while it is being processed */
	uint64_t at_ms[32];
	int active;		/* reconciles running at once */
	int max_active;
};

static void process(struct wq *q, const char *key, void *ud)
{
	struct rec *r = ud;

	r->active++;
	if (r->active > r->max_active)
		r->max_active = r->active;
	snprintf(r->seen[r->n], sizeof(r->seen[0]), "%s", key);
	r->at_ms[r->n++] = uv_now(q->loop);
	if (r->readd_once) {
		r->readd_once = false;
		wq_add(q, key);
	}
	r->active--;
	wq_done(q, key, r->fail_first-- > 0 ? -EIO : 0);
}

static void run_until_idle(uv_loop_t *loop, struct wq *q)
{
	for (int i = 0; i < 2000 && wq_len(q); i++)
		uv_run(loop, UV_RUN_ONCE);
}

TEST(wq_dedups_waiting_keys)
{
	uv_loop_t loop;
	struct wq q;
	struct rec r = { 0 };

	uv_loop_init(&loop);
	wq_init(&q, &loop, process, &r);
	wq_add(&q, "a");
	wq_add(&q, "b");
	wq_add(&q, "a");
	wq_add(&q, "a");
	ASSERT_EQ(wq_len(&q), 2);
	run_until_idle(&loop, &q);
	ASSERT_EQ(r.n, 2);
	ASSERT_STR_EQ(r.seen[0], "a");
	ASSERT_STR_EQ(r.seen[1], "b");
	ASSERT_EQ(wq_len(&q), 0);
	wq_release(&q);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
}

TEST(wq_reruns_a_key_added_while_processing)
{
	uv_loop_t loop;
	struct wq q;
	struct rec r = { .readd_once = true };

	uv_loop_init(&loop);
	wq_init(&q, &loop, process, &r);
	wq_add(&q, "a");
	run_until_idle(&loop, &q);
	ASSERT_EQ(r.n, 2);	/* once more after wq_done, not twice at once */
	ASSERT_EQ(r.max_active, 1);
	wq_release(&q);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
}

TEST(wq_backoff_doubles_and_caps)
{
	struct wq q = { .base_ms = 5, .max_ms = 100 };

	ASSERT_EQ(wq_backoff_ms(&q, 0), 5);
	ASSERT_EQ(wq_backoff_ms(&q, 1), 10);
	ASSERT_EQ(wq_backoff_ms(&q, 3), 40);
	ASSERT_EQ(wq_backoff_ms(&q, 5), 100);
	ASSERT_EQ(wq_backoff_ms(&q, 60), 100);
	q.base_ms = q.max_ms = 0;
	ASSERT_EQ(wq_backoff_ms(&q, 0), WQ_BACKOFF_BASE_MS);
	ASSERT_EQ(wq_backoff_ms(&q, 40), WQ_BACKOFF_MAX_MS);
}

TEST(wq_retries_failures_with_growing_delays)
{
	uv_loop_t loop;
	struct wq q;
	struct rec r = { .fail_first = 3 };

	uv_loop_init(&loop);
	wq_init(&q, &loop, process, &r);
	q.base_ms = 10;
	wq_add(&q, "k");
	uv_run(&loop, UV_RUN_ONCE);
	ASSERT_EQ(r.n, 1);
	ASSERT_EQ(wq_failures(&q, "k"), 1);
	run_until_idle(&loop, &q);
	ASSERT_EQ(r.n, 4);		/* three failures, then success */
	ASSERT_EQ(wq_failures(&q, "k"), 0);	/* forgotten after success */
	ASSERT_LE(10, r.at_ms[1] - r.at_ms[0]);
	ASSERT_LE(20, r.at_ms[2] - r.at_ms[1]);
	ASSERT_LE(40, r.at_ms[3] - r.at_ms[2]);
	wq_release(&q);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
}

TEST(wq_add_overrides_a_delay)
{
	uv_loop_t loop;
	struct wq q;
	struct rec r = { 0 };

	uv_loop_init(&loop);
	wq_init(&q, &loop, process, &r);
	wq_add_after(&q, "k", 60000);
	ASSERT_EQ(wq_len(&q), 1);
	wq_add(&q, "k");
	run_until_idle(&loop, &q);
	ASSERT_EQ(r.n, 1);
	ASSERT_EQ(wq_len(&q), 0);
	wq_release(&q);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
}

TEST(template_hash_is_stable_and_key_order_free)
{
	cJSON *a = cJSON_Parse("{\"metadata\":{\"labels\":{\"app\":\"x\",\"tier\":\"web\"}},"
			       "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}");
	cJSON *b = cJSON_Parse("{\"spec\":{\"containers\":[{\"image\":\"nginx\",\"name\":\"c\"}]},"
			       "\"metadata\":{\"labels\":{\"tier\":\"web\",\"app\":\"x\"}}}");
	cJSON *c = cJSON_Parse("{\"metadata\":{\"labels\":{\"app\":\"x\",\"tier\":\"web\"}},"
			       "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]}}");
	char ha[16], hb[16], hc[16], hcol[16];

	ctrl_template_hash(a, 0, ha);
	ctrl_template_hash(b, 0, hb);
	ctrl_template_hash(c, 0, hc);
	ctrl_template_hash(a, 1, hcol);
	ASSERT_STR_EQ(ha, hb);
	ASSERT_TRUE(strcmp(ha, hc) != 0);
	ASSERT_TRUE(strcmp(ha, hcol) != 0);	/* collisionCount changes the name */
	ASSERT_LE(1, strlen(ha));
	ASSERT_LE(strlen(ha), 10);
	ASSERT_EQ(strspn(ha, "bcdfghjklmnpqrstvwxz2456789"), strlen(ha));
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
}

TEST(owner_references)
{
	cJSON *pod = cJSON_Parse("{\"metadata\":{\"ownerReferences\":["
				 "{\"kind\":\"X\",\"name\":\"x\",\"uid\":\"u1\"},"
				 "{\"kind\":\"ReplicaSet\",\"name\":\"r\",\"uid\":\"u2\",\"controller\":true}]}}");
	cJSON *bare = cJSON_Parse("{\"metadata\":{\"name\":\"p\"}}");
	const cJSON *ref = ctrl_controller_ref(pod);

	ASSERT_NOT_NULL(ref);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(ref, "uid")->valuestring, "u2");
	ASSERT_TRUE(ctrl_owned_by(pod, "u1"));
	ASSERT_TRUE(ctrl_owned_by(pod, "u2"));
	ASSERT_FALSE(ctrl_owned_by(pod, "u3"));
	ASSERT_NULL(ctrl_controller_ref(bare));
	ASSERT_FALSE(ctrl_owned_by(bare, "u1"));
	cJSON_Delete(pod);
	cJSON_Delete(bare);
}

TEST(selector_matching)
{
	cJSON *sel = cJSON_Parse("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":"
				 "[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}");
	cJSON *yes = cJSON_Parse("{\"app\":\"web\",\"tier\":\"b\",\"x\":\"y\"}");
	cJSON *no = cJSON_Parse("{\"app\":\"web\",\"tier\":\"c\"}");
	cJSON *empty = cJSON_Parse("{}");

	ASSERT_TRUE(ctrl_selector_matches(sel, yes));
	ASSERT_FALSE(ctrl_selector_matches(sel, no));
	ASSERT_FALSE(ctrl_selector_matches(sel, NULL));
	ASSERT_FALSE(ctrl_selector_matches(empty, yes));	/* empty selects nothing */
	ASSERT_FALSE(ctrl_selector_matches(NULL, yes));
	cJSON_Delete(sel);
	cJSON_Delete(yes);
	cJSON_Delete(no);
	cJSON_Delete(empty);
}

TEST(delete_propagation_adds_finalizers)
{
	cJSON *obj = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"finalizers\":[\"a\"]}}");
	cJSON *fg = cJSON_Parse("{\"propagationPolicy\":\"Foreground\"}");
	cJSON *orphan = cJSON_Parse("{\"orphanDependents\":true}");
	cJSON *bad = cJSON_Parse("{\"propagationPolicy\":\"Sideways\"}");
	struct api_error e = { 0 };
	char *s;

	ASSERT_OK(gc_delete_propagation(obj, NULL, NULL, &e));
	ASSERT_OK(gc_delete_propagation(obj, fg, NULL, &e));
	ASSERT_OK(gc_delete_propagation(obj, fg, NULL, &e));	/* once only */
	ASSERT_OK(gc_delete_propagation(obj, orphan, NULL, &e));
	s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "finalizers"));
	ASSERT_STR_EQ(s, "[\"a\",\"foregroundDeletion\",\"orphan\"]");
	free(s);
	ASSERT_EQ(gc_delete_propagation(obj, bad, NULL, &e), -EINVAL);
	api_error_release(&e);
	cJSON_Delete(obj);
	cJSON_Delete(fg);
	cJSON_Delete(orphan);
	cJSON_Delete(bad);
}

static void process_hold(struct wq *q, const char *key, void *ud)
{
	int *runs = ud;

	(void)q;
	(void)key;
	(*runs)++;	/* wq_done comes later, from the test */
}

TEST(wq_one_reconcile_per_key_at_a_time)
{
	uv_loop_t loop;
	struct wq q;
	int runs = 0;

	uv_loop_init(&loop);
	wq_init(&q, &loop, process_hold, &runs);
	wq_add(&q, "k");
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	ASSERT_EQ(runs, 1);
	wq_add(&q, "k");
	wq_add(&q, "k");
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	ASSERT_EQ(runs, 1);	/* still running: the adds wait */
	wq_done(&q, "k", 0);
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	ASSERT_EQ(runs, 2);	/* the two adds ran once */
	wq_done(&q, "k", 0);
	ASSERT_EQ(wq_len(&q), 0);
	wq_release(&q);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
}

/* ---- the cache and in-process calls, against a real store ---- */

#include "server/apiserver.h"
#include "server/storage.h"
#include "lib/json.h"

struct seen {
	int adds, updates, deletes;
	char last_old_rv[24], last_new_rv[24];
};

static void on_cm(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	struct seen *s = ud;

	(void)st;
	if (!old)
		s->adds++;
	else if (!new)
		s->deletes++;
	else
		s->updates++;
	snprintf(s->last_old_rv, sizeof(s->last_old_rv), "%s",
		 json_get_str(json_get(old, "metadata"), "resourceVersion", ""));
	snprintf(s->last_new_rv, sizeof(s->last_new_rv), "%s",
		 json_get_str(json_get(new, "metadata"), "resourceVersion", ""));
}

struct answer {
	int code;
	char *uid, *name, *ctime;
};

static void answered(int code, const cJSON *obj, void *ud)
{
	struct answer *a = ud;
	const cJSON *m = json_get(obj, "metadata");

	a->code = code;
	a->uid = xstrdup(json_get_str(m, "uid", ""));
	a->name = xstrdup(json_get_str(m, "name", ""));
	a->ctime = xstrdup(json_get_str(m, "creationTimestamp", ""));
}

static void answer_release(struct answer *a)
{
	free(a->uid);
	free(a->name);
	free(a->ctime);
	memset(a, 0, sizeof(*a));
}

static void run_until(uv_loop_t *loop, const int *flag)
{
	for (int i = 0; i < 2000 && !*flag; i++)
		uv_run(loop, UV_RUN_ONCE);
}

static void count(const cJSON *obj, void *ud)
{
	(void)obj;
	(*(int *)ud)++;
}

TEST(cache_follows_the_store_and_internal_calls_get_metadata)
{
	static const char *const drop[] = { "data.big", NULL };
	struct server_config cfg;
	struct apiserver srv = { 0 };
	struct cache c;
	struct cache_store *st;
	struct seen seen = { 0 };
	struct answer a = { 0 };
	char *db = xasprintf("%s/state.db", test_tmpdir()), *err = NULL;
	cJSON *cm = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
				"{\"generateName\":\"cm-\",\"namespace\":\"default\",\"ownerReferences\":"
				"[{\"apiVersion\":\"v1\",\"kind\":\"X\",\"name\":\"o\",\"uid\":\"owner-1\"}]},"
				"\"data\":{\"a\":\"1\",\"big\":\"xxxx\"}}");
	const cJSON *got;
	int n = 0;

	server_config_init(&cfg);
	srv.cfg = &cfg;
	srv.loop = uv_default_loop();
	registry_init();
	ASSERT_OK(storage_open(&srv, db, &err));
	cache_init(&c, &srv);
	st = cache_add(&c, "", "v1", "configmaps", drop);
	ASSERT_NOT_NULL(st);
	ASSERT_NULL(cache_add(&c, "", "v1", "nosuchthings", NULL));
	cache_store_on_event(st, on_cm, &seen);
	ASSERT_OK(cache_start(&c));

	{
		cJSON *ns = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
					"\"metadata\":{\"name\":\"default\"}}");

		api_internal_create(&srv, "", "namespaces", "", ns, answered, &a);
		run_until(srv.loop, &a.code);
		ASSERT_EQ(a.code, 201);
		answer_release(&a);
		cJSON_Delete(ns);
	}
	/* create: generateName, uid, creationTimestamp from the REST path */
	api_internal_create(&srv, "", "configmaps", "default", cm, answered, &a);
	run_until(srv.loop, &a.code);
	ASSERT_EQ(a.code, 201);
	ASSERT_EQ(strncmp(a.name, "cm-", 3), 0);
	ASSERT_EQ(strlen(a.name), 8);
	ASSERT_EQ(strlen(a.uid), 36);
	ASSERT_TRUE(*a.ctime);
	run_until(srv.loop, &seen.adds);
	ASSERT_EQ(seen.adds, 1);
	got = cache_get(st, "default", a.name);
	ASSERT_NOT_NULL(got);
	ASSERT_STR_EQ(json_get_str(json_path(got, "metadata"), "uid", ""), a.uid);
	ASSERT_STR_EQ(json_get_str(json_get(got, "data"), "a", ""), "1");
	ASSERT_NULL(json_path(got, "data.big"));	/* pruned */
	cache_each_owned(st, "owner-1", count, &n);
	ASSERT_EQ(n, 1);
	n = 0;
	cache_each(st, "default", count, &n);
	cache_each(st, "other", count, &n);
	ASSERT_EQ(n, 1);

	/* an update with a stale resourceVersion is a conflict */
	{
		cJSON *u = cJSON_Duplicate(got, 1);
		char *name = xstrdup(a.name);

		json_set_str(json_get(u, "metadata"), "resourceVersion", "1");
		answer_release(&a);
		api_internal_update(&srv, "", "configmaps", "", u, answered, &a);
		run_until(srv.loop, &a.code);
		ASSERT_EQ(a.code, 409);
		answer_release(&a);
		/* a merge patch dropping the owner updates the cache and the index */
		cJSON_Delete(u);
		u = cJSON_Parse("{\"metadata\":{\"ownerReferences\":null}}");
		api_internal_patch(&srv, "", "configmaps", "default", name, u, answered, &a);
		run_until(srv.loop, &a.code);
		ASSERT_EQ(a.code, 200);
		run_until(srv.loop, &seen.updates);
		ASSERT_EQ(seen.updates, 1);
		ASSERT_LT(atoll(seen.last_old_rv), atoll(seen.last_new_rv));
		n = 0;
		cache_each_owned(st, "owner-1", count, &n);
		ASSERT_EQ(n, 0);
		answer_release(&a);
		api_internal_delete(&srv, "", "configmaps", "default", name, NULL, answered, &a);
		run_until(srv.loop, &a.code);
		ASSERT_EQ(a.code, 200);
		run_until(srv.loop, &seen.deletes);
		ASSERT_EQ(seen.deletes, 1);
		ASSERT_NULL(cache_get(st, "default", name));
		cJSON_Delete(u);
		free(name);
	}
	answer_release(&a);
	cache_release(&c);
	storage_close(&srv);
	uv_run(srv.loop, UV_RUN_DEFAULT);
	cJSON_Delete(cm);
	free(db);
}

/* A graceful pod with finalizers: removing them does not remove it while
 * its grace period runs; the kubelet's final delete (grace 0) lowers it. */
TEST(ctrl_meta_grace_blocks_removal)
{
	cJSON *pod = cJSON_Parse("{\"metadata\":{\"name\":\"p\",\"finalizers\":[\"foregroundDeletion\"]}}");

	meta_mark_deleted(pod, 1000000000LL, 30);
	ASSERT_FALSE(meta_ready_to_remove(pod));
	cJSON_DeleteItemFromObjectCaseSensitive(json_get(pod, "metadata"), "finalizers");
	ASSERT_FALSE(meta_ready_to_remove(pod));
	meta_mark_deleted(pod, 2000000000LL, 60);	/* a longer grace does not extend */
	ASSERT_EQ(json_get_int(json_get(pod, "metadata"), "deletionGracePeriodSeconds", -1), 30);
	meta_mark_deleted(pod, 2000000000LL, 0);
	ASSERT_EQ(json_get_int(json_get(pod, "metadata"), "deletionGracePeriodSeconds", -1), 0);
	ASSERT_TRUE(meta_ready_to_remove(pod));
	cJSON_Delete(pod);
}
