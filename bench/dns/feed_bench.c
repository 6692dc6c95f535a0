/* bench/dns/feed_bench.c - the cluster DNS fed from a real API server: its
 * memory with N services, and how long a new Service takes to become
 * answerable.
 *
 *   dns-feed-bench KUBECONFIG N
 *
 * Creates Services bench/s0..s<N-1> (ClusterIP, one named port; those that
 * exist are kept, so a second run with a larger N adds the rest), then
 * starts what the agent runs (dns_feed_start + a dns_server on
 * 127.0.0.1:0) and waits for the first list. Prints the process RSS and
 * heap before and after, then creates LAT_SAMPLES more Services one at a
 * time and measures create-request-sent -> the zone answers its A record
 * (checked after every loop iteration, so the figure is API write + watch
 * delivery + zone update). Prints figures only; never fails on a time.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tests/unit/dns_testlib.h"

#define IN_FLIGHT 32
#define LAT_SAMPLES 20

static struct api_client *api;
static uv_loop_t *loop;
static long want, sent, done_n, failed;
static struct dns_zone *zone;
static int lat_i = -1;
static uint64_t lat_t0, lat_ns[LAT_SAMPLES];
static char lat_name[128];
static const char *run_id;

static long rss_kib(void)
{
	char *s = NULL;
	long v = -1;

	if (read_file("/proc/self/status", 1 << 16, &s, NULL) >= 0) {
		char *p = strstr(s, "VmRSS:");
		if (p)
			v = strtol(p + 6, NULL, 10);
	}
	free(s);
	return v;
}

/* malloc's figures in MiB: blocks in use (HEAP_USED), the same plus the
 * large blocks it mmapped (HEAP_ALL: big tables), freed but held
 * (HEAP_HELD: holes between live blocks). */
enum heap_what { HEAP_USED, HEAP_ALL, HEAP_HELD };

static double heap_mib(enum heap_what w)
{
	struct mallinfo2 mi = mallinfo2();
	size_t b = w == HEAP_HELD ? mi.fordblks : mi.uordblks + (w == HEAP_ALL ? mi.hblkhd : 0);

	return (double)b / (1024.0 * 1024.0);
}

static cJSON *svc_obj(const char *name)
{
	cJSON *o = cJSON_CreateObject(), *spec = json_obj(o, "spec"), *ports = cJSON_CreateArray();
	cJSON *p = cJSON_CreateObject();

	json_set_str(o, "apiVersion", "v1");
	json_set_str(o, "kind", "Service");
	json_set_str(json_obj(o, "metadata"), "name", name);
	json_set_str(p, "name", "http");
	json_set_int(p, "port", 80);
	cJSON_AddItemToArray(ports, p);
	json_set(spec, "ports", ports);
	return o;
}

static void create_next(void);

static void created(struct api_result *res, void *ud)
{
	(void)ud;
	if (!api_result_ok(res) && res->code != 409)
		failed++;
	done_n++;
	create_next();
	if (done_n == want)
		uv_stop(loop);
}

static void create_next(void)
{
	while (sent < want && sent - done_n < IN_FLIGHT) {
		char name[32];
		cJSON *o;

		snprintf(name, sizeof(name), "s%ld", sent++);
		o = svc_obj(name);
		api_create(api, "/api/v1/namespaces/bench/services", o, created, NULL);
		cJSON_Delete(o);
	}
}

static void ns_done(struct api_result *res, void *ud)
{
	(void)res;
	(void)ud;
	uv_stop(loop);
}

static bool answers(const char *name)
{
	uint8_t q[512], out[DNS_MAX_MSG];
	size_t ql = t_query(q, 1, name, DNS_T_A, 0), ol;
	struct t_resp r;

	if (dns_zone_answer(zone, q, ql, true, out, &ol) != DNS_ANSWERED || t_decode(out, ol, &r) < 0)
		return false;
	return r.rcode == 0 && r.an > 0;
}

static void lat_created(struct api_result *res, void *ud)
{
	(void)ud;
	if (!api_result_ok(res))
		fprintf(stderr, "create failed: %d %s\n", res->code, res->status.message);
}

static void lat_start(void)
{
	char name[64];
	cJSON *o;

	snprintf(name, sizeof(name), "lat-%s-%d", run_id, lat_i);
	snprintf(lat_name, sizeof(lat_name), "%s.bench.svc.cluster.local", name);
	o = svc_obj(name);
	lat_t0 = mono_ns();
	api_create(api, "/api/v1/namespaces/bench/services", o, lat_created, NULL);
	cJSON_Delete(o);
}

