/* tests/test_ha.c — two fount nodes on one replicated PostgreSQL, under
 * load and faults (issue 10). The suite starts a primary and a synchronous
 * streaming standby (tests/lib/pgtest.h; synchronous_standby_names
 * 'ANY 1 (s1)', so a COMMIT returns once the standby has the WAL), and two
 * `fount serve` nodes whose [store] url lists both servers with
 * target_session_attrs=read-write, node B provisioned with node A's PKI
 * and KEK file. Clients speak KMIP over mutual TLS (tests/lib/kmipload.h);
 * each creates a key on one node and gets it from the other at once.
 *
 * After every fault: every acknowledged key is there with the key first
 * read, from both nodes; a Create whose answer never came, or whose
 * outcome the server called unknown, is whole or absent; a Create refused
 * with "nothing was written" is absent; every refusal a client saw was a
 * KMIP Operation Failed with a Result Reason and the store's message, no
 * request hung (no connection timed out), and the nodes recovered by
 * themselves. The failover runs last: it leaves the old primary down. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/internal.h"
#include "tests/helpers.h"
#include "tests/lib/kmip_serve.h"
#include "tests/lib/kmipload.h"
#include "tests/lib/pgtest.h"
#include "tests/lib/tcpproxy.h"

#define PER_NODE 4        /* client threads per node */
#define MAX_KEYS 200000
#define STORE_TIMEOUT_MS 3000 /* [store] timeout_ms of the nodes */

static struct pgtest p1, s1;
static char parent[64];
static struct kmip_serve na, nb;
static struct kmipc_options oa, ob;
static struct kl_ledger ledger;
static unsigned round_no;
/* node A reaches the primary through this proxy (tests/lib/tcpproxy.h),
 * for the network faults; node B directly */
static struct tcpproxy px;

static int suite_clean(void);

/* CUnit runs no clean after a failed init: a failure here takes down what
 * it made itself */
static int suite_init_servers(void);

static int suite_init(void)
{
	if (suite_init_servers() == 0)
		return 0;
	suite_clean();
	return -1;
}

static int suite_init_servers(void)
{
	if (!pgtest_available()) {
		fprintf(stderr, "\n  ha: PostgreSQL is not installed: run make deps\n");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (kl_ledger_init(&ledger, MAX_KEYS, 16384) != 0 || pgtest_parent(parent, "ha") != 0 ||
	    pgtest_primary(&p1, parent, "p1", "ANY 1 (s1)") != 0 || pgtest_standby(&s1, &p1, parent, "s1") != 0 ||
	    pgtest_sql(&p1, NULL, "CREATE DATABASE fount", NULL, 0) != 0)
		return -1;
	if (tcpproxy_start(&px, p1.port) != 0)
		return -1;
	char url_a[300], url_b[300], env_timeout[64];
	static const char url_form[] = "FOUNT_STORE_URL=postgresql://postgres@127.0.0.1:%u,127.0.0.1:%u/fount"
				       "?target_session_attrs=read-write&connect_timeout=2";
	snprintf(url_a, sizeof url_a, url_form, px.port, s1.port);
	snprintf(url_b, sizeof url_b, url_form, p1.port, s1.port);
	snprintf(env_timeout, sizeof env_timeout, "FOUNT_STORE_TIMEOUT_MS=%u", STORE_TIMEOUT_MS);
	const char *env_a[] = {url_a, env_timeout, NULL}, *env_b[] = {url_b, env_timeout, NULL};
	if (kmip_serve_start_with(&na, "ha-a", &(struct kmip_serve_options){.env = env_a, .http = true}) != 0 ||
	    kmip_serve_start_with(&nb, "ha-b", &(struct kmip_serve_options){.env = env_b, .http = true, .like = &na}) != 0)
		return -1;
	/* a request the nodes answer takes at most the store's deadline (and a
	 * reconnect's connect_timeout): more than that is a hang */
	oa = kmip_serve_opts(&na, 15000);
	ob = kmip_serve_opts(&nb, 15000);
	oa.max_response = ob.max_response = KL_MESSAGE;
	return 0;
}

static int suite_clean(void)
{
	kmip_serve_stop(&na);
	kmip_serve_stop(&nb);
	tcpproxy_stop(&px);
	pgtest_remove(&p1);
	pgtest_remove(&s1);
	if (parent[0] != '\0')
		testlib_tmpdir_remove(parent);
	kl_ledger_free(&ledger);
	return 0;
}

/* ---- what a client may see while the database is away --------------------------------- */

/* the store's outages, as KMIP answers them (api/kmip_objects.c: General
 * Failure with the store's own message) */
static enum kl_refusal outage(const struct kl_why *w)
{
	if (w->status != KMIP_RESULT_STATUS_OPERATION_FAILED || w->reason != KMIP_RESULT_REASON_GENERAL_FAILURE)
		return KL_UNEXPECTED;
	if (strcmp(w->message, err_str(ERR_STORE_UNAVAILABLE)) == 0 || strcmp(w->message, err_str(ERR_STORE_IO)) == 0)
		return KL_NOTHING_WRITTEN;
	if (strcmp(w->message, err_str(ERR_STORE_COMMIT_UNKNOWN)) == 0)
		return KL_OUTCOME_UNKNOWN;
	return KL_UNEXPECTED;
}

/* ---- the load ------------------------------------------------------------------------- */

struct load {
	struct kl_worker w[2 * PER_NODE];
	pthread_t th[2 * PER_NODE];
	volatile bool stop;
	char tag[16];
	/* the totals, after load_end */
	unsigned created, got, refused, unexpected, broken;
};

/* load_begin starts 2 * PER_NODE clients: half create on A and get from B,
 * half the other way round; |cross| false: each gets from its own node */
static void load_begin(struct load *l, bool cross, enum kl_refusal (*classify)(const struct kl_why *))
{
	memset(l, 0, sizeof *l);
	snprintf(l->tag, sizeof l->tag, "ha%u", round_no++);
	for (unsigned i = 0; i < 2 * PER_NODE; i++) {
		bool on_a = i < PER_NODE;
		l->w[i] = (struct kl_worker){.ledger = &ledger,
					     .create_on = on_a ? &oa : &ob,
					     .get_on = cross ? (on_a ? &ob : &oa) : NULL,
					     .stop = &l->stop,
					     .classify = classify,
					     .tag = l->tag,
					     .index = i};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&l->th[i], NULL, kl_worker_main, &l->w[i]), 0);
	}
}

