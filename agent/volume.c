/*
 * agent/volume.c - pod volume setup (emptyDir, configMap, secret, hostPath,
 * downwardAPI, projected), container mounts (subPath, readOnly) and
 * teardown; the manager itself is agent/vol_manager.c. The rules are in
 * docs/pod-config.md.
 */
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/runtime.h"
#include "agent/storage.h"
#include "agent/vol_int.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/quantity.h"
#include "lib/util.h"

/* ---- setup ---- */

struct pod_ctx {
	struct vol_manager *m;
	const cJSON *pod;
	const char *ns;
	char *voldir;		/* <pods_dir>/<uid>/volumes */
	int64_t fs_group;	/* -1 when unset */
};

typedef int (*vol_setup_fn)(struct pod_ctx *p, const cJSON *src, const char *dir, char **err);

static int uid_check(const char *uid)
{
	if (!*uid || strlen(uid) > 128 || *uid == '.')
		return -EINVAL;
	for (const char *c = uid; *c; c++)
		if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.'))
			return -EINVAL;
	return 0;
}

static int mount_tmpfs(const char *dir, unsigned mode, int64_t size, char **err)
{
	char opts[64];

	if (vol__is_mountpoint(dir))
		return 0;
	if (size > 0)
		snprintf(opts, sizeof(opts), "mode=%04o,size=%lld", mode, (long long)size);
	else
		snprintf(opts, sizeof(opts), "mode=%04o", mode);
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		int ret = -errno;

		*err = xasprintf("cannot mount tmpfs on '%s': %s", dir, strerror(-ret));
		return ret;
	}
	return 0;
}

static int make_dir(const char *dir, unsigned mode, char **err)
{
	int ret = mkdir_p(dir, mode);

	if (ret)
		*err = xasprintf("cannot create '%s': %s", dir, strerror(-ret));
	return ret;
}

static int setup_empty_dir(struct pod_ctx *p, const cJSON *src, const char *dir, char **err)
{
	const char *medium = json_get_str(src, "medium", "");
	const cJSON *limit = json_get(src, "sizeLimit");
	struct quantity q;
	const char *qerr;
	int64_t size = 0;
	int ret;

	if (*medium && strcmp(medium, "Memory")) {
		*err = xasprintf("emptyDir medium \"%s\" is not supported", medium);
		return -ENOTSUP;
	}
	ret = make_dir(dir, 0777, err);
	if (ret)
		return ret;
	if (*medium) {
		if (limit && !quantity_from_json(limit, &q, &qerr))
			size = quantity_value(&q);
		ret = mount_tmpfs(dir, 0777, size, err);
		if (ret)
			return ret;
	}
	/* With fsGroup the directory belongs to that group, setgid (as upstream). */
	if (p->fs_group >= 0 && chown(dir, (uid_t)-1, (gid_t)p->fs_group) < 0)
		return -errno;
	return chmod(dir, p->fs_group >= 0 ? 02777 : 0777) < 0 ? -errno : 0;
}

static int publish(struct pod_ctx *p, const char *dir, struct vol_payload *pl, char **err)
{
	bool changed;
	int ret = vol__atomic_write(dir, pl, p->fs_group, &changed);

	if (ret)
		*err = xasprintf("cannot write volume '%s': %s", dir, strerror(-ret));
	else if (changed)
		LOG_V(2, "volume %s updated (%zu files)", dir, pl->n);
	return ret;
}

static unsigned def_mode(const cJSON *src)
{
	const cJSON *m = json_get(src, "defaultMode");

	return cJSON_IsNumber(m) ? (unsigned)m->valueint & 07777 : VOL_DEFAULT_MODE;
}

static int setup_object(struct pod_ctx *p, const cJSON *src, const char *dir, char **err,
			enum vol_kind k)
{
	struct vol_payload pl = { 0 };
	int ret = make_dir(dir, 0755, err);

	if (!ret && k == VOL_SECRET)
		ret = mount_tmpfs(dir, 0755, 0, err);
	if (!ret)
		ret = vol__payload_object(p->m, &pl, k, p->ns, src, def_mode(src), err);
	if (!ret)
		ret = publish(p, dir, &pl, err);
	vol__payload_release(&pl);
	return ret;
}

static int setup_configmap(struct pod_ctx *p, const cJSON *src, const char *dir, char **err)
{
	return setup_object(p, src, dir, err, VOL_CONFIGMAP);
}

static int setup_secret(struct pod_ctx *p, const cJSON *src, const char *dir, char **err)
{
	return setup_object(p, src, dir, err, VOL_SECRET);
}

