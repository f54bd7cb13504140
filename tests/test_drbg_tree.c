/* tests/test_drbg_tree.c — keygen/drbg_tree.c: the gate, chunking, reseed
 * triggers, fork safety, threads and shutdown. */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "entropy/entropy.h"
#include "keygen/internal.h"
#include "tests/helpers.h"

static struct config cfg;
static bool gate_open = true;

static bool test_gate(void)
{
	return gate_open;
}

static int suite_init(void)
{
	testlib_config(&cfg);
	if (keygen_init(&cfg) != ERR_OK)
		return -1;
	err_t r = entropy_init(&cfg);
	if (r != ERR_OK && r != ERR_USAGE) /* ERR_USAGE: already initialised */
		return -1;
	drbg_set_gate(test_gate);
	return drbg_tree_init(&cfg) == ERR_OK ? 0 : -1;
}

static int suite_clean(void)
{
	drbg_tree_shutdown();
	drbg_set_gate(NULL);
	entropy_shutdown();
	return 0;
}

/* restart rebuilds the tree with |c| */
static void restart(const struct config *c)
{
	drbg_tree_shutdown();
	EXPECT_OK(drbg_tree_init(c));
}

static void test_gate_fails_closed(void)
{
	uint8_t buf[16];
	drbg_set_gate(NULL);
	EXPECT_ERR(drbg_generate(buf, sizeof(buf)), ERR_NOT_OPERATIONAL);
	EXPECT_ERR(drbg_generate_pr(buf, sizeof(buf)), ERR_NOT_OPERATIONAL);
	drbg_set_gate(test_gate);
	gate_open = false;
	EXPECT_ERR(drbg_generate(buf, sizeof(buf)), ERR_NOT_OPERATIONAL);
	gate_open = true;
	EXPECT_OK(drbg_generate(buf, sizeof(buf)));
}

static void test_outputs_differ(void)
{
	uint8_t a[32], b[32];
	EXPECT_OK(drbg_generate(a, sizeof(a)));
	EXPECT_OK(drbg_generate(b, sizeof(b)));
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	EXPECT_OK(drbg_generate_pr(b, sizeof(b)));
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	EXPECT_OK(drbg_generate(NULL, 0));
	EXPECT_ERR(drbg_generate(NULL, 5), ERR_INVALID_ARG);
}

