/* bench/bench_entropy.c — raw sample rates of each noise source with and
 * without the SP 800-90B health tests, and the tests' own cost. */
#include <stdio.h>

#include "bench/bench.h"
#include "entropy/entropy.h"

#define BENCH_CHUNK 4096

static uint8_t bench_buf[BENCH_CHUNK];

/* rate runs |src| for |seconds| and returns samples per second; with |t|
 * non-NULL each chunk also goes through entropy_health_insert_block. */
static double rate(const struct entropy_source *src, struct entropy_health *t,
		   double seconds, size_t chunk)
{
	const uint64_t start = now_ns();
	const uint64_t budget = (uint64_t)(seconds * 1e9);
	uint64_t samples = 0, now = start;
	volatile err_t sink = ERR_OK;

	do {
		if (src->read(src->ctx, bench_buf, chunk) != ERR_OK)
			return -1.0;
		if (t != NULL)
			sink = entropy_health_insert_block(t, bench_buf, chunk);
		samples += chunk;
		now = now_ns();
	} while (now - start < budget);
	(void)sink;
	return (double)samples * 1e9 / (double)(now - start);
}

/* health_ns returns the cost of the health tests alone, in ns per sample,
 * over a buffer of the source's own samples. */
static double health_ns(struct entropy_health *t, double seconds)
{
	const uint64_t start = now_ns();
	const uint64_t budget = (uint64_t)(seconds * 1e9);
	uint64_t samples = 0, now = start;
	volatile err_t sink = ERR_OK;

	do {
		for (int i = 0; i < 64; i++)
			sink = entropy_health_insert_block(t, bench_buf, BENCH_CHUNK);
		samples += 64u * BENCH_CHUNK;
		now = now_ns();
	} while (now - start < budget);
	(void)sink;
	return (double)(now - start) / (double)samples;
}

void bench_entropy(double seconds_per_case)
{
	const struct entropy_source *srcs[] = {
		&entropy_source_rdseed, &entropy_source_jitter,
		&entropy_source_rdrand, &entropy_source_getrandom,
	};

	printf("entropy: raw samples (1 byte each), %.1f s per case\n", seconds_per_case);
	printf("  %-10s %14s %14s %14s %10s %10s\n", "source", "raw/s", "tested/s",
	       "raw bytes/s", "health", "overhead");
	for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		const struct entropy_source *s = srcs[i];
		struct entropy_health_cutoffs c;
		struct entropy_health t;
		/* additional-input sources are never tested in fount; measure
		 * them at H = 4 anyway to show what the tests would cost */
		const double h = s->credited ? s->h : 4.0;
		/* jitter is slow: smaller chunks keep the case near its time */
		const size_t chunk = s->credited && s->h < 1.0 ? 256 : BENCH_CHUNK;

		if (s->probe(s->ctx) != ERR_OK) {
			printf("  %-10s absent on this host\n", s->name);
			continue;
		}
		if (entropy_health_cutoffs(&c, s->bits, h, 20) != ERR_OK)
			continue;
		entropy_health_init(&t, &c);
		const double raw = rate(s, NULL, seconds_per_case, chunk);
		const double tested = rate(s, &t, seconds_per_case, chunk);
		const double hns = health_ns(&t, seconds_per_case / 4);
		/* overhead = health time / source time per sample: stable where
		 * the raw/tested rates differ by less than their own noise */
		const double over = raw > 0 ? hns * raw / 1e9 * 100.0 : 0.0;
		printf("  %-10s %14.0f %14.0f %14.0f %7.2f ns %9.2f%%\n", s->name, raw,
		       tested, raw, hns, over);
	}
}
