/*
 * images/import.c - importing docker-archive and OCI-archive tarballs.
 *
 * The outer tarball is first staged below tmp/ (regular files and
 * directories only; its symlinks and hardlinks, which old `docker save`
 * writes for repeated layers, are kept as an alias table), because its
 * manifest may come after the layers. Then each image's config and manifest
 * are verified and stored as blobs and its layers unpacked (img_unpack_fd)
 * into layers/, each diffID (and for OCI the blob digest) checked.
 */
#include "img_int.h"
#include "../lib/json.h"
#include "../lib/log.h"
#include "../lib/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


struct alias {
	char *name, *target;	/* both cleaned, relative to the staging root */
};

struct stage {
	struct img_store *s;
	char *dir;
	int dirfd;
	struct alias *aliases;
	size_t naliases, alias_alloc;
	char **names;		/* imported names, NULL-terminated */
	size_t nnames;
	char name[IMG_MAX_PATH], target[IMG_MAX_PATH];
};

/* ---- staging the outer archive ---- */

/* Joins a symlink's target to its directory; NULL when it leaves the root. */
static char *resolve_symlink(const char *name, const char *target)
{
	char *joined, *out, *p, *save = NULL;
	const char *slash = strrchr(name, '/');
	size_t n = 0;

	if (target[0] == '/')
		return NULL;
	joined = xasprintf("%.*s/%s", slash ? (int)(slash - name) : 0, name, target);
	out = xcalloc(1, strlen(joined) + 2);
	for (p = strtok_r(joined, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (!strcmp(p, "."))
			continue;
		if (!strcmp(p, "..")) {
			if (!n)
				goto bad;
			while (n && out[n - 1] != '/')
				n--;
			if (n)
				n--;
			out[n] = '\0';
			continue;
		}
		n += (size_t)sprintf(out + n, "%s%s", n ? "/" : "", p);
	}
	free(joined);
	return out;
bad:
	free(joined);
	free(out);
	return NULL;
}

static int stage_file(struct stage *st, struct archive *a, const char *name)
{
	const char *last;
	char buf[64 * 1024];
	ssize_t n;
	int pfd = img__open_parent(st->dirfd, name, true, &last), fd, r = 0;

	if (pfd < 0)
		return img__fail(st->s, pfd, "archive entry '%s': bad path", name);
	fd = openat(pfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && !unlinkat(pfd, last, 0))	/* a later copy wins */
		fd = openat(pfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(pfd);
	if (fd < 0)
		return img__fail(st->s, -errno, "archive entry '%s': %s", name, strerror(errno));
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
		if ((r = write_all(fd, buf, (size_t)n)))
			break;
	if (n < 0)
		r = img__fail(st->s, -EINVAL, "archive entry '%s': %s", name,
			      archive_error_string(a));
	else if (r)
		img__fail(st->s, r, "staging '%s': %s", name, strerror(-r));
	close(fd);
	return r;
}

static int stage_entry(struct stage *st, struct archive *a, struct archive_entry *e)
{
	const char *hl = archive_entry_hardlink(e), *sl = archive_entry_symlink(e);
	mode_t type = archive_entry_filetype(e);
	char *target = NULL;

	if (img__clean_name(archive_entry_pathname(e), st->name, sizeof(st->name)))
		return img__fail(st->s, -EPERM, "archive entry '%s' points outside",
				 archive_entry_pathname(e));
	if (!st->name[0])
		return 0;
	if (hl) {
		if (!img__clean_name(hl, st->target, sizeof(st->target)))
			target = xstrdup(st->target);
	} else if (type == AE_IFLNK && sl) {
		target = resolve_symlink(st->name, sl);
	} else if (type == AE_IFDIR) {
		char *p = xasprintf("%s/", st->name);
		const char *last;
		int fd = img__open_parent(st->dirfd, p, true, &last);

		free(p);
		if (fd < 0)
			return img__fail(st->s, fd, "archive entry '%s': bad path", st->name);
		close(fd);
		return 0;
	} else if (type == AE_IFREG) {
		return stage_file(st, a, st->name);
	}
	if (target) {	/* an alias; unusable ones are simply not recorded */
		ALLOC_GROW(st->aliases, st->naliases + 1, st->alias_alloc);
		st->aliases[st->naliases].name = xstrdup(st->name);
		st->aliases[st->naliases++].target = target;
	}
	return 0;
}

static int stage_archive(struct stage *st, const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t n = 0;
	int r;

	if (!a)
		BUG("libarchive: out of memory");
	if (archive_read_support_filter_gzip(a) < ARCHIVE_WARN ||
	    archive_read_support_filter_zstd(a) < ARCHIVE_WARN ||
	    archive_read_support_filter_none(a) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(a) < ARCHIVE_WARN) {
		r = img__fail(st->s, -ENOTSUP, "libarchive lacks tar, gzip or zstd support");
		goto out;
	}
	if (archive_read_open_filename(a, path, 64 * 1024) < ARCHIVE_WARN) {
		int ae = archive_errno(a) > 0 ? archive_errno(a) : EINVAL;

		r = img__fail(st->s, -ae, "cannot open '%s': %s", path, ae != EINVAL ?
			      strerror(ae) : archive_error_string(a));
		goto out;
	}
	for (;;) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF) {
			r = 0;
			break;
		}
		if (r < ARCHIVE_WARN || ++n > IMG_MAX_ARCHIVE_FILES) {
			r = img__fail(st->s, -EINVAL, "'%s': %s", path, r < ARCHIVE_WARN ?
				      archive_error_string(a) : "too many entries");
			break;
		}
		r = stage_entry(st, a, e);
		if (r)
			break;
	}
out:
	archive_read_free(a);
	return r;
}

