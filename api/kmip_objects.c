/* api/kmip_objects.c — the KMIP operations on managed objects: Create,
 * Get, Activate, Revoke, Destroy and Locate (KMIP 1.4 §4.1, §4.11,
 * §4.19, §4.20, §4.21, §4.9); the attribute operations are in
 * api/kmip_attrs.c. They decode TTLV, call
 * the operation layer (api/ops.c) and encode the answer; the rules (tenants,
 * lifecycle, durability, sealing) live there and in store/. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "api/ops.h"
#include "keygen/keygen.h"

/* uid_of reads the request's Unique Identifier, or takes the ID
 * Placeholder (the identifier an earlier item of this batch returned,
 * KMIP 1.4 §2.1.?/Usage Guide) when there is none. */
bool kmip_uid_of(struct kmip_request *rq, const struct ttlv_item *p, char out[KMIP_UID_MAX + 1],
		 struct kmip_result *res)
{
	const struct ttlv_item *u = ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER);
	if (u == NULL) {
		if (rq->id_placeholder[0] == '\0') {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
				  "no Unique Identifier, and no earlier item of this batch set the ID Placeholder");
			return false;
		}
		snprintf(out, STORE_ID_MAX + 1, "%s", rq->id_placeholder);
		return true;
	}
	if (u->type != TTLV_TEXT || u->len == 0 || u->len > STORE_ID_MAX || memchr(u->val, '\0', u->len) != NULL ||
	    ttlv_find_next(u) != NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Unique Identifier must be one text of 1 to %d bytes",
			  STORE_ID_MAX);
		return false;
	}
	memcpy(out, u->val, u->len);
	out[u->len] = '\0';
	return true;
}

/* kmip_fail_err answers a failed operation-layer call in KMIP's terms. */
void kmip_fail_err(struct kmip_result *res, err_t r, const char *id)
{
	switch (r) {
	case ERR_STORE_NOT_FOUND:
		kmip_fail(res, KMIP_RESULT_REASON_ITEM_NOT_FOUND, "no object %s", id);
		return;
	case ERR_STORE_ACTIVE:
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "object %s is Active: revoke it first", id);
		return;
	case ERR_STORE_DESTROYED:
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "object %s is destroyed", id);
		return;
	case ERR_STORE_STATE:
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "object %s's state does not allow that", id);
		return;
	case ERR_STORE_PROTECTED: /* KMIP 1.4 §3.48, §3.50 */
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED,
			  "object %s's Sensitive or Extractable attribute forbids that", id);
		return;
	case ERR_STORE_MANAGED_ATTR:
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "that attribute is set by the server");
		return;
	case ERR_STORE_ATTR_EXISTS: /* KMIP 1.4 §11.15 */
		kmip_fail(res, KMIP_RESULT_REASON_ILLEGAL_OPERATION, "that single-valued attribute is already set");
		return;
	case ERR_STORE_ATTR_NOT_FOUND: /* §11.16, §11.17 */
		kmip_fail(res, KMIP_RESULT_REASON_ITEM_NOT_FOUND, "object %s has no such attribute instance", id);
		return;
	case ERR_STORE_NAME_TAKEN:
		/* KMIP 1.4 §3.2: Names are unique within a key management domain */
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "another object of this tenant has that Name");
		return;
	case ERR_STORE_SEAL:
		/* the AES-GCM tag of the stored record does not verify: a
		 * cryptographic failure (KMIP 1.4 §11, Result Reason), and one a
		 * retry will not cure; not Item Not Found (the object is there)
		 * nor Key Value Not Present (it has a key value, damaged) */
		kmip_fail(res, KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE,
			  "object %s's stored key material fails its integrity check: the key store is damaged "
			  "(its operator restores it from a backup)",
			  id);
		return;
	case ERR_UNSUPPORTED:
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED, "%s", err_str(r));
		return;
	case ERR_INVALID_ARG:
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s", err_str(r));
		return;
	default:
		kmip_fail(res, KMIP_RESULT_REASON_GENERAL_FAILURE, "%s", err_str(r));
		return;
	}
}

/* ---- template attributes --------------------------------------------------- */

void kmip_template_free(struct kmip_template *t)
{
	for (size_t i = 0; i < KMIP_TEMPLATE_MAX_ATTRS; i++)
		ttlv_enc_free(&t->enc[i]); /* nothing for a slot without one */
}

/* add_generic keeps an attribute as it came: name, index, type, value */
static bool add_generic(struct kmip_template *t, const char *name, uint32_t index, const struct ttlv_item *v,
			struct kmip_result *res)
{
	/* a single-valued attribute given again at a higher precedence
	 * replaces the earlier one in its slot (at the same level it is left
	 * to the store, which refuses the duplicate) */
	size_t w = t->n;
	if (!store_attr_is_multi(name)) {
		for (size_t i = 0; i < t->n; i++) {
			if (strcmp(t->attrs[i].name, name) == 0 && t->level[i] < t->cur_level) {
				w = i;
				break;
			}
		}
	}
	if (w == KMIP_TEMPLATE_MAX_ATTRS) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "more than %d attributes", KMIP_TEMPLATE_MAX_ATTRS);
		return false;
	}
	t->level[w] = t->cur_level;
	struct store_attr *a = &t->attrs[w];
	snprintf(t->names[w], sizeof t->names[w], "%s", name);
	switch (v->type) {
	case TTLV_INTEGER:
	case TTLV_LONG:
	case TTLV_ENUM:
	case TTLV_BOOL:
	case TTLV_DATETIME:
	case TTLV_INTERVAL:
		store_attr_int(a, t->names[w], index, v->type,
			       v->type == TTLV_INTEGER ? (int64_t)ttlv_int(v) : (int64_t)v->u);
		break;
	case TTLV_TEXT:
	case TTLV_BYTES:
	case TTLV_BIGINT:
		*a = (struct store_attr){.name = t->names[w], .index = index, .type = v->type,
					 .value = v->val, .value_len = v->len};
		if (v->type == TTLV_TEXT && v->len < sizeof t->search[0]) {
			memcpy(t->search[w], v->val, v->len);
			t->search[w][v->len] = '\0';
			a->search = t->search[w];
		}
		break;
	case TTLV_STRUCTURE: {
		/* the slot's own encoder: a value given again at a higher
		 * precedence replaces the earlier one in the same slot */
		struct ttlv_enc *e = &t->enc[w];
		ttlv_enc_free(e);
		ttlv_enc_init(e, STORE_ATTR_VALUE_MAX);
		ttlv_enc_item(e, v);
		if (ttlv_enc_finish(e) != ERR_OK) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "attribute %s is too large", name);
			return false;
		}
		*a = (struct store_attr){.name = t->names[w], .index = index, .type = v->type,
					 .value = e->buf, .value_len = e->len};
		/* a Name is found by its Name Value, unique per tenant by it */
		const struct ttlv_item *nv = ttlv_find(v, KMIP_TAG_NAME_VALUE);
		if (strcmp(name, "Name") == 0 && (nv == NULL || nv->type != TTLV_TEXT || nv->len >= sizeof t->search[0])) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "a Name needs a Name Value of at most %zu bytes",
				  sizeof t->search[0] - 1);
			return false;
		}
		if (nv != NULL && nv->type == TTLV_TEXT && nv->len < sizeof t->search[0]) {
			memcpy(t->search[w], nv->val, nv->len);
			t->search[w][nv->len] = '\0';
			a->search = t->search[w];
		}
		break;
	}
	default:
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "attribute %s has an unknown type", name);
		return false;
	}
	if (w == t->n)
		t->n++;
	return true;
}

