/*
 * lib/protobuf.h - a bounds-checked reader for the protobuf wire format.
 *
 * A message is a sequence of fields, each a varint key (field number << 3 |
 * wire type) followed by the value: a varint (type 0), 8 bytes (type 1), a
 * varint length and that many bytes (type 2), or 4 bytes (type 5). Groups
 * (types 3 and 4) are obsolete and rejected. The reader never reads outside
 * [data, data + len) and never allocates: length-delimited values point
 * into the caller's buffer, which must outlive the fields read from it.
 *
 *	struct pb_reader r;
 *	struct pb_field f;
 *	int ret;
 *
 *	pb_reader_init(&r, data, len);
 *	while ((ret = pb_next(&r, &f)) > 0)
 *		... f.num, f.wire, f.u64 or f.data/f.len ...
 *	if (ret < 0) ... malformed ...
 */
#ifndef K1S_LIB_PROTOBUF_H
#define K1S_LIB_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

enum pb_wire {
	PB_VARINT = 0,
	PB_FIXED64 = 1,
	PB_LEN = 2,
	PB_FIXED32 = 5,
};

#define PB_MAX_FIELD ((1u << 29) - 1)	/* largest legal field number */
#define PB_VARINT_MAX 10		/* bytes in the longest varint */

struct pb_reader {
	const uint8_t *p;	/* next unread byte */
	const uint8_t *end;	/* one past the last byte */
};

struct pb_field {
	uint32_t num;		/* field number, 1..PB_MAX_FIELD */
	enum pb_wire wire;
	uint64_t u64;		/* value of PB_VARINT, PB_FIXED64, PB_FIXED32 */
	const uint8_t *data;	/* PB_LEN: the bytes (inside the reader's buffer) */
	size_t len;		/* PB_LEN: their count */
};

void pb_reader_init(struct pb_reader *r, const void *data, size_t len);

/*
 * Reads one varint at *p (not past end) into *v and advances *p. Returns 0,
 * or -EINVAL when truncated or longer than PB_VARINT_MAX bytes or 64 bits.
 */
int pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/*
 * Reads the next field into *f. Returns 1 when a field was read, 0 at the
 * end of the buffer, -EINVAL on malformed input (truncated key or value, a
 * length past the end, field number 0, a group or unknown wire type). After
 * an error the reader stays at the bad field.
 */
int pb_next(struct pb_reader *r, struct pb_field *f);

/* Zig-zag decoding of sint32/sint64 varints. */
static inline int64_t pb_zigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
