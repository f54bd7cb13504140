/* tests/test_egd.c — the EGD socket (api/egd.c, api/egd_proto.c): the
 * parser and the session without sockets, then every command byte for byte
 * over the real Unix socket and loopback TCP against the real DRBG tree;
 * split and pipelined commands, an unknown opcode, 02 waiting while the
 * DRBG gate is shut (the module not OPERATIONAL), a client that never
 * reads, the rate limit, the connection cap, SO_PEERCRED, shutdown with a
 * read outstanding, socket files (mode, stale, live, not a socket), the
 * loopback-only TCP rule, `fount serve` with its socket, and QEMU itself
 * (tests/interop/qemu_egd.sh). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api.h"
#include "api/egd.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "tests/helpers.h"

static struct config cfg;
static char dir[64];
static atomic_bool gate_on = true;

static bool test_gate(void)
{
	return atomic_load(&gate_on);
}

static int suite_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	testlib_config(&cfg);
	if (keygen_init(&cfg) != ERR_OK)
		return -1;
	err_t r = entropy_init(&cfg);
	if (r != ERR_OK && r != ERR_USAGE)
		return -1;
	drbg_set_gate(test_gate);
	if (drbg_tree_init(&cfg) != ERR_OK || testlib_tmpdir_create(dir, "egd") != 0)
		return -1;
	return 0;
}

static int suite_clean(void)
{
	drbg_tree_shutdown();
	drbg_set_gate(NULL);
	entropy_shutdown();
	testlib_tmpdir_remove(dir);
	return 0;
}

/* ---- the parser and the session, no sockets ----------------------------------- */

/* every command, as one stream */
static const uint8_t all_cmds[] = {
	0x00,                                  /* level */
	0x01, 0x10,                            /* non-blocking read of 16 */
	0x02, 0x20,                            /* blocking read of 32 */
	0x03, 0x01, 0x00, 0x05, 'a', 'b', 'c', 'd', 'e', /* write 5 bytes, claiming 256 bits */
	0x04,                                  /* pid */
	0x03, 0x00, 0x00, 0x00,                /* write of nothing */
	0x02, 0xff,
};

static size_t parse_all(const uint8_t *in, size_t len, size_t chunk, struct egd_cmd *cmds, size_t cap,
			uint8_t written[64], size_t *n_written)
{
	struct egd_parser p = {.have = 0};
	size_t n = 0, off = 0;
	*n_written = 0;
	while (off < len) {
		size_t end = off + chunk < len ? off + chunk : len, pos = off;
		while (pos < end) {
			size_t used = 0;
			struct egd_cmd c;
			enum egd_step st = egd_parse(&p, in + pos, end - pos, &used, &c);
			CU_ASSERT(used > 0);
			pos += used;
			if (st == EGD_CMD && n < cap) {
				if (c.op == EGD_OP_WRITE) {
					memcpy(written + *n_written, c.data, c.count);
					*n_written += c.count;
				}
				cmds[n++] = c;
			}
			CU_ASSERT(st != EGD_BAD);
			if (st == EGD_BAD || used == 0)
				return n;
		}
		off = end;
	}
	return n;
}

static void test_parse_split_and_joined(void)
{
	for (size_t chunk = 1; chunk <= sizeof all_cmds; chunk++) {
		struct egd_cmd c[16];
		uint8_t w[64];
		size_t nw = 0;
		size_t n = parse_all(all_cmds, sizeof all_cmds, chunk, c, 16, w, &nw);
		CU_ASSERT_EQUAL_FATAL(n, 7);
		CU_ASSERT_EQUAL(c[0].op, EGD_OP_LEVEL);
		CU_ASSERT(c[1].op == EGD_OP_READ && c[1].count == 0x10);
		CU_ASSERT(c[2].op == EGD_OP_READ_BLOCK && c[2].count == 0x20);
		CU_ASSERT(c[3].op == EGD_OP_WRITE && c[3].count == 5 && c[3].bits == 256);
		CU_ASSERT_EQUAL(c[4].op, EGD_OP_PID);
		CU_ASSERT(c[5].op == EGD_OP_WRITE && c[5].count == 0);
		CU_ASSERT(c[6].op == EGD_OP_READ_BLOCK && c[6].count == 0xff);
		CU_ASSERT(nw == 5 && memcmp(w, "abcde", 5) == 0);
	}
}

static void test_parse_unknown_opcode(void)
{
	static const uint8_t bad[] = {0x05, 0x06, 0x7f, 0x80, 0xff};
	for (size_t i = 0; i < sizeof bad; i++) {
		struct egd_parser p = {.have = 0};
		struct egd_cmd c;
		size_t used = 0;
		CU_ASSERT_EQUAL(egd_parse(&p, &bad[i], 1, &used, &c), EGD_BAD);
		/* after a split command, too */
		uint8_t two[3] = {0x00, bad[i], 0x00};
		CU_ASSERT_EQUAL(egd_parse(&p, two, 3, &used, &c), EGD_CMD);
		CU_ASSERT_EQUAL(used, 1);
		CU_ASSERT_EQUAL(egd_parse(&p, two + 1, 2, &used, &c), EGD_BAD);
	}
	/* a half command is not a command */
	struct egd_parser p = {.have = 0};
	struct egd_cmd c;
	size_t used = 0;
	static const uint8_t half[] = {0x03, 0x00, 0x08, 0x04, 'x'};
	CU_ASSERT_EQUAL(egd_parse(&p, half, sizeof half, &used, &c), EGD_MORE);
	CU_ASSERT_EQUAL(used, sizeof half);
}

/* a fake environment: counting bytes, a switchable gate */
struct fake {
	bool open;
	uint8_t next;
	size_t mixed, generates;
};

static err_t fake_generate(void *ctx, uint8_t *out, size_t len)
{
	struct fake *f = ctx;
	if (!f->open)
		return ERR_NOT_OPERATIONAL;
	for (size_t i = 0; i < len; i++)
		out[i] = f->next++;
	f->generates++;
	return ERR_OK;
}

static void fake_mix(void *ctx, const uint8_t *in, size_t len)
{
	(void)in;
	((struct fake *)ctx)->mixed += len;
}

static bool fake_operational(void *ctx)
{
	return ((struct fake *)ctx)->open;
}

