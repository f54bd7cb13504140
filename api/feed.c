/* api/feed.c — `fount feed`: fetch random bytes from a fount server over
 * HTTPS and mix them into this machine's kernel pool.
 *
 * The server is authenticated by TLS against one pinned CA (or the server's
 * own certificate) and the name in the URL; TLS also gives replay and
 * tamper protection, so no challenge/echo scheme (pollinate's SHA-512 echo)
 * is needed on top. The server must say OPERATIONAL in GET /v1/health
 * before anything is fetched; then GET /v1/random?bytes=N&format=raw on
 * the same connection.
 *
 * The kernel side (Linux 5.18+ random.c; vm-entropy.md §2.1): before the
 * CRNG is ready (getrandom(GRND_NONBLOCK) fails with EAGAIN) and only when
 * asked to credit, RNDADDENTROPY mixes and credits at most 256 bits
 * (POOL_BITS; credit counts only before the CRNG is ready); otherwise a
 * write() to /dev/urandom mixes without credit and needs no capability.
 * RNDRESEEDCRNG then makes the bytes reach the output at once instead of
 * within the 60 s reseed interval (CAP_SYS_ADMIN; skipped without it).
 * entropy_avail and RNDGETENTCNT are never used as a "need more" signal:
 * they read 256 for good once the CRNG is ready. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "api/api.h"
#include "api/feed.h"
#include "api/https_client.h"
#include "keygen/keygen.h"

CSP_USE("Random output", "the bytes fount feed credits to the host kernel's pool (RNDADDENTROPY), in locked memory");

#define WHY(...) (void)snprintf(why, why_len, __VA_ARGS__)
#define HEALTH_MAX (256u * 1024u) /* the largest /v1/health body read */
#define HEAD_MAX FEED_HEAD_MAX

/* ---- the HTTP/1.1 response parser (pure: fuzzed by fuzz/fuzz_feed_http.c) --- */

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* find_crlf returns the offset of the first "\r\n" at or after |from|, or
 * |len| when there is none yet. */
static size_t find_crlf(const uint8_t *b, size_t len, size_t from)
{
	for (size_t i = from; i + 1 < len; i++)
		if (b[i] == '\r' && b[i + 1] == '\n')
			return i;
	return len;
}

/* header_is compares a header line's name, case-insensitively (RFC 9110
 * §5.1), and points *value at its trimmed value. */
static bool header_is(const uint8_t *line, size_t n, const char *name, const uint8_t **value, size_t *vlen)
{
	size_t k = strlen(name);
	if (n <= k || line[k] != ':')
		return false;
	for (size_t i = 0; i < k; i++) {
		uint8_t c = line[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)name[i])
			return false;
	}
	size_t s = k + 1, e = n;
	while (s < e && (line[s] == ' ' || line[s] == '\t'))
		s++;
	while (e > s && (line[e - 1] == ' ' || line[e - 1] == '\t'))
		e--;
	*value = line + s;
	*vlen = e - s;
	return true;
}

static bool value_is(const uint8_t *v, size_t n, const char *want)
{
	size_t k = strlen(want);
	if (n != k)
		return false;
	for (size_t i = 0; i < k; i++) {
		uint8_t c = v[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)want[i])
			return false;
	}
	return true;
}

/* parse_head reads the status line and headers of |b| (|head| bytes, the
 * blank line included). */
