/* api/ops.h — the operation layer shared by every protocol (api/ops.c).
 * Private to api/. */
#ifndef FOUNT_API_OPS_H
#define FOUNT_API_OPS_H

#include "api/internal.h"
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

/* ---- Encrypt and Decrypt with a stored key (api/ops.c) ---------------------
 * One whole message (no streaming) under an AES key of the caller's. The
 * key never leaves api/ops.c: it is opened into secure memory, used by
 * keygen/ and wiped; every use is recorded in the access log first. */
enum ops_cipher_mode {
	OPS_AES_CBC = 1, /* SP 800-38A §6.2, 16-byte IV */
	OPS_AES_GCM = 2, /* SP 800-38D, 1..128-byte IV (12 when drawn) */
};
#define OPS_IV_MAX 128
#define OPS_TAG_MAX 16

struct ops_cipher {
	enum ops_cipher_mode mode;
	bool pad;                     /* CBC: PKCS#7 ("PKCS5") padding */
	const uint8_t *in;            /* the data */
	size_t in_len;
	uint8_t iv[OPS_IV_MAX];       /* the client's IV, or (Encrypt) the one drawn */
	size_t iv_len;                /* 0 on Encrypt: draw one from the DRBG */
	bool iv_drawn;                /* out: the server drew |iv| */
	const uint8_t *aad;           /* GCM additional data, may be NULL */
	size_t aad_len;
	uint8_t tag[OPS_TAG_MAX];     /* GCM: Encrypt writes it, Decrypt checks it */
	size_t tag_len;               /* GCM: 12..16 */
	uint8_t *out;                 /* the caller's buffer (secure memory for Decrypt) */
	size_t out_cap, out_len;      /* out_len: what was written */
};

/* ops_cipher_out_max is the most |c| can write: the data rounded up to
 * whole blocks, plus one block of padding. */
size_t ops_cipher_out_max(const struct ops_cipher *c);

/* ops_encrypt encrypts c->in with |p|'s key |id| (the access recorded as
 * |operation|). The key must be an AES
 * key in the Active state (KMIP 1.4 §3.22: only Active objects apply
 * protection), before its Protect Stop Date, with the Encrypt bit in its
 * usage mask. ERR_STORE_NOT_FOUND for an unknown or another tenant's key,
 * ERR_STORE_STATE for the wrong state or date, ERR_KEY_USAGE for the usage
 * mask or a key that is not AES, ERR_INVALID_ARG for parameters that do not
 * fit the mode, ERR_TOO_LARGE, ERR_CRYPTO. */
err_t ops_encrypt(const struct kmip_peer *p, const char *id, const char *operation,
		  struct ops_cipher *c) MUST_CHECK;
/* ops_decrypt is its inverse: Active or Deactivated (§3.22: a
 * Deactivated key still processes protected data), from its Process Start
 * Date, the Decrypt bit. A bad GCM tag or CBC padding is ERR_UNWRAP and
 * nothing is written. */
err_t ops_decrypt(const struct kmip_peer *p, const char *id, const char *operation,
		  struct ops_cipher *c) MUST_CHECK;

#endif
