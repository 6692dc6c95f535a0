/*
 * Unit tests of images/: the layer unpacker against crafted hostile tarballs,
 * whiteouts, archive import (digests, idempotence, the import directory),
 * names, removal, GC with a fake usage function, and an overlay mount.
 * Tarballs are written with libarchive's writer, which keeps any name as is.
 */
#include "test.h"
#include "../../images/img_int.h"
#include "../../lib/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

struct tent {
	char type;		/* f file, d dir, l symlink, h hardlink, c/b device, p fifo */
	const char *name;
	const char *data;	/* file content, or link target */
	unsigned mode;		/* 0: a default per type */
	int uid;
};

/* <tmp>/name and <tmp>/root/name, malloc'd. */
static char *tp(const char *name)
{
	return xasprintf("%s/%s", test_tmpdir(), name);
}

static char *rp(const char *name)
{
	return xasprintf("%s/root/%s", test_tmpdir(), name);
}

/* Writes a pax tar of ents (optionally "gzip"/"zstd" filtered) to path. */
static void write_tar(const char *path, const struct tent *ents, size_t n, const char *filter)
{
	struct archive *a = archive_write_new();

	ASSERT_OK(archive_write_set_format_pax_restricted(a));
	if (filter && !strcmp(filter, "gzip"))
		ASSERT_OK(archive_write_add_filter_gzip(a));
	if (filter && !strcmp(filter, "zstd"))
		ASSERT_OK(archive_write_add_filter_zstd(a));
	ASSERT_OK(archive_write_open_filename(a, path));
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		const struct tent *t = &ents[i];
		size_t len = t->type == 'f' && t->data ? strlen(t->data) : 0;

		archive_entry_set_pathname(e, t->name);
		archive_entry_set_uid(e, t->uid);
		archive_entry_set_gid(e, t->uid);
		archive_entry_set_mtime(e, 1000000, 0);
		switch (t->type) {
		case 'f': archive_entry_set_filetype(e, AE_IFREG); break;
		case 'd': archive_entry_set_filetype(e, AE_IFDIR); break;
		case 'l': archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, t->data); break;
		case 'h': archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, t->data); break;
		case 'c': archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_rdev(e, makedev(1, 3)); break;
		case 'b': archive_entry_set_filetype(e, AE_IFBLK);
			archive_entry_set_rdev(e, makedev(8, 0)); break;
		case 'p': archive_entry_set_filetype(e, AE_IFIFO); break;
		}
		archive_entry_set_perm(e, t->mode ? t->mode : t->type == 'd' ? 0755 : 0644);
		archive_entry_set_size(e, (la_int64_t)len);
		ASSERT_OK(archive_write_header(a, e));
		if (len)
			ASSERT_EQ(archive_write_data(a, t->data, len), len);
		archive_entry_free(e);
	}
	ASSERT_OK(archive_write_close(a));
	archive_write_free(a);
}

/* Unpacks tar into <tmp>/root (created), err gets the message. */
static int unpack(const char *tar, char *err, size_t errlen, char *diff, char *dig)
{
	char *root = tp("root");
	int fd = open(tar, O_RDONLY), r;
	uint64_t size;

	ASSERT_TRUE(fd >= 0);
	mkdir(root, 0755);
	r = img_unpack_fd(fd, root, diff, dig, &size, err, errlen);
	close(fd);
	free(root);
	return r;
}

/* Takes p (from tp/rp). */
static bool exists(char *p)
{
	struct stat st;
	bool ok = lstat(p, &st) == 0;

	free(p);
	return ok;
}

static struct stat lst(const char *name)
{
	char *p = rp(name);
	struct stat st;

	if (lstat(p, &st))
		test_fail(__FILE__, __LINE__, "lstat %s: %s", p, strerror(errno));
	free(p);
	return st;
}

