/* entropy/source_rdseed.c — RDSEED (64-bit form only) as a credited noise
 * source. Raw samples are the 8 bytes of each 64-bit value, 8 bits each. */
#include <sched.h>
#include <string.h>

#include "entropy/internal.h"

/* One 64-bit RDSEED with a bounded PAUSE back-off (Intel DRNG guide §5.3.1:
 * RDSEED failing with CF=0 is normal when the conditioner is drained; spin
 * politely and try again rather than fail the caller). A value is returned
 * as the CPU gave it with CF=1: the health tests downstream, not CF, judge
 * whether it is stuck, and the probe rejects all-zero/all-one values. */
static err_t rdseed_draw(uint64_t *out)
{
	unsigned spins = 1;

	for (unsigned i = 0; i < ENTROPY_RDSEED_RETRIES; i++) {
		if (entropy_cpu_rdseed64(out))
			return ERR_OK;
		if (spins < 64) {
			for (unsigned j = 0; j < spins; j++)
				__builtin_ia32_pause();
			spins *= 2; /* exponential back-off... */
		} else {
			/* ...then let other threads run: a drained RDSEED
			 * refills in microseconds, and spinning through it
			 * only takes the core from the work waiting on it */
			sched_yield();
		}
	}
	return ERR_ENTROPY_READ;
}

static err_t rdseed_probe(void *ctx)
{
	UNUSED(ctx);
	if (!entropy_cpu_has_rdseed())
		return ERR_ENTROPY_NO_SOURCE;
	/* Linux x86_init_rdrand-style sanity check: a few values, none
	 * repeated, none all-zero (Zen 5 bug) or all-one (AMD RDRAND bugs). */
	return entropy_sanity_check64(rdseed_draw);
}

static err_t rdseed_read(void *ctx, uint8_t *out, size_t n)
{
	err_t r = ERR_INTERNAL;
	uint64_t v = 0;

	UNUSED(ctx);
	ENSURE(entropy_cpu_has_rdseed(), ERR_ENTROPY_NO_SOURCE);
	while (n > 0) {
		const size_t take = n < sizeof(v) ? n : sizeof(v);

		GUARD_GOTO(rdseed_draw(&v));
		memcpy(out, &v, take);
		out += take;
		n -= take;
	}
	r = ERR_OK;
out:
	secure_zero(&v, sizeof(v)); /* no raw noise left on the stack */
	return r;
}

const struct entropy_source entropy_source_rdseed = {
	.name = "rdseed",
	.credited = true,
	.bits = 8,
	/* Half of each byte: RDSEED's own full-entropy claim is not taken on
	 * faith (config [entropy] rdseed_h overrides it). */
	.h = 4.0,
	.noise = "The x86 RDSEED instruction: the CPU's on-die entropy source, whose output the CPU conditions "
		 "before RDSEED returns it (Intel's DRNG: AES-CBC-MAC). fount takes each 64-bit value RDSEED returns "
		 "with CF = 1 and uses its 8 bytes as 8-bit samples; the health tests, not CF, judge whether it is "
		 "stuck.",
	.conditions = "x86-64 CPUs with RDSEED (CPUID.(EAX=07H):EBX bit 18), on bare metal or in a VM whose "
		      "hypervisor passes the instruction through. The start-up probe refuses repeated, all-zero or "
		      "all-one values; RDSEED's underflow (CF = 0) is retried with a bounded back-off.",
	.h_basis = "4 bits per 8-bit sample: half of the full entropy the CPU vendor claims for RDSEED, so the "
		   "chip's own claim is not taken on faith; a lab confirms it per platform with ea_non_iid "
		   "([entropy] rdseed_h sets another claim).",
	.probe = rdseed_probe,
	.read = rdseed_read,
	.ctx = NULL,
};
