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

/* ---- attributes (KMIP 1.4 §4.13-4.16) and Check (§4.10) ----------------
 * The caller has checked the name against the attribute table
 * (kmip_attr_rule): these refuse only what the store refuses. */

/* ops_attr_add adds |a| (its index ignored); a multi-instance attribute
 * gets the next index, written to *index_out. ERR_STORE_ATTR_EXISTS when
 * a single-valued one is already set. */
err_t ops_attr_add(const struct kmip_peer *p, const char *id, const struct store_attr *a,
		   uint32_t *index_out) MUST_CHECK;
/* ops_attr_modify replaces the value of (a->name, a->index). When there is
 * no such instance it returns ERR_STORE_ATTR_NOT_FOUND and says in
 * *name_exists whether the object has the attribute at some other index
 * (KMIP 1.4 §11.16 tells the two apart). */
err_t ops_attr_modify(const struct kmip_peer *p, const char *id, const struct store_attr *a,
		      bool *name_exists) MUST_CHECK;
/* ops_attr_delete removes (name, index) and fills |before| with the object
 * as it was, so the caller can answer with the deleted instance (free it
 * with store_object_free, also on failure). */
err_t ops_attr_delete(const struct kmip_peer *p, const char *id, const char *name, uint32_t index,
		      struct store_object *before) MUST_CHECK;

/* ops_set_activation_date changes a Pre-Active object's Activation Date
 * (a date now or past activates it); ERR_STORE_STATE in any other state. */
err_t ops_set_activation_date(const struct kmip_peer *p, const char *id, int64_t date) MUST_CHECK;

/* What a Check asks (each only when its has_ flag is set). */
struct ops_check {
	bool has_count, has_mask, has_lease;
	int64_t usage_count;  /* Usage Limits Count the client needs */
	uint32_t usage_mask;  /* Cryptographic Usage Mask it means to use */
	uint32_t lease_time;  /* seconds of lease it wants */
};
#define OPS_CHECK_COUNT 0x1u
#define OPS_CHECK_MASK 0x2u
#define OPS_CHECK_LEASE 0x4u
/* ops_check decides whether |p| may use object |id| as |want| says: *denied
 * gets the OPS_CHECK_* bits of what server policy refuses (0: allowed).
 * The mask must be within the object's Cryptographic Usage Mask; the count
 * within its Usage Limits Count, when it has Usage Limits; fount grants no
 * leases, so no lease time is refused (an object without a Lease Time has
 * no lease limit). ERR_STORE_DESTROYED for a destroyed object. */
err_t ops_check(const struct kmip_peer *p, const char *id, const struct ops_check *want,
		unsigned *denied) MUST_CHECK;

#endif
