/* tests/test_ttlv.c — the TTLV codec: every byte-exact message in
 * tests/vectors/kmip/ttlv-hex.txt (KMIP 1.0/1.1 use and test cases and the
 * 1.3 CS-RNG-M-1 case) decodes and re-encodes to the same bytes; malformed
 * input of every kind is refused with a reason, never read past. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kmip.h"
#include "api/ttlv.h"
#include "tests/helpers.h"

/* one record of the vector file: its hex line and case/direction labels */
struct vec {
	char label[160];
	uint8_t *msg;
	size_t len;
};

static struct vec *vecs;
static size_t n_vecs;

static int suite_init(void)
{
	FILE *f = fopen(testlib_path("tests/vectors/kmip/ttlv-hex.txt"), "r");
	if (f == NULL)
		return 1;
	char line[8192], label[160] = "";
	size_t cap = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "case: ", 6) == 0)
			snprintf(label, sizeof label, "%.150s", line + 6);
		if (strncmp(line, "hex: ", 5) != 0)
			continue;
		if (n_vecs == cap) {
			cap = cap ? cap * 2 : 64;
			vecs = realloc(vecs, cap * sizeof *vecs);
			if (vecs == NULL)
				abort();
		}
		struct vec *v = &vecs[n_vecs++];
		memcpy(v->label, label, sizeof v->label);
		v->msg = testlib_hex(line + 5, &v->len);
	}
	fclose(f);
	return n_vecs == 0;
}

static int suite_clean(void)
{
	for (size_t i = 0; i < n_vecs; i++)
		free(vecs[i].msg);
	free(vecs);
	vecs = NULL;
	n_vecs = 0;
	return 0;
}

static void test_vectors_round_trip(void)
{
	CU_ASSERT_EQUAL(n_vecs, 83);
	for (size_t i = 0; i < n_vecs; i++) {
		struct ttlv_doc d;
		err_t r = ttlv_decode(&d, vecs[i].msg, vecs[i].len);
		if (r != ERR_OK)
			fprintf(stderr, "\n  %s: %s\n", vecs[i].label, d.why);
		CU_ASSERT_EQUAL_FATAL(r, ERR_OK);
		const struct ttlv_item *root = ttlv_root(&d);
		CU_ASSERT(root->tag == KMIP_TAG_REQUEST_MESSAGE || root->tag == KMIP_TAG_RESPONSE_MESSAGE);
		size_t framed = 0;
		EXPECT_OK(ttlv_frame_len(vecs[i].msg, 1 << 20, &framed));
		CU_ASSERT_EQUAL(framed, vecs[i].len);
		struct ttlv_enc e;
		ttlv_enc_init(&e, 1 << 20);
		ttlv_enc_item(&e, root);
		EXPECT_OK(ttlv_enc_finish(&e));
		CU_ASSERT_EQUAL(e.len, vecs[i].len);
		CU_ASSERT(e.len == vecs[i].len && memcmp(e.buf, vecs[i].msg, e.len) == 0);
		ttlv_enc_free(&e);
		ttlv_doc_free(&d);
	}
}

/* The CS-RNG-M-1-13 request, field by field (KMIP Profiles v1.3 §5.9.9.1). */
static void test_rng_retrieve_request_fields(void)
{
	const struct vec *v = &vecs[0];
	CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(v->label, "CS-RNG-M-1-13"));
	struct ttlv_doc d;
	EXPECT_OK(ttlv_decode(&d, v->msg, v->len));
	const struct ttlv_item *hdr = ttlv_find(ttlv_root(&d), KMIP_TAG_REQUEST_HEADER);
	const struct ttlv_item *pv = ttlv_find(hdr, KMIP_TAG_PROTOCOL_VERSION);
	const struct ttlv_item *maj = ttlv_find(pv, KMIP_TAG_PROTOCOL_VERSION_MAJOR);
	const struct ttlv_item *min = ttlv_find(pv, KMIP_TAG_PROTOCOL_VERSION_MINOR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(maj);
	CU_ASSERT_PTR_NOT_NULL_FATAL(min);
	CU_ASSERT_EQUAL(maj->type, TTLV_INTEGER);
	CU_ASSERT_EQUAL(ttlv_int(maj), 1);
	CU_ASSERT_EQUAL(ttlv_int(min), 3);
	const struct ttlv_item *bi = ttlv_find(ttlv_root(&d), KMIP_TAG_BATCH_ITEM);
	const struct ttlv_item *op = ttlv_find(bi, KMIP_TAG_OPERATION);
	CU_ASSERT_EQUAL_FATAL(op->type, TTLV_ENUM);
	CU_ASSERT_EQUAL(op->u, KMIP_OPERATION_RNG_RETRIEVE);
	const struct ttlv_item *dl = ttlv_find(ttlv_find(bi, KMIP_TAG_REQUEST_PAYLOAD), KMIP_TAG_DATA_LENGTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dl);
	CU_ASSERT_EQUAL(ttlv_int(dl), 32);
	CU_ASSERT_EQUAL(ttlv_count(ttlv_root(&d), KMIP_TAG_BATCH_ITEM), 1);
	CU_ASSERT_PTR_NULL(ttlv_find_next(bi));
	CU_ASSERT_PTR_NULL(ttlv_find(op, KMIP_TAG_OPERATION)); /* not a Structure */
	ttlv_doc_free(&d);
}