static int setup_downward(struct pod_ctx *p, const cJSON *src, const char *dir, char **err)
{
	struct vol_payload pl = { 0 };
	int ret = make_dir(dir, 0755, err);

	if (!ret)
		ret = vol__payload_downward(&pl, p->pod, src, def_mode(src), p->m, err);
	if (!ret)
		ret = publish(p, dir, &pl, err);
	vol__payload_release(&pl);
	return ret;
}

static int setup_projected(struct pod_ctx *p, const cJSON *src, const char *dir, char **err)
{
	struct vol_payload pl = { 0 };
	unsigned mode = def_mode(src);
	const cJSON *s;
	int ret = make_dir(dir, 0755, err);
	bool first = !vol__is_mountpoint(dir);	/* warn once per pod, not per sync */

	if (!ret)
		ret = mount_tmpfs(dir, 0755, 0, err);
	cJSON_ArrayForEach(s, json_get(src, "sources")) {
		const cJSON *x;

		if (ret)
			break;
		if ((x = json_get(s, "configMap")))
			ret = vol__payload_object(p->m, &pl, VOL_CONFIGMAP, p->ns, x, mode, err);
		else if ((x = json_get(s, "secret")))
			ret = vol__payload_object(p->m, &pl, VOL_SECRET, p->ns, x, mode, err);
		else if ((x = json_get(s, "downwardAPI")))
			ret = vol__payload_downward(&pl, p->pod, x, mode, p->m, err);
		else if ((x = json_get(s, "serviceAccountToken")))
			ret = vol__payload_token(p->m, &pl, p->pod, x, mode, err);
		else if (!x && first)
			log_warn("pod %s/%s: unsupported projected source skipped", p->ns,
				 json_get_str(json_get(p->pod, "metadata"), "name", ""));
	}
	if (!ret)
		ret = publish(p, dir, &pl, err);
	vol__payload_release(&pl);
	return ret;
}

/* hostPath types: what must exist, and what to create. */
static const struct {
	const char *type;
	mode_t fmt;		/* S_IF* the path must be, 0 = anything */
	bool create_dir, create_file;
	const char *what;
} host_types[] = {
	{ "", 0, false, false, NULL },
	{ "DirectoryOrCreate", S_IFDIR, true, false, "a directory" },
	{ "Directory", S_IFDIR, false, false, "a directory" },
	{ "FileOrCreate", S_IFREG, false, true, "a file" },
	{ "File", S_IFREG, false, false, "a file" },
	{ "Socket", S_IFSOCK, false, false, "a socket file" },
	{ "CharDevice", S_IFCHR, false, false, "a character device" },
	{ "BlockDevice", S_IFBLK, false, false, "a block device" },
};

static int setup_host_path(struct pod_ctx *p, const cJSON *src, const char *dir, char **err)
{
	const char *path = json_get_str(src, "path", ""), *type = json_get_str(src, "type", "");
	struct stat st;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(host_types); i++)
		if (!strcmp(type, host_types[i].type))
			break;
	if (i == ARRAY_SIZE(host_types)) {
		*err = xasprintf("hostPath type \"%s\" is not supported", type);
		return -EINVAL;
	}
	if (*path != '/') {
		*err = xasprintf("hostPath path \"%s\" must be absolute", path);
		return -EINVAL;
	}
	if (stat(path, &st) < 0 && errno == ENOENT) {
		if (host_types[i].create_dir && mkdir_p(path, 0755) == 0)
			chmod(path, 0755);
		if (host_types[i].create_file) {
			int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);

			if (fd >= 0)
				close(fd);
		}
	}
	if (!host_types[i].fmt)
		return 0;
	if (stat(path, &st) < 0 || (st.st_mode & S_IFMT) != host_types[i].fmt) {
		*err = xasprintf("hostPath type check failed: %s is not %s", path, host_types[i].what);
		return -EINVAL;
	}
	return 0;
}

/* persistentVolumeClaim: the claim's volume on this node (agent/storage.c),
 * its root given to fsGroup. */
static int setup_pvc(struct pod_ctx *p, const cJSON *src, const char *dir, char **err)
{
	char *path = NULL;
	int ret = stor_claim_path(p->ns, json_get_str(src, "claimName", ""), &path, err);

	(void)dir;
	if (!ret && p->fs_group >= 0 && (chown(path, (uid_t)-1, (gid_t)p->fs_group) < 0 ||
					 chmod(path, 02775) < 0))
		ret = -errno;
	free(path);
	return ret;
}

