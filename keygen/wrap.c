/* keygen/wrap.c — key wrapping: AES Key Wrap (SP 800-38F §6.2, RFC 3394),
 * AES Key Wrap with Padding (SP 800-38F §6.3, RFC 5649), and RSA-OAEP
 * (RFC 8017 §7.1) with SHA-256 and MGF1-SHA-256, all from fount's library
 * context. Unwrap never hands out partial output: the plaintext lands in the
 * caller's buffer (which holds keys, so should be secure memory) when it
 * has room for OpenSSL's failure-path cleanse, else in locked scratch
 * memory; any failure, the integrity check's included, wipes it. */
#include <string.h>

#include "keygen/internal.h"

CSP_USE("Symmetric keys", "the key-wrapping key and the key being wrapped or unwrapped (fount wrap, unwrap)");

#define KW_BLOCK 8 /* SP 800-38F: 64-bit semiblocks */

err_t keygen_wrap_alg_find(const char *name, enum keygen_wrap_alg *out)
{
	ENSURE(name != NULL && out != NULL, ERR_INVALID_ARG);
	if (strcmp(name, "kw") == 0)
		*out = KEYGEN_WRAP_KW;
	else if (strcmp(name, "kwp") == 0)
		*out = KEYGEN_WRAP_KWP;
	else if (strcmp(name, "rsa-oaep") == 0)
		*out = KEYGEN_WRAP_RSA_OAEP;
	else
		return ERR_INVALID_ARG;
	return ERR_OK;
}

size_t keygen_aes_wrap_len(enum keygen_wrap_alg alg, size_t in_len)
{
	if (in_len > KEYGEN_WRAP_MAX_INPUT)
		return 0;
	switch (alg) {
	case KEYGEN_WRAP_KW:
		/* SP 800-38F §6.2: n >= 2 semiblocks of plaintext */
		if (in_len < 2 * KW_BLOCK || in_len % KW_BLOCK != 0)
			return 0;
		return in_len + KW_BLOCK;
	case KEYGEN_WRAP_KWP:
		/* SP 800-38F §6.3 / RFC 5649 §4.1: pad to a multiple of 8, 1 <= len */
		if (in_len == 0)
			return 0;
		return (in_len + KW_BLOCK - 1) / KW_BLOCK * KW_BLOCK + KW_BLOCK;
	case KEYGEN_WRAP_RSA_OAEP:
	default:
		return 0;
	}
}

/* aes_wrap_run runs one wrap (enc) or unwrap (!enc) of |in| into |out|,
 * which holds at least in_len + 8 bytes. The default ICVs are used: RFC
 * 3394 §2.2.3.1 (A6A6A6A6A6A6A6A6) and RFC 5649 §3 (A65959A6 || MLI).
 * OpenSSL's wrap ciphers do the whole operation in one update and check
 * the ICV with CRYPTO_memcmp; a failed check returns an error and clears
 * the output. */
static err_t aes_wrap_run(const EVP_CIPHER *cipher, bool enc, const uint8_t *kek,
			  const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
	err_t r = enc ? ERR_CRYPTO : ERR_UNWRAP;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;

	ENSURE_GOTO(ctx != NULL, ERR_NOMEM);
	/* EVP refuses wrap modes unless the caller says it knows them */
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_CipherInit_ex2(ctx, cipher, kek, NULL, enc ? 1 : 0, NULL) != 1) {
		r = ERR_CRYPTO;
		goto out;
	}
	if (EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) != 1 || n <= 0)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + n, &m) != 1)
		goto out;
	*out_len = (size_t)n + (size_t)m;
	r = ERR_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

