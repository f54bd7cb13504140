/* api/http_auth.c — the HTTP API's credentials besides client
 * certificates: bearer tokens (kept as SHA-256 only, compared in constant
 * time), the per-tenant rate limit of /v1/random, and the rule for where
 * plain HTTP may listen.
 *
 * A token is 256 bits from the DRBG, shown once as "ft_" + 64 hex digits.
 * The file keeps its SHA-256: a 256-bit random secret needs no salt or
 * slow hash (nothing to guess), and a stolen file gives no token. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/auth.h"
#include "api/http.h"
#include "keygen/keygen.h"

CSP_DEFINE("HTTP API tokens", "CSP",
	   "only their SHA-256 in the token file ([http] tokens); the token itself is shown once",
	   "256 bits from the approved DRBG (fount token add)",
	   "shown once to the operator",
	   "the operator deletes its line from the token file");

#define TOKENS_MAX 4096

struct token {
	uint8_t hash[32];
	char tenant[AUTH_TENANT_MAX + 1];
	bool admin;
};

struct http_tokens {
	pthread_rwlock_t lock;
	char path[4096];
	struct timespec mtime;
	off_t size;
	ino_t ino;
	struct token *t;
	size_t n;
};

/* tenant_ok: a tenant a token line (and a binding line) can hold */
static bool tenant_ok(const char *t)
{
	return auth_tenant_valid(t, strlen(t)) && strpbrk(t, " \t#") == NULL;
}

static bool parse_token_line(char *line, struct token *out)
{
	char *save = NULL;
	char *hex = strtok_r(line, " \t", &save);
	char *tenant = strtok_r(NULL, " \t", &save);
	char *flag = strtok_r(NULL, " \t", &save);
	char *more = strtok_r(NULL, " \t", &save);
	size_t got = 0;
	memset(out, 0, sizeof *out);
	if (hex == NULL || tenant == NULL || more != NULL || strlen(hex) != 64 ||
	    hex_decode(out->hash, sizeof out->hash, &got, hex) != ERR_OK || got != 32 || !tenant_ok(tenant))
		return false;
	if (flag != NULL && strcmp(flag, "admin") != 0)
		return false;
	snprintf(out->tenant, sizeof out->tenant, "%s", tenant);
	out->admin = flag != NULL;
	return true;
}

/* load_locked reads the token file (a missing one: no tokens). */
static err_t load_locked(struct http_tokens *k, char *why, size_t why_len)
{
	struct stat st;
	if (stat(k->path, &st) != 0) {
		if (errno != ENOENT) {
			snprintf(why, why_len, "cannot read the token file %s: %s", k->path, strerror(errno));
			return ERR_IO;
		}
		free(k->t);
		k->t = NULL;
		k->n = 0;
		memset(&k->mtime, 0, sizeof k->mtime);
		k->size = 0;
		k->ino = 0;
		return ERR_OK;
	}
	FILE *f = fopen(k->path, "re");
	if (f == NULL) {
		snprintf(why, why_len, "cannot read the token file %s: %s", k->path, strerror(errno));
		return ERR_IO;
	}
	struct token *t = calloc(TOKENS_MAX, sizeof *t);
	err_t r = t != NULL ? ERR_OK : ERR_NOMEM;
	size_t n = 0;
	unsigned lineno = 0;
	char line[512];
	while (r == ERR_OK && fgets(line, sizeof line, f) != NULL) {
		lineno++;
		size_t len = strcspn(line, "\r\n");
		if (line[len] == '\0' && !feof(f)) {
			snprintf(why, why_len, "%s:%u: line too long", k->path, lineno);
			r = ERR_CONFIG;
			break;
		}
		line[len] = '\0';
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		char *p = line + strspn(line, " \t");
		if (*p == '\0')
			continue;
		if (n == TOKENS_MAX) {
			snprintf(why, why_len, "%s: more than %d tokens", k->path, TOKENS_MAX);
			r = ERR_TOO_LARGE;
		} else if (!parse_token_line(p, &t[n])) {
			snprintf(why, why_len, "%s:%u: not a token line (SHA256-HEX TENANT [admin]); "
				 "add tokens with 'fount token add'", k->path, lineno);
			r = ERR_CONFIG;
		} else {
			n++;
		}
	}
	fclose(f);
	if (r != ERR_OK) {
		free(t);
		return r;
	}
	free(k->t);
	k->t = t;
	k->n = n;
	k->mtime = st.st_mtim;
	k->size = st.st_size;
	k->ino = st.st_ino;
	return ERR_OK;
}

