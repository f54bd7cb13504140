/* api/http.h — what the HTTP front end (api/http.c), the routes
 * (api/http_routes.c) and the credentials (api/http_auth.c) share. Private
 * to api/ (the fuzz targets and tests include it too).
 *
 * The front end knows sockets, TLS and libmicrohttpd; the routes know none
 * of them: they take one whole request (struct http_request) and give one
 * reply (struct http_reply), so they can be tested and fuzzed alone. */
#ifndef FOUNT_API_HTTP_H
#define FOUNT_API_HTTP_H

#include <pthread.h>
#include <stdatomic.h>

#include "api/api.h"
#include "api/internal.h"
#include "store/store.h"

struct keygen_type;

#define HTTP_BODY_MAX (64u * 1024u)     /* largest request body; more is 413 before it is read */
#define HTTP_URI_MAX 2048               /* longest request-target */
#define HTTP_QUERY_MAX_PARAMS 16
#define HTTP_QUERY_VALUE_MAX 256
#define HTTP_RANDOM_CHUNK (64u * 1024u) /* one DRBG generate per chunk (DESIGN.md) */
#define HTTP_LIST_MAX 1000              /* GET /v1/keys: most keys in one page */
#define HTTP_LIST_DEFAULT 100

/* ---- bearer tokens (api/http_auth.c) ------------------------------------------
 * The token file, one token a line ('#' starts a comment):
 *	<64 hex: SHA-256 of the token> <tenant> [admin]
 * It is re-read when it changes. */
struct http_tokens;
err_t http_tokens_new(const char *path, struct http_tokens **out, char *why, size_t why_len) MUST_CHECK;
void http_tokens_free(struct http_tokens *t);
/* http_tokens_check maps the token |tok| (|len| bytes) to |out|: its
 * SHA-256 compared in constant time with every entry. ERR_STORE_NOT_FOUND
 * when it is not one; ERR_UNSUPPORTED when there is no token file. */
err_t http_tokens_check(struct http_tokens *t, const char *tok, size_t len, struct kmip_peer *out) MUST_CHECK;

/* ---- the per-tenant rate limit of /v1/random (api/http_auth.c) -----------------
 * A token bucket per key (tenant, or "anon:" and the client address) that
 * refills at |rate| bytes/s up to one second's worth; a request larger
 * than that is let through when the bucket is full and leaves it in debt,
 * so the average holds whatever the request size. */
struct http_rate;
err_t http_rate_new(uint64_t rate, struct http_rate **out) MUST_CHECK;
void http_rate_free(struct http_rate *r);
/* http_rate_take takes |n| bytes for |key| at time |now_ns|; false with
 * *retry_after (seconds, at least 1) when the caller must wait. A NULL
 * limiter lets everything through. */
bool http_rate_take(struct http_rate *r, const char *key, uint64_t n, uint64_t now, unsigned *retry_after);

/* ---- the server-wide context the routes use ------------------------------------ */
struct http_ctx {
	struct http_tokens *tokens;     /* may be NULL */
	struct http_rate *rate;         /* may be NULL: no limit */
	size_t random_max;
	bool plaintext_material;
	const struct api_http_hooks *hooks; /* may be NULL */
	/* counters (api_http_stats) */
	atomic_uint_fast64_t requests[API_HTTP_EP_COUNT][API_HTTP_STATUSES];
	atomic_uint_fast64_t random_bytes, body_bytes;
};

/* http_count adds one request to the counters. */
void http_count(struct http_ctx *c, unsigned endpoint, unsigned status);

/* ---- one request and its reply ---------------------------------------------------- */
struct http_request {
	const char *method;             /* "GET", "POST", ... */
	const char *uri;                /* the request-target as sent: /path?query */
	const char *authorization;      /* the Authorization header, or NULL */
	const uint8_t *body;
	size_t body_len;
	const struct kmip_peer *cert;   /* the client certificate's tenant, or NULL */
	bool tls;                       /* came over HTTPS */
	const char *addr;               /* the client's address (no port), for anonymous limits */
	const char *last_event_id;      /* the Last-Event-ID header (GET /v1/events), or NULL */
	bool events_final;              /* GET /v1/events: answer now, even with no event */
};

enum http_format { HTTP_FMT_RAW = 0, HTTP_FMT_HEX, HTTP_FMT_BASE64 };

struct http_reply {
	unsigned status;
	unsigned endpoint;              /* API_HTTP_EP_* */
	const char *content_type;       /* NULL: application/json */
	char *body;                     /* malloc'd, or secure memory when |secret| */
	size_t body_len;
	size_t secret_cap;              /* |secret|: the secmem_alloc length */
	bool secret;
	const char *allow;              /* 405: the Allow header */
	unsigned retry_after;           /* 429/503: Retry-After, seconds; 0 none */
	bool www_authenticate;          /* 401: WWW-Authenticate: Bearer */
	/* /v1/random: |random_n| DRBG bytes streamed in |random_format| */
	bool stream_random;
	uint64_t random_n;
	enum http_format random_format;
	/* GET /v1/events with nothing to send yet: no answer; the connection
	 * waits (held, no thread kept) until an event after |hold_seq| is
	 * committed anywhere or |hold_s| seconds pass, then the route runs
	 * again (the second time with events_final once the time is up) */
	bool hold;
	uint64_t hold_seq;
	unsigned hold_s;
};