static const struct {
	const char *field;
	vol_setup_fn setup;
	bool host;		/* no directory under volumes/ */
	bool readonly;		/* always mounted read-only */
} vol_types[] = {
	{ "emptyDir", setup_empty_dir, false, false },
	{ "configMap", setup_configmap, false, true },
	{ "secret", setup_secret, false, true },
	{ "downwardAPI", setup_downward, false, true },
	{ "projected", setup_projected, false, true },
	{ "hostPath", setup_host_path, true, false },
	{ "persistentVolumeClaim", setup_pvc, true, false },
};

/* The type row of a volume, or -1 with the name of its type in *type. */
static int vol_type(const cJSON *vol, const char **type)
{
	const cJSON *f;

	*type = "unknown";
	for (size_t i = 0; i < ARRAY_SIZE(vol_types); i++)
		if (json_get(vol, vol_types[i].field))
			return (int)i;
	cJSON_ArrayForEach(f, vol)
		if (f->string && strcmp(f->string, "name"))
			*type = f->string;
	return -1;
}

static int name_check(const char *name)
{
	return vol__path_check(name) || strchr(name, '/') ? -EINVAL : 0;
}

static int pod_ctx_init(struct pod_ctx *p, struct vol_manager *m, const cJSON *pod, char **err)
{
	const cJSON *md = json_get(pod, "metadata");
	const cJSON *fsg = json_path(pod, "spec.securityContext.fsGroup");
	const char *uid = json_get_str(md, "uid", "");

	memset(p, 0, sizeof(*p));
	if (uid_check(uid)) {
		*err = xasprintf("invalid pod uid \"%s\"", uid);
		return -EINVAL;
	}
	p->m = m;
	p->pod = pod;
	p->ns = json_get_str(md, "namespace", "default");
	p->voldir = xasprintf("%s/%s/volumes", m->pods_dir, uid);
	p->fs_group = cJSON_IsNumber(fsg) ? (int64_t)fsg->valuedouble : -1;
	return 0;
}

int vol_pod_setup(struct vol_manager *m, const cJSON *pod, char **err)
{
	struct pod_ctx p;
	const cJSON *vol;
	int ret;

	*err = NULL;
	ret = pod_ctx_init(&p, m, pod, err);
	if (ret)
		return ret;
	ret = make_dir(p.voldir, 0750, err);
	cJSON_ArrayForEach(vol, json_path(pod, "spec.volumes")) {
		const char *name = json_get_str(vol, "name", ""), *type;
		int t = vol_type(vol, &type);
		char *dir;

		if (ret)
			break;
		if (name_check(name)) {
			*err = xasprintf("invalid volume name \"%s\"", name);
			ret = -EINVAL;
			break;
		}
		if (t < 0) {
			*err = xasprintf("volume type %s is not supported yet", type);
			ret = -ENOTSUP;
			break;
		}
		dir = xasprintf("%s/%s", p.voldir, name);
		ret = vol_types[t].setup(&p, json_get(vol, vol_types[t].field), dir, err);
		free(dir);
		if (ret && *err) {
			char *e = xasprintf("volume \"%s\": %s", name, *err);

			free(*err);
			*err = e;
		}
	}
	free(p.voldir);
	vol__pod_remember(m, json_get_str(json_get(pod, "metadata"), "uid", ""), pod);
	return ret;
}

/* ---- mounts ---- */

struct mount_list {
	struct { char *dest, *src; bool ro; } *e;
	size_t n, alloc;
};

static const cJSON *find_volume(const cJSON *pod, const char *name)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, json_path(pod, "spec.volumes"))
		if (!strcmp(json_get_str(v, "name", ""), name))
			return v;
	return NULL;
}

