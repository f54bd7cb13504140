/* tests/test_export.c — keygen/export.c: a new key's bytes (plain or
 * wrapped) in secure memory, KEKs from bytes and files, and the refusals
 * that come before any key is made. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keygen/keygen.h"
#include "selftest/selftest.h"
#include "tests/helpers.h"

static struct config cfg;
static char tmpdir[64];

static int power_on(void)
{
	selftest_reset_for_testing();
	return selftest_power_on(&cfg, NULL, 0, NULL) == ERR_OK ? 0 : -1;
}

static int suite_init(void)
{
	config_defaults(&cfg);
	if (testlib_tmpdir_create(tmpdir, "export") != 0)
		return -1;
	return power_on();
}

static int suite_clean(void)
{
	selftest_reset_for_testing();
	return testlib_tmpdir_remove(tmpdir);
}

static int write_file(const char *path, const void *p, size_t len)
{
	FILE *fp = fopen(path, "wb");
	if (fp == NULL)
		return -1;
	size_t n = fwrite(p, 1, len, fp);
	return fclose(fp) == 0 && n == len ? 0 : -1;
}

static void load_aes_kek(enum keygen_wrap_alg alg, size_t len, struct keygen_kek *k)
{
	uint8_t raw[32];
	CU_ASSERT_FATAL(len <= sizeof(raw));
	EXPECT_OK(drbg_generate(raw, sizeof(raw)));
	EXPECT_OK(keygen_kek_load(alg, KEYGEN_PART_PRIVATE, raw, len, k));
	CU_ASSERT_FATAL(k->aes.p != NULL && k->aes.len == len);
	CU_ASSERT_EQUAL(memcmp(k->aes.p, raw, len), 0);
	secure_zero(raw, sizeof(raw));
}

/* Plain: a symmetric key is its raw bytes; a key pair is PKCS#8 plus, when
 * asked, the public key, and the two belong together. */
static void test_export_plain(void)
{
	struct keygen_export a = {0}, b = {0};
	EXPECT_OK(keygen_export(keygen_type_find("aes-256"), KEYGEN_FMT_PEM, KEYGEN_F_PR, NULL, &a));
	EXPECT_OK(keygen_export(keygen_type_find("aes-256"), KEYGEN_FMT_PEM, 0, NULL, &b));
	CU_ASSERT(a.key.p != NULL && a.key.len == 32 && a.plain_len == 32);
	CU_ASSERT(b.key.p != NULL && b.key.len == 32);
	CU_ASSERT(a.pub.p == NULL && a.pub.len == 0);
	CU_ASSERT(memcmp(a.key.p, b.key.p, 32) != 0);
	keygen_export_free(&a);
	CU_ASSERT(a.key.p == NULL && a.key.len == 0 && a.plain_len == 0);
	keygen_export_free(&b);

	static const enum keygen_format fmts[] = {KEYGEN_FMT_PEM, KEYGEN_FMT_DER};
	for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
		struct keygen_export e = {0};
		EVP_PKEY *priv = NULL, *pub = NULL;
		EXPECT_OK(keygen_export(keygen_type_find("ec-p256"), fmts[i], KEYGEN_EXPORT_PUB, NULL,
					&e));
		CU_ASSERT_FATAL(e.key.p != NULL && e.pub.p != NULL);
		CU_ASSERT_EQUAL(e.key.len, e.plain_len);
		CU_ASSERT_EQUAL(e.key.p[0] == '-', fmts[i] == KEYGEN_FMT_PEM);
		EXPECT_OK(keygen_pkey_decode(e.key.p, e.key.len, KEYGEN_PART_PRIVATE, &priv));
		EXPECT_OK(keygen_pkey_decode(e.pub.p, e.pub.len, KEYGEN_PART_PUBLIC, &pub));
		CU_ASSERT_EQUAL(EVP_PKEY_eq(priv, pub), 1);
		EVP_PKEY_free(priv);
		EVP_PKEY_free(pub);
		keygen_export_free(&e);
	}
	/* without KEYGEN_EXPORT_PUB no public key comes back */
	struct keygen_export e = {0};
	EXPECT_OK(keygen_export(keygen_type_find("ec-p256"), KEYGEN_FMT_DER, 0, NULL, &e));
	CU_ASSERT(e.key.p != NULL && e.pub.p == NULL);
	keygen_export_free(&e);
}

