/* tests/test_kmip_register.c — Register of every object type, Get in every
 * format, Get with key wrapping, through kmip_process on a real store:
 * the shapes real clients send (PSMDB's 1.0 Register with MaximumResponseSize
 * and TimeStamp, its older base64 keys; libmongocrypt's 96-byte Seed with
 * mask 0; Percona MySQL's Password with a Name), each object back
 * byte-for-byte, the key-format conversions checked against `openssl`'s own
 * encodings of the same keys, wrapped Gets unwrapped here with
 * keygen_aes_unwrap, and the refusals (bad material, formats that do not
 * fit, wrapping keys that are not the caller's, not Active or lack Wrap Key,
 * duplicate Names, other tenants). */
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

/* key material made by the openssl command line (not by fount) */
struct blob {
	uint8_t *p;
	size_t n;
};
static struct blob rsa_pkcs8, rsa_pkcs1, rsa_spki, rsa_pub_pkcs1, ec_pkcs8, ec_sec1, ec_spki, cert_der;

static bool read_file(const char *path, struct blob *b)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return false;
	b->p = malloc(65536);
	b->n = b->p != NULL ? fread(b->p, 1, 65536, f) : 0;
	fclose(f);
	return b->n > 0;
}

static int make_material(void)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "(cd %s && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem"
		 " && openssl pkcs8 -topk8 -nocrypt -in rsa.pem -outform DER -out rsa8.der"
		 " && openssl pkey -in rsa.pem -traditional -outform DER -out rsa1.der"
		 " && openssl pkey -in rsa.pem -pubout -outform DER -out rsapub.der"
		 " && openssl rsa -in rsa.pem -RSAPublicKey_out -outform DER -out rsapub1.der"
		 " && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem"
		 " && openssl pkcs8 -topk8 -nocrypt -in ec.pem -outform DER -out ec8.der"
		 " && openssl pkey -in ec.pem -traditional -outform DER -out ec1.der"
		 " && openssl pkey -in ec.pem -pubout -outform DER -out ecpub.der"
		 " && openssl req -x509 -new -key rsa.pem -subj /CN=register-test -days 2"
		 " -outform DER -out cert.der) >/dev/null 2>&1",
		 kt_dir);
	if (testlib_sh(cmd) != 0)
		return -1;
	const struct {
		const char *name;
		struct blob *b;
	} files[] = {{"rsa8.der", &rsa_pkcs8}, {"rsa1.der", &rsa_pkcs1}, {"rsapub.der", &rsa_spki},
		     {"rsapub1.der", &rsa_pub_pkcs1}, {"ec8.der", &ec_pkcs8}, {"ec1.der", &ec_sec1},
		     {"ecpub.der", &ec_spki}, {"cert.der", &cert_der}};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (!read_file(testlib_file(kt_dir, files[i].name), files[i].b))
			return -1;
	return 0;
}

static int suite_init(void)
{
	if (kt_init(&(struct kt_suite){.tag = "kmipreg"}) != 0)
		return -1;
	if (make_material() != 0) {
		fprintf(stderr, "kmip_register: openssl could not make the test keys\n");
		return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	struct blob *all[] = {&rsa_pkcs8, &rsa_pkcs1, &rsa_spki, &rsa_pub_pkcs1, &ec_pkcs8, &ec_sec1, &ec_spki, &cert_der};
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		free(all[i]->p);
	return kt_clean();
}

/* ---- requests -------------------------------------------------------------- */
/* Percona Server for MongoDB's request header carries a Maximum Response
 * Size of 8192 and a Time Stamp (kmip-clients §4) */
#define PSMDB_MAX_RESPONSE 8192

/* What a Register item carries. */
struct obj {
	uint32_t type;              /* KMIP Object Type */
	uint32_t format;            /* Key Format Type (keys, secret data) */
	const uint8_t *m;
	size_t n;
	uint32_t alg, length;       /* in the Key Block, 0: absent */
	uint32_t data_type;         /* Secret Data / Opaque Data / Certificate Type */
	int32_t mask;               /* template usage mask, -1: none */
	const char *name;           /* template Name, or NULL */
	const char *group;          /* template Object Group (may be ""), or NULL */
	const char *policy;         /* template Operation Policy Name, or NULL */
	bool storage_mask;          /* a Storage Status Mask attribute, Index 0 */
	bool transparent_sym;       /* Key Material { Key } */
	bool compression;           /* a stray Key Compression Type (old PSMDB) */
	bool template_alg;          /* Algorithm and Length as attributes too */
	uint32_t t_alg, t_length;
};

static void key_block(struct kt_req *q, const struct obj *o)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_KEY_BLOCK);
	ttlv_enc_enum(&q->e, KMIP_TAG_KEY_FORMAT_TYPE, o->format);
	if (o->compression)
		ttlv_enc_enum(&q->e, KMIP_TAG_KEY_COMPRESSION_TYPE,
			      KMIP_KEY_COMPRESSION_TYPE_EC_PUBLIC_KEY_TYPE_UNCOMPRESSED);
	ttlv_enc_begin(&q->e, KMIP_TAG_KEY_VALUE);
	if (o->transparent_sym) {
		ttlv_enc_begin(&q->e, KMIP_TAG_KEY_MATERIAL);
		ttlv_enc_bytes(&q->e, KMIP_TAG_KEY, o->m, o->n);
		ttlv_enc_end(&q->e);
	} else {
		ttlv_enc_bytes(&q->e, KMIP_TAG_KEY_MATERIAL, o->m, o->n);
	}
	ttlv_enc_end(&q->e);
	if (o->alg != 0)
		ttlv_enc_enum(&q->e, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, o->alg);
	if (o->length != 0)
		ttlv_enc_int(&q->e, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, (int32_t)o->length);
	ttlv_enc_end(&q->e);
}

static void register_item(struct kt_req *q, const struct obj *o)
{
	kt_item(q, KMIP_OPERATION_REGISTER);
	ttlv_enc_enum(&q->e, KMIP_TAG_OBJECT_TYPE, o->type);
	ttlv_enc_begin(&q->e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	if (o->mask >= 0)
		kt_attr_int(q, "Cryptographic Usage Mask", o->mask);
	if (o->name != NULL)
		kt_attr_name(q, o->name);
	if (o->group != NULL)
		kt_attr_text(q, "Object Group", o->group);
	if (o->policy != NULL)
		kt_attr_text(q, "Operation Policy Name", o->policy);
	if (o->storage_mask) {
		/* keyring_okv's shape: Attribute Index 0 before the value */
		ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
		ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, "Storage Status Mask");
		ttlv_enc_int(&q->e, KMIP_TAG_ATTRIBUTE_INDEX, 0);
		ttlv_enc_int(&q->e, KMIP_TAG_ATTRIBUTE_VALUE, 1);
		ttlv_enc_end(&q->e);
	}
	if (o->template_alg) {
		kt_attr_enum(q, "Cryptographic Algorithm", o->t_alg);
		kt_attr_int(q, "Cryptographic Length", (int32_t)o->t_length);
	}
	ttlv_enc_end(&q->e);
	switch (o->type) {
	case KMIP_OBJECT_TYPE_SYMMETRIC_KEY:
		ttlv_enc_begin(&q->e, KMIP_TAG_SYMMETRIC_KEY);
		key_block(q, o);
		ttlv_enc_end(&q->e);
		break;
	case KMIP_OBJECT_TYPE_PRIVATE_KEY:
		ttlv_enc_begin(&q->e, KMIP_TAG_PRIVATE_KEY);
		key_block(q, o);
		ttlv_enc_end(&q->e);
		break;
	case KMIP_OBJECT_TYPE_PUBLIC_KEY:
		ttlv_enc_begin(&q->e, KMIP_TAG_PUBLIC_KEY);
		key_block(q, o);
		ttlv_enc_end(&q->e);
		break;
	case KMIP_OBJECT_TYPE_SECRET_DATA:
		ttlv_enc_begin(&q->e, KMIP_TAG_SECRET_DATA);
		ttlv_enc_enum(&q->e, KMIP_TAG_SECRET_DATA_TYPE, o->data_type);
		key_block(q, o);
		ttlv_enc_end(&q->e);
		break;
	case KMIP_OBJECT_TYPE_OPAQUE_OBJECT:
		ttlv_enc_begin(&q->e, KMIP_TAG_OPAQUE_OBJECT);
		ttlv_enc_enum(&q->e, KMIP_TAG_OPAQUE_DATA_TYPE, o->data_type);
		ttlv_enc_bytes(&q->e, KMIP_TAG_OPAQUE_DATA_VALUE, o->m, o->n);
		ttlv_enc_end(&q->e);
		break;
	case KMIP_OBJECT_TYPE_CERTIFICATE:
		ttlv_enc_begin(&q->e, KMIP_TAG_CERTIFICATE);
		ttlv_enc_enum(&q->e, KMIP_TAG_CERTIFICATE_TYPE, o->data_type);
		ttlv_enc_bytes(&q->e, KMIP_TAG_CERTIFICATE_VALUE, o->m, o->n);
		ttlv_enc_end(&q->e);
		break;
	default:
		break;
	}
	kt_item_end(q);
}

/* ---- responses ----------------------------------------------------------- */
/* reg registers |o| for |p| at 1.|minor|; on success copies the UID to
 * |uid| and returns 0, else the Result Reason (and checks that a failure
 * carries a Result Message, which libkmip and mongod need) */
