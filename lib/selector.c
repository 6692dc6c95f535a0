/*
 * lib/selector.c - label and field selectors (see selector.h).
 *
 * The label selector parser mirrors upstream's lexer + recursive descent
 * (k8s.io/apimachinery/pkg/labels/selector.go) token for token, so the
 * accepted language and the error texts are the same. Field selectors are
 * in selector_field.c, label key/value validation in selector_validate.c.
 */
#include "selector.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "util.h"

/* ---- error text helpers (upstream field.Error / utilerrors.Aggregate) ---- */

/* Appends s quoted as Go's %q would (ASCII subset, \xNN for the rest). */
static void add_go_quoted(struct buf *b, const char *s)
{
	buf_addch(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_addf(b, "\\%c", c);
		else if (c == '\n')
			buf_addstr(b, "\\n");
		else if (c == '\t')
			buf_addstr(b, "\\t");
		else if (c == '\r')
			buf_addstr(b, "\\r");
		else if (c < 0x20 || c >= 0x7f)
			buf_addf(b, "\\x%02x", c);
		else
			buf_addch(b, (char)c);
	}
	buf_addch(b, '"');
}

/* "FIELD: Invalid value: "V": m1; m2" */
static void add_invalid(struct buf *b, const char *field, const char *v,
			const char **msgs, size_t n)
{
	buf_addf(b, "%s: Invalid value: ", field);
	add_go_quoted(b, v);
	buf_addstr(b, ": ");
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "%s%s", i ? "; " : "", msgs[i]);
}

/* Collects the errors of one requirement, joined as an Aggregate would. */
struct errlist {
	struct buf b;
	size_t n;
};

static struct buf *err_next(struct errlist *e)
{
	if (e->n++)
		buf_addstr(&e->b, ", ");
	return &e->b;
}

static char *err_finish(struct errlist *e)
{
	char *s;

	if (e->n > 1)
		s = xasprintf("[%s]", buf_str(&e->b));
	else
		s = xstrdup(buf_str(&e->b));
	buf_release(&e->b);
	return s;
}

/* ---- requirements (upstream NewRequirement) ---- */

