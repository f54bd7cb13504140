/* tests/kmip_inproc.c — the fixture of the in-process KMIP suites; see
 * kmip_inproc.h. */
#include "tests/kmip_inproc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "tests/helpers.h"

#define KT_REQUEST_MAX (4u << 20) /* the largest request a suite builds: Encrypt's streaming limits */
#define KT_RESPONSE_MAX (1u << 20)

static struct config kt_cfg;
static struct kt_suite kt_now;
bool kt_gate_open = true;
struct store *kt_store;
char kt_dir[64];

const struct kmip_peer kt_alice = {.tenant = "alice"};
const struct kmip_peer kt_bob = {.tenant = "bob"};
const struct kmip_peer kt_admin = {.tenant = "ops", .admin = true};

static bool kt_gate(void)
{
	return kt_gate_open;
}

int kt_init(const struct kt_suite *s)
{
	kt_now = *s;
	kt_gate_open = true;
	kt_store = NULL;
	testlib_config(&kt_cfg);
	if (keygen_init(&kt_cfg) != ERR_OK)
		return -1;
	err_t r = entropy_init(&kt_cfg);
	if (r != ERR_OK && r != ERR_USAGE)
		return -1;
	drbg_set_gate(kt_gate);
	if (s->tag == NULL)
		return drbg_tree_init(&kt_cfg) == ERR_OK ? 0 : -1;
	keygen_set_service_gate(kt_gate);
	if (drbg_tree_init(&kt_cfg) != ERR_OK || testlib_tmpdir_create(kt_dir, s->tag) != 0)
		return -1;
	char db[128], kek[128], why[256];
	snprintf(db, sizeof db, "%s/fount.db", kt_dir);
	snprintf(kek, sizeof kek, "file:%s/store.kek", kt_dir);
	struct store_options o = {.path = db, .kek = kek};
	if (store_open(&o, &kt_store, why, sizeof why) != ERR_OK) {
		fprintf(stderr, "store_open: %s\n", why);
		return -1;
	}
	ops_set_store(kt_store, false);
	return 0;
}

int kt_clean(void)
{
	if (kt_now.tag != NULL) {
		ops_set_store(NULL, false);
		store_close(kt_store);
		kt_store = NULL;
	}
	drbg_tree_shutdown();
	drbg_set_gate(NULL);
	if (kt_now.tag != NULL)
		keygen_set_service_gate(NULL);
	entropy_shutdown();
	if (kt_now.tag != NULL)
		testlib_tmpdir_remove(kt_dir);
	return 0;
}

/* ---- requests -------------------------------------------------------------- */
void kt_begin_h(struct kt_req *q, const struct kt_header *h)
{
	ttlv_enc_init(&q->e, KT_REQUEST_MAX);
	ttlv_enc_begin(&q->e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_enc_begin(&q->e, KMIP_TAG_REQUEST_HEADER);
	ttlv_enc_begin(&q->e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(&q->e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(&q->e, KMIP_TAG_PROTOCOL_VERSION_MINOR, h->minor);
	ttlv_enc_end(&q->e);
	if (h->max_response != 0)
		ttlv_enc_int(&q->e, KMIP_TAG_MAXIMUM_RESPONSE_SIZE, h->max_response);
	if (h->beco != 0)
		ttlv_enc_enum(&q->e, KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION, h->beco);
	if (h->time_stamp)
		ttlv_enc_datetime(&q->e, KMIP_TAG_TIME_STAMP, (int64_t)time(NULL));
	ttlv_enc_int(&q->e, KMIP_TAG_BATCH_COUNT, h->count);
	ttlv_enc_end(&q->e);
}

void kt_begin(struct kt_req *q, int minor, int count)
{
	kt_begin_h(q, &(struct kt_header){.minor = minor, .count = count});
}

void kt_item(struct kt_req *q, uint32_t op)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(&q->e, KMIP_TAG_OPERATION, op);
	ttlv_enc_begin(&q->e, KMIP_TAG_REQUEST_PAYLOAD);
}

void kt_item_end(struct kt_req *q)
{
	ttlv_enc_end(&q->e);
	ttlv_enc_end(&q->e);
}

void kt_attr_enum(struct kt_req *q, const char *name, uint32_t v)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, name);
	ttlv_enc_enum(&q->e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_enc_end(&q->e);
}

void kt_attr_int(struct kt_req *q, const char *name, int32_t v)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, name);
	ttlv_enc_int(&q->e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_enc_end(&q->e);
}

void kt_attr_text(struct kt_req *q, const char *name, const char *v)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, name);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_enc_end(&q->e);
}

void kt_attr_date(struct kt_req *q, const char *name, int64_t v)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, name);
	ttlv_enc_datetime(&q->e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_enc_end(&q->e);
}

void kt_attr_name(struct kt_req *q, const char *v)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_ATTRIBUTE_NAME, "Name");
	ttlv_enc_begin(&q->e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_NAME_VALUE, v);
	ttlv_enc_enum(&q->e, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
	ttlv_enc_end(&q->e);
	ttlv_enc_end(&q->e);
}

