/*
 * server/discovery.h - discovery documents generated from the registry rows:
 * /api, /apis, /apis/<group>, /api/v1 and /apis/<group>/<version> resource
 * lists, and aggregated discovery (apidiscovery.k8s.io/v2
 * APIGroupDiscoveryList) which kubectl asks for first. Each function returns
 * a new cJSON document the caller frees, or NULL when the group/version is
 * not served.
 */
#ifndef K1S_SERVER_DISCOVERY_H
#define K1S_SERVER_DISCOVERY_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#define DISCOVERY_V2_CTYPE "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

cJSON *discovery_api_versions(const char *server_address);
cJSON *discovery_group_list(void);
cJSON *discovery_group(const char *group);
cJSON *discovery_resource_list(const char *group, const char *version);
/* Aggregated: core (legacy = true, for /api) or all named groups (/apis). */
cJSON *discovery_aggregated(bool legacy);
/* True when an Accept header asks for aggregated discovery v2 first. */
bool discovery_wants_aggregated(const char *accept);

#endif