static const char *env_lookup(const char *name, void *ud)
{
	char **env = ud;
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* subPath, or subPathExpr expanded with the container's environment. */
static int sub_path(struct vol_manager *m, const cJSON *pod, const cJSON *ctr,
		    const cJSON *vm, char **sub, char **err)
{
	const char *expr = json_get_str(vm, "subPathExpr", "");
	char **env = NULL;
	int ret;

	*sub = NULL;
	if (!*expr) {
		const char *s = json_get_str(vm, "subPath", "");

		*sub = *s ? xstrdup(s) : NULL;
		return 0;
	}
	ret = vol_container_env(m, pod, ctr, NULL, &env, err);
	if (ret)
		return ret;
	*sub = vol__expand(expr, env_lookup, env);
	free(env);
	return 0;
}

static int one_mount(struct vol_manager *m, const cJSON *pod, const cJSON *ctr, const cJSON *vm,
		     struct mount_list *l, char **err)
{
	const char *name = json_get_str(vm, "name", ""), *dest = json_get_str(vm, "mountPath", "");
	const cJSON *vol = find_volume(pod, name);
	const char *type;
	char *src = NULL, *sub = NULL, *real = NULL;
	int t, ret;

	if (!vol) {
		*err = xasprintf("volumeMount \"%s\": no volume of that name", name);
		return -EINVAL;
	}
	if (*dest != '/') {
		*err = xasprintf("volumeMount \"%s\": mountPath \"%s\" must be absolute", name, dest);
		return -EINVAL;
	}
	t = vol_type(vol, &type);
	if (t < 0) {
		*err = xasprintf("volume type %s is not supported yet", type);
		return -ENOTSUP;
	}
	if (vol_types[t].setup == setup_pvc) {
		ret = stor_claim_path(json_get_str(json_get(pod, "metadata"), "namespace", ""),
				      json_get_str(json_get(vol, "persistentVolumeClaim"), "claimName", ""),
				      &src, err);
		if (ret)
			goto out;
	} else if (vol_types[t].host)
		src = xstrdup(json_get_str(json_get(vol, "hostPath"), "path", ""));
	else
		src = xasprintf("%s/%s/volumes/%s", m->pods_dir,
				json_get_str(json_get(pod, "metadata"), "uid", ""), name);
	ret = sub_path(m, pod, ctr, vm, &sub, err);
	if (ret)
		goto out;
	if (sub) {
		ret = vol__subpath_resolve(src, sub, &real);
		if (ret) {
			*err = xasprintf("volumeMount \"%s\": subPath \"%s\" %s", name, sub,
					 ret == -EINVAL ? "must stay inside the volume" : strerror(-ret));
			goto out;
		}
		free(src);
		src = real;
	}
	ALLOC_GROW(l->e, l->n + 1, l->alloc);
	l->e[l->n].dest = xstrdup(dest);
	l->e[l->n].src = src;
	l->e[l->n].ro = json_get_bool(vm, "readOnly", false) || vol_types[t].readonly ||
			json_get_bool(json_get(vol, "persistentVolumeClaim"), "readOnly", false);
	l->n++;
	src = NULL;
out:
	free(src);
	free(sub);
	return ret;
}

int vol_container_mounts(struct vol_manager *m, const cJSON *pod, const cJSON *container,
			 struct rt_mount **mounts, size_t *n, char **err)
{
	struct mount_list l = { 0 };
	struct rt_mount *out = NULL;
	const cJSON *vm;
	size_t size;
	char *s;
	int ret = 0;

	*mounts = NULL;
	*n = 0;
	*err = NULL;
	cJSON_ArrayForEach(vm, json_get(container, "volumeMounts")) {
		if (l.n >= RT_MOUNTS_MAX) {
			*err = xasprintf("more than %d volumeMounts", RT_MOUNTS_MAX);
			ret = -E2BIG;
		}
		if (ret || (ret = one_mount(m, pod, container, vm, &l, err)))
			break;
	}
	size = l.n * sizeof(*out);
	for (size_t i = 0; i < l.n; i++)
		size += strlen(l.e[i].dest) + strlen(l.e[i].src) + 2;
	if (!ret && l.n) {
		out = xcalloc(1, size);
		s = (char *)(out + l.n);
		for (size_t i = 0; i < l.n; i++) {
			out[i].kind = RT_MOUNT_BIND;
			out[i].readonly = l.e[i].ro;
			out[i].dest = strcpy(s, l.e[i].dest);
			s += strlen(s) + 1;
			out[i].source = strcpy(s, l.e[i].src);
			s += strlen(s) + 1;
		}
		*mounts = out;
		*n = l.n;
	}
	for (size_t i = 0; i < l.n; i++) {
		free(l.e[i].dest);
		free(l.e[i].src);
	}
	free(l.e);
	return ret;
}

/* ---- teardown ---- */

int vol_pod_teardown(struct vol_manager *m, const char *uid)
{
	char *voldir;
	DIR *d;
	struct dirent *e;
	int ret;

	if (uid_check(uid))
		return -EINVAL;
	vol__pod_forget(m, uid);
	voldir = xasprintf("%s/%s/volumes", m->pods_dir, uid);
	d = opendir(voldir);
	while (d && (e = readdir(d))) {
		char *dir;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		dir = xasprintf("%s/%s", voldir, e->d_name);
		if (vol__is_mountpoint(dir) && umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			log_warn("cannot unmount '%s': %s", dir, strerror(errno));
		free(dir);
	}
	if (d)
		closedir(d);
	ret = vol__rmtree(voldir);
	if (ret)
		log_warn("cannot remove '%s': %s", voldir, strerror(-ret));
	free(voldir);
	return ret;
}