static bool is(const struct ttlv_item *n, const char *name)
{
	return n->len == strlen(name) && memcmp(n->val, name, n->len) == 0;
}

bool kmip_parse_attributes(const struct ttlv_item *scope, uint8_t level, int32_t minor, struct kmip_template *t,
			   struct kmip_result *res)
{
	t->cur_level = level;
	for (const struct ttlv_item *a = ttlv_find(scope, KMIP_TAG_ATTRIBUTE); a != NULL; a = ttlv_find_next(a)) {
		const struct ttlv_item *n = ttlv_find(a, KMIP_TAG_ATTRIBUTE_NAME);
		const struct ttlv_item *ix = ttlv_find(a, KMIP_TAG_ATTRIBUTE_INDEX);
		const struct ttlv_item *v = ttlv_find(a, KMIP_TAG_ATTRIBUTE_VALUE);
		if (n == NULL || n->type != TTLV_TEXT || n->len == 0 || n->len > STORE_ATTR_NAME_MAX || v == NULL ||
		    (ix != NULL && (ix->type != TTLV_INTEGER || ttlv_int(ix) < 0))) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
				  "an Attribute needs a Name (text), a Value and at most a non-negative Index");
			return false;
		}
		uint32_t index = ix != NULL ? (uint32_t)ttlv_int(ix) : 0;
		char name[STORE_ATTR_NAME_MAX + 1];
		memcpy(name, n->val, n->len);
		name[n->len] = '\0';
		if (is(n, "Cryptographic Algorithm") && v->type == TTLV_ENUM) {
			t->k.alg = (uint32_t)v->u;
		} else if (is(n, "Cryptographic Length") && v->type == TTLV_INTEGER && ttlv_int(v) > 0) {
			t->k.length = (uint32_t)ttlv_int(v);
		} else if (is(n, "Cryptographic Usage Mask") && v->type == TTLV_INTEGER) {
			t->k.usage_mask = (uint32_t)ttlv_int(v);
		} else if (is(n, "Activation Date") && v->type == TTLV_DATETIME) {
			t->k.activation_date = (int64_t)v->u;
		} else if (is(n, "Cryptographic Domain Parameters") && v->type == TTLV_STRUCTURE) {
			/* KMIP 1.4 §3.7: {Qlength, Recommended Curve}; the curve
			 * chooses an EC key (Create Key Pair) */
			const struct ttlv_item *rc = ttlv_find(v, KMIP_TAG_RECOMMENDED_CURVE);
			if (rc != NULL && rc->type != TTLV_ENUM) {
				kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Recommended Curve is not an Enumeration");
				return false;
			}
			if (rc != NULL) {
				t->has_curve = true;
				t->curve = (uint32_t)rc->u;
			}
		} else if (is(n, "Cryptographic Algorithm") || is(n, "Cryptographic Length") ||
			   is(n, "Cryptographic Usage Mask") || is(n, "Activation Date") ||
			   is(n, "Cryptographic Domain Parameters")) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "attribute %s has the wrong type", name);
			return false;
		} else if ((is(n, "Sensitive") || is(n, "Extractable")) && minor >= 4) {
			/* KMIP 1.4 §3.48, §3.50: the client's at Create / Register */
			if (v->type != TTLV_BOOL) {
				kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "attribute %s is a Boolean", name);
				return false;
			}
			if (is(n, "Sensitive"))
				t->k.sensitive = v->u != 0;
			else
				t->k.not_extractable = v->u == 0;
		} else if (is(n, "Storage Status Mask")) {
			/* not an attribute (a Locate field, KMIP 1.4 §4.9), but MySQL's
			 * keyring_okv and Percona send it in the template
			 * (kmip-clients §7, checklist 13): kept as sent */
			if (!add_generic(t, name, index, v, res))
				return false;
		} else if (!kmip_attr_defined(name, minor)) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s is not an attribute of KMIP 1.%d", name,
				  (int)minor);
			return false;
		} else if (!(kmip_attr_rule(name)->flags & KMIP_ATTR_CREATE)) {
			kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "attribute %s is set by the server", name);
			return false;
		} else if (kmip_attr_rule(name)->type != 0 && v->type != kmip_attr_rule(name)->type) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "attribute %s has the wrong type", name);
			return false;
		} else if (!add_generic(t, name, index, v, res)) {
			return false;
		}
	}
	t->k.attrs = t->attrs;
	t->k.n_attrs = t->n;
	return true;
}

bool kmip_parse_template(const struct ttlv_item *p, int32_t minor, struct kmip_template *t, struct kmip_result *res)
{
	return kmip_parse_attributes(ttlv_find(p, KMIP_TAG_TEMPLATE_ATTRIBUTE), 0, minor, t, res) &&
	       kmip_parse_attributes(p, 0, minor, t, res);
}

