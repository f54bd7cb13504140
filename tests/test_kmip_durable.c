/* tests/test_kmip_durable.c — Create is durable through the whole server:
 * clients create AES-256 keys over real mutual TLS against `fount serve`
 * (its own state folder, its own PKI and store), the server is killed with
 * SIGKILL at random moments, restarted, and then:
 *   - every identifier a Create answered with Success can be got, and its
 *     key is the one the first Get of it returned (nothing is acknowledged
 *     before its commit: store/sqlite.c's group commit, KMIP 1.4 §4.1);
 *   - a Create that was in flight when the server died (no response read)
 *     is either whole (found by its unique Name, one object, a 256-bit AES
 *     key with its Name) or absent — never a half-written object.
 * Several rounds, bounded to about 20 s in all. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "api/api.h"
#include "api/internal.h"
#include "store/store.h"
#include "tests/helpers.h"
#include "tests/lib/kmipc.h"

#define CLIENTS 4
#define MAX_KEYS 40000
#define BUDGET_NS (20ull * 1000000000ull)
#define MAX_ROUNDS 8
#define MAX_MESSAGE (1u << 16) /* the largest request or response but the RNG Retrieve answers */

static char dir[64];
static unsigned port;
static int serve_pid = -1;
static unsigned spawns;
static char ca[128], cert[128], key[128];

/* what the clients learnt: an acknowledged key, or an in-flight Create */
struct known {
	char id[STORE_ID_MAX + 1];
	char name[32];
	uint8_t key[32];
	bool have_key;
};

static struct known acked[MAX_KEYS];
static size_t n_acked;
enum seen { UNSEEN, ABSENT, WHOLE };
struct pending {
	char name[32];
	enum seen seen;
	char id[STORE_ID_MAX + 1];
	uint8_t key[32];
};
static struct pending inflight[CLIENTS * MAX_ROUNDS];
static size_t n_inflight;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* the suite's clients (tests/lib/kmipc.h): the certificate fount issues on
 * first start; a dead server must not hang the test */
static struct kmipc_options client_opts;

/* spawn starts `fount serve` on the suite's state folder and port */
static bool spawn(void)
{
	static char env_state[128], env_listen[64];
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s/state", dir);
	snprintf(env_listen, sizeof env_listen, "FOUNT_KMIP_LISTEN=127.0.0.1:%u", port);
	const char *env[] = {env_state, env_listen, testlib_fips_dir_env(), NULL};
	const char *argv[] = {testlib_fount_bin(), "serve", NULL};
	char name[32];
	snprintf(name, sizeof name, "serve-%u.log", spawns++);
	const char *log = testlib_file(dir, name);
	serve_pid = testlib_spawn(log, argv, env);
	if (serve_pid < 0 || !testlib_wait_for_log(log, "KMIP listening on")) {
		fprintf(stderr, "kmip_durable: fount serve did not start: %s\n", testlib_slurp(log));
		return false;
	}
	return true;
}

static int suite_init(void)
{
	if (testlib_tmpdir_create(dir, "kmipdur") != 0)
		return -1;
	port = testlib_free_port();
	snprintf(ca, sizeof ca, "%s/state/pki/ca.pem", dir);
	snprintf(cert, sizeof cert, "%s/state/pki/clients/default.pem", dir);
	snprintf(key, sizeof key, "%s/state/pki/clients/default.key", dir);
	signal(SIGPIPE, SIG_IGN);
	client_opts = (struct kmipc_options){.port = port, .ca_file = ca, .cert_file = cert, .key_file = key,
					     .timeout_ms = 5000, .max_response = MAX_MESSAGE};
	return spawn() ? 0 : -1; /* the PKI exists once the server has started */
}

static int suite_clean(void)
{
	if (serve_pid > 0) {
		kill(serve_pid, SIGTERM);
		waitpid(serve_pid, NULL, 0);
		serve_pid = -1;
	}
	testlib_tmpdir_remove(dir);
	return 0;
}

/* ---- KMIP over kmipc: one connection per client, one request at a time ---- */

/* client_new makes a client with |o| and connects it (a full handshake, or
 * resuming with o->resume and a kept session); NULL, saying why, when it
 * cannot */
