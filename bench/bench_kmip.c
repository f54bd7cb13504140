/* bench/bench_kmip.c — the KMIP server under load from a C generator over
 * persistent mutual-TLS connections on loopback (1 and 16 clients, one
 * thread each, requests back to back): operations per second, p50 and p99
 * latency; then new TLS handshakes per second, full against resumed. In the
 * same run the same generator drives Debian's pykmip-server (the peer, with
 * its own SQLite database) with the operations both implement: Discover
 * Versions, Create AES-256 (durable on both) and Get of the keys it made.
 * Every response is decoded and its Result Status checked: a failed
 * operation counts as an error, not as throughput.
 *
 * fount's listener runs in this process (api_kmip_start) on its library
 * context; the clients are fount's test client (tests/lib/kmipc.c) on OpenSSL's
 * default context, as a separate client would be. Both share the machine's two cores, so the figures are what one
 * host does serving and loading itself at once. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "api/api.h"
#include "api/internal.h"
#include "api/tls.h"
#include "bench/bench.h"
#include "keygen/keygen.h"
#include "store/store.h"
#include "tests/lib/kmipc.h"
#include "tests/lib/port.h"

#define MAX_CLIENTS 16
#define MAX_SAMPLES 400000

struct target {
	uint16_t port;
	const char *ca, *cert, *key;
};

/* The identifiers Create returned, for the Get runs that follow. */
#define POOL_MAX 65536
struct idpool {
	pthread_mutex_t mu;
	char (*ids)[STORE_ID_MAX + 1];
	size_t n;
};

enum job_kind { JOB_FIXED, JOB_CREATE, JOB_GET };

struct job {
	const struct target *t;
	enum job_kind kind;
	const uint8_t *req; /* JOB_FIXED, JOB_CREATE */
	size_t req_len;
	struct idpool *pool;
	unsigned index, clients;
	int32_t minor;
	double seconds;
	/* out */
	uint64_t ops, errors;
	double *lat_us;
	size_t n_lat;
};

/* client makes fount's test client (tests/lib/kmipc.c) for |t|, TLS 1.2 and
 * 1.3 unless |max_tls| says otherwise; NULL (with a line on stderr) when it
 * cannot */
static struct kmipc *client(const struct target *t, int max_tls, bool resume)
{
	struct kmipc_options o = {.port = t->port, .ca_file = t->ca, .cert_file = t->cert, .key_file = t->key,
				  .max_tls = max_tls, .resume = resume};
	char why[256];
	struct kmipc *c = kmipc_new(&o, why, sizeof why);
	if (c == NULL)
		fprintf(stderr, "bench kmip: %s\n", why);
	return c;
}

/* response_ok decodes a response: one Batch Item with Result Status
 * Success; |id_out| (if not NULL) gets the payload's Unique Identifier. */
