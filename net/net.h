/*
 * net/net.h - the pod network: rtnetlink (libmnl) links, addresses, routes,
 * neighbours and FDB entries; bridge, veth and VXLAN; sysctls; dual-stack
 * IPAM; MTU arithmetic.
 *
 * Invariants
 * - All link/address/route/neighbour/FDB work goes through netlink; this
 *   module never runs the `ip`, `bridge` or `sysctl` binaries. Sysctls are
 *   written as /proc/sys files.
 * - Every operation acts inside one network namespace, named by a struct
 *   net_ns handle. The handle's netlink socket is opened *inside* the target
 *   namespace by a short-lived thread that setns()'s into it; a netlink
 *   socket stays bound to the namespace it was created in, so the calling
 *   thread never changes namespace. Sysctl writes need the writer's own
 *   namespace, so they use the same short-lived-thread trick per call (or
 *   write directly when the handle is the caller's own namespace).
 * - Every call here blocks (netlink round trips, fsync). k1s runs one libuv
 *   loop per process, so callers run these helpers off-loop (uv_queue_work
 *   or a worker) and never share a struct net_ns or struct net_ipam between
 *   two threads at once.
 * - Links that k1s creates are named with the prefix "k1s" (bridge "k1s0",
 *   host veth ends net_veth_name()), except the pod end of a veth, "eth0";
 *   net_bridge_add/net_veth_add/net_vxlan_add reject other names (-EINVAL).
 * - Errors: every int-returning function returns 0 or -errno. The kernel's
 *   netlink error code is returned as is (e.g. -EEXIST, -ENODEV) and a
 *   one-line message naming the operation and object is kept in the handle
 *   (net_ns_error(), net_ipam_error()).
 *
 * Extending: a new netlink operation builds its request with net__msg()
 * (net/nl.h, module-internal) and sends it with net__request(); a dump
 * walks replies with net__dump() and a libmnl attribute callback.
 */
#ifndef K1S_NET_NET_H
#define K1S_NET_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/inet.h"

/* ---- limits ---------------------------------------------------------- */

#define NET_IFNAME_MAX IFNAMSIZ      /* 16, including the NUL */
#define NET_ERR_MAX 256              /* bytes of a handle's last error message */
#define NET_MSG_MAX 4096             /* bytes of one netlink request we build */
#define NET_RECV_MAX 32768           /* bytes of the receive buffer (dumps) */
#define NET_DUMP_MAX 65536           /* entries one dump may return */
#define NET_SYSCTL_MAX 256           /* bytes of a sysctl key or value */
#define NET_VXLAN_PORT 8472          /* default VXLAN UDP port (flannel, k3s) */
#define NET_VXLAN_OVERHEAD_V4 50     /* outer IPv4 20 + UDP 8 + VXLAN 8 + eth 14 */
#define NET_VXLAN_OVERHEAD_V6 70     /* outer IPv6 40 + UDP 8 + VXLAN 8 + eth 14 */
#define NET_MTU_MIN 1280             /* pods carry IPv6, which needs 1280 */
#define NET_MTU_MAX 65535

/* Addresses and prefixes: lib/inet.h (struct inet_addr, inet_prefix). */

/* ---- namespace handle and the netlink request layer ------------------- */

struct mnl_socket;

/* One network namespace and one NETLINK_ROUTE socket opened inside it. */
struct net_ns {
	struct mnl_socket *nl;
	int nsfd;             /* owned fd of the namespace (O_CLOEXEC) */
	uint32_t portid;
	uint32_t seq;         /* last sequence number sent */
	unsigned long ops;    /* netlink requests sent (for benchmarks) */
	uint64_t masq_fp[2];  /* net_masq_sync: fingerprint of our rules per family, 0 = none */
	char err[NET_ERR_MAX];
};

/* Opens a handle for the namespace at path ("/proc/<pid>/ns/net",
 * "/run/netns/NAME"), or for the calling thread's own namespace when path
 * is NULL. On failure the handle is left released and ns->err says why. */
int net_ns_open(struct net_ns *ns, const char *path);
/* The same from a namespace fd, which is duplicated (the caller keeps fd). */
int net_ns_open_fd(struct net_ns *ns, int fd);
/* Closes the socket and the fd. Safe on a zeroed or released handle. */
void net_ns_release(struct net_ns *ns);
/* The last error message ("" after success); owned by the handle. */
const char *net_ns_error(const struct net_ns *ns);

