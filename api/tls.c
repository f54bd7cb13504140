/* api/tls.c — the one TLS stack every fount listener uses: OpenSSL in
 * fount's library context (keygen_libctx()), so in FIPS mode the TLS
 * primitives run in the FIPS provider.
 *
 * Policy (KMIP 1.4 profiles, "Baseline Server TLS v1.2"; the clients of
 * kmip-clients checklists): TLS 1.3 and 1.2, AEAD suites with forward
 * secrecy by default; with tls_compat also the TLS 1.2 AES-CBC-SHA256
 * suites older KMIP clients offer (PyKMIP's "TLS1.2" suite list). A client
 * certificate is required and verified against the client CAs, or is a
 * self-signed certificate pinned by its SHA-256; a certificate without an
 * extendedKeyUsage is accepted, one whose extendedKeyUsage lacks
 * clientAuth is refused (OpenSSL's X509_PURPOSE_SSL_CLIENT check, RFC 5280
 * §4.2.1.12). No SNI is needed; sessions resume by id (TLS 1.2) and by
 * stateful ticket (TLS 1.3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "api/tls.h"
#include "keygen/keygen.h"

CSP_DEFINE("TLS session secrets", "CSP",
	   "TLS 1.2/1.3 handshake and traffic secrets, and the session cache's resumption secrets, inside OpenSSL",
	   "derived in each TLS handshake (ECDHE) with the approved DRBG's output",
	   "never",
	   "OpenSSL clears them when the connection or the cached session is freed");

#define TLS12_AEAD                                                                   \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                 \
	"DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256"
#define TLS12_COMPAT ":AES256-SHA256:AES128-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256"

static int pins_index = -1;

/* In FIPS mode a handshake's key agreement is ECDH on a NIST curve or a
 * safe-prime FFDHE group (SP 800-56A Rev. 3): X25519 and X448 are not
 * approved for key agreement (FIPS 140-3 IG C.K resolution 5) although
 * OpenSSL 3.0's FIPS provider offers them with fips=yes. A client whose
 * only key share is X25519 (OpenSSL's and Python's default) is asked for a
 * P-256 one (HelloRetryRequest, one more round trip); outside FIPS mode
 * OpenSSL's own list, X25519 first, stands. */
#define TLS_FIPS_GROUPS "P-256:P-384:P-521:ffdhe2048:ffdhe3072:ffdhe4096"

bool tls_set_groups(SSL_CTX *ctx)
{
	return !keygen_fips_mode() || SSL_CTX_set1_groups_list(ctx, TLS_FIPS_GROUPS) == 1;
}

/* ossl_reason writes OpenSSL's last error reason (or |fallback|). */
static const char *ossl_reason(const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *s = e != 0 ? ERR_reason_error_string(e) : NULL;
	return s != NULL ? s : fallback;
}

bool tls_pinned(const struct tls_pins *p, const uint8_t fp[32])
{
	for (size_t i = 0; p != NULL && i < p->n; i++)
		if (memcmp(p->sha256[i], fp, 32) == 0)
			return true;
	return false;
}

err_t tls_pins_parse(const char *s, struct tls_pins *out)
{
	memset(out, 0, sizeof *out);
	if (s == NULL)
		return ERR_OK;
	while (*s != '\0') {
		while (*s == ',' || *s == ' ')
			s++;
		if (*s == '\0')
			break;
		if (strncmp(s, "sha256:", 7) == 0)
			s += 7;
		char hex[65];
		size_t n = 0;
		while (s[n] != '\0' && s[n] != ',' && s[n] != ' ') {
			/* "AB:CD:..." as openssl x509 -fingerprint prints it */
			n++;
		}
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (s[i] == ':')
				continue;
			ENSURE(k < 64, ERR_PARSE);
			hex[k++] = s[i];
		}
		hex[k] = '\0';
		ENSURE(k == 64 && out->n < TLS_MAX_PINS, k == 64 ? ERR_TOO_LARGE : ERR_PARSE);
		size_t got = 0;
		GUARD(hex_decode(out->sha256[out->n], 32, &got, hex));
		ENSURE(got == 32, ERR_PARSE);
		out->n++;
		s += n;
	}
	return ERR_OK;
}

