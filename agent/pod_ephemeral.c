/*
 * agent/pod_ephemeral.c - ephemeral containers (`kubectl debug`): the ones
 * added to spec.ephemeralContainers after the pod started.
 *
 * Each becomes a struct pod_ctr (ephemeral = true) appended to p->ctrs, so
 * the generic code (exit poller, teardown, re-adoption, the kubelet API's
 * lookups) treats it like any container; the state machine starts it once
 * its pod's init containers are done and never restarts it, it has no
 * probes or hooks, and it counts for neither phase nor readiness. It runs in
 * the sandbox's namespaces; with targetContainerName it also joins the PID
 * namespace of that container (so `ps` shows the target's processes
 * without shareProcessNamespace). Its status goes to
 * status.ephemeralContainerStatuses.
 */
#include "agent/pod_int.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pod_ctr *ctr_by_name(struct pod *p, const char *name)
{
	for (size_t i = 0; i < p->n_ctrs; i++)
		if (!strcmp(p->ctrs[i].name, name))
			return &p->ctrs[i];
	return NULL;
}

void pod__eph_add(struct pod *p)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, json_path(p->obj, "spec.ephemeralContainers")) {
		const char *name = json_get_str(it, "name", "");
		struct pod_ctr *c;

		if (!*name || ctr_by_name(p, name))
			continue;
		if (p->n_ctrs >= POD_MAX_CONTAINERS) {
			log_warn("pods: %s/%s: ephemeral container %s: more than %d containers", p->ns,
				 p->name, name, POD_MAX_CONTAINERS);
			return;
		}
		p->ctrs = xrealloc(p->ctrs, (p->n_ctrs + 1) * sizeof(*p->ctrs));
		c = &p->ctrs[p->n_ctrs++];
		memset(c, 0, sizeof(*c));
		c->name = xstrdup(name);
		c->ephemeral = true;
		c->image_ref = xstrdup(json_get_str(it, "image", ""));
	}
}

int pod__eph_target(struct pod *p, const cJSON *spec, char **id, const char **reason, char **msg)
{
	const char *target = json_get_str(spec, "targetContainerName", "");
	struct pod_ctr *t;

	*id = NULL;
	if (!*target)
		return 0;
	t = ctr_by_name(p, target);
	if (!t || t->ephemeral || t->run != CTR_RUNNING) {
		*reason = "ContainerCreating";
		*msg = xasprintf("target container %s is not running", target);
		return -EAGAIN;
	}
	*id = xstrdup(t->id);
	return 0;
}

int pod__eph_join_pid(struct pod_manager *pm, const char *target_id, struct rt_spec *s,
		      char **path, char *err, size_t errlen)
{
	struct rt_status st;
	int ret = rt_container_status(&pm->rt, target_id, &st);

	if (!ret && (st.state != RT_STATE_RUNNING || st.pid <= 0))
		ret = -ESRCH;
	if (ret) {
		snprintf(err, errlen, "target container %s is not running: %s", target_id, strerror(-ret));
		return ret;
	}
	free(*path);
	*path = xasprintf("/proc/%d/ns/pid", (int)st.pid);
	s->ns[RT_NS_PID] = (struct rt_ns_spec){ .mode = RT_NS_JOIN, .path = *path };
	return 0;
}

void pod__eph_sync(struct pod *p)
{
	for (size_t i = 0; i < p->n_ctrs && !p->busy; i++)
		if (p->ctrs[i].ephemeral && p->ctrs[i].run == CTR_NONE)
			pod__ctr_run(p, &p->ctrs[i]);
}
