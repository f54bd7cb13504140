/* tests/test_kmip_keypair.c — Create Key Pair, Re-key and Re-key Key Pair
 * through kmip_process on a real store (KMIP 1.4 §4.2, §4.4, §4.5), and
 * the key-pair pool (keygen/pool.c): the OASIS AKLC-M-1/2/3 and AKLC-O-1
 * request shapes, every algorithm and size fount makes (RSA-4096 once: it
 * is slow), the Links of §3.35, per-part attributes, the stored material
 * (PKCS#8 and SubjectPublicKeyInfo DER that decode and belong together),
 * refusals, tenants, replacement keys' Links, Names and dates, and the
 * pool: distinct keys handed out once, refilled, an empty pool still
 * answering, wiped at stop and under a shut gate. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "api/ops.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "tests/helpers.h"
#include "tests/kmip_inproc.h"

/* KMIP 1.4 §9.1.3.3.1 Cryptographic Usage Mask bits */
#define KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN 0x1
#define KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY 0x2

static int suite_init(void)
{
	return kt_init(&(struct kt_suite){.tag = "kmipkp", .check_messages = true});
}

static int suite_clean(void)
{
	keygen_pool_stop();
	return kt_clean();
}

/* ---- requests ------------------------------------------------------------------ */
static void attr_curve(struct kt_req *q, uint32_t curve)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, "Cryptographic Domain Parameters");
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_enum(&q->e, KMIP_TAG_RECOMMENDED_CURVE, curve);
	ttlv_enc_end(&q->e);
	ttlv_enc_end(&q->e);
}

/* ckp_item: the OASIS AKLC-M-1-14 Create Key Pair shape: algorithm and
 * length (or curve) in the Common Template-Attribute, a Name and the usage
 * mask (Sign / Verify) in each part's own. length 0: none; curve 0: none. */
static void ckp_item(struct kt_req *q, uint32_t alg, int32_t length, uint32_t curve, const char *name)
{
	char n[96];
	kt_item(q, KMIP_OPERATION_CREATE_KEY_PAIR);
	ttlv_enc_begin(&q->e, KMIP_TAG_COMMON_TEMPLATE_ATTRIBUTE);
	kt_attr_enum(q, "Cryptographic Algorithm", alg);
	if (length != 0)
		kt_attr_int(q, "Cryptographic Length", length);
	if (curve != 0)
		attr_curve(q, curve);
	ttlv_enc_end(&q->e);
	ttlv_enc_begin(&q->e, KMIP_TAG_PRIVATE_KEY_TEMPLATE_ATTRIBUTE);
	if (name != NULL) {
		snprintf(n, sizeof n, "%s-private", name);
		kt_attr_name(q, n);
	}
	kt_attr_int(q, "Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN);
	ttlv_enc_end(&q->e);
	ttlv_enc_begin(&q->e, KMIP_TAG_PUBLIC_KEY_TEMPLATE_ATTRIBUTE);
	if (name != NULL) {
		snprintf(n, sizeof n, "%s-public", name);
		kt_attr_name(q, n);
	}
	kt_attr_int(q, "Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY);
	ttlv_enc_end(&q->e);
	kt_item_end(q);
}

/* ---- responses ------------------------------------------------------------------ */
static bool copy_text(const struct ttlv_item *t, char out[STORE_ID_MAX + 1])
{
	if (t == NULL || t->type != TTLV_TEXT || t->len == 0 || t->len > STORE_ID_MAX)
		return false;
	memcpy(out, t->val, t->len);
	out[t->len] = '\0';
	return true;
}

/* pair_ids reads §4.2's answer: Private Key UID first, then Public Key UID */
static bool pair_ids(const struct ttlv_item *it, char priv[STORE_ID_MAX + 1], char pub[STORE_ID_MAX + 1])
{
	const struct ttlv_item *p = kt_payload(it);
	if (kt_status(it) != KMIP_RESULT_STATUS_SUCCESS || p == NULL || p->child == NULL || p->child->next == NULL)
		return false;
	return p->child->tag == KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER &&
	       p->child->next->tag == KMIP_TAG_PUBLIC_KEY_UNIQUE_IDENTIFIER && copy_text(p->child, priv) &&
	       copy_text(p->child->next, pub) && strcmp(priv, pub) != 0;
}

/* create_pair runs one Create Key Pair for |p|; false unless it succeeded */
static bool create_pair(const struct kmip_peer *p, uint32_t alg, int32_t length, uint32_t curve, const char *name,
			char priv[STORE_ID_MAX + 1], char pub[STORE_ID_MAX + 1])
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	ckp_item(&q, alg, length, curve, name);
	kt_run(&q, p, &r);
	bool ok = pair_ids(kt_nth(&r, 0), priv, pub);
	if (!ok)
		fprintf(stderr, "\n  create key pair: status %u reason %u\n", kt_status(kt_nth(&r, 0)), kt_reason(kt_nth(&r, 0)));
	kt_resp_free(&r);
	return ok;
}

static uint32_t revoke(const struct kmip_peer *p, const char *uid)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_revoke_item(&q, uid, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION);
	kt_run(&q, p, &r);
	uint32_t s = kt_status(kt_nth(&r, 0));
	kt_resp_free(&r);
	return s;
}

/* get: the object as the store keeps it (alice's unless |p| says) */
static bool get(const char *id, struct store_object *o)
{
	return store_get(kt_store, id, "alice", 0, o) == ERR_OK;
}

static bool link_to(const struct store_object *o, uint32_t type, const char *want)
{
	char got[STORE_ID_MAX + 1];
	return ops_link_target(o, type, got) && strcmp(got, want) == 0;
}

static size_t count_attr(const struct store_object *o, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < o->n_attrs; i++)
		n += strcmp(o->attrs[i].name, name) == 0;
	return n;
}

/* rng_is_servers: |o| has one Random Number Generator attribute, and it
 * is the server's (CTR_DRBG AES-256, kmip_rng_matches) */
static bool rng_is_servers(const struct store_object *o)
{
	const struct store_attr *a = NULL;
	for (size_t i = 0; i < o->n_attrs; i++)
		if (strcmp(o->attrs[i].name, "Random Number Generator") == 0) {
			if (a != NULL)
				return false;
			a = &o->attrs[i];
		}
	struct ttlv_doc d = {0};
	if (a == NULL || a->value_len == 0 || ttlv_decode(&d, a->value, a->value_len) != ERR_OK) {
		ttlv_doc_free(&d);
		return false;
	}
	bool ok = kmip_rng_matches(ttlv_root(&d));
	ttlv_doc_free(&d);
	return ok;
}

/* name_of: the first Name's Name Value (the store's search text) */
static const char *name_of(const struct store_object *o)
{
	for (size_t i = 0; i < o->n_attrs; i++)
		if (strcmp(o->attrs[i].name, "Name") == 0)
			return o->attrs[i].search;
	return NULL;
}

/* check_material opens both stored parts, decodes each in the Key Format
 * Type it is stored in (ops.h: PKCS#1 for RSA, PKCS#8 / SPKI for EC) and
 * checks that the public key is the private key's: the private key's own
 * public part, encoded in the public key's stored form, equals the stored
 * public key byte for byte. Returns the type of the pair, or NULL. */
