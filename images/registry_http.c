/*
 * images/registry_http.c - the OCI distribution v2 client: GETs of manifests
 * and blobs on a private libuv loop (run to completion by the caller's
 * thread), basic and bearer-token auth answering WWW-Authenticate challenges,
 * redirects (credentials only to the endpoint's own host), and a stall
 * watchdog on bodies.
 */
#include "registry_int.h"
#include "lib/http.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REG_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define REG_MAX_REDIRECTS 5
#define REG_MAX_ERRBODY 4096
#define REG_HEAD_TIMEOUT_MS 30000
#define REG_STALL_MS 60000

struct reg_client {
	uv_loop_t loop;
	struct http_client *http;
	char *base, *host, *repo;
	const struct reg_auth *auth;
	char *authz;		/* Authorization value once a challenge was answered */
	unsigned stall_ms;
};

/* One call, run to completion. */
struct call {
	struct reg_client *c;
	struct http_call *hc;
	struct reg_sink *sink;
	uv_timer_t timer;
	uint64_t last_got;
	unsigned idle_ms;
	bool done;
	int err, status;
	char *location, *challenge;
	struct buf errbody;
};

int reg__client_new(const struct reg_endpoint *e, const char *repo, unsigned stall_ms,
		    struct reg_client **out, char *err, size_t errlen)
{
	struct reg_client *c = xcalloc(1, sizeof(*c));
	struct tls_config_opts to = { .ca_file = e->ca_file ? e->ca_file : REG_SYSTEM_CA,
				      .insecure_skip_verify = e->insecure };
	struct http_client_opts ho = { 0 };
	struct tls_config *tls = NULL;
	char *msg = NULL;
	int r;

	*out = NULL;
	LOG_V(2, "registry: endpoint %s for %s%s%s", e->base, repo, e->auth.user ? " as " : "",
	      e->auth.user ? e->auth.user : "");
	uv_loop_init(&c->loop);
	c->base = xstrdup(e->base);
	c->host = xstrdup(e->host);
	c->repo = xstrdup(repo);
	c->auth = &e->auth;
	c->stall_ms = stall_ms ? stall_ms : REG_STALL_MS;
	if (!e->plain) {
		r = tls_config_new(&to, &tls, &msg);
		if (r) {
			snprintf(err, errlen, "%s: %s", e->host, msg ? msg : strerror(-r));
			free(msg);
			reg__client_free(c);
			return r;
		}
	}
	ho.tls = tls;
	r = http_client_new(&c->loop, &ho, &c->http);
	tls_config_unref(tls);
	if (r) {
		snprintf(err, errlen, "%s: %s", e->host, strerror(-r));
		reg__client_free(c);
		return r;
	}
	*out = c;
	return 0;
}

void reg__client_free(struct reg_client *c)
{
	if (!c)
		return;
	if (c->http)
		http_client_free(c->http);
	uv_run(&c->loop, UV_RUN_DEFAULT);	/* let the handles close */
	uv_loop_close(&c->loop);
	free(c->base);
	free(c->host);
	free(c->repo);
	free(c->authz);
	free(c);
}

/* ---- one call ---- */

static void call_end(struct call *k, int err)
{
	if (k->done)
		return;
	k->done = true;
	k->err = err;
	uv_timer_stop(&k->timer);
}

static void on_headers(struct http_call *hc, const struct http_response *resp, void *ud)
{
	struct call *k = ud;
	const char *v;

	(void)hc;
	k->status = resp->status;
	if ((v = http_response_header(resp, "Location")))
		k->location = xstrdup(v);
	if ((v = http_response_header(resp, "WWW-Authenticate")))
		k->challenge = xstrdup(v);
	if ((v = http_response_header(resp, "Content-Type")) && k->status == 200)
		snprintf(k->sink->content_type, sizeof(k->sink->content_type), "%s", v);
}

