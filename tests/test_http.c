/* tests/test_http.c — the HTTP API over real HTTPS and plain HTTP on
 * loopback: an in-process server (api_http_start) on fount's own PKI and a
 * store in a temporary folder, driven by Debian's curl and by raw OpenSSL
 * clients (OpenSSL's default library context, as a separate client would
 * have). Every endpoint and error status, client certificates and bearer
 * tokens, tenant isolation, the same object over HTTP and KMIP, the plain
 * listener's address rule, and the front end's robustness: stalled
 * handshakes, garbage before and inside TLS, clients that close
 * mid-response, pipelining, Connection: close, and file descriptors after
 * churn. A last test runs `fount serve` and `fount token add` as a user
 * would. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "api/api.h"
#include "api/http.h"
#include "tests/helpers.h"
#include "tests/lib/promtext.h"
#include "tests/kmip_inproc.h"

#define CURL "/usr/bin/curl"
#define RANDOM_MAX (1u << 20)

static struct api_pki pki;
static char certs[3][2][256]; /* alice, bob, ops: cert, key */
static char tok_alice[API_HTTP_TOKEN_LEN + 1], tok_bob[API_HTTP_TOKEN_LEN + 1], tok_ops[API_HTTP_TOKEN_LEN + 1];
static char tokens_path[128];
static struct api_http *srv;
static unsigned port, plain_port;

/* the module state the hooks report */
static bool state_ok = true;
static bool selftest_fails;
static const char *hook_state(void)
{
	return state_ok ? "OPERATIONAL" : "ERROR";
}
static bool hook_operational(void)
{
	return state_ok;
}
static const char *hook_cause(void)
{
	return state_ok ? NULL : "kat-aes (broken by the test)";
}
/* the self-tests the test server runs: the DRBG's KAT-shaped check of
 * this process (a real draw) and the state the test sets */
static sem_t selftest_entered, selftest_release;
static bool selftest_blocks; /* the hook waits for selftest_release */
static err_t hook_selftest(struct api_selftest_row *rows, size_t cap, size_t *n)
{
	*n = 0;
	if (selftest_blocks) {
		sem_post(&selftest_entered);
		while (sem_wait(&selftest_release) != 0)
			;
	}
	if (cap < 2)
		return ERR_TOO_LARGE;
	uint8_t b[16];
	err_t r = drbg_generate(b, sizeof b);
	rows[0] = (struct api_selftest_row){.name = "drbg-draw", .r = r, .ns = 1};
	rows[1] = (struct api_selftest_row){.name = "broken-on-purpose", .r = selftest_fails ? ERR_SELFTEST : ERR_OK};
	if (selftest_fails)
		snprintf(rows[1].detail, sizeof rows[1].detail, "mismatch at byte 0");
	*n = 2;
	return r != ERR_OK ? r : selftest_fails ? ERR_SELFTEST : ERR_OK;
}
/* the last run as fount serve keeps it: one row */
static size_t hook_last(struct api_selftest_row *rows, size_t cap, err_t *verdict, int64_t *at)
{
	if (cap == 0)
		return 0;
	rows[0] = (struct api_selftest_row){.name = "ctr-drbg", .r = selftest_fails ? ERR_SELFTEST : ERR_OK, .ns = 60000};
	*verdict = rows[0].r;
	*at = 1764633600;
	return 1;
}

static const struct api_http_hooks hooks = {hook_state, hook_operational, hook_cause, hook_selftest, hook_last};

static unsigned start_threads = 2;
static struct api_http *start(const char *plain, uint64_t rate, bool plaintext, char *why, size_t why_len)
{
	char bindings[128];
	snprintf(bindings, sizeof bindings, "%s/tenants", kt_dir);
	struct api_http_options o = {
		.listen = "127.0.0.1:0",
		.plain_listen = plain,
		.cert_file = pki.server_cert,
		.key_file = pki.server_key,
		.client_ca = pki.ca_cert,
		.bindings = bindings,
		.admins = "ops",
		.tokens = tokens_path,
		.random_max = RANDOM_MAX,
		.rate_bytes = rate,
		.plaintext_material = plaintext,
		.max_connections = 64,
		.handshake_timeout_ms = 500,
		.idle_timeout_s = 3,
		.threads = start_threads,
		.hooks = &hooks,
	};
	struct api_http *h = NULL;
	err_t r = api_http_start(&o, &h, why, why_len);
	if (r != ERR_OK)
		return NULL;
	return h;
}

static int suite_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (kt_init(&(struct kt_suite){.tag = "http"}) != 0)
		return -1;
	char state[128], why[512];
	snprintf(state, sizeof state, "%s/state", kt_dir);
	static const char *const names[] = {"localhost", "127.0.0.1"};
	bool created = false;
	if (api_pki_init(state, names, 2, &pki, &created, why, sizeof why) != ERR_OK) {
		fprintf(stderr, "pki: %s\n", why);
		return -1;
	}
	static const char *const tenants[] = {"alice", "bob", "ops"};
	for (int i = 0; i < 3; i++)
		if (api_pki_issue(&pki, tenants[i], pki.clients, certs[i][0], certs[i][1], 256, why, sizeof why) != ERR_OK) {
			fprintf(stderr, "issue: %s\n", why);
			return -1;
		}
	snprintf(tokens_path, sizeof tokens_path, "%s/tokens", kt_dir);
	if (api_http_token_add(tokens_path, "alice", false, tok_alice, sizeof tok_alice, why, sizeof why) != ERR_OK ||
	    api_http_token_add(tokens_path, "bob", false, tok_bob, sizeof tok_bob, why, sizeof why) != ERR_OK ||
	    api_http_token_add(tokens_path, "ops", true, tok_ops, sizeof tok_ops, why, sizeof why) != ERR_OK)
		return -1;
	srv = start("127.0.0.1:0", 0, true, why, sizeof why);
	if (srv == NULL) {
		fprintf(stderr, "api_http_start: %s\n", why);
		return -1;
	}
	port = api_http_port(srv);
	plain_port = api_http_plain_port(srv);
	return 0;
}

static int suite_clean(void)
{
	api_http_stop(srv);
	srv = NULL;
	return kt_clean();
}

/* ---- curl ---------------------------------------------------------------------- */

enum who { NOBODY, CERT_ALICE, CERT_BOB, CERT_OPS, TOKEN_ALICE, TOKEN_BOB, TOKEN_OPS, TOKEN_BAD };

struct hres {
	int code;
	char headers[8192];
	char body[1 << 16];
	size_t body_len;
	json_t *j; /* the body as JSON, or NULL */
};

static void hres_free(struct hres *h)
{
	json_decref(h->j);
	h->j = NULL;
}

/* req runs curl: |method| |path| on the HTTPS (or, |plain|, the plain)
 * listener as |who|, with |body| (NULL: none) and extra curl arguments */
static int req_x(struct hres *h, bool plain, enum who who, const char *method, const char *path, const char *body,
		 const char *const *extra)
{
	memset(h, 0, sizeof *h);
	char url[1024], hdr_file[128], body_file[128], in_file[128], auth[128];
	snprintf(url, sizeof url, "%s://%s:%u%s", plain ? "http" : "https", plain ? "127.0.0.1" : "localhost",
		 plain ? plain_port : port, path);
	snprintf(hdr_file, sizeof hdr_file, "%s/h.txt", kt_dir);
	snprintf(body_file, sizeof body_file, "%s/b.bin", kt_dir);
	snprintf(in_file, sizeof in_file, "@%s/in.bin", kt_dir);
	const char *argv[40];
	int n = 0;
	argv[n++] = CURL;
	argv[n++] = "-sS";
	argv[n++] = "--max-time";
	argv[n++] = "20";
	argv[n++] = "--cacert";
	argv[n++] = pki.ca_cert;
	argv[n++] = "-X";
	argv[n++] = method;
	argv[n++] = "-D";
	argv[n++] = hdr_file;
	argv[n++] = "-o";
	argv[n++] = body_file;
	argv[n++] = "-w";
	argv[n++] = "%{http_code}";
	if (who == CERT_ALICE || who == CERT_BOB || who == CERT_OPS) {
		int i = who == CERT_ALICE ? 0 : who == CERT_BOB ? 1 : 2;
		argv[n++] = "--cert";
		argv[n++] = certs[i][0];
		argv[n++] = "--key";
		argv[n++] = certs[i][1];
	}
	if (who >= TOKEN_ALICE) {
		const char *t = who == TOKEN_ALICE ? tok_alice : who == TOKEN_BOB ? tok_bob : who == TOKEN_OPS ? tok_ops
														 : "ft_0000";
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", t);
		argv[n++] = "-H";
		argv[n++] = auth;
	}
	if (body != NULL) {
		FILE *f = fopen(in_file + 1, "wb");
		if (f == NULL)
			return -1;
		fwrite(body, 1, strlen(body), f);
		fclose(f);
		argv[n++] = "-H";
		argv[n++] = "Content-Type: application/json";
		argv[n++] = "--data-binary";
		argv[n++] = in_file;
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 38; i++)
		argv[n++] = extra[i];
	argv[n++] = url;
	argv[n] = NULL;
	struct run_result *res = calloc(1, sizeof *res);
	if (res == NULL || testlib_run(argv, NULL, NULL, res) != 0) {
		free(res);
		return -1;
	}
	h->code = atoi(res->out);
	if (res->status != 0)
		fprintf(stderr, "\n  curl %s %s: exit %d: %s\n", method, path, res->status, res->err);
	free(res);
	FILE *f = fopen(hdr_file, "rb");
	if (f != NULL) {
		size_t k = fread(h->headers, 1, sizeof h->headers - 1, f);
		h->headers[k] = '\0';
		fclose(f);
	}
	f = fopen(body_file, "rb");
	if (f != NULL) {
		h->body_len = fread(h->body, 1, sizeof h->body - 1, f);
		h->body[h->body_len] = '\0';
		fclose(f);
	}
	h->j = json_loadb(h->body, h->body_len, 0, NULL);
	return h->code;
}

static int req(struct hres *h, enum who who, const char *method, const char *path, const char *body)
{
	return req_x(h, false, who, method, path, body, NULL);
}

static const char *jstr(const struct hres *h, const char *key)
{
	return json_string_value(json_object_get(h->j, key));
}