/* http_route answers |rq|. It always fills |out| (free it with
 * http_reply_free), an error as {"error": code, "message": text}. */
void http_route(struct http_ctx *c, const struct http_request *rq, struct http_reply *out);
void http_reply_free(struct http_reply *r);
/* http_route_waits: |rq|'s route may block (the store, key generation,
 * the self-tests), so a worker thread runs it, not the pump. */
bool http_route_waits(const struct http_request *rq);

/* http_events_latest: the seq of the last committed event (0: none, or
 * the store cannot say), what a held GET /v1/events waits to pass */
uint64_t http_events_latest(void);

/* http_random_len is how many body bytes |n| random bytes take in |f|. */
uint64_t http_random_len(uint64_t n, enum http_format f);
/* http_random_fill writes the next part of a random body in |f| into
 * |buf| (|max| bytes, at least 4): up to |*left| DRBG bytes, encoded.
 * *written gets the body bytes; *left goes down. A base64 body is
 * continuous: every part but the last encodes a multiple of 3 bytes. */
err_t http_random_fill(enum http_format f, uint8_t *buf, size_t max, uint64_t *left, size_t *written) MUST_CHECK;

/* ---- parsers (fuzzed: fuzz/fuzz_http_query.c, fuzz/fuzz_http_json.c) ------------ */
struct http_param {
	char name[32];
	char value[HTTP_QUERY_VALUE_MAX + 1];
};
struct http_query {
	struct http_param p[HTTP_QUERY_MAX_PARAMS];
	size_t n;
};
/* http_split_uri splits a request-target into its path (percent-decoded,
 * |path_cap| bytes) and its raw query (a pointer into |uri|, "" when
 * none). ERR_PARSE for a target that is not an absolute path, a bad
 * escape or a NUL; ERR_TOO_LARGE when the path does not fit. */
err_t http_split_uri(const char *uri, char *path, size_t path_cap, const char **query) MUST_CHECK;
/* http_query_parse reads "a=1&b=x%20y" (percent escapes, '+' for space)
 * into |q|: at most HTTP_QUERY_MAX_PARAMS, names of up to 31 bytes of
 * [a-z0-9_], values up to HTTP_QUERY_VALUE_MAX bytes without control
 * characters, no name twice. On failure |why| says what. */
err_t http_query_parse(const char *query, struct http_query *q, char *why, size_t why_len) MUST_CHECK;
/* http_query_get returns the value of |name|, or NULL. */
const char *http_query_get(const struct http_query *q, const char *name);
/* http_query_only checks that |q| names nothing outside |allowed|
 * (NULL-terminated); false with |why| otherwise. */
bool http_query_only(const struct http_query *q, const char *const *allowed, char *why, size_t why_len);
/* http_parse_u64 reads a decimal number of at most 19 digits within
 * [lo, hi]. */
err_t http_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) MUST_CHECK;

/* POST /v1/keys: {"type": "aes-256", "name": "...", "usage": ["encrypt", ...],
 * "activate": true, "sensitive": false, "extractable": true} */
#define HTTP_NAME_MAX 255
struct http_create {
	const struct keygen_type *type;
	char name[HTTP_NAME_MAX + 1];   /* "" none */
	uint32_t usage;                 /* KMIP Cryptographic Usage Mask; 0: the type's default */
	bool activate, sensitive, not_extractable;
};
err_t http_parse_create(const uint8_t *body, size_t len, struct http_create *out, char *why,
			size_t why_len) MUST_CHECK;
/* POST /v1/keys/{id}/revoke: {"reason": "key_compromise", "occurred": 1700000000}
 * (an empty body: reason unspecified) */
struct http_revoke {
	uint32_t reason;                /* STORE_REVOKE_* */
	int64_t occurred;               /* compromise occurrence, 0: now */
};
err_t http_parse_revoke(const uint8_t *body, size_t len, struct http_revoke *out, char *why,
			size_t why_len) MUST_CHECK;
/* POST /v1/keys/{id}/rekey: {"offset": seconds} (or an empty body) */
struct http_rekey {
	bool has_offset;
	int64_t offset;
};
err_t http_parse_rekey(const uint8_t *body, size_t len, struct http_rekey *out, char *why,
		       size_t why_len) MUST_CHECK;

/* http_state_name / http_state_parse: STORE_STATE_* <-> "active", ... */
const char *http_state_name(uint32_t state);
uint32_t http_state_parse(const char *s);

#endif
