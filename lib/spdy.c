/*
 * lib/spdy.c - SPDY/3 frames (see spdy.h).
 *
 * Wire layout: every frame has an 8-byte head. Control frames:
 *   1 | version(15) | type(16) | flags(8) | length(24)
 * data frames:
 *   0 | stream-id(31) | flags(8) | length(24)
 */
#include "spdy.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int spdy_conn_init(struct spdy_conn *c, size_t max_frame)
{
	memset(c, 0, sizeof(*c));
	c->max_frame = max_frame ? max_frame : SPDY_MAX_FRAME;
	buf_init(&c->rx, 0);
	buf_init(&c->hdr, 0);
	if (inflateInit(&c->zin) != Z_OK)
		return -ENOMEM;
	c->zin_ok = true;
	if (deflateInit(&c->zout, Z_DEFAULT_COMPRESSION) != Z_OK ||
	    deflateSetDictionary(&c->zout, spdy_dictionary, SPDY_DICT_LEN) != Z_OK) {
		spdy_conn_release(c);
		return -ENOMEM;
	}
	c->zout_ok = true;
	return 0;
}

void spdy_conn_release(struct spdy_conn *c)
{
	if (c->zin_ok)
		inflateEnd(&c->zin);
	if (c->zout_ok)
		deflateEnd(&c->zout);
	c->zin_ok = c->zout_ok = false;
	buf_release(&c->rx);
	buf_release(&c->hdr);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	buf_add(b, p, 4);
}

