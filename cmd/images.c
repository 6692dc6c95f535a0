/*
 * k1s images - the node's image store (images/): import tarballs, list,
 * remove, and mount an image's root filesystem for inspection.
 *
 * Sub-commands are rows of subs[]; flags are shared by all of them.
 * Exit status: 0 ok, 1 failure, 2 bad usage.
 */
#include "cmd.h"
#include "../images/images.h"
#include "../lib/buf.h"
#include "../lib/flags.h"
#include "../lib/json.h"
#include "../lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_DATA_DIR "/var/lib/k1s"

struct opts {
	const char *data_dir;
	bool quiet;
	const char *registries;	/* registries.yaml */
	const char *auth_file;	/* dockerconfigjson for pull; "-" stdin */
};

struct sub {
	const char *name;
	const char *args;	/* synopsis of the positional arguments */
	int min, max;		/* how many (max -1: any) */
	int (*fn)(struct img_store *s, const struct opts *o, char **args, int n);
	const char *help;
};

static int sub_import(struct img_store *s, const struct opts *o, char **args, int n)
{
	int ret = 0;

	for (int i = 0; i < n; i++) {
		char **names = NULL;

		if (img_import(s, args[i], &names)) {
			fprintf(stderr, "error: images import: %s\n", img_store_error(s));
			ret = 1;
			continue;
		}
		for (size_t j = 0; names && names[j]; j++)
			if (!o->quiet)
				printf("imported %s\n", names[j]);
		img_names_free(names);
	}
	return ret;
}

static void human_size(uint64_t v, char *out, size_t len);

struct pull_out {
	bool quiet;
	uint64_t last_ns;
};

/* One line per layer start and end, and at most one a second between. */
static void pull_progress(const struct img_pull_progress *p, void *arg)
{
	struct pull_out *po = arg;
	uint64_t now = mono_ns();
	char a[32], b[32];

	if (po->quiet || (!p->finished && p->done && now - po->last_ns < 1000000000ull))
		return;
	po->last_ns = now;
	human_size(p->done, a, sizeof(a));
	human_size(p->total, b, sizeof(b));
	if (p->cached)
		printf("%.19s: already exists\n", p->digest);
	else if (p->finished)
		printf("%.19s: pull complete (%s, %llu bytes)\n", p->digest, a,
		       (unsigned long long)p->done);
	else
		printf("%.19s: downloading %s / %s (%llu / %llu bytes)\n", p->digest, a, b,
		       (unsigned long long)p->done, (unsigned long long)p->total);
	fflush(stdout);
}

/* Reads stdin (a pipe or socket: /dev/stdin can't be opened on a socket). */
static int read_stdin(struct buf *b, size_t max)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(0, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (b->len + (size_t)n > max)
			return -EFBIG;
		buf_add(b, chunk, (size_t)n);
	}
	return 0;
}

static int read_auths(const char *path, cJSON **auths)
{
	struct buf b;
	char *text = NULL;
	size_t n = 0;
	int r;
	cJSON *j;

	*auths = NULL;
	buf_init(&b, 1024);
	r = strcmp(path, "-") ? read_file(path, 1 << 20, &text, &n) : read_stdin(&b, 1 << 20);
	if (r < 0) {
		fprintf(stderr, "error: images pull: cannot read '%s': %s\n", path, strerror(-r));
		buf_release(&b);
		return 1;
	}
	j = text ? cJSON_ParseWithLength(text, n) : cJSON_ParseWithLength(b.data ? b.data : "", b.len);
	if (text)
		explicit_bzero(text, n);
	free(text);
	if (b.data)
		explicit_bzero(b.data, b.len);
	buf_release(&b);
	if (!j) {
		fprintf(stderr, "error: images pull: '%s' is not valid JSON\n", path);
		return 1;
	}
	*auths = cJSON_DetachItemFromObjectCaseSensitive(j, "auths");
	cJSON_Delete(j);
	return 0;
}

