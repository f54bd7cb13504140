/* keygen/keygen_sym.c — the key-type table and symmetric keys: AES and
 * HMAC keys are DRBG output, straight into secure memory. */
#include <string.h>

#include "keygen/internal.h"

/* HMAC key sizes: the hash's output length (SP 800-107 r1 §5.3.4 asks for
 * at least the security strength; FIPS 198-1 §3 allows any length, and a
 * key as long as the digest is the usual KMS choice). */
static const struct keygen_type types[] = {
	{"aes-128", KEYGEN_KIND_SYM, 128, 16, NULL, NULL, NULL},
	{"aes-192", KEYGEN_KIND_SYM, 192, 24, NULL, NULL, NULL},
	{"aes-256", KEYGEN_KIND_SYM, 256, 32, NULL, NULL, NULL},
	{"hmac-sha256", KEYGEN_KIND_SYM, 256, 32, NULL, NULL, NULL},
	{"hmac-sha384", KEYGEN_KIND_SYM, 384, 48, NULL, NULL, NULL},
	{"hmac-sha512", KEYGEN_KIND_SYM, 512, 64, NULL, NULL, NULL},
	{"rsa-2048", KEYGEN_KIND_RSA, 2048, 0, "RSA", NULL, "pct-rsa"},
	{"rsa-3072", KEYGEN_KIND_RSA, 3072, 0, "RSA", NULL, "pct-rsa"},
	{"rsa-4096", KEYGEN_KIND_RSA, 4096, 0, "RSA", NULL, "pct-rsa"},
	{"ec-p256", KEYGEN_KIND_EC, 256, 0, "EC", "P-256", "pct-ec"},
	{"ec-p384", KEYGEN_KIND_EC, 384, 0, "EC", "P-384", "pct-ec"},
	{"ec-p521", KEYGEN_KIND_EC, 521, 0, "EC", "P-521", "pct-ec"},
	{"ed25519", KEYGEN_KIND_ED25519, 255, 0, "ED25519", NULL, "pct-eddsa"},
	{"x25519", KEYGEN_KIND_X25519, 255, 0, "X25519", NULL, "pct-x25519"},
};

/* not in types[]: a non-approved service (keygen.h) */
static const struct keygen_type tdea = {"tdea-168", KEYGEN_KIND_SYM, 168, 24, NULL, NULL, NULL};

const struct keygen_type *keygen_tdea_type(void)
{
	return &tdea;
}

bool keygen_tdea_available(void)
{
	return !keygen_fips_mode();
}

/* SP 800-67 r2 §3.3.2: the 4 weak and 12 semi-weak DES keys, parity set */
static const uint8_t des_weak[16][8] = {
	{0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01}, {0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE},
	{0xE0, 0xE0, 0xE0, 0xE0, 0xF1, 0xF1, 0xF1, 0xF1}, {0x1F, 0x1F, 0x1F, 0x1F, 0x0E, 0x0E, 0x0E, 0x0E},
	{0x01, 0x1F, 0x01, 0x1F, 0x01, 0x0E, 0x01, 0x0E}, {0x1F, 0x01, 0x1F, 0x01, 0x0E, 0x01, 0x0E, 0x01},
	{0x01, 0xE0, 0x01, 0xE0, 0x01, 0xF1, 0x01, 0xF1}, {0xE0, 0x01, 0xE0, 0x01, 0xF1, 0x01, 0xF1, 0x01},
	{0x01, 0xFE, 0x01, 0xFE, 0x01, 0xFE, 0x01, 0xFE}, {0xFE, 0x01, 0xFE, 0x01, 0xFE, 0x01, 0xFE, 0x01},
	{0x1F, 0xE0, 0x1F, 0xE0, 0x0E, 0xF1, 0x0E, 0xF1}, {0xE0, 0x1F, 0xE0, 0x1F, 0xF1, 0x0E, 0xF1, 0x0E},
	{0x1F, 0xFE, 0x1F, 0xFE, 0x0E, 0xFE, 0x0E, 0xFE}, {0xFE, 0x1F, 0xFE, 0x1F, 0xFE, 0x0E, 0xFE, 0x0E},
	{0xE0, 0xFE, 0xE0, 0xFE, 0xF1, 0xFE, 0xF1, 0xFE}, {0xFE, 0xE0, 0xFE, 0xE0, 0xFE, 0xF1, 0xFE, 0xF1},
};