/* Go strconv.ParseInt(s, 10, 64). */
static bool go_parse_int(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0, lim;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!*s)
		return false;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (lim - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* Go's %#v of a []string: []string{"a", "b"} */
static void add_go_slice(struct buf *b, char **vals, size_t n)
{
	buf_addstr(b, "[]string{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(b, ", ");
		add_go_quoted(b, vals[i]);
	}
	buf_addch(b, '}');
}

static void add_invalid_slice(struct errlist *e, char **vals, size_t n, const char *msg)
{
	struct buf *b = err_next(e);

	buf_addstr(b, "values: Invalid value: ");
	add_go_slice(b, vals, n);
	buf_addf(b, ": %s", msg);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void req_release(struct sel_req *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	memset(r, 0, sizeof(*r));
}

/*
 * Builds *r from key, op and n values (copied), validating as upstream's
 * NewRequirement does with a nil path. 0, or -EINVAL with *err.
 */
static int req_init(struct sel_req *r, const char *key, enum sel_op op,
		    char **vals, size_t n, char **err)
{
	struct errlist e = { BUF_INIT, 0 };
	const char *msgs[4];
	size_t m;

	m = sel_validate_label_key(key, msgs, ARRAY_SIZE(msgs));
	if (m)
		add_invalid(err_next(&e), "key", key, msgs, m < 4 ? m : 4);
	if ((op == SEL_OP_IN || op == SEL_OP_NOT_IN) && n == 0)
		add_invalid_slice(&e, vals, n, "for 'in', 'notin' operators, values set can't be empty");
	if ((op == SEL_OP_EQUALS || op == SEL_OP_DOUBLE_EQUALS || op == SEL_OP_NOT_EQUALS) && n != 1)
		add_invalid_slice(&e, vals, n, "exact-match compatibility requires one single value");
	if ((op == SEL_OP_EXISTS || op == SEL_OP_NOT_EXISTS) && n != 0)
		add_invalid_slice(&e, vals, n, "values set must be empty for exists and does not exist");
	if (op == SEL_OP_GT || op == SEL_OP_LT) {
		int64_t dummy;

		if (n != 1)
			add_invalid_slice(&e, vals, n,
					  "for 'Gt', 'Lt' operators, exactly one value is required");
		for (size_t i = 0; i < n; i++) {
			if (go_parse_int(vals[i], &dummy))
				continue;
			buf_addf(err_next(&e), "values[%zu]: Invalid value: ", i);
			add_go_quoted(&e.b, vals[i]);
			buf_addstr(&e.b, ": for 'Gt', 'Lt' operators, the value must be an integer");
		}
	}
	for (size_t i = 0; i < n; i++) {
		m = sel_validate_label_value(vals[i], msgs, ARRAY_SIZE(msgs));
		if (!m)
			continue;
		buf_addf(err_next(&e), "values[%zu][%s]", i, key);
		add_invalid(&e.b, "", vals[i], msgs, m);
	}
	if (e.n) {
		*err = err_finish(&e);
		return -EINVAL;
	}
	buf_release(&e.b);
	r->key = xstrdup(key);
	r->op = op;
	r->values = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		r->values[i] = xstrdup(vals[i]);
	qsort(r->values, n, sizeof(char *), str_cmp);
	r->nvalues = 0;
	for (size_t i = 0; i < n; i++) {	/* unique, as upstream's sets */
		if (r->nvalues && !strcmp(r->values[r->nvalues - 1], r->values[i]))
			free(r->values[i]);
		else
			r->values[r->nvalues++] = r->values[i];
	}
	return 0;
}

static void sel_add_req(struct sel_label *sel, size_t *alloc, struct sel_req *r)
{
	ALLOC_GROW(sel->reqs, sel->nreqs + 1, *alloc);
	sel->reqs[sel->nreqs++] = *r;
}

/* ---- the lexer (upstream Lexer) ---- */

enum tok {
	T_ERROR, T_EOS, T_CLOSEPAR, T_COMMA, T_NOT, T_DEQ, T_EQ, T_GT,
	T_IDENT, T_IN, T_LT, T_NEQ, T_NOTIN, T_OPENPAR,
};

static const struct { const char *s; enum tok t; } tokens[] = {
	{ ")", T_CLOSEPAR }, { ",", T_COMMA }, { "!", T_NOT }, { "==", T_DEQ },
	{ "=", T_EQ }, { ">", T_GT }, { "in", T_IN }, { "<", T_LT },
	{ "!=", T_NEQ }, { "notin", T_NOTIN }, { "(", T_OPENPAR },
};

static enum tok token_of(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(tokens); i++) {
		if (strlen(tokens[i].s) == n && !memcmp(tokens[i].s, s, n))
			return tokens[i].t;
	}
	return T_ERROR;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return c && strchr("=!(),><", c);
}

struct item {
	enum tok tok;
	char *lit;
};

struct parser {
	struct item *items;
	size_t n, alloc, pos;
	char **err;
};

static void lex_push(struct parser *p, enum tok t, const char *s, size_t n)
{
	ALLOC_GROW(p->items, p->n + 1, p->alloc);
	p->items[p->n].tok = t;
	p->items[p->n++].lit = xstrndup(s, n);
}

static void lex_all(struct parser *p, const char *s)
{
	size_t i = 0;

	for (;;) {
		size_t start, best = 0;
		enum tok bt = T_ERROR;

		while (is_ws(s[i]))
			i++;
		if (!s[i]) {
			lex_push(p, T_EOS, "", 0);
			return;
		}
		start = i;
		if (!is_special(s[i])) {
			while (s[i] && !is_special(s[i]) && !is_ws(s[i]))
				i++;
			bt = token_of(s + start, i - start);
			lex_push(p, bt == T_ERROR ? T_IDENT : bt, s + start, i - start);
			continue;
		}
		while (is_special(s[i])) {
			enum tok t = token_of(s + start, i - start + 1);

			if (t == T_ERROR && bt != T_ERROR)
				break;
			if (t != T_ERROR) {
				bt = t;
				best = i - start + 1;
			}
			i++;
		}
		i = start + best;
		lex_push(p, bt, s + start, best);
	}
}

/* lookahead/consume with upstream's Values context: in/notin are identifiers */
static struct item peek(struct parser *p, bool values)
{
	struct item it = p->items[p->pos];

	if (values && (it.tok == T_IN || it.tok == T_NOTIN))
		it.tok = T_IDENT;
	return it;
}

static struct item next(struct parser *p, bool values)
{
	struct item it = peek(p, values);

	if (p->pos + 1 < p->n)
		p->pos++;
	return it;
}

/* ---- the parser (upstream Parser) ---- */

static int perr(struct parser *p, const char *fmt, ...) K1S_PRINTF(2, 3);
static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*p->err = xvasprintf(fmt, ap);
	va_end(ap);
	return -EINVAL;
}

