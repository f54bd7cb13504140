/* tests/test_kmip_attrs.c — the KMIP attribute operations through
 * kmip_process on a real store: the attribute table against the store's own
 * rules, Get Attribute List, Add/Modify/Delete Attribute and Check (KMIP
 * 1.4 §4.10, §4.13-§4.16, errors §11.11, §11.15-§11.17), vCenter's batch of
 * three Add Attributes (kmip-clients §1), version filtering (a 1.0 request
 * never sees Original Creation Date or Random Number Generator), Locate by
 * dates, usage mask and custom attributes, tenant isolation and
 * [kmip] admin_key_access. */
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

static const struct kmip_peer carol = {.tenant = "carol"};

static int suite_init(void)
{
	return kt_init(&(struct kt_suite){.tag = "kmipattr"});
}

static int suite_clean(void)
{
	return kt_clean();
}

/* ---- responses ------------------------------------------------------------ */
static bool text_is(const struct ttlv_item *it, const char *s)
{
	return it != NULL && it->type == TTLV_TEXT && it->len == strlen(s) && memcmp(it->val, s, it->len) == 0;
}

/* attr_of finds the Attribute named |name| with index |index| in |p| */
static const struct ttlv_item *attr_of(const struct ttlv_item *p, const char *name, int32_t index)
{
	for (const struct ttlv_item *a = ttlv_find(p, KMIP_TAG_ATTRIBUTE); a != NULL; a = ttlv_find_next(a)) {
		const struct ttlv_item *ix = ttlv_find(a, KMIP_TAG_ATTRIBUTE_INDEX);
		if (text_is(ttlv_find(a, KMIP_TAG_ATTRIBUTE_NAME), name) && (ix != NULL ? ttlv_int(ix) : 0) == index)
			return a;
	}
	return NULL;
}

static const struct ttlv_item *value_of(const struct ttlv_item *p, const char *name, int32_t index)
{
	return ttlv_find(attr_of(p, name, index), KMIP_TAG_ATTRIBUTE_VALUE);
}

/* get_attrs runs Get Attributes of |uid| at 1.|minor| for |name| (NULL:
 * all) into |r| */
static void get_attrs(const struct kmip_peer *p, int minor, const char *uid, const char *name, struct kt_resp *r)
{
	struct kt_req q;
	kt_begin(&q, minor, 1);
	kt_item(&q, KMIP_OPERATION_GET_ATTRIBUTES);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	if (name != NULL)
		ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, name);
	kt_item_end(&q);
	kt_run(&q, p, r);
}

/* add_text adds text attribute |name| = |v| to |uid| at 1.|minor|:
 * returns the status, *out_reason the reason, *out_index the index */
static uint32_t add_text(const struct kmip_peer *p, int minor, const char *uid, const char *name, const char *v,
			 uint32_t *out_reason, int32_t *out_index)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, minor, 1);
	kt_item(&q, KMIP_OPERATION_ADD_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	kt_attr_text(&q, name, v);
	kt_item_end(&q);
	kt_run(&q, p, &r);
	uint32_t s = kt_status(kt_nth(&r, 0));
	if (out_reason != NULL)
		*out_reason = kt_reason(kt_nth(&r, 0));
	if (out_index != NULL) {
		const struct ttlv_item *ix = ttlv_find(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_ATTRIBUTE),
						       KMIP_TAG_ATTRIBUTE_INDEX);
		*out_index = ix != NULL ? ttlv_int(ix) : 0;
	}
	kt_resp_free(&r);
	return s;
}

/* modify_one runs Modify Attribute of (|name|, |index| or none when < 0)
 * to the text |v|; the response stays in |r| */
static void modify_text(const struct kmip_peer *p, const char *uid, const char *name, int32_t index, const char *v,
			struct kt_resp *r)
{
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_MODIFY_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, name);
	if (index >= 0)
		ttlv_enc_int(&q.e, KMIP_TAG_ATTRIBUTE_INDEX, index);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, p, r);
}

/* delete_one runs Delete Attribute of (|name|, |index| or none) */
static void delete_one(const struct kmip_peer *p, const char *uid, const char *name, int32_t index, struct kt_resp *r)
{
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_DELETE_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, name);
	if (index >= 0)
		ttlv_enc_int(&q.e, KMIP_TAG_ATTRIBUTE_INDEX, index);
	kt_item_end(&q);
	kt_run(&q, p, r);
}

/* get_key copies |uid|'s key material (Get) to |out| (32 bytes) */
static uint32_t get_key(const struct kmip_peer *p, const char *uid, uint8_t out[32], uint32_t *out_reason)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_uid_item(&q, KMIP_OPERATION_GET, uid);
	kt_run(&q, p, &r);
	uint32_t s = kt_status(kt_nth(&r, 0));
	if (out_reason != NULL)
		*out_reason = kt_reason(kt_nth(&r, 0));
	const struct ttlv_item *kb = ttlv_find(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK);
	const struct ttlv_item *km = ttlv_find(ttlv_find(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL);
	memset(out, 0, 32);
	if (km != NULL && km->len == 32)
		memcpy(out, km->val, 32);
	kt_resp_free(&r);
	return s;
}

/* ---- the table -------------------------------------------------------------- */

/* The table agrees with the store: every name the store keeps itself is
 * read-only to clients here (so a client's Add never reaches a store
 * refusal), the names clients may write are not kept by the store, and
 * their multi-instance rule is the store's. Versions per KMIP 1.2 §3.40-
 * §3.43, 1.3 §3.44, 1.4 §3.45-§3.51, 1.1 (PyKMIP policy.py). */
static void test_table(void)
{
	const struct kmip_attr_rule *rules;
	size_t n = kmip_attr_rules(&rules);
	CU_ASSERT(n >= 50);
	for (size_t i = 0; i < n; i++) {
		const char *name = rules[i].name;
		if (store_attr_is_managed(name))
			CU_ASSERT((rules[i].flags & KMIP_ATTR_SERVER) != 0);
		if (!(rules[i].flags & KMIP_ATTR_SERVER)) {
			CU_ASSERT_FALSE(store_attr_is_managed(name));
			CU_ASSERT_EQUAL((rules[i].flags & KMIP_ATTR_MULTI) != 0, store_attr_is_multi(name));
		}
		CU_ASSERT_PTR_EQUAL(kmip_attr_rule(name), &rules[i]);
	}
	static const char *const store_kept[] = {"Unique Identifier", "Object Type", "State", "Initial Date",
						 "Activation Date", "Random Number Generator", "Lease Time", "Fresh"};
	for (size_t i = 0; i < ARRAY_SIZE(store_kept); i++)
		CU_ASSERT(store_attr_is_managed(store_kept[i]) &&
			  (kmip_attr_rule(store_kept[i])->flags & KMIP_ATTR_SERVER));
	static const struct {
		const char *name;
		int32_t since;
	} first[] = {
		{"Name", 0}, {"Object Group", 0}, {"Fresh", 1}, {"Certificate Length", 1},
		{"Digital Signature Algorithm", 1}, {"Alternative Name", 2}, {"Key Value Present", 2},
		{"Key Value Location", 2}, {"Original Creation Date", 2}, {"Random Number Generator", 3},
		{"PKCS#12 Friendly Name", 4}, {"Description", 4}, {"Comment", 4}, {"Sensitive", 4},
		{"Never Extractable", 4},
	};
	for (size_t i = 0; i < ARRAY_SIZE(first); i++) {
		CU_ASSERT_EQUAL(kmip_attr_rule(first[i].name)->since, first[i].since);
		CU_ASSERT_FALSE(first[i].since > 0 && kmip_attr_defined(first[i].name, first[i].since - 1));
		CU_ASSERT(kmip_attr_defined(first[i].name, first[i].since));
	}
	/* custom attributes: any version, several instances, client-set */
	CU_ASSERT(kmip_attr_defined("x-Vendor", 0) && kmip_attr_defined("y-internal", 1));
	CU_ASSERT((kmip_attr_rule("x-Vendor")->flags & (KMIP_ATTR_MULTI | KMIP_ATTR_SERVER)) == KMIP_ATTR_MULTI);
	CU_ASSERT_PTR_NULL(kmip_attr_rule("x-"));
	CU_ASSERT_PTR_NULL(kmip_attr_rule("Vendor"));
	CU_ASSERT_PTR_NULL(kmip_attr_rule("name"));
}

/* ---- vCenter ------------------------------------------------------------------ */

/* vCenter 7.0.3 (kmip-clients §1, Cosmian vmware-2.log): KMIP 1.1, a header
 * with no TimeStamp, one message of three Add Attribute items with 8-byte
 * Unique Batch Item IDs ("QLKC" and a little-endian counter), after one
 * Get Attributes per x- name that finds nothing, and again after. Each item succeeds and echoes its ID, the
 * UID and the attribute added. */
static void test_vcenter_batch(void)
{
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, NULL, uid));
	static const char *const names[3] = {"x-Product_Version", "x-Vendor", "x-Product"};
	static const char *const values[3] = {"7.0.3 build-19480866", "VMware, Inc.", "VMware vSphere"};
	struct kt_req q;
	struct kt_resp r;
	/* first it probes each name: success, the UID alone */
	for (int i = 0; i < 3; i++) {
		get_attrs(&kt_alice, 1, uid, names[i], &r);
		CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
		CU_ASSERT(text_is(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER), uid));
		CU_ASSERT_EQUAL(ttlv_count(kt_payload(kt_nth(&r, 0)), KMIP_TAG_ATTRIBUTE), 0);
		kt_resp_free(&r);
	}
	kt_begin(&q, 1, 3);
	for (int i = 0; i < 3; i++) {
		uint8_t ubi[8] = {0x51, 0x4c, 0x4b, 0x43, (uint8_t)(7 + i), 0, 0, 0};
		ttlv_enc_begin(&q.e, KMIP_TAG_BATCH_ITEM);
		ttlv_enc_enum(&q.e, KMIP_TAG_OPERATION, KMIP_OPERATION_ADD_ATTRIBUTE);
		ttlv_enc_bytes(&q.e, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, ubi, sizeof ubi);
		ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_PAYLOAD);
		ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
		kt_attr_text(&q, names[i], values[i]);
		kt_item_end(&q);
	}
	kt_run(&q, &kt_alice, &r);
	const struct ttlv_item *hdr = ttlv_find(ttlv_root(&r.doc), KMIP_TAG_RESPONSE_HEADER);
	const struct ttlv_item *pv = ttlv_find(hdr, KMIP_TAG_PROTOCOL_VERSION);
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(pv, KMIP_TAG_PROTOCOL_VERSION_MINOR)), 1);
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(hdr, KMIP_TAG_BATCH_COUNT)), 3);
	for (int i = 0; i < 3; i++) {
		const struct ttlv_item *bi = kt_nth(&r, i);
		CU_ASSERT_EQUAL(kt_status(bi), KMIP_RESULT_STATUS_SUCCESS);
		CU_ASSERT_EQUAL(ttlv_find(bi, KMIP_TAG_OPERATION)->u, KMIP_OPERATION_ADD_ATTRIBUTE);
		const struct ttlv_item *ubi = ttlv_find(bi, KMIP_TAG_UNIQUE_BATCH_ITEM_ID);
		CU_ASSERT(ubi != NULL && ubi->len == 8 && memcmp(ubi->val, "QLKC", 4) == 0 && ubi->val[4] == 7 + i);
		const struct ttlv_item *p = kt_payload(bi);
		CU_ASSERT(text_is(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER), uid));
		const struct ttlv_item *a = ttlv_find(p, KMIP_TAG_ATTRIBUTE);
		CU_ASSERT(text_is(ttlv_find(a, KMIP_TAG_ATTRIBUTE_NAME), names[i]));
		CU_ASSERT(text_is(ttlv_find(a, KMIP_TAG_ATTRIBUTE_VALUE), values[i]));
		CU_ASSERT_PTR_NULL(ttlv_find(a, KMIP_TAG_ATTRIBUTE_INDEX)); /* index 0 omitted */
	}
	kt_resp_free(&r);
	for (int i = 0; i < 3; i++) {
		get_attrs(&kt_alice, 1, uid, names[i], &r);
		const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
		CU_ASSERT_EQUAL(ttlv_count(p, KMIP_TAG_ATTRIBUTE), 1);
		CU_ASSERT(text_is(value_of(p, names[i], 0), values[i]));
		kt_resp_free(&r);
	}
	/* a custom attribute is multi-instance: the next one gets index 1 */
	int32_t ix = -1;
	CU_ASSERT_EQUAL(add_text(&kt_alice, 1, uid, "x-Vendor", "Broadcom", NULL, &ix), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(ix, 1);
	get_attrs(&kt_alice, 1, uid, "x-Vendor", &r);
	CU_ASSERT(text_is(value_of(kt_payload(kt_nth(&r, 0)), "x-Vendor", 0), "VMware, Inc."));
	CU_ASSERT(text_is(value_of(kt_payload(kt_nth(&r, 0)), "x-Vendor", 1), "Broadcom"));
	kt_resp_free(&r);
}

