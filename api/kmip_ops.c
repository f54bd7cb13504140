/* api/kmip_ops.c — the KMIP operation table: one {operation, first
 * version, handler} row per operation fount implements; anything else is
 * answered Operation Not Supported by kmip_msg.c. Query Operations lists
 * exactly this table, so what fount claims is what it does.
 *
 * Handlers decode their payload, call the modules (keygen for random bytes;
 * the store and the operation layer for managed objects) and encode the
 * answer. They implement no cryptography. */
#include <string.h>

#include "api/internal.h"
#include "api/ops.h"
#include "keygen/keygen.h"

/* fount's extension tag (KMIP 1.4 §9.1.3.1: 0x540000-0x54FFFF are for
 * extensions) for the key-pair pool text in Server Information. */
#define KMIP_TAG_FOUNT_KEYPAIR_POOL 0x540001u

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
		for (size_t i = 0; i < ARRAY_SIZE(object_types) && ops_have_store(); i++)
			ttlv_enc_enum(out, KMIP_TAG_OBJECT_TYPE, object_types[i]);
	}
	if (want & 1u << KMIP_QUERY_FUNCTION_QUERY_SERVER_INFORMATION) {
		ttlv_enc_cstr(out, KMIP_TAG_VENDOR_IDENTIFICATION, "fount");
		/* Server Information's contents are the vendor's (§4.25): the
		 * key-pair pools, when any runs, as one text "rsa-3072 3/4,
		 * ec-p256 64/64" (type, ready, target) */
		if (keygen_pool_stats(NULL, 0) > 0) {
			char pools[256];
			keygen_pool_text(pools, sizeof pools);
			ttlv_enc_begin(out, KMIP_TAG_SERVER_INFORMATION);
			ttlv_enc_cstr(out, KMIP_TAG_FOUNT_KEYPAIR_POOL, pools);
			ttlv_enc_end(out);
		}
	}
	/* RNGs, Capabilities: KMIP 1.3 (§4.25: not returned to earlier clients) */
	if (minor >= 3 && (want & 1u << KMIP_QUERY_FUNCTION_QUERY_RNGS)) {
		/* what serves RNG Retrieve and generates keys (the value of
		 * their Random Number Generator attribute, §3.44) */
		kmip_rng_encode(out, KMIP_TAG_RNG_PARAMETERS);
	}
	if (minor >= 3 && (want & 1u << KMIP_QUERY_FUNCTION_QUERY_CAPABILITIES)) {
		ttlv_enc_begin(out, KMIP_TAG_CAPABILITY_INFORMATION);
		ttlv_enc_bool(out, KMIP_TAG_STREAMING_CAPABILITY, false);
		ttlv_enc_bool(out, KMIP_TAG_ASYNCHRONOUS_CAPABILITY, false);
		ttlv_enc_bool(out, KMIP_TAG_ATTESTATION_CAPABILITY, false);
		ttlv_enc_bool(out, KMIP_TAG_BATCH_UNDO_CAPABILITY, false);
		ttlv_enc_bool(out, KMIP_TAG_BATCH_CONTINUE_CAPABILITY, true);
		/* one DRBG tree serves every client (per-thread workers) */
		ttlv_enc_enum(out, KMIP_TAG_RNG_MODE, KMIP_RNG_MODE_SHARED_INSTANTIATION);
		ttlv_enc_end(out);
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
	{KMIP_OPERATION_REGISTER, 0, kmip_op_register},
	BASE_OPERATIONS,
};

size_t kmip_operations(const struct kmip_operation **out)
{
	if (ops_have_store()) {
		*out = with_store;
		return ARRAY_SIZE(with_store);
	}
	*out = without_store;
	return ARRAY_SIZE(without_store);
}
