#include "reviews.h"
#include "apiserver.h"
#include "authn.h"
#include "lib/json.h"
#include "lib/util.h"

#include <string.h>

static void answer(struct api_call *c, cJSON *body)
{
	char *av = xasprintf("%s/%s", c->res->group, c->res->version);

	json_set_str(body, "apiVersion", av);
	json_set_str(body, "kind", c->res->kind);
	json_obj(body, "metadata");
	api_respond_json(c, 201, body);
	free(av);
}

static cJSON *user_info(const struct authn_identity *id)
{
	cJSON *u = cJSON_CreateObject(), *g = cJSON_CreateArray();

	json_set_str(u, "username", id->user);
	if (id->uid && *id->uid)
		json_set_str(u, "uid", id->uid);
	for (size_t i = 0; i < id->n_groups; i++)
		cJSON_AddItemToArray(g, cJSON_CreateString(id->groups[i]));
	json_set(u, "groups", g);
	return u;
}

static void self_review(struct api_call *c, cJSON *body)
{
	json_set(json_obj(body, "status"), "userInfo", user_info(&c->id));
	answer(c, body);
}

static void token_review(struct api_call *c, cJSON *body)
{
	const char *tok = json_get_str(json_get(body, "spec"), "token", "");
	struct authn_identity id = { 0 };
	cJSON *st = json_obj(body, "status");
	char *hdr = xasprintf("Bearer %s", tok);
	struct authn_request ar = { .authorization = hdr };

	if (*tok && !authn_authenticate(&c->srv->authn, &ar, &id) && id.user &&
	    strcmp(id.user, AUTHN_USER_ANONYMOUS)) {
		json_set_bool(st, "authenticated", true);
		json_set(st, "user", user_info(&id));
	} else {
		json_set_bool(st, "authenticated", false);
	}
	authn_identity_release(&id);
	free(hdr);
	answer(c, body);
}

/* Decides spec.resourceAttributes / nonResourceAttributes for id. */
static void decide(struct api_call *c, const struct authn_identity *id, cJSON *body)
{
	const cJSON *spec = json_get(body, "spec"), *ra = json_get(spec, "resourceAttributes");
	const cJSON *nra = json_get(spec, "nonResourceAttributes");
	struct authz_attrs a = { 0 };
	cJSON *st = json_obj(body, "status");
	bool allowed;

	if (ra) {
		a.verb = json_get_str(ra, "verb", "");
		a.group = json_get_str(ra, "group", "");
		a.version = json_get_str(ra, "version", "");
		a.resource = json_get_str(ra, "resource", "");
		a.subresource = json_get_str(ra, "subresource", "");
		a.namespace = c->res->namespaced ? c->route.ns : json_get_str(ra, "namespace", "");
		a.name = json_get_str(ra, "name", "");
	} else {
		a.verb = json_get_str(nra, "verb", "");
		a.path = json_get_str(nra, "path", "");
	}
	allowed = authz_allowed(id, &a);
	json_set_bool(st, "allowed", allowed);
	if (!allowed)
		json_set_str(st, "reason", "");
}

static void self_access(struct api_call *c, cJSON *body)
{
	decide(c, &c->id, body);
	answer(c, body);
}

/* SubjectAccessReview and its namespaced form: the subject is in the spec. */
static void subject_access(struct api_call *c, cJSON *body)
{
	const cJSON *spec = json_get(body, "spec"), *g;
	struct authn_identity id = { 0 };

	id.user = xstrdup(json_get_str(spec, "user", ""));
	id.uid = xstrdup(json_get_str(spec, "uid", ""));
	cJSON_ArrayForEach(g, json_get(spec, "groups"))
		if (cJSON_IsString(g))
			authn_identity_add_group(&id, g->valuestring);
	decide(c, &id, body);
	authn_identity_release(&id);
	answer(c, body);
}

static void rules(struct api_call *c, cJSON *body)
{
	cJSON *st = json_obj(body, "status"), *rr = cJSON_CreateArray(), *nr = cJSON_CreateArray();
	static const char *const star[] = { "*" };

	if (authn_identity_in_group(&c->id, AUTHN_GROUP_MASTERS)) {
		cJSON *r = cJSON_CreateObject(), *n = cJSON_CreateObject();

		json_set(r, "verbs", cJSON_CreateStringArray(star, 1));
		json_set(r, "apiGroups", cJSON_CreateStringArray(star, 1));
		json_set(r, "resources", cJSON_CreateStringArray(star, 1));
		cJSON_AddItemToArray(rr, r);
		json_set(n, "verbs", cJSON_CreateStringArray(star, 1));
		json_set(n, "nonResourceURLs", cJSON_CreateStringArray(star, 1));
		cJSON_AddItemToArray(nr, n);
	}
	json_set(st, "resourceRules", rr);
	json_set(st, "nonResourceRules", nr);
	json_set_bool(st, "incomplete", false);
	answer(c, body);
}

const struct resource_hooks review_token_hooks = { .answer = token_review };
const struct resource_hooks review_self_hooks = { .answer = self_review };
const struct resource_hooks review_access_hooks = { .answer = subject_access };
const struct resource_hooks review_self_access_hooks = { .answer = self_access };
const struct resource_hooks review_rules_hooks = { .answer = rules };
