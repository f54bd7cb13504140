/* hsm/hsm.h — the one public header of hsm/: PKCS#11 hardware security
 * modules through libpkcs11-helper.
 *
 * An HSM is one configured provider ([hsm] or [hsm.NAME]): a PKCS#11
 * module, a token in it (by label or serial) and the user PIN. hsm_open
 * loads the module, finds the token, opens a small pool of sessions and
 * logs in; the PIN is read into secure memory and wiped right after
 * C_Login. Every operation borrows a session from the pool, so several
 * threads may use one struct hsm at once. Every key service and every use
 * of the token's RNG is refused with ERR_NOT_OPERATIONAL unless the module
 * is in SELF_TEST or OPERATIONAL (keygen_service_allowed); listing and
 * destroying objects are not key services and work in any state. When the token goes away
 * (CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_REMOVED, a lost session or login),
 * the next operation reloads the module, finds the token again by its
 * configured label or serial, logs in again and retries once.
 *
 * Keys generated inside the HSM are sensitive and non-extractable unless
 * asked otherwise. Keys made by fount enter the HSM only wrapped: fount
 * wraps them under a KEK it shares with the HSM (AES key wrap with padding,
 * RFC 5649) and the HSM unwraps them (C_UnwrapKey with
 * CKM_AES_KEY_WRAP_PAD), so the plaintext key never crosses the PKCS#11
 * boundary. For a key pair that is the private key's PKCS#8 DER; its public
 * half, which is not secret, is created in the clear. No PIN and no key byte ever reaches a log or an error message.
 *
 * hsm/ sits between keygen/ and store/: it may use keygen's DRBG (to seed
 * the HSM) and registers the HSM's RNG with entropy/ itself. */
#ifndef FOUNT_HSM_HSM_H
#define FOUNT_HSM_HSM_H

#include "util/util.h"

struct hsm;
struct evp_pkey_st; /* EVP_PKEY, without pulling OpenSSL headers in */
struct keygen_type; /* keygen/keygen.h */

/* Largest wrapped key hsm_kek_wrap / hsm_export_wrapped return (an RSA-4096
 * private key in PKCS#8 plus padding fits). */
#define HSM_WRAPPED_MAX 4096
/* Largest key hsm_kek_wrap accepts and hsm_kek_unwrap returns. */
#define HSM_KEY_MAX 512
/* Largest single hsm_random / hsm_seed request. */
#define HSM_RANDOM_MAX 65536

enum hsm_key_type {
	HSM_KEY_AES_128,
	HSM_KEY_AES_256,
	HSM_KEY_RSA_3072,
	HSM_KEY_EC_P256,
};

/* Flags for hsm_generate, hsm_import_wrapped and hsm_import_keypair. By default a key is
 * sensitive (CKA_SENSITIVE), non-extractable (CKA_EXTRACTABLE false), a
 * token object, and may encrypt/decrypt (AES), sign/verify (RSA, EC). */
#define HSM_KEY_EXTRACTABLE (1u << 0) /* may leave the HSM wrapped (C_WrapKey) */
#define HSM_KEY_KEK (1u << 1)         /* AES only: may wrap and unwrap other keys */

/* hsm_key_type_parse maps "aes-128", "aes-256", "rsa-3072", "ec-p256".
 * ERR_INVALID_ARG for anything else. */
err_t hsm_key_type_parse(const char *s, enum hsm_key_type *out) MUST_CHECK NONNULL(1, 2);

/* ---- lifecycle ----------------------------------------------------------- */

/* hsm_open connects to the HSM configured in |cfg|: pkcs11h_initialize (on
 * first use), registers and initializes the provider (CKF_OS_LOCKING_OK),
 * finds the token, opens |cfg->pool_size| sessions and logs in as the user.
 * Returns ERR_CONFIG if |cfg->module| is empty, ERR_HSM_MODULE if the
 * module cannot be loaded, ERR_HSM_TOKEN_ABSENT if no token matches,
 * ERR_HSM_PIN_MISSING / ERR_HSM_PIN_INCORRECT / ERR_HSM_PIN_LOCKED for PIN
 * trouble. */
err_t hsm_open(const struct config_hsm *cfg, struct hsm **out) MUST_CHECK NONNULL(1, 2);

/* hsm_close logs out, closes the sessions, removes the provider and, with
 * the last HSM, terminates pkcs11-helper. Does nothing on NULL. Any
 * entropy source registered with hsm_register_rng must be gone first
 * (entropy_shutdown). */
