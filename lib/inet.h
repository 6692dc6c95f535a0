/*
 * lib/inet.h - IPv4 and IPv6 addresses and prefixes (CIDRs), parsed and
 * formatted with inet_pton/inet_ntop. No system state is touched here; the
 * pod network (net/), the API server's service IP allocator and the proxy
 * share these.
 */
#ifndef K1S_LIB_INET_H
#define K1S_LIB_INET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define INET_ADDR_STRLEN 46	/* INET6_ADDRSTRLEN */
#define INET_PREFIX_STRLEN 50	/* address + "/128" */

/* An IPv4 or IPv6 address; family is AF_INET or AF_INET6 (0 = none).
 * IPv4 uses bytes[0..3], network byte order. */
struct inet_addr {
	int family;
	uint8_t bytes[16];
};

/* An address with a prefix length in bits (0..32 or 0..128). */
struct inet_prefix {
	struct inet_addr addr;
	unsigned len;
};

/* Bytes of an address of family (4 or 16; 0 for anything else). */
size_t inet_family_len(int family);

/* Parses "10.42.0.5" or "fd42::5" (inet_pton, no zone ids, no prefix).
 * 0 or -EINVAL. */
int inet_addr_parse(const char *s, struct inet_addr *out);

/* Parses "10.42.0.0/24" or "fd42::/64". With INET_PREFIX_STRICT the host bits
 * must be zero (a CIDR); without it any address is fine ("10.42.0.1/24" as
 * an interface address). A missing "/len" is -EINVAL. */
#define INET_PREFIX_STRICT 0x1u
int inet_prefix_parse(const char *s, unsigned flags, struct inet_prefix *out);

/* Formats into buf (at least INET_ADDR_STRLEN / INET_PREFIX_STRLEN bytes);
 * returns buf. A family-0 address formats as "". These can't fail. */
char *inet_addr_format(const struct inet_addr *a, char *buf);
char *inet_prefix_format(const struct inet_prefix *p, char *buf);

bool inet_addr_equal(const struct inet_addr *a, const struct inet_addr *b);
/* True when a has p's family and lies inside p. */
bool inet_prefix_contains(const struct inet_prefix *p, const struct inet_addr *a);
/* The address at host offset off inside p (off 1 of 10.42.0.0/24 is
 * 10.42.0.1). -ERANGE when off does not fit the host bits. */
int inet_prefix_nth(const struct inet_prefix *p, uint64_t off, struct inet_addr *out);
/* The inverse: a's host offset inside p. -EINVAL when a is not in p,
 * -ERANGE when the offset does not fit 64 bits. */
int inet_prefix_offset(const struct inet_prefix *p, const struct inet_addr *a, uint64_t *off);

#endif
