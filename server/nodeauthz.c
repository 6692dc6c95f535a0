/*
 * server/nodeauthz.c - the node authorizer: what a kubelet's credentials
 * (user system:node:<name>, group system:nodes) may do, as upstream's Node
 * authorizer and NodeRestriction admission allow it.
 *
 * Reads: nodes, pods, services, endpoints, endpointslices, persistent
 * volumes and the storage/runtime classes, freely. Secrets, configmaps and
 * persistentvolumeclaims only when a pod bound to the node references them
 * (get, or list/watch narrowed to that one object with a
 * metadata.name field selector, which is how kubelets watch them).
 * Writes: its own Node (and nodes/status) and its own Lease in
 * kube-node-lease; status, deletion and eviction of pods bound to it;
 * events; its own kube-dns EndpointSlices (kube-dns-<node>-ipv4/-ipv6 in
 * kube-system); token and access reviews; service account tokens for the
 * accounts of pods bound to it (bound to such a pod, checked in satoken.c); updates of the PersistentVolumes and
 * VolumeSnapshotContents (and their status) annotated k1s.io/node: <it>
 * (the local storage handshake, docs/storage.md), which it may also read.
 *
 * The pod graph is read from the store at request time: one list of the
 * namespace's pods per secret/configmap/PVC check (cost noted in
 * docs/install.md; an index follows when it shows in a profile).
 */
#include "nodeauthz.h"
#include "apiserver.h"
#include "registry.h"
#include "storage.h"
#include "lib/json.h"
#include "lib/util.h"

#include <string.h>

#define NODE_PREFIX "system:node:"

/* Free reads, by API group and resource (subresources excluded). */
static const struct { const char *group, *resource; } free_reads[] = {
	{ "", "nodes" }, { "", "pods" }, { "", "services" }, { "", "endpoints" },
	{ "", "persistentvolumes" }, { "discovery.k8s.io", "endpointslices" },
	{ "storage.k8s.io", "storageclasses" }, { "storage.k8s.io", "csidrivers" },
	{ "storage.k8s.io", "csinodes" }, { "node.k8s.io", "runtimeclasses" },
};

/* Creates anyone's kubelet needs. */
static const struct { const char *group, *resource, *verbs; } free_writes[] = {
	{ "", "events", "create update patch" },
	{ "events.k8s.io", "events", "create update patch" },
	{ "authentication.k8s.io", "tokenreviews", "create" },
	{ "authorization.k8s.io", "subjectaccessreviews", "create" },
};

static bool word_in(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return true;
	return false;
}

static bool is_read(const char *verb)
{
	return word_in("get list watch", verb);
}