static size_t drain(struct egd_session *s, uint8_t *got, size_t cap)
{
	size_t n = 0;
	const uint8_t *p;
	size_t k;
	while ((k = egd_session_output(s, &p)) > 0) {
		if (n + k > cap)
			k = cap - n;
		memcpy(got + n, p, k);
		n += k;
		egd_session_sent(s, k);
		if (n == cap)
			break;
	}
	return n;
}

static void test_session_replies_in_order(void)
{
	struct fake f = {.open = true};
	struct egd_env env = {fake_generate, fake_mix, fake_operational, &f, 4242, 0};
	static uint8_t out[4096];
	struct egd_session s;
	egd_session_init(&s, &env, out, sizeof out, 1);
	CU_ASSERT_EQUAL(egd_session_input(&s, all_cmds, sizeof all_cmds, 1), sizeof all_cmds);
	CU_ASSERT_EQUAL(f.mixed, 5);
	egd_session_produce(&s, 2);
	uint8_t got[1024];
	size_t n = drain(&s, got, sizeof got);
	/* 4 + (1 + 16) + 32 + (1 + 4) + 255 */
	CU_ASSERT_EQUAL_FATAL(n, 4 + 17 + 32 + 5 + 255);
	static const uint8_t level[4] = {0, 0, 1, 0};
	CU_ASSERT(memcmp(got, level, 4) == 0);
	CU_ASSERT_EQUAL(got[4], 16);
	/* the DRBG bytes run on in order: 16, then 32 */
	CU_ASSERT(got[5] == 0 && got[20] == 15 && got[21] == 16 && got[52] == 47);
	CU_ASSERT(got[53] == 4 && memcmp(got + 54, "4242", 4) == 0);
	CU_ASSERT(got[58] == 48 && got[58 + 254] == (uint8_t)(48 + 254));
	CU_ASSERT(egd_session_idle(&s));
	CU_ASSERT_EQUAL(s.st.commands[EGD_OP_WRITE], 2);
	CU_ASSERT_EQUAL(s.st.bytes_served, 16 + 32 + 255);
	CU_ASSERT_EQUAL(s.st.bytes_written, 5);
}

static void test_session_pipelined_02_one_generate(void)
{
	struct fake f = {.open = true};
	struct egd_env env = {fake_generate, fake_mix, fake_operational, &f, 1, 0};
	static uint8_t out[65536], in[2 * 300];
	struct egd_session s;
	for (size_t i = 0; i < 300; i++) {
		in[2 * i] = 0x02;
		in[2 * i + 1] = 0xff;
	}
	egd_session_init(&s, &env, out, sizeof out, 1);
	/* the queue holds EGD_QUEUE commands; the rest waits for room */
	size_t took = egd_session_input(&s, in, sizeof in, 1);
	CU_ASSERT_EQUAL(took, 2 * EGD_QUEUE);
	CU_ASSERT_FALSE(egd_session_can_input(&s));
	egd_session_produce(&s, 1);
	CU_ASSERT_EQUAL(f.generates, 1); /* 256 x 255 bytes fit 64 KiB: one generate */
	const uint8_t *p;
	CU_ASSERT_EQUAL(egd_session_output(&s, &p), 255u * EGD_QUEUE);
	CU_ASSERT(egd_session_can_input(&s));
	egd_session_sent(&s, 255u * EGD_QUEUE);
	CU_ASSERT_EQUAL(egd_session_input(&s, in + took, sizeof in - took, 1), sizeof in - took);
	egd_session_produce(&s, 1);
	CU_ASSERT_EQUAL(egd_session_output(&s, &p), 255u * (300 - EGD_QUEUE));
}

static void test_session_waits_while_not_operational(void)
{
	struct fake f = {.open = false};
	struct egd_env env = {fake_generate, fake_mix, fake_operational, &f, 7, 0};
	static uint8_t out[4096];
	struct egd_session s;
	egd_session_init(&s, &env, out, sizeof out, 1000);
	static const uint8_t cmds[] = {0x02, 0x40, 0x00, 0x01, 0x08, 0x02, 0x10};
	CU_ASSERT_EQUAL(egd_session_input(&s, cmds, sizeof cmds, 1000), sizeof cmds);
	egd_session_produce(&s, 2000);
	const uint8_t *p;
	CU_ASSERT_EQUAL(egd_session_output(&s, &p), 0); /* nothing may overtake the 02 */
	CU_ASSERT_TRUE(s.waiting);
	CU_ASSERT_FALSE(egd_session_idle(&s));
	f.open = true;
	egd_session_produce(&s, 5000);
	CU_ASSERT_FALSE(s.waiting);
	uint8_t got[256];
	size_t n = drain(&s, got, sizeof got);
	CU_ASSERT_EQUAL_FATAL(n, 64 + 4 + 9 + 16);
	CU_ASSERT(got[0] == 0 && got[63] == 63);
	static const uint8_t level[4] = {0, 0, 1, 0};
	CU_ASSERT(memcmp(got + 64, level, 4) == 0);
	CU_ASSERT_EQUAL(got[68], 8);
	CU_ASSERT_EQUAL(s.st.longest_wait_ns, 4000); /* arrived at 1000, answered at 5000 */

	/* not OPERATIONAL: 01 answers 0 bytes and 00 reports 0 bits */
	f.open = false;
	static const uint8_t nb[] = {0x01, 0x20, 0x00};
	CU_ASSERT_EQUAL(egd_session_input(&s, nb, sizeof nb, 6000), sizeof nb);
	egd_session_produce(&s, 6000);
	n = drain(&s, got, sizeof got);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	static const uint8_t zero[5] = {0, 0, 0, 0, 0};
	CU_ASSERT(memcmp(got, zero, 5) == 0);
}

