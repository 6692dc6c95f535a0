/*
 * images/registry_int.h - internals of the registry client (registry_config.c,
 * registry_http.c, pull.c); not for other modules.
 */
#ifndef K1S_IMAGES_REGISTRY_INT_H
#define K1S_IMAGES_REGISTRY_INT_H

#include "img_int.h"
#include "lib/buf.h"

#include <cjson/cJSON.h>

/* Credentials for one endpoint; all NULL: anonymous. */
struct reg_auth {
	char *user, *pass;
};

/* One place an image can be pulled from. */
struct reg_endpoint {
	char *base;		/* "https://host:port", no trailing slash */
	char *host;		/* "host:port" as written */
	bool plain;		/* http:// */
	bool insecure;		/* tls.insecure_skip_verify */
	char *ca_file;		/* NULL: the system bundle */
	struct reg_auth auth;
};

/* "index.docker.io", "https://index.docker.io/v1/" -> "docker.io"; malloc'd. */
char *reg__host_key(const char *s);

/*
 * The endpoints to try for an image on registry (its host, "docker.io"):
 * the mirrors of registries.yaml (or of "*"), then the registry itself, each
 * with its TLS settings and credentials (auths first, then configs). At
 * most IMG_MAX_ENDPOINTS + 1. Free with reg__endpoints_free().
 */
int reg__endpoints(const struct img_registries *r, const cJSON *auths, const char *registry,
		   struct reg_endpoint **out, size_t *n);
void reg__endpoints_free(struct reg_endpoint *e, size_t n);

/* Where a GET's body goes: a buffer (JSON) or a file (blob), hashed. */
struct reg_sink {
	struct buf *buf;	/* or NULL */
	int fd;			/* used when buf is NULL */
	uint64_t max;		/* more bytes fail with -EFBIG */
	uint64_t got;
	struct img__sha sha;
	void (*progress)(uint64_t got, void *arg);	/* may be NULL */
	void *arg;
	char content_type[128];	/* of the answer */
};

/* A connection to one endpoint for one repository, on a private loop. */
struct reg_client;

int reg__client_new(const struct reg_endpoint *e, const char *repo, unsigned stall_ms,
		    struct reg_client **out, char *err, size_t errlen);
void reg__client_free(struct reg_client *c);
/*
 * GET /v2/<repo>/<what> (what = "manifests/<ref>" or "blobs/<digest>") into
 * sink (initialized by the caller, hash included), answering auth challenges
 * and following redirects. 0, or -errno with a one-line err: -ENOENT for 404,
 * -EACCES for 401/403, -EPROTO for other statuses.
 */
int reg__get(struct reg_client *c, const char *what, const char *accept,
	     struct reg_sink *sink, char *err, size_t errlen);

#endif