/* Expects the tar to be refused with a message containing want. */
static void expect_refused(const struct tent *ents, size_t n, const char *want)
{
	char *tar = tp("evil.tar"), err[300];

	write_tar(tar, ents, n, NULL);
	ASSERT_TRUE(unpack(tar, err, sizeof(err), NULL, NULL) < 0);
	if (!strstr(err, want))
		test_fail(__FILE__, __LINE__, "error '%s' lacks '%s'", err, want);
	free(tar);
}

TEST(images_unpack_keeps_files_modes_owners)
{
	const struct tent ents[] = {
		{ 'd', "./", NULL, 0, 0 },
		{ 'd', "./bin", NULL, 0, 0 },
		{ 'f', "./bin/tool", "#!/bin/sh\n", 04755, 0 },
		{ 'f', "./home/u/file", "mine", 0600, 1234 },
		{ 'l', "./bin/sh", "/bin/tool", 0777, 0 },
		{ 'h', "./bin/tool2", "bin/tool", 0, 0 },
		{ 'c', "./dev/null", NULL, 0666, 0 },
		{ 'b', "./dev/sda", NULL, 0660, 0 },
		{ 'p', "./fifo", NULL, 0644, 0 },
	};
	char *tar = tp("l.tar"), err[300], diff[80], dig[80], want[80];
	struct stat st;

	write_tar(tar, ents, ARRAY_SIZE(ents), NULL);
	ASSERT_OK(unpack(tar, err, sizeof(err), diff, dig));
	ASSERT_OK(img__sha_file(tar, want));
	ASSERT_STR_EQ(diff, want);
	ASSERT_STR_EQ(dig, want);
	st = lst("bin/tool");
	ASSERT_EQ(st.st_mode & 07777, 04755);
	ASSERT_EQ(st.st_nlink, 2);
	st = lst("home/u/file");
	ASSERT_EQ(st.st_uid, 1234);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_TRUE(S_ISLNK(lst("bin/sh").st_mode));
	ASSERT_FALSE(exists(rp("dev/null")));
	ASSERT_FALSE(exists(rp("dev/sda")));
	ASSERT_FALSE(exists(rp("fifo")));
	free(tar);
}

TEST(images_unpack_gzip_and_zstd_digests)
{
	const struct tent ents[] = { { 'f', "a", "hello", 0, 0 } };
	static const char *const filters[] = { "gzip", "zstd" };
	char *plain = tp("p.tar"), *z = tp("z.tar");
	char err[300], diff[80], dig[80], wdiff[80], wdig[80];

	write_tar(plain, ents, 1, NULL);
	ASSERT_OK(img__sha_file(plain, wdiff));
	for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
		write_tar(z, ents, 1, filters[i]);
		ASSERT_OK(img__sha_file(z, wdig));
		ASSERT_OK(unpack(z, err, sizeof(err), diff, dig));
		ASSERT_STR_EQ(diff, wdiff);
		ASSERT_STR_EQ(dig, wdig);
		ASSERT_TRUE(strcmp(wdig, wdiff) != 0);
		ASSERT_TRUE(exists(rp("a")));
	}
	free(plain);
	free(z);
}

TEST(images_unpack_refuses_dotdot_and_absolute)
{
	char *abs = tp("outside/abs");
	const struct tent dotdot[] = { { 'f', "../outside/evil", "x", 0, 0 } };
	const struct tent inner[] = { { 'd', "a", NULL, 0, 0 },
				      { 'f', "a/../../outside/evil", "x", 0, 0 } };
	const struct tent absolute[] = { { 'f', abs, "x", 0, 0 } };

	ASSERT_OK(mkdir_p(tp("outside"), 0755));
	expect_refused(dotdot, 1, "outside the layer");
	expect_refused(inner, 2, "outside the layer");
	expect_refused(absolute, 1, "outside the layer");
	ASSERT_FALSE(exists(tp("outside/evil")));
	ASSERT_FALSE(exists(tp("outside/abs")));
	free(abs);
}

