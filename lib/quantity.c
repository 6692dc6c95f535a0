/*
 * lib/quantity.c - Kubernetes resource quantities (see quantity.h).
 *
 * Parsing follows upstream ParseQuantity: a fast path that keeps
 * value * 10^scale in int64 (and remembers the input text when it is
 * already canonical), and a slow path that upstream runs on arbitrary
 * precision decimals and we run on 128-bit integers.
 */
#include "quantity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef __int128 i128;

static const char err_format[] = "quantities must match the regular expression "
	"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
static const char err_suffix[] = "unable to parse quantity's suffix";
static const char err_numeric[] = "unable to parse numeric part of quantity";
static const char err_range[] = "quantity out of the supported range";

static const struct { const char *s; int exp; } dec_suffixes[] = {
	{ "n", -9 }, { "u", -6 }, { "m", -3 }, { "", 0 }, { "k", 3 }, { "M", 6 },
	{ "G", 9 }, { "T", 12 }, { "P", 15 }, { "E", 18 },
};
static const struct { const char *s; int exp; } bin_suffixes[] = {
	{ "Ki", 10 }, { "Mi", 20 }, { "Gi", 30 }, { "Ti", 40 }, { "Pi", 50 }, { "Ei", 60 },
};

#define I64_FITS(v) ((v) >= (i128)INT64_MIN && (v) <= (i128)INT64_MAX)
#define I128_MAX ((i128)(((unsigned __int128)1 << 127) - 1))

void quantity_init(struct quantity *q, int64_t v, int32_t scale, enum quantity_format f)
{
	memset(q, 0, sizeof(*q));
	q->value = v;
	q->scale = scale;
	q->format = f;
}

bool quantity_is_zero(const struct quantity *q)
{
	return q->value == 0;
}

