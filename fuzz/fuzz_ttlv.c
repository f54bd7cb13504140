/* fuzz/fuzz_ttlv.c — the TTLV decoder (api/ttlv.c), as the KMIP server runs
 * it on every message a client sends.
 *
 * Checked: the result is ERR_OK or ERR_PARSE with a reason; framing agrees
 * with the decoder (a message that decodes has the length its header
 * gives); and a message that decodes re-encodes to exactly its own bytes,
 * so the decoder accepted nothing the encoder cannot say (lengths, padding,
 * Booleans and types all canonical). */
#include <string.h>

#include "api/ttlv.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttlv_doc d;
	err_t r = ttlv_decode(&d, data, size);
	FUZZ_CHECK(r == ERR_OK || r == ERR_PARSE);
	if (r != ERR_OK) {
		FUZZ_CHECK(d.why[0] != '\0');
		return 0;
	}
	const struct ttlv_item *root = ttlv_root(&d);
	FUZZ_CHECK(root != NULL);
	if (root->type == TTLV_STRUCTURE) {
		size_t framed = 0;
		FUZZ_CHECK(ttlv_frame_len(data, size, &framed) == ERR_OK && framed == size);
	}
	struct ttlv_enc e;
	ttlv_enc_init(&e, size);
	ttlv_enc_item(&e, root);
	FUZZ_CHECK(ttlv_enc_finish(&e) == ERR_OK);
	FUZZ_CHECK(e.len == size && memcmp(e.buf, data, size) == 0);
	ttlv_enc_free(&e);
	ttlv_doc_free(&d);
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_ttlv")
