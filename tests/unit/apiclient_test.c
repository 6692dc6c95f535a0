/*
 * lib/apiclient: kubeconfig parsing, requests with Status decoding, and the
 * informer (including the re-list after 410 Expired) against a real
 * `k1s server --disable-agent` started from the k1s beside this binary.
 */
#include "test.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(fd, (struct sockaddr *)&a, &l))
		port = -1;
	else
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

struct srv {
	pid_t pid;
	char *kubeconfig;
};

/* Starts the server (killed with the test process, even on failure). */
static void srv_start(struct srv *s)
{
	const char *bin = test_k1s_binary(), *dir = test_tmpdir();
	char port[16], *ready, *log;
	pid_t parent = getpid();

	ASSERT_NOT_NULL(bin);
	snprintf(port, sizeof(port), "%d", free_port());
	ready = xasprintf("%s/ready", dir);
	log = xasprintf("%s/server.log", dir);
	s->kubeconfig = xasprintf("%s/kubeconfig.yaml", dir);
	s->pid = fork();
	ASSERT_TRUE(s->pid >= 0);
	if (s->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "server", "--disable-agent", "--data-dir", dir,
		      "--https-listen-port", port, "--write-kubeconfig", s->kubeconfig,
		      "--ready-file", ready, "--history-events", "20", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(ready, F_OK); i++)
		usleep(50000);
	ASSERT_OK(access(ready, F_OK));
	free(ready);
	free(log);
}

static void srv_stop(struct srv *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	free(s->kubeconfig);
}

static void on_tick(uv_timer_t *t) { (void)t; }

/* Runs loop until *flag or ms elapse; true when the flag was set. */
static bool run_until(uv_loop_t *loop, const bool *flag, unsigned ms)
{
	uv_timer_t t;
	uint64_t end = mono_ms() + ms;

	uv_timer_init(loop, &t);
	uv_timer_start(&t, on_tick, 20, 20);
	while (!*flag && mono_ms() < end)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return *flag;
}

struct sync {
	bool done;
	int err, code;
	cJSON *obj;
	struct api_status st;
};

static void on_done(struct api_result *res, void *ud)
{
	struct sync *s = ud;

	s->done = true;
	s->err = res->err;
	s->code = res->code;
	s->obj = api_result_take(res);
	s->st = res->status;
}

static void sync_reset(struct sync *s)
{
	cJSON_Delete(s->obj);
	memset(s, 0, sizeof(*s));
}

#define WAIT(loop, s) ASSERT_TRUE(run_until(loop, &(s)->done, 10000))

static struct api_client *client_new(uv_loop_t *loop, const char *kubeconfig)
{
	struct api_kubeconfig kc;
	struct api_client *c = NULL;
	char *err = NULL;

	ASSERT_OK(api_kubeconfig_load(kubeconfig, &kc, &err));
	ASSERT_NOT_NULL(kc.cert_pem);
	ASSERT_NOT_NULL(kc.key_pem);
	ASSERT_NOT_NULL(kc.ca_pem);
	ASSERT_OK(api_client_new(loop, &kc, &c, &err));
	api_kubeconfig_release(&kc);
	return c;
}

static cJSON *cm(const char *name, const char *label, const char *val)
{
	cJSON *o = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"labels\":{}},\"data\":{}}");

	json_set_str(json_obj(o, "metadata"), "name", name);
	json_set_str(json_path(o, "metadata.labels"), "app", label);
	json_set_str(json_get(o, "data"), "k", val);
	return o;
}

