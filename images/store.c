/*
 * images/store.c - the store's index, names, lookup, removal and sweeping.
 */
#include "img_int.h"
#include "../lib/json.h"
#include "../lib/log.h"
#include "../lib/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ---- small helpers ---- */

void img__sha_init(struct img__sha *h)
{
	mbedtls_sha256_init(&h->ctx);
	mbedtls_sha256_starts_ret(&h->ctx, 0);
}

void img__sha_update(struct img__sha *h, const void *data, size_t len)
{
	if (len)
		mbedtls_sha256_update_ret(&h->ctx, data, len);
}

void img__sha_final(struct img__sha *h, char out[IMG_DIGEST_LEN + 1])
{
	unsigned char d[32];

	mbedtls_sha256_finish_ret(&h->ctx, d);
	mbedtls_sha256_free(&h->ctx);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
}

int img__sha_file(const char *path, char out[IMG_DIGEST_LEN + 1])
{
	struct img__sha h;
	char buf[64 * 1024];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	img__sha_init(&h);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		img__sha_update(&h, buf, (size_t)n);
	}
	img__sha_final(&h, out);
	close(fd);
	return r;
}

bool img__digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) || strlen(d) != IMG_DIGEST_LEN)
		return false;
	for (d += 7; *d; d++)
		if (!isdigit((unsigned char)*d) && !(*d >= 'a' && *d <= 'f'))
			return false;
	return true;
}

int img__fail(struct img_store *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return err;
}

const char *img_store_error(const struct img_store *s)
{
	return s->err[0] ? s->err : "unknown error";
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DNR)
		chmod(path, 0700);
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int img__rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) ? -errno : 0;
}

char *img__blob_path(const struct img_store *s, const char *digest)
{
	return xasprintf("%s/blobs/sha256/%s", s->root, digest + 7);
}

char *img__layer_path(const struct img_store *s, const char *diff_id)
{
	return xasprintf("%s/layers/%s", s->root, diff_id + 7);
}

int img__blob_put(struct img_store *s, const char *digest, const void *data, size_t len)
{
	char got[IMG_DIGEST_LEN + 1];
	struct img__sha h;
	char *path;
	int r;

	img__sha_init(&h);
	img__sha_update(&h, data, len);
	img__sha_final(&h, got);
	if (!img__digest_valid(digest) || strcmp(got, digest))
		return img__fail(s, -EINVAL, "digest mismatch: want %s, got %s", digest, got);
	path = img__blob_path(s, digest);
	r = access(path, F_OK) ? write_file_atomic(path, data, len, 0644) : 0;
	if (r)
		img__fail(s, r, "cannot write '%s': %s", path, strerror(-r));
	free(path);
	return r;
}

/* ---- the index ---- */

void img__image_release(struct img_image *img)
{
	for (size_t i = 0; i < img->nnames; i++)
		free(img->names[i]);
	free(img->names);
	free(img->layers);
	memset(img, 0, sizeof(*img));
}

static void index_clear(struct img_store *s)
{
	for (size_t i = 0; i < s->nimages; i++)
		img__image_release(&s->images[i]);
	s->nimages = 0;
	for (size_t i = 0; i < s->nseen; i++)
		free(s->seen[i].path);
	s->nseen = 0;
}

static int image_from_json(const cJSON *o, struct img_image *img)
{
	const cJSON *a, *it;
	const char *id = json_get_str(o, "id", ""), *m = json_get_str(o, "manifest", "");

	memset(img, 0, sizeof(*img));
	if (!img__digest_valid(id) || !img__digest_valid(m))
		return -EINVAL;
	strcpy(img->id, id);
	strcpy(img->manifest, m);
	img->created = json_get_int(o, "created", 0);
	img->last_used = json_get_int(o, "lastUsed", 0);
	a = json_get(o, "names");
	cJSON_ArrayForEach(it, a)
		if (cJSON_IsString(it)) {
			img->names = xrealloc(img->names, (img->nnames + 1) * sizeof(char *));
			img->names[img->nnames++] = xstrdup(it->valuestring);
		}
	a = json_get(o, "layers");
	cJSON_ArrayForEach(it, a) {
		const char *d = json_get_str(it, "diffID", "");

		if (!img__digest_valid(d) || img->nlayers >= IMG_MAX_LAYERS)
			return -EINVAL;
		img->layers = xrealloc(img->layers, (img->nlayers + 1) * sizeof(*img->layers));
		strcpy(img->layers[img->nlayers].diff_id, d);
		img->layers[img->nlayers].size = (uint64_t)json_get_int(it, "size", 0);
		img->size += img->layers[img->nlayers++].size;
	}
	return 0;
}

