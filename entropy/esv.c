/* entropy/esv.c — the conditioning chain's SP 800-90B §3.1.5 entropy
 * accounting, for the Entropy Source Validation package (`fount entropy
 * esv`) and its documents: the same constants and functions the pipeline
 * conditions with (entropy_samples_per_block, ENTROPY_COND_*). */
#include <math.h>

#include "entropy/internal.h"

/* HMAC-SHA-256: 256-bit output, and its narrowest internal width is the
 * 256-bit chaining state of SHA-256 (SP 800-90B §3.1.5.1.2 Table 1 lists
 * HMAC with an approved hash as vetted; nw = the hash's output length). */
#define COND_NW 256u

/* SP 800-90B §3.1.5.1.2:
 *   P_high = 2^-h_in, P_low = (1 - P_high) / (2^n_in - 1), n = min(n_out, nw)
 *   psi = 2^(n_in - n) P_low + P_high
 *   U = 2^(n_in - n) + sqrt(2 n 2^(n_in - n) ln 2), omega = U P_low
 *   Output_Entropy = -log2(max(psi, omega))
 * With n_in in the hundreds 2^n_in overflows, and the answer's distance
 * from n (all that matters near full entropy) is far below a long double's
 * ulp at n: so d = n - Output_Entropy is computed from its small terms,
 * with log1p, and the result is n - d.
 *   log2(2^(n_in - n) P_low) = -n + An, An = log2(1 - P_high) - log2(1 - 2^-n_in)
 *   log2 P_high = -n + Bn,                Bn = n - h_in
 *   d_psi = max(An, Bn) + log2(1 + 2^-|An - Bn|)
 *   d_omega = An + log2(1 + sqrt(2 n ln 2) 2^(-(n_in - n) / 2)) */
long double entropy_output_entropy(unsigned n_in, unsigned n_out, unsigned nw, double h_in, long double *eps_log2)
{
	const long double ln2 = 0.693147180559945309417232121458176568L;
	const unsigned n = n_out < nw ? n_out : nw;
	if (eps_log2 != NULL)
		*eps_log2 = 0;
	if (n_in == 0 || n == 0 || n > n_in || !(h_in > 0) || h_in > (double)n_in)
		return 0;
	const long double p_high = exp2l(-(long double)h_in);
	const long double an = (log1pl(-p_high) - log1pl(-ldexpl(1.0L, -(int)n_in))) / ln2;
	const long double bn = (long double)n - (long double)h_in;
	const long double d_psi = an >= bn ? an + log1pl(exp2l(bn - an)) / ln2 : bn + log1pl(exp2l(an - bn)) / ln2;
	const long double d_omega =
		an + log1pl(sqrtl(2.0L * (long double)n * ln2) * exp2l(-(long double)(n_in - n) / 2.0L)) / ln2;
	const long double d = d_psi > d_omega ? d_psi : d_omega;
	const long double h_out = (long double)n - d;
	/* h_out = (1 - eps) n_out: eps = (n_out - h_out) / n_out */
	if (eps_log2 != NULL && h_out > 0.999L * (long double)n_out) {
		const long double gap = (long double)(n_out - n) + d;
		*eps_log2 = gap > 0 ? -(log2l(gap) - log2l((long double)n_out)) : INFINITY;
	}
	return h_out;
}

err_t entropy_esv_chain(unsigned bits, double h, struct entropy_esv_chain *out)
{
	*out = (struct entropy_esv_chain){0};
	ENSURE(bits >= 1 && bits <= 8 && h > 0 && h <= (double)bits, ERR_INVALID_ARG);
	out->samples = entropy_samples_per_block(h);
	ENSURE(out->samples <= 1000000, ERR_INVALID_ARG);
	out->n_in = (unsigned)out->samples * bits;
	out->n_out = ENTROPY_COND_OUT_BITS;
	out->nw = COND_NW;
	out->h_in = (double)out->samples * h;
	out->h_out = entropy_output_entropy(out->n_in, out->n_out, out->nw, out->h_in, &out->eps_log2);
	/* FIPS 140-3 IG D.K resolution 19: full entropy from a vetted
	 * conditioner when h_in >= n_out + 64 (as NIST's ea_conditioning says) */
	out->full_entropy = out->h_in >= (double)(out->n_out + ENTROPY_COND_EXTRA_BITS) - 1e-9 &&
			    out->h_out > 0.999L * (long double)out->n_out;
	return ERR_OK;
}

/* What each health test is, as the documents describe it; its parameters
 * come from entropy_health_cutoffs and the pipeline's constants. */
const struct entropy_health_doc entropy_health_docs[] = {
	{"Start-up test", "4.3",
	 "runs the start-up length of consecutive samples through both continuous tests when a source is "
	 "registered (the power-on self-tests, and fount entropy esv); none of them is used",
	 "the source is not used; with no credited source left fount refuses to start"},
	{"Repetition Count Test", "4.4.1",
	 "counts a run of identical consecutive samples; a run of C fails, C = 1 + ceil(-log2(alpha) / H)",
	 "intermittent (alpha): the block being conditioned is discarded, the tests start afresh and the "
	 "block is drawn again; permanent (alpha^2), or max_retries intermittent failures in a row: the "
	 "source is disabled"},
	{"Adaptive Proportion Test", "4.4.2",
	 "counts, in each window of W samples, how often the window's first sample recurs; C occurrences fail, "
	 "C = 1 + CRITBINOM(W, 2^-H, 1 - alpha), W = 1024 for binary samples and 512 otherwise",
	 "as the Repetition Count Test"},
};
const size_t entropy_health_docs_n = ARRAY_SIZE(entropy_health_docs);
