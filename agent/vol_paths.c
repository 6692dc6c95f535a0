/*
 * agent/vol_paths.c - path rules for volume items and subPaths, and the
 * atomic writer of configMap/secret/downwardAPI/projected volumes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/vol_int.h"
#include "lib/log.h"
#include "lib/util.h"

#define DATA_LINK "..data"
#define DATA_TMP "..data_tmp"

int vol__path_check(const char *path)
{
	const char *p = path;

	if (!path || !*path || *path == '/' || strlen(path) > VOL_PATH_MAX)
		return -EINVAL;
	if (str_has_prefix(path, ".."))
		return -EINVAL;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

static bool path_inside(const char *root, const char *p)
{
	size_t n = strlen(root);

	if (!strcmp(root, "/"))
		return true;
	return !strncmp(root, p, n) && (p[n] == '\0' || p[n] == '/');
}

int vol__subpath_resolve(const char *root, const char *sub, char **out)
{
	char *rroot = NULL, *path = NULL, *real = NULL;
	struct stat st;
	int ret;

	*out = NULL;
	if (vol__path_check(sub)) {
		ret = -EINVAL;
		goto out;
	}
	rroot = realpath(root, NULL);
	if (!rroot) {
		ret = -errno;
		goto out;
	}
	path = xasprintf("%s/%s", rroot, sub);
	/* Create missing components one at a time, each below a checked parent. */
	for (char *s = path + strlen(rroot) + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (lstat(path, &st) < 0) {
			if (errno != ENOENT || (mkdir(path, 0755) < 0 && errno != EEXIST)) {
				ret = -errno;
				goto out;
			}
		}
		free(real);
		real = realpath(path, NULL);
		if (!real) {
			ret = -errno;
			goto out;
		}
		if (!path_inside(rroot, real)) {
			ret = -EINVAL;
			goto out;
		}
		*s = c;
		if (!c)
			break;
	}
	*out = real;
	real = NULL;
	ret = 0;
out:
	free(rroot);
	free(path);
	free(real);
	return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP ? rmdir(path) : unlink(path))
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

int vol__rmtree(const char *path)
{
	struct stat st;
	int ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	ret = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	if (ret > 0 || ret < -1)
		return ret > 0 ? -ret : ret;
	return ret < 0 ? -errno : 0;
}

bool vol__is_mountpoint(const char *path)
{
	struct stat a, b;
	char *parent = xasprintf("%s/..", path);
	bool r = false;

	if (!lstat(path, &a) && S_ISDIR(a.st_mode) && !stat(parent, &b))
		r = a.st_dev != b.st_dev || a.st_ino == b.st_ino;
	free(parent);
	return r;
}

/* ---- payload ---- */

int vol__payload_add(struct vol_payload *p, const char *path, const void *data,
		     size_t len, unsigned mode)
{
	struct vol_file *f = NULL;

	if (vol__path_check(path))
		return -EINVAL;
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->f[i].path, path))
			f = &p->f[i];
	if (!f) {
		if (p->n >= VOL_FILES_MAX)
			return -E2BIG;
		ALLOC_GROW(p->f, p->n + 1, p->alloc);
		f = &p->f[p->n++];
		f->path = xstrdup(path);
	} else {
		explicit_bzero(f->data, f->len);
		free(f->data);
	}
	f->data = xmalloc(len + 1);
	memcpy(f->data, data, len);
	f->data[len] = '\0';
	f->len = len;
	f->mode = mode & 07777;
	return 0;
}

void vol__payload_release(struct vol_payload *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->f[i].path);
		explicit_bzero(p->f[i].data, p->f[i].len);	/* secrets, too */
		free(p->f[i].data);
	}
	free(p->f);
	memset(p, 0, sizeof(*p));
}

/* ---- atomic writer ---- */

static int count_files(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type == DT_DIR) {
			char *sub = xasprintf("%s/%s", dir, e->d_name);

			ret = count_files(sub, n);
			free(sub);
			if (ret)
				break;
		} else {
			(*n)++;
		}
	}
	closedir(d);
	return ret;
}

static bool file_same(const char *path, const struct vol_file *f, int64_t gid)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	bool same;

	unsigned mode = f->mode | (gid >= 0 ? 0040 : 0);	/* as write_one() sets it */

	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != mode ||
	    (size_t)st.st_size != f->len || (gid >= 0 && st.st_gid != (gid_t)gid))
		return false;
	if (read_file(path, f->len + 1, &data, &len))
		return false;
	same = len == f->len && !memcmp(data, f->data, len);
	free(data);
	return same;
}

