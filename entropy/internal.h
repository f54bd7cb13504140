/* entropy/internal.h — private to entropy/: CPU feature detection, the
 * raw-sample helpers shared by the sources, and tuning constants. */
#ifndef FOUNT_ENTROPY_INTERNAL_H
#define FOUNT_ENTROPY_INTERNAL_H

#include "entropy/entropy.h"

/* Intel DRNG Software Implementation Guide rev 2.1 §5.2.1: retry RDRAND 10
 * times in a tight loop before declaring it broken. */
#define ENTROPY_RDRAND_RETRIES 10
/* RDSEED failing (CF=0) is normal under load (62-74% of attempts measured
 * on a 2-vCPU KVM guest). Retry with PAUSE back-off (Intel DRNG Software
 * Implementation Guide rev 2.1 §5.3.1), but with a bound so a dead DRNG
 * cannot hang the caller. Attempts per 64-bit value. */
#define ENTROPY_RDSEED_RETRIES 4096
/* Linux arch/x86/kernel/cpu/rdrand.c: SANITY_CHECK_LOOPS 8. */
#define ENTROPY_SANITY_SAMPLES 8

/* cpu.c: CPUID feature bits, probed once and cached. */
bool entropy_cpu_has_rdseed(void);
bool entropy_cpu_has_rdrand(void);

/* cpu.c: one attempt of the 64-bit instructions. Returns true when the CPU
 * set CF (the value is valid as far as the CPU is concerned). Callers must
 * still reject stuck values: CF alone is not trusted (AMD-SB-7055). */
bool entropy_cpu_rdseed64(uint64_t *out);
bool entropy_cpu_rdrand64(uint64_t *out);

/* entropy_sanity_check64 draws ENTROPY_SANITY_SAMPLES values through |draw|
 * and rejects all-zero, all-one, and any value equal to the one before it
 * (Linux x86_init_rdrand style). ERR_ENTROPY_STARTUP if it smells, or the
 * draw's own error. */
err_t entropy_sanity_check64(err_t (*draw)(uint64_t *out)) MUST_CHECK;

/* Number of raw samples of claimed min-entropy |h| needed to credit
 * ENTROPY_COND_OUT_BITS + ENTROPY_COND_EXTRA_BITS bits: ceil(320 / h). */
size_t entropy_samples_per_block(double h);

#endif /* FOUNT_ENTROPY_INTERNAL_H */
