/* entropy/source_rdrand.c — RDRAND (64-bit form only) as additional input.
 * Never credited: RDRAND is a DRBG output whose health nobody outside the
 * CPU can test (systemd and BoringSSL treat it the same way). */
#include <string.h>

#include "entropy/internal.h"

static err_t rdrand_draw(uint64_t *out)
{
	/* Intel DRNG guide §5.2.1: 10 retries in a tight loop. */
	for (unsigned i = 0; i < ENTROPY_RDRAND_RETRIES; i++) {
		/* CF=1 alone is not trusted: AMD 15h/16h after resume and Zen 2
		 * before its firmware fix returned all-ones with CF=1. Nothing
		 * downstream health-tests RDRAND, so reject the stuck values
		 * here (each costs one retry). */
		if (entropy_cpu_rdrand64(out) && *out != 0 && *out != UINT64_MAX)
			return ERR_OK;
	}
	return ERR_ENTROPY_READ;
}

static err_t rdrand_probe(void *ctx)
{
	UNUSED(ctx);
	if (!entropy_cpu_has_rdrand())
		return ERR_ENTROPY_NO_SOURCE;
	return entropy_sanity_check64(rdrand_draw);
}

static err_t rdrand_read(void *ctx, uint8_t *out, size_t n)
{
	err_t r = ERR_INTERNAL;
	uint64_t v = 0;

	UNUSED(ctx);
	ENSURE(entropy_cpu_has_rdrand(), ERR_ENTROPY_NO_SOURCE);
	while (n > 0) {
		const size_t take = n < sizeof(v) ? n : sizeof(v);

		GUARD_GOTO(rdrand_draw(&v));
		memcpy(out, &v, take);
		out += take;
		n -= take;
	}
	r = ERR_OK;
out:
	secure_zero(&v, sizeof(v));
	return r;
}

const struct entropy_source entropy_source_rdrand = {
	.name = "rdrand",
	.credited = false,
	.bits = 8,
	.h = 0.0,
	.probe = rdrand_probe,
	.read = rdrand_read,
	.ctx = NULL,
};
