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
#include "tests/kmip_inproc.h"

static int suite_init(void)
{
	return kt_init(&(struct kt_suite){.tag = "kmipobj"});
}

static int suite_clean(void)
{
	return kt_clean();
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
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 2, 12, NULL, uid));

	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 2, 1);
	kt_uid_item(&q, KMIP_OPERATION_GET, uid);
	kt_run(&q, &kt_alice, &r);
	const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
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
	EXPECT_OK(store_access_count(kt_store, uid, &n));
	CU_ASSERT_EQUAL(n, 1);
	kt_resp_free(&r);

	/* GetAttributes(State): Pre-Active, State alone */
	kt_begin(&q, 2, 1);
	kt_item(&q, KMIP_OPERATION_GET_ATTRIBUTES);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "State");
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	p = kt_payload(kt_nth(&r, 0));
	CU_ASSERT_EQUAL(ttlv_count(p, KMIP_TAG_ATTRIBUTE), 1);
	const struct ttlv_item *a = ttlv_find(p, KMIP_TAG_ATTRIBUTE);
	CU_ASSERT_EQUAL(ttlv_find(a, KMIP_TAG_ATTRIBUTE_VALUE)->u, KMIP_STATE_PRE_ACTIVE);
	kt_resp_free(&r);

	/* several names: exactly those, in request order (an absent x- name is
	 * omitted: vCenter probes), whatever order fount keeps them in */
	static const char *const asked[] = {"State", "x-Product", "Unique Identifier", "Cryptographic Length",
					    "Object Type", "Cryptographic Algorithm"};
	kt_begin(&q, 2, 1);
	kt_item(&q, KMIP_OPERATION_GET_ATTRIBUTES);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	for (size_t i = 0; i < ARRAY_SIZE(asked); i++)
		ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, asked[i]);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	p = kt_payload(kt_nth(&r, 0));
	CU_ASSERT_EQUAL(ttlv_count(p, KMIP_TAG_ATTRIBUTE), ARRAY_SIZE(asked) - 1);
	size_t k = 0;
	for (a = ttlv_find(p, KMIP_TAG_ATTRIBUTE); a != NULL; a = ttlv_find_next(a), k++) {
		if (k == 1)
			k++; /* x-Product: absent */
		const struct ttlv_item *an = ttlv_find(a, KMIP_TAG_ATTRIBUTE_NAME);
		CU_ASSERT(k < ARRAY_SIZE(asked) && an != NULL && an->len == strlen(asked[k]) &&
			  memcmp(an->val, asked[k], an->len) == 0);
	}
	kt_resp_free(&r);

	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_ACTIVATE, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	/* a second Activate is a success too (mongod re-activates at start) */
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_ACTIVATE, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
}

/* OASIS SKLC-M-2-14: Destroy of an Active key is Permission Denied; after
 * Revoke it is destroyed; its attributes stay, Get is refused. */
static void test_lifecycle_refusals(void)
{
	char uid[STORE_ID_MAX + 1];
	uint32_t why = 0;
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 2, 12, "life", uid));
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_ACTIVATE, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);

	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_revoke_item(&q, uid, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);

	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_GET, uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	/* the attributes stay: State is Destroyed, the Digest is there */
	kt_begin(&q, 4, 1);
	kt_uid_item(&q, KMIP_OPERATION_GET_ATTRIBUTES, uid);
	kt_run(&q, &kt_alice, &r);
	const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
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
	kt_resp_free(&r);
	/* an unknown identifier, and a Create of something fount does not make */
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_GET, "no-such-id", &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	kt_begin(&q, 4, 1);
	kt_create_item(&q, 100, 12, NULL);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);
}

/* Tenant B cannot get, read attributes of, activate, revoke, destroy or
 * locate tenant A's key: Item Not Found, as for a key that never was. An
 * admin manages it but gets no key material. */
