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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/ops.h"
#include "api/ttlv.h"
#include "keygen/keygen.h"

CSP_USE("Symmetric keys", "the material a Get returns, converted to the format asked, in locked memory");

static struct store *the_store;
static bool admin_key_access;
static unsigned lease_seconds = 3600; /* [keys] default_lease */

void ops_set_store(struct store *s, bool admins_read_keys)
{
	the_store = s;
	admin_key_access = admins_read_keys;
}

void api_set_store(struct store *s, bool admins_read_keys)
{
	ops_set_store(s, admins_read_keys);
}

void api_set_lease(unsigned seconds)
{
	ops_set_lease(seconds);
}

bool ops_have_store(void)
{
	return the_store != NULL;
}

struct store *ops_store(void)
{
	return the_store;
}

err_t ops_store_ping(void)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static _Atomic err_t last = ERR_OK;
	static int64_t last_ms = INT64_MIN / 2;
	if (the_store == NULL)
		return ERR_OK;
	if (pthread_mutex_trylock(&mu) != 0)
		return atomic_load(&last);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (now_ms - last_ms >= 1000) {
		atomic_store(&last, store_ping(the_store));
		last_ms = now_ms;
	}
	err_t r = atomic_load(&last);
	pthread_mutex_unlock(&mu);
	return r;
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
	case STORE_ALG_3DES:
		/* three-key TDEA, 168 key bits (192 with parity): a
		 * non-approved service, refused in FIPS mode (keygen/) */
		return bits == 168 || bits == 192 ? keygen_tdea_type() : NULL;
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
		/* 3DES: the length asked (168 key bits, or 192 with parity) */
		.length = t == keygen_tdea_type() ? k->length : (uint32_t)(key_len * 8),
		.usage_mask = k->usage_mask,
		.key_format = STORE_FMT_RAW,
		.activation_date = k->activation_date,
		.sensitive = k->sensitive,
		.not_extractable = k->not_extractable,
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
		.sensitive = k->sensitive,
		.not_extractable = k->not_extractable,
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

err_t ops_holders_of(const struct kmip_peer *p, const char *id, struct store_holders *out)
{
	memset(out, 0, sizeof *out);
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	/* who holds a key is metadata: an administrator sees it for every
	 * key, with or without admin_key_access */
	return store_holders_of(the_store, id, p->tenant, flags_for(p), out);
}

err_t ops_held_by(const struct kmip_peer *p, const char *tenant, struct store_holders *out)
{
	memset(out, 0, sizeof *out);
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	ENSURE(p->admin || strcmp(p->tenant, tenant) == 0, ERR_STORE_FOREIGN);
	return store_held_by(the_store, tenant, out);
}

err_t ops_events(const struct kmip_peer *p, uint64_t after, size_t max, struct store_events *out)
{
	memset(out, 0, sizeof *out);
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_events_after(the_store, p->tenant, p->admin ? STORE_F_ADMIN : 0, after, max, out);
}

uint64_t ops_events_latest(void)
{
	uint64_t seq = 0;
	if (the_store == NULL || store_events_latest(the_store, &seq) != ERR_OK)
		return 0;
	return seq;
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
	/* no key leaves unrecorded: read and recorded in one transaction,
	 * opened once it is durable */
	return store_take_material(the_store, id, p->tenant, flags, p->cert_sha256, operation, out, out_len);
}

void ops_set_lease(unsigned seconds)
{
	lease_seconds = seconds != 0 ? seconds : 3600;
}

unsigned ops_lease_seconds(void)
{
	return lease_seconds;
}

bool ops_type_leases(uint32_t type)
{
	/* KMIP 1.4 §3.20: "All Managed Cryptographic Objects" (§2.2: not the
	 * Opaque Object) */
	return type != STORE_OBJ_OPAQUE;
}

err_t ops_obtain_lease(const struct kmip_peer *p, const char *id, const char *operation, int64_t *lease_end,
		       int64_t *last_change)
{
	*lease_end = 0;
	*last_change = 0;
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	/* a lease is the right to keep using the material: as for Get, an
	 * administrator without key access leases its own tenant's keys only */
	unsigned flags = p->admin && admin_key_access ? STORE_F_ADMIN : 0;
	struct store_object o;
	GUARD(store_get(the_store, id, p->tenant, flags | STORE_F_ROW_ONLY, &o));
	uint32_t type = o.type;
	store_object_free(&o);
	ENSURE(ops_type_leases(type), ERR_STORE_STATE);
	return store_obtain_lease(the_store, id, p->tenant, flags, p->cert_sha256, operation, lease_seconds, lease_end,
				  last_change);
}

err_t ops_serve_material(const struct kmip_peer *p, const char *id, const char *operation, bool wrapped,
			 uint8_t **out, size_t *out_len, int64_t *lease_end)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	*out = NULL;
	*out_len = 0;
	/* as ops_get_material: an administrator without key access takes
	 * out its own tenant's keys only */
	unsigned flags = p->admin && admin_key_access ? STORE_F_ADMIN : 0;
	return store_serve_material(the_store, id, p->tenant, flags, p->cert_sha256, operation,
				    wrapped ? STORE_SERVE_WRAPPED : STORE_SERVE_PLAIN, lease_seconds, out, out_len,
				    lease_end);
}

