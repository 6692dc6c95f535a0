/*
 * images/import_dir.c - the airgap directory: import every tarball of
 * <data-dir>/agent/images/import that was not imported before with the same
 * size, mtime and sha256 (k3s re-imports all of them at every start).
 */
#include "img_int.h"
#include "../lib/log.h"
#include "../lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool import_name_ok(const char *n)
{
	static const char *const ext[] = { ".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.zstd" };

	if (n[0] == '.')
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++)
		if (str_has_suffix(n, ext[i]))
			return true;
	return false;
}

static struct img_seen *seen_find(struct img_store *s, const char *path)
{
	for (size_t i = 0; i < s->nseen; i++)
		if (!strcmp(s->seen[i].path, path))
			return &s->seen[i];
	return NULL;
}

/* Records path as imported with this size, mtime and sha256. */
static int seen_record(struct img_store *s, const char *path, const struct stat *sb,
		       const char *sha)
{
	struct img_seen *e;
	int r = img__lock(s);

	if (r)
		return r;
	e = seen_find(s, path);
	if (!e) {
		ALLOC_GROW(s->seen, s->nseen + 1, s->seen_alloc);
		e = &s->seen[s->nseen++];
		e->path = xstrdup(path);
	}
	e->size = (uint64_t)sb->st_size;
	e->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
	snprintf(e->sha256, sizeof(e->sha256), "%s", sha);
	r = img__save(s);
	img__unlock(s);
	return r;
}

static int import_one(struct img_store *s, const char *path)
{
	char sha[IMG_DIGEST_LEN + 1];
	struct img_seen *e;
	struct stat sb;
	int r;

	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	r = img_store_reload(s);
	if (r)
		return r;
	e = seen_find(s, path);
	if (e && e->size == (uint64_t)sb.st_size &&
	    e->mtime_ns == (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec)
		return 0;
	r = img__sha_file(path, sha);
	if (r)
		return img__fail(s, r, "cannot read '%s': %s", path, strerror(-r));
	if (!e || strcmp(e->sha256, sha + 7)) {
		r = img_import(s, path, NULL);
		if (r)
			return r;
		log_info("imported '%s'", path);
	}
	return seen_record(s, path, &sb, sha + 7);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int img_import_dir(struct img_store *s, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **files = NULL, *p;
	size_t n = 0, alloc = 0;
	int r = 0, rr;

	if (!d)
		return errno == ENOENT ? 0 : img__fail(s, -errno, "cannot open '%s': %s",
							dir, strerror(errno));
	while ((de = readdir(d)))
		if (import_name_ok(de->d_name)) {
			ALLOC_GROW(files, n + 1, alloc);
			files[n++] = xasprintf("%s/%s", dir, de->d_name);
		}
	closedir(d);
	if (n)
		qsort(files, n, sizeof(*files), cmp_str);
	for (size_t i = 0; i < n; i++) {
		p = files[i];
		rr = import_one(s, p);
		if (rr) {
			log_error("%s", img_store_error(s));
			if (!r)
				r = rr;
		}
		free(p);
	}
	free(files);
	return r;
}