TEST(apiclient_kubeconfig_parse)
{
	static const char y[] =
		"apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n"
		"    certificate-authority-data: aGVsbG8=\n  name: other\n"
		"- cluster:\n    server: https://127.0.0.1:1\n  name: mine\n"
		"contexts:\n- context: {cluster: mine, user: u2}\n  name: c\n"
		"current-context: c\nusers:\n- name: u1\n  user: {token: nope}\n"
		"- name: u2\n  user:\n    token: abc123\n";
	struct api_kubeconfig kc;
	char *err = NULL;

	ASSERT_OK(api_kubeconfig_parse(y, sizeof(y) - 1, &kc, &err));
	ASSERT_STR_EQ(kc.server, "https://127.0.0.1:1");
	ASSERT_STR_EQ(kc.token, "abc123");
	ASSERT_NULL(kc.ca_pem);
	api_kubeconfig_release(&kc);
	ASSERT_EQ(api_kubeconfig_parse("a: [b", 5, &kc, &err), -EINVAL);
	ASSERT_NOT_NULL(err);
	free(err);
	ASSERT_EQ(api_kubeconfig_parse("users: []\n", 10, &kc, &err), -EINVAL);
	free(err);
	ASSERT_EQ(api_kubeconfig_load("/nonexistent/kc", &kc, &err), -ENOENT);
	free(err);
}