static unsigned load_created(const struct load *l)
{
	unsigned n = 0;
	for (unsigned i = 0; i < 2 * PER_NODE; i++)
		n += __atomic_load_n(&l->w[i].created, __ATOMIC_RELAXED);
	return n;
}

static void load_end(struct load *l)
{
	__atomic_store_n(&l->stop, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < 2 * PER_NODE; i++) {
		pthread_join(l->th[i], NULL);
		struct kl_worker *w = &l->w[i];
		l->created += w->created;
		l->got += w->got;
		l->refused += w->refused;
		l->unexpected += w->unexpected;
		l->broken += w->broken;
		if (w->unexpected > 0) {
			char b[300];
			fprintf(stderr, "\n  ha: client %u: unexpected refusal: %s", i,
				kl_why_str(&w->first_unexpected, b, sizeof b));
		}
	}
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* wait_created waits (at most |ms|) until the load has made |more| keys
 * past |from|: the nodes are writing again */
static bool wait_created(const struct load *l, unsigned from, unsigned more, unsigned ms)
{
	for (uint64_t end = mono_ms() + ms; mono_ms() < end; sleep_ms(20))
		if (load_created(l) >= from + more)
			return true;
	return false;
}

/* check_all: every acknowledged key since the |from|-th from both nodes,
 * every in-flight or refused Create as it must be; the number of failures */
static unsigned check_all(size_t from)
{
	unsigned f = kl_check_acked(&ledger, from, ledger.n_acked, &oa, PER_NODE, "ha (node A)");
	f += kl_check_acked(&ledger, from, ledger.n_acked, &ob, PER_NODE, "ha (node B)");
	f += kl_check_inflight(&ledger, &oa, "ha (node A)");
	f += kl_check_inflight(&ledger, &ob, "ha (node B)");
	return f;
}

/* ---- /v1/health ----------------------------------------------------------------------- */

/* wait_health waits (at most |ms|) until node |s|'s health is |status|
 * with the store reachable or not as |reachable| says */
static bool wait_health(const struct kmip_serve *s, int status, int reachable, unsigned ms)
{
	struct kmip_serve_health h = {0};
	for (uint64_t end = mono_ms() + ms; mono_ms() < end; sleep_ms(100))
		if (kmip_serve_health(s->http_port, &h) == status && h.reachable == reachable &&
		    h.writable == reachable)
			return true;
	fprintf(stderr, "\n  ha: node health %d (store reachable %d), not %d (%d)", h.status, h.reachable, status,
		reachable);
	return false;
}

/* ---- the tests ------------------------------------------------------------------------ */

/* A key created on one node is there at once on the other: 8 clients,
 * each creating on one node and getting from the other, for 3 s, with no
 * refusal at all. */
static void test_two_nodes(void)
{
	size_t from = kl_ledger_acked(&ledger);
	CU_ASSERT(wait_health(&na, 200, 1, 1));
	/* each node said at start what an acknowledged key survives */
	const char *log = testlib_slurp(nb.log);
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "synchronous_commit=on with synchronous standby 'ANY 1 (s1)': an "
					   "acknowledged key is on the primary's disk and a standby's disk"));
	struct load l;
	load_begin(&l, true, NULL);
	sleep_ms(3000);
	load_end(&l);
	fprintf(stderr, "\n  ha: two nodes: %u Creates, each got from the other node at once ", l.created);
	CU_ASSERT_EQUAL(l.unexpected, 0);
	CU_ASSERT_EQUAL(l.broken, 0);
	CU_ASSERT(l.created >= 100);
	CU_ASSERT_EQUAL(l.got, l.created);
	CU_ASSERT_EQUAL(check_all(from), 0);
}

