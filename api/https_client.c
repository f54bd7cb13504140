/* api/https_client.c — see https_client.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "api/https_client.h"
#include "api/tls.h"
#include "keygen/keygen.h"

CSP_USE("TLS private keys", "the client key of fount feed and fount agent, and the HTTPS answers carrying key material, in locked buffers");

#define WHY(...) (void)snprintf(why, why_len, __VA_ARGS__)


uint64_t https_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* wait_fd waits for |ev| on |fd| until the deadline: true when ready. */
static bool wait_fd(int fd, short ev, uint64_t deadline_ms)
{
	for (;;) {
		uint64_t now = https_now_ms();
		if (now >= deadline_ms)
			return false;
		struct pollfd p = {.fd = fd, .events = ev};
		int k = poll(&p, 1, (int)(deadline_ms - now));
		if (k > 0)
			return true;
		if (k == 0)
			return false;
		if (errno != EINTR)
			return false;
	}
}

static const char *ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *s = e != 0 ? ERR_reason_error_string(e) : NULL;
	return s != NULL ? s : "connection closed";
}

static err_t tcp_connect(struct https_conn *c, const char *host, const char *port, char *why, size_t why_len)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	int g = getaddrinfo(host, port, &hints, &ai);
	if (g != 0) {
		WHY("cannot resolve %s: %s", host, gai_strerror(g));
		return ERR_IO;
	}
	int last = 0;
	for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && wait_fd(fd, POLLOUT, c->deadline_ms))) {
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
				c->fd = fd;
				freeaddrinfo(ai);
				return ERR_OK;
			}
			last = soerr != 0 ? soerr : ETIMEDOUT;
		} else {
			last = errno == EINPROGRESS ? ETIMEDOUT : errno;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	WHY("cannot connect to %s port %s: %s", host, port, strerror(last));
	return ERR_IO;
}

