/*
 * proxy/decode.c - the boundary: a v1 Service and discovery.k8s.io/v1
 * EndpointSlices (cJSON, as the API serves them) into struct proxy_service.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/json.h"
#include "lib/util.h"
#include "proxy/proxy.h"

uint32_t proxy_zone_hash(const char *zone)
{
	uint32_t h = 2166136261u;

	while (*zone)
		h = (h ^ (unsigned char)*zone++) * 16777619u;
	return h;
}

static int copy_str(char *dst, size_t size, const char *s)
{
	if (!s || strlen(s) >= size)
		return -EINVAL;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* Parses an array of IP strings (items picked by key when key != NULL,
 * items without it skipped) into out[]. */
static int decode_ips(const cJSON *arr, const char *key, struct inet_addr *out, size_t *n)
{
	const cJSON *it;

	*n = 0;
	cJSON_ArrayForEach(it, arr) {
		const cJSON *v = key ? json_get(it, key) : it;
		if (key && !v)
			continue;
		if (!cJSON_IsString(v))
			return -EINVAL;
		if (*n >= PROXY_MAX_IPS)
			return -E2BIG;
		if (inet_addr_parse(v->valuestring, &out[*n]))
			return -EINVAL;
		(*n)++;
	}
	return 0;
}

static int decode_protocol(const char *s, uint8_t *out)
{
	static const struct { const char *name; uint8_t proto; } protos[] = {
		{ "TCP", IPPROTO_TCP }, { "UDP", IPPROTO_UDP }, { "SCTP", IPPROTO_SCTP },
	};
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (!strcmp(s, protos[i].name)) {
			*out = protos[i].proto;
			return 0;
		}
	}
	return -EINVAL;
}

static int decode_ports(const cJSON *ports, struct proxy_service *out)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, ports) {
		struct proxy_port *p;
		int64_t port = json_get_int(it, "port", 0), np = json_get_int(it, "nodePort", 0);

		if (out->n_ports >= PROXY_MAX_PORTS)
			return -E2BIG;
		p = &out->ports[out->n_ports++];
		if (copy_str(p->name, sizeof(p->name), json_get_str(it, "name", "")) ||
		    decode_protocol(json_get_str(it, "protocol", "TCP"), &p->protocol) ||
		    port < 1 || port > 65535 || np < 0 || np > 65535)
			return -EINVAL;
		p->port = (uint16_t)port;
		p->node_port = (uint16_t)np;
	}
	return 0;
}

static const struct { const char *name; enum proxy_type type; } types[] = {
	{ "ClusterIP", PROXY_CLUSTER_IP }, { "NodePort", PROXY_NODE_PORT },
	{ "LoadBalancer", PROXY_LOAD_BALANCER },
};

int proxy_service_decode(const cJSON *svc, struct proxy_service *out)
{
	const cJSON *spec = json_get(svc, "spec"), *ips = json_get(spec, "clusterIPs");
	const char *type = json_get_str(spec, "type", "ClusterIP");
	const char *cip = json_get_str(spec, "clusterIP", "");
	int64_t timeout;
	size_t t;
	int ret;

	memset(out, 0, sizeof(*out));
	if (copy_str(out->namespace, sizeof(out->namespace), json_get_str(json_get(svc, "metadata"), "namespace", "default")) ||
	    copy_str(out->name, sizeof(out->name), json_get_str(json_get(svc, "metadata"), "name", NULL)))
		return -EINVAL;
	for (t = 0; t < sizeof(types) / sizeof(types[0]) && strcmp(types[t].name, type); t++)
		;
	if (t == sizeof(types) / sizeof(types[0]) || !strcmp(cip, "None") || !*cip)
		return -ENOENT;
	out->type = types[t].type;
	if (ips) {
		ret = decode_ips(ips, NULL, out->cluster_ips, &out->n_cluster_ips);
	} else {
		out->n_cluster_ips = 1;
		ret = inet_addr_parse(cip, &out->cluster_ips[0]);
	}
	if (!ret)
		ret = decode_ips(json_get(spec, "externalIPs"), NULL, out->external_ips, &out->n_external_ips);
	if (!ret)
		ret = decode_ips(json_path(svc, "status.loadBalancer.ingress"), "ip", out->lb_ips, &out->n_lb_ips);
	if (!ret)
		ret = decode_ports(json_get(spec, "ports"), out);
	if (ret)
		return ret;
	out->external_policy = !strcmp(json_get_str(spec, "externalTrafficPolicy", ""), "Local") ?
		PROXY_POLICY_LOCAL : PROXY_POLICY_CLUSTER;
	out->internal_policy = !strcmp(json_get_str(spec, "internalTrafficPolicy", ""), "Local") ?
		PROXY_POLICY_LOCAL : PROXY_POLICY_CLUSTER;
	out->affinity = !strcmp(json_get_str(spec, "sessionAffinity", "None"), "ClientIP");
	timeout = json_get_int(json_path(spec, "sessionAffinityConfig.clientIP"), "timeoutSeconds", 10800);
	if (timeout < 1 || timeout > 86400)
		return -EINVAL;
	out->affinity_timeout = (uint32_t)timeout;
	return 0;
}

