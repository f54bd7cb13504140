/* api/http.c — the HTTP API's front end: fount accepts TCP and does TLS
 * itself (api/tls.c: OpenSSL in fount's library context, so the FIPS
 * provider in FIPS mode), then hands libmicrohttpd the plaintext on one end
 * of a socketpair (MHD_USE_NO_LISTEN_SOCKET, MHD_add_connection). MHD's own
 * TLS (GnuTLS on Debian 12) is never used.
 *
 * Threads: N pump threads, each with its own epoll set and its own MHD
 * daemon (MHD_USE_EPOLL, no internal thread) whose epoll fd is nested in
 * the pump's. Every listener is in every pump's set (EPOLLEXCLUSIVE), so a
 * connection is accepted, handshaken, pumped and answered by one thread:
 * no hand-off between threads. The plain-HTTP listener (loopback or a Unix
 * socket only) gives its sockets to MHD directly.
 *
 * One TLS connection, TCP socket <-> pump <-> socketpair <-> MHD:
 *   - TLS records are written into a BIO pair (|net|), from which the pump
 *     sends them, so several records leave in one send(); the pair's size
 *     bounds what one connection holds (no more is read from MHD while it
 *     is full). The socket itself is the read BIO.
 *   - The client's FIN (or close_notify) is forwarded to MHD as
 *     shutdown(SHUT_WR) once every request byte before it is delivered; an
 *     EPIPE from MHD's side does not stop the pump reading MHD's answer.
 *   - When MHD closes: close_notify, SHUT_WR on the socket, then read and
 *     discard for up to LINGER_MS before closing. Closing with unread
 *     client bytes would make the kernel send RST and the client lose the
 *     end of the last response.
 *   - Limits are the pump's: MHD sees a connection only after the
 *     handshake, so the handshake timeout and the connection cap live
 *     here; MHD keeps the idle timeout (MHD_OPTION_CONNECTION_TIMEOUT).
 *   - The TLS facts (the client certificate's tenant) reach the routes
 *     through MHD's socket context, set to the pump's connection when MHD
 *     reports the connection started (inside MHD_add_connection, on this
 *     thread). A connection's memory lives until MHD has closed its side. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "api/auth.h"
#include "api/http.h"
#include "api/metrics.h"
#include "api/tls.h"
#include "keygen/keygen.h"

#define DEFAULT_MAX_CONNECTIONS 1024
#define DEFAULT_RANDOM_MAX ((size_t)1 << 20)
#define MAX_THREADS 8
#define WORKERS 8               /* threads for the routes that wait (store, keygen, self-tests) */
#define JOBS_MAX 512            /* requests queued for them; more are answered 503 */
#define DRAIN_MS 5000           /* at stop: time for the answers the workers made to leave */
#define NET_BUF (128u * 1024u)  /* TLS records waiting for the socket, per connection */
#define IN_BUF (16u * 1024u)    /* client plaintext waiting for MHD, per connection */
#define LINGER_MS 2000
#define SWEEP_MS 100            /* how often deadlines are looked at */
#define EVENTS_POLL_MS 250      /* how often held GET /v1/events look for a new event */
#define MHD_MEMORY (64u * 1024u)
#define DISCARD_MAX ((size_t)1 << 20) /* an oversized chunked body read to its end before the 413 */ /* per MHD connection: request line, headers, body chunks */
/* what one TLS record adds to its plaintext at most (RFC 8446 §5.2: 256
 * bytes of expansion; a 5-byte header) */
#define RECORD_OVERHEAD 300u

enum ev_kind { EV_LISTEN_TLS = 1, EV_LISTEN_PLAIN, EV_STOP, EV_MHD, EV_TCP, EV_PFD, EV_WAKE };

struct ev {
	enum ev_kind kind;
	void *p;
};

enum phase { PH_HANDSHAKE, PH_OPEN, PH_CLOSING, PH_LINGER, PH_DEAD };

struct pump;

/* one TLS connection */
struct hconn {
	struct pump *pump;
	struct ev tcp_ev, pfd_ev;
	int tcp, pfd;
	uint32_t tcp_mask, pfd_mask;  /* what epoll waits for now */
	SSL *ssl;
	BIO *net;                    /* our end of the BIO pair: TLS records to send */
	enum phase phase;
	uint64_t deadline;           /* handshake, closing or linger */
	bool tcp_eof;                /* the client sent FIN or close_notify */
	bool fin_forwarded;          /* shutdown(pfd, SHUT_WR) done */
	bool mhd_epipe;              /* MHD's side takes no more input */
	bool mhd_open;               /* MHD has the connection (until NOTIFY_CLOSED) */
	bool have_cert;
	struct kmip_peer peer;       /* from the client certificate, if any */
	char addr[64];               /* client address, no port */
	uint8_t in[IN_BUF];
	size_t in_len, in_off;
	struct hconn *prev, *next;
};

struct pump {
	struct api_http *srv;
	pthread_t thread;
	int ep;
	struct MHD_Daemon *mhd;
	struct ev mhd_ev;
	int wake_fd;                 /* a worker's answer is ready (eventfd) */
	struct ev wake_ev;
	struct hconn *conns;
	struct hconn *adding;        /* the connection MHD_add_connection is adding */
	bool adding_plain;
	uint64_t next_sweep;
	uint8_t scratch[NET_BUF];
};

/* A request handed to a worker thread (a route that waits on the store,
 * key generation or the self-tests): its connection is suspended in MHD
 * meanwhile, so the pump thread and every other connection on it go on.
 * The job holds copies of everything the route reads: the TLS connection
 * may be gone by the time it runs. */
struct job {
	struct job *next;
	struct MHD_Connection *con;
	struct pump *pump;            /* the thread whose MHD holds con */
	struct http_request rq;
	char method[16], addr[64];
	char *authorization;          /* a copy, wiped: it may be a token */
	struct kmip_peer peer;
	char last_event_id[32];
	struct http_reply rep;        /* the worker's, read by the pump after the resume */
	uint64_t hold_until_ms;       /* a held GET /v1/events: when it is answered anyway */
};

struct api_http {
	struct http_ctx ctx;
	/* the workers and their queue */
	pthread_t workers[WORKERS];
	unsigned n_workers;
	pthread_mutex_t jmu;
	pthread_cond_t jcv;
	struct job *jhead, *jtail;
	unsigned jqueued;
	bool jstop;
	/* held GET /v1/events (still suspended) and the thread that watches
	 * for new events on their behalf */
	struct job *held;
	pthread_cond_t wcv;
	pthread_t waiter;
	bool have_waiter;
	atomic_uint suspended;        /* connections waiting for a worker's answer */
	SSL_CTX *ssl_ctx;
	struct auth *auth;
	struct tls_pins pins;
	int tls_fd, plain_fd, stop_fd;
	uint16_t tls_port, plain_port;
	char unix_path[108];
	struct ev tls_ev, plain_ev, stop_ev;
	unsigned max_connections, handshake_ms, idle_s;
	unsigned n_pumps;
	struct pump *pumps[MAX_THREADS];
	atomic_bool stopping;
	atomic_uint active;
	atomic_uint_fast64_t n_connections, n_handshakes_failed, n_refused_busy, n_timeouts;
};

