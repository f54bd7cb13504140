/* api/ttlv.h — KMIP's TTLV encoding (KMIP Specification v1.4, §9.1): a
 * bounded decoder into a tree of items that point into the message, and an
 * encoder into a growing buffer in secure memory. Private to api/.
 *
 * Every item is tag (3 bytes), type (1), length (4, big-endian, the value's
 * length without padding) and the value, zero-padded to a multiple of 8. */
#ifndef FOUNT_API_TTLV_H
#define FOUNT_API_TTLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* KMIP 1.4 §9.1.1.2, Table 286. */
enum ttlv_type {
	TTLV_STRUCTURE = 0x01,
	TTLV_INTEGER = 0x02,
	TTLV_LONG = 0x03,
	TTLV_BIGINT = 0x04,
	TTLV_ENUM = 0x05,
	TTLV_BOOL = 0x06,
	TTLV_TEXT = 0x07,
	TTLV_BYTES = 0x08,
	TTLV_DATETIME = 0x09,
	TTLV_INTERVAL = 0x0A,
};

#define TTLV_HEADER_LEN 8
/* Structures nest at most this deep (a KMIP 1.4 request nests about 8:
 * message, batch item, payload, template attribute, attribute, value). */
#define TTLV_MAX_DEPTH 24

/* One decoded item. Scalars are in |u| (Integer and Interval zero-extended,
 * then read back with ttlv_int(); Long and DateTime as the 64-bit pattern;
 * Enumeration; Boolean 0 or 1); Text, Byte and Big Integer values are |len|
 * bytes at |val|, inside the decoded message. */
struct ttlv_item {
	uint32_t tag;
	uint8_t type;
	uint32_t len;
	const uint8_t *val;
	uint64_t u;
	const struct ttlv_item *child; /* first child of a Structure */
	const struct ttlv_item *next;  /* next sibling */
};

/* A decoded message: the items live in one array sized from the message
 * (an item takes at least 8 bytes, so at most len / 8 of them). */
struct ttlv_doc {
	struct ttlv_item *items;
	size_t n_items, cap_items;
	char why[128]; /* what was wrong, with its byte offset, when decoding failed */
};

/* ttlv_frame_len reads the 8-byte header of a message and sets |*out_len|
 * to the length of the whole message, header included. It fails with
 * ERR_PARSE unless the outer item is a Structure whose length is a multiple
 * of 8, and with ERR_TOO_LARGE when the message would exceed |max| bytes:
 * a server calls it before it allocates or reads the body. */
err_t ttlv_frame_len(const uint8_t hdr[TTLV_HEADER_LEN], size_t max, size_t *out_len)
	MUST_CHECK NONNULL(1, 3);

/* ttlv_decode decodes the |len| bytes at |buf|, which must be exactly one
 * item (a KMIP message is one Structure), into |d|. It checks every length
 * against what is left before it looks at a value, the fixed lengths of the
 * scalar types, zero padding, Boolean values, UTF-8 in Text Strings, that
 * children fill their Structure exactly, and a depth of TTLV_MAX_DEPTH.
 * On failure it returns ERR_PARSE (ERR_NOMEM) and d->why says what and
 * where. |buf| must outlive |d|. ttlv_doc_free releases |d|. */
err_t ttlv_decode(struct ttlv_doc *d, const uint8_t *buf, size_t len) MUST_CHECK NONNULL(1, 2);
void ttlv_doc_free(struct ttlv_doc *d);

/* ttlv_root returns the decoded message's outer item. */
const struct ttlv_item *ttlv_root(const struct ttlv_doc *d) NONNULL(1);

/* ttlv_find returns the first child of |s| with |tag|, or NULL (also when
 * |s| is NULL or not a Structure); ttlv_find_next the next sibling of |it|
 * with the same tag. */
const struct ttlv_item *ttlv_find(const struct ttlv_item *s, uint32_t tag);
const struct ttlv_item *ttlv_find_next(const struct ttlv_item *it);

/* ttlv_count returns how many children of |s| have |tag|. */
size_t ttlv_count(const struct ttlv_item *s, uint32_t tag);

/* Typed readers of an item known to have the right type. */
static inline int32_t ttlv_int(const struct ttlv_item *it) { return (int32_t)(uint32_t)it->u; }
static inline int64_t ttlv_long(const struct ttlv_item *it) { return (int64_t)it->u; }

/* ttlv_type_name returns "Structure", "Integer", ... or "unknown". */
const char *ttlv_type_name(unsigned type);

