/*
 * server/satoken.h - service account tokens, as kube-apiserver has them:
 *
 *  - The TokenRequest API: POST .../serviceaccounts/<name>/token returns a
 *    JWT (ES256) signed with <data-dir>/server/tls/service.key (made on
 *    first start), bound to the ServiceAccount and optionally to a Pod,
 *    Secret or Node (boundObjectRef); expirationSeconds 600 .. 2^32,
 *    default 3600; audiences default to the API's one audience.
 *  - The authenticator: a bearer token in JWT form signed by that key,
 *    with the issuer SATOKEN_ISSUER, one of its audiences the API's, not
 *    expired, whose ServiceAccount (and bound object) still exists with the
 *    same uid, authenticates as system:serviceaccount:<ns>:<name> with the
 *    groups system:serviceaccounts and system:serviceaccounts:<ns>.
 *    Authorization is unchanged: without RBAC such a user may do what
 *    system:authenticated may (discovery, self reviews), like a pod's
 *    default account on a fresh upstream cluster.
 *  - The ServiceAccount admission plugin on pod create: serviceAccountName
 *    defaults to "default"; a pod naming another account that does not
 *    exist is refused (403, upstream's message); unless
 *    automountServiceAccountToken is false (pod first, then account), the
 *    pod gets the projected volume kube-api-access-<5 chars> (token with
 *    expirationSeconds 3607, ca.crt from ConfigMap kube-root-ca.crt, the
 *    namespace from the downward API) mounted read-only at
 *    /var/run/secrets/kubernetes.io/serviceaccount in every container and
 *    init container that does not mount something there already.
 *    Deviation: a missing "default" account (a namespace created a moment
 *    ago) does not refuse the pod; the agent's token request waits for it.
 *  - kube-root-ca.crt: the cluster CA in a ConfigMap of every namespace
 *    (upstream's root-ca-cert-publisher), made with the namespace.
 */
#ifndef K1S_SERVER_SATOKEN_H
#define K1S_SERVER_SATOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#define SATOKEN_ISSUER		"https://kubernetes.default.svc.cluster.local"
#define SATOKEN_MIN_SECONDS	600
#define SATOKEN_DEFAULT_SECONDS	3600
#define SATOKEN_MOUNT_PATH	"/var/run/secrets/kubernetes.io/serviceaccount"
#define SATOKEN_ROOT_CA_CM	"kube-root-ca.crt"

struct apiserver;
struct api_call;
struct api_error;
struct authn_identity;

/* Loads or makes the signing key. 0 or -errno (logged). */
int satoken_init(struct apiserver *s);
void satoken_release(struct apiserver *s);

/* The token subresource of serviceaccounts (create) with its decoded
 * body (taken). Answers and frees c. */
void satoken_request(struct api_call *c, cJSON *body);

/* True when tok has the shape of a JWT (three base64url parts). */
bool satoken_is_jwt(const char *tok, size_t len);
/* 0 with *id filled, -ENOENT when the token is not a valid one of ours. */
int satoken_authenticate(struct apiserver *s, const char *tok, size_t len,
			 struct authn_identity *id);

/* ServiceAccount admission on pod create; a refusal is set in e (403). */
void satoken_admit_pod(struct api_call *c, cJSON *pod, struct api_error *e);

/* ConfigMap kube-root-ca.crt for ns (the caller creates it), or NULL when
 * the CA is not known. */
cJSON *satoken_root_ca_configmap(struct apiserver *s, const char *ns);

#endif
