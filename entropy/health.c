/* entropy/health.c — SP 800-90B §4.4 continuous health tests: the
 * Repetition Count Test and the Adaptive Proportion Test, each with an
 * intermittent cutoff (alpha) and a stricter permanent one (alpha^2), in the
 * style of jitterentropy's intermittent/permanent split. */
#include <math.h>

#include "entropy/internal.h"

/* alpha = 2^-a with a <= 64 for the intermittent cutoff keeps the permanent
 * one (2^-128) far inside long double range; SP 800-90B recommends
 * 2^-20..2^-40. */
#define HEALTH_ALPHA_LOG2_MAX 64u
/* A cutoff above this is a claim of (almost) no entropy per sample: reject
 * it instead of testing runs nobody could wait for. */
#define HEALTH_RCT_CUTOFF_MAX 1000000.0L

/* SP 800-90B §4.4.1 Repetition Count Test cutoff: C = 1 + ceil(a / H) for
 * alpha = 2^-a. The claimed H usually comes from a decimal config value
 * ("0.3" is 0.29999999999999998890 as a double), so the quotient is nudged
 * down by a relative 1e-12 before the ceiling: otherwise an exact integer
 * quotient such as 30/0.3 would round up to the next cutoff. */
static err_t rct_cutoff(unsigned *out, double h, unsigned a)
{
	long double q = (long double)a / (long double)h;

	ENSURE(q <= HEALTH_RCT_CUTOFF_MAX, ERR_INVALID_ARG);
	q -= q * 1e-12L;
	*out = 1u + (unsigned)ceill(q);
	return ERR_OK;
}

/* SP 800-90B §4.4.2 Adaptive Proportion Test cutoff (footnote form):
 * C = 1 + CRITBINOM(W, p = 2^-H, 1 - alpha), where CRITBINOM(n, p, 1 - alpha)
 * is the smallest k with P(X <= k) >= 1 - alpha for X ~ Binomial(n, p), that
 * is the smallest k with the upper tail P(X > k) <= alpha.
 *
 * The tail is summed from j = W downwards, binomial coefficients built in
 * log space by the recurrence log C(W, j-1) = log C(W, j) + log j -
 * log(W - j + 1) (no lgamma: glibc's lgammal is not thread-safe). Every term
 * is >= 2^-8*512 = 2^-4096, well inside long double range, so the sum is
 * taken in linear space with ~1e-16 relative error; it reproduces every
 * value of SP 800-90B §4.4.2 Table 2 and BoringSSL's static_asserts on
 * AdaptiveProportionTestCutoff (crypto/fipsmodule/entropy). */
static unsigned apt_cutoff(unsigned w, double h, unsigned a)
{
	const long double lp = -(long double)h * logl(2.0L);  /* ln p */
	const long double lq = log1pl(-expl(lp));             /* ln (1 - p) */
	const long double alpha = ldexpl(1.0L, -(int)a);
	long double lc = 0.0L;   /* ln C(W, k), starting at k = W */
	long double tail = 0.0L; /* P(X > k) */
	unsigned k = w;
	unsigned crit = 0;

	for (;;) {
		long double pmf = expl(lc + (long double)k * lp +
				       (long double)(w - k) * lq);
		/* P(X > k - 1) = P(X > k) + P(X = k) */
		if (tail + pmf > alpha || k == 0) {
			crit = k;
			break;
		}
		tail += pmf;
		lc += logl((long double)k) - logl((long double)(w - k + 1));
		k--;
	}
	/* A cutoff that cannot be reached is a test that cannot fail, which
	 * FIPS 140-2 IG 7.19 res. 16 forbids (cited in jitterentropy's
	 * jitterentropy-health.c): clamp 1 + CRITBINOM to W. Only happens for
	 * tiny H (e.g. H < 0.05 for W = 512 at alpha = 2^-40). */
	if (crit + 1u > w)
		return w;
	return crit + 1u;
}

err_t entropy_health_cutoffs(struct entropy_health_cutoffs *out, unsigned bits,
			     double h, unsigned alpha_log2)
{
	err_t r = ERR_INTERNAL;
	struct entropy_health_cutoffs c = {0};

	ENSURE_REF(out);
	ENSURE(bits >= 1 && bits <= 8, ERR_INVALID_ARG);
	/* !(h > 0) also rejects NaN */
	ENSURE(h > 0.0 && h <= (double)bits, ERR_INVALID_ARG);
	ENSURE(alpha_log2 >= 1 && alpha_log2 <= HEALTH_ALPHA_LOG2_MAX, ERR_INVALID_ARG);

	GUARD_GOTO(rct_cutoff(&c.rct_intermittent, h, alpha_log2));
	/* Permanent failures use alpha^2 = 2^-2a (jitterentropy: 2^-30/2^-60). */
	GUARD_GOTO(rct_cutoff(&c.rct_permanent, h, 2u * alpha_log2));
	/* SP 800-90B §4.4.2: W = 1024 for binary samples, 512 otherwise. */
	c.apt_window = bits == 1 ? 1024u : 512u;
	c.apt_intermittent = apt_cutoff(c.apt_window, h, alpha_log2);
	c.apt_permanent = apt_cutoff(c.apt_window, h, 2u * alpha_log2);
	*out = c;
	r = ERR_OK;
out:
	return r;
}