void hsm_close(struct hsm *h);

/* hsm_name returns the configured name ("" for [hsm]). */
const char *hsm_name(const struct hsm *h) NONNULL(1);

/* hsm_reconnects returns how many times |h| reloaded the module after the
 * token went away. */
unsigned hsm_reconnects(const struct hsm *h) NONNULL(1);

/* ---- tokens and objects --------------------------------------------------- */

struct hsm_token_info {
	char label[33];
	char serial[17];
	char manufacturer[33];
	char model[17];
};

/* hsm_list_tokens loads the module of |cfg| (no login) and describes up to
 * |max| tokens present in it; *n is how many there are. */
err_t hsm_list_tokens(const struct config_hsm *cfg, struct hsm_token_info *out,
		      size_t max, size_t *n) MUST_CHECK NONNULL(1, 4);

struct hsm_object_info {
	char label[65];
	char id_hex[65];          /* CKA_ID in hex, truncated to 32 bytes */
	const char *class_name;   /* "secret-key", "private-key", "public-key", "data", ... */
	const char *key_type;     /* "aes", "rsa", "ec", ... or "" */
	unsigned long bits;       /* key size in bits, 0 if unknown */
	int sensitive;            /* CKA_SENSITIVE: 1, 0, or -1 if not applicable */
	int extractable;          /* CKA_EXTRACTABLE: 1, 0, or -1 */
};

/* hsm_list_objects describes up to |max| objects the user can see; *n is
 * how many there are. */
err_t hsm_list_objects(struct hsm *h, struct hsm_object_info *out, size_t max,
		       size_t *n) MUST_CHECK NONNULL(1, 4);

/* hsm_generate creates a key (AES) or key pair (RSA, EC; both halves get
 * |label|) inside the HSM: C_GenerateKey / C_GenerateKeyPair (PKCS#11 v2.40
 * §5.14). ERR_HSM_DUPLICATE if |label| is taken, ERR_HSM_MECHANISM if the
 * token cannot generate that type. */
err_t hsm_generate(struct hsm *h, enum hsm_key_type type, const char *label,
		   unsigned flags) MUST_CHECK NONNULL(1, 3);

/* hsm_destroy removes every object labelled |label|.
 * ERR_HSM_OBJECT_NOT_FOUND if there is none. */
err_t hsm_destroy(struct hsm *h, const char *label) MUST_CHECK NONNULL(1, 2);

/* ---- moving keys in and out, wrapped --------------------------------------- */

/* hsm_kek_install creates the AES key-encryption key |label| from |kek|
 * (16 or 32 bytes): sensitive, non-extractable, usable only to wrap and
 * unwrap. This is the one-time provisioning step (a key ceremony) that
 * gives fount and the HSM a shared transport KEK; it is the only call that
 * hands a plaintext key to the HSM. */
err_t hsm_kek_install(struct hsm *h, const char *label, const uint8_t *kek,
		      size_t kek_len, unsigned flags) MUST_CHECK NONNULL(1, 2, 3);

/* hsm_import_wrapped unwraps |wrapped| (RFC 5649 AES key wrap with
 * padding, made by fount under the same KEK) inside the HSM with the KEK
 * labelled |kek_label| (C_UnwrapKey, CKM_AES_KEY_WRAP_PAD) into a new AES
 * key of |type| labelled |label|. ERR_HSM_UNWRAP if the HSM rejects the
 * blob (wrong KEK, corrupted), ERR_HSM_OBJECT_NOT_FOUND if there is no KEK,
 * ERR_HSM_DUPLICATE if |label| is taken. */
err_t hsm_import_wrapped(struct hsm *h, const char *kek_label,
			 const uint8_t *wrapped, size_t wrapped_len,
			 enum hsm_key_type type, const char *label,
			 unsigned flags) MUST_CHECK NONNULL(1, 2, 3, 6);

