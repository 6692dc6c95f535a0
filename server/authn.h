/*
 * server/authn.h - who is calling (authentication) and may they (authorization).
 * Internal header of the server module.
 *
 * Authentication, in kube-apiserver's order:
 *  1. A client certificate the TLS layer verified against the client CA:
 *     CN -> user name, every O -> a group. A certificate without a CN is
 *     ignored (the next authenticator gets its turn), as upstream.
 *  2. `Authorization: Bearer <token>` checked against a token file in
 *     kube-apiserver's --token-auth-file CSV format
 *     (token,user,uid[,"group1,group2"]), then against the optional
 *     extra token hook (bootstrap tokens of the join flow, later).
 *     Tokens are kept only as SHA-256 digests and compared in constant time.
 *  Every authenticated identity also gets the group "system:authenticated".
 *  Credentials that are presented but wrong (a certificate that failed
 *  verification, an unknown bearer token) give -EACCES (401) even on open
 *  paths - unless another credential of the same request is good (upstream's
 *  union authenticator). A request with no credentials is anonymous (system:anonymous,
 *  group system:unauthenticated) when the router allows it for the path
 *  (authn_path_is_public() lists kube-apiserver's public-info-viewer paths),
 *  otherwise -EACCES (401).
 *
 * Authorization: authz_allowed() walks a table of rules (server/authn.c):
 * members of system:masters may do anything; the public-info-viewer paths
 * (/healthz, /livez, /readyz, /version) may be read by anyone; everything
 * else is denied. The node authorizer adds rows (and a hook) later.
 * authz_forbidden_message() builds kube-apiserver's exact 403 text.
 */
#ifndef K1S_SERVER_AUTHN_H
#define K1S_SERVER_AUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/pki.h"

#define AUTHN_GROUPS_MAX	64		/* groups of one identity */
#define AUTHN_TOKEN_LEN_MAX	4096		/* bytes of a bearer token */
#define AUTHN_TOKEN_FILE_MAX	(4 << 20)	/* bytes of a token file */
#define AUTHN_FIELD_LEN_MAX	1024		/* bytes of a user, uid or group */

#define AUTHN_USER_ANONYMOUS	"system:anonymous"
#define AUTHN_GROUP_UNAUTHENTICATED "system:unauthenticated"
#define AUTHN_GROUP_AUTHENTICATED "system:authenticated"
#define AUTHN_GROUP_MASTERS	"system:masters"

/* Who a request runs as. All strings owned; authn_identity_release(). */
struct authn_identity {
	char *user;		/* never NULL once filled */
	char *uid;		/* "" when unknown */
	char **groups;
	size_t n_groups;
};

void authn_identity_release(struct authn_identity *id);
/* Appends group unless already present (or over AUTHN_GROUPS_MAX). */
void authn_identity_add_group(struct authn_identity *id, const char *group);
bool authn_identity_in_group(const struct authn_identity *id, const char *group);

/*
 * Identity from a verified client certificate. 0, or -ENOENT when the
 * certificate has no CN (not an identity).
 */
int authn_identity_from_cert(struct authn_identity *id, const mbedtls_x509_crt *crt);

/* ---- static token file ---- */

struct authn_tokens;	/* opaque: the parsed table and the path it came from */

/*
 * Parses a token file (or, with path NULL, the text in data/len for tests).
 * Lines: token,user,uid[,groups] in Go encoding/csv rules (quotes, "" for a
 * quote, blank lines skipped); a record with fewer than 3 fields, an
 * unterminated quote or a stray quote is an error naming the line. An
 * empty token is skipped with a warning; a duplicate token: the last wins.
 * *out is freed with authn_tokens_free(). 0 or -errno with err set.
 */
int authn_tokens_load(struct authn_tokens **out, const char *path, struct pki_err *err);
int authn_tokens_parse(struct authn_tokens **out, const char *data, size_t len,
		       const char *name, struct pki_err *err);
/*
 * Re-reads the file when its size, mtime or inode changed (always with
 * force). On failure the old table stays in use. 1 reloaded, 0 unchanged,
 * or -errno with err set.
 */
int authn_tokens_reload(struct authn_tokens *t, bool force, struct pki_err *err);
void authn_tokens_free(struct authn_tokens *t);
size_t authn_tokens_count(const struct authn_tokens *t);
/*
 * Looks up a token in constant time over the whole table (no early exit,
 * digests compared with a constant-time compare). 0 and *id filled (without
 * system:authenticated; authn_authenticate() adds it), or -ENOENT.
 */
int authn_tokens_lookup(const struct authn_tokens *t, const char *token, size_t len,
			struct authn_identity *id);

/* ---- the authenticator ---- */

/* An extra token authenticator: 0 + *id, -ENOENT unknown token, or -errno. */
typedef int (*authn_token_hook)(void *ctx, const char *token, size_t len,
				struct authn_identity *id);

struct authn {
	struct authn_tokens *tokens;	/* borrowed; NULL = no token file */
	authn_token_hook hook;		/* NULL = none */
	void *hook_ctx;
};

struct authn_request {
	const mbedtls_x509_crt *peer_cert;	/* TLS peer's certificate or NULL */
	uint32_t peer_verify_flags;		/* mbedtls_ssl_get_verify_result(); 0 = verified */
	const char *authorization;		/* Authorization header value or NULL */
	bool allow_anonymous;			/* the path is open to unauthenticated callers */
};

/*
 * Authenticates one request. 0 with *id filled (possibly the anonymous
 * identity), or -EACCES: answer 401 Unauthorized. *id is released by the
 * caller in both cases (it is left empty on error).
 */
int authn_authenticate(const struct authn *a, const struct authn_request *r,
		       struct authn_identity *id);

/* True for /healthz, /livez, /readyz, /version and /version/ (exact paths). */
bool authn_path_is_public(const char *path);

/* ---- authorization ---- */

/* What a request wants to do. Strings borrowed; NULL and "" mean absent. */
struct authz_attrs {
	const char *verb;	/* get list watch create update patch delete deletecollection,
				   or the lowercase HTTP method for non-resource paths */
	const char *group;	/* API group; "" for core */
	const char *version;	/* API version (for the Status details); may be NULL */
	const char *resource;	/* plural; NULL = a non-resource request (path) */
	const char *subresource;/* "status", "log", ... */
	const char *namespace;	/* NULL/"" = cluster scope */
	const char *name;	/* object name, if the request names one */
	const char *path;	/* URL path, for non-resource requests */
};

/* True when the rule table lets id do a. */
bool authz_allowed(const struct authn_identity *id, const struct authz_attrs *a);

/*
 * kube-apiserver's 403 message for id/a, malloc'd:
 *   pods is forbidden: User "x" cannot list resource "pods" in API group ""
 *     in the namespace "default"
 *   deployments.apps "web" is forbidden: User "x" cannot get resource
 *     "deployments" in API group "apps" in the namespace "default"
 *   nodes is forbidden: ... at the cluster scope
 *   forbidden: User "system:anonymous" cannot get path "/api"
 * (the Status `message`; names are Go-%q quoted and &, <, > HTML-escaped
 * as upstream does).
 */
char *authz_forbidden_message(const struct authn_identity *id, const struct authz_attrs *a);
/* Only the part after "is forbidden: ", as upstream's forbiddenMessage(). */
char *authz_forbidden_reason(const struct authn_identity *id, const struct authz_attrs *a);

#endif
