/*
 * server/proto.c - Kubernetes protobuf bodies to JSON (see proto.h).
 *
 * One pass over the wire: each message is read field by field with
 * lib/protobuf, each field looked up by number in the generated tables and
 * turned into the JSON value its Go type marshals to.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/json.h"
#include "lib/protobuf.h"
#include "lib/util.h"
#include "server/proto.h"

static const char magic[4] = { 'k', '8', 's', 0 };

struct dctx {
	unsigned values;	/* JSON values made so far */
	char *err;		/* first error, malloc'd */
};

K1S_PRINTF(2, 3)
static int fail(struct dctx *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->err) {
		va_start(ap, fmt);
		d->err = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const char *name_of(uint16_t off)
{
	return proto__names + off;
}

/* Counts one more JSON value against PROTO_MAX_VALUES. */
static int count_value(struct dctx *d)
{
	if (++d->values > PROTO_MAX_VALUES)
		return fail(d, "the object has more than %u values", PROTO_MAX_VALUES);
	return 0;
}

static const struct proto_field *find_field(const struct proto_msg *m, uint32_t num)
{
	const struct proto_field *f = proto__fields + m->first;
	size_t lo = 0, hi = m->nfields;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f[mid].num == num)
			return &f[mid];
		if (f[mid].num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Valid UTF-8 without NUL (cJSON strings are NUL-terminated). */
static bool utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		unsigned len, min;
		uint32_t cp;

		if (!c)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			len = 2, min = 0x80, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			len = 3, min = 0x800, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			len = 4, min = 0x10000, cp = c & 0x07;
		else
			return false;
		if (n - i < len)
			return false;
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* s may be NULL when n is 0 (an absent field of a special message). */
static cJSON *make_string(const uint8_t *s, size_t n)
{
	char *t;
	cJSON *v;

	if (!n)
		return cJSON_CreateString("");
	t = xstrndup((const char *)s, n);
	v = cJSON_CreateString(t);

	free(t);
	return v;
}

static cJSON *make_base64(const uint8_t *s, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
	cJSON *v;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)s[i] << 16;

		if (i + 1 < n)
			w |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			w |= s[i + 2];
		*o++ = tab[w >> 18 & 63];
		*o++ = tab[w >> 12 & 63];
		*o++ = i + 1 < n ? tab[w >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tab[w & 63] : '=';
	}
	*o = 0;
	v = cJSON_CreateString(out);
	free(out);
	return v;
}

/* Time as Go's JSON writes it; years 0..9999 as Go allows. */
static int format_time(struct dctx *d, int64_t sec, int64_t nanos, bool micro, char *out, size_t size)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (sec < -62167219200LL || sec > 253402300799LL || nanos < 0 || nanos > 999999999 ||
	    !gmtime_r(&t, &tm))
		return fail(d, "time out of range: %" PRId64 "s %" PRId64 "ns", sec, nanos);
	if (micro)
		snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(nanos / 1000));
	else
		snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

/*
 * Writes the fraction v / 10^prec (".5", no trailing zeros, nothing when
 * zero) backwards ending at *w; returns v / 10^prec.
 */
static uint64_t dur_frac(char **w, uint64_t v, int prec)
{
	bool any = false;

	for (int i = 0; i < prec; i++) {
		unsigned digit = (unsigned)(v % 10);

		any = any || digit;
		if (any)
			*--*w = (char)('0' + digit);
		v /= 10;
	}
	if (any)
		*--*w = '.';
	return v;
}

static void dur_int(char **w, uint64_t v)
{
	do {
		*--*w = (char)('0' + v % 10);
		v /= 10;
	} while (v);
}

void proto_format_duration(int64_t ns, char out[PROTO_DURATION_MAX])
{
	char buf[PROTO_DURATION_MAX], *w = buf + sizeof(buf);
	uint64_t u = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;

	*--w = 0;
	if (u == 0) {
		strcpy(out, "0s");
		return;
	}
	*--w = 's';
	if (u < 1000000000) {
		int prec = 6;

		if (u < 1000) {
			prec = 0;
			*--w = 'n';
		} else if (u < 1000000) {
			prec = 3;
			*--w = (char)0xb5;	/* U+00B5 MICRO SIGN */
			*--w = (char)0xc2;
		} else {
			*--w = 'm';
		}
		u = dur_frac(&w, u, prec);
		dur_int(&w, u);
	} else {
		u = dur_frac(&w, u, 9);
		dur_int(&w, u % 60);
		u /= 60;
		if (u) {
			*--w = 'm';
			dur_int(&w, u % 60);
			u /= 60;
			if (u) {
				*--w = 'h';
				dur_int(&w, u);
			}
		}
	}
	if (ns < 0)
		*--w = '-';
	strcpy(out, w);
}

