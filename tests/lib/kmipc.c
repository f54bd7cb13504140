/* tests/lib/kmipc.c — support code (tested by test_kmipc_transport in
 * tests/test_kmip_clients.c): the KMIP test client over mutual TLS (see
 * kmipc.h).
 * KMIP 1.4 §9.1 frames a message as one TTLV Structure: 8 header bytes
 * carry the length of what follows, so a reader takes the header first. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "api/ttlv.h"
#include "tests/lib/kmipc.h"

struct kmipc {
	struct kmipc_options o;
	SSL_CTX *ctx;
	SSL *ssl;
	SSL_SESSION *session;
	int fd;
	uint8_t *buf;
	size_t cap, used;
};

static void say(char *why, size_t n, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void say(char *why, size_t n, const char *fmt, ...)
{
	if (why == NULL || n == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	unsigned long e = ERR_get_error();
	if (e != 0) {
		size_t l = strlen(why);
		if (l + 3 < n) {
			memcpy(why + l, ": ", 3);
			ERR_error_string_n(e, why + l + 2, n - l - 2);
		}
	}
	ERR_clear_error();
}

struct kmipc *kmipc_new(const struct kmipc_options *o, char *why, size_t why_len)
{
	struct kmipc *c = calloc(1, sizeof *c);
	if (c == NULL) {
		say(why, why_len, "out of memory");
		return NULL;
	}
	c->o = *o;
	c->fd = -1;
	if (c->o.host == NULL)
		c->o.host = "127.0.0.1";
	if (c->o.timeout_ms <= 0)
		c->o.timeout_ms = 10000;
	if (c->o.max_response == 0)
		c->o.max_response = 1u << 20;
	if (c->o.min_tls == 0)
		c->o.min_tls = TLS1_2_VERSION;
	if (c->o.max_tls == 0)
		c->o.max_tls = TLS1_3_VERSION;
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL || SSL_CTX_set_min_proto_version(c->ctx, c->o.min_tls) != 1 ||
	    SSL_CTX_set_max_proto_version(c->ctx, c->o.max_tls) != 1) {
		say(why, why_len, "cannot make a TLS client context");
		kmipc_free(c);
		return NULL;
	}
	if (o->ca_file == NULL || SSL_CTX_load_verify_file(c->ctx, o->ca_file) != 1) {
		say(why, why_len, "cannot load the CA %s", o->ca_file ? o->ca_file : "(none)");
		kmipc_free(c);
		return NULL;
	}
	/* no key file: the key is in the certificate's PEM (mongod's one file) */
	const char *key = o->key_file != NULL ? o->key_file : o->cert_file;
	if (o->cert_file != NULL &&
	    (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert_file) != 1 ||
	     SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(c->ctx) != 1)) {
		say(why, why_len, "cannot load the client certificate %s and key", o->cert_file);
		kmipc_free(c);
		return NULL;
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT);
	return c;
}

static void drop_buf(struct kmipc *c)
{
	if (c->buf != NULL)
		ttlv_buf_put(c->buf, c->cap, c->used);
	c->buf = NULL;
	c->cap = c->used = 0;
}

static void disconnect(struct kmipc *c, bool keep_session)
{
	if (c->ssl != NULL) {
		if (keep_session) {
			SSL_SESSION *s = SSL_get1_session(c->ssl);
			if (s != NULL) {
				SSL_SESSION_free(c->session);
				c->session = s;
			}
			(void)SSL_shutdown(c->ssl);
		}
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ERR_clear_error();
}

void kmipc_free(struct kmipc *c)
{
	if (c == NULL)
		return;
	disconnect(c, false);
	SSL_SESSION_free(c->session);
	SSL_CTX_free(c->ctx);
	drop_buf(c);
	free(c);
}

void kmipc_close(struct kmipc *c)
{
	disconnect(c, true);
}

static int tcp_connect(const struct kmipc_options *o)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t sl;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, o->host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)o->port);
		sl = sizeof *a4;
	} else if (inet_pton(AF_INET6, o->host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)o->port);
		sl = sizeof *a6;
	} else {
		errno = EINVAL;
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* on Linux SO_SNDTIMEO also bounds connect() */
	struct timeval tv = {.tv_sec = o->timeout_ms / 1000, .tv_usec = (o->timeout_ms % 1000) * 1000};
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
	    connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

err_t kmipc_connect(struct kmipc *c, char *why, size_t why_len)
{
	disconnect(c, true);
	c->fd = tcp_connect(&c->o);
	if (c->fd < 0) {
		say(why, why_len, "cannot connect to %s port %u: %s", c->o.host, c->o.port, strerror(errno));
		return ERR_IO;
	}
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		say(why, why_len, "cannot make a TLS connection");
		disconnect(c, false);
		return ERR_CRYPTO;
	}
	if (c->o.resume && c->session != NULL)
		(void)SSL_set_session(c->ssl, c->session);
	if (SSL_connect(c->ssl) != 1) {
		say(why, why_len, "TLS handshake with %s port %u failed", c->o.host, c->o.port);
		disconnect(c, false);
		return ERR_IO;
	}
	return ERR_OK;
}

