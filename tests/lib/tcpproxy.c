/* tests/lib/tcpproxy.c — support code (tested by test_tcpproxy in
 * tests/test_store_faults.c): the test's TCP proxy (see tcpproxy.h).
 *
 * One thread runs one poll loop over the listener, a wake-up pipe and
 * both sockets of every connection; every socket is non-blocking, so the
 * thread waits only in poll. The test's calls set a flag under the lock,
 * wake the thread and wait until it has applied the flag at the top of
 * its loop, before any further byte moves: that is what makes a stall or
 * a cut take effect before the call returns. Each direction of a
 * connection has one fixed buffer: a reader is polled only while its
 * buffer has room, so a fast sender meets TCP's own back-pressure. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/tcpproxy.h"

#define TP_MAX_CONNS 256
#define TP_BUF 16384

/* one direction: bytes read from one side, waiting to be written to the other */
struct half {
	uint8_t buf[TP_BUF];
	size_t off, len;
	bool eof;  /* the reading side sent FIN */
	bool shut; /* ... and the writing side got it (shutdown SHUT_WR) */
};

struct conn {
	int fd[2];        /* [0] the client's side, [1] the destination's */
	bool connecting;  /* fd[1]'s non-blocking connect is under way */
	struct half h[2]; /* h[0]: client -> destination, h[1]: back */
};

struct tcpproxy_state {
	int lfd, wake[2];
	unsigned dst_port;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu: the test's requests, and how far the thread has applied them */
	uint64_t want, done;
	bool stall, refuse, cut, stop;
	struct tcpproxy_stats st;
	/* the thread's own */
	struct conn *c[TP_MAX_CONNS];
	size_t n;
};

/* reset_fd closes |fd| with a reset (SO_LINGER 0: RST instead of FIN) */
static void reset_fd(int fd)
{
	struct linger l = {1, 0};
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}

static void conn_free(struct conn *c, bool reset)
{
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] < 0)
			continue;
		if (reset)
			reset_fd(c->fd[i]);
		else
			close(c->fd[i]);
	}
	free(c);
}

static void count(struct tcpproxy_state *s, uint64_t *what)
{
	pthread_mutex_lock(&s->mu);
	(*what)++;
	pthread_mutex_unlock(&s->mu);
}

static void nodelay(int fd)
{
	/* forwarded requests are small: no Nagle wait on either leg */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* accept_all takes every pending connection: each gets its leg to the
 * destination (a non-blocking connect), or is reset at once */
static void accept_all(struct tcpproxy_state *s, bool refuse)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN: none left (or a transient error: next time) */
		struct conn *c = NULL;
		int d = -1;
		if (!refuse && s->n < TP_MAX_CONNS && (c = calloc(1, sizeof *c)) != NULL)
			d = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (d >= 0) {
			struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->dst_port)};
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (connect(d, (struct sockaddr *)&a, sizeof a) == 0)
				c->connecting = false;
			else if (errno == EINPROGRESS)
				c->connecting = true;
			else {
				close(d);
				d = -1;
			}
		}
		if (d < 0) {
			free(c);
			reset_fd(fd);
			count(s, &s->st.refused);
			continue;
		}
		nodelay(fd);
		nodelay(d);
		c->fd[0] = fd;
		c->fd[1] = d;
		s->c[s->n++] = c;
		if (!c->connecting)
			count(s, &s->st.accepted);
	}
}