static bool eq(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static bool pod_on_node(struct apiserver *s, const char *ns, const char *name, const char *node)
{
	cJSON *pod = api_load(s, "", "pods", ns, name);
	bool ok = pod && eq(json_get_str(json_get(pod, "spec"), "nodeName", ""), node);

	cJSON_Delete(pod);
	return ok;
}

/* A k1s.io/local volume or snapshot content of node (annotation
 * k1s.io/node, docs/storage.md). */
static bool local_on_node(struct apiserver *s, const char *group, const char *res, const char *name,
			  const char *node)
{
	cJSON *o = api_load(s, group, res, NULL, name);
	bool ok = o && eq(json_get_str(json_path(o, "metadata.annotations"), "k1s.io/node", ""), node);

	cJSON_Delete(o);
	return ok;
}

static bool str_at(const cJSON *o, const char *path, const char *name)
{
	const cJSON *v = json_path(o, path);

	return cJSON_IsString(v) && !strcmp(v->valuestring, name);
}

/* Does any item of arr have name at path? */
static bool any_named(const cJSON *arr, const char *path, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (str_at(it, path, name))
			return true;
	return false;
}

static bool container_refs(const cJSON *ctrs, const char *kind, const char *name)
{
	const bool secret = !strcmp(kind, "secrets");
	const cJSON *c, *e;

	cJSON_ArrayForEach(c, ctrs) {
		cJSON_ArrayForEach(e, json_get(c, "env"))
			if (str_at(e, secret ? "valueFrom.secretKeyRef.name" :
				   "valueFrom.configMapKeyRef.name", name))
				return true;
		cJSON_ArrayForEach(e, json_get(c, "envFrom"))
			if (str_at(e, secret ? "secretRef.name" : "configMapRef.name", name))
				return true;
	}
	return false;
}

/* Does spec reference kind ("secrets", "configmaps", "persistentvolumeclaims") name? */
static bool pod_refs(const cJSON *spec, const char *kind, const char *name)
{
	const cJSON *v, *src;

	if (!strcmp(kind, "serviceaccounts"))
		return !strcmp(json_get_str(spec, "serviceAccountName", "default"), name);
	cJSON_ArrayForEach(v, json_get(spec, "volumes")) {
		if (!strcmp(kind, "secrets") && str_at(v, "secret.secretName", name))
			return true;
		if (!strcmp(kind, "configmaps") && str_at(v, "configMap.name", name))
			return true;
		if (!strcmp(kind, "persistentvolumeclaims") &&
		    str_at(v, "persistentVolumeClaim.claimName", name))
			return true;
		cJSON_ArrayForEach(src, json_path(v, "projected.sources"))
			if ((!strcmp(kind, "secrets") && str_at(src, "secret.name", name)) ||
			    (!strcmp(kind, "configmaps") && str_at(src, "configMap.name", name)))
				return true;
	}
	if (!strcmp(kind, "persistentvolumeclaims"))
		return false;
	if (!strcmp(kind, "secrets") && any_named(json_get(spec, "imagePullSecrets"), "name", name))
		return true;
	return container_refs(json_get(spec, "containers"), kind, name) ||
	       container_refs(json_get(spec, "initContainers"), kind, name) ||
	       container_refs(json_get(spec, "ephemeralContainers"), kind, name);
}

/* A pod in ns bound to node references kind/name. */
static bool referenced(struct apiserver *s, const char *node, const char *kind, const char *ns,
		       const char *name)
{
	const struct api_resource *r = registry_find("", "v1", "pods");
	char *prefix = api_key(r, ns, "");
	struct slist l = { 0 };
	bool found = false;

	if (!storage_list(s, prefix, 0, "", 0, &l)) {
		for (size_t i = 0; i < l.n && !found; i++) {
			cJSON *pod = json_parse(l.items[i].value, strlen(l.items[i].value));
			const cJSON *spec = json_get(pod, "spec");

			found = eq(json_get_str(spec, "nodeName", ""), node) &&
				pod_refs(spec, kind, name);
			cJSON_Delete(pod);
		}
	}
	slist_release(&l);
	free(prefix);
	return found;
}

/* kube-dns-<node>-ipv4 / -ipv6 (agent/dns_run.c); for a create the name
 * comes from the body (handler.c). */
static bool dns_slice_of(const char *name, const char *node)
{
	size_t n = strlen(node);

	return str_has_prefix(name, "kube-dns-") && !strncmp(name + 9, node, n) &&
	       (!strcmp(name + 9 + n, "-ipv4") || !strcmp(name + 9 + n, "-ipv6"));
}

bool nodeauthz_allowed(struct apiserver *s, const struct authn_identity *id,
		       const struct authz_attrs *a, const char *field_name, const char **why)
{
	const char *node, *sub = a->subresource && *a->subresource ? a->subresource : NULL;
	const char *name = a->name && *a->name ? a->name : field_name;

	*why = NULL;
	if (!authn_identity_in_group(id, "system:nodes") || !str_has_prefix(id->user, NODE_PREFIX) ||
	    !a->resource)
		return false;
	node = id->user + strlen(NODE_PREFIX);
	for (size_t i = 0; i < ARRAY_SIZE(free_reads); i++)
		if ((!sub || eq(sub, "status")) && is_read(a->verb) && eq(a->group, free_reads[i].group) &&
		    eq(a->resource, free_reads[i].resource))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(free_writes); i++)
		if (!sub && word_in(free_writes[i].verbs, a->verb) &&
		    eq(a->group, free_writes[i].group) && eq(a->resource, free_writes[i].resource))
			return true;
	if (eq(a->group, "snapshot.storage.k8s.io") && eq(a->resource, "volumesnapshotcontents") &&
	    !sub && is_read(a->verb))
		return true;
	if ((eq(a->group, "") && eq(a->resource, "persistentvolumes") && !sub) ||
	    (eq(a->group, "snapshot.storage.k8s.io") && eq(a->resource, "volumesnapshotcontents") &&
	     (!sub || eq(sub, "status")))) {
		*why = "a node may only modify the k1s.io/local volumes and snapshots of its node";
		return word_in("update patch", a->verb) && name &&
		       local_on_node(s, a->group, a->resource, name, node);
	}
	if (eq(a->group, "discovery.k8s.io") && eq(a->resource, "endpointslices") && !sub &&
	    word_in("create update patch delete", a->verb)) {
		/* the node-local cluster DNS publishes its own kube-dns slices (agent/dns_run.c) */
		*why = "a node may only write the kube-dns EndpointSlices of its node";
		return eq(a->namespace, "kube-system") && name && dns_slice_of(name, node);
	}
	if (eq(a->group, "") && eq(a->resource, "nodes")) {
		*why = "a node may only modify its own Node object";
		return eq(name, node) && (!sub || eq(sub, "status"));
	}
	if (eq(a->group, "coordination.k8s.io") && eq(a->resource, "leases")) {
		*why = "a node may only use its own Lease in kube-node-lease";
		return !sub && eq(a->namespace, "kube-node-lease") && eq(name, node) &&
		       !eq(a->verb, "list") && !eq(a->verb, "watch");
	}
	if (eq(a->group, "") && eq(a->resource, "pods")) {
		*why = "a node may only update the status of, delete or evict pods bound to it";
		if (!(sub && eq(sub, "status") && word_in("update patch", a->verb)) &&
		    !(!sub && eq(a->verb, "delete")) && !(sub && eq(sub, "eviction") && eq(a->verb, "create")))
			return false;
		return name && pod_on_node(s, a->namespace, name, node);
	}
	if (eq(a->group, "") && eq(a->resource, "serviceaccounts") && eq(sub, "token")) {
		/* the token request itself must name a pod on this node (satoken.c) */
		*why = "no relationship found between node and this object";
		return eq(a->verb, "create") && name && a->namespace && *a->namespace &&
		       referenced(s, node, a->resource, a->namespace, name);
	}
	if (eq(a->group, "") && !sub &&
	    (eq(a->resource, "secrets") || eq(a->resource, "configmaps") ||
	     eq(a->resource, "persistentvolumeclaims"))) {
		*why = "no relationship found between node and this object";
		return is_read(a->verb) && name && a->namespace && *a->namespace &&
		       referenced(s, node, a->resource, a->namespace, name);
	}
	return false;
}
