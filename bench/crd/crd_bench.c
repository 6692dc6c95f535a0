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
	bool cr;		/* custom resource, else ConfigMap */
	bool get;		/* gets, else creates */
	int seq;		/* first object number of a create phase */
};

static void make_req(struct bench_load *l, int i, struct bench_req *req)
{
	const struct phase *ph = l->ud;
	int n = i + (ph->get ? 0 : ph->seq);
	const char *coll = ph->cr ? "/apis/bench.example.com/v1/namespaces/default/widgets" :
				    "/api/v1/namespaces/default/configmaps";

	if (ph->get) {
		req->path = xasprintf("%s/obj-%d", coll, n % OPS);
		return;
	}
	req->method = "POST";
	req->path = xstrdup(coll);
	req->body = ph->cr ?
		xasprintf("{\"apiVersion\":\"bench.example.com/v1\",\"kind\":\"Widget\",\"metadata\":"
			  "{\"name\":\"obj-%d\"},\"spec\":{\"k\":\"value-%d\"}}", n, n) :
		xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"obj-%d\"},"
			  "\"data\":{\"k\":\"value-%d\",\"size\":\"3\",\"color\":\"blue\"}}", n, n);
}

/* Requests per second of one phase, or -1 if any failed. */
static double run(struct bench_client *c, bool cr, bool get, int seq)
{
	struct phase ph = { cr, get, seq };
	struct bench_load l = { .c = c, .clients = CLIENTS, .total = OPS, .make = make_req, .ud = &ph };
	double secs = bench_load_run(&l);

	return l.errors ? -1 : l.done / secs;
}

int main(int argc, char **argv)
{
	struct bench_server srv;
	struct bench_client c = { 0 };
	uv_loop_t *loop = uv_default_loop();
	int served = 0;
	double cm_c, cr_c, cm_g, cr_g;

	if (argc < 2 || bench_server_start(&srv, argv[1], "crd", 38000 + (getpid() % 2000), NULL)) {
		fprintf(stderr, "usage: crd-bench K1S_BINARY\n");
		return 2;
	}
	if (bench_client_init(&c, loop, &srv, CLIENTS, "crd"))
		goto out;
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
	cm_c = run(&c, false, false, 0);
	cr_c = run(&c, true, false, 0);
	cm_c = fmax(cm_c, run(&c, false, false, OPS));
	cr_c = fmax(cr_c, run(&c, true, false, OPS));
	cm_g = run(&c, false, true, 0);
	cr_g = run(&c, true, true, 0);
	cm_g = fmax(cm_g, run(&c, false, true, 0));
	cr_g = fmax(cr_g, run(&c, true, true, 0));
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
