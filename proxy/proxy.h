/*
 * proxy/proxy.h - the service proxy: Services and their endpoints turned into
 * nftables rules (kube-proxy's nftables mode, programmed with libnftnl and
 * libmnl; no nft binary at run time).
 *
 * Invariants
 * - k1s touches only its own tables: `ip k1s-proxy` and `ip6 k1s-proxy`
 *   (struct proxy_config.table). One table per family, like kube-proxy, not
 *   one `inet` table: every map key and every rule names an address of one
 *   family anyway, so an inet table would only hold two copies side by side
 *   and need an extra `meta nfproto` test per lookup; and a single-stack node
 *   simply has no ip6 table. See docs/proxy.md for the layout.
 * - Policy code never sees JSON: the agent decodes Services and
 *   EndpointSlices once (proxy_service_decode(), proxy_slice_decode()) into
 *   the structs below and hands those over.
 * - Every sync is one atomic netlink batch (BATCH_BEGIN ... BATCH_END): the
 *   kernel sees all of it or none of it.
 * - After the first full sync the proxy keeps an in-memory model of what it
 *   put in the kernel (chain and set names and map elements per service), so
 *   proxy_update() rewrites only that service's chains and elements; it
 *   never lists the table. Its cost does not depend on the service count.
 *   Before each update one GETTABLE checks that our tables still exist; if
 *   someone deleted one, the update becomes a full sync (drift repair).
 *
 * Extending: a new rule shape is one `enum proxy__op` value in proxy_int.h,
 * one case in the netlink emitter (proxy/nft.c); policy goes in
 * proxy/render.c.
 */
#ifndef K1S_PROXY_PROXY_H
#define K1S_PROXY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "lib/inet.h"

/* Limits of one object; decoding rejects more with -E2BIG. */
#define PROXY_MAX_IPS 8		/* clusterIPs, externalIPs, LB ingress each */
#define PROXY_MAX_PORTS 64	/* ports of one service */
#define PROXY_MAX_ZONES 8	/* hints.forZones of one endpoint */
#define PROXY_NAME_MAX 64	/* namespace, name, zone: 63 + NUL */
#define PROXY_PORT_NAME_MAX 16	/* a port name is an IANA_SVC_NAME: 15 + NUL */
#define PROXY_NODE_MAX 254	/* a node name: 253 + NUL */

/* Sharding: the kernel re-validates a whole table (every chain reachable
 * from its base chains) on each commit that adds a jump, so one table's
 * update cost grows with its size. Services are therefore spread by a hash
 * of namespace/name over 1..PROXY_MAX_SHARDS tables "<table>",
 * "<table>-1", ...; each holds the NAT entry chains and maps of its
 * services, the first also the filter chains, the no-endpoint maps and
 * masquerading. A new connection is looked up once per table. */
#define PROXY_SHARD_SERVICES 128
#define PROXY_MAX_SHARDS 256

/* Masquerade mark put on packets that must be source-NATed (like
 * kube-proxy's 0x4000). */
#define PROXY_MASQ_MARK 0x4000u
/* Mark bit the base table sets on a new connection's first packet when its
 * destination is a local address (not loopback), before the service tables
 * look it up: the NodePort lookup of each table tests this bit instead of
 * asking the FIB itself (one route lookup instead of one per table). The
 * base table clears it again after the service tables (and in
 * masquerading, for packets a service table DNATed). */
#define PROXY_NODE_MARK 0x8000u

enum proxy_type { PROXY_CLUSTER_IP, PROXY_NODE_PORT, PROXY_LOAD_BALANCER };
/* Traffic policy (external and internal): Cluster or Local. */
enum proxy_policy { PROXY_POLICY_CLUSTER, PROXY_POLICY_LOCAL };

struct proxy_port {
	char name[PROXY_PORT_NAME_MAX];	/* "" for an unnamed single port */
	uint8_t protocol;		/* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	uint16_t port;			/* the service port */
	uint16_t node_port;		/* 0: none */
};

/* One endpoint address with its conditions. The target port of each
 * service port is resolved per endpoint (EndpointSlice ports):
 * target_ports[i] belongs to service port i, 0 = this endpoint does not
 * serve that port. */
struct proxy_endpoint {
	struct inet_addr addr;
	bool ready, serving, terminating;
	char node_name[PROXY_NODE_MAX];	/* "" when unknown */
	size_t n_hint_zones;		/* hints.forZones; 0 = no hints */
	uint32_t hint_zones[PROXY_MAX_ZONES];	/* proxy_zone_hash() of each name: 32 bytes
						 * instead of 512 per endpoint (the bulk of
						 * a 10,000-service sync's memory) */
	uint16_t target_ports[PROXY_MAX_PORTS];
};

/* A Service with its endpoints, as the proxy needs it. Headless services
 * (no cluster IP) and ExternalName ones are not handed to the proxy. */
