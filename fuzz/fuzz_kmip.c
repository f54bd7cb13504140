/* fuzz/fuzz_kmip.c — a whole KMIP request through kmip_process, as the
 * server runs it on every message: header, batch, dispatch and the
 * operations (Query, Discover Versions, RNG Retrieve and Seed on a live DRBG
 * tree).
 *
 * Checked for every input: the response invariants of fuzz/kmip_check.h.
 * The object operations need a store: fuzz_kmip_objects fuzzes them. */
#include <string.h>

#include "api/internal.h"
#include "entropy/entropy.h"
#include "fuzz/fuzz.h"
#include "fuzz/kmip_check.h"

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
	fuzz_kmip_check(&resp, 1 << 16, &d);
	ttlv_doc_free(&d);
	ttlv_enc_free(&resp);
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_kmip")
