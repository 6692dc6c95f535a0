/*
 * agent/lvol.c - volumes, snapshots, restores on btrfs or plain directories
 * (agent/lvol.h).
 */
#include "lvol.h"
#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/btrfs.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(char **err, int r, const char *fmt, ...) K1S_PRINTF(3, 4);
static int fail(char **err, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return r;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > LVOL_ID_MAX || id[0] == '.')
		return false;
	for (; *id; id++)
		if (!islower((unsigned char)*id) && !isdigit((unsigned char)*id) && *id != '-' &&
		    *id != '.')
			return false;
	return true;
}

static bool on_btrfs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BTRFS_SUPER_MAGIC;
}

/* ---- the pool: a loop-mounted image when the directory is not btrfs ---- */

static int run_mkfs(const char *image, char **err)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return fail(err, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execlp("mkfs.btrfs", "mkfs.btrfs", "-q", "-L", "k1s-local", image, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return fail(err, -EIO, "mkfs.btrfs %s failed%s", image,
			    WIFEXITED(st) && WEXITSTATUS(st) == 127 ? " (btrfs-progs not installed)" : "");
	return 0;
}

/*
 * Attaches image to a free loop device (autoclear); *dev gets its path and
 * *out_fd an open descriptor of it: autoclear detaches the device at the last
 * close, so it must stay open until the file system is mounted.
 */
static int loop_attach(const char *image, char dev[32], int *out_fd, char **err)
{
	int ctl, fd, lfd = -1, n, r = 0;
	struct loop_info64 info = { .lo_flags = LO_FLAGS_AUTOCLEAR };

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return fail(err, -errno, "/dev/loop-control: %s", strerror(errno));
	fd = open(image, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = fail(err, -errno, "%s: %s", image, strerror(errno));
		goto out;
	}
	for (int tries = 0; tries < 8; tries++) {	/* another process may take it first */
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			r = fail(err, -errno, "no free loop device: %s", strerror(errno));
			goto out;
		}
		snprintf(dev, 32, "/dev/loop%d", n);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			r = fail(err, -errno, "%s: %s", dev, strerror(errno));
			goto out;
		}
		struct loop_config lc = { .fd = (uint32_t)fd, .info = { .lo_flags = LO_FLAGS_AUTOCLEAR } };

		if (!ioctl(lfd, LOOP_CONFIGURE, &lc))
			goto configured;
		if (errno == EINVAL && !ioctl(lfd, LOOP_SET_FD, fd))	/* before Linux 5.8 */
			break;
		close(lfd);
		lfd = -1;
		if (errno != EBUSY) {
			r = fail(err, -errno, "%s: LOOP_SET_FD: %s", dev, strerror(errno));
			goto out;
		}
	}
	if (lfd < 0) {
		r = fail(err, -EBUSY, "loop devices are all busy");
		goto out;
	}
	if (ioctl(lfd, LOOP_SET_STATUS64, &info)) {
		r = fail(err, -errno, "%s: LOOP_SET_STATUS64: %s", dev, strerror(errno));
		ioctl(lfd, LOOP_CLR_FD, 0);
	}
configured:
out:
	if (!r)
		*out_fd = lfd;
	else if (lfd >= 0)
		close(lfd);
	if (fd >= 0)
		close(fd);
	close(ctl);
	return r;
}

static int quota_enable(const char *root, char **err)
{
	struct btrfs_ioctl_quota_ctl_args q = { .cmd = BTRFS_QUOTA_CTL_ENABLE };
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return fail(err, -errno, "%s: %s", root, strerror(errno));
	if (ioctl(fd, BTRFS_IOC_QUOTA_CTL, &q) && errno != EEXIST)
		r = fail(err, -errno, "enabling btrfs quotas on %s: %s", root, strerror(errno));
	close(fd);
	return r;
}

