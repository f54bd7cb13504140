/* tests/test_health.c — entropy/health.c: SP 800-90B §4.4 cutoffs against
 * the published tables, insert semantics, and known-bad sequences from
 * tests/vectors/health/ that must trip exactly the expected test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "entropy/entropy.h"
#include "tests/helpers.h"

static unsigned apt(unsigned bits, double h, unsigned a)
{
	struct entropy_health_cutoffs c = {0};
	EXPECT_OK(entropy_health_cutoffs(&c, bits, h, a));
	return c.apt_intermittent;
}

static unsigned rct(double h, unsigned a)
{
	struct entropy_health_cutoffs c = {0};
	EXPECT_OK(entropy_health_cutoffs(&c, 8, h, a));
	return c.rct_intermittent;
}

/* The alpha = 2^-20 values are SP 800-90B §4.4.2 Table 2; the 2^-40 ones
 * come from the same formula, 1 + CRITBINOM(W, 2^-H, 1 - alpha). */
static void test_cutoffs_apt_tables(void)
{
	const double hb[] = {0.2, 0.4, 0.6, 0.8, 1.0};
	const unsigned binary20[] = {941, 840, 748, 664, 589};
	const double hn[] = {0.5, 1, 2, 4, 8};
	const unsigned nonbin20[] = {410, 311, 177, 62, 13};
	const unsigned nonbin40[] = {432, 336, 201, 78, 19};

	for (size_t i = 0; i < ARRAY_SIZE(hb); i++)
		CU_ASSERT_EQUAL(apt(1, hb[i], 20), binary20[i]);
	for (size_t i = 0; i < ARRAY_SIZE(hn); i++) {
		CU_ASSERT_EQUAL(apt(8, hn[i], 20), nonbin20[i]);
		CU_ASSERT_EQUAL(apt(8, hn[i], 40), nonbin40[i]);
	}
	CU_ASSERT_EQUAL(apt(8, 0.8, 20), 348); /* BoringSSL's static_assert */
	CU_ASSERT_EQUAL(apt(1, 1.0, 40), 625);
	CU_ASSERT_EQUAL(apt(8, 0.8, 30), 361);
	CU_ASSERT_EQUAL(apt(1, 0.8, 30), 683); /* cr50's 682 is CRITBINOM without +1 */
}

static void test_cutoffs_rct_and_windows(void)
{
	struct entropy_health_cutoffs c = {0};

	CU_ASSERT_EQUAL(rct(1, 20), 21);
	CU_ASSERT_EQUAL(rct(0.5, 20), 41);
	CU_ASSERT_EQUAL(rct(8, 20), 4);
	CU_ASSERT_EQUAL(rct(1, 40), 41);
	CU_ASSERT_EQUAL(rct(0.8, 20), 26); /* BoringSSL: kThreshold == 26 */
	CU_ASSERT_EQUAL(rct(0.2, 20), 101);
	CU_ASSERT_EQUAL(rct(0.3, 30), 101); /* 30/0.3 is exactly 100 */

	/* permanent = alpha^2; window 512 non-binary, 1024 binary */
	EXPECT_OK(entropy_health_cutoffs(&c, 8, 4.0, 20));
	CU_ASSERT_EQUAL(c.rct_intermittent, 6);
	CU_ASSERT_EQUAL(c.rct_permanent, 11);
	CU_ASSERT_EQUAL(c.apt_window, 512);
	CU_ASSERT_EQUAL(c.apt_intermittent, 62);
	CU_ASSERT_EQUAL(c.apt_permanent, 78);
	EXPECT_OK(entropy_health_cutoffs(&c, 1, 1.0, 20));
	CU_ASSERT_EQUAL(c.apt_window, 1024);
	CU_ASSERT_EQUAL(c.apt_permanent, 625);

	/* a cutoff that cannot fail is clamped to W */
	EXPECT_OK(entropy_health_cutoffs(&c, 8, 0.01, 40));
	CU_ASSERT_EQUAL(c.apt_intermittent, 512);
	CU_ASSERT_EQUAL(c.apt_permanent, 512);
	CU_ASSERT(c.rct_permanent > c.rct_intermittent);
}

