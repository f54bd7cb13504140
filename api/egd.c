/* api/egd.c — the EGD socket server for QEMU's rng-egd (virtio-rng): a
 * Unix socket and optionally loopback TCP, one event thread (epoll) for
 * every connection, non-blocking sockets, a bounded queue of owed replies
 * per connection (its commands are not read while it is full), a token
 * bucket per connection and a connection cap. The protocol itself is
 * api/egd_proto.c; this file moves bytes.
 *
 * QEMU's side (vm-entropy.md §1.2): rng-egd sends only `02 NN` and writes
 * them with qemu_chr_fe_write_all, which blocks QEMU's main loop if fount
 * stops reading; nothing is resent after a reconnect. So fount keeps reading
 * (up to the queue bound), never closes with reads outstanding while it can
 * answer them, and listens before anything slow. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "api/egd.h"
#include "api/internal.h"
#include "api/metrics.h"
#include "keygen/keygen.h"

CSP_USE("Random output", "EGD and virtio-rng answers, and the additional input a guest mixes in, in a locked buffer");

#define OUT_CAP 65536u      /* replies made, not yet sent, per connection */
#define IN_CAP 4096u        /* commands read, not yet parsed */
#define MAX_EVENTS 64
#define STATE_POLL_NS 20000000ull  /* a read held up by the module state is retried this often */
#define ROUNDS 16           /* read/produce/write rounds per wake-up: fairness between clients */
#define BAD_LINGER_NS 1000000000ull /* after an unknown opcode: time to flush earlier replies */
#define ACCEPT_PAUSE_NS 100000000ull /* out of descriptors: stop accepting this long */

struct conn {
	int fd;
	bool eof;              /* the peer shut down its side */
	bool timed;            /* on the timer: waiting for the module state or the rate limit */
	bool counted_waiting;  /* counted in st.waiting */
	uint32_t events;       /* the epoll interest registered now */
	uint64_t wake_ns;      /* when the timer serves it */
	uint64_t bad_deadline; /* after an unknown opcode: close by then */
	unsigned slot;
	struct egd_session ses;
	struct egd_session_stats folded; /* what the server's counters have of ses.st */
	struct api_egd_peer peer;
	size_t in_start, in_end;
	uint8_t in[IN_CAP];
	uint8_t *out;
};

/* epoll tags for the descriptors that are not connections */
static int tag_unix, tag_tcp, tag_stop;

struct api_egd {
	int ep, stop_fd, unix_fd, tcp_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	uint16_t port;
	unsigned max_conn, n_open, n_timed;
	unsigned drain_ms;
	struct egd_env env;
	struct conn **conns;
	uint8_t *mix;          /* 03 data to mix in, batched (secure memory) */
	size_t mix_len;
	bool draining;
	uint64_t drain_deadline, accept_paused_until, refusal_logged;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;  /* st, the conns[] slots and each peer */
	struct api_egd_stats st;
};

/* ---- the DRBG, through egd_env ----------------------------------------------- */

static err_t env_generate(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	return drbg_generate(out, len); /* gated: ERR_NOT_OPERATIONAL outside OPERATIONAL */
}

static bool env_operational(void *ctx)
{
	(void)ctx;
	return drbg_gate_open();
}

static void mix_flush(struct api_egd *s)
{
	if (s->mix_len == 0)
		return;
	size_t used = 0;
	/* SP 800-90A additional input: mixed, never credited; outside
	 * OPERATIONAL it is refused and the bytes are dropped */
	err_t r = drbg_add_input(s->mix, s->mix_len, &used);
	secure_zero(s->mix, s->mix_len);
	s->mix_len = 0;
	if (r == ERR_OK) {
		pthread_mutex_lock(&s->lock);
		s->st.bytes_mixed += used;
		pthread_mutex_unlock(&s->lock);
	}
}

static void env_mix(void *ctx, const uint8_t *in, size_t len)
{
	struct api_egd *s = ctx;
	/* one drbg_add_input per CTR_DRBG_MAX_INPUT_LEN, not per command: each
	 * makes every worker DRBG reseed */
	if (s->mix_len + len > CTR_DRBG_MAX_INPUT_LEN)
		mix_flush(s);
	memcpy(s->mix + s->mix_len, in, len);
	s->mix_len += len;
}

/* ---- connections ---------------------------------------------------------------- */