static void test_chunking(void)
{
	size_t len = 3 * CTR_DRBG_MAX_REQUEST + 3392;
	uint8_t *buf = calloc(1, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	struct config c = cfg;
	c.drbg_reseed_interval = 1000;
	restart(&c);
	EXPECT_OK(drbg_generate(buf, 16)); /* the worker exists */
	uint64_t before = drbg_tree_worker_generates_for_test();
	EXPECT_OK(drbg_generate(buf, len));
	/* four full generates: three of 64 KiB and one of the rest */
	CU_ASSERT_EQUAL(drbg_tree_worker_generates_for_test() - before, 4);
	/* every chunk is fresh output, and its tail got written */
	for (size_t i = 1; i < 4; i++)
		CU_ASSERT_NOT_EQUAL(memcmp(buf, buf + i * CTR_DRBG_MAX_REQUEST, 64), 0);
	static const uint8_t zero[64];
	CU_ASSERT_NOT_EQUAL(memcmp(buf + len - 64, zero, 64), 0);
	free(buf);
	restart(&cfg);
}

static void test_reseed_on_count(void)
{
	struct config c = cfg;
	struct drbg_stats s0, s1;
	uint8_t buf[32];
	c.drbg_reseed_interval = 3;
	c.drbg_primary_reseed_interval = 2;
	restart(&c);
	EXPECT_OK(drbg_generate(buf, sizeof(buf)));
	drbg_stats(&s0);
	for (int i = 0; i < 9; i++)
		EXPECT_OK(drbg_generate(buf, sizeof(buf)));
	drbg_stats(&s1);
	/* 10 generates with a reseed every 3: 3 more worker reseeds, and the
	 * primary (2 outputs per reseed) reseeded from entropy along the way */
	CU_ASSERT_EQUAL(s1.worker_reseeds - s0.worker_reseeds, 3);
	CU_ASSERT(s1.primary_reseeds > s0.primary_reseeds);
	restart(&cfg);
}

static void test_reseed_all(void)
{
	struct drbg_stats s0, s1, s2;
	uint8_t buf[32];
	EXPECT_OK(drbg_generate(buf, sizeof(buf)));
	drbg_stats(&s0);
	EXPECT_OK(drbg_generate(buf, sizeof(buf)));
	drbg_stats(&s1);
	CU_ASSERT_EQUAL(s1.worker_reseeds, s0.worker_reseeds);
	CU_ASSERT_EQUAL(s1.primary_reseeds, s0.primary_reseeds);
	drbg_reseed_all();
	EXPECT_OK(drbg_generate(buf, sizeof(buf)));
	drbg_stats(&s2);
	CU_ASSERT_EQUAL(s2.worker_reseeds, s1.worker_reseeds + 1);
	CU_ASSERT_EQUAL(s2.primary_reseeds, s1.primary_reseeds + 1);
	/* prediction resistance: the primary reseeds from entropy every time */
	EXPECT_OK(drbg_generate_pr(buf, sizeof(buf)));
	drbg_stats(&s1);
	CU_ASSERT_EQUAL(s1.primary_reseeds, s2.primary_reseeds + 1);
	CU_ASSERT_EQUAL(s1.worker_reseeds, s2.worker_reseeds + 1);
}

struct child_report {
	err_t r;
	uint8_t out[32];
	struct drbg_stats before, after;
};

static void test_fork(void)
{
	uint8_t parent_out[32];
	struct child_report rep;
	int fds[2];
	EXPECT_OK(drbg_generate(parent_out, sizeof(parent_out))); /* worker is hot */
	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		memset(&rep, 0, sizeof(rep));
		drbg_stats(&rep.before);
		rep.r = drbg_generate(rep.out, sizeof(rep.out));
		drbg_stats(&rep.after);
		ssize_t w = write(fds[1], &rep, sizeof(rep));
		_exit(w == (ssize_t)sizeof(rep) ? 0 : 1);
	}
	close(fds[1]);
	struct drbg_stats ps;
	drbg_stats(&ps);
	EXPECT_OK(drbg_generate(parent_out, sizeof(parent_out)));
	ssize_t got = read(fds[0], &rep, sizeof(rep));
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	CU_ASSERT_EQUAL_FATAL(got, (ssize_t)sizeof(rep));
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_OK(rep.r);
	/* the child's output is not the parent's next output */
	CU_ASSERT_NOT_EQUAL(memcmp(rep.out, parent_out, sizeof(parent_out)), 0);
	/* the child's primary reseeded from entropy before its first output */
	CU_ASSERT_EQUAL(rep.after.fork_events, rep.before.fork_events + 1);
	CU_ASSERT_EQUAL(rep.after.primary_reseeds, rep.before.primary_reseeds + 1);
	CU_ASSERT_EQUAL(rep.after.worker_reseeds, rep.before.worker_reseeds + 1);
	CU_ASSERT_EQUAL(ps.fork_events, rep.before.fork_events); /* not in the parent */
}

#define THREADS 4
#define PER_THREAD 64
static uint8_t thread_out[THREADS][PER_THREAD][32];
static pthread_barrier_t barrier;
static struct drbg_stats thread_stats;

