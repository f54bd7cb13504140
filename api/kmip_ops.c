/* api/kmip_ops.c — the KMIP operation table: one {operation, first
 * version, handler} row per operation fount implements; anything else is
 * answered Operation Not Supported by kmip_msg.c. Query Operations lists
 * exactly this table, so what fount claims is what it does.
 *
 * Handlers decode their payload, call the modules (keygen for random bytes;
 * the store and the operation layer for managed objects) and encode the
 * answer. They implement no cryptography. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/internal.h"
#include "api/ops.h"
#include "keygen/keygen.h"


/* The largest RNG Retrieve fount answers in one request. */
#define RNG_RETRIEVE_MAX (1u << 20)

/* need_payload fails |res| unless the request had a payload. */
static bool need_payload(const struct ttlv_item *p, struct kmip_result *res)
{
	if (p != NULL)
		return true;
	kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE, "the Request Payload is missing");
	return false;
}

/* one_typed finds the single |tag| of |type| in |s|: absent is fine (NULL),
 * another type or a second one is Invalid Field. */
static const struct ttlv_item *one_typed(const struct ttlv_item *s, uint32_t tag, uint8_t type,
					 struct kmip_result *res)
{
	const struct ttlv_item *it = ttlv_find(s, tag);
	if (it == NULL)
		return NULL;
	const char *n = kmip_tag_name(tag);
	if (it->type != type) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s is a %s, not a %s", n,
			  ttlv_type_name(it->type), ttlv_type_name(type));
		return NULL;
	}
	if (ttlv_find_next(it) != NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s is given more than once", n);
		return NULL;
	}
	return it;
}

/* ---- Discover Versions (KMIP 1.4 §4.26) --------------------------------
 * The versions both sides speak, in the client's order of preference; all
 * of fount's, newest first, when the client lists none. */
static void op_discover_versions(struct kmip_request *rq, const struct ttlv_item *p,
				 struct ttlv_enc *out, struct kmip_result *res)
{
	(void)rq;
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	const struct ttlv_item *v = ttlv_find(p, KMIP_TAG_PROTOCOL_VERSION);
	if (v == NULL) {
		for (int32_t minor = KMIP_MINOR_MAX; minor >= 0; minor--) {
			ttlv_enc_begin(out, KMIP_TAG_PROTOCOL_VERSION);
			ttlv_enc_int(out, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
			ttlv_enc_int(out, KMIP_TAG_PROTOCOL_VERSION_MINOR, minor);
			ttlv_enc_end(out);
		}
	}
	for (; v != NULL; v = ttlv_find_next(v)) {
		const struct ttlv_item *maj = ttlv_find(v, KMIP_TAG_PROTOCOL_VERSION_MAJOR);
		const struct ttlv_item *min = ttlv_find(v, KMIP_TAG_PROTOCOL_VERSION_MINOR);
		if (v->type != TTLV_STRUCTURE || maj == NULL || min == NULL || maj->type != TTLV_INTEGER ||
		    min->type != TTLV_INTEGER) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
				  "a Protocol Version needs an Integer Major and Minor");
			return;
		}
		if (ttlv_int(maj) == 1 && ttlv_int(min) >= 0 && ttlv_int(min) <= KMIP_MINOR_MAX)
			ttlv_enc_item(out, v);
	}
	ttlv_enc_end(out);
}

/* ---- Query (KMIP 1.4 §4.25) ----------------------------------------------
 * Answers in the order of the spec's response table, whatever order the
 * functions were asked in; a function fount has nothing for gets nothing. */
static const uint32_t object_types[] = { /* with a store */
	KMIP_OBJECT_TYPE_SYMMETRIC_KEY,
	/* Register and Get of every type (api/kmip_register.c) */
	KMIP_OBJECT_TYPE_CERTIFICATE,
	KMIP_OBJECT_TYPE_PUBLIC_KEY,
	KMIP_OBJECT_TYPE_PRIVATE_KEY,
	KMIP_OBJECT_TYPE_SECRET_DATA,
	KMIP_OBJECT_TYPE_OPAQUE_OBJECT,
};

size_t kmip_object_types(const uint32_t **out)
{
	*out = object_types;
	return ops_have_store() ? ARRAY_SIZE(object_types) : 0;
}

