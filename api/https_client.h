/* api/https_client.h — the HTTPS client of `fount feed` and `fount agent`:
 * one connection to a fount server, the server checked against one pinned
 * CA and the name in the URL, an optional client certificate, every step
 * bounded by a deadline. Private to api/. */
#ifndef FOUNT_API_HTTPS_CLIENT_H
#define FOUNT_API_HTTPS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "api/feed.h"
#include "util/util.h"

/* How to reach the server; |section| names the config section the files
 * come from in messages ("feed", "agent"), |refusing| ends a message
 * about a server that is not the one configured ("refusing to feed"). */
struct https_tls {
	const char *ca_file;   /* PEM: the CA (or the certificate) the server's must chain to */
	const char *cert_file; /* client certificate (PEM), or NULL */
	const char *key_file;  /* its key (NULL: in cert_file) */
	const char *section;
	const char *refusing;
};

struct https_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	uint64_t deadline_ms; /* CLOCK_MONOTONIC; https_deadline sets it */
	uint8_t *buf;         /* responses, in secure memory (they may carry keys) */
	size_t cap, used;
	char host[FEED_HOST_MAX];
};

uint64_t https_now_ms(void);

/* https_open connects to |url| ("https://HOST[:PORT]") and runs the TLS
 * handshake, all within |timeout_ms|; responses up to |buf_cap| bytes
 * (head and body) can be read. ERR_CONFIG: the URL or a file is wrong;
 * ERR_INTEGRITY: the server's certificate does not match; ERR_IO: no
 * connection. On failure |c| is closed. */
err_t https_open(struct https_conn *c, const char *url, const struct https_tls *t, size_t buf_cap,
		 unsigned timeout_ms, char *why, size_t why_len) MUST_CHECK NONNULL(1, 2, 3, 6);

/* https_deadline gives the next requests |ms| from now. */
void https_deadline(struct https_conn *c, unsigned ms);

/* https_request sends |method| |path| (no body; POST with Content-Length
 * 0) with an optional extra header line (e.g. "Authorization: Bearer X",
 * no CRLF) and reads the whole response, its body into |body| (|cap|). */
err_t https_request(struct https_conn *c, const char *method, const char *path, const char *header,
		    uint8_t *body, size_t cap, struct feed_http *r, char *why, size_t why_len)
	MUST_CHECK NONNULL(1, 2, 3, 5, 7, 8);

/* https_close shuts the connection down and wipes its buffer; safe on a
 * closed or zeroed-with-fd=-1 connection. */
void https_close(struct https_conn *c);

#endif
