/* api/kmip_msg.c — KMIP request and response messages (KMIP 1.4 §7): the
 * request header, batch items and their dispatch through the operation
 * table, and responses shaped as the strictest real clients decode them
 * (libkmip, mongod, PyKMIP):
 *
 *   ResponseMessage { ResponseHeader { ProtocolVersion (the request's),
 *                                      TimeStamp, BatchCount },
 *                     BatchItem { Operation, [UniqueBatchItemID], ResultStatus,
 *                                 [ResultReason, ResultMessage] | [ResponsePayload] } ... }
 *
 * and nothing else in the header. Every failure carries both Result Reason
 * and Result Message (libkmip reads the message without a NULL check), also
 * when the request could not be decoded at all. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "api/metrics.h"

void kmip_fail(struct kmip_result *res, uint32_t reason, const char *fmt, ...)
{
	va_list ap;
	res->status = KMIP_RESULT_STATUS_OPERATION_FAILED;
	res->reason = reason;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof res->message, fmt, ap);
	va_end(ap);
}

/* Fixed bytes of a response around its batch items: ResponseMessage and
 * ResponseHeader headers (16), ProtocolVersion (8 + 2 x 16), TimeStamp (16),
 * BatchCount (16). */
#define RESPONSE_HEADER_LEN 88

/* What a request header said (KMIP 1.4 §7.2, Table 243). */
struct header {
	struct kmip_version version;
	bool version_known;
	int64_t max_response; /* 0: not given */
	uint32_t error_option; /* Batch Error Continuation Option */
	int32_t batch_count;
};

/* peek_version reads the protocol version at the offsets every well-formed
 * request puts it (RequestMessage, RequestHeader, ProtocolVersion, Major,
 * Minor, each first in its structure), for an answer to a request that
 * did not decode. */
static bool peek_version(const uint8_t *m, size_t len, struct kmip_version *out)
{
	static const uint8_t maj[8] = {0x42, 0x00, 0x6A, 0x02, 0, 0, 0, 4};
	static const uint8_t min[8] = {0x42, 0x00, 0x6B, 0x02, 0, 0, 0, 4};
	if (len < 56 || memcmp(m + 24, maj, 8) != 0 || memcmp(m + 40, min, 8) != 0)
		return false;
	int32_t a = (int32_t)((uint32_t)m[32] << 24 | (uint32_t)m[33] << 16 | (uint32_t)m[34] << 8 | m[35]);
	int32_t b = (int32_t)((uint32_t)m[48] << 24 | (uint32_t)m[49] << 16 | (uint32_t)m[50] << 8 | m[51]);
	if (a != 1 || b < 0 || b > KMIP_MINOR_MAX)
		return false;
	out->major = a;
	out->minor = b;
	return true;
}

/* child_typed finds |tag| in |s| and checks its type: NULL and no error
 * when absent, NULL and Invalid Message when it has another type. */
static const struct ttlv_item *child_typed(const struct ttlv_item *s, uint32_t tag, uint8_t type,
					   struct kmip_result *res)
{
	const struct ttlv_item *it = ttlv_find(s, tag);
	if (it != NULL && it->type != type) {
		const char *n = kmip_tag_name(tag);
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE, "%s is a %s, not a %s",
			  n != NULL ? n : "an item", ttlv_type_name(it->type), ttlv_type_name(type));
		return NULL;
	}
	return it;
}

