/* tests/test_selftest.c — selftest/: the state machine, every break hook,
 * on-demand runs, and the ERROR latch when the noise sources die. */
#include <pthread.h>
#include <string.h>

#include "entropy/entropy.h"
#include "keygen/internal.h"
#include "selftest/selftest.h"
#include "tests/helpers.h"

static struct config cfg;

static int suite_init(void)
{
	testlib_config(&cfg);
	selftest_reset_for_testing();
	return 0;
}

static int suite_clean(void)
{
	selftest_reset_for_testing();
	return 0;
}

static void test_power_on_passes(void)
{
	struct selftest_result res[SELFTEST_MAX_RESULTS];
	size_t n = 0;
	uint8_t buf[32];

	selftest_reset_for_testing();
	CU_ASSERT_EQUAL(selftest_state(), SELFTEST_POWER_ON);
	EXPECT_ERR(drbg_generate(buf, sizeof(buf)), ERR_NOT_OPERATIONAL);
	EXPECT_OK(selftest_power_on(&cfg, res, ARRAY_SIZE(res), &n));
	CU_ASSERT_EQUAL(selftest_state(), SELFTEST_OPERATIONAL);

	const char *const *names;
	size_t total = selftest_names(&names);
	CU_ASSERT_EQUAL(n, total);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_STRING_EQUAL(res[i].name, names[i]);
		EXPECT_OK(res[i].r);
	}
	EXPECT_OK(drbg_generate(buf, sizeof(buf)));
	/* a second power-on returns the first verdict and runs nothing */
	EXPECT_OK(selftest_power_on(&cfg, res, ARRAY_SIZE(res), &n));
	CU_ASSERT_EQUAL(n, 0);
	/* on demand, while operational */
	EXPECT_OK(selftest_run(res, ARRAY_SIZE(res), &n));
	CU_ASSERT_EQUAL(selftest_state(), SELFTEST_OPERATIONAL);
	CU_ASSERT(n >= 10);
}

/* Every self-test can be broken, and each break is caught at power-on:
 * the module latches ERROR, names the test, and emits nothing. */
static void test_every_break_is_caught_at_power_on(void)
{
	const char *const *names;
	size_t total = selftest_names(&names);
	for (size_t i = 0; i < total; i++) {
		struct selftest_result res[SELFTEST_MAX_RESULTS];
		size_t n = 0;
		uint8_t buf[16];
		selftest_reset_for_testing();
		EXPECT_OK(selftest_set_break(names[i]));
		err_t r = selftest_power_on(&cfg, res, ARRAY_SIZE(res), &n);
		CU_ASSERT_EQUAL(r, ERR_SELFTEST);
		CU_ASSERT_EQUAL(selftest_state(), SELFTEST_ERROR);
		const char *cause = selftest_error_cause();
		CU_ASSERT_PTR_NOT_NULL(cause);
		if (cause == NULL || strcmp(cause, names[i]) != 0)
			fprintf(stderr, "\n  break %s: cause %s\n", names[i], cause ? cause : "(null)");
		else
			CU_ASSERT_STRING_EQUAL(cause, names[i]);
		/* the last result is the broken test, and it failed */
		CU_ASSERT(n > 0);
		if (n > 0) {
			CU_ASSERT_STRING_EQUAL(res[n - 1].name, names[i]);
			CU_ASSERT_NOT_EQUAL(res[n - 1].r, ERR_OK);
		}
		EXPECT_ERR(drbg_generate(buf, sizeof(buf)), ERR_NOT_OPERATIONAL);
		EXPECT_ERR(selftest_run(res, ARRAY_SIZE(res), &n), ERR_NOT_OPERATIONAL);
	}
	selftest_reset_for_testing();
}

static void test_break_on_demand_latches_error(void)
{
	struct selftest_result res[SELFTEST_MAX_RESULTS];
	size_t n = 0;
	uint8_t buf[16];

	selftest_reset_for_testing();
	EXPECT_OK(selftest_power_on(&cfg, res, ARRAY_SIZE(res), &n));
	EXPECT_OK(drbg_generate(buf, sizeof(buf)));
	EXPECT_OK(selftest_set_break("ctr-drbg"));
	EXPECT_ERR(selftest_run(res, ARRAY_SIZE(res), &n), ERR_SELFTEST);
	CU_ASSERT_EQUAL(selftest_state(), SELFTEST_ERROR);
	CU_ASSERT_STRING_EQUAL(selftest_error_cause(), "ctr-drbg");
	EXPECT_ERR(drbg_generate(buf, sizeof(buf)), ERR_NOT_OPERATIONAL);
	/* key services stop too, not only random output */
	static const uint8_t kek[32], key[32];
	uint8_t wrapped[40];
	size_t wrapped_len = 0;
	EXPECT_ERR(keygen_aes_wrap(KEYGEN_WRAP_KW, kek, sizeof(kek), key, sizeof(key), wrapped,
				   sizeof(wrapped), &wrapped_len),
		   ERR_NOT_OPERATIONAL);
	/* latched: clearing the break does not bring the module back */
	EXPECT_OK(selftest_set_break(NULL));
	EXPECT_ERR(selftest_run(res, ARRAY_SIZE(res), &n), ERR_NOT_OPERATIONAL);
	EXPECT_ERR(drbg_generate(buf, sizeof(buf)), ERR_NOT_OPERATIONAL);
	selftest_reset_for_testing();
}

