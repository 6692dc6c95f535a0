/* dns/dns.h - the cluster DNS server: a record zone, its answers, and a
 * UDP/TCP server on libuv that forwards everything else upstream.
 *
 * Three layers, each usable alone:
 *
 *   struct dns_zone    cluster state in typed structs (services, their
 *                      endpoints, pods), indexed by name (hash, O(1)) and by
 *                      IP (hash, O(1), for PTR). Fed by add/update/remove
 *                      calls; the zone deep-copies what it is given, so the
 *                      caller keeps ownership of its arguments.
 *   dns_zone_answer()  one query message in, one response message out: the
 *                      Kubernetes DNS specification as CoreDNS's kubernetes
 *                      plugin serves it (A/AAAA/SRV/PTR/CNAME/TXT, NODATA with
 *                      SOA vs NXDOMAIN with SOA, TTL 5 s, case-insensitive).
 *                      Pure function of (zone, bytes): what the fuzzer drives.
 *   struct dns_server  libuv UDP + TCP listeners (IPv4/IPv6), EDNS0,
 *                      truncation, limits, and a forwarder with a cache for
 *                      names outside the cluster domain.
 *
 * The wire parser is our own (see docs/dns.md for why not ldns). Every input
 * has a named limit below; messages that cannot be parsed are answered
 * FORMERR when a header could be read and dropped otherwise.
 *
 * Not thread-safe: a zone and a server belong to one loop thread.
 */
#ifndef K1S_DNS_H
#define K1S_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define DNS_TTL			5	/* seconds, every cluster record */
#define DNS_DEFAULT_DOMAIN	"cluster.local"
#define DNS_VERSION_TXT		"1.1.0"	/* dns-version.<domain> TXT */
#define DNS_MAX_MSG		65535	/* bytes, TCP message limit */
#define DNS_MIN_UDP		512	/* bytes, UDP without EDNS0 */
#define DNS_EDNS_UDP		1232	/* bytes, UDP payload we advertise */
#define DNS_MAX_NAME		255	/* bytes, wire form of a name */
#define DNS_MAX_IPS		2	/* clusterIPs / pod IPs (one per family) */
#define DNS_MAX_PORTS		64	/* named ports per service */
#define DNS_MAX_ENDPOINTS	1000	/* endpoints per service (more: -EINVAL) */
#define DNS_MAX_UPSTREAMS	3	/* nameservers read from resolv.conf */

/* RR types and rcodes we name (wire values). */
enum {
	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6,
	DNS_T_PTR = 12, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SRV = 33,
	DNS_T_OPT = 41, DNS_T_ANY = 255,
};
enum {
	DNS_RC_NOERROR = 0, DNS_RC_FORMERR = 1, DNS_RC_SERVFAIL = 2,
	DNS_RC_NXDOMAIN = 3, DNS_RC_NOTIMP = 4, DNS_RC_REFUSED = 5,
	DNS_RC_BADVERS = 16,	/* extended: needs an OPT record */
};

enum dns_proto { DNS_PROTO_TCP, DNS_PROTO_UDP, DNS_PROTO_SCTP };

/* An address: family is AF_INET (first 4 bytes of ip used) or AF_INET6. */
struct dns_addr {
	int family;
	uint8_t ip[16];
};

/* Parses "10.0.0.1" or "fd00::1" into a; 0 or -EINVAL. */
int dns_addr_parse(struct dns_addr *a, const char *s);

struct dns_port {
	const char *name;	/* IANA_SVC_NAME; unnamed ports get no SRV */
	enum dns_proto proto;
	uint16_t port;
};

struct dns_endpoint {
	struct dns_addr addr;
	bool ready;		/* only ready endpoints are answered */
	const char *hostname;	/* optional: <hostname>.<svc>.<ns>.svc.<domain> */
	const char *node_name;	/* optional, kept for callers; not answered */
};

/* A Service as DNS sees it. Strings are copied by the zone. */
struct dns_service {
	const char *name;
	const char *ns;
	struct dns_addr cluster_ips[DNS_MAX_IPS];
	size_t n_cluster_ips;
	bool headless;			/* clusterIP: None: answer endpoints */
	const char *external_name;	/* non-NULL: type ExternalName (CNAME) */
	const struct dns_port *ports;
	size_t n_ports;			/* <= DNS_MAX_PORTS */
};

struct dns_zone;

/* New empty zone for domain (NULL: "cluster.local"); free with
 * dns_zone_free(). Can't fail. */
struct dns_zone *dns_zone_new(const char *domain);
void dns_zone_free(struct dns_zone *z);

/* Adds or replaces a service (its endpoints are kept). -EINVAL on a name
 * that is not a DNS-1123 label or a limit exceeded; the zone is unchanged. */
