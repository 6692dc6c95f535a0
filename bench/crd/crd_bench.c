/*
 * bench/crd - the cost of a custom resource on the write and read paths.
 *
 * Starts `k1s server --disable-agent` in a temporary data dir, creates a
 * CRD whose schema has defaults, bounds and a pattern, waits until it is
 * served, then with 16 requests in flight over HTTPS measures creates/s and
 * gets/s of that custom resource and of a ConfigMap of similar size, in the
 * same run (the ConfigMap is the reference: the built-in path without a
 * run-time schema). Each phase runs twice, alternating, and the better
 * figure counts. Prints the figures; never fails on a time.
 *
 * Usage: crd-bench K1S_BINARY
 */
#include "lib/http.h"
#include "lib/tls.h"
#include "lib/util.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OPS 1000	/* requests per phase */
#define CLIENTS 16	/* requests in flight */

static const char crd_body[] =
	"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
	"\"metadata\":{\"name\":\"widgets.bench.example.com\"},\"spec\":{\"group\":\"bench.example.com\","
	"\"scope\":\"Namespaced\",\"names\":{\"plural\":\"widgets\",\"kind\":\"Widget\"},\"versions\":[{"
	"\"name\":\"v1\",\"served\":true,\"storage\":true,\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\","
	"\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	"\"size\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100,\"default\":3},"
	"\"color\":{\"type\":\"string\",\"pattern\":\"^[a-z]+$\",\"default\":\"blue\"},"
	"\"k\":{\"type\":\"string\"}}}}}}}]}}";

struct phase {
	uv_loop_t *loop;
	struct http_client *cli;
	const char *base;
	bool cr;		/* custom resource, else ConfigMap */
	bool get;		/* gets, else creates */
	int started, done, total, errors;
	int seq;		/* first object number of a create phase */
	uint64_t t0;
};

static void start_one(struct phase *ph);

static void on_done(struct http_call *call, int err, struct http_response *resp, void *ud)
{
	struct phase *ph = ud;

	(void)call;
	if (err || !resp || resp->status >= 300)
		ph->errors++;
	ph->done++;
	if (ph->started < ph->total)
		start_one(ph);
	else if (ph->done == ph->total)
		uv_stop(ph->loop);
}

static void start_one(struct phase *ph)
{
	static const struct http_header json[] = { { "Content-Type", "application/json" } };
	struct http_call_opts o = { .timeout_ms = 30000, .on_complete = on_done, .ud = ph };
	struct http_call *call;
	int n = ph->started++ + (ph->get ? 0 : ph->seq);
	char *url, *body = NULL;

	if (ph->cr)
		url = xasprintf("%s/apis/bench.example.com/v1/namespaces/default/widgets", ph->base);
	else
		url = xasprintf("%s/api/v1/namespaces/default/configmaps", ph->base);
	if (ph->get) {
		char *u = xasprintf("%s/obj-%d", url, n % OPS);

		free(url);
		url = u;
	} else {
		body = ph->cr ?
			xasprintf("{\"apiVersion\":\"bench.example.com/v1\",\"kind\":\"Widget\",\"metadata\":"
				  "{\"name\":\"obj-%d\"},\"spec\":{\"k\":\"value-%d\"}}", n, n) :
			xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"obj-%d\"},"
				  "\"data\":{\"k\":\"value-%d\",\"size\":\"3\",\"color\":\"blue\"}}", n, n);
		o.method = "POST";
		o.headers = json;
		o.n_headers = 1;
		o.body = body;
		o.body_len = strlen(body);
	}
	o.url = url;
	if (http_call_start(ph->cli, &o, &call)) {
		ph->errors++;
		ph->done++;
	}
	free(url);
	free(body);
}

static double run(struct phase *ph, bool cr, bool get, int seq)
{
	ph->seq = seq;
	ph->cr = cr;
	ph->get = get;
	ph->started = ph->done = ph->errors = 0;
	ph->total = OPS;
	ph->t0 = mono_ns();
	for (int i = 0; i < CLIENTS; i++)
		start_one(ph);
	uv_run(ph->loop, UV_RUN_DEFAULT);
	return ph->errors ? -1 : ph->done / ((mono_ns() - ph->t0) / 1e9);
}

struct once {
	uv_loop_t *loop;
	int status;
};

static void once_done(struct http_call *call, int err, struct http_response *resp, void *ud)
{
	struct once *w = ud;

	(void)call;
	w->status = err ? err : resp->status;
	uv_stop(w->loop);
}

