/* tests/test_kmip_server.c — the KMIP listener over real TLS on loopback:
 * a PKI made with keygen's X.509 functions, OpenSSL clients in the test
 * process (OpenSSL's own default library context, as a separate client
 * would have), and the listener's limits: who is let in (client CA, EKU,
 * pinned self-signed), who is not, what happens to garbage, oversized,
 * slow, silent and surplus connections, resumption, and the tenant
 * mapping with bindings. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "api/api.h"
#include "api/auth.h"
#include "api/internal.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "tests/helpers.h"
#include "tests/lib/kmipload.h"

static struct config cfg;
static char dir[64];
static bool open_gate(void)
{
	return true;
}

/* a key and certificate on disk */
struct ident {
	EVP_PKEY *key;
	X509 *cert;
	char cert_path[256], key_path[256];
};

static struct ident ca, other_ca, server, client, noeku, serveronly, foreign, pinned, unpinned;

static void write_ident(struct ident *id, const char *name)
{
	snprintf(id->cert_path, sizeof id->cert_path, "%s/%s.pem", dir, name);
	snprintf(id->key_path, sizeof id->key_path, "%s/%s.key", dir, name);
	FILE *f = fopen(id->cert_path, "w");
	if (f == NULL || PEM_write_X509(f, id->cert) != 1)
		abort();
	fclose(f);
	f = fopen(id->key_path, "w");
	if (f == NULL || PEM_write_PrivateKey(f, id->key, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	fclose(f);
}

/* make_ident makes a key of |type| and a certificate for it */
static int make_ident(struct ident *id, const char *name, const char *type, const struct keygen_cert_spec *spec,
		      struct ident *issuer)
{
	if (keygen_pkey_generate(keygen_type_find(type), &id->key) != ERR_OK)
		return -1;
	if (keygen_cert_issue(spec, id->key, issuer != NULL ? issuer->key : id->key,
			      issuer != NULL ? issuer->cert : NULL, &id->cert) != ERR_OK)
		return -1;
	write_ident(id, name);
	return 0;
}

static int suite_init(void)
{
	signal(SIGPIPE, SIG_IGN); /* the clients here write to closed connections on purpose */
	testlib_config(&cfg);
	if (keygen_init(&cfg) != ERR_OK)
		return -1;
	err_t r = entropy_init(&cfg);
	if (r != ERR_OK && r != ERR_USAGE)
		return -1;
	drbg_set_gate(open_gate);
	keygen_set_service_gate(open_gate);
	if (drbg_tree_init(&cfg) != ERR_OK || testlib_tmpdir_create(dir, "kmipsrv") != 0)
		return -1;
	static const char *const dns[] = {"localhost"};
	static const char *const ips[] = {"127.0.0.1", "::1"};
	struct keygen_cert_spec s_ca = {.cn = "fount test CA", .ca = true, .days = 2};
	struct keygen_cert_spec s_server = {.cn = "localhost", .dns = dns, .n_dns = 1, .ips = ips, .n_ips = 2,
					    .server_auth = true, .client_auth = true, .days = 2};
	struct keygen_cert_spec s_client = {.cn = "tenant-a", .client_auth = true, .days = 2};
	struct keygen_cert_spec s_noeku = {.cn = "tenant-noeku", .days = 2};
	struct keygen_cert_spec s_serveronly = {.cn = "tenant-serveronly", .server_auth = true, .days = 2};
	struct keygen_cert_spec s_foreign = {.cn = "tenant-foreign", .client_auth = true, .days = 2};
	struct keygen_cert_spec s_pinned = {.cn = "kmipClient20161127094708", .client_auth = true, .days = 2};
	struct keygen_cert_spec s_unpinned = {.cn = "kmipClient20990101000000", .client_auth = true, .days = 2};
	struct keygen_cert_spec s_other_ca = {.cn = "another CA", .ca = true, .days = 2};
	if (make_ident(&ca, "ca", "ec-p256", &s_ca, NULL) || make_ident(&other_ca, "other-ca", "ec-p256", &s_other_ca, NULL) ||
	    make_ident(&server, "server", "rsa-2048", &s_server, &ca) ||
	    make_ident(&client, "client", "ec-p256", &s_client, &ca) ||
	    make_ident(&noeku, "noeku", "ec-p256", &s_noeku, &ca) ||
	    make_ident(&serveronly, "serveronly", "ec-p256", &s_serveronly, &ca) ||
	    make_ident(&foreign, "foreign", "ec-p256", &s_foreign, &other_ca) ||
	    make_ident(&pinned, "pinned", "ec-p256", &s_pinned, NULL) ||
	    make_ident(&unpinned, "unpinned", "ec-p256", &s_unpinned, NULL))
		return -1;
	return 0;
}

static void free_ident(struct ident *id)
{
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
	memset(id, 0, sizeof *id);
}

static int suite_clean(void)
{
	struct ident *all[] = {&ca, &other_ca, &server, &client, &noeku, &serveronly, &foreign, &pinned, &unpinned};
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		free_ident(all[i]);
	drbg_tree_shutdown();
	drbg_set_gate(NULL);
	keygen_set_service_gate(NULL);
	entropy_shutdown();
	testlib_tmpdir_remove(dir);
	return 0;
}

static char pin_hex[65];

/* options: the listener's, with the test PKI and these limits */
static struct api_kmip_options options(unsigned max_conn, unsigned hs_ms, unsigned idle_ms, unsigned msg_ms,
				       bool compat, const char *bindings)
{
	uint8_t fp[32];
	pin_hex[0] = '\0';
	if (keygen_cert_sha256(pinned.cert, fp) == ERR_OK)
		hex_encode(pin_hex, fp, 32);
	return (struct api_kmip_options){
		.listen = "127.0.0.1:0",
		.cert_file = server.cert_path,
		.key_file = server.key_path,
		.client_ca = ca.cert_path,
		.pins = pin_hex,
		.bindings = bindings,
		.tls_compat = compat,
		.max_message = 64 * 1024,
		.max_connections = max_conn,
		.handshake_timeout_ms = hs_ms,
		.idle_timeout_ms = idle_ms,
		.message_timeout_ms = msg_ms,
	};
}

static struct api_kmip *start_with(const struct api_kmip_options *o)
{
	if (pin_hex[0] == '\0')
		return NULL;
	struct api_kmip *s = NULL;
	char why[256];
	err_t r = api_kmip_start(o, &s, why, sizeof why);
	if (r != ERR_OK)
		fprintf(stderr, "\n  api_kmip_start: %s\n", why);
	return s;
}

static struct api_kmip *start(unsigned max_conn, unsigned hs_ms, unsigned idle_ms, unsigned msg_ms, bool compat,
			      const char *bindings)
{
	struct api_kmip_options o = options(max_conn, hs_ms, idle_ms, msg_ms, compat, bindings);
	return start_with(&o);
}

static int tcp_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

struct cli {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
};

/* client_ctx: a TLS client that verifies the server against the test CA
 * and its IP SAN 127.0.0.1 (as mongod does), and sends no SNI (as PyKMIP
 * and kmippp do). */
static SSL_CTX *client_ctx(const struct ident *id, const char *ciphers12, int max_version)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_file(ctx, ca.cert_path) != 1)
		abort();
	if (id != NULL && (SSL_CTX_use_certificate_file(ctx, id->cert_path, SSL_FILETYPE_PEM) != 1 ||
			   SSL_CTX_use_PrivateKey_file(ctx, id->key_path, SSL_FILETYPE_PEM) != 1))
		abort();
	if (ciphers12 != NULL)
		SSL_CTX_set_cipher_list(ctx, ciphers12);
	if (max_version != 0)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), "127.0.0.1");
	return ctx;
}