/* verify_cb accepts, in place of a chain to a client CA, a self-signed
 * leaf whose fingerprint is pinned and whose extendedKeyUsage (if any)
 * allows clientAuth. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	if (ok)
		return 1;
	int err = X509_STORE_CTX_get_error(x);
	if (X509_STORE_CTX_get_error_depth(x) != 0 ||
	    (err != X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT && err != X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY &&
	     err != X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE && err != X509_V_ERR_INVALID_PURPOSE &&
	     err != X509_V_ERR_CERT_UNTRUSTED))
		return 0;
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct tls_pins *pins = ssl != NULL ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pins_index) : NULL;
	X509 *leaf = X509_STORE_CTX_get_current_cert(x);
	uint8_t fp[32];
	if (pins == NULL || leaf == NULL || keygen_cert_sha256(leaf, fp) != ERR_OK || !tls_pinned(pins, fp))
		return 0;
	/* a pinned certificate still has to be fit for a client */
	if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) &&
	    !(X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT)) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_INVALID_PURPOSE);
		return 0;
	}
	return 1;
}

static void free_pins(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	free(ptr);
}

err_t tls_server_ctx(const struct tls_server_options *o, SSL_CTX **out, char *why, size_t why_len)
{
	SSL_CTX *ctx = NULL;
	err_t r = ERR_CRYPTO;
	*out = NULL;

	if (pins_index < 0)
		pins_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_pins);
	ctx = SSL_CTX_new_ex(keygen_libctx(), NULL, TLS_server_method());
	if (ctx == NULL || pins_index < 0) {
		snprintf(why, why_len, "cannot make a TLS context: %s", ossl_reason("no TLS in the provider"));
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_set_cipher_list(ctx, o->tls_compat ? TLS12_AEAD TLS12_COMPAT : TLS12_AEAD) != 1) {
		snprintf(why, why_len, "cannot set the TLS 1.2 cipher suites: %s", ossl_reason("?"));
		goto out;
	}
	if (!tls_set_groups(ctx)) {
		snprintf(why, why_len, "cannot set the TLS key-agreement groups: %s", ossl_reason("?"));
		goto out;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
		snprintf(why, why_len, "cannot load the server certificate %s: %s (check [kmip] cert)",
			 o->cert_file, ossl_reason("unreadable"));
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(why, why_len, "cannot load the server key %s or it does not match %s: %s",
			 o->key_file, o->cert_file, ossl_reason("unreadable"));
		goto out;
	}
	if (o->client_ca != NULL && o->client_ca[0] != '\0') {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file_ex(o->client_ca, keygen_libctx(), NULL);
		if (SSL_CTX_load_verify_file(ctx, o->client_ca) != 1 || names == NULL) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			snprintf(why, why_len, "cannot load the client CA certificates %s: %s (check [kmip] client_ca)",
				 o->client_ca, ossl_reason("unreadable"));
			goto out;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	struct tls_pins *pins = calloc(1, sizeof *pins);
	if (pins == NULL) {
		r = ERR_NOMEM;
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	if (o->pins != NULL)
		*pins = *o->pins;
	SSL_CTX_set_ex_data(ctx, pins_index, pins);
	SSL_CTX_set_verify(ctx, o->client_cert_optional ? SSL_VERIFY_PEER : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   verify_cb);
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	SSL_CTX_set_verify_depth(ctx, 4);
	/* resumption: by session id (needs the context, or OpenSSL refuses to
	 * resume with client certificates); SSL_OP_NO_TICKET makes TLS 1.3
	 * tickets stateful (a reference to this cache, used once:
	 * SSL_CTX_set_options(3)) and TLS 1.2 resume by id. A stateless ticket
	 * holds the whole session, client certificate included, and decoding
	 * that certificate again (OpenSSL 3.0's d2i_SSL_SESSION through its
	 * key decoders) cost about a third of the server's CPU in a resumption. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	/* one TLS 1.3 ticket per handshake (OpenSSL sends two after a full
	 * one): each is an entry in the cache below */
	SSL_CTX_set_num_tickets(ctx, 1);
	static const unsigned char sid_ctx[] = "fount-kmip";
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, o->sessions ? o->sessions : TLS_SESSIONS_DEFAULT);
	SSL_CTX_set_timeout(ctx, 3600);
	*out = ctx;
	ctx = NULL;
	r = ERR_OK;
out:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return r;
}