static int sub_pull(struct img_store *s, const struct opts *o, char **args, int n)
{
	struct pull_out po = { .quiet = o->quiet };
	struct img_pull_opts po_opts = { .progress = pull_progress, .progress_arg = &po };
	struct img_registries *reg = NULL;
	cJSON *auths = NULL;
	char *err = NULL, id[IMG_DIGEST_LEN + 1];
	int ret = 0;

	if (img_registries_load(o->registries, &reg, &err)) {
		fprintf(stderr, "error: images pull: %s\n", err);
		free(err);
		img_registries_free(reg);
		return 1;
	}
	if (o->auth_file && read_auths(o->auth_file, &auths)) {
		img_registries_free(reg);
		return 1;
	}
	po_opts.registries = reg;
	po_opts.auths = auths;
	for (int i = 0; i < n; i++) {
		uint64_t t0 = mono_ns();

		if (img_pull(s, args[i], &po_opts, id)) {
			fprintf(stderr, "error: images pull: %s\n", img_store_error(s));
			ret = 1;
			continue;
		}
		if (!o->quiet)
			printf("pulled %s %s in %.3fs\n", args[i], id,
			       (double)(mono_ns() - t0) / 1e9);
	}
	cJSON_Delete(auths);
	img_registries_free(reg);
	return ret;
}

static void human_size(uint64_t v, char *out, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double d = (double)v;
	size_t u = 0;

	while (d >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		d /= 1000;
		u++;
	}
	snprintf(out, len, "%.4g%s", d, units[u]);
}

/* Splits "host/repo:tag" or "host/repo@sha256:..." into repository and tag. */
static void split_name(const char *name, char **repo, const char **tag)
{
	const char *at = strchr(name, '@'), *colon = strrchr(name, ':');
	const char *slash = strrchr(name, '/');

	if (at) {
		*repo = xstrndup(name, (size_t)(at - name));
		*tag = "<none>";
	} else if (colon && (!slash || colon > slash)) {
		*repo = xstrndup(name, (size_t)(colon - name));
		*tag = colon + 1;
	} else {
		*repo = xstrdup(name);
		*tag = "<none>";
	}
}

struct row {
	char *repo;
	const char *tag;
	char id[14];
	char size[16];
};

static int sub_ls(struct img_store *s, const struct opts *o, char **args, int n)
{
	struct row *rows = NULL;
	size_t nrows = 0, alloc = 0;
	int w[2] = { 10, 3 };

	for (size_t i = 0; i < s->nimages; i++) {
		const struct img_image *img = &s->images[i];

		if (o->quiet) {
			printf("%s\n", img->id);
			continue;
		}
		for (size_t j = 0; j < (img->nnames ? img->nnames : 1); j++) {
			struct row *r;

			ALLOC_GROW(rows, nrows + 1, alloc);
			r = &rows[nrows++];
			if (img->nnames) {
				split_name(img->names[j], &r->repo, &r->tag);
			} else {
				r->repo = xstrdup("<none>");
				r->tag = "<none>";
			}
			snprintf(r->id, sizeof(r->id), "%.13s", img->id + 7);
			human_size(img->size, r->size, sizeof(r->size));
			if ((int)strlen(r->repo) > w[0])
				w[0] = (int)strlen(r->repo);
			if ((int)strlen(r->tag) > w[1])
				w[1] = (int)strlen(r->tag);
		}
	}
	if (!o->quiet)
		printf("%-*s   %-*s   %-13s   %s\n", w[0], "REPOSITORY", w[1], "TAG",
		       "IMAGE ID", "SIZE");
	for (size_t i = 0; i < nrows; i++) {
		printf("%-*s   %-*s   %-13s   %s\n", w[0], rows[i].repo, w[1], rows[i].tag,
		       rows[i].id, rows[i].size);
		free(rows[i].repo);
	}
	free(rows);
	return 0;
}

static int sub_rm(struct img_store *s, const struct opts *o, char **args, int n)
{
	int ret = 0;

	for (int i = 0; i < n; i++) {
		if (img_remove(s, args[i])) {
			fprintf(stderr, "error: images rm: %s\n", img_store_error(s));
			ret = 1;
		} else if (!o->quiet) {
			printf("deleted %s\n", args[i]);
		}
	}
	return ret;
}