/* header returns the value of |name| in |h|'s headers (static), or NULL */
static const char *header(const struct hres *h, const char *name)
{
	static char v[256];
	const char *p = h->headers;
	size_t nl = strlen(name);
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *s = p + nl + 1;
			while (*s == ' ')
				s++;
			size_t l = strcspn(s, "\r\n");
			snprintf(v, sizeof v, "%.*s", (int)l, s);
			return v;
		}
	}
	return NULL;
}

static void expect_error(const struct hres *h, int code, const char *err)
{
	CU_ASSERT_EQUAL(h->code, code);
	CU_ASSERT_PTR_NOT_NULL(jstr(h, "message"));
	if (jstr(h, "error") == NULL || strcmp(jstr(h, "error"), err) != 0) {
		fprintf(stderr, "\n  want %d %s, got %d %s\n", code, err, h->code, h->body);
		CU_FAIL("error code");
	}
}

/* create makes a key as |who| from the JSON |body|; its id into |id| */
static int create(enum who who, const char *body, char id[STORE_ID_MAX + 1])
{
	struct hres h;
	int code = req(&h, who, "POST", "/v1/keys", body);
	id[0] = '\0';
	if (code == 201 && jstr(&h, "id") != NULL)
		snprintf(id, STORE_ID_MAX + 1, "%s", jstr(&h, "id"));
	else
		fprintf(stderr, "\n  create %s: %d %s\n", body, code, h.body);
	hres_free(&h);
	return code;
}

/* ---- the routes -------------------------------------------------------------------- */

static void test_health(void)
{
	struct hres h;
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/v1/health", NULL), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "state"), "OPERATIONAL");
	CU_ASSERT_PTR_NOT_NULL(jstr(&h, "provider"));
	CU_ASSERT_TRUE(json_is_boolean(json_object_get(h.j, "fips_mode")));
	CU_ASSERT_TRUE(json_is_integer(json_object_get(json_object_get(h.j, "drbg"), "primary_reseeds")));
	json_t *srcs = json_object_get(h.j, "sources");
	CU_ASSERT_TRUE(json_array_size(srcs) > 0);
	bool credited = false;
	size_t i;
	json_t *s;
	json_array_foreach(srcs, i, s) {
		CU_ASSERT_TRUE(json_is_number(json_object_get(s, "h")));
		CU_ASSERT_TRUE(json_is_integer(json_object_get(s, "samples_tested")));
		CU_ASSERT_TRUE(json_is_integer(json_object_get(s, "intermittent_failures")));
		CU_ASSERT_TRUE(json_is_boolean(json_object_get(s, "permanent_failure")));
		if (json_is_true(json_object_get(s, "credited"))) {
			credited = true;
			CU_ASSERT_TRUE(json_integer_value(json_object_get(json_object_get(s, "cutoffs"), "rct_intermittent")) > 1);
		}
	}
	CU_ASSERT_TRUE(credited);
	/* the store (an embedded SQLite database: always there); where it is,
	 * is not for anyone who can reach the listener */
	json_t *st = json_object_get(h.j, "store");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(st, "backend")), "sqlite");
	CU_ASSERT_TRUE(json_is_true(json_object_get(st, "reachable")));
	CU_ASSERT_TRUE(json_is_null(json_object_get(st, "error")));
	CU_ASSERT_PTR_NULL(json_object_get(st, "location"));
	CU_ASSERT_STRING_EQUAL(header(&h, "Content-Type"), "application/json");
	hres_free(&h);

	/* not OPERATIONAL: 503 with the same body, and no random bytes */
	state_ok = false;
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/v1/health", NULL), 503);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "state"), "ERROR");
	CU_ASSERT_PTR_NOT_NULL(jstr(&h, "error_cause"));
	CU_ASSERT_TRUE(json_array_size(json_object_get(h.j, "sources")) > 0);
	hres_free(&h);
	req(&h, NOBODY, "GET", "/v1/random?bytes=16", NULL);
	expect_error(&h, 503, "not_operational");
	hres_free(&h);
	state_ok = true;
	/* GET / stands in for the status page */
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/", NULL), 200);
	hres_free(&h);
}

static bool all_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (strchr(set, s[i]) == NULL || s[i] == '\0')
			return false;
	return true;
}

static void test_random(void)
{
	struct hres h, h2;
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/v1/random?bytes=32", NULL), 200);
	CU_ASSERT_EQUAL(h.body_len, 32);
	CU_ASSERT_STRING_EQUAL(header(&h, "Content-Type"), "application/octet-stream");
	CU_ASSERT_EQUAL(req(&h2, NOBODY, "GET", "/v1/random?bytes=32", NULL), 200);
	CU_ASSERT_NOT_EQUAL(memcmp(h.body, h2.body, 32), 0); /* 2^-256 */
	hres_free(&h);
	hres_free(&h2);
	CU_ASSERT_EQUAL(req(&h, TOKEN_ALICE, "GET", "/v1/random?bytes=1000&format=hex", NULL), 200);
	CU_ASSERT_EQUAL(h.body_len, 2000);
	CU_ASSERT_TRUE(all_of(h.body, h.body_len, "0123456789abcdef"));
	hres_free(&h);
	/* base64 across 64 KiB chunks: one continuous, padded text */
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", "/v1/random?bytes=40000&format=base64", NULL), 200);
	CU_ASSERT_EQUAL(h.body_len, (40000 + 2) / 3 * 4);
	CU_ASSERT_TRUE(all_of(h.body, h.body_len - 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"));
	CU_ASSERT_EQUAL(h.body[h.body_len - 1], '='); /* 40000 = 3*13333 + 1 */
	CU_ASSERT_EQUAL(h.body[h.body_len - 2], '=');
	hres_free(&h);
	/* the cap, streamed in 64 KiB generates, counted whole */
	char path[64];
	snprintf(path, sizeof path, "/v1/random?bytes=%u", RANDOM_MAX);
	struct api_http_stats before, after;
	api_http_stats(srv, &before);
	CU_ASSERT_EQUAL(req_x(&h, false, NOBODY, "GET", path, NULL, (const char *const[]){"-o", "/dev/null", NULL}), 200);
	api_http_stats(srv, &after);
	CU_ASSERT_EQUAL(after.random_bytes - before.random_bytes, RANDOM_MAX);
	CU_ASSERT_TRUE(after.requests[API_HTTP_EP_RANDOM][0] > before.requests[API_HTTP_EP_RANDOM][0]);
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/random?bytes=%u", RANDOM_MAX + 1);
	req(&h, NOBODY, "GET", path, NULL);
	expect_error(&h, 400, "bad_query");
	hres_free(&h);
	static const char *const bad[] = {"/v1/random?bytes=0", "/v1/random?bytes=-1", "/v1/random?bytes=12x",
					  "/v1/random?format=binary", "/v1/random?bytes=1&bytes=2",
					  "/v1/random?count=3", "/v1/random?bytes=%zz", "/v1/random?bytes=99999999999999999999"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		req(&h, NOBODY, "GET", bad[i], NULL);
		expect_error(&h, 400, "bad_query");
		hres_free(&h);
	}
	/* plain HTTP: random needs no token */
	CU_ASSERT_EQUAL(req_x(&h, true, NOBODY, "GET", "/v1/random?bytes=8&format=hex", NULL, NULL), 200);
	CU_ASSERT_EQUAL(h.body_len, 16);
	hres_free(&h);
}

static void test_rate_limit(void)
{
	/* on by default: /v1/random needs no identity */
	struct config dc;
	config_defaults(&dc);
	CU_ASSERT_EQUAL(dc.http_rate_bytes, (uint64_t)64 << 20);
	char why[512] = "";
	struct api_http *rs = start(NULL, 1000, false, why, sizeof why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
	unsigned saved = port;
	port = api_http_port(rs);
	struct hres h;
	CU_ASSERT_EQUAL(req(&h, TOKEN_ALICE, "GET", "/v1/random?bytes=1000", NULL), 200);
	hres_free(&h);
	req(&h, TOKEN_ALICE, "GET", "/v1/random?bytes=1000", NULL);
	expect_error(&h, 429, "rate_limited");
	const char *ra = header(&h, "Retry-After");
	CU_ASSERT_TRUE(ra != NULL && atoi(ra) >= 1);
	hres_free(&h);
	/* the same tenant by its certificate shares the bucket; another
	 * tenant has its own, and so has an anonymous client */
	req(&h, CERT_ALICE, "GET", "/v1/random?bytes=1000", NULL);
	CU_ASSERT_EQUAL(h.code, 429);
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, TOKEN_BOB, "GET", "/v1/random?bytes=1000", NULL), 200);
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/v1/random?bytes=1000", NULL), 200);
	hres_free(&h);
	/* larger than a second's worth: served once the bucket is full, then
	 * the debt is waited out */
	CU_ASSERT_EQUAL(req(&h, TOKEN_OPS, "GET", "/v1/random?bytes=5000", NULL), 200);
	hres_free(&h);
	req(&h, TOKEN_OPS, "GET", "/v1/random?bytes=10", NULL);
	CU_ASSERT_EQUAL(h.code, 429);
	ra = header(&h, "Retry-After");
	CU_ASSERT_TRUE(ra != NULL && atoi(ra) >= 4);
	hres_free(&h);
	port = saved;
	api_http_stop(rs);
}

static void test_auth(void)
{
	struct hres h;
	req(&h, NOBODY, "GET", "/v1/keys", NULL);
	expect_error(&h, 401, "unauthorized");
	CU_ASSERT_PTR_NOT_NULL(header(&h, "WWW-Authenticate"));
	hres_free(&h);
	req(&h, TOKEN_BAD, "GET", "/v1/keys", NULL);
	expect_error(&h, 401, "unauthorized");
	hres_free(&h);
	/* a bad token is refused on the public routes too */
	req(&h, TOKEN_BAD, "GET", "/v1/health", NULL);
	CU_ASSERT_EQUAL(h.code, 401);
	hres_free(&h);
	req_x(&h, false, NOBODY, "GET", "/v1/keys", NULL, (const char *const[]){"-H", "Authorization: Basic YTpi", NULL});
	expect_error(&h, 401, "unauthorized");
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, TOKEN_ALICE, "GET", "/v1/keys", NULL), 200);
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", "/v1/keys", NULL), 200);
	hres_free(&h);
	/* a certificate and a token of different tenants */
	char extra[128];
	snprintf(extra, sizeof extra, "Authorization: Bearer %s", tok_bob);
	req_x(&h, false, CERT_ALICE, "GET", "/v1/keys", NULL, (const char *const[]){"-H", extra, NULL});
	expect_error(&h, 403, "forbidden");
	hres_free(&h);
	/* plain HTTP: a token for everything but health, random and / */
	req_x(&h, true, NOBODY, "GET", "/v1/keys", NULL, NULL);
	expect_error(&h, 401, "unauthorized");
	hres_free(&h);
	CU_ASSERT_EQUAL(req_x(&h, true, TOKEN_ALICE, "GET", "/v1/keys", NULL, NULL), 200);
	hres_free(&h);
	CU_ASSERT_EQUAL(req_x(&h, true, NOBODY, "GET", "/v1/health", NULL, NULL), 200);
	hres_free(&h);
	/* a token file edited while serving is read again */
	char tok[API_HTTP_TOKEN_LEN + 1], why[256];
	EXPECT_OK(api_http_token_add(tokens_path, "carol", false, tok, sizeof tok, why, sizeof why));
	snprintf(extra, sizeof extra, "Authorization: Bearer %s", tok);
	CU_ASSERT_EQUAL(req_x(&h, false, NOBODY, "GET", "/v1/keys", NULL, (const char *const[]){"-H", extra, NULL}), 200);
	hres_free(&h);
}

