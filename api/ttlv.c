/* api/ttlv.c — TTLV decoder and encoder (KMIP Specification v1.4, §9.1.1).
 *
 * The decoder never trusts a length: each one is checked against what is
 * left of its enclosing Structure before anything is read or allocated, and
 * the item array is sized once from the message length (every item takes at
 * least 8 bytes). Values are not copied: items point into the message, which
 * the caller keeps (in secure memory when it may hold key material). */
#include "api/ttlv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

CSP_USE("Symmetric keys", "key material decoded from or encoded into a KMIP message (Register, Get), in locked memory");

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static size_t pad8(size_t n)
{
	return (8 - (n % 8)) % 8;
}

const char *ttlv_type_name(unsigned type)
{
	switch (type) {
	case TTLV_STRUCTURE: return "Structure";
	case TTLV_INTEGER: return "Integer";
	case TTLV_LONG: return "Long Integer";
	case TTLV_BIGINT: return "Big Integer";
	case TTLV_ENUM: return "Enumeration";
	case TTLV_BOOL: return "Boolean";
	case TTLV_TEXT: return "Text String";
	case TTLV_BYTES: return "Byte String";
	case TTLV_DATETIME: return "Date-Time";
	case TTLV_INTERVAL: return "Interval";
	default: return "unknown";
	}
}

err_t ttlv_frame_len(const uint8_t hdr[TTLV_HEADER_LEN], size_t max, size_t *out_len)
{
	*out_len = 0;
	ENSURE(hdr[3] == TTLV_STRUCTURE, ERR_PARSE);
	uint32_t body = be32(hdr + 4);
	ENSURE(body % 8 == 0, ERR_PARSE);
	ENSURE(max >= TTLV_HEADER_LEN && body <= max - TTLV_HEADER_LEN, ERR_TOO_LARGE);
	*out_len = (size_t)body + TTLV_HEADER_LEN;
	return ERR_OK;
}

/* utf8_valid follows RFC 3629 §4: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			k = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			k = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			k = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += k + 1;
	}
	return true;
}

struct dec {
	struct ttlv_doc *d;
	const uint8_t *buf;
};

static err_t dec_fail(struct dec *x, size_t off, const char *what)
{
	snprintf(x->d->why, sizeof x->d->why, "TTLV item at byte %zu: %s", off, what);
	return ERR_PARSE;
}

static err_t dec_failn(struct dec *x, size_t off, const char *what, unsigned long n)
{
	snprintf(x->d->why, sizeof x->d->why, "TTLV item at byte %zu: %s %lu", off, what, n);
	return ERR_PARSE;
}

static bool zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* dec_items decodes the items in [off, end) as siblings at |depth| and
 * links them; |*out_first| is the first one (NULL for an empty Structure). */
