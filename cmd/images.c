/*
 * k1s images - the node's image store (images/): import tarballs, list,
 * remove, and mount an image's root filesystem for inspection.
 *
 * Sub-commands are rows of subs[]; flags are shared by all of them.
 * Exit status: 0 ok, 1 failure, 2 bad usage.
 */
#include "cmd.h"
#include "../images/images.h"
#include "../lib/flags.h"
#include "../lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DATA_DIR "/var/lib/k1s"

struct opts {
	const char *data_dir;
	bool quiet;
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
	struct opts o = { .data_dir = DEFAULT_DATA_DIR };
	const struct flag flags[] = {
		{ "data-dir", FLAG_STR, &o.data_dir, "k1s state directory", "K1S_DATA_DIR" },
		{ "q", FLAG_BOOL, &o.quiet, "quiet: ls prints only image IDs", NULL },
		FLAG_END
	};
	const struct sub *sub = NULL;
	struct img_store s;
	char **args = NULL;
	int nargs, r;

	r = cmd_parse_sub_flags("images", "k1s images [flags] import|ls|rm|mount|unmount ARGS",
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
