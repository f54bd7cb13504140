/* api/http_routes.c — the HTTP API's routes: one whole request in, one
 * reply out (api/http.h), JSON through jansson. Every key route calls the
 * operation layer (api/ops.c) with the caller's tenant, so the tenant
 * rules, the lifecycle and the access records are KMIP's: a key made here
 * is the same object over KMIP.
 *
 * Who may call what:
 *   GET /, GET /v1/health, GET /metrics,    anyone who reaches the listener
 *   GET /v1/random                          (no secret in any of them;
 *                                           /v1/random rate-limited per
 *                                           tenant, or per address without one)
 *   everything else                         an identity: the client
 *                                           certificate's tenant, or a bearer
 *                                           token's
 *   POST /v1/selftest                       admins only
 *   plaintext key material                  only with [http] plaintext_material
 *                                           and a client certificate
 * A bad or unknown bearer token is 401 on every route. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "api/http.h"
#include "api/metrics.h"
#include "api/ops.h"
#include "api/status_page.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"

CSP_USE("Symmetric keys", "the JSON answer of GET /v1/keys/{id}/material, built in locked memory");

/* ---- counters ------------------------------------------------------------------ */

static const unsigned statuses[API_HTTP_STATUSES - 1] = {200, 201, 204, 400, 401, 403, 404,
							  405, 409, 413, 429, 500, 503, 304};

unsigned api_http_status_of(unsigned i)
{
	return i < ARRAY_SIZE(statuses) ? statuses[i] : 0;
}

static const char *const ep_names[API_HTTP_EP_COUNT] = {
	"root", "health", "random", "selftest", "keys_create", "keys_list", "key_get",
	"key_material", "key_activate", "key_revoke", "key_rekey", "key_delete", "key_lease", "key_holders", "holder_keys", "events",
	"metrics", "other",
};

const char *api_http_endpoint_name(unsigned ep)
{
	return ep < API_HTTP_EP_COUNT ? ep_names[ep] : "other";
}

void http_count(struct http_ctx *c, unsigned endpoint, unsigned status)
{
	unsigned col = API_HTTP_STATUSES - 1;
	for (unsigned i = 0; i < ARRAY_SIZE(statuses); i++)
		if (statuses[i] == status)
			col = i;
	if (endpoint >= API_HTTP_EP_COUNT)
		endpoint = API_HTTP_EP_OTHER;
	atomic_fetch_add(&c->requests[endpoint][col], 1);
}

/* ---- replies ---------------------------------------------------------------------- */

bool http_route_waits(const struct http_request *rq)
{
	/* the key routes (the store: a commit's fsync; key pairs: seconds of
	 * RSA generation) and the self-tests */
	return strncmp(rq->uri, "/v1/keys", 8) == 0 || strncmp(rq->uri, "/v1/holders", 11) == 0 ||
	       strncmp(rq->uri, "/v1/events", 10) == 0 ||
	       strncmp(rq->uri, "/v1/selftest", 12) == 0;
}

void http_reply_free(struct http_reply *r)
{
	if (r->secret)
		secmem_free(r->body, r->secret_cap);
	else
		free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

/* reply_json takes |j| (a reference) as the body. */
static void reply_json(struct http_reply *out, unsigned status, json_t *j)
{
	out->status = status;
	out->content_type = "application/json";
	free(out->body);
	out->body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (out->body == NULL) {
		/* no memory for the JSON: a fixed answer */
		out->status = 500;
		out->body = strdup("{\"error\":\"internal\",\"message\":\"out of memory\"}");
	}
	out->body_len = out->body != NULL ? strlen(out->body) : 0;
}

static void fail(struct http_reply *out, unsigned status, const char *code, const char *fmt, ...)
	PRINTF_LIKE(4, 5);
static void fail(struct http_reply *out, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	reply_json(out, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
}

/* fail_err answers an operation-layer error |r| on |what| */
static void fail_err(struct http_reply *out, err_t r, const char *what, const char *why)
{
	const char *detail = why != NULL && why[0] != '\0' ? why : err_str(r);
	switch (r) {
	case ERR_STORE_NOT_FOUND:
		fail(out, 404, "not_found", "no key %s", what);
		return;
	case ERR_STORE_DESTROYED:
		fail(out, 409, "destroyed", "key %s is destroyed: it has no key material", what);
		return;
	case ERR_STORE_STATE:
	case ERR_STORE_ACTIVE:
		fail(out, 409, "wrong_state", "key %s: %s", what, detail);
		return;
	case ERR_STORE_NAME_TAKEN:
		fail(out, 409, "name_taken", "the tenant has a key with that name already");
		return;
	case ERR_STORE_FOREIGN:
		fail(out, 403, "forbidden", "a tenant sees only what its own certificates hold; an administrator sees every "
					    "tenant's");
		return;
	case ERR_STORE_PROTECTED:
		fail(out, 403, "protected", "key %s is Sensitive or not Extractable: %s", what, detail);
		return;
	case ERR_KEY_USAGE:
		fail(out, 409, "key_usage", "%s", detail);
		return;
	case ERR_UNSUPPORTED:
	case ERR_INVALID_ARG:
	case ERR_USAGE:
	case ERR_PARSE:
	case ERR_KEY_FORMAT:
		fail(out, 400, "bad_request", "%s", detail);
		return;
	case ERR_TOO_LARGE:
		fail(out, 413, "too_large", "%s", detail);
		return;
	case ERR_STORE_FULL:
		/* RFC 4918 §11.5: nothing a retry in a second changes; the
		 * operator must free space */
		fail(out, 507, "store_full", "%s", err_str(r));
		return;
	case ERR_STORE_SEAL:
		fail(out, 500, "store_seal", "the object's sealed key material does not open (tampered, or another KEK): "
			  "run fount store verify");
		return;
	case ERR_STORE_BUSY:
	case ERR_STORE_IO:
	case ERR_STORE_COMMIT_UNKNOWN:
	case ERR_STORE_UNAVAILABLE:
		out->retry_after = 1;
		fail(out, 503, "store_unavailable", "the key store cannot take the change now: %s", err_str(r));
		return;
	default:
		break;
	}
	enum err_category cat = err_category(r);
	if (cat == ERRCAT_SELFTEST || cat == ERRCAT_ENTROPY || cat == ERRCAT_CRYPTO) {
		fail(out, 503, "not_operational", "the module cannot serve this now: %s", err_str(r));
		return;
	}
	fail(out, 500, "internal", "%s", err_str(r));
}

/* ---- the request-target ----------------------------------------------------------- */

/* unescape percent-decodes |in| (|n| bytes; '+' is a space when |plus|)
 * into |out| (|cap| bytes with the NUL). NUL and control bytes are refused. */
static err_t unescape(const char *in, size_t n, bool plus, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];
		if (c == '%') {
			if (i + 2 >= n)
				return ERR_PARSE;
			int a = hex_digit((unsigned char)in[i + 1]), b = hex_digit((unsigned char)in[i + 2]);
			if (a < 0 || b < 0)
				return ERR_PARSE;
			c = a * 16 + b;
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (c < 0x20 || c == 0x7F)
			return ERR_PARSE;
		if (k + 1 >= cap)
			return ERR_TOO_LARGE;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return ERR_OK;
}

err_t http_split_uri(const char *uri, char *path, size_t path_cap, const char **query)
{
	*query = "";
	ENSURE(uri != NULL && path_cap > 0, ERR_PARSE);
	path[0] = '\0';
	size_t n = strnlen(uri, HTTP_URI_MAX + 1);
	ENSURE(n <= HTTP_URI_MAX, ERR_TOO_LARGE);
	/* absolute-form (RFC 9112 §3.2.2): the path after the authority */
	if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
		const char *p = strchr(uri + 7 + (uri[4] == 's' || uri[4] == 'S'), '/');
		ENSURE(p != NULL, ERR_PARSE);
		uri = p;
		n = strlen(uri);
	}
	ENSURE(uri[0] == '/', ERR_PARSE);
	size_t plen = strcspn(uri, "?#");
	GUARD(unescape(uri, plen, false, path, path_cap));
	if (uri[plen] == '?') {
		*query = uri + plen + 1;
		/* a fragment is never sent (RFC 9110 §4.2.5); one sent is ignored */
	}
	return ERR_OK;
}

err_t http_query_parse(const char *query, struct http_query *q, char *why, size_t why_len)
{
	memset(q, 0, sizeof *q);
	const char *p = query;
	size_t qlen = strcspn(query, "#");
	const char *end = query + qlen;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp != NULL ? amp : end;
		if (stop == p) { /* "a=1&&b=2", a trailing '&' */
			p = stop + 1;
			continue;
		}
		if (q->n == HTTP_QUERY_MAX_PARAMS) {
			snprintf(why, why_len, "more than %d query parameters", HTTP_QUERY_MAX_PARAMS);
			return ERR_TOO_LARGE;
		}
		struct http_param *prm = &q->p[q->n];
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		const char *nend = eq != NULL ? eq : stop;
		err_t r = unescape(p, (size_t)(nend - p), true, prm->name, sizeof prm->name);
		if (r != ERR_OK || prm->name[0] == '\0' || strspn(prm->name, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
								 strlen(prm->name)) {
			snprintf(why, why_len, "a query parameter name is 1 to %zu characters of a-z, 0-9 and '_'",
				 sizeof prm->name - 1);
			return ERR_PARSE;
		}
		r = eq != NULL ? unescape(eq + 1, (size_t)(stop - eq - 1), true, prm->value, sizeof prm->value) : ERR_OK;
		if (r != ERR_OK) {
			snprintf(why, why_len, "query parameter %s: %s", prm->name,
				 r == ERR_TOO_LARGE ? "value too long" : "bad %-escape or control character");
			return r;
		}
		for (size_t i = 0; i < q->n; i++)
			if (strcmp(q->p[i].name, prm->name) == 0) {
				snprintf(why, why_len, "query parameter %s given twice", prm->name);
				return ERR_PARSE;
			}
		q->n++;
		p = stop + (amp != NULL);
	}
	return ERR_OK;
}

const char *http_query_get(const struct http_query *q, const char *name)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->p[i].name, name) == 0)
			return q->p[i].value;
	return NULL;
}