static bool parse_header(const struct ttlv_item *root, struct header *h, struct kmip_result *res)
{
	if (root->tag != KMIP_TAG_REQUEST_MESSAGE || root->type != TTLV_STRUCTURE) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE, "not a KMIP Request Message");
		return false;
	}
	const struct ttlv_item *hdr = child_typed(root, KMIP_TAG_REQUEST_HEADER, TTLV_STRUCTURE, res);
	const struct ttlv_item *pv = child_typed(hdr, KMIP_TAG_PROTOCOL_VERSION, TTLV_STRUCTURE, res);
	const struct ttlv_item *maj = child_typed(pv, KMIP_TAG_PROTOCOL_VERSION_MAJOR, TTLV_INTEGER, res);
	const struct ttlv_item *min = child_typed(pv, KMIP_TAG_PROTOCOL_VERSION_MINOR, TTLV_INTEGER, res);
	if (res->status != KMIP_RESULT_STATUS_SUCCESS)
		return false;
	if (hdr == NULL || pv == NULL || maj == NULL || min == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE,
			  "the Request Header with its Protocol Version is missing");
		return false;
	}
	h->version.major = ttlv_int(maj);
	h->version.minor = ttlv_int(min);
	if (h->version.major != 1 || h->version.minor < 0 || h->version.minor > KMIP_MINOR_MAX) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE,
			  "KMIP %d.%d is not supported: this server speaks KMIP 1.0 to 1.%d",
			  (int)h->version.major, (int)h->version.minor, KMIP_MINOR_MAX);
		return false;
	}
	h->version_known = true;

	const struct ttlv_item *mrs = child_typed(hdr, KMIP_TAG_MAXIMUM_RESPONSE_SIZE, TTLV_INTEGER, res);
	const struct ttlv_item *beco = child_typed(hdr, KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION, TTLV_ENUM, res);
	const struct ttlv_item *bc = child_typed(hdr, KMIP_TAG_BATCH_COUNT, TTLV_INTEGER, res);
	/* accepted and not needed: TimeStamp, Authentication (the TLS client
	 * certificate is the identity), Asynchronous Indicator (the client
	 * accepts asynchronous answers; fount answers synchronously), Batch
	 * Order Option (fount processes items in order), Attestation Capable
	 * Indicator, correlation values */
	if (res->status != KMIP_RESULT_STATUS_SUCCESS)
		return false;
	if (mrs != NULL) {
		if (ttlv_int(mrs) <= 0) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE,
				  "Maximum Response Size must be positive, not %d", (int)ttlv_int(mrs));
			return false;
		}
		h->max_response = ttlv_int(mrs);
	}
	h->error_option = KMIP_BATCH_ERROR_CONTINUATION_OPTION_STOP;
	if (beco != NULL) {
		h->error_option = (uint32_t)beco->u;
		if (h->error_option == KMIP_BATCH_ERROR_CONTINUATION_OPTION_UNDO) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE,
				  "Batch Error Continuation Option Undo is not supported: use Stop or Continue");
			return false;
		}
		if (h->error_option != KMIP_BATCH_ERROR_CONTINUATION_OPTION_STOP &&
		    h->error_option != KMIP_BATCH_ERROR_CONTINUATION_OPTION_CONTINUE) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE,
				  "unknown Batch Error Continuation Option %u", (unsigned)h->error_option);
			return false;
		}
	}
	if (bc == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE, "the Request Header has no Batch Count");
		return false;
	}
	h->batch_count = ttlv_int(bc);
	size_t items = ttlv_count(root, KMIP_TAG_BATCH_ITEM);
	if (h->batch_count < 1 || (size_t)h->batch_count != items) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE,
			  "Batch Count is %d but the message has %zu Batch Items", (int)h->batch_count, items);
		return false;
	}
	return true;
}

static const struct kmip_operation *find_operation(uint32_t op)
{
	const struct kmip_operation *ops;
	size_t n = kmip_operations(&ops);
	for (size_t i = 0; i < n; i++)
		if (ops[i].operation == op)
			return &ops[i];
	return NULL;
}

/* write_item writes one response Batch Item: |op| (when known), the
 * request's Unique Batch Item ID (when sent), the result, and |payload|
 * (on success, or a failure that carries one, when the operation wrote
 * one). */
static void write_item(struct ttlv_enc *e, const struct ttlv_item *op, const struct ttlv_item *ubi,
		       const struct kmip_result *res, const struct ttlv_enc *payload)
{
	ttlv_enc_begin(e, KMIP_TAG_BATCH_ITEM);
	if (op != NULL)
		ttlv_enc_enum(e, KMIP_TAG_OPERATION, (uint32_t)op->u);
	if (ubi != NULL)
		ttlv_enc_bytes(e, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, ubi->val, ubi->len);
	ttlv_enc_enum(e, KMIP_TAG_RESULT_STATUS, res->status);
	if (res->status != KMIP_RESULT_STATUS_SUCCESS) {
		ttlv_enc_enum(e, KMIP_TAG_RESULT_REASON, res->reason);
		ttlv_enc_cstr(e, KMIP_TAG_RESULT_MESSAGE, res->message);
	}
	if ((res->status == KMIP_RESULT_STATUS_SUCCESS || res->payload_on_failure) && payload != NULL &&
	    payload->len > 0)
		ttlv_enc_raw(e, payload->buf, payload->len);
	ttlv_enc_end(e);
}