/* fold adds what the session counted since the last fold to the server's
 * counters */
static void fold(struct api_egd *s, struct conn *c)
{
	const struct egd_session_stats *a = &c->ses.st;
	struct egd_session_stats *b = &c->folded;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < EGD_OPS; i++)
		s->st.commands[i] += a->commands[i] - b->commands[i];
	s->st.bytes_served += a->bytes_served - b->bytes_served;
	s->st.bytes_written += a->bytes_written - b->bytes_written;
	if (a->longest_wait_ns > s->st.longest_wait_ns)
		s->st.longest_wait_ns = a->longest_wait_ns;
	c->peer.served = a->bytes_served;
	pthread_mutex_unlock(&s->lock);
	*b = *a;
}

static void conn_close(struct api_egd *s, struct conn *c, const char *why)
{
	fold(s, c);
	/* the counters first: whoever sees the close sees them */
	pthread_mutex_lock(&s->lock);
	s->conns[c->slot] = NULL;
	s->n_open--;
	s->st.open = s->n_open;
	if (c->counted_waiting)
		s->st.waiting--;
	if (c->ses.bad)
		s->st.bad_commands++;
	pthread_mutex_unlock(&s->lock);
	(void)epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->timed)
		s->n_timed--;
	if (c->peer.pid >= 0)
		log_info("EGD: closed the connection of pid %lld uid %lld (%s): %llu bytes served",
			 (long long)c->peer.pid, (long long)c->peer.uid, why, (unsigned long long)c->peer.served);
	else
		log_info("EGD: closed the connection of %s (%s): %llu bytes served", c->peer.addr, why,
			 (unsigned long long)c->peer.served);
	egd_session_wipe(&c->ses);
	secure_zero(c->in, sizeof c->in); /* 03 data may sit there */
	free(c->out);
	free(c);
}

/* update sets the epoll interest and the timer from the connection's
 * state; |more|: it stopped for fairness with work left, so it goes again
 * at the next turn of the loop (no event would wake it) */
static void update(struct api_egd *s, struct conn *c, uint64_t now, bool more)
{
	const uint8_t *p;
	uint32_t want = 0;
	if (!c->eof && !c->ses.bad && c->in_end == 0 && egd_session_can_input(&c->ses))
		want |= EPOLLIN;
	if (egd_session_output(&c->ses, &p) > 0)
		want |= EPOLLOUT;
	if (want != c->events) {
		struct epoll_event e = {.events = want, .data.ptr = c};
		if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
			c->events = want;
	}
	uint64_t wake = 0;
	if (more || (c->in_end != 0 && egd_session_can_input(&c->ses)))
		wake = now;
	else if (c->ses.waiting)
		wake = now + STATE_POLL_NS;
	uint64_t rl = egd_session_wake_ns(&c->ses);
	if (rl != 0 && (wake == 0 || rl < wake))
		wake = rl;
	if (c->ses.bad && (wake == 0 || c->bad_deadline < wake))
		wake = c->bad_deadline;
	bool timed = wake != 0;
	if (timed && !c->timed)
		s->n_timed++;
	else if (!timed && c->timed)
		s->n_timed--;
	c->timed = timed;
	c->wake_ns = wake;
	if (c->ses.waiting != c->counted_waiting) {
		pthread_mutex_lock(&s->lock);
		if (c->ses.waiting)
			s->st.waiting++;
		else
			s->st.waiting--;
		pthread_mutex_unlock(&s->lock);
		c->counted_waiting = c->ses.waiting;
	}
}

/* serve reads, answers and writes what it can without blocking; returns
 * false when it closed the connection */
