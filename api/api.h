/* api/api.h — the one public header of api/: start, stop and inspect the
 * listeners through which clients reach fount: the KMIP server (KMIP
 * 1.0-1.4, TTLV over mutual TLS, port 5696), the EGD socket and the HTTP API
 * (JSON over HTTPS, port 8443; libmicrohttpd behind fount's own TLS). */
#ifndef FOUNT_API_API_H
#define FOUNT_API_API_H

#include <signal.h>
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
	unsigned tls_sessions;         /* sessions kept for resumption; 0: 2048 */
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
/* api_set_lease sets the lease a Get grants and Obtain Lease renews, in
 * seconds ([keys] default_lease; 3600 until set). */
void api_set_lease(unsigned seconds);

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
	unsigned long tls_sessions;  /* TLS sessions cached for resumption now */
};
void api_kmip_stats(struct api_kmip *s, struct api_kmip_stats *out) NONNULL(1, 2);

/* api_kmip_stop closes the listener and every connection, waits for their
 * threads and frees |s|. NULL does nothing. */
void api_kmip_stop(struct api_kmip *s);

/* ---- the EGD socket (api/egd.c) ----------------------------------------------
 * The Entropy Gathering Daemon protocol (commands 00-04, vm-entropy.md
 * §1.1) for QEMU's rng-egd backend of virtio-rng, on a Unix socket and
 * optionally on loopback TCP. One event thread serves every connection;
 * every byte it sends is DRBG output (drbg_generate, gated on the module
 * state) or a count. While fount is not OPERATIONAL, 02 waits, 01 answers
 * 0 bytes and 00 reports 0 bits (else 256, the DRBG's security strength);
 * 03 data is DRBG additional input, never credited. */
struct api_egd_options {
	const char *socket;        /* Unix socket path; NULL or "" = none */
	const char *tcp_listen;    /* "127.0.0.1:PORT", "[::1]:PORT" or "localhost:PORT"
				    * (port 0 picks one); NULL or "" = none. Only
				    * loopback: EGD has no authentication */
	unsigned max_connections;  /* 0: 256; more are closed at once */
	uint64_t rate;             /* bytes/s per connection (replies and 03 data); 0 = unlimited */
	unsigned drain_ms;         /* at stop: time to answer outstanding reads; 0: 2000 */
};

struct api_egd;

/* api_egd_start listens (the socket file appears complete, mode 0660,
 * through bind to a temporary name and rename; an existing socket file is
 * replaced only when nobody listens on it) and starts the event thread. On
 * failure it returns an error and writes a one-line reason naming the path
 * or address and the fix to |why|. It does nothing slow: call it before
 * the power-on self-tests so that QEMU can connect early (reads wait). */
err_t api_egd_start(const struct api_egd_options *o, struct api_egd **out, char *why,
		    size_t why_len) MUST_CHECK NONNULL(1, 2);

/* api_egd_socket_path: the Unix socket ("" if none); api_egd_tcp_port: the
 * TCP port (0 if none). */
const char *api_egd_socket_path(const struct api_egd *s) NONNULL(1);
uint16_t api_egd_tcp_port(const struct api_egd *s) NONNULL(1);

/* Counters for /metrics (fount_egd_*). */
struct api_egd_stats {
	uint64_t connections;        /* accepted (fount_egd_connections_total) */
	uint64_t refused_busy;       /* closed at once: max_connections reached */
	unsigned open;               /* connections open now */
	uint64_t commands[5];        /* by opcode 00..04 */
	uint64_t bad_commands;       /* unknown opcodes (each closed its connection) */
	uint64_t bytes_served;       /* DRBG bytes in 01 and 02 replies */
	uint64_t bytes_written;      /* 03 data bytes received */
	uint64_t bytes_mixed;        /* of those, mixed into the DRBG (none outside OPERATIONAL) */
	uint64_t longest_wait_ns;    /* the longest a 02 waited for its reply */
	uint64_t waiting;            /* connections whose 02 waits for the module now */
};
void api_egd_stats(struct api_egd *s, struct api_egd_stats *out) NONNULL(1, 2);

/* One open connection, as SO_PEERCRED (Unix) or the address (TCP) tells. */
struct api_egd_peer {
	int64_t pid;                 /* -1 over TCP */
	int64_t uid, gid;            /* -1 over TCP */
	char addr[64];               /* "unix" or "127.0.0.1:PORT" */
	uint64_t served;             /* DRBG bytes sent to it so far */
};
/* api_egd_peers fills up to |cap| entries and returns how many there are. */
size_t api_egd_peers(struct api_egd *s, struct api_egd_peer *out, size_t cap) NONNULL(1);

/* api_egd_stop closes the listeners (and removes the socket file it made),
 * answers the reads already received within drain_ms if fount can, then
 * closes every connection, stops the thread and frees |s|. NULL does
 * nothing. Call it before drbg_tree_shutdown. */
void api_egd_stop(struct api_egd *s);

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

/* ---- `fount feed` (api/feed.c) ------------------------------------------------
 * Fetch random bytes from a fount server over HTTPS and mix them into this
 * machine's kernel pool. */
#define FEED_DEFAULT_BYTES 64
#define FEED_MAX_BYTES 4096

