/* keygen/aead.c — AES-GCM (SP 800-38D) authenticated encryption, AES-CBC
 * (SP 800-38A §6.2) and SHA-256, from fount's library context
 * (keygen_libctx(): in FIPS mode the FIPS provider runs them). The key
 * store seals key material at rest with keygen_aead_seal; KMIP Encrypt and
 * Decrypt (api/ops.c) use the GCM and CBC calls with the client's keys.
 *
 * IVs: 96 bits from the DRBG tree (drbg_generate), the "RBG-based
 * construction" of SP 800-38D §8.2.2. With random IVs one key may seal at
 * most 2^32 messages (§8.3); the store's KEK seals one blob per stored key,
 * far below that. Open never returns partial plaintext: a failed tag check
 * wipes the output. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "keygen/internal.h"

static const char *gcm_name(size_t key_len)
{
	switch (key_len) {
	case 16: return "AES-128-GCM";
	case 24: return "AES-192-GCM";
	case 32: return "AES-256-GCM";
	default: return NULL;
	}
}

/* gcm_run encrypts (enc) or decrypts |in| with |key| and |iv|; on encrypt
 * it writes the tag to |tag|, on decrypt it checks |tag|. ERR_UNWRAP for a
 * tag mismatch. */
static err_t gcm_run(bool enc, const uint8_t *key, size_t key_len, const uint8_t *iv,
		     size_t iv_len, const uint8_t *aad, size_t aad_len, const uint8_t *in,
		     size_t in_len, uint8_t *out, uint8_t *tag, size_t tag_len)
{
	const char *name = gcm_name(key_len);
	ENSURE(name != NULL, ERR_INVALID_ARG);
	ENSURE(iv_len >= 1 && iv_len <= 128 && tag_len >= 12 && tag_len <= 16, ERR_INVALID_ARG);
	ENSURE(in_len <= KEYGEN_AEAD_MAX_INPUT && aad_len <= KEYGEN_AEAD_MAX_INPUT, ERR_TOO_LARGE);
	GUARD(keygen_gate());

	err_t r = enc ? ERR_CRYPTO : ERR_UNWRAP;
	const EVP_CIPHER *c = keygen_aes_cipher(true, key_len);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;
	OSSL_PARAM ivp[2] = {OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &iv_len),
			     OSSL_PARAM_construct_end()};
	if (c == NULL || ctx == NULL) {
		r = ERR_CRYPTO;
		goto out;
	}
	if (EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc ? 1 : 0, ivp) != 1 ||
	    EVP_CipherInit_ex2(ctx, NULL, key, iv, enc ? 1 : 0, NULL) != 1) {
		r = ERR_CRYPTO;
		goto out;
	}
	if (aad_len > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) {
		r = ERR_CRYPTO;
		goto out;
	}
	if (in_len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, tag) != 1) {
		r = ERR_CRYPTO;
		goto out;
	}
	if (EVP_CipherFinal_ex(ctx, out + n, &m) != 1)
		goto out; /* decrypt: the tag does not match */
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)tag_len, tag) != 1)
		goto out;
	r = ERR_OK;
out:
	if (r != ERR_OK && in_len > 0)
		secure_zero(out, in_len);
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

err_t keygen_aes_gcm_encrypt(const uint8_t *key, size_t key_len, const uint8_t *iv,
			     size_t iv_len, const uint8_t *aad, size_t aad_len,
			     const uint8_t *in, size_t in_len, uint8_t *out, uint8_t *tag,
			     size_t tag_len)
{
	ENSURE(key != NULL && iv != NULL && out != NULL && tag != NULL, ERR_INVALID_ARG);
	ENSURE(aad != NULL || aad_len == 0, ERR_INVALID_ARG);
	ENSURE(in != NULL || in_len == 0, ERR_INVALID_ARG);
	return gcm_run(true, key, key_len, iv, iv_len, aad, aad_len, in, in_len, out, tag, tag_len);
}

err_t keygen_aes_gcm_decrypt(const uint8_t *key, size_t key_len, const uint8_t *iv,
			     size_t iv_len, const uint8_t *aad, size_t aad_len,
			     const uint8_t *in, size_t in_len, uint8_t *out,
			     const uint8_t *tag, size_t tag_len)
{
	uint8_t t[16];
	ENSURE(key != NULL && iv != NULL && out != NULL && tag != NULL, ERR_INVALID_ARG);
	ENSURE(aad != NULL || aad_len == 0, ERR_INVALID_ARG);
	ENSURE(in != NULL || in_len == 0, ERR_INVALID_ARG);
	ENSURE(tag_len <= sizeof(t), ERR_INVALID_ARG);
	memcpy(t, tag, tag_len); /* EVP wants a writable tag */
	return gcm_run(false, key, key_len, iv, iv_len, aad, aad_len, in, in_len, out, t, tag_len);
}

