/*
 * agent/probe.h - container probes (startup, liveness, readiness) and
 * lifecycle hooks (postStart, preStop) for the pod workers.
 *
 * Results arrive on the uv loop the manager was made with, never inside the
 * call that started the work. The pod worker acts on them: readiness drives
 * the container's ready flag, a liveness failure restarts the container,
 * startup gates the other two.
 *
 * Implemented by agent/probe.c (timers, results), agent/probe_spec.c
 * (decoding, thresholds) and agent/probe_net.c (httpGet/tcpSocket inside
 * the pod's netns); exec uses rt_container_exec_sync (runtime_exec.h).
 * Checks run in libuv's thread pool. done of probe_run_hook runs exactly
 * once, also for a handler that cannot be decoded (-EINVAL + message).
 */
#ifndef K1S_AGENT_PROBE_H
#define K1S_AGENT_PROBE_H

#include <stdbool.h>
#include <uv.h>
#include <cjson/cJSON.h>

struct rt;
struct probe_manager;

enum probe_kind { PROBE_STARTUP, PROBE_LIVENESS, PROBE_READINESS };

typedef void (*probe_result_fn)(void *ud, const char *pod_uid, const char *container,
				enum probe_kind kind, bool success, const char *message);

int probe_manager_new(uv_loop_t *loop, struct rt *rt, struct probe_manager **out);
void probe_manager_free(struct probe_manager *m);
/* Starts the container's probes (those its spec has) for the running runtime id ctr_id;
 * pod_ip may be NULL (hostNetwork: use 127.0.0.1 / the node IP); netns_path is the pod's netns.
 * Calls cb on every result change (and once for the first result of each probe kind). */
int probe_container_start(struct probe_manager *m, const char *pod_uid, const cJSON *container,
			  const char *ctr_id, const char *netns_path, const char *pod_ip,
			  probe_result_fn cb, void *ud);
void probe_container_stop(struct probe_manager *m, const char *pod_uid, const char *container);
/* Runs a lifecycle handler (postStart / preStop: exec, httpGet, tcpSocket, sleep) and calls
 * done(ud, 0 or -errno, message) on the loop when it finished or timed out after timeout_ms. */
typedef void (*probe_hook_done_fn)(void *ud, int rc, const char *message);
int probe_run_hook(struct probe_manager *m, const cJSON *handler, const char *ctr_id,
		   const char *netns_path, const char *pod_ip, unsigned timeout_ms,
		   probe_hook_done_fn done, void *ud);

#endif