/* ---- links ------------------------------------------------------------ */

struct net_link {
	int ifindex;
	char name[NET_IFNAME_MAX];
	char kind[16];        /* "bridge", "veth", "vxlan", ... ("" if none) */
	unsigned mtu;         /* in bytes */
	unsigned flags;       /* IFF_* */
	int master;           /* ifindex of the master (bridge), 0 if none */
	uint8_t mac[6];
};

/* Looks a link up by name. -ENODEV when there is none. */
int net_link_get(struct net_ns *ns, const char *name, struct net_link *out);
/* All links of the namespace; *out is malloc'd, the caller frees it. */
int net_link_list(struct net_ns *ns, struct net_link **out, size_t *n);
int net_link_set_up(struct net_ns *ns, const char *name);
int net_link_set_down(struct net_ns *ns, const char *name);
/* mtu in bytes. */
int net_link_set_mtu(struct net_ns *ns, const char *name, unsigned mtu);
/* Enslaves name to the bridge master (master NULL = release from it). */
int net_link_set_master(struct net_ns *ns, const char *name, const char *master);
/* Moves a link into the namespace to (renamed to new_name unless NULL) in
 * one request. */
int net_link_move(struct net_ns *ns, const char *name, struct net_ns *to,
		  const char *new_name);
/* Deletes a link (a veth takes its peer with it). -ENODEV when absent. */
int net_link_del(struct net_ns *ns, const char *name);

/* Creates a bridge (-EEXIST when a link of that name exists), sets its MTU
 * when mtu is not 0; it stays down until net_link_set_up(). */
int net_bridge_add(struct net_ns *ns, const char *name, unsigned mtu);
/* Turns hairpin mode on/off for a bridge port (pod reaching itself via a
 * service IP). */
int net_bridge_port_set_hairpin(struct net_ns *ns, const char *port, bool on);

/* The host end of a veth, "k1s" + 8 hex digits of a hash of owner (e.g.
 * "<pod uid>/eth0"), into buf (NET_IFNAME_MAX bytes). Can't fail. */
char *net_veth_name(const char *owner, char *buf);

struct net_veth {
	const char *name;          /* host end, in the handle's namespace */
	struct net_ns *peer_ns;    /* the pod's namespace */
	const char *peer_name;     /* pod end, e.g. "eth0" */
	unsigned mtu;              /* both ends, in bytes (0 = kernel default) */
	const char *bridge;        /* host end joins this bridge (NULL = none) */
};

/* Creates a veth pair whose peer is created directly inside peer_ns under
 * its final name (so "eth0" never collides with a host link), attaches the
 * host end to the bridge and sets both ends up. On failure nothing is left
 * behind. -EEXIST when either name is taken. */
int net_veth_add(struct net_ns *ns, const struct net_veth *v);

struct net_vxlan {
	const char *name;          /* e.g. "k1s.vx4" / "k1s.vx6" */
	uint32_t vni;              /* 1..16777215 */
	struct inet_addr local;     /* VTEP address; its family = underlay family */
	const char *dev;           /* uplink to bind to, NULL = any */
	uint16_t port;             /* UDP port, 0 = NET_VXLAN_PORT */
	unsigned mtu;              /* 0 = kernel default */
	bool learning;             /* false: FDB programmed by us (flannel) */
};

/* Creates a VXLAN link (down). -EEXIST when the name is taken, -EINVAL for a
 * bad vni or address. */
int net_vxlan_add(struct net_ns *ns, const struct net_vxlan *v);

/* Creates a dummy link (down); the name must carry the "k1s" prefix.
 * -EEXIST when the name is taken. */
int net_dummy_add(struct net_ns *ns, const char *name);
/* Makes sure the dummy link name exists, is up and holds exactly addrs[0..n)
 * (other addresses, except the IPv6 link-local, are removed). Idempotent;
 * -EEXIST when a link of that name is not a dummy. */
int net_dummy_ensure(struct net_ns *ns, const char *name, const struct inet_prefix *addrs,
		     size_t n);

/* ---- addresses on links ----------------------------------------------- */

/* An address configured on a link. */
struct net_ifaddr {
	int ifindex;
	struct inet_prefix prefix;  /* address and prefix length */
	unsigned flags;            /* IFA_F_* */
	unsigned char scope;       /* RT_SCOPE_* */
};

