/*
 * lib/inet.c - IPv4/IPv6 addresses and prefixes (see inet.h).
 */
#include "inet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

size_t inet_family_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int inet_addr_parse(const char *s, struct inet_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || strlen(s) >= INET_ADDR_STRLEN)
		return -EINVAL;
	if (inet_pton(AF_INET, s, out->bytes) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, s, out->bytes) == 1)
		out->family = AF_INET6;
	else
		return -EINVAL;
	return 0;
}

/* Are the bits of a after the first len bits all zero? */
static bool host_bits_zero(const struct inet_addr *a, unsigned len)
{
	size_t n = inet_family_len(a->family);

	for (size_t i = 0; i < n; i++) {
		unsigned first = (unsigned)i * 8;
		uint8_t mask;

		if (first + 8 <= len)
			continue;
		mask = first >= len ? 0xff : (uint8_t)(0xff >> (len - first));
		if (a->bytes[i] & mask)
			return false;
	}
	return true;
}

int inet_prefix_parse(const char *s, unsigned flags, struct inet_prefix *out)
{
	char addr[INET_ADDR_STRLEN];
	const char *slash;
	int64_t len;
	size_t alen;

	memset(out, 0, sizeof(*out));
	if (!s || (flags & ~INET_PREFIX_STRICT))
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	/* parse_i64 accepts a sign; a prefix length is plain digits. */
	if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3 ||
	    parse_i64(slash + 1, &len) || inet_addr_parse(addr, &out->addr))
		goto bad;
	if (len > (int64_t)inet_family_len(out->addr.family) * 8)
		goto bad;
	out->len = (unsigned)len;
	if ((flags & INET_PREFIX_STRICT) && !host_bits_zero(&out->addr, out->len))
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

char *inet_addr_format(const struct inet_addr *a, char *buf)
{
	buf[0] = '\0';
	if (a->family == AF_INET || a->family == AF_INET6)
		inet_ntop(a->family, a->bytes, buf, INET_ADDR_STRLEN);
	return buf;
}

char *inet_prefix_format(const struct inet_prefix *p, char *buf)
{
	inet_addr_format(&p->addr, buf);
	if (buf[0])
		snprintf(buf + strlen(buf), INET_PREFIX_STRLEN - strlen(buf), "/%u", p->len);
	return buf;
}

bool inet_addr_equal(const struct inet_addr *a, const struct inet_addr *b)
{
	return a->family == b->family &&
	       !memcmp(a->bytes, b->bytes, inet_family_len(a->family));
}

bool inet_prefix_contains(const struct inet_prefix *p, const struct inet_addr *a)
{
	struct inet_addr x = *a;
	size_t n = inet_family_len(a->family);

	if (a->family != p->addr.family || !n)
		return false;
	/* a is inside p when a's bits beyond len, masked off, give p. */
	for (size_t i = 0; i < n; i++) {
		unsigned first = (unsigned)i * 8;

		if (first >= p->len)
			x.bytes[i] = 0;
		else if (first + 8 > p->len)
			x.bytes[i] &= (uint8_t)(0xff << (8 - (p->len - first)));
	}
	return !memcmp(x.bytes, p->addr.bytes, n);
}

int inet_prefix_nth(const struct inet_prefix *p, uint64_t off, struct inet_addr *out)
{
	size_t n = inet_family_len(p->addr.family);
	unsigned host = (unsigned)n * 8 - p->len;
	uint64_t carry = off;

	if (!n || p->len > n * 8)
		return -EINVAL;
	if (host < 64 && off >> host)
		return -ERANGE;
	*out = p->addr;
	for (size_t i = n; i-- > 0 && carry;) {
		unsigned sum = out->bytes[i] + (unsigned)(carry & 0xff);

		out->bytes[i] = (uint8_t)sum;
		carry = (carry >> 8) + (sum >> 8);
	}
	return 0;
}


int inet_prefix_offset(const struct inet_prefix *p, const struct inet_addr *a, uint64_t *off)
{
	size_t n = inet_family_len(p->addr.family);
	uint64_t v = 0;

	if (!inet_prefix_contains(p, a))
		return -EINVAL;
	if (n * 8 - p->len > 64)
		return -ERANGE;
	for (size_t i = n > 8 ? n - 8 : 0; i < n; i++)
		v = (v << 8) | a->bytes[i];
	if (n * 8 - p->len < 64)
		v &= (UINT64_C(1) << (n * 8 - p->len)) - 1;
	*off = v;
	return 0;
}