/* cli_open connects and handshakes; returns true when the handshake and
 * a first exchange (TLS 1.3 reports a refused client certificate only at
 * the first read) succeed, leaving c open either way. */
static bool cli_open(struct cli *c, SSL_CTX *ctx, uint16_t port, SSL_SESSION *resume)
{
	memset(c, 0, sizeof *c);
	c->ctx = ctx;
	c->fd = tcp_connect(port);
	if (c->fd < 0)
		return false;
	c->ssl = SSL_new(ctx);
	SSL_set_fd(c->ssl, c->fd);
	if (resume != NULL)
		SSL_set_session(c->ssl, resume);
	bool ok = SSL_connect(c->ssl) == 1;
	ERR_clear_error();
	return ok;
}

static void cli_close(struct cli *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof *c);
	c->fd = -1;
	ERR_clear_error();
}

static bool read_n(SSL *ssl, uint8_t *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		int k = SSL_read(ssl, buf + got, (int)(n - got));
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

/* exchange sends |req| and reads one response into a malloc'd buffer;
 * returns its length, 0 when the connection ended first */
static size_t exchange(struct cli *c, const uint8_t *req, size_t req_len, uint8_t **out)
{
	*out = NULL;
	if (SSL_write(c->ssl, req, (int)req_len) != (int)req_len)
		return 0;
	uint8_t hdr[8];
	if (!read_n(c->ssl, hdr, 8))
		return 0;
	size_t len = 0;
	if (ttlv_frame_len(hdr, 1 << 24, &len) != ERR_OK)
		return 0;
	uint8_t *b = malloc(len);
	memcpy(b, hdr, 8);
	if (!read_n(c->ssl, b + 8, len - 8)) {
		free(b);
		return 0;
	}
	*out = b;
	return len;
}

/* rng_ok: one RNG Retrieve of 32 bytes answered with Success and 32 bytes */
static bool rng_ok(struct cli *c)
{
	struct ttlv_enc q;
	if (kl_rng_request(&q, 32) != ERR_OK)
		abort();
	uint8_t *resp = NULL;
	size_t n = exchange(c, q.buf, q.len, &resp);
	ttlv_enc_free(&q);
	if (n == 0)
		return false;
	struct ttlv_doc d;
	bool ok = ttlv_decode(&d, resp, n) == ERR_OK;
	if (ok) {
		const struct ttlv_item *bi = ttlv_find(ttlv_root(&d), KMIP_TAG_BATCH_ITEM);
		const struct ttlv_item *st = ttlv_find(bi, KMIP_TAG_RESULT_STATUS);
		const struct ttlv_item *data = ttlv_find(ttlv_find(bi, KMIP_TAG_RESPONSE_PAYLOAD), KMIP_TAG_DATA);
		ok = st != NULL && st->u == KMIP_RESULT_STATUS_SUCCESS && data != NULL && data->len == 32;
	}
	ttlv_doc_free(&d);
	free(resp);
	return ok;
}

/* admitted: the handshake succeeds and a request is answered */
static bool admitted(const struct ident *id, uint16_t port)
{
	SSL_CTX *ctx = client_ctx(id, NULL, 0);
	struct cli c;
	bool ok = cli_open(&c, ctx, port, NULL) && rng_ok(&c);
	cli_close(&c);
	SSL_CTX_free(ctx);
	return ok;
}

static void test_who_gets_in(void)
{
	struct api_kmip *s = start(0, 0, 0, 0, false, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	uint16_t port = api_kmip_port(s);
	CU_ASSERT(port != 0);
	/* a client certificate from the client CA, with clientAuth or no EKU */
	CU_ASSERT(admitted(&client, port));
	CU_ASSERT(admitted(&noeku, port));
	/* a self-signed certificate pinned by its fingerprint (vCenter's mode) */
	CU_ASSERT(admitted(&pinned, port));
	/* refused: no certificate, serverAuth only, another CA, self-signed unpinned */
	CU_ASSERT_FALSE(admitted(NULL, port));
	CU_ASSERT_FALSE(admitted(&serveronly, port));
	CU_ASSERT_FALSE(admitted(&foreign, port));
	CU_ASSERT_FALSE(admitted(&unpinned, port));
	/* a refused handshake is counted by the server thread after it sent
	 * its alert: the client can see the alert first */
	struct api_kmip_stats st;
	for (int i = 0; i < 100; i++) {
		api_kmip_stats(s, &st);
		if (st.handshakes_failed >= 4 && st.active == 0)
			break;
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	CU_ASSERT_EQUAL(st.handshakes_failed, 4);
	CU_ASSERT_EQUAL(st.requests, 3);
	api_kmip_stop(s);
}

/* TLS 1.2 with only AES-CBC-SHA256 suites: refused unless tls_compat;
 * TLS 1.2 AEAD always works. */
static void test_cipher_policy(void)
{
	for (int compat = 0; compat <= 1; compat++) {
		struct api_kmip *s = start(0, 0, 0, 0, compat, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		SSL_CTX *cbc = client_ctx(&client, "AES128-SHA256", TLS1_2_VERSION);
		SSL_CTX *gcm = client_ctx(&client, "ECDHE-RSA-AES128-GCM-SHA256", TLS1_2_VERSION);
		struct cli c;
		bool ok = cli_open(&c, cbc, api_kmip_port(s), NULL) && rng_ok(&c);
		CU_ASSERT_EQUAL(ok, compat == 1);
		cli_close(&c);
		ok = cli_open(&c, gcm, api_kmip_port(s), NULL) && rng_ok(&c);
		CU_ASSERT(ok);
		CU_ASSERT_STRING_EQUAL(SSL_get_version(c.ssl), "TLSv1.2");
		cli_close(&c);
		SSL_CTX_free(cbc);
		SSL_CTX_free(gcm);
		api_kmip_stop(s);
	}
}

/* Key agreement: in FIPS mode only approved groups (NIST curves, FFDHE):
 * a client whose only group is X25519 is refused, one that sends an
 * X25519 key share first and also lists P-256 is asked for P-256
 * (HelloRetryRequest) and gets it, over TLS 1.3 and 1.2; outside FIPS mode
 * X25519 is taken (the suite also runs with fips = off: CRYPTO_SUITES). */
static void test_key_agreement_groups(void)
{
	struct api_kmip *s = start(0, 0, 0, 0, false, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	bool fips = keygen_fips_mode();
	for (int v = 0; v < 2; v++) {
		int max = v == 0 ? 0 : TLS1_2_VERSION;
		SSL_CTX *only = client_ctx(&client, NULL, max), *both = client_ctx(&client, NULL, max);
		CU_ASSERT_EQUAL_FATAL(SSL_CTX_set1_groups_list(only, "X25519"), 1);
		CU_ASSERT_EQUAL_FATAL(SSL_CTX_set1_groups_list(both, "X25519:P-256"), 1);
		struct cli c;
		/* over TLS 1.2 OpenSSL also refuses the client's ECDSA P-256
		 * certificate when P-256 is not among the client's own groups
		 * ("wrong curve", RFC 8422 §5.1) */
		bool ok = cli_open(&c, only, api_kmip_port(s), NULL) && rng_ok(&c);
		CU_ASSERT_EQUAL(ok, !fips && v == 0);
		if (ok)
			CU_ASSERT_EQUAL(SSL_get_negotiated_group(c.ssl), NID_X25519);
		cli_close(&c);
		ok = cli_open(&c, both, api_kmip_port(s), NULL) && rng_ok(&c);
		CU_ASSERT(ok);
		if (ok)
			CU_ASSERT_EQUAL(SSL_get_negotiated_group(c.ssl), fips ? NID_X9_62_prime256v1 : NID_X25519);
		CU_ASSERT_STRING_EQUAL(SSL_get_version(c.ssl), v == 0 ? "TLSv1.3" : "TLSv1.2");
		cli_close(&c);
		SSL_CTX_free(only);
		SSL_CTX_free(both);
	}
	api_kmip_stop(s);
}

/* Many requests on one connection; a second connection resumes the first
 * one's session (TLS 1.2 by id, TLS 1.3 by ticket). */
static void test_persistent_and_resumed(void)
{
	struct api_kmip *s = start(0, 0, 0, 0, false, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int v = 0; v < 2; v++) {
		SSL_CTX *ctx = client_ctx(&client, NULL, v == 0 ? TLS1_2_VERSION : 0);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
		struct cli c;
		CU_ASSERT_FATAL(cli_open(&c, ctx, api_kmip_port(s), NULL));
		int good = 0;
		for (int i = 0; i < 100; i++)
			good += rng_ok(&c);
		CU_ASSERT_EQUAL(good, 100);
		SSL_SESSION *sess = SSL_get1_session(c.ssl);
		cli_close(&c);
		CU_ASSERT_FATAL(cli_open(&c, ctx, api_kmip_port(s), sess));
		CU_ASSERT(rng_ok(&c));
		CU_ASSERT(SSL_session_reused(c.ssl) == 1);
		cli_close(&c);
		SSL_SESSION_free(sess);
		SSL_CTX_free(ctx);
	}
	api_kmip_stop(s);
}

/* The session cache is bounded ([kmip] tls_sessions): every handshake
 * leaves a session (TLS 1.3 sends a ticket each time, TLS 1.2 keeps the
 * id), each holding the client's certificate decoded (about 9 KiB), so
 * clients that never resume once filled the 20,000-entry cache of old for
 * an hour (a soak's server grew 0.3 MiB a second). With 4, ten full
 * handshakes leave at most 4; the newest still resumes, the first no
 * longer does. */
static void test_session_cache_bounded(void)
{
	struct api_kmip_options o = options(0, 0, 0, 0, false, NULL);
	o.tls_sessions = 4;
	struct api_kmip *s = start_with(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int v = 0; v < 2; v++) {
		SSL_CTX *ctx = client_ctx(&client, NULL, v == 0 ? TLS1_2_VERSION : 0);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
		SSL_SESSION *first = NULL, *last = NULL;
		for (int i = 0; i < 10; i++) {
			struct cli c;
			CU_ASSERT_FATAL(cli_open(&c, ctx, api_kmip_port(s), NULL));
			CU_ASSERT(rng_ok(&c)); /* TLS 1.3: the ticket comes with the first answer */
			SSL_SESSION_free(last);
			last = SSL_get1_session(c.ssl);
			if (i == 0)
				first = SSL_get1_session(c.ssl);
			cli_close(&c);
		}
		struct api_kmip_stats st;
		api_kmip_stats(s, &st);
		/* OpenSSL 3.0 counts the session it adds before it drops the
		 * oldest: it keeps one fewer than the cap */
		CU_ASSERT(st.tls_sessions >= 3 && st.tls_sessions <= 4);
		struct cli c;
		CU_ASSERT_FATAL(cli_open(&c, ctx, api_kmip_port(s), last));
		CU_ASSERT(rng_ok(&c));
		CU_ASSERT(SSL_session_reused(c.ssl) == 1);
		cli_close(&c);
		CU_ASSERT_FATAL(cli_open(&c, ctx, api_kmip_port(s), first));
		CU_ASSERT(rng_ok(&c)); /* a full handshake instead */
		CU_ASSERT(SSL_session_reused(c.ssl) == 0);
		cli_close(&c);
		api_kmip_stats(s, &st);
		CU_ASSERT(st.tls_sessions >= 3 && st.tls_sessions <= 4);
		SSL_SESSION_free(first);
		SSL_SESSION_free(last);
		SSL_CTX_free(ctx);
	}
	api_kmip_stop(s);
}

/* check_closed: the server closes |c| (reads end) within |ms| */
static bool closed_within(struct cli *c, int ms)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
	while (now_ns() < end) {
		if (poll(&p, 1, 50) > 0) {
			uint8_t b[256];
			int k = SSL_read(c->ssl, b, sizeof b);
			if (k <= 0)
				return true;
		}
	}
	return false;
}

/* Garbage after the handshake gets an Invalid Message answer, then the
 * connection closes; a request over max_message is answered and closed
 * before its body is read; the server goes on serving. */
static void test_garbage_and_oversized(void)
{
	struct api_kmip *s = start(0, 0, 0, 0, false, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	SSL_CTX *ctx = client_ctx(&client, NULL, 0);
	static const uint8_t garbage[] = "GET / HTTP/1.1\r\n\r\n";
	static const uint8_t huge[8] = {0x42, 0x00, 0x78, 0x01, 0x06, 0x00, 0x00, 0x00}; /* 100 MB */
	const uint8_t *bad[] = {garbage, huge};
	size_t bad_len[] = {sizeof garbage - 1, sizeof huge};
	for (size_t i = 0; i < 2; i++) {
		struct cli c;
		CU_ASSERT_FATAL(cli_open(&c, ctx, api_kmip_port(s), NULL));
		uint8_t *resp = NULL;
		size_t n = exchange(&c, bad[i], bad_len[i], &resp);
		CU_ASSERT(n > 0);
		struct ttlv_doc d;
		if (n > 0 && ttlv_decode(&d, resp, n) == ERR_OK) {
			const struct ttlv_item *bi = ttlv_find(ttlv_root(&d), KMIP_TAG_BATCH_ITEM);
			const struct ttlv_item *rr = ttlv_find(bi, KMIP_TAG_RESULT_REASON);
			CU_ASSERT(rr != NULL && rr->u == KMIP_RESULT_REASON_INVALID_MESSAGE);
			CU_ASSERT_PTR_NOT_NULL(ttlv_find(bi, KMIP_TAG_RESULT_MESSAGE));
			ttlv_doc_free(&d);
		} else {
			CU_FAIL("no decodable answer");
		}
		free(resp);
		CU_ASSERT(closed_within(&c, 2000));
		cli_close(&c);
	}
	CU_ASSERT(admitted(&client, api_kmip_port(s)));
	SSL_CTX_free(ctx);
	api_kmip_stop(s);
}

/* A client that stalls in the handshake, between requests or in the middle
 * of one is closed after its limit, and others are served meanwhile. */
static void test_timeouts_do_not_stall_others(void)
{
	struct api_kmip *s = start(0, 300, 300, 300, false, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	uint16_t port = api_kmip_port(s);
	SSL_CTX *ctx = client_ctx(&client, NULL, 0);
	/* silent TCP: no ClientHello */
	int raw = tcp_connect(port);
	CU_ASSERT_FATAL(raw >= 0);
	/* idle after the handshake */
	struct cli idle;
	CU_ASSERT_FATAL(cli_open(&idle, ctx, port, NULL));
	/* half a request */
	struct cli half;
	CU_ASSERT_FATAL(cli_open(&half, ctx, port, NULL));
	CU_ASSERT_EQUAL(SSL_write(half.ssl, "\x42\x00\x78\x01", 4), 4);
	/* meanwhile a good client is served at once */
	uint64_t t0 = now_ns();
	CU_ASSERT(admitted(&client, port));
	CU_ASSERT(now_ns() - t0 < 250000000u);
	CU_ASSERT(closed_within(&idle, 2000));
	CU_ASSERT(closed_within(&half, 2000));
	struct pollfd p = {.fd = raw, .events = POLLIN};
	char b;
	CU_ASSERT(poll(&p, 1, 2000) == 1 && read(raw, &b, 1) <= 0);
	close(raw);
	cli_close(&idle);
	cli_close(&half);
	struct api_kmip_stats st;
	api_kmip_stats(s, &st);
	CU_ASSERT(st.timeouts >= 3);
	SSL_CTX_free(ctx);
	api_kmip_stop(s);
}

/* Beyond max_connections a connection is closed at once; when one ends,
 * there is room again. api_kmip_stop ends open connections promptly. */
static void test_connection_cap_and_stop(void)
{
	struct api_kmip *s = start(2, 0, 0, 0, false, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	uint16_t port = api_kmip_port(s);
	SSL_CTX *ctx = client_ctx(&client, NULL, 0);
	struct cli a, b, c;
	CU_ASSERT_FATAL(cli_open(&a, ctx, port, NULL) && rng_ok(&a));
	CU_ASSERT_FATAL(cli_open(&b, ctx, port, NULL) && rng_ok(&b));
	bool third = cli_open(&c, ctx, port, NULL) && rng_ok(&c);
	CU_ASSERT_FALSE(third);
	cli_close(&c);
	struct api_kmip_stats st;
	api_kmip_stats(s, &st);
	CU_ASSERT_EQUAL(st.refused_busy, 1);
	cli_close(&a);
	/* the server notices the close, then admits again */
	bool again = false;
	for (int i = 0; i < 50 && !again; i++) {
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
		api_kmip_stats(s, &st);
		if (st.active < 2)
			again = admitted(&client, port);
	}
	CU_ASSERT(again);
	uint64_t t0 = now_ns();
	api_kmip_stop(s); /* b is still open */
	CU_ASSERT(now_ns() - t0 < 2000000000u);
	CU_ASSERT(closed_within(&b, 1000));
	cli_close(&b);
	SSL_CTX_free(ctx);
}

/* The tenant mapping: CN by default; bindings by fingerprint, issuer+CN
 * and CN, re-read when the file changes; admins; no CN, no tenant. */
static void test_tenant_mapping(void)
{
	char path[256], why[256] = "";
	snprintf(path, sizeof path, "%s/tenants", dir);
	unlink(path);
	struct auth *a = NULL;
	EXPECT_OK(auth_new(path, "ops, tenant-noeku", &a, why, sizeof why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	struct kmip_peer p;
	EXPECT_OK(auth_identify(a, client.cert, ca.cert, &p));
	CU_ASSERT_STRING_EQUAL(p.tenant, "tenant-a");
	CU_ASSERT_FALSE(p.admin);
	EXPECT_OK(auth_identify(a, noeku.cert, ca.cert, &p));
	CU_ASSERT(p.admin);

	/* vCenter regenerates its certificate: bind the new one to the old tenant */
	uint8_t fp[32], cafp[32];
	EXPECT_OK(keygen_cert_sha256(unpinned.cert, fp));
	EXPECT_OK(keygen_cert_sha256(ca.cert, cafp));
	char l1[256], l2[256], l3[256];
	EXPECT_OK(api_tenant_binding_line("fingerprint", fp, NULL, "vcenter", l1, sizeof l1));
	EXPECT_OK(api_tenant_binding_line("issuer-cn", cafp, "tenant-serveronly", "ops", l2, sizeof l2));
	EXPECT_OK(api_tenant_binding_line("cn", NULL, "tenant-foreign", "tenant-a", l3, sizeof l3));
	EXPECT_ERR(api_tenant_binding_line("cn", NULL, "x", "two words", l3, sizeof l3), ERR_INVALID_ARG);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "# bindings\n%s%s%s", l1, l2, l3);
	fclose(f);
	EXPECT_OK(auth_identify(a, unpinned.cert, NULL, &p));
	CU_ASSERT_STRING_EQUAL(p.tenant, "vcenter");
	EXPECT_OK(auth_identify(a, serveronly.cert, ca.cert, &p));
	CU_ASSERT_STRING_EQUAL(p.tenant, "ops");
	CU_ASSERT(p.admin);
	/* issuer+CN needs that issuer */
	EXPECT_OK(auth_identify(a, serveronly.cert, other_ca.cert, &p));
	CU_ASSERT_STRING_EQUAL(p.tenant, "tenant-serveronly");
	EXPECT_OK(auth_identify(a, foreign.cert, other_ca.cert, &p));
	CU_ASSERT_STRING_EQUAL(p.tenant, "tenant-a");
	/* a broken file keeps what was loaded */
	f = fopen(path, "a");
	fputs("fingerprint nothex x\n", f);
	fclose(f);
	EXPECT_OK(auth_identify(a, unpinned.cert, NULL, &p));
	CU_ASSERT_STRING_EQUAL(p.tenant, "vcenter");
	auth_free(a);
	/* and a broken file is refused at start, naming its line */
	EXPECT_ERR(auth_new(path, NULL, &a, why, sizeof why), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, ":5:"));
	unlink(path);
}

static void test_start_errors(void)
{
	struct api_kmip_options o = {.listen = "127.0.0.1:0", .cert_file = server.cert_path,
				     .key_file = server.key_path, .client_ca = ca.cert_path};
	struct api_kmip *s = NULL;
	char why[256];
	o.listen = "nonsense";
	EXPECT_ERR(api_kmip_start(&o, &s, why, sizeof why), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "[kmip] listen"));
	o.listen = "127.0.0.1:0";
	o.key_file = client.key_path; /* not the certificate's key */
	EXPECT_ERR(api_kmip_start(&o, &s, why, sizeof why), ERR_CRYPTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "does not match"));
	o.key_file = server.key_path;
	o.cert_file = "/nonexistent/server.pem";
	EXPECT_ERR(api_kmip_start(&o, &s, why, sizeof why), ERR_CRYPTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "/nonexistent/server.pem"));
	o.cert_file = server.cert_path;
	o.pins = "abc";
	EXPECT_ERR(api_kmip_start(&o, &s, why, sizeof why), ERR_PARSE);
	o.pins = NULL;
	/* the port is taken */
	struct api_kmip *first = start(0, 0, 0, 0, false, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	char l[32];
	snprintf(l, sizeof l, "127.0.0.1:%u", api_kmip_port(first));
	o.listen = l;
	EXPECT_ERR(api_kmip_start(&o, &s, why, sizeof why), ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "another server has the port"));
	CU_ASSERT_PTR_NULL(s);
	api_kmip_stop(first);
}

/* A CSR signed by the CA gets fount's subject and keeps its key; a CSR
 * whose signature does not verify is refused. */
static void test_csr_sign(void)
{
	EVP_PKEY *k = NULL;
	EXPECT_OK(keygen_pkey_generate(keygen_type_find("ec-p256"), &k));
	X509_REQ *req = X509_REQ_new();
	X509_REQ_set_pubkey(req, k);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
				   (const unsigned char *)"ignored", -1, -1, 0);
	CU_ASSERT(X509_REQ_sign(req, k, EVP_sha256()) > 0);
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509_REQ(b, req);
	char *pem = NULL;
	long n = BIO_get_mem_data(b, &pem);
	struct keygen_cert_spec spec = {.cn = "tenant-csr", .client_auth = true, .days = 2};
	X509 *cert = NULL;
	EXPECT_OK(keygen_csr_sign((const uint8_t *)pem, (size_t)n, &spec, ca.key, ca.cert, &cert));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	char cn[64] = "";
	X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
	CU_ASSERT_STRING_EQUAL(cn, "tenant-csr");
	CU_ASSERT(EVP_PKEY_eq(X509_get0_pubkey(cert), k) == 1);
	CU_ASSERT(X509_verify(cert, ca.key) == 1);
	X509_free(cert);
	/* one flipped byte in the signature */
	char *copy = malloc((size_t)n);
	memcpy(copy, pem, (size_t)n);
	copy[n - 40] = copy[n - 40] == 'A' ? 'B' : 'A';
	cert = NULL;
	EXPECT_ERR(keygen_csr_sign((const uint8_t *)copy, (size_t)n, &spec, ca.key, ca.cert, &cert), ERR_KEY_FORMAT);
	CU_ASSERT_PTR_NULL(cert);
	free(copy);
	BIO_free(b);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

TEST_SUITE(kmip_server, suite_init, suite_clean, TEST(test_who_gets_in), TEST(test_cipher_policy),
	   TEST(test_key_agreement_groups),
	   TEST(test_persistent_and_resumed), TEST(test_session_cache_bounded), TEST(test_garbage_and_oversized),
	   TEST(test_timeouts_do_not_stall_others), TEST(test_connection_cap_and_stop),
	   TEST(test_tenant_mapping), TEST(test_start_errors), TEST(test_csr_sign))