static bool serve(struct api_egd *s, struct conn *c, uint32_t ev)
{
	uint64_t now = now_ns();
	if (ev & (EPOLLERR | EPOLLHUP)) {
		/* the peer is gone in both directions: nobody can read a reply */
		conn_close(s, c, "the peer closed");
		return false;
	}
	bool more = false;
	for (unsigned round = 0; round < ROUNDS; round++) {
		bool progress = false;
		if (c->in_start < c->in_end) {
			size_t k = egd_session_input(&c->ses, c->in + c->in_start, c->in_end - c->in_start, now);
			c->in_start += k;
			progress = k > 0;
			if (c->in_start == c->in_end || c->ses.bad)
				c->in_start = c->in_end = 0;
		}
		if (c->in_end == 0 && !c->eof && !c->ses.bad && egd_session_can_input(&c->ses)) {
			ssize_t n = read(c->fd, c->in, sizeof c->in);
			if (n > 0) {
				c->in_end = (size_t)n;
				size_t k = egd_session_input(&c->ses, c->in, c->in_end, now);
				c->in_start = k;
				if (c->in_start == c->in_end || c->ses.bad)
					c->in_start = c->in_end = 0;
				progress = true;
			} else if (n == 0) {
				c->eof = true; /* its reads still get their replies */
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				conn_close(s, c, strerror(errno));
				return false;
			}
		}
		if (c->ses.bad && c->bad_deadline == 0) {
			c->bad_deadline = now + BAD_LINGER_NS;
			log_warn("EGD: unknown command from %s pid %lld: closing after the replies owed", c->peer.addr,
				 (long long)c->peer.pid);
		}
		egd_session_produce(&c->ses, now);
		const uint8_t *p;
		size_t len = egd_session_output(&c->ses, &p);
		if (len > 0) {
			/* counted before they leave: a client that has its reply
			 * sees it in the counters (/metrics) */
			fold(s, c);
			ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0) {
				egd_session_sent(&c->ses, (size_t)w);
				progress = true;
			} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				conn_close(s, c, strerror(errno));
				return false;
			}
		}
		if (!progress)
			break;
		more = round + 1 == ROUNDS;
	}
	fold(s, c);
	bool idle = egd_session_idle(&c->ses) && c->in_end == 0;
	if ((c->eof || c->ses.bad) && idle) {
		conn_close(s, c, c->ses.bad ? "unknown command" : "end of stream");
		return false;
	}
	if (c->ses.bad && now >= c->bad_deadline) {
		conn_close(s, c, "unknown command; replies owed were dropped");
		return false;
	}
	if (s->draining && idle) {
		conn_close(s, c, "shutting down, nothing owed");
		return false;
	}
	update(s, c, now, more);
	return true;
}

static void describe_peer(struct conn *c, bool tcp)
{
	c->peer.pid = c->peer.uid = c->peer.gid = -1;
	if (!tcp) {
		struct ucred uc;
		socklen_t l = sizeof uc;
		snprintf(c->peer.addr, sizeof c->peer.addr, "unix");
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 && l == sizeof uc) {
			c->peer.pid = uc.pid;
			c->peer.uid = uc.uid;
			c->peer.gid = uc.gid;
		}
		return;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
			port = ntohs(a->sin6_port);
		}
	}
	snprintf(c->peer.addr, sizeof c->peer.addr, "%s:%u", host, port);
}

static void accept_all(struct api_egd *s, int lfd, bool tcp)
{
	for (unsigned k = 0; k < MAX_EVENTS; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_warn("EGD: cannot accept: %s (raise the descriptor limit or lower [egd] max_connections)",
					 strerror(errno));
				s->accept_paused_until = now_ns() + ACCEPT_PAUSE_NS;
				(void)epoll_ctl(s->ep, EPOLL_CTL_DEL, lfd, NULL);
			}
			return;
		}
		if (s->n_open >= s->max_conn) {
			uint64_t now = now_ns();
			pthread_mutex_lock(&s->lock);
			s->st.refused_busy++;
			pthread_mutex_unlock(&s->lock);
			close(fd); /* the cap holds: one more VM cannot starve the others */
			if (now - s->refusal_logged > 1000000000ull) {
				log_warn("EGD: %u connections open, refusing more (raise [egd] max_connections)", s->n_open);
				s->refusal_logged = now;
			}
			continue;
		}
		struct conn *c = calloc(1, sizeof *c);
		uint8_t *out = malloc(OUT_CAP);
		if (c == NULL || out == NULL) {
			free(c);
			free(out);
			close(fd);
			log_warn("EGD: out of memory for a connection");
			continue;
		}
		c->fd = fd;
		c->out = out;
		if (tcp) {
			int one = 1; /* replies are small and a guest waits for each */
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		}
		describe_peer(c, tcp);
		egd_session_init(&c->ses, &s->env, c->out, OUT_CAP, now_ns());
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) != 0) {
			log_warn("EGD: epoll: %s", strerror(errno));
			close(fd);
			free(out);
			free(c);
			continue;
		}
		c->events = EPOLLIN;
		pthread_mutex_lock(&s->lock);
		for (unsigned i = 0; i < s->max_conn; i++) {
			if (s->conns[i] == NULL) {
				s->conns[i] = c;
				c->slot = i;
				break;
			}
		}
		s->n_open++;
		s->st.open = s->n_open;
		s->st.connections++;
		pthread_mutex_unlock(&s->lock);
		if (tcp)
			log_info("EGD: connection from %s", c->peer.addr);
		else
			log_info("EGD: connection from pid %lld uid %lld gid %lld", (long long)c->peer.pid,
				 (long long)c->peer.uid, (long long)c->peer.gid);
	}
}