/* fount's extension tags (KMIP 1.4 §9.1.3.1: 0x540000-0x54FFFF are
 * extensions), inside Server Information, listed by Query Extension List
 * and Map (§2.1.9) so a client can tell what they are: its version, and
 * the key-pair pools' text. */
#define FOUNT_TAG_SERVER_VERSION 0x540001u
#define FOUNT_TAG_KEYPAIR_POOL 0x540002u

/* ---- the profiles fount may claim (Query Profiles, KMIP 1.3+) --------------
 * KMIP Profiles 1.4 §5: each server profile is the Baseline Server plus
 * its own operations and objects. A profile is claimed only when every
 * operation it needs is in the operation table (at that version) and every
 * object type in Query Objects, and nothing else it needs is known to be
 * missing (|lacks|): the claim follows the table and cannot be false. The
 * Basic TLS profiles are not listed: fount offers no TLS below 1.2.
 *
 * The Baseline Server's attributes (KMIP Profiles 1.4 §5.1, attribute
 * list; /work/shared/reference/kmip.md §5.3) fount keeps: Fresh (KMIP 1.4
 * §3.34), Key Value Present (§3.41), and at 1.4 Description, Comment,
 * Sensitive, Always Sensitive, Extractable and Never Extractable
 * (§3.46-§3.51), enforced on every Get (api/kmip_attrs.c, store/). The
 * Symmetric Key Lifecycle Server needs Create of 3DES keys, a
 * non-approved service fount offers only outside FIPS mode
 * (keygen_tdea_available): in FIPS mode that profile is not claimed. */
#define BASELINE_OPS                                                                              \
	KMIP_OPERATION_LOCATE, KMIP_OPERATION_CHECK, KMIP_OPERATION_GET, KMIP_OPERATION_GET_ATTRIBUTES, \
		KMIP_OPERATION_GET_ATTRIBUTE_LIST, KMIP_OPERATION_ADD_ATTRIBUTE,                        \
		KMIP_OPERATION_MODIFY_ATTRIBUTE, KMIP_OPERATION_DELETE_ATTRIBUTE, KMIP_OPERATION_ACTIVATE, \
		KMIP_OPERATION_REVOKE, KMIP_OPERATION_DESTROY, KMIP_OPERATION_QUERY,                    \
		KMIP_OPERATION_DISCOVER_VERSIONS
static const uint32_t baseline_ops[] = {BASELINE_OPS};
static const uint32_t rng_ops[] = {BASELINE_OPS, KMIP_OPERATION_RNG_RETRIEVE, KMIP_OPERATION_RNG_SEED};
static const uint32_t sklc_ops[] = {BASELINE_OPS, KMIP_OPERATION_CREATE};
static const uint32_t basic_crypto_ops[] = {BASELINE_OPS, KMIP_OPERATION_CREATE, KMIP_OPERATION_REGISTER,
					    KMIP_OPERATION_ENCRYPT, KMIP_OPERATION_DECRYPT};
static const uint32_t advanced_crypto_ops[] = {BASELINE_OPS,           KMIP_OPERATION_ENCRYPT,
					       KMIP_OPERATION_DECRYPT, KMIP_OPERATION_SIGN,
					       KMIP_OPERATION_SIGNATURE_VERIFY, KMIP_OPERATION_MAC,
					       KMIP_OPERATION_MAC_VERIFY, KMIP_OPERATION_RNG_RETRIEVE,
					       KMIP_OPERATION_RNG_SEED};
static const uint32_t symmetric_keys[] = {KMIP_OBJECT_TYPE_SYMMETRIC_KEY};

