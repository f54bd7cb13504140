/* tests/lib/port.c — support code: see port.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/port.h"

/* The kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 on
 * Debian): a port picked there can be taken by any outgoing connection (a
 * PostgreSQL client, curl, a KMIP client of another test) between the pick and
 * the server's bind, and the server then fails to start. */
static void ephemeral_range(unsigned *lo, unsigned *hi)
{
	*lo = 32768;
	*hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f == NULL)
		return;
	unsigned a, b;
	if (fscanf(f, "%u %u", &a, &b) == 2 && a <= b && b <= 65535) {
		*lo = a;
		*hi = b;
	}
	fclose(f);
}

static bool bindable(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* no SO_REUSEADDR: a port with connections left in TIME_WAIT is refused too */
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

unsigned testlib_free_port(void)
{
	/* below the ephemeral range when there is room (10000 up to it), else
	 * above it; never one this process handed out before (the kernel would
	 * happily return a closed port twice) */
	static unsigned next;
	unsigned lo, hi, base = 10000, span;
	ephemeral_range(&lo, &hi);
	if (lo > base + 1000)
		span = lo - base;
	else {
		base = hi + 1;
		span = 65535 - hi;
	}
	if (span == 0)
		return 0;
	if (next == 0)
		next = (unsigned)(getpid() * 7919u + (unsigned)time(NULL)) % span + 1;
	for (unsigned tries = 0; tries < span && tries < 4096; tries++) {
		unsigned port = base + next++ % span;
		if (bindable(port))
			return port;
	}
	return 0;
}
