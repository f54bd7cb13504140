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
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/ops.h"
#include "keygen/keygen.h"

static struct store *the_store;
static bool admin_key_access;

void ops_set_store(struct store *s, bool admins_read_keys)
{
	the_store = s;
	admin_key_access = admins_read_keys;
}

void api_set_store(struct store *s)
{
	ops_set_store(s, false);
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
		.data_type = k->data_type,
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

/* ---- objects of every type, key formats, wrapped keys ---------------------- */

#define WHY(...)                                                   \
	do {                                                       \
		if (why != NULL)                                   \
			snprintf(why, OPS_WHY_MAX, __VA_ARGS__);   \
	} while (0)

/* base64_len returns how many bytes |in| decodes to when it is base64 text
 * (RFC 4648 §4, padded), else 0: old Percona Server for MongoDB nodes
 * registered their keys as base64 text (percona-server-mongodb PR #1040). */
static size_t base64_len(const uint8_t *in, size_t len)
{
	if (len == 0 || len % 4 != 0)
		return 0;
	size_t pad = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];
		bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			     c == '+' || c == '/';
		if (c == '=' && i >= len - 2) {
			pad++;
			continue;
		}
		if (!alpha || pad > 0)
			return 0;
	}
	return len / 4 * 3 - pad;
}

/* check_symmetric: the material fits the algorithm and the stated length */
static err_t check_symmetric(const struct ops_new_key *k, size_t len, char *why)
{
	if (k->alg == 0) {
		WHY("a symmetric key needs a Cryptographic Algorithm");
		return ERR_KEY_FORMAT;
	}
	if (k->length != 0 && k->length != len * 8) {
		WHY("Cryptographic Length %u does not match the %zu-byte key material", (unsigned)k->length, len);
		return ERR_KEY_FORMAT;
	}
	if (k->alg == STORE_ALG_AES && len != 16 && len != 24 && len != 32) {
		WHY("an AES key is 16, 24 or 32 bytes, not %zu", len);
		return ERR_KEY_FORMAT;
	}
	if (k->alg == STORE_ALG_3DES && len != 16 && len != 24) {
		WHY("a 3DES key is 16 or 24 bytes, not %zu", len);
		return ERR_KEY_FORMAT;
	}
	if (len == 0) {
		WHY("the key material is empty");
		return ERR_KEY_FORMAT;
	}
	return ERR_OK;
}

/* pkey_alg_ok: the KMIP algorithm a client states fits the key */
static bool pkey_alg_ok(uint32_t alg, const struct keygen_type *t)
{
	if (alg == 0)
		return true;
	if (t->kind == KEYGEN_KIND_RSA)
		return alg == STORE_ALG_RSA;
	if (t->kind == KEYGEN_KIND_EC)
		return alg == STORE_ALG_EC || alg == STORE_ALG_ECDSA || alg == STORE_ALG_ECDH;
	return false; /* Ed25519, X25519: KMIP 1.4 has no algorithm for them */
}

/* kmip_alg_of: the KMIP algorithm fount records for a key pair type:
 * RSA, or EC (KMIP 1.4 §9.1.3.2.13; the key may serve ECDSA and ECDH) */
static uint32_t kmip_alg_of(const struct keygen_type *t, uint32_t stated)
{
	if (t->kind == KEYGEN_KIND_RSA)
		return STORE_ALG_RSA;
	if (t->kind == KEYGEN_KIND_EC)
		return stated != 0 ? stated : STORE_ALG_EC;
	return stated;
}

/* canonical_pkey decodes a private or public key in |format| and
 * re-encodes it in the stored form (PKCS#8 / SubjectPublicKeyInfo) */
static err_t canonical_pkey(uint32_t type, uint32_t format, const uint8_t *in, size_t len,
			    const struct ops_new_key *k, uint8_t **out, size_t *out_len, uint32_t *alg,
			    uint32_t *bits, char *why)
{
	bool priv = type == STORE_OBJ_PRIVATE_KEY;
	enum keygen_der form;
	switch (format) {
	case STORE_FMT_PKCS1: form = priv ? KEYGEN_DER_RSA_PRIVATE : KEYGEN_DER_RSA_PUBLIC; break;
	case STORE_FMT_PKCS8:
		if (!priv)
			goto unsupported;
		form = KEYGEN_DER_PKCS8;
		break;
	case STORE_FMT_X509:
		if (priv)
			goto unsupported;
		form = KEYGEN_DER_SPKI;
		break;
	case STORE_FMT_EC_PRIVATE_KEY:
		if (!priv)
			goto unsupported;
		form = KEYGEN_DER_EC_PRIVATE;
		break;
	default:
		goto unsupported;
	}
	struct evp_pkey_st *pkey = NULL;
	err_t r = keygen_pkey_from_der(in, len, form, &pkey);
	if (r != ERR_OK) {
		WHY("the %s key material does not decode as that Key Format Type (or is a key type fount "
		    "does not know)", priv ? "private" : "public");
		return r == ERR_TOO_LARGE ? r : ERR_KEY_FORMAT;
	}
	const struct keygen_type *t = keygen_pkey_type(pkey);
	if (t == NULL || !pkey_alg_ok(k->alg, t) || (k->length != 0 && k->length != t->bits)) {
		WHY("the key is %s, which does not match Cryptographic Algorithm %u Length %u",
		    t != NULL ? t->name : "unknown", (unsigned)k->alg, (unsigned)k->length);
		EVP_PKEY_free(pkey);
		return ERR_KEY_FORMAT;
	}
	*alg = kmip_alg_of(t, k->alg);
	*bits = t->bits;
	r = keygen_pkey_to_der(pkey, priv ? KEYGEN_DER_PKCS8 : KEYGEN_DER_SPKI, out, out_len);
	EVP_PKEY_free(pkey);
	return r;
unsupported:
	WHY("a %s key is registered as %s, not Key Format Type %u", priv ? "private" : "public",
	    priv ? "PKCS#1, PKCS#8 or ECPrivateKey" : "PKCS#1 or X.509", (unsigned)format);
	return ERR_UNSUPPORTED;
}