/* Two nodes cannot both take one Name (KMIP 1.4 §3.2): eight clients, four
 * on each node, create the same Name at once; exactly one succeeds, the
 * others are told the Name is taken, and both nodes find one object. */
struct racer {
	const struct kmipc_options *o;
	struct kmipc *c;
	const char *name;
	pthread_barrier_t *go;
	enum kl_outcome out;
	struct kl_why why;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	char id[STORE_ID_MAX + 1];
	pthread_barrier_wait(r->go);
	r->out = kl_create(r->c, r->name, id, &r->why);
	return NULL;
}

static void test_name_race(void)
{
	enum { N = 2 * PER_NODE, ROUNDS = 10 };
	struct racer r[N];
	pthread_t th[N];
	pthread_barrier_t go;
	for (unsigned i = 0; i < N; i++) {
		r[i] = (struct racer){.o = i % 2 ? &ob : &oa, .go = &go};
		r[i].c = kl_connect(r[i].o);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r[i].c);
	}
	unsigned wins_total = 0;
	for (unsigned k = 0; k < ROUNDS; k++) {
		char name[32];
		snprintf(name, sizeof name, "ha-race-%u", k);
		pthread_barrier_init(&go, NULL, N);
		for (unsigned i = 0; i < N; i++) {
			r[i].name = name;
			CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, racer_main, &r[i]), 0);
		}
		unsigned wins = 0, taken = 0;
		for (unsigned i = 0; i < N; i++) {
			pthread_join(th[i], NULL);
			wins += r[i].out == KL_OK;
			taken += r[i].out == KL_REFUSED && r[i].why.reason == KMIP_RESULT_REASON_OBJECT_ALREADY_EXISTS &&
				 r[i].why.message[0] != '\0';
		}
		pthread_barrier_destroy(&go);
		CU_ASSERT_EQUAL(wins, 1);
		CU_ASSERT_EQUAL(taken, N - 1);
		wins_total += wins;
		char id_a[STORE_ID_MAX + 1] = "", id_b[STORE_ID_MAX + 1] = "";
		CU_ASSERT_EQUAL(kl_locate_name(r[0].c, name, id_a), 1);
		CU_ASSERT_EQUAL(kl_locate_name(r[1].c, name, id_b), 1);
		CU_ASSERT_STRING_EQUAL(id_a, id_b);
	}
	for (unsigned i = 0; i < N; i++)
		kl_close(r[i].c);
	CU_ASSERT_EQUAL(wins_total, ROUNDS);
}

/* PostgreSQL stops (fast: connections terminated; immediate: a crash)
 * and starts again under load. Meanwhile every request is answered, none
 * hangs: refusals are the store's outage messages; /v1/health says 503
 * with the store unreachable, then 200; the nodes write again by
 * themselves. */
