/* api/feed.h — the parts of api/feed.c (`fount feed`) that tests and the
 * fuzz target drive without a network. Private to api/. */
#ifndef FOUNT_API_FEED_H
#define FOUNT_API_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define FEED_HOST_MAX 256
#define FEED_HEAD_MAX (16u * 1024u) /* status line and headers */

/* One HTTP/1.1 response (RFC 9112): what feed_http_parse found. */
struct feed_http {
	unsigned status;
	bool keep_alive;         /* the connection may carry another request */
	bool chunked;            /* Transfer-Encoding: chunked */
	bool have_length;        /* a Content-Length that counts */
	uint64_t content_length;
	unsigned retry_after;    /* seconds, 0 = none */
	char content_type[64];   /* truncated */
	size_t head_len;         /* status line and headers, blank line included */
	size_t body_len;         /* bytes written to |body| */
	size_t total_len;        /* bytes of |b| the response took */
};

/* feed_http_parse reads one response from |b| (|len| bytes) and copies its
 * body (de-chunked) to |body| (|cap| bytes). ERR_OK: complete;
 * ERR_INVALID_ARG: incomplete, read more; ERR_TOO_LARGE: the head is over
 * FEED_HEAD_MAX or the body over |cap|; ERR_PARSE / ERR_UNSUPPORTED: not a
 * response fount feed accepts (a body without a length or chunking, a
 * transfer coding other than chunked). */
err_t feed_http_parse(const uint8_t *b, size_t len, uint8_t *body, size_t cap, struct feed_http *r)
	MUST_CHECK NONNULL(3, 5);

/* feed_url_parse splits "https://HOST[:PORT][/]" (HOST a name, an IPv4
 * address or [IPv6]); the port defaults to 8443. */
err_t feed_url_parse(const char *url, char host[FEED_HOST_MAX], char port[8]) MUST_CHECK;

/* feed_mix hands |n| bytes to |device|: credited with RNDADDENTROPY when
 * |credit| bits > 0 (at most 256 are honest; the caller decides), else
 * written (mixed, not credited); then RNDRESEEDCRNG when |reseed| and
 * permitted. Sets res->bytes_mixed, bits_credited and reseeded. */
struct api_feed_result;
err_t feed_mix(const char *device, const uint8_t *buf, size_t n, unsigned credit, bool reseed,
	       struct api_feed_result *res, char *why, size_t why_len) MUST_CHECK;

/* feed_crng_ready: the kernel's CRNG is initialised (getrandom with
 * GRND_NONBLOCK does not fail with EAGAIN). */
bool feed_crng_ready(void);

#endif
