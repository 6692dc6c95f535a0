/*
 * agent/renew.c - renewing a joined agent's node certificates while it
 * runs: a timer checks every cert_check_ms; when the client certificate
 * has cert_renew_days or less left, agent_join_renew() gets new ones with
 * the current certificate and the API client takes them for its next
 * connections (api_client_set_credentials). Pods and watches go on.
 */
#include "join.h"
#include "node.h"
#include "lib/apiclient.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdlib.h>

struct renew {
	struct agent *a;
	uv_timer_t timer;
};

static void on_check(uv_timer_t *t)
{
	struct renew *rn = t->data;
	struct agent *a = rn->a;
	struct agent_join_opts o = {
		.server = a->cfg.join_server, .data_dir = a->cfg.data_dir, .node_name = a->node_name,
		.addresses = a->ip, .n_addresses = (unsigned)a->n_ip,
	};
	struct api_kubeconfig kc;
	char *err = NULL;
	int r;

	r = agent_join_renew(&o, a->cfg.kubeconfig, (unsigned)a->cfg.cert_renew_days, &err);
	if (r == 0 && !(r = api_kubeconfig_load(a->cfg.kubeconfig, &kc, &err))) {
		r = api_client_set_credentials(a->api, &kc, &err);
		api_kubeconfig_release(&kc);
	}
	if (r < 0)
		log_warn("agent: certificate renewal failed: %s; trying again in %lld s", err,
			 (long long)(a->cfg.cert_check_ms / 1000));
	free(err);
}

struct renew *agent__renew_start(struct agent *a)
{
	struct renew *rn;

	if (!a->cfg.join_server)
		return NULL;
	rn = xcalloc(1, sizeof(*rn));
	rn->a = a;
	uv_timer_init(a->loop, &rn->timer);
	rn->timer.data = rn;
	uv_timer_start(&rn->timer, on_check, (uint64_t)a->cfg.cert_check_ms,
		       (uint64_t)a->cfg.cert_check_ms);
	return rn;
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

void agent__renew_stop(struct renew *rn)
{
	if (rn)
		uv_close((uv_handle_t *)&rn->timer, on_closed);
}