static const struct keygen_type *check_material(const char *tenant, const char *priv, const char *pub)
{
	uint8_t *pv = NULL, *pb = NULL, *again = NULL;
	size_t pv_len = 0, pb_len = 0, again_len = 0;
	struct evp_pkey_st *kv = NULL, *kb = NULL;
	const struct keygen_type *t = NULL;
	struct store_object ov, ob;
	memset(&ov, 0, sizeof ov);
	memset(&ob, 0, sizeof ob);
	if (store_get(kt_store, priv, tenant, 0, &ov) != ERR_OK || store_get(kt_store, pub, tenant, 0, &ob) != ERR_OK ||
	    store_get_material(kt_store, priv, tenant, 0, &pv, &pv_len) != ERR_OK ||
	    store_get_material(kt_store, pub, tenant, 0, &pb, &pb_len) != ERR_OK)
		goto out;
	/* DER, not PEM */
	if (pv_len < 2 || pv[0] != 0x30 || pb_len < 2 || pb[0] != 0x30)
		goto out;
	if (ops_pkey_open(STORE_OBJ_PRIVATE_KEY, ov.key_format, pv, pv_len, &kv) != ERR_OK ||
	    ops_pkey_open(STORE_OBJ_PUBLIC_KEY, ob.key_format, pb, pb_len, &kb) != ERR_OK)
		goto out;
	enum keygen_der pub_form = ob.key_format == STORE_FMT_PKCS1 ? KEYGEN_DER_RSA_PUBLIC : KEYGEN_DER_SPKI;
	if (keygen_pkey_to_der(kv, pub_form, &again, &again_len) != ERR_OK || again_len != pb_len ||
	    memcmp(again, pb, pb_len) != 0)
		goto out;
	if (keygen_pkey_type(kv) == keygen_pkey_type(kb))
		t = keygen_pkey_type(kv);
out:
	store_object_free(&ov);
	store_object_free(&ob);
	secmem_free(pv, pv_len);
	secmem_free(pb, pb_len);
	secmem_free(again, again_len);
	EVP_PKEY_free(kv);
	EVP_PKEY_free(kb);
	return t;
}

/* stored_digest_is: |digest| (a Digest attribute value) is SHA-256 (KMIP
 * 1.4 §3.17) over |id|'s stored material and names Key Format Type |kft| */
static bool stored_digest_is(const char *id, const struct ttlv_item *digest, uint32_t kft)
{
	uint8_t *m = NULL, h[32];
	size_t m_len = 0;
	if (digest == NULL || store_get_material(kt_store, id, "alice", 0, &m, &m_len) != ERR_OK)
		return false;
	bool ok = keygen_sha256(m, m_len, h) == ERR_OK;
	secmem_free(m, m_len);
	const struct ttlv_item *ha = ttlv_find(digest, KMIP_TAG_HASHING_ALGORITHM);
	const struct ttlv_item *dv = ttlv_find(digest, KMIP_TAG_DIGEST_VALUE);
	const struct ttlv_item *kf = ttlv_find(digest, KMIP_TAG_KEY_FORMAT_TYPE);
	return ok && ha != NULL && ha->u == KMIP_HASHING_ALGORITHM_SHA_256 && dv != NULL && dv->len == sizeof h &&
	       memcmp(dv->val, h, sizeof h) == 0 && kf != NULL && kf->u == kft;
}

/* attr_value: the value of attribute |name| in a Get Attributes payload */
static const struct ttlv_item *attr_value(const struct ttlv_item *p, const char *name)
{
	for (const struct ttlv_item *a = ttlv_find(p, KMIP_TAG_ATTRIBUTE); a != NULL; a = ttlv_find_next(a)) {
		const struct ttlv_item *n = ttlv_find(a, KMIP_TAG_ATTRIBUTE_NAME);
		if (n != NULL && n->len == strlen(name) && memcmp(n->val, name, n->len) == 0)
			return ttlv_find(a, KMIP_TAG_ATTRIBUTE_VALUE);
	}
	return NULL;
}

/* ---- Create Key Pair ------------------------------------------------------------ */

/* AKLC-M-1-14: RSA-2048 with Names and per-part masks; the response is
 * the two identifiers in §4.2's order; Get Attributes of each part answers
 * as the case expects (Pre-Active, the part's own mask, Object Type,
 * RSA 2048, a Digest); each part links to the other (§3.35); the stored
 * material decodes and belongs together; both destroy (Pre-Active). */
static void test_aklc_m1_rsa2048(void)
{
	char priv[STORE_ID_MAX + 1], pub[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(create_pair(&kt_alice, KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, 2048, 0, "AKLC-M-1-14", priv, pub));

	static const char *const names[] = {"State", "Cryptographic Usage Mask", "Unique Identifier", "Object Type",
					    "Cryptographic Algorithm", "Cryptographic Length", "Digest", "Initial Date",
					    "Last Change Date", "Activation Date", "Original Creation Date",
					    "Random Number Generator"};
	for (int part = 0; part < 2; part++) {
		struct kt_req q;
		struct kt_resp r;
		kt_begin(&q, 4, 1);
		kt_item(&q, KMIP_OPERATION_GET_ATTRIBUTES);
		ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, part == 0 ? priv : pub);
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, names[i]);
		kt_item_end(&q);
		kt_run(&q, &kt_alice, &r);
		const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
		CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
		const struct ttlv_item *v = attr_value(p, "State");
		CU_ASSERT(v != NULL && v->u == KMIP_STATE_PRE_ACTIVE);
		v = attr_value(p, "Cryptographic Usage Mask");
		CU_ASSERT(v != NULL && ttlv_int(v) == (part == 0 ? KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN
								 : KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY));
		v = attr_value(p, "Object Type");
		CU_ASSERT(v != NULL && v->u == (part == 0 ? KMIP_OBJECT_TYPE_PRIVATE_KEY : KMIP_OBJECT_TYPE_PUBLIC_KEY));
		v = attr_value(p, "Cryptographic Algorithm");
		CU_ASSERT(v != NULL && v->u == KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA);
		v = attr_value(p, "Cryptographic Length");
		CU_ASSERT(v != NULL && ttlv_int(v) == 2048);
		/* AKLC-M-1-14: the Digest of each RSA part names PKCS_1, the
		 * form the part is kept in, and is over those bytes */
		CU_ASSERT(stored_digest_is(part == 0 ? priv : pub, attr_value(p, "Digest"), KMIP_KEY_FORMAT_TYPE_PKCS_1));
		/* KMIP 1.3 §3.44: the server sets the RNG of a key it makes */
		v = attr_value(p, "Random Number Generator");
		CU_ASSERT(v != NULL && kmip_rng_matches(v));
		CU_ASSERT_PTR_NOT_NULL(attr_value(p, "Initial Date"));
		/* Pre-Active: no Activation Date */
		CU_ASSERT_PTR_NULL(attr_value(p, "Activation Date"));
		kt_resp_free(&r);
	}

	struct store_object ov, ob;
	CU_ASSERT_FATAL(get(priv, &ov) && get(pub, &ob));
	CU_ASSERT_EQUAL(ov.key_format, STORE_FMT_PKCS1);
	CU_ASSERT_EQUAL(ob.key_format, STORE_FMT_PKCS1);
	CU_ASSERT(link_to(&ov, KMIP_LINK_TYPE_PUBLIC_KEY_LINK, pub));
	CU_ASSERT(link_to(&ob, KMIP_LINK_TYPE_PRIVATE_KEY_LINK, priv));
	CU_ASSERT_EQUAL(count_attr(&ov, "Link"), 1);
	CU_ASSERT_EQUAL(count_attr(&ob, "Link"), 1);
	/* each part has its own Name only */
	CU_ASSERT(name_of(&ov) != NULL && strcmp(name_of(&ov), "AKLC-M-1-14-private") == 0);
	CU_ASSERT(name_of(&ob) != NULL && strcmp(name_of(&ob), "AKLC-M-1-14-public") == 0);
	CU_ASSERT_EQUAL(count_attr(&ov, "Name"), 1);
	store_object_free(&ov);
	store_object_free(&ob);
	CU_ASSERT_PTR_EQUAL(check_material("alice", priv, pub), keygen_type_find("rsa-2048"));

	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, priv, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, pub, NULL), KMIP_RESULT_STATUS_SUCCESS);
}

/* AKLC-M-2-14 (and AKLC-M-3-14's lifecycle): Activate the private key;
 * Destroy of the Active private key is Permission Denied; the Pre-Active
 * public key destroys; after Revoke the private key destroys. */
