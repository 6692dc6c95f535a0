/*
 * server/join.h - how agents join: the cluster token, bootstrap tokens, the
 * CA endpoint and the node-certificate endpoint. Internal to server/.
 *
 * The cluster token, <data-dir>/server/token (0600), is
 *     K10<sha256 of the server CA PEM>::server:<secret>
 * The CA hash lets a joining agent check the CA it downloads from /cacerts
 * (the PEM bytes served there are exactly what is hashed, and equal to
 * <data-dir>/server/tls/server-ca.crt). The secret is kept across restarts;
 * `--token` sets it (k3s's --token). The file is rewritten when the CA
 * changed.
 *
 * Credentials the join endpoints accept as `Authorization: Bearer`:
 *   - the whole token, or its part after "::" ("server:<secret>"): user
 *     system:k1s:join, group system:bootstrappers;
 *   - a bootstrap token "<id>.<secret>" ([a-z0-9]{6}.[a-z0-9]{16}) stored as
 *     Secret kube-system/bootstrap-token-<id> of type
 *     bootstrap.kubernetes.io/token, usage-bootstrap-authentication "true",
 *     not past its expiration: user system:bootstrap:<id>, groups
 *     system:bootstrappers plus the secret's auth-extra-groups (as upstream).
 * These identities may do nothing but join (authz denies the rest).
 *
 * Endpoints (answered before the Kubernetes routes):
 *   GET  /cacerts        the server CA PEM; anyone.
 *   POST /v1-k1s/join    {"nodeName", "clientKey", "servingKey", "addresses"[]}
 *        with two public keys (PEM). Needs system:bootstrappers, or
 *        system:nodes as system:node:<nodeName> itself (renewal). Answers
 *        {"clientCertificate","servingCertificate","serverCA","clientCA"}:
 *        a client certificate CN=system:node:<name>, O=system:nodes (client
 *        CA) and a kubelet serving certificate for the name and addresses
 *        (server CA).
 * Node identity: a bootstrap join for a name whose Lease in kube-node-lease
 * is current (renewed within its leaseDurationSeconds) is refused with 409:
 * a second machine cannot take over a live node's name. A wiped node that
 * rejoins once its lease lapsed gets a fresh identity - no node password
 * to get stuck on (k3s's "Node password rejected").
 */
#ifndef K1S_SERVER_JOIN_H
#define K1S_SERVER_JOIN_H

#include <stdbool.h>

struct apiserver;
struct api_call;
struct server_pki;

/* Ensures the token file and installs the bootstrap-token authenticator.
 * The pki must outlive the server's loop. 0 or -errno (logged). */
int join_init(struct apiserver *s, struct server_pki *pki);
void join_release(struct apiserver *s);

/* True for the paths join_serve() answers. */
bool join_path(const char *path);
/* The server CA in PEM (what /cacerts serves), or NULL before join_init. */
const char *join_ca_pem(struct apiserver *s);
/* Answers c (and does its own authorization). */
void join_serve(struct api_call *c);

#endif
