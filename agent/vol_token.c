/*
 * agent/vol_token.c - projected serviceAccountToken sources, as the
 * kubelet's token manager keeps them: a token per (pod, audience,
 * expirationSeconds) from the TokenRequest API, bound to the pod, asked
 * for once and asked for again once 80% of its lifetime has passed (the
 * old token stays in the file until the new one arrives). While the first
 * one is on its way setup answers -EAGAIN and the pod worker is woken when
 * it lands. Tokens are dropped with the pod (vol__token_forget).
 */
#include "vol_int.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define TOKEN_DEFAULT_SECONDS 3600
#define TOKEN_MIN_SECONDS 600
#define TOKEN_CHECK_MS 60000		/* how often tokens are checked for age */

struct vol_token {
	struct vol_token *next;
	struct vol_manager *m;	/* NULL once forgotten while a request is out */
	char *uid, *ns, *pod, *sa, *audience;
	int64_t seconds;
	char *token;		/* NULL until the first answer */
	int64_t issued, expires;/* unix seconds */
	bool inflight;
	char *error;		/* last failure, for the event */
};

static void token_free(struct vol_token *t)
{
	free(t->uid);
	free(t->ns);
	free(t->pod);
	free(t->sa);
	free(t->audience);
	free(t->token);
	free(t->error);
	free(t);
}

static bool token_fresh(const struct vol_token *t, int64_t now)
{
	return t->token && now < t->issued + (t->expires - t->issued) * 8 / 10;
}

static void token_done(struct api_result *res, void *ud)
{
	struct vol_token *t = ud;
	cJSON *obj = api_result_take(res);
	const cJSON *st = json_get(obj, "status");
	const char *tok = json_get_str(st, "token", NULL);

	t->inflight = false;
	if (!t->m) {
		token_free(t);
		cJSON_Delete(obj);
		return;
	}
	free(t->error);
	t->error = NULL;
	if (api_result_ok(res) && tok && *tok) {
		free(t->token);
		t->token = xstrdup(tok);
		t->issued = (int64_t)time(NULL);
		t->expires = t->issued + t->seconds;
		if (t->m->on_ready)
			t->m->on_ready(t->m->on_ready_ud, t->uid);
	} else {
		t->error = xasprintf("failed to fetch token: %s",
				     res->status.message[0] ? res->status.message :
				     res->err ? strerror(-res->err) : "no token in the answer");
		log_warn("pod %s/%s: %s", t->ns, t->pod, t->error);
	}
	cJSON_Delete(obj);
}

static void token_request(struct vol_token *t)
{
	cJSON *req = cJSON_CreateObject(), *spec = json_obj(req, "spec");
	cJSON *ref = json_obj(spec, "boundObjectRef");
	char *path = api_path("v1", "serviceaccounts", t->ns, t->sa, NULL);
	char *full = xasprintf("%s/token", path);

	json_set_str(req, "apiVersion", "authentication.k8s.io/v1");
	json_set_str(req, "kind", "TokenRequest");
	if (*t->audience)
		json_set(spec, "audiences", cJSON_CreateStringArray((const char *[]){ t->audience }, 1));
	json_set_int(spec, "expirationSeconds", t->seconds);
	json_set_str(ref, "apiVersion", "v1");
	json_set_str(ref, "kind", "Pod");
	json_set_str(ref, "name", t->pod);
	json_set_str(ref, "uid", t->uid);
	t->inflight = !api_create(t->m->api, full, req, token_done, t);
	cJSON_Delete(req);
	free(path);
	free(full);
}

static struct vol_token *token_find(struct vol_manager *m, const char *uid, const char *aud,
				    int64_t secs)
{
	for (struct vol_token *t = m->tokens; t; t = t->next)
		if (!strcmp(t->uid, uid) && !strcmp(t->audience, aud) && t->seconds == secs)
			return t;
	return NULL;
}

/* The token of pod for source src (created, and asked for when it is not
 * fresh), or NULL with *err when tokens cannot be had. */
