/*
 * server/objcheck.c - schema checks and per-kind hooks on the REST path.
 */
#include "objcheck.h"
#include "satoken.h"
#include "volsnap.h"
#include "meta.h"
#include "pods.h"
#include "admission.h"
#include "services.h"
#include "schema_glue.h"
#include "lib/inet.h"
#include "lib/json.h"
#include "lib/util.h"

#include <mbedtls/base64.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int objcheck_decode(struct api_call *c, cJSON *obj, struct api_error *e)
{
	return schema_glue_decode(c, obj, e);
}

/* ---- kind defaults that depend on other fields (not expressible as schema defaults) ---- */

static void default_pull_policy(cJSON *containers)
{
	cJSON *ct;

	cJSON_ArrayForEach(ct, containers) {
		const char *img = json_get_str(ct, "image", "");
		const char *slash = strrchr(img, '/'), *colon = strrchr(img, ':');
		bool latest;

		if (json_get(ct, "imagePullPolicy"))
			continue;
		if (strchr(img, '@'))
			latest = false;
		else if (colon && (!slash || colon > slash))
			latest = !strcmp(colon + 1, "latest");
		else
			latest = true;
		json_set_str(ct, "imagePullPolicy", latest ? "Always" : "IfNotPresent");
	}
}

static void pod_spec_defaults(cJSON *spec)
{
	if (!spec)
		return;
	default_pull_policy(json_get(spec, "containers"));
	default_pull_policy(json_get(spec, "initContainers"));
	default_pull_policy(json_get(spec, "ephemeralContainers"));
	if (json_get_str(spec, "serviceAccountName", NULL) && !json_get(spec, "serviceAccount"))
		json_set_str(spec, "serviceAccount", json_get_str(spec, "serviceAccountName", ""));
	if (json_get_bool(spec, "hostNetwork", false)) {
		cJSON *ct, *p;

		/* host network: container ports are host ports */
		cJSON_ArrayForEach(ct, json_get(spec, "containers"))
			cJSON_ArrayForEach(p, json_get(ct, "ports"))
				if (!json_get(p, "hostPort") && json_get(p, "containerPort"))
					json_set_int(p, "hostPort", json_get_int(p, "containerPort", 0));
	}
}

/* kube's QoS class: Guaranteed when every container's cpu and memory limits
 * equal its requests, BestEffort when nothing is set, else Burstable. */
