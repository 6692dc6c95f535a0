/*
 * server/nodeauthz.h - the node authorizer (server/nodeauthz.c): what the
 * credentials of node <n> (system:node:<n>, group system:nodes) may do.
 * Internal to server/.
 */
#ifndef K1S_SERVER_NODEAUTHZ_H
#define K1S_SERVER_NODEAUTHZ_H

#include <stdbool.h>
#include "authn.h"

struct apiserver;

/*
 * True when node credentials may do a. field_name: the object a list/watch
 * is narrowed to by a metadata.name field selector (or a create names in
 * its body), or NULL. On a denial of
 * a node identity *why is upstream's reason (appended to the 403 message)
 * or NULL.
 */
bool nodeauthz_allowed(struct apiserver *s, const struct authn_identity *id,
		       const struct authz_attrs *a, const char *field_name, const char **why);

#endif
