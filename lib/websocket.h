/*
 * lib/websocket.h - RFC 6455 WebSocket framing, no I/O.
 *
 * The handshake helpers compute Sec-WebSocket-Accept and pick a subprotocol
 * from Sec-WebSocket-Protocol; lib/http does the 101 and hands over a byte
 * tunnel. A ws_parser then turns the bytes a peer sends into whole messages
 * (fragments reassembled, control frames delivered between them) and
 * ws_frame_encode() writes frames.
 *
 * Rules enforced by the parser (any violation is -EPROTO and the caller
 * should close with WS_CLOSE_PROTOCOL):
 *  - a server's parser wants every frame masked, a client's none;
 *  - RSV bits must be 0 (no extensions are negotiated);
 *  - control frames (close, ping, pong) are at most 125 bytes and never
 *    fragmented; a continuation needs a started message and a new data
 *    frame may not start inside one; unknown opcodes are refused;
 *  - 64-bit lengths have the top bit clear.
 * A message (all its fragments) longer than max_message bytes is -EMSGSIZE
 * (close with WS_CLOSE_TOO_BIG). Memory per parser: the partial frame plus
 * the message being assembled, both bounded by max_message.
 */
#ifndef K1S_LIB_WEBSOCKET_H
#define K1S_LIB_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_ACCEPT_LEN 28		/* base64 of a SHA-1, without NUL */
#define WS_MAX_MESSAGE (16 * 1024 * 1024)	/* default message limit, bytes */
#define WS_MAX_CONTROL 125		/* control frame payload, bytes */

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

/* Sec-WebSocket-Accept for a client key: out gets WS_ACCEPT_LEN chars + NUL.
 * -EINVAL when key is not 24 base64 characters (a 16-byte nonce). */
int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1]);

/*
 * The first of supported[0..n) (in the server's order of preference) that
 * the client offered in the comma-separated Sec-WebSocket-Protocol value
 * offered (NULL = none), or NULL when there is none in common.
 */
const char *ws_pick_protocol(const char *offered, const char *const *supported, size_t n);

/* One complete message or control frame. data is valid during the call. */
typedef int (*ws_message_fn)(enum ws_opcode op, const uint8_t *data, size_t len, void *ud);

struct ws_parser {
	bool server;			/* expects masked frames */
	size_t max_message;		/* bytes; 0 = WS_MAX_MESSAGE */
	struct buf in;			/* bytes of the frame being read */
	struct buf msg;			/* fragments of the message being assembled */
	int msg_op;			/* its opcode; 0 when none is in progress */
	bool closed;			/* a close frame was delivered */
};

void ws_parser_init(struct ws_parser *p, bool server, size_t max_message);
void ws_parser_release(struct ws_parser *p);
/*
 * Feeds bytes; calls cb for every complete message (WS_OP_TEXT/BINARY with
 * the whole reassembled payload) and control frame (CLOSE/PING/PONG with
 * their payload), in order. A non-zero return of cb stops parsing and is
 * returned. After a close frame further bytes are ignored. 0, -EPROTO,
 * -EMSGSIZE or cb's value.
 */
int ws_parser_feed(struct ws_parser *p, const void *data, size_t len, ws_message_fn cb, void *ud);

/*
 * Appends one frame (FIN set unless !fin) to out. mask: a client masks
 * with a random key (true), a server never (false). Control frames over
 * WS_MAX_CONTROL are truncated to it. Can't fail.
 */
void ws_frame_encode(struct buf *out, enum ws_opcode op, bool fin, bool mask,
		     const void *data, size_t len);
/* A close frame with code and reason (truncated to fit a control frame). */
void ws_close_encode(struct buf *out, bool mask, uint16_t code, const char *reason);

#endif
