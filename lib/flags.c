#include "flags.h"
#include "json.h"
#include "util.h"
#include "yaml.h"

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

/* Which source is being applied: a list flag set from a later source
 * forgets what earlier ones gave it (flag > env > file). */
enum { SRC_FILE = 1, SRC_ENV, SRC_ARGV };
static int cur_src = SRC_ARGV;

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

		if (l->src != cur_src)
			l->n = 0;
		l->src = cur_src;
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
	cur_src = SRC_ENV;
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
	cur_src = SRC_ARGV;
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

/* ---- config files ---- */

/* The config tree stays alive for the process: flag values point into it. */
static cJSON *config_docs;

static int apply_item(const char *cmd, const char *path, const struct flag *f, const cJSON *v)
{
	const cJSON *e;

	if (cJSON_IsArray(v) && f->type == FLAG_LIST) {
		cJSON_ArrayForEach(e, v)
			if (!cJSON_IsString(e) || set(cmd, f, e->valuestring))
				goto bad;
		return 0;
	}
	if (cJSON_IsArray(v) && f->type == FLAG_STR) {	/* [a, b] -> "a,b" */
		struct buf b = BUF_INIT;

		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsString(e))
				goto bad;
			buf_addf(&b, "%s%s", b.len ? "," : "", e->valuestring);
		}
		cJSON *keep = cJSON_CreateString(buf_str(&b));

		buf_release(&b);
		cJSON_AddItemToArray(config_docs, keep);
		return set(cmd, f, keep->valuestring);
	}
	if (cJSON_IsString(v))
		return set(cmd, f, v->valuestring);
bad:
	fprintf(stderr, "error: %s: config file %s: invalid value for '%s'\n", cmd, path, f->name);
	return -EINVAL;
}

static int apply_config(const char *cmd, const struct flag *flags, const char *path, bool must)
{
	char *text = NULL, *err = NULL;
	const cJSON *doc, *kv;
	size_t len = 0;
	cJSON *docs;
	int r;

	r = read_file(path, FLAGS_CONFIG_MAX, &text, &len);
	if (r == -ENOENT && !must)
		return 0;
	if (r) {
		fprintf(stderr, "error: %s: cannot read config file %s: %s\n", cmd, path, strerror(-r));
		return -EINVAL;
	}
	r = yaml_load_all(text, len, YAML_STRINGS, &docs, &err);
	free(text);
	if (r) {
		fprintf(stderr, "error: %s: config file %s: %s\n", cmd, path, err);
		free(err);
		return -EINVAL;
	}
	if (!config_docs)
		config_docs = cJSON_CreateArray();
	cJSON_AddItemToArray(config_docs, docs);
	doc = cJSON_GetArrayItem(docs, 0);
	if (doc && !cJSON_IsObject(doc)) {
		fprintf(stderr, "error: %s: config file %s: not a mapping of flag names\n", cmd, path);
		return -EINVAL;
	}
	cur_src = SRC_FILE;
	cJSON_ArrayForEach(kv, doc) {
		const struct flag *f = find(flags, kv->string, strlen(kv->string));

		if (!f || !strcmp(kv->string, "config")) {
			fprintf(stderr, "error: %s: config file %s: unknown key '%s'\n", cmd, path, kv->string);
			return -EINVAL;
		}
		if (apply_item(cmd, path, f, kv))
			return -EINVAL;
	}
	return 0;
}

int flags_parse_config(const char *cmd, const char *usage, const struct flag *flags,
		       int argc, char **argv, char ***args, int *nargs, const char *default_path)
{
	const char *path = NULL;
	const struct flag *cf = find(flags, "config", 6);
	bool must = false;

	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[i + 1];
		else if (str_has_prefix(argv[i], "--config="))
			path = argv[i] + 9;
	}
	if (!path && cf && cf->env)
		path = getenv(cf->env);
	must = path != NULL;		/* given: must exist ("" = no file at all) */
	if (!must)
		path = default_path;
	if (path && *path && apply_config(cmd, flags, path, must))
		return -EINVAL;
	return flags_parse(cmd, usage, flags, argc, argv, args, nargs);
}
