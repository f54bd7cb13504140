/* tests/test_kmip_objects.c — the KMIP object operations through
 * kmip_process on a real store: the shapes strict clients need (mongod's
 * Create -> Get -> Activate -> GetAttributes(State); Get's Raw key block
 * with algorithm and length), the lifecycle refusals of the OASIS SKLC
 * cases, tenant isolation, the ID Placeholder in one batch, and Locate's
 * paging (kmippp asks 16 at a time with Offset Items). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/ops.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "tests/helpers.h"

static struct config cfg;
static char dir[64];
static struct store *st;
static bool open_gate(void)
{
	return true;
}

static const struct kmip_peer alice = {.tenant = "alice"};
static const struct kmip_peer bob = {.tenant = "bob"};
static const struct kmip_peer admin = {.tenant = "ops", .admin = true};

static int suite_init(void)
{
	testlib_config(&cfg);
	if (keygen_init(&cfg) != ERR_OK)
		return -1;
	err_t r = entropy_init(&cfg);
	if (r != ERR_OK && r != ERR_USAGE)
		return -1;
	drbg_set_gate(open_gate);
	keygen_set_service_gate(open_gate);
	if (drbg_tree_init(&cfg) != ERR_OK || testlib_tmpdir_create(dir, "kmipobj") != 0)
		return -1;
	char db[128], kek[128], why[256];
	snprintf(db, sizeof db, "%s/fount.db", dir);
	snprintf(kek, sizeof kek, "file:%s/store.kek", dir);
	struct store_options o = {.path = db, .kek = kek};
	if (store_open(&o, &st, why, sizeof why) != ERR_OK) {
		fprintf(stderr, "store_open: %s\n", why);
		return -1;
	}
	ops_set_store(st, false);
	return 0;
}

static int suite_clean(void)
{
	ops_set_store(NULL, false);
	store_close(st);
	drbg_tree_shutdown();
	drbg_set_gate(NULL);
	keygen_set_service_gate(NULL);
	entropy_shutdown();
	testlib_tmpdir_remove(dir);
	return 0;
}

/* ---- requests -------------------------------------------------------------- */
struct req {
	struct ttlv_enc e;
};

static void begin(struct req *q, int minor, int count)
{
	ttlv_enc_init(&q->e, 1 << 16);
	ttlv_enc_begin(&q->e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_enc_begin(&q->e, KMIP_TAG_REQUEST_HEADER);
	ttlv_enc_begin(&q->e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(&q->e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(&q->e, KMIP_TAG_PROTOCOL_VERSION_MINOR, minor);
	ttlv_enc_end(&q->e);
	ttlv_enc_int(&q->e, KMIP_TAG_BATCH_COUNT, count);
	ttlv_enc_end(&q->e);
}

static void item(struct req *q, uint32_t op)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(&q->e, KMIP_TAG_OPERATION, op);
	ttlv_enc_begin(&q->e, KMIP_TAG_REQUEST_PAYLOAD);
}

static void item_end(struct req *q)
{
	ttlv_enc_end(&q->e);
	ttlv_enc_end(&q->e);
}

static void attr_enum(struct req *q, const char *name, uint32_t v)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, name);
	ttlv_enc_enum(&q->e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_enc_end(&q->e);
}

static void attr_int(struct req *q, const char *name, int32_t v)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, name);
	ttlv_enc_int(&q->e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_enc_end(&q->e);
}

static void attr_name(struct req *q, const char *v)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, "Name");
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_NAME_VALUE, v);
	ttlv_enc_enum(&q->e, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
	ttlv_enc_end(&q->e);
	ttlv_enc_end(&q->e);
}

