/*
 * net/ipam.c - a node's dual-stack pod address allocator (see net/net.h).
 *
 * A pool holds the assigned host offsets of one CIDR, sorted, each with its
 * owner. Offsets fit 64 bits because IPv6 pools are /64 or longer. Every
 * change is written to the pool's state file before the call returns:
 *
 *   # k1s IPAM state (one line per assigned address)
 *   cidr 10.42.0.0/24
 *   last 10.42.0.7
 *   10.42.0.2 0b4f...-uid/eth0
 */
#include "net/net.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/util.h"

struct ipam_entry {
	uint64_t off;     /* host offset inside the CIDR */
	char *owner;      /* owned */
};

struct net_ipam_pool {
	struct inet_prefix cidr;
	char *path;       /* state file, owned */
	uint64_t first;   /* lowest assignable offset (2: .0 and .1 are kept) */
	uint64_t last;    /* highest assignable offset */
	uint64_t cursor;  /* last offset handed out (0 = none yet) */
	struct ipam_entry *e;   /* sorted by off */
	size_t n, alloc;
};

static int fail(struct net_ipam *ipam, int err, const char *fmt, ...) K1S_PRINTF(3, 4);
static int fail(struct net_ipam *ipam, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ipam->err, sizeof(ipam->err), fmt, ap);
	va_end(ap);
	return err;
}

static bool owner_ok(const char *owner)
{
	size_t n = owner ? strlen(owner) : 0;

	if (n == 0 || n > NET_IPAM_OWNER_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)owner[i] <= ' ' || owner[i] == 0x7f)
			return false;
	return true;
}

/* The host offset of a (inside p): its last 64 bits minus p's, masked. */
static uint64_t addr_offset(const struct inet_prefix *p, const struct inet_addr *a)
{
	size_t n = inet_family_len(a->family), from = n > 8 ? n - 8 : 0;
	unsigned host = (unsigned)n * 8 - p->len;
	uint64_t v = 0;

	for (size_t i = from; i < n; i++)
		v = (v << 8) | a->bytes[i];
	return host >= 64 ? v : v & ((UINT64_C(1) << host) - 1);
}

/* ---- one pool ------------------------------------------------------------ */

static void pool_free(struct net_ipam_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->e[i].owner);
	free(p->e);
	free(p->path);
	free(p);
}

/* Index of off in p->e, or where it would go (*found false). */
static size_t pool_find(const struct net_ipam_pool *p, uint64_t off, bool *found)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->e[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < p->n && p->e[lo].off == off;
	return lo;
}

static ssize_t pool_owner(const struct net_ipam_pool *p, const char *owner)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->e[i].owner, owner))
			return (ssize_t)i;
	return -1;
}

static void pool_insert(struct net_ipam_pool *p, size_t at, uint64_t off, const char *owner)
{
	ALLOC_GROW(p->e, p->n + 1, p->alloc);
	memmove(&p->e[at + 1], &p->e[at], (p->n - at) * sizeof(p->e[0]));
	p->e[at].off = off;
	p->e[at].owner = xstrdup(owner);
	p->n++;
}

static void pool_remove(struct net_ipam_pool *p, size_t at)
{
	free(p->e[at].owner);
	memmove(&p->e[at], &p->e[at + 1], (p->n - at - 1) * sizeof(p->e[0]));
	p->n--;
}

static bool pool_full(const struct net_ipam_pool *p)
{
	return p->n >= NET_IPAM_MAX || (uint64_t)p->n > p->last - p->first;
}

/* Next free offset after the cursor, wrapping; the pool is not full. */
static uint64_t pool_next_free(const struct net_ipam_pool *p)
{
	uint64_t off = p->cursor;

	for (;;) {
		bool found;

		off = (off < p->first || off >= p->last) ? p->first : off + 1;
		pool_find(p, off, &found);
		if (!found)
			return off;
	}
}

