/*
 * bench/storage - what a volume snapshot and a restore cost on the btrfs
 * backend (agent/lvol.h), for volumes holding 1 MiB, 100 MiB and 1 GiB,
 * next to copying the same data with `cp -a` and with tar in the same run.
 *
 *   bench-storage DIR [MIB...]   (default sizes 1 100 1024)
 *
 * DIR (empty, removed by the caller) gets a sparse pool image loop-mounted
 * by lvol_open; everything is deleted and the pool unmounted (its loop
 * device freed) before exit, also after a failed step. Data is written as
 * 1 MiB files and synced first. "snapshot" is what the agent does
 * (syncfs of the volume, then a read-only snapshot); "restore" a writable
 * snapshot of it with a quota limit; the copies run inside the same pool
 * and end with a syncfs, so each figure is of durable data. cp -a is
 * coreutils' default (it reflinks on btrfs) and --reflink=never (a real
 * copy, what the directory backend does). Target: snapshot < 50 ms at
 * 1 GiB, independent of the size. Never fails on a time.
 */
#include "agent/lvol.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL_SIZE (8ULL << 30)	/* sparse; the largest run needs ~2 GiB */
#define MIB (1ULL << 20)

struct run {
	struct lvol_store *s;
	unsigned mib;
	char vol[32], snap[32], rest[32];
};

static double ms_since(uint64_t t0)
{
	return (double)(mono_ns() - t0) / 1e6;
}

static int syncfs_path(const char *p)
{
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = syncfs(fd) ? -errno : 0;
	close(fd);
	return r;
}

/* mib files of 1 MiB (distinct contents) in dir, then synced. */
static int fill(const char *dir, unsigned mib)
{
	char *buf = xmalloc(MIB);
	int ret = 0;

	for (unsigned i = 0; i < mib && !ret; i++) {
		char *p = xasprintf("%s/f%04u", dir, i);

		for (size_t k = 0; k < MIB / sizeof(uint64_t); k++)
			((uint64_t *)buf)[k] = (uint64_t)i * 0x9e3779b97f4a7c15ULL + k;
		ret = write_file_atomic(p, buf, MIB, 0644);
		free(p);
	}
	free(buf);
	return ret ? ret : syncfs_path(dir);
}

/* Runs a shell command, then syncs the pool; ms, or -1 when it failed. */
static double timed_sh(const struct lvol_store *s, const char *cmd)
{
	uint64_t t0 = mono_ns();

	if (system(cmd) != 0 || syncfs_path(s->root))
		return -1;
	return ms_since(t0);
}

enum copy_kind { COPY_CP, COPY_CP_NOREFLINK, COPY_TAR, COPY_N };

static const char *const copy_names[COPY_N] = {
	[COPY_CP] = "cp -a", [COPY_CP_NOREFLINK] = "cp -a --reflink=never",
	[COPY_TAR] = "tar c | tar x",
};

/* Time of a copy of src into <pool>/bench-copy, removed after. */
static double copy_ms(const struct lvol_store *s, const char *src, enum copy_kind k)
{
	char *dst = xasprintf("%s/bench-copy", s->root), *cmd, *rm;
	double ms;

	if (k == COPY_CP)
		cmd = xasprintf("cp -a '%s' '%s'", src, dst);
	else if (k == COPY_CP_NOREFLINK)
		cmd = xasprintf("cp -a --reflink=never '%s' '%s'", src, dst);
	else
		cmd = xasprintf("mkdir '%s' && tar -C '%s' -cf - . | tar -C '%s' -xf -", dst, src, dst);
	ms = timed_sh(s, cmd);
	rm = xasprintf("rm -rf '%s'", dst);
	if (system(rm) != 0)
		ms = -1;
	free(dst);
	free(cmd);
	free(rm);
	return ms;
}

static void print_ms(const char *what, double ms)
{
	if (ms < 0)
		printf("  %-28s failed\n", what);
	else
		printf("  %-28s %10.1f ms\n", what, ms);
}

/* One size: fill, snapshot, restore (checked), the copies; all deleted after. */
static int run_size(struct run *r)
{
	char *err = NULL, *v = NULL, *rp = NULL, *a = NULL;
	uint64_t limit = (uint64_t)r->mib * 2 * MIB + 64 * MIB, t0;
	int ret;

	snprintf(r->vol, sizeof(r->vol), "bench-%u", r->mib);
	snprintf(r->snap, sizeof(r->snap), "bench-%u-snap", r->mib);
	snprintf(r->rest, sizeof(r->rest), "bench-%u-restore", r->mib);
	printf("-- %u MiB in %u files\n", r->mib, r->mib);
	ret = lvol_create(r->s, r->vol, limit, &err);
	if (ret)
		goto out;
	v = lvol_path(r->s, r->vol);
	ret = fill(v, r->mib);
	if (ret) {
		err = xasprintf("cannot write the data: %s", strerror(-ret));
		goto out;
	}
	t0 = mono_ns();
	ret = lvol_snapshot(r->s, r->vol, r->snap, NULL, &err);
	if (ret)
		goto out;
	print_ms("snapshot (syncfs + snapshot)", ms_since(t0));
	t0 = mono_ns();
	ret = lvol_restore(r->s, r->snap, r->rest, limit, &err);
	if (ret)
		goto out;
	print_ms("restore (snapshot + quota)", ms_since(t0));
	/* the restore holds the data: compare the last file */
	rp = lvol_path(r->s, r->rest);
	a = xasprintf("cmp -s '%s/f%04u' '%s/f%04u'", v, r->mib - 1, rp, r->mib - 1);
	if (system(a) != 0) {
		err = xstrdup("the restore does not hold the data");
		ret = -EIO;
		goto out;
	}
	for (int k = 0; k < COPY_N; k++)
		print_ms(copy_names[k], copy_ms(r->s, v, k));
out:
	if (ret)
		fprintf(stderr, "bench-storage: %u MiB: %s\n", r->mib, err ? err : strerror(-ret));
	free(err);
	err = NULL;
	/* deletions report -ENOENT for what was never made */
	lvol_delete(r->s, r->rest, &err);
	free(err);
	err = NULL;
	lvol_snapshot_delete(r->s, r->snap, &err);
	free(err);
	err = NULL;
	lvol_delete(r->s, r->vol, &err);
	free(err);
	free(v);
	free(rp);
	free(a);
	return ret;
}

int main(int argc, char **argv)
{
	static const unsigned def[] = { 1, 100, 1024 };
	struct lvol_store s = { 0 };
	char *err = NULL;
	int ret = 0, n = argc > 2 ? argc - 2 : (int)ARRAY_SIZE(def);

	if (argc < 2) {
		fprintf(stderr, "usage: bench-storage DIR [MIB...]\n");
		return 2;
	}
	if (geteuid() != 0 || access("/dev/loop-control", W_OK)) {
		printf("skipped: needs root and loop devices (btrfs pool image)\n");
		return 0;
	}
	if (lvol_open(&s, argv[1], LVOL_BTRFS, POOL_SIZE, &err)) {
		printf("skipped: no btrfs pool: %s\n", err ? err : "?");
		free(err);
		lvol_close(&s);
		return 0;
	}
	printf("pool: %s (btrfs%s)\n", s.root, s.mounted ? ", loop-mounted sparse image" : "");
	for (int i = 0; i < n; i++) {
		struct run r = { .s = &s, .mib = argc > 2 ? (unsigned)atoi(argv[i + 2]) : def[i] };

		if (r.mib && run_size(&r))
			ret = 1;
	}
	lvol_close(&s);
	return ret;
}
