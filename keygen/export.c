/* keygen/export.c — a new key's bytes: generate, encode, optionally wrap
 * under a key-encryption key. One path for every caller that hands a key
 * out (`fount keygen`, and the KMIP and HTTP servers), so the order of the
 * steps and the wiping of the plaintext live in one place. */
#include <string.h>

#include "keygen/internal.h"

CSP_USE("Symmetric keys", "keys being wrapped with AES-KW/KWP for a wrapped Get or export, and the wrapping key");

void keygen_buf_free(struct keygen_buf *b)
{
	if (b == NULL)
		return;
	secmem_free(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

/* ---- key-encryption keys -------------------------------------------------------*/

size_t keygen_kek_max_len(enum keygen_wrap_alg alg)
{
	switch (alg) {
	case KEYGEN_WRAP_KW:
	case KEYGEN_WRAP_KWP:
		return KEYGEN_KEK_AES_MAX;
	case KEYGEN_WRAP_RSA_OAEP:
		return KEYGEN_MAX_KEY_FILE;
	default:
		return 0;
	}
}

void keygen_kek_free(struct keygen_kek *k)
{
	if (k == NULL)
		return;
	keygen_buf_free(&k->aes);
	EVP_PKEY_free(k->rsa); /* clears a private key */
	memset(k, 0, sizeof(*k));
}

err_t keygen_kek_load(enum keygen_wrap_alg alg, enum keygen_part part, const uint8_t *in,
		      size_t in_len, struct keygen_kek *out)
{
	err_t r = ERR_INTERNAL;

	ENSURE(out != NULL, ERR_INVALID_ARG);
	memset(out, 0, sizeof(*out));
	ENSURE(in != NULL, ERR_INVALID_ARG);
	ENSURE(keygen_kek_max_len(alg) != 0, ERR_INVALID_ARG);
	ENSURE(in_len <= keygen_kek_max_len(alg), ERR_TOO_LARGE);
	out->alg = alg;
	if (alg != KEYGEN_WRAP_RSA_OAEP) {
		/* SP 800-38F §5.1: the KEK is an AES key, 128, 192 or 256 bits */
		ENSURE(in_len == 16 || in_len == 24 || in_len == 32, ERR_KEY_FORMAT);
		out->aes.p = secmem_alloc(in_len, &r);
		ENSURE(out->aes.p != NULL, r);
		out->aes.cap = out->aes.len = in_len;
		memcpy(out->aes.p, in, in_len);
		return ERR_OK;
	}
	ENSURE(part == KEYGEN_PART_PUBLIC || part == KEYGEN_PART_PRIVATE, ERR_INVALID_ARG);
	GUARD_GOTO(keygen_pkey_decode(in, in_len, part, &out->rsa));
	ENSURE_GOTO(EVP_PKEY_is_a(out->rsa, "RSA"), ERR_KEY_FORMAT);
	r = ERR_OK;
out:
	if (r != ERR_OK)
		keygen_kek_free(out);
	return r;
}

err_t keygen_kek_load_file(enum keygen_wrap_alg alg, enum keygen_part part, const char *path,
			   struct keygen_kek *out)
{
	err_t r = ERR_INTERNAL;
	size_t cap = keygen_kek_max_len(alg), len = 0;
	uint8_t *buf = NULL;

	ENSURE(out != NULL, ERR_INVALID_ARG);
	memset(out, 0, sizeof(*out));
	ENSURE(path != NULL && cap != 0, ERR_INVALID_ARG);
	/* a file longer than the longest KEK is ERR_TOO_LARGE from the read
	 * itself, before any of it is taken as a key */
	buf = secmem_alloc(cap, &r);
	ENSURE(buf != NULL, r);
	GUARD_GOTO(file_read_bounded(path, buf, cap, &len, NULL));
	ENSURE_GOTO(len > 0, ERR_KEY_FORMAT);
	r = keygen_kek_load(alg, part, buf, len, out);
out:
	secmem_free(buf, cap);
	return r;
}

err_t keygen_kek_wrap(const struct keygen_kek *k, const uint8_t *key, size_t key_len,
		      struct keygen_buf *out)
{
	err_t r = ERR_INTERNAL;
	uint8_t *oaep = NULL;
	size_t oaep_len = 0;

	ENSURE(out != NULL, ERR_INVALID_ARG);
	memset(out, 0, sizeof(*out));
	ENSURE(k != NULL && key != NULL, ERR_INVALID_ARG);
	if (k->alg == KEYGEN_WRAP_RSA_OAEP) {
		ENSURE(k->rsa != NULL, ERR_INVALID_ARG);
		GUARD(keygen_rsa_oaep_wrap(k->rsa, key, key_len, &oaep, &oaep_len));
		out->p = secmem_alloc(oaep_len, &r);
		ENSURE_GOTO(out->p != NULL, r);
		memcpy(out->p, oaep, oaep_len);
		out->cap = out->len = oaep_len;
		r = ERR_OK;
		goto out;
	}
	ENSURE(k->aes.p != NULL, ERR_INVALID_ARG);
	size_t cap = keygen_aes_wrap_len(k->alg, key_len);
	ENSURE(cap != 0, ERR_INVALID_ARG);
	out->p = secmem_alloc(cap, &r);
	ENSURE(out->p != NULL, r);
	out->cap = cap;
	GUARD_GOTO(keygen_aes_wrap(k->alg, k->aes.p, k->aes.len, key, key_len, out->p, out->cap,
				   &out->len));
	r = ERR_OK;
out:
	OPENSSL_free(oaep);
	if (r != ERR_OK)
		keygen_buf_free(out);
	return r;
}

err_t keygen_kek_unwrap(const struct keygen_kek *k, const uint8_t *in, size_t in_len,
			struct keygen_buf *out)
{
	err_t r = ERR_INTERNAL;

	ENSURE(out != NULL, ERR_INVALID_ARG);
	memset(out, 0, sizeof(*out));
	ENSURE(k != NULL && in != NULL, ERR_INVALID_ARG);
	if (k->alg == KEYGEN_WRAP_RSA_OAEP) {
		ENSURE(k->rsa != NULL, ERR_INVALID_ARG);
		return keygen_rsa_oaep_unwrap(k->rsa, in, in_len, &out->p, &out->len, &out->cap);
	}
	ENSURE(k->aes.p != NULL, ERR_INVALID_ARG);
	/* the plaintext is 8 bytes shorter (SP 800-38F §6.2, §6.3): an input
	 * too short to be a wrap is keygen_aes_unwrap's ERR_UNWRAP */
	out->cap = in_len > 0 ? in_len : 1;
	out->p = secmem_alloc(out->cap, &r);
	if (out->p == NULL) {
		out->cap = 0;
		return r;
	}
	r = keygen_aes_unwrap(k->alg, k->aes.p, k->aes.len, in, in_len, out->p, out->cap,
			      &out->len);
	if (r != ERR_OK)
		keygen_buf_free(out);
	return r;
}

/* ---- a new key, out ---------------------------------------------------------------*/

void keygen_export_free(struct keygen_export *e)
{
	if (e == NULL)
		return;
	keygen_buf_free(&e->key);
	keygen_buf_free(&e->pub);
	e->plain_len = 0;
}

err_t keygen_export(const struct keygen_type *t, enum keygen_format fmt, unsigned flags,
		    const struct keygen_kek *kek, struct keygen_export *out)
{
	err_t r = ERR_INTERNAL;
	EVP_PKEY *pkey = NULL;
	struct keygen_buf plain = {0};

	ENSURE(out != NULL, ERR_INVALID_ARG);
	memset(out, 0, sizeof(*out));
	ENSURE(t != NULL, ERR_INVALID_ARG);
	ENSURE((flags & ~(KEYGEN_F_PR | KEYGEN_EXPORT_PUB)) == 0, ERR_INVALID_ARG);
	ENSURE(fmt == KEYGEN_FMT_PEM || fmt == KEYGEN_FMT_DER, ERR_INVALID_ARG);
	bool sym = t->kind == KEYGEN_KIND_SYM;
	/* every refusal that does not need the key comes before it is made */
	ENSURE(!sym || !(flags & KEYGEN_EXPORT_PUB), ERR_INVALID_ARG);
	ENSURE(kek == NULL || sym || kek->alg != KEYGEN_WRAP_KW, ERR_INVALID_ARG);

	if (sym) {
		GUARD_GOTO(keygen_sym_generate(t, flags & KEYGEN_F_PR, &plain.p, &plain.len));
		plain.cap = plain.len;
	} else {
		GUARD_GOTO(keygen_pkey_generate(t, &pkey));
		GUARD_GOTO(keygen_pkey_encode(pkey, KEYGEN_PART_PRIVATE, fmt, &plain.p, &plain.len));
		plain.cap = plain.len;
		if (flags & KEYGEN_EXPORT_PUB) {
			GUARD_GOTO(keygen_pkey_encode(pkey, KEYGEN_PART_PUBLIC, fmt, &out->pub.p,
						      &out->pub.len));
			out->pub.cap = out->pub.len;
		}
	}
	out->plain_len = plain.len;
	if (kek != NULL) {
		GUARD_GOTO(keygen_kek_wrap(kek, plain.p, plain.len, &out->key));
	} else {
		out->key = plain;
		memset(&plain, 0, sizeof(plain)); /* transferred */
	}
	r = ERR_OK;
out:
	keygen_buf_free(&plain); /* the plaintext of a wrapped key */
	EVP_PKEY_free(pkey);     /* clears the private key */
	if (r != ERR_OK) {
		size_t plain_len = out->plain_len;
		keygen_export_free(out);
		out->plain_len = plain_len;
	}
	return r;
}