static int decode_msg(struct dctx *d, unsigned mi, const uint8_t *p, size_t len, cJSON *obj,
		      unsigned depth);
static int decode_body(struct dctx *d, const uint8_t *p, size_t len, cJSON **out, unsigned depth);

/* Reads the scalar fields 1..3 of a small special message. */
struct small {
	bool has[4];
	uint64_t u[4];
	const uint8_t *s[4];
	size_t n[4];
};

static int read_small(struct dctx *d, const struct proto_msg *m, const uint8_t *p, size_t len,
		      struct small *sm)
{
	struct pb_reader r;
	struct pb_field f;
	int ret;

	memset(sm, 0, sizeof(*sm));
	pb_reader_init(&r, p, len);
	while ((ret = pb_next(&r, &f)) > 0) {
		if (f.num > 3)
			continue;
		sm->has[f.num] = true;
		sm->u[f.num] = f.u64;
		sm->s[f.num] = f.data;
		sm->n[f.num] = f.len;
	}
	if (ret < 0)
		return fail(d, "malformed %s message", name_of(m->name));
	return 0;
}

static int small_string(struct dctx *d, const struct proto_msg *m, const struct small *sm, int i,
			cJSON **out)
{
	if (!utf8_ok(sm->s[i], sm->n[i]))
		return fail(d, "invalid string in %s", name_of(m->name));
	*out = make_string(sm->s[i], sm->n[i]);
	return 0;
}

/* Verbs, ExtraValue: {repeated string items = 1} as a JSON array. */
static int decode_strlist(struct dctx *d, const struct proto_msg *m, const uint8_t *p, size_t len,
			  cJSON **out)
{
	struct pb_reader r;
	struct pb_field f;
	int ret;

	*out = cJSON_CreateArray();
	pb_reader_init(&r, p, len);
	while ((ret = pb_next(&r, &f)) > 0) {
		if (f.num != 1)
			continue;
		if (f.wire != PB_LEN || !utf8_ok(f.data, f.len))
			return fail(d, "invalid string in %s", name_of(m->name));
		if ((ret = count_value(d)))
			return ret;
		cJSON_AddItemToArray(*out, make_string(f.data, f.len));
	}
	if (ret < 0)
		return fail(d, "malformed %s message", name_of(m->name));
	return 0;
}

/* A special message's JSON value; *out NULL means "omit the field". */
static int decode_special(struct dctx *d, const struct proto_msg *m, const uint8_t *p, size_t len,
			  cJSON **out, unsigned depth)
{
	struct small sm;
	char buf[64];
	int ret;

	*out = NULL;
	if (m->special == PS_STRLIST)
		return decode_strlist(d, m, p, len, out);
	if ((ret = read_small(d, m, p, len, &sm)))
		return ret;
	switch (m->special) {
	case PS_QUANTITY:
		if (!sm.has[1] || !sm.n[1]) {
			*out = cJSON_CreateString("0");
			return 0;
		}
		return small_string(d, m, &sm, 1, out);
	case PS_INTSTR:
		if (sm.u[1] == 1)
			return small_string(d, m, &sm, 3, out);
		*out = cJSON_CreateNumber((double)(int32_t)(uint32_t)sm.u[2]);
		return 0;
	case PS_TIME:
	case PS_MICROTIME:
		if (!len)
			return 0;
		ret = format_time(d, (int64_t)sm.u[1],
				  m->special == PS_TIME ? 0 : (int64_t)(int32_t)(uint32_t)sm.u[2],
				  m->special == PS_MICROTIME, buf, sizeof(buf));
		if (!ret)
			*out = cJSON_CreateString(buf);
		return ret;
	case PS_DURATION:
		proto_format_duration((int64_t)sm.u[1], buf);
		*out = cJSON_CreateString(buf);
		return 0;
	case PS_RAWJSON:
		if (!sm.n[1])
			return 0;
		if (sm.n[1] >= sizeof(magic) && !memcmp(sm.s[1], magic, sizeof(magic)))
			return decode_body(d, sm.s[1], sm.n[1], out, depth + 1);
		*out = json_parse((const char *)sm.s[1], sm.n[1]);
		if (!*out)
			return fail(d, "%s holds invalid JSON", name_of(m->name));
		return 0;
	default:
		BUG("proto: special %u", m->special);
	}
}

