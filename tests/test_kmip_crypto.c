/* tests/test_kmip_crypto.c — KMIP Encrypt and Decrypt (KMIP 1.4 §4.29,
 * §4.30) through kmip_process on a real store, and what Query claims.
 *
 * Known answers come from outside fount: the OASIS profile cases
 * CS-BC-M-10-14 (AES-128-CBC/PKCS5) and CS-BC-M-GCM-1-14 (AES-128-GCM,
 * McGrew-Viega test case 2), SP 800-38A F.2.5 (CBC-AES256, no padding), and
 * vectors made with other implementations, named at each one: `openssl
 * enc` on the command line and pyca/cryptography (AESGCM). The shapes are
 * the delegating clients' (kmip-clients §2, §3): mongod's audit log
 * (UID + Data, no parameters; Decrypt with the IV it got back) and
 * libmongocrypt's `delegated` mode (1.2, CBC/PKCS5/AES/Random IV, an IV of
 * exactly 16 bytes). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "api/ops.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "tests/helpers.h"
#include "tests/kmip_inproc.h"

static int suite_init(void)
{
	return kt_init(&(struct kt_suite){.tag = "kmipcrypto", .response_max = 4u << 20});
}

static int suite_clean(void)
{
	return kt_clean();
}

/* ---- responses ------------------------------------------------------------- */
static bool bytes_are(const struct ttlv_item *it, const uint8_t *want, size_t len)
{
	return it != NULL && it->type == TTLV_BYTES && it->len == len && (len == 0 || memcmp(it->val, want, len) == 0);
}

static bool message_has(const struct ttlv_item *bi, const char *s)
{
	const struct ttlv_item *m = ttlv_find(bi, KMIP_TAG_RESULT_MESSAGE);
	if (m == NULL)
		return false;
	char buf[KMIP_MESSAGE_MAX + 1];
	size_t n = m->len < KMIP_MESSAGE_MAX ? m->len : KMIP_MESSAGE_MAX;
	memcpy(buf, m->val, n);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

/* ---- keys ---------------------------------------------------------------------- */

/* put_key stores |key| for |p| as an AES key with |mask|, Active (an
 * Activation Date an hour ago) unless |pre_active| */
static bool put_key(const struct kmip_peer *p, const char *hex, uint32_t mask, bool pre_active,
		    char id[STORE_ID_MAX + 1])
{
	size_t len = 0;
	uint8_t *key = testlib_hex(hex, &len);
	struct ops_new_key k = {
		.alg = STORE_ALG_AES,
		.length = (uint32_t)(len * 8),
		.usage_mask = mask,
		.activation_date = pre_active ? 0 : (int64_t)time(NULL) - 3600,
	};
	err_t r = ops_register(p, &k, STORE_OBJ_SYMMETRIC_KEY, STORE_FMT_RAW, key, len, id);
	free(key);
	return r == ERR_OK;
}

/* create_key makes an AES-|bits| key through KMIP Create (mask |mask|,
 * and |params| as a Cryptographic Parameters attribute when not NULL:
 * mode, tag length, Random IV), then Activate */
struct attr_params {
	uint32_t mode;
	int32_t tag_len;
	bool random_iv;
};
static bool create_key(const struct kmip_peer *p, int bits, int32_t mask, const struct attr_params *params,
		       char id[STORE_ID_MAX + 1])
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 2);
	kt_create_begin(&q, bits);
	kt_attr_int(&q, "Cryptographic Usage Mask", mask);
	if (params != NULL) {
		ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
		ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "Cryptographic Parameters");
		ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE_VALUE);
		ttlv_enc_enum(&q.e, KMIP_TAG_BLOCK_CIPHER_MODE, params->mode);
		if (params->random_iv)
			ttlv_enc_bool(&q.e, KMIP_TAG_RANDOM_IV, true);
		if (params->tag_len > 0)
			ttlv_enc_int(&q.e, KMIP_TAG_TAG_LENGTH, params->tag_len);
		ttlv_enc_end(&q.e);
		ttlv_enc_end(&q.e);
	}
	kt_create_end(&q);
	kt_item(&q, KMIP_OPERATION_ACTIVATE); /* the ID Placeholder */
	kt_item_end(&q);
	kt_run(&q, p, &r);
	const struct ttlv_item *u = ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_UNIQUE_IDENTIFIER);
	bool ok = kt_status(kt_first(&r)) == KMIP_RESULT_STATUS_SUCCESS &&
		  kt_status(ttlv_find_next(kt_first(&r))) == KMIP_RESULT_STATUS_SUCCESS && u != NULL && u->len <= STORE_ID_MAX;
	if (ok) {
		memcpy(id, u->val, u->len);
		id[u->len] = '\0';
	}
	kt_resp_free(&r);
	return ok;
}

static uint64_t accesses(const char *id)
{
	uint64_t n = 0;
	EXPECT_OK(store_access_count(kt_store, id, &n));
	return n;
}

/* ---- one Encrypt or Decrypt -------------------------------------------------- */

struct cq {
	uint32_t op;           /* KMIP_OPERATION_ENCRYPT or _DECRYPT */
	int minor;             /* 0 means 4 */
	const char *uid;
	bool params;           /* send Cryptographic Parameters */
	uint32_t mode, padding, alg; /* 0: not sent */
	int random_iv;         /* -1 / 0: not sent; 1: true; 2: false */
	int32_t tag_length, iv_bits; /* 0: not sent */
	const char *data, *iv, *aad, *tag; /* hex; NULL: not sent */
	bool correlation, init;
	int32_t max_response;
};

static void crypt(const struct kmip_peer *p, const struct cq *c, struct kt_resp *r)
{
	struct kt_req q;
	kt_begin_h(&q, &(struct kt_header){.minor = c->minor != 0 ? c->minor : 4, .count = 1,
					   .max_response = c->max_response});
	kt_item(&q, c->op);
	if (c->uid != NULL)
		ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, c->uid);
	if (c->params) {
		ttlv_enc_begin(&q.e, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
		if (c->mode != 0)
			ttlv_enc_enum(&q.e, KMIP_TAG_BLOCK_CIPHER_MODE, c->mode);
		if (c->padding != 0)
			ttlv_enc_enum(&q.e, KMIP_TAG_PADDING_METHOD, c->padding);
		if (c->alg != 0)
			ttlv_enc_enum(&q.e, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, c->alg);
		if (c->random_iv > 0)
			ttlv_enc_bool(&q.e, KMIP_TAG_RANDOM_IV, c->random_iv == 1);
		if (c->iv_bits != 0)
			ttlv_enc_int(&q.e, KMIP_TAG_IV_LENGTH, c->iv_bits);
		if (c->tag_length != 0)
			ttlv_enc_int(&q.e, KMIP_TAG_TAG_LENGTH, c->tag_length);
		ttlv_enc_end(&q.e);
	}
	const char *hex[] = {c->data, c->iv, c->aad, c->tag};
	const uint32_t tags[] = {KMIP_TAG_DATA, KMIP_TAG_IV_COUNTER_NONCE, KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
				 KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG};
	for (size_t i = 0; i < 4; i++) {
		if (hex[i] == NULL)
			continue;
		size_t n = 0;
		uint8_t *b = testlib_hex(hex[i], &n);
		ttlv_enc_bytes(&q.e, tags[i], b, n);
		free(b);
	}
	if (c->correlation)
		ttlv_enc_bytes(&q.e, KMIP_TAG_CORRELATION_VALUE, (const uint8_t *)"\x01", 1);
	if (c->init)
		ttlv_enc_bool(&q.e, KMIP_TAG_INIT_INDICATOR, true);
	kt_item_end(&q);
	kt_run(&q, p, r);
}