/* One slice endpoint; 0, -EINVAL. */
static int decode_endpoint(const cJSON *e, const uint16_t *tports, int family,
			   struct proxy_endpoint *ep)
{
	const cJSON *cond = json_get(e, "conditions"), *z;
	const cJSON *addrs = json_get(e, "addresses");

	memset(ep, 0, sizeof(*ep));
	if (!cJSON_IsArray(addrs) || !cJSON_IsString(cJSON_GetArrayItem(addrs, 0)) ||
	    inet_addr_parse(cJSON_GetArrayItem(addrs, 0)->valuestring, &ep->addr) ||
	    ep->addr.family != family)
		return -EINVAL;
	ep->ready = json_get_bool(cond, "ready", true);
	ep->serving = json_get_bool(cond, "serving", ep->ready);
	ep->terminating = json_get_bool(cond, "terminating", false);
	if (copy_str(ep->node_name, sizeof(ep->node_name), json_get_str(e, "nodeName", "")))
		return -EINVAL;
	cJSON_ArrayForEach(z, json_path(e, "hints.forZones")) {
		if (ep->n_hint_zones >= PROXY_MAX_ZONES)
			return -E2BIG;
		const char *name = json_get_str(z, "name", NULL);

		if (!name || strlen(name) >= PROXY_NAME_MAX)
			return -EINVAL;
		ep->hint_zones[ep->n_hint_zones++] = proxy_zone_hash(name);
	}
	memcpy(ep->target_ports, tports, sizeof(ep->target_ports));
	return 0;
}

int proxy_slice_decode(const cJSON *slice, struct proxy_service *svc)
{
	const char *at = json_get_str(slice, "addressType", "");
	int family = !strcmp(at, "IPv4") ? AF_INET : !strcmp(at, "IPv6") ? AF_INET6 : 0;
	uint16_t tports[PROXY_MAX_PORTS] = { 0 };
	const cJSON *it, *eps = json_get(slice, "endpoints");
	struct proxy_endpoint *add;
	size_t n = 0, have = 0;
	int ret = 0;

	for (size_t i = 0; i < svc->n_cluster_ips; i++)
		have += svc->cluster_ips[i].family == family;
	if (!family || !have)
		return 0;	/* FQDN slices, or a family the service lacks */
	cJSON_ArrayForEach(it, json_get(slice, "ports")) {
		const char *name = json_get_str(it, "name", "");
		int64_t port = json_get_int(it, "port", 0);
		uint8_t proto;

		if (decode_protocol(json_get_str(it, "protocol", "TCP"), &proto) || port < 1 || port > 65535)
			return -EINVAL;
		for (size_t i = 0; i < svc->n_ports; i++)
			if (!strcmp(svc->ports[i].name, name) && svc->ports[i].protocol == proto)
				tports[i] = (uint16_t)port;
	}
	add = xcalloc((size_t)cJSON_GetArraySize(eps) + 1, sizeof(*add));
	cJSON_ArrayForEach(it, eps) {
		ret = decode_endpoint(it, tports, family, &add[n++]);
		if (ret)
			goto out;
	}
	svc->endpoints = xrealloc(svc->endpoints, (svc->n_endpoints + n + 1) * sizeof(*add));
	memcpy(svc->endpoints + svc->n_endpoints, add, n * sizeof(*add));
	svc->n_endpoints += n;
out:
	free(add);
	return ret;
}
