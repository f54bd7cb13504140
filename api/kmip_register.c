/* api/kmip_register.c — KMIP Register (KMIP 1.4 §4.3): a client brings an
 * object and its attributes, fount checks and stores it for the caller's
 * tenant and answers its Unique Identifier.
 *
 * Objects: Symmetric Key (Raw, or Transparent Symmetric Key, kept raw),
 * Secret Data (Password or Seed, Opaque or Raw: libmongocrypt registers 96
 * bytes of Seed, Opaque, usage mask 0 under KMIP 1.0; Percona MySQL a
 * Password), Opaque Object, Certificate (X.509 DER), Private Key (PKCS#1,
 * PKCS#8 or ECPrivateKey, kept as PKCS#8) and Public Key (PKCS#1 or
 * X.509 SubjectPublicKeyInfo, kept as SubjectPublicKeyInfo). The checks and
 * conversions are the operation layer's (ops_register_object); this file
 * decodes the TTLV. The object starts Pre-Active unless its Activation
 * Date is now or earlier (§3.24). */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "api/ops.h"

/* what a Register carries besides its attributes */
struct reg_object {
	uint32_t format;            /* Key Format Type (0: an object without a Key Block) */
	const uint8_t *material;
	size_t len;
	uint32_t alg, length;       /* from the Key Block, 0 when absent */
	uint32_t data_type;         /* Secret Data / Opaque Data / Certificate Type */
};

/* one_of reads the single |tag| of |type| in |s|; NULL (|res| untouched)
 * when absent, NULL with |res| failed when it has another type */
static const struct ttlv_item *one_of(const struct ttlv_item *s, uint32_t tag, uint8_t type,
				      struct kmip_result *res)
{
	const struct ttlv_item *it = ttlv_find(s, tag);
	if (it != NULL && it->type != type) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s is a %s, not a %s", kmip_tag_name(tag),
			  ttlv_type_name(it->type), ttlv_type_name(type));
		return NULL;
	}
	return it;
}

static bool failed(const struct kmip_result *res)
{
	return res->status != KMIP_RESULT_STATUS_SUCCESS;
}

/* parse_key_block reads a Key Block (§2.1.3) of object type |type| */
static bool parse_key_block(uint32_t type, const struct ttlv_item *kb, struct reg_object *ro,
			    struct kmip_result *res)
{
	if (kb == NULL || kb->type != TTLV_STRUCTURE) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "the object needs a Key Block");
		return false;
	}
	const struct ttlv_item *kft = one_of(kb, KMIP_TAG_KEY_FORMAT_TYPE, TTLV_ENUM, res);
	const struct ttlv_item *kct = one_of(kb, KMIP_TAG_KEY_COMPRESSION_TYPE, TTLV_ENUM, res);
	const struct ttlv_item *alg = one_of(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, TTLV_ENUM, res);
	const struct ttlv_item *len = one_of(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, TTLV_INTEGER, res);
	if (failed(res))
		return false;
	if (kft == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "the Key Block needs a Key Format Type");
		return false;
	}
	if (ttlv_find(kb, KMIP_TAG_KEY_WRAPPING_DATA) != NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
			  "fount registers plaintext key material only, not a wrapped Key Block");
		return false;
	}
	/* Key Compression Type: an old Percona Server for MongoDB puts "EC
	 * Public Key Type Uncompressed" on a symmetric key (PSMDB-1231); it
	 * means nothing for a symmetric key, secret data or opaque bytes, and
	 * is ignored there. On an EC key only uncompressed is fount's form. */
	if (kct != NULL && (type == STORE_OBJ_PRIVATE_KEY || type == STORE_OBJ_PUBLIC_KEY) &&
	    kct->u != KMIP_KEY_COMPRESSION_TYPE_EC_PUBLIC_KEY_TYPE_UNCOMPRESSED) {
		kmip_fail(res, KMIP_RESULT_REASON_KEY_COMPRESSION_TYPE_NOT_SUPPORTED,
			  "fount keeps EC keys uncompressed, not Key Compression Type %u", (unsigned)kct->u);
		return false;
	}
	const struct ttlv_item *kv = ttlv_find(kb, KMIP_TAG_KEY_VALUE);
	if (kv == NULL || kv->type != TTLV_STRUCTURE) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  kv == NULL ? "the Key Block needs a Key Value"
				     : "a Byte String Key Value is wrapped: fount registers plaintext key material only");
		return false;
	}
	const struct ttlv_item *km = ttlv_find(kv, KMIP_TAG_KEY_MATERIAL);
	if (km == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "the Key Value needs Key Material");
		return false;
	}
	ro->format = (uint32_t)kft->u;
	if (ro->format == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY && type == STORE_OBJ_SYMMETRIC_KEY) {
		/* §2.1.7.1: Key Material { Key } — kept as the raw key */
		const struct ttlv_item *key = km->type == TTLV_STRUCTURE ? ttlv_find(km, KMIP_TAG_KEY) : NULL;
		if (key == NULL || key->type != TTLV_BYTES) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
				  "a Transparent Symmetric Key's Key Material is a structure with a Key (Byte String)");
			return false;
		}
		ro->format = KMIP_KEY_FORMAT_TYPE_RAW;
		ro->material = key->val;
		ro->len = key->len;
	} else if (km->type == TTLV_BYTES) {
		ro->material = km->val;
		ro->len = km->len;
	} else {
		kmip_fail(res, KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED,
			  "fount registers this object with Byte String Key Material, not Key Format Type %u",
			  (unsigned)ro->format);
		return false;
	}
	if (alg != NULL)
		ro->alg = (uint32_t)alg->u;
	if (len != NULL) {
		if (ttlv_int(len) <= 0) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Cryptographic Length must be positive");
			return false;
		}
		ro->length = (uint32_t)ttlv_int(len);
	}
	return true;
}