err_t http_tokens_new(const char *path, struct http_tokens **out, char *why, size_t why_len)
{
	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return ERR_OK;
	ENSURE(strlen(path) < sizeof((struct http_tokens *)0)->path, ERR_TOO_LARGE);
	struct http_tokens *k = calloc(1, sizeof *k);
	ENSURE(k != NULL, ERR_NOMEM);
	pthread_rwlock_init(&k->lock, NULL);
	snprintf(k->path, sizeof k->path, "%s", path);
	err_t r = load_locked(k, why, why_len);
	if (r != ERR_OK) {
		http_tokens_free(k);
		return r;
	}
	*out = k;
	return ERR_OK;
}

void http_tokens_free(struct http_tokens *k)
{
	if (k == NULL)
		return;
	if (k->t != NULL)
		secure_zero(k->t, TOKENS_MAX * sizeof *k->t);
	free(k->t);
	pthread_rwlock_destroy(&k->lock);
	free(k);
}

/* refresh re-reads the file when it changed; a file that became unreadable
 * or malformed keeps the tokens read before (logged) */
static void refresh(struct http_tokens *k)
{
	struct stat st;
	bool gone = stat(k->path, &st) != 0;
	pthread_rwlock_rdlock(&k->lock);
	bool same = gone ? k->mtime.tv_sec == 0 && k->mtime.tv_nsec == 0
			 : st.st_mtim.tv_sec == k->mtime.tv_sec && st.st_mtim.tv_nsec == k->mtime.tv_nsec &&
				   st.st_size == k->size && st.st_ino == k->ino;
	pthread_rwlock_unlock(&k->lock);
	if (same)
		return;
	char why[256] = "";
	pthread_rwlock_wrlock(&k->lock);
	if (load_locked(k, why, sizeof why) != ERR_OK)
		log_warn("%s; keeping the tokens read before", why);
	pthread_rwlock_unlock(&k->lock);
}

err_t http_tokens_check(struct http_tokens *k, const char *tok, size_t len, struct kmip_peer *out)
{
	memset(out, 0, sizeof *out);
	ENSURE(k != NULL, ERR_UNSUPPORTED);
	ENSURE(len > 0 && len <= 256, ERR_STORE_NOT_FOUND);
	uint8_t h[32];
	GUARD(keygen_sha256((const uint8_t *)tok, len, h));
	refresh(k);
	pthread_rwlock_rdlock(&k->lock);
	/* every entry is compared, a match or not: the time says nothing of
	 * which entry (or how much of one) matched */
	size_t hit = SIZE_MAX;
	for (size_t i = 0; i < k->n; i++) {
		bool eq = ct_memeq(k->t[i].hash, h, 32);
		hit = eq ? i : hit;
	}
	if (hit != SIZE_MAX) {
		snprintf(out->tenant, sizeof out->tenant, "%s", k->t[hit].tenant);
		out->admin = k->t[hit].admin;
		/* the access log names the credential: the token's hash */
		memcpy(out->cert_sha256, h, 32);
	}
	pthread_rwlock_unlock(&k->lock);
	secure_zero(h, sizeof h);
	return hit != SIZE_MAX ? ERR_OK : ERR_STORE_NOT_FOUND;
}

err_t api_http_token_add(const char *path, const char *tenant, bool admin, char *token, size_t token_len,
			 char *why, size_t why_len)
{
	char none[1];
	if (why == NULL || why_len == 0) {
		why = none;
		why_len = sizeof none;
	}
	if (!tenant_ok(tenant)) {
		snprintf(why, why_len, "a tenant is 1 to %d characters without spaces, '#' or control characters",
			 AUTH_TENANT_MAX);
		return ERR_INVALID_ARG;
	}
	ENSURE(token_len >= API_HTTP_TOKEN_LEN + 1, ERR_TOO_LARGE);
	uint8_t raw[32], h[32];
	err_t r = drbg_generate_pr(raw, sizeof raw);
	if (r != ERR_OK) {
		snprintf(why, why_len, "no random bytes for the token: %s", err_str(r));
		return r;
	}
	memcpy(token, "ft_", 3);
	hex_encode(token + 3, raw, sizeof raw);
	secure_zero(raw, sizeof raw);
	r = keygen_sha256((const uint8_t *)token, API_HTTP_TOKEN_LEN, h);
	char line[256];
	char hex[65];
	hex_encode(hex, h, sizeof h);
	int n = snprintf(line, sizeof line, "%s %s%s\n", hex, tenant, admin ? " admin" : "");
	int fd = r == ERR_OK ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
	if (fd < 0) {
		if (r == ERR_OK) {
			snprintf(why, why_len, "cannot open the token file %s: %s (check [http] tokens)", path,
				 strerror(errno));
			r = ERR_IO;
		}
		secure_zero(token, token_len);
		return r;
	}
	bool ok = n > 0 && (size_t)n < sizeof line && write(fd, line, (size_t)n) == n && fsync(fd) == 0;
	int saved = errno;
	close(fd);
	if (!ok) {
		snprintf(why, why_len, "cannot write the token file %s: %s", path, strerror(saved));
		secure_zero(token, token_len);
		return ERR_IO;
	}
	token[API_HTTP_TOKEN_LEN] = '\0';
	return ERR_OK;
}

