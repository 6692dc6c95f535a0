/*
 * server/bootstrap.c - objects every cluster has: the namespaces default,
 * kube-system, kube-public and kube-node-lease, and a `default`
 * ServiceAccount in every namespace (made when the namespace is created, as
 * the serviceaccounts controller does upstream), the `kubernetes` Service,
 * and kube-system/kube-dns with the cluster DNS IPs.
 */
#include "apiserver.h"
#include "meta.h"
#include "services.h"
#include "storage.h"
#include "lib/inet.h"
#include "volsnap.h"
#include "satoken.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const builtin_namespaces[] = {
	"default", "kube-system", "kube-public", "kube-node-lease",
};

struct boot_write {
	struct apiserver *s;
};

static int pending;			/* bootstrap writes not yet durable */
static void (*when_done)(struct apiserver *s);	/* runs once pending drops to 0 */

static void write_done(int err, int64_t rev, struct sobj *prev, void *ud)
{
	struct boot_write *w = ud;

	(void)rev;
	(void)prev;
	if (err && err != -EEXIST)
		log_error("cannot create a built-in object: %s", strerror(-err));
	if (--pending == 0 && when_done) {
		void (*done)(struct apiserver *s) = when_done;

		when_done = NULL;
		done(w->s);
	}
	free(w);
}

static void create(struct apiserver *s, const char *group, const char *plural, const char *ns,
		   cJSON *obj)
{
	const struct api_resource *r = registry_find(group, "v1", plural);
	struct api_error e = { 0 };
	struct boot_write *w = xcalloc(1, sizeof(*w));
	char *key, *val;

	meta_prepare_create(obj, r, (int64_t)wall_ns(), &e);
	api_error_release(&e);
	key = api_key(r, ns, json_get_str(json_get(obj, "metadata"), "name", ""));
	val = json_print(obj);
	w->s = s;
	pending++;
	storage_create(s, key, val, strlen(val), write_done, w);
	free(key);
	free(val);
	cJSON_Delete(obj);
}

static void kube_dns_service(struct apiserver *s);
static bool exists(struct apiserver *s, const struct api_resource *r, const char *ns, const char *name);

/* A new object of that kind with metadata.name (and .namespace unless
 * ns is NULL); *meta gets its metadata. Caller frees (create() does). */
static cJSON *new_object(const char *api_version, const char *kind, const char *ns,
			 const char *name, cJSON **meta)
{
	cJSON *o = cJSON_CreateObject(), *m = json_obj(o, "metadata");	/* metadata first */

	json_set_str(o, "apiVersion", api_version);
	json_set_str(o, "kind", kind);
	json_set_str(m, "name", name);
	if (ns)
		json_set_str(m, "namespace", ns);
	if (meta)
		*meta = m;
	return o;
}

void api_namespace_created(struct apiserver *s, const char *ns)
{
	const struct api_resource *sa_res = registry_find("", "v1", "serviceaccounts");
	const struct api_resource *cm_res = registry_find("", "v1", "configmaps");
	cJSON *cm;

	if (!exists(s, sa_res, ns, "default"))
		create(s, "", "serviceaccounts", ns, new_object("v1", "ServiceAccount", ns, "default", NULL));
	if (!exists(s, cm_res, ns, SATOKEN_ROOT_CA_CM) && (cm = satoken_root_ca_configmap(s, ns)))
		create(s, "", "configmaps", ns, cm);
}

/* The address clients reach this API server at: --node-ip, else the first
 * global IPv4 address of the host, else loopback. */
static void advertise_address(struct apiserver *s, char out[INET6_ADDRSTRLEN])
{
	struct ifaddrs *ifs = NULL, *i;

	snprintf(out, INET6_ADDRSTRLEN, "127.0.0.1");
	if (s->cfg->node_ip.n) {
		snprintf(out, INET6_ADDRSTRLEN, "%s", s->cfg->node_ip.v[0]);
		return;
	}
	if (getifaddrs(&ifs))
		return;
	for (i = ifs; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !(i->ifa_flags & IFF_LOOPBACK) &&
		    (i->ifa_flags & IFF_UP)) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, INET6_ADDRSTRLEN);
			break;
		}
	freeifaddrs(ifs);
}

static bool exists(struct apiserver *s, const struct api_resource *r, const char *ns, const char *name)
{
	char *key = api_key(r, ns, name);
	struct sobj o = { 0 };
	bool found = !storage_get(s, key, &o);

	sobj_release(&o);
	free(key);
	return found;
}

/* The ports of the `kubernetes` Endpoints and EndpointSlice: https. */
static cJSON *https_ports(const struct apiserver *s)
{
	cJSON *ports = cJSON_CreateArray(), *p = cJSON_CreateObject();

	json_set_str(p, "name", "https");
	json_set_int(p, "port", s->cfg->https_port);
	json_set_str(p, "protocol", "TCP");
	cJSON_AddItemToArray(ports, p);
	return ports;
}

