/* dns/dns_int.h - internals shared by the files of dns/ (not for other
 * modules): the wire parser and writer, the zone's maps and records.
 *
 * Names are handled as label arrays, lowercased on parse: a label holding a
 * '.', '/' or a byte outside printable ASCII marks the name "odd", which can
 * never match a cluster record (it may still be forwarded verbatim).
 */
#ifndef K1S_DNS_INT_H
#define K1S_DNS_INT_H

#include "dns/dns.h"

#define DNS__MAX_LABELS	128
#define DNS__HDR	12
#define DNS__CPTRS	48	/* name offsets remembered for compression */

/* ---- wire (wire.c) ---- */

struct dns__name {
	char text[DNS_MAX_NAME + 1];	/* lowercased labels joined by '.' */
	char orig[DNS_MAX_NAME + 1];	/* same, original case (echoed) */
	uint8_t off[DNS__MAX_LABELS];	/* label start in text/orig */
	uint8_t len[DNS__MAX_LABELS];
	unsigned n;			/* labels; 0 is the root */
	bool odd;
	uint8_t wire[DNS_MAX_NAME + 1];	/* uncompressed wire form, as sent */
	size_t wlen;
};

struct dns__query {
	uint16_t id, flags;
	struct dns__name name;
	uint16_t qtype, qclass;
	bool has_q;		/* question parsed (echo it) */
	bool edns;		/* an OPT record came */
	uint16_t udp_size;	/* the client's, when edns */
	uint8_t edns_version;
	bool do_bit;
};

/* Parses message m. Returns 0, a DNS rcode to answer with (FORMERR,
 * NOTIMP; q->has_q says whether the question can be echoed), or -1 when
 * the message must be dropped (short header, or QR set). */
int dns__parse_query(const uint8_t *m, size_t len, struct dns__query *q);
/* Reads a (possibly compressed) name at *pos; advances *pos past it in
 * place. 0 or -EBADMSG. */
int dns__read_name(const uint8_t *m, size_t len, size_t *pos, struct dns__name *n);
/* Skips one resource record at *pos; sets type, TTL offset, rdlength if wanted. */
int dns__skip_rr(const uint8_t *m, size_t len, size_t *pos, uint16_t *type,
		 size_t *ttloff, uint16_t *rdlen);

struct dns__w {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;		/* a write did not fit: message unusable */
	uint16_t cptr[DNS__CPTRS];
	size_t ncptr;
};

void dns__w_init(struct dns__w *w, uint8_t *buf, size_t cap);
void dns__w_u8(struct dns__w *w, uint8_t v);
void dns__w_u16(struct dns__w *w, uint16_t v);
void dns__w_u32(struct dns__w *w, uint32_t v);
void dns__w_bytes(struct dns__w *w, const void *p, size_t n);
/* Writes a dotted name ("" is the root), compressed against names already
 * written through dns__w_name. */
void dns__w_name(struct dns__w *w, const char *name);
void dns__put16(uint8_t *p, uint16_t v);
uint16_t dns__get16(const uint8_t *p);
uint32_t dns__get32(const uint8_t *p);

/* Response under construction: header counts patched at the end. */
struct dns__resp {
	struct dns__w w;
	const struct dns__query *q;
	uint16_t an, ns, ar;
	uint16_t flags;		/* QR/AA/RA... without rcode */
	int rcode;		/* may be extended (>15) */
	size_t qend;		/* offset after the question */
};

/* Starts a response to q in buf: header and echoed question. */
void dns__resp_init(struct dns__resp *r, const struct dns__query *q,
		    uint8_t *buf, size_t cap, bool aa);
/* Starts an RR: owner, type, class IN, ttl; returns the rdlength offset
 * for dns__rr_end(). */
size_t dns__rr_begin(struct dns__resp *r, const char *owner, uint16_t type,
		     uint32_t ttl);
void dns__rr_end(struct dns__resp *r, size_t rdlen_off);
/* Finishes: OPT (if the query had one), counts, rcode; truncates for UDP
 * when over the limit. Returns the length, or 0 when even a truncated
 * header does not fit (cannot happen with DNS_MAX_MSG). */
size_t dns__resp_finish(struct dns__resp *r, bool udp, bool *truncated);
/* UDP payload limit for the query's client. */
size_t dns__udp_limit(const struct dns__query *q);

