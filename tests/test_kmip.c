/* tests/test_kmip.c — KMIP messages (api/kmip_msg.c) and the operations
 * that need no store: the response shape strict clients decode (libkmip,
 * mongod, PyKMIP), errors with reason and message for every kind of bad
 * request, batches, Maximum Response Size, and the byte-exact KMIP 1.1 Test
 * Case 16.1 (Discover Versions) and KMIP 1.3 CS-RNG-M-1 exchanges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "tests/helpers.h"
#include "tests/kmip_inproc.h"

static int suite_init(void)
{
	return kt_init(&(struct kt_suite){.tag = NULL}); /* no store: messages and RNG only */
}

static int suite_clean(void)
{
	return kt_clean();
}

static const struct kmip_peer peer = {.tenant = "test"};

/* a response, decoded */
struct resp {
	struct ttlv_enc raw;
	struct ttlv_doc doc;
	const struct ttlv_item *root, *header;
};

static void resp_free(struct resp *r)
{
	ttlv_doc_free(&r->doc);
	ttlv_enc_free(&r->raw);
}

/* process runs |req| through kmip_process and decodes the answer, checking
 * the header every client needs: exactly ProtocolVersion, TimeStamp,
 * BatchCount, and a BatchCount equal to the items. */
static void process(const uint8_t *req, size_t len, size_t max, struct resp *out)
{
	memset(out, 0, sizeof *out);
	EXPECT_OK(kmip_process(req, len, &peer, max, &out->raw));
	CU_ASSERT_EQUAL_FATAL(ttlv_decode(&out->doc, out->raw.buf, out->raw.len), ERR_OK);
	out->root = ttlv_root(&out->doc);
	CU_ASSERT_EQUAL_FATAL(out->root->tag, KMIP_TAG_RESPONSE_MESSAGE);
	out->header = ttlv_find(out->root, KMIP_TAG_RESPONSE_HEADER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out->header);
	const struct ttlv_item *c = out->header->child;
	CU_ASSERT_FATAL(c != NULL && c->tag == KMIP_TAG_PROTOCOL_VERSION);
	c = c->next;
	CU_ASSERT_FATAL(c != NULL && c->tag == KMIP_TAG_TIME_STAMP && c->type == TTLV_DATETIME);
	c = c->next;
	CU_ASSERT_FATAL(c != NULL && c->tag == KMIP_TAG_BATCH_COUNT);
	CU_ASSERT_EQUAL((size_t)ttlv_int(c), ttlv_count(out->root, KMIP_TAG_BATCH_ITEM));
	CU_ASSERT_PTR_NULL(c->next);
}

static int resp_minor(const struct resp *r)
{
	const struct ttlv_item *pv = ttlv_find(r->header, KMIP_TAG_PROTOCOL_VERSION);
	return (int)ttlv_int(ttlv_find(pv, KMIP_TAG_PROTOCOL_VERSION_MINOR));
}

/* item_n returns the n-th response batch item */
static const struct ttlv_item *item_n(const struct resp *r, int n)
{
	const struct ttlv_item *it = ttlv_find(r->root, KMIP_TAG_BATCH_ITEM);
	while (it != NULL && n-- > 0)
		it = ttlv_find_next(it);
	return it;
}

/* check_failure: an item that failed with |reason|, carrying Result
 * Reason and a non-empty Result Message, in the order Operation (when
 * |op|), ResultStatus, ResultReason, ResultMessage. */