bool kmip_server_rng(struct kmip_template *t, struct ttlv_enc *rng, struct kmip_result *res)
{
	struct store_attr a;
	ttlv_enc_free(rng);
	if (kmip_rng_attr(rng, &a) != ERR_OK) {
		kmip_fail(res, KMIP_RESULT_REASON_GENERAL_FAILURE, "could not encode the Random Number Generator");
		return false;
	}
	size_t i = 0;
	while (i < t->n && strcmp(t->attrs[i].name, a.name) != 0)
		i++;
	if (i < t->n) {
		struct ttlv_doc d;
		bool ok = t->attrs[i].value_len > 0 &&
			  ttlv_decode(&d, t->attrs[i].value, t->attrs[i].value_len) == ERR_OK;
		if (ok) {
			ok = kmip_rng_matches(ttlv_root(&d));
			ttlv_doc_free(&d);
		}
		if (!ok) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
				  "fount generates keys with CTR_DRBG AES-256 only (Random Number Generator)");
			return false;
		}
	} else if (t->n == KMIP_TEMPLATE_MAX_ATTRS) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "more than %d attributes", KMIP_TEMPLATE_MAX_ATTRS - 1);
		return false;
	} else {
		t->n++;
	}
	t->attrs[i] = a;
	t->k.attrs = t->attrs;
	t->k.n_attrs = t->n;
	return true;
}

void kmip_fail_err_rq(struct kmip_request *rq, struct kmip_result *res, err_t r, const char *id)
{
	/* Object Already Exists is a KMIP 1.4 reason (§9.1.3.2.29); earlier
	 * clients get Invalid Field (kmip_fail_err) */
	if (r == ERR_STORE_NAME_TAKEN && rq->version.minor >= 4) {
		kmip_fail(res, KMIP_RESULT_REASON_OBJECT_ALREADY_EXISTS,
			  "another object of this tenant has that Name (KMIP 1.4 §3.2: Names are unique)");
		return;
	}
	kmip_fail_err(res, r, id);
}

/* ---- Create (§4.1) --------------------------------------------------------- */
void kmip_op_create(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		      struct kmip_result *res)
{
	const struct ttlv_item *ot = ttlv_find(p, KMIP_TAG_OBJECT_TYPE);
	if (ot == NULL || ot->type != TTLV_ENUM) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Create needs an Object Type");
		return;
	}
	if (ot->u != KMIP_OBJECT_TYPE_SYMMETRIC_KEY) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "Create makes Symmetric Keys (use Create Key Pair for key pairs)");
		return;
	}
	struct kmip_template t;
	memset(&t, 0, sizeof t);
	struct ttlv_enc rng;
	ttlv_enc_init(&rng, 0);
	if (!kmip_parse_template(p, rq->version.minor, &t, res) || !kmip_server_rng(&t, &rng, res))
		goto out;
	if (t.k.alg == 0) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Create needs a Cryptographic Algorithm");
		goto out;
	}
	char id[STORE_ID_MAX + 1];
	err_t r = ops_create_symmetric(rq->peer, &t.k, id);
	if (r == ERR_UNSUPPORTED && t.k.alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_V3DES && !keygen_tdea_available()) {
		/* SP 800-131A r2: TDEA encryption is disallowed after 2023, so
		 * no approved service makes a 3DES key */
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
			  "3DES keys are a non-approved service (SP 800-131A r2) and fount runs in FIPS mode: use AES");
		goto out;
	}
	if (r == ERR_UNSUPPORTED) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "fount makes AES-128/192/256, HMAC-SHA256/384/512 and (outside FIPS mode) 3DES-168 keys, "
			  "not algorithm %u length %u",
			  (unsigned)t.k.alg, (unsigned)t.k.length);
		goto out;
	}
	if (r != ERR_OK) {
		kmip_fail_err_rq(rq, res, r, "");
		goto out;
	}
	snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", id);
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_enum(out, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	ttlv_enc_end(out);
out:
	ttlv_enc_free(&rng);
	kmip_template_free(&t);
}

/* ---- Get (§4.11) -------------------------------------------------------------
 * Every object type fount keeps, in the format asked for or its default:
 * a symmetric key Raw with its algorithm and length in the Key Block and
 * no attributes in the Key Value (mongod, libkmip; checklist 14), or
 * Transparent Symmetric Key; Secret Data in the format it was registered
 * in; an Opaque Object and a Certificate as they came; a private key
 * PKCS#8 (default), PKCS#1 or Transparent RSA for RSA, ECPrivateKey or
 * Transparent EC for EC; a public key X.509 (SubjectPublicKeyInfo,
 * default), PKCS#1 or Transparent RSA for RSA, Transparent EC for EC. With
 * a Key Wrapping Specification (§2.1.6) the Key Value is wrapped under
 * another of the caller's keys (AES-KW or AES-KWP, §2.1.5). */

struct get_req {
	uint32_t format;              /* Key Format Type asked, 0: the default */
	bool compression;             /* a Key Compression Type was asked */
	uint32_t compression_type;
	bool wrap;                    /* a Key Wrapping Specification */
	char wrap_id[STORE_ID_MAX + 1];
	uint32_t wrap_mode;           /* Block Cipher Mode */
	bool ttlv_encoding;           /* wrap the TTLV Key Value, not the bare material */
	bool encoding_given;
};

/* enum_of reads an optional Enumeration |tag| of |s|; false (|res| set)
 * when it has another type */
static bool enum_of(const struct ttlv_item *s, uint32_t tag, bool *has, uint32_t *v, struct kmip_result *res)
{
	const struct ttlv_item *it = ttlv_find(s, tag);
	*has = it != NULL;
	if (it == NULL)
		return true;
	if (it->type != TTLV_ENUM) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s must be an Enumeration", kmip_tag_name(tag));
		return false;
	}
	*v = (uint32_t)it->u;
	return true;
}