bool http_query_only(const struct http_query *q, const char *const *allowed, char *why, size_t why_len)
{
	for (size_t i = 0; i < q->n; i++) {
		bool ok = false;
		for (size_t k = 0; allowed != NULL && allowed[k] != NULL && !ok; k++)
			ok = strcmp(allowed[k], q->p[i].name) == 0;
		if (!ok) {
			snprintf(why, why_len, "unknown query parameter %s", q->p[i].name);
			return false;
		}
	}
	return true;
}

err_t http_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	size_t n = strlen(s);
	ENSURE(n > 0 && n <= 19 && strspn(s, "0123456789") == n, ERR_PARSE);
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	ENSURE(v >= lo && v <= hi, ERR_INVALID_ARG);
	*out = v;
	return ERR_OK;
}

/* ---- states, types, usage ----------------------------------------------------------- */

static const char *const state_names[] = {NULL, "pre-active", "active", "deactivated",
					  "compromised", "destroyed", "destroyed-compromised"};

const char *http_state_name(uint32_t state)
{
	return state > 0 && state < ARRAY_SIZE(state_names) ? state_names[state] : "unknown";
}

uint32_t http_state_parse(const char *s)
{
	for (uint32_t i = 1; i < ARRAY_SIZE(state_names); i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return 0;
}

static const char *type_name(uint32_t t)
{
	switch (t) {
	case STORE_OBJ_CERTIFICATE: return "certificate";
	case STORE_OBJ_SYMMETRIC_KEY: return "symmetric_key";
	case STORE_OBJ_PUBLIC_KEY: return "public_key";
	case STORE_OBJ_PRIVATE_KEY: return "private_key";
	case STORE_OBJ_SECRET_DATA: return "secret_data";
	case STORE_OBJ_OPAQUE: return "opaque";
	default: return "other";
	}
}

static const char *alg_name(uint32_t a)
{
	switch (a) {
	case 0: return NULL;
	case STORE_ALG_AES: return "AES";
	case STORE_ALG_3DES: return "3DES";
	case STORE_ALG_RSA: return "RSA";
	case STORE_ALG_EC: return "EC";
	case STORE_ALG_ECDSA: return "ECDSA";
	case STORE_ALG_ECDH: return "ECDH";
	case STORE_ALG_HMAC_SHA256: return "HMAC-SHA256";
	case STORE_ALG_HMAC_SHA384: return "HMAC-SHA384";
	case STORE_ALG_HMAC_SHA512: return "HMAC-SHA512";
	default: return "other";
	}
}

static const char *format_name(uint32_t f)
{
	switch (f) {
	case STORE_FMT_RAW: return "raw";
	case STORE_FMT_OPAQUE: return "opaque";
	case STORE_FMT_PKCS1: return "pkcs1";
	case STORE_FMT_PKCS8: return "pkcs8";
	case STORE_FMT_X509: return "x509";
	case STORE_FMT_EC_PRIVATE_KEY: return "ec_private_key";
	default: return "other";
	}
}

/* KMIP 1.4 §9.1.3.3.1 Cryptographic Usage Mask */
static const struct {
	const char *name;
	uint32_t bit;
} usages[] = {
	{"sign", 0x1}, {"verify", 0x2}, {"encrypt", 0x4}, {"decrypt", 0x8}, {"wrap", 0x10},
	{"unwrap", 0x20}, {"export", 0x40}, {"mac_generate", 0x80}, {"mac_verify", 0x100},
	{"derive", 0x200}, {"key_agreement", 0x800},
};
#define USAGE_PRIVATE (0x1u | 0x8u | 0x20u | 0x40u | 0x200u | 0x800u) /* what a private key does */
#define USAGE_PUBLIC (0x2u | 0x4u | 0x10u | 0x40u | 0x800u)          /* and a public key */

static json_t *usage_json(uint32_t mask)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(usages); i++)
		if (mask & usages[i].bit)
			json_array_append_new(a, json_string(usages[i].name));
	return a;
}

/* the KMIP algorithm and length of a symmetric type fount makes */
static void sym_alg(const struct keygen_type *t, uint32_t *alg, uint32_t *len)
{
	*len = t->bits;
	if (strncmp(t->name, "aes-", 4) == 0)
		*alg = STORE_ALG_AES;
	else if (strcmp(t->name, "hmac-sha256") == 0)
		*alg = STORE_ALG_HMAC_SHA256;
	else if (strcmp(t->name, "hmac-sha384") == 0)
		*alg = STORE_ALG_HMAC_SHA384;
	else if (strcmp(t->name, "hmac-sha512") == 0)
		*alg = STORE_ALG_HMAC_SHA512;
	else
		*alg = 0;
}

/* the key types POST /v1/keys makes: the ones KMIP Create and Create Key
 * Pair make (api/ops.c) */
static const char *const http_types[] = {"aes-128", "aes-192", "aes-256", "hmac-sha256", "hmac-sha384",
					 "hmac-sha512", "rsa-2048", "rsa-3072", "rsa-4096", "ec-p256",
					 "ec-p384", "ec-p521"};

/* ---- JSON bodies ------------------------------------------------------------------- */

static err_t load_object(const uint8_t *body, size_t len, bool empty_ok, json_t **out, char *why, size_t why_len)
{
	*out = NULL;
	if (len == 0 && empty_ok)
		return ERR_OK;
	if (len > HTTP_BODY_MAX) {
		snprintf(why, why_len, "the body is larger than %u bytes", HTTP_BODY_MAX);
		return ERR_TOO_LARGE;
	}
	json_error_t e;
	json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL) {
		snprintf(why, why_len, "the body is not JSON: %s (line %d, column %d)", e.text, e.line, e.column);
		return ERR_PARSE;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(why, why_len, "the body must be a JSON object");
		return ERR_PARSE;
	}
	*out = j;
	return ERR_OK;
}

/* only_keys: |j| has no member outside |allowed| */
static bool only_keys(json_t *j, const char *const *allowed, char *why, size_t why_len)
{
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(allowed[i], k) == 0;
		if (!ok) {
			snprintf(why, why_len, "unknown member \"%.64s\"", k);
			return false;
		}
	}
	return true;
}