/* out_is: the response item of |r| is a success whose payload's |tag|
 * is the bytes |hex| */
static bool out_is(const struct kt_resp *r, uint32_t tag, const char *hex)
{
	size_t n = 0;
	uint8_t *want = testlib_hex(hex, &n);
	bool ok = kt_status(kt_first(r)) == KMIP_RESULT_STATUS_SUCCESS && bytes_are(ttlv_find(kt_payload(kt_first(r)), tag), want, n);
	free(want);
	return ok;
}

/* fails_with: |r| failed with |why| and a Result Message */
static bool fails_with(const struct kt_resp *r, uint32_t why)
{
	return kt_status(kt_first(r)) == KMIP_RESULT_STATUS_OPERATION_FAILED && kt_reason(kt_first(r)) == why &&
	       ttlv_find(kt_first(r), KMIP_TAG_RESULT_MESSAGE) != NULL;
}

/* ---- known answers --------------------------------------------------------------- */

#define OASIS_KEY "0123456789abcdef0123456789abcdef"
#define OASIS_PT "010203040506070809101112131415160102030405060708091011121314151601"
#define OASIS_IV "01020304050607080910111213141516"
/* CS-BC-M-10-14; `openssl enc -aes-128-cbc -K 0123...cdef -iv 0102...1516`
 * gives the same bytes */
#define OASIS_CT "79abc5c23868ad84d388ce61110a62742bda19d694bbcb757dd06617c0d80fb1df2e71864ad9633d7d797e30860df00d"

/* AES-128-CBC with PKCS5 padding: OASIS CS-BC-M-10-14 both ways, with the
 * access recorded once per use; the UID and Data come back in that order. */
static void test_cbc_known_answer_oasis(void)
{
	char id[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(put_key(&kt_alice, OASIS_KEY, 12, false, id));
	uint64_t before = accesses(id);
	struct kt_resp r;
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_PKCS5, .data = OASIS_PT, .iv = OASIS_IV},
	      &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA, OASIS_CT));
	const struct ttlv_item *p = kt_payload(kt_first(&r));
	CU_ASSERT(p != NULL && p->child != NULL && p->child->tag == KMIP_TAG_UNIQUE_IDENTIFIER &&
		  p->child->next != NULL && p->child->next->tag == KMIP_TAG_DATA);
	/* the client gave the IV: none comes back (§4.29) */
	CU_ASSERT_PTR_NULL(ttlv_find(p, KMIP_TAG_IV_COUNTER_NONCE));
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(accesses(id), before + 1);

	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_DECRYPT, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_PKCS5, .data = OASIS_CT, .iv = OASIS_IV},
	      &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA, OASIS_PT));
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(accesses(id), before + 2);

	/* CS-BC-M-11-14: Decrypt with another IV changes the first block only */
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_DECRYPT, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_PKCS5,
			   .data = "e768203ba72b6e157daaad34b1e791d8e88457dc147942f01bfaff7b28a3cdde2203d4d5a4c7928ba9e9cc78b66a6546",
			   .iv = "00000000000000000000000000000000"},
	      &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA, "fe0000000000000000000000000000000102030405060708091011121314151601"));
	kt_resp_free(&r);
}

/* AES-192-CBC/PKCS5 made with `printf 'fount: 40 bytes of plaintext,
 * padded!!!!' | openssl enc -aes-192-cbc -K 0001..17 -iv 1011..1f` (and
 * pyca/cryptography agrees); AES-256-CBC without padding from SP 800-38A
 * F.2.5 (first block). */
static void test_cbc_known_answer_192_256(void)
{
	char id192[STORE_ID_MAX + 1], id256[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(put_key(&kt_alice, "000102030405060708090a0b0c0d0e0f1011121314151617", 12, false, id192));
	CU_ASSERT_FATAL(put_key(&kt_alice, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", 12, false,
				id256));
	struct kt_resp r;
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .minor = 2, .uid = id192, .params = true,
			   .mode = KMIP_BLOCK_CIPHER_MODE_CBC, .padding = KMIP_PADDING_METHOD_PKCS5,
			   .data = "666f756e743a203430206279746573206f6620706c61696e746578742c2070616464656421212121",
			   .iv = "101112131415161718191a1b1c1d1e1f"},
	      &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA,
			 "3775ba6bf936ef2c2327beeda4da93268165c8314eafaa79cb6392c153f01c6d25226682a431fdb056d552c341e9c41f"));
	kt_resp_free(&r);
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id256, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_NONE, .data = "6bc1bee22e409f96e93d7e117393172a",
			   .iv = "000102030405060708090a0b0c0d0e0f", .iv_bits = 128},
	      &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA, "f58c4c04d6e5f1ba779eabfb5f7bfbd6"));
	kt_resp_free(&r);
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_DECRYPT, .uid = id256, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_NONE, .data = "f58c4c04d6e5f1ba779eabfb5f7bfbd6",
			   .iv = "000102030405060708090a0b0c0d0e0f"},
	      &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA, "6bc1bee22e409f96e93d7e117393172a"));
	kt_resp_free(&r);
	/* no padding: the data must be whole blocks */
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id256, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_NONE, .data = "6bc1bee22e409f96e93d7e11739317",
			   .iv = "000102030405060708090a0b0c0d0e0f"},
	      &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_FIELD));
	kt_resp_free(&r);
	/* a CBC IV is 16 bytes, IV Length 128 bits */
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id256, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .data = "00", .iv = "000102030405060708090a0b"},
	      &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_FIELD));
	kt_resp_free(&r);
}

/* AES-GCM: OASIS CS-BC-M-GCM-1-14 (McGrew-Viega test case 2) both ways,
 * its tampered tag, IV and data (Cryptographic Failure, a message that
 * says nothing of which), its truncated 12-byte tag (a success) and its
 * Tag Lengths 1 and 32 (General Failure); AES-256-GCM with additional data
 * from pyca/cryptography's AESGCM. */