/* Opens a staged file by archive path, following aliases a few times. */
static int stage_open(struct stage *st, const char *path)
{
	char name[IMG_MAX_PATH];
	const char *last, *cur = name;
	int pfd, fd = -ENOENT;

	if (img__clean_name(path, name, sizeof(name)) || !name[0])
		return img__fail(st->s, -EINVAL, "bad path '%s' in the image manifest", path);
	for (int hop = 0; hop < 8; hop++) {
		const char *next = NULL;

		pfd = img__open_parent(st->dirfd, cur, false, &last);
		if (pfd >= 0) {
			fd = openat(pfd, last, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			fd = fd < 0 ? -errno : fd;
			close(pfd);
			if (fd >= 0)
				return fd;
		}
		for (size_t i = 0; i < st->naliases && !next; i++)
			if (!strcmp(st->aliases[i].name, cur))
				next = st->aliases[i].target;
		if (!next)
			break;
		cur = next;
	}
	return img__fail(st->s, fd < 0 ? fd : -ENOENT, "'%s' is missing from the archive",
			 path);
}

static int stage_read(struct stage *st, const char *path, char **data, size_t *len)
{
	int fd = stage_open(st, path), r;
	struct stat sb;

	if (fd < 0)
		return fd;
	if (fstat(fd, &sb) < 0 || sb.st_size > IMG_MAX_JSON_BYTES) {
		close(fd);
		return img__fail(st->s, -EFBIG, "'%s' is larger than %u bytes", path,
				 IMG_MAX_JSON_BYTES);
	}
	*data = xmalloc((size_t)sb.st_size + 1);
	*len = 0;
	r = 0;
	while (*len < (size_t)sb.st_size) {
		ssize_t n = read(fd, *data + *len, (size_t)sb.st_size - *len);

		if (n <= 0) {
			r = img__fail(st->s, n < 0 ? -errno : -EIO, "cannot read '%s'", path);
			break;
		}
		*len += (size_t)n;
	}
	(*data)[*len] = '\0';
	close(fd);
	if (r) {
		free(*data);
		*data = NULL;
	}
	return r;
}

/* Reads and parses a staged JSON file; with digest, verifies it and stores it. */
static int stage_json(struct stage *st, const char *path, const char *digest,
		      char out_digest[IMG_DIGEST_LEN + 1], cJSON **out)
{
	char *data = NULL, got[IMG_DIGEST_LEN + 1];
	struct img__sha h;
	size_t len = 0;
	int r = stage_read(st, path, &data, &len);

	if (r)
		return r;
	img__sha_init(&h);
	img__sha_update(&h, data, len);
	img__sha_final(&h, got);
	if (out_digest)
		strcpy(out_digest, got);
	if (digest && strcmp(digest, got)) {
		r = img__fail(st->s, -EINVAL, "'%s': digest mismatch: want %s, got %s",
			      path, digest, got);
		goto out;
	}
	*out = json_parse(data, len);
	if (!*out) {
		r = img__fail(st->s, -EINVAL, "'%s' is not valid JSON", path);
		goto out;
	}
	if (out_digest || digest)
		r = img__blob_put(st->s, got, data, len);
out:
	free(data);
	return r;
}

/* ---- layers and images ---- */

static uint64_t known_layer_size(const struct img_store *s, const char *diff_id)
{
	for (size_t i = 0; i < s->nimages; i++)
		for (size_t j = 0; j < s->images[i].nlayers; j++)
			if (!strcmp(s->images[i].layers[j].diff_id, diff_id))
				return s->images[i].layers[j].size;
	return 0;
}

int img__layer_unpack(struct img_store *s, int fd, const char *what, const char *digest,
		      struct img_layer *l)
{
	char *dst = img__layer_path(s, l->diff_id), *tmp = NULL;
	char diff[IMG_DIGEST_LEN + 1], dig[IMG_DIGEST_LEN + 1], err[400];
	struct stat sb;
	int r = 0;

	if (!stat(dst, &sb) && S_ISDIR(sb.st_mode)) {
		l->size = known_layer_size(s, l->diff_id);
		goto out;
	}
	tmp = xasprintf("%s/layers/tmp-XXXXXX", s->root);
	if (!mkdtemp(tmp) || chmod(tmp, 0755) < 0) {
		r = img__fail(s, -errno, "cannot create '%s': %s", tmp, strerror(errno));
		goto out;
	}
	r = img_unpack_fd(fd, tmp, diff, dig, &l->size, err, sizeof(err));
	if (r)
		img__fail(s, r, "layer %s: %s", l->diff_id, err);
	else if (strcmp(diff, l->diff_id))
		r = img__fail(s, -EINVAL, "layer '%s': diffID mismatch: want %s, got %s",
			      what, l->diff_id, diff);
	else if (digest && strcmp(dig, digest))
		r = img__fail(s, -EINVAL, "layer '%s': digest mismatch: want %s, got %s",
			      what, digest, dig);
	else if (rename(tmp, dst) < 0)
		r = img__fail(s, -errno, "cannot rename '%s': %s", tmp, strerror(errno));
out:
	if (r && tmp)
		img__rm_rf(tmp);
	free(tmp);
	free(dst);
	return r;
}

/* Unpacks a staged layer unless layers/<diffID> exists. */
static int layer_ensure(struct stage *st, const char *path, const char *digest,
			struct img_layer *l)
{
	char *dst = img__layer_path(st->s, l->diff_id);
	struct stat sb;
	int fd, r;

	r = !stat(dst, &sb) && S_ISDIR(sb.st_mode);
	free(dst);
	if (r) {
		l->size = known_layer_size(st->s, l->diff_id);
		return 0;
	}
	fd = stage_open(st, path);
	if (fd < 0)
		return fd;
	r = img__layer_unpack(st->s, fd, path, digest, l);
	close(fd);
	return r;
}

/* Fills img->layers from config.rootfs.diff_ids. */
static int config_layers(struct stage *st, const cJSON *config, size_t want,
			 struct img_image *img)
{
	const cJSON *ids = json_path(config, "rootfs.diff_ids"), *it;

	if (!cJSON_IsArray(ids) || (size_t)cJSON_GetArraySize(ids) != want ||
	    want > IMG_MAX_LAYERS)
		return img__fail(st->s, -EINVAL, "image config: rootfs.diff_ids does not "
				 "match the %zu layers", want);
	img->layers = xcalloc(want ? want : 1, sizeof(*img->layers));
	cJSON_ArrayForEach(it, ids) {
		if (!cJSON_IsString(it) || !img__digest_valid(it->valuestring))
			return img__fail(st->s, -EINVAL, "image config: bad diff_id");
		strcpy(img->layers[img->nlayers++].diff_id, it->valuestring);
	}
	return 0;
}

static void add_name(struct img_image *img, const char *ref)
{
	char *n = img_name_normalize(ref);

	if (!n) {
		log_warn("image %s: ignoring invalid name '%s'", img->id, ref);
		return;
	}
	img->names = xrealloc(img->names, (img->nnames + 1) * sizeof(char *));
	img->names[img->nnames++] = n;
}

static void finish_image(struct stage *st, struct img_image *img)
{
	img->created = time(NULL);
	img->last_used = img->created;
	for (size_t i = 0; i < img->nlayers; i++)
		img->size += img->layers[i].size;
	st->names = xrealloc(st->names, (st->nnames + img->nnames + 2) * sizeof(char *));
	for (size_t i = 0; i < img->nnames; i++)
		st->names[st->nnames++] = xstrdup(img->names[i]);
	if (!img->nnames)
		st->names[st->nnames++] = xstrdup(img->id);
	st->names[st->nnames] = NULL;
	LOG_V(1, "imported image %s (%s)", img->nnames ? img->names[0] : "<none>", img->id);
	img__add_image(st->s, img);
}

/* A docker-archive manifest has no image manifest: write an OCI one. */
static int synth_manifest(struct stage *st, struct img_image *img, size_t config_len,
			  const uint64_t *sizes)
{
	struct buf b;
	struct img__sha h;
	int r;

	buf_init(&b, 512);
	buf_addf(&b, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image."
		 "manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci."
		 "image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[",
		 img->id, config_len);
	for (size_t i = 0; i < img->nlayers; i++)
		buf_addf(&b, "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
			 "\"digest\":\"%s\",\"size\":%llu}", i ? "," : "",
			 img->layers[i].diff_id, (unsigned long long)sizes[i]);
	buf_addstr(&b, "]}");
	img__sha_init(&h);
	img__sha_update(&h, b.data, b.len);
	img__sha_final(&h, img->manifest);
	r = img__blob_put(st->s, img->manifest, b.data, b.len);
	buf_release(&b);
	return r;
}

static int docker_image(struct stage *st, const cJSON *m)
{
	struct img_image img = { 0 };
	const cJSON *layers = json_get(m, "Layers"), *tags = json_get(m, "RepoTags"), *it;
	const char *cfg = json_get_str(m, "Config", NULL);
	cJSON *config = NULL;
	uint64_t *sizes = NULL;
	char *cpath;
	struct stat sb;
	size_t i = 0;
	int r;

	if (!cfg || !cJSON_IsArray(layers))
		return img__fail(st->s, -EINVAL, "manifest.json: entry without Config or Layers");
	r = stage_json(st, cfg, NULL, img.id, &config);
	if (r)
		goto out;
	r = config_layers(st, config, (size_t)cJSON_GetArraySize(layers), &img);
	if (r)
		goto out;
	sizes = xcalloc(img.nlayers + 1, sizeof(*sizes));
	cJSON_ArrayForEach(it, layers) {
		if (!cJSON_IsString(it)) {
			r = img__fail(st->s, -EINVAL, "manifest.json: bad layer path");
			goto out;
		}
		r = layer_ensure(st, it->valuestring, NULL, &img.layers[i]);
		if (r)
			goto out;
		int fd = stage_open(st, it->valuestring);
		if (fd >= 0) {
			sizes[i] = !fstat(fd, &sb) ? (uint64_t)sb.st_size : 0;
			close(fd);
		}
		i++;
	}
	cpath = img__blob_path(st->s, img.id);
	r = stat(cpath, &sb) < 0 ? -errno : 0;
	free(cpath);
	if (!r)
		r = synth_manifest(st, &img, (size_t)sb.st_size, sizes);
	if (r)
		goto out;
	cJSON_ArrayForEach(it, tags)
		if (cJSON_IsString(it))
			add_name(&img, it->valuestring);
	finish_image(st, &img);
out:
	free(sizes);
	cJSON_Delete(config);
	img__image_release(&img);
	return r;
}

static int import_docker(struct stage *st)
{
	cJSON *m = NULL, *it;
	int r = stage_json(st, "manifest.json", NULL, NULL, &m), n = 0;

	if (r)
		return r;
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) > IMG_MAX_IMAGES_PER_FILE)
		r = img__fail(st->s, -EINVAL, "manifest.json: not a list of up to %d images",
			      IMG_MAX_IMAGES_PER_FILE);
	cJSON_ArrayForEach(it, m) {
		if (r)
			break;
		r = docker_image(st, it);
		n++;
	}
	cJSON_Delete(m);
	return r;
}