/* The encoder writes the same request from scratch. */
static void test_encode_from_scratch(void)
{
	struct ttlv_enc e;
	ttlv_enc_init(&e, 4096);
	ttlv_enc_begin(&e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_enc_begin(&e, KMIP_TAG_REQUEST_HEADER);
	ttlv_enc_begin(&e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(&e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(&e, KMIP_TAG_PROTOCOL_VERSION_MINOR, 3);
	ttlv_enc_end(&e);
	ttlv_enc_int(&e, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_enc_end(&e);
	ttlv_enc_begin(&e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(&e, KMIP_TAG_OPERATION, KMIP_OPERATION_RNG_RETRIEVE);
	ttlv_enc_begin(&e, KMIP_TAG_REQUEST_PAYLOAD);
	ttlv_enc_int(&e, KMIP_TAG_DATA_LENGTH, 32);
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	EXPECT_OK(ttlv_enc_finish(&e));
	CU_ASSERT_EQUAL(e.len, vecs[0].len);
	CU_ASSERT(e.len == vecs[0].len && memcmp(e.buf, vecs[0].msg, e.len) == 0);
	ttlv_enc_free(&e);

	/* every scalar type, strings with padding, then decoded back */
	ttlv_enc_init(&e, 4096);
	ttlv_enc_begin(&e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_int(&e, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, -2);
	ttlv_enc_long(&e, KMIP_TAG_ITERATION_COUNT, -3);
	ttlv_enc_enum(&e, KMIP_TAG_STATE, KMIP_STATE_ACTIVE);
	ttlv_enc_bool(&e, KMIP_TAG_FRESH, true);
	ttlv_enc_cstr(&e, KMIP_TAG_ATTRIBUTE_NAME, "x-Vendor");
	ttlv_enc_bytes(&e, KMIP_TAG_KEY_MATERIAL, (const uint8_t *)"\x01\x02\x03", 3);
	ttlv_enc_bytes(&e, KMIP_TAG_NONCE_VALUE, NULL, 0);
	ttlv_enc_datetime(&e, KMIP_TAG_INITIAL_DATE, 949413600);
	ttlv_enc_interval(&e, KMIP_TAG_LEASE_TIME, 3600);
	ttlv_enc_end(&e);
	EXPECT_OK(ttlv_enc_finish(&e));
	CU_ASSERT_EQUAL(e.len % 8, 0);
	struct ttlv_doc d;
	EXPECT_OK(ttlv_decode(&d, e.buf, e.len));
	const struct ttlv_item *a = ttlv_root(&d);
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(a, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)), -2);
	CU_ASSERT_EQUAL(ttlv_long(ttlv_find(a, KMIP_TAG_ITERATION_COUNT)), -3);
	CU_ASSERT_EQUAL(ttlv_find(a, KMIP_TAG_STATE)->u, KMIP_STATE_ACTIVE);
	CU_ASSERT_EQUAL(ttlv_find(a, KMIP_TAG_FRESH)->u, 1);
	const struct ttlv_item *n = ttlv_find(a, KMIP_TAG_ATTRIBUTE_NAME);
	CU_ASSERT(n->len == 8 && memcmp(n->val, "x-Vendor", 8) == 0);
	CU_ASSERT_EQUAL(ttlv_find(a, KMIP_TAG_KEY_MATERIAL)->len, 3);
	CU_ASSERT_EQUAL(ttlv_find(a, KMIP_TAG_NONCE_VALUE)->len, 0);
	CU_ASSERT_EQUAL(ttlv_long(ttlv_find(a, KMIP_TAG_INITIAL_DATE)), 949413600);
	CU_ASSERT_EQUAL(ttlv_find(a, KMIP_TAG_LEASE_TIME)->u, 3600);
	ttlv_doc_free(&d);
	ttlv_enc_free(&e);
}

static void test_encoder_limits(void)
{
	struct ttlv_enc e;
	/* the cap is sticky and reported as ERR_TOO_LARGE */
	ttlv_enc_init(&e, 64);
	ttlv_enc_begin(&e, KMIP_TAG_RESPONSE_MESSAGE);
	struct ttlv_mark m = ttlv_enc_mark(&e);
	ttlv_enc_bytes(&e, KMIP_TAG_DATA, (const uint8_t *)"0123456789abcdef0123456789abcdef0123456789abcdef01234567", 56);
	EXPECT_ERR(ttlv_enc_error(&e), ERR_TOO_LARGE);
	ttlv_enc_int(&e, KMIP_TAG_BATCH_COUNT, 1); /* ignored after the error */
	/* rewinding to before the item clears it; a smaller item fits */
	ttlv_enc_rewind(&e, m);
	EXPECT_OK(ttlv_enc_error(&e));
	ttlv_enc_int(&e, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_enc_end(&e);
	EXPECT_OK(ttlv_enc_finish(&e));
	CU_ASSERT_EQUAL(e.len, 24);
	ttlv_enc_free(&e);
	/* unbalanced structures */
	ttlv_enc_init(&e, 64);
	ttlv_enc_begin(&e, KMIP_TAG_RESPONSE_MESSAGE);
	EXPECT_ERR(ttlv_enc_finish(&e), ERR_INTERNAL);
	ttlv_enc_free(&e);
	ttlv_enc_init(&e, 64);
	ttlv_enc_end(&e);
	EXPECT_ERR(ttlv_enc_finish(&e), ERR_INTERNAL);
	ttlv_enc_free(&e);
	/* nesting deeper than the decoder accepts is refused when encoding too */
	ttlv_enc_init(&e, 4096);
	for (int i = 0; i <= TTLV_MAX_DEPTH; i++)
		ttlv_enc_begin(&e, KMIP_TAG_ATTRIBUTE);
	EXPECT_ERR(ttlv_enc_error(&e), ERR_INTERNAL);
	ttlv_enc_free(&e);
}

/* decode_why decodes |hex| and returns ERR_OK or the error, with the
 * reason in |why|. */
static err_t decode_hex(const char *hex, char *why, size_t why_len)
{
	size_t len;
	uint8_t *b = testlib_hex(hex, &len);
	static const uint8_t none[1];
	struct ttlv_doc d;
	err_t r = ttlv_decode(&d, b != NULL ? b : none, len);
	snprintf(why, why_len, "%s", d.why);
	ttlv_doc_free(&d);
	free(b);
	return r;
}

static void test_malformed_items(void)
{
	static const struct {
		const char *hex, *why;
	} bad[] = {
		/* Integer with length 5 */
		{"420078010000001042006A02000000050000000100000000", "4-byte type"},
		/* Integer whose padding is not zero */
		{"420078010000001042006A020000000400000001000000FF", "padding"},
		/* Boolean 2; Boolean with length 4 */
		{"420078010000001042000606000000080000000000000002", "Boolean"},
		{"420078010000001042000606000000040000000100000000", "Boolean"},
		/* Long Integer with length 4 */
		{"420078010000001042006A03000000040000000100000000", "8-byte"},
		/* unknown type 0x0B */
		{"420078010000001042006A0B000000040000000100000000", "unknown item type"},
		/* a child longer than its structure */
		{"420078010000001042006A02000000400000000100000000", "runs past"},
		/* Structures whose length is not a multiple of 8 */
		{"420078010000000C420000000000000000000000", "multiple of 8"},
		{"420078010000001042007801000000040000000000000000", "multiple of 8"},
		/* Text Strings of invalid UTF-8: a lone continuation byte, an
		 * overlong '/', a surrogate (U+D800) */
		{"420078010000001042000A07000000018000000000000000", "UTF-8"},
		{"420078010000001042000A0700000002C0AF000000000000", "UTF-8"},
		{"420078010000001042000A0700000003EDA0800000000000", "UTF-8"},
		/* Big Integer of 3 bytes */
		{"42007801000000104200C404000000030102030000000000", "Big Integer"},
		/* a value cut short; a header cut short after the message */
		{"420078010000000842006A0200000004", "runs past"},
		{"42007801000000004200", "truncated header"},
		/* a second message after the first */
		{"42007801000000004200780100000000", "after the end"},
		/* shorter than a header */
		{"420078", "shorter than a TTLV header"},
	};
	char why[160];
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_t r = decode_hex(bad[i].hex, why, sizeof why);
		if (r != ERR_PARSE || strstr(why, bad[i].why) == NULL)
			fprintf(stderr, "\n  case %zu: %d '%s' (want '%s')\n", i, r, why, bad[i].why);
		CU_ASSERT_EQUAL(r, ERR_PARSE);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i].why));
	}
	/* valid odd cases: an empty structure, an empty string, a 4-byte UTF-8 character */
	CU_ASSERT_EQUAL(decode_hex("4200780100000000", why, sizeof why), ERR_OK);
	CU_ASSERT_EQUAL(decode_hex("420078010000000842000A0700000000", why, sizeof why), ERR_OK);
	CU_ASSERT_EQUAL(decode_hex("420078010000001042000A0700000004F09F988000000000", why, sizeof why), ERR_OK);
}

static void test_depth_cap(void)
{
	/* TTLV_MAX_DEPTH - 1 nested structures decode; one more does not */
	for (int depth = TTLV_MAX_DEPTH - 1; depth <= TTLV_MAX_DEPTH; depth++) {
		size_t len = (size_t)depth * 8;
		uint8_t *b = calloc(1, len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		for (int i = 0; i < depth; i++) {
			uint8_t *h = b + (size_t)i * 8;
			uint32_t body = (uint32_t)(depth - i - 1) * 8;
			h[0] = 0x42, h[1] = 0x00, h[2] = 0x08, h[3] = TTLV_STRUCTURE;
			h[4] = (uint8_t)(body >> 24), h[5] = (uint8_t)(body >> 16);
			h[6] = (uint8_t)(body >> 8), h[7] = (uint8_t)body;
		}
		struct ttlv_doc d;
		err_t r = ttlv_decode(&d, b, len);
		if (depth < TTLV_MAX_DEPTH) {
			CU_ASSERT_EQUAL(r, ERR_OK);
		} else {
			CU_ASSERT_EQUAL(r, ERR_PARSE);
			CU_ASSERT_PTR_NOT_NULL(strstr(d.why, "nested"));
		}
		ttlv_doc_free(&d);
		free(b);
	}
}

/* Every prefix of every vector is refused (never read past), and every
 * single-byte change either decodes or is refused with a reason. */
static void test_truncations_and_flips(void)
{
	for (size_t i = 0; i < n_vecs; i++) {
		const struct vec *v = &vecs[i];
		for (size_t cut = 0; cut < v->len; cut++) {
			/* a copy of exactly |cut| bytes, so ASan sees any overread */
			uint8_t *b = malloc(cut ? cut : 1);
			CU_ASSERT_PTR_NOT_NULL_FATAL(b);
			memcpy(b, v->msg, cut);
			struct ttlv_doc d;
			err_t r = ttlv_decode(&d, b, cut);
			/* a prefix is a whole message only when it ends on an item
			 * boundary of a message whose outer length also fits: never,
			 * since the outer length names the full size */
			CU_ASSERT_EQUAL(r, ERR_PARSE);
			CU_ASSERT(d.why[0] != '\0');
			ttlv_doc_free(&d);
			free(b);
		}
	}
	size_t decoded = 0, refused = 0;
	for (size_t i = 0; i < n_vecs; i += 7) {
		const struct vec *v = &vecs[i];
		uint8_t *b = malloc(v->len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		for (size_t pos = 0; pos < v->len; pos++) {
			memcpy(b, v->msg, v->len);
			b[pos] ^= 0x81;
			struct ttlv_doc d;
			err_t r = ttlv_decode(&d, b, v->len);
			CU_ASSERT(r == ERR_OK || r == ERR_PARSE);
			if (r == ERR_OK)
				decoded++;
			else
				refused++;
			ttlv_doc_free(&d);
		}
		free(b);
	}
	/* flips in values decode, flips in types, lengths and padding do not */
	CU_ASSERT(decoded > 0 && refused > 0);
}

static void test_frame_len(void)
{
	size_t n = 1;
	const uint8_t ok[8] = {0x42, 0x00, 0x78, 0x01, 0x00, 0x00, 0x00, 0x70};
	EXPECT_OK(ttlv_frame_len(ok, 1 << 20, &n));
	CU_ASSERT_EQUAL(n, 120);
	EXPECT_OK(ttlv_frame_len(ok, 120, &n));
	EXPECT_ERR(ttlv_frame_len(ok, 119, &n), ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(n, 0);
	const uint8_t huge[8] = {0x42, 0x00, 0x78, 0x01, 0xFF, 0xFF, 0xFF, 0xF8};
	EXPECT_ERR(ttlv_frame_len(huge, 1 << 20, &n), ERR_TOO_LARGE);
	const uint8_t not_struct[8] = {0x42, 0x00, 0x78, 0x02, 0x00, 0x00, 0x00, 0x04};
	EXPECT_ERR(ttlv_frame_len(not_struct, 1 << 20, &n), ERR_PARSE);
	const uint8_t odd[8] = {0x42, 0x00, 0x78, 0x01, 0x00, 0x00, 0x00, 0x0C};
	EXPECT_ERR(ttlv_frame_len(odd, 1 << 20, &n), ERR_PARSE);
	/* an HTTP request or a TLS record sent to the KMIP port */
	EXPECT_ERR(ttlv_frame_len((const uint8_t *)"GET / HT", 1 << 20, &n), ERR_PARSE);
	const uint8_t tls[8] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01};
	EXPECT_ERR(ttlv_frame_len(tls, 1 << 20, &n), ERR_PARSE);
}

/* Big Integers (KMIP 1.4 §9.1.1.4): two's complement, big-endian, padded
 * with sign bytes to a multiple of 8. The spec's example: 1 234 567 890
 * 000 000 000 000 000 000 is 42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD
 * 35 EB 6B C2 DF 46 18 08 00 00. A magnitude with its top bit set gets a
 * zero sign byte (a whole 8 more when it fills its 8s); leading zero bytes
 * of the magnitude are not kept; zero is one 8-byte zero. */
static void test_bigint_encoding(void)
{
	static const struct {
		const char *mag, *want;
	} cases[] = {
		{"03FD35EB6BC2DF4618080000", "42002004000000100000000003FD35EB6BC2DF4618080000"},
		{"80", "4200200400000008" "0000000000000080"},
		{"0000000001", "4200200400000008" "0000000000000001"},
		{"FFFFFFFFFFFFFFFF", "4200200400000010" "0000000000000000FFFFFFFFFFFFFFFF"},
		{"00", "4200200400000008" "0000000000000000"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t ml = 0, wl = 0;
		uint8_t *mag = testlib_hex(cases[i].mag, &ml);
		uint8_t *want = testlib_hex(cases[i].want, &wl);
		struct ttlv_enc e;
		ttlv_enc_init(&e, 256);
		ttlv_enc_bigint(&e, 0x420020, mag, ml);
		EXPECT_OK(ttlv_enc_finish(&e));
		if (e.len != wl || memcmp(e.buf, want, wl) != 0)
			fprintf(stderr, "\n  bigint case %zu differs\n", i);
		CU_ASSERT(e.len == wl && memcmp(e.buf, want, wl) == 0);
		/* and it decodes as one Big Integer */
		struct ttlv_doc d;
		EXPECT_OK(ttlv_decode(&d, e.buf, e.len));
		CU_ASSERT_EQUAL(ttlv_root(&d)->type, TTLV_BIGINT);
		ttlv_doc_free(&d);
		ttlv_enc_free(&e);
		free(mag);
		free(want);
	}
}

TEST_SUITE(ttlv, suite_init, suite_clean, TEST(test_vectors_round_trip),
	   TEST(test_rng_retrieve_request_fields), TEST(test_encode_from_scratch),
	   TEST(test_encoder_limits), TEST(test_malformed_items), TEST(test_depth_cap),
	   TEST(test_truncations_and_flips), TEST(test_frame_len), TEST(test_bigint_encoding))
