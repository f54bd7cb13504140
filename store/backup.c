/* store/backup.c — `fount store export` and `import`: a sealed backup of
 * the whole store, and its restore into an empty store on any backend
 * (the SQLite -> PostgreSQL migration). Everything goes through the
 * backend table (ops->dump to read, the txn_* writes to restore); the KEK
 * is touched only by seal.c.
 *
 * The file format, version 1. Integers are big-endian; "str8", "str16"
 * are a 1- or 2-byte length and that many bytes (no NUL inside).
 *
 *   header, 88 bytes:
 *     magic "FOUNTBAK" (8) | format version u32 (1) | schema version u32 |
 *     nonce (32, random per file) | objects u64 | attributes u64 |
 *     sealed records u64 | access records u64 | meta records u32 |
 *     reserved u32 (0)
 *   then records, each a tag byte and its body:
 *     'M' meta row:   key str16 (1..64) | value u32-length (<= 4096)
 *                     (exactly "meta records" of them, first)
 *     'O' object:     id str8 (1..64) | tenant str16 (1..255) |
 *                     type, state, alg, length, usage mask, key format,
 *                     revocation reason (u32 each) | initial, activation,
 *                     deactivation, destroy, compromise, compromise
 *                     occurrence, last change, original creation dates,
 *                     created_ns (i64 each) | has digest u8 | digest (32) |
 *                     data type u32 | protection u32 | has material u8 |
 *                     sealed u32-length (<= STORE_SEALED_MAX, 0 without)
 *     'A' attribute of the object before it:
 *                     name str16 (1..255) | index u32 | type u8 |
 *                     value u32-length (<= 65536) | has search u8 |
 *                     search u32-length (<= 65536)
 *     'L' access:     id str8 (1..64) | tenant str16 (1..255) |
 *                     fingerprint (32) | operation str8 (1..64) | time i64 |
 *                     lease end i64 (schema 6 and later: 0 for none)
 *                     (after every object)
 *     'E' end, then the MAC (32 bytes), then nothing.
 *
 * The MAC is HMAC-SHA-256 over every byte from the magic through the 'E',
 * under a key seal.c derives from the KEK and the nonce: truncation,
 * reordering, a dropped or added record and any flipped bit change it.
 * The sealed material stays what the database held: AES-256-GCM under the
 * KEK with the object's identifier (kept) in its associated data.
 *
 * Import reads the file twice. The first pass parses and checks it whole
 * (bounds, order, counts, the MAC) and writes nothing, so bytes that are
 * not yet authenticated never reach a database (not even a transaction
 * that is rolled back: on PostgreSQL that is WAL shipped to the
 * standbys), and a damaged file is refused without holding the writer.
 * The second pass writes it in one transaction of the backend's group
 * commit and checks the MAC again (the file could change between the
 * passes), returning an error, so a rollback, if anything differs: the
 * store gets the whole backup or nothing, even across a crash. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keygen/keygen.h"
#include "store/internal.h"

#define BK_MAGIC "FOUNTBAK"
#define BK_FORMAT 1u
#define BK_HEADER_LEN 88
#define BK_META_MAX 8
#define BK_META_KEY_MAX 64
#define BK_META_VALUE_MAX 4096
#define BK_OP_MAX 64
#define BK_BUF (64u * 1024u)
/* header and meta records, kept until the MAC's key is known */
#define BK_PRE_MAX (BK_HEADER_LEN + BK_META_MAX * (1 + 2 + BK_META_KEY_MAX + 4 + BK_META_VALUE_MAX))

struct bk_header {
	uint32_t format, schema;
	uint8_t nonce[SEAL_BACKUP_NONCE_LEN];
	uint64_t objects, attrs, sealed, access;
	uint32_t meta;
};

/* ---- writing ------------------------------------------------------------------ */

struct writer {
	int fd;
	struct keygen_hmac *mac;
	uint8_t buf[BK_BUF];
	size_t len;
	err_t r; /* the first error: later writes do nothing */
	int err_no;
};

static void w_flush(struct writer *w)
{
	size_t off = 0;
	while (w->r == ERR_OK && off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->err_no = n < 0 ? errno : EIO;
			w->r = ERR_IO;
			break;
		}
		off += (size_t)n;
	}
	w->len = 0;
}

static void w_bytes(struct writer *w, const void *p, size_t n)
{
	const uint8_t *b = p;
	if (w->r == ERR_OK && w->mac != NULL && n > 0)
		w->r = keygen_hmac_update(w->mac, b, n);
	while (w->r == ERR_OK && n > 0) {
		size_t k = BK_BUF - w->len < n ? BK_BUF - w->len : n;
		memcpy(w->buf + w->len, b, k);
		w->len += k;
		b += k;
		n -= k;
		if (w->len == BK_BUF)
			w_flush(w);
	}
}