static char *blob_name(const char *digest)
{
	return xasprintf("blobs/sha256/%s", digest + 7);
}

static int oci_manifest(struct stage *st, const char *digest, const cJSON *annotations)
{
	struct img_image img = { 0 };
	cJSON *man = NULL, *config = NULL;
	const cJSON *layers, *it;
	const char *cdig, *name;
	char *path = blob_name(digest);
	size_t i = 0;
	int r = stage_json(st, path, digest, NULL, &man);

	free(path);
	if (r)
		goto out;
	strcpy(img.manifest, digest);
	cdig = json_get_str(json_get(man, "config"), "digest", "");
	layers = json_get(man, "layers");
	if (!img__digest_valid(cdig) || !cJSON_IsArray(layers)) {
		r = img__fail(st->s, -EINVAL, "manifest %s: no config or layers", digest);
		goto out;
	}
	path = blob_name(cdig);
	r = stage_json(st, path, cdig, img.id, &config);
	free(path);
	if (!r)
		r = config_layers(st, config, (size_t)cJSON_GetArraySize(layers), &img);
	cJSON_ArrayForEach(it, layers) {
		const char *ld = json_get_str(it, "digest", "");

		if (r)
			break;
		if (!img__digest_valid(ld)) {
			r = img__fail(st->s, -EINVAL, "manifest %s: bad layer digest", digest);
			break;
		}
		path = blob_name(ld);
		r = layer_ensure(st, path, ld, &img.layers[i++]);
		free(path);
	}
	if (r)
		goto out;
	name = json_get_str(annotations, "io.containerd.image.name", NULL);
	if (!name) {	/* ref.name is often a bare tag: a name only with a '/' */
		name = json_get_str(annotations, "org.opencontainers.image.ref.name", NULL);
		if (name && !strchr(name, '/'))
			name = NULL;
	}
	if (name)
		add_name(&img, name);
	finish_image(st, &img);
out:
	cJSON_Delete(man);
	cJSON_Delete(config);
	img__image_release(&img);
	return r;
}

