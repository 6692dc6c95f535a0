/*
 * lib/http_util.c - status texts, URL and query decoding, header helpers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_internal.h"

#define HTTP__STATUS_TEXT(XX) \
	XX(100, "Continue") XX(101, "Switching Protocols") \
	XX(200, "OK") XX(201, "Created") XX(202, "Accepted") \
	XX(204, "No Content") XX(206, "Partial Content") \
	XX(301, "Moved Permanently") XX(302, "Found") XX(304, "Not Modified") \
	XX(307, "Temporary Redirect") XX(308, "Permanent Redirect") \
	XX(400, "Bad Request") XX(401, "Unauthorized") XX(403, "Forbidden") \
	XX(404, "Not Found") XX(405, "Method Not Allowed") \
	XX(406, "Not Acceptable") XX(408, "Request Timeout") \
	XX(409, "Conflict") XX(410, "Gone") XX(411, "Length Required") \
	XX(412, "Precondition Failed") XX(413, "Request Entity Too Large") \
	XX(414, "Request-URI Too Long") XX(415, "Unsupported Media Type") \
	XX(417, "Expectation Failed") XX(422, "Unprocessable Entity") \
	XX(429, "Too Many Requests") \
	XX(431, "Request Header Fields Too Large") \
	XX(500, "Internal Server Error") XX(501, "Not Implemented") \
	XX(502, "Bad Gateway") XX(503, "Service Unavailable") \
	XX(504, "Gateway Timeout") XX(505, "HTTP Version Not Supported")

const char *http_status_text(int status)
{
	switch (status) {
#define XX(code, text) case code: return text;
	HTTP__STATUS_TEXT(XX)
#undef XX
	}
	return "Unknown";
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int http_url_decode(const char *s, size_t len, bool plus_is_space, char **out)
{
	char *d = xmalloc(len + 1), *p = d;
	int ret = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '+' && plus_is_space) {
			*p++ = ' ';
			continue;
		}
		if (s[i] != '%') {
			*p++ = s[i];
			continue;
		}
		if (i + 2 >= len) {
			ret = -EINVAL;
			goto out;
		}
		hi = hexval((unsigned char)s[i + 1]);
		lo = hexval((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			ret = -EINVAL;
			goto out;
		}
		*p++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*p = '\0';
out:
	if (ret < 0) {
		free(d);
		d = NULL;
	}
	*out = d;
	return ret;
}

void http_url_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			buf_addch(b, (char)c);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[c >> 4]);
			buf_addch(b, hex[c & 15]);
		}
	}
}

/*
 * Walks query parameters; for each one whose decoded name equals name,
 * calls back with the raw value. Stops when cb returns nonzero.
 */
static int query_walk(const char *query, const char *name,
		      int (*cb)(const char *v, size_t len, void *ud), void *ud)
{
	const char *p = query;

	while (p && *p) {
		size_t seg = strcspn(p, "&;");
		const char *eq = memchr(p, '=', seg);
		size_t nlen = eq ? (size_t)(eq - p) : seg;
		char *dn = NULL;
		int r = 0;

		if (seg && http_url_decode(p, nlen, true, &dn) == 0 && !strcmp(dn, name))
			r = cb(eq ? eq + 1 : p + seg, eq ? seg - nlen - 1 : 0, ud);
		free(dn);
		if (r)
			return r;
		p += seg;
		if (*p)
			p++;
	}
	return 0;
}

struct nth_ctx {
	size_t nth;
	char **out;
	int ret;
};

static int nth_cb(const char *v, size_t len, void *ud)
{
	struct nth_ctx *c = ud;

	if (c->nth--)
		return 0;
	c->ret = http_url_decode(v, len, true, c->out);
	return 1;
}

int http_query_get(const char *query, const char *name, size_t nth, char **out)
{
	struct nth_ctx c = { nth, out, -ENOENT };

	*out = NULL;
	query_walk(query, name, nth_cb, &c);
	return c.ret;
}

