/*
 * tests/unit/probe_test.c - agent/probe*.c and agent/runtime_exec.c:
 * decoding, the threshold state machine, httpGet/tcpSocket against a local
 * server (and inside another network namespace when root), exec through a
 * fake runc script, and the manager's startup gating and hooks on a loop.
 */
#include "test.h"
#include "agent/probe_int.h"
#include "agent/runtime_exec.h"
#include "lib/json.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static cJSON *J(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	if (!j)
		test_fail(__FILE__, __LINE__, "bad JSON in test: %s", text);
	return j;
}

TEST(probe_sm_thresholds)
{
	struct probe_sm sm;

	probe__sm_init(&sm, 1, 3);
	ASSERT_FALSE(probe__sm_feed(&sm, false));
	ASSERT_FALSE(probe__sm_feed(&sm, false));
	ASSERT_TRUE(probe__sm_feed(&sm, false));	/* third failure: reported */
	ASSERT_FALSE(probe__sm_feed(&sm, false));	/* no change */
	ASSERT_TRUE(probe__sm_feed(&sm, true));
	ASSERT_FALSE(probe__sm_feed(&sm, true));
	ASSERT_FALSE(probe__sm_feed(&sm, false));
	ASSERT_FALSE(probe__sm_feed(&sm, true));	/* a success breaks the run */
	ASSERT_FALSE(probe__sm_feed(&sm, false));
	ASSERT_FALSE(probe__sm_feed(&sm, false));
	ASSERT_TRUE(probe__sm_feed(&sm, false));

	probe__sm_init(&sm, 2, 1);
	ASSERT_FALSE(probe__sm_feed(&sm, true));
	ASSERT_TRUE(probe__sm_feed(&sm, true));		/* first report: success after 2 */
	ASSERT_TRUE(probe__sm_feed(&sm, false));
	ASSERT_FALSE(probe__sm_feed(&sm, true));
	ASSERT_TRUE(probe__sm_feed(&sm, true));

	probe__sm_init(&sm, 1, 1);
	ASSERT_TRUE(probe__sm_feed(&sm, false));	/* the first result is always reported */
	probe__sm_reset_run(&sm);
	ASSERT_FALSE(probe__sm_feed(&sm, false));	/* still failed: no change */
}

TEST(probe_decode_defaults_ports_hostile)
{
	cJSON *ctr = J("{\"name\":\"c\",\"ports\":[{\"name\":\"web\",\"containerPort\":8080}]}");
	struct probe_spec s;
	char *err = NULL;
	cJSON *p;

	p = J("{\"httpGet\":{\"path\":\"healthz\",\"port\":\"web\",\"httpHeaders\":[{\"name\":\"X-A\",\"value\":\"1\"},"
	      "{\"name\":\"host\",\"value\":\"example\"}]},\"successThreshold\":3}");
	ASSERT_OK(probe__spec_decode(p, ctr, PROBE_LIVENESS, &s, &err));
	ASSERT_EQ(s.h.action, PA_HTTP);
	ASSERT_EQ(s.h.port, 8080);
	ASSERT_STR_EQ(s.h.path, "/healthz");
	ASSERT_STR_EQ(s.h.headers, "X-A: 1\r\n");
	ASSERT_STR_EQ(s.h.host_header, "example");
	ASSERT_EQ(s.period_ms, 10000);
	ASSERT_EQ(s.timeout_ms, 1000);
	ASSERT_EQ(s.initial_delay_ms, 0);
	ASSERT_EQ(s.failure_threshold, 3);
	ASSERT_EQ(s.success_threshold, 1);	/* forced to 1 for liveness */
	probe__handler_release(&s.h);
	cJSON_Delete(p);

	p = J("{\"exec\":{\"command\":[\"cat\",\"/tmp/ok\"]},\"periodSeconds\":2,\"timeoutSeconds\":5,"
	      "\"successThreshold\":2,\"failureThreshold\":1,\"initialDelaySeconds\":3}");
	ASSERT_OK(probe__spec_decode(p, ctr, PROBE_READINESS, &s, &err));
	ASSERT_STR_EQ(s.h.argv[0], "cat");
	ASSERT_STR_EQ(s.h.argv[1], "/tmp/ok");
	ASSERT_NULL(s.h.argv[2]);
	ASSERT_EQ(s.period_ms, 2000);
	ASSERT_EQ(s.timeout_ms, 5000);
	ASSERT_EQ(s.initial_delay_ms, 3000);
	ASSERT_EQ(s.success_threshold, 2);
	probe__handler_release(&s.h);
	cJSON_Delete(p);

	static const char *const bad[] = {
		"{}",
		"{\"exec\":{\"command\":[]}}",
		"{\"tcpSocket\":{\"port\":0}}",
		"{\"tcpSocket\":{\"port\":70000}}",
		"{\"tcpSocket\":{\"port\":\"nope\"}}",
		"{\"httpGet\":{\"port\":80,\"path\":\"/a\\r\\nX: y\"}}",
		"{\"httpGet\":{\"port\":80,\"httpHeaders\":[{\"name\":\"X\",\"value\":\"a\\r\\nEvil: 1\"}]}}",
		"{\"httpGet\":{\"port\":80,\"httpHeaders\":[{\"name\":\"Bad Name\",\"value\":\"a\"}]}}",
		"{\"httpGet\":{\"port\":80,\"scheme\":\"FTP\"}}",
		"{\"sleep\":{\"seconds\":-1}}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		p = J(bad[i]);
		if (probe__spec_decode(p, ctr, PROBE_LIVENESS, &s, &err) != -EINVAL)
			test_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
		ASSERT_NOT_NULL(err);
		free(err);
		err = NULL;
		cJSON_Delete(p);
	}
	cJSON_Delete(ctr);
}