/* the socket context of a plain-HTTP connection: no TLS facts */
static char plain_marker;

/* the pump this thread runs (MHD's callbacks run on it) */
static _Thread_local struct pump *this_pump;

/* per request, MHD's req_cls: made in the URI log callback */
struct hreq {
	char *uri;
	uint8_t *body;
	size_t body_len;
	bool started, too_large, answered;
	size_t discarded;
	struct api_http *srv;
	struct job *job;              /* handed to a worker: the answer comes from it */
};

/* a /v1/random body being streamed */
struct rstream {
	struct api_http *srv;
	enum http_format f;
	uint64_t left;
};

/* ---- MHD's callbacks ----------------------------------------------------------- */

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* libmicrohttpd 0.9.75 sets TCP_NODELAY / TCP_CORK on every response
	 * and logs the EOPNOTSUPP an AF_UNIX socket answers: noise */
	if (strstr(msg, "TCP_NODELAY") != NULL || strstr(msg, "TCP_CORK") != NULL ||
	    strstr(msg, "TCP_NOPUSH") != NULL || strstr(msg, "not supported") != NULL)
		return;
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("libmicrohttpd: %s", msg);
}

static void notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct pump *pm = cls;
	(void)connection;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		/* MHD_add_connection is on this thread's stack now */
		*socket_context = pm->adding_plain ? (void *)&plain_marker : (void *)pm->adding;
		if (pm->adding != NULL)
			pm->adding->mhd_open = true;
		return;
	}
	if (*socket_context != NULL && *socket_context != &plain_marker) {
		struct hconn *c = *socket_context;
		c->mhd_open = false;
	} else if (*socket_context == &plain_marker) {
		atomic_fetch_sub(&pm->srv->active, 1);
	}
	*socket_context = NULL;
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
	(void)con;
	struct hreq *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->srv = cls;
	r->uri = strndup(uri, HTTP_URI_MAX + 1);
	return r;
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
			      enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)connection, (void)toe;
	struct hreq *r = *req_cls;
	if (r == NULL)
		return;
	if (r->body != NULL) {
		/* a body may carry a key's name or other client data: wiped */
		secure_zero(r->body, HTTP_BODY_MAX);
		free(r->body);
	}
	free(r->uri);
	free(r);
	*req_cls = NULL;
}

