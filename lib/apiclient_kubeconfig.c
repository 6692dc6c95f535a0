/*
 * lib/apiclient_kubeconfig.c - kubeconfig files for the API client.
 * libyaml loads the document; it is turned into a cJSON tree (mappings ->
 * objects, sequences -> arrays, scalars -> strings) and the fields are read
 * from there.
 */
#include "apiclient.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Nesting accepted in a kubeconfig document. */
#define KC_MAX_DEPTH 32

static cJSON *yaml_to_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	cJSON *o;

	if (!n || depth > KC_MAX_DEPTH)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return cJSON_CreateString((const char *)n->data.scalar.value);
	case YAML_SEQUENCE_NODE:
		o = cJSON_CreateArray();
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++) {
			cJSON *c = yaml_to_json(doc, yaml_document_get_node(doc, *i), depth + 1);

			if (c)
				cJSON_AddItemToArray(o, c);
		}
		return o;
	case YAML_MAPPING_NODE:
		o = cJSON_CreateObject();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			cJSON *v;

			if (!k || k->type != YAML_SCALAR_NODE)
				continue;
			v = yaml_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1);
			if (v)
				json_set(o, (const char *)k->data.scalar.value, v);
		}
		return o;
	default:
		return NULL;
	}
}

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
	yaml_parser_t p;
	yaml_document_t doc;
	cJSON *root = NULL;
	int ret = -EINVAL;

	memset(kc, 0, sizeof(*kc));
	*err = NULL;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&p, &doc)) {
		*err = xasprintf("cannot parse kubeconfig: %s at line %zu",
				 p.problem ? p.problem : "error", p.problem_mark.line + 1);
		yaml_parser_delete(&p);
		return -EINVAL;
	}
	root = yaml_to_json(&doc, yaml_document_get_root_node(&doc), 0);
	if (!root || !cJSON_IsObject(root))
		*err = xstrdup("kubeconfig is not a mapping");
	else
		ret = kc_from_json(root, kc, err);
	if (ret)
		api_kubeconfig_release(kc);
	/* The tree held the key too: wipe its strings before freeing. */
	json_wipe(root);
	cJSON_Delete(root);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
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