TEST(probe_http_status_line)
{
	ASSERT_EQ(probe__http_status("HTTP/1.1 200 OK\r\n", 17), 200);
	ASSERT_EQ(probe__http_status("HTTP/1.0 302 Found\r\n", 20), 302);
	ASSERT_EQ(probe__http_status("HTTP/1.1 404\r\n", 14), 404);
	ASSERT_EQ(probe__http_status("HTTP/1.1 20", 11), -EINVAL);
	ASSERT_EQ(probe__http_status("HTTP/2 200 OK\r\n", 15), -EINVAL);
	ASSERT_EQ(probe__http_status("HTTP/1.1 2x0 OK\r\n", 17), -EINVAL);
	ASSERT_EQ(probe__http_status("HTTP/1.1 2000 OK\r\n", 18), -EINVAL);
	ASSERT_EQ(probe__http_status("garbage garbage", 15), -EINVAL);
}

/* ---- a tiny HTTP server in a thread ---- */

struct srv {
	int fd, port;
	const char *resp;	/* NULL: accept and say nothing */
	char req[4096];
	pthread_t th;
};

static void *srv_main(void *arg)
{
	struct srv *s = arg;

	for (;;) {
		int c = accept(s->fd, NULL, NULL);
		ssize_t n;

		if (c < 0)
			return NULL;
		n = recv(c, s->req, sizeof(s->req) - 1, 0);
		s->req[n > 0 ? n : 0] = '\0';
		if (s->resp)
			send(c, s->resp, strlen(s->resp), MSG_NOSIGNAL);
		else
			usleep(1500 * 1000);
		close(c);
	}
}

