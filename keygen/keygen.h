/* keygen/keygen.h — the one public header of keygen/: the OpenSSL library
 * context, the SP 800-90A CTR_DRBG (AES-256 with derivation function) and
 * the DRBG tree that every random byte fount hands out comes from.
 *
 * keygen/ never parses protocol messages. */
#ifndef FOUNT_KEYGEN_KEYGEN_H
#define FOUNT_KEYGEN_KEYGEN_H

#include "util/util.h"

struct ossl_lib_ctx_st; /* OSSL_LIB_CTX, without pulling OpenSSL headers in */
struct evp_pkey_st;     /* EVP_PKEY */
struct x509_st;         /* X509 */

/* ---- the library context ---------------------------------------------------
 * keygen_init creates fount's own OSSL_LIB_CTX and fetches the ciphers the
 * DRBG uses; every algorithm fount runs comes from this context.
 *
 * `[crypto] fips = required` (the default): OpenSSL's FIPS provider from
 * `fips_module_dir` (default <exe dir>/fips, then <exe dir>/../fips, then
 * <exe dir>/../lib/fount/fips as `make install` lays it out: fips.so and
 * fipsmodule.cnf, built by `make fips`), plus `base` for
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

/* keygen_provider_info describes the provider keygen_init loaded, as the
 * provider itself reports it (OSSL_PROVIDER_get_params: "name", "version",
 * "buildinfo"), the folder its fips.so and fipsmodule.cnf were loaded from
 * ("" for the default provider), and whether that version is a validated
 * one (keygen_fips_validation). All "" before keygen_init. */
struct keygen_provider_info {
	char name[64];        /* "OpenSSL FIPS Provider" */
	char version[32];     /* "3.0.22" */
	char buildinfo[64];   /* "3.0.22" */
	char dir[4096];       /* "/opt/fount/fips" */
	bool validated;       /* the version is on a CMVP certificate */
	char validation[192]; /* "yes (FIPS 140-3 #4985)" or "no (...)" */
};
const struct keygen_provider_info *keygen_provider_info(void);

/* keygen_fips_validation looks the provider |name| |version| up in fount's
 * one table of validated OpenSSL FIPS provider versions (keygen/fips_status.c)
 * and writes "yes (FIPS 140-3 #4985)", "yes (FIPS 140-2 #4282, ...)" or
 * "no (<why>; see README, FIPS mode)" into |out|; returns whether it is
 * validated. |fips| false (the default provider) is always "no". */
bool keygen_fips_validation(bool fips, const char *name, const char *version,
			    char *out, size_t outlen);
/* keygen_init_error returns why the last keygen_init failed ("" if it did
 * not): one line, naming the file and how to fix it. */
const char *keygen_init_error(void);

/* keygen_rand_kat_begin and keygen_rand_kat_end bracket the power-on KATs
 * that make OpenSSL draw randomness (RSA blinding) while the module is in
 * SELF_TEST and the DRBG tree's gate is shut. In default mode, OpenSSL's
 * randomness in between comes from a fixed-seed CTR_DRBG, as OpenSSL's own
 * FIPS module runs its KATs on TEST-RAND; the FOUNT-DRBG EVP_RAND keeps no
 * state of its own, so nothing of that seed outlives keygen_rand_kat_end.
 * In FIPS mode they change nothing: the module's DRBG seeds from the
 * entropy pipeline (entropy_get_seed), which must be up by then. Power-on
 * only, before any other thread runs. */
err_t keygen_rand_kat_begin(void) MUST_CHECK;
void keygen_rand_kat_end(void);

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
/* drbg_tree_shutdown wipes and frees the primary and every worker. No
 * other thread may be inside drbg_generate* meanwhile (the hot path takes
 * no lock): stop them first, as serve does before it returns. */
void drbg_tree_shutdown(void);

/* drbg_set_gate registers |operational|; every drbg_generate* first calls it
 * and fails with ERR_NOT_OPERATIONAL unless it returns true. With no gate registered,
 * generation is refused (fail closed). selftest/ registers its state check. */
void drbg_set_gate(bool (*operational)(void));
/* drbg_gate_open reports whether the registered gate lets output out
 * (false with no gate): asymmetric keygen checks it before it starts,
 * since OpenSSL draws the key's randomness itself, and the EGD socket
 * reports it as its entropy level (00). */
bool drbg_gate_open(void);

/* keygen_set_service_gate registers |allowed|, which every key service that
 * is not random output (wrapping, unwrapping; hsm/'s key operations) calls
 * first: ERR_NOT_OPERATIONAL unless it returns true. With none registered,
 * they are refused (fail closed). selftest/ registers a check that lets
 * them run in SELF_TEST (its own KATs: nothing outside the power-on
 * sequence runs then, as in OpenSSL's ossl_prov_is_running) and in
 * OPERATIONAL, and never in ERROR. */
void keygen_set_service_gate(bool (*allowed)(void));
/* keygen_service_allowed reports whether key services may run now: the
 * registered service gate's answer, false with none registered. It is the
 * state check behind keygen/'s and hsm/'s entry gates (hsm/ calls it in
 * the one path every HSM operation takes). */