/* ---- Add Attribute ------------------------------------------------------------- */

/* A custom attribute of every TTLV type comes back as it was added, with
 * its type. */
static void test_add_types(void)
{
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, NULL, uid));
	static const uint8_t bytes[5] = {0, 1, 2, 0xfe, 0xff};
	static const uint8_t big[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x85}; /* -123 */
	for (int t = 0; t < 10; t++) {
		struct kt_req q;
		struct kt_resp r;
		char name[32];
		snprintf(name, sizeof name, "x-type-%d", t);
		kt_begin(&q, 4, 1);
		kt_item(&q, KMIP_OPERATION_ADD_ATTRIBUTE);
		ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
		ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
		ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, name);
		switch (t) {
		case 0: ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, "text"); break;
		case 1: ttlv_enc_int(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, -42); break;
		case 2: ttlv_enc_enum(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, 0x80000001u); break;
		case 3: ttlv_enc_bytes(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, bytes, sizeof bytes); break;
		case 4: ttlv_enc_datetime(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, 1700000000); break;
		case 5: ttlv_enc_bool(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, true); break;
		case 6: ttlv_enc_long(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, -5000000000LL); break;
		case 7: ttlv_enc_interval(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, 86400); break;
		case 8: {
			const struct ttlv_item it = {.tag = KMIP_TAG_ATTRIBUTE_VALUE, .type = TTLV_BIGINT,
						     .len = sizeof big, .val = big};
			ttlv_enc_item(&q.e, &it);
			break;
		}
		default:
			ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE_VALUE);
			ttlv_enc_cstr(&q.e, KMIP_TAG_NAME_VALUE, "inner");
			ttlv_enc_int(&q.e, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, 7);
			ttlv_enc_end(&q.e);
			break;
		}
		ttlv_enc_end(&q.e);
		kt_item_end(&q);
		kt_run(&q, &kt_alice, &r);
		CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
		kt_resp_free(&r);

		get_attrs(&kt_alice, 4, uid, name, &r);
		const struct ttlv_item *v = value_of(kt_payload(kt_nth(&r, 0)), name, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		switch (t) {
		case 0: CU_ASSERT(text_is(v, "text")); break;
		case 1: CU_ASSERT(v->type == TTLV_INTEGER && ttlv_int(v) == -42); break;
		case 2: CU_ASSERT(v->type == TTLV_ENUM && v->u == 0x80000001u); break;
		case 3: CU_ASSERT(v->type == TTLV_BYTES && v->len == 5 && memcmp(v->val, bytes, 5) == 0); break;
		case 4: CU_ASSERT(v->type == TTLV_DATETIME && v->u == 1700000000); break;
		case 5: CU_ASSERT(v->type == TTLV_BOOL && v->u == 1); break;
		case 6: CU_ASSERT(v->type == TTLV_LONG && ttlv_long(v) == -5000000000LL); break;
		case 7: CU_ASSERT(v->type == TTLV_INTERVAL && v->u == 86400); break;
		case 8: CU_ASSERT(v->type == TTLV_BIGINT && v->len == 8 && memcmp(v->val, big, 8) == 0); break;
		default:
			CU_ASSERT(v->type == TTLV_STRUCTURE && text_is(ttlv_find(v, KMIP_TAG_NAME_VALUE), "inner") &&
				  ttlv_int(ttlv_find(v, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)) == 7);
			break;
		}
		kt_resp_free(&r);
	}
}

/* §11.15: read-only → Permission Denied; a second single-valued instance →
 * Illegal Operation; an Attribute Index → Invalid Field; a name the
 * version does not define, a wrong type, a custom structure holding a
 * structure → Invalid Field. */
static void test_add_refusals(void)
{
	char uid[STORE_ID_MAX + 1];
	uint32_t why = 0;
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, "add-refusals", uid));
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "Contact Information", "ops@example.com", NULL, NULL),
			KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "Contact Information", "again", &why, NULL),
			KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ILLEGAL_OPERATION);
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "Unique Identifier", "mine", &why, NULL),
			KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "Vendor", "no prefix", &why, NULL), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_INVALID_FIELD);
	/* Description is KMIP 1.4 (§3.46): a 1.2 client cannot set it */
	CU_ASSERT_EQUAL(add_text(&kt_alice, 2, uid, "Description", "d", &why, NULL), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_INVALID_FIELD);
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "Description", "d", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	/* one batch (Continue, so every item is answered): Sensitive (fount
	 * does not enforce it: refused, not silently ignored); a Name as
	 * text, not a structure; an index in Add; a custom structure holding
	 * a structure (§3.39) */
	struct kt_req q;
	struct kt_resp r;
	kt_begin_h(&q, &(struct kt_header){.minor = 4, .count = 4,
					   .beco = KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE});
	kt_item(&q, KMIP_OPERATION_ADD_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "Sensitive");
	ttlv_enc_bool(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, true);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_item(&q, KMIP_OPERATION_ADD_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	kt_attr_text(&q, "Name", "flat");
	kt_item_end(&q);
	kt_item(&q, KMIP_OPERATION_ADD_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "x-indexed");
	ttlv_enc_int(&q.e, KMIP_TAG_ATTRIBUTE_INDEX, 3);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_VALUE, "v");
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_item(&q, KMIP_OPERATION_ADD_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "x-nested");
	ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_begin(&q.e, KMIP_TAG_NAME);
	ttlv_enc_cstr(&q.e, KMIP_TAG_NAME_VALUE, "deep");
	ttlv_enc_end(&q.e);
	ttlv_enc_end(&q.e);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	/* Sensitive always has a value (KMIP 1.4 §3.48): Add finds it set */
	static const uint32_t want[4] = {KMIP_RESULT_REASON_ILLEGAL_OPERATION, KMIP_RESULT_REASON_INVALID_FIELD,
					 KMIP_RESULT_REASON_INVALID_FIELD, KMIP_RESULT_REASON_INVALID_FIELD};
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(kt_status(kt_nth(&r, i)), KMIP_RESULT_STATUS_OPERATION_FAILED);
		CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, i)), want[i]);
		/* every failure says why (libkmip crashes without a message) */
		const struct ttlv_item *m = ttlv_find(kt_nth(&r, i), KMIP_TAG_RESULT_MESSAGE);
		CU_ASSERT(m != NULL && m->len > 0);
	}
	kt_resp_free(&r);
	/* nothing of it was stored */
	get_attrs(&kt_alice, 4, uid, NULL, &r);
	const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
	CU_ASSERT(value_of(p, "Sensitive", 0) != NULL && value_of(p, "Sensitive", 0)->u == 0);
	CU_ASSERT_PTR_NULL(attr_of(p, "x-indexed", 0));
	CU_ASSERT_PTR_NULL(attr_of(p, "x-nested", 0));
	CU_ASSERT_PTR_NULL(attr_of(p, "Name", 1));
	CU_ASSERT(text_is(value_of(p, "Contact Information", 0), "ops@example.com"));
	CU_ASSERT(text_is(value_of(p, "Description", 0), "d"));
	kt_resp_free(&r);
	/* a template cannot set what the table refuses, nor a 1.4 name at 1.0 */
	kt_begin(&q, 0, 1);
	kt_create_begin(&q, 256);
	kt_attr_text(&q, "Comment", "1.4 only");
	kt_create_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);
}

/* ---- Modify Attribute ----------------------------------------------------------- */

/* Synology renames a key: Modify Name replaces index 0 and echoes the new
 * value; the key material is the same before and after. A custom value is
 * replaced too. §11.16: no such attribute → Invalid Field; no such index
 * → Item Not Found; read-only (State; an Active key's Activation Date,
 * SKLC-M-3-14) → Permission Denied. */