static void srv_start(struct srv *s, const char *resp)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->resp = resp;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_OK(bind(s->fd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(listen(s->fd, 16));
	ASSERT_OK(getsockname(s->fd, (struct sockaddr *)&a, &l));
	s->port = ntohs(a.sin_port);
	pthread_create(&s->th, NULL, srv_main, s);
}

/* A port nothing listens on. */
static int dead_port(void)
{
	struct srv s;
	int p;

	srv_start(&s, "x");
	p = s.port;
	shutdown(s.fd, SHUT_RDWR);
	close(s.fd);
	pthread_join(s.th, NULL);
	return p;
}

static int http_check(int port, const char *extra, unsigned timeout_ms, char **msg)
{
	char *t = xasprintf("{\"httpGet\":{\"port\":%d,\"path\":\"/h?x=1\"%s}}", port, extra);
	cJSON *j = J(t);
	struct probe_handler h;
	struct probe_target tg = { .pod_ip = "127.0.0.1", .timeout_ms = timeout_ms };
	char *err = NULL;
	int ret;

	ASSERT_OK(probe__handler_decode(j, NULL, &h, &err));
	ret = probe__run(&h, &tg, false, msg);
	probe__handler_release(&h);
	cJSON_Delete(j);
	free(t);
	return ret;
}

TEST(probe_http_and_tcp_local)
{
	struct srv ok, bad, redir, mute;
	char *msg = NULL;
	uint64_t t0;

	srv_start(&ok, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	srv_start(&bad, "HTTP/1.1 503 Service Unavailable\r\n\r\n");
	srv_start(&redir, "HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n");
	srv_start(&mute, NULL);
	ASSERT_OK(http_check(ok.port, ",\"httpHeaders\":[{\"name\":\"X-Probe\",\"value\":\"yes\"}]", 1000, &msg));
	ASSERT_TRUE(str_has_prefix(ok.req, "GET /h?x=1 HTTP/1.1\r\n"));
	ASSERT_TRUE(strstr(ok.req, "\r\nUser-Agent: kube-probe/1.36\r\n") != NULL);
	ASSERT_TRUE(strstr(ok.req, "\r\nX-Probe: yes\r\n") != NULL);
	char *host = xasprintf("\r\nHost: 127.0.0.1:%d\r\n", ok.port);
	ASSERT_TRUE(strstr(ok.req, host) != NULL);
	ASSERT_OK(http_check(ok.port, ",\"httpHeaders\":[{\"name\":\"Host\",\"value\":\"vh.example\"}]", 1000, &msg));
	ASSERT_TRUE(strstr(ok.req, "\r\nHost: vh.example\r\n") != NULL);
	ASSERT_OK(http_check(redir.port, "", 1000, &msg));
	ASSERT_EQ(http_check(bad.port, "", 1000, &msg), -EIO);
	ASSERT_STR_EQ(msg, "HTTP probe failed with statuscode: 503");
	free(msg);
	ASSERT_EQ(http_check(dead_port(), "", 1000, &msg), -ECONNREFUSED);
	ASSERT_TRUE(strstr(msg, "Connection refused") != NULL);
	free(msg);
	t0 = mono_ms();
	ASSERT_EQ(http_check(mute.port, "", 300, &msg), -ETIMEDOUT);
	ASSERT_TRUE(mono_ms() - t0 < 1000);
	ASSERT_TRUE(strstr(msg, "context deadline exceeded") != NULL);
	free(msg);
	ASSERT_NE(http_check(ok.port, ",\"scheme\":\"HTTPS\"", 1000, &msg), 0);	/* not TLS */
	ASSERT_TRUE(str_has_prefix(msg, "Get \"https://127.0.0.1:"));
	free(msg);

	/* tcpSocket */
	struct probe_handler h = { .action = PA_TCP, .port = ok.port };
	struct probe_target tg = { .timeout_ms = 1000 };
	ASSERT_OK(probe__run(&h, &tg, false, &msg));
	h.port = dead_port();
	ASSERT_EQ(probe__run(&h, &tg, false, &msg), -ECONNREFUSED);
	free(msg);
}

static bool port_open(int port)
{
	struct probe_handler h = { .action = PA_TCP, .port = port };
	struct probe_target tg = { .timeout_ms = 200 };
	char *msg = NULL;
	int r = probe__run(&h, &tg, false, &msg);

	free(msg);
	return r == 0;
}

TEST(probe_https_without_verification)
{
	const char *d = test_tmpdir();
	char *cmd, *msg = NULL;
	int port = dead_port();
	pid_t srv;

	cmd = xasprintf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
			"-keyout %s/k.pem -out %s/c.pem -days 1 -subj /CN=probe >/dev/null 2>&1", d, d);
	if (system(cmd) != 0) {
		printf("# skipped: openssl cannot make a certificate\n");
		return;
	}
	srv = fork();
	if (srv == 0) {
		char p[16], c[PATH_MAX], k[PATH_MAX];

		snprintf(p, sizeof(p), "%d", port);
		snprintf(c, sizeof(c), "%s/c.pem", d);
		snprintf(k, sizeof(k), "%s/k.pem", d);
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", p,
		       "-cert", c, "-key", k, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !port_open(port); i++)
		usleep(50 * 1000);
	int https = http_check(port, ",\"scheme\":\"HTTPS\"", 2000, &msg);
	char *https_msg = msg;
	int plain = http_check(port, "", 1000, &msg);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	if (https)
		test_fail(__FILE__, __LINE__, "https probe failed: %s", https_msg);
	ASSERT_NE(plain, 0);	/* plain HTTP to a TLS port */
	free(msg);
}

/* Brings lo up in the current network namespace. */
static void lo_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ioctl(s, SIOCSIFFLAGS, &ifr);
	close(s);
}