struct proxy_service {
	char namespace[PROXY_NAME_MAX];
	char name[PROXY_NAME_MAX];
	enum proxy_type type;
	size_t n_cluster_ips;
	struct inet_addr cluster_ips[PROXY_MAX_IPS];
	size_t n_external_ips;
	struct inet_addr external_ips[PROXY_MAX_IPS];
	size_t n_lb_ips;		/* status.loadBalancer.ingress[].ip */
	struct inet_addr lb_ips[PROXY_MAX_IPS];
	size_t n_ports;
	struct proxy_port ports[PROXY_MAX_PORTS];
	enum proxy_policy external_policy;	/* externalTrafficPolicy */
	enum proxy_policy internal_policy;	/* internalTrafficPolicy */
	bool affinity;			/* sessionAffinity ClientIP */
	uint32_t affinity_timeout;	/* in seconds (default 10800) */
	size_t n_endpoints;
	struct proxy_endpoint *endpoints;	/* owned: free with proxy_service_release() */
};

/* The hash hint zones are kept as (32-bit FNV-1a of the name). */
uint32_t proxy_zone_hash(const char *zone);

/* Frees svc->endpoints (and nothing else; svc itself is the caller's). */
void proxy_service_release(struct proxy_service *svc);

/* Decodes a v1 Service object into *out (zeroed first). Fields the proxy
 * does not use are ignored; an unparsable IP, an unknown protocol or a
 * missing name is -EINVAL, more than the PROXY_MAX_* limits -E2BIG, a
 * service with nothing to proxy (headless, ExternalName) -ENOENT.
 * Endpoints are left empty: add them with proxy_slice_decode(). */
int proxy_service_decode(const cJSON *svc, struct proxy_service *out);

/* Appends the endpoints of one discovery.k8s.io/v1 EndpointSlice of svc to
 * svc->endpoints, resolving each slice port to the service port of the same
 * name. Conditions follow upstream defaults (absent ready = ready, absent
 * serving = ready). Slices of a family none of the cluster IPs has are
 * skipped. -EINVAL on a malformed slice (svc unchanged). */
int proxy_slice_decode(const cJSON *slice, struct proxy_service *svc);

struct proxy_config {
	const char *table;		/* NULL: "k1s-proxy" */
	const char *node_name;		/* this node, for Local policies */
	const char *zone;		/* this node's zone; NULL or "": none */
	bool ipv4, ipv6;		/* families to program */
	/* Pod CIDRs of the cluster: traffic to a cluster IP from outside
	 * them is masqueraded (kube-proxy's --cluster-cidr). 0 = none. */
	size_t n_cluster_cidrs;
	struct inet_prefix cluster_cidrs[4];
	/* Service tables (see "Sharding" above); 0 = chosen at each full
	 * sync: one per PROXY_SHARD_SERVICES services, a power of two. */
	unsigned shards;
};

struct proxy;

/* Opens a netfilter netlink socket. *out is freed with proxy_free(). The
 * config strings are copied. Nothing is programmed yet. -errno. */
int proxy_new(const struct proxy_config *cfg, struct proxy **out);
/* Forgets the model and closes the socket; the tables stay in the kernel
 * (proxy_flush() removes them). */
void proxy_free(struct proxy *p);

/* Full sync: replaces our tables with exactly these services, in one
 * batch (affinity state is lost), choosing the table count anew. The
 * services are not kept. -errno, and on failure the kernel is left as it
 * was. */
int proxy_sync(struct proxy *p, const struct proxy_service *const *svcs, size_t n);
/* Adds or replaces one service (keyed by namespace/name): one batch that
 * deletes only what changed of its chains and elements and adds the new.
 * Needs a prior proxy_sync() (else -EINVAL). If our table went missing,
 * this repairs it with a full sync of the model: the model then keeps the
 * rendered state of every service, so nothing is lost. */
int proxy_update(struct proxy *p, const struct proxy_service *svc);
/* Removes one service's rules; -ENOENT when unknown. */
int proxy_remove(struct proxy *p, const char *ns, const char *name);
/* Drift check: asks the kernel whether every one of our tables still
 * exists (one GETTABLE each) and, if one is gone, rewrites all of them from
 * the model in one batch. 1 when it repaired, 0 when nothing was missing,
 * -errno. Needs a prior proxy_sync() (else -EINVAL). */
int proxy_repair(struct proxy *p);
/* Deletes our tables (if present) and empties the model. */
int proxy_flush(struct proxy *p);

/* Deletes the UDP conntrack entries whose reply comes from one of eps
 * (endpoints that went away), in the current network namespace. Returns how
 * many were deleted, or -errno. */
int proxy_conntrack_clear_udp(const struct inet_addr *eps, size_t n);

/* Counters of the last sync, for logs and the benchmark. */
struct proxy_stats {
	size_t services;	/* services in the model */
	size_t messages;	/* netlink messages of the last batch */
	size_t bytes;		/* bytes of the last batch */
	bool repaired;		/* the last update found a table missing */
};
void proxy_stats(const struct proxy *p, struct proxy_stats *out);

/* Endpoint selection, exposed for tests. Fills use[] (n_endpoints long)
 * with true for the endpoints that take traffic for the given scope:
 * local = false: traffic to cluster IPs (internal policy, topology hints);
 * local = true: this node's endpoints only (external policy Local).
 * Returns how many are used. */
size_t proxy_select(const struct proxy_service *svc, const char *node_name,
		    const char *zone, bool local, bool *use);

#endif
