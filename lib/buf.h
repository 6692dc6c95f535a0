/*
 * lib/buf.h - a growable byte buffer that is always NUL-terminated.
 *
 * Invariant: b->data[b->len] == '\0' and b->len < b->cap, once anything was
 * added; a buf set up with BUF_INIT has data == NULL, len == 0 until then.
 * buf_release() frees the bytes (the struct stays usable, empty);
 * buf_detach() hands the bytes to the caller, who frees them with free().
 * Growth aborts on exhaustion (see util.h), so these functions can't fail.
 */
#ifndef K1S_LIB_BUF_H
#define K1S_LIB_BUF_H

#include <stddef.h>
#include "util.h"

struct buf {
	char *data;
	size_t len;	/* bytes used, in bytes, not counting the NUL */
	size_t cap;	/* bytes allocated */
};

#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b, size_t hint);
void buf_release(struct buf *b);
char *buf_detach(struct buf *b, size_t *len);
void buf_grow(struct buf *b, size_t extra);
void buf_reset(struct buf *b);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) K1S_PRINTF(2, 3);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included. */
void buf_add_json_str(struct buf *b, const char *s, size_t len);
/* Drops the first n bytes. */
void buf_consume(struct buf *b, size_t n);
static inline const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

#endif