static int wire_ok(const struct proto_field *fd, const struct pb_field *f)
{
	if (fd->kind == PK_BOOL || fd->kind == PK_INT32 || fd->kind == PK_INT64)
		return f->wire == PB_VARINT;
	return f->wire == PB_LEN;
}

/*
 * The JSON value of one wire value of kind/msg; f NULL means absent (a map
 * entry without value: the zero value). *out NULL means "omit".
 */
static int make_value(struct dctx *d, const struct proto_field *fd, const struct pb_field *f,
		      cJSON **out, unsigned depth)
{
	static const struct pb_field none = { .wire = PB_LEN, .data = (const uint8_t *)"" };
	static const struct pb_field zero = { .wire = PB_VARINT };
	const struct proto_msg *m = &proto__msgs[fd->msg];
	int ret;

	*out = NULL;
	if (!f)
		f = fd->kind == PK_BOOL || fd->kind == PK_INT32 || fd->kind == PK_INT64 ?
		    &zero : &none;
	if (!wire_ok(fd, f))
		return fail(d, "field '%s' has wire type %d", name_of(fd->name), f->wire);
	if ((ret = count_value(d)))
		return ret;
	switch (fd->kind) {
	case PK_STRING:
		if (!utf8_ok(f->data, f->len))
			return fail(d, "field '%s' is not a valid UTF-8 string", name_of(fd->name));
		*out = make_string(f->data, f->len);
		return 0;
	case PK_BYTES:
		*out = make_base64(f->data, f->len);
		return 0;
	case PK_BOOL:
		*out = cJSON_CreateBool(f->u64 != 0);
		return 0;
	case PK_INT32:
		*out = cJSON_CreateNumber((double)(int32_t)(uint32_t)f->u64);
		return 0;
	case PK_INT64:
		*out = json_create_int((int64_t)f->u64);
		return 0;
	case PK_MSG:
		if (depth >= PROTO_MAX_DEPTH)
			return fail(d, "the object is nested deeper than %u", PROTO_MAX_DEPTH);
		if (m->special != PS_NONE)
			return decode_special(d, m, f->data, f->len, out, depth + 1);
		*out = cJSON_CreateObject();
		return decode_msg(d, fd->msg, f->data, f->len, *out, depth + 1);
	default:
		BUG("proto: kind %u", fd->kind);
	}
}

static int decode_map_entry(struct dctx *d, const struct proto_field *fd, const struct pb_field *f,
			    cJSON *obj, unsigned depth)
{
	struct pb_field e, key = { .wire = PB_LEN, .data = (const uint8_t *)"" }, val = { 0 };
	bool has_val = false;
	struct pb_reader r;
	cJSON *map, *v;
	char *k;
	int ret;

	if (f->wire != PB_LEN)
		return fail(d, "map field '%s' has wire type %d", name_of(fd->name), f->wire);
	pb_reader_init(&r, f->data, f->len);
	while ((ret = pb_next(&r, &e)) > 0) {
		if (e.num == 1)
			key = e;
		else if (e.num == 2)
			val = e, has_val = true;
	}
	if (ret < 0)
		return fail(d, "malformed entry of map '%s'", name_of(fd->name));
	if (key.wire != PB_LEN || !utf8_ok(key.data, key.len))
		return fail(d, "invalid key in map '%s'", name_of(fd->name));
	if ((ret = make_value(d, fd, has_val ? &val : NULL, &v, depth)))
		goto out;
	map = json_get(obj, name_of(fd->name));
	if (!cJSON_IsObject(map)) {
		map = cJSON_CreateObject();
		json_set(obj, name_of(fd->name), map);
	}
	k = xstrndup((const char *)key.data, key.len);
	json_set(map, k, v ? v : cJSON_CreateNull());
	free(k);
	v = NULL;
out:
	cJSON_Delete(v);
	return ret;
}

