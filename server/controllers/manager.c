/*
 * server/controllers/manager.c - starts the object cache and the built-in
 * controllers once the API server has its built-in objects.
 */
#include "ctrl_priv.h"
#include "../apiserver.h"
#include "../server.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <string.h>

static struct ctrl_manager mgr;

/* Fields controllers never read: not kept in the cache. */
static const char *const pod_drop[] = {
	"metadata.managedFields", "metadata.annotations",
	"spec.ephemeralContainers", "status.containerStatuses",
	"status.initContainerStatuses", "status.ephemeralContainerStatuses", NULL,
};
static const char *const managed_drop[] = { "metadata.managedFields", NULL };
/* Nodes: labels (topology zone), spec (podCIDRs for node IPAM), allocatable and conditions. */
static const char *const node_drop[] = { "metadata.managedFields", "metadata.annotations",
					 "status.images", "status.nodeInfo", "status.volumesInUse",
					 "status.volumesAttached", "status.daemonEndpoints", NULL };

const char *ctrl__mstr(const cJSON *obj, const char *key)
{
	return json_get_str(json_get(obj, "metadata"), key, "");
}

const char *ctrl__label(const cJSON *obj, const char *key)
{
	return json_get_str(json_path(obj, "metadata.labels"), key, NULL);
}

const char *ctrl__split_key(const char *key, char *ns, size_t ns_size)
{
	const char *slash = strchr(key, '/');

	if (!slash) {
		ns[0] = '\0';
		return key;
	}
	snprintf(ns, ns_size, "%.*s", (int)(slash - key), key);
	return slash + 1;
}

int controllers_start(struct apiserver *s)
{
	int r;

	if (mgr.started)
		return -EALREADY;
	mgr.srv = s;
	cache_init(&mgr.cache, s);
	mgr.rs = cache_add(&mgr.cache, "apps", "v1", "replicasets", managed_drop);
	mgr.deploy = cache_add(&mgr.cache, "apps", "v1", "deployments", managed_drop);
	mgr.pods = cache_add(&mgr.cache, "", "v1", "pods", pod_drop);
	mgr.svcs = cache_add(&mgr.cache, "", "v1", "services", managed_drop);
	mgr.slices = cache_add(&mgr.cache, "discovery.k8s.io", "v1", "endpointslices", managed_drop);
	mgr.nodes = cache_add(&mgr.cache, "", "v1", "nodes", node_drop);
	mgr.leases = cache_add(&mgr.cache, "coordination.k8s.io", "v1", "leases", managed_drop);
	mgr.endpoints = cache_add(&mgr.cache, "", "v1", "endpoints", managed_drop);
	mgr.daemonsets = cache_add(&mgr.cache, "apps", "v1", "daemonsets", managed_drop);
	mgr.jobs = cache_add(&mgr.cache, "batch", "v1", "jobs", managed_drop);
	mgr.pdbs = cache_add(&mgr.cache, "policy", "v1", "poddisruptionbudgets", managed_drop);
	mgr.rcs = cache_add(&mgr.cache, "", "v1", "replicationcontrollers", managed_drop);
	mgr.cronjobs = cache_add(&mgr.cache, "batch", "v1", "cronjobs", managed_drop);
	mgr.statefulsets = cache_add(&mgr.cache, "apps", "v1", "statefulsets", managed_drop);
	mgr.namespaces = cache_add(&mgr.cache, "", "v1", "namespaces", managed_drop);
	mgr.revisions = cache_add(&mgr.cache, "apps", "v1", "controllerrevisions", managed_drop);
	if (!mgr.revisions || !mgr.endpoints || !mgr.namespaces || !mgr.statefulsets || !mgr.cronjobs || !mgr.rcs || !mgr.pdbs ||
	    !mgr.jobs || !mgr.daemonsets || !mgr.leases || !mgr.rs || !mgr.deploy || !mgr.pods ||
	    !mgr.svcs || !mgr.slices || !mgr.nodes)
		BUG("controllers: a cached resource is not served");
	gc__start(&mgr);
	rs__start(&mgr);
	deploy__start(&mgr);
	eps__start(&mgr);
	manifests__start(&mgr);
	nodeipam__start(&mgr);
	sched__start(&mgr);
	nlc__start(&mgr);
	tev__start(&mgr);
	ep__start(&mgr);
	mgr.slb_on = !server_component_disabled(s->cfg, "servicelb");
	if (mgr.slb_on && slb__start(&mgr))
		return -EINVAL;
	ds__start(&mgr);
	job__start(&mgr);
	pdb__start(&mgr);
	cj__start(&mgr);
	sts__start(&mgr);
	eventttl__start(&mgr);
	ns__start(&mgr);
	pv__start(&mgr);
	snap__start(&mgr);
	r = cache_start(&mgr.cache);
	if (r) {
		log_error("controllers: cannot fill the cache: %s", strerror(-r));
		return r;
	}
	mgr.started = true;
	log_info("controllers started: garbage collector, replicaset, replicationcontroller, deployment, "
		 "endpointslice, endpoints, endpointslice mirroring, scheduler, node lifecycle, taint eviction, "
		 "nodeipam, daemonset, job, cronjob, statefulset, disruption, event expiry, namespace, "
		 "manifests, persistentvolume, snapshot%s", mgr.slb_on ? ", servicelb" : "");
	return 0;
}

void controllers_stop(struct apiserver *s)
{
	(void)s;
	if (!mgr.srv)
		return;
	wq_release(&mgr.gc_q);
	wq_release(&mgr.rs_q);
	rs__stop();
	wq_release(&mgr.deploy_q);
	wq_release(&mgr.eps_q);
	manifests__stop();
	nodeipam__stop();
	sched__stop();
	nlc__stop();
	tev__stop();
	wq_release(&mgr.ep_q);
	wq_release(&mgr.mirror_q);
	if (mgr.slb_on) {
		wq_release(&mgr.slb_q);
		slb__stop();
	}
	ds__stop();
	job__stop();
	pdb__stop();
	cj__stop();
	sts__stop();
	eventttl__stop();
	ns__stop();
	pv__stop();
	snap__stop();
	cache_release(&mgr.cache);
	ctrl__events_release();
	memset(&mgr, 0, sizeof(mgr));
}
