/* fuzz/fuzz_agent.c — the parsers of `fount agent` (api/agent.c) over
 * arbitrary server answers and socket names. The first byte picks one:
 * 0 the Server-Sent Events of GET /v1/events (agent_sse_next), 1 the
 * peer's socket name (agent_peer_volume), 2 a material answer
 * (agent_material).
 *
 * Checked for every input: no read or write out of bounds (ASan); the SSE
 * reader always advances and ends within the input, every event it
 * returns has a NUL-terminated kind and id; a volume is a non-empty name
 * of [A-Za-z0-9._-]; material is never longer than the buffer, and a
 * failed parse leaves none. */
#include <stdlib.h>
#include <string.h>

#include "api/agent.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *b = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 3) {
	case 0: {
		size_t off = 0;
		struct agent_event e;
		for (int r; (r = agent_sse_next(b, len, &off, &e)) != 0;) {
			FUZZ_CHECK(off <= len && off > 0);
			FUZZ_CHECK(r == 1 || r == -1);
			if (r == 1 && e.has_data)
				FUZZ_CHECK(strlen(e.id) > 0 && strlen(e.id) <= AGENT_ID_MAX && strlen(e.kind) < sizeof e.kind);
		}
		FUZZ_CHECK(off == len || len == 0 || off <= len);
		break;
	}
	case 1: {
		char vol[AGENT_NAME_MAX];
		if (agent_peer_volume(b, len, vol)) {
			size_t n = strlen(vol);
			FUZZ_CHECK(n > 0 && n < AGENT_NAME_MAX && strspn(vol, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n);
		}
		break;
	}
	default: {
		char *copy = malloc(len + 1);
		if (copy == NULL)
			return 0;
		memcpy(copy, b, len);
		copy[len] = '\0';
		uint8_t m[64];
		char id[AGENT_ID_MAX + 1];
		int64_t le;
		unsigned ls;
		size_t ml = 99;
		err_t r = agent_material(copy, len, id, &le, &ls, m, sizeof m, &ml);
		FUZZ_CHECK(ml <= sizeof m);
		if (r != ERR_OK)
			FUZZ_CHECK(ml == 0);
		else
			FUZZ_CHECK(strlen(id) > 0 && strlen(id) <= AGENT_ID_MAX);
		free(copy);
		break;
	}
	}
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_agent")
