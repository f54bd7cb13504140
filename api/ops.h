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
/* ops_store: the store set, for its statistics (NULL: none). */
struct store *ops_store(void);
/* ops_store_ping: whether the store's database answers (store_ping), asked
 * at most once a second however often health checks come; a caller that
 * finds another one's ping under way gets the last answer. ERR_OK without
 * a store. */
err_t ops_store_ping(void);

/* What a new key gets besides its material. */
struct ops_new_key {
	uint32_t alg, length, usage_mask; /* KMIP values; usage mask may be 0 */
	int64_t activation_date;          /* 0: starts Pre-Active */
	uint32_t data_type;               /* Register: Secret Data / Opaque Data / Certificate Type */
	const struct store_attr *attrs;   /* Name, Object Group, x-..., ... */
	size_t n_attrs;
	bool sensitive;                   /* KMIP 1.4 §3.48 (default false) */
	bool not_extractable;             /* KMIP 1.4 §3.50 Extractable false (default true) */
};

/* ops_create_symmetric makes an AES (128/192/256) or HMAC-SHA-2 key from
 * the DRBG with prediction resistance and stores it for |p|'s tenant.
 * ERR_UNSUPPORTED for another algorithm or length. */
err_t ops_create_symmetric(const struct kmip_peer *p, const struct ops_new_key *k,
			   char id_out[STORE_ID_MAX + 1]) MUST_CHECK;
/* ops_register stores key material the client brings. */
err_t ops_register(const struct kmip_peer *p, const struct ops_new_key *k, uint32_t type, uint32_t format,
		   const uint8_t *material, size_t len, char id_out[STORE_ID_MAX + 1]) MUST_CHECK;
/* ops_holders_of lists who got |id|'s material (store_holders_of): its
 * owner and the administrators may ask; to anyone else it is not found.
 * ops_held_by lists what |tenant|'s certificates got: the tenant itself
 * and the administrators may ask (ERR_STORE_FOREIGN otherwise). */
err_t ops_holders_of(const struct kmip_peer *p, const char *id, struct store_holders *out) MUST_CHECK;
err_t ops_held_by(const struct kmip_peer *p, const char *tenant, struct store_holders *out) MUST_CHECK;
/* ops_events reads the events after |after| |p| may see (store_events_after:
 * its own objects' and those it holds; an administrator every one);
 * ops_events_latest the last one's seq (0 without a store). */
err_t ops_events(const struct kmip_peer *p, uint64_t after, size_t max, struct store_events *out) MUST_CHECK;
uint64_t ops_events_latest(void);
/* ops_get reads an object's metadata and attributes. */
err_t ops_get(const struct kmip_peer *p, const char *id, struct store_object *out) MUST_CHECK;
/* ops_get_material opens its key material into secure memory and records
 * the access (|operation| names it in the log); nothing is returned when
 * the record cannot be written. */
err_t ops_get_material(const struct kmip_peer *p, const char *id, const char *operation, uint8_t **out,
		       size_t *out_len) MUST_CHECK;
/* ops_serve_material is ops_get_material for material that leaves the
 * server, in plaintext or (|wrapped|) wrapped under another key: refused
 * with ERR_STORE_PROTECTED when the object is not Extractable, or
 * Sensitive and not |wrapped| (KMIP 1.4 §3.48, §3.50); the access record
 * with its lease (ops_lease_seconds, where the state leases) and the end
 * of Fresh (§3.34) are one durable write before anything is returned;
 * *lease_end (may be NULL) gets the lease's end, 0 for none. */
err_t ops_serve_material(const struct kmip_peer *p, const char *id, const char *operation, bool wrapped,
			 uint8_t **out, size_t *out_len, int64_t *lease_end) MUST_CHECK;
