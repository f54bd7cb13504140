/* tests/test_keygen.c — keygen/'s key types: every type generated,
 * exported, read back and used; the PCT break hooks; the gate. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keygen/keygen.h"
#include "selftest/selftest.h"
#include "tests/helpers.h"

static struct config cfg;

static int power_on(void)
{
	selftest_reset_for_testing();
	return selftest_power_on(&cfg, NULL, 0, NULL) == ERR_OK ? 0 : -1;
}

static int suite_init(void)
{
	config_defaults(&cfg);
	return power_on();
}

static int suite_clean(void)
{
	selftest_reset_for_testing();
	return 0;
}

static void test_type_table(void)
{
	const struct keygen_type *all;
	size_t n = keygen_types(&all);
	static const char *const want[] = {
		"aes-128", "aes-192", "aes-256", "hmac-sha256", "hmac-sha384", "hmac-sha512",
		"rsa-2048", "rsa-3072", "rsa-4096", "ec-p256", "ec-p384", "ec-p521",
		"ed25519", "x25519",
	};
	CU_ASSERT_EQUAL(n, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct keygen_type *t = keygen_type_find(want[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		CU_ASSERT_STRING_EQUAL(t->name, want[i]);
		CU_ASSERT((t->kind == KEYGEN_KIND_SYM) == (t->sym_len > 0));
		CU_ASSERT((t->kind == KEYGEN_KIND_SYM) == (t->pct_name == NULL));
		if (t->kind == KEYGEN_KIND_SYM)
			CU_ASSERT_EQUAL(t->sym_len * 8, t->bits);
	}
	CU_ASSERT_PTR_NULL(keygen_type_find("aes-512"));
	CU_ASSERT_PTR_NULL(keygen_type_find(NULL));
	/* every PCT name is a break name selftest/ accepts */
	for (size_t i = 0; i < n; i++)
		if (all[i].pct_name != NULL)
			EXPECT_OK(selftest_set_break(all[i].pct_name));
	EXPECT_OK(selftest_set_break(NULL));
}

static void test_symmetric(void)
{
	const struct keygen_type *all;
	size_t n = keygen_types(&all);
	for (size_t i = 0; i < n; i++) {
		const struct keygen_type *t = &all[i];
		if (t->kind != KEYGEN_KIND_SYM)
			continue;
		uint8_t *a = NULL, *b = NULL;
		size_t alen = 0, blen = 0;
		EXPECT_OK(keygen_sym_generate(t, 0, &a, &alen));
		EXPECT_OK(keygen_sym_generate(t, KEYGEN_F_PR, &b, &blen));
		CU_ASSERT_EQUAL(alen, t->sym_len);
		CU_ASSERT_EQUAL(blen, t->sym_len);
		if (a != NULL && b != NULL)
			CU_ASSERT_FALSE(memcmp(a, b, t->sym_len) == 0);
		secmem_free(a, alen);
		secmem_free(b, blen);
		/* into a caller's buffer: too small is refused, never overrun */
		uint8_t buf[64 + 1] = {0};
		EXPECT_ERR(keygen_sym_fill(t, 0, buf, t->sym_len - 1), ERR_TOO_LARGE);
		EXPECT_OK(keygen_sym_fill(t, 0, buf, sizeof(buf)));
		CU_ASSERT_EQUAL(buf[t->sym_len], 0);
	}
	uint8_t *k = NULL;
	size_t klen = 0;
	EXPECT_ERR(keygen_sym_generate(keygen_type_find("rsa-2048"), 0, &k, &klen), ERR_INVALID_ARG);
	EXPECT_ERR(keygen_sym_generate(keygen_type_find("aes-128"), 0x80, &k, &klen), ERR_INVALID_ARG);
	EVP_PKEY *pk = NULL;
	EXPECT_ERR(keygen_pkey_generate(keygen_type_find("aes-128"), &pk), ERR_INVALID_ARG);
}

/* use_pair proves a re-imported pair works: sign with the private key,
 * verify with the public; for X25519, agree with a fresh peer both ways. */
