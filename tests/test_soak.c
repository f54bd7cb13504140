/* tests/test_soak.c — fount serve under a steady mixed load for a bounded
 * time, loopback only: 16 client threads over mutual TLS, each a random mix
 * of Create (AES-256 with a Name), Get (of a key any client made, its bytes
 * compared with the first Get's), Locate (by Name, Maximum Items 4: exactly
 * the one object), RNG Retrieve (32..4096 bytes, exactly as many back) and,
 * now and then, a Get of an identifier that does not exist (the one error
 * expected: Item Not Found); every client reconnects now and then, the even
 * ones resuming their TLS session, the odd ones with a full handshake. The
 * server's RSS and open descriptors (and on SQLite its -wal size) are
 * sampled every second.
 *
 * It passes when
 *   - no operation failed but the expected ones (each failure is printed
 *     with its KMIP Result Status, Reason and Message);
 *   - the server's descriptors stay between its idle count and that plus
 *     two per client (each client holds one connection, and the server may
 *     not yet have closed the one a client just left), and once every
 *     client has gone it is back at the idle count it had before the load;
 *   - RSS from the end of the warm-up to the end grows less than what may
 *     still fill after it: the store's connection caches (the writer and
 *     each reader: STORE_SQLITE_CACHE_KIB each, store.h; on PostgreSQL the
 *     same allowance covers libpq's buffers, which keep the size of the
 *     largest answer) and the TLS session cache (TLS_SESSIONS here, each
 *     measured at about 9 KiB: 18 KiB allowed). A leak of the kind fixed in
 *     the session cache (9 KiB a connection) exceeds it within a minute;
 *   - operations per second in the last tenth are at least half the first
 *     tenth's (a Locate that walked the store once fell to a fifth);
 *   - the last keys acknowledged are all there at the end, with their keys.
 *
 * soak runs on SQLite (FOUNT_SOAK_SECONDS, default 60), soak_pg on a real
 * PostgreSQL (tests/lib/pgtest.h; default 30 s). */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/internal.h" /* the KMIP enum table */
#include "store/store.h"
#include "tests/helpers.h"
#include "tests/lib/kmip_serve.h"
#include "tests/lib/kmipload.h"
#include "tests/lib/pgtest.h"

#define CLIENTS 16
#define MAX_SECONDS 7200
#define MAX_KEYS (1u << 20)
/* the server's TLS session cache: small, so that it is full within the
 * warm-up ([kmip] tls_sessions, api/tls.h) */
#define TLS_SESSIONS 64
#define SESSION_KIB 18
#define CHECK_LAST 2000 /* acknowledged keys checked at the end */
/* Under AddressSanitizer (make check SAN=1, the server built the same
 * way) freed memory waits in ASan's quarantine (256 MiB by default) before
 * it is reused: RSS then says nothing about fount's own memory and is not
 * checked */
#if defined(__SANITIZE_ADDRESS__)
#define CHECK_RSS 0
#else
#define CHECK_RSS 1
#endif

static struct kmip_serve srv;
static struct kmipc_options opts;
static struct kl_ledger ledger;
static struct pgtest pg;
static char pg_parent[64];
static const char *backend; /* "sqlite" or "postgresql" */
static unsigned default_seconds;
static char wal[200];

static int suite_clean(void);

/* start_server starts `fount serve` (on |store_url|, else SQLite); on
 * failure everything made so far is removed (CUnit runs no clean function
 * after a failed init) */
static int start_server(const char *tag, const char *store_url)
{
	signal(SIGPIPE, SIG_IGN);
	char sessions[64];
	snprintf(sessions, sizeof sessions, "FOUNT_KMIP_TLS_SESSIONS=%u", TLS_SESSIONS);
	const char *env[] = {sessions, store_url, NULL};
	if (kl_ledger_init(&ledger, MAX_KEYS, 1) != 0 ||
	    kmip_serve_start_with(&srv, tag, &(struct kmip_serve_options){.env = env}) != 0) {
		suite_clean();
		return -1;
	}
	opts = kmip_serve_opts(&srv, 20000);
	opts.max_response = KL_MESSAGE;
	if (store_url == NULL)
		snprintf(wal, sizeof wal, "%s/state/fount.db-wal", srv.dir);
	return 0;
}

