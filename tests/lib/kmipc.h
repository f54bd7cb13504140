/* tests/lib/kmipc.h — a small KMIP client over mutual TLS, for tests and the
 * benchmark: connect (TLS 1.2 or 1.3, client certificate and key, the
 * server's CA, optionally resuming the last session), send one TTLV
 * message, read one response (the 8-byte header first, then the body,
 * capped), with send/receive timeouts; or, for a test about the bytes
 * themselves, write and read the stream as it is. One struct kmipc is one
 * connection at a time and is not shared between threads.
 *
 * The response buffer is secure memory (responses carry key material) and
 * is wiped when the next response replaces it and by kmipc_free; bytes
 * read with kmipc_read go where the caller says. */
#ifndef FOUNT_TESTS_KMIPC_H
#define FOUNT_TESTS_KMIPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct kmipc_options {
	const char *host;        /* numeric IPv4/IPv6 address; NULL = 127.0.0.1 */
	unsigned port;
	const char *ca_file;     /* PEM: the CA that signed the server's certificate */
	const char *cert_file;   /* PEM: the client certificate; NULL: none */
	const char *key_file;    /* PEM: its private key; NULL: in cert_file */
	int min_tls, max_tls;    /* TLS1_2_VERSION / TLS1_3_VERSION; 0 = 1.2 and 1.3 */
	bool resume;             /* offer the previous connection's session */
	int timeout_ms;          /* per connect/send/receive; 0 = 10 s */
	size_t max_response;     /* largest response accepted; 0 = 1 MiB */
};

struct kmipc;

/* kmipc_new makes a client (its TLS context) from |o|; NULL on failure,
 * with why (|why_len| bytes) saying what. Nothing is connected yet. */
struct kmipc *kmipc_new(const struct kmipc_options *o, char *why, size_t why_len) NONNULL(1);
void kmipc_free(struct kmipc *c);

/* kmipc_connect opens a TCP connection and does the TLS handshake
 * (verifying the server's certificate against the CA; no host name
 * check), closing any connection open before. With o->resume it offers
 * the session of the last connection. */
err_t kmipc_connect(struct kmipc *c, char *why, size_t why_len) MUST_CHECK NONNULL(1);
/* kmipc_resumed tells whether the open connection resumed a session. */
bool kmipc_resumed(const struct kmipc *c) NONNULL(1);
/* kmipc_tls_version is the open connection's TLS version
 * (TLS1_2_VERSION, TLS1_3_VERSION), 0 when none is open. */
int kmipc_tls_version(const struct kmipc *c) NONNULL(1);
/* kmipc_can_resume tells whether the client keeps a resumable session to
 * offer on the next connect (with o->resume): the one kmipc_close kept. A
 * TLS 1.3 session is resumable only once its ticket has been read, which
 * takes a round trip after the handshake. */
bool kmipc_can_resume(const struct kmipc *c) NONNULL(1);
/* kmipc_close shuts the connection down (keeping its session for resumption). */
void kmipc_close(struct kmipc *c) NONNULL(1);

/* kmipc_send writes |n| bytes as they are (a whole message, or on purpose
 * something that is not one). */
err_t kmipc_send(struct kmipc *c, const uint8_t *p, size_t n) MUST_CHECK NONNULL(1);
/* kmipc_recv reads one response: its 8-byte header, checked to be a
 * Structure of a plausible length no larger than max_response, then the
 * body. *resp points into the client's buffer until the next call.
 * ERR_IO on a closed connection or a timeout, ERR_PARSE / ERR_TOO_LARGE on
 * a bad header. */
err_t kmipc_recv(struct kmipc *c, const uint8_t **resp, size_t *resp_len) MUST_CHECK NONNULL(1, 2, 3);
/* kmipc_read reads exactly |n| bytes of the stream into |p|, whatever they
 * are, with the receive timeout: for a test about how responses arrive
 * (a slow reader taking a response in pieces), which frames them itself.
 * ERR_IO on a closed connection or a timeout. */
err_t kmipc_read(struct kmipc *c, uint8_t *p, size_t n) MUST_CHECK NONNULL(1);
/* kmipc_roundtrip is kmipc_send then kmipc_recv. */
err_t kmipc_roundtrip(struct kmipc *c, const uint8_t *req, size_t req_len, const uint8_t **resp,
		      size_t *resp_len) MUST_CHECK NONNULL(1, 4, 5);

#endif