TEST(probe_http_inside_netns)
{
	int pfd[2];
	pid_t child;
	char port_s[16] = "", *netns, *msg = NULL;
	struct probe_handler h;
	cJSON *j;
	char *err = NULL;

	if (geteuid() != 0) {
		printf("# skipped: needs root\n");
		return;
	}
	ASSERT_OK(pipe(pfd));
	child = fork();
	if (child == 0) {
		struct srv s;

		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		lo_up();
		srv_start(&s, "HTTP/1.1 204 No Content\r\n\r\n");
		dprintf(pfd[1], "%d\n", s.port);
		pause();
		_exit(0);
	}
	ASSERT_TRUE(read(pfd[0], port_s, sizeof(port_s) - 1) > 0);
	netns = xasprintf("/proc/%d/ns/net", (int)child);
	j = J(xasprintf("{\"httpGet\":{\"port\":%d}}", atoi(port_s)));
	ASSERT_OK(probe__handler_decode(j, NULL, &h, &err));
	struct probe_target in = { .netns = netns, .timeout_ms = 1000 };
	struct probe_target out = { .timeout_ms = 1000 };
	int r_in = probe__run(&h, &in, false, &msg);
	free(msg);
	int r_out = probe__run(&h, &out, false, &msg);	/* not reachable from here */
	free(msg);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ASSERT_OK(r_in);
	ASSERT_NE(r_out, 0);
	probe__handler_release(&h);
}

/* ---- exec through a fake runc ---- */

/* A runc stand-in: `--root R exec --pid-file F ID CMD...` runs CMD here. */
static void fake_rt(struct rt *rt, const char *id)
{
	char *runc = xasprintf("%s/runc", test_tmpdir());
	const char *script = "#!/bin/sh\nshift 3\npf=$2\nshift 3\necho $$ > \"$pf\"\nexec \"$@\"\n";

	ASSERT_OK(write_file_atomic(runc, script, strlen(script), 0755));
	memset(rt, 0, sizeof(*rt));
	rt->runc = runc;
	rt->runc_root = "/nonexistent";
	rt->state_dir = test_tmpdir();
	ASSERT_OK(mkdir_p(xasprintf("%s/%s", test_tmpdir(), id), 0755));
}

