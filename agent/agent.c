/*
 * agent/agent.c - the agent's configuration, lifecycle, its own loop for
 * `k1s agent`, and the supervisor that runs it beside `k1s server`.
 */
#include "dns_run.h"
#include "node.h"
#include "kubelet.h"
#include "pod.h"
#include "proxy_run.h"
#include "overlay.h"
#include "storage.h"
#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void agent_config_init(struct agent_config *c)
{
	memset(c, 0, sizeof(*c));
	c->data_dir = "/var/lib/k1s/agent";
	c->eviction_hard = AGENT_DEFAULT_EVICTION_HARD;
	c->cert_renew_days = 30;
	c->cert_check_ms = 12 * 3600 * 1000;
	c->kubelet_port = KUBELET_PORT;
	c->dns_metrics_port = AGENT_DNS_METRICS_PORT;
}

void agent_config_release(struct agent_config *c)
{
	flag_list_release(&c->node_ip);
	flag_list_release(&c->node_label);
	flag_list_release(&c->node_taint);
}

/* A DNS-1123 subdomain, as node names must be. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' && *s != '.')
			return false;
	return true;
}

static int check_ips(struct agent *a, char **err)
{
	unsigned char b[16];
	int fam_seen[2] = { 0, 0 };

	if (a->cfg.node_ip.n > AGENT_MAX_NODE_IPS) {
		*err = xstrdup("at most one --node-ip per family (IPv4, IPv6)");
		return -EINVAL;
	}
	for (size_t i = 0; i < a->cfg.node_ip.n; i++) {
		const char *ip = a->cfg.node_ip.v[i];
		int v6 = inet_pton(AF_INET6, ip, b) == 1;

		if (!v6 && inet_pton(AF_INET, ip, b) != 1) {
			*err = xasprintf("invalid --node-ip '%s'", ip);
			return -EINVAL;
		}
		if (fam_seen[v6]++) {
			*err = xasprintf("--node-ip '%s': only one address per family", ip);
			return -EINVAL;
		}
		a->ip[a->n_ip++] = ip;
	}
	return 0;
}

/* With no --node-ip: the first IPv4 address of an up, non-loopback link
 * (of --network-iface when given: that choice is honoured exactly). */
static void default_ip(struct agent *a)
{
	static char found[INET_ADDRSTRLEN];
	const char *iface = a->cfg.network_iface;
	struct ifaddrs *ifs, *i;

	if (a->n_ip || getifaddrs(&ifs))
		return;
	for (i = ifs; i && !found[0]; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
		    !(i->ifa_flags & IFF_LOOPBACK) && (!iface || !strcmp(i->ifa_name, iface)))
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, found, sizeof(found));
	freeifaddrs(ifs);
	a->ip[a->n_ip++] = found[0] ? found : "127.0.0.1";
}

