/* api/kmip_crypto.c — KMIP Encrypt and Decrypt (KMIP 1.4 §4.29, §4.30;
 * since 1.2) for clients that delegate their cryptography: AES-128/192/256
 * in CBC with or without PKCS#5 padding, and in GCM with additional data
 * and a tag (KMIP 1.4). The handlers decode TTLV, settle the parameters and
 * call ops_encrypt / ops_decrypt (api/ops.c), which check the key's owner,
 * state and usage, record the use and run keygen/. No key reaches this file.
 *
 * Which parameters apply (§4.29: "If omitted then the Cryptographic
 * Parameters associated with the Managed Cryptographic Object with the
 * lowest Attribute Index SHALL be used"): the request's Cryptographic
 * Parameters when it has them, else the key's first Cryptographic
 * Parameters attribute, else fount's default for AES, CBC with PKCS#5
 * padding and a random IV. The default is what mongod's audit log needs:
 * it sends UID + Data only and decrypts with UID + Data + the IV it got
 * back (kmip-clients §2). Inside a Cryptographic Parameters structure a
 * missing Block Cipher Mode is CBC and, for CBC, a missing Padding Method
 * is PKCS5.
 *
 * Streaming (Correlation Value, Init and Final Indicator, §2.1.15-2.1.17:
 * "the server decides which operations are supported for multi-part
 * usage") is not: Feature Not Supported, as Query Capabilities says
 * (Streaming Capability false). */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "api/ops.h"
#include "keygen/keygen.h"

CSP_USE("Symmetric keys", "Encrypt and Decrypt with a stored key; their output buffers in locked memory");

/* The most Data one Encrypt or Decrypt takes (keygen's limit). */
#define CRYPTO_DATA_MAX KEYGEN_AEAD_MAX_INPUT
/* Less than any answer needs besides its Data (the response header, the
 * item's operation and status, the identifier): an answer that cannot fit
 * in the Maximum Response Size is refused before the key is used, and none
 * that fits is. The encoder has the last word (kmip_msg.c). */
#define CRYPTO_RESPONSE_OVERHEAD 128

/* The settled parameters of one request. */
struct params {
	uint32_t mode;       /* KMIP Block Cipher Mode */
	uint32_t padding;    /* KMIP Padding Method */
	bool random_iv;
	bool asked;          /* from the request (not the key's attribute) */
	int32_t iv_bits;     /* IV Length, -1: not given */
	int32_t tag_len;     /* Tag Length, -1: not given */
};

/* field finds the one |tag| of |type| in |s|; false (and |res| failed) for
 * another type or a repeat. *out is NULL when it is absent. */
static bool field(const struct ttlv_item *s, uint32_t tag, uint8_t type, const struct ttlv_item **out,
		  struct kmip_result *res)
{
	const struct ttlv_item *it = ttlv_find(s, tag);
	*out = it;
	if (it == NULL)
		return true;
	if (it->type != type || ttlv_find_next(it) != NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s must be one %s", kmip_tag_name(tag),
			  ttlv_type_name(type));
		return false;
	}
	return true;
}

/* read_params reads a Cryptographic Parameters structure (§3.6) into |pr|,
 * refusing what fount cannot honour rather than ignoring it. */