bool keygen_service_allowed(void);

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
/* drbg_add_input mixes up to CTR_DRBG_MAX_INPUT_LEN bytes of |in| into the
 * primary DRBG as additional input (SP 800-90A 9.3: never credited as
 * entropy) and makes every worker reseed from it; *out_used says how many
 * were taken. A caller's seed (KMIP RNG Seed) can only add to the state,
 * never replace it. ERR_NOT_OPERATIONAL outside OPERATIONAL. */
err_t drbg_add_input(const uint8_t *in, size_t len, size_t *out_used) MUST_CHECK NONNULL(3);

struct drbg_stats {
	uint64_t primary_reseeds;
	uint64_t worker_reseeds;
	uint64_t fork_events;
	uint64_t workers; /* live worker DRBGs */
	uint64_t pr_requests; /* prediction-resistance requests (one per 64 KiB chunk) */
	unsigned pr_waiting;  /* of them, waiting now for a reseed to share */
};
void drbg_stats(struct drbg_stats *out);


/* ---- key types ---------------------------------------------------------------
 * One table of every key type fount generates: its name (as the CLI and
 * the API spell it), its kind, and its size. */
enum keygen_kind {
	KEYGEN_KIND_SYM = 0, /* raw bytes: AES or HMAC keys */
	KEYGEN_KIND_RSA,     /* RSA, e = 65537 */
	KEYGEN_KIND_EC,      /* ECDSA/ECDH on a NIST prime curve */
	KEYGEN_KIND_ED25519, /* EdDSA, RFC 8032 */
	KEYGEN_KIND_X25519,  /* ECDH, RFC 7748 */
};

struct keygen_type {
	const char *name;      /* "aes-256", "rsa-3072", "ec-p256", ... */
	enum keygen_kind kind;
	unsigned bits;         /* key bits (sym), modulus bits (RSA), field bits (EC) */
	size_t sym_len;        /* bytes of a symmetric key; 0 for key pairs */
	const char *ossl_name; /* OpenSSL key type ("RSA", "EC", "ED25519", ...), or NULL */
	const char *group;     /* EC group name, or NULL */
	const char *pct_name;  /* break-hook name of its PCT ("pct-rsa"...), or NULL */
};

/* keygen_types lists every key type; returns the count. */
size_t keygen_types(const struct keygen_type **out);
/* keygen_type_find returns the type called |name|, or NULL. */
const struct keygen_type *keygen_type_find(const char *name);

/* ---- symmetric keys ----------------------------------------------------------
 * KEYGEN_F_PR: draw with prediction resistance (drbg_generate_pr: the
 * primary reseeds from the live noise sources first). Without it the key
 * comes from this thread's worker DRBG (drbg_generate), which is what a
 * service minting many keys a second wants. Long-term keys (the CLI, KEKs)
 * use KEYGEN_F_PR. */
#define KEYGEN_F_PR 0x1u

/* keygen_sym_generate allocates a key of |t|'s size in secure memory,
 * fills it from the DRBG, and stores it in *out and its length in
 * *out_len; free it with secmem_free(*out, *out_len). ERR_INVALID_ARG if
 * |t| is not symmetric; ERR_NOT_OPERATIONAL outside OPERATIONAL. */
err_t keygen_sym_generate(const struct keygen_type *t, unsigned flags,
			  uint8_t **out, size_t *out_len) MUST_CHECK;

/* keygen_sym_fill writes a key of |t|'s size into |out| (|out_cap| >=
 * t->sym_len), which the caller keeps in secure memory: the hot path of a
 * service minting many keys, with no allocation per key. On failure |out|
 * is wiped. */
err_t keygen_sym_fill(const struct keygen_type *t, unsigned flags, uint8_t *out,
		      size_t out_cap) MUST_CHECK;

/* ---- TDEA (a non-approved service) --------------------------------------------
 * Three-key Triple DES, keying option 1 (SP 800-67 r2 §3.1: K1, K2, K3
 * mutually distinct), 168 key bits in 24 bytes with odd parity set in the
 * low bit of each byte (§3.3.1), none of K1-K3 a weak or semi-weak DES key
 * (§3.3.2). SP 800-131A r2 §2 disallows TDEA encryption after 2023, so it
 * is not in keygen_types() and is never made in FIPS mode.
 * keygen_tdea_type is its type ("tdea-168"); keygen_tdea_available says
 * whether this process offers it (not keygen_fips_mode()).
 * keygen_sym_generate / keygen_sym_fill on it: ERR_UNSUPPORTED in FIPS
 * mode. */
const struct keygen_type *keygen_tdea_type(void);
bool keygen_tdea_available(void);
/* keygen_tdea_key_fix sets odd parity in the 24 bytes of |k| and says
 * whether they are a keying-option-1 key: K1, K2, K3 distinct, none weak
 * or semi-weak (what keygen_sym_generate draws again on false). */
bool keygen_tdea_key_fix(uint8_t k[24]);