static void test_aklc_m2_m3_lifecycle(void)
{
	char priv[STORE_ID_MAX + 1], pub[STORE_ID_MAX + 1];
	uint32_t why = 0;
	CU_ASSERT_FATAL(create_pair(&kt_alice, KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, 2048, 0, "AKLC-M-2-14", priv, pub));
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_ACTIVATE, priv, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, priv, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, pub, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(revoke(&kt_alice, priv), KMIP_RESULT_STATUS_SUCCESS);
	struct store_object o;
	CU_ASSERT_FATAL(get(priv, &o));
	CU_ASSERT_EQUAL(o.state, STORE_STATE_DEACTIVATED);
	store_object_free(&o);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, priv, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_FATAL(get(priv, &o));
	CU_ASSERT_EQUAL(o.state, STORE_STATE_DESTROYED);
	CU_ASSERT_FALSE(o.has_material);
	store_object_free(&o);
}

/* AKLC-O-1-14: after the private key is destroyed the public key still
 * answers Get Attributes and keeps its Link; then it destroys too. The
 * request comes at KMIP 1.3 as AKLC-M-1-13 sends it. */
static void test_aklc_o1_destroy_one_part(void)
{
	char priv[STORE_ID_MAX + 1], pub[STORE_ID_MAX + 1];
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 3, 1);
	ckp_item(&q, KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, 2048, 0, "AKLC-O-1-14");
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_FATAL(pair_ids(kt_nth(&r, 0), priv, pub));
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, priv, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_GET_ATTRIBUTES, pub, NULL), KMIP_RESULT_STATUS_SUCCESS);
	struct store_object o;
	CU_ASSERT_FATAL(get(pub, &o));
	CU_ASSERT_EQUAL(o.state, STORE_STATE_PRE_ACTIVE);
	CU_ASSERT(link_to(&o, KMIP_LINK_TYPE_PRIVATE_KEY_LINK, priv));
	store_object_free(&o);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, pub, NULL), KMIP_RESULT_STATUS_SUCCESS);
}

/* EC: ECDSA with Recommended Curve P-256, EC with Cryptographic Length
 * 384 (no curve), ECDH with P-521; RSA-3072 and RSA-4096 (once). Each
 * stored pair decodes to the type asked for and keeps the algorithm the
 * client named; the lengths are the field or modulus bits. */
static void test_algorithms_and_sizes(void)
{
	static const struct {
		uint32_t alg;
		int32_t length;
		uint32_t curve;
		const char *type;
		uint32_t bits;
	} cases[] = {
		{KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDSA, 0, KMIP_RECOMMENDED_CURVE_P_256, "ec-p256", 256},
		{KMIP_CRYPTOGRAPHIC_ALGORITHM_EC, 384, 0, "ec-p384", 384},
		{KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDH, 521, KMIP_RECOMMENDED_CURVE_P_521, "ec-p521", 521},
		{KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, 3072, 0, "rsa-3072", 3072},
		{KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, 4096, 0, "rsa-4096", 4096},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char priv[STORE_ID_MAX + 1], pub[STORE_ID_MAX + 1];
		CU_ASSERT_FATAL(create_pair(&kt_alice, cases[i].alg, cases[i].length, cases[i].curve, NULL, priv, pub));
		CU_ASSERT_PTR_EQUAL(check_material("alice", priv, pub), keygen_type_find(cases[i].type));
		struct store_object o;
		CU_ASSERT_FATAL(get(priv, &o));
		CU_ASSERT_EQUAL(o.alg, cases[i].alg);
		CU_ASSERT_EQUAL(o.length, cases[i].bits);
		CU_ASSERT_EQUAL(o.type, STORE_OBJ_PRIVATE_KEY);
		/* ops.h: RSA parts are kept as PKCS#1, EC ones as PKCS#8 / SPKI */
		bool rsa = cases[i].alg == KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA;
		CU_ASSERT_EQUAL(o.key_format, rsa ? STORE_FMT_PKCS1 : STORE_FMT_PKCS8);
		store_object_free(&o);
		CU_ASSERT_FATAL(get(pub, &o));
		CU_ASSERT_EQUAL(o.length, cases[i].bits);
		CU_ASSERT_EQUAL(o.key_format, rsa ? STORE_FMT_PKCS1 : STORE_FMT_X509);
		store_object_free(&o);
	}
}

/* Per-part attributes (§4.2): an Object Group and an x- attribute in the
 * Common Template-Attribute reach both parts; an Activation Date in the
 * private key's template only makes that part Active. A mask in the
 * common template is overridden by a part's own. */
static void test_attributes_per_part(void)
{
	struct kt_req q;
	struct kt_resp r;
	int64_t now = (int64_t)time(NULL);
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_CREATE_KEY_PAIR);
	ttlv_enc_begin(&q.e, KMIP_TAG_COMMON_TEMPLATE_ATTRIBUTE);
	kt_attr_enum(&q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_EC);
	attr_curve(&q, KMIP_RECOMMENDED_CURVE_P_256);
	kt_attr_text(&q, "Object Group", "pairs");
	kt_attr_text(&q, "x-purpose", "tls");
	kt_attr_int(&q, "Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY);
	ttlv_enc_end(&q.e);
	ttlv_enc_begin(&q.e, KMIP_TAG_PRIVATE_KEY_TEMPLATE_ATTRIBUTE);
	kt_attr_int(&q, "Cryptographic Usage Mask", KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN);
	kt_attr_date(&q, "Activation Date", now - 5);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	char priv[STORE_ID_MAX + 1], pub[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(pair_ids(kt_nth(&r, 0), priv, pub));
	kt_resp_free(&r);
	struct store_object ov, ob;
	CU_ASSERT_FATAL(get(priv, &ov) && get(pub, &ob));
	CU_ASSERT_EQUAL(ov.state, STORE_STATE_ACTIVE);
	CU_ASSERT_EQUAL(ov.activation_date, now - 5);
	CU_ASSERT_EQUAL(ob.state, STORE_STATE_PRE_ACTIVE);
	CU_ASSERT_EQUAL(ov.usage_mask, KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN);
	CU_ASSERT_EQUAL(ob.usage_mask, KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY);
	CU_ASSERT(count_attr(&ov, "Object Group") == 1 && count_attr(&ob, "Object Group") == 1);
	CU_ASSERT(count_attr(&ov, "x-purpose") == 1 && count_attr(&ob, "x-purpose") == 1);
	store_object_free(&ov);
	store_object_free(&ob);

	/* the algorithm in the private key's template only, the curve in the
	 * public key's only: they hold for the pair */
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_CREATE_KEY_PAIR);
	ttlv_enc_begin(&q.e, KMIP_TAG_PRIVATE_KEY_TEMPLATE_ATTRIBUTE);
	kt_attr_enum(&q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDSA);
	ttlv_enc_end(&q.e);
	ttlv_enc_begin(&q.e, KMIP_TAG_PUBLIC_KEY_TEMPLATE_ATTRIBUTE);
	attr_curve(&q, KMIP_RECOMMENDED_CURVE_P_256);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_FATAL(pair_ids(kt_nth(&r, 0), priv, pub));
	kt_resp_free(&r);
	CU_ASSERT_PTR_EQUAL(check_material("alice", priv, pub), keygen_type_find("ec-p256"));
}

/* Refusals, each with a reason and a message: the byte-exact KMIP 1.0
 * Use Case 8.1 request (RSA-1024: too small), DSA, curve P-192, a curve
 * that disagrees with the length, no algorithm, templates that disagree,
 * a server-managed attribute, no payload. Nothing is stored for any. */