static void test_cutoffs_invalid(void)
{
	struct entropy_health_cutoffs c = {0};

	EXPECT_ERR(entropy_health_cutoffs(&c, 0, 1.0, 20), ERR_INVALID_ARG);
	EXPECT_ERR(entropy_health_cutoffs(&c, 9, 1.0, 20), ERR_INVALID_ARG);
	EXPECT_ERR(entropy_health_cutoffs(&c, 8, 0.0, 20), ERR_INVALID_ARG);
	EXPECT_ERR(entropy_health_cutoffs(&c, 8, -1.0, 20), ERR_INVALID_ARG);
	EXPECT_ERR(entropy_health_cutoffs(&c, 1, 1.5, 20), ERR_INVALID_ARG);
	EXPECT_ERR(entropy_health_cutoffs(&c, 8, 8.01, 20), ERR_INVALID_ARG);
	EXPECT_ERR(entropy_health_cutoffs(&c, 8, 4.0, 0), ERR_INVALID_ARG);
	EXPECT_ERR(entropy_health_cutoffs(&c, 8, 4.0, 65), ERR_INVALID_ARG);
	EXPECT_ERR(entropy_health_cutoffs(&c, 8, 1e-9, 20), ERR_INVALID_ARG);
	EXPECT_ERR(entropy_health_cutoffs(NULL, 8, 4.0, 20), ERR_INVALID_ARG);
}

static void init_h(struct entropy_health *t, unsigned bits, double h, unsigned a)
{
	struct entropy_health_cutoffs c = {0};
	EXPECT_OK(entropy_health_cutoffs(&c, bits, h, a));
	entropy_health_init(t, &c);
}

/* The first sample of a window is counted; a window is W samples; the next
 * sample after W opens a new window; a reached cutoff reports until the
 * window ends and is counted as one event. */
static void test_apt_window_semantics(void)
{
	struct entropy_health t;

	init_h(&t, 8, 4.0, 20); /* APT 62 / 78 of 512, RCT 6 / 11 */
	/* 0x11 then 60 more 0x11 separated by other values: count 61 */
	EXPECT_OK(entropy_health_insert(&t, 0x11));
	unsigned count = 1, i = 1;
	uint8_t other = 0x20;
	while (count < 61) {
		EXPECT_OK(entropy_health_insert(&t, other++));
		EXPECT_OK(entropy_health_insert(&t, 0x11));
		count++;
		i += 2;
	}
	/* fill the window with non-matching values up to W */
	for (; i < 512; i++)
		EXPECT_OK(entropy_health_insert(&t, (uint8_t)(0x80u + (i & 0x3fu))));
	CU_ASSERT_EQUAL(t.apt_index, 0);
	CU_ASSERT_EQUAL(t.apt_failures, 0);
	/* new window: 62 occurrences of its first sample trip at the 62nd */
	err_t last = ERR_OK;
	for (unsigned k = 0; k < 62; k++) {
		last = entropy_health_insert(&t, 0x33);
		if (k < 61) {
			EXPECT_OK(last);
			EXPECT_OK(entropy_health_insert(&t, (uint8_t)(0x40u + (k & 1u))));
		}
	}
	EXPECT_ERR(last, ERR_HEALTH_APT);
	/* the window keeps reporting on a non-matching sample, one event */
	EXPECT_ERR(entropy_health_insert(&t, 0x99), ERR_HEALTH_APT);
	CU_ASSERT_EQUAL(t.apt_failures, 1);
	CU_ASSERT_EQUAL(t.rct_failures, 0);
	/* run the window out: the next one is clean again */
	while (t.apt_index != 0)
		EXPECT_ERR(entropy_health_insert(&t, (uint8_t)(0x50u + (t.apt_index & 1u))),
			   ERR_HEALTH_APT);
	EXPECT_OK(entropy_health_insert(&t, 0x77));
	CU_ASSERT_EQUAL(t.samples, 2u * 512u + 1u);
	CU_ASSERT_EQUAL(t.rct_failures, 0);
	CU_ASSERT_EQUAL(t.apt_failures, 1);
}