err_t ops_register_object(const struct kmip_peer *p, const struct ops_new_key *k, uint32_t type,
			  uint32_t format, const uint8_t *material, size_t len, char id_out[STORE_ID_MAX + 1],
			  char *why)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	id_out[0] = '\0';
	if (material == NULL || len == 0) {
		WHY("the object carries no material");
		return ERR_KEY_FORMAT;
	}
	if (len > STORE_MATERIAL_MAX) {
		WHY("the material is %zu bytes; fount keeps at most %u", len, (unsigned)STORE_MATERIAL_MAX);
		return ERR_TOO_LARGE;
	}
	struct ops_new_key kk = *k;
	switch (type) {
	case STORE_OBJ_SYMMETRIC_KEY: {
		if (format != STORE_FMT_RAW) {
			WHY("a symmetric key is registered Raw or Transparent Symmetric Key");
			return ERR_UNSUPPORTED;
		}
		/* an old PSMDB registration: base64 text of a key of the stated
		 * length; kept verbatim, so Get gives back what was registered */
		size_t b64 = k->alg == STORE_ALG_AES ? base64_len(material, len) : 0;
		if (b64 != 0 && k->length != 0 && b64 * 8 == k->length && (b64 == 16 || b64 == 24 || b64 == 32))
			break;
		GUARD(check_symmetric(k, len, why));
		kk.length = (uint32_t)(len * 8);
		break;
	}
	case STORE_OBJ_SECRET_DATA:
	case STORE_OBJ_OPAQUE:
		/* bytes as they came, with the format they came in */
		break;
	case STORE_OBJ_CERTIFICATE:
		if (keygen_cert_check_der(material, len) != ERR_OK) {
			WHY("the Certificate Value is not one DER X.509 certificate");
			return ERR_KEY_FORMAT;
		}
		format = 0;
		break;
	case STORE_OBJ_PRIVATE_KEY:
	case STORE_OBJ_PUBLIC_KEY: {
		uint8_t *der = NULL;
		size_t der_len = 0;
		uint32_t alg = 0, bits = 0;
		GUARD(canonical_pkey(type, format, material, len, k, &der, &der_len, &alg, &bits, why));
		kk.alg = alg;
		kk.length = bits;
		err_t r = ops_register(p, &kk, type, type == STORE_OBJ_PRIVATE_KEY ? STORE_FMT_PKCS8 : STORE_FMT_X509,
				       der, der_len, id_out);
		secmem_free(der, der_len);
		if (r == ERR_STORE_NAME_TAKEN)
			WHY("the tenant has an object with that Name already");
		return r;
	}
	default:
		WHY("fount does not keep objects of type %u", (unsigned)type);
		return ERR_UNSUPPORTED;
	}
	err_t r = ops_register(p, &kk, type, format, material, len, id_out);
	if (r == ERR_STORE_NAME_TAKEN)
		WHY("the tenant has an object with that Name already");
	return r;
}

err_t ops_convert(uint32_t type, uint32_t stored_format, const uint8_t *in, size_t in_len, uint32_t format,
		  uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	err_t r = ERR_OK;
	if (format == stored_format || format == 0) {
		uint8_t *copy = secmem_alloc(in_len > 0 ? in_len : 1, &r);
		ENSURE(copy != NULL, r);
		memcpy(copy, in, in_len);
		*out = copy;
		*out_len = in_len;
		return ERR_OK;
	}
	bool priv = type == STORE_OBJ_PRIVATE_KEY;
	ENSURE(priv || type == STORE_OBJ_PUBLIC_KEY, ERR_UNSUPPORTED);
	enum keygen_der form;
	switch (format) {
	case STORE_FMT_PKCS1: form = priv ? KEYGEN_DER_RSA_PRIVATE : KEYGEN_DER_RSA_PUBLIC; break;
	case STORE_FMT_PKCS8: ENSURE(priv, ERR_UNSUPPORTED); form = KEYGEN_DER_PKCS8; break;
	case STORE_FMT_X509: ENSURE(!priv, ERR_UNSUPPORTED); form = KEYGEN_DER_SPKI; break;
	case STORE_FMT_EC_PRIVATE_KEY: ENSURE(priv, ERR_UNSUPPORTED); form = KEYGEN_DER_EC_PRIVATE; break;
	default: return ERR_UNSUPPORTED;
	}
	struct evp_pkey_st *pkey = NULL;
	GUARD(keygen_pkey_from_der(in, in_len, priv ? KEYGEN_DER_PKCS8 : KEYGEN_DER_SPKI, &pkey));
	r = keygen_pkey_to_der(pkey, form, out, out_len);
	EVP_PKEY_free(pkey);
	/* PKCS#1 of an EC key, ECPrivateKey of an RSA key */
	return r == ERR_KEY_FORMAT ? ERR_UNSUPPORTED : r;
}