static bool is_ip_literal(const char *host)
{
	uint8_t a[16];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static err_t tls_connect(struct https_conn *c, const struct https_tls *o, char *host, char *why,
			 size_t why_len)
{
	c->ctx = SSL_CTX_new_ex(keygen_libctx(), NULL, TLS_client_method());
	if (c->ctx == NULL) {
		WHY("TLS: %s", ossl_reason());
		return ERR_CRYPTO;
	}
	(void)SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	(void)SSL_CTX_set_cipher_list(c->ctx, "ECDHE+AESGCM:DHE+AESGCM");
	if (!tls_set_groups(c->ctx)) {
		WHY("TLS: cannot set the key-agreement groups: %s", ossl_reason());
		return ERR_CRYPTO;
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(c->ctx, o->ca_file, NULL) != 1) {
		WHY("cannot read the CA file %s ([%s] ca): %s", o->ca_file, o->section, ossl_reason());
		return ERR_CONFIG;
	}
	if (o->cert_file != NULL && o->cert_file[0] != '\0') {
		const char *key = o->key_file != NULL && o->key_file[0] != '\0' ? o->key_file : o->cert_file;
		if (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(c->ctx) != 1) {
			WHY("cannot use the client certificate %s and key %s ([%s] cert, key): %s", o->cert_file,
			    key, o->section, ossl_reason());
			return ERR_CONFIG;
		}
	}
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		WHY("TLS: %s", ossl_reason());
		return ERR_CRYPTO;
	}
	/* the name in the URL must be in the server's certificate (RFC 6125) */
	X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
	if (is_ip_literal(host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {
			WHY("TLS: cannot check the address %s", host);
			return ERR_CRYPTO;
		}
	} else if (SSL_set1_host(c->ssl, host) != 1 || SSL_set_tlsext_host_name(c->ssl, host) != 1) {
		WHY("TLS: cannot check the name %s", host);
		return ERR_CRYPTO;
	}
	for (;;) {
		int k = SSL_connect(c->ssl);
		if (k == 1)
			return ERR_OK;
		int e = SSL_get_error(c->ssl, k);
		short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
		if (ev != 0 && wait_fd(c->fd, ev, c->deadline_ms))
			continue;
		long v = SSL_get_verify_result(c->ssl);
		if (v != X509_V_OK)
			WHY("the server's certificate does not match [%s] ca %s or the name %s: %s; %s", o->section,
			    o->ca_file, host, X509_verify_cert_error_string(v), o->refusing);
		else if (ev != 0)
			WHY("TLS handshake with %s timed out", host);
		else if (strstr(ossl_reason(), "internal error") != NULL)
			/* fount itself answers so when its DRBG is closed: a module
			 * not OPERATIONAL runs no TLS, so it cannot say so over it */
			WHY("TLS handshake with %s failed: %s (a fount server that is not OPERATIONAL cannot run "
			    "TLS: see its log or 'fount status' there); %s",
			    host, ossl_reason(), o->refusing);
		else
			WHY("TLS handshake with %s failed: %s", host, ossl_reason());
		return v != X509_V_OK ? ERR_INTEGRITY : ERR_IO;
	}
}

static err_t send_all(struct https_conn *c, const char *s, size_t n, char *why, size_t why_len)
{
	size_t done = 0;
	while (done < n) {
		int k = SSL_write(c->ssl, s + done, (int)(n - done));
		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		int e = SSL_get_error(c->ssl, k);
		short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
		if (ev == 0 || !wait_fd(c->fd, ev, c->deadline_ms)) {
			WHY("cannot send the request: %s", ev != 0 ? "timed out" : ossl_reason());
			return ERR_IO;
		}
	}
	return ERR_OK;
}

err_t https_request(struct https_conn *c, const char *method, const char *path, const char *header,
		    uint8_t *body, size_t cap, struct feed_http *r, char *why, size_t why_len)
{
	char req[FEED_HOST_MAX + 2048];
	bool post = strcmp(method, "GET") != 0;
	int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: fount\r\nAccept: */*\r\n%s%s%s\r\n",
			 method, path, c->host, post ? "Content-Length: 0\r\n" : "", header != NULL ? header : "",
			 header != NULL ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof req) {
		secure_zero(req, sizeof req);
		WHY("request too long");
		return ERR_TOO_LARGE;
	}
	err_t s = send_all(c, req, (size_t)n, why, why_len);
	secure_zero(req, sizeof req); /* a token */
	GUARD(s);
	c->used = 0;
	for (;;) {
		err_t p = feed_http_parse(c->buf, c->used, body, cap, r);
		if (p == ERR_OK)
			break;
		if (p != ERR_INVALID_ARG) {
			WHY("the server's answer to %s %s is not a valid HTTP response%s", method, path,
			    p == ERR_TOO_LARGE ? " (too large)" : "");
			return ERR_PARSE;
		}
		if (c->used == c->cap) {
			WHY("the server's answer to %s %s is too large", method, path);
			return ERR_TOO_LARGE;
		}
		int k = SSL_read(c->ssl, c->buf + c->used, (int)(c->cap - c->used));
		if (k > 0) {
			c->used += (size_t)k;
			continue;
		}
		int e = SSL_get_error(c->ssl, k);
		short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
		if (ev == 0 || !wait_fd(c->fd, ev, c->deadline_ms)) {
			WHY("no complete answer to %s %s: %s", method, path, ev != 0 ? "timed out" : ossl_reason());
			return ERR_IO;
		}
	}
	/* the copy in the receive buffer may be a key */
	secure_zero(c->buf, c->used);
	c->used = 0;
	return ERR_OK;
}

void https_close(struct https_conn *c)
{
	if (c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	secmem_free(c->buf, c->cap);
	ERR_clear_error();
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

void https_deadline(struct https_conn *c, unsigned ms)
{
	c->deadline_ms = https_now_ms() + ms;
}

err_t https_open(struct https_conn *c, const char *url, const struct https_tls *t, size_t buf_cap,
		 unsigned timeout_ms, char *why, size_t why_len)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	char port[8];
	if (feed_url_parse(url, c->host, port) != ERR_OK) {
		WHY("[%s] server \"%s\" is not https://HOST[:PORT]", t->section, url);
		return ERR_CONFIG;
	}
	if (t->ca_file == NULL || t->ca_file[0] == '\0') {
		WHY("no CA to check the server against: set [%s] ca (the fount server's pki/ca.pem)", t->section);
		return ERR_CONFIG;
	}
	err_t me = ERR_OK;
	c->cap = buf_cap;
	c->buf = secmem_alloc(c->cap, &me);
	if (c->buf == NULL) {
		c->cap = 0;
		WHY("no memory: %s", err_str(me));
		return me;
	}
	https_deadline(c, timeout_ms);
	err_t r = tcp_connect(c, c->host, port, why, why_len);
	if (r == ERR_OK)
		r = tls_connect(c, t, c->host, why, why_len);
	if (r != ERR_OK)
		https_close(c);
	return r;
}