/* ---- key pairs ----------------------------------------------------------------
 * keygen_pkey_generate makes a key pair of type |t| in keygen_libctx()
 * (EVP_PKEY_generate), then runs its pairwise-consistency test (FIPS 140-3
 * IG 10.3.A): sign/verify for RSA, ECDSA and Ed25519; for X25519 the
 * public key recomputed from the private key (SP 800-56A r3 §5.6.2.1.4).
 * The caller frees *out with EVP_PKEY_free. Errors: ERR_INVALID_ARG (not a key-pair type),
 * ERR_NOT_OPERATIONAL, ERR_UNSUPPORTED (the provider lacks the algorithm,
 * e.g. X25519/Ed25519 in some FIPS providers), ERR_CRYPTO, ERR_PCT (the PCT
 * failed: the failure handler was called and the key destroyed). */
err_t keygen_pkey_generate(const struct keygen_type *t,
			   struct evp_pkey_st **out) MUST_CHECK;

/* keygen_pkey_pct runs |t|'s pairwise-consistency test on |pkey| (the
 * same test keygen_pkey_generate runs). ERR_PCT on failure, which also
 * calls the PCT failure handler. */
err_t keygen_pkey_pct(const struct keygen_type *t,
		      struct evp_pkey_st *pkey) MUST_CHECK;

/* keygen_pct_by_module reports whether the FIPS module runs its own PCT on
 * every key of type |t| (RSA and EC keys in FIPS mode); for those,
 * keygen_pkey_generate relies on the module's PCT instead of running
 * keygen_pkey_pct as well, and a pct-rsa/pct-ec break corrupts the
 * module's PCT. */
bool keygen_pct_by_module(const struct keygen_type *t);

/* keygen_set_failure_handler registers |fn|, called with the error and what
 * failed whenever keygen/ meets a failure that must stop the module: a
 * pairwise-consistency test (named "pct-rsa", ...: a PCT failure is a
 * self-test failure), or a DRBG of the tree that can no longer be trusted
 * ("drbg": a CTR_DRBG operation failed, which uninstantiates it, or its
 * seed could not be made). selftest/ registers its ERROR latch. */
void keygen_set_failure_handler(void (*fn)(err_t why, const char *what));
/* keygen_set_pct_break_hook registers |fn|, asked with a PCT's name
 * ("pct-rsa", ...) before each PCT; when it returns true the PCT corrupts
 * its signature (or shared secret) before checking it, so the failure path
 * runs. selftest/ registers its FOUNT_SELFTEST_BREAK lookup. */
void keygen_set_pct_break_hook(bool (*fn)(const char *name));

/* ---- encodings -----------------------------------------------------------------*/
enum keygen_format { KEYGEN_FMT_PEM = 0, KEYGEN_FMT_DER };
enum keygen_part {
	KEYGEN_PART_PRIVATE = 0, /* PKCS#8 PrivateKeyInfo (RFC 5208), unencrypted */
	KEYGEN_PART_PUBLIC,      /* SubjectPublicKeyInfo (RFC 5280 §4.1) */
};

/* keygen_pkey_encode writes |part| of |pkey| as |fmt| into a new
 * secure-memory buffer (*out, *out_len; free with secmem_free). Every
 * intermediate OpenSSL buffer is cleared on free. */
err_t keygen_pkey_encode(const struct evp_pkey_st *pkey, enum keygen_part part,
			 enum keygen_format fmt, uint8_t **out,
			 size_t *out_len) MUST_CHECK;

/* keygen_pkey_decode reads a PKCS#8 private key or a SubjectPublicKeyInfo
 * public key, PEM or DER (detected), with OSSL_DECODER in keygen_libctx.
 * |part| says which is wanted. ERR_KEY_FORMAT if it is neither;
 * ERR_TOO_LARGE over KEYGEN_MAX_KEY_FILE bytes. */
#define KEYGEN_MAX_KEY_FILE (64u * 1024)
err_t keygen_pkey_decode(const uint8_t *in, size_t in_len, enum keygen_part part,
			 struct evp_pkey_st **out) MUST_CHECK;

/* keygen_pkey_type returns the table entry that matches |pkey| (algorithm
 * and size), or NULL. */
const struct keygen_type *keygen_pkey_type(const struct evp_pkey_st *pkey);

/* ---- key wrapping --------------------------------------------------------------
 * AES Key Wrap (SP 800-38F §6.2 KW, RFC 3394) and with padding (SP 800-38F
 * §6.3 KWP, RFC 5649), the KEK size (16/24/32 bytes) choosing AES-128/192/
 * 256; and RSA-OAEP (RFC 8017 §7.1) with SHA-256 and MGF1-SHA-256. */
enum keygen_wrap_alg { KEYGEN_WRAP_KW = 0, KEYGEN_WRAP_KWP, KEYGEN_WRAP_RSA_OAEP };

/* Largest key fount wraps (an RSA-4096 PKCS#8 PEM is ~3.3 KiB). */
#define KEYGEN_WRAP_MAX_INPUT (16u * 1024)

/* keygen_wrap_alg_find parses "kw", "kwp" or "rsa-oaep". */
err_t keygen_wrap_alg_find(const char *name, enum keygen_wrap_alg *out) MUST_CHECK;

