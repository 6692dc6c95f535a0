/*
 * tests/unit/stream_framing_test.c - lib/websocket and lib/spdy framing.
 */
#include "test.h"
#include "lib/spdy.h"
#include "lib/websocket.h"

#include <errno.h>

TEST(ws_accept_key_rfc_example)
{
	char out[WS_ACCEPT_LEN + 1];

	/* RFC 6455 section 1.3 */
	ASSERT_OK(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out));
	ASSERT_STR_EQ(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ASSERT_EQ(ws_accept_key("short", out), -EINVAL);
	ASSERT_EQ(ws_accept_key(NULL, out), -EINVAL);
}

TEST(ws_pick_protocol_prefers_server_order)
{
	static const char *const sup[] = { "v5.channel.k8s.io", "v4.channel.k8s.io" };

	ASSERT_STR_EQ(ws_pick_protocol("v4.channel.k8s.io, v5.channel.k8s.io", sup, 2),
		      "v5.channel.k8s.io");
	ASSERT_STR_EQ(ws_pick_protocol("base64.channel.k8s.io,v4.channel.k8s.io", sup, 2),
		      "v4.channel.k8s.io");
	ASSERT_NULL(ws_pick_protocol("v4.channel.k8s.io.x", sup, 2));
	ASSERT_NULL(ws_pick_protocol(NULL, sup, 2));
}

struct got {
	char log[512];
	int n;
};

static int collect(enum ws_opcode op, const uint8_t *d, size_t len, void *ud)
{
	struct got *g = ud;
	size_t l = strlen(g->log);

	snprintf(g->log + l, sizeof(g->log) - l, "%s%d:%.*s", g->n++ ? "|" : "", op, (int)len, d);
	return 0;
}

/* Masked frames as a client sends them; key 37 fa 21 3d (RFC 6455 5.7). */
static const struct ws_case {
	const char *name;
	const char *hex;
	int ret;
	const char *log;
} ws_cases[] = {
	{ "masked hello", "818537fa213d7f9f4d5158", 0, "1:Hello" },
	{ "fragmented", "018337fa213d7f9f4d" "808237fa213d5b95", 0, "1:Hello" },
	{ "ping between fragments", "018337fa213d7f9f4d" "898037fa213d" "808237fa213d5b95", 0,
	  "9:|1:Hello" },
	{ "unmasked to server", "810548656c6c6f", -EPROTO, "" },
	{ "rsv bit", "c18537fa213d7f9f4d5158", -EPROTO, "" },
	{ "bad opcode", "838037fa213d", -EPROTO, "" },
	{ "fragmented ping", "098037fa213d", -EPROTO, "" },
	{ "continuation first", "808037fa213d", -EPROTO, "" },
	{ "new message in fragment", "018137fa213d7f" "818137fa213d7f", -EPROTO, "" },
	{ "over limit", "82fe010037fa213d", -EMSGSIZE, "" },
	{ "64-bit top bit", "82ff800000000000000037fa213d", -EPROTO, "" },
	{ "close then ignored", "888237fa213d3412" "818537fa213d7f9f4d5158", 0, "8:" "\x03\xe8" },
	{ "close of 1 byte", "888137fa213d00", -EPROTO, "" },
};

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

TEST(ws_parser_table)
{
	for (size_t i = 0; i < sizeof(ws_cases) / sizeof(ws_cases[0]); i++) {
		const struct ws_case *c = &ws_cases[i];
		struct ws_parser p;
		struct got g = { { 0 }, 0 };
		uint8_t b[256];
		size_t n = unhex(c->hex, b);
		int r = 0;

		ws_parser_init(&p, true, 255);
		/* byte by byte: every split point must work */
		for (size_t k = 0; k < n && !r; k++)
			r = ws_parser_feed(&p, b + k, 1, collect, &g);
		ws_parser_release(&p);
		if (r != c->ret || (!r && strcmp(g.log, c->log)))
			test_fail(__FILE__, __LINE__, "%s: ret %d log '%s'", c->name, r, g.log);
	}
}

TEST(ws_encode_roundtrip_sizes)
{
	static const size_t sizes[] = { 0, 1, 125, 126, 65535, 65536, 200000 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct buf out = BUF_INIT;
		struct ws_parser p;
		struct got g = { { 0 }, 0 };
		char *data = malloc(sizes[i] + 1);

		memset(data, 'x', sizes[i]);
		ws_frame_encode(&out, WS_OP_BINARY, true, true, data, sizes[i]);
		ws_parser_init(&p, true, 0);
		ASSERT_OK(ws_parser_feed(&p, out.data, out.len, collect, &g));
		ASSERT_EQ(g.n, 1);
		ws_parser_release(&p);
		/* server frames are unmasked and a client parser takes them */
		buf_reset(&out);
		ws_frame_encode(&out, WS_OP_BINARY, true, false, data, sizes[i]);
		ws_parser_init(&p, false, 0);
		ASSERT_OK(ws_parser_feed(&p, out.data, out.len, collect, &g));
		ASSERT_EQ(g.n, 2);
		ws_parser_release(&p);
		buf_release(&out);
		free(data);
	}
}

