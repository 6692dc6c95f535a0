/*
 * images/unpack.c - unpacking one layer tarball into a snapshot directory.
 *
 * Two libarchive readers are stacked: `raw` reads the file (hashing the bytes
 * as they are, the blob digest) and undoes the compression; `tar` reads the
 * uncompressed stream from `raw` (hashing it, the diffID) and yields entries.
 * Every entry is checked here (names, parents, hardlink targets, xattrs,
 * limits) before archive_write_disk() writes it with the SECURE flags set.
 * Whiteouts become overlayfs whiteouts; see images.h.
 */
#include "img_int.h"
#include "../lib/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WH_PREFIX	".wh."
#define WH_OPAQUE	".wh..wh..opq"
#define READ_CHUNK	(64 * 1024)

struct src {			/* the file, as read by `raw` */
	int fd;
	struct img__sha sha;
	unsigned char buf[READ_CHUNK];
};

struct uncompressed {		/* the tar stream, as read by `tar` */
	struct archive *raw;
	struct img__sha sha;
};

struct unpack {
	struct archive *raw, *tar, *disk;
	struct src src;
	struct uncompressed un;
	int rootfd;
	uint64_t size, entries;
	char name[IMG_MAX_PATH], link[IMG_MAX_PATH];	/* cleaned names */
	char **opaque;		/* directories to mark opaque at the end */
	size_t nopaque, opaque_alloc;
	char *err;
	size_t errlen;
};