/* parse_object reads the object of |type| from the payload */
static bool parse_object(uint32_t type, const struct ttlv_item *p, struct reg_object *ro, struct kmip_result *res)
{
	memset(ro, 0, sizeof *ro);
	switch (type) {
	case KMIP_OBJECT_TYPE_SYMMETRIC_KEY:
	case KMIP_OBJECT_TYPE_PRIVATE_KEY:
	case KMIP_OBJECT_TYPE_PUBLIC_KEY: {
		uint32_t tag = type == KMIP_OBJECT_TYPE_SYMMETRIC_KEY ? KMIP_TAG_SYMMETRIC_KEY
			       : type == KMIP_OBJECT_TYPE_PRIVATE_KEY ? KMIP_TAG_PRIVATE_KEY
								      : KMIP_TAG_PUBLIC_KEY;
		const struct ttlv_item *o = ttlv_find(p, tag);
		if (o == NULL) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "the payload has no %s", kmip_tag_name(tag));
			return false;
		}
		return parse_key_block(type, ttlv_find(o, KMIP_TAG_KEY_BLOCK), ro, res);
	}
	case KMIP_OBJECT_TYPE_SECRET_DATA: {
		const struct ttlv_item *o = ttlv_find(p, KMIP_TAG_SECRET_DATA);
		const struct ttlv_item *sdt = one_of(o, KMIP_TAG_SECRET_DATA_TYPE, TTLV_ENUM, res);
		if (failed(res))
			return false;
		if (o == NULL || sdt == NULL) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Secret Data needs a Secret Data Type");
			return false;
		}
		/* §9.1.3.2.9: Password, Seed, or an extension (8XXXXXXX) */
		if (sdt->u != KMIP_SECRET_DATA_TYPE_PASSWORD && sdt->u != KMIP_SECRET_DATA_TYPE_SEED &&
		    sdt->u < 0x80000000u) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Secret Data Type %u is not defined",
				  (unsigned)sdt->u);
			return false;
		}
		ro->data_type = (uint32_t)sdt->u;
		if (!parse_key_block(type, ttlv_find(o, KMIP_TAG_KEY_BLOCK), ro, res))
			return false;
		if (ro->format != KMIP_KEY_FORMAT_TYPE_OPAQUE && ro->format != KMIP_KEY_FORMAT_TYPE_RAW) {
			kmip_fail(res, KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED,
				  "Secret Data is registered Opaque or Raw, not Key Format Type %u", (unsigned)ro->format);
			return false;
		}
		return true;
	}
	case KMIP_OBJECT_TYPE_OPAQUE_OBJECT: {
		const struct ttlv_item *o = ttlv_find(p, KMIP_TAG_OPAQUE_OBJECT);
		const struct ttlv_item *odt = one_of(o, KMIP_TAG_OPAQUE_DATA_TYPE, TTLV_ENUM, res);
		const struct ttlv_item *odv = one_of(o, KMIP_TAG_OPAQUE_DATA_VALUE, TTLV_BYTES, res);
		if (failed(res))
			return false;
		if (o == NULL || odt == NULL || odv == NULL) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
				  "an Opaque Object needs an Opaque Data Type and an Opaque Data Value");
			return false;
		}
		ro->data_type = (uint32_t)odt->u;
		ro->material = odv->val;
		ro->len = odv->len;
		return true;
	}
	case KMIP_OBJECT_TYPE_CERTIFICATE: {
		const struct ttlv_item *o = ttlv_find(p, KMIP_TAG_CERTIFICATE);
		const struct ttlv_item *ct = one_of(o, KMIP_TAG_CERTIFICATE_TYPE, TTLV_ENUM, res);
		const struct ttlv_item *cv = one_of(o, KMIP_TAG_CERTIFICATE_VALUE, TTLV_BYTES, res);
		if (failed(res))
			return false;
		if (o == NULL || ct == NULL || cv == NULL) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
				  "a Certificate needs a Certificate Type and a Certificate Value");
			return false;
		}
		if (ct->u != KMIP_CERTIFICATE_TYPE_X_509) {
			kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
				  "fount keeps X.509 certificates, not Certificate Type %u", (unsigned)ct->u);
			return false;
		}
		ro->data_type = (uint32_t)ct->u;
		ro->material = cv->val;
		ro->len = cv->len;
		return true;
	}
	default:
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
			  "fount does not register objects of type %u (Split Keys, Templates)", (unsigned)type);
		return false;
	}
}

