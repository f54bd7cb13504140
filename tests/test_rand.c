/* tests/test_rand.c — keygen/ossl.c and keygen/rand.c: the FIPS provider
 * and the default provider, default properties, the refusal to run without
 * a FIPS provider, and where OpenSSL's key-generation randomness comes from
 * in each mode. The suite switches modes itself (keygen_shutdown, then
 * keygen_init with fips = off or required), so both run under either
 * FOUNT_CRYPTO_FIPS setting; it restores the environment's mode at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "entropy/entropy.h"
#include "keygen/internal.h"
#include "selftest/selftest.h"
#include "tests/helpers.h"

static struct config env_cfg;

static int suite_init(void)
{
	testlib_config(&env_cfg);
	/* no DRBG tree: every byte OpenSSL draws here comes from the test
	 * source, or fails */
	selftest_reset_for_testing();
	return 0;
}

static int suite_clean(void)
{
	keygen_rand_clear_test_source();
	keygen_shutdown();
	return keygen_init(&env_cfg) == ERR_OK ? 0 : -1;
}

/* switch_mode re-creates the library context with fips = |fips|. */
static void switch_mode(bool fips)
{
	struct config cfg = env_cfg;
	cfg.crypto_fips = fips;
	keygen_shutdown();
	EXPECT_OK(keygen_init(&cfg));
	CU_ASSERT_EQUAL_FATAL(keygen_fips_mode(), fips);
}

static EVP_PKEY *gen(const char *type)
{
	OSSL_LIB_CTX *ctx = keygen_libctx();
	EVP_PKEY *k;
	if (strcmp(type, "RSA") == 0)
		k = EVP_PKEY_Q_keygen(ctx, NULL, "RSA", (size_t)2048);
	else
		k = EVP_PKEY_Q_keygen(ctx, NULL, "EC", "P-256");
	if (k == NULL && getenv("FOUNT_TEST_LOG") != NULL)
		ERR_print_errors_fp(stderr);
	return k;
}

static void test_fips_mode_loads(void)
{
	switch_mode(true);
	CU_ASSERT_PTR_NOT_NULL(strstr(keygen_provider_name(), "FIPS"));
	CU_ASSERT_PTR_NOT_NULL(strstr(keygen_provider_name(), "3.0."));
	CU_ASSERT_EQUAL(EVP_default_properties_is_fips_enabled(keygen_libctx()), 1);
	CU_ASSERT_EQUAL(keygen_init_error()[0], '\0');
	/* base is there for encoders */
	CU_ASSERT_EQUAL(OSSL_PROVIDER_available(keygen_libctx(), "base"), 1);
	CU_ASSERT_EQUAL(OSSL_PROVIDER_available(keygen_libctx(), "default"), 0);
}

/* MD5 is not in 3.0's FIPS provider (providers/fips/fipsprov.c fips_digests)
 * and AES-256-CTR is; with fips=yes nothing falls back to another provider. */
static void test_default_properties(void)
{
	switch_mode(true);
	EVP_MD *md5 = EVP_MD_fetch(keygen_libctx(), "MD5", NULL);
	CU_ASSERT_PTR_NULL(md5);
	EVP_MD_free(md5);
	EVP_MD *sha = EVP_MD_fetch(keygen_libctx(), "SHA2-256", NULL);
	CU_ASSERT_PTR_NOT_NULL(sha);
	CU_ASSERT_STRING_EQUAL(OSSL_PROVIDER_get0_name(EVP_MD_get0_provider(sha)), "fips");
	EVP_MD_free(sha);
	ERR_clear_error();

	switch_mode(false);
	CU_ASSERT_PTR_NOT_NULL(strstr(keygen_provider_name(), "Default"));
	CU_ASSERT_EQUAL(EVP_default_properties_is_fips_enabled(keygen_libctx()), 0);
	md5 = EVP_MD_fetch(keygen_libctx(), "MD5", NULL);
	CU_ASSERT_PTR_NOT_NULL(md5);
	EVP_MD_free(md5);
}