static void test_keys_lifecycle(void)
{
	struct hres h;
	char id[STORE_ID_MAX + 1], path[160];
	CU_ASSERT_EQUAL(create(CERT_ALICE, "{\"type\":\"aes-256\",\"name\":\"life-1\",\"usage\":[\"encrypt\",\"decrypt\"]}", id), 201);
	snprintf(path, sizeof path, "/v1/keys/%s", id);
	CU_ASSERT_EQUAL(req(&h, TOKEN_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "state"), "pre-active");
	CU_ASSERT_STRING_EQUAL(jstr(&h, "name"), "life-1");
	CU_ASSERT_STRING_EQUAL(jstr(&h, "algorithm"), "AES");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(h.j, "length")), 256);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(h.j, "usage")), 2);
	hres_free(&h);
	/* the name is the tenant's */
	char dup[STORE_ID_MAX + 1];
	req(&h, CERT_ALICE, "POST", "/v1/keys", "{\"type\":\"aes-128\",\"name\":\"life-1\"}");
	expect_error(&h, 409, "name_taken");
	hres_free(&h);
	CU_ASSERT_EQUAL(create(CERT_BOB, "{\"type\":\"aes-128\",\"name\":\"life-1\"}", dup), 201);
	/* list: by name, by state */
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", "/v1/keys?name=life-1", NULL), 200);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(h.j, "keys")), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(json_object_get(h.j, "keys"), 0), "id")), id);
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s/activate", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "POST", path, NULL), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "state"), "active");
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "POST", path, NULL), 200); /* again: still Active */
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", "/v1/keys?state=active&name=life-1", NULL), 200);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(h.j, "total")), 1);
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s", id);
	req(&h, CERT_ALICE, "DELETE", path, NULL);
	expect_error(&h, 409, "wrong_state");
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s/revoke", id);
	req(&h, CERT_ALICE, "POST", path, "{\"reason\":\"nonsense\"}");
	expect_error(&h, 400, "bad_json");
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "POST", path, "{\"reason\":\"superseded\"}"), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "state"), "deactivated");
	CU_ASSERT_STRING_EQUAL(jstr(&h, "revocation_reason"), "superseded");
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s/activate", id);
	req(&h, CERT_ALICE, "POST", path, NULL);
	expect_error(&h, 409, "wrong_state");
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "DELETE", path, NULL), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "state"), "destroyed");
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s/material", id);
	req(&h, CERT_ALICE, "GET", path, NULL);
	expect_error(&h, 409, "destroyed");
	hres_free(&h);
	/* destroyed keys leave the default list; state=destroyed finds them */
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", "/v1/keys?name=life-1", NULL), 200);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(h.j, "keys")), 0);
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", "/v1/keys?state=destroyed", NULL), 200);
	CU_ASSERT_TRUE(json_array_size(json_object_get(h.j, "keys")) >= 1);
	hres_free(&h);

	/* re-key: a replacement linked to the old key, which loses its name */
	char old[STORE_ID_MAX + 1];
	CU_ASSERT_EQUAL(create(CERT_ALICE, "{\"type\":\"aes-128\",\"name\":\"rk\",\"activate\":true}", old), 201);
	snprintf(path, sizeof path, "/v1/keys/%s/rekey", old);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "POST", path, "{\"offset\":0}"), 201);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "name"), "rk");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(h.j, "links"), "replaces")), old);
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s", old);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_TRUE(json_is_null(json_object_get(h.j, "name")));
	CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(h.j, "links"), "replaced_by"));
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s/rekey", old);
	req(&h, CERT_ALICE, "POST", path, "{\"offset\":-5}");
	expect_error(&h, 400, "bad_json");
	hres_free(&h);
}

static void test_keys_paging(void)
{
	char id[STORE_ID_MAX + 1];
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(create(TOKEN_BOB, "{\"type\":\"hmac-sha256\"}", id), 201);
	struct hres h;
	CU_ASSERT_EQUAL(req(&h, TOKEN_BOB, "GET", "/v1/keys?limit=2", NULL), 200);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(h.j, "keys")), 2);
	json_int_t total = json_integer_value(json_object_get(h.j, "total"));
	CU_ASSERT_TRUE(total >= 5);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(h.j, "next_offset")), 2);
	hres_free(&h);
	char path[64];
	snprintf(path, sizeof path, "/v1/keys?limit=2&offset=%lld", (long long)total - 1);
	CU_ASSERT_EQUAL(req(&h, TOKEN_BOB, "GET", path, NULL), 200);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(h.j, "keys")), 1);
	CU_ASSERT_TRUE(json_is_null(json_object_get(h.j, "next_offset")));
	hres_free(&h);
	static const char *const bad[] = {"/v1/keys?limit=0", "/v1/keys?limit=1001", "/v1/keys?state=sleeping",
					  "/v1/keys?offset=x", "/v1/keys?name=", "/v1/keys?sort=id"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		req(&h, TOKEN_BOB, "GET", bad[i], NULL);
		expect_error(&h, 400, "bad_query");
		hres_free(&h);
	}
}

static void test_key_pair(void)
{
	struct hres h;
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "POST", "/v1/keys", "{\"type\":\"ec-p256\",\"name\":\"sig\",\"activate\":true}"), 201);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "object_type"), "private_key");
	const char *pem = jstr(&h, "public_key");
	CU_ASSERT_TRUE(pem != NULL && strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
	char priv[STORE_ID_MAX + 1], pub[STORE_ID_MAX + 1], path[160];
	snprintf(priv, sizeof priv, "%s", jstr(&h, "id") ? jstr(&h, "id") : "");
	snprintf(pub, sizeof pub, "%s", jstr(&h, "public_id") ? jstr(&h, "public_id") : "");
	/* the PEM is a key OpenSSL reads */
	BIO *b = BIO_new_mem_buf(pem != NULL ? pem : "", -1);
	EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL(k);
	EVP_PKEY_free(k);
	BIO_free(b);
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s", pub);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "object_type"), "public_key");
	CU_ASSERT_STRING_EQUAL(jstr(&h, "name"), "sig.pub");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(h.j, "links"), "private_key")), priv);
	hres_free(&h);
	/* a public key's material is not secret: it too leaves wrapped
	 * unless plaintext is allowed (this server: over mutual TLS) */
	snprintf(path, sizeof path, "/v1/keys/%s/material", pub);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "format"), "x509");
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s/rekey", priv);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "POST", path, NULL), 201);
	CU_ASSERT_PTR_NOT_NULL(jstr(&h, "public_id"));
	CU_ASSERT_STRING_EQUAL(jstr(&h, "object_type"), "private_key");
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s/rekey", pub);
	req(&h, CERT_ALICE, "POST", path, NULL);
	expect_error(&h, 400, "bad_request");
	hres_free(&h);
}

static void test_tenant_isolation(void)
{
	char id[STORE_ID_MAX + 1], kek[STORE_ID_MAX + 1], path[200];
	CU_ASSERT_EQUAL(create(CERT_ALICE, "{\"type\":\"aes-256\",\"name\":\"alice-only\"}", id), 201);
	CU_ASSERT_EQUAL(create(CERT_ALICE, "{\"type\":\"aes-256\",\"usage\":[\"wrap\"],\"activate\":true}", kek), 201);
	struct hres h;
	static const char *const meth[] = {"GET", "DELETE", "GET", "POST", "POST", "POST"};
	static const char *const tail[] = {"", "", "/material", "/activate", "/revoke", "/rekey"};
	for (size_t i = 0; i < ARRAY_SIZE(meth); i++) {
		const char *m = meth[i];
		snprintf(path, sizeof path, "/v1/keys/%s%s", id, tail[i]);
		req(&h, CERT_BOB, m, path, NULL);
		expect_error(&h, 404, "not_found");
		hres_free(&h);
		req(&h, TOKEN_BOB, m, path, NULL);
		expect_error(&h, 404, "not_found");
		hres_free(&h);
	}
	CU_ASSERT_EQUAL(req(&h, CERT_BOB, "GET", "/v1/keys?name=alice-only", NULL), 200);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(h.j, "keys")), 0);
	hres_free(&h);
	/* bob's key wrapped under alice's KEK: no such wrapping key to him */
	char mine[STORE_ID_MAX + 1];
	CU_ASSERT_EQUAL(create(CERT_BOB, "{\"type\":\"aes-128\"}", mine), 201);
	snprintf(path, sizeof path, "/v1/keys/%s/material?wrap_with=%s", mine, kek);
	req(&h, CERT_BOB, "GET", path, NULL);
	expect_error(&h, 404, "not_found");
	hres_free(&h);
	/* the key is unchanged for its owner */
	snprintf(path, sizeof path, "/v1/keys/%s", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "state"), "pre-active");
	hres_free(&h);
}

