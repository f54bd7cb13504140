/* tests/lib/tcpproxy.h — a loopback TCP proxy a test owns, for network
 * faults between a client and its server (store-ha.md §5, "cut / stall"):
 * it listens on a free 127.0.0.1 port and forwards every connection to
 * 127.0.0.1:dst_port, many at once, on a thread of its own (one poll loop,
 * bounded buffers). The test then cuts every connection (a reset, as a
 * crashed host or a firewall gives), stalls them (bytes wait in the proxy
 * while the kernel goes on ACKing, as with a hung peer: no TCP timeout
 * fires) or refuses new ones (each closed at once).
 *
 * Every call but tcpproxy_start and tcpproxy_stop takes effect before it
 * returns: after tcpproxy_stall(p, true) no byte moves; after
 * tcpproxy_cut(p) every connection open before it is reset. */
#ifndef FOUNT_TESTS_LIB_TCPPROXY_H
#define FOUNT_TESTS_LIB_TCPPROXY_H

#include <stdbool.h>
#include <stdint.h>

struct tcpproxy_state;

struct tcpproxy {
	unsigned port; /* where clients connect: 127.0.0.1:port */
	struct tcpproxy_state *s;
};

/* What the proxy did so far. */
struct tcpproxy_stats {
	uint64_t accepted;   /* connections forwarded (their leg to the destination made) */
	uint64_t refused;    /* connections closed at once (refuse, too many, the destination refused) */
	uint64_t reset;      /* connections reset by tcpproxy_cut */
	uint64_t bytes_up;   /* client -> destination */
	uint64_t bytes_down; /* destination -> client */
	unsigned open;       /* connections open now */
};

/* tcpproxy_start listens on a free loopback port (p->port) and starts the
 * thread forwarding to 127.0.0.1:|dst_port|. 0 on success, else -1 with a
 * line on stderr. */
int tcpproxy_start(struct tcpproxy *p, unsigned dst_port);
/* tcpproxy_cut resets every open connection, both sides (SO_LINGER 0,
 * then close: each peer reads ECONNRESET), and keeps accepting. */
void tcpproxy_cut(struct tcpproxy *p);
/* tcpproxy_stall(p, true) stops forwarding: connections stay open, bytes
 * wait (up to the kernel's buffers and the proxy's, then the sender's
 * window closes); new connections are accepted and held the same way.
 * tcpproxy_stall(p, false) forwards again what waited, then the rest. */
void tcpproxy_stall(struct tcpproxy *p, bool on);
/* tcpproxy_refuse(p, true) closes each new connection as soon as it is
 * accepted (with a reset); open ones go on. false accepts them again. */
void tcpproxy_refuse(struct tcpproxy *p, bool on);
void tcpproxy_stats(struct tcpproxy *p, struct tcpproxy_stats *out);
/* tcpproxy_stop resets every connection, stops the thread and frees it
 * all; does nothing on a proxy never started (or stopped). */
void tcpproxy_stop(struct tcpproxy *p);

#endif