static int suite_init(void)
{
	backend = "sqlite";
	wal[0] = '\0';
	default_seconds = 60;
	return start_server("soak", NULL);
}

static int suite_init_pg(void)
{
	if (!pgtest_available()) {
		fprintf(stderr, "\n  soak_pg: PostgreSQL is not installed: run make deps\n");
		return -1;
	}
	backend = "postgresql";
	wal[0] = '\0';
	default_seconds = 30;
	if (pgtest_parent(pg_parent, "soak") != 0 || pgtest_primary(&pg, pg_parent, "p1", NULL) != 0 ||
	    pgtest_sql(&pg, NULL, "CREATE DATABASE fount", NULL, 0) != 0) {
		suite_clean();
		return -1;
	}
	char url[300], env[320];
	pgtest_url(&pg, "fount", url, sizeof url);
	snprintf(env, sizeof env, "FOUNT_STORE_URL=%s", url);
	return start_server("soak-pg", env);
}

static int suite_clean(void)
{
	kmip_serve_stop(&srv);
	if (ledger.acked != NULL)
		kl_ledger_free(&ledger);
	if (pg_parent[0] != '\0') {
		pgtest_remove(&pg);
		testlib_tmpdir_remove(pg_parent);
		pg_parent[0] = '\0';
	}
	return 0;
}

/* ---- the server's resources ------------------------------------------------------------ */

