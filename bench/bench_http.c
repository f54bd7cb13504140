/* bench/bench_http.c — the HTTP API under load from Debian's wrk on
 * loopback, keep-alive: GET /v1/random at 32 B and 64 KiB over HTTPS (fount's
 * TLS pumped into libmicrohttpd) and over plain HTTP (libmicrohttpd alone:
 * the ceiling), 1 and 64 connections, requests/s and MB/s of body; beside
 * them, in the same run, read(2) of /dev/urandom and fount's in-process
 * DRBG at the same sizes, so the cost of HTTP and of TLS is visible; then
 * POST /v1/keys (AES-256, durable) creates per second with a bearer token.
 * A run with non-2xx answers or socket errors is reported as such.
 *
 * The server runs in this process (api_http_start) with its own store in a
 * temporary folder; wrk shares the machine's two cores with it, so the
 * figures are what one host does serving and loading itself at once. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "bench/bench.h"
#include "keygen/keygen.h"
#include "store/store.h"

#define WRK "/usr/bin/wrk"

struct wrk_result {
	double req_s, mb_s;
	unsigned long long bad; /* non-2xx answers and socket errors */
	bool ok;
};

/* run_wrk runs wrk and reads its summary */
static struct wrk_result run_wrk(const char *url, unsigned conns, double seconds, const char *script,
				 const char *auth)
{
	struct wrk_result r = {0};
	char cmd[2048], dur[16], c[16], t[16];
	snprintf(dur, sizeof dur, "%ds", (int)(seconds + 0.5) < 1 ? 1 : (int)(seconds + 0.5));
	snprintf(c, sizeof c, "%u", conns);
	snprintf(t, sizeof t, "%u", conns > 1 ? 2 : 1);
	snprintf(cmd, sizeof cmd, "%s -t%s -c%s -d%s %s%s%s%s%s%s '%s' 2>&1", WRK, t, c, dur, script ? "-s '" : "",
		 script ? script : "", script ? "' " : "", auth ? "-H 'Authorization: Bearer " : "", auth ? auth : "",
		 auth ? "' " : "", url);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return r;
	char line[512];
	while (fgets(line, sizeof line, p) != NULL) {
		double v;
		char unit[8] = "";
		unsigned long long n;
		if (sscanf(line, "Requests/sec: %lf", &v) == 1) {
			r.req_s = v;
			r.ok = true;
		} else if (sscanf(line, "Transfer/sec: %lf%7s", &v, unit) == 2) {
			r.mb_s = v * (unit[0] == 'G' ? 1073.741824 : unit[0] == 'M' ? 1.048576 : unit[0] == 'K' ? 0.001024 : 1e-6);
		} else if (sscanf(line, "  Non-2xx or 3xx responses: %llu", &n) == 1) {
			r.bad += n;
		} else if (strstr(line, "Socket errors:") != NULL) {
			unsigned long long a = 0, b = 0, cc = 0, d = 0;
			if (sscanf(strstr(line, "connect"), "connect %llu, read %llu, write %llu, timeout %llu", &a, &b, &cc, &d) == 4)
				r.bad += a + b + cc + d;
		}
	}
	pclose(p);
	return r;
}

/* local_rate: calls/s of |fn| (0 = /dev/urandom read, 1 = drbg_generate) at |size| */
static double local_rate(int fn, size_t size, double seconds)
{
	uint8_t *buf = malloc(size);
	int fd = fn == 0 ? open("/dev/urandom", O_RDONLY | O_CLOEXEC) : -1;
	if (buf == NULL || (fn == 0 && fd < 0)) {
		free(buf);
		return 0;
	}
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), n = 0, t = start;
	while (t < end) {
		for (int i = 0; i < 16; i++) {
			if (fn == 0 ? read(fd, buf, size) != (ssize_t)size : drbg_generate(buf, size) != ERR_OK)
				goto out;
			n++;
		}
		t = now_ns();
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return (double)n / ((double)(now_ns() - start) / 1e9);
}

static const char *bench_state(void)
{
	return "OPERATIONAL";
}
static bool bench_operational(void)
{
	return true;
}
static const struct api_http_hooks open_hooks = {.state_name = bench_state, .operational = bench_operational};