struct strs {
	char **v;
	size_t n, alloc;
};

static void strs_add(struct strs *s, const char *v)
{
	ALLOC_GROW(s->v, s->n + 1, s->alloc);
	s->v[s->n++] = xstrdup(v);
}

static void strs_release(struct strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static int parse_ident_list(struct parser *p, struct strs *vals)
{
	for (;;) {
		struct item it = next(p, true), la;

		if (vals->n > SEL_MAX_VALUES) {
			*p->err = xasprintf("more than %d values in one set", SEL_MAX_VALUES);
			return -E2BIG;
		}
		switch (it.tok) {
		case T_IDENT:
			strs_add(vals, it.lit);
			la = peek(p, true);
			if (la.tok == T_COMMA)
				continue;
			if (la.tok == T_CLOSEPAR)
				return 0;
			return perr(p, "found '%s', expected: ',' or ')'", la.lit);
		case T_COMMA:
			if (vals->n == 0)
				strs_add(vals, "");
			la = peek(p, true);
			if (la.tok == T_CLOSEPAR) {
				strs_add(vals, "");
				return 0;
			}
			if (la.tok == T_COMMA) {
				next(p, true);
				strs_add(vals, "");
			}
			continue;
		default:
			return perr(p, "found '%s', expected: ',', or identifier", it.lit);
		}
	}
}

static int parse_values(struct parser *p, struct strs *vals)
{
	struct item it = next(p, true), la;
	int ret;

	if (it.tok != T_OPENPAR)
		return perr(p, "found '%s' expected: '('", it.lit);
	la = peek(p, true);
	switch (la.tok) {
	case T_IDENT:
	case T_COMMA:
		ret = parse_ident_list(p, vals);
		if (ret)
			return ret;
		if (next(p, true).tok != T_CLOSEPAR)
			return perr(p, "found '%s', expected: ')'", la.lit);
		return 0;
	case T_CLOSEPAR:
		next(p, true);
		strs_add(vals, "");
		return 0;
	default:
		return perr(p, "found '%s', expected: ',', ')' or identifier", la.lit);
	}
}

static int parse_exact_value(struct parser *p, struct strs *vals)
{
	struct item it = peek(p, true);

	if (it.tok == T_EOS || it.tok == T_COMMA) {
		strs_add(vals, "");
		return 0;
	}
	it = next(p, true);
	if (it.tok != T_IDENT)
		return perr(p, "found '%s', expected: identifier", it.lit);
	strs_add(vals, it.lit);
	return 0;
}

static const struct { enum tok t; enum sel_op op; } binary_ops[] = {
	{ T_IN, SEL_OP_IN }, { T_EQ, SEL_OP_EQUALS }, { T_DEQ, SEL_OP_DOUBLE_EQUALS },
	{ T_GT, SEL_OP_GT }, { T_LT, SEL_OP_LT }, { T_NOTIN, SEL_OP_NOT_IN },
	{ T_NEQ, SEL_OP_NOT_EQUALS },
};

static int parse_requirement(struct parser *p, struct sel_req *r)
{
	struct strs vals = { 0 };
	struct item it = next(p, true), la;
	enum sel_op op = SEL_OP_EQUALS;
	bool have_op = false;
	const char *key;
	const char *msgs[4];
	size_t m, i;
	int ret;

	if (it.tok == T_NOT) {
		op = SEL_OP_NOT_EXISTS;
		have_op = true;
		it = next(p, true);
	}
	if (it.tok != T_IDENT)
		return perr(p, "found '%s', expected: identifier", it.lit);
	key = it.lit;
	m = sel_validate_label_key(key, msgs, ARRAY_SIZE(msgs));
	if (m) {
		struct buf b = BUF_INIT;

		add_invalid(&b, "<nil>", key, msgs, m < 4 ? m : 4);
		*p->err = buf_detach(&b, NULL);
		return -EINVAL;
	}
	la = peek(p, true);
	if ((la.tok == T_EOS || la.tok == T_COMMA) && !have_op) {
		op = SEL_OP_EXISTS;
		have_op = true;
	}
	if (have_op)
		return req_init(r, key, op, NULL, 0, p->err);
	it = next(p, false);
	for (i = 0; i < ARRAY_SIZE(binary_ops) && binary_ops[i].t != it.tok; i++)
		;
	if (i == ARRAY_SIZE(binary_ops))
		return perr(p, "found '%s', expected: in, notin, =, ==, !=, gt, lt", it.lit);
	op = binary_ops[i].op;
	if (op == SEL_OP_IN || op == SEL_OP_NOT_IN)
		ret = parse_values(p, &vals);
	else
		ret = parse_exact_value(p, &vals);
	if (!ret)
		ret = req_init(r, key, op, vals.v, vals.n, p->err);
	strs_release(&vals);
	return ret;
}

static int parse_all(struct parser *p, struct sel_label *sel)
{
	size_t alloc = 0;

	for (;;) {
		struct item it = peek(p, true);
		struct sel_req r = { 0 };
		char *inner = NULL, **outer;
		int ret;

		if (it.tok == T_EOS)
			return 0;
		if (it.tok != T_IDENT && it.tok != T_NOT)
			return perr(p, "found '%s', expected: !, identifier, or 'end of string'",
				    it.lit);
		if (sel->nreqs >= SEL_MAX_REQS) {
			*p->err = xasprintf("more than %d requirements", SEL_MAX_REQS);
			return -E2BIG;
		}
		outer = p->err;
		p->err = &inner;
		ret = parse_requirement(p, &r);
		p->err = outer;
		if (ret) {
			*outer = xasprintf("unable to parse requirement: %s", inner);
			free(inner);
			return ret;
		}
		sel_add_req(sel, &alloc, &r);
		it = next(p, true);
		if (it.tok == T_EOS)
			return 0;
		if (it.tok != T_COMMA)
			return perr(p, "found '%s', expected: ',' or 'end of string'", it.lit);
		it = peek(p, true);
		if (it.tok != T_IDENT && it.tok != T_NOT)
			return perr(p, "found '%s', expected: identifier after ','", it.lit);
	}
}

/* ---- label selector API ---- */

void sel_label_release(struct sel_label *sel)
{
	for (size_t i = 0; i < sel->nreqs; i++)
		req_release(&sel->reqs[i]);
	free(sel->reqs);
	memset(sel, 0, sizeof(*sel));
}

static void sort_reqs(struct sel_label *sel)
{
	/* insertion sort: stable, and selectors are short */
	for (size_t i = 1; i < sel->nreqs; i++) {
		struct sel_req r = sel->reqs[i];
		size_t j = i;

		while (j > 0 && strcmp(sel->reqs[j - 1].key, r.key) > 0) {
			sel->reqs[j] = sel->reqs[j - 1];
			j--;
		}
		sel->reqs[j] = r;
	}
}

int sel_label_parse(const char *s, struct sel_label *sel, char **err)
{
	struct parser p = { .err = err };
	int ret;

	memset(sel, 0, sizeof(*sel));
	*err = NULL;
	if (strlen(s) > SEL_MAX_LEN) {
		*err = xasprintf("label selector longer than %d bytes", SEL_MAX_LEN);
		return -E2BIG;
	}
	lex_all(&p, s);
	ret = parse_all(&p, sel);
	for (size_t i = 0; i < p.n; i++)
		free(p.items[i].lit);
	free(p.items);
	if (ret) {
		sel_label_release(sel);
		return ret;
	}
	sort_reqs(sel);
	return 0;
}

static const struct { const char *name; enum sel_op op; } expr_ops[] = {
	{ "In", SEL_OP_IN }, { "NotIn", SEL_OP_NOT_IN },
	{ "Exists", SEL_OP_EXISTS }, { "DoesNotExist", SEL_OP_NOT_EXISTS },
};

static int from_expr(const cJSON *expr, struct sel_req *r, char **err)
{
	const char *opname = json_get_str(expr, "operator", "");
	const cJSON *vals = json_get(expr, "values");
	struct strs sv = { 0 };
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(expr_ops) && strcmp(expr_ops[i].name, opname); i++)
		;
	if (i == ARRAY_SIZE(expr_ops)) {
		struct buf b = BUF_INIT;

		add_go_quoted(&b, opname);
		buf_addstr(&b, " is not a valid label selector operator");
		*err = buf_detach(&b, NULL);
		return -EINVAL;
	}
	if (cJSON_GetArraySize(vals) > SEL_MAX_VALUES) {
		*err = xasprintf("more than %d values in one set", SEL_MAX_VALUES);
		return -E2BIG;
	}
	for (const cJSON *v = vals ? vals->child : NULL; v; v = v->next)
		strs_add(&sv, cJSON_IsString(v) ? v->valuestring : "");
	ret = req_init(r, json_get_str(expr, "key", ""), expr_ops[i].op, sv.v, sv.n, err);
	strs_release(&sv);
	return ret;
}