static long proc_rss_kib(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static long proc_fds(int pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	long n = 0;
	if (d == NULL)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct sample {
	long rss_kib, fds;
	long long wal;
};

static struct sample samples[MAX_SECONDS + 2];
static size_t n_samples;
static atomic_bool sampling;
static uint64_t t_start, t_end;

static void *sampler_main(void *arg)
{
	(void)arg;
	for (uint64_t next = t_start; atomic_load(&sampling) && n_samples < ARRAY_SIZE(samples);
	     next += 1000000000ull) {
		while (mono_ns() < next && atomic_load(&sampling)) {
			struct timespec ts = {0, 20 * 1000000L};
			nanosleep(&ts, NULL);
		}
		struct stat st;
		struct sample *s = &samples[n_samples];
		s->rss_kib = proc_rss_kib(srv.pid);
		s->fds = proc_fds(srv.pid);
		s->wal = wal[0] != '\0' && stat(wal, &st) == 0 ? (long long)st.st_size : 0;
		n_samples++;
	}
	return NULL;
}

/* ---- the clients ------------------------------------------------------------------------- */

enum op { OP_CREATE, OP_GET, OP_LOCATE, OP_RNG, OP_MISSING, OP_CONNECT, N_OPS };
static const char *const op_names[N_OPS] = {"Create", "Get", "Locate", "RNG Retrieve", "Get (missing)",
					    "connect"};

/* latency histogram: bucket k holds [2^(k/8), 2^((k+1)/8)) µs, up to ~18 min */
#define BUCKETS 240

struct opstat {
	uint64_t n, failed;
	uint32_t hist[BUCKETS];
};

static atomic_uint_fast64_t per_second[MAX_SECONDS];
static atomic_uint unexpected;
static atomic_uint names; /* Names are unique per tenant: one counter for every Create */

struct client {
	unsigned index;
	unsigned max_ops; /* stop after this many (0: at t_end) */
	uint64_t seed;
	struct opstat st[N_OPS];
};

static uint32_t rnd(struct client *w)
{
	w->seed ^= w->seed << 13;
	w->seed ^= w->seed >> 7;
	w->seed ^= w->seed << 17;
	return (uint32_t)(w->seed >> 11);
}

static void done(struct opstat *s, uint64_t t0)
{
	uint64_t t1 = mono_ns();
	double us = (double)(t1 - t0) / 1e3;
	unsigned k = 0;
	while (k + 1 < BUCKETS && us >= __builtin_exp2((double)(k + 1) / 8))
		k++;
	s->hist[k]++;
	s->n++;
	uint64_t sec = (t1 - t_start) / 1000000000ull;
	if (sec < MAX_SECONDS)
		atomic_fetch_add(&per_second[sec], 1);
}

/* failed counts an unexpected failure and prints the first 20 */
static void failed(struct client *w, enum op op, const char *what, enum kl_outcome o, const struct kl_why *why)
{
	w->st[op].failed++;
	if (atomic_fetch_add(&unexpected, 1) >= 20)
		return;
	char b[300];
	fprintf(stderr, "\n  soak: client %u: %s %s: %s\n", w->index, op_names[op], what,
		o == KL_BROKEN ? "the connection failed before an answer" : kl_why_str(why, b, sizeof b));
}

static struct kmipc *connect_client(struct client *w, struct kmipc *c)
{
	char why[512] = "";
	uint64_t t0 = mono_ns();
	if (c == NULL) {
		struct kmipc_options o = opts;
		o.resume = w->index % 2 == 0;
		c = kmipc_new(&o, why, sizeof why);
	}
	if (c != NULL && kmipc_connect(c, why, sizeof why) == ERR_OK) {
		done(&w->st[OP_CONNECT], t0);
		return c;
	}
	struct kl_why kw = {0};
	snprintf(kw.message, sizeof kw.message, "%.*s", (int)sizeof kw.message - 1, why);
	failed(w, OP_CONNECT, "", KL_REFUSED, &kw);
	kmipc_free(c);
	return NULL;
}

/* one operation on |c|; false when the connection broke */
static bool one_op(struct client *w, struct kmipc *c, unsigned i)
{
	unsigned pick = rnd(w) % 100;
	struct kl_why why = {0};
	enum kl_outcome o = KL_OK;
	uint64_t t0 = mono_ns();
	if (pick < 25) {
		char name[KL_NAME_MAX], id[STORE_ID_MAX + 1];
		snprintf(name, sizeof name, "soak-%s-%u", backend, atomic_fetch_add(&names, 1));
		if ((o = kl_create(c, name, id, &why)) == KL_OK) {
			done(&w->st[OP_CREATE], t0);
			(void)kl_ledger_ack(&ledger, id, name);
		} else {
			failed(w, OP_CREATE, name, o, &why);
		}
	} else if (pick < 70) {
		/* a key any client made, by Get or by its Name */
		pthread_mutex_lock(&ledger.mu);
		size_t have = ledger.n_acked;
		struct kl_key k = {0}, *slot = have > 0 ? &ledger.acked[rnd(w) % have] : NULL;
		if (slot != NULL)
			k = *slot;
		pthread_mutex_unlock(&ledger.mu);
		if (slot == NULL)
			return true;
		if (pick < 60) {
			uint8_t kv[32];
			if ((o = kl_get(c, k.id, kv, &why)) != KL_OK) {
				failed(w, OP_GET, k.id, o, &why);
			} else if (k.have_key && memcmp(k.key, kv, 32) != 0) {
				snprintf(why.message, sizeof why.message, "another key than the first Get's");
				failed(w, OP_GET, k.id, KL_REFUSED, &why);
			} else {
				done(&w->st[OP_GET], t0);
				if (!k.have_key)
					kl_ledger_key(&ledger, slot, kv);
			}
		} else {
			int n = -1;
			char id[STORE_ID_MAX + 1] = "";
			o = kl_locate(c, k.name, 4, &n, id, &why);
			if (o == KL_OK && (n != 1 || strcmp(id, k.id) != 0)) {
				snprintf(why.message, sizeof why.message, "%d objects found (the first %s), want %s alone", n,
					 id, k.id);
				failed(w, OP_LOCATE, k.name, KL_REFUSED, &why);
			} else if (o != KL_OK) {
				failed(w, OP_LOCATE, k.name, o, &why);
			} else {
				done(&w->st[OP_LOCATE], t0);
			}
		}
	} else if (pick < 99) {
		size_t n = 32 + rnd(w) % (4096 - 32 + 1);
		if ((o = kl_rng(c, n, &why)) == KL_OK)
			done(&w->st[OP_RNG], t0);
		else
			failed(w, OP_RNG, "", o, &why);
	} else {
		/* the expected failure: Item Not Found, and nothing else */
		char id[64];
		uint8_t kv[32];
		snprintf(id, sizeof id, "soak-no-such-%u-%u", w->index, i);
		o = kl_get(c, id, kv, &why);
		if (o == KL_REFUSED && why.status == KMIP_RESULT_STATUS_OPERATION_FAILED &&
		    why.reason == KMIP_RESULT_REASON_ITEM_NOT_FOUND) {
			done(&w->st[OP_MISSING], t0);
		} else {
			if (o == KL_OK)
				snprintf(why.message, sizeof why.message, "a key came back");
			failed(w, OP_MISSING, id, o == KL_OK ? KL_REFUSED : o, &why);
		}
	}
	return o != KL_BROKEN;
}

static void *client_main(void *arg)
{
	struct client *w = arg;
	struct kmipc *c = connect_client(w, NULL);
	for (unsigned i = 0; c != NULL && mono_ns() < t_end && (w->max_ops == 0 || i < w->max_ops); i++) {
		if (rnd(w) % 50 == 0) { /* now and then a new connection */
			kmipc_close(c);
			c = connect_client(w, c);
			continue;
		}
		if (!one_op(w, c, i)) {
			kmipc_free(c);
			c = connect_client(w, NULL);
		}
	}
	kl_close(c);
	return NULL;
}

/* ---- the run -------------------------------------------------------------------------------- */

static double p99_us(const struct opstat *s)
{
	uint64_t want = s->n - s->n / 100, seen = 0;
	for (unsigned k = 0; k < BUCKETS && s->n > 0; k++) {
		seen += s->hist[k];
		if (seen >= want)
			return __builtin_exp2((double)(k + 1) / 8);
	}
	return 0;
}

/* idle_fds: the server's descriptors once no client is connected: its
 * connection threads see a close at once, so the count settles; it is
 * read until it has not changed for half a second (or |want| is seen),
 * for at most 5 s */
static long idle_fds(long want)
{
	long n = proc_fds(srv.pid);
	for (int i = 0, same = 0; i < 100 && same < 10 && n != want; i++) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
		long m = proc_fds(srv.pid);
		same = m == n ? same + 1 : 0;
		n = m;
	}
	return n;
}

static void test_soak(void)
{
	const char *e = getenv("FOUNT_SOAK_SECONDS");
	unsigned seconds = e != NULL && atoi(e) > 0 ? (unsigned)atoi(e) : default_seconds;
	if (seconds > MAX_SECONDS - 10)
		seconds = MAX_SECONDS - 10;
	unsigned warm = seconds / 10 > 5 ? seconds / 10 : 5;
	CU_ASSERT_FATAL(seconds > warm);
	/* soak and soak_pg run in one process: nothing of the other's run */
	n_samples = 0;
	atomic_store(&unexpected, 0);

	/* every path first, from every client at once (PostgreSQL's readers
	 * connect when first needed), then the descriptors of an idle server */
	static struct client w[CLIENTS];
	pthread_t th[CLIENTS], sampler;
	t_start = mono_ns();
	t_end = t_start + 60 * 1000000000ull;
	for (unsigned i = 0; i < CLIENTS; i++) {
		w[i] = (struct client){.index = i, .max_ops = 200, .seed = t_start * 2654435761u + i + 1};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, client_main, &w[i]), 0);
	}
	for (unsigned i = 0; i < CLIENTS; i++)
		pthread_join(th[i], NULL);
	for (size_t i = 0; i < ARRAY_SIZE(per_second); i++)
		atomic_store(&per_second[i], 0);
	long idle = idle_fds(-1);

	t_start = mono_ns();
	t_end = t_start + (uint64_t)seconds * 1000000000ull;
	atomic_store(&sampling, true);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&sampler, NULL, sampler_main, NULL), 0);
	for (unsigned i = 0; i < CLIENTS; i++) {
		uint64_t seed = w[i].seed;
		w[i] = (struct client){.index = i, .seed = seed};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, client_main, &w[i]), 0);
	}
	for (unsigned i = 0; i < CLIENTS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&sampling, false);
	pthread_join(sampler, NULL);
	long idle_after = idle_fds(idle);

	struct opstat total[N_OPS];
	memset(total, 0, sizeof total);
	uint64_t ops = 0;
	for (unsigned i = 0; i < CLIENTS; i++)
		for (int o = 0; o < N_OPS; o++) {
			total[o].n += w[i].st[o].n;
			total[o].failed += w[i].st[o].failed;
			for (unsigned k = 0; k < BUCKETS; k++)
				total[o].hist[k] += w[i].st[o].hist[k];
		}
	fprintf(stderr, "\n  soak (%s): %u s, %u clients, %u s warm-up\n", backend, seconds, CLIENTS, warm);
	for (int o = 0; o < N_OPS; o++) {
		ops += o != OP_CONNECT ? total[o].n : 0;
		fprintf(stderr, "  %-14s %8llu ok %5llu failed %8.1f/s  p99 %9.0f us\n", op_names[o],
			(unsigned long long)total[o].n, (unsigned long long)total[o].failed,
			(double)total[o].n / seconds, p99_us(&total[o]));
	}
	unsigned tenth = seconds / 10 > 0 ? seconds / 10 : 1;
	uint64_t first = 0, last = 0;
	for (unsigned s = 0; s < tenth; s++) {
		first += atomic_load(&per_second[s]);
		last += atomic_load(&per_second[seconds - tenth + s]);
	}
	fprintf(stderr, "  %.0f operations/s; first tenth %.0f/s, last tenth %.0f/s\n", (double)ops / seconds,
		(double)first / tenth, (double)last / tenth);

	/* sample k was taken k seconds into the load: the last one under load
	 * is seconds - 1 */
	size_t under_load = n_samples < seconds ? n_samples : seconds;
	CU_ASSERT_FATAL(under_load > warm + 1);
	const struct sample *sw = &samples[warm], *se = &samples[under_load - 1];
	long fd_min = sw->fds, fd_max = sw->fds;
	for (size_t i = warm; i < under_load; i++) {
		fd_min = samples[i].fds < fd_min ? samples[i].fds : fd_min;
		fd_max = samples[i].fds > fd_max ? samples[i].fds : fd_max;
	}
	long rss_bound = (long)((STORE_READERS_DEFAULT + 1) * STORE_SQLITE_CACHE_KIB + TLS_SESSIONS * SESSION_KIB);
	fprintf(stderr,
		"  RSS %ld KiB at the start, %ld after the warm-up, %ld at the end (+%ld, bound %ld); "
		"descriptors idle %ld, %ld..%ld under load (%ld after the warm-up, %ld at the end), %ld idle after",
		samples[0].rss_kib, sw->rss_kib, se->rss_kib, se->rss_kib - sw->rss_kib, rss_bound, idle, fd_min, fd_max,
		sw->fds, se->fds, idle_after);
	if (wal[0] != '\0')
		fprintf(stderr, "; -wal %lld bytes at the end", se->wal);
	fprintf(stderr, "\n");

	CU_ASSERT_EQUAL(atomic_load(&unexpected), 0);
	CU_ASSERT(total[OP_MISSING].n > 0); /* the expected failure was seen as one */
	CU_ASSERT(total[OP_CREATE].n > 0 && total[OP_GET].n > 0 && total[OP_LOCATE].n > 0 && total[OP_RNG].n > 0);
	CU_ASSERT(fd_min >= idle && fd_max <= idle + 2 * CLIENTS);
	CU_ASSERT_EQUAL(idle_after, idle);
	if (CHECK_RSS) {
		CU_ASSERT(se->rss_kib - sw->rss_kib < rss_bound);
	} else {
		fprintf(stderr, "  (RSS not checked under AddressSanitizer)\n");
	}
	CU_ASSERT(2 * last >= first);

	/* the last keys acknowledged are all there, with their keys */
	size_t n = kl_ledger_acked(&ledger), from = n > CHECK_LAST ? n - CHECK_LAST : 0;
	CU_ASSERT_EQUAL(kl_check_acked(&ledger, from, n, &opts, 4, "soak"), 0);
}

TEST_SUITE(soak, suite_init, suite_clean, TEST(test_soak))
TEST_SUITE(soak_pg, suite_init_pg, suite_clean, TEST(test_soak))
