/* selftest/kat.c — known-answer tests of the algorithms fount relies on,
 * run through keygen's library context (the provider the DRBG uses).
 *
 * Every input is a static const array, every expected output a published
 * value with its source named. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "selftest/internal.h"

/* FIPS 197 Appendix C.3 (AES-256). */
static const uint8_t kAesKey[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
static const uint8_t kAesPlain[16] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const uint8_t kAesCipher[16] = {
	0x8e, 0xa2, 0xb7, 0xca, 0x51, 0x67, 0x45, 0xbf, 0xea, 0xfc, 0x49, 0x90, 0x4b, 0x49, 0x60, 0x89};

/* FIPS 180-4 examples (csrc.nist.gov SHA_All.pdf): the message "abc". */
static const uint8_t kShaMsg[3] = {'a', 'b', 'c'};
static const uint8_t kSha256Abc[32] = {
	0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
	0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
static const uint8_t kSha512Abc[64] = {
	0xdd, 0xaf, 0x35, 0xa1, 0x93, 0x61, 0x7a, 0xba, 0xcc, 0x41, 0x73, 0x49, 0xae, 0x20, 0x41, 0x31,
	0x12, 0xe6, 0xfa, 0x4e, 0x89, 0xa9, 0x7e, 0xa2, 0x0a, 0x9e, 0xee, 0xe6, 0x4b, 0x55, 0xd3, 0x9a,
	0x21, 0x92, 0x99, 0x2a, 0x27, 0x4f, 0xc1, 0xa8, 0x36, 0xba, 0x3c, 0x23, 0xa3, 0xfe, 0xeb, 0xbd,
	0x45, 0x4d, 0x44, 0x23, 0x64, 0x3c, 0xe8, 0x0e, 0x2a, 0x9a, 0xc9, 0x4f, 0xa5, 0x4c, 0xa4, 0x9f};

/* RFC 4231 §4.3, test case 2. */
static const uint8_t kHmacKey[4] = {'J', 'e', 'f', 'e'};
static const char kHmacData[] = "what do ya want for nothing?";
static const uint8_t kHmacSha256[32] = {
	0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
	0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};

/* CTR_DRBG AES-256 with df: google/boringssl
 * crypto/fipsmodule/self_check/self_check.cc.inc (its power-on DRBG KAT:
 * kDRBGEntropy, kDRBGNonce, kDRBGPersonalization, kDRBGAD, kDRBGOutput,
 * kDRBGEntropy2, kDRBGReseedOutput); fount's CTR_DRBG, written from SP
 * 800-90A §10.2.1, reproduces both outputs. It covers personalization,
 * additional input on generate and a reseed with additional input. */
static const uint8_t kDrbgEntropy[32] = {
	0xc4, 0xda, 0x07, 0x40, 0xd5, 0x05, 0xf1, 0xee, 0x28, 0x0b, 0x95, 0xe5, 0x8c, 0x49, 0x31, 0xac,
	0x6d, 0xe8, 0x46, 0xa0, 0x15, 0x2f, 0xbb, 0x4a, 0x3f, 0x17, 0x4c, 0xf4, 0x78, 0x7a, 0x4f, 0x1a};
static const uint8_t kDrbgNonce[16] = {
	0x40, 0xc2, 0xb5, 0x0b, 0xab, 0xe1, 0x4a, 0xae, 0x53, 0x0b, 0xe5, 0x88, 0x6d, 0x91, 0x0a, 0x27};
static const char kDrbgPers[] = "BCMPersonalization";
static const char kDrbgAd[] = "BCM DRBG KAT AD ";
static const uint8_t kDrbgOutput[64] = {
	0x55, 0x88, 0x81, 0x88, 0x16, 0x49, 0x68, 0xd8, 0x23, 0xc8, 0x18, 0x57, 0x5d, 0x06, 0xc3, 0x5f,
	0x60, 0x3a, 0xe8, 0xfe, 0x7c, 0x7e, 0x1c, 0x4a, 0x6a, 0xa8, 0x91, 0x07, 0xc0, 0x0d, 0x1f, 0x70,
	0x4a, 0xbb, 0x20, 0x42, 0xd3, 0x3f, 0x19, 0xf1, 0xb1, 0xfc, 0xef, 0xa1, 0x71, 0xfd, 0xf7, 0xaf,
	0xc5, 0x12, 0x7a, 0x98, 0xad, 0x42, 0xbc, 0x01, 0xe6, 0xa2, 0x83, 0xbc, 0x73, 0xb5, 0xba, 0x84};
static const uint8_t kDrbgEntropy2[48] = {
	0xc7, 0x16, 0x1c, 0xa3, 0x6c, 0x23, 0x09, 0xb7, 0x16, 0xe9, 0x85, 0x9b, 0xb9, 0x6c, 0x6d, 0x49,
	0xbd, 0xc8, 0x35, 0x21, 0x03, 0xa1, 0x8c, 0xd2, 0x4e, 0xf4, 0x2e, 0xc9, 0x7e, 0xf4, 0x6b, 0xf4,
	0x46, 0xeb, 0x1a, 0x45, 0x76, 0xc1, 0x86, 0xe9, 0x35, 0x18, 0x03, 0x76, 0x3a, 0x79, 0x12, 0xfe};
static const uint8_t kDrbgReseedOutput[64] = {
	0xda, 0x49, 0xa1, 0x01, 0x31, 0x71, 0x77, 0xde, 0xf6, 0x8d, 0xb5, 0x4f, 0x86, 0x0d, 0xc8, 0xd6,
	0x3c, 0xaa, 0xbc, 0x72, 0x0a, 0x9c, 0x8b, 0x68, 0xa9, 0x70, 0xf1, 0x21, 0x13, 0xce, 0xc6, 0xbc,
	0xff, 0xaf, 0xa8, 0xd5, 0x26, 0x76, 0x26, 0xcc, 0x0d, 0x89, 0x66, 0xab, 0xc2, 0x11, 0xa8, 0x2f,
	0xf1, 0x36, 0xa3, 0x2b, 0x52, 0xcd, 0x1a, 0x2d, 0xe4, 0x82, 0xac, 0x3c, 0xbb, 0xa9, 0x17, 0x90};

/* aes256_ecb runs one block of AES-256-ECB in keygen's library context. */
static err_t aes256_ecb(bool encrypt, const uint8_t in[16], uint8_t out[16])
{
	err_t r = ERR_CRYPTO;
	EVP_CIPHER *c = EVP_CIPHER_fetch(keygen_libctx(), "AES-256-ECB", NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;
	if (c == NULL || ctx == NULL)
		goto out;
	if (EVP_CipherInit_ex2(ctx, c, kAesKey, NULL, encrypt ? 1 : 0, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, 16) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + n, &m) != 1 || n + m != 16)
		goto out;
	r = ERR_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return r;
}

err_t selftest_kat_aes256_enc(char *detail, size_t len)
{
	uint8_t out[16];
	err_t r = aes256_ecb(true, kAesPlain, out);
	if (r != ERR_OK) {
		selftest_note(detail, len, "AES-256-ECB encrypt unavailable");
		return r;
	}
	return selftest_check("aes256-enc", kAesCipher, out, sizeof(out));
}

err_t selftest_kat_aes256_dec(char *detail, size_t len)
{
	uint8_t out[16];
	err_t r = aes256_ecb(false, kAesCipher, out);
	if (r != ERR_OK) {
		selftest_note(detail, len, "AES-256-ECB decrypt unavailable");
		return r;
	}
	return selftest_check("aes256-dec", kAesPlain, out, sizeof(out));
}

static err_t digest(const char *alg, const uint8_t *msg, size_t msg_len,
		    uint8_t *out, size_t out_len)
{
	err_t r = ERR_CRYPTO;
	EVP_MD *md = EVP_MD_fetch(keygen_libctx(), alg, NULL);
	unsigned n = 0;
	if (md == NULL || (size_t)EVP_MD_get_size(md) != out_len)
		goto out;
	if (EVP_Digest(msg, msg_len, out, &n, md, NULL) != 1 || n != out_len)
		goto out;
	r = ERR_OK;
out:
	EVP_MD_free(md);
	return r;
}

err_t selftest_kat_sha256(char *detail, size_t len)
{
	uint8_t out[32];
	if (digest("SHA2-256", kShaMsg, sizeof(kShaMsg), out, sizeof(out)) != ERR_OK) {
		selftest_note(detail, len, "SHA-256 unavailable");
		return ERR_CRYPTO;
	}
	return selftest_check("sha256", kSha256Abc, out, sizeof(out));
}

err_t selftest_kat_sha512(char *detail, size_t len)
{
	uint8_t out[64];
	if (digest("SHA2-512", kShaMsg, sizeof(kShaMsg), out, sizeof(out)) != ERR_OK) {
		selftest_note(detail, len, "SHA-512 unavailable");
		return ERR_CRYPTO;
	}
	return selftest_check("sha512", kSha512Abc, out, sizeof(out));
}

err_t selftest_kat_hmac_sha256(char *detail, size_t len)
{
	uint8_t out[32];
	size_t n = 0;
	if (EVP_Q_mac(keygen_libctx(), "HMAC", NULL, "SHA2-256", NULL, kHmacKey,
		      sizeof(kHmacKey), (const uint8_t *)kHmacData,
		      strlen(kHmacData), out, sizeof(out), &n) == NULL ||
	    n != sizeof(out)) {
		selftest_note(detail, len, "HMAC-SHA-256 unavailable");
		return ERR_CRYPTO;
	}
	return selftest_check("hmac-sha256", kHmacSha256, out, sizeof(out));
}

/* SP 800-90A §11.3: instantiate, generate, reseed, generate, each checked. */
err_t selftest_kat_ctr_drbg(char *detail, size_t len)
{
	err_t r = ERR_INTERNAL;
	struct ctr_drbg *d = NULL;
	uint8_t out[64];

	GUARD_GOTO(ctr_drbg_new(&d));
	selftest_note(detail, len, "instantiate");
	GUARD_GOTO(ctr_drbg_instantiate(d, kDrbgEntropy, sizeof(kDrbgEntropy),
					kDrbgNonce, sizeof(kDrbgNonce),
					(const uint8_t *)kDrbgPers, strlen(kDrbgPers)));
	selftest_note(detail, len, "generate");
	GUARD_GOTO(ctr_drbg_generate(d, out, sizeof(out), (const uint8_t *)kDrbgAd,
				     strlen(kDrbgAd)));
	GUARD_GOTO(selftest_check("ctr-drbg", kDrbgOutput, out, sizeof(out)));
	selftest_note(detail, len, "reseed");
	GUARD_GOTO(ctr_drbg_reseed(d, kDrbgEntropy2, sizeof(kDrbgEntropy2),
				   (const uint8_t *)kDrbgAd, strlen(kDrbgAd)));
	selftest_note(detail, len, "generate after reseed");
	GUARD_GOTO(ctr_drbg_generate(d, out, sizeof(out), (const uint8_t *)kDrbgAd,
				     strlen(kDrbgAd)));
	GUARD_GOTO(selftest_check("ctr-drbg", kDrbgReseedOutput, out, sizeof(out)));
	selftest_note(detail, len, "");
	r = ERR_OK;
out:
	ctr_drbg_free(d);
	return r;
}

/* SP 800-90A §11.3: uninstantiate must leave nothing of the state behind. */
err_t selftest_kat_ctr_drbg_zeroize(char *detail, size_t len)
{
	err_t r = ERR_INTERNAL;
	struct ctr_drbg *d = NULL;
	uint8_t out[16];
	static const uint8_t zero[1] = {0};

	GUARD_GOTO(ctr_drbg_new(&d));
	GUARD_GOTO(ctr_drbg_instantiate(d, kDrbgEntropy, sizeof(kDrbgEntropy),
					kDrbgNonce, sizeof(kDrbgNonce), NULL, 0));
	GUARD_GOTO(ctr_drbg_generate(d, out, sizeof(out), NULL, 0));
	ctr_drbg_uninstantiate(d);
	uint8_t nonzero[1] = {ctr_drbg_is_zero(d) ? 0 : 1};
	selftest_note(detail, len, nonzero[0] ? "state not zero after uninstantiate" : "");
	r = selftest_check("ctr-drbg-zeroize", zero, nonzero, 1);
out:
	ctr_drbg_free(d);
	return r;
}

/* The health tests must catch what they exist to catch. A stuck source
 * must trip the Repetition Count Test exactly at its cutoff; a biased one
 * (one value in 70% of samples, never three in a row) must trip the
 * Adaptive Proportion Test and never the RCT. */
static err_t first_failure(const struct entropy_health_cutoffs *c,
			   uint8_t (*sample)(unsigned i), unsigned limit,
			   err_t *out_code, unsigned *out_index)
{
	struct entropy_health t;
	entropy_health_init(&t, c);
	for (unsigned i = 0; i < limit; i++) {
		err_t e = entropy_health_insert(&t, sample(i));
		if (e != ERR_OK) {
			*out_code = e;
			*out_index = i;
			return ERR_OK;
		}
	}
	*out_code = ERR_OK;
	*out_index = limit;
	return ERR_OK;
}

static uint8_t stuck_sample(unsigned i)
{
	UNUSED(i);
	return 0x5a;
}

static uint8_t biased_sample(unsigned i)
{
	/* pattern of 10: seven 0x00 in pairs split by other values */
	static const uint8_t pat[10] = {0, 0, 1, 0, 0, 2, 0, 0, 3, 0};
	return (uint8_t)(pat[i % 10] == 0 ? 0 : pat[i % 10] + (i / 10) % 200);
}

static void put_u32(uint8_t out[8], err_t code, unsigned index)
{
	uint32_t c = (uint32_t)-code;
	for (int i = 0; i < 4; i++) {
		out[i] = (uint8_t)(c >> (24 - 8 * i));
		out[4 + i] = (uint8_t)(index >> (24 - 8 * i));
	}
}

err_t selftest_health_rct(char *detail, size_t len)
{
	struct entropy_health_cutoffs c;
	err_t code = ERR_OK;
	unsigned index = 0;
	uint8_t want[8], got[8];

	GUARD(entropy_health_cutoffs(&c, 8, 4.0, 20));
	GUARD(first_failure(&c, stuck_sample, 4096, &code, &index));
	/* the run of C identical samples ends at index C - 1 */
	put_u32(want, ERR_HEALTH_RCT, c.rct_intermittent - 1);
	put_u32(got, code, index);
	selftest_note(detail, len, code == ERR_HEALTH_RCT ? "" : "stuck sequence not caught by RCT");
	return selftest_check("health-rct", want, got, sizeof(got));
}

err_t selftest_health_apt(char *detail, size_t len)
{
	struct entropy_health_cutoffs c;
	err_t code = ERR_OK;
	unsigned index = 0;
	uint8_t want[8], got[8];

	GUARD(entropy_health_cutoffs(&c, 8, 4.0, 20));
	GUARD(first_failure(&c, biased_sample, 4096, &code, &index));
	/* 0x00 opens the window and is 7 of every 10 samples: the count
	 * reaches C at the C-th zero, which is sample 10*(C/7) + offset */
	unsigned zeros = 0, expect = 0;
	for (unsigned i = 0; i < c.apt_window; i++) {
		if (biased_sample(i) == 0 && ++zeros == c.apt_intermittent) {
			expect = i;
			break;
		}
	}
	put_u32(want, ERR_HEALTH_APT, expect);
	put_u32(got, code, index);
	selftest_note(detail, len, code == ERR_HEALTH_APT ? "" : "biased sequence not caught by APT");
	return selftest_check("health-apt", want, got, sizeof(got));
}
