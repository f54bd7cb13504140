/* fuzz/fuzz_http_json.c — the HTTP API's JSON body validators
 * (api/http_routes.c): POST /v1/keys, .../revoke and .../rekey. The first
 * byte picks the validator (mod 3), the rest is the body. Whatever a
 * validator accepts must be within what the routes rely on. */
#include <string.h>

#include "api/http.h"
#include "fuzz/fuzz.h"
#include "keygen/keygen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned which = data[0] % 3;
	const uint8_t *body = data + 1;
	size_t len = size - 1;
	char why[256] = "";
	err_t r;
	switch (which) {
	case 0: {
		struct http_create c;
		r = http_parse_create(body, len, &c, why, sizeof why);
		if (r == ERR_OK) {
			FUZZ_CHECK(c.type != NULL && keygen_type_find(c.type->name) == c.type);
			size_t nl = strlen(c.name);
			FUZZ_CHECK(nl <= HTTP_NAME_MAX);
			for (size_t i = 0; i < nl; i++)
				FUZZ_CHECK((unsigned char)c.name[i] >= 0x20 && c.name[i] != 0x7F);
			FUZZ_CHECK((c.usage & ~0xBFFu) == 0);
		} else {
			FUZZ_CHECK(c.type == NULL && why[0] != '\0');
		}
		break;
	}
	case 1: {
		struct http_revoke v;
		r = http_parse_revoke(body, len, &v, why, sizeof why);
		if (r == ERR_OK)
			FUZZ_CHECK(v.reason >= 1 && v.reason <= 7 && v.occurred >= 0);
		else
			FUZZ_CHECK(why[0] != '\0');
		break;
	}
	default: {
		struct http_rekey k;
		r = http_parse_rekey(body, len, &k, why, sizeof why);
		if (r == ERR_OK)
			FUZZ_CHECK(!k.has_offset || (k.offset >= 0 && k.offset <= 4294967295LL));
		else
			FUZZ_CHECK(why[0] != '\0');
		break;
	}
	}
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_http_json")