static void pool_to_text(const struct net_ipam_pool *p, struct buf *b)
{
	char s[INET_PREFIX_STRLEN];
	struct inet_addr a;

	buf_addstr(b, "# k1s IPAM state (one line per assigned address)\n");
	buf_addf(b, "cidr %s\n", inet_prefix_format(&p->cidr, s));
	if (p->cursor && !inet_prefix_nth(&p->cidr, p->cursor, &a))
		buf_addf(b, "last %s\n", inet_addr_format(&a, s));
	for (size_t i = 0; i < p->n; i++) {
		inet_prefix_nth(&p->cidr, p->e[i].off, &a);
		buf_addf(b, "%s %s\n", inet_addr_format(&a, s), p->e[i].owner);
	}
}

static int pool_save(struct net_ipam *ipam, const struct net_ipam_pool *p)
{
	struct buf b;
	int ret;

	buf_init(&b, 256);
	pool_to_text(p, &b);
	ret = write_file_atomic(p->path, b.data, b.len, 0600);
	buf_release(&b);
	if (ret)
		return fail(ipam, ret, "cannot write IPAM state '%s': %s", p->path,
			    strerror(-ret));
	return 0;
}

/* Parses an address line of a state file into the pool. */
static int pool_parse_line(struct net_ipam_pool *p, char *line, const char **why)
{
	char *sp = strchr(line, ' ');
	struct inet_addr a;
	uint64_t off;
	size_t at;
	bool found;

	if (!sp)
		return (*why = "expected '<address> <owner>'", -EINVAL);
	*sp = '\0';
	if (!strcmp(line, "cidr") || !strcmp(line, "last"))
		return (*why = "header line out of place", -EINVAL);
	if (inet_addr_parse(line, &a) || !inet_prefix_contains(&p->cidr, &a))
		return (*why = "address outside the CIDR", -EINVAL);
	off = addr_offset(&p->cidr, &a);
	if (off < p->first || off > p->last)
		return (*why = "reserved address", -EINVAL);
	if (!owner_ok(sp + 1))
		return (*why = "invalid owner", -EINVAL);
	at = pool_find(p, off, &found);
	if (found || pool_owner(p, sp + 1) >= 0)
		return (*why = "duplicate address or owner", -EINVAL);
	if (p->n >= NET_IPAM_MAX)
		return (*why = "too many addresses", -EINVAL);
	pool_insert(p, at, off, sp + 1);
	return 0;
}

/* Parses a "cidr" or "last" header line; they come first, in that order. */
static int pool_parse_header(struct net_ipam *ipam, struct net_ipam_pool *p,
			     const char *line, int *state, const char **why)
{
	char c[INET_PREFIX_STRLEN];
	struct inet_prefix cidr;
	struct inet_addr a;

	if (*state == 0 && str_has_prefix(line, "cidr ")) {
		if (inet_prefix_parse(line + 5, INET_PREFIX_STRICT, &cidr) ||
		    cidr.len != p->cidr.len || !inet_addr_equal(&cidr.addr, &p->cidr.addr))
			return fail(ipam, -ESTALE, "IPAM state '%s' is for %s, not %s",
				    p->path, line + 5, inet_prefix_format(&p->cidr, c));
		*state = 1;
		return 0;
	}
	if (*state == 1 && str_has_prefix(line, "last ")) {
		if (inet_addr_parse(line + 5, &a) || !inet_prefix_contains(&p->cidr, &a))
			return (*why = "bad 'last' line", -EINVAL);
		p->cursor = addr_offset(&p->cidr, &a);
		*state = 2;
		return 0;
	}
	return (*why = *state ? "unexpected line" : "no 'cidr' line first", -EINVAL);
}

