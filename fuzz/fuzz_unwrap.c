/* fuzz/fuzz_unwrap.c — wrapped keys from outside: AES Key Wrap (KW, RFC
 * 3394) and with padding (KWP, RFC 5649) under fixed KEKs
 * (keygen_aes_unwrap), and RSA-OAEP under a fixed RSA-2048 key
 * (keygen_rsa_oaep_unwrap), as `fount unwrap` reads them.
 *
 * Input: byte 0 picks the algorithm (% 3: KW, KWP, RSA-OAEP); byte 1, for
 * AES, the KEK (low 3 bits % 5: 128, 192, 256 bits as in RFC 3394 §4, the
 * 192-bit KEK of RFC 5649 §6, or a 20-byte KEK that must be refused) and
 * the output capacity (bits 3-4: in_len - 8, in_len, in_len - 9 (too
 * small), in_len - 8). The rest is the wrapped key.
 *
 * Checked: only the documented error codes come back; on failure the
 * output buffer (pre-filled with 0xA5) is all zero and *out_len is 0 (for
 * RSA-OAEP: *out NULL and both lengths 0); on success *out_len is within
 * bounds (KW: in_len - 8 exactly; KWP: in_len - 15 .. in_len - 8; RSA-OAEP:
 * 1 .. k - 66) and, for AES, wrapping the result again gives back the
 * input byte for byte. */
#include <string.h>

#include <openssl/evp.h>

#include "fuzz/fuzz.h"

/* A fixed RSA-2048 key, generated with `openssl genpkey` for this target
 * only; fuzz/corpus/fuzz_unwrap/ holds ciphertexts made with its public
 * half (openssl pkeyutl -encrypt, OAEP, SHA-256, MGF1-SHA-256). */
static const char oaep_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCv5ojqThb/H1zR\n"
	"gF2K48PT0MEwYfiq/RrkcGnWIArfO/y2A8UwqKa+qp8S2l7BjTj7yU7/uH7dmH8h\n"
	"QwFFIHzeWZOsV9W1XQEUayl8dLo3a/v+uv+WX6Dk3W1c7IBqVpCHEZyC1Azu1GNp\n"
	"gOxXa9D9dazTkecWEoFauzBySqvL4bzHXBJGmF4ki+M5IClVOdgqumKTEiUDpqr4\n"
	"Rw+Wdxsxo1cTGNCUzPwoeOnlOvWt8YmQhzzsh3ZpgZttEZvRAEFuLec9eyRJuJci\n"
	"xaExHm885ul64sKXTT1AWnEWqIg2dxIDW0M+JbC/lDmxxBWJknZ8rIhuWrJP+mAn\n"
	"2bPmLbQpAgMBAAECggEAH01QlxWPbRYZL+T+gH1Yt2RiRKhilpcVBorkoqiwFpq3\n"
	"tXJFUIvqpGp7hWDb1Oi7N79SshoUZX3CPdqNKs6FuhHJwDUfQDeNPiN1zgJ9sugh\n"
	"/2oqmolo+eFXmV4y2fmOnaKqLfPrW0Lrb/Zz2HjEx539w+amb1yarVk7XVNhcBXv\n"
	"qJUI3YThH35Lb/Hy+LWNAp7ab9umARJTrbVRBJzKt6+d+MTGusQj3nBxn4xT0J2q\n"
	"OO8njoWCR4Rrb2DG1EJ6hrhT1KKzPf2Or6QrZIXDBWu7br2j0aveUubYh5nAVZ5Q\n"
	"uvLM3boGoo3BKEp0K0kLyg8PCaYq9QtBE8tfEPdaGwKBgQDdbZaUCQcLlYYIPu55\n"
	"Q0b3aG5YfBxNzWizh1SvVBevtO3aFwH1cWxa7FZp2ANjN6T8abgvwYsQm0xcUJOF\n"
	"ow6bWjafWI0JPAxjVj4F/hPofl2KGJAkndjDAnOwCOHhyn4INhnQfCdTB5MT7iLW\n"
	"+gbIeENyb4BN38Kn2tCo+mPLQwKBgQDLXTl1tiMxVs8XBKf1v8acDK4R6RTcKvws\n"
	"wjgm/dBcJONI7mApD+6Xzip3iPF5vzKew82Je1iSsbCOPK23EPkmTHLDbDCKygwG\n"
	"M/btr5YC1qp0nGnk/TRWcfyV6TBghctlJ6BB5RsrHuPLeA/o4cSpgQn14IjgR49x\n"
	"dwczrRPOIwKBgC+Dp48mjMN4l2VHk8ajoCPQ3fTQ1QYA8NmtTYe95MNIcM2eqEXx\n"
	"y82K71QRDVEKDLY5PVPKFTxABte8VpuTjLvbVONGjiUQJJxgUjjY946pJwtOEAg7\n"
	"ctsNuKNqlIXt/LNoYIuzSIDxnCbnr8QvrKrx248/y+lp/YwlUScha66fAoGBAL49\n"
	"ADKAZt2R4noa7fAzLVzvc6rnio8HWw2XxiWbi92W2FNyQtxGviCeSRW3MoV8eaMR\n"
	"ceWpUEsyFAKK+splA11zaGwteh9rMOJgnB7vAXq4S454f4sp3lr7mJi4Inw4zPNc\n"
	"pUrfQpIM/HVrZB6rjGgwgRvUptZ/us0e1srdnshXAoGAaLboLcclJZ3nLxVHuoms\n"
	"HzYn1u6rjNLGOS4Y9Qn036oXoA9gOqibm/EZ2cMgU27taFhG6KBK7NFO5GzptlAd\n"
	"m1OQ5o4McHRFPR5UgXjIfuJIhybPF5lVUDXQtBlxMyKPXrSr4pD2PzpKXbiZmszZ\n"
	"WG2LRgI2rlagaXg/+e8vpF0=\n"
	"-----END PRIVATE KEY-----\n"
	;

