#include "discovery.h"
#include "registry.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct sub_info {
	const char *name;
	const char *group, *version, *kind;	/* response kind; NULL kind = the parent's */
	const char *verbs;
};

static const struct sub_info subs[] = {
	{ "status", NULL, NULL, NULL, "get,patch,update" },
	{ "scale", "autoscaling", "v1", "Scale", "get,patch,update" },
	{ "binding", "", "v1", "Binding", "create" },
	{ "eviction", "policy", "v1", "Eviction", "create" },
	{ "log", NULL, NULL, NULL, "get" },
	{ "exec", "", "v1", "PodExecOptions", "create,get" },
	{ "attach", "", "v1", "PodAttachOptions", "create,get" },
	{ "portforward", "", "v1", "PodPortForwardOptions", "create,get" },
	{ "ephemeralcontainers", NULL, NULL, NULL, "get,patch,update" },
	{ "proxy", "", "v1", "NodeProxyOptions", "create,delete,get,patch,update" },
	{ "finalize", NULL, NULL, NULL, "update" },
	{ "token", "authentication.k8s.io", "v1", "TokenRequest", "create" },
	{ "approval", NULL, NULL, NULL, "get,patch,update" },
};

static const struct sub_info *sub_find(const char *name, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (strlen(subs[i].name) == n && !strncmp(subs[i].name, name, n))
			return &subs[i];
	return NULL;
}

static cJSON *csv_array(const char *csv)
{
	cJSON *a = cJSON_CreateArray();
	const char *p = csv;

	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		char *s = xstrndup(p, l);

		cJSON_AddItemToArray(a, cJSON_CreateString(s));
		free(s);
		p = c ? c + 1 : NULL;
	}
	return a;
}

static cJSON *verb_array(unsigned verbs)
{
	cJSON *a = cJSON_CreateArray();

#define XX(bit, name) if (verbs & bit) cJSON_AddItemToArray(a, cJSON_CreateString(name));
	VERB_NAMES(XX)
#undef XX
	return a;
}

static cJSON *group_version(const char *group, const char *version)
{
	cJSON *v = cJSON_CreateObject();
	char *gv = *group ? xasprintf("%s/%s", group, version) : xstrdup(version);

	json_set_str(v, "groupVersion", gv);
	json_set_str(v, "version", version);
	free(gv);
	return v;
}

cJSON *discovery_api_versions(const char *server_address)
{
	cJSON *d = cJSON_CreateObject(), *addrs = cJSON_CreateArray(), *a = cJSON_CreateObject();

	json_set_str(d, "kind", "APIVersions");
	json_set(d, "versions", csv_array("v1"));
	json_set_str(a, "clientCIDR", "0.0.0.0/0");
	json_set_str(a, "serverAddress", server_address);
	cJSON_AddItemToArray(addrs, a);
	json_set(d, "serverAddressByClientCIDRs", addrs);
	return d;
}

static cJSON *group_doc(const char *group)
{
	const char *const *vs = registry_group_versions(group);
	cJSON *g, *versions;

	if (!vs || !*group)
		return NULL;
	g = cJSON_CreateObject();
	versions = cJSON_CreateArray();
	json_set_str(g, "name", group);
	for (size_t i = 0; vs[i]; i++)
		cJSON_AddItemToArray(versions, group_version(group, vs[i]));
	json_set(g, "versions", versions);
	json_set(g, "preferredVersion", group_version(group, vs[0]));
	return g;
}

cJSON *discovery_group_list(void)
{
	cJSON *d = cJSON_CreateObject(), *groups = cJSON_CreateArray();
	const char *seen[64];
	size_t nseen = 0;

	json_set_str(d, "kind", "APIGroupList");
	json_set_str(d, "apiVersion", "v1");
	for (size_t i = 0; i < registry_count(); i++) {
		const char *g = registry_at(i)->group;
		size_t j;

		for (j = 0; j < nseen && strcmp(seen[j], g); j++)
			;
		if (j < nseen || !*g || nseen == ARRAY_SIZE(seen))
			continue;
		seen[nseen++] = g;
		cJSON_AddItemToArray(groups, group_doc(g));
	}
	json_set(d, "groups", groups);
	return d;
}

cJSON *discovery_group(const char *group)
{
	cJSON *g = group_doc(group);

	if (!g)
		return NULL;
	json_set_str(g, "kind", "APIGroup");
	json_set_str(g, "apiVersion", "v1");
	return g;
}

static cJSON *resource_entry(const struct api_resource *r)
{
	cJSON *e = cJSON_CreateObject();

	json_set_str(e, "name", r->plural);
	json_set_str(e, "singularName", r->singular);
	json_set_bool(e, "namespaced", r->namespaced);
	json_set_str(e, "kind", r->kind);
	json_set(e, "verbs", verb_array(r->verbs));
	if (r->short_names)
		json_set(e, "shortNames", csv_array(r->short_names));
	if (r->categories)
		json_set(e, "categories", csv_array(r->categories));
	return e;
}