static void test_pg_restart(void)
{
	size_t from = kl_ledger_acked(&ledger);
	static const char *const modes[] = {"fast", "immediate"};
	for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
		struct load l;
		load_begin(&l, true, outage);
		sleep_ms(700);
		uint64_t t0 = mono_ms();
		CU_ASSERT_EQUAL_FATAL(pgtest_stop(&p1, modes[m]), 0);
		CU_ASSERT(wait_health(&na, 503, 0, 10000));
		CU_ASSERT(wait_health(&nb, 503, 0, 10000));
		sleep_ms(500);
		CU_ASSERT_EQUAL_FATAL(pgtest_start(&p1), 0);
		uint64_t t_up = mono_ms();
		CU_ASSERT(wait_health(&na, 200, 1, 15000));
		CU_ASSERT(wait_health(&nb, 200, 1, 15000));
		unsigned back = load_created(&l);
		bool writing = wait_created(&l, back, 50, 15000);
		uint64_t t1 = mono_ms();
		load_end(&l);
		fprintf(stderr, "\n  ha: PostgreSQL %s stop, down %.1f s: %u Creates, %u refusals, 50 more Creates "
				"%.1f s after it was up ",
			modes[m], (double)(t_up - t0) / 1000, l.created, l.refused, (double)(t1 - t_up) / 1000);
		CU_ASSERT(writing);
		CU_ASSERT_EQUAL(l.unexpected, 0);
		CU_ASSERT_EQUAL(l.broken, 0);
		CU_ASSERT(l.refused > 0); /* the clients did meet the outage */
	}
	CU_ASSERT_EQUAL(check_all(from), 0);
}

/* The network between node A and the primary fails: first every
 * connection is reset (a firewall, a crashed host), then every byte is
 * held for twice the store's deadline with the connections open (a hung
 * peer: the kernel keeps ACKing, no TCP timeout fires; store-ha.md §2.2).
 * Node A answers every request within a bound (its deadline, plus a
 * reconnect's connect_timeout) with the store's outage messages and writes
 * again when the network does; node B, on a path of its own, sees nothing. */
static void test_network_faults(void)
{
	size_t from = kl_ledger_acked(&ledger);
	for (int stall = 0; stall < 2; stall++) {
		struct load l;
		load_begin(&l, false, outage);
		sleep_ms(700);
		if (stall) {
			tcpproxy_stall(&px, true);
			sleep_ms(2 * STORE_TIMEOUT_MS);
			CU_ASSERT(wait_health(&na, 503, 0, 5000));
			tcpproxy_stall(&px, false);
			/* the connections held meanwhile are dead to fount now */
			tcpproxy_cut(&px);
		} else {
			tcpproxy_cut(&px);
		}
		uint64_t t_ok = mono_ms();
		unsigned back = load_created(&l);
		bool writing = wait_created(&l, back, 50, 15000);
		CU_ASSERT(wait_health(&na, 200, 1, 10000));
		load_end(&l);
		unsigned max_a = 0, max_b = 0, b_errors = 0, a_refused = 0;
		for (unsigned i = 0; i < 2 * PER_NODE; i++) {
			struct kl_worker *w = &l.w[i];
			if (i < PER_NODE) {
				max_a = w->max_ms > max_a ? w->max_ms : max_a;
				a_refused += w->refused;
			} else {
				max_b = w->max_ms > max_b ? w->max_ms : max_b;
				b_errors += w->refused + w->broken;
			}
		}
		fprintf(stderr, "\n  ha: the network to the primary %s%s: node A %u refusals, longest request %u ms; "
				"node B %u errors, longest %u ms; writing again %.1f s after the network was back ",
			stall ? "stalled " : "cut", stall ? "6 s" : "", a_refused, max_a, b_errors, max_b,
			(double)(mono_ms() - t_ok) / 1000);
		CU_ASSERT(writing);
		CU_ASSERT_EQUAL(l.unexpected, 0);
		CU_ASSERT_EQUAL(l.broken, 0);
		CU_ASSERT_EQUAL(b_errors, 0);
		if (stall) {
			CU_ASSERT(a_refused > 0);
			/* the deadline, then one reconnect through the held proxy
			 * (connect_timeout 2 s) and to the standby; never the 6 s
			 * the stall lasted, twice */
			CU_ASSERT(max_a < 2 * STORE_TIMEOUT_MS + 2000);
		}
	}
	CU_ASSERT_EQUAL(check_all(from), 0);
}

/* A node is killed (SIGKILL) at random moments while clients of both
 * nodes create: the other node's clients see no error at all, the killed
 * node comes back on its own state, and nothing acknowledged is lost. */