struct api_feed_options {
	const char *server;     /* https://HOST[:PORT] (default port 8443) */
	const char *ca_file;    /* PEM: the CA (or the certificate) the server's must chain to */
	const char *cert_file;  /* client certificate (PEM), or NULL */
	const char *key_file;   /* its key (NULL: in cert_file) */
	const char *token_file; /* a bearer token (mode 0600), or NULL */
	size_t bytes;           /* per feed, 1..FEED_MAX_BYTES (0: FEED_DEFAULT_BYTES) */
	bool credit;            /* credit the bytes (RNDADDENTROPY, CAP_SYS_ADMIN) while the CRNG is not ready */
	bool reseed;            /* RNDRESEEDCRNG after mixing (CAP_SYS_ADMIN; skipped without it) */
	const char *device;     /* NULL: /dev/urandom */
	unsigned timeout_ms;    /* for the whole exchange; 0: 10 s */
};

struct api_feed_result {
	size_t bytes_mixed;      /* 0 when nothing was fed */
	unsigned bits_credited;  /* 0: mixed only */
	bool crng_ready_before;  /* the kernel's CRNG was ready before this feed */
	bool reseeded;           /* RNDRESEEDCRNG succeeded */
	char server_state[32];   /* what /v1/health said ("unknown" if it said nothing) */
};

/* api_feed_once checks the server's certificate and its state
 * (OPERATIONAL, from GET /v1/health), fetches |bytes| from /v1/random and
 * mixes them into the kernel pool. It refuses, with a one-line reason in
 * |why|, when the server cannot be reached, its certificate does not
 * match, or it is not OPERATIONAL; nothing is mixed then. */
err_t api_feed_once(const struct api_feed_options *o, struct api_feed_result *res, char *why, size_t why_len)
	MUST_CHECK NONNULL(1, 2, 3);

/* ---- `fount agent` (api/agent.c) ----------------------------------------------
 * One process per host: it fetches the keys it manages from a fount
 * server (HTTPS with a client certificate), keeps them in locked memory
 * and as logon keys in the user keyring (timing out with their lease),
 * renews the leases, serves the keys to systemd-cryptsetup on a Unix
 * socket, follows GET /v1/events, and on revoke, destroy or compromise
 * drops the key and runs its hook; on rekey it takes the new key. */
struct api_agent_key {
	const char *name; /* local name: crypttab volume, keyring description fount:NAME */
	const char *key;  /* the server's id or name for it */
	const char *hook; /* /bin/sh command; NULL or "" = none */
};

/* What the agent has done so far (api_agent_options.on_stats). */
struct api_agent_stats {
	uint64_t socket_sent;     /* keys sent to systemd-cryptsetup */
	uint64_t socket_refused;  /* peers refused: not root, not cryptsetup, unknown volume */
	uint64_t socket_not_held; /* a managed volume whose key was not held */
	uint64_t fetched;         /* keys fetched (a rekey's replacement too) */
	uint64_t renewed;         /* leases renewed */
	uint64_t dropped_event;   /* keys dropped on revoke, compromise, destroy */
	uint64_t dropped_lease;   /* keys dropped when their lease ended with no server */
	uint64_t rekeyed;
	uint64_t hooks_ok, hooks_failed;
	uint64_t last_event;      /* the last event handled */
	unsigned keys_held, keys_total;
	bool server_up;
};

struct api_agent_options {
	const char *servers;     /* "https://HOST[:PORT],..." tried in order */
	const char *ca_file;     /* the servers' CA */
	const char *cert_file;   /* the host's client certificate */
	const char *key_file;    /* its key (NULL: in cert_file) */
	const char *socket_path; /* crypttab key-file socket; NULL or "" = none */
	const char *state_file;  /* the last event handled, kept across restarts */
	bool keyring;            /* logon keys fount:NAME in the user keyring */
	bool keep_after_lease;   /* server unreachable: keep keys past their lease */
	unsigned timeout_ms;     /* one request; 0: 10 s */
	const struct api_agent_key *keys;
	size_t n_keys;
	/* called from the agent's loop after each round (NULL: none) */
	void (*on_stats)(const struct api_agent_stats *st, void *arg);
	void *stats_arg;
};

/* api_agent_run runs until *stop is set; ERR_CONFIG (with |why|) when it
 * cannot start: no key, a bad server list, an unusable socket path. */
err_t api_agent_run(const struct api_agent_options *o, volatile sig_atomic_t *stop, char *why, size_t why_len)
	MUST_CHECK NONNULL(1, 2, 3);

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
	/* the last self-test run (power-on, periodic or on demand): its rows,
	 * its verdict and when it ended (Unix time); 0 rows when none ran */
	size_t (*last_selftest)(struct api_selftest_row *rows, size_t cap, err_t *verdict, int64_t *at);
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
	API_HTTP_EP_KEY_LEASE, API_HTTP_EP_KEY_HOLDERS, API_HTTP_EP_HOLDER_KEYS, API_HTTP_EP_EVENTS,
	API_HTTP_EP_METRICS,
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

/* ---- the security policy's services (`fount policy`) ---------------------------
 * Every KMIP operation fount answers and every HTTP route, with what it
 * does, the role that may call it and whether it is an approved service,
 * from entries beside the operation and route tables; summary is NULL
 * for one that has no entry (fount policy refuses to write a policy then).
 * Return the count; entries past |max| are not written. */
struct api_service {
	char name[64];       /* "Create", "GET /v1/keys/{id}/material" */
	const char *summary; /* what it does */
	const char *role;    /* who may call it */
	const char *approved; /* "approved", "approved (no cryptography)", ... */
};
size_t api_kmip_services(struct api_service *out, size_t max);
size_t api_http_services(struct api_service *out, size_t max);

#endif