void kt_create_begin(struct kt_req *q, int bits)
{
	kt_item(q, KMIP_OPERATION_CREATE);
	ttlv_enc_enum(&q->e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_begin(&q->e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	kt_attr_enum(q, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	kt_attr_int(q, "Cryptographic Length", bits);
}

void kt_create_end(struct kt_req *q)
{
	ttlv_enc_end(&q->e);
	kt_item_end(q);
}

void kt_create_item(struct kt_req *q, int bits, int32_t mask, const char *name)
{
	kt_create_begin(q, bits);
	if (mask >= 0)
		kt_attr_int(q, "Cryptographic Usage Mask", mask);
	if (name != NULL)
		kt_attr_name(q, name);
	kt_create_end(q);
}

void kt_revoke_item(struct kt_req *q, const char *uid, uint32_t code)
{
	kt_item(q, KMIP_OPERATION_REVOKE);
	ttlv_enc_cstr(&q->e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_enc_begin(&q->e, KMIP_TAG_REVOCATION_REASON);
	ttlv_enc_enum(&q->e, KMIP_TAG_REVOCATION_REASON_CODE, code);
	ttlv_enc_end(&q->e);
	kt_item_end(q);
}

void kt_uid_item(struct kt_req *q, uint32_t op, const char *uid)
{
	kt_item(q, op);
	if (uid != NULL)
		ttlv_enc_cstr(&q->e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	kt_item_end(q);
}

/* ---- responses ------------------------------------------------------------- */
void kt_run(struct kt_req *q, const struct kmip_peer *p, struct kt_resp *r)
{
	size_t max = kt_now.response_max != 0 ? kt_now.response_max : KT_RESPONSE_MAX;
	ttlv_enc_end(&q->e);
	EXPECT_OK(ttlv_enc_finish(&q->e));
	EXPECT_OK(kmip_process(q->e.buf, q->e.len, p, max, &r->raw));
	CU_ASSERT_EQUAL_FATAL(ttlv_decode(&r->doc, r->raw.buf, r->raw.len), ERR_OK);
	ttlv_enc_free(&q->e);
}

void kt_resp_free(struct kt_resp *r)
{
	ttlv_doc_free(&r->doc);
	ttlv_enc_free(&r->raw);
}

const struct ttlv_item *kt_nth(const struct kt_resp *r, int n)
{
	const struct ttlv_item *it = kt_first(r);
	while (it != NULL && n-- > 0)
		it = ttlv_find_next(it);
	return it;
}

const struct ttlv_item *kt_first(const struct kt_resp *r)
{
	return ttlv_find(ttlv_root(&r->doc), KMIP_TAG_BATCH_ITEM);
}

uint32_t kt_status(const struct ttlv_item *it)
{
	const struct ttlv_item *s = ttlv_find(it, KMIP_TAG_RESULT_STATUS);
	return s != NULL ? (uint32_t)s->u : 0xFFFFFFFFu;
}

uint32_t kt_reason(const struct ttlv_item *it)
{
	const struct ttlv_item *s = ttlv_find(it, KMIP_TAG_RESULT_REASON);
	return s != NULL ? (uint32_t)s->u : 0;
}

const struct ttlv_item *kt_payload(const struct ttlv_item *it)
{
	return ttlv_find(it, KMIP_TAG_RESPONSE_PAYLOAD);
}

bool kt_has_message(const struct ttlv_item *it)
{
	const struct ttlv_item *m = ttlv_find(it, KMIP_TAG_RESULT_MESSAGE);
	return m != NULL && m->type == TTLV_TEXT && m->len > 0;
}

/* ---- one-item exchanges ---------------------------------------------------- */
bool kt_create_one(const struct kmip_peer *p, int minor, int32_t mask, const char *name,
		   char uid[STORE_ID_MAX + 1])
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, minor, 1);
	kt_create_item(&q, 256, mask, name);
	kt_run(&q, p, &r);
	const struct ttlv_item *u = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER);
	bool ok = kt_status(kt_nth(&r, 0)) == KMIP_RESULT_STATUS_SUCCESS && u != NULL && u->len <= STORE_ID_MAX;
	if (ok) {
		memcpy(uid, u->val, u->len);
		uid[u->len] = '\0';
	}
	kt_resp_free(&r);
	return ok;
}

uint32_t kt_one(const struct kmip_peer *p, uint32_t op, const char *uid, uint32_t *out_reason)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_uid_item(&q, op, uid);
	kt_run(&q, p, &r);
	uint32_t s = kt_status(kt_nth(&r, 0));
	if (out_reason != NULL)
		*out_reason = kt_reason(kt_nth(&r, 0));
	if (kt_now.check_messages && s != KMIP_RESULT_STATUS_SUCCESS) {
		CU_ASSERT(kt_has_message(kt_nth(&r, 0)));
	}
	kt_resp_free(&r);
	return s;
}
