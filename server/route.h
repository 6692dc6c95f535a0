/*
 * server/route.h - splitting a request path into the parts of the REST
 * surface: /api/v1/..., /apis/<group>/<version>/..., namespaces, resource,
 * name and subresource. Pure string work; the registry decides afterwards
 * whether the resource exists.
 */
#ifndef K1S_SERVER_ROUTE_H
#define K1S_SERVER_ROUTE_H

#include <stdbool.h>

#define ROUTE_SEG_MAX 254	/* longest segment accepted, in bytes (names ≤ 253) */

enum route_kind {
	ROUTE_NONE,		/* not an API path */
	ROUTE_API,		/* /api */
	ROUTE_APIS,		/* /apis */
	ROUTE_GROUP,		/* /apis/<group> */
	ROUTE_VERSION,		/* /api/v1 or /apis/<group>/<version> */
	ROUTE_RESOURCE,		/* a collection or an object, maybe a subresource */
};

struct route {
	enum route_kind kind;
	bool legacy_watch;	/* /api/v1/watch/... */
	char group[ROUTE_SEG_MAX];	/* "" for the core group */
	char version[ROUTE_SEG_MAX];
	char ns[ROUTE_SEG_MAX];		/* "" when not namespaced in the path */
	char resource[ROUTE_SEG_MAX];
	char name[ROUTE_SEG_MAX];	/* "" for a collection */
	char sub[ROUTE_SEG_MAX];	/* "" or "status", "scale", "log", ... */
	/* sub "proxy" only: offset in the parsed path of what follows it
	 * (nodes/<n>/proxy/<rest>), 0 when nothing does */
	unsigned rest_off;
};

/* Parses path (already percent-decoded, no query). 0, or -EINVAL on a path
 * with empty or over-long segments or too many of them (segments after a
 * "proxy" subresource are not parsed: see rest_off). */
int route_parse(const char *path, struct route *r);

#endif