/* Adds an address (prefix.addr is the host address, prefix.len the subnet).
 * IPv6 addresses are added with IFA_F_NODAD, so they are usable at once.
 * -EEXIST when present. */
int net_addr_add(struct net_ns *ns, const char *dev, const struct inet_prefix *p);
/* -EADDRNOTAVAIL when absent. */
int net_addr_del(struct net_ns *ns, const char *dev, const struct inet_prefix *p);
/* Addresses of dev (NULL = every link) of family (AF_UNSPEC = both);
 * *out is malloc'd, the caller frees it. */
int net_addr_list(struct net_ns *ns, const char *dev, int family,
		  struct net_ifaddr **out, size_t *n);

/* ---- routes (main table) ---------------------------------------------- */

/* The gateway is on-link even if no subnet says so (the VXLAN overlay). For
 * IPv4 the kernel still wants some route (e.g. the default) to cover it. */
#define NET_ROUTE_ONLINK 0x1u
#define NET_ROUTE_REPLACE 0x2u     /* replace an existing route instead of -EEXIST */
#define NET_ROUTE_F_ALL (NET_ROUTE_ONLINK | NET_ROUTE_REPLACE)

struct net_route {
	struct inet_prefix dst;     /* len 0 = default route */
	struct inet_addr gw;        /* family 0 = none (directly connected) */
	struct inet_addr src;       /* preferred source, family 0 = none */
	char dev[NET_IFNAME_MAX];  /* output link, "" = none (gateway decides) */
	unsigned mtu;              /* RTAX_MTU in bytes, 0 = none */
	unsigned flags;            /* NET_ROUTE_*; unknown bits are -EINVAL */
};

int net_route_add(struct net_ns *ns, const struct net_route *r);
/* Deletes the route matching dst (and gw/dev when set). -ESRCH when absent. */
int net_route_del(struct net_ns *ns, const struct net_route *r);
/* Unicast routes of the main table of family (AF_UNSPEC = both); dev is
 * filled in from the ifindex; *out is malloc'd, the caller frees it. */
int net_route_list(struct net_ns *ns, int family, struct net_route **out, size_t *n);

/* ---- neighbours and FDB (VXLAN overlay) ------------------------------- */

/* Sets a permanent neighbour entry ip -> mac on dev (created or replaced). */
int net_neigh_set(struct net_ns *ns, const char *dev, const struct inet_addr *ip,
		  const uint8_t mac[6]);
/* -ENOENT when absent. */
int net_neigh_del(struct net_ns *ns, const char *dev, const struct inet_addr *ip);
/* Sets a permanent FDB entry mac -> remote VTEP dst on a VXLAN dev (created
 * or replaced), like `bridge fdb replace MAC dev DEV dst DST self permanent`. */
int net_fdb_set(struct net_ns *ns, const char *dev, const uint8_t mac[6],
		const struct inet_addr *dst);
int net_fdb_del(struct net_ns *ns, const char *dev, const uint8_t mac[6],
		const struct inet_addr *dst);

/* A neighbour (family AF_INET/AF_INET6: addr -> mac) or FDB entry (family
 * AF_BRIDGE: mac -> addr, the remote VTEP; addr.family 0 when none). */
struct net_neigh {
	int family;
	int ifindex;
	struct inet_addr addr;
	uint8_t mac[6];
	bool has_mac;
	unsigned state;            /* NUD_* */
	unsigned flags;            /* NTF_* */
};

/* Entries on dev (NULL = every link) of family AF_INET, AF_INET6, AF_BRIDGE
 * (FDB) or AF_UNSPEC (neighbours of both IP families, no FDB), for
 * reconciling what the overlay programmed; *out is malloc'd, the caller
 * frees it. */
int net_neigh_list(struct net_ns *ns, const char *dev, int family,
		   struct net_neigh **out, size_t *n);

/* ---- sysctls ---------------------------------------------------------- */

/* Writes value to /proc/sys/<key> as seen from the handle's namespace. key
 * uses slashes ("net/ipv4/ip_forward", "net/ipv6/conf/k1s0/forwarding") so
 * interface names with dots work; it must start with "net/" and contain no
 * "..". */
int net_sysctl_set(struct net_ns *ns, const char *key, const char *value);
/* Reads it (trailing newline removed) into buf of len bytes. */
int net_sysctl_get(struct net_ns *ns, const char *key, char *buf, size_t len);

