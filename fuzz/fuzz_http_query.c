/* fuzz/fuzz_http_query.c — the HTTP API's request-target parsers
 * (api/http_routes.c): http_split_uri, http_query_parse and the number
 * parser the routes use on query values. The input is one request-target
 * as a client sends it. */
#include <string.h>

#include "api/http.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > HTTP_URI_MAX + 64)
		return 0;
	char uri[HTTP_URI_MAX + 65];
	memcpy(uri, data, size);
	uri[size] = '\0';
	char path[HTTP_URI_MAX + 1];
	const char *query = NULL;
	err_t r = http_split_uri(uri, path, sizeof path, &query);
	FUZZ_CHECK(query != NULL);
	if (r == ERR_OK) {
		/* a decoded path is an absolute path with no control bytes */
		FUZZ_CHECK(path[0] == '/');
		for (const char *p = path; *p != '\0'; p++)
			FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7F);
	}
	/* the query parser on its own, whatever the path was */
	const char *q = strchr(uri, '?') != NULL ? strchr(uri, '?') + 1 : uri;
	struct http_query hq;
	char why[160] = "";
	r = http_query_parse(q, &hq, why, sizeof why);
	FUZZ_CHECK(hq.n <= HTTP_QUERY_MAX_PARAMS);
	if (r != ERR_OK) {
		FUZZ_CHECK(why[0] != '\0');
		return 0;
	}
	for (size_t i = 0; i < hq.n; i++) {
		FUZZ_CHECK(hq.p[i].name[0] != '\0');
		FUZZ_CHECK(strspn(hq.p[i].name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(hq.p[i].name));
		FUZZ_CHECK(strlen(hq.p[i].value) <= HTTP_QUERY_VALUE_MAX);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(hq.p[i].name, hq.p[k].name) != 0);
		FUZZ_CHECK(http_query_get(&hq, hq.p[i].name) == hq.p[i].value);
		uint64_t v = 0;
		if (http_parse_u64(hq.p[i].value, 1, 1u << 20, &v) == ERR_OK)
			FUZZ_CHECK(v >= 1 && v <= (1u << 20));
		(void)http_state_parse(hq.p[i].value);
	}
	static const char *const allowed[] = {"bytes", "format", NULL};
	(void)http_query_only(&hq, allowed, why, sizeof why);
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_http_query")
