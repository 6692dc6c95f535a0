#include "registry.h"
#include "crd.h"
#include "reviews.h"
#include "lib/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define ALL VERBS_ALL
#define RO (VERB_GET | VERB_LIST | VERB_WATCH)
#define SUB_DNS NAME_DNS1123_SUBDOMAIN

/* group, version, kind, plural, singular, short, categories, namespaced, verbs, subresources, storage group, name rule, has status */
#define R(g, v, k, p, s, sh, cat, ns, verbs, sub, nr, st) \
	{ g, v, k, p, s, sh, cat, ns, verbs, sub, NULL, nr, st, NULL, NULL, NULL }
/* A create-only kind answered by a hook, never stored (reviews). */
#define REVIEW(g, k, p, ns, hooks) \
	{ g, "v1", k, p, "", NULL, NULL, ns, VERB_CREATE, NULL, NULL, NAME_DNS1123_SUBDOMAIN, false, hooks, NULL, NULL }

static struct api_resource builtin_resources[] = {
	R("", "v1", "Namespace", "namespaces", "namespace", "ns", NULL, false, ALL & ~VERB_DELETECOLLECTION, "status,finalize", NAME_DNS1123_LABEL, true),
	R("", "v1", "Pod", "pods", "pod", "po", "all", true, ALL, "status,binding,eviction,log,exec,attach,portforward,ephemeralcontainers", SUB_DNS, true),
	R("", "v1", "PodTemplate", "podtemplates", "podtemplate", NULL, NULL, true, ALL, NULL, SUB_DNS, false),
	R("", "v1", "ReplicationController", "replicationcontrollers", "replicationcontroller", "rc", "all", true, ALL, "status,scale", SUB_DNS, true),
	R("", "v1", "Service", "services", "service", "svc", "all", true, ALL, "status", NAME_DNS1035_LABEL, true),
	R("", "v1", "Endpoints", "endpoints", "endpoints", "ep", NULL, true, ALL, NULL, SUB_DNS, false),
	R("", "v1", "Node", "nodes", "node", "no", NULL, false, ALL, "status,proxy", SUB_DNS, true),
	R("", "v1", "ConfigMap", "configmaps", "configmap", "cm", NULL, true, ALL, NULL, SUB_DNS, false),
	R("", "v1", "Secret", "secrets", "secret", NULL, NULL, true, ALL, NULL, SUB_DNS, false),
	R("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", "sa", NULL, true, ALL, "token", SUB_DNS, false),
	R("", "v1", "Event", "events", "event", "ev", NULL, true, ALL, NULL, SUB_DNS, false),
	R("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", "pv", NULL, false, ALL, "status", SUB_DNS, true),
	R("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", "pvc", NULL, true, ALL, "status", SUB_DNS, true),
	R("", "v1", "LimitRange", "limitranges", "limitrange", "limits", NULL, true, ALL, NULL, SUB_DNS, false),
	R("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", "quota", NULL, true, ALL, "status", SUB_DNS, true),
	R("apps", "v1", "Deployment", "deployments", "deployment", "deploy", "all", true, ALL, "status,scale", SUB_DNS, true),
	R("apps", "v1", "ReplicaSet", "replicasets", "replicaset", "rs", "all", true, ALL, "status,scale", SUB_DNS, true),
	R("apps", "v1", "DaemonSet", "daemonsets", "daemonset", "ds", "all", true, ALL, "status", SUB_DNS, true),
	R("apps", "v1", "StatefulSet", "statefulsets", "statefulset", "sts", "all", true, ALL, "status,scale", SUB_DNS, true),
	R("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", NULL, NULL, true, ALL, NULL, SUB_DNS, false),
	R("events.k8s.io", "v1", "Event", "events", "event", "ev", NULL, true, ALL, NULL, SUB_DNS, false),
	R("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", "hpa", "all", true, ALL, "status", SUB_DNS, true),
	R("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", "hpa", "all", true, ALL, "status", SUB_DNS, true),
	R("batch", "v1", "Job", "jobs", "job", NULL, "all", true, ALL, "status", SUB_DNS, true),
	R("batch", "v1", "CronJob", "cronjobs", "cronjob", "cj", "all", true, ALL, "status", SUB_DNS, true),
	R("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", "certificatesigningrequest", "csr", NULL, false, ALL, "status,approval", SUB_DNS, true),
	R("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", "ing", NULL, true, ALL, "status", SUB_DNS, true),
	R("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", NULL, NULL, false, ALL, NULL, SUB_DNS, false),
	R("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", "netpol", NULL, true, ALL, NULL, SUB_DNS, false),
	R("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", "pdb", NULL, true, ALL, "status", SUB_DNS, true),
	R("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", NULL, NULL, false, ALL, NULL, NAME_PATH_SEGMENT, false),
	R("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", NULL, NULL, false, ALL, NULL, NAME_PATH_SEGMENT, false),
	R("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", NULL, NULL, true, ALL, NULL, NAME_PATH_SEGMENT, false),
	R("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", NULL, NULL, true, ALL, NULL, NAME_PATH_SEGMENT, false),
	R("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", "sc", NULL, false, ALL, NULL, SUB_DNS, false),
	R("storage.k8s.io", "v1", "CSIDriver", "csidrivers", "csidriver", NULL, NULL, false, ALL, NULL, SUB_DNS, false),
	R("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", "volumeattachment", NULL, NULL, false, ALL, "status", SUB_DNS, true),
	{ "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", "customresourcedefinition", "crd,crds", "api-extensions", false, ALL, "status", NULL, SUB_DNS, true, &crd_hooks, NULL, NULL },
	R("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", "pc", NULL, false, ALL, NULL, SUB_DNS, false),
	R("coordination.k8s.io", "v1", "Lease", "leases", "lease", NULL, NULL, true, ALL, NULL, SUB_DNS, false),
	R("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", "runtimeclass", NULL, NULL, false, ALL, NULL, SUB_DNS, false),
	R("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", NULL, NULL, true, ALL, NULL, SUB_DNS, false),
	REVIEW("authentication.k8s.io", "TokenReview", "tokenreviews", false, &review_token_hooks),
	REVIEW("authentication.k8s.io", "SelfSubjectReview", "selfsubjectreviews", false, &review_self_hooks),
	REVIEW("authorization.k8s.io", "LocalSubjectAccessReview", "localsubjectaccessreviews", true, &review_access_hooks),
	REVIEW("authorization.k8s.io", "SelfSubjectAccessReview", "selfsubjectaccessreviews", false, &review_self_access_hooks),
	REVIEW("authorization.k8s.io", "SelfSubjectRulesReview", "selfsubjectrulesreviews", false, &review_rules_hooks),
	REVIEW("authorization.k8s.io", "SubjectAccessReview", "subjectaccessreviews", false, &review_access_hooks),
};

