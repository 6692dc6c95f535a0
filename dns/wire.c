/* dns/wire.c - DNS message parsing and writing (RFC 1035, 6891). Every read
 * checks the remaining length first; names are limited to DNS_MAX_NAME wire
 * bytes and compression pointers must point backwards (so parsing ends). */
#include <errno.h>
#include <string.h>

#include "dns/dns_int.h"

uint16_t dns__get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
uint32_t dns__get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
void dns__put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

static bool label_char_odd(uint8_t c)
{
	return c <= 0x20 || c >= 0x7f || c == '.' || c == '/' || c == '\\';
}

int dns__read_name(const uint8_t *m, size_t len, size_t *pos, struct dns__name *n)
{
	size_t p = *pos, end = 0, tl = 0, wire = 1;
	bool jumped = false;

	n->n = 0;
	n->odd = false;
	n->text[0] = n->orig[0] = '\0';
	for (;;) {
		if (p >= len)
			return -EBADMSG;
		uint8_t c = m[p];
		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				return -EBADMSG;
			size_t to = (size_t)(c & 0x3f) << 8 | m[p + 1];
			if (to >= p)	/* only backwards: guarantees an end */
				return -EBADMSG;
			if (!jumped)
				end = p + 2;
			jumped = true;
			p = to;
			continue;
		}
		if (c & 0xc0)
			return -EBADMSG;
		if (c == 0) {
			p++;
			break;
		}
		if (p + 1 + c > len || (wire += c + 1) > DNS_MAX_NAME ||
		    n->n >= DNS__MAX_LABELS)
			return -EBADMSG;
		memcpy(n->wire + wire - c - 2, m + p, c + 1u);
		if (n->n)
			n->text[tl] = n->orig[tl] = '.', tl++;
		n->off[n->n] = (uint8_t)tl;
		n->len[n->n] = c;
		for (size_t i = 0; i < c; i++) {
			uint8_t b = m[p + 1 + i];
			n->odd |= label_char_odd(b);
			n->orig[tl] = (char)b;
			n->text[tl++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
		}
		n->n++;
		p += 1 + c;
	}
	n->text[tl] = n->orig[tl] = '\0';
	n->wire[wire - 1] = 0;
	n->wlen = wire;
	*pos = jumped ? end : p;
	return 0;
}

int dns__skip_rr(const uint8_t *m, size_t len, size_t *pos, uint16_t *type,
		 size_t *ttloff, uint16_t *rdlen)
{
	struct dns__name n;
	size_t p = *pos;

	if (dns__read_name(m, len, &p, &n) < 0 || p + 10 > len)
		return -EBADMSG;
	uint16_t rl = dns__get16(m + p + 8);
	if (p + 10 + rl > len)
		return -EBADMSG;
	if (type)
		*type = dns__get16(m + p);
	if (ttloff)
		*ttloff = p + 4;
	if (rdlen)
		*rdlen = rl;
	*pos = p + 10 + rl;
	return 0;
}

/* The OPT record: root owner, class = UDP size, TTL = ext-rcode, version,
 * flags. A second OPT is a FORMERR (RFC 6891 6.1.1). */
static int read_opt(const uint8_t *m, size_t len, size_t p, struct dns__query *q)
{
	if (q->edns || m[p] != 0)
		return -EBADMSG;
	q->edns = true;
	q->udp_size = dns__get16(m + p + 3);
	q->edns_version = m[p + 6];
	q->do_bit = m[p + 7] & 0x80;
	return 0;
}

int dns__parse_query(const uint8_t *m, size_t len, struct dns__query *q)
{
	memset(q, 0, sizeof(*q));
	if (len < DNS__HDR)
		return -1;
	q->id = dns__get16(m);
	q->flags = dns__get16(m + 2);
	if (q->flags & 0x8000)		/* a response: never answer it */
		return -1;
	if ((q->flags >> 11 & 0xf) != 0)
		return DNS_RC_NOTIMP;
	if (dns__get16(m + 4) != 1)
		return DNS_RC_FORMERR;
	size_t p = DNS__HDR;
	if (dns__read_name(m, len, &p, &q->name) < 0 || p + 4 > len)
		return DNS_RC_FORMERR;
	q->qtype = dns__get16(m + p);
	q->qclass = dns__get16(m + p + 2);
	q->has_q = true;
	p += 4;
	size_t rrs = (size_t)dns__get16(m + 6) + dns__get16(m + 8);
	size_t ar = dns__get16(m + 10);
	for (size_t i = 0; i < rrs + ar; i++) {
		size_t start = p;
		uint16_t type;
		if (dns__skip_rr(m, len, &p, &type, NULL, NULL) < 0)
			return DNS_RC_FORMERR;
		if (i >= rrs && type == DNS_T_OPT && read_opt(m, len, start, q) < 0)
			return DNS_RC_FORMERR;
	}
	if (q->qtype == DNS_T_OPT)
		return DNS_RC_FORMERR;
	return 0;
}

/* ---- writer ---- */

void dns__w_init(struct dns__w *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
	w->ncptr = 0;
}

void dns__w_bytes(struct dns__w *w, const void *p, size_t n)
{
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void dns__w_u8(struct dns__w *w, uint8_t v) { dns__w_bytes(w, &v, 1); }
void dns__w_u16(struct dns__w *w, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };
	dns__w_bytes(w, b, 2);
}
void dns__w_u32(struct dns__w *w, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff };
	dns__w_bytes(w, b, 4);
}

