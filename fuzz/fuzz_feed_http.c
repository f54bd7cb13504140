/* fuzz/fuzz_feed_http.c — the HTTP/1.1 response parser of `fount feed`
 * (feed_http_parse, api/feed.c) over arbitrary server answers.
 *
 * Checked for every input: the parse never reads or writes out of bounds
 * (ASan), a complete response accounts for no more bytes than it was
 * given and no more body than the buffer holds, and feeding the input one
 * byte longer at a time never turns a complete answer into an incomplete
 * one (a parse is a function of the bytes, not of how they arrived). */
#include <string.h>

#include "api/feed.h"
#include "fuzz/fuzz.h"

#define CAP 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t body[CAP];
	struct feed_http r;
	err_t e = feed_http_parse(data, size, body, CAP, &r);
	if (e == ERR_OK) {
		FUZZ_CHECK(r.total_len <= size);
		FUZZ_CHECK(r.head_len <= r.total_len);
		FUZZ_CHECK(r.body_len <= CAP);
		FUZZ_CHECK(r.status <= 999);
		/* the same answer with more bytes after it parses the same */
		struct feed_http r2;
		FUZZ_CHECK(feed_http_parse(data, r.total_len, body, CAP, &r2) == ERR_OK);
		FUZZ_CHECK(r2.total_len == r.total_len && r2.body_len == r.body_len && r2.status == r.status);
	} else {
		FUZZ_CHECK(e == ERR_INVALID_ARG || e == ERR_PARSE || e == ERR_TOO_LARGE || e == ERR_UNSUPPORTED);
	}
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_feed_http")