static uint32_t reg_v(const struct kmip_peer *p, const struct obj *o, int minor, bool psmdb, char uid[STORE_ID_MAX + 1])
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin_h(&q, &(struct kt_header){.minor = minor, .count = 1, .max_response = psmdb ? PSMDB_MAX_RESPONSE : 0,
					   .time_stamp = psmdb});
	register_item(&q, o);
	kt_run(&q, p, &r);
	const struct ttlv_item *it = kt_first(&r);
	uint32_t why = 0;
	if (kt_status(it) == KMIP_RESULT_STATUS_SUCCESS) {
		const struct ttlv_item *pl = kt_payload(it);
		/* §4.3: the UID first (PyKMIP reads it first) */
		const struct ttlv_item *u = pl != NULL ? pl->child : NULL;
		CU_ASSERT(u != NULL && u->tag == KMIP_TAG_UNIQUE_IDENTIFIER && u->len <= STORE_ID_MAX);
		if (u != NULL && u->len <= STORE_ID_MAX) {
			memcpy(uid, u->val, u->len);
			uid[u->len] = '\0';
		} else {
			uid[0] = '\0';
			why = 0xFFFFFFFFu;
		}
	} else {
		why = kt_reason(it);
		CU_ASSERT(why != 0 && kt_has_message(it));
		uid[0] = '\0';
	}
	kt_resp_free(&r);
	return why;
}

static uint32_t reg(const struct kmip_peer *p, const struct obj *o, char uid[STORE_ID_MAX + 1])
{
	return reg_v(p, o, 4, false, uid);
}

/* get runs Get of |uid| asking |format| (0: none); the response stays in |r| */
static const struct ttlv_item *get(const struct kmip_peer *p, const char *uid, uint32_t format, int minor,
				   struct kt_resp *r)
{
	struct kt_req q;
	kt_begin(&q, minor, 1);
	kt_item(&q, KMIP_OPERATION_GET);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	if (format != 0)
		ttlv_enc_enum(&q.e, KMIP_TAG_KEY_FORMAT_TYPE, format);
	kt_item_end(&q);
	kt_run(&q, p, r);
	return kt_first(r);
}

/* get_reason: the Result Reason of a Get asking |format| (0: success) */
static uint32_t get_reason(const struct kmip_peer *p, const char *uid, uint32_t format)
{
	struct kt_resp r;
	const struct ttlv_item *it = get(p, uid, format, 4, &r);
	uint32_t why = kt_status(it) == KMIP_RESULT_STATUS_SUCCESS ? 0 : kt_reason(it);
	if (why != 0)
		CU_ASSERT(kt_has_message(it));
	kt_resp_free(&r);
	return why;
}

/* key_block_of: the Key Block of a Get answer for object tag |tag| */
static const struct ttlv_item *key_block_of(const struct ttlv_item *it, uint32_t tag)
{
	return ttlv_find(ttlv_find(kt_payload(it), tag), KMIP_TAG_KEY_BLOCK);
}

static const struct ttlv_item *material_of(const struct ttlv_item *kb)
{
	return ttlv_find(ttlv_find(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL);
}

static bool same(const struct ttlv_item *it, const uint8_t *p, size_t n)
{
	return it != NULL && it->len == n && memcmp(it->val, p, n) == 0;
}

static uint32_t enum_in(const struct ttlv_item *s, uint32_t tag)
{
	const struct ttlv_item *it = ttlv_find(s, tag);
	return it != NULL ? (uint32_t)it->u : 0;
}

static uint32_t state_of(const struct kmip_peer *p, const char *uid)
{
	struct store_object o;
	if (store_get(kt_store, uid, p->tenant, 0, &o) != ERR_OK)
		return 0;
	uint32_t s = o.state;
	store_object_free(&o);
	return s;
}

static uint32_t simple(const struct kmip_peer *p, uint32_t op, const char *uid)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, op);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	kt_item_end(&q);
	kt_run(&q, p, &r);
	uint32_t s = kt_status(kt_first(&r));
	kt_resp_free(&r);
	return s;
}

static const uint8_t key32[32] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
				  0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
				  0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

/* ---- symmetric keys ----------------------------------------------------------- */

/* PSMDB's Register (kmip-clients §4): KMIP 1.0, MaximumResponseSize and
 * TimeStamp in the header, SymmetricKey {AES, 256, mask Encrypt|Decrypt}
 * KeyBlock {Raw, Byte String, Alg, Len}. It starts Pre-Active; Get gives
 * back the bytes, Raw, with Algorithm and Length in the Key Block and no
 * attributes in the Key Value; Activate answers the same UID. */
static void test_psmdb_register(void)
{
	char uid[STORE_ID_MAX + 1];
	struct obj o = {.type = KMIP_OBJECT_TYPE_SYMMETRIC_KEY, .format = KMIP_KEY_FORMAT_TYPE_RAW, .m = key32,
			.n = 32, .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, .length = 256, .mask = 12};
	CU_ASSERT_EQUAL_FATAL(reg_v(&kt_alice, &o, 0, true, uid), 0);
	CU_ASSERT_EQUAL(state_of(&kt_alice, uid), KMIP_STATE_PRE_ACTIVE);

	struct kt_resp r;
	const struct ttlv_item *it = get(&kt_alice, uid, 0, 0, &r);
	CU_ASSERT_EQUAL(kt_status(it), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(enum_in(kt_payload(it), KMIP_TAG_OBJECT_TYPE), KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	const struct ttlv_item *kb = key_block_of(it, KMIP_TAG_SYMMETRIC_KEY);
	CU_ASSERT_EQUAL(enum_in(kb, KMIP_TAG_KEY_FORMAT_TYPE), KMIP_KEY_FORMAT_TYPE_RAW);
	const struct ttlv_item *km = material_of(kb);
	CU_ASSERT(km != NULL && km->type == TTLV_BYTES && same(km, key32, 32));
	CU_ASSERT_PTR_NULL(ttlv_find(ttlv_find(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_ATTRIBUTE));
	CU_ASSERT_PTR_NULL(ttlv_find(kb, KMIP_TAG_KEY_WRAPPING_DATA));
	CU_ASSERT_EQUAL(enum_in(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM), KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)), 256);
	kt_resp_free(&r);

	struct kt_req q;
	kt_begin_h(&q, &(struct kt_header){.minor = 0, .count = 1, .max_response = PSMDB_MAX_RESPONSE, .time_stamp = true});
	kt_item(&q, KMIP_OPERATION_ACTIVATE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	const struct ttlv_item *u = ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_UNIQUE_IDENTIFIER);
	CU_ASSERT(u != NULL && u->len == strlen(uid) && memcmp(u->val, uid, u->len) == 0);
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(state_of(&kt_alice, uid), KMIP_STATE_ACTIVE);

	/* an Activation Date in the past starts it Active (§3.24) */
	struct kt_req q2;
	kt_begin(&q2, 4, 1);
	kt_item(&q2, KMIP_OPERATION_REGISTER);
	ttlv_enc_enum(&q2.e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_begin(&q2.e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	ttlv_enc_begin(&q2.e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q2.e, KMIP_TAG_ATTRIBUTE_NAME, "Activation Date");
	ttlv_enc_datetime(&q2.e, KMIP_TAG_ATTRIBUTE_VALUE, (int64_t)time(NULL) - 60);
	ttlv_enc_end(&q2.e);
	ttlv_enc_end(&q2.e);
	ttlv_enc_begin(&q2.e, KMIP_TAG_SYMMETRIC_KEY);
	key_block(&q2, &o);
	ttlv_enc_end(&q2.e);
	kt_item_end(&q2);
	kt_run(&q2, &kt_alice, &r);
	u = ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_UNIQUE_IDENTIFIER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	char uid2[STORE_ID_MAX + 1];
	memcpy(uid2, u->val, u->len);
	uid2[u->len] = '\0';
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(state_of(&kt_alice, uid2), KMIP_STATE_ACTIVE);
}

/* Transparent Symmetric Key in, Raw out by default and Transparent when
 * asked (§2.1.7.1: Key Material { Key }); algorithm and length given as
 * template attributes only. */
static void test_transparent_symmetric(void)
{
	char uid[STORE_ID_MAX + 1];
	struct obj o = {.type = KMIP_OBJECT_TYPE_SYMMETRIC_KEY,
			.format = KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY, .m = key32, .n = 16, .mask = 12,
			.transparent_sym = true, .template_alg = true, .t_alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES,
			.t_length = 128};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &o, uid), 0);
	struct kt_resp r;
	const struct ttlv_item *kb = key_block_of(get(&kt_alice, uid, 0, 4, &r), KMIP_TAG_SYMMETRIC_KEY);
	CU_ASSERT_EQUAL(enum_in(kb, KMIP_TAG_KEY_FORMAT_TYPE), KMIP_KEY_FORMAT_TYPE_RAW);
	CU_ASSERT(same(material_of(kb), key32, 16));
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)), 128);
	kt_resp_free(&r);
	kb = key_block_of(get(&kt_alice, uid, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY, 4, &r),
			  KMIP_TAG_SYMMETRIC_KEY);
	CU_ASSERT_EQUAL(enum_in(kb, KMIP_TAG_KEY_FORMAT_TYPE), KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY);
	const struct ttlv_item *km = material_of(kb);
	CU_ASSERT(km != NULL && km->type == TTLV_STRUCTURE && same(ttlv_find(km, KMIP_TAG_KEY), key32, 16));
	kt_resp_free(&r);
	/* formats that do not fit a symmetric key, and compression */
	CU_ASSERT_EQUAL(get_reason(&kt_alice, uid, KMIP_KEY_FORMAT_TYPE_PKCS_8), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(get_reason(&kt_alice, uid, KMIP_KEY_FORMAT_TYPE_OPAQUE), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_GET);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_enum(&q.e, KMIP_TAG_KEY_COMPRESSION_TYPE, KMIP_KEY_COMPRESSION_TYPE_EC_PUBLIC_KEY_TYPE_X9_62_HYBRID);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_first(&r)), KMIP_RESULT_REASON_KEY_COMPRESSION_TYPE_NOT_SUPPORTED);
	kt_resp_free(&r);
}

