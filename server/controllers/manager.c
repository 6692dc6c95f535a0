/*
 * server/controllers/manager.c - starts the object cache and the built-in
 * controllers once the API server has its built-in objects.
 */
#include "ctrl_priv.h"
#include "../apiserver.h"
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
	if (!mgr.leases || !mgr.rs || !mgr.deploy || !mgr.pods || !mgr.svcs || !mgr.slices || !mgr.nodes)
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
	pv__start(&mgr);
	snap__start(&mgr);
	r = cache_start(&mgr.cache);
	if (r) {
		log_error("controllers: cannot fill the cache: %s", strerror(-r));
		return r;
	}
	mgr.started = true;
	log_info("controllers started: garbage collector, replicaset, deployment, endpointslice, scheduler, node lifecycle, taint eviction, nodeipam, persistentvolume");
	return 0;
}

void controllers_stop(struct apiserver *s)
{
	(void)s;
	if (!mgr.srv)
		return;
	wq_release(&mgr.gc_q);
	wq_release(&mgr.rs_q);
	wq_release(&mgr.deploy_q);
	wq_release(&mgr.eps_q);
	manifests__stop();
	nodeipam__stop();
	sched__stop();
	nlc__stop();
	tev__stop();
	pv__stop();
	snap__stop();
	cache_release(&mgr.cache);
	ctrl__events_release();
	memset(&mgr, 0, sizeof(mgr));
}