static struct kmipc *client_new(const struct kmipc_options *o)
{
	char why[512] = "";
	struct kmipc *c = kmipc_new(o, why, sizeof why);
	if (c != NULL && kmipc_connect(c, why, sizeof why) == ERR_OK)
		return c;
	fprintf(stderr, "\n  kmip_durable: %s\n", why);
	kmipc_free(c);
	return NULL;
}

static struct kmipc *client_open(void)
{
	return client_new(&client_opts);
}

/* client_close ends the connection with a close_notify (a session closed
 * without one is not resumable: OpenSSL's ssl_clear_bad_session) and frees
 * the client */
static void client_close(struct kmipc *c)
{
	if (c == NULL)
		return;
	kmipc_close(c);
	kmipc_free(c);
}

/* call sends the request in |e| (freed) and decodes the response into |d|
 * (which points into the client's buffer until its next call); false when
 * the connection failed before a whole response arrived */
static bool call(struct kmipc *c, struct ttlv_enc *e, struct ttlv_doc *d)
{
	const uint8_t *resp = NULL;
	size_t len = 0;
	bool ok = ttlv_enc_finish(e) == ERR_OK && kmipc_roundtrip(c, e->buf, e->len, &resp, &len) == ERR_OK;
	ttlv_enc_free(e);
	return ok && ttlv_decode(d, resp, len) == ERR_OK;
}