static void test_kill9_node(void)
{
	size_t from = kl_ledger_acked(&ledger);
	enum { ROUNDS = 5 };
	unsigned kills_mid = 0, other_errors = 0, inflight_before = (unsigned)ledger.n_inflight;
	srand((unsigned)mono_ms());
	for (unsigned k = 0; k < ROUNDS; k++) {
		struct load l;
		load_begin(&l, false, NULL);
		sleep_ms(150 + (unsigned)(rand() % 750));
		unsigned before = load_created(&l);
		kmip_serve_kill(&na, SIGKILL);
		CU_ASSERT_EQUAL_FATAL(kmip_serve_restart(&na), 0);
		wait_created(&l, load_created(&l), 20, 5000);
		__atomic_store_n(&l.stop, true, __ATOMIC_RELEASE);
		for (unsigned i = 0; i < 2 * PER_NODE; i++) {
			pthread_join(l.th[i], NULL);
			struct kl_worker *w = &l.w[i];
			if (i >= PER_NODE) /* node B's clients */
				other_errors += w->refused + w->broken;
			else
				CU_ASSERT_EQUAL(w->unexpected, 0);
		}
		kills_mid += before > 0;
	}
	unsigned inflight = (unsigned)ledger.n_inflight - inflight_before;
	fprintf(stderr, "\n  ha: %u kill -9 of node A, %u Creates in flight at a kill; node B's clients saw %u errors ",
		ROUNDS, inflight, other_errors);
	CU_ASSERT_EQUAL(other_errors, 0);
	CU_ASSERT_EQUAL(kills_mid, ROUNDS);
	CU_ASSERT(inflight >= 1);
	CU_ASSERT_EQUAL(check_all(from), 0);
}

/* Failover: the primary crashes (immediate stop) under load; the
 * synchronous standby is promoted and, as the operator (or a failover
 * manager) does, allowed to commit without a standby of its own
 * (synchronous_standby_names = ''). The nodes follow libpq's host list to
 * the new primary by themselves; every key acknowledged before the crash
 * is on it, since each COMMIT waited for the standby. */
static void test_failover(void)
{
	struct load l;
	load_begin(&l, true, outage);
	sleep_ms(1000);
	size_t acked_at_crash = kl_ledger_acked(&ledger);
	uint64_t t0 = mono_ms();
	CU_ASSERT_EQUAL_FATAL(pgtest_stop(&p1, "immediate"), 0);
	/* node A's path to the old primary goes with it: a connection there is
	 * refused, as one to a stopped server is. (A proxy that accepts and
	 * then closes, as ours would, keeps libpq from trying the next host:
	 * it moves on after a failed connection, not after one closed during
	 * start-up; fe-connect.c, PQconnectPoll's reading states.) */
	tcpproxy_stop(&px);
	CU_ASSERT_EQUAL_FATAL(pgtest_promote(&s1), 0);
	CU_ASSERT_EQUAL(pgtest_sql(&s1, NULL, "ALTER SYSTEM SET synchronous_standby_names = ''", NULL, 0), 0);
	CU_ASSERT_EQUAL(pgtest_sql(&s1, NULL, "SELECT pg_reload_conf()", NULL, 0), 0);
	unsigned back = load_created(&l);
	bool writing = wait_created(&l, back, 50, 20000);
	uint64_t t1 = mono_ms();
	load_end(&l);
	fprintf(stderr, "\n  ha: failover to the standby: %zu keys acknowledged before the crash, writing again "
			"%.1f s after it, %u refusals ",
		acked_at_crash, (double)(t1 - t0) / 1000, l.refused);
	CU_ASSERT(writing);
	CU_ASSERT_EQUAL(l.unexpected, 0);
	CU_ASSERT_EQUAL(l.broken, 0);
	CU_ASSERT_EQUAL(check_all(0), 0); /* every key of the suite */
	/* and on the new primary itself */
	char n[32] = "";
	CU_ASSERT_EQUAL(pgtest_sql(&s1, "fount", "SELECT count(*) FROM objects", n, sizeof n), 0);
	CU_ASSERT(strtoull(n, NULL, 10) >= ledger.n_acked);
	CU_ASSERT(wait_health(&nb, 200, 1, 1));
}

TEST_SUITE(ha, suite_init, suite_clean, TEST(test_two_nodes), TEST(test_name_race), TEST(test_pg_restart),
	   TEST(test_network_faults), TEST(test_kill9_node), TEST(test_failover))