static ssize_t random_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct rstream *s = cls;
	if (s->left == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	uint64_t before = s->left;
	size_t w = 0;
	if (max < 4 || http_random_fill(s->f, (uint8_t *)buf, max, &s->left, &w) != ERR_OK) {
		/* the module left OPERATIONAL mid-body: the connection is cut, the
		 * client sees a short body, never bytes from a failed DRBG */
		log_warn("HTTP: /v1/random stopped: the DRBG failed");
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	atomic_fetch_add(&s->srv->ctx.random_bytes, before - s->left);
	return (ssize_t)w;
}

static void random_free(void *cls)
{
	free(cls);
}

static void secret_free(void *cls)
{
	(void)cls; /* freed by queue() through the reply */
}

struct secret_body {
	char *p;
	size_t cap;
};

static void secret_body_free(void *cls)
{
	struct secret_body *b = cls;
	secmem_free(b->p, b->cap);
	free(b);
}

/* queue turns |rep| into an MHD response and queues it */
static enum MHD_Result queue(struct api_http *s, struct MHD_Connection *con, struct http_reply *rep)
{
	struct MHD_Response *resp = NULL;
	(void)secret_free;
	if (rep->stream_random) {
		struct rstream *st = calloc(1, sizeof *st);
		if (st != NULL) {
			st->srv = s;
			st->f = rep->random_format;
			st->left = rep->random_n;
			resp = MHD_create_response_from_callback(http_random_len(rep->random_n, rep->random_format),
								 HTTP_RANDOM_CHUNK, random_reader, st, random_free);
			if (resp == NULL)
				free(st);
		}
		atomic_fetch_add(&s->ctx.body_bytes, http_random_len(rep->random_n, rep->random_format));
	} else if (rep->secret) {
		struct secret_body *b = malloc(sizeof *b);
		if (b != NULL) {
			b->p = rep->body;
			b->cap = rep->secret_cap;
			resp = MHD_create_response_from_buffer_with_free_callback_cls(rep->body_len, rep->body,
										     secret_body_free, b);
			if (resp == NULL)
				free(b);
			else
				rep->body = NULL, rep->secret = false; /* transferred */
		}
		atomic_fetch_add(&s->ctx.body_bytes, rep->body_len);
	} else {
		resp = rep->body != NULL ? MHD_create_response_from_buffer(rep->body_len, rep->body, MHD_RESPMEM_MUST_FREE)
					 : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (resp != NULL)
			rep->body = NULL; /* transferred */
		atomic_fetch_add(&s->ctx.body_bytes, rep->body_len);
	}
	http_reply_free(rep);
	if (resp == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				      rep->content_type != NULL ? rep->content_type : "application/json");
	(void)MHD_add_response_header(resp, "Cache-Control", "no-store");
	(void)MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (rep->allow != NULL)
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
	if (rep->www_authenticate)
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"fount\"");
	if (rep->retry_after != 0) {
		char ra[16];
		snprintf(ra, sizeof ra, "%u", rep->retry_after);
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	enum MHD_Result ok = MHD_queue_response(con, rep->status, resp);
	MHD_destroy_response(resp);
	return ok;
}

/* reply_now answers with a fixed error (no route ran) */
static enum MHD_Result reply_now(struct api_http *s, struct MHD_Connection *con, unsigned status, const char *code,
				 const char *msg)
{
	struct http_reply rep;
	memset(&rep, 0, sizeof rep);
	char buf[320];
	int n = snprintf(buf, sizeof buf, "{\"error\":\"%s\",\"message\":\"%s\"}", code, msg);
	rep.status = status;
	rep.body = strndup(buf, (size_t)n);
	rep.body_len = rep.body != NULL ? strlen(rep.body) : 0;
	http_count(&s->ctx, API_HTTP_EP_OTHER, status);
	return queue(s, con, &rep);
}

static void job_free(struct job *j)
{
	if (j->authorization != NULL) {
		secure_zero(j->authorization, strlen(j->authorization));
		free(j->authorization);
	}
	secure_zero(&j->peer, sizeof j->peer);
	free(j);
}

/* job_push queues |j| for a worker (s->jmu held) */
static void job_push(struct api_http *s, struct job *j)
{
	j->next = NULL;
	if (s->jtail != NULL)
		s->jtail->next = j;
	else
		s->jhead = j;
	s->jtail = j;
	s->jqueued++;
	pthread_cond_signal(&s->jcv);
}

/* hand_over suspends |con| and queues its request for a worker; the
 * answer is queued when MHD calls the handler again after the resume. */
static enum MHD_Result hand_over(struct api_http *s, struct MHD_Connection *con, struct hreq *r,
				 const struct http_request *rq)
{
	struct job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return reply_now(s, con, 503, "busy", "no memory for the request: try again");
	j->con = con;
	j->pump = this_pump;
	j->rq = *rq;
	snprintf(j->method, sizeof j->method, "%s", rq->method);
	snprintf(j->addr, sizeof j->addr, "%s", rq->addr);
	j->rq.method = j->method;
	j->rq.addr = j->addr;
	if (rq->authorization != NULL && (j->authorization = strdup(rq->authorization)) == NULL) {
		job_free(j);
		return reply_now(s, con, 503, "busy", "no memory for the request: try again");
	}
	j->rq.authorization = j->authorization;
	if (rq->cert != NULL) {
		j->peer = *rq->cert;
		j->rq.cert = &j->peer;
	}
	if (rq->last_event_id != NULL) {
		/* too long to be a seq: kept as a value the route refuses */
		snprintf(j->last_event_id, sizeof j->last_event_id, "%s",
			 strlen(rq->last_event_id) < sizeof j->last_event_id ? rq->last_event_id : "-");
		j->rq.last_event_id = j->last_event_id;
	}
	/* uri and body stay r's, which lives until the request completes */
	pthread_mutex_lock(&s->jmu);
	bool refuse = s->jstop || s->jqueued >= JOBS_MAX;
	if (!refuse) {
		MHD_suspend_connection(con);
		atomic_fetch_add(&s->suspended, 1);
		r->job = j;
		job_push(s, j);
	}
	pthread_mutex_unlock(&s->jmu);
	if (refuse) {
		job_free(j);
		return reply_now(s, con, 503, "busy", "too many requests waiting for the key store: try again");
	}
	return MHD_YES;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* waiter_main watches for a new event on behalf of the held GET
 * /v1/events: one cheap read of the last seq per EVENTS_POLL_MS (any
 * node's commit shows), and a held request goes back to the workers when
 * an event followed what it saw or its time is up */
static void *waiter_main(void *arg)
{
	struct api_http *s = arg;
	pthread_mutex_lock(&s->jmu);
	while (!s->jstop) {
		if (s->held == NULL) {
			pthread_cond_wait(&s->wcv, &s->jmu);
			continue;
		}
		pthread_mutex_unlock(&s->jmu);
		uint64_t latest = http_events_latest();
		pthread_mutex_lock(&s->jmu);
		uint64_t now = mono_ms();
		for (struct job **pp = &s->held; *pp != NULL;) {
			struct job *j = *pp;
			bool late = now >= j->hold_until_ms;
			if (!late && latest <= j->rep.hold_seq) {
				pp = &j->next;
				continue;
			}
			*pp = j->next;
			j->rq.events_final = late;
			http_reply_free(&j->rep);
			job_push(s, j);
		}
		if (s->jstop)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += EVENTS_POLL_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		(void)pthread_cond_timedwait(&s->wcv, &s->jmu, &ts);
	}
	pthread_mutex_unlock(&s->jmu);
	return NULL;
}

static void *worker_main(void *arg)
{
	struct api_http *s = arg;
	pthread_mutex_lock(&s->jmu);
	for (;;) {
		while (s->jhead == NULL && !s->jstop)
			pthread_cond_wait(&s->jcv, &s->jmu);
		struct job *j = s->jhead;
		if (j == NULL)
			break; /* stopping, and nothing is left */
		s->jhead = j->next;
		if (s->jhead == NULL)
			s->jtail = NULL;
		s->jqueued--;
		pthread_mutex_unlock(&s->jmu);
		http_route(&s->ctx, &j->rq, &j->rep);
		if (j->rep.hold) {
			/* nothing to send yet: held, without this thread */
			uint64_t now = mono_ms();
			if (j->hold_until_ms == 0)
				j->hold_until_ms = now + (uint64_t)j->rep.hold_s * 1000u;
			pthread_mutex_lock(&s->jmu);
			if (!s->jstop && now < j->hold_until_ms && s->have_waiter) {
				j->next = s->held;
				s->held = j;
				pthread_cond_signal(&s->wcv);
				continue; /* the mutex held, as the loop expects */
			}
			pthread_mutex_unlock(&s->jmu);
			/* stopping, or the time is up: answer now */
			http_reply_free(&j->rep);
			j->rq.events_final = true;
			http_route(&s->ctx, &j->rq, &j->rep);
		}
		/* j is the pump's once resumed; MHD's own wake-up (its ITC)
		 * does not reach the pump's epoll_wait here, so the pump
		 * gets one of its own */
		struct pump *pm = j->pump;
		MHD_resume_connection(j->con);
		uint64_t one = 1;
		if (pm != NULL)
			(void)!write(pm->wake_fd, &one, sizeof one);
		pthread_mutex_lock(&s->jmu);
	}
	pthread_mutex_unlock(&s->jmu);
	return NULL;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *con, const char *url, const char *method,
				      const char *version, const char *upload_data, size_t *upload_data_size,
				      void **req_cls)
{
	(void)url, (void)version;
	struct api_http *s = cls;
	struct hreq *r = *req_cls;
	if (r == NULL || r->uri == NULL)
		return MHD_NO; /* no memory: MHD closes the connection */
	if (!r->started) {
		r->started = true;
		/* the body's size is checked before any of it is read */
		const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t len = 0;
		if (cl != NULL && (http_parse_u64(cl, 0, UINT64_MAX / 2, &len) != ERR_OK || len > HTTP_BODY_MAX)) {
			r->too_large = r->answered = true;
			char msg[96];
			snprintf(msg, sizeof msg, "the body is larger than %u bytes", HTTP_BODY_MAX);
			return reply_now(s, con, 413, "too_large", msg);
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (r->too_large || r->body_len + *upload_data_size > HTTP_BODY_MAX) {
			/* a chunked body (no Content-Length) that grew too large:
			 * libmicrohttpd 0.9.75 sends no response queued in the middle
			 * of a body, so the rest is discarded and answered 413 at its
			 * end; past DISCARD_MAX the connection is closed instead */
			r->discarded += *upload_data_size;
			*upload_data_size = 0;
			r->too_large = true;
			return r->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
		}
		if (r->body == NULL && (r->body = malloc(HTTP_BODY_MAX)) == NULL)
			return MHD_NO;
		memcpy(r->body + r->body_len, upload_data, *upload_data_size);
		r->body_len += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->too_large) {
		if (r->answered)
			return MHD_YES;
		r->answered = true;
		char msg[96];
		snprintf(msg, sizeof msg, "the body is larger than %u bytes", HTTP_BODY_MAX);
		return reply_now(s, con, 413, "too_large", msg);
	}
	if (r->job != NULL) {
		/* resumed: the worker's answer */
		/* only a worker resumes, after its answer is made; MHD's resume
		 * lock orders that answer before this read */
		struct job *j = r->job;
		r->job = NULL;
		enum MHD_Result res = queue(s, con, &j->rep);
		job_free(j);
		atomic_fetch_sub(&s->suspended, 1);
		return res;
	}
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	void *sc = ci != NULL ? ci->socket_context : NULL;
	if (sc == NULL)
		return reply_now(s, con, 500, "internal", "the connection is not known to the front end");
	struct http_request rq = {
		.method = method,
		.uri = r->uri,
		.authorization = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
		.last_event_id = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Last-Event-ID"),
		.body = r->body,
		.body_len = r->body_len,
	};
	char addr[64] = "?";
	if (sc == &plain_marker) {
		const union MHD_ConnectionInfo *ai = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const struct sockaddr *sa = ai != NULL ? ai->client_addr : NULL;
		if (sa != NULL && sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, sizeof addr);
		else if (sa != NULL && sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr, sizeof addr);
		else
			snprintf(addr, sizeof addr, "unix");
	} else {
		const struct hconn *c = sc;
		snprintf(addr, sizeof addr, "%s", c->addr);
		rq.tls = true;
		rq.cert = c->have_cert ? &c->peer : NULL;
	}
	rq.addr = addr;
	if (http_route_waits(&rq))
		return hand_over(s, con, r, &rq);
	struct http_reply rep;
	http_route(&s->ctx, &rq, &rep);
	return queue(s, con, &rep);
}

/* ---- the pump ------------------------------------------------------------------- */

static void set_mask(struct pump *pm, int fd, struct ev *e, uint32_t *have, uint32_t want)
{
	if (fd < 0 || *have == want)
		return;
	struct epoll_event ev = {.events = want, .data.ptr = e};
	if (epoll_ctl(pm->ep, EPOLL_CTL_MOD, fd, &ev) == 0)
		*have = want;
}

static size_t net_pending(const struct hconn *c)
{
	return c->net != NULL ? BIO_ctrl_pending(c->net) : 0;
}

/* flush_net sends what TLS wrote: false when the socket failed */
static bool flush_net(struct hconn *c)
{
	for (;;) {
		char *p = NULL;
		int n = BIO_nread0(c->net, &p);
		if (n <= 0)
			return true;
		ssize_t k = send(c->tcp, p, (size_t)n, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		(void)BIO_nread(c->net, &p, (int)k);
		if (k < n)
			return true;
	}
}

/* close_fd takes |*fd| out of the pump's epoll set and closes it. Out of
 * the set first: close() alone leaves the registration while another
 * process holds the file too (a child between fork and exec), and its
 * events would then name a freed connection. */
static void close_fd(struct pump *pm, int *fd)
{
	if (*fd < 0)
		return;
	(void)epoll_ctl(pm->ep, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

static void conn_close_fds(struct hconn *c)
{
	close_fd(c->pump, &c->tcp);
	close_fd(c->pump, &c->pfd); /* MHD sees EOF and closes its side */
}

/* kill ends the connection now (an error, a timeout, the server stopping) */
static void conn_kill(struct hconn *c)
{
	if (c->phase == PH_DEAD)
		return;
	conn_close_fds(c);
	c->phase = PH_DEAD;
	atomic_fetch_sub(&c->pump->srv->active, 1);
}

static void conn_free(struct hconn *c)
{
	struct pump *pm = c->pump;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		pm->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	SSL_free(c->ssl); /* frees the internal half of the pair */
	BIO_free(c->net);
	secure_zero(c->in, sizeof c->in); /* plaintext may have been key material */
	free(c);
}

/* identify_cert maps the verified client certificate, if any, to its tenant */
static bool identify_cert(struct api_http *s, struct hconn *c)
{
	X509 *leaf = SSL_get0_peer_certificate(c->ssl);
	if (leaf == NULL)
		return true; /* no certificate: a token may say who it is */
	if (SSL_get_verify_result(c->ssl) != X509_V_OK)
		return false;
	STACK_OF(X509) *chain = SSL_get0_verified_chain(c->ssl);
	X509 *issuer = chain != NULL && sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
	if (auth_identify(s->auth, leaf, issuer, &c->peer) != ERR_OK)
		return false;
	c->have_cert = true;
	return true;
}

/* start_mhd gives the handshaken connection to MHD over a socketpair */
static bool start_mhd(struct hconn *c)
{
	struct pump *pm = c->pump;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
		log_warn("HTTP %s: socketpair: %s", c->addr, strerror(errno));
		return false;
	}
	/* MHD logs per-IP limits and addresses from this: the TCP peer */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getpeername(c->tcp, (struct sockaddr *)&ss, &sl) != 0) {
		memset(&ss, 0, sizeof ss);
		ss.ss_family = AF_INET;
		sl = sizeof(struct sockaddr_in);
	}
	c->pfd = sv[0];
	pm->adding = c;
	pm->adding_plain = false;
	enum MHD_Result ok = MHD_add_connection(pm->mhd, sv[1], (struct sockaddr *)&ss, sl);
	pm->adding = NULL;
	if (ok != MHD_YES) { /* MHD closed sv[1] */
		log_warn("HTTP %s: libmicrohttpd refused the connection", c->addr);
		close(sv[0]);
		c->pfd = -1;
		return false;
	}
	c->pfd_ev = (struct ev){EV_PFD, c};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->pfd_ev};
	if (epoll_ctl(pm->ep, EPOLL_CTL_ADD, c->pfd, &ev) != 0)
		return false;
	c->pfd_mask = EPOLLIN;
	return true;
}

/* start_close: MHD closed its side; say close_notify and send the rest */
static void start_close(struct hconn *c)
{
	close_fd(c->pump, &c->pfd);
	if (c->phase == PH_OPEN) {
		(void)SSL_shutdown(c->ssl); /* close_notify into the pair */
		c->phase = PH_CLOSING;
		c->deadline = now_ns() + (uint64_t)c->pump->srv->idle_s * 1000000000u;
	}
}

/* to_mhd writes client plaintext to MHD */
static void to_mhd(struct hconn *c)
{
	while (c->in_off < c->in_len && c->pfd >= 0 && !c->mhd_epipe) {
		ssize_t k = send(c->pfd, c->in + c->in_off, c->in_len - c->in_off, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EPIPE: MHD reads no more, but its answer (a 400, a 413)
			 * may still be on the way: keep reading it */
			c->mhd_epipe = true;
			break;
		}
		c->in_off += (size_t)k;
	}
	if (c->in_off == c->in_len || c->mhd_epipe)
		c->in_off = c->in_len = 0;
	/* the client's FIN, after every byte that came before it */
	if (c->tcp_eof && c->in_len == 0 && !c->fin_forwarded && c->pfd >= 0) {
		(void)shutdown(c->pfd, SHUT_WR);
		c->fin_forwarded = true;
	}
}

/* from_client reads TLS plaintext into |in|; false: kill the connection */
static bool from_client(struct hconn *c)
{
	while (!c->tcp_eof && c->in_len < sizeof c->in) {
		ERR_clear_error();
		int k = SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof c->in - c->in_len));
		if (k > 0) {
			c->in_len += (size_t)k;
			continue;
		}
		int e = SSL_get_error(c->ssl, k);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			break;
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
			c->tcp_eof = true; /* close_notify, or a FIN (SSL_OP_IGNORE_UNEXPECTED_EOF) */
			break;
		}
		if (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			c->tcp_eof = true;
			break;
		}
		log_debug("HTTP %s: TLS read failed: %s", c->addr, ERR_reason_error_string(ERR_peek_error()));
		return false;
	}
	to_mhd(c);
	return true;
}

/* pair_room is how much plaintext fits in the BIO pair once encrypted (0:
 * too little to bother) */
static size_t pair_room(struct hconn *c)
{
	BIO *w = SSL_get_wbio(c->ssl);
	size_t room = w != NULL ? BIO_ctrl_get_write_guarantee(w) : 0;
	size_t records = room / 16384 + 1;
	if (room <= records * RECORD_OVERHEAD + 1024)
		return 0;
	return room - records * RECORD_OVERHEAD - 1024;
}

/* from_mhd encrypts what MHD wrote, as much as the pair takes */
static bool from_mhd(struct hconn *c)
{
	struct pump *pm = c->pump;
	while (c->pfd >= 0) {
		size_t want = pair_room(c);
		if (want == 0)
			return true; /* full: the socket must take some first */
		if (want > sizeof pm->scratch)
			want = sizeof pm->scratch;
		ssize_t k = recv(c->pfd, pm->scratch, want, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			start_close(c);
			return true;
		}
		if (k == 0) {
			start_close(c);
			return true;
		}
		/* SSL_MODE_ENABLE_PARTIAL_WRITE: a record at a time; the pair
		 * has room for all of them (pair_room) */
		size_t done = 0;
		while (done < (size_t)k) {
			ERR_clear_error();
			int w = SSL_write(c->ssl, pm->scratch + done, (int)((size_t)k - done));
			if (w <= 0) {
				log_warn("HTTP %s: TLS write failed after %zu of %zd bytes", c->addr, done, k);
				secure_zero(pm->scratch, (size_t)k);
				return false;
			}
			done += (size_t)w;
		}
		secure_zero(pm->scratch, (size_t)k);
		if ((size_t)k < want)
			return true;
	}
	return true;
}

static void conn_update(struct hconn *c)
{
	if (c->phase == PH_DEAD)
		return;
	struct pump *pm = c->pump;
	uint32_t tm = 0, pmask = 0;
	bool backlog = net_pending(c) > 0;
	switch (c->phase) {
	case PH_HANDSHAKE:
		tm = EPOLLIN | (backlog ? EPOLLOUT : 0);
		break;
	case PH_OPEN:
		tm = (!c->tcp_eof && c->in_len < sizeof c->in ? EPOLLIN : 0) | (backlog ? EPOLLOUT : 0);
		pmask = (c->in_len > 0 ? EPOLLOUT : 0) | (pair_room(c) > 0 ? EPOLLIN : 0);
		break;
	case PH_CLOSING:
		tm = EPOLLOUT;
		break;
	case PH_LINGER:
		tm = EPOLLIN;
		break;
	case PH_DEAD:
	default:
		break;
	}
	set_mask(pm, c->tcp, &c->tcp_ev, &c->tcp_mask, tm);
	set_mask(pm, c->pfd, &c->pfd_ev, &c->pfd_mask, pmask);
}

/* closing: the pair is flushed; FIN to the client, then linger */
static void closing_step(struct hconn *c)
{
	if (c->phase != PH_CLOSING || net_pending(c) > 0)
		return;
	(void)shutdown(c->tcp, SHUT_WR);
	if (c->tcp_eof) { /* nothing more will come: no need to wait */
		conn_kill(c);
		return;
	}
	c->phase = PH_LINGER;
	c->deadline = now_ns() + (uint64_t)LINGER_MS * 1000000u;
}

static void linger_read(struct hconn *c)
{
	for (;;) {
		ssize_t k = recv(c->tcp, c->pump->scratch, sizeof c->pump->scratch, 0);
		if (k > 0)
			continue;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_kill(c); /* EOF or error: done */
		return;
	}
}

static void handshake_step(struct hconn *c)
{
	struct api_http *s = c->pump->srv;
	ERR_clear_error();
	int k = SSL_accept(c->ssl);
	if (!flush_net(c)) {
		conn_kill(c);
		return;
	}
	if (k != 1) {
		int e = SSL_get_error(c->ssl, k);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return;
		atomic_fetch_add(&s->n_handshakes_failed, 1);
		unsigned long ee = ERR_peek_error();
		long v = SSL_get_verify_result(c->ssl);
		log_info("HTTP %s: TLS handshake failed: %s", c->addr,
			 v != X509_V_OK ? X509_verify_cert_error_string(v)
			 : ee != 0 && ERR_reason_error_string(ee) != NULL ? ERR_reason_error_string(ee)
									   : "connection closed");
		/* any alert OpenSSL wrote goes out before the close */
		(void)flush_net(c);
		conn_kill(c);
		return;
	}
	if (!identify_cert(s, c)) {
		atomic_fetch_add(&s->n_handshakes_failed, 1);
		log_info("HTTP %s: the client certificate names no tenant (no CN and no binding): closing; "
			 "bind it with 'fount tenant bind'", c->addr);
		conn_kill(c);
		return;
	}
	if (!start_mhd(c)) {
		conn_kill(c);
		return;
	}
	c->phase = PH_OPEN;
	/* the client's first request may have come with its Finished */
	if (!from_client(c))
		conn_kill(c);
}

static void on_tcp(struct hconn *c, uint32_t events)
{
	switch (c->phase) {
	case PH_HANDSHAKE:
		if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
			conn_kill(c);
			return;
		}
		handshake_step(c);
		return;
	case PH_OPEN:
		if ((events & EPOLLERR) || ((events & EPOLLHUP) && !(events & EPOLLIN) && c->tcp_eof)) {
			conn_kill(c);
			return;
		}
		if ((events & EPOLLOUT) && !flush_net(c)) {
			conn_kill(c);
			return;
		}
		if ((events & (EPOLLIN | EPOLLHUP)) && !from_client(c)) {
			conn_kill(c);
			return;
		}
		/* room in the pair again: more of MHD's output fits */
		if (c->pfd >= 0 && !from_mhd(c)) {
			conn_kill(c);
			return;
		}
		if (!flush_net(c))
			conn_kill(c);
		return;
	case PH_CLOSING:
		if ((events & EPOLLERR) || !flush_net(c)) {
			conn_kill(c);
			return;
		}
		closing_step(c);
		return;
	case PH_LINGER:
		linger_read(c);
		return;
	case PH_DEAD:
	default:
		return;
	}
}