#define PROFILE(family, v12, v13, v14, ops, objs, objs_n, lacks, available) \
	{family, {0, 0, KMIP_PROFILE_NAME_##v12, KMIP_PROFILE_NAME_##v13, KMIP_PROFILE_NAME_##v14}, \
	 ops, ARRAY_SIZE(ops), objs, objs_n, lacks, available}
static const struct kmip_profile profiles[] = {
	PROFILE("Baseline Server TLS v1.2", BASELINE_SERVER_TLS_V1_2_KMIP_V1_2, BASELINE_SERVER_TLS_V1_2_KMIP_V1_3,
		BASELINE_SERVER_TLS_V1_2_KMIP_V1_4, baseline_ops, NULL, 0, NULL, NULL),
	PROFILE("RNG Cryptographic Server", RNG_CRYPTOGRAPHIC_SERVER_KMIP_V1_2, RNG_CRYPTOGRAPHIC_SERVER_KMIP_V1_3,
		RNG_CRYPTOGRAPHIC_SERVER_KMIP_V1_4, rng_ops, NULL, 0, NULL, NULL),
	PROFILE("Symmetric Key Lifecycle Server", SYMMETRIC_KEY_LIFECYCLE_SERVER_KMIP_V1_2,
		SYMMETRIC_KEY_LIFECYCLE_SERVER_KMIP_V1_3, SYMMETRIC_KEY_LIFECYCLE_SERVER_KMIP_V1_4, sklc_ops,
		symmetric_keys, 1, NULL, keygen_tdea_available),
	PROFILE("Basic Cryptographic Server", BASIC_CRYPTOGRAPHIC_SERVER_KMIP_V1_2,
		BASIC_CRYPTOGRAPHIC_SERVER_KMIP_V1_3, BASIC_CRYPTOGRAPHIC_SERVER_KMIP_V1_4, basic_crypto_ops,
		symmetric_keys, 1, "ECB mode (OASIS CS-BC-M-1..9-14)", NULL),
	PROFILE("Advanced Cryptographic Server", ADVANCED_CRYPTOGRAPHIC_SERVER_KMIP_V1_2,
		ADVANCED_CRYPTOGRAPHIC_SERVER_KMIP_V1_3, ADVANCED_CRYPTOGRAPHIC_SERVER_KMIP_V1_4,
		advanced_crypto_ops, symmetric_keys, 1, "ECB mode", NULL),
};

size_t kmip_profiles(const struct kmip_profile **out)
{
	*out = profiles;
	return ARRAY_SIZE(profiles);
}

static bool have_operation(uint32_t op, int32_t minor)
{
	const struct kmip_operation *ops;
	size_t n = kmip_operations(&ops);
	for (size_t i = 0; i < n; i++)
		if (ops[i].operation == op && ops[i].since_minor <= minor)
			return true;
	return false;
}

static bool have_object_type(uint32_t type)
{
	const uint32_t *types;
	size_t n = kmip_object_types(&types);
	for (size_t i = 0; i < n; i++)
		if (types[i] == type)
			return true;
	return false;
}

bool kmip_profile_claimed(const struct kmip_profile *p, int32_t minor)
{
	if (minor < 0 || minor > KMIP_MINOR_MAX || p->names[minor] == 0 || p->lacks != NULL)
		return false;
	if (p->available != NULL && !p->available())
		return false;
	for (size_t i = 0; i < p->n_ops; i++)
		if (!have_operation(p->ops[i], minor))
			return false;
	for (size_t i = 0; i < p->n_objects; i++)
		if (!have_object_type(p->objects[i]))
			return false;
	return true;
}

static void op_query(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		     struct kmip_result *res)
{
	if (!need_payload(p, res))
		return;
	uint32_t want = 0; /* bit n: Query Function n */
	for (const struct ttlv_item *f = ttlv_find(p, KMIP_TAG_QUERY_FUNCTION); f != NULL;
	     f = ttlv_find_next(f)) {
		if (f->type != TTLV_ENUM) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Query Function is not an Enumeration");
			return;
		}
		if (f->u < 32)
			want |= 1u << f->u;
	}
	int32_t minor = rq->version.minor;
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	if (want & 1u << KMIP_QUERY_FUNCTION_QUERY_OPERATIONS) {
		const struct kmip_operation *ops;
		size_t n = kmip_operations(&ops);
		for (size_t i = 0; i < n; i++)
			if (minor >= ops[i].since_minor)
				ttlv_enc_enum(out, KMIP_TAG_OPERATION, ops[i].operation);
	}
	if (want & 1u << KMIP_QUERY_FUNCTION_QUERY_OBJECTS) {
		const uint32_t *types;
		size_t n = kmip_object_types(&types);
		for (size_t i = 0; i < n; i++)
			ttlv_enc_enum(out, KMIP_TAG_OBJECT_TYPE, types[i]);
	}
	if (want & 1u << KMIP_QUERY_FUNCTION_QUERY_SERVER_INFORMATION) {
		ttlv_enc_cstr(out, KMIP_TAG_VENDOR_IDENTIFICATION, "fount");
		/* §4.25: Server Information's contents are the vendor's: fount's
		 * version and, when any runs, the key-pair pools as one text
		 * "rsa-3072 3/4, ec-p256 64/64" (type, ready, target) */
		ttlv_enc_begin(out, KMIP_TAG_SERVER_INFORMATION);
		ttlv_enc_cstr(out, FOUNT_TAG_SERVER_VERSION, FOUNT_VERSION);
		if (keygen_pool_stats(NULL, 0) > 0) {
			char pools[256];
			keygen_pool_text(pools, sizeof pools);
			ttlv_enc_cstr(out, FOUNT_TAG_KEYPAIR_POOL, pools);
		}
		ttlv_enc_end(out);
	}
	/* Application Namespaces (§3.36): fount generates none */
	/* Extension List / Map (1.1+): with both, the Map (§4.25) */
	bool ext_map = want & 1u << KMIP_QUERY_FUNCTION_QUERY_EXTENSION_MAP;
	if (minor >= 1 && (ext_map || (want & 1u << KMIP_QUERY_FUNCTION_QUERY_EXTENSION_LIST))) {
		static const struct {
			const char *name;
			uint32_t tag;
		} ext[] = {{"Server Version", FOUNT_TAG_SERVER_VERSION}, {"Key Pair Pool", FOUNT_TAG_KEYPAIR_POOL}};
		for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
			ttlv_enc_begin(out, KMIP_TAG_EXTENSION_INFORMATION);
			ttlv_enc_cstr(out, KMIP_TAG_EXTENSION_NAME, ext[i].name);
			if (ext_map) {
				ttlv_enc_int(out, KMIP_TAG_EXTENSION_TAG, (int32_t)ext[i].tag);
				ttlv_enc_int(out, KMIP_TAG_EXTENSION_TYPE, TTLV_TEXT);
			}
			ttlv_enc_end(out);
		}
	}
	/* Attestation Types (1.2+): fount supports none, so none is listed */
	/* RNGs, Profiles, Validations, Capabilities, Client Registration
	 * Methods: KMIP 1.3 (§4.25: not returned to earlier clients) */
	if (minor >= 3 && (want & 1u << KMIP_QUERY_FUNCTION_QUERY_RNGS)) {
		/* what serves RNG Retrieve and generates keys (the value of
		 * their Random Number Generator attribute, §3.44) */
		kmip_rng_encode(out, KMIP_TAG_RNG_PARAMETERS);
	}
	if (minor >= 3 && (want & 1u << KMIP_QUERY_FUNCTION_QUERY_PROFILES)) {
		/* the profile names of this request's version and earlier
		 * ones (OASIS TC-Q-PROF-1-14 lists 1.2, 1.3 and 1.4) */
		for (size_t i = 0; i < ARRAY_SIZE(profiles); i++) {
			for (int32_t v = 0; v <= minor; v++) {
				if (!kmip_profile_claimed(&profiles[i], v))
					continue;
				ttlv_enc_begin(out, KMIP_TAG_PROFILE_INFORMATION);
				ttlv_enc_enum(out, KMIP_TAG_PROFILE_NAME, profiles[i].names[v]);
				ttlv_enc_end(out);
			}
		}
	}
	/* Validations: none is claimed. fount runs on OpenSSL's FIPS
	 * provider, but a provider built from source is not the validated
	 * module unless it is built from the certified release, which fount
	 * cannot tell here (§4.25: "A server MAY elect to return no
	 * validation information"). */
	if (minor >= 3 && (want & 1u << KMIP_QUERY_FUNCTION_QUERY_CAPABILITIES)) {
		ttlv_enc_begin(out, KMIP_TAG_CAPABILITY_INFORMATION);
		ttlv_enc_bool(out, KMIP_TAG_STREAMING_CAPABILITY, false);
		ttlv_enc_bool(out, KMIP_TAG_ASYNCHRONOUS_CAPABILITY, false);
		ttlv_enc_bool(out, KMIP_TAG_ATTESTATION_CAPABILITY, false);
		ttlv_enc_bool(out, KMIP_TAG_BATCH_UNDO_CAPABILITY, false);
		ttlv_enc_bool(out, KMIP_TAG_BATCH_CONTINUE_CAPABILITY, true);
		/* fount takes no wrapped keys to unwrap */
		ttlv_enc_enum(out, KMIP_TAG_UNWRAP_MODE, KMIP_UNWRAP_MODE_UNSPECIFIED);
		/* Destroy overwrites and deletes the sealed key material
		 * (SQLite secure_delete) and keeps the attributes */
		ttlv_enc_enum(out, KMIP_TAG_DESTROY_ACTION, KMIP_DESTROY_ACTION_KEY_MATERIAL_SHREDDED);
		ttlv_enc_enum(out, KMIP_TAG_SHREDDING_ALGORITHM, KMIP_SHREDDING_ALGORITHM_UNSPECIFIED);
		/* one DRBG tree serves every client (per-thread workers) */
		ttlv_enc_enum(out, KMIP_TAG_RNG_MODE, KMIP_RNG_MODE_SHARED_INSTANTIATION);
		ttlv_enc_end(out);
	}
	if (minor >= 3 && (want & 1u << KMIP_QUERY_FUNCTION_QUERY_CLIENT_REGISTRATION_METHODS)) {
		/* how a client gets its credential (api/pki.c, api/auth.c):
		 * a key and certificate fount issues, a CSR fount signs, or
		 * the client's own (self-signed) certificate bound by its
		 * fingerprint */
		ttlv_enc_enum(out, KMIP_TAG_CLIENT_REGISTRATION_METHOD, KMIP_CLIENT_REGISTRATION_METHOD_SERVER_PRE_GENERATED);
		ttlv_enc_enum(out, KMIP_TAG_CLIENT_REGISTRATION_METHOD, KMIP_CLIENT_REGISTRATION_METHOD_CLIENT_GENERATED);
		ttlv_enc_enum(out, KMIP_TAG_CLIENT_REGISTRATION_METHOD, KMIP_CLIENT_REGISTRATION_METHOD_CLIENT_REGISTERED);
	}
	ttlv_enc_end(out);
}