/* The pieces of upstream parseQuantityString. */
struct qparts {
	bool negative;
	const char *num;	/* digits, leading zeros stripped ("0" when none) */
	size_t nnum;
	const char *denom;	/* digits after '.' */
	size_t ndenom;
	const char *suffix;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int split(const char *s, struct qparts *p)
{
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	if (s[i] == '-' || s[i] == '+')
		p->negative = s[i++] == '-';
	while (s[i] == '0')
		i++;
	p->num = s + i;
	while (is_digit(s[i]))
		i++;
	p->nnum = (size_t)(s + i - p->num);
	if (!p->nnum) {
		p->num = "0";
		p->nnum = 1;
	}
	if (s[i] == '.') {
		p->denom = s + ++i;
		while (is_digit(s[i]))
			i++;
		p->ndenom = (size_t)(s + i - p->denom);
	}
	p->suffix = s + i;
	while (s[i] && strchr("eEinumkKMGTP", s[i]))
		i++;
	if (s[i] == '-' || s[i] == '+')
		i++;
	while (is_digit(s[i]))
		i++;
	return s[i] ? -EINVAL : 0;
}

/* Upstream quantitySuffixer.interpret. */
static int interpret(const char *sfx, int *base, int *exp, enum quantity_format *f)
{
	int64_t e;

	for (size_t i = 0; i < ARRAY_SIZE(dec_suffixes); i++) {
		if (!strcmp(sfx, dec_suffixes[i].s)) {
			*base = 10, *exp = dec_suffixes[i].exp, *f = QUANTITY_DECIMAL_SI;
			return 0;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(bin_suffixes); i++) {
		if (!strcmp(sfx, bin_suffixes[i].s)) {
			*base = 2, *exp = bin_suffixes[i].exp, *f = QUANTITY_BINARY_SI;
			return 0;
		}
	}
	if (strlen(sfx) > 1 && (sfx[0] == 'e' || sfx[0] == 'E')) {
		const char *d = sfx + 1 + (sfx[1] == '+' || sfx[1] == '-');

		if (!*d || parse_i64(sfx + 1 + (sfx[1] == '+'), &e))
			return -EINVAL;
		if (e > QUANTITY_MAX_EXP || e < -QUANTITY_MAX_EXP)
			return -ERANGE;
		*base = 10, *exp = (int)e, *f = QUANTITY_DECIMAL_EXPONENT;
		return 0;
	}
	return -EINVAL;
}

static bool ends_with_000(const struct qparts *p)
{
	char buf[4] = { 0 };
	size_t n = 0;

	/* the last three digits of num+denom */
	for (size_t i = p->ndenom; i > 0 && n < 3; i--)
		buf[n++] = p->denom[i - 1];
	for (size_t i = p->nnum; i > 0 && n < 3; i--)
		buf[n++] = p->num[i - 1];
	return n == 3 && !strcmp(buf, "000");
}

/* Upstream's int64 fast path; returns false when the slow path must run. */
static bool parse_fast(const char *s, const struct qparts *p, int exp,
		       enum quantity_format f, struct quantity *q)
{
	int64_t mantissa = 1, v = 0;
	int precision, scale;

	if (f != QUANTITY_BINARY_SI) {
		scale = exp;
		precision = 18 - (int)(p->nnum + p->ndenom);
	} else if (exp >= 0 && !p->ndenom) {
		scale = 0;
		mantissa = (int64_t)1 << exp;
		precision = 15 - (int)p->nnum - (int)((float)exp * 3 / 10) - 1;
	} else {
		return false;
	}
	scale -= (int)p->ndenom;
	if (precision < 0 || scale < -9)
		return false;
	for (size_t i = 0; i < p->nnum; i++)
		v = v * 10 + (p->num[i] - '0');
	for (size_t i = 0; i < p->ndenom; i++)
		v = v * 10 + (p->denom[i] - '0');
	if (__builtin_mul_overflow(v, mantissa, &q->value))
		return false;
	if (p->negative)
		q->value = -q->value;
	q->scale = scale;
	q->format = f;
	q->s[0] = '\0';
	if (strlen(s) < QUANTITY_STR_MAX &&
	    (f == QUANTITY_BINARY_SI ? exp % 10 == 0 && (v & 7) != 0
	     : scale % 3 == 0 && !ends_with_000(p) && p->num[0] != '0'))
		strcpy(q->s, s);
	return true;
}

/* |x| rounded up to a multiple of 10^n, divided by 10^n. */
static i128 div_pow10_up(i128 x, int n)
{
	bool frac = false;

	for (; n > 0 && x; n--) {
		frac |= x % 10 != 0;
		x /= 10;
	}
	return x + frac;
}

/* Compares d * 10^sc with x (d, x >= 0, sc >= -9): -1, 0, 1. */
static int cmp_scaled(i128 d, int sc, i128 x)
{
	for (; sc > 0; sc--) {
		if (d > x)
			return 1;
		d *= 10;
	}
	for (; sc < 0; sc++)
		x *= 10;
	return d < x ? -1 : d > x;
}

/* The slow path: exact 128-bit arithmetic, rounding up to 1n. */
static int parse_slow(const struct qparts *p, int base, int exp, enum quantity_format f,
		      struct quantity *q)
{
	const char *all[2] = { p->num, p->denom };
	size_t lens[2] = { p->nnum, p->ndenom };
	int sc = (base == 10 ? exp : 0) - (int)p->ndenom;
	i128 d = 0;

	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < lens[k]; i++) {
			if (d > I128_MAX / 10 - 9)
				return -ERANGE;
			d = d * 10 + (all[k][i] - '0');
		}
	}
	if (base == 2) {
		if (d > (I128_MAX >> exp))
			return -ERANGE;
		d <<= exp;
	}
	if (sc < -9) {
		d = div_pow10_up(d, -9 - sc);
		sc = -9;
	}
	if (f == QUANTITY_BINARY_SI && cmp_scaled(d, sc, INT64_MAX) > 0) {
		d = INT64_MAX;	/* upstream caps binary amounts at 2^63-1 */
		sc = 0;
	}
	while (!I64_FITS(d) && d % 10 == 0) {
		d /= 10;
		sc++;
	}
	if (!I64_FITS(d))
		return -ERANGE;
	if (f == QUANTITY_BINARY_SI && d && cmp_scaled(d, sc, 1) < 0)
		f = QUANTITY_DECIMAL_SI;
	q->value = p->negative ? -(int64_t)d : (int64_t)d;
	q->scale = sc;
	q->format = f;
	q->s[0] = '\0';
	return 0;
}