static int sink_write(struct reg_sink *s, const void *data, size_t len)
{
	if (s->got + len > s->max)
		return -EFBIG;
	s->got += len;
	img__sha_update(&s->sha, data, len);
	if (s->buf) {
		buf_add(s->buf, data, len);
	} else {
		for (size_t off = 0; off < len;) {
			ssize_t n = write(s->fd, (const char *)data + off, len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			off += (size_t)n;
		}
	}
	if (s->progress)
		s->progress(s->got, s->arg);
	return 0;
}

static void on_body(struct http_call *hc, const void *data, size_t len, void *ud)
{
	struct call *k = ud;
	int r;

	if (k->status != 200) {
		if (k->errbody.len + len <= REG_MAX_ERRBODY)
			buf_add(&k->errbody, data, len);
		return;
	}
	r = sink_write(k->sink, data, len);
	if (r) {
		http_call_cancel(hc);
		call_end(k, r);
	}
}

static void on_complete(struct http_call *hc, int err, struct http_response *resp, void *ud)
{
	struct call *k = ud;

	(void)hc;
	if (resp && !k->status)
		k->status = resp->status;
	call_end(k, err);
}

static void on_tick(uv_timer_t *t)
{
	struct call *k = t->data;

	if (k->sink->got != k->last_got) {
		k->last_got = k->sink->got;
		k->idle_ms = 0;
		return;
	}
	k->idle_ms += 1000;
	if (k->status && k->idle_ms >= k->c->stall_ms) {
		http_call_cancel(k->hc);
		call_end(k, -ETIMEDOUT);
	}
}

/* Runs one GET of url; fills k. 0 or -errno (transport). */
static int call_run(struct reg_client *c, struct call *k, const char *url, const char *accept,
		    const char *authz)
{
	struct http_header h[2];
	size_t nh = 0;
	struct http_call_opts o = { .url = url, .headers = h, .timeout_ms = REG_HEAD_TIMEOUT_MS,
				    .on_complete = on_complete, .on_headers = on_headers,
				    .on_body = on_body, .ud = k };
	int r;

	if (accept)
		h[nh++] = (struct http_header){ "Accept", accept };
	if (authz)
		h[nh++] = (struct http_header){ "Authorization", authz };
	o.n_headers = nh;
	k->c = c;
	buf_init(&k->errbody, 256);
	uv_timer_init(&c->loop, &k->timer);
	k->timer.data = k;
	r = http_call_start(c->http, &o, &k->hc);
	if (r) {
		k->done = true;
		k->err = r;
	} else {
		uv_timer_start(&k->timer, on_tick, 1000, 1000);
	}
	while (!k->done)
		uv_run(&c->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&k->timer, NULL);
	uv_run(&c->loop, UV_RUN_NOWAIT);
	return k->err;
}

static void call_release(struct call *k)
{
	free(k->location);
	free(k->challenge);
	buf_release(&k->errbody);
	memset(k, 0, sizeof(*k));
}

/* ---- auth ---- */

/* The value of param name in a challenge ("Bearer realm=\"x\",scope=\"y\""). */
static char *challenge_param(const char *ch, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strchr(ch, ' '); p && *p;) {
		const char *v, *end;

		p += strspn(p, " ,");
		v = p + strcspn(p, "=");
		if (*v != '=')
			return NULL;
		v++;
		end = *v == '"' ? strchr(v + 1, '"') : v + strcspn(v, ",");
		if (!end)
			return NULL;
		if ((size_t)(v - 1 - p) == n && !strncasecmp(p, name, n))
			return *v == '"' ? xstrndup(v + 1, (size_t)(end - v - 1)) :
				xstrndup(v, (size_t)(end - v));
		p = *end == '"' ? end + 1 : end;
	}
	return NULL;
}

static char *basic_value(const struct reg_auth *a)
{
	char *raw = xasprintf("%s:%s", a->user, a->pass ? a->pass : "");
	size_t n = 0, cap = 4 * strlen(raw) / 3 + 8;
	unsigned char *b64 = xmalloc(cap);
	char *v;

	mbedtls_base64_encode(b64, cap, &n, (const unsigned char *)raw, strlen(raw));
	v = xasprintf("Basic %.*s", (int)n, (const char *)b64);
	free(b64);
	free(raw);
	return v;
}

/* "code: message" of a registry error body, or the status text. */
static void status_error(const struct call *k, const char *what, char *err, size_t errlen)
{
	cJSON *j = cJSON_ParseWithLength(k->errbody.data ? k->errbody.data : "", k->errbody.len);
	const cJSON *e = cJSON_GetArrayItem(json_get(j, "errors"), 0);
	char code[64];
	size_t i;

	snprintf(code, sizeof(code), "%s", json_get_str(e, "code", ""));
	for (i = 0; code[i]; i++)
		code[i] = code[i] == '_' ? ' ' : (char)(code[i] | 0x20);
	if (e)
		snprintf(err, errlen, "%s: %d %s: %s: %s", what, k->status,
			 http_status_text(k->status), code, json_get_str(e, "message", ""));
	else
		snprintf(err, errlen, "%s: %d %s", what, k->status, http_status_text(k->status));
	cJSON_Delete(j);
}