err_t ops_set_protection(const struct kmip_peer *p, const char *id, int sensitive, int extractable)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	struct store_object o;
	GUARD(store_get(the_store, id, p->tenant, flags_for(p), &o));
	uint32_t have = o.protection;
	store_object_free(&o);
	/* KMIP 1.4 §3.49, §3.51 only mean something if the unsafe direction
	 * is closed: a Sensitive object stays Sensitive, a non-Extractable one
	 * non-Extractable (as PKCS#11 CKA_SENSITIVE / CKA_EXTRACTABLE) */
	if ((sensitive == 0 && (have & STORE_P_SENSITIVE)) || (extractable == 1 && !(have & STORE_P_EXTRACTABLE)))
		return ERR_STORE_PROTECTED;
	bool more_sensitive = sensitive == 1 && !(have & STORE_P_SENSITIVE);
	bool less_extractable = extractable == 0 && (have & STORE_P_EXTRACTABLE);
	if (!more_sensitive && !less_extractable)
		return ERR_OK; /* the value it has */
	return store_set_protection(the_store, id, p->tenant, flags_for(p), more_sensitive, less_extractable);
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

/* pkey_form maps the Key Format Type a private (|priv|) or public key is
 * kept in to its DER form; false for a format that is not one of its
 * forms. 0 is what records made before the format was kept say: PKCS#8
 * or SubjectPublicKeyInfo. */
static bool pkey_form(bool priv, uint32_t format, enum keygen_der *form)
{
	switch (format) {
	case 0: *form = priv ? KEYGEN_DER_PKCS8 : KEYGEN_DER_SPKI; return true;
	case STORE_FMT_PKCS1: *form = priv ? KEYGEN_DER_RSA_PRIVATE : KEYGEN_DER_RSA_PUBLIC; return true;
	case STORE_FMT_PKCS8: *form = KEYGEN_DER_PKCS8; return priv;
	case STORE_FMT_X509: *form = KEYGEN_DER_SPKI; return !priv;
	case STORE_FMT_EC_PRIVATE_KEY: *form = KEYGEN_DER_EC_PRIVATE; return priv;
	default: return false;
	}
}

err_t ops_pkey_open(uint32_t type, uint32_t format, const uint8_t *der, size_t der_len, struct evp_pkey_st **out)
{
	*out = NULL;
	enum keygen_der form;
	bool priv = type == STORE_OBJ_PRIVATE_KEY;
	ENSURE(priv || type == STORE_OBJ_PUBLIC_KEY, ERR_UNSUPPORTED);
	ENSURE(pkey_form(priv, format, &form), ERR_UNSUPPORTED);
	return keygen_pkey_from_der(der, der_len, form, out);
}

/* check_pkey decodes a private or public key in |format| (the form it is
 * then kept in, byte for byte) and checks it against the stated algorithm
 * and length, giving the KMIP algorithm and the size */
static err_t check_pkey(uint32_t type, uint32_t format, const uint8_t *in, size_t len, const struct ops_new_key *k,
			uint32_t *alg, uint32_t *bits, char *why)
{
	bool priv = type == STORE_OBJ_PRIVATE_KEY;
	enum keygen_der form;
	if (format == 0 || !pkey_form(priv, format, &form)) {
		WHY("a %s key is registered as %s, not Key Format Type %u", priv ? "private" : "public",
		    priv ? "PKCS#1, PKCS#8 or ECPrivateKey" : "PKCS#1 or X.509", (unsigned)format);
		return ERR_UNSUPPORTED;
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
	EVP_PKEY_free(pkey);
	return ERR_OK;
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
		/* kept as registered: Get without a Key Format Type gives the
		 * same bytes back, and the Digest names that format */
		uint32_t alg = 0, bits = 0;
		GUARD(check_pkey(type, format, material, len, k, &alg, &bits, why));
		kk.alg = alg;
		kk.length = bits;
		break;
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
	ENSURE(pkey_form(priv, format, &form), ERR_UNSUPPORTED);
	struct evp_pkey_st *pkey = NULL;
	GUARD(ops_pkey_open(type, stored_format, in, in_len, &pkey));
	r = keygen_pkey_to_der(pkey, form, out, out_len);
	EVP_PKEY_free(pkey);
	/* PKCS#1 of an EC key, ECPrivateKey of an RSA key */
	return r == ERR_KEY_FORMAT ? ERR_UNSUPPORTED : r;
}

err_t ops_wrap_check(const struct kmip_peer *p, const char *wrapping_id, enum keygen_wrap_alg alg,
		     bool for_sensitive, char *why)
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
	uint32_t state = w.state, type = w.type, walg = w.alg, mask = w.usage_mask, prot = w.protection;
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
	/* A Sensitive key leaves only under a key that cannot itself be had
	 * in plaintext (Sensitive, or not Extractable) nor used as a raw AES
	 * cipher (no Encrypt or Decrypt bit, §3.19): else wrapping it and then
	 * getting or using the wrapping key would give it out in the clear
	 * (PKCS#11 closes the same hole with CKA_WRAP_WITH_TRUSTED). */
	bool trusted = ((prot & STORE_P_SENSITIVE) || !(prot & STORE_P_EXTRACTABLE)) && !(mask & 0xCu);
	if (for_sensitive && !trusted) {
		WHY("object is Sensitive: wrap it under a Sensitive or non-Extractable key without the Encrypt "
		    "and Decrypt bits, not %s",
		    wrapping_id);
		return ERR_KEY_USAGE;
	}
	return ERR_OK;
}