static void test_refusals(void)
{
	/* tests/vectors/kmip/ttlv-hex.txt, create_rsa_1024_key_pair request */
	static const char uc81[] =
		"42007801000001E84200770100000038420069010000002042006A0200000004000000010000000042006B02000000040000"
		"00000000000042000D0200000004000000010000000042000F01000001A042005C05000000040000000200000000420079"
		"010000018842001F0100000070420008010000003042000A070000001743727970746F6772617068696320416C676F7269"
		"74686D0042000B05000000040000000400000000420008010000003042000A070000001443727970746F67726170686963"
		"204C656E6774680000000042000B020000000400000400000000004200650100000080420008010000004042000A070000"
		"00044E616D650000000042000B0100000028420055070000000B507269766174654B65793100000000004200540500000004"
		"0000000100000000420008010000003042000A070000001843727970746F6772617068696320557361676520"
		"4D61736B42000B0200000004000000010000000042006E0100000080420008010000004042000A07000000044E616D6500"
		"00000042000B0100000028420055070000000A5075626C69634B6579310000000000004200540500000004000000010000"
		"0000420008010000003042000A070000001843727970746F6772617068696320557361676520"
		"4D61736B42000B02000000040000000200000000";
	struct store_query sq = {.tenant = "carol"};
	struct store_found f;
	static const struct kmip_peer carol = {.tenant = "carol"};
	size_t len = 0;
	uint8_t *bytes = testlib_hex(uc81, &len);
	CU_ASSERT_EQUAL_FATAL(len, 496);
	struct ttlv_enc raw;
	struct ttlv_doc d;
	EXPECT_OK(kmip_process(bytes, len, &carol, 1 << 20, &raw));
	free(bytes);
	CU_ASSERT_EQUAL_FATAL(ttlv_decode(&d, raw.buf, raw.len), ERR_OK);
	const struct ttlv_item *bi = ttlv_find(ttlv_root(&d), KMIP_TAG_BATCH_ITEM);
	CU_ASSERT_EQUAL(kt_status(bi), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(kt_reason(bi), KMIP_RESULT_REASON_INVALID_FIELD);
	CU_ASSERT(kt_has_message(bi));
	ttlv_doc_free(&d);
	ttlv_enc_free(&raw);

	static const struct {
		uint32_t alg;
		int32_t length;
		uint32_t curve;
	} bad[] = {
		{KMIP_CRYPTOGRAPHIC_ALGORITHM_DSA, 2048, 0},
		{KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDSA, 0, KMIP_RECOMMENDED_CURVE_P_192},
		{KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDSA, 384, KMIP_RECOMMENDED_CURVE_P_256},
		{KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, 2047, 0},
		{KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, 256, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct kt_req q;
		struct kt_resp r;
		kt_begin(&q, 4, 1);
		ckp_item(&q, bad[i].alg, bad[i].length, bad[i].curve, NULL);
		kt_run(&q, &carol, &r);
		CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
		CU_ASSERT(kt_has_message(kt_nth(&r, 0)));
		kt_resp_free(&r);
	}
	/* no algorithm; templates that disagree; a managed attribute */
	for (int k = 0; k < 3; k++) {
		struct kt_req q;
		struct kt_resp r;
		kt_begin(&q, 4, 1);
		kt_item(&q, KMIP_OPERATION_CREATE_KEY_PAIR);
		ttlv_enc_begin(&q.e, KMIP_TAG_PRIVATE_KEY_TEMPLATE_ATTRIBUTE);
		if (k >= 1)
			kt_attr_enum(&q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA);
		if (k == 1)
			kt_attr_int(&q, "Cryptographic Length", 2048);
		if (k == 2)
			kt_attr_text(&q, "Unique Identifier", "mine");
		ttlv_enc_end(&q.e);
		ttlv_enc_begin(&q.e, KMIP_TAG_PUBLIC_KEY_TEMPLATE_ATTRIBUTE);
		if (k >= 1)
			kt_attr_enum(&q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA);
		if (k == 1)
			kt_attr_int(&q, "Cryptographic Length", 3072);
		ttlv_enc_end(&q.e);
		kt_item_end(&q);
		kt_run(&q, &carol, &r);
		CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)),
				k == 2 ? KMIP_RESULT_REASON_PERMISSION_DENIED : KMIP_RESULT_REASON_INVALID_FIELD);
		CU_ASSERT(kt_has_message(kt_nth(&r, 0)));
		kt_resp_free(&r);
	}
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	ttlv_enc_begin(&q.e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(&q.e, KMIP_TAG_OPERATION, KMIP_OPERATION_CREATE_KEY_PAIR);
	ttlv_enc_end(&q.e);
	kt_run(&q, &carol, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT(kt_has_message(kt_nth(&r, 0)));
	kt_resp_free(&r);
	/* nothing was stored for carol */
	EXPECT_OK(store_find(kt_store, &sq, &f));
	CU_ASSERT_EQUAL(f.total, 0);
	store_found_free(&f);
}

/* Never half a pair: the public key's row fails inside the transaction
 * (a single-valued attribute given twice at the same level: the store's
 * duplicate (name, index)) after the private key's row went in; the whole
 * transaction rolls back, the answer is a failure, and dave has no object
 * at all. */
static void test_pair_is_atomic(void)
{
	static const struct kmip_peer dave = {.tenant = "dave"};
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_CREATE_KEY_PAIR);
	ttlv_enc_begin(&q.e, KMIP_TAG_COMMON_TEMPLATE_ATTRIBUTE);
	kt_attr_enum(&q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_EC);
	kt_attr_int(&q, "Cryptographic Length", 256);
	ttlv_enc_end(&q.e);
	ttlv_enc_begin(&q.e, KMIP_TAG_PUBLIC_KEY_TEMPLATE_ATTRIBUTE);
	kt_attr_text(&q, "Contact Information", "a");
	kt_attr_text(&q, "Contact Information", "b");
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &dave, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	CU_ASSERT(kt_has_message(kt_nth(&r, 0)));
	kt_resp_free(&r);
	struct store_query sq = {.tenant = "dave"};
	struct store_found f;
	EXPECT_OK(store_find(kt_store, &sq, &f));
	CU_ASSERT_EQUAL(f.total, 0);
	store_found_free(&f);
	/* the same request without the duplicate stores both */
	char priv[STORE_ID_MAX + 1], pub[STORE_ID_MAX + 1];
	CU_ASSERT(create_pair(&dave, KMIP_CRYPTOGRAPHIC_ALGORITHM_EC, 256, 0, NULL, priv, pub));
	EXPECT_OK(store_find(kt_store, &sq, &f));
	CU_ASSERT_EQUAL(f.total, 2);
	store_found_free(&f);
}

/* Bob sees none of alice's pair: Get Attributes, Activate, Destroy, Re-key
 * Key Pair are Item Not Found, as for an identifier that never was. */
static void test_tenant_isolation(void)
{
	char priv[STORE_ID_MAX + 1], pub[STORE_ID_MAX + 1];
	uint32_t why = 0;
	CU_ASSERT_FATAL(create_pair(&kt_alice, KMIP_CRYPTOGRAPHIC_ALGORITHM_EC, 256, 0, "iso", priv, pub));
	static const uint32_t ops[] = {KMIP_OPERATION_GET_ATTRIBUTES, KMIP_OPERATION_ACTIVATE, KMIP_OPERATION_DESTROY,
				       KMIP_OPERATION_RE_KEY};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		CU_ASSERT_EQUAL(kt_one(&kt_bob, ops[i], pub, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
		CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	}
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_RE_KEY_KEY_PAIR);
	ttlv_enc_cstr(&q.e, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER, priv);
	kt_item_end(&q);
	kt_run(&q, &kt_bob, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	CU_ASSERT(kt_has_message(kt_nth(&r, 0)));
	kt_resp_free(&r);
	/* alice's pair is untouched: no Replacement Link, state as it was */
	struct store_object o;
	CU_ASSERT_FATAL(get(priv, &o));
	CU_ASSERT_EQUAL(count_attr(&o, "Link"), 1);
	CU_ASSERT_EQUAL(o.state, STORE_STATE_PRE_ACTIVE);
	store_object_free(&o);
}

/* ---- Re-key and Re-key Key Pair ---------------------------------------------------- */

/* create_aes makes alice's AES-256 key named |name|, Active since
 * |act|, with a Deactivation-free life and an x- attribute. */
static bool create_aes(const char *name, int64_t act, char uid[STORE_ID_MAX + 1])
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_create_begin(&q, 256);
	kt_attr_int(&q, "Cryptographic Usage Mask", 12);
	kt_attr_name(&q, name);
	kt_attr_text(&q, "x-app", "billing");
	if (act != 0)
		kt_attr_date(&q, "Activation Date", act);
	kt_create_end(&q);
	kt_run(&q, &kt_alice, &r);
	bool ok = kt_status(kt_nth(&r, 0)) == KMIP_RESULT_STATUS_SUCCESS &&
		  copy_text(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER), uid);
	kt_resp_free(&r);
	return ok;
}