static void test_rct_run_reports_until_end(void)
{
	struct entropy_health t;
	const uint8_t block[] = {1, 2, 2, 2, 2, 2, 2, 2, 3}; /* a run of 7 */

	init_h(&t, 8, 4.0, 20);
	EXPECT_ERR(entropy_health_insert_block(&t, block, sizeof(block)), ERR_HEALTH_RCT);
	CU_ASSERT_EQUAL(t.rct_failures, 1);
	EXPECT_OK(entropy_health_insert(&t, 4));
	/* per-sample and block forms agree */
	struct entropy_health u;
	init_h(&u, 8, 4.0, 20);
	err_t worst = ERR_OK;
	for (size_t i = 0; i < sizeof(block); i++) {
		err_t e = entropy_health_insert(&u, block[i]);
		if (i >= 6 && i <= 7)
			EXPECT_ERR(e, ERR_HEALTH_RCT);
		if (e != ERR_OK)
			worst = e;
	}
	CU_ASSERT_EQUAL(worst, ERR_HEALTH_RCT);
	CU_ASSERT_EQUAL(u.rct_failures, 1);
	CU_ASSERT_EQUAL(u.rct_count, 1);
}

/* ---- known-bad sequences from data files ---------------------------------
 * Format: '#' comments; "bits N", "h X", "alpha N", "expect ERR_NAME index"
 * (the first sample index at which that result appears; any result not
 * listed must never appear), "events RCT APT" (failure counters at the end);
 * every other line is samples as hex bytes. */
struct vec {
	unsigned bits, alpha;
	double h;
	err_t expect[4];
	long expect_at[4];
	size_t n_expect;
	unsigned long ev_rct, ev_apt;
	uint8_t s[4096];
	size_t n;
};

static err_t err_by_name(const char *name)
{
	static const struct {
		const char *name;
		err_t code;
	} t[] = {
		{"ERR_HEALTH_RCT", ERR_HEALTH_RCT},
		{"ERR_HEALTH_APT", ERR_HEALTH_APT},
		{"ERR_HEALTH_RCT_PERMANENT", ERR_HEALTH_RCT_PERMANENT},
		{"ERR_HEALTH_APT_PERMANENT", ERR_HEALTH_APT_PERMANENT},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].code;
	return ERR_INTERNAL;
}

static int load_vec(const char *rel, struct vec *v)
{
	char line[512], name[64];
	FILE *f = fopen(testlib_path(rel), "r");

	memset(v, 0, sizeof(*v));
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		long at = 0;
		char *p = line;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "bits %u", &v->bits) == 1 || sscanf(line, "h %lf", &v->h) == 1 ||
		    sscanf(line, "alpha %u", &v->alpha) == 1 ||
		    sscanf(line, "events %lu %lu", &v->ev_rct, &v->ev_apt) == 2)
			continue;
		if (sscanf(line, "expect %63s %ld", name, &at) == 2) {
			if (v->n_expect == ARRAY_SIZE(v->expect))
				goto bad;
			v->expect[v->n_expect] = err_by_name(name);
			v->expect_at[v->n_expect++] = at;
			continue;
		}
		for (;;) {
			char *end = NULL;
			unsigned long b = strtoul(p, &end, 16);
			if (end == p)
				break;
			if (b > 0xff || v->n == sizeof(v->s))
				goto bad;
			v->s[v->n++] = (uint8_t)b;
			p = end;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\n' && *p != '\0')
			goto bad;
	}
	fclose(f);
	return v->bits != 0 && v->h > 0 && v->alpha != 0 && v->n > 0 ? 0 : -1;
bad:
	fclose(f);
	return -1;
}