static const char *pod_qos(const cJSON *spec)
{
	static const char *const res[] = { "cpu", "memory" };
	bool any = false, guaranteed = true;
	const cJSON *ct;

	cJSON_ArrayForEach(ct, json_get(spec, "containers")) {
		const cJSON *lim = json_path(ct, "resources.limits"), *req = json_path(ct, "resources.requests");

		if ((lim && lim->child) || (req && req->child))
			any = true;
		for (size_t i = 0; i < ARRAY_SIZE(res); i++) {
			const cJSON *l = json_get(lim, res[i]), *r = json_get(req, res[i]);

			if (!l || (r && !json_equal(l, r)))
				guaranteed = false;
		}
	}
	return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

static void pod_defaults(cJSON *pod)
{
	cJSON *st = json_obj(pod, "status");

	if (!json_get(st, "phase"))
		json_set_str(st, "phase", "Pending");
	if (!json_get(st, "qosClass"))
		json_set_str(st, "qosClass", pod_qos(json_get(pod, "spec")));
}

static void service_defaults(cJSON *svc)
{
	cJSON *spec = json_get(svc, "spec"), *p;

	cJSON_ArrayForEach(p, json_get(spec, "ports"))
		if (!json_get(p, "targetPort") && json_get(p, "port"))
			json_set_int(p, "targetPort", json_get_int(p, "port", 0));
	if (!strcmp(json_get_str(spec, "type", "ClusterIP"), "LoadBalancer") ||
	    !strcmp(json_get_str(spec, "type", "ClusterIP"), "NodePort")) {
		if (!json_get(spec, "externalTrafficPolicy"))
			json_set_str(spec, "externalTrafficPolicy", "Cluster");
	}
	if (!strcmp(json_get_str(spec, "type", "ClusterIP"), "LoadBalancer") &&
	    !json_get(spec, "allocateLoadBalancerNodePorts"))
		json_set_bool(spec, "allocateLoadBalancerNodePorts", true);
}

static void namespace_defaults(cJSON *ns)
{
	cJSON *labels = json_obj(json_obj(ns, "metadata"), "labels");
	const char *name = json_get_str(json_get(ns, "metadata"), "name", NULL);
	cJSON *spec = json_obj(ns, "spec"), *fin;

	if (name)
		json_set_str(labels, "kubernetes.io/metadata.name", name);
	if (!json_get(spec, "finalizers")) {
		fin = cJSON_CreateArray();
		cJSON_AddItemToArray(fin, cJSON_CreateString("kubernetes"));
		json_set(spec, "finalizers", fin);
	}
	if (!json_path(ns, "status.phase"))
		json_set_str(json_obj(ns, "status"), "phase", "Active");
}

static void secret_defaults(cJSON *sec)
{
	cJSON *sd = json_get(sec, "stringData"), *data, *kv;

	if (!json_get(sec, "type"))
		json_set_str(sec, "type", "Opaque");
	if (!cJSON_IsObject(sd))
		return;
	data = json_obj(sec, "data");
	cJSON_ArrayForEach(kv, sd) {
		size_t n = 0, len;
		unsigned char *out;

		if (!cJSON_IsString(kv))
			continue;
		len = strlen(kv->valuestring);
		mbedtls_base64_encode(NULL, 0, &n, (const unsigned char *)kv->valuestring, len);
		out = xmalloc(n + 1);
		mbedtls_base64_encode(out, n + 1, &n, (const unsigned char *)kv->valuestring, len);
		out[n] = '\0';
		json_set_str(data, kv->string, (char *)out);
		free(out);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(sec, "stringData");
}

struct kind_default {
	const char *group, *kind;
	void (*fn)(cJSON *obj);
	const char *pod_spec_path;	/* where a pod template's spec is, or NULL */
};

static void no_extra(cJSON *obj) { (void)obj; }

static const struct kind_default kind_defaults[] = {
	{ "", "Pod", pod_defaults, "spec" },
	{ "", "PodTemplate", no_extra, "template.spec" },
	{ "", "ReplicationController", no_extra, "spec.template.spec" },
	{ "apps", "Deployment", no_extra, "spec.template.spec" },
	{ "apps", "ReplicaSet", no_extra, "spec.template.spec" },
	{ "apps", "DaemonSet", no_extra, "spec.template.spec" },
	{ "apps", "StatefulSet", no_extra, "spec.template.spec" },
	{ "batch", "Job", no_extra, "spec.template.spec" },
	{ "batch", "CronJob", no_extra, "spec.jobTemplate.spec.template.spec" },
	{ "", "Service", service_defaults, NULL },
	{ "", "Namespace", namespace_defaults, NULL },
	{ "", "Secret", secret_defaults, NULL },
	{ "", "PersistentVolumeClaim", volsnap_pvc_defaults, NULL },
};

void objcheck_defaults(struct api_call *c, cJSON *obj)
{
	schema_glue_defaults(c, obj);
	for (size_t i = 0; i < ARRAY_SIZE(kind_defaults); i++) {
		const struct kind_default *k = &kind_defaults[i];

		if (strcmp(k->group, c->res->group) || strcmp(k->kind, c->res->kind))
			continue;
		k->fn(obj);
		if (k->pod_spec_path)
			pod_spec_defaults(json_path(obj, k->pod_spec_path));
	}
	if (c->res->hooks && c->res->hooks->defaults)
		c->res->hooks->defaults(obj);
}

/* ---- validation beyond the schema ---- */

static void immutable(const cJSON *obj, const cJSON *old, const char *path,
		      struct api_error *e)
{
	const cJSON *a = json_path(obj, path), *b = json_path(old, path);

	if (old && b && !json_equal(a, b))
		field_invalid(e, path, a, "field is immutable");
}

static void validate_pod(const cJSON *obj, const cJSON *old, struct api_error *e)
{
	const cJSON *spec = json_get(obj, "spec");

	if (json_get_bool(spec, "shareProcessNamespace", false) &&
	    json_get_bool(spec, "hostPID", false))
		field_invalid(e, "spec.securityContext.shareProcessNamespace", json_get(spec, "shareProcessNamespace"),
			      "ShareProcessNamespace and HostPID cannot both be enabled");
	if (!cJSON_GetArraySize(json_get(spec, "containers")))
		field_required(e, "spec.containers", "");
	if (!old && cJSON_GetArraySize(json_get(spec, "ephemeralContainers")))
		field_forbidden(e, "spec.ephemeralContainers", "cannot be set on create");
	immutable(obj, old, "spec.nodeName", e);
	if (old)
		pods_validate_update(obj, old, e);
	pods_validate_ephemeral(obj, e);
}

static void validate_service(const cJSON *obj, const cJSON *old, struct api_error *e)
{
	const cJSON *spec = json_get(obj, "spec");
	const char *type = json_get_str(spec, "type", "ClusterIP");
	static const char *const types[] = { "ClusterIP", "NodePort", "LoadBalancer", "ExternalName", NULL };
	bool ok = false;

	for (size_t i = 0; types[i]; i++)
		ok |= !strcmp(types[i], type);
	if (!ok)
		field_not_supported(e, "spec.type", type, types);
	if (strcmp(type, "ExternalName") && !cJSON_GetArraySize(json_get(spec, "ports")) &&
	    strcmp(json_get_str(spec, "clusterIP", ""), "None"))
		field_required(e, "spec.ports", "");
}

static void validate_configmap(const cJSON *obj, const cJSON *old, struct api_error *e)
{
	const cJSON *kv;

	(void)old;
	cJSON_ArrayForEach(kv, json_get(obj, "data"))
		if (!cJSON_IsString(kv))
			field_invalid(e, "data", kv, "must be a string");
	if (json_get_bool(obj, "immutable", false) && old && json_get_bool(old, "immutable", false)) {
		if (!json_equal(json_get(obj, "data"), json_get(old, "data")))
			field_forbidden(e, "data", "field is immutable when `immutable` is set");
	}
}

static void validate_selector_required(const cJSON *obj, const cJSON *old, struct api_error *e)
{
	(void)old;
	if (!json_path(obj, "spec.selector"))
		field_required(e, "spec.selector", "");
}

static void validate_secret(const cJSON *obj, const cJSON *old, struct api_error *e)
{
	if (old && json_get_bool(old, "immutable", false) &&
	    (!json_equal(json_get(obj, "data"), json_get(old, "data")) ||
	     !json_equal(json_get(obj, "stringData"), json_get(old, "stringData"))))
		field_forbidden(e, "data", "field is immutable when `immutable` is set");
}

/* Fields that may not change once the object exists (or once set, for
 * "set once" fields that start empty), per kind, as kube-apiserver's
 * ValidateXUpdate functions have them. */
static const struct {
	const char *group, *kind;
	const char *fields[6];
	bool once_set;		/* may go from absent to set (podCIDRs, volumeName) */
} immutable_fields[] = {
	{ "apps", "Deployment", { "spec.selector" }, false },
	{ "apps", "ReplicaSet", { "spec.selector" }, false },
	{ "apps", "DaemonSet", { "spec.selector" }, false },
	{ "apps", "StatefulSet", { "spec.selector", "spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy" }, false },
	{ "batch", "Job", { "spec.selector", "spec.template", "spec.completionMode" }, false },
	{ "", "Secret", { "type" }, false },
	{ "", "PersistentVolumeClaim", { "spec.storageClassName", "spec.accessModes", "spec.selector", "spec.dataSource", "spec.volumeMode" }, false },
	{ "", "PersistentVolumeClaim", { "spec.volumeName" }, true },
	{ "", "Node", { "spec.podCIDR", "spec.podCIDRs" }, true },
	{ "storage.k8s.io", "StorageClass", { "provisioner", "parameters", "reclaimPolicy", "volumeBindingMode" }, false },
	{ "storage.k8s.io", "CSIDriver", { "spec.attachRequired", "spec.podInfoOnMount", "spec.volumeLifecycleModes" }, false },
	{ "discovery.k8s.io", "EndpointSlice", { "addressType" }, false },
	{ "scheduling.k8s.io", "PriorityClass", { "value" }, false },
	{ "rbac.authorization.k8s.io", "RoleBinding", { "roleRef" }, false },
	{ "rbac.authorization.k8s.io", "ClusterRoleBinding", { "roleRef" }, false },
	{ "certificates.k8s.io", "CertificateSigningRequest", { "spec.request", "spec.signerName", "spec.usages" }, false },
};

static void validate_immutable_fields(struct api_call *c, const cJSON *obj, const cJSON *old,
				      struct api_error *e)
{
	if (!old || !strcmp(c->route.sub, "status"))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(immutable_fields); i++) {
		if (strcmp(immutable_fields[i].group, c->res->group) ||
		    strcmp(immutable_fields[i].kind, c->res->kind))
			continue;
		for (size_t f = 0; f < ARRAY_SIZE(immutable_fields[i].fields) && immutable_fields[i].fields[f]; f++) {
			const char *path = immutable_fields[i].fields[f];

			if (immutable_fields[i].once_set && !json_path(old, path))
				continue;
			immutable(obj, old, path, e);
		}
	}
}

/* discovery.k8s.io/v1 EndpointSlice, as pkg/apis/discovery/validation does it. */
#define EPS_MAX_ENDPOINTS 1000
#define EPS_MAX_ADDRESSES 100
#define EPS_MAX_PORTS 20000
#define EPS_MAX_ZONE_HINTS 8

static void too_many(struct api_error *e, const char *field, int n, int max)
{
	api_error_add_cause(e, "FieldValueTooMany", field, "Too many: %d: must have at most %d items", n, max);
}

static void validate_endpointslice(const cJSON *obj, const cJSON *old, struct api_error *e)
{
	const char *type = json_get_str(obj, "addressType", "");
	const cJSON *ep, *a;
	char field[96];
	int i = 0;

	(void)old;
	if (cJSON_GetArraySize(json_get(obj, "endpoints")) > EPS_MAX_ENDPOINTS)
		too_many(e, "endpoints", cJSON_GetArraySize(json_get(obj, "endpoints")), EPS_MAX_ENDPOINTS);
	if (cJSON_GetArraySize(json_get(obj, "ports")) > EPS_MAX_PORTS)
		too_many(e, "ports", cJSON_GetArraySize(json_get(obj, "ports")), EPS_MAX_PORTS);
	cJSON_ArrayForEach(ep, json_get(obj, "endpoints")) {
		int n = cJSON_GetArraySize(json_get(ep, "addresses")), k = 0;

		snprintf(field, sizeof(field), "endpoints[%d].addresses", i);
		if (n == 0)
			field_required(e, field, "must contain at least 1 address");
		else if (n > EPS_MAX_ADDRESSES)
			too_many(e, field, n, EPS_MAX_ADDRESSES);
		cJSON_ArrayForEach(a, json_get(ep, "addresses")) {
			struct inet_addr ia;
			bool ok = cJSON_IsString(a) && !inet_addr_parse(a->valuestring, &ia);

			snprintf(field, sizeof(field), "endpoints[%d].addresses[%d]", i, k++);
			if (!strcmp(type, "IPv4") && (!ok || ia.family != AF_INET))
				field_invalid(e, field, a, "must be a valid IPv4 address");
			else if (!strcmp(type, "IPv6") && (!ok || ia.family != AF_INET6))
				field_invalid(e, field, a, "must be a valid IPv6 address");
		}
		n = cJSON_GetArraySize(json_path(ep, "hints.forZones"));
		if (n > EPS_MAX_ZONE_HINTS) {
			snprintf(field, sizeof(field), "endpoints[%d].hints.forZones", i);
			too_many(e, field, n, EPS_MAX_ZONE_HINTS);
		}
		i++;
	}
}

struct kind_validate {
	const char *group, *kind;
	void (*fn)(const cJSON *obj, const cJSON *old, struct api_error *e);
};

static const struct kind_validate kind_validators[] = {
	{ "", "Pod", validate_pod },
	{ "", "Service", validate_service },
	{ "", "ConfigMap", validate_configmap },
	{ "", "Secret", validate_secret },
	{ "discovery.k8s.io", "EndpointSlice", validate_endpointslice },
	{ "apps", "Deployment", validate_selector_required },
	{ "apps", "ReplicaSet", validate_selector_required },
	{ "apps", "DaemonSet", validate_selector_required },
	{ "apps", "StatefulSet", validate_selector_required },
	{ VOLSNAP_GROUP, "VolumeSnapshot", volsnap_validate_snapshot },
	{ VOLSNAP_GROUP, "VolumeSnapshotContent", volsnap_validate_content },
	{ VOLSNAP_GROUP, "VolumeSnapshotClass", volsnap_validate_class },
};

void objcheck_validate(struct api_call *c, const cJSON *obj, const cJSON *old,
		       struct api_error *e)
{
	schema_glue_validate(c, obj, e);
	validate_immutable_fields(c, obj, old, e);
	if (old && !strcmp(c->route.sub, "ephemeralcontainers")) {
		pods_validate_ephemeral_update(obj, old, e);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kind_validators); i++)
		if (!strcmp(kind_validators[i].group, c->res->group) &&
		    !strcmp(kind_validators[i].kind, c->res->kind))
			kind_validators[i].fn(obj, old, e);
	if (c->res->hooks && c->res->hooks->validate)
		c->res->hooks->validate(obj, old, e);
}