/* get_bool reads an optional boolean member */
static bool get_bool(json_t *j, const char *key, bool dflt, bool *out, char *why, size_t why_len)
{
	json_t *v = json_object_get(j, key);
	*out = dflt;
	if (v == NULL)
		return true;
	if (!json_is_boolean(v)) {
		snprintf(why, why_len, "\"%s\" must be true or false", key);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

err_t http_parse_create(const uint8_t *body, size_t len, struct http_create *out, char *why, size_t why_len)
{
	memset(out, 0, sizeof *out);
	json_t *j = NULL;
	GUARD(load_object(body, len, false, &j, why, why_len));
	static const char *const allowed[] = {"type", "name", "usage", "activate", "sensitive", "extractable", NULL};
	err_t r = ERR_PARSE;
	if (!only_keys(j, allowed, why, why_len))
		goto out;
	json_t *t = json_object_get(j, "type");
	if (!json_is_string(t)) {
		snprintf(why, why_len, "\"type\" is required: aes-128|192|256, hmac-sha256|384|512, rsa-2048|3072|4096 or "
			 "ec-p256|384|521");
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(http_types) && out->type == NULL; i++)
		if (strcmp(json_string_value(t), http_types[i]) == 0)
			out->type = keygen_type_find(http_types[i]);
	if (out->type == NULL) {
		snprintf(why, why_len, "\"type\" %.40s is not one fount makes: aes-128|192|256, hmac-sha256|384|512, "
			 "rsa-2048|3072|4096 or ec-p256|384|521", json_string_value(t));
		goto out;
	}
	json_t *n = json_object_get(j, "name");
	if (n != NULL) {
		size_t nl = json_is_string(n) ? json_string_length(n) : 0;
		const char *s = json_is_string(n) ? json_string_value(n) : NULL;
		bool ok = s != NULL && nl > 0 && nl <= HTTP_NAME_MAX && strlen(s) == nl;
		for (size_t i = 0; ok && i < nl; i++)
			ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7F;
		if (!ok) {
			snprintf(why, why_len, "\"name\" must be a string of 1 to %d bytes without control characters",
				 HTTP_NAME_MAX);
			goto out;
		}
		memcpy(out->name, s, nl + 1);
	}
	json_t *u = json_object_get(j, "usage");
	if (u != NULL) {
		if (!json_is_array(u) || json_array_size(u) == 0 || json_array_size(u) > ARRAY_SIZE(usages)) {
			snprintf(why, why_len, "\"usage\" must be a list of 1 to %zu of: sign, verify, encrypt, decrypt, "
				 "wrap, unwrap, export, mac_generate, mac_verify, derive, key_agreement", ARRAY_SIZE(usages));
			goto out;
		}
		size_t i;
		json_t *e;
		json_array_foreach(u, i, e) {
			uint32_t bit = 0;
			for (size_t k = 0; json_is_string(e) && k < ARRAY_SIZE(usages) && bit == 0; k++)
				if (strcmp(json_string_value(e), usages[k].name) == 0)
					bit = usages[k].bit;
			if (bit == 0) {
				snprintf(why, why_len, "\"usage\" entry %zu is not one of sign, verify, encrypt, decrypt, "
					 "wrap, unwrap, export, mac_generate, mac_verify, derive, key_agreement", i);
				goto out;
			}
			out->usage |= bit;
		}
	}
	bool extractable = true;
	if (!get_bool(j, "activate", false, &out->activate, why, why_len) ||
	    !get_bool(j, "sensitive", false, &out->sensitive, why, why_len) ||
	    !get_bool(j, "extractable", true, &extractable, why, why_len))
		goto out;
	out->not_extractable = !extractable;
	r = ERR_OK;
out:
	json_decref(j);
	if (r != ERR_OK)
		out->type = NULL;
	return r;
}

static const char *const reasons[] = {NULL, "unspecified", "key_compromise", "ca_compromise",
				      "affiliation_changed", "superseded", "cessation_of_operation",
				      "privilege_withdrawn"};

err_t http_parse_revoke(const uint8_t *body, size_t len, struct http_revoke *out, char *why, size_t why_len)
{
	memset(out, 0, sizeof *out);
	out->reason = STORE_REVOKE_UNSPECIFIED;
	json_t *j = NULL;
	GUARD(load_object(body, len, true, &j, why, why_len));
	if (j == NULL)
		return ERR_OK;
	static const char *const allowed[] = {"reason", "occurred", NULL};
	err_t r = ERR_PARSE;
	if (!only_keys(j, allowed, why, why_len))
		goto out;
	json_t *rs = json_object_get(j, "reason");
	if (rs != NULL) {
		out->reason = 0;
		for (uint32_t i = 1; json_is_string(rs) && i < ARRAY_SIZE(reasons); i++)
			if (strcmp(json_string_value(rs), reasons[i]) == 0)
				out->reason = i;
		if (out->reason == 0) {
			snprintf(why, why_len, "\"reason\" is one of unspecified, key_compromise, ca_compromise, "
				 "affiliation_changed, superseded, cessation_of_operation, privilege_withdrawn");
			goto out;
		}
	}
	json_t *oc = json_object_get(j, "occurred");
	if (oc != NULL) {
		if (!json_is_integer(oc) || json_integer_value(oc) <= 0 || json_integer_value(oc) > 253402300799) {
			snprintf(why, why_len, "\"occurred\" is a time in seconds since 1970 (1 to 253402300799)");
			goto out;
		}
		out->occurred = json_integer_value(oc);
	}
	r = ERR_OK;
out:
	json_decref(j);
	return r;
}

err_t http_parse_rekey(const uint8_t *body, size_t len, struct http_rekey *out, char *why, size_t why_len)
{
	memset(out, 0, sizeof *out);
	json_t *j = NULL;
	GUARD(load_object(body, len, true, &j, why, why_len));
	if (j == NULL)
		return ERR_OK;
	static const char *const allowed[] = {"offset", NULL};
	err_t r = ERR_PARSE;
	if (!only_keys(j, allowed, why, why_len))
		goto out;
	json_t *o = json_object_get(j, "offset");
	if (o != NULL) {
		/* KMIP 1.4 §4.4: an Interval, seconds (32 bits) */
		if (!json_is_integer(o) || json_integer_value(o) < 0 || json_integer_value(o) > 4294967295LL) {
			snprintf(why, why_len, "\"offset\" is seconds from 0 to 4294967295");
			goto out;
		}
		out->has_offset = true;
		out->offset = json_integer_value(o);
	}
	r = ERR_OK;
out:
	json_decref(j);
	return r;
}

/* ---- /v1/random bodies ---------------------------------------------------------------- */

uint64_t http_random_len(uint64_t n, enum http_format f)
{
	switch (f) {
	case HTTP_FMT_HEX: return 2 * n;
	case HTTP_FMT_BASE64: return (n + 2) / 3 * 4;
	case HTTP_FMT_RAW:
	default: return n;
	}
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* b64_encode writes base64 of |in| (RFC 4648 §4, padded) to |out|; the
 * two may overlap as http_random_fill lays them out (|in| at or after
 * |out| + len/3) */
static size_t b64_encode(char *out, const uint8_t *in, size_t len)
{
	size_t k = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[k++] = b64[v >> 18];
		out[k++] = b64[(v >> 12) & 63];
		out[k++] = b64[(v >> 6) & 63];
		out[k++] = b64[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		out[k++] = b64[v >> 18];
		out[k++] = b64[(v >> 12) & 63];
		out[k++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		out[k++] = '=';
	}
	return k;
}

err_t http_random_fill(enum http_format f, uint8_t *buf, size_t max, uint64_t *left, size_t *written)
{
	*written = 0;
	ENSURE(max >= 4, ERR_INVALID_ARG);
	size_t n = max;
	if (f == HTTP_FMT_HEX)
		n = max / 2;
	else if (f == HTTP_FMT_BASE64)
		n = max / 4 * 3;
	if (n > HTTP_RANDOM_CHUNK)
		n = HTTP_RANDOM_CHUNK - (f == HTTP_FMT_BASE64 ? HTTP_RANDOM_CHUNK % 3 : 0);
	if (n >= *left)
		n = (size_t)*left;
	else if (f == HTTP_FMT_BASE64)
		n -= n % 3; /* only the last part may need padding */
	if (n == 0)
		return ERR_OK;
	switch (f) {
	case HTTP_FMT_RAW:
		GUARD(drbg_generate(buf, n));
		*written = n;
		break;
	case HTTP_FMT_HEX: {
		/* the bytes in the upper half, encoded forward: byte i is read
		 * before output i*2 and i*2+1 (both <= n+i) are written */
		uint8_t *raw = buf + n;
		GUARD(drbg_generate(raw, n));
		static const char hx[] = "0123456789abcdef";
		for (size_t i = 0; i < n; i++) {
			uint8_t v = raw[i];
			buf[2 * i] = (uint8_t)hx[v >> 4];
			buf[2 * i + 1] = (uint8_t)hx[v & 15];
		}
		*written = 2 * n;
		break;
	}
	case HTTP_FMT_BASE64: {
		/* the bytes at the end of |buf|: group k (3 bytes) is read
		 * before output 4k..4k+3 is written, which stays below the next
		 * group since max - n >= max / 4 >= n / 3 */
		uint8_t *raw = buf + (max - n);
		GUARD(drbg_generate(raw, n));
		*written = b64_encode((char *)buf, raw, n);
		break;
	}
	default:
		return ERR_INVALID_ARG;
	}
	*left -= n;
	return ERR_OK;
}

/* ---- who is asking ---------------------------------------------------------------- */

/* identify fills |who| from the client certificate or the bearer token;
 * *have says whether there is anyone. False (|out| answered) for a bad
 * token or one that names another tenant than the certificate. */
static bool identify(struct http_ctx *c, const struct http_request *rq, struct kmip_peer *who, bool *have,
		     struct http_reply *out)
{
	memset(who, 0, sizeof *who);
	*have = false;
	if (rq->authorization != NULL) {
		const char *a = rq->authorization;
		if (strncasecmp(a, "Bearer ", 7) != 0) {
			out->www_authenticate = true;
			fail(out, 401, "unauthorized", "Authorization must be \"Bearer TOKEN\" (a token from 'fount token add')");
			return false;
		}
		a += 7;
		while (*a == ' ')
			a++;
		size_t len = strcspn(a, " \t");
		struct kmip_peer tp;
		err_t r = http_tokens_check(c->tokens, a, len, &tp);
		if (r != ERR_OK) {
			out->www_authenticate = true;
			fail(out, 401, "unauthorized", r == ERR_UNSUPPORTED ? "this server takes no bearer tokens ([http] tokens is empty)"
									 : "the bearer token is not valid");
			return false;
		}
		if (rq->cert != NULL && strcmp(rq->cert->tenant, tp.tenant) != 0) {
			fail(out, 403, "forbidden", "the bearer token and the client certificate name different tenants");
			return false;
		}
		*who = rq->cert != NULL ? *rq->cert : tp;
		who->admin = who->admin || tp.admin;
		*have = true;
		return true;
	}
	if (rq->cert != NULL) {
		*who = *rq->cert;
		*have = true;
	}
	return true;
}

static bool operational(const struct http_ctx *c)
{
	return c->hooks != NULL && c->hooks->operational != NULL && c->hooks->operational();
}

/* ---- the routes ---------------------------------------------------------------------- */

struct route_ctx {
	struct http_ctx *c;
	const struct http_request *rq;
	struct http_query q;
	struct kmip_peer who;
	bool have;
	char id[STORE_ID_MAX + 1]; /* the {id} of /v1/keys/{id}... */
	char tenant[STORE_TENANT_MAX + 1]; /* the {tenant} of /v1/holders/{tenant}/keys */
};

/* GET /: the status page (api/status_page.html), which reads /v1/health
 * and /metrics */
static void on_root(struct route_ctx *x, struct http_reply *out)
{
	(void)x;
	out->status = 200;
	out->content_type = "text/html; charset=utf-8";
	out->body = malloc(api_status_page_len);
	out->body_len = out->body != NULL ? api_status_page_len : 0;
	if (out->body == NULL)
		out->status = 500;
	else
		memcpy(out->body, api_status_page, api_status_page_len);
}

/* GET /metrics: Prometheus text (api/metrics.c), the exposition format's
 * own content type */
static void on_metrics(struct route_ctx *x, struct http_reply *out)
{
	const struct api_http_hooks *h = x->c->hooks;
	struct strbuf t = {0};
	if (metrics_render(&t, h != NULL && h->state_name != NULL ? h->state_name() : "UNKNOWN") != ERR_OK) {
		strbuf_free(&t);
		fail(out, 500, "internal", "the metrics could not be rendered");
		return;
	}
	out->status = 200;
	out->content_type = "text/plain; version=0.0.4; charset=utf-8";
	out->body = t.buf; /* handed over: http_reply_free frees it */
	out->body_len = t.len;
}

/* the last self-test run, for /v1/health and the status page */
static json_t *last_selftest_json(const struct api_http_hooks *h)
{
	if (h == NULL || h->last_selftest == NULL)
		return json_null();
	struct api_selftest_row rows[64];
	err_t verdict = ERR_OK;
	int64_t at = 0;
	size_t n = h->last_selftest(rows, ARRAY_SIZE(rows), &verdict, &at);
	if (n == 0)
		return json_null();
	json_t *tests = json_array();
	for (size_t i = 0; i < n && i < ARRAY_SIZE(rows); i++)
		json_array_append_new(tests, json_pack("{s:s,s:s,s:f}", "name", rows[i].name != NULL ? rows[i].name : "?",
							"result", rows[i].skipped ? "skipped" : rows[i].r == ERR_OK ? "pass" : "FAIL",
							"ms", (double)rows[i].ns / 1e6));
	return json_pack("{s:b,s:I,s:o}", "passed", verdict == ERR_OK, "at", (json_int_t)at, "tests", tests);
}

static void on_health(struct route_ctx *x, struct http_reply *out)
{
	const struct api_http_hooks *h = x->c->hooks;
	const char *state = h != NULL && h->state_name != NULL ? h->state_name() : "UNKNOWN";
	const char *cause = h != NULL && h->error_cause != NULL ? h->error_cause() : NULL;
	bool ok = operational(x->c);
	struct drbg_stats ds;
	drbg_stats(&ds);
	json_t *srcs = json_array();
	struct entropy_status es[ENTROPY_MAX_SOURCES];
	size_t n = entropy_status(es, ARRAY_SIZE(es));
	for (size_t i = 0; i < n && i < ARRAY_SIZE(es); i++) {
		const struct entropy_status *s = &es[i];
		bool permanent = s->last_error == ERR_HEALTH_RCT_PERMANENT || s->last_error == ERR_HEALTH_APT_PERMANENT ||
				 (s->credited && !s->enabled);
		json_t *o = json_pack("{s:s,s:b,s:b,s:i,s:f,s:I,s:I,s:I,s:I,s:b,s:I}", "name", s->name, "credited",
				      s->credited, "enabled", s->enabled, "bits", (int)s->bits, "h", s->h,
				      "samples_tested", (json_int_t)s->samples_tested, "rct_failures",
				      (json_int_t)s->rct_failures, "apt_failures", (json_int_t)s->apt_failures,
				      "intermittent_failures", (json_int_t)(s->rct_failures + s->apt_failures),
				      "permanent_failure", permanent, "bytes_delivered", (json_int_t)s->bytes_delivered);
		if (o == NULL)
			continue;
		if (s->credited)
			json_object_set_new(o, "cutoffs",
					    json_pack("{s:i,s:i,s:i,s:i,s:i}", "rct_intermittent",
						      (int)s->cutoffs.rct_intermittent, "rct_permanent",
						      (int)s->cutoffs.rct_permanent, "apt_window", (int)s->cutoffs.apt_window,
						      "apt_intermittent", (int)s->cutoffs.apt_intermittent, "apt_permanent",
						      (int)s->cutoffs.apt_permanent));
		json_object_set_new(o, "last_error", s->last_error != ERR_OK ? json_string(err_str(s->last_error)) : json_null());
		json_array_append_new(srcs, o);
	}
	json_t *j = json_pack("{s:s,s:s,s:b,s:s,s:o,s:{s:I,s:I,s:I,s:I}}", "state", state, "version", FOUNT_VERSION,
			      "fips_mode", keygen_fips_mode(), "provider", keygen_provider_name(), "sources", srcs,
			      "drbg", "primary_reseeds", (json_int_t)ds.primary_reseeds, "worker_reseeds",
			      (json_int_t)ds.worker_reseeds, "workers", (json_int_t)ds.workers, "fork_events",
			      (json_int_t)ds.fork_events);
	/* the key store: a node whose database does not answer cannot create
	 * or read a key, so it is unhealthy for a load balancer (503) while
	 * its state stays what the self-tests made it. Not where the database
	 * is: anyone who reaches the listener may ask (fount status says). */
	struct store *st = ops_store();
	err_t sr = ops_store_ping();
	if (j != NULL && st != NULL) {
		json_object_set_new(j, "store",
				    json_pack("{s:s,s:b,s:b,s:o}", "backend", store_backend_name(st), "reachable",
					      sr == ERR_OK || sr == ERR_STORE_FULL, "writable", sr == ERR_OK, "error",
					      sr != ERR_OK ? json_string(err_str(sr)) : json_null()));
	}
	if (j != NULL) {
		json_object_set_new(j, "error_cause", cause != NULL ? json_string(cause) : json_null());
		json_object_set_new(j, "selftests", last_selftest_json(h));
	}
	/* a full disk still serves every key it has: not a reason to send
	 * clients elsewhere, only new keys are refused */
	if (ok && sr != ERR_OK && sr != ERR_STORE_FULL) {
		ok = false;
		out->retry_after = 1;
	}
	reply_json(out, ok ? 200 : 503, j);
}

static void on_random(struct route_ctx *x, struct http_reply *out)
{
	const char *bs = http_query_get(&x->q, "bytes"), *fs = http_query_get(&x->q, "format");
	uint64_t n = 32;
	if (bs != NULL && http_parse_u64(bs, 1, x->c->random_max, &n) != ERR_OK) {
		fail(out, 400, "bad_query", "bytes must be a number from 1 to %zu ([http] random_max)", x->c->random_max);
		return;
	}
	enum http_format f = HTTP_FMT_RAW;
	if (fs == NULL || strcmp(fs, "raw") == 0)
		f = HTTP_FMT_RAW;
	else if (strcmp(fs, "hex") == 0)
		f = HTTP_FMT_HEX;
	else if (strcmp(fs, "base64") == 0)
		f = HTTP_FMT_BASE64;
	else {
		fail(out, 400, "bad_query", "format must be raw, hex or base64");
		return;
	}
	if (!operational(x->c)) {
		fail(out, 503, "not_operational", "the module is not OPERATIONAL: no random bytes leave it");
		return;
	}
	char key[sizeof x->who.tenant + 72];
	if (x->have)
		snprintf(key, sizeof key, "tenant:%s", x->who.tenant);
	else
		snprintf(key, sizeof key, "anon:%.64s", x->rq->addr != NULL ? x->rq->addr : "?");
	unsigned wait = 0;
	if (!http_rate_take(x->c->rate, key, n, now_ns(), &wait)) {
		out->retry_after = wait;
		fail(out, 429, "rate_limited", "over [http] rate_bytes for %s: retry in %u s",
		     x->have ? x->who.tenant : "this address", wait);
		return;
	}
	out->status = 200;
	out->content_type = f == HTTP_FMT_RAW ? "application/octet-stream" : "text/plain; charset=us-ascii";
	out->stream_random = true;
	out->random_n = n;
	out->random_format = f;
}

static void on_selftest(struct route_ctx *x, struct http_reply *out)
{
	if (!x->who.admin) {
		fail(out, 403, "forbidden", "POST /v1/selftest is for admins ([kmip] admins, or a token made with --admin)");
		return;
	}
	const struct api_http_hooks *h = x->c->hooks;
	if (h == NULL || h->selftest == NULL) {
		fail(out, 503, "not_operational", "this server cannot run the self-tests");
		return;
	}
	struct api_selftest_row *rows = calloc(128, sizeof *rows);
	if (rows == NULL) {
		fail(out, 500, "internal", "out of memory");
		return;
	}
	size_t n = 0;
	err_t r = h->selftest(rows, 128, &n);
	json_t *tests = json_array();
	for (size_t i = 0; i < n && i < 128; i++)
		json_array_append_new(tests, json_pack("{s:s,s:s,s:I,s:s}", "name", rows[i].name != NULL ? rows[i].name : "?",
						       "result", rows[i].skipped ? "skipped" : rows[i].r == ERR_OK ? "pass" : "fail",
						       "ns", (json_int_t)rows[i].ns, "detail",
						       rows[i].r != ERR_OK && rows[i].detail[0] == '\0' ? err_str(rows[i].r)
													: rows[i].detail));
	free(rows);
	const char *state = h->state_name != NULL ? h->state_name() : "UNKNOWN";
	reply_json(out, r == ERR_OK ? 200 : 503,
		   json_pack("{s:b,s:s,s:o,s:s*}", "passed", r == ERR_OK, "state", state, "tests", tests, "error",
			     r == ERR_OK ? NULL : err_str(r)));
}

/* key_json describes |o| (no key material) */
static json_t *key_json(const struct store_object *o)
{
	char name[256];
	ops_name_of(o, name, sizeof name);
	json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:o}", "id", o->id, "object_type", type_name(o->type), "state",
			      http_state_name(o->state), "name", name[0] != '\0' ? json_string(name) : json_null(),
			      "algorithm", alg_name(o->alg) != NULL ? json_string(alg_name(o->alg)) : json_null());
	if (j == NULL)
		return NULL;
	if (o->length != 0)
		json_object_set_new(j, "length", json_integer(o->length));
	return j;
}

static void date(json_t *j, const char *k, int64_t v)
{
	json_object_set_new(j, k, v != 0 ? json_integer(v) : json_null());
}

static json_t *key_full_json(const struct store_object *o)
{
	json_t *j = key_json(o);
	if (j == NULL)
		return NULL;
	json_object_set_new(j, "usage", usage_json(o->usage_mask));
	json_object_set_new(j, "sensitive", json_boolean(o->protection & STORE_P_SENSITIVE));
	json_object_set_new(j, "extractable", json_boolean(o->protection & STORE_P_EXTRACTABLE));
	if (o->key_format != 0)
		json_object_set_new(j, "format", json_string(format_name(o->key_format)));
	date(j, "initial_date", o->initial_date);
	date(j, "activation_date", o->activation_date);
	date(j, "deactivation_date", o->deactivation_date);
	date(j, "destroy_date", o->destroy_date);
	date(j, "compromise_date", o->compromise_date);
	if (o->revocation_reason > 0 && o->revocation_reason < ARRAY_SIZE(reasons))
		json_object_set_new(j, "revocation_reason", json_string(reasons[o->revocation_reason]));
	if (o->has_digest) {
		char hex[2 * STORE_DIGEST_LEN + 1];
		hex_encode(hex, o->digest, STORE_DIGEST_LEN);
		json_object_set_new(j, "digest_sha256", json_string(hex));
	}
	static const struct {
		const char *k;
		uint32_t type;
	} links[] = {{"public_key", KMIP_LINK_TYPE_PUBLIC_KEY_LINK},
		     {"private_key", KMIP_LINK_TYPE_PRIVATE_KEY_LINK},
		     {"replaced_by", KMIP_LINK_TYPE_REPLACEMENT_OBJECT_LINK},
		     {"replaces", KMIP_LINK_TYPE_REPLACED_OBJECT_LINK}};
	json_t *lj = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		char id[STORE_ID_MAX + 1];
		if (ops_link_target(o, links[i].type, id))
			json_object_set_new(lj, links[i].k, json_string(id));
	}
	json_object_set_new(j, "links", lj);
	return j;
}

/* public_pem gives the public key |id| as PEM SubjectPublicKeyInfo */
static json_t *public_pem(const struct kmip_peer *p, const char *id)
{
	struct store_object o;
	if (ops_get_row(p, id, &o) != ERR_OK)
		return json_null();
	uint32_t fmt = o.key_format;
	store_object_free(&o);
	uint8_t *m = NULL, *der = NULL;
	size_t m_len = 0, der_len = 0;
	json_t *res = json_null();
	if (ops_get_material(p, id, "http public key", &m, &m_len) != ERR_OK || m == NULL)
		return res;
	if (ops_convert(STORE_OBJ_PUBLIC_KEY, fmt, m, m_len, STORE_FMT_X509, &der, &der_len) == ERR_OK) {
		size_t b64_len = (der_len + 2) / 3 * 4;
		size_t cap = b64_len + b64_len / 64 + 80;
		char *pem = malloc(cap), *enc = malloc(b64_len + 1);
		if (pem != NULL && enc != NULL) {
			size_t k = (size_t)snprintf(pem, cap, "-----BEGIN PUBLIC KEY-----\n");
			size_t e = b64_encode(enc, der, der_len);
			for (size_t i = 0; i < e; i += 64) {
				size_t l = e - i < 64 ? e - i : 64;
				memcpy(pem + k, enc + i, l);
				k += l;
				pem[k++] = '\n';
			}
			snprintf(pem + k, cap - k, "-----END PUBLIC KEY-----\n");
			res = json_string(pem);
		}
		free(pem);
		free(enc);
		secmem_free(der, der_len);
	}
	secmem_free(m, m_len);
	return res;
}

static void on_keys_create(struct route_ctx *x, struct http_reply *out)
{
	char why[256] = "";
	struct http_create cr;
	err_t r = http_parse_create(x->rq->body, x->rq->body_len, &cr, why, sizeof why);
	if (r != ERR_OK) {
		fail(out, r == ERR_TOO_LARGE ? 413 : 400, r == ERR_TOO_LARGE ? "too_large" : "bad_json", "%s", why);
		return;
	}
	bool pair = cr.type->kind != KEYGEN_KIND_SYM;
	uint32_t usage = cr.usage;
	if (usage == 0)
		usage = pair ? 0x1 | 0x2 : strncmp(cr.type->name, "hmac", 4) == 0 ? 0x80 | 0x100 : 0x4 | 0x8;
	int64_t act = cr.activate ? (int64_t)time(NULL) : 0;
	/* the server's Random Number Generator attribute (KMIP 1.3+ §3.44),
	 * as a Create over KMIP gives it */
	struct store_attr attrs[3];
	size_t na = 0;
	struct ttlv_enc rng;
	ttlv_enc_init(&rng, 0);
	struct ops_name nm, nm_pub;
	memset(&nm, 0, sizeof nm);
	memset(&nm_pub, 0, sizeof nm_pub);
	if ((r = kmip_rng_attr(&rng, &attrs[na])) != ERR_OK)
		goto fail;
	na++;
	if (cr.name[0] != '\0') {
		if ((r = ops_name_make(&nm, cr.name)) != ERR_OK)
			goto fail;
		attrs[na++] = nm.a;
	}
	char id[STORE_ID_MAX + 1], pub_id[STORE_ID_MAX + 1] = "";
	if (!pair) {
		struct ops_new_key k = {.usage_mask = usage, .activation_date = act, .attrs = attrs, .n_attrs = na,
					.sensitive = cr.sensitive, .not_extractable = cr.not_extractable};
		sym_alg(cr.type, &k.alg, &k.length);
		r = ops_create_symmetric(&x->who, &k, id);
	} else {
		struct store_attr pattrs[2] = {attrs[0]};
		size_t npa = 1;
		if (cr.name[0] != '\0') {
			/* Names are unique per tenant: the public key's is NAME.pub */
			char pn[300];
			snprintf(pn, sizeof pn, "%s.pub", cr.name);
			if (strlen(pn) <= HTTP_NAME_MAX && ops_name_make(&nm_pub, pn) == ERR_OK)
				pattrs[npa++] = nm_pub.a;
		}
		struct ops_new_pair k = {
			.alg = cr.type->kind == KEYGEN_KIND_RSA ? STORE_ALG_RSA : STORE_ALG_EC,
			.length = cr.type->bits,
			.priv = {.usage_mask = usage & USAGE_PRIVATE, .activation_date = act, .attrs = attrs, .n_attrs = na,
				 .sensitive = cr.sensitive, .not_extractable = cr.not_extractable},
			.pub = {.usage_mask = usage & USAGE_PUBLIC, .activation_date = act, .attrs = pattrs, .n_attrs = npa},
		};
		r = ops_create_keypair(&x->who, &k, id, pub_id);
	}
	if (r != ERR_OK)
		goto fail;
	ttlv_enc_free(&rng);
	ops_name_free(&nm);
	ops_name_free(&nm_pub);
	log_debug("HTTP: key %s (%s) made for tenant %s", id, cr.type->name, x->who.tenant);
	struct store_object o;
	if (ops_get(&x->who, id, &o) != ERR_OK) {
		reply_json(out, 201, json_pack("{s:s}", "id", id));
		return;
	}
	json_t *j = key_full_json(&o);
	store_object_free(&o);
	if (j != NULL && pair) {
		json_object_set_new(j, "public_id", json_string(pub_id));
		json_object_set_new(j, "public_key", public_pem(&x->who, pub_id));
	}
	reply_json(out, 201, j);
	return;
fail:
	ttlv_enc_free(&rng);
	ops_name_free(&nm);
	ops_name_free(&nm_pub);
	if (r == ERR_UNSUPPORTED)
		fail(out, 400, "unsupported", "fount does not make %s keys here (FIPS mode?)", cr.type->name);
	else
		fail_err(out, r, "", NULL);
}

static void on_keys_list(struct route_ctx *x, struct http_reply *out)
{
	struct store_query q;
	memset(&q, 0, sizeof q);
	const char *name = http_query_get(&x->q, "name"), *state = http_query_get(&x->q, "state");
	const char *lim = http_query_get(&x->q, "limit"), *off = http_query_get(&x->q, "offset");
	uint64_t limit = HTTP_LIST_DEFAULT, offset = 0;
	if ((lim != NULL && http_parse_u64(lim, 1, HTTP_LIST_MAX, &limit) != ERR_OK) ||
	    (off != NULL && http_parse_u64(off, 0, UINT32_MAX, &offset) != ERR_OK)) {
		fail(out, 400, "bad_query", "limit is 1 to %d, offset 0 or more", HTTP_LIST_MAX);
		return;
	}
	if (state != NULL && (q.state = http_state_parse(state)) == 0) {
		fail(out, 400, "bad_query", "state is one of pre-active, active, deactivated, compromised, destroyed, "
					   "destroyed-compromised");
		return;
	}
	if (name != NULL && name[0] == '\0') {
		fail(out, 400, "bad_query", "name must not be empty");
		return;
	}
	q.name = name;
	q.offset = offset;
	q.max_items = (uint32_t)limit;
	struct store_found f;
	memset(&f, 0, sizeof f);
	err_t r = ops_find(&x->who, &q, &f);
	if (r != ERR_OK) {
		fail_err(out, r, "", NULL);
		return;
	}
	json_t *keys = json_array();
	for (size_t i = 0; i < f.n; i++) {
		struct store_object o;
		if (ops_get(&x->who, f.ids[i], &o) != ERR_OK)
			continue; /* destroyed meanwhile: the next page starts at the same place */
		json_array_append_new(keys, key_json(&o));
		store_object_free(&o);
	}
	uint64_t next = offset + f.n;
	json_t *j = json_pack("{s:o,s:I,s:I,s:I}", "keys", keys, "total", (json_int_t)f.total, "offset",
			      (json_int_t)offset, "limit", (json_int_t)limit);
	if (j != NULL)
		json_object_set_new(j, "next_offset", next < f.total ? json_integer((json_int_t)next) : json_null());
	store_found_free(&f);
	reply_json(out, 200, j);
}

static void on_key_get(struct route_ctx *x, struct http_reply *out)
{
	struct store_object o;
	err_t r = ops_get(&x->who, x->id, &o);
	if (r != ERR_OK) {
		fail_err(out, r, x->id, NULL);
		return;
	}
	json_t *j = key_full_json(&o);
	store_object_free(&o);
	reply_json(out, 200, j);
}

/* secret_reply answers {"id":..,"format":..,<extra>"material":"<base64>"}
 * built in secure memory, for material that is plaintext key */
static void material_reply(struct http_reply *out, const char *id, const char *format, const char *wrapped_with,
			   const char *alg, int64_t lease_end, const uint8_t *m, size_t m_len)
{
	size_t cap = 224 + 2 * STORE_ID_MAX + (m_len + 2) / 3 * 4;
	err_t e = ERR_OK;
	char *buf = secmem_alloc(cap, &e);
	if (buf == NULL) {
		fail(out, 500, "internal", "%s", err_str(e));
		return;
	}
	/* id and wrapped_with are [A-Za-z0-9._~:-] (route_key), format and
	 * alg fixed words: nothing needs escaping */
	int k;
	if (wrapped_with != NULL)
		k = snprintf(buf, cap, "{\"id\":\"%s\",\"format\":\"%s\",\"wrapped_with\":\"%s\",\"alg\":\"%s\",", id,
			     format, wrapped_with, alg);
	else
		k = snprintf(buf, cap, "{\"id\":\"%s\",\"format\":\"%s\",", id, format);
	/* the lease this Get granted (none for a key that is not Pre-Active
	 * or Active): the holder keeps the key until then, renewing it with
	 * POST /v1/keys/{id}/lease */
	if (lease_end != 0)
		k += snprintf(buf + k, cap - (size_t)k, "\"lease_seconds\":%u,\"lease_expires\":%lld,",
			      ops_lease_seconds(), (long long)lease_end);
	k += snprintf(buf + k, cap - (size_t)k, "\"material\":\"");
	size_t used = (size_t)k;
	used += b64_encode(buf + used, m, m_len);
	memcpy(buf + used, "\"}", 2);
	used += 2;
	free(out->body);
	out->body = buf;
	out->body_len = used;
	out->secret = true;
	out->secret_cap = cap;
	out->status = 200;
	out->content_type = "application/json";
}

bool api_key_id_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= STORE_ID_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~:-") == n;
}