/* Leases (KMIP 1.4 §3.20 Lease Time, §4.20 Obtain Lease): every object
 * but an Opaque Object has a Lease Time of ops_lease_seconds ([keys]
 * default_lease); each Get of its material grants that long from then,
 * and ops_obtain_lease renews it (recorded as |operation|, e.g. "kmip
 * obtain lease"): ERR_STORE_STATE when the object is not Pre-Active or
 * Active (a revoked or compromised key grants none), ERR_STORE_DESTROYED. */
void ops_set_lease(unsigned seconds);
unsigned ops_lease_seconds(void);
bool ops_type_leases(uint32_t type);
err_t ops_obtain_lease(const struct kmip_peer *p, const char *id, const char *operation, int64_t *lease_end,
		       int64_t *last_change) MUST_CHECK;
/* ops_set_protection sets Sensitive (|sensitive| 1 or 0, -1: unchanged)
 * and Extractable (likewise): only Sensitive false -> true and
 * Extractable true -> false; the other direction is ERR_STORE_PROTECTED,
 * the value the object has already ERR_OK. */
err_t ops_set_protection(const struct kmip_peer *p, const char *id, int sensitive, int extractable) MUST_CHECK;
/* ops_activate: Pre-Active -> Active; an Active object stays Active. */
err_t ops_activate(const struct kmip_peer *p, const char *id) MUST_CHECK;
err_t ops_revoke(const struct kmip_peer *p, const char *id, uint32_t reason, int64_t occurred) MUST_CHECK;
err_t ops_destroy(const struct kmip_peer *p, const char *id) MUST_CHECK;
/* ops_find runs |q| for |p|'s tenant (q->tenant and q->flags are set here). */
err_t ops_find(const struct kmip_peer *p, struct store_query *q, struct store_found *out) MUST_CHECK;

/* ---- key pairs and replacement keys (api/ops.c) ------------------------------
 * The parts of an RSA pair fount makes are stored as PKCS#1 DER
 * (RSAPrivateKey / RSAPublicKey, STORE_FMT_PKCS1), as the OASIS AKLC cases'
 * Digests name them; those of an EC pair as PKCS#8 DER (STORE_FMT_PKCS8)
 * and SubjectPublicKeyInfo DER (STORE_FMT_X509), as PKCS#1 has no EC form.
 * The Digest (store: SHA-256 of the material as put) is over that form and
 * names it (KMIP 1.4 §3.17). Both parts go to the store
 * in one transaction with their Links (store_put_many): a pair is stored
 * whole or not at all. */
struct ops_new_pair {
	uint32_t alg;            /* KMIP: RSA, or EC / ECDSA / ECDH */
	uint32_t length;         /* RSA modulus bits; EC field bits when no curve */
	uint32_t curve;          /* KMIP Recommended Curve (P-256/384/521), 0 = by length */
	struct ops_new_key priv; /* per part: usage mask, Activation Date, attributes */
	struct ops_new_key pub;  /* (alg and length of these are ignored) */
};

/* ops_pair_type maps a KMIP algorithm, length and curve to fount's key
 * type: RSA 2048/3072/4096, EC P-256/384/521; NULL for anything else. */
const struct keygen_type *ops_pair_type(uint32_t alg, uint32_t length, uint32_t curve);

/* ops_create_keypair makes a key pair (from the key-pair pool when one is
 * ready, keygen_pair_new) and stores both parts for |p|'s tenant, the
 * private key with a Public Key Link, the public key with a Private Key
 * Link (KMIP 1.4 §3.35). ERR_UNSUPPORTED for a type fount does not make. */
err_t ops_create_keypair(const struct kmip_peer *p, const struct ops_new_pair *k,
			 char priv_id[STORE_ID_MAX + 1], char pub_id[STORE_ID_MAX + 1]) MUST_CHECK;

/* What a Re-key changes (KMIP 1.4 §4.4, §4.5): |has_offset| and |offset|
 * (seconds from the new Initial Date to its Activation Date); attributes
 * to set on the replacement (an attribute named here replaces the copied
 * one; Activation Date and usage mask override the old key's). */