static int count_cb(const char *v, size_t len, void *ud)
{
	(*(size_t *)ud)++;
	return 0;
}

size_t http_query_count(const char *query, const char *name)
{
	size_t n = 0;

	query_walk(query, name, count_cb, &n);
	return n;
}

int http__parse_addr(const char *addr, struct sockaddr_storage *ss)
{
	const char *colon = strrchr(addr, ':');
	char host[64];
	size_t hlen;
	int64_t port;

	if (!colon || parse_i64(colon + 1, &port) < 0 || port < 0 || port > 65535)
		return -EINVAL;
	hlen = (size_t)(colon - addr);
	memset(ss, 0, sizeof(*ss));
	if (addr[0] == '[') {
		if (hlen < 3 || addr[hlen - 1] != ']' || hlen - 2 >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr + 1, hlen - 2);
		host[hlen - 2] = '\0';
		return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) ? -EINVAL : 0;
	}
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	if (!hlen)
		strcpy(host, "0.0.0.0");
	return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) ? -EINVAL : 0;
}

void http__add_date(struct buf *b)
{
	char tmp[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(tmp, sizeof(tmp), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
	buf_addstr(b, tmp);
}

const char *http__header_next(const struct http_header *h, size_t n,
			      const char *name, size_t *iter)
{
	for (size_t i = *iter; i < n; i++) {
		if (!strcasecmp(h[i].name, name)) {
			*iter = i + 1;
			return h[i].value;
		}
	}
	*iter = n;
	return NULL;
}

bool http__has_token(const char *value, const char *token)
{
	size_t tl = strlen(token);

	while (value && *value) {
		size_t n;

		value += strspn(value, " \t,");
		n = strcspn(value, ",");
		while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
			n--;
		if (n == tl && !strncasecmp(value, token, tl))
			return true;
		value += strcspn(value, ",");
	}
	return false;
}

void http__headers_free(struct http_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)h[i].name);
		free((char *)h[i].value);
	}
	free(h);
}

static void hdr_push(struct http__hdr_acc *a)
{
	size_t vl = a->value.len;

	/* trim trailing whitespace http-parser leaves in obs-fold cases */
	while (vl && (a->value.data[vl - 1] == ' ' || a->value.data[vl - 1] == '\t'))
		vl--;
	a->h[a->n].name = xstrndup(buf_str(&a->name), a->name.len);
	a->h[a->n].value = xstrndup(buf_str(&a->value), vl);
	a->n++;
	buf_reset(&a->name);
	buf_reset(&a->value);
	a->in_value = false;
}

int http__hdr_field(struct http__hdr_acc *a, const char *at, size_t len, size_t max)
{
	if (a->in_value) {
		if (a->n >= max)
			return -E2BIG;
		ALLOC_GROW(a->h, a->n + 1, a->alloc);
		hdr_push(a);
	}
	buf_add(&a->name, at, len);
	return 0;
}

void http__hdr_value(struct http__hdr_acc *a, const char *at, size_t len)
{
	a->in_value = true;
	buf_add(&a->value, at, len);
}

int http__hdr_finish(struct http__hdr_acc *a, size_t max)
{
	if (a->in_value || a->name.len) {
		if (a->n >= max)
			return -E2BIG;
		ALLOC_GROW(a->h, a->n + 1, a->alloc);
		hdr_push(a);
	}
	buf_release(&a->name);
	buf_release(&a->value);
	return 0;
}

void http__hdr_release(struct http__hdr_acc *a)
{
	http__headers_free(a->h, a->n);
	buf_release(&a->name);
	buf_release(&a->value);
	memset(a, 0, sizeof(*a));
}

/* ---- client requests ---- */