/* Old PSMDB nodes registered base64 text of the key with a stray
 * compression type (PSMDB-1231, percona-server-mongodb PR #1040): fount
 * keeps the text verbatim, so Get gives back what was registered, with the
 * stated length 256. */
static void test_psmdb_base64(void)
{
	static const char b64[] = "ABEiM0RVZneImaq7zN3u/wABAgMEBQYHCAkKCwwNDg8=";
	char uid[STORE_ID_MAX + 1];
	struct obj o = {.type = KMIP_OBJECT_TYPE_SYMMETRIC_KEY, .format = KMIP_KEY_FORMAT_TYPE_RAW,
			.m = (const uint8_t *)b64, .n = strlen(b64), .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES,
			.length = 256, .mask = 12, .compression = true, .name = "psmdb-old"};
	CU_ASSERT_EQUAL_FATAL(reg_v(&kt_alice, &o, 0, true, uid), 0);
	struct kt_resp r;
	const struct ttlv_item *kb = key_block_of(get(&kt_alice, uid, 0, 0, &r), KMIP_TAG_SYMMETRIC_KEY);
	CU_ASSERT(same(material_of(kb), (const uint8_t *)b64, strlen(b64)));
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)), 256);
	kt_resp_free(&r);
}

/* Bad symmetric material is Invalid Field with a message. */
static void test_bad_symmetric(void)
{
	char uid[STORE_ID_MAX + 1];
	struct obj o = {.type = KMIP_OBJECT_TYPE_SYMMETRIC_KEY, .format = KMIP_KEY_FORMAT_TYPE_RAW, .m = key32,
			.n = 20, .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, .mask = 12};
	CU_ASSERT_EQUAL(reg(&kt_alice, &o, uid), KMIP_RESULT_REASON_INVALID_FIELD); /* 20-byte AES */
	o.n = 32;
	o.length = 128;
	CU_ASSERT_EQUAL(reg(&kt_alice, &o, uid), KMIP_RESULT_REASON_INVALID_FIELD); /* length mismatch */
	o.length = 256;
	o.template_alg = true;
	o.t_alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES;
	o.t_length = 192;
	CU_ASSERT_EQUAL(reg(&kt_alice, &o, uid), KMIP_RESULT_REASON_INVALID_FIELD); /* block vs template */
	o.template_alg = false;
	o.alg = 0;
	CU_ASSERT_EQUAL(reg(&kt_alice, &o, uid), KMIP_RESULT_REASON_INVALID_FIELD); /* no algorithm */
	o.alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES;
	o.format = KMIP_KEY_FORMAT_TYPE_PKCS_8;
	CU_ASSERT_EQUAL(reg(&kt_alice, &o, uid), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
	/* a Key Wrapping Data in the Key Block: wrapped registration */
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_REGISTER);
	ttlv_enc_enum(&q.e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_begin(&q.e, KMIP_TAG_SYMMETRIC_KEY);
	ttlv_enc_begin(&q.e, KMIP_TAG_KEY_BLOCK);
	ttlv_enc_enum(&q.e, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_RAW);
	ttlv_enc_bytes(&q.e, KMIP_TAG_KEY_VALUE, key32, 24);
	ttlv_enc_begin(&q.e, KMIP_TAG_KEY_WRAPPING_DATA);
	ttlv_enc_enum(&q.e, KMIP_TAG_WRAPPING_METHOD, KMIP_WRAPPING_METHOD_ENCRYPT);
	ttlv_enc_end(&q.e);
	ttlv_enc_end(&q.e);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_first(&r)), KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED);
	CU_ASSERT(kt_has_message(kt_first(&r)));
	kt_resp_free(&r);
	/* no object in the payload, a Split Key */
	o.format = KMIP_KEY_FORMAT_TYPE_RAW;
	o.type = KMIP_OBJECT_TYPE_SPLIT_KEY;
	CU_ASSERT_EQUAL(reg(&kt_alice, &o, uid), KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED);
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_REGISTER);
	ttlv_enc_enum(&q.e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_first(&r)), KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);
}

/* ---- secret data, opaque objects, certificates ------------------------------------ */

/* libmongocrypt (kmip-clients §3): Register KMIP 1.0 of 96 bytes of Seed,
 * Opaque, Usage Mask 0, then Activate (UID read from its answer), then Get:
 * SecretData › KeyBlock › KeyValue › KeyMaterial, a Byte String. Percona
 * MySQL registers a Password, Raw, with a Name, and finds it by Locate. */
static void test_secret_data(void)
{
	uint8_t seed[96];
	for (size_t i = 0; i < sizeof seed; i++)
		seed[i] = (uint8_t)(i * 7 + 1);
	char uid[STORE_ID_MAX + 1];
	struct obj o = {.type = KMIP_OBJECT_TYPE_SECRET_DATA, .format = KMIP_KEY_FORMAT_TYPE_OPAQUE, .m = seed,
			.n = sizeof seed, .data_type = KMIP_SECRET_DATA_TYPE_SEED, .mask = 0};
	CU_ASSERT_EQUAL_FATAL(reg_v(&kt_alice, &o, 0, false, uid), 0);
	CU_ASSERT_EQUAL(simple(&kt_alice, KMIP_OPERATION_ACTIVATE, uid), KMIP_RESULT_STATUS_SUCCESS);
	struct kt_resp r;
	const struct ttlv_item *it = get(&kt_alice, uid, 0, 0, &r);
	CU_ASSERT_EQUAL(enum_in(kt_payload(it), KMIP_TAG_OBJECT_TYPE), KMIP_OBJECT_TYPE_SECRET_DATA);
	const struct ttlv_item *sd = ttlv_find(kt_payload(it), KMIP_TAG_SECRET_DATA);
	CU_ASSERT_EQUAL(enum_in(sd, KMIP_TAG_SECRET_DATA_TYPE), KMIP_SECRET_DATA_TYPE_SEED);
	const struct ttlv_item *kb = ttlv_find(sd, KMIP_TAG_KEY_BLOCK);
	CU_ASSERT_EQUAL(enum_in(kb, KMIP_TAG_KEY_FORMAT_TYPE), KMIP_KEY_FORMAT_TYPE_OPAQUE);
	const struct ttlv_item *km = material_of(kb);
	CU_ASSERT(km != NULL && km->type == TTLV_BYTES && same(km, seed, sizeof seed));
	kt_resp_free(&r);
	/* mask 0 kept as 0 */
	struct store_object so;
	EXPECT_OK(store_get(kt_store, uid, "alice", 0, &so));
	CU_ASSERT_EQUAL(so.usage_mask, 0);
	CU_ASSERT_EQUAL(so.key_format, STORE_FMT_OPAQUE);
	store_object_free(&so);
	/* asking another format of secret data */
	CU_ASSERT_EQUAL(get_reason(&kt_alice, uid, KMIP_KEY_FORMAT_TYPE_RAW), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);

	/* Percona MySQL's Password, Raw, with a Name */
	static const char pw[] = "correct horse battery staple";
	struct obj p = {.type = KMIP_OBJECT_TYPE_SECRET_DATA, .format = KMIP_KEY_FORMAT_TYPE_RAW,
			.m = (const uint8_t *)pw, .n = strlen(pw), .data_type = KMIP_SECRET_DATA_TYPE_PASSWORD,
			.mask = 12, .name = "mysql-keyring-1", .group = "", .policy = "default",
			.storage_mask = true};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &p, uid), 0);
	it = get(&kt_alice, uid, 0, 4, &r);
	sd = ttlv_find(kt_payload(it), KMIP_TAG_SECRET_DATA);
	CU_ASSERT_EQUAL(enum_in(sd, KMIP_TAG_SECRET_DATA_TYPE), KMIP_SECRET_DATA_TYPE_PASSWORD);
	CU_ASSERT_EQUAL(enum_in(ttlv_find(sd, KMIP_TAG_KEY_BLOCK), KMIP_TAG_KEY_FORMAT_TYPE), KMIP_KEY_FORMAT_TYPE_RAW);
	CU_ASSERT(same(material_of(ttlv_find(sd, KMIP_TAG_KEY_BLOCK)), (const uint8_t *)pw, strlen(pw)));
	kt_resp_free(&r);
	/* the template's attributes were kept: the empty Object Group too */
	EXPECT_OK(store_get(kt_store, uid, "alice", 0, &so));
	bool group = false, policy = false, storage = false;
	for (size_t i = 0; i < so.n_attrs; i++) {
		group |= strcmp(so.attrs[i].name, "Object Group") == 0 && so.attrs[i].value_len == 0;
		policy |= strcmp(so.attrs[i].name, "Operation Policy Name") == 0 && so.attrs[i].value_len == 7;
		storage |= strcmp(so.attrs[i].name, "Storage Status Mask") == 0;
	}
	CU_ASSERT(group && policy && storage);
	store_object_free(&so);
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_LOCATE);
	kt_attr_enum(&q, "Object Type", KMIP_OBJECT_TYPE_SECRET_DATA);
	kt_attr_name(&q, "mysql-keyring-1");
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	const struct ttlv_item *lu = ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_UNIQUE_IDENTIFIER);
	CU_ASSERT_EQUAL(ttlv_count(kt_payload(kt_first(&r)), KMIP_TAG_UNIQUE_IDENTIFIER), 1);
	CU_ASSERT(lu != NULL && lu->len == strlen(uid) && memcmp(lu->val, uid, lu->len) == 0);
	kt_resp_free(&r);
	/* refusals: PKCS#8 secret data, an undefined Secret Data Type */
	p.format = KMIP_KEY_FORMAT_TYPE_PKCS_8;
	p.name = NULL;
	CU_ASSERT_EQUAL(reg(&kt_alice, &p, uid), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
	p.format = KMIP_KEY_FORMAT_TYPE_RAW;
	p.data_type = 7;
	CU_ASSERT_EQUAL(reg(&kt_alice, &p, uid), KMIP_RESULT_REASON_INVALID_FIELD);
}

