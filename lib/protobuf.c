/*
 * lib/protobuf.c - protobuf wire-format reader (see protobuf.h).
 */
#include <errno.h>
#include <string.h>

#include "protobuf.h"

void pb_reader_init(struct pb_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->end = len ? r->p + len : r->p;	/* data may be NULL when len is 0 */
}

int pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t x = 0;

	for (unsigned i = 0; i < PB_VARINT_MAX; i++) {
		if (q >= end)
			return -EINVAL;
		/* The tenth byte may only carry the 64th bit. */
		if (i == PB_VARINT_MAX - 1 && *q > 1)
			return -EINVAL;
		x |= (uint64_t)(*q & 0x7f) << (7 * i);
		if (!(*q++ & 0x80)) {
			*v = x;
			*p = q;
			return 0;
		}
	}
	return -EINVAL;
}

static uint64_t load_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

int pb_next(struct pb_reader *r, struct pb_field *f)
{
	const uint8_t *p = r->p;
	uint64_t key, len;
	unsigned n;

	if (p >= r->end)
		return 0;
	if (pb_read_varint(&p, r->end, &key) || key >> 3 == 0 || key >> 3 > PB_MAX_FIELD)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->num = (uint32_t)(key >> 3);
	f->wire = (enum pb_wire)(key & 7);
	switch (f->wire) {
	case PB_VARINT:
		if (pb_read_varint(&p, r->end, &f->u64))
			return -EINVAL;
		break;
	case PB_FIXED64:
	case PB_FIXED32:
		n = f->wire == PB_FIXED64 ? 8 : 4;
		if ((size_t)(r->end - p) < n)
			return -EINVAL;
		f->u64 = load_le(p, n);
		p += n;
		break;
	case PB_LEN:
		if (pb_read_varint(&p, r->end, &len) || len > (uint64_t)(r->end - p))
			return -EINVAL;
		f->data = p;
		f->len = (size_t)len;
		p += len;
		break;
	default:
		return -EINVAL;
	}
	r->p = p;
	return 1;
}
