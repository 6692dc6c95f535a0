/*
 * agent/overlay.c - the agent's node-to-node network: a Node informer, the
 * wanted state decoded from it, syncs on the thread pool, and this node's
 * annotations (see agent/overlay.h).
 */
#include "overlay.h"
#include "pod.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct overlay {
	uv_loop_t *loop;
	struct api_client *api;		/* not owned */
	struct api_informer *inf;
	char *node;
	char *iface;
	struct net_overlay base;	/* configuration part of the wanted state */
	uv_timer_t timer;
	uv_work_t work;
	bool busy, dirty, stopping, timer_open, patching;
	unsigned backoff_ms;
	/* the job: written on the loop before queueing, read by the worker */
	struct net_ns ns;		/* opened by the worker on first use */
	struct net_overlay job;
	struct net_overlay_peer *peers;
	struct net_overlay_state st;
	int ret, masq_ret;
	bool masq_changed;
	char err[NET_ERR_MAX], masq_err[NET_ERR_MAX];
	unsigned last_pod_mtu;		/* from the uplink at start, then each sync */
	bool mtu_logged;		/* by a sync */
	void (*on_mtu)(void *ud, unsigned mtu);	/* told the pod MTU when it changes */
	void *on_mtu_ud;
	uint64_t resync_ms;		/* periodic full sync, in ms */
	bool no_pods;			/* --disable-pods: no masquerade table */
	unsigned hairpins;		/* bridge ports switched to hairpin by the job */
};

/* ---- configuration ---- */

static int parse_backend(const char *s, enum net_backend *b)
{
	if (!s || !strcmp(s, "vxlan"))
		*b = NET_BACKEND_VXLAN;
	else if (!strcmp(s, "host-gw"))
		*b = NET_BACKEND_HOST_GW;
	else
		return -EINVAL;
	return 0;
}

/* "10.42.0.0/16,fd42::/56" into at most one CIDR per family. */
static int parse_cidrs(const char *s, struct inet_prefix *out, size_t *n)
{
	char *copy = xstrdup(s), *save = NULL, *tok;
	int ret = 0, seen[2] = { 0, 0 };

	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		struct inet_prefix p;

		if (*n == 2 || inet_prefix_parse(tok, INET_PREFIX_STRICT, &p) ||
		    seen[net_fam_idx(p.addr.family)]++)
			ret = -EINVAL;
		else
			out[(*n)++] = p;
	}
	free(copy);
	return ret || !*n ? -EINVAL : 0;
}

int overlay__check(const struct agent_config *cfg, char **err)
{
	struct inet_prefix c[2];
	enum net_backend b;
	size_t n;

	if (cfg->network_backend && strcmp(cfg->network_backend, "none") &&
	    parse_backend(cfg->network_backend, &b)) {
		*err = xasprintf("invalid --network-backend '%s': want vxlan, host-gw or none",
				 cfg->network_backend);
		return -EINVAL;
	}
	if (cfg->vxlan_vni < 0 || cfg->vxlan_vni > 0xffffff || cfg->vxlan_port < 0 ||
	    cfg->vxlan_port > 65535) {
		*err = xstrdup("--vxlan-vni must be 1..16777215 and --vxlan-port 1..65535");
		return -EINVAL;
	}
	if (parse_cidrs(cfg->cluster_cidr ? cfg->cluster_cidr : AGENT_DEFAULT_CLUSTER_CIDR, c, &n)) {
		*err = xasprintf("invalid --cluster-cidr '%s': want one CIDR per family",
				 cfg->cluster_cidr);
		return -EINVAL;
	}
	if (cfg->network_iface && (!cfg->network_iface[0] || strlen(cfg->network_iface) >= NET_IFNAME_MAX)) {
		*err = xasprintf("invalid --network-iface '%s'", cfg->network_iface);
		return -EINVAL;
	}
	return 0;
}

/* ---- decoding Nodes ---- */

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
			 &v[5], &end) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return true;
}

