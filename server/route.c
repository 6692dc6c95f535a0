#include "route.h"

#include <errno.h>
#include <string.h>

#define ROUTE_MAX_SEGS 10

/* Splits path into at most ROUTE_MAX_SEGS segments (offs: where each
 * starts); *more is the offset of what did not fit, or 0. */
static int split(const char *path, char segs[][ROUTE_SEG_MAX], unsigned *offs, int *n,
		 unsigned *more)
{
	const char *p = path;

	*n = 0;
	*more = 0;
	if (*p != '/')
		return -EINVAL;
	while (*p == '/')
		p++;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (*n >= ROUTE_MAX_SEGS) {
			*more = (unsigned)(p - path);
			return 0;
		}
		if (len >= ROUTE_SEG_MAX)
			return -EINVAL;
		offs[*n] = (unsigned)(p - path);
		memcpy(segs[*n], p, len);
		segs[*n][len] = '\0';
		(*n)++;
		p += len;
		if (*p == '/') {
			p++;
			if (*p == '/')
				return -EINVAL;
		}
	}
	return 0;
}

#define SET(dst, src) do { strcpy((dst), (src)); } while (0)

int route_parse(const char *path, struct route *r)
{
	char s[ROUTE_MAX_SEGS][ROUTE_SEG_MAX];
	unsigned offs[ROUTE_MAX_SEGS], more;
	int n, i;

	memset(r, 0, sizeof(*r));
	if (split(path, s, offs, &n, &more))
		return -EINVAL;
	if (n == 0)
		return 0;
	if (!strcmp(s[0], "api")) {
		if (n == 1) {
			r->kind = ROUTE_API;
			return 0;
		}
		SET(r->version, s[1]);
		i = 2;
	} else if (!strcmp(s[0], "apis")) {
		if (n == 1) {
			r->kind = ROUTE_APIS;
			return 0;
		}
		SET(r->group, s[1]);
		if (n == 2) {
			r->kind = ROUTE_GROUP;
			return 0;
		}
		SET(r->version, s[2]);
		i = 3;
	} else {
		return 0;
	}
	if (i == n) {
		r->kind = ROUTE_VERSION;
		return 0;
	}
	if (!strcmp(s[i], "watch")) {
		r->legacy_watch = true;
		if (++i == n)
			return 0;
	}
	r->kind = ROUTE_RESOURCE;
	/* namespaces/<ns>/<resource>... but namespaces/<name>/{status,finalize} is the namespace's own */
	if (!strcmp(s[i], "namespaces") && n - i >= 3 &&
	    !(n - i == 3 && (!strcmp(s[i + 2], "status") || !strcmp(s[i + 2], "finalize")))) {
		SET(r->ns, s[i + 1]);
		i += 2;
	}
	SET(r->resource, s[i++]);
	if (i < n)
		SET(r->name, s[i++]);
	if (i < n)
		SET(r->sub, s[i++]);
	if ((i < n || more) && !strcmp(r->sub, "proxy")) {
		r->rest_off = i < n ? offs[i] : more;
	} else if (i < n || more) {
		r->kind = ROUTE_NONE;
		return -EINVAL;
	}
	return 0;
}