/* ---- RNG Retrieve (KMIP 1.4 §4.35) ----------------------------------------
 * Data Length bytes of DRBG output, written straight into the response
 * (secure memory). The only failure §4.35 lists is Cryptographic Failure. */
static void op_rng_retrieve(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			    struct kmip_result *res)
{
	if (!need_payload(p, res))
		return;
	const struct ttlv_item *dl = one_typed(p, KMIP_TAG_DATA_LENGTH, TTLV_INTEGER, res);
	if (res->status != KMIP_RESULT_STATUS_SUCCESS)
		return;
	if (dl == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "RNG Retrieve needs a Data Length");
		return;
	}
	int32_t n = ttlv_int(dl);
	if (n <= 0) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Data Length must be positive, not %d", (int)n);
		return;
	}
	if ((uint32_t)n > RNG_RETRIEVE_MAX || (size_t)n > rq->max_response) {
		kmip_fail(res, KMIP_RESULT_REASON_RESPONSE_TOO_LARGE,
			  "Data Length %d exceeds what one response may carry (%zu bytes)", (int)n,
			  rq->max_response < RNG_RETRIEVE_MAX ? rq->max_response : (size_t)RNG_RETRIEVE_MAX);
		return;
	}
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	uint8_t *data = ttlv_enc_bytes_reserve(out, KMIP_TAG_DATA, (size_t)n);
	ttlv_enc_end(out);
	if (data == NULL)
		return; /* the encoder's error: Response Too Large or no memory */
	err_t r = drbg_generate(data, (size_t)n);
	if (r != ERR_OK)
		kmip_fail(res, KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE,
			  "the random number generator is not available: %s", err_str(r));
}

