/* fuzz/fuzz_keyfile.c — key files (keygen_pkey_decode): PKCS#8
 * PrivateKeyInfo and SubjectPublicKeyInfo, PEM or DER, as `fount wrap
 * --kek pub.pem` and the key commands read them from disk.
 *
 * Each input is decoded both as a private and as a public key. Checked:
 * the result is ERR_OK, ERR_KEY_FORMAT or ERR_TOO_LARGE (never anything
 * else, e.g. ERR_INTERNAL); *out is set exactly on success; a decoded key
 * is one of fount's key types; and it survives a round trip through
 * keygen_pkey_encode in both formats to an equal key. */
#include <openssl/evp.h>

#include "fuzz/fuzz.h"

static void round_trip(EVP_PKEY *pkey, enum keygen_part part)
{
	static const enum keygen_format fmts[] = { KEYGEN_FMT_PEM, KEYGEN_FMT_DER };
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		uint8_t *enc = NULL;
		size_t enc_len = 0;
		EVP_PKEY *again = NULL;
		FUZZ_CHECK(keygen_pkey_encode(pkey, part, fmts[i], &enc, &enc_len) == ERR_OK);
		FUZZ_CHECK(enc != NULL && enc_len > 0);
		FUZZ_CHECK(keygen_pkey_decode(enc, enc_len, part, &again) == ERR_OK);
		FUZZ_CHECK(again != NULL && EVP_PKEY_eq(pkey, again) == 1);
		FUZZ_CHECK(keygen_pkey_type(again) == keygen_pkey_type(pkey));
		EVP_PKEY_free(again);
		secmem_free(enc, enc_len);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keygen_once();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum keygen_part parts[] = { KEYGEN_PART_PRIVATE, KEYGEN_PART_PUBLIC };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		EVP_PKEY *pkey = (EVP_PKEY *)(uintptr_t)1; /* must be reset */
		err_t r = keygen_pkey_decode(data, size, parts[i], &pkey);
		FUZZ_CHECK(r == ERR_OK || r == ERR_KEY_FORMAT || r == ERR_TOO_LARGE);
		FUZZ_CHECK((r == ERR_OK) == (pkey != NULL));
		if (r == ERR_TOO_LARGE)
			FUZZ_CHECK(size > KEYGEN_MAX_KEY_FILE);
		if (r != ERR_OK)
			continue;
		FUZZ_CHECK(keygen_pkey_type(pkey) != NULL);
		round_trip(pkey, parts[i]);
		EVP_PKEY_free(pkey);
	}
	ERR_clear_error(); /* OpenSSL's error queue is per thread and grows */
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_keyfile")