/* parse_wrapping reads a Key Wrapping Specification (KMIP 1.4 §2.1.6) */
static bool parse_wrapping(const struct ttlv_item *ws, struct get_req *g, struct kmip_result *res)
{
	bool has = false;
	uint32_t method = 0;
	if (ws->type != TTLV_STRUCTURE || !enum_of(ws, KMIP_TAG_WRAPPING_METHOD, &has, &method, res))
		goto bad;
	if (!has) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "a Key Wrapping Specification needs a Wrapping Method");
		return false;
	}
	if (method != KMIP_WRAPPING_METHOD_ENCRYPT || ttlv_find(ws, KMIP_TAG_MAC_SIGNATURE_KEY_INFORMATION) != NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
			  "fount wraps with Wrapping Method Encrypt only (no MAC/signature)");
		return false;
	}
	if (ttlv_find(ws, KMIP_TAG_ATTRIBUTE_NAME) != NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
			  "fount does not wrap attributes with the key (no Attribute Name in the specification)");
		return false;
	}
	const struct ttlv_item *eki = ttlv_find(ws, KMIP_TAG_ENCRYPTION_KEY_INFORMATION);
	const struct ttlv_item *u = ttlv_find(eki, KMIP_TAG_UNIQUE_IDENTIFIER);
	if (eki == NULL || u == NULL || u->type != TTLV_TEXT || u->len == 0 || u->len > STORE_ID_MAX) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "Encryption Key Information needs the wrapping key's Unique Identifier");
		return false;
	}
	memcpy(g->wrap_id, u->val, u->len);
	g->wrap_id[u->len] = '\0';
	/* no Cryptographic Parameters: AES Key Wrap (RFC 3394) */
	g->wrap_mode = KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP;
	const struct ttlv_item *cp = ttlv_find(eki, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
	if (cp != NULL) {
		uint32_t alg = 0;
		if (cp->type != TTLV_STRUCTURE || !enum_of(cp, KMIP_TAG_BLOCK_CIPHER_MODE, &has, &g->wrap_mode, res) ||
		    !enum_of(cp, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, &has, &alg, res))
			goto bad;
		if (has && alg != KMIP_CRYPTOGRAPHIC_ALGORITHM_AES) {
			kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED, "fount wraps with AES only");
			return false;
		}
	}
	if (g->wrap_mode != KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP &&
	    g->wrap_mode != KMIP_BLOCK_CIPHER_MODE_AESKEYWRAPPADDING) {
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
			  "fount wraps with Block Cipher Mode NISTKeyWrap or AESKeyWrapPadding, not %u",
			  (unsigned)g->wrap_mode);
		return false;
	}
	uint32_t enc = 0;
	if (!enum_of(ws, KMIP_TAG_ENCODING_OPTION, &g->encoding_given, &enc, res))
		goto bad;
	/* §2.1.5 Table 9: absent, the wrapped Key Value is TTLV encoded */
	if (g->encoding_given && enc != KMIP_ENCODING_OPTION_NO_ENCODING && enc != KMIP_ENCODING_OPTION_TTLV_ENCODING) {
		kmip_fail(res, KMIP_RESULT_REASON_ENCODING_OPTION_ERROR, "unknown Encoding Option %u", (unsigned)enc);
		return false;
	}
	g->ttlv_encoding = !g->encoding_given || enc == KMIP_ENCODING_OPTION_TTLV_ENCODING;
	g->wrap = true;
	return true;
bad:
	if (res->status == KMIP_RESULT_STATUS_SUCCESS)
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "the Key Wrapping Specification is malformed");
	return false;
}

static bool parse_get(const struct ttlv_item *p, struct get_req *g, struct kmip_result *res)
{
	memset(g, 0, sizeof *g);
	bool has = false;
	if (!enum_of(p, KMIP_TAG_KEY_FORMAT_TYPE, &has, &g->format, res) ||
	    !enum_of(p, KMIP_TAG_KEY_COMPRESSION_TYPE, &g->compression, &g->compression_type, res))
		return false;
	if (has && g->format == 0) {
		kmip_fail(res, KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED, "Key Format Type 0 is not defined");
		return false;
	}
	const struct ttlv_item *ws = ttlv_find(p, KMIP_TAG_KEY_WRAPPING_SPECIFICATION);
	return ws == NULL || parse_wrapping(ws, g, res);
}

static bool is_ec_transparent_private(uint32_t f)
{
	return f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PRIVATE_KEY ||
	       f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_ECDSA_PRIVATE_KEY ||
	       f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_ECDH_PRIVATE_KEY;
}

static bool is_ec_transparent_public(uint32_t f)
{
	return f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PUBLIC_KEY ||
	       f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_ECDSA_PUBLIC_KEY ||
	       f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_ECDH_PUBLIC_KEY;
}

/* pick_format settles the Key Format Type of the answer, or fails |res| */
static bool pick_format(const struct store_object *o, struct get_req *g, struct kmip_result *res)
{
	uint32_t f = g->format;
	bool ok = false;
	bool rsa = o->alg == STORE_ALG_RSA;
	bool ec = o->alg == STORE_ALG_EC || o->alg == STORE_ALG_ECDSA || o->alg == STORE_ALG_ECDH;
	switch (o->type) {
	case STORE_OBJ_SYMMETRIC_KEY:
		if (f == 0)
			f = KMIP_KEY_FORMAT_TYPE_RAW;
		ok = f == KMIP_KEY_FORMAT_TYPE_RAW || f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY;
		break;
	case STORE_OBJ_SECRET_DATA:
		if (f == 0)
			f = o->key_format;
		ok = f == o->key_format;
		break;
	case STORE_OBJ_OPAQUE:
	case STORE_OBJ_CERTIFICATE:
		/* no Key Block: a Key Format Type has nothing to apply to
		 * (Opaque asked of an Opaque Object is what it is) */
		ok = f == 0 || (o->type == STORE_OBJ_OPAQUE && f == KMIP_KEY_FORMAT_TYPE_OPAQUE) ||
		     (o->type == STORE_OBJ_CERTIFICATE && f == KMIP_KEY_FORMAT_TYPE_X_509);
		f = 0;
		break;
	/* a private or public key without a Key Format Type asked: the
	 * format it is kept in (KMIP 1.4 §4.11: the server's default) */
	case STORE_OBJ_PRIVATE_KEY:
		if (f == 0)
			f = o->key_format != 0 ? o->key_format : KMIP_KEY_FORMAT_TYPE_PKCS_8;
		ok = f == KMIP_KEY_FORMAT_TYPE_PKCS_8 ||
		     (rsa && (f == KMIP_KEY_FORMAT_TYPE_PKCS_1 || f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PRIVATE_KEY)) ||
		     (ec && (f == KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY || is_ec_transparent_private(f)));
		break;
	case STORE_OBJ_PUBLIC_KEY:
		if (f == 0)
			f = o->key_format != 0 ? o->key_format : KMIP_KEY_FORMAT_TYPE_X_509;
		ok = f == KMIP_KEY_FORMAT_TYPE_X_509 ||
		     (rsa && (f == KMIP_KEY_FORMAT_TYPE_PKCS_1 || f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PUBLIC_KEY)) ||
		     (ec && is_ec_transparent_public(f));
		break;
	default:
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED, "fount does not serve objects of type %u",
			  (unsigned)o->type);
		return false;
	}
	if (!ok) {
		kmip_fail(res, KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED,
			  "this object is not served as Key Format Type %u", (unsigned)g->format);
		return false;
	}
	/* Key Compression Type (§2.1.3): only an EC public key's native,
	 * uncompressed point is served */
	if (g->compression && !(o->type == STORE_OBJ_PUBLIC_KEY && ec &&
				g->compression_type == KMIP_KEY_COMPRESSION_TYPE_EC_PUBLIC_KEY_TYPE_UNCOMPRESSED)) {
		kmip_fail(res, KMIP_RESULT_REASON_KEY_COMPRESSION_TYPE_NOT_SUPPORTED,
			  "fount serves keys uncompressed (Key Compression Type %u asked)", (unsigned)g->compression_type);
		return false;
	}
	if (g->wrap && (o->type == STORE_OBJ_OPAQUE || o->type == STORE_OBJ_CERTIFICATE)) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "only objects with a Key Block can be wrapped");
		return false;
	}
	g->format = f;
	return true;
}