/* A packed repeated varint field (accepted as any proto reader must). */
static int decode_packed(struct dctx *d, const struct proto_field *fd, const struct pb_field *f,
			 cJSON *arr, unsigned depth)
{
	const uint8_t *p = f->data, *end = f->data + f->len;
	struct pb_field one = { .num = f->num, .wire = PB_VARINT };
	cJSON *v;
	int ret;

	while (p < end) {
		if (pb_read_varint(&p, end, &one.u64))
			return fail(d, "malformed packed field '%s'", name_of(fd->name));
		if ((ret = make_value(d, fd, &one, &v, depth)))
			return ret;
		cJSON_AddItemToArray(arr, v);
	}
	return 0;
}

static int decode_field(struct dctx *d, const struct proto_field *fd, const struct pb_field *f,
			cJSON *obj, unsigned depth)
{
	const char *name = name_of(fd->name);
	cJSON *v, *old = json_get(obj, name);
	int ret;

	if (fd->flags & PF_MAP)
		return decode_map_entry(d, fd, f, obj, depth);
	if (fd->flags & PF_REPEATED) {
		if (!cJSON_IsArray(old)) {
			old = cJSON_CreateArray();
			json_set(obj, name, old);
		}
		if (f->wire == PB_LEN && fd->kind != PK_STRING && fd->kind != PK_BYTES &&
		    fd->kind != PK_MSG)
			return decode_packed(d, fd, f, old, depth);
		if ((ret = make_value(d, fd, f, &v, depth))) {
			cJSON_Delete(v);
			return ret;
		}
		cJSON_AddItemToArray(old, v ? v : cJSON_CreateNull());
		return 0;
	}
	if (fd->kind == PK_MSG && proto__msgs[fd->msg].special == PS_NONE &&
	    ((fd->flags & PF_INLINE) || cJSON_IsObject(old))) {
		/* Inline structs and repeated occurrences merge, as in protobuf. */
		if (f->wire != PB_LEN)
			return fail(d, "field '%s' has wire type %d", name, f->wire);
		if (depth >= PROTO_MAX_DEPTH)
			return fail(d, "the object is nested deeper than %u", PROTO_MAX_DEPTH);
		return decode_msg(d, fd->msg, f->data, f->len,
				  (fd->flags & PF_INLINE) ? obj : old, depth + 1);
	}
	if ((ret = make_value(d, fd, f, &v, depth))) {
		cJSON_Delete(v);
		return ret;
	}
	if (v && ((cJSON_IsString(v) && !*v->valuestring && fd->kind != PK_MSG &&
		   !(fd->flags & PF_KEEP_EMPTY)) ||
		  ((fd->flags & PF_OMIT_ZERO) && !f->u64))) {
		cJSON_Delete(v);
		v = NULL;
	}
	if (v)
		json_set(obj, name, v);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
	return 0;
}

static int decode_msg(struct dctx *d, unsigned mi, const uint8_t *p, size_t len, cJSON *obj,
		      unsigned depth)
{
	const struct proto_msg *m = &proto__msgs[mi];
	const struct proto_field *fd;
	struct pb_reader r;
	struct pb_field f;
	int ret;

	pb_reader_init(&r, p, len);
	while ((ret = pb_next(&r, &f)) > 0) {
		if (!(fd = find_field(m, f.num)))
			continue;
		if ((ret = decode_field(d, fd, &f, obj, depth)))
			return ret;
	}
	if (ret < 0)
		return fail(d, "malformed %s message", name_of(m->name));
	return 0;
}

