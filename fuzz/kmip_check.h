/* fuzz/kmip_check.h — the response invariants every KMIP fuzz target checks
 * (fuzz_kmip, fuzz_kmip_objects): an answer is always produced; it decodes;
 * its header is exactly Protocol Version 1.x, Time Stamp, Batch Count, and
 * the count matches the items; every item has a Result Status, and a failed
 * one both Result Reason and Result Message (what libkmip and mongod need);
 * it is never larger than the |max| bytes the server allows (kmip_process:
 * a Result Message item is small, so even the first item that must always
 * be answered fits). Include after fuzz/fuzz.h. */
#ifndef FOUNT_FUZZ_KMIP_CHECK_H
#define FOUNT_FUZZ_KMIP_CHECK_H

#include "api/internal.h"
#include "fuzz/fuzz.h"

/* fuzz_kmip_check decodes |resp|, the answer of kmip_process with
 * max_response |max|, into |d| (the caller frees it with ttlv_doc_free)
 * and aborts when an invariant does not hold. */
static inline void fuzz_kmip_check(const struct ttlv_enc *resp, size_t max, struct ttlv_doc *d)
{
	FUZZ_CHECK(resp->len <= max);
	FUZZ_CHECK(ttlv_decode(d, resp->buf, resp->len) == ERR_OK);
	const struct ttlv_item *root = ttlv_root(d);
	FUZZ_CHECK(root->tag == KMIP_TAG_RESPONSE_MESSAGE);
	const struct ttlv_item *h = ttlv_find(root, KMIP_TAG_RESPONSE_HEADER);
	FUZZ_CHECK(h != NULL && h->child != NULL && h->child->tag == KMIP_TAG_PROTOCOL_VERSION);
	const struct ttlv_item *maj = ttlv_find(h->child, KMIP_TAG_PROTOCOL_VERSION_MAJOR);
	FUZZ_CHECK(maj != NULL && ttlv_int(maj) == 1);
	const struct ttlv_item *ts = h->child->next;
	FUZZ_CHECK(ts != NULL && ts->tag == KMIP_TAG_TIME_STAMP);
	const struct ttlv_item *bc = ts->next;
	FUZZ_CHECK(bc != NULL && bc->tag == KMIP_TAG_BATCH_COUNT && bc->next == NULL);
	size_t n = ttlv_count(root, KMIP_TAG_BATCH_ITEM);
	FUZZ_CHECK(n >= 1 && (size_t)ttlv_int(bc) == n);
	for (const struct ttlv_item *it = ttlv_find(root, KMIP_TAG_BATCH_ITEM); it != NULL;
	     it = ttlv_find_next(it)) {
		const struct ttlv_item *st = ttlv_find(it, KMIP_TAG_RESULT_STATUS);
		FUZZ_CHECK(st != NULL);
		if (st->u != KMIP_RESULT_STATUS_SUCCESS) {
			FUZZ_CHECK(ttlv_find(it, KMIP_TAG_RESULT_REASON) != NULL);
			const struct ttlv_item *m = ttlv_find(it, KMIP_TAG_RESULT_MESSAGE);
			FUZZ_CHECK(m != NULL && m->len > 0);
		}
	}
}

#endif /* FOUNT_FUZZ_KMIP_CHECK_H */