/* Default mode: OpenSSL's key generation draws only from FOUNT-DRBG. With
 * the same test seed the same RSA and EC keys come out; another seed gives
 * other keys; a failing source gives no key. */
static void test_default_mode_keys_come_from_fount(void)
{
	static const uint8_t seed_a[32] = "fount test seed A for keygen...";
	static const uint8_t seed_b[32] = "fount test seed B for keygen...";
	static const char *const types[] = {"RSA", "EC"};

	switch_mode(false);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		EXPECT_OK(keygen_rand_set_test_seed(seed_a));
		EVP_PKEY *a1 = gen(types[i]);
		EXPECT_OK(keygen_rand_set_test_seed(seed_a));
		EVP_PKEY *a2 = gen(types[i]);
		EXPECT_OK(keygen_rand_set_test_seed(seed_b));
		EVP_PKEY *b = gen(types[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(a1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(a2);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(EVP_PKEY_eq(a1, a2), 1);  /* same seed, same key */
		CU_ASSERT_NOT_EQUAL(EVP_PKEY_eq(a1, b), 1); /* other seed, other key */
		EVP_PKEY_free(a1);
		EVP_PKEY_free(a2);
		EVP_PKEY_free(b);
	}
	keygen_rand_set_test_failure();
	EVP_PKEY *none = gen("EC");
	CU_ASSERT_PTR_NULL(none);
	EVP_PKEY_free(none);
	EXPECT_ERR(keygen_rand_mix(), ERR_ENTROPY_READ);
	ERR_clear_error();

	/* without a test source and without an operational module: fail closed */
	keygen_rand_clear_test_source();
	EXPECT_ERR(keygen_rand_mix(), ERR_NOT_OPERATIONAL);
	none = gen("EC");
	CU_ASSERT_PTR_NULL(none);
	EVP_PKEY_free(none);
	ERR_clear_error();
}

/* FIPS mode: the module's own DRBG takes its entropy from fount's
 * get_entropy upcall, answered by the health-tested entropy pipeline. A
 * fresh module instance (new library context) must call it before its
 * first key. (The pipeline must be up: a module DRBG that cannot
 * instantiate latches the module's error state for the whole process.) */
static void test_fips_mode_entropy_from_fount(void)
{
	static const uint8_t seed[32] = "fount test seed for FIPS mode..";

	EXPECT_OK(entropy_init(&env_cfg));
	/* keygen_rand_mix's probe draws from the test source */
	EXPECT_OK(keygen_rand_set_test_seed(seed));
	switch_mode(true);
	uint64_t before = keygen_rand_fips_upcalls_for_test();
	EVP_PKEY *k = gen("EC");
	CU_ASSERT_PTR_NOT_NULL(k);
	EVP_PKEY_free(k);
	CU_ASSERT(keygen_rand_fips_upcalls_for_test() > before);
	EXPECT_OK(keygen_rand_mix());

	/* fount's source fails: keygen_rand_mix refuses, so key generation
	 * never starts. (Not
	 * EVP_PKEY_generate itself: 3.0's FIPS module treats any failure
	 * inside EC/RSA key generation as a PCT failure and latches its
	 * error state for the whole process, ec_key.c
	 * ossl_ec_key_simple_generate_key; fail closed, but not testable
	 * in-process.) */
	keygen_rand_set_test_failure();
	EXPECT_ERR(keygen_rand_mix(), ERR_ENTROPY_READ);
	ERR_clear_error();

	/* and recovers once fount delivers again */
	EXPECT_OK(keygen_rand_set_test_seed(seed));
	EXPECT_OK(keygen_rand_mix());
	k = gen("EC");
	CU_ASSERT_PTR_NOT_NULL(k);
	EVP_PKEY_free(k);
	keygen_rand_clear_test_source();
	entropy_shutdown();
}

static void test_fips_required_without_module_fails(void)
{
	struct config cfg = env_cfg;
	char dir[] = "/tmp/fount-fips-XXXXXX";

	cfg.crypto_fips = true;
	snprintf(cfg.crypto_fips_module_dir, sizeof(cfg.crypto_fips_module_dir),
		 "/nonexistent/fips");
	keygen_shutdown();
	EXPECT_ERR(keygen_init(&cfg), ERR_FIPS_UNAVAILABLE);
	CU_ASSERT_PTR_NULL(keygen_libctx());
	CU_ASSERT_FALSE(keygen_fips_mode());
	CU_ASSERT_PTR_NOT_NULL(strstr(keygen_init_error(), "/nonexistent/fips"));
	CU_ASSERT_PTR_NOT_NULL(strstr(keygen_init_error(), "make fips"));

	/* a folder with a broken module configuration */
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	char so[64], cnf[64];
	snprintf(so, sizeof(so), "%s/fips.so", dir);
	snprintf(cnf, sizeof(cnf), "%s/fipsmodule.cnf", dir);
	FILE *fp = fopen(so, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fclose(fp);
	fp = fopen(cnf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs("[other]\nx = 1\n", fp);
	fclose(fp);
	snprintf(cfg.crypto_fips_module_dir, sizeof(cfg.crypto_fips_module_dir), "%s", dir);
	EXPECT_ERR(keygen_init(&cfg), ERR_FIPS_UNAVAILABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(keygen_init_error(), "fipsmodule.cnf"));
	unlink(so);
	unlink(cnf);
	rmdir(dir);
	ERR_clear_error();
}

static struct run_result res;

static void test_cli_modes(void)
{
	const char *bin = testlib_fount_bin();
	const char *version[] = {bin, "version", NULL};
	const char *selftest[] = {bin, "selftest", NULL};
	const char *selftest_json[] = {bin, "selftest", "--json", NULL};
	const char *random[] = {bin, "random", "-n", "8", "--hex", NULL};
	const char *fips_on[] = {"FOUNT_CRYPTO_FIPS=required", NULL};
	const char *fips_off[] = {"FOUNT_CRYPTO_FIPS=off", NULL};
	const char *missing[] = {"FOUNT_CRYPTO_FIPS=required",
				 "FOUNT_CRYPTO_FIPS_MODULE_DIR=/nonexistent/fips", NULL};

	CU_ASSERT_EQUAL_FATAL(testlib_run(version, fips_on, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "OpenSSL FIPS Provider 3.0."));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "FIPS mode: on"));

	CU_ASSERT_EQUAL_FATAL(testlib_run(version, fips_off, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "OpenSSL Default Provider 3.0."));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "FIPS mode: off"));

	CU_ASSERT_EQUAL_FATAL(testlib_run(selftest, fips_on, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "provider: OpenSSL FIPS Provider"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "fips:     on"));

	CU_ASSERT_EQUAL_FATAL(testlib_run(selftest_json, fips_off, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "\"fips_mode\": \"off\""));

	/* required, but no module: every command refuses, naming the fix */
	CU_ASSERT_EQUAL_FATAL(testlib_run(selftest, missing, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "failed:   provider"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "make fips"));
	CU_ASSERT_EQUAL_FATAL(testlib_run(selftest_json, missing, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "\"fips_mode\": \"unavailable\""));
	CU_ASSERT_EQUAL_FATAL(testlib_run(random, missing, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT_EQUAL(res.out[0], '\0');
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "/nonexistent/fips"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "make fips"));
	CU_ASSERT_EQUAL_FATAL(testlib_run(version, missing, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "unavailable"));
}