err_t ops_wrap_with(const struct kmip_peer *p, const char *wrapping_id, enum keygen_wrap_alg alg,
		    const uint8_t *plain, size_t plain_len, uint8_t **out, size_t *out_len, char *why)
{
	*out = NULL;
	*out_len = 0;
	/* the basic checks again; callers made the full ones before reading */
	GUARD(ops_wrap_check(p, wrapping_id, alg, false, why));
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
		      enum keygen_wrap_alg alg, uint8_t **out, size_t *out_len, int64_t *lease_end, char *why)
{
	uint8_t *m = NULL;
	size_t m_len = 0;
	if (lease_end != NULL)
		*lease_end = 0;
	/* the wrapping key first: no key is read for a wrap that cannot be */
	struct store_object o;
	GUARD(ops_get_row(p, id, &o));
	bool sensitive = (o.protection & STORE_P_SENSITIVE) != 0;
	/* a symmetric key's length says whether AES-KW can take it: refused
	 * here, before the access record (other objects' DER lengths are
	 * known only once read) */
	size_t sym_len = o.type == STORE_OBJ_SYMMETRIC_KEY && o.length % 8 == 0 ? o.length / 8 : 0;
	store_object_free(&o);
	if (sym_len != 0 && keygen_aes_wrap_len(alg, sym_len) == 0) {
		WHY("AES Key Wrap takes a multiple of 8 bytes, at least 16 (this is %zu): use AESKeyWrapPadding",
		    sym_len);
		return ERR_INVALID_ARG;
	}
	GUARD(ops_wrap_check(p, wrapping_id, alg, sensitive, why));
	err_t r = ops_serve_material(p, id, "get wrapped", true, &m, &m_len, lease_end);
	if (r != ERR_OK || m == NULL) {
		WHY("no key material for %s", id);
		return r != ERR_OK ? r : ERR_STORE_DESTROYED;
	}
	r = ops_wrap_with(p, wrapping_id, alg, m, m_len, out, out_len, why);
	secmem_free(m, m_len);
	return r;
}

/* ---- key pairs and replacement keys -------------------------------------------
 * Links are Structure attributes, which the store keeps as the TTLV
 * encoding of their Attribute Value (store.h): that is the one place this
 * layer writes TTLV, so every protocol reads the same Link. */

/* KMIP 1.4 §9.1.3.2.20 Link Type; §9.1.3.2.5 Recommended Curve */
enum {
	LINK_PUBLIC_KEY = 0x102,
	LINK_PRIVATE_KEY = 0x103,
	LINK_REPLACEMENT = 0x106,
	LINK_REPLACED = 0x107,
	CURVE_P_256 = 7,
	CURVE_P_384 = 10,
	CURVE_P_521 = 13,
};

/* A Link attribute: its encoding and the store_attr that points at it. */
struct link_attr {
	struct ttlv_enc e;
	struct store_attr a;
};