static err_t parse_head(const uint8_t *b, size_t head, struct feed_http *r)
{
	size_t e = find_crlf(b, head, 0);
	/* "HTTP/1.1 200 OK": version, one space, three digits, then a space or the end */
	ENSURE(e >= 12 && memcmp(b, "HTTP/1.", 7) == 0 && (b[7] == '0' || b[7] == '1') && b[8] == ' ' &&
		       is_digit(b[9]) && is_digit(b[10]) && is_digit(b[11]) && (e == 12 || b[12] == ' '),
	       ERR_PARSE);
	r->status = (unsigned)(b[9] - '0') * 100u + (unsigned)(b[10] - '0') * 10u + (unsigned)(b[11] - '0');
	r->keep_alive = b[7] == '1';
	bool have_len = false;
	for (size_t s = e + 2; s < head;) {
		size_t le = find_crlf(b, head, s);
		if (le == s)
			break; /* the blank line */
		const uint8_t *v;
		size_t vn;
		const uint8_t *line = b + s;
		size_t n = le - s;
		if (header_is(line, n, "content-length", &v, &vn)) {
			ENSURE(vn > 0 && vn <= 12 && !have_len, ERR_PARSE); /* one, and below 10^12 */
			uint64_t x = 0;
			for (size_t i = 0; i < vn; i++) {
				ENSURE(is_digit(v[i]), ERR_PARSE);
				x = x * 10u + (uint64_t)(v[i] - '0');
			}
			r->content_length = x;
			have_len = true;
		} else if (header_is(line, n, "transfer-encoding", &v, &vn)) {
			/* only chunked is sent by servers to HTTP/1.1 clients (RFC 9112 §6.1) */
			ENSURE(value_is(v, vn, "chunked"), ERR_UNSUPPORTED);
			r->chunked = true;
		} else if (header_is(line, n, "content-type", &v, &vn)) {
			size_t k = vn < sizeof r->content_type - 1 ? vn : sizeof r->content_type - 1;
			memcpy(r->content_type, v, k);
			r->content_type[k] = '\0';
		} else if (header_is(line, n, "connection", &v, &vn)) {
			if (value_is(v, vn, "close"))
				r->keep_alive = false;
			else if (value_is(v, vn, "keep-alive"))
				r->keep_alive = true;
		} else if (header_is(line, n, "retry-after", &v, &vn)) {
			unsigned x = 0;
			for (size_t i = 0; i < vn && i < 6 && is_digit(v[i]); i++)
				x = x * 10u + (unsigned)(v[i] - '0');
			r->retry_after = x;
		}
		s = le + 2;
	}
	/* a response with both: Transfer-Encoding wins, Content-Length is
	 * ignored (RFC 9112 §6.3), and the connection is not reused */
	if (r->chunked && have_len)
		r->keep_alive = false;
	r->have_length = have_len && !r->chunked;
	return ERR_OK;
}

/* dechunk decodes a chunked body in place from |b| (|len| bytes after the
 * head) into |out| (|cap|). ERR_OK with *used when the last chunk and the
 * trailer section are complete; ERR_INVALID_ARG when more bytes are needed. */
static err_t dechunk(const uint8_t *b, size_t len, uint8_t *out, size_t cap, size_t *got, size_t *used)
{
	size_t i = 0, n = 0;
	for (;;) {
		size_t le = find_crlf(b, len, i);
		if (le == len)
			return ERR_INVALID_ARG;
		uint64_t size = 0;
		size_t j = i, digits = 0;
		for (; j < le && hex_digit(b[j]) >= 0; j++, digits++) {
			ENSURE(digits < 8, ERR_TOO_LARGE);
			size = size * 16u + (uint64_t)hex_digit(b[j]);
		}
		ENSURE(digits > 0 && (j == le || b[j] == ';' || b[j] == ' ' || b[j] == '\t'), ERR_PARSE);
		i = le + 2;
		if (size == 0) {
			/* the trailer section, up to its blank line */
			for (;;) {
				size_t te = find_crlf(b, len, i);
				if (te == len)
					return ERR_INVALID_ARG;
				bool blank = te == i;
				i = te + 2;
				if (blank)
					break;
			}
			*got = n;
			*used = i;
			return ERR_OK;
		}
		ENSURE(size <= cap - n, ERR_TOO_LARGE);
		if (len - i < size + 2)
			return ERR_INVALID_ARG;
		ENSURE(b[i + size] == '\r' && b[i + size + 1] == '\n', ERR_PARSE);
		memcpy(out + n, b + i, (size_t)size);
		n += (size_t)size;
		i += (size_t)size + 2;
	}
}