static void on_key_material(struct route_ctx *x, struct http_reply *out)
{
	const char *ww = http_query_get(&x->q, "wrap_with"), *alg = http_query_get(&x->q, "alg");
	struct store_object o;
	err_t r = ops_get_row(&x->who, x->id, &o);
	if (r != ERR_OK) {
		fail_err(out, r, x->id, NULL);
		return;
	}
	const char *format = format_name(o.key_format);
	store_object_free(&o);
	uint8_t *m = NULL;
	size_t m_len = 0;
	int64_t lease_end = 0;
	char why[OPS_WHY_MAX] = "";
	if (ww != NULL) {
		enum keygen_wrap_alg wa = KEYGEN_WRAP_KWP;
		if (alg != NULL && strcmp(alg, "kw") == 0)
			wa = KEYGEN_WRAP_KW;
		else if (alg != NULL && strcmp(alg, "kwp") != 0) {
			fail(out, 400, "bad_query", "alg is kwp (AES Key Wrap with Padding, RFC 5649) or kw (RFC 3394)");
			return;
		}
		if (!api_key_id_ok(ww)) {
			fail(out, 404, "not_found", "no wrapping key %.64s", ww);
			return;
		}
		r = ops_get_wrapped(&x->who, x->id, ww, wa, &m, &m_len, &lease_end, why);
		if (r == ERR_STORE_NOT_FOUND && why[0] != '\0' && strncmp(why, "no wrapping key", 15) == 0) {
			fail(out, 404, "not_found", "%s", why);
			return;
		}
		if (r != ERR_OK) {
			fail_err(out, r, x->id, why);
			return;
		}
		material_reply(out, x->id, format, ww, wa == KEYGEN_WRAP_KW ? "kw" : "kwp", lease_end, m, m_len);
		secmem_free(m, m_len);
		return;
	}
	if (alg != NULL) {
		fail(out, 400, "bad_query", "alg needs wrap_with");
		return;
	}
	if (!x->c->plaintext_material || x->rq->cert == NULL || !x->rq->tls) {
		fail(out, 403, "plaintext_refused",
		     "key material leaves wrapped: ask with ?wrap_with=KEY_ID (an Active AES key with the wrap usage)%s",
		     x->c->plaintext_material ? "; plaintext needs a client certificate" : "");
		return;
	}
	r = ops_serve_material(&x->who, x->id, "http get", false, &m, &m_len, &lease_end);
	if (r != ERR_OK || m == NULL) {
		fail_err(out, r != ERR_OK ? r : ERR_STORE_DESTROYED, x->id, NULL);
		return;
	}
	material_reply(out, x->id, format, NULL, NULL, lease_end, m, m_len);
	secmem_free(m, m_len);
}

