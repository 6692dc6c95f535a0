/*
 * Fuzz target for the layer unpacker (images/unpack.c), the hostile-input
 * boundary of the image store.
 *
 * Input: a layer tarball (any compression). It is unpacked into
 * <base>/root, next to <base>/sentinel/file. After each run the target
 * checks that nothing escaped: <base> holds exactly "root" and "sentinel",
 * the sentinel is untouched (content, link count), the working directory is
 * back where it was, and the tree under root holds no device node other
 * than overlay whiteouts (char 0/0). Any violation aborts.
 *
 * The image sources are compiled in here (mk/fuzz.mk builds lib/, server/
 * and store/ only).
 */
#include "../../images/unpack.c"
#include "../../images/store.c"

#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>

static char base[64], root[96], sentinel[96], cwd[PATH_MAX];

static void cleanup(void)
{
	img__rm_rf(base);
}

static void setup_once(void)
{
	char *p;

	if (base[0])
		return;
	snprintf(base, sizeof(base), "/tmp/k1s-tar-fuzz-%d", (int)getpid());
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel/file", base);
	img__rm_rf(base);
	p = xasprintf("%s/sentinel", base);
	if (mkdir_p(p, 0755) || write_file_atomic(sentinel, "sentinel", 8, 0644))
		abort();
	free(p);
	if (!getcwd(cwd, sizeof(cwd)))
		abort();
	atexit(cleanup);
}

static int check_node(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)path;
	(void)flag;
	(void)f;
	if (S_ISBLK(st->st_mode) || S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode) ||
	    (S_ISCHR(st->st_mode) && st->st_rdev != 0))
		abort();
	return 0;
}

static void check_nothing_escaped(void)
{
	DIR *d = opendir(base);
	struct dirent *e;
	struct stat st;
	char *data = NULL, now[PATH_MAX];
	size_t len;

	if (!d)
		abort();
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "root") && strcmp(e->d_name, "sentinel"))
			abort();
	closedir(d);
	if (lstat(sentinel, &st) || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    read_file(sentinel, 64, &data, &len) || len != 8 || memcmp(data, "sentinel", 8))
		abort();
	free(data);
	if (!getcwd(now, sizeof(now)) || strcmp(now, cwd))
		abort();
	if (nftw(root, check_node, 16, FTW_PHYS) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char diff[IMG_DIGEST_LEN + 1], dig[IMG_DIGEST_LEN + 1], err[256];
	uint64_t usize;
	int fd;

	setup_once();
	img__rm_rf(root);
	if (mkdir(root, 0755))
		abort();
	fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0 || write_all(fd, data, size) || lseek(fd, 0, SEEK_SET))
		abort();
	if (img_unpack_fd(fd, root, diff, dig, &usize, err, sizeof(err)) < 0 && !err[0])
		abort();	/* a failure always says why */
	close(fd);
	check_nothing_escaped();
	return 0;
}