static void test_gcm_known_answer(void)
{
	char id[STORE_ID_MAX + 1], id256[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(put_key(&kt_alice, "00000000000000000000000000000000", 12, false, id));
	struct kt_resp r;
	struct cq e = {.op = KMIP_OPERATION_ENCRYPT, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_GCM,
		       .tag_length = 16, .data = "00000000000000000000000000000000", .iv = "000000000000000000000000"};
	crypt(&kt_alice, &e, &r);
	if (keygen_fips_mode()) {
		/* FIPS mode: the module makes every GCM IV (SP 800-38D §8.2); the
		 * known answer of this direction runs on the default provider
		 * (CRYPTO_SUITES), the Decrypt one below in both */
		CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_FIELD));
		CU_ASSERT(message_has(kt_first(&r), "FIPS"));
	} else {
		CU_ASSERT(out_is(&r, KMIP_TAG_DATA, "0388dace60b6a392f328c2b971b2fe78"));
		CU_ASSERT(out_is(&r, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG, "ab6e47d42cec13bdf53a67b21257bddf"));
	}
	kt_resp_free(&r);

	struct cq d = {.op = KMIP_OPERATION_DECRYPT, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_GCM,
		       .tag_length = 16, .data = "0388dace60b6a392f328c2b971b2fe78", .iv = "000000000000000000000000",
		       .tag = "ab6e47d42cec13bdf53a67b21257bddf"};
	crypt(&kt_alice, &d, &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA, "00000000000000000000000000000000"));
	kt_resp_free(&r);

	struct cq bad[3] = {d, d, d};
	bad[0].tag = "006e47d42cec13bdf53a67b21257bddf";
	bad[1].iv = "ff0000000000000000000000";
	bad[2].data = "ff88dace60b6a392f328c2b971b2fe78";
	for (size_t i = 0; i < 3; i++) {
		crypt(&kt_alice, &bad[i], &r);
		CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE));
		CU_ASSERT_PTR_NULL(kt_payload(kt_first(&r)));
		CU_ASSERT(!message_has(kt_first(&r), "tag") && !message_has(kt_first(&r), "pad"));
		kt_resp_free(&r);
	}
	struct cq trunc = d;
	trunc.tag_length = 12;
	trunc.tag = "ab6e47d42cec13bdf53a67b2";
	crypt(&kt_alice, &trunc, &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA, "00000000000000000000000000000000"));
	kt_resp_free(&r);
	/* a tag that is not Tag Length long */
	trunc.tag_length = 16;
	crypt(&kt_alice, &trunc, &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_FIELD));
	kt_resp_free(&r);
	for (int32_t tl = 1; tl <= 32; tl += 31) {
		struct cq odd = e;
		odd.tag_length = tl;
		crypt(&kt_alice, &odd, &r);
		CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_GENERAL_FAILURE));
		kt_resp_free(&r);
	}
	/* GCM Decrypt without the tag */
	struct cq notag = d;
	notag.tag = NULL;
	crypt(&kt_alice, &notag, &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_MESSAGE));
	kt_resp_free(&r);

	/* AES-256-GCM, AAD "fount aad": AESGCM(bytes(range(32))).encrypt(
	 * cafebabefacedbaddecaf888, b"mongod audit record 0001", b"fount aad") */
	CU_ASSERT_FATAL(put_key(&kt_alice, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 12, false,
				id256));
	struct cq e2 = {.op = KMIP_OPERATION_ENCRYPT, .uid = id256, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_GCM,
			.tag_length = 16, .data = "6d6f6e676f6420617564697420726563" "6f72642030303031",
			.iv = "cafebabefacedbaddecaf888", .aad = "666f756e7420616164"};
	crypt(&kt_alice, &e2, &r);
	if (keygen_fips_mode()) {
		CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_FIELD));
	} else {
		CU_ASSERT(out_is(&r, KMIP_TAG_DATA, "e7ccce41c51e6f7a336f34a95b6fec5c6252a471ef295a45"));
		CU_ASSERT(out_is(&r, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG, "226db909a60acf9e05df160d4a1b983f"));
	}
	kt_resp_free(&r);
	struct cq d2 = {.op = KMIP_OPERATION_DECRYPT, .uid = id256, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_GCM,
			.data = "e7ccce41c51e6f7a336f34a95b6fec5c6252a471ef295a45", .iv = "cafebabefacedbaddecaf888",
			.aad = "666f756e7420616164", .tag = "226db909a60acf9e05df160d4a1b983f"};
	crypt(&kt_alice, &d2, &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA, "6d6f6e676f6420617564697420726563" "6f72642030303031"));
	kt_resp_free(&r);
	/* other additional data: the tag no longer matches */
	d2.aad = "666f756e7420616165";
	crypt(&kt_alice, &d2, &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE));
	kt_resp_free(&r);
	/* GCM has no tag before KMIP 1.4 */
	e2.minor = 3;
	crypt(&kt_alice, &e2, &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED));
	kt_resp_free(&r);
}

/* ref_cbc_decrypt decrypts with OpenSSL's default provider straight (not
 * fount's library context): the check of what fount made with its key */
static bool ref_cbc_decrypt(const uint8_t *key, size_t key_len, const struct ttlv_item *iv,
			    const struct ttlv_item *ct, const uint8_t *want, size_t want_len)
{
	const EVP_CIPHER *c = key_len == 32 ? EVP_aes_256_cbc() : key_len == 24 ? EVP_aes_192_cbc() : EVP_aes_128_cbc();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t out[256];
	int n = 0, m = 0;
	bool ok = ctx != NULL && iv != NULL && ct != NULL && ct->len <= sizeof out && iv->len == 16 &&
		  EVP_DecryptInit_ex(ctx, c, NULL, key, iv->val) == 1 &&
		  EVP_DecryptUpdate(ctx, out, &n, ct->val, (int)ct->len) == 1 && EVP_DecryptFinal_ex(ctx, out + n, &m) == 1 &&
		  (size_t)(n + m) == want_len && memcmp(out, want, want_len) == 0;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* get_key reads a key's bytes through KMIP Get */
static size_t get_key(const char *id, uint8_t out[32])
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 2, 1);
	kt_item(&q, KMIP_OPERATION_GET);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	const struct ttlv_item *km = ttlv_find(
		ttlv_find(ttlv_find(ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK),
			  KMIP_TAG_KEY_VALUE),
		KMIP_TAG_KEY_MATERIAL);
	size_t n = 0;
	if (km != NULL && km->len <= 32) {
		memcpy(out, km->val, km->len);
		n = km->len;
	}
	kt_resp_free(&r);
	return n;
}

/* mongod's audit log (kmip-clients §2): a 1.2 Encrypt with UID + Data and
 * no Cryptographic Parameters on a key created without any. fount uses
 * its default, AES-CBC with PKCS5 and a random IV, and returns the IV; a
 * reference AES-CBC decrypts the answer. Decrypt gets UID + Data + IV. */
