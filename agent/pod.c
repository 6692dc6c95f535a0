/*
 * agent/pod.c - the pod manager: configuration, the image store at start,
 * the informers (this node's pods; the Node itself for its podCIDRs), the
 * node's pod network, re-adoption of the runtime state at start, clean-up
 * of containers whose pod is gone, the exit poller and pod_find_container.
 *
 * Start: scan the runtime state (thread pool) -> node informer -> pod
 * informer. A pod the informer shows takes over what the scan found for its
 * uid (sandbox, containers and their attempts); once the pod informer has
 * synced, what is left belongs to pods that are gone and is torn down.
 */
#include "agent/pod_int.h"
#include "lib/apiclient.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *pod__dir(const struct pod_manager *pm, const char *uid)
{
	return xasprintf("%s/%s", pm->pods_dir, uid);
}

char *pod__log_path(const struct pod_manager *pm, const struct pod *p, const char *ctr,
		    unsigned attempt)
{
	return xasprintf("%s/%s_%s_%s/%s/%u.log", pm->logs_dir, p->ns, p->name, p->uid, ctr, attempt);
}

struct pod *pod__find(struct pod_manager *pm, const char *uid)
{
	for (struct pod *p = pm->pods; p; p = p->next)
		if (!strcmp(p->uid, uid))
			return p;
	return NULL;
}

static void pod_closed(uv_handle_t *h)
{
	struct pod *p = h->data;
	struct pod_manager *pm = p->pm;

	if (--p->handles)
		return;

	for (size_t i = 0; i < p->n_ctrs; i++) {
		struct pod_ctr *c = &p->ctrs[i];

		free(c->name);
		free(c->message);
		free(c->wait_reason);
		free(c->wait_msg);
		free(c->image_ref);
		free(c->image_id);
	}
	free(p->ctrs);
	free(p->ns);
	free(p->name);
	free(p->uid);
	free(p->netns);
	free(p->init_failed_msg);
	free(p->sandbox_err);
	cJSON_Delete(p->obj);
	cJSON_Delete(p->status_sent);
	free(p);
	pod__closed_one(pm);
}

void pod__closed_one(struct pod_manager *pm)
{
	if (--pm->closing == 0 && pm->stopping && !pm->works && pm->done)
		pm->done(pm->done_data);
}

void pod__forget(struct pod *p)
{
	struct pod_manager *pm = p->pm;
	struct pod **pp = &pm->pods;

	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = p->next;
		pm->n_pods--;
	}
	for (size_t i = 0; i < p->n_ctrs; i++)
		if (p->ctrs[i].probing)
			probe_container_stop(pm->probes, p->uid, p->ctrs[i].name);
	pod__start_release(p);
	p->start_wait = 0;
	pm->closing++;
	uv_close((uv_handle_t *)&p->timer, pod_closed);
	uv_close((uv_handle_t *)&p->show_timer, pod_closed);
}

static struct pod *pod_new(struct pod_manager *pm, const char *uid)
{
	struct pod *p = xcalloc(1, sizeof(*p));

	p->pm = pm;
	p->uid = xstrdup(uid);
	p->ns = xstrdup("");
	p->name = xstrdup("");
	uv_timer_init(pm->loop, &p->timer);
	uv_timer_init(pm->loop, &p->show_timer);
	p->timer.data = p->show_timer.data = p;
	p->handles = 2;
	p->next = pm->pods;
	pm->pods = p;
	pm->n_pods++;
	return p;
}

/* ---- re-adoption ---- */

