/*
 * bench/lib/bench.c - server, client and figures shared by the C
 * benchmarks (bench/lib/bench.h).
 */
#include "bench.h"
#include "lib/http.h"
#include "lib/tls.h"
#include "lib/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 24

int bench_server_start(struct bench_server *s, const char *bin, const char *name, int port,
		       const char *const *extra)
{
	char portbuf[16], *ready, *kc;
	const char *argv[MAX_ARGS];
	size_t k = 0;

	snprintf(s->dir, sizeof(s->dir), "/tmp/k1s-%s-bench-XXXXXX", name);
	s->port = port;
	s->pid = -1;
	if (!mkdtemp(s->dir))
		return -errno;
	ready = xasprintf("%s/ready", s->dir);
	kc = xasprintf("%s/kubeconfig", s->dir);
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	const char *fixed[] = { bin, "server", "--disable-agent", "--data-dir", s->dir,
				"--https-listen-port", portbuf, "--write-kubeconfig", kc,
				"--ready-file", ready };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		argv[k++] = fixed[i];
	for (size_t i = 0; extra && extra[i] && k < MAX_ARGS - 1; i++)
		argv[k++] = extra[i];
	argv[k] = NULL;
	s->pid = fork();
	if (s->pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < BENCH_READY_WAIT_MS / 50; i++) {
		struct stat st;

		if (!stat(ready, &st))
			break;
		usleep(50000);
	}
	free(ready);
	free(kc);
	return 0;
}

void bench_server_stop(struct bench_server *s, const char *name)
{
	char *cmd = xasprintf("rm -rf '%s'", s->dir);

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	if (system(cmd))
		fprintf(stderr, "%s-bench: cannot remove %s\n", name, s->dir);
	free(cmd);
}

int bench_client_init(struct bench_client *c, uv_loop_t *loop, const struct bench_server *s,
		      unsigned max_idle, const char *name)
{
	struct tls_config_opts to = { .server = false };
	struct http_client_opts co = { .max_idle_per_host = max_idle };
	char *crt = xasprintf("%s/server/tls/client-admin.crt", s->dir);
	char *key = xasprintf("%s/server/tls/client-admin.key", s->dir);
	char *ca = xasprintf("%s/server/tls/server-ca.crt", s->dir), *err = NULL;
	int r;

	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->base = xasprintf("https://127.0.0.1:%d", s->port);
	to.cert_file = crt;
	to.key_file = key;
	to.ca_file = ca;
	r = tls_config_new(&to, &c->tls, &err);
	if (!r) {
		co.tls = c->tls;
		r = http_client_new(loop, &co, &c->cli);
	} else {
		fprintf(stderr, "%s-bench: cannot load the client certificate: %s\n", name, err ? err : "?");
	}
	free(crt);
	free(key);
	free(ca);
	free(err);
	return r;
}

void bench_client_release(struct bench_client *c)
{
	if (c->cli)
		http_client_free(c->cli);
	c->cli = NULL;
	tls_config_unref(c->tls);
	c->tls = NULL;
	free(c->base);
	c->base = NULL;
}

struct call_ctx {
	uv_loop_t *loop;
	int status;
	cJSON **out;
	size_t bytes;
};

static void call_done(struct http_call *call, int err, struct http_response *resp, void *ud)
{
	struct call_ctx *w = ud;

	(void)call;
	w->status = err ? err : resp->status;
	w->bytes = resp ? resp->body.len : 0;
	if (w->out && !err && resp && resp->status == 200)
		*w->out = cJSON_ParseWithLength(resp->body.data, resp->body.len);
	uv_stop(w->loop);
}

int bench_call(struct bench_client *c, const char *method, const char *path, const char *body,
	       unsigned timeout_ms, cJSON **out, size_t *bytes)
{
	static const struct http_header json[] = { { "Content-Type", "application/json" } };
	struct call_ctx w = { c->loop, -EIO, out, 0 };
	char *url = xasprintf("%s%s", c->base, path);
	struct http_call_opts o = { .url = url, .method = method, .timeout_ms = timeout_ms,
				    .on_complete = call_done, .ud = &w };
	struct http_call *call;

	if (out)
		*out = NULL;
	if (body) {
		o.headers = json;
		o.n_headers = 1;
		o.body = body;
		o.body_len = strlen(body);
	}
	if (!http_call_start(c->cli, &o, &call))
		uv_run(c->loop, UV_RUN_DEFAULT);
	free(url);
	if (bytes)
		*bytes = w.bytes;
	return w.status;
}

struct load_req {
	struct bench_load *l;
	uint64_t start;
};

static void load_next(struct bench_load *l);

static void load_done(struct http_call *call, int err, struct http_response *resp, void *ud)
{
	struct load_req *lr = ud;
	struct bench_load *l = lr->l;

	(void)call;
	if (err || !resp || resp->status >= 300)
		l->errors++;
	if (l->lat_us)
		l->lat_us[l->done] = (mono_ns() - lr->start) / 1000;
	l->done++;
	free(lr);
	if (l->started < l->total)
		load_next(l);
	else if (l->done == l->total)
		uv_stop(l->c->loop);
}

static void load_next(struct bench_load *l)
{
	static const struct http_header json[] = { { "Content-Type", "application/json" } };
	struct load_req *lr = xcalloc(1, sizeof(*lr));
	struct bench_req req = { 0 };
	struct http_call_opts o = { .timeout_ms = 30000, .on_complete = load_done, .ud = lr };
	struct http_call *call;

	l->make(l, l->started++, &req);
	o.url = xasprintf("%s%s", l->c->base, req.path);
	o.method = req.method;
	if (req.body) {
		o.headers = json;
		o.n_headers = 1;
		o.body = req.body;
		o.body_len = strlen(req.body);
	}
	lr->l = l;
	lr->start = mono_ns();
	if (http_call_start(l->c->cli, &o, &call)) {
		l->errors++;
		l->done++;
		free(lr);
	}
	free((char *)o.url);
	free(req.path);
	free(req.body);
}

double bench_load_run(struct bench_load *l)
{
	uint64_t t0 = mono_ns();

	l->started = l->done = l->errors = 0;
	for (int i = 0; i < l->clients && i < l->total; i++)
		load_next(l);
	uv_run(l->c->loop, UV_RUN_DEFAULT);
	return (mono_ns() - t0) / 1e9;
}

uint64_t bench_pct(const uint64_t *sorted, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return n ? sorted[i] : 0;
}

int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int bench_cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

long bench_rss_kib(pid_t pid)
{
	char path[64], *data = NULL, *p;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_file(path, 1 << 16, &data, NULL))
		return -1;
	p = strstr(data, "VmRSS:");
	if (p)
		kib = strtol(p + 6, NULL, 10);
	free(data);
	return kib;
}
