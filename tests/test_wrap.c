/* tests/test_wrap.c — keygen/wrap.c: the RFC 3394 and RFC 5649 vectors,
 * round trips under every KEK size, and every kind of damaged wrap refused
 * with ERR_UNWRAP and no output. RSA-OAEP round trip and tampering. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "keygen/keygen.h"
#include "selftest/selftest.h"
#include "tests/helpers.h"

static struct config cfg;

static int suite_init(void)
{
	config_defaults(&cfg);
	selftest_reset_for_testing();
	return selftest_power_on(&cfg, NULL, 0, NULL) == ERR_OK ? 0 : -1;
}

static int suite_clean(void)
{
	selftest_reset_for_testing();
	return 0;
}

struct kw_vector {
	const char *where;
	enum keygen_wrap_alg alg;
	const char *kek, *key, *wrapped;
};

#define KEK128 "000102030405060708090A0B0C0D0E0F"
#define KEK192 "000102030405060708090A0B0C0D0E0F1011121314151617"
#define KEK256 "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
#define DATA128 "00112233445566778899AABBCCDDEEFF"
#define DATA192 DATA128 "0001020304050607"
#define DATA256 DATA128 "000102030405060708090A0B0C0D0E0F"
#define KWP_KEK "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8"

static const struct kw_vector vectors[] = {
	{"RFC 3394 §4.1", KEYGEN_WRAP_KW, KEK128, DATA128,
	 "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
	{"RFC 3394 §4.2", KEYGEN_WRAP_KW, KEK192, DATA128,
	 "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},
	{"RFC 3394 §4.3", KEYGEN_WRAP_KW, KEK256, DATA128,
	 "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
	{"RFC 3394 §4.4", KEYGEN_WRAP_KW, KEK192, DATA192,
	 "031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2"},
	{"RFC 3394 §4.5", KEYGEN_WRAP_KW, KEK256, DATA192,
	 "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"},
	{"RFC 3394 §4.6", KEYGEN_WRAP_KW, KEK256, DATA256,
	 "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
	{"RFC 5649 §6 (20 octets)", KEYGEN_WRAP_KWP, KWP_KEK,
	 "c37b7e6492584340bed12207808941155068f738",
	 "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"},
	{"RFC 5649 §6 (7 octets)", KEYGEN_WRAP_KWP, KWP_KEK, "466f7250617369",
	 "afbeb0f07dfbf5419200f2ccb50bb24f"},
};

static void test_rfc_vectors(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		const struct kw_vector *v = &vectors[i];
		size_t kek_len, key_len, wr_len, n = 0;
		uint8_t *kek = testlib_hex(v->kek, &kek_len);
		uint8_t *key = testlib_hex(v->key, &key_len);
		uint8_t *wr = testlib_hex(v->wrapped, &wr_len);
		uint8_t out[64];

		CU_ASSERT_EQUAL(keygen_aes_wrap_len(v->alg, key_len), wr_len);
		EXPECT_OK(keygen_aes_wrap(v->alg, kek, kek_len, key, key_len, out, sizeof(out), &n));
		if (n != wr_len || memcmp(out, wr, wr_len) != 0)
			fprintf(stderr, "\n  %s: wrap differs\n", v->where);
		CU_ASSERT(n == wr_len && memcmp(out, wr, wr_len) == 0);
		EXPECT_OK(keygen_aes_unwrap(v->alg, kek, kek_len, wr, wr_len, out, sizeof(out), &n));
		if (n != key_len || memcmp(out, key, key_len) != 0)
			fprintf(stderr, "\n  %s: unwrap differs\n", v->where);
		CU_ASSERT(n == key_len && memcmp(out, key, key_len) == 0);
		/* into a buffer of exactly wr_len - 8 bytes, the documented
		 * minimum: ASan would catch a write past it */
		uint8_t *exact = malloc(wr_len - 8);
		CU_ASSERT_PTR_NOT_NULL_FATAL(exact);
		EXPECT_OK(keygen_aes_unwrap(v->alg, kek, kek_len, wr, wr_len, exact, wr_len - 8, &n));
		CU_ASSERT(n == key_len && memcmp(exact, key, key_len) == 0);
		free(exact);
		free(kek);
		free(key);
		free(wr);
	}
}

