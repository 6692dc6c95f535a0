/*
 * server/services.h - Service IP families and allocation, as kube-apiserver
 * does it: ipFamilyPolicy (SingleStack, PreferDualStack, RequireDualStack),
 * ipFamilies and clusterIPs defaulted from --service-cidr, requested IPs
 * checked against the range and the allocations, dual-stack upgrade and
 * downgrade (the primary IP never changes), NodePorts from
 * --service-node-port-range, and the `kubernetes` Service.
 *
 * Allocations are bitmaps per family and for node ports. They are rebuilt at
 * start from the stored Services and kept current by a store watch (a
 * deleted Service frees its IPs and ports whichever path deleted it); an
 * allocation made for a write that then fails is freed by
 * services_write_done().
 */
#ifndef K1S_SERVER_SERVICES_H
#define K1S_SERVER_SERVICES_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include "apiserver.h"

#define SVC_CIDR_MAX_BITS 20	/* host bits of a service CIDR we track (upstream: /108 for IPv6) */

/* Parses --service-cidr and the node port range, reads the stored Services
 * and starts watching them. 0, or -EINVAL with *err (malloc'd) set. */
int services_init(struct apiserver *s, char **err);

/* Defaults, validates and allocates for a Service create (old NULL) or
 * update. Adds causes to e; on success the call remembers what it took. */
void services_admit(struct api_call *c, cJSON *svc, const cJSON *old, struct api_error *e);

/* The write of c ended (err 0 or -errno): on failure its allocations are freed. */
void services_write_done(struct api_call *c, int err);

/* Stops the watch and frees the allocator (shutdown). */
void services_release(struct apiserver *s);

/* The `kubernetes` Service object (caller frees), for bootstrap. */
cJSON *services_kubernetes(struct apiserver *s);

/* The configured primary family's first service IP ("10.43.0.1"). */
const char *services_first_ip(struct apiserver *s);

#endif