/* The current contents equal p. */
static bool payload_current(const char *dir, const struct vol_payload *p, int64_t gid)
{
	char *data = xasprintf("%s/" DATA_LINK, dir);
	size_t n = 0;
	bool same = count_files(data, &n) == 0 && n == p->n;

	for (size_t i = 0; same && i < p->n; i++) {
		char *path = xasprintf("%s/%s", data, p->f[i].path);

		same = file_same(path, &p->f[i], gid);
		free(path);
	}
	free(data);
	return same;
}

static int write_one(const char *ts, const struct vol_file *f, int64_t gid)
{
	char *path = xasprintf("%s/%s", ts, f->path);
	char *slash = strrchr(path, '/');
	unsigned mode = f->mode;
	int fd = -1, ret;

	*slash = '\0';
	ret = mkdir_p(path, 0755);
	*slash = '/';
	if (ret)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = write_all(fd, f->data, f->len);
	if (ret)
		goto out;
	if (gid >= 0) {
		mode |= 0040;
		if (fchown(fd, -1, (gid_t)gid) < 0) {
			ret = -errno;
			goto out;
		}
	}
	if (fchmod(fd, mode) < 0)
		ret = -errno;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

/* Length of the first component of path. */
static size_t top_len(const char *path)
{
	return strcspn(path, "/");
}

static bool payload_has_top(const struct vol_payload *p, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < p->n; i++)
		if (top_len(p->f[i].path) == n && !strncmp(p->f[i].path, name, n))
			return true;
	return false;
}

/* Links dir/<top> -> ..data/<top> for new names, drops stale user links. */
static int update_links(const char *dir, const struct vol_payload *p)
{
	DIR *d;
	struct dirent *e;
	int ret = 0;

	for (size_t i = 0; i < p->n && !ret; i++) {
		size_t n = top_len(p->f[i].path);
		char *link = xasprintf("%s/%.*s", dir, (int)n, p->f[i].path);
		char *target = xasprintf(DATA_LINK "/%.*s", (int)n, p->f[i].path);
		struct stat st;

		if (lstat(link, &st) < 0 && symlink(target, link) < 0)
			ret = -errno;
		free(link);
		free(target);
	}
	d = opendir(dir);
	if (!d)
		return ret ? ret : -errno;
	while ((e = readdir(d))) {
		if (str_has_prefix(e->d_name, ".."))
			continue;
		if (!strcmp(e->d_name, ".") || payload_has_top(p, e->d_name))
			continue;
		if (e->d_type == DT_LNK && unlinkat(dirfd(d), e->d_name, 0) < 0 && !ret)
			ret = -errno;
	}
	closedir(d);
	return ret;
}

int vol__atomic_write(const char *dir, const struct vol_payload *p, int64_t gid, bool *changed)
{
	char stamp[64], old[PATH_MAX], *ts = NULL, *link = NULL, *tmp = NULL;
	struct tm tm;
	time_t now = time(NULL);
	ssize_t n;
	int ret;

	*changed = false;
	if (payload_current(dir, p, gid))
		return 0;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "..%Y_%m_%d_%H_%M_%S.XXXXXX", &tm);
	ts = xasprintf("%s/%s", dir, stamp);
	if (!mkdtemp(ts)) {
		ret = -errno;
		free(ts);
		ts = NULL;
		goto out;
	}
	chmod(ts, 0755);
	for (size_t i = 0; i < p->n; i++) {
		ret = write_one(ts, &p->f[i], gid);
		if (ret)
			goto out;
	}
	link = xasprintf("%s/" DATA_LINK, dir);
	tmp = xasprintf("%s/" DATA_TMP, dir);
	n = readlink(link, old, sizeof(old) - 1);
	old[n > 0 ? n : 0] = '\0';
	unlink(tmp);
	if (symlink(strrchr(ts, '/') + 1, tmp) < 0 || rename(tmp, link) < 0) {
		ret = -errno;
		goto out;
	}
	ret = update_links(dir, p);
	if (ret)
		goto out_swapped;
	if (old[0] && str_has_prefix(old, "..") && !strchr(old, '/')) {
		char *o = xasprintf("%s/%s", dir, old);

		vol__rmtree(o);
		free(o);
	}
out_swapped:
	free(ts);
	ts = NULL;	/* published: keep it */
	*changed = true;
out:
	if (ts) {
		vol__rmtree(ts);
		free(ts);
	}
	free(link);
	free(tmp);
	return ret;
}
