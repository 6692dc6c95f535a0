/*
 * server/controllers/namespace.c - the namespace controller's part beyond
 * server/nsclean.c: a namespace found Terminating (marked for deletion) has
 * its clean-up (re)started, so one marked before a server restart is still
 * emptied and removed; nsclean ignores a namespace it is already cleaning.
 * nsclean also writes upstream's NamespaceDeletion* / Namespace*Remaining
 * status conditions while content remains.
 *
 * Every other namespace it sees (all of them once at start, then on each
 * change) gets what a namespace is created with when it lacks it: the
 * `default` ServiceAccount and the kube-root-ca.crt ConfigMap
 * (api_namespace_created), so namespaces made before those existed, or a
 * ConfigMap deleted by hand, are repaired (upstream's serviceaccounts and
 * root-ca-cert-publisher controllers; here not on the deletion itself).
 */
#include "workload.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/util.h"

#include <string.h>

static struct ctrl_manager *nm;

static bool terminating(const cJSON *ns)
{
	return json_path(ns, "metadata.deletionTimestamp") ||
	       !strcmp(json_get_str(json_get(ns, "status"), "phase", ""), "Terminating");
}

static void on_ns(struct cache_store *st, const cJSON *old, const cJSON *new, void *ud)
{
	(void)st;
	(void)old;
	(void)ud;
	if (new && terminating(new))
		api_namespace_cleanup(nm->srv, wl_meta(new, "name"));
	else if (new)
		api_namespace_created(nm->srv, wl_meta(new, "name"));
}

void ns__start(struct ctrl_manager *m)
{
	nm = m;
	cache_store_on_event(m->namespaces, on_ns, m);
}

void ns__stop(void)
{
	nm = NULL;
}
