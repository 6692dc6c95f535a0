/*
 * images/registry_config.c - registries.yaml (k3s format: mirrors and
 * configs) and the endpoint list of a pull, with credentials from it and
 * from imagePullSecrets.
 */
#include "registry_int.h"
#include "lib/json.h"
#include "lib/util.h"
#include "lib/yaml.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <stdlib.h>
#include <string.h>

#define REG_MAX_FILE (1u << 20)

struct img_registries {
	cJSON *doc;	/* the parsed file: mirrors and configs */
};

int img_registries_load(const char *path, struct img_registries **out, char **err)
{
	char *text = NULL;
	size_t n = 0;
	int r;

	*err = NULL;
	*out = xcalloc(1, sizeof(**out));
	r = read_file(path, REG_MAX_FILE, &text, &n);
	if (r == -ENOENT) {
		(*out)->doc = cJSON_CreateObject();
		return 0;
	}
	if (r < 0) {
		*err = xasprintf("cannot read '%s': %s", path, strerror(-r));
		return r;
	}
	r = yaml_load(text, n, YAML_TYPED, &(*out)->doc, err);
	if (r) {
		char *e = xasprintf("'%s': %s", path, *err);

		free(*err);
		*err = e;
	} else if (!cJSON_IsObject((*out)->doc) && !cJSON_IsNull((*out)->doc)) {
		*err = xasprintf("'%s': not a mapping", path);
		r = -EINVAL;
	}
	free(text);
	return r;
}

void img_registries_free(struct img_registries *r)
{
	if (!r)
		return;
	cJSON_Delete(r->doc);
	free(r);
}

char *reg__host_key(const char *s)
{
	const char *p = strstr(s, "://");
	char *h = xstrdup(p ? p + 3 : s), *slash = strchr(h, '/');

	if (slash)
		*slash = '\0';
	if (!strcmp(h, "index.docker.io") || !strcmp(h, "registry-1.docker.io")) {
		free(h);
		h = xstrdup("docker.io");
	}
	return h;
}

static void auth_release(struct reg_auth *a)
{
	free(a->user);
	free(a->pass);
	memset(a, 0, sizeof(*a));
}

/* Fills a from {"auth": base64("u:p")} or {"username","password"}; true if any. */
static bool auth_from(const cJSON *o, struct reg_auth *a)
{
	const char *b64 = json_get_str(o, "auth", NULL);
	unsigned char dec[1024];
	size_t n = 0;

	if (b64 && *b64 && !mbedtls_base64_decode(dec, sizeof(dec) - 1, &n,
						   (const unsigned char *)b64, strlen(b64))) {
		char *colon;

		dec[n] = '\0';
		colon = strchr((char *)dec, ':');
		if (colon) {
			*colon = '\0';
			a->user = xstrdup((char *)dec);
			a->pass = xstrdup(colon + 1);
		}
	}
	if (!a->user && json_get_str(o, "username", NULL)) {
		a->user = xstrdup(json_get_str(o, "username", ""));
		a->pass = xstrdup(json_get_str(o, "password", ""));
	}
	return a->user;
}

/* The auths entry whose key names host (any scheme or path), or NULL. */
static const cJSON *auths_find(const cJSON *auths, const char *host)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, auths) {
		char *k = reg__host_key(it->string ? it->string : "");
		bool hit = !strcmp(k, host);

		free(k);
		if (hit)
			return it;
	}
	return NULL;
}

static void endpoint_add(const struct img_registries *r, const cJSON *auths,
			 const char *registry, const char *url, struct reg_endpoint *e)
{
	const char *p = strstr(url, "://");
	const cJSON *cfg;
	char *key;
	size_t len;

	e->plain = p && !strncmp(url, "http://", 7);
	e->host = xstrdup(p ? p + 3 : url);
	len = strcspn(e->host, "/");
	e->host[len] = '\0';
	e->base = xasprintf("%s://%s", e->plain ? "http" : "https", e->host);
	cfg = json_get(json_get(r ? r->doc : NULL, "configs"), e->host);
	e->insecure = json_get_bool(json_get(cfg, "tls"), "insecure_skip_verify", false);
	if (json_get_str(json_get(cfg, "tls"), "ca_file", NULL))
		e->ca_file = xstrdup(json_get_str(json_get(cfg, "tls"), "ca_file", ""));
	/* Kubelet keys pull secrets by the image's registry; also the mirror's host. */
	key = reg__host_key(e->host);
	if (!auth_from(auths_find(auths, registry), &e->auth) &&
	    !auth_from(auths_find(auths, key), &e->auth))
		auth_from(json_get(cfg, "auth"), &e->auth);
	free(key);
}

int reg__endpoints(const struct img_registries *r, const cJSON *auths, const char *registry,
		   struct reg_endpoint **out, size_t *n)
{
	const cJSON *mirrors = json_get(r ? r->doc : NULL, "mirrors"), *m, *it;
	char *self;

	m = json_get(mirrors, registry);
	if (!m)
		m = json_get(mirrors, "*");
	*out = xcalloc(IMG_MAX_ENDPOINTS + 1, sizeof(**out));
	*n = 0;
	self = xstrdup(strcmp(registry, "docker.io") ? registry : "registry-1.docker.io");
	cJSON_ArrayForEach(it, json_get(m, "endpoint")) {
		if (!cJSON_IsString(it) || *n == IMG_MAX_ENDPOINTS)
			continue;
		endpoint_add(r, auths, registry, it->valuestring, &(*out)[*n]);
		if (!strcmp((*out)[(*n)++].host, self)) {	/* the registry itself */
			free(self);
			self = NULL;
		}
	}
	if (self)
		endpoint_add(r, auths, registry, self, &(*out)[(*n)++]);
	free(self);
	return 0;
}

void reg__endpoints_free(struct reg_endpoint *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].base);
		free(e[i].host);
		free(e[i].ca_file);
		auth_release(&e[i].auth);
	}
	free(e);
}