/* ---- RNG Seed (KMIP 1.4 §4.36) ---------------------------------------------
 * The client's Data is additional input to the primary DRBG, never credited
 * as entropy; Data Length says how much was used (§4.36: a server may use
 * less, or none, and the client SHALL NOT treat that as an error). */
static void op_rng_seed(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			struct kmip_result *res)
{
	(void)rq;
	if (!need_payload(p, res))
		return;
	const struct ttlv_item *data = one_typed(p, KMIP_TAG_DATA, TTLV_BYTES, res);
	if (res->status != KMIP_RESULT_STATUS_SUCCESS)
		return;
	if (data == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "RNG Seed needs Data");
		return;
	}
	size_t used = 0;
	err_t r = drbg_add_input(data->val, data->len, &used);
	if (r != ERR_OK) {
		kmip_fail(res, KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE,
			  "the random number generator is not available: %s", err_str(r));
		return;
	}
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_int(out, KMIP_TAG_DATA_LENGTH, (int32_t)used);
	ttlv_enc_end(out);
}

/* RNG Retrieve and RNG Seed: KMIP 1.2 (KMIP 1.2 §4.35, §4.36); Discover
 * Versions: KMIP 1.1 (§4.26). */
#define BASE_OPERATIONS                                                  \
	{KMIP_OPERATION_QUERY, 0, op_query},                             \
	{KMIP_OPERATION_DISCOVER_VERSIONS, 1, op_discover_versions},     \
	{KMIP_OPERATION_RNG_RETRIEVE, 2, op_rng_retrieve},               \
	{KMIP_OPERATION_RNG_SEED, 2, op_rng_seed}
