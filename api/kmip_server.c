/* api/kmip_server.c — the KMIP listener: TCP, mutual TLS (api/tls.c), one
 * thread per connection, messages framed by their 8-byte TTLV header.
 * The connection threads accept themselves (conn_main): one whose
 * connection ended waits in accept(2) a while for the next one (up to
 * IDLE_THREADS of them), so a client that opens a connection per operation
 * (vCenter, and every resumed session) costs no thread creation and no
 * hand-over between threads, and a storm of reconnecting clients is
 * accepted by as many threads as wait, not by one.
 *
 * Sockets are non-blocking: every wait is a poll() bounded by the
 * deadline that applies (handshake, idle, message), with no per-request
 * socket options.
 *
 * A client that is slow, silent or hostile costs one connection thread
 * and nothing else: the number of connections is capped (more are closed
 * at once), the handshake, the wait between requests and the receipt of
 * each whole request have time limits, a request's size is checked from its
 * header before its body is read or anything is allocated, and every
 * request buffer is in secure memory (a Register carries key material) and
 * wiped after use. vCenter opens a connection per operation and retries
 * failed handshakes many times while trust is being set up: a failed
 * handshake is logged at info level and costs only its own thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "api/api.h"
#include "api/auth.h"
#include "api/internal.h"
#include "api/metrics.h"
#include "api/tls.h"
#include "keygen/keygen.h"

#define DEFAULT_MAX_MESSAGE (1u << 20)
#define DEFAULT_MAX_CONNECTIONS 256
/* A response may be larger than the largest request: RNG Retrieve of up
 * to 1 MiB, Get of a large certificate. */
#define MAX_RESPONSE ((size_t)2 << 20)
#define THREAD_STACK (256 * 1024)
#define IDLE_THREADS 32           /* threads kept waiting for a connection */
#define IDLE_THREAD_SECONDS 30    /* how long one waits before it ends */
/* the identity the handshake verified, kept in the TLS session: a flag
 * (issuer known), the client certificate's SHA-256, its issuer's */
#define IDENT_LEN (1 + 32 + 32)

struct conn {
	struct api_kmip *srv;
	int fd;
	char addr[64];
	struct conn *prev, *next; /* in srv->conns, under srv->lock */
};

struct api_kmip {
	int listen_fd;
	uint16_t port;
	SSL_CTX *ctx;
	struct auth *auth;
	struct tls_pins pins;
	size_t max_message;
	unsigned max_connections;
	unsigned handshake_ms, idle_ms, message_ms;
	atomic_bool stopping;

	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when the last connection or thread ends */
	struct conn *conns;
	unsigned active;
	unsigned accepting, threads; /* threads waiting in accept(2); all of them */
	bool accept_failing;         /* accept(2) fails (logged once) */

	atomic_uint_fast64_t n_connections, n_handshakes_failed, n_refused_busy, n_requests, n_timeouts;
};

/* wait_fd polls |c|'s socket for |events| up to |ms|. Returns 1 ready, 0
 * timed out, -1 error or stop. */
static int wait_fd(struct conn *c, short events, unsigned ms)
{
	struct pollfd p = {.fd = c->fd, .events = events};
	for (;;) {
		int k = poll(&p, 1, (int)ms);
		if (k < 0 && errno == EINTR)
			continue;
		if (atomic_load(&c->srv->stopping))
			return -1;
		return k < 0 ? -1 : k;
	}
}

/* wait_readable waits until |fd| (or OpenSSL's buffer, read ahead
 * included) has data, up to |ms|. Returns 1 readable, 0 timed out, -1
 * error or stop. */
static int wait_readable(struct conn *c, SSL *ssl, unsigned ms)
{
	if (SSL_has_pending(ssl))
		return 1;
	return wait_fd(c, POLLIN, ms);
}

/* wait_want waits for what the failed TLS call |k| wants, until |deadline|:
 * 1 go on, 0 timed out, -1 failed. */
static int wait_want(struct conn *c, SSL *ssl, int k, uint64_t deadline)
{
	int e = SSL_get_error(ssl, k);
	short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
	if (ev == 0)
		return -1;
	uint64_t now = now_ns();
	if (now >= deadline)
		return 0;
	return wait_fd(c, ev, (unsigned)((deadline - now) / 1000000u) + 1);
}