/* Wrapped under each kind of KEK, and back with keygen_kek_unwrap. */
static void test_export_wrapped(void)
{
	struct keygen_kek kw = {0}, kwp = {0}, rsa_pub = {0}, rsa_priv = {0};
	struct keygen_export e = {0}, pair = {0};
	struct keygen_buf back = {0};
	EVP_PKEY *pkey = NULL;

	load_aes_kek(KEYGEN_WRAP_KW, 32, &kw);
	load_aes_kek(KEYGEN_WRAP_KWP, 16, &kwp);
	/* kw: a 64-byte HMAC key wraps to 72 bytes and unwraps to 64 */
	EXPECT_OK(keygen_export(keygen_type_find("hmac-sha512"), KEYGEN_FMT_PEM, 0, &kw, &e));
	CU_ASSERT_EQUAL(e.key.len, 72);
	CU_ASSERT_EQUAL(e.plain_len, 64);
	EXPECT_OK(keygen_kek_unwrap(&kw, e.key.p, e.key.len, &back));
	CU_ASSERT_EQUAL(back.len, 64);
	keygen_buf_free(&back);
	/* the wrong KEK: ERR_UNWRAP and nothing back */
	EXPECT_ERR(keygen_kek_unwrap(&kwp, e.key.p, e.key.len, &back), ERR_UNWRAP);
	CU_ASSERT(back.p == NULL && back.len == 0);
	keygen_export_free(&e);
	/* kwp: a key pair's DER unwraps to a PKCS#8 key */
	EXPECT_OK(keygen_export(keygen_type_find("ec-p384"), KEYGEN_FMT_DER, KEYGEN_EXPORT_PUB, &kwp,
				&e));
	CU_ASSERT(e.key.len > e.plain_len && e.key.len <= e.plain_len + 15);
	CU_ASSERT_PTR_NOT_NULL(e.pub.p); /* the public key is not wrapped */
	EXPECT_OK(keygen_kek_unwrap(&kwp, e.key.p, e.key.len, &back));
	CU_ASSERT_EQUAL(back.len, e.plain_len);
	EXPECT_OK(keygen_pkey_decode(back.p, back.len, KEYGEN_PART_PRIVATE, &pkey));
	EVP_PKEY_free(pkey);
	keygen_buf_free(&back);
	keygen_export_free(&e);
	/* rsa-oaep: the public key wraps, the private key unwraps */
	EXPECT_OK(keygen_export(keygen_type_find("rsa-2048"), KEYGEN_FMT_PEM, KEYGEN_EXPORT_PUB,
				NULL, &pair));
	EXPECT_OK(keygen_kek_load(KEYGEN_WRAP_RSA_OAEP, KEYGEN_PART_PUBLIC, pair.pub.p,
				  pair.pub.len, &rsa_pub));
	EXPECT_OK(keygen_kek_load(KEYGEN_WRAP_RSA_OAEP, KEYGEN_PART_PRIVATE, pair.key.p,
				  pair.key.len, &rsa_priv));
	EXPECT_OK(keygen_export(keygen_type_find("aes-128"), KEYGEN_FMT_PEM, 0, &rsa_pub, &e));
	CU_ASSERT_EQUAL(e.key.len, 256);
	EXPECT_OK(keygen_kek_unwrap(&rsa_priv, e.key.p, e.key.len, &back));
	CU_ASSERT_EQUAL(back.len, 16);
	keygen_buf_free(&back);
	keygen_export_free(&e);
	/* a key pair is longer than RSA-OAEP takes: ERR_TOO_LARGE, no bytes,
	 * and the length that did not fit for the message */
	EXPECT_ERR(keygen_export(keygen_type_find("ec-p384"), KEYGEN_FMT_PEM, KEYGEN_EXPORT_PUB,
				 &rsa_pub, &e), ERR_TOO_LARGE);
	CU_ASSERT(e.key.p == NULL && e.pub.p == NULL);
	CU_ASSERT(e.plain_len > 190);
	keygen_export_free(&pair);
	keygen_kek_free(&kw);
	keygen_kek_free(&kwp);
	keygen_kek_free(&rsa_pub);
	keygen_kek_free(&rsa_priv);
	CU_ASSERT(rsa_priv.rsa == NULL && kw.aes.p == NULL);
}