/* keygen_aes_wrap_len returns the wrapped size of |in_len| bytes under
 * KW (in_len + 8) or KWP (in_len rounded up to 8, + 8), or 0 when |in_len|
 * is not wrappable: KW needs a multiple of 8 and at least 16 bytes; KWP
 * at least 1; both at most KEYGEN_WRAP_MAX_INPUT. */
size_t keygen_aes_wrap_len(enum keygen_wrap_alg alg, size_t in_len);

/* keygen_aes_wrap wraps |in| under |kek| into |out| (|out_cap| >=
 * keygen_aes_wrap_len). ERR_INVALID_ARG for a bad KEK or input size,
 * ERR_TOO_LARGE when |out| is too small. */
err_t keygen_aes_wrap(enum keygen_wrap_alg alg, const uint8_t *kek, size_t kek_len,
		      const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		      size_t *out_len) MUST_CHECK;

/* keygen_aes_unwrap unwraps |in| into |out| (|out_cap| >= in_len - 8).
 * ERR_UNWRAP when the integrity check fails (wrong KEK, tampered,
 * truncated or extended data); on any failure |out| is wiped and *out_len
 * is 0: nothing partial is returned. */
err_t keygen_aes_unwrap(enum keygen_wrap_alg alg, const uint8_t *kek, size_t kek_len,
			const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
			size_t *out_len) MUST_CHECK;

/* keygen_rsa_oaep_wrap encrypts |in| to the RSA public key |kek|; *out is
 * malloc'd (free()). ERR_TOO_LARGE if |in| exceeds k - 2*32 - 2 bytes
 * (RFC 8017 §7.1.1). ERR_KEY_FORMAT if |kek| is not RSA. */
err_t keygen_rsa_oaep_wrap(struct evp_pkey_st *kek, const uint8_t *in, size_t in_len,
			   uint8_t **out, size_t *out_len) MUST_CHECK;
/* keygen_rsa_oaep_unwrap decrypts with the RSA private key |kek| into a
 * secure-memory buffer (free with secmem_free(*out, *out_cap)). Any
 * decryption or padding failure is ERR_UNWRAP (one code, so the caller
 * cannot become a padding oracle). */
err_t keygen_rsa_oaep_unwrap(struct evp_pkey_st *kek, const uint8_t *in, size_t in_len,
			     uint8_t **out, size_t *out_len, size_t *out_cap) MUST_CHECK;

/* ---- authenticated encryption (keygen/aead.c) ----------------------------------
 * AES-GCM (SP 800-38D) and SHA-256 in keygen_libctx(): the FIPS provider in
 * FIPS mode. Key services: ERR_NOT_OPERATIONAL outside SELF_TEST and
 * OPERATIONAL (keygen_service_allowed). */
#define KEYGEN_AEAD_IV_LEN 12   /* 96-bit IVs (SP 800-38D §8.2.2, RBG-based) */
#define KEYGEN_AEAD_TAG_LEN 16  /* 128-bit tags */
#define KEYGEN_AEAD_OVERHEAD (KEYGEN_AEAD_IV_LEN + KEYGEN_AEAD_TAG_LEN)
#define KEYGEN_AEAD_MAX_INPUT (1u << 20)
#define KEYGEN_SHA256_LEN 32

/* keygen_aes_gcm_encrypt encrypts |in| under |key| (16, 24 or 32 bytes)
 * with the caller's |iv| (1..128 bytes) and |aad|, writing |in_len| bytes
 * to |out| and a |tag_len|-byte tag (12..16) to |tag|. For known-answer
 * tests and protocols that carry their own IV; storing keys uses
 * keygen_aead_seal, which draws the IV itself. */
err_t keygen_aes_gcm_encrypt(const uint8_t *key, size_t key_len, const uint8_t *iv,
			     size_t iv_len, const uint8_t *aad, size_t aad_len,
			     const uint8_t *in, size_t in_len, uint8_t *out, uint8_t *tag,
			     size_t tag_len) MUST_CHECK;
/* keygen_aes_gcm_decrypt undoes it: ERR_UNWRAP when the tag does not match
 * (wrong key, IV, AAD, or damaged data), and then |out| is wiped. */
err_t keygen_aes_gcm_decrypt(const uint8_t *key, size_t key_len, const uint8_t *iv,
			     size_t iv_len, const uint8_t *aad, size_t aad_len,
			     const uint8_t *in, size_t in_len, uint8_t *out,
			     const uint8_t *tag, size_t tag_len) MUST_CHECK;

/* AES-CBC (SP 800-38A §6.2) with a 16-byte IV, optionally with PKCS#7
 * padding (RFC 5652 §6.3, KMIP's "PKCS5"). */
#define KEYGEN_CBC_BLOCK 16
/* keygen_aes_cbc_encrypt encrypts |in| under |key| (16, 24 or 32 bytes)
 * into |out| (|out_cap| >= in_len rounded up to the next whole block, one
 * block more when |pad| and in_len is a multiple of 16) and sets *out_len.
 * Without |pad|, |in_len| must be a multiple of 16 (else ERR_INVALID_ARG).
 * ERR_TOO_LARGE beyond KEYGEN_AEAD_MAX_INPUT bytes or a short |out|. */