/* hsm_import_keypair brings a key pair fount made into the HSM. |wrapped|
 * is the private key's PKCS#8 PrivateKeyInfo DER (keygen_pkey_encode),
 * wrapped by fount with RFC 5649 (keygen_aes_wrap, KEYGEN_WRAP_KWP) under
 * its copy of the KEK labelled |kek_label|; the HSM unwraps it
 * (C_UnwrapKey, CKM_AES_KEY_WRAP_PAD) into a CKO_PRIVATE_KEY (CKK_RSA or
 * CKK_EC) labelled |label|: a token object, private, sensitive,
 * non-extractable unless HSM_KEY_EXTRACTABLE, CKA_SIGN (and CKA_DECRYPT
 * for RSA). The public half is read from |pub| (only its public
 * parameters; it may be the whole key pair) and created with
 * C_CreateObject as a CKO_PUBLIC_KEY with the same label, CKA_VERIFY (and
 * CKA_ENCRYPT for RSA), and RSA CKA_MODULUS + CKA_PUBLIC_EXPONENT or EC
 * CKA_EC_PARAMS (curve OID) + CKA_EC_POINT (uncompressed, DER OCTET
 * STRING). Both halves get CKA_ID = SHA-1 of the subjectPublicKey (RFC
 * 5280 §4.2.1.2 (1)). The HSM then signs with the new private key and
 * verifies with the new public key (a pairwise-consistency test); a
 * failure removes both.
 *
 * Types: RSA 2048/3072/4096, EC P-256/P-384/P-521. ERR_UNSUPPORTED for
 * anything else (Ed25519, X25519). ERR_HSM_UNWRAP if the HSM rejects the
 * blob (wrong KEK, corrupted, not PKCS#8), ERR_KEY_FORMAT if the private
 * key is not the one |pub| belongs to, ERR_HSM_OBJECT_NOT_FOUND if there
 * is no KEK, ERR_HSM_DUPLICATE if |label| is taken. Nothing is left on the
 * token after a failure. */
err_t hsm_import_keypair(struct hsm *h, const char *kek_label,
			 const uint8_t *wrapped, size_t wrapped_len,
			 const struct evp_pkey_st *pub, const char *label,
			 unsigned flags) MUST_CHECK NONNULL(1, 2, 3, 5, 6);

/* hsm_export_wrapped wraps the key |label| under |kek_label| inside the HSM
 * (C_WrapKey, CKM_AES_KEY_WRAP_PAD). ERR_HSM_KEY_POLICY if the key is not
 * extractable or the KEK may not wrap. */
err_t hsm_export_wrapped(struct hsm *h, const char *kek_label, const char *label,
			 uint8_t *out, size_t cap, size_t *out_len) MUST_CHECK
	NONNULL(1, 2, 3, 4, 6);

/* hsm_kek_wrap seals |key| under the HSM-resident KEK |kek_label| (for the
 * key store): the key becomes a short-lived session object, the HSM wraps
 * it with CKM_AES_KEY_WRAP_PAD, and the session object is destroyed. */
err_t hsm_kek_wrap(struct hsm *h, const char *kek_label, const uint8_t *key,
		   size_t key_len, uint8_t *out, size_t cap, size_t *out_len) MUST_CHECK
	NONNULL(1, 2, 3, 5, 7);

/* hsm_kek_unwrap opens what hsm_kek_wrap sealed: the HSM unwraps into a
 * short-lived extractable session object whose value is copied to |out|
 * (which should be secure memory) and which is then destroyed.
 * ERR_HSM_UNWRAP for a wrong KEK or corrupted blob. */
err_t hsm_kek_unwrap(struct hsm *h, const char *kek_label, const uint8_t *wrapped,
		     size_t wrapped_len, uint8_t *out, size_t cap, size_t *out_len) MUST_CHECK
	NONNULL(1, 2, 3, 5, 7);

/* ---- the HSM's RNG ------------------------------------------------------------ */

/* hsm_seed mixes |len| bytes into the HSM's RNG (C_SeedRandom).
 * ERR_HSM_NOT_SUPPORTED if the token answers CKR_RANDOM_SEED_NOT_SUPPORTED
 * or CKR_FUNCTION_NOT_SUPPORTED: an answer, not a failure of fount. */
err_t hsm_seed(struct hsm *h, const uint8_t *seed, size_t len) MUST_CHECK NONNULL(1, 2);

/* hsm_seed_from_drbg seeds the HSM with |len| bytes from drbg_generate
 * (the module must be OPERATIONAL), in chunks of at most 4 KiB. */
err_t hsm_seed_from_drbg(struct hsm *h, size_t len) MUST_CHECK NONNULL(1);

/* hsm_random fills |out| with |len| <= HSM_RANDOM_MAX bytes from
 * C_GenerateRandom. */
err_t hsm_random(struct hsm *h, uint8_t *out, size_t len) MUST_CHECK NONNULL(1, 2);