static int pool_mount(struct lvol_store *s, uint64_t size, char **err)
{
	char *image = xasprintf("%s/pool.img", s->dir), dev[32];
	struct stat st;
	int r = 0, lfd = -1;

	s->root = xasprintf("%s/pool", s->dir);
	if (on_btrfs(s->root)) {		/* already mounted (agent restart) */
		free(image);
		return 0;
	}
	if (stat(image, &st)) {
		int fd = open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd < 0 || ftruncate(fd, (off_t)size)) {
			r = fail(err, -errno, "cannot create %s: %s", image, strerror(errno));
			if (fd >= 0)
				close(fd);
			unlink(image);
			goto out;
		}
		close(fd);
		r = run_mkfs(image, err);
		if (r) {
			unlink(image);
			goto out;
		}
	}
	mkdir(s->root, 0700);
	r = loop_attach(image, dev, &lfd, err);
	if (r)
		goto out;
	if (mount(dev, s->root, "btrfs", MS_NOATIME, NULL))
		r = fail(err, -errno, "mount %s on %s: %s", dev, s->root, strerror(errno));
	else
		s->mounted = true;
	close(lfd);	/* the mount holds the device now; a failed one frees it */
out:
	free(image);
	return r;
}

int lvol_open(struct lvol_store *s, const char *dir, enum lvol_backend want, uint64_t pool_size,
	      char **err)
{
	int r;

	*err = NULL;
	memset(s, 0, sizeof(*s));
	s->dir = xstrdup(dir);
	r = mkdir_p(dir, 0700);
	if (r)
		return fail(err, r, "cannot create %s: %s", dir, strerror(-r));
	if (want != LVOL_DIR && on_btrfs(dir)) {
		s->root = xstrdup(dir);
	} else if (want != LVOL_DIR) {
		r = pool_mount(s, pool_size ? pool_size : LVOL_DEFAULT_POOL_SIZE, err);
		if (r && want == LVOL_BTRFS)
			return r;
		if (r) {	/* auto: fall back to directories */
			free(*err);
			*err = NULL;
			free(s->root);
			s->root = NULL;
		}
	}
	if (s->root) {
		s->backend = LVOL_BTRFS;
		r = quota_enable(s->root, err);
		if (r) {
			lvol_close(s);
			return r;
		}
	} else {
		s->backend = LVOL_DIR;
		s->root = xasprintf("%s/dirs", dir);
	}
	char *v = xasprintf("%s/volumes", s->root), *sn = xasprintf("%s/snapshots", s->root);

	r = mkdir_p(v, 0700);
	if (!r)
		r = mkdir_p(sn, 0700);
	free(v);
	free(sn);
	if (r) {
		lvol_close(s);
		return fail(err, r, "cannot create the store layout in %s", dir);
	}
	return 0;
}

void lvol_close(struct lvol_store *s)
{
	if (s->mounted)
		umount2(s->root, MNT_DETACH);	/* lazily: a pod may still hold it */
	free(s->dir);
	free(s->root);
	memset(s, 0, sizeof(*s));
}

/* ---- paths ---- */

static char *path_of(const struct lvol_store *s, const char *kind, const char *id)
{
	return xasprintf("%s/%s/%s", s->root, kind, id);
}

char *lvol_path(const struct lvol_store *s, const char *id)
{
	return path_of(s, "volumes", id);
}

/* ---- btrfs ---- */

static int open_dir(const char *p, char **err)
{
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return fail(err, -errno, "%s: %s", p, strerror(errno));
	return fd;
}

static int subvol_create(const char *parent, const char *name, char **err)
{
	struct btrfs_ioctl_vol_args a = { 0 };
	int fd = open_dir(parent, err), r = 0;

	if (fd < 0)
		return fd;
	snprintf(a.name, sizeof(a.name), "%s", name);
	if (ioctl(fd, BTRFS_IOC_SUBVOL_CREATE, &a))
		r = fail(err, -errno, "creating subvolume %s/%s: %s", parent, name, strerror(errno));
	close(fd);
	return r;
}

static int subvol_snapshot(const char *src, const char *parent, const char *name, bool ro,
			   char **err)
{
	struct btrfs_ioctl_vol_args_v2 a = { .flags = ro ? BTRFS_SUBVOL_RDONLY : 0 };
	int sfd = open_dir(src, err), pfd, r = 0;

	if (sfd < 0)
		return sfd;
	pfd = open_dir(parent, err);
	if (pfd < 0) {
		close(sfd);
		return pfd;
	}
	if (ro)
		syncfs(sfd);	/* everything written before the request is in it */
	a.fd = sfd;
	snprintf(a.name, sizeof(a.name), "%s", name);
	if (ioctl(pfd, BTRFS_IOC_SNAP_CREATE_V2, &a))
		r = fail(err, -errno, "snapshot of %s as %s/%s: %s", src, parent, name, strerror(errno));
	close(pfd);
	close(sfd);
	return r;
}