int img_store_reload(struct img_store *s)
{
	char *path = xasprintf("%s/index.json", s->root), *data = NULL;
	cJSON *root = NULL, *it;
	size_t len;
	int r = read_file(path, IMG_MAX_JSON_BYTES, &data, &len);

	index_clear(s);
	if (r == -ENOENT) {
		r = 0;
		goto out;
	}
	if (r) {
		r = img__fail(s, r, "cannot read '%s': %s", path, strerror(-r));
		goto out;
	}
	root = json_parse(data, len);
	if (!root) {
		r = img__fail(s, -EINVAL, "'%s' is not valid JSON", path);
		goto out;
	}
	cJSON_ArrayForEach(it, json_get(root, "images")) {
		ALLOC_GROW(s->images, s->nimages + 1, s->alloc);
		if (image_from_json(it, &s->images[s->nimages])) {
			img__image_release(&s->images[s->nimages]);
			r = img__fail(s, -EINVAL, "'%s': bad image record", path);
			goto out;
		}
		s->nimages++;
	}
	cJSON_ArrayForEach(it, json_get(root, "imported")) {
		struct img_seen *e;

		ALLOC_GROW(s->seen, s->nseen + 1, s->seen_alloc);
		e = &s->seen[s->nseen++];
		e->path = xstrdup(json_get_str(it, "path", ""));
		e->size = (uint64_t)json_get_int(it, "size", 0);
		e->mtime_ns = json_get_int(it, "mtimeNs", 0);
		snprintf(e->sha256, sizeof(e->sha256), "%s", json_get_str(it, "sha256", ""));
	}
out:
	cJSON_Delete(root);
	free(data);
	free(path);
	return r;
}

int img__save(struct img_store *s)
{
	cJSON *root = cJSON_CreateObject(), *imgs = cJSON_AddArrayToObject(root, "images");
	cJSON *seen = cJSON_AddArrayToObject(root, "imported");
	char *path = xasprintf("%s/index.json", s->root), *data;
	int r;

	for (size_t i = 0; i < s->nimages; i++) {
		const struct img_image *img = &s->images[i];
		cJSON *o = cJSON_CreateObject(), *names, *layers;

		json_set_str(o, "id", img->id);
		json_set_str(o, "manifest", img->manifest);
		names = cJSON_AddArrayToObject(o, "names");
		for (size_t j = 0; j < img->nnames; j++)
			cJSON_AddItemToArray(names, cJSON_CreateString(img->names[j]));
		layers = cJSON_AddArrayToObject(o, "layers");
		for (size_t j = 0; j < img->nlayers; j++) {
			cJSON *l = cJSON_CreateObject();

			json_set_str(l, "diffID", img->layers[j].diff_id);
			json_set_int(l, "size", (int64_t)img->layers[j].size);
			cJSON_AddItemToArray(layers, l);
		}
		json_set_int(o, "created", img->created);
		json_set_int(o, "lastUsed", img->last_used);
		cJSON_AddItemToArray(imgs, o);
	}
	for (size_t i = 0; i < s->nseen; i++) {
		cJSON *o = cJSON_CreateObject();

		json_set_str(o, "path", s->seen[i].path);
		json_set_int(o, "size", (int64_t)s->seen[i].size);
		json_set_int(o, "mtimeNs", s->seen[i].mtime_ns);
		json_set_str(o, "sha256", s->seen[i].sha256);
		cJSON_AddItemToArray(seen, o);
	}
	data = json_print(root);
	r = write_file_atomic(path, data, strlen(data), 0644);
	if (r)
		img__fail(s, r, "cannot write '%s': %s", path, strerror(-r));
	free(data);
	free(path);
	cJSON_Delete(root);
	return r;
}

