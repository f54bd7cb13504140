/* keygen/internal.h — private to keygen/: the fetched ciphers, and test
 * hooks for the CTR_DRBG. Other folders include keygen/keygen.h only. */
#ifndef FOUNT_KEYGEN_INTERNAL_H
#define FOUNT_KEYGEN_INTERNAL_H

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "keygen/keygen.h"

/* keygen_aes256_ctr and keygen_aes256_cbc return the ciphers fetched from
 * fount's library context by keygen_init, or NULL before it. The CTR_DRBG
 * uses CTR for its keystream and Update, CBC for BCC in the df. */
const EVP_CIPHER *keygen_aes256_ctr(void);
const EVP_CIPHER *keygen_aes256_cbc(void);

/* ctr_drbg_set_reseed_counter_for_test overwrites the reseed counter so a
 * test can reach the SP 800-90A limit without 2^48 generates. Tests only. */
void ctr_drbg_set_reseed_counter_for_test(struct ctr_drbg *d, uint64_t n);

/* drbg_tree_worker_generates_for_test returns the calling thread's worker
 * generate count since its last reseed (0 without a worker). Tests only. */
uint64_t drbg_tree_worker_generates_for_test(void);

#endif /* FOUNT_KEYGEN_INTERNAL_H */