static void add_sub_entries(cJSON *list, const struct api_resource *r)
{
	const char *p = r->subresources;

	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		const struct sub_info *s = sub_find(p, l);

		if (s) {
			cJSON *e = cJSON_CreateObject();
			char *name = xasprintf("%s/%s", r->plural, s->name);

			json_set_str(e, "name", name);
			json_set_str(e, "singularName", "");
			json_set_bool(e, "namespaced", r->namespaced);
			if (s->kind) {
				if (s->group)
					json_set_str(e, "group", s->group);
				json_set_str(e, "version", s->version);
			}
			json_set_str(e, "kind", s->kind ? s->kind : r->kind);
			json_set(e, "verbs", csv_array(s->verbs));
			cJSON_AddItemToArray(list, e);
			free(name);
		}
		p = c ? c + 1 : NULL;
	}
}

cJSON *discovery_resource_list(const char *group, const char *version)
{
	cJSON *d, *list;
	char *gv;
	int found = 0;

	for (size_t i = 0; i < registry_count(); i++)
		if (!strcmp(registry_at(i)->group, group) && !strcmp(registry_at(i)->version, version))
			found = 1;
	if (!found)
		return NULL;
	d = cJSON_CreateObject();
	list = cJSON_CreateArray();
	gv = *group ? xasprintf("%s/%s", group, version) : xstrdup(version);
	json_set_str(d, "kind", "APIResourceList");
	json_set_str(d, "apiVersion", "v1");
	json_set_str(d, "groupVersion", gv);
	free(gv);
	for (size_t i = 0; i < registry_count(); i++) {
		const struct api_resource *r = registry_at(i);

		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		cJSON_AddItemToArray(list, resource_entry(r));
		add_sub_entries(list, r);
	}
	json_set(d, "resources", list);
	return d;
}

static cJSON *response_kind(const char *group, const char *version, const char *kind)
{
	cJSON *k = cJSON_CreateObject();

	json_set_str(k, "group", group);
	json_set_str(k, "version", version);
	json_set_str(k, "kind", kind);
	return k;
}

static cJSON *agg_resource(const struct api_resource *r)
{
	cJSON *e = cJSON_CreateObject(), *sa = cJSON_CreateArray();
	const char *p = r->subresources;

	json_set_str(e, "resource", r->plural);
	json_set(e, "responseKind", response_kind(r->group, r->version, r->kind));
	json_set_str(e, "scope", r->namespaced ? "Namespaced" : "Cluster");
	json_set_str(e, "singularResource", r->singular);
	json_set(e, "verbs", verb_array(r->verbs));
	if (r->short_names)
		json_set(e, "shortNames", csv_array(r->short_names));
	if (r->categories)
		json_set(e, "categories", csv_array(r->categories));
	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		const struct sub_info *s = sub_find(p, l);

		if (s) {
			cJSON *se = cJSON_CreateObject();

			json_set_str(se, "subresource", s->name);
			json_set(se, "responseKind", s->kind ?
				 response_kind(s->group ? s->group : "", s->version, s->kind) :
				 response_kind(r->group, r->version, r->kind));
			json_set(se, "verbs", csv_array(s->verbs));
			cJSON_AddItemToArray(sa, se);
		}
		p = c ? c + 1 : NULL;
	}
	if (cJSON_GetArraySize(sa))
		json_set(e, "subresources", sa);
	else
		cJSON_Delete(sa);
	return e;
}

static cJSON *agg_group(const char *group)
{
	const char *const *vs = registry_group_versions(group);
	cJSON *g = cJSON_CreateObject(), *meta = json_obj(g, "metadata"), *versions = cJSON_CreateArray();

	if (*group)
		json_set_str(meta, "name", group);
	json_set(meta, "creationTimestamp", cJSON_CreateNull());
	for (size_t v = 0; vs && vs[v]; v++) {
		cJSON *ve = cJSON_CreateObject(), *res = cJSON_CreateArray();

		json_set_str(ve, "version", vs[v]);
		for (size_t i = 0; i < registry_count(); i++) {
			const struct api_resource *r = registry_at(i);

			if (!strcmp(r->group, group) && !strcmp(r->version, vs[v]))
				cJSON_AddItemToArray(res, agg_resource(r));
		}
		json_set(ve, "resources", res);
		json_set_str(ve, "freshness", "Current");
		cJSON_AddItemToArray(versions, ve);
	}
	json_set(g, "versions", versions);
	return g;
}

cJSON *discovery_aggregated(bool legacy)
{
	cJSON *d = cJSON_CreateObject(), *items = cJSON_CreateArray();

	json_set_str(d, "kind", "APIGroupDiscoveryList");
	json_set_str(d, "apiVersion", "apidiscovery.k8s.io/v2");
	json_obj(d, "metadata");
	if (legacy) {
		cJSON_AddItemToArray(items, agg_group(""));
	} else {
		cJSON *list = discovery_group_list(), *g;

		cJSON_ArrayForEach(g, json_get(list, "groups"))
			cJSON_AddItemToArray(items, agg_group(json_get_str(g, "name", "")));
		cJSON_Delete(list);
	}
	json_set(d, "items", items);
	return d;
}

bool discovery_wants_aggregated(const char *accept)
{
	const char *first;

	if (!accept)
		return false;
	/* the first acceptable media type decides; kubectl lists v2 first */
	first = strstr(accept, "as=APIGroupDiscoveryList");
	return first && strstr(accept, "v=v2") && strstr(accept, "g=apidiscovery.k8s.io");
}