err_t feed_http_parse(const uint8_t *b, size_t len, uint8_t *body, size_t cap, struct feed_http *r)
{
	memset(r, 0, sizeof *r);
	size_t head = 0;
	for (size_t i = 0; i + 3 < len && i < HEAD_MAX; i++)
		if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
			head = i + 4;
			break;
		}
	if (head == 0)
		return len >= HEAD_MAX ? ERR_TOO_LARGE : ERR_INVALID_ARG;
	GUARD(parse_head(b, head, r));
	r->head_len = head;
	const uint8_t *p = b + head;
	size_t avail = len - head;
	if (r->status / 100 == 1 || r->status == 204 || r->status == 304) {
		r->body_len = 0; /* no body (RFC 9112 §6.3) */
		r->total_len = head;
		return ERR_OK;
	}
	if (r->chunked) {
		size_t used = 0;
		GUARD(dechunk(p, avail, body, cap, &r->body_len, &used));
		r->total_len = head + used;
		return ERR_OK;
	}
	/* without a length the body runs to the close: not accepted here */
	ENSURE(r->have_length, ERR_PARSE);
	ENSURE(r->content_length <= cap, ERR_TOO_LARGE);
	if (avail < r->content_length)
		return ERR_INVALID_ARG;
	memcpy(body, p, (size_t)r->content_length);
	r->body_len = (size_t)r->content_length;
	r->total_len = head + (size_t)r->content_length;
	return ERR_OK;
}

/* ---- the URL ------------------------------------------------------------------- */

err_t feed_url_parse(const char *url, char host[FEED_HOST_MAX], char port[8])
{
	ENSURE_REF(url);
	ENSURE(strncmp(url, "https://", 8) == 0, ERR_PARSE);
	const char *h = url + 8, *e;
	size_t hn;
	if (*h == '[') {
		e = strchr(h, ']');
		ENSURE(e != NULL, ERR_PARSE);
		hn = (size_t)(e - h - 1);
		h++;
		e++;
	} else {
		e = h + strcspn(h, ":/");
		hn = (size_t)(e - h);
	}
	ENSURE(hn > 0 && hn < FEED_HOST_MAX, ERR_PARSE);
	memcpy(host, h, hn);
	host[hn] = '\0';
	for (size_t i = 0; i < hn; i++)
		ENSURE(host[i] > ' ' && host[i] != '@' && host[i] != '?' && host[i] != '#', ERR_PARSE);
	snprintf(port, 8, "8443");
	if (*e == ':') {
		size_t pn = strspn(e + 1, "0123456789");
		ENSURE(pn > 0 && pn <= 5, ERR_PARSE);
		unsigned long p = strtoul(e + 1, NULL, 10);
		ENSURE(p > 0 && p < 65536, ERR_PARSE);
		snprintf(port, 8, "%lu", p);
		e += 1 + pn;
	}
	/* only "/" or nothing after the authority: fount's paths are its own */
	ENSURE(*e == '\0' || (e[0] == '/' && e[1] == '\0'), ERR_PARSE);
	return ERR_OK;
}

/* ---- the kernel pool ------------------------------------------------------------ */

bool feed_crng_ready(void)
{
	uint8_t b;
	ssize_t k;
	while ((k = getrandom(&b, 1, GRND_NONBLOCK)) < 0 && errno == EINTR)
		;
	secure_zero(&b, 1);
	return k == 1; /* EAGAIN: not yet ready */
}