static err_t link_make(struct link_attr *l, uint32_t type, const char *target)
{
	ttlv_enc_init(&l->e, 256);
	ttlv_enc_begin(&l->e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_enum(&l->e, KMIP_TAG_LINK_TYPE, type);
	ttlv_enc_cstr(&l->e, KMIP_TAG_LINKED_OBJECT_IDENTIFIER, target);
	ttlv_enc_end(&l->e);
	err_t r = ttlv_enc_finish(&l->e);
	if (r != ERR_OK) {
		ttlv_enc_free(&l->e);
		return r;
	}
	l->a = (struct store_attr){.name = "Link", .type = STORE_V_STRUCTURE, .value = l->e.buf,
				   .value_len = l->e.len};
	return ERR_OK;
}

bool ops_link_target(const struct store_object *o, uint32_t type, char out[STORE_ID_MAX + 1])
{
	for (size_t i = 0; i < o->n_attrs; i++) {
		const struct store_attr *a = &o->attrs[i];
		if (strcmp(a->name, "Link") != 0 || a->type != STORE_V_STRUCTURE)
			continue;
		struct ttlv_doc d;
		if (ttlv_decode(&d, a->value, a->value_len) != ERR_OK)
			continue;
		const struct ttlv_item *root = ttlv_root(&d);
		const struct ttlv_item *lt = ttlv_find(root, KMIP_TAG_LINK_TYPE);
		const struct ttlv_item *id = ttlv_find(root, KMIP_TAG_LINKED_OBJECT_IDENTIFIER);
		bool found = lt != NULL && lt->type == TTLV_ENUM && lt->u == type && id != NULL &&
			     id->type == TTLV_TEXT && id->len > 0 && id->len <= STORE_ID_MAX;
		if (found) {
			memcpy(out, id->val, id->len);
			out[id->len] = '\0';
		}
		ttlv_doc_free(&d);
		if (found)
			return true;
	}
	return false;
}

const struct keygen_type *ops_pair_type(uint32_t alg, uint32_t length, uint32_t curve)
{
	switch (alg) {
	case STORE_ALG_RSA:
		if (curve != 0)
			return NULL;
		switch (length) {
		case 2048: return keygen_type_find("rsa-2048");
		case 3072: return keygen_type_find("rsa-3072");
		case 4096: return keygen_type_find("rsa-4096");
		default: return NULL;
		}
	case STORE_ALG_EC:
	case STORE_ALG_ECDSA:
	case STORE_ALG_ECDH: {
		/* the curve, or a length that names one of the three */
		uint32_t bits = curve == CURVE_P_256 ? 256 : curve == CURVE_P_384 ? 384 : curve == CURVE_P_521 ? 521 : 0;
		if (curve != 0 && bits == 0)
			return NULL;
		if (bits == 0)
			bits = length;
		else if (length != 0 && length != bits)
			return NULL;
		switch (bits) {
		case 256: return keygen_type_find("ec-p256");
		case 384: return keygen_type_find("ec-p384");
		case 521: return keygen_type_find("ec-p521");
		default: return NULL;
		}
	}
	default:
		return NULL;
	}
}

/* A part of a pair, or a replacement key, on its way to store_put_many:
 * its attributes (the caller's plus the server's Links). */
#define PART_ATTRS (STORE_ATTRS_MAX)
struct part {
	struct store_new_object n;
	char id[STORE_ID_MAX + 1];
	struct store_attr *attrs; /* malloc'd: up to PART_ATTRS */
	size_t n_attrs;
	struct link_attr links[2];
	size_t n_links;
};

static err_t part_init(struct part *pt)
{
	memset(pt, 0, sizeof(*pt));
	pt->attrs = calloc(PART_ATTRS, sizeof(*pt->attrs));
	return pt->attrs != NULL ? store_new_id(pt->id) : ERR_NOMEM;
}

static void part_free(struct part *pt)
{
	for (size_t i = 0; i < pt->n_links; i++)
		ttlv_enc_free(&pt->links[i].e);
	free(pt->attrs);
	memset(pt, 0, sizeof(*pt));
}

/* part_add appends |a| (an integer value's bytes are copied with it: a
 * store_attr's value may point into itself). */
static err_t part_add(struct part *pt, const struct store_attr *a)
{
	ENSURE(pt->n_attrs < PART_ATTRS, ERR_TOO_LARGE);
	struct store_attr *d = &pt->attrs[pt->n_attrs++];
	*d = *a;
	if (a->value == a->int_buf_)
		d->value = d->int_buf_;
	return ERR_OK;
}

/* part_link adds a Link of |type| to |target|. */
static err_t part_link(struct part *pt, uint32_t type, const char *target)
{
	ENSURE(pt->n_links < ARRAY_SIZE(pt->links), ERR_INTERNAL);
	struct link_attr *l = &pt->links[pt->n_links];
	GUARD(link_make(l, type, target));
	pt->n_links++;
	/* each instance gets its own index: Link is multi-instance */
	uint32_t index = 0;
	for (size_t i = 0; i < pt->n_attrs; i++)
		if (strcmp(pt->attrs[i].name, "Link") == 0 && pt->attrs[i].index >= index)
			index = pt->attrs[i].index + 1;
	l->a.index = index;
	return part_add(pt, &l->a);
}

/* part_fix_indexes gives every multi-instance name distinct indexes, in
 * order (a template may give two Names without an index each). */
static void part_fix_indexes(struct part *pt)
{
	for (size_t i = 0; i < pt->n_attrs; i++) {
		if (!store_attr_is_multi(pt->attrs[i].name))
			continue;
		uint32_t next = 0;
		for (size_t j = 0; j < i; j++)
			if (strcmp(pt->attrs[j].name, pt->attrs[i].name) == 0 && pt->attrs[j].index >= next)
				next = pt->attrs[j].index + 1;
		bool clash = false;
		for (size_t j = 0; j < i; j++)
			clash = clash || (strcmp(pt->attrs[j].name, pt->attrs[i].name) == 0 &&
					  pt->attrs[j].index == pt->attrs[i].index);
		if (clash)
			pt->attrs[i].index = next;
	}
}

static void part_object(struct part *pt, const char *tenant, uint32_t type, uint32_t alg, uint32_t length,
			uint32_t mask, uint32_t format, int64_t activation, int64_t deactivation,
			const struct keygen_buf *material)
{
	part_fix_indexes(pt);
	pt->n = (struct store_new_object){
		.tenant = tenant,
		.type = type,
		.alg = alg,
		.length = length,
		.usage_mask = mask,
		.key_format = format,
		.activation_date = activation,
		.deactivation_date = deactivation,
		.attrs = pt->attrs,
		.n_attrs = pt->n_attrs,
		.material = material->p,
		.material_len = material->len,
		.id = pt->id,
	};
}

/* part_protect: Sensitive and Extractable as the client made the part
 * (KMIP 1.4 §3.48, §3.50) */
static void part_protect(struct part *pt, bool sensitive, bool not_extractable)
{
	pt->n.sensitive = sensitive;
	pt->n.not_extractable = not_extractable;
}

/* part_inherit: a replacement key is protected as the key it replaces,
 * and more if the Re-key's template |set| (may be NULL) asks (a Re-key
 * never makes a key easier to take out) */
static void part_inherit(struct part *pt, const struct store_object *old, const struct ops_new_key *set)
{
	part_protect(pt, (old->protection & STORE_P_SENSITIVE) != 0 || (set != NULL && set->sensitive),
		     !(old->protection & STORE_P_EXTRACTABLE) || (set != NULL && set->not_extractable));
}

/* reencode replaces |b| (DER of |from|) by its |to| encoding, in secure
 * memory; on failure |b| is left as it was (its owner wipes it). */
static err_t reencode(struct keygen_buf *b, enum keygen_der from, enum keygen_der to)
{
	struct evp_pkey_st *pkey = NULL;
	GUARD(keygen_pkey_from_der(b->p, b->len, from, &pkey));
	uint8_t *der = NULL;
	size_t len = 0;
	err_t r = keygen_pkey_to_der(pkey, to, &der, &len);
	EVP_PKEY_free(pkey);
	if (r != ERR_OK)
		return r;
	keygen_buf_free(b);
	*b = (struct keygen_buf){.p = der, .len = len, .cap = len};
	return ERR_OK;
}

/* pair_as_stored turns a new pair (PKCS#8, SubjectPublicKeyInfo) into the
 * forms fount keeps the pairs it makes in (ops.h): PKCS#1 for RSA, as the
 * OASIS AKLC cases (KMIP 1.3/1.4 profiles) and PyKMIP's server do; EC
 * unchanged. */
static err_t pair_as_stored(struct keygen_pair *pair, uint32_t *fpriv, uint32_t *fpub)
{
	*fpriv = STORE_FMT_PKCS8;
	*fpub = STORE_FMT_X509;
	if (pair->type == NULL || pair->type->kind != KEYGEN_KIND_RSA)
		return ERR_OK;
	GUARD(reencode(&pair->priv, KEYGEN_DER_PKCS8, KEYGEN_DER_RSA_PRIVATE));
	GUARD(reencode(&pair->pub, KEYGEN_DER_SPKI, KEYGEN_DER_RSA_PUBLIC));
	*fpriv = *fpub = STORE_FMT_PKCS1;
	return ERR_OK;
}

err_t ops_create_keypair(const struct kmip_peer *p, const struct ops_new_pair *k, char priv_id[STORE_ID_MAX + 1],
			 char pub_id[STORE_ID_MAX + 1])
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	priv_id[0] = pub_id[0] = '\0';
	const struct keygen_type *t = ops_pair_type(k->alg, k->length, k->curve);
	ENSURE(t != NULL, ERR_UNSUPPORTED);
	struct part pv, pb;
	struct keygen_pair pair;
	memset(&pair, 0, sizeof pair);
	err_t r = part_init(&pv);
	if (r == ERR_OK)
		r = part_init(&pb);
	else
		memset(&pb, 0, sizeof pb);
	for (size_t i = 0; r == ERR_OK && i < k->priv.n_attrs; i++)
		r = part_add(&pv, &k->priv.attrs[i]);
	for (size_t i = 0; r == ERR_OK && i < k->pub.n_attrs; i++)
		r = part_add(&pb, &k->pub.attrs[i]);
	/* KMIP 1.4 §3.35: each part names the other */
	if (r == ERR_OK)
		r = part_link(&pv, LINK_PUBLIC_KEY, pb.id);
	if (r == ERR_OK)
		r = part_link(&pb, LINK_PRIVATE_KEY, pv.id);
	/* the key last: nothing above can waste a pooled pair */
	if (r == ERR_OK)
		r = keygen_pair_new(t, &pair);
	uint32_t fpriv = 0, fpub = 0;
	if (r == ERR_OK)
		r = pair_as_stored(&pair, &fpriv, &fpub);
	if (r == ERR_OK) {
		part_object(&pv, p->tenant, STORE_OBJ_PRIVATE_KEY, k->alg, t->bits, k->priv.usage_mask, fpriv,
			    k->priv.activation_date, 0, &pair.priv);
		part_object(&pb, p->tenant, STORE_OBJ_PUBLIC_KEY, k->alg, t->bits, k->pub.usage_mask, fpub,
			    k->pub.activation_date, 0, &pair.pub);
		part_protect(&pv, k->priv.sensitive, k->priv.not_extractable);
		part_protect(&pb, k->pub.sensitive, k->pub.not_extractable);
		struct store_new_object objs[2] = {pv.n, pb.n};
		char ids[2][STORE_ID_MAX + 1];
		r = store_put_many(the_store, objs, 2, NULL, 0, ids);
		if (r == ERR_OK) {
			memcpy(priv_id, ids[0], sizeof ids[0]);
			memcpy(pub_id, ids[1], sizeof ids[1]);
			log_info("key pair %s made (%s) for tenant %s: private %s, public %s", t->name,
				 pair.pooled ? "from the pool" : "generated now", p->tenant, priv_id, pub_id);
		}
	}
	keygen_pair_free(&pair);
	part_free(&pv);
	part_free(&pb);
	return r;
}

