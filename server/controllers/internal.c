/*
 * server/controllers/internal.c - API calls made in-process by controllers.
 *
 * An internal call is a struct api_call like an HTTP one, with a plain
 * struct http_request (method, path, empty query, body) that never touches
 * the HTTP layer and an api_sink that collects the answer: the REST verbs
 * of server/rest.c run unchanged, so controllers' writes are defaulted,
 * validated and given metadata exactly like kubectl's. The caller's
 * callback runs when the call is freed, i.e. once the verb is completely
 * done with it.
 */
#include "controllers.h"
#include "../apiserver.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

#define INTERNAL_USER "system:kube-controller-manager"

struct icall {
	struct api_call c;	/* first: api_call_free() frees the whole icall */
	struct http_request req;
	int code;
	struct buf answer;
	api_internal_cb cb;
	void *ud;
};

static void sink_answer(struct api_call *c, int code, const char *body, size_t len)
{
	struct icall *ic = container_of(c, struct icall, c);

	ic->code = code;
	buf_reset(&ic->answer);
	buf_add(&ic->answer, body, len);
}

static void sink_release(struct api_call *c)
{
	struct icall *ic = container_of(c, struct icall, c);
	cJSON *obj = ic->answer.len ? json_parse(ic->answer.data, ic->answer.len) : NULL;

	if (ic->code >= 400)
		LOG_V(2, "internal %s %s -> %d", ic->req.method, ic->req.path, ic->code);
	if (ic->cb)
		ic->cb(ic->code, obj, ic->ud);
	cJSON_Delete(obj);
	buf_release(&ic->answer);
	buf_release(&ic->req.body);
	free(ic->req.url);
	/* path aliases url, query is static */
}

static const struct api_sink sink = { sink_answer, sink_release };

static void copy_seg(char *dst, const char *src)
{
	snprintf(dst, ROUTE_SEG_MAX, "%s", src ? src : "");
}

/* A call ready for a verb, or NULL (cb already answered with 404). */
static struct icall *icall_new(struct apiserver *s, const char *method, unsigned verb,
			       const char *group, const char *plural, const char *ns,
			       const char *name, const char *sub, const cJSON *body,
			       api_internal_cb cb, void *ud)
{
	const struct api_resource *r = NULL;
	struct icall *ic;

	for (size_t i = 0; i < registry_count() && !r; i++)
		if (!strcmp(registry_at(i)->group, group) && !strcmp(registry_at(i)->plural, plural))
			r = registry_at(i);
	if (!r) {
		if (cb)
			cb(404, NULL, ud);
		return NULL;
	}
	ic = xcalloc(1, sizeof(*ic));
	ic->cb = cb;
	ic->ud = ud;
	ic->c.srv = s;
	ic->c.sink = &sink;
	ic->c.req = &ic->req;
	ic->c.res = r;
	ic->c.verb = verb;
	ic->c.res_index = -1;
	ic->c.start_ns = wall_ns();
	ic->c.route.kind = ROUTE_RESOURCE;
	copy_seg(ic->c.route.group, r->group);
	copy_seg(ic->c.route.version, r->version);
	copy_seg(ic->c.route.resource, r->plural);
	copy_seg(ic->c.route.ns, r->namespaced ? ns : "");
	copy_seg(ic->c.route.name, name);
	copy_seg(ic->c.route.sub, sub);
	ic->c.id.user = xstrdup(INTERNAL_USER);
	ic->c.id.uid = xstrdup("");
	authn_identity_add_group(&ic->c.id, AUTHN_GROUP_MASTERS);
	authn_identity_add_group(&ic->c.id, AUTHN_GROUP_AUTHENTICATED);
	ic->req.method = method;
	ic->req.url = xasprintf("/internal/%s/%s/%s/%s%s%s", *r->group ? r->group : "core",
				r->plural, ns ? ns : "", name ? name : "", sub && *sub ? "/" : "",
				sub ? sub : "");
	ic->req.path = ic->req.url;
	ic->req.query = (char *)"";
	ic->req.http_major = ic->req.http_minor = 1;
	buf_init(&ic->req.body, 0);
	if (body)
		json_print_buf(body, &ic->req.body);
	return ic;
}

static const char *meta_str(const cJSON *obj, const char *key)
{
	return json_get_str(json_get(obj, "metadata"), key, "");
}

void api_internal_create(struct apiserver *s, const char *group, const char *plural,
			 const char *ns, const cJSON *obj, api_internal_cb cb, void *ud)
{
	struct icall *ic = icall_new(s, "POST", VERB_CREATE, group, plural, ns, "", "", obj, cb, ud);

	if (ic)
		rest_create(&ic->c);
}

void api_internal_update(struct apiserver *s, const char *group, const char *plural,
			 const char *sub, const cJSON *obj, api_internal_cb cb, void *ud)
{
	struct icall *ic = icall_new(s, "PUT", VERB_UPDATE, group, plural, meta_str(obj, "namespace"),
				     meta_str(obj, "name"), sub, obj, cb, ud);

	if (ic)
		rest_update(&ic->c);
}

void api_internal_patch(struct apiserver *s, const char *group, const char *plural,
			const char *ns, const char *name, const cJSON *patch,
			api_internal_cb cb, void *ud)
{
	api_internal_patch_sub(s, group, plural, ns, name, "", false, patch, cb, ud);
}

void api_internal_patch_sub(struct apiserver *s, const char *group, const char *plural,
			    const char *ns, const char *name, const char *sub, bool strategic,
			    const cJSON *patch, api_internal_cb cb, void *ud)
{
	static const struct http_header merge[] = {
		{ "Content-Type", "application/merge-patch+json" },
	};
	static const struct http_header smp[] = {
		{ "Content-Type", "application/strategic-merge-patch+json" },
	};
	struct icall *ic = icall_new(s, "PATCH", VERB_PATCH, group, plural, ns, name, sub, patch,
				     cb, ud);

	if (!ic)
		return;
	ic->req.headers = (struct http_header *)(strategic ? smp : merge);
	ic->req.n_headers = 1;
	rest_patch(&ic->c);
}

void api_internal_create_sub(struct apiserver *s, const char *group, const char *plural,
			     const char *ns, const char *name, const char *sub, const cJSON *obj,
			     api_internal_cb cb, void *ud)
{
	struct icall *ic = icall_new(s, "POST", VERB_CREATE, group, plural, ns, name, sub, obj, cb, ud);

	if (ic)
		rest_create(&ic->c);
}

void api_internal_delete(struct apiserver *s, const char *group, const char *plural,
			 const char *ns, const char *name, const cJSON *opts,
			 api_internal_cb cb, void *ud)
{
	struct icall *ic = icall_new(s, "DELETE", VERB_DELETE, group, plural, ns, name, "", opts,
				     cb, ud);

	if (ic)
		rest_delete(&ic->c);
}
