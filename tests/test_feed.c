/* tests/test_feed.c — `fount feed` (api/feed.c): the HTTP response parser
 * and the URL, then whole feeds against a TLS server run here that answers
 * with scripted responses (the refusals: a server not OPERATIONAL, a
 * certificate of another CA or for another name, no server, short or
 * mistyped bodies, HTTP errors, token handling) and the `fount feed`
 * command itself. The happy path against fount's own HTTP API is in
 * tests/test_http.c's feed test. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "api/api.h"
#include "api/feed.h"
#include "keygen/keygen.h"
#include "tests/helpers.h"
#include "tests/kmip_inproc.h"

static char dir[] = "/tmp/fount-feed-XXXXXX";
static struct api_pki pki, other;     /* the server's CA; another CA */
static struct api_pki named;          /* a CA whose server certificate names only "localhost" */

static bool open_gate(void)
{
	return true;
}

static int suite_init(void)
{
	if (kt_init(&(struct kt_suite){.tag = NULL}) != 0 || mkdtemp(dir) == NULL)
		return -1;
	keygen_set_service_gate(open_gate); /* the CAs' keys */
	signal(SIGPIPE, SIG_IGN);           /* the scripted server writes to closed connections */
	char a[300], b[300], c[300], why[256];
	snprintf(a, sizeof a, "%s/a", dir);
	snprintf(b, sizeof b, "%s/b", dir);
	snprintf(c, sizeof c, "%s/c", dir);
	const char *names[] = {"localhost", "127.0.0.1"}, *only[] = {"localhost"};
	bool created;
	if (mkdir(a, 0700) != 0 || mkdir(b, 0700) != 0 || mkdir(c, 0700) != 0 ||
	    api_pki_init(a, names, 2, &pki, &created, why, sizeof why) != ERR_OK ||
	    api_pki_init(b, names, 2, &other, &created, why, sizeof why) != ERR_OK ||
	    api_pki_init(c, only, 1, &named, &created, why, sizeof why) != ERR_OK) {
		fprintf(stderr, "feed: %s\n", why);
		return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "feed: cannot remove %s\n", dir);
	keygen_set_service_gate(NULL);
	return kt_clean();
}

/* ---- the parser ------------------------------------------------------------ */

static err_t parse(const char *s, uint8_t *body, size_t cap, struct feed_http *r)
{
	return feed_http_parse((const uint8_t *)s, strlen(s), body, cap, r);
}