/* ---- Re-key ---------------------------------------------------------------------- */

/* rekey_dates applies KMIP 1.4 §4.4's Offset rule: without an Offset the
 * Activation and Deactivation Dates are copied; with one, the new
 * Activation Date is the new Initial Date (now) + Offset and the
 * Deactivation Date keeps its distance from the Activation Date. */
static void rekey_dates(const struct store_object *old, const struct ops_rekey *rk, int64_t now, int64_t *act,
			int64_t *deact)
{
	if (!rk->has_offset) {
		*act = old->activation_date;
		*deact = old->deactivation_date;
		return;
	}
	*act = now + rk->offset;
	*deact = old->deactivation_date != 0 && old->activation_date != 0
			 ? *act + (old->deactivation_date - old->activation_date)
			 : 0;
}

/* named_in says whether |set| gives an attribute called |name|. */
static bool named_in(const struct ops_new_key *set, const char *name)
{
	for (size_t i = 0; set != NULL && i < set->n_attrs; i++)
		if (strcmp(set->attrs[i].name, name) == 0)
			return true;
	return false;
}

/* rekey_part fills |pt| from the existing object |old|: its attributes
 * but its Links (and the names |set| gives anew), then |set|'s, then a
 * Replaced Object Link to |old|. */
static err_t rekey_part(struct part *pt, const struct store_object *old, const struct ops_new_key *set)
{
	for (size_t i = 0; i < old->n_attrs; i++) {
		const struct store_attr *a = &old->attrs[i];
		if (strcmp(a->name, "Link") == 0 || named_in(set, a->name))
			continue;
		GUARD(part_add(pt, a));
	}
	for (size_t i = 0; set != NULL && i < set->n_attrs; i++)
		GUARD(part_add(pt, &set->attrs[i]));
	return part_link(pt, LINK_REPLACED, old->id);
}

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

/* usable_old loads |id| for a Re-key by |p|: visible, not destroyed. */
static err_t load_old(const struct kmip_peer *p, const char *id, struct store_object *o)
{
	GUARD(store_get(the_store, id, p->tenant, flags_for(p), o));
	if (o->state == STORE_STATE_DESTROYED || o->state == STORE_STATE_DESTROYED_COMPROMISED) {
		store_object_free(o);
		return ERR_STORE_DESTROYED;
	}
	return ERR_OK;
}