/* An Opaque Object comes back as its type and value; a certificate as
 * Certificate Type X.509 and its DER, which must parse. */
static void test_opaque_and_certificate(void)
{
	static const uint8_t blob[] = "opaque \x00\x01\x02 bytes";
	char uid[STORE_ID_MAX + 1];
	struct obj o = {.type = KMIP_OBJECT_TYPE_OPAQUE_OBJECT, .m = blob, .n = sizeof blob, .data_type = 0x80000001u,
			.mask = -1};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &o, uid), 0);
	struct kt_resp r;
	const struct ttlv_item *it = get(&kt_alice, uid, 0, 4, &r);
	const struct ttlv_item *oo = ttlv_find(kt_payload(it), KMIP_TAG_OPAQUE_OBJECT);
	CU_ASSERT_EQUAL(enum_in(kt_payload(it), KMIP_TAG_OBJECT_TYPE), KMIP_OBJECT_TYPE_OPAQUE_OBJECT);
	CU_ASSERT_EQUAL(enum_in(oo, KMIP_TAG_OPAQUE_DATA_TYPE), 0x80000001u);
	CU_ASSERT(same(ttlv_find(oo, KMIP_TAG_OPAQUE_DATA_VALUE), blob, sizeof blob));
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(get_reason(&kt_alice, uid, KMIP_KEY_FORMAT_TYPE_PKCS_8), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);

	struct obj c = {.type = KMIP_OBJECT_TYPE_CERTIFICATE, .m = cert_der.p, .n = cert_der.n,
			.data_type = KMIP_CERTIFICATE_TYPE_X_509, .mask = -1, .name = "server-cert"};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &c, uid), 0);
	it = get(&kt_alice, uid, 0, 4, &r);
	const struct ttlv_item *ce = ttlv_find(kt_payload(it), KMIP_TAG_CERTIFICATE);
	CU_ASSERT_EQUAL(enum_in(kt_payload(it), KMIP_TAG_OBJECT_TYPE), KMIP_OBJECT_TYPE_CERTIFICATE);
	CU_ASSERT_EQUAL(enum_in(ce, KMIP_TAG_CERTIFICATE_TYPE), KMIP_CERTIFICATE_TYPE_X_509);
	CU_ASSERT(same(ttlv_find(ce, KMIP_TAG_CERTIFICATE_VALUE), cert_der.p, cert_der.n));
	kt_resp_free(&r);
	/* a truncated certificate, a key in place of one, PGP */
	c.name = NULL;
	c.n = cert_der.n - 10;
	CU_ASSERT_EQUAL(reg(&kt_alice, &c, uid), KMIP_RESULT_REASON_INVALID_FIELD);
	c.m = rsa_spki.p;
	c.n = rsa_spki.n;
	CU_ASSERT_EQUAL(reg(&kt_alice, &c, uid), KMIP_RESULT_REASON_INVALID_FIELD);
	c.m = cert_der.p;
	c.n = cert_der.n;
	c.data_type = KMIP_CERTIFICATE_TYPE_PGP;
	CU_ASSERT_EQUAL(reg(&kt_alice, &c, uid), KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED);
}

/* ---- private and public keys ------------------------------------------------------------ */

/* expect_get: Get |uid| as |format| (0: none asked) answers Key Format
 * Type |kft| and Key Material |want| */
