/*
 * lib/apiclient_int.h - internals shared by lib/apiclient*.c only.
 */
#ifndef K1S_LIB_APICLIENT_INT_H
#define K1S_LIB_APICLIENT_INT_H

#include "apiclient.h"
#include "http.h"

struct api_req;

struct api_client {
	uv_loop_t *loop;
	char *server;			/* URL without trailing '/' */
	struct tls_config *tls;		/* NULL for http:// */
	struct http_client *http;
	struct api_req *reqs;		/* in flight, for api_client_free() */
};

/* Fills st from a Status body (or the first bytes of any other body). */
void api__decode_status(const char *body, size_t len, int code, struct api_status *st);
/* server URL + path, malloc'd. */
char *api__url(const struct api_client *c, const char *path);
int api__call(struct api_client *c, struct http_call_opts *o, struct http_call **out);

#endif