static err_t dec_items(struct dec *x, size_t off, size_t end, unsigned depth,
		       const struct ttlv_item **out_first)
{
	struct ttlv_item *prev = NULL;
	*out_first = NULL;
	while (off < end) {
		if (end - off < TTLV_HEADER_LEN)
			return dec_failn(x, off, "truncated header, bytes left:", (unsigned long)(end - off));
		const uint8_t *h = x->buf + off;
		uint32_t tag = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
		uint8_t type = h[3];
		uint32_t len = be32(h + 4);
		size_t voff = off + TTLV_HEADER_LEN;
		size_t left = end - voff;
		if (len > left)
			return dec_failn(x, off, "length runs past its structure:", len);
		if (type == TTLV_STRUCTURE && len % 8 != 0)
			return dec_failn(x, off, "Structure length not a multiple of 8:", len);
		size_t padded = (size_t)len + pad8(len);
		if (padded > left)
			return dec_failn(x, off, "padding runs past its structure, length", len);
		if (x->d->n_items == x->d->cap_items)
			return dec_fail(x, off, "too many items");
		struct ttlv_item *it = &x->d->items[x->d->n_items++];
		memset(it, 0, sizeof *it);
		it->tag = tag;
		it->type = type;
		it->len = len;
		const uint8_t *v = x->buf + voff;
		switch (type) {
		case TTLV_STRUCTURE:
			if (depth + 1 >= TTLV_MAX_DEPTH)
				return dec_failn(x, off, "structures nested deeper than", TTLV_MAX_DEPTH);
			GUARD(dec_items(x, voff, voff + len, depth + 1, &it->child));
			break;
		case TTLV_INTEGER:
		case TTLV_ENUM:
		case TTLV_INTERVAL:
			if (len != 4)
				return dec_failn(x, off, "4-byte type with length", len);
			it->u = be32(v);
			break;
		case TTLV_LONG:
		case TTLV_DATETIME:
			if (len != 8)
				return dec_failn(x, off, "8-byte type with length", len);
			it->u = be64(v);
			break;
		case TTLV_BOOL:
			if (len != 8)
				return dec_failn(x, off, "Boolean with length", len);
			it->u = be64(v);
			if (it->u > 1)
				return dec_fail(x, off, "Boolean neither 0 nor 1");
			break;
		case TTLV_BIGINT:
			/* §9.1.1.4: sign-extended to a multiple of 8, which the length counts */
			if (len == 0 || len % 8 != 0)
				return dec_failn(x, off, "Big Integer length not a positive multiple of 8:", len);
			it->val = v;
			break;
		case TTLV_TEXT:
			if (!utf8_valid(v, len))
				return dec_fail(x, off, "Text String is not UTF-8");
			it->val = v;
			break;
		case TTLV_BYTES:
			it->val = v;
			break;
		default:
			return dec_failn(x, off, "unknown item type", type);
		}
		if (!zero(v + len, padded - len))
			return dec_fail(x, off, "non-zero padding");
		if (prev != NULL)
			prev->next = it;
		else
			*out_first = it;
		prev = it;
		off = voff + padded;
	}
	return ERR_OK;
}

err_t ttlv_decode(struct ttlv_doc *d, const uint8_t *buf, size_t len)
{
	memset(d, 0, sizeof *d);
	if (len < TTLV_HEADER_LEN) {
		snprintf(d->why, sizeof d->why, "message of %zu bytes is shorter than a TTLV header", len);
		return ERR_PARSE;
	}
	d->cap_items = len / TTLV_HEADER_LEN;
	d->items = calloc(d->cap_items, sizeof *d->items);
	if (d->items == NULL) {
		snprintf(d->why, sizeof d->why, "out of memory");
		return ERR_NOMEM;
	}
	struct dec x = {.d = d, .buf = buf};
	const struct ttlv_item *first;
	err_t r = dec_items(&x, 0, len, 0, &first);
	if (r == ERR_OK && first->next != NULL)
		r = dec_fail(&x, TTLV_HEADER_LEN + first->len + pad8(first->len),
			     "bytes after the end of the message");
	if (r != ERR_OK) {
		free(d->items);
		d->items = NULL;
		d->n_items = d->cap_items = 0;
	}
	return r;
}

void ttlv_doc_free(struct ttlv_doc *d)
{
	if (d == NULL)
		return;
	free(d->items);
	memset(d, 0, sizeof *d);
}

const struct ttlv_item *ttlv_root(const struct ttlv_doc *d)
{
	return d->n_items > 0 ? &d->items[0] : NULL;
}

const struct ttlv_item *ttlv_find(const struct ttlv_item *s, uint32_t tag)
{
	if (s == NULL || s->type != TTLV_STRUCTURE)
		return NULL;
	for (const struct ttlv_item *c = s->child; c != NULL; c = c->next)
		if (c->tag == tag)
			return c;
	return NULL;
}

const struct ttlv_item *ttlv_find_next(const struct ttlv_item *it)
{
	if (it == NULL)
		return NULL;
	for (const struct ttlv_item *c = it->next; c != NULL; c = c->next)
		if (c->tag == it->tag)
			return c;
	return NULL;
}

size_t ttlv_count(const struct ttlv_item *s, uint32_t tag)
{
	size_t n = 0;
	for (const struct ttlv_item *c = ttlv_find(s, tag); c != NULL; c = ttlv_find_next(c))
		n++;
	return n;
}