bool keygen_tdea_key_fix(uint8_t k[24])
{
	for (size_t i = 0; i < 24; i++) {
		uint8_t b = (uint8_t)(k[i] & 0xFE), ones = 0;
		for (uint8_t x = b; x != 0; x = (uint8_t)(x & (x - 1)))
			ones++;
		k[i] = (uint8_t)(b | ((ones & 1) == 0));
	}
	if (memcmp(k, k + 8, 8) == 0 || memcmp(k, k + 16, 8) == 0 || memcmp(k + 8, k + 16, 8) == 0)
		return false;
	for (size_t j = 0; j < 3; j++)
		for (size_t i = 0; i < ARRAY_SIZE(des_weak); i++)
			if (memcmp(k + 8 * j, des_weak[i], 8) == 0)
				return false;
	return true;
}

size_t keygen_types(const struct keygen_type **out)
{
	*out = types;
	return ARRAY_SIZE(types);
}

const struct keygen_type *keygen_type_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (strcmp(types[i].name, name) == 0)
			return &types[i];
	return NULL;
}

/* The key is the DRBG's output itself (SP 800-133 r2 §6.1: a symmetric key
 * generated directly from an approved DRBG). With KEYGEN_F_PR the draw
 * reseeds the primary from the noise sources first (SP 800-90A §9.3.1),
 * so the key does not depend on any DRBG state an attacker might have
 * seen; that costs a full entropy draw per key, so it is the caller's
 * choice: the CLI and KEKs ask for it, bulk key minting does not (the
 * worker still reseeds on count, age and fork). */
err_t keygen_sym_fill(const struct keygen_type *t, unsigned flags, uint8_t *out,
		      size_t out_cap)
{
	err_t r;

	ENSURE(t != NULL && out != NULL, ERR_INVALID_ARG);
	ENSURE(t->kind == KEYGEN_KIND_SYM && t->sym_len > 0, ERR_INVALID_ARG);
	ENSURE((flags & ~KEYGEN_F_PR) == 0, ERR_INVALID_ARG);
	ENSURE(out_cap >= t->sym_len, ERR_TOO_LARGE);
	if (t == &tdea) {
		/* a non-approved service: never in FIPS mode (SP 800-131A r2) */
		ENSURE(keygen_tdea_available(), ERR_UNSUPPORTED);
		/* a draw that is not keying option 1 is drawn again: with 16 bad
		 * keys in 2^56 and distinct keys almost sure, a few tries at most */
		for (int tries = 0; tries < 8; tries++) {
			r = (flags & KEYGEN_F_PR) ? drbg_generate_pr(out, t->sym_len) : drbg_generate(out, t->sym_len);
			if (r != ERR_OK || keygen_tdea_key_fix(out))
				break;
			r = ERR_CRYPTO;
		}
		if (r != ERR_OK)
			secure_zero(out, t->sym_len);
		return r;
	}
	r = (flags & KEYGEN_F_PR) ? drbg_generate_pr(out, t->sym_len)
				  : drbg_generate(out, t->sym_len);
	if (r != ERR_OK)
		secure_zero(out, t->sym_len);
	return r;
}

err_t keygen_sym_generate(const struct keygen_type *t, unsigned flags,
			  uint8_t **out, size_t *out_len)
{
	err_t r = ERR_INTERNAL;
	uint8_t *key = NULL;

	ENSURE(t != NULL && out != NULL && out_len != NULL, ERR_INVALID_ARG);
	ENSURE(t->kind == KEYGEN_KIND_SYM && t->sym_len > 0, ERR_INVALID_ARG);
	*out = NULL;
	*out_len = 0;
	key = secmem_alloc(t->sym_len, &r);
	if (key == NULL)
		goto out;
	GUARD_GOTO(keygen_sym_fill(t, flags, key, t->sym_len));
	*out = key;
	*out_len = t->sym_len;
	key = NULL; /* transferred */
	r = ERR_OK;
out:
	secmem_free(key, t->sym_len);
	return r;
}