static void on_pfd(struct hconn *c, uint32_t events)
{
	if (c->phase != PH_OPEN)
		return;
	if (events & EPOLLOUT) {
		to_mhd(c);
		/* room in |in| again: read what TLS holds already */
		if (SSL_has_pending(c->ssl) && !from_client(c)) {
			conn_kill(c);
			return;
		}
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !from_mhd(c)) {
		conn_kill(c);
		return;
	}
	if (!flush_net(c)) {
		conn_kill(c);
		return;
	}
	closing_step(c);
}

/* accept_tls takes new TLS connections (up to 32 a wake-up) */
enum { ADMIT_NONE = -1, ADMIT_REFUSED = -2 };

/* admit accepts one connection on |lfd| and counts it against the cap:
 * its descriptor, ADMIT_NONE when there is none to take now, or
 * ADMIT_REFUSED when it was closed at once (max_connections reached). */
static int admit(struct api_http *s, int lfd, struct sockaddr_storage *ss, socklen_t *sl)
{
	int fd = accept4(lfd, (struct sockaddr *)ss, sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			log_warn("HTTP accept: %s (raise RLIMIT_NOFILE to ~3x [http] max_connections)", strerror(errno));
		return ADMIT_NONE;
	}
	atomic_fetch_add(&s->n_connections, 1);
	if (atomic_fetch_add(&s->active, 1) >= s->max_connections) {
		atomic_fetch_sub(&s->active, 1);
		atomic_fetch_add(&s->n_refused_busy, 1);
		close(fd);
		return ADMIT_REFUSED;
	}
	return fd;
}