/* ---- MTU -------------------------------------------------------------- */

/* The pod MTU for an uplink MTU: minus NET_VXLAN_OVERHEAD_V4/_V6 for a VXLAN
 * underlay of underlay_family, unchanged when vxlan is false (host-gw).
 * -EINVAL for a bad family, -ERANGE when the uplink is above NET_MTU_MAX or
 * the result below NET_MTU_MIN. */
int net_pod_mtu(unsigned uplink_mtu, int underlay_family, bool vxlan, unsigned *out);

/* ---- IPAM: a node's pod addresses ------------------------------------- */

#define NET_IPAM_OWNER_MAX 128      /* bytes of an owner id, without the NUL */
#define NET_IPAM_MAX 16384          /* addresses assigned per family */
#define NET_IPAM_FILE_MAX (4u << 20) /* bytes of one state file */

struct net_ipam_pool;

/*
 * A dual-stack allocator over a node's pod CIDRs (at most one per family,
 * e.g. 10.42.0.0/24 and fd42::/64). Host offset 0 and the gateway (offset
 * 1: .1 / ::1) are never handed out, nor the IPv4 broadcast address. An
 * address is held by exactly one owner (an id such as "<pod uid>/eth0")
 * until that owner is unassigned; the next search starts after the last
 * address handed out, so a released address is not reused at once.
 *
 * State is one file per family in state_dir ("ipam-v4", "ipam-v6"),
 * rewritten atomically (write_file_atomic) before assign/unassign return,
 * so a restarted agent reopens exactly what it had.
 */
struct net_ipam {
	char *state_dir;                  /* owned */
	size_t npools;
	struct net_ipam_pool *pools[2];   /* owned, in the order of the cidrs */
	char err[NET_ERR_MAX];
};

/* The addresses of one owner, one per pool, in pool order (the primary
 * family first); each with its pool's prefix length ("10.42.0.5/24"). */
struct net_ipam_addrs {
	size_t n;
	struct inet_prefix addr[2];
};

/* Opens (creating state_dir and empty state) an allocator over ncidrs (1 or
 * 2) CIDRs of distinct families. -EINVAL for a non-canonical CIDR, a CIDR
 * too small to hold an address besides the gateway (IPv4 longer than /30,
 * IPv6 longer than /126), an IPv6 CIDR shorter than /64, two of one family,
 * or a corrupt state file; -ESTALE when a state file was written for another
 * CIDR (the node's podCIDR changed: the caller decides whether to remove
 * it). On failure the allocator is left closed and ipam->err says why. */
int net_ipam_open(struct net_ipam *ipam, const char *state_dir,
		  const struct inet_prefix *cidrs, size_t ncidrs);
/* Frees memory; the state stays on disk. Safe on a zeroed allocator. */
void net_ipam_close(struct net_ipam *ipam);
const char *net_ipam_error(const struct net_ipam *ipam);

/* Gives owner one address per pool, or the ones it already holds (so a
 * retried pod setup gets the same addresses). -ENOSPC when a pool is full
 * (nothing is assigned then), -EINVAL for an empty owner, one longer than
 * NET_IPAM_OWNER_MAX or containing whitespace/control characters. */
int net_ipam_assign(struct net_ipam *ipam, const char *owner,
		    struct net_ipam_addrs *out);
/* The addresses owner holds; -ENOENT when none. */
int net_ipam_lookup(const struct net_ipam *ipam, const char *owner,
		    struct net_ipam_addrs *out);
/* Frees owner's addresses; -ENOENT when it holds none. */
int net_ipam_unassign(struct net_ipam *ipam, const char *owner);
/* The gateway addresses (offset 1) with prefix lengths, in pool order. */
void net_ipam_gateways(const struct net_ipam *ipam, struct net_ipam_addrs *out);
/* Number of addresses assigned in pool i. */
size_t net_ipam_count(const struct net_ipam *ipam, size_t i);

/* ---- putting it together: a node's bridge and a pod's interface ------- */

/* Makes sure the bridge name exists (creating it; -EEXIST if a link of that
 * name is not a bridge), has mtu (0 = leave), is up and holds the gateway
 * addresses gw[0..ngw) (e.g. from net_ipam_gateways()). Idempotent: safe to
 * call on every agent start. */