static void expect_get(const char *uid, uint32_t tag, uint32_t format, uint32_t kft, const struct blob *want)
{
	struct kt_resp r;
	const struct ttlv_item *it = get(&kt_alice, uid, format, 4, &r);
	CU_ASSERT_EQUAL(kt_status(it), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *kb = key_block_of(it, tag);
	CU_ASSERT_EQUAL(enum_in(kb, KMIP_TAG_KEY_FORMAT_TYPE), kft);
	const struct ttlv_item *km = material_of(kb);
	if (!same(km, want->p, want->n)) {
		fprintf(stderr, "\n  %s as %u: %u bytes, openssl's %zu\n", uid, (unsigned)format,
			km != NULL ? (unsigned)km->len : 0u, want->n);
		CU_FAIL("the key material differs from openssl's encoding");
	}
	kt_resp_free(&r);
}

/* contains: |needle| occurs in |hay| */
static bool contains(const struct blob *hay, const uint8_t *needle, size_t n)
{
	for (size_t i = 0; n > 0 && i + n <= hay->n; i++)
		if (memcmp(hay->p + i, needle, n) == 0)
			return true;
	return false;
}

/* bigint_ok: a KMIP Big Integer (§9.1.1.4): a multiple of 8 bytes,
 * non-negative, and its magnitude occurs in |der| (openssl's PKCS#1 or
 * ECPrivateKey of the same key) */
static bool bigint_ok(const struct ttlv_item *b, const struct blob *der)
{
	if (b == NULL || b->type != TTLV_BIGINT || b->len == 0 || b->len % 8 != 0 || (b->val[0] & 0x80))
		return false;
	size_t i = 0;
	while (i + 1 < b->len && b->val[i] == 0)
		i++;
	return contains(der, b->val + i, b->len - i);
}

/* stored_as: |uid| is kept in |format| with |want|'s bytes, and its
 * Digest (KMIP 1.4 §3.17) is SHA-256 over them */
static bool stored_as(const char *uid, uint32_t format, const struct blob *want)
{
	struct store_object so;
	uint8_t h[32];
	if (store_get(kt_store, uid, "alice", 0, &so) != ERR_OK)
		return false;
	bool ok = so.key_format == format && so.has_digest && keygen_sha256(want->p, want->n, h) == ERR_OK &&
		  memcmp(so.digest, h, sizeof h) == 0;
	store_object_free(&so);
	return ok;
}

/* Private keys in PKCS#8, PKCS#1 and ECPrivateKey (RFC 5915) are kept as
 * registered, byte for byte: Get without a Key Format Type gives them
 * back in that format (KMIP 1.4 §4.11: the server's default), and
 * openssl's own PKCS#8 / PKCS#1 / ECPrivateKey when asked; Transparent RSA
 * and EC private keys carry the key's numbers (found in openssl's
 * encodings). Formats of the other algorithm are Key Format Type Not
 * Supported. */
static void test_private_keys(void)
{
	char r8[STORE_ID_MAX + 1], r1[STORE_ID_MAX + 1], e8[STORE_ID_MAX + 1], e1[STORE_ID_MAX + 1];
	struct obj o = {.type = KMIP_OBJECT_TYPE_PRIVATE_KEY, .format = KMIP_KEY_FORMAT_TYPE_PKCS_8,
			.m = rsa_pkcs8.p, .n = rsa_pkcs8.n, .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, .length = 2048,
			.mask = 1};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &o, r8), 0);
	o.format = KMIP_KEY_FORMAT_TYPE_PKCS_1;
	o.m = rsa_pkcs1.p;
	o.n = rsa_pkcs1.n;
	o.length = 0;
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &o, r1), 0);
	struct obj e = {.type = KMIP_OBJECT_TYPE_PRIVATE_KEY, .format = KMIP_KEY_FORMAT_TYPE_PKCS_8,
			.m = ec_pkcs8.p, .n = ec_pkcs8.n, .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_EC, .mask = 1};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &e, e8), 0);
	e.format = KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY;
	e.m = ec_sec1.p;
	e.n = ec_sec1.n;
	e.alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_ECDSA;
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &e, e1), 0);

	/* stored as registered, with algorithm and length from the key */
	struct store_object so;
	EXPECT_OK(store_get(kt_store, r1, "alice", 0, &so));
	CU_ASSERT(so.key_format == STORE_FMT_PKCS1 && so.alg == STORE_ALG_RSA && so.length == 2048);
	store_object_free(&so);
	EXPECT_OK(store_get(kt_store, e1, "alice", 0, &so));
	CU_ASSERT(so.key_format == STORE_FMT_EC_PRIVATE_KEY && so.alg == STORE_ALG_ECDSA && so.length == 256);
	store_object_free(&so);
	CU_ASSERT(stored_as(r8, STORE_FMT_PKCS8, &rsa_pkcs8));
	CU_ASSERT(stored_as(r1, STORE_FMT_PKCS1, &rsa_pkcs1));
	CU_ASSERT(stored_as(e8, STORE_FMT_PKCS8, &ec_pkcs8));
	CU_ASSERT(stored_as(e1, STORE_FMT_EC_PRIVATE_KEY, &ec_sec1));

	expect_get(r8, KMIP_TAG_PRIVATE_KEY, 0, KMIP_KEY_FORMAT_TYPE_PKCS_8, &rsa_pkcs8);
	expect_get(r1, KMIP_TAG_PRIVATE_KEY, 0, KMIP_KEY_FORMAT_TYPE_PKCS_1, &rsa_pkcs1);
	expect_get(r1, KMIP_TAG_PRIVATE_KEY, KMIP_KEY_FORMAT_TYPE_PKCS_8, KMIP_KEY_FORMAT_TYPE_PKCS_8, &rsa_pkcs8);
	expect_get(r8, KMIP_TAG_PRIVATE_KEY, KMIP_KEY_FORMAT_TYPE_PKCS_1, KMIP_KEY_FORMAT_TYPE_PKCS_1, &rsa_pkcs1);
	expect_get(e8, KMIP_TAG_PRIVATE_KEY, 0, KMIP_KEY_FORMAT_TYPE_PKCS_8, &ec_pkcs8);
	expect_get(e1, KMIP_TAG_PRIVATE_KEY, 0, KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY, &ec_sec1);
	expect_get(e1, KMIP_TAG_PRIVATE_KEY, KMIP_KEY_FORMAT_TYPE_PKCS_8, KMIP_KEY_FORMAT_TYPE_PKCS_8, &ec_pkcs8);
	expect_get(e8, KMIP_TAG_PRIVATE_KEY, KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY, KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY,
		   &ec_sec1);

	/* Transparent RSA Private Key (§2.1.7.4): eight Big Integers */
	struct kt_resp r;
	const struct ttlv_item *kb = key_block_of(get(&kt_alice, r1, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PRIVATE_KEY, 4, &r),
						  KMIP_TAG_PRIVATE_KEY);
	const struct ttlv_item *km = material_of(kb);
	static const uint32_t rsa_tags[] = {KMIP_TAG_MODULUS, KMIP_TAG_PRIVATE_EXPONENT, KMIP_TAG_PUBLIC_EXPONENT,
					    KMIP_TAG_P, KMIP_TAG_Q, KMIP_TAG_PRIME_EXPONENT_P,
					    KMIP_TAG_PRIME_EXPONENT_Q, KMIP_TAG_CRT_COEFFICIENT};
	CU_ASSERT(km != NULL && km->type == TTLV_STRUCTURE);
	for (size_t i = 0; i < ARRAY_SIZE(rsa_tags); i++)
		CU_ASSERT(bigint_ok(ttlv_find(km, rsa_tags[i]), &rsa_pkcs1));
	/* the modulus of RSA-2048: 256 bytes, top bit set, so 264 with its sign byte */
	CU_ASSERT_EQUAL(ttlv_find(km, KMIP_TAG_MODULUS)->len, 264);
	CU_ASSERT_EQUAL(enum_in(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM), KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA);
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)), 2048);
	kt_resp_free(&r);
	/* Transparent EC Private Key (§2.1.7.14): Recommended Curve and D */
	km = material_of(key_block_of(get(&kt_alice, e8, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PRIVATE_KEY, 4, &r),
				      KMIP_TAG_PRIVATE_KEY));
	CU_ASSERT_EQUAL(enum_in(km, KMIP_TAG_RECOMMENDED_CURVE), KMIP_RECOMMENDED_CURVE_P_256);
	CU_ASSERT(bigint_ok(ttlv_find(km, KMIP_TAG_D), &ec_sec1));
	kt_resp_free(&r);
	/* the same from the key kept as ECPrivateKey */
	km = material_of(key_block_of(get(&kt_alice, e1, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PRIVATE_KEY, 4, &r),
				      KMIP_TAG_PRIVATE_KEY));
	CU_ASSERT_EQUAL(enum_in(km, KMIP_TAG_RECOMMENDED_CURVE), KMIP_RECOMMENDED_CURVE_P_256);
	CU_ASSERT(bigint_ok(ttlv_find(km, KMIP_TAG_D), &ec_sec1));
	kt_resp_free(&r);

	/* formats that do not fit */
	CU_ASSERT_EQUAL(get_reason(&kt_alice, e8, KMIP_KEY_FORMAT_TYPE_PKCS_1), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(get_reason(&kt_alice, r8, KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(get_reason(&kt_alice, r8, KMIP_KEY_FORMAT_TYPE_X_509), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(get_reason(&kt_alice, r8, KMIP_KEY_FORMAT_TYPE_RAW), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(get_reason(&kt_alice, e8, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PRIVATE_KEY),
			KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);

	/* bad material: not a key, the wrong form, the wrong algorithm, a
	 * public key's format */
	char uid[STORE_ID_MAX + 1];
	struct obj b = {.type = KMIP_OBJECT_TYPE_PRIVATE_KEY, .format = KMIP_KEY_FORMAT_TYPE_PKCS_8, .m = key32,
			.n = 32, .mask = 1};
	CU_ASSERT_EQUAL(reg(&kt_alice, &b, uid), KMIP_RESULT_REASON_INVALID_FIELD);
	b.m = rsa_pkcs1.p;
	b.n = rsa_pkcs1.n;
	CU_ASSERT_EQUAL(reg(&kt_alice, &b, uid), KMIP_RESULT_REASON_INVALID_FIELD); /* PKCS#1 sent as PKCS#8 */
	b.format = KMIP_KEY_FORMAT_TYPE_ECPRIVATEKEY;
	CU_ASSERT_EQUAL(reg(&kt_alice, &b, uid), KMIP_RESULT_REASON_INVALID_FIELD); /* RSA as ECPrivateKey */
	b.format = KMIP_KEY_FORMAT_TYPE_PKCS_8;
	b.m = rsa_pkcs8.p;
	b.n = rsa_pkcs8.n;
	b.alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_EC;
	CU_ASSERT_EQUAL(reg(&kt_alice, &b, uid), KMIP_RESULT_REASON_INVALID_FIELD); /* RSA said EC */
	b.alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA;
	b.length = 3072;
	CU_ASSERT_EQUAL(reg(&kt_alice, &b, uid), KMIP_RESULT_REASON_INVALID_FIELD); /* 2048 said 3072 */
	b.length = 0;
	b.format = KMIP_KEY_FORMAT_TYPE_X_509;
	CU_ASSERT_EQUAL(reg(&kt_alice, &b, uid), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
	/* a compressed EC key */
	e.compression = false;
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_REGISTER);
	ttlv_enc_enum(&q.e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_PRIVATE_KEY);
	ttlv_enc_begin(&q.e, KMIP_TAG_PRIVATE_KEY);
	ttlv_enc_begin(&q.e, KMIP_TAG_KEY_BLOCK);
	ttlv_enc_enum(&q.e, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_PKCS_8);
	ttlv_enc_enum(&q.e, KMIP_TAG_KEY_COMPRESSION_TYPE, KMIP_KEY_COMPRESSION_TYPE_EC_PUBLIC_KEY_TYPE_X9_62_COMPRESSED_PRIME);
	ttlv_enc_begin(&q.e, KMIP_TAG_KEY_VALUE);
	ttlv_enc_bytes(&q.e, KMIP_TAG_KEY_MATERIAL, ec_pkcs8.p, ec_pkcs8.n);
	ttlv_enc_end(&q.e);
	ttlv_enc_end(&q.e);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_first(&r)), KMIP_RESULT_REASON_KEY_COMPRESSION_TYPE_NOT_SUPPORTED);
	kt_resp_free(&r);
}

/* Public keys in SubjectPublicKeyInfo and PKCS#1 RSAPublicKey are kept as
 * registered: that format by default, X.509, PKCS#1 and Transparent when
 * asked; an EC public key's native compression (uncompressed) may be
 * asked, any other is refused. */
static void test_public_keys(void)
{
	char rs[STORE_ID_MAX + 1], rp[STORE_ID_MAX + 1], es[STORE_ID_MAX + 1];
	struct obj o = {.type = KMIP_OBJECT_TYPE_PUBLIC_KEY, .format = KMIP_KEY_FORMAT_TYPE_X_509, .m = rsa_spki.p,
			.n = rsa_spki.n, .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_RSA, .length = 2048, .mask = 2};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &o, rs), 0);
	o.format = KMIP_KEY_FORMAT_TYPE_PKCS_1;
	o.m = rsa_pub_pkcs1.p;
	o.n = rsa_pub_pkcs1.n;
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &o, rp), 0);
	struct obj e = {.type = KMIP_OBJECT_TYPE_PUBLIC_KEY, .format = KMIP_KEY_FORMAT_TYPE_X_509, .m = ec_spki.p,
			.n = ec_spki.n, .mask = 2};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &e, es), 0);
	CU_ASSERT(stored_as(rs, STORE_FMT_X509, &rsa_spki));
	CU_ASSERT(stored_as(rp, STORE_FMT_PKCS1, &rsa_pub_pkcs1));
	expect_get(rs, KMIP_TAG_PUBLIC_KEY, 0, KMIP_KEY_FORMAT_TYPE_X_509, &rsa_spki);
	expect_get(rp, KMIP_TAG_PUBLIC_KEY, 0, KMIP_KEY_FORMAT_TYPE_PKCS_1, &rsa_pub_pkcs1);
	expect_get(rp, KMIP_TAG_PUBLIC_KEY, KMIP_KEY_FORMAT_TYPE_X_509, KMIP_KEY_FORMAT_TYPE_X_509, &rsa_spki);
	expect_get(rs, KMIP_TAG_PUBLIC_KEY, KMIP_KEY_FORMAT_TYPE_PKCS_1, KMIP_KEY_FORMAT_TYPE_PKCS_1, &rsa_pub_pkcs1);
	expect_get(es, KMIP_TAG_PUBLIC_KEY, 0, KMIP_KEY_FORMAT_TYPE_X_509, &ec_spki);

	struct kt_resp r;
	const struct ttlv_item *km = material_of(
		key_block_of(get(&kt_alice, rp, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_RSA_PUBLIC_KEY, 4, &r), KMIP_TAG_PUBLIC_KEY));
	CU_ASSERT(bigint_ok(ttlv_find(km, KMIP_TAG_MODULUS), &rsa_pub_pkcs1));
	CU_ASSERT(bigint_ok(ttlv_find(km, KMIP_TAG_PUBLIC_EXPONENT), &rsa_pub_pkcs1));
	CU_ASSERT_PTR_NULL(ttlv_find(km, KMIP_TAG_PRIVATE_EXPONENT));
	kt_resp_free(&r);
	km = material_of(key_block_of(get(&kt_alice, es, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PUBLIC_KEY, 4, &r),
				      KMIP_TAG_PUBLIC_KEY));
	CU_ASSERT_EQUAL(enum_in(km, KMIP_TAG_RECOMMENDED_CURVE), KMIP_RECOMMENDED_CURVE_P_256);
	const struct ttlv_item *qs = ttlv_find(km, KMIP_TAG_Q_STRING);
	CU_ASSERT(qs != NULL && qs->len == 65 && qs->val[0] == 0x04 && contains(&ec_spki, qs->val, qs->len));
	kt_resp_free(&r);
	/* an algorithm fount records for an EC key with none given */
	struct store_object so;
	EXPECT_OK(store_get(kt_store, es, "alice", 0, &so));
	CU_ASSERT(so.key_format == STORE_FMT_X509 && so.alg == STORE_ALG_EC && so.length == 256);
	store_object_free(&so);

	CU_ASSERT_EQUAL(get_reason(&kt_alice, es, KMIP_KEY_FORMAT_TYPE_PKCS_1), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
	CU_ASSERT_EQUAL(get_reason(&kt_alice, rs, KMIP_KEY_FORMAT_TYPE_PKCS_8), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
	/* compression: uncompressed on the EC key yes, on RSA no */
	for (int i = 0; i < 2; i++) {
		struct kt_req q;
		kt_begin(&q, 4, 1);
		kt_item(&q, KMIP_OPERATION_GET);
		ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, i == 0 ? es : rs);
		ttlv_enc_enum(&q.e, KMIP_TAG_KEY_COMPRESSION_TYPE, KMIP_KEY_COMPRESSION_TYPE_EC_PUBLIC_KEY_TYPE_UNCOMPRESSED);
		kt_item_end(&q);
		kt_run(&q, &kt_alice, &r);
		if (i == 0) {
			CU_ASSERT_EQUAL(kt_status(kt_first(&r)), KMIP_RESULT_STATUS_SUCCESS);
		} else {
			CU_ASSERT_EQUAL(kt_reason(kt_first(&r)), KMIP_RESULT_REASON_KEY_COMPRESSION_TYPE_NOT_SUPPORTED);
		}
		kt_resp_free(&r);
	}
	/* a private key sent as a public one, an SPKI sent as PKCS#1 */
	char uid[STORE_ID_MAX + 1];
	struct obj b = {.type = KMIP_OBJECT_TYPE_PUBLIC_KEY, .format = KMIP_KEY_FORMAT_TYPE_X_509, .m = rsa_pkcs8.p,
			.n = rsa_pkcs8.n, .mask = 2};
	CU_ASSERT_EQUAL(reg(&kt_alice, &b, uid), KMIP_RESULT_REASON_INVALID_FIELD);
	b.format = KMIP_KEY_FORMAT_TYPE_PKCS_1;
	b.m = rsa_spki.p;
	b.n = rsa_spki.n;
	CU_ASSERT_EQUAL(reg(&kt_alice, &b, uid), KMIP_RESULT_REASON_INVALID_FIELD);
	b.format = KMIP_KEY_FORMAT_TYPE_PKCS_8;
	CU_ASSERT_EQUAL(reg(&kt_alice, &b, uid), KMIP_RESULT_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED);
}