/* rekey runs Re-key on |uid| (NULL: the ID Placeholder of an earlier item
 * in the same batch is not available here) with |offset| (< 0: none) */
static uint32_t rekey(const struct kmip_peer *p, const char *uid, int64_t offset, char out[STORE_ID_MAX + 1],
		      uint32_t *why)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_RE_KEY);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	if (offset >= 0)
		ttlv_enc_interval(&q.e, KMIP_TAG_OFFSET, (uint32_t)offset);
	kt_item_end(&q);
	kt_run(&q, p, &r);
	uint32_t s = kt_status(kt_nth(&r, 0));
	if (why != NULL)
		*why = kt_reason(kt_nth(&r, 0));
	if (s == KMIP_RESULT_STATUS_SUCCESS) {
		CU_ASSERT(copy_text(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER), out));
	} else {
		CU_ASSERT(kt_has_message(kt_nth(&r, 0)));
	}
	kt_resp_free(&r);
	return s;
}

/* Re-key (§4.4) with an Offset of 100 s: the replacement has its own
 * material (32 bytes, not the old key's), the old key's algorithm, length,
 * mask and x- attribute, the Name (moved: the old key has none, Locate by
 * Name finds only the new one), Activation Date = its Initial Date + 100
 * (so Pre-Active) and a Replaced Object Link; the old key gets a
 * Replacement Object Link and is otherwise untouched (Active, same
 * material). Without an Offset the Activation Date is copied. */