int net_bridge_ensure(struct net_ns *node, const char *name, unsigned mtu,
		      const struct inet_prefix *gw, size_t ngw);

/* Enables forwarding for IPv4 (net/ipv4/ip_forward) and/or IPv6
 * (net/ipv6/conf/all/forwarding) in the namespace. Note for IPv6: with
 * forwarding on, the kernel ignores router advertisements on links whose
 * accept_ra is 1 (set it to 2 on an uplink configured by SLAAC). */
int net_forwarding_enable(struct net_ns *ns, bool v4, bool v6);

struct net_pod_net {
	const char *owner;             /* "<pod uid>/eth0": names the host end */
	const char *ifname;            /* pod end, NULL = "eth0" */
	const char *bridge;            /* e.g. "k1s0" */
	unsigned mtu;                  /* in bytes, 0 = kernel default */
	struct net_ipam_addrs addrs;   /* the pod's addresses, with prefix lengths */
	struct net_ipam_addrs gateways;/* default route gateways (any order) */
	bool hairpin;                  /* hairpin on the bridge port */
};

/* Wires a pod: lo up, a veth whose pod end p->ifname sits in pod and whose
 * host end (net_veth_name(p->owner)) joins p->bridge, the addresses and a
 * default route per family via that family's gateway. On failure the veth
 * is deleted again (so the pod namespace is as before) and node->err says
 * why. -EEXIST when the pod end or host end already exists. */
int net_pod_attach(struct net_ns *node, struct net_ns *pod, const struct net_pod_net *p);

/* Deletes owner's host veth end (the pod end goes with it). Idempotent: 0
 * when it is already gone. */
int net_pod_detach(struct net_ns *node, const char *owner);

/* ---- the overlay between nodes (net/overlay*.c) ------------------------
 *
 * Each node reaches the other nodes' pod CIDRs either over VXLAN (default)
 * or with plain routes through the peers' node addresses (host-gw, all
 * nodes on one L2 segment). net_overlay_sync() turns the wanted state (the
 * peers as the API describes them) into kernel state by comparing it with
 * what the kernel holds: it adds what is missing, replaces what differs and
 * deletes what is ours and no longer wanted; it never flushes. Ours means:
 *  - VXLAN: the devices NET_OVERLAY_VX4/NET_OVERLAY_VX6 (one per pod
 *    family) and every route, permanent neighbour and FDB entry on them;
 *  - host-gw: routes of the main table with a gateway whose destination
 *    lies inside a cluster CIDR (but is not the node's own pod CIDR).
 * Per peer and pod family: VXLAN programs one route (podCIDR via the
 * CIDR's network address, onlink), one permanent neighbour (that address
 * -> the peer's VTEP MAC) and one FDB entry (MAC -> the peer's public IP);
 * host-gw one route (podCIDR via the peer's public IP of that family).
 * A VXLAN device exists only while some peer needs it, so a single node
 * has none and the last peer's removal leaves nothing behind.
 *
 * The underlay of the device for pod family F is family F when the node
 * has a public address of F, else the other family (IPv6 pods over an
 * IPv4-only LAN). Every node of a cluster must agree on it.
 */

#define NET_OVERLAY_VX4 "k1s.vx4"     /* VXLAN device for IPv4 pods */
#define NET_OVERLAY_VX6 "k1s.vx6"     /* VXLAN device for IPv6 pods */
#define NET_OVERLAY_VNI 1             /* default VXLAN id (flannel's) */
#define NET_OVERLAY_MAX_PEERS 5000    /* nodes one sync accepts */

enum net_backend { NET_BACKEND_VXLAN, NET_BACKEND_HOST_GW };

/* Index of a family in the two-slot arrays below: 0 IPv4, 1 IPv6. */
static inline int net_fam_idx(int family) { return family == AF_INET6; }

struct net_overlay_peer {
	char name[64];                  /* for messages only (truncated) */
	size_t n_cidrs;
	struct inet_prefix cidrs[2];     /* spec.podCIDRs */
	struct inet_addr public_ip[2];   /* [net_fam_idx]; family 0 = unknown */
	uint8_t vtep_mac[2][6];         /* per pod family (VXLAN) */
	bool has_mac[2];
};