static void key_state_reply(struct route_ctx *x, struct http_reply *out, unsigned status, const char *id)
{
	struct store_object o;
	if (ops_get(&x->who, id, &o) != ERR_OK) {
		reply_json(out, status, json_pack("{s:s}", "id", id));
		return;
	}
	json_t *j = key_full_json(&o);
	store_object_free(&o);
	reply_json(out, status, j);
}

static void on_key_activate(struct route_ctx *x, struct http_reply *out)
{
	err_t r = ops_activate(&x->who, x->id);
	if (r != ERR_OK)
		fail_err(out, r, x->id, NULL);
	else
		key_state_reply(x, out, 200, x->id);
}

static void on_key_revoke(struct route_ctx *x, struct http_reply *out)
{
	char why[256] = "";
	struct http_revoke rv;
	err_t r = http_parse_revoke(x->rq->body, x->rq->body_len, &rv, why, sizeof why);
	if (r != ERR_OK) {
		fail(out, 400, "bad_json", "%s", why);
		return;
	}
	if (rv.occurred == 0 && (rv.reason == STORE_REVOKE_KEY_COMPROMISE || rv.reason == STORE_REVOKE_CA_COMPROMISE))
		rv.occurred = (int64_t)time(NULL);
	r = ops_revoke(&x->who, x->id, rv.reason, rv.occurred);
	if (r != ERR_OK)
		fail_err(out, r, x->id, NULL);
	else
		key_state_reply(x, out, 200, x->id);
}