err_t feed_mix(const char *device, const uint8_t *buf, size_t n, unsigned credit, bool reseed,
	       struct api_feed_result *res, char *why, size_t why_len)
{
	int fd = open(device, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		WHY("cannot open %s: %s", device, strerror(errno));
		return ERR_IO;
	}
	err_t r = ERR_OK;
	if (credit > 0) {
		/* struct rand_pool_info {int entropy_count; int buf_size; __u32 buf[];} */
		size_t sz = sizeof(struct rand_pool_info) + n;
		err_t me = ERR_OK;
		struct rand_pool_info *pi = secmem_alloc(sz, &me);
		if (pi == NULL) {
			close(fd);
			WHY("no memory: %s", err_str(me));
			return me;
		}
		pi->entropy_count = (int)credit;
		pi->buf_size = (int)n;
		memcpy(pi->buf, buf, n);
		if (ioctl(fd, RNDADDENTROPY, pi) != 0) {
			WHY("RNDADDENTROPY on %s: %s%s", device, strerror(errno),
			    errno == EPERM ? " (crediting needs CAP_SYS_ADMIN: run as root or set [feed] credit = off)"
					   : "");
			r = errno == EPERM ? ERR_USAGE : ERR_IO;
		} else {
			res->bits_credited = credit;
		}
		secmem_free(pi, sz);
	} else {
		size_t done = 0;
		while (done < n) {
			ssize_t k = write(fd, buf + done, n - done);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				WHY("cannot write to %s: %s", device, k < 0 ? strerror(errno) : "short write");
				r = ERR_IO;
				break;
			}
			done += (size_t)k;
		}
	}
	if (r == ERR_OK) {
		res->bytes_mixed = n;
		/* at once rather than within the kernel's 60 s reseed interval;
		 * EPERM (no CAP_SYS_ADMIN), ENODATA (not ready yet) and ENOTTY
		 * (not a random device) leave the mix as it is */
		if (reseed && ioctl(fd, RNDRESEEDCRNG) == 0)
			res->reseeded = true;
	}
	close(fd);
	return r;
}

/* ---- one feed -------------------------------------------------------------------- */

/* health_state reads "state" from a /v1/health body. */
static void health_state(const uint8_t *body, size_t n, char *out, size_t cap)
{
	snprintf(out, cap, "unknown");
	json_error_t je;
	json_t *j = json_loadb((const char *)body, n, JSON_REJECT_DUPLICATES, &je);
	const char *s = json_is_object(j) ? json_string_value(json_object_get(j, "state")) : NULL;
	if (s != NULL) {
		size_t i = 0;
		for (; s[i] != '\0' && i + 1 < cap; i++)
			out[i] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] : s[i] == '_' ? '_' : '?';
		out[i] = '\0';
	}
	json_decref(j);
}

static err_t read_token(const char *path, char *out, size_t cap, char *why, size_t why_len)
{
	size_t n = 0;
	unsigned mode = 0;
	err_t r = file_read_bounded(path, (uint8_t *)out, cap - 1, &n, &mode);
	if (r != ERR_OK) {
		WHY("cannot read the token file %s ([feed] token_file): %s", path,
		    r == ERR_IO || r == ERR_SYSTEM ? strerror(errno) : err_str(r));
		return ERR_CONFIG;
	}
	if ((mode & 077) != 0) {
		secure_zero(out, cap);
		WHY("the token file %s is open to other users: chmod 600 %s", path, path);
		return ERR_CONFIG;
	}
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		n--;
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] <= ' ' || out[i] > '~') {
			secure_zero(out, cap);
			WHY("the token file %s must hold one token on one line", path);
			return ERR_CONFIG;
		}
	if (n == 0) {
		WHY("the token file %s is empty", path);
		return ERR_CONFIG;
	}
	return ERR_OK;
}

