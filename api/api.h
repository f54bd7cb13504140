/* api/api.h — the one public header of api/: start, stop and inspect the
 * listeners through which clients reach fount: the KMIP server (KMIP
 * 1.0-1.4, TTLV over mutual TLS, port 5696) and the HTTP API (JSON over
 * HTTPS, port 8443; libmicrohttpd behind fount's own TLS). */
#ifndef FOUNT_API_API_H
#define FOUNT_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* What a KMIP listener needs. Paths are PEM files; strings are copied at
 * start. */
struct api_kmip_options {
	const char *listen;      /* "HOST:PORT", "[V6]:PORT" or ":PORT"; port 0 picks one */
	const char *cert_file;   /* the server's certificate (and chain) */
	const char *key_file;    /* its private key (0600) */
	const char *client_ca;   /* CA certificates client certificates chain to */
	const char *pins;        /* SHA-256 fingerprints (hex, ',' or ' ' separated) of
				  * self-signed client certificates trusted as they are,
				  * or NULL */
	const char *bindings;    /* a tenant bindings file (api/auth.c), or NULL */
	const char *admins;      /* tenant names with admin rights, ',' separated, or NULL */
	bool tls_compat;         /* also offer TLS 1.2 AES-CBC-SHA256 suites (older clients) */
	size_t max_message;      /* largest request accepted, bytes (0: 1 MiB) */
	unsigned max_connections;      /* 0: 256 */
	unsigned handshake_timeout_ms; /* 0: 10 s */
	unsigned idle_timeout_ms;      /* between requests; 0: 300 s */
	unsigned message_timeout_ms;   /* to receive one whole request; 0: 30 s */
};

struct api_kmip;
struct store;

/* api_set_store gives the listeners the key store their object operations
 * work on (NULL: none; Create, Get and the rest are then Operation Not
 * Supported) and whether administrators may read other tenants' key
 * material ([kmip] admin_key_access; they manage every object's lifecycle
 * and attributes either way). Set it before the listeners start, clear it
 * after they stop. */
void api_set_store(struct store *s, bool admins_read_keys);

/* api_kmip_start loads the certificates, binds the listener and starts
 * serving on threads of its own. On failure it returns an error and writes
 * a one-line reason naming the file or address and the fix to |why|. */
err_t api_kmip_start(const struct api_kmip_options *o, struct api_kmip **out, char *why,
		     size_t why_len) MUST_CHECK NONNULL(1, 2);

/* api_kmip_port returns the TCP port it listens on. */
uint16_t api_kmip_port(const struct api_kmip *s) NONNULL(1);

struct api_kmip_stats {
	uint64_t connections;        /* accepted TCP connections */
	uint64_t handshakes_failed;  /* no, an untrusted or a refused client certificate, or bad TLS */
	uint64_t refused_busy;       /* closed at once: max_connections reached */
	uint64_t requests;           /* request messages answered */
	uint64_t timeouts;           /* connections closed on a handshake, idle or message timeout */
	unsigned active;             /* connections open now */
};
void api_kmip_stats(struct api_kmip *s, struct api_kmip_stats *out) NONNULL(1, 2);

/* api_kmip_stop closes the listener and every connection, waits for their
 * threads and frees |s|. NULL does nothing. */
void api_kmip_stop(struct api_kmip *s);

/* api_tenant_binding_line formats one line of the tenant bindings file
 * (api/auth.c): |kind| "fingerprint" (|fp| the certificate's SHA-256),
 * "issuer-cn" (|fp| the CA certificate's, |cn|) or "cn" (|cn|), for
 * |tenant|. ERR_INVALID_ARG for a tenant or CN the file cannot hold. */
err_t api_tenant_binding_line(const char *kind, const uint8_t fp[32], const char *cn, const char *tenant,
			      char *out, size_t out_len) MUST_CHECK;

/* ---- fount's own PKI (api/pki.c) -------------------------------------------
 * <state_dir>/pki holds a CA, the server's certificate and the client
 * certificates it issued. */