/* kmip_key reads |uid|'s key material over KMIP (Get) as |p| */
static uint32_t kmip_key(const struct kmip_peer *p, const char *uid, uint8_t *out, size_t *len)
{
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_uid_item(&q, KMIP_OPERATION_GET, uid);
	kt_run(&q, p, &r);
	uint32_t s = kt_status(kt_nth(&r, 0));
	const struct ttlv_item *kb = ttlv_find(ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK);
	const struct ttlv_item *km = ttlv_find(ttlv_find(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL);
	*len = 0;
	if (km != NULL && km->len <= 64) {
		memcpy(out, km->val, km->len);
		*len = km->len;
	}
	kt_resp_free(&r);
	return s;
}

static size_t b64_decode(const char *in, uint8_t *out, size_t cap)
{
	EVP_ENCODE_CTX *c = EVP_ENCODE_CTX_new();
	int n = 0, m = 0;
	size_t l = strlen(in);
	if (c == NULL || l / 4 * 3 > cap)
		return 0;
	EVP_DecodeInit(c);
	if (EVP_DecodeUpdate(c, out, &n, (const unsigned char *)in, (int)l) < 0 || EVP_DecodeFinal(c, out + n, &m) != 1)
		n = m = 0;
	EVP_ENCODE_CTX_free(c);
	return (size_t)(n + m);
}

static void test_material_and_kmip(void)
{
	char kek[STORE_ID_MAX + 1], key[STORE_ID_MAX + 1], path[256];
	CU_ASSERT_EQUAL(create(CERT_ALICE, "{\"type\":\"aes-256\",\"usage\":[\"wrap\",\"unwrap\"],\"activate\":true}", kek), 201);
	CU_ASSERT_EQUAL(create(TOKEN_ALICE, "{\"type\":\"aes-256\",\"name\":\"over-http\"}", key), 201);
	/* the same objects over KMIP, for the same tenant (alice) */
	uint8_t kek_raw[64], key_raw[64], wrapped[128], plain[64];
	size_t kek_len = 0, key_len = 0, wl = 0, pl = 0;
	CU_ASSERT_EQUAL(kmip_key(&kt_alice, kek, kek_raw, &kek_len), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kmip_key(&kt_alice, key, key_raw, &key_len), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(key_len, 32);
	CU_ASSERT_EQUAL(kmip_key(&kt_bob, key, plain, &pl), KMIP_RESULT_STATUS_OPERATION_FAILED);
	/* wrapped over HTTP (KWP by default, KW on request) unwraps under the KEK */
	static const char *const algs[] = {"", "&alg=kwp", "&alg=kw"};
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		struct hres h;
		snprintf(path, sizeof path, "/v1/keys/%s/material?wrap_with=%s%s", key, kek, algs[i]);
		CU_ASSERT_EQUAL(req(&h, TOKEN_ALICE, "GET", path, NULL), 200);
		CU_ASSERT_STRING_EQUAL(jstr(&h, "wrapped_with"), kek);
		wl = b64_decode(jstr(&h, "material") ? jstr(&h, "material") : "", wrapped, sizeof wrapped);
		CU_ASSERT_EQUAL(wl, 40);
		EXPECT_OK(keygen_aes_unwrap(i == 2 ? KEYGEN_WRAP_KW : KEYGEN_WRAP_KWP, kek_raw, kek_len, wrapped, wl, plain,
					    sizeof plain, &pl));
		CU_ASSERT_TRUE(pl == 32 && memcmp(plain, key_raw, 32) == 0);
		hres_free(&h);
	}
	struct hres h;
	snprintf(path, sizeof path, "/v1/keys/%s/material?wrap_with=%s&alg=rsa", key, kek);
	req(&h, TOKEN_ALICE, "GET", path, NULL);
	expect_error(&h, 400, "bad_query");
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s/material?wrap_with=no-such-key", key);
	req(&h, TOKEN_ALICE, "GET", path, NULL);
	expect_error(&h, 404, "not_found");
	hres_free(&h);
	/* a wrapping key without the wrap usage */
	snprintf(path, sizeof path, "/v1/keys/%s/material?wrap_with=%s", kek, key);
	req(&h, TOKEN_ALICE, "GET", path, NULL);
	CU_ASSERT_EQUAL(h.code, 409);
	hres_free(&h);
	/* plaintext: over mutual TLS only ([http] plaintext_material on here) */
	snprintf(path, sizeof path, "/v1/keys/%s/material", key);
	req(&h, TOKEN_ALICE, "GET", path, NULL);
	expect_error(&h, 403, "plaintext_refused");
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "format"), "raw");
	pl = b64_decode(jstr(&h, "material") ? jstr(&h, "material") : "", plain, sizeof plain);
	CU_ASSERT_TRUE(pl == 32 && memcmp(plain, key_raw, 32) == 0);
	hres_free(&h);
	/* and not on a server without plaintext_material */
	char why[256];
	struct api_http *ps = start(NULL, 0, false, why, sizeof why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	unsigned saved = port;
	port = api_http_port(ps);
	req(&h, CERT_ALICE, "GET", path, NULL);
	expect_error(&h, 403, "plaintext_refused");
	hres_free(&h);
	port = saved;
	api_http_stop(ps);
	/* a Sensitive key never leaves in plaintext */
	char sens[STORE_ID_MAX + 1];
	CU_ASSERT_EQUAL(create(CERT_ALICE, "{\"type\":\"aes-128\",\"sensitive\":true}", sens), 201);
	snprintf(path, sizeof path, "/v1/keys/%s/material", sens);
	req(&h, CERT_ALICE, "GET", path, NULL);
	expect_error(&h, 403, "protected");
	hres_free(&h);

	/* made over KMIP, seen over HTTP with its name */
	char uid[STORE_ID_MAX + 1];
	CU_ASSERT_TRUE(kt_create_one(&kt_alice, 4, 0x4 | 0x8, "over-kmip", uid));
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", "/v1/keys?name=over-kmip", NULL), 200);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(json_object_get(h.j, "keys"), 0), "id")), uid);
	hres_free(&h);
	/* and the HTTP name over KMIP: Locate by Name finds it */
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 1);
	kt_item(&q, KMIP_OPERATION_LOCATE);
	kt_attr_name(&q, "over-http");
	kt_item_end(&q);
	kt_run(&q, &kt_alice, &r);
	const struct ttlv_item *u = ttlv_find(kt_payload(kt_nth(&r, 0)), KMIP_TAG_UNIQUE_IDENTIFIER);
	CU_ASSERT_TRUE(u != NULL && u->len == strlen(key) && memcmp(u->val, key, u->len) == 0);
	kt_resp_free(&r);
	/* destroyed over KMIP, destroyed over HTTP */
	snprintf(path, sizeof path, "/v1/keys/%s", uid);
	CU_ASSERT_EQUAL(kt_one(&kt_alice, KMIP_OPERATION_DESTROY, uid, NULL), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "state"), "destroyed");
	hres_free(&h);
}

/* The holders' view and leases over HTTP: who got a key (per tenant and
 * certificate, its lease), for its owner and the administrators only; the
 * reverse by tenant (403 for another tenant's); a material answer carries
 * its lease; POST .../lease renews it until the key is revoked. */