err_t keygen_aes_cbc_encrypt(const uint8_t *key, size_t key_len, const uint8_t iv[KEYGEN_CBC_BLOCK], bool pad,
			     const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
			     size_t *out_len) MUST_CHECK;
/* keygen_aes_cbc_decrypt undoes it into |out| (|out_cap| >= in_len;
 * secure memory for secrets). |in_len| must be a multiple of 16
 * (ERR_INVALID_ARG); with |pad|, a missing or malformed padding is
 * ERR_UNWRAP and |out| is wiped. */
err_t keygen_aes_cbc_decrypt(const uint8_t *key, size_t key_len, const uint8_t iv[KEYGEN_CBC_BLOCK], bool pad,
			     const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
			     size_t *out_len) MUST_CHECK;

/* keygen_aead_seal writes IV (12 random bytes from drbg_generate) ||
 * ciphertext || tag (16) to |out| (|out_cap| >= in_len +
 * KEYGEN_AEAD_OVERHEAD) and sets *out_len. */
err_t keygen_aead_seal(const uint8_t *key, size_t key_len, const uint8_t *aad, size_t aad_len,
		       const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		       size_t *out_len) MUST_CHECK;
/* keygen_aead_open opens what keygen_aead_seal made into |out| (secure
 * memory; |out_cap| >= in_len - KEYGEN_AEAD_OVERHEAD). ERR_UNWRAP for a
 * wrong key or AAD or any damage; nothing partial is returned. */
err_t keygen_aead_open(const uint8_t *key, size_t key_len, const uint8_t *aad, size_t aad_len,
		       const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		       size_t *out_len) MUST_CHECK;

/* keygen_sha256 hashes |in| (SHA2-256, FIPS 180-4). */
err_t keygen_sha256(const uint8_t *in, size_t len, uint8_t out[KEYGEN_SHA256_LEN]) MUST_CHECK;

/* A streaming HMAC-SHA-256 (FIPS 198-1) in keygen_libctx(), for MACs over
 * more data than one buffer holds (the key store's backup files).
 * keygen_hmac_new keys a new one with |key| (1..64 bytes; the key is
 * kept only inside OpenSSL's context, which keygen_hmac_free wipes);
 * keygen_hmac_update adds |len| bytes; keygen_hmac_final writes the
 * 32-byte tag and may be called once. ERR_NOT_OPERATIONAL outside
 * SELF_TEST and OPERATIONAL, ERR_CRYPTO if OpenSSL fails. */
struct keygen_hmac;
err_t keygen_hmac_new(const uint8_t *key, size_t key_len, struct keygen_hmac **out) MUST_CHECK;
err_t keygen_hmac_update(struct keygen_hmac *h, const void *in, size_t len) MUST_CHECK;
err_t keygen_hmac_final(struct keygen_hmac *h, uint8_t out[KEYGEN_SHA256_LEN]) MUST_CHECK;
/* keygen_hmac_free does nothing on NULL. */
void keygen_hmac_free(struct keygen_hmac *h);

/* ---- key export ------------------------------------------------------------------
 * A new key's bytes as a KMIP Create, an HTTP key request or `fount keygen`
 * hands them out: generated, encoded and, when asked, wrapped under a KEK,
 * all in secure memory. (keygen/export.c) */

/* A buffer of key material in secure memory: |len| bytes used of |cap|
 * mapped. keygen_buf_free wipes and frees it and empties |b|; it does
 * nothing on an empty buffer. */
struct keygen_buf {
	uint8_t *p;
	size_t len, cap;
};
void keygen_buf_free(struct keygen_buf *b);

/* A key-encryption key: a raw AES key (kw, kwp) in secure memory, or an
 * RSA key (rsa-oaep): the public key wraps, the private key unwraps. */
struct keygen_kek {
	enum keygen_wrap_alg alg;
	struct keygen_buf aes;   /* kw, kwp: 16, 24 or 32 bytes */
	struct evp_pkey_st *rsa; /* rsa-oaep */
};

/* Largest raw AES KEK (AES-256). */
#define KEYGEN_KEK_AES_MAX 32

/* keygen_kek_max_len returns the longest encoding keygen_kek_load takes
 * for |alg|: KEYGEN_KEK_AES_MAX for kw and kwp, KEYGEN_MAX_KEY_FILE for
 * rsa-oaep. */
size_t keygen_kek_max_len(enum keygen_wrap_alg alg);

/* keygen_kek_load takes |in| as the KEK for |alg| into *out: for kw and
 * kwp a raw 16, 24 or 32-byte AES key (copied into secure memory); for
 * rsa-oaep an RSA key, PEM or DER, decoded in keygen_libctx(): a
 * SubjectPublicKeyInfo when |part| is KEYGEN_PART_PUBLIC (to wrap), a
 * PKCS#8 private key when KEYGEN_PART_PRIVATE (to unwrap). ERR_KEY_FORMAT
 * if |in| is not that (a wrong size, not a key, not RSA), ERR_TOO_LARGE
 * over keygen_kek_max_len(alg). On failure *out is empty. Free with
 * keygen_kek_free. */
