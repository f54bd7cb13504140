/* keygen/keygen.h — the one public header of keygen/: the OpenSSL library
 * context, the SP 800-90A CTR_DRBG (AES-256 with derivation function) and
 * the DRBG tree that every random byte fount hands out comes from.
 *
 * keygen/ never parses protocol messages. */
#ifndef FOUNT_KEYGEN_KEYGEN_H
#define FOUNT_KEYGEN_KEYGEN_H

#include "util/util.h"

struct ossl_lib_ctx_st; /* OSSL_LIB_CTX, without pulling OpenSSL headers in */

/* ---- the library context ---------------------------------------------------
 * keygen_init creates fount's own OSSL_LIB_CTX and fetches the ciphers the
 * DRBG uses; every algorithm fount runs comes from this context.
 *
 * `[crypto] fips = required` (the default): OpenSSL's FIPS provider from
 * `fips_module_dir` (default <exe dir>/fips, then <exe dir>/../fips:
 * fips.so and fipsmodule.cnf, built by `make fips`), plus `base` for
 * encoders and decoders, with default properties "fips=yes". Without a
 * working provider keygen_init fails with ERR_FIPS_UNAVAILABLE and
 * keygen_init_error() says why. `fips = off`: OpenSSL's default provider.
 *
 * Randomness OpenSSL draws in this context comes from fount (keygen/rand.c):
 * in default mode straight from the DRBG tree; in FIPS mode the FIPS
 * module's own DRBG is seeded through its get_entropy upcall, which fount
 * answers from drbg_generate_pr. Idempotent: a second call with a context
 * in place returns ERR_OK (keygen_shutdown first to change mode). */
err_t keygen_init(const struct config *cfg) MUST_CHECK;
void keygen_shutdown(void);
struct ossl_lib_ctx_st *keygen_libctx(void);
/* keygen_provider_name returns e.g. "OpenSSL FIPS Provider 3.0.22" or
 * "OpenSSL Default Provider 3.0.22". */
const char *keygen_provider_name(void);
/* keygen_fips_mode reports whether the context runs on the FIPS provider. */
bool keygen_fips_mode(void);
/* keygen_init_error returns why the last keygen_init failed ("" if it did
 * not): one line, naming the file and how to fix it. */
const char *keygen_init_error(void);

/* keygen_rand_mix must be called before each asymmetric key generation. It
 * draws from fount's DRBG tree and fails (ERR_NOT_OPERATIONAL, or the
 * tree's error) when fount cannot deliver, so no key is made then. In FIPS
 * mode it also reseeds the library context's DRBGs (primary with
 * prediction resistance, then this thread's public and private) with
 * fount's output as additional input. See README "FIPS mode". */
err_t keygen_rand_mix(void) MUST_CHECK;

/* ---- SP 800-90A r1 CTR_DRBG, AES-256, with derivation function -------------*/
#define CTR_DRBG_KEY_LEN 32
#define CTR_DRBG_BLOCK_LEN 16
#define CTR_DRBG_SEED_LEN 48                  /* keylen + blocklen (Table 3) */
#define CTR_DRBG_MIN_ENTROPY_LEN 32           /* security strength 256 bits */
#define CTR_DRBG_MIN_NONCE_LEN 16             /* half the security strength */
#define CTR_DRBG_MAX_INPUT_LEN 4096           /* fount's cap on each input */
#define CTR_DRBG_MAX_REQUEST 65536            /* 2^19 bits per generate (Table 3) */
#define CTR_DRBG_MAX_RESEED_COUNT (UINT64_C(1) << 48) /* reseed_interval (Table 3) */

struct ctr_drbg;

/* ctr_drbg_new allocates an uninstantiated DRBG in secure memory. Requires
 * keygen_init. */
err_t ctr_drbg_new(struct ctr_drbg **out) MUST_CHECK;
/* ctr_drbg_free uninstantiates and frees |d|. Does nothing on NULL. */
void ctr_drbg_free(struct ctr_drbg *d);