static const struct kmip_operation without_store[] = {BASE_OPERATIONS};
static const struct kmip_operation with_store[] = {
	{KMIP_OPERATION_CREATE, 0, kmip_op_create},
	{KMIP_OPERATION_LOCATE, 0, kmip_op_locate},
	{KMIP_OPERATION_GET, 0, kmip_op_get},
	{KMIP_OPERATION_GET_ATTRIBUTES, 0, kmip_op_get_attributes},
	{KMIP_OPERATION_ACTIVATE, 0, kmip_op_activate},
	{KMIP_OPERATION_REVOKE, 0, kmip_op_revoke},
	{KMIP_OPERATION_DESTROY, 0, kmip_op_destroy},
	/* key pairs and replacement keys; Re-key Key Pair: KMIP 1.1 (§4.5) */
	{KMIP_OPERATION_CREATE_KEY_PAIR, 0, kmip_op_create_key_pair},
	{KMIP_OPERATION_RE_KEY, 0, kmip_op_rekey},
	{KMIP_OPERATION_RE_KEY_KEY_PAIR, 1, kmip_op_rekey_key_pair},
	/* the attribute operations and Check (api/kmip_attrs.c), KMIP 1.0 */
	{KMIP_OPERATION_GET_ATTRIBUTE_LIST, 0, kmip_op_get_attribute_list},
	{KMIP_OPERATION_ADD_ATTRIBUTE, 0, kmip_op_add_attribute},
	{KMIP_OPERATION_MODIFY_ATTRIBUTE, 0, kmip_op_modify_attribute},
	{KMIP_OPERATION_DELETE_ATTRIBUTE, 0, kmip_op_delete_attribute},
	{KMIP_OPERATION_CHECK, 0, kmip_op_check},
	{KMIP_OPERATION_OBTAIN_LEASE, 0, kmip_op_obtain_lease},
	{KMIP_OPERATION_REGISTER, 0, kmip_op_register},
	/* Encrypt, Decrypt: KMIP 1.2 (§4.29, §4.30) */
	{KMIP_OPERATION_ENCRYPT, 2, kmip_op_encrypt},
	{KMIP_OPERATION_DECRYPT, 2, kmip_op_decrypt},
	BASE_OPERATIONS,
};

/* The security policy's entries of the operations above (api.h,
 * api_kmip_services). Roles: a tenant acts on its own objects; an
 * administrator ([kmip] admins) on every object, but gets key material
 * only with admin_key_access = on. */