int quantity_parse(const char *s, struct quantity *q, const char **err)
{
	struct qparts p;
	enum quantity_format f;
	int base, exp, ret;

	memset(q, 0, sizeof(*q));
	if (!*s || strlen(s) > QUANTITY_MAX_LEN) {
		*err = err_format;
		return -EINVAL;
	}
	if (!strcmp(s, "0")) {
		strcpy(q->s, "0");
		return 0;
	}
	if (split(s, &p)) {
		*err = err_format;
		return -EINVAL;
	}
	ret = interpret(p.suffix, &base, &exp, &f);
	if (ret) {
		*err = ret == -ERANGE ? err_range : err_suffix;
		return ret;
	}
	if (parse_fast(s, &p, exp, f, q))
		return 0;
	ret = parse_slow(&p, base, exp, f, q);
	if (ret) {
		memset(q, 0, sizeof(*q));
		*err = ret == -ERANGE ? err_range : err_numeric;
	}
	return ret;
}

int quantity_canonicalize(const char *in, char *out, size_t len, const char **err)
{
	struct quantity q;
	int ret = quantity_parse(in, &q, err);

	if (!ret)
		quantity_format(&q, out, len);
	return ret;
}

int quantity_from_json(const cJSON *v, struct quantity *q, const char **err)
{
	char num[64];
	double d;

	if (cJSON_IsString(v))
		return quantity_parse(v->valuestring, q, err);
	if (!cJSON_IsNumber(v)) {
		memset(q, 0, sizeof(*q));
		*err = err_format;
		return -EINVAL;
	}
	/* the number's JSON text, as cJSON would print it */
	d = v->valuedouble;
	if (d == (double)(int64_t)d && d > -9.007199254740992e15 && d < 9.007199254740992e15) {
		snprintf(num, sizeof(num), "%lld", (long long)d);
	} else {
		snprintf(num, sizeof(num), "%1.15g", d);
		if (strtod(num, NULL) != d)
			snprintf(num, sizeof(num), "%1.17g", d);
	}
	return quantity_parse(num, q, err);
}

static int i128_str(i128 v, char *out, size_t len)
{
	char tmp[48];
	unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[n++] = '-';
	if (n + 1 > len)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return (int)n;
}

/* value * 10^scale as an integer, when exact and within 128 bits. */
static bool as_integer(const struct quantity *q, i128 *out)
{
	i128 v = q->value;

	for (int i = 0; i < q->scale; i++) {
		if (v > I128_MAX / 10 || v < -(I128_MAX / 10))
			return false;
		v *= 10;
	}
	for (int i = 0; i > q->scale; i--) {
		if (v % 10)
			return false;
		v /= 10;
	}
	*out = v;
	return true;
}

static void format_binary(i128 v, char *out, size_t len)
{
	int e = 0;
	int n;

	while (v && v % 1024 == 0 && e < (int)ARRAY_SIZE(bin_suffixes)) {
		v /= 1024;
		e++;
	}
	n = i128_str(v, out, len);
	if (n >= 0 && e)
		snprintf(out + n, len - (size_t)n, "%s", bin_suffixes[e - 1].s);
}

static void format_decimal(const struct quantity *q, enum quantity_format f, char *out,
			   size_t len)
{
	i128 v = q->value;
	int e = q->scale, n;
	const char *sfx = NULL;

	while (v && v % 10 == 0) {
		v /= 10;
		e++;
	}
	switch (e % 3) {
	case 1: case -2:
		v *= 10, e -= 1;
		break;
	case 2: case -1:
		v *= 100, e -= 2;
		break;
	}
	n = i128_str(v, out, len);
	if (n < 0)
		return;
	for (size_t i = 0; f == QUANTITY_DECIMAL_SI && i < ARRAY_SIZE(dec_suffixes); i++) {
		if (dec_suffixes[i].exp == e)
			sfx = dec_suffixes[i].s;
	}
	if (sfx)
		snprintf(out + n, len - (size_t)n, "%s", sfx);
	else if (e)
		snprintf(out + n, len - (size_t)n, "e%d", e);
}