static int pool_load(struct net_ipam *ipam, struct net_ipam_pool *p)
{
	char *text = NULL, *line, *next;
	const char *why = "";
	int ret, lineno = 0, state = 0;	/* 0 start, 1 cidr seen, 2 addresses */
	size_t len;

	ret = read_file(p->path, NET_IPAM_FILE_MAX, &text, &len);
	if (ret == -ENOENT)
		return pool_save(ipam, p);
	if (ret)
		return fail(ipam, ret, "cannot read IPAM state '%s': %s", p->path,
			    strerror(-ret));
	if (strlen(text) != len) {
		ret = -EINVAL;
		why = "NUL byte";
	}
	for (line = text; !ret && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (state < 2 && (str_has_prefix(line, "cidr ") || str_has_prefix(line, "last ") ||
				  state == 0)) {
			ret = pool_parse_header(ipam, p, line, &state, &why);
		} else {
			state = 2;
			ret = pool_parse_line(p, line, &why);
		}
	}
	if (!ret && state == 0)
		ret = -EINVAL, why = "no 'cidr' line";
	if (ret && ret != -ESTALE)
		ret = fail(ipam, ret, "corrupt IPAM state '%s' line %d: %s", p->path,
			   lineno, why);
	free(text);
	return ret;
}

static int pool_open(struct net_ipam *ipam, const struct inet_prefix *cidr,
		     struct net_ipam_pool **out)
{
	struct net_ipam_pool *p = xcalloc(1, sizeof(*p));
	unsigned bits = (unsigned)inet_family_len(cidr->addr.family) * 8, host;
	char s[INET_PREFIX_STRLEN];
	int ret;

	*out = NULL;
	inet_prefix_format(cidr, s);
	if (!bits || cidr->len > bits || (bits == 32 && cidr->len > 30) ||
	    (bits == 128 && (cidr->len < 64 || cidr->len > 126))) {
		ret = fail(ipam, -EINVAL, "pod CIDR '%s' must be IPv4 /0-/30 or IPv6 /64-/126", s);
		goto bad;
	}
	p->cidr = *cidr;
	if (addr_offset(cidr, &cidr->addr)) {
		ret = fail(ipam, -EINVAL, "pod CIDR '%s' has host bits set", s);
		goto bad;
	}
	host = bits - cidr->len;
	p->first = 2;
	p->last = host >= 64 ? UINT64_MAX : (UINT64_C(1) << host) - 1;
	if (bits == 32)
		p->last--;	/* broadcast */
	p->path = xasprintf("%s/ipam-%s", ipam->state_dir, bits == 32 ? "v4" : "v6");
	ret = pool_load(ipam, p);
	if (ret)
		goto bad;
	*out = p;
	return 0;
bad:
	pool_free(p);
	return ret;
}

/* ---- the allocator -------------------------------------------------------- */

int net_ipam_open(struct net_ipam *ipam, const char *state_dir,
		  const struct inet_prefix *cidrs, size_t ncidrs)
{
	int ret;

	memset(ipam, 0, sizeof(*ipam));
	if (ncidrs < 1 || ncidrs > 2)
		return fail(ipam, -EINVAL, "IPAM needs one or two pod CIDRs, not %zu", ncidrs);
	if (ncidrs == 2 && cidrs[0].addr.family == cidrs[1].addr.family)
		return fail(ipam, -EINVAL, "IPAM needs pod CIDRs of distinct families");
	ret = mkdir_p(state_dir, 0700);
	if (ret)
		return fail(ipam, ret, "cannot create IPAM state dir '%s': %s", state_dir,
			    strerror(-ret));
	ipam->state_dir = xstrdup(state_dir);
	for (size_t i = 0; i < ncidrs; i++) {
		ret = pool_open(ipam, &cidrs[i], &ipam->pools[i]);
		if (ret) {
			char err[NET_ERR_MAX];

			memcpy(err, ipam->err, sizeof(err));
			net_ipam_close(ipam);
			memcpy(ipam->err, err, sizeof(err));
			return ret;
		}
		ipam->npools++;
	}
	return 0;
}

void net_ipam_close(struct net_ipam *ipam)
{
	for (size_t i = 0; i < ARRAY_SIZE(ipam->pools); i++)
		pool_free(ipam->pools[i]);
	free(ipam->state_dir);
	memset(ipam, 0, sizeof(*ipam));
}