static bool read_params(const struct ttlv_item *cp, struct params *pr, struct kmip_result *res)
{
	const struct ttlv_item *mode, *pad, *alg, *riv, *ivl, *tl;
	if (cp->type != TTLV_STRUCTURE) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Cryptographic Parameters is not a Structure");
		return false;
	}
	if (!field(cp, KMIP_TAG_BLOCK_CIPHER_MODE, TTLV_ENUM, &mode, res) ||
	    !field(cp, KMIP_TAG_PADDING_METHOD, TTLV_ENUM, &pad, res) ||
	    !field(cp, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, TTLV_ENUM, &alg, res) ||
	    !field(cp, KMIP_TAG_RANDOM_IV, TTLV_BOOL, &riv, res) ||
	    !field(cp, KMIP_TAG_IV_LENGTH, TTLV_INTEGER, &ivl, res) ||
	    !field(cp, KMIP_TAG_TAG_LENGTH, TTLV_INTEGER, &tl, res))
		return false;
	/* IVs built from fixed, invocation and counter fields (§3.6,
	 * SP 800-38D §8.2.1) are not offered: fount draws whole IVs */
	static const uint32_t unsupported[] = {KMIP_TAG_FIXED_FIELD_LENGTH, KMIP_TAG_INVOCATION_FIELD_LENGTH,
					       KMIP_TAG_COUNTER_LENGTH, KMIP_TAG_INITIAL_COUNTER_VALUE};
	for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++) {
		if (ttlv_find(cp, unsupported[i]) != NULL) {
			kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED, "%s is not supported",
				  kmip_tag_name(unsupported[i]));
			return false;
		}
	}
	if (alg != NULL && alg->u != KMIP_CRYPTOGRAPHIC_ALGORITHM_AES) {
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
			  "fount encrypts with AES only, not Cryptographic Algorithm %u", (unsigned)alg->u);
		return false;
	}
	pr->mode = mode != NULL ? (uint32_t)mode->u : KMIP_BLOCK_CIPHER_MODE_CBC;
	if (pr->mode != KMIP_BLOCK_CIPHER_MODE_CBC && pr->mode != KMIP_BLOCK_CIPHER_MODE_GCM) {
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
			  "Block Cipher Mode %u is not supported (CBC and GCM are)", (unsigned)pr->mode);
		return false;
	}
	pr->padding = pad != NULL ? (uint32_t)pad->u
				  : pr->mode == KMIP_BLOCK_CIPHER_MODE_CBC ? KMIP_PADDING_METHOD_PKCS5
									   : KMIP_PADDING_METHOD_NONE;
	bool cbc_pad_ok = pr->padding == KMIP_PADDING_METHOD_PKCS5 || pr->padding == KMIP_PADDING_METHOD_NONE;
	if (pr->mode == KMIP_BLOCK_CIPHER_MODE_CBC ? !cbc_pad_ok : pr->padding != KMIP_PADDING_METHOD_NONE) {
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
			  "Padding Method %u is not supported with this mode (CBC: PKCS5 or None; GCM: None)",
			  (unsigned)pr->padding);
		return false;
	}
	pr->random_iv = riv != NULL && riv->u != 0;
	pr->iv_bits = ivl != NULL ? ttlv_int(ivl) : -1;
	pr->tag_len = tl != NULL ? ttlv_int(tl) : -1;
	return true;
}

/* key_params reads the key's first Cryptographic Parameters attribute
 * (kept as the TTLV of its value, lowest index first) into |pr|; false
 * with |res| Success when the key has none. */
static bool key_params(struct kmip_request *rq, const char *id, struct params *pr, struct kmip_result *res)
{
	struct store_object o;
	if (ops_get(rq->peer, id, &o) != ERR_OK)
		return false; /* ops_encrypt answers for the key */
	bool found = false;
	for (size_t i = 0; i < o.n_attrs && !found; i++) {
		const struct store_attr *a = &o.attrs[i];
		if (strcmp(a->name, "Cryptographic Parameters") != 0 || a->type != TTLV_STRUCTURE)
			continue;
		struct ttlv_doc d;
		if (ttlv_decode(&d, a->value, a->value_len) != ERR_OK)
			continue;
		found = true;
		(void)read_params(ttlv_root(&d), pr, res); /* its failure is |res| */
		ttlv_doc_free(&d);
	}
	store_object_free(&o);
	return found;
}

/* settle finds the parameters of this request (see the file comment). */
static bool settle(struct kmip_request *rq, const struct ttlv_item *p, const char *id, struct params *pr,
		   struct kmip_result *res)
{
	const struct ttlv_item *cp;
	*pr = (struct params){.mode = KMIP_BLOCK_CIPHER_MODE_CBC, .padding = KMIP_PADDING_METHOD_PKCS5,
			      .random_iv = true, .iv_bits = -1, .tag_len = -1};
	if (!field(p, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS, TTLV_STRUCTURE, &cp, res))
		return false;
	if (cp != NULL) {
		pr->asked = true;
		return read_params(cp, pr, res);
	}
	(void)key_params(rq, id, pr, res);
	return res->status == KMIP_RESULT_STATUS_SUCCESS;
}

/* streaming refuses multi-part requests (§2.1.15-2.1.17); an Init and
 * Final Indicator both true with no Correlation Value is one whole part */
static bool streaming(const struct ttlv_item *p, struct kmip_result *res)
{
	const struct ttlv_item *init = ttlv_find(p, KMIP_TAG_INIT_INDICATOR);
	const struct ttlv_item *fin = ttlv_find(p, KMIP_TAG_FINAL_INDICATOR);
	bool is_init = init != NULL && init->type == TTLV_BOOL && init->u != 0;
	bool is_final = fin != NULL && fin->type == TTLV_BOOL && fin->u != 0;
	if (ttlv_find(p, KMIP_TAG_CORRELATION_VALUE) == NULL && (init == NULL || is_init) &&
	    (fin == NULL || is_final) && is_init == is_final)
		return false;
	kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED,
		  "multi-part (streaming) operations are not supported: send the whole Data in one request");
	return true;
}

