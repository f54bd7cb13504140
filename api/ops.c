/* api/ops.c — the operation layer every protocol shares (KMIP today, HTTP
 * next): creating keys, reading them, changing their state, with the
 * tenant rules in one place. It calls keygen/ (the key), store/ (durable,
 * sealed, the lifecycle rules) and records every key-material access. It
 * knows nothing of TTLV or JSON.
 *
 * Who may do what: a tenant sees only its own objects (another tenant's is
 * "not found", never a hint that it exists). An administrator manages the
 * lifecycle and attributes of every object but reads key material only
 * where the configuration allows (admin_key_access), so an administrator
 * is not a way around the owner. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/ops.h"
#include "api/ttlv.h"
#include "keygen/keygen.h"

static struct store *the_store;
static bool admin_key_access;

void ops_set_store(struct store *s, bool admins_read_keys)
{
	the_store = s;
	admin_key_access = admins_read_keys;
}

void api_set_store(struct store *s, bool admins_read_keys)
{
	ops_set_store(s, admins_read_keys);
}

bool ops_have_store(void)
{
	return the_store != NULL;
}

static unsigned flags_for(const struct kmip_peer *p)
{
	return p->admin ? STORE_F_ADMIN : 0;
}

/* sym_type maps a KMIP algorithm and length to fount's key type. */
static const struct keygen_type *sym_type(uint32_t alg, uint32_t bits)
{
	char name[32];
	switch (alg) {
	case STORE_ALG_AES:
		if (bits != 128 && bits != 192 && bits != 256)
			return NULL;
		snprintf(name, sizeof name, "aes-%u", bits);
		return keygen_type_find(name);
	case STORE_ALG_HMAC_SHA256:
	case STORE_ALG_HMAC_SHA384:
	case STORE_ALG_HMAC_SHA512: {
		/* SP 800-107 r1 §5.2: a key at least as long as the hash output */
		unsigned hash = alg == STORE_ALG_HMAC_SHA256 ? 256 : alg == STORE_ALG_HMAC_SHA384 ? 384 : 512;
		if (bits != 0 && bits != hash)
			return NULL;
		snprintf(name, sizeof name, "hmac-sha%u", hash);
		return keygen_type_find(name);
	}
	default:
		return NULL;
	}
}

err_t ops_create_symmetric(const struct kmip_peer *p, const struct ops_new_key *k, char id_out[STORE_ID_MAX + 1])
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	const struct keygen_type *t = sym_type(k->alg, k->length);
	ENSURE(t != NULL, ERR_UNSUPPORTED);
	uint8_t *key = NULL;
	size_t key_len = 0;
	/* a long-term key: prediction resistance, a fresh draw from the
	 * noise sources (SP 800-90A §8.8) */
	GUARD(keygen_sym_generate(t, KEYGEN_F_PR, &key, &key_len));
	struct store_new_object n = {
		.tenant = p->tenant,
		.type = STORE_OBJ_SYMMETRIC_KEY,
		.alg = k->alg,
		.length = (uint32_t)(key_len * 8),
		.usage_mask = k->usage_mask,
		.key_format = STORE_FMT_RAW,
		.activation_date = k->activation_date,
		.attrs = k->attrs,
		.n_attrs = k->n_attrs,
		.material = key,
		.material_len = key_len,
	};
	err_t r = store_put(the_store, &n, id_out);
	secmem_free(key, key_len);
	return r;
}

err_t ops_register(const struct kmip_peer *p, const struct ops_new_key *k, uint32_t type, uint32_t format,
		   const uint8_t *material, size_t len, char id_out[STORE_ID_MAX + 1])
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	struct store_new_object n = {
		.tenant = p->tenant,
		.type = type,
		.alg = k->alg,
		.length = k->length,
		.usage_mask = k->usage_mask,
		.key_format = format,
		.activation_date = k->activation_date,
		.attrs = k->attrs,
		.n_attrs = k->n_attrs,
		.material = material,
		.material_len = len,
	};
	return store_put(the_store, &n, id_out);
}

err_t ops_get(const struct kmip_peer *p, const char *id, struct store_object *out)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_get(the_store, id, p->tenant, flags_for(p), out);
}

err_t ops_get_material(const struct kmip_peer *p, const char *id, const char *operation, uint8_t **out,
		       size_t *out_len)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	*out = NULL;
	*out_len = 0;
	unsigned flags = 0;
	if (p->admin && admin_key_access)
		flags = STORE_F_ADMIN;
	/* an administrator without key access reads its own tenant's keys
	 * only: any other object's material is "not found" to it */
	GUARD(store_get_material(the_store, id, p->tenant, flags, out, out_len));
	err_t r = store_record_access(the_store, id, p->tenant, p->cert_sha256, operation, 0);
	if (r != ERR_OK) {
		/* no key leaves unrecorded */
		secmem_free(*out, *out_len);
		*out = NULL;
		*out_len = 0;
	}
	return r;
}