int dns_zone_set_service(struct dns_zone *z, const struct dns_service *svc);
/* Removes a service and its endpoints; -ENOENT when absent. */
int dns_zone_remove_service(struct dns_zone *z, const char *ns, const char *name);
/* Replaces the endpoints of service ns/name (all its EndpointSlices merged
 * by the caller). May come before the service; kept until the service is
 * removed or they are set empty. Only headless services answer them. */
int dns_zone_set_endpoints(struct dns_zone *z, const char *ns, const char *name,
			   const struct dns_endpoint *eps, size_t n);
/* Adds or replaces a pod's IPs (for PTR and verified pod records). */
int dns_zone_set_pod(struct dns_zone *z, const char *ns, const char *name,
		     const struct dns_addr *ips, size_t n);
int dns_zone_remove_pod(struct dns_zone *z, const char *ns, const char *name);
/* Pod A records: insecure (default, as k3s's Corefile "pods insecure")
 * answers any well-formed dashed IP; verified answers only a pod's own IP in
 * its namespace. */
void dns_zone_set_pods_verified(struct dns_zone *z, bool verified);
/* The clusterIPs of service ns/name (none for headless, ExternalName or
 * absent ones) into ips; returns how many. */
size_t dns_zone_service_ips(const struct dns_zone *z, const char *ns, const char *name,
			    struct dns_addr ips[DNS_MAX_IPS]);
/* Counts, for tests and metrics. */
size_t dns_zone_services(const struct dns_zone *z);
size_t dns_zone_pods(const struct dns_zone *z);

/* Outcome of dns_zone_answer(). */
enum dns_answer_kind {
	DNS_ANSWERED,	/* out holds the response */
	DNS_FORWARD,	/* not ours (outside the domain, or a PTR we don't
			 * know): forward the query; out is empty */
	DNS_DROP,	/* too broken to answer (no full header, or a response) */
};

/* Answers one query message q (qlen bytes) into out (DNS_MAX_MSG bytes),
 * setting *outlen. Over UDP (udp) the response is truncated (TC=1, no
 * records) when it exceeds min(client's EDNS0 size, DNS_EDNS_UDP), or 512
 * without EDNS0; over TCP it is whole. */
enum dns_answer_kind dns_zone_answer(const struct dns_zone *z,
				     const uint8_t *q, size_t qlen, bool udp,
				     uint8_t *out, size_t *outlen);

/* Upstream list from a resolv.conf. */
struct dns_upstreams {
	struct dns_addr addr[DNS_MAX_UPSTREAMS];
	uint16_t port[DNS_MAX_UPSTREAMS];	/* 53 unless overridden */
	size_t n;
};
/* Reads "nameserver" lines of path (up to DNS_MAX_UPSTREAMS); skips
 * loopback addresses when skip_loopback. 0, -ENOENT/-errno of the read, or
 * -ENODATA when no usable nameserver remains. */
int dns_resolv_parse(const char *path, bool skip_loopback, struct dns_upstreams *u);

struct dns_server_config {
	const char *const *listen;	/* "ip" or "ip:port"/"[ip6]:port", NULL-ended;
					 * port 0 picks a free port (same for UDP/TCP) */
	uint16_t default_port;		/* for listen entries without a port; 53 */
	const char *resolv_conf;	/* NULL: no forwarding (REFUSED) */
	bool skip_loopback;		/* drop loopback nameservers entirely */
	uint16_t upstream_port;		/* 0: 53 (tests point it at a fake) */
	unsigned upstream_timeout_ms;	/* per attempt; 0: 2000 */
	unsigned upstream_attempts;	/* total tries over the list; 0: 3 */
	size_t cache_entries;		/* 0: 10000 */
	unsigned cache_max_ttl;		/* seconds, positive answers; 0: 3600 */
	unsigned cache_neg_ttl;		/* seconds cap, negative; 0: 300 */
	size_t max_pending;		/* in-flight forwards; 0: 1024 */
	size_t max_tcp_conns;		/* 0: 256 */
	unsigned tcp_idle_ms;		/* 0: 10000 */
	unsigned max_qps;		/* 0: unlimited; excess UDP is dropped */
};

#define DNS_STAT_TYPES	9	/* A AAAA SRV PTR CNAME TXT NS SOA, other */
#define DNS_FWD_BUCKETS	16	/* forward latency buckets, 0.25 ms .. 8.192 s */

