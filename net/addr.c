/*
 * net/addr.c - IPv4/IPv6 addresses and prefixes (inet_pton based), pod MTU
 * arithmetic and host veth names. No system state is touched here.
 */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

int net_pod_mtu(unsigned uplink_mtu, int underlay_family, bool vxlan, unsigned *out)
{
	unsigned overhead;

	if (underlay_family == AF_INET)
		overhead = NET_VXLAN_OVERHEAD_V4;
	else if (underlay_family == AF_INET6)
		overhead = NET_VXLAN_OVERHEAD_V6;
	else
		return -EINVAL;
	if (!vxlan)
		overhead = 0;
	if (uplink_mtu > NET_MTU_MAX || uplink_mtu < NET_MTU_MIN + overhead)
		return -ERANGE;
	*out = uplink_mtu - overhead;
	return 0;
}

char *net_veth_name(const char *owner, char *buf)
{
	uint32_t h = 2166136261u;	/* FNV-1a, 32 bits */

	for (const unsigned char *p = (const unsigned char *)owner; *p; p++)
		h = (h ^ *p) * 16777619u;
	snprintf(buf, NET_IFNAME_MAX, "k1s%08x", h);
	return buf;
}