/* The `kubernetes` Service in default, with Endpoints and an EndpointSlice
 * naming this API server, as kube-apiserver's endpoint reconciler keeps them. */
static void kubernetes_service(struct apiserver *s)
{
	char ip[INET6_ADDRSTRLEN];
	cJSON *o, *m, *arr, *x;
	bool v6;

	if (!exists(s, registry_find("", "v1", "services"), "default", "kubernetes"))
		create(s, "", "services", "default", services_kubernetes(s));
	advertise_address(s, ip);
	v6 = strchr(ip, ':') != NULL;
	if (!exists(s, registry_find("", "v1", "endpoints"), "default", "kubernetes")) {
		o = new_object("v1", "Endpoints", "default", "kubernetes", NULL);
		arr = cJSON_CreateArray();
		x = cJSON_CreateObject();
		json_set(x, "addresses", cJSON_CreateArray());
		cJSON_AddItemToArray(json_get(x, "addresses"), cJSON_CreateObject());
		json_set_str(cJSON_GetArrayItem(json_get(x, "addresses"), 0), "ip", ip);
		json_set(x, "ports", https_ports(s));
		cJSON_AddItemToArray(arr, x);
		json_set(o, "subsets", arr);
		create(s, "", "endpoints", "default", o);
	}
	if (!exists(s, registry_find("discovery.k8s.io", "v1", "endpointslices"), "default", "kubernetes")) {
		o = new_object("discovery.k8s.io/v1", "EndpointSlice", "default", "kubernetes", &m);
		json_set_str(json_obj(m, "labels"), "kubernetes.io/service-name", "kubernetes");
		json_set_str(o, "addressType", v6 ? "IPv6" : "IPv4");
		arr = cJSON_CreateArray();
		x = cJSON_CreateObject();
		json_set(x, "addresses", cJSON_CreateStringArray((const char *[]){ ip }, 1));
		json_set_bool(json_obj(x, "conditions"), "ready", true);
		cJSON_AddItemToArray(arr, x);
		json_set(o, "endpoints", arr);
		json_set(o, "ports", https_ports(s));
		create(s, "discovery.k8s.io", "endpointslices", "default", o);
	}
}

bool server_component_disabled(const struct server_config *cfg, const char *component)
{
	for (size_t i = 0; cfg && i < cfg->disable.n; i++)
		if (!strcmp(cfg->disable.v[i], component))
			return true;
	return false;
}

/* The default StorageClass `local` of the built-in driver (docs/storage.md);
 * the snapshot.storage.k8s.io CRDs (server/volsnap.h); the
 * VolumeSnapshotClass `local` is made by the snapshot controller once they
 * are served. Made when missing at start: edits are kept. */
static void storage_defaults(struct apiserver *s)
{
	const struct api_resource *r = registry_find("storage.k8s.io", "v1", "storageclasses");
	cJSON *o, *m;

	const struct api_resource *cr = registry_find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
	cJSON *crds, *c;

	if (server_component_disabled(s->cfg, "local-storage"))
		return;
	crds = volsnap_crds();
	cJSON_ArrayForEach(c, crds)
		if (!exists(s, cr, "", json_get_str(json_get(c, "metadata"), "name", "")))
			create(s, "apiextensions.k8s.io", "customresourcedefinitions", "", cJSON_Duplicate(c, 1));
	cJSON_Delete(crds);
	if (exists(s, r, "", "local"))
		return;
	o = new_object("storage.k8s.io/v1", "StorageClass", NULL, "local", &m);
	json_set_str(json_obj(m, "annotations"), "storageclass.kubernetes.io/is-default-class", "true");
	json_set_str(o, "provisioner", "k1s.io/local");
	json_set_str(o, "reclaimPolicy", "Delete");
	json_set_str(o, "volumeBindingMode", "WaitForFirstConsumer");
	json_set_bool(o, "allowVolumeExpansion", true);
	create(s, "storage.k8s.io", "storageclasses", "", o);
}

void api_bootstrap_objects(struct apiserver *s, void (*done)(struct apiserver *s))
{
	const struct api_resource *r = registry_find("", "v1", "namespaces");

	when_done = done;
	pending++;	/* held until every write is queued */
	for (size_t i = 0; i < ARRAY_SIZE(builtin_namespaces); i++) {
		char *key = api_key(r, "", builtin_namespaces[i]);
		struct sobj o = { 0 };
		cJSON *ns, *m;

		if (!storage_get(s, key, &o)) {
			sobj_release(&o);
			free(key);
			api_namespace_created(s, builtin_namespaces[i]);
			continue;
		}
		free(key);
		ns = new_object("v1", "Namespace", NULL, builtin_namespaces[i], &m);
		json_set_str(json_obj(m, "labels"), "kubernetes.io/metadata.name", builtin_namespaces[i]);
		json_set(json_obj(ns, "spec"), "finalizers", cJSON_CreateStringArray((const char *[]){ "kubernetes" }, 1));
		json_set_str(json_obj(ns, "status"), "phase", "Active");
		create(s, "", "namespaces", "", ns);
		api_namespace_created(s, builtin_namespaces[i]);
	}
	kubernetes_service(s);
	kube_dns_service(s);
	storage_defaults(s);
	if (--pending == 0 && when_done) {
		when_done = NULL;
		done(s);
	}
}