err_t keygen_kek_load(enum keygen_wrap_alg alg, enum keygen_part part, const uint8_t *in,
		      size_t in_len, struct keygen_kek *out) MUST_CHECK;

/* keygen_kek_load_file reads the KEK from |path| (file_read_bounded: a
 * regular file, never through a symbolic link, at most
 * keygen_kek_max_len(alg) bytes, into secure memory) and loads it as
 * keygen_kek_load does. The file's errors are file_read_bounded's (ERR_IO,
 * ERR_SYSTEM with errno set, ERR_INVALID_ARG, ERR_TOO_LARGE); an empty
 * file is ERR_KEY_FORMAT. */
err_t keygen_kek_load_file(enum keygen_wrap_alg alg, enum keygen_part part, const char *path,
			   struct keygen_kek *out) MUST_CHECK;

/* keygen_kek_free wipes and frees |k| and leaves it empty. */
void keygen_kek_free(struct keygen_kek *k);

/* keygen_kek_wrap wraps |key| under |k| (k->alg) into *out (secure memory;
 * a wrap is not secret, but one buffer type keeps freeing simple).
 * ERR_INVALID_ARG when kw or kwp cannot wrap |key_len| bytes
 * (keygen_aes_wrap_len is 0: kw wants a multiple of 8, at least 16;
 * KEYGEN_WRAP_MAX_INPUT at most), ERR_TOO_LARGE when the key is longer
 * than RSA-OAEP takes under this KEK (RFC 8017 §7.1.1); otherwise
 * keygen_aes_wrap's or keygen_rsa_oaep_wrap's errors. On failure *out is
 * empty. */
err_t keygen_kek_wrap(const struct keygen_kek *k, const uint8_t *key, size_t key_len,
		      struct keygen_buf *out) MUST_CHECK;

/* keygen_kek_unwrap undoes keygen_kek_wrap: the key lands in *out (secure
 * memory). A wrong KEK or damaged input is ERR_UNWRAP and nothing is
 * returned. */
err_t keygen_kek_unwrap(const struct keygen_kek *k, const uint8_t *in, size_t in_len,
			struct keygen_buf *out) MUST_CHECK;

/* keygen_export's flags, besides KEYGEN_F_PR (a symmetric key drawn with
 * prediction resistance; key pairs draw through keygen_pkey_generate). */
#define KEYGEN_EXPORT_PUB 0x100u /* key pairs: return the public key too */

struct keygen_export {
	/* the symmetric key's raw bytes, or the private key's PKCS#8
	 * PrivateKeyInfo in the format asked for; wrapped under the KEK
	 * when one was given */
	struct keygen_buf key;
	/* with KEYGEN_EXPORT_PUB: the SubjectPublicKeyInfo, same format */
	struct keygen_buf pub;
	/* the length of the key's encoding before any wrap: 0 when making or
	 * encoding the key failed; when only the wrap failed, the length
	 * that could not be wrapped (for the caller's message) */
	size_t plain_len;
};

/* keygen_export makes a new key of type |t| and returns its bytes in *out:
 * a symmetric key with keygen_sym_generate (|flags| & KEYGEN_F_PR chooses
 * prediction resistance); a key pair with keygen_pkey_generate (its
 * pairwise-consistency test passed), its private key encoded as |fmt|
 * (ignored for symmetric keys). With |kek| (may be NULL) the key is
 * wrapped (keygen_kek_wrap) and its plaintext wiped before the call
 * returns. ERR_INVALID_ARG for KEYGEN_EXPORT_PUB on a symmetric type, for
 * flags it does not know, or for kw with a key pair (kw takes whole 8-byte
 * blocks, which a PKCS#8 encoding is only by chance: use kwp), all checked
 * before a key is made; otherwise
 * the errors of the steps named above. On failure *out holds no key
 * (see plain_len). Free with keygen_export_free. */
err_t keygen_export(const struct keygen_type *t, enum keygen_format fmt, unsigned flags,
		    const struct keygen_kek *kek, struct keygen_export *out) MUST_CHECK;

/* keygen_export_free wipes and frees both buffers of |e|. */
void keygen_export_free(struct keygen_export *e);

/* ---- new key pairs, and the pool of ready ones (keygen/pool.c) ---------------
 * A new key pair as the key service stores it: the private key as PKCS#8
 * PrivateKeyInfo DER and the public key as SubjectPublicKeyInfo DER, both
 * in secure memory, its pairwise-consistency test passed.
 *
 * RSA-3072 generation takes about a second, so a pool per configured type
 * keeps ready pairs (`[kmip] keypair_pool = rsa-3072:4,ec-p256:64`), made by
 * one low-priority thread (SCHED_IDLE, nice 19) with keygen_pkey_generate
 * and kept only as their DER encodings in secure memory. Each pair is
 * handed out once and wiped from the pool as it leaves; keygen_pool_stop
 * wipes the rest. The service gate applies at take time: when the module
 * has left OPERATIONAL (drbg gate shut, e.g. ERROR) nothing is handed out
 * and the whole pool is wiped, so a key made before an ERROR never leaves
 * after it. */