/* ---- maps (zone.c) ---- */

struct dns__hent {
	struct dns__hent *next;
	uint32_t hash;
	void *val;
	uint8_t klen;
	uint8_t key[];
};

struct dns__hmap {
	struct dns__hent **b;
	size_t nb, n;
};

uint32_t dns__hash(const void *k, size_t n);
void dns__hmap_add(struct dns__hmap *m, const void *k, size_t kl, void *val);
struct dns__hent *dns__hmap_first(const struct dns__hmap *m, const void *k, size_t kl);
struct dns__hent *dns__hmap_next(const struct dns__hent *e, const void *k, size_t kl);
void *dns__hmap_get(const struct dns__hmap *m, const void *k, size_t kl);
bool dns__hmap_del(struct dns__hmap *m, const void *k, size_t kl, void *val);
void dns__hmap_release(struct dns__hmap *m);

/* ---- zone records ---- */

struct dns__ep {
	struct dns_addr addr;
	bool ready;
	char *hostname;		/* NULL when unset */
	char *node_name;
	char dashed[48];	/* 10-0-0-1 / fd00--1: the name without hostname */
};

struct dns__svc {
	const char *name, *ns;	/* in names[] (one allocation with the struct) */
	struct dns_addr ips[DNS_MAX_IPS];
	char *external_name;
	struct dns_port *ports;	/* one allocation: the array, then the names */
	struct dns__ep *eps;
	uint32_t n_eps, n_ready;	/* <= DNS_MAX_ENDPOINTS */
	uint8_t n_ips, n_ports;		/* <= DNS_MAX_IPS, DNS_MAX_PORTS */
	bool has_spec;		/* the Service exists (else endpoints only) */
	bool headless;
	char names[];		/* "name\0ns\0"; the map key is "name.ns" */
};

struct dns__pod {
	const char *name, *ns;	/* in names[]; the map key is "ns/name" */
	struct dns_addr ips[DNS_MAX_IPS];
	size_t n_ips;
	char names[];
};

enum dns__ipkind { DNS__IP_SVC, DNS__IP_EP, DNS__IP_POD };

/* A reference to a record: a service, one of its endpoints or a pod, and
 * for the IP index which of its addresses. The slot of struct dns__refs. */
struct dns__ipref {
	void *owner;		/* struct dns__svc or struct dns__pod; NULL: empty slot */
	uint32_t hash;		/* of the record's key: "name.ns", "ns/name", dns__ipkey() */
	uint8_t kind;		/* enum dns__ipkind */
	uint16_t idx;		/* the address: ips[idx], or eps[idx] for DNS__IP_EP */
};

/* Records by key without an allocation per entry: an open-addressing
 * table of references (16 bytes a slot, linear probing, at most 3/4 full,
 * deletion by backward shift); duplicate keys allowed. */
struct dns__refs {
	struct dns__ipref *slot;
	size_t cap, n;		/* cap: 0 or a power of two */
};

struct dns_zone {
	char domain[DNS_MAX_NAME + 1];
	struct dns__name dname;		/* domain as labels */
	uint32_t serial;
	bool pods_verified;
	struct dns__refs svcs;		/* "name.ns" -> dns__svc */
	struct dns__refs pods;		/* "ns/name" -> dns__pod */
	struct dns__hmap nss;		/* ns -> (uintptr_t) services + pods */
	struct dns__refs ips;		/* dns__ipkey() -> what holds the address (PTR) */
	size_t n_svcs, n_pods;
};

const struct dns__svc *dns__zone_svc(const struct dns_zone *z, const char *name,
				     size_t nl, const char *ns, size_t nsl);
bool dns__zone_has_ns(const struct dns_zone *z, const char *ns, size_t nsl);
/* The records holding address a, one per call, in no particular order:
 * *pos starts at 0; NULL at the end. */
const struct dns__ipref *dns__zone_ip_next(const struct dns_zone *z, const struct dns_addr *a,
					   size_t *pos);
/* Key of an address in the ips map (17 bytes). */
void dns__ipkey(const struct dns_addr *a, uint8_t key[17]);
/* "10-0-0-1" / "fd00--1" into out (48 bytes). */
void dns__dashed(const struct dns_addr *a, char *out);
/* Parses a dashed label back; 0 or -EINVAL. */
int dns__undash(const char *s, size_t n, struct dns_addr *a);

#endif