int img__lock(struct img_store *s)
{
	int r;

	while (flock(s->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return img__fail(s, -errno, "cannot lock the image store: %s",
					 strerror(errno));
	r = img_store_reload(s);
	if (r)
		flock(s->lockfd, LOCK_UN);
	return r;
}

void img__unlock(struct img_store *s)
{
	flock(s->lockfd, LOCK_UN);
}

static int statvfs_usage(void *arg, const char *root, unsigned *pct);

int img_store_open(struct img_store *s, const char *data_dir)
{
	static const char *const dirs[] = { "blobs/sha256", "layers", "import", "tmp" };
	char *p, *lock;
	int r = 0;

	memset(s, 0, sizeof(*s));
	s->lockfd = -1;
	s->usage = statvfs_usage;
	s->root = xasprintf("%s/agent/images", data_dir);
	for (size_t i = 0; i < ARRAY_SIZE(dirs) && !r; i++) {
		p = xasprintf("%s/%s", s->root, dirs[i]);
		r = mkdir_p(p, 0700);
		if (r)
			img__fail(s, r, "cannot create '%s': %s", p, strerror(-r));
		free(p);
	}
	if (r)
		return r;
	lock = xasprintf("%s/lock", s->root);
	s->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0)
		r = img__fail(s, -errno, "cannot open '%s': %s", lock, strerror(errno));
	free(lock);
	return r ? r : img_store_reload(s);
}

void img_store_release(struct img_store *s)
{
	index_clear(s);
	free(s->images);
	free(s->seen);
	free(s->root);
	if (s->lockfd >= 0)
		close(s->lockfd);
	memset(s, 0, sizeof(*s));
	s->lockfd = -1;
}

/* ---- names and lookup ---- */

static bool ref_chars_ok(const char *r)
{
	for (; *r; r++)
		if (!isalnum((unsigned char)*r) && !strchr("._-/:@", *r))
			return false;
	return true;
}

char *img_name_normalize(const char *ref)
{
	const char *at, *slash, *colon, *first_end;
	char *name, *out;
	const char *tag = "latest", *domain = "", *lib = "";
	size_t n;

	if (!ref || !ref[0] || strlen(ref) > 512 || !ref_chars_ok(ref))
		return NULL;
	at = strchr(ref, '@');
	n = at ? (size_t)(at - ref) : strlen(ref);
	if (at && !img__digest_valid(at + 1))
		return NULL;
	name = xstrndup(ref, n);
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	if (colon && (!slash || colon > slash)) {
		name[colon - name] = '\0';
		tag = colon + 1;
		if (!tag[0])
			goto bad;
	}
	if (!name[0] || name[strlen(name) - 1] == '/' || name[0] == '/' || strstr(name, "//"))
		goto bad;
	first_end = strchr(name, '/');
	if (!first_end || !(memchr(name, '.', (size_t)(first_end - name)) ||
			    memchr(name, ':', (size_t)(first_end - name)) ||
			    !strncmp(name, "localhost/", 10))) {
		domain = "docker.io/";
		if (!first_end)
			lib = "library/";
	}
	for (const char *p = first_end && !domain[0] ? first_end : name; *p; p++)
		if (isupper((unsigned char)*p))
			goto bad;
	if (at)
		out = xasprintf("%s%s%s%s", domain, lib, name, at);
	else
		out = xasprintf("%s%s%s:%s", domain, lib, name, tag);
	free(name);
	return out;
bad:
	free(name);
	return NULL;
}

static bool is_hex(const char *p)
{
	for (; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
			return false;
	return true;
}

/* Index of the image ref names (*name_idx = which name, or -1 for an ID). */
static ssize_t find_idx(const struct img_store *s, const char *ref, ssize_t *name_idx)
{
	char *norm = img_name_normalize(ref);
	const char *hex = str_has_prefix(ref, "sha256:") ? ref + 7 : ref;
	ssize_t found = -1;

	*name_idx = -1;
	for (size_t i = 0; norm && i < s->nimages; i++)
		for (size_t j = 0; j < s->images[i].nnames; j++)
			if (!strcmp(s->images[i].names[j], norm)) {
				*name_idx = (ssize_t)j;
				free(norm);
				return (ssize_t)i;
			}
	free(norm);
	if (strlen(hex) < 4 || strlen(hex) > 64 || !is_hex(hex))
		return -1;
	for (size_t i = 0; i < s->nimages; i++)
		if (!strncmp(s->images[i].id + 7, hex, strlen(hex))) {
			if (found >= 0)
				return -1;	/* ambiguous */
			found = (ssize_t)i;
		}
	return found;
}

const struct img_image *img_find(const struct img_store *s, const char *ref)
{
	ssize_t ni, i = find_idx(s, ref, &ni);

	return i < 0 ? NULL : &s->images[i];
}

void img__add_image(struct img_store *s, struct img_image *img)
{
	struct img_image *old = NULL;

	/* A name moves to the image that now carries it. */
	for (size_t n = 0; n < img->nnames; n++)
		for (size_t i = 0; i < s->nimages; i++)
			for (size_t j = 0; j < s->images[i].nnames; j++)
				if (!strcmp(s->images[i].names[j], img->names[n]) &&
				    strcmp(s->images[i].id, img->id)) {
					free(s->images[i].names[j]);
					s->images[i].names[j] =
						s->images[i].names[--s->images[i].nnames];
					break;
				}
	for (size_t i = 0; i < s->nimages; i++)
		if (!strcmp(s->images[i].id, img->id))
			old = &s->images[i];
	if (!old) {
		ALLOC_GROW(s->images, s->nimages + 1, s->alloc);
		s->images[s->nimages++] = *img;
		memset(img, 0, sizeof(*img));
		return;
	}
	for (size_t n = 0; n < img->nnames; n++) {
		bool have = false;

		for (size_t j = 0; j < old->nnames; j++)
			have |= !strcmp(old->names[j], img->names[n]);
		if (have) {
			free(img->names[n]);
			continue;
		}
		old->names = xrealloc(old->names, (old->nnames + 1) * sizeof(char *));
		old->names[old->nnames++] = img->names[n];
	}
	img->nnames = 0;
	img__image_release(img);
}

/* ---- removal, sweeping, GC ---- */

static bool referenced(const struct img_store *s, const char *hex, bool layer)
{
	for (size_t i = 0; i < s->nimages; i++) {
		const struct img_image *img = &s->images[i];

		if (!layer && (!strcmp(img->id + 7, hex) || !strcmp(img->manifest + 7, hex)))
			return true;
		for (size_t j = 0; layer && j < img->nlayers; j++)
			if (!strcmp(img->layers[j].diff_id + 7, hex))
				return true;
	}
	return false;
}

static int sweep_dir(struct img_store *s, const char *sub, bool layer)
{
	char *dir = xasprintf("%s/%s", s->root, sub), *p;
	DIR *d = opendir(dir);
	struct dirent *e;
	int r = 0, rr;

	if (!d) {
		r = errno == ENOENT ? 0 : -errno;
		free(dir);
		return r;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (strlen(e->d_name) == 64 && is_hex(e->d_name) &&
		    referenced(s, e->d_name, layer))
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		rr = img__rm_rf(p);
		if (rr && !r)
			r = img__fail(s, rr, "cannot remove '%s': %s", p, strerror(-rr));
		free(p);
	}
	closedir(d);
	free(dir);
	return r;
}

int img__sweep(struct img_store *s)
{
	int r = sweep_dir(s, "layers", true);
	int r2 = sweep_dir(s, "blobs/sha256", false);
	char *tmp = xasprintf("%s/tmp", s->root);
	int r3 = img__rm_rf(tmp);

	mkdir(tmp, 0700);
	free(tmp);
	return r ? r : r2 ? r2 : r3;
}

static void image_drop(struct img_store *s, size_t i)
{
	img__image_release(&s->images[i]);
	s->images[i] = s->images[--s->nimages];
}

int img_remove(struct img_store *s, const char *ref)
{
	ssize_t ni, i;
	int r = img__lock(s);

	if (r)
		return r;
	i = find_idx(s, ref, &ni);
	if (i < 0) {
		r = img__fail(s, -ENOENT, "image '%s' not found", ref);
		goto out;
	}
	if (ni >= 0 && s->images[i].nnames > 1) {
		struct img_image *img = &s->images[i];

		free(img->names[ni]);
		img->names[ni] = img->names[--img->nnames];
	} else {
		image_drop(s, (size_t)i);
	}
	r = img__save(s);
	if (!r)
		r = img__sweep(s);
out:
	img__unlock(s);
	return r;
}

static int statvfs_usage(void *arg, const char *root, unsigned *pct)
{
	struct statvfs st;

	(void)arg;
	if (statvfs(root, &st) < 0)
		return -errno;
	if (!st.f_blocks) {
		*pct = 0;
		return 0;
	}
	*pct = (unsigned)(100 - (uint64_t)st.f_bavail * 100 / st.f_blocks);
	return 0;
}

/* The index of the least recently used image not in use, or -1. */
static ssize_t gc_victim(const struct img_store *s, const char *const *in_use, size_t n)
{
	ssize_t best = -1;

	for (size_t i = 0; i < s->nimages; i++) {
		const struct img_image *img = &s->images[i];
		bool used = false;

		for (size_t k = 0; k < n && !used; k++)
			used = img_find(s, in_use[k]) == img;
		if (used)
			continue;
		if (best < 0 || img->last_used < s->images[best].last_used ||
		    (img->last_used == s->images[best].last_used &&
		     img->created < s->images[best].created))
			best = (ssize_t)i;
	}
	return best;
}

int img_gc(struct img_store *s, unsigned high_pct, unsigned low_pct,
	   const char *const *in_use, size_t n_in_use, size_t *removed)
{
	unsigned pct;
	size_t gone = 0;
	ssize_t v;
	int r = img__lock(s);

	if (r)
		return r;
	while (!(r = s->usage(s->usage_arg, s->root, &pct)) &&
	       pct >= (gone ? low_pct : high_pct)) {
		v = gc_victim(s, in_use, n_in_use);
		if (v < 0)
			break;
		log_info("image gc: removing %s (%s), usage %u%%", s->images[v].id,
			 s->images[v].nnames ? s->images[v].names[0] : "<none>", pct);
		image_drop(s, (size_t)v);
		gone++;
		r = img__save(s);
		if (!r)
			r = img__sweep(s);
		if (r)
			break;
	}
	if (r && !s->err[0])
		img__fail(s, r, "image gc: %s", strerror(-r));
	if (!r)
		r = img__sweep(s);
	img__unlock(s);
	if (removed)
		*removed = gone;
	return r;
}
