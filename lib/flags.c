#include "flags.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct flag *find(const struct flag *flags, const char *name, size_t n)
{
	for (const struct flag *f = flags; f->name; f++)
		if (strlen(f->name) == n && !strncmp(f->name, name, n))
			return f;
	return NULL;
}

static int set(const char *cmd, const struct flag *f, const char *val)
{
	switch (f->type) {
	case FLAG_BOOL: {
		bool b;

		if (parse_bool(val, &b)) {
			fprintf(stderr, "error: %s: invalid boolean '%s' for --%s\n", cmd, val, f->name);
			return -EINVAL;
		}
		*(bool *)f->dst = b;
		return 0;
	}
	case FLAG_STR:
		*(const char **)f->dst = val;
		return 0;
	case FLAG_INT:
		if (parse_i64(val, (int64_t *)f->dst)) {
			fprintf(stderr, "error: %s: invalid number '%s' for --%s\n", cmd, val, f->name);
			return -EINVAL;
		}
		return 0;
	case FLAG_LIST: {
		struct flag_list *l = f->dst;

		ALLOC_GROW(l->v, l->n + 1, l->alloc);
		l->v[l->n++] = val;
		return 0;
	}
	case FLAG_NONE:
		break;
	}
	BUG("flag type %d", f->type);
}

static int apply_env(const char *cmd, const struct flag *flags)
{
	for (const struct flag *f = flags; f->name; f++) {
		const char *v = f->env ? getenv(f->env) : NULL;

		if (v && *v && set(cmd, f, v))
			return -EINVAL;
	}
	return 0;
}

int flags_parse(const char *cmd, const char *usage, const struct flag *flags,
		int argc, char **argv, char ***args, int *nargs)
{
	char **pos = xcalloc((size_t)argc + 1, sizeof(*pos));
	int npos = 0, i;

	if (apply_env(cmd, flags))
		goto bad;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *val = NULL;
		const struct flag *f;
		size_t n;

		if (!strcmp(a, "--")) {
			while (++i < argc)
				pos[npos++] = argv[i];
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			pos[npos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			flags_usage(cmd, usage, flags);
			free(pos);
			return 1;
		}
		name = a + (a[1] == '-' ? 2 : 1);
		eq = strchr(name, '=');
		n = eq ? (size_t)(eq - name) : strlen(name);
		f = find(flags, name, n);
		if (!f || (a[1] != '-' && n != 1)) {
			fprintf(stderr, "error: %s: unknown flag: %.*s\n", cmd,
				(int)(eq ? eq - a : (long)strlen(a)), a);
			goto bad;
		}
		if (eq)
			val = eq + 1;
		else if (f->type == FLAG_BOOL)
			val = "true";
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			fprintf(stderr, "error: %s: flag needs an argument: --%s\n", cmd, f->name);
			goto bad;
		}
		if (set(cmd, f, val))
			goto bad;
	}
	*args = pos;
	*nargs = npos;
	return 0;
bad:
	free(pos);
	return -EINVAL;
}

void flags_usage(const char *cmd, const char *usage, const struct flag *flags)
{
	static const char *const kind[] = { "", "string", "int", "strings", "" };

	printf("Usage: %s\n", usage ? usage : cmd);
	if (!flags || !flags->name)
		return;
	printf("\nFlags:\n");
	for (const struct flag *f = flags; f->name; f++) {
		char left[64];

		snprintf(left, sizeof(left), "%s%s %s", strlen(f->name) == 1 ? "-" : "--",
			 f->name, kind[f->type]);
		printf("  %-34s %s%s%s%s\n", left, f->help ? f->help : "",
		       f->env ? " [$" : "", f->env ? f->env : "", f->env ? "]" : "");
	}
}

void flag_list_release(struct flag_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}
