/*
 * net/overlay.h - module-internal: helpers shared by net/overlay*.c.
 */
#ifndef K1S_NET_OVERLAY_H
#define K1S_NET_OVERLAY_H

#include "net/net.h"

/* Makes the VXLAN device want->name match want (vni, port, local address,
 * uplink; recreated when one differs), carry mac and want->mtu, and be up.
 * *ops counts the netlink changes made. 0 or -errno with ns->err. */
int net__vxlan_ensure(struct net_ns *ns, const struct net_vxlan *want, const uint8_t mac[6],
		      unsigned *ops);

#endif