#define API_PKI_PATH 4096
#define API_PKI_MAX_NAMES 32
struct api_pki {
	char dir[API_PKI_PATH], clients[API_PKI_PATH];
	char ca_cert[API_PKI_PATH], ca_key[API_PKI_PATH];
	char server_cert[API_PKI_PATH], server_key[API_PKI_PATH];
};

/* api_pki_paths fills |out| with the paths under |state_dir|. */
err_t api_pki_paths(const char *state_dir, struct api_pki *out) MUST_CHECK NONNULL(1, 2);

/* api_pki_names fills |names| (up to |cap|) with the names a server
 * certificate fount makes gets: localhost, this host's name, 127.0.0.1, ::1,
 * then the ',' or ' ' separated words of |extra| ([kmip] hostnames), kept
 * in |buf| (|buf_len| bytes, which must outlive |names|). Returns how many. */
size_t api_pki_names(const char *extra, char *buf, size_t buf_len, const char **names, size_t cap) NONNULL(2, 4);

/* api_pki_init makes what is missing of the CA and the server certificate
 * (SANs: |names|, DNS names and IP addresses) and sets *created when it
 * made anything. Existing files are used as they are. */
err_t api_pki_init(const char *state_dir, const char *const *names, size_t n_names, struct api_pki *out,
		   bool *created, char *why, size_t why_len) MUST_CHECK;

/* api_pki_issue makes a client key and certificate (CN |tenant|, EKU
 * clientAuth) signed by the CA, as |dir|/|tenant|.pem and .key (0600); it
 * never overwrites. */
err_t api_pki_issue(const struct api_pki *p, const char *tenant, const char *dir, char *cert_path,
		    char *key_path, size_t path_len, char *why, size_t why_len) MUST_CHECK;

/* api_pki_sign signs a client's PKCS#10 request (vCenter's "KMS-signed
 * CSR" mode) for |tenant|: the CN is the tenant's, the key the request's.
 * *pem is the certificate (malloc'd). */
err_t api_pki_sign(const struct api_pki *p, const char *tenant, const uint8_t *csr, size_t csr_len,
		   uint8_t **pem, size_t *pem_len, char *why, size_t why_len) MUST_CHECK;

/* ---- the HTTP API (api/http.c, api/http_routes.c) ---------------------------
 * HTTPS on fount's TLS stack (api/tls.c, the same OpenSSL library context
 * as KMIP); libmicrohttpd parses the HTTP it is handed in plaintext over a
 * socketpair. A client proves who it is with a client certificate (mapped
 * to a tenant as for KMIP) or a bearer token from the token file. */

/* One self-test as POST /v1/selftest reports it. */
struct api_selftest_row {
	const char *name;
	err_t r;
	uint64_t ns;
	char detail[96];
	bool skipped;
};

/* What api/ cannot ask selftest/ itself (it sits below it): cli/ wires
 * these to selftest_state_name(selftest_state()), selftest_operational,
 * selftest_error_cause and selftest_run. Any may be NULL: then the state is
 * "UNKNOWN", not operational, and POST /v1/selftest answers 503. */
struct api_http_hooks {
	const char *(*state_name)(void);
	bool (*operational)(void);
	const char *(*error_cause)(void); /* NULL when there is none */
	err_t (*selftest)(struct api_selftest_row *rows, size_t cap, size_t *n);
};

struct api_http_options {
	const char *listen;        /* HTTPS: HOST:PORT, [V6]:PORT or :PORT; NULL or "": none */
	const char *plain_listen;  /* plain HTTP: a loopback HOST:PORT or unix:PATH; NULL or "": none */
	const char *cert_file, *key_file, *client_ca; /* as for KMIP */
	const char *pins, *bindings, *admins;         /* as for KMIP */
	bool tls_compat;
	const char *tokens;        /* the token file (api_http_token_add); NULL or "": none */
	size_t random_max;         /* largest /v1/random, bytes; 0: 1 MiB */
	uint64_t rate_bytes;       /* /v1/random bytes per second per tenant; 0: no limit */
	bool plaintext_material;   /* plaintext key material over mutual TLS */
	unsigned max_connections;  /* 0: 1024 */
	unsigned handshake_timeout_ms; /* 0: 10 s */
	unsigned idle_timeout_s;   /* keep-alive connections with no request; 0: 60 s */
	unsigned threads;          /* pump threads; 0: one per CPU, at most 8 */
	const struct api_http_hooks *hooks;
};