static int sub_mount(struct img_store *s, const struct opts *o, char **args, int n)
{
	struct img_rootfs r;
	int e = img_rootfs_prepare(s, args[0], args[1], &r);

	if (e) {
		fprintf(stderr, "error: images mount: %s\n", img_store_error(s));
		return 1;
	}
	e = img_rootfs_mount(&r);
	if (e)
		fprintf(stderr, "error: images mount: cannot mount '%s': %s\n", r.merged,
			strerror(-e));
	else if (!o->quiet)
		printf("%s\n", r.merged);
	img_rootfs_release(&r);
	return e ? 1 : 0;
}

static int sub_unmount(struct img_store *s, const struct opts *o, char **args, int n)
{
	struct img_rootfs r = { .merged = xasprintf("%s/rootfs", args[0]) };
	int e = img_rootfs_unmount(&r);

	if (e)
		fprintf(stderr, "error: images unmount: '%s': %s\n", r.merged, strerror(-e));
	img_rootfs_release(&r);
	return e ? 1 : 0;
}

static const struct sub subs[] = {
	{ "import", "FILE...", 1, -1, sub_import,
	  "import docker-archive or OCI-archive tarballs (tar, tar.gz, tar.zst)" },
	{ "pull", "REF...", 1, -1, sub_pull,
	  "pull images from their registries (mirrors and credentials: --registries-config)" },
	{ "ls", "", 0, 0, sub_ls, "list images (REPOSITORY TAG IMAGE ID SIZE)" },
	{ "rm", "NAME|ID...", 1, -1, sub_rm, "remove images (a name of several only untags)" },
	{ "mount", "IMAGE DIR", 2, 2, sub_mount,
	  "mount IMAGE's root filesystem on DIR/rootfs (upper and work in DIR)" },
	{ "unmount", "DIR", 1, 1, sub_unmount, "unmount DIR/rootfs" },
};

static void usage_subs(void)
{
	printf("\nSub-commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		printf("  %-8s %-11s %s\n", subs[i].name, subs[i].args, subs[i].help);
}

int cmd_images(int argc, char **argv)
{
	struct opts o = { .data_dir = DEFAULT_DATA_DIR, .registries = IMG_REGISTRIES_PATH };
	const struct flag flags[] = {
		{ "data-dir", FLAG_STR, &o.data_dir, "k1s state directory", "K1S_DATA_DIR" },
		{ "q", FLAG_BOOL, &o.quiet, "quiet: ls prints only image IDs, pull no progress", NULL },
		{ "registries-config", FLAG_STR, &o.registries, "registries.yaml (mirrors, auth, TLS)",
		  "K1S_REGISTRIES_CONFIG" },
		{ "auth-file", FLAG_STR, &o.auth_file,
		  "pull: a dockerconfigjson with credentials (\"-\": stdin)", NULL },
		FLAG_END
	};
	const struct sub *sub = NULL;
	struct img_store s;
	char **args = NULL;
	int nargs, r;

	r = cmd_parse_sub_flags("images", "k1s images [flags] import|pull|ls|rm|mount|unmount ARGS",
				flags, argc, argv, &args, &nargs, usage_subs);
	if (r >= 0)
		return r;
	sub = cmd_find_sub(subs, ARRAY_SIZE(subs), sizeof(subs[0]), args, nargs);
	if (!sub) {
		fprintf(stderr, "error: images: %s (see k1s images --help)\n", nargs ?
			"unknown sub-command" : "missing sub-command");
		free(args);
		return 2;
	}
	if (nargs - 1 < sub->min || (sub->max >= 0 && nargs - 1 > sub->max)) {
		fprintf(stderr, "error: images %s: usage: k1s images %s %s\n", sub->name,
			sub->name, sub->args);
		free(args);
		return 2;
	}
	if (img_store_open(&s, o.data_dir)) {
		fprintf(stderr, "error: images: %s\n", img_store_error(&s));
		r = 1;
	} else {
		r = sub->fn(&s, &o, args + 1, nargs - 1);
	}
	img_store_release(&s);
	free(args);
	return r;
}