err_t ops_activate(const struct kmip_peer *p, const char *id)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	struct store_object o;
	GUARD(store_get(the_store, id, p->tenant, flags_for(p), &o));
	uint32_t state = o.state;
	store_object_free(&o);
	/* mongod, Percona and libmongocrypt call Activate right after Create
	 * and treat a failure as fatal: activating an Active object again is
	 * a no-op success */
	if (state == STORE_STATE_ACTIVE)
		return ERR_OK;
	return store_activate(the_store, id, p->tenant, flags_for(p));
}

err_t ops_revoke(const struct kmip_peer *p, const char *id, uint32_t reason, int64_t occurred)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_revoke(the_store, id, p->tenant, flags_for(p), reason, occurred);
}

err_t ops_destroy(const struct kmip_peer *p, const char *id)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_destroy(the_store, id, p->tenant, flags_for(p));
}

err_t ops_find(const struct kmip_peer *p, struct store_query *q, struct store_found *out)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	q->tenant = p->tenant;
	q->flags = flags_for(p);
	return store_find(the_store, q, out);
}

/* ---- attributes and Check ---------------------------------------------------- */

err_t ops_attr_add(const struct kmip_peer *p, const char *id, const struct store_attr *a, uint32_t *index_out)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_attr_add(the_store, id, p->tenant, flags_for(p), a, index_out);
}

err_t ops_set_activation_date(const struct kmip_peer *p, const char *id, int64_t date)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_set_activation_date(the_store, id, p->tenant, flags_for(p), date);
}

/* find_attr returns |o|'s instance (name, index), or NULL */
static const struct store_attr *find_attr(const struct store_object *o, const char *name, uint32_t index)
{
	for (size_t i = 0; i < o->n_attrs; i++)
		if (o->attrs[i].index == index && strcmp(o->attrs[i].name, name) == 0)
			return &o->attrs[i];
	return NULL;
}

err_t ops_attr_modify(const struct kmip_peer *p, const char *id, const struct store_attr *a, bool *name_exists)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	*name_exists = false;
	err_t r = store_attr_modify(the_store, id, p->tenant, flags_for(p), a);
	if (r != ERR_STORE_ATTR_NOT_FOUND)
		return r;
	/* which of §11.16's two errors: no such attribute, or no such index */
	struct store_object o;
	GUARD(store_get(the_store, id, p->tenant, flags_for(p), &o));
	for (size_t i = 0; i < o.n_attrs && !*name_exists; i++)
		*name_exists = strcmp(o.attrs[i].name, a->name) == 0;
	store_object_free(&o);
	return ERR_STORE_ATTR_NOT_FOUND;
}

err_t ops_attr_delete(const struct kmip_peer *p, const char *id, const char *name, uint32_t index,
		      struct store_object *before)
{
	memset(before, 0, sizeof *before);
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	GUARD(store_get(the_store, id, p->tenant, flags_for(p), before));
	ENSURE(find_attr(before, name, index) != NULL, ERR_STORE_ATTR_NOT_FOUND);
	return store_attr_delete(the_store, id, p->tenant, flags_for(p), name, index);
}

/* usage_count reads the Usage Limits Count of |o|'s Usage Limits (KMIP 1.4
 * §3.21; the store keeps a structure as its TTLV encoding). False when the
 * object has none: then it has no usage limit. */
static bool usage_count(const struct store_object *o, int64_t *out)
{
	const struct store_attr *a = find_attr(o, "Usage Limits", 0);
	if (a == NULL || a->type != STORE_V_STRUCTURE)
		return false;
	struct ttlv_doc d;
	if (ttlv_decode(&d, a->value, a->value_len) != ERR_OK)
		return false;
	const struct ttlv_item *c = ttlv_find(ttlv_root(&d), KMIP_TAG_USAGE_LIMITS_COUNT);
	bool ok = c != NULL && c->type == TTLV_LONG;
	if (ok)
		*out = (int64_t)c->u;
	ttlv_doc_free(&d);
	return ok;
}

err_t ops_check(const struct kmip_peer *p, const char *id, const struct ops_check *want, unsigned *denied)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	*denied = 0;
	struct store_object o;
	GUARD(store_get(the_store, id, p->tenant, flags_for(p), &o));
	err_t r = ERR_OK;
	if (o.state == STORE_STATE_DESTROYED || o.state == STORE_STATE_DESTROYED_COMPROMISED) {
		r = ERR_STORE_DESTROYED;
		goto out;
	}
	/* §4.10: the mask the client means to use must be within the object's */
	if (want->has_mask && (want->usage_mask & ~o.usage_mask) != 0)
		*denied |= OPS_CHECK_MASK;
	int64_t left = 0;
	if (want->has_count && (want->usage_count < 0 || (usage_count(&o, &left) && want->usage_count > left)))
		*denied |= OPS_CHECK_COUNT;
	/* no lease is ever refused: fount sets no Lease Time (§3.20) */
out:
	store_object_free(&o);
	return r;
}