/* recommended_curve maps a NIST curve to KMIP's Recommended Curve */
static uint32_t recommended_curve(unsigned bits)
{
	switch (bits) {
	case 256: return KMIP_RECOMMENDED_CURVE_P_256;
	case 384: return KMIP_RECOMMENDED_CURVE_P_384;
	case 521: return KMIP_RECOMMENDED_CURVE_P_521;
	default: return 0;
	}
}

/* put_numbers writes the Transparent Key Material structure of |der| (the
 * stored material, in Key Format Type |stored|) in format |f| (§2.1.7.4,
 * .5, .14, .15; the ECDSA/ECDH forms of 1.0-1.2 have the same fields) */
static err_t put_numbers(struct ttlv_enc *e, uint32_t type, uint32_t stored, const uint8_t *der, size_t der_len,
			 uint32_t f)
{
	static const struct {
		uint32_t tag;
		enum keygen_pkey_num num;
	} rsa_priv[] = {
		{KMIP_TAG_MODULUS, KEYGEN_NUM_RSA_N},
		{KMIP_TAG_PRIVATE_EXPONENT, KEYGEN_NUM_RSA_D},
		{KMIP_TAG_PUBLIC_EXPONENT, KEYGEN_NUM_RSA_E},
		{KMIP_TAG_P, KEYGEN_NUM_RSA_P},
		{KMIP_TAG_Q, KEYGEN_NUM_RSA_Q},
		{KMIP_TAG_PRIME_EXPONENT_P, KEYGEN_NUM_RSA_DP},
		{KMIP_TAG_PRIME_EXPONENT_Q, KEYGEN_NUM_RSA_DQ},
		{KMIP_TAG_CRT_COEFFICIENT, KEYGEN_NUM_RSA_QINV},
	};
	struct evp_pkey_st *pkey = NULL;
	bool priv = type == STORE_OBJ_PRIVATE_KEY;
	GUARD(ops_pkey_open(type, stored, der, der_len, &pkey));
	err_t r = ERR_OK;
	ttlv_enc_begin(e, KMIP_TAG_KEY_MATERIAL);
	if (f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PRIVATE_KEY || f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PUBLIC_KEY) {
		for (size_t i = 0; i < ARRAY_SIZE(rsa_priv) && r == ERR_OK; i++) {
			/* a public key: Modulus and Public Exponent only */
			if (!priv && rsa_priv[i].num != KEYGEN_NUM_RSA_N && rsa_priv[i].num != KEYGEN_NUM_RSA_E)
				continue;
			uint8_t *v = NULL;
			size_t n = 0;
			r = keygen_pkey_number(pkey, rsa_priv[i].num, &v, &n);
			if (r == ERR_OK) {
				ttlv_enc_bigint(e, rsa_priv[i].tag, v, n);
				secmem_free(v, n);
			}
		}
	} else {
		const struct keygen_type *t = keygen_pkey_type(pkey);
		uint32_t curve = t != NULL ? recommended_curve(t->bits) : 0;
		uint8_t *v = NULL;
		size_t n = 0;
		r = curve != 0 ? keygen_pkey_number(pkey, priv ? KEYGEN_NUM_EC_D : KEYGEN_NUM_EC_Q, &v, &n) : ERR_UNSUPPORTED;
		if (r == ERR_OK) {
			ttlv_enc_enum(e, KMIP_TAG_RECOMMENDED_CURVE, curve);
			if (priv)
				ttlv_enc_bigint(e, KMIP_TAG_D, v, n);
			else
				ttlv_enc_bytes(e, KMIP_TAG_Q_STRING, v, n);
			secmem_free(v, n);
		}
	}
	ttlv_enc_end(e);
	EVP_PKEY_free(pkey);
	return r;
}

/* put_key_value writes the Key Value structure of material |m| in |f| */
static err_t put_key_value(struct ttlv_enc *e, const struct store_object *o, const uint8_t *m, size_t m_len,
			   uint32_t f)
{
	ttlv_enc_begin(e, KMIP_TAG_KEY_VALUE);
	err_t r = ERR_OK;
	if (f == KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY) {
		ttlv_enc_begin(e, KMIP_TAG_KEY_MATERIAL);
		ttlv_enc_bytes(e, KMIP_TAG_KEY, m, m_len);
		ttlv_enc_end(e);
	} else if (f >= KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PRIVATE_KEY &&
		   f <= KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PUBLIC_KEY) {
		r = put_numbers(e, o->type, o->key_format, m, m_len, f);
	} else {
		ttlv_enc_bytes(e, KMIP_TAG_KEY_MATERIAL, m, m_len);
	}
	ttlv_enc_end(e);
	return r;
}

static uint32_t object_tag(uint32_t type)
{
	switch (type) {
	case STORE_OBJ_SYMMETRIC_KEY: return KMIP_TAG_SYMMETRIC_KEY;
	case STORE_OBJ_SECRET_DATA: return KMIP_TAG_SECRET_DATA;
	case STORE_OBJ_PRIVATE_KEY: return KMIP_TAG_PRIVATE_KEY;
	case STORE_OBJ_PUBLIC_KEY: return KMIP_TAG_PUBLIC_KEY;
	case STORE_OBJ_OPAQUE: return KMIP_TAG_OPAQUE_OBJECT;
	case STORE_OBJ_CERTIFICATE: return KMIP_TAG_CERTIFICATE;
	default: return 0;
	}
}