static int subvol_delete(const char *parent, const char *name, char **err)
{
	struct btrfs_ioctl_vol_args a = { 0 };
	int fd = open_dir(parent, err), r = 0;

	if (fd < 0)
		return fd;
	snprintf(a.name, sizeof(a.name), "%s", name);
	if (ioctl(fd, BTRFS_IOC_SNAP_DESTROY, &a))
		r = errno == ENOENT ? -ENOENT :
		    fail(err, -errno, "deleting subvolume %s/%s: %s", parent, name, strerror(errno));
	close(fd);
	return r;
}

static int qgroup_limit(const char *path, uint64_t size, char **err)
{
	struct btrfs_ioctl_qgroup_limit_args a = {
		.qgroupid = 0,	/* the subvolume the fd is in */
		.lim = { .flags = BTRFS_QGROUP_LIMIT_MAX_RFER, .max_rfer = size ? size : (uint64_t)-1 },
	};
	int fd = open_dir(path, err), r = 0;

	if (fd < 0)
		return fd;
	if (ioctl(fd, BTRFS_IOC_QGROUP_LIMIT, &a))
		r = fail(err, -errno, "setting the size of %s: %s", path, strerror(errno));
	close(fd);
	return r;
}

/* ---- directories ---- */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return (flag == FTW_DP ? rmdir(p) : unlink(p)) ? -errno : 0;
}

static int rm_tree(const char *p)
{
	struct stat st;

	if (lstat(p, &st))
		return -errno;
	return nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS) ? -EIO : 0;
}

static const char *copy_src, *copy_dst;

static int copy_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	char *d = xasprintf("%s%s", copy_dst, p + strlen(copy_src));
	int r = 0;

	(void)f;
	if (flag == FTW_D) {
		if (mkdir(d, st->st_mode & 07777) && errno != EEXIST)
			r = -errno;
	} else if (flag == FTW_SL) {
		char t[4096];
		ssize_t n = readlink(p, t, sizeof(t) - 1);

		if (n < 0 || (t[n] = 0, symlink(t, d)))
			r = -errno;
	} else if (S_ISREG(st->st_mode)) {
		int in = open(p, O_RDONLY | O_CLOEXEC), out;

		out = in < 0 ? -1 : open(d, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
		for (ssize_t n = 1; in >= 0 && out >= 0 && n > 0;)
			n = copy_file_range(in, NULL, out, NULL, 1 << 20, 0);
		if (in < 0 || out < 0)
			r = -errno;
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
	}	/* devices, fifos, sockets: not volume data */
	if (!r && flag != FTW_SL)
		r = lchown(d, st->st_uid, st->st_gid) ? -errno : 0;
	free(d);
	return r;
}

static int copy_tree(const char *src, const char *dst, char **err)
{
	int r;

	copy_src = src;
	copy_dst = dst;
	r = nftw(src, copy_entry, 16, FTW_PHYS);
	if (r)
		return fail(err, r < 0 ? r : -EIO, "copying %s to %s failed", src, dst);
	return 0;
}

/* ---- operations ---- */

static int check_ids(const char *a, const char *b, char **err)
{
	if (!valid_id(a))
		return fail(err, -EINVAL, "invalid volume id '%s'", a);
	if (b && !valid_id(b))
		return fail(err, -EINVAL, "invalid volume id '%s'", b);
	return 0;
}

int lvol_create(struct lvol_store *s, const char *id, uint64_t size, char **err)
{
	char *p, *parent;
	int r;

	*err = NULL;
	if ((r = check_ids(id, NULL, err)))
		return r;
	p = path_of(s, "volumes", id);
	if (!access(p, F_OK)) {
		free(p);
		return fail(err, -EEXIST, "volume %s exists", id);
	}
	parent = xasprintf("%s/volumes", s->root);
	if (s->backend == LVOL_BTRFS) {
		r = subvol_create(parent, id, err);
		if (!r && size && (r = qgroup_limit(p, size, err)))
			subvol_delete(parent, id, NULL);
	} else if (mkdir(p, 0777)) {
		r = fail(err, -errno, "%s: %s", p, strerror(errno));
	}
	if (!r)
		chmod(p, 0777);	/* as local-path does: any pod user may write */
	free(parent);
	free(p);
	return r;
}