static void test_mongod_audit_no_parameters(void)
{
	char id[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(create_key(&kt_alice, 256, 12, NULL, id));
	const char *pt_hex = "7b2261746f6d6963223a207b22747322"; /* {"atomic": {"ts" */
	uint8_t pt[16];
	for (size_t i = 0; i < 16; i++)
		sscanf(pt_hex + 2 * i, "%2hhx", &pt[i]);
	uint64_t before = accesses(id);
	struct kt_resp r;
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .minor = 2, .uid = id, .data = pt_hex}, &r);
	CU_ASSERT_EQUAL_FATAL(kt_status(kt_first(&r)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *p = kt_payload(kt_first(&r));
	const struct ttlv_item *ct = ttlv_find(p, KMIP_TAG_DATA), *iv = ttlv_find(p, KMIP_TAG_IV_COUNTER_NONCE);
	CU_ASSERT(ct != NULL && ct->len == 32); /* a whole block of PKCS5 padding */
	CU_ASSERT(iv != NULL && iv->len == 16);
	CU_ASSERT_PTR_NULL(ttlv_find(p, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG));
	uint8_t key[32];
	CU_ASSERT_EQUAL_FATAL(get_key(id, key), 32);
	CU_ASSERT(ref_cbc_decrypt(key, 32, iv, ct, pt, sizeof pt));
	secure_zero(key, sizeof key);
	/* Decrypt: UID + Data + IV, still no parameters */
	char ct_hex[2 * 32 + 1], iv_hex[2 * 16 + 1];
	for (size_t i = 0; i < ct->len && i < 32; i++)
		snprintf(ct_hex + 2 * i, 3, "%02x", ct->val[i]);
	for (size_t i = 0; i < iv->len && i < 16; i++)
		snprintf(iv_hex + 2 * i, 3, "%02x", iv->val[i]);
	kt_resp_free(&r);
	struct kt_resp d;
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_DECRYPT, .minor = 2, .uid = id, .data = ct_hex, .iv = iv_hex},
	      &d);
	CU_ASSERT(out_is(&d, KMIP_TAG_DATA, pt_hex));
	kt_resp_free(&d);
	/* one record per Encrypt, Get and Decrypt */
	CU_ASSERT_EQUAL(accesses(id), before + 3);
	/* and the IV is fresh each time */
	struct kt_resp r2, r3;
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .minor = 2, .uid = id, .data = pt_hex}, &r2);
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .minor = 2, .uid = id, .data = pt_hex}, &r3);
	const struct ttlv_item *iv2 = ttlv_find(kt_payload(kt_first(&r2)), KMIP_TAG_IV_COUNTER_NONCE);
	const struct ttlv_item *iv3 = ttlv_find(kt_payload(kt_first(&r3)), KMIP_TAG_IV_COUNTER_NONCE);
	CU_ASSERT(iv2 != NULL && iv3 != NULL && iv2->len == 16 && iv3->len == 16 && memcmp(iv2->val, iv3->val, 16) != 0);
	kt_resp_free(&r2);
	kt_resp_free(&r3);
}

/* libmongocrypt `delegated` (kmip-clients §3): 1.2 header, Create AES-256
 * mask 12, Activate, Encrypt {CBC, PKCS5, AES, Random IV true} answered
 * with Data and an IV of exactly 16 bytes; Decrypt {CBC, PKCS5, AES} + IV. */
static void test_libmongocrypt_delegated(void)
{
	char id[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(create_key(&kt_alice, 256, 12, NULL, id));
	/* a 96-byte data key, as libmongocrypt encrypts */
	char dek[2 * 96 + 1];
	for (size_t i = 0; i < 96; i++)
		snprintf(dek + 2 * i, 3, "%02x", (unsigned)(i * 7 + 3) & 0xFF);
	struct kt_resp r;
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .minor = 2, .uid = id, .params = true,
			   .mode = KMIP_BLOCK_CIPHER_MODE_CBC, .padding = KMIP_PADDING_METHOD_PKCS5,
			   .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, .random_iv = 1, .data = dek},
	      &r);
	CU_ASSERT_EQUAL_FATAL(kt_status(kt_first(&r)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *ct = ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_DATA);
	const struct ttlv_item *iv = ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_IV_COUNTER_NONCE);
	CU_ASSERT_FATAL(ct != NULL && ct->len == 112 && iv != NULL && iv->len == 16);
	uint8_t key[32];
	uint8_t want[96];
	for (size_t i = 0; i < 96; i++)
		want[i] = (uint8_t)(i * 7 + 3);
	CU_ASSERT_EQUAL_FATAL(get_key(id, key), 32);
	CU_ASSERT(ref_cbc_decrypt(key, 32, iv, ct, want, sizeof want));
	secure_zero(key, sizeof key);
	char ct_hex[2 * 112 + 1], iv_hex[2 * 16 + 1];
	for (size_t i = 0; i < 112; i++)
		snprintf(ct_hex + 2 * i, 3, "%02x", ct->val[i]);
	for (size_t i = 0; i < 16; i++)
		snprintf(iv_hex + 2 * i, 3, "%02x", iv->val[i]);
	kt_resp_free(&r);
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_DECRYPT, .minor = 2, .uid = id, .params = true,
			   .mode = KMIP_BLOCK_CIPHER_MODE_CBC, .padding = KMIP_PADDING_METHOD_PKCS5,
			   .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, .data = ct_hex, .iv = iv_hex},
	      &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA, dek));
	kt_resp_free(&r);
	/* Random IV with an IV of the client's is a contradiction */
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .minor = 2, .uid = id, .params = true,
			   .mode = KMIP_BLOCK_CIPHER_MODE_CBC, .random_iv = 1, .data = "00", .iv = OASIS_IV},
	      &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_FIELD));
	kt_resp_free(&r);
	/* another algorithm than the key's */
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id, .params = true,
			   .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_V3DES, .data = "00"},
	      &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED));
	kt_resp_free(&r);
}

/* The key's own Cryptographic Parameters attribute applies when the
 * request has none (§4.29): a GCM key with Random IV gives a 12-byte IV and
 * a 16-byte tag, and decrypts with IV and tag alone; OASIS CS-BC-M-13-14's
 * CBC key with Random IV answers a plain Encrypt with its IV. */