static void *thread_main(void *arg)
{
	size_t t = (size_t)(uintptr_t)arg;
	err_t r = ERR_OK;
	for (size_t i = 0; i < PER_THREAD && r == ERR_OK; i++)
		r = drbg_generate(thread_out[t][i], 32);
	pthread_barrier_wait(&barrier); /* all workers alive here */
	if (t == 0)
		drbg_stats(&thread_stats);
	pthread_barrier_wait(&barrier);
	return (void *)(intptr_t)r;
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static void test_threads(void)
{
	pthread_t th[THREADS];
	struct drbg_stats s0, s1;
	drbg_stats(&s0);
	CU_ASSERT_FATAL(pthread_barrier_init(&barrier, NULL, THREADS) == 0);
	for (size_t t = 0; t < THREADS; t++)
		CU_ASSERT_FATAL(pthread_create(&th[t], NULL, thread_main, (void *)(uintptr_t)t) == 0);
	for (size_t t = 0; t < THREADS; t++) {
		void *ret = NULL;
		pthread_join(th[t], &ret);
		CU_ASSERT_EQUAL((err_t)(intptr_t)ret, ERR_OK);
	}
	pthread_barrier_destroy(&barrier);
	CU_ASSERT_EQUAL(thread_stats.workers, s0.workers + THREADS);
	drbg_stats(&s1);
	CU_ASSERT_EQUAL(s1.workers, s0.workers); /* thread exit wiped them */
	qsort(thread_out, THREADS * PER_THREAD, 32, cmp32);
	for (size_t i = 1; i < THREADS * PER_THREAD; i++)
		CU_ASSERT_NOT_EQUAL(cmp32(thread_out[0][0] + (i - 1) * 32, thread_out[0][0] + i * 32), 0);
}

static void test_shutdown_wipes(void)
{
	uint8_t buf[32];
	struct drbg_stats s;
	EXPECT_OK(drbg_generate(buf, sizeof(buf)));
	drbg_stats(&s);
	CU_ASSERT(s.workers >= 1);
	drbg_tree_shutdown();
	drbg_stats(&s);
	CU_ASSERT_EQUAL(s.workers, 0);
	EXPECT_ERR(drbg_generate(buf, sizeof(buf)), ERR_DRBG_UNINSTANTIATED);
	drbg_tree_shutdown(); /* twice is harmless */
	EXPECT_OK(drbg_tree_init(&cfg));
	EXPECT_OK(drbg_tree_init(&cfg)); /* idempotent */
	EXPECT_OK(drbg_generate(buf, sizeof(buf))); /* a fresh worker, no stale pointer */
	drbg_stats(&s);
	CU_ASSERT_EQUAL(s.workers, 1);
	struct config bad = cfg;
	bad.drbg_reseed_interval = 0;
	drbg_tree_shutdown();
	EXPECT_ERR(drbg_tree_init(&bad), ERR_CONFIG);
	EXPECT_OK(drbg_tree_init(&cfg));
}

/* Prediction resistance with company: a request that arrives while a
 * reseed gathers entropy cannot use that one (it began before the request)
 * and waits for the next; requests waiting together share it. */
static sem_t pr_entered, pr_release;
static atomic_int pr_hold;

static void pr_hook(void)
{
	if (atomic_fetch_sub(&pr_hold, 1) > 0) {
		sem_post(&pr_entered);
		while (sem_wait(&pr_release) != 0)
			;
	}
}

static void *pr_main(void *arg)
{
	return (void *)(intptr_t)drbg_generate_pr(arg, 32);
}

static void test_pr_shared_reseed(void)
{
	uint8_t out[3][32];
	pthread_t th[3];
	struct drbg_stats s0, s1, s;
	CU_ASSERT_FATAL(sem_init(&pr_entered, 0, 0) == 0 && sem_init(&pr_release, 0, 0) == 0);
	atomic_store(&pr_hold, 1);
	drbg_tree_set_pr_gather_hook_for_test(pr_hook);
	drbg_stats(&s0);
	CU_ASSERT_FATAL(pthread_create(&th[0], NULL, pr_main, out[0]) == 0);
	while (sem_wait(&pr_entered) != 0) /* the first reseed is gathering */
		;
	for (int i = 1; i < 3; i++)
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, pr_main, out[i]) == 0);
	for (int i = 0; i < 10000; i++) { /* until both wait (at most 10 s) */
		drbg_stats(&s);
		if (s.pr_waiting >= 2)
			break;
		usleep(1000);
	}
	CU_ASSERT_EQUAL(s.pr_waiting, 2);
	sem_post(&pr_release);
	for (int i = 0; i < 3; i++) {
		void *ret = NULL;
		pthread_join(th[i], &ret);
		CU_ASSERT_EQUAL((err_t)(intptr_t)ret, ERR_OK);
	}
	drbg_stats(&s1);
	CU_ASSERT_EQUAL(s1.pr_requests - s0.pr_requests, 3);
	CU_ASSERT_EQUAL(s1.primary_reseeds - s0.primary_reseeds, 2);
	CU_ASSERT_EQUAL(s1.pr_waiting, 0);
	CU_ASSERT_NOT_EQUAL(memcmp(out[0], out[1], 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(out[1], out[2], 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(out[0], out[2], 32), 0);
	/* one after another, each request gets a reseed of its own */
	for (int i = 0; i < 3; i++)
		EXPECT_OK(drbg_generate_pr(out[i], 32));
	drbg_stats(&s);
	CU_ASSERT_EQUAL(s.primary_reseeds - s1.primary_reseeds, 3);
	drbg_tree_set_pr_gather_hook_for_test(NULL);
	sem_destroy(&pr_entered);
	sem_destroy(&pr_release);
}

TEST_SUITE(drbg_tree, suite_init, suite_clean,
	   TEST(test_gate_fails_closed), TEST(test_outputs_differ), TEST(test_chunking),
	   TEST(test_reseed_on_count), TEST(test_reseed_all), TEST(test_fork),
	   TEST(test_threads), TEST(test_pr_shared_reseed), TEST(test_shutdown_wipes))