/* ---- wrapped Get ------------------------------------------------------------------------ */

/* make_kek creates an AES-256 key with |mask| for |p|, Active if |activate| */
static void make_kek(const struct kmip_peer *p, int32_t mask, bool activate, char uid[STORE_ID_MAX + 1])
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_create_item(&q, 256, mask, NULL);
	kt_run(&q, p, &r);
	const struct ttlv_item *u = ttlv_find(kt_payload(kt_first(&r)), KMIP_TAG_UNIQUE_IDENTIFIER);
	CU_ASSERT_FATAL(u != NULL);
	memcpy(uid, u->val, u->len);
	uid[u->len] = '\0';
	kt_resp_free(&r);
	if (activate)
		CU_ASSERT_EQUAL(simple(p, KMIP_OPERATION_ACTIVATE, uid), KMIP_RESULT_STATUS_SUCCESS);
}

/* wrapped_get: Get |uid| wrapped under |kek| with |mode| (0: no
 * Cryptographic Parameters), |encoding| (0: no Encoding Option), |method| */
static const struct ttlv_item *wrapped_get(const struct kmip_peer *p, const char *uid, uint32_t format,
					   const char *kek, uint32_t method, uint32_t mode, uint32_t encoding,
					   struct kt_resp *r)
{
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_GET);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	if (format != 0)
		ttlv_enc_enum(&q.e, KMIP_TAG_KEY_FORMAT_TYPE, format);
	ttlv_enc_begin(&q.e, KMIP_TAG_KEY_WRAPPING_SPECIFICATION);
	ttlv_enc_enum(&q.e, KMIP_TAG_WRAPPING_METHOD, method);
	ttlv_enc_begin(&q.e, KMIP_TAG_ENCRYPTION_KEY_INFORMATION);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, kek);
	if (mode != 0) {
		ttlv_enc_begin(&q.e, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
		ttlv_enc_enum(&q.e, KMIP_TAG_BLOCK_CIPHER_MODE, mode);
		ttlv_enc_end(&q.e);
	}
	ttlv_enc_end(&q.e);
	if (encoding != 0)
		ttlv_enc_enum(&q.e, KMIP_TAG_ENCODING_OPTION, encoding);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, p, r);
	return kt_first(r);
}

/* kek_bytes reads a key's raw bytes straight from the store (the test's
 * own view, not through Get) */
static size_t kek_bytes(const char *uid, uint8_t out[32])
{
	uint8_t *m = NULL;
	size_t n = 0;
	if (store_get_material(kt_store, uid, "alice", 0, &m, &n) != ERR_OK || n > 32)
		return 0;
	memcpy(out, m, n);
	secmem_free(m, n);
	return n;
}

/* unwrap_value unwraps the Key Value Byte String of Key Block |kb| */
static size_t unwrap_value(const struct ttlv_item *kb, enum keygen_wrap_alg alg, const uint8_t *kek, size_t kek_len,
			   uint8_t *out, size_t cap)
{
	const struct ttlv_item *kv = ttlv_find(kb, KMIP_TAG_KEY_VALUE);
	size_t n = 0;
	if (kv == NULL || kv->type != TTLV_BYTES ||
	    keygen_aes_unwrap(alg, kek, kek_len, kv->val, kv->len, out, cap, &n) != ERR_OK)
		return 0;
	return n;
}

static uint64_t accesses(const char *uid)
{
	uint64_t n = 0;
	if (store_access_count(kt_store, uid, &n) != ERR_OK)
		return UINT64_MAX;
	return n;
}

/* §2.1.5/§4.11: a wrapped Get answers a Key Block whose Key Value is the
 * wrapped Byte String, with Key Wrapping Data {Encrypt, Encryption Key
 * Information {the KEK's UID, Block Cipher Mode}, Encoding Option}. No
 * Encoding wraps the Key Material bytes, TTLV Encoding (the default) the
 * encoded Key Value. Unwrapped here, it gives back the key; both keys'
 * accesses are recorded. */