/* POST /v1/keys/{id}/lease: renew the caller's lease of a key it holds
 * (KMIP Obtain Lease): 409 wrong_state for a key that is not Pre-Active
 * or Active, whose holders must stop using it */
static void on_key_lease(struct route_ctx *x, struct http_reply *out)
{
	int64_t lease_end = 0, last_change = 0;
	err_t r = ops_obtain_lease(&x->who, x->id, "http lease", &lease_end, &last_change);
	if (r == ERR_STORE_STATE) {
		fail(out, 409, "wrong_state", "key %s is not Pre-Active or Active: no lease is granted", x->id);
		return;
	}
	if (r != ERR_OK) {
		fail_err(out, r, x->id, NULL);
		return;
	}
	reply_json(out, 200, json_pack("{s:s,s:I,s:I,s:I}", "id", x->id, "lease_seconds", (json_int_t)ops_lease_seconds(),
				       "lease_expires", (json_int_t)lease_end, "last_change", (json_int_t)last_change));
}

static void on_key_rekey(struct route_ctx *x, struct http_reply *out)
{
	char why[256] = "";
	struct http_rekey rk;
	err_t r = http_parse_rekey(x->rq->body, x->rq->body_len, &rk, why, sizeof why);
	if (r != ERR_OK) {
		fail(out, 400, "bad_json", "%s", why);
		return;
	}
	struct store_object o;
	if ((r = ops_get_row(&x->who, x->id, &o)) != ERR_OK) {
		fail_err(out, r, x->id, NULL);
		return;
	}
	uint32_t type = o.type;
	store_object_free(&o);
	struct ops_rekey k = {.has_offset = rk.has_offset, .offset = rk.offset};
	char nid[STORE_ID_MAX + 1], npub[STORE_ID_MAX + 1] = "";
	if (type == STORE_OBJ_SYMMETRIC_KEY)
		r = ops_rekey(&x->who, x->id, &k, nid);
	else if (type == STORE_OBJ_PRIVATE_KEY)
		r = ops_rekey_keypair(&x->who, x->id, &k, nid, npub);
	else {
		fail(out, 400, "bad_request", "only symmetric and private keys are re-keyed (a private key with its public key)");
		return;
	}
	if (r == ERR_INVALID_ARG) {
		fail(out, 400, "bad_request", "key %s cannot be re-keyed here (not a key fount makes)", x->id);
		return;
	}
	if (r != ERR_OK) {
		fail_err(out, r, x->id, NULL);
		return;
	}
	key_state_reply(x, out, 201, nid);
	if (npub[0] != '\0' && out->status == 201 && out->body != NULL) {
		/* add the new public key's id */
		json_t *j = json_loadb(out->body, out->body_len, 0, NULL);
		if (j != NULL) {
			json_object_set_new(j, "public_id", json_string(npub));
			reply_json(out, 201, j);
		}
	}
}