#define EXPECT_TAG(c, want)                                                     \
	do {                                                                    \
		if ((c) == NULL || (c)->tag != (want)) {                        \
			CU_FAIL("missing or misplaced " #want);                 \
			return;                                                 \
		}                                                               \
	} while (0)

static void check_failure(const struct ttlv_item *it, uint32_t op, uint32_t reason)
{
	if (it == NULL) {
		CU_FAIL("no such batch item");
		return;
	}
	const struct ttlv_item *c = it->child;
	if (op != 0) {
		EXPECT_TAG(c, KMIP_TAG_OPERATION);
		CU_ASSERT_EQUAL(c->u, op);
		c = c->next;
	}
	if (c != NULL && c->tag == KMIP_TAG_UNIQUE_BATCH_ITEM_ID)
		c = c->next;
	EXPECT_TAG(c, KMIP_TAG_RESULT_STATUS);
	CU_ASSERT_EQUAL(c->u, KMIP_RESULT_STATUS_OPERATION_FAILED);
	c = c->next;
	EXPECT_TAG(c, KMIP_TAG_RESULT_REASON);
	if (c->u != reason)
		fprintf(stderr, "\n  reason 0x%x, want 0x%x\n", (unsigned)c->u, (unsigned)reason);
	CU_ASSERT_EQUAL(c->u, reason);
	c = c->next;
	EXPECT_TAG(c, KMIP_TAG_RESULT_MESSAGE);
	CU_ASSERT(c->len > 0);
	CU_ASSERT_PTR_NULL(c->next);
}

/* ---- a request builder ---------------------------------------------------*/
/* |ubi|: a Unique Batch Item ID of 8 bytes, or NULL */
static void req_item(struct kt_req *q, uint32_t op, const char *ubi)
{
	ttlv_enc_begin(&q->e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(&q->e, KMIP_TAG_OPERATION, op);
	if (ubi != NULL)
		ttlv_enc_bytes(&q->e, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, (const uint8_t *)ubi, 8);
	ttlv_enc_begin(&q->e, KMIP_TAG_REQUEST_PAYLOAD);
}

static void req_rng(struct kt_req *q, int32_t n, const char *ubi)
{
	req_item(q, KMIP_OPERATION_RNG_RETRIEVE, ubi);
	ttlv_enc_int(&q->e, KMIP_TAG_DATA_LENGTH, n);
	kt_item_end(q);
}

static void req_finish(struct kt_req *q)
{
	ttlv_enc_end(&q->e);
	EXPECT_OK(ttlv_enc_finish(&q->e));
}

/* hex_vector returns the n-th hex record of the shared vector file whose
 * label line is |label| and direction |dir|. */
static uint8_t *vector(const char *label, const char *dir, size_t *len)
{
	FILE *f = fopen(testlib_path("tests/vectors/kmip/ttlv-hex.txt"), "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	char line[8192];
	bool in_label = false, in_dir = false;
	uint8_t *out = NULL;
	while (out == NULL && fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "label: ", 7) == 0)
			in_label = strcmp(line + 7, label) == 0;
		if (strncmp(line, "direction: ", 11) == 0)
			in_dir = strcmp(line + 11, dir) == 0;
		if (in_label && in_dir && strncmp(line, "hex: ", 5) == 0)
			out = testlib_hex(line + 5, len);
	}
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	return out;
}

/* same_but_timestamp compares a response with the expected bytes, after
 * copying the expected TimeStamp (the only value the spec lets vary,
 * KMIP Additional Message Encodings §8.4.1) into ours. */
static bool same_but_timestamp(const struct resp *r, const uint8_t *want, size_t want_len)
{
	if (r->raw.len != want_len)
		return false;
	uint8_t *got = malloc(want_len);
	if (got == NULL)
		return false;
	memcpy(got, r->raw.buf, want_len);
	/* ResponseMessage(8) ResponseHeader(8) ProtocolVersion(40): TimeStamp at 56 */
	static const uint8_t ts[8] = {0x42, 0x00, 0x92, 0x09, 0, 0, 0, 8};
	bool ok = memcmp(got + 56, ts, 8) == 0 && memcmp(want + 56, ts, 8) == 0;
	memcpy(got + 64, want + 64, 8);
	ok = ok && memcmp(got, want, want_len) == 0;
	free(got);
	return ok;
}

/* ---- tests ----------------------------------------------------------------*/

/* KMIP 1.1 Test Case 16.1: with [1.0], [1.1] and the unknown [9.31] the
 * answers are byte-exact (but for the TimeStamp); with no list, every
 * version fount speaks, newest first. */
static void test_discover_versions_case_16_1(void)
{
	static const struct {
		const char *req, *resp;
	} pairs[] = {
		{"discover_versionswith_v10", "discover_versions_v10"},
		{"discover_versions_with_v11", "discover_versions_v11"},
		{"discover_versions_with_v931", "discover_versions_no_versions"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
		size_t ql, pl;
		uint8_t *q = vector(pairs[i].req, "request", &ql);
		uint8_t *p = vector(pairs[i].resp, "response", &pl);
		struct resp r;
		process(q, ql, 1 << 20, &r);
		CU_ASSERT(same_but_timestamp(&r, p, pl));
		resp_free(&r);
		free(q);
		free(p);
	}
	size_t ql;
	uint8_t *q = vector("discover_versions_no_versions_provided", "request", &ql);
	struct resp r;
	process(q, ql, 1 << 20, &r);
	const struct ttlv_item *pay = ttlv_find(item_n(&r, 0), KMIP_TAG_RESPONSE_PAYLOAD);
	CU_ASSERT_EQUAL(ttlv_count(pay, KMIP_TAG_PROTOCOL_VERSION), 5);
	int minor = KMIP_MINOR_MAX;
	for (const struct ttlv_item *v = ttlv_find(pay, KMIP_TAG_PROTOCOL_VERSION); v != NULL;
	     v = ttlv_find_next(v), minor--)
		CU_ASSERT_EQUAL(ttlv_int(ttlv_find(v, KMIP_TAG_PROTOCOL_VERSION_MINOR)), minor);
	resp_free(&r);
	free(q);
}

/* KMIP Profiles 1.3 CS-RNG-M-1: the response has the vector's exact shape
 * (only TimeStamp and the 32 random bytes may differ). */
static void test_rng_retrieve_cs_rng_m_1(void)
{
	size_t ql, pl;
	uint8_t *q = vector("rng_retrieve", "request", &ql);
	uint8_t *p = vector("rng_retrieve", "response", &pl);
	struct resp r;
	process(q, ql, 1 << 20, &r);
	CU_ASSERT_EQUAL_FATAL(r.raw.len, pl);
	/* the 32 Data bytes are the last 32 of the message */
	memcpy(p + pl - 32, r.raw.buf + pl - 32, 32);
	CU_ASSERT(same_but_timestamp(&r, p, pl));
	/* two answers differ */
	struct resp r2;
	process(q, ql, 1 << 20, &r2);
	CU_ASSERT(memcmp(r.raw.buf + pl - 32, r2.raw.buf + pl - 32, 32) != 0);
	resp_free(&r2);
	resp_free(&r);
	free(q);
	free(p);
}

static void test_rng_limits_and_failures(void)
{
	struct kt_req q;
	struct resp r;
	/* Data Length 0, negative, missing, of the wrong type, absurd */
	static const int32_t bad[] = {0, -1, 0x7FFFFFFF};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		kt_begin(&q, 4, 1);
		req_rng(&q, bad[i], NULL);
		req_finish(&q);
		process(q.e.buf, q.e.len, 1 << 20, &r);
		check_failure(item_n(&r, 0), KMIP_OPERATION_RNG_RETRIEVE,
			      bad[i] > 0 ? KMIP_RESULT_REASON_RESPONSE_TOO_LARGE : KMIP_RESULT_REASON_INVALID_FIELD);
		resp_free(&r);
		ttlv_enc_free(&q.e);
	}
	kt_begin(&q, 4, 1);
	req_item(&q, KMIP_OPERATION_RNG_RETRIEVE, NULL);
	ttlv_enc_cstr(&q.e, KMIP_TAG_DATA_LENGTH, "32");
	kt_item_end(&q);
	req_finish(&q);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	check_failure(item_n(&r, 0), KMIP_OPERATION_RNG_RETRIEVE, KMIP_RESULT_REASON_INVALID_FIELD);
	resp_free(&r);
	ttlv_enc_free(&q.e);
	/* not in KMIP 1.1: RNG Retrieve arrived in 1.2 */
	kt_begin(&q, 1, 1);
	req_rng(&q, 32, NULL);
	req_finish(&q);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	CU_ASSERT_EQUAL(resp_minor(&r), 1);
	check_failure(item_n(&r, 0), KMIP_OPERATION_RNG_RETRIEVE, KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED);
	resp_free(&r);
	ttlv_enc_free(&q.e);
	/* with the module not OPERATIONAL no byte leaves: Cryptographic Failure */
	kt_gate_open = false;
	kt_begin(&q, 4, 1);
	req_rng(&q, 32, NULL);
	req_finish(&q);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	check_failure(item_n(&r, 0), KMIP_OPERATION_RNG_RETRIEVE, KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE);
	CU_ASSERT_PTR_NULL(ttlv_find(item_n(&r, 0), KMIP_TAG_RESPONSE_PAYLOAD));
	resp_free(&r);
	ttlv_enc_free(&q.e);
	kt_gate_open = true;
	/* 1 MiB fits a large enough response; the server's cap stops more */
	kt_begin(&q, 4, 1);
	req_rng(&q, 1 << 20, NULL);
	req_finish(&q);
	process(q.e.buf, q.e.len, (1 << 20) + 4096, &r);
	CU_ASSERT_EQUAL(kt_status(item_n(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	resp_free(&r);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	check_failure(item_n(&r, 0), KMIP_OPERATION_RNG_RETRIEVE, KMIP_RESULT_REASON_RESPONSE_TOO_LARGE);
	resp_free(&r);
	ttlv_enc_free(&q.e);
}

static void test_rng_seed(void)
{
	struct kt_req q;
	struct resp r;
	uint8_t seed[32] = {1, 2, 3};
	struct drbg_stats before, after;
	kt_begin(&q, 4, 1);
	req_item(&q, KMIP_OPERATION_RNG_SEED, NULL);
	ttlv_enc_bytes(&q.e, KMIP_TAG_DATA, seed, sizeof seed);
	kt_item_end(&q);
	req_finish(&q);
	drbg_stats(&before);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	const struct ttlv_item *it = item_n(&r, 0);
	CU_ASSERT_EQUAL(kt_status(it), KMIP_RESULT_STATUS_SUCCESS);
	const struct ttlv_item *dl = ttlv_find(ttlv_find(it, KMIP_TAG_RESPONSE_PAYLOAD), KMIP_TAG_DATA_LENGTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dl);
	CU_ASSERT_EQUAL(ttlv_int(dl), 32);
	resp_free(&r);
	/* the seed reaches the DRBG tree: this thread's worker reseeds next */
	uint8_t out[16];
	EXPECT_OK(drbg_generate(out, sizeof out));
	drbg_stats(&after);
	CU_ASSERT(after.worker_reseeds > before.worker_reseeds);
	/* refused, with nothing used, outside OPERATIONAL */
	kt_gate_open = false;
	process(q.e.buf, q.e.len, 1 << 20, &r);
	check_failure(item_n(&r, 0), KMIP_OPERATION_RNG_SEED, KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE);
	resp_free(&r);
	kt_gate_open = true;
	ttlv_enc_free(&q.e);
	/* Data missing */
	kt_begin(&q, 4, 1);
	req_item(&q, KMIP_OPERATION_RNG_SEED, NULL);
	kt_item_end(&q);
	req_finish(&q);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	check_failure(item_n(&r, 0), KMIP_OPERATION_RNG_SEED, KMIP_RESULT_REASON_INVALID_FIELD);
	resp_free(&r);
	ttlv_enc_free(&q.e);
}

/* Batches: items answered in order, each with its Operation and Unique
 * Batch Item ID (vCenter's 8-byte "QLKC" ids); Stop (the default) answers
 * up to the first failure, Continue answers all. */
static void test_batches(void)
{
	for (int cont = 0; cont <= 1; cont++) {
		struct kt_req q;
		ttlv_enc_init(&q.e, 1 << 20);
		ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_MESSAGE);
		ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_HEADER);
		ttlv_enc_begin(&q.e, KMIP_TAG_PROTOCOL_VERSION);
		ttlv_enc_int(&q.e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
		ttlv_enc_int(&q.e, KMIP_TAG_PROTOCOL_VERSION_MINOR, 2);
		ttlv_enc_end(&q.e);
		if (cont)
			ttlv_enc_enum(&q.e, KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION,
				      KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE);
		ttlv_enc_int(&q.e, KMIP_TAG_BATCH_COUNT, 3);
		ttlv_enc_end(&q.e);
		req_rng(&q, 16, "QLKC\x01\x00\x00\x00");
		req_rng(&q, -5, "QLKC\x02\x00\x00\x00");
		req_rng(&q, 16, "QLKC\x03\x00\x00\x00");
		req_finish(&q);
		struct resp r;
		process(q.e.buf, q.e.len, 1 << 20, &r);
		CU_ASSERT_EQUAL(resp_minor(&r), 2);
		CU_ASSERT_EQUAL(ttlv_count(r.root, KMIP_TAG_BATCH_ITEM), cont ? 3 : 2);
		for (int i = 0; i < (cont ? 3 : 2); i++) {
			const struct ttlv_item *it = item_n(&r, i);
			const struct ttlv_item *c = it != NULL ? it->child : NULL;
			EXPECT_TAG(c, KMIP_TAG_OPERATION);
			c = c->next;
			EXPECT_TAG(c, KMIP_TAG_UNIQUE_BATCH_ITEM_ID);
			CU_ASSERT(c->len == 8 && c->val[4] == i + 1);
			c = c->next;
			EXPECT_TAG(c, KMIP_TAG_RESULT_STATUS);
			CU_ASSERT_EQUAL(kt_status(it), i == 1 ? KMIP_RESULT_STATUS_OPERATION_FAILED
							       : KMIP_RESULT_STATUS_SUCCESS);
		}
		check_failure(item_n(&r, 1), KMIP_OPERATION_RNG_RETRIEVE, KMIP_RESULT_REASON_INVALID_FIELD);
		resp_free(&r);
		ttlv_enc_free(&q.e);
	}
}

/* Maximum Response Size (KMIP 1.1 Test Case 12.1, MSGENC-*-M-1-14): too
 * small a limit gives Response Too Large for that item, not a bigger
 * response; a later item that fits is still answered. */
static void test_max_response_size(void)
{
	struct kt_req q;
	struct resp r;
	ttlv_enc_init(&q.e, 1 << 20);
	ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_HEADER);
	ttlv_enc_begin(&q.e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(&q.e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(&q.e, KMIP_TAG_PROTOCOL_VERSION_MINOR, 4);
	ttlv_enc_end(&q.e);
	ttlv_enc_int(&q.e, KMIP_TAG_MAXIMUM_RESPONSE_SIZE, 330);
	ttlv_enc_enum(&q.e, KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION, KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE);
	ttlv_enc_int(&q.e, KMIP_TAG_BATCH_COUNT, 3);
	ttlv_enc_end(&q.e);
	req_rng(&q, 300, NULL);
	req_rng(&q, 16, NULL);
	req_rng(&q, 16, NULL);
	req_finish(&q);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	check_failure(item_n(&r, 0), KMIP_OPERATION_RNG_RETRIEVE, KMIP_RESULT_REASON_RESPONSE_TOO_LARGE);
	CU_ASSERT_EQUAL(kt_status(item_n(&r, 1)), KMIP_RESULT_STATUS_SUCCESS);
	/* the third fits neither whole nor as an error: the batch stops there */
	CU_ASSERT_EQUAL(ttlv_count(r.root, KMIP_TAG_BATCH_ITEM), 2);
	CU_ASSERT(r.raw.len <= 330);
	resp_free(&r);
	ttlv_enc_free(&q.e);
	/* a limit below any answer still gets one error item */
	kt_begin_h(&q, &(struct kt_header){.minor = 4, .count = 1, .max_response = 16});
	req_rng(&q, 16, NULL);
	req_finish(&q);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	check_failure(item_n(&r, 0), KMIP_OPERATION_RNG_RETRIEVE, KMIP_RESULT_REASON_RESPONSE_TOO_LARGE);
	resp_free(&r);
	ttlv_enc_free(&q.e);
	/* Maximum Response Size of 0 or less is an invalid message */
	kt_begin_h(&q, &(struct kt_header){.minor = 4, .count = 1, .max_response = -8});
	req_rng(&q, 16, NULL);
	req_finish(&q);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	check_failure(item_n(&r, 0), 0, KMIP_RESULT_REASON_INVALID_MESSAGE);
	resp_free(&r);
	ttlv_enc_free(&q.e);
}

/* Requests that cannot be served still get a decodable response: one
 * failed item with Result Reason and Result Message, in the request's
 * version when it could be read. */
static void test_bad_messages(void)
{
	struct kt_req q;
	struct resp r;
	/* garbage: version 1.0, Invalid Message */
	process((const uint8_t *)"GET / HTTP/1.1\r\n", 16, 1 << 20, &r);
	CU_ASSERT_EQUAL(resp_minor(&r), 0);
	check_failure(item_n(&r, 0), 0, KMIP_RESULT_REASON_INVALID_MESSAGE);
	resp_free(&r);

	/* a well-formed 1.2 request with a broken payload item: answered in 1.2 */
	kt_begin(&q, 2, 1);
	req_rng(&q, 32, NULL);
	req_finish(&q);
	uint8_t *bad = malloc(q.e.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
	memcpy(bad, q.e.buf, q.e.len);
	bad[q.e.len - 9] = 0x05; /* the length of Data Length, the last item: 5 */
	process(bad, q.e.len, 1 << 20, &r);
	CU_ASSERT_EQUAL(resp_minor(&r), 2);
	check_failure(item_n(&r, 0), 0, KMIP_RESULT_REASON_INVALID_MESSAGE);
	resp_free(&r);
	free(bad);
	ttlv_enc_free(&q.e);

	/* KMIP 2.0, 0.9 and 1.5 are not spoken */
	static const int versions[][2] = {{2, 0}, {0, 9}, {1, 5}};
	for (size_t i = 0; i < ARRAY_SIZE(versions); i++) {
		ttlv_enc_init(&q.e, 4096);
		ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_MESSAGE);
		ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_HEADER);
		ttlv_enc_begin(&q.e, KMIP_TAG_PROTOCOL_VERSION);
		ttlv_enc_int(&q.e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, versions[i][0]);
		ttlv_enc_int(&q.e, KMIP_TAG_PROTOCOL_VERSION_MINOR, versions[i][1]);
		ttlv_enc_end(&q.e);
		ttlv_enc_int(&q.e, KMIP_TAG_BATCH_COUNT, 1);
		ttlv_enc_end(&q.e);
		req_rng(&q, 32, NULL);
		req_finish(&q);
		process(q.e.buf, q.e.len, 1 << 20, &r);
		CU_ASSERT_EQUAL(resp_minor(&r), KMIP_MINOR_MAX);
		check_failure(item_n(&r, 0), 0, KMIP_RESULT_REASON_INVALID_MESSAGE);
		resp_free(&r);
		ttlv_enc_free(&q.e);
	}

	/* Batch Count that disagrees with the items; missing header; Undo */
	kt_begin(&q, 4, 2);
	req_rng(&q, 32, NULL);
	req_finish(&q);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	check_failure(item_n(&r, 0), 0, KMIP_RESULT_REASON_INVALID_MESSAGE);
	resp_free(&r);
	ttlv_enc_free(&q.e);

	ttlv_enc_init(&q.e, 4096);
	ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_MESSAGE);
	req_rng(&q, 32, NULL);
	req_finish(&q);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	check_failure(item_n(&r, 0), 0, KMIP_RESULT_REASON_INVALID_MESSAGE);
	resp_free(&r);
	ttlv_enc_free(&q.e);

	ttlv_enc_init(&q.e, 4096);
	ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_HEADER);
	ttlv_enc_begin(&q.e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(&q.e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(&q.e, KMIP_TAG_PROTOCOL_VERSION_MINOR, 3);
	ttlv_enc_end(&q.e);
	ttlv_enc_enum(&q.e, KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION, KMIP_BATCH_ERROR_CONTINUATION_OPTION_UNDO);
	ttlv_enc_int(&q.e, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_enc_end(&q.e);
	req_rng(&q, 32, NULL);
	req_finish(&q);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	CU_ASSERT_EQUAL(resp_minor(&r), 3);
	check_failure(item_n(&r, 0), 0, KMIP_RESULT_REASON_INVALID_MESSAGE);
	resp_free(&r);
	ttlv_enc_free(&q.e);

	/* a Response Message sent as a request */
	size_t pl;
	uint8_t *p = vector("rng_retrieve", "response", &pl);
	process(p, pl, 1 << 20, &r);
	check_failure(item_n(&r, 0), 0, KMIP_RESULT_REASON_INVALID_MESSAGE);
	resp_free(&r);
	free(p);
}

/* An operation fount does not implement, or an item without Operation. */
static void test_unsupported_operations(void)
{
	struct kt_req q;
	struct resp r;
	ttlv_enc_init(&q.e, 4096);
	ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_enc_begin(&q.e, KMIP_TAG_REQUEST_HEADER);
	ttlv_enc_begin(&q.e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(&q.e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(&q.e, KMIP_TAG_PROTOCOL_VERSION_MINOR, 4);
	ttlv_enc_end(&q.e);
	ttlv_enc_enum(&q.e, KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION, KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE);
	ttlv_enc_int(&q.e, KMIP_TAG_BATCH_COUNT, 3);
	ttlv_enc_end(&q.e);
	req_item(&q, KMIP_OPERATION_POLL, NULL);
	kt_item_end(&q);
	req_item(&q, 0x7777, NULL);
	kt_item_end(&q);
	ttlv_enc_begin(&q.e, KMIP_TAG_BATCH_ITEM); /* no Operation */
	ttlv_enc_end(&q.e);
	req_finish(&q);
	process(q.e.buf, q.e.len, 1 << 20, &r);
	check_failure(item_n(&r, 0), KMIP_OPERATION_POLL, KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED);
	check_failure(item_n(&r, 1), 0x7777, KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED);
	check_failure(item_n(&r, 2), 0, KMIP_RESULT_REASON_INVALID_MESSAGE);
	resp_free(&r);
	ttlv_enc_free(&q.e);
}

/* Query lists exactly the operation table (at the request's version) and
 * the RNG fount really runs, only to clients at KMIP 1.3 or later. */
static void test_query(void)
{
	for (int minor = 1; minor <= 4; minor += 2) {
		struct kt_req q;
		struct resp r;
		kt_begin(&q, minor, 1);
		req_item(&q, KMIP_OPERATION_QUERY, NULL);
		ttlv_enc_enum(&q.e, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_RNGS);
		ttlv_enc_enum(&q.e, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_OPERATIONS);
		ttlv_enc_enum(&q.e, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_SERVER_INFORMATION);
		ttlv_enc_enum(&q.e, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_CAPABILITIES);
		kt_item_end(&q);
		req_finish(&q);
		process(q.e.buf, q.e.len, 1 << 20, &r);
		const struct ttlv_item *pay = ttlv_find(item_n(&r, 0), KMIP_TAG_RESPONSE_PAYLOAD);
		CU_ASSERT_PTR_NOT_NULL_FATAL(pay);
		/* the spec's order: Operations, Vendor Identification, Server
		 * Information, then RNGs */
		CU_ASSERT_EQUAL(pay->child->tag, KMIP_TAG_OPERATION);
		const struct kmip_operation *ops;
		size_t n = kmip_operations(&ops), want = 0;
		for (size_t i = 0; i < n; i++)
			want += minor >= ops[i].since_minor;
		CU_ASSERT_EQUAL(ttlv_count(pay, KMIP_TAG_OPERATION), want);
		const struct ttlv_item *vi = ttlv_find(pay, KMIP_TAG_VENDOR_IDENTIFICATION);
		CU_ASSERT(vi != NULL && vi->len == 5 && memcmp(vi->val, "fount", 5) == 0);
		const struct ttlv_item *rng = ttlv_find(pay, KMIP_TAG_RNG_PARAMETERS);
		if (minor < 3) {
			CU_ASSERT_PTR_NULL(rng);
			CU_ASSERT_PTR_NULL(ttlv_find(pay, KMIP_TAG_CAPABILITY_INFORMATION));
		} else {
			CU_ASSERT_PTR_NOT_NULL_FATAL(rng);
			CU_ASSERT_EQUAL(ttlv_find(rng, KMIP_TAG_RNG_ALGORITHM)->u, KMIP_RNG_ALGORITHM_DRBG);
			CU_ASSERT_EQUAL(ttlv_find(rng, KMIP_TAG_DRBG_ALGORITHM)->u, KMIP_DRBG_ALGORITHM_CTR);
			CU_ASSERT_EQUAL(ttlv_int(ttlv_find(rng, KMIP_TAG_CRYPTOGRAPHIC_LENGTH)), 256);
			CU_ASSERT_PTR_NOT_NULL(ttlv_find(pay, KMIP_TAG_CAPABILITY_INFORMATION));
			/* Vendor Identification, Server Information, RNGs */
			CU_ASSERT(vi->next != NULL && vi->next->tag == KMIP_TAG_SERVER_INFORMATION &&
				  vi->next->next == rng);
		}
		resp_free(&r);
		ttlv_enc_free(&q.e);
	}
}

TEST_SUITE(kmip, suite_init, suite_clean, TEST(test_discover_versions_case_16_1),
	   TEST(test_rng_retrieve_cs_rng_m_1), TEST(test_rng_limits_and_failures), TEST(test_rng_seed),
	   TEST(test_batches), TEST(test_max_response_size), TEST(test_bad_messages),
	   TEST(test_unsupported_operations), TEST(test_query))