static void test_modify(void)
{
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, "before", uid));
	uint8_t k1[32], k2[32];
	CU_ASSERT_EQUAL(get_key(&kt_alice, uid, k1, NULL), KMIP_RESULT_STATUS_SUCCESS);

	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_MODIFY_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	kt_attr_name(&q, "after");
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
	CU_ASSERT(text_is(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER), uid));
	CU_ASSERT(text_is(ttlv_find(value_of(p, "Name", 0), KMIP_TAG_NAME_VALUE), "after"));
	kt_resp_free(&r);
	get_attrs(&kt_alice, 4, uid, "Name", &r);
	p = kt_payload(kt_nth(&r, 0));
	CU_ASSERT_EQUAL(ttlv_count(p, KMIP_TAG_ATTRIBUTE), 1);
	CU_ASSERT(text_is(ttlv_find(value_of(p, "Name", 0), KMIP_TAG_NAME_VALUE), "after"));
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(get_key(&kt_alice, uid, k2, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(memcmp(k1, k2, 32), 0);
	/* a Name another of alice's keys has: Illegal Operation (§11.15,
	 * §11.16), by Modify or Add; one only bob's key has: fine */
	char other[STORE_ID_MAX + 1], bobs[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, "taken", other));
	CU_ASSERT_FATAL(kt_create_one(&kt_bob, 4, 12, "bobs-name", bobs));
	const struct {
		uint32_t op;
		const char *target, *name;
		uint32_t reason;
	} names[] = {
		{KMIP_OPERATION_MODIFY_ATTRIBUTE, uid, "taken", KMIP_RESULT_REASON_ILLEGAL_OPERATION},
		{KMIP_OPERATION_ADD_ATTRIBUTE, other, "after", KMIP_RESULT_REASON_ILLEGAL_OPERATION},
		{KMIP_OPERATION_MODIFY_ATTRIBUTE, uid, "bobs-name", 0},
		{KMIP_OPERATION_MODIFY_ATTRIBUTE, uid, "after", 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		kt_begin(&q, 4, 1);
		kt_item(&q, names[i].op);
		ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, names[i].target);
		kt_attr_name(&q, names[i].name);
		kt_item_end(&q);
		kt_run(&q, &kt_alice, &r);
		CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), names[i].reason != 0 ? KMIP_RESULT_STATUS_OPERATION_FAILED
									 : KMIP_RESULT_STATUS_SUCCESS);
		CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), names[i].reason);
		kt_resp_free(&r);
	}
	/* found under its new name only */
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_LOCATE);
	kt_attr_name(&q, "after");
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(ttlv_count(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER), 1);
	kt_resp_free(&r);

	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "x-owner", "team-a", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "x-owner", "team-b", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	modify_text(&kt_alice, uid, "x-owner", 1, "team-c", &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	p = kt_payload(kt_nth(&r, 0));
	CU_ASSERT(text_is(value_of(p, "x-owner", 1), "team-c"));
	kt_resp_free(&r);
	get_attrs(&kt_alice, 4, uid, "x-owner", &r);
	CU_ASSERT(text_is(value_of(kt_payload(kt_nth(&r, 0)), "x-owner", 0), "team-a"));
	CU_ASSERT(text_is(value_of(kt_payload(kt_nth(&r, 0)), "x-owner", 1), "team-c"));
	kt_resp_free(&r);

	modify_text(&kt_alice, uid, "x-owner", 5, "nobody", &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	kt_resp_free(&r);
	modify_text(&kt_alice, uid, "x-never-added", -1, "v", &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);
	modify_text(&kt_alice, uid, "Object Group", -1, "g", &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);

	/* SKLC-M-3-14: Activate, then Modify Activation Date → Permission Denied */
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_ACTIVATE, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_MODIFY_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	kt_attr_date(&q, "Activation Date", 1700000000);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_PERMISSION_DENIED);
	kt_resp_free(&r);
	get_attrs(&kt_alice, 4, uid, "Activation Date", &r);
	const struct ttlv_item *ad = value_of(kt_payload(kt_nth(&r, 0)), "Activation Date", 0);
	CU_ASSERT(ad != NULL && ad->u != 1700000000);
	kt_resp_free(&r);
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_MODIFY_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	kt_attr_enum(&q, "State", KMIP_STATE_PRE_ACTIVE);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_PERMISSION_DENIED);
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_ACTIVATE, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
}

/* act_date runs Add (|add|) or Modify of the Activation Date |v| */
static uint32_t act_date(const struct kmip_peer *p, const char *uid, bool add, int64_t v, uint32_t *out_reason)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, add ? KMIP_OPERATION_ADD_ATTRIBUTE : KMIP_OPERATION_MODIFY_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	kt_attr_date(&q, "Activation Date", v);
	kt_item_end(&q);
	kt_run(&q, p, &r);
	uint32_t s = kt_status(kt_nth(&r, 0));
	*out_reason = kt_reason(kt_nth(&r, 0));
	if (s == KMIP_RESULT_STATUS_SUCCESS) /* the new value echoed */
		CU_ASSERT_EQUAL((int64_t)value_of(kt_payload(kt_nth(&r, 0)), "Activation Date", 0)->u, v);
	kt_resp_free(&r);
	return s;
}

static void state_and_date(const char *uid, uint32_t *state, int64_t *date)
{
	struct kt_resp r;
	get_attrs(&kt_alice, 4, uid, NULL, &r);
	const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
	const struct ttlv_item *s = value_of(p, "State", 0), *d = value_of(p, "Activation Date", 0);
	*state = s != NULL ? (uint32_t)s->u : 0;
	*date = d != NULL ? (int64_t)d->u : 0;
	kt_resp_free(&r);
}

/* KMIP 1.4 §3.24: the client sets the Activation Date only while the key
 * is Pre-Active: Add when it has none, Modify when it has one; a future
 * date keeps it Pre-Active, a past one activates it; then Permission
 * Denied. */
static void test_activation_date(void)
{
	char uid[STORE_ID_MAX + 1];
	uint32_t why = 0, state = 0;
	int64_t date = 0;
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, NULL, uid));
	CU_ASSERT_EQUAL(act_date(&kt_alice, uid, false, 4102444800, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_INVALID_FIELD); /* none yet: Add it */
	CU_ASSERT_EQUAL(act_date(&kt_bob, uid, true, 4102444800, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	CU_ASSERT_EQUAL(act_date(&kt_alice, uid, true, 4102444800, &why), KMIP_RESULT_STATUS_SUCCESS); /* 2100 */
	state_and_date(uid, &state, &date);
	CU_ASSERT_EQUAL(state, KMIP_STATE_PRE_ACTIVE);
	CU_ASSERT_EQUAL(date, 4102444800);
	CU_ASSERT_EQUAL(act_date(&kt_alice, uid, true, 4102444900, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ILLEGAL_OPERATION);
	CU_ASSERT_EQUAL(act_date(&kt_alice, uid, false, 1700000000, &why), KMIP_RESULT_STATUS_SUCCESS);
	state_and_date(uid, &state, &date);
	CU_ASSERT_EQUAL(state, KMIP_STATE_ACTIVE);
	CU_ASSERT_EQUAL(date, 1700000000);
	CU_ASSERT_EQUAL(act_date(&kt_alice, uid, false, 1700000100, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	state_and_date(uid, &state, &date);
	CU_ASSERT_EQUAL(date, 1700000000);
	struct kt_resp r;
	delete_one(&kt_alice, uid, "Activation Date", -1, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_PERMISSION_DENIED);
	kt_resp_free(&r);
}

/* ---- Delete Attribute -------------------------------------------------------------- */

/* Delete returns the deleted attribute (§4.16), the instance is gone, the
 * others stay; again → Item Not Found; a read-only or required attribute →
 * Permission Denied (§11.17). */
static void test_delete(void)
{
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, "deleting", uid));
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "x-tag", "zero", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "x-tag", "one", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	struct kt_resp r;
	delete_one(&kt_alice, uid, "x-tag", 1, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
	CU_ASSERT(text_is(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER), uid));
	CU_ASSERT(text_is(value_of(p, "x-tag", 1), "one"));
	kt_resp_free(&r);
	get_attrs(&kt_alice, 4, uid, "x-tag", &r);
	p = kt_payload(kt_nth(&r, 0));
	CU_ASSERT_EQUAL(ttlv_count(p, KMIP_TAG_ATTRIBUTE), 1);
	CU_ASSERT(text_is(value_of(p, "x-tag", 0), "zero"));
	kt_resp_free(&r);
	delete_one(&kt_alice, uid, "x-tag", 1, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	kt_resp_free(&r);
	delete_one(&kt_alice, uid, "x-tag", -1, &r); /* index 0 by default */
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT(text_is(value_of(kt_payload(kt_nth(&r, 0)), "x-tag", 0), "zero"));
	kt_resp_free(&r);
	/* a Name is deletable, a structure comes back whole */
	delete_one(&kt_alice, uid, "Name", -1, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT(text_is(ttlv_find(value_of(kt_payload(kt_nth(&r, 0)), "Name", 0), KMIP_TAG_NAME_VALUE), "deleting"));
	kt_resp_free(&r);
	static const char *const kept[] = {"State", "Unique Identifier", "Cryptographic Length", "Initial Date",
					   "Random Number Generator"};
	for (size_t i = 0; i < ARRAY_SIZE(kept); i++) {
		delete_one(&kt_alice, uid, kept[i], -1, &r);
		CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_PERMISSION_DENIED);
		kt_resp_free(&r);
	}
	delete_one(&kt_alice, uid, "Contact Information", -1, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	kt_resp_free(&r);
	/* the RNG is still there */
	get_attrs(&kt_alice, 4, uid, "Random Number Generator", &r);
	CU_ASSERT_PTR_NOT_NULL(value_of(kt_payload(kt_nth(&r, 0)), "Random Number Generator", 0));
	kt_resp_free(&r);
}

/* ---- Get Attribute List and version filtering ----------------------------------- */

static bool has_name(const struct ttlv_item *p, const char *name)
{
	size_t n = 0;
	for (const struct ttlv_item *it = ttlv_find(p, KMIP_TAG_ATTRIBUTE_NAME); it != NULL; it = ttlv_find_next(it))
		n += text_is(it, name);
	CU_ASSERT(n <= 1); /* each name once */
	return n == 1;
}

/* §4.13: the names the object has, each once; at 1.0 neither Original
 * Creation Date (1.2) nor Random Number Generator (1.3). */
static void test_attribute_list(void)
{
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, "listed", uid));
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "x-a", "1", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "x-a", "2", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	static const int minors[] = {0, 2, 4};
	for (size_t m = 0; m < ARRAY_SIZE(minors); m++) {
		struct kt_req q;
		struct kt_resp r;
		kt_begin(&q, minors[m], 1);
		kt_uid_item(&q, KMIP_OPERATION_GET_ATTRIBUTE_LIST, uid);
		kt_run(&q, &kt_alice, &r);
		CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
		const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
		CU_ASSERT(text_is(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER), uid));
		static const char *const always[] = {"Unique Identifier", "Object Type", "Cryptographic Algorithm",
						     "Cryptographic Length", "Cryptographic Usage Mask", "Digest",
						     "State", "Initial Date", "Last Change Date", "Name", "x-a"};
		for (size_t i = 0; i < ARRAY_SIZE(always); i++)
			CU_ASSERT(has_name(p, always[i]));
		CU_ASSERT_FALSE(has_name(p, "Activation Date")); /* Pre-Active: none */
		CU_ASSERT_FALSE(has_name(p, "Destroy Date"));
		CU_ASSERT_EQUAL(has_name(p, "Original Creation Date"), minors[m] >= 2);
		CU_ASSERT_EQUAL(has_name(p, "Random Number Generator"), minors[m] >= 3);
		kt_resp_free(&r);
	}
	uint32_t why = 0;
	CU_ASSERT_EQUAL(kt_one(&kt_bob, KMIP_OPERATION_GET_ATTRIBUTE_LIST, uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
}

/* Checklist item 19: all attributes at 1.0 carry neither Original Creation
 * Date nor Random Number Generator; 1.2 the first; 1.3 and 1.4 both, the
 * RNG being what Query RNGs reports (one encoding). Asking by name at a
 * version that lacks it gives nothing. */
static void test_version_filter(void)
{
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, NULL, uid));
	static const int minors[] = {0, 1, 2, 3, 4};
	for (size_t m = 0; m < ARRAY_SIZE(minors); m++) {
		struct kt_resp r;
		get_attrs(&kt_alice, minors[m], uid, NULL, &r);
		const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
		CU_ASSERT_PTR_NOT_NULL(attr_of(p, "State", 0));
		CU_ASSERT_EQUAL(attr_of(p, "Original Creation Date", 0) != NULL, minors[m] >= 2);
		CU_ASSERT_EQUAL(attr_of(p, "Random Number Generator", 0) != NULL, minors[m] >= 3);
		kt_resp_free(&r);
		get_attrs(&kt_alice, minors[m], uid, "Random Number Generator", &r);
		CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
		CU_ASSERT_EQUAL(ttlv_count(kt_payload(kt_nth(&r, 0)), KMIP_TAG_ATTRIBUTE), minors[m] >= 3 ? 1u : 0u);
		kt_resp_free(&r);
	}
	/* the attribute's value is Query RNGs' RNG Parameters, field by field */
	struct kt_resp r, qr;
	get_attrs(&kt_alice, 4, uid, "Random Number Generator", &r);
	const struct ttlv_item *v = value_of(kt_payload(kt_nth(&r, 0)), "Random Number Generator", 0);
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_QUERY);
	ttlv_enc_enum(&q.e, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_RNGS);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &qr);
	const struct ttlv_item *rp = ttlv_find(kt_payload(kt_nth(&qr, 0)), KMIP_TAG_RNG_PARAMETERS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rp);
	CU_ASSERT_EQUAL(ttlv_find(v, KMIP_TAG_RNG_ALGORITHM)->u, KMIP_RNG_ALGORITHM_DRBG);
	CU_ASSERT_EQUAL(ttlv_find(v, KMIP_TAG_DRBG_ALGORITHM)->u, KMIP_DRBG_ALGORITHM_CTR);
	CU_ASSERT_EQUAL(ttlv_find(v, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM)->u, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(v, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)), 256);
	CU_ASSERT_EQUAL(ttlv_find(v, KMIP_TAG_PREDICTION_RESISTANCE)->u, 1);
	const struct ttlv_item *a = v->child, *b = rp->child;
	for (; a != NULL && b != NULL; a = a->next, b = b->next)
		CU_ASSERT(a->tag == b->tag && a->type == b->type && a->u == b->u);
	CU_ASSERT(a == NULL && b == NULL);
	kt_resp_free(&qr);
	kt_resp_free(&r);
	/* Get Attributes names a name twice: Invalid Message (§11.13) */
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_GET_ATTRIBUTES);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "State");
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "State");
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_MESSAGE);
	kt_resp_free(&r);
}