struct api_http;

/* api_http_start checks the options (a plain listener elsewhere than on
 * loopback or a Unix socket is refused), loads the certificates, binds
 * the listeners and starts the pump threads. |why| gets a one-line reason
 * naming the key or file and the fix. */
err_t api_http_start(const struct api_http_options *o, struct api_http **out, char *why,
		     size_t why_len) MUST_CHECK NONNULL(1, 2);
/* api_http_port and api_http_plain_port: the TCP ports listened on (0: none). */
uint16_t api_http_port(const struct api_http *h) NONNULL(1);
uint16_t api_http_plain_port(const struct api_http *h) NONNULL(1);
/* api_http_stop closes the listeners and every connection, joins the
 * threads and frees |h|. NULL does nothing. */
void api_http_stop(struct api_http *h);

/* api_http_plain_ok says whether |listen| may carry plain HTTP: unix:PATH,
 * or HOST:PORT whose HOST is a loopback address (127.0.0.0/8, ::1,
 * localhost). Otherwise |why| names the fix. */
bool api_http_plain_ok(const char *listen, char *why, size_t why_len) NONNULL(1);

/* Counters for /metrics and the status page (kept by api/http.c). */
enum api_http_endpoint {
	API_HTTP_EP_ROOT, API_HTTP_EP_HEALTH, API_HTTP_EP_RANDOM, API_HTTP_EP_SELFTEST,
	API_HTTP_EP_KEYS_CREATE, API_HTTP_EP_KEYS_LIST, API_HTTP_EP_KEY_GET, API_HTTP_EP_KEY_MATERIAL,
	API_HTTP_EP_KEY_ACTIVATE, API_HTTP_EP_KEY_REVOKE, API_HTTP_EP_KEY_REKEY, API_HTTP_EP_KEY_DELETE,
	API_HTTP_EP_OTHER, /* unknown paths and unparseable requests */
	API_HTTP_EP_COUNT
};
#define API_HTTP_STATUSES 15 /* api_http_status_of: the statuses counted, the last "other" */
struct api_http_stats {
	uint64_t connections;       /* accepted (both listeners) */
	uint64_t handshakes_failed;
	uint64_t refused_busy;      /* closed at once: max_connections reached */
	uint64_t timeouts;          /* handshakes not done in time */
	unsigned active;            /* connections open now */
	uint64_t random_bytes;      /* DRBG bytes /v1/random served (before hex/base64) */
	uint64_t body_bytes;        /* response body bytes queued */
	uint64_t requests[API_HTTP_EP_COUNT][API_HTTP_STATUSES];
};
void api_http_stats(struct api_http *h, struct api_http_stats *out) NONNULL(1, 2);
/* api_http_endpoint_name: "random", "keys_create", ...; api_http_status_of:
 * the HTTP status counted in column |i| (0 for the last, "other"). */
const char *api_http_endpoint_name(unsigned ep);
unsigned api_http_status_of(unsigned i);

/* api_http_token_add makes a bearer token for |tenant| (an admin when
 * |admin|): 32 bytes from the DRBG, written to |token| (at least
 * API_HTTP_TOKEN_LEN + 1 bytes) once; only its SHA-256 is appended to the
 * token file |path| (made 0600 if missing). */
#define API_HTTP_TOKEN_LEN 67 /* "ft_" + 64 hex digits */
err_t api_http_token_add(const char *path, const char *tenant, bool admin, char *token, size_t token_len,
			 char *why, size_t why_len) MUST_CHECK NONNULL(1, 2, 4);

#endif