err_t keygen_aes_wrap(enum keygen_wrap_alg alg, const uint8_t *kek, size_t kek_len,
		      const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		      size_t *out_len)
{
	err_t r = ERR_INTERNAL;
	const EVP_CIPHER *cipher = NULL;
	size_t want = keygen_aes_wrap_len(alg, in_len), got = 0;

	ENSURE(kek != NULL && in != NULL && out != NULL && out_len != NULL, ERR_INVALID_ARG);
	*out_len = 0;
	GUARD(keygen_gate());
	ENSURE(alg == KEYGEN_WRAP_KW || alg == KEYGEN_WRAP_KWP, ERR_INVALID_ARG);
	ENSURE(kek_len == 16 || kek_len == 24 || kek_len == 32, ERR_INVALID_ARG);
	ENSURE(in_len <= KEYGEN_WRAP_MAX_INPUT, ERR_TOO_LARGE);
	ENSURE(want != 0, ERR_INVALID_ARG);
	ENSURE(out_cap >= want, ERR_TOO_LARGE);
	cipher = keygen_wrap_cipher(alg == KEYGEN_WRAP_KWP, kek_len);
	ENSURE_GOTO(cipher != NULL, ERR_UNSUPPORTED);
	GUARD_GOTO(aes_wrap_run(cipher, true, kek, in, in_len, out, &got));
	ENSURE_GOTO(got == want, ERR_CRYPTO);
	*out_len = got;
	r = ERR_OK;
out:
	if (r != ERR_OK)
		secure_zero(out, out_cap < want ? out_cap : want);
	return r;
}

err_t keygen_aes_unwrap(enum keygen_wrap_alg alg, const uint8_t *kek, size_t kek_len,
			const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
			size_t *out_len)
{
	err_t r = ERR_INTERNAL;
	const EVP_CIPHER *cipher = NULL;
	uint8_t *scratch = NULL;
	size_t got = 0;

	ENSURE(kek != NULL && in != NULL && out != NULL && out_len != NULL, ERR_INVALID_ARG);
	*out_len = 0;
	GUARD_GOTO(keygen_gate());
	ENSURE_GOTO(alg == KEYGEN_WRAP_KW || alg == KEYGEN_WRAP_KWP, ERR_INVALID_ARG);
	ENSURE_GOTO(kek_len == 16 || kek_len == 24 || kek_len == 32, ERR_INVALID_ARG);
	/* sizes before any allocation */
	ENSURE_GOTO(in_len <= KEYGEN_WRAP_MAX_INPUT + 2 * KW_BLOCK, ERR_TOO_LARGE);
	/* a wrapped key is whole semiblocks: KW at least 3 (§6.2), KWP at
	 * least 2 (§6.3); any other length is a damaged wrap */
	ENSURE_GOTO(in_len % KW_BLOCK == 0, ERR_UNWRAP);
	ENSURE_GOTO(in_len >= (alg == KEYGEN_WRAP_KW ? 3u : 2u) * KW_BLOCK, ERR_UNWRAP);
	ENSURE_GOTO(out_cap >= in_len - KW_BLOCK, ERR_TOO_LARGE);
	cipher = keygen_wrap_cipher(alg == KEYGEN_WRAP_KWP, kek_len);
	ENSURE_GOTO(cipher != NULL, ERR_UNSUPPORTED);
	/* Both unwraps write in_len - 8 bytes. On a failed check KW
	 * (CRYPTO_128_unwrap) cleanses the in_len - 8 it wrote, KWP
	 * (CRYPTO_128_unwrap_pad) cleanses in_len (crypto/modes/wrap128.c):
	 * with less room than that, unwrap into locked scratch and copy on
	 * success. A KW unwrap into a key-sized buffer, the usual call, thus
	 * costs no allocation and no copy of the key. */
	size_t room = alg == KEYGEN_WRAP_KW ? in_len - KW_BLOCK : in_len;
	if (out_cap >= room) {
		GUARD_GOTO(aes_wrap_run(cipher, false, kek, in, in_len, out, &got));
	} else {
		scratch = secmem_alloc(in_len, &r);
		ENSURE_GOTO(scratch != NULL, r);
		GUARD_GOTO(aes_wrap_run(cipher, false, kek, in, in_len, scratch, &got));
		ENSURE_GOTO(got <= out_cap, ERR_UNWRAP);
		memcpy(out, scratch, got);
	}
	ENSURE_GOTO(got > 0 && got <= in_len - KW_BLOCK, ERR_UNWRAP);
	ENSURE_GOTO(alg != KEYGEN_WRAP_KW || got == in_len - KW_BLOCK, ERR_UNWRAP);
	*out_len = got;
	r = ERR_OK;
out:
	secmem_free(scratch, in_len);
	/* no partial output: on any failure the caller's buffer holds zeros
	 * where a key could have been */
	if (r != ERR_OK)
		secure_zero(out, out_cap < in_len ? out_cap : in_len);
	return r;
}

/* ---- RSA-OAEP ------------------------------------------------------------------*/

#define OAEP_HASH_LEN 32 /* SHA-256 */

