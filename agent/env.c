/*
 * agent/env.c - a container's environment as the kubelet builds it:
 * service link variables, envFrom (configMap/secret with prefix), env with
 * $(VAR) expansion and valueFrom, merged over the image's Env.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/vol_int.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/util.h"

/* An ordered name -> value list; set() replaces in place. */
struct kv {
	char **k, **v;
	size_t n, alloc, valloc;
};

static ssize_t kv_find(const struct kv *l, const char *k, size_t klen)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->k[i]) == klen && !strncmp(l->k[i], k, klen))
			return (ssize_t)i;
	return -1;
}

static const char *kv_get(const struct kv *l, const char *k)
{
	ssize_t i = kv_find(l, k, strlen(k));

	return i < 0 ? NULL : l->v[i];
}

static int kv_set(struct kv *l, const char *k, size_t klen, char *v /* taken */)
{
	ssize_t i = kv_find(l, k, klen);

	if (i >= 0) {
		free(l->v[i]);
		l->v[i] = v;
		return 0;
	}
	if (l->n >= VOL_ENV_MAX) {
		free(v);
		return -E2BIG;
	}
	ALLOC_GROW(l->k, l->n + 1, l->alloc);
	ALLOC_GROW(l->v, l->n + 1, l->valloc);
	l->k[l->n] = xstrndup(k, klen);
	l->v[l->n++] = v;
	return 0;
}

static void kv_release(struct kv *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->k[i]);
		free(l->v[i]);
	}
	free(l->k);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

char *vol__expand(const char *in, const char *(*lookup)(const char *name, void *ud), void *ud)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, "");
	for (const char *p = in; *p; p++) {
		const char *close;

		if (*p != '$' || !p[1]) {
			buf_addch(&b, *p);
			continue;
		}
		if (p[1] == '$') {
			buf_addch(&b, '$');
			p++;
		} else if (p[1] == '(' && (close = strchr(p + 2, ')'))) {
			char *name = xstrndup(p + 2, (size_t)(close - p - 2));
			const char *v = lookup(name, ud);

			if (v)
				buf_addstr(&b, v);
			else
				buf_addf(&b, "$(%s)", name);
			free(name);
			p = close;
		} else {
			buf_addch(&b, '$');	/* "$(" unclosed or "$x": kept as is */
		}
	}
	return buf_detach(&b, NULL);
}

/* ---- service links ---- */

struct svc_list {
	const cJSON **s;
	size_t n, alloc;
	const char *ns;
	bool links;
};

static void svc_collect(const cJSON *svc, void *ud)
{
	struct svc_list *l = ud;
	const char *ns = json_get_str(json_get(svc, "metadata"), "namespace", "");
	const char *name = json_get_str(json_get(svc, "metadata"), "name", "");
	const char *ip = json_get_str(json_get(svc, "spec"), "clusterIP", "");
	bool master = !strcmp(ns, "default") && !strcmp(name, "kubernetes");

	if (!*ip || !strcmp(ip, "None"))
		return;
	if (!(master || (l->links && !strcmp(ns, l->ns))))
		return;
	for (size_t i = 0; i < l->n; i++) {	/* the pod's own "kubernetes" wins */
		const cJSON *o = l->s[i];

		if (!strcmp(json_get_str(json_get(o, "metadata"), "name", ""), name)) {
			if (master)
				return;
			l->s[i] = svc;
			return;
		}
	}
	ALLOC_GROW(l->s, l->n + 1, l->alloc);
	l->s[l->n++] = svc;
}

static int cmp_svc(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(json_get_str(json_get(x, "metadata"), "name", ""),
		      json_get_str(json_get(y, "metadata"), "name", ""));
}

static void env_add(char ***list, size_t *n, size_t *alloc, char *kv)
{
	ALLOC_GROW(*list, *n + 1, *alloc);
	(*list)[(*n)++] = kv;
}

static char *env_prefix(const char *s)
{
	char *p = xstrdup(s);

	for (char *c = p; *c; c++)
		*c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
	return p;
}

