/*
 * server/authn.c - authentication (client certificates, token file) and the
 * authorization rule table. Behaviour documented in server/authn.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <mbedtls/constant_time.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "server/authn.h"

/* ---- identities ---- */

void authn_identity_release(struct authn_identity *id)
{
	free(id->user);
	free(id->uid);
	for (size_t i = 0; i < id->n_groups; i++)
		free(id->groups[i]);
	free(id->groups);
	memset(id, 0, sizeof(*id));
}

bool authn_identity_in_group(const struct authn_identity *id, const char *group)
{
	for (size_t i = 0; i < id->n_groups; i++)
		if (!strcmp(id->groups[i], group))
			return true;
	return false;
}

void authn_identity_add_group(struct authn_identity *id, const char *group)
{
	if (authn_identity_in_group(id, group) || id->n_groups >= AUTHN_GROUPS_MAX)
		return;
	id->groups = xrealloc(id->groups, (id->n_groups + 1) * sizeof(*id->groups));
	id->groups[id->n_groups++] = xstrdup(group);
}

static void identity_set(struct authn_identity *id, const char *user, const char *uid)
{
	authn_identity_release(id);
	id->user = xstrdup(user);
	id->uid = xstrdup(uid ? uid : "");
}

int authn_identity_from_cert(struct authn_identity *id, const mbedtls_x509_crt *crt)
{
	struct pki_strv orgs = { 0 };
	char *cn = NULL;
	int ret;

	authn_identity_release(id);
	ret = pki_cert_subject(crt, &cn, &orgs);
	if (!ret && (!cn || !*cn))
		ret = -ENOENT;
	if (!ret) {
		identity_set(id, cn, "");
		for (size_t i = 0; i < orgs.n; i++)
			authn_identity_add_group(id, orgs.v[i]);
	}
	free(cn);
	pki_strv_release(&orgs);
	return ret;
}

/* ---- the token file ---- */

struct token_entry {
	unsigned char digest[32];	/* SHA-256 of the token */
	struct authn_identity id;	/* without system:authenticated */
};

struct authn_tokens {
	char *path;			/* NULL for a parsed text */
	struct token_entry *v;
	size_t n;
	struct stat st;			/* of the file last loaded */
};

/* Where the CSV reader is: the text, its name, the line a record starts on. */
struct csv {
	const char *p, *end;
	const char *name;
	unsigned line;
	struct pki_err *err;
};

static int csv_fail(struct csv *c, unsigned line, const char *fmt, ...) K1S_PRINTF(3, 4);
static int csv_fail(struct csv *c, unsigned line, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->err)
		snprintf(c->err->msg, sizeof(c->err->msg), "token file '%s' line %u: %s",
			 c->name, line, what);
	return -EINVAL;
}