/* Does the name written at off (in our own output) equal the dotted s,
 * case-blind? Walks labels and stops at the first difference. */
static bool name_at_equals(const struct dns__w *w, size_t off, const char *s)
{
	for (int hops = 0; off < w->len && hops < 64;) {
		uint8_t c = w->buf[off];
		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= w->len)
				return false;
			off = (size_t)(c & 0x3f) << 8 | w->buf[off + 1];
			hops++;
			continue;
		}
		if (c == 0)
			return *s == '\0';
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		if (l != c || off + 1 + c > w->len || strncasecmp(s, (const char *)w->buf + off + 1, c))
			return false;
		s += l + (dot ? 1 : 0);
		off += 1 + c;
	}
	return false;
}

void dns__w_name(struct dns__w *w, const char *name)
{
	const char *s = name;

	while (*s) {
		for (size_t i = 0; i < w->ncptr; i++) {
			if (name_at_equals(w, w->cptr[i], s)) {
				dns__w_u16(w, 0xc000 | w->cptr[i]);
				return;
			}
		}
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		if (l == 0 || l > 63) {	/* our own names are checked before */
			w->overflow = true;
			return;
		}
		if (w->len < 0x4000 && w->ncptr < DNS__CPTRS)
			w->cptr[w->ncptr++] = (uint16_t)w->len;
		dns__w_u8(w, (uint8_t)l);
		dns__w_bytes(w, s, l);
		s += l + (dot ? 1 : 0);
	}
	dns__w_u8(w, 0);
}

/* ---- responses ---- */

size_t dns__udp_limit(const struct dns__query *q)
{
	if (!q->edns)
		return DNS_MIN_UDP;
	size_t l = q->udp_size < DNS_MIN_UDP ? DNS_MIN_UDP : q->udp_size;
	return l > DNS_EDNS_UDP ? DNS_EDNS_UDP : l;
}

void dns__resp_init(struct dns__resp *r, const struct dns__query *q,
		    uint8_t *buf, size_t cap, bool aa)
{
	memset(r, 0, sizeof(*r));
	r->q = q;
	dns__w_init(&r->w, buf, cap);
	/* QR, opcode 0, AA, RD copied, RA, CD copied */
	r->flags = 0x8000 | (aa ? 0x0400 : 0) | (q->flags & 0x0100) | 0x0080 |
		   (q->flags & 0x0010);
	dns__w_u16(&r->w, q->id);
	dns__w_bytes(&r->w, "\0\0\0\0\0\0\0\0\0\0", 10);
	if (q->has_q) {
		/* verbatim; a target for compression unless its labels hold dots */
		if (!q->name.odd)
			r->w.cptr[r->w.ncptr++] = (uint16_t)r->w.len;
		dns__w_bytes(&r->w, q->name.wire, q->name.wlen);
		dns__w_u16(&r->w, q->qtype);
		dns__w_u16(&r->w, q->qclass);
	}
	r->qend = r->w.len;
}

size_t dns__rr_begin(struct dns__resp *r, const char *owner, uint16_t type,
		     uint32_t ttl)
{
	dns__w_name(&r->w, owner);
	dns__w_u16(&r->w, type);
	dns__w_u16(&r->w, 1);
	dns__w_u32(&r->w, ttl);
	size_t off = r->w.len;
	dns__w_u16(&r->w, 0);
	return off;
}

void dns__rr_end(struct dns__resp *r, size_t off)
{
	if (!r->w.overflow)
		dns__put16(r->w.buf + off, (uint16_t)(r->w.len - off - 2));
}

static void put_opt(struct dns__resp *r)
{
	dns__w_u8(&r->w, 0);
	dns__w_u16(&r->w, DNS_T_OPT);
	dns__w_u16(&r->w, DNS_EDNS_UDP);
	dns__w_u8(&r->w, (uint8_t)(r->rcode >> 4));
	dns__w_u8(&r->w, 0);	/* version */
	dns__w_u16(&r->w, 0);	/* flags: we do not sign, DO stays clear */
	dns__w_u16(&r->w, 0);
}

size_t dns__resp_finish(struct dns__resp *r, bool udp, bool *truncated)
{
	size_t limit = udp ? dns__udp_limit(r->q) : r->w.cap;
	size_t optlen = r->q->edns ? 11 : 0;
	uint16_t ar = r->ar;

	*truncated = false;
	if (r->w.overflow || r->w.len + optlen > limit) {
		/* TC=1 with the question only: the client retries over TCP */
		r->w.overflow = false;
		r->w.len = r->qend;
		while (r->w.ncptr && r->w.cptr[r->w.ncptr - 1] >= r->qend)
			r->w.ncptr--;
		r->an = r->ns = ar = 0;
		r->flags |= 0x0200;
		*truncated = true;
	}
	if (r->q->edns) {
		put_opt(r);
		ar++;
	}
	if (r->w.overflow)
		return 0;
	uint8_t *b = r->w.buf;
	dns__put16(b + 2, r->flags | (r->rcode & 0xf));
	dns__put16(b + 4, r->q->has_q ? 1 : 0);
	dns__put16(b + 6, r->an);
	dns__put16(b + 8, r->ns);
	dns__put16(b + 10, ar);
	return r->w.len;
}