static void listeners_close(struct api_egd *s)
{
	if (s->unix_fd >= 0) {
		(void)epoll_ctl(s->ep, EPOLL_CTL_DEL, s->unix_fd, NULL);
		close(s->unix_fd);
		s->unix_fd = -1;
		/* only the socket this process made: a successor may have
		 * replaced it already */
		struct stat st;
		if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
			(void)unlink(s->path);
	}
	if (s->tcp_fd >= 0) {
		(void)epoll_ctl(s->ep, EPOLL_CTL_DEL, s->tcp_fd, NULL);
		close(s->tcp_fd);
		s->tcp_fd = -1;
	}
}

static void listeners_arm(struct api_egd *s)
{
	struct epoll_event e = {.events = EPOLLIN};
	if (s->unix_fd >= 0) {
		e.data.ptr = &tag_unix;
		(void)epoll_ctl(s->ep, EPOLL_CTL_ADD, s->unix_fd, &e);
	}
	if (s->tcp_fd >= 0) {
		e.data.ptr = &tag_tcp;
		(void)epoll_ctl(s->ep, EPOLL_CTL_ADD, s->tcp_fd, &e);
	}
}

static void drain_begin(struct api_egd *s)
{
	uint64_t now = now_ns();
	s->draining = true;
	s->drain_deadline = now + (uint64_t)s->drain_ms * 1000000u;
	listeners_close(s);
	/* each connection reads what has arrived, answers it, and closes
	 * once nothing is owed */
	for (unsigned i = 0; i < s->max_conn; i++)
		if (s->conns[i] != NULL)
			(void)serve(s, s->conns[i], 0);
}

static void *event_thread(void *arg)
{
	struct api_egd *s = arg;
	struct epoll_event evs[MAX_EVENTS];
	for (;;) {
		uint64_t now = now_ns();
		int timeout = -1;
		uint64_t wake = UINT64_MAX;
		if (s->n_timed > 0)
			for (unsigned i = 0; i < s->max_conn; i++)
				if (s->conns[i] != NULL && s->conns[i]->timed && s->conns[i]->wake_ns < wake)
					wake = s->conns[i]->wake_ns;
		if (s->accept_paused_until != 0 && s->accept_paused_until < wake)
			wake = s->accept_paused_until;
		if (s->draining && s->drain_deadline < wake)
			wake = s->drain_deadline;
		if (wake != UINT64_MAX) {
			uint64_t ms = wake <= now ? 0 : (wake - now + 999999u) / 1000000u;
			timeout = ms > 60000 ? 60000 : (int)ms;
		}
		int n = epoll_wait(s->ep, evs, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			log_error("EGD: epoll_wait: %s; the EGD socket stops", strerror(errno));
			break;
		}
		bool stop = false;
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &tag_stop) {
				uint64_t v;
				if (read(s->stop_fd, &v, sizeof v) < 0) { /* the wake-up itself is all */
				}
				stop = true; /* after the batch: it may close connections with events in it */
			} else if (tag == &tag_unix) {
				accept_all(s, s->unix_fd, false);
			} else if (tag == &tag_tcp) {
				accept_all(s, s->tcp_fd, true);
			} else {
				/* a connection closed earlier in this batch has no
				 * pending events: each fd's event comes once per batch */
				(void)serve(s, tag, evs[i].events);
			}
		}
		if (stop && !s->draining)
			drain_begin(s);
		now = now_ns();
		if (s->accept_paused_until != 0 && now >= s->accept_paused_until && !s->draining) {
			s->accept_paused_until = 0;
			listeners_arm(s);
		}
		if (s->n_timed > 0)
			for (unsigned i = 0; i < s->max_conn; i++) {
				struct conn *c = s->conns[i];
				if (c != NULL && c->timed && c->wake_ns <= now)
					(void)serve(s, c, 0);
			}
		mix_flush(s);
		if (s->draining) {
			/* outside OPERATIONAL nothing owed can be answered: no wait */
			if (s->n_open == 0 || now >= s->drain_deadline || !drbg_gate_open()) {
				unsigned left = 0;
				for (unsigned i = 0; i < s->max_conn; i++)
					if (s->conns[i] != NULL) {
						left++;
						conn_close(s, s->conns[i], "shutting down; reads left unanswered");
					}
				if (left > 0)
					log_warn("EGD: stopped with %u connections still owed replies (%s)", left,
						 drbg_gate_open() ? "the drain time ran out" : "fount is not OPERATIONAL");
				break;
			}
		}
	}
	mix_flush(s);
	return NULL;
}