static bool is_index(const cJSON *desc)
{
	const char *mt = json_get_str(desc, "mediaType", "");

	return strstr(mt, "image.index") || strstr(mt, "manifest.list");
}

/* Picks linux/IMG_ARCH from a nested index. */
static int oci_index(struct stage *st, const char *digest, const cJSON *annotations)
{
	cJSON *idx = NULL;
	const cJSON *it;
	char *path = blob_name(digest);
	int r = stage_json(st, path, digest, NULL, &idx);

	free(path);
	if (r)
		return r;
	r = img__fail(st->s, -ENOENT, "index %s has no linux/%s image", digest, IMG_ARCH);
	cJSON_ArrayForEach(it, json_get(idx, "manifests")) {
		const cJSON *p = json_get(it, "platform");
		const char *d = json_get_str(it, "digest", "");

		if (!strcmp(json_get_str(p, "os", ""), "linux") &&
		    !strcmp(json_get_str(p, "architecture", ""), IMG_ARCH) &&
		    img__digest_valid(d) && !is_index(it)) {
			r = oci_manifest(st, d, annotations);
			break;
		}
	}
	cJSON_Delete(idx);
	return r;
}

static int import_oci(struct stage *st)
{
	cJSON *idx = NULL;
	const cJSON *it;
	int r = stage_json(st, "index.json", NULL, NULL, &idx), n = 0;

	if (r)
		return r;
	cJSON_ArrayForEach(it, json_get(idx, "manifests")) {
		const char *d = json_get_str(it, "digest", "");

		if (++n > IMG_MAX_IMAGES_PER_FILE || !img__digest_valid(d)) {
			r = img__fail(st->s, -EINVAL, "index.json: bad or too many manifests");
			break;
		}
		r = is_index(it) ? oci_index(st, d, json_get(it, "annotations")) :
			oci_manifest(st, d, json_get(it, "annotations"));
		if (r)
			break;
	}
	if (!r && !n)
		r = img__fail(st->s, -EINVAL, "index.json lists no images");
	cJSON_Delete(idx);
	return r;
}