/* wrap_err answers a failed ops_wrap_with (KMIP 1.4 has no Wrong Key
 * Lifecycle State or Incompatible Usage Mask reason: those are 2.0; a key
 * that may not wrap is Permission Denied, as a Destroy of an Active key) */
static void wrap_err(struct kmip_request *rq, struct kmip_result *res, err_t r, const char *why)
{
	switch (r) {
	case ERR_STORE_NOT_FOUND:
		kmip_fail(res, KMIP_RESULT_REASON_ITEM_NOT_FOUND, "%s", why);
		return;
	case ERR_STORE_STATE:
	case ERR_KEY_USAGE:
	case ERR_STORE_DESTROYED:
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "%s", why);
		return;
	case ERR_UNSUPPORTED:
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED, "%s", why);
		return;
	case ERR_INVALID_ARG:
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s", why);
		return;
	default:
		kmip_fail_err_rq(rq, res, r, "");
		return;
	}
}

void kmip_op_get(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		   struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	struct get_req g;
	if (!kmip_uid_of(rq, p, id, res) || !parse_get(p, &g, res))
		return;
	struct store_object o;
	err_t r = ops_get_row(rq->peer, id, &o);
	if (r != ERR_OK) {
		kmip_fail_err(res, r, id);
		return;
	}
	uint8_t *m = NULL, *conv = NULL, *wrapped = NULL;
	size_t m_len = 0, conv_len = 0, wrapped_len = 0;
	struct ttlv_enc kv;
	ttlv_enc_init(&kv, STORE_MATERIAL_MAX * 4);
	if (!pick_format(&o, &g, res))
		goto out;
	enum keygen_wrap_alg walg = g.wrap_mode == KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP ? KEYGEN_WRAP_KW : KEYGEN_WRAP_KWP;
	char why[OPS_WHY_MAX] = "";
	/* the wrapping key is checked before the key is read (and recorded) */
	if (g.wrap && (r = ops_wrap_check(rq->peer, g.wrap_id, walg, (o.protection & STORE_P_SENSITIVE) != 0, why)) !=
			      ERR_OK) {
		wrap_err(rq, res, r, why);
		goto out;
	}
	r = ops_serve_material(rq->peer, id, g.wrap ? "kmip get wrapped" : "kmip get", g.wrap, &m, &m_len, NULL);
	if (r == ERR_STORE_PROTECTED) {
		/* KMIP 1.4 has no "Sensitive" Result Reason (2.1's BL-M-12-21
		 * answers with it): Permission Denied, the reason 1.4 gives for
		 * what policy forbids */
		bool extractable = (o.protection & STORE_P_EXTRACTABLE) != 0;
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED,
			  extractable ? "object %s is Sensitive: Get it wrapped, with a Key Wrapping Specification "
					"(KMIP 1.4 §3.48)"
				      : "object %s is not Extractable: its key material never leaves the server "
					"(KMIP 1.4 §3.50)",
			  id);
		goto out;
	}
	if (r != ERR_OK || m == NULL) {
		kmip_fail_err(res, r != ERR_OK ? r : ERR_STORE_DESTROYED, id);
		goto out;
	}
	bool has_block = o.type != STORE_OBJ_OPAQUE && o.type != STORE_OBJ_CERTIFICATE;
	bool transparent = g.format >= KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY &&
			   g.format <= KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PUBLIC_KEY;
	if (has_block && !transparent && g.format != KMIP_KEY_FORMAT_TYPE_RAW && o.type != STORE_OBJ_SECRET_DATA) {
		r = ops_convert(o.type, o.key_format, m, m_len, g.format, &conv, &conv_len);
		if (r != ERR_OK) {
			kmip_fail(res, KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED,
				  "this key cannot be served as Key Format Type %u", (unsigned)g.format);
			goto out;
		}
	}
	const uint8_t *mat = conv != NULL ? conv : m;
	size_t mat_len = conv != NULL ? conv_len : m_len;
	if (g.wrap) {
		/* §2.1.5: No Encoding wraps the Key Material's bytes; TTLV
		 * Encoding (the default) the encoded Key Value structure */
		if (!g.ttlv_encoding && transparent) {
			kmip_fail(res, KMIP_RESULT_REASON_ENCODING_OPTION_ERROR,
				  "a Transparent key's material is a structure: wrap it with TTLV Encoding");
			goto out;
		}
		const uint8_t *plain = mat;
		size_t plain_len = mat_len;
		if (g.ttlv_encoding) {
			r = put_key_value(&kv, &o, mat, mat_len, g.format);
			if (r == ERR_OK)
				r = ttlv_enc_finish(&kv);
			if (r != ERR_OK) {
				kmip_fail(res, KMIP_RESULT_REASON_GENERAL_FAILURE, "encoding the key failed: %s", err_str(r));
				goto out;
			}
			plain = kv.buf;
			plain_len = kv.len;
		}
		r = ops_wrap_with(rq->peer, g.wrap_id, walg, plain, plain_len, &wrapped, &wrapped_len, why);
		if (r != ERR_OK) {
			wrap_err(rq, res, r, why);
			goto out;
		}
	}

	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_enum(out, KMIP_TAG_OBJECT_TYPE, o.type);
	ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	ttlv_enc_begin(out, object_tag(o.type));
	if (o.type == STORE_OBJ_CERTIFICATE) {
		ttlv_enc_enum(out, KMIP_TAG_CERTIFICATE_TYPE,
			      o.data_type != 0 ? o.data_type : KMIP_CERTIFICATE_TYPE_X_509);
		ttlv_enc_bytes(out, KMIP_TAG_CERTIFICATE_VALUE, m, m_len);
	} else if (o.type == STORE_OBJ_OPAQUE) {
		ttlv_enc_enum(out, KMIP_TAG_OPAQUE_DATA_TYPE, o.data_type);
		ttlv_enc_bytes(out, KMIP_TAG_OPAQUE_DATA_VALUE, m, m_len);
	} else {
		if (o.type == STORE_OBJ_SECRET_DATA)
			ttlv_enc_enum(out, KMIP_TAG_SECRET_DATA_TYPE, o.data_type);
		ttlv_enc_begin(out, KMIP_TAG_KEY_BLOCK);
		ttlv_enc_enum(out, KMIP_TAG_KEY_FORMAT_TYPE, g.format);
		if (g.compression)
			ttlv_enc_enum(out, KMIP_TAG_KEY_COMPRESSION_TYPE, g.compression_type);
		if (g.wrap) {
			/* §2.1.3: a wrapped Key Value is a Byte String */
			ttlv_enc_bytes(out, KMIP_TAG_KEY_VALUE, wrapped, wrapped_len);
		} else if ((r = put_key_value(out, &o, mat, mat_len, g.format)) != ERR_OK) {
			kmip_fail(res, KMIP_RESULT_REASON_GENERAL_FAILURE, "encoding the key failed: %s", err_str(r));
			goto out;
		}
		if (o.alg != 0)
			ttlv_enc_enum(out, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, o.alg);
		if (o.length != 0 || o.type == STORE_OBJ_SYMMETRIC_KEY)
			ttlv_enc_int(out, KMIP_TAG_CRYPTOGRAPHIC_LENGTH,
				     (int32_t)(o.length != 0 ? o.length : m_len * 8));
		if (g.wrap) {
			ttlv_enc_begin(out, KMIP_TAG_KEY_WRAPPING_DATA);
			ttlv_enc_enum(out, KMIP_TAG_WRAPPING_METHOD, KMIP_WRAPPING_METHOD_ENCRYPT);
			ttlv_enc_begin(out, KMIP_TAG_ENCRYPTION_KEY_INFORMATION);
			ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, g.wrap_id);
			ttlv_enc_begin(out, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
			ttlv_enc_enum(out, KMIP_TAG_BLOCK_CIPHER_MODE, g.wrap_mode);
			ttlv_enc_end(out);
			ttlv_enc_end(out);
			/* Encoding Option: KMIP 1.1 */
			if (rq->version.minor >= 1)
				ttlv_enc_enum(out, KMIP_TAG_ENCODING_OPTION,
					      g.ttlv_encoding ? KMIP_ENCODING_OPTION_TTLV_ENCODING
							      : KMIP_ENCODING_OPTION_NO_ENCODING);
			ttlv_enc_end(out);
		}
		ttlv_enc_end(out);
	}
	ttlv_enc_end(out);
	ttlv_enc_end(out);
	snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", id);