/* ---- encoder ------------------------------------------------------------
 * The encoder appends to a buffer in secure memory (responses carry key
 * material), wiped when it grows and when it is freed. Errors are sticky:
 * after the first one every call does nothing, and ttlv_enc_error() (and
 * ttlv_enc_finish) return it: ERR_TOO_LARGE when the message would pass
 * |max| bytes, ERR_NOMEM, or ERR_INTERNAL for unbalanced begin/end. */
struct ttlv_enc {
	uint8_t *buf;
	size_t len, cap, max;
	size_t open[TTLV_MAX_DEPTH];
	unsigned depth;
	err_t err;
};

void ttlv_enc_init(struct ttlv_enc *e, size_t max) NONNULL(1);
void ttlv_enc_free(struct ttlv_enc *e);
void ttlv_enc_begin(struct ttlv_enc *e, uint32_t tag) NONNULL(1);
void ttlv_enc_end(struct ttlv_enc *e) NONNULL(1);
void ttlv_enc_int(struct ttlv_enc *e, uint32_t tag, int32_t v) NONNULL(1);
void ttlv_enc_long(struct ttlv_enc *e, uint32_t tag, int64_t v) NONNULL(1);
void ttlv_enc_enum(struct ttlv_enc *e, uint32_t tag, uint32_t v) NONNULL(1);
void ttlv_enc_bool(struct ttlv_enc *e, uint32_t tag, bool v) NONNULL(1);
void ttlv_enc_text(struct ttlv_enc *e, uint32_t tag, const char *s, size_t n) NONNULL(1);
void ttlv_enc_cstr(struct ttlv_enc *e, uint32_t tag, const char *s) NONNULL(1, 3);
void ttlv_enc_bytes(struct ttlv_enc *e, uint32_t tag, const uint8_t *p, size_t n) NONNULL(1);
void ttlv_enc_datetime(struct ttlv_enc *e, uint32_t tag, int64_t posix_seconds) NONNULL(1);
void ttlv_enc_interval(struct ttlv_enc *e, uint32_t tag, uint32_t seconds) NONNULL(1);
/* ttlv_enc_bytes_reserve writes the header and padding of an |n|-byte Byte
 * String and returns where its value goes, for the caller to fill (random
 * bytes straight into the response), or NULL after an error. */
uint8_t *ttlv_enc_bytes_reserve(struct ttlv_enc *e, uint32_t tag, size_t n) NONNULL(1);
/* ttlv_enc_bigint writes the non-negative number |mag| (|n| unsigned
 * big-endian bytes) as a Big Integer: two's complement, padded with
 * leading zero bytes to a multiple of 8 (KMIP 1.4 §9.1.1.4). */
void ttlv_enc_bigint(struct ttlv_enc *e, uint32_t tag, const uint8_t *mag, size_t n) NONNULL(1, 3);
/* ttlv_enc_raw appends |n| bytes of items already encoded (by another
 * encoder) as they are. */
void ttlv_enc_raw(struct ttlv_enc *e, const uint8_t *p, size_t n) NONNULL(1);
/* ttlv_enc_item copies a decoded item (and its children) unchanged. */
void ttlv_enc_item(struct ttlv_enc *e, const struct ttlv_item *it) NONNULL(1, 2);

/* A mark is a position to come back to: ttlv_enc_rewind drops everything
 * written after it (wiping it) and clears an ERR_TOO_LARGE set since, so a
 * server can replace a batch item that did not fit with an error item. */
struct ttlv_mark {
	size_t len;
	unsigned depth;
	err_t err;
};
struct ttlv_mark ttlv_enc_mark(const struct ttlv_enc *e) NONNULL(1);
void ttlv_enc_rewind(struct ttlv_enc *e, struct ttlv_mark m) NONNULL(1);

static inline err_t ttlv_enc_error(const struct ttlv_enc *e) { return e->err; }

/* ttlv_buf_get returns a zeroed buffer in secure memory of at least |want|
 * bytes (its size in *cap), from a small pool of released ones when it can;
 * ttlv_buf_put wipes its first |used| bytes and returns it to the pool (or
 * frees it). The encoder's buffers and the server's request buffers. */
uint8_t *ttlv_buf_get(size_t want, size_t *cap, err_t *r) NONNULL(2, 3);
void ttlv_buf_put(uint8_t *p, size_t cap, size_t used);

/* ttlv_enc_finish checks that every Structure was closed and returns the
 * first error, or ERR_OK with the message at e->buf, e->len bytes. */
err_t ttlv_enc_finish(struct ttlv_enc *e) MUST_CHECK NONNULL(1);

#endif