static int fail(struct unpack *u, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct unpack *u, int err, const char *fmt, ...)
{
	va_list ap;

	if (u->err && u->errlen && !u->err[0]) {
		va_start(ap, fmt);
		vsnprintf(u->err, u->errlen, fmt, ap);
		va_end(ap);
		for (char *p = u->err; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return err;
}

static ssize_t src_read(struct archive *a, void *arg, const void **out)
{
	struct src *s = arg;
	ssize_t n;

	do
		n = read(s->fd, s->buf, sizeof(s->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read: %s", strerror(errno));
		return -1;
	}
	img__sha_update(&s->sha, s->buf, (size_t)n);
	*out = s->buf;
	return n;
}

static ssize_t uncompressed_read(struct archive *a, void *arg, const void **out)
{
	struct uncompressed *un = arg;
	size_t len = 0;
	la_int64_t off;
	int r = archive_read_data_block(un->raw, out, &len, &off);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r < ARCHIVE_WARN) {
		archive_set_error(a, EIO, "%s", archive_error_string(un->raw));
		return -1;
	}
	img__sha_update(&un->sha, *out, len);
	return (ssize_t)len;
}

/*
 * Cleans an entry name into out: "./a//b/." -> "a/b". Refuses absolute
 * names, ".." components and over-long names. "" means the layer root.
 */
int img__clean_name(const char *name, char *out, size_t outlen)
{
	size_t n = 0;
	const char *p = name, *e;

	if (!name || name[0] == '/')
		return -EINVAL;
	if (strlen(name) >= IMG_MAX_PATH || outlen < IMG_MAX_PATH)
		return -ENAMETOOLONG;
	while (*p) {
		e = strchrnul(p, '/');
		if (e - p == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (e - p > 255)
			return -ENAMETOOLONG;
		if (e > p && !(e - p == 1 && p[0] == '.')) {
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, (size_t)(e - p));
			n += (size_t)(e - p);
		}
		p = *e ? e + 1 : e;
	}
	out[n] = '\0';
	return 0;
}

/*
 * Opens the directory holding the last component of path (relative to
 * rootfd), refusing any symlink or non-directory on the way. With create,
 * missing directories are made (0755, root). *last points into path.
 * Returns an fd, -ENOENT when a directory is missing (without create),
 * -ELOOP when something on the way is not a directory.
 */
int img__open_parent(int rootfd, const char *path, bool create, const char **last)
{
	char comp[256];
	const char *p = path, *e;
	int fd = dup(rootfd), nfd;

	if (fd < 0)
		return -errno;
	for (;;) {
		e = strchr(p, '/');
		if (!e)
			break;
		memcpy(comp, p, (size_t)(e - p));
		comp[e - p] = '\0';
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
				goto err;
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0)
			goto err;
		close(fd);
		fd = nfd;
		p = e + 1;
	}
	*last = p;
	return fd;
err:
	nfd = errno == ENOTDIR ? -ELOOP : -errno;
	close(fd);
	return nfd;
}

/* The entry's parents must be real directories (or not exist yet). */
static int check_parents(struct unpack *u, const char *name)
{
	const char *last;
	struct stat st;
	int fd = img__open_parent(u->rootfd, name, false, &last);

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fail(u, -EPERM, "entry '%s' would be written through a symlink "
			    "or non-directory", name);
	/* A symlink in the way of the entry itself is replaced, not followed. */
	if (!fstatat(fd, last, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode))
		unlinkat(fd, last, 0);
	close(fd);
	return 0;
}

static int check_hardlink(struct unpack *u, const char *name, const char *target,
			  char *clean, size_t cleanlen)
{
	const char *last;
	struct stat st;
	int fd, ok;

	if (img__clean_name(target, clean, cleanlen) || !clean[0])
		return fail(u, -EPERM, "hardlink '%s' points outside the layer ('%s')",
			    name, target);
	fd = img__open_parent(u->rootfd, clean, false, &last);
	if (fd < 0)
		return fail(u, -EPERM, "hardlink '%s' target '%s' is not in the layer",
			    name, target);
	ok = !fstatat(fd, last, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode);
	close(fd);
	if (!ok)
		return fail(u, -EPERM, "hardlink '%s' target '%s' is not a regular file "
			    "of the layer", name, target);
	return 0;
}

static int whiteout(struct unpack *u, const char *name, const char *base)
{
	const char *last;
	const char *victim = base + strlen(WH_PREFIX);
	struct stat st;
	int fd, r = 0;

	if (!strcmp(base, WH_OPAQUE)) {
		size_t dl = (size_t)(base - name);

		ALLOC_GROW(u->opaque, u->nopaque + 1, u->opaque_alloc);
		u->opaque[u->nopaque++] = dl ? xstrndup(name, dl - 1) : xstrdup("");
		return 0;
	}
	if (str_has_prefix(victim, WH_PREFIX) || !victim[0] ||
	    !strcmp(victim, ".") || !strcmp(victim, ".."))
		return 0;	/* other aufs metadata (.wh..wh.plnk...): ignored */
	fd = img__open_parent(u->rootfd, name, true, &last);
	if (fd < 0)
		return fail(u, -EPERM, "whiteout '%s' would be written through a symlink",
			    name);
	if (!fstatat(fd, victim, &st, AT_SYMLINK_NOFOLLOW)) {
		if (S_ISDIR(st.st_mode) || !(S_ISCHR(st.st_mode) && st.st_rdev == 0)) {
			r = fail(u, -EINVAL, "whiteout '%s' hides an entry of the same layer",
				 name);
			goto out;
		}
		goto out;	/* already whited out */
	}
	if (mknodat(fd, victim, S_IFCHR | 0, makedev(0, 0)) < 0)
		r = fail(u, -errno, "whiteout '%s': mknod: %s", name, strerror(errno));
out:
	close(fd);
	return r;
}

/* Keeps only user.* and security.capability extended attributes. */
static void filter_xattrs(struct archive_entry *e)
{
	struct { char *name; void *val; size_t len; } keep[32];
	size_t n = 0, i, len;
	const char *name;
	const void *val;

	if (!archive_entry_xattr_reset(e))
		return;
	while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK) {
		if (n == ARRAY_SIZE(keep) || !(str_has_prefix(name, "user.") ||
		    !strcmp(name, "security.capability")))
			continue;
		keep[n].name = xstrdup(name);
		keep[n].val = xmalloc(len + 1);
		memcpy(keep[n].val, val, len);
		keep[n++].len = len;
	}
	archive_entry_xattr_clear(e);
	for (i = 0; i < n; i++) {
		archive_entry_xattr_add_entry(e, keep[i].name, keep[i].val, keep[i].len);
		free(keep[i].name);
		free(keep[i].val);
	}
}