/* merge_alg_length: the Key Block's algorithm and length and the
 * template's must agree; either may be absent */
static bool merge_alg_length(struct kmip_template *t, const struct reg_object *ro, struct kmip_result *res)
{
	if (ro->alg != 0 && t->k.alg != 0 && ro->alg != t->k.alg) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "the Key Block's Cryptographic Algorithm %u differs from the attribute's %u",
			  (unsigned)ro->alg, (unsigned)t->k.alg);
		return false;
	}
	if (ro->length != 0 && t->k.length != 0 && ro->length != t->k.length) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "the Key Block's Cryptographic Length %u differs from the attribute's %u",
			  (unsigned)ro->length, (unsigned)t->k.length);
		return false;
	}
	if (ro->alg != 0)
		t->k.alg = ro->alg;
	if (ro->length != 0)
		t->k.length = ro->length;
	return true;
}

void kmip_op_register(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		      struct kmip_result *res)
{
	const struct ttlv_item *ot = ttlv_find(p, KMIP_TAG_OBJECT_TYPE);
	if (ot == NULL || ot->type != TTLV_ENUM) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Register needs an Object Type");
		return;
	}
	uint32_t type = (uint32_t)ot->u;
	struct reg_object ro;
	if (!parse_object(type, p, &ro, res))
		return;
	struct kmip_template t;
	memset(&t, 0, sizeof t);
	if (!kmip_parse_template(p, rq->version.minor, &t, res) || !merge_alg_length(&t, &ro, res))
		goto out;
	t.k.data_type = ro.data_type;
	char id[STORE_ID_MAX + 1];
	char why[OPS_WHY_MAX] = "";
	err_t r = ops_register_object(rq->peer, &t.k, type, ro.format, ro.material, ro.len, id, why);
	switch (r) {
	case ERR_OK:
		break;
	case ERR_KEY_FORMAT:
	case ERR_TOO_LARGE:
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s", why[0] ? why : err_str(r));
		goto out;
	case ERR_UNSUPPORTED:
		kmip_fail(res, KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED, "%s", why[0] ? why : err_str(r));
		goto out;
	default:
		kmip_fail_err_rq(rq, res, r, "");
		goto out;
	}
	snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", id);
	/* §4.3: the response is the Unique Identifier (PyKMIP reads it first,
	 * kmip-clients §1.8); fount sets no attribute the client must learn */
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	ttlv_enc_end(out);
out:
	kmip_template_free(&t);
}