static void test_key_parameters_attribute(void)
{
	char gcm[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(create_key(&kt_alice, 128, 12, &(struct attr_params){KMIP_BLOCK_CIPHER_MODE_GCM, 16, true}, gcm));
	struct kt_resp r;
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = gcm, .data = "0102030405"}, &r);
	CU_ASSERT_EQUAL_FATAL(kt_status(kt_first(&r)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *p = kt_payload(kt_first(&r));
	const struct ttlv_item *ct = ttlv_find(p, KMIP_TAG_DATA), *iv = ttlv_find(p, KMIP_TAG_IV_COUNTER_NONCE),
			       *tag = ttlv_find(p, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG);
	CU_ASSERT_FATAL(ct != NULL && ct->len == 5 && iv != NULL && iv->len == 12 && tag != NULL && tag->len == 16);
	/* the order of §4.29's response table */
	CU_ASSERT(p->child->tag == KMIP_TAG_UNIQUE_IDENTIFIER && p->child->next == ct && ct->next == iv && iv->next == tag);
	char ct_hex[11], iv_hex[25], tag_hex[33];
	for (size_t i = 0; i < 5; i++)
		snprintf(ct_hex + 2 * i, 3, "%02x", ct->val[i]);
	for (size_t i = 0; i < 12; i++)
		snprintf(iv_hex + 2 * i, 3, "%02x", iv->val[i]);
	for (size_t i = 0; i < 16; i++)
		snprintf(tag_hex + 2 * i, 3, "%02x", tag->val[i]);
	kt_resp_free(&r);
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_DECRYPT, .uid = gcm, .data = ct_hex, .iv = iv_hex, .tag = tag_hex},
	      &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA, "0102030405"));
	kt_resp_free(&r);

	char cbc[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(create_key(&kt_alice, 128, 12, &(struct attr_params){KMIP_BLOCK_CIPHER_MODE_CBC, 0, true}, cbc));
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = cbc, .data = OASIS_PT}, &r);
	CU_ASSERT_EQUAL(kt_status(kt_first(&r)), KMIP_RESULT_STATUS_SUCCESS);
	iv = ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_IV_COUNTER_NONCE);
	CU_ASSERT(iv != NULL && iv->len == 16);
	CU_ASSERT_PTR_NULL(ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG));
	kt_resp_free(&r);
	/* CS-BC-M-13-14: Decrypt without the IV is Invalid Message */
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_DECRYPT, .uid = cbc, .data = OASIS_CT}, &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_MESSAGE));
	kt_resp_free(&r);
	/* CS-BC-M-12-14's other half: parameters without Random IV and no IV */
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = cbc, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_PKCS5, .data = OASIS_PT},
	      &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_MESSAGE));
	kt_resp_free(&r);
}

/* expect runs an Encrypt (or Decrypt) of one block on |id| for |p| and
 * checks it fails with |why| */
static void expect_refused(const struct kmip_peer *p, uint32_t op, const char *id, uint32_t why)
{
	struct kt_resp r;
	crypt(p,
	      &(struct cq){.op = op, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_PKCS5, .data = OASIS_CT, .iv = OASIS_IV},
	      &r);
	CU_ASSERT(fails_with(&r, why));
	CU_ASSERT_PTR_NULL(kt_payload(kt_first(&r)));
	kt_resp_free(&r);
}

static void expect_ok(const struct kmip_peer *p, uint32_t op, const char *id)
{
	struct kt_resp r;
	crypt(p,
	      &(struct cq){.op = op, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_PKCS5, .data = OASIS_CT, .iv = OASIS_IV},
	      &r);
	CU_ASSERT_EQUAL(kt_status(kt_first(&r)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);
}

static void revoke(const char *id, uint32_t code)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_revoke_item(&q, id, code);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_first(&r)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);
}

/* Who and what may use a key (§3.22, §3.19, §11.30-11.31): the usage mask
 * bit, the state (Pre-Active none, Active both, Deactivated Decrypt only,
 * Compromised and Destroyed none), another tenant (Item Not Found), a key
 * that is not AES; a refused use leaves no access record. */
static void test_refusals(void)
{
	char enc_only[STORE_ID_MAX + 1], dec_only[STORE_ID_MAX + 1], pre[STORE_ID_MAX + 1], life[STORE_ID_MAX + 1],
		comp[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(put_key(&kt_alice, OASIS_KEY, 4, false, enc_only));
	CU_ASSERT_FATAL(put_key(&kt_alice, OASIS_KEY, 8, false, dec_only));
	CU_ASSERT_FATAL(put_key(&kt_alice, OASIS_KEY, 12, true, pre));
	CU_ASSERT_FATAL(put_key(&kt_alice, OASIS_KEY, 12, false, life));
	CU_ASSERT_FATAL(put_key(&kt_alice, OASIS_KEY, 12, false, comp));

	expect_ok(&kt_alice, KMIP_OPERATION_ENCRYPT, enc_only);
	expect_refused(&kt_alice, KMIP_OPERATION_DECRYPT, enc_only, KMIP_RESULT_REASON_PERMISSION_DENIED);
	expect_ok(&kt_alice, KMIP_OPERATION_DECRYPT, dec_only);
	expect_refused(&kt_alice, KMIP_OPERATION_ENCRYPT, dec_only, KMIP_RESULT_REASON_PERMISSION_DENIED);
	uint64_t n = accesses(enc_only);
	expect_refused(&kt_alice, KMIP_OPERATION_DECRYPT, enc_only, KMIP_RESULT_REASON_PERMISSION_DENIED);
	CU_ASSERT_EQUAL(accesses(enc_only), n);

	/* Pre-Active: not for any cryptographic purpose */
	expect_refused(&kt_alice, KMIP_OPERATION_ENCRYPT, pre, KMIP_RESULT_REASON_PERMISSION_DENIED);
	expect_refused(&kt_alice, KMIP_OPERATION_DECRYPT, pre, KMIP_RESULT_REASON_PERMISSION_DENIED);
	CU_ASSERT_EQUAL(accesses(pre), 0);

	/* another tenant's key is not found, exactly as an unknown one */
	expect_refused(&kt_bob, KMIP_OPERATION_ENCRYPT, life, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	expect_refused(&kt_bob, KMIP_OPERATION_DECRYPT, life, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	expect_refused(&kt_alice, KMIP_OPERATION_ENCRYPT, "no-such-key", KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	struct kt_resp r;
	crypt(&kt_bob,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = life, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .data = "00", .iv = OASIS_IV},
	      &r);
	CU_ASSERT(message_has(kt_first(&r), "no object"));
	kt_resp_free(&r);

	/* Deactivated: processes (Decrypt) but does not protect (Encrypt) */
	revoke(life, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION);
	expect_refused(&kt_alice, KMIP_OPERATION_ENCRYPT, life, KMIP_RESULT_REASON_PERMISSION_DENIED);
	expect_ok(&kt_alice, KMIP_OPERATION_DECRYPT, life);
	/* Compromised: neither */
	revoke(comp, KMIP_REVOCATION_REASON_CODE_KEY_COMPROMISE);
	expect_refused(&kt_alice, KMIP_OPERATION_ENCRYPT, comp, KMIP_RESULT_REASON_PERMISSION_DENIED);
	expect_refused(&kt_alice, KMIP_OPERATION_DECRYPT, comp, KMIP_RESULT_REASON_PERMISSION_DENIED);
	/* Destroyed: neither */
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_DESTROY);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, life);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_first(&r)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);
	n = accesses(life);
	expect_refused(&kt_alice, KMIP_OPERATION_DECRYPT, life, KMIP_RESULT_REASON_PERMISSION_DENIED);
	expect_refused(&kt_alice, KMIP_OPERATION_ENCRYPT, life, KMIP_RESULT_REASON_PERMISSION_DENIED);
	CU_ASSERT_EQUAL(accesses(life), n);

	/* an HMAC key is not for encryption */
	struct ops_new_key k = {.alg = STORE_ALG_HMAC_SHA256, .length = 256, .usage_mask = 12,
				.activation_date = (int64_t)time(NULL) - 60};
	char hmac[STORE_ID_MAX + 1];
	EXPECT_OK(ops_create_symmetric(&kt_alice, &k, hmac));
	expect_refused(&kt_alice, KMIP_OPERATION_ENCRYPT, hmac, KMIP_RESULT_REASON_PERMISSION_DENIED);

	/* a Protect Stop Date in the past ends Encrypt, not Decrypt (§3.26) */
	struct store_attr stop;
	store_attr_int(&stop, "Protect Stop Date", 0, STORE_V_DATE_TIME, (int64_t)time(NULL) - 10);
	struct ops_new_key ks = {.alg = STORE_ALG_AES, .length = 128, .usage_mask = 12,
				 .activation_date = (int64_t)time(NULL) - 60, .attrs = &stop, .n_attrs = 1};
	char stopped[STORE_ID_MAX + 1];
	size_t kl = 0;
	uint8_t *kb = testlib_hex(OASIS_KEY, &kl);
	EXPECT_OK(ops_register(&kt_alice, &ks, STORE_OBJ_SYMMETRIC_KEY, STORE_FMT_RAW, kb, kl, stopped));
	free(kb);
	expect_refused(&kt_alice, KMIP_OPERATION_ENCRYPT, stopped, KMIP_RESULT_REASON_PERMISSION_DENIED);
	expect_ok(&kt_alice, KMIP_OPERATION_DECRYPT, stopped);
}