static void on_key_delete(struct route_ctx *x, struct http_reply *out)
{
	err_t r = ops_destroy(&x->who, x->id);
	if (r == ERR_STORE_ACTIVE) {
		fail(out, 409, "wrong_state", "key %s is Active: revoke it first (POST /v1/keys/%s/revoke)", x->id, x->id);
		return;
	}
	if (r != ERR_OK)
		fail_err(out, r, x->id, NULL);
	else
		key_state_reply(x, out, 200, x->id);
}

/* ---- the route table ---------------------------------------------------------------- */

enum { PUBLIC = 0, IDENTIFIED = 1 };

struct route {
	const char *path;       /* "{id}" stands for one path segment */
	const char *method;
	unsigned endpoint;
	int who;
	bool store;             /* needs the key store */
	const char *const *params;
	void (*fn)(struct route_ctx *x, struct http_reply *out);
};

/* holder_json: one entry of a holders list; |key| names the other side
 * ("tenant" for a key's holders, "id" for a tenant's keys) */
static json_t *holder_json(const struct store_holder *h, bool by_tenant)
{
	char fp[2 * STORE_FINGERPRINT_LEN + 1];
	hex_encode(fp, h->fingerprint, sizeof h->fingerprint);
	return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:b}", by_tenant ? "id" : "tenant", by_tenant ? h->id : h->tenant,
			 "certificate_sha256", fp, "first_access", (json_int_t)h->first, "last_access",
			 (json_int_t)h->last, "accesses", (json_int_t)h->count, "lease_expires",
			 (json_int_t)h->lease_end, "leased", h->leased);
}

static void holders_reply(struct http_reply *out, const char *key, const char *value, const char *list,
			  const struct store_holders *hs, bool by_tenant)
{
	json_t *a = json_array();
	for (size_t i = 0; i < hs->n; i++)
		json_array_append_new(a, holder_json(&hs->h[i], by_tenant));
	reply_json(out, 200, json_pack("{s:s,s:o,s:b}", key, value, list, a, "truncated", hs->truncated));
}

/* GET /v1/keys/{id}/holders: who got the key's material (the owner and
 * administrators may ask) */
static void on_key_holders(struct route_ctx *x, struct http_reply *out)
{
	struct store_holders hs;
	err_t r = ops_holders_of(&x->who, x->id, &hs);
	if (r != ERR_OK) {
		fail_err(out, r, x->id, NULL);
		return;
	}
	holders_reply(out, "id", x->id, "holders", &hs, false);
	store_holders_free(&hs);
}

/* GET /v1/holders/{tenant}/keys: the keys a tenant's certificates got */
static void on_holder_keys(struct route_ctx *x, struct http_reply *out)
{
	struct store_holders hs;
	err_t r = ops_held_by(&x->who, x->tenant, &hs);
	if (r != ERR_OK) {
		fail_err(out, r, x->tenant, NULL);
		return;
	}
	holders_reply(out, "tenant", x->tenant, "keys", &hs, true);
	store_holders_free(&hs);
}

/* ---- GET /v1/events: Server-Sent Events ---------------------------------------------
 * The events the caller may see (its own keys' and those it holds; an
 * administrator every one) after the Last-Event-ID header or ?after=N,
 * as text/event-stream (https://html.spec.whatwg.org/multipage/server-
 * sent-events.html): "id: SEQ", "event: KIND", "data: JSON" per event.
 * With none yet the request is held (no thread kept) until one is
 * committed on any node or ?wait=S seconds pass (default 25, at most 60;
 * 0: answer at once); each answer ends the response with "retry: 1000",
 * and the client reconnects with its Last-Event-ID: nothing is lost
 * between two answers, as the events are stored. */
#define EVENTS_WAIT_DEFAULT 25
#define EVENTS_WAIT_MAX 60
#define EVENTS_PAGE 100

uint64_t http_events_latest(void)
{
	return ops_events_latest();
}

static void on_events(struct route_ctx *x, struct http_reply *out)
{
	uint64_t after = 0, wait = EVENTS_WAIT_DEFAULT;
	const char *qa = http_query_get(&x->q, "after"), *qw = http_query_get(&x->q, "wait");
	const char *from = qa != NULL ? qa : x->rq->last_event_id;
	/* after=now: only the current position, at once (a follower that
	 * starts from now, not from the first event ever stored) */
	bool now = qa != NULL && strcmp(qa, "now") == 0;
	if (from != NULL && !now && http_parse_u64(from, 0, INT64_MAX, &after) != ERR_OK) {
		fail(out, 400, "bad_query", "after (or Last-Event-ID) is an event id (a whole number) or now");
		return;
	}
	if (qw != NULL && http_parse_u64(qw, 0, EVENTS_WAIT_MAX, &wait) != ERR_OK) {
		fail(out, 400, "bad_query", "wait is 0 to %d seconds", EVENTS_WAIT_MAX);
		return;
	}
	/* the last seq before the read: an event committed after it wakes a
	 * held request, one before it is in the read */
	uint64_t latest = ops_events_latest();
	if (now) {
		after = latest;
		wait = 0;
	}
	/* a position past the newest event: this store's events went back (a
	 * restore from a backup, a new store under the same address). Waiting
	 * for the sequence to pass it again would hide every event until then
	 * (a revoke among them), so the caller gets them from the start, at
	 * once; its cursor then moves back to them. (0: none stored yet, or
	 * the count could not be read: the request waits as usual.) */
	if (!now && latest > 0 && after > latest) {
		after = 0;
		wait = 0;
	}
	struct store_events ev;
	err_t r = ops_events(&x->who, after, EVENTS_PAGE, &ev);
	if (r != ERR_OK) {
		fail_err(out, r, "events", NULL);
		return;
	}
	if (ev.n == 0 && wait > 0 && !x->rq->events_final) {
		store_events_free(&ev);
		out->hold = true;
		out->hold_seq = latest > after ? latest : after;
		out->hold_s = (unsigned)wait;
		out->status = 200;
		return;
	}
	/* ids, kinds and tenants are [A-Za-z0-9._~:-] and names fount
	 * writes; the JSON of each event through jansson all the same */
	/* the text grows as it needs: an event too long for a fixed room
	 * would be left out while the next one's id moves the reader past it */
	struct strbuf b = {0};
	strbuf_printf(&b, "retry: 1000\n\n");
	/* nothing for this caller up to |latest|: an id with no data moves its
	 * Last-Event-ID there without an event (the SSE dispatch rules), so the
	 * next request does not read those again */
	if (ev.n == 0 && (latest > after || now))
		strbuf_printf(&b, "id: %llu\n\n", (unsigned long long)latest);
	for (size_t i = 0; i < ev.n && !b.failed; i++) {
		const struct store_event *e = &ev.e[i];
		json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}", "seq", (json_int_t)e->seq, "time", (json_int_t)e->time,
				      "kind", e->kind, "id", e->id, "tenant", e->tenant, "state", http_state_name(e->state));
		if (j != NULL && e->new_id[0] != '\0')
			json_object_set_new(j, "new_id", json_string(e->new_id));
		if (j != NULL && e->holder[0] != '\0') { /* lease_end: whose lease */
			char fp[2 * STORE_FINGERPRINT_LEN + 1];
			hex_encode(fp, e->holder_fp, sizeof e->holder_fp);
			json_object_set_new(j, "holder", json_string(e->holder));
			json_object_set_new(j, "certificate_sha256", json_string(fp));
		}
		char *d = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (d == NULL)
			b.failed = true;
		else
			strbuf_printf(&b, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)e->seq, e->kind, d);
		free(d);
	}
	store_events_free(&ev);
	if (b.failed) {
		strbuf_free(&b);
		fail(out, 500, "internal", "out of memory");
		return;
	}
	free(out->body);
	out->body = b.buf;
	out->body_len = b.len;
	out->status = 200;
	out->content_type = "text/event-stream";
}

static const char *const p_none[] = {NULL};
static const char *const p_events[] = {"after", "wait", NULL};
static const char *const p_random[] = {"bytes", "format", NULL};
static const char *const p_list[] = {"name", "state", "limit", "offset", NULL};
static const char *const p_material[] = {"wrap_with", "alg", NULL};