/* ---- AES-CBC (SP 800-38A §6.2), optionally with PKCS#7 padding ---------- */

static const char *cbc_name(size_t key_len)
{
	switch (key_len) {
	case 16: return "AES-128-CBC";
	case 24: return "AES-192-CBC";
	case 32: return "AES-256-CBC";
	default: return NULL;
	}
}

/* cbc_run runs AES-CBC over |in| into |out| (|out_cap| bytes); *out_len
 * gets what was written. Decrypting with |pad|, a bad padding is
 * ERR_UNWRAP and |out| is wiped. */
static err_t cbc_run(bool enc, const uint8_t *key, size_t key_len, const uint8_t *iv, bool pad,
		     const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	const char *name = cbc_name(key_len);
	ENSURE(key != NULL && iv != NULL && out != NULL && out_len != NULL, ERR_INVALID_ARG);
	ENSURE(in != NULL || in_len == 0, ERR_INVALID_ARG);
	*out_len = 0;
	ENSURE(name != NULL, ERR_INVALID_ARG);
	ENSURE(in_len <= KEYGEN_AEAD_MAX_INPUT, ERR_TOO_LARGE);
	/* without padding the data must be whole blocks; decrypting with
	 * padding needs at least one block */
	ENSURE(pad || in_len % KEYGEN_CBC_BLOCK == 0, ERR_INVALID_ARG);
	ENSURE(enc || in_len % KEYGEN_CBC_BLOCK == 0, ERR_INVALID_ARG);
	ENSURE(enc || !pad || in_len >= KEYGEN_CBC_BLOCK, ERR_UNWRAP);
	size_t need = enc && pad ? (in_len / KEYGEN_CBC_BLOCK + 1) * KEYGEN_CBC_BLOCK : in_len;
	ENSURE(out_cap >= need, ERR_TOO_LARGE);
	GUARD(keygen_gate());

	err_t r = enc ? ERR_CRYPTO : ERR_UNWRAP;
	const EVP_CIPHER *c = keygen_aes_cipher(false, key_len);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;
	if (c == NULL || ctx == NULL || EVP_CipherInit_ex2(ctx, c, key, iv, enc ? 1 : 0, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, pad ? 1 : 0) != 1) {
		r = ERR_CRYPTO;
		goto out;
	}
	if (in_len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) != 1) {
		r = ERR_CRYPTO;
		goto out;
	}
	if (EVP_CipherFinal_ex(ctx, out + n, &m) != 1)
		goto out; /* decrypt: the padding is not PKCS#7 */
	*out_len = (size_t)n + (size_t)m;
	r = ERR_OK;
out:
	if (r != ERR_OK)
		secure_zero(out, need);
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

err_t keygen_aes_cbc_encrypt(const uint8_t *key, size_t key_len, const uint8_t iv[KEYGEN_CBC_BLOCK], bool pad,
			     const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	return cbc_run(true, key, key_len, iv, pad, in, in_len, out, out_cap, out_len);
}

err_t keygen_aes_cbc_decrypt(const uint8_t *key, size_t key_len, const uint8_t iv[KEYGEN_CBC_BLOCK], bool pad,
			     const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	return cbc_run(false, key, key_len, iv, pad, in, in_len, out, out_cap, out_len);
}

err_t keygen_aead_seal(const uint8_t *key, size_t key_len, const uint8_t *aad, size_t aad_len,
		       const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		       size_t *out_len)
{
	uint8_t iv[KEYGEN_AEAD_IV_LEN];
	ENSURE(out != NULL && out_len != NULL, ERR_INVALID_ARG);
	*out_len = 0;
	ENSURE(in_len <= KEYGEN_AEAD_MAX_INPUT, ERR_TOO_LARGE);
	ENSURE(out_cap >= in_len + KEYGEN_AEAD_OVERHEAD, ERR_TOO_LARGE);
	GUARD(drbg_generate(iv, sizeof(iv)));
	memcpy(out, iv, sizeof(iv));
	GUARD(keygen_aes_gcm_encrypt(key, key_len, iv, sizeof(iv), aad, aad_len, in, in_len,
				     out + KEYGEN_AEAD_IV_LEN,
				     out + KEYGEN_AEAD_IV_LEN + in_len, KEYGEN_AEAD_TAG_LEN));
	*out_len = in_len + KEYGEN_AEAD_OVERHEAD;
	return ERR_OK;
}