static void accept_tls(struct pump *pm)
{
	struct api_http *s = pm->srv;
	for (int i = 0; i < 32; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = admit(s, s->tls_fd, &ss, &sl);
		if (fd == ADMIT_NONE)
			return;
		if (fd == ADMIT_REFUSED)
			continue;
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct hconn *c = calloc(1, sizeof *c);
		BIO *inner = NULL;
		if (c == NULL)
			goto fail;
		c->pump = pm;
		c->tcp = fd;
		c->pfd = -1;
		c->phase = PH_HANDSHAKE;
		c->deadline = now_ns() + (uint64_t)s->handshake_ms * 1000000u;
		char host[INET6_ADDRSTRLEN] = "?";
		(void)getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, NULL, 0, NI_NUMERICHOST);
		snprintf(c->addr, sizeof c->addr, "%s", host);
		c->ssl = SSL_new(s->ssl_ctx);
		if (c->ssl == NULL || BIO_new_bio_pair(&inner, NET_BUF, &c->net, 4096) != 1)
			goto fail;
		BIO *sock = BIO_new_socket(fd, BIO_NOCLOSE);
		if (sock == NULL)
			goto fail;
		SSL_set_bio(c->ssl, sock, inner); /* transferred */
		inner = NULL;
		c->tcp_ev = (struct ev){EV_TCP, c};
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->tcp_ev};
		if (epoll_ctl(pm->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			goto fail;
		c->tcp_mask = EPOLLIN;
		c->next = pm->conns;
		if (pm->conns != NULL)
			pm->conns->prev = c;
		pm->conns = c;
		continue;
fail:
		BIO_free(inner);
		if (c != NULL) {
			SSL_free(c->ssl);
			BIO_free(c->net);
			free(c);
		}
		close(fd);
		atomic_fetch_sub(&s->active, 1);
	}
}

