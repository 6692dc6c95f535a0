/*
 * lib/apiclient.c - asynchronous API requests with Status decoding.
 * Each request is one struct api_req on the client's list, so that
 * api_client_free() can cancel and free what is still in flight.
 */
#include "apiclient.h"
#include "apiclient_int.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct api_req {
	struct api_client *c;
	struct http_call *call;
	struct api_req *prev, *next;
	api_done_fn cb;
	void *ud;
};

static void req_unlink(struct api_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		r->c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

static int client_tls(const struct api_kubeconfig *kc, struct tls_config **tls, char **err)
{
	struct tls_config_opts to = {
		.ca_pem = kc->ca_pem, .cert_pem = kc->cert_pem, .key_pem = kc->key_pem,
		.insecure_skip_verify = kc->insecure || !kc->ca_pem,
	};

	*tls = NULL;
	if (strncmp(kc->server, "https://", 8))
		return 0;
	return tls_config_new(&to, tls, err);
}

int api_client_new(uv_loop_t *loop, const struct api_kubeconfig *kc,
		   struct api_client **out, char **err)
{
	struct http_client_opts ho = { 0 };
	struct api_client *c;
	int r;

	*err = NULL;
	if (!kc->server || (strncmp(kc->server, "https://", 8) && strncmp(kc->server, "http://", 7))) {
		*err = xstrdup("kubeconfig server must be an http(s) URL");
		return -EINVAL;
	}
	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->server = xstrdup(kc->server);
	while (str_has_suffix(c->server, "/"))
		c->server[strlen(c->server) - 1] = 0;
	r = client_tls(kc, &c->tls, err);
	if (r)
		goto fail;
	ho.tls = c->tls;
	ho.bearer_token = kc->token;
	r = http_client_new(loop, &ho, &c->http);
	if (r) {
		*err = xasprintf("cannot create http client: %s", strerror(-r));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	tls_config_unref(c->tls);
	free(c->server);
	free(c);
	return r;
}

int api_client_set_credentials(struct api_client *c, const struct api_kubeconfig *kc, char **err)
{
	struct tls_config *tls;
	int r;

	*err = NULL;
	if (!kc->server || strcmp(kc->server, c->server)) {
		*err = xstrdup("the new credentials are for another server");
		return -EINVAL;
	}
	r = client_tls(kc, &tls, err);
	if (r)
		return r;
	http_client_set_tls(c->http, tls);
	http_client_set_token(c->http, kc->token);
	tls_config_unref(c->tls);
	c->tls = tls;
	return 0;
}

void api_client_free(struct api_client *c)
{
	if (!c)
		return;
	while (c->reqs) {
		struct api_req *r = c->reqs;

		http_call_cancel(r->call);
		req_unlink(r);
		free(r);
	}
	http_client_free(c->http);
	tls_config_unref(c->tls);
	free(c->server);
	free(c);
}

uv_loop_t *api_client_loop(const struct api_client *c)
{
	return c->loop;
}

cJSON *api_result_take(struct api_result *res)
{
	cJSON *o = res->obj;

	res->obj = NULL;
	return o;
}

void api__decode_status(const char *body, size_t len, int code, struct api_status *st)
{
	cJSON *o = body && len ? json_parse(body, len) : NULL;

	memset(st, 0, sizeof(*st));
	st->code = code;
	if (o && !strcmp(json_get_str(o, "kind", ""), "Status")) {
		st->code = (int)json_get_int(o, "code", code);
		snprintf(st->reason, sizeof(st->reason), "%s", json_get_str(o, "reason", ""));
		snprintf(st->message, sizeof(st->message), "%s", json_get_str(o, "message", ""));
	} else if (body && len) {
		snprintf(st->message, sizeof(st->message), "%.*s", (int)(len > 200 ? 200 : len), body);
	}
	cJSON_Delete(o);
}

static void on_complete(struct http_call *call, int err, struct http_response *resp, void *ud)
{
	struct api_req *r = ud;
	struct api_result res = { 0 };

	(void)call;
	res.err = err;
	if (!err && resp) {
		res.code = resp->status;
		if (res.code >= 200 && res.code < 300) {
			if (resp->body.len) {
				res.obj = json_parse(resp->body.data, resp->body.len);
				if (!res.obj)
					res.err = -EBADMSG;
			}
		} else {
			api__decode_status(resp->body.data, resp->body.len, res.code, &res.status);
		}
	} else {
		snprintf(res.status.message, sizeof(res.status.message), "%s", strerror(err ? -err : EIO));
	}
	req_unlink(r);
	r->cb(&res, r->ud);
	cJSON_Delete(res.obj);
	free(r);
}

char *api__url(const struct api_client *c, const char *path)
{
	return xasprintf("%s%s", c->server, path);
}

int api__call(struct api_client *c, struct http_call_opts *o, struct http_call **out)
{
	return http_call_start(c->http, o, out);
}

int api_request(struct api_client *c, const char *method, const char *path,
		const char *content_type, const void *body, size_t len,
		api_done_fn cb, void *ud)
{
	struct http_header hdrs[2] = {
		{ "Accept", "application/json" },
		{ "Content-Type", content_type ? content_type : "application/json" },
	};
	struct http_call_opts o = { 0 };
	struct api_req *r;
	char *url;
	int ret;

	if (!path || path[0] != '/' || strlen(path) > API_MAX_PATH || !cb)
		return -EINVAL;
	r = xcalloc(1, sizeof(*r));
	r->c = c;
	r->cb = cb;
	r->ud = ud;
	url = api__url(c, path);
	o.method = method;
	o.url = url;
	o.headers = hdrs;
	o.n_headers = body ? 2 : 1;
	o.body = body;
	o.body_len = len;
	o.timeout_ms = API_REQUEST_TIMEOUT_MS;
	o.on_complete = on_complete;
	o.ud = r;
	ret = http_call_start(c->http, &o, &r->call);
	free(url);
	if (ret) {
		free(r);
		return ret;
	}
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	return 0;
}

int api_get(struct api_client *c, const char *path, api_done_fn cb, void *ud)
{
	return api_request(c, "GET", path, NULL, NULL, 0, cb, ud);
}

static int send_obj(struct api_client *c, const char *method, const char *path,
		    const char *ctype, const cJSON *obj, api_done_fn cb, void *ud)
{
	char *s = json_print(obj);
	int r = api_request(c, method, path, ctype, s, strlen(s), cb, ud);

	cJSON_free(s);
	return r;
}

int api_create(struct api_client *c, const char *path, const cJSON *obj,
	       api_done_fn cb, void *ud)
{
	return send_obj(c, "POST", path, NULL, obj, cb, ud);
}

int api_update(struct api_client *c, const char *path, const cJSON *obj,
	       api_done_fn cb, void *ud)
{
	return send_obj(c, "PUT", path, NULL, obj, cb, ud);
}

int api_patch(struct api_client *c, const char *path, enum api_patch_type type,
	      const cJSON *patch, api_done_fn cb, void *ud)
{
	static const char *const ctypes[] = {
		[API_PATCH_MERGE] = "application/merge-patch+json",
		[API_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
		[API_PATCH_JSON] = "application/json-patch+json",
	};

	if ((unsigned)type > API_PATCH_JSON)
		return -EINVAL;
	return send_obj(c, "PATCH", path, ctypes[type], patch, cb, ud);
}

int api_delete(struct api_client *c, const char *path, api_done_fn cb, void *ud)
{
	return api_request(c, "DELETE", path, NULL, NULL, 0, cb, ud);
}

char *api_path(const char *gv, const char *resource, const char *ns,
	       const char *name, const char *sub)
{
	struct buf b;

	buf_init(&b, 128);
	buf_addstr(&b, strchr(gv, '/') ? "/apis/" : "/api/");
	buf_addstr(&b, gv);
	if (ns && *ns) {
		buf_addstr(&b, "/namespaces/");
		http_url_encode(&b, ns);
	}
	buf_addch(&b, '/');
	buf_addstr(&b, resource);
	if (name) {
		buf_addch(&b, '/');
		http_url_encode(&b, name);
		if (sub) {
			buf_addch(&b, '/');
			buf_addstr(&b, sub);
		}
	}
	return buf_detach(&b, NULL);
}