struct group_versions {
	const char *group;
	const char *versions[3];
};

/* Discovery order of the groups, and their versions, preferred first. */
static const struct group_versions groups[] = {
	{ "", { "v1", NULL } },
	{ "apps", { "v1", NULL } },
	{ "events.k8s.io", { "v1", NULL } },
	{ "autoscaling", { "v2", "v1", NULL } },
	{ "batch", { "v1", NULL } },
	{ "certificates.k8s.io", { "v1", NULL } },
	{ "networking.k8s.io", { "v1", NULL } },
	{ "policy", { "v1", NULL } },
	{ "rbac.authorization.k8s.io", { "v1", NULL } },
	{ "storage.k8s.io", { "v1", NULL } },
	{ "apiextensions.k8s.io", { "v1", NULL } },
	{ "scheduling.k8s.io", { "v1", NULL } },
	{ "coordination.k8s.io", { "v1", NULL } },
	{ "node.k8s.io", { "v1", NULL } },
	{ "discovery.k8s.io", { "v1", NULL } },
	{ "authentication.k8s.io", { "v1", NULL } },
	{ "authorization.k8s.io", { "v1", NULL } },
};

/* Run-time rows (custom resources), after the built-in ones. */
static const struct api_resource **dyn;
static size_t ndyn, dyn_alloc;

void registry_add(const struct api_resource *r)
{
	ALLOC_GROW(dyn, ndyn + 1, dyn_alloc);
	dyn[ndyn++] = r;
}