static int check_labels_taints(const struct agent_config *c, char **err)
{
	for (size_t i = 0; i < c->node_label.n; i++) {
		const char *eq = strchr(c->node_label.v[i], '=');

		if (!eq || eq == c->node_label.v[i]) {
			*err = xasprintf("invalid --node-label '%s': want key=value", c->node_label.v[i]);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < c->node_taint.n; i++) {
		const char *t = c->node_taint.v[i], *colon = strrchr(t, ':');

		if (!colon || colon == t || (strcmp(colon + 1, "NoSchedule") &&
		    strcmp(colon + 1, "PreferNoSchedule") && strcmp(colon + 1, "NoExecute"))) {
			*err = xasprintf("invalid --node-taint '%s': want key[=value]:NoSchedule|PreferNoSchedule|NoExecute", t);
			return -EINVAL;
		}
	}
	if (c->node_label.n > AGENT_MAX_LABELS || c->node_taint.n > AGENT_MAX_TAINTS) {
		*err = xstrdup("too many --node-label or --node-taint flags");
		return -EINVAL;
	}
	return 0;
}

void agent_host_name(char *buf, size_t size)
{
	memset(buf, 0, size);
	gethostname(buf, size - 1);
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

int agent_new(const struct agent_config *cfg, struct agent **out, char **err)
{
	struct agent *a = xcalloc(1, sizeof(*a));
	int ret = -EINVAL;

	*err = NULL;
	a->cfg = *cfg;
	if (!cfg->kubeconfig) {
		*err = xstrdup("--kubeconfig is required");
		goto fail;
	}
	if (cfg->node_name) {
		a->node_name = xstrdup(cfg->node_name);
	} else {
		char h[256];

		agent_host_name(h, sizeof(h));
		a->node_name = xstrdup(h);
	}
	if (!valid_name(a->node_name)) {
		*err = xasprintf("invalid node name '%s' (lowercase DNS subdomain expected)", a->node_name);
		goto fail;
	}
	if (check_ips(a, err) || check_labels_taints(cfg, err) || overlay__check(cfg, err) ||
	    node__eviction_parse(cfg->eviction_hard, &a->ev, err) || agent__dns_check(cfg, err) ||
	    stor_opts_parse(cfg->storage_backend, cfg->storage_pool_size, &a->stor, err))
		goto fail;
	default_ip(a);
	ret = mkdir_p(cfg->data_dir, 0700);
	if (ret) {
		*err = xasprintf("cannot create data dir '%s': %s", cfg->data_dir, strerror(-ret));
		goto fail;
	}
	node__facts_load(&a->facts, cfg->data_dir);
	*out = a;
	return 0;
fail:
	free(a->node_name);
	free(a);
	return ret;
}

static void on_pod_mtu(void *ud, unsigned mtu)
{
	pod_manager_set_mtu(ud, mtu);
}

static int start_rest(struct agent *a, char **err)
{
	int r;

	if (!a->cfg.disable_pods) {
		struct pod_config pc = {
			.loop = a->loop, .api = a->api, .node_name = a->node_name,
			.data_dir = a->cfg.data_dir, .node_ips = a->ip, .n_node_ips = a->n_ip,
			.cluster_dns = a->cfg.cluster_dns, .cluster_domain = a->cfg.cluster_domain,
			.resolv_conf = a->cfg.resolv_conf,
			.runc_root = a->cfg.runc_root, .cgroup_parent = a->cfg.cgroup_parent,
			.backoff_min_ms = (unsigned)a->cfg.pod_backoff_ms,
		};

		r = pod_manager_new(&pc, &a->pods, err);
		if (r) {
			pod_manager_free(a->pods);
			a->pods = NULL;
			return r;
		}
		pod_manager_start(a->pods);
		stor_start(a->loop, a->api, a->cfg.data_dir, a->node_name, &a->stor);
	}
	agent__kubelet_start(a);
	a->renew = agent__renew_start(a);
	agent__proxy_start(a);	/* logs its own failure; the node runs on */
	r = overlay__start(a->loop, a->api, &a->cfg, a->node_name, a->ip, a->n_ip, &a->overlay, err);
	if (!r && a->pods)
		overlay__on_mtu(a->overlay, on_pod_mtu, a->pods);
	if (r)
		return r;
	return agent__dns_start(a, err);
}

void agent__start_rest(struct agent *a)
{
	char *err = NULL;

	if (a->rest_started)
		return;
	a->rest_started = true;
	uv_timer_stop(&a->rest_timer);
	if (start_rest(a, &err)) {
		log_error("agent: %s", err ? err : "cannot start");
		a->failed = 1;
		uv_stop(a->loop);
	}
	free(err);
}

static void on_rest_timer(uv_timer_t *t)
{
	agent__start_rest(container_of(t, struct agent, rest_timer));
}

int agent_start(struct agent *a, uv_loop_t *loop, char **err)
{
	struct api_kubeconfig kc;
	int r;

	*err = NULL;
	r = api_kubeconfig_load(a->cfg.kubeconfig, &kc, err);
	if (r)
		return r;
	a->loop = loop;
	r = api_client_new(loop, &kc, &a->api, err);
	api_kubeconfig_release(&kc);
	if (r)
		return r;
	uv_timer_init(loop, &a->lease_timer);
	uv_timer_init(loop, &a->check_timer);
	uv_timer_init(loop, &a->retry_timer);
	uv_timer_init(loop, &a->rest_timer);
	a->open_handles = 4;
	log_info("agent: node '%s', runtime %s, API %s", a->node_name, a->facts.runtime,
		 a->cfg.kubeconfig);
	node__start(a);
	uv_timer_start(&a->rest_timer, on_rest_timer, AGENT_REST_START_MS, 0);
	return 0;
}

static void handle_gone(struct agent *a)
{
	if (--a->open_handles == 0 && a->done)
		a->done(a->done_data);
}

static void on_closed(uv_handle_t *h)
{
	handle_gone(h->data);
}

static void on_pods_stopped(void *data)
{
	handle_gone(data);
}

void agent_stop(struct agent *a, void (*done)(void *data), void *data)
{
	uv_timer_t *timers[] = { &a->lease_timer, &a->check_timer, &a->retry_timer, &a->rest_timer };

	a->done = done;
	a->done_data = data;
	agent__renew_stop(a->renew);
	a->renew = NULL;
	agent__dns_stop(a);
	kubelet_stop(a->kubelet);
	a->kubelet = NULL;
	if (a->pods && a->open_handles) {
		a->open_handles++;
		pod_manager_stop(a->pods, on_pods_stopped, a);
	}
	agent__proxy_stop(a);	/* its informers go before the client */
	overlay__stop(a->overlay);
	a->overlay = NULL;
	stor_stop();
	api_client_free(a->api);	/* cancels requests: no more callbacks */
	a->api = NULL;
	if (!a->open_handles) {
		if (done)
			done(data);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(timers); i++) {
		timers[i]->data = a;
		uv_close((uv_handle_t *)timers[i], on_closed);
	}
}

void agent_free(struct agent *a)
{
	if (!a)
		return;
	pod_manager_free(a->pods);
	free(a->node_name);
	free(a->kubelet_version);
	free(a->uid);
	free(a);
}

const char *agent_node_name(const struct agent *a)
{
	return a->node_name;
}

/* The kubelet API; without certificates the agent runs on without it. */
void agent__kubelet_start(struct agent *a)
{
	struct kubelet_config kc = {
		.data_dir = a->cfg.data_dir,
		.port = (int)a->cfg.kubelet_port,
		.cert_file = a->cfg.kubelet_cert,
		.key_file = a->cfg.kubelet_key,
		.client_ca_file = a->cfg.kubelet_client_ca,
		.runc_root = a->cfg.runc_root,
	};
	char *err = NULL;

	if (a->cfg.kubelet_port <= 0)
		return;
	if (kubelet_start(a->loop, &kc, &a->kubelet, &err)) {
		log_warn("agent: kubelet API not served: %s", err ? err : "error");
		a->kubelet = NULL;
	}
	free(err);
}

/* ---- `k1s agent` on its own loop ---- */

static void on_stop_signal(uv_signal_t *h, int sig)
{
	log_info("agent: received signal %d, shutting down", sig);
	uv_stop(h->loop);
}

int agent_run(const struct agent_config *cfg)
{
	uv_loop_t *loop = uv_default_loop();
	uv_signal_t sigterm, sigint;
	struct agent *a = NULL;
	char *err = NULL;
	int r;

	signal(SIGPIPE, SIG_IGN);
	/* pod work (runc, stops with grace) must not starve in libuv's 4 threads */
	setenv("UV_THREADPOOL_SIZE", "16", 0);
	/* one malloc arena per pool thread would cost the agent megabytes */
	mallopt(M_ARENA_MAX, 2);
	r = agent_new(cfg, &a, &err);
	if (!r)
		r = agent_start(a, loop, &err);
	if (r) {
		log_error("agent: %s", err ? err : strerror(-r));
		free(err);
		agent_free(a);
		return 1;
	}
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigterm, on_stop_signal, SIGTERM);
	uv_signal_start(&sigint, on_stop_signal, SIGINT);
	sd_notify_ready();
	uv_run(loop, UV_RUN_DEFAULT);
	r = a->failed ? 1 : 0;
	agent_stop(a, NULL, NULL);
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	agent_free(a);
	uv_loop_close(loop);
	return r;
}
