/* fuzz/fuzz_health.c — the SP 800-90B health tests with arbitrary
 * parameters: entropy_health_cutoffs (bits, claimed H, alpha as they come
 * from [entropy] *_h and alpha_log2) and entropy_health_insert_block.
 *
 * Input: byte 0: bits = 1 + (b & 7); bit 3: samples run-length coded
 * (pairs of value, count - 1, so long runs and full APT windows are
 * cheap); bit 4: H is the raw IEEE double in bytes 2..9 (NaN, infinities,
 * subnormals, negatives), otherwise H = bits * (u32 at bytes 2..5 + 1) /
 * 2^32. Byte 1: alpha_log2 (0..255; 1..64 are valid). Byte 10: the block
 * size the samples are fed in (1 + b). The rest: the samples, masked to
 * |bits| bits.
 *
 * Checked: cutoffs are accepted exactly for valid parameters, and then
 * 2 <= RCT intermittent <= RCT permanent, 1 <= APT intermittent <= APT
 * permanent <= W, W = 1024 (binary) or 512; every result is ERR_OK or one
 * of the four health codes; feeding in blocks and sample by sample gives
 * the same state and the same worst result; and that result agrees with
 * the longest run and the fullest window counted here independently. */
#include <math.h>
#include <string.h>

#include "entropy/entropy.h"
#include "fuzz/fuzz.h"

#define MAX_SAMPLES (1u << 16)

static int severity(err_t r)
{
	switch (r) {
	case ERR_OK: return 0;
	case ERR_HEALTH_RCT: case ERR_HEALTH_APT: return 1;
	case ERR_HEALTH_RCT_PERMANENT: case ERR_HEALTH_APT_PERMANENT: return 2;
	default: return -1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t samples[MAX_SAMPLES];
	struct entropy_health_cutoffs c;
	unsigned bits, alpha_log2;
	double h;
	size_t n = 0, block;

	if (size < 11)
		return 0;
	bits = 1u + (data[0] & 7u);
	alpha_log2 = data[1];
	if (data[0] & 0x10u) {
		memcpy(&h, data + 2, sizeof(h));
	} else {
		uint32_t u;
		memcpy(&u, data + 2, sizeof(u));
		h = (double)bits * ((double)u + 1.0) / 4294967296.0;
	}
	block = 1u + data[10];

	memset(&c, 0x5a, sizeof(c));
	err_t r = entropy_health_cutoffs(&c, bits, h, alpha_log2);
	const bool valid = h > 0.0 && h <= (double)bits && alpha_log2 >= 1 && alpha_log2 <= 64;
	FUZZ_CHECK(r == ERR_OK || r == ERR_INVALID_ARG);
	if (!valid)
		FUZZ_CHECK(r == ERR_INVALID_ARG);
	if (r != ERR_OK)
		return 0; /* also: a valid H so small that the RCT cutoff passes 10^6 */

	const unsigned w = bits == 1 ? 1024u : 512u;
	FUZZ_CHECK(c.apt_window == w);
	FUZZ_CHECK(c.rct_intermittent >= 2 && c.rct_intermittent <= c.rct_permanent);
	FUZZ_CHECK(c.rct_permanent <= 1000001u + 1u);
	FUZZ_CHECK(c.apt_intermittent >= 1 && c.apt_intermittent <= c.apt_permanent);
	FUZZ_CHECK(c.apt_permanent <= w);

	/* the samples */
	const uint8_t mask = (uint8_t)((1u << bits) - 1u);
	const uint8_t *p = data + 11;
	size_t left = size - 11;
	if (data[0] & 0x08u) {
		for (; left >= 2 && n < MAX_SAMPLES; p += 2, left -= 2)
			for (unsigned k = 0; k <= p[1] && n < MAX_SAMPLES; k++)
				samples[n++] = p[0] & mask;
	} else {
		for (; left > 0 && n < MAX_SAMPLES; p++, left--)
			samples[n++] = *p & mask;
	}

	/* in blocks, and one at a time */
	struct entropy_health a, b;
	err_t worst_a = ERR_OK, worst_b = ERR_OK;
	entropy_health_init(&a, &c);
	entropy_health_init(&b, &c);
	for (size_t i = 0; i < n; i += block) {
		size_t m = n - i < block ? n - i : block;
		err_t ra = entropy_health_insert_block(&a, samples + i, m);
		FUZZ_CHECK(severity(ra) >= 0);
		if (severity(ra) > severity(worst_a))
			worst_a = ra;
	}
	for (size_t i = 0; i < n; i++) {
		err_t rb = entropy_health_insert(&b, samples[i]);
		FUZZ_CHECK(severity(rb) >= 0);
		if (severity(rb) > severity(worst_b))
			worst_b = rb;
	}
	FUZZ_CHECK(severity(worst_a) == severity(worst_b));
	FUZZ_CHECK(a.samples == n && b.samples == n);
	FUZZ_CHECK(a.rct_last == b.rct_last && a.rct_count == b.rct_count &&
		   a.apt_first == b.apt_first && a.apt_count == b.apt_count &&
		   a.apt_index == b.apt_index && a.rct_failures == b.rct_failures &&
		   a.apt_failures == b.apt_failures);

	/* an independent count: the longest run, the fullest window (windows
	 * start at sample 0, every W samples; the first sample of each is the
	 * reference and counts) */
	unsigned max_run = 0, run = 0, max_apt = 0;
	for (size_t i = 0; i < n; i++) {
		run = i > 0 && samples[i] == samples[i - 1] ? run + 1u : 1u;
		if (run > max_run)
			max_run = run;
	}
	for (size_t s = 0; s < n; s += w) {
		unsigned cnt = 0;
		for (size_t i = s; i < n && i < s + w; i++)
			cnt += samples[i] == samples[s] ? 1u : 0u;
		if (cnt > max_apt)
			max_apt = cnt;
	}
	const bool fail = max_run >= c.rct_intermittent || max_apt >= c.apt_intermittent;
	const bool perm = max_run >= c.rct_permanent || max_apt >= c.apt_permanent;
	FUZZ_CHECK(severity(worst_a) == (perm ? 2 : fail ? 1 : 0));
	FUZZ_CHECK((a.rct_failures > 0) == (max_run >= c.rct_intermittent));
	FUZZ_CHECK((a.apt_failures > 0) == (max_apt >= c.apt_intermittent));
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_health")