void registry_remove(const struct api_resource *r)
{
	for (size_t i = 0; i < ndyn; i++)
		if (dyn[i] == r) {
			memmove(&dyn[i], &dyn[i + 1], (ndyn - i - 1) * sizeof(*dyn));
			if (--ndyn == 0) {
				free(dyn);
				dyn = NULL;
				dyn_alloc = 0;
			}
			return;
		}
}

void registry_init(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtin_resources); i++) {
		struct api_resource *r = &builtin_resources[i];

		if (!r->list_kind)
			r->list_kind = xasprintf("%sList", r->kind);
		if (!strcmp(r->group, "events.k8s.io"))
			r->storage_group = "";
	}
}

const struct api_resource *registry_find(const char *group, const char *version,
					 const char *plural)
{
	for (size_t i = 0; i < registry_count(); i++) {
		const struct api_resource *r = registry_at(i);

		if (!strcmp(r->group, group) && !strcmp(r->version, version) &&
		    !strcmp(r->plural, plural))
			return r;
	}
	return NULL;
}

const struct api_resource *registry_find_kind(const char *group, const char *version,
					      const char *kind)
{
	for (size_t i = 0; i < registry_count(); i++) {
		const struct api_resource *r = registry_at(i);

		if (!strcmp(r->group, group) && !strcmp(r->version, version) &&
		    !strcmp(r->kind, kind))
			return r;
	}
	return NULL;
}

size_t registry_count(void)
{
	return ARRAY_SIZE(builtin_resources) + ndyn;
}

const struct api_resource *registry_at(size_t i)
{
	if (i < ARRAY_SIZE(builtin_resources))
		return &builtin_resources[i];
	i -= ARRAY_SIZE(builtin_resources);
	return i < ndyn ? dyn[i] : NULL;
}

bool registry_has_sub(const struct api_resource *r, const char *sub)
{
	const char *p = r->subresources;
	size_t n = strlen(sub);

	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);

		if (l == n && !strncmp(p, sub, n))
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

/* "v1" -> class 0 (GA), "v2beta1" -> 1, "v1alpha2" -> 2, other -> 3. */
static int version_class(const char *v, long *major, long *minor)
{
	char *end;

	*major = *minor = 0;
	if (v[0] != 'v' || !isdigit((unsigned char)v[1]))
		return 3;
	*major = strtol(v + 1, &end, 10);
	if (!*end)
		return 0;
	if (!strncmp(end, "beta", 4) && isdigit((unsigned char)end[4])) {
		*minor = strtol(end + 4, &end, 10);
		return *end ? 3 : 1;
	}
	if (!strncmp(end, "alpha", 5) && isdigit((unsigned char)end[5])) {
		*minor = strtol(end + 5, &end, 10);
		return *end ? 3 : 2;
	}
	return 3;
}

int registry_version_cmp(const char *a, const char *b)
{
	long ma, na, mb, nb;
	int ca = version_class(a, &ma, &na), cb = version_class(b, &mb, &nb);

	if (ca != cb)
		return ca - cb;
	if (ca == 3)
		return strcmp(a, b);
	if (ma != mb)
		return ma > mb ? -1 : 1;
	if (na != nb)
		return na > nb ? -1 : 1;
	return 0;
}

#define REGISTRY_MAX_DYN_VERSIONS 16	/* versions listed per custom group */

const char *const *registry_group_versions(const char *group)
{
	static const char *vs[REGISTRY_MAX_DYN_VERSIONS + 1];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
		if (!strcmp(groups[i].group, group))
			return groups[i].versions;
	for (size_t i = 0; i < ndyn; i++) {
		size_t j, k;

		if (strcmp(dyn[i]->group, group))
			continue;
		for (j = 0; j < n && strcmp(vs[j], dyn[i]->version); j++)
			;
		if (j < n || n == REGISTRY_MAX_DYN_VERSIONS)
			continue;
		for (k = n; k > 0 && registry_version_cmp(dyn[i]->version, vs[k - 1]) < 0; k--)
			vs[k] = vs[k - 1];
		vs[k] = dyn[i]->version;
		n++;
	}
	vs[n] = NULL;
	return n ? vs : NULL;
}
