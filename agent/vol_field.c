/*
 * agent/vol_field.c - the downward API: fieldRef paths and resourceFieldRef
 * values, rendered as the kubelet renders them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/vol_int.h"
#include "lib/json.h"
#include "lib/quantity.h"
#include "lib/util.h"

void vol__go_quote(struct buf *b, const char *s)
{
	static const char esc[] = "\a\b\f\n\r\t\v";
	static const char let[] = "abfnrtv";

	buf_addch(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const char *e = *p ? strchr(esc, *p) : NULL;

		if (*p == '"' || *p == '\\')
			buf_addf(b, "\\%c", *p);
		else if (e)
			buf_addf(b, "\\%c", let[e - esc]);
		else if (*p < 0x20 || *p == 0x7f)
			buf_addf(b, "\\x%02x", *p);
		else
			buf_addch(b, (char)*p);
	}
	buf_addch(b, '"');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* key="value" lines, sorted by key, no trailing newline (FormatMap). */
static char *format_map(const cJSON *map)
{
	size_t n = 0, i = 0;
	const cJSON *e;
	const char **keys;
	struct buf b = BUF_INIT;

	cJSON_ArrayForEach(e, map)
		n++;
	keys = xcalloc(n + 1, sizeof(*keys));
	cJSON_ArrayForEach(e, map)
		keys[i++] = e->string;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++) {
		const cJSON *v = json_get(map, keys[i]);

		if (i)
			buf_addch(&b, '\n');
		buf_addf(&b, "%s=", keys[i]);
		vol__go_quote(&b, cJSON_IsString(v) ? v->valuestring : "");
	}
	free(keys);
	buf_addstr(&b, "");
	return buf_detach(&b, NULL);
}

/* "metadata.labels['key']" -> key (malloc'd), or NULL. */
static char *subscript(const char *path, const char *prefix)
{
	size_t n = strlen(prefix), len = strlen(path);

	if (strncmp(path, prefix, n) || len < n + 4 || path[n] != '[' || path[len - 1] != ']')
		return NULL;
	if (path[n + 1] != '\'' || path[len - 2] != '\'' || len < n + 4)
		return NULL;
	return xstrndup(path + n + 2, len - n - 4);
}

/* Joins the "ip" of each element of list, or falls back to one. */
static char *join_ips(const cJSON *list, const char *one)
{
	struct buf b = BUF_INIT;
	const cJSON *e;

	cJSON_ArrayForEach(e, list) {
		const char *ip = json_get_str(e, "ip", NULL);

		if (!ip)
			continue;
		if (b.len)
			buf_addch(&b, ',');
		buf_addstr(&b, ip);
	}
	if (!b.len)
		buf_addstr(&b, one ? one : "");
	return buf_detach(&b, NULL);
}

/* Plain string fields: path, where in the pod, env only. */
static const struct {
	const char *path;
	const char *json;
	bool env_only;
} plain_fields[] = {
	{ "metadata.name", "metadata.name", false },
	{ "metadata.namespace", "metadata.namespace", false },
	{ "metadata.uid", "metadata.uid", false },
	{ "spec.nodeName", "spec.nodeName", true },
	{ "spec.serviceAccountName", "spec.serviceAccountName", true },
	{ "status.hostIP", "status.hostIP", true },
	{ "status.podIP", "status.podIP", true },
};

int vol__field_value(const cJSON *pod, const char *path, bool for_env, char **out, char **err)
{
	const cJSON *md = json_get(pod, "metadata"), *st = json_get(pod, "status");
	char *key;

	*out = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(plain_fields); i++) {
		const cJSON *v;

		if (strcmp(path, plain_fields[i].path) || (plain_fields[i].env_only && !for_env))
			continue;
		v = json_path(pod, plain_fields[i].json);
		*out = xstrdup(cJSON_IsString(v) ? v->valuestring : "");
		return 0;
	}
	if (for_env && !strcmp(path, "status.podIPs")) {
		*out = join_ips(json_get(st, "podIPs"), json_get_str(st, "podIP", ""));
		return 0;
	}
	if (for_env && !strcmp(path, "status.hostIPs")) {
		*out = join_ips(json_get(st, "hostIPs"), json_get_str(st, "hostIP", ""));
		return 0;
	}
	if (!for_env && !strcmp(path, "metadata.labels")) {
		*out = format_map(json_get(md, "labels"));
		return 0;
	}
	if (!for_env && !strcmp(path, "metadata.annotations")) {
		*out = format_map(json_get(md, "annotations"));
		return 0;
	}
	static const char *const maps[] = { "labels", "annotations" };
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "metadata.%s", maps[i]);
		key = subscript(path, prefix);
		if (!key)
			continue;
		*out = xstrdup(json_get_str(json_get(md, maps[i]), key, ""));
		free(key);
		return 0;
	}
	*err = xasprintf("unsupported fieldRef fieldPath \"%s\"", path);
	return -EINVAL;
}

