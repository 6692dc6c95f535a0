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
#include "bench/lib/bench.h"
#include "lib/http.h"
#include "lib/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv)
{
	struct bench_server srv;
	struct bench_client c = { 0 };
	struct phase ph = { .loop = uv_default_loop() };
	int served = 0;
	double cm_c, cr_c, cm_g, cr_g;

	if (argc < 2 || bench_server_start(&srv, argv[1], "crd", 38000 + (getpid() % 2000), NULL)) {
		fprintf(stderr, "usage: crd-bench K1S_BINARY\n");
		return 2;
	}
	if (bench_client_init(&c, ph.loop, &srv, CLIENTS, "crd"))
		goto out;
	ph.cli = c.cli;
	ph.base = c.base;
	if (bench_call(&c, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd_body,
		       10000, NULL, NULL) != 201) {
		fprintf(stderr, "crd-bench: cannot create the CRD\n");
		goto out;
	}
	for (int i = 0; i < 100 && !served; i++) {
		served = bench_call(&c, "GET", "/apis/bench.example.com/v1/namespaces/default/widgets", NULL,
				    10000, NULL, NULL) == 200;
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
	bench_client_release(&c);
	bench_server_stop(&srv, "crd");
	return 0;
}
