/* api/tls.h — fount's TLS server contexts (api/tls.c). Private to api/. */
#ifndef FOUNT_API_TLS_H
#define FOUNT_API_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct ssl_ctx_st;

#define TLS_MAX_PINS 64

/* SHA-256 fingerprints of self-signed client certificates trusted as they are. */
struct tls_pins {
	uint8_t sha256[TLS_MAX_PINS][32];
	size_t n;
};

/* tls_pins_parse reads fingerprints as 64 hex digits each, optionally
 * "sha256:"-prefixed or with ':' between bytes (openssl x509 -fingerprint),
 * separated by ',' or ' '. */
err_t tls_pins_parse(const char *s, struct tls_pins *out) MUST_CHECK NONNULL(2);
bool tls_pinned(const struct tls_pins *p, const uint8_t fp[32]);

/* tls_set_groups limits |ctx|'s key-agreement groups to the approved ones
 * in FIPS mode (NIST curves, FFDHE; no X25519/X448); false: OpenSSL
 * refused the list. */
bool tls_set_groups(struct ssl_ctx_st *ctx) NONNULL(1);

struct tls_server_options {
	const char *cert_file, *key_file, *client_ca;
	const struct tls_pins *pins;
	bool tls_compat;
	bool client_cert_optional; /* HTTPS: a client may come without one (a token then) */
	unsigned sessions;         /* sessions cached for resumption; 0: TLS_SESSIONS_DEFAULT */
};

/* Each cached session holds the client's certificate and chain, decoded
 * with its public key: about 9 KiB for fount's own RSA-2048 client
 * certificate (measured: a soak's server heap grew by that much per full
 * handshake until the cache was flushed), more for longer chains. Every
 * handshake, full or resumed, adds one (TLS 1.3 issues a new ticket each
 * time), and a full cache drops its oldest, so the cache's memory is at
 * most sessions x that. */
#define TLS_SESSIONS_DEFAULT 2048

/* tls_server_ctx makes an SSL_CTX with fount's server policy (api/tls.c).
 * On failure |why| names the file and the fix. */
err_t tls_server_ctx(const struct tls_server_options *o, struct ssl_ctx_st **out, char *why,
		     size_t why_len) MUST_CHECK;

#endif