struct ops_rekey {
	bool has_offset;
	int64_t offset;
	const struct ops_new_key *set;      /* may be NULL (Re-key: the key) */
	const struct ops_new_key *set_pub;  /* Re-key Key Pair: the public key, may be NULL */
};

/* ops_rekey makes a replacement for the symmetric key |id|: the old key's
 * algorithm, length, usage mask and attributes (not its Links), its Names
 * moved to the new key, the dates per the Offset rule of §4.4, a Replaced
 * Object Link to |id|; the old key gets a Replacement Object Link and
 * loses its Names, in the same transaction, and is otherwise untouched.
 * The new key belongs to the old key's owner. ERR_STORE_NOT_FOUND (not
 * |p|'s), ERR_INVALID_ARG (not a symmetric key), ERR_STORE_DESTROYED. */
err_t ops_rekey(const struct kmip_peer *p, const char *id, const struct ops_rekey *rk,
		char new_id[STORE_ID_MAX + 1]) MUST_CHECK;

/* ops_rekey_keypair does the same for the private key |priv_id| and the
 * public key its Public Key Link names (§4.5): both replacements in one
 * transaction, linked to each other and to the keys they replace. */
err_t ops_rekey_keypair(const struct kmip_peer *p, const char *priv_id, const struct ops_rekey *rk,
			char new_priv[STORE_ID_MAX + 1], char new_pub[STORE_ID_MAX + 1]) MUST_CHECK;

/* ops_link_target finds the first Link of |type| (KMIP Link Type) in |o|
 * and copies its Linked Object Identifier to |out|; false if none. */
bool ops_link_target(const struct store_object *o, uint32_t type, char out[STORE_ID_MAX + 1]);

/* ---- KMIP templates, shared by api/kmip_*.c (api/kmip_objects.c) -------------*/
#define KMIP_TEMPLATE_MAX_ATTRS 64

struct kmip_template {
	struct ops_new_key k;
	struct store_attr attrs[KMIP_TEMPLATE_MAX_ATTRS];
	uint8_t level[KMIP_TEMPLATE_MAX_ATTRS]; /* precedence of each (kmip_parse_attributes) */
	size_t n;
	struct ttlv_enc enc[KMIP_TEMPLATE_MAX_ATTRS]; /* slot i's structure value, encoded */
	char names[KMIP_TEMPLATE_MAX_ATTRS][STORE_ATTR_NAME_MAX + 1];
	char search[KMIP_TEMPLATE_MAX_ATTRS][256];
	uint8_t cur_level;
	bool has_curve;
	uint32_t curve; /* Recommended Curve from Cryptographic Domain Parameters */
};

/* kmip_parse_template reads the Attributes of a request's
 * Template-Attribute (and, as FortiOS sends them, of the payload itself)
 * into |t| (zeroed by the caller). */
bool kmip_parse_template(const struct ttlv_item *p, int32_t minor, struct kmip_template *t, struct kmip_result *res);
/* kmip_parse_attributes reads the Attribute children of one
 * (Template-Attribute) structure |scope| (NULL: nothing) into |t| at
 * precedence |level|: a single-valued attribute given again at a higher
 * level replaces the earlier one (Create Key Pair §4.2: the Private or
 * Public Key Template-Attribute over the Common one). */
bool kmip_parse_attributes(const struct ttlv_item *scope, uint8_t level, int32_t minor, struct kmip_template *t,
			   struct kmip_result *res);
void kmip_template_free(struct kmip_template *t);
/* kmip_server_rng gives an object the server generates (Create, Create Key
 * Pair, Re-key, Re-key Key Pair) its Random Number Generator attribute
 * (KMIP 1.3+ §3.44: the server SHALL set it; fount keeps it at every
 * version and shows it only to 1.3+ requests) in |t|, encoded in |rng|
 * (ttlv_enc_free after the store_put). A template that names an RNG fount
 * does not use fails (§3.44: "If the server cannot ... it SHALL fail"). */