/* Requests that cannot be met are refused before a key is made: outside
 * OPERATIONAL (where making one fails) they still get ERR_INVALID_ARG. */
static void test_export_refusals(void)
{
	struct keygen_kek kw = {0};
	struct keygen_export e = {0};
	load_aes_kek(KEYGEN_WRAP_KW, 16, &kw);
	selftest_reset_for_testing();
	EXPECT_ERR(keygen_export(keygen_type_find("ec-p256"), KEYGEN_FMT_PEM, 0, &kw, &e),
		   ERR_INVALID_ARG);
	EXPECT_ERR(keygen_export(keygen_type_find("aes-256"), KEYGEN_FMT_PEM, KEYGEN_EXPORT_PUB,
				 NULL, &e), ERR_INVALID_ARG);
	EXPECT_ERR(keygen_export(keygen_type_find("aes-256"), KEYGEN_FMT_PEM, 0x80, NULL, &e),
		   ERR_INVALID_ARG);
	EXPECT_ERR(keygen_export(NULL, KEYGEN_FMT_PEM, 0, NULL, &e), ERR_INVALID_ARG);
	/* a request that can be met: the gate says no, and nothing was made */
	EXPECT_ERR(keygen_export(keygen_type_find("aes-256"), KEYGEN_FMT_PEM, 0, NULL, &e),
		   ERR_NOT_OPERATIONAL);
	EXPECT_ERR(keygen_export(keygen_type_find("ec-p256"), KEYGEN_FMT_PEM, 0, NULL, &e),
		   ERR_NOT_OPERATIONAL);
	CU_ASSERT(e.key.p == NULL && e.plain_len == 0);
	keygen_kek_free(&kw);
	CU_ASSERT_EQUAL_FATAL(power_on(), 0);
}

