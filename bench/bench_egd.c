/* bench/bench_egd.c — EGD read throughput: clients pipelining `02 FF`
 * (255 bytes each, the most one command can ask) over the Unix socket (1
 * and 16 connections) and loopback TCP (1), beside, in the same run, the
 * in-process DRBG drawn in the same 255-byte pieces and in 64 KiB, and
 * /dev/urandom read in 255-byte chunks. The server runs in this process
 * (api_egd_start, no rate limit: [egd] rate = 0) on its own event thread;
 * one client thread drives every connection with poll. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "bench/bench.h"
#include "keygen/keygen.h"

#define MAX_CONN 16
#define WINDOW (1u << 20)   /* reply bytes asked for and not yet read, per connection */
#define BATCH 256u          /* commands per write */

static int dial_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int dial_tcp(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	if (fd >= 0)
		(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* egd_rate returns MB/s read over |n| connections for |seconds| */
static double egd_rate(const char *path, uint16_t port, int n, double seconds)
{
	int fds[MAX_CONN];
	uint64_t asked[MAX_CONN] = {0}, got[MAX_CONN] = {0};
	bool half[MAX_CONN] = {false};
	static uint8_t cmds[2 * BATCH], buf[1 << 18];
	for (unsigned i = 0; i < BATCH; i++) {
		cmds[2 * i] = 0x02;
		cmds[2 * i + 1] = 0xff;
	}
	for (int i = 0; i < n; i++) {
		fds[i] = path != NULL ? dial_unix(path) : dial_tcp(port);
		if (fds[i] < 0) {
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
	}
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), total = 0;
	for (;;) {
		struct pollfd pf[MAX_CONN];
		for (int i = 0; i < n; i++) {
			pf[i].fd = fds[i];
			pf[i].events = POLLIN | (asked[i] - got[i] + 255u * BATCH <= WINDOW ? POLLOUT : 0);
		}
		if (poll(pf, (nfds_t)n, 100) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (pf[i].revents & POLLOUT) {
				/* a write that ended inside a command ends it first */
				const uint8_t *p = half[i] ? cmds + 1 : cmds;
				size_t len = half[i] ? 1 : sizeof cmds;
				ssize_t w = send(fds[i], p, len, MSG_NOSIGNAL);
				if (w > 0) {
					size_t done = (size_t)w + (half[i] ? 1u : 0u);
					asked[i] += 255u * (uint64_t)(done / 2);
					half[i] = done % 2 == 1;
				}
			}
			if (pf[i].revents & POLLIN) {
				ssize_t k = recv(fds[i], buf, sizeof buf, 0);
				if (k > 0) {
					got[i] += (uint64_t)k;
					total += (uint64_t)k;
				}
			}
		}
		if (now_ns() >= end)
			break;
	}
	double secs = (double)(now_ns() - start) / 1e9;
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return (double)total / secs / 1e6;
}

static double drbg_rate(size_t chunk, double seconds)
{
	static uint8_t buf[65536];
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), bytes = 0;
	while (now_ns() < end)
		for (int i = 0; i < 64; i++) {
			if (drbg_generate(buf, chunk) != ERR_OK)
				return -1;
			bytes += chunk;
		}
	secure_zero(buf, sizeof buf);
	return (double)bytes / ((double)(now_ns() - start) / 1e9) / 1e6;
}

static double urandom_rate(double seconds)
{
	uint8_t buf[255];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), bytes = 0;
	while (now_ns() < end)
		for (int i = 0; i < 64; i++)
			if (read(fd, buf, sizeof buf) == (ssize_t)sizeof buf)
				bytes += sizeof buf;
	close(fd);
	return (double)bytes / ((double)(now_ns() - start) / 1e9) / 1e6;
}

void bench_egd(double seconds_per_case)
{
	double secs = seconds_per_case < 1.0 ? 1.0 : seconds_per_case;
	char dir[] = "/tmp/fount-bench-egd-XXXXXX", path[64];
	if (mkdtemp(dir) == NULL) {
		printf("EGD: skipped: mkdtemp: %s\n\n", strerror(errno));
		return;
	}
	snprintf(path, sizeof path, "%s/egd.sock", dir);
	struct api_egd_options o = {.socket = path, .tcp_listen = "127.0.0.1:0", .max_connections = 64, .rate = 0};
	struct api_egd *s = NULL;
	char why[256];
	if (api_egd_start(&o, &s, why, sizeof why) != ERR_OK) {
		printf("EGD: skipped: %s\n\n", why);
		rmdir(dir);
		return;
	}
	printf("EGD read throughput (pipelined 02 FF; %.1f s per case; no rate limit)\n", secs);
	printf("%-44s %10s\n", "case", "MB/s");
	double u1 = egd_rate(path, 0, 1, secs);
	printf("%-44s %10.1f\n", "EGD unix socket, 1 connection", u1);
	double u16 = egd_rate(path, 0, 16, secs);
	printf("%-44s %10.1f\n", "EGD unix socket, 16 connections", u16);
	double t1 = egd_rate(NULL, api_egd_tcp_port(s), 1, secs);
	printf("%-44s %10.1f\n", "EGD loopback TCP, 1 connection", t1);
	double d255 = drbg_rate(255, secs / 2), d64k = drbg_rate(65536, secs / 2);
	printf("%-44s %10.1f\n", "in-process drbg_generate, 255 B", d255);
	printf("%-44s %10.1f\n", "in-process drbg_generate, 64 KiB", d64k);
	double ur = urandom_rate(secs / 2);
	printf("%-44s %10.1f\n", "/dev/urandom read(), 255 B", ur);
	printf("EGD unix 1 conn / drbg 255 B = %.2fx   / drbg 64 KiB = %.2fx   / urandom 255 B = %.2fx\n", u1 / d255,
	       u1 / d64k, u1 / ur);
	printf("EGD unix 16 conn / drbg 64 KiB = %.2fx   target >= 500 MB/s: %s\n", u16 / d64k,
	       u1 >= 500 && u16 >= 500 ? "met" : "NOT met");
	struct api_egd_stats st;
	api_egd_stats(s, &st);
	printf("server: %llu connections, %llu 02 commands, %llu bytes served\n\n",
	       (unsigned long long)st.connections, (unsigned long long)st.commands[2],
	       (unsigned long long)st.bytes_served);
	api_egd_stop(s);
	rmdir(dir);
}