/* Hands what the scan found for p's uid to p (its containers exist by now). */
static void adopt(struct pod *p)
{
	struct pod_manager *pm = p->pm;
	struct pod_adopted **pa = &pm->adopted;

	while (*pa) {
		struct pod_adopted *a = *pa;

		if (strcmp(a->uid, p->uid)) {
			pa = &a->next;
			continue;
		}
		*pa = a->next;
		if (!a->name) {
			if (a->st.state == RT_STATE_RUNNING && a->netns) {
				p->sandbox_ready = true;
				p->netns = a->netns;
				a->netns = NULL;
			}
		} else {
			for (size_t i = 0; i < p->n_ctrs; i++) {
				struct pod_ctr *c = &p->ctrs[i];

				if (strcmp(c->name, a->name))
					continue;
				if (c->run == CTR_NONE || a->attempt > c->attempt) {
					if (c->run != CTR_NONE) {
						c->has_last = true;
						c->last_exit = c->exit_code;
						c->last_oom = c->oom;
						c->last_started_ns = c->started_ns;
						c->last_finished_ns = c->finished_ns;
					}
					c->attempt = a->attempt;
					snprintf(c->id, sizeof(c->id), "%s_%s_%u", p->uid, c->name, a->attempt);
					c->ever_ran = true;
					c->run = a->st.state == RT_STATE_EXITED || a->st.state == RT_STATE_UNKNOWN ?
						 CTR_EXITED : CTR_RUNNING;
					c->exit_code = a->st.state == RT_STATE_UNKNOWN ? 137 : a->st.exit_code;
					c->signal = a->st.signal;
					c->oom = a->st.oom_killed;
					c->started_ns = a->st.started_ns ? a->st.started_ns : a->st.created_ns;
					c->finished_ns = a->st.finished_ns;
				} else if (a->attempt + 1 == c->attempt || !c->has_last) {
					c->has_last = true;
					c->last_exit = a->st.exit_code;
					c->last_oom = a->st.oom_killed;
					c->last_started_ns = a->st.started_ns;
					c->last_finished_ns = a->st.finished_ns;
				}
			}
		}
		free(a->uid);
		free(a->name);
		free(a->netns);
		free(a);
	}
}

struct scan_work {
	uv_work_t req;
	struct pod_manager *pm;
	struct pod_adopted *found;
};