TEST(images_unpack_refuses_writes_through_symlinks)
{
	char *out = tp("outside");
	const struct tent rel[] = { { 'l', "link", "../outside", 0, 0 },
				    { 'f', "link/pwned", "x", 0, 0 } };
	const struct tent absl[] = { { 'l', "link", out, 0, 0 },
				     { 'f', "link/pwned", "x", 0, 0 } };
	const struct tent deep[] = { { 'd', "d", NULL, 0, 0 }, { 'l', "d/up", "../..", 0, 0 },
				     { 'f', "d/up/outside/pwned", "x", 0, 0 } };
	const struct tent wh[] = { { 'l', "link", out, 0, 0 },
				   { 'f', "link/.wh.victim", "", 0, 0 } };

	ASSERT_OK(mkdir_p(out, 0755));
	ASSERT_OK(write_file_atomic(tp("outside/victim"), "v", 1, 0644));
	expect_refused(rel, 2, "through a symlink");
	expect_refused(absl, 2, "through a symlink");
	expect_refused(deep, 3, "through a symlink");
	expect_refused(wh, 2, "through a symlink");
	ASSERT_FALSE(exists(tp("outside/pwned")));
	ASSERT_TRUE(S_ISREG(({ struct stat st_; char *p_ = tp("outside/victim");
		lstat(p_, &st_); free(p_); st_; }).st_mode));
	free(out);
}

TEST(images_unpack_refuses_escaping_hardlinks)
{
	struct stat before, after;
	const struct tent passwd[] = { { 'h', "pw", "/etc/passwd", 0, 0 } };
	const struct tent up[] = { { 'h', "pw", "../outside/f", 0, 0 } };
	const struct tent via_symlink[] = { { 'l', "l", "/etc/passwd", 0, 0 },
					    { 'h', "pw", "l", 0, 0 } };
	const struct tent via_dir[] = { { 'l', "etc", "/etc", 0, 0 },
					{ 'h', "pw", "etc/passwd", 0, 0 } };

	ASSERT_OK(stat("/etc/passwd", &before));
	expect_refused(passwd, 1, "outside the layer");
	expect_refused(up, 1, "outside the layer");
	expect_refused(via_symlink, 2, "not a regular file");
	expect_refused(via_dir, 2, "is not in the layer");
	ASSERT_OK(stat("/etc/passwd", &after));
	ASSERT_EQ(after.st_nlink, before.st_nlink);
}

TEST(images_unpack_whiteouts_and_opaque_dirs)
{
	const struct tent ents[] = {
		{ 'd', "etc", NULL, 0, 0 },
		{ 'f', "etc/.wh.gone", "", 0, 0 },
		{ 'f', "new/dir/.wh..wh..opq", "", 0, 0 },
		{ 'f', "new/dir/kept", "k", 0, 0 },
		{ 'f', ".wh..wh.plnk", "", 0, 0 },
	};
	const struct tent clash[] = { { 'f', "x", "1", 0, 0 }, { 'f', ".wh.x", "", 0, 0 } };
	char *tar = tp("w.tar"), *dir = rp("new/dir");
	char err[300], v[4];
	struct stat st;

	write_tar(tar, ents, ARRAY_SIZE(ents), NULL);
	ASSERT_OK(unpack(tar, err, sizeof(err), NULL, NULL));
	st = lst("etc/gone");
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(st.st_rdev, 0);
	ASSERT_FALSE(exists(rp("etc/.wh.gone")));
	ASSERT_EQ(getxattr(dir, "trusted.overlay.opaque", v, sizeof(v)), 1);
	ASSERT_EQ(v[0], 'y');
	ASSERT_TRUE(exists(rp("new/dir/kept")));
	ASSERT_FALSE(exists(rp("new/dir/.wh..wh..opq")));
	ASSERT_FALSE(exists(rp(".wh..wh.plnk")));
	expect_refused(clash, 2, "same layer");
	free(tar);
	free(dir);
}

