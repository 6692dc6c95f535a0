/*
 * server/handler.c - the entry of every HTTP request: authentication, the
 * non-resource paths (health, version, metrics, discovery, OpenAPI), routing
 * of resource paths to the REST verbs, authorization, and answering with
 * content negotiation (JSON or Table).
 */
#include "podproxy.h"
#include "apiserver.h"
#include "storage.h"
#include "convert.h"
#include "crd.h"
#include "discovery.h"
#include "join.h"
#include "nodeauthz.h"
#include "services.h"
#include "openapi.h"
#include "proto.h"
#include "tables.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- answering ---- */

static int verb_index(unsigned v);

static void count_answer(struct api_call *c, int code)
{
	struct api_metrics *m = &c->srv->metrics;
	uint64_t us = (wall_ns() - c->start_ns) / 1000;

	if (code >= 400)
		m->errors++;
	m->latency_us_sum += us;
	m->latency_count++;
	if (c->res_index >= 0 && c->res_index < API_METRICS_RESOURCES && c->verb) {
		m->requests[c->res_index][verb_index(c->verb)]++;
		m->latency_us[c->res_index][verb_index(c->verb)] += us;
	}
}

void api_respond_raw(struct api_call *c, int code, const char *ctype, const char *body, size_t len)
{
	struct http_header h[] = { { "Content-Type", ctype } };

	count_answer(c, code);
	if (c->sink)
		c->sink->answer(c, code, body, len);
	else	/* also after the client left: answering releases the request */
		http_respond(c->req, code, h, 1, body, len);
}

void api_respond_json(struct api_call *c, int code, const cJSON *doc)
{
	struct buf b = BUF_INIT;

	json_print_buf(doc, &b);
	api_respond_raw(c, code, "application/json", b.data, b.len);
	buf_release(&b);
}

void api_respond_error(struct api_call *c, struct api_error *e)
{
	struct buf b = BUF_INIT;

	LOG_V(2, "%s %s -> %d %s", c->req->method, c->req->url, api_error_code(e),
	      e->message ? e->message : "");
	if (e->retry_after && !c->sink && http_request_alive(c->req)) {
		char s[16];

		snprintf(s, sizeof(s), "%d", e->retry_after);
		http_response_add_header(c->req, "Retry-After", s);
	}
	api_error_render(e, &b);
	api_respond_raw(c, api_error_code(e), "application/json", b.data, b.len);
	buf_release(&b);
	api_error_release(e);
}

void api_respond_errorf(struct api_call *c, enum status_reason r, const char *fmt, ...)
{
	struct api_error e = { 0 };
	va_list ap;

	va_start(ap, fmt);
	e.reason = r;
	e.message = xvasprintf(fmt, ap);
	va_end(ap);
	api_respond_error(c, &e);
}

enum accept_kind { ACCEPT_JSON, ACCEPT_TABLE, ACCEPT_NONE };

/* The first media range of Accept that k1s can produce decides. */
static enum accept_kind negotiate(const char *accept)
{
	const char *p = accept;

	if (!p || !*p)
		return ACCEPT_JSON;
	while (*p) {
		size_t n = strcspn(p, ",");
		char *range = xstrndup(p, n);
		enum accept_kind k = ACCEPT_NONE;

		if (strstr(range, "as=Table") && strstr(range, "g=meta.k8s.io"))
			k = strstr(range, "application/json") ? ACCEPT_TABLE : ACCEPT_NONE;
		else if (strstr(range, "as="))
			k = ACCEPT_NONE;	/* PartialObjectMetadata etc.: not served */
		else if (strstr(range, "application/json") || strstr(range, "*/*") ||
			 strstr(range, "application/*"))
			k = ACCEPT_JSON;
		free(range);
		if (k != ACCEPT_NONE)
			return k;
		p += n;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return ACCEPT_NONE;
}

static enum table_include include_param(struct api_call *c)
{
	char *q = NULL;
	enum table_include r = TABLE_INCLUDE_METADATA;

