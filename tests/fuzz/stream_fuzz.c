/*
 * tests/fuzz/stream_fuzz.c - libFuzzer target for lib/websocket and lib/spdy.
 *
 * The first byte picks the parser and how the input is split: bit 0 selects
 * WebSocket (server side when bit 1 is set) or SPDY; the rest is fed in
 * pieces of (byte >> 2) + 1 bytes, so every split point gets exercised.
 * Each delivered WebSocket message is re-encoded and parsed again by a peer
 * parser, which must deliver the same bytes; each SPDY SYN_STREAM's headers
 * are re-sent through a second connection's compressor and must come back
 * equal. Limits are small so -EMSGSIZE paths are hit.
 *
 * Build and run: make fuzz (mk/fuzz.mk), FUZZ_SECONDS=N to bound the run.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/spdy.h"
#include "lib/websocket.h"

struct ctx {
	bool server;
	const uint8_t *want;
	size_t want_len;
	int got;
};

static int ws_cmp(enum ws_opcode op, const uint8_t *d, size_t n, void *ud)
{
	struct ctx *c = ud;

	if (n != c->want_len || (n && memcmp(d, c->want, n)))
		abort();
	c->got++;
	return 0;
}

static int ws_msg(enum ws_opcode op, const uint8_t *d, size_t n, void *ud)
{
	struct ctx *c = ud, c2 = { .want = d, .want_len = n };
	struct ws_parser peer;
	struct buf b = BUF_INIT;

	if (op >= 0x8 && n > WS_MAX_CONTROL)
		abort();
	/* what this side would send, as the other side parses it */
	ws_frame_encode(&b, op, true, !c->server, d, n);
	ws_parser_init(&peer, !c->server, 0);
	if (ws_parser_feed(&peer, b.data, b.len, ws_cmp, &c2) || c2.got != 1)
		abort();
	ws_parser_release(&peer);
	buf_release(&b);
	return 0;
}

static int spdy_cmp(const struct spdy_frame *f, void *ud)
{
	const struct spdy_frame *want = ud;

	if (f->n_headers != want->n_headers)
		abort();
	for (size_t i = 0; i < f->n_headers; i++)
		if (strcmp(f->headers[i].value, want->headers[i].value))
			abort();
	return 0;
}

static int spdy_frame(const struct spdy_frame *f, void *ud)
{
	struct spdy_conn a, b;
	struct buf out = BUF_INIT;
	bool lower = true;

	(void)ud;
	if (f->type != SPDY_SYN_STREAM)
		return 0;
	for (size_t i = 0; i < f->n_headers; i++)
		for (const char *p = f->headers[i].name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				lower = false;
	if (!lower)
		return 0;	/* names are lowercased on the way out */
	if (spdy_conn_init(&a, 0) || spdy_conn_init(&b, 0))
		abort();
	spdy_syn_stream(&a, &out, f->stream_id, f->flags, f->headers, f->n_headers);
	if (spdy_conn_feed(&b, out.data, out.len, spdy_cmp, (void *)f))
		abort();
	spdy_conn_release(&a);
	spdy_conn_release(&b);
	buf_release(&out);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx c = { 0 };
	size_t step, pos = 1;

	if (size < 1)
		return 0;
	step = (data[0] >> 2) + 1;
	c.server = data[0] & 2;
	if (data[0] & 1) {
		struct ws_parser p;

		ws_parser_init(&p, c.server, 4096);
		for (; pos < size; pos += step)
			if (ws_parser_feed(&p, data + pos, size - pos < step ? size - pos : step,
					   ws_msg, &c))
				break;
		ws_parser_release(&p);
	} else {
		struct spdy_conn s;

		if (spdy_conn_init(&s, 8192))
			abort();
		for (; pos < size; pos += step)
			if (spdy_conn_feed(&s, data + pos, size - pos < step ? size - pos : step,
					   spdy_frame, NULL))
				break;
		spdy_conn_release(&s);
	}
	return 0;
}