/* SP 800-90A §10.2.1.3.2. |entropy_len| >= 32, |nonce_len| >= 16, each
 * input <= CTR_DRBG_MAX_INPUT_LEN. */
err_t ctr_drbg_instantiate(struct ctr_drbg *d, const uint8_t *entropy,
			   size_t entropy_len, const uint8_t *nonce,
			   size_t nonce_len, const uint8_t *pers,
			   size_t pers_len) MUST_CHECK;
/* SP 800-90A §10.2.1.4.2. */
err_t ctr_drbg_reseed(struct ctr_drbg *d, const uint8_t *entropy,
		      size_t entropy_len, const uint8_t *adin,
		      size_t adin_len) MUST_CHECK;
/* SP 800-90A §10.2.1.5.2: |out_len| <= CTR_DRBG_MAX_REQUEST. Returns
 * ERR_DRBG_RESEED_REQUIRED once the reseed counter passes 2^48. */
err_t ctr_drbg_generate(struct ctr_drbg *d, uint8_t *out, size_t out_len,
			const uint8_t *adin, size_t adin_len) MUST_CHECK;
/* Generate with prediction resistance (SP 800-90A §9.3.1): reseed with
 * |entropy| and |adin|, then generate with no additional input. */
err_t ctr_drbg_generate_pr(struct ctr_drbg *d, uint8_t *out, size_t out_len,
			   const uint8_t *entropy, size_t entropy_len,
			   const uint8_t *adin, size_t adin_len) MUST_CHECK;
/* SP 800-90A §9.4: wipes the whole state; |d| stays allocated. */
void ctr_drbg_uninstantiate(struct ctr_drbg *d);
/* ctr_drbg_is_zero reports whether every byte of the state is zero (the
 * zeroization self-test). */
bool ctr_drbg_is_zero(const struct ctr_drbg *d);
uint64_t ctr_drbg_reseed_counter(const struct ctr_drbg *d);

/* ---- the DRBG tree -----------------------------------------------------------
 * One primary CTR_DRBG seeded from entropy_get_seed (48 bytes of full
 * entropy: 32 entropy input + 16 nonce; RDRAND/getrandom as additional
 * input), and one worker CTR_DRBG per thread seeded from the primary, so the
 * hot path takes no lock. Workers reseed on count, on age, after fork, on
 * demand and for prediction resistance; the primary reseeds from the
 * entropy sources on count, age, fork, demand and prediction resistance.
 * Nothing is buffered across requests. */

/* drbg_tree_init instantiates the primary. Requires keygen_init and
 * entropy_init. */
err_t drbg_tree_init(const struct config *cfg) MUST_CHECK;
/* drbg_tree_shutdown wipes and frees the primary and every worker. */
void drbg_tree_shutdown(void);

/* drbg_set_gate registers |operational|; every drbg_generate* first calls it
 * and fails with ERR_NOT_OPERATIONAL unless it returns true. With no gate registered,
 * generation is refused (fail closed). selftest/ registers its state check. */
void drbg_set_gate(bool (*operational)(void));

/* drbg_generate fills |out| with |len| random bytes from this thread's
 * worker, in chunks of at most 64 KiB, each a full SP 800-90A generate. */
err_t drbg_generate(uint8_t *out, size_t len) MUST_CHECK;
/* drbg_generate_pr is drbg_generate with prediction resistance: the
 * primary first reseeds from the live entropy sources, then the worker
 * reseeds from the primary. Use it for long-term keys. */
err_t drbg_generate_pr(uint8_t *out, size_t len) MUST_CHECK;
/* drbg_reseed_all makes every DRBG reseed before its next output: the
 * primary from the entropy sources, each worker from the primary. */
void drbg_reseed_all(void);

struct drbg_stats {
	uint64_t primary_reseeds;
	uint64_t worker_reseeds;
	uint64_t fork_events;
	uint64_t workers; /* live worker DRBGs */
};
void drbg_stats(struct drbg_stats *out);

#endif /* FOUNT_KEYGEN_KEYGEN_H */