static void scan_run(uv_work_t *req)
{
	struct scan_work *w = container_of(req, struct scan_work, req);
	char **ids = NULL;
	size_t n = 0;

	if (rt_container_list(&w->pm->rt, &ids, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		struct pod_adopted *a = xcalloc(1, sizeof(*a));
		char *us = strchr(ids[i], '_'), *last = strrchr(ids[i], '_');

		if (rt_container_status(&w->pm->rt, ids[i], &a->st)) {
			free(a);
			continue;
		}
		if (us) {
			a->uid = xstrndup(ids[i], (size_t)(us - ids[i]));
			a->name = xstrndup(us + 1, last > us ? (size_t)(last - us - 1) : strlen(us + 1));
			a->attempt = last > us ? (unsigned)strtoul(last + 1, NULL, 10) : 0;
		} else {
			a->uid = xstrdup(ids[i]);
			if (a->st.state == RT_STATE_RUNNING)
				rt_sandbox_ns_path(&w->pm->rt, ids[i], RT_NS_NET, &a->netns);
		}
		a->next = w->found;
		w->found = a;
	}
	rt_ids_free(ids, n);
}

static void start_informers(struct pod_manager *pm);

static void scan_done(uv_work_t *req, int status)
{
	struct scan_work *w = container_of(req, struct scan_work, req);
	struct pod_manager *pm = w->pm;
	unsigned n = 0;

	(void)status;
	pm->works--;
	pm->adopted = w->found;
	for (struct pod_adopted *a = pm->adopted; a; a = a->next)
		n++;
	free(w);
	if (pm->stopping) {
		if (!pm->works && !pm->closing && pm->done)
			pm->done(pm->done_data);
		return;
	}
	pm->scanned = true;
	if (n)
		log_info("pods: %u runtime containers and sandboxes found to re-adopt", n);
	start_informers(pm);
}

/* After the first pod list: tear down what belongs to no pod of ours. */
static void cleanup_orphans(struct pod_manager *pm)
{
	while (pm->adopted) {
		struct pod_adopted *a = pm->adopted;
		struct pod *p = pod__find(pm, a->uid);

		if (!p) {
			log_info("pods: pod %s is gone: removing its containers", a->uid);
			p = pod_new(pm, a->uid);
			p->gone = p->terminating = true;
			adopt(p);	/* frees every entry of the uid */
			pod__sync(p);
		} else {
			adopt(p);
		}
	}
}

/* ---- informers ---- */

static void on_pod(struct api_informer *inf, const cJSON *obj, void *ud)
{
	struct pod_manager *pm = ud;
	const char *uid = json_get_str(json_get(obj, "metadata"), "uid", "");
	struct pod *p;

	(void)inf;
	if (!*uid || pm->stopping)
		return;
	p = pod__find(pm, uid);
	if (!p) {
		p = pod_new(pm, uid);
		pod__update_obj(p, obj);
		adopt(p);
		pod__status_arm(p);
	} else {
		pod__update_obj(p, obj);
	}
	pod__sync(p);
}

static void on_pod_update(struct api_informer *inf, const cJSON *old, const cJSON *obj, void *ud)
{
	const char *ouid = json_get_str(json_get(old, "metadata"), "uid", "");
	const char *nuid = json_get_str(json_get(obj, "metadata"), "uid", "");
	struct pod_manager *pm = ud;

	if (strcmp(ouid, nuid)) {	/* deleted and re-created under the same name */
		struct pod *p = pod__find(pm, ouid);

		if (p) {
			p->gone = p->terminating = true;
			pod__sync(p);
		}
	}
	on_pod(inf, obj, ud);
}

static void on_pod_delete(struct api_informer *inf, const cJSON *obj, void *ud)
{
	struct pod_manager *pm = ud;
	struct pod *p = pod__find(pm, json_get_str(json_get(obj, "metadata"), "uid", ""));

	(void)inf;
	if (!p || pm->stopping)
		return;
	p->gone = p->terminating = true;
	pod__sync(p);
}

static void on_pods_synced(struct api_informer *inf, void *ud)
{
	struct pod_manager *pm = ud;

	(void)inf;
	if (pm->synced)
		return;
	pm->synced = true;
	cleanup_orphans(pm);
}

struct net_work {
	uv_work_t req;
	struct pod_manager *pm;
	char *cidrs;
	int ret;
	char err[256];
};

static void net_run(uv_work_t *req)
{
	struct net_work *w = container_of(req, struct net_work, req);

	w->ret = pod__work_net_setup(w->pm, w->cidrs, w->err, sizeof(w->err));
}

static void node_check(struct pod_manager *pm);

static void net_done(uv_work_t *req, int status)
{
	struct net_work *w = container_of(req, struct net_work, req);
	struct pod_manager *pm = w->pm;

	(void)status;
	pm->works--;
	pm->net_busy = false;
	if (w->ret) {
		log_error("pods: cannot set up the pod network for %s: %s", w->cidrs, w->err);
		free(pm->pod_cidrs);
		pm->pod_cidrs = NULL;	/* retried at the next node event */
	} else {
		log_info("pods: pod network on bridge %s for %s", POD_BRIDGE, w->cidrs);
	}
	free(w->cidrs);
	free(w);
	if (pm->stopping) {
		if (!pm->works && !pm->closing && pm->done)
			pm->done(pm->done_data);
		return;
	}
	node_check(pm);
	for (struct pod *p = pm->pods; p; p = p->next)
		if (p->net_wait || (p->sandbox_ready && !p->n_ips && !p->host_network))
			pod__sync(p);
}

/* Sets the pod network up when the node's podCIDRs are new. */
static void node_check(struct pod_manager *pm)
{
	const cJSON *node = pm->node_inf ? api_informer_get(pm->node_inf, NULL, pm->node_name) : NULL;
	const cJSON *c;
	struct buf b;
	struct net_work *w;

	if (!node || pm->net_busy || pm->stopping)
		return;
	buf_init(&b, 64);
	cJSON_ArrayForEach(c, json_path(node, "spec.podCIDRs"))
		if (cJSON_IsString(c))
			buf_addf(&b, "%s%s", b.len ? "," : "", c->valuestring);
	if (!b.len || (pm->pod_cidrs && !strcmp(pm->pod_cidrs, b.data))) {
		buf_release(&b);
		return;
	}
	free(pm->pod_cidrs);
	pm->pod_cidrs = xstrdup(b.data);
	w = xcalloc(1, sizeof(*w));
	w->pm = pm;
	w->cidrs = buf_detach(&b, NULL);
	pm->net_busy = true;
	pm->works++;
	uv_queue_work(pm->loop, &w->req, net_run, net_done);
}

static void on_node(struct api_informer *inf, const cJSON *obj, void *ud)
{
	(void)inf;
	(void)obj;
	node_check(ud);
}

static void on_node_update(struct api_informer *inf, const cJSON *old, const cJSON *obj, void *ud)
{
	(void)old;
	on_node(inf, obj, ud);
}

static void start_informers(struct pod_manager *pm)
{
	char *sel = xasprintf("metadata.name=%s", pm->node_name);
	struct api_informer_opts no = {
		.path = "/api/v1/nodes", .field_selector = sel, .on_add = on_node,
		.on_update = on_node_update, .ud = pm,
	};
	struct api_informer_opts po = {
		.path = "/api/v1/pods", .on_add = on_pod, .on_update = on_pod_update,
		.on_delete = on_pod_delete, .on_synced = on_pods_synced, .ud = pm,
	};

	if (api_informer_start(pm->api, &no, &pm->node_inf))
		log_error("pods: cannot watch node '%s'", pm->node_name);
	free(sel);
	sel = xasprintf("spec.nodeName=%s", pm->node_name);
	po.field_selector = sel;
	if (api_informer_start(pm->api, &po, &pm->pod_inf))
		log_error("pods: cannot watch the pods of node '%s'", pm->node_name);
	free(sel);
}

/* ---- exit poller ---- */

static void on_poll(uv_timer_t *t)
{
	struct pod_manager *pm = container_of(t, struct pod_manager, poll_timer);
	char path[PATH_MAX];

	for (struct pod *p = pm->pods; p; p = p->next) {
		if (p->busy)
			continue;
		for (size_t i = 0; i < p->n_ctrs; i++) {
			struct stat st;

			if (p->ctrs[i].run != CTR_RUNNING)
				continue;
			snprintf(path, sizeof(path), "%s/%s/exit.json", pm->rt.state_dir, p->ctrs[i].id);
			if (stat(path, &st) == 0) {
				pod__exit_poll(p);
				break;
			}
		}
	}
}

/* ---- lifecycle ---- */

void pod_manager_set_mtu(struct pod_manager *pm, unsigned mtu)
{
	uv_mutex_lock(&pm->net_mu);
	pm->pod_mtu = mtu;
	uv_mutex_unlock(&pm->net_mu);
}

/* A pod's volumes have what they waited for (vol_manager_on_ready). */
static void wake_pod(void *ud, const char *uid)
{
	struct pod *p = pod__find(ud, uid);

	if (p)
		pod__timer_at(p, 0);
}

int pod_manager_new(const struct pod_config *cfg, struct pod_manager **out, char **err)
{
	struct pod_manager *pm = xcalloc(1, sizeof(*pm));
	char *store_dir, *import;
	size_t dl;
	int r;

	*err = NULL;
	pm->cfg = *cfg;
	pm->loop = cfg->loop;
	pm->api = cfg->api;
	pm->data_dir = xstrdup(cfg->data_dir);
	pm->node_name = xstrdup(cfg->node_name);
	pm->cluster_dns = xstrdup(cfg->cluster_dns ? cfg->cluster_dns : "10.43.0.10");
	pm->cluster_domain = xstrdup(cfg->cluster_domain ? cfg->cluster_domain : POD_CLUSTER_DOMAIN);
	pm->resolv_conf = xstrdup(cfg->resolv_conf ? cfg->resolv_conf : "/etc/resolv.conf");
	pm->runc_root = xstrdup(cfg->runc_root ? cfg->runc_root : "/run/k1s/runc");
	pm->cgroup_parent = xstrdup(cfg->cgroup_parent ? cfg->cgroup_parent : "/k1s");
	for (size_t i = 0; i < cfg->n_node_ips && i < 2; i++)
		pm->node_ips[i] = xstrdup(cfg->node_ips[i]);
	pm->pods_dir = xasprintf("%s/pods", pm->data_dir);
	pm->logs_dir = xasprintf("%s/logs/pods", pm->data_dir);
	pm->ipam_dir = xasprintf("%s/ipam", pm->data_dir);
	pm->rt.runc = cfg->runc;
	pm->rt.runc_root = pm->runc_root;
	pm->rt.state_dir = xasprintf("%s/containers", pm->data_dir);
	pm->rt.cgroup_parent = pm->cgroup_parent;
	{
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		pm->start_max = cpus > 0 ? (unsigned)cpus * POD_START_PER_CPU : POD_START_PER_CPU;
		if (pm->start_max > POD_START_MAX)
			pm->start_max = POD_START_MAX;
	}
	uv_mutex_init(&pm->img_mu);
	uv_mutex_init(&pm->net_mu);
	*out = pm;
	mkdir_p(pm->pods_dir, 0700);
	mkdir_p(pm->logs_dir, 0755);
	mkdir_p(pm->rt.state_dir, 0700);
	/* the image store: <data>/images for the default <...>/agent layout */
	dl = strlen(pm->data_dir);
	store_dir = dl > 6 && !strcmp(pm->data_dir + dl - 6, "/agent") ?
		    xstrndup(pm->data_dir, dl - 6) : xstrdup(pm->data_dir);
	r = img_store_open(&pm->images, store_dir);
	pm->images_data_dir = store_dir;
	if (r) {
		log_error("pods: image store: %s", img_store_error(&pm->images));
	} else {
		pm->images_ok = true;
		import = xasprintf("%s/import", pm->images.root);
		if (img_import_dir(&pm->images, import))
			log_warn("pods: importing '%s': %s", import, img_store_error(&pm->images));
		free(import);
	}
	r = vol_manager_new(cfg->api, pm->pods_dir, pm->node_name, &pm->vol);
	if (!r)
		vol_manager_on_ready(pm->vol, wake_pod, pm);
	if (!r)
		r = probe_manager_new(pm->loop, &pm->rt, &pm->probes);
	if (r)
		*err = xasprintf("cannot start the volume or probe manager: %s", strerror(-r));
	return r;
}

static void scan_start(struct pod_manager *pm)
{
	struct scan_work *w = xcalloc(1, sizeof(*w));

	w->pm = pm;
	pm->works++;
	uv_queue_work(pm->loop, &w->req, scan_run, scan_done);
}

int pod_manager_start(struct pod_manager *pm)
{
	if (pm->started)
		return -EALREADY;
	pm->started = true;
	uv_timer_init(pm->loop, &pm->poll_timer);
	uv_timer_start(&pm->poll_timer, on_poll, POD_EXIT_POLL_MS, POD_EXIT_POLL_MS);
	scan_start(pm);
	return 0;
}

static void poll_closed(uv_handle_t *h)
{
	struct pod_manager *pm = h->data;

	if (--pm->closing == 0 && !pm->works && pm->done)
		pm->done(pm->done_data);
}

void pod_manager_stop(struct pod_manager *pm, void (*done)(void *data), void *data)
{
	pm->stopping = true;
	pm->done = done;
	pm->done_data = data;
	api_informer_free(pm->pod_inf);
	api_informer_free(pm->node_inf);
	pm->pod_inf = pm->node_inf = NULL;
	vol_manager_stop(pm->vol);	/* its informers use the API client too */
	pod__pulls_stop(pm);
	if (pm->started) {
		pm->closing++;
		pm->poll_timer.data = pm;
		uv_close((uv_handle_t *)&pm->poll_timer, poll_closed);
	}
	for (struct pod *p = pm->pods, *next; p; p = next) {
		next = p->next;
		if (!p->busy)	/* a busy pod goes when its step completes */
			pod__forget(p);
	}
	if (!pm->closing && !pm->works && done)
		done(data);
}

void pod_manager_free(struct pod_manager *pm)
{
	if (!pm)
		return;
	while (pm->adopted) {
		struct pod_adopted *a = pm->adopted;

		pm->adopted = a->next;
		free(a->uid);
		free(a->name);
		free(a->netns);
		free(a);
	}
	probe_manager_free(pm->probes);
	vol_manager_free(pm->vol);
	img_store_release(&pm->images);
	net_ipam_close(&pm->ipam);
	uv_mutex_destroy(&pm->img_mu);
	uv_mutex_destroy(&pm->net_mu);
	pod__images_forget(pm);
	for (size_t i = 0; i < 2; i++)
		free(pm->node_ips[i]);
	free((char *)pm->rt.state_dir);
	free(pm->data_dir);
	free(pm->images_data_dir);
	free(pm->node_name);
	free(pm->cluster_dns);
	free(pm->resolv_conf);
	free(pm->cluster_domain);
	free(pm->runc_root);
	free(pm->cgroup_parent);
	free(pm->pods_dir);
	free(pm->logs_dir);
	free(pm->ipam_dir);
	free(pm->pod_cidrs);
	free(pm);
}

int pod_find_container(struct pod_manager *pm, const char *ns, const char *pod,
		       const char *container, bool previous, char **ctr_id, char **log_path)
{
	for (struct pod *p = pm->pods; p; p = p->next) {
		if (strcmp(p->ns, ns) || strcmp(p->name, pod) || p->gone)
			continue;
		for (size_t i = 0; i < p->n_ctrs; i++) {
			struct pod_ctr *c = &p->ctrs[i];
			unsigned a;

			if (strcmp(c->name, container) || !c->ever_ran)
				continue;
			if (previous && (!c->attempt || !c->has_last))
				return -ENOENT;
			a = previous ? c->attempt - 1 : c->attempt;
			*ctr_id = xasprintf("%s_%s_%u", p->uid, c->name, a);
			*log_path = pod__log_path(pm, p, c->name, a);
			return 0;
		}
	}
	return -ENOENT;
}