static void test_holders_and_leases(void)
{
	char id[STORE_ID_MAX + 1], kek[STORE_ID_MAX + 1], path[256], fp_alice[65];
	uint8_t md[32];
	CU_ASSERT_FATAL(testlib_cert_sha256(certs[0][0], md));
	hex_encode(fp_alice, md, sizeof md);
	CU_ASSERT_EQUAL(create(CERT_ALICE, "{\"type\":\"aes-256\",\"name\":\"held\",\"activate\":true}", id), 201);
	CU_ASSERT_EQUAL(create(CERT_ALICE, "{\"type\":\"aes-256\",\"usage\":[\"wrap\"],\"activate\":true}", kek), 201);
	struct hres h;
	snprintf(path, sizeof path, "/v1/keys/%s/holders", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "id"), id);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(h.j, "holders")), 0);
	CU_ASSERT(json_is_false(json_object_get(h.j, "truncated")));
	hres_free(&h);

	/* a plaintext Get over mutual TLS: its lease in the answer */
	json_int_t t0 = (json_int_t)time(NULL);
	snprintf(path, sizeof path, "/v1/keys/%s/material", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(h.j, "lease_seconds")), 3600);
	json_int_t le = json_integer_value(json_object_get(h.j, "lease_expires"));
	CU_ASSERT(le >= t0 + 3600 && le <= (json_int_t)time(NULL) + 3600);
	hres_free(&h);
	/* a wrapped one with a token, twice */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "/v1/keys/%s/material?wrap_with=%s", id, kek);
		CU_ASSERT_EQUAL(req(&h, TOKEN_ALICE, "GET", path, NULL), 200);
		CU_ASSERT_PTR_NOT_NULL(json_object_get(h.j, "lease_expires"));
		hres_free(&h);
	}
	/* Encrypt-style use of the KEK (wrapping) makes no holder of it */
	snprintf(path, sizeof path, "/v1/keys/%s/holders", kek);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(h.j, "holders")), 0);
	hres_free(&h);

	snprintf(path, sizeof path, "/v1/keys/%s/holders", id);
	static const enum who may[] = {CERT_ALICE, TOKEN_ALICE, CERT_OPS, TOKEN_OPS};
	for (size_t i = 0; i < ARRAY_SIZE(may); i++) {
		CU_ASSERT_EQUAL(req(&h, may[i], "GET", path, NULL), 200);
		json_t *a = json_object_get(h.j, "holders");
		CU_ASSERT_EQUAL_FATAL(json_array_size(a), 2);
		size_t total = 0, by_cert = 0;
		for (size_t k = 0; k < 2; k++) {
			json_t *e = json_array_get(a, k);
			CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "tenant")), "alice");
			json_int_t n = json_integer_value(json_object_get(e, "accesses"));
			total += (size_t)n;
			CU_ASSERT(json_is_true(json_object_get(e, "leased")));
			CU_ASSERT(json_integer_value(json_object_get(e, "first_access")) >= t0);
			if (strcmp(json_string_value(json_object_get(e, "certificate_sha256")), fp_alice) == 0) {
				by_cert++;
				CU_ASSERT_EQUAL(n, 1);
				CU_ASSERT_EQUAL(json_integer_value(json_object_get(e, "lease_expires")), le);
			}
		}
		CU_ASSERT_EQUAL(total, 3);
		CU_ASSERT_EQUAL(by_cert, 1);
		hres_free(&h);
	}
	/* another tenant: no such key */
	req(&h, CERT_BOB, "GET", path, NULL);
	expect_error(&h, 404, "not_found");
	hres_free(&h);
	req(&h, NOBODY, "GET", path, NULL);
	CU_ASSERT_EQUAL(h.code, 401);
	hres_free(&h);

	/* the reverse: what alice holds, for alice and the administrators */
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", "/v1/holders/alice/keys", NULL), 200);
	CU_ASSERT_STRING_EQUAL(jstr(&h, "tenant"), "alice");
	json_t *keys = json_object_get(h.j, "keys");
	bool found = false;
	for (size_t k = 0; k < json_array_size(keys); k++)
		found = found || strcmp(json_string_value(json_object_get(json_array_get(keys, k), "id")), id) == 0;
	CU_ASSERT(found);
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, CERT_OPS, "GET", "/v1/holders/alice/keys", NULL), 200);
	CU_ASSERT(json_array_size(json_object_get(h.j, "keys")) >= 2);
	hres_free(&h);
	req(&h, CERT_BOB, "GET", "/v1/holders/alice/keys", NULL);
	expect_error(&h, 403, "forbidden");
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, CERT_BOB, "GET", "/v1/holders/bob/keys", NULL), 200);
	for (size_t k = 0; k < json_array_size(json_object_get(h.j, "keys")); k++)
		CU_ASSERT_STRING_NOT_EQUAL(json_string_value(json_object_get(json_array_get(json_object_get(h.j, "keys"), k), "id")), id);
	hres_free(&h);
	char longpath[400];
	snprintf(longpath, sizeof longpath, "/v1/holders/%0300d/keys", 0);
	req(&h, CERT_OPS, "GET", longpath, NULL);
	expect_error(&h, 404, "not_found");
	hres_free(&h);

	/* renewing: the owner's, not bob's; none once revoked */
	snprintf(path, sizeof path, "/v1/keys/%s/lease", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "POST", path, NULL), 200);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(h.j, "lease_seconds")), 3600);
	CU_ASSERT(json_integer_value(json_object_get(h.j, "lease_expires")) >= le);
	CU_ASSERT(json_integer_value(json_object_get(h.j, "last_change")) > 0);
	hres_free(&h);
	req(&h, CERT_BOB, "POST", path, NULL);
	expect_error(&h, 404, "not_found");
	hres_free(&h);
	req(&h, CERT_ALICE, "GET", path, NULL);
	CU_ASSERT_EQUAL(h.code, 405);
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s/revoke", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "POST", path, "{\"reason\":\"superseded\"}"), 200);
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s/lease", id);
	req(&h, CERT_ALICE, "POST", path, NULL);
	expect_error(&h, 409, "wrong_state");
	hres_free(&h);
	/* a revoked key's material leaves without a lease; its holders' leases end */
	snprintf(path, sizeof path, "/v1/keys/%s/material", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_PTR_NULL(json_object_get(h.j, "lease_expires"));
	CU_ASSERT_PTR_NOT_NULL(json_object_get(h.j, "material"));
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/keys/%s/holders", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	json_t *a = json_object_get(h.j, "holders");
	CU_ASSERT_EQUAL(json_array_size(a), 2);
	for (size_t k = 0; k < json_array_size(a); k++)
		CU_ASSERT(json_is_false(json_object_get(json_array_get(a, k), "leased")));
	hres_free(&h);
}

/* sse_get: GET |path| as alice (her certificate) on |at| with curl,
 * |last_id| as Last-Event-ID when not NULL; the body in res->out */
struct sse_call {
	unsigned at;
	const char *path, *last_id;
	struct run_result res;
	double seconds;
};

static void *sse_get(void *arg)
{
	struct sse_call *c = arg;
	char url[256], hdr[64];
	snprintf(url, sizeof url, "https://localhost:%u%s", c->at, c->path);
	snprintf(hdr, sizeof hdr, "Last-Event-ID: %s", c->last_id != NULL ? c->last_id : "");
	const char *argv[] = {CURL, "-sS", "--max-time", "30", "--cacert", pki.ca_cert, "--cert", certs[0][0],
			      "--key", certs[0][1], "-H", c->last_id != NULL ? hdr : "X-None: 1", url, NULL};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (testlib_run(argv, NULL, NULL, &c->res) != 0)
		c->res.status = -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return NULL;
}

/* last_event_id: the last "id: N" of an SSE body (0: none) */
static unsigned long long last_event_id(const char *body)
{
	unsigned long long id = 0;
	for (const char *p = strstr(body, "id: "); p != NULL; p = strstr(p + 1, "\nid: "))
		id = strtoull(p[0] == '\n' ? p + 5 : p + 4, NULL, 10);
	return id;
}

/* GET /v1/events: Server-Sent Events of the caller's keys (another
 * tenant's never), resumable with Last-Event-ID or ?after; a request with
 * nothing to send is held until an event is committed (a revoke reaches
 * it long before its wait is up), or answered empty when its wait ends or
 * the server stops. */
static void test_events(void)
{
	char id[STORE_ID_MAX + 1], path[256];
	CU_ASSERT_EQUAL(create(CERT_ALICE, "{\"type\":\"aes-256\",\"name\":\"evented\"}", id), 201);
	struct hres h;
	snprintf(path, sizeof path, "/v1/keys/%s/activate", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "POST", path, NULL), 200);
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", "/v1/events?wait=0", NULL), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(h.headers, "text/event-stream"));
	CU_ASSERT(strncmp(h.body, "retry: 1000\n\n", 13) == 0);
	char want[160];
	snprintf(want, sizeof want, "\"kind\":\"activate\",\"id\":\"%s\"", id);
	CU_ASSERT_PTR_NOT_NULL(strstr(h.body, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(h.body, "event: activate\ndata: {"));
	unsigned long long last = last_event_id(h.body);
	CU_ASSERT(last > 0);
	hres_free(&h);
	/* bob sees none of alice's; the administrator does */
	CU_ASSERT_EQUAL(req(&h, CERT_BOB, "GET", "/v1/events?wait=0", NULL), 200);
	CU_ASSERT_PTR_NULL(strstr(h.body, id));
	/* but his cursor moves past them: an id without data */
	CU_ASSERT(strncmp(h.body, "retry: 1000\n\nid: ", 17) == 0 && strstr(h.body, "data:") == NULL);
	CU_ASSERT(last_event_id(h.body) >= last);
	char pos[64];
	snprintf(pos, sizeof pos, "retry: 1000\n\nid: %llu\n\n", last_event_id(h.body));
	hres_free(&h);
	/* after=now: only the position, at once, whatever wait says */
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", "/v1/events?after=now&wait=30", NULL), 200);
	CU_ASSERT_STRING_EQUAL(h.body, pos);
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, TOKEN_OPS, "GET", "/v1/events?wait=0", NULL), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(h.body, want));
	hres_free(&h);
	/* after the last one: nothing, at once with wait=0 */
	snprintf(path, sizeof path, "/v1/events?wait=0&after=%llu", last);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT(strncmp(h.body, "retry: 1000\n\n", 13) == 0 && strstr(h.body, "data:") == NULL);
	hres_free(&h);
	/* bad values */
	req(&h, CERT_ALICE, "GET", "/v1/events?after=x", NULL);
	expect_error(&h, 400, "bad_query");
	hres_free(&h);
	req(&h, CERT_ALICE, "GET", "/v1/events?wait=61", NULL);
	expect_error(&h, 400, "bad_query");
	hres_free(&h);
	req_x(&h, false, CERT_ALICE, "GET", "/v1/events?wait=0", NULL, (const char *const[]){"-H", "Last-Event-ID: -1", NULL});
	expect_error(&h, 400, "bad_query");
	hres_free(&h);
	req(&h, NOBODY, "GET", "/v1/events", NULL);
	CU_ASSERT_EQUAL(h.code, 401);
	hres_free(&h);

	/* held: the revoke wakes it (its wait is 20 s) */
	char lid[24];
	snprintf(lid, sizeof lid, "%llu", last);
	struct sse_call *c = calloc(1, sizeof *c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	*c = (struct sse_call){.at = port, .path = "/v1/events?wait=20", .last_id = lid};
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, sse_get, c), 0);
	(void)usleep(500 * 1000);
	snprintf(path, sizeof path, "/v1/keys/%s/revoke", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "POST", path, "{\"reason\":\"superseded\"}"), 200);
	hres_free(&h);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(c->res.status, 0);
	snprintf(want, sizeof want, "\"kind\":\"revoke\",\"id\":\"%s\"", id);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->res.out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(c->res.out, "\"state\":\"deactivated\""));
	CU_ASSERT_PTR_NULL(strstr(c->res.out, "event: activate")); /* resumed after it */
	CU_ASSERT(c->seconds < 10);
	fprintf(stderr, "\n  held GET /v1/events answered %.2f s after it was sent (revoke at 0.5 s) ", c->seconds);
	last = last_event_id(c->res.out);
	/* the wait runs out: an empty answer */
	snprintf(lid, sizeof lid, "%llu", last);
	*c = (struct sse_call){.at = port, .path = "/v1/events?wait=1", .last_id = lid};
	sse_get(c);
	CU_ASSERT(c->res.status == 0 && strncmp(c->res.out, "retry: 1000\n\n", 13) == 0 &&
		  strstr(c->res.out, "data:") == NULL);
	CU_ASSERT(c->seconds >= 0.9);
	/* a rekey: old -> new */
	char k2[STORE_ID_MAX + 1];
	CU_ASSERT_EQUAL(create(CERT_ALICE, "{\"type\":\"aes-128\",\"activate\":true}", k2), 201);
	snprintf(path, sizeof path, "/v1/keys/%s/rekey", k2);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "POST", path, "{}"), 201);
	const char *nid = jstr(&h, "id");
	char rk[200];
	snprintf(rk, sizeof rk, "\"kind\":\"rekey\",\"id\":\"%s\"", k2);
	char nk[120];
	snprintf(nk, sizeof nk, "\"new_id\":\"%s\"", nid != NULL ? nid : "?");
	hres_free(&h);
	snprintf(path, sizeof path, "/v1/events?wait=0&after=%llu", last);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", path, NULL), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(h.body, rk));
	CU_ASSERT_PTR_NOT_NULL(strstr(h.body, nk));
	hres_free(&h);

	/* a position past the newest event (the store went back: restored
	 * from an older backup): every event from the start, at once, and the
	 * cursor moved back */
	snprintf(want, sizeof want, "\"kind\":\"activate\",\"id\":\"%s\"", id);
	CU_ASSERT_EQUAL(req(&h, CERT_ALICE, "GET", "/v1/events?wait=30&after=999999999", NULL), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(h.body, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(h.body, rk));
	unsigned long long newest = last_event_id(h.body);
	CU_ASSERT(newest > 0 && newest < 999999999ull);
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, CERT_BOB, "GET", "/v1/events?wait=30&after=999999999", NULL), 200);
	CU_ASSERT_PTR_NULL(strstr(h.body, id)); /* none of alice's */
	CU_ASSERT(last_event_id(h.body) >= newest && last_event_id(h.body) < 999999999ull);
	hres_free(&h);

	/* a server that stops answers its held requests */
	char why[256], at_newest[96];
	snprintf(at_newest, sizeof at_newest, "/v1/events?wait=30&after=%llu", newest);
	struct api_http *ps = start(NULL, 0, false, why, sizeof why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
	*c = (struct sse_call){.at = api_http_port(ps), .path = at_newest};
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, sse_get, c), 0);
	(void)usleep(500 * 1000);
	api_http_stop(ps);
	pthread_join(th, NULL);
	CU_ASSERT(c->res.status == 0 && strncmp(c->res.out, "retry: 1000\n\n", 13) == 0 &&
		  strstr(c->res.out, "data:") == NULL);
	CU_ASSERT(c->seconds < 10);
	free(c);
}