/* ---- the kube-dns Service (answered by every agent, see docs/dns.md) ---- */

int server_cluster_dns(const struct server_config *c, char *out, size_t len)
{
	struct inet_prefix cidr[2];
	struct inet_addr ip[2];
	char *dup = xstrdup(c->service_cidr), *save = NULL, *tok, buf[INET_ADDR_STRLEN];
	size_t n = 0, m = 0;
	int ret = 0;

	out[0] = 0;
	for (tok = strtok_r(dup, ",", &save); tok && n < 2; tok = strtok_r(NULL, ",", &save))
		if (inet_prefix_parse(tok, INET_PREFIX_STRICT, &cidr[n++]))
			ret = -EINVAL;
	free(dup);
	if (ret)	/* services_init() reports a bad --service-cidr */
		return c->cluster_dns ? -EINVAL : 0;
	if (c->cluster_dns && !strcmp(c->cluster_dns, "none")) {
		snprintf(out, len, "none");
		return 0;
	}
	if (c->cluster_dns) {
		dup = xstrdup(c->cluster_dns);
		save = NULL;
		for (tok = strtok_r(dup, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
			bool in = false;

			if (m == 2 || inet_addr_parse(tok, &ip[m]) || (m && ip[0].family == ip[1].family))
				ret = -EINVAL;
			for (size_t i = 0; !ret && i < n; i++)
				in |= inet_prefix_contains(&cidr[i], &ip[m]);
			if (!in)
				ret = -EINVAL;
			m++;
		}
		free(dup);
	} else {
		for (m = 0; m < n && !ret; m++)
			ret = inet_prefix_nth(&cidr[m], 10, &ip[m]);
	}
	if (ret || !m)
		return -EINVAL;
	out[0] = 0;
	for (size_t i = 0; i < m; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "",
			 inet_addr_format(&ip[i], buf));
	return 0;
}

static void add_port(cJSON *ports, const char *name, const char *proto, int port)
{
	cJSON *p = cJSON_CreateObject();

	json_set_str(p, "name", name);
	json_set_int(p, "port", port);
	json_set_str(p, "protocol", proto);
	json_set_int(p, "targetPort", port);
	cJSON_AddItemToArray(ports, p);
}

/* kube-system/kube-dns as on k3s (labels, ports, the fixed clusterIPs),
 * without a selector: each agent publishes its own EndpointSlice. */
static void kube_dns_service(struct apiserver *s)
{
	const char *dns = s->cfg->cluster_dns;
	cJSON *svc, *m, *spec, *l, *ips, *fams, *ports;
	char *dup, *save = NULL, *tok;

	if (!dns || !*dns || !strcmp(dns, "none") ||
	    exists(s, registry_find("", "v1", "services"), "kube-system", "kube-dns"))
		return;
	svc = new_object("v1", "Service", "kube-system", "kube-dns", &m);
	spec = json_obj(svc, "spec");
	l = json_obj(m, "labels");
	json_set_str(l, "k8s-app", "kube-dns");
	json_set_str(l, "kubernetes.io/cluster-service", "true");
	json_set_str(l, "kubernetes.io/name", "CoreDNS");
	json_set_str(json_obj(m, "annotations"), "prometheus.io/port", "9153");
	json_set_str(json_obj(m, "annotations"), "prometheus.io/scrape", "true");
	json_set_str(spec, "type", "ClusterIP");
	ips = cJSON_CreateArray();
	fams = cJSON_CreateArray();
	dup = xstrdup(dns);
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		cJSON_AddItemToArray(ips, cJSON_CreateString(tok));
		cJSON_AddItemToArray(fams, cJSON_CreateString(strchr(tok, ':') ? "IPv6" : "IPv4"));
	}
	free(dup);
	json_set_str(spec, "clusterIP", cJSON_GetArrayItem(ips, 0)->valuestring);
	json_set_str(spec, "ipFamilyPolicy", cJSON_GetArraySize(ips) > 1 ? "RequireDualStack" : "SingleStack");
	json_set(spec, "clusterIPs", ips);
	json_set(spec, "ipFamilies", fams);
	json_set_str(spec, "sessionAffinity", "None");
	json_set_str(spec, "internalTrafficPolicy", "Cluster");
	ports = cJSON_CreateArray();
	add_port(ports, "dns", "UDP", 53);
	add_port(ports, "dns-tcp", "TCP", 53);
	add_port(ports, "metrics", "TCP", 9153);
	json_set(spec, "ports", ports);
	json_obj(json_obj(svc, "status"), "loadBalancer");
	create(s, "", "services", "kube-system", svc);
}
