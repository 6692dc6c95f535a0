/*
 * lib/selector_field.c - field selectors (k8s.io/apimachinery/pkg/fields):
 * terms split on unescaped commas, sorted, each split at its first "!=",
 * "==" or "=", values unescaped.
 */
#include "selector.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct strs {
	char **v;
	size_t n, alloc;
};

static void strs_release(struct strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* ---- field selectors (upstream pkg/fields) ---- */

void sel_field_release(struct sel_field *fs)
{
	for (size_t i = 0; i < fs->nterms; i++) {
		free(fs->terms[i].field);
		free(fs->terms[i].value);
	}
	free(fs->terms);
	memset(fs, 0, sizeof(*fs));
}

/* Upstream UnescapeValue: "\\", "\," and "\=" only; bare ',' '=' refused. */
static int unescape_value(const char *s, size_t n, char **out, char **err)
{
	struct buf b = BUF_INIT;
	bool slash = false;

	buf_addstr(&b, "");
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (slash) {
			if (c != '\\' && c != ',' && c != '=') {
				*err = xasprintf("invalid field selector: invalid escape sequence: \\%c", c);
				buf_release(&b);
				return -EINVAL;
			}
			buf_addch(&b, c);
			slash = false;
		} else if (c == '\\') {
			slash = true;
		} else if (c == ',' || c == '=') {
			*err = xasprintf("invalid field selector: unescaped character in value: %c", c);
			buf_release(&b);
			return -EINVAL;
		} else {
			buf_addch(&b, c);
		}
	}
	if (slash) {
		*err = xstrdup("invalid field selector: invalid escape sequence: \\");
		buf_release(&b);
		return -EINVAL;
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

/* Upstream splitTerm: the first "!=", "==" or "=" from the left. */
static int split_term(const char *t, struct sel_field_term *term, const char *all, char **err)
{
	static const char *const ops[] = { "!=", "==", "=" };

	for (size_t i = 0; t[i]; i++) {
		for (size_t k = 0; k < ARRAY_SIZE(ops); k++) {
			size_t ol = strlen(ops[k]);

			if (strncmp(t + i, ops[k], ol))
				continue;
			if (unescape_value(t + i + ol, strlen(t + i + ol), &term->value, err))
				return -EINVAL;
			term->field = xstrndup(t, i);
			term->not_equal = k == 0;
			return 0;
		}
	}
	*err = xasprintf("invalid selector: '%s'; can't understand '%s'", all, t);
	return -EINVAL;
}

int sel_field_parse(const char *s, struct sel_field *fs, char **err)
{
	struct strs parts = { 0 };
	size_t start = 0, alloc = 0;
	bool slash = false;
	int ret = 0;

	memset(fs, 0, sizeof(*fs));
	*err = NULL;
	if (strlen(s) > SEL_MAX_LEN) {
		*err = xasprintf("field selector longer than %d bytes", SEL_MAX_LEN);
		return -E2BIG;
	}
	for (size_t i = 0;; i++) {	/* upstream splitTerms */
		if (!s[i] || (!slash && s[i] == ',')) {
			ALLOC_GROW(parts.v, parts.n + 1, parts.alloc);
			parts.v[parts.n++] = xstrndup(s + start, i - start);
			start = i + 1;
			if (!s[i])
				break;
		} else {
			slash = !slash && s[i] == '\\';
		}
	}
	if (parts.n > SEL_MAX_REQS) {
		*err = xasprintf("more than %d field selector terms", SEL_MAX_REQS);
		ret = -E2BIG;
		goto out;
	}
	qsort(parts.v, parts.n, sizeof(char *), str_cmp);
	for (size_t i = 0; i < parts.n && !ret; i++) {
		struct sel_field_term t = { 0 };

		if (!*parts.v[i])
			continue;
		ret = split_term(parts.v[i], &t, s, err);
		if (ret)
			break;
		ALLOC_GROW(fs->terms, fs->nterms + 1, alloc);
		fs->terms[fs->nterms++] = t;
	}
out:
	strs_release(&parts);
	if (ret)
		sel_field_release(fs);
	return ret;
}

bool sel_field_matches(const struct sel_field *fs, sel_field_getter get, void *ctx)
{
	for (size_t i = 0; i < fs->nterms; i++) {
		const char *v = get(ctx, fs->terms[i].field);
		bool eq = !strcmp(v ? v : "", fs->terms[i].value);

		if (eq == fs->terms[i].not_equal)
			return false;
	}
	return true;
}

char *sel_field_string(const struct sel_field *fs)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, "");
	for (size_t i = 0; i < fs->nterms; i++) {
		const struct sel_field_term *t = &fs->terms[i];

		buf_addf(&b, "%s%s%s", i ? "," : "", t->field, t->not_equal ? "!=" : "=");
		for (const char *v = t->value; *v; v++) {
			if (*v == '\\' || *v == ',' || *v == '=')
				buf_addch(&b, '\\');
			buf_addch(&b, *v);
		}
	}
	return buf_detach(&b, NULL);
}