static void format_mac(const uint8_t m[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void public_ips(const cJSON *node, struct net_overlay_peer *p)
{
	const cJSON *ann = json_path(node, "metadata.annotations"), *a;
	const char *keys[2] = { OVERLAY_ANN_PUBLIC_IP, OVERLAY_ANN_PUBLIC_IP6 };
	struct inet_addr ip;

	for (int f = 0; f < 2; f++)
		if (!inet_addr_parse(json_get_str(ann, keys[f], ""), &ip) &&
		    net_fam_idx(ip.family) == f)
			p->public_ip[f] = ip;
	cJSON_ArrayForEach(a, json_path(node, "status.addresses")) {
		if (strcmp(json_get_str(a, "type", ""), "InternalIP") ||
		    inet_addr_parse(json_get_str(a, "address", ""), &ip))
			continue;
		if (!p->public_ip[net_fam_idx(ip.family)].family)
			p->public_ip[net_fam_idx(ip.family)] = ip;
	}
}

int overlay__peer_decode(const cJSON *node, struct net_overlay_peer *out)
{
	const cJSON *ann = json_path(node, "metadata.annotations"), *c;
	const cJSON *cidrs = json_path(node, "spec.podCIDRs");
	const char *name = json_path(node, "metadata.name") ?
			   json_get_str(json_get(node, "metadata"), "name", "") : "";
	const char *old = json_get_str(json_get(node, "spec"), "podCIDR", NULL);

	memset(out, 0, sizeof(*out));
	if (!name[0])
		return -EINVAL;
	snprintf(out->name, sizeof(out->name), "%s", name);
	cJSON_ArrayForEach(c, cidrs) {
		if (out->n_cidrs == 2 || !cJSON_IsString(c) ||
		    inet_prefix_parse(c->valuestring, INET_PREFIX_STRICT, &out->cidrs[out->n_cidrs]))
			return -EINVAL;
		out->n_cidrs++;
	}
	if (!out->n_cidrs && old) {
		if (inet_prefix_parse(old, INET_PREFIX_STRICT, &out->cidrs[0]))
			return -EINVAL;
		out->n_cidrs = 1;
	}
	out->has_mac[0] = parse_mac(json_get_str(ann, OVERLAY_ANN_VTEP_MAC, NULL), out->vtep_mac[0]);
	out->has_mac[1] = parse_mac(json_get_str(ann, OVERLAY_ANN_VTEP_MAC6, NULL), out->vtep_mac[1]);
	public_ips(node, out);
	return 0;
}

static void schedule(struct overlay *o, uint64_t delay_ms);

/* ---- annotations of this node ---- */

static void on_patched(struct api_result *res, void *ud)
{
	struct overlay *o = ud;

	o->patching = false;
	if (api_result_ok(res))
		return;
	log_warn("overlay: cannot annotate node '%s': %s", o->node,
		 res->err ? strerror(-res->err) : res->status.message);
	schedule(o, OVERLAY_BACKOFF_MIN_MS);	/* publish() runs after the sync */
}

/* Wanted value of each annotation (NULL = remove). */
static void wanted_annotations(const struct overlay *o, char vals[5][INET_ADDR_STRLEN],
			       const char *keys[5], bool set[5])
{
	keys[0] = OVERLAY_ANN_BACKEND;
	keys[1] = OVERLAY_ANN_PUBLIC_IP;
	keys[2] = OVERLAY_ANN_PUBLIC_IP6;
	keys[3] = OVERLAY_ANN_VTEP_MAC;
	keys[4] = OVERLAY_ANN_VTEP_MAC6;
	snprintf(vals[0], INET_ADDR_STRLEN, "%s",
		 o->base.backend == NET_BACKEND_HOST_GW ? "host-gw" : "vxlan");
	set[0] = true;
	for (int f = 0; f < 2; f++) {
		set[1 + f] = o->st.public_ip[f].family != 0;
		inet_addr_format(&o->st.public_ip[f], vals[1 + f]);
		set[3 + f] = o->base.backend == NET_BACKEND_VXLAN;
		format_mac(o->base.vtep_mac[f], vals[3 + f]);
	}
}

static void publish(struct overlay *o)
{
	const cJSON *self = api_informer_get(o->inf, NULL, o->node);
	const cJSON *ann = json_path(self, "metadata.annotations");
	char vals[5][INET_ADDR_STRLEN], *path;
	const char *keys[5];
	bool set[5], differ = false;
	cJSON *patch, *pa;

	if (!self || o->patching)
		return;
	wanted_annotations(o, vals, keys, set);
	for (int i = 0; i < 5; i++) {
		const char *have = json_get_str(ann, keys[i], NULL);

		if (set[i] ? !have || strcmp(have, vals[i]) : have != NULL)
			differ = true;
	}
	if (!differ)
		return;
	patch = cJSON_CreateObject();
	pa = json_obj(json_obj(patch, "metadata"), "annotations");
	for (int i = 0; i < 5; i++)
		if (set[i])
			json_set_str(pa, keys[i], vals[i]);
		else
			json_set(pa, keys[i], cJSON_CreateNull());
	path = api_path("v1", "nodes", NULL, o->node, NULL);
	if (!api_patch(o->api, path, API_PATCH_MERGE, patch, on_patched, o))
		o->patching = true;
	free(path);
	cJSON_Delete(patch);
}

/* ---- syncing ---- */

static void on_timer(uv_timer_t *t);


static void schedule(struct overlay *o, uint64_t delay_ms)
{
	if (o->stopping)
		return;
	if (o->busy) {
		o->dirty = true;
		return;
	}
	uv_timer_start(&o->timer, on_timer, delay_ms, 0);
}

struct collect {
	struct overlay *o;
	size_t n;
};

static void collect_peer(const cJSON *node, void *ud)
{
	struct collect *c = ud;
	struct net_overlay_peer p;

	if (overlay__peer_decode(node, &p)) {
		log_warn("overlay: ignoring node '%s': bad spec.podCIDRs",
			 json_get_str(json_get(node, "metadata"), "name", "?"));
		return;
	}
	if (!strcmp(p.name, c->o->node)) {
		c->o->job.n_own = p.n_cidrs;
		memcpy(c->o->job.own, p.cidrs, sizeof(p.cidrs));
	} else if (c->n < NET_OVERLAY_MAX_PEERS) {
		c->o->peers[c->n++] = p;
	}
}

static void work_cb(uv_work_t *w)
{
	struct overlay *o = container_of(w, struct overlay, work);
	struct inet_prefix masq[2];
	size_t nm = 0;
	int ret;

	o->err[0] = o->masq_err[0] = '\0';
	o->masq_ret = 0;
	o->masq_changed = false;
	o->hairpins = 0;
	if (!o->ns.nl) {
		o->ret = net_ns_open(&o->ns, NULL);
		if (o->ret) {
			snprintf(o->err, sizeof(o->err), "%s", net_ns_error(&o->ns));
			return;
		}
	}
	o->ret = net_overlay_sync(&o->ns, &o->job, &o->st);
	if (o->ret)
		snprintf(o->err, sizeof(o->err), "%s", net_ns_error(&o->ns));
	if (!o->job.n_own || o->no_pods)
		return;		/* no pod network here (yet): leave nftables alone */
	for (size_t i = 0; i < o->job.n_cluster; i++)
		for (size_t j = 0; j < o->job.n_own; j++)
			if (o->job.cluster[i].addr.family == o->job.own[j].addr.family)
				masq[nm++] = o->job.cluster[i];
	o->masq_ret = net_masq_sync(&o->ns, masq, nm, &o->masq_changed);
	if (o->masq_ret)
		snprintf(o->masq_err, sizeof(o->masq_err), "%s", net_ns_error(&o->ns));
	/* hairpin on every pod's bridge port (a pod reaching itself through a
	 * service); the bridge appears with the first pod network */
	ret = net_bridge_hairpin_all(&o->ns, POD_BRIDGE, &o->hairpins);
	if (ret && ret != -ENODEV && !o->masq_ret) {
		o->masq_ret = ret;
		snprintf(o->masq_err, sizeof(o->masq_err), "%s", net_ns_error(&o->ns));
	}
}

static void overlay_free(struct overlay *o)
{
	net_ns_release(&o->ns);
	free(o->peers);
	free(o->node);
	free(o->iface);
	free(o);
}

static void after_work_cb(uv_work_t *w, int status)
{
	struct overlay *o = container_of(w, struct overlay, work);
	const struct net_overlay_state *st = &o->st;
	bool failed = o->ret || o->masq_ret;

	o->busy = false;
	free(o->peers);
	o->peers = NULL;
	if (o->stopping) {
		if (!o->timer_open)
			overlay_free(o);
		return;
	}
	if (o->ret)
		log_warn("overlay: %s", o->err);
	if (o->masq_ret)
		log_warn("overlay: %s", o->masq_err);
	if (st->added || st->changed || st->removed || o->masq_changed || o->hairpins)
		log_info("overlay: %zu peers, %u entries added, %u changed, %u removed%s, %u ports to hairpin%s",
			 o->job.n_peers, st->added, st->changed, st->removed,
			 o->masq_changed ? ", masquerade table written" : "", o->hairpins,
			 st->skipped ? " (some peers not ready)" : "");
	if (st->pod_mtu && (st->pod_mtu != o->last_pod_mtu || !o->mtu_logged)) {
		log_info("overlay: uplink %s, pod MTU %u", st->uplink[0][0] ? st->uplink[0] : st->uplink[1],
			 st->pod_mtu);
		o->mtu_logged = true;
		if (st->pod_mtu != o->last_pod_mtu && o->on_mtu)
			o->on_mtu(o->on_mtu_ud, st->pod_mtu);
		o->last_pod_mtu = st->pod_mtu;
	}
	publish(o);
	o->backoff_ms = failed ? (o->backoff_ms ? o->backoff_ms * 2 : OVERLAY_BACKOFF_MIN_MS) : 0;
	if (o->backoff_ms > OVERLAY_BACKOFF_MAX_MS)
		o->backoff_ms = OVERLAY_BACKOFF_MAX_MS;
	if (o->dirty) {
		o->dirty = false;
		schedule(o, OVERLAY_COALESCE_MS);
	} else {
		schedule(o, failed ? o->backoff_ms : o->resync_ms);
	}
}

static void on_timer(uv_timer_t *t)
{
	struct overlay *o = t->data;
	struct collect c = { .o = o };

	if (o->busy || o->stopping || !api_informer_synced(o->inf))
		return;
	o->job = o->base;
	o->job.n_own = 0;
	o->peers = xcalloc(api_informer_count(o->inf) + 1, sizeof(*o->peers));
	api_informer_foreach(o->inf, collect_peer, &c);
	o->job.peers = o->peers;
	o->job.n_peers = c.n;
	o->busy = true;
	uv_queue_work(o->loop, &o->work, work_cb, after_work_cb);
}

/* ---- informer and lifecycle ---- */

static void on_add(struct api_informer *inf, const cJSON *obj, void *ud)
{
	schedule(ud, OVERLAY_COALESCE_MS);
}

static void on_update(struct api_informer *inf, const cJSON *old, const cJSON *obj, void *ud)
{
	struct net_overlay_peer a, b;

	/* heartbeats rewrite status every few seconds: only what we use counts */
	if (!overlay__peer_decode(old, &a) && !overlay__peer_decode(obj, &b) &&
	    !memcmp(&a, &b, sizeof(a)) && strcmp(a.name, ((struct overlay *)ud)->node))
		return;
	schedule(ud, OVERLAY_COALESCE_MS);
}

static void on_delete(struct api_informer *inf, const cJSON *obj, void *ud)
{
	schedule(ud, OVERLAY_COALESCE_MS);
}

static void on_synced(struct api_informer *inf, void *ud)
{
	schedule(ud, 0);
}

static void config_from(struct overlay *o, const struct agent_config *cfg,
			const char *const *ips, size_t n_ips)
{
	struct net_overlay *b = &o->base;
	struct inet_addr ip;

	parse_backend(cfg->network_backend, &b->backend);
	b->vni = (uint32_t)cfg->vxlan_vni;
	b->port = (uint16_t)cfg->vxlan_port;
	b->iface = o->iface;
	parse_cidrs(cfg->cluster_cidr ? cfg->cluster_cidr : AGENT_DEFAULT_CLUSTER_CIDR,
		    b->cluster, &b->n_cluster);
	for (size_t i = 0; i < n_ips; i++)
		if (!inet_addr_parse(ips[i], &ip) && strcmp(ips[i], "127.0.0.1"))
			b->node_ip[net_fam_idx(ip.family)] = ip;
	net_vtep_mac(o->node, AF_INET, b->vtep_mac[0]);
	net_vtep_mac(o->node, AF_INET6, b->vtep_mac[1]);
}

/* The pod MTU from the uplinks now, before any pod is wired (the first sync
 * waits for the Node list); a few netlink requests on the loop, once. */
static void initial_mtu(struct overlay *o)
{
	struct net_ns ns = { 0 };

	if (net_ns_open(&ns, NULL))
		return;
	o->last_pod_mtu = net_overlay_pod_mtu(&ns, &o->base);
	net_ns_release(&ns);
	if (o->last_pod_mtu)
		log_info("overlay: pods get MTU %u (the uplink's, at start)", o->last_pod_mtu);
}

int overlay__start(uv_loop_t *loop, struct api_client *api, const struct agent_config *cfg,
		   const char *node, const char *const *ips, size_t n_ips,
		   struct overlay **out, char **err)
{
	struct api_informer_opts opts = {
		.path = "/api/v1/nodes", .on_add = on_add, .on_update = on_update,
		.on_delete = on_delete, .on_synced = on_synced,
	};
	struct overlay *o;
	int ret;

	*out = NULL;
	*err = NULL;
	if (cfg->network_backend && !strcmp(cfg->network_backend, "none"))
		return 0;
	o = xcalloc(1, sizeof(*o));
	o->loop = loop;
	o->api = api;
	o->node = xstrdup(node);
	o->iface = cfg->network_iface ? xstrdup(cfg->network_iface) : NULL;
	config_from(o, cfg, ips, n_ips);
	o->no_pods = cfg->disable_pods;
	o->resync_ms = cfg->network_resync_ms > 0 ? (uint64_t)cfg->network_resync_ms : OVERLAY_RESYNC_MS;
	initial_mtu(o);
	uv_timer_init(loop, &o->timer);
	o->timer.data = o;
	o->timer_open = true;
	opts.ud = o;
	ret = api_informer_start(api, &opts, &o->inf);
	if (ret) {
		*err = xstrdup("cannot start the node informer of the overlay");
		o->stopping = true;
		overlay__stop(o);
		return ret;
	}
	*out = o;
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct overlay *o = h->data;

	o->timer_open = false;
	if (!o->busy)
		overlay_free(o);
}

void overlay__stop(struct overlay *o)
{
	if (!o)
		return;
	o->stopping = true;
	api_informer_free(o->inf);
	o->inf = NULL;
	uv_timer_stop(&o->timer);
	uv_close((uv_handle_t *)&o->timer, on_timer_closed);
}

void overlay__on_mtu(struct overlay *o, void (*fn)(void *ud, unsigned mtu), void *ud)
{
	if (!o)
		return;
	o->on_mtu = fn;
	o->on_mtu_ud = ud;
	if (fn && o->last_pod_mtu)
		fn(ud, o->last_pod_mtu);
}