int sel_label_from_json(const cJSON *ls, struct sel_label *sel, char **err)
{
	const cJSON *ml = json_get(ls, "matchLabels");
	const cJSON *me = json_get(ls, "matchExpressions");
	size_t alloc = 0;
	int ret = 0;

	memset(sel, 0, sizeof(*sel));
	*err = NULL;
	if (!ls || cJSON_IsNull(ls)) {
		sel->nothing = true;
		return 0;
	}
	if (cJSON_GetArraySize(ml) + cJSON_GetArraySize(me) > SEL_MAX_REQS) {
		*err = xasprintf("more than %d requirements", SEL_MAX_REQS);
		return -E2BIG;
	}
	for (const cJSON *l = cJSON_IsObject(ml) ? ml->child : NULL; l && !ret; l = l->next) {
		struct sel_req r = { 0 };
		char *v = cJSON_IsString(l) ? l->valuestring : "";

		ret = req_init(&r, l->string, SEL_OP_EQUALS, &v, 1, err);
		if (!ret)
			sel_add_req(sel, &alloc, &r);
	}
	for (const cJSON *e = cJSON_IsArray(me) ? me->child : NULL; e && !ret; e = e->next) {
		struct sel_req r = { 0 };

		ret = from_expr(e, &r, err);
		if (!ret)
			sel_add_req(sel, &alloc, &r);
	}
	if (ret) {
		sel_label_release(sel);
		return ret;
	}
	sort_reqs(sel);
	return 0;
}

