/* hsm/import.c — fount's keys into the HSM, and the KEK ceremony.
 *
 * A key fount made enters the HSM only wrapped: fount wraps it under its
 * copy of a transport KEK with AES-KWP (SP 800-38F §6.3, RFC 5649) and the
 * HSM unwraps it with the same KEK (C_UnwrapKey, CKM_AES_KEY_WRAP_PAD,
 * PKCS#11 v2.40 current mechanisms §2.14). The KEK itself is the one key
 * that goes in as plaintext, once, in the ceremony (hsm_kek_create). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hsm/hsm.h"
#include "keygen/keygen.h"

CSP_USE("Symmetric keys", "keys imported into the HSM and the transport KEK that wraps them, in locked memory");

struct hsm_import_key {
	EVP_PKEY *pkey;                /* a key pair, or NULL for an AES key */
	const struct keygen_type *type;
	size_t aes_len;
	uint8_t aes[HSM_AES_KEY_MAX];
};

/* An HSM label: what hsm/objects.c accepts (a CKA_LABEL fount can list). */
static bool label_ok(const char *label)
{
	return label[0] != '\0' && strlen(label) < 64;
}

err_t hsm_aes_key_parse(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
			size_t *out_len)
{
	char hex[2 * HSM_AES_KEY_MAX + 1];
	size_t text = len;

	*out_len = 0;
	ENSURE(cap >= HSM_AES_KEY_MAX, ERR_INVALID_ARG);
	/* hex first: 32 hex digits written with `echo -n` are 32 bytes too, and
	 * must not become an AES-256 key made of ASCII. (A random 32-byte raw
	 * key is all hex digits with probability (22/256)^32, about 1e-34.) */
	while (text > 0 && (in[text - 1] == '\n' || in[text - 1] == '\r'))
		text--;
	if (text == 32 || text == 64) {
		memcpy(hex, in, text);
		hex[text] = '\0';
		err_t r = hex_decode(out, HSM_AES_KEY_MAX, out_len, hex);
		secure_zero(hex, sizeof(hex));
		/* hex_decode reads a C string: a NUL among the bytes ends it
		 * early ("" decodes to 0 bytes, "ab" to 1), so only all |text|
		 * bytes as digits make a hex key. Without this check a raw
		 * 32-byte key whose first byte is 0x00 (1 in 256 of them)
		 * became an empty key. */
		if (r == ERR_OK && *out_len == text / 2)
			return ERR_OK;
		*out_len = 0;
	}
	if (len == 16 || len == 32) {
		memcpy(out, in, len);
		*out_len = len;
		return ERR_OK;
	}
	return ERR_KEY_FORMAT;
}

void hsm_import_key_free(struct hsm_import_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey); /* clears the private key */
	secmem_free(k, sizeof(*k));
}

err_t hsm_import_key_parse(const uint8_t *in, size_t len, struct hsm_import_key **out)
{
	err_t r = ERR_INTERNAL;
	struct hsm_import_key *k = secmem_alloc(sizeof(*k), &r);

	*out = NULL;
	ENSURE(k != NULL, r);
	if (hsm_aes_key_parse(in, len, k->aes, sizeof(k->aes), &k->aes_len) == ERR_OK) {
		k->type = keygen_type_find(k->aes_len == 16 ? "aes-128" : "aes-256");
	} else if (keygen_pkey_decode(in, len, KEYGEN_PART_PRIVATE, &k->pkey) == ERR_OK) {
		k->type = keygen_pkey_type(k->pkey); /* never NULL: decode checks it */
	}
	ENSURE_GOTO(k->type != NULL, ERR_KEY_FORMAT);
	*out = k;
	k = NULL; /* transferred */
	r = ERR_OK;
out:
	hsm_import_key_free(k);
	return r;
}

const struct keygen_type *hsm_import_key_type(const struct hsm_import_key *k)
{
	return k->type;
}

/* import_pair: the private key's PKCS#8 DER is wrapped in fount (RFC 5649)
 * and unwrapped inside the HSM; the public half goes in as it is. */
static err_t import_pair(struct hsm *h, const EVP_PKEY *pkey, const uint8_t *kek,
			 size_t kek_len, const char *kek_label, const char *label, unsigned flags)
{
	err_t r = ERR_INTERNAL;
	uint8_t *der = NULL, *wrapped = NULL;
	size_t der_len = 0, wcap = 0, wlen = 0;

	GUARD_GOTO(keygen_pkey_encode(pkey, KEYGEN_PART_PRIVATE, KEYGEN_FMT_DER, &der, &der_len));
	wcap = keygen_aes_wrap_len(KEYGEN_WRAP_KWP, der_len);
	ENSURE_GOTO(wcap != 0, ERR_TOO_LARGE);
	wrapped = malloc(wcap); /* a wrapped key is not secret */
	ENSURE_GOTO(wrapped != NULL, ERR_NOMEM);
	GUARD_GOTO(keygen_aes_wrap(KEYGEN_WRAP_KWP, kek, kek_len, der, der_len, wrapped, wcap, &wlen));
	GUARD_GOTO(hsm_import_keypair(h, kek_label, wrapped, wlen, pkey, label, flags));
	r = ERR_OK;
out:
	secmem_free(der, der_len);
	free(wrapped);
	return r;
}

err_t hsm_import(struct hsm *h, const char *kek_label, const uint8_t *kek, size_t kek_len,
		 const struct hsm_import_key *key, const char *label, unsigned flags)
{
	uint8_t wrapped[HSM_AES_KEY_MAX + 8]; /* RFC 5649: 8 bytes more */
	size_t wlen = 0;

	ENSURE(kek_len == 16 || kek_len == 32, ERR_INVALID_ARG);
	ENSURE(label_ok(label), ERR_INVALID_ARG);
	if (key->pkey != NULL)
		return import_pair(h, key->pkey, kek, kek_len, kek_label, label, flags);
	/* RFC 5649 in fount (keygen), RFC 5649 again inside the HSM: only the
	 * wrapped form crosses the PKCS#11 boundary */
	GUARD(keygen_aes_wrap(KEYGEN_WRAP_KWP, kek, kek_len, key->aes, key->aes_len, wrapped,
			      sizeof(wrapped), &wlen));
	return hsm_import_wrapped(h, kek_label, wrapped, wlen,
				  key->aes_len == 16 ? HSM_KEY_AES_128 : HSM_KEY_AES_256, label,
				  flags);
}

/* ---- the KEK ceremony --------------------------------------------------------- */

err_t hsm_kek_create(struct hsm *h, const char *label, const struct hsm_kek_copy *copy)
{
	enum { KEK_LEN = 32 }; /* AES-256 */
	err_t r = ERR_INTERNAL;
	uint8_t *kek = NULL;

	ENSURE(copy->keep != NULL && copy->discard != NULL, ERR_INVALID_ARG);
	ENSURE(label_ok(label), ERR_INVALID_ARG);
	kek = secmem_alloc(KEK_LEN, &r);
	ENSURE(kek != NULL, r);
	/* a long-term key: prediction resistance reseeds from the noise first */
	GUARD_GOTO(drbg_generate_pr(kek, KEK_LEN));
	/* fount's copy first: never a KEK in the HSM without it */
	GUARD_GOTO(copy->keep(copy->ctx, kek, KEK_LEN));
	r = hsm_kek_install(h, label, kek, KEK_LEN, 0);
	if (r != ERR_OK)
		copy->discard(copy->ctx); /* no orphan copy of a KEK the HSM does not have */
out:
	secmem_free(kek, KEK_LEN);
	return r;
}