/* One request, waited for; returns the HTTP status (or -errno). */
static int call_once(struct phase *ph, const char *method, const char *path, const char *body)
{
	static const struct http_header json[] = { { "Content-Type", "application/json" } };
	struct once w = { ph->loop, -1 };
	char *url = xasprintf("%s%s", ph->base, path);
	struct http_call_opts o = { .url = url, .method = method, .timeout_ms = 10000,
				    .on_complete = once_done, .ud = &w };
	struct http_call *call;

	if (body) {
		o.headers = json;
		o.n_headers = 1;
		o.body = body;
		o.body_len = strlen(body);
	}
	if (!http_call_start(ph->cli, &o, &call))
		uv_run(ph->loop, UV_RUN_DEFAULT);
	free(url);
	return w.status;
}

static pid_t start_server(const char *bin, const char *dir, int port)
{
	char portbuf[16], *ready = xasprintf("%s/ready", dir), *kc = xasprintf("%s/kubeconfig", dir);
	pid_t pid;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execl(bin, bin, "server", "--disable-agent", "--data-dir", dir, "--https-listen-port",
		      portbuf, "--write-kubeconfig", kc, "--ready-file", ready, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		struct stat st;

		if (!stat(ready, &st))
			break;
		usleep(50000);
	}
	free(ready);
	free(kc);
	return pid;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/k1s-crd-bench-XXXXXX", *crt, *key, *ca, *base, *err = NULL;
	struct tls_config_opts to = { .server = false };
	struct http_client_opts co = { .max_idle_per_host = CLIENTS };
	struct tls_config *tls = NULL;
	struct phase ph = { .loop = uv_default_loop() };
	int port = 38000 + (getpid() % 2000), served = 0;
	double cm_c, cr_c, cm_g, cr_g;
	pid_t pid;

	if (argc < 2 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: crd-bench K1S_BINARY\n");
		return 2;
	}
	pid = start_server(argv[1], dir, port);
	crt = xasprintf("%s/server/tls/client-admin.crt", dir);
	key = xasprintf("%s/server/tls/client-admin.key", dir);
	ca = xasprintf("%s/server/tls/server-ca.crt", dir);
	base = xasprintf("https://127.0.0.1:%d", port);
	to.cert_file = crt;
	to.key_file = key;
	to.ca_file = ca;
	if (tls_config_new(&to, &tls, &err)) {
		fprintf(stderr, "crd-bench: cannot load client certificate: %s\n", err ? err : "?");
		goto out;
	}
	co.tls = tls;
	http_client_new(ph.loop, &co, &ph.cli);
	ph.base = base;
	if (call_once(&ph, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd_body) != 201) {
		fprintf(stderr, "crd-bench: cannot create the CRD\n");
		goto out;
	}
	for (int i = 0; i < 100 && !served; i++) {
		served = call_once(&ph, "GET", "/apis/bench.example.com/v1/namespaces/default/widgets", NULL) == 200;
		if (!served)
			usleep(20000);
	}
	if (!served) {
		fprintf(stderr, "crd-bench: the custom resource is not served\n");
		goto out;
	}
	/* each phase runs twice, alternating, best of two: the machine is
	 * shared and fsync latency varies from one second to the next */
	cm_c = run(&ph, false, false, 0);
	cr_c = run(&ph, true, false, 0);
	cm_c = fmax(cm_c, run(&ph, false, false, OPS));
	cr_c = fmax(cr_c, run(&ph, true, false, OPS));
	cm_g = run(&ph, false, true, 0);
	cr_g = run(&ph, true, true, 0);
	cm_g = fmax(cm_g, run(&ph, false, true, 0));
	cr_g = fmax(cr_g, run(&ph, true, true, 0));
	printf("bench/crd: %d requests each, %d in flight, same server and run\n", OPS, CLIENTS);
	printf("  create  configmap: %8.0f/s   custom resource (schema: defaults, bounds, pattern): %8.0f/s   (%.0f%%)\n",
	       cm_c, cr_c, cm_c > 0 ? 100.0 * cr_c / cm_c : 0);
	printf("  get     configmap: %8.0f/s   custom resource (pruned and defaulted on read):     %8.0f/s   (%.0f%%)\n",
	       cm_g, cr_g, cm_g > 0 ? 100.0 * cr_g / cm_g : 0);
out:
	if (ph.cli)
		http_client_free(ph.cli);
	tls_config_unref(tls);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	{
		char *cmd = xasprintf("rm -rf '%s'", dir);

		if (system(cmd))
			fprintf(stderr, "crd-bench: cannot remove %s\n", dir);
		free(cmd);
	}
	free(base);
	free(crt);
	free(key);
	free(ca);
	free(err);
	return 0;
}