/* ---- listeners ----------------------------------------------------------------- */

static err_t listen_unix(struct api_egd *s, const char *path, char *why, size_t why_len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmp[sizeof sa.sun_path];
	size_t len = strlen(path);
	int n = snprintf(tmp, sizeof tmp, "%s.%ld~", path, (long)getpid());
	if (len >= sizeof sa.sun_path || n < 0 || (size_t)n >= sizeof tmp) {
		snprintf(why, why_len,
			 "[egd] socket = %s: %zu bytes is too long for a Unix socket (at most %zu here): choose a shorter path",
			 path, len, sizeof sa.sun_path - 1 - ((size_t)(n > 0 ? n : 0) - len));
		return ERR_CONFIG;
	}
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(why, why_len,
				 "[egd] socket = %s: the file exists and is not a socket: remove it or set [egd] socket to another path",
				 path);
			return ERR_IO;
		}
		/* a socket file: stale unless somebody accepts on it */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		memcpy(sa.sun_path, path, len + 1);
		int rc = probe >= 0 ? connect(probe, (const struct sockaddr *)&sa, sizeof sa) : -1;
		int e = errno;
		if (probe >= 0)
			close(probe);
		if (rc == 0) {
			snprintf(why, why_len,
				 "[egd] socket = %s: another process listens on it (a fount already running?): stop it or set [egd] socket to another path",
				 path);
			return ERR_IO;
		}
		if (e != ECONNREFUSED) {
			snprintf(why, why_len, "[egd] socket = %s: cannot check the existing socket: %s", path,
				 strerror(e));
			return ERR_IO;
		}
		log_info("EGD: replacing the stale socket %s (nobody listens on it)", path);
	} else if (errno != ENOENT) {
		snprintf(why, why_len, "[egd] socket = %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	(void)unlink(tmp); /* a leftover of a start that died halfway */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(why, why_len, "EGD: socket: %s", strerror(errno));
		return ERR_SYSTEM;
	}
	memset(sa.sun_path, 0, sizeof sa.sun_path);
	memcpy(sa.sun_path, tmp, (size_t)n + 1);
	/* under a temporary name until it is complete: listening, mode 0660;
	 * then rename puts it in place atomically (over a stale one too) */
	if (bind(fd, (const struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		close(fd);
		snprintf(why, why_len, "[egd] socket = %s: cannot bind: %s%s", path, strerror(e),
			 e == ENOENT   ? " (create the folder, or set [egd] socket to another path)"
			 : e == EACCES ? " (the folder is not writable for fount's user: fix its permissions or set [egd] socket)"
				       : "");
		return ERR_IO;
	}
	if (chmod(tmp, 0660) != 0 || listen(fd, 128) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		close(fd);
		(void)unlink(tmp);
		snprintf(why, why_len, "[egd] socket = %s: %s", path, strerror(e));
		return ERR_IO;
	}
	if (lstat(path, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	memcpy(s->path, path, len + 1);
	s->unix_fd = fd;
	return ERR_OK;
}



static err_t listen_tcp(struct api_egd *s, const char *l, char *why, size_t why_len)
{
	static const struct api_listen_opts lo = {
		.key = "[egd] tcp_listen",
		.loopback_fix = "EGD has no authentication, so fount serves it on loopback only: use 127.0.0.1:PORT or "
				"[::1]:PORT (or the Unix socket, [egd] socket)",
		.backlog = 128,
		.nonblock = true,
	};
	return api_listen_tcp(&lo, l, &s->tcp_fd, &s->port, why, why_len);
}

/* ---- the API ------------------------------------------------------------------- */

static void egd_free(struct api_egd *s)
{
	listeners_close(s);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	if (s->ep >= 0)
		close(s->ep);
	if (s->mix != NULL)
		secmem_free(s->mix, CTR_DRBG_MAX_INPUT_LEN);
	free(s->conns);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

err_t api_egd_start(const struct api_egd_options *o, struct api_egd **out, char *why, size_t why_len)
{
	char none[1];
	if (why == NULL || why_len == 0) {
		why = none;
		why_len = sizeof none;
	}
	why[0] = '\0';
	*out = NULL;
	bool want_unix = o->socket != NULL && o->socket[0] != '\0';
	bool want_tcp = o->tcp_listen != NULL && o->tcp_listen[0] != '\0';
	if (!want_unix && !want_tcp) {
		snprintf(why, why_len, "EGD: neither [egd] socket nor [egd] tcp_listen is set");
		return ERR_CONFIG;
	}
	struct api_egd *s = calloc(1, sizeof *s);
	if (s == NULL)
		return ERR_NOMEM;
	s->ep = s->stop_fd = s->unix_fd = s->tcp_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->max_conn = o->max_connections ? o->max_connections : 256;
	s->drain_ms = o->drain_ms ? o->drain_ms : 2000;
	s->env = (struct egd_env){.generate = env_generate, .mix = env_mix, .operational = env_operational,
				  .ctx = s, .pid = (uint32_t)getpid(), .rate = o->rate};
	err_t r = ERR_NOMEM;
	s->conns = calloc(s->max_conn, sizeof *s->conns);
	s->mix = secmem_alloc(CTR_DRBG_MAX_INPUT_LEN, &r);
	if (s->conns == NULL || s->mix == NULL) {
		snprintf(why, why_len, "EGD: %s", err_str(r));
		goto fail;
	}
	r = ERR_SYSTEM;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->ep < 0 || s->stop_fd < 0) {
		snprintf(why, why_len, "EGD: %s", strerror(errno));
		goto fail;
	}
	/* TCP first: a refused address leaves no socket file behind */
	if (want_tcp && (r = listen_tcp(s, o->tcp_listen, why, why_len)) != ERR_OK)
		goto fail;
	if (want_unix && (r = listen_unix(s, o->socket, why, why_len)) != ERR_OK)
		goto fail;
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = &tag_stop};
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->stop_fd, &e) != 0) {
		r = ERR_SYSTEM;
		snprintf(why, why_len, "EGD: epoll: %s", strerror(errno));
		goto fail;
	}
	listeners_arm(s);
	int pe = pthread_create(&s->thread, NULL, event_thread, s);
	if (pe != 0) {
		r = ERR_SYSTEM;
		snprintf(why, why_len, "EGD: cannot start its thread: %s", strerror(pe));
		goto fail;
	}
	s->thread_started = true;
	metrics_register_egd(s, true);
	*out = s;
	return ERR_OK;
fail:
	egd_free(s);
	return r;
}

const char *api_egd_socket_path(const struct api_egd *s)
{
	return s->path;
}

uint16_t api_egd_tcp_port(const struct api_egd *s)
{
	return s->port;
}

void api_egd_stats(struct api_egd *s, struct api_egd_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	pthread_mutex_unlock(&s->lock);
}

size_t api_egd_peers(struct api_egd *s, struct api_egd_peer *out, size_t cap)
{
	size_t n = 0;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->max_conn; i++) {
		if (s->conns[i] == NULL)
			continue;
		if (n < cap && out != NULL)
			out[n] = s->conns[i]->peer;
		n++;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

void api_egd_stop(struct api_egd *s)
{
	if (s == NULL)
		return;
	metrics_register_egd(s, false); /* before anything is freed */
	if (s->thread_started) {
		uint64_t one = 1;
		if (write(s->stop_fd, &one, sizeof one) != (ssize_t)sizeof one)
			log_warn("EGD: cannot signal its thread: %s", strerror(errno));
		pthread_join(s->thread, NULL);
	}
	for (unsigned i = 0; i < s->max_conn; i++)
		if (s->conns[i] != NULL)
			conn_close(s, s->conns[i], "stopped");
	egd_free(s);
}
