/*
 * agent/pod_sandbox.c - a pod's sandbox on the loop: starting it (the step,
 * then the pod's /etc files), and the end of a pod: preStop hooks, teardown
 * (SIGTERM, grace, SIGKILL, remove containers, sandbox, network), then the
 * final DELETE of the pod object (uid precondition, grace 0).
 */
#include "agent/pod_int.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void pod__sandbox_start(struct pod *p)
{
	struct pod_step *s = pod__step_new(p, STEP_SANDBOX);
	const cJSON *spec = json_get(p->obj, "spec");
	char *dir = pod__dir(p->pm, p->uid);

	mkdir_p(dir, 0755);
	free(dir);
	s->hostname = xasprintf("%.63s", json_get_str(spec, "hostname", p->name));
	s->share_pid = p->share_pid;
	s->host_network = p->host_network;
	pod__step_queue(s);
}

/* A small file the pod reads, replaced by rename; no fsync (it is rewritten
 * whenever the sandbox is, and this runs on the loop). Takes text. */
static void write_text(const char *dir, const char *name, char *text)
{
	char *path = xasprintf("%s/%s", dir, name);

	write_file_replace(path, text, strlen(text), 0644, false);
	free(path);
	free(text);
}

static char *hostname_text(const struct pod *p)
{
	char h[256] = "";

	if (!p->host_network)
		return xasprintf("%.63s\n", json_get_str(json_get(p->obj, "spec"), "hostname", p->name));
	gethostname(h, sizeof(h) - 1);
	return xasprintf("%s\n", h);
}

static void write_etc(struct pod *p)
{
	char *dir = pod__dir(p->pm, p->uid);

	write_text(dir, "etc-hosts", pod__hosts_text(p));
	write_text(dir, "resolv.conf", pod__resolv_text(p));
	write_text(dir, "hostname", hostname_text(p));
	free(dir);
}

void pod__sandbox_done(struct pod *p, struct pod_step *s)
{
	if (s->ret) {
		if (s->ret != -EAGAIN)
			pod__event(p, NULL, true, "FailedCreatePodSandBox",
				   "Failed to create pod sandbox: %s", s->err);
		log_warn("pods: %s/%s: %s", p->ns, p->name, s->err);
		p->sandbox_retry_ms = uv_now(p->pm->loop) + POD_RETRY_MS;
		return;
	}
	p->sandbox_ready = true;
	p->netns = s->netns;
	s->netns = NULL;
	p->n_ips = s->n_ips;
	memcpy(p->ips, s->ips, sizeof(p->ips));
	write_etc(p);
}

unsigned pod__grace_ms(const struct pod *p)
{
	const cJSON *meta = json_get(p->obj, "metadata");
	int64_t g = json_get_int(meta, "deletionGracePeriodSeconds",
				 json_get_int(json_get(p->obj, "spec"), "terminationGracePeriodSeconds",
					      p->obj ? POD_DEFAULT_GRACE_S : 2));

	return g < 0 ? 0 : (unsigned)(g > 3600 ? 3600000 : g * 1000);
}

static void on_deleted(struct api_result *res, void *ud)
{
	(void)ud;
	if (!api_result_ok(res) && res->code != 404 && res->code != 409)
		log_warn("pods: final delete failed: %s (HTTP %d)", res->status.message, res->code);
}

static void final_delete(struct pod *p)
{
	char *path = api_path("v1", "pods", p->ns, p->name, NULL);
	char *body = xasprintf("{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"gracePeriodSeconds\":0,"
			       "\"preconditions\":{\"uid\":\"%s\"}}", p->uid);

	p->api_deleted = true;
	api_request(p->pm->api, "DELETE", path, "application/json", body, strlen(body), on_deleted, p->pm);
	free(body);
	free(path);
}

/* Once: the grace deadline, Killing events and the preStop hooks. */
static void prestop(struct pod *p)
{
	unsigned g = pod__grace_ms(p);

	p->prestop_done = true;
	p->grace_deadline_ms = uv_now(p->pm->loop) + g;
	for (size_t i = 0; i < p->n_ctrs; i++) {
		struct pod_ctr *c = &p->ctrs[i];

		if (c->run != CTR_RUNNING)
			continue;
		if (p->obj)
			pod__event(p, c->name, false, "Killing", "Stopping container %s", c->name);
		if (pod__ctr_hook(p, c, "preStop", g))
			p->hooks_pending++;
	}
}

void pod__terminate(struct pod *p)
{
	if (!p->prestop_done)
		prestop(p);
	if (p->hooks_pending)
		return;
	if (!p->torn_down) {
		struct pod_step *s = pod__step_new(p, STEP_TEARDOWN);
		uint64_t now = uv_now(p->pm->loop);

		s->grace_ms = now < p->grace_deadline_ms ? (unsigned)(p->grace_deadline_ms - now) : 0;
		s->all = true;
		pod__step_queue(s);
		return;
	}
	if (!p->gone && !p->api_deleted) {
		final_delete(p);
		return;
	}
	if (p->gone && !p->status_busy)
		pod__forget(p);
}

void pod__teardown_done(struct pod *p, struct pod_step *s)
{
	if (s->all) {
		char *dir = pod__dir(p->pm, p->uid);

		p->torn_down = true;
		vol_pod_teardown(p->pm->vol, p->uid);
		rmdir(dir);
		free(dir);
	}
	for (size_t i = 0; i < p->n_ctrs; i++)
		if (p->ctrs[i].run == CTR_RUNNING) {
			struct rt_status st = { .state = RT_STATE_EXITED, .exit_code = 137,
						.finished_ns = (int64_t)wall_ns() };

			p->ctrs[i].run = CTR_EXITED;	/* re-read below when possible */
			pod__ctr_exited(p, &p->ctrs[i], &st);
		}
	if (s->all)
		p->sandbox_ready = false;
}