/* read_full reads exactly |n| bytes before |deadline| (now_ns() clock). */
static bool read_full(struct conn *c, SSL *ssl, uint8_t *buf, size_t n, uint64_t deadline, bool *timed_out)
{
	size_t got = 0;
	while (got < n) {
		size_t chunk = n - got > INT32_MAX ? INT32_MAX : n - got;
		int k = SSL_read(ssl, buf + got, (int)chunk);
		if (k > 0) {
			got += (size_t)k;
			continue;
		}
		int w = wait_want(c, ssl, k, deadline);
		if (w <= 0) {
			*timed_out = w == 0;
			return false;
		}
	}
	return true;
}

static bool write_full(struct conn *c, SSL *ssl, const uint8_t *buf, size_t n, uint64_t deadline)
{
	size_t done = 0;
	while (done < n) {
		size_t chunk = n - done > INT32_MAX ? INT32_MAX : n - done;
		int k = SSL_write(ssl, buf + done, (int)chunk);
		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		if (wait_want(c, ssl, k, deadline) <= 0)
			return false;
	}
	return true;
}

/* answer sends a response to a request that could not be read (too large,
 * not TTLV): through kmip_process, which answers Invalid Message. */
static void answer_unreadable(struct conn *c, SSL *ssl, const struct kmip_peer *peer, const uint8_t *hdr,
			      size_t len, uint64_t deadline)
{
	struct ttlv_enc resp;
	if (kmip_process(hdr, len, peer, MAX_RESPONSE, &resp) == ERR_OK)
		(void)write_full(c, ssl, resp.buf, resp.len, deadline);
	ttlv_enc_free(&resp);
}

/* serve runs one authenticated connection: request, response, until the
 * client closes, a limit is hit or the server stops. */
static void serve(struct conn *c, SSL *ssl, const struct kmip_peer *peer)
{
	struct api_kmip *s = c->srv;
	for (;;) {
		int w = wait_readable(c, ssl, s->idle_ms);
		if (w <= 0) {
			if (w == 0)
				atomic_fetch_add(&s->n_timeouts, 1);
			return;
		}
		uint64_t deadline = now_ns() + (uint64_t)s->message_ms * 1000000u;
		uint8_t hdr[TTLV_HEADER_LEN];
		bool timed_out = false;
		if (!read_full(c, ssl, hdr, sizeof hdr, deadline, &timed_out)) {
			if (timed_out)
				atomic_fetch_add(&s->n_timeouts, 1);
			return;
		}
		size_t len = 0;
		err_t r = ttlv_frame_len(hdr, s->max_message, &len);
		if (r != ERR_OK) {
			/* answer, then close: the rest of the stream cannot be framed */
			log_info("%s (%s): %s; closing", c->addr, peer->tenant,
				 r == ERR_TOO_LARGE ? "request larger than [kmip] max_message"
						    : "not a KMIP message");
			answer_unreadable(c, ssl, peer, hdr, sizeof hdr, deadline);
			return;
		}
		err_t me = ERR_OK;
		size_t cap = 0;
		uint8_t *msg = ttlv_buf_get(len, &cap, &me);
		if (msg == NULL) {
			log_warn("%s: no memory for a %zu-byte request: %s", c->addr, len, err_str(me));
			return;
		}
		memcpy(msg, hdr, sizeof hdr);
		bool ok = read_full(c, ssl, msg + sizeof hdr, len - sizeof hdr, deadline, &timed_out);
		if (ok) {
			struct ttlv_enc resp;
			ok = kmip_process(msg, len, peer, MAX_RESPONSE, &resp) == ERR_OK;
			if (ok)
				ok = write_full(c, ssl, resp.buf, resp.len, now_ns() + (uint64_t)s->message_ms * 1000000u);
			ttlv_enc_free(&resp);
			atomic_fetch_add(&s->n_requests, 1);
		} else if (timed_out) {
			atomic_fetch_add(&s->n_timeouts, 1);
			log_info("%s (%s): request not complete after %u ms; closing", c->addr, peer->tenant,
				 s->message_ms);
		}
		ttlv_buf_put(msg, cap, len);
		if (!ok)
			return;
	}
}