static void accept_plain(struct pump *pm)
{
	struct api_http *s = pm->srv;
	for (int i = 0; i < 32; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = admit(s, s->plain_fd, &ss, &sl);
		if (fd == ADMIT_NONE)
			return;
		if (fd == ADMIT_REFUSED)
			continue;
		if (ss.ss_family == AF_UNIX) {
			/* MHD wants an IP address: a Unix peer is shown as loopback */
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			memset(&ss, 0, sizeof ss);
			in->sin_family = AF_INET;
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			sl = sizeof *in;
		} else {
			int one = 1;
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		}
		pm->adding = NULL;
		pm->adding_plain = true;
		enum MHD_Result ok = MHD_add_connection(pm->mhd, fd, (struct sockaddr *)&ss, sl);
		pm->adding_plain = false;
		/* active goes down when MHD reports it closed */
		if (ok != MHD_YES)
			atomic_fetch_sub(&s->active, 1);
	}
}

static void sweep(struct pump *pm, uint64_t now)
{
	struct api_http *s = pm->srv;
	for (struct hconn *c = pm->conns, *next; c != NULL; c = next) {
		next = c->next;
		if ((c->phase == PH_HANDSHAKE || c->phase == PH_CLOSING || c->phase == PH_LINGER) && now >= c->deadline) {
			if (c->phase == PH_HANDSHAKE) {
				atomic_fetch_add(&s->n_timeouts, 1);
				log_info("HTTP %s: TLS handshake not done after %u ms; closing", c->addr, s->handshake_ms);
			}
			conn_kill(c);
		}
		if (c->phase == PH_DEAD && !c->mhd_open)
			conn_free(c);
	}
}

static void *pump_main(void *arg)
{
	struct pump *pm = arg;
	struct api_http *s = pm->srv;
	struct epoll_event evs[64];
	this_pump = pm;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	bool stop = false;
	while (!stop) {
		MHD_UNSIGNED_LONG_LONG mt = 0;
		int timeout = SWEEP_MS;
		if (MHD_get_timeout(pm->mhd, &mt) == MHD_YES && mt < (MHD_UNSIGNED_LONG_LONG)timeout)
			timeout = (int)mt;
		int n = epoll_wait(pm->ep, evs, (int)ARRAY_SIZE(evs), timeout);
		if (n < 0 && errno != EINTR) {
			log_error("HTTP: epoll_wait: %s", strerror(errno));
			break;
		}
		struct hconn *touched[64];
		size_t nt = 0;
		for (int i = 0; i < n; i++) {
			struct ev *e = evs[i].data.ptr;
			switch (e->kind) {
			case EV_LISTEN_TLS:
				accept_tls(pm);
				break;
			case EV_LISTEN_PLAIN:
				accept_plain(pm);
				break;
			case EV_STOP:
				stop = true;
				break;
			case EV_MHD:
				break;
			case EV_WAKE: {
				uint64_t v;
				(void)!read(pm->wake_fd, &v, sizeof v); /* MHD_run below takes the answers */
				break;
			}
			case EV_TCP:
				on_tcp(e->p, evs[i].events);
				touched[nt++] = e->p;
				break;
			case EV_PFD:
				on_pfd(e->p, evs[i].events);
				touched[nt++] = e->p;
				break;
			default:
				break;
			}
		}
		/* MHD reads what was written to it and answers on this thread */
		MHD_run(pm->mhd);
		for (size_t i = 0; i < nt; i++)
			conn_update(touched[i]);
		uint64_t now = now_ns();
		if (now >= pm->next_sweep) {
			sweep(pm, now);
			pm->next_sweep = now + (uint64_t)SWEEP_MS * 1000000u;
		} else {
			/* free the dead ones touched now (their events are done) */
			for (size_t i = 0; i < nt; i++) {
				struct hconn *c = touched[i];
				bool dup = false;
				for (size_t k = i + 1; k < nt && !dup; k++)
					dup = touched[k] == c;
				if (!dup && c->phase == PH_DEAD && !c->mhd_open)
					conn_free(c);
			}
		}
	}
	(void)s;
	for (struct hconn *c = pm->conns; c != NULL; c = c->next)
		conn_kill(c);
	return NULL;
}