static const struct route routes[] = {
	{"/", "GET", API_HTTP_EP_ROOT, PUBLIC, false, p_none, on_root},
	{"/v1/health", "GET", API_HTTP_EP_HEALTH, PUBLIC, false, p_none, on_health},
	{"/metrics", "GET", API_HTTP_EP_METRICS, PUBLIC, false, p_none, on_metrics},
	{"/v1/random", "GET", API_HTTP_EP_RANDOM, PUBLIC, false, p_random, on_random},
	{"/v1/selftest", "POST", API_HTTP_EP_SELFTEST, IDENTIFIED, false, p_none, on_selftest},
	{"/v1/keys", "POST", API_HTTP_EP_KEYS_CREATE, IDENTIFIED, true, p_none, on_keys_create},
	{"/v1/keys", "GET", API_HTTP_EP_KEYS_LIST, IDENTIFIED, true, p_list, on_keys_list},
	{"/v1/keys/{id}", "GET", API_HTTP_EP_KEY_GET, IDENTIFIED, true, p_none, on_key_get},
	{"/v1/keys/{id}", "DELETE", API_HTTP_EP_KEY_DELETE, IDENTIFIED, true, p_none, on_key_delete},
	{"/v1/keys/{id}/material", "GET", API_HTTP_EP_KEY_MATERIAL, IDENTIFIED, true, p_material, on_key_material},
	{"/v1/keys/{id}/activate", "POST", API_HTTP_EP_KEY_ACTIVATE, IDENTIFIED, true, p_none, on_key_activate},
	{"/v1/keys/{id}/revoke", "POST", API_HTTP_EP_KEY_REVOKE, IDENTIFIED, true, p_none, on_key_revoke},
	{"/v1/keys/{id}/rekey", "POST", API_HTTP_EP_KEY_REKEY, IDENTIFIED, true, p_none, on_key_rekey},
	{"/v1/keys/{id}/lease", "POST", API_HTTP_EP_KEY_LEASE, IDENTIFIED, true, p_none, on_key_lease},
	{"/v1/keys/{id}/holders", "GET", API_HTTP_EP_KEY_HOLDERS, IDENTIFIED, true, p_none, on_key_holders},
	{"/v1/holders/{tenant}/keys", "GET", API_HTTP_EP_HOLDER_KEYS, IDENTIFIED, true, p_none, on_holder_keys},
	{"/v1/events", "GET", API_HTTP_EP_EVENTS, IDENTIFIED, true, p_events, on_events},
};

/* The security policy's entries of the routes above (api.h,
 * api_http_services), by method and path. */
#define H_OWN "tenant (its keys); admin (every key)"
#define H_MAT "tenant (its keys); admin only with admin_key_access"
static const struct {
	const char *method, *path, *summary, *role, *approved;
} route_docs[] = {
	{"GET", "/", "the status page", "anyone", "approved (no cryptography)"},
	{"GET", "/v1/health", "the module's state and the entropy sources' health", "anyone", "approved (no cryptography)"},
	{"GET", "/metrics", "Prometheus metrics (counts and latencies, no secret)", "anyone", "approved (no cryptography)"},
	{"GET", "/v1/random", "random bytes from the approved DRBG", "anyone (rate-limited per tenant, or per address)", "approved"},
	{"POST", "/v1/selftest", "runs the self-tests on demand", "admin", "approved (self-test)"},
	{"POST", "/v1/keys", "generates a key with the approved DRBG", H_OWN, "approved"},
	{"GET", "/v1/keys", "lists keys", H_OWN, "approved (no cryptography)"},
	{"GET", "/v1/keys/{id}", "a key's attributes", H_OWN, "approved (no cryptography)"},
	{"DELETE", "/v1/keys/{id}", "destroys a key (zeroizes its material)", H_OWN, "approved (zeroization)"},
	{"GET", "/v1/keys/{id}/material", "a key's material over TLS, plaintext or AES-KW/KWP-wrapped", H_MAT, "approved"},
	{"POST", "/v1/keys/{id}/activate", "moves a key to Active", H_OWN, "approved (no cryptography)"},
	{"POST", "/v1/keys/{id}/revoke", "revokes a key; its holders are told", H_OWN, "approved (no cryptography)"},
	{"POST", "/v1/keys/{id}/rekey", "replaces a key with a new one", H_OWN, "approved"},
	{"POST", "/v1/keys/{id}/lease", "renews the caller's lease", H_OWN, "approved (no cryptography)"},
	{"GET", "/v1/keys/{id}/holders", "who got a key's material", H_OWN, "approved (no cryptography)"},
	{"GET", "/v1/holders/{tenant}/keys", "the keys a tenant holds", "the tenant itself; admin", "approved (no cryptography)"},
	{"GET", "/v1/events", "state changes, re-keys and lease ends of the caller's keys", H_OWN, "approved (no cryptography)"},
};

size_t api_http_services(struct api_service *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++, n++) {
		if (n >= max)
			continue;
		struct api_service *sv = &out[n];
		memset(sv, 0, sizeof *sv);
		snprintf(sv->name, sizeof sv->name, "%s %s", routes[i].method, routes[i].path);
		for (size_t k = 0; k < ARRAY_SIZE(route_docs); k++)
			if (strcmp(route_docs[k].method, routes[i].method) == 0 && strcmp(route_docs[k].path, routes[i].path) == 0) {
				sv->summary = route_docs[k].summary;
				sv->role = route_docs[k].role;
				sv->approved = route_docs[k].approved;
			}
	}
	return n;
}

/* path_match matches |path| against the pattern |pat|, copying its one
 * placeholder's segment ({id}: a key identifier, {tenant}: a tenant's
 * name, already percent-decoded) into |seg_out| (STORE_TENANT_MAX + 1
 * bytes); *bad: the segment cannot name one. */
static bool path_match(const char *pat, const char *path, char *seg_out, bool *bad)
{
	const char *ph = strchr(pat, '{');
	if (ph == NULL)
		return strcmp(pat, path) == 0;
	bool is_id = strncmp(ph, "{id}", 4) == 0;
	const char *rest = strchr(ph, '}') + 1;
	size_t pre = (size_t)(ph - pat);
	if (strncmp(pat, path, pre) != 0)
		return false;
	const char *seg = path + pre;
	size_t sl = strcspn(seg, "/");
	if (sl == 0 || strcmp(seg + sl, rest) != 0)
		return false;
	if (sl > (is_id ? STORE_ID_MAX : STORE_TENANT_MAX)) {
		*bad = true;
		return true;
	}
	memcpy(seg_out, seg, sl);
	seg_out[sl] = '\0';
	*bad = is_id && !api_key_id_ok(seg_out);
	return true;
}

void http_route(struct http_ctx *c, const struct http_request *rq, struct http_reply *out)
{
	memset(out, 0, sizeof *out);
	out->endpoint = API_HTTP_EP_OTHER;
	struct route_ctx *x = calloc(1, sizeof *x);
	if (x == NULL) {
		fail(out, 500, "internal", "out of memory");
		goto done;
	}
	x->c = c;
	x->rq = rq;
	char path[HTTP_URI_MAX + 1];
	const char *query = "";
	if (http_split_uri(rq->uri, path, sizeof path, &query) != ERR_OK) {
		fail(out, 400, "bad_request", "the request-target is not a path this server knows how to read");
		goto done;
	}
	/* one trailing '/' is forgiven ("/v1/keys/") */
	size_t pl = strlen(path);
	if (pl > 1 && path[pl - 1] == '/')
		path[pl - 1] = '\0';
	const struct route *hit = NULL;
	char allow[64] = "";
	bool bad_id = false, known = false, head_ok = false;
	/* HEAD: for the status routes monitors probe (libmicrohttpd sends the
	 * headers of the GET answer without its body) */
	bool head = strcmp(rq->method, "HEAD") == 0;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		bool bid = false;
		char id[STORE_TENANT_MAX + 1] = "";
		if (!path_match(routes[i].path, path, id, &bid))
			continue;
		known = true;
		bad_id = bid;
		size_t al = strlen(allow);
		snprintf(allow + al, sizeof allow - al, "%s%s", al ? ", " : "", routes[i].method);
		bool status_route = routes[i].endpoint == API_HTTP_EP_ROOT || routes[i].endpoint == API_HTTP_EP_HEALTH ||
				    routes[i].endpoint == API_HTTP_EP_METRICS;
		head_ok = head_ok || status_route;
		if ((strcmp(rq->method, routes[i].method) == 0 || (head && status_route)) && hit == NULL) {
			hit = &routes[i];
			/* path_match bounds {id} to STORE_ID_MAX (else bad_id) */
			if (strstr(hit->path, "{tenant}") != NULL) {
				memcpy(x->tenant, id, sizeof x->tenant);
			} else {
				size_t l = strnlen(id, sizeof x->id - 1);
				memcpy(x->id, id, l);
				x->id[l] = '\0';
			}
		}
	}
	if (!known) {
		fail(out, 404, "not_found", "no such path");
		goto done;
	}
	if (hit == NULL) {
		out->allow = strstr(allow, "GET") && strstr(allow, "POST") ? "GET, POST"
			     : strstr(allow, "GET") && strstr(allow, "DELETE") ? "GET, DELETE"
			     : strcmp(allow, "GET") == 0 ? (head_ok ? "GET, HEAD" : "GET")
			     : strcmp(allow, "POST") == 0 ? "POST" : "GET";
		fail(out, 405, "method_not_allowed", "%.16s is not allowed here; allowed: %s", rq->method, allow);
		goto done;
	}
	out->endpoint = hit->endpoint;
	char why[160] = "";
	if (http_query_parse(query, &x->q, why, sizeof why) != ERR_OK || !http_query_only(&x->q, hit->params, why, sizeof why)) {
		fail(out, 400, "bad_query", "%s", why);
		goto done;
	}
	if (!identify(c, rq, &x->who, &x->have, out))
		goto done;
	if (hit->who == IDENTIFIED && !x->have) {
		out->www_authenticate = true;
		fail(out, 401, "unauthorized",
		     "this needs a client certificate (HTTPS) or an Authorization: Bearer token ('fount token add')");
		goto done;
	}
	if (bad_id) {
		/* no key has such an identifier: "not found", as for any other */
		fail(out, 404, "not_found", "no such key");
		goto done;
	}
	if (hit->store && !ops_have_store()) {
		fail(out, 503, "store_unavailable", "this server has no key store");
		goto done;
	}
	hit->fn(x, out);
done:
	free(x);
	if (out->status == 0)
		fail(out, 500, "internal", "no reply");
	/* a held request is counted once, when it is answered */
	if (!out->hold)
		http_count(c, out->endpoint, out->status);
}