static void test_rekey_links_names_dates(void)
{
	char old[STORE_ID_MAX + 1], nu[STORE_ID_MAX + 1], nu2[STORE_ID_MAX + 1];
	int64_t act = (int64_t)time(NULL) - 60;
	CU_ASSERT_FATAL(create_aes("rk-name", act, old));
	uint8_t *m0 = NULL, *m1 = NULL, *m2 = NULL;
	size_t l0 = 0, l1 = 0, l2 = 0;
	EXPECT_OK(store_get_material(kt_store, old, "alice", 0, &m0, &l0));

	CU_ASSERT_EQUAL_FATAL(rekey(&kt_alice, old, 100, nu, NULL), KMIP_RESULT_STATUS_SUCCESS);
	struct store_object o, n;
	CU_ASSERT_FATAL(get(old, &o) && get(nu, &n));
	CU_ASSERT_EQUAL(n.type, STORE_OBJ_SYMMETRIC_KEY);
	CU_ASSERT_EQUAL(n.alg, STORE_ALG_AES);
	CU_ASSERT_EQUAL(n.length, 256);
	CU_ASSERT_EQUAL(n.usage_mask, 12);
	CU_ASSERT_EQUAL(n.activation_date, n.initial_date + 100);
	CU_ASSERT_EQUAL(n.state, STORE_STATE_PRE_ACTIVE);
	CU_ASSERT(link_to(&n, KMIP_LINK_TYPE_REPLACED_OBJECT_LINK, old));
	CU_ASSERT(link_to(&o, KMIP_LINK_TYPE_REPLACEMENT_OBJECT_LINK, nu));
	CU_ASSERT(name_of(&n) != NULL && strcmp(name_of(&n), "rk-name") == 0);
	CU_ASSERT_EQUAL(count_attr(&o, "Name"), 0);
	CU_ASSERT_EQUAL(count_attr(&n, "x-app"), 1);
	CU_ASSERT_EQUAL(o.state, STORE_STATE_ACTIVE);
	CU_ASSERT_EQUAL(o.activation_date, act);
	store_object_free(&o);
	store_object_free(&n);
	EXPECT_OK(store_get_material(kt_store, old, "alice", 0, &m1, &l1));
	EXPECT_OK(store_get_material(kt_store, nu, "alice", 0, &m2, &l2));
	CU_ASSERT(l1 == 32 && l0 == 32 && memcmp(m0, m1, 32) == 0);
	CU_ASSERT(l2 == 32 && memcmp(m1, m2, 32) != 0);
	secmem_free(m0, l0);
	secmem_free(m1, l1);
	secmem_free(m2, l2);

	/* Locate by the Name: only the replacement */
	struct store_query sq = {.tenant = "alice", .name = "rk-name"};
	struct store_found f;
	EXPECT_OK(store_find(kt_store, &sq, &f));
	CU_ASSERT(f.n == 1 && strcmp(f.ids[0], nu) == 0);
	store_found_free(&f);

	/* no Offset: the Activation Date is copied (the key starts Active) */
	char a2[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(create_aes("rk-copy", act, a2));
	CU_ASSERT_EQUAL_FATAL(rekey(&kt_alice, a2, -1, nu2, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_FATAL(get(nu2, &n));
	CU_ASSERT_EQUAL(n.activation_date, act);
	CU_ASSERT_EQUAL(n.state, STORE_STATE_ACTIVE);
	store_object_free(&n);

	/* a Template-Attribute sets the replacement's attributes: a Name given
	 * there is the new key's, and the old key keeps its own; a usage mask
	 * there replaces the copied one; an algorithm there is refused */
	char a3[STORE_ID_MAX + 1], nu3[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(create_aes("rk-keep", act, a3));
	struct kt_req q;
	struct kt_resp r;
	for (int k = 0; k < 2; k++) {
		kt_begin(&q, 4, 1);
		kt_item(&q, KMIP_OPERATION_RE_KEY);
		ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, a3);
		ttlv_enc_begin(&q.e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
		kt_attr_name(&q, "rk-renamed");
		kt_attr_int(&q, "Cryptographic Usage Mask", 4);
		if (k == 0)
			kt_attr_enum(&q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256);
		ttlv_enc_end(&q.e);
		kt_item_end(&q);
		kt_run(&q, &kt_alice, &r);
		if (k == 0) {
			CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
			CU_ASSERT(kt_has_message(kt_nth(&r, 0)));
		} else {
			CU_ASSERT(copy_text(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER), nu3));
		}
		kt_resp_free(&r);
	}
	CU_ASSERT_FATAL(get(nu3, &n) && get(a3, &o));
	CU_ASSERT(name_of(&n) != NULL && strcmp(name_of(&n), "rk-renamed") == 0);
	CU_ASSERT_EQUAL(count_attr(&n, "Name"), 1);
	CU_ASSERT(name_of(&o) != NULL && strcmp(name_of(&o), "rk-keep") == 0);
	CU_ASSERT_EQUAL(n.usage_mask, 4);
	CU_ASSERT(link_to(&o, KMIP_LINK_TYPE_REPLACEMENT_OBJECT_LINK, nu3));
	store_object_free(&n);
	store_object_free(&o);

	/* the ID Placeholder: Create then Re-key in one batch, no UID */
	kt_begin(&q, 4, 2);
	kt_create_item(&q, 128, -1, NULL);
	kt_uid_item(&q, KMIP_OPERATION_RE_KEY, NULL);
	kt_run(&q, &kt_alice, &r);
	char c0[STORE_ID_MAX + 1], c1[STORE_ID_MAX + 1];
	CU_ASSERT(kt_status(kt_nth(&r, 1)) == KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT(copy_text(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER), c0) &&
		  copy_text(ttlv_find(kt_payload(kt_nth(&r, 1)), KMIP_TAG_UNIQUE_IDENTIFIER), c1) && strcmp(c0, c1) != 0);
	kt_resp_free(&r);
	CU_ASSERT_FATAL(get(c1, &n));
	CU_ASSERT(link_to(&n, KMIP_LINK_TYPE_REPLACED_OBJECT_LINK, c0));
	CU_ASSERT_EQUAL(n.length, 128);
	store_object_free(&n);
}

/* Re-key refusals: a private key (not symmetric) is Illegal Operation; a
 * destroyed key is Permission Denied; bob's Re-key of alice's key is Item
 * Not Found and changes nothing. */
static void test_rekey_refusals(void)
{
	char priv[STORE_ID_MAX + 1], pub[STORE_ID_MAX + 1], k[STORE_ID_MAX + 1], out[STORE_ID_MAX + 1];
	uint32_t why = 0;
	CU_ASSERT_FATAL(create_pair(&kt_alice, KMIP_CRYPTOGRAPHIC_ALGORITHM_EC, 256, 0, NULL, priv, pub));
	CU_ASSERT_EQUAL(rekey(&kt_alice, priv, -1, out, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ILLEGAL_OPERATION);
	CU_ASSERT_FATAL(create_aes("rk-bob", 0, k));
	CU_ASSERT_EQUAL(rekey(&kt_bob, k, 0, out, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	struct store_object o;
	CU_ASSERT_FATAL(get(k, &o));
	CU_ASSERT_EQUAL(count_attr(&o, "Link"), 0);
	CU_ASSERT_EQUAL(count_attr(&o, "Name"), 1);
	store_object_free(&o);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, k, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(rekey(&kt_alice, k, 0, out, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
}

/* Re-key of a registered key whose Random Number Generator the client
 * gave (HMAC_DRBG SHA-1, as TC-RNG-ATTR-1-14 registers): the replacement
 * is made by the server, so it carries the server's RNG (KMIP 1.3 §3.44),
 * not a copy of the old key's; the old key keeps the client's. */
static void test_rekey_rng_is_servers(void)
{
	struct kt_req q;
	struct kt_resp r;
	uint8_t key[32];
	memset(key, 0x5a, sizeof key);
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_REGISTER);
	ttlv_enc_enum(&q.e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_begin(&q.e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	kt_attr_int(&q, "Cryptographic Usage Mask", 12);
	ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "Random Number Generator");
	ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_enum(&q.e, KMIP_TAG_RNG_ALGORITHM, KMIP_RNG_ALGORITHM_DRBG);
	ttlv_enc_enum(&q.e, KMIP_TAG_HASHING_ALGORITHM, KMIP_HASHING_ALGORITHM_SHA_1);
	ttlv_enc_enum(&q.e, KMIP_TAG_DRBG_ALGORITHM, KMIP_DRBG_ALGORITHM_HMAC);
	ttlv_enc_end(&q.e);
	ttlv_enc_end(&q.e);
	ttlv_enc_end(&q.e);
	ttlv_enc_begin(&q.e, KMIP_TAG_SYMMETRIC_KEY);
	ttlv_enc_begin(&q.e, KMIP_TAG_KEY_BLOCK);
	ttlv_enc_enum(&q.e, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_RAW);
	ttlv_enc_begin(&q.e, KMIP_TAG_KEY_VALUE);
	ttlv_enc_bytes(&q.e, KMIP_TAG_KEY_MATERIAL, key, sizeof key);
	ttlv_enc_end(&q.e);
	ttlv_enc_enum(&q.e, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	ttlv_enc_int(&q.e, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, 256);
	ttlv_enc_end(&q.e);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	char old[STORE_ID_MAX + 1] = "", nu[STORE_ID_MAX + 1] = "";
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_FATAL(copy_text(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER), old));
	kt_resp_free(&r);
	CU_ASSERT_EQUAL_FATAL(rekey(&kt_alice, old, -1, nu, NULL), KMIP_RESULT_STATUS_SUCCESS);
	struct store_object o, n;
	CU_ASSERT_FATAL(get(old, &o) && get(nu, &n));
	CU_ASSERT_FALSE(rng_is_servers(&o)); /* the client's, kept as registered */
	CU_ASSERT_EQUAL(count_attr(&o, "Random Number Generator"), 1);
	CU_ASSERT(rng_is_servers(&n));
	store_object_free(&o);
	store_object_free(&n);
}

/* Re-key Key Pair (§4.5) with an Offset of 0: both replacements link to
 * each other and to what they replace, the old parts get Replacement
 * Links and lose their Names, the new material decodes and belongs
 * together, the old material is unchanged, Activation Date = Initial
 * Date (Offset 0). A public key's identifier is Illegal Operation. */
static void test_rekey_key_pair(void)
{
	char priv[STORE_ID_MAX + 1], pub[STORE_ID_MAX + 1], np[STORE_ID_MAX + 1], nb[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(create_pair(&kt_alice, KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDSA, 0, KMIP_RECOMMENDED_CURVE_P_384, "rkp",
				    priv, pub));
	uint8_t *m0 = NULL, *m1 = NULL;
	size_t l0 = 0, l1 = 0;
	EXPECT_OK(store_get_material(kt_store, priv, "alice", 0, &m0, &l0));

	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_RE_KEY_KEY_PAIR);
	ttlv_enc_cstr(&q.e, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER, priv);
	ttlv_enc_interval(&q.e, KMIP_TAG_OFFSET, 0);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_FATAL(pair_ids(kt_nth(&r, 0), np, nb));
	kt_resp_free(&r);

	struct store_object ov, ob, nv, nbo;
	CU_ASSERT_FATAL(get(priv, &ov) && get(pub, &ob) && get(np, &nv) && get(nb, &nbo));
	CU_ASSERT(link_to(&nv, KMIP_LINK_TYPE_PUBLIC_KEY_LINK, nb));
	CU_ASSERT(link_to(&nbo, KMIP_LINK_TYPE_PRIVATE_KEY_LINK, np));
	CU_ASSERT(link_to(&nv, KMIP_LINK_TYPE_REPLACED_OBJECT_LINK, priv));
	CU_ASSERT(link_to(&nbo, KMIP_LINK_TYPE_REPLACED_OBJECT_LINK, pub));
	CU_ASSERT(link_to(&ov, KMIP_LINK_TYPE_REPLACEMENT_OBJECT_LINK, np));
	CU_ASSERT(link_to(&ob, KMIP_LINK_TYPE_REPLACEMENT_OBJECT_LINK, nb));
	/* the old parts keep their own pairing Link */
	CU_ASSERT(link_to(&ov, KMIP_LINK_TYPE_PUBLIC_KEY_LINK, pub));
	CU_ASSERT_EQUAL(count_attr(&nv, "Link"), 2);
	CU_ASSERT(name_of(&nv) != NULL && strcmp(name_of(&nv), "rkp-private") == 0);
	CU_ASSERT(name_of(&nbo) != NULL && strcmp(name_of(&nbo), "rkp-public") == 0);
	CU_ASSERT(count_attr(&ov, "Name") == 0 && count_attr(&ob, "Name") == 0);
	CU_ASSERT_EQUAL(nv.activation_date, nv.initial_date);
	CU_ASSERT_EQUAL(nv.usage_mask, KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN);
	CU_ASSERT_EQUAL(nbo.usage_mask, KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY);
	CU_ASSERT_EQUAL(nv.alg, KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDSA);
	/* KMIP 1.3 §3.44: the server sets the RNG of each part it makes */
	CU_ASSERT(rng_is_servers(&ov) && rng_is_servers(&ob));
	CU_ASSERT(rng_is_servers(&nv) && rng_is_servers(&nbo));
	store_object_free(&ov);
	store_object_free(&ob);
	store_object_free(&nv);
	store_object_free(&nbo);
	CU_ASSERT_PTR_EQUAL(check_material("alice", np, nb), keygen_type_find("ec-p384"));
	EXPECT_OK(store_get_material(kt_store, priv, "alice", 0, &m1, &l1));
	CU_ASSERT(l0 == l1 && memcmp(m0, m1, l0) == 0);
	secmem_free(m0, l0);
	secmem_free(m1, l1);

	/* a public key is not what Re-key Key Pair takes */
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_RE_KEY_KEY_PAIR);
	ttlv_enc_cstr(&q.e, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER, nb);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_ILLEGAL_OPERATION);
	CU_ASSERT(kt_has_message(kt_nth(&r, 0)));
	kt_resp_free(&r);
}

/* Query Operations lists what the table holds: Create Key Pair and Re-key
 * from KMIP 1.0, Re-key Key Pair from 1.1 (§4.5 is new in 1.1). */
static void test_query_operations(void)
{
	for (int minor = 0; minor <= 4; minor += 4) {
		struct kt_req q;
		struct kt_resp r;
		kt_begin(&q, minor, 1);
		kt_item(&q, KMIP_OPERATION_QUERY);
		ttlv_enc_enum(&q.e, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_OPERATIONS);
		kt_item_end(&q);
		kt_run(&q, &kt_alice, &r);
		bool ckp = false, rk = false, rkp = false;
		for (const struct ttlv_item *o = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_OPERATION); o != NULL;
		     o = ttlv_find_next(o)) {
			ckp = ckp || o->u == KMIP_OPERATION_CREATE_KEY_PAIR;
			rk = rk || o->u == KMIP_OPERATION_RE_KEY;
			rkp = rkp || o->u == KMIP_OPERATION_RE_KEY_KEY_PAIR;
		}
		CU_ASSERT(ckp && rk);
		CU_ASSERT_EQUAL(rkp, minor >= 1);
		kt_resp_free(&r);
	}
}

/* ---- the pool ------------------------------------------------------------------------ */

static const char *query_pool_text(char *buf, size_t len)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_QUERY);
	ttlv_enc_enum(&q.e, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_SERVER_INFORMATION);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	const struct ttlv_item *si = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_SERVER_INFORMATION);
	const struct ttlv_item *t = ttlv_find(si, 0x540002u);
	buf[0] = '\0';
	if (t != NULL && t->type == TTLV_TEXT && t->len < len) {
		memcpy(buf, t->val, t->len);
		buf[t->len] = '\0';
	}
	kt_resp_free(&r);
	return buf;
}

/* The pool (ec-p256:3): it fills; Query Server Information reports it;
 * three Create Key Pairs take three distinct pooled pairs; an exhausted
 * pool (refilling paused) still answers, inline; it refills; stop wipes
 * its secure memory. */
static void test_pool_takes_refills_stops(void)
{
	struct keygen_pool_spec spec[KEYGEN_POOL_MAX_TYPES];
	size_t n = 0;
	char why[256], text[128];
	EXPECT_OK(keygen_pool_parse("ec-p256:3", spec, &n, why, sizeof why));
	CU_ASSERT_EQUAL_FATAL(n, 1);
	EXPECT_OK(keygen_pool_start(spec, n));
	CU_ASSERT_FATAL(keygen_pool_wait_ready_for_test(30000));
	CU_ASSERT_STRING_EQUAL(query_pool_text(text, sizeof text), "ec-p256 3/3");
	CU_ASSERT(keygen_pool_secmem_for_test() > 0);

	keygen_pool_pause_for_test(true);
	char priv[4][STORE_ID_MAX + 1], pub[4][STORE_ID_MAX + 1];
	uint8_t *m[4] = {NULL};
	size_t ml[4] = {0};
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_FATAL(create_pair(&kt_alice, KMIP_CRYPTOGRAPHIC_ALGORITHM_EC, 0, KMIP_RECOMMENDED_CURVE_P_256,
					    NULL, priv[i], pub[i]));
		CU_ASSERT_PTR_EQUAL(check_material("alice", priv[i], pub[i]), keygen_type_find("ec-p256"));
		EXPECT_OK(store_get_material(kt_store, priv[i], "alice", 0, &m[i], &ml[i]));
	}
	struct keygen_pool_stat s;
	CU_ASSERT_EQUAL(keygen_pool_stats(&s, 1), 1);
	/* three came from the pool, the fourth was made inline */
	CU_ASSERT_EQUAL(s.taken, 3);
	CU_ASSERT_EQUAL(s.ready, 0);
	CU_ASSERT_EQUAL(keygen_pool_secmem_for_test(), 0);
	CU_ASSERT_STRING_EQUAL(query_pool_text(text, sizeof text), "ec-p256 0/3");
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < i; j++)
			CU_ASSERT(ml[i] != ml[j] || memcmp(m[i], m[j], ml[i]) != 0);
	for (int i = 0; i < 4; i++)
		secmem_free(m[i], ml[i]);
	/* a direct take of an empty pool: nothing (the caller makes one) */
	struct keygen_pair p;
	CU_ASSERT_EQUAL(keygen_pool_take(keygen_type_find("ec-p256"), &p), ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(keygen_pool_take(keygen_type_find("rsa-2048"), &p), ERR_UNSUPPORTED);

	keygen_pool_pause_for_test(false);
	CU_ASSERT(keygen_pool_wait_ready_for_test(30000));
	CU_ASSERT_EQUAL(keygen_pool_stats(&s, 1), 1);
	CU_ASSERT_EQUAL(s.ready, 3);
	CU_ASSERT(s.made >= 6);
	/* a take hands the pair out once: it is no longer in the pool */
	size_t before = keygen_pool_secmem_for_test();
	keygen_pool_pause_for_test(true);
	EXPECT_OK(keygen_pool_take(keygen_type_find("ec-p256"), &p));
	CU_ASSERT(p.pooled && p.priv.len > 0 && p.pub.len > 0);
	CU_ASSERT_EQUAL(keygen_pool_secmem_for_test(), before - p.priv.cap - p.pub.cap);
	keygen_pair_free(&p);
	CU_ASSERT_PTR_NULL(p.priv.p);
	keygen_pool_pause_for_test(false);

	keygen_pool_stop();
	CU_ASSERT_EQUAL(keygen_pool_secmem_for_test(), 0);
	CU_ASSERT_EQUAL(keygen_pool_stats(NULL, 0), 0);
	CU_ASSERT_STRING_EQUAL(query_pool_text(text, sizeof text), "");
	/* no pool: Create Key Pair still works */
	CU_ASSERT(create_pair(&kt_alice, KMIP_CRYPTOGRAPHIC_ALGORITHM_EC, 256, 0, NULL, priv[0], pub[0]));
}

/* The gate: once the module leaves OPERATIONAL, the pool hands nothing out
 * and is wiped at the take (a pair made before must not leave after), and
 * Create Key Pair is a Cryptographic Failure with a message; with the gate
 * open again the pool refills and serves. */
static void test_pool_gate(void)
{
	struct keygen_pool_spec spec = {keygen_type_find("ec-p256"), 2};
	EXPECT_OK(keygen_pool_start(&spec, 1));
	CU_ASSERT_FATAL(keygen_pool_wait_ready_for_test(30000));
	keygen_pool_pause_for_test(true);
	CU_ASSERT(keygen_pool_secmem_for_test() > 0);
	kt_gate_open = false;
	struct keygen_pair p;
	CU_ASSERT_EQUAL(keygen_pool_take(spec.type, &p), ERR_NOT_OPERATIONAL);
	CU_ASSERT_PTR_NULL(p.priv.p);
	CU_ASSERT_EQUAL(keygen_pool_secmem_for_test(), 0);
	struct keygen_pool_stat s;
	CU_ASSERT_EQUAL(keygen_pool_stats(&s, 1), 1);
	CU_ASSERT_EQUAL(s.ready, 0);
	CU_ASSERT_EQUAL(s.dropped, 2);
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	ckp_item(&q, KMIP_CRYPTOGRAPHIC_ALGORITHM_EC, 256, 0, NULL);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE);
	CU_ASSERT(kt_has_message(kt_nth(&r, 0)));
	kt_resp_free(&r);
	kt_gate_open = true;
	keygen_pool_pause_for_test(false);
	CU_ASSERT(keygen_pool_wait_ready_for_test(30000));
	EXPECT_OK(keygen_pool_take(spec.type, &p));
	CU_ASSERT(p.pooled);
	keygen_pair_free(&p);
	keygen_pool_stop();
}

