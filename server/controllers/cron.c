/*
 * server/controllers/cron.c - cron schedules (see cron.h).
 */
#include "cron.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CRON_MAX_LEN 256
#define CRON_YEARS 5

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun",
				      "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static const struct { const char *name, *spec; } shorthands[] = {
	{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* A number or a name (names[i] = lo + i). */
static int value(const char *s, size_t n, int lo, const char *const *names, size_t n_names, int *out)
{
	char buf[8];

	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (isdigit((unsigned char)buf[0])) {
		char *end;
		long v = strtol(buf, &end, 10);

		if (*end)
			return -EINVAL;
		*out = (int)v;
		return 0;
	}
	for (size_t i = 0; i < n_names; i++)
		if (!strcasecmp(buf, names[i])) {
			*out = lo + (int)i;
			return 0;
		}
	return -EINVAL;
}

/* One field into bits lo..hi; *star when it is "*" or "?". */
static int field(const char *s, int lo, int hi, const char *const *names, size_t n_names,
		 uint64_t *bits, bool *star)
{
	*bits = 0;
	*star = !strcmp(s, "*") || !strcmp(s, "?");
	while (*s) {
		size_t n = strcspn(s, ",");
		const char *dash, *slash, *end = s + n;
		int a = lo, b = hi, step = 1;

		slash = memchr(s, '/', n);
		if (slash) {
			char *e;

			step = (int)strtol(slash + 1, &e, 10);
			if (e != end || step < 1)
				return -EINVAL;
			end = slash;
		}
		if (!(end - s == 1 && (*s == '*' || *s == '?'))) {
			dash = memchr(s, '-', (size_t)(end - s));
			if (value(s, (size_t)((dash ? dash : end) - s), lo, names, n_names, &a))
				return -EINVAL;
			b = a;
			if (dash && value(dash + 1, (size_t)(end - dash - 1), lo, names, n_names, &b))
				return -EINVAL;
			if (slash && !dash)
				b = hi;
		}
		if (a < lo || b > hi || a > b)
			return -EINVAL;
		for (int v = a; v <= b; v += step)	/* day of week: 7 is Sunday */
			*bits |= 1ull << (hi == 7 ? v % 7 : v);
		s += n;
		if (*s == ',')
			s++;
	}
	return *bits ? 0 : -EINVAL;
}

int cron_parse(const char *spec, struct cron *c, const char **err)
{
	char buf[CRON_MAX_LEN], *f[6], *save = NULL;
	uint64_t bits;
	bool star;
	int n = 0;

	*err = "expected exactly 5 fields";
	memset(c, 0, sizeof(*c));
	if (!spec || strlen(spec) >= sizeof(buf))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(shorthands) / sizeof(shorthands[0]); i++)
		if (!strcmp(spec, shorthands[i].name))
			spec = shorthands[i].spec;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == 5)
			return -EINVAL;
		f[n++] = t;
	}
	if (n != 5)
		return -EINVAL;
	*err = "invalid minute field";
	if (field(f[0], 0, 59, NULL, 0, &c->minute, &star))
		return -EINVAL;
	*err = "invalid hour field";
	if (field(f[1], 0, 23, NULL, 0, &bits, &star))
		return -EINVAL;
	c->hour = (uint32_t)bits;
	*err = "invalid day-of-month field";
	if (field(f[2], 1, 31, NULL, 0, &bits, &c->dom_star))
		return -EINVAL;
	c->dom = (uint32_t)bits;
	*err = "invalid month field";
	if (field(f[3], 1, 12, months, 12, &bits, &star))
		return -EINVAL;
	c->month = (uint32_t)bits;
	*err = "invalid day-of-week field";
	if (field(f[4], 0, 7, days, 7, &bits, &c->dow_star))
		return -EINVAL;
	c->dow = (uint8_t)bits;
	*err = NULL;
	return 0;
}

static bool day_ok(const struct cron *c, const struct tm *tm)
{
	bool dom = c->dom & (1u << tm->tm_mday), dow = c->dow & (1u << tm->tm_wday);

	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

int64_t cron_next(const struct cron *c, int64_t t, bool utc)
{
	time_t now = (time_t)(t - t % 60 + 60), limit = now + (time_t)CRON_YEARS * 366 * 86400;
	struct tm tm;

	while (now < limit) {
		if (utc)
			gmtime_r(&now, &tm);
		else
			localtime_r(&now, &tm);
		if (!(c->month & (1u << (tm.tm_mon + 1)))) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!day_ok(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!(c->hour & (1u << tm.tm_hour))) {
			tm.tm_hour++;
			tm.tm_min = 0;
		} else if (!(c->minute & (1ull << tm.tm_min))) {
			tm.tm_min++;
		} else {
			return (int64_t)now;
		}
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		now = utc ? timegm(&tm) : mktime(&tm);
	}
	return -1;
}
