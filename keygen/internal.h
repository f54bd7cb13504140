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

/* keygen_wrap_cipher returns AES-<kek_len*8>-WRAP (|pad| false: SP 800-38F
 * KW) or -WRAP-PAD (KWP), fetched once by keygen_init; NULL for another
 * KEK size, before keygen_init, or if the provider lacks it. */
const EVP_CIPHER *keygen_wrap_cipher(bool pad, size_t kek_len);
/* keygen_aes_cipher returns AES-<key_len*8>-GCM (|gcm|) or -CBC and
 * keygen_sha256_md SHA2-256, fetched once by keygen_init and freed by
 * keygen_shutdown (so a re-init fetches from the new context); NULL
 * before keygen_init, for another key size or if the provider lacks it.
 * Shared by every thread: EVP_CipherInit_ex2 and EVP_Digest only read
 * a fetched algorithm. */
const EVP_CIPHER *keygen_aes_cipher(bool gcm, size_t key_len);
const EVP_MD *keygen_sha256_md(void);

/* ---- OpenSSL's randomness (keygen/rand.c) -------------------------------*/

/* keygen_rand_mix checks, before each asymmetric key generation, that
 * fount's DRBG tree can deliver: it draws a probe from the source OpenSSL
 * will draw from and fails (ERR_NOT_OPERATIONAL, or the tree's error) when
 * fount cannot, so keygen_pkey_generate makes no key then. In FIPS mode a
 * source failing *inside* EVP_PKEY_generate would latch the FIPS module's
 * own error state for the process (OpenSSL providers/fips/self_test.c,
 * ossl_set_error_state). keygen_pkey_generate is its only caller. */
err_t keygen_rand_mix(void) MUST_CHECK;
#define KEYGEN_RAND_NAME "FOUNT-DRBG"

/* keygen_rand_install_default registers and loads the "fount" provider in
 * |libctx| (*out, for OSSL_PROVIDER_unload) and makes its FOUNT-DRBG the
 * context's DRBG and seed source. Call before the context's first random
 * byte. */
err_t keygen_rand_install_default(OSSL_LIB_CTX *libctx, OSSL_PROVIDER **out) MUST_CHECK;

/* keygen_rand_install_fips registers the FIPS module at |module_path| as a
 * built-in provider named "fips" in |libctx| whose get_entropy upcall fount
 * answers; loading it (with fipsmodule.cnf's parameters) is the caller's. */
err_t keygen_rand_install_fips(OSSL_LIB_CTX *libctx, const char *module_path) MUST_CHECK;

/* Test hooks. keygen_rand_set_test_seed makes every byte OpenSSL draws from
 * fount (FOUNT-DRBG in default mode, the FIPS module's get_entropy upcall
 * in FIPS mode) come from a CTR_DRBG instantiated with |seed| instead of the
 * DRBG tree; keygen_rand_set_test_failure makes them all fail;
 * keygen_rand_clear_test_source restores the tree. Tests only. */
err_t keygen_rand_set_test_seed(const uint8_t seed[static 32]) MUST_CHECK;
void keygen_rand_set_test_failure(void);
void keygen_rand_clear_test_source(void);
/* keygen_rand_fips_upcalls_for_test counts the FIPS module's get_entropy
 * upcalls fount has answered. */
uint64_t keygen_rand_fips_upcalls_for_test(void);

/* ctr_drbg_set_reseed_counter_for_test overwrites the reseed counter so a
 * test can reach the SP 800-90A limit without 2^48 generates. Tests only. */
void ctr_drbg_set_reseed_counter_for_test(struct ctr_drbg *d, uint64_t n);

/* drbg_tree_set_pr_gather_hook_for_test makes every prediction-resistance
 * reseed of the primary call |fn| (NULL: none) before it gathers entropy,
 * without the tree's lock, so a test can hold a reseed open. Tests only. */
void drbg_tree_set_pr_gather_hook_for_test(void (*fn)(void));

/* drbg_tree_worker_generates_for_test returns the calling thread's worker
 * generate count since its last reseed (0 without a worker). Tests only. */
uint64_t drbg_tree_worker_generates_for_test(void);

/* keygen_gate is keygen/'s entry gate for the key services that are not
 * random output (the wrap and unwrap entry points of keygen/wrap.c, and
 * through them keygen_kek_wrap, keygen_kek_unwrap and keygen_export):
 * ERR_OK while keygen_service_allowed(), else ERR_NOT_OPERATIONAL. Random
 * output and keys have their own gate (drbg_set_gate, drbg_gate_open). */
err_t keygen_gate(void) MUST_CHECK;

/* keygen_report_failure calls the handler keygen_set_failure_handler
 * registered (if any) and logs what failed. */
void keygen_report_failure(err_t why, const char *what);

/* drbg_tree_primary_for_test returns the primary CTR_DRBG. Tests only. */
struct ctr_drbg *drbg_tree_primary_for_test(void);

#endif /* FOUNT_KEYGEN_INTERNAL_H */