/* The configuration's form: types and counts, each type once, with the
 * accepted types named in the reason. */
static void test_pool_parse(void)
{
	struct keygen_pool_spec spec[KEYGEN_POOL_MAX_TYPES];
	size_t n = 9;
	char why[256];
	EXPECT_OK(keygen_pool_parse("", spec, &n, why, sizeof why));
	CU_ASSERT_EQUAL(n, 0);
	EXPECT_OK(keygen_pool_parse(" rsa-3072:4 , ec-p256:64", spec, &n, why, sizeof why));
	CU_ASSERT(n == 2 && spec[0].type == keygen_type_find("rsa-3072") && spec[0].target == 4 &&
		  spec[1].type == keygen_type_find("ec-p256") && spec[1].target == 64);
	EXPECT_ERR(keygen_pool_parse("aes-256:4", spec, &n, why, sizeof why), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "accepted: rsa-2048"));
	static const char *const bad[] = {"rsa-3072", "rsa-3072:0", "rsa-3072:-1", "rsa-3072:1025", "ec-p256:1,ec-p256:2",
					  "rsa-3072:4,", "rsa-3072:4x"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_ERR(keygen_pool_parse(bad[i], spec, &n, why, sizeof why), ERR_CONFIG);
}

/* [kmip] keypair_pool in a file and in the environment: a bad value names
 * the file and line (or the variable) and the accepted types; a good one
 * is kept as written (cli/main.c gives config_load keygen's parser). */