/* ---- listeners ------------------------------------------------------------------ */

static err_t bind_tcp(const char *key, const char *l, int *fd_out, uint16_t *port_out, char *why, size_t why_len)
{
	char name[32];
	snprintf(name, sizeof name, "[http] %s", key);
	const struct api_listen_opts lo = {.key = name, .backlog = 1024, .nonblock = true};
	return api_listen_tcp(&lo, l, fd_out, port_out, why, why_len);
}

static err_t bind_unix(struct api_http *s, const char *path, char *why, size_t why_len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(why, why_len, "[http] plain_listen = unix:%s: the path is longer than %zu bytes", path,
			 sizeof sa.sun_path - 1);
		return ERR_CONFIG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(why, why_len, "[http] plain_listen = unix:%s: a file that is not a socket is there; "
				 "remove it or choose another path", path);
			return ERR_CONFIG;
		}
		(void)unlink(path); /* a socket left by an earlier run */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || chmod(path, 0660) != 0 ||
	    listen(fd, 1024) != 0) {
		snprintf(why, why_len, "cannot listen on unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ERR_IO;
	}
	s->plain_fd = fd;
	snprintf(s->unix_path, sizeof s->unix_path, "%s", path);
	return ERR_OK;
}

/* ---- start and stop ---------------------------------------------------------------- */

static struct pump *pump_new(struct api_http *s, char *why, size_t why_len)
{
	struct pump *pm = calloc(1, sizeof *pm);
	if (pm == NULL)
		return NULL;
	pm->srv = s;
	pm->ep = epoll_create1(EPOLL_CLOEXEC);
	pm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* MHD_OPTION_EXTERNAL_LOGGER first: MHD logs while it reads the rest */
	pm->mhd = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME,
				   0, NULL, NULL,
				   access_handler, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->idle_s,
				   MHD_OPTION_CONNECTION_LIMIT, (unsigned int)s->max_connections,
				   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MHD_MEMORY,
				   MHD_OPTION_NOTIFY_CONNECTION, notify_connection, pm,
				   MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
				   MHD_OPTION_URI_LOG_CALLBACK, uri_log, s, MHD_OPTION_END);
	const union MHD_DaemonInfo *di = pm->mhd != NULL ? MHD_get_daemon_info(pm->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (pm->ep < 0 || di == NULL) {
		snprintf(why, why_len, "cannot start libmicrohttpd (epoll mode)");
		goto fail;
	}
	pm->mhd_ev = (struct ev){EV_MHD, NULL};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &pm->mhd_ev};
	struct epoll_event evl = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &s->tls_ev};
	struct epoll_event evp = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &s->plain_ev};
	struct epoll_event evs = {.events = EPOLLIN, .data.ptr = &s->stop_ev};
	pm->wake_ev = (struct ev){EV_WAKE, NULL};
	struct epoll_event evw = {.events = EPOLLIN, .data.ptr = &pm->wake_ev};
	if (pm->wake_fd < 0 || epoll_ctl(pm->ep, EPOLL_CTL_ADD, pm->wake_fd, &evw) != 0 ||
	    epoll_ctl(pm->ep, EPOLL_CTL_ADD, di->epoll_fd, &ev) != 0 ||
	    (s->tls_fd >= 0 && epoll_ctl(pm->ep, EPOLL_CTL_ADD, s->tls_fd, &evl) != 0) ||
	    (s->plain_fd >= 0 && epoll_ctl(pm->ep, EPOLL_CTL_ADD, s->plain_fd, &evp) != 0) ||
	    epoll_ctl(pm->ep, EPOLL_CTL_ADD, s->stop_fd, &evs) != 0) {
		snprintf(why, why_len, "epoll_ctl: %s", strerror(errno));
		goto fail;
	}
	return pm;
fail:
	if (pm->mhd != NULL)
		MHD_stop_daemon(pm->mhd);
	if (pm->ep >= 0)
		close(pm->ep);
	if (pm->wake_fd >= 0)
		close(pm->wake_fd);
	free(pm);
	return NULL;
}

static void pump_free(struct pump *pm)
{
	if (pm == NULL)
		return;
	/* MHD closes its sockets and reports every connection closed */
	MHD_stop_daemon(pm->mhd);
	while (pm->conns != NULL) {
		pm->conns->mhd_open = false;
		if (pm->conns->phase != PH_DEAD)
			conn_kill(pm->conns);
		conn_free(pm->conns);
	}
	close(pm->ep);
	close(pm->wake_fd);
	free(pm);
}

static void http_free(struct api_http *s)
{
	for (unsigned i = 0; i < s->n_pumps; i++)
		pump_free(s->pumps[i]);
	if (s->tls_fd >= 0)
		close(s->tls_fd);
	if (s->plain_fd >= 0)
		close(s->plain_fd);
	if (s->unix_path[0] != '\0')
		(void)unlink(s->unix_path);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	SSL_CTX_free(s->ssl_ctx);
	auth_free(s->auth);
	http_tokens_free(s->ctx.tokens);
	http_rate_free(s->ctx.rate);
	secure_zero(&s->pins, sizeof s->pins);
	pthread_mutex_destroy(&s->jmu);
	pthread_cond_destroy(&s->jcv);
	pthread_cond_destroy(&s->wcv);
	free(s);
}

