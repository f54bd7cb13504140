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
#include "tests/lib/kmipload.h"

#define CLIENTS 4
#define MAX_KEYS 40000
#define BUDGET_NS (20ull * 1000000000ull)
#define MAX_ROUNDS 8

static char dir[64];
static unsigned port;
static int serve_pid = -1;
static unsigned spawns;
static char ca[128], cert[128], key[128];
/* what the clients learnt (tests/lib/kmipload.h) */
static struct kl_ledger ledger;
/* the suite's clients: the certificate fount issues on first start; a dead
 * server must not hang the test */
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
	if (testlib_tmpdir_create(dir, "kmipdur") != 0 || kl_ledger_init(&ledger, MAX_KEYS, CLIENTS * MAX_ROUNDS) != 0)
		return -1;
	port = testlib_free_port();
	snprintf(ca, sizeof ca, "%s/state/pki/ca.pem", dir);
	snprintf(cert, sizeof cert, "%s/state/pki/clients/default.pem", dir);
	snprintf(key, sizeof key, "%s/state/pki/clients/default.key", dir);
	signal(SIGPIPE, SIG_IGN);
	client_opts = (struct kmipc_options){.port = port, .ca_file = ca, .cert_file = cert, .key_file = key,
					     .timeout_ms = 5000, .max_response = KL_MESSAGE};
	return spawn() ? 0 : -1; /* the PKI exists once the server has started */
}

static int suite_clean(void)
{
	if (serve_pid > 0) {
		kill(serve_pid, SIGTERM);
		waitpid(serve_pid, NULL, 0);
		serve_pid = -1;
	}
	kl_ledger_free(&ledger);
	testlib_tmpdir_remove(dir);
	return 0;
}

static struct kmipc *client_open(void)
{
	return kl_connect(&client_opts);
}

/* ---- the rounds ------------------------------------------------------------------- */

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
		size_t before = kl_ledger_acked(&ledger);
		char tag[16];
		snprintf(tag, sizeof tag, "dur-%u", rounds);
		struct kl_worker w[CLIENTS];
		pthread_t th[CLIENTS];
		for (unsigned i = 0; i < CLIENTS; i++) {
			w[i] = (struct kl_worker){.ledger = &ledger, .create_on = &client_opts, .tag = tag, .index = i};
			CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, kl_worker_main, &w[i]), 0);
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
		failures += kl_check_acked(&ledger, before, ledger.n_acked, &client_opts, CLIENTS, "kmip_durable");
		failures += kl_check_inflight(&ledger, &client_opts, "kmip_durable");
	}
	failures += kl_check_acked(&ledger, 0, ledger.n_acked, &client_opts, CLIENTS, "kmip_durable");
	for (size_t i = 0; i < ledger.n_inflight; i++)
		whole += ledger.inflight[i].seen == KL_WHOLE;
	fprintf(stderr, "\n  kmip_durable: %u rounds, %zu acknowledged Creates, %zu in flight at a kill (%u of them "
			"whole), %.1f s\n",
		rounds, ledger.n_acked, ledger.n_inflight, whole, (double)(mono_ns() - t0) / 1e9);
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(refused, 0);
	CU_ASSERT(rounds >= 3);
	/* the clients really were creating when the server died */
	CU_ASSERT(kills_mid >= rounds - 1);
	CU_ASSERT(ledger.n_acked >= 10u * rounds);
	CU_ASSERT(ledger.n_inflight >= 1);
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
	struct kl_why why = {0};
	CU_ASSERT_EQUAL(kl_get(c, "no-such-object", kv, &why), KL_REFUSED);
	CU_ASSERT_EQUAL(why.reason, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
	CU_ASSERT(why.message[0] != '\0');
	CU_ASSERT_EQUAL(kl_locate_name(c, "dur-never-created", id), 0);
	CU_ASSERT_EQUAL(kl_create(c, "dur-once", id, NULL), KL_OK);
	char again[STORE_ID_MAX + 1];
	CU_ASSERT_EQUAL(kl_locate_name(c, "dur-once", again), 1);
	CU_ASSERT_STRING_EQUAL(again, id);
	kl_close(c);
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
		CU_ASSERT_FATAL(kl_rng_request(&e, 1u << 20) == ERR_OK);
		CU_ASSERT_FATAL(kmipc_send(c, e.buf, e.len) == ERR_OK);
		ttlv_enc_free(&e);
	}
	/* while the server waits for this client to drain, another is served */
	struct timespec ts = {0, 200 * 1000000L};
	nanosleep(&ts, NULL);
	char id[STORE_ID_MAX + 1];
	struct kmipc *other = client_open();
	CU_ASSERT_FATAL(other != NULL);
	CU_ASSERT_EQUAL(kl_create(other, "dur-meanwhile", id, NULL), KL_OK);
	kl_close(other);
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
		const struct ttlv_item *data = ttlv_find(kl_payload(&d, NULL), KMIP_TAG_DATA);
		whole += data != NULL && data->type == TTLV_BYTES && data->len == (1u << 20);
		ttlv_doc_free(&d);
	}
	CU_ASSERT_EQUAL(whole, N);
	free(buf);
	kl_close(c);
}

/* A resumed session keeps the tenant the full handshake mapped: with an
 * issuer-cn binding (api/auth.c) the tenant comes from the CA's
 * fingerprint, and a resumed handshake sends no chain, so the server keeps
 * the verified identity in the session (api/kmip_server.c). Without it the
 * resumed client would be tenant "default" (its CN) and its own key "not
 * found". Runs last: it binds the suite's client to another tenant. */
static void test_resumed_keeps_tenant(void)
{
	uint8_t fp[32];
	CU_ASSERT_FATAL(testlib_cert_sha256(ca, fp));
	char line[256], path[128];
	FILE *f;
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
		struct kmipc *c = kl_connect(&o);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		char name[32];
		snprintf(name, sizeof name, "dur-bound-%zu", v);
		CU_ASSERT_EQUAL_FATAL(kl_create(c, name, id, NULL), KL_OK);
		CU_ASSERT_EQUAL_FATAL(kl_get(c, id, k1, NULL), KL_OK); /* also reads TLS 1.3's ticket */
		kmipc_close(c);
		CU_ASSERT_FATAL(kmipc_can_resume(c));
		for (int round = 0; round < 2; round++) {
			char why[512] = "";
			CU_ASSERT_EQUAL_FATAL(kmipc_connect(c, why, sizeof why), ERR_OK);
			CU_ASSERT(kmipc_resumed(c));
			CU_ASSERT_EQUAL(kmipc_tls_version(c), versions[v] != 0 ? versions[v] : TLS1_3_VERSION);
			CU_ASSERT_EQUAL(kl_get(c, id, k2, NULL), KL_OK);
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
	CU_ASSERT_EQUAL(kl_get(c, id, k2, NULL), KL_REFUSED);
	kl_close(c);
}

TEST_SUITE(kmip_durable, suite_init, suite_clean, TEST(test_refusal_seen), TEST(test_large_response_to_slow_reader),
	   TEST(test_kill9_rounds), TEST(test_resumed_keeps_tenant))