/* create_item: Create AES-|bits| with |mask| (-1: no mask) and a Name */
static void create_item(struct req *q, int bits, int32_t mask, const char *name)
{
	item(q, KMIP_OPERATION_CREATE);
	ttlv_enc_enum(&q->e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_begin(&q->e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	attr_enum(q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	attr_int(q, "Cryptographic Length", bits);
	if (mask >= 0)
		attr_int(q, "Cryptographic Usage Mask", mask);
	if (name != NULL)
		attr_name(q, name);
	ttlv_enc_end(&q->e);
	item_end(q);
}

static void uid_item(struct req *q, uint32_t op, const char *uid)
{
	item(q, op);
	if (uid != NULL)
		ttlv_enc_cstr(&q->e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	item_end(q);
}

/* ---- responses ----------------------------------------------------------- */
struct resp {
	struct ttlv_enc raw;
	struct ttlv_doc doc;
};

static void run(struct req *q, const struct kmip_peer *p, struct resp *r)
{
	ttlv_enc_end(&q->e);
	EXPECT_OK(ttlv_enc_finish(&q->e));
	EXPECT_OK(kmip_process(q->e.buf, q->e.len, p, 1 << 20, &r->raw));
	CU_ASSERT_EQUAL_FATAL(ttlv_decode(&r->doc, r->raw.buf, r->raw.len), ERR_OK);
	ttlv_enc_free(&q->e);
}

static void resp_free(struct resp *r)
{
	ttlv_doc_free(&r->doc);
	ttlv_enc_free(&r->raw);
}

static const struct ttlv_item *nth(const struct resp *r, int n)
{
	const struct ttlv_item *it = ttlv_find(ttlv_root(&r->doc), KMIP_TAG_BATCH_ITEM);
	while (it != NULL && n-- > 0)
		it = ttlv_find_next(it);
	return it;
}

static uint32_t status(const struct ttlv_item *it)
{
	const struct ttlv_item *s = ttlv_find(it, KMIP_TAG_RESULT_STATUS);
	return s != NULL ? (uint32_t)s->u : 0xFFFFFFFFu;
}

static uint32_t reason(const struct ttlv_item *it)
{
	const struct ttlv_item *s = ttlv_find(it, KMIP_TAG_RESULT_REASON);
	return s != NULL ? (uint32_t)s->u : 0;
}

static const struct ttlv_item *payload(const struct ttlv_item *it)
{
	return ttlv_find(it, KMIP_TAG_RESPONSE_PAYLOAD);
}

/* create_one creates a key for |p| and copies its identifier to |uid| */
static bool create_one(const struct kmip_peer *p, int32_t mask, const char *name, char uid[STORE_ID_MAX + 1])
{
	struct req q;
	struct resp r;
	begin(&q, 2, 1);
	create_item(&q, 256, mask, name);
	run(&q, p, &r);
	const struct ttlv_item *u = ttlv_find(payload(nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER);
	bool ok = status(nth(&r, 0)) == KMIP_RESULT_STATUS_SUCCESS && u != NULL && u->len <= STORE_ID_MAX;
	if (ok) {
		memcpy(uid, u->val, u->len);
		uid[u->len] = '\0';
	}
	resp_free(&r);
	return ok;
}

/* one runs a single-item request on |uid| and returns its status */
static uint32_t one(const struct kmip_peer *p, uint32_t op, const char *uid, uint32_t *out_reason)
{
	struct req q;
	struct resp r;
	begin(&q, 4, 1);
	uid_item(&q, op, uid);
	run(&q, p, &r);
	uint32_t s = status(nth(&r, 0));
	if (out_reason != NULL)
		*out_reason = reason(nth(&r, 0));
	resp_free(&r);
	return s;
}

/* ---- tests ------------------------------------------------------------------*/

/* mongod's sequence (kmip-clients §2): Create (mask Encrypt|Decrypt, no
 * Name) answers Object Type then UID; Get answers Object Type, UID and a
 * Raw 32-byte Byte String key with Algorithm and Length in the Key Block;
 * Activate answers the UID; GetAttributes(State) answers the UID and State
 * alone. The key starts Pre-Active. */
static void test_mongod_sequence(void)
{
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(create_one(&alice, 12, NULL, uid));

	struct req q;
	struct resp r;
	begin(&q, 2, 1);
	uid_item(&q, KMIP_OPERATION_GET, uid);
	run(&q, &alice, &r);
	const struct ttlv_item *p = payload(nth(&r, 0));
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(p->child != NULL && p->child->tag == KMIP_TAG_OBJECT_TYPE && p->child->next != NULL &&
		  p->child->next->tag == KMIP_TAG_UNIQUE_IDENTIFIER);
	const struct ttlv_item *kb = ttlv_find(ttlv_find(p, KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(kb);
	CU_ASSERT_EQUAL(ttlv_find(kb, KMIP_TAG_KEY_FORMAT_TYPE)->u, KMIP_KEY_FORMAT_TYPE_RAW);
	const struct ttlv_item *km = ttlv_find(ttlv_find(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL);
	CU_ASSERT(km != NULL && km->type == TTLV_BYTES && km->len == 32);
	/* no attributes in the Key Value (libkmip, PSMDB) */
	CU_ASSERT_PTR_NULL(ttlv_find(ttlv_find(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_ATTRIBUTE));
	CU_ASSERT_EQUAL(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM)->u, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)), 256);
	/* the access was recorded */
	uint64_t n = 0;
	EXPECT_OK(store_access_count(st, uid, &n));
	CU_ASSERT_EQUAL(n, 1);
	resp_free(&r);

	/* GetAttributes(State): Pre-Active, State alone */
	begin(&q, 2, 1);
	item(&q, KMIP_OPERATION_GET_ATTRIBUTES);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "State");
	item_end(&q);
	run(&q, &alice, &r);
	p = payload(nth(&r, 0));
	CU_ASSERT_EQUAL(ttlv_count(p, KMIP_TAG_ATTRIBUTE), 1);
	const struct ttlv_item *a = ttlv_find(p, KMIP_TAG_ATTRIBUTE);
	CU_ASSERT_EQUAL(ttlv_find(a, KMIP_TAG_ATTRIBUTE_VALUE)->u, KMIP_STATE_PRE_ACTIVE);
	resp_free(&r);

	CU_ASSERT_EQUAL(one(&alice, KMIP_OPERATION_ACTIVATE, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	/* a second Activate is a success too (mongod re-activates at start) */
	CU_ASSERT_EQUAL(one(&alice, KMIP_OPERATION_ACTIVATE, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
}

/* OASIS SKLC-M-2-14: Destroy of an Active key is Permission Denied; after
 * Revoke it is destroyed; its attributes stay, Get is refused. */
static void test_lifecycle_refusals(void)
{
	char uid[STORE_ID_MAX + 1];
	uint32_t why = 0;
	CU_ASSERT_FATAL(create_one(&alice, 12, "life", uid));
	CU_ASSERT_EQUAL(one(&alice, KMIP_OPERATION_ACTIVATE, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(one(&alice, KMIP_OPERATION_DESTROY, uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);

	struct req q;
	struct resp r;
	begin(&q, 4, 1);
	item(&q, KMIP_OPERATION_REVOKE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_begin(&q.e, KMIP_TAG_REVOCATION_REASON);
	ttlv_enc_enum(&q.e, KMIP_TAG_REVOCATION_REASON_CODE, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION);
	ttlv_enc_end(&q.e);
	item_end(&q);
	run(&q, &alice, &r);
	CU_ASSERT_EQUAL(status(nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	resp_free(&r);

	CU_ASSERT_EQUAL(one(&alice, KMIP_OPERATION_DESTROY, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(one(&alice, KMIP_OPERATION_GET, uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	/* the attributes stay: State is Destroyed, the Digest is there */
	begin(&q, 4, 1);
	uid_item(&q, KMIP_OPERATION_GET_ATTRIBUTES, uid);
	run(&q, &alice, &r);
	const struct ttlv_item *p = payload(nth(&r, 0));
	bool destroyed = false, digest = false, name = false;
	for (const struct ttlv_item *a = ttlv_find(p, KMIP_TAG_ATTRIBUTE); a != NULL; a = ttlv_find_next(a)) {
		const struct ttlv_item *n = ttlv_find(a, KMIP_TAG_ATTRIBUTE_NAME);
		const struct ttlv_item *v = ttlv_find(a, KMIP_TAG_ATTRIBUTE_VALUE);
		if (n->len == 5 && memcmp(n->val, "State", 5) == 0)
			destroyed = v->u == KMIP_STATE_DESTROYED;
		if (n->len == 6 && memcmp(n->val, "Digest", 6) == 0)
			digest = ttlv_find(v, KMIP_TAG_DIGEST_VALUE) != NULL;
		if (n->len == 4 && memcmp(n->val, "Name", 4) == 0)
			name = ttlv_find(v, KMIP_TAG_NAME_VALUE) != NULL;
	}
	CU_ASSERT(destroyed && digest && name);
	resp_free(&r);
	/* an unknown identifier, and a Create of something fount does not make */
	CU_ASSERT_EQUAL(one(&alice, KMIP_OPERATION_GET, "no-such-id", &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	begin(&q, 4, 1);
	create_item(&q, 100, 12, NULL);
	run(&q, &alice, &r);
	CU_ASSERT_EQUAL(reason(nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	resp_free(&r);
}

/* Tenant B cannot get, read attributes of, activate, revoke, destroy or
 * locate tenant A's key: Item Not Found, as for a key that never was. An
 * admin manages it but gets no key material. */
static void test_tenant_isolation(void)
{
	char uid[STORE_ID_MAX + 1];
	uint32_t why = 0;
	CU_ASSERT_FATAL(create_one(&alice, 0, "alice-only", uid));
	static const uint32_t ops[] = {KMIP_OPERATION_GET, KMIP_OPERATION_GET_ATTRIBUTES, KMIP_OPERATION_ACTIVATE,
				       KMIP_OPERATION_DESTROY};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		CU_ASSERT_EQUAL(one(&bob, ops[i], uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
		CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	}
	struct req q;
	struct resp r;
	begin(&q, 4, 1);
	item(&q, KMIP_OPERATION_LOCATE);
	attr_name(&q, "alice-only");
	item_end(&q);
	run(&q, &bob, &r);
	CU_ASSERT_EQUAL(status(nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(ttlv_count(payload(nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER), 0);
	resp_free(&r);
	/* the admin: attributes and lifecycle yes, key material no */
	CU_ASSERT_EQUAL(one(&admin, KMIP_OPERATION_GET_ATTRIBUTES, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(one(&admin, KMIP_OPERATION_GET, uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	CU_ASSERT_EQUAL(one(&admin, KMIP_OPERATION_ACTIVATE, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	/* and alice still has it, Active now */
	CU_ASSERT_EQUAL(one(&alice, KMIP_OPERATION_GET, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
}

/* One batch, no identifiers after the first item: Create, Activate, Get
 * take the ID Placeholder. */
static void test_id_placeholder(void)
{
	struct req q;
	struct resp r;
	begin(&q, 4, 3);
	create_item(&q, 128, 12, NULL);
	uid_item(&q, KMIP_OPERATION_ACTIVATE, NULL);
	uid_item(&q, KMIP_OPERATION_GET, NULL);
	run(&q, &alice, &r);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(status(nth(&r, i)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *u0 = ttlv_find(payload(nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER);
	const struct ttlv_item *u2 = ttlv_find(payload(nth(&r, 2)), KMIP_TAG_UNIQUE_IDENTIFIER);
	CU_ASSERT(u0 != NULL && u2 != NULL && u0->len == u2->len && memcmp(u0->val, u2->val, u0->len) == 0);
	const struct ttlv_item *kb = ttlv_find(ttlv_find(payload(nth(&r, 2)), KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK);
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)), 128);
	resp_free(&r);
	/* a first item without an identifier has nothing to take */
	begin(&q, 4, 1);
	uid_item(&q, KMIP_OPERATION_GET, NULL);
	run(&q, &alice, &r);
	CU_ASSERT_EQUAL(reason(nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	resp_free(&r);
}

/* Locate by Name is exact (pg_tde wants one), and pages: 20 keys in one
 * Object Group, 16 at a time with Offset Items, Located Items the total. */
static void test_locate_paging(void)
{
	char uid[STORE_ID_MAX + 1];
	for (int i = 0; i < 20; i++) {
		struct req q;
		struct resp r;
		char name[32];
		snprintf(name, sizeof name, "page-%02d", i);
		begin(&q, 4, 1);
		item(&q, KMIP_OPERATION_CREATE);
		ttlv_enc_enum(&q.e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
		ttlv_enc_begin(&q.e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
		attr_enum(&q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
		attr_int(&q, "Cryptographic Length", 256);
		attr_name(&q, name);
		ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
		ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "Object Group");
		ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, "paged");
		ttlv_enc_end(&q.e);
		ttlv_enc_end(&q.e);
		item_end(&q);
		run(&q, &bob, &r);
		CU_ASSERT_EQUAL(status(nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
		resp_free(&r);
	}
	(void)uid;
	size_t seen = 0;
	for (int offset = 0; offset < 40; offset += 16) {
		struct req q;
		struct resp r;
		begin(&q, 4, 1);
		item(&q, KMIP_OPERATION_LOCATE);
		ttlv_enc_int(&q.e, KMIP_TAG_MAXIMUM_ITEMS, 16);
		ttlv_enc_int(&q.e, KMIP_TAG_OFFSET_ITEMS, offset);
		ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
		ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "Object Group");
		ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, "paged");
		ttlv_enc_end(&q.e);
		item_end(&q);
		run(&q, &bob, &r);
		const struct ttlv_item *p = payload(nth(&r, 0));
		size_t n = ttlv_count(p, KMIP_TAG_UNIQUE_IDENTIFIER);
		CU_ASSERT_EQUAL(n, offset == 0 ? 16 : offset == 16 ? 4 : 0);
		const struct ttlv_item *li = ttlv_find(p, KMIP_TAG_LOCATED_ITEMS);
		CU_ASSERT(li != NULL && ttlv_int(li) == 20);
		seen += n;
		resp_free(&r);
	}
	CU_ASSERT_EQUAL(seen, 20);
	/* exact name: one */
	struct req q;
	struct resp r;
	begin(&q, 4, 1);
	item(&q, KMIP_OPERATION_LOCATE);
	attr_name(&q, "page-07");
	item_end(&q);
	run(&q, &bob, &r);
	CU_ASSERT_EQUAL(ttlv_count(payload(nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER), 1);
	resp_free(&r);
}

TEST_SUITE(kmip_objects, suite_init, suite_clean, TEST(test_mongod_sequence), TEST(test_lifecycle_refusals),
	   TEST(test_tenant_isolation), TEST(test_id_placeholder), TEST(test_locate_paging))