const char *net_ipam_error(const struct net_ipam *ipam)
{
	return ipam->err;
}

static void fill(const struct net_ipam_pool *p, uint64_t off, struct inet_prefix *out)
{
	out->len = p->cidr.len;
	inet_prefix_nth(&p->cidr, off, &out->addr);
}

int net_ipam_lookup(const struct net_ipam *ipam, const char *owner,
		    struct net_ipam_addrs *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ipam->npools; i++) {
		ssize_t at = pool_owner(ipam->pools[i], owner ? owner : "");

		if (at < 0)
			return -ENOENT;
		fill(ipam->pools[i], ipam->pools[i]->e[at].off, &out->addr[out->n++]);
	}
	return ipam->npools ? 0 : -ENOENT;
}

/* Undoes the new assignments of one assign call (pools below upto). */
static void undo(struct net_ipam *ipam, size_t upto, const bool *added,
		 const uint64_t *cursor, const char *owner)
{
	for (size_t i = 0; i < upto; i++) {
		struct net_ipam_pool *p = ipam->pools[i];
		ssize_t at = pool_owner(p, owner);

		if (added[i] && at >= 0)
			pool_remove(p, (size_t)at);
		p->cursor = cursor[i];
		if (added[i])	/* it may have been saved already */
			pool_save(ipam, p);
	}
}

int net_ipam_assign(struct net_ipam *ipam, const char *owner, struct net_ipam_addrs *out)
{
	bool added[2] = { false, false };
	uint64_t cursor[2] = { 0, 0 };
	char s[INET_PREFIX_STRLEN];
	size_t i;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!owner_ok(owner))
		return fail(ipam, -EINVAL, "invalid IPAM owner '%.64s'", owner ? owner : "");
	for (i = 0; i < ipam->npools; i++) {
		struct net_ipam_pool *p = ipam->pools[i];
		ssize_t at = pool_owner(p, owner);
		bool found;

		cursor[i] = p->cursor;
		if (at >= 0) {
			fill(p, p->e[at].off, &out->addr[out->n++]);
			continue;
		}
		if (pool_full(p)) {
			ret = fail(ipam, -ENOSPC, "no free address in pod CIDR %s (%zu assigned)",
				   inet_prefix_format(&p->cidr, s), p->n);
			goto out;
		}
		p->cursor = pool_next_free(p);
		pool_insert(p, pool_find(p, p->cursor, &found), p->cursor, owner);
		added[i] = true;
		fill(p, p->cursor, &out->addr[out->n++]);
	}
	for (i = 0; i < ipam->npools && !ret; i++)
		if (added[i])
			ret = pool_save(ipam, ipam->pools[i]);
out:
	if (ret) {
		undo(ipam, ipam->npools, added, cursor, owner);
		memset(out, 0, sizeof(*out));
	}
	return ret;
}

int net_ipam_unassign(struct net_ipam *ipam, const char *owner)
{
	bool any = false;
	int ret = 0;

	for (size_t i = 0; i < ipam->npools; i++) {
		struct net_ipam_pool *p = ipam->pools[i];
		ssize_t at = pool_owner(p, owner ? owner : "");
		int r;

		if (at < 0)
			continue;
		any = true;
		pool_remove(p, (size_t)at);
		r = pool_save(ipam, p);
		if (r && !ret)
			ret = r;
	}
	if (!any)
		return fail(ipam, -ENOENT, "IPAM owner '%.64s' holds no address",
			    owner ? owner : "");
	return ret;
}

void net_ipam_gateways(const struct net_ipam *ipam, struct net_ipam_addrs *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ipam->npools; i++)
		fill(ipam->pools[i], 1, &out->addr[out->n++]);
}

size_t net_ipam_count(const struct net_ipam *ipam, size_t i)
{
	return i < ipam->npools ? ipam->pools[i]->n : 0;
}