/* Inflates src into c->hdr (replacing it). */
static int inflate_block(struct spdy_conn *c, const uint8_t *src, size_t len)
{
	uint8_t tmp[4096];
	int zr;

	buf_reset(&c->hdr);
	c->zin.next_in = (Bytef *)src;
	c->zin.avail_in = (uInt)len;
	do {
		c->zin.next_out = tmp;
		c->zin.avail_out = sizeof(tmp);
		zr = inflate(&c->zin, Z_SYNC_FLUSH);
		if (zr == Z_NEED_DICT) {
			if (inflateSetDictionary(&c->zin, spdy_dictionary, SPDY_DICT_LEN) != Z_OK)
				return -EPROTO;
			zr = Z_OK;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return -EPROTO;
		buf_add(&c->hdr, tmp, sizeof(tmp) - c->zin.avail_out);
		if (c->hdr.len > SPDY_MAX_HEADER_BYTES)
			return -EPROTO;
	} while (c->zin.avail_in || !c->zin.avail_out);
	return 0;
}

/*
 * Splits the block in c->hdr into f->headers (pointing into c->hdr, whose
 * length fields are overwritten by NULs). Names and values are NUL-ended.
 */
static int headers_parse(struct spdy_conn *c, struct spdy_frame *f)
{
	uint8_t *p = (uint8_t *)c->hdr.data, *end = p + c->hdr.len;
	uint32_t n;

	if (end - p < 4)
		return -EPROTO;
	n = rd32(p);
	p += 4;
	if (n > SPDY_MAX_HEADERS)
		return -EPROTO;
	f->headers = xcalloc(n ? n : 1, sizeof(*f->headers));
	f->n_headers = n;
	for (uint32_t i = 0; i < n; i++) {
		char *s[2];

		for (int k = 0; k < 2; k++) {
			uint32_t l;

			if (end - p < 4)
				return -EPROTO;
			l = rd32(p);
			if ((size_t)(end - p - 4) < l)
				return -EPROTO;
			/* shift the string 1 byte left over its length field, NUL after */
			memmove(p, p + 4, l);
			p[l] = '\0';
			s[k] = (char *)p;
			p += 4 + l;
		}
		f->headers[i].name = s[0];
		f->headers[i].value = s[1];
	}
	return 0;
}

const char *spdy_frame_header(const struct spdy_frame *f, const char *name)
{
	for (size_t i = 0; i < f->n_headers; i++)
		if (!strcmp(f->headers[i].name, name))
			return f->headers[i].value;
	return NULL;
}

/* The fixed part of each control frame with a header block, in bytes. */
static size_t block_offset(enum spdy_type t)
{
	return t == SPDY_SYN_STREAM ? 10 : 4;
}

static int control_frame(struct spdy_conn *c, const uint8_t *pl, size_t len,
			 struct spdy_frame *f)
{
	static const uint8_t min_len[] = {
		[SPDY_SYN_STREAM] = 10, [SPDY_SYN_REPLY] = 4, [SPDY_RST_STREAM] = 8,
		[SPDY_SETTINGS] = 4, [SPDY_PING] = 4, [SPDY_GOAWAY] = 8,
		[SPDY_HEADERS] = 4, [SPDY_WINDOW_UPDATE] = 8,
	};
	int r;

	if (len < min_len[f->type])
		return -EPROTO;
	f->stream_id = rd32(pl) & 0x7fffffff;
	switch (f->type) {
	case SPDY_SYN_STREAM:
		f->assoc_id = rd32(pl + 4) & 0x7fffffff;
		/* fall through */
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:
		r = inflate_block(c, pl + block_offset(f->type), len - block_offset(f->type));
		return r ? r : headers_parse(c, f);
	case SPDY_RST_STREAM:
		f->status = rd32(pl + 4);
		return 0;
	case SPDY_PING:
		f->value = rd32(pl);
		f->stream_id = 0;
		return 0;
	case SPDY_GOAWAY:
		f->last_good = f->stream_id;
		f->stream_id = 0;
		f->status = rd32(pl + 4);
		return 0;
	case SPDY_WINDOW_UPDATE:
		f->value = rd32(pl + 4) & 0x7fffffff;
		return 0;
	default:
		f->stream_id = 0;
		return 0;
	}
}

static bool known_type(unsigned t)
{
	return t == SPDY_SYN_STREAM || t == SPDY_SYN_REPLY || t == SPDY_RST_STREAM ||
	       t == SPDY_SETTINGS || t == SPDY_PING || t == SPDY_GOAWAY ||
	       t == SPDY_HEADERS || t == SPDY_WINDOW_UPDATE;
}

/* One frame of total bytes b[0..8+len). */
static int frame_one(struct spdy_conn *c, const uint8_t *b, size_t len, spdy_frame_fn cb, void *ud)
{
	struct spdy_frame f = { 0 };
	int r;

	f.flags = b[4];
	if (!(b[0] & 0x80)) {
		f.type = SPDY_DATA;
		f.stream_id = rd32(b) & 0x7fffffff;
		f.data = b + 8;
		f.len = len;
		return cb(&f, ud);
	}
	if ((((unsigned)b[0] & 0x7f) << 8 | b[1]) != SPDY_VERSION)
		return -EPROTO;
	if (!known_type((unsigned)b[2] << 8 | b[3]))
		return 0;
	f.type = (enum spdy_type)((unsigned)b[2] << 8 | b[3]);
	r = control_frame(c, b + 8, len, &f);
	if (!r)
		r = cb(&f, ud);
	free(f.headers);
	return r;
}

int spdy_conn_feed(struct spdy_conn *c, const void *data, size_t len, spdy_frame_fn cb, void *ud)
{
	int r = 0;

	buf_add(&c->rx, data, len);
	for (;;) {
		const uint8_t *b = (const uint8_t *)c->rx.data;
		size_t flen;

		if (c->rx.len < 8)
			break;
		flen = (size_t)b[5] << 16 | (size_t)b[6] << 8 | b[7];
		if (flen > c->max_frame)
			return -EMSGSIZE;
		if (c->rx.len < 8 + flen)
			break;
		r = frame_one(c, b, flen, cb, ud);
		buf_consume(&c->rx, 8 + flen);
		if (r)
			break;
	}
	return r;
}

/* ---- writers ---- */

static void control_head(struct buf *out, enum spdy_type t, uint8_t flags, size_t len)
{
	uint8_t h[8] = { 0x80, SPDY_VERSION, 0, (uint8_t)t, flags,
			 (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };

	buf_add(out, h, 8);
}

/* Compresses the name/value block of h[0..n) and appends it to out. */
static void block_encode(struct spdy_conn *c, struct buf *out, const struct spdy_header *h, size_t n)
{
	struct buf raw = BUF_INIT;
	uint8_t tmp[4096];

	wr32(&raw, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(h[i].name), start;

		wr32(&raw, (uint32_t)nl);
		start = raw.len;
		buf_add(&raw, h[i].name, nl);
		for (size_t k = 0; k < nl; k++)
			raw.data[start + k] = (char)tolower((unsigned char)raw.data[start + k]);
		wr32(&raw, (uint32_t)strlen(h[i].value));
		buf_addstr(&raw, h[i].value);
	}
	c->zout.next_in = (Bytef *)raw.data;
	c->zout.avail_in = (uInt)raw.len;
	do {
		c->zout.next_out = tmp;
		c->zout.avail_out = sizeof(tmp);
		deflate(&c->zout, Z_SYNC_FLUSH);
		buf_add(out, tmp, sizeof(tmp) - c->zout.avail_out);
	} while (!c->zout.avail_out);
	buf_release(&raw);
}

static void block_frame(struct spdy_conn *c, struct buf *out, enum spdy_type t, uint32_t id,
			uint8_t flags, const struct spdy_header *h, size_t n)
{
	struct buf pl = BUF_INIT;

	wr32(&pl, id & 0x7fffffff);
	if (t == SPDY_SYN_STREAM) {
		wr32(&pl, 0);		/* associated stream */
		buf_add(&pl, "\0\0", 2);	/* priority 0, slot 0 */
	}
	block_encode(c, &pl, h, n);
	control_head(out, t, flags, pl.len);
	buf_add(out, pl.data, pl.len);
	buf_release(&pl);
}

void spdy_syn_stream(struct spdy_conn *c, struct buf *out, uint32_t id, uint8_t flags,
		     const struct spdy_header *h, size_t n)
{
	block_frame(c, out, SPDY_SYN_STREAM, id, flags, h, n);
}

void spdy_syn_reply(struct spdy_conn *c, struct buf *out, uint32_t id, uint8_t flags,
		    const struct spdy_header *h, size_t n)
{
	block_frame(c, out, SPDY_SYN_REPLY, id, flags, h, n);
}

void spdy_data(struct buf *out, uint32_t id, uint8_t flags, const void *data, size_t len)
{
	uint8_t h[4] = { flags, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };

	wr32(out, id & 0x7fffffff);
	buf_add(out, h, 4);
	if (len)
		buf_add(out, data, len);
}

void spdy_rst_stream(struct buf *out, uint32_t id, uint32_t status)
{
	control_head(out, SPDY_RST_STREAM, 0, 8);
	wr32(out, id & 0x7fffffff);
	wr32(out, status);
}

void spdy_ping(struct buf *out, uint32_t id)
{
	control_head(out, SPDY_PING, 0, 4);
	wr32(out, id);
}

void spdy_goaway(struct buf *out, uint32_t last_good, uint32_t status)
{
	control_head(out, SPDY_GOAWAY, 0, 8);
	wr32(out, last_good & 0x7fffffff);
	wr32(out, status);
}
