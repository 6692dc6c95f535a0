/*
 * agent/overlay.h - internals of the agent's node-to-node network
 * (agent/overlay*.c): it publishes this node's VTEP MACs and public
 * addresses as Node annotations, watches all Nodes and has net/ program one
 * route (+ neighbour + FDB entry with VXLAN) per other node and pod family,
 * plus the masquerade table. See docs/network.md.
 *
 * Threads: everything here runs on the agent's loop except the sync itself
 * (net_overlay_sync(), net_masq_sync()), which runs on the libuv thread
 * pool, one at a time, on a snapshot of the wanted state.
 *
 * Lifecycle: overlay__start() after the API client exists; overlay__stop()
 * before the client is freed. Stopping detaches: the overlay frees itself
 * once a sync in flight has finished. Kernel state stays in place, so pods
 * keep their connectivity while the agent restarts.
 */
#ifndef K1S_AGENT_OVERLAY_H
#define K1S_AGENT_OVERLAY_H

#include <cjson/cJSON.h>
#include <uv.h>

#include "agent.h"
#include "net/net.h"

/* Node annotations (one per family; flannel publishes the same facts as
 * flannel.alpha.coreos.com/{backend-type,backend-data,public-ip,public-ipv6}). */
#define OVERLAY_ANN_BACKEND "k1s.io/network-backend"	/* "vxlan" | "host-gw" */
#define OVERLAY_ANN_PUBLIC_IP "k1s.io/public-ip"	/* IPv4 underlay address */
#define OVERLAY_ANN_PUBLIC_IP6 "k1s.io/public-ip6"	/* IPv6 underlay address */
#define OVERLAY_ANN_VTEP_MAC "k1s.io/vtep-mac"		/* MAC of k1s.vx4 */
#define OVERLAY_ANN_VTEP_MAC6 "k1s.io/vtep-mac6"	/* MAC of k1s.vx6 */

/* Full resync (drift repair) interval, and the retry backoff, in ms. */
#define OVERLAY_RESYNC_MS 30000
#define OVERLAY_BACKOFF_MIN_MS 500
#define OVERLAY_BACKOFF_MAX_MS 30000
/* Informer bursts are coalesced for this long, in ms. */
#define OVERLAY_COALESCE_MS 20

struct overlay;
struct api_client;

/* Checks the network flags of cfg (backend, VNI, port, cluster CIDR).
 * 0 or -EINVAL with a malloc'd *err. */
int overlay__check(const struct agent_config *cfg, char **err);

/* Starts publishing and syncing for node (ips: its given InternalIPs).
 * With --network-backend none, *out = NULL and nothing runs. 0 or -errno
 * with a malloc'd *err. */
int overlay__start(uv_loop_t *loop, struct api_client *api, const struct agent_config *cfg,
		   const char *node, const char *const *ips, size_t n_ips,
		   struct overlay **out, char **err);
/* Stops informer, timer and syncs (see Lifecycle). NULL is fine. */
void overlay__stop(struct overlay *o);
/* Calls fn with the pod MTU (uplink MTU minus the overlay's overhead) now if
 * known and whenever it changes; o may be NULL (backend none). */
void overlay__on_mtu(struct overlay *o, void (*fn)(void *ud, unsigned mtu), void *ud);

/* Decodes what the overlay needs of a Node into *out: podCIDRs (or the old
 * podCIDR), public addresses (annotations, else the InternalIPs), VTEP MACs.
 * -EINVAL when it has no name or an unparsable podCIDR. */
int overlay__peer_decode(const cJSON *node, struct net_overlay_peer *out);

#endif