static void on_check(uv_check_t *h)
{
	(void)h;
	if (lat_i < 0 || lat_i >= LAT_SAMPLES || !answers(lat_name))
		return;
	lat_ns[lat_i++] = mono_ns() - lat_t0;
	if (lat_i == LAT_SAMPLES)
		uv_stop(loop);
	else
		lat_start();
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct api_kubeconfig kc;
	struct dns_feed *feed = NULL;
	struct dns_server *srv = NULL;
	const char *listen[] = { "127.0.0.1:0", NULL };
	struct dns_server_config cfg = { .listen = listen };
	uv_check_t check;
	char *err = NULL, rid[16];
	long rss0, rss1;
	double heap0, heap1;
	uint64_t t0;

	if (argc != 3) {
		fprintf(stderr, "usage: dns-feed-bench KUBECONFIG N\n");
		return 2;
	}
	want = atol(argv[2]);
	snprintf(rid, sizeof(rid), "%ld", want);
	run_id = rid;
	loop = uv_default_loop();
	if (api_kubeconfig_load(argv[1], &kc, &err) || api_client_new(loop, &kc, &api, &err)) {
		fprintf(stderr, "dns-feed-bench: %s\n", err ? err : "cannot connect");
		return 1;
	}
	api_kubeconfig_release(&kc);
	cJSON *ns = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"bench\"}}");
	api_create(api, "/api/v1/namespaces", ns, ns_done, NULL);
	cJSON_Delete(ns);
	uv_run(loop, UV_RUN_DEFAULT);
	t0 = mono_ns();
	create_next();
	if (want)
		uv_run(loop, UV_RUN_DEFAULT);
	printf("  %ld services in namespace bench (%ld failed), created in %.1f s\n", want, failed,
	       (double)(mono_ns() - t0) / 1e9);

	malloc_trim(0);
	rss0 = rss_kib();
	heap0 = heap_mib(HEAP_USED);
	zone = dns_zone_new(NULL);
	if (dns_feed_start(api, zone, true, &feed) || dns_server_start(loop, zone, &cfg, &srv)) {
		fprintf(stderr, "dns-feed-bench: cannot start the feed or the server\n");
		return 1;
	}
	t0 = mono_ns();
	while (!dns_feed_synced(feed))
		uv_run(loop, UV_RUN_ONCE);
	double sync_s = (double)(mono_ns() - t0) / 1e9;
	for (int i = 0; i < 10; i++)	/* the feed's heap trim runs on a 0 ms timer */
		uv_run(loop, UV_RUN_NOWAIT);
	rss1 = rss_kib();
	heap1 = heap_mib(HEAP_USED);
	printf("  first list applied in %.2f s: %zu services in the zone\n", sync_s, dns_zone_services(zone));
	printf("  RSS %.1f MiB, %.1f MiB before the DNS started (+%.1f MiB for the DNS: informers, zone,"
	       " server); heap +%.1f MiB in use, %.1f MiB freed but held\n",
	       rss1 / 1024.0, rss0 / 1024.0, (rss1 - rss0) / 1024.0, heap1 - heap0, heap_mib(HEAP_HELD));

	/* the zone alone: the same number of services in a second zone */
	double h0 = heap_mib(HEAP_ALL);
	struct dns_zone *z2 = dns_zone_new(NULL);
	for (long i = 0; i < want; i++) {
		char name[32];
		struct dns_port port = { "http", DNS_PROTO_TCP, 80 };
		struct dns_service s = { .name = name, .ns = "bench", .n_cluster_ips = 1,
					 .ports = &port, .n_ports = 1 };
		snprintf(name, sizeof(name), "s%ld", i);
		s.cluster_ips[0].family = AF_INET;
		memcpy(s.cluster_ips[0].ip, (uint8_t[]){ 10, 44, (uint8_t)(i >> 8), (uint8_t)i }, 4);
		dns_zone_set_service(z2, &s);
	}
	printf("  of which the zone (records and tables, mmapped ones too): %.1f MiB\n", heap_mib(HEAP_ALL) - h0);
	dns_zone_free(z2);

	uv_check_init(loop, &check);
	uv_check_start(&check, on_check);
	lat_i = 0;
	lat_start();
	uv_run(loop, UV_RUN_DEFAULT);
	qsort(lat_ns, LAT_SAMPLES, sizeof(lat_ns[0]), cmp_u64);
	printf("  update latency (create sent -> answerable), %d samples: p50 %.1f ms, max %.1f ms\n",
	       LAT_SAMPLES, lat_ns[LAT_SAMPLES / 2] / 1e6, lat_ns[LAT_SAMPLES - 1] / 1e6);
	printf("  feed events applied: %llu\n", (unsigned long long)dns_feed_events(feed));

	uv_close((uv_handle_t *)&check, NULL);
	dns_feed_free(feed);
	dns_server_close(srv);
	api_client_free(api);
	uv_run(loop, UV_RUN_DEFAULT);
	dns_zone_free(zone);
	return 0;
}
