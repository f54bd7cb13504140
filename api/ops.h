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

#endif