static void test_unknown_break_name(void)
{
	EXPECT_ERR(selftest_set_break("no-such-test"), ERR_INVALID_ARG);
	EXPECT_OK(selftest_set_break(""));
}

static void test_no_credited_source_fails_power_on(void)
{
	struct config c = cfg;
	struct selftest_result res[SELFTEST_MAX_RESULTS];
	size_t n = 0;
	selftest_reset_for_testing();
	snprintf(c.entropy_sources, sizeof(c.entropy_sources), "%s", "");
	EXPECT_ERR(selftest_power_on(&c, res, ARRAY_SIZE(res), &n), ERR_SELFTEST);
	CU_ASSERT_EQUAL(selftest_state(), SELFTEST_ERROR);
	CU_ASSERT_STRING_EQUAL(selftest_error_cause(), "entropy-startup");
	selftest_reset_for_testing();
}

/* A source that passes its start-up test and then sticks: once it is the
 * only credited source and it is disabled, the module must go to ERROR
 * and stop emitting. */
static unsigned flaky_calls;
static err_t flaky_probe(void *ctx)
{
	UNUSED(ctx);
	return ERR_OK;
}
static err_t flaky_read(void *ctx, uint8_t *out, size_t n)
{
	UNUSED(ctx);
	for (size_t i = 0; i < n; i++) {
		flaky_calls++;
		/* varied through the 1024-sample start-up test, then stuck */
		out[i] = flaky_calls <= ENTROPY_STARTUP_SAMPLES
				 ? (uint8_t)(flaky_calls * 37u + (flaky_calls >> 8))
				 : 0x42;
	}
	return ERR_OK;
}

static void test_dead_source_at_runtime_latches_error(void)
{
	struct selftest_result res[SELFTEST_MAX_RESULTS];
	size_t n = 0;
	uint8_t buf[16];
	const struct entropy_source flaky = {
		.name = "flaky", .credited = true, .bits = 8, .h = 4.0,
		.probe = flaky_probe, .read = flaky_read, .ctx = NULL,
	};

	selftest_reset_for_testing();
	EXPECT_OK(selftest_power_on(&cfg, res, ARRAY_SIZE(res), &n));
	/* replace the real sources with the flaky one */
	entropy_shutdown();
	flaky_calls = 0;
	EXPECT_OK(entropy_register(&flaky));
	drbg_reseed_all();
	CU_ASSERT_NOT_EQUAL(drbg_generate(buf, sizeof(buf)), ERR_OK);
	CU_ASSERT_EQUAL(selftest_state(), SELFTEST_ERROR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(selftest_error_cause());
	CU_ASSERT_STRING_EQUAL(selftest_error_cause(), "entropy");
	EXPECT_ERR(drbg_generate(buf, sizeof(buf)), ERR_NOT_OPERATIONAL);
	selftest_reset_for_testing();
}

static void *generate_in_new_thread(void *arg)
{
	uint8_t buf[16];
	*(err_t *)arg = drbg_generate(buf, sizeof(buf));
	return NULL;
}

/* A DRBG that fails (here: the primary's reseed counter past SP 800-90A's
 * 2^48, as if its state were corrupted) latches ERROR, named "drbg",
 * instead of leaving the module OPERATIONAL with a dead primary. */
static void test_drbg_failure_latches_error(void)
{
	struct selftest_result res[SELFTEST_MAX_RESULTS];
	size_t n = 0;
	uint8_t buf[16];
	err_t got = ERR_OK;
	pthread_t t;

	selftest_reset_for_testing();
	EXPECT_OK(selftest_power_on(&cfg, res, ARRAY_SIZE(res), &n));
	ctr_drbg_set_reseed_counter_for_test(drbg_tree_primary_for_test(),
					     CTR_DRBG_MAX_RESEED_COUNT + 1);
	/* a new thread's worker draws its seed from the primary */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, generate_in_new_thread, &got), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(got, ERR_DRBG_RESEED_REQUIRED);
	CU_ASSERT_EQUAL(selftest_state(), SELFTEST_ERROR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(selftest_error_cause());
	CU_ASSERT_STRING_EQUAL(selftest_error_cause(), "drbg");
	EXPECT_ERR(drbg_generate(buf, sizeof(buf)), ERR_NOT_OPERATIONAL);
	selftest_reset_for_testing();
}

TEST_SUITE(selftest, suite_init, suite_clean,
	   TEST(test_power_on_passes), TEST(test_every_break_is_caught_at_power_on),
	   TEST(test_break_on_demand_latches_error), TEST(test_unknown_break_name),
	   TEST(test_no_credited_source_fails_power_on),
	   TEST(test_dead_source_at_runtime_latches_error),
	   TEST(test_drbg_failure_latches_error))
