/*
 * lib/websocket.c - RFC 6455 framing (see websocket.h).
 */
#include "websocket.h"
#include "pki.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>

int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	unsigned char raw[32], sha[20];
	size_t n = 0, olen = 0;
	char cat[128];

	if (!key || strlen(key) != 24 ||
	    mbedtls_base64_decode(raw, sizeof(raw), &n, (const unsigned char *)key, 24) || n != 16)
		return -EINVAL;
	snprintf(cat, sizeof(cat), "%s%s", key, WS_GUID);
	mbedtls_sha1_ret((const unsigned char *)cat, strlen(cat), sha);
	if (mbedtls_base64_encode((unsigned char *)out, WS_ACCEPT_LEN + 1, &olen, sha, sizeof(sha)) ||
	    olen != WS_ACCEPT_LEN)
		return -EINVAL;
	out[WS_ACCEPT_LEN] = '\0';
	return 0;
}

/* True when the comma-separated list has token (trimmed, exact). */
static bool list_has(const char *list, const char *token)
{
	size_t tl = strlen(token);

	while (list && *list) {
		size_t n;

		while (*list == ' ' || *list == '\t' || *list == ',')
			list++;
		n = strcspn(list, ",");
		while (n && (list[n - 1] == ' ' || list[n - 1] == '\t'))
			n--;
		if (n == tl && !strncmp(list, token, n))
			return true;
		list += strcspn(list, ",");
	}
	return false;
}

const char *ws_pick_protocol(const char *offered, const char *const *supported, size_t n)
{
	for (size_t i = 0; offered && i < n; i++)
		if (list_has(offered, supported[i]))
			return supported[i];
	return NULL;
}

void ws_parser_init(struct ws_parser *p, bool server, size_t max_message)
{
	memset(p, 0, sizeof(*p));
	p->server = server;
	p->max_message = max_message ? max_message : WS_MAX_MESSAGE;
	buf_init(&p->in, 0);
	buf_init(&p->msg, 0);
}

void ws_parser_release(struct ws_parser *p)
{
	buf_release(&p->in);
	buf_release(&p->msg);
}

struct ws_hdr {
	bool fin;
	int op;
	bool masked;
	uint64_t len;
	size_t hlen;		/* header bytes including the mask key */
	uint8_t key[4];
};

/* Parses a frame header from b[0..n). 1 when complete, 0 when more bytes
 * are needed, -EPROTO/-EMSGSIZE on a bad one. */
static int hdr_parse(const struct ws_parser *p, const uint8_t *b, size_t n, struct ws_hdr *h)
{
	size_t need = 2;

	if (n < 2)
		return 0;
	h->fin = b[0] & 0x80;
	h->op = b[0] & 0x0f;
	h->masked = b[1] & 0x80;
	h->len = b[1] & 0x7f;
	if (b[0] & 0x70)
		return -EPROTO;
	if (h->masked != p->server)
		return -EPROTO;
	if (h->len == 126)
		need += 2;
	else if (h->len == 127)
		need += 8;
	if (h->masked)
		need += 4;
	if (n < need)
		return 0;
	if (h->len == 126) {
		h->len = (uint64_t)b[2] << 8 | b[3];
	} else if (h->len == 127) {
		h->len = 0;
		for (int i = 0; i < 8; i++)
			h->len = h->len << 8 | b[2 + i];
		if (h->len >> 63)
			return -EPROTO;
	}
	if (h->masked)
		memcpy(h->key, b + need - 4, 4);
	h->hlen = need;
	if (h->op >= 0x8) {
		if (!h->fin || h->len > WS_MAX_CONTROL || (h->op != WS_OP_CLOSE &&
		    h->op != WS_OP_PING && h->op != WS_OP_PONG))
			return -EPROTO;
	} else if (h->op > WS_OP_BINARY) {
		return -EPROTO;
	}
	if (h->len > p->max_message)
		return -EMSGSIZE;
	return 1;
}

/* One complete frame whose payload (unmasked) is pl[0..h->len). */
static int frame_done(struct ws_parser *p, const struct ws_hdr *h, uint8_t *pl,
		      ws_message_fn cb, void *ud)
{
	int r;

	if (h->op >= 0x8) {
		if (h->op == WS_OP_CLOSE) {
			if (h->len == 1)
				return -EPROTO;
			p->closed = true;
		}
		return cb((enum ws_opcode)h->op, pl, (size_t)h->len, ud);
	}
	if (h->op == WS_OP_CONT && !p->msg_op)
		return -EPROTO;
	if (h->op != WS_OP_CONT && p->msg_op)
		return -EPROTO;
	if (h->fin && h->op != WS_OP_CONT)	/* unfragmented: no copy */
		return cb((enum ws_opcode)h->op, pl, (size_t)h->len, ud);
	if (h->op != WS_OP_CONT)
		p->msg_op = h->op;
	if (p->msg.len + h->len > p->max_message)
		return -EMSGSIZE;
	buf_add(&p->msg, pl, (size_t)h->len);
	if (!h->fin)
		return 0;
	r = cb((enum ws_opcode)p->msg_op, (const uint8_t *)p->msg.data, p->msg.len, ud);
	p->msg_op = 0;
	buf_reset(&p->msg);
	return r;
}

int ws_parser_feed(struct ws_parser *p, const void *data, size_t len, ws_message_fn cb, void *ud)
{
	struct ws_hdr h;
	int r = 0;

	if (p->closed)
		return 0;
	buf_add(&p->in, data, len);
	while (!p->closed) {
		uint8_t *b = (uint8_t *)p->in.data;

		r = hdr_parse(p, b, p->in.len, &h);
		if (r <= 0)
			break;
		r = 0;
		if (p->in.len - h.hlen < h.len)
			break;
		if (h.masked)
			for (uint64_t i = 0; i < h.len; i++)
				b[h.hlen + i] ^= h.key[i & 3];
		r = frame_done(p, &h, b + h.hlen, cb, ud);
		buf_consume(&p->in, h.hlen + (size_t)h.len);
		if (r)
			break;
	}
	return r;
}

void ws_frame_encode(struct buf *out, enum ws_opcode op, bool fin, bool mask,
		     const void *data, size_t len)
{
	uint8_t h[14], key[4] = { 0 };
	size_t hl = 2, start;

	if (op >= 0x8 && len > WS_MAX_CONTROL)
		len = WS_MAX_CONTROL;
	h[0] = (uint8_t)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		h[1] = (uint8_t)len;
	} else if (len <= 0xffff) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	if (mask) {
		h[1] |= 0x80;
		if (pki_random(key, sizeof(key)))
			memset(key, 0x5a, sizeof(key));
		memcpy(h + hl, key, 4);
		hl += 4;
	}
	buf_add(out, h, hl);
	start = out->len;
	if (len)
		buf_add(out, data, len);
	if (mask)
		for (size_t i = 0; i < len; i++)
			out->data[start + i] ^= (char)key[i & 3];
}

void ws_close_encode(struct buf *out, bool mask, uint16_t code, const char *reason)
{
	uint8_t pl[WS_MAX_CONTROL];
	size_t rl = reason ? strlen(reason) : 0;

	if (rl > WS_MAX_CONTROL - 2)
		rl = WS_MAX_CONTROL - 2;
	pl[0] = (uint8_t)(code >> 8);
	pl[1] = (uint8_t)code;
	if (rl)
		memcpy(pl + 2, reason, rl);
	ws_frame_encode(out, WS_OP_CLOSE, true, mask, pl, rl + 2);
}
