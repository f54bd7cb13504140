/* tests/test_store_faults.c — faults under the SQLite store, driven through
 * a real `fount serve` (issue 10), and the TCP proxy (tests/lib/tcpproxy.c)
 * that the network fault tests put between a client and its server. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/lib/tcpproxy.h"

/* ---- the TCP proxy ------------------------------------------------------------------- */

/* a listening loopback socket on a free port (*port), -1 on failure */
static int listen_loopback(unsigned *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t l = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_loopback(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* wait_in polls |fd| for input up to |ms|: true when there is some (or an
 * error, or end of file) */
static bool wait_in(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	return poll(&p, 1, ms) > 0;
}

/* accept_within accepts a connection on |lfd| within 5 s, -1 if none came */
static int accept_within(int lfd)
{
	return wait_in(lfd, 5000) ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
}

/* recv_within reads what arrives within 5 s: the byte count, 0 at end of
 * file, -1 with errno on an error or (ETIMEDOUT) when nothing came */
static ssize_t recv_within(int fd, void *buf, size_t n)
{
	if (!wait_in(fd, 5000)) {
		errno = ETIMEDOUT;
		return -1;
	}
	return recv(fd, buf, n, 0);
}

/* exchange: |a| says |msg| and |b| hears it, whole, within 5 s */
static bool exchange(int a, int b, const char *msg)
{
	size_t n = strlen(msg), got = 0;
	char buf[64];
	if (n > sizeof buf || send(a, msg, n, MSG_NOSIGNAL) != (ssize_t)n)
		return false;
	while (got < n) {
		ssize_t k = recv_within(b, buf + got, n - got);
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return memcmp(buf, msg, n) == 0;
}

/* stream: 4 MiB of a counting pattern from |a| to |b| through the proxy,
 * both non-blocking in one loop (the proxy's buffers are far smaller: its
 * partial writes and back-pressure): true when it all came, in order */
static bool stream(int a, int b)
{
	enum { TOTAL = 4 << 20 };
	size_t sent = 0, got = 0;
	uint8_t out[8192], in[8192];
	bool ok = true;
	while (ok && got < TOTAL) {
		struct pollfd p[2] = {{a, sent < TOTAL ? POLLOUT : 0, 0}, {b, POLLIN, 0}};
		if (poll(p, 2, 5000) <= 0)
			return false;
		if (p[0].revents & POLLOUT) {
			size_t n = TOTAL - sent < sizeof out ? TOTAL - sent : sizeof out;
			for (size_t i = 0; i < n; i++)
				out[i] = (uint8_t)((sent + i) * 7);
			ssize_t k = send(a, out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k > 0)
				sent += (size_t)k;
			else if (k < 0 && errno != EAGAIN)
				return false;
		}
		if (p[1].revents & POLLIN) {
			ssize_t k = recv(b, in, sizeof in, MSG_DONTWAIT);
			if (k <= 0)
				return false;
			for (ssize_t i = 0; i < k; i++)
				ok = ok && in[i] == (uint8_t)((got + (size_t)i) * 7);
			got += (size_t)k;
		}
	}
	return ok;
}

/* The proxy: bytes pass both ways on many connections at once, a stall
 * holds them (the connection stays open) and a resume lets them through,
 * a cut resets both sides of every connection and the proxy goes on
 * accepting, refuse closes new connections at once, a destination that
 * is not listening resets the client, and stop resets what is open. */
static void test_tcpproxy(void)
{
	enum { N = 8 };
	unsigned dport = 0;
	int lfd = listen_loopback(&dport);
	CU_ASSERT_FATAL(lfd >= 0);
	struct tcpproxy p;
	CU_ASSERT_EQUAL_FATAL(tcpproxy_start(&p, dport), 0);
	CU_ASSERT(p.port != 0 && p.port != dport);

	/* N connections at once; each server side learns which client it has */
	int cl[N], sv[N];
	for (int i = 0; i < N; i++) {
		cl[i] = connect_loopback(p.port);
		CU_ASSERT_FATAL(cl[i] >= 0);
		char tag = (char)('a' + i);
		CU_ASSERT_FATAL(send(cl[i], &tag, 1, MSG_NOSIGNAL) == 1);
	}
	for (int i = 0; i < N; i++)
		sv[i] = -1;
	for (int i = 0; i < N; i++) {
		int fd = accept_within(lfd);
		char tag = 0;
		CU_ASSERT_FATAL(fd >= 0 && recv_within(fd, &tag, 1) == 1 && tag >= 'a' && tag < 'a' + N);
		sv[tag - 'a'] = fd;
	}
	for (int i = 0; i < N; i++) {
		char up[32], down[32];
		snprintf(up, sizeof up, "request %d", i);
		snprintf(down, sizeof down, "response %d", i);
		CU_ASSERT(exchange(cl[i], sv[i], up));
		CU_ASSERT(exchange(sv[i], cl[i], down));
	}
	CU_ASSERT(stream(cl[0], sv[0]));
	CU_ASSERT(stream(sv[1], cl[1]));

	/* stalled: sent bytes wait (the connection is fine: nothing reset or
	 * closed), and come through whole once it resumes */
	tcpproxy_stall(&p, true);
	CU_ASSERT_EQUAL(send(cl[2], "held", 4, MSG_NOSIGNAL), 4);
	CU_ASSERT_EQUAL(send(sv[3], "held too", 8, MSG_NOSIGNAL), 8);
	CU_ASSERT_FALSE(wait_in(sv[2], 300));
	CU_ASSERT_FALSE(wait_in(cl[3], 10));
	tcpproxy_stall(&p, false);
	char buf[64];
	CU_ASSERT(recv_within(sv[2], buf, sizeof buf) == 4 && memcmp(buf, "held", 4) == 0);
	CU_ASSERT(recv_within(cl[3], buf, sizeof buf) == 8 && memcmp(buf, "held too", 8) == 0);

	/* a cut resets both sides of every connection */
	struct tcpproxy_stats st;
	tcpproxy_stats(&p, &st);
	CU_ASSERT_EQUAL(st.open, N);
	CU_ASSERT_EQUAL(st.accepted, N);
	CU_ASSERT(st.bytes_up >= (4u << 20) && st.bytes_down >= (4u << 20));
	tcpproxy_cut(&p);
	for (int i = 0; i < N; i++) {
		errno = 0;
		CU_ASSERT(recv_within(cl[i], buf, sizeof buf) < 0 && errno == ECONNRESET);
		errno = 0;
		CU_ASSERT(recv_within(sv[i], buf, sizeof buf) < 0 && errno == ECONNRESET);
		close(cl[i]);
		close(sv[i]);
	}
	tcpproxy_stats(&p, &st);
	CU_ASSERT(st.open == 0 && st.reset == N);

	/* ... and it goes on accepting */
	int c = connect_loopback(p.port), s = accept_within(lfd);
	CU_ASSERT_FATAL(c >= 0 && s >= 0);
	CU_ASSERT(exchange(c, s, "after the cut"));
	CU_ASSERT(exchange(s, c, "still here"));

	/* refused: a new connection is reset at once and never reaches the
	 * destination; the open one goes on; then accepted again */
	tcpproxy_refuse(&p, true);
	int r = connect_loopback(p.port);
	CU_ASSERT_FATAL(r >= 0);
	errno = 0;
	CU_ASSERT(recv_within(r, buf, sizeof buf) < 0 && errno == ECONNRESET);
	close(r);
	CU_ASSERT_FALSE(wait_in(lfd, 100));
	CU_ASSERT(exchange(c, s, "refusing others"));
	tcpproxy_refuse(&p, false);
	r = connect_loopback(p.port);
	int rs = accept_within(lfd);
	CU_ASSERT(r >= 0 && rs >= 0 && exchange(r, rs, "accepted again"));
	if (rs >= 0)
		close(rs);
	if (r >= 0)
		close(r);
	/* a half-close passes through: the destination reads end of file */
	CU_ASSERT_EQUAL(shutdown(c, SHUT_WR), 0);
	CU_ASSERT_EQUAL(recv_within(s, buf, sizeof buf), 0);
	CU_ASSERT(exchange(s, c, "the other way still works"));
	close(s);
	CU_ASSERT_EQUAL(recv_within(c, buf, sizeof buf), 0);
	close(c);
	tcpproxy_stats(&p, &st);
	CU_ASSERT(st.refused == 1 && st.accepted == N + 2);

	/* stop resets what is open */
	c = connect_loopback(p.port);
	s = accept_within(lfd);
	CU_ASSERT_FATAL(c >= 0 && s >= 0);
	tcpproxy_stop(&p);
	CU_ASSERT_PTR_NULL(p.s);
	errno = 0;
	CU_ASSERT(recv_within(c, buf, sizeof buf) < 0 && errno == ECONNRESET);
	close(c);
	close(s);
	tcpproxy_stop(&p); /* a stopped proxy: nothing */
	close(lfd);

	/* a destination that is not listening: the client is reset */
	CU_ASSERT_EQUAL_FATAL(tcpproxy_start(&p, dport), 0); /* dport's listener is closed now */
	c = connect_loopback(p.port);
	CU_ASSERT_FATAL(c >= 0);
	errno = 0;
	CU_ASSERT(recv_within(c, buf, sizeof buf) < 0 && errno == ECONNRESET);
	close(c);
	tcpproxy_stats(&p, &st);
	CU_ASSERT(st.refused == 1 && st.accepted == 0);
	tcpproxy_stop(&p);
}

TEST_SUITE(store_faults, NULL, NULL, TEST(test_tcpproxy))