/* ---- rate limit ------------------------------------------------------------------ */

#define RATE_SLOTS 1024 /* keys tracked at once; the least recently used is dropped */

struct bucket {
	char key[AUTH_TENANT_MAX + 72];
	double tokens;
	uint64_t last;
	bool used;
};

struct http_rate {
	pthread_mutex_t lock;
	double rate;
	struct bucket b[RATE_SLOTS];
};

err_t http_rate_new(uint64_t rate, struct http_rate **out)
{
	*out = NULL;
	if (rate == 0)
		return ERR_OK;
	struct http_rate *r = calloc(1, sizeof *r);
	ENSURE(r != NULL, ERR_NOMEM);
	pthread_mutex_init(&r->lock, NULL);
	r->rate = (double)rate;
	*out = r;
	return ERR_OK;
}

void http_rate_free(struct http_rate *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

bool http_rate_take(struct http_rate *r, const char *key, uint64_t n, uint64_t now, unsigned *retry_after)
{
	*retry_after = 0;
	if (r == NULL)
		return true;
	pthread_mutex_lock(&r->lock);
	/* open addressing over 16 slots from the hash; a new key takes a free
	 * slot there or the one used longest ago */
	uint32_t h = fnv1a(key);
	struct bucket *b = NULL, *oldest = NULL;
	for (uint32_t i = 0; i < 16 && b == NULL; i++) {
		struct bucket *c = &r->b[(h + i) % RATE_SLOTS];
		if (c->used && strcmp(c->key, key) == 0)
			b = c;
		else if (oldest == NULL || !c->used || (oldest->used && c->last < oldest->last))
			oldest = c;
	}
	if (b == NULL) {
		b = oldest;
		snprintf(b->key, sizeof b->key, "%s", key);
		b->tokens = r->rate; /* a new key starts with a full second */
		b->last = now;
		b->used = true;
	}
	double cap = r->rate;
	if (now > b->last)
		b->tokens = fmin(cap, b->tokens + r->rate * (double)(now - b->last) / 1e9);
	b->last = now;
	double need = fmin((double)n, cap);
	bool ok = b->tokens >= need;
	if (ok) {
		b->tokens -= (double)n; /* may go below 0: a large request's debt */
	} else {
		double s = ceil((need - b->tokens) / r->rate);
		*retry_after = s < 1 ? 1 : s > 86400 ? 86400 : (unsigned)s;
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}

/* ---- where plain HTTP may listen ----------------------------------------------- */

bool api_http_plain_ok(const char *l, char *why, size_t why_len)
{
	if (strncmp(l, "unix:", 5) == 0) {
		if (l[5] != '/') {
			snprintf(why, why_len, "[http] plain_listen = %s: want unix:/ABSOLUTE/PATH", l);
			return false;
		}
		return true;
	}
	char host[256];
	const char *colon;
	if (l[0] == '[') {
		const char *end = strchr(l, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - l - 1) >= sizeof host)
			goto bad;
		memcpy(host, l + 1, (size_t)(end - l - 1));
		host[end - l - 1] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(l, ':');
		if (colon == NULL || (size_t)(colon - l) >= sizeof host)
			goto bad;
		memcpy(host, l, (size_t)(colon - l));
		host[colon - l] = '\0';
	}
	if (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5)
		goto bad;
	struct in_addr a4;
	struct in6_addr a6;
	if (strcasecmp(host, "localhost") == 0 || (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
	    (inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6)))
		return true;
	snprintf(why, why_len,
		 "[http] plain_listen = %s: plain HTTP listens only on loopback (127.0.0.1:PORT, [::1]:PORT) or "
		 "unix:PATH; use [http] listen (HTTPS) for other addresses",
		 l);
	return false;
bad:
	snprintf(why, why_len, "[http] plain_listen = %s: want 127.0.0.1:PORT, [::1]:PORT or unix:PATH", l);
	return false;
}