/* One field into *f (cleared first); *last says the record ended. */
static int csv_field(struct csv *c, struct buf *f, bool *last)
{
	unsigned start = c->line;

	buf_reset(f);
	if (c->p < c->end && *c->p == '"') {
		for (c->p++;; c->p++) {
			if (c->p >= c->end)
				return csv_fail(c, start, "unterminated quoted field");
			if (*c->p == '"' && c->p + 1 < c->end && c->p[1] == '"') {
				buf_addch(f, '"');
				c->p++;
			} else if (*c->p == '"') {
				c->p++;
				break;
			} else if (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n') {
				continue;	/* \r\n inside quotes is \n, as Go's reader */
			} else {
				if (*c->p == '\n')
					c->line++;
				buf_addch(f, *c->p);
			}
			if (f->len > AUTHN_TOKEN_LEN_MAX)
				return csv_fail(c, start, "field longer than %d bytes",
						AUTHN_TOKEN_LEN_MAX);
		}
		if (c->p < c->end && *c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')
			c->p++;
		if (c->p < c->end && *c->p != ',' && *c->p != '\n')
			return csv_fail(c, c->line, "extraneous or missing \" in quoted field");
	} else {
		for (; c->p < c->end && *c->p != ',' && *c->p != '\n'; c->p++) {
			if (*c->p == '"')
				return csv_fail(c, c->line, "bare \" in non-quoted field");
			if (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')
				continue;
			buf_addch(f, *c->p);
			if (f->len > AUTHN_TOKEN_LEN_MAX)
				return csv_fail(c, start, "field longer than %d bytes",
						AUTHN_TOKEN_LEN_MAX);
		}
	}
	if (memchr(f->data ? f->data : "", '\0', f->len))
		return csv_fail(c, start, "NUL byte in a field");
	*last = c->p >= c->end || *c->p == '\n';
	if (c->p < c->end) {
		if (*c->p == '\n')
			c->line++;
		c->p++;
	}
	return 0;
}

static void tokens_clear(struct authn_tokens *t)
{
	for (size_t i = 0; i < t->n; i++)
		authn_identity_release(&t->v[i].id);
	if (t->v)
		mbedtls_platform_zeroize(t->v, t->n * sizeof(*t->v));
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* Splits "a,b,c" into groups; empty names are dropped. */
static int add_groups(struct csv *c, unsigned line, struct authn_identity *id, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, ",");

		if (n > AUTHN_FIELD_LEN_MAX)
			return csv_fail(c, line, "group name longer than %d bytes",
					AUTHN_FIELD_LEN_MAX);
		if (n) {
			char *g = xstrndup(s, n);

			if (id->n_groups >= AUTHN_GROUPS_MAX) {
				free(g);
				return csv_fail(c, line, "more than %d groups", AUTHN_GROUPS_MAX);
			}
			authn_identity_add_group(id, g);
			free(g);
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

/* Turns one record's fields into a table entry. */
static int add_record(struct authn_tokens *t, struct csv *c, unsigned line,
		      struct buf *fields, size_t nf)
{
	struct token_entry *e;
	int ret;

	if (nf < 3)
		return csv_fail(c, line, "must have at least 3 columns "
				"(token, user name, user uid), found %zu", nf);
	if (fields[1].len > AUTHN_FIELD_LEN_MAX || fields[2].len > AUTHN_FIELD_LEN_MAX)
		return csv_fail(c, line, "user name or uid longer than %d bytes",
				AUTHN_FIELD_LEN_MAX);
	if (!fields[0].len) {
		log_warn("empty token in token file '%s' line %u: skipped", c->name, line);
		return 0;
	}
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	e = &t->v[t->n];
	memset(e, 0, sizeof(*e));
	mbedtls_sha256_ret((const unsigned char *)fields[0].data, fields[0].len, e->digest, 0);
	identity_set(&e->id, buf_str(&fields[1]), buf_str(&fields[2]));
	t->n++;
	ret = nf >= 4 ? add_groups(c, line, &e->id, buf_str(&fields[3])) : 0;
	return ret;
}

#define CSV_FIELDS_KEPT 4	/* token, user, uid, groups; later columns ignored */

static int tokens_parse_into(struct authn_tokens *t, const char *data, size_t len,
			     const char *name, struct pki_err *err)
{
	struct csv c = { .p = data, .end = data + len, .name = name, .line = 1, .err = err };
	struct buf fields[CSV_FIELDS_KEPT + 1];
	struct buf skip = BUF_INIT;
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		buf_init(&fields[i], 0);
	while (c.p < c.end && !ret) {
		unsigned line = c.line;
		size_t nf = 0;
		bool last = false;

		if (*c.p == '\n' || (*c.p == '\r' && c.p + 1 < c.end && c.p[1] == '\n')) {
			c.p += *c.p == '\r' ? 2 : 1;	/* blank lines are skipped */
			c.line++;
			continue;
		}
		while (!last && !ret) {
			ret = csv_field(&c, nf < CSV_FIELDS_KEPT ? &fields[nf] : &skip, &last);
			nf++;
		}
		if (!ret)
			ret = add_record(t, &c, line, fields, nf);
	}
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (fields[i].data)
			mbedtls_platform_zeroize(fields[i].data, fields[i].cap);
		buf_release(&fields[i]);
	}
	buf_release(&skip);
	return ret;
}

int authn_tokens_parse(struct authn_tokens **out, const char *data, size_t len,
		       const char *name, struct pki_err *err)
{
	struct authn_tokens *t = xcalloc(1, sizeof(*t));
	int ret;

	ret = tokens_parse_into(t, data, len, name ? name : "(text)", err);
	if (ret) {
		authn_tokens_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

/* Reads and parses path into a fresh table; *st gets the file's identity. */
static int tokens_read(const char *path, struct authn_tokens **out, struct pki_err *err)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int ret;

	if (stat(path, &st)) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "cannot read token file '%s': %s", path,
			 strerror(-ret));
		return ret;
	}
	ret = read_file(path, AUTHN_TOKEN_FILE_MAX, &data, &len);
	if (ret) {
		snprintf(err->msg, sizeof(err->msg), "cannot read token file '%s': %s", path,
			 ret == -EFBIG ? "file too large" : strerror(-ret));
		return ret;
	}
	ret = authn_tokens_parse(out, data, len, path, err);
	pki_secret_free(data, len);
	if (!ret) {
		(*out)->path = xstrdup(path);
		(*out)->st = st;
	}
	return ret;
}

int authn_tokens_load(struct authn_tokens **out, const char *path, struct pki_err *err)
{
	struct pki_err scratch;

	return tokens_read(path, out, err ? err : &scratch);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int authn_tokens_reload(struct authn_tokens *t, bool force, struct pki_err *err)
{
	struct authn_tokens *fresh = NULL;
	struct pki_err scratch;
	struct stat st;
	int ret;

	if (!err)
		err = &scratch;
	if (!t->path)
		return 0;
	if (!force && stat(t->path, &st) == 0 && same_file(&st, &t->st))
		return 0;
	ret = tokens_read(t->path, &fresh, err);
	if (ret)
		return ret;
	tokens_clear(t);
	t->v = fresh->v;
	t->n = fresh->n;
	t->st = fresh->st;
	fresh->v = NULL;
	fresh->n = 0;
	authn_tokens_free(fresh);
	log_info("reloaded token file '%s': %zu tokens", t->path, t->n);
	return 1;
}

void authn_tokens_free(struct authn_tokens *t)
{
	if (!t)
		return;
	tokens_clear(t);
	free(t->path);
	free(t);
}

size_t authn_tokens_count(const struct authn_tokens *t)
{
	return t ? t->n : 0;
}

int authn_tokens_lookup(const struct authn_tokens *t, const char *token, size_t len,
			struct authn_identity *id)
{
	unsigned char d[32];
	size_t hit = SIZE_MAX;

	if (!t || !len || len > AUTHN_TOKEN_LEN_MAX)
		return -ENOENT;
	mbedtls_sha256_ret((const unsigned char *)token, len, d, 0);
	/* Every entry is compared; the last match wins, as upstream's map. */
	for (size_t i = 0; i < t->n; i++)
		if (mbedtls_ct_memcmp(d, t->v[i].digest, sizeof(d)) == 0)
			hit = i;
	mbedtls_platform_zeroize(d, sizeof(d));
	if (hit == SIZE_MAX)
		return -ENOENT;
	identity_set(id, t->v[hit].id.user, t->v[hit].id.uid);
	for (size_t i = 0; i < t->v[hit].id.n_groups; i++)
		authn_identity_add_group(id, t->v[hit].id.groups[i]);
	return 0;
}

/* ---- the authenticator ---- */

/*
 * The token of an "Authorization: Bearer <token>" header (upstream: trim,
 * split on the first spaces, scheme case-insensitive). NULL if none.
 */
static const char *bearer_token(const char *h, size_t *len)
{
	const char *end, *tok;

	if (!h)
		return NULL;
	while (isspace((unsigned char)*h))
		h++;
	end = h + strlen(h);
	while (end > h && isspace((unsigned char)end[-1]))
		end--;
	if (end - h < 7 || strncasecmp(h, "bearer ", 7))
		return NULL;
	tok = h + 7;	/* "Bearer  x" has an empty token: no credentials */
	*len = (size_t)(end - tok);
	if (memchr(tok, ' ', *len))
		*len = (size_t)((const char *)memchr(tok, ' ', *len) - tok);
	return *len ? tok : NULL;
}

static int token_authenticate(const struct authn *a, const char *tok, size_t len,
			      struct authn_identity *id)
{
	int ret = -ENOENT;

	if (len > AUTHN_TOKEN_LEN_MAX)
		return -EACCES;
	if (a->tokens)
		ret = authn_tokens_lookup(a->tokens, tok, len, id);
	if (ret == -ENOENT && a->hook)
		ret = a->hook(a->hook_ctx, tok, len, id);
	return ret ? -EACCES : 0;
}

int authn_authenticate(const struct authn *a, const struct authn_request *r,
		       struct authn_identity *id)
{
	bool bad_credentials = false;
	const char *tok;
	size_t len = 0;

	authn_identity_release(id);
	if (r->peer_cert) {
		if (r->peer_verify_flags)
			bad_credentials = true;
		else if (authn_identity_from_cert(id, r->peer_cert) == 0)
			goto ok;
	}
	tok = bearer_token(r->authorization, &len);
	if (tok) {
		if (token_authenticate(a, tok, len, id) == 0)
			goto ok;
		authn_identity_release(id);
		bad_credentials = true;
	}
	if (bad_credentials || !r->allow_anonymous)
		return -EACCES;
	identity_set(id, AUTHN_USER_ANONYMOUS, "");
	authn_identity_add_group(id, AUTHN_GROUP_UNAUTHENTICATED);
	return 0;
ok:
	authn_identity_add_group(id, AUTHN_GROUP_AUTHENTICATED);
	return 0;
}

static const char *const public_paths[] = {
	"/healthz", "/livez", "/readyz", "/version", "/version/",
};

bool authn_path_is_public(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(public_paths); i++)
		if (!strcmp(path, public_paths[i]))
			return true;
	return false;
}

/* ---- authorization ---- */

/*
 * One rule, as an RBAC PolicyRule bound to one group: space-separated
 * lists, "*" matches anything. A rule has resources or paths, not both.
 * The rows mirror kube-apiserver's default bindings: system:masters ->
 * cluster-admin, and system:public-info-viewer, system:discovery and
 * system:basic-user for the groups upstream binds them to.
 */
struct authz_rule {
	const char *group;	/* identity group the rule is bound to */
	const char *verbs;
	const char *api_groups;	/* resource rules */
	const char *resources;	/* "pods", "pods/status", "*" */
	const char *paths;	/* non-resource rules; a trailing "*" matches a prefix */
};

#define PUBLIC_INFO "/healthz /livez /readyz /version /version/"
#define DISCOVERY "/api /api/* /apis /apis/* /openapi /openapi/* " PUBLIC_INFO

static const struct authz_rule rules[] = {
	{ AUTHN_GROUP_MASTERS, "*", "*", "*", NULL },
	{ AUTHN_GROUP_MASTERS, "*", NULL, NULL, "*" },
	{ AUTHN_GROUP_UNAUTHENTICATED, "get", NULL, NULL, PUBLIC_INFO },
	{ AUTHN_GROUP_AUTHENTICATED, "get", NULL, NULL, DISCOVERY },
	{ AUTHN_GROUP_AUTHENTICATED, "create", "authorization.k8s.io",
	  "selfsubjectaccessreviews selfsubjectrulesreviews", NULL },
	{ AUTHN_GROUP_AUTHENTICATED, "create", "authentication.k8s.io",
	  "selfsubjectreviews", NULL },
};

/* True when word is in the space-separated list (or the list is "*"). */
static bool list_has(const char *list, const char *word, bool prefix_star)
{
	size_t wl = strlen(word);

	while (*list) {
		size_t n = strcspn(list, " ");

		if (n == 1 && *list == '*')
			return true;
		if (n == wl && !memcmp(list, word, n))
			return true;
		if (prefix_star && n && list[n - 1] == '*' && wl >= n - 1 &&
		    !memcmp(list, word, n - 1))
			return true;
		list += n;
		while (*list == ' ')
			list++;
	}
	return false;
}

static bool rule_allows(const struct authz_rule *rule, const struct authz_attrs *a,
			const char *combined)
{
	if (!list_has(rule->verbs, a->verb ? a->verb : "", false))
		return false;
	if (!a->resource)
		return rule->paths && list_has(rule->paths, a->path ? a->path : "", true);
	return rule->resources && list_has(rule->api_groups, a->group ? a->group : "", false) &&
	       list_has(rule->resources, combined, false);
}

bool authz_allowed(const struct authn_identity *id, const struct authz_attrs *a)
{
	char *combined = NULL;
	bool ok = false;

	if (a->resource)
		combined = a->subresource && *a->subresource ?
			   xasprintf("%s/%s", a->resource, a->subresource) : xstrdup(a->resource);
	for (size_t i = 0; i < ARRAY_SIZE(rules) && !ok; i++)
		ok = authn_identity_in_group(id, rules[i].group) &&
		     rule_allows(&rules[i], a, combined);
	free(combined);
	return ok;
}

/* Valid UTF-8 sequence length at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t want = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 :
		      p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;

	if (!want || want > n)
		return 0;
	for (size_t i = 1; i < want; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return want;
}

/* Appends s quoted as Go's %q does (strconv.Quote). */
static void add_go_quoted(struct buf *b, const char *s)
{
	static const char esc[] = "\a\b\f\n\r\t\v";
	static const char letter[] = "abfnrtv";
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	buf_addch(b, '"');
	while (*p) {
		const char *e = *p ? strchr(esc, *p) : NULL;
		size_t n;

		if (*p == '"' || *p == '\\') {
			buf_addch(b, '\\');
			buf_addch(b, (char)*p++);
		} else if (e) {
			buf_addch(b, '\\');
			buf_addch(b, letter[e - esc]);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			buf_addf(b, "\\x%02x", *p++);
		} else if (*p < 0x80) {
			buf_addch(b, (char)*p++);
		} else if ((n = utf8_len(p, strlen((const char *)p)))) {
			buf_add(b, p, n);
			p += n;
		} else {
			buf_addf(b, "\\x%02x", *p++);
		}
	}
	buf_addch(b, '"');
}

/* Upstream escapes &, < and > so the text never looks like HTML. */
static void add_sanitized(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			buf_addstr(b, "&amp;");
		else if (*s == '<')
			buf_addstr(b, "&lt;");
		else if (*s == '>')
			buf_addstr(b, "&gt;");
		else
			buf_addch(b, *s);
	}
}

char *authz_forbidden_reason(const struct authn_identity *id, const struct authz_attrs *a)
{
	struct buf b = BUF_INIT, out = BUF_INIT;

	buf_addstr(&b, "User ");
	add_go_quoted(&b, id && id->user ? id->user : "");
	buf_addf(&b, " cannot %s ", a->verb ? a->verb : "");
	if (!a->resource) {
		buf_addstr(&b, "path ");
		add_go_quoted(&b, a->path);
	} else {
		char *res = a->subresource && *a->subresource ?
			    xasprintf("%s/%s", a->resource, a->subresource) : xstrdup(a->resource);

		buf_addstr(&b, "resource ");
		add_go_quoted(&b, res);
		buf_addstr(&b, " in API group ");
		add_go_quoted(&b, a->group);
		if (a->namespace && *a->namespace) {
			buf_addstr(&b, " in the namespace ");
			add_go_quoted(&b, a->namespace);
		} else {
			buf_addstr(&b, " at the cluster scope");
		}
		free(res);
	}
	add_sanitized(&out, buf_str(&b));
	buf_release(&b);
	return buf_detach(&out, NULL);
}

char *authz_forbidden_message(const struct authn_identity *id, const struct authz_attrs *a)
{
	char *reason = authz_forbidden_reason(id, a);
	struct buf b = BUF_INIT;

	if (!a->resource || !*a->resource) {
		buf_addstr(&b, "forbidden: ");
	} else {
		buf_addstr(&b, a->resource);
		if (a->group && *a->group)
			buf_addf(&b, ".%s", a->group);
		if (a->name && *a->name) {
			buf_addch(&b, ' ');
			add_go_quoted(&b, a->name);
		}
		buf_addstr(&b, " is forbidden: ");
	}
	buf_addstr(&b, reason);
	free(reason);
	return buf_detach(&b, NULL);
}