static void test_selftest(void)
{
	struct hres h;
	req(&h, CERT_ALICE, "POST", "/v1/selftest", NULL);
	expect_error(&h, 403, "forbidden");
	hres_free(&h);
	req(&h, NOBODY, "POST", "/v1/selftest", NULL);
	expect_error(&h, 401, "unauthorized");
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, TOKEN_OPS, "POST", "/v1/selftest", NULL), 200);
	CU_ASSERT_TRUE(json_is_true(json_object_get(h.j, "passed")));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(h.j, "tests")), 2);
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, CERT_OPS, "POST", "/v1/selftest", NULL), 200);
	hres_free(&h);
	selftest_fails = true;
	CU_ASSERT_EQUAL(req(&h, TOKEN_OPS, "POST", "/v1/selftest", NULL), 503);
	CU_ASSERT_TRUE(json_is_false(json_object_get(h.j, "passed")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(json_object_get(h.j, "tests"), 1), "result")), "fail");
	hres_free(&h);
	selftest_fails = false;
	req(&h, TOKEN_OPS, "GET", "/v1/selftest", NULL);
	expect_error(&h, 405, "method_not_allowed");
	CU_ASSERT_STRING_EQUAL(header(&h, "Allow"), "POST");
	hres_free(&h);
}

/* post_too_large POSTs an oversized body: 413 too_large. curl once saw an
 * "empty reply" here (1 of 7 ASan runs in CI): the server's close after its
 * 413, with the body still coming, reset the connection before curl read
 * the answer. Open (the closing note); it is tried once more, and a second
 * miss fails. */
static void post_too_large(struct hres *h, const char *const *extra)
{
	req_x(h, false, CERT_ALICE, "POST", "/v1/keys", NULL, extra);
	if (h->code == 0) {
		fprintf(stderr, "\n  oversized POST: no answer (connection reset), once more\n");
		hres_free(h);
		req_x(h, false, CERT_ALICE, "POST", "/v1/keys", NULL, extra);
	}
	expect_error(h, 413, "too_large");
	hres_free(h);
}

static void test_errors(void)
{
	struct hres h;
	static const char *const nf[] = {"/nope", "/v1", "/v1/keys/x/y", "/v1/random/more", "/v1/keys/a/material/b"};
	for (size_t i = 0; i < ARRAY_SIZE(nf); i++) {
		req(&h, CERT_ALICE, "GET", nf[i], NULL);
		expect_error(&h, 404, "not_found");
		hres_free(&h);
	}
	/* an id no key can have is "not found" as any other */
	req(&h, CERT_ALICE, "GET", "/v1/keys/bad%22id", NULL);
	expect_error(&h, 404, "not_found");
	hres_free(&h);
	req(&h, CERT_ALICE, "PUT", "/v1/keys", NULL);
	expect_error(&h, 405, "method_not_allowed");
	CU_ASSERT_STRING_EQUAL(header(&h, "Allow"), "GET, POST");
	hres_free(&h);
	req(&h, CERT_ALICE, "POST", "/v1/keys/abc", "{}");
	expect_error(&h, 405, "method_not_allowed");
	CU_ASSERT_STRING_EQUAL(header(&h, "Allow"), "GET, DELETE");
	hres_free(&h);
	req(&h, NOBODY, "POST", "/v1/health", NULL);
	expect_error(&h, 405, "method_not_allowed");
	CU_ASSERT_STRING_EQUAL(header(&h, "Allow"), "GET, HEAD");
	hres_free(&h);
	static const char *const badjson[] = {"", "{", "[]", "{\"type\":\"aes-512\"}", "{\"type\":1}",
					      "{\"type\":\"aes-128\",\"color\":\"red\"}",
					      "{\"type\":\"aes-128\",\"type\":\"aes-256\"}",
					      "{\"type\":\"aes-128\",\"usage\":[\"fly\"]}",
					      "{\"type\":\"aes-128\",\"activate\":\"yes\"}",
					      "{\"type\":\"aes-128\",\"name\":\"\"}"};
	for (size_t i = 0; i < ARRAY_SIZE(badjson); i++) {
		req(&h, CERT_ALICE, "POST", "/v1/keys", badjson[i]);
		expect_error(&h, 400, "bad_json");
		hres_free(&h);
	}
	/* 413: the declared size is refused before the body is read */
	char big_path[128];
	snprintf(big_path, sizeof big_path, "%s/big.json", kt_dir);
	FILE *f = fopen(big_path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("{\"type\":\"aes-128\",\"name\":\"", f);
	for (int i = 0; i < 70000; i++)
		fputc('a', f);
	fputs("\"}", f);
	fclose(f);
	char at[140];
	snprintf(at, sizeof at, "@%s", big_path);
	post_too_large(&h, (const char *const[]){"-H", "Content-Type: application/json", "--data-binary", at, NULL});
	/* and a chunked body (no Content-Length) once it grows too large */
	post_too_large(&h, (const char *const[]){"-H", "Transfer-Encoding: chunked", "--data-binary", at, NULL});
	/* every answer was counted */
	struct api_http_stats st;
	api_http_stats(srv, &st);
	CU_ASSERT_TRUE(st.requests[API_HTTP_EP_OTHER][6] >= 5); /* 404 */
	CU_ASSERT_TRUE(st.body_bytes > 0);
}

static void test_plain_listen_rule(void)
{
	char why[512];
	static const char *const refused[] = {"0.0.0.0:8080", "10.1.2.3:80", "[::]:8080", ":8080", "example.com:80",
					      "unix:relative.sock", "127.0.0.1", "128.0.0.1:80"};
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		why[0] = '\0';
		CU_ASSERT_FALSE(api_http_plain_ok(refused[i], why, sizeof why));
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "plain_listen"));
		struct api_http_options o = {.plain_listen = refused[i]};
		struct api_http *h = NULL;
		EXPECT_ERR(api_http_start(&o, &h, why, sizeof why), ERR_CONFIG);
		CU_ASSERT_PTR_NULL(h);
	}
	static const char *const ok[] = {"127.0.0.1:0", "127.8.9.10:8080", "[::1]:80", "localhost:80", "unix:/run/fount.sock"};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		CU_ASSERT_TRUE(api_http_plain_ok(ok[i], why, sizeof why));
	/* the message names the fix */
	CU_ASSERT_FALSE(api_http_plain_ok("0.0.0.0:8080", why, sizeof why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "loopback"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "[http] listen"));
}

static void test_unix_socket(void)
{
	char why[512], sock[128], l[140];
	snprintf(sock, sizeof sock, "%s/http.sock", kt_dir);
	snprintf(l, sizeof l, "unix:%s", sock);
	struct api_http_options o = {.plain_listen = l, .tokens = tokens_path, .hooks = &hooks, .threads = 1};
	struct api_http *h = NULL;
	EXPECT_OK(api_http_start(&o, &h, why, sizeof why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	struct stat st;
	CU_ASSERT_TRUE(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode));
	char auth[128];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok_alice);
	const char *argv[] = {CURL, "-sS", "--max-time", "10", "--unix-socket", sock, "-w", " %{http_code}",
			      "http://fount/v1/health", NULL};
	struct run_result *res = calloc(1, sizeof *res);
	CU_ASSERT_PTR_NOT_NULL_FATAL(res);
	CU_ASSERT_EQUAL(testlib_run(argv, NULL, NULL, res), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"OPERATIONAL\"") );
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, " 200"));
	const char *argv2[] = {CURL, "-sS", "--max-time", "10", "--unix-socket", sock, "-H", auth, "-w", " %{http_code}",
			       "http://fount/v1/keys?limit=1", NULL};
	CU_ASSERT_EQUAL(testlib_run(argv2, NULL, NULL, res), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, " 200"));
	free(res);
	api_http_stop(h);
	CU_ASSERT_NOT_EQUAL(stat(sock, &st), 0); /* removed at stop */
}

/* ---- the front end's robustness: raw clients -------------------------------------- */

static int tcp_connect(unsigned p)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* closed_within says whether the server closes |fd| (EOF or reset) within
 * |ms| (the bound is generous: it only tells "closed" from "never") */
static bool closed_within(int fd, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
	char b[4096];
	while (now_ns() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t k = recv(fd, b, sizeof b, 0);
		if (k <= 0)
			return true;
	}
	return false;
}

static SSL_CTX *client_ctx(void)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	if (c == NULL || SSL_CTX_load_verify_file(c, pki.ca_cert) != 1)
		return NULL;
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	return c;
}