err_t ops_rekey(const struct kmip_peer *p, const char *id, const struct ops_rekey *rk,
		char new_id[STORE_ID_MAX + 1])
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	new_id[0] = '\0';
	struct store_object old;
	GUARD(load_old(p, id, &old));
	err_t r = ERR_INVALID_ARG;
	const struct keygen_type *t = old.type == STORE_OBJ_SYMMETRIC_KEY ? sym_type(old.alg, old.length) : NULL;
	struct part pt;
	memset(&pt, 0, sizeof pt);
	struct keygen_buf key = {0};
	if (t == NULL)
		goto out;
	GUARD_GOTO(part_init(&pt));
	GUARD_GOTO(rekey_part(&pt, &old, rk->set));
	GUARD_GOTO(keygen_sym_generate(t, KEYGEN_F_PR, &key.p, &key.len));
	key.cap = key.len;
	int64_t act, deact;
	rekey_dates(&old, rk, wall_now(), &act, &deact);
	if (rk->set != NULL && rk->set->activation_date != 0)
		act = rk->set->activation_date;
	uint32_t mask = rk->set != NULL && rk->set->usage_mask != 0 ? rk->set->usage_mask : old.usage_mask;
	part_object(&pt, old.tenant, STORE_OBJ_SYMMETRIC_KEY, old.alg, (uint32_t)(key.len * 8), mask, STORE_FMT_RAW,
		    act, deact, &key);
	part_inherit(&pt, &old, rk->set);
	/* the old key: a Replacement Object Link, its Names moved (§4.4);
	 * nothing else of it changes */
	struct link_attr back;
	GUARD_GOTO(link_make(&back, LINK_REPLACEMENT, pt.id));
	struct store_put_change ch = {.id = old.id, .tenant = p->tenant, .flags = flags_for(p), .add = &back.a,
				      .delete_name = named_in(rk->set, "Name") ? NULL : "Name", .replaced_by = pt.id};
	char ids[1][STORE_ID_MAX + 1];
	r = store_put_many(the_store, &pt.n, 1, &ch, 1, ids);
	ttlv_enc_free(&back.e);
	if (r == ERR_OK) {
		memcpy(new_id, ids[0], sizeof ids[0]);
		log_info("key %s re-keyed for tenant %s: replacement %s", old.id, old.tenant, new_id);
	}
out:
	keygen_buf_free(&key);
	part_free(&pt);
	store_object_free(&old);
	return r;
}

err_t ops_rekey_keypair(const struct kmip_peer *p, const char *priv_id, const struct ops_rekey *rk,
			char new_priv[STORE_ID_MAX + 1], char new_pub[STORE_ID_MAX + 1])
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	new_priv[0] = new_pub[0] = '\0';
	struct store_object opv, opb;
	GUARD(load_old(p, priv_id, &opv));
	memset(&opb, 0, sizeof opb);
	struct part pv, pb;
	memset(&pv, 0, sizeof pv);
	memset(&pb, 0, sizeof pb);
	struct keygen_pair pair;
	memset(&pair, 0, sizeof pair);
	struct link_attr back[2];
	size_t n_back = 0;
	err_t r = ERR_INVALID_ARG;
	char pub_id[STORE_ID_MAX + 1];
	const struct keygen_type *t = NULL;
	if (opv.type != STORE_OBJ_PRIVATE_KEY || !ops_link_target(&opv, LINK_PUBLIC_KEY, pub_id))
		goto out;
	/* the public key the private one names, visible to |p| too */
	GUARD_GOTO(load_old(p, pub_id, &opb));
	if (opb.type != STORE_OBJ_PUBLIC_KEY)
		goto out;
	t = ops_pair_type(opv.alg, opv.length, 0);
	if (t == NULL)
		goto out;
	GUARD_GOTO(part_init(&pv));
	GUARD_GOTO(part_init(&pb));
	GUARD_GOTO(rekey_part(&pv, &opv, rk->set));
	GUARD_GOTO(rekey_part(&pb, &opb, rk->set_pub));
	GUARD_GOTO(part_link(&pv, LINK_PUBLIC_KEY, pb.id));
	GUARD_GOTO(part_link(&pb, LINK_PRIVATE_KEY, pv.id));
	GUARD_GOTO(keygen_pair_new(t, &pair));
	uint32_t fpriv, fpub;
	GUARD_GOTO(pair_as_stored(&pair, &fpriv, &fpub));
	int64_t now = wall_now(), act, deact, pact, pdeact;
	rekey_dates(&opv, rk, now, &act, &deact);
	rekey_dates(&opb, rk, now, &pact, &pdeact);
	if (rk->set != NULL && rk->set->activation_date != 0)
		act = rk->set->activation_date;
	if (rk->set_pub != NULL && rk->set_pub->activation_date != 0)
		pact = rk->set_pub->activation_date;
	uint32_t mask = rk->set != NULL && rk->set->usage_mask != 0 ? rk->set->usage_mask : opv.usage_mask;
	uint32_t pmask = rk->set_pub != NULL && rk->set_pub->usage_mask != 0 ? rk->set_pub->usage_mask : opb.usage_mask;
	part_object(&pv, opv.tenant, STORE_OBJ_PRIVATE_KEY, opv.alg, t->bits, mask, fpriv, act, deact, &pair.priv);
	part_object(&pb, opv.tenant, STORE_OBJ_PUBLIC_KEY, opb.alg, t->bits, pmask, fpub, pact, pdeact, &pair.pub);
	part_inherit(&pv, &opv, rk->set);
	part_inherit(&pb, &opb, rk->set_pub);
	GUARD_GOTO(link_make(&back[0], LINK_REPLACEMENT, pv.id));
	n_back = 1;
	GUARD_GOTO(link_make(&back[1], LINK_REPLACEMENT, pb.id));
	n_back = 2;
	struct store_put_change ch[2] = {
		{.id = opv.id, .tenant = p->tenant, .flags = flags_for(p), .add = &back[0].a,
		 .delete_name = named_in(rk->set, "Name") ? NULL : "Name", .replaced_by = pv.id},
		{.id = opb.id, .tenant = p->tenant, .flags = flags_for(p), .add = &back[1].a,
		 .delete_name = named_in(rk->set_pub, "Name") ? NULL : "Name", .replaced_by = pb.id},
	};
	struct store_new_object objs[2] = {pv.n, pb.n};
	char ids[2][STORE_ID_MAX + 1];
	r = store_put_many(the_store, objs, 2, ch, 2, ids);
	if (r == ERR_OK) {
		memcpy(new_priv, ids[0], sizeof ids[0]);
		memcpy(new_pub, ids[1], sizeof ids[1]);
		log_info("key pair %s/%s re-keyed for tenant %s: replacements %s/%s", opv.id, opb.id, opv.tenant,
			 new_priv, new_pub);
	}