struct keygen_pair {
	const struct keygen_type *type;
	struct keygen_buf priv; /* PKCS#8 PrivateKeyInfo, DER */
	struct keygen_buf pub;  /* SubjectPublicKeyInfo, DER */
	bool pooled;            /* came from the pool */
};
/* keygen_pair_free wipes and frees both parts. */
void keygen_pair_free(struct keygen_pair *p);

/* keygen_pair_generate makes a pair of key-pair type |t| now
 * (keygen_pkey_generate, then both DER encodings). keygen_pkey_generate's
 * errors; ERR_INVALID_ARG for a symmetric type. */
err_t keygen_pair_generate(const struct keygen_type *t, struct keygen_pair *out) MUST_CHECK;

/* keygen_pair_new takes a ready pair of type |t| from the pool, or (none
 * ready, or |t| not pooled) generates one inline. ERR_NOT_OPERATIONAL when
 * the gate is shut (the pool is then wiped). */
err_t keygen_pair_new(const struct keygen_type *t, struct keygen_pair *out) MUST_CHECK;

#define KEYGEN_POOL_MAX_TYPES 8
#define KEYGEN_POOL_MAX_TARGET 1024

struct keygen_pool_spec {
	const struct keygen_type *type;
	unsigned target; /* pairs kept ready, 1..KEYGEN_POOL_MAX_TARGET */
};

/* keygen_pool_parse reads "TYPE:COUNT[,TYPE:COUNT...]" (e.g.
 * "rsa-3072:4,ec-p256:64"; "" is no pool) into |out| (*n entries). Each
 * TYPE is a key-pair type of keygen_types, each once; COUNT 1 to
 * KEYGEN_POOL_MAX_TARGET. ERR_CONFIG with the reason (naming the accepted
 * types) in |why|. */
err_t keygen_pool_parse(const char *text, struct keygen_pool_spec out[KEYGEN_POOL_MAX_TYPES],
			size_t *n, char *why, size_t whylen) MUST_CHECK NONNULL(1, 2, 3, 4);

/* keygen_pool_types_text writes the accepted type names ("rsa-2048,
 * rsa-3072, ...") into |out|. */
void keygen_pool_types_text(char *out, size_t len) NONNULL(1);

/* keygen_pool_start starts the pool for |n| types and its refill thread
 * (n == 0: nothing, ERR_OK). ERR_INVALID_ARG if one is running already or
 * a spec is bad; ERR_SYSTEM if the thread cannot start. Requires
 * drbg_tree_init; stop it before drbg_tree_shutdown. */
err_t keygen_pool_start(const struct keygen_pool_spec *specs, size_t n) MUST_CHECK;

/* keygen_pool_take moves one ready pair of type |t| into *out (pooled
 * true). ERR_UNSUPPORTED when |t| is not pooled or
 * none is ready (the caller generates inline), ERR_NOT_OPERATIONAL when
 * the gate is shut (the pool is wiped). Wakes the refill thread. */
err_t keygen_pool_take(const struct keygen_type *t, struct keygen_pair *out) MUST_CHECK;

struct keygen_pool_stat {
	const struct keygen_type *type;
	unsigned ready, target;
	uint64_t made, taken, dropped; /* since start */
};
/* keygen_pool_stats fills up to |cap| entries, one per pooled type, and
 * returns how many there are (0 when no pool runs). */
size_t keygen_pool_stats(struct keygen_pool_stat *out, size_t cap);
/* keygen_pool_text writes "rsa-3072 3/4, ec-p256 64/64" (ready/target per
 * type), or "off", into |out|. */
void keygen_pool_text(char *out, size_t len) NONNULL(1);

/* keygen_pool_drop wipes every ready pair (the refill thread refills once
 * the gate opens again). */
void keygen_pool_drop(void);

/* keygen_pool_stop stops and joins the refill thread and wipes every
 * ready pair. Does nothing when no pool runs. */
void keygen_pool_stop(void);

/* keygen_pool_wait_ready_for_test waits up to |ms| for every pooled type
 * to reach its target; keygen_pool_secmem_for_test reports the bytes of
 * secure memory the pool holds; keygen_pool_pause_for_test stops (true)
 * and restarts the refilling. Tests only. */
bool keygen_pool_wait_ready_for_test(unsigned ms);
void keygen_pool_pause_for_test(bool pause);
size_t keygen_pool_secmem_for_test(void);

/* ---- X.509 certificates for fount's own PKI (keygen/x509.c) ----------------
 * Signed in keygen_libctx() with SHA-256; serials from the DRBG. */
struct keygen_cert_spec {
	const char *cn;                /* subject CN, at most 64 bytes */
	const char *org;               /* subject O, or NULL */
	const char *const *dns;        /* subjectAltName DNS names */
	size_t n_dns;
	const char *const *ips;        /* subjectAltName IP addresses (v4 or v6) */
	size_t n_ips;
	bool ca;                       /* a CA: CA:TRUE, keyCertSign, cRLSign */
	bool server_auth, client_auth; /* a leaf's extendedKeyUsage */
	unsigned days;                 /* validity, 1 to 36500 */
};