static int copy_data(struct unpack *u, const char *name)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	for (;;) {
		r = archive_read_data_block(u->tar, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return fail(u, -EINVAL, "entry '%s': %s", name,
				    archive_error_string(u->tar));
		if (archive_write_data_block(u->disk, buf, len, off) < ARCHIVE_WARN)
			return fail(u, -EIO, "entry '%s': %s", name,
				    archive_error_string(u->disk));
	}
}

static int entry(struct unpack *u, struct archive_entry *e)
{
	char *name = u->name, *link = u->link;
	const char *raw = archive_entry_pathname(e), *base, *hl;
	mode_t type = archive_entry_filetype(e);
	int r;

	if (++u->entries > IMG_MAX_LAYER_ENTRIES)
		return fail(u, -E2BIG, "more than %d entries", IMG_MAX_LAYER_ENTRIES);
	if (img__clean_name(raw, name, sizeof(u->name)))
		return fail(u, -EPERM, "entry '%s' points outside the layer",
			    raw ? raw : "(no name)");
	if (!name[0] || type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO ||
	    type == AE_IFSOCK)
		return 0;	/* the root itself, or a device node: skipped */
	base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (str_has_prefix(base, WH_PREFIX))
		return whiteout(u, name, base);
	r = check_parents(u, name);
	if (r)
		return r;
	hl = archive_entry_hardlink(e);
	if (hl) {
		r = check_hardlink(u, name, hl, link, sizeof(u->link));
		if (r)
			return r;
		archive_entry_set_hardlink(e, link);
	}
	if (type == AE_IFREG && !hl) {
		int64_t sz = archive_entry_size(e);

		if (sz < 0 || (uint64_t)sz > IMG_MAX_LAYER_BYTES - u->size)
			return fail(u, -EFBIG, "layer larger than %llu bytes",
				    (unsigned long long)IMG_MAX_LAYER_BYTES);
		u->size += (uint64_t)sz;
	}
	archive_entry_set_pathname(e, name);
	filter_xattrs(e);
	if (archive_write_header(u->disk, e) < ARCHIVE_WARN)
		return fail(u, -EPERM, "entry '%s': %s", name,
			    archive_error_string(u->disk));
	if (type == AE_IFREG && archive_entry_size(e) > 0) {
		r = copy_data(u, name);
		if (r)
			return r;
	}
	if (archive_write_finish_entry(u->disk) < ARCHIVE_WARN)
		return fail(u, -EIO, "entry '%s': %s", name, archive_error_string(u->disk));
	return 0;
}