static void test_session_rate_limit(void)
{
	struct fake f = {.open = true};
	struct egd_env env = {fake_generate, fake_mix, fake_operational, &f, 1, 1000}; /* 1000 B/s */
	static uint8_t out[65536];
	struct egd_session s;
	const uint64_t sec = 1000000000ull;
	egd_session_init(&s, &env, out, sizeof out, sec);
	uint8_t cmds[20];
	for (size_t i = 0; i < sizeof cmds; i += 2) {
		cmds[i] = 0x02;
		cmds[i + 1] = 0xff;
	}
	CU_ASSERT_EQUAL(egd_session_input(&s, cmds, sizeof cmds, sec), sizeof cmds);
	egd_session_produce(&s, sec);
	const uint8_t *p;
	/* a full bucket (1000 bytes) lets 4 replies out (the 4th into debt) */
	CU_ASSERT_EQUAL(egd_session_output(&s, &p), 4 * 255);
	CU_ASSERT(egd_session_wake_ns(&s) > sec);
	egd_session_sent(&s, 4 * 255);
	egd_session_produce(&s, sec + sec / 100); /* 10 ms: still in debt */
	CU_ASSERT_EQUAL(egd_session_output(&s, &p), 0);
	egd_session_produce(&s, 2 * sec);
	size_t k = egd_session_output(&s, &p);
	CU_ASSERT(k >= 255 && k <= 5 * 255);
	/* 03 data spends the same tokens: in debt, input stops */
	struct egd_session w;
	egd_session_init(&w, &env, out, sizeof out, sec);
	uint8_t wr[4 + 255] = {0x03, 0, 0, 255};
	uint8_t many[5 * sizeof wr];
	for (size_t i = 0; i < 5; i++)
		memcpy(many + i * sizeof wr, wr, sizeof wr);
	size_t took = egd_session_input(&w, many, sizeof many, sec);
	CU_ASSERT_EQUAL(took, 4 * sizeof wr);
	CU_ASSERT_FALSE(egd_session_can_input(&w));
}

static void test_session_small_output_buffer(void)
{
	/* replies larger than what is left wait for the buffer to drain */
	struct fake f = {.open = true};
	struct egd_env env = {fake_generate, fake_mix, fake_operational, &f, 99999, 0};
	static uint8_t out[EGD_MAX_CMD];
	struct egd_session s;
	egd_session_init(&s, &env, out, sizeof out, 1);
	static const uint8_t cmds[] = {0x02, 0xff, 0x04, 0x01, 0xff, 0x00};
	CU_ASSERT_EQUAL(egd_session_input(&s, cmds, sizeof cmds, 1), sizeof cmds);
	uint8_t got[1024];
	size_t n = 0;
	for (int i = 0; i < 10 && !egd_session_idle(&s); i++) {
		egd_session_produce(&s, 1);
		n += drain(&s, got + n, sizeof got - n);
	}
	CU_ASSERT_EQUAL_FATAL(n, 255 + 6 + 256 + 4);
	CU_ASSERT(got[255] == 5 && memcmp(got + 256, "99999", 5) == 0);
	CU_ASSERT(got[261] == 255 && got[262] == 255 && got[263] == 0); /* the DRBG counter runs on */
}

/* ---- over the sockets ---------------------------------------------------------- */

static struct api_egd *start_egd(const char *sock, const char *tcp, unsigned max_conn, uint64_t rate)
{
	struct api_egd_options o = {.socket = sock, .tcp_listen = tcp, .max_connections = max_conn,
				    .rate = rate, .drain_ms = 3000};
	struct api_egd *s = NULL;
	char why[512] = "";
	err_t r = api_egd_start(&o, &s, why, sizeof why);
	if (r != ERR_OK)
		fprintf(stderr, "\n  api_egd_start: %s\n", why);
	CU_ASSERT_EQUAL(r, ERR_OK);
	return s;
}

static int connect_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		fd = -1;
	}
	CU_ASSERT(fd >= 0);
	return fd;
}

static int connect_tcp(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		fd = -1;
	}
	CU_ASSERT(fd >= 0);
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		CU_ASSERT_FATAL(w > 0);
		b += w;
		n -= (size_t)w;
	}
}

/* recv_n reads exactly |n| bytes, waiting up to |ms| for each piece;
 * returns how many came */
static size_t recv_n(int fd, uint8_t *out, size_t n, int ms)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, ms) <= 0)
			break;
		ssize_t k = recv(fd, out + got, n - got, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got;
}

/* recv_for reads up to |n| bytes for at most |ms| in all */
static size_t recv_for(int fd, uint8_t *out, size_t n, int ms)
{
	size_t got = 0;
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
	while (got < n) {
		uint64_t now = now_ns();
		if (now >= end)
			break;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, (int)((end - now) / 1000000u) + 1) <= 0)
			break;
		ssize_t k = recv(fd, out + got, n - got, MSG_DONTWAIT);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got;
}

/* quiet: nothing more arrives within |ms| (and the connection is open) */
static bool quiet(int fd, int ms)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	return poll(&pf, 1, ms) == 0;
}

/* at_eof: the server closed: recv returns 0 within |ms| */
static bool at_eof(int fd, int ms)
{
	uint8_t b[512];
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, ms) <= 0)
			return false;
		ssize_t k = recv(fd, b, sizeof b, 0);
		if (k == 0 || (k < 0 && errno == ECONNRESET))
			return true;
		if (k < 0)
			return false;
	}
}