TEST(images_unpack_drops_overlay_xattrs_and_garbage)
{
	char *tar = tp("x.tar"), err[300];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char *f = rp("f"), v[16];

	archive_write_set_format_pax(a);
	ASSERT_OK(archive_write_open_filename(a, tar));
	archive_entry_set_pathname(e, "f");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/etc", 4);
	archive_entry_xattr_add_entry(e, "user.note", "hi", 2);
	ASSERT_OK(archive_write_header(a, e));
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	ASSERT_OK(unpack(tar, err, sizeof(err), NULL, NULL));
	ASSERT_TRUE(getxattr(f, "trusted.overlay.redirect", v, sizeof(v)) < 0);
	ASSERT_EQ(getxattr(f, "user.note", v, sizeof(v)), 2);
	/* Not a tar at all, and a truncated one. */
	ASSERT_OK(write_file_atomic(tar, "this is not a tar file at all", 29, 0644));
	ASSERT_TRUE(unpack(tar, err, sizeof(err), NULL, NULL) < 0);
	ASSERT_OK(write_file_atomic(tar, "", 0, 0644));
	ASSERT_TRUE(unpack(tar, err, sizeof(err), NULL, NULL) < 0);
	free(tar);
	free(f);
}

/* ---- archives ---- */

struct blob {
	const char *name;	/* path in the archive */
	char *data;
	size_t len;
};

static void write_archive(const char *path, const struct blob *b, size_t n)
{
	struct archive *a = archive_write_new();

	ASSERT_OK(archive_write_set_format_pax_restricted(a));
	ASSERT_OK(archive_write_open_filename(a, path));
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, b[i].name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)b[i].len);
		ASSERT_OK(archive_write_header(a, e));
		ASSERT_EQ(archive_write_data(a, b[i].data, b[i].len), b[i].len);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
}

static struct blob file_blob(const char *name, const char *path)
{
	struct blob b = { name, NULL, 0 };

	ASSERT_OK(read_file(path, 1 << 24, &b.data, &b.len));
	return b;
}

static struct blob str_blob(const char *name, char *s)
{
	return (struct blob){ name, s, strlen(s) };
}

/*
 * A docker-archive with the given layer tars (paths); bad_diff corrupts the
 * config's first diff_id. Returns the image ID.
 */
static char *docker_archive(const char *out, const char *tag, const char **layers,
			    size_t n, bool bad_diff)
{
	struct blob b[8];
	char d[80], *ids = xstrdup(""), *lnames = xstrdup(""), *t, *cfg, *cname;
	struct img__sha h;

	ASSERT_TRUE(n < 6);
	for (size_t i = 0; i < n; i++) {
		ASSERT_OK(img__sha_file(layers[i], d));
		if (bad_diff && !i)
			d[10] ^= 1;
		t = xasprintf("%s%s\"%s\"", ids, i ? "," : "", d);
		free(ids);
		ids = t;
		t = xasprintf("%s%s\"l%zu/layer.tar\"", lnames, i ? "," : "", i);
		free(lnames);
		lnames = t;
		b[i] = file_blob(xasprintf("l%zu/layer.tar", i), layers[i]);
	}
	cfg = xasprintf("{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}", ids);
	img__sha_init(&h);
	img__sha_update(&h, cfg, strlen(cfg));
	img__sha_final(&h, d);
	cname = xasprintf("%s.json", d + 7);
	b[n] = str_blob(cname, cfg);
	b[n + 1] = str_blob("manifest.json", xasprintf(
		"[{\"Config\":\"%s\",\"RepoTags\":[\"%s\"],\"Layers\":[%s]}]", cname, tag, lnames));
	write_archive(out, b, n + 2);
	for (size_t i = 0; i < n + 2; i++) {
		if (i < n)
			free((char *)b[i].name);
		free(b[i].data);
	}
	free(cname);
	free(ids);
	free(lnames);
	return xstrdup(d);
}