/* A Create template may name the RNG fount uses (it is honoured) but not
 * another one (§3.44: the server SHALL fail what it cannot honour). */
static void test_create_rng(void)
{
	for (int honour = 1; honour >= 0; honour--) {
		struct kt_req q;
		struct kt_resp r;
		kt_begin(&q, 4, 1);
		kt_create_begin(&q, 128);
		ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
		ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "Random Number Generator");
		ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE_VALUE);
		ttlv_enc_enum(&q.e, KMIP_TAG_RNG_ALGORITHM, KMIP_RNG_ALGORITHM_DRBG);
		ttlv_enc_enum(&q.e, KMIP_TAG_DRBG_ALGORITHM, honour ? KMIP_DRBG_ALGORITHM_CTR : KMIP_DRBG_ALGORITHM_HMAC);
		ttlv_enc_end(&q.e);
		ttlv_enc_end(&q.e);
		kt_create_end(&q);
		kt_run(&q, &kt_alice, &r);
		if (honour) {
			CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
			const struct ttlv_item *u = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER);
			char uid[STORE_ID_MAX + 1];
			CU_ASSERT_FATAL(u != NULL && u->len <= STORE_ID_MAX);
			memcpy(uid, u->val, u->len);
			uid[u->len] = '\0';
			struct kt_resp g;
			get_attrs(&kt_alice, 4, uid, "Random Number Generator", &g);
			/* the server's full description, once */
			const struct ttlv_item *v = value_of(kt_payload(kt_nth(&g, 0)), "Random Number Generator", 0);
			CU_ASSERT_EQUAL(ttlv_count(kt_payload(kt_nth(&g, 0)), KMIP_TAG_ATTRIBUTE), 1);
			CU_ASSERT(v != NULL && ttlv_int(ttlv_find(v, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)) == 256);
			kt_resp_free(&g);
		} else {
			CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
		}
		kt_resp_free(&r);
	}
}

/* Register keeps a client's Random Number Generator as given
 * (TC-RNG-ATTR-1-14): the store takes it when the object is made, and
 * never lets it change afterwards. */
static void test_store_keeps_rng(void)
{
	struct ttlv_enc e;
	struct store_attr a;
	EXPECT_OK(kmip_rng_attr(&e, &a));
	static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct store_new_object n = {.tenant = "alice", .type = STORE_OBJ_SYMMETRIC_KEY, .alg = STORE_ALG_AES,
				     .length = 128, .usage_mask = 12, .key_format = STORE_FMT_RAW, .attrs = &a,
				     .n_attrs = 1, .material = key, .material_len = sizeof key};
	char id[STORE_ID_MAX + 1];
	EXPECT_OK(store_put(kt_store, &n, id));
	EXPECT_ERR(store_attr_add(kt_store, id, "alice", 0, &a, NULL), ERR_STORE_MANAGED_ATTR);
	EXPECT_ERR(store_attr_modify(kt_store, id, "alice", 0, &a), ERR_STORE_MANAGED_ATTR);
	EXPECT_ERR(store_attr_delete(kt_store, id, "alice", 0, a.name, 0), ERR_STORE_MANAGED_ATTR);
	/* other managed names stay refused at put */
	struct store_attr s2;
	store_attr_int(&s2, "State", 0, STORE_V_ENUMERATION, 2);
	n.attrs = &s2;
	EXPECT_ERR(store_put(kt_store, &n, id), ERR_STORE_MANAGED_ATTR);
	/* and it reads back at 1.3 as it was put */
	n.attrs = &a;
	EXPECT_OK(store_put(kt_store, &n, id));
	struct kt_resp r;
	get_attrs(&kt_alice, 3, id, "Random Number Generator", &r);
	const struct ttlv_item *v = value_of(kt_payload(kt_nth(&r, 0)), "Random Number Generator", 0);
	CU_ASSERT(v != NULL && kmip_rng_matches(v));
	kt_resp_free(&r);
	ttlv_enc_free(&e);
}

/* ---- Check ---------------------------------------------------------------------------- */

/* §4.10, §11.11: a mask within the key's → its UID (and the ID
 * Placeholder: a Get after it in the batch needs none); one outside →
 * Permission Denied, the mask asked in the payload, no UID, and the ID
 * Placeholder emptied; a Usage Limits Count above what the key has left →
 * the same with the count; a lease → allowed (fount grants no leases);
 * a destroyed key → Illegal Operation. */
static void test_check(void)
{
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT | KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT,
				   "checked", uid));
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 2);
	kt_item(&q, KMIP_OPERATION_CHECK);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_int(&q.e, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT);
	ttlv_enc_interval(&q.e, KMIP_TAG_LEASE_TIME, 3600);
	kt_item_end(&q);
	kt_uid_item(&q, KMIP_OPERATION_GET_ATTRIBUTES, NULL);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
	CU_ASSERT(text_is(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER), uid));
	CU_ASSERT_PTR_NULL(ttlv_find(p, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK));
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 1)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);

	/* Get Attributes sets the placeholder, the failed Check empties it,
	 * the last item then has no identifier (Continue: all answered) */
	kt_begin_h(&q, &(struct kt_header){.minor = 4, .count = 3,
					   .beco = KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE});
	kt_uid_item(&q, KMIP_OPERATION_GET_ATTRIBUTES, uid);
	kt_item(&q, KMIP_OPERATION_CHECK);
	ttlv_enc_int(&q.e, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK,
		     KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN | KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT);
	kt_item_end(&q);
	kt_uid_item(&q, KMIP_OPERATION_GET_ATTRIBUTES, NULL);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 1)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 1)), KMIP_RESULT_REASON_PERMISSION_DENIED);
	CU_ASSERT_PTR_NOT_NULL(ttlv_find(kt_nth(&r, 1), KMIP_TAG_RESULT_MESSAGE));
	p = kt_payload(kt_nth(&r, 1));
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NULL(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER));
	const struct ttlv_item *m = ttlv_find(p, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK);
	CU_ASSERT(m != NULL && ttlv_int(m) == (KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN | KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT));
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 2)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 2)), KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);

	/* Usage Limits: 10 left of 100 objects */
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_ADD_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "Usage Limits");
	ttlv_enc_begin(&q.e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_long(&q.e, KMIP_TAG_USAGE_LIMITS_TOTAL, 100);
	ttlv_enc_long(&q.e, KMIP_TAG_USAGE_LIMITS_COUNT, 10);
	ttlv_enc_enum(&q.e, KMIP_TAG_USAGE_LIMITS_UNIT, KMIP_USAGE_LIMITS_UNIT_OBJECT);
	ttlv_enc_end(&q.e);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);
	for (int64_t want = 10; want <= 11; want++) {
		kt_begin(&q, 4, 1);
		kt_item(&q, KMIP_OPERATION_CHECK);
		ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
		ttlv_enc_long(&q.e, KMIP_TAG_USAGE_LIMITS_COUNT, want);
		ttlv_enc_int(&q.e, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT);
		kt_item_end(&q);
		kt_run(&q, &kt_alice, &r);
		p = kt_payload(kt_nth(&r, 0));
		if (want == 10) {
			CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
			CU_ASSERT(text_is(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER), uid));
		} else {
			CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_PERMISSION_DENIED);
			const struct ttlv_item *c = ttlv_find(p, KMIP_TAG_USAGE_LIMITS_COUNT);
			CU_ASSERT(c != NULL && c->type == TTLV_LONG && ttlv_long(c) == 11);
			/* only what caused the refusal: the mask was fine */
			CU_ASSERT_PTR_NULL(ttlv_find(p, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK));
		}
		kt_resp_free(&r);
	}
	/* a mask of the wrong type */
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_CHECK);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_enum(&q.e, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, 4);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);
	/* destroyed: nothing to check */
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	uint32_t why = 0;
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_CHECK, uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ILLEGAL_OPERATION);
}

/* ---- leases (§3.20 Lease Time, §4.20 Obtain Lease) ----------------------------------
 * Every object but an Opaque Object has a Lease Time, the server's lease
 * (3600 s until [keys] default_lease sets another), kept after Destroy;
 * a client cannot set it; Check refuses a longer lease; Obtain Lease
 * answers the identifier, the lease and the Last Change Date (ID
 * Placeholder too), is recorded for the holders' view, and fails with
 * Permission Denied once the key is revoked, for another tenant with Item
 * Not Found. */