/* A bad PKCS5 padding is Cryptographic Failure with the same message as a
 * bad tag; ciphertext that is not whole blocks is Invalid Field. */
static void test_bad_padding(void)
{
	char id[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(put_key(&kt_alice, OASIS_KEY, 12, false, id));
	/* a block whose plaintext ends in 0x00, made without padding: as
	 * PKCS5 it cannot be valid */
	struct kt_resp r;
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_NONE, .data = "00000000000000000000000000000000", .iv = OASIS_IV},
	      &r);
	const struct ttlv_item *ct = ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_DATA);
	CU_ASSERT_FATAL(ct != NULL && ct->len == 16);
	char ct_hex[33];
	for (size_t i = 0; i < 16; i++)
		snprintf(ct_hex + 2 * i, 3, "%02x", ct->val[i]);
	kt_resp_free(&r);
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_DECRYPT, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_PKCS5, .data = ct_hex, .iv = OASIS_IV},
	      &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE));
	CU_ASSERT(message_has(kt_first(&r), "the data could not be decrypted"));
	CU_ASSERT_PTR_NULL(kt_payload(kt_first(&r)));
	kt_resp_free(&r);
	/* and the same block decrypts without padding */
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_DECRYPT, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_NONE, .data = ct_hex, .iv = OASIS_IV},
	      &r);
	CU_ASSERT(out_is(&r, KMIP_TAG_DATA, "00000000000000000000000000000000"));
	kt_resp_free(&r);
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_DECRYPT, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_PKCS5, .data = "0102030405", .iv = OASIS_IV},
	      &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_FIELD));
	kt_resp_free(&r);
	/* modes and paddings fount does not do */
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_ECB,
			   .data = "00"},
	      &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED));
	kt_resp_free(&r);
	crypt(&kt_alice,
	      &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id, .params = true, .mode = KMIP_BLOCK_CIPHER_MODE_CBC,
			   .padding = KMIP_PADDING_METHOD_OAEP, .data = "00", .iv = OASIS_IV},
	      &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED));
	kt_resp_free(&r);
}

/* Data larger than fount takes at once is Invalid Field; an answer larger
 * than the Maximum Response Size is Response Too Large; streaming is Feature
 * Not Supported; Encrypt is a KMIP 1.2 operation. */
static void test_limits_and_streaming(void)
{
	char id[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(put_key(&kt_alice, OASIS_KEY, 12, false, id));
	size_t big = KEYGEN_AEAD_MAX_INPUT + 1;
	char *hex = malloc(2 * big + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hex);
	memset(hex, '0', 2 * big);
	hex[2 * big] = '\0';
	struct kt_resp r;
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id, .data = hex}, &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_FIELD));
	kt_resp_free(&r);
	hex[2 * 4096] = '\0';
	uint64_t n = accesses(id);
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id, .data = hex, .max_response = 2048}, &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_RESPONSE_TOO_LARGE));
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(accesses(id), n);
	/* the same 4096 bytes fit a larger response */
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id, .data = hex, .max_response = 8192}, &r);
	CU_ASSERT_EQUAL(kt_status(kt_first(&r)), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_DATA)->len, 4096 + 16);
	kt_resp_free(&r);
	free(hex);

	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id, .data = "00", .correlation = true}, &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED));
	kt_resp_free(&r);
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_DECRYPT, .uid = id, .data = OASIS_CT, .iv = OASIS_IV, .init = true},
	      &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED));
	kt_resp_free(&r);
	/* no Data */
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .uid = id}, &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_INVALID_MESSAGE));
	kt_resp_free(&r);
	/* KMIP 1.1 has no Encrypt */
	crypt(&kt_alice, &(struct cq){.op = KMIP_OPERATION_ENCRYPT, .minor = 1, .uid = id, .data = "00"}, &r);
	CU_ASSERT(fails_with(&r, KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED));
	kt_resp_free(&r);
}

/* ---- Query ------------------------------------------------------------------------ */

static void query(int minor, const uint32_t *functions, size_t n, struct kt_resp *r)
{
	struct kt_req q;
	kt_begin(&q, minor, 1);
	kt_item(&q, KMIP_OPERATION_QUERY);
	for (size_t i = 0; i < n; i++)
		ttlv_enc_enum(&q.e, KMIP_TAG_QUERY_FUNCTION, functions[i]);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, r);
	CU_ASSERT_EQUAL(kt_status(kt_first(r)), KMIP_RESULT_STATUS_SUCCESS);
}

static bool listed(const struct ttlv_item *pay, uint32_t tag, uint32_t v)
{
	for (const struct ttlv_item *it = ttlv_find(pay, tag); it != NULL; it = ttlv_find_next(it))
		if (it->u == v)
			return true;
	return false;
}