/* run_item processes one request Batch Item into |items|. Returns false
 * when it failed; sets *out_full when not even its error item fit, so
 * nothing was written for it and the batch ends there. */
static bool run_item(struct kmip_request *rq, const struct ttlv_item *bi, struct ttlv_enc *items,
		     bool *out_full)
{
	struct kmip_result res = {.status = KMIP_RESULT_STATUS_SUCCESS};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const struct ttlv_item *op = child_typed(bi, KMIP_TAG_OPERATION, TTLV_ENUM, &res);
	const struct ttlv_item *ubi = child_typed(bi, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, TTLV_BYTES, &res);
	const struct ttlv_item *payload = child_typed(bi, KMIP_TAG_REQUEST_PAYLOAD, TTLV_STRUCTURE, &res);
	struct ttlv_enc out;
	ttlv_enc_init(&out, rq->max_response);

	if (bi->type != TTLV_STRUCTURE)
		kmip_fail(&res, KMIP_RESULT_REASON_INVALID_MESSAGE, "a Batch Item is not a Structure");
	else if (res.status == KMIP_RESULT_STATUS_SUCCESS && op == NULL)
		kmip_fail(&res, KMIP_RESULT_REASON_INVALID_MESSAGE, "a Batch Item has no Operation");
	if (ubi != NULL && ubi->len > 64) {
		/* echoed as sent: keep it bounded */
		kmip_fail(&res, KMIP_RESULT_REASON_INVALID_MESSAGE,
			  "Unique Batch Item ID of %u bytes (at most 64)", (unsigned)ubi->len);
		ubi = NULL;
	}
	if (res.status == KMIP_RESULT_STATUS_SUCCESS) {
		const struct kmip_operation *o = find_operation((uint32_t)op->u);
		if (o == NULL || rq->version.minor < o->since_minor) {
			kmip_fail(&res, KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED,
				  o == NULL ? "operation 0x%02x is not supported"
					    : "operation 0x%02x is not defined in this KMIP version",
				  (unsigned)op->u);
		} else {
			o->handler(rq, payload, &out, &res);
			if (res.status == KMIP_RESULT_STATUS_SUCCESS && ttlv_enc_error(&out) == ERR_TOO_LARGE)
				kmip_fail(&res, KMIP_RESULT_REASON_RESPONSE_TOO_LARGE,
					  "the response exceeds the Maximum Response Size of %zu bytes",
					  rq->max_response);
			else if (res.status == KMIP_RESULT_STATUS_SUCCESS && ttlv_enc_finish(&out) != ERR_OK)
				kmip_fail(&res, KMIP_RESULT_REASON_GENERAL_FAILURE,
					  "the server could not encode its response");
			else if (res.payload_on_failure && ttlv_enc_finish(&out) != ERR_OK)
				res.payload_on_failure = false; /* the failure alone, then */
		}
	}

	struct ttlv_mark m = ttlv_enc_mark(items);
	write_item(items, op, ubi, &res, &out);
	if (ttlv_enc_error(items) == ERR_TOO_LARGE) {
		/* the item does not fit in what is left of the response: an
		 * error item in its place, if that fits; the first item of a
		 * response is always answered */
		ttlv_enc_rewind(items, m);
		kmip_fail(&res, KMIP_RESULT_REASON_RESPONSE_TOO_LARGE,
			  "the response exceeds the Maximum Response Size of %zu bytes", rq->max_response);
		size_t cap = items->max;
		if (m.len == 0)
			items->max = SIZE_MAX;
		write_item(items, op, ubi, &res, NULL);
		items->max = cap;
		if (ttlv_enc_error(items) == ERR_TOO_LARGE) {
			ttlv_enc_rewind(items, m);
			*out_full = true;
		}
	}
	ttlv_enc_free(&out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	metrics_kmip_item(op != NULL ? (uint32_t)op->u : 0u, res.status,
			  (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec);
	if (res.status != KMIP_RESULT_STATUS_SUCCESS)
		log_info("KMIP 0x%02x: %s", op != NULL ? (unsigned)op->u : 0u, res.message);
	return res.status == KMIP_RESULT_STATUS_SUCCESS;
}

static err_t write_response(struct ttlv_enc *resp, struct kmip_version v, int32_t count,
			    const struct ttlv_enc *items)
{
	ttlv_enc_begin(resp, KMIP_TAG_RESPONSE_MESSAGE);
	ttlv_enc_begin(resp, KMIP_TAG_RESPONSE_HEADER);
	ttlv_enc_begin(resp, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(resp, KMIP_TAG_PROTOCOL_VERSION_MAJOR, v.major);
	ttlv_enc_int(resp, KMIP_TAG_PROTOCOL_VERSION_MINOR, v.minor);
	ttlv_enc_end(resp);
	ttlv_enc_datetime(resp, KMIP_TAG_TIME_STAMP, (int64_t)time(NULL));
	ttlv_enc_int(resp, KMIP_TAG_BATCH_COUNT, count);
	ttlv_enc_end(resp);
	ttlv_enc_raw(resp, items->buf, items->len);
	ttlv_enc_end(resp);
	return ttlv_enc_finish(resp);
}

/* fail_message answers a request whose message-level parts are unusable:
 * one Batch Item carrying |res|, in |v|. */
static err_t fail_message(struct ttlv_enc *resp, struct kmip_version v, const struct kmip_result *res)
{
	struct ttlv_enc items;
	ttlv_enc_init(&items, SIZE_MAX);
	write_item(&items, NULL, NULL, res, NULL);
	log_info("KMIP request refused: %s", res->message);
	err_t r = ttlv_enc_error(&items);
	if (r == ERR_OK)
		r = write_response(resp, v, 1, &items);
	ttlv_enc_free(&items);
	return r;
}

err_t kmip_process(const uint8_t *req, size_t req_len, const struct kmip_peer *peer,
		   size_t max_response, struct ttlv_enc *resp)
{
	struct kmip_result res = {.status = KMIP_RESULT_STATUS_SUCCESS};
	struct header h = {.version = {1, KMIP_MINOR_MAX}};
	struct ttlv_doc d;
	err_t r;

	ttlv_enc_init(resp, SIZE_MAX);
	if (ttlv_decode(&d, req, req_len) != ERR_OK) {
		/* answer in the version the client spoke, when it can be read */
		if (!peek_version(req, req_len, &h.version))
			h.version = (struct kmip_version){1, 0};
		kmip_fail(&res, KMIP_RESULT_REASON_INVALID_MESSAGE, "%s", d.why);
		return fail_message(resp, h.version, &res);
	}
	const struct ttlv_item *root = ttlv_root(&d);
	if (!parse_header(root, &h, &res)) {
		if (!h.version_known && !peek_version(req, req_len, &h.version))
			h.version = (struct kmip_version){1, KMIP_MINOR_MAX};
		r = fail_message(resp, h.version, &res);
		ttlv_doc_free(&d);
		return r;
	}

	size_t cap = max_response;
	if (h.max_response > 0 && (uint64_t)h.max_response < cap)
		cap = (size_t)h.max_response;
	struct kmip_request rq = {
		.version = h.version,
		.peer = peer,
		.max_response = cap,
	};
	struct ttlv_enc items;
	ttlv_enc_init(&items, cap > RESPONSE_HEADER_LEN ? cap - RESPONSE_HEADER_LEN : 0);
	int32_t done = 0;
	for (const struct ttlv_item *bi = ttlv_find(root, KMIP_TAG_BATCH_ITEM); bi != NULL;
	     bi = ttlv_find_next(bi)) {
		bool full = false;
		bool ok = run_item(&rq, bi, &items, &full);
		if (full)
			break; /* the response is full: no later item can be answered */
		done++;
		if (!ok && h.error_option == KMIP_BATCH_ERROR_CONTINUATION_OPTION_STOP)
			break; /* the remaining items are not processed, nor answered */
	}
	r = ttlv_enc_error(&items);
	if (r == ERR_OK)
		r = write_response(resp, h.version, done, &items);
	ttlv_enc_free(&items);
	secure_zero(&rq, sizeof rq);
	ttlv_doc_free(&d);
	return r;
}