int lvol_resize(struct lvol_store *s, const char *id, uint64_t size, char **err)
{
	char *p;
	int r = 0;

	*err = NULL;
	if ((r = check_ids(id, NULL, err)))
		return r;
	p = path_of(s, "volumes", id);
	if (access(p, F_OK))
		r = fail(err, -ENOENT, "no volume %s", id);
	else if (s->backend == LVOL_BTRFS)
		r = qgroup_limit(p, size, err);
	free(p);
	return r;
}

static int remove_kind(struct lvol_store *s, const char *kind, const char *id, char **err)
{
	char *parent = xasprintf("%s/%s", s->root, kind), *p = path_of(s, kind, id);
	int r;

	*err = NULL;
	r = check_ids(id, NULL, err);
	if (r)
		goto out;
	if (access(p, F_OK)) {
		r = -ENOENT;
		goto out;
	}
	if (s->backend == LVOL_BTRFS)
		r = subvol_delete(parent, id, err);
	else if ((r = rm_tree(p)))
		fail(err, r, "removing %s: %s", p, strerror(-r));
out:
	free(parent);
	free(p);
	return r;
}

int lvol_delete(struct lvol_store *s, const char *id, char **err)
{
	return remove_kind(s, "volumes", id, err);
}

int lvol_snapshot_delete(struct lvol_store *s, const char *id, char **err)
{
	return remove_kind(s, "snapshots", id, err);
}

/* src (kind/id) -> dst (kind/id): a snapshot (btrfs) or a copy (dir). */
static int duplicate(struct lvol_store *s, const char *skind, const char *sid, const char *dkind,
		     const char *did, bool ro, uint64_t size, char **err)
{
	char *src = path_of(s, skind, sid), *dst = path_of(s, dkind, did);
	char *parent = xasprintf("%s/%s", s->root, dkind);
	int r;

	*err = NULL;
	if ((r = check_ids(sid, did, err)))
		goto out;
	if (access(src, F_OK)) {
		r = fail(err, -ENOENT, "no %s %s", skind[0] == 'v' ? "volume" : "snapshot", sid);
		goto out;
	}
	if (!access(dst, F_OK)) {
		r = fail(err, -EEXIST, "%s exists", dst);
		goto out;
	}
	if (s->backend == LVOL_BTRFS) {
		r = subvol_snapshot(src, parent, did, ro, err);
		if (!r && !ro && (r = qgroup_limit(dst, size, err)))
			subvol_delete(parent, did, NULL);
	} else {
		int fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0) {
			syncfs(fd);
			close(fd);
		}
		r = copy_tree(src, dst, err);
		if (r)
			rm_tree(dst);
	}
out:
	free(src);
	free(dst);
	free(parent);
	return r;
}

static uint64_t used_bytes;
static int add_size(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		used_bytes += (uint64_t)st->st_size;
	return 0;
}

static int tree_size(const char *p, uint64_t *bytes, char **err)
{
	used_bytes = 0;
	if (nftw(p, add_size, 16, FTW_PHYS))
		return fail(err, -EIO, "cannot walk %s", p);
	*bytes = used_bytes;
	return 0;
}

int lvol_snapshot(struct lvol_store *s, const char *vol, const char *snap, uint64_t *size,
		  char **err)
{
	int r = duplicate(s, "volumes", vol, "snapshots", snap, true, 0, err);
	char *p;

	if (r || !size)
		return r;
	p = path_of(s, "snapshots", snap);
	r = tree_size(p, size, err);
	free(p);
	return r;
}

int lvol_restore(struct lvol_store *s, const char *snap, const char *vol, uint64_t size,
		 char **err)
{
	return duplicate(s, "snapshots", snap, "volumes", vol, false, size, err);
}

int lvol_clone(struct lvol_store *s, const char *src, const char *vol, uint64_t size, char **err)
{
	return duplicate(s, "volumes", src, "volumes", vol, false, size, err);
}

int lvol_used(struct lvol_store *s, const char *id, uint64_t *bytes, char **err)
{
	char *p = path_of(s, "volumes", id);
	int r;

	*err = NULL;
	r = check_ids(id, NULL, err);
	if (!r)
		r = tree_size(p, bytes, err);
	free(p);
	return r;
}