static void test_wrapped_get(void)
{
	char kek[STORE_ID_MAX + 1], uid[STORE_ID_MAX + 1];
	make_kek(&kt_alice, 0x10 | 0x20, true, kek);
	uint8_t kb_[32];
	size_t kek_len = kek_bytes(kek, kb_);
	CU_ASSERT_EQUAL_FATAL(kek_len, 32);
	struct obj o = {.type = KMIP_OBJECT_TYPE_SYMMETRIC_KEY, .format = KMIP_KEY_FORMAT_TYPE_RAW, .m = key32,
			.n = 32, .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, .length = 256, .mask = 12};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &o, uid), 0);
	uint64_t a0 = accesses(uid), k0 = accesses(kek);

	/* NISTKeyWrap, No Encoding: the 32 key bytes */
	struct kt_resp r;
	const struct ttlv_item *it = wrapped_get(&kt_alice, uid, 0, kek, KMIP_WRAPPING_METHOD_ENCRYPT,
						 KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP, KMIP_ENCODING_OPTION_NO_ENCODING, &r);
	CU_ASSERT_EQUAL(kt_status(it), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *kb = key_block_of(it, KMIP_TAG_SYMMETRIC_KEY);
	CU_ASSERT_EQUAL(ttlv_find(kb, KMIP_TAG_KEY_VALUE)->len, 40);
	uint8_t plain[4096];
	size_t n = unwrap_value(kb, KEYGEN_WRAP_KW, kb_, kek_len, plain, sizeof plain);
	CU_ASSERT(n == 32 && memcmp(plain, key32, 32) == 0);
	const struct ttlv_item *kwd = ttlv_find(kb, KMIP_TAG_KEY_WRAPPING_DATA);
	CU_ASSERT_EQUAL(enum_in(kwd, KMIP_TAG_WRAPPING_METHOD), KMIP_WRAPPING_METHOD_ENCRYPT);
	const struct ttlv_item *eki = ttlv_find(kwd, KMIP_TAG_ENCRYPTION_KEY_INFORMATION);
	CU_ASSERT(same(ttlv_find(eki, KMIP_TAG_UNIQUE_IDENTIFIER), (const uint8_t *)kek, strlen(kek)));
	CU_ASSERT_EQUAL(enum_in(ttlv_find(eki, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS), KMIP_TAG_BLOCK_CIPHER_MODE),
			KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP);
	CU_ASSERT_EQUAL(enum_in(kwd, KMIP_TAG_ENCODING_OPTION), KMIP_ENCODING_OPTION_NO_ENCODING);
	CU_ASSERT_EQUAL(enum_in(kb, KMIP_TAG_KEY_FORMAT_TYPE), KMIP_KEY_FORMAT_TYPE_RAW);
	CU_ASSERT_EQUAL(enum_in(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM), KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(accesses(uid), a0 + 1);
	CU_ASSERT_EQUAL(accesses(kek), k0 + 1);

	/* AESKeyWrapPadding, no Encoding Option: the TTLV Key Value */
	it = wrapped_get(&kt_alice, uid, 0, kek, KMIP_WRAPPING_METHOD_ENCRYPT, KMIP_BLOCK_CIPHER_MODE_AESKEYWRAPPADDING, 0, &r);
	kb = key_block_of(it, KMIP_TAG_SYMMETRIC_KEY);
	n = unwrap_value(kb, KEYGEN_WRAP_KWP, kb_, kek_len, plain, sizeof plain);
	struct ttlv_doc d;
	CU_ASSERT_FATAL(n > 0 && ttlv_decode(&d, plain, n) == ERR_OK);
	const struct ttlv_item *root = ttlv_root(&d);
	CU_ASSERT_EQUAL(root->tag, KMIP_TAG_KEY_VALUE);
	CU_ASSERT(same(ttlv_find(root, KMIP_TAG_KEY_MATERIAL), key32, 32));
	ttlv_doc_free(&d);
	CU_ASSERT_EQUAL(enum_in(ttlv_find(kb, KMIP_TAG_KEY_WRAPPING_DATA), KMIP_TAG_ENCODING_OPTION),
			KMIP_ENCODING_OPTION_TTLV_ENCODING);
	kt_resp_free(&r);

	/* a private key as PKCS#1, wrapped with padding, No Encoding */
	char pk[STORE_ID_MAX + 1];
	struct obj p = {.type = KMIP_OBJECT_TYPE_PRIVATE_KEY, .format = KMIP_KEY_FORMAT_TYPE_PKCS_8, .m = rsa_pkcs8.p,
			.n = rsa_pkcs8.n, .mask = 1};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &p, pk), 0);
	it = wrapped_get(&kt_alice, pk, KMIP_KEY_FORMAT_TYPE_PKCS_1, kek, KMIP_WRAPPING_METHOD_ENCRYPT,
			 KMIP_BLOCK_CIPHER_MODE_AESKEYWRAPPADDING, KMIP_ENCODING_OPTION_NO_ENCODING, &r);
	kb = key_block_of(it, KMIP_TAG_PRIVATE_KEY);
	n = unwrap_value(kb, KEYGEN_WRAP_KWP, kb_, kek_len, plain, sizeof plain);
	CU_ASSERT(n == rsa_pkcs1.n && memcmp(plain, rsa_pkcs1.p, n) == 0);
	CU_ASSERT_EQUAL(enum_in(kb, KMIP_TAG_KEY_FORMAT_TYPE), KMIP_KEY_FORMAT_TYPE_PKCS_1);
	kt_resp_free(&r);

	/* secret data under KW with no Cryptographic Parameters (default KW) */
	uint8_t seed[96] = {1, 2, 3};
	char sd[STORE_ID_MAX + 1];
	struct obj s = {.type = KMIP_OBJECT_TYPE_SECRET_DATA, .format = KMIP_KEY_FORMAT_TYPE_OPAQUE, .m = seed,
			.n = sizeof seed, .data_type = KMIP_SECRET_DATA_TYPE_SEED, .mask = 0};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &s, sd), 0);
	it = wrapped_get(&kt_alice, sd, 0, kek, KMIP_WRAPPING_METHOD_ENCRYPT, 0, KMIP_ENCODING_OPTION_NO_ENCODING, &r);
	n = unwrap_value(key_block_of(it, KMIP_TAG_SECRET_DATA), KEYGEN_WRAP_KW, kb_, kek_len, plain, sizeof plain);
	CU_ASSERT(n == sizeof seed && memcmp(plain, seed, n) == 0);
	kt_resp_free(&r);

	/* the operation layer's form (GET /v1/keys/{id}/material?wrap_with=) */
	uint8_t *w = NULL;
	size_t wl = 0;
	char why[OPS_WHY_MAX];
	EXPECT_OK(ops_get_wrapped(&kt_alice, uid, kek, KEYGEN_WRAP_KWP, &w, &wl, NULL, why));
	size_t got = 0;
	EXPECT_OK(keygen_aes_unwrap(KEYGEN_WRAP_KWP, kb_, kek_len, w, wl, plain, sizeof plain, &got));
	CU_ASSERT(got == 32 && memcmp(plain, key32, 32) == 0);
	secmem_free(w, wl);
}

/* The wrapping key must be the caller's (another tenant's is Item Not
 * Found, as one that never was), Active and with Wrap Key (else Permission
 * Denied: KMIP 1.4 has no Wrong Key Lifecycle State or Incompatible Usage
 * Mask reason) and AES; only Encrypt, NISTKeyWrap/AESKeyWrapPadding; KW
 * needs a multiple of 8 bytes; a structure cannot go unencoded. */
static void test_wrapped_get_refusals(void)
{
	char kek[STORE_ID_MAX + 1], pre[STORE_ID_MAX + 1], nowrap[STORE_ID_MAX + 1], bobs[STORE_ID_MAX + 1];
	char uid[STORE_ID_MAX + 1], pk[STORE_ID_MAX + 1], cert[STORE_ID_MAX + 1];
	make_kek(&kt_alice, 0x10, true, kek);
	make_kek(&kt_alice, 0x10, false, pre);
	make_kek(&kt_alice, 0x04 | 0x08, true, nowrap);
	make_kek(&kt_bob, 0x10, true, bobs);
	struct obj o = {.type = KMIP_OBJECT_TYPE_SYMMETRIC_KEY, .format = KMIP_KEY_FORMAT_TYPE_RAW, .m = key32,
			.n = 32, .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, .mask = 12};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &o, uid), 0);
	uint64_t a0 = accesses(uid);
	const struct {
		const char *kek;
		uint32_t method, mode, encoding, why;
	} cases[] = {
		{bobs, KMIP_WRAPPING_METHOD_ENCRYPT, KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP, 0, KMIP_RESULT_REASON_ITEM_NOT_FOUND},
		{"no-such-key", KMIP_WRAPPING_METHOD_ENCRYPT, 0, 0, KMIP_RESULT_REASON_ITEM_NOT_FOUND},
		{pre, KMIP_WRAPPING_METHOD_ENCRYPT, 0, 0, KMIP_RESULT_REASON_PERMISSION_DENIED},
		{nowrap, KMIP_WRAPPING_METHOD_ENCRYPT, 0, 0, KMIP_RESULT_REASON_PERMISSION_DENIED},
		{kek, KMIP_WRAPPING_METHOD_MAC_SIGN, 0, 0, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED},
		{kek, KMIP_WRAPPING_METHOD_ENCRYPT_THEN_MAC_SIGN, 0, 0, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED},
		{kek, KMIP_WRAPPING_METHOD_ENCRYPT, KMIP_BLOCK_CIPHER_MODE_CBC, 0, KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED},
		{kek, KMIP_WRAPPING_METHOD_ENCRYPT, 0, 9, KMIP_RESULT_REASON_ENCODING_OPTION_ERROR},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kt_resp r;
		const struct ttlv_item *it = wrapped_get(&kt_alice, uid, 0, cases[i].kek, cases[i].method, cases[i].mode,
							 cases[i].encoding, &r);
		if (kt_reason(it) != cases[i].why)
			fprintf(stderr, "\n  wrap case %zu: reason %u, not %u\n", i, (unsigned)kt_reason(it),
				(unsigned)cases[i].why);
		CU_ASSERT_EQUAL(kt_reason(it), cases[i].why);
		CU_ASSERT(kt_has_message(it));
		kt_resp_free(&r);
	}
	/* the wrapping key is checked before the key is read: no refused
	 * wrap read (or recorded) the key */
	CU_ASSERT_EQUAL(accesses(uid), a0);
	/* a public key as the wrapping key */
	struct obj pub = {.type = KMIP_OBJECT_TYPE_PUBLIC_KEY, .format = KMIP_KEY_FORMAT_TYPE_X_509, .m = rsa_spki.p,
			  .n = rsa_spki.n, .mask = 0x10};
	char pubid[STORE_ID_MAX + 1];
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &pub, pubid), 0);
	struct kt_resp r;
	CU_ASSERT_EQUAL(kt_reason(wrapped_get(&kt_alice, uid, 0, pubid, KMIP_WRAPPING_METHOD_ENCRYPT, 0, 0, &r)),
			KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED);
	kt_resp_free(&r);
	/* KW of a PKCS#8 key whose length is not a multiple of 8 */
	struct obj p = {.type = KMIP_OBJECT_TYPE_PRIVATE_KEY, .format = KMIP_KEY_FORMAT_TYPE_PKCS_8, .m = ec_pkcs8.p,
			.n = ec_pkcs8.n, .mask = 1};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &p, pk), 0);
	if (ec_pkcs8.n % 8 != 0) {
		CU_ASSERT_EQUAL(kt_reason(wrapped_get(&kt_alice, pk, 0, kek, KMIP_WRAPPING_METHOD_ENCRYPT,
						   KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP, KMIP_ENCODING_OPTION_NO_ENCODING, &r)),
				KMIP_RESULT_REASON_INVALID_FIELD);
		kt_resp_free(&r);
	}
	/* a Transparent key unencoded */
	CU_ASSERT_EQUAL(kt_reason(wrapped_get(&kt_alice, pk, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_EC_PRIVATE_KEY, kek,
					   KMIP_WRAPPING_METHOD_ENCRYPT, 0, KMIP_ENCODING_OPTION_NO_ENCODING, &r)),
			KMIP_RESULT_REASON_ENCODING_OPTION_ERROR);
	kt_resp_free(&r);
	/* a certificate has no Key Block to wrap */
	struct obj c = {.type = KMIP_OBJECT_TYPE_CERTIFICATE, .m = cert_der.p, .n = cert_der.n,
			.data_type = KMIP_CERTIFICATE_TYPE_X_509, .mask = -1};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &c, cert), 0);
	CU_ASSERT_EQUAL(kt_reason(wrapped_get(&kt_alice, cert, 0, kek, KMIP_WRAPPING_METHOD_ENCRYPT, 0, 0, &r)),
			KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);
	/* the operation layer: another tenant's wrapping key */
	uint8_t *w = NULL;
	size_t wl = 0;
	char why[OPS_WHY_MAX];
	EXPECT_ERR(ops_get_wrapped(&kt_alice, uid, bobs, KEYGEN_WRAP_KW, &w, &wl, NULL, why), ERR_STORE_NOT_FOUND);
	CU_ASSERT_PTR_NULL(w);
	EXPECT_ERR(ops_get_wrapped(&kt_alice, uid, nowrap, KEYGEN_WRAP_KW, &w, &wl, NULL, why), ERR_KEY_USAGE);
	EXPECT_ERR(ops_get_wrapped(&kt_alice, uid, pre, KEYGEN_WRAP_KW, &w, &wl, NULL, why), ERR_STORE_STATE);
	/* a 20-byte HMAC key cannot go under AES-KW: refused from its length,
	 * before anything is read or recorded (KWP takes it) */
	struct obj h = {.type = KMIP_OBJECT_TYPE_SYMMETRIC_KEY, .format = KMIP_KEY_FORMAT_TYPE_RAW, .m = key32,
			.n = 20, .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_HMAC_SHA256, .length = 160, .mask = 0x80 | 0x100};
	char hid[STORE_ID_MAX + 1];
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &h, hid), 0);
	uint64_t h0 = accesses(hid);
	EXPECT_ERR(ops_get_wrapped(&kt_alice, hid, kek, KEYGEN_WRAP_KW, &w, &wl, NULL, why), ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "AESKeyWrapPadding"));
	CU_ASSERT_EQUAL(accesses(hid), h0);
	EXPECT_OK(ops_get_wrapped(&kt_alice, hid, kek, KEYGEN_WRAP_KWP, &w, &wl, NULL, why));
	CU_ASSERT_EQUAL(accesses(hid), h0 + 1);
	secmem_free(w, wl);
}