/* keygen_cert_issue makes a certificate for |subject_key| as |spec| says,
 * signed by |issuer_key| as |issuer| (NULL: self-signed, then issuer_key is
 * the subject's own key). ERR_INVALID_ARG for a CN, name or address that
 * is empty, too long or not well-formed; ERR_NOT_OPERATIONAL outside
 * SELF_TEST/OPERATIONAL. */
err_t keygen_cert_issue(const struct keygen_cert_spec *spec, struct evp_pkey_st *subject_key,
			struct evp_pkey_st *issuer_key, struct x509_st *issuer,
			struct x509_st **out) MUST_CHECK;

/* keygen_csr_sign checks a PKCS#10 request (PEM or DER; its signature
 * proves the requester holds the key, which must be a key type fount
 * knows) and issues a certificate for its key as |spec| says: the subject
 * comes from |spec|, never from the request. ERR_KEY_FORMAT for a request
 * that does not parse or verify. */
err_t keygen_csr_sign(const uint8_t *csr, size_t csr_len, const struct keygen_cert_spec *spec,
		      struct evp_pkey_st *issuer_key, struct x509_st *issuer,
		      struct x509_st **out) MUST_CHECK;

/* keygen_cert_encode writes |cert| as PEM into a malloc'd buffer (not
 * secret); keygen_cert_decode reads one PEM or DER certificate. */
err_t keygen_cert_encode(const struct x509_st *cert, uint8_t **out, size_t *out_len) MUST_CHECK;
err_t keygen_cert_decode(const uint8_t *in, size_t in_len, struct x509_st **out) MUST_CHECK;

/* keygen_cert_sha256 is the SHA-256 of the certificate's DER encoding: the
 * fingerprint clients are pinned and mapped to tenants by. */
err_t keygen_cert_sha256(const struct x509_st *cert, uint8_t out[32]) MUST_CHECK;

/* ---- key encodings for the KMIP server (keygen/convert.c) -------------------
 * DER only (KMIP carries key material as Byte Strings, KMIP 1.4 §2.1.7). */
enum keygen_der {
	KEYGEN_DER_PKCS8 = 0,   /* PrivateKeyInfo (RFC 5208) */
	KEYGEN_DER_SPKI,        /* SubjectPublicKeyInfo (RFC 5280 §4.1) */
	KEYGEN_DER_RSA_PRIVATE, /* PKCS#1 RSAPrivateKey (RFC 8017 §A.1.2) */
	KEYGEN_DER_RSA_PUBLIC,  /* PKCS#1 RSAPublicKey (RFC 8017 §A.1.1) */
	KEYGEN_DER_EC_PRIVATE,  /* ECPrivateKey (RFC 5915 §3) */
};

/* keygen_pkey_from_der reads exactly one |form| structure (nothing after
 * it) into *out (EVP_PKEY_free). ERR_KEY_FORMAT when it does not decode,
 * is not of the form's algorithm (PKCS#1: RSA; ECPrivateKey: EC) or is a
 * key type fount does not know (keygen_pkey_type). */
err_t keygen_pkey_from_der(const uint8_t *in, size_t in_len, enum keygen_der form,
			   struct evp_pkey_st **out) MUST_CHECK;
/* keygen_pkey_to_der writes |pkey| as |form| into secure memory (*out,
 * *out_len; secmem_free). ERR_KEY_FORMAT for a form of another algorithm;
 * a private form of a public-only key fails. */
err_t keygen_pkey_to_der(const struct evp_pkey_st *pkey, enum keygen_der form, uint8_t **out,
			 size_t *out_len) MUST_CHECK;

/* The numbers of a key, for the Transparent key formats (KMIP 1.4 §2.1.7). */
enum keygen_pkey_num {
	KEYGEN_NUM_RSA_N = 0, KEYGEN_NUM_RSA_E, KEYGEN_NUM_RSA_D, KEYGEN_NUM_RSA_P, KEYGEN_NUM_RSA_Q,
	KEYGEN_NUM_RSA_DP, KEYGEN_NUM_RSA_DQ, KEYGEN_NUM_RSA_QINV,
	KEYGEN_NUM_EC_D,  /* the private scalar */
	KEYGEN_NUM_EC_Q,  /* the public point, SEC 1 §2.3.3 octet string */
};
/* keygen_pkey_number writes one number as unsigned big-endian bytes (the
 * point as its octet string) into secure memory (*out, *out_len;
 * secmem_free). ERR_KEY_FORMAT when |pkey| is not of its algorithm or
 * lacks it (a public key has no private exponent). */
err_t keygen_pkey_number(const struct evp_pkey_st *pkey, enum keygen_pkey_num which, uint8_t **out,
			 size_t *out_len) MUST_CHECK;

/* keygen_cert_check_der checks that |in| is exactly one DER X.509
 * certificate whose public key OpenSSL reads. ERR_KEY_FORMAT otherwise. */
err_t keygen_cert_check_der(const uint8_t *in, size_t in_len) MUST_CHECK;

#endif /* FOUNT_KEYGEN_KEYGEN_H */