/* ---- encoder ---------------------------------------------------------- */

#define ENC_INITIAL 256

/* Buffers of more than the secure arenas' largest slot are mappings of
 * their own, and mapping, locking and unmapping one per message costs more
 * than a small message (munmap shoots down TLB entries on every core). So
 * released buffers are kept, wiped, in a small pool shared by all threads
 * (a server thread lives as long as its connection, often one request). */
#define POOL_SLOTS 32
#define POOL_MIN 1024
#define POOL_MAX ((size_t)4 << 20)
struct pooled {
	uint8_t *p;
	size_t cap;
};
static struct pooled pool[POOL_SLOTS];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

/* ttlv_buf_get returns a zeroed secure buffer of at least |want| bytes and sets
 * *cap to its size. */
uint8_t *ttlv_buf_get(size_t want, size_t *cap, err_t *r)
{
	if (want >= POOL_MIN && want <= POOL_MAX) {
		uint8_t *p = NULL;
		pthread_mutex_lock(&pool_lock);
		size_t best = POOL_SLOTS;
		for (size_t i = 0; i < POOL_SLOTS; i++)
			if (pool[i].p != NULL && pool[i].cap >= want &&
			    (best == POOL_SLOTS || pool[i].cap < pool[best].cap))
				best = i;
		if (best != POOL_SLOTS) {
			p = pool[best].p;
			*cap = pool[best].cap;
			pool[best] = (struct pooled){0};
		}
		pthread_mutex_unlock(&pool_lock);
		if (p != NULL)
			return p;
	}
	*cap = want;
	return secmem_alloc(want, r);
}

/* ttlv_buf_put wipes the first |used| bytes of |p| (the rest was never written
 * since it was last wiped) and keeps it for a later message, or frees it. */
void ttlv_buf_put(uint8_t *p, size_t cap, size_t used)
{
	if (p == NULL)
		return;
	if (cap >= POOL_MIN && cap <= POOL_MAX) {
		secure_zero(p, used < cap ? used : cap);
		pthread_mutex_lock(&pool_lock);
		for (size_t i = 0; i < POOL_SLOTS; i++) {
			if (pool[i].p == NULL) {
				pool[i] = (struct pooled){p, cap};
				p = NULL;
				break;
			}
		}
		pthread_mutex_unlock(&pool_lock);
	}
	secmem_free(p, cap); /* nothing when pooled */
}

void ttlv_enc_init(struct ttlv_enc *e, size_t max)
{
	memset(e, 0, sizeof *e);
	e->max = max;
}

void ttlv_enc_free(struct ttlv_enc *e)
{
	if (e == NULL)
		return;
	ttlv_buf_put(e->buf, e->cap, e->len);
	memset(e, 0, sizeof *e);
}

/* room makes space for |n| more bytes, or sets the sticky error. */
static bool room(struct ttlv_enc *e, size_t n)
{
	if (e->err != ERR_OK)
		return false;
	if (n > e->max || e->len > e->max - n) {
		e->err = ERR_TOO_LARGE;
		return false;
	}
	if (e->len + n <= e->cap)
		return true;
	size_t cap = e->cap != 0 ? e->cap : ENC_INITIAL;
	while (cap < e->len + n)
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	if (cap > e->max)
		cap = e->max;
	err_t r = ERR_OK;
	size_t got = 0;
	uint8_t *nb = ttlv_buf_get(cap, &got, &r);
	if (nb == NULL) {
		e->err = r != ERR_OK ? r : ERR_NOMEM;
		return false;
	}
	if (e->len > 0)
		memcpy(nb, e->buf, e->len);
	ttlv_buf_put(e->buf, e->cap, e->len);
	e->buf = nb;
	e->cap = got;
	return true;
}

