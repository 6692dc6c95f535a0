/*
 * lib/spdy.h - SPDY/3 framing (what Kubernetes calls "SPDY/3.1"), no I/O.
 *
 * kubectl's exec/attach (≤ 1.29, and the fallback of later ones) and every
 * port-forward speak SPDY/3 through moby/spdystream after an HTTP upgrade:
 * streams opened by SYN_STREAM with a "streamtype" header, data in DATA
 * frames, FIN flags as half-closes. This module parses and writes those
 * frames; the header blocks are zlib-compressed with the dictionary from
 * the SPDY/3 specification, one compression context per direction for the
 * whole connection (so one spdy_conn is one direction pair of one session).
 *
 * Flow control: spdystream sends and honours no WINDOW_UPDATE, so neither do
 * we; WINDOW_UPDATE and SETTINGS frames are parsed and passed on.
 *
 * Limits: a frame larger than max_frame bytes (payload) is -EMSGSIZE; a
 * decompressed header block over SPDY_MAX_HEADER_BYTES or with more than
 * SPDY_MAX_HEADERS pairs is -EPROTO. Any -EPROTO leaves the connection
 * unusable (the compression state is lost): send GOAWAY and close.
 */
#ifndef K1S_LIB_SPDY_H
#define K1S_LIB_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "buf.h"

#define SPDY_VERSION 3
#define SPDY_DICT_LEN 1423
#define SPDY_MAX_FRAME (1024 * 1024)		/* default payload limit, bytes */
#define SPDY_MAX_HEADER_BYTES (256 * 1024)	/* decompressed header block, bytes */
#define SPDY_MAX_HEADERS 128			/* name/value pairs per block */

extern const unsigned char spdy_dictionary[SPDY_DICT_LEN];

enum spdy_type {
	SPDY_DATA = 0,			/* not a control frame */
	SPDY_SYN_STREAM = 1,
	SPDY_SYN_REPLY = 2,
	SPDY_RST_STREAM = 3,
	SPDY_SETTINGS = 4,
	SPDY_PING = 6,
	SPDY_GOAWAY = 7,
	SPDY_HEADERS = 8,
	SPDY_WINDOW_UPDATE = 9,
};

#define SPDY_FLAG_FIN 0x01
#define SPDY_FLAG_UNIDIRECTIONAL 0x02

/* RST_STREAM status codes. */
enum spdy_rst {
	SPDY_RST_PROTOCOL_ERROR = 1,
	SPDY_RST_INVALID_STREAM = 2,
	SPDY_RST_REFUSED_STREAM = 3,
	SPDY_RST_CANCEL = 5,
	SPDY_RST_INTERNAL_ERROR = 6,
};

struct spdy_header {
	const char *name;	/* lowercase on the wire */
	const char *value;	/* several values are NUL-separated on the wire */
};

/* One frame as delivered to the callback: valid during the call only. */
struct spdy_frame {
	enum spdy_type type;
	uint8_t flags;
	uint32_t stream_id;	/* DATA, SYN_*, RST, HEADERS, WINDOW_UPDATE */
	uint32_t assoc_id;	/* SYN_STREAM */
	uint32_t status;	/* RST_STREAM, GOAWAY */
	uint32_t last_good;	/* GOAWAY */
	uint32_t value;		/* PING id, WINDOW_UPDATE delta */
	const uint8_t *data;	/* DATA payload */
	size_t len;
	struct spdy_header *headers;	/* SYN_STREAM, SYN_REPLY, HEADERS */
	size_t n_headers;
};

typedef int (*spdy_frame_fn)(const struct spdy_frame *f, void *ud);

struct spdy_conn {
	z_stream zin, zout;
	bool zin_ok, zout_ok;
	size_t max_frame;	/* payload bytes */
	struct buf rx;		/* bytes of the frame being read */
	struct buf hdr;		/* scratch: decompressed header block */
};

/* Sets up both compression contexts. 0 or -ENOMEM. */
int spdy_conn_init(struct spdy_conn *c, size_t max_frame);
void spdy_conn_release(struct spdy_conn *c);

/*
 * Feeds bytes from the peer; cb runs once per complete frame. Unknown
 * control frame types are skipped. 0, -EPROTO, -EMSGSIZE, or cb's non-zero
 * return value (which stops parsing).
 */
int spdy_conn_feed(struct spdy_conn *c, const void *data, size_t len, spdy_frame_fn cb, void *ud);

/* The value of header name in f (exact, lowercase), or NULL. */
const char *spdy_frame_header(const struct spdy_frame *f, const char *name);

/* Writers: append one frame to out. Header names are sent lowercased. */
void spdy_syn_stream(struct spdy_conn *c, struct buf *out, uint32_t id, uint8_t flags,
		     const struct spdy_header *h, size_t n);
void spdy_syn_reply(struct spdy_conn *c, struct buf *out, uint32_t id, uint8_t flags,
		    const struct spdy_header *h, size_t n);
void spdy_data(struct buf *out, uint32_t id, uint8_t flags, const void *data, size_t len);
void spdy_rst_stream(struct buf *out, uint32_t id, uint32_t status);
void spdy_ping(struct buf *out, uint32_t id);
void spdy_goaway(struct buf *out, uint32_t last_good, uint32_t status);

#endif