bool kmipc_resumed(const struct kmipc *c)
{
	return c->ssl != NULL && SSL_session_reused(c->ssl) == 1;
}

int kmipc_tls_version(const struct kmipc *c)
{
	return c->ssl != NULL ? SSL_version(c->ssl) : 0;
}

bool kmipc_can_resume(const struct kmipc *c)
{
	return c->session != NULL && SSL_SESSION_is_resumable(c->session) == 1;
}

/* interrupted: the last SSL_read_ex/SSL_write_ex only met a signal. A
 * socket with SO_RCVTIMEO / SO_SNDTIMEO is never restarted after a signal
 * (signal(7)), and OpenSSL reports the EINTR as WANT_READ / WANT_WRITE on
 * a blocking socket; a timeout is EAGAIN, which is not retried. */
static bool interrupted(struct kmipc *c)
{
	int e = SSL_get_error(c->ssl, 0);
	if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_SYSCALL) && errno == EINTR) {
		ERR_clear_error();
		return true;
	}
	return false;
}

err_t kmipc_send(struct kmipc *c, const uint8_t *p, size_t n)
{
	if (c->ssl == NULL)
		return ERR_USAGE;
	while (n > 0) {
		size_t done = 0;
		if (SSL_write_ex(c->ssl, p, n, &done) != 1) {
			if (interrupted(c))
				continue;
			ERR_clear_error();
			return ERR_IO;
		}
		p += done;
		n -= done;
	}
	return ERR_OK;
}

static err_t read_n(struct kmipc *c, uint8_t *b, size_t n)
{
	while (n > 0) {
		size_t got = 0;
		if (SSL_read_ex(c->ssl, b, n, &got) != 1) {
			if (interrupted(c))
				continue;
			ERR_clear_error();
			return ERR_IO;
		}
		b += got;
		n -= got;
	}
	return ERR_OK;
}

err_t kmipc_read(struct kmipc *c, uint8_t *p, size_t n)
{
	return c->ssl == NULL ? ERR_USAGE : read_n(c, p, n);
}

err_t kmipc_recv(struct kmipc *c, const uint8_t **resp, size_t *resp_len)
{
	*resp = NULL;
	*resp_len = 0;
	if (c->ssl == NULL)
		return ERR_USAGE;
	uint8_t hdr[TTLV_HEADER_LEN];
	err_t r = read_n(c, hdr, sizeof hdr);
	if (r != ERR_OK)
		return r;
	size_t total = 0;
	r = ttlv_frame_len(hdr, c->o.max_response, &total);
	if (r != ERR_OK)
		return r;
	if (c->buf == NULL || c->cap < total) {
		drop_buf(c);
		c->buf = ttlv_buf_get(total, &c->cap, &r);
		if (c->buf == NULL)
			return r;
	} else {
		memset(c->buf, 0, c->used); /* wipe the previous response */
	}
	memcpy(c->buf, hdr, sizeof hdr);
	c->used = total;
	r = read_n(c, c->buf + sizeof hdr, total - sizeof hdr);
	if (r != ERR_OK)
		return r;
	*resp = c->buf;
	*resp_len = total;
	return ERR_OK;
}

err_t kmipc_roundtrip(struct kmipc *c, const uint8_t *req, size_t req_len, const uint8_t **resp,
		      size_t *resp_len)
{
	err_t r = kmipc_send(c, req, req_len);
	return r != ERR_OK ? r : kmipc_recv(c, resp, resp_len);
}