err_t keygen_aead_open(const uint8_t *key, size_t key_len, const uint8_t *aad, size_t aad_len,
		       const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		       size_t *out_len)
{
	ENSURE(in != NULL && out_len != NULL, ERR_INVALID_ARG);
	*out_len = 0;
	ENSURE(in_len >= KEYGEN_AEAD_OVERHEAD, ERR_UNWRAP);
	size_t n = in_len - KEYGEN_AEAD_OVERHEAD;
	ENSURE(out != NULL && out_cap >= n, ERR_TOO_LARGE);
	GUARD(keygen_aes_gcm_decrypt(key, key_len, in, KEYGEN_AEAD_IV_LEN, aad, aad_len,
				     in + KEYGEN_AEAD_IV_LEN, n, out,
				     in + KEYGEN_AEAD_IV_LEN + n, KEYGEN_AEAD_TAG_LEN));
	*out_len = n;
	return ERR_OK;
}

err_t keygen_sha256(const uint8_t *in, size_t len, uint8_t out[KEYGEN_SHA256_LEN])
{
	ENSURE((in != NULL || len == 0) && out != NULL, ERR_INVALID_ARG);
	/* the one keygen_init fetched; before it (no context yet) a fetch as
	 * before, from OpenSSL's default context */
	const EVP_MD *md = keygen_sha256_md();
	EVP_MD *fetched = md == NULL ? EVP_MD_fetch(keygen_libctx(), "SHA2-256", NULL) : NULL;
	if (md == NULL)
		md = fetched;
	unsigned n = 0;
	static const uint8_t empty[1];
	int ok = md != NULL && EVP_Digest(len ? in : empty, len, out, &n, md, NULL) == 1 &&
		 n == KEYGEN_SHA256_LEN;
	EVP_MD_free(fetched);
	return ok ? ERR_OK : ERR_CRYPTO;
}

/* ---- streaming HMAC-SHA-256 ------------------------------------------------ */

struct keygen_hmac {
	EVP_MAC_CTX *ctx;
	bool done;
};

err_t keygen_hmac_new(const uint8_t *key, size_t key_len, struct keygen_hmac **out)
{
	*out = NULL;
	ENSURE(key != NULL && key_len >= 1 && key_len <= 64, ERR_INVALID_ARG);
	GUARD(keygen_gate());
	struct keygen_hmac *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return ERR_NOMEM;
	char digest[] = "SHA2-256";
	OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
				OSSL_PARAM_construct_end()};
	EVP_MAC *mac = EVP_MAC_fetch(keygen_libctx(), "HMAC", NULL);
	if (mac != NULL)
		h->ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac); /* the context holds its own reference */
	if (h->ctx == NULL || EVP_MAC_init(h->ctx, key, key_len, params) != 1) {
		keygen_hmac_free(h);
		return ERR_CRYPTO;
	}
	*out = h;
	return ERR_OK;
}

err_t keygen_hmac_update(struct keygen_hmac *h, const void *in, size_t len)
{
	ENSURE(h != NULL && !h->done && (in != NULL || len == 0), ERR_INVALID_ARG);
	if (len == 0)
		return ERR_OK;
	return EVP_MAC_update(h->ctx, in, len) == 1 ? ERR_OK : ERR_CRYPTO;
}

err_t keygen_hmac_final(struct keygen_hmac *h, uint8_t out[KEYGEN_SHA256_LEN])
{
	ENSURE(h != NULL && !h->done, ERR_INVALID_ARG);
	size_t n = 0;
	h->done = true;
	if (EVP_MAC_final(h->ctx, out, &n, KEYGEN_SHA256_LEN) != 1 || n != KEYGEN_SHA256_LEN) {
		secure_zero(out, KEYGEN_SHA256_LEN);
		return ERR_CRYPTO;
	}
	return ERR_OK;
}

void keygen_hmac_free(struct keygen_hmac *h)
{
	if (h == NULL)
		return;
	EVP_MAC_CTX_free(h->ctx); /* OpenSSL cleanses the key it holds */
	free(h);
}