/* hsm_register_rng registers the HSM's RNG with entropy/ as an
 * additional-input source named "hsm" (or "hsm.NAME"): never credited.
 * |h| must outlive the entropy pipeline (entropy_shutdown before
 * hsm_close). */
err_t hsm_register_rng(struct hsm *h) MUST_CHECK NONNULL(1);

/* ---- fount's keys into the HSM, and the KEK ceremony (hsm/import.c) -------- */

/* A key to import, as `fount keygen` writes it: an AES key or a key pair's
 * private key. Opaque; it lives in secure memory. */
struct hsm_import_key;

/* Largest AES key hsm_aes_key_parse returns. */
#define HSM_AES_KEY_MAX 32

/* hsm_aes_key_parse takes |in| as a 16- or 32-byte AES key: one line of
 * hex (32 or 64 digits, a trailing newline allowed), else the raw bytes.
 * Hex is tried first, so 32 hex digits written with `echo -n` are an
 * AES-128 key, not an AES-256 key made of ASCII. The key lands in |out|
 * (|cap| >= HSM_AES_KEY_MAX; secure memory), its length in *out_len.
 * ERR_KEY_FORMAT if |in| is neither. */
err_t hsm_aes_key_parse(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
			size_t *out_len) MUST_CHECK NONNULL(1, 3, 5);

/* hsm_import_key_parse reads |in| as an AES key (hsm_aes_key_parse) or,
 * failing that, a PKCS#8 private key, PEM or DER (keygen_pkey_decode).
 * ERR_KEY_FORMAT if it is neither. Free *out with hsm_import_key_free. */
err_t hsm_import_key_parse(const uint8_t *in, size_t len,
			   struct hsm_import_key **out) MUST_CHECK NONNULL(1, 3);
/* hsm_import_key_type returns the key's entry in keygen's type table
 * (aes-128 or aes-256 for an AES key). */
const struct keygen_type *hsm_import_key_type(const struct hsm_import_key *k) NONNULL(1);
/* hsm_import_key_free wipes and frees |k|. Does nothing on NULL. */
void hsm_import_key_free(struct hsm_import_key *k);

/* hsm_import brings |key| into the HSM as |label|, wrapped on the way:
 * fount wraps it under |kek| (its copy of the HSM's KEK |kek_label|, 16 or
 * 32 bytes) with AES-KWP (RFC 5649) and the HSM unwraps it
 * (hsm_import_wrapped for an AES key; for a key pair, its PKCS#8 DER
 * through hsm_import_keypair, which creates the public half and runs the
 * HSM's sign/verify check). The plaintext never crosses the PKCS#11
 * boundary and is wiped here. ERR_UNSUPPORTED for key pairs an HSM does
 * not take (Ed25519, X25519); ERR_HSM_UNWRAP when the HSM's KEK is not
 * |kek|; otherwise the errors of the calls named above. */
err_t hsm_import(struct hsm *h, const char *kek_label, const uint8_t *kek, size_t kek_len,
		 const struct hsm_import_key *key, const char *label,
		 unsigned flags) MUST_CHECK NONNULL(1, 2, 3, 5, 6);

/* How hsm_kek_create keeps fount's copy of a new KEK. */
struct hsm_kek_copy {
	/* keep stores the copy durably (for `fount hsm kek-create`, a file
	 * created 0600 and synced) and returns ERR_OK only once it is */
	err_t (*keep)(void *ctx, const uint8_t *kek, size_t len);
	/* discard removes the copy again: the HSM did not take the KEK */
	void (*discard)(void *ctx);
	void *ctx;
};

/* hsm_kek_create runs the KEK ceremony: a new AES-256 KEK from fount's
 * DRBG with prediction resistance (drbg_generate_pr, SP 800-90A §9.3.1;
 * the module must be OPERATIONAL), fount's copy kept first (copy->keep)
 * so that the HSM never holds a KEK fount lacks, then installed in the
 * HSM as |label| (hsm_kek_install); if that fails the copy is discarded.
 * The KEK is wiped before the call returns. ERR_INVALID_ARG for an empty
 * or over-long label (checked before the draw); keep's error if it fails;
 * otherwise the errors of the calls named above. */
err_t hsm_kek_create(struct hsm *h, const char *label,
		     const struct hsm_kek_copy *copy) MUST_CHECK NONNULL(1, 2, 3);

#endif /* FOUNT_HSM_HSM_H */
