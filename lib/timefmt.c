#include "timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rfc3339_format(int64_t ns, char out[RFC3339_MAX])
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, RFC3339_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void rfc3339_format_micro(int64_t ns, char out[RFC3339_MAX])
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, RFC3339_MAX - 9, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, RFC3339_MAX - n, ".%06dZ",
		 (int)((ns % 1000000000) / 1000));
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)**p))
			return -EINVAL;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c && !(c == 'T' && **p == 't'))
		return -EINVAL;
	(*p)++;
	return 0;
}

int rfc3339_parse(const char *s, int64_t *ns)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0;
	int64_t frac = 0, scale = 100000000;
	struct tm tm = { 0 };
	const char *p = s;
	time_t t;

	if (digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) ||
	    expect(&p, '-') || digits(&p, 2, &d) || expect(&p, 'T') ||
	    digits(&p, 2, &h) || expect(&p, ':') || digits(&p, 2, &mi) ||
	    expect(&p, ':') || digits(&p, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p)) {
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		p++;
		if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om))
			return -EINVAL;
		oh *= sign;
		om *= sign;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	t -= oh * 3600 + om * 60;
	*ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

int duration_parse_ms(const char *s, int64_t *ms)
{
	static const struct { const char *unit; double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	double total = 0;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		size_t n = 0, i;

		if (end == s || v < 0 || !isalpha((unsigned char)*end))
			return -EINVAL;
		s = end;
		while (isalpha((unsigned char)s[n]))
			n++;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].unit) == n && !strncmp(s, units[i].unit, n))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		total += v * units[i].ns;
		s += n;
	}
	if (total / 1e6 > 1e15)
		return -EINVAL;
	*ms = (int64_t)(total / 1e6);
	return 0;
}
