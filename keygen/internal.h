/* keygen/internal.h — private to keygen/: the fetched ciphers, and test
 * hooks for the CTR_DRBG. Other folders include keygen/keygen.h only. */
#ifndef FOUNT_KEYGEN_INTERNAL_H
#define FOUNT_KEYGEN_INTERNAL_H

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "keygen/keygen.h"

/* A cipher of the library context's provider, called through the
 * provider's own dispatch table rather than EVP. The DRBG re-keys AES on
 * every generate (SP 800-90A's Update changes Key), and EVP_EncryptInit_ex2
 * spends ~40% of a 32-byte generate looking up OSSL_PARAMs by name
 * (measured with perf); the provider's encrypt_init with no params does the
 * key schedule alone. The cipher is the same one EVP would run: fetched
 * from fount's library context, from the provider keygen_init loaded, and
 * that provider's own state checks (FIPS "is running") still apply. */
struct keygen_cipher {
	void *provctx;
	OSSL_FUNC_cipher_newctx_fn *newctx;
	OSSL_FUNC_cipher_freectx_fn *freectx;
	OSSL_FUNC_cipher_encrypt_init_fn *einit;
	OSSL_FUNC_cipher_update_fn *update;
};

/* keygen_aes256_ctr and keygen_aes256_cbc return the provider ciphers
 * resolved by keygen_init, or NULL before it. The CTR_DRBG uses CTR for
 * its keystream and Update, CBC for BCC in the df. */
const struct keygen_cipher *keygen_aes256_ctr(void);
const struct keygen_cipher *keygen_aes256_cbc(void);

/* ctr_drbg_set_reseed_counter_for_test overwrites the reseed counter so a
 * test can reach the SP 800-90A limit without 2^48 generates. Tests only. */
void ctr_drbg_set_reseed_counter_for_test(struct ctr_drbg *d, uint64_t n);

/* drbg_tree_worker_generates_for_test returns the calling thread's worker
 * generate count since its last reseed (0 without a worker). Tests only. */
uint64_t drbg_tree_worker_generates_for_test(void);

/* drbg_gate_open reports whether the registered gate lets output out
 * (false with no gate): asymmetric keygen checks it before it starts,
 * since OpenSSL draws the key's randomness itself. */
bool drbg_gate_open(void);

#endif /* FOUNT_KEYGEN_INTERNAL_H */
