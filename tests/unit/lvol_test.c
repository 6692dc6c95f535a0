/* agent/lvol: volumes, sizes, snapshots, restores, clones on btrfs and on plain directories. */
#include "test.h"
#include "agent/lvol.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool can_btrfs(void)
{
	return geteuid() == 0 && !access("/dev/loop-control", W_OK) &&
	       (!access("/usr/sbin/mkfs.btrfs", X_OK) || !access("/sbin/mkfs.btrfs", X_OK));
}

static void put(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);

	ASSERT_OK(write_file_atomic(p, text, strlen(text), 0644));
	free(p);
}

static char *get(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name), *d = NULL;
	size_t n;

	if (read_file(p, 1 << 20, &d, &n))
		d = NULL;
	free(p);
	return d;
}

/* Bytes written (1 MiB at a time, fsync'd) before the first error, up to max MiB. */
static size_t fill(const char *dir, int max_mib)
{
	char *p = xasprintf("%s/fill", dir), *buf = xcalloc(1, 1 << 20);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t done = 0;

	for (int i = 0; fd >= 0 && i < max_mib; i++) {
		if (write(fd, buf, 1 << 20) != 1 << 20 || fsync(fd))
			break;
		done += 1 << 20;
	}
	if (fd >= 0)
		close(fd);
	unlink(p);
	free(p);
	free(buf);
	return done;
}

static void exercise(enum lvol_backend want)
{
	struct lvol_store s;
	char *err = NULL, *v1, *v2, *v3, *t, *snap;
	uint64_t size = 0;

	if (lvol_open(&s, test_tmpdir(), want, 256 << 20, &err))
		printf("lvol_open: %s\n", err);
	ASSERT_TRUE(s.root != NULL);
	ASSERT_EQ(s.backend, want);
	ASSERT_OK(lvol_create(&s, "pv-1", 10 << 20, &err));
	ASSERT_EQ(lvol_create(&s, "pv-1", 0, &err), -EEXIST);
	free(err);
	ASSERT_EQ(lvol_create(&s, "../x", 0, &err), -EINVAL);
	free(err);
	v1 = lvol_path(&s, "pv-1");
	put(v1, "a", "before");
	ASSERT_OK(lvol_snapshot(&s, "pv-1", "snap-1", &size, &err));
	ASSERT_EQ(size, 6);
	put(v1, "a", "after!");
	put(v1, "b", "new");
	ASSERT_OK(lvol_restore(&s, "snap-1", "pv-2", 10 << 20, &err));
	v2 = lvol_path(&s, "pv-2");
	t = get(v2, "a");
	ASSERT_STR_EQ(t, "before");	/* exactly the pre-snapshot data */
	free(t);
	ASSERT_TRUE(get(v2, "b") == NULL);
	ASSERT_OK(lvol_clone(&s, "pv-1", "pv-3", 0, &err));
	v3 = lvol_path(&s, "pv-3");
	t = get(v3, "b");
	ASSERT_STR_EQ(t, "new");
	free(t);
	ASSERT_EQ(lvol_restore(&s, "nope", "pv-4", 0, &err), -ENOENT);
	free(err);
	if (want == LVOL_BTRFS) {
		snap = xasprintf("%s/snapshots/snap-1/a", s.root);
		ASSERT_EQ(open(snap, O_WRONLY), -1);	/* snapshots are read-only */
		ASSERT_EQ(errno, EROFS);
		free(snap);
		ASSERT_LT(fill(v1, 30), 11 << 20);	/* the size is enforced */
		ASSERT_OK(lvol_resize(&s, "pv-1", 40 << 20, &err));
		ASSERT_EQ(fill(v1, 20), 20 << 20);	/* ... and grows */
	} else {
		ASSERT_EQ(fill(v1, 12), 12 << 20);	/* directories: not enforced */
	}
	ASSERT_OK(lvol_delete(&s, "pv-1", &err));
	ASSERT_OK(lvol_delete(&s, "pv-2", &err));
	ASSERT_OK(lvol_delete(&s, "pv-3", &err));
	ASSERT_OK(lvol_snapshot_delete(&s, "snap-1", &err));
	ASSERT_EQ(lvol_delete(&s, "pv-1", &err), -ENOENT);
	ASSERT_TRUE(access(v1, F_OK) != 0);
	char *root = xstrdup(s.root);
	bool mounted = s.mounted;

	lvol_close(&s);
	if (mounted) {	/* unmounted, and the loop device went with it (autoclear) */
		char *m = NULL;
		size_t n;

		ASSERT_OK(read_file("/proc/self/mounts", 1 << 20, &m, &n));
		ASSERT_TRUE(strstr(m, root) == NULL);
		free(m);
	}
	free(root);
	free(v1);
	free(v2);
	free(v3);
}

TEST(lvol_btrfs)
{
	if (!can_btrfs()) {
		printf("skip: needs root, loop devices and mkfs.btrfs\n");
		return;
	}
	exercise(LVOL_BTRFS);
}

TEST(lvol_dir)
{
	exercise(LVOL_DIR);
}