static void w_u8(struct writer *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void w_u16(struct writer *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	w_bytes(w, b, 2);
}

static void w_u32(struct writer *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	w_bytes(w, b, 4);
}

static void w_u64(struct writer *w, uint64_t v)
{
	w_u32(w, (uint32_t)(v >> 32));
	w_u32(w, (uint32_t)v);
}

/* ---- export -------------------------------------------------------------------- */

struct export_ctx {
	struct store *s;
	struct writer *w;
	struct store_backup_info *info;
	struct seal_meta meta[BK_META_MAX];
	uint8_t meta_buf[BK_META_MAX][BK_META_VALUE_MAX];
	size_t n_meta;
	uint8_t nonce[SEAL_BACKUP_NONCE_LEN];
	char last_id[STORE_ID_MAX + 1];
	char *errbuf;
	size_t errlen;
};

/* text_ok: |s| of |n| bytes (a C string's, so without NUL) within
 * [min, max] */
static bool text_ok(const char *s, size_t min, size_t max)
{
	size_t n = strnlen(s, max + 1);
	return n >= min && n <= max;
}

static err_t ex_counts(void *vctx, const struct store_counts *c)
{
	struct export_ctx *x = vctx;
	struct writer *w = x->w;
	x->info->objects = c->objects;
	x->info->attrs = c->attrs;
	x->info->sealed = c->sealed;
	x->info->access = c->access;
	w_bytes(w, BK_MAGIC, 8);
	w_u32(w, BK_FORMAT);
	w_u32(w, store_schema_version());
	w_bytes(w, x->nonce, sizeof(x->nonce));
	w_u64(w, c->objects);
	w_u64(w, c->attrs);
	w_u64(w, c->sealed);
	w_u64(w, c->access);
	w_u32(w, (uint32_t)x->n_meta);
	w_u32(w, 0);
	/* the MAC covers the header from its first byte: start it now and
	 * feed it what is already buffered */
	GUARD(seal_backup_mac(x->s->seal, x->nonce, &w->mac));
	GUARD(keygen_hmac_update(w->mac, w->buf, w->len));
	for (size_t i = 0; i < x->n_meta; i++) {
		w_u8(w, 'M');
		w_u16(w, (uint16_t)strlen(x->meta[i].key));
		w_bytes(w, x->meta[i].key, strlen(x->meta[i].key));
		w_u32(w, (uint32_t)x->meta[i].len);
		w_bytes(w, x->meta[i].value, x->meta[i].len);
	}
	return w->r;
}

static err_t ex_object(void *vctx, const struct store_row *row, const uint8_t *sealed, size_t len)
{
	struct export_ctx *x = vctx;
	struct writer *w = x->w;
	/* what import would refuse is refused here, so no backup is written
	 * that cannot be restored */
	if (!text_ok(row->id, 1, STORE_ID_MAX) || !text_ok(row->tenant, 1, STORE_TENANT_MAX) ||
	    len > STORE_SEALED_MAX) {
		snprintf(x->errbuf, x->errlen, "store: object %.64s: a column is out of bounds (damaged database?)",
			 row->id);
		return ERR_STORE_CORRUPT;
	}
	snprintf(x->last_id, sizeof(x->last_id), "%s", row->id);
	if (sealed != NULL && seal_check(x->s->seal, row, sealed, len) != ERR_OK) {
		if (x->info->unopenable++ == 0)
			snprintf(x->info->first_unopenable, sizeof(x->info->first_unopenable), "%s", row->id);
	}
	w_u8(w, 'O');
	w_u8(w, (uint8_t)strlen(row->id));
	w_bytes(w, row->id, strlen(row->id));
	w_u16(w, (uint16_t)strlen(row->tenant));
	w_bytes(w, row->tenant, strlen(row->tenant));
	const uint32_t u[] = {row->type,	 row->state,	  row->alg,		  row->length,
			      row->usage_mask, row->key_format, row->revocation_reason};
	for (size_t i = 0; i < ARRAY_SIZE(u); i++)
		w_u32(w, u[i]);
	const int64_t d[] = {row->initial_date,	   row->activation_date,
			     row->deactivation_date,   row->destroy_date,
			     row->compromise_date,     row->compromise_occurrence_date,
			     row->last_change_date,    row->original_creation_date,
			     row->created_ns};
	for (size_t i = 0; i < ARRAY_SIZE(d); i++)
		w_u64(w, (uint64_t)d[i]);
	w_u8(w, row->has_digest ? 1 : 0);
	w_bytes(w, row->digest, STORE_DIGEST_LEN);
	w_u32(w, row->data_type);
	w_u32(w, row->protection);
	w_u8(w, sealed != NULL ? 1 : 0);
	w_u32(w, (uint32_t)len);
	if (len)
		w_bytes(w, sealed, len);
	return w->r;
}

static err_t ex_attr(void *vctx, const struct store_attr *a)
{
	struct export_ctx *x = vctx;
	struct writer *w = x->w;
	if (store_attr_valid(a) != ERR_OK) {
		snprintf(x->errbuf, x->errlen,
			 "store: object %s: an attribute is out of bounds (damaged database?)", x->last_id);
		return ERR_STORE_CORRUPT;
	}
	w_u8(w, 'A');
	w_u16(w, (uint16_t)strlen(a->name));
	w_bytes(w, a->name, strlen(a->name));
	w_u32(w, a->index);
	w_u8(w, a->type);
	w_u32(w, (uint32_t)a->value_len);
	w_bytes(w, a->value, a->value_len);
	w_u8(w, a->search != NULL ? 1 : 0);
	size_t sl = a->search != NULL ? strlen(a->search) : 0;
	w_u32(w, (uint32_t)sl);
	w_bytes(w, a->search, sl);
	return w->r;
}

static err_t ex_access(void *vctx, const struct store_access *a)
{
	struct export_ctx *x = vctx;
	struct writer *w = x->w;
	if (!text_ok(a->id, 1, STORE_ID_MAX) || !text_ok(a->tenant, 1, STORE_TENANT_MAX) ||
	    !text_ok(a->op, 1, BK_OP_MAX) || a->fp == NULL || a->fp_len != STORE_FINGERPRINT_LEN) {
		snprintf(x->errbuf, x->errlen, "store: an access record of %.64s is out of bounds (damaged database?)",
			 a->id);
		return ERR_STORE_CORRUPT;
	}
	w_u8(w, 'L');
	w_u8(w, (uint8_t)strlen(a->id));
	w_bytes(w, a->id, strlen(a->id));
	w_u16(w, (uint16_t)strlen(a->tenant));
	w_bytes(w, a->tenant, strlen(a->tenant));
	w_bytes(w, a->fp, STORE_FINGERPRINT_LEN);
	w_u8(w, (uint8_t)strlen(a->op));
	w_bytes(w, a->op, strlen(a->op));
	w_u64(w, (uint64_t)a->time);
	w_u64(w, (uint64_t)a->lease_end);
	return w->r;
}

err_t store_export(struct store *s, int fd, struct store_backup_info *out, char *errbuf, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	errbuf[0] = '\0';
	struct writer *w = calloc(1, sizeof(*w));
	struct export_ctx *x = calloc(1, sizeof(*x));
	err_t r = ERR_NOMEM;
	if (w == NULL || x == NULL)
		goto out;
	w->fd = fd;
	x->s = s;
	x->w = w;
	x->info = out;
	x->errbuf = errbuf;
	x->errlen = errlen;
	out->schema_version = store_schema_version();
	/* the KEK's meta rows: they never change once made, so they need not
	 * come from the dump's snapshot */
	for (size_t i = 0; seal_meta_names[i] != NULL && x->n_meta < BK_META_MAX; i++) {
		size_t len = 0;
		r = s->ops->meta_get(s->b, seal_meta_names[i], x->meta_buf[x->n_meta], BK_META_VALUE_MAX, &len);
		if (r == ERR_STORE_NOT_FOUND)
			continue;
		if (r != ERR_OK) {
			snprintf(errbuf, errlen, "store: cannot read the KEK's %s: %s", seal_meta_names[i], err_str(r));
			goto out;
		}
		x->meta[x->n_meta] = (struct seal_meta){seal_meta_names[i], x->meta_buf[x->n_meta], len};
		x->n_meta++;
	}
	GUARD_GOTO(drbg_generate(x->nonce, sizeof(x->nonce)));
	static const struct store_dump_fns fns = {ex_counts, ex_object, ex_attr, ex_access};
	r = s->ops->dump(s->b, &fns, x);
	if (r == ERR_OK) {
		uint8_t mac[KEYGEN_SHA256_LEN];
		w_u8(w, 'E');
		r = w->r;
		if (r == ERR_OK)
			r = keygen_hmac_final(w->mac, mac);
		if (r == ERR_OK) {
			keygen_hmac_free(w->mac);
			w->mac = NULL; /* the MAC is not over itself */
			w_bytes(w, mac, sizeof(mac));
			w_flush(w);
			r = w->r;
		}
	}
	if (r == ERR_IO && errbuf[0] == '\0')
		snprintf(errbuf, errlen, "store: cannot write the backup: %s", strerror(w->err_no));
	else if (r != ERR_OK && errbuf[0] == '\0')
		snprintf(errbuf, errlen, "store: export failed: %s", err_str(r));
out:
	if (w != NULL)
		keygen_hmac_free(w->mac);
	free(w);
	free(x);
	return r;
}

/* ---- reading --------------------------------------------------------------------- */

struct reader {
	int fd;
	uint8_t buf[BK_BUF];
	size_t pos, len;
	bool eof;
	struct keygen_hmac *mac; /* NULL until the key is known: then |pre| */
	uint8_t *pre;            /* BK_PRE_MAX */
	size_t pre_len;
	uint64_t offset;         /* bytes consumed, for messages */
	err_t r;
	int err_no;
};

static bool r_fill(struct reader *r)
{
	if (r->eof || r->r != ERR_OK)
		return false;
	for (;;) {
		ssize_t n = read(r->fd, r->buf, sizeof(r->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->err_no = errno;
			r->r = ERR_IO;
			return false;
		}
		r->pos = 0;
		r->len = (size_t)n;
		r->eof = n == 0;
		return n > 0;
	}
}

/* r_bytes consumes exactly |n| bytes (into |out| unless NULL) and feeds
 * the MAC; a short file is ERR_STORE_BACKUP (truncated) */
static err_t r_bytes(struct reader *r, void *out, size_t n, bool mac)
{
	uint8_t *o = out;
	while (n > 0) {
		if (r->pos == r->len && !r_fill(r))
			return r->r != ERR_OK ? r->r : ERR_STORE_BACKUP;
		size_t k = r->len - r->pos < n ? r->len - r->pos : n;
		const uint8_t *p = r->buf + r->pos;
		if (mac && r->mac != NULL) {
			GUARD(keygen_hmac_update(r->mac, p, k));
		} else if (mac) {
			ENSURE(r->pre_len + k <= BK_PRE_MAX, ERR_STORE_BACKUP);
			memcpy(r->pre + r->pre_len, p, k);
			r->pre_len += k;
		}
		if (o != NULL) {
			memcpy(o, p, k);
			o += k;
		}
		r->pos += k;
		r->offset += k;
		n -= k;
	}
	return ERR_OK;
}

static err_t r_u8(struct reader *r, uint8_t *v)
{
	return r_bytes(r, v, 1, true);
}

static err_t r_u16(struct reader *r, uint16_t *v)
{
	uint8_t b[2];
	GUARD(r_bytes(r, b, 2, true));
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return ERR_OK;
}

static err_t r_u32(struct reader *r, uint32_t *v)
{
	uint8_t b[4];
	GUARD(r_bytes(r, b, 4, true));
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return ERR_OK;
}

static err_t r_u64(struct reader *r, uint64_t *v)
{
	uint32_t hi, lo;
	GUARD(r_u32(r, &hi));
	GUARD(r_u32(r, &lo));
	*v = (uint64_t)hi << 32 | lo;
	return ERR_OK;
}

/* r_text reads a length-prefixed text of |min|..|max| bytes without NUL
 * into |out| (max + 1 bytes), NUL-terminated; the length is checked
 * before a byte of it is read */
static err_t r_text(struct reader *r, size_t len_bytes, size_t min, size_t max, char *out)
{
	size_t n;
	if (len_bytes == 1) {
		uint8_t v;
		GUARD(r_u8(r, &v));
		n = v;
	} else {
		uint16_t v;
		GUARD(r_u16(r, &v));
		n = v;
	}
	ENSURE(n >= min && n <= max, ERR_STORE_BACKUP);
	GUARD(r_bytes(r, out, n, true));
	out[n] = '\0';
	ENSURE(memchr(out, '\0', n) == NULL, ERR_STORE_BACKUP);
	return ERR_OK;
}

/* r_blob reads a u32 length (at most |max|) and that many bytes */
static err_t r_blob(struct reader *r, size_t max, uint8_t *out, size_t *len)
{
	uint32_t n;
	GUARD(r_u32(r, &n));
	ENSURE(n <= max, ERR_STORE_BACKUP);
	GUARD(r_bytes(r, out, n, true));
	*len = n;
	return ERR_OK;
}

/* ---- the parser: both passes, and the fuzz target ---------------------------------- */

struct bk_meta {
	char key[BK_META_KEY_MAX + 1];
	uint8_t value[BK_META_VALUE_MAX];
	size_t len;
};

/* What a parse found; the buffers of the record being read. */
struct bk_parse {
	struct bk_header h;
	struct bk_meta meta[BK_META_MAX];
	size_t n_meta;
	uint64_t objects, attrs, sealed, access;
	struct store_row row; /* the last object */
	bool have_row;
	uint8_t *sealed_buf;  /* STORE_SEALED_MAX */
	uint8_t *value;       /* STORE_ATTR_VALUE_MAX + 1 */
	char *search;         /* STORE_ATTR_VALUE_MAX + 1 */
};

struct bk_sink {
	/* after the header and meta records: start r->mac */
	err_t (*begin)(void *ctx, struct bk_parse *p, struct reader *r);
	err_t (*object)(void *ctx, const struct store_row *row, const uint8_t *sealed, size_t len, bool has);
	err_t (*attr)(void *ctx, const struct store_row *owner, const struct store_attr *a);
	err_t (*access)(void *ctx, const struct store_access *a);
};

static bool meta_name_known(const char *key)
{
	for (size_t i = 0; seal_meta_names[i] != NULL; i++)
		if (strcmp(seal_meta_names[i], key) == 0)
			return true;
	return false;
}

static err_t parse_header(struct reader *r, struct bk_parse *p, char *errbuf, size_t errlen)
{
	uint8_t magic[8];
	uint32_t reserved;
	err_t e = r_bytes(r, magic, sizeof(magic), true);
	if (e != ERR_OK || memcmp(magic, BK_MAGIC, 8) != 0) {
		snprintf(errbuf, errlen, "store: not a fount store backup (no %s header)", BK_MAGIC);
		return e == ERR_IO ? e : ERR_STORE_BACKUP;
	}
	struct bk_header *h = &p->h;
	GUARD(r_u32(r, &h->format));
	if (h->format != BK_FORMAT) {
		snprintf(errbuf, errlen, "store: backup format version %u, this fount reads %u", h->format, BK_FORMAT);
		return ERR_STORE_BACKUP;
	}
	GUARD(r_u32(r, &h->schema));
	if (h->schema == 0 || h->schema > store_schema_version()) {
		snprintf(errbuf, errlen, "store: the backup has schema version %u, this fount knows up to %u%s",
			 h->schema, store_schema_version(), h->schema ? ": use a newer fount" : "");
		return h->schema ? ERR_STORE_SCHEMA : ERR_STORE_BACKUP;
	}
	GUARD(r_bytes(r, h->nonce, sizeof(h->nonce), true));
	GUARD(r_u64(r, &h->objects));
	GUARD(r_u64(r, &h->attrs));
	GUARD(r_u64(r, &h->sealed));
	GUARD(r_u64(r, &h->access));
	GUARD(r_u32(r, &h->meta));
	GUARD(r_u32(r, &reserved));
	ENSURE(reserved == 0 && h->meta <= BK_META_MAX && h->sealed <= h->objects, ERR_STORE_BACKUP);
	for (uint32_t i = 0; i < h->meta; i++) {
		uint8_t tag;
		GUARD(r_u8(r, &tag));
		ENSURE(tag == 'M', ERR_STORE_BACKUP);
		struct bk_meta *m = &p->meta[p->n_meta];
		GUARD(r_text(r, 2, 1, BK_META_KEY_MAX, m->key));
		GUARD(r_blob(r, BK_META_VALUE_MAX, m->value, &m->len));
		/* only the KEK's rows: nothing else is written into meta */
		ENSURE(meta_name_known(m->key), ERR_STORE_BACKUP);
		for (size_t j = 0; j < p->n_meta; j++)
			ENSURE(strcmp(p->meta[j].key, m->key) != 0, ERR_STORE_BACKUP);
		p->n_meta++;
	}
	return ERR_OK;
}

static err_t parse_object(struct reader *r, struct bk_parse *p, const struct bk_sink *sink, void *ctx)
{
	struct store_row *row = &p->row;
	memset(row, 0, sizeof(*row));
	GUARD(r_text(r, 1, 1, STORE_ID_MAX, row->id));
	GUARD(r_text(r, 2, 1, STORE_TENANT_MAX, row->tenant));
	uint32_t *u[] = {&row->type,	   &row->state,	     &row->alg,		       &row->length,
			 &row->usage_mask, &row->key_format, &row->revocation_reason};
	for (size_t i = 0; i < ARRAY_SIZE(u); i++)
		GUARD(r_u32(r, u[i]));
	int64_t *d[] = {&row->initial_date,	   &row->activation_date,
			&row->deactivation_date,   &row->destroy_date,
			&row->compromise_date,	   &row->compromise_occurrence_date,
			&row->last_change_date,	   &row->original_creation_date,
			&row->created_ns};
	for (size_t i = 0; i < ARRAY_SIZE(d); i++) {
		uint64_t v;
		GUARD(r_u64(r, &v));
		*d[i] = (int64_t)v;
	}
	uint8_t has_digest, has_material;
	GUARD(r_u8(r, &has_digest));
	GUARD(r_bytes(r, row->digest, STORE_DIGEST_LEN, true));
	GUARD(r_u32(r, &row->data_type));
	GUARD(r_u32(r, &row->protection));
	GUARD(r_u8(r, &has_material));
	ENSURE(has_digest <= 1 && has_material <= 1, ERR_STORE_BACKUP);
	row->has_digest = has_digest == 1;
	ENSURE(row->type >= STORE_OBJ_CERTIFICATE && row->type <= STORE_OBJ_OPAQUE, ERR_STORE_BACKUP);
	ENSURE(row->state >= STORE_STATE_PRE_ACTIVE && row->state <= STORE_STATE_DESTROYED_COMPROMISED,
	       ERR_STORE_BACKUP);
	size_t len = 0;
	GUARD(r_blob(r, STORE_SEALED_MAX, p->sealed_buf, &len));
	ENSURE(has_material || len == 0, ERR_STORE_BACKUP);
	/* checked before counted: a count never passes its header's */
	ENSURE(p->objects < p->h.objects, ERR_STORE_BACKUP);
	ENSURE(!has_material || p->sealed < p->h.sealed, ERR_STORE_BACKUP);
	p->objects++;
	p->sealed += has_material;
	p->have_row = true;
	return sink->object != NULL ? sink->object(ctx, row, p->sealed_buf, len, has_material == 1) : ERR_OK;
}

static err_t parse_attr(struct reader *r, struct bk_parse *p, const struct bk_sink *sink, void *ctx)
{
	char name[STORE_ATTR_NAME_MAX + 1];
	struct store_attr a;
	uint8_t has_search;
	size_t sl = 0;
	memset(&a, 0, sizeof(a));
	ENSURE(p->have_row, ERR_STORE_BACKUP);
	GUARD(r_text(r, 2, 1, STORE_ATTR_NAME_MAX, name));
	GUARD(r_u32(r, &a.index));
	GUARD(r_u8(r, &a.type));
	GUARD(r_blob(r, STORE_ATTR_VALUE_MAX, p->value, &a.value_len));
	GUARD(r_u8(r, &has_search));
	ENSURE(has_search <= 1, ERR_STORE_BACKUP);
	GUARD(r_blob(r, STORE_ATTR_VALUE_MAX, (uint8_t *)p->search, &sl));
	ENSURE(has_search || sl == 0, ERR_STORE_BACKUP);
	p->search[sl] = '\0';
	ENSURE(memchr(p->search, '\0', sl) == NULL, ERR_STORE_BACKUP);
	a.name = name;
	a.value = p->value;
	a.search = has_search ? p->search : NULL;
	ENSURE(store_attr_valid(&a) == ERR_OK, ERR_STORE_BACKUP);
	ENSURE(p->attrs < p->h.attrs, ERR_STORE_BACKUP);
	p->attrs++;
	return sink->attr != NULL ? sink->attr(ctx, &p->row, &a) : ERR_OK;
}

static err_t parse_access(struct reader *r, struct bk_parse *p, const struct bk_sink *sink, void *ctx)
{
	char id[STORE_ID_MAX + 1], tenant[STORE_TENANT_MAX + 1], op[BK_OP_MAX + 1];
	uint8_t fp[STORE_FINGERPRINT_LEN];
	uint64_t t, lease_end = 0;
	GUARD(r_text(r, 1, 1, STORE_ID_MAX, id));
	GUARD(r_text(r, 2, 1, STORE_TENANT_MAX, tenant));
	GUARD(r_bytes(r, fp, sizeof(fp), true));
	GUARD(r_text(r, 1, 1, BK_OP_MAX, op));
	GUARD(r_u64(r, &t));
	if (p->h.schema >= 6) /* the schema that added leases */
		GUARD(r_u64(r, &lease_end));
	ENSURE(p->access < p->h.access, ERR_STORE_BACKUP);
	p->access++;
	struct store_access a = {id, tenant, op, fp, sizeof(fp), (int64_t)t, (int64_t)lease_end};
	return sink->access != NULL ? sink->access(ctx, &a) : ERR_OK;
}

static const char *tag_name(uint8_t tag)
{
	switch (tag) {
	case 'O': return "object";
	case 'A': return "attribute";
	case 'L': return "access record";
	default: return "record";
	}
}

/* bk_parse_file reads a whole backup from |r| through |sink|; ERR_OK only
 * when every record is well formed, in order, the counts match the
 * header, the MAC matches and nothing follows it */
static err_t bk_parse_file(struct reader *r, struct bk_parse *p, const struct bk_sink *sink, void *ctx,
			   char *errbuf, size_t errlen)
{
	errbuf[0] = '\0';
	err_t e = parse_header(r, p, errbuf, errlen);
	if (e == ERR_OK)
		e = sink->begin(ctx, p, r);
	if (e != ERR_OK) {
		if (errbuf[0] == '\0')
			snprintf(errbuf, errlen, "store: the backup's header is damaged or truncated");
		return e;
	}
	if (r->mac != NULL) {
		e = keygen_hmac_update(r->mac, r->pre, r->pre_len);
		if (e != ERR_OK)
			return e;
	}
	/* 0: objects and their attributes, 1: the access log */
	int phase = 0;
	uint8_t tag = 0;
	for (;;) {
		uint64_t at = r->offset;
		e = r_u8(r, &tag);
		if (e == ERR_OK && tag == 'E')
			break;
		if (e == ERR_OK) {
			switch (tag) {
			case 'O': e = phase == 0 ? parse_object(r, p, sink, ctx) : ERR_STORE_BACKUP; break;
			case 'A': e = phase == 0 ? parse_attr(r, p, sink, ctx) : ERR_STORE_BACKUP; break;
			case 'L':
				phase = 1;
				e = parse_access(r, p, sink, ctx);
				break;
			default: e = ERR_STORE_BACKUP; break;
			}
		}
		if (e != ERR_OK) {
			if (errbuf[0] == '\0' && e == ERR_STORE_BACKUP)
				snprintf(errbuf, errlen,
					 "store: the backup is damaged or truncated (a bad %s at byte %llu)",
					 tag_name(tag), (unsigned long long)at);
			else if (errbuf[0] == '\0')
				snprintf(errbuf, errlen, "store: import failed at byte %llu: %s",
					 (unsigned long long)at, e == ERR_IO ? strerror(r->err_no) : err_str(e));
			return e;
		}
	}
	uint8_t want[KEYGEN_SHA256_LEN], got[KEYGEN_SHA256_LEN], extra;
	struct keygen_hmac *mac = r->mac;
	r->mac = NULL; /* the MAC is not over itself */
	e = keygen_hmac_final(mac, want);
	if (e == ERR_OK)
		e = r_bytes(r, got, sizeof(got), false);
	if (e == ERR_OK && (p->objects != p->h.objects || p->attrs != p->h.attrs || p->sealed != p->h.sealed ||
			    p->access != p->h.access)) {
		snprintf(errbuf, errlen,
			 "store: the backup holds %llu objects, %llu attributes, %llu access records, its header "
			 "says %llu, %llu, %llu (damaged)",
			 (unsigned long long)p->objects, (unsigned long long)p->attrs, (unsigned long long)p->access,
			 (unsigned long long)p->h.objects, (unsigned long long)p->h.attrs,
			 (unsigned long long)p->h.access);
		e = ERR_STORE_BACKUP;
	}
	if (e == ERR_OK && !ct_memeq(want, got, sizeof(want))) {
		snprintf(errbuf, errlen, "store: the backup's MAC does not match: the file was changed or damaged");
		e = ERR_STORE_BACKUP;
	}
	if (e == ERR_OK && r_bytes(r, &extra, 1, false) == ERR_OK) {
		snprintf(errbuf, errlen, "store: bytes follow the backup's MAC (damaged)");
		e = ERR_STORE_BACKUP;
	}
	keygen_hmac_free(mac);
	if (e != ERR_OK && errbuf[0] == '\0')
		snprintf(errbuf, errlen, "store: the backup is truncated: %s",
			 e == ERR_IO ? strerror(r->err_no) : err_str(e));
	return e;
}

static void bk_parse_free(struct bk_parse *p)
{
	if (p == NULL)
		return;
	free(p->sealed_buf);
	free(p->value);
	free(p->search);
	free(p);
}

static struct bk_parse *bk_parse_new(void)
{
	struct bk_parse *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->sealed_buf = malloc(STORE_SEALED_MAX);
	p->value = malloc(STORE_ATTR_VALUE_MAX + 1);
	p->search = malloc(STORE_ATTR_VALUE_MAX + 1);
	if (p->sealed_buf == NULL || p->value == NULL || p->search == NULL) {
		bk_parse_free(p);
		return NULL;
	}
	return p;
}

static struct reader *reader_new(int fd)
{
	struct reader *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->fd = fd;
	r->pre = malloc(BK_PRE_MAX);
	if (r->pre == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static void reader_free(struct reader *r)
{
	if (r == NULL)
		return;
	keygen_hmac_free(r->mac);
	free(r->pre);
	free(r);
}

/* ---- import ------------------------------------------------------------------------ */

struct import_ctx {
	const struct store_options *o;
	const struct store_backend_ops *ops;
	struct store_backend *b;
	struct store_seal *seal;     /* loaded by the first pass */
	struct bk_header first;      /* the first pass's header */
	struct store_txn *t;         /* the second pass's transaction */
	struct reader *r;
	struct bk_parse *p;
	struct store_backup_info *info;
	char *errbuf;
	size_t errlen;
};

static err_t im_begin(void *vctx, struct bk_parse *p, struct reader *r)
{
	struct import_ctx *c = vctx;
	if (c->seal == NULL) {
		struct seal_meta m[BK_META_MAX];
		for (size_t i = 0; i < p->n_meta; i++)
			m[i] = (struct seal_meta){p->meta[i].key, p->meta[i].value, p->meta[i].len};
		GUARD(seal_open_backup(c->o->kek, c->o->hsm, m, p->n_meta, &c->seal, c->errbuf, c->errlen));
		c->first = p->h;
	} else if (memcmp(&c->first, &p->h, sizeof(p->h)) != 0) {
		snprintf(c->errbuf, c->errlen, "store: the backup changed while it was imported");
		return ERR_STORE_BACKUP;
	}
	return seal_backup_mac(c->seal, p->h.nonce, &r->mac);
}

/* the second pass: the rows go in as they come */
static err_t im2_begin(void *vctx, struct bk_parse *p, struct reader *r)
{
	struct import_ctx *c = vctx;
	GUARD(im_begin(vctx, p, r));
	/* the backup's KEK rows replace the target's (which sealed nothing:
	 * the store is empty) */
	for (size_t i = 0; i < p->n_meta; i++)
		GUARD(c->ops->txn_meta_put(c->t, p->meta[i].key, p->meta[i].value, p->meta[i].len));
	return ERR_OK;
}

static err_t im2_object(void *vctx, const struct store_row *row, const uint8_t *sealed, size_t len, bool has)
{
	struct import_ctx *c = vctx;
	err_t r = c->ops->txn_row_insert(c->t, row);
	if (r == ERR_INVALID_ARG) {
		snprintf(c->errbuf, c->errlen, "store: the backup holds object %s twice", row->id);
		return ERR_STORE_BACKUP;
	}
	GUARD(r);
	if (has)
		GUARD(c->ops->txn_material_put(c->t, row->id, sealed, len));
	return ERR_OK;
}

static err_t im2_attr(void *vctx, const struct store_row *owner, const struct store_attr *a)
{
	struct import_ctx *c = vctx;
	err_t r = c->ops->txn_attr_insert(c->t, owner->id, a);
	if (r == ERR_STORE_ATTR_EXISTS) {
		snprintf(c->errbuf, c->errlen, "store: the backup holds attribute %s[%u] of %s twice", a->name,
			 a->index, owner->id);
		return ERR_STORE_BACKUP;
	}
	GUARD(r);
	/* the names table, rebuilt as store_put builds it: a live object's
	 * Names are claimed; a destroyed one's were released */
	if (owner->state == STORE_STATE_DESTROYED || owner->state == STORE_STATE_DESTROYED_COMPROMISED)
		return ERR_OK;
	r = store_name_claim(c->ops, c->t, owner->tenant, owner->id, a);
	if (r == ERR_STORE_NAME_TAKEN) {
		/* an older live object of the tenant has it (objects come by
		 * creation): it keeps it, as schema migration 2 decided */
		c->info->names_dup++;
		return ERR_OK;
	}
	return r;
}

static err_t im2_access(void *vctx, const struct store_access *a)
{
	struct import_ctx *c = vctx;
	return c->ops->txn_access_insert(c->t, a->id, a->tenant, a->fp, a->op, a->time, a->lease_end);
}

static err_t apply_import(struct store_txn *t, void *vctx)
{
	struct import_ctx *c = vctx;
	static const struct bk_sink sink = {im2_begin, im2_object, im2_attr, im2_access};
	c->t = t;
	c->info->names_dup = 0; /* a retried batch starts again */
	memset(c->p, 0, offsetof(struct bk_parse, sealed_buf));
	err_t r = lseek(c->r->fd, 0, SEEK_SET) == 0 ? ERR_OK : ERR_IO;
	if (r == ERR_OK) {
		keygen_hmac_free(c->r->mac);
		uint8_t *pre = c->r->pre;
		int fd = c->r->fd;
		memset(c->r, 0, sizeof(*c->r));
		c->r->fd = fd;
		c->r->pre = pre;
		r = bk_parse_file(c->r, c->p, &sink, c, c->errbuf, c->errlen);
	}
	/* the leases table from the restored log: leases over by now are the
	 * past (no lease_end event), the others end ahead; the whole log at
	 * once skips no record, so no slack (a "now" past every end) */
	if (r == ERR_OK)
		r = c->ops->txn_leases_fold(t, UINT64_MAX, store_now(), INT64_MAX);
	c->t = NULL;
	return r;
}

static const struct bk_sink verify_sink = {im_begin, NULL, NULL, NULL};

err_t store_import(const struct store_options *o, int fd, struct store_backup_info *out, char *errbuf,
		   size_t errlen)
{
	memset(out, 0, sizeof(*out));
	errbuf[0] = '\0';
	struct import_ctx c = {.o = o, .info = out, .errbuf = errbuf, .errlen = errlen};
	struct stat st;
	err_t r;
	if (o->path == NULL || o->path[0] == '\0' || o->kek == NULL || o->kek[0] == '\0') {
		snprintf(errbuf, errlen, "store: [store] path and kek must be set");
		return ERR_CONFIG;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || lseek(fd, 0, SEEK_SET) != 0) {
		snprintf(errbuf, errlen, "store: the backup must be a regular file (it is read twice)");
		return ERR_INVALID_ARG;
	}
	c.r = reader_new(fd);
	c.p = bk_parse_new();
	if (c.r == NULL || c.p == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	/* the header first: a file that is not a backup opens no database */
	r = parse_header(c.r, c.p, errbuf, errlen);
	if (r != ERR_OK) {
		if (errbuf[0] == '\0')
			snprintf(errbuf, errlen, "store: the backup's header is damaged or truncated");
		goto out;
	}
	GUARD_GOTO(store_backend_open(o, &c.ops, &c.b, errbuf, errlen));
	struct store_counts n;
	GUARD_GOTO(c.ops->counts(c.b, &n));
	if (n.objects != 0 || n.access != 0) {
		snprintf(errbuf, errlen,
			 "store: %s holds %llu objects and %llu access records: import restores into an empty store "
			 "only (set [store] path to a new database)",
			 o->path, (unsigned long long)n.objects, (unsigned long long)n.access);
		r = ERR_STORE_NOT_EMPTY;
		goto out;
	}
	/* a KEK row the target has and the backup lacks (an HSM's wrapped
	 * data key under a backup made with a KEK file) would outlive the
	 * import and contradict it */
	for (size_t i = 0; seal_meta_names[i] != NULL; i++) {
		uint8_t v[BK_META_VALUE_MAX];
		size_t vl = 0;
		bool in_backup = false;
		for (size_t j = 0; j < c.p->n_meta; j++)
			in_backup = in_backup || strcmp(c.p->meta[j].key, seal_meta_names[i]) == 0;
		r = c.ops->meta_get(c.b, seal_meta_names[i], v, sizeof(v), &vl);
		if (r == ERR_OK && !in_backup) {
			snprintf(errbuf, errlen,
				 "store: %s was made under another kind of KEK than the backup: import into a new "
				 "database ([store] path)",
				 o->path);
			r = ERR_STORE_NOT_EMPTY;
			goto out;
		}
		if (r != ERR_OK && r != ERR_STORE_NOT_FOUND)
			goto out;
	}
	/* pass 1: the whole file, the MAC, nothing written */
	r = lseek(fd, 0, SEEK_SET) == 0 ? ERR_OK : ERR_IO;
	if (r == ERR_OK) {
		reader_free(c.r);
		c.r = reader_new(fd);
		r = c.r != NULL ? ERR_OK : ERR_NOMEM;
	}
	if (r == ERR_OK) {
		memset(c.p, 0, offsetof(struct bk_parse, sealed_buf));
		r = bk_parse_file(c.r, c.p, &verify_sink, &c, errbuf, errlen);
	}
	if (r != ERR_OK)
		goto out;
	/* pass 2: one transaction */
	r = c.ops->submit(c.b, apply_import, &c);
	if (r != ERR_OK) {
		if (errbuf[0] == '\0')
			snprintf(errbuf, errlen, "store: the import was rolled back: %s", err_str(r));
		goto out;
	}
	out->schema_version = c.p->h.schema;
	out->objects = c.p->objects;
	out->attrs = c.p->attrs;
	out->sealed = c.p->sealed;
	out->access = c.p->access;
	/* the verification pass: every record opens, the rows are all there */
	struct store s = {.ops = c.ops, .b = c.b, .seal = c.seal};
	struct store_verify_result v;
	GUARD_GOTO(store_verify(&s, &v));
	out->verified = v.checked;
	out->verify_failed = v.failed;
	if (v.failed != 0) {
		snprintf(errbuf, errlen, "store: imported, but %llu of %llu sealed records do not open (the first: %s)",
			 (unsigned long long)v.failed, (unsigned long long)v.checked,
			 v.n_failed_ids ? v.failed_ids[0] : "?");
		r = ERR_STORE_SEAL;
	}
	store_verify_free(&v);
	if (r != ERR_OK)
		goto out;
	GUARD_GOTO(c.ops->counts(c.b, &n));
	out->names = n.names;
	if (n.objects != out->objects || n.attrs != out->attrs || n.sealed != out->sealed ||
	    n.access != out->access || v.checked != out->sealed) {
		snprintf(errbuf, errlen,
			 "store: imported, but the store holds %llu objects, %llu attributes, %llu sealed records, "
			 "%llu access records where the backup has %llu, %llu, %llu, %llu",
			 (unsigned long long)n.objects, (unsigned long long)n.attrs, (unsigned long long)n.sealed,
			 (unsigned long long)n.access, (unsigned long long)out->objects, (unsigned long long)out->attrs,
			 (unsigned long long)out->sealed, (unsigned long long)out->access);
		r = ERR_STORE;
	}
out:
	if (c.b != NULL)
		c.ops->close(c.b);
	seal_close(c.seal);
	reader_free(c.r);
	bk_parse_free(c.p);
	if (r != ERR_OK && errbuf[0] == '\0')
		snprintf(errbuf, errlen, "store: import failed: %s", err_str(r));
	return r;
}

err_t store_quick_check(struct store *s, char *msg, size_t len)
{
	if (len)
		msg[0] = '\0';
	if (s->ops->quick_check == NULL)
		return ERR_UNSUPPORTED;
	return s->ops->quick_check(s->b, msg, len);
}

/* ---- the fuzz target's entry (fuzz/fuzz_backup.c) --------------------------------- */

struct fuzz_ctx {
	const char *kek;
	struct store_seal *seal;
	char eb[256];
};

static err_t fz_begin(void *vctx, struct bk_parse *p, struct reader *r)
{
	struct fuzz_ctx *c = vctx;
	struct seal_meta m[BK_META_MAX];
	for (size_t i = 0; i < p->n_meta; i++)
		m[i] = (struct seal_meta){p->meta[i].key, p->meta[i].value, p->meta[i].len};
	seal_close(c->seal);
	c->seal = NULL;
	GUARD(seal_open_backup(c->kek, NULL, m, p->n_meta, &c->seal, c->eb, sizeof(c->eb)));
	return seal_backup_mac(c->seal, p->h.nonce, &r->mac);
}

err_t store_backup_parse_for_fuzzing(int fd, const char *kek, uint64_t *objects, uint64_t *attrs,
				     uint64_t *access)
{
	static const struct bk_sink sink = {fz_begin, NULL, NULL, NULL};
	struct fuzz_ctx c = {.kek = kek};
	char eb[256];
	struct reader *r = reader_new(fd);
	struct bk_parse *p = bk_parse_new();
	err_t e = r != NULL && p != NULL ? bk_parse_file(r, p, &sink, &c, eb, sizeof(eb)) : ERR_NOMEM;
	if (p != NULL) {
		*objects = p->objects;
		*attrs = p->attrs;
		*access = p->access;
	}
	seal_close(c.seal);
	reader_free(r);
	bk_parse_free(p);
	return e;
}