err_t api_http_start(const struct api_http_options *o, struct api_http **out, char *why, size_t why_len)
{
	char none[1];
	if (why == NULL || why_len == 0) {
		why = none;
		why_len = sizeof none;
	}
	why[0] = '\0';
	*out = NULL;
	bool tls = o->listen != NULL && o->listen[0] != '\0' && strcmp(o->listen, "off") != 0;
	bool plain = o->plain_listen != NULL && o->plain_listen[0] != '\0' && strcmp(o->plain_listen, "off") != 0;
	if (!tls && !plain) {
		snprintf(why, why_len, "[http] listen and plain_listen are both empty: nothing to serve");
		return ERR_CONFIG;
	}
	if (plain && !api_http_plain_ok(o->plain_listen, why, why_len))
		return ERR_CONFIG;
	struct api_http *s = calloc(1, sizeof *s);
	if (s != NULL) {
		pthread_mutex_init(&s->jmu, NULL);
		pthread_cond_init(&s->jcv, NULL);
		pthread_cond_init(&s->wcv, NULL);
	}
	ENSURE(s != NULL, ERR_NOMEM);
	s->tls_fd = s->plain_fd = s->stop_fd = -1;
	s->tls_ev = (struct ev){EV_LISTEN_TLS, NULL};
	s->plain_ev = (struct ev){EV_LISTEN_PLAIN, NULL};
	s->stop_ev = (struct ev){EV_STOP, NULL};
	s->max_connections = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS;
	s->handshake_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms : 10000;
	s->idle_s = o->idle_timeout_s ? o->idle_timeout_s : 60;
	s->ctx.random_max = o->random_max ? o->random_max : DEFAULT_RANDOM_MAX;
	s->ctx.plaintext_material = o->plaintext_material;
	s->ctx.hooks = o->hooks;
	signal(SIGPIPE, SIG_IGN);
	err_t r;
	if ((r = http_tokens_new(o->tokens, &s->ctx.tokens, why, why_len)) != ERR_OK ||
	    (r = http_rate_new(o->rate_bytes, &s->ctx.rate)) != ERR_OK)
		goto fail;
	if (tls) {
		if ((r = tls_pins_parse(o->pins, &s->pins)) != ERR_OK) {
			snprintf(why, why_len, "[kmip] pins: want SHA-256 fingerprints of 64 hex digits, at most %d",
				 TLS_MAX_PINS);
			goto fail;
		}
		struct tls_server_options to = {.cert_file = o->cert_file, .key_file = o->key_file,
						.client_ca = o->client_ca, .pins = &s->pins, .tls_compat = o->tls_compat,
						.client_cert_optional = true};
		if ((r = tls_server_ctx(&to, &s->ssl_ctx, why, why_len)) != ERR_OK)
			goto fail;
		SSL_CTX_set_mode(s->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
						     SSL_MODE_RELEASE_BUFFERS);
		/* a FIN without close_notify is an end, not an error (curl, wrk) */
		SSL_CTX_set_options(s->ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
		SSL_CTX_set_read_ahead(s->ssl_ctx, 1);
		static const unsigned char sid_ctx[] = "fount-http";
		SSL_CTX_set_session_id_context(s->ssl_ctx, sid_ctx, sizeof sid_ctx - 1);
		if ((r = auth_new(o->bindings, o->admins, &s->auth, why, why_len)) != ERR_OK)
			goto fail;
		if ((r = bind_tcp("listen", o->listen, &s->tls_fd, &s->tls_port, why, why_len)) != ERR_OK)
			goto fail;
	}
	if (plain) {
		r = strncmp(o->plain_listen, "unix:", 5) == 0
			    ? bind_unix(s, o->plain_listen + 5, why, why_len)
			    : bind_tcp("plain_listen", o->plain_listen, &s->plain_fd, &s->plain_port, why, why_len);
		if (r != ERR_OK)
			goto fail;
	}
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		snprintf(why, why_len, "eventfd: %s", strerror(errno));
		r = ERR_SYSTEM;
		goto fail;
	}
	unsigned n = o->threads;
	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (unsigned)cpus : 1;
	}
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	for (unsigned i = 0; i < n; i++) {
		s->pumps[i] = pump_new(s, why, why_len);
		if (s->pumps[i] == NULL) {
			r = ERR_SYSTEM;
			goto fail;
		}
		s->n_pumps++;
	}
	for (unsigned i = 0; i < n; i++) {
		if (pthread_create(&s->pumps[i]->thread, NULL, pump_main, s->pumps[i]) != 0) {
			snprintf(why, why_len, "cannot start the HTTP threads");
			atomic_store(&s->stopping, true);
			uint64_t one = 1;
			(void)!write(s->stop_fd, &one, sizeof one);
			for (unsigned k = 0; k < i; k++)
				pthread_join(s->pumps[k]->thread, NULL);
			r = ERR_SYSTEM;
			goto fail;
		}
	}
	/* without it, a GET /v1/events answers at once (held never) */
	s->have_waiter = pthread_create(&s->waiter, NULL, waiter_main, s) == 0;
	for (unsigned i = 0; i < WORKERS; i++) {
		if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0)
			break;
		s->n_workers++;
	}
	if (s->n_workers == 0) {
		snprintf(why, why_len, "cannot start the HTTP worker threads");
		api_http_stop(s);
		return ERR_SYSTEM;
	}
	metrics_register_http(s, true);
	*out = s;
	return ERR_OK;
fail:
	http_free(s);
	return r;
}

uint16_t api_http_port(const struct api_http *h)
{
	return h->tls_port;
}

uint16_t api_http_plain_port(const struct api_http *h)
{
	return h->plain_port;
}

void api_http_stats(struct api_http *h, struct api_http_stats *out)
{
	memset(out, 0, sizeof *out);
	out->connections = atomic_load(&h->n_connections);
	out->handshakes_failed = atomic_load(&h->n_handshakes_failed);
	out->refused_busy = atomic_load(&h->n_refused_busy);
	out->timeouts = atomic_load(&h->n_timeouts);
	out->active = atomic_load(&h->active);
	out->random_bytes = atomic_load(&h->ctx.random_bytes);
	out->body_bytes = atomic_load(&h->ctx.body_bytes);
	for (unsigned e = 0; e < API_HTTP_EP_COUNT; e++)
		for (unsigned k = 0; k < API_HTTP_STATUSES; k++)
			out->requests[e][k] = atomic_load(&h->ctx.requests[e][k]);
}

void api_http_stop(struct api_http *h)
{
	if (h == NULL)
		return;
	metrics_register_http(h, false); /* before anything is freed */
	/* the workers answer what they have (new requests get 503), then the
	 * pumps send those answers, and only then stop: MHD never stops with
	 * a connection suspended */
	pthread_mutex_lock(&h->jmu);
	h->jstop = true;
	/* the held GET /v1/events are answered with what there is */
	while (h->held != NULL) {
		struct job *j = h->held;
		h->held = j->next;
		j->rq.events_final = true;
		http_reply_free(&j->rep);
		job_push(h, j);
	}
	pthread_cond_broadcast(&h->jcv);
	pthread_cond_broadcast(&h->wcv);
	pthread_mutex_unlock(&h->jmu);
	if (h->have_waiter)
		pthread_join(h->waiter, NULL);
	for (unsigned i = 0; i < h->n_workers; i++)
		pthread_join(h->workers[i], NULL);
	for (unsigned ms = 0; atomic_load(&h->suspended) > 0 && ms < DRAIN_MS; ms += 5)
		(void)usleep(5000);
	atomic_store(&h->stopping, true);
	uint64_t one = 1;
	(void)!write(h->stop_fd, &one, sizeof one); /* stays readable: every pump sees it */
	for (unsigned i = 0; i < h->n_pumps; i++)
		pthread_join(h->pumps[i]->thread, NULL);
	http_free(h);
}