static char *layer(const char *name, const struct tent *ents, size_t n)
{
	char *p = tp(name);

	write_tar(p, ents, n, NULL);
	return p;
}

static size_t count_dir(const struct img_store *s, const char *sub)
{
	char *p = xasprintf("%s/%s", s->root, sub);
	DIR *d = opendir(p);
	struct dirent *e;
	size_t n = 0;

	ASSERT_NOT_NULL(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	free(p);
	return n;
}

static void open_store(struct img_store *s)
{
	ASSERT_OK(img_store_open(s, tp("data")));
}

TEST(images_import_docker_archive_and_reimport_is_idempotent)
{
	const struct tent e1[] = { { 'f', "etc/os", "k1s", 0, 0 } };
	const struct tent e2[] = { { 'f', "etc/.wh.os", "", 0, 0 } };
	const char *layers[] = { layer("l1.tar", e1, 1), layer("l2.tar", e2, 1) };
	char *tar = tp("img.tar"), *idx1 = NULL, *idx2 = NULL, *id, **names;
	struct img_store s;
	const struct img_image *img;
	size_t l1, l2;

	id = docker_archive(tar, "example.com/app:v1", layers, 2, false);
	open_store(&s);
	ASSERT_OK(img_import(&s, tar, &names));
	ASSERT_STR_EQ(names[0], "example.com/app:v1");
	ASSERT_NULL(names[1]);
	img_names_free(names);
	img = img_find(&s, "example.com/app:v1");
	ASSERT_NOT_NULL(img);
	ASSERT_STR_EQ(img->id, id);
	ASSERT_EQ(img->nlayers, 2);
	ASSERT_TRUE(img_find(&s, id + 7) == img);
	ASSERT_TRUE(img_find(&s, "sha256:") == NULL);
	ASSERT_EQ(count_dir(&s, "layers"), 2);
	ASSERT_EQ(count_dir(&s, "blobs/sha256"), 2);	/* config + manifest */
	ASSERT_EQ(count_dir(&s, "tmp"), 0);
	ASSERT_OK(read_file(tp("data/agent/images/index.json"), 1 << 20, &idx1, &l1));
	ASSERT_OK(img_import(&s, tar, NULL));
	ASSERT_OK(read_file(tp("data/agent/images/index.json"), 1 << 20, &idx2, &l2));
	ASSERT_STR_EQ(idx1, idx2);
	ASSERT_EQ(s.nimages, 1);
	img_store_release(&s);
	/* A fresh open reads the same index back. */
	open_store(&s);
	ASSERT_NOT_NULL(img_find(&s, "example.com/app:v1"));
	img_store_release(&s);
	free(id);
	free(tar);
	free(idx1);
	free(idx2);
}

TEST(images_import_rejects_digest_mismatch)
{
	const struct tent e1[] = { { 'f', "a", "1", 0, 0 } };
	const char *layers[] = { layer("l1.tar", e1, 1) };
	char *tar = tp("bad.tar"), *id;
	struct img_store s;

	id = docker_archive(tar, "bad:1", layers, 1, true);
	open_store(&s);
	ASSERT_EQ(img_import(&s, tar, NULL), -EINVAL);
	ASSERT_TRUE(strstr(img_store_error(&s), "diffID mismatch") != NULL);
	ASSERT_EQ(s.nimages, 0);
	ASSERT_EQ(count_dir(&s, "layers"), 0);
	ASSERT_EQ(count_dir(&s, "blobs/sha256"), 0);
	img_store_release(&s);
	free(id);
	free(tar);
}

TEST(images_import_oci_archive_verifies_blobs)
{
	const struct tent e1[] = { { 'f', "bin/x", "x", 0755, 0 } };
	char *lt = layer("l.tar", e1, 1), *tar = tp("oci.tar");
	char ld[80], cd[80], md[80], *cfg, *man, *idx, *n[4];
	struct blob b[5];
	struct img__sha h;
	struct img_store s;

	ASSERT_OK(img__sha_file(lt, ld));
	cfg = xasprintf("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", ld);
	img__sha_init(&h);
	img__sha_update(&h, cfg, strlen(cfg));
	img__sha_final(&h, cd);
	man = xasprintf("{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},"
			"\"layers\":[{\"digest\":\"%s\"}]}", cd, ld);
	img__sha_init(&h);
	img__sha_update(&h, man, strlen(man));
	img__sha_final(&h, md);
	idx = xasprintf("{\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest"
			".v1+json\",\"digest\":\"%s\",\"annotations\":{\"org.opencontainers."
			"image.ref.name\":\"reg.local/oci:1\"}}]}", md);
	b[0] = file_blob(n[0] = xasprintf("blobs/sha256/%s", ld + 7), lt);
	b[1] = str_blob(n[1] = xasprintf("blobs/sha256/%s", cd + 7), cfg);
	b[2] = str_blob(n[2] = xasprintf("blobs/sha256/%s", md + 7), man);
	b[3] = str_blob("index.json", idx);
	b[4] = str_blob("oci-layout", xstrdup("{\"imageLayoutVersion\":\"1.0.0\"}"));
	write_archive(tar, b, 5);
	open_store(&s);
	ASSERT_OK(img_import(&s, tar, NULL));
	ASSERT_NOT_NULL(img_find(&s, "reg.local/oci:1"));
	ASSERT_STR_EQ(img_find(&s, "reg.local/oci:1")->manifest, md);
	/* Tamper with the config: its digest no longer matches. */
	ASSERT_OK(img_remove(&s, "reg.local/oci:1"));
	b[1].data[2] = 'R';
	write_archive(tar, b, 5);
	ASSERT_EQ(img_import(&s, tar, NULL), -EINVAL);
	ASSERT_TRUE(strstr(img_store_error(&s), "digest mismatch") != NULL);
	ASSERT_EQ(s.nimages, 0);
	img_store_release(&s);
	for (int i = 0; i < 5; i++)
		free(b[i].data);
	for (int i = 0; i < 3; i++)
		free(n[i]);
	free(lt);
	free(tar);
}

TEST(images_import_dir_skips_already_imported)
{
	const struct tent e1[] = { { 'f', "a", "1", 0, 0 } };
	const struct tent e2[] = { { 'f', "a", "2", 0, 0 } };
	const char *l1[] = { layer("l1.tar", e1, 1) }, *l2[] = { layer("l2.tar", e2, 1) };
	struct img_store s;
	char *dir, *tar, *id;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 12345, 0 } };

	open_store(&s);
	dir = xasprintf("%s/import", s.root);
	tar = xasprintf("%s/app.tar", dir);
	free(docker_archive(tar, "app:1", l1, 1, false));
	ASSERT_OK(img_import_dir(&s, dir));
	ASSERT_NOT_NULL(img_find(&s, "app:1"));
	ASSERT_OK(img_remove(&s, "app:1"));
	ASSERT_OK(img_import_dir(&s, dir));		/* unchanged: skipped */
	ASSERT_NULL(img_find(&s, "app:1"));
	ASSERT_OK(utimensat(AT_FDCWD, tar, ts, 0));	/* same bytes, new mtime */
	ASSERT_OK(img_import_dir(&s, dir));
	ASSERT_NULL(img_find(&s, "app:1"));
	id = docker_archive(tar, "app:1", l2, 1, false);	/* new content */
	ASSERT_OK(img_import_dir(&s, dir));
	ASSERT_NOT_NULL(img_find(&s, "app:1"));
	ASSERT_STR_EQ(img_find(&s, "app:1")->id, id);
	ASSERT_OK(img_import_dir(&s, tp("missing")));
	img_store_release(&s);
	free(id);
	free(dir);
	free(tar);
}

