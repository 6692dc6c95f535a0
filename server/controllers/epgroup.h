/*
 * server/controllers/epgroup.h - what the Endpoints, EndpointSlice and
 * EndpointSlice-mirroring controllers share: grouping endpoints by the set
 * of ports they serve, and finding the Services a pod change concerns.
 *
 * A port set is keyed by a canonical text of its EndpointPorts (name,
 * protocol, port, appProtocol of each; order ignored), so two ports arrays
 * are the same set exactly when their keys are equal. Keys are only
 * compared (and sorted, for a stable order of Endpoints subsets), never
 * parsed or stored in objects.
 */
#ifndef K1S_CTRL_EPGROUP_H
#define K1S_CTRL_EPGROUP_H

#include <cjson/cJSON.h>
#include <stdbool.h>

struct cache_store;

/* The key of a ports array (NULL or empty: ""). Caller frees. */
char *epg_ports_key(const cJSON *ports);

/* True when the two ports arrays are the same port set. */
bool epg_same_ports(const cJSON *a, const cJSON *b);

/*
 * Calls fn(svc, ud) for each Service of svcs in the pod's namespace whose
 * selector matches the labels of old or new (the pod before and after a
 * change; either may be NULL, not both).
 */
void epg_each_selecting(struct cache_store *svcs, const cJSON *old, const cJSON *new,
			void (*fn)(const cJSON *svc, void *ud), void *ud);

#endif