static bool all_zero(const uint8_t *p, size_t n);

/* A failed unwrap into a buffer of exactly the documented minimum,
 * wr_len - 8, must not touch a byte past it: OpenSSL cleanses in_len bytes
 * on a failed check, and ASan cannot see that write (it is assembly), so
 * the canary is compared byte by byte. */
static void test_failed_unwrap_stays_in_bounds(void)
{
	static const uint8_t kek[32] = {1}, other[32] = {2}, key[32] = {3};
	const enum keygen_wrap_alg algs[] = {KEYGEN_WRAP_KW, KEYGEN_WRAP_KWP};
	for (size_t a = 0; a < ARRAY_SIZE(algs); a++) {
		uint8_t wr[40], buf[32 + 16];
		size_t wr_len = 0, n = 99;
		EXPECT_OK(keygen_aes_wrap(algs[a], kek, sizeof(kek), key, sizeof(key), wr,
					  sizeof(wr), &wr_len));
		CU_ASSERT_EQUAL_FATAL(wr_len, 40);
		memset(buf, 0xaa, sizeof(buf));
		EXPECT_ERR(keygen_aes_unwrap(algs[a], other, sizeof(other), wr, wr_len, buf,
					     wr_len - 8, &n),
			   ERR_UNWRAP);
		CU_ASSERT_EQUAL(n, 0);
		CU_ASSERT_TRUE(all_zero(buf, wr_len - 8));
		for (size_t i = wr_len - 8; i < sizeof(buf); i++)
			CU_ASSERT_EQUAL(buf[i], 0xaa);
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* expect_refused: unwrapping |wr| fails with |code|, returns nothing and
 * leaves the output buffer wiped. */
static void expect_refused(enum keygen_wrap_alg alg, const uint8_t *kek, size_t kek_len,
			   const uint8_t *wr, size_t wr_len, err_t code)
{
	uint8_t out[KEYGEN_WRAP_MAX_INPUT + 64];
	size_t n = 12345;
	memset(out, 0xee, sizeof(out));
	EXPECT_ERR(keygen_aes_unwrap(alg, kek, kek_len, wr, wr_len, out, sizeof(out), &n), code);
	CU_ASSERT_EQUAL(n, 0);
	if (code == ERR_UNWRAP && wr_len >= 8 && wr_len % 8 == 0)
		CU_ASSERT(all_zero(out, wr_len - 8));
}

/* Round trips under 128-, 192- and 256-bit KEKs, KW and KWP, for key
 * sizes from 1 byte to an RSA private key's; then every damage. */
static void test_round_trips_and_tampering(void)
{
	static const size_t kek_sizes[] = {16, 24, 32};
	static const size_t key_sizes[] = {1, 7, 8, 9, 15, 16, 20, 24, 32, 48, 64, 65, 1217, 4096};
	uint8_t kek[32], other[32], key[4096], wr[4096 + 16], back[4096 + 16];
	size_t n = 0, m = 0;

	EXPECT_OK(drbg_generate(kek, sizeof(kek)));
	EXPECT_OK(drbg_generate(key, sizeof(key)));
	memcpy(other, kek, sizeof(other));
	other[5] ^= 0x20;
	for (size_t a = 0; a < 2; a++) {
		enum keygen_wrap_alg alg = a == 0 ? KEYGEN_WRAP_KW : KEYGEN_WRAP_KWP;
		for (size_t k = 0; k < ARRAY_SIZE(kek_sizes); k++) {
			size_t kl = kek_sizes[k];
			for (size_t s = 0; s < ARRAY_SIZE(key_sizes); s++) {
				size_t len = key_sizes[s];
				size_t want = keygen_aes_wrap_len(alg, len);
				bool ok = alg == KEYGEN_WRAP_KWP || (len >= 16 && len % 8 == 0);
				if (!ok) {
					CU_ASSERT_EQUAL(want, 0);
					EXPECT_ERR(keygen_aes_wrap(alg, kek, kl, key, len, wr, sizeof(wr), &n),
						   ERR_INVALID_ARG);
					continue;
				}
				EXPECT_OK(keygen_aes_wrap(alg, kek, kl, key, len, wr, sizeof(wr), &n));
				CU_ASSERT_EQUAL(n, want);
				EXPECT_OK(keygen_aes_unwrap(alg, kek, kl, wr, n, back, sizeof(back), &m));
				CU_ASSERT(m == len && memcmp(back, key, len) == 0);
				/* a flipped bit anywhere: first, middle, last byte */
				size_t pos[3] = {0, n / 2, n - 1};
				for (size_t p = 0; p < 3; p++) {
					wr[pos[p]] ^= 0x01;
					expect_refused(alg, kek, kl, wr, n, ERR_UNWRAP);
					wr[pos[p]] ^= 0x01;
				}
				/* wrong KEK */
				expect_refused(alg, other, kl, wr, n, ERR_UNWRAP);
				/* truncated by a semiblock, by a byte; extended by a semiblock */
				expect_refused(alg, kek, kl, wr, n - 8, ERR_UNWRAP);
				expect_refused(alg, kek, kl, wr, n - 1, ERR_UNWRAP);
				memset(wr + n, 0xa6, 8);
				expect_refused(alg, kek, kl, wr, n + 8, ERR_UNWRAP);
			}
		}
	}
	/* KW and KWP are different algorithms: one's wrap is not the other's */
	EXPECT_OK(keygen_aes_wrap(KEYGEN_WRAP_KW, kek, 32, key, 32, wr, sizeof(wr), &n));
	expect_refused(KEYGEN_WRAP_KWP, kek, 32, wr, n, ERR_UNWRAP);
	EXPECT_OK(keygen_aes_wrap(KEYGEN_WRAP_KWP, kek, 32, key, 32, wr, sizeof(wr), &n));
	expect_refused(KEYGEN_WRAP_KW, kek, 32, wr, n, ERR_UNWRAP);
}

static void test_size_checks(void)
{
	uint8_t kek[32] = {1}, key[64] = {2}, out[128];
	size_t n = 0;
	static uint8_t big[KEYGEN_WRAP_MAX_INPUT + 64];
	/* KEK sizes */
	EXPECT_ERR(keygen_aes_wrap(KEYGEN_WRAP_KW, kek, 15, key, 16, out, sizeof(out), &n), ERR_INVALID_ARG);
	EXPECT_ERR(keygen_aes_wrap(KEYGEN_WRAP_KWP, kek, 31, key, 16, out, sizeof(out), &n), ERR_INVALID_ARG);
	expect_refused(KEYGEN_WRAP_KW, kek, 20, key, 24, ERR_INVALID_ARG);
	/* input sizes */
	EXPECT_ERR(keygen_aes_wrap(KEYGEN_WRAP_KW, kek, 32, key, 8, out, sizeof(out), &n), ERR_INVALID_ARG);
	EXPECT_ERR(keygen_aes_wrap(KEYGEN_WRAP_KWP, kek, 32, key, 0, out, sizeof(out), &n), ERR_INVALID_ARG);
	EXPECT_ERR(keygen_aes_wrap(KEYGEN_WRAP_KWP, kek, 32, big, KEYGEN_WRAP_MAX_INPUT + 1, big,
				   sizeof(big), &n), ERR_TOO_LARGE);
	expect_refused(KEYGEN_WRAP_KW, kek, 32, big, KEYGEN_WRAP_MAX_INPUT + 24, ERR_TOO_LARGE);
	expect_refused(KEYGEN_WRAP_KW, kek, 32, key, 16, ERR_UNWRAP); /* below 3 semiblocks */
	expect_refused(KEYGEN_WRAP_KWP, kek, 32, key, 8, ERR_UNWRAP);
	/* output too small: refused before any work */
	EXPECT_ERR(keygen_aes_wrap(KEYGEN_WRAP_KW, kek, 32, key, 32, out, 39, &n), ERR_TOO_LARGE);
	EXPECT_ERR(keygen_aes_unwrap(KEYGEN_WRAP_KW, kek, 32, key, 40, out, 31, &n), ERR_TOO_LARGE);
	/* RSA-OAEP is not an AES algorithm */
	EXPECT_ERR(keygen_aes_wrap(KEYGEN_WRAP_RSA_OAEP, kek, 32, key, 32, out, sizeof(out), &n),
		   ERR_INVALID_ARG);
	enum keygen_wrap_alg alg;
	EXPECT_OK(keygen_wrap_alg_find("kwp", &alg));
	CU_ASSERT_EQUAL(alg, KEYGEN_WRAP_KWP);
	EXPECT_ERR(keygen_wrap_alg_find("aes", &alg), ERR_INVALID_ARG);
}

static void test_rsa_oaep(void)
{
	EVP_PKEY *kek = NULL, *other = NULL, *ec = NULL;
	uint8_t key[32], *wr = NULL, *back = NULL;
	size_t wr_len = 0, back_len = 0, back_cap = 0;

	EXPECT_OK(keygen_pkey_generate(keygen_type_find("rsa-2048"), &kek));
	EXPECT_OK(keygen_pkey_generate(keygen_type_find("rsa-2048"), &other));
	EXPECT_OK(keygen_pkey_generate(keygen_type_find("ec-p256"), &ec));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kek);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
	EXPECT_OK(drbg_generate(key, sizeof(key)));
	EXPECT_OK(keygen_rsa_oaep_wrap(kek, key, sizeof(key), &wr, &wr_len));
	CU_ASSERT_EQUAL_FATAL(wr_len, 256);
	EXPECT_OK(keygen_rsa_oaep_unwrap(kek, wr, wr_len, &back, &back_len, &back_cap));
	CU_ASSERT(back_len == sizeof(key) && back != NULL && memcmp(back, key, sizeof(key)) == 0);
	secmem_free(back, back_cap);
	back = NULL;
	/* randomized: a second wrap differs and still unwraps */
	uint8_t *wr2 = NULL;
	size_t wr2_len = 0;
	EXPECT_OK(keygen_rsa_oaep_wrap(kek, key, sizeof(key), &wr2, &wr2_len));
	CU_ASSERT(wr2_len == wr_len && memcmp(wr, wr2, wr_len) != 0);
	free(wr2);
	/* tampered, wrong key, truncated, extended */
	wr[wr_len / 2] ^= 0x01;
	EXPECT_ERR(keygen_rsa_oaep_unwrap(kek, wr, wr_len, &back, &back_len, &back_cap), ERR_UNWRAP);
	wr[wr_len / 2] ^= 0x01;
	EXPECT_ERR(keygen_rsa_oaep_unwrap(other, wr, wr_len, &back, &back_len, &back_cap), ERR_UNWRAP);
	EXPECT_ERR(keygen_rsa_oaep_unwrap(kek, wr, wr_len - 1, &back, &back_len, &back_cap), ERR_UNWRAP);
	CU_ASSERT_PTR_NULL(back);
	CU_ASSERT_EQUAL(back_len, 0);
	/* sizes: at most k - 2*32 - 2 = 190 bytes under RSA-2048 */
	uint8_t big[191] = {0};
	uint8_t *w = NULL;
	size_t wl = 0;
	EXPECT_OK(keygen_rsa_oaep_wrap(kek, big, 190, &w, &wl));
	free(w);
	w = NULL;
	EXPECT_ERR(keygen_rsa_oaep_wrap(kek, big, 191, &w, &wl), ERR_TOO_LARGE);
	EXPECT_ERR(keygen_rsa_oaep_wrap(ec, key, sizeof(key), &w, &wl), ERR_KEY_FORMAT);
	CU_ASSERT_PTR_NULL(w);
	free(wr);
	EVP_PKEY_free(kek);
	EVP_PKEY_free(other);
	EVP_PKEY_free(ec);
}

/* In ERROR every wrap and unwrap entry point refuses, whatever the KEK:
 * keygen/'s gate (keygen_gate), and keygen_kek_* and keygen_export on top
 * of them. (The selftest suite checks one of them after a broken KAT.) */
static void test_error_state_refuses_wrapping(void)
{
	static const uint8_t aes[32], key[32];
	uint8_t buf[64], *p = NULL;
	size_t n = 0, cap = 0;
	EVP_PKEY *rsa = NULL;
	struct keygen_kek kek = {0};
	struct keygen_buf out = {0};
	struct keygen_export e = {0};
	EXPECT_OK(keygen_pkey_generate(keygen_type_find("rsa-2048"), &rsa));
	CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
	EXPECT_OK(keygen_kek_load(KEYGEN_WRAP_KWP, KEYGEN_PART_PRIVATE, aes, sizeof(aes), &kek));
	uint8_t wrapped[40], oaep[256];
	size_t wlen = 0, olen = 0;
	EXPECT_OK(keygen_aes_wrap(KEYGEN_WRAP_KW, aes, sizeof(aes), key, sizeof(key), wrapped,
				  sizeof(wrapped), &wlen));
	EXPECT_OK(keygen_rsa_oaep_wrap(rsa, key, sizeof(key), &p, &olen));
	CU_ASSERT_FATAL(p != NULL && olen == sizeof(oaep));
	memcpy(oaep, p, olen);
	free(p);
	p = NULL;

	selftest_enter_error(ERR_SELFTEST, "test");
	CU_ASSERT_EQUAL_FATAL(selftest_state(), SELFTEST_ERROR);
	EXPECT_ERR(keygen_aes_wrap(KEYGEN_WRAP_KWP, aes, sizeof(aes), key, sizeof(key), buf,
				   sizeof(buf), &n), ERR_NOT_OPERATIONAL);
	EXPECT_ERR(keygen_aes_unwrap(KEYGEN_WRAP_KW, aes, sizeof(aes), wrapped, wlen, buf,
				     sizeof(buf), &n), ERR_NOT_OPERATIONAL);
	CU_ASSERT_EQUAL(n, 0);
	EXPECT_ERR(keygen_rsa_oaep_wrap(rsa, key, sizeof(key), &p, &n), ERR_NOT_OPERATIONAL);
	CU_ASSERT_PTR_NULL(p);
	EXPECT_ERR(keygen_rsa_oaep_unwrap(rsa, oaep, olen, &p, &n, &cap), ERR_NOT_OPERATIONAL);
	CU_ASSERT_PTR_NULL(p);
	EXPECT_ERR(keygen_kek_wrap(&kek, key, sizeof(key), &out), ERR_NOT_OPERATIONAL);
	EXPECT_ERR(keygen_kek_unwrap(&kek, wrapped, wlen, &out), ERR_NOT_OPERATIONAL);
	CU_ASSERT_PTR_NULL(out.p);
	EXPECT_ERR(keygen_export(keygen_type_find("aes-256"), KEYGEN_FMT_PEM, 0, &kek, &e),
		   ERR_NOT_OPERATIONAL);
	CU_ASSERT_PTR_NULL(e.key.p);

	keygen_kek_free(&kek);
	EVP_PKEY_free(rsa);
	CU_ASSERT_EQUAL(suite_init(), 0); /* back to OPERATIONAL for the rest */
}

TEST_SUITE(wrap, suite_init, suite_clean, TEST(test_rfc_vectors),
	   TEST(test_failed_unwrap_stays_in_bounds),
	   TEST(test_round_trips_and_tampering), TEST(test_size_checks), TEST(test_rsa_oaep),
	   TEST(test_error_state_refuses_wrapping))
