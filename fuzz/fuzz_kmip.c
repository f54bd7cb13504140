/* fuzz/fuzz_kmip.c — a whole KMIP request through kmip_process, as the
 * server runs it on every message: header, batch, dispatch and the
 * operations (Query, Discover Versions, RNG Retrieve and Seed on a live DRBG
 * tree).
 *
 * Checked for every input: an answer is always produced; it decodes; its
 * header is exactly Protocol Version 1.x, Time Stamp, Batch Count, and the
 * count matches the items; every item has a Result Status, and a failed
 * one both Result Reason and Result Message (what libkmip and mongod need). */
#include <string.h>

#include "api/internal.h"
#include "entropy/entropy.h"
#include "fuzz/fuzz.h"

static bool gate_open(void)
{
	return true;
}

static void release(void)
{
	drbg_tree_shutdown();
	entropy_shutdown();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keygen_once();
	struct config cfg;
	char err[256];
	if (config_load(&cfg, NULL, false, err, sizeof err) != ERR_OK || entropy_init(&cfg) != ERR_OK) {
		fprintf(stderr, "fuzz_kmip: cannot start the entropy pipeline: %s\n", err);
		abort();
	}
	drbg_set_gate(gate_open);
	if (drbg_tree_init(&cfg) != ERR_OK) {
		fprintf(stderr, "fuzz_kmip: cannot start the DRBG tree\n");
		abort();
	}
	atexit(release);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct kmip_peer peer = {.tenant = "fuzz"};
	struct ttlv_enc resp;
	FUZZ_CHECK(kmip_process(data, size, &peer, 1 << 16, &resp) == ERR_OK);
	struct ttlv_doc d;
	FUZZ_CHECK(ttlv_decode(&d, resp.buf, resp.len) == ERR_OK);
	const struct ttlv_item *root = ttlv_root(&d);
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
	ttlv_doc_free(&d);
	ttlv_enc_free(&resp);
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_kmip")