out:
	ttlv_enc_free(&kv);
	if (m != NULL)
		secmem_free(m, m_len);
	if (conv != NULL)
		secmem_free(conv, conv_len);
	if (wrapped != NULL)
		secmem_free(wrapped, wrapped_len);
	store_object_free(&o);
}

/* ---- Activate, Revoke, Destroy (§4.19-4.21): answer with the identifier -- */

/* answer_uid answers |r| of an operation on object |id|: the identifier
 * (and the ID Placeholder) on success, the failure otherwise. */
static void answer_uid(struct kmip_request *rq, struct ttlv_enc *out, struct kmip_result *res, err_t r,
		       const char *id)
{
	if (r != ERR_OK) {
		kmip_fail_err(res, r, id);
		return;
	}
	snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", id);
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	ttlv_enc_end(out);
}

void kmip_op_activate(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		      struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	if (kmip_uid_of(rq, p, id, res))
		answer_uid(rq, out, res, ops_activate(rq->peer, id), id);
}

void kmip_op_revoke(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		    struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	if (!kmip_uid_of(rq, p, id, res))
		return;
	const struct ttlv_item *rr = ttlv_find(p, KMIP_TAG_REVOCATION_REASON);
	const struct ttlv_item *code = ttlv_find(rr, KMIP_TAG_REVOCATION_REASON_CODE);
	if (code == NULL || code->type != TTLV_ENUM) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Revoke needs a Revocation Reason Code");
		return;
	}
	const struct ttlv_item *occ = ttlv_find(p, KMIP_TAG_COMPROMISE_OCCURRENCE_DATE);
	int64_t when = occ != NULL && occ->type == TTLV_DATETIME ? (int64_t)occ->u : 0;
	answer_uid(rq, out, res, ops_revoke(rq->peer, id, (uint32_t)code->u, when), id);
}

void kmip_op_destroy(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		     struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	if (kmip_uid_of(rq, p, id, res))
		answer_uid(rq, out, res, ops_destroy(rq->peer, id), id);
}

/* ---- Locate (§4.9) -----------------------------------------------------------
 * Filters: Object Type, Cryptographic Algorithm/Length, State, Name, Object
 * Group, Cryptographic Usage Mask (every bit asked is set), Initial Date and
 * Activation Date (one instance: that date; two: the range between them,
 * limits included; the largest Date-Time: no filter), custom x-/y-
 * attributes (equal value and type); Maximum Items and Offset Items
 * (kmippp pages by 16 and loops for ever if the offset is ignored); Located
 * Items (1.3+). Only the caller's objects, and no destroyed ones unless
 * State asks. */
#define LOCATE_CUSTOM_MAX 16

struct date_filter {
	int64_t v[2];
	size_t n;
};

/* add_date records one instance of a date filter */
static bool add_date(struct date_filter *f, const char *name, const struct ttlv_item *v, struct kmip_result *res)
{
	if (v->type != TTLV_DATETIME) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s is a Date-Time", name);
		return false;
	}
	if (f->n == 2) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s is given more than twice (a range is two)", name);
		return false;
	}
	if ((int64_t)v->u != INT64_MAX) /* §4.9: the largest value is "undefined" */
		f->v[f->n++] = (int64_t)v->u;
	return true;
}

/* date_range turns |f| into an inclusive range (0, 0: none) */
static void date_range(const struct date_filter *f, int64_t *from, int64_t *to)
{
	*from = *to = 0;
	if (f->n == 0)
		return;
	int64_t lo = f->v[0], hi = f->n == 2 ? f->v[1] : f->v[0];
	if (lo > hi) {
		int64_t x = lo;
		lo = hi;
		hi = x;
	}
	/* the store's 0 is "open": a range from the epoch starts at 1 s */
	*from = lo > 0 ? lo : 1;
	*to = hi > 0 ? hi : 1;
}