static void use_pair(const struct keygen_type *t, EVP_PKEY *priv, EVP_PKEY *pub)
{
	static const uint8_t msg[] = "fount keygen test";
	if (t->kind == KEYGEN_KIND_X25519) {
		EVP_PKEY *peer = EVP_PKEY_Q_keygen(keygen_libctx(), NULL, "X25519");
		uint8_t z1[32], z2[32];
		size_t l1 = 32, l2 = 32;
		EVP_PKEY_CTX *c1 = EVP_PKEY_CTX_new_from_pkey(keygen_libctx(), priv, NULL);
		EVP_PKEY_CTX *c2 = EVP_PKEY_CTX_new_from_pkey(keygen_libctx(), peer, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
		CU_ASSERT_EQUAL(EVP_PKEY_derive_init(c1), 1);
		CU_ASSERT_EQUAL(EVP_PKEY_derive_set_peer(c1, peer), 1);
		CU_ASSERT_EQUAL(EVP_PKEY_derive(c1, z1, &l1), 1);
		CU_ASSERT_EQUAL(EVP_PKEY_derive_init(c2), 1);
		CU_ASSERT_EQUAL(EVP_PKEY_derive_set_peer(c2, pub), 1);
		CU_ASSERT_EQUAL(EVP_PKEY_derive(c2, z2, &l2), 1);
		CU_ASSERT(l1 == 32 && l2 == 32 && memcmp(z1, z2, 32) == 0);
		EVP_PKEY_CTX_free(c1);
		EVP_PKEY_CTX_free(c2);
		EVP_PKEY_free(peer);
		return;
	}
	const char *md = t->kind == KEYGEN_KIND_ED25519 ? NULL : "SHA2-256";
	uint8_t sig[1024];
	size_t sig_len = sizeof(sig);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	CU_ASSERT_EQUAL(EVP_DigestSignInit_ex(m, NULL, md, keygen_libctx(), NULL, priv, NULL), 1);
	CU_ASSERT_EQUAL(EVP_DigestSign(m, sig, &sig_len, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(m);
	m = EVP_MD_CTX_new();
	CU_ASSERT_EQUAL(EVP_DigestVerifyInit_ex(m, NULL, md, keygen_libctx(), NULL, pub, NULL), 1);
	CU_ASSERT_EQUAL(EVP_DigestVerify(m, sig, sig_len, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(m);
	/* and a tampered signature does not verify */
	sig[0] ^= 1;
	m = EVP_MD_CTX_new();
	CU_ASSERT_EQUAL(EVP_DigestVerifyInit_ex(m, NULL, md, keygen_libctx(), NULL, pub, NULL), 1);
	CU_ASSERT_NOT_EQUAL(EVP_DigestVerify(m, sig, sig_len, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(m);
}

static void roundtrip(const struct keygen_type *t, EVP_PKEY *pkey, enum keygen_format fmt)
{
	uint8_t *priv = NULL, *pub = NULL;
	size_t priv_len = 0, pub_len = 0;
	EVP_PKEY *p1 = NULL, *p2 = NULL;

	EXPECT_OK(keygen_pkey_encode(pkey, KEYGEN_PART_PRIVATE, fmt, &priv, &priv_len));
	EXPECT_OK(keygen_pkey_encode(pkey, KEYGEN_PART_PUBLIC, fmt, &pub, &pub_len));
	CU_ASSERT_PTR_NOT_NULL_FATAL(priv);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	if (fmt == KEYGEN_FMT_PEM) {
		CU_ASSERT(priv_len > 28 && memcmp(priv, "-----BEGIN PRIVATE KEY-----", 27) == 0);
		CU_ASSERT(pub_len > 27 && memcmp(pub, "-----BEGIN PUBLIC KEY-----", 26) == 0);
	} else {
		CU_ASSERT_EQUAL(priv[0], 0x30); /* DER SEQUENCE */
		CU_ASSERT_EQUAL(pub[0], 0x30);
	}
	EXPECT_OK(keygen_pkey_decode(priv, priv_len, KEYGEN_PART_PRIVATE, &p1));
	EXPECT_OK(keygen_pkey_decode(pub, pub_len, KEYGEN_PART_PUBLIC, &p2));
	CU_ASSERT_PTR_EQUAL(keygen_pkey_type(p1), t);
	CU_ASSERT_PTR_EQUAL(keygen_pkey_type(p2), t);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(p1, pkey), 1);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(p2, pkey), 1);
	if (p1 != NULL && p2 != NULL) {
		use_pair(t, p1, p2);
		/* a re-imported key passes the same PCT */
		EXPECT_OK(keygen_pkey_pct(t, p1));
	}
	/* a public key is not a private key; DER with a trailing byte is refused */
	EVP_PKEY *bad = NULL;
	EXPECT_ERR(keygen_pkey_decode(pub, pub_len, KEYGEN_PART_PRIVATE, &bad), ERR_KEY_FORMAT);
	if (fmt == KEYGEN_FMT_DER) {
		uint8_t longer[8192];
		if (pub_len < sizeof(longer)) {
			memcpy(longer, pub, pub_len);
			longer[pub_len] = 0;
			EXPECT_ERR(keygen_pkey_decode(longer, pub_len + 1, KEYGEN_PART_PUBLIC, &bad),
				   ERR_KEY_FORMAT);
		}
		EXPECT_ERR(keygen_pkey_decode(priv, priv_len / 2, KEYGEN_PART_PRIVATE, &bad),
			   ERR_KEY_FORMAT);
	}
	CU_ASSERT_PTR_NULL(bad);
	EVP_PKEY_free(p1);
	EVP_PKEY_free(p2);
	secmem_free(priv, priv_len);
	secmem_free(pub, pub_len);
}

/* Every key-pair type, generated once (RSA-4096 included: this is the
 * only place the suite makes one), in both formats. */
static void test_every_key_pair(void)
{
	const struct keygen_type *all;
	size_t n = keygen_types(&all);
	for (size_t i = 0; i < n; i++) {
		const struct keygen_type *t = &all[i];
		if (t->kind == KEYGEN_KIND_SYM)
			continue;
		EVP_PKEY *pkey = NULL;
		EXPECT_OK(keygen_pkey_generate(t, &pkey));
		CU_ASSERT_PTR_NOT_NULL(pkey);
		if (pkey == NULL) {
			fprintf(stderr, "\n  %s: no key\n", t->name);
			continue;
		}
		CU_ASSERT_PTR_EQUAL(keygen_pkey_type(pkey), t);
		if (t->kind == KEYGEN_KIND_RSA) {
			BIGNUM *e = NULL;
			CU_ASSERT_EQUAL(EVP_PKEY_get_bn_param(pkey, "e", &e), 1);
			CU_ASSERT(e != NULL && BN_is_word(e, 65537));
			BN_free(e);
			CU_ASSERT_EQUAL(EVP_PKEY_get_bits(pkey), (int)t->bits);
		}
		roundtrip(t, pkey, KEYGEN_FMT_PEM);
		roundtrip(t, pkey, KEYGEN_FMT_DER);
		EVP_PKEY_free(pkey);
	}
	/* two keys of one type differ */
	EVP_PKEY *a = NULL, *b = NULL;
	EXPECT_OK(keygen_pkey_generate(keygen_type_find("ec-p256"), &a));
	EXPECT_OK(keygen_pkey_generate(keygen_type_find("ec-p256"), &b));
	CU_ASSERT_NOT_EQUAL(EVP_PKEY_eq(a, b), 1);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

static void test_decode_rejects_junk(void)
{
	static const char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	static const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	EVP_PKEY *p = NULL;
	EXPECT_ERR(keygen_pkey_decode((const uint8_t *)junk, sizeof(junk) - 1, KEYGEN_PART_PRIVATE, &p),
		   ERR_KEY_FORMAT);
	EXPECT_ERR(keygen_pkey_decode(der, sizeof(der), KEYGEN_PART_PUBLIC, &p), ERR_KEY_FORMAT);
	EXPECT_ERR(keygen_pkey_decode(der, 0, KEYGEN_PART_PUBLIC, &p), ERR_KEY_FORMAT);
	EXPECT_ERR(keygen_pkey_decode(der, KEYGEN_MAX_KEY_FILE + 1, KEYGEN_PART_PUBLIC, &p),
		   ERR_TOO_LARGE);
	CU_ASSERT_PTR_NULL(p);
}

/* Outside OPERATIONAL no key of any kind comes out. */
static void test_gate_refuses_keys(void)
{
	uint8_t *k = NULL;
	size_t klen = 0;
	EVP_PKEY *p = NULL;
	selftest_reset_for_testing();
	EXPECT_ERR(keygen_sym_generate(keygen_type_find("aes-256"), 0, &k, &klen), ERR_NOT_OPERATIONAL);
	EXPECT_ERR(keygen_pkey_generate(keygen_type_find("ec-p256"), &p), ERR_NOT_OPERATIONAL);
	CU_ASSERT_PTR_NULL(k);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL_FATAL(power_on(), 0);
}

/* module_running: the library context can still compute a SHA-256 (a FIPS
 * module in its error state refuses every operation). */
static bool module_running(void)
{
	uint8_t md[32];
	size_t len = 0;
	return EVP_Q_digest(keygen_libctx(), "SHA2-256", NULL, "x", 1, md, &len) == 1;
}

/* pct_break_child runs in a child process (a FIPS module whose PCT failed
 * stays in its error state for the life of the process): power on, break
 * |t|'s PCT, generate; returns the number of failed checks as exit code. */
static int pct_break_child(const struct keygen_type *t)
{
	int bad = 0;
	EVP_PKEY *p = NULL;
	uint8_t buf[16];
	bad += power_on() != 0;
	bad += selftest_set_break(t->pct_name) != ERR_OK;
	bad += keygen_pkey_generate(t, &p) != ERR_PCT;
	bad += p != NULL;
	bad += selftest_state() != SELFTEST_ERROR;
	const char *cause = selftest_error_cause();
	bad += cause == NULL || strcmp(cause, t->pct_name) != 0;
	bad += drbg_generate(buf, sizeof(buf)) != ERR_NOT_OPERATIONAL;
	bad += keygen_pkey_generate(keygen_type_find("ec-p384"), &p) != ERR_NOT_OPERATIONAL;
	/* whose PCT failed: the module's (it left its running state) where it
	 * tests the key itself, else fount's (the module runs on) */
	bad += module_running() == keygen_pct_by_module(t);
	return bad;
}

/* FOUNT_SELFTEST_BREAK=pct-*: the next key pair of that kind fails its
 * PCT, no key is returned, the module latches ERROR named after the PCT,
 * and the DRBG refuses output. In FIPS mode pct-rsa and pct-ec corrupt
 * the FIPS module's own PCT (fount runs none of its own on those keys), so
 * the module itself enters its error state too. */
static void test_pct_break_latches_error(void)
{
	static const char *const types[] = {"rsa-2048", "ec-p256", "ed25519", "x25519"};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		const struct keygen_type *t = keygen_type_find(types[i]);
		fflush(NULL);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0)
			_exit(pct_break_child(t));
		int st = -1;
		CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
		CU_ASSERT_TRUE(WIFEXITED(st));
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fprintf(stderr, "\n  %s: %d failed checks (status %#x)\n", t->name,
				WIFEXITED(st) ? WEXITSTATUS(st) : -1, st);
		CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
	}
	/* a PCT break only affects its own kind */
	CU_ASSERT_EQUAL_FATAL(power_on(), 0);
	EXPECT_OK(selftest_set_break("pct-rsa"));
	EVP_PKEY *p = NULL;
	EXPECT_OK(keygen_pkey_generate(keygen_type_find("ec-p256"), &p));
	EVP_PKEY_free(p);
	CU_ASSERT_EQUAL(selftest_state(), SELFTEST_OPERATIONAL);
	CU_ASSERT_TRUE(module_running());
	EXPECT_OK(selftest_set_break(NULL));
	CU_ASSERT_EQUAL_FATAL(power_on(), 0);
}

/* One PCT per key: the FIPS module tests RSA and EC keys itself (OpenSSL
 * 3.0 crypto/rsa/rsa_gen.c, crypto/ec/ec_key.c); Ed25519, X25519 and every
 * key of the default provider get fount's. */
static void test_pct_owner(void)
{
	const struct keygen_type *all;
	size_t n = keygen_types(&all);
	for (size_t i = 0; i < n; i++) {
		bool module_kind = all[i].kind == KEYGEN_KIND_RSA || all[i].kind == KEYGEN_KIND_EC;
		CU_ASSERT_EQUAL(keygen_pct_by_module(&all[i]), keygen_fips_mode() && module_kind);
	}
	CU_ASSERT_FALSE(keygen_pct_by_module(NULL));
}

/* AES-CBC (keygen/aead.c): SP 800-38A F.2.1 CBC-AES128.Encrypt without
 * padding, both ways; with PKCS#7 padding a whole block is added to whole
 * blocks, and a damaged padding is ERR_UNWRAP with the output wiped. */
static void test_aes_cbc(void)
{
	size_t kl, il, pl, cl;
	uint8_t *k = testlib_hex("2b7e151628aed2a6abf7158809cf4f3c", &kl);
	uint8_t *iv = testlib_hex("000102030405060708090a0b0c0d0e0f", &il);
	uint8_t *pt = testlib_hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
				  "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710", &pl);
	uint8_t *ct = testlib_hex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
				  "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7", &cl);
	uint8_t out[96], back[96];
	size_t n = 0, m = 0;
	EXPECT_OK(keygen_aes_cbc_encrypt(k, kl, iv, false, pt, pl, out, sizeof out, &n));
	CU_ASSERT(n == cl && memcmp(out, ct, cl) == 0);
	EXPECT_OK(keygen_aes_cbc_decrypt(k, kl, iv, false, ct, cl, back, sizeof back, &m));
	CU_ASSERT(m == pl && memcmp(back, pt, pl) == 0);
	/* padded: the same blocks, then one block of sixteen 0x10 */
	EXPECT_OK(keygen_aes_cbc_encrypt(k, kl, iv, true, pt, pl, out, sizeof out, &n));
	CU_ASSERT(n == pl + 16 && memcmp(out, ct, cl) == 0);
	EXPECT_OK(keygen_aes_cbc_decrypt(k, kl, iv, true, out, n, back, sizeof back, &m));
	CU_ASSERT(m == pl && memcmp(back, pt, pl) == 0);
	/* the unpadded ciphertext read as padded: its last byte is no padding */
	EXPECT_ERR(keygen_aes_cbc_decrypt(k, kl, iv, true, ct, cl, back, sizeof back, &m), ERR_UNWRAP);
	CU_ASSERT_EQUAL(m, 0);
	uint8_t zero[64] = {0};
	CU_ASSERT(memcmp(back, zero, sizeof zero) == 0);
	/* sizes: partial blocks without padding, a short output, a bad key */
	EXPECT_ERR(keygen_aes_cbc_encrypt(k, kl, iv, false, pt, 15, out, sizeof out, &n), ERR_INVALID_ARG);
	EXPECT_ERR(keygen_aes_cbc_decrypt(k, kl, iv, true, ct, 15, back, sizeof back, &m), ERR_INVALID_ARG);
	EXPECT_ERR(keygen_aes_cbc_encrypt(k, kl, iv, true, pt, pl, out, pl, &n), ERR_TOO_LARGE);
	EXPECT_ERR(keygen_aes_cbc_encrypt(k, 15, iv, true, pt, pl, out, sizeof out, &n), ERR_INVALID_ARG);
	free(k);
	free(iv);
	free(pt);
	free(ct);
}

TEST_SUITE(keygen, suite_init, suite_clean, TEST(test_type_table), TEST(test_symmetric),
	   TEST(test_every_key_pair), TEST(test_decode_rejects_junk),
	   TEST(test_gate_refuses_keys), TEST(test_pct_break_latches_error), TEST(test_pct_owner),
	   TEST(test_aes_cbc))