/* Answers a Bearer challenge: fetches a token from its realm into c->authz. */
static int bearer_token(struct reg_client *c, const char *ch, char *err, size_t errlen)
{
	char *realm = challenge_param(ch, "realm"), *service = challenge_param(ch, "service");
	char *scope = challenge_param(ch, "scope"), *basic = NULL, *url = NULL;
	struct buf b, q;
	struct reg_sink sink = { .buf = &b, .max = 1 << 20 };
	struct call k = { .sink = &sink };
	cJSON *j = NULL;
	const char *tok;
	int r;

	buf_init(&b, 512);
	buf_init(&q, 128);
	if (!realm || (strncmp(realm, "https://", 8) && strncmp(realm, "http://", 7))) {
		snprintf(err, errlen, "%s: bad bearer challenge '%s'", c->host, ch);
		r = -EPROTO;
		goto out;
	}
	if (!scope)
		scope = xasprintf("repository:%s:pull", c->repo);
	buf_addstr(&q, "scope=");
	http_url_encode(&q, scope);
	if (service) {
		buf_addstr(&q, "&service=");
		http_url_encode(&q, service);
	}
	url = xasprintf("%s%c%s", realm, strchr(realm, '?') ? '&' : '?', q.data);
	if (c->auth->user)
		basic = basic_value(c->auth);
	img__sha_init(&sink.sha);
	r = call_run(c, &k, url, "application/json", basic);
	img__sha_final(&sink.sha, (char[IMG_DIGEST_LEN + 1]){ 0 });
	if (r) {
		snprintf(err, errlen, "%s: token from %s: %s", c->host, realm, strerror(-r));
		goto out;
	}
	if (k.status != 200) {
		char what[256];

		snprintf(what, sizeof(what), "%s: token from %s", c->host, realm);
		status_error(&k, what, err, errlen);
		r = k.status == 401 || k.status == 403 ? -EACCES : -EPROTO;
		goto out;
	}
	j = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
	tok = json_get_str(j, "token", json_get_str(j, "access_token", NULL));
	if (!tok || !*tok) {
		snprintf(err, errlen, "%s: token from %s: no token in the answer", c->host, realm);
		r = -EPROTO;
		goto out;
	}
	free(c->authz);
	c->authz = xasprintf("Bearer %s", tok);
out:
	cJSON_Delete(j);
	call_release(&k);
	buf_release(&b);
	buf_release(&q);
	free(realm);
	free(service);
	free(scope);
	free(basic);
	free(url);
	return r;
}

/* Answers a 401's challenge. 0 to retry, or -EACCES with err. */
static int answer_challenge(struct reg_client *c, const struct call *k, const char *what,
			    char *err, size_t errlen)
{
	const char *ch = k->challenge ? k->challenge : "";

	if (!strncasecmp(ch, "Bearer ", 7))
		return bearer_token(c, ch, err, errlen);
	if (!strncasecmp(ch, "Basic", 5) && c->auth->user) {
		free(c->authz);
		c->authz = basic_value(c->auth);
		return 0;
	}
	status_error(k, what, err, errlen);
	return -EACCES;
}

/* True when url is on the endpoint itself (credentials may go there). */
static bool same_host(const struct reg_client *c, const char *url)
{
	size_t n = strlen(c->base);

	return !strncmp(url, c->base, n) && (url[n] == '/' || !url[n]);
}

int reg__get(struct reg_client *c, const char *what, const char *accept,
	     struct reg_sink *sink, char *err, size_t errlen)
{
	char *url = xasprintf("%s/v2/%s/%s", c->base, c->repo, what), *label;
	bool answered = false;
	int r = 0;

	label = xasprintf("%s/%s %s", c->host, c->repo, what);
	for (int hops = 0;; hops++) {
		struct call k = { .sink = sink };

		r = call_run(c, &k, url, accept, same_host(c, url) ? c->authz : NULL);
		if (r) {
			snprintf(err, errlen, "%s: %s", label, r == -EFBIG ?
				 "larger than announced" : strerror(-r));
		} else if (k.status == 401 && !answered) {
			answered = true;
			r = answer_challenge(c, &k, label, err, errlen);
			if (!r) {
				call_release(&k);
				continue;
			}
		} else if (k.status / 100 == 3 && k.location && hops < REG_MAX_REDIRECTS) {
			char *next = k.location[0] == '/' ?
				xasprintf("%s%s", c->base, k.location) : xstrdup(k.location);

			free(url);
			url = next;
			call_release(&k);
			continue;
		} else if (k.status != 200) {
			status_error(&k, label, err, errlen);
			r = k.status == 404 ? -ENOENT :
				k.status == 401 || k.status == 403 ? -EACCES : -EPROTO;
		}
		call_release(&k);
		break;
	}
	free(label);
	free(url);
	return r;
}