static void test_parse_length(void)
{
	uint8_t body[64];
	struct feed_http r;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\ncontent-LENGTH: 5\r\n\r\nhello";
	EXPECT_OK(parse(ok, body, sizeof body, &r));
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT(r.keep_alive);
	CU_ASSERT_EQUAL(r.body_len, 5);
	CU_ASSERT_EQUAL(memcmp(body, "hello", 5), 0);
	CU_ASSERT_STRING_EQUAL(r.content_type, "application/octet-stream");
	CU_ASSERT_EQUAL(r.total_len, strlen(ok));
	/* every proper prefix asks for more */
	for (size_t n = 0; n < strlen(ok); n++)
		CU_ASSERT_EQUAL(feed_http_parse((const uint8_t *)ok, n, body, sizeof body, &r), ERR_INVALID_ARG);
	/* a body larger than the caller's buffer, and one without a length */
	EXPECT_ERR(parse(ok, body, 4, &r), ERR_TOO_LARGE);
	EXPECT_ERR(parse("HTTP/1.1 200 OK\r\n\r\nhello", body, sizeof body, &r), ERR_PARSE);
	/* two lengths, a signed or huge length */
	EXPECT_ERR(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", body, 64, &r),
		   ERR_PARSE);
	EXPECT_ERR(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nx", body, 64, &r), ERR_PARSE);
	EXPECT_ERR(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\nx", body, 64, &r), ERR_PARSE);
	/* Connection: close, HTTP/1.0, Retry-After, a 204 */
	EXPECT_OK(parse("HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
			body, 64, &r));
	CU_ASSERT(!r.keep_alive);
	CU_ASSERT_EQUAL(r.retry_after, 7);
	CU_ASSERT_EQUAL(r.status, 429);
	EXPECT_OK(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", body, 64, &r));
	CU_ASSERT(!r.keep_alive);
	EXPECT_OK(parse("HTTP/1.1 204 No Content\r\n\r\n", body, 64, &r));
	CU_ASSERT_EQUAL(r.body_len, 0);
}

static void test_parse_chunked(void)
{
	uint8_t body[64];
	struct feed_http r;
	const char *ok = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n";
	EXPECT_OK(parse(ok, body, sizeof body, &r));
	CU_ASSERT(r.chunked);
	CU_ASSERT_EQUAL(r.body_len, 5);
	CU_ASSERT_EQUAL(memcmp(body, "abcde", 5), 0);
	CU_ASSERT_EQUAL(r.total_len, strlen(ok));
	for (size_t n = 0; n < strlen(ok); n++)
		CU_ASSERT_EQUAL(feed_http_parse((const uint8_t *)ok, n, body, sizeof body, &r), ERR_INVALID_ARG);
	EXPECT_ERR(parse(ok, body, 4, &r), ERR_TOO_LARGE);
	/* a chunk without its CRLF, a size that is not hex, an oversized size */
	EXPECT_ERR(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", body, 64, &r),
		   ERR_PARSE);
	EXPECT_ERR(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", body, 64, &r), ERR_PARSE);
	EXPECT_ERR(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n", body, 64, &r),
		   ERR_TOO_LARGE);
	/* another coding; chunked with a Content-Length: chunked wins, no reuse */
	EXPECT_ERR(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", body, 64, &r), ERR_UNSUPPORTED);
	EXPECT_OK(parse("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
			body, 64, &r));
	CU_ASSERT_EQUAL(r.body_len, 1);
	CU_ASSERT(!r.keep_alive);
}

static void test_parse_head(void)
{
	uint8_t body[8];
	struct feed_http r;
	EXPECT_ERR(parse("HTTP/2 200 OK\r\n\r\n", body, 8, &r), ERR_PARSE);
	EXPECT_ERR(parse("HTTP/1.1 20 OK\r\n\r\n", body, 8, &r), ERR_PARSE);
	EXPECT_ERR(parse("HTTP/1.1 2000 OK\r\n\r\n", body, 8, &r), ERR_PARSE);
	EXPECT_ERR(parse("SSH-2.0-OpenSSH\r\n\r\n", body, 8, &r), ERR_PARSE);
	/* a head that never ends */
	size_t n = FEED_HEAD_MAX + 100;
	char *big = malloc(n + 1);
	CU_ASSERT_FATAL(big != NULL);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', n - 20);
	big[n] = '\0';
	EXPECT_ERR(parse(big, body, 8, &r), ERR_TOO_LARGE);
	free(big);
}

static void test_url(void)
{
	char host[FEED_HOST_MAX], port[8];
	EXPECT_OK(feed_url_parse("https://fount.example", host, port));
	CU_ASSERT_STRING_EQUAL(host, "fount.example");
	CU_ASSERT_STRING_EQUAL(port, "8443");
	EXPECT_OK(feed_url_parse("https://10.0.0.1:9443/", host, port));
	CU_ASSERT_STRING_EQUAL(host, "10.0.0.1");
	CU_ASSERT_STRING_EQUAL(port, "9443");
	EXPECT_OK(feed_url_parse("https://[::1]:8443", host, port));
	CU_ASSERT_STRING_EQUAL(host, "::1");
	EXPECT_ERR(feed_url_parse("http://fount.example", host, port), ERR_PARSE);
	EXPECT_ERR(feed_url_parse("https://", host, port), ERR_PARSE);
	EXPECT_ERR(feed_url_parse("https://h:0", host, port), ERR_PARSE);
	EXPECT_ERR(feed_url_parse("https://h:65536", host, port), ERR_PARSE);
	EXPECT_ERR(feed_url_parse("https://h/v1/random", host, port), ERR_PARSE);
	EXPECT_ERR(feed_url_parse("https://user@h", host, port), ERR_PARSE);
	EXPECT_ERR(feed_url_parse("https://[::1", host, port), ERR_PARSE);
}

/* ---- a scripted HTTPS server ------------------------------------------------- */

#define SCRIPT_MAX 4
struct script {
	const struct api_pki *pki;  /* its server certificate */
	const char *reply[SCRIPT_MAX]; /* one per request, in order; NULL ends */
	size_t reply_len[SCRIPT_MAX];  /* 0: strlen */
	char seen[SCRIPT_MAX][1024];   /* the request heads received */
	int listen_fd;
	uint16_t port;
	pthread_t th;
};

static void *script_main(void *arg)
{
	struct script *s = arg;
	SSL_CTX *ctx = SSL_CTX_new_ex(keygen_libctx(), NULL, TLS_server_method());
	if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, s->pki->server_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, s->pki->server_key, SSL_FILETYPE_PEM) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	int fd = accept(s->listen_fd, NULL, NULL);
	SSL *ssl = fd >= 0 ? SSL_new(ctx) : NULL;
	if (ssl != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
		for (int i = 0; i < SCRIPT_MAX && s->reply[i] != NULL; i++) {
			size_t got = 0;
			while (got + 1 < sizeof s->seen[i] && strstr(s->seen[i], "\r\n\r\n") == NULL) {
				int k = SSL_read(ssl, s->seen[i] + got, 1);
				if (k <= 0)
					goto done;
				got++;
			}
			size_t n = s->reply_len[i] != 0 ? s->reply_len[i] : strlen(s->reply[i]);
			if (SSL_write(ssl, s->reply[i], (int)n) != (int)n)
				goto done;
		}
		(void)SSL_shutdown(ssl);
	}
done:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void script_start(struct script *s)
{
	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	CU_ASSERT_FATAL(s->listen_fd >= 0 && bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) == 0 &&
			listen(s->listen_fd, 4) == 0 && getsockname(s->listen_fd, (struct sockaddr *)&a, &al) == 0);
	s->port = ntohs(a.sin_port);
	CU_ASSERT_FATAL(pthread_create(&s->th, NULL, script_main, s) == 0);
}

static void script_stop(struct script *s)
{
	shutdown(s->listen_fd, SHUT_RDWR); /* an accept that never came */
	pthread_join(s->th, NULL);
	close(s->listen_fd);
}

#define HEALTH_OK "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{\"state\": \"OPERATIONAL\"}"
#define HEALTH_ERROR "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 17\r\n\r\n{\"state\":\"ERROR\"}"
#define RANDOM_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 16\r\n\r\n"
#define SIXTEEN "0123456789abcdef"

/* run feeds 16 bytes from |s| (started here) into a fresh file and
 * returns the result; *mixed gets the file's bytes (up to 64). */
static err_t run(struct script *s, const char *host, const struct api_pki *ca, const char *token_file,
		 struct api_feed_result *res, char *why, size_t why_len, uint8_t mixed[64], size_t *mixed_len)
{
	char dev[300], url[300];
	snprintf(dev, sizeof dev, "%s/device", dir);
	(void)unlink(dev);
	int fd = open(dev, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	script_start(s);
	snprintf(url, sizeof url, "https://%s:%u", host, s->port);
	struct api_feed_options o = {.server = url, .ca_file = ca->ca_cert, .bytes = 16, .device = dev,
				     .token_file = token_file, .reseed = true, .timeout_ms = 5000};
	err_t r = api_feed_once(&o, res, why, why_len);
	script_stop(s);
	*mixed_len = 0;
	fd = open(dev, O_RDONLY);
	if (fd >= 0) {
		ssize_t k = read(fd, mixed, 64);
		*mixed_len = k > 0 ? (size_t)k : 0;
		close(fd);
	}
	return r;
}

static void test_feed_scripted(void)
{
	struct api_feed_result res;
	char why[512];
	uint8_t mixed[64];
	size_t n;
	/* the good case: the bytes the server sent are the bytes mixed */
	struct script s = {.pki = &pki, .reply = {HEALTH_OK, RANDOM_HEAD SIXTEEN}};
	EXPECT_OK(run(&s, "127.0.0.1", &pki, NULL, &res, why, sizeof why, mixed, &n));
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT_EQUAL(memcmp(mixed, SIXTEEN, 16), 0);
	CU_ASSERT_EQUAL(res.bytes_mixed, 16);
	CU_ASSERT_EQUAL(res.bits_credited, 0);
	CU_ASSERT(!res.reseeded); /* a regular file is no random device */
	CU_ASSERT_STRING_EQUAL(res.server_state, "OPERATIONAL");
	CU_ASSERT(strncmp(s.seen[0], "GET /v1/health HTTP/1.1\r\n", 25) == 0);
	CU_ASSERT(strncmp(s.seen[1], "GET /v1/random?bytes=16&format=raw HTTP/1.1\r\n", 45) == 0);
	CU_ASSERT(strstr(s.seen[0], "\r\nHost: 127.0.0.1\r\n") != NULL);
	CU_ASSERT(strstr(s.seen[0], "Authorization") == NULL);
	/* the same by name; a chunked random answer */
	struct script s2 = {.pki = &pki,
			    .reply = {HEALTH_OK, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
						 "Transfer-Encoding: chunked\r\n\r\n6\r\n012345\r\na\r\n6789abcdef\r\n0\r\n\r\n"}};
	EXPECT_OK(run(&s2, "localhost", &pki, NULL, &res, why, sizeof why, mixed, &n));
	CU_ASSERT(n == 16 && memcmp(mixed, SIXTEEN, 16) == 0);
}

static void test_feed_refusals(void)
{
	struct api_feed_result res;
	char why[512];
	uint8_t mixed[64];
	size_t n;
	/* a server in ERROR */
	struct script a = {.pki = &pki, .reply = {HEALTH_ERROR}};
	EXPECT_ERR(run(&a, "127.0.0.1", &pki, NULL, &res, why, sizeof why, mixed, &n), ERR_NOT_OPERATIONAL);
	CU_ASSERT(strstr(why, "state ERROR, not OPERATIONAL; refusing to feed") != NULL);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_STRING_EQUAL(res.server_state, "ERROR");
	/* 200 but another state, and a body that is no JSON */
	struct script b = {.pki = &pki,
			   .reply = {"HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\n{\"state\":\"SELF_TEST\"}"}};
	EXPECT_ERR(run(&b, "127.0.0.1", &pki, NULL, &res, why, sizeof why, mixed, &n), ERR_NOT_OPERATIONAL);
	CU_ASSERT(strstr(why, "SELF_TEST") != NULL && n == 0);
	struct script c = {.pki = &pki, .reply = {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"}};
	EXPECT_ERR(run(&c, "127.0.0.1", &pki, NULL, &res, why, sizeof why, mixed, &n), ERR_NOT_OPERATIONAL);
	CU_ASSERT(strstr(why, "state unknown") != NULL && n == 0);
	/* a certificate of another CA; one that does not name the address */
	struct script d = {.pki = &other, .reply = {HEALTH_OK, RANDOM_HEAD SIXTEEN}};
	EXPECT_ERR(run(&d, "127.0.0.1", &pki, NULL, &res, why, sizeof why, mixed, &n), ERR_INTEGRITY);
	CU_ASSERT(strstr(why, "does not match") != NULL && n == 0);
	struct script e = {.pki = &named, .reply = {HEALTH_OK, RANDOM_HEAD SIXTEEN}};
	EXPECT_ERR(run(&e, "127.0.0.1", &named, NULL, &res, why, sizeof why, mixed, &n), ERR_INTEGRITY);
	CU_ASSERT(strstr(why, "does not match") != NULL && n == 0);
	/* short, mistyped and refused random answers */
	struct script f = {.pki = &pki,
			   .reply = {HEALTH_OK, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
						"Content-Length: 8\r\n\r\n01234567"}};
	EXPECT_ERR(run(&f, "127.0.0.1", &pki, NULL, &res, why, sizeof why, mixed, &n), ERR_PARSE);
	CU_ASSERT(strstr(why, "gave 8 bytes") != NULL && n == 0);
	struct script g = {.pki = &pki,
			   .reply = {HEALTH_OK, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 16\r\n\r\n"
						SIXTEEN}};
	EXPECT_ERR(run(&g, "127.0.0.1", &pki, NULL, &res, why, sizeof why, mixed, &n), ERR_PARSE);
	CU_ASSERT(strstr(why, "text/html") != NULL && n == 0);
	struct script h = {.pki = &pki,
			   .reply = {HEALTH_OK, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"}};
	EXPECT_ERR(run(&h, "127.0.0.1", &pki, NULL, &res, why, sizeof why, mixed, &n), ERR_IO);
	CU_ASSERT(strstr(why, "429") != NULL && n == 0);
	struct script i = {.pki = &pki, .reply = {"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"}};
	EXPECT_ERR(run(&i, "127.0.0.1", &pki, NULL, &res, why, sizeof why, mixed, &n), ERR_IO);
	CU_ASSERT(strstr(why, "token_file") != NULL && n == 0);
	/* a server that closes after the health answer, one that sends garbage */
	struct script j = {.pki = &pki, .reply = {HEALTH_OK}};
	EXPECT_ERR(run(&j, "127.0.0.1", &pki, NULL, &res, why, sizeof why, mixed, &n), ERR_IO);
	CU_ASSERT(n == 0);
	struct script k = {.pki = &pki, .reply = {"SSH-2.0-OpenSSH_9.2\r\n\r\n"}};
	EXPECT_ERR(run(&k, "127.0.0.1", &pki, NULL, &res, why, sizeof why, mixed, &n), ERR_PARSE);
	CU_ASSERT(n == 0);
}

static void test_feed_unreachable(void)
{
	struct api_feed_result res;
	char why[512], url[64];
	snprintf(url, sizeof url, "https://127.0.0.1:%u", testlib_free_port());
	struct api_feed_options o = {.server = url, .ca_file = pki.ca_cert, .timeout_ms = 3000};
	EXPECT_ERR(api_feed_once(&o, &res, why, sizeof why), ERR_IO);
	CU_ASSERT(strstr(why, "cannot connect") != NULL);
	CU_ASSERT_EQUAL(res.bytes_mixed, 0);
	o.server = "http://127.0.0.1:1";
	EXPECT_ERR(api_feed_once(&o, &res, why, sizeof why), ERR_CONFIG);
	CU_ASSERT(strstr(why, "https://HOST[:PORT]") != NULL);
	o.server = url;
	o.ca_file = "/nonexistent/ca.pem";
	/* the CA is read only once connected; a port that listens is needed */
	o.bytes = FEED_MAX_BYTES + 1;
	EXPECT_ERR(api_feed_once(&o, &res, why, sizeof why), ERR_CONFIG);
}

static void test_feed_token(void)
{
	struct api_feed_result res;
	char why[512], tok[300];
	uint8_t mixed[64];
	size_t n;
	snprintf(tok, sizeof tok, "%s/token", dir);
	FILE *f = fopen(tok, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("fnt_0123456789abcdef\n", f);
	fclose(f);
	chmod(tok, 0600);
	struct script s = {.pki = &pki, .reply = {HEALTH_OK, RANDOM_HEAD SIXTEEN}};
	EXPECT_OK(run(&s, "127.0.0.1", &pki, tok, &res, why, sizeof why, mixed, &n));
	CU_ASSERT(strstr(s.seen[0], "\r\nAuthorization: Bearer fnt_0123456789abcdef\r\n") != NULL);
	CU_ASSERT(strstr(s.seen[1], "\r\nAuthorization: Bearer fnt_0123456789abcdef\r\n") != NULL);
	/* a token file others can read is refused before anything is sent */
	chmod(tok, 0644);
	struct script t = {.pki = &pki, .reply = {HEALTH_OK, RANDOM_HEAD SIXTEEN}};
	EXPECT_ERR(run(&t, "127.0.0.1", &pki, tok, &res, why, sizeof why, mixed, &n), ERR_CONFIG);
	CU_ASSERT(strstr(why, "chmod 600") != NULL && n == 0);
	CU_ASSERT_EQUAL(t.seen[0][0], '\0');
}

/* `fount feed --once` with a config file, and its metrics file */
static void test_feed_cli(void)
{
	char conf[300], dev[300], met[300], url[64], text[API_PKI_PATH + 1400];
	snprintf(conf, sizeof conf, "%s/feed.conf", dir);
	snprintf(dev, sizeof dev, "%s/cli-device", dir);
	snprintf(met, sizeof met, "%s/feed.prom", dir);
	int fd = open(dev, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	struct script s = {.pki = &pki, .reply = {HEALTH_OK, RANDOM_HEAD SIXTEEN}};
	script_start(&s);
	snprintf(url, sizeof url, "https://127.0.0.1:%u", s.port);
	snprintf(text, sizeof text, "[feed]\nserver = %s\nca = %s\nbytes = 16\ndevice = %s\nmetrics_file = %s\n", url,
		 pki.ca_cert, dev, met);
	FILE *f = fopen(conf, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
	static struct run_result rr;
	const char *argv[] = {testlib_fount_bin(), "-c", conf, "feed", "--once", NULL};
	CU_ASSERT_FATAL(testlib_run(argv, NULL, NULL, &rr) == 0);
	script_stop(&s);
	if (rr.status != 0)
		fprintf(stderr, "\n  fount feed: %s%s\n", rr.out, rr.err);
	CU_ASSERT_EQUAL(rr.status, 0);
	CU_ASSERT(strstr(rr.out, "mixed 16 bytes from") != NULL);
	const char *m = testlib_slurp(met);
	CU_ASSERT(m != NULL && strstr(m, "fount_feed_fetches_total{result=\"ok\"} 1\n") != NULL &&
		  strstr(m, "fount_feed_bytes_mixed_total 16\n") != NULL &&
		  strstr(m, "# TYPE fount_feed_bytes_mixed_total counter\n") != NULL);
	/* refused: nothing listens; exit 1 with the reason on one line */
	const char *argv2[] = {testlib_fount_bin(), "-c", conf, "feed", "--server", "https://127.0.0.1:1", NULL};
	CU_ASSERT_FATAL(testlib_run(argv2, NULL, NULL, &rr) == 0);
	CU_ASSERT_EQUAL(rr.status, 1);
	CU_ASSERT(strstr(rr.err, "fount feed: cannot connect to 127.0.0.1 port 1") != NULL);
	/* usage errors exit 2 */
	const char *argv3[] = {testlib_fount_bin(), "-c", conf, "feed", "--once", "--daemon", NULL};
	CU_ASSERT_FATAL(testlib_run(argv3, NULL, NULL, &rr) == 0);
	CU_ASSERT_EQUAL(rr.status, 2);
	const char *argv4[] = {testlib_fount_bin(), "-c", conf, "feed", "--bytes", "5000", NULL};
	CU_ASSERT_FATAL(testlib_run(argv4, NULL, NULL, &rr) == 0);
	CU_ASSERT_EQUAL(rr.status, 2);
}

/* the kernel side itself: RNDADDENTROPY with a credit (as root: the kernel
 * takes it, and ignores the credit once its CRNG is ready), the plain
 * write, and the errors of a device that is none */
static bool have_cap_sys_admin(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return (eff >> 21) & 1u; /* CAP_SYS_ADMIN */
}

static void test_mix(void)
{
	uint8_t buf[32];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 37u + 11u);
	struct api_feed_result res;
	char why[512];
	if (!have_cap_sys_admin()) {
		fprintf(stderr, "\n  feed: no CAP_SYS_ADMIN here: the credited path (RNDADDENTROPY) is not run\n");
	} else {
		memset(&res, 0, sizeof res);
		EXPECT_OK(feed_mix("/dev/urandom", buf, sizeof buf, 256, true, &res, why, sizeof why));
		CU_ASSERT_EQUAL(res.bits_credited, 256);
		CU_ASSERT_EQUAL(res.bytes_mixed, sizeof buf);
		CU_ASSERT(res.reseeded); /* root may reseed a ready CRNG */
	}
	memset(&res, 0, sizeof res);
	EXPECT_OK(feed_mix("/dev/urandom", buf, sizeof buf, 0, false, &res, why, sizeof why));
	CU_ASSERT_EQUAL(res.bits_credited, 0);
	CU_ASSERT_EQUAL(res.bytes_mixed, sizeof buf);
	CU_ASSERT(!res.reseeded);
	/* crediting without the capability: a one-line reason naming the fix
	 * (a child that gave up root) */
	if (geteuid() == 0) {
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			struct api_feed_result r2 = {0};
			char w2[512] = "";
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(3);
			err_t e = feed_mix("/dev/urandom", buf, sizeof buf, 256, false, &r2, w2, sizeof w2);
			_exit(e == ERR_USAGE && strstr(w2, "needs CAP_SYS_ADMIN") != NULL && r2.bits_credited == 0 ? 0 : 1);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	/* crediting a regular file: no such ioctl, nothing mixed */
	char path[300];
	snprintf(path, sizeof path, "%s/not-a-device", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fclose(f);
	memset(&res, 0, sizeof res);
	EXPECT_ERR(feed_mix(path, buf, sizeof buf, 256, false, &res, why, sizeof why), ERR_IO);
	CU_ASSERT(strstr(why, "RNDADDENTROPY") != NULL);
	CU_ASSERT_EQUAL(res.bytes_mixed, 0);
	EXPECT_ERR(feed_mix("/nonexistent/dev", buf, sizeof buf, 0, false, &res, why, sizeof why), ERR_IO);
	CU_ASSERT(strstr(why, "cannot open /nonexistent/dev") != NULL);
}

TEST_SUITE(feed, suite_init, suite_clean, TEST(test_parse_length), TEST(test_parse_chunked),
	   TEST(test_parse_head), TEST(test_url), TEST(test_feed_scripted), TEST(test_feed_refusals),
	   TEST(test_feed_unreachable), TEST(test_feed_token), TEST(test_feed_cli), TEST(test_mix))