static bool all_zero(const uint8_t *b, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

/* every command, byte for byte, on |fd| */
static void check_every_command(struct api_egd *s, int fd)
{
	uint8_t b[300];
	struct api_egd_stats st0, st1;
	api_egd_stats(s, &st0);

	send_all(fd, "\x00", 1);
	CU_ASSERT_EQUAL_FATAL(recv_n(fd, b, 4, 5000), 4);
	CU_ASSERT(b[0] == 0 && b[1] == 0 && b[2] == 1 && b[3] == 0); /* 256 bits, big-endian */

	send_all(fd, "\x01\x10", 2);
	CU_ASSERT_EQUAL_FATAL(recv_n(fd, b, 17, 5000), 17);
	CU_ASSERT_EQUAL(b[0], 0x10);
	CU_ASSERT_FALSE(all_zero(b + 1, 16));
	CU_ASSERT_TRUE(quiet(fd, 50));

	send_all(fd, "\x02\x20", 2);
	CU_ASSERT_EQUAL_FATAL(recv_n(fd, b, 32, 5000), 32); /* no count byte */
	CU_ASSERT_FALSE(all_zero(b, 32));
	CU_ASSERT_TRUE(quiet(fd, 50)); /* exactly 32 */

	send_all(fd, "\x02\xff", 2);
	CU_ASSERT_EQUAL(recv_n(fd, b, 255, 5000), 255);
	CU_ASSERT_TRUE(quiet(fd, 50));

	send_all(fd, "\x03\x00\x40\x08" "abcdefgh", 12);
	CU_ASSERT_TRUE(quiet(fd, 100)); /* no reply */

	send_all(fd, "\x04", 1);
	char pid[16];
	int pl = snprintf(pid, sizeof pid, "%ld", (long)getpid());
	CU_ASSERT_EQUAL_FATAL(recv_n(fd, b, 1 + (size_t)pl, 5000), 1 + (size_t)pl);
	CU_ASSERT_EQUAL(b[0], pl);
	CU_ASSERT(memcmp(b + 1, pid, (size_t)pl) == 0);
	CU_ASSERT_TRUE(quiet(fd, 50));

	api_egd_stats(s, &st1);
	for (unsigned op = 0; op < EGD_OPS; op++)
		CU_ASSERT_EQUAL(st1.commands[op] - st0.commands[op], op == 2 ? 2u : 1u);
	CU_ASSERT_EQUAL(st1.bytes_served - st0.bytes_served, 16 + 32 + 255);
	CU_ASSERT_EQUAL(st1.bytes_written - st0.bytes_written, 8);
	CU_ASSERT_EQUAL(st1.bytes_mixed - st0.bytes_mixed, 8); /* OPERATIONAL: mixed */
}

static void test_unix_every_command(void)
{
	const char *path = testlib_file(dir, "u.sock");
	struct api_egd *s = start_egd(path, NULL, 0, 0);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_STRING_EQUAL(api_egd_socket_path(s), path);
	struct stat st;
	CU_ASSERT_FATAL(lstat(path, &st) == 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0660);
	int fd = connect_unix(path);
	check_every_command(s, fd);
	close(fd);
	api_egd_stop(s);
	CU_ASSERT(lstat(path, &st) != 0 && errno == ENOENT); /* removed at stop */
}

static void test_tcp_every_command(void)
{
	struct api_egd *s = start_egd(NULL, "127.0.0.1:0", 0, 0);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT(api_egd_tcp_port(s) != 0);
	CU_ASSERT_STRING_EQUAL(api_egd_socket_path(s), "");
	int fd = connect_tcp(api_egd_tcp_port(s));
	check_every_command(s, fd);
	struct api_egd_peer peer;
	CU_ASSERT_EQUAL(api_egd_peers(s, &peer, 1), 1);
	CU_ASSERT_EQUAL(peer.pid, -1);
	CU_ASSERT(strncmp(peer.addr, "127.0.0.1:", 10) == 0);
	close(fd);
	api_egd_stop(s);
}

static void test_split_and_pipelined(void)
{
	const char *path = testlib_file(dir, "sp.sock");
	struct api_egd *s = start_egd(path, NULL, 0, 0);
	CU_ASSERT_FATAL(s != NULL);
	int fd = connect_unix(path);
	/* byte by byte, each byte its own write */
	for (size_t i = 0; i < sizeof all_cmds; i++) {
		send_all(fd, all_cmds + i, 1);
		usleep(2000);
	}
	uint8_t b[2048];
	const size_t want = 4 + 17 + 32 + 1 + 0 + 255;
	char pid[16];
	size_t pl = (size_t)snprintf(pid, sizeof pid, "%ld", (long)getpid());
	CU_ASSERT_EQUAL(recv_n(fd, b, want + pl, 5000), want + pl);
	CU_ASSERT(b[4] == 0x10 && b[53] == pl && memcmp(b + 54, pid, pl) == 0);
	CU_ASSERT_TRUE(quiet(fd, 50));
	/* everything in one write, three times over */
	uint8_t three[3 * sizeof all_cmds];
	for (int i = 0; i < 3; i++)
		memcpy(three + i * sizeof all_cmds, all_cmds, sizeof all_cmds);
	send_all(fd, three, sizeof three);
	CU_ASSERT_EQUAL(recv_n(fd, b, 3 * (want + pl), 5000), 3 * (want + pl));
	CU_ASSERT_TRUE(quiet(fd, 50));
	close(fd);
	api_egd_stop(s);
}

/* a reader as fast as the server, writing its 02 FF in batches of 256
 * as replies come (as the benchmark does): 64 Ki of them, 16 MiB of
 * replies, all arrive. A connection that stopped for fairness with input
 * left used to sleep for good: no event would come for it. */
static void test_pipelined_bulk(void)
{
	const char *path = testlib_file(dir, "bulk.sock");
	struct api_egd *s = start_egd(path, NULL, 0, 0);
	CU_ASSERT_FATAL(s != NULL);
	int fd = connect_unix(path);
	const uint64_t total = 65536;
	static uint8_t batch[512], buf[1 << 18];
	for (size_t i = 0; i < sizeof batch; i += 2) {
		batch[i] = 0x02;
		batch[i + 1] = 0xff;
	}
	uint64_t asked = 0, got = 0;
	bool stalled = false;
	while (got < 255 * total) {
		bool room = asked < total && (asked - got / 255 + 256) * 255 <= (1u << 20);
		struct pollfd pf = {.fd = fd, .events = POLLIN | (room ? POLLOUT : 0)};
		if (poll(&pf, 1, 5000) <= 0) {
			stalled = true;
			break;
		}
		if (pf.revents & POLLOUT) {
			ssize_t w = send(fd, batch, sizeof batch, MSG_NOSIGNAL | MSG_DONTWAIT);
			CU_ASSERT_FATAL(w == (ssize_t)sizeof batch || (w < 0 && errno == EAGAIN));
			if (w > 0)
				asked += 256;
		}
		if (pf.revents & POLLIN) {
			ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
			CU_ASSERT_FATAL(k > 0 || (k < 0 && errno == EAGAIN));
			if (k > 0)
				got += (uint64_t)k;
		}
	}
	CU_ASSERT_FALSE(stalled);
	CU_ASSERT_EQUAL(got, 255 * total);
	CU_ASSERT_TRUE(quiet(fd, 50));
	struct api_egd_stats st;
	api_egd_stats(s, &st);
	CU_ASSERT_EQUAL(st.commands[2], total);
	CU_ASSERT_EQUAL(st.bytes_served, 255 * total);
	close(fd);
	api_egd_stop(s);
}

static void test_unknown_opcode_closes(void)
{
	const char *path = testlib_file(dir, "bad.sock");
	struct api_egd *s = start_egd(path, NULL, 0, 0);
	CU_ASSERT_FATAL(s != NULL);
	int fd = connect_unix(path);
	send_all(fd, "\x02\x08\x05\x00", 4);
	uint8_t b[8];
	CU_ASSERT_EQUAL(recv_n(fd, b, 8, 5000), 8); /* what was asked before it is answered */
	CU_ASSERT_TRUE(at_eof(fd, 5000));           /* then the connection closes */
	close(fd);
	struct api_egd_stats st;
	api_egd_stats(s, &st);
	CU_ASSERT_EQUAL(st.bad_commands, 1);
	CU_ASSERT_EQUAL(st.open, 0);
	CU_ASSERT_EQUAL(st.commands[0], 0); /* the 00 after it was never read as one */
	api_egd_stop(s);
}

static void test_02_waits_until_operational(void)
{
	const char *path = testlib_file(dir, "wait.sock");
	struct api_egd *s = start_egd(path, NULL, 0, 0);
	CU_ASSERT_FATAL(s != NULL);
	int fd = connect_unix(path), fd2 = connect_unix(path);
	atomic_store(&gate_on, false);
	send_all(fd, "\x02\x40\x00", 3);
	/* a second client: 01 gets 0 bytes, 00 reports 0 bits, 03 is not mixed */
	send_all(fd2, "\x01\x20\x00\x03\x00\x08\x01z", 8);
	uint8_t b[128];
	CU_ASSERT_EQUAL(recv_n(fd2, b, 5, 5000), 5);
	CU_ASSERT(all_zero(b, 5));
	CU_ASSERT_TRUE(quiet(fd, 300)); /* not one byte while the gate is shut */
	struct api_egd_stats st;
	api_egd_stats(s, &st);
	CU_ASSERT_EQUAL(st.waiting, 1);
	CU_ASSERT_EQUAL(st.open, 2); /* and the connection stays open */
	CU_ASSERT_EQUAL(st.bytes_written, 1);
	CU_ASSERT_EQUAL(st.bytes_mixed, 0);
	atomic_store(&gate_on, true);
	CU_ASSERT_EQUAL(recv_n(fd, b, 68, 5000), 68);
	CU_ASSERT_FALSE(all_zero(b, 64));
	CU_ASSERT(b[64] == 0 && b[65] == 0 && b[66] == 1 && b[67] == 0); /* 00 after, 256 bits now */
	CU_ASSERT_TRUE(quiet(fd, 50));
	api_egd_stats(s, &st);
	CU_ASSERT_EQUAL(st.waiting, 0);
	CU_ASSERT(st.longest_wait_ns >= 300000000ull); /* it waited at least the 300 ms held shut */
	close(fd);
	close(fd2);
	api_egd_stop(s);
}

static void test_slow_reader_does_not_stall_others(void)
{
	const char *path = testlib_file(dir, "slow.sock");
	struct api_egd *s = start_egd(path, NULL, 0, 0);
	CU_ASSERT_FATAL(s != NULL);
	int slow = connect_unix(path);
	/* 4 MiB asked for and never read; the writes stop once the server
	 * stops reading (its queue is full) and the socket buffers fill */
	static uint8_t reqs[1u << 20];
	for (size_t i = 0; i < sizeof reqs; i += 2) {
		reqs[i] = 0x02;
		reqs[i + 1] = 0xff;
	}
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	setsockopt(slow, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	size_t sent = 0;
	while (sent < sizeof reqs) {
		ssize_t w = send(slow, reqs + sent, sizeof reqs - sent, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	CU_ASSERT(sent < sizeof reqs); /* fount stopped taking its commands */
	int fast = connect_unix(path);
	uint8_t b[64];
	for (int i = 0; i < 10; i++) {
		send_all(fast, "\x02\x40", 2);
		CU_ASSERT_EQUAL(recv_n(fast, b, 64, 5000), 64);
	}
	struct api_egd_stats st;
	api_egd_stats(s, &st);
	CU_ASSERT(st.commands[2] < sizeof reqs / 2 + 10);
	close(fast);
	close(slow);
	api_egd_stop(s);
}

static void test_rate_limit(void)
{
	const char *path = testlib_file(dir, "rate.sock");
	struct api_egd *s = start_egd(path, NULL, 0, 2000); /* 2000 bytes/s */
	CU_ASSERT_FATAL(s != NULL);
	int fd = connect_unix(path);
	uint64_t t0 = now_ns();
	uint8_t reqs[40];
	for (size_t i = 0; i < sizeof reqs; i += 2) {
		reqs[i] = 0x02;
		reqs[i + 1] = 0xff;
	}
	send_all(fd, reqs, sizeof reqs); /* 5100 bytes */
	uint8_t b[5100];
	size_t first = recv_for(fd, b, sizeof b, 300);
	uint64_t t1 = now_ns();
	/* what the bucket allows: its 2000, one reply of debt, and the refill */
	double allowed = 2000 + 255 + 2000.0 * (double)(t1 - t0) / 1e9;
	CU_ASSERT((double)first <= allowed);
	CU_ASSERT(first < sizeof b);
	/* all of it comes, in time */
	CU_ASSERT_EQUAL(first + recv_n(fd, b + first, sizeof b - first, 5000), sizeof b);
	close(fd);
	api_egd_stop(s);
}

static void test_connection_cap(void)
{
	const char *path = testlib_file(dir, "cap.sock");
	struct api_egd *s = start_egd(path, NULL, 2, 0);
	CU_ASSERT_FATAL(s != NULL);
	int a = connect_unix(path), b = connect_unix(path);
	uint8_t x[4];
	send_all(a, "\x00", 1);
	send_all(b, "\x00", 1);
	CU_ASSERT_EQUAL(recv_n(a, x, 4, 5000), 4);
	CU_ASSERT_EQUAL(recv_n(b, x, 4, 5000), 4);
	int c = connect_unix(path); /* the kernel queues it; fount closes it */
	CU_ASSERT_TRUE(at_eof(c, 5000));
	struct api_egd_stats st;
	api_egd_stats(s, &st);
	CU_ASSERT_EQUAL(st.refused_busy, 1);
	CU_ASSERT_EQUAL(st.open, 2);
	send_all(a, "\x02\x10", 2); /* the two still work */
	CU_ASSERT_EQUAL(recv_n(a, x, 4, 5000), 4);
	close(a);
	close(b);
	close(c);
	api_egd_stop(s);
}

static void test_peercred(void)
{
	const char *path = testlib_file(dir, "cred.sock");
	struct api_egd *s = start_egd(path, NULL, 0, 0);
	CU_ASSERT_FATAL(s != NULL);
	int fd = connect_unix(path);
	uint8_t x[4];
	send_all(fd, "\x00", 1);
	CU_ASSERT_EQUAL(recv_n(fd, x, 4, 5000), 4); /* accepted by now */
	struct api_egd_peer p[2];
	CU_ASSERT_EQUAL_FATAL(api_egd_peers(s, p, 2), 1);
	CU_ASSERT_EQUAL(p[0].pid, (int64_t)getpid());
	CU_ASSERT_EQUAL(p[0].uid, (int64_t)getuid());
	CU_ASSERT_EQUAL(p[0].gid, (int64_t)getgid());
	CU_ASSERT_STRING_EQUAL(p[0].addr, "unix");
	send_all(fd, "\x02\x20", 2);
	uint8_t b[32];
	CU_ASSERT_EQUAL(recv_n(fd, b, 32, 5000), 32);
	/* counted once the server's round ends, which may be just after */
	for (int i = 0; i < 100 && p[0].served != 32; i++) {
		usleep(10000);
		CU_ASSERT_EQUAL(api_egd_peers(s, p, 2), 1);
	}
	CU_ASSERT_EQUAL(p[0].served, 32);
	close(fd);
	api_egd_stop(s);
}

struct stopper {
	struct api_egd *s;
};

static void *stop_thread(void *arg)
{
	api_egd_stop(((struct stopper *)arg)->s);
	return NULL;
}

static void test_shutdown_answers_pending(void)
{
	/* a read held up by the rate limit is owed when the stop comes */
	const char *path = testlib_file(dir, "stop.sock");
	struct api_egd *s = start_egd(path, NULL, 0, 256);
	CU_ASSERT_FATAL(s != NULL);
	int fd = connect_unix(path);
	/* a full bucket (256) lets two out (the second into debt); the
	 * third needs about a second of refill */
	send_all(fd, "\x02\xff\x02\xff\x02\xff", 6);
	uint8_t b[765];
	CU_ASSERT_EQUAL_FATAL(recv_n(fd, b, 510, 5000), 510);
	struct stopper st = {s};
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, stop_thread, &st) == 0);
	/* the second reply comes (the bucket refills in about a second),
	 * and only then does the connection close */
	CU_ASSERT_EQUAL(recv_n(fd, b + 510, 255, 5000), 255);
	CU_ASSERT_TRUE(at_eof(fd, 5000));
	pthread_join(t, NULL);
	close(fd);
	struct stat sb;
	CU_ASSERT(lstat(path, &sb) != 0); /* no socket left */

	/* not OPERATIONAL at the stop: nothing owed can be answered, so it
	 * closes at once rather than send anything else */
	s = start_egd(path, NULL, 0, 0);
	CU_ASSERT_FATAL(s != NULL);
	fd = connect_unix(path);
	atomic_store(&gate_on, false);
	send_all(fd, "\x02\x10", 2);
	CU_ASSERT_TRUE(quiet(fd, 100));
	api_egd_stop(s);
	atomic_store(&gate_on, true);
	CU_ASSERT_TRUE(at_eof(fd, 5000));
	close(fd);
}

static void test_socket_files(void)
{
	const char *path = testlib_file(dir, "f.sock");
	char why[512];
	struct api_egd *s = NULL;
	struct api_egd_options o = {.socket = path};

	/* a stale socket (nobody listens) is replaced */
	int st = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	CU_ASSERT_FATAL(st >= 0 && bind(st, (struct sockaddr *)&sa, sizeof sa) == 0);
	close(st);
	EXPECT_OK(api_egd_start(&o, &s, why, sizeof why));
	CU_ASSERT_FATAL(s != NULL);
	int fd = connect_unix(path);
	uint8_t x[4];
	send_all(fd, "\x00", 1);
	CU_ASSERT_EQUAL(recv_n(fd, x, 4, 5000), 4);
	close(fd);

	/* a live one is not: a second server is refused, the first keeps it */
	struct api_egd *s2 = NULL;
	EXPECT_ERR(api_egd_start(&o, &s2, why, sizeof why), ERR_IO);
	CU_ASSERT(s2 == NULL);
	CU_ASSERT(strstr(why, "another process listens") != NULL);
	CU_ASSERT(strstr(why, path) != NULL);
	fd = connect_unix(path);
	send_all(fd, "\x00", 1);
	CU_ASSERT_EQUAL(recv_n(fd, x, 4, 5000), 4);
	close(fd);
	api_egd_stop(s);

	/* a file that is not a socket is left alone */
	FILE *f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("keep me", f);
	fclose(f);
	EXPECT_ERR(api_egd_start(&o, &s, why, sizeof why), ERR_IO);
	CU_ASSERT(strstr(why, "not a socket") != NULL);
	CU_ASSERT_STRING_EQUAL(testlib_slurp(path), "keep me");
	unlink(path);

	/* a missing folder and a path too long for sun_path: one-line reasons */
	o.socket = testlib_file(dir, "no/such/folder/egd.sock");
	EXPECT_ERR(api_egd_start(&o, &s, why, sizeof why), ERR_IO);
	CU_ASSERT(strstr(why, "create the folder") != NULL);
	char lng[200];
	memset(lng, 'x', sizeof lng - 1);
	lng[0] = '/';
	lng[sizeof lng - 1] = '\0';
	o.socket = lng;
	EXPECT_ERR(api_egd_start(&o, &s, why, sizeof why), ERR_CONFIG);
	CU_ASSERT(strstr(why, "too long") != NULL && strchr(why, '\n') == NULL);
	/* neither listener */
	struct api_egd_options none = {.socket = ""};
	EXPECT_ERR(api_egd_start(&none, &s, why, sizeof why), ERR_CONFIG);
}

static void test_tcp_loopback_only(void)
{
	static const char *const refused[] = {"0.0.0.0:0", ":0", "192.0.2.1:0", "[::]:0", "10.0.0.1:7777",
					      "example.com:0", "127.0.0.1", "127.0.0.1:99999", "[::1:0"};
	char why[512];
	struct api_egd *s = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		struct api_egd_options o = {.tcp_listen = refused[i], .socket = testlib_file(dir, "t.sock")};
		EXPECT_ERR(api_egd_start(&o, &s, why, sizeof why), ERR_CONFIG);
		CU_ASSERT(s == NULL);
		CU_ASSERT(strstr(why, "[egd] tcp_listen") != NULL && strstr(why, "127.0.0.1:PORT") != NULL);
		struct stat sb;
		CU_ASSERT(lstat(testlib_file(dir, "t.sock"), &sb) != 0); /* nothing left behind */
	}
	struct api_egd_options ok = {.tcp_listen = "localhost:0"};
	EXPECT_OK(api_egd_start(&ok, &s, why, sizeof why));
	CU_ASSERT_FATAL(s != NULL);
	api_egd_stop(s);
	ok.tcp_listen = "127.0.0.2:0";
	EXPECT_OK(api_egd_start(&ok, &s, why, sizeof why));
	CU_ASSERT_FATAL(s != NULL);
	api_egd_stop(s);
}

static void test_config_keys(void)
{
	struct config c;
	char err[256];
	setenv("FOUNT_SERVICE_STATE_DIR", "/tmp/fount-egd-state", 1);
	unsetenv("FOUNT_EGD_SOCKET");
	EXPECT_OK(config_load(&c, NULL, false, err, sizeof err));
	CU_ASSERT_STRING_EQUAL(c.egd_socket, "/tmp/fount-egd-state/egd.sock");
	CU_ASSERT_STRING_EQUAL(c.egd_tcp_listen, "");
	CU_ASSERT_EQUAL(c.egd_max_connections, 256);
	CU_ASSERT_EQUAL(c.egd_rate, 1u << 20);
	setenv("FOUNT_EGD_SOCKET", "", 1); /* empty: off */
	setenv("FOUNT_EGD_TCP_LISTEN", "127.0.0.1:7777", 1);
	setenv("FOUNT_EGD_MAX_CONNECTIONS", "9", 1);
	setenv("FOUNT_EGD_RATE", "0", 1);
	EXPECT_OK(config_load(&c, NULL, false, err, sizeof err));
	CU_ASSERT_STRING_EQUAL(c.egd_socket, "");
	CU_ASSERT_STRING_EQUAL(c.egd_tcp_listen, "127.0.0.1:7777");
	CU_ASSERT_EQUAL(c.egd_max_connections, 9);
	CU_ASSERT_EQUAL(c.egd_rate, 0);
	setenv("FOUNT_EGD_MAX_CONNECTIONS", "0", 1);
	EXPECT_ERR(config_load(&c, NULL, false, err, sizeof err), ERR_CONFIG);
	CU_ASSERT(strstr(err, "FOUNT_EGD_MAX_CONNECTIONS") != NULL);
	/* from a file */
	unsetenv("FOUNT_EGD_SOCKET");
	unsetenv("FOUNT_EGD_TCP_LISTEN");
	unsetenv("FOUNT_EGD_MAX_CONNECTIONS");
	unsetenv("FOUNT_EGD_RATE");
	const char *conf = testlib_file(dir, "egd.conf");
	FILE *f = fopen(conf, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("[egd]\nsocket = /run/fount/egd.sock\nrate = 4096\n", f);
	fclose(f);
	EXPECT_OK(config_load(&c, conf, true, err, sizeof err));
	CU_ASSERT_STRING_EQUAL(c.egd_socket, "/run/fount/egd.sock");
	CU_ASSERT_EQUAL(c.egd_rate, 4096);
	/* the suite's own environment back */
	setenv("FOUNT_EGD_SOCKET", "", 1);
	if (cfg.service_state_dir[0] != '\0')
		setenv("FOUNT_SERVICE_STATE_DIR", cfg.service_state_dir, 1);
}

/* `fount serve`: the socket is there, answers, and is gone after SIGTERM */
static void test_serve_wiring(void)
{
	char sdir[64];
	CU_ASSERT_FATAL(testlib_tmpdir_create(sdir, "egdserve") == 0);
	char env_sock[128], env_state[128];
	const char *path = testlib_file(sdir, "egd.sock");
	snprintf(env_sock, sizeof env_sock, "FOUNT_EGD_SOCKET=%s", path);
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s", sdir);
	const char *const env[] = {env_sock, env_state, "FOUNT_SECURITY_MLOCK=off", NULL};
	const char *const argv[] = {testlib_fount_bin(), "serve", NULL};
	const char *log = testlib_file(sdir, "serve.log");
	int pid = testlib_spawn(log, argv, env);
	CU_ASSERT_FATAL(pid > 0);
	bool up = testlib_wait_for_log(log, "state=OPERATIONAL");
	CU_ASSERT(up);
	char *text = testlib_slurp(log);
	CU_ASSERT(text != NULL && strstr(text, "EGD listening on") != NULL && strstr(text, path) != NULL);
	int fd = connect_unix(path);
	if (fd >= 0) {
		uint8_t b[64];
		send_all(fd, "\x02\x40", 2);
		CU_ASSERT_EQUAL(recv_n(fd, b, 64, 5000), 64);
		close(fd);
	}
	/* a second serve on the same socket refuses, naming the fix */
	struct run_result *res = calloc(1, sizeof *res);
	CU_ASSERT_FATAL(res != NULL);
	CU_ASSERT_EQUAL(testlib_run(argv, env, NULL, res), 0);
	CU_ASSERT_EQUAL(res->status, 1);
	CU_ASSERT(strstr(res->err, "another process listens on it") != NULL);
	free(res);
	kill(pid, SIGTERM);
	int status = 0;
	waitpid(pid, &status, 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	text = testlib_slurp(log);
	CU_ASSERT(text != NULL && strstr(text, "EGD: connection from pid") != NULL);
	struct stat sb;
	CU_ASSERT(lstat(path, &sb) != 0); /* removed at the clean stop */
	testlib_tmpdir_remove(sdir);
}

/* ---- QEMU itself (tests/interop/qemu_egd.sh) ------------------------------------ */

static bool have_qemu(const char *test)
{
	if (testlib_sh("command -v qemu-system-x86_64 >/dev/null 2>&1") == 0)
		return true;
	printf("\n  %s: SKIPPED: qemu-system-x86_64 is not installed (make deps installs qemu-system-x86)\n", test);
	return false;
}

static const char *qemu_script(void)
{
	return testlib_path("tests/interop/qemu_egd.sh");
}

/* QEMU with reconnect=1 starts before fount listens, and connects once it
 * does; SO_PEERCRED names QEMU's pid. Without a guest driver QEMU asks for
 * nothing (vm-entropy.md §1.2). */
static void test_qemu_connects(void)
{
	if (!have_qemu(__func__))
		return;
	const char *path = testlib_file(dir, "qemu.sock");
	const char *log = testlib_file(dir, "qemu-connect.log");
	const char *const argv[] = {"/bin/sh", qemu_script(), "connect", path, NULL};
	int pid = testlib_spawn(log, argv, NULL);
	CU_ASSERT_FATAL(pid > 0);
	usleep(1500000); /* QEMU is up and retrying by now (or failed: see below) */
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0); /* it started without the socket */
	struct api_egd *s = start_egd(path, NULL, 0, 0);
	bool seen = false;
	struct api_egd_peer p[4];
	for (int i = 0; i < 100 && s != NULL && !seen; i++) {
		size_t n = api_egd_peers(s, p, 4);
		for (size_t k = 0; k < n && k < 4; k++)
			seen = seen || p[k].pid == pid;
		if (!seen)
			usleep(100000);
	}
	CU_ASSERT_TRUE(seen);
	if (!seen)
		fprintf(stderr, "\n  QEMU did not connect: %s\n", testlib_slurp(log));
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	if (s != NULL) {
		struct api_egd_stats es;
		api_egd_stats(s, &es);
		CU_ASSERT(es.connections >= 1);
		printf("\n  QEMU pid %d connected; commands it sent without a guest: %llu\n", pid,
		       (unsigned long long)(es.commands[0] + es.commands[1] + es.commands[2] + es.commands[3] +
					    es.commands[4]));
		api_egd_stop(s);
	}
}

/* without reconnect QEMU refuses to start when the socket is missing: why
 * fount listens before anything slow */
static void test_qemu_refuses_missing_socket(void)
{
	if (!have_qemu(__func__))
		return;
	const char *const argv[] = {"/bin/sh", qemu_script(), "missing", testlib_file(dir, "absent.sock"), NULL};
	struct run_result *r = calloc(1, sizeof *r);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL(testlib_run(argv, NULL, NULL, r), 0);
	CU_ASSERT_EQUAL(r->status, 0);
	CU_ASSERT(strstr(r->out, "Failed to connect") != NULL);
	if (r->status != 0 || strstr(r->out, "Failed to connect") == NULL)
		fprintf(stderr, "\n  %s%s\n", r->out, r->err);
	free(r);
}

/* a tiny guest (Debian's kernel, busybox) reads 1000 bytes of /dev/hwrng;
 * virtio-rng asks in 64-byte 02s, and every byte is fount's */
static void test_qemu_guest_reads(void)
{
	if (!have_qemu(__func__))
		return;
	const char *path = testlib_file(dir, "guest.sock");
	struct api_egd *s = start_egd(path, NULL, 0, 0);
	CU_ASSERT_FATAL(s != NULL);
	char cache[4200];
	snprintf(cache, sizeof cache, "%s", testlib_path("build/qemu-guest"));
	const char *const argv[] = {"/bin/sh", qemu_script(), "guest", path, cache, NULL};
	struct run_result *r = calloc(1, sizeof *r);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, r), 0);
	if (r->status == 77) {
		printf("\n  %s: SKIPPED: %s\n", __func__, r->err);
	} else {
		CU_ASSERT_EQUAL(r->status, 0);
		CU_ASSERT(strstr(r->out, "FOUNT-EGD-GUEST read=1000") != NULL);
		CU_ASSERT(strstr(r->out, "rng=virtio_rng") != NULL);
		if (r->status != 0)
			fprintf(stderr, "\n  %s%s\n", r->out, r->err);
		struct api_egd_stats st;
		api_egd_stats(s, &st);
		/* 1000 bytes and what the driver reads at probe: at least 16 02s,
		 * all of 64 bytes (02 40), nothing else */
		CU_ASSERT(st.commands[2] >= 16);
		CU_ASSERT_EQUAL(st.bytes_served, 64 * st.commands[2]);
		CU_ASSERT_EQUAL(st.commands[0] + st.commands[1] + st.commands[3] + st.commands[4], 0);
		printf("\n  guest: %llu commands 02 40, %llu bytes served, longest wait %.1f ms\n",
		       (unsigned long long)st.commands[2], (unsigned long long)st.bytes_served,
		       (double)st.longest_wait_ns / 1e6);
	}
	free(r);
	api_egd_stop(s);
}

TEST_SUITE(egd, suite_init, suite_clean,
	   TEST(test_parse_split_and_joined),
	   TEST(test_parse_unknown_opcode),
	   TEST(test_session_replies_in_order),
	   TEST(test_session_pipelined_02_one_generate),
	   TEST(test_session_waits_while_not_operational),
	   TEST(test_session_rate_limit),
	   TEST(test_session_small_output_buffer),
	   TEST(test_unix_every_command),
	   TEST(test_tcp_every_command),
	   TEST(test_split_and_pipelined),
	   TEST(test_pipelined_bulk),
	   TEST(test_unknown_opcode_closes),
	   TEST(test_02_waits_until_operational),
	   TEST(test_slow_reader_does_not_stall_others),
	   TEST(test_rate_limit),
	   TEST(test_connection_cap),
	   TEST(test_peercred),
	   TEST(test_shutdown_answers_pending),
	   TEST(test_socket_files),
	   TEST(test_tcp_loopback_only),
	   TEST(test_config_keys),
	   TEST(test_serve_wiring),
	   TEST(test_qemu_connects),
	   TEST(test_qemu_refuses_missing_socket),
	   TEST(test_qemu_guest_reads))