/* supported: every operation and object type of |p| is in Query
 * Operations and Query Objects at KMIP 1.|v| */
static bool supported(const struct kmip_profile *p, int v)
{
	static const uint32_t f[] = {KMIP_QUERY_FUNCTION_QUERY_OPERATIONS, KMIP_QUERY_FUNCTION_QUERY_OBJECTS};
	struct kt_resp r;
	query(v, f, ARRAY_SIZE(f), &r);
	const struct ttlv_item *pay = kt_payload(kt_first(&r));
	bool all = true;
	for (size_t k = 0; k < p->n_ops; k++)
		all = all && listed(pay, KMIP_TAG_OPERATION, p->ops[k]);
	for (size_t k = 0; k < p->n_objects; k++)
		all = all && listed(pay, KMIP_TAG_OBJECT_TYPE, p->objects[k]);
	kt_resp_free(&r);
	return all;
}

/* The rule: Query Profiles (1.3+) lists the version-v name of a profile
 * (v up to the request's) exactly when every operation it needs is in
 * Query Operations at v, every object type in Query Objects, and nothing
 * else is known to be missing; never before 1.3. */
static bool never(void)
{
	return false;
}

static bool always(void)
{
	return true;
}

static void test_query_profiles_rule(void)
{
	static const uint32_t f[] = {KMIP_QUERY_FUNCTION_QUERY_PROFILES};
	const struct kmip_profile *profiles;
	size_t n = kmip_profiles(&profiles);
	CU_ASSERT(n >= 5);
	for (int minor = 2; minor <= 4; minor++) {
		struct kt_resp r;
		query(minor, f, ARRAY_SIZE(f), &r);
		const struct ttlv_item *pay = kt_payload(kt_first(&r));
		size_t want = 0;
		for (size_t i = 0; i < n; i++) {
			const struct kmip_profile *p = &profiles[i];
			for (int v = 2; v <= 4; v++) {
				bool claim = minor >= 3 && v <= minor && p->names[v] != 0 && p->lacks == NULL &&
					     (p->available == NULL || p->available()) && supported(p, v);
				bool shown = false;
				for (const struct ttlv_item *pi = ttlv_find(pay, KMIP_TAG_PROFILE_INFORMATION); pi != NULL;
				     pi = ttlv_find_next(pi))
					shown = shown || ttlv_find(pi, KMIP_TAG_PROFILE_NAME)->u == p->names[v];
				CU_ASSERT_EQUAL(shown, claim);
				want += claim;
			}
		}
		CU_ASSERT_EQUAL(ttlv_count(pay, KMIP_TAG_PROFILE_INFORMATION), want);
		kt_resp_free(&r);
	}
	/* with the Baseline Server's attributes kept (KMIP Profiles 1.4 §5.1:
	 * Fresh, Key Value Present, Sensitive, Always Sensitive, Extractable,
	 * Never Extractable), the Baseline and RNG Cryptographic Servers are
	 * claimed at 1.2-1.4 (kmip.md §8: the claim set); the Symmetric Key
	 * Lifecycle Server only where 3DES is offered (not in FIPS mode); the
	 * cryptographic servers not (no ECB) */
	{
		struct kt_resp r;
		query(4, f, ARRAY_SIZE(f), &r);
		const struct ttlv_item *pay = kt_payload(kt_first(&r));
		CU_ASSERT_EQUAL(kt_status(kt_first(&r)), KMIP_RESULT_STATUS_SUCCESS);
		/* KMIP 1.4 §9.1.3.2.42, Profile Name values */
		static const struct {
			uint32_t name;
			bool want;
		} names[] = {
			{0x56, true}, {0x7A, true},  /* Baseline Server TLS v1.2, 1.3 and 1.4 */
			{0x66, true}, {0x8A, true},  /* RNG Cryptographic Server, 1.3 and 1.4 */
			{0x86, false}, {0x62, false}, /* Basic Cryptographic Server */
		};
		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			bool shown = false;
			for (const struct ttlv_item *pi = ttlv_find(pay, KMIP_TAG_PROFILE_INFORMATION); pi != NULL;
			     pi = ttlv_find_next(pi))
				shown = shown || ttlv_find(pi, KMIP_TAG_PROFILE_NAME)->u == names[i].name;
			CU_ASSERT_EQUAL(shown, names[i].want);
		}
		bool sklc = false;
		for (const struct ttlv_item *pi = ttlv_find(pay, KMIP_TAG_PROFILE_INFORMATION); pi != NULL;
		     pi = ttlv_find_next(pi))
			sklc = sklc || ttlv_find(pi, KMIP_TAG_PROFILE_NAME)->u == 0x82;
		CU_ASSERT_EQUAL(sklc, keygen_tdea_available());
		CU_ASSERT_EQUAL(sklc, !keygen_fips_mode());
		kt_resp_free(&r);
	}
	/* the rule itself, on made-up profiles */
	static const uint32_t query_only[] = {KMIP_OPERATION_QUERY, KMIP_OPERATION_ENCRYPT};
	static const uint32_t sign[] = {KMIP_OPERATION_QUERY, KMIP_OPERATION_SIGN};
	static const uint32_t sym[] = {KMIP_OBJECT_TYPE_SYMMETRIC_KEY}, priv[] = {KMIP_OBJECT_TYPE_SPLIT_KEY};
	struct kmip_profile t = {.family = "test", .names = {0, 0, 0, 0, 0x86}, .ops = query_only, .n_ops = 2,
				 .objects = sym, .n_objects = 1};
	CU_ASSERT(kmip_profile_claimed(&t, 4));
	CU_ASSERT(!kmip_profile_claimed(&t, 3));  /* no name at 1.3 */
	t.names[1] = 0x1A;
	CU_ASSERT(!kmip_profile_claimed(&t, 1));  /* Encrypt is 1.2 */
	t.ops = sign;
	CU_ASSERT(!kmip_profile_claimed(&t, 4));  /* no Sign */
	t.ops = query_only;
	t.objects = priv;
	CU_ASSERT(!kmip_profile_claimed(&t, 4));  /* no Split Keys */
	t.objects = sym;
	t.lacks = "something";
	CU_ASSERT(!kmip_profile_claimed(&t, 4));
	t.lacks = NULL;
	t.available = never;
	CU_ASSERT(!kmip_profile_claimed(&t, 4)); /* a service this process does not offer */
	t.available = always;
	CU_ASSERT(kmip_profile_claimed(&t, 4));
	CU_ASSERT(!kmip_profile_claimed(&t, 9));
}

/* Server Information, extensions, capabilities, registration methods
 * (OASIS TC-Q-CAP-1-14, TC-Q-CREG-1-14 shapes); the functions fount has
 * nothing for answer nothing (Application Namespaces, Attestation Types,
 * Validations: TC-Q-VAL may be empty, §4.25). */