static void test_tenant_isolation(void)
{
	char uid[STORE_ID_MAX + 1];
	uint32_t why = 0;
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 2, 0, "alice-only", uid));
	static const uint32_t ops[] = {KMIP_OPERATION_GET, KMIP_OPERATION_GET_ATTRIBUTES, KMIP_OPERATION_ACTIVATE,
				       KMIP_OPERATION_DESTROY};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		CU_ASSERT_EQUAL(kt_one(&kt_bob, ops[i], uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
		CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	}
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_LOCATE);
	kt_attr_name(&q, "alice-only");
	kt_item_end(&q);
	kt_run(&q, &kt_bob, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(ttlv_count(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER), 0);
	kt_resp_free(&r);
	/* the admin: attributes and lifecycle yes, key material no */
	CU_ASSERT_EQUAL(kt_one(&kt_admin, KMIP_OPERATION_GET_ATTRIBUTES, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kt_one(&kt_admin, KMIP_OPERATION_GET, uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	CU_ASSERT_EQUAL(kt_one(&kt_admin, KMIP_OPERATION_ACTIVATE, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	/* and alice still has it, Active now */
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_GET, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
}

/* One batch, no identifiers after the first item: Create, Activate, Get
 * take the ID Placeholder. */
static void test_id_placeholder(void)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 3);
	kt_create_item(&q, 128, 12, NULL);
	kt_uid_item(&q, KMIP_OPERATION_ACTIVATE, NULL);
	kt_uid_item(&q, KMIP_OPERATION_GET, NULL);
	kt_run(&q, &kt_alice, &r);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(kt_status(kt_nth(&r, i)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *u0 = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER);
	const struct ttlv_item *u2 = ttlv_find(kt_payload(kt_nth(&r, 2)), KMIP_TAG_UNIQUE_IDENTIFIER);
	CU_ASSERT(u0 != NULL && u2 != NULL && u0->len == u2->len && memcmp(u0->val, u2->val, u0->len) == 0);
	const struct ttlv_item *kb = ttlv_find(ttlv_find(kt_payload(kt_nth(&r, 2)), KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK);
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)), 128);
	kt_resp_free(&r);
	/* a first item without an identifier has nothing to take */
	kt_begin(&q, 4, 1);
	kt_uid_item(&q, KMIP_OPERATION_GET, NULL);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);
}

/* Locate by Name is exact (pg_tde wants one), and pages: 20 keys in one
 * Object Group, 16 at a time with Offset Items, Located Items the total. */
static void test_locate_paging(void)
{
	char uid[STORE_ID_MAX + 1];
	for (int i = 0; i < 20; i++) {
		struct kt_req q;
		struct kt_resp r;
		char name[32];
		snprintf(name, sizeof name, "page-%02d", i);
		kt_begin(&q, 4, 1);
		kt_create_begin(&q, 256);
		kt_attr_name(&q, name);
		kt_attr_text(&q, "Object Group", "paged");
		kt_create_end(&q);
		kt_run(&q, &kt_bob, &r);
		CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
		kt_resp_free(&r);
	}
	(void)uid;
	size_t seen = 0;
	for (int offset = 0; offset < 40; offset += 16) {
		struct kt_req q;
		struct kt_resp r;
		kt_begin(&q, 4, 1);
		kt_item(&q, KMIP_OPERATION_LOCATE);
		ttlv_enc_int(&q.e, KMIP_TAG_MAXIMUM_ITEMS, 16);
		ttlv_enc_int(&q.e, KMIP_TAG_OFFSET_ITEMS, offset);
		ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
		ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "Object Group");
		ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, "paged");
		ttlv_enc_end(&q.e);
		kt_item_end(&q);
		kt_run(&q, &kt_bob, &r);
		const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
		size_t n = ttlv_count(p, KMIP_TAG_UNIQUE_IDENTIFIER);
		CU_ASSERT_EQUAL(n, offset == 0 ? 16 : offset == 16 ? 4 : 0);
		const struct ttlv_item *li = ttlv_find(p, KMIP_TAG_LOCATED_ITEMS);
		CU_ASSERT(li != NULL && ttlv_int(li) == 20);
		seen += n;
		kt_resp_free(&r);
	}
	CU_ASSERT_EQUAL(seen, 20);
	/* exact name: one */
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_LOCATE);
	kt_attr_name(&q, "page-07");
	kt_item_end(&q);
	kt_run(&q, &kt_bob, &r);
	CU_ASSERT_EQUAL(ttlv_count(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER), 1);
	kt_resp_free(&r);
}

/* A Name is unique per tenant by its Name Value (KMIP 1.4 §3.2): one too
 * long to be claimed (256 bytes or more) is refused, at Create and at Add
 * Attribute, rather than kept unclaimed (found in review: such a Name
 * escaped the uniqueness rule and Locate). */
static void test_long_name_refused(void)
{
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_create_item(&q, 256, 12, longname);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, NULL, uid));
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_ADD_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	kt_attr_name(&q, longname);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);
	/* 255 bytes is a Name, and a second object cannot take it */
	longname[255] = '\0';
	char a[STORE_ID_MAX + 1];
	CU_ASSERT(kt_create_one(&kt_alice, 4, 12, longname, a));
	kt_begin(&q, 4, 1);
	kt_create_item(&q, 256, 12, longname);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	kt_resp_free(&r);
}

TEST_SUITE(kmip_objects, suite_init, suite_clean, TEST(test_mongod_sequence), TEST(test_lifecycle_refusals),
	   TEST(test_tenant_isolation), TEST(test_id_placeholder), TEST(test_locate_paging),
	   TEST(test_long_name_refused))