out:
	for (size_t i = 0; i < n_back; i++)
		ttlv_enc_free(&back[i].e);
	keygen_pair_free(&pair);
	part_free(&pv);
	part_free(&pb);
	store_object_free(&opv);
	store_object_free(&opb);
	return r;
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
	/* the lease the client wants: within the one fount grants (§3.20) */
	if (want->has_lease && ops_type_leases(o.type) && want->lease_time > lease_seconds)
		*denied |= OPS_CHECK_LEASE;
out:
	store_object_free(&o);
	return r;
}

/* ---- Encrypt and Decrypt ------------------------------------------------------
 * KMIP 1.4 §4.29, §4.30. The key is opened here, used by keygen/ and
 * wiped here: it never reaches the protocol code. */

#define USAGE_ENCRYPT 0x4u /* KMIP 1.4 §9.1.3.3.1 Cryptographic Usage Mask */
#define USAGE_DECRYPT 0x8u

size_t ops_cipher_out_max(const struct ops_cipher *c)
{
	if (c->mode == OPS_AES_GCM)
		return c->in_len;
	return (c->in_len / KEYGEN_CBC_BLOCK + 1) * KEYGEN_CBC_BLOCK;
}

/* attr_date returns the Date-Time attribute |name| of |o|, 0 when unset */
static int64_t attr_date(const struct store_object *o, const char *name)
{
	for (size_t i = 0; i < o->n_attrs; i++) {
		int64_t v = 0;
		if (strcmp(o->attrs[i].name, name) == 0 && o->attrs[i].type == STORE_V_DATE_TIME &&
		    store_attr_get_int(&o->attrs[i], &v) == ERR_OK)
			return v;
	}
	return 0;
}

/* may_use checks that |o| may |protect| (encrypt) or process (decrypt)
 * now (KMIP 1.4 §3.22 State, §3.25 Process Start Date, §3.26 Protect
 * Stop Date, §3.19 Cryptographic Usage Mask). */
static err_t may_use(const struct store_object *o, bool protect)
{
	int64_t now = (int64_t)time(NULL);
	if (o->state == STORE_STATE_DESTROYED || o->state == STORE_STATE_DESTROYED_COMPROMISED)
		return ERR_STORE_DESTROYED;
	/* Active applies and processes protection; Deactivated only
	 * processes it ("SHALL NOT be used for applying cryptographic
	 * protection"); Pre-Active SHALL NOT be used at all. A Compromised
	 * key is refused too: §3.22 allows processing only "in a client that
	 * is trusted to use managed objects that have been compromised", and
	 * fount has no such trust level. */
	if (o->state != STORE_STATE_ACTIVE && (protect || o->state != STORE_STATE_DEACTIVATED))
		return ERR_STORE_STATE;
	int64_t stop = attr_date(o, "Protect Stop Date"), start = attr_date(o, "Process Start Date");
	if (protect && stop != 0 && now > stop)
		return ERR_STORE_STATE;
	if (!protect && start != 0 && now < start)
		return ERR_STORE_STATE;
	if (o->type != STORE_OBJ_SYMMETRIC_KEY || o->alg != STORE_ALG_AES)
		return ERR_KEY_USAGE;
	if ((o->usage_mask & (protect ? USAGE_ENCRYPT : USAGE_DECRYPT)) == 0)
		return ERR_KEY_USAGE;
	return ERR_OK;
}

/* open_key checks |p|'s right to use |id| and opens its material into
 * secure memory, once the access is recorded (no use goes unrecorded). */
static err_t open_key(const struct kmip_peer *p, const char *id, bool protect, const char *operation,
		      uint8_t **key, size_t *key_len)
{
	*key = NULL;
	*key_len = 0;
	/* as for Get: an administrator without key access uses only its own
	 * tenant's keys; any other key is "not found" to it */
	unsigned flags = p->admin && admin_key_access ? STORE_F_ADMIN : 0;
	struct store_object o;
	GUARD(store_get(the_store, id, p->tenant, flags, &o));
	err_t r = may_use(&o, protect);
	store_object_free(&o);
	GUARD(r);
	GUARD(store_get_material(the_store, id, p->tenant, flags, key, key_len));
	if (*key == NULL)
		return ERR_STORE_DESTROYED;
	if (*key_len != 16 && *key_len != 24 && *key_len != 32)
		r = ERR_KEY_USAGE;
	else
		r = store_record_access(the_store, id, p->tenant, p->cert_sha256, operation, 0);
	if (r != ERR_OK) {
		secmem_free(*key, *key_len);
		*key = NULL;
		*key_len = 0;
	}
	return r;
}

/* check_cipher checks |c|'s parameters against its mode */
static err_t check_cipher(const struct ops_cipher *c, bool encrypt)
{
	ENSURE(c->in != NULL || c->in_len == 0, ERR_INVALID_ARG);
	ENSURE(c->in_len <= KEYGEN_AEAD_MAX_INPUT && c->aad_len <= KEYGEN_AEAD_MAX_INPUT, ERR_TOO_LARGE);
	ENSURE(c->out != NULL && c->out_cap >= ops_cipher_out_max(c), ERR_TOO_LARGE);
	ENSURE(c->iv_len <= OPS_IV_MAX, ERR_INVALID_ARG);
	ENSURE(encrypt || c->iv_len > 0, ERR_INVALID_ARG);
	switch (c->mode) {
	case OPS_AES_CBC:
		ENSURE(c->iv_len == 0 || c->iv_len == KEYGEN_CBC_BLOCK, ERR_INVALID_ARG);
		ENSURE(c->aad_len == 0, ERR_INVALID_ARG);
		ENSURE(c->pad || c->in_len % KEYGEN_CBC_BLOCK == 0, ERR_INVALID_ARG);
		ENSURE(encrypt || c->in_len % KEYGEN_CBC_BLOCK == 0, ERR_INVALID_ARG);
		return ERR_OK;
	case OPS_AES_GCM:
		ENSURE(!c->pad, ERR_INVALID_ARG);
		/* SP 800-38D §8.2, FIPS 140-3 IG C.H: in an approved mode the
		 * module makes the IV of every GCM encryption (from the DRBG
		 * here), so a caller cannot repeat one under the same key */
		ENSURE(!encrypt || c->iv_len == 0 || !keygen_fips_mode(), ERR_USAGE);
		ENSURE(c->tag_len >= 12 && c->tag_len <= OPS_TAG_MAX, ERR_INVALID_ARG);
		ENSURE(c->aad != NULL || c->aad_len == 0, ERR_INVALID_ARG);
		return ERR_OK;
	default:
		return ERR_UNSUPPORTED;
	}
}

