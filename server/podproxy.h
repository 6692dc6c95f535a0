/*
 * server/podproxy.h - pods/log, pods/exec, pods/attach, pods/portforward and
 * nodes/proxy (GET /api/v1/nodes/<n>/proxy/<path> is the kubelet's /<path>):
 * the API server finds the pod's node, and proxies the request to that
 * node's kubelet API (https://<InternalIP>:<daemonEndpoints.kubeletEndpoint
 * .Port>) as CN=kube-apiserver (client-kube-apiserver.crt), verifying the
 * kubelet's certificate against the server CA. Upgrades (WebSocket, SPDY)
 * are passed end to end: the kubelet's 101 becomes ours and the two
 * connections are joined byte for byte; a refused upgrade (the kubelet's
 * 4xx) reaches the client as it is, so kubectl's WebSocket → SPDY fallback
 * works through the proxy. Logs stream through as they come.
 *
 * The embedded agent's kubelet serving certificate is issued here too:
 * <data-dir>/agent/pki/kubelet.{crt,key} (server CA, every local address
 * as a SAN) and client-ca.crt (to check the API server's client cert).
 */
#ifndef K1S_SERVER_PODPROXY_H
#define K1S_SERVER_PODPROXY_H

#include "apiserver.h"
#include "pki.h"

#define PODPROXY_BUFFER_MAX (1024 * 1024)	/* queued per side before pausing the other, bytes */

struct podproxy;

/* Builds the kubelet client and the embedded agent's certificates.
 * 0 or -errno (logged). */
int podproxy_init(struct apiserver *s, struct server_pki *pki);
void podproxy_release(struct apiserver *s);
/* Serves c (route.sub is log/exec/attach/portforward, or proxy of a node);
 * takes over c. */
void podproxy_serve(struct api_call *c);

#endif