static SSL *tls_connect(SSL_CTX *ctx, int *fd_out)
{
	int fd = tcp_connect(port);
	if (fd < 0)
		return NULL;
	SSL *s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, "localhost");
	if (SSL_connect(s) != 1) {
		SSL_free(s);
		close(fd);
		return NULL;
	}
	*fd_out = fd;
	return s;
}

static bool tls_send(SSL *s, const char *text)
{
	return SSL_write(s, text, (int)strlen(text)) == (int)strlen(text);
}

/* read_all reads until EOF (or a timeout) into |buf|; *clean: the server
 * sent close_notify */
static size_t read_all(SSL *s, char *buf, size_t cap, bool *clean)
{
	size_t n = 0;
	*clean = false;
	for (;;) {
		if (n + 1 >= cap)
			break;
		int k = SSL_read(s, buf + n, (int)(cap - 1 - n));
		if (k > 0) {
			n += (size_t)k;
			continue;
		}
		*clean = SSL_get_error(s, k) == SSL_ERROR_ZERO_RETURN;
		break;
	}
	buf[n] = '\0';
	return n;
}

static unsigned fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;
	if (d == NULL)
		return 0;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* settle waits until the server has no connection open (up to 6 s) */
static bool settle(void)
{
	for (int i = 0; i < 120; i++) {
		struct api_http_stats st;
		api_http_stats(srv, &st);
		if (st.active == 0)
			return true;
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
	}
	return false;
}

static void test_stalled_handshake(void)
{
	struct api_http_stats before, after;
	api_http_stats(srv, &before);
	int fd = tcp_connect(port);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	/* half a ClientHello, then nothing */
	static const uint8_t part[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01};
	CU_ASSERT_EQUAL(send(fd, part, sizeof part, 0), (ssize_t)sizeof part);
	int fd2 = tcp_connect(port); /* and one that sends nothing at all */
	/* meanwhile another client is served */
	struct hres h;
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/v1/health", NULL), 200);
	hres_free(&h);
	CU_ASSERT_TRUE(closed_within(fd, 5000));
	CU_ASSERT_TRUE(closed_within(fd2, 5000));
	close(fd);
	close(fd2);
	api_http_stats(srv, &after);
	CU_ASSERT_TRUE(after.timeouts >= before.timeouts + 2);
	CU_ASSERT_TRUE(settle());
}