static bool response_ok(const uint8_t *buf, char *id_out)
{
	size_t len = 0;
	if (ttlv_frame_len(buf, SIZE_MAX, &len) != ERR_OK)
		return false;
	struct ttlv_doc d;
	if (ttlv_decode(&d, buf, len) != ERR_OK)
		return false;
	const struct ttlv_item *bi = ttlv_find(ttlv_root(&d), KMIP_TAG_BATCH_ITEM);
	const struct ttlv_item *st = ttlv_find(bi, KMIP_TAG_RESULT_STATUS);
	bool ok = st != NULL && st->type == TTLV_ENUM && st->u == KMIP_RESULT_STATUS_SUCCESS;
	if (ok && id_out != NULL) {
		const struct ttlv_item *u = ttlv_find(ttlv_find(bi, KMIP_TAG_RESPONSE_PAYLOAD), KMIP_TAG_UNIQUE_IDENTIFIER);
		ok = u != NULL && u->type == TTLV_TEXT && u->len > 0 && u->len <= STORE_ID_MAX;
		if (ok) {
			memcpy(id_out, u->val, u->len);
			id_out[u->len] = '\0';
		}
	}
	ttlv_doc_free(&d);
	return ok;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t request(uint8_t *out, size_t cap, uint32_t op, int32_t minor, int32_t data_length);
static size_t get_request(uint8_t *out, size_t cap, int32_t minor, const char *id);

static void *client_main(void *arg)
{
	struct job *j = arg;
	(void)pthread_setname_np(pthread_self(), "bench-client");
	char why[256];
	struct kmipc *c = client(j->t, 0, false);
	if (c == NULL || kmipc_connect(c, why, sizeof why) != ERR_OK) {
		j->errors++;
		kmipc_free(c);
		return NULL;
	}
	double end = now_s() + j->seconds;
	uint8_t getreq[256];
	size_t next = j->index;
	for (;;) {
		double t0 = now_s();
		if (t0 >= end)
			break;
		const uint8_t *req = j->req;
		size_t req_len = j->req_len;
		if (j->kind == JOB_GET) {
			/* the pool is filled before the Get runs start */
			if (j->pool->n == 0)
				break;
			req = getreq;
			req_len = get_request(getreq, sizeof getreq, j->minor, j->pool->ids[next % j->pool->n]);
			next += j->clients;
		}
		const uint8_t *resp;
		size_t resp_len;
		if (kmipc_roundtrip(c, req, req_len, &resp, &resp_len) != ERR_OK) {
			j->errors++;
			break;
		}
		char id[STORE_ID_MAX + 1];
		if (!response_ok(resp, j->kind == JOB_CREATE ? id : NULL)) {
			j->errors++;
			continue;
		}
		double dt = now_s() - t0;
		if (j->kind == JOB_CREATE) {
			pthread_mutex_lock(&j->pool->mu);
			if (j->pool->n < POOL_MAX)
				memcpy(j->pool->ids[j->pool->n++], id, sizeof id);
			pthread_mutex_unlock(&j->pool->mu);
		}
		j->ops++;
		if (j->n_lat < MAX_SAMPLES)
			j->lat_us[j->n_lat++] = dt * 1e6;
	}
	kmipc_free(c);
	return NULL;
}

/* cpu_s: this process's CPU time (server and generator together), which
 * other loads on the machine disturb less than the wall clock does */
static double cpu_s(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
	       (double)u.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct result {
	double ops_s, p50_us, p99_us, cpu_us;
	uint64_t errors;
};

static struct result load(const struct target *t, enum job_kind kind, const uint8_t *req, size_t len,
			  struct idpool *pool, int32_t minor, int clients, double seconds)
{
	struct job jobs[MAX_CLIENTS];
	pthread_t th[MAX_CLIENTS];
	struct result r = {0};
	double *all = malloc(sizeof(double) * MAX_SAMPLES * (size_t)clients);
	if (all == NULL)
		return r;
	double cpu0 = cpu_s();
	for (int i = 0; i < clients; i++) {
		jobs[i] = (struct job){.t = t, .kind = kind, .req = req, .req_len = len, .pool = pool,
				       .index = (unsigned)i, .clients = (unsigned)clients, .minor = minor,
				       .seconds = seconds, .lat_us = all + (size_t)i * MAX_SAMPLES};
		pthread_create(&th[i], NULL, client_main, &jobs[i]);
	}
	size_t n = 0;
	uint64_t ops = 0;
	for (int i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		ops += jobs[i].ops;
		r.errors += jobs[i].errors;
		memmove(all + n, jobs[i].lat_us, jobs[i].n_lat * sizeof(double));
		n += jobs[i].n_lat;
	}
	r.cpu_us = ops > 0 ? (cpu_s() - cpu0) * 1e6 / (double)ops : 0;
	qsort(all, n, sizeof(double), cmp_double);
	r.ops_s = (double)ops / seconds;
	r.p50_us = n > 0 ? all[n / 2] : 0;
	r.p99_us = n > 0 ? all[(n * 99) / 100] : 0;
	free(all);
	return r;
}

/* handshakes: new connections per second, each a full handshake or a
 * resumption of the first session, one request each */
static double handshakes(const struct target *t, int version, bool resume, double seconds, const uint8_t *req,
			 size_t len, double *cpu_us)
{
	char why[256];
	const uint8_t *resp;
	size_t resp_len;
	struct kmipc *c = client(t, version, resume);
	if (c == NULL || kmipc_connect(c, why, sizeof why) != ERR_OK) {
		kmipc_free(c);
		return 0;
	}
	/* TLS 1.3 sends its ticket after the handshake: one request first */
	if (kmipc_roundtrip(c, req, len, &resp, &resp_len) != ERR_OK)
		fprintf(stderr, "bench kmip: the first request failed\n");
	kmipc_close(c);
	uint64_t n = 0, reused = 0;
	double end = now_s() + seconds, cpu0 = cpu_s();
	while (now_s() < end) {
		if (kmipc_connect(c, why, sizeof why) != ERR_OK)
			break;
		if (kmipc_roundtrip(c, req, len, &resp, &resp_len) == ERR_OK)
			n++;
		reused += kmipc_resumed(c);
		kmipc_close(c);
	}
	*cpu_us = n > 0 ? (cpu_s() - cpu0) * 1e6 / (double)n : 0;
	kmipc_free(c);
	if (resume && reused < n)
		printf("  (only %llu of %llu connections resumed)\n", (unsigned long long)reused, (unsigned long long)n);
	return (double)n / seconds;
}

/* memory_handshakes: the same handshakes with no sockets and no threads,
 * the client and fount's server context (api/tls.c, on fount's library
 * context) over an in-memory BIO pair on one thread, with a few bytes
 * each way: what OpenSSL alone costs per connection, the ceiling of the
 * ratio the listener can show. Handshakes per second of both ends. */
static double memory_handshakes(const struct target *t, const struct tls_server_options *so, int version,
				bool resume, double seconds)
{
	char why[256];
	SSL_CTX *sctx = NULL, *cctx = SSL_CTX_new(TLS_client_method());
	SSL_SESSION *sess = NULL;
	uint64_t n = 0;
	if (cctx == NULL || tls_server_ctx(so, &sctx, why, sizeof why) != ERR_OK ||
	    SSL_CTX_set_max_proto_version(cctx, version) != 1 || SSL_CTX_load_verify_file(cctx, t->ca) != 1 ||
	    SSL_CTX_use_certificate_chain_file(cctx, t->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(cctx, t->key, SSL_FILETYPE_PEM) != 1)
		goto out;
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
	double end = now_s() + seconds;
	for (uint64_t i = 0; now_s() < end; i++) {
		SSL *sv = SSL_new(sctx), *cl = SSL_new(cctx);
		BIO *a = NULL, *b = NULL;
		bool ok = sv != NULL && cl != NULL && BIO_new_bio_pair(&a, 1 << 16, &b, 1 << 16) == 1;
		if (ok) {
			SSL_set_bio(sv, a, a);
			SSL_set_bio(cl, b, b);
			if (resume && sess != NULL)
				SSL_set_session(cl, sess);
		}
		bool cdone = false, sdone = false;
		for (int k = 0; ok && k < 16 && !(cdone && sdone); k++) {
			cdone = cdone || SSL_connect(cl) == 1;
			sdone = sdone || SSL_accept(sv) == 1;
		}
		uint8_t buf[64];
		size_t w = 0;
		ok = ok && cdone && sdone && SSL_write_ex(cl, "ping", 4, &w) == 1 &&
		     SSL_read_ex(sv, buf, sizeof buf, &w) == 1 && SSL_write_ex(sv, "pong", 4, &w) == 1 &&
		     SSL_read_ex(cl, buf, sizeof buf, &w) == 1; /* the client takes the ticket here */
		if (ok && i > 0 && (!resume || SSL_session_reused(cl) == 1))
			n++;
		if (ok && resume) { /* a TLS 1.3 ticket of fount's is used once */
			SSL_SESSION_free(sess);
			sess = SSL_get1_session(cl);
		}
		/* a session freed without close_notify leaves the cache
		 * (ssl_clear_bad_session) */
		if (ok) {
			(void)SSL_shutdown(cl);
			(void)SSL_shutdown(sv);
		}
		SSL_free(sv);
		SSL_free(cl);
		ERR_clear_error();
		if (!ok)
			break;
	}
out:
	SSL_SESSION_free(sess);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	return (double)n / seconds;
}

static void header(struct ttlv_enc *e, int32_t minor)
{
	ttlv_enc_begin(e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_enc_begin(e, KMIP_TAG_REQUEST_HEADER);
	ttlv_enc_begin(e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(e, KMIP_TAG_PROTOCOL_VERSION_MINOR, minor);
	ttlv_enc_end(e);
	ttlv_enc_int(e, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_enc_end(e);
}

static size_t finish(struct ttlv_enc *e, uint8_t *out, size_t cap)
{
	size_t n = 0;
	if (ttlv_enc_finish(e) == ERR_OK && e->len <= cap) {
		memcpy(out, e->buf, e->len);
		n = e->len;
	}
	ttlv_enc_free(e);
	return n;
}

static void attr_enum(struct ttlv_enc *e, const char *name, uint32_t v, bool is_enum)
{
	ttlv_enc_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(e, KMIP_TAG_ATTRIBUTE_NAME, name);
	if (is_enum)
		ttlv_enc_enum(e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	else
		ttlv_enc_int(e, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)v);
	ttlv_enc_end(e);
}

/* create_request: Create of an AES-256 key for Encrypt|Decrypt, the
 * attributes PyKMIP's client sends (KMIP 1.4 §4.1) */
static size_t create_request(uint8_t *out, size_t cap, int32_t minor)
{
	struct ttlv_enc e;
	ttlv_enc_init(&e, cap);
	header(&e, minor);
	ttlv_enc_begin(&e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(&e, KMIP_TAG_OPERATION, KMIP_OPERATION_CREATE);
	ttlv_enc_begin(&e, KMIP_TAG_REQUEST_PAYLOAD);
	ttlv_enc_enum(&e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_begin(&e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	attr_enum(&e, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, true);
	attr_enum(&e, "Cryptographic Length", 256, false);
	attr_enum(&e, "Cryptographic Usage Mask", 4 | 8, false); /* Encrypt | Decrypt */
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	return finish(&e, out, cap);
}

static size_t get_request(uint8_t *out, size_t cap, int32_t minor, const char *id)
{
	struct ttlv_enc e;
	ttlv_enc_init(&e, cap);
	header(&e, minor);
	ttlv_enc_begin(&e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(&e, KMIP_TAG_OPERATION, KMIP_OPERATION_GET);
	ttlv_enc_begin(&e, KMIP_TAG_REQUEST_PAYLOAD);
	ttlv_enc_cstr(&e, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	return finish(&e, out, cap);
}

static size_t request(uint8_t *out, size_t cap, uint32_t op, int32_t minor, int32_t data_length)
{
	struct ttlv_enc e;
	ttlv_enc_init(&e, cap);
	ttlv_enc_begin(&e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_enc_begin(&e, KMIP_TAG_REQUEST_HEADER);
	ttlv_enc_begin(&e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(&e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(&e, KMIP_TAG_PROTOCOL_VERSION_MINOR, minor);
	ttlv_enc_end(&e);
	ttlv_enc_int(&e, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_enc_end(&e);
	ttlv_enc_begin(&e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(&e, KMIP_TAG_OPERATION, op);
	ttlv_enc_begin(&e, KMIP_TAG_REQUEST_PAYLOAD);
	if (data_length > 0)
		ttlv_enc_int(&e, KMIP_TAG_DATA_LENGTH, data_length);
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	size_t n = 0;
	if (ttlv_enc_finish(&e) == ERR_OK && e.len <= cap) {
		memcpy(out, e.buf, e.len);
		n = e.len;
	}
	ttlv_enc_free(&e);
	return n;
}

/* port_open: something accepts TCP connections on loopback |port| */
static bool port_open(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* start_pykmip runs Debian's pykmip-server with fount's certificates on a
 * free port; returns its pid (and the port), or -1 when it is not there. */
static pid_t start_pykmip(const char *dir, const struct api_pki *pki, uint16_t *out_port)
{
	if (access("/usr/bin/pykmip-server", X_OK) != 0)
		return -1;
	uint16_t port = (uint16_t)testlib_free_port();
	char conf[512], db[512], log[512];
	snprintf(conf, sizeof conf, "%s/pykmip-server.conf", dir);
	snprintf(db, sizeof db, "%s/pykmip.db", dir);
	snprintf(log, sizeof log, "%s/pykmip-server.log", dir);
	FILE *f = fopen(conf, "w");
	if (f == NULL)
		return -1;
	fprintf(f,
		"[server]\nhostname=127.0.0.1\nport=%u\ncertificate_path=%s\nkey_path=%s\nca_path=%s\n"
		"auth_suite=TLS1.2\nenable_tls_client_auth=True\nlogging_level=ERROR\ndatabase_path=%s\n",
		port, pki->server_cert, pki->server_key, pki->ca_cert, db);
	fclose(f);
	pid_t pid = fork();
	if (pid == 0) {
		FILE *lf = freopen(log, "w", stderr);
		(void)lf;
		execl("/usr/bin/python3", "python3", "/usr/bin/pykmip-server", "-f", conf, "-l", log, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && pid > 0; i++) {
		if (port_open(port)) {
			*out_port = port;
			return pid;
		}
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

/* CPU per operation: this process's, i.e. fount's and the generator's
 * for fount; only the generator's for pykmip-server (not shown) */
static void print_row(const char *name, const char *server, int clients, struct result r)
{
	char cpu[32] = "-";
	if (strcmp(server, "fount") == 0)
		snprintf(cpu, sizeof cpu, "%.0f", r.cpu_us);
	printf("%-28s %-8s %7d %12.0f %10.3f %10.3f %8s%s\n", name, server, clients, r.ops_s, r.p50_us / 1000,
	       r.p99_us / 1000, cpu, r.errors ? "  (errors)" : "");
}

/* The cases both servers run: the same requests at KMIP 1.2 (PyKMIP's
 * default version). */
struct shared_case {
	const char *name;
	enum job_kind kind;
	const uint8_t *req;
	size_t len;
};

/* FOUNT_BENCH_KMIP_CASE=TEXT runs only the cases whose name has TEXT (and
 * the Create a Get needs), for a profiler's run: perf record, strace -c. */
static bool wanted(const char *name, enum job_kind kind)
{
	const char *only = getenv("FOUNT_BENCH_KMIP_CASE");
	return only == NULL || strstr(name, only) != NULL ||
	       (kind == JOB_CREATE && strstr("Get (of the created keys)", only) != NULL);
}

static void run_shared(const struct target *t, const char *server, const struct shared_case *cases, size_t n,
		       struct idpool *pool, double s, double out[][2])
{
	static const int clients[] = {1, 16};
	for (size_t i = 0; i < n; i++) {
		if (!wanted(cases[i].name, cases[i].kind))
			continue;
		for (size_t c = 0; c < 2; c++) {
			struct result r = load(t, cases[i].kind, cases[i].req, cases[i].len, pool, 2, clients[c], s);
			print_row(cases[i].name, server, clients[c], r);
			out[i][c] = r.errors ? 0 : r.ops_s;
		}
	}
}

void bench_kmip(double seconds)
{
	char dir[] = "/tmp/fount-bench-kmip-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return;
	signal(SIGPIPE, SIG_IGN);
	double s = seconds < 1.0 ? 1.0 : seconds; /* enough requests for a p99 */
	const char *names[] = {"localhost", "127.0.0.1"};
	struct api_pki pki;
	bool created;
	char why[512], cert[API_PKI_PATH + 64], key[API_PKI_PATH + 64];
	if (api_pki_init(dir, names, 2, &pki, &created, why, sizeof why) != ERR_OK ||
	    api_pki_issue(&pki, "bench", pki.clients, cert, key, sizeof cert, why, sizeof why) != ERR_OK) {
		printf("kmip: no PKI: %s\n", why);
		return;
	}
	/* the store `fount serve` opens, with its defaults, in the same
	 * folder (so on the same disk) */
	char db[600], kek[600];
	snprintf(db, sizeof db, "%s/fount.db", dir);
	snprintf(kek, sizeof kek, "file:%s/store.kek", dir);
	struct store_options so = {.path = db, .kek = kek};
	struct store *st = NULL;
	if (store_open(&so, &st, why, sizeof why) != ERR_OK) {
		printf("kmip: no store: %s\n", why);
		return;
	}
	api_set_store(st, false);
	struct api_kmip_options o = {.listen = "127.0.0.1:0", .cert_file = pki.server_cert,
				     .key_file = pki.server_key, .client_ca = pki.ca_cert};
	struct api_kmip *srv = NULL;
	if (api_kmip_start(&o, &srv, why, sizeof why) != ERR_OK) {
		printf("kmip: cannot start: %s\n", why);
		api_set_store(NULL, false);
		store_close(st);
		return;
	}
	struct target fount = {.port = api_kmip_port(srv), .ca = pki.ca_cert, .cert = cert, .key = key};
	uint8_t rng32[256], rng4k[256], dv[256], cr[512];
	size_t l32 = request(rng32, sizeof rng32, KMIP_OPERATION_RNG_RETRIEVE, 4, 32);
	size_t l4k = request(rng4k, sizeof rng4k, KMIP_OPERATION_RNG_RETRIEVE, 4, 4096);
	size_t ldv = request(dv, sizeof dv, KMIP_OPERATION_DISCOVER_VERSIONS, 2, 0);
	size_t lcr = create_request(cr, sizeof cr, 2);
	static char ids_fount[POOL_MAX][STORE_ID_MAX + 1], ids_peer[POOL_MAX][STORE_ID_MAX + 1];
	struct idpool pool_fount = {.ids = ids_fount}, pool_peer = {.ids = ids_peer};
	pthread_mutex_init(&pool_fount.mu, NULL);
	pthread_mutex_init(&pool_peer.mu, NULL);

	printf("KMIP over mutual TLS on loopback (%.1f s per case; generator and server on the same 2 cores)\n", s);
	printf("%-28s %-8s %7s %12s %10s %10s %8s\n", "operation", "server", "clients", "ops/s", "p50 ms", "p99 ms",
	       "CPU us");
	static const int clients[] = {1, 16};
	const struct {
		const char *name;
		const uint8_t *req;
		const size_t *len;
	} ops[] = {{"RNG Retrieve 32 B", rng32, &l32}, {"RNG Retrieve 4 KiB", rng4k, &l4k}};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		for (size_t c = 0; c < 2 && wanted(ops[i].name, JOB_FIXED); c++)
			print_row(ops[i].name, "fount",  clients[c],
				  load(&fount, JOB_FIXED, ops[i].req, *ops[i].len, NULL, 4, clients[c], s));
	const struct shared_case shared[] = {
		{"Discover Versions", JOB_FIXED, dv, ldv},
		{"Create AES-256 (durable)", JOB_CREATE, cr, lcr},
		{"Get (of the created keys)", JOB_GET, NULL, 0},
	};
	double r_fount[ARRAY_SIZE(shared)][2] = {{0}}, r_peer[ARRAY_SIZE(shared)][2] = {{0}};
	struct store_stats s0, s1;
	struct drbg_stats d0, d1;
	store_stats(st, &s0);
	drbg_stats(&d0);
	run_shared(&fount, "fount", shared, ARRAY_SIZE(shared), &pool_fount, s, r_fount);
	store_stats(st, &s1);
	drbg_stats(&d1);
	uint64_t prq = d1.pr_requests - d0.pr_requests, prs = d1.primary_reseeds - d0.primary_reseeds;
	printf("%-28s drbg: %llu prediction-resistance requests in %llu primary reseeds (%.1f per reseed)\n", "",
	       (unsigned long long)prq, (unsigned long long)prs, prs ? (double)prq / (double)prs : 0.0);
	uint64_t commits = s1.commits - s0.commits, reqs = s1.requests - s0.requests;
	printf("%-28s store: %llu writes in %llu commits (%.1f per commit; Get records each access)\n", "",
	       (unsigned long long)reqs, (unsigned long long)commits, commits ? (double)reqs / (double)commits : 0.0);
	/* the commits' own times: a Create's or Get's p99 follows the slow ones */
	printf("%-28s commits: mean %.0f us;", "", commits ? (double)(s1.commit_ns - s0.commit_ns) / (double)commits / 1e3 : 0.0);
	for (size_t k = 3; k <= STORE_LATENCY_BUCKETS; k++) {
		uint64_t slower = 0;
		for (size_t j = k; j <= STORE_LATENCY_BUCKETS; j++)
			slower += s1.commit_buckets[j] - s0.commit_buckets[j];
		if (slower > 0)
			printf(" %llu over %g ms;", (unsigned long long)slower, store_latency_bounds[k - 1] * 1e3);
	}
	printf(" %llu checkpoints beside the commits, %llu by the writer\n",
	       (unsigned long long)(s1.checkpoints_beside - s0.checkpoints_beside),
	       (unsigned long long)(s1.checkpoints_writer - s0.checkpoints_writer));
	uint16_t pport = 0;
	pid_t pyk = getenv("FOUNT_BENCH_KMIP_CASE") == NULL ? start_pykmip(dir, &pki, &pport) : -1;
	if (pyk > 0) {
		struct target peer = {.port = pport, .ca = pki.ca_cert, .cert = cert, .key = key};
		run_shared(&peer, "pykmip", shared, ARRAY_SIZE(shared), &pool_peer, s, r_peer);
		kill(pyk, SIGTERM);
		waitpid(pyk, NULL, 0);
		printf("\n%-28s %7s   fount/pykmip-server\n", "", "clients");
		for (size_t i = 0; i < ARRAY_SIZE(shared); i++)
			for (size_t c = 0; c < 2; c++)
				if (r_peer[i][c] > 0)
					printf("%-28s %7d   %.1fx\n", shared[i].name, clients[c], r_fount[i][c] / r_peer[i][c]);
				else
					printf("%-28s %7d   (pykmip-server failed every request)\n", shared[i].name,
					       clients[c]);
	} else {
		printf("(pykmip-server not run: /usr/bin/pykmip-server missing or did not start)\n");
	}
	printf("\nnew connections/s, one RNG Retrieve each (server key RSA-2048, client key RSA-2048; CPU: server and\n"
	       "client together, this process's user+system time):\n");
	static const struct {
		int v;
		const char *name;
	} vs[] = {{TLS1_3_VERSION, "TLS 1.3 (stateful ticket, ECDHE)"}, {TLS1_2_VERSION, "TLS 1.2 (session id)"}};
	for (size_t i = 0; i < ARRAY_SIZE(vs); i++) {
		double cpu_full = 0, cpu_res = 0;
		double full = wanted("new connections full", JOB_FIXED) ? handshakes(&fount, vs[i].v, false, s, rng32, l32, &cpu_full)
									: 0;
		double resumed = wanted("new connections resumed", JOB_FIXED)
					 ? handshakes(&fount, vs[i].v, true, s, rng32, l32, &cpu_res)
					 : 0;
		printf("  %-32s full %6.0f/s   resumed %6.0f/s   (%.1fx)   CPU per connection: %5.0f us vs %5.0f us "
		       "(%.1fx)\n",
		       vs[i].name, full, resumed, full > 0 ? resumed / full : 0, cpu_full, cpu_res, cpu_res > 0 ? cpu_full / cpu_res : 0);
	}
	printf("OpenSSL alone, the same contexts over an in-memory BIO pair on one thread (no sockets, no threads:\n"
	       "the ceiling of the ratios above):\n");
	const struct tls_server_options tso = {.cert_file = pki.server_cert, .key_file = pki.server_key,
					      .client_ca = pki.ca_cert};
	for (size_t i = 0; i < ARRAY_SIZE(vs) && wanted("new connections", JOB_FIXED); i++) {
		double full = memory_handshakes(&fount, &tso, vs[i].v, false, s / 2);
		double resumed = memory_handshakes(&fount, &tso, vs[i].v, true, s / 2);
		printf("  %-32s full %6.0f/s   resumed %6.0f/s   (%.1fx)\n", vs[i].name, full, resumed,
		       full > 0 ? resumed / full : 0);
	}
	printf("\n");
	api_kmip_stop(srv);
	api_set_store(NULL, false);
	store_close(st);
	pthread_mutex_destroy(&pool_fount.mu);
	pthread_mutex_destroy(&pool_peer.mu);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("(could not remove %s)\n", dir);
}
