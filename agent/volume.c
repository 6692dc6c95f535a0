/*
 * agent/volume.c - the first, minimal volume manager: emptyDir volumes as
 * plain directories, env entries with a plain `value`. Every other volume
 * type and env source is refused with a message (-ENOTSUP). Branch podvol
 * replaces this file with the full implementation behind agent/volume.h.
 */
#include "agent/volume.h"
#include "agent/runtime.h"
#include "lib/json.h"
#include "lib/util.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vol_manager {
	char *pods_dir;
};

int vol_manager_new(struct api_client *c, const char *pods_dir, const char *node_name,
		    struct vol_manager **out)
{
	struct vol_manager *m = xcalloc(1, sizeof(*m));

	(void)c;
	(void)node_name;
	m->pods_dir = xstrdup(pods_dir);
	*out = m;
	return 0;
}

void vol_manager_free(struct vol_manager *m)
{
	if (!m)
		return;
	free(m->pods_dir);
	free(m);
}

static const char *pod_uid(const cJSON *pod)
{
	return json_get_str(json_get(pod, "metadata"), "uid", "");
}

/* The one key of a volume source besides "name" (its type), or "". */
static const char *volume_type(const cJSON *v)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, v)
		if (it->string && strcmp(it->string, "name"))
			return it->string;
	return "";
}

static bool safe_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

int vol_pod_setup(struct vol_manager *m, const cJSON *pod, char **err)
{
	const cJSON *v;
	int ret = 0;

	*err = NULL;
	cJSON_ArrayForEach(v, json_path(pod, "spec.volumes")) {
		const char *name = json_get_str(v, "name", ""), *type = volume_type(v);
		char *dir;

		if (!safe_name(name) || !safe_name(pod_uid(pod))) {
			*err = xasprintf("invalid volume name '%s'", name);
			return -EINVAL;
		}
		if (strcmp(type, "emptyDir")) {
			*err = xasprintf("volume type %s is not supported yet", type);
			return -ENOTSUP;
		}
		dir = xasprintf("%s/%s/volumes/%s", m->pods_dir, pod_uid(pod), name);
		ret = mkdir_p(dir, 0777);
		if (ret)
			*err = xasprintf("cannot create volume '%s': %s", name, strerror(-ret));
		free(dir);
		if (ret)
			break;
	}
	return ret;
}

static const cJSON *find_volume(const cJSON *pod, const char *name)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, json_path(pod, "spec.volumes"))
		if (!strcmp(json_get_str(v, "name", ""), name))
			return v;
	return NULL;
}

int vol_container_mounts(struct vol_manager *m, const cJSON *pod, const cJSON *container,
			 struct rt_mount **mounts, size_t *n, char **err)
{
	const cJSON *vm, *vms = json_get(container, "volumeMounts");
	size_t count = (size_t)cJSON_GetArraySize(vms), bytes = 0, i = 0;
	char **src = xcalloc(count + 1, sizeof(*src)), *p;
	struct rt_mount *out;
	int ret = 0;

	*err = NULL;
	cJSON_ArrayForEach(vm, vms) {
		const char *name = json_get_str(vm, "name", ""), *sub = json_get_str(vm, "subPath", "");
		const cJSON *v = find_volume(pod, name);

		if (!v || strcmp(volume_type(v), "emptyDir")) {
			*err = xasprintf(v ? "volume type %s is not supported yet" :
					 "volume '%s' is not defined", v ? volume_type(v) : name);
			ret = v ? -ENOTSUP : -EINVAL;
			goto out;
		}
		if (strstr(sub, "..") || sub[0] == '/') {
			*err = xasprintf("invalid subPath '%s'", sub);
			ret = -EINVAL;
			goto out;
		}
		src[i] = xasprintf("%s/%s/volumes/%s%s%s", m->pods_dir, pod_uid(pod), name,
				   *sub ? "/" : "", sub);
		if (*sub)
			mkdir_p(src[i], 0777);
		bytes += strlen(src[i]) + 1 + strlen(json_get_str(vm, "mountPath", "")) + 1;
		i++;
	}
	out = xcalloc(1, count * sizeof(*out) + bytes + 1);
	p = (char *)(out + count);
	i = 0;
	cJSON_ArrayForEach(vm, vms) {
		const char *dest = json_get_str(vm, "mountPath", "");

		out[i].kind = RT_MOUNT_BIND;
		out[i].readonly = json_get_bool(vm, "readOnly", false);
		out[i].source = strcpy(p, src[i]);
		p += strlen(p) + 1;
		out[i].dest = strcpy(p, dest);
		p += strlen(p) + 1;
		i++;
	}
	*mounts = out;
	*n = count;
out:
	for (i = 0; i < count; i++)
		free(src[i]);
	free(src);
	return ret;
}

/* Index of the entry of env[0..n) named like kv ("K=..."), or n. */
static size_t env_find(char **env, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (!strncmp(env[i], name, len) && env[i][len] == '=')
			return i;
	return n;
}

int vol_container_env(struct vol_manager *m, const cJSON *pod, const cJSON *container,
		      const char *const *image_env, char ***env, char **err)
{
	const cJSON *e, *list = json_get(container, "env");
	size_t n = 0, cap = (size_t)cJSON_GetArraySize(list), bytes = 0, i;
	char **tmp, **out, *p;
	int ret = 0;

	(void)m;
	(void)pod;
	*err = NULL;
	for (i = 0; image_env && image_env[i]; i++)
		cap++;
	tmp = xcalloc(cap + 1, sizeof(*tmp));
	for (i = 0; image_env && image_env[i]; i++) {
		const char *eq = strchr(image_env[i], '=');

		if (eq)
			tmp[n++] = xstrdup(image_env[i]);
	}
	cJSON_ArrayForEach(e, list) {
		const char *name = json_get_str(e, "name", "");
		size_t at;

		if (json_get(e, "valueFrom")) {
			*err = xasprintf("env '%s': valueFrom is not supported yet", name);
			ret = -ENOTSUP;
			goto out;
		}
		at = env_find(tmp, n, name, strlen(name));
		if (at < n)
			free(tmp[at]);
		else
			n++;
		tmp[at] = xasprintf("%s=%s", name, json_get_str(e, "value", ""));
	}
	for (i = 0; i < n; i++)
		bytes += strlen(tmp[i]) + 1;
	out = xmalloc((n + 1) * sizeof(*out) + bytes);
	p = (char *)(out + n + 1);
	for (i = 0; i < n; i++) {
		out[i] = strcpy(p, tmp[i]);
		p += strlen(p) + 1;
	}
	out[n] = NULL;
	*env = out;
out:
	for (i = 0; i < n; i++)
		free(tmp[i]);
	free(tmp);
	return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT ? -1 : 0;
}

int vol_pod_teardown(struct vol_manager *m, const char *uid)
{
	char *dir;
	int ret = 0;

	if (!safe_name(uid))
		return -EINVAL;
	dir = xasprintf("%s/%s/volumes", m->pods_dir, uid);
	if (access(dir, F_OK) == 0 && nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT))
		ret = -errno;
	free(dir);
	return ret;
}