static const cJSON *find_container(const cJSON *pod, const char *name)
{
	static const char *const lists[] = { "containers", "initContainers" };
	const cJSON *c;

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		cJSON_ArrayForEach(c, json_get(json_get(pod, "spec"), lists[i]))
			if (!strcmp(json_get_str(c, "name", ""), name))
				return c;
	return NULL;
}

/* ceil(a / b) for a >= 0, b > 0. */
static int64_t ceil_div(int64_t a, int64_t b)
{
	return a / b + (a % b != 0 && a > 0);
}

int vol__resource_value(const cJSON *pod, const cJSON *container, const cJSON *ref,
			const struct vol_manager *m, char **out, char **err)
{
	const char *res = json_get_str(ref, "resource", ""), *dot = strchr(res, '.');
	const char *cname = json_get_str(ref, "containerName", "");
	const cJSON *dv = json_get(ref, "divisor"), *qv;
	struct quantity q, div;
	const char *qerr;
	bool cpu, limit;
	int64_t v;

	*out = NULL;
	if (!container)
		container = find_container(pod, cname);
	if (!container) {
		*err = xasprintf("resourceFieldRef: container \"%s\" not found", cname);
		return -EINVAL;
	}
	if (!dot || (strncmp(res, "limits.", 7) && strncmp(res, "requests.", 9))) {
		*err = xasprintf("unsupported resourceFieldRef resource \"%s\"", res);
		return -EINVAL;
	}
	limit = res[0] == 'l';
	cpu = !strcmp(dot + 1, "cpu");
	if (!dv || quantity_from_json(dv, &div, &qerr))
		quantity_init(&div, 1, 0, QUANTITY_DECIMAL_SI);
	qv = json_get(json_get(json_get(container, "resources"), limit ? "limits" : "requests"),
		      dot + 1);
	if (qv && quantity_from_json(qv, &q, &qerr)) {
		*err = xasprintf("resourceFieldRef \"%s\": %s", res, qerr);
		return -EINVAL;
	}
	if (!qv) {	/* unset limits default to the node's allocatable */
		int64_t alloc = 0;

		if (limit && cpu)
			alloc = m ? m->alloc_cpu_milli : 0;
		else if (limit && !strcmp(dot + 1, "memory"))
			alloc = m ? m->alloc_mem : 0;
		else if (limit && !strcmp(dot + 1, "ephemeral-storage"))
			alloc = m ? m->alloc_eph : 0;
		quantity_init(&q, alloc, cpu ? -3 : 0, QUANTITY_DECIMAL_SI);
	}
	if (cpu) {
		int64_t d = quantity_milli_value(&div);

		if (d <= 0)
			goto bad_div;
		v = ceil_div(quantity_milli_value(&q), d);
	} else {
		int64_t d = quantity_value(&div);

		if (d <= 0)
			goto bad_div;
		v = ceil_div(quantity_value(&q), d);
	}
	*out = xasprintf("%lld", (long long)v);
	return 0;
bad_div:
	*err = xasprintf("resourceFieldRef \"%s\": invalid divisor", res);
	return -EINVAL;
}

static void set_ips(cJSON *st, const char *one, const char *many, const char *const *ips, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++) {
		cJSON *e;

		if (!ips[i] || !*ips[i])
			continue;
		if (!cJSON_GetArraySize(arr))
			json_set_str(st, one, ips[i]);
		e = cJSON_CreateObject();
		json_set_str(e, "ip", ips[i]);
		cJSON_AddItemToArray(arr, e);
	}
	if (cJSON_GetArraySize(arr))
		json_set(st, many, arr);
	else
		cJSON_Delete(arr);
}

cJSON *vol_pod_with_ips(const cJSON *pod, const char *const *pod_ips, size_t n_pod,
			const char *const *host_ips, size_t n_host)
{
	cJSON *copy = cJSON_Duplicate(pod, true), *st;

	if (!copy)
		copy = cJSON_CreateObject();
	st = json_obj(copy, "status");
	set_ips(st, "podIP", "podIPs", pod_ips, n_pod);
	set_ips(st, "hostIP", "hostIPs", host_ips, n_host);
	return copy;
}