TEST(probe_exec_sync_code_output_timeout)
{
	struct rt rt;
	struct buf out = BUF_INIT;
	const char *const hello[] = { "sh", "-c", "echo hi; echo err >&2; exit 3", NULL };
	const char *const big[] = { "head", "-c", "50000", "/dev/zero", NULL };
	char *mark = xasprintf("%s/slow.pid", test_tmpdir());
	char *slow_cmd = xasprintf("echo $$ > %s; exec sleep 10", mark);
	const char *const slow[] = { "sh", "-c", slow_cmd, NULL };
	char *pid_s = NULL;
	size_t len;
	int code;
	uint64_t t0;

	fake_rt(&rt, "c1");
	ASSERT_OK(rt_container_exec_sync(&rt, "c1", hello, 5000, &out, &code));
	ASSERT_EQ(code, 3);
	ASSERT_STR_EQ(buf_str(&out), "hi\nerr\n");
	buf_reset(&out);
	ASSERT_OK(rt_container_exec_sync(&rt, "c1", big, 5000, &out, &code));
	ASSERT_EQ(code, 0);
	ASSERT_EQ(out.len, RT_EXEC_OUTPUT_MAX);
	t0 = mono_ms();
	ASSERT_EQ(rt_container_exec_sync(&rt, "c1", slow, 200, NULL, &code), -ETIMEDOUT);
	ASSERT_LT(mono_ms() - t0, 2000);
	/* the command was killed */
	ASSERT_OK(read_file(mark, 64, &pid_s, &len));
	ASSERT_TRUE(atoi(pid_s) > 0);
	ASSERT_TRUE(kill(atoi(pid_s), 0) < 0 && errno == ESRCH);
	ASSERT_EQ(rt_container_exec_sync(&rt, "../x", hello, 200, NULL, &code), -EINVAL);
	buf_release(&out);
}

/* ---- the manager on a loop ---- */

struct seen {
	int n[3];
	bool last[3];
	int order[8];
	int norder;
	int hooks;
	int hook_rc[4];
	char hook_msg[4][128];
};

static void on_result(void *ud, const char *uid, const char *ctr, enum probe_kind k, bool ok,
		      const char *msg)
{
	struct seen *s = ud;

	(void)msg;
	ASSERT_STR_EQ(uid, "u1");
	ASSERT_STR_EQ(ctr, "c");
	s->n[k]++;
	s->last[k] = ok;
	if (s->norder < 8)
		s->order[s->norder++] = k;
}