err_t ops_encrypt(const struct kmip_peer *p, const char *id, const char *operation, struct ops_cipher *c)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	c->out_len = 0;
	c->iv_drawn = false;
	GUARD(check_cipher(c, true));
	uint8_t *key = NULL;
	size_t key_len = 0;
	GUARD(open_key(p, id, true, operation, &key, &key_len));
	err_t r = ERR_OK;
	if (c->iv_len == 0) {
		/* Random IV: 16 bytes for CBC (libmongocrypt requires exactly
		 * that), 96 bits for GCM (SP 800-38D §8.2.2, RBG-based) */
		c->iv_len = c->mode == OPS_AES_CBC ? KEYGEN_CBC_BLOCK : KEYGEN_AEAD_IV_LEN;
		r = drbg_generate(c->iv, c->iv_len);
		c->iv_drawn = r == ERR_OK;
	}
	if (r == ERR_OK && c->mode == OPS_AES_CBC) {
		r = keygen_aes_cbc_encrypt(key, key_len, c->iv, c->pad, c->in, c->in_len, c->out, c->out_cap,
					   &c->out_len);
	} else if (r == ERR_OK) {
		r = keygen_aes_gcm_encrypt(key, key_len, c->iv, c->iv_len, c->aad, c->aad_len, c->in, c->in_len,
					   c->out, c->tag, c->tag_len);
		c->out_len = r == ERR_OK ? c->in_len : 0;
	}
	secmem_free(key, key_len);
	return r;
}

err_t ops_decrypt(const struct kmip_peer *p, const char *id, const char *operation, struct ops_cipher *c)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	c->out_len = 0;
	c->iv_drawn = false;
	GUARD(check_cipher(c, false));
	uint8_t *key = NULL;
	size_t key_len = 0;
	GUARD(open_key(p, id, false, operation, &key, &key_len));
	err_t r;
	if (c->mode == OPS_AES_CBC) {
		r = keygen_aes_cbc_decrypt(key, key_len, c->iv, c->pad, c->in, c->in_len, c->out, c->out_cap,
					   &c->out_len);
	} else {
		r = keygen_aes_gcm_decrypt(key, key_len, c->iv, c->iv_len, c->aad, c->aad_len, c->in, c->in_len,
					   c->out, c->tag, c->tag_len);
		c->out_len = r == ERR_OK ? c->in_len : 0;
	}
	secmem_free(key, key_len);
	return r;
}

err_t ops_get_row(const struct kmip_peer *p, const char *id, struct store_object *out)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_get(the_store, id, p->tenant, flags_for(p) | STORE_F_ROW_ONLY, out);
}

/* ---- Names -------------------------------------------------------------------- */

err_t ops_name_make(struct ops_name *n, const char *name)
{
	memset(n, 0, sizeof *n);
	size_t len = strlen(name);
	ENSURE(len > 0 && len < sizeof n->text, ERR_INVALID_ARG);
	memcpy(n->text, name, len + 1);
	ttlv_enc_init(&n->e, 512);
	ttlv_enc_begin(&n->e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_cstr(&n->e, KMIP_TAG_NAME_VALUE, n->text);
	ttlv_enc_enum(&n->e, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
	ttlv_enc_end(&n->e);
	err_t r = ttlv_enc_finish(&n->e);
	if (r != ERR_OK) {
		ttlv_enc_free(&n->e);
		return r;
	}
	n->a = (struct store_attr){.name = "Name", .type = STORE_V_STRUCTURE, .value = n->e.buf,
				   .value_len = n->e.len, .search = n->text};
	return ERR_OK;
}

void ops_name_free(struct ops_name *n)
{
	ttlv_enc_free(&n->e);
	memset(n, 0, sizeof *n);
}

void ops_name_of(const struct store_object *o, char *out, size_t cap)
{
	if (cap == 0)
		return;
	out[0] = '\0';
	const struct store_attr *best = NULL;
	for (size_t i = 0; i < o->n_attrs; i++)
		if (strcmp(o->attrs[i].name, "Name") == 0 && (best == NULL || o->attrs[i].index < best->index))
			best = &o->attrs[i];
	if (best == NULL)
		return;
	if (best->type == STORE_V_TEXT) {
		snprintf(out, cap, "%.*s", (int)(best->value_len < 255 ? best->value_len : 255), (const char *)best->value);
		return;
	}
	struct ttlv_doc d;
	if (best->type != STORE_V_STRUCTURE || ttlv_decode(&d, best->value, best->value_len) != ERR_OK)
		return;
	const struct ttlv_item *nv = ttlv_find(ttlv_root(&d), KMIP_TAG_NAME_VALUE);
	if (nv != NULL && nv->type == TTLV_TEXT && nv->len < cap) {
		memcpy(out, nv->val, nv->len);
		out[nv->len] = '\0';
	}
	ttlv_doc_free(&d);
}
