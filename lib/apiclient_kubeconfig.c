/*
 * lib/apiclient_kubeconfig.c - kubeconfig files for the API client.
 * lib/yaml turns the document into a cJSON tree (scalars as strings) and
 * the fields are read from there.
 */
#include "apiclient.h"
#include "json.h"
#include "util.h"
#include "yaml.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>
#include <stdlib.h>
#include <string.h>

static void json_wipe(cJSON *o)
{
	for (; o; o = o->next) {
		if (o->valuestring)
			mbedtls_platform_zeroize(o->valuestring, strlen(o->valuestring));
		json_wipe(o->child);
	}
}

/* The entry of list (array of {name, key: {...}}) named name, or the first. */
static const cJSON *named(const cJSON *list, const char *name, const char *key)
{
	const cJSON *e, *first = NULL;

	cJSON_ArrayForEach(e, list) {
		if (!first)
			first = e;
		if (name && !strcmp(json_get_str(e, "name", ""), name))
			return json_get(e, key);
	}
	return first && !name ? json_get(first, key) : NULL;
}

static int b64_field(const cJSON *o, const char *key, char **out)
{
	const char *s = json_get_str(o, key, NULL);
	size_t n = 0, len;
	unsigned char *d;

	*out = NULL;
	if (!s)
		return 0;
	len = strlen(s);
	mbedtls_base64_decode(NULL, 0, &n, (const unsigned char *)s, len);
	d = xmalloc(n + 1);
	if (mbedtls_base64_decode(d, n + 1, &n, (const unsigned char *)s, len)) {
		free(d);
		return -EINVAL;
	}
	d[n] = 0;
	*out = (char *)d;
	return 0;
}

static int kc_from_json(const cJSON *root, struct api_kubeconfig *kc, char **err)
{
	const char *cur = json_get_str(root, "current-context", NULL);
	const cJSON *ctx = named(json_get(root, "contexts"), cur && *cur ? cur : NULL, "context");
	const char *cname = ctx ? json_get_str(ctx, "cluster", NULL) : NULL;
	const char *uname = ctx ? json_get_str(ctx, "user", NULL) : NULL;
	const cJSON *cl = named(json_get(root, "clusters"), cname, "cluster");
	const cJSON *us = named(json_get(root, "users"), uname, "user");
	const char *server = cl ? json_get_str(cl, "server", NULL) : NULL;

	if (!server) {
		*err = xstrdup("kubeconfig has no cluster server");
		return -EINVAL;
	}
	kc->server = xstrdup(server);
	kc->insecure = !strcmp(json_get_str(cl, "insecure-skip-tls-verify", ""), "true");
	if (b64_field(cl, "certificate-authority-data", &kc->ca_pem) ||
	    (us && b64_field(us, "client-certificate-data", &kc->cert_pem)) ||
	    (us && b64_field(us, "client-key-data", &kc->key_pem))) {
		*err = xstrdup("kubeconfig has invalid base64 data");
		return -EINVAL;
	}
	if (us && json_get_str(us, "token", NULL))
		kc->token = xstrdup(json_get_str(us, "token", NULL));
	return 0;
}

int api_kubeconfig_parse(const char *yaml, size_t len, struct api_kubeconfig *kc, char **err)
{
	cJSON *root = NULL;
	char *msg = NULL;
	int ret = -EINVAL;

	memset(kc, 0, sizeof(*kc));
	*err = NULL;
	if (yaml_load(yaml, len, YAML_STRINGS, &root, &msg)) {
		*err = xasprintf("cannot parse kubeconfig: %s", msg);
		free(msg);
		return -EINVAL;
	}
	if (!root || !cJSON_IsObject(root))
		*err = xstrdup("kubeconfig is not a mapping");
	else
		ret = kc_from_json(root, kc, err);
	if (ret)
		api_kubeconfig_release(kc);
	/* The tree held the key too: wipe its strings before freeing. */
	json_wipe(root);
	cJSON_Delete(root);
	return ret;
}

int api_kubeconfig_load(const char *path, struct api_kubeconfig *kc, char **err)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	memset(kc, 0, sizeof(*kc));
	r = read_file(path, API_KUBECONFIG_MAX_BYTES, &data, &len);
	if (r) {
		*err = xasprintf("cannot read kubeconfig '%s': %s", path, strerror(-r));
		return r;
	}
	r = api_kubeconfig_parse(data, len, kc, err);
	mbedtls_platform_zeroize(data, len);
	free(data);
	return r;
}

static void free_secret(char *s)
{
	if (s) {
		mbedtls_platform_zeroize(s, strlen(s));
		free(s);
	}
}

void api_kubeconfig_release(struct api_kubeconfig *kc)
{
	free(kc->server);
	free(kc->ca_pem);
	free(kc->cert_pem);
	free_secret(kc->key_pem);
	free_secret(kc->token);
	memset(kc, 0, sizeof(*kc));
}