struct dns_stats {
	uint64_t queries, udp, tcp;
	uint64_t by_type[2][DNS_STAT_TYPES];	/* [0 udp, 1 tcp][type] */
	uint64_t rcode[24];		/* responses by rcode (0..23) */
	uint64_t dropped, truncated;
	uint64_t forwarded, upstream_queries, cache_hits, cache_misses;
	uint64_t forward_timeouts;
	uint64_t forward_ns_total;	/* sum of forward latency, for the mean */
	uint64_t fwd_answers;		/* upstream answers timed */
	uint64_t fwd_hist[DNS_FWD_BUCKETS + 1];	/* by latency bucket; last: over */
};

struct dns_server;

/* Binds every listen address (UDP and TCP) on loop and starts serving
 * zone, which the caller keeps alive and may update at any time. -errno
 * of the first bind that fails (nothing stays bound). Free with
 * dns_server_close(); the memory goes in the loop's close callbacks. */
int dns_server_start(uv_loop_t *loop, struct dns_zone *z,
		     const struct dns_server_config *cfg, struct dns_server **out);
/* The bound port of listen entry i (for port 0). */
uint16_t dns_server_port(const struct dns_server *s, size_t i);
const struct dns_stats *dns_server_stats(const struct dns_server *s);
/* Drops the forward cache (for tests). */
void dns_server_flush_cache(struct dns_server *s);
/* Closes all handles; the server is freed once the loop ran their close
 * callbacks. */
void dns_server_close(struct dns_server *s);

/* ---- metrics (metrics.c) ----
 *
 * The counters as Prometheus text with CoreDNS's metric names
 * (coredns_dns_requests_total{proto,type}, coredns_dns_responses_total
 * {rcode}, coredns_cache_hits_total / _misses_total,
 * coredns_forward_requests_total, coredns_forward_request_duration_seconds
 * histogram) plus k1s_dns_* for what CoreDNS has no name for. A minimal HTTP
 * listener serves them on GET /metrics (anything else: 404).
 */
struct buf;
struct dns_metrics;
typedef void (*dns_metrics_render_fn)(struct buf *out, void *ud);

/* Appends the text for st (and z's sizes, if z) to b. */
void dns_metrics_text(const struct dns_stats *st, const struct dns_zone *z, struct buf *b);
/* Listens on TCP port of each address in ips (NULL-ended; an address that
 * cannot be bound is logged and skipped) and answers GET /metrics with
 * what render appends. 0 when at least one listens, else -errno of the
 * first failure (nothing stays open). Free with dns_metrics_close(). */
int dns_metrics_start(uv_loop_t *loop, const char *const *ips, uint16_t port,
		      dns_metrics_render_fn render, void *ud, struct dns_metrics **out);
/* Closes the listeners and connections; memory goes in close callbacks. */
void dns_metrics_close(struct dns_metrics *m);

/* ---- the zone fed from the API (feed.c) ----
 *
 * Informers (lib/apiclient.h) on Services, EndpointSlices and optionally
 * Pods keep a zone current: each event sets or removes the records of that
 * one object (a slice event re-merges only the slices of its service).
 * Objects that cannot be served (a limit exceeded, a name that is not a DNS
 * label) are logged and left out; a Service without a clusterIP yet is
 * left out until it gets one.
 */
struct cJSON;
struct api_client;
struct dns_feed;

/* Decodes a v1 Service. Strings point into obj (valid while it lives), the
 * named ports go to ports. -ENOENT when it has no clusterIP yet, -EINVAL
 * when malformed or over a limit. */
int dns_service_decode(const struct cJSON *obj, struct dns_service *out,
		       struct dns_port ports[DNS_MAX_PORTS]);
/* Appends the endpoints of a discovery.k8s.io/v1 EndpointSlice to *eps
 * (*n used, *alloc allocated; grown with xrealloc; strings point into
 * slice). FQDN slices add nothing. -E2BIG beyond DNS_MAX_ENDPOINTS. */
int dns_slice_decode(const struct cJSON *slice, struct dns_endpoint **eps,
		     size_t *n, size_t *alloc);
/* The IPs a pod answers for (none for hostNetwork pods and finished ones). */
int dns_pod_decode(const struct cJSON *pod, struct dns_addr ips[DNS_MAX_IPS], size_t *n);

/* Starts the informers on c (pods: also a Pod informer, for pod PTRs and
 * verified pod records) feeding z, which must outlive the feed. 0 or
 * -errno. */
int dns_feed_start(struct api_client *c, struct dns_zone *z, bool pods,
		   struct dns_feed **out);
/* True once every informer completed its first list. */
bool dns_feed_synced(const struct dns_feed *f);
/* Events applied so far (tests, metrics). */
uint64_t dns_feed_events(const struct dns_feed *f);
/* Stops the informers (no more zone changes) and frees f (the last bytes
 * in a close callback of the loop). Must run before the client is freed. */
void dns_feed_free(struct dns_feed *f);

#endif