static void test_leases(void)
{
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, "leased", uid));
	struct kt_resp r;
	get_attrs(&kt_alice, 4, uid, "Lease Time", &r);
	const struct ttlv_item *v = value_of(kt_payload(kt_nth(&r, 0)), "Lease Time", 0);
	CU_ASSERT(v != NULL && v->type == TTLV_INTERVAL && v->u == 3600);
	kt_resp_free(&r);
	/* listed, and in Get Attributes with no names */
	get_attrs(&kt_alice, 0, uid, NULL, &r);
	CU_ASSERT_PTR_NOT_NULL(value_of(kt_payload(kt_nth(&r, 0)), "Lease Time", 0));
	kt_resp_free(&r);
	uint32_t why = 0;
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "Lease Time", "1", &why, NULL), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);

	/* a shorter lease follows default_lease */
	ops_set_lease(120);
	struct kt_req q;
	kt_begin_h(&q, &(struct kt_header){.minor = 4, .count = 3,
					   .beco = KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE});
	kt_uid_item(&q, KMIP_OPERATION_GET_ATTRIBUTES, uid);
	kt_item(&q, KMIP_OPERATION_CHECK);
	ttlv_enc_interval(&q.e, KMIP_TAG_LEASE_TIME, 121);
	kt_item_end(&q);
	kt_item(&q, KMIP_OPERATION_CHECK);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_interval(&q.e, KMIP_TAG_LEASE_TIME, 120);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 1)), KMIP_RESULT_REASON_PERMISSION_DENIED);
	const struct ttlv_item *l = ttlv_find(kt_payload(kt_nth(&r, 1)), KMIP_TAG_LEASE_TIME);
	CU_ASSERT(l != NULL && l->u == 121);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 2)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);

	/* Obtain Lease, by identifier then by the ID Placeholder */
	int64_t before = time(NULL);
	kt_begin(&q, 4, 2);
	kt_uid_item(&q, KMIP_OPERATION_OBTAIN_LEASE, uid);
	kt_uid_item(&q, KMIP_OPERATION_OBTAIN_LEASE, NULL);
	kt_run(&q, &kt_alice, &r);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(kt_status(kt_nth(&r, i)), KMIP_RESULT_STATUS_SUCCESS);
		const struct ttlv_item *p = kt_payload(kt_nth(&r, i));
		CU_ASSERT(text_is(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER), uid));
		l = ttlv_find(p, KMIP_TAG_LEASE_TIME);
		CU_ASSERT(l != NULL && l->type == TTLV_INTERVAL && l->u == 120);
		const struct ttlv_item *lc = ttlv_find(p, KMIP_TAG_LAST_CHANGE_DATE);
		CU_ASSERT(lc != NULL && lc->type == TTLV_DATETIME && ttlv_long(lc) <= before && ttlv_long(lc) > before - 60);
	}
	kt_resp_free(&r);
	/* recorded: once the key is got, its holder's lease is the renewal's */
	uint8_t k[32];
	CU_ASSERT_EQUAL(get_key(&kt_alice, uid, k, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_OBTAIN_LEASE, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	struct store_holders hs;
	EXPECT_OK(ops_holders_of(&kt_alice, uid, &hs));
	CU_ASSERT_EQUAL_FATAL(hs.n, 1);
	CU_ASSERT(hs.h[0].leased && hs.h[0].lease_end >= before + 120 && hs.h[0].lease_end <= time(NULL) + 120);
	CU_ASSERT_EQUAL(hs.h[0].count, 1);
	store_holders_free(&hs);
	/* Bob: not found */
	CU_ASSERT_EQUAL(kt_one(&kt_bob, KMIP_OPERATION_OBTAIN_LEASE, uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	EXPECT_ERR(ops_holders_of(&kt_bob, uid, &hs), ERR_STORE_NOT_FOUND);
	/* revoked: no lease, with a reason and a message */
	kt_begin(&q, 4, 1);
	kt_revoke_item(&q, uid, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);
	kt_begin(&q, 4, 1);
	kt_uid_item(&q, KMIP_OPERATION_OBTAIN_LEASE, uid);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_PERMISSION_DENIED);
	CU_ASSERT(kt_has_message(kt_nth(&r, 0)));
	kt_resp_free(&r);
	EXPECT_OK(ops_holders_of(&kt_alice, uid, &hs));
	CU_ASSERT(hs.n == 1 && !hs.h[0].leased);
	store_holders_free(&hs);
	/* destroyed: still has its Lease Time (as SKLC-O-1-14) */
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	get_attrs(&kt_alice, 4, uid, "Lease Time", &r);
	v = value_of(kt_payload(kt_nth(&r, 0)), "Lease Time", 0);
	CU_ASSERT(v != NULL && v->u == 120);
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_OBTAIN_LEASE, uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	ops_set_lease(3600);
}

/* ---- tenants and admins -------------------------------------------------------------- */

/* Bob cannot read, list, add, modify, delete or check Alice's attributes:
 * Item Not Found, also for a read-only name (no hint it exists), and
 * nothing changed. */
static void test_tenant_isolation(void)
{
	char uid[STORE_ID_MAX + 1];
	uint32_t why = 0;
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, "alice-attrs", uid));
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "x-secret-tag", "a", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	static const uint32_t ops[] = {KMIP_OPERATION_GET_ATTRIBUTES, KMIP_OPERATION_GET_ATTRIBUTE_LIST,
				       KMIP_OPERATION_CHECK};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		CU_ASSERT_EQUAL(kt_one(&kt_bob, ops[i], uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
		CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	}
	CU_ASSERT_EQUAL(add_text(&kt_bob, 4, uid, "x-bob", "b", &why, NULL), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	CU_ASSERT_EQUAL(add_text(&kt_bob, 4, uid, "Unique Identifier", "b", &why, NULL), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	struct kt_resp r;
	modify_text(&kt_bob, uid, "x-secret-tag", -1, "b", &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	kt_resp_free(&r);
	modify_text(&kt_bob, uid, "Unique Identifier", -1, "b", &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	kt_resp_free(&r);
	delete_one(&kt_bob, uid, "x-secret-tag", -1, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	kt_resp_free(&r);
	delete_one(&kt_bob, uid, "State", -1, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	kt_resp_free(&r);
	get_attrs(&kt_alice, 4, uid, NULL, &r);
	const struct ttlv_item *p = kt_payload(kt_nth(&r, 0));
	CU_ASSERT(text_is(value_of(p, "x-secret-tag", 0), "a"));
	CU_ASSERT_PTR_NULL(attr_of(p, "x-bob", 0));
	kt_resp_free(&r);
}

/* [kmip] admin_key_access: off, an admin gets Item Not Found for another
 * tenant's key material, as for a key that never was; on, the key itself.
 * Either way it adds, modifies and deletes attributes and revokes and
 * destroys other tenants' objects. The key is read from the environment
 * too (FOUNT_KMIP_ADMIN_KEY_ACCESS). */
static void test_admin_key_access(void)
{
	char uid[STORE_ID_MAX + 1];
	uint8_t mine[32], theirs[32];
	uint32_t why = 0;
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 12, "admin-test", uid));
	CU_ASSERT_EQUAL(get_key(&kt_alice, uid, mine, NULL), KMIP_RESULT_STATUS_SUCCESS);
	ops_set_store(kt_store, false);
	CU_ASSERT_EQUAL(get_key(&kt_admin, uid, theirs, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	CU_ASSERT_EQUAL(add_text(&kt_admin, 4, uid, "x-audited", "yes", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	struct kt_resp r;
	modify_text(&kt_admin, uid, "x-audited", -1, "twice", &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);
	get_attrs(&kt_alice, 4, uid, "x-audited", &r);
	CU_ASSERT(text_is(value_of(kt_payload(kt_nth(&r, 0)), "x-audited", 0), "twice"));
	kt_resp_free(&r);
	delete_one(&kt_admin, uid, "x-audited", -1, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);

	ops_set_store(kt_store, true);
	CU_ASSERT_EQUAL(get_key(&kt_admin, uid, theirs, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(memcmp(mine, theirs, 32), 0);
	/* bob is no admin: still nothing */
	CU_ASSERT_EQUAL(get_key(&kt_bob, uid, theirs, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	ops_set_store(kt_store, false);

	/* revoke and destroy another tenant's key, with access off */
	struct kt_req q;
	kt_begin(&q, 4, 2);
	kt_revoke_item(&q, uid, KMIP_REVOCATION_REASON_CODE_CESSATION_OF_OPERATION);
	kt_uid_item(&q, KMIP_OPERATION_DESTROY, uid);
	kt_run(&q, &kt_admin, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 1)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);
	get_attrs(&kt_alice, 4, uid, "State", &r);
	CU_ASSERT_EQUAL(value_of(kt_payload(kt_nth(&r, 0)), "State", 0)->u, KMIP_STATE_DESTROYED);
	kt_resp_free(&r);

	/* the configuration key */
	struct config c;
	char err[256];
	EXPECT_OK(config_load(&c, NULL, false, err, sizeof err));
	CU_ASSERT_FALSE(c.kmip_admin_key_access);
	setenv("FOUNT_KMIP_ADMIN_KEY_ACCESS", "on", 1);
	EXPECT_OK(config_load(&c, NULL, false, err, sizeof err));
	CU_ASSERT_TRUE(c.kmip_admin_key_access);
	setenv("FOUNT_KMIP_ADMIN_KEY_ACCESS", "sometimes", 1);
	EXPECT_ERR(config_load(&c, NULL, false, err, sizeof err), ERR_CONFIG);
	unsetenv("FOUNT_KMIP_ADMIN_KEY_ACCESS");
}

/* ---- Locate filters ------------------------------------------------------------------- */

/* locate_n runs a Locate for |p| whose attributes |fill| writes and
 * returns how many identifiers came back (and the first in |first|) */
static size_t locate_n(const struct kmip_peer *p, void (*fill)(struct kt_req *, const void *), const void *arg,
		       char first[STORE_ID_MAX + 1])
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_LOCATE);
	fill(&q, arg);
	kt_item_end(&q);
	kt_run(&q, p, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *pl = kt_payload(kt_nth(&r, 0));
	size_t n = ttlv_count(pl, KMIP_TAG_UNIQUE_IDENTIFIER);
	const struct ttlv_item *u = ttlv_find(pl, KMIP_TAG_UNIQUE_IDENTIFIER);
	first[0] = '\0';
	if (u != NULL && u->len <= STORE_ID_MAX) {
		memcpy(first, u->val, u->len);
		first[u->len] = '\0';
	}
	kt_resp_free(&r);
	return n;
}

static void fill_text(struct kt_req *q, const void *arg)
{
	const char *const *nv = arg;
	kt_attr_text(q, nv[0], nv[1]);
}

static void fill_int(struct kt_req *q, const void *arg)
{
	kt_attr_int(q, "x-n", *(const int32_t *)arg);
}

static void fill_mask(struct kt_req *q, const void *arg)
{
	kt_attr_int(q, "Cryptographic Usage Mask", *(const int32_t *)arg);
}

struct dates {
	const char *name;
	int64_t v[2];
	int n;
};

static void fill_dates(struct kt_req *q, const void *arg)
{
	const struct dates *d = arg;
	for (int i = 0; i < d->n; i++)
		kt_attr_date(q, d->name, d->v[i]);
}

static int64_t date_of(const char *uid, const char *name)
{
	struct kt_resp r;
	get_attrs(&carol, 4, uid, name, &r);
	const struct ttlv_item *v = value_of(kt_payload(kt_nth(&r, 0)), name, 0);
	int64_t t = v != NULL ? (int64_t)v->u : 0;
	kt_resp_free(&r);
	return t;
}

/* Locate by custom attributes (text, integer), usage mask (every bit
 * asked), Initial Date (one: that date; two: a range, either order) and
 * Activation Date; only the caller's objects. */
static void test_locate_filters(void)
{
	char k1[STORE_ID_MAX + 1], k2[STORE_ID_MAX + 1], got[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&carol, 4, KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT | KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT,
				   NULL, k1));
	CU_ASSERT_FATAL(kt_create_one(&carol, 4, KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT, NULL, k2));
	CU_ASSERT_EQUAL(add_text(&carol, 4, k1, "x-app", "billing", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(add_text(&carol, 4, k2, "x-app", "search", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_ADD_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, k2);
	kt_attr_int(&q, "x-n", 7);
	kt_item_end(&q);
	kt_run(&q, &carol, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);

	static const char *const billing[2] = {"x-app", "billing"};
	CU_ASSERT_EQUAL(locate_n(&carol, fill_text, billing, got), 1);
	CU_ASSERT_STRING_EQUAL(got, k1);
	CU_ASSERT_EQUAL(locate_n(&kt_bob, fill_text, billing, got), 0); /* carol's only */
	static const char *const nothing[2] = {"x-app", "nothing"};
	CU_ASSERT_EQUAL(locate_n(&carol, fill_text, nothing, got), 0);
	int32_t seven = 7, eight = 8;
	CU_ASSERT_EQUAL(locate_n(&carol, fill_int, &seven, got), 1);
	CU_ASSERT_STRING_EQUAL(got, k2);
	CU_ASSERT_EQUAL(locate_n(&carol, fill_int, &eight, got), 0);
	int32_t decrypt = KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT, encrypt = KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT;
	CU_ASSERT_EQUAL(locate_n(&carol, fill_mask, &decrypt, got), 1);
	CU_ASSERT_STRING_EQUAL(got, k1);
	CU_ASSERT_EQUAL(locate_n(&carol, fill_mask, &encrypt, got), 2);

	int64_t t1 = date_of(k1, "Initial Date"), t2 = date_of(k2, "Initial Date");
	CU_ASSERT_FATAL(t1 > 0 && t2 >= t1);
	struct dates d = {"Initial Date", {t1 - 1, t2 + 1}, 2};
	CU_ASSERT_EQUAL(locate_n(&carol, fill_dates, &d, got), 2);
	d = (struct dates){"Initial Date", {t2 + 1, t1 - 1}, 2}; /* either order */
	CU_ASSERT_EQUAL(locate_n(&carol, fill_dates, &d, got), 2);
	d = (struct dates){"Initial Date", {t2 + 10, t2 + 20}, 2};
	CU_ASSERT_EQUAL(locate_n(&carol, fill_dates, &d, got), 0);
	d = (struct dates){"Initial Date", {t1, 0}, 1}; /* one instance: that date */
	CU_ASSERT(locate_n(&carol, fill_dates, &d, got) >= 1);
	d = (struct dates){"Initial Date", {t1 - 5, 0}, 1};
	CU_ASSERT_EQUAL(locate_n(&carol, fill_dates, &d, got), 0);
	d = (struct dates){"Initial Date", {INT64_MAX, 0}, 1}; /* "undefined" (§4.9) */
	CU_ASSERT_EQUAL(locate_n(&carol, fill_dates, &d, got), 2);

	CU_ASSERT_EQUAL(kt_one(&carol, KMIP_OPERATION_ACTIVATE, k1, NULL), KMIP_RESULT_STATUS_SUCCESS);
	int64_t a1 = date_of(k1, "Activation Date");
	CU_ASSERT_FATAL(a1 > 0);
	d = (struct dates){"Activation Date", {a1 - 1, a1 + 1}, 2};
	CU_ASSERT_EQUAL(locate_n(&carol, fill_dates, &d, got), 1); /* k2 was never activated */
	CU_ASSERT_STRING_EQUAL(got, k1);
	d = (struct dates){"Activation Date", {a1 + 100, 0}, 1};
	CU_ASSERT_EQUAL(locate_n(&carol, fill_dates, &d, got), 0);

	/* three instances of one date are no range */
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_LOCATE);
	kt_attr_date(&q, "Initial Date", t1);
	kt_attr_date(&q, "Initial Date", t1);
	kt_attr_date(&q, "Initial Date", t1);
	kt_item_end(&q);
	kt_run(&q, &carol, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_INVALID_FIELD);
	kt_resp_free(&r);
}

/* ---- the Baseline Server's attributes (KMIP 1.4 §3.34, §3.41, §3.46-§3.51) ---- */

/* bool_of: the Boolean value of attribute |name| in |p|: 1, 0, or -1 when
 * absent */
static int bool_of(const struct ttlv_item *p, const char *name)
{
	const struct ttlv_item *v = value_of(p, name, 0);
	if (v == NULL || v->type != TTLV_BOOL)
		return -1;
	return v->u != 0;
}

/* protect_of reads, by one Get Attributes (all) at 1.|minor|, Fresh, Key
 * Value Present, Sensitive, Always Sensitive, Extractable and Never
 * Extractable of |uid| (each 1, 0 or -1) */
static void protect_of(const struct kmip_peer *p, int minor, const char *uid, int out[6])
{
	static const char *const names[6] = {"Fresh", "Key Value Present", "Sensitive", "Always Sensitive",
					      "Extractable", "Never Extractable"};
	struct kt_resp r;
	get_attrs(p, minor, uid, NULL, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	for (int i = 0; i < 6; i++)
		out[i] = bool_of(kt_payload(kt_nth(&r, 0)), names[i]);
	kt_resp_free(&r);
}

#define PROTECT_IS(got, f, kvp, s, as, e, ne)                                                          \
	do {                                                                                            \
		CU_ASSERT_EQUAL((got)[0], f);                                                           \
		CU_ASSERT_EQUAL((got)[1], kvp);                                                         \
		CU_ASSERT_EQUAL((got)[2], s);                                                           \
		CU_ASSERT_EQUAL((got)[3], as);                                                          \
		CU_ASSERT_EQUAL((got)[4], e);                                                           \
		CU_ASSERT_EQUAL((got)[5], ne);                                                          \
	} while (0)

static void attr_bool(struct kt_req *q, const char *name, bool v)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, name);
	ttlv_enc_bool(&q->e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_enc_end(&q->e);
}

/* create_protected creates an AES-256 key for alice at 1.|minor| with
 * usage |mask|, Active when |active|, Sensitive / Extractable given when
 * |sens| / |extr| >= 0; returns the status, *reason the reason */
static uint32_t create_protected(int minor, int32_t mask, bool active, int sens, int extr, char uid[STORE_ID_MAX + 1],
				 uint32_t *reason)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, minor, 1);
	kt_create_begin(&q, 256);
	kt_attr_int(&q, "Cryptographic Usage Mask", mask);
	if (active)
		kt_attr_date(&q, "Activation Date", 1000000000);
	if (sens >= 0)
		attr_bool(&q, "Sensitive", sens != 0);
	if (extr >= 0)
		attr_bool(&q, "Extractable", extr != 0);
	kt_create_end(&q);
	kt_run(&q, &kt_alice, &r);
	uint32_t st = kt_status(kt_nth(&r, 0));
	if (reason != NULL)
		*reason = kt_reason(kt_nth(&r, 0));
	const struct ttlv_item *u = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER);
	uid[0] = '\0';
	if (u != NULL && u->len <= STORE_ID_MAX) {
		memcpy(uid, u->val, u->len);
		uid[u->len] = '\0';
	}
	kt_resp_free(&r);
	return st;
}

/* get_served runs a Get of |uid| as |p|, wrapped under |kek| when not NULL
 * (AES Key Wrap, §2.1.5); the answer stays in |r| */
static void get_served(const struct kmip_peer *p, const char *uid, const char *kek, struct kt_resp *r)
{
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_GET);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	if (kek != NULL) {
		ttlv_enc_begin(&q.e, KMIP_TAG_KEY_WRAPPING_SPECIFICATION);
		ttlv_enc_enum(&q.e, KMIP_TAG_WRAPPING_METHOD, KMIP_WRAPPING_METHOD_ENCRYPT);
		ttlv_enc_begin(&q.e, KMIP_TAG_ENCRYPTION_KEY_INFORMATION);
		ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, kek);
		ttlv_enc_begin(&q.e, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
		ttlv_enc_enum(&q.e, KMIP_TAG_BLOCK_CIPHER_MODE, KMIP_BLOCK_CIPHER_MODE_NISTKEYWRAP);
		ttlv_enc_end(&q.e);
		ttlv_enc_end(&q.e);
		ttlv_enc_end(&q.e);
	}
	kt_item_end(&q);
	kt_run(&q, p, r);
}

/* modify_bool runs Modify Attribute of |name| to |v| as |p| */
static uint32_t modify_bool(const struct kmip_peer *p, const char *uid, const char *name, bool v, uint32_t *reason)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_MODIFY_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	attr_bool(&q, name, v);
	kt_item_end(&q);
	kt_run(&q, p, &r);
	uint32_t st = kt_status(kt_nth(&r, 0));
	*reason = kt_reason(kt_nth(&r, 0));
	CU_ASSERT(st == KMIP_RESULT_STATUS_SUCCESS || kt_has_message(kt_nth(&r, 0)));
	if (st == KMIP_RESULT_STATUS_SUCCESS) /* §4.15: the attribute as it now is */
		CU_ASSERT_EQUAL(bool_of(kt_payload(kt_nth(&r, 0)), name), v);
	kt_resp_free(&r);
	return st;
}

/* Fresh (§3.34): True when made, False once the key material is served
 * (Get, a wrapped Get), in the transaction of the access record; using a
 * key as a wrapping key serves nothing. Key Value Present (§3.41) is
 * created by the server only for an object registered without its Key
 * Value, which fount does not take: no object has it. The defaults of
 * §3.48-§3.51: Sensitive False, Extractable True (what PyKMIP, vCenter and
 * mongod expect: they Get keys in plaintext). Versions: Fresh 1.1+, Key
 * Value Present 1.2+, the four 1.4. */
static void test_fresh_and_key_value_present(void)
{
	char uid[STORE_ID_MAX + 1], kek[STORE_ID_MAX + 1], other[STORE_ID_MAX + 1];
	int a[6];
	CU_ASSERT_EQUAL_FATAL(create_protected(4, 0xC, false, -1, -1, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	protect_of(&kt_alice, 4, uid, a);
	PROTECT_IS(a, 1, -1, 0, 0, 1, 0);
	protect_of(&kt_alice, 3, uid, a);
	PROTECT_IS(a, 1, -1, -1, -1, -1, -1);
	protect_of(&kt_alice, 1, uid, a);
	PROTECT_IS(a, 1, -1, -1, -1, -1, -1);
	protect_of(&kt_alice, 0, uid, a);
	PROTECT_IS(a, -1, -1, -1, -1, -1, -1);
	/* by name, and in the list */
	struct kt_resp r;
	get_attrs(&kt_alice, 4, uid, "Fresh", &r);
	CU_ASSERT_EQUAL(bool_of(kt_payload(kt_nth(&r, 0)), "Fresh"), 1);
	CU_ASSERT_EQUAL(ttlv_count(kt_payload(kt_nth(&r, 0)), KMIP_TAG_ATTRIBUTE), 1);
	kt_resp_free(&r);
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_uid_item(&q, KMIP_OPERATION_GET_ATTRIBUTE_LIST, uid);
	kt_run(&q, &kt_alice, &r);
	static const char *const listed[] = {"Fresh", "Sensitive", "Always Sensitive", "Extractable",
					     "Never Extractable", "Key Value Present"};
	for (size_t i = 0; i < ARRAY_SIZE(listed); i++) {
		bool seen = false;
		for (const struct ttlv_item *n = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_ATTRIBUTE_NAME); n != NULL;
		     n = ttlv_find_next(n))
			seen = seen || text_is(n, listed[i]);
		CU_ASSERT(seen == (i + 1 < ARRAY_SIZE(listed))); /* the last: never created */
	}
	kt_resp_free(&r);
	/* a client cannot set Fresh or Key Value Present (§3.34, §3.41) */
	uint32_t why = 0;
	CU_ASSERT_EQUAL(modify_bool(&kt_alice, uid, "Fresh", true, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	CU_ASSERT_EQUAL(modify_bool(&kt_alice, uid, "Key Value Present", false, &why),
			KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	/* another tenant's Get serves nothing: still Fresh, nothing recorded */
	uint64_t n0 = 0, n1 = 0;
	EXPECT_OK(store_access_count(kt_store, uid, &n0));
	CU_ASSERT_EQUAL(kt_one(&kt_bob, KMIP_OPERATION_GET, uid, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	protect_of(&kt_alice, 4, uid, a);
	CU_ASSERT_EQUAL(a[0], 1);
	/* the owner's Get: served, recorded once, no longer Fresh */
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_GET, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	EXPECT_OK(store_access_count(kt_store, uid, &n1));
	CU_ASSERT_EQUAL(n1, n0 + 1);
	protect_of(&kt_alice, 4, uid, a);
	PROTECT_IS(a, 0, -1, 0, 0, 1, 0);
	/* a wrapped Get: the wrapped key is served, the wrapping key only used */
	CU_ASSERT_EQUAL_FATAL(create_protected(4, 0x10, true, -1, -1, kek, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL_FATAL(create_protected(4, 0xC, false, -1, -1, other, NULL), KMIP_RESULT_STATUS_SUCCESS);
	get_served(&kt_alice, other, kek, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);
	protect_of(&kt_alice, 4, other, a);
	CU_ASSERT_EQUAL(a[0], 0);
	protect_of(&kt_alice, 4, kek, a);
	CU_ASSERT_EQUAL(a[0], 1);
	/* destroyed: no Key Value, and Fresh as it was */
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, other, NULL), KMIP_RESULT_STATUS_SUCCESS);
	protect_of(&kt_alice, 4, other, a);
	PROTECT_IS(a, 0, -1, 0, 0, 1, 0);
	/* an Opaque Object has no Key Block, so no Key Value Present (§3.41);
	 * Fresh and the four it has (§3.34, §3.48-§3.51: all objects) */
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_REGISTER);
	ttlv_enc_enum(&q.e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_OPAQUE_OBJECT);
	ttlv_enc_begin(&q.e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	ttlv_enc_end(&q.e);
	ttlv_enc_begin(&q.e, KMIP_TAG_OPAQUE_OBJECT);
	ttlv_enc_enum(&q.e, KMIP_TAG_OPAQUE_DATA_TYPE, 0x80000001u);
	static const uint8_t blob[6] = {'o', 'p', 'a', 'q', 'u', 'e'};
	ttlv_enc_bytes(&q.e, KMIP_TAG_OPAQUE_DATA_VALUE, blob, sizeof blob);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL_FATAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *ou = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER);
	char opaque[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(ou != NULL && ou->len <= STORE_ID_MAX);
	memcpy(opaque, ou->val, ou->len);
	opaque[ou->len] = '\0';
	kt_resp_free(&r);
	protect_of(&kt_alice, 4, opaque, a);
	PROTECT_IS(a, 1, -1, 0, 0, 1, 0);
}

/* Sensitive (§3.48): never served in plaintext, only wrapped; still used
 * for Encrypt. Extractable False (§3.50): never served. Both given at
 * Create, changed only the safe way (the other is Permission Denied);
 * Always Sensitive / Never Extractable (§3.49, §3.51) say the key was so
 * from its creation. A refused Get records nothing and leaves it Fresh. */
static void test_sensitive_and_extractable(void)
{
	char sens[STORE_ID_MAX + 1], plain[STORE_ID_MAX + 1], locked[STORE_ID_MAX + 1], kek[STORE_ID_MAX + 1];
	int a[6];
	uint32_t why = 0;
	CU_ASSERT_EQUAL_FATAL(create_protected(4, 0x10, true, -1, -1, kek, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL_FATAL(create_protected(4, 0xC, true, 1, -1, sens, NULL), KMIP_RESULT_STATUS_SUCCESS);
	protect_of(&kt_alice, 4, sens, a);
	PROTECT_IS(a, 1, -1, 1, 1, 1, 0);
	uint64_t n0 = 0, n1 = 0;
	EXPECT_OK(store_access_count(kt_store, sens, &n0));
	struct kt_resp r;
	get_served(&kt_alice, sens, NULL, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	/* KMIP 1.4 has no "Sensitive" reason (2.1's BL-M-12-21): Permission Denied */
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_PERMISSION_DENIED);
	const struct ttlv_item *m = ttlv_find(kt_nth(&r, 0), KMIP_TAG_RESULT_MESSAGE);
	CU_ASSERT(m != NULL && memmem(m->val, m->len, "Sensitive", 9) != NULL);
	CU_ASSERT_PTR_NULL(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_SYMMETRIC_KEY));
	kt_resp_free(&r);
	EXPECT_OK(store_access_count(kt_store, sens, &n1));
	CU_ASSERT_EQUAL(n1, n0);
	protect_of(&kt_alice, 4, sens, a);
	CU_ASSERT_EQUAL(a[0], 1);
	/* wrapped it leaves, but only under a key that cannot itself leave in
	 * plaintext nor serve as a raw cipher: not under the ordinary |kek|
	 * (Get it, unwrap offline), nor a Sensitive one that may Decrypt */
	get_served(&kt_alice, sens, kek, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_PTR_NULL(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_SYMMETRIC_KEY));
	kt_resp_free(&r);
	char oracle[STORE_ID_MAX + 1], trusted[STORE_ID_MAX + 1];
	CU_ASSERT_EQUAL_FATAL(create_protected(4, 0x18, true, 1, -1, oracle, NULL), KMIP_RESULT_STATUS_SUCCESS);
	get_served(&kt_alice, sens, oracle, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	kt_resp_free(&r);
	uint8_t *w0 = NULL;
	size_t w0l = 0;
	char wb[OPS_WHY_MAX];
	EXPECT_ERR(ops_get_wrapped(&kt_alice, sens, kek, KEYGEN_WRAP_KW, &w0, &w0l, NULL, wb), ERR_KEY_USAGE);
	EXPECT_OK(store_access_count(kt_store, sens, &n1));
	CU_ASSERT_EQUAL(n1, n0); /* refused before anything was read */
	CU_ASSERT_EQUAL_FATAL(create_protected(4, 0x10, true, 1, -1, trusted, NULL), KMIP_RESULT_STATUS_SUCCESS);
	memcpy(kek, trusted, sizeof kek);
	get_served(&kt_alice, sens, kek, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *kb = ttlv_find(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_SYMMETRIC_KEY),
					       KMIP_TAG_KEY_BLOCK);
	CU_ASSERT(ttlv_find(kb, KMIP_TAG_KEY_WRAPPING_DATA) != NULL);
	CU_ASSERT(ttlv_find(kb, KMIP_TAG_KEY_VALUE) != NULL && ttlv_find(kb, KMIP_TAG_KEY_VALUE)->type == TTLV_BYTES);
	kt_resp_free(&r);
	/* and it still encrypts (the key never leaves api/ops.c) */
	uint8_t data[16] = {1}, out[64];
	struct ops_cipher c = {.mode = OPS_AES_GCM, .in = data, .in_len = sizeof data, .tag_len = 16,
			       .out = out, .out_cap = sizeof out};
	EXPECT_OK(ops_encrypt(&kt_alice, sens, "test encrypt", &c));
	CU_ASSERT_EQUAL(c.out_len, sizeof data);
	/* no way back: Sensitive stays True; setting it True again is fine */
	CU_ASSERT_EQUAL(modify_bool(&kt_alice, sens, "Sensitive", false, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	CU_ASSERT_EQUAL(modify_bool(&kt_alice, sens, "Sensitive", true, &why), KMIP_RESULT_STATUS_SUCCESS);
	/* the safe way on a plain key: served before, not after; it was not
	 * always Sensitive */
	CU_ASSERT_EQUAL_FATAL(create_protected(4, 0xC, true, 0, 1, plain, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_GET, plain, NULL), KMIP_RESULT_STATUS_SUCCESS);
	/* another tenant cannot touch it, nor learn it exists */
	CU_ASSERT_EQUAL(modify_bool(&kt_bob, plain, "Sensitive", true, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	CU_ASSERT_EQUAL(modify_bool(&kt_bob, plain, "Sensitive", false, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	CU_ASSERT_EQUAL(modify_bool(&kt_alice, plain, "Sensitive", true, &why), KMIP_RESULT_STATUS_SUCCESS);
	protect_of(&kt_alice, 4, plain, a);
	PROTECT_IS(a, 0, -1, 1, 0, 1, 0);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_GET, plain, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	/* Extractable False: not even wrapped; Never Extractable */
	CU_ASSERT_EQUAL(modify_bool(&kt_alice, plain, "Extractable", false, &why), KMIP_RESULT_STATUS_SUCCESS);
	protect_of(&kt_alice, 4, plain, a);
	PROTECT_IS(a, 0, -1, 1, 0, 0, 0);
	get_served(&kt_alice, plain, kek, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_PERMISSION_DENIED);
	m = ttlv_find(kt_nth(&r, 0), KMIP_TAG_RESULT_MESSAGE);
	CU_ASSERT(m != NULL && memmem(m->val, m->len, "Extractable", 11) != NULL);
	kt_resp_free(&r);
	CU_ASSERT_EQUAL(modify_bool(&kt_alice, plain, "Extractable", true, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	CU_ASSERT_EQUAL_FATAL(create_protected(4, 0xC, true, -1, 0, locked, NULL), KMIP_RESULT_STATUS_SUCCESS);
	protect_of(&kt_alice, 4, locked, a);
	PROTECT_IS(a, 1, -1, 0, 0, 0, 1);
	get_served(&kt_alice, locked, NULL, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_PERMISSION_DENIED);
	kt_resp_free(&r);
	get_served(&kt_alice, locked, kek, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_PERMISSION_DENIED);
	kt_resp_free(&r);
	/* the HTTP path's wrapped read obeys the same rule */
	uint8_t *w = NULL;
	size_t wl = 0;
	char whybuf[OPS_WHY_MAX];
	EXPECT_ERR(ops_get_wrapped(&kt_alice, locked, kek, KEYGEN_WRAP_KW, &w, &wl, NULL, whybuf), ERR_STORE_PROTECTED);
	CU_ASSERT_PTR_NULL(w);
	/* Add finds them set; Delete is refused (§3.48, §3.50: always a value) */
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_ADD_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, locked);
	attr_bool(&q, "Extractable", false);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_ILLEGAL_OPERATION);
	kt_resp_free(&r);
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_DELETE_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, locked);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "Sensitive");
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_PERMISSION_DENIED);
	kt_resp_free(&r);
	protect_of(&kt_alice, 4, locked, a);
	PROTECT_IS(a, 1, -1, 0, 0, 0, 1);
	/* the server keeps Always Sensitive and Never Extractable */
	CU_ASSERT_EQUAL(modify_bool(&kt_alice, locked, "Never Extractable", false, &why),
			KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	/* a Re-key's replacement is protected as the key it replaces (and
	 * made so: Always Sensitive), and Fresh */
	struct kt_req rq;
	kt_begin(&rq, 4, 1);
	kt_uid_item(&rq, KMIP_OPERATION_RE_KEY, sens);
	kt_run(&rq, &kt_alice, &r);
	CU_ASSERT_EQUAL_FATAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *nu = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER);
	char renewed[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(nu != NULL && nu->len <= STORE_ID_MAX);
	memcpy(renewed, nu->val, nu->len);
	renewed[nu->len] = '\0';
	kt_resp_free(&r);
	protect_of(&kt_alice, 4, renewed, a);
	PROTECT_IS(a, 1, -1, 1, 1, 1, 0);
	/* Register takes them too (§3.48, §3.50: "when object is created or
	 * registered") */
	kt_begin(&rq, 4, 1);
	kt_item(&rq, KMIP_OPERATION_REGISTER);
	ttlv_enc_enum(&rq.e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_begin(&rq.e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	kt_attr_int(&rq, "Cryptographic Usage Mask", 0xC);
	attr_bool(&rq, "Extractable", false);
	ttlv_enc_end(&rq.e);
	ttlv_enc_begin(&rq.e, KMIP_TAG_SYMMETRIC_KEY);
	ttlv_enc_begin(&rq.e, KMIP_TAG_KEY_BLOCK);
	ttlv_enc_enum(&rq.e, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_RAW);
	ttlv_enc_begin(&rq.e, KMIP_TAG_KEY_VALUE);
	static const uint8_t raw[16] = {0x5A, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	ttlv_enc_bytes(&rq.e, KMIP_TAG_KEY_MATERIAL, raw, sizeof raw);
	ttlv_enc_end(&rq.e);
	ttlv_enc_enum(&rq.e, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	ttlv_enc_int(&rq.e, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, 128);
	ttlv_enc_end(&rq.e);
	ttlv_enc_end(&rq.e);
	kt_item_end(&rq);
	kt_run(&rq, &kt_alice, &r);
	CU_ASSERT_EQUAL_FATAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	nu = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER);
	char reg[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(nu != NULL && nu->len <= STORE_ID_MAX);
	memcpy(reg, nu->val, nu->len);
	reg[nu->len] = '\0';
	kt_resp_free(&r);
	protect_of(&kt_alice, 4, reg, a);
	PROTECT_IS(a, 1, -1, 0, 0, 0, 1);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_GET, reg, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_PERMISSION_DENIED);
	/* a 1.3 request has no Sensitive to give (§3.48 is 1.4) */
	CU_ASSERT_EQUAL(create_protected(3, 0xC, false, 1, -1, locked, &why), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_INVALID_FIELD);
}

/* Description and Comment (§3.46, §3.47, 1.4): the client's text, added,
 * modified, deleted; unknown to a 1.3 request */
static void test_description_comment(void)
{
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(kt_create_one(&kt_alice, 4, 0xC, NULL, uid));
	uint32_t why = 0;
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "Description", "payroll DEK", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "Comment", "rotate yearly", NULL, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(add_text(&kt_alice, 4, uid, "Comment", "twice", &why, NULL), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_ILLEGAL_OPERATION); /* single-valued, §11.15 */
	CU_ASSERT_EQUAL(add_text(&kt_alice, 3, uid, "Description", "x", &why, NULL), KMIP_RESULT_STATUS_OPERATION_FAILED);
	CU_ASSERT_EQUAL(why, KMIP_RESULT_REASON_INVALID_FIELD);
	struct kt_resp r;
	modify_text(&kt_alice, uid, "Description", -1, "payroll DEK v2", &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);
	get_attrs(&kt_alice, 4, uid, NULL, &r);
	CU_ASSERT(text_is(value_of(kt_payload(kt_nth(&r, 0)), "Description", 0), "payroll DEK v2"));
	CU_ASSERT(text_is(value_of(kt_payload(kt_nth(&r, 0)), "Comment", 0), "rotate yearly"));
	kt_resp_free(&r);
	get_attrs(&kt_alice, 3, uid, NULL, &r);
	CU_ASSERT_PTR_NULL(attr_of(kt_payload(kt_nth(&r, 0)), "Description", 0));
	kt_resp_free(&r);
	/* not another tenant's to see */
	get_attrs(&kt_bob, 4, uid, "Description", &r);
	CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	kt_resp_free(&r);
	struct kt_req q;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_DELETE_ATTRIBUTE);
	ttlv_enc_cstr(&q.e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_cstr(&q.e, KMIP_TAG_ATTRIBUTE_NAME, "Comment");
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	kt_resp_free(&r);
	get_attrs(&kt_alice, 4, uid, "Comment", &r);
	CU_ASSERT_PTR_NULL(attr_of(kt_payload(kt_nth(&r, 0)), "Comment", 0));
	kt_resp_free(&r);
}

/* 3DES for the Symmetric Key Lifecycle Server: three-key TDEA (SP 800-67
 * r2 §3.1 keying option 1, odd parity §3.3.1), outside FIPS mode only
 * (SP 800-131A r2); in FIPS mode Create says why it refuses. */
static void test_3des(void)
{
	const struct keygen_type *t = keygen_tdea_type();
	CU_ASSERT_EQUAL(t->sym_len, 24);
	CU_ASSERT_EQUAL(t->bits, 168);
	CU_ASSERT_EQUAL(keygen_tdea_available(), !keygen_fips_mode());
	/* the key rule, whatever the mode: parity set, option 1 only */
	uint8_t k[24];
	for (size_t i = 0; i < 24; i++)
		k[i] = (uint8_t)(11 * i + 0x22);
	CU_ASSERT(keygen_tdea_key_fix(k));
	for (size_t i = 0; i < 24; i++) {
		unsigned ones = 0;
		for (uint8_t x = k[i]; x != 0; x = (uint8_t)(x & (x - 1)))
			ones++;
		CU_ASSERT_EQUAL(ones % 2, 1);
		CU_ASSERT_EQUAL(k[i] & 0xFE, (uint8_t)(11 * i + 0x22) & 0xFE); /* only the parity bit moves */
	}
	memcpy(k + 8, k, 8); /* K1 = K2: keying option 3, single DES in effect */
	CU_ASSERT_FALSE(keygen_tdea_key_fix(k));
	for (size_t i = 0; i < 24; i++)
		k[i] = (uint8_t)(11 * i + 0x22);
	memset(k + 16, 0x00, 8); /* K3 = 0101..01 with parity: a weak key (SP 800-67 r2 §3.3.2) */
	CU_ASSERT_FALSE(keygen_tdea_key_fix(k));
	static const uint8_t semi[8] = {0xE0, 0xFE, 0xE0, 0xFE, 0xF1, 0xFE, 0xF1, 0xFE};
	for (size_t i = 0; i < 24; i++)
		k[i] = (uint8_t)(11 * i + 0x22);
	memcpy(k + 8, semi, 8);
	CU_ASSERT_FALSE(keygen_tdea_key_fix(k));
	/* not an approved type: not in the table the CLI and selftest list */
	const struct keygen_type *all;
	size_t n = keygen_types(&all);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT(strcmp(all[i].name, t->name) != 0);
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_CREATE);
	ttlv_enc_enum(&q.e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_begin(&q.e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	kt_attr_enum(&q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_V3DES);
	kt_attr_int(&q, "Cryptographic Length", 168);
	kt_attr_int(&q, "Cryptographic Usage Mask", 0xC);
	ttlv_enc_end(&q.e);
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	if (!keygen_tdea_available()) {
		uint8_t *gen = NULL;
		size_t gl = 0;
		EXPECT_ERR(keygen_sym_generate(t, KEYGEN_F_PR, &gen, &gl), ERR_UNSUPPORTED);
		CU_ASSERT_PTR_NULL(gen);
		CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_OPERATION_FAILED);
		CU_ASSERT_EQUAL(kt_reason(kt_nth(&r, 0)), KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED);
		const struct ttlv_item *m = ttlv_find(kt_nth(&r, 0), KMIP_TAG_RESULT_MESSAGE);
		CU_ASSERT(m != NULL && memmem(m->val, m->len, "FIPS mode", 9) != NULL);
		kt_resp_free(&r);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *u = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER);
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_FATAL(u != NULL && u->len <= STORE_ID_MAX);
	memcpy(uid, u->val, u->len);
	uid[u->len] = '\0';
	kt_resp_free(&r);
	get_served(&kt_alice, uid, NULL, &r);
	const struct ttlv_item *kb = ttlv_find(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_SYMMETRIC_KEY),
					       KMIP_TAG_KEY_BLOCK);
	const struct ttlv_item *km = ttlv_find(ttlv_find(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL);
	CU_ASSERT_FATAL(km != NULL && km->len == 24);
	for (size_t i = 0; i < 24; i++) {
		unsigned ones = 0;
		for (uint8_t x = km->val[i]; x != 0; x = (uint8_t)(x & (x - 1)))
			ones++;
		CU_ASSERT_EQUAL(ones % 2, 1);
	}
	CU_ASSERT(memcmp(km->val, km->val + 8, 8) != 0 && memcmp(km->val + 8, km->val + 16, 8) != 0 &&
		  memcmp(km->val, km->val + 16, 8) != 0);
	CU_ASSERT_EQUAL(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM)->u, KMIP_CRYPTOGRAPHIC_ALGORITHM_V3DES);
	CU_ASSERT_EQUAL(ttlv_int(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)), 168);
	kt_resp_free(&r);
}

TEST_SUITE(kmip_attrs, suite_init, suite_clean, TEST(test_table), TEST(test_vcenter_batch), TEST(test_add_types),
	   TEST(test_add_refusals), TEST(test_modify), TEST(test_activation_date), TEST(test_delete), TEST(test_attribute_list),
	   TEST(test_version_filter), TEST(test_create_rng), TEST(test_store_keeps_rng), TEST(test_check), TEST(test_leases), TEST(test_tenant_isolation),
	   TEST(test_admin_key_access), TEST(test_locate_filters), TEST(test_fresh_and_key_value_present),
	   TEST(test_sensitive_and_extractable), TEST(test_description_comment), TEST(test_3des))