/* fail_crypto answers a failed ops_encrypt / ops_decrypt in KMIP's terms
 * (§11.30, §11.31). A tag or padding failure says nothing about which. */
static void fail_crypto(struct kmip_result *res, err_t r, const char *id, bool encrypt)
{
	switch (r) {
	case ERR_STORE_NOT_FOUND:
		kmip_fail(res, KMIP_RESULT_REASON_ITEM_NOT_FOUND, "no object %s", id);
		return;
	case ERR_STORE_DESTROYED:
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "object %s is destroyed", id);
		return;
	case ERR_STORE_STATE:
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED,
			  encrypt ? "object %s is not Active (or is past its Protect Stop Date)"
				  : "object %s is not Active or Deactivated (or is before its Process Start Date)",
			  id);
		return;
	case ERR_KEY_USAGE:
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED,
			  "object %s is not an AES key whose Cryptographic Usage Mask allows %s", id,
			  encrypt ? "Encrypt" : "Decrypt");
		return;
	case ERR_UNWRAP:
		/* one message for a bad tag, a bad padding, a wrong key or IV:
		 * nothing about which */
		kmip_fail(res, KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE, "the data could not be decrypted");
		return;
	case ERR_INVALID_ARG:
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "the parameters do not fit the mode (CBC: a 16-byte IV, no additional data, whole blocks "
			  "without padding; GCM: no padding)");
		return;
	case ERR_TOO_LARGE:
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Data exceeds %u bytes", (unsigned)CRYPTO_DATA_MAX);
		return;
	case ERR_USAGE:
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "in FIPS mode fount makes the IV of a GCM Encrypt (SP 800-38D §8.2): ask for Random IV and "
			  "send no IV/Counter/Nonce");
		return;
	case ERR_UNSUPPORTED:
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED, "%s", err_str(r));
		return;
	default:
		kmip_fail(res, KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE, "the cryptographic operation failed: %s",
			  err_str(r));
		return;
	}
}