static void test_query_functions(void)
{
	struct kt_resp r;
	static const uint32_t info[] = {KMIP_QUERY_FUNCTION_QUERY_SERVER_INFORMATION,
					KMIP_QUERY_FUNCTION_QUERY_EXTENSION_LIST};
	query(4, info, 2, &r);
	const struct ttlv_item *pay = kt_payload(kt_first(&r));
	const struct ttlv_item *vi = ttlv_find(pay, KMIP_TAG_VENDOR_IDENTIFICATION);
	CU_ASSERT(vi != NULL && vi->len == 5 && memcmp(vi->val, "fount", 5) == 0);
	const struct ttlv_item *si = ttlv_find(pay, KMIP_TAG_SERVER_INFORMATION);
	CU_ASSERT_FATAL(si != NULL && vi->next == si && si->child != NULL);
	CU_ASSERT(si->child->tag == 0x540001 && si->child->type == TTLV_TEXT && si->child->len == strlen(FOUNT_VERSION) &&
		  memcmp(si->child->val, FOUNT_VERSION, si->child->len) == 0);
	const struct ttlv_item *ei = ttlv_find(pay, KMIP_TAG_EXTENSION_INFORMATION);
	CU_ASSERT_FATAL(ei != NULL && si->next == ei);
	CU_ASSERT_PTR_NOT_NULL(ttlv_find(ei, KMIP_TAG_EXTENSION_NAME));
	CU_ASSERT_PTR_NULL(ttlv_find(ei, KMIP_TAG_EXTENSION_TAG)); /* the List names only */
	kt_resp_free(&r);
	static const uint32_t map[] = {KMIP_QUERY_FUNCTION_QUERY_EXTENSION_LIST, KMIP_QUERY_FUNCTION_QUERY_EXTENSION_MAP};
	query(4, map, 2, &r);
	pay = kt_payload(kt_first(&r));
	CU_ASSERT_EQUAL(ttlv_count(pay, KMIP_TAG_EXTENSION_INFORMATION), 2);
	ei = ttlv_find(pay, KMIP_TAG_EXTENSION_INFORMATION);
	CU_ASSERT(ei != NULL && ttlv_int(ttlv_find(ei, KMIP_TAG_EXTENSION_TAG)) == 0x540001 &&
		  ttlv_int(ttlv_find(ei, KMIP_TAG_EXTENSION_TYPE)) == TTLV_TEXT);
	ei = ttlv_find_next(ei);
	CU_ASSERT(ei != NULL && ttlv_int(ttlv_find(ei, KMIP_TAG_EXTENSION_TAG)) == 0x540002 &&
		  ttlv_int(ttlv_find(ei, KMIP_TAG_EXTENSION_TYPE)) == TTLV_TEXT);
	kt_resp_free(&r);
	/* KMIP 1.0 has no Extension Information */
	query(0, map, 2, &r);
	CU_ASSERT_PTR_NULL(kt_payload(kt_first(&r))->child);
	kt_resp_free(&r);

	static const uint32_t cap[] = {KMIP_QUERY_FUNCTION_QUERY_CAPABILITIES,
				       KMIP_QUERY_FUNCTION_QUERY_CLIENT_REGISTRATION_METHODS};
	query(4, cap, 2, &r);
	pay = kt_payload(kt_first(&r));
	const struct ttlv_item *ci = ttlv_find(pay, KMIP_TAG_CAPABILITY_INFORMATION);
	CU_ASSERT_FATAL(ci != NULL);
	static const uint32_t order[] = {KMIP_TAG_STREAMING_CAPABILITY, KMIP_TAG_ASYNCHRONOUS_CAPABILITY,
					 KMIP_TAG_ATTESTATION_CAPABILITY, KMIP_TAG_BATCH_UNDO_CAPABILITY,
					 KMIP_TAG_BATCH_CONTINUE_CAPABILITY, KMIP_TAG_UNWRAP_MODE,
					 KMIP_TAG_DESTROY_ACTION, KMIP_TAG_SHREDDING_ALGORITHM, KMIP_TAG_RNG_MODE};
	const struct ttlv_item *c = ci->child;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++, c = c != NULL ? c->next : NULL)
		CU_ASSERT(c != NULL && c->tag == order[i]);
	CU_ASSERT_EQUAL(ttlv_find(ci, KMIP_TAG_STREAMING_CAPABILITY)->u, 0); /* Encrypt refuses streaming */
	CU_ASSERT_EQUAL(ttlv_find(ci, KMIP_TAG_DESTROY_ACTION)->u, KMIP_DESTROY_ACTION_KEY_MATERIAL_SHREDDED);
	CU_ASSERT_EQUAL(ttlv_count(pay, KMIP_TAG_CLIENT_REGISTRATION_METHOD), 3);
	CU_ASSERT(listed(pay, KMIP_TAG_CLIENT_REGISTRATION_METHOD, KMIP_CLIENT_REGISTRATION_METHOD_CLIENT_GENERATED));
	CU_ASSERT(ci->next != NULL && ci->next->tag == KMIP_TAG_CLIENT_REGISTRATION_METHOD);
	kt_resp_free(&r);

	static const uint32_t none[] = {KMIP_QUERY_FUNCTION_QUERY_APPLICATION_NAMESPACES,
					KMIP_QUERY_FUNCTION_QUERY_ATTESTATION_TYPES, KMIP_QUERY_FUNCTION_QUERY_VALIDATIONS};
	query(4, none, 3, &r);
	CU_ASSERT_PTR_NULL(kt_payload(kt_first(&r))->child);
	kt_resp_free(&r);
	/* Encrypt and Decrypt are listed from 1.2 */
	static const uint32_t ops[] = {KMIP_QUERY_FUNCTION_QUERY_OPERATIONS};
	query(2, ops, 1, &r);
	CU_ASSERT(listed(kt_payload(kt_first(&r)), KMIP_TAG_OPERATION, KMIP_OPERATION_ENCRYPT) &&
		  listed(kt_payload(kt_first(&r)), KMIP_TAG_OPERATION, KMIP_OPERATION_DECRYPT));
	kt_resp_free(&r);
	query(1, ops, 1, &r);
	CU_ASSERT(!listed(kt_payload(kt_first(&r)), KMIP_TAG_OPERATION, KMIP_OPERATION_ENCRYPT));
	kt_resp_free(&r);
}

TEST_SUITE(kmip_crypto, suite_init, suite_clean, TEST(test_cbc_known_answer_oasis),
	   TEST(test_cbc_known_answer_192_256), TEST(test_gcm_known_answer), TEST(test_mongod_audit_no_parameters),
	   TEST(test_libmongocrypt_delegated), TEST(test_key_parameters_attribute), TEST(test_refusals),
	   TEST(test_bad_padding), TEST(test_limits_and_streaming), TEST(test_query_profiles_rule),
	   TEST(test_query_functions))