err_t api_feed_once(const struct api_feed_options *o, struct api_feed_result *res, char *why, size_t why_len)
{
	memset(res, 0, sizeof *res);
	snprintf(res->server_state, sizeof res->server_state, "unknown");
	size_t want = o->bytes != 0 ? o->bytes : FEED_DEFAULT_BYTES;
	if (want > FEED_MAX_BYTES) {
		WHY("[feed] bytes %zu is above %u", want, FEED_MAX_BYTES);
		return ERR_CONFIG;
	}
	const char *device = o->device != NULL && o->device[0] != '\0' ? o->device : "/dev/urandom";
	/* a server that closes while a request is sent must fail the feed,
	 * not kill the process (as in api_kmip_start) */
	signal(SIGPIPE, SIG_IGN);
	res->crng_ready_before = feed_crng_ready();

	err_t r = ERR_INTERNAL, me = ERR_OK;
	char token[512];
	bool have_token = o->token_file != NULL && o->token_file[0] != '\0';
	if (have_token && (r = read_token(o->token_file, token, sizeof token, why, why_len)) != ERR_OK)
		return r;
	char auth[sizeof token + 32] = "";
	if (have_token)
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	struct https_conn c = {.fd = -1};
	uint8_t *body = NULL;
	size_t body_cap = HEALTH_MAX > want ? HEALTH_MAX : want;
	body = secmem_alloc(body_cap, &me);
	if (body == NULL) {
		WHY("no memory: %s", err_str(me));
		r = me;
		goto out;
	}
	const struct https_tls tls = {.ca_file = o->ca_file, .cert_file = o->cert_file, .key_file = o->key_file,
				      .section = "feed", .refusing = "refusing to feed"};
	GUARD_GOTO(https_open(&c, o->server != NULL ? o->server : "", &tls, HEAD_MAX + body_cap + 4096,
			      o->timeout_ms != 0 ? o->timeout_ms : 10000u, why, why_len));

	struct feed_http h;
	GUARD_GOTO(https_request(&c, "GET", "/v1/health", have_token ? auth : NULL, body, body_cap, &h, why, why_len));
	if (h.status != 200 && h.status != 503) {
		WHY("GET /v1/health answered HTTP %u%s; refusing to feed", h.status,
		    h.status == 401 || h.status == 403 ? " (set [feed] token_file or [feed] cert)" : "");
		r = ERR_IO;
		goto out;
	}
	health_state(body, h.body_len, res->server_state, sizeof res->server_state);
	if (h.status != 200 || strcmp(res->server_state, "OPERATIONAL") != 0) {
		WHY("the server reports state %s, not OPERATIONAL; refusing to feed", res->server_state);
		r = ERR_NOT_OPERATIONAL;
		goto out;
	}
	if (!h.keep_alive) {
		WHY("the server closed the connection after /v1/health");
		r = ERR_IO;
		goto out;
	}
	char path[96];
	snprintf(path, sizeof path, "/v1/random?bytes=%zu&format=raw", want);
	GUARD_GOTO(https_request(&c, "GET", path, have_token ? auth : NULL, body, body_cap, &h, why, why_len));
	if (h.status != 200) {
		WHY("GET /v1/random answered HTTP %u%s; nothing fed", h.status,
		    h.status == 429 ? " (rate limited: feed less often)" : "");
		r = h.status == 503 ? ERR_NOT_OPERATIONAL : ERR_IO;
		goto out;
	}
	if (h.body_len != want || strncmp(h.content_type, "application/octet-stream", 24) != 0) {
		WHY("GET /v1/random gave %zu bytes of %s, not %zu raw bytes; nothing fed", h.body_len,
		    h.content_type[0] != '\0' ? h.content_type : "no type", want);
		r = ERR_PARSE;
		goto out;
	}
	/* credit only before the CRNG is ready, when asked, at most 256 bits
	 * (the kernel's POOL_BITS; credit after readiness is a no-op) */
	unsigned credit = 0;
	if (o->credit && !feed_crng_ready())
		credit = want * 8 < 256 ? (unsigned)(want * 8) : 256u;
	r = feed_mix(device, body, want, credit, o->reseed, res, why, why_len);
out:
	secure_zero(token, sizeof token);
	secmem_free(body, body_cap);
	secure_zero(auth, sizeof auth);
	https_close(&c);
	return r;
}