static void test_garbage(void)
{
	/* HTTP where TLS is expected: a TLS alert or nothing, then closed */
	int fd = tcp_connect(port);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	const char *g = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
	CU_ASSERT_EQUAL(send(fd, g, strlen(g), 0), (ssize_t)strlen(g));
	CU_ASSERT_TRUE(closed_within(fd, 3000));
	close(fd);
	/* random bytes where TLS is expected */
	fd = tcp_connect(port);
	uint8_t junk[512];
	EXPECT_OK(drbg_generate(junk, sizeof junk));
	(void)!send(fd, junk, sizeof junk, MSG_NOSIGNAL);
	CU_ASSERT_TRUE(closed_within(fd, 3000));
	close(fd);
	/* garbage inside TLS: a 400 from MHD, then the connection ends */
	SSL_CTX *ctx = client_ctx();
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	SSL *s = tls_connect(ctx, &fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(tls_send(s, "\x01\x02 NOT HTTP AT ALL\r\n\r\n"));
	char buf[4096];
	bool clean = false;
	read_all(s, buf, sizeof buf, &clean);
	CU_ASSERT_EQUAL(strncmp(buf, "HTTP/1.1 400", 12), 0);
	SSL_free(s);
	close(fd);
	/* a valid record of garbage after a good request */
	s = tls_connect(ctx, &fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(tls_send(s, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
	(void)!send(fd, junk, 64, MSG_NOSIGNAL); /* not a TLS record: the TLS layer fails */
	read_all(s, buf, sizeof buf, &clean);
	SSL_free(s);
	close(fd);
	SSL_CTX_free(ctx);
	/* the server is fine */
	struct hres h;
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/v1/health", NULL), 200);
	hres_free(&h);
	CU_ASSERT_TRUE(settle());
}

/* parse_responses reads HTTP/1.1 responses with Content-Length from
 * |buf|, their statuses into |codes|; returns how many */
static int parse_responses(const char *buf, size_t n, int *codes, int max, size_t *body_total)
{
	int k = 0;
	const char *p = buf, *end = buf + n;
	*body_total = 0;
	while (k < max && p < end && strncmp(p, "HTTP/1.1 ", 9) == 0) {
		codes[k] = atoi(p + 9);
		const char *he = strstr(p, "\r\n\r\n");
		const char *cl = strcasestr(p, "Content-Length:");
		if (he == NULL || cl == NULL || cl > he)
			break;
		size_t len = (size_t)strtoul(cl + 15, NULL, 10);
		p = he + 4 + len;
		*body_total += len;
		k++;
	}
	return k;
}

static void test_pipelined(void)
{
	SSL_CTX *ctx = client_ctx();
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	int fd;
	SSL *s = tls_connect(ctx, &fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(tls_send(s, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
				   "GET /v1/random?bytes=5 HTTP/1.1\r\nHost: x\r\n\r\n"
				   "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
				   "GET /v1/random?bytes=7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
	static char buf[1 << 16];
	bool clean = false;
	size_t n = read_all(s, buf, sizeof buf, &clean);
	int codes[8];
	size_t body = 0;
	CU_ASSERT_EQUAL(parse_responses(buf, n, codes, 8, &body), 4);
	CU_ASSERT_EQUAL(codes[0], 200);
	CU_ASSERT_EQUAL(codes[1], 200);
	CU_ASSERT_EQUAL(codes[2], 404);
	CU_ASSERT_EQUAL(codes[3], 200);
	CU_ASSERT_TRUE(clean); /* close_notify after the last response */
	SSL_free(s);
	close(fd);
	SSL_CTX_free(ctx);
}

static void test_connection_close(void)
{
	SSL_CTX *ctx = client_ctx();
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	for (int round = 0; round < 2; round++) {
		int fd;
		SSL *s = tls_connect(ctx, &fd);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_TRUE(tls_send(s, "GET /v1/random?bytes=300000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
		/* round 1: the request and a FIN together (the write side shut) */
		if (round == 1)
			shutdown(fd, SHUT_WR);
		static char buf[400000];
		bool clean = false;
		size_t n = read_all(s, buf, sizeof buf, &clean);
		const char *he = strstr(buf, "\r\n\r\n");
		CU_ASSERT_PTR_NOT_NULL_FATAL(he);
		CU_ASSERT_EQUAL(n - (size_t)(he + 4 - buf), 300000);
		CU_ASSERT_TRUE(clean);
		SSL_free(s);
		close(fd);
	}
	SSL_CTX_free(ctx);
}

static void test_close_mid_response_and_churn(void)
{
	CU_ASSERT_TRUE(settle());
	unsigned base = fd_count();
	SSL_CTX *ctx = client_ctx();
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	struct api_http_stats before;
	api_http_stats(srv, &before);
	for (int i = 0; i < 120; i++) {
		int fd = -1;
		switch (i % 4) {
		case 0: { /* a whole request */
			SSL *s = tls_connect(ctx, &fd);
			CU_ASSERT_PTR_NOT_NULL_FATAL(s);
			tls_send(s, "GET /v1/random?bytes=16 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
			char b[2048];
			bool clean;
			read_all(s, b, sizeof b, &clean);
			SSL_free(s);
			break;
		}
		case 1: { /* gone mid-response: 1 MiB asked, a little read */
			SSL *s = tls_connect(ctx, &fd);
			CU_ASSERT_PTR_NOT_NULL_FATAL(s);
			tls_send(s, "GET /v1/random?bytes=1048576 HTTP/1.1\r\nHost: x\r\n\r\n");
			char b[1000];
			(void)SSL_read(s, b, sizeof b);
			SSL_free(s);
			break;
		}
		case 2: /* gone in the middle of the handshake */
			fd = tcp_connect(port);
			(void)!send(fd, "\x16\x03\x01\x00\x10", 5, MSG_NOSIGNAL);
			break;
		default: { /* a keep-alive connection closed while idle */
			SSL *s = tls_connect(ctx, &fd);
			CU_ASSERT_PTR_NOT_NULL_FATAL(s);
			tls_send(s, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
			char b[8192];
			(void)SSL_read(s, b, sizeof b);
			SSL_free(s);
			break;
		}
		}
		if (fd >= 0)
			close(fd);
	}
	SSL_CTX_free(ctx);
	CU_ASSERT_TRUE(settle());
	/* back to the baseline: nothing leaked (the store's and OpenSSL's
	 * own descriptors are the same as before) */
	unsigned now = base + 1;
	for (int i = 0; i < 60 && now != base; i++) {
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
		now = fd_count();
	}
	CU_ASSERT_EQUAL(now, base);
	struct api_http_stats after;
	api_http_stats(srv, &after);
	CU_ASSERT_TRUE(after.connections - before.connections >= 120);
	struct hres h;
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/v1/health", NULL), 200);
	hres_free(&h);
}

static void test_connection_cap(void)
{
	char why[256];
	struct api_http_options o = {.listen = "127.0.0.1:0", .cert_file = pki.server_cert, .key_file = pki.server_key,
				     .client_ca = pki.ca_cert, .max_connections = 2, .handshake_timeout_ms = 3000,
				     .hooks = &hooks, .threads = 1};
	struct api_http *h = NULL;
	EXPECT_OK(api_http_start(&o, &h, why, sizeof why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	int a = tcp_connect(api_http_port(h)), b = tcp_connect(api_http_port(h));
	struct timespec ts = {0, 200000000};
	nanosleep(&ts, NULL);
	int c = tcp_connect(api_http_port(h));
	CU_ASSERT_TRUE(closed_within(c, 2000)); /* the third is closed at once */
	struct api_http_stats st;
	api_http_stats(h, &st);
	CU_ASSERT_EQUAL(st.refused_busy, 1);
	close(a);
	close(b);
	close(c);
	api_http_stop(h);
}

/* ---- `fount serve` and `fount token add` ----------------------------------------------- */

static void test_serve(void)
{
	char dir[64];
	CU_ASSERT_EQUAL_FATAL(testlib_tmpdir_create(dir, "httpserve"), 0);
	unsigned hp = testlib_free_port(), pp = testlib_free_port();
	char env_state[128], env_listen[64], env_plain[64];
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s/state", dir);
	snprintf(env_listen, sizeof env_listen, "FOUNT_HTTP_LISTEN=127.0.0.1:%u", hp);
	snprintf(env_plain, sizeof env_plain, "FOUNT_HTTP_PLAIN_LISTEN=127.0.0.1:%u", pp);
	/* a plain listener elsewhere than on loopback: refused, one line naming the fix */
	const char *env_bad[] = {env_state, "FOUNT_HTTP_PLAIN_LISTEN=0.0.0.0:18080", testlib_fips_dir_env(), NULL};
	const char *argv_serve[] = {testlib_fount_bin(), "serve", NULL};
	struct run_result *res = calloc(1, sizeof *res);
	CU_ASSERT_PTR_NOT_NULL_FATAL(res);
	CU_ASSERT_EQUAL(testlib_run(argv_serve, env_bad, NULL, res), 0);
	CU_ASSERT_NOT_EQUAL(res->status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->err, "fount serve: [http] plain_listen = 0.0.0.0:18080: plain HTTP listens only on loopback"));

	const char *env[] = {env_state, env_listen, env_plain, testlib_fips_dir_env(), NULL};
	const char *log = testlib_file(dir, "serve.log");
	int pid = testlib_spawn(log, argv_serve, env);
	CU_ASSERT_TRUE_FATAL(pid > 0);
	CU_ASSERT_TRUE(testlib_wait_for_log(log, "HTTP API listening on 127.0.0.1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(testlib_slurp(log), "status page https://127.0.0.1:"));
	const char *argv_tok[] = {testlib_fount_bin(), "token", "add", "--tenant", "ops", "--admin", NULL};
	const char *env_tok[] = {env_state, testlib_fips_dir_env(), NULL};
	CU_ASSERT_EQUAL(testlib_run(argv_tok, env_tok, NULL, res), 0);
	CU_ASSERT_EQUAL(res->status, 0);
	char tok[API_HTTP_TOKEN_LEN + 1] = "";
	snprintf(tok, sizeof tok, "%.*s", API_HTTP_TOKEN_LEN, res->out);
	CU_ASSERT_EQUAL(strlen(tok), API_HTTP_TOKEN_LEN);
	CU_ASSERT_EQUAL(strncmp(tok, "ft_", 3), 0);
	/* the file has its hash, not the token */
	char tf[128];
	snprintf(tf, sizeof tf, "%s/state/http-tokens", dir);
	const char *text = testlib_slurp(tf);
	CU_ASSERT_TRUE(text != NULL && strstr(text, " ops admin") != NULL && strstr(text, tok + 3) == NULL);
	const char *argv_bad[] = {testlib_fount_bin(), "token", "add", "--tenant", "a b", NULL};
	CU_ASSERT_EQUAL(testlib_run(argv_bad, env_tok, NULL, res), 0);
	CU_ASSERT_EQUAL(res->status, 2);
	char ca[128], url[128], auth[128];
	snprintf(ca, sizeof ca, "%s/state/pki/ca.pem", dir);
	snprintf(url, sizeof url, "https://localhost:%u/v1/health", hp);
	const char *argv_h[] = {CURL, "-sS", "--max-time", "10", "--cacert", ca, "-w", " %{http_code}", url, NULL};
	CU_ASSERT_EQUAL(testlib_run(argv_h, NULL, NULL, res), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"state\":\"OPERATIONAL\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, " 200"));
	/* the real self-tests, as an admin, over plain HTTP with the token */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/selftest", pp);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
	const char *argv_s[] = {CURL, "-sS", "--max-time", "30", "-X", "POST", "-H", auth, "-w", " %{http_code}", url, NULL};
	CU_ASSERT_EQUAL(testlib_run(argv_s, NULL, NULL, res), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"passed\":true"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"name\":\"ctr-drbg\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, " 200"));
	free(res);
	kill(pid, SIGTERM);
	int st = 0;
	waitpid(pid, &st, 0);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	testlib_tmpdir_remove(dir);
}

/* GET /metrics: the exposition format through the strict checker, HTTP's
 * own counters in it; GET /: the self-contained status page; /v1/health
 * carries the last self-test run */
static void test_metrics_and_page(void)
{
	struct hres h;
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/v1/health", NULL), 200);
	json_t *st = json_object_get(h.j, "selftests");
	CU_ASSERT_TRUE(json_is_true(json_object_get(st, "passed")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(json_object_get(st, "tests"), 0), "name")),
			       "ctr-drbg");
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/metrics", NULL), 200);
	CU_ASSERT_STRING_EQUAL(header(&h, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	char why[256];
	bool ok = promtext_check(h.body, why, sizeof why);
	if (!ok)
		fprintf(stderr, "\n  /metrics: %s\n", why);
	CU_ASSERT_TRUE(ok);
	double v = 0;
	CU_ASSERT_TRUE(promtext_value(h.body, "fount_http_requests_total{endpoint=\"health\",status=\"200\"}", &v) && v >= 1);
	CU_ASSERT_TRUE(promtext_value(h.body, "fount_module_state{state=\"OPERATIONAL\"}", &v) && v == 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(h.body, "# TYPE fount_http_connections_open gauge\n"));
	hres_free(&h);
	/* and once more: the first /metrics is now counted */
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/metrics", NULL), 200);
	CU_ASSERT_TRUE(promtext_value(h.body, "fount_http_requests_total{endpoint=\"metrics\",status=\"200\"}", &v) && v >= 1);
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, NOBODY, "GET", "/", NULL), 200);
	CU_ASSERT_STRING_EQUAL(header(&h, "Content-Type"), "text/html; charset=utf-8");
	CU_ASSERT_EQUAL(strncmp(h.body, "<!DOCTYPE html>", 15), 0);
	/* self-contained: nothing loaded from anywhere */
	CU_ASSERT_PTR_NULL(strstr(h.body, "src="));
	CU_ASSERT_PTR_NULL(strstr(h.body, "href="));
	CU_ASSERT_PTR_NULL(strstr(h.body, "@import"));
	CU_ASSERT_PTR_NOT_NULL(strstr(h.body, "fetch(\"/v1/health\""));
	hres_free(&h);
	CU_ASSERT_EQUAL(req(&h, NOBODY, "POST", "/metrics", NULL), 405);
	CU_ASSERT_STRING_EQUAL(header(&h, "Allow"), "GET, HEAD");
	hres_free(&h);
	/* HEAD on the status routes: the GET's headers, no body */
	static const char *const head_args[] = {"-I", NULL};
	CU_ASSERT_EQUAL(req_x(&h, false, NOBODY, "HEAD", "/v1/health", NULL, head_args), 200);
	CU_ASSERT_STRING_EQUAL(header(&h, "Content-Type"), "application/json");
	/* (curl -I writes the headers where the body would go) no JSON came */
	CU_ASSERT_PTR_NULL(strstr(h.body, "\"state\""));
	hres_free(&h);
	CU_ASSERT_EQUAL(req_x(&h, false, NOBODY, "HEAD", "/v1/random", NULL, head_args), 405);
	hres_free(&h);
}

/* A route that waits (the self-tests here, held open by the hook; the key
 * store's commits and RSA key generation in life) runs on a worker thread
 * with its connection suspended: requests on new connections, whichever
 * pump thread takes them, are answered meanwhile. */
static void test_waiting_route_stalls_nobody(void)
{
	/* one pump thread: before the workers, a waiting route stopped it */
	char why[256], plain[64];
	unsigned pp = testlib_free_port();
	snprintf(plain, sizeof plain, "127.0.0.1:%u", pp);
	start_threads = 1;
	struct api_http *one = start(plain, 0, false, why, sizeof why);
	start_threads = 2;
	CU_ASSERT_PTR_NOT_NULL_FATAL(one);
	unsigned saved = plain_port;
	plain_port = pp;
	CU_ASSERT_FATAL(sem_init(&selftest_entered, 0, 0) == 0 && sem_init(&selftest_release, 0, 0) == 0);
	selftest_blocks = true;
	char url[128], auth[160], out[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/selftest", plain_port);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok_ops);
	snprintf(out, sizeof out, "%s/slow.out", kt_dir);
	const char *argv[] = {CURL, "-sS", "--max-time", "60", "-X", "POST", "-H", auth, "-o", out, url, NULL};
	int pid = testlib_spawn(testlib_file(kt_dir, "slow.err"), argv, NULL);
	CU_ASSERT_FATAL(pid > 0);
	while (sem_wait(&selftest_entered) != 0) /* the self-tests are running, and wait */
		;
	/* the one pump answers others meanwhile */
	for (int i = 0; i < 4; i++) {
		struct hres h;
		CU_ASSERT_EQUAL(req_x(&h, true, NOBODY, "GET", "/v1/health", NULL, NULL), 200);
		hres_free(&h);
	}
	int st = -1;
	CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0); /* still waiting for its answer */
	selftest_blocks = false;
	sem_post(&selftest_release);
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	const char *body = testlib_slurp(out);
	CU_ASSERT_TRUE(body != NULL && strstr(body, "\"passed\":true") != NULL);
	sem_destroy(&selftest_entered);
	sem_destroy(&selftest_release);
	plain_port = saved;
	api_http_stop(one);
}

TEST_SUITE(http, suite_init, suite_clean, TEST(test_health), TEST(test_random), TEST(test_rate_limit), TEST(test_auth),
	   TEST(test_keys_lifecycle), TEST(test_keys_paging), TEST(test_key_pair), TEST(test_tenant_isolation),
	   TEST(test_material_and_kmip), TEST(test_holders_and_leases), TEST(test_events), TEST(test_selftest), TEST(test_errors), TEST(test_plain_listen_rule),
	   TEST(test_unix_socket), TEST(test_stalled_handshake), TEST(test_garbage), TEST(test_pipelined),
	   TEST(test_connection_close), TEST(test_close_mid_response_and_churn), TEST(test_connection_cap),
	   TEST(test_metrics_and_page), TEST(test_waiting_route_stalls_nobody), TEST(test_serve))
