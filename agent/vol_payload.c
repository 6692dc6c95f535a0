/*
 * agent/vol_payload.c - the file sets of configMap, secret, downwardAPI and
 * projected volumes: keys or items, paths, modes, optional sources.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/base64.h>

#include "agent/vol_int.h"
#include "lib/json.h"
#include "lib/util.h"

static void wipe_free(char *p, size_t len)
{
	if (p)
		explicit_bzero(p, len);
	free(p);
}

static int b64_decode(const char *s, char **val, size_t *len)
{
	size_t n = 0, sl = strlen(s);
	char *d;

	mbedtls_base64_decode(NULL, 0, &n, (const unsigned char *)s, sl);
	d = xmalloc(n + 1);
	if (mbedtls_base64_decode((unsigned char *)d, n + 1, &n, (const unsigned char *)s, sl)) {
		free(d);
		return -EINVAL;
	}
	d[n] = '\0';
	*val = d;
	*len = n;
	return 0;
}

static int plain(const char *s, char **val, size_t *len)
{
	*len = strlen(s);
	*val = xstrdup(s);
	return 0;
}

/* Where a kind keeps its values: field name and whether it is base64. */
static const struct {
	enum vol_kind kind;
	const char *field;
	bool b64;
} value_fields[] = {
	{ VOL_CONFIGMAP, "data", false },
	{ VOL_CONFIGMAP, "binaryData", true },
	{ VOL_SECRET, "stringData", false },
	{ VOL_SECRET, "data", true },
};

int vol__obj_value(enum vol_kind k, const cJSON *obj, const char *key, char **val, size_t *len)
{
	for (size_t i = 0; i < ARRAY_SIZE(value_fields); i++) {
		const cJSON *v;

		if (value_fields[i].kind != k)
			continue;
		v = json_get(json_get(obj, value_fields[i].field), key);
		if (!cJSON_IsString(v))
			continue;
		return value_fields[i].b64 ? b64_decode(v->valuestring, val, len)
					   : plain(v->valuestring, val, len);
	}
	return -ENOENT;
}

int vol__obj_foreach(enum vol_kind k, const cJSON *obj,
		     int (*fn)(const char *key, const char *val, size_t len, void *ud), void *ud)
{
	for (size_t i = 0; i < ARRAY_SIZE(value_fields); i++) {
		const cJSON *e;

		if (value_fields[i].kind != k)
			continue;
		cJSON_ArrayForEach(e, json_get(obj, value_fields[i].field)) {
			char *val;
			size_t len;
			int ret;

			if (!cJSON_IsString(e) || !e->string)
				continue;
			ret = value_fields[i].b64 ? b64_decode(e->valuestring, &val, &len)
						  : plain(e->valuestring, &val, &len);
			if (ret)
				continue;
			ret = fn(e->string, val, len, ud);
			wipe_free(val, len);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static unsigned item_mode(const cJSON *item, unsigned def_mode)
{
	const cJSON *m = json_get(item, "mode");

	return cJSON_IsNumber(m) ? (unsigned)m->valueint & 07777 : def_mode;
}

struct all_keys {
	struct vol_payload *p;
	unsigned mode;
	const char *what;
	char **err;
};

static int add_key(const char *key, const char *val, size_t len, void *ud)
{
	struct all_keys *a = ud;
	int ret = vol__payload_add(a->p, key, val, len, a->mode);

	if (ret)
		*a->err = xasprintf("%s key \"%s\" is not a valid file name", a->what, key);
	return ret;
}

static int add_items(struct vol_payload *p, enum vol_kind k, const cJSON *obj,
		     const cJSON *items, bool optional, unsigned def_mode, char **err)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, items) {
		const char *key = json_get_str(it, "key", ""), *path = json_get_str(it, "path", "");
		char *val = NULL;
		size_t len;
		int ret;

		if (vol__path_check(path)) {
			*err = xasprintf("invalid item path \"%s\": must be relative and may not contain '..'",
					 path);
			return -EINVAL;
		}
		if (!obj || vol__obj_value(k, obj, key, &val, &len)) {
			if (optional)
				continue;
			*err = xasprintf("%s references non-existent %s key: %s",
					 vol__kind_name(k), k == VOL_SECRET ? "secret" : "config", key);
			return -ENOENT;
		}
		ret = vol__payload_add(p, path, val, len, item_mode(it, def_mode));
		wipe_free(val, len);
		if (ret) {
			*err = xasprintf("too many files in the volume");
			return ret;
		}
	}
	return 0;
}

int vol__payload_object(struct vol_manager *m, struct vol_payload *p, enum vol_kind k,
			const char *ns, const cJSON *src, unsigned def_mode, char **err)
{
	const char *name = json_get_str(src, k == VOL_SECRET ? "secretName" : "name", NULL);
	bool optional = json_get_bool(src, "optional", false);
	const cJSON *items = json_get(src, "items"), *obj = NULL;
	int ret;

	if (!name)
		name = json_get_str(src, "name", "");
	ret = vol__lookup(m, k, ns, name, &obj);
	if (ret == -EAGAIN) {
		*err = xasprintf("%s \"%s\" is not known yet", vol__kind_name(k), name);
		return ret;
	}
	if (ret) {
		if (optional)
			return 0;
		*err = xasprintf("%s \"%s\" not found", vol__kind_name(k), name);
		return -EAGAIN;	/* may be created later: retry */
	}
	if (cJSON_GetArraySize(items) > 0)
		return add_items(p, k, obj, items, optional, def_mode, err);
	struct all_keys a = { p, def_mode, vol__kind_name(k), err };
	return vol__obj_foreach(k, obj, add_key, &a);
}

int vol__payload_downward(struct vol_payload *p, const cJSON *pod, const cJSON *src,
			  unsigned def_mode, const struct vol_manager *m, char **err)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, json_get(src, "items")) {
		const char *path = json_get_str(it, "path", "");
		const cJSON *fr = json_get(it, "fieldRef"), *rr = json_get(it, "resourceFieldRef");
		char *val = NULL;
		int ret;

		if (vol__path_check(path)) {
			*err = xasprintf("invalid item path \"%s\": must be relative and may not contain '..'",
					 path);
			return -EINVAL;
		}
		if (fr)
			ret = vol__field_value(pod, json_get_str(fr, "fieldPath", ""), false, &val, err);
		else if (rr)
			ret = vol__resource_value(pod, NULL, rr, m, &val, err);
		else {
			*err = xasprintf("downwardAPI item \"%s\" has neither fieldRef nor resourceFieldRef",
					 path);
			ret = -EINVAL;
		}
		if (ret)
			return ret;
		ret = vol__payload_add(p, path, val, strlen(val), item_mode(it, def_mode));
		free(val);
		if (ret) {
			*err = xasprintf("too many files in the volume");
			return ret;
		}
	}
	return 0;
}