static struct vol_token *token_get(struct vol_manager *m, const cJSON *pod, const cJSON *src,
				   char **err)
{
	const cJSON *md = json_get(pod, "metadata");
	const char *uid = json_get_str(md, "uid", ""), *aud = json_get_str(src, "audience", "");
	int64_t secs = json_get_int(src, "expirationSeconds", TOKEN_DEFAULT_SECONDS);
	struct vol_token *t;

	if (!m->api) {
		if (err)
			*err = xstrdup("service account tokens need the API");
		return NULL;
	}
	if (secs < TOKEN_MIN_SECONDS)
		secs = TOKEN_MIN_SECONDS;
	t = token_find(m, uid, aud, secs);
	if (!t) {
		t = xcalloc(1, sizeof(*t));
		t->m = m;
		t->uid = xstrdup(uid);
		t->ns = xstrdup(json_get_str(md, "namespace", "default"));
		t->pod = xstrdup(json_get_str(md, "name", ""));
		t->sa = xstrdup(json_get_str(json_get(pod, "spec"), "serviceAccountName", "default"));
		t->audience = xstrdup(aud);
		t->seconds = secs;
		t->next = m->tokens;
		m->tokens = t;
	}
	if (!token_fresh(t, (int64_t)time(NULL)) && !t->inflight && !m->stopped)
		token_request(t);
	return t;
}

int vol__payload_token(struct vol_manager *m, struct vol_payload *pl, const cJSON *pod,
		       const cJSON *src, unsigned mode, char **err)
{
	int64_t now = (int64_t)time(NULL);
	struct vol_token *t;

	if (!m->api && m->fake_token)	/* the fake store of unit tests */
		return vol__payload_add(pl, json_get_str(src, "path", "token"), m->fake_token,
					strlen(m->fake_token), mode);
	t = token_get(m, pod, src, err);
	if (!t)
		return -ENOTSUP;
	if (!t->token || t->expires <= now) {
		*err = xstrdup(t->error ? t->error : "waiting for the service account token");
		return -EAGAIN;
	}
	return vol__payload_add(pl, json_get_str(src, "path", "token"), t->token, strlen(t->token), mode);
}

void vol_pod_prefetch(struct vol_manager *m, const cJSON *pod)
{
	const cJSON *v, *src;

	cJSON_ArrayForEach(v, json_path(pod, "spec.volumes"))
		cJSON_ArrayForEach(src, json_path(v, "projected.sources"))
			if (json_get(src, "serviceAccountToken"))
				token_get(m, pod, json_get(src, "serviceAccountToken"), NULL);
}

void vol__token_forget(struct vol_manager *m, const char *uid)
{
	struct vol_token **pp = &m->tokens;

	while (*pp) {
		struct vol_token *t = *pp;

		if (uid && strcmp(t->uid, uid)) {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		if (t->inflight)
			t->m = NULL;	/* token_done frees it */
		else
			token_free(t);
	}
}

/* Tokens past 80% of their life are asked for again; the pod worker,
 * woken when one lands, writes it into the volume. */
static void token_tick(uv_timer_t *h)
{
	struct vol_manager *m = h->data;
	int64_t now = (int64_t)time(NULL);

	for (struct vol_token *t = m->tokens; t; t = t->next)
		if (t->token && !token_fresh(t, now) && !t->inflight && !m->stopped)
			token_request(t);
}

static void timer_closed(uv_handle_t *h)
{
	free(h);
}

void vol__token_stop(struct vol_manager *m)
{
	vol__token_forget(m, NULL);
	if (m->token_timer)
		uv_close((uv_handle_t *)m->token_timer, timer_closed);
	m->token_timer = NULL;
}

void vol_manager_on_ready(struct vol_manager *m, void (*fn)(void *ud, const char *uid), void *ud)
{
	m->on_ready = fn;
	m->on_ready_ud = ud;
	if (m->api && !m->token_timer) {
		m->token_timer = xcalloc(1, sizeof(*m->token_timer));
		uv_timer_init(api_client_loop(m->api), m->token_timer);
		m->token_timer->data = m;
		uv_timer_start(m->token_timer, token_tick, TOKEN_CHECK_MS, TOKEN_CHECK_MS);
		uv_unref((uv_handle_t *)m->token_timer);
	}
}
