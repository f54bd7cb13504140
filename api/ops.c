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
#include <time.h>

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