/* run does one Encrypt (|encrypt|) or Decrypt. */
static void run(bool encrypt, struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		struct kmip_result *res)
{
	if (p == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE, "the Request Payload is missing");
		return;
	}
	char id[STORE_ID_MAX + 1];
	struct params pr;
	const struct ttlv_item *data, *ivn, *aad, *tag;
	if (streaming(p, res) || !kmip_uid_of(rq, p, id, res) || !field(p, KMIP_TAG_DATA, TTLV_BYTES, &data, res) ||
	    !field(p, KMIP_TAG_IV_COUNTER_NONCE, TTLV_BYTES, &ivn, res) ||
	    !field(p, KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA, TTLV_BYTES, &aad, res) ||
	    !field(p, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG, TTLV_BYTES, &tag, res) ||
	    !settle(rq, p, id, &pr, res))
		return;
	if (data == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE, "%s needs Data", encrypt ? "Encrypt" : "Decrypt");
		return;
	}
	if (data->len > CRYPTO_DATA_MAX) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Data of %u bytes exceeds the %u fount takes at once",
			  (unsigned)data->len, (unsigned)CRYPTO_DATA_MAX);
		return;
	}
	bool gcm = pr.mode == KMIP_BLOCK_CIPHER_MODE_GCM;
	if (gcm && rq->version.minor < 4) {
		/* the Authenticated Encryption Tag is a KMIP 1.4 field: before
		 * it there is no way to return or check a GCM tag */
		kmip_fail(res, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED, "GCM needs KMIP 1.4 (Authenticated Encryption Tag)");
		return;
	}
	if (!gcm && (aad != NULL || tag != NULL)) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "CBC takes no additional data and no tag");
		return;
	}
	/* §3.6: IV Length is in bits; CBC's is the block, 128 */
	if (pr.iv_bits != -1 && (pr.iv_bits <= 0 || pr.iv_bits % 8 != 0 || pr.iv_bits / 8 > OPS_IV_MAX ||
				 (!gcm && pr.iv_bits != 128) ||
				 (ivn != NULL && (uint32_t)pr.iv_bits / 8 != ivn->len) ||
				 (ivn == NULL && gcm && pr.iv_bits != 96))) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "IV Length %d bits does not fit (CBC: 128; GCM: the IV given, or 96 when fount draws it)",
			  (int)pr.iv_bits);
		return;
	}
	if (ivn != NULL && (ivn->len == 0 || ivn->len > OPS_IV_MAX || (!gcm && ivn->len != 16))) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "IV/Counter/Nonce of %u bytes (CBC: 16; GCM: 1 to %d)",
			  (unsigned)ivn->len, OPS_IV_MAX);
		return;
	}
	struct ops_cipher c = {
		.mode = gcm ? OPS_AES_GCM : OPS_AES_CBC,
		.pad = pr.padding == KMIP_PADDING_METHOD_PKCS5,
		.in = data->val,
		.in_len = data->len,
		.aad = aad != NULL ? aad->val : NULL,
		.aad_len = aad != NULL ? aad->len : 0,
	};
	if (encrypt && ivn != NULL && pr.asked && pr.random_iv) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "Random IV asks fount to draw the IV: send no IV/Counter/Nonce with it");
		return;
	}
	if (ivn != NULL) {
		memcpy(c.iv, ivn->val, ivn->len);
		c.iv_len = ivn->len;
	} else if (!encrypt || !pr.random_iv) {
		/* OASIS CS-BC-M-11/12/13-14: "missing-iv" is Invalid Message */
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE,
			  encrypt ? "no IV/Counter/Nonce, and Random IV is not set" : "Decrypt needs the IV/Counter/Nonce");
		return;
	}
	if (gcm) {
		size_t want = pr.tag_len != -1 ? (size_t)pr.tag_len : tag != NULL ? tag->len : 16;
		/* SP 800-38D §5.2.1.2: 128, 120, 112, 104 or 96 bits; OASIS
		 * CS-BC-M-GCM-1-14 answers other lengths General Failure */
		if (pr.tag_len != -1 && (pr.tag_len < 12 || pr.tag_len > 16)) {
			kmip_fail(res, KMIP_RESULT_REASON_GENERAL_FAILURE, "Tag Length %d is not 12 to 16 bytes",
				  (int)pr.tag_len);
			return;
		}
		if (!encrypt && tag == NULL) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE, "GCM Decrypt needs the Authenticated Encryption Tag");
			return;
		}
		if (!encrypt && (tag->len != want || tag->len < 12 || tag->len > OPS_TAG_MAX)) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
				  "an Authenticated Encryption Tag of %u bytes (Tag Length %d; 12 to 16)", (unsigned)tag->len,
				  (int)pr.tag_len);
			return;
		}
		if (!encrypt)
			memcpy(c.tag, tag->val, tag->len);
		c.tag_len = want;
	}
	size_t out_max = ops_cipher_out_max(&c);
	if (out_max > rq->max_response || rq->max_response - out_max < CRYPTO_RESPONSE_OVERHEAD) {
		kmip_fail(res, KMIP_RESULT_REASON_RESPONSE_TOO_LARGE,
			  "the answer to %u bytes of Data exceeds the Maximum Response Size of %zu bytes",
			  (unsigned)data->len, rq->max_response);
		return;
	}
	/* secure memory: Decrypt writes plaintext here */
	err_t r = ERR_OK;
	c.out_cap = out_max > 0 ? out_max : 1;
	c.out = secmem_alloc(c.out_cap, &r);
	if (c.out == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_GENERAL_FAILURE, "%s", err_str(r));
		return;
	}
	r = encrypt ? ops_encrypt(rq->peer, id, "kmip encrypt", &c) : ops_decrypt(rq->peer, id, "kmip decrypt", &c);
	if (r != ERR_OK) {
		fail_crypto(res, r, id, encrypt);
		goto out;
	}
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	ttlv_enc_bytes(out, KMIP_TAG_DATA, c.out, c.out_len);
	/* §4.29: the IV is returned when the server generated it */
	if (encrypt && c.iv_drawn)
		ttlv_enc_bytes(out, KMIP_TAG_IV_COUNTER_NONCE, c.iv, c.iv_len);
	if (encrypt && gcm)
		ttlv_enc_bytes(out, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG, c.tag, c.tag_len);
	ttlv_enc_end(out);
	snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", id);
out:
	secmem_free(c.out, c.out_cap);
	secure_zero(&c, sizeof c);
}

void kmip_op_encrypt(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		     struct kmip_result *res)
{
	run(true, rq, p, out, res);
}

void kmip_op_decrypt(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		     struct kmip_result *res)
{
	run(false, rq, p, out, res);
}