int http__url_parse(const char *url, struct http__url *out)
{
	struct http_parser_url u;
	const char *schema;
	size_t slen;

	memset(out, 0, sizeof(*out));
	http_parser_url_init(&u);
	if (http_parser_parse_url(url, strlen(url), 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_SCHEMA)) || !(u.field_set & (1 << UF_HOST)))
		return -EINVAL;
	schema = url + u.field_data[UF_SCHEMA].off;
	slen = u.field_data[UF_SCHEMA].len;
	if (slen == 5 && !strncasecmp(schema, "https", 5))
		out->https = true;
	else if (!(slen == 4 && !strncasecmp(schema, "http", 4)))
		return -EINVAL;
	out->host = xstrndup(url + u.field_data[UF_HOST].off, u.field_data[UF_HOST].len);
	out->port = (u.field_set & (1 << UF_PORT)) ? u.port : out->https ? 443 : 80;
	if (u.field_set & (1 << UF_PATH))
		buf_add(&out->target, url + u.field_data[UF_PATH].off,
			u.field_data[UF_PATH].len);
	else
		buf_addch(&out->target, '/');
	if (u.field_set & (1 << UF_QUERY)) {
		buf_addch(&out->target, '?');
		buf_add(&out->target, url + u.field_data[UF_QUERY].off,
			u.field_data[UF_QUERY].len);
	}
	return 0;
}

void http__url_release(struct http__url *u)
{
	free(u->host);
	buf_release(&u->target);
	memset(u, 0, sizeof(*u));
}

static bool safe_header(const struct http_header *h)
{
	return !strpbrk(h->value, "\r\n") && !strpbrk(h->name, "\r\n: ") && *h->name;
}

void http__request_head(struct buf *b, const char *method, const struct http__url *u,
			const char *ua, const char *token,
			const struct http_header *h, size_t n, size_t body_len)
{
	bool v6 = strchr(u->host, ':') != NULL;
	size_t it = 0;

	buf_addf(b, "%s %s HTTP/1.1\r\nHost: %s%s%s", method, buf_str(&u->target),
		 v6 ? "[" : "", u->host, v6 ? "]" : "");
	if (u->port != (u->https ? 443 : 80))
		buf_addf(b, ":%d", u->port);
	buf_addf(b, "\r\nUser-Agent: %s\r\n", ua);
	if (token && !http__header_next(h, n, "Authorization", &it))
		buf_addf(b, "Authorization: Bearer %s\r\n", token);
	for (size_t i = 0; i < n; i++) {
		if (!strcasecmp(h[i].name, "Host") ||
		    !strcasecmp(h[i].name, "Content-Length") || !safe_header(&h[i]))
			continue;
		buf_addf(b, "%s: %s\r\n", h[i].name, h[i].value);
	}
	if (body_len || !strcmp(method, "POST") || !strcmp(method, "PUT") ||
	    !strcmp(method, "PATCH"))
		buf_addf(b, "Content-Length: %zu\r\n", body_len);
	buf_addstr(b, "\r\n");
}

/* ---- blocking client wrapper ---- */

struct fetch_state {
	int err;
	bool done;
	struct http_response *resp;
};

static void fetch_done(struct http_call *call, int err, struct http_response *resp,
		       void *ud)
{
	struct fetch_state *st = ud;

	st->err = err;
	st->done = true;
	if (resp) {
		*st->resp = *resp;
		memset(resp, 0, sizeof(*resp));
	}
}

int http_fetch(const struct http_client_opts *copts,
	       const struct http_call_opts *opts, struct http_response *resp)
{
	struct fetch_state st = { .resp = resp };
	struct http_call_opts o = *opts;
	struct http_client *cl;
	uv_loop_t loop;
	int ret;

	memset(resp, 0, sizeof(*resp));
	o.on_complete = fetch_done;
	o.on_headers = NULL;
	o.on_body = NULL;
	o.on_upgrade = NULL;
	o.ud = &st;
	ret = uv_loop_init(&loop);
	if (ret < 0)
		return ret;
	ret = http_client_new(&loop, copts, &cl);
	if (ret == 0) {
		ret = http_call_start(cl, &o, NULL);
		if (ret == 0) {
			while (!st.done && uv_run(&loop, UV_RUN_ONCE))
				;
			ret = st.done ? st.err : -EIO;
		}
		http_client_free(cl);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return ret;
}