static void one_service(const cJSON *svc, char ***list, size_t *n, size_t *alloc)
{
	const cJSON *spec = json_get(svc, "spec"), *port;
	const char *ip = json_get_str(spec, "clusterIP", "");
	char *pre = env_prefix(json_get_str(json_get(svc, "metadata"), "name", ""));
	bool v6 = strchr(ip, ':') != NULL;
	int i = 0;

	env_add(list, n, alloc, xasprintf("%s_SERVICE_HOST=%s", pre, ip));
	cJSON_ArrayForEach(port, json_get(spec, "ports")) {
		long long p = (long long)json_get_int(port, "port", 0);
		const char *pname = json_get_str(port, "name", "");
		char *proto = env_prefix(json_get_str(port, "protocol", "TCP")), *lproto;
		char *url;

		lproto = xstrdup(proto);
		for (char *c = lproto; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		url = xasprintf(v6 ? "%s://[%s]:%lld" : "%s://%s:%lld", lproto, ip, p);
		if (i == 0) {
			env_add(list, n, alloc, xasprintf("%s_SERVICE_PORT=%lld", pre, p));
			env_add(list, n, alloc, xasprintf("%s_PORT=%s", pre, url));
		}
		if (*pname) {
			char *up = env_prefix(pname);

			env_add(list, n, alloc, xasprintf("%s_SERVICE_PORT_%s=%lld", pre, up, p));
			free(up);
		}
		env_add(list, n, alloc, xasprintf("%s_PORT_%lld_%s=%s", pre, p, proto, url));
		env_add(list, n, alloc, xasprintf("%s_PORT_%lld_%s_PROTO=%s", pre, p, proto, lproto));
		env_add(list, n, alloc, xasprintf("%s_PORT_%lld_%s_PORT=%lld", pre, p, proto, p));
		env_add(list, n, alloc, xasprintf("%s_PORT_%lld_%s_ADDR=%s", pre, p, proto, ip));
		free(url);
		free(proto);
		free(lproto);
		i++;
	}
	free(pre);
}

void vol__service_env(struct vol_manager *m, const char *ns, bool service_links,
		      char ***list, size_t *n, size_t *alloc)
{
	struct svc_list l = { .ns = ns, .links = service_links };
	const cJSON *e;

	if (m->inf[VOL_SERVICE])
		api_informer_foreach(m->inf[VOL_SERVICE], svc_collect, &l);
	cJSON_ArrayForEach(e, m->fake[VOL_SERVICE])
		svc_collect(e, &l);
	if (l.n)
		qsort(l.s, l.n, sizeof(*l.s), cmp_svc);
	for (size_t i = 0; i < l.n; i++)
		one_service(l.s[i], list, n, alloc);
	free(l.s);
}

/* ---- the container's environment ---- */

struct env_ctx {
	struct vol_manager *m;
	const cJSON *pod, *ctr;
	const char *ns;
	struct kv vars;		/* env + envFrom, in order */
	struct kv svc;		/* service links */
	char **err;
};

static const char *ctx_lookup(const char *name, void *ud)
{
	struct env_ctx *c = ud;
	const char *v = kv_get(&c->vars, name);

	return v ? v : kv_get(&c->svc, name);
}

/* Looks up a configMap/secret for env; optional absent gives *obj NULL. */
static int env_object(struct env_ctx *c, enum vol_kind k, const char *name, bool optional,
		      const cJSON **obj)
{
	int ret = vol__lookup(c->m, k, c->ns, name, obj);

	if (ret == -EAGAIN) {
		*c->err = xasprintf("%s \"%s\" is not known yet", vol__kind_name(k), name);
	} else if (ret) {
		*obj = NULL;
		if (optional)
			return 0;
		*c->err = xasprintf("%s \"%s\" not found", vol__kind_name(k), name);
	}
	return ret;
}

struct from_ctx {
	struct env_ctx *c;
	const char *prefix;
};

static int from_key(const char *key, const char *val, size_t len, void *ud)
{
	struct from_ctx *f = ud;
	char *name;
	int ret;

	if (!*key || strchr(key, '='))
		return 0;	/* not a variable name: skipped, as upstream */
	name = xasprintf("%s%s", f->prefix, key);
	ret = kv_set(&f->c->vars, name, strlen(name), xstrndup(val, len));
	free(name);
	return ret;
}

static int env_from(struct env_ctx *c)
{
	const cJSON *src;

	cJSON_ArrayForEach(src, json_get(c->ctr, "envFrom")) {
		const cJSON *cm = json_get(src, "configMapRef"), *sec = json_get(src, "secretRef");
		const cJSON *ref = cm ? cm : sec, *obj;
		enum vol_kind k = cm ? VOL_CONFIGMAP : VOL_SECRET;
		struct from_ctx f = { c, json_get_str(src, "prefix", "") };
		int ret;

		if (!ref)
			continue;
		ret = env_object(c, k, json_get_str(ref, "name", ""),
				 json_get_bool(ref, "optional", false), &obj);
		if (ret)
			return ret;
		if (obj && (ret = vol__obj_foreach(k, obj, from_key, &f)))
			return ret;
	}
	return 0;
}

static int key_ref(struct env_ctx *c, enum vol_kind k, const cJSON *ref, char **out)
{
	const char *name = json_get_str(ref, "name", ""), *key = json_get_str(ref, "key", "");
	bool optional = json_get_bool(ref, "optional", false);
	const cJSON *obj;
	size_t len;
	int ret = env_object(c, k, name, optional, &obj);

	if (ret || !obj)
		return ret;
	if (!vol__obj_value(k, obj, key, out, &len))
		return 0;
	if (optional)
		return 0;
	*c->err = xasprintf("couldn't find key %s in %s %s/%s", key,
			    k == VOL_SECRET ? "Secret" : "ConfigMap", c->ns, name);
	return -ENOENT;
}

static int env_one(struct env_ctx *c, const cJSON *e)
{
	const char *name = json_get_str(e, "name", "");
	const cJSON *vf = json_get(e, "valueFrom"), *r;
	char *val = NULL;
	int ret = 0;

	if (!*name)
		return 0;
	if (!vf)
		val = vol__expand(json_get_str(e, "value", ""), ctx_lookup, c);
	else if ((r = json_get(vf, "fieldRef")))
		ret = vol__field_value(c->pod, json_get_str(r, "fieldPath", ""), true, &val, c->err);
	else if ((r = json_get(vf, "resourceFieldRef")))
		ret = vol__resource_value(c->pod, c->ctr, r, c->m, &val, c->err);
	else if ((r = json_get(vf, "configMapKeyRef")))
		ret = key_ref(c, VOL_CONFIGMAP, r, &val);
	else if ((r = json_get(vf, "secretKeyRef")))
		ret = key_ref(c, VOL_SECRET, r, &val);
	if (ret)
		return ret;
	if (vf && !val)
		return 0;	/* optional and absent: the variable is not set */
	return kv_set(&c->vars, name, strlen(name), val ? val : xstrdup(""));
}

/* Packs list into one block: pointers, then the strings. */
static char **pack(const struct kv *l)
{
	size_t size = (l->n + 1) * sizeof(char *);
	char **out, *s;

	for (size_t i = 0; i < l->n; i++)
		size += strlen(l->k[i]) + strlen(l->v[i]) + 2;
	out = xmalloc(size);
	s = (char *)(out + l->n + 1);
	for (size_t i = 0; i < l->n; i++) {
		out[i] = s;
		s += sprintf(s, "%s=%s", l->k[i], l->v[i]) + 1;
	}
	out[l->n] = NULL;
	return out;
}

static int kv_set_pair(struct kv *l, const char *pair)
{
	const char *eq = strchr(pair, '=');

	if (!eq)
		return kv_set(l, pair, strlen(pair), xstrdup(""));
	return kv_set(l, pair, (size_t)(eq - pair), xstrdup(eq + 1));
}

int vol_container_env(struct vol_manager *m, const cJSON *pod, const cJSON *container,
		      const char *const *image_env, char ***env, char **err)
{
	struct env_ctx c = { .m = m, .pod = pod, .ctr = container, .err = err };
	struct kv out = { 0 };
	char **svc = NULL;
	size_t nsvc = 0, asvc = 0;
	const cJSON *e;
	int ret = 0;

	*env = NULL;
	*err = NULL;
	c.ns = json_get_str(json_get(pod, "metadata"), "namespace", "default");
	vol__service_env(m, c.ns, json_get_bool(json_get(pod, "spec"), "enableServiceLinks", true),
			 &svc, &nsvc, &asvc);
	for (size_t i = 0; i < nsvc && !ret; i++)
		ret = kv_set_pair(&c.svc, svc[i]);
	if (!ret)
		ret = env_from(&c);
	cJSON_ArrayForEach(e, json_get(container, "env")) {
		if (ret)
			break;
		ret = env_one(&c, e);
	}
	for (size_t i = 0; image_env && image_env[i] && !ret; i++)
		ret = kv_set_pair(&out, image_env[i]);
	for (size_t i = 0; i < c.vars.n && !ret; i++)
		ret = kv_set(&out, c.vars.k[i], strlen(c.vars.k[i]), xstrdup(c.vars.v[i]));
	for (size_t i = 0; i < c.svc.n && !ret; i++)
		if (!kv_get(&c.vars, c.svc.k[i]))
			ret = kv_set(&out, c.svc.k[i], strlen(c.svc.k[i]), xstrdup(c.svc.v[i]));
	if (ret == -E2BIG && !*err)
		*err = xasprintf("more than %d environment variables", VOL_ENV_MAX);
	if (!ret)
		*env = pack(&out);
	for (size_t i = 0; i < nsvc; i++)
		free(svc[i]);
	free(svc);
	kv_release(&c.vars);
	kv_release(&c.svc);
	kv_release(&out);
	return ret;
}