TEST(images_name_normalize)
{
	static const char *const cases[][2] = {
		{ "busybox", "docker.io/library/busybox:latest" },
		{ "busybox:1.36", "docker.io/library/busybox:1.36" },
		{ "user/app", "docker.io/user/app:latest" },
		{ "localhost/app:x", "localhost/app:x" },
		{ "reg.io:5000/a/b:c", "reg.io:5000/a/b:c" },
		{ "k1s.local/busybox:test", "k1s.local/busybox:test" },
		{ "a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  "docker.io/library/a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
		{ "", NULL }, { "Upper", NULL }, { "a b", NULL }, { "a:", NULL },
		{ "/a", NULL }, { "a//b", NULL }, { "a@sha256:12", NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *n = img_name_normalize(cases[i][0]);

		if (cases[i][1])
			ASSERT_STR_EQ(n, cases[i][1]);
		else
			ASSERT_NULL(n);
		free(n);
	}
}

TEST(images_remove_untags_then_deletes_keeping_shared_layers)
{
	const struct tent base[] = { { 'f', "base", "b", 0, 0 } };
	const struct tent top[] = { { 'f', "top", "t", 0, 0 } };
	const char *one[] = { layer("b.tar", base, 1) };
	const char *two[] = { one[0], layer("t.tar", top, 1) };
	char *ta = tp("a.tar"), *tb = tp("b.tar2"), *tc = tp("c.tar");
	struct img_store s;

	free(docker_archive(ta, "a:1", one, 1, false));
	free(docker_archive(tc, "a:2", one, 1, false));	/* same image, second name */
	free(docker_archive(tb, "b:1", two, 2, false));
	open_store(&s);
	ASSERT_OK(img_import(&s, ta, NULL));
	ASSERT_OK(img_import(&s, tc, NULL));
	ASSERT_OK(img_import(&s, tb, NULL));
	ASSERT_EQ(s.nimages, 2);
	ASSERT_EQ(img_find(&s, "a:1")->nnames, 2);
	ASSERT_OK(img_remove(&s, "a:1"));		/* untag only */
	ASSERT_EQ(s.nimages, 2);
	ASSERT_NULL(img_find(&s, "a:1"));
	ASSERT_OK(img_remove(&s, "a:2"));
	ASSERT_EQ(s.nimages, 1);
	ASSERT_EQ(count_dir(&s, "layers"), 2);		/* base still used by b */
	ASSERT_EQ(img_remove(&s, "a:2"), -ENOENT);
	ASSERT_OK(img_remove(&s, img_find(&s, "b:1")->id + 7));
	ASSERT_EQ(count_dir(&s, "layers"), 0);
	ASSERT_EQ(count_dir(&s, "blobs/sha256"), 0);
	img_store_release(&s);
	free(ta);
	free(tb);
	free(tc);
}

/* Fake usage: 30% plus 20% per image left. */
static int fake_usage(void *arg, const char *root, unsigned *pct)
{
	const struct img_store *s = arg;

	(void)root;
	*pct = 30 + 20 * (unsigned)s->nimages;
	return 0;
}

TEST(images_gc_removes_least_recently_used_unused_images)
{
	const struct tent e[4][1] = { { { 'f', "a", "0", 0, 0 } }, { { 'f', "a", "1", 0, 0 } },
				      { { 'f', "a", "2", 0, 0 } }, { { 'f', "a", "3", 0, 0 } } };
	static const char *const tags[] = { "gc:0", "gc:1", "gc:2", "gc:3" };
	const char *const in_use[] = { "gc:0" };
	struct img_store s;
	size_t removed;

	open_store(&s);
	s.usage = fake_usage;
	s.usage_arg = &s;
	for (int i = 0; i < 4; i++) {
		char *ln = xasprintf("l%d.tar", i), *tn = xasprintf("i%d.tar", i);
		const char *l[] = { layer(ln, e[i], 1) };
		char *tar = tp(tn);

		free(docker_archive(tar, tags[i], l, 1, false));
		ASSERT_OK(img_import(&s, tar, NULL));
		free((char *)l[0]);
		free(tar);
		free(ln);
		free(tn);
	}
	/* Last use: gc:0 oldest (but in use), then gc:2, gc:3, gc:1 newest. */
	for (int i = 0; i < 4; i++)
		((struct img_image *)img_find(&s, tags[i]))->last_used = (int[]){ 10, 40, 20, 30 }[i];
	ASSERT_OK(img__save(&s));
	ASSERT_OK(img_gc(&s, 120, 60, in_use, 1, &removed));	/* 110% < 120% */
	ASSERT_EQ(removed, 0);
	ASSERT_EQ(s.nimages, 4);
	ASSERT_OK(img_gc(&s, 100, 75, in_use, 1, &removed)); /* 110%: until < 75% */
	ASSERT_EQ(removed, 2);
	ASSERT_NOT_NULL(img_find(&s, "gc:0"));
	ASSERT_NOT_NULL(img_find(&s, "gc:1"));
	ASSERT_NULL(img_find(&s, "gc:2"));
	ASSERT_NULL(img_find(&s, "gc:3"));
	ASSERT_EQ(count_dir(&s, "layers"), 2);
	ASSERT_OK(img_gc(&s, 10, 0, in_use, 1, &removed));	/* only gc:0 is left */
	ASSERT_EQ(removed, 1);
	ASSERT_NOT_NULL(img_find(&s, "gc:0"));
	ASSERT_EQ(count_dir(&s, "layers"), 1);
	img_store_release(&s);
}

TEST(images_rootfs_overlay_mount)
{
	const struct tent e1[] = { { 'f', "etc/a", "one", 0, 0 }, { 'f', "etc/gone", "x", 0, 0 } };
	const struct tent e2[] = { { 'f', "etc/.wh.gone", "", 0, 0 }, { 'f', "etc/b", "two", 0, 0 } };
	const char *layers[] = { layer("l1.tar", e1, 1 + 1), layer("l2.tar", e2, 2) };
	char *tar = tp("img.tar"), *cdir = tp("ctr");
	char *data = NULL, *p, *want;
	struct img_store s;
	struct img_rootfs r;
	const struct img_image *img;
	int e;

	free(docker_archive(tar, "ov:1", layers, 2, false));
	open_store(&s);
	ASSERT_OK(img_import(&s, tar, NULL));
	img = img_find(&s, "ov:1");
	ASSERT_EQ(img_rootfs_prepare(&s, "nope:1", cdir, &r), -ENOENT);
	ASSERT_OK(img_rootfs_prepare(&s, "ov:1", cdir, &r));
	want = xasprintf("%s/layers/%s:%s/layers/%s", s.root, img->layers[1].diff_id + 7,
			 s.root, img->layers[0].diff_id + 7);
	ASSERT_STR_EQ(r.lowerdir, want);
	e = img_rootfs_mount(&r);
	if (e == -EPERM) {
		fprintf(stderr, "skipping the mount part: no privilege\n");
	} else {
		ASSERT_OK(e);
		p = xasprintf("%s/etc/a", r.merged);
		ASSERT_OK(read_file(p, 100, &data, NULL));
		ASSERT_STR_EQ(data, "one");
		free(p);
		p = xasprintf("%s/etc/gone", r.merged);
		ASSERT_TRUE(access(p, F_OK) < 0 && errno == ENOENT);
		free(p);
		ASSERT_OK(img_rootfs_unmount(&r));
		ASSERT_OK(img_rootfs_unmount(&r));	/* not mounted: fine */
	}
	img_rootfs_release(&r);
	img_store_release(&s);
	free(data);
	free(want);
	free(tar);
	free(cdir);
}