void kmip_op_locate(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		      struct kmip_result *res)
{
	struct store_query q;
	memset(&q, 0, sizeof q);
	char name[256] = "", group[256] = "";
	struct date_filter initial = {{0, 0}, 0}, activation = {{0, 0}, 0};
	struct store_attr custom[LOCATE_CUSTOM_MAX];
	char custom_names[LOCATE_CUSTOM_MAX][STORE_ATTR_NAME_MAX + 1];
	struct ttlv_enc custom_enc[LOCATE_CUSTOM_MAX];
	size_t n_custom = 0;
	const struct ttlv_item *mi = ttlv_find(p, KMIP_TAG_MAXIMUM_ITEMS);
	const struct ttlv_item *oi = ttlv_find(p, KMIP_TAG_OFFSET_ITEMS);
	if ((mi != NULL && (mi->type != TTLV_INTEGER || ttlv_int(mi) < 0)) ||
	    (oi != NULL && (oi->type != TTLV_INTEGER || ttlv_int(oi) < 0))) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Maximum Items and Offset Items are non-negative Integers");
		return;
	}
	q.max_items = mi != NULL ? (uint32_t)ttlv_int(mi) : 0;
	q.offset = oi != NULL ? (uint64_t)ttlv_int(oi) : 0;
	const struct ttlv_item *scopes[2] = {p, ttlv_find(p, KMIP_TAG_TEMPLATE_ATTRIBUTE)};
	for (size_t s = 0; s < 2; s++) {
		for (const struct ttlv_item *a = ttlv_find(scopes[s], KMIP_TAG_ATTRIBUTE); a != NULL;
		     a = ttlv_find_next(a)) {
			const struct ttlv_item *n = ttlv_find(a, KMIP_TAG_ATTRIBUTE_NAME);
			const struct ttlv_item *v = ttlv_find(a, KMIP_TAG_ATTRIBUTE_VALUE);
			if (n == NULL || v == NULL || n->type != TTLV_TEXT) {
				kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "an Attribute needs a Name and a Value");
				goto out;
			}
			if (is(n, "Object Type") && v->type == TTLV_ENUM) {
				q.type = (uint32_t)v->u;
			} else if (is(n, "Cryptographic Algorithm") && v->type == TTLV_ENUM) {
				q.alg = (uint32_t)v->u;
			} else if (is(n, "Cryptographic Length") && v->type == TTLV_INTEGER) {
				q.length = (uint32_t)ttlv_int(v);
			} else if (is(n, "Cryptographic Usage Mask") && v->type == TTLV_INTEGER) {
				q.usage_mask = (uint32_t)ttlv_int(v);
			} else if (is(n, "State") && v->type == TTLV_ENUM) {
				q.state = (uint32_t)v->u;
			} else if (is(n, "Initial Date")) {
				if (!add_date(&initial, "Initial Date", v, res))
					goto out;
			} else if (is(n, "Activation Date")) {
				if (!add_date(&activation, "Activation Date", v, res))
					goto out;
			} else if (is(n, "Name")) {
				const struct ttlv_item *nv = v->type == TTLV_STRUCTURE ? ttlv_find(v, KMIP_TAG_NAME_VALUE) : v;
				if (nv == NULL || nv->type != TTLV_TEXT || nv->len >= sizeof name) {
					kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "a Name filter needs a Name Value");
					goto out;
				}
				memcpy(name, nv->val, nv->len);
				name[nv->len] = '\0';
				q.name = name;
			} else if (is(n, "Object Group") && v->type == TTLV_TEXT && v->len < sizeof group) {
				memcpy(group, v->val, v->len);
				group[v->len] = '\0';
				q.group = group;
			} else if (n->len > 2 && n->len <= STORE_ATTR_NAME_MAX && (memcmp(n->val, "x-", 2) == 0 ||
				   memcmp(n->val, "y-", 2) == 0)) {
				/* a custom attribute: equal type and value, as stored */
				if (n_custom == LOCATE_CUSTOM_MAX) {
					kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
						  "at most %d custom attributes in one Locate", LOCATE_CUSTOM_MAX);
					goto out;
				}
				char *cn = custom_names[n_custom];
				memcpy(cn, n->val, n->len);
				cn[n->len] = '\0';
				struct store_attr *c = &custom[n_custom];
				struct ttlv_enc *ce = &custom_enc[n_custom];
				ttlv_enc_init(ce, STORE_ATTR_VALUE_MAX);
				n_custom++;
				if (v->type == TTLV_STRUCTURE) {
					/* stored as the TTLV of its Attribute Value */
					ttlv_enc_item(ce, v);
					if (ttlv_enc_finish(ce) != ERR_OK) {
						kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "attribute %s is too large", cn);
						goto out;
					}
					*c = (struct store_attr){.name = cn, .type = v->type, .value = ce->buf, .value_len = ce->len};
				} else if (v->type == TTLV_TEXT || v->type == TTLV_BYTES || v->type == TTLV_BIGINT) {
					*c = (struct store_attr){.name = cn, .type = v->type, .value = v->val, .value_len = v->len};
				} else if (v->type == TTLV_INTEGER || v->type == TTLV_LONG || v->type == TTLV_ENUM ||
					   v->type == TTLV_BOOL || v->type == TTLV_DATETIME || v->type == TTLV_INTERVAL) {
					store_attr_int(c, cn, 0, v->type,
						       v->type == TTLV_INTEGER ? (int64_t)ttlv_int(v) : (int64_t)v->u);
				} else {
					kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "attribute %s has an unknown type", cn);
					goto out;
				}
			} else {
				kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
					  "Locate by this attribute is not supported yet");
				goto out;
			}
		}
	}
	date_range(&initial, &q.initial_from, &q.initial_to);
	date_range(&activation, &q.activation_from, &q.activation_to);
	q.custom = custom;
	q.n_custom = n_custom;
	struct store_found f;
	err_t r = ops_find(rq->peer, &q, &f);
	if (r != ERR_OK) {
		kmip_fail_err(res, r, "");
		goto out;
	}
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	if (rq->version.minor >= 3 && (mi != NULL || oi != NULL))
		ttlv_enc_int(out, KMIP_TAG_LOCATED_ITEMS, f.total > INT32_MAX ? INT32_MAX : (int32_t)f.total);
	for (size_t i = 0; i < f.n; i++)
		ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, f.ids[i]);
	ttlv_enc_end(out);
	/* §4.9: the ID Placeholder is the one object found; with several it
	 * is emptied, so later items of the batch that name none fail */
	if (f.n == 1)
		snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", f.ids[0]);
	else
		rq->id_placeholder[0] = '\0';
	store_found_free(&f);
out:
	for (size_t i = 0; i < n_custom; i++)
		ttlv_enc_free(&custom_enc[i]);
}