/* ---- tenants and names ---------------------------------------------------------------- */

/* Another tenant's registered objects are Item Not Found; Names are unique
 * per tenant (KMIP 1.4 §3.2): a duplicate is Object Already Exists at 1.4
 * (Invalid Field before, where that reason is not defined), for Register
 * and Create alike; another tenant may use the name; a destroyed object's
 * name is free again; Locate(Name) gives exactly one (pg_tde). */
static void test_tenants_and_names(void)
{
	char uid[STORE_ID_MAX + 1], dup[STORE_ID_MAX + 1], other[STORE_ID_MAX + 1];
	struct obj o = {.type = KMIP_OBJECT_TYPE_SYMMETRIC_KEY, .format = KMIP_KEY_FORMAT_TYPE_RAW, .m = key32,
			.n = 32, .alg = KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, .mask = 12, .name = "pg_tde-principal"};
	CU_ASSERT_EQUAL_FATAL(reg(&kt_alice, &o, uid), 0);
	CU_ASSERT_EQUAL(get_reason(&kt_bob, uid, 0), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	CU_ASSERT_EQUAL(reg(&kt_alice, &o, dup), KMIP_RESULT_REASON_OBJECT_ALREADY_EXISTS);
	CU_ASSERT_EQUAL(reg_v(&kt_alice, &o, 0, false, dup), KMIP_RESULT_REASON_INVALID_FIELD);
	CU_ASSERT_EQUAL(reg(&kt_bob, &o, other), 0);
	/* Create with a taken name */
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_create_item(&q, 128, -1, "pg_tde-principal");
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_first(&r)), KMIP_RESULT_REASON_OBJECT_ALREADY_EXISTS);
	kt_resp_free(&r);
	/* Locate(Name) for each tenant: its own one */
	const struct kmip_peer *who[] = {&kt_alice, &kt_bob};
	const char *expect[] = {uid, other};
	for (int i = 0; i < 2; i++) {
		kt_begin(&q, 4, 1);
		kt_item(&q, KMIP_OPERATION_LOCATE);
		kt_attr_name(&q, "pg_tde-principal");
		kt_item_end(&q);
		kt_run(&q, who[i], &r);
		const struct ttlv_item *pl = kt_payload(kt_first(&r));
		CU_ASSERT_EQUAL(ttlv_count(pl, KMIP_TAG_UNIQUE_IDENTIFIER), 1);
		CU_ASSERT(same(ttlv_find(pl, KMIP_TAG_UNIQUE_IDENTIFIER), (const uint8_t *)expect[i], strlen(expect[i])));
		kt_resp_free(&r);
	}
	/* destroyed, the name is free: Percona MySQL erases (Revoke, Destroy)
	 * and may store the same key id again */
	kt_begin(&q, 4, 2);
	kt_revoke_item(&q, uid, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION);
	kt_item(&q, KMIP_OPERATION_DESTROY);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(state_of(&kt_alice, uid), KMIP_STATE_DESTROYED);
	CU_ASSERT_EQUAL(reg(&kt_alice, &o, dup), 0);
	/* bob sees none of alice's objects by any operation */
	CU_ASSERT_EQUAL(simple(&kt_bob, KMIP_OPERATION_ACTIVATE, dup), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(get_reason(&kt_bob, dup, KMIP_KEY_FORMAT_TYPE_TRANSPARENT_SYMMETRIC_KEY),
			KMIP_RESULT_REASON_ITEM_NOT_FOUND);
}

/* A Name in Create Key Pair's Common Template-Attribute would name both
 * parts alike, which §3.2 forbids: refused (Object Already Exists at 1.4)
 * and neither part is stored (the pair is one transaction). */
static void test_keypair_common_name(void)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_CREATE_KEY_PAIR);
	ttlv_enc_begin(&q.e, KMIP_TAG_COMMON_TEMPLATE_ATTRIBUTE);
	kt_attr_enum(&q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_EC);
	kt_attr_int(&q, "Cryptographic Length", 256);
	kt_attr_name(&q, "pair-common");
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_first(&r)), KMIP_RESULT_REASON_OBJECT_ALREADY_EXISTS);
	CU_ASSERT(kt_has_message(kt_first(&r)));
	kt_resp_free(&r);
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_LOCATE);
	kt_attr_name(&q, "pair-common");
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_first(&r)), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(ttlv_count(kt_payload(kt_first(&r)), KMIP_TAG_UNIQUE_IDENTIFIER), 0);
	kt_resp_free(&r);
}

/* Query Objects lists every type fount stores (§4.25). */
static void test_query_objects(void)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_QUERY);
	ttlv_enc_enum(&q.e, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_OBJECTS);
	ttlv_enc_enum(&q.e, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_OPERATIONS);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	const struct ttlv_item *pl = kt_payload(kt_first(&r));
	unsigned seen = 0;
	for (const struct ttlv_item *t = ttlv_find(pl, KMIP_TAG_OBJECT_TYPE); t != NULL; t = ttlv_find_next(t))
		if (t->u < 32)
			seen |= 1u << t->u;
	unsigned want = 1u << KMIP_OBJECT_TYPE_SYMMETRIC_KEY | 1u << KMIP_OBJECT_TYPE_CERTIFICATE |
			1u << KMIP_OBJECT_TYPE_PUBLIC_KEY | 1u << KMIP_OBJECT_TYPE_PRIVATE_KEY |
			1u << KMIP_OBJECT_TYPE_SECRET_DATA | 1u << KMIP_OBJECT_TYPE_OPAQUE_OBJECT;
	CU_ASSERT_EQUAL(seen, want);
	bool reg_listed = false;
	for (const struct ttlv_item *t = ttlv_find(pl, KMIP_TAG_OPERATION); t != NULL; t = ttlv_find_next(t))
		reg_listed |= t->u == KMIP_OPERATION_REGISTER;
	CU_ASSERT(reg_listed);
	kt_resp_free(&r);
}

TEST_SUITE(kmip_register, suite_init, suite_clean, TEST(test_psmdb_register), TEST(test_transparent_symmetric),
	   TEST(test_psmdb_base64), TEST(test_bad_symmetric), TEST(test_secret_data),
	   TEST(test_opaque_and_certificate), TEST(test_private_keys), TEST(test_public_keys),
	   TEST(test_wrapped_get), TEST(test_wrapped_get_refusals), TEST(test_tenants_and_names),
	   TEST(test_keypair_common_name), TEST(test_query_objects))
