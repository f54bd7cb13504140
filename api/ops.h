/* api/ops.h — the operation layer shared by every protocol (api/ops.c).
 * Private to api/. */
#ifndef FOUNT_API_OPS_H
#define FOUNT_API_OPS_H

#include "api/internal.h"
#include "keygen/keygen.h"
#include "store/store.h"

/* ops_set_store gives the operation layer its store (NULL: none, then
 * every object operation is ERR_UNSUPPORTED) and whether administrators
 * may read other tenants' key material. */
void ops_set_store(struct store *s, bool admins_read_keys);
bool ops_have_store(void);

/* What a new key gets besides its material. */
struct ops_new_key {
	uint32_t alg, length, usage_mask; /* KMIP values; usage mask may be 0 */
	int64_t activation_date;          /* 0: starts Pre-Active */
	uint32_t data_type;               /* Register: Secret Data / Opaque Data / Certificate Type */
	const struct store_attr *attrs;   /* Name, Object Group, x-..., ... */
	size_t n_attrs;
};

/* ops_create_symmetric makes an AES (128/192/256) or HMAC-SHA-2 key from
 * the DRBG with prediction resistance and stores it for |p|'s tenant.
 * ERR_UNSUPPORTED for another algorithm or length. */
err_t ops_create_symmetric(const struct kmip_peer *p, const struct ops_new_key *k,
			   char id_out[STORE_ID_MAX + 1]) MUST_CHECK;
/* ops_register stores key material the client brings. */
err_t ops_register(const struct kmip_peer *p, const struct ops_new_key *k, uint32_t type, uint32_t format,
		   const uint8_t *material, size_t len, char id_out[STORE_ID_MAX + 1]) MUST_CHECK;
/* ops_get reads an object's metadata and attributes. */
err_t ops_get(const struct kmip_peer *p, const char *id, struct store_object *out) MUST_CHECK;
/* ops_get_material opens its key material into secure memory and records
 * the access (|operation| names it in the log); nothing is returned when
 * the record cannot be written. */
err_t ops_get_material(const struct kmip_peer *p, const char *id, const char *operation, uint8_t **out,
		       size_t *out_len) MUST_CHECK;
/* ops_activate: Pre-Active -> Active; an Active object stays Active. */
err_t ops_activate(const struct kmip_peer *p, const char *id) MUST_CHECK;
err_t ops_revoke(const struct kmip_peer *p, const char *id, uint32_t reason, int64_t occurred) MUST_CHECK;
err_t ops_destroy(const struct kmip_peer *p, const char *id) MUST_CHECK;
/* ops_find runs |q| for |p|'s tenant (q->tenant and q->flags are set here). */
err_t ops_find(const struct kmip_peer *p, struct store_query *q, struct store_found *out) MUST_CHECK;

/* ---- objects of every type, key formats, wrapped keys (objects branch) ----
 * |why| (OPS_WHY_MAX bytes, may be NULL) gets a one-line reason on failure,
 * fit for a client (never secret). */
#define OPS_WHY_MAX 160

/* ops_register_object checks and stores what a client registers (KMIP 1.4
 * §4.3): a symmetric key's raw bytes against its algorithm and length; a
 * certificate as one DER X.509 certificate; a private key given as PKCS#1,
 * PKCS#8 or ECPrivateKey, stored as PKCS#8; a public key given as PKCS#1 or
 * SubjectPublicKeyInfo, stored as SubjectPublicKeyInfo (their algorithm
 * and length are taken from the key, and a given one must agree); Secret
 * Data and Opaque objects as their bytes with |format|. ERR_KEY_FORMAT for
 * material that does not decode or fit, ERR_UNSUPPORTED for a format the
 * type does not take, ERR_STORE_NAME_TAKEN for a Name the tenant has. */
err_t ops_register_object(const struct kmip_peer *p, const struct ops_new_key *k, uint32_t type,
			  uint32_t format, const uint8_t *material, size_t len, char id_out[STORE_ID_MAX + 1],
			  char *why) MUST_CHECK;

/* ops_convert re-encodes stored material |in| of object type |type| into
 * key format |format| (KMIP numbers: PKCS#1, PKCS#8, X.509, ECPrivateKey;
 * the stored form itself is a copy) in secure memory (*out; secmem_free).
 * ERR_UNSUPPORTED when the format does not fit the object. */
err_t ops_convert(uint32_t type, uint32_t stored_format, const uint8_t *in, size_t in_len, uint32_t format,
		  uint8_t **out, size_t *out_len) MUST_CHECK;

/* ops_wrap_check makes ops_wrap_with's checks of the wrapping key without
 * reading it, so a caller can refuse before it reads the key to wrap. */
err_t ops_wrap_check(const struct kmip_peer *p, const char *wrapping_id, enum keygen_wrap_alg alg,
		     char *why) MUST_CHECK;

/* ops_wrap_with wraps |plain| under the caller's key |wrapping_id| with
 * AES-KW or AES-KWP (*out, secure memory; secmem_free) and records the
 * wrapping key's use. The wrapping key must be the caller's (else
 * ERR_STORE_NOT_FOUND), Active (ERR_STORE_STATE), an AES key
 * (ERR_UNSUPPORTED otherwise) with the Wrap Key usage bit (ERR_KEY_USAGE);
 * material KW cannot wrap (not a multiple of 8 bytes) is ERR_INVALID_ARG. */
err_t ops_wrap_with(const struct kmip_peer *p, const char *wrapping_id, enum keygen_wrap_alg alg,
		    const uint8_t *plain, size_t plain_len, uint8_t **out, size_t *out_len, char *why) MUST_CHECK;

/* ops_get_wrapped is GET /v1/keys/{id}/material?wrap_with=...: object
 * |id|'s stored material wrapped under |wrapping_id| (ops_wrap_with), both
 * accesses recorded. */
err_t ops_get_wrapped(const struct kmip_peer *p, const char *id, const char *wrapping_id,
		      enum keygen_wrap_alg alg, uint8_t **out, size_t *out_len, char *why) MUST_CHECK;

#endif
