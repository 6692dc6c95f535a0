/*
 * agent/kubelet.h - the kubelet API the API server talks to: HTTPS on
 * --kubelet-port (10250), served by the agent on its loop.
 *
 * Endpoints (paths as the upstream kubelet has them):
 *   GET  /healthz
 *   GET  /containerLogs/<ns>/<pod>/<container>?follow&tailLines&sinceSeconds
 *        &sinceTime&timestamps&previous&limitBytes       (agent/kubelet_logs.c)
 *   GET|POST /exec/<ns>/<pod>[/<uid>]/<container>?command=..&stdin&stdout
 *        &stderr&tty                                     (agent/kubelet_exec.c)
 *   GET|POST /attach/<ns>/<pod>[/<uid>]/<container>?...  (agent/kubelet_exec.c)
 *   GET|POST /portForward/<ns>/<pod>[/<uid>]             (agent/kubelet_pf.c)
 * exec and attach upgrade to WebSocket (v5.channel.k8s.io, v4.channel.k8s.io)
 * or SPDY/3.1 (X-Stream-Protocol-Version v5/v4.channel.k8s.io); port-forward
 * to SPDY/3.1 (portforward.k8s.io) - a WebSocket request for it is answered
 * 400 so kubectl ≥ 1.31 falls back to SPDY.
 *
 * Who may call: TLS client certificates are required and must chain to the
 * cluster's client CA; then only CN=kube-apiserver (the API server's
 * client identity) or a member of system:masters (node-local admin) is
 * allowed, anyone else gets 403.
 *
 * Certificates: cert/key are the serving pair signed by the cluster's
 * server CA, client_ca the client CA bundle. Defaults, relative to the
 * agent's data dir: pki/kubelet.crt, pki/kubelet.key, pki/client-ca.crt.
 * The embedded agent's are written by `k1s server` (server/podproxy.c);
 * a remote agent is given them (see docs/kubelet-api.md).
 *
 * Containers are found by the conventions of agent/pod.h: runtime ids
 * <pod-uid>_<container>_<attempt> in <data-dir>/containers and CRI logs at
 * <data-dir>/logs/pods/<ns>_<pod>_<uid>/<container>/<attempt>.log.
 */
#ifndef K1S_AGENT_KUBELET_H
#define K1S_AGENT_KUBELET_H

#include <stdbool.h>
#include <uv.h>

#include "agent/runtime.h"

#define KUBELET_PORT 10250
#define KUBELET_APISERVER_CN "kube-apiserver"
#define KUBELET_MAX_SESSIONS 64		/* exec/attach/port-forward at once */

struct kubelet_config {
	const char *data_dir;		/* agent data dir (required) */
	int port;			/* 0: an ephemeral port (tests) */
	const char *bind_address;	/* NULL: 0.0.0.0 and [::] */
	const char *cert_file, *key_file, *client_ca_file;	/* NULL: defaults */
	const struct rt *rt;		/* runc and state dirs (borrowed); NULL: runc from
					 * PATH, --root runc_root, <data_dir>/containers */
	const char *runc_root;		/* NULL: /run/k1s/runc */
};

struct kubelet;

/*
 * Loads the certificates and listens. 0, or -errno with a malloc'd *err
 * (missing certificate files: -ENOENT). The config and rt are borrowed.
 */
int kubelet_start(uv_loop_t *loop, const struct kubelet_config *cfg, struct kubelet **out,
		  char **err);
/* The bound port (useful with port 0 in tests). */
int kubelet_port(const struct kubelet *k);
/* Closes the listener and every session; frees k later on the loop. */
void kubelet_stop(struct kubelet *k);

#endif