TEST(apiclient_path)
{
	char *p = api_path("v1", "nodes", NULL, "n1", "status");

	ASSERT_STR_EQ(p, "/api/v1/nodes/n1/status");
	free(p);
	p = api_path("coordination.k8s.io/v1", "leases", "kube-node-lease", "n1", NULL);
	ASSERT_STR_EQ(p, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1");
	free(p);
}

TEST(apiclient_requests)
{
	uv_loop_t loop;
	struct srv s;
	struct api_client *c;
	struct sync r = { 0 };
	cJSON *o = cm("a", "x", "1"), *patch;
	char *coll = api_path("v1", "configmaps", "default", NULL, NULL);
	char *one = api_path("v1", "configmaps", "default", "a", NULL);

	srv_start(&s);
	uv_loop_init(&loop);
	c = client_new(&loop, s.kubeconfig);
	ASSERT_OK(api_create(c, coll, o, on_done, &r));
	WAIT(&loop, &r);
	ASSERT_EQ(r.code, 201);
	ASSERT_STR_EQ(json_get_str(json_get(r.obj, "metadata"), "name", ""), "a");
	sync_reset(&r);
	/* AlreadyExists decoded from the Status */
	ASSERT_OK(api_create(c, coll, o, on_done, &r));
	WAIT(&loop, &r);
	ASSERT_EQ(r.code, 409);
	ASSERT_EQ(r.st.code, 409);
	ASSERT_STR_EQ(r.st.reason, "AlreadyExists");
	ASSERT_TRUE(strstr(r.st.message, "\"a\"") != NULL);
	sync_reset(&r);
	patch = cJSON_Parse("{\"data\":{\"m\":\"2\"}}");
	ASSERT_OK(api_patch(c, one, API_PATCH_MERGE, patch, on_done, &r));
	WAIT(&loop, &r);
	ASSERT_EQ(r.code, 200);
	ASSERT_STR_EQ(json_get_str(json_get(r.obj, "data"), "m", ""), "2");
	ASSERT_STR_EQ(json_get_str(json_get(r.obj, "data"), "k", ""), "1");
	sync_reset(&r);
	cJSON_Delete(patch);
	patch = cJSON_Parse("{\"metadata\":{\"labels\":{\"s\":\"y\"}}}");
	ASSERT_OK(api_patch(c, one, API_PATCH_STRATEGIC, patch, on_done, &r));
	WAIT(&loop, &r);
	ASSERT_EQ(r.code, 200);
	ASSERT_STR_EQ(json_get_str(json_path(r.obj, "metadata.labels"), "s", ""), "y");
	/* update with a stale resourceVersion: Conflict */
	json_set_str(json_obj(o, "metadata"), "resourceVersion", "1");
	sync_reset(&r);
	ASSERT_OK(api_update(c, one, o, on_done, &r));
	WAIT(&loop, &r);
	ASSERT_EQ(r.code, 409);
	ASSERT_STR_EQ(r.st.reason, "Conflict");
	sync_reset(&r);
	ASSERT_OK(api_delete(c, one, on_done, &r));
	WAIT(&loop, &r);
	ASSERT_EQ(r.code, 200);
	sync_reset(&r);
	ASSERT_OK(api_get(c, one, on_done, &r));
	WAIT(&loop, &r);
	ASSERT_EQ(r.code, 404);
	ASSERT_STR_EQ(r.st.reason, "NotFound");
	sync_reset(&r);
	/* a request still in flight when the client is freed: no callback */
	ASSERT_OK(api_get(c, one, on_done, &r));
	api_client_free(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_FALSE(r.done);
	ASSERT_OK(uv_loop_close(&loop));
	cJSON_Delete(patch);
	cJSON_Delete(o);
	free(coll);
	free(one);
	srv_stop(&s);
}

struct seen {
	int adds, updates, deletes, syncs;
	char last_deleted[64];
	char last_old_val[16];
	bool flag;
};

static void s_add(struct api_informer *inf, const cJSON *o, void *ud)
{
	((struct seen *)ud)->adds++;
}

static void s_update(struct api_informer *inf, const cJSON *old, const cJSON *o, void *ud)
{
	struct seen *s = ud;

	s->updates++;
	snprintf(s->last_old_val, sizeof(s->last_old_val), "%s",
		 json_get_str(json_get(old, "data"), "k", ""));
}

static void s_delete(struct api_informer *inf, const cJSON *o, void *ud)
{
	struct seen *s = ud;

	s->deletes++;
	snprintf(s->last_deleted, sizeof(s->last_deleted), "%s",
		 json_get_str(json_get(o, "metadata"), "name", ""));
}

static void s_synced(struct api_informer *inf, void *ud)
{
	((struct seen *)ud)->syncs++;
}

/* Sync request helper for the informer tests. */
static void req(uv_loop_t *loop, int rc, struct sync *r, int code)
{
	ASSERT_OK(rc);
	WAIT(loop, r);
	ASSERT_EQ(r->code, code);
	sync_reset(r);
}

static void wait_count(uv_loop_t *loop, const int *v, int want)
{
	uint64_t end = mono_ms() + 10000;

	while (*v < want && mono_ms() < end) {
		bool f = false;

		run_until(loop, &f, 20);
	}
	ASSERT_EQ(*v, want);
}

/* Creates configmaps <prefix>0..<prefix><n-1> labelled app=x. */
static void create_cms(uv_loop_t *loop, struct api_client *c, const char *coll,
		       const char *prefix, int n)
{
	struct sync r = { 0 };

	for (int i = 0; i < n; i++) {
		char name[16];
		cJSON *o;

		snprintf(name, sizeof(name), "%s%d", prefix, i);
		o = cm(name, "x", "1");
		req(loop, api_create(c, coll, o, on_done, &r), &r, 201);
		cJSON_Delete(o);
	}
}

/* Frees the informer, the client, the loop, coll and the server. */
static void informer_done(uv_loop_t *loop, struct api_client *c, struct api_informer *inf,
			  char *coll, struct srv *s)
{
	api_informer_free(inf);
	api_client_free(c);
	uv_run(loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(loop));
	free(coll);
	srv_stop(s);
}

TEST(apiclient_informer)
{
	uv_loop_t loop;
	struct srv s;
	struct api_client *c;
	struct api_informer *inf;
	struct sync r = { 0 };
	struct seen sn = { 0 };
	struct api_informer_opts io = {
		.path = "/api/v1/namespaces/default/configmaps", .label_selector = "app=x",
		.on_add = s_add, .on_update = s_update, .on_delete = s_delete,
		.on_synced = s_synced, .ud = &sn,
	};
	char *coll = api_path("v1", "configmaps", "default", NULL, NULL);
	cJSON *o;

	srv_start(&s);
	uv_loop_init(&loop);
	c = client_new(&loop, s.kubeconfig);
	o = cm("pre", "x", "1");
	req(&loop, api_create(c, coll, o, on_done, &r), &r, 201);
	cJSON_Delete(o);
	ASSERT_OK(api_informer_start(c, &io, &inf));
	wait_count(&loop, &sn.syncs, 1);
	ASSERT_TRUE(api_informer_synced(inf));
	ASSERT_EQ(sn.adds, 1);
	ASSERT_NOT_NULL(api_informer_get(inf, "default", "pre"));
	/* watch: add, a non-matching object, update, delete */
	o = cm("b", "x", "1");
	req(&loop, api_create(c, coll, o, on_done, &r), &r, 201);
	cJSON_Delete(o);
	o = cm("other", "y", "1");
	req(&loop, api_create(c, coll, o, on_done, &r), &r, 201);
	cJSON_Delete(o);
	wait_count(&loop, &sn.adds, 2);
	o = cJSON_Parse("{\"data\":{\"k\":\"2\"}}");
	req(&loop, api_patch(c, "/api/v1/namespaces/default/configmaps/b", API_PATCH_MERGE, o,
			     on_done, &r), &r, 200);
	cJSON_Delete(o);
	wait_count(&loop, &sn.updates, 1);
	ASSERT_STR_EQ(sn.last_old_val, "1");
	ASSERT_STR_EQ(json_get_str(json_get(api_informer_get(inf, "default", "b"), "data"), "k", ""), "2");
	req(&loop, api_delete(c, "/api/v1/namespaces/default/configmaps/pre", on_done, &r), &r, 200);
	wait_count(&loop, &sn.deletes, 1);
	ASSERT_STR_EQ(sn.last_deleted, "pre");
	ASSERT_EQ(api_informer_count(inf), 1);
	ASSERT_NULL(api_informer_get(inf, "default", "other"));
	ASSERT_EQ(sn.adds, 2);
	api_informer_free(inf);
	/* field selector */
	memset(&sn, 0, sizeof(sn));
	io.label_selector = NULL;
	io.field_selector = "metadata.name=other";
	ASSERT_OK(api_informer_start(c, &io, &inf));
	wait_count(&loop, &sn.syncs, 1);
	ASSERT_EQ(api_informer_count(inf), 1);
	ASSERT_NOT_NULL(api_informer_get(inf, "default", "other"));
	informer_done(&loop, c, inf, coll, &s);
}

TEST(apiclient_informer_relist_after_410)
{
	uv_loop_t loop;
	struct srv s;
	struct api_client *c;
	struct api_informer *inf;
	struct api_informer_stats st;
	struct sync r = { 0 };
	struct seen sn = { 0 };
	struct api_informer_opts io = {
		.path = "/api/v1/namespaces/default/configmaps",
		.field_selector = "metadata.name!=kube-root-ca.crt",	/* every namespace has it */
		.on_add = s_add, .on_update = s_update, .on_delete = s_delete,
		.on_synced = s_synced, .ud = &sn,
	};
	char *coll = api_path("v1", "configmaps", "default", NULL, NULL);
	cJSON *o;

	srv_start(&s);
	uv_loop_init(&loop);
	c = client_new(&loop, s.kubeconfig);
	o = cm("gone", "x", "1");
	req(&loop, api_create(c, coll, o, on_done, &r), &r, 201);
	cJSON_Delete(o);
	o = cm("kept", "x", "1");
	req(&loop, api_create(c, coll, o, on_done, &r), &r, 201);
	cJSON_Delete(o);
	ASSERT_OK(api_informer_start(c, &io, &inf));
	wait_count(&loop, &sn.syncs, 1);
	ASSERT_EQ(sn.adds, 2);
	/* while paused: more writes than the server keeps (--history-events 20) */
	api_informer_pause(inf, true);
	req(&loop, api_delete(c, "/api/v1/namespaces/default/configmaps/gone", on_done, &r), &r, 200);
	create_cms(&loop, c, coll, "n", 24);
	o = cJSON_Parse("{\"data\":{\"k\":\"9\"}}");
	req(&loop, api_patch(c, "/api/v1/namespaces/default/configmaps/kept", API_PATCH_MERGE, o,
			     on_done, &r), &r, 200);
	cJSON_Delete(o);
	ASSERT_EQ(sn.adds, 2);
	api_informer_pause(inf, false);
	wait_count(&loop, &sn.syncs, 2);
	api_informer_stats(inf, &st);
	ASSERT_TRUE(st.expired >= 1);
	ASSERT_EQ(st.lists, 2);
	/* the re-list reported the differences */
	ASSERT_EQ(sn.deletes, 1);
	ASSERT_STR_EQ(sn.last_deleted, "gone");
	ASSERT_EQ(sn.adds, 26);
	ASSERT_EQ(sn.updates, 1);
	ASSERT_EQ(api_informer_count(inf), 25);
	ASSERT_STR_EQ(json_get_str(json_get(api_informer_get(inf, "default", "kept"), "data"), "k", ""), "9");
	/* and it watches again: a new object arrives as an event */
	o = cm("late", "x", "1");
	req(&loop, api_create(c, coll, o, on_done, &r), &r, 201);
	cJSON_Delete(o);
	wait_count(&loop, &sn.adds, 27);
	informer_done(&loop, c, inf, coll, &s);
}

/* list_limit: lists in pages (limit/continue), deletions after the last
 * page; keys_only: the store keeps keys, callbacks get stubs. */
TEST(apiclient_informer_pages_keys_only)
{
	uv_loop_t loop;
	struct srv s;
	struct api_client *c;
	struct api_informer *inf;
	struct api_informer_stats st;
	struct sync r = { 0 };
	struct seen sn = { 0 };
	struct api_informer_opts io = {
		.path = "/api/v1/namespaces/default/configmaps", .list_limit = 3, .keys_only = true,
		.field_selector = "metadata.name!=kube-root-ca.crt",	/* servers that make it */
		.on_add = s_add, .on_update = s_update, .on_delete = s_delete,
		.on_synced = s_synced, .ud = &sn,
	};
	char *coll = api_path("v1", "configmaps", "default", NULL, NULL);
	cJSON *o;

	srv_start(&s);
	uv_loop_init(&loop);
	c = client_new(&loop, s.kubeconfig);
	create_cms(&loop, c, coll, "p", 10);
	ASSERT_OK(api_informer_start(c, &io, &inf));
	wait_count(&loop, &sn.syncs, 1);
	ASSERT_EQ(sn.adds, 10);			/* 4 pages of at most 3 */
	ASSERT_EQ(api_informer_count(inf), 10);
	ASSERT_NULL(api_informer_get(inf, "default", "p1"));	/* keys only */
	/* a re-list (after 410) reports a deletion with the stub of the key */
	api_informer_pause(inf, true);
	req(&loop, api_delete(c, "/api/v1/namespaces/default/configmaps/p7", on_done, &r), &r, 200);
	for (int i = 0; i < 24; i++) {		/* more than the server's history */
		o = cJSON_Parse("{\"data\":{\"k\":\"2\"}}");
		req(&loop, api_patch(c, "/api/v1/namespaces/default/configmaps/p1", API_PATCH_MERGE, o,
				     on_done, &r), &r, 200);
		cJSON_Delete(o);
		o = cJSON_Parse(i % 2 ? "{\"data\":{\"k\":\"2\"}}" : "{\"data\":{\"k\":\"3\"}}");
		req(&loop, api_patch(c, "/api/v1/namespaces/default/configmaps/p2", API_PATCH_MERGE, o,
				     on_done, &r), &r, 200);
		cJSON_Delete(o);
	}
	api_informer_pause(inf, false);
	wait_count(&loop, &sn.syncs, 2);
	api_informer_stats(inf, &st);
	ASSERT_EQ(st.lists, 2);
	ASSERT_EQ(sn.deletes, 1);
	ASSERT_STR_EQ(sn.last_deleted, "p7");
	ASSERT_EQ(sn.updates, 2);		/* p1 and p2 */
	ASSERT_STR_EQ(sn.last_old_val, "");	/* the old object is a stub */
	ASSERT_EQ(sn.adds, 10);
	ASSERT_EQ(api_informer_count(inf), 9);
	/* watch events: a delete reports the name from the key */
	req(&loop, api_delete(c, "/api/v1/namespaces/default/configmaps/p3", on_done, &r), &r, 200);
	wait_count(&loop, &sn.deletes, 2);
	ASSERT_STR_EQ(sn.last_deleted, "p3");
	informer_done(&loop, c, inf, coll, &s);
}