/* pull reads from c->fd[from] into h[from]: false when the connection broke */
static bool pull(struct tcpproxy_state *s, struct conn *c, int from)
{
	struct half *h = &c->h[from];
	if (h->off + h->len == TP_BUF && h->off > 0) {
		memmove(h->buf, h->buf + h->off, h->len);
		h->off = 0;
	}
	size_t room = TP_BUF - h->off - h->len;
	if (room == 0 || h->eof)
		return true;
	ssize_t n = recv(c->fd[from], h->buf + h->off + h->len, room, 0);
	if (n > 0) {
		h->len += (size_t)n;
		pthread_mutex_lock(&s->mu);
		*(from == 0 ? &s->st.bytes_up : &s->st.bytes_down) += (uint64_t)n;
		pthread_mutex_unlock(&s->mu);
		return true;
	}
	if (n == 0) {
		h->eof = true;
		return true;
	}
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* push writes h[from] to the other side, and passes a FIN on once it is
 * all written: false when the connection broke */
static bool push(struct conn *c, int from)
{
	struct half *h = &c->h[from];
	int to = 1 - from;
	if (h->len > 0) {
		ssize_t n = send(c->fd[to], h->buf + h->off, h->len, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		h->off += (size_t)n;
		h->len -= (size_t)n;
		if (h->len == 0)
			h->off = 0;
	}
	if (h->eof && h->len == 0 && !h->shut) {
		(void)shutdown(c->fd[to], SHUT_WR);
		h->shut = true;
	}
	return true;
}

static short events_of(const struct conn *c, int side)
{
	short ev = 0;
	/* connecting: only the destination's leg is watched, for its end */
	if (c->connecting)
		return side == 1 ? POLLOUT : 0;
	if (!c->h[side].eof && c->h[side].len < TP_BUF)
		ev |= POLLIN;
	if (c->h[1 - side].len > 0)
		ev |= POLLOUT;
	return ev;
}

/* serve_conn moves what poll said can move; false when |c| is done
 * (broken: reset, or both directions finished: closed) */
static bool serve_conn(struct tcpproxy_state *s, struct conn *c, const short rev[2], bool *reset)
{
	*reset = true;
	if (c->connecting) {
		if (rev[1] == 0)
			return true;
		int err = 0;
		socklen_t l = sizeof err;
		if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err != 0) {
			count(s, &s->st.refused); /* the destination refused: reset the client */
			return false;
		}
		c->connecting = false;
		count(s, &s->st.accepted);
		return true;
	}
	for (int side = 0; side < 2; side++) {
		/* an error, or a hang-up with nothing left to read */
		if ((rev[side] & POLLERR) || ((rev[side] & POLLHUP) && !(rev[side] & POLLIN)))
			return false;
		if ((rev[side] & POLLIN) && !pull(s, c, side))
			return false;
	}
	for (int from = 0; from < 2; from++)
		if (!push(c, from))
			return false;
	*reset = false;
	return !(c->h[0].shut && c->h[1].shut);
}

static void cut_all(struct tcpproxy_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		conn_free(s->c[i], true);
	pthread_mutex_lock(&s->mu);
	s->st.reset += s->n;
	pthread_mutex_unlock(&s->mu);
	s->n = 0;
}

static void *tp_main(void *arg)
{
	struct tcpproxy_state *s = arg;
	struct pollfd pf[2 + 2 * TP_MAX_CONNS];
	int at[TP_MAX_CONNS][2]; /* each connection's pf index, or -1 */
	for (;;) {
		pthread_mutex_lock(&s->mu);
		bool cut = s->cut, stall = s->stall, refuse = s->refuse, stop = s->stop;
		s->cut = false;
		pthread_mutex_unlock(&s->mu);
		if (cut || stop)
			cut_all(s);
		pthread_mutex_lock(&s->mu);
		s->st.open = (unsigned)s->n;
		s->done = s->want;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;

		size_t k = 0;
		pf[k++] = (struct pollfd){s->wake[0], POLLIN, 0};
		pf[k++] = (struct pollfd){s->lfd, POLLIN, 0};
		for (size_t i = 0; i < s->n; i++) {
			for (int side = 0; side < 2; side++) {
				/* stalled: not polled at all, so nothing is read or
				 * written (and a peer's reset waits too) */
				short ev = stall ? 0 : events_of(s->c[i], side);
				at[i][side] = -1;
				if (ev != 0) {
					at[i][side] = (int)k;
					pf[k++] = (struct pollfd){s->c[i]->fd[side], ev, 0};
				}
			}
		}
		if (poll(pf, (nfds_t)k, -1) < 0)
			continue; /* EINTR */
		if (pf[0].revents) {
			uint8_t b[64];
			while (read(s->wake[0], b, sizeof b) > 0)
				;
		}
		pthread_mutex_lock(&s->mu);
		bool pending = s->want != s->done;
		pthread_mutex_unlock(&s->mu);
		if (pending)
			continue; /* apply the request before moving another byte */
		size_t kept = 0;
		for (size_t i = 0; i < s->n; i++) {
			short rev[2] = {0, 0};
			for (int side = 0; side < 2; side++)
				if (at[i][side] >= 0)
					rev[side] = pf[at[i][side]].revents;
			bool reset = false;
			if (stall || serve_conn(s, s->c[i], rev, &reset)) {
				s->c[kept++] = s->c[i];
				continue;
			}
			conn_free(s->c[i], reset);
		}
		s->n = kept;
		/* accepted after the old ones were served: at[] still indexes them */
		if (pf[1].revents & POLLIN)
			accept_all(s, refuse);
	}
	return NULL;
}

/* request sets |flag| to |value| and waits until the thread has applied it */
static void request(struct tcpproxy_state *s, bool *flag, bool value)
{
	pthread_mutex_lock(&s->mu);
	*flag = value;
	uint64_t mine = ++s->want;
	ssize_t w = write(s->wake[1], "", 1); /* a full pipe already wakes it */
	(void)w;
	while (s->done < mine)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

int tcpproxy_start(struct tcpproxy *p, unsigned dst_port)
{
	memset(p, 0, sizeof *p);
	struct tcpproxy_state *s = calloc(1, sizeof *s);
	if (s == NULL) {
		fprintf(stderr, "tcpproxy: out of memory\n");
		return -1;
	}
	s->dst_port = dst_port;
	s->wake[0] = s->wake[1] = -1;
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->lfd, 128) != 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0 || pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		fprintf(stderr, "tcpproxy: cannot listen on loopback: %s\n", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, tp_main, s) != 0) {
		fprintf(stderr, "tcpproxy: cannot start its thread\n");
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		goto fail;
	}
	p->port = ntohs(a.sin_port);
	p->s = s;
	return 0;
fail:
	if (s->lfd >= 0)
		close(s->lfd);
	for (int i = 0; i < 2; i++)
		if (s->wake[i] >= 0)
			close(s->wake[i]);
	free(s);
	return -1;
}

void tcpproxy_cut(struct tcpproxy *p)
{
	request(p->s, &p->s->cut, true);
}

void tcpproxy_stall(struct tcpproxy *p, bool on)
{
	request(p->s, &p->s->stall, on);
}

void tcpproxy_refuse(struct tcpproxy *p, bool on)
{
	request(p->s, &p->s->refuse, on);
}

void tcpproxy_stats(struct tcpproxy *p, struct tcpproxy_stats *out)
{
	pthread_mutex_lock(&p->s->mu);
	*out = p->s->st;
	pthread_mutex_unlock(&p->s->mu);
}

void tcpproxy_stop(struct tcpproxy *p)
{
	struct tcpproxy_state *s = p->s;
	if (s == NULL)
		return;
	request(s, &s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	p->s = NULL;
	p->port = 0;
}