static void put_header(uint8_t *p, uint32_t tag, uint8_t type, uint32_t len)
{
	p[0] = (uint8_t)(tag >> 16);
	p[1] = (uint8_t)(tag >> 8);
	p[2] = (uint8_t)tag;
	p[3] = type;
	p[4] = (uint8_t)(len >> 24);
	p[5] = (uint8_t)(len >> 16);
	p[6] = (uint8_t)(len >> 8);
	p[7] = (uint8_t)len;
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* item writes one scalar or string item: header, |n| value bytes, padding. */
static void item(struct ttlv_enc *e, uint32_t tag, uint8_t type, const uint8_t *v, size_t n)
{
	if (n > UINT32_MAX) {
		if (e->err == ERR_OK)
			e->err = ERR_TOO_LARGE;
		return;
	}
	size_t total = TTLV_HEADER_LEN + n + pad8(n);
	if (!room(e, total))
		return;
	uint8_t *p = e->buf + e->len;
	put_header(p, tag, type, (uint32_t)n);
	if (n > 0)
		memcpy(p + TTLV_HEADER_LEN, v, n);
	memset(p + TTLV_HEADER_LEN + n, 0, pad8(n));
	e->len += total;
}

void ttlv_enc_begin(struct ttlv_enc *e, uint32_t tag)
{
	if (e->err != ERR_OK)
		return;
	if (e->depth == TTLV_MAX_DEPTH) {
		e->err = ERR_INTERNAL;
		return;
	}
	if (!room(e, TTLV_HEADER_LEN))
		return;
	put_header(e->buf + e->len, tag, TTLV_STRUCTURE, 0);
	e->open[e->depth++] = e->len;
	e->len += TTLV_HEADER_LEN;
}

void ttlv_enc_end(struct ttlv_enc *e)
{
	if (e->err != ERR_OK)
		return;
	if (e->depth == 0) {
		e->err = ERR_INTERNAL;
		return;
	}
	size_t start = e->open[--e->depth];
	size_t body = e->len - start - TTLV_HEADER_LEN;
	if (body > UINT32_MAX) {
		e->err = ERR_TOO_LARGE;
		return;
	}
	put_be(e->buf + start + 4, body, 4);
}

void ttlv_enc_int(struct ttlv_enc *e, uint32_t tag, int32_t v)
{
	uint8_t b[4];
	put_be(b, (uint32_t)v, 4);
	item(e, tag, TTLV_INTEGER, b, 4);
}

void ttlv_enc_long(struct ttlv_enc *e, uint32_t tag, int64_t v)
{
	uint8_t b[8];
	put_be(b, (uint64_t)v, 8);
	item(e, tag, TTLV_LONG, b, 8);
}

void ttlv_enc_enum(struct ttlv_enc *e, uint32_t tag, uint32_t v)
{
	uint8_t b[4];
	put_be(b, v, 4);
	item(e, tag, TTLV_ENUM, b, 4);
}

void ttlv_enc_bool(struct ttlv_enc *e, uint32_t tag, bool v)
{
	uint8_t b[8];
	put_be(b, v ? 1 : 0, 8);
	item(e, tag, TTLV_BOOL, b, 8);
}

void ttlv_enc_text(struct ttlv_enc *e, uint32_t tag, const char *s, size_t n)
{
	item(e, tag, TTLV_TEXT, (const uint8_t *)s, n);
}

void ttlv_enc_cstr(struct ttlv_enc *e, uint32_t tag, const char *s)
{
	item(e, tag, TTLV_TEXT, (const uint8_t *)s, strlen(s));
}

void ttlv_enc_bytes(struct ttlv_enc *e, uint32_t tag, const uint8_t *p, size_t n)
{
	item(e, tag, TTLV_BYTES, p, n);
}

void ttlv_enc_datetime(struct ttlv_enc *e, uint32_t tag, int64_t posix_seconds)
{
	uint8_t b[8];
	put_be(b, (uint64_t)posix_seconds, 8);
	item(e, tag, TTLV_DATETIME, b, 8);
}

void ttlv_enc_interval(struct ttlv_enc *e, uint32_t tag, uint32_t seconds)
{
	uint8_t b[4];
	put_be(b, seconds, 4);
	item(e, tag, TTLV_INTERVAL, b, 4);
}

uint8_t *ttlv_enc_bytes_reserve(struct ttlv_enc *e, uint32_t tag, size_t n)
{
	if (n > UINT32_MAX) {
		if (e->err == ERR_OK)
			e->err = ERR_TOO_LARGE;
		return NULL;
	}
	size_t total = TTLV_HEADER_LEN + n + pad8(n);
	if (!room(e, total))
		return NULL;
	uint8_t *p = e->buf + e->len;
	put_header(p, tag, TTLV_BYTES, (uint32_t)n);
	memset(p + TTLV_HEADER_LEN, 0, n + pad8(n));
	e->len += total;
	return p + TTLV_HEADER_LEN;
}

void ttlv_enc_bigint(struct ttlv_enc *e, uint32_t tag, const uint8_t *mag, size_t n)
{
	/* drop leading zero bytes, keep one byte for zero */
	while (n > 1 && mag[0] == 0) {
		mag++;
		n--;
	}
	/* two's complement of a non-negative number: a leading 0 byte when
	 * the top bit is set; then sign-extended (with 0) to a multiple of 8
	 * (KMIP 1.4 §9.1.1.4) */
	size_t body = n + ((n > 0 && (mag[0] & 0x80)) ? 1 : 0);
	size_t len = body + pad8(body);
	if (n > UINT32_MAX - 16) {
		if (e->err == ERR_OK)
			e->err = ERR_TOO_LARGE;
		return;
	}
	if (!room(e, TTLV_HEADER_LEN + len))
		return;
	uint8_t *p = e->buf + e->len;
	put_header(p, tag, TTLV_BIGINT, (uint32_t)len);
	memset(p + TTLV_HEADER_LEN, 0, len - n);
	if (n > 0)
		memcpy(p + TTLV_HEADER_LEN + len - n, mag, n);
	e->len += TTLV_HEADER_LEN + len;
}

void ttlv_enc_raw(struct ttlv_enc *e, const uint8_t *p, size_t n)
{
	if (n == 0 || !room(e, n))
		return;
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

void ttlv_enc_item(struct ttlv_enc *e, const struct ttlv_item *it)
{
	uint8_t b[8];
	switch (it->type) {
	case TTLV_STRUCTURE:
		ttlv_enc_begin(e, it->tag);
		for (const struct ttlv_item *c = it->child; c != NULL; c = c->next)
			ttlv_enc_item(e, c);
		ttlv_enc_end(e);
		return;
	case TTLV_INTEGER:
	case TTLV_ENUM:
	case TTLV_INTERVAL:
		put_be(b, it->u, 4);
		item(e, it->tag, it->type, b, 4);
		return;
	case TTLV_LONG:
	case TTLV_DATETIME:
	case TTLV_BOOL:
		put_be(b, it->u, 8);
		item(e, it->tag, it->type, b, 8);
		return;
	case TTLV_BIGINT:
	case TTLV_TEXT:
	case TTLV_BYTES:
		item(e, it->tag, it->type, it->val, it->len);
		return;
	default:
		if (e->err == ERR_OK)
			e->err = ERR_INTERNAL;
		return;
	}
}

struct ttlv_mark ttlv_enc_mark(const struct ttlv_enc *e)
{
	return (struct ttlv_mark){.len = e->len, .depth = e->depth, .err = e->err};
}

void ttlv_enc_rewind(struct ttlv_enc *e, struct ttlv_mark m)
{
	if (m.len > e->len || m.depth > e->depth)
		return; /* not a mark of this state: leave it */
	if (e->buf != NULL)
		secure_zero(e->buf + m.len, e->len - m.len);
	e->len = m.len;
	e->depth = m.depth;
	if (m.err == ERR_OK && e->err == ERR_TOO_LARGE)
		e->err = ERR_OK;
}

err_t ttlv_enc_finish(struct ttlv_enc *e)
{
	if (e->err == ERR_OK && e->depth != 0)
		e->err = ERR_INTERNAL;
	return e->err;
}