#define R_OWN "tenant (its objects); admin (every object)"
#define R_MAT "tenant (its objects); admin only with admin_key_access"
#define R_ANY "any authenticated client"
static const struct {
	uint32_t op;
	const char *summary, *role, *approved;
} op_docs[] = {
	{KMIP_OPERATION_CREATE, "generates an AES or HMAC key with the approved DRBG and stores it sealed", R_OWN, "approved"},
	{KMIP_OPERATION_CREATE_KEY_PAIR, "generates an RSA or EC key pair (pairwise-consistency tested) and stores it sealed", R_OWN,
	 "approved"},
	{KMIP_OPERATION_REGISTER, "stores a key, secret, certificate or opaque object the client sends over TLS", R_OWN,
	 "approved (key entry over a TLS trusted channel)"},
	{KMIP_OPERATION_GET, "returns an object; key material in plaintext over TLS or AES-KW/KWP-wrapped under another managed key",
	 R_MAT, "approved"},
	{KMIP_OPERATION_LOCATE, "lists the identifiers of the caller's objects that match", R_OWN, "approved (no cryptography)"},
	{KMIP_OPERATION_GET_ATTRIBUTES, "returns attributes", R_OWN, "approved (no cryptography)"},
	{KMIP_OPERATION_GET_ATTRIBUTE_LIST, "returns attribute names", R_OWN, "approved (no cryptography)"},
	{KMIP_OPERATION_ADD_ATTRIBUTE, "adds a client attribute", R_OWN, "approved (no cryptography)"},
	{KMIP_OPERATION_MODIFY_ATTRIBUTE, "changes a client attribute", R_OWN, "approved (no cryptography)"},
	{KMIP_OPERATION_DELETE_ATTRIBUTE, "deletes a client attribute", R_OWN, "approved (no cryptography)"},
	{KMIP_OPERATION_ACTIVATE, "moves a key to Active", R_OWN, "approved (no cryptography)"},
	{KMIP_OPERATION_REVOKE, "moves a key to Deactivated or Compromised; its holders are told", R_OWN,
	 "approved (no cryptography)"},
	{KMIP_OPERATION_DESTROY, "zeroizes a key's material (its sealed record overwritten, then deleted)", R_OWN,
	 "approved (zeroization)"},
	{KMIP_OPERATION_RE_KEY, "replaces a key with a new one from the approved DRBG", R_OWN, "approved"},
	{KMIP_OPERATION_RE_KEY_KEY_PAIR, "replaces a key pair with a new one", R_OWN, "approved"},
	{KMIP_OPERATION_CHECK, "checks that an object may be used (state, usage, lease)", R_OWN, "approved (no cryptography)"},
	{KMIP_OPERATION_OBTAIN_LEASE, "renews the caller's lease of a key", R_OWN, "approved (no cryptography)"},
	{KMIP_OPERATION_ENCRYPT, "AES-CBC or AES-GCM encryption with a stored key", R_MAT, "approved"},
	{KMIP_OPERATION_DECRYPT, "AES-CBC or AES-GCM decryption with a stored key", R_MAT, "approved"},
	{KMIP_OPERATION_QUERY, "reports the server's operations, objects, profiles and RNG", R_ANY, "approved (no cryptography)"},
	{KMIP_OPERATION_DISCOVER_VERSIONS, "reports the KMIP versions served", R_ANY, "approved (no cryptography)"},
	{KMIP_OPERATION_RNG_RETRIEVE, "returns random bytes from the approved DRBG", R_ANY, "approved"},
	{KMIP_OPERATION_RNG_SEED, "mixes client data into the DRBG as additional input (never credited)", R_ANY, "approved"},
};

static const struct {
	const char *enumeration, *spec;
	uint32_t value;
} op_names[] = {
#define X(enumeration, name, value, spec) {#enumeration, spec, value},
	KMIP_ENUMS(X)
#undef X
};

size_t api_kmip_services(struct api_service *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(with_store); i++, n++) {
		if (n >= max)
			continue;
		struct api_service *sv = &out[n];
		memset(sv, 0, sizeof *sv);
		snprintf(sv->name, sizeof sv->name, "0x%02x", (unsigned)with_store[i].operation);
		for (size_t k = 0; k < ARRAY_SIZE(op_names); k++)
			if (op_names[k].value == with_store[i].operation && strcmp(op_names[k].enumeration, "OPERATION") == 0)
				snprintf(sv->name, sizeof sv->name, "%s", op_names[k].spec);
		for (size_t k = 0; k < ARRAY_SIZE(op_docs); k++)
			if (op_docs[k].op == with_store[i].operation) {
				sv->summary = op_docs[k].summary;
				sv->role = op_docs[k].role;
				sv->approved = op_docs[k].approved;
			}
	}
	return n;
}

size_t kmip_operations(const struct kmip_operation **out)
{
	if (ops_have_store()) {
		*out = with_store;
		return ARRAY_SIZE(with_store);
	}
	*out = without_store;
	return ARRAY_SIZE(without_store);
}