TEST(ws_close_encode_code)
{
	struct buf out = BUF_INIT;

	ws_close_encode(&out, false, WS_CLOSE_NORMAL, "bye");
	ASSERT_EQ(out.len, 7);
	ASSERT_EQ((uint8_t)out.data[0], 0x88);
	ASSERT_EQ((uint8_t)out.data[2], 0x03);
	ASSERT_EQ((uint8_t)out.data[3], 0xe8);
	buf_release(&out);
}

/* ---- SPDY ---- */

struct sgot {
	int n;
	enum spdy_type type[8];
	uint32_t id[8];
	uint8_t flags[8];
	char text[8][128];
};

static int scollect(const struct spdy_frame *f, void *ud)
{
	struct sgot *g = ud;
	int i = g->n++;

	if (i >= 8)
		return -E2BIG;
	g->type[i] = f->type;
	g->id[i] = f->stream_id ? f->stream_id : f->value;
	g->flags[i] = f->flags;
	if (f->type == SPDY_DATA)
		snprintf(g->text[i], 128, "%.*s", (int)f->len, f->data);
	else if (f->n_headers)
		snprintf(g->text[i], 128, "%s=%s;%zu", f->headers[0].name, f->headers[0].value,
			 f->n_headers);
	return 0;
}

TEST(spdy_roundtrip_frames)
{
	struct spdy_conn a, b;
	struct buf out = BUF_INIT;
	struct sgot g = { 0 };
	struct spdy_header h[] = { { "StreamType", "error" }, { "port", "8080" } };

	ASSERT_OK(spdy_conn_init(&a, 0));
	ASSERT_OK(spdy_conn_init(&b, 0));
	spdy_syn_stream(&a, &out, 1, 0, h, 2);
	spdy_syn_stream(&a, &out, 3, SPDY_FLAG_FIN, h + 1, 1);	/* shares zlib context */
	spdy_data(&out, 1, SPDY_FLAG_FIN, "hi", 2);
	spdy_rst_stream(&out, 3, SPDY_RST_CANCEL);
	spdy_ping(&out, 7);
	spdy_syn_reply(&a, &out, 5, 0, NULL, 0);
	/* byte by byte */
	for (size_t i = 0; i < out.len; i++)
		ASSERT_OK(spdy_conn_feed(&b, out.data + i, 1, scollect, &g));
	ASSERT_EQ(g.n, 6);
	ASSERT_EQ(g.type[0], SPDY_SYN_STREAM);
	ASSERT_STR_EQ(g.text[0], "streamtype=error;2");
	ASSERT_EQ(g.type[1], SPDY_SYN_STREAM);
	ASSERT_EQ(g.id[1], 3);
	ASSERT_EQ(g.flags[1], SPDY_FLAG_FIN);
	ASSERT_STR_EQ(g.text[1], "port=8080;1");
	ASSERT_EQ(g.type[2], SPDY_DATA);
	ASSERT_STR_EQ(g.text[2], "hi");
	ASSERT_EQ(g.type[3], SPDY_RST_STREAM);
	ASSERT_EQ(g.type[4], SPDY_PING);
	ASSERT_EQ(g.id[4], 7);
	ASSERT_EQ(g.type[5], SPDY_SYN_REPLY);
	ASSERT_EQ(g.id[5], 5);
	spdy_conn_release(&a);
	spdy_conn_release(&b);
	buf_release(&out);
}

static const struct spdy_case {
	const char *name;
	const char *hex;
	int ret;
} spdy_cases[] = {
	{ "wrong version", "800200060000000400000001", -EPROTO },
	{ "short rst", "800300030000000800000001", 0 /* incomplete: waits */ },
	{ "rst too short", "800300030000000400000001", -EPROTO },
	{ "over max frame", "0000000100100000", -EMSGSIZE },
	{ "garbage header block", "800300010000000f000000010000000000000102030405", -EPROTO },
	{ "unknown control type skipped", "8003000f00000000", 0 },
};

TEST(spdy_parser_rejects)
{
	for (size_t i = 0; i < sizeof(spdy_cases) / sizeof(spdy_cases[0]); i++) {
		struct spdy_conn c;
		struct sgot g = { 0 };
		uint8_t b[64];
		size_t n = unhex(spdy_cases[i].hex, b);
		int r;

		ASSERT_OK(spdy_conn_init(&c, 4096));
		r = spdy_conn_feed(&c, b, n, scollect, &g);
		if (r != spdy_cases[i].ret)
			test_fail(__FILE__, __LINE__, "%s: %d", spdy_cases[i].name, r);
		spdy_conn_release(&c);
	}
}

TEST(spdy_dictionary_shape)
{
	/* starts with options, ends with the spec's last entry */
	ASSERT_EQ(spdy_dictionary[3], 7);
	ASSERT_TRUE(!memcmp(spdy_dictionary + 4, "options", 7));
	ASSERT_TRUE(!memcmp(spdy_dictionary + SPDY_DICT_LEN - 6, "enq=0.", 6));
}