static int mark_opaque(struct unpack *u)
{
	const char *last;
	char *path;
	int fd, dfd, r = 0;

	for (size_t i = 0; i < u->nopaque && !r; i++) {
		if (!u->opaque[i][0]) {
			continue;	/* the layer root: nothing below to hide */
		}
		path = xasprintf("%s/", u->opaque[i]);
		fd = img__open_parent(u->rootfd, path, true, &last);
		free(path);
		if (fd < 0)
			return fail(u, -EPERM, "opaque directory '%s' is not a directory",
				    u->opaque[i]);
		dfd = dup(fd);
		close(fd);
		if (dfd < 0 || fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			r = fail(u, -errno, "opaque '%s': %s", u->opaque[i], strerror(errno));
		if (dfd >= 0)
			close(dfd);
	}
	return r;
}

static int setup(struct unpack *u)
{
	const int flags = ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
		ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
		ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
		ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
	struct archive_entry *e;
	int r;

	u->raw = archive_read_new();
	u->tar = archive_read_new();
	u->disk = archive_write_disk_new();
	if (!u->raw || !u->tar || !u->disk)
		BUG("libarchive: out of memory");
	/* One by one: _all() would pull libxml2 into the static link. */
	if (archive_read_support_filter_gzip(u->raw) < ARCHIVE_WARN ||
	    archive_read_support_filter_zstd(u->raw) < ARCHIVE_WARN ||
	    archive_read_support_filter_none(u->raw) < ARCHIVE_WARN ||
	    archive_read_support_format_raw(u->raw) < ARCHIVE_WARN ||
	    archive_read_support_filter_none(u->tar) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(u->tar) < ARCHIVE_WARN ||
	    archive_write_disk_set_options(u->disk, flags) < ARCHIVE_WARN)
		return fail(u, -ENOTSUP, "libarchive lacks tar, gzip or zstd support");
	if (archive_read_open(u->raw, &u->src, NULL, src_read, NULL) < ARCHIVE_WARN)
		return fail(u, -EINVAL, "layer: %s", archive_error_string(u->raw));
	r = archive_read_next_header(u->raw, &e);
	if (r < ARCHIVE_WARN)
		return fail(u, -EINVAL, "layer: %s", archive_error_string(u->raw));
	if (r == ARCHIVE_EOF)
		return fail(u, -EINVAL, "layer: empty file");
	u->un.raw = u->raw;
	if (archive_read_open(u->tar, &u->un, NULL, uncompressed_read, NULL) < ARCHIVE_WARN)
		return fail(u, -EINVAL, "layer is not a tar archive: %s",
			    archive_error_string(u->tar));
	return 0;
}

static int unpack_all(struct unpack *u)
{
	struct archive_entry *e;
	const void *buf;
	int r;

	for (;;) {
		r = archive_read_next_header(u->tar, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return fail(u, -EINVAL, "layer tar: %s", archive_error_string(u->tar));
		r = entry(u, e);
		if (r)
			return r;
	}
	/* Hash the rest (tar padding after the end marker) of both streams. */
	while ((r = uncompressed_read(u->tar, &u->un, &buf)) > 0)
		;
	if (r < 0)
		return fail(u, -EINVAL, "layer: %s", archive_error_string(u->tar));
	while ((r = (int)src_read(u->raw, &u->src, &buf)) > 0)
		;
	if (r < 0)
		return fail(u, -EIO, "layer: read: %s", strerror(errno));
	if (archive_write_close(u->disk) < ARCHIVE_WARN)
		return fail(u, -EIO, "layer: %s", archive_error_string(u->disk));
	return mark_opaque(u);
}

int img_unpack_fd(int fd, const char *dest, char diff_id[IMG_DIGEST_LEN + 1],
		  char digest[IMG_DIGEST_LEN + 1], uint64_t *size,
		  char *err, size_t errlen)
{
	struct unpack *u = xcalloc(1, sizeof(*u));
	char scratch[IMG_DIGEST_LEN + 1];
	int cwd = -1, r;

	u->src.fd = fd;
	u->rootfd = -1;
	u->err = err;
	u->errlen = errlen;
	img__sha_init(&u->src.sha);
	img__sha_init(&u->un.sha);
	if (err && errlen)
		err[0] = '\0';
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	u->rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cwd < 0 || u->rootfd < 0) {
		r = fail(u, -errno, "open '%s': %s", dest, strerror(errno));
		goto out;
	}
	r = setup(u);
	if (r)
		goto out;
	if (fchdir(u->rootfd) < 0) {
		r = fail(u, -errno, "chdir '%s': %s", dest, strerror(errno));
		goto out;
	}
	r = unpack_all(u);
	/* Freeing the writer runs its deferred fixups: still in the layer root. */
	archive_write_free(u->disk);
	u->disk = NULL;
	if (fchdir(cwd) < 0)
		BUG("cannot return to the working directory: %s", strerror(errno));
out:
	img__sha_final(&u->src.sha, digest ? digest : scratch);
	img__sha_final(&u->un.sha, diff_id ? diff_id : scratch);
	if (size)
		*size = u->size;
	if (u->disk)
		archive_write_free(u->disk);
	if (u->tar)
		archive_read_free(u->tar);
	if (u->raw)
		archive_read_free(u->raw);
	for (size_t i = 0; i < u->nopaque; i++)
		free(u->opaque[i]);
	free(u->opaque);
	if (u->rootfd >= 0)
		close(u->rootfd);
	if (cwd >= 0)
		close(cwd);
	free(u);
	return r;
}
