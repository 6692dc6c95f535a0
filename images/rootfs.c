/*
 * images/rootfs.c - a container's root filesystem: overlayfs over the
 * image's layer snapshots with a private upper and work directory.
 */
#include "img_int.h"
#include "../lib/buf.h"
#include "../lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MOUNT_DATA_MAX 4096	/* the kernel copies at most one page of options */

void img_rootfs_release(struct img_rootfs *r)
{
	free(r->lowerdir);
	free(r->upper);
	free(r->work);
	free(r->merged);
	memset(r, 0, sizeof(*r));
}

static int make_dirs(struct img_store *s, struct img_rootfs *r, const char *dir)
{
	const char *const paths[] = { r->upper, r->work, r->merged };
	int e;

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		e = mkdir_p(paths[i], 0755);
		if (e)
			return img__fail(s, e, "cannot create '%s': %s", paths[i], strerror(-e));
	}
	(void)dir;
	return 0;
}

int img_rootfs_prepare(struct img_store *s, const char *ref,
		       const char *container_dir, struct img_rootfs *r)
{
	struct img_image *img;
	struct buf b;
	struct stat sb;
	char *p;
	int e;

	memset(r, 0, sizeof(*r));
	e = img__lock(s);
	if (e)
		return e;
	img = (struct img_image *)img_find(s, ref);
	if (!img) {
		e = img__fail(s, -ENOENT, "image '%s' not found", ref);
		goto out;
	}
	buf_init(&b, 256);
	for (size_t i = img->nlayers; i-- > 0;) {
		p = img__layer_path(s, img->layers[i].diff_id);
		if (stat(p, &sb) < 0 || !S_ISDIR(sb.st_mode))
			e = img__fail(s, -ENOENT, "layer '%s' of image '%s' is missing",
				      img->layers[i].diff_id, ref);
		buf_addf(&b, "%s%s", b.len ? ":" : "", p);
		free(p);
	}
	r->upper = xasprintf("%s/upper", container_dir);
	r->work = xasprintf("%s/work", container_dir);
	r->merged = xasprintf("%s/rootfs", container_dir);
	if (!img->nlayers) {	/* overlayfs needs a lower layer: an empty one */
		p = xasprintf("%s/empty", container_dir);
		mkdir_p(p, 0755);
		buf_addstr(&b, p);
		free(p);
	}
	r->lowerdir = buf_detach(&b, NULL);
	if (e)
		goto out;
	e = make_dirs(s, r, container_dir);
	if (e)
		goto out;
	img->last_used = time(NULL);
	e = img__save(s);
out:
	img__unlock(s);
	if (e)
		img_rootfs_release(r);
	return e;
}

int img_rootfs_mount(const struct img_rootfs *r)
{
	char *opts;
	int e = 0;

	if (strpbrk(r->upper, ",:") || strpbrk(r->work, ",:"))
		return -EINVAL;
	opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", r->lowerdir, r->upper,
			 r->work);
	if (strlen(opts) >= MOUNT_DATA_MAX)
		e = -E2BIG;
	else if (mount("overlay", r->merged, "overlay", 0, opts) < 0)
		e = -errno;
	free(opts);
	return e;
}

int img_rootfs_unmount(const struct img_rootfs *r)
{
	if (!umount2(r->merged, UMOUNT_NOFOLLOW))
		return 0;
	if (errno == EINVAL || errno == ENOENT)
		return 0;	/* not mounted */
	if (errno == EBUSY && !umount2(r->merged, MNT_DETACH | UMOUNT_NOFOLLOW))
		return 0;
	return -errno;
}