static const uint8_t kek_rfc3394[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const uint8_t kek_rfc5649[24] = {
	0x58, 0x40, 0xdf, 0x6e, 0x29, 0xb0, 0x2a, 0xf1, 0xab, 0x49, 0x3b, 0x70,
	0x5b, 0xf1, 0x6e, 0xa1, 0xae, 0x83, 0x38, 0xf4, 0xdc, 0xc1, 0x76, 0xa8,
};

#define KW_SEMIBLOCK 8
#define OAEP_OVERHEAD 66 /* 2 * SHA-256 length + 2 (RFC 8017 §7.1.1) */

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static void fuzz_aes(enum keygen_wrap_alg alg, uint8_t sel, const uint8_t *in, size_t in_len)
{
	const uint8_t *kek = kek_rfc3394;
	size_t kek_len, cap, out_len = (size_t)-1;
	const size_t min_cap = in_len >= KW_SEMIBLOCK ? in_len - KW_SEMIBLOCK : 0;

	switch ((sel & 7u) % 5u) {
	case 0: kek_len = 16; break;
	case 1: kek_len = 24; break;
	case 2: kek_len = 32; break;
	case 3: kek = kek_rfc5649; kek_len = sizeof(kek_rfc5649); break;
	default: kek_len = 20; break; /* not an AES key size */
	}
	switch ((sel >> 3) & 3u) {
	case 1: cap = in_len; break;
	case 2: cap = min_cap > 0 ? min_cap - 1 : 0; break;
	default: cap = min_cap; break;
	}
	/* |cap| bytes and a canary after them, compared byte by byte: ASan
	 * does not see writes from OpenSSL's assembly (OPENSSL_cleanse) */
	enum { CANARY = 16 };
	uint8_t *out = malloc(cap + CANARY);
	if (out == NULL)
		return;
	memset(out, 0xa5, cap + CANARY);

	err_t r = keygen_aes_unwrap(alg, kek, kek_len, in, in_len, out, cap, &out_len);
	for (size_t i = 0; i < CANARY; i++)
		FUZZ_CHECK(out[cap + i] == 0xa5);
	FUZZ_CHECK(r == ERR_OK || r == ERR_UNWRAP || r == ERR_TOO_LARGE || r == ERR_INVALID_ARG);
	if (kek_len == 20)
		FUZZ_CHECK(r == ERR_INVALID_ARG);
	if (r != ERR_OK) {
		FUZZ_CHECK(out_len == 0);
		FUZZ_CHECK(all_zero(out, cap));
		free(out);
		return;
	}
	FUZZ_CHECK(in_len % KW_SEMIBLOCK == 0 && in_len >= 2 * KW_SEMIBLOCK);
	FUZZ_CHECK(out_len > 0 && out_len <= in_len - KW_SEMIBLOCK && out_len <= cap);
	if (alg == KEYGEN_WRAP_KW)
		FUZZ_CHECK(out_len == in_len - KW_SEMIBLOCK);
	else
		FUZZ_CHECK(out_len + 2 * KW_SEMIBLOCK > in_len); /* at most 7 pad bytes */

	/* wrapping is deterministic: the unwrapped key wraps back to |in| */
	uint8_t *again = malloc(in_len);
	size_t again_len = 0;
	if (again != NULL) {
		FUZZ_CHECK(keygen_aes_wrap_len(alg, out_len) == in_len);
		FUZZ_CHECK(keygen_aes_wrap(alg, kek, kek_len, out, out_len, again, in_len,
					   &again_len) == ERR_OK);
		FUZZ_CHECK(again_len == in_len && memcmp(again, in, in_len) == 0);
		free(again);
	}
	free(out);
}

static EVP_PKEY *oaep_key_cached;

static void oaep_key_free(void)
{
	EVP_PKEY_free(oaep_key_cached);
	oaep_key_cached = NULL;
}

static EVP_PKEY *oaep_key(void)
{
	if (oaep_key_cached == NULL) {
		FUZZ_CHECK(keygen_pkey_decode((const uint8_t *)oaep_key_pem,
					      sizeof(oaep_key_pem) - 1, KEYGEN_PART_PRIVATE,
					      &oaep_key_cached) == ERR_OK);
		atexit(oaep_key_free); /* runs before keygen's release */
	}
	return oaep_key_cached;
}

static void fuzz_oaep(const uint8_t *in, size_t in_len)
{
	EVP_PKEY *key = oaep_key();
	const size_t k = (size_t)EVP_PKEY_get_size(key);
	uint8_t *out = (uint8_t *)(uintptr_t)1; /* each must be reset */
	size_t out_len = (size_t)-1, out_cap = (size_t)-1;

	err_t r = keygen_rsa_oaep_unwrap(key, in, in_len, &out, &out_len, &out_cap);
	FUZZ_CHECK(r == ERR_OK || r == ERR_UNWRAP);
	if (r != ERR_OK) {
		FUZZ_CHECK(out == NULL && out_len == 0 && out_cap == 0);
		return;
	}
	FUZZ_CHECK(in_len == k && out != NULL && out_cap == k);
	FUZZ_CHECK(out_len > 0 && out_len <= k - OAEP_OVERHEAD);
	secmem_free(out, out_cap);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keygen_once();
	/* RSA decryption blinds with randomness from the library context: in
	 * default mode that is the DRBG tree, which is not running here, so
	 * draw it from the fixed-seed source the power-on KATs use (which
	 * also makes every run reproducible). fuzz_keygen_once's exit
	 * handler ends it. */
	FUZZ_CHECK(keygen_rand_kat_begin() == ERR_OK);
	(void)oaep_key();
	/* the code under test must be reachable: a wrap that fails for any
	 * reason (a shut gate, a missing cipher) would make every input a
	 * "failure" and the fuzzer green for nothing */
	static const uint8_t kek[16], key[16];
	uint8_t wrapped[24], back[16];
	size_t n = 0, m = 0;
	FUZZ_CHECK(keygen_aes_wrap(KEYGEN_WRAP_KW, kek, sizeof(kek), key, sizeof(key), wrapped,
				   sizeof(wrapped), &n) == ERR_OK);
	FUZZ_CHECK(keygen_aes_unwrap(KEYGEN_WRAP_KW, kek, sizeof(kek), wrapped, n, back,
				     sizeof(back), &m) == ERR_OK && m == sizeof(key));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	switch (data[0] % 3u) {
	case 0: fuzz_aes(KEYGEN_WRAP_KW, data[1], data + 2, size - 2); break;
	case 1: fuzz_aes(KEYGEN_WRAP_KWP, data[1], data + 2, size - 2); break;
	default: fuzz_oaep(data + 2, size - 2); break;
	}
	ERR_clear_error();
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_unwrap")
