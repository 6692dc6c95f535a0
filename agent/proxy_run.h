/*
 * agent/proxy_run.h - the agent runs the service proxy (proxy/proxy.h): three
 * informers (Services, EndpointSlices, its own Node) feed it, a change of a
 * Service or of one of its slices re-programs only that service, the node's
 * topology.kubernetes.io/zone label picks the topology hints, and Services
 * with externalTrafficPolicy Local get their healthCheckNodePort answered.
 * Internal to agent/.
 *
 * Sync rules
 * - Nothing is programmed before all three informers listed once; then one
 *   full sync (proxy_sync) and from there per-service updates, batched: the
 *   keys changed within PRUN_DELAY_MS are synced together.
 * - A zone change (or a failed update) makes the next sync a full one.
 * - Drift: when idle for PRUN_DRIFT_MS, proxy_repair() checks that our
 *   tables exist and rewrites them from the model if one was deleted.
 * - When a service loses UDP endpoints, conntrack entries whose reply comes
 *   from those addresses are deleted right after the update
 *   (proxy_conntrack_clear_udp), so clients stop talking to a dead pod.
 *
 * Lifecycle: agent__proxy_start() after the API client exists;
 * agent__proxy_stop() before the client is freed (informers first). The
 * runner frees itself once its handles are closed.
 */
#ifndef K1S_AGENT_PROXY_RUN_H
#define K1S_AGENT_PROXY_RUN_H

#include <stdint.h>

struct agent;

/* Delay that batches bursts of changes into one sync, in ms. */
#define PRUN_DELAY_MS 5
/* Retry of a failed sync, in ms. */
#define PRUN_RETRY_MS 1000
/* Drift check interval when idle, in ms (one GETTABLE per table). */
#define PRUN_DRIFT_MS 5000
/* Default pod CIDRs masqueraded against (agent --cluster-cidr). */
#define PRUN_DEFAULT_CLUSTER_CIDR "10.42.0.0/16,fd42::/56"

/* Starts the proxy for a (unless a->cfg.disable_proxy). 0 or -errno (logged;
 * the agent runs on without a proxy). */
int agent__proxy_start(struct agent *a);
/* Stops it: informers freed now, handles closed on the loop. */
void agent__proxy_stop(struct agent *a);

/* ---- health check node ports (agent/proxy_health.c) ---- */

struct prun_health;
struct prun_health *prun_health_new(void *loop);
/* Serves port for ns/name with local endpoint count n (answers 200 when
 * n > 0, else 503, with kube-proxy's JSON body). port 0 stops serving the
 * service. -errno when the port cannot be bound (logged). */
int prun_health_set(struct prun_health *h, const char *key, uint16_t port, int n);
/* Closes every listener; frees h once they are closed. */
void prun_health_free(struct prun_health *h);

#endif
