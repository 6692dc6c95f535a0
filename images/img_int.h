/*
 * images/img_int.h - internals shared by the files of images/ (not for other
 * modules). Double-underscore names are internal.
 */
#ifndef K1S_IMAGES_INT_H
#define K1S_IMAGES_INT_H

#include "images.h"

#include <mbedtls/sha256.h>
#include <stdarg.h>

/* The architecture an image index is resolved for. */
#if defined(__x86_64__)
#define IMG_ARCH "amd64"
#elif defined(__aarch64__)
#define IMG_ARCH "arm64"
#elif defined(__arm__)
#define IMG_ARCH "arm"
#else
#define IMG_ARCH "unknown"
#endif

/* Streaming sha256 (mbedtls 2.x API, which cannot fail for sha256). */
struct img__sha {
	mbedtls_sha256_context ctx;
};
void img__sha_init(struct img__sha *h);
void img__sha_update(struct img__sha *h, const void *data, size_t len);
/* Writes "sha256:<64 hex>" and frees the context. */
void img__sha_final(struct img__sha *h, char out[IMG_DIGEST_LEN + 1]);
/* sha256 of a whole file into "sha256:<hex>". 0 or -errno. */
int img__sha_file(const char *path, char out[IMG_DIGEST_LEN + 1]);
/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool img__digest_valid(const char *d);

/* Sets s->err (printf-style) and returns err (a -errno). */
int img__fail(struct img_store *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Removes a tree (no symlink following, no crossing mounts). 0 or -errno. */
int img__rm_rf(const char *path);

/*
 * Cleans a tar entry name: "./a//b/." -> "a/b" ("" is the root). -EINVAL
 * for absolute names and ".." components, -ENAMETOOLONG past IMG_MAX_PATH.
 * out must hold IMG_MAX_PATH bytes.
 */
int img__clean_name(const char *name, char *out, size_t outlen);
/*
 * Opens the directory holding the last component of a cleaned path below
 * rootfd without following symlinks (creating missing directories when
 * create). Returns an fd and sets *last, or -ENOENT / -ELOOP / -errno.
 */
int img__open_parent(int rootfd, const char *path, bool create, const char **last);

/* Store locking and persistence (store.c). */
int img__lock(struct img_store *s);
void img__unlock(struct img_store *s);
int img__save(struct img_store *s);
/* The store's paths, malloc'd. */
char *img__blob_path(const struct img_store *s, const char *digest);
char *img__layer_path(const struct img_store *s, const char *diff_id);
/* Writes data as blob digest (verified). 0, -EINVAL on mismatch, -errno. */
int img__blob_put(struct img_store *s, const char *digest, const void *data, size_t len);
/* Adds (or merges names into) an image record; takes ownership of *img's arrays. */
void img__add_image(struct img_store *s, struct img_image *img);
void img__image_release(struct img_image *img);
/*
 * Unpacks the layer read from fd into layers/<l->diff_id> (through a
 * layers/tmp-* directory renamed into place only when the diffID, and the
 * digest of the bytes read when digest is not NULL, match), and sets l->size.
 * An existing layer directory is kept and fd not read. what names the layer
 * in messages. Call with the store locked.
 */
int img__layer_unpack(struct img_store *s, int fd, const char *what, const char *digest,
		      struct img_layer *l);
/* After a failed change under the lock: re-reads the index and sweeps what
 * the failure left (half-unpacked layers, blobs), keeping s->err. */
void img__forget_partial(struct img_store *s);
/* Deletes layer dirs and blobs that no image references. */
int img__sweep(struct img_store *s);

#endif