/* oaep_ctx sets up an RSA-OAEP context with SHA-256 for both the label
 * hash and MGF1 (RFC 8017 §7.1; SP 800-56B r2 §7.2.2). */
static EVP_PKEY_CTX *oaep_ctx(EVP_PKEY *kek, bool enc)
{
	char pad[] = OSSL_PKEY_RSA_PAD_MODE_OAEP;
	char md[] = "SHA2-256", mgf[] = "SHA2-256";
	/* construct_utf8_string measures the strings (the OSSL_PARAM_utf8_string
	 * macro would pass length 0, i.e. "") */
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, pad, 0),
		OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, md, 0),
		OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, mgf, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(keygen_libctx(), kek, NULL);
	if (ctx == NULL)
		return NULL;
	if ((enc ? EVP_PKEY_encrypt_init_ex(ctx, params) : EVP_PKEY_decrypt_init_ex(ctx, params)) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

err_t keygen_rsa_oaep_wrap(EVP_PKEY *kek, const uint8_t *in, size_t in_len,
			   uint8_t **out, size_t *out_len)
{
	err_t r = ERR_CRYPTO;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	size_t k, len;

	ENSURE(kek != NULL && in != NULL && out != NULL && out_len != NULL, ERR_INVALID_ARG);
	*out = NULL;
	*out_len = 0;
	GUARD(keygen_gate());
	ENSURE(EVP_PKEY_is_a(kek, "RSA"), ERR_KEY_FORMAT);
	ENSURE(EVP_PKEY_get_size(kek) > 0, ERR_KEY_FORMAT);
	k = (size_t)EVP_PKEY_get_size(kek);
	/* RFC 8017 §7.1.1 step 1b: mLen <= k - 2hLen - 2 */
	ENSURE(k > 2 * OAEP_HASH_LEN + 2, ERR_KEY_FORMAT);
	ENSURE(in_len > 0, ERR_INVALID_ARG);
	ENSURE(in_len <= k - 2 * OAEP_HASH_LEN - 2, ERR_TOO_LARGE);
	ctx = oaep_ctx(kek, true);
	ENSURE_GOTO(ctx != NULL, ERR_CRYPTO);
	buf = OPENSSL_malloc(k);
	ENSURE_GOTO(buf != NULL, ERR_NOMEM);
	len = k;
	if (EVP_PKEY_encrypt(ctx, buf, &len, in, in_len) <= 0 || len != k)
		goto out;
	*out = buf;
	*out_len = len;
	buf = NULL; /* transferred */
	r = ERR_OK;
out:
	OPENSSL_free(buf);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

err_t keygen_rsa_oaep_unwrap(EVP_PKEY *kek, const uint8_t *in, size_t in_len,
			     uint8_t **out, size_t *out_len, size_t *out_cap)
{
	err_t r = ERR_UNWRAP;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	size_t k = 0, len;

	ENSURE(kek != NULL && in != NULL && out != NULL && out_len != NULL && out_cap != NULL,
	       ERR_INVALID_ARG);
	*out = NULL;
	*out_len = 0;
	*out_cap = 0;
	GUARD(keygen_gate());
	ENSURE(EVP_PKEY_is_a(kek, "RSA"), ERR_KEY_FORMAT);
	ENSURE(EVP_PKEY_get_size(kek) > 0, ERR_KEY_FORMAT);
	k = (size_t)EVP_PKEY_get_size(kek);
	/* RFC 8017 §7.1.2 step 1b: the ciphertext is exactly k bytes */
	ENSURE(in_len == k, ERR_UNWRAP);
	ctx = oaep_ctx(kek, false);
	ENSURE_GOTO(ctx != NULL, ERR_CRYPTO);
	buf = secmem_alloc(k, &r);
	if (buf == NULL)
		goto out;
	len = k;
	/* one error for every failure (RFC 8017 §7.1.2 note: an attacker must
	 * not learn which check failed); OpenSSL's check is constant-time */
	if (EVP_PKEY_decrypt(ctx, buf, &len, in, in_len) <= 0 || len == 0 || len > k) {
		r = ERR_UNWRAP;
		goto out;
	}
	*out = buf;
	*out_len = len;
	*out_cap = k;
	buf = NULL; /* transferred */
	r = ERR_OK;
out:
	secmem_free(buf, k);
	EVP_PKEY_CTX_free(ctx);
	return r;
}