static void run_vec(const char *rel)
{
	static struct vec v;
	struct entropy_health t;
	long first_at[4] = {-1, -1, -1, -1};

	if (load_vec(rel, &v) != 0) {
		fprintf(stderr, "\n  %s: cannot load\n", rel);
		CU_FAIL_FATAL("vector file");
	}
	init_h(&t, v.bits, v.h, v.alpha);
	for (size_t i = 0; i < v.n; i++) {
		const err_t e = entropy_health_insert(&t, v.s[i]);
		bool listed = e == ERR_OK;
		for (size_t k = 0; k < v.n_expect; k++) {
			if (e == v.expect[k]) {
				listed = true;
				if (first_at[k] < 0)
					first_at[k] = (long)i;
			}
		}
		if (!listed)
			fprintf(stderr, "\n  %s: sample %zu: unexpected %s\n", rel, i, err_str(e));
		CU_ASSERT_TRUE(listed);
	}
	for (size_t k = 0; k < v.n_expect; k++) {
		if (first_at[k] != v.expect_at[k])
			fprintf(stderr, "\n  %s: %s first at %ld, want %ld\n", rel,
				err_str(v.expect[k]), first_at[k], v.expect_at[k]);
		CU_ASSERT_EQUAL(first_at[k], v.expect_at[k]);
	}
	CU_ASSERT_EQUAL(t.rct_failures, v.ev_rct);
	CU_ASSERT_EQUAL(t.apt_failures, v.ev_apt);

	/* the block form gives the most severe of the same results */
	struct entropy_health u;
	err_t most = ERR_OK;
	init_h(&u, v.bits, v.h, v.alpha);
	for (size_t k = 0; k < v.n_expect; k++)
		if (most == ERR_OK || v.expect[k] == ERR_HEALTH_RCT_PERMANENT ||
		    v.expect[k] == ERR_HEALTH_APT_PERMANENT)
			most = v.expect[k];
	EXPECT_ERR(entropy_health_insert_block(&u, v.s, v.n), most);
	CU_ASSERT_EQUAL(u.rct_failures, v.ev_rct);
	CU_ASSERT_EQUAL(u.apt_failures, v.ev_apt);
}

static void test_vec_rct_stuck(void) { run_vec("tests/vectors/health/rct-stuck.txt"); }
static void test_vec_rct_binary(void) { run_vec("tests/vectors/health/rct-binary.txt"); }
static void test_vec_apt_biased(void) { run_vec("tests/vectors/health/apt-biased.txt"); }
static void test_vec_apt_alternating(void) { run_vec("tests/vectors/health/apt-alternating.txt"); }

/* A good sequence (the kernel's CSPRNG) at RDSEED's default claim H = 4 must
 * pass: the false-alarm rate per window is < 2^-20 by construction, and
 * far lower in practice at this H. */
static void test_good_sequence_passes(void)
{
	static uint8_t buf[1u << 16];
	struct entropy_health t;

	CU_ASSERT_EQUAL_FATAL(getrandom(buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	init_h(&t, 8, 4.0, 20);
	EXPECT_OK(entropy_health_insert_block(&t, buf, sizeof(buf)));
	CU_ASSERT_EQUAL(t.rct_failures, 0);
	CU_ASSERT_EQUAL(t.apt_failures, 0);
	CU_ASSERT_EQUAL(t.samples, sizeof(buf));
	/* binary: the low bit of each byte, H = 1 */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] &= 1u;
	init_h(&t, 1, 1.0, 40);
	EXPECT_OK(entropy_health_insert_block(&t, buf, sizeof(buf)));
}

TEST_SUITE(health, NULL, NULL,
	   TEST(test_cutoffs_apt_tables),
	   TEST(test_cutoffs_rct_and_windows),
	   TEST(test_cutoffs_invalid),
	   TEST(test_apt_window_semantics),
	   TEST(test_rct_run_reports_until_end),
	   TEST(test_vec_rct_stuck),
	   TEST(test_vec_rct_binary),
	   TEST(test_vec_apt_biased),
	   TEST(test_vec_apt_alternating),
	   TEST(test_good_sequence_passes))