void entropy_health_init(struct entropy_health *t, const struct entropy_health_cutoffs *c)
{
	*t = (struct entropy_health){0};
	t->c = *c;
}

void entropy_health_restart(struct entropy_health *t)
{
	t->rct_count = 0; /* the next sample starts a run of 1 */
	t->apt_index = 0; /* and opens a new window */
	t->apt_count = 0;
}

/* Severity order for "most severe result": permanent > intermittent > OK. */
static int severity(err_t r)
{
	switch (r) {
	case ERR_OK:
		return 0;
	case ERR_HEALTH_RCT:
	case ERR_HEALTH_APT:
		return 1;
	case ERR_HEALTH_RCT_PERMANENT:
	case ERR_HEALTH_APT_PERMANENT:
		return 2;
	default:
		return 3;
	}
}

static err_t worse(err_t a, err_t b)
{
	return severity(b) > severity(a) ? b : a;
}

/* Rare path of the RCT: a run has reached the intermittent cutoff. Each
 * cutoff crossed is counted once per run (count grows by one per sample of a
 * run, so == fires once); the run keeps reporting until it ends. */
static err_t rct_event(struct entropy_health *t, unsigned count)
{
	if (count == t->c.rct_intermittent)
		t->rct_failures++;
	if (count == t->c.rct_permanent)
		t->rct_failures++;
	return count >= t->c.rct_permanent ? ERR_HEALTH_RCT_PERMANENT : ERR_HEALTH_RCT;
}

/* Rare path of the APT: the window's count has reached the intermittent
 * cutoff. The count only grows on a matching sample, so events are counted
 * on those only; the window keeps reporting until it ends. */
static err_t apt_event(struct entropy_health *t, unsigned count, bool matched)
{
	if (matched && count == t->c.apt_intermittent)
		t->apt_failures++;
	if (matched && count == t->c.apt_permanent)
		t->apt_failures++;
	return count >= t->c.apt_permanent ? ERR_HEALTH_APT_PERMANENT : ERR_HEALTH_APT;
}

/* The hot loop: every raw sample of a credited source passes here. The state
 * is held in locals so the compiler keeps it in registers (stores through
 * |t| could alias the uint8_t input and would force reloads otherwise); the
 * cutoff checks are one compare each, and the failure paths are out of line. */
err_t entropy_health_insert_block(struct entropy_health *t, const uint8_t *s, size_t n)
{
	err_t worst = ERR_OK;
	uint8_t last = t->rct_last, first = t->apt_first;
	unsigned rcount = t->rct_count, acount = t->apt_count, index = t->apt_index;
	const unsigned rct_c = t->c.rct_intermittent, apt_c = t->c.apt_intermittent;
	const unsigned w = t->c.apt_window;

	for (size_t i = 0; i < n; i++) {
		const uint8_t x = s[i];

		/* SP 800-90B §4.4.1 Repetition Count Test: count the run of
		 * identical samples; a new value starts a run of 1. (After init
		 * rcount is 0, so the first sample also gives 1.) */
		rcount = x == last ? rcount + 1u : 1u;
		last = x;

		/* SP 800-90B §4.4.2 Adaptive Proportion Test: the first sample
		 * of each window of W is the reference, and is counted. */
		if (index == 0) {
			first = x;
			acount = 0;
		}
		const bool matched = x == first;
		acount += matched ? 1u : 0u;
		if (++index == w)
			index = 0; /* the next sample opens a new window */

		if (__builtin_expect(rcount >= rct_c, 0))
			worst = worse(worst, rct_event(t, rcount));
		if (__builtin_expect(acount >= apt_c, 0))
			worst = worse(worst, apt_event(t, acount, matched));
	}
	t->rct_last = last;
	t->rct_count = rcount;
	t->apt_first = first;
	t->apt_count = acount;
	t->apt_index = index;
	t->samples += n;
	return worst;
}

err_t entropy_health_insert(struct entropy_health *t, uint8_t sample)
{
	return entropy_health_insert_block(t, &sample, 1);
}

size_t entropy_samples_per_block(double h)
{
	/* h_in >= n_out + 64 bits (SP 800-90C §3.3, IG D.K res. 19). Same
	 * nudge as rct_cutoff: 320/0.8 must give 400, not 401. */
	const long double need = (long double)(ENTROPY_COND_OUT_BITS + ENTROPY_COND_EXTRA_BITS);
	long double q = need / (long double)h;

	q -= q * 1e-12L;
	return (size_t)ceill(q);
}