static void conn_remove(struct conn *c)
{
	struct api_kmip *s = c->srv;
	pthread_mutex_lock(&s->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (--s->active == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

/* remember_identity is the client-certificate check (X509_verify_cert,
 * with tls.c's pins callback) that also keeps the verified identity in the
 * TLS session (SSL_SESSION_set1_ticket_appdata), which stays in the
 * server's session cache (tls.c: TLS 1.2 session ids, TLS 1.3 stateful
 * tickets; OpenSSL copies it into each ticket's session). A resumed
 * handshake sends no certificate chain, so without it the issuer (and an
 * issuer-cn binding) would be lost, the client mapped to its CN's tenant,
 * and its certificate hashed again. */
static int remember_identity(X509_STORE_CTX *x, void *arg)
{
	(void)arg;
	int ok = X509_verify_cert(x);
	if (ok != 1)
		return ok;
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(x);
	X509 *leaf = chain != NULL && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : NULL;
	X509 *issuer = chain != NULL && sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
	SSL_SESSION *sess = ssl != NULL ? SSL_get_session(ssl) : NULL;
	uint8_t id[IDENT_LEN] = {0};
	/* on any failure nothing is kept and identify() works from the
	 * certificates */
	if (leaf != NULL && sess != NULL && keygen_cert_sha256(leaf, id + 1) == ERR_OK) {
		if (issuer != NULL && keygen_cert_sha256(issuer, id + 1 + 32) == ERR_OK)
			id[0] = 1;
		(void)SSL_SESSION_set1_ticket_appdata(sess, id, sizeof id);
	}
	return ok;
}

/* identify maps the connection's client to its tenant: from the identity
 * kept in the session, else from the certificates. */
static err_t identify(struct api_kmip *s, SSL *ssl, struct kmip_peer *peer)
{
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	SSL_SESSION *sess = SSL_get0_session(ssl);
	void *ad = NULL;
	size_t ad_len = 0;
	if (leaf != NULL && sess != NULL && SSL_SESSION_get0_ticket_appdata(sess, &ad, &ad_len) == 1 &&
	    ad_len == IDENT_LEN) {
		const uint8_t *id = ad;
		return auth_identify_fp(s->auth, leaf, id + 1, id[0] == 1 ? id + 1 + 32 : NULL, peer);
	}
	STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
	X509 *issuer = chain != NULL && sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
	return auth_identify(s->auth, leaf, issuer, peer);
}

static int start_thread(struct api_kmip *s);

/* handle runs one accepted connection to its end and frees it. */
static void handle(struct conn *c)
{
	struct api_kmip *s = c->srv;
	SSL *ssl = SSL_new(s->ctx);
	struct kmip_peer peer;
	memset(&peer, 0, sizeof peer);

	if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1)
		goto out;
	/* the handshake: its own deadline */
	uint64_t deadline = now_ns() + (uint64_t)s->handshake_ms * 1000000u;
	int k, w = 1;
	while ((k = SSL_accept(ssl)) != 1 && (w = wait_want(c, ssl, k, deadline)) > 0)
		;
	if (k != 1) {
		unsigned long e = ERR_peek_last_error();
		long v = SSL_get_verify_result(ssl);
		bool slow = w == 0;
		atomic_fetch_add(slow ? &s->n_timeouts : &s->n_handshakes_failed, 1);
		log_info("%s: TLS handshake failed: %s", c->addr,
			 slow ? "timed out"
			 : v != X509_V_OK ? X509_verify_cert_error_string(v)
			 : e != 0 && ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e)
									    : "connection closed");
		goto out;
	}
	if (identify(s, ssl, &peer) != ERR_OK) {
		atomic_fetch_add(&s->n_handshakes_failed, 1);
		log_info("%s: the client certificate names no tenant (no CN and no binding): closing; "
			 "bind it with 'fount tenant bind'",
			 c->addr);
		goto out;
	}
	log_debug("%s: tenant %s%s%s", c->addr, peer.tenant, peer.admin ? " (admin)" : "",
		  SSL_session_reused(ssl) == 1 ? " (resumed)" : "");
	serve(c, ssl, &peer);
	if (!atomic_load(&s->stopping))
		(void)SSL_shutdown(ssl); /* close_notify, if the socket takes it now */
out:
	SSL_free(ssl);
	ERR_clear_error();
	close(c->fd);
	conn_remove(c);
	free(c);
}

/* take registers a connection just accepted and serves it on this
 * thread; beyond max_connections, or once the server stops, it is closed
 * at once. When no other thread waits in accept(2) now, it starts one
 * first (decided under the lock, with the count taken). */
static void take(struct api_kmip *s, int fd, const struct sockaddr_storage *ss, socklen_t sl)
{
	atomic_fetch_add(&s->n_connections, 1);
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct conn *c = calloc(1, sizeof *c);
	bool spawn = false;
	if (c == NULL) {
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
	(void)getnameinfo((const struct sockaddr *)ss, sl, host, sizeof host, port, sizeof port,
			  NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(c->addr, sizeof c->addr, "%s:%s", host, port);

	pthread_mutex_lock(&s->lock);
	/* api_kmip_stop shuts down the sockets of s->conns under the lock:
	 * one registered after that is refused here */
	bool busy = s->active >= s->max_connections || atomic_load(&s->stopping);
	if (!busy) {
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = c;
		s->conns = c;
		s->active++;
		if (s->accepting == 0) {
			s->threads++;
			spawn = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (busy) {
		if (!atomic_load(&s->stopping))
			atomic_fetch_add(&s->n_refused_busy, 1);
		close(fd);
		free(c);
		return;
	}
	if (spawn && start_thread(s) != 0) {
		/* none would accept while this one serves: it stays the one
		 * that accepts, and this connection is closed, as when no
		 * thread could be made for it */
		log_warn("%s: no thread for the connection; closing", c->addr);
		pthread_mutex_lock(&s->lock);
		s->threads--;
		pthread_mutex_unlock(&s->lock);
		close(fd);
		conn_remove(c);
		free(c);
		return;
	}
	handle(c);
}

/* conn_main is a connection thread: it waits in accept(2) (the kernel
 * wakes one waiter per connection), serves what it accepted itself, and
 * goes back to accept. The thread that takes the last waiter's place
 * starts another, so a new connection never waits for a thread to be
 * handed it, and a client that opens a connection per operation (vCenter,
 * and every resumed session) costs no thread creation and no hand-over:
 * at most IDLE_THREADS wait at once, and one that waited
 * IDLE_THREAD_SECONDS (the listening socket's SO_RCVTIMEO) ends unless it
 * is the last. */
static void *conn_main(void *arg)
{
	struct api_kmip *s = arg;
	(void)pthread_setname_np(pthread_self(), "fount-kmip");
	pthread_mutex_lock(&s->lock);
	while (!atomic_load(&s->stopping) && s->accepting < IDLE_THREADS) {
		s->accepting++;
		pthread_mutex_unlock(&s->lock);
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
		int e = errno;
		pthread_mutex_lock(&s->lock);
		s->accepting--;
		if (fd >= 0) {
			s->accept_failing = false;
			pthread_mutex_unlock(&s->lock);
			take(s, fd, &ss, sl);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (atomic_load(&s->stopping))
			break;
		if (e == EAGAIN || e == EWOULDBLOCK) {
			if (s->accepting > 0)
				break; /* idle this long, and another waits */
			continue;
		}
		if (e == EINTR || e == ECONNABORTED)
			continue;
		/* out of descriptors or memory: said once until an accept works */
		bool say = !s->accept_failing;
		s->accept_failing = true;
		pthread_mutex_unlock(&s->lock);
		if (say)
			log_warn("accept: %s; retrying every 100 ms", strerror(e));
		struct timespec ts = {0, 100000000};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&s->lock);
	}
	if (--s->threads == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int start_thread(struct api_kmip *s)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	pthread_t t;
	int e = pthread_create(&t, &attr, conn_main, s);
	pthread_attr_destroy(&attr);
	return e;
}

static err_t bind_listener(struct api_kmip *s, const char *listen_on, char *why, size_t why_len)
{
	static const struct api_listen_opts lo = {.key = "[kmip] listen", .backlog = 511};
	return api_listen_tcp(&lo, listen_on, &s->listen_fd, &s->port, why, why_len);
}

err_t api_kmip_start(const struct api_kmip_options *o, struct api_kmip **out, char *why, size_t why_len)
{
	char none[1];
	if (why == NULL || why_len == 0) {
		why = none;
		why_len = sizeof none;
	}
	why[0] = '\0';
	*out = NULL;
	struct api_kmip *s = calloc(1, sizeof *s);
	ENSURE(s != NULL, ERR_NOMEM);
	s->listen_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	s->max_message = o->max_message ? o->max_message : DEFAULT_MAX_MESSAGE;
	s->max_connections = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS;
	s->handshake_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms : 10000;
	s->idle_ms = o->idle_timeout_ms ? o->idle_timeout_ms : 300000;
	s->message_ms = o->message_timeout_ms ? o->message_timeout_ms : 30000;

	/* a client that goes away mid-response must cost an EPIPE, not the
	 * process: OpenSSL writes to the socket with write(2) */
	signal(SIGPIPE, SIG_IGN);
	err_t r = tls_pins_parse(o->pins, &s->pins);
	if (r != ERR_OK) {
		snprintf(why, why_len, "[kmip] pins: want SHA-256 fingerprints of 64 hex digits, at most %d",
			 TLS_MAX_PINS);
		goto fail;
	}
	struct tls_server_options to = {
		.cert_file = o->cert_file,
		.key_file = o->key_file,
		.client_ca = o->client_ca,
		.pins = &s->pins,
		.tls_compat = o->tls_compat,
		.sessions = o->tls_sessions,
	};
	if ((r = tls_server_ctx(&to, &s->ctx, why, why_len)) != ERR_OK)
		goto fail;
	/* one read(2) takes whole records, often several (a client's
	 * Finished and its first request) */
	SSL_CTX_set_read_ahead(s->ctx, 1);
	SSL_CTX_set_cert_verify_callback(s->ctx, remember_identity, NULL);
	if ((r = auth_new(o->bindings, o->admins, &s->auth, why, why_len)) != ERR_OK)
		goto fail;
	if ((r = bind_listener(s, o->listen, why, why_len)) != ERR_OK)
		goto fail;
	/* accept(2) returns EAGAIN after this: an idle thread may end */
	struct timeval idle = {.tv_sec = IDLE_THREAD_SECONDS};
	(void)setsockopt(s->listen_fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
	s->threads = 1;
	if (start_thread(s) != 0) {
		snprintf(why, why_len, "cannot start the KMIP listener thread");
		r = ERR_SYSTEM;
		goto fail;
	}
	metrics_register_kmip(s, true);
	*out = s;
	return ERR_OK;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	SSL_CTX_free(s->ctx);
	auth_free(s->auth);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->idle);
	free(s);
	return r;
}

uint16_t api_kmip_port(const struct api_kmip *s)
{
	return s->port;
}

void api_kmip_stats(struct api_kmip *s, struct api_kmip_stats *out)
{
	out->connections = atomic_load(&s->n_connections);
	out->handshakes_failed = atomic_load(&s->n_handshakes_failed);
	out->refused_busy = atomic_load(&s->n_refused_busy);
	out->requests = atomic_load(&s->n_requests);
	out->timeouts = atomic_load(&s->n_timeouts);
	out->tls_sessions = (unsigned long)SSL_CTX_sess_number(s->ctx);
	pthread_mutex_lock(&s->lock);
	out->active = s->active;
	pthread_mutex_unlock(&s->lock);
}

void api_kmip_stop(struct api_kmip *s)
{
	if (s == NULL)
		return;
	metrics_register_kmip(s, false); /* before anything is freed */
	atomic_store(&s->stopping, true);
	/* wake the threads in accept(2) (EINVAL) and every connection blocked
	 * in poll or read; one accepted meanwhile is refused by take() */
	shutdown(s->listen_fd, SHUT_RDWR);
	pthread_mutex_lock(&s->lock);
	for (struct conn *c = s->conns; c != NULL; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	while (s->active > 0 || s->threads > 0)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
	close(s->listen_fd);
	SSL_CTX_free(s->ctx);
	auth_free(s->auth);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->idle);
	secure_zero(&s->pins, sizeof s->pins);
	free(s);
}