static void begin(struct ttlv_enc *e, uint32_t op)
{
	ttlv_enc_init(e, MAX_MESSAGE);
	ttlv_enc_begin(e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_enc_begin(e, KMIP_TAG_REQUEST_HEADER);
	ttlv_enc_begin(e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(e, KMIP_TAG_PROTOCOL_VERSION_MINOR, 4);
	ttlv_enc_end(e);
	ttlv_enc_int(e, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_enc_end(e);
	ttlv_enc_begin(e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(e, KMIP_TAG_OPERATION, op);
	ttlv_enc_begin(e, KMIP_TAG_REQUEST_PAYLOAD);
}

static void end(struct ttlv_enc *e)
{
	ttlv_enc_end(e); /* payload */
	ttlv_enc_end(e); /* batch item */
	ttlv_enc_end(e); /* message */
}

/* payload returns the response payload of a successful single-item
 * response, or NULL */
static const struct ttlv_item *payload(const struct ttlv_doc *d)
{
	const struct ttlv_item *bi = ttlv_find(ttlv_root(d), KMIP_TAG_BATCH_ITEM);
	const struct ttlv_item *st = ttlv_find(bi, KMIP_TAG_RESULT_STATUS);
	if (st == NULL || st->type != TTLV_ENUM || st->u != KMIP_RESULT_STATUS_SUCCESS)
		return NULL;
	return ttlv_find(bi, KMIP_TAG_RESPONSE_PAYLOAD);
}

static bool text_of(const struct ttlv_item *it, char *out, size_t cap)
{
	if (it == NULL || it->type != TTLV_TEXT || it->len == 0 || it->len >= cap)
		return false;
	memcpy(out, it->val, it->len);
	out[it->len] = '\0';
	return true;
}

enum outcome { OK, REFUSED, BROKEN };

/* create: Create AES-256 with the Name |name| (KMIP 1.4 §4.1, §3.2) */
static enum outcome create(struct kmipc *c, const char *name, char id[STORE_ID_MAX + 1])
{
	struct ttlv_enc e;
	begin(&e, KMIP_OPERATION_CREATE);
	ttlv_enc_enum(&e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_begin(&e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	ttlv_enc_begin(&e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&e, KMIP_TAG_ATTRIBUTE_NAME, "Cryptographic Algorithm");
	ttlv_enc_enum(&e, KMIP_TAG_ATTRIBUTE_VALUE, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	ttlv_enc_end(&e);
	ttlv_enc_begin(&e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&e, KMIP_TAG_ATTRIBUTE_NAME, "Cryptographic Length");
	ttlv_enc_int(&e, KMIP_TAG_ATTRIBUTE_VALUE, 256);
	ttlv_enc_end(&e);
	ttlv_enc_begin(&e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&e, KMIP_TAG_ATTRIBUTE_NAME, "Name");
	ttlv_enc_begin(&e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_cstr(&e, KMIP_TAG_NAME_VALUE, name);
	ttlv_enc_enum(&e, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	end(&e);
	struct ttlv_doc d;
	if (!call(c, &e, &d))
		return BROKEN;
	const struct ttlv_item *p = payload(&d);
	enum outcome o = p != NULL && text_of(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER), id, STORE_ID_MAX + 1)
				 ? OK
				 : REFUSED;
	ttlv_doc_free(&d);
	return o;
}

/* get: the key material of |id| (a Raw 32-byte AES key, KMIP 1.4 §4.11) */
static enum outcome get(struct kmipc *c, const char *id, uint8_t out[32])
{
	struct ttlv_enc e;
	begin(&e, KMIP_OPERATION_GET);
	ttlv_enc_cstr(&e, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	end(&e);
	struct ttlv_doc d;
	if (!call(c, &e, &d))
		return BROKEN;
	const struct ttlv_item *kb = ttlv_find(ttlv_find(payload(&d), KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK);
	const struct ttlv_item *alg = ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM);
	const struct ttlv_item *km = ttlv_find(ttlv_find(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL);
	enum outcome o = REFUSED;
	if (km != NULL && km->type == TTLV_BYTES && km->len == 32 && alg != NULL &&
	    alg->u == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES) {
		memcpy(out, km->val, 32);
		o = OK;
	}
	ttlv_doc_free(&d);
	return o;
}

/* locate_name: how many objects have the Name |name| (up to 4), the first
 * one's identifier in |id| (KMIP 1.4 §4.9) */
static int locate_name(struct kmipc *c, const char *name, char id[STORE_ID_MAX + 1])
{
	struct ttlv_enc e;
	begin(&e, KMIP_OPERATION_LOCATE);
	ttlv_enc_begin(&e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&e, KMIP_TAG_ATTRIBUTE_NAME, "Name");
	ttlv_enc_begin(&e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_cstr(&e, KMIP_TAG_NAME_VALUE, name);
	ttlv_enc_enum(&e, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
	ttlv_enc_end(&e);
	ttlv_enc_end(&e);
	end(&e);
	struct ttlv_doc d;
	if (!call(c, &e, &d))
		return -1;
	const struct ttlv_item *p = payload(&d);
	int n = p == NULL ? -1 : (int)ttlv_count(p, KMIP_TAG_UNIQUE_IDENTIFIER);
	if (n > 0 && !text_of(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER), id, STORE_ID_MAX + 1))
		n = -1;
	ttlv_doc_free(&d);
	return n;
}

/* ---- the rounds ------------------------------------------------------------------- */

struct worker {
	unsigned round, index;
	unsigned created, refused;
};

/* worker_main creates keys until the connection breaks: each acknowledged
 * one is remembered (then its key, from a Get); the Create whose answer
 * never came is remembered as in flight. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct kmipc *c = client_open();
	if (c == NULL)
		return NULL;
	for (unsigned i = 0;; i++) {
		char name[32], id[STORE_ID_MAX + 1];
		snprintf(name, sizeof name, "dur-%u-%u-%u", w->round, w->index, i);
		enum outcome o = create(c, name, id);
		if (o == BROKEN) {
			pthread_mutex_lock(&mu);
			if (n_inflight < ARRAY_SIZE(inflight))
				snprintf(inflight[n_inflight++].name, sizeof inflight[0].name, "%s", name);
			pthread_mutex_unlock(&mu);
			break;
		}
		if (o != OK) {
			w->refused++; /* a healthy server refuses no Create of these */
			break;
		}
		pthread_mutex_lock(&mu);
		struct known *k = n_acked < MAX_KEYS ? &acked[n_acked++] : NULL;
		if (k != NULL) {
			snprintf(k->id, sizeof k->id, "%s", id);
			snprintf(k->name, sizeof k->name, "%s", name);
		}
		pthread_mutex_unlock(&mu);
		w->created++;
		uint8_t kv[32];
		o = k != NULL ? get(c, id, kv) : BROKEN;
		if (o != OK) {
			w->refused += o == REFUSED; /* an acknowledged key is there at once */
			break;
		}
		pthread_mutex_lock(&mu);
		memcpy(k->key, kv, 32);
		k->have_key = true;
		pthread_mutex_unlock(&mu);
	}
	client_close(c);
	return NULL;
}

/* check_acked runs against a freshly restarted server, on CLIENTS
 * connections at once: every acknowledged key in [from, to) is there with
 * the key first returned (or, if no Get answered before the kill, a 32-byte
 * AES key, which becomes the one to compare next time). */
struct checker {
	size_t from, to, step;
	unsigned failures;
};

static void *checker_main(void *arg)
{
	struct checker *k = arg;
	struct kmipc *c = client_open();
	if (c == NULL) {
		fprintf(stderr, "kmip_durable: cannot connect after restart\n");
		k->failures++;
		return NULL;
	}
	for (size_t i = k->from; i < k->to; i += k->step) {
		uint8_t kv[32];
		if (get(c, acked[i].id, kv) != OK) {
			fprintf(stderr, "kmip_durable: acknowledged %s (%s) is gone\n", acked[i].id, acked[i].name);
			k->failures++;
			continue;
		}
		if (acked[i].have_key && memcmp(kv, acked[i].key, 32) != 0) {
			fprintf(stderr, "kmip_durable: %s came back with another key\n", acked[i].id);
			k->failures++;
		}
		memcpy(acked[i].key, kv, 32);
		acked[i].have_key = true;
	}
	client_close(c);
	return NULL;
}

static unsigned check_acked(size_t from, size_t to)
{
	struct checker k[CLIENTS];
	pthread_t th[CLIENTS];
	unsigned failures = 0;
	for (unsigned i = 0; i < CLIENTS; i++) {
		k[i] = (struct checker){.from = from + i, .to = to, .step = CLIENTS};
		if (pthread_create(&th[i], NULL, checker_main, &k[i]) != 0)
			return 1;
	}
	for (unsigned i = 0; i < CLIENTS; i++) {
		pthread_join(th[i], NULL);
		failures += k[i].failures;
	}
	return failures;
}

/* check_inflight: each Create that was in flight at a kill is whole (one
 * object of that Name, whose key can be got) or absent, and stays what it
 * was first seen to be, with the same key, after every later restart. */
static unsigned check_inflight(void)
{
	struct kmipc *c = client_open();
	unsigned failures = 0;
	if (c == NULL)
		return 1;
	for (size_t i = 0; i < n_inflight; i++) {
		struct pending *f = &inflight[i];
		char id[STORE_ID_MAX + 1];
		uint8_t kv[32];
		int n = locate_name(c, f->name, id);
		enum seen now = n == 0 ? ABSENT : WHOLE;
		if (n < 0 || n > 1) {
			fprintf(stderr, "kmip_durable: in-flight %s: Locate found %d\n", f->name, n);
			failures++;
			continue;
		}
		if (n == 1 && get(c, id, kv) != OK) {
			/* the object is there: its key must be too */
			fprintf(stderr, "kmip_durable: in-flight %s is %s but has no key\n", f->name, id);
			failures++;
			continue;
		}
		if (f->seen == UNSEEN) {
			f->seen = now;
			if (now == WHOLE) {
				snprintf(f->id, sizeof f->id, "%s", id);
				memcpy(f->key, kv, 32);
			}
		} else if (f->seen != now || (now == WHOLE && (strcmp(f->id, id) != 0 || memcmp(f->key, kv, 32) != 0))) {
			fprintf(stderr, "kmip_durable: in-flight %s changed after a restart\n", f->name);
			failures++;
		}
	}
	client_close(c);
	return failures;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void test_kill9_rounds(void)
{
	uint64_t t0 = mono_ns();
	unsigned rounds = 0, kills_mid = 0, whole = 0, failures = 0, refused = 0;
	srand((unsigned)t0);
	while (rounds < MAX_ROUNDS && mono_ns() - t0 < BUDGET_NS - 6000000000ull) {
		size_t before = n_acked;
		struct worker w[CLIENTS];
		pthread_t th[CLIENTS];
		for (unsigned i = 0; i < CLIENTS; i++) {
			w[i] = (struct worker){.round = rounds, .index = i};
			CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
		}
		/* 150 to 900 ms of creating, then SIGKILL wherever it is */
		struct timespec ts = {0, (long)(150 + rand() % 750) * 1000000L};
		nanosleep(&ts, NULL);
		CU_ASSERT_EQUAL(kill(serve_pid, SIGKILL), 0);
		int status = 0;
		CU_ASSERT_EQUAL(waitpid(serve_pid, &status, 0), serve_pid);
		CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		serve_pid = -1;
		unsigned made = 0;
		for (unsigned i = 0; i < CLIENTS; i++) {
			pthread_join(th[i], NULL);
			made += w[i].created;
			refused += w[i].refused;
		}
		kills_mid += made > 0;
		rounds++;
		CU_ASSERT_FATAL(spawn());
		/* this round's keys now (the last ones before the kill are the
		 * ones at risk), every key once more at the end */
		failures += check_acked(before, n_acked);
		failures += check_inflight();
	}
	failures += check_acked(0, n_acked);
	for (size_t i = 0; i < n_inflight; i++)
		whole += inflight[i].seen == WHOLE;
	fprintf(stderr, "\n  kmip_durable: %u rounds, %zu acknowledged Creates, %zu in flight at a kill (%u of them "
			"whole), %.1f s\n",
		rounds, n_acked, n_inflight, whole, (double)(mono_ns() - t0) / 1e9);
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(refused, 0);
	CU_ASSERT(rounds >= 3);
	/* the clients really were creating when the server died */
	CU_ASSERT(kills_mid >= rounds - 1);
	CU_ASSERT(n_acked >= 10u * rounds);
	CU_ASSERT(n_inflight >= 1);
}

/* a refused Create (wrong length) is refused after a restart too, and
 * creates nothing: the check that the client above tells success from a
 * failure */
static void test_refusal_seen(void)
{
	struct kmipc *c = client_open();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	char id[STORE_ID_MAX + 1];
	uint8_t kv[32];
	CU_ASSERT_EQUAL(get(c, "no-such-object", kv), REFUSED);
	CU_ASSERT_EQUAL(locate_name(c, "dur-never-created", id), 0);
	CU_ASSERT_EQUAL(create(c, "dur-once", id), OK);
	char again[STORE_ID_MAX + 1];
	CU_ASSERT_EQUAL(locate_name(c, "dur-once", again), 1);
	CU_ASSERT_STRING_EQUAL(again, id);
	client_close(c);
}

/* A 1 MiB RNG Retrieve (KMIP 1.4 §4.35, the largest fount answers) comes
 * back whole to a client that reads slowly: the listener's sockets are
 * non-blocking, so the response is written in pieces as the socket drains
 * (poll for POLLOUT under the message deadline), and a second connection
 * is served meanwhile. */
static void test_large_response_to_slow_reader(void)
{
	enum { N = 8 }; /* 8 MiB of answers: more than loopback's socket buffers */
	struct kmipc *c = client_open();
	CU_ASSERT_FATAL(c != NULL);
	for (int i = 0; i < N; i++) { /* pipelined: the server answers them in turn */
		struct ttlv_enc e;
		begin(&e, KMIP_OPERATION_RNG_RETRIEVE);
		ttlv_enc_int(&e, KMIP_TAG_DATA_LENGTH, 1 << 20);
		end(&e);
		CU_ASSERT_FATAL(ttlv_enc_finish(&e) == ERR_OK);
		CU_ASSERT_FATAL(kmipc_send(c, e.buf, e.len) == ERR_OK);
		ttlv_enc_free(&e);
	}
	/* while the server waits for this client to drain, another is served */
	struct timespec ts = {0, 200 * 1000000L};
	nanosleep(&ts, NULL);
	char id[STORE_ID_MAX + 1];
	struct kmipc *other = client_open();
	CU_ASSERT_FATAL(other != NULL);
	CU_ASSERT_EQUAL(create(other, "dur-meanwhile", id), OK);
	client_close(other);
	size_t cap = (2u << 20);
	uint8_t *buf = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	int whole = 0;
	/* the bytes as they come, in pieces (kmipc_recv would take each whole) */
	for (int i = 0; i < N; i++) {
		size_t len = 0, got = TTLV_HEADER_LEN;
		if (kmipc_read(c, buf, TTLV_HEADER_LEN) != ERR_OK || ttlv_frame_len(buf, cap, &len) != ERR_OK)
			break;
		while (got < len) {
			size_t chunk = len - got < 65536 ? len - got : 65536;
			if (kmipc_read(c, buf + got, chunk) != ERR_OK)
				break;
			got += chunk;
			struct timespec pause = {0, 1000000L}; /* a slow reader */
			nanosleep(&pause, NULL);
		}
		struct ttlv_doc d;
		if (got != len || ttlv_decode(&d, buf, len) != ERR_OK)
			break;
		const struct ttlv_item *data = ttlv_find(payload(&d), KMIP_TAG_DATA);
		whole += data != NULL && data->type == TTLV_BYTES && data->len == (1u << 20);
		ttlv_doc_free(&d);
	}
	CU_ASSERT_EQUAL(whole, N);
	free(buf);
	client_close(c);
}

/* A resumed session keeps the tenant the full handshake mapped: with an
 * issuer-cn binding (api/auth.c) the tenant comes from the CA's
 * fingerprint, and a resumed handshake sends no chain, so the server keeps
 * the verified identity in the session (api/kmip_server.c). Without it the
 * resumed client would be tenant "default" (its CN) and its own key "not
 * found". Runs last: it binds the suite's client to another tenant. */
static void test_resumed_keeps_tenant(void)
{
	FILE *f = fopen(ca, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	X509 *cax = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cax);
	uint8_t fp[32];
	unsigned fl = 0;
	CU_ASSERT_FATAL(X509_digest(cax, EVP_sha256(), fp, &fl) == 1 && fl == 32);
	X509_free(cax);
	char line[256], path[128];
	CU_ASSERT_EQUAL_FATAL(api_tenant_binding_line("issuer-cn", fp, "default", "bound", line, sizeof line), ERR_OK);
	snprintf(path, sizeof path, "%s/state/tenants", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(line, f);
	fclose(f);

	char id[STORE_ID_MAX + 1];
	uint8_t k1[32], k2[32];
	/* TLS 1.3 (a stateful ticket) and TLS 1.2 (the session id) */
	static const int versions[] = {0, TLS1_2_VERSION};
	for (size_t v = 0; v < ARRAY_SIZE(versions); v++) {
		/* one client throughout: kmipc keeps the last connection's session
		 * and offers it on the next connect */
		struct kmipc_options o = client_opts;
		o.max_tls = versions[v];
		o.resume = true;
		/* full handshake (no session kept yet): tenant "bound" creates a key */
		struct kmipc *c = client_new(&o);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		char name[32];
		snprintf(name, sizeof name, "dur-bound-%zu", v);
		CU_ASSERT_EQUAL_FATAL(create(c, name, id), OK);
		CU_ASSERT_EQUAL_FATAL(get(c, id, k1), OK); /* also reads TLS 1.3's ticket */
		kmipc_close(c);
		CU_ASSERT_FATAL(kmipc_can_resume(c));
		for (int round = 0; round < 2; round++) {
			char why[512] = "";
			CU_ASSERT_EQUAL_FATAL(kmipc_connect(c, why, sizeof why), ERR_OK);
			CU_ASSERT(kmipc_resumed(c));
			CU_ASSERT_EQUAL(kmipc_tls_version(c), versions[v] != 0 ? versions[v] : TLS1_3_VERSION);
			CU_ASSERT_EQUAL(get(c, id, k2), OK);
			CU_ASSERT_EQUAL(memcmp(k1, k2, 32), 0);
			/* keeps this connection's session: stateful TLS 1.3 tickets
			 * are used once */
			kmipc_close(c);
		}
		kmipc_free(c);
	}
	/* the control: the same client as tenant "default" does not see it */
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("# no bindings\n", f);
	fclose(f);
	struct kmipc *c = client_open();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(get(c, id, k2), REFUSED);
	client_close(c);
}

TEST_SUITE(kmip_durable, suite_init, suite_clean, TEST(test_refusal_seen), TEST(test_large_response_to_slow_reader),
	   TEST(test_kill9_rounds), TEST(test_resumed_keeps_tenant))