err_t ops_wrap_check(const struct kmip_peer *p, const char *wrapping_id, enum keygen_wrap_alg alg, char *why)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	if (alg != KEYGEN_WRAP_KW && alg != KEYGEN_WRAP_KWP) {
		WHY("fount wraps with AES Key Wrap (RFC 3394) or with padding (RFC 5649) only");
		return ERR_UNSUPPORTED;
	}
	struct store_object w;
	/* the caller's own keys only: an administrator is no way around it */
	err_t r = store_get(the_store, wrapping_id, p->tenant, 0, &w);
	if (r != ERR_OK) {
		WHY("no wrapping key %s", wrapping_id);
		return r;
	}
	uint32_t state = w.state, type = w.type, walg = w.alg, mask = w.usage_mask;
	store_object_free(&w);
	if (type != STORE_OBJ_SYMMETRIC_KEY || walg != STORE_ALG_AES) {
		WHY("wrapping key %s is not an AES key", wrapping_id);
		return ERR_UNSUPPORTED;
	}
	/* KMIP 1.4 §3.22: only an Active key may be used to protect */
	if (state != STORE_STATE_ACTIVE) {
		WHY("wrapping key %s is not Active", wrapping_id);
		return ERR_STORE_STATE;
	}
	/* KMIP 1.4 §3.19: Wrap Key (0x10) lets a key wrap others */
	if (!(mask & 0x10u)) {
		WHY("wrapping key %s lacks the Wrap Key usage bit", wrapping_id);
		return ERR_KEY_USAGE;
	}
	return ERR_OK;
}

err_t ops_wrap_with(const struct kmip_peer *p, const char *wrapping_id, enum keygen_wrap_alg alg,
		    const uint8_t *plain, size_t plain_len, uint8_t **out, size_t *out_len, char *why)
{
	*out = NULL;
	*out_len = 0;
	GUARD(ops_wrap_check(p, wrapping_id, alg, why));
	err_t r = ERR_OK;
	size_t need = keygen_aes_wrap_len(alg, plain_len);
	if (need == 0) {
		WHY("AES Key Wrap takes a multiple of 8 bytes, at least 16 (this is %zu): use AESKeyWrapPadding",
		    plain_len);
		return ERR_INVALID_ARG;
	}
	uint8_t *kek = NULL;
	size_t kek_len = 0;
	r = ops_get_material(p, wrapping_id, "wrap key", &kek, &kek_len);
	if (r != ERR_OK || kek == NULL) {
		WHY("wrapping key %s has no key material", wrapping_id);
		return r != ERR_OK ? r : ERR_STORE_DESTROYED;
	}
	if (kek_len != 16 && kek_len != 24 && kek_len != 32) {
		secmem_free(kek, kek_len);
		WHY("wrapping key %s is not a raw AES key", wrapping_id);
		return ERR_UNSUPPORTED;
	}
	uint8_t *buf = secmem_alloc(need, &r);
	if (buf == NULL) {
		secmem_free(kek, kek_len);
		return r;
	}
	size_t got = 0;
	r = keygen_aes_wrap(alg, kek, kek_len, plain, plain_len, buf, need, &got);
	secmem_free(kek, kek_len);
	if (r != ERR_OK) {
		secmem_free(buf, need);
		WHY("wrapping failed: %s", err_str(r));
		return r;
	}
	*out = buf;
	*out_len = got;
	return ERR_OK;
}

err_t ops_get_wrapped(const struct kmip_peer *p, const char *id, const char *wrapping_id,
		      enum keygen_wrap_alg alg, uint8_t **out, size_t *out_len, char *why)
{
	uint8_t *m = NULL;
	size_t m_len = 0;
	/* the wrapping key first: no key is read for a wrap that cannot be */
	GUARD(ops_wrap_check(p, wrapping_id, alg, why));
	err_t r = ops_get_material(p, id, "get wrapped", &m, &m_len);
	if (r != ERR_OK || m == NULL) {
		WHY("no key material for %s", id);
		return r != ERR_OK ? r : ERR_STORE_DESTROYED;
	}
	r = ops_wrap_with(p, wrapping_id, alg, m, m_len, out, out_len, why);
	secmem_free(m, m_len);
	return r;
}