void quantity_format(const struct quantity *q, char *out, size_t len)
{
	enum quantity_format f = q->format;
	i128 v = 0;

	if (!len)
		return;
	if (q->s[0]) {
		snprintf(out, len, "%s", q->s);
		return;
	}
	if (q->value == 0) {
		snprintf(out, len, "0");
		return;
	}
	if (f == QUANTITY_BINARY_SI && (!as_integer(q, &v) || (v > -1024 && v < 1024)))
		f = QUANTITY_DECIMAL_SI;
	if (f == QUANTITY_BINARY_SI)
		format_binary(v, out, len);
	else
		format_decimal(q, f, out, len);
}

/* a and b brought to the smaller scale, in 128 bits; false if too far apart. */
static bool align(const struct quantity *a, const struct quantity *b, i128 *x, i128 *y,
		  int32_t *scale)
{
	const struct quantity *hi = a->scale > b->scale ? a : b;
	i128 v = hi->value;

	*scale = a->scale < b->scale ? a->scale : b->scale;
	for (int32_t i = *scale; i < hi->scale; i++) {
		if (v > I128_MAX / 10 || v < -(I128_MAX / 10))
			return false;
		v *= 10;
	}
	*x = hi == a ? v : a->value;
	*y = hi == a ? b->value : v;
	return true;
}

static int sign_of(int64_t v)
{
	return (v > 0) - (v < 0);
}

int quantity_cmp(const struct quantity *a, const struct quantity *b)
{
	i128 x, y;
	int32_t sc;

	if (!align(a, b, &x, &y, &sc)) {
		/* the side that was scaled up dwarfs the other one */
		const struct quantity *hi = a->scale > b->scale ? a : b;

		return hi == a ? sign_of(a->value) : -sign_of(b->value);
	}
	return x < y ? -1 : x > y;
}

static int add_signed(struct quantity *a, const struct quantity *b, int sign)
{
	i128 x, y, sum;
	int32_t sc;

	if (!align(a, b, &x, &y, &sc))
		return -ERANGE;
	sum = x + sign * y;
	while (!I64_FITS(sum) && sum % 10 == 0) {
		sum /= 10;
		sc++;
	}
	if (!I64_FITS(sum))
		return -ERANGE;
	if (a->value == 0)
		a->format = b->format;
	a->value = (int64_t)sum;
	a->scale = sc;
	a->s[0] = '\0';
	return 0;
}

int quantity_add(struct quantity *a, const struct quantity *b)
{
	return add_signed(a, b, 1);
}

int quantity_sub(struct quantity *a, const struct quantity *b)
{
	return add_signed(a, b, -1);
}

/* value * 10^(scale - to), rounded away from zero, saturating. */
static int64_t scaled(const struct quantity *q, int32_t to)
{
	i128 v = q->value;
	bool frac = false;

	for (int32_t i = q->scale; i > to; i--) {
		if (v > (i128)INT64_MAX || v < (i128)INT64_MIN)
			break;
		v *= 10;
	}
	for (int32_t i = q->scale; i < to && v; i++) {
		frac |= v % 10 != 0;
		v /= 10;
	}
	if (frac)
		v += q->value > 0 ? 1 : -1;
	if (v > (i128)INT64_MAX)
		return INT64_MAX;
	if (v < (i128)INT64_MIN)
		return INT64_MIN;
	return (int64_t)v;
}

int64_t quantity_value(const struct quantity *q)
{
	return scaled(q, 0);
}

int64_t quantity_milli_value(const struct quantity *q)
{
	return scaled(q, -3);
}