static bool pool_check(const char *value, char *why, size_t whylen)
{
	struct keygen_pool_spec spec[KEYGEN_POOL_MAX_TYPES];
	size_t n = 0;
	return keygen_pool_parse(value, spec, &n, why, whylen) == ERR_OK;
}

static void test_pool_config(void)
{
	const char *path = testlib_file(kt_dir, "pool.conf");
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs("[kmip]\nkeypair_pool = rsa-3072:4,dsa-2048:1\n", fp);
	fclose(fp);
	config_set_pool_check(pool_check);
	struct config c;
	char err[512];
	EXPECT_ERR(config_load(&c, path, true, err, sizeof err), ERR_CONFIG);
	char where[128];
	snprintf(where, sizeof where, "%s:2:", path);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, where));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "dsa-2048"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "accepted: rsa-2048, rsa-3072"));
	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs("[kmip]\nkeypair_pool = rsa-3072:4,ec-p256:64\n", fp);
	fclose(fp);
	EXPECT_OK(config_load(&c, path, true, err, sizeof err));
	CU_ASSERT_STRING_EQUAL(c.kmip_keypair_pool, "rsa-3072:4,ec-p256:64");
	setenv("FOUNT_KMIP_KEYPAIR_POOL", "ec-p256:0", 1);
	EXPECT_ERR(config_load(&c, path, true, err, sizeof err), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "FOUNT_KMIP_KEYPAIR_POOL"));
	unsetenv("FOUNT_KMIP_KEYPAIR_POOL");
	config_set_pool_check(NULL);
	/* the default: no pool */
	config_defaults(&c);
	CU_ASSERT_STRING_EQUAL(c.kmip_keypair_pool, "");
}

/* attr_usage_limits: a Usage Limits structure (a single-valued attribute
 * kept as its encoding) */
static void attr_usage_limits(struct kt_req *q, int64_t total)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, "Usage Limits");
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_long(&q->e, KMIP_TAG_USAGE_LIMITS_TOTAL, total);
	ttlv_enc_enum(&q->e, KMIP_TAG_USAGE_LIMITS_UNIT, KMIP_USAGE_LIMITS_UNIT_OBJECT);
	ttlv_enc_end(&q->e);
	ttlv_enc_end(&q->e);
}

/* A part's own template overriding structure values of the Common one
 * reuses their slots: 40 Usage Limits in each of the Common and the
 * Private Key Template-Attribute once took 80 encoders of a template that
 * has 64 (a heap overwrite found in review). Now one encoder per slot: a
 * protocol-correct refusal (the same single-valued attribute 40 times),
 * and the server goes on. */
static void test_template_slots_reused(void)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_CREATE_KEY_PAIR);
	ttlv_enc_begin(&q.e, KMIP_TAG_COMMON_TEMPLATE_ATTRIBUTE);
	kt_attr_enum(&q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_EC);
	attr_curve(&q, KMIP_RECOMMENDED_CURVE_P_256);
	for (int i = 0; i < 40; i++)
		attr_usage_limits(&q, 1000 + i);
	ttlv_enc_end(&q.e);
	ttlv_enc_begin(&q.e, KMIP_TAG_PRIVATE_KEY_TEMPLATE_ATTRIBUTE);
	for (int i = 0; i < 40; i++)
		attr_usage_limits(&q, 2000 + i);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	const struct ttlv_item *it = kt_nth(&r, 0);
	CU_ASSERT_EQUAL(kt_status(it), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(kt_reason(it), KMIP_RESULT_REASON_INVALID_FIELD);
	CU_ASSERT_PTR_NOT_NULL(ttlv_find(it, KMIP_TAG_RESULT_MESSAGE));
	kt_resp_free(&r);
	/* one override of one value is taken: the private key gets it */
	char priv[STORE_ID_MAX + 1], pub[STORE_ID_MAX + 1];
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_CREATE_KEY_PAIR);
	ttlv_enc_begin(&q.e, KMIP_TAG_COMMON_TEMPLATE_ATTRIBUTE);
	kt_attr_enum(&q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_EC);
	attr_curve(&q, KMIP_RECOMMENDED_CURVE_P_256);
	attr_usage_limits(&q, 1000);
	ttlv_enc_end(&q.e);
	ttlv_enc_begin(&q.e, KMIP_TAG_PRIVATE_KEY_TEMPLATE_ATTRIBUTE);
	attr_usage_limits(&q, 2000);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	it = kt_nth(&r, 0);
	CU_ASSERT_EQUAL_FATAL(kt_status(it), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_FATAL(pair_ids(it, priv, pub));
	kt_resp_free(&r);
	struct store_object o;
	CU_ASSERT_FATAL(get(priv, &o));
	int64_t total = 0;
	for (size_t i = 0; i < o.n_attrs; i++) {
		if (strcmp(o.attrs[i].name, "Usage Limits") != 0)
			continue;
		struct ttlv_doc d;
		if (ttlv_decode(&d, o.attrs[i].value, o.attrs[i].value_len) == ERR_OK) {
			const struct ttlv_item *t = ttlv_find(ttlv_root(&d), KMIP_TAG_USAGE_LIMITS_TOTAL);
			total = t != NULL ? (int64_t)t->u : -1;
			ttlv_doc_free(&d);
		}
	}
	CU_ASSERT_EQUAL(total, 2000);
	store_object_free(&o);
}

TEST_SUITE(kmip_keypair, suite_init, suite_clean, TEST(test_aklc_m1_rsa2048), TEST(test_aklc_m2_m3_lifecycle),
	   TEST(test_aklc_o1_destroy_one_part), TEST(test_algorithms_and_sizes), TEST(test_attributes_per_part),
	   TEST(test_refusals), TEST(test_pair_is_atomic), TEST(test_tenant_isolation), TEST(test_rekey_links_names_dates),
	   TEST(test_rekey_rng_is_servers), TEST(test_rekey_refusals), TEST(test_rekey_key_pair), TEST(test_query_operations),
	   TEST(test_pool_takes_refills_stops), TEST(test_pool_gate), TEST(test_pool_parse), TEST(test_pool_config),
	   TEST(test_template_slots_reused))