static bool has_value(const struct sel_req *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++) {
		if (!strcmp(r->values[i], v))
			return true;
	}
	return false;
}

static bool req_matches(const struct sel_req *r, const cJSON *labels)
{
	const char *v = json_get_str(labels, r->key, NULL);
	int64_t lv, rv;

	switch (r->op) {
	case SEL_OP_IN:
	case SEL_OP_EQUALS:
	case SEL_OP_DOUBLE_EQUALS:
		return v && has_value(r, v);
	case SEL_OP_NOT_IN:
	case SEL_OP_NOT_EQUALS:
		return !v || !has_value(r, v);
	case SEL_OP_EXISTS:
		return v != NULL;
	case SEL_OP_NOT_EXISTS:
		return v == NULL;
	case SEL_OP_GT:
	case SEL_OP_LT:
		if (!v || r->nvalues != 1 || !go_parse_int(v, &lv) ||
		    !go_parse_int(r->values[0], &rv))
			return false;
		return r->op == SEL_OP_GT ? lv > rv : lv < rv;
	}
	return false;
}

bool sel_label_matches(const struct sel_label *sel, const cJSON *labels)
{
	if (sel->nothing)
		return false;
	for (size_t i = 0; i < sel->nreqs; i++) {
		if (!req_matches(&sel->reqs[i], labels))
			return false;
	}
	return true;
}

bool sel_label_empty(const struct sel_label *sel)
{
	return !sel->nothing && sel->nreqs == 0;
}

static const char *const op_text[] = {
	[SEL_OP_EXISTS] = "",		[SEL_OP_NOT_EXISTS] = "",
	[SEL_OP_EQUALS] = "=",		[SEL_OP_DOUBLE_EQUALS] = "==",
	[SEL_OP_NOT_EQUALS] = "!=",	[SEL_OP_IN] = " in ",
	[SEL_OP_NOT_IN] = " notin ",	[SEL_OP_GT] = ">",
	[SEL_OP_LT] = "<",
};

char *sel_label_string(const struct sel_label *sel)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, "");
	for (size_t i = 0; i < sel->nreqs; i++) {
		const struct sel_req *r = &sel->reqs[i];
		bool set = r->op == SEL_OP_IN || r->op == SEL_OP_NOT_IN;

		buf_addf(&b, "%s%s%s%s", i ? "," : "", r->op == SEL_OP_NOT_EXISTS ? "!" : "",
			 r->key, op_text[r->op]);
		if (r->op == SEL_OP_EXISTS || r->op == SEL_OP_NOT_EXISTS)
			continue;
		if (set)
			buf_addch(&b, '(');
		for (size_t j = 0; j < r->nvalues; j++)
			buf_addf(&b, "%s%s", j ? "," : "", r->values[j]);
		if (set)
			buf_addch(&b, ')');
	}
	return buf_detach(&b, NULL);
}