void bench_http(double seconds)
{
	if (access(WRK, X_OK) != 0) {
		printf("http: skipped: wrk is not installed (apt-get install wrk; mk/deps.sh lists it)\n\n");
		return;
	}
	char dir[] = "/tmp/fount-bench-http-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return;
	double s = seconds * 10 < 2 ? 2 : seconds * 10; /* wrk needs a few seconds to settle */
	const char *names[] = {"localhost", "127.0.0.1"};
	struct api_pki pki;
	bool created;
	char why[512], db[600], kek[600], tokens[600], script[600];
	if (api_pki_init(dir, names, 2, &pki, &created, why, sizeof why) != ERR_OK) {
		printf("http: no PKI: %s\n", why);
		return;
	}
	snprintf(db, sizeof db, "%s/fount.db", dir);
	snprintf(kek, sizeof kek, "file:%s/store.kek", dir);
	snprintf(tokens, sizeof tokens, "%s/tokens", dir);
	snprintf(script, sizeof script, "%s/create.lua", dir);
	char tok[API_HTTP_TOKEN_LEN + 1];
	struct store_options so = {.path = db, .kek = kek};
	struct store *st = NULL;
	if (api_http_token_add(tokens, "bench", false, tok, sizeof tok, why, sizeof why) != ERR_OK ||
	    store_open(&so, &st, why, sizeof why) != ERR_OK) {
		printf("http: no token or store: %s\n", why);
		return;
	}
	FILE *f = fopen(script, "w");
	if (f != NULL) {
		fputs("wrk.method = \"POST\"\nwrk.body = '{\"type\":\"aes-256\"}'\n"
		      "wrk.headers[\"Content-Type\"] = \"application/json\"\n", f);
		fclose(f);
	}
	api_set_store(st, false);
	struct api_http_options o = {.listen = "127.0.0.1:0", .plain_listen = "127.0.0.1:0",
				     .cert_file = pki.server_cert, .key_file = pki.server_key,
				     .client_ca = pki.ca_cert, .tokens = tokens, .max_connections = 1024};
	/* the bench forces the module gates open (bench.c): so does the state
	 * the routes see */
	o.hooks = &open_hooks;
	struct api_http *srv = NULL;
	if (api_http_start(&o, &srv, why, sizeof why) != ERR_OK) {
		printf("http: cannot start: %s\n", why);
		api_set_store(NULL, false);
		store_close(st);
		return;
	}
	unsigned tls_port = api_http_port(srv), plain_port = api_http_plain_port(srv);
	printf("HTTP API: wrk keep-alive on loopback, %.0f s per case, %ld CPUs shared by wrk and fount\n", s,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-34s %6s %12s %10s %s\n", "case", "conns", "req/s", "MB/s", "");
	static const size_t sizes[] = {32, 65536};
	for (size_t si = 0; si < ARRAY_SIZE(sizes); si++) {
		for (int tls = 1; tls >= 0; tls--) {
			for (unsigned conns = 1; conns <= 64; conns = conns == 1 ? 64 : 65) {
				char url[160], name[64];
				snprintf(url, sizeof url, "%s://127.0.0.1:%u/v1/random?bytes=%zu", tls ? "https" : "http",
					 tls ? tls_port : plain_port, sizes[si]);
				snprintf(name, sizeof name, "/v1/random %s %s", sizes[si] == 32 ? "32 B" : "64 KiB",
					 tls ? "HTTPS" : "plain HTTP");
				struct wrk_result r = run_wrk(url, conns, s, NULL, NULL);
				printf("%-34s %6u %12.0f %10.1f %s\n", name, conns, r.req_s,
				       r.req_s * (double)sizes[si] / 1e6, !r.ok ? "(wrk failed)" : r.bad ? "(errors)" : "");
			}
		}
		double u = local_rate(0, sizes[si], s / 2), d = local_rate(1, sizes[si], s / 2);
		printf("%-34s %6s %12.0f %10.1f\n", sizes[si] == 32 ? "read /dev/urandom 32 B" : "read /dev/urandom 64 KiB", "-",
		       u, u * (double)sizes[si] / 1e6);
		printf("%-34s %6s %12.0f %10.1f\n", sizes[si] == 32 ? "in-process DRBG 32 B" : "in-process DRBG 64 KiB", "-", d,
		       d * (double)sizes[si] / 1e6);
	}
	for (int tls = 1; tls >= 0; tls--) {
		char url[160];
		snprintf(url, sizeof url, "%s://127.0.0.1:%u/v1/keys", tls ? "https" : "http", tls ? tls_port : plain_port);
		struct wrk_result r = run_wrk(url, 16, s, script, tok);
		printf("%-34s %6u %12.0f %10s %s\n", tls ? "POST /v1/keys aes-256 HTTPS" : "POST /v1/keys aes-256 plain", 16u,
		       r.req_s, "-", !r.ok ? "(wrk failed)" : r.bad ? "(errors)" : "");
	}
	struct api_http_stats hs;
	api_http_stats(srv, &hs);
	printf("server: %llu connections, %llu random bytes served, %llu failed handshakes\n\n",
	       (unsigned long long)hs.connections, (unsigned long long)hs.random_bytes,
	       (unsigned long long)hs.handshakes_failed);
	secure_zero(tok, sizeof tok);
	api_http_stop(srv);
	api_set_store(NULL, false);
	store_close(st);
	char rm[700];
	snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
	(void)!system(rm);
}