struct net_overlay {
	enum net_backend backend;
	uint32_t vni;                   /* 0 = NET_OVERLAY_VNI */
	uint16_t port;                  /* 0 = NET_VXLAN_PORT */
	const char *iface;              /* uplink given by the user, NULL = pick */
	struct inet_addr node_ip[2];     /* given node IPs, family 0 = none */
	size_t n_own;
	struct inet_prefix own[2];       /* this node's podCIDRs */
	size_t n_cluster;
	struct inet_prefix cluster[2];   /* cluster CIDRs (host-gw ownership, masquerade) */
	uint8_t vtep_mac[2][6];         /* this node's, per pod family */
	const struct net_overlay_peer *peers;
	size_t n_peers;
};

/* What a sync found (uplinks, public addresses, MTU) and did. */
struct net_overlay_state {
	char uplink[2][NET_IFNAME_MAX]; /* per underlay family, "" = none */
	struct inet_addr public_ip[2];   /* per family, family 0 = none */
	unsigned uplink_mtu[2];         /* in bytes, 0 = no uplink */
	unsigned pod_mtu;               /* in bytes: what pods should use (0 = unknown) */
	unsigned added, changed, removed; /* routes + neighbours + FDB entries */
	unsigned skipped;               /* peers lacking an address or a MAC */
};

/* The uplink of family: iface when given (-ENODEV when absent); else the
 * link holding node_ip (when given and local); else the link of the
 * default route; else the first up non-loopback link with a global address
 * of family. *addr = node_ip when given, else the first global address of
 * family on the uplink (family 0 when it has none). -ENOENT when nothing
 * fits. dev holds NET_IFNAME_MAX bytes; mtu in bytes. */
int net_uplink_pick(struct net_ns *ns, const char *iface, const struct inet_addr *node_ip,
		    int family, char *dev, struct inet_addr *addr, unsigned *mtu);

/* A stable, locally administered unicast MAC for node's VTEP of family
 * (so a restarted agent or a recreated device keeps it). Can't fail. */
void net_vtep_mac(const char *node, int family, uint8_t mac[6]);

/* Makes the kernel match o (see above); *st says what it found and did
 * (filled even on failure, as far as it got). Failures of single entries
 * do not stop the others: the first error is returned and ns->err says
 * why. */
int net_overlay_sync(struct net_ns *ns, const struct net_overlay *o,
		     struct net_overlay_state *st);
/* The pod MTU a sync of o would report (net_overlay_state.pod_mtu), from
 * the uplinks alone, changing nothing: for the agent's start, so pods wired
 * before the first sync get it too. Uses the cluster CIDRs' families while
 * o has no podCIDRs of its own. 0 when no uplink is found. */
unsigned net_overlay_pod_mtu(struct net_ns *ns, const struct net_overlay *o);

/* Turns hairpin mode on for every port of bridge that lacks it (so a pod
 * reaches itself through a service IP); ports already in hairpin mode cost
 * nothing but the one dump. *changed = ports switched. -ENODEV when the
 * bridge does not exist. */
int net_bridge_hairpin_all(struct net_ns *ns, const char *bridge, unsigned *changed);

/* ---- masquerading (net/masq.c, nftables through libnftnl) --------------
 *
 * k1s's own table NET_NFT_TABLE in family ip and ip6:
 *   chain postrouting (nat, srcnat): pod traffic (saddr in a cluster CIDR)
 *     to outside the cluster CIDRs and not multicast -> masquerade
 *   chain forward (filter): accept traffic from or to the cluster CIDRs
 * The table carries its configuration as user data, so a sync that finds
 * the same configuration sends nothing; otherwise the table is replaced in
 * one atomic batch. Tables of families without a cluster CIDR are deleted.
 * Drift: each sync also dumps the table's rules (one GETRULE dump of five
 * rules) and rebuilds the table when their number is not NET_MASQ_RULES or
 * their fingerprint (chain names and expressions as the kernel reports
 * them) differs from the one taken after the handle's last write (kept in
 * ns->masq_fp; a fresh handle adopts a table with the right number of rules
 * and tag). So a rule deleted, added or edited by hand is put back on the
 * next sync.
 */
#define NET_MASQ_RULES 5
#define NET_NFT_TABLE "k1s-net"

/* cluster: the cluster CIDRs (at most one per family, n <= 2; n = 0 deletes
 * both tables). *changed (may be NULL) says whether anything was sent. */
int net_masq_sync(struct net_ns *ns, const struct inet_prefix *cluster, size_t n,
		  bool *changed);

#endif