/* The message describing kind in apiVersion; meta/v1 kinds (DeleteOptions) in any. */
static int find_kind(const char *api_version, const char *kind)
{
	const struct proto_gv *meta = NULL;

	for (unsigned g = 0; g < proto__ngvs; g++) {
		const struct proto_gv *gv = &proto__gvs[g];
		size_t lo = gv->first, hi = (size_t)gv->first + gv->count;

		if (!strcmp(gv->api_version, "meta.k8s.io/v1"))
			meta = gv;
		if (strcmp(gv->api_version, api_version))
			continue;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = strcmp(name_of(proto__msgs[mid].name), kind);

			if (!c)
				return proto__msgs[mid].special == PS_NONE ? (int)mid : -1;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	if (meta)
		for (unsigned i = meta->first; i < (unsigned)meta->first + meta->count; i++)
			if (!strcmp(name_of(proto__msgs[i].name), kind) &&
			    str_has_suffix(kind, "Options"))
				return (int)i;
	return -1;
}

struct envelope {
	char *api_version, *kind;
	const uint8_t *raw;
	size_t raw_len;
};

static int read_envelope(struct dctx *d, const uint8_t *p, size_t len, struct envelope *env)
{
	struct pb_reader r, tr;
	struct pb_field f, t;
	int ret;

	pb_reader_init(&r, p, len);
	while ((ret = pb_next(&r, &f)) > 0) {
		if (f.num == 1 && f.wire == PB_LEN) {
			pb_reader_init(&tr, f.data, f.len);
			while ((ret = pb_next(&tr, &t)) > 0) {
				char **dst = t.num == 1 ? &env->api_version :
					     t.num == 2 ? &env->kind : NULL;

				if (!dst)
					continue;
				if (t.wire != PB_LEN || !utf8_ok(t.data, t.len))
					return fail(d, "invalid type meta in the protobuf envelope");
				free(*dst);
				*dst = xstrndup((const char *)t.data, t.len);
			}
			if (ret < 0)
				break;
		} else if (f.num == 2 && f.wire == PB_LEN) {
			env->raw = f.data;
			env->raw_len = f.len;
		} else if (f.num == 3 && f.wire == PB_LEN && f.len) {
			return fail(d, "content encoding '%.*s' is not supported", (int)f.len, f.data);
		}
	}
	if (ret < 0)
		return fail(d, "malformed protobuf envelope");
	if (!env->kind || !*env->kind)
		return fail(d, "object 'Kind' is missing in the protobuf envelope");
	return 0;
}

static int decode_body(struct dctx *d, const uint8_t *p, size_t len, cJSON **out, unsigned depth)
{
	struct envelope env = { 0 };
	cJSON *obj = NULL;
	int ret, mi;

	*out = NULL;
	if (depth >= PROTO_MAX_DEPTH)
		return fail(d, "the object is nested deeper than %u", PROTO_MAX_DEPTH);
	if (len < sizeof(magic) || memcmp(p, magic, sizeof(magic))) {
		ret = fail(d, "the protobuf body does not start with the 'k8s\\0' magic");
		goto out;
	}
	if ((ret = read_envelope(d, p + sizeof(magic), len - sizeof(magic), &env)))
		goto out;
	mi = find_kind(env.api_version ? env.api_version : "", env.kind);
	if (mi < 0) {
		ret = fail(d, "no protobuf description of kind '%s' in '%s'", env.kind,
			   env.api_version ? env.api_version : "");
		goto out;
	}
	obj = cJSON_CreateObject();
	if (env.api_version && *env.api_version)
		json_set_str(obj, "apiVersion", env.api_version);
	json_set_str(obj, "kind", env.kind);
	if ((ret = decode_msg(d, (unsigned)mi, env.raw, env.raw_len, obj, depth)))
		goto out;
	*out = obj;
	obj = NULL;
out:
	cJSON_Delete(obj);
	free(env.api_version);
	free(env.kind);
	return ret;
}

int proto_decode_object(const void *body, size_t len, cJSON **out, char **err)
{
	struct dctx d = { 0 };
	int ret;

	*out = NULL;
	*err = NULL;
	if (len > PROTO_MAX_BODY)
		ret = fail(&d, "the protobuf body is larger than %u bytes", PROTO_MAX_BODY);
	else
		ret = decode_body(&d, body, len, out, 0);
	if (ret) {
		*err = d.err ? d.err : xstrdup("invalid protobuf body");
		return ret;
	}
	free(d.err);
	return 0;
}

int proto_is_media_type(const char *ctype)
{
	size_t n;

	if (!ctype)
		return 0;
	n = strcspn(ctype, ";");
	while (n && ctype[n - 1] == ' ')
		n--;
	return n == strlen(PROTO_MEDIA_TYPE) && !strncasecmp(ctype, PROTO_MEDIA_TYPE, n);
}