/* KEKs from bytes: sizes, kinds, and the wrap sizes each takes. */
static void test_kek_load_and_wrap(void)
{
	uint8_t raw[40] = {0}, small[7] = {1, 2, 3, 4, 5, 6, 7};
	struct keygen_kek k = {0};
	struct keygen_buf w = {0};
	EXPECT_ERR(keygen_kek_load(KEYGEN_WRAP_KW, KEYGEN_PART_PRIVATE, raw, 15, &k), ERR_KEY_FORMAT);
	EXPECT_ERR(keygen_kek_load(KEYGEN_WRAP_KWP, KEYGEN_PART_PRIVATE, raw, 0, &k), ERR_KEY_FORMAT);
	EXPECT_ERR(keygen_kek_load(KEYGEN_WRAP_KW, KEYGEN_PART_PRIVATE, raw, 33, &k), ERR_TOO_LARGE);
	CU_ASSERT(k.aes.p == NULL);
	CU_ASSERT_EQUAL(keygen_kek_max_len(KEYGEN_WRAP_KW), 32);
	CU_ASSERT_EQUAL(keygen_kek_max_len(KEYGEN_WRAP_RSA_OAEP), KEYGEN_MAX_KEY_FILE);
	/* not RSA, not a key, the wrong half */
	struct keygen_export ec = {0};
	EXPECT_OK(keygen_export(keygen_type_find("ec-p256"), KEYGEN_FMT_PEM, KEYGEN_EXPORT_PUB, NULL,
				&ec));
	EXPECT_ERR(keygen_kek_load(KEYGEN_WRAP_RSA_OAEP, KEYGEN_PART_PUBLIC, ec.pub.p, ec.pub.len, &k),
		   ERR_KEY_FORMAT);
	CU_ASSERT_PTR_NULL(k.rsa);
	EXPECT_ERR(keygen_kek_load(KEYGEN_WRAP_RSA_OAEP, KEYGEN_PART_PUBLIC, raw, sizeof(raw), &k),
		   ERR_KEY_FORMAT);
	keygen_export_free(&ec);
	struct keygen_export rsa = {0};
	EXPECT_OK(keygen_export(keygen_type_find("rsa-2048"), KEYGEN_FMT_DER, KEYGEN_EXPORT_PUB, NULL,
				&rsa));
	EXPECT_ERR(keygen_kek_load(KEYGEN_WRAP_RSA_OAEP, KEYGEN_PART_PRIVATE, rsa.pub.p, rsa.pub.len,
				   &k), ERR_KEY_FORMAT);
	keygen_export_free(&rsa);
	/* kw takes whole 8-byte blocks, at least two; kwp any length */
	load_aes_kek(KEYGEN_WRAP_KW, 24, &k);
	EXPECT_ERR(keygen_kek_wrap(&k, small, sizeof(small), &w), ERR_INVALID_ARG);
	CU_ASSERT(w.p == NULL && w.len == 0);
	keygen_kek_free(&k);
	load_aes_kek(KEYGEN_WRAP_KWP, 24, &k);
	EXPECT_OK(keygen_kek_wrap(&k, small, sizeof(small), &w));
	CU_ASSERT_EQUAL(w.len, 16);
	keygen_buf_free(&w);
	uint8_t *big = calloc(1, KEYGEN_WRAP_MAX_INPUT + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	EXPECT_ERR(keygen_kek_wrap(&k, big, KEYGEN_WRAP_MAX_INPUT + 1, &w), ERR_INVALID_ARG);
	free(big);
	keygen_kek_free(&k);
}

/* KEKs from files: the file's own errors, then the key's. */
static void test_kek_load_file(void)
{
	uint8_t raw[33];
	struct keygen_kek k = {0};
	const char *path = testlib_file(tmpdir, "kek");
	EXPECT_OK(drbg_generate(raw, sizeof(raw)));
	CU_ASSERT_EQUAL_FATAL(write_file(path, raw, 32), 0);
	EXPECT_OK(keygen_kek_load_file(KEYGEN_WRAP_KWP, KEYGEN_PART_PRIVATE, path, &k));
	CU_ASSERT(k.aes.len == 32 && memcmp(k.aes.p, raw, 32) == 0);
	keygen_kek_free(&k);
	CU_ASSERT_EQUAL_FATAL(write_file(path, raw, 33), 0);
	EXPECT_ERR(keygen_kek_load_file(KEYGEN_WRAP_KWP, KEYGEN_PART_PRIVATE, path, &k), ERR_TOO_LARGE);
	CU_ASSERT_EQUAL_FATAL(write_file(path, raw, 20), 0);
	EXPECT_ERR(keygen_kek_load_file(KEYGEN_WRAP_KWP, KEYGEN_PART_PRIVATE, path, &k), ERR_KEY_FORMAT);
	CU_ASSERT_EQUAL_FATAL(write_file(path, raw, 0), 0);
	EXPECT_ERR(keygen_kek_load_file(KEYGEN_WRAP_KWP, KEYGEN_PART_PRIVATE, path, &k), ERR_KEY_FORMAT);
	EXPECT_ERR(keygen_kek_load_file(KEYGEN_WRAP_KWP, KEYGEN_PART_PRIVATE,
					testlib_file(tmpdir, "absent"), &k), ERR_IO);
	EXPECT_ERR(keygen_kek_load_file(KEYGEN_WRAP_KWP, KEYGEN_PART_PRIVATE, tmpdir, &k),
		   ERR_INVALID_ARG);
	CU_ASSERT(k.aes.p == NULL && k.rsa == NULL);
	/* an RSA public key file, as `fount keygen --pub` writes it */
	struct keygen_export rsa = {0};
	EXPECT_OK(keygen_export(keygen_type_find("rsa-2048"), KEYGEN_FMT_PEM, KEYGEN_EXPORT_PUB, NULL,
				&rsa));
	CU_ASSERT_EQUAL_FATAL(write_file(path, rsa.pub.p, rsa.pub.len), 0);
	EXPECT_OK(keygen_kek_load_file(KEYGEN_WRAP_RSA_OAEP, KEYGEN_PART_PUBLIC, path, &k));
	CU_ASSERT_PTR_NOT_NULL(k.rsa);
	keygen_kek_free(&k);
	keygen_export_free(&rsa);
	secure_zero(raw, sizeof(raw));
}

TEST_SUITE(export, suite_init, suite_clean, TEST(test_export_plain), TEST(test_export_wrapped),
	   TEST(test_export_refusals), TEST(test_kek_load_and_wrap), TEST(test_kek_load_file))
