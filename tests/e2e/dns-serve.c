/* tests/e2e/dns-serve.c - serves a cluster DNS zone loaded from JSON, for
 * tests/e2e/dns.test.sh and bench/dns (the agent will feed the same zone
 * from the API later).
 *
 *   dns-serve [--resolv-conf PATH] [--upstream-port N] [--synthetic N]
 *             [--max-qps N] [--domain D] ZONE.json PORTS_FILE LISTEN...
 *
 * LISTEN is "ip:port" or "[ip6]:port" (port 0: any free one). Once every
 * listener is bound the bound ports are written, space-separated, to
 * PORTS_FILE (atomically: poll for it). --synthetic adds N ClusterIP
 * services s<i>.synthetic with port http/tcp 80. SIGTERM/SIGINT stop it and
 * the final statistics go to stderr. ZONE.json:
 *
 *   {"services": [{"name": "web", "namespace": "default",
 *                  "clusterIPs": ["10.43.0.15", "fd43::15"], "headless": false,
 *                  "externalName": "example.org",
 *                  "ports": [{"name": "http", "protocol": "TCP", "port": 80}],
 *                  "endpoints": [{"ip": "10.42.1.10", "ready": true,
 *                                 "hostname": "db-0", "nodeName": "n1"}]}],
 *    "pods": [{"name": "p", "namespace": "default", "ips": ["10.42.0.5"]}]}
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

static int addrs(const cJSON *arr, struct dns_addr *out, size_t max, size_t *n)
{
	const cJSON *it;

	*n = 0;
	cJSON_ArrayForEach(it, arr) {
		if (*n >= max || !cJSON_IsString(it) || dns_addr_parse(&out[*n], it->valuestring) < 0)
			return -EINVAL;
		(*n)++;
	}
	return 0;
}

static int load_service(struct dns_zone *z, const cJSON *o)
{
	struct dns_service s = { 0 };
	struct dns_port ports[DNS_MAX_PORTS];
	struct dns_endpoint *eps;
	const cJSON *it;
	size_t neps = 0;
	int ret;

	s.name = json_get_str(o, "name", NULL);
	s.ns = json_get_str(o, "namespace", "default");
	s.headless = json_get_bool(o, "headless", false);
	s.external_name = json_get_str(o, "externalName", NULL);
	if ((ret = addrs(json_get(o, "clusterIPs"), s.cluster_ips, DNS_MAX_IPS, &s.n_cluster_ips)) < 0)
		return ret;
	cJSON_ArrayForEach(it, json_get(o, "ports")) {
		if (s.n_ports >= DNS_MAX_PORTS)
			return -EINVAL;
		const char *proto = json_get_str(it, "protocol", "TCP");
		ports[s.n_ports++] = (struct dns_port){
			json_get_str(it, "name", NULL),
			!strcmp(proto, "UDP") ? DNS_PROTO_UDP : !strcmp(proto, "SCTP") ? DNS_PROTO_SCTP : DNS_PROTO_TCP,
			(uint16_t)json_get_int(it, "port", 0) };
	}
	s.ports = ports;
	if ((ret = dns_zone_set_service(z, &s)) < 0)
		return ret;
	eps = xcalloc((size_t)cJSON_GetArraySize(json_get(o, "endpoints")) + 1, sizeof(*eps));
	cJSON_ArrayForEach(it, json_get(o, "endpoints")) {
		struct dns_endpoint *e = &eps[neps++];
		if (dns_addr_parse(&e->addr, json_get_str(it, "ip", "")) < 0) {
			free(eps);
			return -EINVAL;
		}
		e->ready = json_get_bool(it, "ready", true);
		e->hostname = json_get_str(it, "hostname", NULL);
		e->node_name = json_get_str(it, "nodeName", NULL);
	}
	ret = neps ? dns_zone_set_endpoints(z, s.ns, s.name, eps, neps) : 0;
	free(eps);
	return ret;
}

static int load(struct dns_zone *z, const char *path)
{
	char *data;
	size_t len;
	const cJSON *it;
	int ret = read_file(path, 64 << 20, &data, &len);

	if (ret < 0)
		return ret;
	cJSON *root = cJSON_ParseWithLength(data, len);
	free(data);
	if (!root)
		return -EINVAL;
	cJSON_ArrayForEach(it, json_get(root, "services"))
		if ((ret = load_service(z, it)) < 0)
			goto out;
	cJSON_ArrayForEach(it, json_get(root, "pods")) {
		struct dns_addr ips[DNS_MAX_IPS];
		size_t n;
		if ((ret = addrs(json_get(it, "ips"), ips, DNS_MAX_IPS, &n)) < 0 ||
		    (ret = dns_zone_set_pod(z, json_get_str(it, "namespace", "default"),
					    json_get_str(it, "name", ""), ips, n)) < 0)
			goto out;
	}
out:
	cJSON_Delete(root);
	return ret;
}

static void synthetic(struct dns_zone *z, long n)
{
	static const struct dns_port http = { "http", DNS_PROTO_TCP, 80 };

	for (long i = 0; i < n; i++) {
		char name[32];
		struct dns_service s = { .name = name, .ns = "synthetic", .n_cluster_ips = 1,
					 .ports = &http, .n_ports = 1 };
		snprintf(name, sizeof(name), "s%ld", i);
		s.cluster_ips[0].family = AF_INET;
		s.cluster_ips[0].ip[0] = 10, s.cluster_ips[0].ip[1] = 44;
		s.cluster_ips[0].ip[2] = (uint8_t)(i >> 8), s.cluster_ips[0].ip[3] = (uint8_t)i;
		if (dns_zone_set_service(z, &s) < 0)
			BUG("synthetic service %ld", i);
	}
}

static struct dns_server *srv;
static uv_signal_t sterm, sint;

static void on_signal(uv_signal_t *h, int sig)
{
	const struct dns_stats *st = dns_server_stats(srv);

	fprintf(stderr, "dns-serve: queries %" PRIu64 " udp %" PRIu64 " tcp %" PRIu64
		" forwarded %" PRIu64 " upstream %" PRIu64 " cache_hits %" PRIu64
		" dropped %" PRIu64 " truncated %" PRIu64 " nxdomain %" PRIu64 "\n",
		st->queries, st->udp, st->tcp, st->forwarded, st->upstream_queries,
		st->cache_hits, st->dropped, st->truncated, st->rcode[DNS_RC_NXDOMAIN]);
	dns_server_close(srv);
	uv_close((uv_handle_t *)&sterm, NULL);
	uv_close((uv_handle_t *)&sint, NULL);
}

int main(int argc, char **argv)
{
	struct dns_server_config cfg = { 0 };
	long synth = 0;
	const char *domain = NULL;
	int i = 1;

	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--resolv-conf"))
			cfg.resolv_conf = argv[i + 1];
		else if (!strcmp(argv[i], "--upstream-port"))
			cfg.upstream_port = (uint16_t)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--synthetic"))
			synth = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--domain"))
			domain = argv[i + 1];
		else if (!strcmp(argv[i], "--max-qps"))
			cfg.max_qps = (unsigned)atoi(argv[i + 1]);
		else
			break;
	}
	if (argc - i < 3) {
		fprintf(stderr, "usage: dns-serve [--resolv-conf P] [--upstream-port N] "
			"[--synthetic N] [--max-qps N] [--domain D] ZONE.json PORTS_FILE LISTEN...\n");
		return 2;
	}
	struct dns_zone *z = dns_zone_new(domain);
	int ret = load(z, argv[i]);
	if (ret < 0) {
		fprintf(stderr, "dns-serve: cannot load '%s': %s\n", argv[i], strerror(-ret));
		return 1;
	}
	synthetic(z, synth);
	cfg.listen = (const char *const *)argv + i + 2;
	uv_loop_t *loop = uv_default_loop();
	if ((ret = dns_server_start(loop, z, &cfg, &srv)) < 0)
		return 1;
	char ports[128] = "";
	for (size_t j = 0; argv[i + 2 + j]; j++)
		snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), "%s%u",
			 j ? " " : "", dns_server_port(srv, j));
	strcat(ports, "\n");
	if (write_file_atomic(argv[i + 1], ports, strlen(ports), 0644) < 0)
		return 1;
	uv_signal_init(loop, &sterm);
	uv_signal_init(loop, &sint);
	uv_signal_start(&sterm, on_signal, SIGTERM);
	uv_signal_start(&sint, on_signal, SIGINT);
	uv_run(loop, UV_RUN_DEFAULT);
	dns_zone_free(z);
	return 0;
}