void objcheck_admit(struct api_call *c, cJSON *obj, const cJSON *old, struct api_error *e)
{
	if (!strcmp(c->res->kind, "Service") && !*c->res->group)
		services_admit(c, obj, old, e);
	if (!old && !strcmp(c->res->kind, "Pod") && !*c->res->group) {
		admission_pod_tolerations(obj);
		if (!e->ncauses)
			satoken_admit_pod(c, obj, e);
	}
	if (!old && !strcmp(c->res->kind, "Node") && !*c->res->group)
		admission_node_taints(obj);
	if (!old && !strcmp(c->res->kind, "Job") && !strcmp(c->res->group, "batch"))
		admission_job(obj);
}

void objcheck_write_done(struct api_call *c, int err)
{
	services_write_done(c, err);
}

void objcheck_smp_schema(struct api_call *c, struct smp_schema *out)
{
	schema_glue_smp(c, out);
}

bool objcheck_graceful_delete(struct api_call *c, const cJSON *obj)
{
	if (c->res->hooks && c->res->hooks->graceful_delete)
		return c->res->hooks->graceful_delete(obj);
	if (*c->res->group || json_path(obj, "metadata.deletionTimestamp"))
		return false;
	if (!strcmp(c->res->kind, "Namespace"))
		return true;	/* the namespace cleaner removes it once empty */
	if (strcmp(c->res->kind, "Pod"))
		return false;
	/* upstream: unscheduled and finished pods go at once */
	return json_get_str(json_get(obj, "spec"), "nodeName", NULL) &&
	       strcmp(json_get_str(json_get(obj, "status"), "phase", ""), "Succeeded") &&
	       strcmp(json_get_str(json_get(obj, "status"), "phase", ""), "Failed");
}

void objcheck_on_delete_mark(struct api_call *c, cJSON *obj)
{
	if (c->res->hooks && c->res->hooks->delete_mark)
		c->res->hooks->delete_mark(c, obj);
	if (!strcmp(c->res->kind, "Namespace") && !*c->res->group) {
		json_set_str(json_obj(obj, "status"), "phase", "Terminating");
		api_namespace_cleanup(c->srv, json_get_str(json_get(obj, "metadata"), "name", ""));
	}
}