static void stop_loop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void run_for(uv_loop_t *loop, unsigned ms)
{
	uv_timer_t t;

	uv_timer_init(loop, &t);
	uv_timer_start(&t, stop_loop, ms, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

TEST(probe_manager_startup_gates_and_liveness_holds)
{
	struct srv ok;
	struct probe_manager *m;
	struct seen s = { 0 };
	uv_loop_t loop;
	char *t;
	cJSON *ctr;

	srv_start(&ok, "HTTP/1.1 200 OK\r\n\r\n");
	t = xasprintf("{\"name\":\"c\",\"startupProbe\":{\"tcpSocket\":{\"port\":%d},\"periodSeconds\":1},"
		      "\"livenessProbe\":{\"tcpSocket\":{\"port\":%d},\"periodSeconds\":1,\"failureThreshold\":1},"
		      "\"readinessProbe\":{\"httpGet\":{\"port\":%d},\"periodSeconds\":1}}",
		      ok.port, dead_port(), ok.port);
	ctr = J(t);
	uv_loop_init(&loop);
	ASSERT_OK(probe_manager_new(&loop, NULL, &m));
	ASSERT_OK(probe_container_start(m, "u1", ctr, "u1_c_0", NULL, "127.0.0.1", on_result, &s));
	run_for(&loop, 1600);
	ASSERT_EQ(s.n[PROBE_STARTUP], 1);
	ASSERT_TRUE(s.last[PROBE_STARTUP]);
	ASSERT_EQ(s.order[0], PROBE_STARTUP);	/* nothing before startup succeeded */
	ASSERT_EQ(s.n[PROBE_READINESS], 1);
	ASSERT_TRUE(s.last[PROBE_READINESS]);
	ASSERT_EQ(s.n[PROBE_LIVENESS], 1);	/* reported once, then held */
	ASSERT_FALSE(s.last[PROBE_LIVENESS]);
	probe_container_stop(m, "u1", "c");
	run_for(&loop, 50);
	probe_manager_free(m);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
	cJSON_Delete(ctr);
}

static void hook_done(void *ud, int rc, const char *msg)
{
	struct seen *s = ud;

	if (s->hooks < 4) {
		s->hook_rc[s->hooks] = rc;
		snprintf(s->hook_msg[s->hooks], sizeof(s->hook_msg[0]), "%s", msg ? msg : "");
	}
	s->hooks++;
}

TEST(probe_hooks_run_once_each)
{
	struct probe_manager *m;
	struct seen s = { 0 };
	struct rt rt;
	uv_loop_t loop;
	cJSON *sleep_h = J("{\"sleep\":{\"seconds\":0}}"), *bad = J("{\"nothing\":{}}");
	cJSON *exec_h = J("{\"exec\":{\"command\":[\"sh\",\"-c\",\"echo no; exit 1\"]}}");
	cJSON *slow = J("{\"sleep\":{\"seconds\":30}}");

	fake_rt(&rt, "c1");
	uv_loop_init(&loop);
	ASSERT_OK(probe_manager_new(&loop, &rt, &m));
	ASSERT_OK(probe_run_hook(m, sleep_h, "c1", NULL, NULL, 1000, hook_done, &s));
	run_for(&loop, 100);
	ASSERT_EQ(s.hooks, 1);
	ASSERT_OK(s.hook_rc[0]);
	ASSERT_OK(probe_run_hook(m, bad, "c1", NULL, NULL, 1000, hook_done, &s));
	ASSERT_EQ(s.hooks, 1);	/* never inside the call */
	run_for(&loop, 100);
	ASSERT_EQ(s.hooks, 2);
	ASSERT_EQ(s.hook_rc[1], -EINVAL);
	ASSERT_OK(probe_run_hook(m, exec_h, "c1", NULL, NULL, 2000, hook_done, &s));
	run_for(&loop, 500);
	ASSERT_EQ(s.hooks, 3);
	ASSERT_EQ(s.hook_rc[2], -EIO);
	ASSERT_STR_EQ(s.hook_msg[2], "command \"sh\" exited with 1: no\n");
	/* a sleep longer than the grace period ends with it */
	ASSERT_OK(probe_run_hook(m, slow, "c1", NULL, NULL, 100, hook_done, &s));
	run_for(&loop, 400);
	ASSERT_EQ(s.hooks, 4);
	probe_manager_free(m);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
	cJSON_Delete(sleep_h);
	cJSON_Delete(bad);
	cJSON_Delete(exec_h);
	cJSON_Delete(slow);
}

/* ---- grpc ---- */

TEST(probe_grpc_wire_format)
{
	struct buf b = BUF_INIT;
	static const unsigned char serving[] = { 0, 0, 0, 0, 2, 0x08, 0x01 };
	static const unsigned char not_serving[] = { 0, 0, 0, 0, 2, 0x08, 0x02 };
	static const unsigned char empty[] = { 0, 0, 0, 0, 0 };
	static const unsigned char truncated[] = { 0, 0, 0, 0, 3, 0x08, 0x01 };
	static const unsigned char compressed[] = { 1, 0, 0, 0, 2, 0x08, 0x01 };
	static const unsigned char bad_varint[] = { 0, 0, 0, 0, 2, 0x08, 0x81 };

	probe__grpc_request(&b, "10.0.0.1:50051", "svc");
	ASSERT_TRUE(str_has_prefix(b.data, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
	/* SETTINGS (empty), then HEADERS on stream 1 with END_HEADERS */
	ASSERT_EQ(memcmp(b.data + 24, "\0\0\0\4\0\0\0\0\0", 9), 0);
	ASSERT_EQ((unsigned char)b.data[33 + 3], 1);
	ASSERT_EQ((unsigned char)b.data[33 + 4], 4);
	ASSERT_EQ((unsigned char)b.data[33 + 8], 1);
	ASSERT_TRUE(memmem(b.data, b.len, "/grpc.health.v1.Health/Check", 28) != NULL);
	/* the DATA frame ends the request: prefix + field 1 "svc" */
	ASSERT_EQ(memcmp(b.data + b.len - 10, "\0\0\0\0\5\x0a\3svc", 10), 0);
	buf_release(&b);
	ASSERT_EQ(probe__grpc_status(serving, sizeof(serving)), 1);
	ASSERT_EQ(probe__grpc_status(not_serving, sizeof(not_serving)), 2);
	ASSERT_EQ(probe__grpc_status(empty, sizeof(empty)), 0);	/* UNKNOWN (proto3 default) */
	ASSERT_EQ(probe__grpc_status(truncated, sizeof(truncated)), -1);
	ASSERT_EQ(probe__grpc_status(compressed, sizeof(compressed)), -1);
	ASSERT_EQ(probe__grpc_status(bad_varint, sizeof(bad_varint)), -1);
	ASSERT_EQ(probe__grpc_status(serving, 3), -1);
}

static const char grpc_server_py[] =
	"import grpc\n"
	"from concurrent import futures\n"
	"state = {'': 1, 'down': 2}\n"
	"def check(req, ctx):\n"
	"    s = req[2:2 + req[1]].decode() if len(req) >= 2 else ''\n"
	"    if s not in state:\n"
	"        ctx.abort(grpc.StatusCode.NOT_FOUND, 'unknown service')\n"
	"    return bytes([8, state[s]])\n"
	"h = grpc.method_handlers_generic_handler('grpc.health.v1.Health',\n"
	"    {'Check': grpc.unary_unary_rpc_method_handler(check)})\n"
	"srv = grpc.server(futures.ThreadPoolExecutor(2))\n"
	"srv.add_generic_rpc_handlers((h,))\n"
	"port = srv.add_insecure_port('127.0.0.1:0')\n"
	"srv.start()\n"
	"print(port, flush=True)\n"
	"srv.wait_for_termination()\n";

static int grpc_check(int port, const char *service, char **msg)
{
	char *t = xasprintf("{\"grpc\":{\"port\":%d%s%s%s}}", port, service ? ",\"service\":\"" : "",
			    service ? service : "", service ? "\"" : "");
	cJSON *j = J(t);
	struct probe_handler h;
	struct probe_target tg = { .pod_ip = "127.0.0.1", .timeout_ms = 3000 };
	char *err = NULL;
	int ret;

	*msg = NULL;
	ASSERT_OK(probe__handler_decode(j, NULL, &h, &err));
	ret = probe__run(&h, &tg, false, msg);
	probe__handler_release(&h);
	cJSON_Delete(j);
	free(t);
	return ret;
}

TEST(probe_grpc_against_grpcio)
{
	char *py = xasprintf("%s/health.py", test_tmpdir()), port_s[16] = "";
	char *m1, *m2, *m3, *m4;
	int pfd[2], r1, r2, r3, r4;
	pid_t srv;

	if (access("/usr/bin/python3", X_OK) ||
	    system("/usr/bin/python3 -c 'import grpc' >/dev/null 2>&1") != 0) {
		printf("# skipped: /usr/bin/python3 with grpc (python3-grpcio) missing\n");
		return;
	}
	ASSERT_OK(write_file_atomic(py, grpc_server_py, strlen(grpc_server_py), 0644));
	ASSERT_OK(pipe(pfd));
	srv = fork();
	if (srv == 0) {
		dup2(pfd[1], 1);
		execl("/usr/bin/python3", "python3", py, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	ASSERT_TRUE(read(pfd[0], port_s, sizeof(port_s) - 1) > 0);
	r1 = grpc_check(atoi(port_s), NULL, &m1);
	r2 = grpc_check(atoi(port_s), "down", &m2);
	r3 = grpc_check(atoi(port_s), "nope", &m3);
	r4 = grpc_check(dead_port(), NULL, &m4);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	if (r1)
		test_fail(__FILE__, __LINE__, "SERVING service failed: %s", m1);
	ASSERT_EQ(r2, -EIO);
	ASSERT_STR_EQ(m2, "service unhealthy (responded with \"NOT_SERVING\")");
	ASSERT_EQ(r3, -EIO);
	ASSERT_TRUE(strstr(m3, "no health response") != NULL);
	ASSERT_EQ(r4, -ECONNREFUSED);
	ASSERT_TRUE(strstr(m4, "rpc error") != NULL);
}