/* gcm_roundtrip: the cached AES-256-GCM, used as keygen/aead.c uses it
 * (EVP_CipherInit_ex2 on a new context: the module gate keeps
 * keygen_aes_gcm_* closed in this suite), encrypts and decrypts, and
 * refuses a changed tag */
static bool gcm_run_evp(bool enc, const uint8_t *in, uint8_t *out, uint8_t tag[16])
{
	static const uint8_t key[32] = {1, 2, 3}, iv[12] = {9};
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;
	bool ok = ctx != NULL && EVP_CipherInit_ex2(ctx, keygen_aes_cipher(true, 32), key, iv, enc, NULL) == 1 &&
		  EVP_CipherUpdate(ctx, out, &n, in, 40) == 1 &&
		  (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1) &&
		  EVP_CipherFinal_ex(ctx, out + n, &m) == 1 &&
		  (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

static void gcm_roundtrip(void)
{
	uint8_t in[40], out[40], back[40], tag[16];
	memset(in, 0x61, sizeof(in));
	CU_ASSERT_FATAL(gcm_run_evp(true, in, out, tag));
	CU_ASSERT(memcmp(out, in, sizeof(in)) != 0);
	CU_ASSERT(gcm_run_evp(false, out, back, tag));
	CU_ASSERT(memcmp(back, in, sizeof(in)) == 0);
	tag[0] ^= 1;
	CU_ASSERT(!gcm_run_evp(false, out, back, tag));
}

/* The AES-GCM, AES-CBC and SHA2-256 keygen/aead.c uses are fetched once
 * per library context: from the FIPS provider in FIPS mode, from the
 * default one after a switch (fetched again, not the freed ones), none
 * after keygen_shutdown; keygen_sha256 works before keygen_init too.
 * SHA-256("abc"): FIPS 180-2 Appendix B.1. */
static void test_cached_algorithms_follow_the_context(void)
{
	static const uint8_t abc_sha256[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	uint8_t d[32];
	for (int fips = 1; fips >= 0; fips--) {
		switch_mode(fips != 0);
		const char *want = fips ? "fips" : "default";
		for (size_t len = 16; len <= 32; len += 8) {
			const EVP_CIPHER *g = keygen_aes_cipher(true, len), *c = keygen_aes_cipher(false, len);
			CU_ASSERT_FATAL(g != NULL && c != NULL);
			CU_ASSERT_EQUAL(EVP_CIPHER_get_key_length(g), (int)len);
			CU_ASSERT_EQUAL(EVP_CIPHER_get_mode(g), EVP_CIPH_GCM_MODE);
			CU_ASSERT_EQUAL(EVP_CIPHER_get_mode(c), EVP_CIPH_CBC_MODE);
			CU_ASSERT_STRING_EQUAL(OSSL_PROVIDER_get0_name(EVP_CIPHER_get0_provider(g)), want);
			CU_ASSERT_STRING_EQUAL(OSSL_PROVIDER_get0_name(EVP_CIPHER_get0_provider(c)), want);
		}
		CU_ASSERT_PTR_NULL(keygen_aes_cipher(true, 20));
		CU_ASSERT_PTR_NOT_NULL_FATAL(keygen_sha256_md());
		CU_ASSERT_STRING_EQUAL(OSSL_PROVIDER_get0_name(EVP_MD_get0_provider(keygen_sha256_md())), want);
		gcm_roundtrip();
		EXPECT_OK(keygen_sha256((const uint8_t *)"abc", 3, d));
		CU_ASSERT(memcmp(d, abc_sha256, 32) == 0);
	}
	keygen_shutdown();
	CU_ASSERT_PTR_NULL(keygen_aes_cipher(true, 32));
	CU_ASSERT_PTR_NULL(keygen_aes_cipher(false, 32));
	CU_ASSERT_PTR_NULL(keygen_sha256_md());
	memset(d, 0, sizeof(d));
	EXPECT_OK(keygen_sha256((const uint8_t *)"abc", 3, d));
	CU_ASSERT(memcmp(d, abc_sha256, 32) == 0);
	switch_mode(false);
}

TEST_SUITE(rand, suite_init, suite_clean,
	   TEST(test_fips_mode_loads), TEST(test_default_properties),
	   TEST(test_default_mode_keys_come_from_fount),
	   TEST(test_fips_mode_entropy_from_fount),
	   TEST(test_fips_required_without_module_fails), TEST(test_cli_modes),
	   TEST(test_cached_algorithms_follow_the_context))