bool kmip_server_rng(struct kmip_template *t, struct ttlv_enc *rng, struct kmip_result *res);
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
 * within its Usage Limits Count, when it has Usage Limits; the lease time
 * within its Lease Time (ops_lease_seconds). ERR_STORE_DESTROYED for a
 * destroyed object. */
err_t ops_check(const struct kmip_peer *p, const char *id, const struct ops_check *want,
		unsigned *denied) MUST_CHECK;

/* ---- objects of every type, key formats, wrapped keys (objects branch) ----
 * |why| (OPS_WHY_MAX bytes, may be NULL) gets a one-line reason on failure,
 * fit for a client (never secret). */
#define OPS_WHY_MAX 160

/* ops_register_object checks and stores what a client registers (KMIP 1.4
 * §4.3): a symmetric key's raw bytes against its algorithm and length; a
 * certificate as one DER X.509 certificate; a private key given as PKCS#1,
 * PKCS#8 or ECPrivateKey, a public key given as PKCS#1 or
 * SubjectPublicKeyInfo, each kept byte for byte in the format it came in
 * once it decodes as exactly one structure of that format (their algorithm
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
/* ops_pkey_open decodes the stored material of a private or public key,
 * kept in Key Format Type |format| (PKCS#1, PKCS#8, X.509, ECPrivateKey;
 * 0: PKCS#8 / SubjectPublicKeyInfo), into *out (EVP_PKEY_free).
 * ERR_UNSUPPORTED for another type or format; keygen_pkey_from_der's. */
err_t ops_pkey_open(uint32_t type, uint32_t format, const uint8_t *der, size_t der_len,
		    struct evp_pkey_st **out) MUST_CHECK;

/* ops_wrap_check checks the wrapping key without reading it, so a caller
 * can refuse before it reads the key to wrap: the caller's own, an Active
 * AES key with Wrap Key; with |for_sensitive| (the key to wrap is
 * Sensitive) also one that cannot leave in plaintext (Sensitive or not
 * Extractable) and has neither Encrypt nor Decrypt, ERR_KEY_USAGE
 * otherwise. Every caller of ops_wrap_with makes this check first. */
err_t ops_wrap_check(const struct kmip_peer *p, const char *wrapping_id, enum keygen_wrap_alg alg,
		     bool for_sensitive, char *why) MUST_CHECK;

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
		      enum keygen_wrap_alg alg, uint8_t **out, size_t *out_len, int64_t *lease_end,
		      char *why) MUST_CHECK;
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

/* ops_get_row is ops_get without the attributes (n_attrs 0) and without
 * has_material: the fixed columns a Get needs (type, state, algorithm,
 * length, format). */
err_t ops_get_row(const struct kmip_peer *p, const char *id, struct store_object *out) MUST_CHECK;

/* ---- Names (KMIP 1.4 §3.2) as every protocol stores them ----------------------
 * A Name attribute is a Structure (Name Value, Name Type Uninterpreted Text
 * String) kept as its TTLV encoding, found by its Name Value: an object
 * named over HTTP has the same Name over KMIP. */
struct ops_name {
	struct ttlv_enc e;
	struct store_attr a; /* points into e and text */
	char text[256];
};
/* ops_name_make builds the Name |name| (1 to 255 bytes) in |n|;
 * ERR_INVALID_ARG otherwise. ops_name_free after the store call. */
err_t ops_name_make(struct ops_name *n, const char *name) MUST_CHECK;
void ops_name_free(struct ops_name *n);
/* ops_name_of copies the Name Value of |o|'s first Name (index 0 first)
 * into |out| (|cap| bytes); "" when it has none. */
void ops_name_of(const struct store_object *o, char *out, size_t cap);

#endif