	if (!http_request_query(c->req, "includeObject", 0, &q) && q) {
		if (!strcmp(q, "None"))
			r = TABLE_INCLUDE_NONE;
		else if (!strcmp(q, "Object"))
			r = TABLE_INCLUDE_OBJECT;
	}
	free(q);
	return r;
}

void api_respond_object(struct api_call *c, int code, const cJSON *obj)
{
	const char *accept = http_request_header(c->req, "Accept");
	enum accept_kind k = negotiate(accept);

	if (k == ACCEPT_TABLE && c->res && obj) {
		const cJSON *items = json_get(obj, "items");
		const struct table_printer *p = crd_table_printer(c->res);
		cJSON *t;

		if (items && cJSON_IsArray(items)) {
			size_t n = (size_t)cJSON_GetArraySize(items), i = 0;
			const cJSON **objs = xcalloc(n + 1, sizeof(*objs));
			const cJSON *it;

			cJSON_ArrayForEach(it, items)
				objs[i++] = it;
			t = table_build(p, objs, n, include_param(c), json_get(obj, "metadata"),
					(int64_t)wall_ns());
			free(objs);
		} else {
			const cJSON *objs[1] = { obj };

			t = table_build(p, objs, 1, include_param(c), NULL, (int64_t)wall_ns());
		}
		api_respond_json(c, code, t);
		cJSON_Delete(t);
		return;
	}
	if (k == ACCEPT_NONE) {
		api_respond_errorf(c, STATUS_NOT_ACCEPTABLE,
				   "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io");
		return;
	}
	api_respond_json(c, code, obj);
}

void api_call_free(struct api_call *c)
{
	if (!c)
		return;
	if (c->svc_taken)
		services_write_done(c, -ECANCELED);	/* answered without a write */
	authn_identity_release(&c->id);
	free(c->field_validation);
	if (c->sink)
		c->sink->release(c);
	else
		http_request_unref(c->req);
	free(c);
}

char *api_key(const struct api_resource *r, const char *ns, const char *name)
{
	const char *g = r->storage_group ? r->storage_group : r->group;

	if (!*g)
		g = "core";
	if (r->namespaced && ns && *ns)
		return xasprintf("/registry/%s/%s/%s/%s", g, r->plural, ns, name ? name : "");
	return xasprintf("/registry/%s/%s/%s", g, r->plural, name ? name : "");
}

cJSON *api_decode_as(const struct api_resource *r, const char *data, size_t len, int64_t mod_rev)
{
	cJSON *o = api_decode(data, len, mod_rev);

	if (o && r->crd) {
		crd_decode(r, o);
		return o;
	}
	if (o && convert_storage_version(r->group, r->plural, NULL) &&
	    convert_object(o, r->group, r->version)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *api_decode(const char *data, size_t len, int64_t mod_rev)
{
	cJSON *o = json_parse(data, len);
	char rv[24];

	if (!o)
		return NULL;
	snprintf(rv, sizeof(rv), "%lld", (long long)mod_rev);
	json_set_str(json_obj(o, "metadata"), "resourceVersion", rv);
	return o;
}

cJSON *api_load(struct apiserver *s, const char *group, const char *plural, const char *ns,
		const char *name)
{
	const struct api_resource *r = registry_find(group, "v1", plural);
	struct sobj o = { 0 };
	cJSON *obj = NULL;
	char *key;

	if (!r || !name || !*name)
		return NULL;
	key = api_key(r, r->namespaced && ns ? ns : "", name);
	if (!storage_get(s, key, &o))
		obj = api_decode(o.value, o.len, o.mod_rev);
	sobj_release(&o);
	free(key);
	return obj;
}

/* ---- non-resource paths ---- */

static const char *const health_checks[] = { "ping", "log", "etcd", "poststarthook/bootstrap-namespaces" };

static void serve_health(struct api_call *c, const char *path)
{
	char *v = NULL;
	bool verbose = !http_request_query(c->req, "verbose", 0, &v) && v;
	struct buf b = BUF_INIT;
	const char *which = path + 1;
	int ok = c->srv->ready;

	free(v);
	if (!verbose) {
		if (ok)
			api_respond_raw(c, 200, "text/plain; charset=utf-8", "ok", 2);
		else
			api_respond_raw(c, 500, "text/plain; charset=utf-8", "not ready\n", 10);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(health_checks); i++)
		buf_addf(&b, "[+]%s ok\n", health_checks[i]);
	buf_addf(&b, "%s check %s\n", which, ok ? "passed" : "failed");
	api_respond_raw(c, ok ? 200 : 500, "text/plain; charset=utf-8", b.data, b.len);
	buf_release(&b);
}

static void serve_version(struct api_call *c)
{
	cJSON *v = cJSON_CreateObject();

	json_set_str(v, "major", "1");
	json_set_str(v, "minor", "36");
	json_set_str(v, "gitVersion", "v1.36.0+k1s");
	json_set_str(v, "gitCommit", K1S_COMMIT);
	json_set_str(v, "gitTreeState", "clean");
	json_set_str(v, "buildDate", "2026-11-27T00:00:00Z");
	json_set_str(v, "goVersion", "none (k1s is written in C)");
	json_set_str(v, "compiler", "gcc");
	json_set_str(v, "platform", "linux/amd64");
	api_respond_json(c, 200, v);
	cJSON_Delete(v);
}

static void serve_metrics(struct api_call *c)
{
	static const char *const verbs[API_METRICS_VERBS] = {
		"GET", "LIST", "WATCH", "POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION",
	};
	const struct api_metrics *m = &c->srv->metrics;
	struct buf b = BUF_INIT;

	buf_addstr(&b, "# HELP apiserver_request_total Counter of apiserver requests by verb and resource.\n"
		       "# TYPE apiserver_request_total counter\n");
	for (size_t r = 0; r < registry_count() && r < API_METRICS_RESOURCES; r++)
		for (size_t v = 0; v < API_METRICS_VERBS; v++)
			if (m->requests[r][v])
				buf_addf(&b, "apiserver_request_total{verb=\"%s\",group=\"%s\",version=\"%s\",resource=\"%s\"} %llu\n",
					 verbs[v], registry_at(r)->group, registry_at(r)->version,
					 registry_at(r)->plural, (unsigned long long)m->requests[r][v]);
	buf_addstr(&b, "# HELP apiserver_request_duration_seconds Request latency by verb and resource.\n"
		       "# TYPE apiserver_request_duration_seconds summary\n");
	for (size_t r = 0; r < registry_count() && r < API_METRICS_RESOURCES; r++)
		for (size_t v = 0; v < API_METRICS_VERBS; v++)
			if (m->requests[r][v]) {
				const char *g = registry_at(r)->group, *res = registry_at(r)->plural;

				buf_addf(&b, "apiserver_request_duration_seconds_sum{verb=\"%s\",group=\"%s\",resource=\"%s\"} %.6f\n",
					 verbs[v], g, res, m->latency_us[r][v] / 1e6);
				buf_addf(&b, "apiserver_request_duration_seconds_count{verb=\"%s\",group=\"%s\",resource=\"%s\"} %llu\n",
					 verbs[v], g, res, (unsigned long long)m->requests[r][v]);
			}
	buf_addf(&b, "# HELP apiserver_request_errors_total Requests answered with 4xx or 5xx.\n"
		     "# TYPE apiserver_request_errors_total counter\n"
		     "apiserver_request_errors_total %llu\n", (unsigned long long)m->errors);
	buf_addf(&b, "# HELP apiserver_registered_watchers Open watch streams.\n"
		     "# TYPE apiserver_registered_watchers gauge\n"
		     "apiserver_registered_watchers %llu\n", (unsigned long long)m->watches);
	buf_addf(&b, "# HELP k1s_store_write_duration_seconds Time from a write's submission to its durable commit.\n"
		     "# TYPE k1s_store_write_duration_seconds summary\n"
		     "k1s_store_write_duration_seconds_sum %.6f\n"
		     "k1s_store_write_duration_seconds_count %llu\n",
		 m->store_latency_us_sum / 1e6, (unsigned long long)m->store_writes);
	api_respond_raw(c, 200, "text/plain; version=0.0.4", b.data, b.len);
	buf_release(&b);
}

static void serve_discovery(struct api_call *c)
{
	const char *accept = http_request_header(c->req, "Accept");
	bool agg = discovery_wants_aggregated(accept);
	cJSON *d = NULL;

	switch (c->route.kind) {
	case ROUTE_API:
		d = agg ? discovery_aggregated(true) : discovery_api_versions(c->srv->server_address);
		break;
	case ROUTE_APIS:
		d = agg ? discovery_aggregated(false) : discovery_group_list();
		break;
	case ROUTE_GROUP:
		d = discovery_group(c->route.group);
		break;
	case ROUTE_VERSION:
		d = discovery_resource_list(c->route.group, c->route.version);
		break;
	default:
		break;
	}
	if (!d) {
		api_respond_errorf(c, STATUS_NOT_FOUND, "the server could not find the requested resource");
		return;
	}
	if (agg && (c->route.kind == ROUTE_API || c->route.kind == ROUTE_APIS)) {
		struct buf b = BUF_INIT;

		json_print_buf(d, &b);
		http_response_add_header(c->req, "Vary", "Accept");
		api_respond_raw(c, 200, DISCOVERY_V2_CTYPE, b.data, b.len);
		buf_release(&b);
	} else {
		api_respond_json(c, 200, d);
	}
	cJSON_Delete(d);
}

/* ---- resource requests ---- */

static const char *verb_name(unsigned v)
{
#define XX(bit, name) if (v == bit) return name;
	VERB_NAMES(XX)
#undef XX
	return "";
}

static int verb_index(unsigned v)
{
	for (int i = 0; i < 8; i++)
		if (v == 1u << i)
			return i;
	return 0;
}

static unsigned verb_of(struct api_call *c)
{
	const char *m = c->req->method;
	bool named = c->route.name[0] != '\0';
	char *w = NULL;
	bool watch = false;

	if (!http_request_query(c->req, "watch", 0, &w) && w)
		parse_bool(w, &watch);
	free(w);
	if (c->route.legacy_watch)
		watch = true;
	if (!strcmp(m, "GET"))
		return watch ? VERB_WATCH : named ? VERB_GET : VERB_LIST;
	if (!strcmp(m, "POST"))
		return VERB_CREATE;
	if (!strcmp(m, "PUT"))
		return VERB_UPDATE;
	if (!strcmp(m, "PATCH"))
		return VERB_PATCH;
	if (!strcmp(m, "DELETE"))
		return named ? VERB_DELETE : VERB_DELETECOLLECTION;
	return 0;
}

/* X of a fieldSelector that is exactly metadata.name=X (or ==X), else NULL. */
static char *single_name_selector(const struct http_request *req)
{
	char *fs = NULL, *out = NULL;
	const char *v;

	if (http_request_query(req, "fieldSelector", 0, &fs) || !fs)
		return NULL;
	if (str_has_prefix(fs, "metadata.name==") || str_has_prefix(fs, "metadata.name=")) {
		v = strchr(fs, '=') + 1;
		if (*v == '=')
			v++;
		if (*v && !strchr(v, ','))
			out = xstrdup(v);
	}
	free(fs);
	return out;
}

/* metadata.name of a JSON request body (what a create names), or NULL. */
static char *body_name(const struct http_request *req)
{
	cJSON *doc = req->body.len ? json_parse(req->body.data, req->body.len) : NULL;
	const char *n = json_get_str(json_get(doc, "metadata"), "name", NULL);
	char *out = n && *n ? xstrdup(n) : NULL;

	cJSON_Delete(doc);
	return out;
}

static bool authorize(struct api_call *c)
{
	struct authz_attrs a = {
		.verb = verb_name(c->verb),
		.group = c->res->group,
		.version = c->res->version,
		.resource = c->res->plural,
		.subresource = c->route.sub,
		.namespace = c->route.ns,
		.name = c->route.name,
		.path = c->req->path,
	};
	struct api_error e = { 0 };
	const char *why = NULL;
	char *msg, *field_name = NULL;
	bool ok;

	if (authz_allowed(&c->id, &a))
		return true;
	if (c->verb == VERB_LIST || c->verb == VERB_WATCH)
		field_name = single_name_selector(c->req);
	else if (c->verb == VERB_CREATE)
		field_name = body_name(c->req);
	ok = nodeauthz_allowed(c->srv, &c->id, &a, field_name, &why);
	free(field_name);
	if (ok)
		return true;
	msg = authz_forbidden_message(&c->id, &a);
	if (why) {
		char *m = xasprintf("%s: %s", msg, why);

		free(msg);
		msg = m;
	}
	api_error_set(&e, STATUS_FORBIDDEN, "%s", msg);
	api_error_details(&e, c->res->group, c->res->plural, c->route.name[0] ? c->route.name : NULL);
	free(msg);
	api_respond_error(c, &e);
	return false;
}

/* True for application/json (with any parameters) or a missing type. */
static bool body_is_json(const char *ctype)
{
	size_t n;

	if (!ctype || !*ctype)
		return true;
	n = strcspn(ctype, ";");
	while (n && ctype[n - 1] == ' ')
		n--;
	return n == strlen("application/json") && !strncasecmp(ctype, "application/json", n);
}

static const char *const streaming_subs[] = { "log", "exec", "attach", "portforward", "proxy" };

/* A deprecated custom resource version answers with a Warning header. */
static void warn_deprecated(struct api_call *c)
{
	struct buf w = BUF_INIT;

	if (!c->res->crd || !c->res->crd->warning || c->sink)
		return;
	buf_addstr(&w, "299 - \"");
	for (const char *p = c->res->crd->warning; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addch(&w, '\\');
		buf_addch(&w, *p);
	}
	buf_addch(&w, '"');
	http_response_add_header(c->req, "Warning", w.data);
	buf_release(&w);
}

/* Returns true when a verb took over c (and frees it), false when answered here. */
static bool serve_resource(struct api_call *c)
{
	struct route *r = &c->route;
	char *q = NULL;

	c->res = registry_find(r->group, r->version, r->resource);
	if (!c->res || (r->sub[0] && !registry_has_sub(c->res, r->sub)) ||
	    (r->ns[0] && !c->res->namespaced)) {
		api_respond_errorf(c, STATUS_NOT_FOUND, "the server could not find the requested resource");
		return false;
	}
	c->verb = verb_of(c);
	if (!c->verb) {
		api_respond_errorf(c, STATUS_METHOD_NOT_ALLOWED,
				   "the server does not allow this method on the requested resource");
		return false;
	}
	for (size_t i = 0; i < registry_count(); i++)	/* custom resources: not by row */
		if (registry_at(i) == c->res && !c->res->crd)
			c->res_index = (int)i;
	if (!authorize(c))
		return false;
	if (!http_request_query(c->req, "dryRun", 0, &q) && q) {
		if (strcmp(q, "All")) {
			api_respond_errorf(c, STATUS_BAD_REQUEST, "Invalid dry run value: %s", q);
			free(q);
			return false;
		}
		c->dry_run = true;
	}
	free(q);
	if (!http_request_query(c->req, "fieldValidation", 0, &c->field_validation) &&
	    c->field_validation && strcmp(c->field_validation, "Strict") &&
	    strcmp(c->field_validation, "Warn") && strcmp(c->field_validation, "Ignore")) {
		api_respond_errorf(c, STATUS_BAD_REQUEST,
				   "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got \"%s\"",
				   c->field_validation);
		return false;
	}
	if ((c->verb == VERB_CREATE || c->verb == VERB_UPDATE) && c->req->body.len &&
	    !body_is_json(http_request_header(c->req, "Content-Type")) &&
	    !proto_is_media_type(http_request_header(c->req, "Content-Type"))) {
		api_respond_errorf(c, STATUS_UNSUPPORTED_MEDIA_TYPE,
				   "the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf");
		return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(streaming_subs); i++)
		if (!strcmp(r->sub, streaming_subs[i])) {
			podproxy_serve(c);	/* server/podproxy.c: to the node's kubelet */
			return true;
		}
	if (!(c->res->verbs & c->verb) && !r->sub[0]) {
		api_respond_errorf(c, STATUS_METHOD_NOT_ALLOWED,
				   "the server does not allow this method on the requested resource");
		return false;
	}
	warn_deprecated(c);
	switch (c->verb) {
	case VERB_GET: rest_get(c); return true;
	case VERB_LIST: rest_list(c); return true;
	case VERB_WATCH: rest_watch(c); return true;
	case VERB_CREATE:
		if (r->name[0] && !r->sub[0]) {
			api_respond_errorf(c, STATUS_METHOD_NOT_ALLOWED,
					   "the server does not allow this method on the requested resource");
			return false;
		}
		rest_create(c);
		return true;
	case VERB_UPDATE: rest_update(c); return true;
	case VERB_PATCH: rest_patch(c); return true;
	case VERB_DELETE: rest_delete(c); return true;
	case VERB_DELETECOLLECTION: rest_deletecollection(c); return true;
	}
	return false;
}

static int authenticate(struct api_call *c)
{
	const struct tls_peer *p = c->req->peer;
	struct authn_request ar = {
		.authorization = http_request_header(c->req, "Authorization"),
		.allow_anonymous = authn_path_is_public(c->req->path) || !strcmp(c->req->path, "/cacerts"),
	};

	if (p && p->has_cert) {
		if (!p->verified || !p->cn)
			return -EACCES;
		c->id.user = xstrdup(p->cn);
		c->id.uid = xstrdup("");
		for (size_t i = 0; i < p->n_orgs; i++)
			authn_identity_add_group(&c->id, p->orgs[i]);
		authn_identity_add_group(&c->id, AUTHN_GROUP_AUTHENTICATED);
		return 0;
	}
	return authn_authenticate(&c->srv->authn, &ar, &c->id);
}

/*
 * Impersonate-User / Impersonate-Group / Impersonate-Uid (kubectl --as,
 * --as-group): who may impersonate is an authorization question (verb
 * impersonate on users and groups). Returns 0, or -EPERM after answering 403.
 */
static int impersonate(struct api_call *c)
{
	const char *user = http_request_header(c->req, "Impersonate-User");
	struct authz_attrs a = { .verb = "impersonate", .group = "", .resource = "users" };
	struct authn_identity id = { 0 };
	const char *g;
	size_t it = 0;

	if (!user)
		return 0;
	a.name = user;
	if (!authz_allowed(&c->id, &a)) {
		char *msg = authz_forbidden_message(&c->id, &a);

		api_respond_errorf(c, STATUS_FORBIDDEN, "%s", msg);
		free(msg);
		return -EPERM;
	}
	id.user = xstrdup(user);
	id.uid = xstrdup(http_request_header(c->req, "Impersonate-Uid") ?
			 http_request_header(c->req, "Impersonate-Uid") : "");
	while ((g = http_request_header_next(c->req, "Impersonate-Group", &it)))
		authn_identity_add_group(&id, g);
	if (strcmp(user, AUTHN_USER_ANONYMOUS))
		authn_identity_add_group(&id, AUTHN_GROUP_AUTHENTICATED);
	authn_identity_release(&c->id);
	c->id = id;
	return 0;
}

void api_handle(struct http_request *req, void *data)
{
	struct apiserver *s = data;
	struct api_call *c = xcalloc(1, sizeof(*c));
	const char *path = req->path;

	c->srv = s;
	c->res_index = -1;
	c->req = http_request_ref(req);
	c->start_ns = wall_ns();
	LOG_V(4, "%s %s", req->method, req->url);
	if (authenticate(c)) {
		api_respond_errorf(c, STATUS_UNAUTHORIZED, "Unauthorized");
		api_call_free(c);
		return;
	}
	if (impersonate(c)) {
		api_call_free(c);
		return;
	}
	if (join_path(path)) {
		join_serve(c);
	} else if (!strcmp(path, "/healthz") || !strcmp(path, "/livez") || !strcmp(path, "/readyz") ||
	    str_has_prefix(path, "/healthz/") || str_has_prefix(path, "/livez/") ||
	    str_has_prefix(path, "/readyz/")) {
		serve_health(c, path);
	} else if (!strcmp(path, "/version") || !strcmp(path, "/version/")) {
		serve_version(c);
	} else if (!authn_identity_in_group(&c->id, AUTHN_GROUP_MASTERS) &&
		   !strcmp(c->id.user, AUTHN_USER_ANONYMOUS)) {
		api_respond_errorf(c, STATUS_UNAUTHORIZED, "Unauthorized");
	} else if (!strcmp(path, "/metrics")) {
		serve_metrics(c);
	} else if (str_has_prefix(path, "/openapi/")) {
		openapi_serve(c);
	} else if (route_parse(path, &c->route)) {
		api_respond_errorf(c, STATUS_NOT_FOUND, "the server could not find the requested resource");
	} else if (c->route.kind == ROUTE_RESOURCE) {
		if (serve_resource(c))
			return;	/* the verb owns c from here */
	} else if (c->route.kind != ROUTE_NONE) {
		serve_discovery(c);
	} else {
		api_respond_errorf(c, STATUS_NOT_FOUND, "the server could not find the requested resource");
	}
	api_call_free(c);
}