static bool staged(struct stage *st, const char *name)
{
	return !faccessat(st->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW);
}

void img_names_free(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

int img_import(struct img_store *s, const char *path, char ***names)
{
	struct stage st = { .s = s, .dirfd = -1 };
	int r;

	s->err[0] = '\0';
	if (names)
		*names = NULL;
	r = img__lock(s);
	if (r)
		return r;
	st.dir = xasprintf("%s/tmp/import-XXXXXX", s->root);
	if (!mkdtemp(st.dir) || (st.dirfd = open(st.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = img__fail(s, -errno, "cannot create '%s': %s", st.dir, strerror(errno));
		goto out;
	}
	r = stage_archive(&st, path);
	if (r)
		goto out;
	if (staged(&st, "manifest.json"))
		r = import_docker(&st);
	else if (staged(&st, "index.json"))
		r = import_oci(&st);
	else
		r = img__fail(s, -EINVAL, "'%s' is neither a docker nor an OCI archive", path);
	if (!r)
		r = img__save(s);
out:
	if (r && s->err[0] && !strstr(s->err, path)) {
		char *msg = xasprintf("import '%s': %s", path, s->err);

		snprintf(s->err, sizeof(s->err), "%s", msg);
		free(msg);
	}
	if (st.dirfd >= 0)
		close(st.dirfd);
	img__rm_rf(st.dir);
	free(st.dir);
	for (size_t i = 0; i < st.naliases; i++) {
		free(st.aliases[i].name);
		free(st.aliases[i].target);
	}
	free(st.aliases);
	if (!r && names)
		*names = st.names;
	else
		img_names_free(st.names);
	if (r)
		img__forget_partial(s);
	img__unlock(s);
	return r;
}

void img__forget_partial(struct img_store *s)
{
	char keep[sizeof(s->err)];

	memcpy(keep, s->err, sizeof(keep));
	if (!img_store_reload(s))
		img__sweep(s);
	memcpy(s->err, keep, sizeof(keep));
}
