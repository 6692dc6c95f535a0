/*
 * lib/apiclient_sync.c - one blocking request from a kubeconfig, for
 * command-line tools and start-up steps that run before any loop
 * (lib/apiclient.h: api_fetch).
 */
#include "apiclient.h"
#include "http.h"
#include "json.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int api_fetch(const struct api_kubeconfig *kc, const char *method, const char *path,
	      const char *body, struct http_response *resp, char **err)
{
	struct tls_config_opts to = {
		.ca_pem = kc->ca_pem, .cert_pem = kc->cert_pem, .key_pem = kc->key_pem,
		.insecure_skip_verify = kc->insecure || !kc->ca_pem,
	};
	struct http_client_opts co = { .bearer_token = kc->token };
	struct http_header h = { "Content-Type", "application/json" };
	char *url = xasprintf("%s%s", kc->server, path);
	struct http_call_opts o = {
		.method = method, .url = url, .timeout_ms = API_REQUEST_TIMEOUT_MS,
		.headers = body ? &h : NULL, .n_headers = body ? 1 : 0,
		.body = body, .body_len = body ? strlen(body) : 0,
	};
	char *msg = NULL;
	int r;

	*err = NULL;
	r = tls_config_new(&to, &co.tls, &msg);
	if (r) {
		*err = xasprintf("cannot set up TLS: %s", msg ? msg : strerror(-r));
		free(msg);
		free(url);
		return r;
	}
	r = http_fetch(&co, &o, resp);
	tls_config_unref(co.tls);
	if (r)
		*err = xasprintf("cannot reach %s: %s", url, r == -EACCES ?
				 "its certificate is not signed by the expected CA" : strerror(-r));
	free(url);
	return r;
}

char *api_fetch_message(const struct http_response *resp)
{
	cJSON *st = json_parse(resp->body.data ? resp->body.data : "", resp->body.len);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(st, "message");
	char *out = xasprintf("%d %s", resp->status, cJSON_IsString(m) ? m->valuestring :
			      http_status_text(resp->status));

	cJSON_Delete(st);
	return out;
}
